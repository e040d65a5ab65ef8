#pragma once

#include "relay/relayfaults.h"

#include <QDialog>

#include <optional>

class QCheckBox;
class QDialogButtonBox;

namespace ws {

class RelayFaultsEdit;

// "Faults for this pair…": one relayed pair's own faults (Relay::setPairFaults), in
// the form the Relay panel uses for every pair, or "Use the relay's faults".
class PairFaultsDialog : public QDialog {
    Q_OBJECT
public:
    // `own`: the pair's faults now (nullopt: it uses `relayFaults`, which the form
    // then starts from).
    PairFaultsDialog(const QString &pairName, const std::optional<RelayFaults> &own,
                     const RelayFaults &relayFaults, QWidget *parent = nullptr);

    // What the pair is to use: its own faults, or nullopt for the relay's.
    std::optional<RelayFaults> pairFaults() const;

    QCheckBox *useRelayFaultsCheck() const { return m_useRelay; }
    RelayFaultsEdit *faultsEdit() const { return m_edit; }
    QDialogButtonBox *buttons() const { return m_buttons; }

private:
    QCheckBox *m_useRelay;
    RelayFaultsEdit *m_edit;
    QDialogButtonBox *m_buttons;
};

} // namespace ws

#pragma once

#include "relay/relayfaults.h"

#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QLineEdit;
class QSpinBox;
class QToolButton;

namespace ws {

// The faults a relay stages (relayfaults.h), as a form: per direction (named by the
// leg a message goes out on) a latency with its jitter, a throttle and a drop rate,
// and the seed the jitter and drop draws come from, with a button that draws a new
// one. The Relay panel's faults for every pair and the dialog for one pair's own.
// The form edits both directions: switching the direction keeps what was typed in
// the other. Fields it does not show (cutAfterMessages, the cut) pass through.
class RelayFaultsEdit : public QWidget {
    Q_OBJECT
public:
    explicit RelayFaultsEdit(QWidget *parent = nullptr);

    RelayFaults faults() const { return m_faults; }
    void setFaults(const RelayFaults &faults);
    quint64 seed() const { return m_faults.seed; }
    void setSeed(quint64 seed);
    // A seed to start with: large enough to be unlikely twice, short enough to type.
    static quint64 drawSeed();

    // The widgets, for tests.
    QComboBox *directionCombo() const { return m_direction; }
    QSpinBox *latencySpin() const { return m_latency; }
    QSpinBox *jitterSpin() const { return m_jitter; }
    QSpinBox *throttleSpin() const { return m_throttle; }
    QDoubleSpinBox *dropRateSpin() const { return m_dropRate; }
    QLineEdit *seedEdit() const { return m_seed; }
    QToolButton *newSeedButton() const { return m_newSeed; }

signals:
    void faultsEdited();

private:
    RelayLegKind shownDirection() const;
    // The fields show the chosen direction of m_faults.
    void showDirection();
    // The fields into m_faults' chosen direction.
    void takeFields();

    RelayFaults m_faults;
    bool m_showing = false; // showDirection() is filling the fields
    QComboBox *m_direction;
    QSpinBox *m_latency;
    QSpinBox *m_jitter;
    QSpinBox *m_throttle;
    QDoubleSpinBox *m_dropRate;
    QLineEdit *m_seed;
    QToolButton *m_newSeed;
};

} // namespace ws

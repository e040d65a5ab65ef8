#pragma once

#include "relay/relay.h"

#include <QWidget>

class QCheckBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QToolButton;
class QTreeView;

namespace ws {

class ConnectionHub;
class ConnectionsModel;

// The Relay dock: a reverse relay (core/relay) run from the window. Listen address
// (127.0.0.1 unless another is typed, with a warning) and port, the upstream's
// ws:// or wss:// URL, permessage-deflate per leg, the upstream's TLS trust as a
// client's (an extra CA file, or exactly one certificate by its SHA-256
// fingerprint); Start/Stop, and why a start failed, in the panel itself. Every
// relayed client is a pair in the Connections tree with its client and server legs
// below it, each leg a connection of the log (`leg == server` in the display
// filter); the panel lists the relay's pairs and what the relay reported. Stopping
// closes every pair with 1001 on both legs. The settings persist (QSettings).
class RelayPanel : public QWidget {
    Q_OBJECT
public:
    explicit RelayPanel(ConnectionHub *hub, QWidget *parent = nullptr);
    ~RelayPanel() override;

    // The options the form describes; with an unusable field, the reason is in
    // `error` (and the options are not to be used).
    RelayOptions options(QString *error = nullptr) const;
    // Starts with the form's options; false with the reason shown in the panel.
    bool start();
    void stop();
    bool isRunning() const;
    quint32 relayId() const { return m_relayId; }
    quint16 boundPort() const; // 0 when not running
    // "ws://127.0.0.1:9002/" while running, else empty.
    QString listeningUrl() const;

    void saveSettings() const;

    // The widgets, for tests.
    QLineEdit *addressEdit() const { return m_address; }
    QSpinBox *portSpin() const { return m_port; }
    QLabel *addressWarning() const { return m_addressWarning; }
    QLineEdit *targetEdit() const { return m_target; }
    QCheckBox *clientDeflateCheck() const { return m_clientDeflate; }
    QCheckBox *serverDeflateCheck() const { return m_serverDeflate; }
    QLineEdit *caFileEdit() const { return m_caFile; }
    QLineEdit *fingerprintEdit() const { return m_fingerprint; }
    QPushButton *startButton() const { return m_start; }
    QLabel *statusLabel() const { return m_status; }
    // Why the relay did not start, or why its last pair failed; hidden when nothing is wrong.
    QLabel *errorLabel() const { return m_error; }
    // The relay's pairs with their legs: a view over the connection tree rooted at
    // the relay's node.
    QTreeView *pairList() const { return m_pairs; }
    QPlainTextEdit *relayLog() const { return m_log; }

    // The selected pair's endpoint id (a leg selects its pair), or 0.
    quint32 selectedPair() const;

signals:
    void started(quint32 relayId);
    void stopped(quint32 relayId);
    void statusMessage(const QString &message);
    // The user picked a pair or a leg in the panel's list: the window scopes to it.
    void endpointActivated(quint32 id);

private:
    void loadSettings();
    void updateForm();
    void showError(const QString &message);
    void rootPairList();

    ConnectionHub *m_hub;
    ConnectionsModel *m_model;
    quint32 m_relayId = 0;
    bool m_stopping = false;

    QLineEdit *m_address;
    QSpinBox *m_port;
    QLabel *m_addressWarning;
    QLineEdit *m_target;
    QCheckBox *m_clientDeflate;
    QCheckBox *m_serverDeflate;
    QLineEdit *m_caFile;
    QToolButton *m_caBrowse;
    QLineEdit *m_fingerprint;
    QPushButton *m_start;
    QLabel *m_status;
    QLabel *m_error;
    QTreeView *m_pairs;
    QPlainTextEdit *m_log;
};

} // namespace ws

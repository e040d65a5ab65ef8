#pragma once

#include "net/server.h"

#include <QWidget>

class QAction;
class QCheckBox;
class QDialog;
class QComboBox;
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
class ListeningTlsEdit;
class MisbehaviourEditor;
class ServerClientsProxy;

// The Server dock: hosts one WebSocket server on this machine. Port, bind address
// (127.0.0.1 unless "all interfaces" is chosen, with a warning), mode, greeting and
// Origin allow-list; Start/Stop; the server's clients with send-to-one, send-to-all
// and disconnect-one with a chosen close code; a link to the browser test page.
// TLS (wss) with a certificate and key from files or a generated self-signed
// certificate for localhost, whose SHA-256 fingerprint is shown to be handed to
// clients; whether to accept permessage-deflate. A collapsed "Misbehave" section
// stages faults for every client (its header says when any is on), and the client
// list's context menu changes one client's while it runs. The settings persist
// (QSettings).
class ServerPanel : public QWidget {
    Q_OBJECT
public:
    explicit ServerPanel(ConnectionHub *hub, QWidget *parent = nullptr);
    ~ServerPanel() override;

    // The options the form describes. With TLS chosen but no usable certificate and
    // key, the reason is in `error` and the options have no certificate.
    ServerOptions options(QString *error = nullptr) const;
    // Starts with the form's options (or `options`); false and a message on failure.
    bool start();
    bool start(const ServerOptions &options);
    void stop();
    bool isRunning() const;
    quint32 serverId() const { return m_serverId; }
    quint16 boundPort() const; // 0 when not running
    QString testPageUrl() const;

    void saveSettings() const;

    // The widgets, for tests.
    QSpinBox *portSpin() const { return m_port; }
    QComboBox *bindCombo() const { return m_bind; }
    QLabel *bindWarning() const { return m_bindWarning; }
    QComboBox *modeCombo() const { return m_mode; }
    QLineEdit *greetingEdit() const { return m_greeting; }
    QLineEdit *originsEdit() const { return m_origins; }
    ListeningTlsEdit *listeningTlsEdit() const { return m_tls; }
    QCheckBox *deflateCheck() const { return m_deflate; }
    QPushButton *startButton() const { return m_start; }
    QLabel *statusLabel() const { return m_status; }
    QLabel *linkLabel() const { return m_link; }
    // The server's clients: a view over the connection tree through clientsModel(),
    // rooted at the server's node.
    QTreeView *clientList() const { return m_clients; }
    ServerClientsProxy *clientsModel() const { return m_clientsModel; }
    QLineEdit *messageEdit() const { return m_message; }
    QPushButton *sendToOneButton() const { return m_sendOne; }
    QPushButton *sendToAllButton() const { return m_sendAll; }
    QComboBox *disconnectCodeCombo() const { return m_disconnectCode; }
    QPushButton *disconnectButton() const { return m_disconnect; }
    QPlainTextEdit *serverLog() const { return m_log; }
    QToolButton *misbehaveToggle() const { return m_misbehaveToggle; }
    MisbehaviourEditor *misbehaviourEditor() const { return m_misbehaviour; }
    QAction *clientMisbehaveAction() const { return m_clientMisbehave; }

    // Opens the dialog that changes one connected client's misbehaviour (the client
    // list's context menu); applied when accepted. Null when `id` is no live client.
    QDialog *editClientMisbehaviour(quint32 id);

    // The selected client's endpoint id, or 0.
    quint32 selectedClient() const;
    void selectClient(quint32 id);

signals:
    void started(quint32 serverId);
    void stopped(quint32 serverId);
    void statusMessage(const QString &message);

private:
    void loadSettings();
    void updateForm();
    void showClientsOf(quint32 serverId);
    void sendToClients(const QList<quint32> &ids);
    QString listeningText() const;

    ConnectionHub *m_hub;
    quint32 m_serverId = 0;
    bool m_stopping = false;

    QSpinBox *m_port;
    QComboBox *m_bind;
    QLabel *m_bindWarning;
    QComboBox *m_mode;
    QLineEdit *m_greeting;
    QLineEdit *m_origins;
    ListeningTlsEdit *m_tls;
    QCheckBox *m_deflate;
    QPushButton *m_start;
    QLabel *m_status;
    QLabel *m_link;
    ConnectionsModel *m_connections;
    ServerClientsProxy *m_clientsModel;
    QTreeView *m_clients;
    // The selected client while the tree is rebuilt (after "forget").
    quint32 m_selectionToRestore = 0;
    QLineEdit *m_message;
    QPushButton *m_sendOne;
    QPushButton *m_sendAll;
    QComboBox *m_disconnectCode;
    QPushButton *m_disconnect;
    QPlainTextEdit *m_log;
    QToolButton *m_misbehaveToggle;
    MisbehaviourEditor *m_misbehaviour;
    QAction *m_clientMisbehave;

    void updateMisbehaveToggle();
};

} // namespace ws

#pragma once

#include "log/logstore.h"
#include "net/clientconnection.h"

#include <QMainWindow>
#include <QTimer>

#include <deque>

class QAction;
class QDialog;
class QDockWidget;
class QLabel;
class QPushButton;
class QStackedWidget;

namespace ws {

namespace log {
class LogStore;
}

class ConnectionHub;
class ConnectionsPanel;
class FrameInspector;
class LogFileController;
class LogPanel;
class MessageLogModel;
class NewConnectionDialog;
class ProbePanel;
class RelayPanel;
class RttChart;
class SendBox;
class ServerPanel;
class SessionDiffWindow;

// The workbench window. The message log is in the middle; around it, in docks
// whose layout is remembered: the connection tree (which scopes the log), the frame
// inspector, the send box, the server and relay panels, the round-trip chart and
// the conformance probe. Every
// session event of every connection goes into one log under the connection's id.
// The window lays these out and holds the actions; files are the LogFileController's.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    static constexpr quint16 DefaultWelcomePort = 9001;
    // Closing the window waits this long for the close handshakes.
    static constexpr int CloseGraceMs = 2000;
    // Narrower than this, the default layout puts the connection tree under the log
    // and the server panel and chart behind the inspector.
    static constexpr int CompactLayoutWidth = 1280;

    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    ConnectionHub *hub() const { return m_hub; }
    MessageLogModel *logModel() const { return m_log; }
    LogPanel *logPanel() const { return m_logPanel; }
    ConnectionsPanel *connectionsPanel() const { return m_connections; }
    FrameInspector *inspector() const { return m_inspector; }
    SendBox *sendBox() const { return m_sendBox; }
    ServerPanel *serverPanel() const { return m_serverPanel; }
    ProbePanel *probePanel() const { return m_probePanel; }
    QDockWidget *probeDock() const { return m_probeDock; }
    RelayPanel *relayPanel() const { return m_relayPanel; }
    QDockWidget *relayDock() const { return m_relayDock; }
    RttChart *rttChart() const { return m_chart; }
    LogFileController *logFiles() const { return m_logFiles; }
    QStackedWidget *centralStack() const { return m_central; }
    QPushButton *welcomeEchoButton() const { return m_welcomeEcho; }
    QAction *newConnectionAction() const { return m_newConnection; }
    QAction *hostEchoAction() const { return m_hostEcho; }
    QAction *quitAction() const { return m_quit; }
    QAction *guideAction() const { return m_guide; }
    QAction *shortcutsAction() const { return m_shortcuts; }
    QLabel *statusLabel() const { return m_statusLabel; }
    bool isShowingWelcome() const;

    // Opens the new-connection dialog (window-modal, not blocking); the connection
    // starts when it is accepted.
    NewConnectionDialog *newConnection();
    quint32 openConnection(const ClientOptions &options);
    // The first-start action: an echo server on 127.0.0.1:9001 (another free port if
    // that one is taken) and a connection to it. Returns the client's id.
    quint32 hostEchoAndConnect();
    // The port hostEchoAndConnect() tries first (tests keep 9001 free for people).
    void setWelcomePort(quint16 port);
    quint16 welcomePort() const { return m_welcomePort; }

    // The log's files, through logFiles(): each runs on a worker thread while the
    // window keeps handling events.
    bool saveLog(const QString &path, QString *error = nullptr);
    bool exportHar(const QString &path, QString *error = nullptr);
    // Opening never replaces what the window holds: a window that has connections or
    // rows opens the file in a new window beside it (deleted when closed). Returns
    // the window showing the file, or nullptr with the reason in `error`.
    MainWindow *openLog(const QString &path, QString *error = nullptr);
    MainWindow *importHar(const QString &path, QString *error = nullptr);
    // Has connections, servers or log rows: a file opened now goes beside them.
    bool holdsWork() const;
    // A window opened for a file by another one.
    bool isFileWindow() const { return m_fileWindow; }

    // Asks first when connections are live, then closes the window.
    void quit();
    // The user guide, in the window's help browser (at `anchor` when given).
    QDialog *showHelp(const QString &anchor = {});

    void resetLayout();

    // File > Compare sessions…: asks for two logs, then compareSessions().
    QAction *compareSessionsAction() const { return m_compareSessions; }
    // Connection > Conformance probe: shows and raises the Probe dock.
    QAction *probeAction() const { return m_probe; }
    void showProbe();
    // Opens a window with the two logs side by side (deleted when closed).
    SessionDiffWindow *compareSessions(const QString &a, const QString &b);
    // Two connections of this window's log, e.g. a replay and its recording.
    SessionDiffWindow *compareConnections(quint32 a, quint32 b);

protected:
    void closeEvent(QCloseEvent *event) override;
    void setVisible(bool visible) override;
    void showEvent(QShowEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;

private:
    void createActions();
    void createDocks();
    void createMenus();
    QWidget *createWelcomePage();
    void restoreSettings();
    void saveSettings() const;
    void showLog();
    void updateScope();
    void updateStatus();
    // updateScope() and updateStatus() once the hub's current burst of changes is
    // through: both walk every endpoint, and a relay adds and closes hundreds a second.
    void scheduleEndpointUpdate();
    void onEndpointAdded();
    void onErrorReported(quint32 id, const QString &message);
    void onCurrentRecord(qsizetype storeIndex);
    void showProbeCase(quint32 connectionId, qsizetype storeIndex);
    void resend(qsizetype storeIndex);
    // A relayed row again, through its relay (Relay::resend: noted as sent again, in
    // order with what waits in that direction), on leg `to` of its pair.
    void resendToLeg(qsizetype storeIndex, log::Leg to);
    // Why that cannot be done now; empty when it can.
    QString relayResendBlocker(qsizetype storeIndex, log::Leg to) const;
    // The Relay panel's "Load from selected log row": the current row into its Inject form.
    void loadInjectFromLog();
    void onLogLoaded();
    void finishClose();
    void fitInspectorColumns(int width);
    MainWindow *openFile(const QString &path, bool har, QString *error);
    void clearStatusIf(const QString &message);
    void noteConnecting(quint32 id, const QString &url);
    QDockWidget *addDock(QWidget *widget, const QString &title, const QString &name,
                         Qt::DockWidgetArea area);

    MessageLogModel *m_log;
    ConnectionHub *m_hub;
    LogFileController *m_logFiles;
    QStackedWidget *m_central = nullptr;
    LogPanel *m_logPanel = nullptr;
    ConnectionsPanel *m_connections = nullptr;
    FrameInspector *m_inspector = nullptr;
    SendBox *m_sendBox = nullptr;
    ServerPanel *m_serverPanel = nullptr;
    RelayPanel *m_relayPanel = nullptr;
    RttChart *m_chart = nullptr;
    ProbePanel *m_probePanel = nullptr;
    QDockWidget *m_connectionsDock = nullptr;
    QDockWidget *m_inspectorDock = nullptr;
    QDockWidget *m_sendDock = nullptr;
    QDockWidget *m_serverDock = nullptr;
    QDockWidget *m_relayDock = nullptr;
    QDockWidget *m_chartDock = nullptr;
    QDockWidget *m_probeDock = nullptr;
    QPushButton *m_welcomeEcho = nullptr;
    QLabel *m_statusLabel = nullptr;
    QAction *m_newConnection = nullptr;
    QAction *m_hostEcho = nullptr;
    QAction *m_quit = nullptr;
    QAction *m_resetLayout = nullptr;
    QAction *m_guide = nullptr;
    QAction *m_shortcuts = nullptr;
    QAction *m_compareSessions = nullptr;
    QAction *m_probe = nullptr;
    QByteArray m_defaultState;
    bool m_layoutRestored = false;
    bool m_shownOnce = false;

    quint16 m_welcomePort = DefaultWelcomePort;
    quint32 m_scope = 0;
    // Connections the hub forgot while they were in the log's scope (a relay's oldest
    // finished pairs, a server's oldest clients), oldest first: their rows stay in the
    // scope while it stays, up to MaxForgottenInScope of them.
    static constexpr qsizetype MaxForgottenInScope = 10'000;
    std::deque<quint32> m_forgottenInScope;

    bool m_fileWindow = false;
    // Messages that stop being true: cleared when the connection opens or fails,
    // or when the send box's target changes.
    QString m_connectingMessage;
    quint32 m_connectingId = 0;
    QString m_sendMessage;

    bool m_quitConfirmed = false;
    bool m_closing = false;
    bool m_readyToClose = false;
    QTimer m_closeTimer;
    QTimer m_endpointUpdate; // scheduleEndpointUpdate()
};

} // namespace ws

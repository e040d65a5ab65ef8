#pragma once

#include "net/clientconnection.h"

#include <QHash>
#include <QMainWindow>
#include <QPointer>
#include <QTimer>

#include <functional>

class QAction;
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
class LogPanel;
class MessageLogModel;
class NewConnectionDialog;
class RttChart;
class SendBox;
class ServerPanel;

// The workbench window. The message log is in the middle; around it, in docks
// whose layout is remembered: the connection tree (which scopes the log), the frame
// inspector, the send box, the server panel and the round-trip chart. Every
// session event of every connection goes into one log under the connection's id.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    static constexpr quint16 DefaultWelcomePort = 9001;
    // Closing the window waits this long for the close handshakes.
    static constexpr int CloseGraceMs = 2000;

    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    // --demo (host an echo server, connect, send a few messages, select a frame)
    // and --screenshot FILE (after the demo, save the window as PNG and quit).
    // Returns false with the reason in `error` for arguments it does not know.
    bool processArguments(const QStringList &arguments, QString *error = nullptr);

    ConnectionHub *hub() const { return m_hub; }
    MessageLogModel *logModel() const { return m_log; }
    LogPanel *logPanel() const { return m_logPanel; }
    ConnectionsPanel *connectionsPanel() const { return m_connections; }
    FrameInspector *inspector() const { return m_inspector; }
    SendBox *sendBox() const { return m_sendBox; }
    ServerPanel *serverPanel() const { return m_serverPanel; }
    RttChart *rttChart() const { return m_chart; }
    QStackedWidget *centralStack() const { return m_central; }
    QPushButton *welcomeEchoButton() const { return m_welcomeEcho; }
    QAction *newConnectionAction() const { return m_newConnection; }
    QAction *hostEchoAction() const { return m_hostEcho; }
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

    bool saveLog(const QString &path, QString *error = nullptr);
    bool openLog(const QString &path, QString *error = nullptr);
    bool exportHar(const QString &path, QString *error = nullptr);
    bool importHar(const QString &path, QString *error = nullptr);

    // The window as a PNG (what --screenshot writes).
    bool saveScreenshot(const QString &path, QString *error = nullptr);
    void runDemo();

    void resetLayout();

signals:
    void demoFinished();

protected:
    void closeEvent(QCloseEvent *event) override;
    void showEvent(QShowEvent *event) override;

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
    void sampleRates();
    void onEndpointAdded(quint32 id);
    void onErrorReported(quint32 id, const QString &message);
    void onCurrentRecord(qsizetype storeIndex);
    void resend(qsizetype storeIndex);
    void mergeStore(const log::LogStore &store);
    // Runs `load` (which reads a file into a store only it touches) on a worker thread
    // while this thread keeps handling events and, once loading takes a moment, shows
    // a cancellable progress dialog saying `label`. Returns when the worker is done.
    using Load = std::function<bool(
        QString *error, const std::function<bool(qint64 done, qint64 total)> &progress)>;
    bool loadInBackground(const QString &label, const QString &path, QString *error,
                          const Load &load);
    void finishClose();
    void fileAction(const QString &title, const QString &filter, bool save,
                    bool (MainWindow::*operation)(const QString &, QString *));
    QDockWidget *addDock(QWidget *widget, const QString &title, const QString &name,
                         Qt::DockWidgetArea area);

    MessageLogModel *m_log;
    ConnectionHub *m_hub;
    QStackedWidget *m_central = nullptr;
    LogPanel *m_logPanel = nullptr;
    ConnectionsPanel *m_connections = nullptr;
    FrameInspector *m_inspector = nullptr;
    SendBox *m_sendBox = nullptr;
    ServerPanel *m_serverPanel = nullptr;
    RttChart *m_chart = nullptr;
    QDockWidget *m_connectionsDock = nullptr;
    QDockWidget *m_inspectorDock = nullptr;
    QDockWidget *m_sendDock = nullptr;
    QDockWidget *m_serverDock = nullptr;
    QDockWidget *m_chartDock = nullptr;
    QPushButton *m_welcomeEcho = nullptr;
    QLabel *m_statusLabel = nullptr;
    QAction *m_newConnection = nullptr;
    QAction *m_hostEcho = nullptr;
    QAction *m_quit = nullptr;
    QAction *m_resetLayout = nullptr;
    QByteArray m_defaultState;
    bool m_layoutRestored = false;
    bool m_shownOnce = false;

    quint16 m_welcomePort = DefaultWelcomePort;
    quint32 m_scope = 0;
    QTimer m_rateTimer;
    QHash<quint32, qint64> m_lastCounts;
    qint64 m_lastSampleMs = 0;

    bool m_closing = false;
    bool m_readyToClose = false;
    QTimer m_closeTimer;

    QString m_screenshotPath;

    // A load runs its own event loop: another one started from it (the window takes
    // input until the progress dialog shows) would nest a second loop inside the first.
    bool m_loading = false;
    // The last load failed because it was cancelled (a choice, not an error to report).
    bool m_loadCancelled = false;
};

} // namespace ws

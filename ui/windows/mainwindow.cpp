#include "mainwindow.h"

#include "connections/connectionhub.h"
#include "connectionspanel.h"
#include "controllers/logfilecontroller.h"
#include "dialogs/helpdialog.h"
#include "dialogs/newconnectiondialog.h"
#include "logpanel.h"
#include "models/logfilterproxy.h"
#include "models/messagelogmodel.h"
#include "probepanel.h"
#include "relaypanel.h"
#include "rttchart.h"
#include "sendbox.h"
#include "serverpanel.h"
#include "sessiondiffwindow.h"
#include "widgets/frameinspector.h"
#include "widgets/messagelogview.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QCryptographicHash>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QResizeEvent>
#include <QScrollArea>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QToolBar>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <memory>

namespace ws {

namespace {

// A panel in a dock scrolls when the dock is smaller than the panel would like: the
// panels' forms must not make the window wider or taller than a small screen.
QScrollArea *scrolled(QWidget *panel) {
    auto *area = new QScrollArea;
    area->setWidget(panel);
    area->setWidgetResizable(true);
    area->setFrameShape(QFrame::NoFrame);
    return area;
}

const QString GeometryKey = QStringLiteral("window/geometry");
const QString StateKey = QStringLiteral("window/state");
// Bump when the docks change, so that an old layout is not applied to new docks.
constexpr int LayoutVersion = 2;

constexpr int ErrorMessageMs = 30'000;
// How soon the send target and the status bar follow the connections: a few times a
// second, like the Connections tree's counters.
constexpr int EndpointUpdateMs = 50;

} // namespace

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent)
    , m_log(new MessageLogModel(this))
    , m_hub(new ConnectionHub(m_log, this))
    , m_logFiles(new LogFileController(m_log, m_hub, this)) {
    setWindowTitle(tr("WebSocket Workbench"));
    setObjectName(QStringLiteral("mainWindow"));
    setDockNestingEnabled(true);

    m_logPanel = new LogPanel(m_log, this);
    m_central = new QStackedWidget(this);
    m_central->addWidget(createWelcomePage());
    m_central->addWidget(m_logPanel);
    setCentralWidget(m_central);

    createActions();
    createDocks();
    createMenus();

    m_statusLabel = new QLabel(this);
    statusBar()->addPermanentWidget(m_statusLabel);

    connect(m_hub, &ConnectionHub::endpointAdded, this, &MainWindow::onEndpointAdded);
    connect(m_hub, &ConnectionHub::endpointsChanged, this, [this](const QList<quint32> &ids) {
        // "Connecting to ..." is over once the connection has opened or failed.
        if (m_connectingId != 0 && ids.contains(m_connectingId)) {
            const quint32 id = m_connectingId;
            const EndpointInfo *info = m_hub->info(id);
            if (!info || info->finished || info->state != SessionState::Connecting) {
                clearStatusIf(m_connectingMessage);
                m_connectingId = 0;
            }
        }
        scheduleEndpointUpdate();
    });
    connect(m_hub, &ConnectionHub::endpointsAboutToBeRemoved, this,
            [this](const QList<quint32> &ids) {
                if (m_scope == 0 || !m_hub->info(m_scope))
                    return;
                const QSet<quint32> &shown = m_logPanel->proxy()->connectionFilter();
                for (const quint32 id : ids) {
                    if (id != m_scope && shown.contains(id))
                        m_forgottenInScope.push_back(id);
                }
                while (qsizetype(m_forgottenInScope.size()) > MaxForgottenInScope)
                    m_forgottenInScope.pop_front();
            });
    connect(m_hub, &ConnectionHub::endpointsRemoved, this, [this] {
        updateScope();
        updateStatus();
    });
    m_endpointUpdate.setSingleShot(true);
    m_endpointUpdate.setInterval(EndpointUpdateMs);
    connect(&m_endpointUpdate, &QTimer::timeout, this, [this] {
        updateScope();
        updateStatus();
    });
    connect(m_hub, &ConnectionHub::errorReported, this, &MainWindow::onErrorReported);
    connect(m_connections, &ConnectionsPanel::scopeChanged, this, &MainWindow::updateScope);
    connect(m_log, &QAbstractItemModel::rowsInserted, this, [this] {
        showLog();
        updateStatus();
    });
    connect(m_log, &QAbstractItemModel::modelReset, this, [this] {
        m_inspector->clear();
        updateStatus();
    });
    connect(m_log, &QAbstractItemModel::rowsRemoved, this, &MainWindow::updateStatus);
    // The "N of M rows" count follows the filters too.
    LogFilterProxy *proxy = m_logPanel->proxy();
    connect(proxy, &QAbstractItemModel::modelReset, this, &MainWindow::updateStatus);
    connect(proxy, &QAbstractItemModel::layoutChanged, this, &MainWindow::updateStatus);
    connect(proxy, &QAbstractItemModel::rowsRemoved, this, &MainWindow::updateStatus);
    connect(m_logPanel, &LogPanel::currentRecordChanged, this, &MainWindow::onCurrentRecord);
    connect(m_logPanel, &LogPanel::resendRequested, this, &MainWindow::resend);
    connect(m_logPanel, &LogPanel::resendToLegRequested, this, &MainWindow::resendToLeg);
    m_logPanel->setRelayResendCheck(
        [this](qsizetype index, log::Leg to) { return relayResendBlocker(index, to); });
    connect(m_inspector, &FrameInspector::recordActivated, this, [this](qsizetype index) {
        if (m_logPanel->view()->selectStoreIndex(index))
            return;
        // A fragment is a row only when the log lists frames.
        m_logPanel->framesAction()->setChecked(true);
        m_logPanel->view()->selectStoreIndex(index);
    });
    const auto showStatus = [this](const QString &message) {
        statusBar()->showMessage(message, ErrorMessageMs);
    };
    connect(m_logPanel, &LogPanel::statusMessage, this, showStatus);
    connect(m_sendBox, &SendBox::statusMessage, this, [this](const QString &message) {
        // A send's failure names its target; it is cleared when the target changes.
        m_sendMessage = message;
        statusBar()->showMessage(message, ErrorMessageMs);
    });
    connect(m_logFiles, &LogFileController::statusMessage, this,
            [this](const QString &message, int timeoutMs) {
                statusBar()->showMessage(message, timeoutMs);
            });
    connect(m_logFiles, &LogFileController::logLoaded, this, &MainWindow::onLogLoaded);
    m_logFiles->setOpener([this](const QString &path, bool har, QString *error) {
        return openFile(path, har, error) != nullptr;
    });
    connect(m_serverPanel, &ServerPanel::statusMessage, this, showStatus);
    connect(m_probePanel, &ProbePanel::statusMessage, this, showStatus);
    connect(m_probePanel, &ProbePanel::caseShown, this, &MainWindow::showProbeCase);
    connect(m_relayPanel, &RelayPanel::statusMessage, this, showStatus);
    connect(m_relayPanel, &RelayPanel::endpointActivated, m_connections, &ConnectionsPanel::select);
    connect(m_relayPanel, &RelayPanel::loadFromLogRequested, this, &MainWindow::loadInjectFromLog);
    connect(m_relayPanel, &RelayPanel::started, this, [this] {
        showLog();
        // Relayed rows name their leg in these two columns, and a leg with
        // permessage-deflate gives both sizes in the third: room for the longest.
        QTableView *view = m_logPanel->view();
        const QFontMetrics metrics = view->fontMetrics();
        const int padding = metrics.horizontalAdvance(QLatin1Char('0')) * 2;
        QList<std::pair<int, QString>> widest{
            {int(MessageLogModel::ConnectionColumn), tr("relay 1 #1 server")},
            {int(MessageLogModel::DirectionColumn), tr("\u2190 from server")}};
        const Relay *relay = m_hub->relay(m_relayPanel->relayId());
        if (relay && (relay->options().clientDeflate.policy != DeflatePolicy::Refuse ||
                      relay->options().serverDeflate.policy != DeflatePolicy::Refuse))
            widest.append({int(MessageLogModel::LengthColumn), tr("16384 (4096 on the wire)")});
        for (const auto &[column, text] : std::as_const(widest))
            view->setColumnWidth(column, std::max(view->columnWidth(column),
                                                  metrics.horizontalAdvance(text) + padding));
        statusBar()->showMessage(tr("Relay listening on %1 \u2014 point the client there")
                                     .arg(m_relayPanel->listeningUrl()),
                                 10'000);
    });
    connect(m_connections, &ConnectionsPanel::statusMessage, this, showStatus);
    connect(m_connections, &ConnectionsPanel::compareReplayRequested, this,
            &MainWindow::compareConnections);
    connect(m_connections, &ConnectionsPanel::reconnected, this, [this](quint32 id) {
        const EndpointInfo *info = m_hub->info(id);
        if (info)
            noteConnecting(id, info->address);
    });
    connect(m_sendBox, &SendBox::sent, this, &MainWindow::showLog);
    connect(m_serverPanel, &ServerPanel::started, this, [this] {
        showLog();
        const EndpointInfo *server = m_hub->info(m_serverPanel->serverId());
        statusBar()->showMessage(
            tr("Server listening on %1://127.0.0.1:%2/ \u2014 test page at %3")
                .arg(server && server->secure ? QLatin1String("wss") : QLatin1String("ws"))
                .arg(m_serverPanel->boundPort())
                .arg(m_serverPanel->testPageUrl()),
            10'000);
    });

    m_closeTimer.setSingleShot(true);
    connect(&m_closeTimer, &QTimer::timeout, this, &MainWindow::finishClose);

    m_defaultState = saveState(LayoutVersion);
    restoreSettings();
    updateScope();
    updateStatus();
}

MainWindow::~MainWindow() {
    // Nothing may reach the panels from the hub's last signals while they go.
    m_hub->disconnect(this);
    m_hub->disconnect(m_serverPanel);
    m_hub->disconnect(m_relayPanel);
    m_chart->setHub(nullptr);
    // Nor the log's: it announces its records' end as a reset when it goes, and the
    // docks may go before it.
    m_log->disconnect(this);
    m_logPanel->proxy()->disconnect(this);
}

QWidget *MainWindow::createWelcomePage() {
    auto *page = new QWidget(this);
    page->setObjectName(QStringLiteral("welcomePage"));
    auto *title = new QLabel(tr("<h2>WebSocket Workbench</h2>"), page);
    auto *text = new QLabel(
        tr("Talk to a WebSocket server by hand, host one on this machine, and watch every frame "
           "go by \u2014 header bits, masking, pings, pongs and close codes included."),
        page);
    text->setWordWrap(true);
    text->setAlignment(Qt::AlignHCenter);
    text->setMaximumWidth(560);
    text->setObjectName(QStringLiteral("welcomeText"));
    m_welcomeEcho = new QPushButton(
        tr("Host an echo server on 127.0.0.1:%1 and connect to it").arg(DefaultWelcomePort), page);
    m_welcomeEcho->setObjectName(QStringLiteral("welcomeEcho"));
    m_welcomeEcho->setDefault(true);
    m_welcomeEcho->setMinimumHeight(m_welcomeEcho->sizeHint().height() * 3 / 2);
    auto *connectButton = new QPushButton(tr("Connect to a server\u2026"), page);
    auto *openButton = new QPushButton(tr("Open a saved log\u2026"), page);
    auto *hint = new QLabel(tr("Or set up a server in the Server panel on the left."), page);
    hint->setEnabled(false);
    connect(m_welcomeEcho, &QPushButton::clicked, this, &MainWindow::hostEchoAndConnect);
    connect(connectButton, &QPushButton::clicked, this, &MainWindow::newConnection);
    connect(openButton, &QPushButton::clicked, m_logFiles, &LogFileController::openLogFile);

    hint->setWordWrap(true);
    hint->setAlignment(Qt::AlignHCenter);
    m_welcomeEcho->setSizePolicy(QSizePolicy::Maximum, QSizePolicy::Fixed);

    auto *layout = new QVBoxLayout(page);
    layout->addStretch(2);
    for (QWidget *widget :
         {static_cast<QWidget *>(title), static_cast<QWidget *>(text),
          static_cast<QWidget *>(m_welcomeEcho), static_cast<QWidget *>(connectButton),
          static_cast<QWidget *>(openButton), static_cast<QWidget *>(hint)}) {
        // Centred by stretches, not by alignment: an aligned word-wrapped label gets
        // the height of a wider one, and its last lines are cut off.
        auto *row = new QHBoxLayout;
        row->addStretch(1);
        row->addWidget(widget, 100);
        row->addStretch(1);
        layout->addLayout(row);
    }
    layout->addStretch(3);
    return page;
}

void MainWindow::createActions() {
    m_newConnection = new QAction(tr("&New connection\u2026"), this);
    m_newConnection->setShortcut(QKeySequence::New);
    m_newConnection->setToolTip(tr("Connect to a WebSocket server (Ctrl+N)"));
    m_newConnection->setIconText(tr("New\u2026"));
    connect(m_newConnection, &QAction::triggered, this, &MainWindow::newConnection);
    m_hostEcho = new QAction(tr("Host echo server and connect"), this);
    m_hostEcho->setIconText(tr("Echo + connect"));
    m_hostEcho->setToolTip(
        tr("Host an echo server on 127.0.0.1:%1 and connect to it").arg(DefaultWelcomePort));
    connect(m_hostEcho, &QAction::triggered, this, &MainWindow::hostEchoAndConnect);
    m_quit = new QAction(tr("&Quit"), this);
    // Not QKeySequence::Quit: some platforms (and the offscreen one) have none.
    m_quit->setShortcut(QKeySequence(tr("Ctrl+Q")));
    m_quit->setShortcutContext(Qt::ApplicationShortcut);
    connect(m_quit, &QAction::triggered, this, &MainWindow::quit);
    m_guide = new QAction(tr("User &guide"), this);
    m_guide->setShortcut(QKeySequence::HelpContents);
    connect(m_guide, &QAction::triggered, this, [this] { showHelp(); });
    m_shortcuts = new QAction(tr("&Keyboard shortcuts"), this);
    connect(m_shortcuts, &QAction::triggered, this,
            [this] { showHelp(QStringLiteral("shortcuts")); });
    m_resetLayout = new QAction(tr("Reset layout"), this);
    connect(m_resetLayout, &QAction::triggered, this, &MainWindow::resetLayout);

    // The toolbar's actions are the menu's: their shortcuts work wherever the focus is.
    m_logPanel->openAction()->setShortcut(QKeySequence::Open);
    m_logPanel->saveAction()->setShortcut(QKeySequence::Save);
    m_logPanel->exportHarAction()->setShortcut(QKeySequence(tr("Ctrl+Shift+E")));
    m_logPanel->importHarAction()->setShortcut(QKeySequence(tr("Ctrl+Shift+I")));
    for (QAction *action : {m_logPanel->openAction(), m_logPanel->saveAction(),
                            m_logPanel->exportHarAction(), m_logPanel->importHarAction()}) {
        action->setToolTip(QStringLiteral("%1 (%2)").arg(
            action->text().remove(QLatin1Char('&')).remove(QStringLiteral("\u2026")),
            action->shortcut().toString(QKeySequence::NativeText)));
    }
    connect(m_logPanel->saveAction(), &QAction::triggered, m_logFiles,
            &LogFileController::saveLogAs);
    connect(m_logPanel->openAction(), &QAction::triggered, m_logFiles,
            &LogFileController::openLogFile);
    connect(m_logPanel->exportHarAction(), &QAction::triggered, m_logFiles,
            &LogFileController::exportHarAs);
    connect(m_logPanel->importHarAction(), &QAction::triggered, m_logFiles,
            &LogFileController::importHarFile);
}

SessionDiffWindow *MainWindow::compareSessions(const QString &a, const QString &b) {
    auto *window = new SessionDiffWindow(this);
    window->setAttribute(Qt::WA_DeleteOnClose);
    window->setFiles(a, b);
    window->compare(); // a file that cannot be read is reported in the window
    window->show();
    return window;
}

SessionDiffWindow *MainWindow::compareConnections(quint32 a, quint32 b) {
    auto *window = new SessionDiffWindow(this);
    window->setAttribute(Qt::WA_DeleteOnClose);
    // Rows still being coalesced are part of what is compared.
    m_log->flush();
    if (window->setConnections(m_log->store(), a, b))
        window->compare(); // otherwise the window says why
    window->show();
    return window;
}

QDockWidget *MainWindow::addDock(QWidget *widget, const QString &title, const QString &name,
                                 Qt::DockWidgetArea area) {
    auto *dock = new QDockWidget(title, this);
    dock->setObjectName(name);
    dock->setWidget(widget);
    dock->setFeatures(QDockWidget::DockWidgetClosable | QDockWidget::DockWidgetMovable |
                      QDockWidget::DockWidgetFloatable);
    addDockWidget(area, dock);
    return dock;
}

void MainWindow::createDocks() {
    // The side docks run the full height; the send box sits under the log only.
    setCorner(Qt::TopLeftCorner, Qt::LeftDockWidgetArea);
    setCorner(Qt::BottomLeftCorner, Qt::LeftDockWidgetArea);
    setCorner(Qt::TopRightCorner, Qt::RightDockWidgetArea);
    setCorner(Qt::BottomRightCorner, Qt::RightDockWidgetArea);

    m_connections = new ConnectionsPanel(m_hub, this);
    m_connections->addAction(m_hostEcho, true);
    m_connections->addAction(m_newConnection, true);
    m_inspector = new FrameInspector(this);
    m_sendBox = new SendBox(m_hub, this);
    m_serverPanel = new ServerPanel(m_hub, this);
    m_relayPanel = new RelayPanel(m_hub, this);
    m_chart = new RttChart(this);
    m_chart->setHub(m_hub);

    // Left: where things are (connections, the hosted server). Right: what one
    // record is (the inspector) and how the connections are doing (the chart).
    // Under the log: what to send next.
    m_connectionsDock = addDock(m_connections, tr("Connections"), QStringLiteral("connectionsDock"),
                                Qt::LeftDockWidgetArea);
    m_serverDock = addDock(scrolled(m_serverPanel), tr("Server"), QStringLiteral("serverDock"),
                           Qt::LeftDockWidgetArea);
    splitDockWidget(m_connectionsDock, m_serverDock, Qt::Vertical);
    // The relay shares the server's place: one of the two is what a session is about.
    m_relayDock = addDock(scrolled(m_relayPanel), tr("Relay"), QStringLiteral("relayDock"),
                          Qt::LeftDockWidgetArea);
    tabifyDockWidget(m_serverDock, m_relayDock);
    m_serverDock->raise();
    m_inspectorDock = addDock(m_inspector, tr("Inspector"), QStringLiteral("inspectorDock"),
                              Qt::RightDockWidgetArea);
    m_chartDock = addDock(m_chart, tr("Round trip and rate"), QStringLiteral("chartDock"),
                          Qt::RightDockWidgetArea);
    splitDockWidget(m_inspectorDock, m_chartDock, Qt::Vertical);
    m_sendDock =
        addDock(m_sendBox, tr("Send"), QStringLiteral("sendDock"), Qt::BottomDockWidgetArea);
    // The probe's results want the log's width; they sit behind the send box until asked for.
    m_probePanel = new ProbePanel(m_hub, m_serverPanel, this);
    m_probeDock = addDock(scrolled(m_probePanel), tr("Probe"), QStringLiteral("probeDock"),
                          Qt::BottomDockWidgetArea);
    tabifyDockWidget(m_sendDock, m_probeDock);
    m_sendDock->raise();
}

void MainWindow::showProbe() {
    m_probeDock->show();
    m_probeDock->raise();
    if (m_probeDock->isFloating())
        return;
    // A results table needs more rows than the send box, and on a small screen more of
    // the width under the log than the connection tree beside it.
    if (m_probeDock->height() < height() * 40 / 100)
        resizeDocks({m_probeDock}, {height() * 45 / 100}, Qt::Vertical);
    if (width() < CompactLayoutWidth &&
        dockWidgetArea(m_connectionsDock) == Qt::BottomDockWidgetArea)
        resizeDocks({m_connectionsDock, m_probeDock}, {width() * 14 / 100, width() * 48 / 100},
                    Qt::Horizontal);
}

void MainWindow::showProbeCase(quint32 connectionId, qsizetype storeIndex) {
    showLog();
    m_connections->select(connectionId);
    if (!m_logPanel->view()->selectStoreIndex(storeIndex)) {
        // A fragment is a row only when the log lists frames.
        m_logPanel->framesAction()->setChecked(true);
        m_logPanel->view()->selectStoreIndex(storeIndex);
    }
    m_inspectorDock->show();
    m_inspectorDock->raise();
}

void MainWindow::createMenus() {
    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(m_newConnection);
    file->addAction(m_hostEcho);
    file->addSeparator();
    file->addAction(m_logPanel->openAction());
    file->addAction(m_logPanel->saveAction());
    file->addAction(m_logPanel->importHarAction());
    file->addAction(m_logPanel->exportHarAction());
    file->addSeparator();
    m_compareSessions = file->addAction(tr("&Compare sessions\u2026"));
    m_compareSessions->setToolTip(tr("Two saved logs side by side, message by message"));
    connect(m_compareSessions, &QAction::triggered, this, [this] {
        const QString filter = tr("Logs (*.jsonl *.har);;All files (*)");
        const QString a = QFileDialog::getOpenFileName(this, tr("Compare: session A"), {}, filter);
        if (a.isEmpty())
            return;
        const QString b = QFileDialog::getOpenFileName(this, tr("Compare with: session B"),
                                                       QFileInfo(a).absolutePath(), filter);
        if (!b.isEmpty())
            compareSessions(a, b);
    });
    file->addSeparator();
    file->addAction(m_quit);

    QMenu *connection = menuBar()->addMenu(tr("&Connection"));
    connection->addAction(m_connections->reconnectAction());
    connection->addAction(m_connections->closeAction());
    connection->addAction(m_connections->abortAction());
    connection->addAction(m_connections->forgetAction());
    connection->addAction(m_connections->keepFinishedAction());
    connection->addSeparator();
    connection->addAction(m_connections->detailsAction());
    connection->addAction(m_connections->trustAction());
    connection->addSeparator();
    m_probe = connection->addAction(tr("Conformance &probe…"));
    m_probe->setObjectName(QStringLiteral("probeAction"));
    m_probe->setShortcut(QKeySequence(tr("Ctrl+Shift+P")));
    m_probe->setToolTip(tr("Run the conformance catalogue against a server, or let clients run "
                           "it against us (Ctrl+Shift+P)"));
    connect(m_probe, &QAction::triggered, this, &MainWindow::showProbe);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    view->addAction(m_logPanel->messagesAction());
    view->addAction(m_logPanel->framesAction());
    view->addAction(m_logPanel->followAction());
    view->addSeparator();
    for (QDockWidget *dock : {m_connectionsDock, m_serverDock, m_relayDock, m_inspectorDock,
                              m_sendDock, m_chartDock, m_probeDock})
        view->addAction(dock->toggleViewAction());
    view->addSeparator();
    view->addAction(m_resetLayout);

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(m_guide);
    help->addAction(m_shortcuts);
    help->addSeparator();
    help->addAction(tr("&About"), this, [this] {
        QMessageBox::about(this, tr("About WebSocket Workbench"),
                           tr("<b>WebSocket Workbench %1</b><p>A workbench for building and "
                              "debugging WebSocket (RFC 6455) clients and servers.</p>")
                               .arg(QCoreApplication::applicationVersion()));
    });
}

bool MainWindow::isShowingWelcome() const {
    return m_central->currentIndex() == 0;
}

void MainWindow::showLog() {
    m_central->setCurrentWidget(m_logPanel);
}

void MainWindow::resetLayout() {
    // The default state is the wide layout; its minimum may be wider than a small
    // window, which grows while passing through it: it gets its size back below.
    const QSize before = size();
    restoreState(m_defaultState, LayoutVersion);
    for (QDockWidget *dock : {m_connectionsDock, m_serverDock, m_relayDock, m_inspectorDock,
                              m_sendDock, m_chartDock, m_probeDock})
        dock->show();
    // The size the window had: passing through the wide layout may have grown it.
    const int width = std::max(before.width(), 800);
    const int height = std::max(before.height(), 600);
    int inspectorWidth = 0;
    if (width < CompactLayoutWidth) {
        // Three columns do not fit: the log takes the middle and the top; under it the
        // connection tree beside the send box; on the right the inspector, with the
        // server panel and the chart as tabs behind it.
        addDockWidget(Qt::BottomDockWidgetArea, m_connectionsDock);
        splitDockWidget(m_connectionsDock, m_sendDock, Qt::Horizontal);
        tabifyDockWidget(m_sendDock, m_probeDock);
        m_sendDock->raise();
        tabifyDockWidget(m_inspectorDock, m_serverDock);
        tabifyDockWidget(m_serverDock, m_relayDock);
        tabifyDockWidget(m_relayDock, m_chartDock);
        m_inspectorDock->raise();
        inspectorWidth = width * 38 / 100;
        resizeDocks({m_inspectorDock}, {inspectorWidth}, Qt::Horizontal);
        resizeDocks({m_connectionsDock, m_sendDock}, {width * 24 / 100, width * 38 / 100},
                    Qt::Horizontal);
        resizeDocks({m_sendDock}, {height * 30 / 100}, Qt::Vertical);
    } else {
        inspectorWidth = width * 34 / 100;
        resizeDocks({m_connectionsDock, m_inspectorDock}, {width * 20 / 100, inspectorWidth},
                    Qt::Horizontal);
        resizeDocks({m_connectionsDock, m_serverDock}, {height * 34 / 100, height * 66 / 100},
                    Qt::Vertical);
        resizeDocks({m_inspectorDock, m_chartDock}, {height * 70 / 100, height * 30 / 100},
                    Qt::Vertical);
        resizeDocks({m_sendDock}, {height * 22 / 100}, Qt::Vertical);
    }
    // The inspector's parts: field table, bit diagram, payload. The field table is
    // the one that grows (a record, its header and its message run to twenty rows);
    // the diagram needs room for a 14-byte header (four rows of 32 bits).
    if (auto *splitter = m_inspector->findChild<QSplitter *>()) {
        const int total = std::max(splitter->height(), height * 60 / 100);
        splitter->setSizes({total * 46 / 100, total * 28 / 100, total * 26 / 100});
    }
    fitInspectorColumns(inspectorWidth);
    // The window's minimum is still the wide layout's until the layout is activated
    // again, and would hold the window at that width (now, or once the pending
    // layout request runs).
    layout()->activate();
    if (size() != before)
        resize(before.expandedTo(minimumSizeHint()));
}

void MainWindow::fitInspectorColumns(int width) {
    // Field, Value and Meaning share the dock, so that Meaning is never off to the
    // right behind a scroll bar.
    QTreeWidget *fields = m_inspector->fieldTree();
    const int available = std::max(width - 24, 240);
    fields->setColumnWidth(0, available * 36 / 100);
    fields->setColumnWidth(1, available * 28 / 100);
    fields->header()->setStretchLastSection(true);
}

void MainWindow::resizeEvent(QResizeEvent *event) {
    QMainWindow::resizeEvent(event);
    const int oldWidth = event->oldSize().width();
    if (!m_shownOnce || oldWidth <= 0 || oldWidth == width())
        return;
    // QMainWindow hands every pixel of a resize to the log; the side docks keep
    // their share instead, so a maximised window has a wider inspector too.
    QList<QDockWidget *> docks;
    QList<int> widths;
    for (QDockWidget *dock : {m_connectionsDock, m_inspectorDock}) {
        if (dock->isVisible() && !dock->isFloating() &&
            dockWidgetArea(dock) != Qt::BottomDockWidgetArea) {
            docks.append(dock);
            widths.append(dock->width() * width() / oldWidth);
        }
    }
    if (!docks.isEmpty())
        resizeDocks(docks, widths, Qt::Horizontal);
}

void MainWindow::setVisible(bool visible) {
    // The first layout fits the size the window is about to be shown at: shown with
    // the wide layout first, a 1024-pixel window would grow to that layout's minimum.
    if (visible && !m_shownOnce && !m_layoutRestored && !isVisible())
        resetLayout();
    QMainWindow::setVisible(visible);
}

void MainWindow::showEvent(QShowEvent *event) {
    QMainWindow::showEvent(event);
    if (!m_shownOnce && !m_layoutRestored) {
        resetLayout();
        // Once more when the window has its final size (a window manager may resize it).
        QTimer::singleShot(0, this, &MainWindow::resetLayout);
    }
    m_shownOnce = true;
}

void MainWindow::restoreSettings() {
    const QSettings settings;
    if (!restoreGeometry(settings.value(GeometryKey).toByteArray()))
        resize(1400, 900);
    m_layoutRestored = restoreState(settings.value(StateKey).toByteArray(), LayoutVersion);
}

void MainWindow::saveSettings() const {
    QSettings settings;
    settings.setValue(GeometryKey, saveGeometry());
    settings.setValue(StateKey, saveState(LayoutVersion));
    m_serverPanel->saveSettings();
    m_probePanel->saveSettings();
    m_relayPanel->saveSettings();
}

NewConnectionDialog *MainWindow::newConnection() {
    auto *dialog = new NewConnectionDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this,
            [this, dialog] { openConnection(dialog->options()); });
    dialog->open();
    return dialog;
}

quint32 MainWindow::openConnection(const ClientOptions &options) {
    const quint32 id = m_hub->openClient(options);
    showLog();
    m_connections->select(id);
    noteConnecting(id, options.url.toString());
    return id;
}

void MainWindow::noteConnecting(quint32 id, const QString &url) {
    const EndpointInfo *info = m_hub->info(id);
    // A connection refused at once is already over: nothing to announce.
    if (!info || info->finished || info->state != SessionState::Connecting)
        return;
    m_connectingId = id;
    m_connectingMessage = tr("Connecting to %1\u2026").arg(url);
    statusBar()->showMessage(m_connectingMessage, ErrorMessageMs);
}

void MainWindow::clearStatusIf(const QString &message) {
    if (!message.isEmpty() && statusBar()->currentMessage() == message)
        statusBar()->clearMessage();
}

void MainWindow::setWelcomePort(quint16 port) {
    m_welcomePort = port;
    const QString text = tr("Host an echo server on 127.0.0.1:%1 and connect to it").arg(port);
    m_welcomeEcho->setText(text);
    m_hostEcho->setToolTip(text);
}

quint32 MainWindow::hostEchoAndConnect() {
    bool portTaken = false;
    if (!m_serverPanel->isRunning()) {
        ServerOptions options = m_serverPanel->options();
        options.bindAddress = QHostAddress(QHostAddress::LocalHost);
        options.mode = ServerOptions::Mode::Echo;
        options.allowedOrigins.clear();
        options.port = m_welcomePort;
        if (!m_serverPanel->start(options)) {
            // Port 9001 is popular: any free port still gives a working echo.
            options.port = 0;
            if (!m_serverPanel->start(options))
                return 0;
            portTaken = true;
        }
    }
    ClientOptions client;
    // Compression as the new-connection dialog last had it; and offered whenever the
    // server accepts it, so that turning it on in the Server panel shows it here.
    client.deflate = NewConnectionDialog::savedDeflate();
    const Server *server = m_hub->server(m_serverPanel->serverId());
    if (server && server->options().deflate.policy != DeflatePolicy::Refuse)
        client.deflate.policy = DeflatePolicy::Offer;
    const bool secure = server && server->options().isSecure();
    client.url = QUrl(QStringLiteral("%1://127.0.0.1:%2/")
                          .arg(secure ? QLatin1String("wss") : QLatin1String("ws"))
                          .arg(m_serverPanel->boundPort()));
    // Our own server's certificate: trusting exactly it is no leap of faith.
    if (secure)
        client.acceptedFingerprint =
            server->options().tlsCertificate.digest(QCryptographicHash::Sha256);
    const quint32 id = openConnection(client);
    if (portTaken) {
        statusBar()->showMessage(tr("Port %1 is taken; the echo server listens on %2")
                                     .arg(m_welcomePort)
                                     .arg(m_serverPanel->boundPort()),
                                 10'000);
    }
    return id;
}

void MainWindow::onEndpointAdded() {
    showLog();
    scheduleEndpointUpdate();
}

void MainWindow::scheduleEndpointUpdate() {
    if (!m_endpointUpdate.isActive())
        m_endpointUpdate.start();
}

void MainWindow::onErrorReported(quint32 id, const QString &message) {
    const EndpointInfo *info = m_hub->info(id);
    QString text = info ? tr("%1: %2").arg(info->name, message) : message;
    if (info && !info->rejectedChain.isEmpty())
        text += tr(" \u2014 Connection \u25B8 Trust this certificate\u2026 shows it");
    statusBar()->showMessage(text, ErrorMessageMs);
}

void MainWindow::updateScope() {
    const quint32 previousScope = m_scope;
    m_scope = m_connections->selectedId();
    const EndpointInfo *info = m_hub->info(m_scope);
    QSet<quint32> filter;
    QList<quint32> targets;
    QString description;
    if (!info) {
        // "All": send to the newest open client connection, else the newest open
        // client of a hosted server.
        const QList<quint32> ids = m_hub->clientIds();
        for (const EndpointInfo::Kind kind :
             {EndpointInfo::Kind::Client, EndpointInfo::Kind::ServerClient}) {
            for (auto it = ids.crbegin(); it != ids.crend() && targets.isEmpty(); ++it) {
                const EndpointInfo *candidate = m_hub->info(*it);
                if (candidate->kind == kind && m_hub->isOpen(*it)) {
                    targets.append(*it);
                    description = candidate->name;
                }
            }
        }
    } else if (info->kind == EndpointInfo::Kind::Server) {
        filter.insert(m_scope);
        for (const quint32 id : m_hub->clientsOf(m_scope)) {
            filter.insert(id);
            if (m_hub->isOpen(id))
                targets.append(id);
        }
        description = tr("every peer of %1").arg(info->name);
    } else if (info->kind == EndpointInfo::Kind::Relay ||
               info->kind == EndpointInfo::Kind::RelayPair) {
        // Both legs of every pair below; sending picks one leg, so nothing is a target.
        filter.insert(m_scope);
        for (const quint32 id : m_hub->descendantsOf(m_scope))
            filter.insert(id);
        description = tr("select a leg of %1 to send on it").arg(info->name);
    } else {
        filter.insert(m_scope);
        targets.append(m_scope);
        description = info->name;
    }
    // The connections the hub forgot below the node shown (a relay's oldest finished
    // pairs, a server's oldest clients: ConnectionHub::finishedKept()) keep their rows
    // in the log, and in its scope while that node stays selected.
    if (!info || m_scope != previousScope)
        m_forgottenInScope.clear();
    for (const quint32 id : m_forgottenInScope)
        filter.insert(id);
    if (filter != m_logPanel->proxy()->connectionFilter()) {
        m_logPanel->proxy()->setConnectionFilter(filter);
        // The inspector follows the log's selection when it is still shown, and
        // otherwise shows nothing rather than a record of another scope.
        const qsizetype current = m_logPanel->view()->currentStoreIndex();
        if (current >= 0)
            onCurrentRecord(current);
        else if (m_inspector->hasRecord() && !filter.isEmpty() &&
                 !filter.contains(m_inspector->record().connection))
            m_inspector->clear();
    }
    if (targets != m_sendBox->targets() || description != m_sendBox->targetLabel()->text()) {
        // "Not sent: client 8" says nothing about client 9.
        if (targets != m_sendBox->targets()) {
            clearStatusIf(m_sendMessage);
            m_sendMessage.clear();
        }
        m_sendBox->setTargets(targets, description);
    }
    m_chart->setScope(filter.values());
}

void MainWindow::updateStatus() {
    const int live = m_hub->liveConnectionCount();
    const int shown = m_logPanel->proxy()->rowCount();
    const int total = m_log->rowCount();
    m_statusLabel->setText(
        shown == total
            ? tr("%n row(s)", nullptr, total) + tr(" \u00b7 %n open", nullptr, live)
            : tr("%1 of %2 rows").arg(shown).arg(total) + tr(" \u00b7 %n open", nullptr, live));
}

void MainWindow::onCurrentRecord(qsizetype storeIndex) {
    if (storeIndex < 0 || storeIndex >= m_log->store().size()) {
        m_inspector->clear();
        return;
    }
    m_inspector->setRecord(m_log->store(), storeIndex);
    const log::LogRecord &record = m_log->store().at(storeIndex);
    const EndpointInfo *info = m_hub->info(record.connection);
    if (record.kind == log::LogKind::Handshake && info && info->tls)
        m_inspector->showConnectionTls(*info->tls);
    if (info && info->kind == EndpointInfo::Kind::RelayLeg) {
        const EndpointInfo *clientLeg = m_hub->info(m_hub->legOf(info->parentId, log::Leg::Client));
        const EndpointInfo *serverLeg = m_hub->info(m_hub->legOf(info->parentId, log::Leg::Server));
        m_inspector->showRelayLegs(info->leg, clientLeg ? clientLeg->deflate : QString(),
                                   serverLeg ? serverLeg->deflate : QString());
    }
}

void MainWindow::resend(qsizetype storeIndex) {
    if (storeIndex < 0 || storeIndex >= m_log->store().size())
        return;
    const log::LogRecord &record = m_log->store().at(storeIndex);
    quint32 target = record.connection;
    if (!m_hub->isOpen(target)) {
        const QList<quint32> targets = m_sendBox->targets();
        target = targets.isEmpty() ? 0 : targets.constFirst();
    }
    SendError result = SendError::NotOpen;
    if (target != 0) {
        switch (record.kind) {
        case log::LogKind::Text:
            result = m_hub->sendText(target, record.payload);
            break;
        case log::LogKind::Binary:
            result = m_hub->sendBinary(target, record.payload);
            break;
        case log::LogKind::Ping:
            result = m_hub->sendPing(target, record.payload);
            break;
        default:
            return;
        }
    }
    const EndpointInfo *info = m_hub->info(target);
    statusBar()->showMessage(
        result == SendError::None
            ? tr("Resent %n byte(s) to %1", nullptr, int(record.payload.size()))
                  .arg(info ? info->name : QString())
            : tr("Not resent: %1").arg(QString::fromUtf8(sendErrorText(result))),
        8000);
}

namespace {

RelayLegKind relayLegKind(log::Leg leg) {
    return leg == log::Leg::Client ? RelayLegKind::Client : RelayLegKind::Server;
}

std::optional<Opcode> resendOpcode(log::LogKind kind) {
    switch (kind) {
    case log::LogKind::Text:
        return Opcode::Text;
    case log::LogKind::Binary:
        return Opcode::Binary;
    case log::LogKind::Ping:
        return Opcode::Ping;
    default:
        return std::nullopt;
    }
}

} // namespace

QString MainWindow::relayResendBlocker(qsizetype storeIndex, log::Leg to) const {
    if (storeIndex < 0 || storeIndex >= m_log->store().size())
        return tr("No such row");
    const EndpointInfo *leg = m_hub->info(m_log->store().at(storeIndex).connection);
    // A log opened from a file names legs too, but no relay of this window has them.
    if (!leg || leg->kind != EndpointInfo::Kind::RelayLeg)
        return tr("This pair is not relayed by this window (a log read from a file)");
    const EndpointInfo *pair = m_hub->info(leg->parentId);
    if (!pair || pair->finished || !m_hub->relay(leg->parentId))
        return tr("The pair has ended");
    const EndpointInfo *target = m_hub->info(m_hub->legOf(leg->parentId, to));
    if (!target || target->finished || target->state != SessionState::Open)
        return tr("The %1 leg of the pair is not open").arg(QLatin1String(log::legName(to)));
    return {};
}

void MainWindow::resendToLeg(qsizetype storeIndex, log::Leg to) {
    QString blocker = relayResendBlocker(storeIndex, to);
    const log::LogRecord *record = blocker.isEmpty() ? &m_log->store().at(storeIndex) : nullptr;
    const std::optional<Opcode> opcode = record ? resendOpcode(record->kind) : std::nullopt;
    if (record && (!opcode || !LogPanel::carriesWholePayload(*record)))
        blocker = tr("only a whole message or a ping can be sent again");
    if (blocker.isEmpty()) {
        const quint32 pairId = m_hub->info(record->connection)->parentId;
        // A copy: what the relay logs as it sends may drop the oldest records.
        const QByteArray payload = record->payload;
        if (m_hub->relay(pairId)->resend(m_hub->relayPairNumber(pairId), relayLegKind(to), *opcode,
                                         payload)) {
            statusBar()->showMessage(
                tr("Resent %n byte(s) to the %1 of %2", nullptr, int(payload.size()))
                    .arg(QLatin1String(log::legName(to)), m_hub->info(pairId)->name),
                8000);
            return;
        }
        blocker = tr("that leg of the pair is not open");
    }
    statusBar()->showMessage(tr("Not resent: %1").arg(blocker), 8000);
}

void MainWindow::loadInjectFromLog() {
    const qsizetype index = m_logPanel->view()->currentStoreIndex();
    const log::LogRecord *record =
        index >= 0 && index < m_log->store().size() ? &m_log->store().at(index) : nullptr;
    const EndpointInfo *leg = record ? m_hub->info(record->connection) : nullptr;
    const EndpointInfo *pair = leg ? m_hub->info(leg->parentId) : nullptr;
    const std::optional<Opcode> opcode = record ? resendOpcode(record->kind) : std::nullopt;
    if (!pair || leg->kind != EndpointInfo::Kind::RelayLeg || !opcode ||
        !LogPanel::carriesWholePayload(*record) || pair->parentId != m_relayPanel->relayId()) {
        m_relayPanel->reportLoadFailure(
            tr("Select a message or a ping of one of this relay's pairs in the log first"));
        return;
    }
    // It goes on by default the way it went: what the client sent, to the server.
    const bool fromClient = (leg->leg == log::Leg::Client) != record->has(log::LogRecord::Outgoing);
    m_relayPanel->loadInject(leg->parentId,
                             fromClient ? RelayLegKind::Server : RelayLegKind::Client, *opcode,
                             record->payload);
}

bool MainWindow::saveLog(const QString &path, QString *error) {
    return m_logFiles->saveLog(path, error);
}

bool MainWindow::exportHar(const QString &path, QString *error) {
    return m_logFiles->exportHar(path, error);
}

MainWindow *MainWindow::openLog(const QString &path, QString *error) {
    return openFile(path, false, error);
}

MainWindow *MainWindow::importHar(const QString &path, QString *error) {
    return openFile(path, true, error);
}

bool MainWindow::holdsWork() const {
    return !m_hub->ids().isEmpty() || m_log->rowCount() > 0 || m_log->store().size() > 0;
}

MainWindow *MainWindow::openFile(const QString &path, bool har, QString *error) {
    MainWindow *target = this;
    std::unique_ptr<MainWindow> beside;
    if (holdsWork()) {
        beside = std::make_unique<MainWindow>();
        beside->m_fileWindow = true;
        beside->setAttribute(Qt::WA_DeleteOnClose);
        beside->setWelcomePort(m_welcomePort);
        beside->resize(size());
        beside->move(pos() + QPoint(48, 48));
        beside->show();
        target = beside.get();
        // Until it has the file, what the load says (a cancel, a failure) is said here.
        connect(target->m_logFiles, &LogFileController::statusMessage, this,
                [this](const QString &message, int timeoutMs) {
                    statusBar()->showMessage(message, timeoutMs);
                });
    }
    const bool loaded =
        har ? target->m_logFiles->importHar(path, error) : target->m_logFiles->openLog(path, error);
    if (beside)
        target->m_logFiles->disconnect(this);
    if (!loaded)
        return nullptr;
    target->setWindowTitle(tr("%1 \u2014 WebSocket Workbench").arg(QFileInfo(path).fileName()));
    if (beside) {
        beside.release();
        target->raise();
        target->activateWindow();
        statusBar()->showMessage(
            tr("Opened %1 in a new window; this window's connections go on").arg(path), 8000);
    }
    return target;
}

QDialog *MainWindow::showHelp(const QString &anchor) {
    auto *dialog = findChild<HelpDialog *>();
    if (!dialog) {
        dialog = new HelpDialog(this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
    }
    dialog->showTopic(anchor);
    dialog->show();
    dialog->raise();
    dialog->activateWindow();
    return dialog;
}

void MainWindow::onLogLoaded() {
    showLog();
    // The file's connections have new ids: a scope on a live connection would hide them.
    m_connections->select(0);
}

void MainWindow::quit() {
    if (m_closing || m_readyToClose || m_quitConfirmed || !m_hub->hasLiveEndpoints()) {
        close();
        return;
    }
    int live = 0;
    for (const quint32 id : m_hub->ids()) {
        const EndpointInfo *info = m_hub->info(id);
        live += info->isLive() ? 1 : 0;
    }
    if (findChild<QMessageBox *>(QStringLiteral("quitConfirmation")))
        return;
    auto *box = new QMessageBox(QMessageBox::Question, tr("Quit WebSocket Workbench"),
                                tr("%n connection(s) or server(s) are still live.", nullptr, live),
                                QMessageBox::NoButton, this);
    box->setObjectName(QStringLiteral("quitConfirmation"));
    box->setInformativeText(
        tr("Quitting closes them with 1001 (going away). Save the log first if you need it."));
    QPushButton *quitButton = box->addButton(tr("&Quit"), QMessageBox::AcceptRole);
    box->addButton(QMessageBox::Cancel);
    box->setDefaultButton(QMessageBox::Cancel);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setWindowModality(Qt::WindowModal);
    connect(box, &QMessageBox::finished, this, [this, box, quitButton] {
        if (box->clickedButton() != quitButton)
            return;
        m_quitConfirmed = true;
        close();
    });
    box->open();
}

void MainWindow::closeEvent(QCloseEvent *event) {
    // The window manager's close button asks as Quit does; a close() from the
    // program (tests, the session ending) does not.
    if (event->spontaneous() && !m_quitConfirmed && !m_closing && m_hub->hasLiveEndpoints()) {
        event->ignore();
        quit();
        return;
    }
    if (m_readyToClose || !m_hub->hasLiveEndpoints()) {
        if (!m_fileWindow)
            saveSettings();
        event->accept();
        return;
    }
    // RFC 6455 §7.1.2: say goodbye (1001 going away), wait a little, then go anyway.
    event->ignore();
    if (m_closing)
        return;
    m_closing = true;
    statusBar()->showMessage(tr("Closing connections with 1001 (going away)\u2026"));
    connect(m_hub, &ConnectionHub::allClosed, this, &MainWindow::finishClose, Qt::UniqueConnection);
    m_closeTimer.start(CloseGraceMs);
    m_hub->closeAll(toWire(CloseCode::GoingAway), tr("workbench closed"));
}

void MainWindow::finishClose() {
    if (m_readyToClose)
        return;
    m_readyToClose = true;
    m_closeTimer.stop();
    m_hub->abortAll();
    // Not from inside closeEvent(): dropping a connection that is still connecting
    // finishes it at once, so allClosed() can arrive while the close event that
    // started all this is being handled, and a nested close() would be lost.
    QTimer::singleShot(0, this, [this] { close(); });
}

} // namespace ws

// The Relay panel in the window: a reverse relay started from the panel in front of
// the window's own echo server, our client and python3-websockets talking through
// it, both legs in the log and the tree, the `leg` filter, the inspector on either
// leg, settings kept, and a start that fails said in the panel. In proxy mode, our
// client reaches the echo server through the panel's proxy (a CONNECT tunnel): the
// pair with its target, both legs, intercept, blind hosts and the certificate
// authority's dialog. wss toward the clients with the generated localhost certificate
// or the user's; intercept rules that mean what the same filter shows in the log. A
// logged message sent again to either side of a pair, from the log's context menu and
// from the Inject tab; with permessage-deflate on one leg only, that leg's rows give
// both sizes. Offscreen, 127.0.0.1.

#include "connections/connectionhub.h"
#include "dialogs/pairfaultsdialog.h"
#include "guitesthelpers.h"
#include "models/connectionsmodel.h"
#include "models/heldmessagesmodel.h"
#include "models/logfilterproxy.h"
#include "net/certificateauthority.h"
#include "net/tlscertificate.h"
#include "widgets/displayfilteredit.h"
#include "widgets/frameinspector.h"
#include "widgets/listeningtlsedit.h"
#include "widgets/messagelogview.h"
#include "widgets/relayfaultsedit.h"
#include "windows/connectionspanel.h"
#include "windows/logpanel.h"
#include "windows/relaypanel.h"
#include "windows/sendbox.h"
#include "windowtestmain.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDialog>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QFile>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QPlainTextEdit>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QSslCertificate>
#include <QStatusBar>
#include <QTableView>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QToolButton>
#include <QTreeView>
#include <QTreeWidgetItem>

#include <memory>

using namespace ws;
using namespace ws::log;
using namespace wstest;

namespace {

constexpr int WaitMs = 10'000;

// Sends one text through the relay with python3-websockets (Debian's; it offers
// permessage-deflate), prints the echo and closes with 1000.
const char PythonClient[] = R"(
import asyncio, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1], open_timeout=5, close_timeout=5) as ws:
        await ws.send("from python")
        print(await asyncio.wait_for(ws.recv(), 5), flush=True)
        print(ws.response_headers.get("Sec-WebSocket-Extensions", "none"), flush=True)
asyncio.run(main())
)";

// The relay's newest pair (its only one, in most tests) and its legs, once all three
// are in the tree.
struct PairNodes {
    quint32 pair = 0;
    quint32 client = 0;
    quint32 server = 0;
};

PairNodes newestPair(const ConnectionHub &hub, quint32 relayId) {
    PairNodes nodes;
    const QList<quint32> below = hub.descendantsOf(relayId);
    for (const quint32 id : below) {
        const EndpointInfo *info = hub.info(id);
        if (info->kind == EndpointInfo::Kind::RelayPair)
            nodes.pair = id;
    }
    nodes.client = hub.legOf(nodes.pair, Leg::Client);
    nodes.server = hub.legOf(nodes.pair, Leg::Server);
    return nodes;
}

// A window whose relay (without deflate) stands in front of its echo server, and our
// client connected through it.
struct RelayedClient {
    std::unique_ptr<MainWindow> window;
    RelayPanel *panel = nullptr;
    ConnectionHub *hub = nullptr;
    MessageLogModel *log = nullptr;
    QString url;        // the relay's
    quint32 client = 0; // open
    PairNodes nodes;    // the relay's one pair
};

// How many records of `connection` `match` accepts.
int countRecords(const MessageLogModel &log, quint32 connection, const RecordMatch &match) {
    int count = 0;
    for (qsizetype i = 0; i < log.store().size(); ++i) {
        const LogRecord &record = log.store().at(i);
        count += record.connection == connection && match(record) ? 1 : 0;
    }
    return count;
}

// The Staged notes of `connection` that say a message was sent again.
RecordMatch resentNote() {
    return [](const LogRecord &r) {
        return r.kind == LogKind::Note && r.payload.contains("sent again");
    };
}

// The one client of the window's echo server (the relay's upstream connection).
quint32 echoPeer(const MainWindow &window) {
    const QList<quint32> peers = window.hub()->clientsOf(window.serverPanel()->serverId());
    return peers.size() == 1 ? peers.constFirst() : 0;
}

// Every connection id the proxy shows.
QSet<quint32> connectionsShown(const LogFilterProxy &proxy) {
    QSet<quint32> ids;
    for (int row = 0; row < proxy.rowCount(); ++row)
        ids.insert(proxy.index(row, 0).data(MessageLogModel::ConnectionRole).toUInt());
    return ids;
}

} // namespace

class TestRelayPanel : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();
    void bothLegsInLogTreeFilterAndInspector();
    void interleavedPairsKeepToTheirOwnLegs();
    void forgottenPairsKeepTheirRowsInTheScope();
    void finishedKeptIsRemembered();
    void pythonClientThroughTheRelay();
    void settingsPersist();
    void startFailureIsShownInThePanel();
    void wssWithTheGeneratedCertificate();
    void wssWithOwnCertificateAndKey();
    void interceptRuleMeansWhatTheLogShows();
    void interceptHoldEditReleaseDrop();
    void injectFaultsAndCut();
    void pairFaultsFromTheTree();
    void faultSeedKeptAndUsed();
    void logColumnsFitA1024Window();
    void resendToEitherSide();
    void bothSizesWithDeflateOnOneLeg();
    void proxyModePairsInterceptAndCertificateAuthority();
    void proxyBlindHostsAndStartFailure();
    void proxySettingsPersist();

private:
    std::unique_ptr<MainWindow> createWindow();
    // Starts the window's echo server and the panel's relay in front of it; the
    // relay's listening URL, empty on failure.
    QString startRelayToEcho(MainWindow &window, bool deflateBothLegs);
    // The same with permessage-deflate on each leg as given.
    QString startRelayToEcho(MainWindow &window, bool clientDeflate, bool serverDeflate);
    // Our client connected to the relay at `url`: its id once open, else 0.
    quint32 openThroughRelay(MainWindow &window, const QString &url);
    // A new window with the relay started in front of its echo server; with `connect`,
    // our client connected through it too (connectRelayed()). False when a step fails.
    bool startRelayed(RelayedClient &relayed, bool connect = true);
    bool connectRelayed(RelayedClient &relayed);
    // Starts the window's echo server and the panel in proxy mode with its certificate
    // authority in `caDirectory`; the echo server's URL, empty on failure.
    QString startProxyBesideEcho(MainWindow &window, const QString &caDirectory);
    // Our client to `url` through the panel's proxy: its id once open, else 0.
    quint32 openThroughProxy(MainWindow &window, const QString &url);

    QTemporaryDir m_settingsDir;
};

void TestRelayPanel::initTestCase() {
    QVERIFY(m_settingsDir.isValid());
    QVERIFY(setUpWindowTests(m_settingsDir.path(), QStringLiteral("tst_relaypanel")));
}

void TestRelayPanel::init() {
    QSettings().clear();
}

void TestRelayPanel::cleanup() {
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
}

std::unique_ptr<MainWindow> TestRelayPanel::createWindow() {
    auto window = std::make_unique<MainWindow>();
    window->show();
    if (!QTest::qWaitForWindowExposed(window.get()))
        return nullptr;
    return window;
}

QString TestRelayPanel::startRelayToEcho(MainWindow &window, bool deflateBothLegs) {
    return startRelayToEcho(window, deflateBothLegs, deflateBothLegs);
}

QString TestRelayPanel::startRelayToEcho(MainWindow &window, bool clientDeflate,
                                         bool serverDeflate) {
    const quint16 echoPort = startEchoServer(window);
    if (!echoPort)
        return {};
    RelayPanel *panel = window.relayPanel();
    panel->addressEdit()->setText(QStringLiteral("127.0.0.1"));
    panel->portSpin()->setValue(0);
    panel->targetEdit()->setText(QStringLiteral("ws://127.0.0.1:%1/").arg(echoPort));
    panel->clientDeflateCheck()->setChecked(clientDeflate);
    panel->serverDeflateCheck()->setChecked(serverDeflate);
    QTest::mouseClick(panel->startButton(), Qt::LeftButton);
    return panel->listeningUrl();
}

void TestRelayPanel::bothLegsInLogTreeFilterAndInspector() {
    const auto window = createWindow();
    QVERIFY(window);
    const QString url = startRelayToEcho(*window, false);
    QVERIFY2(!url.isEmpty(), qPrintable(window->relayPanel()->errorLabel()->text()));
    RelayPanel *panel = window->relayPanel();
    QVERIFY(panel->isRunning());
    QVERIFY(panel->errorLabel()->isHidden());
    QCOMPARE(panel->startButton()->text(), QStringLiteral("Stop"));
    QVERIFY(panel->statusLabel()->text().contains(url));
    ConnectionHub *hub = window->hub();
    const quint32 relayId = panel->relayId();

    // Our own client, pointed at the relay.
    ClientOptions options;
    options.url = QUrl(url + QStringLiteral("chat?room=1"));
    const quint32 client = window->openConnection(options);
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(client), WaitMs);
    QCOMPARE(hub->sendText(client, "hello relay"), SendError::None);
    MessageLogModel *log = window->logModel();
    QVERIFY(waitForRecord(*log, client, incoming(LogKind::Text, "hello relay"), WaitMs) >= 0);

    // The tree: one pair under the relay, its two legs under it.
    const PairNodes nodes = newestPair(*hub, relayId);
    QVERIFY(nodes.pair && nodes.client && nodes.server);
    ConnectionsModel *tree = window->connectionsPanel()->model();
    const QModelIndex relayIndex = tree->indexOf(relayId);
    // The tree takes new nodes in batches, on a timer of its own.
    QTRY_COMPARE_WITH_TIMEOUT(tree->rowCount(relayIndex), 1, WaitMs);
    const QModelIndex pairIndex = tree->index(0, 0, relayIndex);
    QCOMPARE(tree->idOf(pairIndex), nodes.pair);
    QCOMPARE(tree->rowCount(pairIndex), 2);
    QCOMPARE(tree->idOf(tree->index(0, 0, pairIndex)), nodes.client);
    QCOMPARE(tree->idOf(tree->index(1, 0, pairIndex)), nodes.server);
    QCOMPARE(tree->index(0, 0, pairIndex).data().toString(), QStringLiteral("client leg"));
    QCOMPARE(tree->index(1, 0, pairIndex).data().toString(), QStringLiteral("server leg"));
    QCOMPARE(tree->index(0, 0, pairIndex).data(ConnectionsModel::NameRole).toString(),
             QStringLiteral("relay 1 #1 client"));
    // The panel lists the same pair.
    QCOMPARE(panel->pairList()->model()->rowCount(panel->pairList()->rootIndex()), 1);

    // Both legs carried the message each way: what the client sent came in on the
    // client leg and went out on the server leg; the echo came back the other way.
    const qsizetype fromClient =
        waitForRecord(*log, nodes.client, incoming(LogKind::Text, "hello relay"), WaitMs);
    const qsizetype toServer = waitForRecord(*log, nodes.server, outgoing(LogKind::Text), WaitMs);
    const qsizetype fromServer =
        waitForRecord(*log, nodes.server, incoming(LogKind::Text, "hello relay"), WaitMs);
    const qsizetype toClient = waitForRecord(*log, nodes.client, outgoing(LogKind::Text), WaitMs);
    QVERIFY(fromClient >= 0 && toServer >= 0 && fromServer >= 0 && toClient >= 0);
    QCOMPARE(log->store().at(toServer).payload, QByteArray("hello relay"));
    // The upstream was asked for the client's own path and query.
    QTRY_COMPARE_WITH_TIMEOUT(hub->info(nodes.pair)->state, SessionState::Open, WaitMs);
    QCOMPARE(log->store().connectionLeg(nodes.server), Leg::Server);
    // Each leg counts what it received and what the relay sent on it.
    QTRY_COMPARE(hub->info(nodes.client)->messagesIn, 1);
    QTRY_COMPARE(hub->info(nodes.client)->messagesOut, 1);
    QCOMPARE(hub->info(nodes.server)->messagesIn, 1);
    QCOMPARE(hub->info(nodes.server)->messagesOut, 1);
    QCOMPARE(log->store().connectionName(nodes.server), QStringLiteral("relay 1 #1 server"));

    // Each leg's rows say which way they went.
    log->flush();
    LogFilterProxy *proxy = window->logPanel()->proxy();
    window->connectionsPanel()->select(0);
    QVERIFY(proxy->setDisplayFilter(QStringLiteral("leg == server")));
    QTRY_VERIFY(!proxy->isBusy());
    QVERIFY(proxy->rowCount() >= 3); // handshake, the message, its echo
    QCOMPARE(connectionsShown(*proxy), QSet<quint32>{nodes.server});
    QStringList directions;
    for (int row = 0; row < proxy->rowCount(); ++row)
        directions.append(proxy->index(row, MessageLogModel::DirectionColumn).data().toString());
    QVERIFY2(directions.contains(QStringLiteral("\u2192 to server")),
             qPrintable(directions.join('|')));
    QVERIFY(directions.contains(QStringLiteral("\u2190 from server")));
    QVERIFY(proxy->setDisplayFilter(
        QStringLiteral("leg == client && dir == in && text == \"hello relay\"")));
    // One row: the frame the client sent and its message are one record on its leg,
    // although the relay forwarded the frame before the leg reported the message.
    QCOMPARE(proxy->rowCount(), 1);
    QCOMPARE(proxy->storeIndex(0), fromClient);
    QCOMPARE(proxy->index(0, MessageLogModel::DirectionColumn).data().toString(),
             QStringLiteral("\u2190 from client"));
    // Our client is no leg: `leg == none` keeps it and drops both legs.
    QVERIFY(proxy->setDisplayFilter(QStringLiteral("leg == none")));
    QVERIFY(connectionsShown(*proxy).contains(client));
    QVERIFY(!connectionsShown(*proxy).contains(nodes.client));
    QVERIFY(!connectionsShown(*proxy).contains(nodes.server));
    QVERIFY(proxy->setDisplayFilter(QString()));

    // The inspector shows a leg's frame as any other: select the server leg's echo.
    QVERIFY(window->logPanel()->view()->selectStoreIndex(fromServer));
    QTRY_VERIFY(window->inspector()->hasRecord());
    QCOMPARE(window->inspector()->record().connection, nodes.server);
    QCOMPARE(window->inspector()->record().payload, QByteArray("hello relay"));
    QVERIFY(window->logPanel()->view()->selectStoreIndex(fromClient));
    QTRY_COMPARE(window->inspector()->record().connection, nodes.client);
    // The client's frame was masked on its leg (RFC 6455 §5.3), and the inspector says so.
    QVERIFY(window->inspector()->record().headerByte1 & MaskBit);

    // With a leg selected the send box sends on that leg: to the client directly, or
    // to the server, whose echo the relay forwards to the client.
    window->connectionsPanel()->select(nodes.client);
    QCOMPARE(window->sendBox()->targets(), QList<quint32>{nodes.client});
    QCOMPARE(hub->sendText(nodes.client, "to the client"), SendError::None);
    QVERIFY(waitForRecord(*log, client, incoming(LogKind::Text, "to the client"), WaitMs) >= 0);
    QCOMPARE(hub->sendText(nodes.server, "to the server"), SendError::None);
    QVERIFY(waitForRecord(*log, nodes.server, incoming(LogKind::Text, "to the server"), WaitMs) >=
            0);
    QVERIFY(waitForRecord(*log, client, incoming(LogKind::Text, "to the server"), WaitMs) >= 0);

    // A large message goes on in pieces as it arrives, and is logged once whole, on
    // both legs, both ways, and counted.
    const int clientLegIn = hub->info(nodes.client)->messagesIn;
    const int serverLegOut = hub->info(nodes.server)->messagesOut;
    QByteArray large(200000, Qt::Uninitialized);
    for (qsizetype i = 0; i < large.size(); ++i)
        large[i] = char(i % 241);
    QCOMPARE(hub->sendBinary(client, large), SendError::None);
    QVERIFY(waitForRecord(*log, client, incoming(LogKind::Binary, large), WaitMs) >= 0);
    for (const quint32 leg : {nodes.client, nodes.server}) {
        QVERIFY(waitForRecord(*log, leg, incoming(LogKind::Binary, large), WaitMs) >= 0);
        const qsizetype sent = waitForRecord(*log, leg, outgoing(LogKind::Binary), WaitMs);
        QVERIFY(sent >= 0);
        QVERIFY(log->store().at(sent).payload == large);
    }
    QCOMPARE(hub->info(nodes.client)->messagesIn, clientLegIn + 1);
    QCOMPARE(hub->info(nodes.server)->messagesOut, serverLegOut + 1);

    // Selecting the pair scopes the log to both legs.
    window->connectionsPanel()->select(nodes.pair);
    QTRY_COMPARE(connectionsShown(*proxy), (QSet<quint32>{nodes.client, nodes.server}));

    // Stop: every pair closed with 1001 on both legs, the client hears it.
    QTest::mouseClick(panel->startButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!panel->isRunning(), WaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(client)->finished, WaitMs);
    QCOMPARE(hub->info(client)->closeCode, std::optional<quint16>(1001));
    QVERIFY(hub->info(client)->cleanClose);
    QCOMPARE(panel->statusLabel()->text(), QStringLiteral("Stopped"));
    QCOMPARE(panel->startButton()->text(), QStringLiteral("Start"));
    QVERIFY(hub->info(nodes.pair)->finished);
    QVERIFY(hub->info(nodes.server)->finished);
    closeWindow(*window);
}

void TestRelayPanel::forgottenPairsKeepTheirRowsInTheScope() {
    // The relay keeps its newest finished pairs in the tree; the rows of those it
    // forgets stay in the log, and in the relay's scope while it is selected.
    const auto window = createWindow();
    QVERIFY(window);
    const QString url = startRelayToEcho(*window, false);
    QVERIFY(!url.isEmpty());
    ConnectionHub *hub = window->hub();
    hub->setFinishedKept(2);
    const quint32 relayId = window->relayPanel()->relayId();
    window->connectionsPanel()->select(relayId);
    LogFilterProxy *proxy = window->logPanel()->proxy();
    MessageLogModel *log = window->logModel();
    QList<quint32> clientLegs;
    for (int i = 0; i < 4; ++i) {
        ClientOptions options;
        options.url = QUrl(url);
        const quint32 client = window->openConnection(options);
        // Opening a client selects it: the relay again.
        window->connectionsPanel()->select(relayId);
        QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(client), WaitMs);
        const QByteArray text = "pair " + QByteArray::number(i);
        QCOMPARE(hub->sendText(client, text), SendError::None);
        QVERIFY(waitForRecord(*log, client, incoming(LogKind::Text, text), WaitMs) >= 0);
        const PairNodes nodes = newestPair(*hub, relayId);
        QVERIFY(nodes.client);
        clientLegs.append(nodes.client);
        QCOMPARE(hub->sendClose(client, 1000, {}), SendError::None);
        QTRY_VERIFY_WITH_TIMEOUT(hub->info(nodes.pair) && hub->info(nodes.pair)->finished, WaitMs);
    }
    // Four finished, two and one more kept: the oldest went, with its legs.
    QVERIFY(!hub->info(clientLegs.at(0)));
    QVERIFY(hub->info(clientLegs.at(3)));
    QCOMPARE(window->connectionsPanel()->selectedId(), relayId);
    QTRY_VERIFY(proxy->connectionFilter().contains(clientLegs.at(0)));
    log->flush();
    QTRY_VERIFY(connectionsShown(*proxy).contains(clientLegs.at(0)));
    QVERIFY(connectionsShown(*proxy).contains(clientLegs.at(3)));
    closeWindow(*window);
}

void TestRelayPanel::finishedKeptIsRemembered() {
    const auto window = createWindow();
    QVERIFY(window);
    QCOMPARE(window->hub()->finishedKept(), ConnectionHub::DefaultFinishedKept);
    QInputDialog *dialog = window->connectionsPanel()->editFinishedKept();
    QCOMPARE(dialog->intValue(), ConnectionHub::DefaultFinishedKept);
    dialog->setIntValue(250);
    dialog->accept();
    QCOMPARE(window->hub()->finishedKept(), 250);
    closeWindow(*window);

    // A new window keeps as many.
    const auto again = createWindow();
    QVERIFY(again);
    QCOMPARE(again->hub()->finishedKept(), 250);
    // What is not a count is not taken.
    closeWindow(*again);
    QSettings().setValue(QStringLiteral("connections/finishedKept"), QStringLiteral("many"));
    const auto third = createWindow();
    QVERIFY(third);
    QCOMPARE(third->hub()->finishedKept(), ConnectionHub::DefaultFinishedKept);
    closeWindow(*third);
}

void TestRelayPanel::interleavedPairsKeepToTheirOwnLegs() {
    // Frames of two pairs that take turns: each lands on its own legs' rows and
    // counters, though the hub keeps the last leg it saw of each kind at hand.
    const auto window = createWindow();
    QVERIFY(window);
    const QString url = startRelayToEcho(*window, false);
    QVERIFY(!url.isEmpty());
    ConnectionHub *hub = window->hub();
    const quint32 relayId = window->relayPanel()->relayId();
    const quint32 first = openThroughRelay(*window, url);
    const quint32 second = openThroughRelay(*window, url);
    QVERIFY(first && second);
    QList<quint32> pairs;
    for (const quint32 id : hub->descendantsOf(relayId)) {
        if (hub->info(id)->kind == EndpointInfo::Kind::RelayPair)
            pairs.append(id);
    }
    QCOMPARE(pairs.size(), 2);
    constexpr int Rounds = 20;
    for (int i = 0; i < Rounds; ++i) {
        QCOMPARE(hub->sendText(first, "first " + QByteArray::number(i)), SendError::None);
        QCOMPARE(hub->sendText(second, "second " + QByteArray::number(i)), SendError::None);
    }
    MessageLogModel *log = window->logModel();
    QVERIFY(waitForRecord(*log, first,
                          incoming(LogKind::Text, "first " + QByteArray::number(Rounds - 1)),
                          WaitMs) >= 0);
    QVERIFY(waitForRecord(*log, second,
                          incoming(LogKind::Text, "second " + QByteArray::number(Rounds - 1)),
                          WaitMs) >= 0);
    for (const quint32 pair : pairs) {
        const quint32 clientLeg = hub->legOf(pair, Leg::Client);
        const quint32 serverLeg = hub->legOf(pair, Leg::Server);
        QTRY_COMPARE(hub->info(clientLeg)->messagesIn, Rounds);
        QTRY_COMPARE(hub->info(clientLeg)->messagesOut, Rounds);
        QCOMPARE(hub->info(serverLeg)->messagesIn, Rounds);
        QCOMPARE(hub->info(serverLeg)->messagesOut, Rounds);
        // Which client the pair carries, from its first text row; every other row agrees.
        QByteArray prefix;
        for (qsizetype i = 0; i < log->store().size(); ++i) {
            const LogRecord &record = log->store().at(i);
            if ((record.connection != clientLeg && record.connection != serverLeg) ||
                record.kind != LogKind::Text)
                continue;
            const QByteArray owner = record.payload.left(record.payload.indexOf(' '));
            if (prefix.isEmpty())
                prefix = owner;
            QCOMPARE(owner, prefix);
        }
        QVERIFY(prefix == "first" || prefix == "second");
        QCOMPARE(countRecords(*log, clientLeg,
                              [](const LogRecord &r) { return r.kind == LogKind::Text; }),
                 2 * Rounds);
        QCOMPARE(countRecords(*log, serverLeg,
                              [](const LogRecord &r) { return r.kind == LogKind::Text; }),
                 2 * Rounds);
    }

    // What the hub counts as it goes agrees with a walk over every node: live
    // connections, the relay's live pairs (newest last), our clients.
    const auto walked = [hub] {
        int live = 0;
        QList<quint32> clients;
        for (const quint32 id : hub->ids()) {
            const EndpointInfo *info = hub->info(id);
            live += info->isConnection() && info->isLive() ? 1 : 0;
            if (info->kind == EndpointInfo::Kind::Client ||
                info->kind == EndpointInfo::Kind::ServerClient)
                clients.append(id);
        }
        return std::pair{live, clients};
    };
    // Two clients, their pairs' four legs, the echo server's two clients.
    QTRY_COMPARE(hub->liveConnectionCount(), 8);
    QCOMPARE(hub->liveConnectionCount(), walked().first);
    QCOMPARE(hub->clientIds(), walked().second);
    QCOMPARE(hub->livePairsOf(relayId), pairs);
    QCOMPARE(window->relayPanel()->targetPair(), pairs.constLast());
    QCOMPARE(hub->sendClose(first, 1000, QString()), SendError::None);
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(first)->finished, WaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(hub->livePairsOf(relayId).size(), 1, WaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(hub->liveConnectionCount(), 4, WaitMs);
    QCOMPARE(hub->liveConnectionCount(), walked().first);
    QCOMPARE(window->relayPanel()->targetPair(), hub->livePairsOf(relayId).constFirst());
    closeWindow(*window);
}

void TestRelayPanel::pythonClientThroughTheRelay() {
    const auto window = createWindow();
    QVERIFY(window);
    // Deflate on both legs: python3-websockets offers it, and the echo server
    // accepts it once the server panel says so.
    window->serverPanel()->deflateCheck()->setChecked(true);
    const QString url = startRelayToEcho(*window, true);
    QVERIFY(!url.isEmpty());
    ConnectionHub *hub = window->hub();

    QProcess python;
    python.start(QStringLiteral("/usr/bin/python3"),
                 {QStringLiteral("-c"), QString::fromLatin1(PythonClient), url});
    QVERIFY2(python.waitForStarted(5000), "python3 did not start");
    // The relay runs in this process: the event loop must turn while python talks.
    QTRY_VERIFY_WITH_TIMEOUT(python.state() == QProcess::NotRunning, WaitMs * 2);
    const QByteArray output = python.readAllStandardOutput();
    QVERIFY2(python.exitCode() == 0, python.readAllStandardError().constData());
    const QList<QByteArray> lines = output.trimmed().split('\n');
    QCOMPARE(lines.value(0), QByteArray("from python"));
    QVERIFY2(lines.value(1).startsWith("permessage-deflate"), output.constData());

    const PairNodes nodes = newestPair(*hub, window->relayPanel()->relayId());
    QVERIFY(nodes.client && nodes.server);
    MessageLogModel *log = window->logModel();
    QVERIFY(waitForRecord(*log, nodes.client, incoming(LogKind::Text, "from python"), WaitMs) >= 0);
    QVERIFY(waitForRecord(*log, nodes.server, incoming(LogKind::Text, "from python"), WaitMs) >= 0);
    // Compressed on each leg, negotiated per leg.
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(nodes.pair)->finished, WaitMs);
    QVERIFY(hub->info(nodes.client)->deflate.startsWith(QStringLiteral("permessage-deflate")));
    QVERIFY(hub->info(nodes.server)->deflate.startsWith(QStringLiteral("permessage-deflate")));
    QCOMPARE(hub->info(nodes.client)->closeCode, std::optional<quint16>(1000));
    QVERIFY(hub->info(nodes.client)->bytesIn > 0);
    QVERIFY(hub->info(nodes.server)->bytesIn > 0);
    closeWindow(*window);
}

void TestRelayPanel::settingsPersist() {
    const auto window = createWindow();
    QVERIFY(window);
    RelayPanel *panel = window->relayPanel();
    panel->addressEdit()->setText(QStringLiteral("::1"));
    panel->portSpin()->setValue(19002);
    panel->targetEdit()->setText(QStringLiteral("wss://example.invalid:8443/feed"));
    panel->clientDeflateCheck()->setChecked(false);
    panel->serverDeflateCheck()->setChecked(true);
    const QString fingerprint = QStringLiteral(
        "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:"
        "67:89");
    panel->fingerprintEdit()->setText(fingerprint);
    QVERIFY(panel->addressWarning()->isHidden()); // ::1 is loopback
    closeWindow(*window);

    // A new window's panel reads them back.
    const auto again = createWindow();
    QVERIFY(again);
    RelayPanel *reread = again->relayPanel();
    QCOMPARE(reread->addressEdit()->text(), QStringLiteral("::1"));
    QCOMPARE(reread->portSpin()->value(), 19002);
    QCOMPARE(reread->targetEdit()->text(), QStringLiteral("wss://example.invalid:8443/feed"));
    QVERIFY(!reread->clientDeflateCheck()->isChecked());
    QVERIFY(reread->serverDeflateCheck()->isChecked());
    QCOMPARE(reread->fingerprintEdit()->text(), fingerprint);
    QString error;
    const RelayOptions options = reread->options(&error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(options.listenAddress, QHostAddress(QHostAddress::LocalHostIPv6));
    QCOMPARE(options.clientDeflate.policy, DeflatePolicy::Refuse);
    QCOMPARE(options.serverDeflate.policy, DeflatePolicy::Offer);
    QCOMPARE(options.upstream.acceptedFingerprint.size(), 32);
    // Not loopback: said before anything listens.
    reread->addressEdit()->setText(QStringLiteral("0.0.0.0"));
    QVERIFY(!reread->addressWarning()->isHidden());
    closeWindow(*again);
}

void TestRelayPanel::startFailureIsShownInThePanel() {
    const auto window = createWindow();
    QVERIFY(window);
    RelayPanel *panel = window->relayPanel();
    // The Relay tab is in front, as a user who starts it sees it.
    window->relayDock()->raise();
    QTcpServer taken;
    QVERIFY(taken.listen(QHostAddress::LocalHost, 0));
    panel->addressEdit()->setText(QStringLiteral("127.0.0.1"));
    panel->portSpin()->setValue(taken.serverPort());
    panel->targetEdit()->setText(QStringLiteral("ws://127.0.0.1:9/"));
    QTest::mouseClick(panel->startButton(), Qt::LeftButton);
    QVERIFY(!panel->isRunning());
    QCOMPARE(panel->startButton()->text(), QStringLiteral("Start"));
    QTRY_VERIFY(panel->errorLabel()->isVisible());
    QVERIFY2(panel->errorLabel()->text().contains(QString::number(taken.serverPort())),
             qPrintable(panel->errorLabel()->text()));
    QVERIFY(panel->errorLabel()->text().contains(QStringLiteral("Cannot listen")));
    QCOMPARE(panel->statusLabel()->text(), QStringLiteral("Not started"));

    // A target that is no WebSocket URL is refused before anything listens.
    panel->portSpin()->setValue(0);
    panel->targetEdit()->setText(QStringLiteral("http://127.0.0.1:9/"));
    QTest::mouseClick(panel->startButton(), Qt::LeftButton);
    QVERIFY(!panel->isRunning());
    QVERIFY(panel->errorLabel()->text().startsWith(QStringLiteral("Relay to:")));

    // A start that works clears the error.
    taken.close();
    panel->targetEdit()->setText(QStringLiteral("ws://127.0.0.1:9/"));
    QTest::mouseClick(panel->startButton(), Qt::LeftButton);
    QVERIFY(panel->isRunning());
    QVERIFY(panel->errorLabel()->isHidden());
    closeWindow(*window);
}

quint32 TestRelayPanel::openThroughRelay(MainWindow &window, const QString &url) {
    ClientOptions options;
    options.url = QUrl(url);
    const quint32 client = window.openConnection(options);
    return QTest::qWaitFor([&] { return window.hub()->isOpen(client); }, WaitMs) ? client : 0;
}

bool TestRelayPanel::startRelayed(RelayedClient &relayed, bool connect) {
    relayed.window = createWindow();
    if (!relayed.window)
        return false;
    relayed.panel = relayed.window->relayPanel();
    relayed.hub = relayed.window->hub();
    relayed.log = relayed.window->logModel();
    relayed.url = startRelayToEcho(*relayed.window, false);
    if (relayed.url.isEmpty()) {
        qWarning() << "relay not started:" << relayed.panel->errorLabel()->text();
        return false;
    }
    return !connect || connectRelayed(relayed);
}

bool TestRelayPanel::connectRelayed(RelayedClient &relayed) {
    relayed.client = openThroughRelay(*relayed.window, relayed.url);
    if (!relayed.client)
        return false;
    relayed.nodes = newestPair(*relayed.hub, relayed.panel->relayId());
    return true;
}

void TestRelayPanel::wssWithTheGeneratedCertificate() {
    const auto window = createWindow();
    QVERIFY(window);
    window->relayDock()->raise();
    RelayPanel *panel = window->relayPanel();
    ListeningTlsEdit *tls = panel->listeningTlsEdit();
    QCOMPARE(tls->choice(), ListeningTlsEdit::Choice::Off);
    QVERIFY(tls->fingerprintEdit()->isHidden());
    tls->choiceCombo()->setCurrentIndex(
        tls->choiceCombo()->findData(int(ListeningTlsEdit::Choice::Generated)));
    // The certificate `wsw serve --tls` and `wsw relay --tls` use, shown by its
    // fingerprint before anything listens.
    QString error;
    const std::optional<CertificateAndKey> generated = localhostCertificate({}, &error);
    QVERIFY2(generated, qPrintable(error));
    const QString fingerprint = sha256Fingerprint(generated->certificate);
    QVERIFY(!tls->fingerprintEdit()->isHidden());
    QCOMPARE(tls->fingerprintEdit()->text(), fingerprint);
    QCOMPARE(tls->certificateFile(), localhostCertificateFile());
    QVERIFY(!tls->certificateFileEdit()->isVisibleTo(tls));

    const QString url = startRelayToEcho(*window, false);
    QVERIFY2(url.startsWith(QStringLiteral("wss://127.0.0.1:")),
             qPrintable(url + panel->errorLabel()->text()));
    QVERIFY(panel->statusLabel()->text().contains(fingerprint));
    QVERIFY(!tls->isEnabled());
    // Our client trusts that certificate file alone; the echo server behind is ws://.
    ClientOptions options;
    options.url = QUrl(url + QStringLiteral("secure"));
    options.caCertificatesFile = localhostCertificateFile();
    ConnectionHub *hub = window->hub();
    const quint32 client = window->openConnection(options);
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(client), WaitMs);
    QCOMPARE(hub->sendText(client, "over wss"), SendError::None);
    MessageLogModel *log = window->logModel();
    QVERIFY(waitForRecord(*log, client, incoming(LogKind::Text, "over wss"), WaitMs) >= 0);
    const PairNodes nodes = newestPair(*hub, panel->relayId());
    QVERIFY(hub->info(nodes.client)->secure);
    QVERIFY(!hub->info(nodes.server)->secure);
    closeWindow(*window);

    // Remembered: a new window's panel listens with it again.
    const auto again = createWindow();
    QVERIFY(again);
    ListeningTlsEdit *reread = again->relayPanel()->listeningTlsEdit();
    QCOMPARE(reread->choice(), ListeningTlsEdit::Choice::Generated);
    QCOMPARE(reread->fingerprintEdit()->text(), fingerprint);
    QVERIFY(!again->relayPanel()->options().certificate.isNull());
    closeWindow(*again);
}

void TestRelayPanel::wssWithOwnCertificateAndKey() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    CertificateRequest request;
    request.commonName = QStringLiteral("my relay");
    const std::optional<CertificateAndKey> own = generateCertificate(request);
    QVERIFY(own);
    const QString certificateFile = dir.filePath(QStringLiteral("relay.crt"));
    const QString keyFile = dir.filePath(QStringLiteral("relay.key"));
    for (const auto &[path, bytes] :
         {std::pair{certificateFile, own->certificatePem}, std::pair{keyFile, own->keyPem}}) {
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly) && file.write(bytes) == bytes.size());
    }
    const auto window = createWindow();
    QVERIFY(window);
    window->relayDock()->raise();
    RelayPanel *panel = window->relayPanel();
    ListeningTlsEdit *tls = panel->listeningTlsEdit();
    tls->setChoice(ListeningTlsEdit::Choice::Own);
    QVERIFY(tls->certificateFileEdit()->isVisibleTo(tls));
    tls->certificateFileEdit()->setText(certificateFile);
    QCOMPARE(tls->fingerprintEdit()->text(), sha256Fingerprint(own->certificate));
    // Without its key: refused before anything listens, and said.
    tls->keyFileEdit()->setText(dir.filePath(QStringLiteral("missing.key")));
    QVERIFY(startRelayToEcho(*window, false).isEmpty());
    QVERIFY2(panel->errorLabel()->text().startsWith(QStringLiteral("TLS:")),
             qPrintable(panel->errorLabel()->text()));
    tls->keyFileEdit()->setText(keyFile);
    QTest::mouseClick(panel->startButton(), Qt::LeftButton);
    QVERIFY(panel->isRunning());
    QVERIFY(panel->listeningUrl().startsWith(QStringLiteral("wss://")));
    QCOMPARE(window->hub()->relay(panel->relayId())->options().certificate, own->certificate);
    closeWindow(*window);
}

void TestRelayPanel::interceptRuleMeansWhatTheLogShows() {
    RelayedClient relayed;
    QVERIFY(startRelayed(relayed));
    auto &[window, panel, hub, log, url, client, nodes] = relayed;
    // The legs' names are the ones `wsw relay --save` writes and rules compare.
    QCOMPARE(log->store().connectionName(nodes.client), QStringLiteral("relay 1 #1 client"));

    // Both directions watched; the rule takes what the log shows going out to the
    // client: the echo, not what the client sent.
    const QString rule = QStringLiteral("leg == \"client\" && dir == out");
    panel->holdUpCheck()->setChecked(true);
    panel->holdDownCheck()->setChecked(true);
    panel->ruleEdit()->setText(rule);
    panel->ruleEdit()->applyNow();
    QCOMPARE(hub->sendText(client, "ping pong"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(panel->heldModel()->rowCount(), 1, WaitMs);
    QCOMPARE(panel->heldModel()->index(0, HeldMessagesModel::DirectionColumn).data().toString(),
             QStringLiteral("server\u2192client"));
    // It went up unheld: the server leg sent it and received the echo.
    QVERIFY(waitForRecord(*log, nodes.server, incoming(LogKind::Text, "ping pong"), WaitMs) >= 0);
    QVERIFY(findRecord(*log, client, incomingPayload("ping pong")) < 0);
    QTest::mouseClick(panel->releaseAllButton(), Qt::LeftButton);
    QVERIFY(waitForRecord(*log, client, incoming(LogKind::Text, "ping pong"), WaitMs) >= 0);

    // The same filter in the log shows that one row: the echo sent to the client.
    log->flush();
    LogFilterProxy *proxy = window->logPanel()->proxy();
    window->connectionsPanel()->select(0);
    QVERIFY(proxy->setDisplayFilter(rule + QStringLiteral(" && kind == text")));
    QTRY_VERIFY(!proxy->isBusy());
    QCOMPARE(proxy->rowCount(), 1);
    QCOMPARE(connectionsShown(*proxy), QSet<quint32>{nodes.client});

    // By name: what the server leg received is the echo again.
    panel->ruleEdit()->setText(QStringLiteral("conn == \"relay 1 #1 server\" && dir == in"));
    panel->ruleEdit()->applyNow();
    QCOMPARE(hub->sendText(client, "by name"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(panel->heldModel()->rowCount(), 1, WaitMs);
    QCOMPARE(panel->heldModel()->index(0, HeldMessagesModel::DirectionColumn).data().toString(),
             QStringLiteral("server\u2192client"));
    QTest::mouseClick(panel->releaseAllButton(), Qt::LeftButton);
    QVERIFY(waitForRecord(*log, client, incoming(LogKind::Text, "by name"), WaitMs) >= 0);
    closeWindow(*window);
}

void TestRelayPanel::interceptHoldEditReleaseDrop() {
    RelayedClient relayed;
    QVERIFY(startRelayed(relayed));
    auto &[window, panel, hub, log, url, client, nodes] = relayed;

    // Hold what the client sends when the rule takes it: in the log's language.
    panel->ruleEdit()->setText(QStringLiteral("leg == client && text contains \"secret\""));
    panel->ruleEdit()->applyNow();
    QVERIFY(panel->ruleEdit()->state() == DisplayFilterEdit::State::Valid);
    panel->holdUpCheck()->setChecked(true);
    QCOMPARE(hub->relay(panel->relayId())->intercept().size(), 1);
    QCOMPARE(panel->heldStatus()->text(), QStringLiteral("Nothing held"));

    QCOMPARE(hub->sendText(client, "secret one"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(panel->heldModel()->rowCount(), 1, WaitMs);
    QTRY_VERIFY(panel->heldStatus()->text().startsWith(QStringLiteral("Held: 1 message")));
    QCOMPARE(panel->heldModel()->index(0, HeldMessagesModel::PreviewColumn).data().toString(),
             QStringLiteral("secret one"));
    QCOMPARE(panel->heldModel()->index(0, HeldMessagesModel::DirectionColumn).data().toString(),
             QStringLiteral("client\u2192server"));
    // Selected at once, its payload in the editor.
    QCOMPARE(panel->payloadEditor()->toPlainText(), QStringLiteral("secret one"));
    // A message the rule does not take is queued behind the held one: order is kept.
    QCOMPARE(hub->sendText(client, "plain"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(panel->heldModel()->rowCount(), 2, WaitMs);
    QVERIFY(!panel->heldModel()->index(1, 0).data(HeldMessagesModel::IsHeldRole).toBool());

    // Edit it as hex, release it: the edited bytes go on (a binary message), the
    // queued one after it, and the echo server answers both.
    panel->editFormatCombo()->setCurrentIndex(panel->editFormatCombo()->findText("Hex"));
    QCOMPARE(panel->payloadEditor()->toPlainText(),
             QStringLiteral("73 65 63 72 65 74 20 6f 6e 65"));
    panel->payloadEditor()->setPlainText(QStringLiteral("65 64 69 74 65 64"));
    QTest::mouseClick(panel->releaseEditedButton(), Qt::LeftButton);
    QVERIFY(waitForRecord(*log, client, incoming(LogKind::Binary, "edited"), WaitMs) >= 0);
    QVERIFY(waitForRecord(*log, client, incoming(LogKind::Text, "plain"), WaitMs) >= 0);
    QTRY_COMPARE(panel->heldModel()->rowCount(), 0);
    QTRY_COMPARE(panel->heldStatus()->text(), QStringLiteral("Nothing held"));
    QVERIFY(findRecord(*log, nodes.server, outgoing(LogKind::Text)) >= 0);
    QVERIFY(findRecord(*log, nodes.server, incomingPayload("secret one")) < 0);

    // Hold again and drop: it never arrives, what follows does.
    QCOMPARE(hub->sendText(client, "secret two"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(panel->heldModel()->rowCount(), 1, WaitMs);
    QTest::mouseClick(panel->dropButton(), Qt::LeftButton);
    QTRY_COMPARE(panel->heldModel()->rowCount(), 0);
    QCOMPARE(panel->actionResult()->text(), QStringLiteral("Dropped"));
    QCOMPARE(hub->sendText(client, "after the drop"), SendError::None);
    QVERIFY(waitForRecord(*log, client, incoming(LogKind::Text, "after the drop"), WaitMs) >= 0);
    QVERIFY(findRecord(*log, client, incomingPayload("secret two")) < 0);
    QVERIFY(findRecord(*log, nodes.server, incomingPayload("secret two")) < 0);

    // Both directions held, everything: release all lets them go in order.
    panel->ruleEdit()->clear();
    panel->ruleEdit()->applyNow();
    panel->holdDownCheck()->setChecked(true);
    QCOMPARE(hub->relay(panel->relayId())->intercept().size(), 2);
    QCOMPARE(hub->sendText(client, "first"), SendError::None);
    QCOMPARE(hub->sendText(client, "second"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(panel->heldModel()->rowCount(), 2, WaitMs);
    QTest::mouseClick(panel->releaseAllButton(), Qt::LeftButton);
    // The echoes are held on their way back now.
    QTRY_COMPARE_WITH_TIMEOUT(panel->heldModel()->rowCount(), 2, WaitMs);
    QTRY_COMPARE(panel->heldModel()->index(0, HeldMessagesModel::DirectionColumn).data().toString(),
                 QStringLiteral("server\u2192client"));
    QVERIFY(findRecord(*log, client, incomingPayload("first")) < 0);
    QTest::mouseClick(panel->releaseAllButton(), Qt::LeftButton);
    const qsizetype first = waitForRecord(*log, client, incomingPayload("first"), WaitMs);
    const qsizetype second = waitForRecord(*log, client, incomingPayload("second"), WaitMs);
    QVERIFY(first >= 0 && second > first);
    closeWindow(*window);
}

void TestRelayPanel::injectFaultsAndCut() {
    RelayedClient relayed;
    QVERIFY(startRelayed(relayed, false));
    auto &[window, panel, hub, log, url, client, nodes] = relayed;
    QVERIFY(!panel->injectButton()->isEnabled()); // no pair yet
    QVERIFY(connectRelayed(relayed));
    QTRY_VERIFY(panel->injectButton()->isEnabled());
    QVERIFY(panel->targetPairLabel()->text().contains(QStringLiteral("relay 1 #1")));

    // A text to the client, as if the server had sent it.
    panel->injectDirectionCombo()->setCurrentIndex(1);
    panel->injectPayloadEdit()->setText(QStringLiteral("from nowhere"));
    QTest::mouseClick(panel->injectButton(), Qt::LeftButton);
    QVERIFY2(panel->actionResult()->text().startsWith(QStringLiteral("Injected")),
             qPrintable(panel->actionResult()->text()));
    QVERIFY(waitForRecord(*log, client, incoming(LogKind::Text, "from nowhere"), WaitMs) >= 0);
    // Binary to the server: its echo comes back to the client.
    panel->injectDirectionCombo()->setCurrentIndex(0);
    panel->injectKindCombo()->setCurrentIndex(1);
    panel->injectPayloadEdit()->setText(QStringLiteral("ca fe"));
    QTest::mouseClick(panel->injectButton(), Qt::LeftButton);
    QVERIFY(waitForRecord(*log, client, incoming(LogKind::Binary, QByteArray::fromHex("cafe")),
                          WaitMs) >= 0);
    // Not hex: said, nothing sent.
    panel->injectPayloadEdit()->setText(QStringLiteral("xyz"));
    QTest::mouseClick(panel->injectButton(), Qt::LeftButton);
    QVERIFY(panel->actionResult()->text().contains(QStringLiteral("not hex")));

    // Faults: the summary says what is staged, the relay has it.
    panel->faultDirectionCombo()->setCurrentIndex(1); // server -> client
    panel->latencySpin()->setValue(50);
    panel->jitterSpin()->setValue(10);
    panel->dropRateSpin()->setValue(0);
    QTest::mouseClick(panel->applyFaultsButton(), Qt::LeftButton);
    QCOMPARE(hub->relay(panel->relayId())->faults().down.latencyMs, 50);
    QCOMPARE(hub->relay(panel->relayId())->faults().up.latencyMs, 0);
    QVERIFY2(panel->faultsSummary()->text().startsWith(QStringLiteral("server\u2192client")),
             qPrintable(panel->faultsSummary()->text()));
    // Delayed, not lost.
    QCOMPARE(hub->sendText(client, "late"), SendError::None);
    QVERIFY(waitForRecord(*log, client, incoming(LogKind::Text, "late"), WaitMs) >= 0);

    // Cut the server leg with a TCP reset: the client leg is closed with 1011.
    panel->cutLegCombo()->setCurrentIndex(1);
    QTest::mouseClick(panel->cutResetButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(client)->finished, WaitMs);
    QCOMPARE(hub->info(client)->closeCode, std::optional<quint16>(1011));
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(nodes.pair)->finished, WaitMs);
    closeWindow(*window);
}

void TestRelayPanel::pairFaultsFromTheTree() {
    const auto window = createWindow();
    QVERIFY(window);
    const QString url = startRelayToEcho(*window, false);
    QVERIFY(!url.isEmpty());
    RelayPanel *panel = window->relayPanel();
    ConnectionHub *hub = window->hub();
    ConnectionsPanel *connections = window->connectionsPanel();
    Relay *relay = hub->relay(panel->relayId());
    const quint32 client = openThroughRelay(*window, url);
    QVERIFY(client);
    const PairNodes nodes = newestPair(*hub, panel->relayId());
    const quint64 number = hub->relayPairNumber(nodes.pair);
    QCOMPARE(number, quint64(1));

    // Not offered for our own client; offered on the pair and on either leg.
    connections->select(client);
    QVERIFY(!connections->pairFaultsAction()->isEnabled());
    QVERIFY(!connections->editPairFaults(client));
    for (const quint32 node : {nodes.pair, nodes.client, nodes.server}) {
        connections->select(node);
        QCOMPARE(connections->relayPairNode(node), nodes.pair);
        QVERIFY(connections->pairFaultsAction()->isEnabled());
        QMenu menu;
        connections->fillContextMenu(&menu);
        QVERIFY(menu.actions().contains(connections->pairFaultsAction()));
        QVERIFY(menu.actions().contains(connections->cutMenu()->menuAction()));
    }
    QCOMPARE(connections->cutMenu()->actions().size(), 4);

    // The dialog starts from the relay's faults, "Use the relay's faults" checked.
    PairFaultsDialog *dialog = connections->editPairFaults(nodes.server);
    QVERIFY(dialog);
    QVERIFY(dialog->useRelayFaultsCheck()->isChecked());
    QVERIFY(!dialog->faultsEdit()->isEnabled());
    dialog->useRelayFaultsCheck()->setChecked(false);
    RelayFaultsEdit *edit = dialog->faultsEdit();
    QVERIFY(edit->isEnabled());
    edit->directionCombo()->setCurrentIndex(0); // client -> server
    edit->latencySpin()->setValue(40);
    edit->directionCombo()->setCurrentIndex(1); // server -> client
    edit->dropRateSpin()->setValue(25);
    edit->seedEdit()->clear();
    QTest::keyClicks(edit->seedEdit(), QStringLiteral("31337"));
    dialog->accept();
    const std::optional<RelayFaults> own = relay->pairFaults(number);
    QVERIFY(own);
    QCOMPARE(own->up.latencyMs, 40);
    QCOMPARE(own->up.dropPercent, 0.0);
    QCOMPARE(own->down.dropPercent, 25.0);
    QCOMPARE(own->down.latencyMs, 0);
    QCOMPARE(own->seed, quint64(31337));
    QCOMPARE(relay->faults().up.latencyMs, 0);

    // The pair's row says so.
    const QModelIndex pairIndex = connections->model()->indexOf(nodes.pair);
    QTRY_VERIFY(pairIndex.data().toString().endsWith(QStringLiteral(" \u00B7 own faults")));
    QVERIFY2(pairIndex.data(Qt::ToolTipRole)
                 .toString()
                 .contains(QStringLiteral("Faults for this pair: client\u2192server: latency 40 "
                                          "ms; server\u2192client: 25 % of messages dropped; "
                                          "seed 31337")),
             qPrintable(pairIndex.data(Qt::ToolTipRole).toString()));
    // Its legs' log says so too.
    QVERIFY(waitForRecord(
                *window->logModel(), nodes.server,
                [](const LogRecord &r) {
                    return r.kind == LogKind::Note &&
                           r.payload.contains("faults for this pair going up");
                },
                WaitMs) >= 0);

    // Opened again, it shows the pair's own; "Use the relay's faults" clears them.
    dialog = connections->editPairFaults(nodes.pair);
    QVERIFY(dialog);
    QVERIFY(!dialog->useRelayFaultsCheck()->isChecked());
    QCOMPARE(dialog->faultsEdit()->faults(), *own);
    dialog->faultsEdit()->directionCombo()->setCurrentIndex(0);
    QCOMPARE(dialog->faultsEdit()->latencySpin()->value(), 40);
    dialog->useRelayFaultsCheck()->setChecked(true);
    dialog->accept();
    QCOMPARE(relay->pairFaults(number), std::nullopt);
    QTRY_VERIFY(!pairIndex.data().toString().contains(QStringLiteral("own faults")));

    // Cut the client leg now, with a close: our client hears 1001.
    connections->select(nodes.pair);
    connections->cutMenu()->actions().at(0)->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(client)->finished, WaitMs);
    QCOMPARE(hub->info(client)->closeCode, std::optional<quint16>(1001));
    closeWindow(*window);
}

void TestRelayPanel::faultSeedKeptAndUsed() {
    const auto window = createWindow();
    QVERIFY(window);
    RelayPanel *panel = window->relayPanel();
    RelayFaultsEdit *edit = panel->faultsEdit();
    // A seed is drawn the first time; "New seed" draws another.
    const QString first = edit->seedEdit()->text();
    QVERIFY(first.toULongLong() > 0);
    edit->newSeedButton()->click();
    QVERIFY(edit->seedEdit()->text() != first);
    QCOMPARE(edit->seed(), edit->seedEdit()->text().toULongLong());
    edit->seedEdit()->clear();
    QTest::keyClicks(edit->seedEdit(), QStringLiteral("987654321"));
    QCOMPARE(edit->seed(), quint64(987654321));
    panel->saveSettings();
    closeWindow(*window);

    const auto again = createWindow();
    QVERIFY(again);
    RelayPanel *reread = again->relayPanel();
    QCOMPARE(reread->faultsEdit()->seedEdit()->text(), QStringLiteral("987654321"));
    const QString url = startRelayToEcho(*again, false);
    QVERIFY(!url.isEmpty());
    Relay *relay = again->hub()->relay(reread->relayId());
    // The relay draws from it as soon as it runs.
    QCOMPARE(relay->faults().seed, quint64(987654321));
    reread->faultDirectionCombo()->setCurrentIndex(0);
    reread->dropRateSpin()->setValue(10);
    QTest::mouseClick(reread->applyFaultsButton(), Qt::LeftButton);
    QCOMPARE(relay->faults().up.dropPercent, 10.0);
    QCOMPARE(relay->faults().seed, quint64(987654321));
    QVERIFY2(reread->faultsSummary()->text().contains(
                 QStringLiteral("seed 987654321: `wsw relay --seed 987654321`")),
             qPrintable(reread->faultsSummary()->text()));
    // A pair's legs hear the seed with the faults.
    const quint32 client = openThroughRelay(*again, url);
    QVERIFY(client);
    const PairNodes nodes = newestPair(*again->hub(), reread->relayId());
    QVERIFY(waitForRecord(
                *again->logModel(), nodes.server,
                [](const LogRecord &r) {
                    return r.kind == LogKind::Note &&
                           r.payload.contains("10 % of messages dropped (seed 987654321)");
                },
                WaitMs) >= 0);
    closeWindow(*again);
}

void TestRelayPanel::logColumnsFitA1024Window() {
    const auto window = createWindow();
    QVERIFY(window);
    window->resize(1024, 700);
    const QString url = startRelayToEcho(*window, false);
    QVERIFY(!url.isEmpty());
    const quint32 client = openThroughRelay(*window, url);
    QVERIFY(client);
    QCOMPARE(window->hub()->sendText(client, "through the relay"), SendError::None);
    QVERIFY(waitForRecord(*window->logModel(), client, incoming(LogKind::Text, "through the relay"),
                          WaitMs) >= 0);
    window->logModel()->flush();
    QCoreApplication::processEvents();
    MessageLogView *view = window->logPanel()->view();
    QHeaderView *header = view->horizontalHeader();
    const int viewport = view->viewport()->width();
    QVERIFY2(viewport > 0 && window->width() <= 1024, qPrintable(QString::number(viewport)));
    const int lengthEnd = header->sectionViewportPosition(MessageLogModel::LengthColumn) +
                          header->sectionSize(MessageLogModel::LengthColumn);
    QVERIFY2(lengthEnd <= viewport,
             qPrintable(QStringLiteral("Length ends at %1 of %2").arg(lengthEnd).arg(viewport)));
    // The preview keeps room of its own.
    QVERIFY(header->sectionSize(MessageLogModel::PreviewColumn) > 0);
    closeWindow(*window);
}

void TestRelayPanel::resendToEitherSide() {
    RelayedClient relayed;
    QVERIFY(startRelayed(relayed));
    auto &[window, panel, hub, log, url, client, nodes] = relayed;
    LogPanel *logPanel = window->logPanel();
    QTRY_VERIFY_WITH_TIMEOUT(echoPeer(*window) != 0, WaitMs);
    const quint32 server = echoPeer(*window);
    const auto arrivedAtServer = [&] {
        return countRecords(*log, server, incoming(LogKind::Text, "first"));
    };
    const auto arrivedAtClient = [&] {
        return countRecords(*log, client, incoming(LogKind::Text, "first"));
    };
    QCOMPARE(hub->sendText(client, "first"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(arrivedAtClient(), 1, WaitMs);
    QCOMPARE(arrivedAtServer(), 1);
    const qsizetype clientToServer =
        findRecord(*log, nodes.client, incoming(LogKind::Text, "first"));
    const qsizetype serverToClient =
        findRecord(*log, nodes.server, incoming(LogKind::Text, "first"));
    QVERIFY(clientToServer >= 0 && serverToClient >= 0);
    log->flush();
    window->connectionsPanel()->select(0);

    // A relayed row offers both sides instead of Resend.
    QVERIFY(logPanel->view()->selectStoreIndex(clientToServer));
    logPanel->updatePayloadActions();
    QVERIFY(!logPanel->resendAction()->isVisible());
    QVERIFY(logPanel->resendToClientAction()->isVisible());
    QVERIFY(logPanel->resendToServerAction()->isEnabled());
    QVERIFY(logPanel->resendToClientAction()->isEnabled());
    // What the client sent, to the server again: the echo server has it twice, and
    // echoes it again to the client.
    logPanel->resendToServerAction()->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(arrivedAtServer(), 2, WaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(arrivedAtClient(), 2, WaitMs);
    QVERIFY(waitForRecord(*log, nodes.server, resentNote(), WaitMs) >= 0);
    QVERIFY2(window->statusBar()->currentMessage().startsWith(QStringLiteral("Resent")),
             qPrintable(window->statusBar()->currentMessage()));
    // What the server sent, to the client again: nothing more reaches the server.
    QVERIFY(logPanel->view()->selectStoreIndex(serverToClient));
    logPanel->updatePayloadActions();
    logPanel->resendToClientAction()->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(arrivedAtClient(), 3, WaitMs);
    QVERIFY(waitForRecord(*log, nodes.client, resentNote(), WaitMs) >= 0);
    QCOMPARE(arrivedAtServer(), 2);
    // The window's own connection keeps its Resend.
    const qsizetype own = findRecord(*log, client, incoming(LogKind::Text, "first"));
    log->flush();
    QVERIFY(logPanel->view()->selectStoreIndex(own));
    logPanel->updatePayloadActions();
    QVERIFY(logPanel->resendAction()->isVisible());
    QVERIFY(logPanel->resendAction()->isEnabled());
    QVERIFY(!logPanel->resendToServerAction()->isVisible());

    // Without the mouse: the Inject tab loads the selected row, direction included,
    // and Inject sends it again.
    QVERIFY(logPanel->view()->selectStoreIndex(clientToServer));
    QTest::mouseClick(panel->loadFromLogButton(), Qt::LeftButton);
    QCOMPARE(panel->injectPayloadEdit()->text(), QStringLiteral("first"));
    QCOMPARE(panel->injectDirectionCombo()->currentData().toInt(), int(RelayLegKind::Server));
    QCOMPARE(panel->selectedPair(), nodes.pair);
    QTest::mouseClick(panel->injectButton(), Qt::LeftButton);
    QVERIFY2(panel->actionResult()->text().startsWith(QStringLiteral("Resent")),
             qPrintable(panel->actionResult()->text()));
    QTRY_COMPARE_WITH_TIMEOUT(arrivedAtServer(), 3, WaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(countRecords(*log, nodes.server, resentNote()), 2, WaitMs);
    // Changed, it is a new message: injected, not resent.
    panel->injectPayloadEdit()->setText(QStringLiteral("first, edited"));
    QTest::mouseClick(panel->injectButton(), Qt::LeftButton);
    QVERIFY(panel->actionResult()->text().startsWith(QStringLiteral("Injected")));
    QVERIFY(waitForRecord(*log, server, incoming(LogKind::Text, "first, edited"), WaitMs) >= 0);
    // A row that is no message cannot be loaded.
    const qsizetype handshake = findRecord(*log, nodes.client, ofKind(LogKind::Handshake));
    log->flush();
    QVERIFY(logPanel->view()->selectStoreIndex(handshake));
    QTest::mouseClick(panel->loadFromLogButton(), Qt::LeftButton);
    QVERIFY(panel->actionResult()->text().startsWith(QStringLiteral("Select a message")));

    // Once the pair is over, both are disabled and say why.
    QCOMPARE(hub->sendClose(client, 1000, QString()), SendError::None);
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(nodes.pair)->finished, WaitMs);
    log->flush();
    QVERIFY(logPanel->view()->selectStoreIndex(clientToServer));
    logPanel->updatePayloadActions();
    for (QAction *action : {logPanel->resendToClientAction(), logPanel->resendToServerAction()}) {
        QVERIFY(action->isVisible());
        QVERIFY(!action->isEnabled());
        QCOMPARE(action->toolTip(), QStringLiteral("The pair has ended"));
    }
    closeWindow(*window);
}

void TestRelayPanel::bothSizesWithDeflateOnOneLeg() {
    const auto window = createWindow();
    QVERIFY(window);
    // Compressed between the client and the relay, plain between the relay and the server.
    QVERIFY(!startRelayToEcho(*window, true, false).isEmpty());
    RelayPanel *panel = window->relayPanel();
    ConnectionHub *hub = window->hub();
    MessageLogModel *log = window->logModel();
    ClientOptions options;
    options.url = QUrl(panel->listeningUrl());
    options.deflate.policy = DeflatePolicy::Offer;
    const quint32 client = window->openConnection(options);
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(client), WaitMs);
    const PairNodes nodes = newestPair(*hub, panel->relayId());
    QTRY_VERIFY_WITH_TIMEOUT(!hub->info(nodes.client)->deflate.isEmpty(), WaitMs);
    QVERIFY(hub->info(nodes.server)->deflate.isEmpty());

    const QByteArray text = QByteArray("{\"tick\": 1, \"price\": 100.25}, ").repeated(32);
    QCOMPARE(hub->sendText(client, text), SendError::None);
    QVERIFY(waitForRecord(*log, client, incoming(LogKind::Text, text), WaitMs) >= 0);
    const qsizetype compressedRow = findRecord(*log, nodes.client, incoming(LogKind::Text, text));
    const qsizetype plainRow = findRecord(*log, nodes.server, outgoing(LogKind::Text));
    QVERIFY(compressedRow >= 0 && plainRow >= 0);
    const LogRecord &compressed = log->store().at(compressedRow);
    const LogRecord &plain = log->store().at(plainRow);
    // The client leg's row: the frames' payload bytes as they were on the wire.
    QVERIFY(compressed.has(LogRecord::Compressed));
    QVERIFY(compressed.length > 0 && compressed.length < quint64(text.size()));
    QVERIFY(!plain.has(LogRecord::Compressed));
    QCOMPARE(plain.length, quint64(text.size()));

    log->flush();
    const auto lengthCell = [&](qsizetype storeIndex) {
        return log->index(log->rowOfStoreIndex(storeIndex), MessageLogModel::LengthColumn)
            .data()
            .toString();
    };
    QCOMPARE(lengthCell(compressedRow),
             QStringLiteral("%1 (%2 on the wire)").arg(text.size()).arg(compressed.length));
    QCOMPARE(lengthCell(plainRow), QString::number(text.size()));

    // The inspector gives the same two sizes for the compressed leg, none for the other.
    window->connectionsPanel()->select(0);
    QVERIFY(window->logPanel()->view()->selectStoreIndex(compressedRow));
    QTRY_COMPARE(window->inspector()->record().connection, nodes.client);
    QTreeWidgetItem *sizes = window->inspector()->findItem(QStringLiteral("Sizes"));
    QVERIFY(sizes);
    QCOMPARE(sizes->text(1), QStringLiteral("compressed %1 bytes \u2192 inflated %2 bytes")
                                 .arg(compressed.length)
                                 .arg(text.size()));
    QVERIFY(window->logPanel()->view()->selectStoreIndex(plainRow));
    QTRY_COMPARE(window->inspector()->record().connection, nodes.server);
    QVERIFY(!window->inspector()->findItem(QStringLiteral("Sizes")));
    // Either leg's row says what each leg negotiated, and so does the pair's node.
    QTreeWidgetItem *clientLeg =
        window->inspector()->findItem(QStringLiteral("Client leg extensions"));
    QTreeWidgetItem *serverLeg =
        window->inspector()->findItem(QStringLiteral("Server leg extensions"));
    QVERIFY(clientLeg && serverLeg);
    QVERIFY2(clientLeg->text(1).startsWith(QStringLiteral("permessage-deflate")),
             qPrintable(clientLeg->text(1)));
    QCOMPARE(serverLeg->text(1), QStringLiteral("none"));
    QCOMPARE(window->inspector()->findItem(QStringLiteral("Logged on"))->text(1),
             QStringLiteral("server leg"));
    ConnectionsModel *tree = window->connectionsPanel()->model();
    const QString pairTip = tree->indexOf(nodes.pair).data(Qt::ToolTipRole).toString();
    QVERIFY2(pairTip.contains(QStringLiteral("Client leg: permessage-deflate")),
             qPrintable(pairTip));
    QVERIFY2(pairTip.contains(QStringLiteral("Server leg: no extension")), qPrintable(pairTip));
    closeWindow(*window);
}

WSW_WINDOW_TEST_MAIN(TestRelayPanel)
#include "tst_relaypanel.moc"

QString TestRelayPanel::startProxyBesideEcho(MainWindow &window, const QString &caDirectory) {
    const quint16 echoPort = startEchoServer(window);
    if (!echoPort)
        return {};
    RelayPanel *panel = window.relayPanel();
    panel->setMode(RelayPanel::Mode::Proxy);
    panel->addressEdit()->setText(QStringLiteral("127.0.0.1"));
    panel->portSpin()->setValue(0);
    panel->caDirectoryEdit()->setText(caDirectory);
    panel->blindHostsEdit()->clear();
    QTest::mouseClick(panel->startButton(), Qt::LeftButton);
    if (!panel->isRunning())
        return {};
    return QStringLiteral("ws://127.0.0.1:%1/").arg(echoPort);
}

quint32 TestRelayPanel::openThroughProxy(MainWindow &window, const QString &url) {
    ClientOptions options;
    options.url = QUrl(url);
    options.proxy =
        HttpProxy{QStringLiteral("127.0.0.1"), window.relayPanel()->boundPort(), std::nullopt};
    const quint32 client = window.openConnection(options);
    return QTest::qWaitFor([&] { return window.hub()->isOpen(client); }, WaitMs) ? client : 0;
}

void TestRelayPanel::proxyModePairsInterceptAndCertificateAuthority() {
    const auto window = createWindow();
    QVERIFY(window);
    window->relayDock()->raise();
    QTemporaryDir caDir;
    QVERIFY(caDir.isValid());
    const QString echoUrl = startProxyBesideEcho(*window, caDir.path());
    RelayPanel *panel = window->relayPanel();
    QVERIFY2(!echoUrl.isEmpty(), qPrintable(panel->errorLabel()->text()));
    ConnectionHub *hub = window->hub();
    const quint32 relayId = panel->relayId();
    RelayProxy *proxy = panel->runningProxy();
    QVERIFY(proxy);
    // The Intercept and Inject tabs act on the proxy's relay.
    QCOMPARE(hub->relay(relayId), proxy->relay());
    // No target in proxy mode; the proxy's URL and a Chromium line to use it.
    QVERIFY(panel->targetEdit()->isHidden());
    QVERIFY(panel->blindHostsEdit()->isVisible());
    QVERIFY(panel->caDirectoryEdit()->isVisible());
    const QString proxyUrl = QStringLiteral("http://127.0.0.1:%1").arg(panel->boundPort());
    QCOMPARE(panel->listeningUrl(), proxyUrl);
    QVERIFY(panel->statusLabel()->text().contains(proxyUrl));
    QVERIFY(panel->proxyHint()->isVisible());
    QVERIFY(panel->proxyHint()->text().contains(QStringLiteral("--proxy-server=") + proxyUrl));
    const std::optional<CertificateAuthority> authority = CertificateAuthority::open(caDir.path());
    QVERIFY(authority);
    const CertificateAuthorityInfo expected = certificateAuthorityInfo(*authority);
    QVERIFY(panel->proxyHint()->text().contains(
        QStringLiteral("--ignore-certificate-errors-spki-list=") + expected.spkiSha256Base64));
    // The form cannot change under a running proxy.
    QVERIFY(!panel->modeCombo()->isEnabled());

    const quint32 client = openThroughProxy(*window, echoUrl + QStringLiteral("socket?x=1"));
    QVERIFY(client);
    QCOMPARE(hub->sendText(client, "through the proxy"), SendError::None);
    MessageLogModel *log = window->logModel();
    QVERIFY(waitForRecord(*log, client, incoming(LogKind::Text, "through the proxy"), WaitMs) >= 0);

    // One pair under the relay node, named with where it goes, its two legs below it.
    const PairNodes nodes = newestPair(*hub, relayId);
    QVERIFY(nodes.pair && nodes.client && nodes.server);
    // A tunnel names its host and port, and the pair the path and query its client
    // asked for in it, as a reverse relay's pair: the tree, and the server leg in the log.
    const QString target = echoUrl + QStringLiteral("socket?x=1");
    QCOMPARE(hub->info(nodes.pair)->name, QStringLiteral("relay 1 #1 \u2192 ") + target);
    QCOMPARE(log->store().connectionInfo(nodes.server).url, target);
    ConnectionsModel *tree = window->connectionsPanel()->model();
    const QModelIndex pairIndex = tree->indexOf(nodes.pair);
    QCOMPARE(tree->rowCount(pairIndex), 2);
    QCOMPARE(tree->index(0, 0, pairIndex).data(ConnectionsModel::NameRole).toString(),
             QStringLiteral("relay 1 #1 client"));
    QCOMPARE(panel->pairList()->model()->rowCount(panel->pairList()->rootIndex()), 1);
    QCOMPARE(log->store().connectionLeg(nodes.server), Leg::Server);
    QVERIFY(waitForRecord(*log, nodes.client, incoming(LogKind::Text, "through the proxy"),
                          WaitMs) >= 0);
    QVERIFY(waitForRecord(*log, nodes.server, incoming(LogKind::Text, "through the proxy"),
                          WaitMs) >= 0);
    QVERIFY(waitForRecord(*log, nodes.server, outgoing(LogKind::Text), WaitMs) >= 0);
    QVERIFY(waitForRecord(*log, nodes.client, outgoing(LogKind::Text), WaitMs) >= 0);
    // What the proxy did with the request is in the panel's log.
    QTRY_VERIFY(panel->relayLog()->toPlainText().contains(QStringLiteral(": intercepted")));

    // Intercept on the proxied pair: held, then released and delivered.
    panel->ruleEdit()->setText(QStringLiteral("text contains \"hold me\""));
    panel->ruleEdit()->applyNow();
    panel->holdUpCheck()->setChecked(true);
    QCOMPARE(proxy->relay()->intercept().size(), 1);
    QCOMPARE(hub->sendText(client, "hold me"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(panel->heldModel()->rowCount(), 1, WaitMs);
    QCOMPARE(panel->heldModel()->index(0, HeldMessagesModel::PreviewColumn).data().toString(),
             QStringLiteral("hold me"));
    // Held: not on the server leg yet.
    log->flush();
    const RecordMatch heldPayload = [](const LogRecord &r) { return r.payload == "hold me"; };
    QCOMPARE(findRecord(*log, nodes.server, heldPayload), qsizetype(-1));
    QTest::mouseClick(panel->releaseButton(), Qt::LeftButton);
    QVERIFY(waitForRecord(*log, client, incoming(LogKind::Text, "hold me"), WaitMs) >= 0);
    QCOMPARE(panel->heldModel()->rowCount(), 0);

    // The certificate authority's dialog: the same authority as the directory's.
    QDialog *dialog = panel->showCertificateAuthority();
    QVERIFY(dialog);
    QCOMPARE(panel->certificateAuthorityDialog(), dialog);
    QCOMPARE(dialog->findChild<QLineEdit *>(QStringLiteral("caFingerprint"))->text(),
             expected.fingerprint);
    QCOMPARE(dialog->findChild<QLineEdit *>(QStringLiteral("caSpki"))->text(),
             expected.spkiSha256Base64);
    QCOMPARE(dialog->findChild<QLineEdit *>(QStringLiteral("caFile"))->text(),
             expected.certificateFile);
    QVERIFY(dialog->findChild<QPlainTextEdit *>(QStringLiteral("caTrustSteps"))
                ->toPlainText()
                .contains(expected.certificateFile));
    QVERIFY(dialog->findChild<QPushButton *>(QStringLiteral("caExport")));
    const QString exported = caDir.filePath(QStringLiteral("exported.crt"));
    QString error;
    QVERIFY2(panel->exportCertificateAuthorityTo(exported, &error), qPrintable(error));
    const QList<QSslCertificate> read = QSslCertificate::fromPath(exported, QSsl::Pem);
    QCOMPARE(read.size(), 1);
    QCOMPARE(read.constFirst(), authority->identity().certificate);
    dialog->close();

    // Stop: the proxy closes the pair with 1001, our client hears it.
    QTest::mouseClick(panel->startButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!panel->isRunning(), WaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(client)->finished, WaitMs);
    QCOMPARE(hub->info(client)->closeCode, std::optional<quint16>(1001));
    QVERIFY(panel->proxyHint()->isHidden());
    QVERIFY(panel->modeCombo()->isEnabled());
    closeWindow(*window);
}

void TestRelayPanel::proxyBlindHostsAndStartFailure() {
    const auto window = createWindow();
    QVERIFY(window);
    window->relayDock()->raise();
    RelayPanel *panel = window->relayPanel();
    QTemporaryDir caDir;
    QVERIFY(caDir.isValid());
    // A port in use: said in the panel.
    QTcpServer taken;
    QVERIFY(taken.listen(QHostAddress::LocalHost, 0));
    panel->setMode(RelayPanel::Mode::Proxy);
    panel->addressEdit()->setText(QStringLiteral("127.0.0.1"));
    panel->portSpin()->setValue(taken.serverPort());
    panel->caDirectoryEdit()->setText(caDir.path());
    QTest::mouseClick(panel->startButton(), Qt::LeftButton);
    QVERIFY(!panel->isRunning());
    QTRY_VERIFY(panel->errorLabel()->isVisible());
    QVERIFY2(panel->errorLabel()->text().contains(QString::number(taken.serverPort())),
             qPrintable(panel->errorLabel()->text()));
    QCOMPARE(panel->statusLabel()->text(), QStringLiteral("Not started"));
    QVERIFY(panel->proxyHint()->isHidden());

    // A blind host's tunnel is passed through undecoded: our client talks to the echo
    // server, and no pair is made.
    const quint16 echoPort = startEchoServer(*window);
    QVERIFY(echoPort);
    taken.close();
    panel->portSpin()->setValue(0);
    panel->blindHostsEdit()->setText(QStringLiteral(" example.invalid , 127.0.0.1 "));
    QString error;
    QCOMPARE(panel->proxyOptions(&error).blindHosts,
             (QStringList{QStringLiteral("example.invalid"), QStringLiteral("127.0.0.1")}));
    QVERIFY(error.isEmpty());
    QTest::mouseClick(panel->startButton(), Qt::LeftButton);
    QVERIFY2(panel->isRunning(), qPrintable(panel->errorLabel()->text()));
    QVERIFY(panel->errorLabel()->isHidden());
    const quint32 client =
        openThroughProxy(*window, QStringLiteral("ws://127.0.0.1:%1/blind").arg(echoPort));
    QVERIFY(client);
    ConnectionHub *hub = window->hub();
    QCOMPARE(hub->sendText(client, "blind"), SendError::None);
    QVERIFY(waitForRecord(*window->logModel(), client, incoming(LogKind::Text, "blind"), WaitMs) >=
            0);
    QTRY_VERIFY(panel->relayLog()->toPlainText().contains(QStringLiteral("tunnelled blind")));
    QVERIFY(hub->descendantsOf(panel->relayId()).isEmpty());
    closeWindow(*window);
}

void TestRelayPanel::proxySettingsPersist() {
    QTemporaryDir caDir;
    QVERIFY(caDir.isValid());
    {
        const auto window = createWindow();
        QVERIFY(window);
        RelayPanel *panel = window->relayPanel();
        // A new panel starts as a reverse relay, its authority where the product keeps it.
        QCOMPARE(panel->mode(), RelayPanel::Mode::Reverse);
        QCOMPARE(panel->caDirectoryEdit()->text(), CertificateAuthority::defaultDirectory());
        panel->setMode(RelayPanel::Mode::Proxy);
        panel->blindHostsEdit()->setText(QStringLiteral("pinned.example, 10.0.0.1"));
        panel->caDirectoryEdit()->setText(caDir.path());
        closeWindow(*window);
    }
    const auto again = createWindow();
    QVERIFY(again);
    RelayPanel *reread = again->relayPanel();
    QCOMPARE(reread->mode(), RelayPanel::Mode::Proxy);
    QCOMPARE(reread->modeCombo()->currentText(),
             QStringLiteral("HTTP proxy (browser/app points at it)"));
    QCOMPARE(reread->blindHostsEdit()->text(), QStringLiteral("pinned.example, 10.0.0.1"));
    QCOMPARE(reread->caDirectoryEdit()->text(), caDir.path());
    QVERIFY(reread->targetEdit()->isHidden());
    const RelayProxyOptions options = reread->proxyOptions();
    QCOMPARE(options.caDirectory, caDir.path());
    QCOMPARE(options.blindHosts.size(), 2);
    // Back to the reverse relay: the target is asked for again, the proxy's rows hidden.
    reread->setMode(RelayPanel::Mode::Reverse);
    QVERIFY(reread->targetEdit()->isVisible());
    QVERIFY(reread->blindHostsEdit()->isHidden());
    QVERIFY(reread->caDirectoryEdit()->isHidden());
    // The dialog works in either mode: the authority is made in the form's directory.
    QDialog *dialog = reread->showCertificateAuthority();
    QVERIFY(dialog);
    QVERIFY(QFile::exists(caDir.filePath(QStringLiteral("ca.crt"))));
    dialog->close();
    closeWindow(*again);
}

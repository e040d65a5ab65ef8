#include "connections/connectionhub.h"
#include "models/connectionsmodel.h"
#include "models/messagelogmodel.h"
#include "windows/connectionspanel.h"

#include <QAbstractItemModelTester>
#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTest>
#include <QTreeView>

using namespace ws;

// The connection tree over a hub whose endpoints are logged connections (no
// network): what the model tells its views, and when.
class TestConnectionsModel : public QObject {
    Q_OBJECT
private slots:
    void addedNodesAreRowsAtTheFlush();
    void nodesAddedAndEndedInOneIntervalAreOneInsertion();
    void indexOfAWaitingNodeMakesItARow();
    void addedNodesAreRowsByTheTimer();
    void changesWaitAndAreToldTogether();
    void changesAreToldByTheTimer();
    void nothingPendingTellsNothing();
    void nameColumnToldOnlyWhenItChanges();
    void insertionIntervalFollowsLayoutCost();
    void addedNodesWaitForTheInsertionInterval();
    void treeOfManyNodesInsertsLessOften();
    void finishedBeyondTheLimitLeaveTheTree();
};

namespace {

quint32 addLogged(ConnectionHub &hub, const QString &name) {
    return hub.addArchived({name, QStringLiteral("ws://127.0.0.1:9001/"), log::Leg::None});
}

// The (first row, last row, first column, last column) of a dataChanged, and its parent's id.
struct Change {
    int firstRow = 0;
    int lastRow = 0;
    int firstColumn = 0;
    int lastColumn = 0;
    bool topLevel = true;
    bool operator==(const Change &) const = default;
};

Change changeOf(const QList<QVariant> &arguments) {
    const auto topLeft = arguments.at(0).value<QModelIndex>();
    const auto bottomRight = arguments.at(1).value<QModelIndex>();
    return {topLeft.row(), bottomRight.row(), topLeft.column(), bottomRight.column(),
            !topLeft.parent().isValid()};
}

} // namespace

void TestConnectionsModel::addedNodesAreRowsAtTheFlush() {
    MessageLogModel log;
    ConnectionHub hub(&log);
    ConnectionsModel model(&hub);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    const quint32 first = addLogged(hub, QStringLiteral("first"));
    const quint32 second = addLogged(hub, QStringLiteral("second"));
    // Nothing is a row until the flush; then both are, in one insertion.
    QCOMPARE(inserted.count(), 0);
    QCOMPARE(model.rowCount(), 1);
    model.flushChanges();
    // Row 0 is "All connections"; the nodes follow in the order they came.
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(inserted.at(0).at(1).toInt(), 1);
    QCOMPARE(inserted.at(0).at(2).toInt(), 2);
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.idOf(model.index(1, 0)), first);
    QCOMPARE(model.idOf(model.index(2, 0)), second);
    QCOMPARE(model.indexOf(second).data().toString(), QStringLiteral("second"));
}

void TestConnectionsModel::nodesAddedAndEndedInOneIntervalAreOneInsertion() {
    MessageLogModel log;
    ConnectionHub hub(&log);
    ConnectionsModel model(&hub);
    const quint32 before = addLogged(hub, QStringLiteral("before"));
    model.flushChanges();
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    // Logged connections are added ended: each started and ended within the interval.
    QList<quint32> ids;
    for (int i = 0; i < 50; ++i)
        ids.append(addLogged(hub, QStringLiteral("pair %1").arg(i)));
    emit hub.endpointsChanged(ids);
    QCOMPARE(inserted.count(), 0);
    model.flushChanges();
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(inserted.at(0).at(1).toInt(), 2);
    QCOMPARE(inserted.at(0).at(2).toInt(), 51);
    QCOMPARE(model.rowCount(), 52);
    QCOMPARE(model.idOf(model.index(1, 0)), before);
    for (int i = 0; i < 50; ++i) {
        QCOMPARE(model.idOf(model.index(i + 2, 0)), ids.at(i));
        QCOMPARE(model.index(i + 2, 0).data().toString(), QStringLiteral("pair %1").arg(i));
        QCOMPARE(model.index(i + 2, ConnectionsModel::StateColumn).data().toString(),
                 model.index(1, ConnectionsModel::StateColumn).data().toString());
    }
    model.flushChanges();
    QCOMPARE(inserted.count(), 1);
}

void TestConnectionsModel::indexOfAWaitingNodeMakesItARow() {
    MessageLogModel log;
    ConnectionHub hub(&log);
    ConnectionsModel model(&hub);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    addLogged(hub, QStringLiteral("a"));
    const quint32 b = addLogged(hub, QStringLiteral("b"));
    const QModelIndex index = model.indexOf(b);
    QVERIFY(index.isValid());
    QCOMPARE(index.row(), 2);
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(model.rowCount(), 3);
}

void TestConnectionsModel::addedNodesAreRowsByTheTimer() {
    MessageLogModel log;
    ConnectionHub hub(&log);
    ConnectionsModel model(&hub);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    addLogged(hub, QStringLiteral("a"));
    addLogged(hub, QStringLiteral("b"));
    QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 3, 10'000);
    QCOMPARE(inserted.count(), 1);
}

void TestConnectionsModel::changesWaitAndAreToldTogether() {
    MessageLogModel log;
    ConnectionHub hub(&log);
    ConnectionsModel model(&hub);
    const quint32 a = addLogged(hub, QStringLiteral("a"));
    addLogged(hub, QStringLiteral("b"));
    const quint32 c = addLogged(hub, QStringLiteral("c"));
    model.flushChanges(); // the "All" node's count after the additions
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);

    // A burst of changes, as a busy relay's legs make them: nothing is told yet.
    emit hub.endpointsChanged({a});
    emit hub.endpointsChanged({c});
    emit hub.endpointsChanged({a, c});
    QCOMPARE(changed.count(), 0);

    // Then one dataChanged over the rows of a..c, and one for "All".
    model.flushChanges();
    QCOMPARE(changed.count(), 2);
    QCOMPARE(changeOf(changed.at(0)), (Change{1, 3, 0, ConnectionsModel::ColumnCount - 1, true}));
    // "All connections" keeps its name: only its counts change.
    QCOMPARE(changeOf(changed.at(1)), (Change{0, 0, ConnectionsModel::StateColumn,
                                              ConnectionsModel::ColumnCount - 1, true}));

    // Told once: a second flush has nothing to tell.
    model.flushChanges();
    QCOMPARE(changed.count(), 2);

    // Their names were told: changes that leave them are told from the state column.
    emit hub.endpointsChanged({a, c});
    model.flushChanges();
    QCOMPARE(changed.count(), 4);
    QCOMPARE(changeOf(changed.at(2)), (Change{1, 3, ConnectionsModel::StateColumn,
                                              ConnectionsModel::ColumnCount - 1, true}));
}

void TestConnectionsModel::changesAreToldByTheTimer() {
    MessageLogModel log;
    ConnectionHub hub(&log);
    ConnectionsModel model(&hub);
    addLogged(hub, QStringLiteral("a"));
    const quint32 b = addLogged(hub, QStringLiteral("b"));
    model.flushChanges();
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    emit hub.endpointsChanged({b});
    QCOMPARE(changed.count(), 0);
    QTRY_COMPARE_WITH_TIMEOUT(changed.count(), 2, 10'000);
    QCOMPARE(changeOf(changed.at(0)), (Change{2, 2, 0, ConnectionsModel::ColumnCount - 1, true}));
    QCOMPARE(changeOf(changed.at(1)), (Change{0, 0, ConnectionsModel::StateColumn,
                                              ConnectionsModel::ColumnCount - 1, true}));
}

void TestConnectionsModel::nothingPendingTellsNothing() {
    MessageLogModel log;
    ConnectionHub hub(&log);
    ConnectionsModel model(&hub);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.flushChanges();
    QCOMPARE(changed.count(), 0);
    // A change of an endpoint the hub does not know tells only "All".
    emit hub.endpointsChanged({4242});
    model.flushChanges();
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changeOf(changed.at(0)), (Change{0, 0, ConnectionsModel::StateColumn,
                                              ConnectionsModel::ColumnCount - 1, true}));
}

void TestConnectionsModel::nameColumnToldOnlyWhenItChanges() {
    // A client whose connection is refused: its error turns its name red and its icon
    // to a warning, so that change is told from the name column on.
    MessageLogModel log;
    ConnectionHub hub(&log);
    ConnectionsModel model(&hub);
    QTcpServer closed; // a port nobody listens on once it is closed
    QVERIFY(closed.listen(QHostAddress::LocalHost, 0));
    const quint16 port = closed.serverPort();
    closed.close();
    ClientOptions options;
    options.url = QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port));
    const quint32 id = hub.openClient(options);
    // Its row, then its name told once (the refusal comes from the event loop, which
    // does not run before the QTRY below).
    model.flushChanges();
    emit hub.endpointsChanged({id});
    model.flushChanges();
    emit hub.endpointsChanged({id});
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.flushChanges();
    QCOMPARE(changeOf(changed.at(0)), (Change{1, 1, ConnectionsModel::StateColumn,
                                              ConnectionsModel::ColumnCount - 1, true}));
    changed.clear();
    const QModelIndex row = model.indexOf(id);
    QTRY_VERIFY_WITH_TIMEOUT(!row.siblingAtColumn(ConnectionsModel::StateColumn)
                                     .data(Qt::DisplayRole)
                                     .toString()
                                     .isEmpty() &&
                                 model.data(row, Qt::ForegroundRole).isValid(),
                             10'000);
    model.flushChanges();
    QVERIFY(!changed.isEmpty());
    QCOMPARE(changeOf(changed.at(0)), (Change{1, 1, 0, ConnectionsModel::ColumnCount - 1, true}));
}

void TestConnectionsModel::insertionIntervalFollowsLayoutCost() {
    // A layout may take a fiftieth of the time: 10 ms of layout, one insertion in 500 ms.
    QCOMPARE(ConnectionsModel::insertIntervalForLayout(10'000'000), 500);
    QCOMPARE(ConnectionsModel::insertIntervalForLayout(0), ConnectionsModel::ChangeCoalescingMs);
    QCOMPARE(ConnectionsModel::insertIntervalForLayout(2'000'000),
             ConnectionsModel::ChangeCoalescingMs);
    QCOMPARE(ConnectionsModel::insertIntervalForLayout(60'000'000'000),
             ConnectionsModel::MaxInsertIntervalMs);
    MessageLogModel log;
    ConnectionHub hub(&log);
    ConnectionsModel model(&hub);
    QCOMPARE(model.insertIntervalMs(), ConnectionsModel::ChangeCoalescingMs);
    model.setInsertIntervalMs(1);
    QCOMPARE(model.insertIntervalMs(), ConnectionsModel::ChangeCoalescingMs);
    model.setInsertIntervalMs(1'000'000);
    QCOMPARE(model.insertIntervalMs(), ConnectionsModel::MaxInsertIntervalMs);
}

void TestConnectionsModel::addedNodesWaitForTheInsertionInterval() {
    MessageLogModel log;
    ConnectionHub hub(&log);
    ConnectionsModel model(&hub);
    const quint32 a = addLogged(hub, QStringLiteral("a"));
    model.flushChanges();
    model.setInsertIntervalMs(4000);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    addLogged(hub, QStringLiteral("b"));
    emit hub.endpointsChanged({a});
    // The change of a row is told by the coalescing timer; the added node waits for
    // its turn, well after that.
    QTRY_VERIFY_WITH_TIMEOUT(!changed.isEmpty(), 3000);
    QCOMPARE(inserted.count(), 0);
    QCOMPARE(model.rowCount(), 2);
    QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 3, 10'000);
    QCOMPARE(inserted.count(), 1);
    // A shorter interval that has come due makes the waiting nodes rows at once.
    addLogged(hub, QStringLiteral("c"));
    model.setInsertIntervalMs(ConnectionsModel::ChangeCoalescingMs);
    QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 4, 3000);
    // flushChanges() does not wait.
    model.setInsertIntervalMs(ConnectionsModel::MaxInsertIntervalMs);
    addLogged(hub, QStringLiteral("d"));
    model.flushChanges();
    QCOMPARE(model.rowCount(), 5);
}

// A layout of a tree with a row or two costs far less than the shortest interval's share
// (2 ms), but a busy machine may stall any one layout past that, so a few tries.
static bool layoutMakesInsertionsQuick(ConnectionsPanel &panel) {
    for (int attempt = 0; attempt < 10; ++attempt) {
        panel.treeView()->doItemsLayout();
        if (panel.model()->insertIntervalMs() == ConnectionsModel::ChangeCoalescingMs)
            return true;
        QTest::qWait(50);
    }
    qWarning("insertion interval after ten layouts: %d ms", panel.model()->insertIntervalMs());
    return false;
}

void TestConnectionsModel::treeOfManyNodesInsertsLessOften() {
    // The panel's tree tells the model what its layouts cost: with tens of thousands of
    // nodes that is many milliseconds, and added nodes wait longer to become rows.
    MessageLogModel log;
    ConnectionHub hub(&log);
    ConnectionsPanel panel(&hub);
    panel.resize(400, 300);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    ConnectionsModel *model = panel.model();
    QVERIFY(layoutMakesInsertionsQuick(panel));
    // As many nodes as make a layout take 20 ms on this machine (timed from outside,
    // so the tree's own measure is a little less).
    qint64 layoutNs = 0;
    int nodes = 0;
    for (int batch = 50'000; layoutNs < 20'000'000 && nodes < 800'000; batch = nodes) {
        for (int i = 0; i < batch; ++i)
            addLogged(hub, QStringLiteral("pair %1").arg(nodes + i));
        nodes += batch;
        model->flushChanges();
        QElapsedTimer timer;
        timer.start();
        panel.treeView()->doItemsLayout();
        layoutNs = timer.nsecsElapsed();
    }
    QVERIFY2(model->insertIntervalMs() >= ConnectionsModel::insertIntervalForLayout(layoutNs / 2),
             qPrintable(QStringLiteral("%1 nodes, layout %2 ms, interval %3 ms")
                            .arg(nodes)
                            .arg(layoutNs / 1e6)
                            .arg(model->insertIntervalMs())));
    QVERIFY(model->insertIntervalMs() > ConnectionsModel::ChangeCoalescingMs);
    // Forgotten, the nodes cost nothing to lay out: insertions are quick again.
    hub.removeFinished();
    QCOMPARE(model->rowCount(), 1);
    QVERIFY(layoutMakesInsertionsQuick(panel));
}

QTEST_MAIN(TestConnectionsModel)
#include "tst_connectionsmodel.moc"

void TestConnectionsModel::finishedBeyondTheLimitLeaveTheTree() {
    // Our clients through our relay to our server: each makes a pair (with two legs)
    // under the relay and a client under the server. Each listener keeps its newest 4
    // finished ones; the older go a batch at a time, rows removed in place, so that
    // what is expanded and selected stays so. Their rows stay in the log.
    MessageLogModel log;
    ConnectionHub hub(&log);
    hub.setFinishedKept(4);
    ConnectionsModel model(&hub);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QTreeView view;
    view.setModel(&model);
    ServerOptions serverOptions;
    serverOptions.port = 0;
    QString error;
    const quint32 serverId = hub.startServer(serverOptions, &error);
    QVERIFY2(serverId != 0, qPrintable(error));
    RelayOptions relayOptions;
    relayOptions.target =
        QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(hub.server(serverId)->port()));
    const quint32 relayId = hub.startRelay(relayOptions, &error);
    QVERIFY2(relayId != 0, qPrintable(error));
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);

    QList<quint32> pairs;   // in the order they came
    QList<quint32> clients; // the client legs
    const auto connectOnce = [&] {
        ClientOptions options;
        options.url = QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(hub.relay(relayId)->port()));
        const quint32 client = hub.openClient(options);
        QTRY_VERIFY_WITH_TIMEOUT(hub.isOpen(client), 10'000);
        QCOMPARE(hub.sendClose(client, 1000, {}), SendError::None);
        QTRY_VERIFY_WITH_TIMEOUT(hub.info(client)->finished, 10'000);
        QTRY_COMPARE_WITH_TIMEOUT(hub.livePairsOf(relayId).size(), 0, 10'000);
        const QList<quint32> below = hub.descendantsOf(relayId);
        QVERIFY(!below.isEmpty());
        // Depth first: the newest pair is the last but its two legs.
        pairs.append(below.at(below.size() - 3));
        clients.append(hub.legOf(pairs.last(), log::Leg::Client));
        const auto serverClientsFinished = [&] {
            const QList<quint32> ids = hub.clientsOf(serverId);
            return std::all_of(ids.cbegin(), ids.cend(),
                               [&](quint32 id) { return hub.info(id)->finished; });
        };
        QTRY_VERIFY_WITH_TIMEOUT(serverClientsFinished(), 10'000);
    };
    for (int i = 0; i < 6; ++i)
        connectOnce();
    model.flushChanges();
    // Six finished pairs: 4 and half of 4 are kept.
    QCOMPARE(model.rowCount(model.indexOf(relayId)), 6);
    view.expand(model.indexOf(relayId));
    view.setCurrentIndex(model.indexOf(pairs.at(4)));
    QCOMPARE(view.currentIndex(), model.indexOf(pairs.at(4)));

    // The seventh makes one too many: the three oldest go, with their legs.
    connectOnce();
    for (int i = 0; i < 3; ++i)
        QVERIFY(!hub.info(pairs.at(i)) && !hub.info(clients.at(i)));
    for (int i = 3; i < 7; ++i)
        QVERIFY(hub.info(pairs.at(i)));
    model.flushChanges();
    const QModelIndex relayIndex = model.indexOf(relayId);
    QCOMPARE(model.rowCount(relayIndex), 4);
    for (int row = 0; row < 4; ++row)
        QCOMPARE(model.idOf(model.index(row, 0, relayIndex)), pairs.at(row + 3));
    QCOMPARE(model.rowCount(model.indexOf(pairs.at(6))), 2);
    // In place, not rebuilt: still expanded, the same pair still current.
    QCOMPARE(resets.size(), 0);
    QVERIFY(view.isExpanded(relayIndex));
    QCOMPARE(view.currentIndex(), model.indexOf(pairs.at(4)));

    // The server keeps its newest clients the same way.
    QCOMPARE(hub.clientsOf(serverId).size(), 4);
    QCOMPARE(model.rowCount(model.indexOf(serverId)), 4);

    // The log still has the rows of a forgotten leg.
    log.flush();
    bool logged = false;
    for (int row = 0; row < log.rowCount() && !logged; ++row)
        logged = log.record(row)->connection == clients.at(0);
    QVERIFY(logged);
    // ... and still names it, until its rows are gone: then only connections the
    // hub still has are known to the log.
    const log::LogStore &store = log.store();
    QCOMPARE(store.connectionInfo(clients.at(0)).leg, log::Leg::Client);
    QVERIFY(store.releasedCount() > 0);
    log.clear();
    QCOMPARE(store.connectionInfo(clients.at(0)), log::ConnectionInfo{});
    QCOMPARE(store.connectionInfo(clients.at(6)).leg, log::Leg::Client);
    QCOMPARE(store.releasedCount(), 0);
    for (const quint32 id : store.connectionIds())
        QVERIFY2(hub.info(id), qPrintable(QString::number(id)));

    // Many more: never more than 6 finished pairs at a time.
    for (int i = 0; i < 6; ++i) {
        connectOnce();
        QVERIFY(hub.descendantsOf(relayId).size() <= 6 * 3);
    }
    model.flushChanges();
    QCOMPARE(model.rowCount(model.indexOf(relayId)), int(hub.descendantsOf(relayId).size() / 3));
}

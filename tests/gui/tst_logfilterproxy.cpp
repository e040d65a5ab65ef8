// LogFilterProxy: connection, direction and kind filters and the display filter over the
// log, on the GUI thread and off it.

#include "guitesthelpers.h"

#include "models/logfilterproxy.h"
#include "models/messagelogmodel.h"

#include <QAbstractItemModelTester>
#include <QElapsedTimer>
#include <QHeaderView>
#include <QSignalSpy>
#include <QTableView>
#include <QTest>
#include <QTimer>

#include <limits>

using namespace ws;
using namespace ws::log;
using namespace wstest;

namespace {

// Two connections exchanging JSON-ish text, binary, pings and a violation.
void fill(MessageLogModel &model) {
    model.store().setClockOffset(0);
    qint64 t = 0;
    for (quint32 connection : {1u, 2u}) {
        model.appendEvent(connection, StateEvent{++t, SessionState::Open});
        model.appendEvents(connection, textMessage(Direction::Outgoing, ++t,
                                                   R"({"op":"subscribe","topic":"ticker"})"));
        model.appendEvents(connection,
                           textMessage(Direction::Incoming, ++t, R"({"op":"ack","id":7})"));
        model.appendEvents(
            connection, textMessage(Direction::Incoming, ++t, R"({"op":"tick","price":"101.5"})"));
        model.appendEvent(
            connection, frameEvent(Direction::Incoming, ++t, 0x2, QByteArray::fromHex("deadbeef")));
        model.appendEvent(connection, messageEvent(Direction::Incoming, t, Opcode::Binary,
                                                   QByteArray::fromHex("deadbeef")));
        model.appendEvent(connection, frameEvent(Direction::Outgoing, ++t, 0x9, "Keepalive"));
        model.appendEvent(connection, frameEvent(Direction::Incoming, ++t, 0xA, "Keepalive"));
        model.appendEvent(connection, PongEvent{t, "Keepalive", qint64(900)});
    }
    ProtocolViolation violation;
    violation.error = ProtocolError::InvalidUtf8;
    violation.reason = QStringLiteral("text message is not UTF-8 (RFC 6455 §8.1)");
    model.appendEvent(2, ViolationEvent{++t, violation});
    model.flush();
}

// `count` text messages on connections 1-3, alternating direction, some JSON.
void fillMany(MessageLogModel &model, int count, int firstNumber = 0) {
    model.store().setClockOffset(0);
    for (int i = firstNumber; i < firstNumber + count; ++i) {
        LogRecord record;
        record.connection = quint32(1 + i % 3);
        record.kind = i % 5 == 0 ? LogKind::Binary : LogKind::Text;
        record.timestampUs = i;
        record.payload = i % 7 == 0 ? R"({"type":"tick","n":)" + QByteArray::number(i) + "}"
                                    : "message " + QByteArray::number(i);
        record.length = quint64(record.payload.size());
        record.frameCount = 1;
        record.set(LogRecord::InMessageView);
        record.set(LogRecord::InFrameView, i % 2 == 0);
        record.set(LogRecord::Outgoing, i % 2 == 0);
        model.appendRecord(record);
    }
    model.flush();
}

// The source rows a filter keeps, computed on this thread by a proxy of its own.
std::vector<int> expectedRows(MessageLogModel &model, const QString &filter) {
    LogFilterProxy reference;
    reference.setAsynchronousThreshold(std::numeric_limits<int>::max());
    reference.setSourceModel(&model);
    if (!reference.setDisplayFilter(filter))
        return {};
    std::vector<int> rows;
    for (int row = 0; row < reference.rowCount(); ++row)
        rows.push_back(reference.mapToSource(reference.index(row, 0)).row());
    return rows;
}

std::vector<int> shownRows(const LogFilterProxy &proxy) {
    std::vector<int> rows;
    for (int row = 0; row < proxy.rowCount(); ++row)
        rows.push_back(proxy.mapToSource(proxy.index(row, 0)).row());
    return rows;
}

QStringList previews(const LogFilterProxy &proxy) {
    QStringList list;
    for (int row = 0; row < proxy.rowCount(); ++row)
        list.append(proxy.index(row, MessageLogModel::PreviewColumn).data().toString());
    return list;
}

} // namespace

class TestLogFilterProxy : public QObject {
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void unfilteredShowsEverything();
    void byDirection_data();
    void byDirection();
    void byKind();
    void byConnection();
    void byDisplayFilter();
    void byRegularExpression();
    void invalidDisplayFilter();
    void combined();
    void newRowsAreFiltered();
    void followsDisplayMode();
    void storeIndexThroughTheProxy();
    void timeSincePreviousShownRow();
    void refilterKeepsTheCurrentRow();
    void droppedRowsLeaveTheProxy();
    void staysConsistent();
    void offThreadMatchesOnThread_data();
    void offThreadMatchesOnThread();
    void newerFilterCancelsTheRunningOne();
    void rowsAppendedWhileFiltering();
    void rowsDroppedWhileFiltering();
    void resetWhileFiltering();
    void quickFiltersGoOffThreadToo();
    void guiThreadNotBlocked();
    void destroyedWhileFiltering();
    void sourceDestroyedWhileFiltering();

private:
    MessageLogModel *m_model = nullptr;
    LogFilterProxy *m_proxy = nullptr;
};

void TestLogFilterProxy::init() {
    m_model = new MessageLogModel;
    fill(*m_model);
    m_proxy = new LogFilterProxy;
    m_proxy->setSourceModel(m_model);
}

void TestLogFilterProxy::cleanup() {
    delete m_proxy;
    delete m_model;
}

// "Since previous row" counts from the previous row shown, not the previous one in
// the log, as Wireshark's "since previous displayed packet" does.
void TestLogFilterProxy::timeSincePreviousShownRow() {
    MessageLogModel model;
    model.store().setClockOffset(0);
    model.appendEvents(1, textMessage(Direction::Outgoing, 1'000'000, "a"));
    model.appendEvents(2, textMessage(Direction::Incoming, 1'250'000, "b"));
    model.appendEvents(1, textMessage(Direction::Incoming, 3'000'500, "c"));
    model.flush();
    LogFilterProxy proxy;
    proxy.setSourceModel(&model);
    model.setTimeFormat(MessageLogModel::TimeFormat::SincePreviousRow);
    const auto column = [&proxy] {
        QStringList texts;
        for (int row = 0; row < proxy.rowCount(); ++row)
            texts << proxy.index(row, MessageLogModel::TimeColumn).data().toString();
        return texts;
    };
    QCOMPARE(column(), (QStringList{"0.000000", "0.250000", "1.750500"}));
    proxy.setConnectionFilter({1});
    QCOMPARE(column(), (QStringList{"0.000000", "2.000500"}));
    QVERIFY(proxy.setDisplayFilter(QStringLiteral("dir == in")));
    QCOMPARE(column(), (QStringList{"0.000000"}));
    // Other formats are the log's own.
    model.setTimeFormat(MessageLogModel::TimeFormat::SinceLogStart);
    QCOMPARE(column(), (QStringList{"2.000500"}));
}

void TestLogFilterProxy::unfilteredShowsEverything() {
    QCOMPARE(m_model->rowCount(), 15);
    QCOMPARE(m_proxy->rowCount(), m_model->rowCount());
    QVERIFY(!m_proxy->isFiltering());
}

void TestLogFilterProxy::byDirection_data() {
    QTest::addColumn<int>("directions");
    QTest::addColumn<int>("expectedRows");
    QTest::addColumn<int>("expectedRole"); // DirectionRole of every row, -1: mixed
    QTest::newRow("sent") << int(LogFilterProxy::Sent) << 4 << 1;
    QTest::newRow("received") << int(LogFilterProxy::Received) << 9 << 0;
    QTest::newRow("undirected") << int(LogFilterProxy::Undirected) << 2 << 2;
    QTest::newRow("sent+received")
        << int(LogFilterProxy::Sent | LogFilterProxy::Received) << 13 << -1;
    QTest::newRow("none") << 0 << 0 << -1;
}

void TestLogFilterProxy::byDirection() {
    QFETCH(int, directions);
    QFETCH(int, expectedRows);
    QFETCH(int, expectedRole);
    m_proxy->setDirectionFilter(LogFilterProxy::Directions(directions));
    QCOMPARE(m_proxy->rowCount(), expectedRows);
    for (int row = 0; row < m_proxy->rowCount() && expectedRole >= 0; ++row)
        QCOMPARE(m_proxy->index(row, 0).data(MessageLogModel::DirectionRole).toInt(), expectedRole);
}

void TestLogFilterProxy::byKind() {
    m_proxy->setKindFilter(logKindBit(LogKind::Ping) | logKindBit(LogKind::Pong));
    QCOMPARE(m_proxy->rowCount(), 4);
    for (int row = 0; row < m_proxy->rowCount(); ++row) {
        const auto kind = LogKind(m_proxy->index(row, 0).data(MessageLogModel::KindRole).toInt());
        QVERIFY(kind == LogKind::Ping || kind == LogKind::Pong);
    }
    m_proxy->setKindFilter(logKindBit(LogKind::Error));
    QCOMPARE(previews(*m_proxy),
             QStringList{QStringLiteral("InvalidUtf8: text message is not UTF-8 (RFC 6455 §8.1)")});
    m_proxy->setKindFilter(AllLogKinds);
    QCOMPARE(m_proxy->rowCount(), 15);
}

void TestLogFilterProxy::byConnection() {
    m_proxy->setConnectionFilter({2});
    QCOMPARE(m_proxy->rowCount(), 8);
    for (int row = 0; row < m_proxy->rowCount(); ++row)
        QCOMPARE(m_proxy->index(row, 0).data(MessageLogModel::ConnectionRole).toUInt(), 2u);
    m_proxy->setConnectionFilter({});
    QCOMPARE(m_proxy->rowCount(), 15);
}

void TestLogFilterProxy::byDisplayFilter() {
    QVERIFY(m_proxy->setDisplayFilter(QStringLiteral("preview ~ \"TICK\"")));
    // Case-insensitive: the subscription to "ticker" and the tick itself.
    QCOMPARE(m_proxy->rowCount(), 4);
    QVERIFY(m_proxy->setDisplayFilter(QStringLiteral("text contains \"TICK\"")));
    QCOMPARE(m_proxy->rowCount(), 0);
    // The preview is what the log shows: binary as hex, pongs with their RTT.
    QVERIFY(m_proxy->setDisplayFilter(QStringLiteral("preview contains \"de ad be ef\"")));
    QCOMPARE(m_proxy->rowCount(), 2);
    QVERIFY(m_proxy->setDisplayFilter(QStringLiteral("rtt == 0.9")));
    QCOMPARE(m_proxy->rowCount(), 2);
    QVERIFY(m_proxy->setDisplayFilter(QStringLiteral("json.op == \"ack\" && dir == in")));
    QCOMPARE(previews(*m_proxy), (QStringList{R"({"op":"ack","id":7})", R"({"op":"ack","id":7})"}));
    QVERIFY(m_proxy->setDisplayFilter(QStringLiteral("opcode == 9 && conn.id == 2")));
    QCOMPARE(m_proxy->rowCount(), 1);
    QVERIFY(m_proxy->setDisplayFilter(QStringLiteral("error == InvalidUtf8")));
    QCOMPARE(previews(*m_proxy),
             QStringList{QStringLiteral("InvalidUtf8: text message is not UTF-8 (RFC 6455 §8.1)")});
    QVERIFY(m_proxy->isFiltering());
    QVERIFY(m_proxy->setDisplayFilter(QString()));
    QCOMPARE(m_proxy->rowCount(), 15);
    QVERIFY(!m_proxy->isFiltering());
}

void TestLogFilterProxy::byRegularExpression() {
    QVERIFY(m_proxy->setDisplayFilter(QStringLiteral(R"re(text ~ "^\\{\"op\":\"(ack|tick)\"")re")));
    QCOMPARE(previews(*m_proxy),
             (QStringList{R"({"op":"ack","id":7})", R"({"op":"tick","price":"101.5"})",
                          R"({"op":"ack","id":7})", R"({"op":"tick","price":"101.5"})"}));
    QVERIFY(m_proxy->setDisplayFilter(QStringLiteral(R"re(text ~ "\"price\":\"\\d+\\.\\d+\"")re")));
    QCOMPARE(m_proxy->rowCount(), 2);
    QVERIFY(m_proxy->isFiltering());
}

void TestLogFilterProxy::invalidDisplayFilter() {
    QVERIFY(m_proxy->setDisplayFilter(QStringLiteral("text contains \"tick\"")));
    QCOMPARE(m_proxy->rowCount(), 4);
    QVERIFY(!m_proxy->setDisplayFilter(QStringLiteral("text ~ \"(unclosed\"")));
    QVERIFY(m_proxy->displayFilterError().message.contains(QStringLiteral("regular expression")));
    QCOMPARE(m_proxy->displayFilterError().column, 8);
    // A broken expression leaves the rows as they were.
    QCOMPARE(m_proxy->rowCount(), 4);
    QCOMPARE(m_proxy->displayFilter(), QStringLiteral("text contains \"tick\""));
    QVERIFY(m_proxy->setDisplayFilter(QString()));
    QVERIFY(m_proxy->displayFilterError().isEmpty());
}

void TestLogFilterProxy::combined() {
    m_proxy->setConnectionFilter({1});
    m_proxy->setDirectionFilter(LogFilterProxy::Received);
    m_proxy->setKindFilter(logKindBit(LogKind::Text));
    QVERIFY(m_proxy->setDisplayFilter(QStringLiteral("text contains \"ack\"")));
    QCOMPARE(previews(*m_proxy), QStringList{R"({"op":"ack","id":7})"});
    m_proxy->resetFilters();
    QCOMPARE(m_proxy->rowCount(), 15);
    QVERIFY(!m_proxy->isFiltering());
}

void TestLogFilterProxy::newRowsAreFiltered() {
    m_proxy->setDirectionFilter(LogFilterProxy::Sent);
    QSignalSpy inserted(m_proxy, &QAbstractItemModel::rowsInserted);
    for (int i = 0; i < 100; ++i) {
        m_model->appendEvents(1, textMessage(i % 2 ? Direction::Incoming : Direction::Outgoing,
                                             1000 + i, QByteArray::number(i)));
    }
    m_model->flush();
    QCOMPARE(m_proxy->rowCount(), 4 + 50);
    // One batch from the model, one insertion through the proxy.
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(
        m_proxy->index(m_proxy->rowCount() - 1, MessageLogModel::PreviewColumn).data().toString(),
        QStringLiteral("98"));
}

void TestLogFilterProxy::followsDisplayMode() {
    m_model->appendEvent(1, frameEvent(Direction::Outgoing, 100, 0x1, "a", false));
    m_model->appendEvent(1, frameEvent(Direction::Outgoing, 101, 0x0, "b", true));
    m_model->appendEvent(1, messageEvent(Direction::Outgoing, 101, Opcode::Text, "ab", 2));
    m_model->flush();
    m_proxy->setKindFilter(logKindBit(LogKind::Continuation));
    QCOMPARE(m_proxy->rowCount(), 0);
    m_model->setDisplayMode(MessageLogModel::DisplayMode::Frames);
    QCOMPARE(m_proxy->rowCount(), 1);
    QCOMPARE(m_proxy->index(0, MessageLogModel::PreviewColumn).data().toString(),
             QStringLiteral("b"));
}

void TestLogFilterProxy::storeIndexThroughTheProxy() {
    m_proxy->setKindFilter(logKindBit(LogKind::Binary));
    QCOMPARE(m_proxy->rowCount(), 2);
    for (int row = 0; row < 2; ++row) {
        const qsizetype index = m_proxy->storeIndex(row);
        QCOMPARE(m_model->store().at(index).kind, LogKind::Binary);
        QCOMPARE(m_proxy->index(row, 0).data(MessageLogModel::StoreIndexRole).value<qsizetype>(),
                 index);
    }
    QCOMPARE(m_proxy->storeIndex(2), -1);
}

void TestLogFilterProxy::refilterKeepsTheCurrentRow() {
    QTableView view;
    view.setModel(m_proxy);
    view.resize(800, 400);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    // The received tick of connection 2.
    const int tickRow = 10;
    QCOMPARE(m_proxy->index(tickRow, MessageLogModel::PreviewColumn).data().toString(),
             QStringLiteral(R"({"op":"tick","price":"101.5"})"));
    view.setCurrentIndex(m_proxy->index(tickRow, 0));
    QSignalSpy layout(m_proxy, &QAbstractItemModel::layoutChanged);
    QSignalSpy removed(m_proxy, &QAbstractItemModel::rowsRemoved);
    m_proxy->setDirectionFilter(LogFilterProxy::Received);
    // One layout change, not a removal per rejected run.
    QCOMPARE(layout.count(), 1);
    QCOMPARE(removed.count(), 0);
    QCOMPARE(view.verticalHeader()->count(), m_proxy->rowCount());
    QCOMPARE(view.currentIndex().data(MessageLogModel::ConnectionRole).toUInt(), 2u);
    QCOMPARE(view.currentIndex()
                 .sibling(view.currentIndex().row(), MessageLogModel::PreviewColumn)
                 .data()
                 .toString(),
             QStringLiteral(R"({"op":"tick","price":"101.5"})"));
    // Filtered away: no current row.
    m_proxy->setKindFilter(logKindBit(LogKind::Binary));
    QVERIFY(!view.currentIndex().isValid());
    QCOMPARE(view.verticalHeader()->count(), 2);
}

void TestLogFilterProxy::droppedRowsLeaveTheProxy() {
    MessageLogModel model;
    model.store().setClockOffset(0);
    model.setCapacity(5000);
    LogFilterProxy proxy;
    proxy.setSourceModel(&model);
    proxy.setDirectionFilter(LogFilterProxy::Sent);
    QSignalSpy removed(&proxy, &QAbstractItemModel::rowsRemoved);
    for (int i = 0; i < 12'000; ++i)
        model.appendEvents(1, textMessage(i % 2 ? Direction::Incoming : Direction::Outgoing, i,
                                          QByteArray::number(i)));
    model.flush();
    QVERIFY(removed.count() >= 1);
    for (const QList<QVariant> &args : std::as_const(removed))
        QCOMPARE(args.at(1).toInt(), 0);
    // Still every sent row the log kept, in order.
    int expected = 0;
    for (int row = 0; row < model.rowCount(); ++row)
        expected += model.index(row, 0).data(MessageLogModel::DirectionRole).toInt() == 1 ? 1 : 0;
    QCOMPARE(proxy.rowCount(), expected);
    for (int row = 0; row < proxy.rowCount(); ++row) {
        const int value =
            proxy.index(row, MessageLogModel::PreviewColumn).data().toString().toInt();
        QCOMPARE(value % 2, 0);
        if (row > 0)
            QCOMPARE(
                value,
                proxy.index(row - 1, MessageLogModel::PreviewColumn).data().toString().toInt() + 2);
    }
    QCOMPARE(proxy.index(proxy.rowCount() - 1, MessageLogModel::PreviewColumn).data().toString(),
             QStringLiteral("11998"));
}

void TestLogFilterProxy::staysConsistent() {
    // Qt's own model checker watches every signal the proxy and the log emit.
    MessageLogModel model;
    model.store().setClockOffset(0);
    model.setCapacity(3000);
    QAbstractItemModelTester modelTester(&model,
                                         QAbstractItemModelTester::FailureReportingMode::QtTest);
    LogFilterProxy proxy;
    proxy.setSourceModel(&model);
    QAbstractItemModelTester proxyTester(&proxy,
                                         QAbstractItemModelTester::FailureReportingMode::QtTest);
    for (int round = 0; round < 8; ++round) {
        for (int i = 0; i < 1000; ++i)
            model.appendEvents(quint32(1 + i % 3),
                               textMessage(i % 2 ? Direction::Incoming : Direction::Outgoing,
                                           round * 1000 + i, QByteArray::number(i)));
        model.flush();
        switch (round % 4) {
        case 0:
            proxy.setConnectionFilter({2});
            break;
        case 1:
            QVERIFY(proxy.setDisplayFilter(QStringLiteral("text ~ \"^[0-9]*7$\"")));
            break;
        case 2:
            model.setDisplayMode(MessageLogModel::DisplayMode::Frames);
            break;
        default:
            proxy.resetFilters();
            model.setDisplayMode(MessageLogModel::DisplayMode::Messages);
            break;
        }
    }
    QCOMPARE(proxy.rowCount(), model.rowCount());
    proxy.setSourceModel(nullptr);
    QCOMPARE(proxy.rowCount(), 0);
}

void TestLogFilterProxy::offThreadMatchesOnThread_data() {
    QTest::addColumn<QString>("filter");
    QTest::newRow("opcode") << "opcode == 2";
    QTest::newRow("direction and length") << "dir == out && len > 12";
    QTest::newRow("json") << "json.type == \"tick\" && json.n > 5000";
    QTest::newRow("regex") << "text ~ \"7$\"";
    QTest::newRow("connection name") << "conn == \"#2\" || conn.id == 3";
    QTest::newRow("preview (reads extras)") << "preview contains \"message 1\"";
    QTest::newRow("nothing") << "opcode == 9";
}

void TestLogFilterProxy::offThreadMatchesOnThread() {
    QFETCH(QString, filter);
    MessageLogModel model;
    fillMany(model, 30'000);
    LogFilterProxy proxy;
    proxy.setAsynchronousThreshold(0);
    proxy.setSourceModel(&model);
    QSignalSpy started(&proxy, &LogFilterProxy::filteringStarted);
    QSignalSpy finished(&proxy, &LogFilterProxy::filteringFinished);
    QVERIFY(proxy.setDisplayFilter(filter));
    QVERIFY(proxy.isBusy());
    QCOMPARE(started.count(), 1);
    // Until the worker is done, the previous result (everything) stays.
    QCOMPARE(proxy.rowCount(), model.rowCount());
    QVERIFY(finished.wait(10'000));
    QVERIFY(!proxy.isBusy());
    QCOMPARE(shownRows(proxy), expectedRows(model, filter));
}

void TestLogFilterProxy::newerFilterCancelsTheRunningOne() {
    MessageLogModel model;
    fillMany(model, 50'000);
    LogFilterProxy proxy;
    proxy.setAsynchronousThreshold(0);
    proxy.setSourceModel(&model);
    QSignalSpy layout(&proxy, &QAbstractItemModel::layoutChanged);
    QSignalSpy finished(&proxy, &LogFilterProxy::filteringFinished);
    // What typing does: each keystroke replaces the filter still running.
    for (const char *text : {"text ~ \"1\"", "text ~ \"12\"", "text ~ \"123\""})
        QVERIFY(proxy.setDisplayFilter(QString::fromLatin1(text)));
    QVERIFY(finished.wait(10'000));
    QTest::qWait(50); // a cancelled job would report by now
    QCOMPARE(finished.count(), 1);
    QCOMPARE(layout.count(), 1);
    QCOMPARE(shownRows(proxy), expectedRows(model, QStringLiteral("text ~ \"123\"")));
}

void TestLogFilterProxy::rowsAppendedWhileFiltering() {
    MessageLogModel model;
    fillMany(model, 30'000);
    LogFilterProxy proxy;
    proxy.setAsynchronousThreshold(0);
    proxy.setSourceModel(&model);
    QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    const QString filter = QStringLiteral("dir == out && text contains \"9\"");
    QVERIFY(proxy.setDisplayFilter(filter));
    QVERIFY(proxy.isBusy());
    // The worker's result cannot arrive before the event loop runs: these rows come
    // after its snapshot, while the old criteria (none) are still shown.
    QSignalSpy inserted(&proxy, &QAbstractItemModel::rowsInserted);
    fillMany(model, 1000, 30'000);
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(proxy.rowCount(), 31'000);
    QSignalSpy finished(&proxy, &LogFilterProxy::filteringFinished);
    QVERIFY(finished.wait(10'000));
    QCOMPARE(shownRows(proxy), expectedRows(model, filter));
    QVERIFY(shownRows(proxy).back() >= 30'000);
    // And once shown, new rows are filtered as they come.
    fillMany(model, 1000, 31'000);
    QCOMPARE(shownRows(proxy), expectedRows(model, filter));
}

void TestLogFilterProxy::rowsDroppedWhileFiltering() {
    MessageLogModel model;
    model.setCapacity(40'000);
    fillMany(model, 40'000);
    LogFilterProxy proxy;
    proxy.setAsynchronousThreshold(0);
    proxy.setSourceModel(&model);
    QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    const QString filter = QStringLiteral("text ~ \"[13579]$\"");
    QVERIFY(proxy.setDisplayFilter(filter));
    // The log drops its oldest rows while the worker reads them.
    for (int batch = 0; batch < 10; ++batch) {
        fillMany(model, 2000, 40'000 + batch * 2000);
        QTest::qWait(1);
    }
    QSignalSpy finished(&proxy, &LogFilterProxy::filteringFinished);
    QVERIFY(proxy.isBusy() || finished.count() == 0);
    if (proxy.isBusy())
        QVERIFY(finished.wait(10'000));
    QVERIFY(model.store().droppedCount() > 0);
    QCOMPARE(shownRows(proxy), expectedRows(model, filter));
    QCOMPARE(proxy.index(proxy.rowCount() - 1, MessageLogModel::PreviewColumn).data().toString(),
             QStringLiteral("message 59999"));
}

void TestLogFilterProxy::resetWhileFiltering() {
    MessageLogModel model;
    fillMany(model, 30'000);
    LogFilterProxy proxy;
    proxy.setAsynchronousThreshold(0);
    proxy.setSourceModel(&model);
    QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    const QString filter = QStringLiteral("opcode == 1 && dir == out");
    QVERIFY(proxy.setDisplayFilter(filter));
    // Frames mode: another set of rows; the running job is void.
    model.setDisplayMode(MessageLogModel::DisplayMode::Frames);
    QSignalSpy finished(&proxy, &LogFilterProxy::filteringFinished);
    QVERIFY(proxy.isBusy());
    QVERIFY(finished.wait(10'000));
    QCOMPARE(shownRows(proxy), expectedRows(model, filter));
    // Cleared while filtering: nothing left, nothing read.
    QVERIFY(proxy.setDisplayFilter(QStringLiteral("opcode == 2")));
    model.clear();
    QTest::qWait(100);
    QCOMPARE(proxy.rowCount(), 0);
    QVERIFY(!proxy.isBusy());
}

void TestLogFilterProxy::quickFiltersGoOffThreadToo() {
    MessageLogModel model;
    fillMany(model, 30'000);
    LogFilterProxy proxy;
    proxy.setAsynchronousThreshold(10'000);
    proxy.setSourceModel(&model);
    QSignalSpy finished(&proxy, &LogFilterProxy::filteringFinished);
    proxy.setKindFilter(logKindBit(LogKind::Binary));
    QVERIFY(proxy.isBusy());
    QVERIFY(finished.wait(10'000));
    QCOMPARE(shownRows(proxy), expectedRows(model, QStringLiteral("kind == binary")));
    proxy.setConnectionFilter({2});
    QVERIFY(finished.wait(10'000));
    QCOMPARE(shownRows(proxy),
             expectedRows(model, QStringLiteral("kind == binary && conn.id == 2")));
    // Showing everything needs no worker.
    proxy.resetFilters();
    QVERIFY(!proxy.isBusy());
    QCOMPARE(proxy.rowCount(), model.rowCount());
}

void TestLogFilterProxy::guiThreadNotBlocked() {
    // A filter that takes the worker a good while (the preview is built for every row).
    MessageLogModel model;
    fillMany(model, 300'000);
    LogFilterProxy proxy;
    proxy.setSourceModel(&model);
    QVERIFY(model.rowCount() > proxy.asynchronousThreshold());
    QElapsedTimer timer;
    timer.start();
    QVERIFY(proxy.setDisplayFilter(QStringLiteral("preview ~ \"^message .*(1|2)3$\"")));
    const qint64 setMs = timer.elapsed();
    QVERIFY(proxy.isBusy());
    // The event loop keeps turning while the worker filters: a timer every 5 ms
    // fires meanwhile.
    qint64 worstGapMs = 0;
    qint64 last = timer.elapsed();
    int ticks = 0;
    QTimer ticker;
    ticker.setInterval(5);
    connect(&ticker, &QTimer::timeout, &ticker, [&] {
        const qint64 now = timer.elapsed();
        worstGapMs = std::max(worstGapMs, now - last);
        last = now;
        ++ticks;
    });
    ticker.start();
    QSignalSpy finished(&proxy, &LogFilterProxy::filteringFinished);
    QVERIFY(finished.wait(30'000));
    ticker.stop();
    qInfo("set: %lld ms, filtered in %lld ms, %d ticks meanwhile, worst gap %lld ms", setMs,
          timer.elapsed(), ticks, worstGapMs);
    // The loop turned while the worker filtered; how evenly is for scripts/guibench.sh.
    QVERIFY(ticks >= 3);
    QCOMPARE(shownRows(proxy),
             expectedRows(model, QStringLiteral("preview ~ \"^message .*(1|2)3$\"")));
}

void TestLogFilterProxy::destroyedWhileFiltering() {
    MessageLogModel model;
    fillMany(model, 100'000);
    auto *proxy = new LogFilterProxy;
    proxy->setAsynchronousThreshold(0);
    proxy->setSourceModel(&model);
    QVERIFY(proxy->setDisplayFilter(QStringLiteral("preview contains \"9\"")));
    QVERIFY(proxy->isBusy());
    delete proxy; // waits for the worker, which stops at its next block
    QTest::qWait(20);
    QCOMPARE(model.rowCount(), 100'000);
}

void TestLogFilterProxy::sourceDestroyedWhileFiltering() {
    // The window destroys the log before the panel that filters it.
    auto *model = new MessageLogModel;
    fillMany(*model, 100'000);
    LogFilterProxy proxy;
    proxy.setAsynchronousThreshold(0);
    proxy.setSourceModel(model);
    QVERIFY(proxy.setDisplayFilter(QStringLiteral("preview contains \"9\"")));
    QVERIFY(proxy.isBusy());
    delete model;
    // The worker was stopped before the records went, and reports nothing.
    QVERIFY(!proxy.isBusy());
    QTest::qWait(200);
    QCOMPARE(proxy.rowCount(), 0);
}

QTEST_MAIN(TestLogFilterProxy)
#include "tst_logfilterproxy.moc"

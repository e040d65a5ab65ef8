// LogFilterProxy: connection, direction, kind and text filters over the log.

#include "guitesthelpers.h"

#include "models/logfilterproxy.h"
#include "models/messagelogmodel.h"

#include <QAbstractItemModelTester>
#include <QHeaderView>
#include <QSignalSpy>
#include <QTableView>
#include <QTest>

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
    void byPlainText();
    void byRegularExpression();
    void invalidRegularExpression();
    void combined();
    void newRowsAreFiltered();
    void followsDisplayMode();
    void storeIndexThroughTheProxy();
    void refilterKeepsTheCurrentRow();
    void droppedRowsLeaveTheProxy();
    void staysConsistent();

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

void TestLogFilterProxy::byPlainText() {
    QVERIFY(m_proxy->setTextFilter(QStringLiteral("TICK")));
    // Case-insensitive by default: the subscription to "ticker" and the tick itself.
    QCOMPARE(m_proxy->rowCount(), 4);
    QVERIFY(m_proxy->setTextFilter(QStringLiteral("TICK"), LogFilterProxy::TextMode::Plain,
                                   Qt::CaseSensitive));
    QCOMPARE(m_proxy->rowCount(), 0);
    // The preview is what is matched: binary shows as hex, pongs with their RTT.
    QVERIFY(m_proxy->setTextFilter(QStringLiteral("de ad be ef")));
    QCOMPARE(m_proxy->rowCount(), 2);
    QVERIFY(m_proxy->setTextFilter(QStringLiteral("RTT 0.900 ms")));
    QCOMPARE(m_proxy->rowCount(), 2);
    QVERIFY(m_proxy->setTextFilter(QString()));
    QCOMPARE(m_proxy->rowCount(), 15);
}

void TestLogFilterProxy::byRegularExpression() {
    QVERIFY(m_proxy->setTextFilter(QStringLiteral(R"re(^\{"op":"(ack|tick)")re"),
                                   LogFilterProxy::TextMode::RegularExpression));
    QCOMPARE(previews(*m_proxy),
             (QStringList{R"({"op":"ack","id":7})", R"({"op":"tick","price":"101.5"})",
                          R"({"op":"ack","id":7})", R"({"op":"tick","price":"101.5"})"}));
    QVERIFY(m_proxy->setTextFilter(QStringLiteral(R"re("price":"\d+\.\d+")re"),
                                   LogFilterProxy::TextMode::RegularExpression));
    QCOMPARE(m_proxy->rowCount(), 2);
    QVERIFY(m_proxy->isFiltering());
}

void TestLogFilterProxy::invalidRegularExpression() {
    QVERIFY(m_proxy->setTextFilter(QStringLiteral("tick")));
    QCOMPARE(m_proxy->rowCount(), 4);
    QVERIFY(!m_proxy->setTextFilter(QStringLiteral("(unclosed"),
                                    LogFilterProxy::TextMode::RegularExpression));
    QVERIFY(!m_proxy->textFilterError().isEmpty());
    // A broken expression filters nothing out rather than everything.
    QCOMPARE(m_proxy->rowCount(), 15);
}

void TestLogFilterProxy::combined() {
    m_proxy->setConnectionFilter({1});
    m_proxy->setDirectionFilter(LogFilterProxy::Received);
    m_proxy->setKindFilter(logKindBit(LogKind::Text));
    QVERIFY(m_proxy->setTextFilter(QStringLiteral("ack")));
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
            proxy.setTextFilter(QStringLiteral("^[0-9]*7$"),
                                LogFilterProxy::TextMode::RegularExpression);
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

QTEST_MAIN(TestLogFilterProxy)
#include "tst_logfilterproxy.moc"

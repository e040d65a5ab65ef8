// MessageLogModel: rows, columns, roles, batches, display modes, capacity.

#include "guitesthelpers.h"

#include "models/messagelogmodel.h"

#include <QAbstractItemModelTester>
#include <QBrush>
#include <QDateTime>
#include <QSignalSpy>
#include <QTest>

using namespace ws;
using namespace ws::log;
using namespace wstest;

namespace {

QString cell(const MessageLogModel &model, int row, int column, int role = Qt::DisplayRole) {
    return model.data(model.index(row, column), role).toString();
}

// One record of each kind, in a known order (see fillEveryKind).
void fillEveryKind(MessageLogModel &model) {
    LogStore &store = model.store();
    store.setClockOffset(0);
    store.setConnectionInfo(1, {QStringLiteral("echo"), QStringLiteral("ws://127.0.0.1:9001/")});
    HandshakeEvent handshake;
    handshake.timestampUs = 1'000'000;
    handshake.rawRequest = "GET / HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n\r\n";
    handshake.rawResponse = "HTTP/1.1 101 Switching Protocols\r\n\r\n";
    handshake.httpStatus = 101;
    model.appendEvent(1, handshake);                                                         // 0
    model.appendEvent(1, StateEvent{1'000'100, SessionState::Open});                         // 1
    model.appendEvents(1, textMessage(Direction::Outgoing, 1'001'500, "Hello", 0x37fa213d)); // 2
    model.appendEvent(1, frameEvent(Direction::Incoming, 1'002'000, 0x2,
                                    QByteArray::fromHex("00ff10"))); // 3
    model.appendEvent(1, messageEvent(Direction::Incoming, 1'002'000, Opcode::Binary,
                                      QByteArray::fromHex("00ff10")));
    model.appendEvent(1, frameEvent(Direction::Incoming, 1'003'000, 0x9, "hb")); // 4
    model.appendEvent(1, PingEvent{1'003'000, "hb", true});
    model.appendEvent(1, frameEvent(Direction::Incoming, 1'004'000, 0xA, "rt")); // 5
    model.appendEvent(1, PongEvent{1'004'000, "rt", qint64(2500)});
    ConformanceNote note;
    note.kind = ConformanceNote::Kind::NonMinimalLength;
    note.text = QStringLiteral("length 2 in 16 bits");
    note.streamOffset = 40;
    FrameEvent noted = frameEvent(Direction::Incoming, 1'005'000, 0x1, "Hi", true, std::nullopt,
                                  LengthEncoding::Extended16);
    noted.frame.notes = {note};
    noted.frame.streamOffset = 40;
    model.appendEvent(1, noted); // 6
    model.appendEvent(1, messageEvent(Direction::Incoming, 1'005'000, Opcode::Text, "Hi"));
    ProtocolViolation violation;
    violation.error = ProtocolError::ReservedOpcode;
    violation.reason = QStringLiteral("opcode 0x3 is reserved (RFC 6455 §5.2)");
    model.appendEvent(1, ViolationEvent{1'006'000, violation}); // 7
    model.appendEvent(1, frameEvent(Direction::Outgoing, 1'007'000, 0x8,
                                    QByteArray::fromHex("03ea") + "proto"));    // 8
    model.appendEvent(1, ClosedEvent{1'008'000, 1002, QString(), false, true}); // 9
    model.flush();
}

} // namespace

class TestMessageLogModel : public QObject {
    Q_OBJECT

private slots:
    void stagedFaultsStandOut();
    void columnsAndHeaders();
    void rowsForEveryKind_data();
    void rowsForEveryKind();
    void compressedMessagesGiveBothSizes();
    void colours();
    void customRoles();
    void batchInsertion();
    void coalescingTimerFlushes();
    void floodBatchesOverLongerInterval();
    void messagesAndFramesModes();
    void craftedFramesHaveMessageRows();
    void timeFormats();
    void capacityDropsOldestInSlices();
    void fullLogDropsAnEighthOfItsCapacity();
    void payloadBudgetDropsOldest();
    void lateRowsGoInPlace();
    void millionRows();
};

void TestMessageLogModel::compressedMessagesGiveBothSizes() {
    MessageLogModel model;
    model.store().setClockOffset(0);
    const QByteArray data = QByteArray("{\"tick\": 1}, ").repeated(80);
    // RFC 7692: the frames carried 312 payload bytes, inflated to the message's 1040.
    MessageEvent compressed = messageEvent(Direction::Incoming, 1000, Opcode::Text, data, 1, true);
    compressed.message.wireSize = 312;
    model.appendEvent(1, compressed);
    // The same message on a leg without the extension.
    model.appendEvent(2, messageEvent(Direction::Outgoing, 2000, Opcode::Text, data));
    model.flush();
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(data.size(), 1040);
    QCOMPARE(cell(model, 0, MessageLogModel::LengthColumn),
             QStringLiteral("1040 (312 on the wire)"));
    QVERIFY(cell(model, 0, MessageLogModel::LengthColumn, Qt::ToolTipRole)
                .startsWith(QStringLiteral("1040 bytes inflated, 312 payload bytes on the wire")));
    QCOMPARE(cell(model, 1, MessageLogModel::LengthColumn), QStringLiteral("1040"));
    QVERIFY(cell(model, 1, MessageLogModel::LengthColumn, Qt::ToolTipRole).isEmpty());
}

void TestMessageLogModel::lateRowsGoInPlace() {
    MessageLogModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.store().setClockOffset(0);
    const auto append = [&](quint32 connection, const QList<SessionEvent> &events) {
        model.appendEvents(connection, events);
    };
    append(1, textMessage(Direction::Incoming, 100, "a"));
    append(1, textMessage(Direction::Incoming, 200, "b"));
    append(2, textMessage(Direction::Outgoing, 300, "copy"));
    model.flush();
    QCOMPARE(model.rowCount(), 3);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);

    // Reported after the copy it caused, but read before it: a row in the middle at
    // once (rows must never point at records that moved), in both modes.
    append(1, textMessage(Direction::Incoming, 250, "late"));
    QCOMPARE(inserted.size(), 1);
    QCOMPARE(inserted[0].at(1).toInt(), inserted[0].at(2).toInt());
    const int lateRow = inserted[0].at(1).toInt();
    QCOMPARE(model.record(lateRow)->payload, QByteArray("late"));
    QCOMPARE(model.record(lateRow + 1)->payload, QByteArray("copy"));
    for (int row = 1; row < model.rowCount(); ++row)
        QVERIFY(model.record(row - 1)->timestampUs <= model.record(row)->timestampUs);
    for (int row = 0; row < model.rowCount(); ++row)
        QCOMPARE(model.rowOfStoreIndex(model.storeIndex(row)), row);
    model.setDisplayMode(MessageLogModel::DisplayMode::Frames);
    for (int row = 1; row < model.rowCount(); ++row)
        QVERIFY(model.record(row - 1)->timestampUs <= model.record(row)->timestampUs);
    QCOMPARE(model.record(model.rowCount() - 1)->payload, QByteArray("copy"));

    // Late but after every row: the usual batch at the end.
    inserted.clear();
    append(3, textMessage(Direction::Incoming, 400, "end"));
    QCOMPARE(model.pendingCount(), 1);
    model.flush();
    QCOMPARE(inserted.size(), 1);
    QCOMPARE(model.record(model.rowCount() - 1)->payload, QByteArray("end"));
}

void TestMessageLogModel::columnsAndHeaders() {
    MessageLogModel model;
    QCOMPARE(model.columnCount(), int(MessageLogModel::ColumnCount));
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(model.headerData(MessageLogModel::TimeColumn, Qt::Horizontal).toString(),
             QStringLiteral("Time"));
    QCOMPARE(model.headerData(MessageLogModel::PreviewColumn, Qt::Horizontal).toString(),
             QStringLiteral("Preview"));
    QVERIFY(!model.headerData(0, Qt::Vertical).isValid());
}

void TestMessageLogModel::rowsForEveryKind_data() {
    QTest::addColumn<int>("row");
    QTest::addColumn<QString>("time");
    QTest::addColumn<QString>("direction");
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("length");
    QTest::addColumn<QString>("preview");
    const QString sent = QStringLiteral("\u2192 sent");
    const QString received = QStringLiteral("\u2190 received");
    QTest::newRow("handshake") << 0 << "0.000000" << sent << "handshake"
                               << ""
                               << QStringLiteral(
                                      "GET / HTTP/1.1 \u2192 HTTP/1.1 101 Switching Protocols");
    QTest::newRow("state") << 1 << "0.000100"
                           << ""
                           << "state"
                           << ""
                           << "open";
    QTest::newRow("text") << 2 << "0.001500" << sent << "text"
                          << "5"
                          << "Hello";
    QTest::newRow("binary") << 3 << "0.002000" << received << "binary"
                            << "3"
                            << "00 ff 10";
    QTest::newRow("ping") << 4 << "0.003000" << received << "ping"
                          << "2"
                          << "hb";
    QTest::newRow("pong") << 5 << "0.004000" << received << "pong"
                          << "2"
                          << "RTT 2.500 ms  rt";
    QTest::newRow("noted text") << 6 << "0.005000" << received << "text"
                                << "2"
                                << "Hi  [NonMinimalLength]";
    QTest::newRow("violation") << 7 << "0.006000" << received << "error"
                               << ""
                               << QStringLiteral(
                                      "ReservedOpcode: opcode 0x3 is reserved (RFC 6455 §5.2)");
    QTest::newRow("close") << 8 << "0.007000" << sent << "close"
                           << "7"
                           << "1002 protocol error: proto";
    QTest::newRow("closed") << 9 << "0.008000"
                            << ""
                            << "state"
                            << ""
                            << "closed 1002 protocol error, not clean, closed by us";
}

void TestMessageLogModel::rowsForEveryKind() {
    QFETCH(int, row);
    QFETCH(QString, time);
    QFETCH(QString, direction);
    QFETCH(QString, kind);
    QFETCH(QString, length);
    QFETCH(QString, preview);
    MessageLogModel model;
    fillEveryKind(model);
    model.setTimeFormat(MessageLogModel::TimeFormat::SinceLogStart);
    QCOMPARE(model.rowCount(), 10);
    QCOMPARE(cell(model, row, MessageLogModel::TimeColumn), time);
    QCOMPARE(cell(model, row, MessageLogModel::ConnectionColumn), QStringLiteral("echo"));
    QCOMPARE(cell(model, row, MessageLogModel::DirectionColumn), direction);
    QCOMPARE(cell(model, row, MessageLogModel::KindColumn), kind);
    QCOMPARE(cell(model, row, MessageLogModel::LengthColumn), length);
    QCOMPARE(cell(model, row, MessageLogModel::PreviewColumn), preview);
}

void TestMessageLogModel::colours() {
    MessageLogModel model;
    fillEveryKind(model);
    const auto background = [&](int row) {
        return model.data(model.index(row, 0), Qt::BackgroundRole).value<QBrush>().color();
    };
    const auto foreground = [&](int row) {
        return model.data(model.index(row, 0), Qt::ForegroundRole).value<QBrush>().color();
    };
    // Sent and received rows differ; errors are red; state rows keep the view's colours.
    QVERIFY(background(2) != background(3));
    QCOMPARE(background(2), background(8));
    QCOMPARE(background(3), background(4));
    QVERIFY(foreground(7).red() > 150 && foreground(7).green() < 80);
    QVERIFY(background(7) != background(3) && background(7) != background(2));
    QVERIFY(!model.data(model.index(1, 0), Qt::BackgroundRole).isValid());
    // The row with a conformance note carries a marker and says why.
    QVERIFY(model.data(model.index(6, MessageLogModel::KindColumn), Qt::DecorationRole).isValid());
    QVERIFY(!model.data(model.index(5, MessageLogModel::KindColumn), Qt::DecorationRole).isValid());
    QVERIFY(cell(model, 6, 0, Qt::ToolTipRole).contains(QStringLiteral("NonMinimalLength")));
    QCOMPARE(model.data(model.index(6, 0), MessageLogModel::HasNotesRole).toBool(), true);
    QCOMPARE(model.data(model.index(7, 0), MessageLogModel::IsErrorRole).toBool(), true);
}

void TestMessageLogModel::customRoles() {
    MessageLogModel model;
    fillEveryKind(model);
    for (int row = 0; row < model.rowCount(); ++row) {
        const QModelIndex index = model.index(row, MessageLogModel::PreviewColumn);
        const qsizetype storeIndex = index.data(MessageLogModel::StoreIndexRole).value<qsizetype>();
        QCOMPARE(storeIndex, model.storeIndex(row));
        const auto *record = reinterpret_cast<const LogRecord *>(
            index.data(MessageLogModel::RecordRole).value<quintptr>());
        QCOMPARE(record, &model.store().at(storeIndex));
        QCOMPARE(record, model.record(row));
        QCOMPARE(index.data(MessageLogModel::KindRole).toInt(), int(record->kind));
        QCOMPARE(index.data(MessageLogModel::ConnectionRole).toUInt(), 1u);
        QCOMPARE(index.data(MessageLogModel::TimestampRole).toLongLong(), record->timestampUs);
        QCOMPARE(model.rowOfStoreIndex(storeIndex), row);
    }
    QCOMPARE(model.data(model.index(2, 0), MessageLogModel::DirectionRole).toInt(), 1);
    QCOMPARE(model.data(model.index(3, 0), MessageLogModel::DirectionRole).toInt(), 0);
    QCOMPARE(model.data(model.index(1, 0), MessageLogModel::DirectionRole).toInt(), 2);
    QVERIFY(model.record(model.rowCount()) == nullptr);
    QCOMPARE(model.storeIndex(-1), -1);
}

void TestMessageLogModel::batchInsertion() {
    MessageLogModel model;
    model.store().setClockOffset(0);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    for (int i = 0; i < 500; ++i)
        model.appendEvents(1, textMessage(Direction::Incoming, i, QByteArray::number(i)));
    // Nothing is a row until the batch is flushed.
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(inserted.count(), 0);
    QCOMPARE(model.pendingCount(), 500);
    model.flush();
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(inserted.at(0).at(1).toInt(), 0);
    QCOMPARE(inserted.at(0).at(2).toInt(), 499);
    QCOMPARE(model.rowCount(), 500);
    QCOMPARE(model.pendingCount(), 0);
    for (int i = 500; i < 800; ++i)
        model.appendEvents(1, textMessage(Direction::Incoming, i, QByteArray::number(i)));
    model.flush();
    QCOMPARE(inserted.count(), 2);
    QCOMPARE(inserted.at(1).at(1).toInt(), 500);
    QCOMPARE(inserted.at(1).at(2).toInt(), 799);
    // An empty flush inserts nothing.
    model.flush();
    QCOMPARE(inserted.count(), 2);
    QCOMPARE(cell(model, 799, MessageLogModel::PreviewColumn), QStringLiteral("799"));
}

void TestMessageLogModel::coalescingTimerFlushes() {
    MessageLogModel model;
    model.setCoalescingInterval(10);
    QCOMPARE(model.coalescingInterval(), 10);
    model.setCoalescingInterval(500); // clamped to the 50 ms ceiling
    QCOMPARE(model.coalescingInterval(), 50);
    model.setCoalescingInterval(10);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    for (int i = 0; i < 1000; ++i)
        model.appendEvents(1, textMessage(Direction::Outgoing, i, "x"));
    QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 1000, 2000);
    QCOMPARE(inserted.count(), 1);
}

void TestMessageLogModel::floodBatchesOverLongerInterval() {
    MessageLogModel model;
    model.setCoalescingInterval(10);
    QCOMPARE(model.currentCoalescingInterval(), 10);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    const auto append = [&model](int from, int to) {
        for (int i = from; i < to; ++i)
            model.appendEvents(1, textMessage(Direction::Incoming, i, QByteArray::number(i)));
    };
    // 200 records in a 10 ms batch: 20000 a second, a flood.
    append(0, 200);
    QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 200, 2000);
    QCOMPARE(inserted.count(), 1);
    QVERIFY(model.isFlooded());
    QCOMPARE(model.currentCoalescingInterval(), MessageLogModel::FloodCoalescingMs);
    // The next burst waits for the long interval and comes as one batch.
    append(200, 400);
    QCOMPARE(model.rowCount(), 200);
    QCOMPARE(model.pendingCount(), 200);
    QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 400, 2000);
    QCOMPARE(inserted.count(), 2);
    QCOMPARE(inserted.at(1).at(1).toInt(), 200);
    QCOMPARE(inserted.at(1).at(2).toInt(), 399);
    // 200 in 125 ms is still above the calm rate.
    QVERIFY(model.isFlooded());
    // A trickle in a long batch calms the log: back to the short interval.
    append(400, 405);
    QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 405, 2000);
    QCOMPARE(inserted.count(), 3);
    QVERIFY(!model.isFlooded());
    QCOMPARE(model.currentCoalescingInterval(), 10);
    // A calm stream keeps it.
    append(405, 406);
    QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 406, 2000);
    QVERIFY(!model.isFlooded());
    QCOMPARE(model.currentCoalescingInterval(), 10);
    // Every record is a row, in order.
    for (int row = 0; row < 406; ++row)
        QCOMPARE(cell(model, row, MessageLogModel::PreviewColumn), QString::number(row));
    // Explicit flushes do not change the interval: they are not timed batches.
    append(406, 1406);
    model.flush();
    QVERIFY(!model.isFlooded());
    QCOMPARE(model.currentCoalescingInterval(), 10);
    // A steady few hundred a second is a flood already: a view following the tail
    // would repaint every visible row at each batch (a relay of 1 MiB messages).
    append(1406, 1411); // 5 in a 10 ms batch: 500 a second
    QTRY_VERIFY_WITH_TIMEOUT(model.isFlooded(), 2000);
    QCOMPARE(model.rowCount(), 1411);
}

void TestMessageLogModel::messagesAndFramesModes() {
    MessageLogModel model;
    model.store().setClockOffset(0);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    // A fragmented text message between two single-frame ones, and a ping inside it
    // (RFC 6455 §5.4: control frames may be injected in the middle of a message).
    model.appendEvents(1, textMessage(Direction::Incoming, 1, "one"));
    model.appendEvent(1, frameEvent(Direction::Incoming, 2, 0x1, "fra", false));
    model.appendEvent(1, frameEvent(Direction::Incoming, 3, 0x9, ""));
    model.appendEvent(1, PingEvent{3, {}, true});
    model.appendEvent(1, frameEvent(Direction::Incoming, 4, 0x0, "gm", false));
    model.appendEvent(1, frameEvent(Direction::Incoming, 5, 0x0, "ents", true));
    model.appendEvent(1, messageEvent(Direction::Incoming, 5, Opcode::Text, "fragments", 3));
    model.appendEvents(1, textMessage(Direction::Incoming, 6, "two"));
    model.flush();

    QCOMPARE(model.displayMode(), MessageLogModel::DisplayMode::Messages);
    QStringList messages;
    for (int row = 0; row < model.rowCount(); ++row)
        messages.append(cell(model, row, MessageLogModel::PreviewColumn));
    QCOMPARE(messages, (QStringList{"one", "(empty)", "fragments", "two"}));
    QCOMPARE(cell(model, 2, MessageLogModel::KindColumn), QStringLiteral("text (3 frames)"));

    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    QSignalSpy changed(&model, &MessageLogModel::displayModeChanged);
    model.setDisplayMode(MessageLogModel::DisplayMode::Frames);
    QCOMPARE(reset.count(), 1);
    QCOMPARE(changed.count(), 1);
    QStringList frames;
    for (int row = 0; row < model.rowCount(); ++row)
        frames.append(cell(model, row, MessageLogModel::KindColumn) + QLatin1Char(':') +
                      cell(model, row, MessageLogModel::PreviewColumn));
    QCOMPARE(frames, (QStringList{"text:one", "text (first fragment):fra", "ping:(empty)",
                                  "continuation:gm", "continuation (last):ents", "text:two"}));
    // Both views share the records: no copies.
    QCOMPARE(model.record(0), &model.store().at(0));
    QCOMPARE(model.store().size(), 7);

    // New rows go into both views.
    model.appendEvents(1, textMessage(Direction::Outgoing, 7, "three"));
    model.flush();
    QCOMPARE(model.rowCount(), 7);
    model.setDisplayMode(MessageLogModel::DisplayMode::Messages);
    QCOMPARE(model.rowCount(), 5);
    QCOMPARE(cell(model, 4, MessageLogModel::PreviewColumn), QStringLiteral("three"));
}

// Frames sent raw (Session::sendRaw reports a frame and no message) are rows of the
// Messages view too; the frames of a message sent as such stay behind its row.
// A fault our server staged on purpose is a note row of its own colour: never taken
// for the peer's doing, nor for an ordinary note.
void TestMessageLogModel::stagedFaultsStandOut() {
    MessageLogModel model;
    model.store().setClockOffset(0);
    model.appendEvent(
        1, NoteEvent{1, {ConformanceNote::Kind::Staged, QStringLiteral("delayed reply 200 ms")}});
    model.appendEvent(1, NoteEvent{2,
                                   {ConformanceNote::Kind::UnsolicitedPong,
                                    QStringLiteral("a pong nobody asked for")}});
    model.flush();
    QCOMPARE(model.rowCount(), 2);
    const auto brush = [&model](int row, int role) {
        return model.index(row, MessageLogModel::PreviewColumn).data(role).value<QBrush>();
    };
    QVERIFY(brush(0, Qt::BackgroundRole) != brush(1, Qt::BackgroundRole));
    QVERIFY(brush(0, Qt::ForegroundRole) != brush(1, Qt::ForegroundRole));
    QVERIFY(brush(0, Qt::BackgroundRole).style() != Qt::NoBrush);
}

void TestMessageLogModel::craftedFramesHaveMessageRows() {
    MessageLogModel model;
    model.store().setClockOffset(0);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    // Opcode 1, FIN, MASK unchecked, sent to our own server; its answer arrives.
    model.appendEvent(1, frameEvent(Direction::Outgoing, 1, 0x1, "crafted"));
    model.appendEvent(1, frameEvent(Direction::Incoming, 2, 0x8, QByteArray::fromHex("03ea")));
    model.appendEvent(1, CloseEvent{2, quint16(1002), QString()});
    // Crafted fragments no message claims, then the last event of the batch.
    model.appendEvent(2, frameEvent(Direction::Outgoing, 3, 0x2, "fr", false, 0x01020304));
    model.appendEvent(2, frameEvent(Direction::Outgoing, 4, 0x0, "ag", true, 0x01020304));
    model.appendEvent(2, frameEvent(Direction::Outgoing, 5, 0x1, "last"));
    model.flush();
    // A fragmented message the session sent: frames, then its message event.
    model.appendEvent(2, frameEvent(Direction::Outgoing, 6, 0x1, "mes", false, 0x01020304));
    model.appendEvent(2, frameEvent(Direction::Outgoing, 6, 0x0, "sage", true, 0x01020304));
    model.appendEvent(2, messageEvent(Direction::Outgoing, 6, Opcode::Text, "message", 2));
    model.flush();

    QStringList messages;
    for (int row = 0; row < model.rowCount(); ++row)
        messages.append(cell(model, row, MessageLogModel::KindColumn) + QLatin1Char(':') +
                        cell(model, row, MessageLogModel::PreviewColumn));
    QCOMPARE(messages.size(), 6);
    QCOMPARE(messages.at(0), QStringLiteral("text:crafted"));
    QVERIFY2(messages.at(1).startsWith(QStringLiteral("close")), qPrintable(messages.at(1)));
    QCOMPARE(messages.mid(2), (QStringList{"binary (first fragment):fr", "continuation (last):ag",
                                           "text:last", "text (2 frames):message"}));
    QVERIFY(model.record(0)->isFrame());
    QVERIFY(model.record(0)->has(LogRecord::Outgoing));

    model.setDisplayMode(MessageLogModel::DisplayMode::Frames);
    QStringList frames;
    for (int row = 0; row < model.rowCount(); ++row)
        frames.append(cell(model, row, MessageLogModel::PreviewColumn));
    QCOMPARE(frames.size(), 7);
    QCOMPARE(frames.mid(2), (QStringList{"fr", "ag", "last", "mes", "sage"}));
}

// Wall-clock time with microseconds, or seconds since the connection's start, the
// previous row or a chosen row; never a format the column cannot hold.
void TestMessageLogModel::timeFormats() {
    MessageLogModel model;
    model.store().setClockOffset(0);
    const qint64 base =
        QDateTime(QDate(2026, 3, 1), QTime(14, 3, 7, 123)).toMSecsSinceEpoch() * 1000;
    model.appendEvents(1, textMessage(Direction::Outgoing, base + 456, "a"));             // row 0
    model.appendEvents(2, textMessage(Direction::Incoming, base + 1'000'000, "b"));       // row 1
    model.appendEvents(1, textMessage(Direction::Incoming, base + 112'471'000'789, "c")); // row 2
    model.flush();
    QCOMPARE(model.rowCount(), 3);
    const auto column = [&model] {
        QStringList texts;
        for (int row = 0; row < model.rowCount(); ++row)
            texts << cell(model, row, MessageLogModel::TimeColumn);
        return texts;
    };
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy header(&model, &QAbstractItemModel::headerDataChanged);

    QCOMPARE(model.timeFormat(), MessageLogModel::TimeFormat::WallClock);
    QCOMPARE(cell(model, 0, MessageLogModel::TimeColumn), QStringLiteral("14:03:07.123456"));
    QCOMPARE(cell(model, 1, MessageLogModel::TimeColumn), QStringLiteral("14:03:08.123000"));

    model.setTimeFormat(MessageLogModel::TimeFormat::SinceConnectionStart);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(header.count(), 1);
    QCOMPARE(column(), (QStringList{"0.000000", "0.000000", "112471.000333"}));
    model.setTimeFormat(MessageLogModel::TimeFormat::SincePreviousRow);
    QCOMPARE(column(), (QStringList{"0.000000", "0.999544", "112470.000789"}));
    model.setTimeFormat(MessageLogModel::TimeFormat::SinceLogStart);
    QCOMPARE(column(), (QStringList{"0.000000", "0.999544", "112471.000333"}));

    QSignalSpy formats(&model, &MessageLogModel::timeFormatChanged);
    model.setTimeReference(model.storeIndex(1));
    QCOMPARE(formats.count(), 1);
    QCOMPARE(model.timeFormat(), MessageLogModel::TimeFormat::SinceReference);
    QCOMPARE(column(), (QStringList{"-0.999544", "*REF*", "112470.000789"}));

    // The widest text the format can show fits the longest span in the log.
    QVERIFY(model.widestTimeText().size() >= QStringLiteral("-112471.000333").size());
    model.setTimeFormat(MessageLogModel::TimeFormat::WallClock);
    QCOMPARE(model.widestTimeText().size(), QStringLiteral("14:03:07.123456").size());
}

void TestMessageLogModel::capacityDropsOldestInSlices() {
    MessageLogModel model;
    model.store().setClockOffset(0);
    const qsizetype capacity = 10'000;
    model.setCapacity(capacity);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy dropped(&model, &MessageLogModel::recordsDropped);
    for (int i = 0; i < 25'000; ++i) {
        model.appendEvents(1, textMessage(Direction::Incoming, i, QByteArray::number(i)));
        if (i % 1000 == 999)
            model.flush();
    }
    model.flush();
    QVERIFY(model.rowCount() <= capacity);
    QVERIFY(model.rowCount() > capacity - LogStore::ChunkSize);
    QVERIFY(removed.count() >= 1);
    // Always the oldest rows.
    for (const QList<QVariant> &args : std::as_const(removed))
        QCOMPARE(args.at(1).toInt(), 0);
    // Trimming happens in slices, not at every batch.
    QVERIFY(removed.count() < 15);
    qint64 total = 0;
    for (const QList<QVariant> &args : std::as_const(dropped))
        total += args.at(0).value<qsizetype>();
    QCOMPARE(total, 25'000 - model.rowCount());
    QCOMPARE(model.store().droppedCount(), total);
    // The newest rows are intact and in order.
    const int last = model.rowCount() - 1;
    QCOMPARE(cell(model, last, MessageLogModel::PreviewColumn), QStringLiteral("24999"));
    QCOMPARE(cell(model, 0, MessageLogModel::PreviewColumn), QString::number(total));
    QCOMPARE(model.rowOfStoreIndex(model.storeIndex(last)), last);
}

void TestMessageLogModel::fullLogDropsAnEighthOfItsCapacity() {
    // Each trim costs time in proportion to the rows that stay (the row lists shift, a
    // view's header walks its sections), so a full log makes room for many rows at once:
    // an eighth of the capacity, here more than a chunk of the store.
    MessageLogModel model;
    model.store().setClockOffset(0);
    const qsizetype capacity = 40'000;
    model.setCapacity(capacity);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    int next = 0;
    const auto append = [&](int count) {
        for (int i = 0; i < count; ++i, ++next)
            model.appendEvents(1, textMessage(Direction::Incoming, next, QByteArray::number(next)));
        model.flush();
    };
    append(int(capacity));
    QCOMPARE(model.rowCount(), capacity);
    QCOMPARE(removed.count(), 0);
    append(1);
    QCOMPARE(removed.count(), 1);
    QCOMPARE(removed.at(0).at(1).toInt(), 0);
    QCOMPARE(removed.at(0).at(2).toInt(), int(capacity / 8) - 1);
    QCOMPARE(model.rowCount(), capacity - capacity / 8 + 1);
    QCOMPARE(cell(model, 0, MessageLogModel::PreviewColumn), QString::number(capacity / 8));
    // Then nothing goes until the log is over its capacity again.
    append(int(capacity / 8) - 1);
    QCOMPARE(removed.count(), 1);
    append(1);
    QCOMPARE(removed.count(), 2);
}

void TestMessageLogModel::payloadBudgetDropsOldest() {
    // 1 MiB messages: far below the record capacity, far above a 16 MiB budget.
    MessageLogModel model;
    model.store().setClockOffset(0);
    constexpr qint64 Budget = 16 << 20;
    model.setPayloadBudget(Budget);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy dropped(&model, &MessageLogModel::recordsDropped);
    for (int i = 0; i < 40; ++i) {
        QByteArray payload(1 << 20, 'p');
        payload.replace(0, 8, QByteArray::number(i).rightJustified(8, '0'));
        model.appendEvents(1, textMessage(Direction::Incoming, i, payload));
        model.flush();
        QVERIFY(model.payloadBytes() <= Budget);
    }
    // Trimmed to an eighth below the budget, a slice at a time.
    QVERIFY(model.payloadBytes() > Budget / 2);
    QVERIFY(dropped.count() >= 2);
    QVERIFY(dropped.count() < 40 - 16);
    qint64 total = 0;
    for (const QList<QVariant> &args : std::as_const(dropped))
        total += args.at(0).value<qsizetype>();
    QCOMPARE(total, 40 - model.rowCount());
    QCOMPARE(model.payloadBytes(), qint64(model.rowCount()) << 20);
    // The newest message is the last row, the oldest kept the first.
    QVERIFY(model.record(model.rowCount() - 1)->payload.startsWith("00000039"));
    QVERIFY(model.record(0)->payload.startsWith(QByteArray::number(total).rightJustified(8, '0')));

    // No budget: nothing more goes.
    model.setPayloadBudget(0);
    const int rows = model.rowCount();
    model.appendEvents(1, textMessage(Direction::Incoming, 40, QByteArray(1 << 20, 'q')));
    model.flush();
    QCOMPARE(model.rowCount(), rows + 1);
    model.clear();
    QCOMPARE(model.payloadBytes(), 0);
}

void TestMessageLogModel::millionRows() {
    // 64-byte text messages as the decoder hands them over: one payload allocation
    // each, shared by the frame and message events.
    MessageLogModel model;
    model.store().setClockOffset(0);
    constexpr int Count = 1'000'000;
    QByteArray templ(64, 'm');
    for (int i = 0; i < Count; ++i) {
        QByteArray payload(templ.constData(), templ.size());
        std::memcpy(payload.data(), &i, sizeof i);
        model.appendEvent(1, frameEvent(Direction::Incoming, i, 0x1, payload));
        model.appendEvent(1, messageEvent(Direction::Incoming, i, Opcode::Text, payload));
    }
    model.flush();
    QCOMPARE(model.rowCount(), Count);
    QCOMPARE(model.store().size(), Count);
    const qint64 bytes = model.memoryUsage();
    const double perRow = double(bytes) / Count;
    const double overhead = perRow - 64;
    qInfo("memory: %lld bytes for %d rows: %.1f bytes/row, %.1f bytes of overhead per 64-byte "
          "message",
          bytes, Count, perRow, overhead);
    QVERIFY2(overhead < 300, qPrintable(QString::number(overhead)));
    // Each payload counted once, at least its 64 bytes.
    QVERIFY(perRow > 64 + sizeof(LogRecord));
    int sample = 0;
    std::memcpy(&sample, model.record(Count - 1)->payload.constData(), sizeof sample);
    QCOMPARE(sample, Count - 1);
}

QTEST_MAIN(TestMessageLogModel)
#include "tst_messagelogmodel.moc"

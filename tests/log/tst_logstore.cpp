// LogStore: SessionEvents in, compact records out.

#include "../protocol/protocoltestsupport.h"
#include "logtesthelpers.h"

#include "log/logstore.h"
#include "net/eventclock.h"

#include <QDateTime>
#include <QTest>

using namespace ws;
using namespace ws::log;
using namespace wstest;

class TestLogStore : public QObject {
    Q_OBJECT

private slots:
    void recordIsCompact();
    void singleFrameMessageIsOneRecord();
    void fragmentedMessageKeepsFramesAndMessage();
    void interleavedConnectionsKeepTheirOwnFrames();
    void compressedMessageIsNotMerged();
    void controlFrameAbsorbsItsEvent_data();
    void controlFrameAbsorbsItsEvent();
    void eventsWithoutFrames();
    void violationNoteHandshakeAndState();
    void frameNotesAreNotRepeated();
    void closedStateFoldsIntoSummary();
    void oneClockForEveryConnection();
    void lateEventsTakeTheirPlace();
    void importsKeepTheirOrder();
    void sentRecordsKeepWhenTheyWereQueued();
    void relayedRunMakesTheRowsOfItsEvents_data();
    void relayedRunMakesTheRowsOfItsEvents();
    void relayedMessageMakesTheRowsOfItsEvents_data();
    void relayedMessageMakesTheRowsOfItsEvents();
    void realSessionPair();
    void dropOldestKeepsTheRest();
    void releasedConnectionsGoWithTheirLastRecord();
    void releaseCommitsWhatItHoldsBack();
    void previewEscapesAndTruncates_data();
    void previewEscapesAndTruncates();
};

void TestLogStore::recordIsCompact() {
    // The per-row budget (< 300 bytes besides a 64-byte payload) starts here.
    QVERIFY2(sizeof(LogRecord) <= 80, QByteArray::number(qulonglong(sizeof(LogRecord))));
}

void TestLogStore::singleFrameMessageIsOneRecord() {
    LogStore store;
    store.setClockOffset(0);
    const QByteArray hello("Hello");
    for (const SessionEvent &e : textMessage(Direction::Incoming, 1500, hello, 0x37fa213d))
        store.append(7, e);
    QVERIFY(store.hasPending() == false);
    QCOMPARE(store.size(), 1);
    const LogRecord &r = store.at(0);
    QCOMPARE(r.kind, LogKind::Text);
    QCOMPARE(r.connection, 7u);
    QCOMPARE(r.timestampUs, 1500);
    QVERIFY(r.isFrame());
    QVERIFY(r.has(LogRecord::InFrameView));
    QVERIFY(r.has(LogRecord::InMessageView));
    QCOMPARE(r.frameCount, 1u);
    QCOMPARE(r.direction(), Direction::Incoming);
    QCOMPARE(r.payload, hello);
    // Stored once: the record holds the very bytes the event carried.
    QVERIFY(r.payload.isSharedWith(hello));
    // RFC 6455 §5.7: the masked "Hello" with key 37 fa 21 3d.
    QCOMPARE(r.rawHeader().toByteArray() + r.maskedPayload(),
             QByteArray::fromHex("818537fa213d7f9f4d5158"));
    const FrameHeader h = r.header();
    QVERIFY(h.fin);
    QCOMPARE(h.maskingKey, std::optional<quint32>(0x37fa213d));
    QCOMPARE(h.payloadLength, 5u);
    QCOMPARE(h.lengthEncoding, LengthEncoding::Short7);
}

void TestLogStore::fragmentedMessageKeepsFramesAndMessage() {
    LogStore store;
    store.setClockOffset(0);
    // RFC 6455 §5.6: a fragmented unmasked text message "Hello".
    store.append(1, frameEvent(Direction::Incoming, 10, 0x1, "Hel", false));
    store.append(1, frameEvent(Direction::Incoming, 20, 0x0, "lo", true));
    store.append(1, messageEvent(Direction::Incoming, 20, Opcode::Text, "Hello", 2));
    store.commitPending();
    QCOMPARE(store.size(), 3);
    QCOMPARE(store.at(0).kind, LogKind::Text);
    QCOMPARE(store.at(1).kind, LogKind::Continuation);
    QCOMPARE(store.at(2).kind, LogKind::Text);
    for (int i = 0; i < 2; ++i) {
        QVERIFY(store.at(i).has(LogRecord::InFrameView));
        QVERIFY(!store.at(i).has(LogRecord::InMessageView));
    }
    const LogRecord &message = store.at(2);
    QVERIFY(!message.isFrame());
    QVERIFY(message.has(LogRecord::InMessageView));
    QVERIFY(!message.has(LogRecord::InFrameView)); // its frames are rows already
    QCOMPARE(message.frameCount, 2u);
    QCOMPARE(message.payload, QByteArray("Hello"));
    QCOMPARE(store.framesOfMessage(2), (QList<qsizetype>{0, 1}));
    QCOMPARE(store.at(0).rawHeader().toByteArray(), QByteArray::fromHex("0103"));
    QCOMPARE(store.at(1).rawHeader().toByteArray(), QByteArray::fromHex("8002"));
}

void TestLogStore::interleavedConnectionsKeepTheirOwnFrames() {
    LogStore store;
    store.setClockOffset(0);
    // Connection 1's message comes in two frames with connection 2's events between
    // them; connection 2 reports its message without its frames.
    store.append(1, frameEvent(Direction::Incoming, 10, 0x1, "Hel", false));
    store.append(2, messageEvent(Direction::Incoming, 15, Opcode::Text, "other", 1));
    store.append(1, frameEvent(Direction::Incoming, 20, 0x0, "lo", true));
    store.append(2, messageEvent(Direction::Incoming, 25, Opcode::Binary, "more", 1));
    store.append(1, messageEvent(Direction::Incoming, 30, Opcode::Text, "Hello", 2));
    store.append(2, messageEvent(Direction::Incoming, 35, Opcode::Text, "last", 1));
    store.commitPending();
    QCOMPARE(store.size(), 6);
    // Connection 2's messages stand for their frames: no frame rows of its own.
    for (const int i : {1, 3, 5}) {
        QCOMPARE(store.at(i).connection, 2u);
        QVERIFY(store.at(i).has(LogRecord::InFrameView));
        QVERIFY(store.at(i).has(LogRecord::InMessageView));
    }
    // Connection 1's message has its frame rows.
    QCOMPARE(store.at(4).connection, 1u);
    QCOMPARE(store.at(4).payload, QByteArray("Hello"));
    QVERIFY(!store.at(4).has(LogRecord::InFrameView));
    QCOMPARE(store.framesOfMessage(4), (QList<qsizetype>{0, 2}));
}

void TestLogStore::compressedMessageIsNotMerged() {
    LogStore store;
    store.setClockOffset(0);
    // RFC 7692 §7.2.3.1: "Hello" compressed, RSV1 set.
    FrameEvent frame =
        frameEvent(Direction::Incoming, 5, 0x1, QByteArray::fromHex("f248cdc9c90700"));
    frame.frame.header.rsv1 = true;
    store.append(3, frame);
    store.append(3, messageEvent(Direction::Incoming, 5, Opcode::Text, "Hello", 1, true));
    store.commitPending();
    QCOMPARE(store.size(), 2);
    QVERIFY(store.at(0).header().rsv1);
    QVERIFY(!store.at(0).has(LogRecord::InMessageView));
    QVERIFY(store.at(1).has(LogRecord::Compressed));
    QCOMPARE(store.at(1).payload, QByteArray("Hello"));
    QCOMPARE(store.at(1).length, 5u);
}

void TestLogStore::controlFrameAbsorbsItsEvent_data() {
    QTest::addColumn<QByteArray>("payloadHex");
    QTest::addColumn<int>("opcode");
    QTest::addColumn<int>("expectedKind");
    QTest::newRow("ping") << QByteArray("48656c6c6f") << 0x9 << int(LogKind::Ping);
    QTest::newRow("pong") << QByteArray("48656c6c6f") << 0xA << int(LogKind::Pong);
    QTest::newRow("close 1000 bye") << QByteArray("03e8627965") << 0x8 << int(LogKind::Close);
}

void TestLogStore::controlFrameAbsorbsItsEvent() {
    QFETCH(QByteArray, payloadHex);
    QFETCH(int, opcode);
    QFETCH(int, expectedKind);
    const QByteArray payload = QByteArray::fromHex(payloadHex);
    LogStore store;
    store.setClockOffset(0);
    store.append(1, frameEvent(Direction::Incoming, 100, quint8(opcode), payload));
    switch (opcode) {
    case 0x9:
        store.append(1, PingEvent{100, payload, true});
        break;
    case 0xA:
        store.append(1, PongEvent{100, payload, qint64(1234)});
        break;
    default:
        store.append(1, CloseEvent{100, quint16(1000), QStringLiteral("bye")});
        break;
    }
    store.commitPending();
    QCOMPARE(store.size(), 1);
    const LogRecord &r = store.at(0);
    QCOMPARE(int(r.kind), expectedKind);
    QVERIFY(r.isFrame());
    QVERIFY(r.has(LogRecord::InFrameView) && r.has(LogRecord::InMessageView));
    QCOMPARE(r.payload, payload);
    if (opcode == 0x9)
        QVERIFY(r.has(LogRecord::PingAnswered));
    if (opcode == 0xA) {
        QVERIFY(r.has(LogRecord::HasRoundTrip));
        QCOMPARE(r.roundTripUs, 1234);
    }
    if (opcode == 0x8) {
        QVERIFY(r.has(LogRecord::HasCloseCode));
        QCOMPARE(r.closeCode, quint16(1000));
        QCOMPARE(r.closeReason(), QByteArray("bye"));
    }
}

void TestLogStore::eventsWithoutFrames() {
    // SessionOptions::reportFrames off: only the interpreting events arrive.
    LogStore store;
    store.setClockOffset(0);
    store.append(2,
                 messageEvent(Direction::Outgoing, 1, Opcode::Binary, QByteArray("\x01\x02", 2)));
    store.append(2, PongEvent{2, "p", std::nullopt});
    store.append(2, CloseEvent{3, quint16(4000), QStringLiteral("app")});
    store.commitPending();
    QCOMPARE(store.size(), 3);
    const LogRecord &message = store.at(0);
    QCOMPARE(message.kind, LogKind::Binary);
    QVERIFY(!message.isFrame());
    QVERIFY(message.has(LogRecord::Outgoing));
    // No frame rows exist for it, so it stands for its frame in the frame view.
    QVERIFY(message.has(LogRecord::InFrameView) && message.has(LogRecord::InMessageView));
    QCOMPARE(store.at(1).kind, LogKind::Pong);
    QVERIFY(!store.at(1).has(LogRecord::HasRoundTrip));
    const LogRecord &close = store.at(2);
    QCOMPARE(close.kind, LogKind::Close);
    QCOMPARE(close.closeCode, quint16(4000));
    QCOMPARE(close.payload, QByteArray::fromHex("0fa0617070")); // rebuilt as on the wire
    QCOMPARE(close.closeReason(), QByteArray("app"));
}

void TestLogStore::violationNoteHandshakeAndState() {
    LogStore store;
    store.setClockOffset(0);
    HandshakeEvent handshake;
    handshake.kind = HandshakeEvent::Kind::ClientAccepted;
    handshake.timestampUs = 1;
    handshake.rawRequest = "GET /chat HTTP/1.1\r\nHost: example.com\r\n\r\n";
    handshake.rawResponse = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
    handshake.httpStatus = 101;
    handshake.subprotocol = "chat";
    store.append(1, handshake);
    store.append(1, StateEvent{2, SessionState::Open});
    ConformanceNote note;
    note.kind = ConformanceNote::Kind::CloseNotAnswered;
    note.text = QStringLiteral("no close answer within 5 s");
    store.append(1, NoteEvent{3, note});
    ProtocolViolation violation;
    violation.error = ProtocolError::MaskedServerFrame;
    violation.reason = QStringLiteral("server frame is masked (RFC 6455 §5.1)");
    violation.streamOffset = 42;
    store.append(1, ViolationEvent{4, violation});
    store.append(1, ClosedEvent{5, 1002, QStringLiteral("masked"), false, true});
    QCOMPARE(store.size(), 5);

    QCOMPARE(store.at(0).kind, LogKind::Handshake);
    QVERIFY(store.at(0).has(LogRecord::Outgoing));
    QCOMPARE(store.extra(0)->rawRequest, handshake.rawRequest);
    QCOMPARE(store.extra(0)->subprotocol, QByteArray("chat"));
    QCOMPARE(store.extra(0)->httpStatus, 101);

    QCOMPARE(store.at(1).kind, LogKind::State);
    QCOMPARE(store.at(1).state(), SessionState::Open);
    QVERIFY(store.at(1).has(LogRecord::Undirected));

    QCOMPARE(store.at(2).kind, LogKind::Note);
    QVERIFY(store.at(2).has(LogRecord::HasNotes));
    QCOMPARE(store.extra(2)->notes, QList<ConformanceNote>{note});

    const LogRecord &error = store.at(3);
    QCOMPARE(error.kind, LogKind::Error);
    QVERIFY(error.isError());
    QCOMPARE(error.closeCode, quint16(1002));
    QCOMPARE(store.extra(3)->error, std::optional<ProtocolError>(ProtocolError::MaskedServerFrame));
    QCOMPARE(store.extra(3)->streamOffset, 42);
    QCOMPARE(QString::fromUtf8(error.payload), violation.reason);

    const LogRecord &closed = store.at(4);
    QVERIFY(closed.has(LogRecord::ClosedSummary));
    QCOMPARE(closed.closeCode, quint16(1002));
    QVERIFY(!closed.has(LogRecord::CleanClose));
    QVERIFY(closed.has(LogRecord::ClosedByUs));
    QCOMPARE(closed.closeReason(), QByteArray("masked"));
    QVERIFY(store.extra(4) == nullptr);
}

void TestLogStore::frameNotesAreNotRepeated() {
    LogStore store;
    store.setClockOffset(0);
    // RFC 6455 §5.2: "Hi" with its length in the 16-bit field: allowed leniently, noted.
    FrameEvent frame = frameEvent(Direction::Incoming, 1, 0x1, "Hi", true, std::nullopt,
                                  LengthEncoding::Extended16);
    ConformanceNote note;
    note.kind = ConformanceNote::Kind::NonMinimalLength;
    note.text = QStringLiteral("length 2 written in 16 bits");
    note.streamOffset = 0;
    frame.frame.notes = {note};
    store.append(1, frame);
    store.append(1, NoteEvent{1, note}); // the session repeats the frame's notes as events
    store.append(1, messageEvent(Direction::Incoming, 1, Opcode::Text, "Hi"));
    store.commitPending();
    QCOMPARE(store.size(), 1);
    QVERIFY(store.at(0).has(LogRecord::HasNotes));
    QVERIFY(store.at(0).has(LogRecord::InMessageView));
    QCOMPARE(store.extra(0)->notes.size(), 1);
    QCOMPARE(store.at(0).rawHeader().toByteArray(), QByteArray::fromHex("817e0002"));
}

void TestLogStore::closedStateFoldsIntoSummary() {
    LogStore store;
    store.setClockOffset(0);
    store.append(1, StateEvent{1, SessionState::Closing});
    store.append(1, StateEvent{2, SessionState::Closed});
    store.append(1, ClosedEvent{2, 1000, QString(), true, false});
    // A "closed" state on its own (no summary follows at once) stays a row.
    store.append(2, StateEvent{3, SessionState::Closed});
    store.append(1, StateEvent{4, SessionState::Open});
    store.commitPending();
    QCOMPARE(store.size(), 4);
    QCOMPARE(store.at(0).state(), SessionState::Closing);
    QVERIFY(store.at(1).has(LogRecord::ClosedSummary));
    QCOMPARE(store.at(2).connection, 2u);
    QCOMPARE(store.at(2).state(), SessionState::Closed);
    QVERIFY(!store.at(2).has(LogRecord::ClosedSummary));
    QCOMPARE(store.at(3).state(), SessionState::Open);
}

void TestLogStore::oneClockForEveryConnection() {
    LogStore store;
    store.setClockOffset(5000);
    store.append(1, StateEvent{100, SessionState::Open});
    store.append(2, StateEvent{100, SessionState::Open});
    QCOMPARE(store.at(0).timestampUs, 5100);
    QCOMPARE(store.at(1).timestampUs, 5100);
    QCOMPARE(store.timeOriginUs(), 5100);

    // By default the offset is EventClock's anchor: the same for every connection,
    // whenever its first event comes, and it maps the clock to the wall clock.
    LogStore live;
    const qint64 before = QDateTime::currentMSecsSinceEpoch() * 1000;
    const qint64 now = EventClock::nowUs();
    live.append(1, StateEvent{now, SessionState::Connecting});
    QTest::qWait(20);
    live.append(2, StateEvent{now, SessionState::Connecting});
    live.append(1, StateEvent{now + 250'000, SessionState::Open});
    const qint64 after = QDateTime::currentMSecsSinceEpoch() * 1000 + 1000;
    QCOMPARE(live.clockOffset(), EventClock::epochOffsetUs());
    QVERIFY2(live.at(0).timestampUs >= before - 1000 && live.at(0).timestampUs <= after,
             qPrintable(QStringLiteral("%1 not in [%2, %3]")
                            .arg(live.at(0).timestampUs)
                            .arg(before)
                            .arg(after)));
    QCOMPARE(live.at(1).timestampUs, live.at(0).timestampUs);
    QCOMPARE(live.at(2).timestampUs - live.at(0).timestampUs, 250'000);
}

void TestLogStore::lateEventsTakeTheirPlace() {
    LogStore store;
    store.setClockOffset(0);
    // Connection 1's batch read at 100 caused a copy on connection 2 written at 150,
    // reported before the rest of the batch.
    store.append(1, StateEvent{100, SessionState::Open});
    store.append(2, StateEvent{150, SessionState::Open});
    store.append(1, NoteEvent{100, {}});
    store.append(3, NoteEvent{120, {}});
    store.commitPending();
    QCOMPARE(store.size(), 4);
    QCOMPARE(store.at(0).connection, 1u);
    QCOMPARE(store.at(1).connection, 1u);
    QCOMPARE(store.at(1).kind, LogKind::Note);
    QCOMPARE(store.at(2).connection, 3u);
    QCOMPARE(store.at(3).connection, 2u);
    for (qsizetype i = 1; i < store.size(); ++i)
        QVERIFY(store.at(i - 1).timestampUs <= store.at(i).timestampUs);
    // Where the late ones went, as indices now: 1 (then pushed up by none) and 2.
    const std::vector<qsizetype> inserted = store.takeInsertions();
    QCOMPARE(inserted, (std::vector<qsizetype>{1, 2}));
    QVERIFY(store.takeInsertions().empty());
    QCOMPARE(store.firstInsertion(), -1);

    // A record that crosses a chunk boundary takes its extra along.
    LogStore big;
    big.setClockOffset(0);
    for (qsizetype i = 0; i < LogStore::ChunkSize - 1; ++i)
        big.append(1, StateEvent{1000 + i, SessionState::Open});
    NoteEvent last{1'000'000, {}};
    last.note.text = QStringLiteral("the last one");
    big.append(1, last);
    NoteEvent late{500, {}};
    late.note.text = QStringLiteral("late");
    big.append(2, late);
    big.commitPending();
    QCOMPARE(big.size(), LogStore::ChunkSize + 1);
    QCOMPARE(big.at(0).connection, 2u);
    QCOMPARE(big.extra(0)->notes.value(0).text, QStringLiteral("late"));
    QCOMPARE(big.at(LogStore::ChunkSize).kind, LogKind::Note);
    QCOMPARE(big.extra(LogStore::ChunkSize)->notes.value(0).text, QStringLiteral("the last one"));
    QCOMPARE(big.timeOriginUs(), 500);
}

void TestLogStore::sentRecordsKeepWhenTheyWereQueued() {
    LogStore store;
    store.setClockOffset(0);
    QList<SessionEvent> sent = textMessage(Direction::Outgoing, 1500, "queued");
    std::get<FrameEvent>(sent[0]).queuedUs = 1200;
    std::get<MessageEvent>(sent[1]).queuedUs = 1200;
    for (const SessionEvent &event : sent)
        store.append(1, event);
    QList<SessionEvent> received = textMessage(Direction::Incoming, 1600, "in");
    for (const SessionEvent &event : received)
        store.append(1, event);
    store.commitPending();
    QCOMPARE(store.size(), 2);
    QCOMPARE(store.at(0).timestampUs, 1500); // when it left
    QCOMPARE(store.at(0).sendDelayUs, 300u); // asked for 300 us before
    QCOMPARE(store.at(1).sendDelayUs, 0u);
}

namespace {

// Whether the two stores hold the same records, down to the fields operator== leaves
// out; says where they first differ.
bool sameRecords(const LogStore &a, const LogStore &b) {
    if (a.size() != b.size()) {
        qWarning("%lld records against %lld", qlonglong(a.size()), qlonglong(b.size()));
        return false;
    }
    for (qsizetype i = 0; i < a.size(); ++i) {
        const LogRecord &x = a.at(i);
        const LogRecord &y = b.at(i);
        if (!(x == y) || x.sendDelayUs != y.sendDelayUs || x.maskingKey != y.maskingKey ||
            x.flags != y.flags || x.frameCount != y.frameCount) {
            qWarning("record %lld differs", qlonglong(i));
            return false;
        }
    }
    return true;
}

} // namespace

void TestLogStore::relayedRunMakesTheRowsOfItsEvents_data() {
    QTest::addColumn<bool>("fromClient");
    QTest::newRow("client to server: re-masked") << true;
    QTest::newRow("server to client: unmasked") << false;
}

void TestLogStore::relayedRunMakesTheRowsOfItsEvents() {
    // A relay's run of whole messages, read on connection 1 at 1,000 us and written on
    // connection 2 at 1,300 us, makes the rows the events of its frames make: the
    // frames and messages as received, then the frames as sent.
    QFETCH(bool, fromClient);
    struct Message {
        quint8 opcode;
        QByteArray payload;
        quint32 theirKey;
        quint32 ourKey;
    };
    const QList<Message> messages = {{0x1, "Hello", 0x37fa213d, 0x01020304},
                                     {0x2, QByteArray(300, 'b'), 0x11223344, 0x55667788},
                                     {0x1, "", 0x0a0b0c0d, 0x0e0f1011}};
    const auto keyOf = [&](quint32 key, bool masked) {
        return masked ? std::optional<quint32>(key) : std::nullopt;
    };
    LogStore events;
    events.setClockOffset(0);
    LogStore runs;
    runs.setClockOffset(0);
    QByteArray received;
    QByteArray sent;
    for (const Message &m : messages) {
        const std::optional<quint32> theirs = keyOf(m.theirKey, fromClient);
        events.append(1, frameEvent(Direction::Incoming, 1000, m.opcode, m.payload, true, theirs));
        events.append(
            1, messageEvent(Direction::Incoming, 1000, static_cast<Opcode>(m.opcode), m.payload));
        received += ws::test::wireFrame(0x80 | m.opcode, m.payload, theirs);
        sent += ws::test::wireFrame(0x80 | m.opcode, m.payload, keyOf(m.ourKey, fromClient));
    }
    for (const Message &m : messages) {
        FrameEvent out = frameEvent(Direction::Outgoing, 1300, m.opcode, m.payload, true,
                                    keyOf(m.ourKey, fromClient));
        out.queuedUs = 1000;
        events.append(2, out);
    }
    events.commitPending();
    QCOMPARE(runs.appendRelayedRun(1, 2, received, sent, 1000, 1300), 3);
    QVERIFY(!runs.hasPending());
    QCOMPARE(runs.size(), events.size());
    QCOMPARE(runs.size(), 6);
    QVERIFY(sameRecords(runs, events));
    QCOMPARE(runs.at(3).sendDelayUs, 300u);
    QCOMPARE(runs.at(4).header().lengthEncoding, LengthEncoding::Extended16);
    // Each message's payload is kept once for its two rows, and the run's payloads are
    // parts of one allocation: the run as read when nothing in it was masked.
    QVERIFY(runs.at(0).payload.isSharedWith(runs.at(3).payload));
    const auto address = [](const char *bytes) { return quintptr(bytes); };
    QCOMPARE(address(runs.at(1).payload.constData()),
             address(runs.at(0).payload.constData() + (fromClient ? 5 : 9)));
    if (!fromClient)
        QCOMPARE(address(runs.at(0).payload.constData()), address(received.constData() + 2));
    // Counted once: as much as the same rows without payloads, and the allocation.
    LogStore bare;
    for (qsizetype i = 0; i < runs.size(); ++i) {
        LogRecord row = runs.at(i);
        row.payload = QByteArray();
        bare.appendRecord(row);
    }
    QCOMPARE(runs.memoryUsage(),
             bare.memoryUsage() + LogStore::payloadAllocation(runs.at(0).payload));
    QVERIFY(LogStore::payloadAllocation(runs.at(0).payload) >=
            (fromClient ? 305 : received.size()));
    QCOMPARE(runs.at(1).rawHeader().toByteArray() + runs.at(1).maskedPayload(),
             received.mid(runs.at(0).rawHeader().size + 5, runs.at(1).rawHeader().size + 300));
}

void TestLogStore::relayedMessageMakesTheRowsOfItsEvents_data() {
    relayedRunMakesTheRowsOfItsEvents_data();
}

void TestLogStore::relayedMessageMakesTheRowsOfItsEvents() {
    // A relay's large message forwarded in pieces, read on connection 1 at 1,000 us
    // and written on connection 2 at 1,400 us, makes the rows its events make.
    QFETCH(bool, fromClient);
    QByteArray payload(70000, Qt::Uninitialized);
    for (qsizetype i = 0; i < payload.size(); ++i)
        payload[i] = char(i % 253);
    const auto keyOf = [&](quint32 key) {
        return fromClient ? std::optional<quint32>(key) : std::nullopt;
    };
    const FrameEvent in = frameEvent(Direction::Incoming, 1000, 0x2, payload, true, keyOf(0x1234));
    FrameEvent out = frameEvent(Direction::Outgoing, 1400, 0x2, payload, true, keyOf(0x5678));
    out.queuedUs = 1000;
    LogStore events;
    events.setClockOffset(0);
    events.append(1, in);
    events.append(1, messageEvent(Direction::Incoming, 1000, Opcode::Binary, payload));
    events.append(2, out);
    events.commitPending();
    LogStore relayed;
    relayed.setClockOffset(0);
    relayed.appendRelayedMessage(1, 2, in.frame.header, out.frame.header, payload, 1000, 1400);
    QVERIFY(!relayed.hasPending());
    QCOMPARE(relayed.size(), 2);
    QCOMPARE(events.size(), 2);
    QVERIFY(sameRecords(relayed, events));
    QCOMPARE(relayed.at(1).sendDelayUs, 400u);
    QCOMPARE(relayed.at(0).header().lengthEncoding, LengthEncoding::Extended64);
    // The payload is kept once for both rows.
    QVERIFY(relayed.at(0).payload.isSharedWith(relayed.at(1).payload));
}

void TestLogStore::importsKeepTheirOrder() {
    LogStore store;
    LogRecord later = connectionRow(1, 2000, LogKind::Note);
    LogRecord earlier = connectionRow(1, 1000, LogKind::Note);
    store.appendRecord(later);
    store.appendRecord(earlier);
    QCOMPARE(store.at(0).timestampUs, 2000);
    QCOMPARE(store.at(1).timestampUs, 1000);
    QVERIFY(store.takeInsertions().empty());
    // A live row (an error the connection did not report as an event) goes in place.
    store.insertRecord(connectionRow(2, 1500, LogKind::Note));
    QCOMPARE(store.at(0).timestampUs, 2000);
    QCOMPARE(store.at(1).timestampUs, 1000);
    QCOMPARE(store.at(2).timestampUs, 1500);
}

void TestLogStore::realSessionPair() {
    SessionPair pair;
    QCOMPARE(pair.client->state(), SessionState::Open);
    QVERIFY(pair.converse(QByteArray::fromHex("00ff10")));

    LogStore store;
    store.setClockOffset(0);
    for (const auto &tagged : std::as_const(pair.events))
        store.append(tagged.connection, tagged.event);
    store.commitPending();

    // The client's view of the conversation, in the order it happened.
    QList<qsizetype> client;
    for (qsizetype i = 0; i < store.size(); ++i) {
        if (store.at(i).connection == SessionPair::ClientConnection)
            client.append(i);
    }
    QStringList kinds;
    for (const qsizetype i : std::as_const(client)) {
        const LogRecord &r = store.at(i);
        QString kind = QLatin1String(logKindName(r.kind));
        if (r.has(LogRecord::InMessageView) && !r.has(LogRecord::InFrameView))
            kind += QLatin1String("(message)");
        else if (!r.has(LogRecord::InMessageView))
            kind += QLatin1String("(frame)");
        kinds.append(r.has(LogRecord::Undirected)
                         ? kind
                         : (r.has(LogRecord::Outgoing) ? QLatin1String(">") : QLatin1String("<")) +
                               kind);
    }
    const QStringList expected{
        QStringLiteral(">handshake"),
        QStringLiteral("state"),
        QStringLiteral(">text"),
        QStringLiteral("<binary"),
        QStringLiteral(">ping"),
        QStringLiteral("<pong"),
        QStringLiteral(">text(frame)"),
        QStringLiteral(">continuation(frame)"),
        QStringLiteral(">continuation(frame)"),
        QStringLiteral(">text(message)"),
        QStringLiteral(">close"),
        QStringLiteral("state"),
        QStringLiteral("<close"),
        QStringLiteral("state"),
    };
    // The session may report state changes as it sees fit; compare the rest exactly.
    QStringList withoutStates = kinds;
    withoutStates.removeAll(QStringLiteral("state"));
    QStringList expectedWithoutStates = expected;
    expectedWithoutStates.removeAll(QStringLiteral("state"));
    QCOMPARE(withoutStates, expectedWithoutStates);

    const auto find = [&](LogKind kind, bool outgoing) -> const LogRecord & {
        for (const qsizetype i : std::as_const(client)) {
            const LogRecord &r = store.at(i);
            if (r.kind == kind && r.has(LogRecord::Outgoing) == outgoing)
                return r;
        }
        static const LogRecord none;
        return none;
    };
    const LogRecord &sent = find(LogKind::Text, true);
    QCOMPARE(sent.payload, QByteArray("Hello"));
    QCOMPARE(sent.rawHeader().toByteArray() + sent.maskedPayload(),
             QByteArray::fromHex("818537fa213d7f9f4d5158"));
    const LogRecord &pong = find(LogKind::Pong, false);
    QVERIFY(pong.has(LogRecord::HasRoundTrip));
    QVERIFY(pong.roundTripUs > 0);
    const LogRecord &close = find(LogKind::Close, false);
    QCOMPARE(close.closeCode, quint16(1000));

    // The fragmented message lists its three frames.
    qsizetype fragmented = -1;
    for (const qsizetype i : std::as_const(client)) {
        if (!store.at(i).isFrame() && store.at(i).frameCount == 3)
            fragmented = i;
    }
    QVERIFY(fragmented >= 0);
    QCOMPARE(store.at(fragmented).payload, QByteArray("fragmented message"));
    QCOMPARE(store.framesOfMessage(fragmented).size(), 3);

    // The server logged the same conversation from its side.
    bool serverSawText = false;
    for (qsizetype i = 0; i < store.size(); ++i) {
        const LogRecord &r = store.at(i);
        if (r.connection == SessionPair::ServerConnection && r.kind == LogKind::Text &&
            !r.has(LogRecord::Outgoing) && r.isFrame() && r.payload == "Hello")
            serverSawText = r.header().maskingKey == std::optional<quint32>(0x37fa213d);
    }
    QVERIFY(serverSawText);
    // Closed cleanly, the client having sent the first close.
    const LogRecord &last = store.at(client.last());
    QVERIFY(last.has(LogRecord::ClosedSummary));
    QVERIFY(last.has(LogRecord::CleanClose));
    QVERIFY(last.has(LogRecord::ClosedByUs));
}

void TestLogStore::dropOldestKeepsTheRest() {
    LogStore store;
    store.setClockOffset(0);
    const int count = int(LogStore::ChunkSize) * 2 + 100;
    for (int i = 0; i < count; ++i) {
        if (i % 1000 == 0) {
            ConformanceNote note;
            note.kind = ConformanceNote::Kind::ServerClosedTcpLate;
            note.text = QString::number(i);
            store.append(1, NoteEvent{i, note});
        } else {
            for (const SessionEvent &e : textMessage(Direction::Outgoing, i, QByteArray::number(i)))
                store.append(1, e);
        }
    }
    store.commitPending();
    QCOMPARE(store.size(), count);
    const qint64 before = store.memoryUsage();
    QCOMPARE(store.dropOldest(LogStore::ChunkSize + 500), LogStore::ChunkSize + 500);
    QCOMPARE(store.size(), count - LogStore::ChunkSize - 500);
    QCOMPARE(store.droppedCount(), LogStore::ChunkSize + 500);
    QCOMPARE(store.at(0).timestampUs, LogStore::ChunkSize + 500);
    QVERIFY(store.memoryUsage() < before);
    // Extras of the records that stay are still theirs.
    for (qsizetype i = 0; i < store.size(); ++i) {
        const LogRecord &r = store.at(i);
        if (r.kind == LogKind::Note)
            QCOMPARE(store.extra(i)->notes.first().text, QString::number(r.timestampUs));
        else
            QCOMPARE(r.payload, QByteArray::number(r.timestampUs));
    }
    QCOMPARE(store.dropOldest(store.size() + 10), count - LogStore::ChunkSize - 500);
    QVERIFY(store.isEmpty());
    QCOMPARE(store.memoryUsage(), 0);
}

void TestLogStore::releasedConnectionsGoWithTheirLastRecord() {
    LogStore store;
    store.setClockOffset(0);
    qint64 time = 0;
    const auto message = [&](quint32 connection) {
        for (const SessionEvent &e : textMessage(Direction::Incoming, ++time, "m"))
            store.append(connection, e);
    };
    const auto closed = [&](quint32 connection) {
        store.append(connection, ClosedEvent{++time, 1000, QString(), true, false});
    };
    // 1 and 2 are over and released; 3 goes on.
    for (const quint32 connection : {1u, 2u, 3u})
        store.setConnectionInfo(connection, {QStringLiteral("c%1").arg(connection), {}});
    message(1);
    closed(1);
    message(2);
    closed(2);
    message(3);
    QVERIFY(!store.release(1));
    QVERIFY(!store.release(2));
    QCOMPARE(store.releasedCount(), 2);
    // An id the store never saw goes at once, but only once the store is empty: a
    // record it holds may be the id's (an inserted row leaves no state behind).
    QVERIFY(!store.release(99));
    // Released connections stay known while their records may still be in the store:
    // the records themselves, and MaxReorderDistance more (later insertions may
    // have moved their records up).
    const qint64 end = store.size();
    while (store.droppedCount() + store.size() < end + LogStore::MaxReorderDistance)
        message(3);
    store.commitPending();
    std::vector<quint32> forgotten;
    store.dropOldest(end + LogStore::MaxReorderDistance - 1, &forgotten);
    QVERIFY(forgotten.empty());
    QCOMPARE(store.connectionName(1), QStringLiteral("c1"));
    QCOMPARE(store.connectionIds(), (QList<quint32>{1, 2, 3}));
    store.dropOldest(1, &forgotten);
    QCOMPARE(forgotten, (std::vector<quint32>{1, 2, 99}));
    QCOMPARE(store.releasedCount(), 0);
    QCOMPARE(store.connectionIds(), QList<quint32>{3});
    QCOMPARE(store.connectionName(1), QStringLiteral("#1"));
    QCOMPARE(store.connectionName(3), QStringLiteral("c3"));
    // Connection 3 merges as before (its state is intact).
    message(3);
    store.commitPending();
    QCOMPARE(store.at(store.size() - 1).kind, LogKind::Text);
    QVERIFY(store.at(store.size() - 1).has(LogRecord::InFrameView));
    // An empty store holds no record of anyone: a release is a forgetting at once.
    store.dropOldest(store.size());
    QVERIFY(store.release(3));
    QVERIFY(store.connectionIds().isEmpty());
    // Without time order no record moves: once dropped, nothing is left.
    LogStore unordered;
    unordered.setClockOffset(0);
    unordered.setTimeOrdered(false);
    unordered.setConnectionInfo(7, {QStringLiteral("seven"), {}});
    unordered.append(7, ClosedEvent{1, 1000, QString(), true, false});
    unordered.append(8, ClosedEvent{2, 1000, QString(), true, false});
    QVERIFY(!unordered.release(7));
    forgotten.clear();
    unordered.dropOldest(1, &forgotten);
    QVERIFY(forgotten.empty());
    unordered.dropOldest(1, &forgotten);
    QCOMPARE(forgotten, std::vector<quint32>{7});
    // Clearing the records forgets what was released and keeps the rest.
    LogStore cleared;
    cleared.setConnectionInfo(1, {QStringLiteral("one"), {}});
    cleared.setConnectionInfo(2, {QStringLiteral("two"), {}});
    cleared.append(1, ClosedEvent{1, 1000, QString(), true, false});
    QVERIFY(!cleared.release(1));
    cleared.clearRecords();
    QCOMPARE(cleared.connectionIds(), QList<quint32>{2});
    QCOMPARE(cleared.releasedCount(), 0);
}

void TestLogStore::releaseCommitsWhatItHoldsBack() {
    LogStore store;
    store.setClockOffset(0);
    store.setTimeOrdered(false);
    store.setConnectionInfo(1, {QStringLiteral("one"), {}});
    store.append(2, frameEvent(Direction::Incoming, 1, 0x1, "two's"));
    store.append(1, frameEvent(Direction::Incoming, 2, 0x1, "held"));
    QCOMPARE(store.size(), 1); // the frame of 1 waits for its message
    // The held frame is 1's: it is committed before the end is noted, and the
    // connection is known for as long as that record is in the store.
    QVERIFY(!store.release(1));
    QCOMPARE(store.size(), 2);
    QCOMPARE(store.at(1).payload, QByteArray("held"));
    std::vector<quint32> forgotten;
    store.dropOldest(1, &forgotten);
    QVERIFY(forgotten.empty());
    QCOMPARE(store.connectionName(1), QStringLiteral("one"));
    store.dropOldest(1, &forgotten);
    QCOMPARE(forgotten, std::vector<quint32>{1});
}

void TestLogStore::previewEscapesAndTruncates_data() {
    QTest::addColumn<int>("opcode");
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<QString>("expected");
    QTest::newRow("text") << 0x1 << QByteArray("Hello") << QStringLiteral("Hello");
    QTest::newRow("controls escaped")
        << 0x1 << QByteArray("a\nb\tc\r\x01") << QStringLiteral("a\\nb\\tc\\r\\x01");
    QTest::newRow("utf-8") << 0x1 << QByteArray("gr\xc3\xbc\xc3\x9f") << QStringLiteral("grüß");
    QTest::newRow("binary as hex")
        << 0x2 << QByteArray::fromHex("00ff10") << QStringLiteral("00 ff 10");
    QTest::newRow("empty") << 0x1 << QByteArray() << QStringLiteral("(empty)");
    QTest::newRow("close") << 0x8 << QByteArray::fromHex("03e9627965")
                           << QStringLiteral("1001 going away: bye");
    QTest::newRow("long text truncated")
        << 0x1 << QByteArray(1000, 'x') << QString(120, QLatin1Char('x')) + QChar(0x2026);
}

void TestLogStore::previewEscapesAndTruncates() {
    QFETCH(int, opcode);
    QFETCH(QByteArray, payload);
    QFETCH(QString, expected);
    LogStore store;
    store.setClockOffset(0);
    store.append(1, frameEvent(Direction::Incoming, 0, quint8(opcode), payload));
    store.commitPending();
    QCOMPARE(recordPreview(store.at(0), store.extra(0)), expected);
}

QTEST_GUILESS_MAIN(TestLogStore)
#include "tst_logstore.moc"

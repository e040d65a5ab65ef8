// The Server misbehaving on purpose (Misbehaviour), seen from raw sockets that compare
// exact bytes and from our own client: each bad frame as it goes on the wire, broken
// 101s and refusals, fragments with pings between, pongs withheld or wrong, a burst
// that respects back-pressure, staged notes, and a change for one client while it runs.

#include "nettesthelpers.h"

#include "net/misbehaviour.h"

#include <QSignalSpy>
#include <QTest>

using namespace ws;
using namespace wstest;

namespace {

struct StagedServer {
    explicit StagedServer(const Misbehaviour &misbehaviour,
                          ServerOptions::Mode mode = ServerOptions::Mode::Echo)
        : server([&] {
            ServerOptions options = localOptions(mode);
            options.misbehaviour = misbehaviour;
            return options;
        }()) {
        QObject::connect(&server, &Server::logMessage, &recorder,
                         [this](const QString &line) { log.append(line); });
        QObject::connect(&server, &Server::clientConnected, &recorder,
                         [this](ServerClient *client) {
                             clients.append(client);
                             recorder.watch(client);
                         });
    }
    bool waitLog(const QString &part, int timeoutMs = 5000) {
        return QTest::qWaitFor(
            [&] {
                return std::any_of(log.cbegin(), log.cend(),
                                   [&](const QString &line) { return line.contains(part); });
            },
            timeoutMs);
    }

    Server server;
    EventRecorder recorder;
    QList<ServerClient *> clients;
    QStringList log;
};

// Frames from `buffer` (server frames), as many as are complete.
QList<WireFrame> takeFrames(QByteArray &buffer) {
    QList<WireFrame> frames;
    while (const std::optional<WireFrame> frame = parseFrame(buffer)) {
        frames.append(*frame);
        buffer.remove(0, frame->wireSize);
    }
    return frames;
}

// Sends an upgrade request and reads the whole answer (the server closes after it).
QByteArray handshakeAnswer(quint16 port) {
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(5000))
        return {};
    socket.write(upgradeRequest(port));
    QByteArray answer;
    static_cast<void>(QTest::qWaitFor(
        [&] {
            answer += socket.readAll();
            return socket.state() == QAbstractSocket::UnconnectedState;
        },
        5000));
    return answer + socket.readAll();
}

} // namespace

class tst_Misbehaviour : public QObject {
    Q_OBJECT

private slots:
    void offByDefault();
    void names();
    void badFrameOnTheWire_data();
    void badFrameOnTheWire();
    void badFrameAfterMessagesFollowsTheEcho();
    void brokenUpgradeRefusedByOurClient_data();
    void brokenUpgradeRefusedByOurClient();
    void refusalWithHeadersAndBody();
    void fragmentsWithPingsBetween();
    void pongsWithheldOrWrong();
    void delayedRepliesAreStagedNotes();
    void cleanCloseAfterMessages();
    void burstRespectsBackpressure();
    void changeOneClientWhileItRuns();
    void stoppedReaderIsNotTakenForDead();
};

void tst_Misbehaviour::offByDefault() {
    QVERIFY(Misbehaviour{}.isOff());
    QVERIFY(Misbehaviour{}.describe().isEmpty());
    QVERIFY(ServerOptions().misbehaviour.isOff());
    Misbehaviour m;
    m.replyDelayMinMs = 10;
    m.replyDelayMaxMs = 30;
    m.badFrame = Misbehaviour::BadFrame::Rsv2;
    m.badFrameAfter = 3;
    QVERIFY(!m.isOff());
    QCOMPARE(m.describe(), QStringList({QStringLiteral("reply delay 10-30 ms"),
                                        QStringLiteral("bad frame rsv2 after 3 messages")}));
}

void tst_Misbehaviour::names() {
    for (const QString &name : badFrameNames())
        QCOMPARE(QLatin1String(badFrameName(*badFrameFromName(name))), name);
    QCOMPARE(badFrameNames().size(), 10);
    QVERIFY(!badFrameFromName(u"rsv4"));
    QCOMPARE(*closeStyleFromName(u"rst"), Misbehaviour::CloseStyle::Reset);
    QCOMPARE(*badUpgradeFromName(u"bad-accept"), Misbehaviour::BadUpgrade::BadAccept);
}

void tst_Misbehaviour::badFrameOnTheWire_data() {
    QTest::addColumn<Misbehaviour::BadFrame>("kind");
    QTest::addColumn<QByteArray>("bytes");
    QTest::newRow("rsv1") << Misbehaviour::BadFrame::Rsv1
                          << QByteArray("\xC1\x1D"
                                        "RSV1 set without an extension");
    QTest::newRow("rsv2") << Misbehaviour::BadFrame::Rsv2
                          << QByteArray("\xA1\x1D"
                                        "RSV2 set without an extension");
    QTest::newRow("rsv3") << Misbehaviour::BadFrame::Rsv3
                          << QByteArray("\x91\x1D"
                                        "RSV3 set without an extension");
    QTest::newRow("reserved opcode")
        << Misbehaviour::BadFrame::ReservedOpcode << QByteArray("\x83\x13reserved opcode 0x3");
    QTest::newRow("invalid UTF-8")
        << Misbehaviour::BadFrame::InvalidUtf8 << QByteArray("\x81\x0Enot UTF-8: \x80\xC0\xAF");
    QTest::newRow("126-byte ping") << Misbehaviour::BadFrame::LongPing
                                   << QByteArray("\x89\x7E\x00\x7E", 4) + QByteArray(126, 'p');
    // RFC 6455 §5.7's key over "masked by the server".
    QByteArray masked = "\x81\x94\x37\xFA\x21\x3D";
    const QByteArray clear = "masked by the server";
    const char key[4] = {'\x37', '\xFA', '\x21', '\x3D'};
    for (qsizetype i = 0; i < clear.size(); ++i)
        masked.append(char(clear.at(i) ^ key[i % 4]));
    QTest::newRow("masked") << Misbehaviour::BadFrame::MaskedFrame << masked;
    QTest::newRow("close 1005") << Misbehaviour::BadFrame::BadCloseCode
                                << QByteArray("\x88\x1C\x03\xED"
                                              "code 1005 must not be sent");
    QTest::newRow("orphan continuation") << Misbehaviour::BadFrame::OrphanContinuation
                                         << QByteArray("\x80\x1C"
                                                       "continuation without a start");
    QTest::newRow("lying length") << Misbehaviour::BadFrame::LyingLength
                                  << QByteArray("\x81\x02ok\xFF\xFF\xFF\xFF\xFF\xFF");
}

void tst_Misbehaviour::badFrameOnTheWire() {
    QFETCH(Misbehaviour::BadFrame, kind);
    QFETCH(QByteArray, bytes);
    Misbehaviour m;
    m.badFrame = kind;
    StagedServer staged(m);
    QVERIFY(staged.server.listen());
    QTcpSocket socket;
    QByteArray buffer;
    QVERIFY(rawHandshake(socket, staged.server.port(), &buffer));
    QVERIFY(
        readUntil(socket, buffer, [&](const QByteArray &b) { return b.size() >= bytes.size(); }));
    QCOMPARE(buffer.left(bytes.size()).toHex(' '), bytes.toHex(' '));
    QVERIFY(staged.waitLog(
        QStringLiteral("staged: sent bad frame: %1").arg(QLatin1String(badFrameName(kind)))));
    // Reported as staged, never as a fault of the peer.
    QVERIFY(staged.recorder.hasNote(ConformanceNote::Kind::Staged));
    QVERIFY(staged.recorder.all<ViolationEvent>().isEmpty());
}

void tst_Misbehaviour::badFrameAfterMessagesFollowsTheEcho() {
    Misbehaviour m;
    m.badFrame = Misbehaviour::BadFrame::Rsv2;
    m.badFrameAfter = 2;
    StagedServer staged(m);
    QVERIFY(staged.server.listen());
    RecordedClient client(clientOptions(staged.server.port()));
    client.connection.open();
    QVERIFY(client.waitOpen());
    QVERIFY(client.connection.sendText("one") == SendError::None);
    QVERIFY(client.connection.sendText("two") == SendError::None);
    QVERIFY(client.waitFinished());
    QCOMPARE(client.recorder.incomingData(), QList<QByteArray>({"one", "two"}));
    const QList<ViolationEvent> violations = client.recorder.all<ViolationEvent>();
    QCOMPARE(violations.size(), 1);
    QCOMPARE(toWire(violations.first().violation.closeCode()), quint16(1002));
}

void tst_Misbehaviour::brokenUpgradeRefusedByOurClient_data() {
    QTest::addColumn<Misbehaviour::BadUpgrade>("kind");
    QTest::addColumn<QByteArray>("present");
    QTest::addColumn<QByteArray>("absent");
    QTest::newRow("bad accept") << Misbehaviour::BadUpgrade::BadAccept
                                << QByteArray("Sec-WebSocket-Accept: ") << QByteArray(SampleAccept);
    QTest::newRow("extension") << Misbehaviour::BadUpgrade::UnofferedExtension
                               << QByteArray("Sec-WebSocket-Extensions: x-wsw-not-offered\r\n")
                               << QByteArray("Sec-WebSocket-Protocol");
    QTest::newRow("subprotocol") << Misbehaviour::BadUpgrade::UnofferedSubprotocol
                                 << QByteArray("Sec-WebSocket-Protocol: x-wsw-not-offered\r\n")
                                 << QByteArray("Sec-WebSocket-Extensions");
    QTest::newRow("no Upgrade") << Misbehaviour::BadUpgrade::MissingUpgrade
                                << QByteArray(SampleAccept) << QByteArray("Upgrade: websocket");
}

void tst_Misbehaviour::brokenUpgradeRefusedByOurClient() {
    QFETCH(Misbehaviour::BadUpgrade, kind);
    QFETCH(QByteArray, present);
    QFETCH(QByteArray, absent);
    Misbehaviour m;
    m.badUpgrade = kind;
    StagedServer staged(m);
    QVERIFY(staged.server.listen());
    const QByteArray answer = handshakeAnswer(staged.server.port());
    QVERIFY2(answer.startsWith("HTTP/1.1 101 Switching Protocols\r\n"), answer.constData());
    QVERIFY2(answer.contains(present), answer.constData());
    QVERIFY2(!answer.contains(absent), answer.constData());
    QVERIFY(staged.waitLog(QStringLiteral("staged: answered the upgrade with a broken 101")));

    RecordedClient client(clientOptions(staged.server.port()));
    client.connection.open();
    QVERIFY(client.waitFinished());
    const QList<HandshakeEvent> handshakes = client.recorder.all<HandshakeEvent>();
    QVERIFY(!handshakes.isEmpty());
    QCOMPARE(handshakes.last().kind, HandshakeEvent::Kind::Failed);
    QCOMPARE(handshakes.last().httpStatus, 101);
    QVERIFY(staged.clients.isEmpty()); // never announced as connected
}

void tst_Misbehaviour::refusalWithHeadersAndBody() {
    Misbehaviour m;
    m.refuseStatus = 503;
    m.refuseHeaders = {{"Retry-After", "7"}};
    m.refuseBody = "come back later";
    StagedServer staged(m);
    QVERIFY(staged.server.listen());
    const QByteArray answer = handshakeAnswer(staged.server.port());
    QVERIFY2(answer.startsWith("HTTP/1.1 503 Service Unavailable\r\n"), answer.constData());
    QVERIFY(answer.contains("\r\nRetry-After: 7\r\n"));
    QVERIFY(answer.contains("\r\nContent-Length: 15\r\n"));
    QVERIFY(answer.endsWith("\r\n\r\ncome back later"));
    QVERIFY(staged.waitLog(QStringLiteral("staged: refused the handshake with 503")));
}

void tst_Misbehaviour::fragmentsWithPingsBetween() {
    Misbehaviour m;
    m.fragmentSize = 4;
    m.pingBetweenFragments = true;
    StagedServer staged(m);
    QVERIFY(staged.server.listen());
    QTcpSocket socket;
    QByteArray buffer;
    QVERIFY(rawHandshake(socket, staged.server.port(), &buffer));
    socket.write(maskedFrame(0x81, "abcdefghij", 0x01020304));
    const QByteArray expected = QByteArray("\x01\x04"
                                           "abcd\x89\x0A"
                                           "fragment 1") +
                                QByteArray("\x00\x04"
                                           "efgh",
                                           6) +
                                "\x89\x0A"
                                "fragment 2\x80\x02"
                                "ij";
    QVERIFY(readUntil(socket, buffer,
                      [&](const QByteArray &b) { return b.size() >= expected.size(); }));
    QCOMPARE(buffer.toHex(' '), expected.toHex(' '));
}

void tst_Misbehaviour::pongsWithheldOrWrong() {
    for (const auto style : {Misbehaviour::PongStyle::Withhold, Misbehaviour::PongStyle::Wrong,
                             Misbehaviour::PongStyle::Delay}) {
        Misbehaviour m;
        m.pong = style;
        m.pongDelayMs = 200;
        StagedServer staged(m);
        QVERIFY(staged.server.listen());
        RecordedClient client(clientOptions(staged.server.port()));
        client.connection.open();
        QVERIFY(client.waitOpen());
        QVERIFY(client.connection.sendPing("are you there") == SendError::None);
        QVERIFY(client.connection.sendText("after the ping") == SendError::None);
        // The echo comes after the ping was handled: any immediate pong would be in by then.
        QVERIFY(QTest::qWaitFor([&] { return client.recorder.incomingData().size() == 1; }, 5000));
        const QList<PongEvent> pongs = client.recorder.all<PongEvent>();
        switch (style) {
        case Misbehaviour::PongStyle::Withhold:
            QVERIFY(deliverPostedEvents());
            QVERIFY(client.recorder.all<PongEvent>().isEmpty());
            QVERIFY(staged.waitLog(QStringLiteral("staged: withheld pong")));
            break;
        case Misbehaviour::PongStyle::Wrong:
            QCOMPARE(pongs.size(), 1);
            QCOMPARE(pongs.first().payload, QByteArray("wrong:ereht uoy era"));
            QVERIFY(!pongs.first().roundTripUs);
            QVERIFY(client.recorder.hasNote(ConformanceNote::Kind::PongMismatch));
            break;
        case Misbehaviour::PongStyle::Delay: {
            QVERIFY(pongs.isEmpty());
            QVERIFY(
                QTest::qWaitFor([&] { return !client.recorder.all<PongEvent>().isEmpty(); }, 5000));
            const PongEvent pong = client.recorder.all<PongEvent>().first();
            QCOMPARE(pong.payload, QByteArray("are you there"));
            QVERIFY2(pong.roundTripUs && *pong.roundTripUs >= 190'000,
                     qPrintable(QString::number(pong.roundTripUs.value_or(-1))));
            break;
        }
        case Misbehaviour::PongStyle::Normal:
            break;
        }
    }
}

void tst_Misbehaviour::delayedRepliesAreStagedNotes() {
    Misbehaviour m;
    m.replyDelayMinMs = m.replyDelayMaxMs = 100;
    StagedServer staged(m);
    QVERIFY(staged.server.listen());
    RecordedClient client(clientOptions(staged.server.port()));
    client.connection.open();
    QVERIFY(client.waitOpen());
    QElapsedTimer timer;
    timer.start();
    QVERIFY(client.connection.sendText("late") == SendError::None);
    QVERIFY(QTest::qWaitFor([&] { return client.recorder.incomingData().size() == 1; }, 5000));
    QVERIFY2(timer.elapsed() >= 95, qPrintable(QString::number(timer.elapsed())));
    QVERIFY(staged.waitLog(QStringLiteral("staged: delayed reply 100 ms")));
    const QList<NoteEvent> notes = staged.recorder.all<NoteEvent>();
    QVERIFY(std::any_of(notes.cbegin(), notes.cend(), [](const NoteEvent &note) {
        return note.note.kind == ConformanceNote::Kind::Staged &&
               note.note.text == QLatin1String("delayed reply 100 ms");
    }));
}

void tst_Misbehaviour::cleanCloseAfterMessages() {
    Misbehaviour m;
    m.closeAfterMessages = 2;
    m.closeCode = 4000;
    m.closeReason = QStringLiteral("staged");
    StagedServer staged(m);
    QVERIFY(staged.server.listen());
    RecordedClient client(clientOptions(staged.server.port()));
    client.connection.open();
    QVERIFY(client.waitOpen());
    QVERIFY(client.connection.sendText("a") == SendError::None);
    QVERIFY(client.connection.sendText("b") == SendError::None);
    QVERIFY(client.waitFinished());
    QCOMPARE(client.recorder.incomingData(), QList<QByteArray>({"a", "b"}));
    const std::optional<ClosedEvent> closed = client.recorder.closed();
    QVERIFY(closed);
    QCOMPARE(closed->code, quint16(4000));
    QCOMPARE(closed->reason, QStringLiteral("staged"));
    QVERIFY(closed->clean);
}

void tst_Misbehaviour::burstRespectsBackpressure() {
    Misbehaviour m;
    m.burstCount = 400;
    m.burstSize = 64 * 1024; // 25 MiB in all
    StagedServer staged(m);
    QVERIFY(staged.server.listen());
    QTcpSocket socket;
    QByteArray buffer;
    socket.setReadBufferSize(64 * 1024);
    QVERIFY(rawHandshake(socket, staged.server.port(), &buffer));
    QVERIFY(QTest::qWaitFor([&] { return !staged.clients.isEmpty(); }, 5000));
    // Not reading: the server must stop at a bounded queue, not hold the whole burst.
    QTest::qWait(300);
    ServerClient *client = staged.clients.first();
    QVERIFY2(client->pendingBytes() <= 256 * 1024 + 2 * m.burstSize,
             qPrintable(QString::number(client->pendingBytes())));
    socket.setReadBufferSize(0);
    int messages = 0;
    QVERIFY(QTest::qWaitFor(
        [&] {
            buffer += socket.readAll();
            for (const WireFrame &frame : takeFrames(buffer)) {
                if (frame.opcode() == 0x1 && frame.payload.size() == m.burstSize)
                    ++messages;
            }
            return messages == m.burstCount;
        },
        20000));
    QVERIFY(staged.waitLog(QStringLiteral("staged: burst done: 400 messages")));
}

void tst_Misbehaviour::changeOneClientWhileItRuns() {
    StagedServer staged{Misbehaviour{}};
    QVERIFY(staged.server.listen());
    QTcpSocket first;
    QTcpSocket second;
    QByteArray firstBuffer;
    QByteArray secondBuffer;
    QVERIFY(rawHandshake(first, staged.server.port(), &firstBuffer));
    QVERIFY(rawHandshake(second, staged.server.port(), &secondBuffer));
    QVERIFY(QTest::qWaitFor([&] { return staged.clients.size() == 2; }, 5000));
    Misbehaviour fragmented;
    fragmented.fragmentSize = 2;
    staged.clients.first()->setMisbehaviour(fragmented);
    QCOMPARE(staged.clients.first()->misbehaviour(), fragmented);
    QVERIFY(staged.clients.last()->misbehaviour().isOff());
    QVERIFY(staged.waitLog(QStringLiteral("misbehaviour changed: fragments of 2 bytes")));
    first.write(maskedFrame(0x81, "abcde", 0x01020304));
    second.write(maskedFrame(0x81, "abcde", 0x01020304));
    const QByteArray fragmentedEcho = QByteArray("\x01\x02"
                                                 "ab\x00\x02"
                                                 "cd\x80\x01"
                                                 "e",
                                                 11);
    QVERIFY(readUntil(first, firstBuffer,
                      [&](const QByteArray &b) { return b.size() >= fragmentedEcho.size(); }));
    QVERIFY(readUntil(second, secondBuffer, [](const QByteArray &b) { return b.size() >= 7; }));
    QCOMPARE(firstBuffer.toHex(' '), fragmentedEcho.toHex(' '));
    QCOMPARE(secondBuffer, QByteArray("\x81\x05"
                                      "abcde"));
    // Off again: one frame.
    staged.clients.first()->setMisbehaviour({});
    firstBuffer.clear();
    first.write(maskedFrame(0x81, "abcde", 0x01020304));
    QVERIFY(readUntil(first, firstBuffer, [](const QByteArray &b) { return b.size() >= 7; }));
    QCOMPARE(firstBuffer, QByteArray("\x81\x05"
                                     "abcde"));
}

void tst_Misbehaviour::stoppedReaderIsNotTakenForDead() {
    Misbehaviour m;
    m.stopReadingAfter = 1;
    ServerOptions options = localOptions();
    options.keepaliveIntervalMs = 100;
    options.misbehaviour = m;
    Server server(options);
    QStringList log;
    QObject::connect(&server, &Server::logMessage, &server,
                     [&log](const QString &line) { log.append(line); });
    QVERIFY(server.listen());
    QTcpSocket socket;
    QByteArray buffer;
    QVERIFY(rawHandshake(socket, server.port(), &buffer));
    socket.write(maskedFrame(0x81, "one", 0x01020304));
    QVERIFY(readUntil(socket, buffer, [](const QByteArray &b) { return b.size() >= 5; }));
    QCOMPARE(buffer, QByteArray("\x81\x03one"));
    // Silent for many keepalive intervals, since the server does not read it: kept.
    QTest::qWait(600);
    QCOMPARE(socket.state(), QAbstractSocket::ConnectedState);
    QCOMPARE(server.clients().size(), 1);
    QVERIFY2(!log.join(QLatin1Char('\n')).contains(QStringLiteral("dead peer")),
             qPrintable(log.join(QLatin1Char('\n'))));
    QVERIFY(
        log.join(QLatin1Char('\n')).contains(QStringLiteral("staged: stopped reading after 1")));
}

QTEST_GUILESS_MAIN(tst_Misbehaviour)
#include "tst_misbehaviour.moc"

// Our ClientConnection against our Server on 127.0.0.1, in every server mode. Built
// twice: on Qt's event dispatcher, and on the command-line tool's as
// tst_clientserver_epoll (net/epolltestmain.h).

#include "epolltestmain.h"
#include "nettesthelpers.h"

#include "net/readahead.h"

#include <QAbstractEventDispatcher>
#include <QEventLoop>
#include <QSignalSpy>
#include <QTest>
#include <QTimer>

#include <algorithm>

using namespace ws;
using namespace wstest;

namespace {

// A server that records every event of every client it accepts.
struct TestServer {
    explicit TestServer(ServerOptions options)
        : server(std::move(options)) {
        QObject::connect(&server, &Server::clientConnected, &recorder,
                         [this](ServerClient *client) {
                             clients.append(client);
                             recorder.watch(client);
                         });
        QObject::connect(&server, &Server::logMessage, &recorder,
                         [this](const QString &line) { log.append(line); });
    }
    bool hasLogLine(const QString &part) const {
        return std::any_of(log.cbegin(), log.cend(),
                           [&](const QString &line) { return line.contains(part); });
    }

    Server server;
    EventRecorder recorder;
    QList<ServerClient *> clients; // in connection order (may dangle once disconnected)
    QStringList log;
};

// A client with its recorder; opened at once.
struct TestClient {
    explicit TestClient(ClientOptions options)
        : connection(std::move(options)) {
        recorder.watch(&connection);
        QObject::connect(&connection, &ClientConnection::errorOccurred, &recorder,
                         [this](const QString &message) { errors.append(message); });
        connection.open();
    }
    bool waitOpen(int timeoutMs = 5000) {
        return QTest::qWaitFor([&] { return connection.state() == SessionState::Open; }, timeoutMs);
    }

    ClientConnection connection;
    EventRecorder recorder;
    QStringList errors;
};

QByteArray pattern(qsizetype size, bool text) {
    QByteArray out(size, Qt::Uninitialized);
    for (qsizetype i = 0; i < size; ++i)
        out[i] = text ? char('a' + i % 26) : char((i * 7 + i / 251) & 0xFF);
    return out;
}

} // namespace

class tst_ClientServer : public QObject {
    Q_OBJECT

private slots:
    void echoSizes_data();
    void echoSizes();
    void echoSixteenMebibytes_data();
    void echoSixteenMebibytes();
    void fragmentedSend();
    void pingRoundTrip();
    void readAheadAnswersWithoutTheEventLoop();
    void clientClosesWithCode();
    void eventObserverHearsEachEventFirst();
    void reportedHandlerClosesEachReadBatch();
    void serverClosesWithCode();
    void greetingMode();
    void broadcastJoinLeave();
    void broadcastBurst();
    void clientRepliesFromSlot();
    void manualMode();
    void stopSendsGoingAway();
    void originAllowList_data();
    void originAllowList();
    void maxConnections();
    void subprotocolSelection_data();
    void subprotocolSelection();
    void resourceNameReachesServer();
    void idleTimeoutClosesWithGoingAway();
    void keepaliveKeepsLivePeer();
    void clientKeepaliveSendsPings();
    void clientDropsPings();
    void clientDelaysPongs();
    void clientAbort();
    void pausedReadingWaitsQuietly();
    void abortFromSlotKeepsOrder();
    void serverDeletedWithClients();
    void queuedConnectionsCarryEvents();
};

void tst_ClientServer::echoSizes_data() {
    QTest::addColumn<bool>("text");
    QTest::addColumn<int>("size");
    // RFC 6455 §5.2: the edges of the 7-bit, 16-bit and 64-bit length encodings.
    for (const int size : {0, 125, 126, 65535, 65536}) {
        QTest::addRow("text %d", size) << true << size;
        QTest::addRow("binary %d", size) << false << size;
    }
}

void tst_ClientServer::echoSizes() {
    QFETCH(bool, text);
    QFETCH(int, size);
    TestServer server(localOptions(ServerOptions::Mode::Echo));
    QVERIFY(server.server.listen());
    TestClient client(clientOptions(server.server.port()));
    QVERIFY(client.waitOpen());

    const QByteArray payload = pattern(size, text);
    QCOMPARE(text ? client.connection.sendText(payload) : client.connection.sendBinary(payload),
             SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(client.recorder.messages().size(), 1, 5000);
    const DecodedMessage echoed = client.recorder.messages().first();
    QCOMPARE(echoed.type, text ? Opcode::Text : Opcode::Binary);
    QCOMPARE(echoed.data.size(), payload.size());
    QVERIFY(echoed.data == payload);
    QCOMPARE(echoed.frameCount, 1);
}

void tst_ClientServer::echoSixteenMebibytes_data() {
    QTest::addColumn<bool>("observed");
    // Unobserved, the server takes its raw-frame fast path; observed, the session's
    // ordinary send path with events.
    QTest::addRow("fast path") << false;
    QTest::addRow("observed") << true;
}

void tst_ClientServer::echoSixteenMebibytes() {
    QFETCH(bool, observed);
    ServerOptions options = localOptions(ServerOptions::Mode::Echo);
    options.events = observed ? EventReporting::On : EventReporting::Off;
    Server server(options);
    EventRecorder serverRecorder;
    if (observed) {
        connect(&server, &Server::clientConnected, &serverRecorder,
                [&](ServerClient *c) { serverRecorder.watch(c); });
    }
    QVERIFY(server.listen());
    TestClient client(clientOptions(server.port()));
    QVERIFY(client.waitOpen());

    const QByteArray payload = pattern(16 * 1024 * 1024, false);
    QCOMPARE(client.connection.sendBinary(payload), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(client.recorder.messages().size(), 1, 60000);
    const DecodedMessage echoed = client.recorder.messages().first();
    QCOMPARE(echoed.type, Opcode::Binary);
    QCOMPARE(echoed.data.size(), payload.size());
    QVERIFY(echoed.data == payload);
    if (observed)
        QCOMPARE(serverRecorder.messages(Direction::Outgoing).size(), 1);
}

void tst_ClientServer::fragmentedSend() {
    TestServer server(localOptions(ServerOptions::Mode::Echo));
    QVERIFY(server.server.listen());
    TestClient client(clientOptions(server.server.port()));
    QVERIFY(client.waitOpen());

    const QByteArray payload = pattern(10'000, true);
    QCOMPARE(client.connection.sendText(payload, 1000), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(client.recorder.messages().size(), 1, 5000);

    // RFC 6455 §5.4: ten frames on the way out, one message at the server.
    int outgoingFrames = 0;
    for (const FrameEvent &frame : client.recorder.all<FrameEvent>())
        outgoingFrames += frame.direction == Direction::Outgoing ? 1 : 0;
    QCOMPARE(outgoingFrames, 10);
    const QList<DecodedMessage> atServer = server.recorder.messages();
    QCOMPARE(atServer.size(), 1);
    QCOMPARE(atServer.first().frameCount, 10);
    QVERIFY(atServer.first().data == payload);
    // The echo goes back whole, as text.
    QCOMPARE(client.recorder.messages().first().type, Opcode::Text);
    QVERIFY(client.recorder.messages().first().data == payload);
}

void tst_ClientServer::pingRoundTrip() {
    TestServer server(localOptions(ServerOptions::Mode::Echo));
    QVERIFY(server.server.listen());
    TestClient client(clientOptions(server.server.port()));
    QVERIFY(client.waitOpen());

    QCOMPARE(client.connection.sendPing("rtt-1"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(client.recorder.all<PongEvent>().size(), 1, 5000);
    const PongEvent pong = client.recorder.all<PongEvent>().first();
    QCOMPARE(pong.payload, QByteArray("rtt-1"));
    QVERIFY(pong.roundTripUs.has_value());
    QVERIFY(*pong.roundTripUs >= 0);
    QVERIFY(*pong.roundTripUs < 5'000'000);

    const QList<PingEvent> pingsAtServer = server.recorder.all<PingEvent>();
    QCOMPARE(pingsAtServer.size(), 1);
    QCOMPARE(pingsAtServer.first().payload, QByteArray("rtt-1"));
    QVERIFY(pingsAtServer.first().answered);
}

// readAhead(): the server of this process reads the ping, answers, and the client
// reads the pong, all inside the call; nothing waits for the event loop.
void tst_ClientServer::readAheadAnswersWithoutTheEventLoop() {
    TestServer server(localOptions(ServerOptions::Mode::Echo));
    QVERIFY(server.server.listen());
    TestClient client(clientOptions(server.server.port()));
    QVERIFY(client.waitOpen());
    QTRY_COMPARE_WITH_TIMEOUT(server.clients.size(), 1, 5000);
    QList<QPointer<Connection>> both{&client.connection, server.clients.first()};
    QCOMPARE(server.clients.first()->remotePort(), client.connection.localPort());
    QVERIFY(client.connection.canReadAhead());

    QCOMPARE(readAhead(both), 0); // nothing has arrived
    QCOMPARE(client.connection.sendPing("ahead"), SendError::None);
    QCOMPARE(client.connection.sendText("echo me"), SendError::None);
    // Round one: the server reads both and answers; round two: the client reads.
    QCOMPARE(readAhead(both), 2);
    const QList<PongEvent> pongs = client.recorder.all<PongEvent>();
    QCOMPARE(pongs.size(), 1);
    QCOMPARE(pongs.first().payload, QByteArray("ahead"));
    QCOMPARE(client.recorder.incomingData(), QList<QByteArray>{"echo me"});

    // One round only: the server reads, the client's answer waits.
    QCOMPARE(client.connection.sendText("later"), SendError::None);
    QCOMPARE(readAhead(both, 1), 1);
    QCOMPARE(client.recorder.incomingData().size(), 1);
    QTRY_COMPARE_WITH_TIMEOUT(client.recorder.incomingData().size(), 2, 5000);
}

void tst_ClientServer::clientClosesWithCode() {
    TestServer server(localOptions(ServerOptions::Mode::Echo));
    QVERIFY(server.server.listen());
    QSignalSpy disconnected(&server.server, &Server::clientDisconnected);
    TestClient client(clientOptions(server.server.port()));
    QSignalSpy finished(&client.connection, &ClientConnection::finished);
    QVERIFY(client.waitOpen());

    QCOMPARE(client.connection.sendClose(4000, QStringLiteral("bye")), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(disconnected.size(), 1, 5000);

    const std::optional<ClosedEvent> atClient = client.recorder.closed();
    QVERIFY(atClient);
    QCOMPARE(atClient->code, quint16(4000)); // RFC 6455 §5.5.1: the server echoes the code
    QVERIFY(atClient->clean);
    QVERIFY(atClient->closedByUs);

    const std::optional<ClosedEvent> atServer = server.recorder.closed();
    QVERIFY(atServer);
    QCOMPARE(atServer->code, quint16(4000));
    QCOMPARE(atServer->reason, QStringLiteral("bye"));
    QVERIFY(atServer->clean);
    QVERIFY(!atServer->closedByUs);
    QVERIFY(server.hasLogLine(QStringLiteral("disconnected: 4000")));
    QVERIFY(server.hasLogLine(QStringLiteral("closed by the client")));
    // The server's log names its clients as the window does: "peer N (address)".
    QVERIFY(server.hasLogLine(QStringLiteral("peer 1 (127.0.0.1:")));
    QVERIFY(client.errors.isEmpty());
    QCOMPARE(client.connection.state(), SessionState::Closed);
}

void tst_ClientServer::eventObserverHearsEachEventFirst() {
    TestServer server(localOptions(ServerOptions::Mode::Echo));
    QVERIFY(server.server.listen());
    ClientConnection connection(clientOptions(server.server.port()));
    EventRecorder recorder;
    recorder.watch(&connection);
    std::vector<SessionEvent> observed;
    std::vector<size_t> signalledBefore; // events the signal had delivered at each call
    connection.setEventObserver([&](const SessionEvent &event) {
        observed.push_back(event);
        signalledBefore.push_back(recorder.events.size());
    });
    QSignalSpy finished(&connection, &ClientConnection::finished);
    connection.open();
    QTRY_COMPARE_WITH_TIMEOUT(connection.state(), SessionState::Open, 5000);
    QCOMPARE(connection.sendText("one"), SendError::None);
    QCOMPARE(connection.sendBinary("two"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(recorder.messages().size(), 2, 5000);

    // Every event, in the signal's order, each heard just before the signal went out.
    QCOMPARE(observed.size(), recorder.events.size());
    for (size_t i = 0; i < observed.size(); ++i) {
        QCOMPARE(observed[i].index(), recorder.events[i].index());
        QCOMPARE(signalledBefore[i], i);
    }
    QVERIFY(!observed.empty());

    // Taken away, the observer hears nothing more; the signal goes on.
    connection.setEventObserver({});
    const size_t heard = observed.size();
    QCOMPARE(connection.sendClose(1000), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 5000);
    QCOMPARE(observed.size(), heard);
    QVERIFY(recorder.closed());
}

void tst_ClientServer::reportedHandlerClosesEachReadBatch() {
    TestServer server(localOptions(ServerOptions::Mode::Echo));
    QVERIFY(server.server.listen());
    ClientConnection connection(clientOptions(server.server.port()));
    EventRecorder recorder;
    recorder.watch(&connection);
    // For each event: whether it was reported from inside a read.
    std::vector<bool> receivingAt;
    connect(&connection, &Connection::sessionEvent, &connection,
            [&] { receivingAt.push_back(connection.isReceiving()); });
    // For each call of the handler: the events reported before it, and whether it
    // came from inside the read.
    std::vector<size_t> eventsBefore;
    std::vector<bool> receivingInHandler;
    connection.setReportedHandler([&] {
        eventsBefore.push_back(recorder.events.size());
        receivingInHandler.push_back(connection.isReceiving());
    });
    connection.open();
    QTRY_COMPARE_WITH_TIMEOUT(connection.state(), SessionState::Open, 5000);
    QVERIFY(!connection.isReceiving());
    const size_t beforeSends = recorder.events.size();
    QCOMPARE(connection.sendText("one"), SendError::None);
    QCOMPARE(connection.sendBinary("two"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(recorder.messages().size(), 2, 5000);
    QVERIFY(!connection.isReceiving());

    // The frames we sent were reported from the sends, outside any read; the echoes
    // from inside the read that brought them.
    for (size_t i = beforeSends; i < recorder.events.size(); ++i) {
        const auto *frame = std::get_if<FrameEvent>(&recorder.events[i]);
        if (frame)
            QCOMPARE(receivingAt[i], frame->direction == Direction::Incoming);
    }
    // The handler closed a read after the last echo's events, still inside it.
    QVERIFY(!eventsBefore.empty());
    QCOMPARE(eventsBefore.back(), recorder.events.size());
    QVERIFY(std::all_of(receivingInHandler.begin(), receivingInHandler.end(),
                        [](bool receiving) { return receiving; }));

    // Taken away, the handler is called no more.
    connection.setReportedHandler({});
    const size_t calls = eventsBefore.size();
    QCOMPARE(connection.sendText("three"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(recorder.messages().size(), 3, 5000);
    QCOMPARE(eventsBefore.size(), calls);
}

void tst_ClientServer::serverClosesWithCode() {
    TestServer server(localOptions(ServerOptions::Mode::Manual));
    QVERIFY(server.server.listen());
    QSignalSpy disconnected(&server.server, &Server::clientDisconnected);
    ClientOptions options = clientOptions(server.server.port());
    options.closeTimeoutMs = 10'000;
    TestClient client(options);
    QSignalSpy finished(&client.connection, &ClientConnection::finished);
    QVERIFY(client.waitOpen());
    QTRY_COMPARE(server.clients.size(), 1);

    QElapsedTimer clock;
    clock.start();
    QCOMPARE(server.clients.first()->sendClose(4000, QStringLiteral("bye")), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 5000);
    // RFC 6455 §7.1.1: the server closes TCP once the handshake is done, so the
    // client finishes long before its own close timeout.
    QVERIFY(clock.elapsed() < 5000);
    QTRY_COMPARE_WITH_TIMEOUT(disconnected.size(), 1, 5000);

    const std::optional<ClosedEvent> atClient = client.recorder.closed();
    QVERIFY(atClient);
    QCOMPARE(atClient->code, quint16(4000));
    QCOMPARE(atClient->reason, QStringLiteral("bye"));
    QVERIFY(atClient->clean);
    QVERIFY(!atClient->closedByUs);
    const QList<CloseEvent> closeFrames = client.recorder.all<CloseEvent>();
    QCOMPARE(closeFrames.size(), 1);
    QCOMPARE(closeFrames.first().code, std::optional<quint16>(4000));

    const std::optional<ClosedEvent> atServer = server.recorder.closed();
    QVERIFY(atServer);
    QCOMPARE(atServer->code, quint16(4000));
    QVERIFY(atServer->clean);
    QVERIFY(atServer->closedByUs);
    QVERIFY(server.hasLogLine(QStringLiteral("closed by the server")));
    QVERIFY(!client.recorder.hasNote(ConformanceNote::Kind::ServerClosedTcpLate));
}

void tst_ClientServer::greetingMode() {
    ServerOptions options = localOptions(ServerOptions::Mode::Greeting);
    options.greeting = "hello, newcomer";
    TestServer server(options);
    QVERIFY(server.server.listen());
    TestClient client(clientOptions(server.server.port()));
    QVERIFY(client.waitOpen());
    QTRY_COMPARE_WITH_TIMEOUT(client.recorder.messages().size(), 1, 5000);
    QCOMPARE(client.recorder.messages().first().data, QByteArray("hello, newcomer"));
    QCOMPARE(client.recorder.messages().first().type, Opcode::Text);

    QCOMPARE(client.connection.sendBinary("\x01\x02\x03"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(client.recorder.messages().size(), 2, 5000);
    QCOMPARE(client.recorder.messages().at(1).data, QByteArray("\x01\x02\x03"));
    QCOMPARE(client.recorder.messages().at(1).type, Opcode::Binary);
}

void tst_ClientServer::broadcastJoinLeave() {
    TestServer server(localOptions(ServerOptions::Mode::Broadcast));
    QVERIFY(server.server.listen());

    TestClient first(clientOptions(server.server.port()));
    QVERIFY(first.waitOpen());
    QTRY_COMPARE_WITH_TIMEOUT(first.recorder.messages().size(), 1, 5000);
    TestClient second(clientOptions(server.server.port()));
    QVERIFY(second.waitOpen());
    QTRY_COMPARE_WITH_TIMEOUT(first.recorder.messages().size(), 2, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(second.recorder.messages().size(), 1, 5000);

    QCOMPARE(first.connection.sendText("hello all"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(second.recorder.messages().size(), 2, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(first.recorder.messages().size(), 3, 5000);
    QCOMPARE(second.connection.sendBinary(QByteArray("\x00\xff", 2)), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(first.recorder.messages().size(), 4, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(second.recorder.messages().size(), 3, 5000);

    QCOMPARE(second.connection.sendClose(1000), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(first.recorder.messages().size(), 5, 5000);

    const QList<QByteArray> expectedFirst = {
        R"({"event":"join","client":1})", R"({"event":"join","client":2})", "hello all",
        QByteArray("\x00\xff", 2), R"({"event":"leave","client":2})"};
    QCOMPARE(first.recorder.incomingData(), expectedFirst);
    const QList<QByteArray> expectedSecond = {R"({"event":"join","client":2})", "hello all",
                                              QByteArray("\x00\xff", 2)};
    QCOMPARE(second.recorder.incomingData(), expectedSecond);
    QCOMPARE(first.recorder.messages().at(3).type, Opcode::Binary);
    QCOMPARE(first.recorder.messages().at(2).type, Opcode::Text);
}

void tst_ClientServer::broadcastBurst() {
    // Thousands of messages in one read: each is broadcast before the next is taken,
    // without one nesting per message.
    TestServer server(localOptions(ServerOptions::Mode::Broadcast));
    QVERIFY(server.server.listen());
    TestClient sender(clientOptions(server.server.port()));
    QVERIFY(sender.waitOpen());
    TestClient listener(clientOptions(server.server.port()));
    QVERIFY(listener.waitOpen());
    QTRY_COMPARE_WITH_TIMEOUT(sender.recorder.messages().size(), 2, 5000);

    constexpr int Burst = 20'000;
    for (int i = 0; i < Burst; ++i)
        QCOMPARE(sender.connection.sendText(QByteArray::number(i)), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(listener.recorder.messages().size(), Burst + 1, 30000);
    QTRY_COMPARE_WITH_TIMEOUT(sender.recorder.messages().size(), Burst + 2, 30000);
    const QList<QByteArray> received = listener.recorder.incomingData();
    for (int i = 0; i < Burst; ++i)
        QCOMPARE(received.at(i + 1), QByteArray::number(i));
}

void tst_ClientServer::clientRepliesFromSlot() {
    // A client that answers every message from its sessionEvent slot: the answers
    // go out in order, without one nesting per message.
    TestServer server(localOptions(ServerOptions::Mode::Manual));
    QVERIFY(server.server.listen());
    TestClient client(clientOptions(server.server.port()));
    connect(&client.connection, &ClientConnection::sessionEvent, this,
            [&](const SessionEvent &event) {
                const auto *message = std::get_if<MessageEvent>(&event);
                if (message && message->direction == Direction::Incoming)
                    QCOMPARE(client.connection.sendText("re:" + message->message.data),
                             SendError::None);
            });
    QVERIFY(client.waitOpen());
    QTRY_COMPARE(server.clients.size(), 1);

    constexpr int Burst = 20'000;
    for (int i = 0; i < Burst; ++i)
        QCOMPARE(server.clients.first()->sendText(QByteArray::number(i)), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(server.recorder.messages().size(), Burst, 30000);
    const QList<QByteArray> replies = [&] {
        QList<QByteArray> out;
        for (const DecodedMessage &message : server.recorder.messages())
            out.append(message.data);
        return out;
    }();
    for (int i = 0; i < Burst; ++i)
        QCOMPARE(replies.at(i), "re:" + QByteArray::number(i));
}

void tst_ClientServer::manualMode() {
    TestServer server(localOptions(ServerOptions::Mode::Manual));
    QVERIFY(server.server.listen());
    TestClient client(clientOptions(server.server.port()));
    QVERIFY(client.waitOpen());
    QTRY_COMPARE(server.clients.size(), 1);

    QCOMPARE(client.connection.sendText("anyone there?"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(server.recorder.messages().size(), 1, 5000);
    QCOMPARE(server.recorder.messages().first().data, QByteArray("anyone there?"));
    // Nothing automatic: a ping round trip later, still no message at the client.
    QCOMPARE(client.connection.sendPing("sync"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(client.recorder.all<PongEvent>().size(), 1, 5000);
    QVERIFY(client.recorder.messages().isEmpty());

    QCOMPARE(server.clients.first()->sendText("from the server"), SendError::None);
    server.server.broadcastBinary("to everyone");
    QTRY_COMPARE_WITH_TIMEOUT(client.recorder.messages().size(), 2, 5000);
    QCOMPARE(client.recorder.messages().at(0).data, QByteArray("from the server"));
    QCOMPARE(client.recorder.messages().at(1).data, QByteArray("to everyone"));
    QCOMPARE(client.recorder.messages().at(1).type, Opcode::Binary);
    QCOMPARE(server.clients.first()->sendText(QByteArray("\xff", 1)), SendError::InvalidUtf8);
}

void tst_ClientServer::stopSendsGoingAway() {
    TestServer server(localOptions(ServerOptions::Mode::Echo));
    QVERIFY(server.server.listen());
    const quint16 port = server.server.port();
    QSignalSpy stopped(&server.server, &Server::stopped);
    TestClient first(clientOptions(port));
    TestClient second(clientOptions(port));
    QVERIFY(first.waitOpen());
    QVERIFY(second.waitOpen());
    QSignalSpy firstFinished(&first.connection, &ClientConnection::finished);
    QSignalSpy secondFinished(&second.connection, &ClientConnection::finished);

    server.server.stop();
    QVERIFY(!server.server.isListening());
    QTRY_COMPARE_WITH_TIMEOUT(stopped.size(), 1, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(firstFinished.size(), 1, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(secondFinished.size(), 1, 5000);
    for (TestClient *client : {&first, &second}) {
        const QList<CloseEvent> closeFrames = client->recorder.all<CloseEvent>();
        QCOMPARE(closeFrames.size(), 1);
        QCOMPARE(closeFrames.first().code, std::optional<quint16>(1001));
        const std::optional<ClosedEvent> closed = client->recorder.closed();
        QVERIFY(closed);
        QCOMPARE(closed->code, quint16(1001));
        QVERIFY(closed->clean);
        QVERIFY(!closed->closedByUs);
    }
    QVERIFY(server.server.clients().isEmpty());
    // Nothing listens any more.
    TestClient late(clientOptions(port));
    QTRY_COMPARE_WITH_TIMEOUT(late.errors.size(), 1, 5000);
    QVERIFY2(late.errors.first().contains(QStringLiteral("refused")),
             qPrintable(late.errors.first()));
}

void tst_ClientServer::originAllowList_data() {
    QTest::addColumn<QByteArray>("origin");
    QTest::addColumn<bool>("accepted");
    QTest::addRow("listed") << QByteArray("http://good.example") << true;
    // RFC 6454 §6.2: scheme and host are case-insensitive.
    QTest::addRow("listed, other case") << QByteArray("HTTP://Good.Example") << true;
    QTest::addRow("not listed") << QByteArray("http://evil.example") << false;
    QTest::addRow("no Origin header") << QByteArray() << false;
}

void tst_ClientServer::originAllowList() {
    QFETCH(QByteArray, origin);
    QFETCH(bool, accepted);
    ServerOptions serverOptions = localOptions();
    serverOptions.allowedOrigins = {"http://good.example", "http://other.example"};
    TestServer server(serverOptions);
    QVERIFY(server.server.listen());
    ClientOptions options = clientOptions(server.server.port());
    options.origin = origin;
    TestClient client(options);
    QSignalSpy finished(&client.connection, &ClientConnection::finished);

    if (accepted) {
        QVERIFY(client.waitOpen());
        QVERIFY(client.errors.isEmpty());
        return;
    }
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 5000);
    QCOMPARE(client.errors.size(), 1);
    QVERIFY2(client.errors.first().contains(QStringLiteral("403")),
             qPrintable(client.errors.first()));
    if (!origin.isEmpty())
        QVERIFY2(client.errors.first().contains(QString::fromLatin1(origin)),
                 qPrintable(client.errors.first()));
    QVERIFY(server.hasLogLine(QStringLiteral("refused with 403")));
    QCOMPARE(client.connection.state(), SessionState::Closed);
}

void tst_ClientServer::maxConnections() {
    ServerOptions options = localOptions();
    options.maxConnections = 1;
    TestServer server(options);
    QVERIFY(server.server.listen());
    auto first = std::make_unique<TestClient>(clientOptions(server.server.port()));
    QVERIFY(first->waitOpen());

    TestClient second(clientOptions(server.server.port()));
    QTRY_COMPARE_WITH_TIMEOUT(second.errors.size(), 1, 5000);
    QVERIFY2(second.errors.first().contains(QStringLiteral("503")),
             qPrintable(second.errors.first()));
    QVERIFY(server.hasLogLine(QStringLiteral("refused with 503")));

    // Once the first leaves, there is room again.
    QSignalSpy disconnected(&server.server, &Server::clientDisconnected);
    QCOMPARE(first->connection.sendClose(1000), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(disconnected.size(), 1, 5000);
    TestClient third(clientOptions(server.server.port()));
    QVERIFY(third.waitOpen());
}

void tst_ClientServer::subprotocolSelection_data() {
    QTest::addColumn<QList<QByteArray>>("offered");
    QTest::addColumn<QByteArray>("expected");
    // RFC 6455 §4.2.2: one of the client's, chosen by the server's preference.
    QTest::addRow("server preference wins") << QList<QByteArray>{"v1", "v2"} << QByteArray("v2");
    QTest::addRow("only one shared") << QList<QByteArray>{"v3", "v1"} << QByteArray("v1");
    QTest::addRow("none shared") << QList<QByteArray>{"v3"} << QByteArray();
    QTest::addRow("none offered") << QList<QByteArray>{} << QByteArray();
}

void tst_ClientServer::subprotocolSelection() {
    QFETCH(QList<QByteArray>, offered);
    QFETCH(QByteArray, expected);
    ServerOptions serverOptions = localOptions();
    serverOptions.subprotocols = {"v2", "v1"};
    TestServer server(serverOptions);
    QVERIFY(server.server.listen());
    ClientOptions options = clientOptions(server.server.port());
    options.subprotocols = offered;
    TestClient client(options);
    QVERIFY(client.waitOpen());
    QTRY_COMPARE(server.clients.size(), 1);
    QCOMPARE(server.clients.first()->subprotocol(), expected);
    const QList<HandshakeEvent> handshakes = client.recorder.all<HandshakeEvent>();
    QCOMPARE(handshakes.size(), 1);
    QCOMPARE(handshakes.first().kind, HandshakeEvent::Kind::ClientAccepted);
    QCOMPARE(handshakes.first().subprotocol, expected);
}

void tst_ClientServer::resourceNameReachesServer() {
    TestServer server(localOptions());
    QVERIFY(server.server.listen());
    TestClient client(clientOptions(server.server.port(), QStringLiteral("/chat/room%201?x=1&y")));
    QVERIFY(client.waitOpen());
    QTRY_COMPARE(server.clients.size(), 1);
    QCOMPARE(server.clients.first()->resourceName(), QByteArray("/chat/room%201?x=1&y"));
    QCOMPARE(server.clients.first()->peerAddress(), QHostAddress(QHostAddress::LocalHost));
    QVERIFY(server.clients.first()->peerPort() != 0);
    QCOMPARE(server.clients.first()->id(), quint64(1));
    QCOMPARE(server.server.clients().size(), 1);
}

void tst_ClientServer::idleTimeoutClosesWithGoingAway() {
    ServerOptions options = localOptions();
    options.idleTimeoutMs = 300;
    TestServer server(options);
    QVERIFY(server.server.listen());
    // Started before the connection exists: the server can only count from later.
    QElapsedTimer clock;
    clock.start();
    TestClient client(clientOptions(server.server.port()));
    QSignalSpy finished(&client.connection, &ClientConnection::finished);
    QVERIFY(client.waitOpen());
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 5000);
    QVERIFY2(clock.elapsed() >= 300, qPrintable(QString::number(clock.elapsed())));
    const QList<CloseEvent> closeFrames = client.recorder.all<CloseEvent>();
    QCOMPARE(closeFrames.size(), 1);
    QCOMPARE(closeFrames.first().code, std::optional<quint16>(1001));
    QCOMPARE(closeFrames.first().reason, QStringLiteral("idle timeout"));
    QVERIFY(client.recorder.closed()->clean);
}

void tst_ClientServer::keepaliveKeepsLivePeer() {
    ServerOptions options = localOptions(ServerOptions::Mode::Manual);
    options.keepaliveIntervalMs = 100;
    TestServer server(options);
    QVERIFY(server.server.listen());
    TestClient client(clientOptions(server.server.port()));
    QVERIFY(client.waitOpen());

    // Silent but answering pings: never taken for dead.
    QTRY_VERIFY_WITH_TIMEOUT(client.recorder.all<PingEvent>().size() >= 3, 5000);
    QCOMPARE(client.connection.state(), SessionState::Open);
    QVERIFY(client.recorder.all<PingEvent>().first().answered);
    QCOMPARE(server.server.clients().size(), 1);
    QVERIFY(!server.recorder.all<PongEvent>().isEmpty());
    QVERIFY(server.recorder.all<PongEvent>().first().roundTripUs.has_value());
}

void tst_ClientServer::clientKeepaliveSendsPings() {
    ServerOptions serverOptions = localOptions();
    serverOptions.keepaliveIntervalMs = 0;
    TestServer server(serverOptions);
    QVERIFY(server.server.listen());
    ClientOptions options = clientOptions(server.server.port());
    options.keepaliveIntervalMs = 50;
    TestClient client(options);
    QVERIFY(client.waitOpen());
    QTRY_VERIFY_WITH_TIMEOUT(server.recorder.all<PingEvent>().size() >= 2, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(client.recorder.all<PongEvent>().size() >= 2, 5000);
    QVERIFY(client.recorder.all<PongEvent>().first().roundTripUs.has_value());
}

void tst_ClientServer::clientDropsPings() {
    TestServer server(localOptions(ServerOptions::Mode::Manual));
    QVERIFY(server.server.listen());
    ClientOptions options = clientOptions(server.server.port());
    options.dropPings = true;
    TestClient client(options);
    QVERIFY(client.waitOpen());
    QTRY_COMPARE(server.clients.size(), 1);

    QCOMPARE(server.clients.first()->sendPing("unanswered"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(client.recorder.all<PingEvent>().size(), 1, 5000);
    QVERIFY(!client.recorder.all<PingEvent>().first().answered);
    // A message sent after the ping arrived travels behind any pong the client sent
    // for it (one TCP stream, one session): once the message is in, so would a pong be.
    QCOMPARE(client.connection.sendText("after the ping"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(server.recorder.messages().size(), 1, 5000);
    QVERIFY(server.recorder.all<PongEvent>().isEmpty());
}

void tst_ClientServer::clientDelaysPongs() {
    TestServer server(localOptions(ServerOptions::Mode::Manual));
    QVERIFY(server.server.listen());
    ClientOptions options = clientOptions(server.server.port());
    options.pongDelayMs = 300;
    TestClient client(options);
    QVERIFY(client.waitOpen());
    QTRY_COMPARE(server.clients.size(), 1);

    QCOMPARE(server.clients.first()->sendPing("late"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(server.recorder.all<PongEvent>().size(), 1, 5000);
    const PongEvent pong = server.recorder.all<PongEvent>().first();
    QCOMPARE(pong.payload, QByteArray("late"));
    QVERIFY(pong.roundTripUs.has_value());
    QVERIFY2(*pong.roundTripUs >= 280'000, qPrintable(QString::number(*pong.roundTripUs)));
    QVERIFY(!client.recorder.all<PingEvent>().first().answered);
}

void tst_ClientServer::clientAbort() {
    TestServer server(localOptions());
    QVERIFY(server.server.listen());
    QSignalSpy disconnected(&server.server, &Server::clientDisconnected);
    TestClient client(clientOptions(server.server.port()));
    QSignalSpy finished(&client.connection, &ClientConnection::finished);
    QVERIFY(client.waitOpen());
    client.connection.abort();
    QCOMPARE(finished.size(), 1);
    QCOMPARE(client.recorder.closed()->code, quint16(1006));
    QVERIFY(!client.recorder.closed()->clean);
    // finished() is emitted once, whatever follows: another abort, the server's end of
    // the connection going away (it comes after the client's), and anything the aborts
    // left posted to the event loop.
    client.connection.abort();
    QTRY_COMPARE_WITH_TIMEOUT(disconnected.size(), 1, 5000);
    QCOMPARE(server.recorder.closed()->code, quint16(1006));
    QVERIFY(server.hasLogLine(QStringLiteral("disconnected: 1006")));
    QVERIFY(deliverPostedEvents());
    QCOMPARE(finished.size(), 1);
}

void tst_ClientServer::pausedReadingWaitsQuietly() {
    // A client that stops reading leaves the server's echoes in the kernel: nothing
    // arrives, and once the server has done what it can, the event loop waits rather
    // than spinning on a socket nobody reads (on the epoll dispatcher, whose read
    // shortcut must then give the socket back to QTcpSocket). Read again, every echo
    // arrives, in order.
    TestServer server(localOptions(ServerOptions::Mode::Echo));
    QVERIFY(server.server.listen());
    TestClient client(clientOptions(server.server.port()));
    QVERIFY(client.waitOpen());
    client.connection.setReadingPaused(true);
    constexpr int Count = 64;
    for (int i = 0; i < Count; ++i)
        QCOMPARE(client.connection.sendBinary(QByteArray(64 * 1024, char(i))), SendError::None);
    // Passes of the event loop in 100 ms, until a quiet one: a loop that spins on the
    // unread socket never has one.
    int passes = 0;
    const QMetaObject::Connection counting =
        connect(QAbstractEventDispatcher::instance(), &QAbstractEventDispatcher::awake, this,
                [&] { ++passes; });
    for (int window = 0; window < 50; ++window) {
        passes = 0;
        QEventLoop wait;
        QTimer::singleShot(100, &wait, &QEventLoop::quit);
        wait.exec();
        if (passes <= 3)
            break;
    }
    disconnect(counting);
    QVERIFY2(passes <= 3,
             qPrintable(QStringLiteral("event loop passes in the last 100 ms: %1").arg(passes)));
    QCOMPARE(client.recorder.messages().size(), 0);
    client.connection.setReadingPaused(false);
    QTRY_COMPARE_WITH_TIMEOUT(client.recorder.messages().size(), Count, 10'000);
    for (int i = 0; i < Count; ++i)
        QCOMPARE(client.recorder.messages()[i].data, QByteArray(64 * 1024, char(i)));
}

void tst_ClientServer::abortFromSlotKeepsOrder() {
    // Each side aborts from inside its own sessionEvent slot; finished() still comes
    // once, after the ClosedEvent.
    Server server(localOptions(ServerOptions::Mode::Manual));
    QStringList serverOrder;
    connect(&server, &Server::clientConnected, this, [&](ServerClient *c) {
        connect(c, &ServerClient::sessionEvent, this, [&, c](const SessionEvent &event) {
            if (std::holds_alternative<ClosedEvent>(event))
                serverOrder.append(QStringLiteral("closed"));
            const auto *message = std::get_if<MessageEvent>(&event);
            if (message && message->message.data == "abort yourself") {
                c->abort();
                serverOrder.append(QStringLiteral("aborted"));
            }
        });
        connect(c, &ServerClient::finished, this,
                [&] { serverOrder.append(QStringLiteral("finished")); });
    });
    connect(&server, &Server::clientDisconnected, this,
            [&] { serverOrder.append(QStringLiteral("disconnected")); });
    QVERIFY(server.listen());

    ClientConnection first(clientOptions(server.port()));
    first.open();
    QTRY_COMPARE_WITH_TIMEOUT(first.state(), SessionState::Open, 5000);
    QCOMPARE(first.sendText("abort yourself"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(serverOrder.size(), 4, 5000);
    QCOMPARE(serverOrder, (QStringList{"aborted", "closed", "finished", "disconnected"}));

    ClientConnection second(clientOptions(server.port()));
    QStringList clientOrder;
    connect(&second, &ClientConnection::sessionEvent, this, [&](const SessionEvent &event) {
        if (std::holds_alternative<ClosedEvent>(event))
            clientOrder.append(QStringLiteral("closed"));
        if (std::holds_alternative<PongEvent>(event)) {
            second.abort();
            clientOrder.append(QStringLiteral("aborted"));
        }
    });
    connect(&second, &ClientConnection::finished, this,
            [&] { clientOrder.append(QStringLiteral("finished")); });
    second.open();
    QTRY_COMPARE_WITH_TIMEOUT(second.state(), SessionState::Open, 5000);
    QCOMPARE(second.sendPing("x"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(clientOrder.size(), 3, 5000);
    QCOMPARE(clientOrder, (QStringList{"aborted", "closed", "finished"}));
    // Nothing follows: not once the server has seen this connection go (after the
    // abort), nor once what the abort left posted to the event loop is delivered.
    QTRY_COMPARE_WITH_TIMEOUT(serverOrder.count(QStringLiteral("disconnected")), 2, 5000);
    QVERIFY(deliverPostedEvents());
    QCOMPARE(clientOrder, (QStringList{"aborted", "closed", "finished"}));
}

void tst_ClientServer::serverDeletedWithClients() {
    auto server = std::make_unique<TestServer>(localOptions());
    QVERIFY(server->server.listen());
    TestClient client(clientOptions(server->server.port()));
    QSignalSpy finished(&client.connection, &ClientConnection::finished);
    QVERIFY(client.waitOpen());
    QTRY_COMPARE(server->clients.size(), 1);
    // Without stop(): the connections simply drop.
    server.reset();
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 5000);
    QCOMPARE(client.recorder.closed()->code, quint16(1006));
    QVERIFY(!client.recorder.closed()->clean);
}

void tst_ClientServer::queuedConnectionsCarryEvents() {
    TestServer server(localOptions());
    QVERIFY(server.server.listen());
    ClientConnection client(clientOptions(server.server.port()));
    QList<SessionEvent> queued;
    connect(
        &client, &ClientConnection::sessionEvent, this,
        [&](const SessionEvent &event) { queued.append(event); }, Qt::QueuedConnection);
    QSignalSpy states(&client, &ClientConnection::stateChanged);
    client.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.state(), SessionState::Open, 5000);
    QTRY_VERIFY(std::any_of(queued.cbegin(), queued.cend(), [](const SessionEvent &event) {
        return std::holds_alternative<HandshakeEvent>(event);
    }));
    QCOMPARE(states.size(), 1);
    QCOMPARE(states.first().first().value<SessionState>(), SessionState::Open);
}

WSW_TEST_MAIN(tst_ClientServer, QTEST_GUILESS_MAIN)
#include "tst_clientserver.moc"

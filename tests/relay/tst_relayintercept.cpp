// The relay's intercept and faults between our own client and our own echo server
// on 127.0.0.1: held messages edited, dropped and released in order, injections,
// back-pressure while holding, latency and throttling (lower bounds only), seeded
// drops and jitter, and cuts; faults for one pair alone. The rules are the log's display filters,
// meaning what they show in the log.

#include "../net/nettesthelpers.h"

#include "net/server.h"
#include "relay/relay.h"

#include <QElapsedTimer>
#include <QEventLoop>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTest>
#include <QTimer>

using namespace ws;
using namespace wstest;

namespace {

InterceptRule rule(const QString &filter,
                   InterceptRule::Action action = InterceptRule::Action::Hold,
                   std::optional<RelayLegKind> to = RelayLegKind::Server) {
    InterceptRule r;
    r.action = action;
    r.to = to;
    r.filter = log::DisplayFilter::compile(filter);
    return r;
}

// Our echo server, a relay to it and our client through the relay.
struct RelayBench {
    explicit RelayBench(qint64 heldBytesLimit = 8 * 1024 * 1024)
        : server(localOptions(ServerOptions::Mode::Echo)) {
        options.serverDeflate.policy = DeflatePolicy::Refuse;
        options.clientDeflate.policy = DeflatePolicy::Refuse;
        options.heldBytesLimit = heldBytesLimit;
        options.closeTimeoutMs = 2000;
    }
    bool start() {
        if (!server.listen())
            return false;
        options.target = QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(server.port()));
        relay = std::make_unique<Relay>(options);
        QObject::connect(relay.get(), &Relay::legEvent, relay.get(),
                         [this](quint64, RelayLegKind leg, const SessionEvent &event) {
                             if (const auto *note = std::get_if<NoteEvent>(&event))
                                 if (note->note.kind == ConformanceNote::Kind::Staged)
                                     staged.append({leg, note->note.text});
                         });
        QObject::connect(relay.get(), &Relay::logMessage, relay.get(),
                         [this](quint64, const QString &line) { logLines.append(line); });
        return relay->listen();
    }
    bool openClient() {
        client = std::make_unique<RecordedClient>(clientOptions(relay->port()));
        client->connection.open();
        return client->waitOpen();
    }
    bool waitMessages(qsizetype count, int timeoutMs = 10'000) {
        return QTest::qWaitFor([&] { return client->recorder.messages().size() >= count; },
                               timeoutMs);
    }
    bool waitHeld(int count) {
        return QTest::qWaitFor([&] { return relay->heldMessages().size() >= count; }, 5000);
    }
    // The client's close code when its connection ended with a clean close handshake.
    std::optional<quint16> cleanCloseCode() const {
        const std::optional<ClosedEvent> closed = client->recorder.closed();
        if (!closed || !closed->clean)
            return std::nullopt;
        return closed->code;
    }
    int stagedContaining(const QString &text) const {
        return int(std::count_if(staged.cbegin(), staged.cend(),
                                 [&](const auto &note) { return note.second.contains(text); }));
    }

    Server server;
    RelayOptions options;
    std::unique_ptr<Relay> relay;
    std::unique_ptr<RecordedClient> client;
    QList<QPair<RelayLegKind, QString>> staged;
    QStringList logLines;
};

constexpr quint64 FirstPair = 1;

// Messages "n0".."n<count-1>" toward the server that the drop draws of `seed` keep.
QList<QByteArray> keptBySeed(quint64 seed, double percent, int count) {
    QList<QByteArray> kept;
    DropDraw draw(seed, RelayLegKind::Server);
    for (int i = 0; i < count; ++i)
        if (!draw.drops(percent))
            kept.append("n" + QByteArray::number(i));
    return kept;
}

} // namespace

class TestRelayIntercept : public QObject {
    Q_OBJECT
private slots:
    void matcherUsesTheLogFilter();
    void matcherFirstRuleDecides();
    void matcherRulesMeanWhatTheLogShows_data();
    void matcherRulesMeanWhatTheLogShows();
    void legAndDirectionRulesThroughTheRelay();
    void heldEditedAndReleased();
    void droppedNeverArrivesReleaseAllKeepsOrder();
    void queuedBehindHeld();
    void closeWaitsBehindHeld();
    void pingPassesHeld();
    void stagedDirectionGoesWhole();
    void injectedInOrder();
    void injectedCloseAndPing();
    void backPressureWhileHolding();
    void latencyLowerBound();
    void throttleLowerBound();
    void seededDropRate();
    void seededJitter();
    void cutWithReset();
    void cutWithClose();
    void cutAfterMessages();
    void pairFaultsDelayOnlyThatPair();
    void pairDropsOnlyItsOwn();
    void sameSeedSameDropsPerPair();
};

void TestRelayIntercept::matcherUsesTheLogFilter() {
    InterceptMatcher matcher({rule(QStringLiteral(R"(json.type == "order" && dir == in)")),
                              rule(QStringLiteral(R"(conn == "relay 1 #3 server" && len > 3)"),
                                   InterceptRule::Action::Drop, RelayLegKind::Client)},
                             QStringLiteral("relay 1"));
    QVERIFY(matcher.appliesTo(RelayLegKind::Server));
    QVERIFY(matcher.appliesTo(RelayLegKind::Client));
    const qint64 now = EventClock::nowUs();
    QCOMPARE(matcher.match(3, RelayLegKind::Server, Opcode::Text, R"({"type":"order","n":1})", now),
             InterceptRule::Action::Hold);
    QCOMPARE(matcher.match(3, RelayLegKind::Server, Opcode::Text, R"({"type":"quote"})", now),
             std::nullopt);
    // The second rule: only what goes down, received on pair 3's server leg.
    QCOMPARE(matcher.match(3, RelayLegKind::Client, Opcode::Binary, "abcd", now),
             InterceptRule::Action::Drop);
    QCOMPARE(matcher.match(3, RelayLegKind::Client, Opcode::Binary, "abc", now), std::nullopt);
    QCOMPARE(matcher.match(4, RelayLegKind::Client, Opcode::Binary, "abcd", now), std::nullopt);
    // Control frames pass unless a rule says otherwise.
    QCOMPARE(matcher.match(3, RelayLegKind::Client, Opcode::Ping, "abcd", now), std::nullopt);

    const log::LogRecord record = interceptRecord(2, RelayLegKind::Client, Opcode::Close,
                                                  "\x03\xe8"
                                                  "bye",
                                                  now);
    QCOMPARE(record.connection, relayLogConnection(2, RelayLegKind::Client));
    QCOMPARE(record.connection, quint32(3));
    QCOMPARE(record.kind, log::LogKind::Close);
    QCOMPARE(record.closeCode, quint16(1000));
    QVERIFY(record.has(log::LogRecord::HasCloseCode));
    QCOMPARE(record.direction(), Direction::Incoming);
}

void TestRelayIntercept::matcherFirstRuleDecides() {
    InterceptRule pings =
        rule(QStringLiteral("kind == ping"), InterceptRule::Action::Hold, std::nullopt);
    pings.controlFrames = true;
    InterceptMatcher matcher(
        {rule(QStringLiteral(R"(text contains "spam")"), InterceptRule::Action::Drop),
         rule(QString()), pings},
        QStringLiteral("relay 1"));
    const qint64 now = EventClock::nowUs();
    QCOMPARE(matcher.match(1, RelayLegKind::Server, Opcode::Text, "more spam", now),
             InterceptRule::Action::Drop);
    QCOMPARE(matcher.match(1, RelayLegKind::Server, Opcode::Text, "ham", now),
             InterceptRule::Action::Hold);
    QCOMPARE(matcher.match(1, RelayLegKind::Client, Opcode::Text, "ham", now), std::nullopt);
    QCOMPARE(matcher.match(1, RelayLegKind::Client, Opcode::Ping, "", now),
             InterceptRule::Action::Hold);
    QCOMPARE(matcher.match(1, RelayLegKind::Client, Opcode::Pong, "", now), std::nullopt);
    QVERIFY(!InterceptMatcher().appliesTo(RelayLegKind::Server));
}

void TestRelayIntercept::matcherRulesMeanWhatTheLogShows_data() {
    // A message going up is logged as received on the client leg and sent on the
    // server leg; one going down as received on the server leg and sent on the client
    // leg. A rule takes a message when the log shows one of its rows under it.
    QTest::addColumn<QString>("filter");
    QTest::addColumn<bool>("takesUp");
    QTest::addColumn<bool>("takesDown");
    QTest::newRow("from the client") << "leg == client && dir == in" << true << false;
    QTest::newRow("to the server") << "leg == server && dir == out" << true << false;
    QTest::newRow("from the server") << "leg == server && dir == in" << false << true;
    QTest::newRow("to the client") << "leg == \"client\" && dir == out" << false << true;
    QTest::newRow("the client leg, both ways") << "leg == client" << true << true;
    QTest::newRow("every message is sent on") << "dir == out" << true << true;
    QTest::newRow("no row is an event's") << "dir == none" << false << false;
    QTest::newRow("relayed traffic has a leg") << "leg == none" << false << false;
    QTest::newRow("the leg's name")
        << "conn == \"relay 2 #5 client\" && dir == in" << true << false;
    QTest::newRow("the pair's name") << "conn contains \"relay 2 #5 \"" << true << true;
    QTest::newRow("another pair") << "conn contains \"relay 2 #4 \"" << false << false;
}

void TestRelayIntercept::matcherRulesMeanWhatTheLogShows() {
    QFETCH(QString, filter);
    QFETCH(bool, takesUp);
    QFETCH(bool, takesDown);
    InterceptMatcher matcher({rule(filter, InterceptRule::Action::Hold, std::nullopt)},
                             QStringLiteral("relay 2"));
    QVERIFY(matcher.rules().first().filter.isValid());
    const qint64 now = EventClock::nowUs();
    const auto takes = [&](RelayLegKind to) {
        return matcher.match(5, to, Opcode::Text, "m", now) == InterceptRule::Action::Hold;
    };
    QCOMPARE(takes(RelayLegKind::Server), takesUp);
    QCOMPARE(takes(RelayLegKind::Client), takesDown);
    QCOMPARE(relayLegLogName(QStringLiteral("relay 2"), 5, RelayLegKind::Server),
             QStringLiteral("relay 2 #5 server"));
}

void TestRelayIntercept::legAndDirectionRulesThroughTheRelay() {
    // Rules on both directions: the one to the server holds what the client sends,
    // the echo coming down passes; then the one to the client holds the echo.
    RelayBench bench;
    QVERIFY(bench.start());
    QCOMPARE(bench.relay->options().name, QStringLiteral("relay 1"));
    bench.relay->setIntercept(
        {rule(QStringLiteral("leg == server && dir == out && text contains \"up\""),
              InterceptRule::Action::Hold, std::nullopt),
         rule(QStringLiteral("conn == \"relay 1 #1 client\" && dir == out && "
                             "text contains \"down\""),
              InterceptRule::Action::Hold, std::nullopt)});
    QVERIFY(bench.openClient());
    QCOMPARE(bench.client->connection.sendText("up"), SendError::None);
    QVERIFY(bench.waitHeld(1));
    QCOMPARE(bench.relay->heldMessages().first().to, RelayLegKind::Server);
    QVERIFY(deliverPostedEvents());
    QVERIFY(bench.client->recorder.incomingData().isEmpty());
    QCOMPARE(bench.relay->releaseAll(), 1);
    // Its echo going down contains "up", not "down": no rule takes it.
    QVERIFY(bench.waitMessages(1));
    QVERIFY(bench.relay->heldMessages().isEmpty());
    QCOMPARE(bench.client->connection.sendText("down"), SendError::None);
    // Going up it passes; its echo is held on its way to the client.
    QVERIFY(bench.waitHeld(1));
    QCOMPARE(bench.relay->heldMessages().first().to, RelayLegKind::Client);
    QCOMPARE(bench.relay->heldMessages().first().payload, QByteArray("down"));
    QCOMPARE(bench.relay->releaseAll(), 1);
    QVERIFY(bench.waitMessages(2));
    QCOMPARE(bench.client->recorder.incomingData(), (QList<QByteArray>{"up", "down"}));
}

void TestRelayIntercept::heldEditedAndReleased() {
    RelayBench bench;
    QVERIFY(bench.start());
    bench.relay->setIntercept({rule(QStringLiteral(R"(text contains "hello")"))});
    QVERIFY(bench.openClient());
    QSignalSpy held(bench.relay.get(), &Relay::messageHeld);
    QSignalSpy removed(bench.relay.get(), &Relay::heldMessageRemoved);
    QCOMPARE(bench.client->connection.sendText("hello"), SendError::None);
    QVERIFY(held.wait(5000));
    const auto message = held.first().first().value<HeldMessage>();
    QCOMPARE(message.pair, FirstPair);
    QCOMPARE(message.to, RelayLegKind::Server);
    QCOMPARE(message.state, HeldMessage::State::Held);
    QCOMPARE(message.opcode, Opcode::Text);
    QCOMPARE(message.payload, QByteArray("hello"));
    QCOMPARE(bench.relay->heldMessages(), QList<HeldMessage>{message});
    QCOMPARE(bench.relay->heldCount(), 1);
    QCOMPARE(bench.relay->heldBytes(), 5);

    QVERIFY(bench.relay->release(message.id, Opcode::Binary, "HELLO, edited"));
    QVERIFY(bench.waitMessages(1));
    const DecodedMessage echoed = bench.client->recorder.messages().first();
    QCOMPARE(echoed.type, Opcode::Binary);
    QCOMPARE(echoed.data, QByteArray("HELLO, edited"));
    QCOMPARE(removed.size(), 1);
    QCOMPARE(removed.first().at(0).toULongLong(), message.id);
    QCOMPARE(removed.first().at(2).toBool(), true);
    QVERIFY(bench.relay->heldMessages().isEmpty());
    QCOMPARE(bench.relay->heldBytes(), 0);
    QCOMPARE(bench.stagedContaining(QStringLiteral("edited")), 1);
    QVERIFY(!bench.relay->release(message.id));
}

void TestRelayIntercept::droppedNeverArrivesReleaseAllKeepsOrder() {
    RelayBench bench;
    QVERIFY(bench.start());
    bench.relay->setIntercept(
        {InterceptRule::all(InterceptRule::Action::Hold, RelayLegKind::Server)});
    QVERIFY(bench.openClient());
    for (int i = 1; i <= 6; ++i)
        QCOMPARE(bench.client->connection.sendText("m" + QByteArray::number(i)), SendError::None);
    QVERIFY(bench.waitHeld(6));
    const QList<HeldMessage> held = bench.relay->heldMessages();
    for (int i = 0; i < 6; ++i)
        QCOMPARE(held.at(i).payload, "m" + QByteArray::number(i + 1));
    QVERIFY(bench.relay->drop(held.at(1).id));
    QVERIFY(bench.relay->drop(held.at(4).id));
    QVERIFY(!bench.relay->drop(held.at(4).id));
    QCOMPARE(bench.stagedContaining(QStringLiteral("dropped held")), 2);
    QCOMPARE(bench.relay->releaseAll(), 4);
    QVERIFY(bench.waitMessages(4));
    // A fifth message after them shows that nothing else was on its way.
    bench.relay->setIntercept({});
    QCOMPARE(bench.client->connection.sendText("last"), SendError::None);
    QVERIFY(bench.waitMessages(5));
    QCOMPARE(bench.client->recorder.incomingData(),
             (QList<QByteArray>{"m1", "m3", "m4", "m6", "last"}));
}

void TestRelayIntercept::queuedBehindHeld() {
    RelayBench bench;
    QVERIFY(bench.start());
    bench.relay->setIntercept({rule(QStringLiteral(R"(text contains "hold")"))});
    QVERIFY(bench.openClient());
    for (const char *text : {"a hold", "b", "c hold", "d"})
        QCOMPARE(bench.client->connection.sendText(text), SendError::None);
    QVERIFY(bench.waitHeld(4));
    const QList<HeldMessage> held = bench.relay->heldMessages();
    QCOMPARE(held.at(0).state, HeldMessage::State::Held);
    QCOMPARE(held.at(1).state, HeldMessage::State::Queued);
    QCOMPARE(held.at(2).state, HeldMessage::State::Held);
    QCOMPARE(held.at(3).state, HeldMessage::State::Queued);
    // Released out of order: it waits for "a hold" ahead of it.
    QVERIFY(bench.relay->release(held.at(2).id));
    QVERIFY(deliverPostedEvents());
    QCOMPARE(bench.relay->heldMessages().size(), 4);
    QVERIFY(bench.relay->release(held.at(0).id));
    QVERIFY(bench.waitMessages(4));
    QCOMPARE(bench.client->recorder.incomingData(),
             (QList<QByteArray>{"a hold", "b", "c hold", "d"}));
}

void TestRelayIntercept::closeWaitsBehindHeld() {
    RelayBench bench;
    QVERIFY(bench.start());
    bench.relay->setIntercept(
        {InterceptRule::all(InterceptRule::Action::Hold, RelayLegKind::Client)});
    QVERIFY(bench.openClient());
    QCOMPARE(bench.client->connection.sendText("echo me"), SendError::None);
    QVERIFY(bench.waitHeld(1));
    QVERIFY(bench.relay->injectClose(FirstPair, RelayLegKind::Client, 4002,
                                     QStringLiteral("after the echo")));
    QVERIFY(bench.waitHeld(2));
    // Not held itself, but it never overtakes a held message: queued.
    const QList<HeldMessage> held = bench.relay->heldMessages();
    QCOMPARE(held.at(1).opcode, Opcode::Close);
    QCOMPARE(held.at(1).state, HeldMessage::State::Queued);
    QCOMPARE(held.at(1).payload, QByteArray("\x0f\xa2"
                                            "after the echo"));
    QVERIFY(deliverPostedEvents());
    QVERIFY(bench.client->recorder.all<CloseEvent>().isEmpty());
    QCOMPARE(bench.relay->releaseAll(), 1);
    QVERIFY(bench.client->waitFinished());
    QCOMPARE(bench.client->recorder.incomingData(), QList<QByteArray>{"echo me"});
    QCOMPARE(bench.cleanCloseCode(), std::optional<quint16>(4002));
}

void TestRelayIntercept::pingPassesHeld() {
    RelayBench bench;
    QVERIFY(bench.start());
    bench.relay->setIntercept(
        {InterceptRule::all(InterceptRule::Action::Hold, RelayLegKind::Server)});
    QVERIFY(bench.openClient());
    QCOMPARE(bench.client->connection.sendText("held"), SendError::None);
    QVERIFY(bench.waitHeld(1));
    // Not held: the server answers it while the message before it waits.
    QCOMPARE(bench.client->connection.sendPing("p1"), SendError::None);
    QVERIFY(
        QTest::qWaitFor([&] { return !bench.client->recorder.all<PongEvent>().isEmpty(); }, 5000));
    QCOMPARE(bench.client->recorder.all<PongEvent>().first().payload, QByteArray("p1"));
    QVERIFY(bench.client->recorder.messages().isEmpty());
    QCOMPARE(bench.relay->heldMessages().size(), 1);
    QCOMPARE(bench.relay->releaseAll(), 1);
    QVERIFY(bench.waitMessages(1));
}

void TestRelayIntercept::stagedDirectionGoesWhole() {
    QByteArray upstreamBuffer;
    RawServer upstream([&](QTcpSocket *socket, const QByteArray &request) {
        socket->write(RawServer::switchingProtocols(request));
        QObject::disconnect(socket, &QTcpSocket::readyRead, nullptr, nullptr);
        QObject::connect(socket, &QTcpSocket::readyRead, socket,
                         [&, socket] { upstreamBuffer += socket->readAll(); });
    });
    QVERIFY(upstream.listen());
    RelayOptions options;
    options.target = upstream.url();
    options.serverDeflate.policy = DeflatePolicy::Refuse;
    options.clientDeflate.policy = DeflatePolicy::Refuse;
    Relay relay(options);
    QVERIFY(relay.listen());
    // Intercept downward only: upward frames keep their fragmentation.
    relay.setIntercept({InterceptRule::all(InterceptRule::Action::Hold, RelayLegKind::Client)});
    RecordedClient client(clientOptions(relay.port()));
    client.connection.open();
    QVERIFY(client.waitOpen());
    const auto frames = [&](int count) {
        QList<WireFrame> out;
        const bool complete = QTest::qWaitFor(
            [&] {
                out.clear();
                qsizetype parsed = 0;
                while (const std::optional<WireFrame> frame =
                           parseFrame(upstreamBuffer.mid(parsed))) {
                    out.append(*frame);
                    parsed += frame->wireSize;
                }
                return out.size() >= count;
            },
            5000);
        if (complete)
            upstreamBuffer.clear();
        return out;
    };
    QCOMPARE(client.connection.sendText("abcdef", 2), SendError::None);
    const QList<WireFrame> fragmented = frames(3);
    QCOMPARE(fragmented.size(), 3);
    QCOMPARE(fragmented.at(0).firstByte, quint8(0x01));
    QCOMPARE(fragmented.at(2).firstByte, quint8(0x80));
    QCOMPARE(fragmented.at(1).payload, QByteArray("cd"));

    // A rule on the way up, even one that takes nothing: whole messages there.
    relay.setIntercept({rule(QStringLiteral(R"(text contains "never")"))});
    QCOMPARE(client.connection.sendText("abcdef", 2), SendError::None);
    const QList<WireFrame> whole = frames(1);
    QCOMPARE(whole.size(), 1);
    QCOMPARE(whole.first().firstByte, quint8(0x81));
    QCOMPARE(whole.first().payload, QByteArray("abcdef"));
}

void TestRelayIntercept::injectedInOrder() {
    RelayBench bench;
    QVERIFY(bench.start());
    QVERIFY(bench.openClient());
    QVERIFY(bench.relay->inject(FirstPair, RelayLegKind::Server, Opcode::Text, "up 1"));
    QVERIFY(bench.relay->inject(FirstPair, RelayLegKind::Server, Opcode::Binary, "up 2"));
    QVERIFY(bench.relay->inject(FirstPair, RelayLegKind::Client, Opcode::Text, "down 1"));
    QVERIFY(bench.relay->resend(FirstPair, RelayLegKind::Server, Opcode::Text, "up 3"));
    QVERIFY(!bench.relay->inject(FirstPair + 1, RelayLegKind::Server, Opcode::Text, "no pair"));
    QVERIFY(!bench.relay->inject(FirstPair, RelayLegKind::Server, Opcode::Close, "not data"));
    QVERIFY(bench.waitMessages(4));
    QCOMPARE(bench.client->recorder.incomingData(),
             (QList<QByteArray>{"down 1", "up 1", "up 2", "up 3"}));
    QCOMPARE(bench.client->recorder.messages().at(2).type, Opcode::Binary);
    QCOMPARE(bench.stagedContaining(QStringLiteral("injected")), 3);
    QCOMPARE(bench.stagedContaining(QStringLiteral("sent again")), 1);
}

void TestRelayIntercept::injectedCloseAndPing() {
    RelayBench bench;
    QVERIFY(bench.start());
    QVERIFY(bench.openClient());
    QVERIFY(bench.relay->inject(FirstPair, RelayLegKind::Client, Opcode::Ping, "are you there"));
    QVERIFY(
        QTest::qWaitFor([&] { return !bench.client->recorder.all<PingEvent>().isEmpty(); }, 5000));
    QCOMPARE(bench.client->recorder.all<PingEvent>().first().payload, QByteArray("are you there"));
    QVERIFY(bench.relay->injectClose(FirstPair, RelayLegKind::Client, 4000,
                                     QStringLiteral("staged close")));
    QVERIFY(bench.client->waitFinished());
    const QList<CloseEvent> closes = bench.client->recorder.all<CloseEvent>();
    QCOMPARE(closes.size(), 1);
    QCOMPARE(closes.first().code, quint16(4000));
    QCOMPARE(closes.first().reason, QStringLiteral("staged close"));
    QCOMPARE(bench.cleanCloseCode(), std::optional<quint16>(4000));
    QVERIFY(QTest::qWaitFor([&] { return bench.relay->pairCount() == 0; }, 5000));
}

void TestRelayIntercept::backPressureWhileHolding() {
    // An upstream that reads everything and answers nothing, so that only the
    // relay's bound stands between the client's flood and the relay's memory.
    // Frames are parsed as they come: the upstream's buffer never holds all 32 MiB.
    constexpr int Messages = 8192;
    constexpr int Size = 4096;
    const auto numbered = [](int i) {
        QByteArray payload(Size, 'f');
        const QByteArray number = QByteArray::number(i).rightJustified(8, '0');
        payload.replace(0, number.size(), number);
        return payload;
    };
    QByteArray upstreamBuffer;
    int received = 0;
    bool inOrder = true;
    RawServer upstream([&](QTcpSocket *socket, const QByteArray &request) {
        socket->write(RawServer::switchingProtocols(request));
        QObject::disconnect(socket, &QTcpSocket::readyRead, nullptr, nullptr);
        QObject::connect(socket, &QTcpSocket::readyRead, socket, [&, socket] {
            upstreamBuffer += socket->readAll();
            qsizetype parsed = 0;
            while (const std::optional<WireFrame> frame = parseFrame(QByteArray::fromRawData(
                       upstreamBuffer.constData() + parsed, upstreamBuffer.size() - parsed))) {
                inOrder = inOrder && frame->payload == numbered(received);
                ++received;
                parsed += frame->wireSize;
            }
            upstreamBuffer.remove(0, parsed);
        });
    });
    QVERIFY(upstream.listen());
    constexpr qint64 Limit = 256 * 1024;
    RelayOptions options;
    options.target = upstream.url();
    options.serverDeflate.policy = DeflatePolicy::Refuse;
    options.heldBytesLimit = Limit;
    Relay relay(options);
    QVERIFY(relay.listen());
    relay.setIntercept({InterceptRule::all(InterceptRule::Action::Hold, RelayLegKind::Server)});
    QStringList logLines;
    connect(&relay, &Relay::logMessage, this,
            [&](quint64, const QString &line) { logLines.append(line); });
    qint64 maxHeld = 0;
    connect(&relay, &Relay::heldChanged, this,
            [&](quint64, int, qint64 bytes) { maxHeld = std::max(maxHeld, bytes); });
    RecordedClient client(clientOptions(relay.port()));
    client.connection.open();
    QVERIFY(client.waitOpen());

    // 32 MiB: far more than the loopback buffers and the relay's bound together.
    for (int i = 0; i < Messages; ++i)
        QCOMPARE(client.connection.sendBinary(numbered(i)), SendError::None);
    const auto paused = [&] {
        return std::any_of(logLines.cbegin(), logLines.cend(), [](const QString &line) {
            return line.startsWith(QStringLiteral("client leg: not read while"));
        });
    };
    QVERIFY(runUntil(paused, 10'000));
    // The relay stopped reading: the rest stays with the client and the kernel.
    QVERIFY(deliverPostedEvents(10));
    QVERIFY(client.connection.pendingBytes() > 0);
    QVERIFY(relay.heldBytes() > Limit);
    // At most the bound plus what one read brought in.
    QVERIFY2(maxHeld <= Limit + ReportedReadBudget + Size,
             qPrintable(QStringLiteral("%1 bytes held").arg(maxHeld)));
    QCOMPARE(received, 0);

    // Released (and no longer held): all of it arrives, in order.
    relay.setIntercept({});
    QVERIFY(relay.releaseAll() > 0);
    QVERIFY(runUntil([&] { return received == Messages; }, 60'000));
    QVERIFY(inOrder);
    qInfo("flood of %d x %d bytes: at most %lld bytes kept back (bound %lld)", Messages, Size,
          maxHeld, Limit);
    QVERIFY(std::any_of(logLines.cbegin(), logLines.cend(), [](const QString &line) {
        return line.startsWith(QStringLiteral("client leg: read again"));
    }));
    QVERIFY(maxHeld <= Limit + ReportedReadBudget + Size);
}

void TestRelayIntercept::latencyLowerBound() {
    constexpr int LatencyMs = 150;
    RelayBench bench;
    QVERIFY(bench.start());
    RelayFaults faults;
    faults.up.latencyMs = LatencyMs;
    faults.down.latencyMs = LatencyMs;
    faults.down.jitterMs = 50;
    bench.relay->setFaults(faults);
    QVERIFY(bench.openClient());
    QCOMPARE(bench.stagedContaining(QStringLiteral("latency 150 ms")), 2);
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < 5; ++i)
        QCOMPARE(bench.client->connection.sendText("t" + QByteArray::number(i)), SendError::None);
    QVERIFY(bench.waitMessages(5));
    // Up and down, the jitter at most 50 ms below the latency: a lower bound only.
    QVERIFY2(timer.elapsed() >= 2 * LatencyMs - 50, qPrintable(QString::number(timer.elapsed())));
    QCOMPARE(bench.client->recorder.incomingData(),
             (QList<QByteArray>{"t0", "t1", "t2", "t3", "t4"}));
}

void TestRelayIntercept::throttleLowerBound() {
    RelayBench bench;
    QVERIFY(bench.start());
    RelayFaults faults;
    faults.up.bytesPerSecond = 20'000;
    bench.relay->setFaults(faults);
    QVERIFY(bench.openClient());
    QElapsedTimer timer;
    timer.start();
    constexpr int Messages = 5;
    for (int i = 0; i < Messages; ++i)
        QCOMPARE(bench.client->connection.sendBinary(QByteArray(4000, char('a' + i))),
                 SendError::None);
    QVERIFY(bench.waitMessages(Messages));
    // The first goes at once, each next one 4000 bytes at 20000 bytes/s later.
    QVERIFY2(timer.elapsed() >= (Messages - 1) * 200, qPrintable(QString::number(timer.elapsed())));
}

void TestRelayIntercept::seededDropRate() {
    constexpr int Messages = 60;
    constexpr double Percent = 30;
    constexpr quint64 Seed = 20261204;
    const QList<QByteArray> expected = keptBySeed(Seed, Percent, Messages);
    QVERIFY(expected.size() > 0 && expected.size() < Messages);

    for (int run = 0; run < 2; ++run) {
        RelayBench bench;
        QVERIFY(bench.start());
        RelayFaults faults;
        faults.up.dropPercent = Percent;
        faults.seed = Seed;
        bench.relay->setFaults(faults);
        QVERIFY(bench.openClient());
        for (int i = 0; i < Messages; ++i)
            QCOMPARE(bench.client->connection.sendText("n" + QByteArray::number(i)),
                     SendError::None);
        // Every message is either dropped (a note says so) or echoed.
        QVERIFY(QTest::qWaitFor(
            [&] {
                return bench.stagedContaining(QStringLiteral("drop rate 30 %")) +
                           bench.client->recorder.incomingData().size() >=
                       Messages;
            },
            10'000));
        QCOMPARE(bench.client->recorder.incomingData(), expected);
        QCOMPARE(bench.stagedContaining(QStringLiteral("drop rate 30 %")),
                 Messages - expected.size());
    }
}

void TestRelayIntercept::seededJitter() {
    constexpr int Messages = 20;
    constexpr quint64 Seed = 7;
    RelayDirectionFaults up;
    up.latencyMs = 6;
    up.jitterMs = 5;
    // The delays a generator with a seed chooses, as the relay's notes write them.
    const auto drawn = [&](quint64 seed) {
        JitterDraw draw(seed, RelayLegKind::Server);
        QStringList delays;
        for (int i = 0; i < Messages; ++i)
            delays.append(QString::number(double(draw.delayUs(up)) / 1000, 'f', 3));
        return delays;
    };
    const QStringList expected = drawn(Seed);
    QCOMPARE(drawn(Seed), expected);
    QVERIFY(drawn(Seed + 1) != expected);
    QVERIFY(QSet<QString>(expected.cbegin(), expected.cend()).size() > Messages / 2);

    static const QRegularExpression delaying(
        QStringLiteral("^delaying a text message \\(2 bytes\\) going up .* by ([0-9.]+) ms "
                       "\\(latency 6 ms \u00b15 ms\\)$"));
    // Two runs of the same seed choose the same delays, message by message.
    for (int run = 0; run < 2; ++run) {
        RelayBench bench;
        QVERIFY(bench.start());
        RelayFaults faults;
        faults.up = up;
        faults.seed = Seed;
        bench.relay->setFaults(faults);
        QVERIFY(bench.openClient());
        QList<QByteArray> sent;
        for (int i = 0; i < Messages; ++i) {
            sent.append(QByteArray::number(i).rightJustified(2, '0'));
            QCOMPARE(bench.client->connection.sendText(sent.last()), SendError::None);
        }
        QVERIFY(bench.waitMessages(Messages));
        // Order is kept whatever the draws.
        QCOMPARE(bench.client->recorder.incomingData(), sent);
        QStringList delays;
        for (const auto &[leg, text] : std::as_const(bench.staged)) {
            const QRegularExpressionMatch match = delaying.match(text);
            if (match.hasMatch()) {
                QCOMPARE(leg, RelayLegKind::Server);
                delays.append(match.captured(1));
            }
        }
        QCOMPARE(delays, expected);
    }
}

void TestRelayIntercept::cutWithReset() {
    RelayBench bench;
    QVERIFY(bench.start());
    QVERIFY(bench.openClient());
    QVERIFY(bench.relay->cut(FirstPair, RelayLegKind::Client,
                             RelayCut{.style = RelayCut::Style::Reset}));
    QVERIFY(bench.client->waitFinished());
    const std::optional<ClosedEvent> closed = bench.client->recorder.closed();
    QVERIFY(closed);
    QVERIFY(!closed->clean);
    QCOMPARE(closed->code, quint16(1006));
    QVERIFY(bench.client->recorder.all<CloseEvent>().isEmpty());
    QCOMPARE(bench.stagedContaining(QStringLiteral("TCP reset")), 1);
    QVERIFY(QTest::qWaitFor([&] { return bench.relay->pairCount() == 0; }, 5000));
}

void TestRelayIntercept::cutWithClose() {
    RelayBench bench;
    QVERIFY(bench.start());
    QVERIFY(bench.openClient());
    QVERIFY(bench.relay->cut(FirstPair, RelayLegKind::Server,
                             RelayCut{.code = 4001, .reason = QStringLiteral("cut")}));
    QVERIFY(bench.client->waitFinished());
    // The server answered the relay's close; its clean end closes the client's leg
    // with the same code.
    QCOMPARE(bench.cleanCloseCode(), std::optional<quint16>(4001));
}

void TestRelayIntercept::cutAfterMessages() {
    RelayBench bench;
    QVERIFY(bench.start());
    RelayFaults faults;
    faults.cutAfterMessages = 3;
    faults.cutLeg = RelayLegKind::Client;
    faults.cut.style = RelayCut::Style::Reset;
    bench.relay->setFaults(faults);
    QVERIFY(bench.openClient());
    QCOMPARE(bench.client->connection.sendText("one"), SendError::None);
    QVERIFY(bench.waitMessages(1));
    QCOMPARE(bench.client->connection.sendText("two"), SendError::None);
    // "two" going up is the third message relayed: the client leg is reset.
    QVERIFY(bench.client->waitFinished());
    QCOMPARE(bench.client->recorder.incomingData(), QList<QByteArray>{"one"});
    QCOMPARE(bench.client->recorder.closed()->code, quint16(1006));
}

namespace {

// A second client through the bench's relay: its pair is the next one.
std::unique_ptr<RecordedClient> openAnother(const RelayBench &bench) {
    auto other = std::make_unique<RecordedClient>(clientOptions(bench.relay->port()));
    other->connection.open();
    return other->waitOpen() ? std::move(other) : nullptr;
}

} // namespace

void TestRelayIntercept::pairFaultsDelayOnlyThatPair() {
    // Far longer than any wait below: a message it delays has not arrived, and one that
    // arrives was not delayed by it.
    constexpr int LongMs = 120'000;
    RelayBench bench;
    QVERIFY(bench.start());
    QVERIFY(bench.openClient());
    const std::unique_ptr<RecordedClient> other = openAnother(bench);
    QVERIFY(other);
    constexpr quint64 OtherPair = 2;
    QCOMPARE(bench.relay->pairCount(), 2);

    RelayFaults slow;
    slow.up.latencyMs = LongMs;
    QVERIFY(bench.relay->setPairFaults(FirstPair, slow));
    QCOMPARE(bench.relay->pairFaults(FirstPair), std::optional<RelayFaults>(slow));
    QCOMPARE(bench.relay->pairFaults(OtherPair), std::nullopt);
    QCOMPARE(bench.relay->faults(), RelayFaults{});
    QVERIFY(!bench.relay->setPairFaults(99, slow));
    QCOMPARE(bench.stagedContaining(
                 QStringLiteral("faults for this pair going up (client\u2192server): latency "
                                "120000 ms")),
             1);
    QCOMPARE(bench.stagedContaining(
                 QStringLiteral("faults for this pair going down (server\u2192client): none")),
             1);

    QCOMPARE(bench.client->connection.sendText("slow"), SendError::None);
    QVERIFY(QTest::qWaitFor([&] { return bench.relay->heldCount() == 1; }, 10'000));
    QCOMPARE(other->connection.sendText("fast"), SendError::None);
    QVERIFY(QTest::qWaitFor([&] { return !other->recorder.incomingData().isEmpty(); }, 10'000));
    QCOMPARE(other->recorder.incomingData(), QList<QByteArray>{"fast"});
    // The first pair's message still waits.
    QVERIFY(bench.client->recorder.incomingData().isEmpty());
    QCOMPARE(bench.relay->heldCount(), 1);

    // Back to the relay's faults (none): what waited is timed again, and goes.
    QVERIFY(bench.relay->setPairFaults(FirstPair, std::nullopt));
    QCOMPARE(bench.relay->pairFaults(FirstPair), std::nullopt);
    QVERIFY(bench.waitMessages(1));
    QCOMPARE(bench.client->recorder.incomingData(), QList<QByteArray>{"slow"});
    QCOMPARE(bench.stagedContaining(
                 QStringLiteral("the relay's faults again going up (client\u2192server): none")),
             1);

    // The relay's faults apply to that pair again, as to the other.
    RelayFaults relayWide;
    relayWide.up.latencyMs = LongMs;
    bench.relay->setFaults(relayWide);
    QCOMPARE(bench.client->connection.sendText("held again"), SendError::None);
    QCOMPARE(other->connection.sendText("held too"), SendError::None);
    QVERIFY(QTest::qWaitFor([&] { return bench.relay->heldCount() == 2; }, 10'000));
    bench.relay->setFaults(RelayFaults{});
    QVERIFY(bench.waitMessages(2));
    QVERIFY(QTest::qWaitFor([&] { return other->recorder.incomingData().size() == 2; }, 10'000));
    QCOMPARE(bench.client->recorder.incomingData(), (QList<QByteArray>{"slow", "held again"}));
    QCOMPARE(other->recorder.incomingData(), (QList<QByteArray>{"fast", "held too"}));
}

void TestRelayIntercept::pairDropsOnlyItsOwn() {
    constexpr int Messages = 5;
    RelayBench bench;
    QVERIFY(bench.start());
    QVERIFY(bench.openClient());
    const std::unique_ptr<RecordedClient> other = openAnother(bench);
    QVERIFY(other);
    RelayFaults drops;
    drops.up.dropPercent = 100;
    QVERIFY(bench.relay->setPairFaults(FirstPair, drops));
    QList<QByteArray> sent;
    for (int i = 0; i < Messages; ++i) {
        sent.append("m" + QByteArray::number(i));
        QCOMPARE(bench.client->connection.sendText(sent.last()), SendError::None);
        QCOMPARE(other->connection.sendText(sent.last()), SendError::None);
    }
    QVERIFY(
        QTest::qWaitFor([&] { return other->recorder.incomingData().size() == Messages; }, 10'000));
    QVERIFY(QTest::qWaitFor(
        [&] { return bench.stagedContaining(QStringLiteral("drop rate 100 %")) == Messages; },
        10'000));
    QCOMPARE(other->recorder.incomingData(), sent);
    QVERIFY(bench.client->recorder.incomingData().isEmpty());
    // Back to the relay's faults: nothing dropped any more.
    QVERIFY(bench.relay->setPairFaults(FirstPair, std::nullopt));
    QCOMPARE(bench.client->connection.sendText("kept"), SendError::None);
    QVERIFY(bench.waitMessages(1));
    QCOMPARE(bench.client->recorder.incomingData(), QList<QByteArray>{"kept"});
    QCOMPARE(bench.stagedContaining(QStringLiteral("drop rate 100 %")), Messages);
}

void TestRelayIntercept::sameSeedSameDropsPerPair() {
    constexpr int Messages = 40;
    constexpr double Percent = 50;
    constexpr quint64 Seed = 424242;
    const QList<QByteArray> expected = keptBySeed(Seed, Percent, Messages);
    QVERIFY(expected.size() > 0 && expected.size() < Messages);

    RelayBench bench;
    QVERIFY(bench.start());
    // The relay's own seed differs: each pair draws from the seed of its faults.
    RelayFaults relayWide;
    relayWide.seed = Seed + 1;
    bench.relay->setFaults(relayWide);
    QVERIFY(bench.openClient());
    const std::unique_ptr<RecordedClient> other = openAnother(bench);
    QVERIFY(other);
    RelayFaults own;
    own.up.dropPercent = Percent;
    own.seed = Seed;
    QVERIFY(bench.relay->setPairFaults(FirstPair, own));
    QVERIFY(bench.relay->setPairFaults(2, own));
    // The seed is said with what it draws, so that a run can be repeated.
    QCOMPARE(bench.stagedContaining(QStringLiteral("50 % of messages dropped (seed 424242)")), 2);
    for (int i = 0; i < Messages; ++i) {
        QCOMPARE(bench.client->connection.sendText("n" + QByteArray::number(i)), SendError::None);
        QCOMPARE(other->connection.sendText("n" + QByteArray::number(i)), SendError::None);
    }
    const int dropped = Messages - int(expected.size());
    QVERIFY(QTest::qWaitFor(
        [&] {
            return bench.stagedContaining(QStringLiteral("drop rate 50 %")) == 2 * dropped &&
                   bench.client->recorder.incomingData().size() == expected.size() &&
                   other->recorder.incomingData().size() == expected.size();
        },
        10'000));
    QCOMPARE(bench.client->recorder.incomingData(), expected);
    QCOMPARE(other->recorder.incomingData(), expected);
}

QTEST_MAIN(TestRelayIntercept)
#include "tst_relayintercept.moc"

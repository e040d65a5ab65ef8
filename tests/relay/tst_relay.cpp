// The relay's pieces with exact bytes: which header fields cross, the request target,
// single data frames sent as received, and a relay in this process between raw
// sockets (the handshake both ways, frames re-masked, back-pressure); wss toward the
// clients with the generated localhost certificate.

#include "../net/nettesthelpers.h"

#include "net/server.h"
#include "net/tlscertificate.h"
#include "protocol/session.h"
#include "relay/relay.h"
#include "relay/relayheaders.h"

#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace ws;
using namespace wstest;

namespace {

HttpHeaders headers(const QList<QPair<QByteArray, QByteArray>> &fields) {
    HttpHeaders out;
    for (const auto &field : fields)
        out.add(field.first, field.second);
    return out;
}

constexpr quint32 SampleMaskKey = 0x37fa213d; // RFC 6455 §5.7

} // namespace

class TestRelay : public QObject {
    Q_OBJECT
private slots:
    void endToEndRequestHeaders();
    void endToEndResponseHeaders();
    void resourceName_data();
    void resourceName();
    void dataFramesAsReceivedServer();
    void dataFramesAsReceivedClient();
    void largeFrameMaskedInPlace();
    void frameSinkKeepsOrderWithEvents();
    void closeAnsweredLater();
    void relayHandshakeAndFrames_data();
    void relayHandshakeAndFrames();
    void upstreamRefusal();
    void backPressure_data();
    void backPressure();
    void wssWithTheGeneratedCertificate();
};

void TestRelay::endToEndRequestHeaders() {
    const HttpHeaders request = headers({{"Host", "relay:9002"},
                                         {"Upgrade", "websocket"},
                                         {"Connection", "Upgrade, X-Hop"},
                                         {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                                         {"Sec-WebSocket-Version", "13"},
                                         {"Origin", "http://app.test"},
                                         {"Sec-WebSocket-Protocol", "a, b"},
                                         {"Sec-WebSocket-Extensions", "permessage-deflate"},
                                         {"Cookie", "a=1"},
                                         {"X-Hop", "dropped"},
                                         {"Keep-Alive", "timeout=5"},
                                         {"Proxy-Authorization", "Basic eA=="},
                                         {"Authorization", "Bearer t"},
                                         {"User-Agent", "ua/1"},
                                         {"Cookie", "b=2"}});
    const HttpHeaders expected = headers({{"Origin", "http://app.test"},
                                          {"Cookie", "a=1"},
                                          {"Authorization", "Bearer t"},
                                          {"User-Agent", "ua/1"},
                                          {"Cookie", "b=2"}});
    QCOMPARE(ws::endToEndRequestHeaders(request), expected);
}

void TestRelay::endToEndResponseHeaders() {
    const HttpHeaders response = headers({{"Upgrade", "websocket"},
                                          {"Connection", "Upgrade"},
                                          {"Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
                                          {"Sec-WebSocket-Protocol", "chat"},
                                          {"Set-Cookie", "s=1; HttpOnly"},
                                          {"Content-Length", "12"},
                                          {"Transfer-Encoding", "chunked"},
                                          {"Server", "upstream/1"},
                                          {"WWW-Authenticate", "Bearer"}});
    const HttpHeaders expected = headers({{"Set-Cookie", "s=1; HttpOnly"},
                                          {"Server", "upstream/1"},
                                          {"WWW-Authenticate", "Bearer"}});
    QCOMPARE(ws::endToEndResponseHeaders(response), expected);
}

void TestRelay::resourceName_data() {
    QTest::addColumn<QByteArray>("client");
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<QByteArray>("query");
    QTest::addColumn<QByteArray>("expected");
    QTest::newRow("no path: the client's")
        << QByteArray("/a/b?x=1") << QByteArray() << QByteArray() << QByteArray("/a/b?x=1");
    QTest::newRow("slash alone: the client's") << QByteArray("/chat%20room") << QByteArray("/")
                                               << QByteArray() << QByteArray("/chat%20room");
    QTest::newRow("a path of its own")
        << QByteArray("/a?x=1") << QByteArray("/ws") << QByteArray() << QByteArray("/ws");
    QTest::newRow("a query of its own")
        << QByteArray("/a") << QByteArray("/") << QByteArray("k=v") << QByteArray("/?k=v");
    QTest::newRow("path and query")
        << QByteArray("/a") << QByteArray("/ws") << QByteArray("k=v") << QByteArray("/ws?k=v");
}

void TestRelay::resourceName() {
    QFETCH(QByteArray, client);
    QFETCH(QByteArray, path);
    QFETCH(QByteArray, query);
    QFETCH(QByteArray, expected);
    QCOMPARE(relayedResourceName(client, path, query), expected);
}

void TestRelay::dataFramesAsReceivedServer() {
    Session server{SessionOptions{}};
    server.receiveData(upgradeRequest(80), 1);
    server.accept({}, {}, nullptr, 2);
    server.takeOutgoing();
    // RFC 6455 §5.7: a fragmented unmasked text message, "Hel" then "lo".
    QCOMPARE(server.sendDataFrame(Opcode::Text, "Hel", false, 3), SendError::None);
    QCOMPARE(server.sendDataFrame(Opcode::Continuation, "lo", true, 4), SendError::None);
    QCOMPARE(server.takeOutgoing().toHex(), QByteArray("010348656c80026c6f"));
    // Frame events as usual, no message of ours: the message was the peer's.
    int frames = 0;
    while (server.hasEvent()) {
        const SessionEvent event = server.takeEvent();
        QVERIFY(!std::holds_alternative<MessageEvent>(event));
        frames += std::holds_alternative<FrameEvent>(event);
    }
    QCOMPARE(frames, 2);
    QCOMPARE(server.sendClose(1000, {}, 5), SendError::None);
    QCOMPARE(server.sendDataFrame(Opcode::Binary, "x", true, 6), SendError::CloseAlreadySent);
}

void TestRelay::dataFramesAsReceivedClient() {
    ClientHandshakeOptions handshake;
    handshake.host = "127.0.0.1";
    Session client(handshake, {}, MaskingKeySource::fixed(SampleMaskKey), SampleKey);
    QCOMPARE(client.sendDataFrame(Opcode::Text, "Hello", true, 0), SendError::NotOpen);
    client.start(1);
    client.takeOutgoing();
    client.receiveData(QByteArray("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                  "Connection: Upgrade\r\nSec-WebSocket-Accept: ") +
                           SampleAccept + "\r\n\r\n",
                       2);
    client.setExtension(nullptr);
    QCOMPARE(client.state(), SessionState::Open);
    // RFC 6455 §5.7: the masked "Hello", with the key the source gives.
    QCOMPARE(client.sendDataFrame(Opcode::Text, "Hello", true, 3), SendError::None);
    QCOMPARE(client.takeOutgoing().toHex(), QByteArray("818537fa213d7f9f4d5158"));
}

// An open client session with a fixed masking key, its handshake taken.
static std::unique_ptr<Session> openClient(SessionOptions options) {
    ClientHandshakeOptions handshake;
    handshake.host = "127.0.0.1";
    auto client = std::make_unique<Session>(handshake, options,
                                            MaskingKeySource::fixed(SampleMaskKey), SampleKey);
    client->start(1);
    client->takeOutgoing();
    client->receiveData(QByteArray("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                   "Connection: Upgrade\r\nSec-WebSocket-Accept: ") +
                            SampleAccept + "\r\n\r\n",
                        2);
    client->setExtension(nullptr);
    while (client->hasEvent())
        client->takeEvent();
    return client;
}

void TestRelay::largeFrameMaskedInPlace() {
    // A large payload handed over with its buffer leaves as a chunk of its own, masked
    // in place (RFC 6455 §5.3): the same bytes as a copy would give, no copy made.
    SessionOptions options;
    options.reportFrames = false;
    const std::unique_ptr<Session> client = openClient(options);
    QByteArray payload(70000, Qt::Uninitialized);
    for (qsizetype i = 0; i < payload.size(); ++i)
        payload[i] = char(i * 7);
    const QByteArray expected = maskedFrame(0x02, payload, SampleMaskKey);
    QByteArray buffer = payload;
    buffer.detach();
    const char *bytes = buffer.constData();
    QCOMPARE(client->sendDataFrame(Opcode::Binary, buffer, false, 3, &buffer), SendError::None);
    QList<QByteArray> chunks;
    client->takeOutgoingChunks(chunks);
    QCOMPARE(chunks.size(), 2);
    QCOMPARE(chunks.at(1).constData(), bytes);
    QCOMPARE((chunks.at(0) + chunks.at(1)).toHex(), expected.toHex());
}

void TestRelay::frameSinkKeepsOrderWithEvents() {
    // A data frame that completes behind events not taken yet (a ping in the same
    // read) is an event itself, so that the relay forwards it after them.
    const std::unique_ptr<Session> client = openClient({});
    QList<QByteArray> sunk;
    client->setFrameSink([&](const FrameHeader &header, QByteArrayView payload, QByteArray *) {
        QVERIFY(header.fin);
        sunk.append(payload.toByteArray());
    });
    client->receiveData(serverFrame(0x82, "a"), 3);
    QCOMPARE(sunk, QList<QByteArray>({"a"}));
    QVERIFY(!client->hasEvent());
    client->receiveData(serverFrame(0x89, "p") + serverFrame(0x82, "b"), 4);
    QCOMPARE(sunk, QList<QByteArray>({"a"}));
    QStringList kinds;
    QByteArray fromEvent;
    while (client->hasEvent()) {
        const SessionEvent event = client->takeEvent();
        if (const auto *frame = std::get_if<FrameEvent>(&event)) {
            kinds << QString::fromLatin1(opcodeName(frame->frame.header.op()));
            if (frame->direction == Direction::Incoming &&
                frame->frame.header.op() == Opcode::Binary)
                fromEvent = frame->frame.payload;
        } else {
            kinds << QStringLiteral("other");
        }
    }
    QCOMPARE(fromEvent, QByteArray("b"));
    // The ping, its pong (answered at once), the ping's own event, then "b".
    QCOMPARE(kinds.filter(QStringLiteral("binary")).size(), 1);
    QCOMPARE(kinds.last(), QStringLiteral("binary"));
    client->receiveData(serverFrame(0x82, "c"), 5);
    QCOMPARE(sunk, QList<QByteArray>({"a", "c"}));
}

void TestRelay::closeAnsweredLater() {
    SessionOptions options;
    options.autoCloseAnswer = false;
    Session server(options);
    server.receiveData(upgradeRequest(80), 1);
    server.accept({}, {}, nullptr, 2);
    server.takeOutgoing();
    while (server.hasEvent())
        server.takeEvent();
    // The peer's close (1000 "bye"): no answer yet, no end yet.
    server.receiveData(maskedFrame(0x88, QByteArray::fromHex("03e8") + "bye", SampleMaskKey), 3);
    QVERIFY(!server.hasOutgoing());
    QCOMPARE(server.state(), SessionState::Closing);
    QVERIFY(!server.shouldCloseTransport());
    bool closeSeen = false;
    while (server.hasEvent()) {
        const SessionEvent event = server.takeEvent();
        QVERIFY(!std::holds_alternative<ClosedEvent>(event));
        closeSeen = closeSeen || std::holds_alternative<CloseEvent>(event);
    }
    QVERIFY(closeSeen);
    QCOMPARE(server.sendText("late", 4), SendError::NotOpen);
    // The answer is ours to give: 4000 "x", then the end, clean, closed by the peer.
    QCOMPARE(server.sendClose(4000, QStringLiteral("x"), 5), SendError::None);
    QCOMPARE(server.takeOutgoing().toHex(), QByteArray("88030fa078"));
    QVERIFY(server.shouldCloseTransport());
    QCOMPARE(server.state(), SessionState::Closed);
    std::optional<ClosedEvent> closed;
    while (server.hasEvent()) {
        const SessionEvent event = server.takeEvent();
        if (const auto *end = std::get_if<ClosedEvent>(&event))
            closed = *end;
    }
    QVERIFY(closed);
    QCOMPARE(closed->code, quint16(1000));
    QCOMPARE(closed->reason, QStringLiteral("bye"));
    QVERIFY(closed->clean);
    QVERIFY(!closed->closedByUs);
    QCOMPARE(server.sendClose(1000, {}, 6), SendError::CloseAlreadySent);
}

// Watched, every frame is an event on its way; unwatched (nothing logs or prints the
// frames), data frames go from one leg's decoder straight to the other: the same
// bytes must come out either way.
static void addObservedRows() {
    QTest::addColumn<bool>("observed");
    QTest::newRow("observed") << true;
    QTest::newRow("unobserved") << false;
}

void TestRelay::relayHandshakeAndFrames_data() {
    addObservedRows();
}

void TestRelay::relayHandshakeAndFrames() {
    QFETCH(bool, observed);
    QByteArray upstreamRequest;
    QTcpSocket *upstreamSocket = nullptr;
    RawServer upstream([&](QTcpSocket *socket, const QByteArray &request) {
        upstreamRequest = request;
        upstreamSocket = socket;
        QByteArray answer = RawServer::switchingProtocols(request);
        answer.insert(answer.size() - 2, "Sec-WebSocket-Protocol: b\r\nSet-Cookie: s=1\r\n"
                                         "Keep-Alive: timeout=5\r\n");
        socket->write(answer);
    });
    QVERIFY(upstream.listen());
    RelayOptions options;
    options.target = upstream.url(QStringLiteral("/"));
    options.serverDeflate.policy = DeflatePolicy::Refuse;
    options.observed = observed;
    Relay relay(options);
    // The client leg's data frames as events: the two it receives, the two it sends.
    int dataFrameEvents = 0;
    QObject::connect(&relay, &Relay::legEvent,
                     [&](quint64, RelayLegKind leg, const SessionEvent &event) {
                         const auto *frame = std::get_if<FrameEvent>(&event);
                         if (leg == RelayLegKind::Client && frame)
                             dataFrameEvents += !isControl(frame->frame.header.op());
                     });
    QVERIFY(relay.listen());

    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, relay.port());
    QVERIFY(client.waitForConnected(5000));
    client.write("GET /room?id=7 HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade, X-Hop\r\nX-Hop: 1\r\nSec-WebSocket-Key: " +
                 QByteArray(SampleKey) +
                 "\r\nSec-WebSocket-Version: 13\r\nOrigin: http://app.test\r\n"
                 "Sec-WebSocket-Protocol: a, b\r\nCookie: c=3\r\n\r\n");
    QByteArray answer;
    QVERIFY(readUntil(client, answer, headerBlockComplete));
    const qsizetype end = answer.indexOf("\r\n\r\n") + 4;
    QCOMPARE(answer.left(end), QByteArray("HTTP/1.1 101 Switching Protocols\r\n"
                                          "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                          "Sec-WebSocket-Accept: ") +
                                   SampleAccept +
                                   "\r\nSec-WebSocket-Protocol: b\r\nSet-Cookie: s=1\r\n\r\n");
    answer.remove(0, end);

    // Upstream: our request line, Host rewritten, the per-leg fields our own, the
    // end-to-end ones as they came; the hop-by-hop ones stopped.
    QList<QByteArray> lines = upstreamRequest.split('\n');
    for (QByteArray &line : lines)
        line = line.trimmed();
    lines.removeAll(QByteArray());
    QVERIFY2(lines.size() == 9, upstreamRequest.constData());
    // A key of the relay's own (RFC 6455 §4.1: fresh for each connection).
    QVERIFY(lines.at(4).startsWith("Sec-WebSocket-Key: "));
    QVERIFY(lines.at(4) != QByteArray("Sec-WebSocket-Key: ") + SampleKey);
    lines.removeAt(4);
    const QList<QByteArray> expected = {
        "GET /room?id=7 HTTP/1.1",      "Host: 127.0.0.1:" + QByteArray::number(upstream.port()),
        "Upgrade: websocket",           "Connection: Upgrade",
        "Sec-WebSocket-Version: 13",    "Origin: http://app.test",
        "Sec-WebSocket-Protocol: a, b", "Cookie: c=3",
    };
    QCOMPARE(lines, expected);
    QVERIFY(!upstreamRequest.contains("X-Hop"));

    // Client to upstream: the same frame, masked again with a key of the relay's.
    const quint32 clientKey = 0x01020304;
    client.write(maskedFrame(0x01, "caf\xc3", clientKey));
    client.write(maskedFrame(0x80, "\xa9", clientKey));
    QByteArray &upstreamBuffer = upstream.received[upstreamSocket];
    upstreamBuffer.remove(0, upstreamBuffer.indexOf("\r\n\r\n") + 4);
    std::optional<WireFrame> first;
    QVERIFY(
        QTest::qWaitFor([&] { return (first = parseFrame(upstreamBuffer)).has_value(); }, 5000));
    QCOMPARE(first->firstByte, quint8(0x01));
    QVERIFY(first->masked);
    QCOMPARE(first->payload, QByteArray("caf\xc3"));
    QVERIFY(upstreamBuffer.mid(2, 4) != maskedFrame(0x01, "caf\xc3", clientKey).mid(2, 4));
    upstreamBuffer.remove(0, first->wireSize);
    std::optional<WireFrame> second;
    QVERIFY(
        QTest::qWaitFor([&] { return (second = parseFrame(upstreamBuffer)).has_value(); }, 5000));
    QCOMPARE(second->firstByte, quint8(0x80));
    QCOMPARE(second->payload, QByteArray("\xa9"));
    upstreamBuffer.remove(0, second->wireSize);

    // Upstream to client: byte for byte, a ping among them, not answered by the relay.
    const QByteArray down = serverFrame(0x02, "\x00\x01") + serverFrame(0x89, "p") +
                            serverFrame(0x80, QByteArray(300, 'x'));
    upstreamSocket->write(down);
    QVERIFY(readUntil(client, answer,
                      [&](const QByteArray &bytes) { return bytes.size() >= down.size(); }));
    QCOMPARE(answer.toHex(), down.toHex());
    QVERIFY(deliverPostedEvents());
    QVERIFY(upstreamBuffer.isEmpty());

    // The client's close goes upstream with its code and reason.
    client.write(maskedFrame(0x88, QByteArray::fromHex("0fa1") + "bye", clientKey));
    std::optional<WireFrame> close;
    QVERIFY(
        QTest::qWaitFor([&] { return (close = parseFrame(upstreamBuffer)).has_value(); }, 5000));
    QCOMPARE(close->firstByte, quint8(0x88));
    QCOMPARE(close->payload, QByteArray::fromHex("0fa1") + "bye");
    // Nothing for the client until the upstream answers; then its answer, as it is.
    QVERIFY(deliverPostedEvents());
    QCOMPARE(client.bytesAvailable() + answer.size() - down.size(), 0);
    upstreamSocket->write(serverFrame(0x88, QByteArray::fromHex("0fa1") + "ok"));
    QByteArray tail;
    QVERIFY(readUntil(client, tail, [](const QByteArray &bytes) { return bytes.size() >= 6; }));
    QCOMPARE(tail.toHex(), serverFrame(0x88, QByteArray::fromHex("0fa1") + "ok").toHex());
    QVERIFY(
        QTest::qWaitFor([&] { return client.state() == QAbstractSocket::UnconnectedState; }, 5000));
    QCOMPARE(dataFrameEvents, observed ? 4 : 0);
}

void TestRelay::upstreamRefusal() {
    RawServer upstream([](QTcpSocket *socket, const QByteArray &) {
        socket->write("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n"
                      "Content-Type: text/plain\r\nContent-Length: 11\r\n\r\nlog in, pls");
    });
    QVERIFY(upstream.listen());
    RelayOptions options;
    options.target = upstream.url(QStringLiteral("/"));
    Relay relay(options);
    QVERIFY(relay.listen());
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, relay.port());
    QVERIFY(client.waitForConnected(5000));
    client.write(upgradeRequest(relay.port()));
    QByteArray answer;
    QVERIFY(
        readUntil(client, answer, [](const QByteArray &bytes) { return bytes.endsWith("pls"); }));
    QCOMPARE(answer, QByteArray("HTTP/1.1 401 Unauthorized\r\nContent-Length: 11\r\n"
                                "Connection: close\r\nWWW-Authenticate: Bearer\r\n"
                                "Content-Type: text/plain\r\n\r\nlog in, pls"));
    QVERIFY(
        QTest::qWaitFor([&] { return client.state() == QAbstractSocket::UnconnectedState; }, 5000));
}

void TestRelay::backPressure_data() {
    addObservedRows();
}

void TestRelay::backPressure() {
    QFETCH(bool, observed);
    // An upstream that accepts and then reads nothing: what the client sends must
    // stay with the client (and the kernel), not pile up in the relay.
    RawServer upstream([](QTcpSocket *socket, const QByteArray &request) {
        QObject::disconnect(socket, &QTcpSocket::readyRead, nullptr, nullptr);
        socket->setReadBufferSize(4096);
        socket->write(RawServer::switchingProtocols(request));
    });
    QVERIFY(upstream.listen());
    RelayOptions options;
    options.target = upstream.url(QStringLiteral("/"));
    options.sendQueueLimit = 1024 * 1024;
    options.observed = observed;
    Relay relay(options);
    QVERIFY(relay.listen());
    RecordedClient client(clientOptions(relay.port()));
    client.connection.open();
    QVERIFY(client.waitOpen());
    const QByteArray chunk(1024 * 1024, 'q');
    constexpr int Messages = 64;
    for (int i = 0; i < Messages; ++i)
        QCOMPARE(client.connection.sendBinary(chunk), SendError::None);
    // Loopback buffers hold a few MiB each way; the relay holds its 1 MiB bound.
    // Everything else stays queued at the client.
    QTest::qWait(1500);
    const qint64 inFlight =
        qint64(Messages) * (chunk.size() + 14) - client.connection.pendingBytes();
    QVERIFY2(inFlight < 40 * 1024 * 1024,
             qPrintable(QStringLiteral("%1 bytes left the client").arg(inFlight)));
    QCOMPARE(relay.pairCount(), 1);
}

void TestRelay::wssWithTheGeneratedCertificate() {
    // What `wsw relay --tls` listens with: the kept localhost certificate.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QString error;
    const std::optional<CertificateAndKey> identity = localhostCertificate(dir.path(), &error);
    QVERIFY2(identity, qPrintable(error));
    Server echo(localOptions(ServerOptions::Mode::Echo));
    QVERIFY(echo.listen());
    RelayOptions options;
    options.target = QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(echo.port()));
    options.certificate = identity->certificate;
    options.key = identity->key;
    Relay relay(options);
    QVERIFY2(relay.listen(), qPrintable(relay.errorString()));
    QVERIFY(relay.isSecure());

    ClientOptions trusting = clientOptions(relay.port(), QStringLiteral("/tls?x=1"));
    trusting.url.setScheme(QStringLiteral("wss"));
    // The certificate file and nothing else: the system store does not know it.
    trusting.caCertificatesFile = localhostCertificateFile(dir.path());
    RecordedClient client(trusting);
    client.connection.open();
    QVERIFY2(client.waitOpen(), qPrintable(client.errors.join(u'\n')));
    QVERIFY(client.connection.tls().has_value());
    QCOMPARE(client.connection.tls()->chain.first().sha256,
             sha256Fingerprint(identity->certificate));
    QCOMPARE(client.connection.sendText("over wss, then ws"), SendError::None);
    QVERIFY(QTest::qWaitFor([&] { return !client.recorder.incomingData().isEmpty(); }, 5000));
    QCOMPARE(client.recorder.incomingData(), QList<QByteArray>{"over wss, then ws"});

    // Without it, the same client is refused: the relay's TLS is real.
    ClientOptions untrusting = trusting;
    untrusting.caCertificatesFile.clear();
    RecordedClient stranger(untrusting);
    stranger.connection.open();
    QVERIFY(stranger.waitFinished());
    QVERIFY(stranger.connection.state() != SessionState::Open);
    QVERIFY2(
        stranger.errors.join(u'\n').contains(QLatin1String("certificate"), Qt::CaseInsensitive),
        qPrintable(stranger.errors.join(u'\n')));
}

QTEST_MAIN(TestRelay)
#include "tst_relay.moc"

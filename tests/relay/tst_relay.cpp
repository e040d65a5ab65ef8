// The relay's pieces with exact bytes: which header fields cross, the request target,
// single data frames sent as received, large frames passed on in pieces as they
// arrive, and a relay in this process between raw sockets (the handshake both ways,
// frames re-masked, pieces, violations in the middle of a frame, back-pressure); wss
// toward the clients with the generated localhost certificate.
// Built twice: on Qt's event dispatcher, and on the command-line tool's as
// tst_relay_epoll (../net/epolltestmain.h).

#include "../net/epolltestmain.h"
#include "../net/nettesthelpers.h"
#include "../protocol/protocoltestsupport.h"

#include "net/server.h"
#include "net/tlscertificate.h"
#include "protocol/session.h"
#include "relay/relay.h"
#include "relay/relayheaders.h"

#include <QAbstractEventDispatcher>
#include <QTemporaryDir>
#include <QTest>
#include <QtEndian>

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
    void piecesMaskedAgainInOnePass_data();
    void piecesMaskedAgainInOnePass();
    void nothingGoesBetweenPieces();
    void runsMaskedAgainWithOurKeys_data();
    void runsMaskedAgainWithOurKeys();
    void runsRefusedGoFrameByFrame();
    void runsArriveWholeBehindASlowReader_data();
    void runsArriveWholeBehindASlowReader();
    void relayForwardsLargeFramesWhileTheyArrive_data();
    void relayForwardsLargeFramesWhileTheyArrive();
    void relayStopsInvalidTextInsideAFrame_data();
    void relayStopsInvalidTextInsideAFrame();
    void relayRefusesOversizeBeforeForwarding();
    void relayKeepsFragmentsAndControlsInOrder_data();
    void relayKeepsFragmentsAndControlsInOrder();
    void closeAnsweredLater();
    void watchedFramesLeaveBeforeTheLoopTurns();
    void legEventObserverHearsEachEventFirst();
    void frameRunObserverHearsWholeMessagesInsteadOfEvents_data();
    void frameRunObserverHearsWholeMessagesInsteadOfEvents();
    void frameRunObserverHearsLargeMessagesInPieces_data();
    void frameRunObserverHearsLargeMessagesInPieces();
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

// The two legs of a relay without sockets: a server session (the client leg) and a
// client session with a fixed key (the server leg), both open, frames unreported.
struct SessionLegs {
    SessionLegs() {
        SessionOptions options;
        options.reportFrames = false;
        server = std::make_unique<Session>(options);
        server->receiveData(upgradeRequest(80), 1);
        server->accept({}, {}, nullptr, 2);
        server->takeOutgoing();
        while (server->hasEvent())
            server->takeEvent();
        client = openClient(options);
    }
    // Data frames `from` receives go on through `to`, as RelayPair's direct path sends
    // them; `inPlace`: pieces without a copy, from the bytes `from` was given (which
    // must be writable), as that path sends them out of the read buffer.
    void forward(Session &from, Session &to, bool inPlace = false) {
        from.setFrameSink([&to, this](const FrameHeader &header, QByteArrayView payload,
                                      QByteArray *buffer) {
            ++wholeFrames;
            errors +=
                to.sendDataFrame(header.op(), payload, header.fin, 3, buffer) != SendError::None;
        });
        from.setPieceSink([&to, inPlace, this](const FrameHeader &header, quint64 offset,
                                               QByteArrayView wireBytes) {
            pieces += 1;
            const SendError error =
                inPlace
                    ? to.sendDataPieceInPlace(header, offset, const_cast<char *>(wireBytes.data()),
                                              wireBytes.size(), 3)
                    : to.sendDataPiece(header, offset, wireBytes, 3);
            errors += error != SendError::None;
            return true;
        });
    }
    // And runs of small frames in one piece, as RelayPair's direct path sends them;
    // `inPlace`: from the bytes `from` was given, as out of the read buffer.
    void forwardWithRuns(Session &from, Session &to, bool inPlace = false) {
        forward(from, to);
        from.setFrameRunSink([&to, inPlace, this](QByteArrayView wireFrames) {
            const bool taken = inPlace
                                   ? to.sendFrameRunInPlace(const_cast<char *>(wireFrames.data()),
                                                            wireFrames.size(), 3)
                                   : to.sendFrameRun(wireFrames, 3);
            runs += taken;
            return taken;
        });
    }
    std::unique_ptr<Session> server;
    std::unique_ptr<Session> client;
    int wholeFrames = 0;
    int pieces = 0;
    int runs = 0;
    int errors = 0;
};

void TestRelay::piecesMaskedAgainInOnePass_data() {
    QTest::addColumn<bool>("toServer");
    QTest::addColumn<quint8>("firstByte");
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<qsizetype>("chunk");
    QTest::addColumn<bool>("inPlace");
    for (const bool toServer : {true, false}) {
        const char *way = toServer ? "to the server" : "to the client";
        for (const qsizetype size : {qsizetype(126), qsizetype(70000), qsizetype(1 << 20)}) {
            for (const qsizetype chunk : {qsizetype(1), qsizetype(7), qsizetype(64 * 1024)}) {
                QTest::addRow("%s, binary %lld in %lld", way, qlonglong(size), qlonglong(chunk))
                    << toServer << quint8(0x82) << ws::test::pattern(size) << chunk << false;
                QTest::addRow("%s, text %lld in %lld", way, qlonglong(size), qlonglong(chunk))
                    << toServer << quint8(0x81) << ws::test::utf8Pattern(size) << chunk << false;
                if (chunk > 1) {
                    QTest::addRow("%s, binary %lld in %lld, in place", way, qlonglong(size),
                                  qlonglong(chunk))
                        << toServer << quint8(0x82) << ws::test::pattern(size) << chunk << true;
                }
            }
        }
    }
}

void TestRelay::piecesMaskedAgainInOnePass() {
    // What one leg receives in any chunking leaves the other byte for byte, masked
    // with the relay's own key toward the server (RFC 6455 §5.3), plain toward the
    // client: binary in pieces as it arrives, text whole once its UTF-8 is checked.
    QFETCH(bool, toServer);
    QFETCH(quint8, firstByte);
    QFETCH(QByteArray, payload);
    QFETCH(qsizetype, chunk);
    QFETCH(bool, inPlace);
    SessionLegs legs;
    Session &from = toServer ? *legs.server : *legs.client;
    Session &to = toServer ? *legs.client : *legs.server;
    legs.forward(from, to, inPlace);
    const quint32 peerKey = 0x01020304;
    const QByteArray received =
        toServer ? maskedFrame(firstByte, payload, peerKey) : serverFrame(firstByte, payload);
    const bool inPieces = firstByte == 0x82 && chunk < received.size();
    QByteArray sent;
    int callerChunks = 0;
    for (qsizetype at = 0, turn = 0; at < received.size(); at += chunk, ++turn) {
        // A read buffer of its own for each read, overwritten once it is read again.
        QByteArray readBuffer = received.sliced(at, std::min(chunk, received.size() - at));
        from.receiveData(readBuffer, 3);
        // Half way, the frame is on its way out and nothing can go between its bytes.
        if (at < received.size() / 2 && at + chunk >= received.size() / 2 && inPieces) {
            QVERIFY(to.isSendingPieces());
            QCOMPARE(to.sendPing("x", 3), SendError::FrameInProgress);
            QCOMPARE(to.sendBinary(QByteArrayView("x"), 3), SendError::FrameInProgress);
        }
        if (!inPlace)
            continue;
        // In place, the bytes out refer to the read buffer: written now (every other
        // read), or copied before the buffer is read into again.
        if (turn % 2 == 0) {
            QList<QByteArray> chunks;
            to.takeOutgoingChunks(chunks);
            for (const QByteArray &piece : std::as_const(chunks)) {
                callerChunks += Session::isCallerBytes(piece);
                sent += piece;
            }
        } else {
            to.ownOutgoing();
        }
        QVERIFY(!to.refersToCallerBytes());
        readBuffer.fill('\xee');
    }
    QVERIFY(!to.isSendingPieces());
    QCOMPARE(legs.errors, 0);
    QCOMPARE(legs.wholeFrames, inPieces ? 0 : 1);
    QCOMPARE(legs.pieces > 0, inPieces);
    QCOMPARE(callerChunks > 0, inPlace && inPieces);
    sent += to.takeOutgoing();
    const QByteArray expected =
        toServer ? maskedFrame(firstByte, payload, SampleMaskKey) : serverFrame(firstByte, payload);
    QCOMPARE(sent.size(), expected.size());
    QVERIFY(sent == expected);
    QVERIFY(!from.hasEvent());
}

void TestRelay::runsMaskedAgainWithOurKeys_data() {
    QTest::addColumn<bool>("toServer");
    QTest::addColumn<qsizetype>("chunk");
    QTest::addColumn<bool>("inPlace");
    for (const bool toServer : {true, false}) {
        const char *way = toServer ? "to the server" : "to the client";
        for (const qsizetype chunk : {qsizetype(1), qsizetype(300), qsizetype(1 << 20)}) {
            QTest::addRow("%s, in %lld", way, qlonglong(chunk)) << toServer << chunk << false;
            QTest::addRow("%s, in %lld, in place", way, qlonglong(chunk))
                << toServer << chunk << true;
        }
    }
}

void TestRelay::runsMaskedAgainWithOurKeys() {
    // Small frames received together leave together, byte for byte as received but
    // for the masking key toward the server: the relay's own on every frame (RFC 6455
    // §5.3), whatever key the client used; toward the client, as the server sent them.
    QFETCH(bool, toServer);
    QFETCH(qsizetype, chunk);
    QFETCH(bool, inPlace);
    SessionLegs legs;
    Session &from = toServer ? *legs.server : *legs.client;
    Session &to = toServer ? *legs.client : *legs.server;
    legs.forwardWithRuns(from, to, inPlace);
    const QList<QPair<quint8, QByteArray>> frames = {
        {0x82, ws::test::pattern(64)},   {0x81, ws::test::utf8Pattern(125)},
        {0x82, ws::test::pattern(126)},  {0x01, QByteArray("h\xc3")},
        {0x80, QByteArray("\xa9")},      {0x82, QByteArray()},
        {0x82, ws::test::pattern(5000)}, {0x81, ws::test::utf8Pattern(4096)}};
    QByteArray received;
    QByteArray expected;
    quint32 peerKey = 0x01020304;
    for (const auto &[firstByte, payload] : frames) {
        received += toServer ? maskedFrame(firstByte, payload, peerKey += 0x11111111)
                             : serverFrame(firstByte, payload);
        expected += toServer ? maskedFrame(firstByte, payload, SampleMaskKey)
                             : serverFrame(firstByte, payload);
    }
    // Given as reads are: each in a buffer of its own, which in place is also where the
    // run leaves from.
    QList<QByteArray> reads;
    for (qsizetype at = 0; at < received.size(); at += chunk) {
        reads.append(received.mid(at, std::min(chunk, received.size() - at)));
        from.receiveData(QByteArrayView(reads.last().data(), reads.last().size()), 3);
    }
    QCOMPARE(legs.errors, 0);
    // Byte by byte no frame is ever whole in one read: each goes alone.
    QCOMPARE(legs.runs > 0, chunk > 1);
    if (chunk > received.size()) {
        // All but the 5000-byte frame (over 4 KiB: alone) in two runs.
        QCOMPARE(legs.runs, 2);
        QCOMPARE(legs.wholeFrames, 1);
        if (inPlace) {
            // The runs are chunks of their own, the bytes that were read: no copy.
            QList<QByteArray> chunks;
            to.takeOutgoingChunks(chunks);
            QCOMPARE(chunks.size(), 3);
            QCOMPARE(chunks.at(0).constData(), reads.last().constData());
            QVERIFY(Session::isCallerBytes(chunks.at(0)));
            QVERIFY(!Session::isCallerBytes(chunks.at(1)));
            QVERIFY(Session::isCallerBytes(chunks.at(2)));
            QCOMPARE(chunks.join().toHex(), expected.toHex());
            return;
        }
    }
    const QByteArray sent = to.takeOutgoing();
    QCOMPARE(sent.size(), expected.size());
    QVERIFY(sent == expected);
    QVERIFY(!from.hasEvent());
}

void TestRelay::runsRefusedGoFrameByFrame() {
    // Frames a run cannot take go one by one, each refused or sent as it would be
    // alone: after the server leg's close, both frames are refused (and said).
    SessionLegs legs;
    legs.forwardWithRuns(*legs.server, *legs.client);
    QCOMPARE(legs.client->sendClose(1000, {}, 3), SendError::None);
    legs.client->takeOutgoing();
    legs.server->receiveData(maskedFrame(0x82, "a", 0x01020304) + maskedFrame(0x81, "b", 5), 4);
    QCOMPARE(legs.runs, 0);
    QCOMPARE(legs.wholeFrames, 2);
    QCOMPARE(legs.errors, 2);
    QVERIFY(legs.client->takeOutgoing().isEmpty());
    // A run whose mask bit is not the one the sending role uses is not sent at all.
    QVERIFY(!legs.server->sendFrameRun(maskedFrame(0x82, "a", 0x01020304), 5));
    QVERIFY(!legs.server->hasOutgoing());
}

void TestRelay::nothingGoesBetweenPieces() {
    // RFC 6455 §5.4: a frame half sent cannot be followed by a close frame: a close
    // then ends the transport instead, and the frame's last pieces are dropped.
    SessionLegs legs;
    legs.forward(*legs.server, *legs.client);
    const QByteArray received = maskedFrame(0x82, ws::test::pattern(70000), 0x01020304);
    legs.server->receiveData(received.left(30014), 3);
    QVERIFY(legs.client->isSendingPieces());
    const QByteArray sent = legs.client->takeOutgoing();
    QCOMPARE(sent.size(), 30014);
    QCOMPARE(legs.client->sendClose(1011, QStringLiteral("relay"), 4), SendError::None);
    QVERIFY(legs.client->closeSent());
    QVERIFY(legs.client->shouldCloseTransport());
    QVERIFY(!legs.client->hasOutgoing());
    legs.server->receiveData(received.mid(30014), 5);
    QCOMPARE(legs.errors, 1); // the next piece, refused
    QVERIFY(!legs.client->hasOutgoing());
    // A frame whose first piece was refused is refused to the end.
    SessionLegs closed;
    QCOMPARE(closed.client->sendClose(1000, {}, 3), SendError::None);
    closed.client->takeOutgoing();
    FrameHeader header;
    header.opcode = quint8(Opcode::Binary);
    header.payloadLength = 10;
    QCOMPARE(closed.client->sendDataPiece(header, 0, "01234", 4), SendError::CloseAlreadySent);
    QCOMPARE(closed.client->sendDataPiece(header, 5, "56789", 4), SendError::NotOpen);
    QVERIFY(!closed.client->hasOutgoing());
}

// A relay nobody watches between a raw client socket and a raw upstream that
// accepts: both ends speak bytes.
struct RawRelayed {
    RawServer upstream{[this](QTcpSocket *socket, const QByteArray &request) {
        upstreamSocket = socket;
        socket->write(RawServer::switchingProtocols(request));
    }};
    std::unique_ptr<Relay> relay;
    QTcpSocket client;
    QTcpSocket *upstreamSocket = nullptr;
    QByteArray toClient;                 // what the relay sent the client after its 101
    bool observed = false;               // RelayOptions::observed
    Relay::FrameRunObserver runObserver; // set before the pair starts

    bool open() {
        RelayOptions options;
        return open(options);
    }
    bool open(RelayOptions options) {
        if (!upstream.listen())
            return false;
        options.target = upstream.url();
        options.observed = observed;
        options.serverDeflate.policy = DeflatePolicy::Refuse;
        relay = std::make_unique<Relay>(options);
        if (runObserver)
            relay->setFrameRunObserver(runObserver);
        return relay->listen() && rawHandshake(client, relay->port(), &toClient) && upstreamSocket;
    }
    // What the upstream received after its request.
    QByteArray upstreamFrames() {
        const QByteArray &bytes = upstream.received[upstreamSocket];
        return bytes.mid(bytes.indexOf("\r\n\r\n") + 4);
    }
    bool waitUpstream(qsizetype size) {
        return QTest::qWaitFor([&] { return upstreamFrames().size() >= size; }, 10000);
    }
    // Written by the client in pieces of 1, 7, then 64 KiB bytes, each handed to the
    // kernel at once.
    void write(const QByteArray &bytes) { write(client, bytes); }
    // The same, by `socket` (the client, or the upstream's end).
    static void write(QTcpSocket &socket, const QByteArray &bytes) {
        qsizetype at = 0;
        for (const qsizetype size : {qsizetype(1), qsizetype(7)}) {
            if (at < bytes.size()) {
                socket.write(bytes.mid(at, size));
                socket.flush();
                at += size;
            }
        }
        for (; at < bytes.size(); at += 64 * 1024) {
            socket.write(bytes.mid(at, 64 * 1024));
            socket.flush();
        }
    }
};

// The whole frames at the start of `bytes`.
QList<WireFrame> wholeFrames(QByteArray bytes) {
    QList<WireFrame> frames;
    while (const std::optional<WireFrame> frame = parseFrame(bytes)) {
        frames.append(*frame);
        bytes.remove(0, frame->wireSize);
    }
    return frames;
}

void TestRelay::runsArriveWholeBehindASlowReader_data() {
    QTest::addColumn<bool>("toServer");
    QTest::addColumn<bool>("observed");
    for (const bool toServer : {true, false}) {
        const char *way = toServer ? "to the server" : "to the client";
        QTest::addRow("%s", way) << toServer << false;
        QTest::addRow("%s, observed", way) << toServer << true;
    }
}

void TestRelay::runsArriveWholeBehindASlowReader() {
    // Runs of small frames leave from the buffer they were read into (masked afresh
    // toward the server). Behind a reader that has stopped, the kernel takes part of
    // a run and the next reads reuse that buffer: whatever waits must have been
    // copied by then. More small frames than the kernel's buffers hold (here about
    // 4 MiB toward a reader that takes nothing), held up and then let go, arrive as
    // sent.
    QFETCH(bool, toServer);
    QFETCH(bool, observed);
    RawRelayed relayed;
    relayed.observed = observed;
    QVERIFY(relayed.open());
    QTcpSocket &sender = toServer ? relayed.client : *relayed.upstreamSocket;
    QTcpSocket &reader = toServer ? *relayed.upstreamSocket : relayed.client;
    reader.setReadBufferSize(4096); // QTcpSocket stops taking from the kernel
    constexpr int Frames = 80000;
    QByteArray wire;
    QList<QByteArray> payloads;
    payloads.reserve(Frames);
    for (int i = 0; i < Frames; ++i) {
        // Mostly up to 125 bytes, every eighth up to 4 KiB: about 24 MB in all.
        QByteArray payload = ws::test::pattern(i % 8 == 0 ? i * 37 % 4000 : i % 126);
        if (!payload.isEmpty())
            payload[0] = char(i); // each frame its own
        wire += toServer ? maskedFrame(0x82, payload, quint32(i) * 0x9e3779b9u)
                         : serverFrame(0x82, payload);
        payloads.append(payload);
    }
    RawRelayed::write(sender, wire);
    // The relay reads on until its queue toward the reader is full, and then holds.
    QTest::qWait(300);
    reader.setReadBufferSize(0);
    // Counted as it comes, gathered once: the upstream's bytes follow its request.
    QByteArray arrived = relayed.toClient;
    const QByteArray &atUpstream = relayed.upstream.received[relayed.upstreamSocket];
    const qsizetype requestSize = atUpstream.indexOf("\r\n\r\n") + 4;
    const auto read = [&] {
        if (!toServer)
            arrived += reader.readAll();
        return (toServer ? atUpstream.size() - requestSize : arrived.size()) >= wire.size();
    };
    QVERIFY2(runUntil(read, 20000),
             qPrintable(QStringLiteral("%1 of %2 bytes")
                            .arg(toServer ? atUpstream.size() - requestSize : arrived.size())
                            .arg(wire.size())));
    if (toServer)
        arrived = relayed.upstreamFrames();
    QCOMPARE(arrived.size(), wire.size());
    qsizetype at = 0;
    for (int i = 0; i < Frames; ++i) {
        const std::optional<WireFrame> frame =
            parseFrame(QByteArray::fromRawData(arrived.constData() + at, arrived.size() - at));
        QVERIFY2(frame, qPrintable(QStringLiteral("frame %1 cut").arg(i)));
        QCOMPARE(frame->firstByte, quint8(0x82));
        QCOMPARE(frame->masked, toServer);
        if (frame->payload != payloads.at(i))
            QFAIL(qPrintable(QStringLiteral("frame %1 of %2 changed").arg(i).arg(Frames)));
        at += frame->wireSize;
    }
    QCOMPARE(relayed.relay->pairCount(), 1);
}

void TestRelay::relayForwardsLargeFramesWhileTheyArrive_data() {
    QTest::addColumn<quint8>("firstByte");
    QTest::addColumn<QByteArray>("payload");
    // Binary only: text is checked whole before any of it goes (see
    // relayStopsInvalidTextInsideAFrame).
    for (const qsizetype size : {qsizetype(126), qsizetype(70000), qsizetype(1 << 20)}) {
        QTest::addRow("binary %lld", qlonglong(size)) << quint8(0x82) << ws::test::pattern(size);
        QTest::addRow("binary fragment %lld", qlonglong(size))
            << quint8(0x02) << ws::test::pattern(size);
    }
}

void TestRelay::relayForwardsLargeFramesWhileTheyArrive() {
    QFETCH(quint8, firstByte);
    QFETCH(QByteArray, payload);
    RawRelayed relayed;
    QVERIFY(relayed.open());
    const quint32 clientKey = 0x01020304;
    const QByteArray frame = maskedFrame(firstByte, payload, clientKey);
    // All but the last byte: the upstream has them all before the frame is whole.
    relayed.write(frame.left(frame.size() - 1));
    QVERIFY(relayed.waitUpstream(frame.size() - 1));
    QCOMPARE(relayed.upstreamFrames().size(), frame.size() - 1);
    relayed.client.write(frame.right(1));
    QVERIFY(relayed.waitUpstream(frame.size()));
    const QByteArray upstream = relayed.upstreamFrames();
    QCOMPARE(upstream.size(), frame.size());
    const std::optional<WireFrame> forwarded = parseFrame(upstream);
    QVERIFY(forwarded);
    QCOMPARE(forwarded->firstByte, firstByte);
    QVERIFY(forwarded->masked);
    QVERIFY(forwarded->payload == payload);
    // A key of the relay's own (RFC 6455 §5.3), in the same place in the header.
    const qsizetype keyAt = frame.size() - payload.size() - 4;
    QCOMPARE(upstream.left(keyAt), frame.left(keyAt));
    QVERIFY(upstream.mid(keyAt, 4) != frame.mid(keyAt, 4));
    QCOMPARE(relayed.relay->pairCount(), 1);
}

void TestRelay::relayStopsInvalidTextInsideAFrame_data() {
    QTest::addColumn<bool>("fromClient");
    QTest::newRow("from the client") << true;
    QTest::newRow("from the server") << false;
}

void TestRelay::relayStopsInvalidTextInsideAFrame() {
    // Invalid UTF-8 deep inside a large text frame arriving over many reads: its
    // sender hears 1007 (RFC 6455 §8.1), and since text is checked whole before any
    // of it goes, the other side has nothing of that frame, only the valid message
    // before it and a clean close, 1011 (RFC 6455 §7.4.1).
    QFETCH(bool, fromClient);
    RawRelayed relayed;
    QVERIFY(relayed.open());
    QByteArray payload = ws::test::utf8Pattern(70000);
    payload[40000] = char(0xff);
    const auto textFrame = [&](const QByteArray &bytes) {
        return fromClient ? maskedFrame(0x81, bytes, 0x01020304) : serverFrame(0x81, bytes);
    };
    QTcpSocket &sender = fromClient ? relayed.client : *relayed.upstreamSocket;
    QByteArray atClient = relayed.toClient;
    const auto framesAt = [&](bool client) {
        if (!client)
            return wholeFrames(relayed.upstreamFrames());
        atClient += relayed.client.readAll();
        return wholeFrames(atClient);
    };
    const QByteArray before = textFrame("valid");
    relayed.write(sender, before);
    QVERIFY(QTest::qWaitFor([&] { return framesAt(!fromClient).size() == 1; }, 10000));
    const QByteArray frame = textFrame(payload);
    const qsizetype header = frame.size() - payload.size();
    relayed.write(sender, frame.left(header + 30000));
    relayed.write(sender, frame.mid(header + 30000));

    QList<WireFrame> toSender;
    QVERIFY(QTest::qWaitFor([&] { return !(toSender = framesAt(fromClient)).isEmpty(); }, 10000));
    QCOMPARE(toSender.size(), 1);
    QCOMPARE(toSender.at(0).opcode(), quint8(0x8));
    QCOMPARE(toSender.at(0).masked, !fromClient); // RFC 6455 §5.1: toward the server
    QCOMPARE(toSender.at(0).payload.left(2), QByteArray::fromHex("03ef"));

    QList<WireFrame> toOther;
    QVERIFY(QTest::qWaitFor([&] { return (toOther = framesAt(!fromClient)).size() == 2; }, 10000));
    QCOMPARE(toOther.at(0).firstByte, quint8(0x81));
    QCOMPARE(toOther.at(0).payload, QByteArray("valid"));
    QCOMPARE(toOther.at(1).opcode(), quint8(0x8));
    QCOMPARE(toOther.at(1).masked, fromClient);
    QCOMPARE(toOther.at(1).payload.left(2), QByteArray::fromHex("03f3"));
    // Nothing else: not a byte of the invalid frame.
    const QByteArray otherBytes = fromClient ? relayed.upstreamFrames() : atClient;
    QCOMPARE(otherBytes.size(), toOther.at(0).wireSize + toOther.at(1).wireSize);
}

void TestRelay::relayRefusesOversizeBeforeForwarding() {
    // RFC 6455 §7.4.1: a frame over the limit is refused from its header (1009), before
    // any of it goes; the upstream hears 1011.
    RelayOptions options;
    options.session.maxMessageSize = 65536;
    RawRelayed relayed;
    QVERIFY(relayed.open(options));
    relayed.write(maskedFrame(0x82, ws::test::pattern(70000), 0x01020304).left(20000));
    QByteArray answer = relayed.toClient;
    std::optional<WireFrame> close;
    QVERIFY(readUntil(relayed.client, answer, [&](const QByteArray &bytes) {
        return (close = parseFrame(bytes)).has_value();
    }));
    QCOMPARE(close->opcode(), quint8(0x8));
    QCOMPARE(close->payload.left(2), QByteArray::fromHex("03f1"));
    std::optional<WireFrame> upstreamClose;
    QVERIFY(QTest::qWaitFor(
        [&] { return (upstreamClose = parseFrame(relayed.upstreamFrames())).has_value(); }, 10000));
    QCOMPARE(upstreamClose->opcode(), quint8(0x8));
    QCOMPARE(upstreamClose->payload.left(2), QByteArray::fromHex("03f3"));
    QCOMPARE(relayed.upstreamFrames().size(), upstreamClose->wireSize);
}

void TestRelay::relayKeepsFragmentsAndControlsInOrder_data() {
    QTest::addColumn<quint8>("opcode");
    QTest::newRow("text") << quint8(0x01);
    QTest::newRow("binary") << quint8(0x02);
}

void TestRelay::relayKeepsFragmentsAndControlsInOrder() {
    // RFC 6455 §5.4: control frames between the fragments of a message keep their
    // place, whether the first fragment goes in pieces (binary) or whole (text).
    QFETCH(quint8, opcode);
    RawRelayed relayed;
    QVERIFY(relayed.open());
    const quint32 key = 0x0a0b0c0d;
    const QByteArray first = ws::test::utf8Pattern(70000);
    const QByteArray second = ws::test::utf8Pattern(3000);
    const QByteArray firstFrame = maskedFrame(opcode, first, key);
    relayed.write(firstFrame.left(40000));
    if (opcode == 0x02)
        QVERIFY(relayed.waitUpstream(40000));
    relayed.write(firstFrame.mid(40000) + maskedFrame(0x89, "p", key) +
                  maskedFrame(0x00, second.left(1000), key) + maskedFrame(0x8a, "q", key) +
                  maskedFrame(0x80, second.mid(1000), key));
    QList<WireFrame> frames;
    QVERIFY(QTest::qWaitFor(
        [&] { return (frames = wholeFrames(relayed.upstreamFrames())).size() == 5; }, 10000));
    QList<quint8> firstBytes;
    for (const WireFrame &frame : std::as_const(frames)) {
        QVERIFY(frame.masked);
        firstBytes.append(frame.firstByte);
    }
    QCOMPARE(firstBytes, QList<quint8>({opcode, 0x89, 0x00, 0x8a, 0x80}));
    QVERIFY(frames.at(0).payload == first);
    QCOMPARE(frames.at(1).payload, QByteArray("p"));
    QVERIFY(frames.at(2).payload + frames.at(4).payload == second);
}

void TestRelay::watchedFramesLeaveBeforeTheLoopTurns() {
    // A watched pair writes the frames of one read to the other leg once that read's
    // events are reported, before the event loop runs what was posted meanwhile: no
    // frame waits a turn of the loop in the relay.
    RawRelayed relayed;
    relayed.observed = true;
    QVERIFY(relayed.open());
    QStringList order;
    relayed.relay->setLegEventObserver([&](quint64, RelayLegKind leg, const SessionEvent &event) {
        const auto *frame = std::get_if<FrameEvent>(&event);
        if (!frame || !isData(frame->frame.header.op()))
            return;
        if (leg == RelayLegKind::Client && frame->direction == Direction::Incoming) {
            order.append(QStringLiteral("in"));
            QMetaObject::invokeMethod(
                relayed.relay.get(), [&] { order.append(QStringLiteral("posted")); },
                Qt::QueuedConnection);
        } else if (leg == RelayLegKind::Server && frame->direction == Direction::Outgoing) {
            order.append(QStringLiteral("out"));
        }
    });
    relayed.client.write(maskedFrame(0x82, "abc", SampleMaskKey) +
                         maskedFrame(0x82, "defg", SampleMaskKey));
    relayed.client.flush();
    QVERIFY(relayed.waitUpstream(2 * 6 + 3 + 4));
    QTRY_COMPARE(order.count(QStringLiteral("posted")), 2);
    QCOMPARE(order.count(QStringLiteral("out")), 2);
    QVERIFY2(order.lastIndexOf(QStringLiteral("out")) < order.indexOf(QStringLiteral("posted")),
             qPrintable(order.join(u' ')));
    const QList<WireFrame> frames = wholeFrames(relayed.upstreamFrames());
    QCOMPARE(frames.size(), 2);
    QCOMPARE(frames.at(0).payload, QByteArray("abc"));
    QCOMPARE(frames.at(1).payload, QByteArray("defg"));
}

void TestRelay::legEventObserverHearsEachEventFirst() {
    RawRelayed relayed;
    relayed.observed = true;
    QVERIFY(relayed.open());
    // For each call: how many the other had had.
    QList<qsizetype> observerAfter;
    QList<qsizetype> signalAfter;
    relayed.relay->setLegEventObserver([&](quint64, RelayLegKind, const SessionEvent &) {
        observerAfter.append(signalAfter.size());
    });
    connect(relayed.relay.get(), &Relay::legEvent, relayed.relay.get(),
            [&] { signalAfter.append(observerAfter.size()); });
    relayed.client.write(maskedFrame(0x81, "one", SampleMaskKey) +
                         maskedFrame(0x89, "ping", SampleMaskKey));
    relayed.client.flush();
    QVERIFY(relayed.waitUpstream(2 * 6 + 3 + 4));

    // Every event heard by both, the observer each time just before the signal.
    QVERIFY(!observerAfter.isEmpty());
    QCOMPARE(observerAfter.size(), signalAfter.size());
    for (qsizetype i = 0; i < observerAfter.size(); ++i) {
        QCOMPARE(observerAfter[i], i);
        QCOMPARE(signalAfter[i], i + 1);
    }

    // Taken away, the observer hears nothing more; the signal goes on.
    relayed.relay->setLegEventObserver({});
    const qsizetype heard = observerAfter.size();
    relayed.client.write(maskedFrame(0x82, "two", SampleMaskKey));
    relayed.client.flush();
    QVERIFY(relayed.waitUpstream(3 * 6 + 3 + 4 + 3));
    QTRY_VERIFY(signalAfter.size() > heard);
    QCOMPARE(observerAfter.size(), heard);
}

// A relay whose pairs tell a run observer, with 1 ms of latency toward the server when
// `staged`. `runs` holds what the observer heard; `events` the data frames and messages
// heard as events ("client frame in X", "server message X"), X the payload as
// `describe` tells it.
struct ObservedRelay {
    RawRelayed relayed;
    QList<RelayedRun> runs;
    QStringList events;

    bool open(bool staged, std::function<QString(const QByteArray &)> describe) {
        relayed.observed = true;
        relayed.runObserver = [this](quint64, const RelayedRun &run) { runs.append(run); };
        if (!relayed.open())
            return false;
        if (staged) {
            RelayDirectionFaults faults;
            faults.latencyMs = 1;
            relayed.relay->setFaults(RelayLegKind::Server, faults);
        }
        relayed.relay->setLegEventObserver([this, describe = std::move(describe)](
                                               quint64, RelayLegKind leg,
                                               const SessionEvent &event) {
            const auto side = QLatin1StringView(leg == RelayLegKind::Client ? "client" : "server");
            if (const auto *frame = std::get_if<FrameEvent>(&event))
                events << QStringLiteral("%1 frame %2 %3")
                              .arg(side,
                                   QLatin1StringView(
                                       frame->direction == Direction::Incoming ? "in" : "out"),
                                   describe(frame->frame.payload));
            else if (const auto *message = std::get_if<MessageEvent>(&event))
                events
                    << QStringLiteral("%1 message %2").arg(side, describe(message->message.data));
        });
        return true;
    }
};

void TestRelay::frameRunObserverHearsWholeMessagesInsteadOfEvents_data() {
    QTest::addColumn<bool>("staged");
    QTest::newRow("runs") << false;
    QTest::newRow("latency toward the server: events") << true;
}

void TestRelay::frameRunObserverHearsWholeMessagesInsteadOfEvents() {
    // With a run observer, whole single-frame messages go on in runs that the observer
    // hears (as received and as sent) instead of frame and message events; a ping and
    // a fragmented message are events as before. A staged direction has events only.
    QFETCH(bool, staged);
    ObservedRelay observed;
    QVERIFY(observed.open(staged,
                          [](const QByteArray &payload) { return QString::fromLatin1(payload); }));
    RawRelayed &relayed = observed.relayed;
    const QList<RelayedRun> &runs = observed.runs;
    const QStringList &events = observed.events;
    const QByteArray wholes = maskedFrame(0x81, "one", 0x01020304) +
                              maskedFrame(0x82, QByteArray(200, 't'), 0x05060708) +
                              maskedFrame(0x81, "three", 0x090a0b0c);
    const QByteArray rest = maskedFrame(0x89, "p", 0x0d0e0f10) +
                            maskedFrame(0x01, "fo", 0x11121314) +
                            maskedFrame(0x80, "ur", 0x15161718);
    relayed.client.write(wholes + rest);
    relayed.client.flush();
    // Staged, the fragmented message goes whole, as one frame.
    const qsizetype frames = staged ? 5 : 6;
    QTRY_COMPARE_WITH_TIMEOUT(wholeFrames(relayed.upstreamFrames()).size(), frames, 10000);
    const QList<WireFrame> upstream = wholeFrames(relayed.upstreamFrames());
    QCOMPARE(upstream.at(1).payload, QByteArray(200, 't'));
    QCOMPARE(upstream.last().payload, QByteArray(staged ? "four" : "ur"));

    // From the server: two whole messages, unmasked.
    const QByteArray fromServer = serverFrame(0x82, "back") + serverFrame(0x81, "again");
    relayed.upstreamSocket->write(fromServer);
    relayed.upstreamSocket->flush();
    QTRY_COMPARE_WITH_TIMEOUT(relayed.client.bytesAvailable(), fromServer.size(), 10000);
    QCOMPARE(relayed.client.readAll(), fromServer);

    QByteArray receivedFromClient;
    QByteArray sentToServer;
    QByteArray receivedFromServer;
    for (const RelayedRun &run : std::as_const(runs)) {
        QVERIFY(run.readUs > 0);
        QVERIFY(run.writtenUs >= run.readUs);
        QCOMPARE(run.sent.size(), run.received.size());
        if (run.from == RelayLegKind::Client) {
            receivedFromClient += run.received;
            sentToServer += run.sent;
        } else {
            receivedFromServer += run.received;
            QCOMPARE(run.sent, run.received); // the client leg sends unmasked
        }
    }
    if (staged) {
        QCOMPARE(receivedFromClient, QByteArray());
        QVERIFY2(events.contains(QStringLiteral("client message one")),
                 qPrintable(events.join(u'|')));
        QVERIFY(events.contains(QStringLiteral("server frame out three")));
    } else {
        QCOMPARE(receivedFromClient, wholes);
        // Re-masked with the relay's keys (RFC 6455 §5.3): the bytes the upstream got.
        QCOMPARE(sentToServer, relayed.upstreamFrames().left(wholes.size()));
        QVERIFY(sentToServer != wholes);
        for (const QString &payload : {QStringLiteral("one"), QStringLiteral("three")}) {
            QVERIFY2(!events.contains(QStringLiteral("client frame in %1").arg(payload)),
                     qPrintable(events.join(u'|')));
            QVERIFY(!events.contains(QStringLiteral("client message %1").arg(payload)));
            QVERIFY(!events.contains(QStringLiteral("server frame out %1").arg(payload)));
        }
    }
    // Whatever the staging, the server's two messages came as a run (the client leg
    // is not staged), and the rest as events.
    QCOMPARE(receivedFromServer, fromServer);
    QVERIFY(!events.contains(QStringLiteral("server message back")));
    QVERIFY(events.contains(QStringLiteral("client frame in fo")));
    QVERIFY(events.contains(QStringLiteral("client message four")));
    QVERIFY(events.contains(staged ? QStringLiteral("server frame out four")
                                   : QStringLiteral("server frame out ur")));
}

void TestRelay::frameRunObserverHearsLargeMessagesInPieces_data() {
    QTest::addColumn<bool>("staged");
    QTest::newRow("plain") << false;
    QTest::newRow("latency toward the server") << true;
}

void TestRelay::frameRunObserverHearsLargeMessagesInPieces() {
    // With a run observer, a large single-frame binary message goes on piece by piece
    // as it arrives, and the observer hears it once whole (its headers either side and
    // its payload) instead of frame and message events. A message injected meanwhile
    // waits for its last piece (RFC 6455 §5.4). A staged direction has events only.
    QFETCH(bool, staged);
    ObservedRelay observed;
    QVERIFY(observed.open(
        staged, [](const QByteArray &payload) { return QString::number(payload.size()); }));
    RawRelayed &relayed = observed.relayed;
    const QList<RelayedRun> &runs = observed.runs;
    const QStringList &events = observed.events;
    QByteArray up(300000, Qt::Uninitialized);
    for (qsizetype i = 0; i < up.size(); ++i)
        up[i] = char(i * 7 + i / 251);
    const quint32 key = 0x0a1b2c3d;
    const QByteArray frame = maskedFrame(0x82, up, key);
    // Half of it; once some has reached the upstream, an injected message; the rest.
    const qsizetype half = frame.size() / 2;
    relayed.client.write(frame.left(half));
    relayed.client.flush();
    if (!staged)
        QVERIFY(relayed.waitUpstream(1000));
    QVERIFY(relayed.relay->inject(1, RelayLegKind::Server, Opcode::Text, "injected"));
    relayed.client.write(frame.mid(half));
    relayed.client.flush();
    QTRY_COMPARE_WITH_TIMEOUT(wholeFrames(relayed.upstreamFrames()).size(), 2, 10000);
    const QList<WireFrame> upstream = wholeFrames(relayed.upstreamFrames());
    // Staged, the injected message went at once, before the message was whole.
    const WireFrame &large = upstream.at(staged ? 1 : 0);
    QCOMPARE(large.payload.size(), up.size());
    QVERIFY(large.payload == up);
    QVERIFY(large.masked);
    QCOMPARE(upstream.at(staged ? 0 : 1).payload, QByteArray("injected"));

    // From the server, unmasked, in two writes.
    QByteArray down(200000, Qt::Uninitialized);
    for (qsizetype i = 0; i < down.size(); ++i)
        down[i] = char(i * 13 + i / 509);
    const QByteArray fromServer = serverFrame(0x82, down);
    relayed.upstreamSocket->write(fromServer.left(fromServer.size() / 2));
    relayed.upstreamSocket->flush();
    QTRY_VERIFY_WITH_TIMEOUT(relayed.client.bytesAvailable() > 1000, 10000);
    relayed.upstreamSocket->write(fromServer.mid(fromServer.size() / 2));
    relayed.upstreamSocket->flush();
    QTRY_COMPARE_WITH_TIMEOUT(relayed.client.bytesAvailable(), fromServer.size(), 10000);
    QVERIFY(relayed.client.readAll() == fromServer);

    QList<RelayedRun> inPieces;
    for (const RelayedRun &run : std::as_const(runs)) {
        if (!run.inPieces)
            continue;
        QVERIFY(run.received.isEmpty() && run.sent.isEmpty());
        QVERIFY(run.readUs > 0);
        QVERIFY(run.writtenUs >= run.readUs);
        inPieces.append(run);
    }
    QCOMPARE(inPieces.size(), staged ? 1 : 2);
    if (!staged) {
        const RelayedRun &run = inPieces.first();
        QCOMPARE(run.from, RelayLegKind::Client);
        QCOMPARE(run.receivedHeader.payloadLength, quint64(up.size()));
        QCOMPARE(run.receivedHeader.maskingKey, std::optional<quint32>(key));
        // Re-masked with the relay's key (RFC 6455 §5.3): the key the upstream got,
        // after a 64-bit length.
        const QByteArray wire = relayed.upstreamFrames();
        QCOMPARE(run.sentHeader.maskingKey,
                 std::optional<quint32>(qFromBigEndian<quint32>(wire.constData() + 10)));
        QVERIFY(run.sentHeader.maskingKey != run.receivedHeader.maskingKey);
        QVERIFY(run.payload == up);
        QVERIFY2(!events.contains(QStringLiteral("client message 300000")),
                 qPrintable(events.join(u'|')));
        QVERIFY(!events.contains(QStringLiteral("client frame in 300000")));
        QVERIFY(!events.contains(QStringLiteral("server frame out 300000")));
    } else {
        QVERIFY2(events.contains(QStringLiteral("client message 300000")),
                 qPrintable(events.join(u'|')));
        QVERIFY(events.contains(QStringLiteral("server frame out 300000")));
    }
    // Whatever the staging, the server's message went in pieces (the client leg is
    // not staged).
    const RelayedRun &back = inPieces.last();
    QCOMPARE(back.from, RelayLegKind::Server);
    QCOMPARE(back.receivedHeader.maskingKey, std::nullopt);
    QCOMPARE(back.sentHeader.maskingKey, std::nullopt);
    QCOMPARE(back.sentHeader.payloadLength, quint64(down.size()));
    QVERIFY(back.payload == down);
    QVERIFY(!events.contains(QStringLiteral("server message 200000")));
    QVERIFY(!events.contains(QStringLiteral("client frame out 200000")));
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
    // The paused client leg's socket is readable all along, and nobody reads it: the
    // loop must stop being woken for it (a spinning loop passes tens of thousands
    // of times in this while, a quiet one a few dozen).
    int passes = 0;
    const QMetaObject::Connection counting = connect(
        QAbstractEventDispatcher::instance(), &QAbstractEventDispatcher::awake, [&] { ++passes; });
    QTest::qWait(300);
    disconnect(counting);
    QVERIFY2(passes < 1000, qPrintable(QStringLiteral("%1 passes of the loop").arg(passes)));
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

WSW_TEST_MAIN(TestRelay, QTEST_MAIN)
#include "tst_relay.moc"

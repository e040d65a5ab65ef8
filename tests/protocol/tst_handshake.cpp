#include "protocol/handshake.h"
#include "protocoltestsupport.h"

#include <QByteArray>
#include <QRandomGenerator>
#include <QSet>
#include <QTest>

using namespace ws;
using namespace ws::test;

Q_DECLARE_METATYPE(ws::ClientHandshake::Status)
Q_DECLARE_METATYPE(ws::ServerHandshake::Status)
Q_DECLARE_METATYPE(ws::ClientHandshakeOptions)
Q_DECLARE_METATYPE(ws::HandshakeLimits)

namespace {

using Extensions = QList<ExtensionParams>;

// RFC 6455 §5.7: "Hello", unmasked (from a server) and masked (from a client).
const QByteArray kServerHello = QByteArray::fromHex("810548656c6c6f");
const QByteArray kClientHello = QByteArray::fromHex("818537fa213d7f9f4d5158");

ExtensionParams deflateOffer() {
    return ExtensionParams{"permessage-deflate", {{"client_max_window_bits", std::nullopt}}};
}

// A 101 for the sample key with the given extra lines.
QByteArray sample101(const QByteArray &extraLines = {}) {
    return "HTTP/1.1 101 Switching Protocols\r\n"
           "Upgrade: websocket\r\n"
           "Connection: Upgrade\r\n"
           "Sec-WebSocket-Accept: " +
           kSampleAccept + "\r\n" + extraLines + "\r\n";
}

// A request for the sample key: `lines` replace the defaults given by name.
QByteArray upgradeRequest(const QByteArray &extraLines = {}) {
    return "GET /chat HTTP/1.1\r\n"
           "Host: server.example.com\r\n"
           "Upgrade: websocket\r\n"
           "Connection: Upgrade\r\n"
           "Sec-WebSocket-Key: " +
           kSampleKey +
           "\r\n"
           "Sec-WebSocket-Version: 13\r\n" +
           extraLines + "\r\n";
}

// What a client handshake ended with, to compare runs with different splits.
struct ClientOutcome {
    ClientHandshake::Status status = ClientHandshake::Status::NeedMore;
    ClientHandshake::Status statusBeforeEof = ClientHandshake::Status::NeedMore;
    QString error;
    int statusCode = 0;
    QByteArray body;
    QByteArray raw;
    QByteArray leftover;
    QByteArray subprotocol;
    QByteArray extensions;
    qsizetype maxBuffered = 0;   // the most held at any step: differs with the split
    qsizetype decidedAfter = -1; // bytes fed when the status left NeedMore

    bool sameResult(const ClientOutcome &other) const {
        return status == other.status && statusBeforeEof == other.statusBeforeEof &&
               error == other.error && statusCode == other.statusCode && body == other.body &&
               raw == other.raw && leftover == other.leftover && subprotocol == other.subprotocol &&
               extensions == other.extensions;
    }
};

ClientOutcome runClient(const ClientHandshakeOptions &options, const QList<QByteArray> &pieces,
                        bool eof) {
    ClientHandshake handshake(options, kSampleKey);
    ClientOutcome outcome;
    qsizetype fed = 0;
    for (const QByteArray &piece : pieces) {
        handshake.feed(piece);
        fed += piece.size();
        if (outcome.decidedAfter < 0 && handshake.status() != ClientHandshake::Status::NeedMore)
            outcome.decidedAfter = fed;
        // The peer's bytes held stay within the limits at every step.
        outcome.maxBuffered = qMax(outcome.maxBuffered, handshake.bufferedBytes());
    }
    outcome.statusBeforeEof = handshake.status();
    if (eof)
        handshake.feedEof();
    outcome.status = handshake.status();
    outcome.error = handshake.errorString();
    outcome.statusCode = handshake.statusCode();
    outcome.body = handshake.responseBody();
    outcome.raw = handshake.rawResponse();
    outcome.leftover = handshake.takeLeftover();
    outcome.subprotocol = handshake.subprotocol();
    outcome.extensions = formatExtensions(handshake.acceptedExtensions());
    return outcome;
}

struct ServerOutcome {
    ServerHandshake::Status status = ServerHandshake::Status::NeedMore;
    int failureStatus = 0;
    QString error;
    QByteArray method;
    QByteArray target;
    QByteArray raw;
    QByteArray leftover;
    qsizetype maxBuffered = 0; // the most held at any step: differs with the split

    bool sameResult(const ServerOutcome &other) const {
        return status == other.status && failureStatus == other.failureStatus &&
               error == other.error && method == other.method && target == other.target &&
               raw == other.raw && leftover == other.leftover;
    }
};

ServerOutcome runServer(const HandshakeLimits &limits, const QList<QByteArray> &pieces) {
    ServerHandshake handshake(limits);
    ServerOutcome outcome;
    for (const QByteArray &piece : pieces) {
        handshake.feed(piece);
        outcome.maxBuffered = qMax(outcome.maxBuffered, handshake.bufferedBytes());
    }
    outcome.status = handshake.status();
    outcome.failureStatus = handshake.failureStatus();
    outcome.error = handshake.errorString();
    outcome.method = handshake.request().method;
    outcome.target = handshake.request().target;
    outcome.raw = handshake.rawRequest();
    outcome.leftover = handshake.takeLeftover();
    return outcome;
}

const char *name(ClientHandshake::Status status) {
    switch (status) {
    case ClientHandshake::Status::NeedMore:
        return "NeedMore";
    case ClientHandshake::Status::Accepted:
        return "Accepted";
    case ClientHandshake::Status::Failed:
        return "Failed";
    }
    return "?";
}

const char *name(ServerHandshake::Status status) {
    switch (status) {
    case ServerHandshake::Status::NeedMore:
        return "NeedMore";
    case ServerHandshake::Status::Upgrade:
        return "Upgrade";
    case ServerHandshake::Status::PlainHttp:
        return "PlainHttp";
    case ServerHandshake::Status::Failed:
        return "Failed";
    }
    return "?";
}

} // namespace

class TestHandshake : public QObject {
    Q_OBJECT

private slots:
    void acceptKey_data();
    void acceptKey();
    void clientKeysAreFreshAndRandom();

    void clientRequest_data();
    void clientRequest();
    void clientAccepts_data();
    void clientAccepts();
    void clientFails_data();
    void clientFails();
    void clientDoesNotBufferPastTheLimits();
    void clientKeepsBytesFedAfterTheUpgrade();

    void serverAccepts_data();
    void serverAccepts();
    void serverSampleAnswer();
    void serverAcceptResponse();
    void serverOutcomes_data();
    void serverOutcomes();
    void serverFailureResponses_data();
    void serverFailureResponses();
    void serverDoesNotBufferPastTheLimit();
    void serverKeepsBytesFedAfterTheRequest();
    void httpResponse();

    void clientTalksToServer();
};

// ---------------------------------------------------------------------------

void TestHandshake::acceptKey_data() {
    QTest::addColumn<QByteArray>("key");
    QTest::addColumn<QByteArray>("accept");
    QTest::newRow("RFC 6455 §1.3") << kSampleKey << kSampleAccept;
    QTest::newRow("second sample")
        << QByteArray("f7cb4ezEAl6C3wRaU6JORA==") << QByteArray("rE91AJhfC+6JdVcVXOGJEADEJdQ=");
}

void TestHandshake::acceptKey() {
    QFETCH(QByteArray, key);
    QFETCH(QByteArray, accept);
    QCOMPARE(computeAcceptKey(key), accept);
}

void TestHandshake::clientKeysAreFreshAndRandom() {
    QSet<QByteArray> seen;
    QSet<QByteArray> decodedSeen;
    for (int i = 0; i < 200; ++i) {
        const QByteArray key = generateClientKey();
        QCOMPARE(key.size(), 24);
        const auto decoded =
            QByteArray::fromBase64Encoding(key, QByteArray::AbortOnBase64DecodingErrors);
        QVERIFY(decoded);
        QCOMPARE(decoded.decoded.size(), 16);
        seen.insert(key);
        decodedSeen.insert(decoded.decoded);
    }
    QCOMPARE(seen.size(), 200);

    // Each handshake without an injected key gets its own.
    ClientHandshake first(sampleOptions());
    ClientHandshake second(sampleOptions());
    QCOMPARE(first.key().size(), 24);
    QVERIFY(first.key() != second.key());
    QVERIFY(first.request().contains("Sec-WebSocket-Key: " + first.key() + "\r\n"));
}

void TestHandshake::clientRequest_data() {
    QTest::addColumn<ClientHandshakeOptions>("options");
    QTest::addColumn<QByteArray>("request");

    QTest::newRow("RFC 6455 §1.2") << sampleOptions() << kSampleRequest;

    const QByteArray minimalTail = "Upgrade: websocket\r\n"
                                   "Connection: Upgrade\r\n"
                                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                   "Sec-WebSocket-Version: 13\r\n";
    ClientHandshakeOptions options;
    options.host = "example.com";
    QTest::newRow("ws, port 80 left out")
        << options << "GET / HTTP/1.1\r\nHost: example.com\r\n" + minimalTail + "\r\n";
    options.port = 8080;
    options.resourceName = "/echo?room=1&x=%20";
    QTest::newRow("ws, port 8080, query")
        << options
        << "GET /echo?room=1&x=%20 HTTP/1.1\r\nHost: example.com:8080\r\n" + minimalTail + "\r\n";
    options.port = 443;
    options.resourceName = "";
    QTest::newRow("ws, port 443 kept, empty resource becomes /")
        << options << "GET / HTTP/1.1\r\nHost: example.com:443\r\n" + minimalTail + "\r\n";
    options.secure = true;
    QTest::newRow("wss, port 443 left out")
        << options << "GET / HTTP/1.1\r\nHost: example.com\r\n" + minimalTail + "\r\n";
    options.port = 80;
    QTest::newRow("wss, port 80 kept")
        << options << "GET / HTTP/1.1\r\nHost: example.com:80\r\n" + minimalTail + "\r\n";

    ClientHandshakeOptions ipv6;
    ipv6.host = "[::1]";
    ipv6.port = 9001;
    QTest::newRow("IPv6 in brackets")
        << ipv6 << "GET / HTTP/1.1\r\nHost: [::1]:9001\r\n" + minimalTail + "\r\n";

    ClientHandshakeOptions full;
    full.host = "127.0.0.1";
    full.port = 9001;
    full.resourceName = "/runCase?case=1&agent=wsw";
    full.origin = "http://127.0.0.1:9001";
    full.subprotocols = {"v2.chat", "v1.chat"};
    full.extensions = {ExtensionParams{"permessage-deflate",
                                       {{"client_max_window_bits", std::nullopt},
                                        {"server_max_window_bits", QByteArray("10")}}},
                       ExtensionParams{"permessage-deflate", {}}};
    full.extraHeaders.add("Authorization", "Bearer abc");
    full.extraHeaders.add("X-Trace", "1");
    full.extraHeaders.add("X-Trace", "2");
    QTest::newRow("everything")
        << full
        << QByteArray("GET /runCase?case=1&agent=wsw HTTP/1.1\r\n"
                      "Host: 127.0.0.1:9001\r\n" +
                      minimalTail +
                      "Origin: http://127.0.0.1:9001\r\n"
                      "Sec-WebSocket-Protocol: v2.chat, v1.chat\r\n"
                      "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits; "
                      "server_max_window_bits=10, permessage-deflate\r\n"
                      "Authorization: Bearer abc\r\n"
                      "X-Trace: 1\r\n"
                      "X-Trace: 2\r\n"
                      "\r\n");

    // A Host or Origin among the extra headers takes the place of ours: one of each.
    ClientHandshakeOptions replaced;
    replaced.host = "127.0.0.1";
    replaced.port = 9001;
    replaced.origin = "http://127.0.0.1:9001";
    replaced.extraHeaders.add("X-Trace", "1");
    replaced.extraHeaders.add("origin", "http://example.test");
    replaced.extraHeaders.add("Host", "example.test");
    QTest::newRow("Host and Origin replaced") << replaced
                                              << QByteArray("GET / HTTP/1.1\r\n"
                                                            "Host: example.test\r\n" +
                                                            minimalTail +
                                                            "origin: http://example.test\r\n"
                                                            "X-Trace: 1\r\n"
                                                            "\r\n");
}

void TestHandshake::clientRequest() {
    QFETCH(ClientHandshakeOptions, options);
    QFETCH(QByteArray, request);
    ClientHandshake handshake(options, kSampleKey);
    QCOMPARE(handshake.key(), kSampleKey);
    QCOMPARE(handshake.request(), request);
    QCOMPARE(handshake.status(), ClientHandshake::Status::NeedMore);
}

void TestHandshake::clientAccepts_data() {
    QTest::addColumn<ClientHandshakeOptions>("options");
    QTest::addColumn<QByteArray>("response");
    QTest::addColumn<QByteArray>("subprotocol");
    QTest::addColumn<QByteArray>("extensions");
    QTest::addColumn<QByteArray>("leftover");

    QTest::newRow("RFC 6455 §1.2")
        << sampleOptions() << kSampleResponse << QByteArray("chat") << QByteArray() << QByteArray();
    QTest::newRow("no subprotocol chosen")
        << sampleOptions() << sample101() << QByteArray() << QByteArray() << QByteArray();
    QTest::newRow("second subprotocol chosen")
        << sampleOptions() << sample101("Sec-WebSocket-Protocol: superchat\r\n")
        << QByteArray("superchat") << QByteArray() << QByteArray();
    QTest::newRow("token lists and case (RFC 6455 §4.1 items 2-3)")
        << sampleOptions()
        << QByteArray("HTTP/1.1 101 Switching Protocols\r\n"
                      "upgrade: WebSocket\r\n"
                      "CONNECTION: keep-alive, Upgrade\r\n"
                      "sec-websocket-accept: " +
                      kSampleAccept + "\r\n\r\n")
        << QByteArray() << QByteArray() << QByteArray();
    QTest::newRow("Connection split over two fields")
        << sampleOptions()
        << QByteArray("HTTP/1.1 101 Switching Protocols\r\n"
                      "Upgrade: websocket\r\n"
                      "Connection: keep-alive\r\n"
                      "Connection: upgrade\r\n"
                      "Sec-WebSocket-Accept: " +
                      kSampleAccept + "\r\n\r\n")
        << QByteArray() << QByteArray() << QByteArray();
    QTest::newRow("bare LF line ends, no reason phrase")
        << sampleOptions()
        << QByteArray("HTTP/1.1 101\nUpgrade: websocket\nConnection: Upgrade\n"
                      "Sec-WebSocket-Accept: " +
                      kSampleAccept + "\n\n")
        << QByteArray() << QByteArray() << QByteArray();
    QTest::newRow("frames in the same read as the 101")
        << sampleOptions() << kSampleResponse + kServerHello + kServerHello << QByteArray("chat")
        << QByteArray() << kServerHello + kServerHello;

    ClientHandshakeOptions withDeflate = sampleOptions();
    withDeflate.extensions = {deflateOffer()};
    QTest::newRow("offered extension accepted")
        << withDeflate
        << sample101("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
                     "client_max_window_bits=\"10\"\r\n")
        << QByteArray()
        << QByteArray("permessage-deflate; server_no_context_takeover; client_max_window_bits=10")
        << QByteArray();
    QTest::newRow("offered extension declined")
        << withDeflate << sample101() << QByteArray() << QByteArray() << QByteArray();
}

void TestHandshake::clientAccepts() {
    QFETCH(ClientHandshakeOptions, options);
    QFETCH(QByteArray, response);
    QFETCH(QByteArray, subprotocol);
    QFETCH(QByteArray, extensions);
    QFETCH(QByteArray, leftover);

    const auto allSplits = splits(response);
    const ClientOutcome whole = runClient(options, allSplits.front().second, false);
    QCOMPARE(name(whole.status), name(ClientHandshake::Status::Accepted));
    QCOMPARE(whole.error, QString());
    QCOMPARE(whole.statusCode, 101);
    QCOMPARE(whole.subprotocol, subprotocol);
    QCOMPARE(whole.extensions, extensions);
    QCOMPARE(whole.leftover, leftover);
    QCOMPARE(whole.raw, response.first(response.size() - leftover.size()));
    for (const auto &[splitName, pieces] : allSplits) {
        const ClientOutcome outcome = runClient(options, pieces, false);
        QVERIFY2(outcome.maxBuffered <= options.limits.maxHeaderBytes, qPrintable(splitName));
        // Not a byte early, and one byte at a time exactly at the end of the block.
        QVERIFY2(outcome.decidedAfter >= whole.raw.size(), qPrintable(splitName));
        if (pieces.size() == response.size())
            QCOMPARE(outcome.decidedAfter, whole.raw.size());
        QVERIFY2(outcome.status == whole.status && outcome.leftover == whole.leftover &&
                     outcome.subprotocol == whole.subprotocol &&
                     outcome.extensions == whole.extensions && outcome.raw == whole.raw,
                 qPrintable(splitName));
    }
    // The server closing the connection afterwards changes nothing.
    ClientHandshake handshake(options, kSampleKey);
    QCOMPARE(handshake.feed(response), ClientHandshake::Status::Accepted);
    QCOMPARE(handshake.feedEof(), ClientHandshake::Status::Accepted);
}

void TestHandshake::clientFails_data() {
    QTest::addColumn<ClientHandshakeOptions>("options");
    QTest::addColumn<QByteArray>("response");
    QTest::addColumn<bool>("eof"); // the server closes the connection after these bytes
    QTest::addColumn<int>("statusCode");
    QTest::addColumn<QString>("error");
    QTest::addColumn<QByteArray>("body");

    const ClientHandshakeOptions sample = sampleOptions();
    QTest::newRow("404 with a Content-Length body")
        << sample << QByteArray("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot here\n")
        << false << 404
        << QStringLiteral("the server answered 404 Not Found instead of 101 Switching Protocols")
        << QByteArray("not here\n");
    QTest::newRow("bytes after the Content-Length body are dropped")
        << sample
        << QByteArray("HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\ndenied" + kServerHello)
        << false << 403
        << QStringLiteral("the server answered 403 Forbidden instead of 101 Switching Protocols")
        << QByteArray("denied");
    QTest::newRow("Content-Length: 0 fails at once")
        << sample << QByteArray("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n") << false
        << 400
        << QStringLiteral("the server answered 400 Bad Request instead of 101 Switching Protocols")
        << QByteArray();
    QTest::newRow("body read until EOF")
        << sample << QByteArray("HTTP/1.1 500 Internal Server Error\r\n\r\nsomething broke") << true
        << 500
        << QStringLiteral("the server answered 500 Internal Server Error instead of 101 "
                          "Switching Protocols")
        << QByteArray("something broke");
    QTest::newRow("chunked body (RFC 7230 §4.1)")
        << sample
        << QByteArray("HTTP/1.1 426 Upgrade Required\r\nTransfer-Encoding: chunked\r\n"
                      "Sec-WebSocket-Version: 8\r\n\r\n"
                      "5\r\nHello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n")
        << false << 426
        << QStringLiteral("the server answered 426 Upgrade Required instead of 101 Switching "
                          "Protocols")
        << QByteArray("Hello world");
    QTest::newRow("malformed chunk ends the body")
        << sample
        << QByteArray("HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\r\nabc\r\nzz\r\nmore")
        << false << 502
        << QStringLiteral("the server answered 502 Bad Gateway instead of 101 Switching Protocols")
        << QByteArray("abc");
    QTest::newRow("204 has no body")
        << sample << QByteArray("HTTP/1.1 204 No Content\r\n\r\n") << false << 204
        << QStringLiteral("the server answered 204 No Content "
                          "instead of 101 Switching Protocols")
        << QByteArray();
    QTest::newRow("200 with no reason phrase, invalid Content-Length")
        << sample << QByteArray("HTTP/1.1 200\r\nContent-Length: 12abc\r\n\r\n<html>") << false
        << 200 << QStringLiteral("the server answered 200 instead of 101 Switching Protocols")
        << QByteArray();

    ClientHandshakeOptions smallBody = sample;
    smallBody.limits.maxBodyBytes = 8;
    QTest::newRow("body over maxBodyBytes is cut, without waiting for the rest")
        << smallBody
        << QByteArray("HTTP/1.1 404 Not Found\r\nContent-Length: 100\r\n\r\n0123456789") << false
        << 404
        << QStringLiteral("the server answered 404 Not Found instead of 101 Switching Protocols")
        << QByteArray("01234567");
    QTest::newRow("body until EOF over maxBodyBytes")
        << smallBody << QByteArray("HTTP/1.1 404 Not Found\r\n\r\n0123456789abcdef") << false << 404
        << QStringLiteral("the server answered 404 Not Found instead of 101 Switching Protocols")
        << QByteArray("01234567");
    QTest::newRow("chunked body over maxBodyBytes")
        << smallBody
        << QByteArray("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\n01234\r\n5\r\n56789\r\n")
        << false << 404
        << QStringLiteral("the server answered 404 Not Found instead of 101 Switching Protocols")
        << QByteArray("01234567");
    QTest::newRow("Content-Length body cut short by EOF")
        << sample << QByteArray("HTTP/1.1 404 Not Found\r\nContent-Length: 100\r\n\r\nshort")
        << true << 404
        << QStringLiteral("the server answered 404 Not Found instead of 101 Switching Protocols")
        << QByteArray("short");

    QTest::newRow("wrong Sec-WebSocket-Accept")
        << sample
        << QByteArray("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: xyz\r\n\r\n")
        << false << 101
        << QStringLiteral("Sec-WebSocket-Accept is 'xyz' but should be '%1' (RFC 6455 §4.1)")
               .arg(QString::fromLatin1(kSampleAccept))
        << QByteArray();
    QTest::newRow("Sec-WebSocket-Accept of another key")
        << sample
        << QByteArray("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: rE91AJhfC+6JdVcVXOGJEADEJdQ="
                      "\r\n\r\n")
        << false << 101
        << QStringLiteral("Sec-WebSocket-Accept is 'rE91AJhfC+6JdVcVXOGJEADEJdQ=' but should be "
                          "'%1' (RFC 6455 §4.1)")
               .arg(QString::fromLatin1(kSampleAccept))
        << QByteArray();
    QTest::newRow("no Sec-WebSocket-Accept")
        << sample
        << QByteArray("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\n\r\n")
        << false << 101
        << QStringLiteral("the server's 101 answer has no Sec-WebSocket-Accept header; it should "
                          "be '%1' (RFC 6455 §4.1)")
               .arg(QString::fromLatin1(kSampleAccept))
        << QByteArray();
    QTest::newRow("no Upgrade")
        << sample
        << QByteArray("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: " +
                      kSampleAccept + "\r\n\r\n")
        << false << 101
        << QStringLiteral("the server's 101 answer has no Upgrade header; it should be "
                          "'Upgrade: websocket' (RFC 6455 §4.1)")
        << QByteArray();
    QTest::newRow("Upgrade to another protocol")
        << sample
        << QByteArray("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: " +
                      kSampleAccept + "\r\n\r\n")
        << false << 101
        << QStringLiteral("Upgrade is 'h2c' but should be 'websocket' (RFC 6455 §4.1)")
        << QByteArray();
    QTest::newRow("no Connection")
        << sample
        << QByteArray("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Sec-WebSocket-Accept: " +
                      kSampleAccept + "\r\n\r\n")
        << false << 101
        << QStringLiteral("the server's 101 answer has no Connection header; it should be "
                          "'Connection: Upgrade' (RFC 6455 §4.1)")
        << QByteArray();
    QTest::newRow("Connection without Upgrade")
        << sample
        << QByteArray("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: keep-alive\r\nSec-WebSocket-Accept: " +
                      kSampleAccept + "\r\n\r\n")
        << false << 101
        << QStringLiteral("Connection is 'keep-alive' but should contain 'Upgrade' "
                          "(RFC 6455 §4.1)")
        << QByteArray();
    QTest::newRow("unoffered subprotocol")
        << sample << sample101("Sec-WebSocket-Protocol: graphql-ws\r\n") << false << 101
        << QStringLiteral("the server chose the subprotocol 'graphql-ws', but the offer was "
                          "'chat, superchat' (RFC 6455 §4.1)")
        << QByteArray();
    ClientHandshakeOptions noSubprotocols = sample;
    noSubprotocols.subprotocols.clear();
    QTest::newRow("subprotocol when none was offered")
        << noSubprotocols << sample101("Sec-WebSocket-Protocol: chat\r\n") << false << 101
        << QStringLiteral("the server chose the subprotocol 'chat', but none was offered "
                          "(RFC 6455 §4.1)")
        << QByteArray();
    QTest::newRow("two subprotocols")
        << sample << sample101("Sec-WebSocket-Protocol: chat, superchat\r\n") << false << 101
        << QStringLiteral("Sec-WebSocket-Protocol is 'chat, superchat' but should be exactly one "
                          "of the offered subprotocols (RFC 6455 §4.1)")
        << QByteArray();
    QTest::newRow("subprotocols compare case-sensitively")
        << sample << sample101("Sec-WebSocket-Protocol: Chat\r\n") << false << 101
        << QStringLiteral("the server chose the subprotocol 'Chat', but the offer was "
                          "'chat, superchat' (RFC 6455 §4.1)")
        << QByteArray();
    QTest::newRow("unoffered extension")
        << sample << sample101("Sec-WebSocket-Extensions: permessage-deflate\r\n") << false << 101
        << QStringLiteral("the server accepted the extension 'permessage-deflate', which was not "
                          "offered (RFC 6455 §4.1)")
        << QByteArray();
    ClientHandshakeOptions withDeflate = sample;
    withDeflate.extensions = {deflateOffer()};
    QTest::newRow("extension accepted twice")
        << withDeflate
        << sample101("Sec-WebSocket-Extensions: permessage-deflate\r\n"
                     "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n")
        << false << 101
        << QStringLiteral("the server accepted the extension 'permessage-deflate' more than once "
                          "(RFC 6455 §4.1)")
        << QByteArray();
    QTest::newRow("an offered and an unoffered extension")
        << withDeflate
        << sample101("Sec-WebSocket-Extensions: permessage-deflate, x-webkit-deflate-frame\r\n")
        << false << 101
        << QStringLiteral("the server accepted the extension 'x-webkit-deflate-frame', which was "
                          "not offered (RFC 6455 §4.1)")
        << QByteArray();
    QTest::newRow("malformed Sec-WebSocket-Extensions")
        << withDeflate << sample101("Sec-WebSocket-Extensions: permessage-deflate; =1\r\n") << false
        << 101
        << QStringLiteral("Sec-WebSocket-Extensions 'permessage-deflate; =1' is malformed "
                          "(RFC 6455 §9.1)")
        << QByteArray();
    QTest::newRow("101 in HTTP/1.0")
        << sample << QByteArray(sample101()).replace("HTTP/1.1", "HTTP/1.0") << false << 101
        << QStringLiteral("the server answered 101 in HTTP/1.0; a WebSocket handshake needs "
                          "HTTP/1.1 (RFC 6455 §4.1)")
        << QByteArray();

    QTest::newRow("not an HTTP answer")
        << sample << QByteArray("SSH-2.0-OpenSSH_9.2p1\r\n") << false << 0
        << QStringLiteral("the server's answer is not valid HTTP: the status line "
                          "'SSH-2.0-OpenSSH_9.2p1' is not of the form 'HTTP/1.1 101 Switching "
                          "Protocols' (RFC 7230 §3.1.2)")
        << QByteArray();
    QTest::newRow("header line without a colon")
        << sample << QByteArray("HTTP/1.1 101 Switching Protocols\r\nUpgrade websocket\r\n\r\n")
        << false << 101
        << QStringLiteral("the server's answer is not valid HTTP: the header line 'Upgrade "
                          "websocket' has no colon (RFC 7230 §3.2)")
        << QByteArray();
    ClientHandshakeOptions smallHead = sample;
    smallHead.limits.maxHeaderBytes = 64;
    QTest::newRow("header block over maxHeaderBytes")
        << smallHead << kSampleResponse << false << 101
        << QStringLiteral("the server's answer has a header block larger than 64 bytes")
        << QByteArray();
    ClientHandshakeOptions fewFields = sample;
    fewFields.limits.maxHeaderCount = 3;
    QTest::newRow("more than maxHeaderCount fields")
        << fewFields << kSampleResponse << false << 101
        << QStringLiteral("the server's answer has more than 3 header fields") << QByteArray();
    QTest::newRow("EOF without an answer")
        << sample << QByteArray() << true << 0
        << QStringLiteral("the server closed the connection without answering") << QByteArray();
    QTest::newRow("EOF inside the header block")
        << sample << kSampleResponse.first(40) << true << 101
        << QStringLiteral("the server closed the connection before the end of its answer's "
                          "header block")
        << QByteArray();
}

void TestHandshake::clientFails() {
    QFETCH(ClientHandshakeOptions, options);
    QFETCH(QByteArray, response);
    QFETCH(bool, eof);
    QFETCH(int, statusCode);
    QFETCH(QString, error);
    QFETCH(QByteArray, body);

    const auto allSplits = splits(response);
    const ClientOutcome whole = runClient(options, allSplits.front().second, eof);
    QCOMPARE(name(whole.status), name(ClientHandshake::Status::Failed));
    // Without EOF the failure must not wait for the server to hang up.
    if (!eof)
        QCOMPARE(name(whole.statusBeforeEof), name(ClientHandshake::Status::Failed));
    else
        QCOMPARE(name(whole.statusBeforeEof), name(ClientHandshake::Status::NeedMore));
    QCOMPARE(whole.error, error);
    QCOMPARE(whole.statusCode, statusCode);
    QCOMPARE(whole.body, body);
    QCOMPARE(whole.leftover, QByteArray());
    QCOMPARE(whole.subprotocol, QByteArray());
    const qsizetype bound = options.limits.maxHeaderBytes + options.limits.maxBodyBytes +
                            ClientHandshake::kMaxChunkLine;
    for (const auto &[splitName, pieces] : allSplits) {
        const ClientOutcome outcome = runClient(options, pieces, eof);
        QVERIFY2(outcome.maxBuffered <= bound, qPrintable(splitName));
        QVERIFY2(outcome.sameResult(whole),
                 qPrintable(splitName + QStringLiteral(": ") + outcome.error));
    }
}

void TestHandshake::clientDoesNotBufferPastTheLimits() {
    ClientHandshakeOptions options = sampleOptions();
    options.limits.maxHeaderBytes = 1024;
    options.limits.maxBodyBytes = 512;
    // A status line and then a header that never ends.
    const QByteArray endless =
        "HTTP/1.1 101 Switching Protocols\r\nX-Junk: " + QByteArray(4 << 20, 'a');
    for (qsizetype chunk : {qsizetype(1), qsizetype(7), qsizetype(1000), qsizetype(4 << 20)}) {
        ClientHandshake handshake(options, kSampleKey);
        for (qsizetype pos = 0; pos < endless.size() && pos < 8192 + chunk; pos += chunk) {
            handshake.feed(QByteArrayView(endless).sliced(pos, qMin(chunk, endless.size() - pos)));
            QVERIFY(handshake.bufferedBytes() <= options.limits.maxHeaderBytes);
        }
        QCOMPARE(handshake.status(), ClientHandshake::Status::Failed);
        QCOMPARE(handshake.rawResponse().size(), options.limits.maxHeaderBytes);
    }
    // A body that never ends.
    ClientHandshake handshake(options, kSampleKey);
    handshake.feed("HTTP/1.1 404 Not Found\r\nContent-Length: 100000000\r\n\r\n");
    for (int i = 0; i < 1000 && handshake.status() == ClientHandshake::Status::NeedMore; ++i) {
        handshake.feed(QByteArray(100, 'b'));
        QVERIFY(handshake.bufferedBytes() <= 1024 + 512);
    }
    QCOMPARE(handshake.status(), ClientHandshake::Status::Failed);
    QCOMPARE(handshake.responseBody(), QByteArray(512, 'b'));
}

void TestHandshake::clientKeepsBytesFedAfterTheUpgrade() {
    ClientHandshake handshake(sampleOptions(), kSampleKey);
    QCOMPARE(handshake.feed(kSampleResponse.first(10)), ClientHandshake::Status::NeedMore);
    QCOMPARE(handshake.takeLeftover(), QByteArray());
    QCOMPARE(handshake.feed(kSampleResponse.sliced(10) + kServerHello.first(3)),
             ClientHandshake::Status::Accepted);
    QCOMPARE(handshake.feed(kServerHello.sliced(3)), ClientHandshake::Status::Accepted);
    QCOMPARE(handshake.takeLeftover(), kServerHello);
    QCOMPARE(handshake.takeLeftover(), QByteArray());
    QCOMPARE(handshake.feed(kServerHello), ClientHandshake::Status::Accepted);
    QCOMPARE(handshake.takeLeftover(), kServerHello);
    QCOMPARE(handshake.rawResponse(), kSampleResponse);
    QCOMPARE(handshake.responseHeaders().value("sec-websocket-protocol"), QByteArray("chat"));
    QCOMPARE(handshake.reasonPhrase(), QByteArray("Switching Protocols"));

    // After a failure nothing more is taken.
    ClientHandshake failed(sampleOptions(), kSampleKey);
    QCOMPARE(failed.feed(sample101("Sec-WebSocket-Protocol: nope\r\n") + kServerHello),
             ClientHandshake::Status::Failed);
    QCOMPARE(failed.feed(kServerHello), ClientHandshake::Status::Failed);
    QCOMPARE(failed.takeLeftover(), QByteArray());
}

// ---------------------------------------------------------------------------

void TestHandshake::serverAccepts_data() {
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<QByteArray>("key");
    QTest::addColumn<QByteArray>("target");
    QTest::addColumn<QByteArray>("origin");
    QTest::addColumn<QList<QByteArray>>("subprotocols");
    QTest::addColumn<QByteArray>("extensions");
    QTest::addColumn<QByteArray>("leftover");

    QTest::newRow("RFC 6455 §1.2")
        << kSampleRequest << kSampleKey << QByteArray("/chat") << QByteArray("http://example.com")
        << QList<QByteArray>{"chat", "superchat"} << QByteArray() << QByteArray();
    QTest::newRow("RFC 6455 §1.2 with the RFC's header order")
        << QByteArray("GET /chat HTTP/1.1\r\n"
                      "Host: server.example.com\r\n"
                      "Upgrade: websocket\r\n"
                      "Connection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Origin: http://example.com\r\n"
                      "Sec-WebSocket-Protocol: chat, superchat\r\n"
                      "Sec-WebSocket-Version: 13\r\n"
                      "\r\n")
        << kSampleKey << QByteArray("/chat") << QByteArray("http://example.com")
        << QList<QByteArray>{"chat", "superchat"} << QByteArray() << QByteArray();
    QTest::newRow("Chromium")
        << QByteArray("GET /ws?x=1 HTTP/1.1\r\n"
                      "Host: 127.0.0.1:9001\r\n"
                      "Connection: Upgrade\r\n"
                      "Pragma: no-cache\r\n"
                      "Cache-Control: no-cache\r\n"
                      "User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
                      "Upgrade: websocket\r\n"
                      "Origin: http://127.0.0.1:9001\r\n"
                      "Sec-WebSocket-Version: 13\r\n"
                      "Accept-Encoding: gzip, deflate, br\r\n"
                      "Accept-Language: en-US,en;q=0.9\r\n"
                      "Sec-WebSocket-Key: f7cb4ezEAl6C3wRaU6JORA==\r\n"
                      "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                      "\r\n")
        << QByteArray("f7cb4ezEAl6C3wRaU6JORA==") << QByteArray("/ws?x=1")
        << QByteArray("http://127.0.0.1:9001") << QList<QByteArray>{}
        << QByteArray("permessage-deflate; client_max_window_bits") << QByteArray();
    QTest::newRow("Firefox's Connection: keep-alive, Upgrade; upgrade: WebSocket")
        << QByteArray("GET / HTTP/1.1\r\n"
                      "host: localhost\r\n"
                      "upgrade: WebSocket\r\n"
                      "connection: keep-alive, Upgrade\r\n"
                      "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "sec-websocket-version: 13\r\n"
                      "sec-websocket-protocol: a,b\r\n"
                      "sec-websocket-protocol: c\r\n"
                      "\r\n")
        << kSampleKey << QByteArray("/") << QByteArray() << QList<QByteArray>{"a", "b", "c"}
        << QByteArray() << QByteArray();
    QTest::newRow("bare LF, empty line first, HTTP/1.2")
        << QByteArray("\r\nGET / HTTP/1.2\nHost: h\nUpgrade: websocket\nConnection: upgrade\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n")
        << kSampleKey << QByteArray("/") << QByteArray() << QList<QByteArray>{} << QByteArray()
        << QByteArray();
    QTest::newRow("frames sent before the answer are kept")
        << kSampleRequest + kClientHello + kClientHello << kSampleKey << QByteArray("/chat")
        << QByteArray("http://example.com") << QList<QByteArray>{"chat", "superchat"}
        << QByteArray() << kClientHello + kClientHello;
}

void TestHandshake::serverAccepts() {
    QFETCH(QByteArray, request);
    QFETCH(QByteArray, key);
    QFETCH(QByteArray, target);
    QFETCH(QByteArray, origin);
    QFETCH(QList<QByteArray>, subprotocols);
    QFETCH(QByteArray, extensions);
    QFETCH(QByteArray, leftover);

    for (const auto &[splitName, pieces] : splits(request)) {
        ServerHandshake handshake;
        ServerHandshake::Status status = ServerHandshake::Status::NeedMore;
        const qsizetype blockSize = request.size() - leftover.size();
        qsizetype fed = 0;
        for (const QByteArray &piece : pieces) {
            status = handshake.feed(piece);
            fed += piece.size();
            // Not a byte early.
            if (fed < blockSize)
                QVERIFY2(status == ServerHandshake::Status::NeedMore, qPrintable(splitName));
        }
        QVERIFY2(status == ServerHandshake::Status::Upgrade,
                 qPrintable(splitName + QStringLiteral(": ") + handshake.errorString()));
        QCOMPARE(handshake.failureStatus(), 0);
        QCOMPARE(handshake.failureResponse(), QByteArray());
        QCOMPARE(handshake.request().method, QByteArray("GET"));
        QCOMPARE(handshake.request().target, target);
        QCOMPARE(handshake.clientKey(), key);
        QCOMPARE(handshake.origin(), origin);
        QCOMPARE(handshake.offeredSubprotocols(), subprotocols);
        QCOMPARE(formatExtensions(handshake.offeredExtensions()), extensions);
        QCOMPARE(handshake.rawRequest(), request.first(request.size() - leftover.size()));
        QCOMPARE(handshake.takeLeftover(), leftover);
        QCOMPARE(handshake.takeLeftover(), QByteArray());
        QVERIFY(handshake.acceptResponse().contains(
            "Sec-WebSocket-Accept: " + computeAcceptKey(key) + "\r\n"));
    }
}

void TestHandshake::serverSampleAnswer() {
    ServerHandshake handshake;
    QCOMPARE(handshake.acceptResponse("chat"), QByteArray()); // nothing to answer yet
    QCOMPARE(handshake.feed(kSampleRequest), ServerHandshake::Status::Upgrade);
    QCOMPARE(handshake.acceptResponse("chat"), kSampleResponse);
}

void TestHandshake::serverAcceptResponse() {
    ServerHandshake handshake;
    QCOMPARE(handshake.feed(upgradeRequest("Sec-WebSocket-Extensions: permessage-deflate; "
                                           "client_max_window_bits\r\n")),
             ServerHandshake::Status::Upgrade);
    HttpHeaders extra;
    extra.add("Server", "wsw");
    const QList<ExtensionParams> accepted{
        ExtensionParams{"permessage-deflate",
                        {{"server_no_context_takeover", std::nullopt},
                         {"client_max_window_bits", QByteArray("12")}}}};
    QCOMPARE(handshake.acceptResponse({}, accepted, extra),
             QByteArray("HTTP/1.1 101 Switching Protocols\r\n"
                        "Upgrade: websocket\r\n"
                        "Connection: Upgrade\r\n"
                        "Sec-WebSocket-Accept: " +
                        kSampleAccept +
                        "\r\n"
                        "Sec-WebSocket-Extensions: permessage-deflate; "
                        "server_no_context_takeover; client_max_window_bits=12\r\n"
                        "Server: wsw\r\n"
                        "\r\n"));
}

void TestHandshake::serverOutcomes_data() {
    QTest::addColumn<HandshakeLimits>("limits");
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<ServerHandshake::Status>("status");
    QTest::addColumn<int>("failureStatus");
    QTest::addColumn<QString>("error"); // empty: not compared

    using S = ServerHandshake::Status;
    const HandshakeLimits defaults;
    HandshakeLimits small;
    small.maxHeaderBytes = 128;
    small.maxHeaderCount = 4;

    // Plain requests.
    QTest::newRow("plain GET for the test page")
        << defaults << QByteArray("GET / HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nAccept: */*\r\n\r\n")
        << S::PlainHttp << 0 << QString();
    QTest::newRow("Upgrade to something else is plain HTTP")
        << defaults
        << QByteArray("GET /index.html HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
                      "Upgrade: h2c\r\n\r\n")
        << S::PlainHttp << 0 << QString();
    QTest::newRow("plain GET with frames after it")
        << defaults << QByteArray("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\n")
        << S::PlainHttp << 0 << QString();

    // Syntax: 400.
    QTest::newRow("request line without a version")
        << defaults << QByteArray("GET /\r\nHost: h\r\n\r\n") << S::Failed << 400
        << QStringLiteral("the request line 'GET /' is not of the form 'GET /path HTTP/1.1' "
                          "(RFC 7230 §3.1.1)");
    QTest::newRow("garbage version")
        << defaults << QByteArray("GET / HTTP/one\r\nHost: h\r\n\r\n") << S::Failed << 400
        << QStringLiteral("'HTTP/one' is not an HTTP version (RFC 7230 §2.6)");
    QTest::newRow("TLS ClientHello on a plain port")
        << defaults << QByteArray::fromHex("160301020001000100fe0303") + "\n"
        << S::Failed << 400 << QString();
    QTest::newRow("header without a colon")
        << defaults << upgradeRequest("Origin example.com\r\n") << S::Failed << 400
        << QStringLiteral("the header line 'Origin example.com' has no colon "
                          "(RFC 7230 §3.2)");
    QTest::newRow("whitespace before a colon")
        << defaults << upgradeRequest("Origin : http://example.com\r\n") << S::Failed << 400
        << QString();
    QTest::newRow("obs-fold") << defaults << upgradeRequest("X-A: 1\r\n 2\r\n") << S::Failed << 400
                              << QString();
    QTest::newRow("control character") << defaults
                                       << upgradeRequest(QByteArray("X-A: 1\x01"
                                                                    "2\r\n"))
                                       << S::Failed << 400 << QString();
    QTest::newRow("malformed request line beats the size limit")
        << small << "GET\r\n" + QByteArray(500, 'a') << S::Failed << 400 << QString();

    // Limits: 431.
    QTest::newRow("header block over maxHeaderBytes")
        << small << upgradeRequest() << S::Failed << 431
        << QStringLiteral("the request's header block is larger than 128 bytes");
    QTest::newRow("header block exactly maxHeaderBytes") << [] {
        HandshakeLimits limits;
        limits.maxHeaderBytes = upgradeRequest().size();
        return limits;
    }() << upgradeRequest() << S::Upgrade << 0 << QString();
    QTest::newRow("too many fields")
        << small << QByteArray("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n")
        << S::Failed << 431 << QStringLiteral("the request has more than 4 header fields");
    QTest::newRow("size limit beats the method")
        << small << "POST / HTTP/1.1\r\nHost: h\r\nX: " + QByteArray(200, 'x') + "\r\n\r\n"
        << S::Failed << 431 << QString();

    // Method, version, Host.
    QTest::newRow("POST")
        << defaults << QByteArray("POST /chat HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
        << S::Failed << 405
        << QStringLiteral("the method is POST but a WebSocket handshake (and this "
                          "server) only takes GET (RFC 6455 §4.1)");
    QTest::newRow("method is case-sensitive")
        << defaults << QByteArray(upgradeRequest()).replace("GET ", "get ") << S::Failed << 405
        << QString();
    QTest::newRow("method beats the missing Host")
        << defaults << QByteArray("HEAD / HTTP/1.1\r\n\r\n") << S::Failed << 405 << QString();
    QTest::newRow("HTTP/1.0")
        << defaults << QByteArray(upgradeRequest()).replace("HTTP/1.1", "HTTP/1.0") << S::Failed
        << 400
        << QStringLiteral("the request is HTTP/1.0 but a WebSocket handshake needs HTTP/1.1 or "
                          "higher (RFC 6455 §4.1)");
    QTest::newRow("HTTP/1.0 plain GET")
        << defaults << QByteArray("GET / HTTP/1.0\r\n\r\n") << S::Failed << 400 << QString();
    QTest::newRow("HTTP/2.0") << defaults
                              << QByteArray(upgradeRequest()).replace("HTTP/1.1", "HTTP/2.0")
                              << S::Failed << 505
                              << QStringLiteral(
                                     "the request is HTTP/2.0 but this server speaks HTTP/1.1");
    QTest::newRow("HTTP/0.9") << defaults << QByteArray("GET / HTTP/0.9\r\n\r\n") << S::Failed
                              << 505 << QString();
    QTest::newRow("no Host")
        << defaults << QByteArray(upgradeRequest()).replace("Host: server.example.com\r\n", "")
        << S::Failed << 400 << QStringLiteral("the request has no Host header (RFC 7230 §5.4)");
    QTest::newRow("plain GET without Host")
        << defaults << QByteArray("GET / HTTP/1.1\r\n\r\n") << S::Failed << 400 << QString();
    QTest::newRow("two Hosts") << defaults << upgradeRequest("Host: evil.example.com\r\n")
                               << S::Failed << 400
                               << QStringLiteral("the request has 2 Host headers (RFC 7230 §5.4)");

    // The upgrade itself (RFC 6455 §4.2.1).
    QTest::newRow("no Connection")
        << defaults << QByteArray(upgradeRequest()).replace("Connection: Upgrade\r\n", "")
        << S::Failed << 400
        << QStringLiteral("the request asks for Upgrade: websocket but has no 'Connection: "
                          "Upgrade' (RFC 6455 §4.2.1)");
    QTest::newRow("Connection: keep-alive")
        << defaults
        << QByteArray(upgradeRequest()).replace("Connection: Upgrade", "Connection: keep-alive")
        << S::Failed << 400
        << QStringLiteral("the request asks for Upgrade: websocket but Connection is "
                          "'keep-alive', without 'Upgrade' (RFC 6455 §4.2.1)");
    QTest::newRow("no key")
        << defaults
        << QByteArray(upgradeRequest()).replace("Sec-WebSocket-Key: " + kSampleKey + "\r\n", "")
        << S::Failed << 400
        << QStringLiteral("the request has no Sec-WebSocket-Key (RFC 6455 §4.2.1)");
    QTest::newRow("two keys")
        << defaults << upgradeRequest("Sec-WebSocket-Key: f7cb4ezEAl6C3wRaU6JORA==\r\n")
        << S::Failed << 400
        << QStringLiteral("the request has 2 Sec-WebSocket-Key headers; it must have one "
                          "(RFC 6455 §4.2.1)");
    QTest::newRow("key of 10 bytes")
        << defaults << QByteArray(upgradeRequest()).replace(kSampleKey, "dGhlIHNhbXBsZQ==")
        << S::Failed << 400
        << QStringLiteral("Sec-WebSocket-Key 'dGhlIHNhbXBsZQ==' is not the base64 encoding of 16 "
                          "bytes (RFC 6455 §4.2.1)");
    QTest::newRow("key of 17 bytes")
        << defaults
        << QByteArray(upgradeRequest()).replace(kSampleKey, QByteArray(17, 'k').toBase64())
        << S::Failed << 400 << QString();
    QTest::newRow("key not base64")
        << defaults << QByteArray(upgradeRequest()).replace(kSampleKey, "dGhlIHNhbXBsZSBub25jZ!==")
        << S::Failed << 400 << QString();
    QTest::newRow("key without padding")
        << defaults << QByteArray(upgradeRequest()).replace(kSampleKey, "dGhlIHNhbXBsZSBub25jZQ")
        << S::Failed << 400 << QString();
    QTest::newRow("empty key") << defaults << QByteArray(upgradeRequest()).replace(kSampleKey, "")
                               << S::Failed << 400 << QString();
    QTest::newRow("version 8")
        << defaults
        << QByteArray(upgradeRequest())
               .replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8")
        << S::Failed << 426
        << QStringLiteral("Sec-WebSocket-Version is '8' but this server speaks version 13 "
                          "(RFC 6455 §4.2.2)");
    QTest::newRow("two versions")
        << defaults << upgradeRequest("Sec-WebSocket-Version: 8\r\n") << S::Failed << 426
        << QStringLiteral("Sec-WebSocket-Version is '13, 8' but this server speaks version 13 "
                          "(RFC 6455 §4.2.2)");
    QTest::newRow("no version")
        << defaults << QByteArray(upgradeRequest()).replace("Sec-WebSocket-Version: 13\r\n", "")
        << S::Failed << 426
        << QStringLiteral("the request has no Sec-WebSocket-Version; this server speaks version "
                          "13 (RFC 6455 §4.2.1)");
    QTest::newRow("malformed extensions")
        << defaults << upgradeRequest("Sec-WebSocket-Extensions: permessage-deflate;;\r\n")
        << S::Failed << 400
        << QStringLiteral("Sec-WebSocket-Extensions 'permessage-deflate;;' is malformed "
                          "(RFC 6455 §9.1)");
}

void TestHandshake::serverOutcomes() {
    QFETCH(HandshakeLimits, limits);
    QFETCH(QByteArray, request);
    QFETCH(ServerHandshake::Status, status);
    QFETCH(int, failureStatus);
    QFETCH(QString, error);

    const auto allSplits = splits(request);
    const ServerOutcome whole = runServer(limits, allSplits.front().second);
    QCOMPARE(name(whole.status), name(status));
    QCOMPARE(whole.failureStatus, failureStatus);
    if (!error.isEmpty())
        QCOMPARE(whole.error, error);
    if (status == ServerHandshake::Status::Failed) {
        QVERIFY(!whole.error.isEmpty());
        QCOMPARE(whole.leftover, QByteArray());
    } else {
        QCOMPARE(whole.error, QString());
        QCOMPARE(whole.raw + whole.leftover, request);
    }
    for (const auto &[splitName, pieces] : allSplits) {
        const ServerOutcome outcome = runServer(limits, pieces);
        QVERIFY2(outcome.maxBuffered <= limits.maxHeaderBytes, qPrintable(splitName));
        QVERIFY2(outcome.sameResult(whole),
                 qPrintable(splitName + QStringLiteral(": ") + outcome.error));
    }
}

void TestHandshake::serverFailureResponses_data() {
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<QByteArray>("response");

    const QByteArray versionBody =
        "Sec-WebSocket-Version is '8' but this server speaks version 13 (RFC 6455 §4.2.2)\n";
    QTest::newRow("426 names the version (RFC 6455 §4.2.2)")
        << QByteArray(upgradeRequest())
               .replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8")
        << "HTTP/1.1 426 Upgrade Required\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n"
           "Content-Length: " +
               QByteArray::number(versionBody.size()) +
               "\r\n"
               "Upgrade: websocket\r\n"
               "Connection: Upgrade, close\r\n"
               "Sec-WebSocket-Version: 13\r\n"
               "\r\n" +
               versionBody;
    const QByteArray methodBody = "the method is PUT but a WebSocket handshake (and this server) "
                                  "only takes GET (RFC 6455 §4.1)\n";
    QTest::newRow("405 carries Allow") << QByteArray("PUT / HTTP/1.1\r\nHost: h\r\n\r\n")
                                       << "HTTP/1.1 405 Method Not Allowed\r\n"
                                          "Content-Type: text/plain; charset=utf-8\r\n"
                                          "Content-Length: " +
                                              QByteArray::number(methodBody.size()) +
                                              "\r\n"
                                              "Connection: close\r\n"
                                              "Allow: GET\r\n"
                                              "\r\n" +
                                              methodBody;
    const QByteArray hostBody = "the request has no Host header (RFC 7230 §5.4)\n";
    QTest::newRow("400") << QByteArray("GET / HTTP/1.1\r\n\r\n")
                         << "HTTP/1.1 400 Bad Request\r\n"
                            "Content-Type: text/plain; charset=utf-8\r\n"
                            "Content-Length: " +
                                QByteArray::number(hostBody.size()) +
                                "\r\n"
                                "Connection: close\r\n"
                                "\r\n" +
                                hostBody;
}

void TestHandshake::serverFailureResponses() {
    QFETCH(QByteArray, request);
    QFETCH(QByteArray, response);
    ServerHandshake handshake;
    QCOMPARE(handshake.feed(request), ServerHandshake::Status::Failed);
    QCOMPARE(handshake.failureResponse(), response);
    QCOMPARE(handshake.acceptResponse(), QByteArray());
    // What we send parses as an HTTP answer with that status.
    ClientHandshake client(sampleOptions(), kSampleKey);
    QCOMPARE(client.feed(response), ClientHandshake::Status::Failed);
    QCOMPARE(client.statusCode(), handshake.failureStatus());
    QCOMPARE(client.responseBody(), handshake.errorString().toUtf8() + '\n');
}

void TestHandshake::serverDoesNotBufferPastTheLimit() {
    HandshakeLimits limits;
    limits.maxHeaderBytes = 2048;
    const QByteArray endless = "GET / HTTP/1.1\r\nHost: h\r\nX-Junk: " + QByteArray(4 << 20, 'a');
    for (qsizetype chunk : {qsizetype(1), qsizetype(13), qsizetype(4096), qsizetype(8 << 20)}) {
        ServerHandshake handshake(limits);
        for (qsizetype pos = 0; pos < endless.size() && pos < 8192 + chunk; pos += chunk) {
            handshake.feed(QByteArrayView(endless).sliced(pos, qMin(chunk, endless.size() - pos)));
            QVERIFY(handshake.bufferedBytes() <= limits.maxHeaderBytes);
        }
        QCOMPARE(handshake.status(), ServerHandshake::Status::Failed);
        QCOMPARE(handshake.failureStatus(), 431);
        QCOMPARE(handshake.rawRequest().size(), limits.maxHeaderBytes);
        // What was read is there for the log.
        QCOMPARE(handshake.request().target, QByteArray("/"));
        QCOMPARE(handshake.request().headers.value("Host"), QByteArray("h"));
    }
    // Endless tiny fields hit the field count.
    ServerHandshake handshake(limits);
    handshake.feed("GET / HTTP/1.1\r\n");
    for (int i = 0; i < 200; ++i)
        handshake.feed("A: b\r\n");
    QCOMPARE(handshake.status(), ServerHandshake::Status::Failed);
    QCOMPARE(handshake.failureStatus(), 431);
    QVERIFY(handshake.bufferedBytes() <= 16 + 6 * 101);
}

void TestHandshake::serverKeepsBytesFedAfterTheRequest() {
    ServerHandshake handshake;
    QCOMPARE(handshake.feed(kSampleRequest + kClientHello.first(2)),
             ServerHandshake::Status::Upgrade);
    QCOMPARE(handshake.feed(kClientHello.sliced(2)), ServerHandshake::Status::Upgrade);
    QCOMPARE(handshake.takeLeftover(), kClientHello);
    QCOMPARE(handshake.rawRequest(), kSampleRequest);

    ServerHandshake failed;
    QCOMPARE(failed.feed(QByteArray("GET / HTTP/1.1\r\n\r\n") + kClientHello),
             ServerHandshake::Status::Failed);
    QCOMPARE(failed.feed(kClientHello), ServerHandshake::Status::Failed);
    QCOMPARE(failed.takeLeftover(), QByteArray());
}

void TestHandshake::httpResponse() {
    QCOMPARE(ServerHandshake::httpResponse(200, {}, "text/html; charset=utf-8", "<p>hi</p>"),
             QByteArray("HTTP/1.1 200 OK\r\n"
                        "Content-Type: text/html; charset=utf-8\r\n"
                        "Content-Length: 9\r\n"
                        "Connection: close\r\n"
                        "\r\n"
                        "<p>hi</p>"));
    HttpHeaders extra;
    extra.add("Retry-After", "5");
    QCOMPARE(ServerHandshake::httpResponse(503, "Busy", {}, {}, extra),
             QByteArray("HTTP/1.1 503 Busy\r\n"
                        "Content-Length: 0\r\n"
                        "Connection: close\r\n"
                        "Retry-After: 5\r\n"
                        "\r\n"));
    QCOMPARE(ServerHandshake::httpResponse(403, {}, "text/plain", "origin not allowed\n"),
             QByteArray("HTTP/1.1 403 Forbidden\r\n"
                        "Content-Type: text/plain\r\n"
                        "Content-Length: 19\r\n"
                        "Connection: close\r\n"
                        "\r\n"
                        "origin not allowed\n"));
    QCOMPARE(ServerHandshake::reasonPhrase(431), QByteArray("Request Header Fields Too Large"));
    QCOMPARE(ServerHandshake::reasonPhrase(505), QByteArray("HTTP Version Not Supported"));
    QCOMPARE(ServerHandshake::reasonPhrase(299), QByteArray());
}

void TestHandshake::clientTalksToServer() {
    ClientHandshakeOptions options;
    options.host = "[::1]";
    options.port = 9001;
    options.resourceName = "/echo";
    options.subprotocols = {"v1", "v2"};
    options.extensions = {deflateOffer()};
    ClientHandshake client(options);

    ServerHandshake server;
    QCOMPARE(server.feed(client.request()), ServerHandshake::Status::Upgrade);
    QCOMPARE(server.request().headers.value("Host"), QByteArray("[::1]:9001"));
    QCOMPARE(server.clientKey(), client.key());
    QCOMPARE(server.offeredSubprotocols(), options.subprotocols);
    QVERIFY(server.offeredExtensions() == options.extensions);

    const QList<ExtensionParams> accepted{
        ExtensionParams{"permessage-deflate", {{"client_max_window_bits", QByteArray("15")}}}};
    QCOMPARE(client.feed(server.acceptResponse("v2", accepted) + kServerHello),
             ClientHandshake::Status::Accepted);
    QCOMPARE(client.subprotocol(), QByteArray("v2"));
    QVERIFY(client.acceptedExtensions() == accepted);
    QCOMPARE(client.takeLeftover(), kServerHello);
}

QTEST_APPLESS_MAIN(TestHandshake)
#include "tst_handshake.moc"

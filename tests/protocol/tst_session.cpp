#include "protocol/extension.h"
#include "protocol/session.h"
#include "protocol/utf8validator.h"
#include "protocoltestsupport.h"

#include <QByteArray>
#include <QRandomGenerator>
#include <QStringList>
#include <QTest>

#include <algorithm>
#include <memory>

using namespace ws;
using namespace ws::test;

namespace {

// The time passed with a call whose events' times the test does not look at.
constexpr qint64 AnyTime = 0;

// What Chromium sends (its permessage-deflate offer included, which we do not take).
const QByteArray kBrowserRequest =
    "GET /chat HTTP/1.1\r\n"
    "Host: 127.0.0.1:9001\r\n"
    "Connection: Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36\r\n"
    "Upgrade: websocket\r\n"
    "Origin: http://127.0.0.1:9001\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n";

const QByteArray kPlainAccept = "HTTP/1.1 101 Switching Protocols\r\n"
                                "Upgrade: websocket\r\n"
                                "Connection: Upgrade\r\n"
                                "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                                "\r\n";

// A frame as a peer writes it (protocoltestsupport.h).
QByteArray frame(quint8 firstByte, QByteArrayView payload, std::optional<quint32> key = {}) {
    return wireFrame(firstByte, payload, key);
}

QByteArray closeBody(quint16 code, QByteArrayView reason = {}) {
    QByteArray body;
    body.append(char(code >> 8)).append(char(code));
    body.append(reason);
    return body;
}

QByteArray patterned(qsizetype size) {
    QByteArray data(size, Qt::Uninitialized);
    for (qsizetype i = 0; i < size; ++i)
        data[i] = char((i * 7 + i / 251) & 0xFF);
    return data;
}

const char *kindName(const SessionEvent &event) {
    static const char *const names[] = {"frame", "message",   "handshake", "ping",  "pong",
                                        "close", "violation", "note",      "state", "closed"};
    return names[event.index()];
}

// The kinds of events in order, with the frame directions: "frame<", "frame>" etc.
QStringList kinds(const QList<SessionEvent> &events) {
    QStringList list;
    for (const SessionEvent &event : events) {
        QString kind = QString::fromLatin1(kindName(event));
        if (const auto *frameEvent = std::get_if<FrameEvent>(&event))
            kind += frameEvent->direction == Direction::Incoming ? u'<' : u'>';
        if (const auto *message = std::get_if<MessageEvent>(&event))
            kind += message->direction == Direction::Incoming ? u'<' : u'>';
        list.append(kind);
    }
    return list;
}

QString hexOf(const QByteArray &bytes) {
    return QString::fromLatin1(bytes.toHex());
}

QString describeOne(const FrameEvent &e) {
    const FrameHeader &h = e.frame.header;
    QStringList notes;
    for (const ConformanceNote &note : e.frame.notes)
        notes << QString::number(int(note.kind)) + QLatin1Char('@') +
                     QString::number(note.streamOffset);
    return QStringLiteral("frame %1 t=%2 fin=%3 rsv=%4 op=%5 key=%6 len=%7/%8 raw=%9 payload=%10 "
                          "at=%11 close=%12 '%13' notes=%14")
        .arg(e.direction == Direction::Incoming ? "in" : "out")
        .arg(e.timestampUs)
        .arg(h.fin)
        .arg(h.rsvBits())
        .arg(h.opcode)
        .arg(h.maskingKey ? QString::number(*h.maskingKey, 16) : QStringLiteral("-"))
        .arg(h.payloadLength)
        .arg(int(h.lengthEncoding))
        .arg(hexOf(e.frame.rawHeader.toByteArray()))
        .arg(hexOf(e.frame.payload))
        .arg(e.frame.streamOffset)
        .arg(e.frame.closeCode ? int(*e.frame.closeCode) : -1)
        .arg(e.frame.closeReason)
        .arg(notes.join(u','));
}

QString describeOne(const MessageEvent &e) {
    const DecodedMessage &m = e.message;
    return QStringLiteral("message %1 t=%2 type=%3 data=%4 frames=%5 compressed=%6 wire=%7 at=%8")
        .arg(e.direction == Direction::Incoming ? "in" : "out")
        .arg(e.timestampUs)
        .arg(int(m.type))
        .arg(hexOf(m.data))
        .arg(m.frameCount)
        .arg(m.compressed)
        .arg(m.wireSize)
        .arg(m.streamOffset);
}

QString describeOne(const HandshakeEvent &e) {
    QStringList extensions;
    for (const ExtensionParams &extension : e.extensions)
        extensions << QString::fromLatin1(extension.name);
    return QStringLiteral("handshake t=%1 kind=%2 status=%3 request=%4 response=%5 sub=%6 "
                          "ext=%7 error=%8")
        .arg(e.timestampUs)
        .arg(int(e.kind))
        .arg(e.httpStatus)
        .arg(hexOf(e.rawRequest))
        .arg(hexOf(e.rawResponse))
        .arg(QString::fromLatin1(e.subprotocol))
        .arg(extensions.join(u','))
        .arg(e.error);
}

QString describeOne(const PingEvent &e) {
    return QStringLiteral("ping t=%1 %2 answered=%3")
        .arg(e.timestampUs)
        .arg(hexOf(e.payload))
        .arg(e.answered);
}

QString describeOne(const PongEvent &e) {
    return QStringLiteral("pong t=%1 %2 rtt=%3")
        .arg(e.timestampUs)
        .arg(hexOf(e.payload))
        .arg(e.roundTripUs ? *e.roundTripUs : -1);
}

QString describeOne(const CloseEvent &e) {
    return QStringLiteral("close t=%1 code=%2 '%3'")
        .arg(e.timestampUs)
        .arg(e.code ? int(*e.code) : -1)
        .arg(e.reason);
}

QString describeOne(const ViolationEvent &e) {
    return QStringLiteral("violation t=%1 %2 at=%3 '%4'")
        .arg(e.timestampUs)
        .arg(QLatin1StringView(errorName(e.violation.error)))
        .arg(e.violation.streamOffset)
        .arg(e.violation.reason);
}

QString describeOne(const NoteEvent &e) {
    return QStringLiteral("note t=%1 kind=%2 at=%3 '%4'")
        .arg(e.timestampUs)
        .arg(int(e.note.kind))
        .arg(e.note.streamOffset)
        .arg(e.note.text);
}

QString describeOne(const StateEvent &e) {
    return QStringLiteral("state t=%1 %2").arg(e.timestampUs).arg(stateName(e.state));
}

QString describeOne(const ClosedEvent &e) {
    return QStringLiteral("closed t=%1 code=%2 '%3' clean=%4 byUs=%5")
        .arg(e.timestampUs)
        .arg(e.code)
        .arg(e.reason)
        .arg(e.clean)
        .arg(e.closedByUs);
}

QStringList describe(const QList<SessionEvent> &events) {
    QStringList lines;
    for (const SessionEvent &event : events)
        lines << std::visit([](const auto &typed) { return describeOne(typed); }, event);
    return lines;
}

std::unique_ptr<Session> makeClient(SessionOptions options = {},
                                    ClientHandshakeOptions handshake = sampleOptions()) {
    return std::make_unique<Session>(std::move(handshake), options,
                                     MaskingKeySource::fixed(kSampleMaskKey), kSampleKey);
}

// A client that has been accepted by canned bytes.
std::unique_ptr<Session> openClient(SessionOptions options = {}) {
    auto client = makeClient(options);
    client->start(AnyTime);
    client->takeOutgoing();
    client->receiveData(kSampleResponse, AnyTime);
    takeEvents(*client);
    return client;
}

// A server that has accepted the browser's request.
std::unique_ptr<Session> openServer(SessionOptions options = {}) {
    auto server = std::make_unique<Session>(options);
    server->receiveData(kBrowserRequest, AnyTime);
    takeEvents(*server);
    server->accept({}, {}, nullptr, AnyTime);
    server->takeOutgoing();
    takeEvents(*server);
    return server;
}

// A client and a server Session talking through memory. pump() moves bytes both
// ways until both are quiet; the server accepts every upgrade.
struct Pair {
    std::unique_ptr<Session> client;
    std::unique_ptr<Session> server;
    QList<SessionEvent> clientEvents;
    QList<SessionEvent> serverEvents;

    explicit Pair(SessionOptions options = {}) {
        // Keys that change from frame to frame, so every phase of the mask is used.
        quint32 next = 0x01020304;
        client = std::make_unique<Session>(sampleOptions(), options,
                                           MaskingKeySource::fromFunction([next]() mutable {
                                               next = next * 1664525u + 1013904223u;
                                               return next;
                                           }),
                                           kSampleKey);
        server = std::make_unique<Session>(options);
    }

    void pump() {
        for (bool moved = true; moved;) {
            moved = false;
            collect();
            if (client->hasOutgoing()) {
                server->receiveData(client->takeOutgoing(), AnyTime);
                moved = true;
            }
            collect();
            if (server->hasOutgoing()) {
                client->receiveData(server->takeOutgoing(), AnyTime);
                moved = true;
            }
        }
        collect();
    }

    void collect() {
        while (client->hasEvent())
            clientEvents.append(client->takeEvent());
        while (server->hasEvent()) {
            SessionEvent event = server->takeEvent();
            if (const auto *handshake = std::get_if<HandshakeEvent>(&event);
                handshake && handshake->kind == HandshakeEvent::Kind::UpgradeRequested)
                server->accept("chat", {}, nullptr, AnyTime);
            serverEvents.append(std::move(event));
        }
    }

    void open() {
        client->start(AnyTime);
        pump();
        clientEvents.clear();
        serverEvents.clear();
    }

    Session &side(Role role) { return role == Role::Client ? *client : *server; }
    QList<SessionEvent> &eventsOf(Role role) {
        return role == Role::Client ? clientEvents : serverEvents;
    }
};

// The close frame at the start of `bytes`: its code and reason, unmasked.
struct WireClose {
    bool isClose = false;
    bool masked = false;
    qsizetype frameSize = 0;
    std::optional<quint16> code;
    QByteArray reason;
};

WireClose parseClose(const QByteArray &bytes) {
    WireClose close;
    if (bytes.size() < 2 || quint8(bytes[0]) != 0x88)
        return close;
    close.isClose = true;
    close.masked = (quint8(bytes[1]) & 0x80) != 0;
    const int length = quint8(bytes[1]) & 0x7F;
    const int start = close.masked ? 6 : 2;
    close.frameSize = start + length;
    QByteArray payload = bytes.mid(start, length);
    if (close.masked)
        for (int i = 0; i < payload.size(); ++i)
            payload[i] = char(payload[i] ^ bytes[2 + i % 4]);
    if (payload.size() >= 2) {
        close.code = quint16(quint8(payload[0]) << 8 | quint8(payload[1]));
        close.reason = payload.mid(2);
    }
    return close;
}

// Splits `bytes` at random points: runs of 1 to 17 bytes, now and then a big one.
QList<QByteArray> randomChunks(const QByteArray &bytes, quint32 seed) {
    QRandomGenerator random(seed);
    QList<QByteArray> chunks;
    for (qsizetype at = 0; at < bytes.size();) {
        const qsizetype size =
            random.bounded(8) == 0 ? random.bounded(1, 400) : random.bounded(1, 18);
        chunks.append(bytes.mid(at, size));
        at += size;
    }
    return chunks;
}

// A message extension for the tests: reverses the payload, flags it with RSV1.
class ReverseExtension : public MessageExtension {
public:
    QByteArray name() const override { return "x-reverse"; }
    quint8 rsvBits() const override { return Rsv1Bit; }
    Decoded decodeMessage(QByteArrayView payload, quint8 rsvBits, qint64 maxSize) override {
        Decoded decoded;
        decoded.data = payload.toByteArray();
        if (rsvBits & Rsv1Bit)
            std::reverse(decoded.data.begin(), decoded.data.end());
        if (decoded.data.size() > maxSize)
            decoded.error = ProtocolError::MessageTooBig;
        return decoded;
    }
    quint8 encodeMessage(QByteArray &payload, Opcode) override {
        std::reverse(payload.begin(), payload.end());
        return Rsv1Bit;
    }
};

// An extension whose every message fails to decode, with a long name that ends up
// in the violation's reason (read as Latin-1: each 0xE9 becomes a 2-byte 'é').
class FailingExtension : public MessageExtension {
public:
    QByteArray name() const override { return QByteArray(120, 'x') + QByteArray(10, '\xe9'); }
    quint8 rsvBits() const override { return Rsv1Bit; }
    Decoded decodeMessage(QByteArrayView, quint8, qint64) override {
        return {{}, ProtocolError::DecompressionFailed};
    }
    quint8 encodeMessage(QByteArray &, Opcode) override { return 0; }
};

} // namespace

class TestSession : public QObject {
    Q_OBJECT

private slots:
    void clientAgainstCannedServer();
    void clientFailedHandshake();
    void clientEofDuringHandshake();
    void serverWithBrowserRequest();
    void serverRejects();
    void serverAnswersPlainHttp();
    void serverFailsMalformedRequest();
    void bytesBeforeAcceptAreDecodedAfterIt();
    void earlyBytesAreBounded();
    void messageSizes_data();
    void messageSizes();
    void fragmentedUtf8_data();
    void fragmentedUtf8();
    void pingRoundTrip();
    void eventsCarryTheTimeOfTheirCall();
    void sentEventsCarryTheWriteTime();
    void roundTripCountsFromTheWrite();
    void pongMatching();
    void closeHandshake_data();
    void closeHandshake();
    void emptyCloseIsEchoedEmpty();
    void peerDataWhileOurCloseIsUnanswered();
    void serverViolations_data();
    void serverViolations();
    void clientFailsMaskedServerFrame();
    void longViolationReasonIsCutAtACharacter();
    void dataAfterClose_data();
    void dataAfterClose();
    void dataAfterCloseWithFramesUnreported();
    void dataAfterCloseKeepsTheMaskedBytes();
    void eofWithoutClose();
    void eofAfterOurUnansweredClose();
    void abortEndsOnce();
    void autoPongOff();
    void sendErrors();
    void closeCodesRefused_data();
    void closeCodesRefused();
    void sendRawBreaksRules();
    void rawCloseCountsAsOurClose();
    void reportFramesOff();
    void messageHandlerAnswersBeforeClose();
    void messageSinkEchoes_data();
    void messageSinkEchoes();
    void echoPrecedesFailure_data();
    void echoPrecedesFailure();
    void sendingAByteArrayShareIt_data();
    void sendingAByteArrayShareIt();
    void outgoingChunksShareLargePayloads_data();
    void outgoingChunksShareLargePayloads();
    void rawFramesShareLargeUnmaskedPayloads();
    void echoOfALargeMessageIsNotCopied();
    void conformanceNotesBecomeEvents();
    void extensionWaitsForSetExtension();
    void clientChunkingInvariance();
    void serverChunkingInvariance();
    void names();
};

void TestSession::clientAgainstCannedServer() {
    auto client = makeClient();
    QCOMPARE(client->role(), Role::Client);
    QCOMPARE(client->state(), SessionState::Connecting);
    QVERIFY(!client->hasOutgoing());
    client->start(1000);
    QCOMPARE(client->takeOutgoing(), kSampleRequest);
    QCOMPARE(client->rawHandshakeRequest(), kSampleRequest);
    QVERIFY(!client->hasEvent());

    // RFC 6455 §5.7: the 101, then in the same read an unmasked "Hello", a binary
    // frame and an unmasked ping "Hello".
    const QByteArray frames = hex("810548656c6c6f"
                                  "8203010203"
                                  "890548656c6c6f");
    client->receiveData(kSampleResponse + frames, 2000);

    QList<SessionEvent> events = takeEvents(*client);
    QCOMPARE(kinds(events), QStringList({"handshake", "state", "frame<", "message<", "frame<",
                                         "message<", "frame<", "ping", "frame>"}));
    for (const SessionEvent &event : events)
        QCOMPARE(std::visit([](const auto &e) { return e.timestampUs; }, event), qint64(2000));

    const auto handshake = std::get<HandshakeEvent>(events[0]);
    QCOMPARE(handshake.kind, HandshakeEvent::Kind::ClientAccepted);
    QCOMPARE(handshake.rawRequest, kSampleRequest);
    QCOMPARE(handshake.rawResponse, kSampleResponse);
    QCOMPARE(handshake.httpStatus, 101);
    QCOMPARE(handshake.subprotocol, QByteArray("chat"));
    QVERIFY(handshake.extensions.isEmpty());
    QCOMPARE(std::get<StateEvent>(events[1]).state, SessionState::Open);
    QCOMPARE(client->state(), SessionState::Open);
    QCOMPARE(client->rawHandshakeResponse(), kSampleResponse);

    const auto text = std::get<FrameEvent>(events[2]);
    QCOMPARE(text.direction, Direction::Incoming);
    QCOMPARE(text.frame.header.opcode, quint8(0x1));
    QVERIFY(!text.frame.header.masked());
    QCOMPARE(text.frame.rawHeader.toByteArray(), hex("8105"));
    QCOMPARE(text.frame.payload, QByteArray("Hello"));
    QCOMPARE(text.frame.streamOffset, qint64(0));
    const auto hello = std::get<MessageEvent>(events[3]);
    QCOMPARE(hello.direction, Direction::Incoming);
    QCOMPARE(hello.message.type, Opcode::Text);
    QCOMPARE(hello.message.data, QByteArray("Hello"));
    QCOMPARE(std::get<FrameEvent>(events[4]).frame.streamOffset, qint64(7));
    const auto binary = std::get<MessageEvent>(events[5]);
    QCOMPARE(binary.message.type, Opcode::Binary);
    QCOMPARE(binary.message.data, hex("010203"));
    QCOMPARE(binary.message.streamOffset, qint64(7));

    const auto ping = std::get<PingEvent>(events[7]);
    QCOMPARE(ping.payload, QByteArray("Hello"));
    QVERIFY(ping.answered);
    // RFC 6455 §5.7: the masked pong "Hello" with key 37fa213d, sent at once.
    QCOMPARE(client->takeOutgoing().toHex(), QByteArray("8a8537fa213d7f9f4d5158"));
    const auto pong = std::get<FrameEvent>(events[8]);
    QCOMPARE(pong.direction, Direction::Outgoing);
    QCOMPARE(pong.frame.header.opcode, quint8(0xA));
    QCOMPARE(pong.frame.header.maskingKey, std::optional<quint32>(kSampleMaskKey));
    QCOMPARE(pong.frame.rawHeader.toByteArray(), hex("8a8537fa213d"));
    QCOMPARE(pong.frame.payload, QByteArray("Hello"));
    QCOMPARE(pong.frame.streamOffset, qint64(0));

    // The server closes with 1000: the client echoes it (masked) and is done, but
    // leaves closing TCP to the server (RFC 6455 §7.1.1).
    client->receiveData(hex("880203e8"), 3000);
    events = takeEvents(*client);
    QCOMPARE(kinds(events), QStringList({"frame<", "close", "state", "frame>", "state", "closed"}));
    QCOMPARE(std::get<CloseEvent>(events[1]).code, std::optional<quint16>(1000));
    QCOMPARE(std::get<StateEvent>(events[2]).state, SessionState::Closing);
    QCOMPARE(std::get<FrameEvent>(events[3]).frame.closeCode, std::optional<quint16>(1000));
    QCOMPARE(std::get<FrameEvent>(events[3]).frame.streamOffset, qint64(11));
    QCOMPARE(std::get<StateEvent>(events[4]).state, SessionState::Closed);
    const auto closed = std::get<ClosedEvent>(events[5]);
    QCOMPARE(closed.code, quint16(1000));
    QVERIFY(closed.clean);
    QVERIFY(!closed.closedByUs);
    QCOMPARE(closed.timestampUs, qint64(3000));
    QCOMPARE(client->takeOutgoing().toHex(), QByteArray("888237fa213d3412"));
    QVERIFY(client->closeSent());
    QVERIFY(client->closeReceived());
    QVERIFY(!client->shouldCloseTransport());

    client->receiveEof(3000);
    QVERIFY(!client->hasEvent());
    QVERIFY(client->shouldCloseTransport());
    QCOMPARE(client->bytesSent(), qint64(kSampleRequest.size() + 11 + 8));
    QCOMPARE(client->bytesReceived(), qint64(kSampleResponse.size() + frames.size() + 4));
}

void TestSession::clientFailedHandshake() {
    auto client = makeClient();
    client->start(AnyTime);
    client->takeOutgoing();
    const QByteArray answer = "HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nnope";
    client->receiveData(answer, AnyTime);
    const QList<SessionEvent> events = takeEvents(*client);
    QCOMPARE(kinds(events), QStringList({"handshake", "state", "closed"}));
    const auto handshake = std::get<HandshakeEvent>(events[0]);
    QCOMPARE(handshake.kind, HandshakeEvent::Kind::Failed);
    QCOMPARE(handshake.httpStatus, 403);
    QCOMPARE(handshake.rawRequest, kSampleRequest);
    QCOMPARE(handshake.rawResponse,
             QByteArray("HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\n"));
    QVERIFY(!handshake.error.isEmpty());
    const auto closed = std::get<ClosedEvent>(events[2]);
    QCOMPARE(closed.code, quint16(1006));
    QVERIFY(!closed.clean);
    QVERIFY(!closed.closedByUs);
    QVERIFY(client->shouldCloseTransport());
    QCOMPARE(client->state(), SessionState::Closed);
    QCOMPARE(client->sendText("late", AnyTime), SendError::NotOpen);

    client->receiveData(hex("810548656c6c6f"), AnyTime);
    client->receiveEof(AnyTime);
    QVERIFY(!client->hasEvent());
    QVERIFY(!client->hasOutgoing());
}

void TestSession::clientEofDuringHandshake() {
    auto client = makeClient();
    client->start(AnyTime);
    client->takeOutgoing();
    client->receiveData("HTTP/1.1 101 Switching", AnyTime);
    QVERIFY(!client->hasEvent());
    client->receiveEof(AnyTime);
    const QList<SessionEvent> events = takeEvents(*client);
    QCOMPARE(kinds(events), QStringList({"handshake", "state", "closed"}));
    QCOMPARE(std::get<HandshakeEvent>(events[0]).kind, HandshakeEvent::Kind::Failed);
    QCOMPARE(std::get<ClosedEvent>(events[2]).code, quint16(1006));
}

void TestSession::serverWithBrowserRequest() {
    Session server{SessionOptions{}};
    QCOMPARE(server.role(), Role::Server);
    server.start(AnyTime); // nothing for a server
    QVERIFY(!server.hasOutgoing());
    // Split inside the header block: the handshake waits for the rest.
    server.receiveData(kBrowserRequest.left(100), 10);
    QVERIFY(!server.hasEvent());
    server.receiveData(kBrowserRequest.mid(100), 10);

    QList<SessionEvent> events = takeEvents(server);
    QCOMPARE(kinds(events), QStringList({"handshake"}));
    const auto upgrade = std::get<HandshakeEvent>(events[0]);
    QCOMPARE(upgrade.kind, HandshakeEvent::Kind::UpgradeRequested);
    QCOMPARE(upgrade.rawRequest, kBrowserRequest);
    QCOMPARE(upgrade.timestampUs, qint64(10));
    QCOMPARE(upgrade.extensions.size(), 1);
    QCOMPARE(upgrade.extensions[0].name, QByteArray("permessage-deflate"));
    QVERIFY(server.serverHandshake());
    QVERIFY(!server.clientHandshake());
    QCOMPARE(server.serverHandshake()->origin(), QByteArray("http://127.0.0.1:9001"));
    QCOMPARE(server.state(), SessionState::Connecting);
    QVERIFY(!server.hasOutgoing());

    // The network layer takes nothing the client offered.
    server.accept({}, {}, nullptr, 10);
    QCOMPARE(server.takeOutgoing(), kPlainAccept);
    QCOMPARE(server.rawHandshakeResponse(), kPlainAccept);
    QCOMPARE(server.rawHandshakeRequest(), kBrowserRequest);
    events = takeEvents(server);
    QCOMPARE(kinds(events), QStringList({"state"}));
    QCOMPARE(server.state(), SessionState::Open);

    // RFC 6455 §5.7: a masked "Hello", then "Hel" + "lo" as two masked fragments,
    // then a masked ping "Hello".
    server.receiveData(hex("818537fa213d7f9f4d5158"
                           "018337fa213d7f9f4d"
                           "808237fa213d5b95"
                           "898537fa213d7f9f4d5158"),
                       AnyTime);
    events = takeEvents(server);
    QCOMPARE(kinds(events), QStringList({"frame<", "message<", "frame<", "frame<", "message<",
                                         "frame<", "ping", "frame>"}));
    const auto first = std::get<FrameEvent>(events[0]);
    QCOMPARE(first.frame.header.maskingKey, std::optional<quint32>(kSampleMaskKey));
    QCOMPARE(first.frame.payload, QByteArray("Hello"));
    QCOMPARE(std::get<MessageEvent>(events[1]).message.data, QByteArray("Hello"));
    const auto fragmented = std::get<MessageEvent>(events[4]);
    QCOMPARE(fragmented.message.data, QByteArray("Hello"));
    QCOMPARE(fragmented.message.frameCount, 2);
    QCOMPARE(fragmented.message.streamOffset, qint64(11));
    QCOMPARE(std::get<FrameEvent>(events[3]).frame.streamOffset, qint64(20));
    // The pong goes out unmasked: RFC 6455 §5.7 "0x8a 0x05 0x48 0x65 0x6c 0x6c 0x6f".
    QCOMPARE(server.takeOutgoing().toHex(), QByteArray("8a0548656c6c6f"));

    // RFC 6455 §5.7: 256 bytes and 64 KiB binary messages, each in a single frame;
    // echoed back unmasked with the 16-bit and 64-bit lengths of the RFC's examples.
    const QByteArray medium = patterned(256);
    const QByteArray large = patterned(65536);
    server.receiveData(frame(0x82, medium, kSampleMaskKey) + frame(0x82, large, 0x01020304), 10);
    events = takeEvents(server);
    const QList<MessageEvent> messages = eventsOf<MessageEvent>(events);
    QCOMPARE(messages.size(), 2);
    QCOMPARE(messages[0].message.data, medium);
    QCOMPARE(messages[1].message.data, large);
    QCOMPARE(server.sendBinary(messages[0].message.data, 10), SendError::None);
    QCOMPARE(server.sendBinary(messages[1].message.data, 10), SendError::None);
    QCOMPARE(server.sendText("Hello", 10), SendError::None);
    QCOMPARE(server.takeOutgoing(), hex("827e0100") + medium + hex("827f0000000000010000") + large +
                                        hex("810548656c6c6f"));
    events = takeEvents(server);
    QCOMPARE(kinds(events),
             QStringList({"frame>", "message>", "frame>", "message>", "frame>", "message>"}));
    const auto mediumOut = std::get<FrameEvent>(events[0]);
    QCOMPARE(mediumOut.frame.header.lengthEncoding, LengthEncoding::Extended16);
    QCOMPARE(mediumOut.frame.rawHeader.toByteArray(), hex("827e0100"));
    QCOMPARE(mediumOut.frame.streamOffset, qint64(7));
    QCOMPARE(mediumOut.frame.payload, medium);
    const auto largeOut = std::get<FrameEvent>(events[2]);
    QCOMPARE(largeOut.frame.header.lengthEncoding, LengthEncoding::Extended64);
    QCOMPARE(largeOut.frame.streamOffset, qint64(7 + 4 + 256));
    QCOMPARE(std::get<MessageEvent>(events[5]).message.data, QByteArray("Hello"));
    QCOMPARE(std::get<MessageEvent>(events[5]).message.streamOffset,
             qint64(7 + 4 + 256 + 10 + 65536));

    // The client closes with 1000 (masked): the server echoes and closes TCP first.
    server.receiveData(hex("888237fa213d3412"), 10);
    events = takeEvents(server);
    QCOMPARE(kinds(events), QStringList({"frame<", "close", "state", "frame>", "state", "closed"}));
    QCOMPARE(server.takeOutgoing().toHex(), QByteArray("880203e8"));
    QVERIFY(server.shouldCloseTransport());
    const auto closed = std::get<ClosedEvent>(events[5]);
    QCOMPARE(closed.code, quint16(1000));
    QVERIFY(closed.clean);
    QVERIFY(!closed.closedByUs);
}

void TestSession::serverRejects() {
    Session server{SessionOptions{}};
    server.receiveData(kBrowserRequest, AnyTime);
    QCOMPARE(kinds(takeEvents(server)), QStringList({"handshake"}));
    server.reject(403, "Forbidden", AnyTime);
    const QByteArray expected = "HTTP/1.1 403 Forbidden\r\n"
                                "Content-Type: text/plain; charset=utf-8\r\n"
                                "Content-Length: 10\r\n"
                                "Connection: close\r\n"
                                "\r\n"
                                "Forbidden\n";
    QCOMPARE(server.takeOutgoing(), expected);
    QCOMPARE(server.rawHandshakeResponse(), expected);
    QVERIFY(server.shouldCloseTransport());
    QCOMPARE(server.state(), SessionState::Closed);
    const QList<SessionEvent> events = takeEvents(server);
    QCOMPARE(kinds(events), QStringList({"state", "closed"}));
    const auto closed = std::get<ClosedEvent>(events[1]);
    QCOMPARE(closed.code, quint16(1006));
    QVERIFY(!closed.clean);
    QVERIFY(closed.closedByUs);

    // Too late for anything else.
    server.accept({}, {}, nullptr, AnyTime);
    server.receiveData(frame(0x81, "Hello", kSampleMaskKey), AnyTime);
    server.receiveEof(AnyTime);
    QVERIFY(!server.hasOutgoing());
    QVERIFY(!server.hasEvent());
}

void TestSession::serverAnswersPlainHttp() {
    Session server{SessionOptions{}};
    const QByteArray request = "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    server.receiveData(request, AnyTime);
    QList<SessionEvent> events = takeEvents(server);
    QCOMPARE(kinds(events), QStringList({"handshake"}));
    const auto plain = std::get<HandshakeEvent>(events[0]);
    QCOMPARE(plain.kind, HandshakeEvent::Kind::PlainHttpRequest);
    QCOMPARE(plain.rawRequest, request);
    QCOMPARE(server.serverHandshake()->request().target, QByteArray("/index.html"));
    // accept() is for upgrades only.
    server.accept({}, {}, nullptr, AnyTime);
    QVERIFY(!server.hasOutgoing());

    const QByteArray response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    server.respondHttp(response, QStringLiteral("plain HTTP request answered 200"), AnyTime);
    QCOMPARE(server.takeOutgoing(), response);
    QVERIFY(server.shouldCloseTransport());
    events = takeEvents(server);
    QCOMPARE(kinds(events), QStringList({"state", "closed"}));
    QCOMPARE(std::get<ClosedEvent>(events[1]).code, quint16(1006));
    // The reason says why the connection ended without a WebSocket.
    QCOMPARE(std::get<ClosedEvent>(events[1]).reason,
             QStringLiteral("plain HTTP request answered 200"));
    server.respondHttp(response, QStringLiteral("again"), AnyTime);
    QVERIFY(!server.hasOutgoing());
}

void TestSession::serverFailsMalformedRequest() {
    Session server{SessionOptions{}};
    const QByteArray request = "POST /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n";
    server.receiveData(request, AnyTime);
    const QList<SessionEvent> events = takeEvents(server);
    QCOMPARE(kinds(events), QStringList({"handshake", "state", "closed"}));
    const auto failed = std::get<HandshakeEvent>(events[0]);
    QCOMPARE(failed.kind, HandshakeEvent::Kind::Failed);
    QCOMPARE(failed.httpStatus, 405);
    QCOMPARE(failed.rawRequest, request);
    const QByteArray out = server.takeOutgoing();
    QVERIFY(out.startsWith("HTTP/1.1 405 "));
    QCOMPARE(failed.rawResponse, out);
    QVERIFY(server.shouldCloseTransport());
}

void TestSession::bytesBeforeAcceptAreDecodedAfterIt() {
    Session server{SessionOptions{}};
    // A client that does not wait for the 101: its frames come with the request and
    // after it, and are held until the network layer accepts.
    server.receiveData(kBrowserRequest + hex("818537fa213d7f9f4d5158") + hex("8985"), AnyTime);
    server.receiveData(hex("37fa213d7f9f4d5158"), AnyTime);
    QCOMPARE(kinds(takeEvents(server)), QStringList({"handshake"}));
    QVERIFY(!server.hasOutgoing());
    server.accept({}, {}, nullptr, AnyTime);
    QCOMPARE(server.takeOutgoing(), kPlainAccept + hex("8a0548656c6c6f"));
    const QList<SessionEvent> events = takeEvents(server);
    QCOMPARE(kinds(events),
             QStringList({"state", "frame<", "message<", "frame<", "ping", "frame>"}));
    QCOMPARE(std::get<MessageEvent>(events[2]).message.data, QByteArray("Hello"));
    QCOMPARE(std::get<FrameEvent>(events[3]).frame.streamOffset, qint64(11));
}

void TestSession::earlyBytesAreBounded() {
    SessionOptions options;
    options.handshakeLimits.maxBodyBytes = 16;
    Session server(options);
    server.receiveData(kBrowserRequest + QByteArray(16, 'x'), AnyTime);
    QCOMPARE(kinds(takeEvents(server)), QStringList({"handshake"}));
    server.receiveData("y", AnyTime);
    const QList<SessionEvent> events = takeEvents(server);
    QCOMPARE(kinds(events), QStringList({"handshake", "state", "closed"}));
    const auto failed = std::get<HandshakeEvent>(events[0]);
    QCOMPARE(failed.kind, HandshakeEvent::Kind::Failed);
    QCOMPARE(failed.httpStatus, 400);
    QVERIFY(server.takeOutgoing().startsWith("HTTP/1.1 400 Bad Request\r\n"));
    QVERIFY(server.shouldCloseTransport());
    server.accept({}, {}, nullptr, AnyTime);
    QVERIFY(!server.hasOutgoing());
}

void TestSession::messageSizes_data() {
    QTest::addColumn<Role>("sender");
    QTest::addColumn<bool>("text");
    QTest::addColumn<int>("size");
    QTest::addColumn<LengthEncoding>("encoding");

    const struct {
        int size;
        LengthEncoding encoding;
    } sizes[] = {{0, LengthEncoding::Short7},
                 {125, LengthEncoding::Short7},
                 {126, LengthEncoding::Extended16},
                 {65535, LengthEncoding::Extended16},
                 {65536, LengthEncoding::Extended64}};
    for (const Role sender : {Role::Client, Role::Server})
        for (const bool text : {true, false})
            for (const auto &row : sizes)
                QTest::addRow("%s %s %d", sender == Role::Client ? "client" : "server",
                              text ? "text" : "binary", row.size)
                    << sender << text << row.size << row.encoding;
}

void TestSession::messageSizes() {
    QFETCH(Role, sender);
    QFETCH(bool, text);
    QFETCH(int, size);
    QFETCH(LengthEncoding, encoding);

    Pair pair;
    pair.open();
    QCOMPARE(pair.client->state(), SessionState::Open);
    QCOMPARE(pair.server->state(), SessionState::Open);
    const Role receiver = peerRole(sender);
    // Text: ASCII letters (valid UTF-8 at any length); binary: every byte value.
    QByteArray data = patterned(size);
    if (text)
        for (char &c : data)
            c = char('a' + quint8(c) % 26);
    Session &from = pair.side(sender);
    QCOMPARE(text ? from.sendText(data, AnyTime) : from.sendBinary(data, AnyTime), SendError::None);
    pair.pump();

    const QList<SessionEvent> &sent = pair.eventsOf(sender);
    const QList<SessionEvent> &received = pair.eventsOf(receiver);
    QCOMPARE(kinds(sent), QStringList({"frame>", "message>"}));
    QCOMPARE(kinds(received), QStringList({"frame<", "message<"}));
    const auto out = std::get<FrameEvent>(sent[0]);
    const auto in = std::get<FrameEvent>(received[0]);
    QCOMPARE(out.frame.header.lengthEncoding, encoding);
    QCOMPARE(out.frame.header.masked(), sender == Role::Client);
    // What one side says it sent is what the other says it received.
    QCOMPARE(in.frame.header, out.frame.header);
    QCOMPARE(in.frame.rawHeader, out.frame.rawHeader);
    QCOMPARE(in.frame.payload, data);
    QCOMPARE(out.frame.payload, data);
    QCOMPARE(in.frame.streamOffset, out.frame.streamOffset);
    const auto message = std::get<MessageEvent>(received[1]);
    QCOMPARE(message.message.type, text ? Opcode::Text : Opcode::Binary);
    QCOMPARE(message.message.data, data);
    const auto sentMessage = std::get<MessageEvent>(sent[1]);
    QCOMPARE(sentMessage.message.data, data);
    QCOMPARE(sentMessage.message.wireSize, qint64(size));
    QCOMPARE(pair.side(receiver).bytesReceived(), pair.side(sender).bytesSent());
}

void TestSession::fragmentedUtf8_data() {
    QTest::addColumn<Role>("sender");
    QTest::addColumn<int>("fragmentSize");
    for (const Role sender : {Role::Client, Role::Server})
        for (int fragmentSize = 1; fragmentSize <= 9; ++fragmentSize)
            QTest::addRow("%s %d", sender == Role::Client ? "client" : "server", fragmentSize)
                << sender << fragmentSize;
}

void TestSession::fragmentedUtf8() {
    QFETCH(Role, sender);
    QFETCH(int, fragmentSize);

    // Two-, three- and four-byte characters: most fragment sizes cut through them.
    const QByteArray text = QStringLiteral(u"Grüße, 世界! \U0001F600 €").toUtf8();
    Pair pair;
    pair.open();
    const Role receiver = peerRole(sender);
    QCOMPARE(pair.side(sender).sendText(text, AnyTime, fragmentSize), SendError::None);
    pair.pump();

    const qsizetype frames = (text.size() + fragmentSize - 1) / fragmentSize;
    const QList<FrameEvent> sentFrames = eventsOf<FrameEvent>(pair.eventsOf(sender));
    const QList<FrameEvent> receivedFrames = eventsOf<FrameEvent>(pair.eventsOf(receiver));
    QCOMPARE(sentFrames.size(), frames);
    QCOMPARE(receivedFrames.size(), frames);
    QByteArray joined;
    bool splitInsideCharacter = false;
    for (qsizetype i = 0; i < frames; ++i) {
        const FrameHeader &header = sentFrames[i].frame.header;
        QCOMPARE(header.opcode, quint8(i == 0 ? 0x1 : 0x0));
        QCOMPARE(header.fin, i == frames - 1);
        QCOMPARE(receivedFrames[i].frame.header, header);
        QCOMPARE(receivedFrames[i].frame.payload, sentFrames[i].frame.payload);
        QCOMPARE(receivedFrames[i].frame.streamOffset, sentFrames[i].frame.streamOffset);
        joined += sentFrames[i].frame.payload;
        if (i > 0 && (quint8(sentFrames[i].frame.payload.at(0)) & 0xC0) == 0x80)
            splitInsideCharacter = true;
    }
    QCOMPARE(joined, text);
    if (fragmentSize < 8)
        QVERIFY(splitInsideCharacter);

    const QList<MessageEvent> messages = eventsOf<MessageEvent>(pair.eventsOf(receiver));
    QCOMPARE(messages.size(), 1);
    QCOMPARE(messages[0].message.data, text);
    QCOMPARE(messages[0].message.frameCount, int(frames));
    const QList<MessageEvent> sentMessages = eventsOf<MessageEvent>(pair.eventsOf(sender));
    QCOMPARE(sentMessages.size(), 1);
    QCOMPARE(sentMessages[0].message.frameCount, int(frames));
    QCOMPARE(sentMessages[0].message.data, text);
    QVERIFY(eventsOf<ViolationEvent>(pair.eventsOf(receiver)).isEmpty());
}

void TestSession::pingRoundTrip() {
    Pair pair;
    pair.open();
    QCOMPARE(pair.client->sendPing("rtt", 1'000'000), SendError::None);
    pair.server->receiveData(pair.client->takeOutgoing(), 5);
    // The server answers at once with the same payload.
    const QList<SessionEvent> serverEvents = takeEvents(*pair.server);
    QCOMPARE(kinds(serverEvents), QStringList({"frame<", "ping", "frame>"}));
    QCOMPARE(pair.server->takeOutgoing(), hex("8a03") + "rtt");

    pair.client->receiveData(hex("8a03") + "rtt", 1'000'750);
    const QList<SessionEvent> events = takeEvents(*pair.client);
    QCOMPARE(kinds(events).mid(1), QStringList({"frame<", "pong"}));
    const auto pong = std::get<PongEvent>(events[2]);
    QCOMPARE(pong.payload, QByteArray("rtt"));
    QCOMPARE(pong.roundTripUs, std::optional<qint64>(750));
    QCOMPARE(pong.timestampUs, qint64(1'000'750));

    // The same ping again: a pong whose ping was already answered matches nothing.
    pair.client->receiveData(hex("8a03") + "rtt", 1'000'750);
    const QList<NoteEvent> notes = eventsOf<NoteEvent>(takeEvents(*pair.client));
    QCOMPARE(notes.size(), 1);
    QCOMPARE(notes[0].note.kind, ConformanceNote::Kind::UnsolicitedPong);
}

void TestSession::eventsCarryTheTimeOfTheirCall() {
    auto server = openServer();
    // A message and a ping read at 500: both stamped 500, and so is the automatic
    // pong queued while decoding them.
    server->receiveData(frame(0x81, "Hi", kSampleMaskKey) + frame(0x89, "p", 0x01020304), 500);
    QList<SessionEvent> events = takeEvents(*server);
    QCOMPARE(kinds(events), QStringList({"frame<", "message<", "frame<", "ping", "frame>"}));
    for (const SessionEvent &event : events)
        QCOMPARE(std::visit([](const auto &e) { return e.timestampUs; }, event), qint64(500));
    QCOMPARE(std::get<FrameEvent>(events[4]).queuedUs, qint64(500));

    // A send later is stamped with its own call's time, not the last read's.
    QCOMPARE(server->sendText("later", 9000), SendError::None);
    events = takeEvents(*server);
    QCOMPARE(kinds(events), QStringList({"frame>", "message>"}));
    QCOMPARE(std::get<FrameEvent>(events[0]).timestampUs, qint64(9000));
    QCOMPARE(std::get<MessageEvent>(events[1]).timestampUs, qint64(9000));
    QCOMPARE(std::get<MessageEvent>(events[1]).queuedUs, qint64(9000));
    server->takeOutgoing();

    // The end of the transport and an abort carry theirs.
    server->receiveEof(9100);
    events = takeEvents(*server);
    QCOMPARE(std::get<ClosedEvent>(events.last()).timestampUs, qint64(9100));
    auto client = openClient();
    client->abort(QStringLiteral("gave up"), 7);
    QCOMPARE(eventsOf<ClosedEvent>(takeEvents(*client)).value(0).timestampUs, qint64(7));
}

void TestSession::sentEventsCarryTheWriteTime() {
    auto client = openClient();
    QCOMPARE(client->sendText("first", 100), SendError::None);
    QCOMPARE(client->sendText("fragmented", 110, 4), SendError::None);
    // The transport takes the bytes, writes them and says when.
    QVERIFY(!client->takeOutgoing().isEmpty());
    // Queued after the bytes were taken: not part of that write.
    QCOMPARE(client->sendBinary("second", 200), SendError::None);
    client->outgoingWritten(150);
    QList<SessionEvent> events = takeEvents(*client);
    QCOMPARE(kinds(events), QStringList({"frame>", "message>", "frame>", "frame>", "frame>",
                                         "message>", "frame>", "message>"}));
    for (int i = 0; i < 6; ++i) {
        const auto [time, queued] = std::visit(
            [](const auto &e) -> std::pair<qint64, qint64> {
                if constexpr (requires { e.queuedUs; })
                    return {e.timestampUs, e.queuedUs};
                return {e.timestampUs, -1};
            },
            events[i]);
        QCOMPARE(time, qint64(150));
        QCOMPARE(queued, i < 2 ? qint64(100) : qint64(110));
    }
    QCOMPARE(std::get<FrameEvent>(events[6]).timestampUs, qint64(200));
    QCOMPARE(std::get<MessageEvent>(events[7]).queuedUs, qint64(200));

    // Events already taken are not touched; the next write stamps only what is new.
    QCOMPARE(client->sendText("third", 300), SendError::None);
    client->takeOutgoing();
    client->outgoingWritten(320);
    client->outgoingWritten(999); // nothing new was taken
    events = takeEvents(*client);
    QCOMPARE(kinds(events), QStringList({"frame>", "message>"}));
    QCOMPARE(std::get<FrameEvent>(events[0]).timestampUs, qint64(320));
    QCOMPARE(std::get<FrameEvent>(events[0]).queuedUs, qint64(300));

    // takeOutgoingChunks() counts as taking the bytes too.
    auto server = openServer();
    QCOMPARE(server->sendBinary(QByteArray(20000, 'x'), 1000), SendError::None);
    QList<QByteArray> chunks;
    server->takeOutgoingChunks(chunks);
    server->outgoingWritten(1040);
    events = takeEvents(*server);
    QCOMPARE(std::get<FrameEvent>(events[0]).timestampUs, qint64(1040));
    QCOMPARE(std::get<MessageEvent>(events[1]).timestampUs, qint64(1040));
    QCOMPARE(std::get<MessageEvent>(events[1]).queuedUs, qint64(1000));
}

void TestSession::roundTripCountsFromTheWrite() {
    auto client = openClient();
    QCOMPARE(client->sendPing("slow", 1000), SendError::None);
    // The bytes left 4 ms after the call (a busy caller); the pong came 300 us later.
    client->takeOutgoing();
    client->outgoingWritten(5000);
    QCOMPARE(client->sendPing("unsent", 5100), SendError::None);
    client->receiveData(hex("8a04") + "slow", 5300);
    QList<PongEvent> pongs = eventsOf<PongEvent>(takeEvents(*client));
    QCOMPARE(pongs.size(), 1);
    QCOMPARE(pongs[0].roundTripUs, std::optional<qint64>(300));
    QCOMPARE(pongs[0].timestampUs, qint64(5300));

    // A ping whose write was never reported counts from its send call.
    client->receiveData(hex("8a06") + "unsent", 5400);
    pongs = eventsOf<PongEvent>(takeEvents(*client));
    QCOMPARE(pongs.value(0).roundTripUs, std::optional<qint64>(300));
}

void TestSession::pongMatching() {
    auto client = openClient();
    QCOMPARE(client->sendPing("a", 0), SendError::None);
    QCOMPARE(client->sendPing("b", 100), SendError::None);
    QCOMPARE(client->sendPing({}, 100), SendError::None);
    takeEvents(*client);

    // RFC 6455 §5.5.3: a pong may answer only the most recent ping.
    client->receiveData(hex("8a0162"), 300);
    QList<SessionEvent> events = takeEvents(*client);
    QCOMPARE(kinds(events), QStringList({"frame<", "pong"}));
    QCOMPARE(std::get<PongEvent>(events[1]).roundTripUs, std::optional<qint64>(200));

    // "a" was older than "b": forgotten. The empty ping is still outstanding.
    client->receiveData(hex("8a0161"), 300);
    events = takeEvents(*client);
    QCOMPARE(kinds(events), QStringList({"frame<", "note", "pong"}));
    QCOMPARE(std::get<NoteEvent>(events[1]).note.kind, ConformanceNote::Kind::PongMismatch);
    QCOMPARE(std::get<NoteEvent>(events[1]).note.streamOffset, qint64(3));
    QVERIFY(!std::get<PongEvent>(events[2]).roundTripUs);

    client->receiveData(hex("8a00"), 400);
    events = takeEvents(*client);
    QCOMPARE(kinds(events), QStringList({"frame<", "pong"}));
    QCOMPARE(std::get<PongEvent>(events[1]).roundTripUs, std::optional<qint64>(300));

    // A heartbeat pong with nothing outstanding.
    client->receiveData(hex("8a00"), 400);
    events = takeEvents(*client);
    QCOMPARE(kinds(events), QStringList({"frame<", "note", "pong"}));
    QCOMPARE(std::get<NoteEvent>(events[1]).note.kind, ConformanceNote::Kind::UnsolicitedPong);

    // Only a bounded number of pings is remembered; the newest ones still match.
    for (int i = 0; i < 100; ++i) {
        QCOMPARE(client->sendPing(QByteArray::number(i), 1000 + i), SendError::None);
    }
    client->receiveData(hex("8a02") + "99", 2000);
    events = takeEvents(*client);
    QCOMPARE(eventsOf<PongEvent>(events).at(0).roundTripUs, std::optional<qint64>(2000 - 1099));
}

void TestSession::closeHandshake_data() {
    QTest::addColumn<Role>("closer");
    QTest::newRow("client closes") << Role::Client;
    QTest::newRow("server closes") << Role::Server;
}

void TestSession::closeHandshake() {
    QFETCH(Role, closer);
    const Role other = peerRole(closer);
    Pair pair;
    pair.open();
    Session &first = pair.side(closer);
    Session &second = pair.side(other);

    QCOMPARE(first.sendClose(4000, QStringLiteral("bye"), AnyTime), SendError::None);
    QCOMPARE(first.state(), SessionState::Closing);
    QVERIFY(first.closeSent());
    QCOMPARE(first.sendText("more", AnyTime), SendError::CloseAlreadySent);
    QCOMPARE(first.sendBinary("more", AnyTime), SendError::CloseAlreadySent);
    QCOMPARE(first.sendClose(1000, {}, AnyTime), SendError::CloseAlreadySent);
    QList<SessionEvent> events = takeEvents(first);
    QCOMPARE(kinds(events), QStringList({"frame>", "state"}));
    QCOMPARE(std::get<FrameEvent>(events[0]).frame.closeCode, std::optional<quint16>(4000));
    QCOMPARE(std::get<FrameEvent>(events[0]).frame.closeReason, QStringLiteral("bye"));
    const QByteArray closeBytes = first.takeOutgoing();
    const WireClose ours = parseClose(closeBytes);
    QVERIFY(ours.isClose);
    QCOMPARE(ours.masked, closer == Role::Client);
    QCOMPARE(ours.code, std::optional<quint16>(4000));
    QCOMPARE(ours.reason, QByteArray("bye"));

    second.receiveData(closeBytes, AnyTime);
    events = takeEvents(second);
    QCOMPARE(kinds(events), QStringList({"frame<", "close", "state", "frame>", "state", "closed"}));
    QCOMPARE(std::get<CloseEvent>(events[1]).code, std::optional<quint16>(4000));
    QCOMPARE(std::get<CloseEvent>(events[1]).reason, QStringLiteral("bye"));
    const auto secondClosed = std::get<ClosedEvent>(events[5]);
    QCOMPARE(secondClosed.code, quint16(4000));
    QCOMPARE(secondClosed.reason, QStringLiteral("bye"));
    QVERIFY(secondClosed.clean);
    QVERIFY(!secondClosed.closedByUs);
    // The answer echoes the code, without a reason.
    const QByteArray answer = second.takeOutgoing();
    const WireClose echoed = parseClose(answer);
    QCOMPARE(echoed.frameSize, answer.size());
    QCOMPARE(echoed.code, std::optional<quint16>(4000));
    QVERIFY(echoed.reason.isEmpty());
    // RFC 6455 §7.1.1: the server closes TCP first; the client waits for it.
    QCOMPARE(second.shouldCloseTransport(), other == Role::Server);
    QVERIFY(!first.shouldCloseTransport());

    first.receiveData(answer, AnyTime);
    events = takeEvents(first);
    QCOMPARE(kinds(events), QStringList({"frame<", "close", "state", "closed"}));
    const auto firstClosed = std::get<ClosedEvent>(events[3]);
    QCOMPARE(firstClosed.code, quint16(4000));
    QVERIFY(firstClosed.reason.isEmpty());
    QVERIFY(firstClosed.clean);
    QVERIFY(firstClosed.closedByUs);
    QVERIFY(!first.hasOutgoing());
    QCOMPARE(first.state(), SessionState::Closed);
    QCOMPARE(second.state(), SessionState::Closed);
    QVERIFY(pair.server->shouldCloseTransport());
    QVERIFY(!pair.client->shouldCloseTransport());

    // The server's TCP close reaches the client: nothing more to report.
    pair.client->receiveEof(AnyTime);
    QVERIFY(!pair.client->hasEvent());
    QVERIFY(pair.client->shouldCloseTransport());
    QCOMPARE(pair.client->sendPing({}, AnyTime), SendError::NotOpen);
}

void TestSession::emptyCloseIsEchoedEmpty() {
    auto server = openServer();
    server->receiveData(hex("888037fa213d"), AnyTime);
    const QList<SessionEvent> events = takeEvents(*server);
    QVERIFY(!std::get<CloseEvent>(events[1]).code);
    QCOMPARE(server->takeOutgoing().toHex(), QByteArray("8800"));
    const auto closed = eventsOf<ClosedEvent>(events).at(0);
    QCOMPARE(closed.code, quint16(1005));
    QVERIFY(closed.clean);
}

void TestSession::peerDataWhileOurCloseIsUnanswered() {
    // RFC 6455 §5.5.1: after sending a close we may still receive data until the
    // peer's close arrives.
    auto server = openServer();
    QCOMPARE(server->sendClose(1001, QStringLiteral("going"), AnyTime), SendError::None);
    QCOMPARE(server->takeOutgoing(), hex("880703e9") + "going");
    takeEvents(*server);
    server->receiveData(frame(0x81, "late", kSampleMaskKey), AnyTime);
    QList<SessionEvent> events = takeEvents(*server);
    QCOMPARE(kinds(events), QStringList({"frame<", "message<"}));
    // Pings are still answered while closing.
    server->receiveData(frame(0x89, "p", kSampleMaskKey), AnyTime);
    QCOMPARE(server->takeOutgoing(), hex("8a0170"));
    QCOMPARE(server->sendPong("q", AnyTime), SendError::None);
    QCOMPARE(server->takeOutgoing(), hex("8a0171"));
    takeEvents(*server);
    server->receiveData(frame(0x88, closeBody(1001), kSampleMaskKey), AnyTime);
    events = takeEvents(*server);
    QCOMPARE(kinds(events), QStringList({"frame<", "close", "state", "closed"}));
    QVERIFY(!server->hasOutgoing());
    QVERIFY(server->shouldCloseTransport());
    const auto closed = std::get<ClosedEvent>(events[3]);
    QCOMPARE(closed.code, quint16(1001));
    QVERIFY(closed.clean);
    QVERIFY(closed.closedByUs);
}

void TestSession::serverViolations_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<ProtocolError>("error");
    QTest::addColumn<int>("code");
    QTest::addColumn<qint64>("maxMessageSize");
    QTest::addColumn<Conformance>("conformance");

    const qint64 big = 1 << 20;
    const auto standard = Conformance::Standard;
    // Masked frames use the all-zero key (still a key, RFC 6455 §5.3) so that the
    // payload reads as plain hex.
    QTest::newRow("unmasked client frame")
        << hex("810548656c6c6f") << ProtocolError::UnmaskedClientFrame << 1002 << big << standard;
    QTest::newRow("reserved opcode 3")
        << hex("838000000000") << ProtocolError::ReservedOpcode << 1002 << big << standard;
    QTest::newRow("reserved control opcode B")
        << hex("8b8000000000") << ProtocolError::ReservedOpcode << 1002 << big << standard;
    QTest::newRow("RSV1 without extension")
        << hex("c18000000000") << ProtocolError::ReservedBitsSet << 1002 << big << standard;
    QTest::newRow("fragmented ping")
        << hex("098000000000") << ProtocolError::FragmentedControlFrame << 1002 << big << standard;
    QTest::newRow("ping of 126 bytes")
        << hex("89fe007e00000000") + QByteArray(126, 'p') << ProtocolError::ControlFrameTooLong
        << 1002 << big << standard;
    QTest::newRow("continuation without message")
        << hex("80810000000061") << ProtocolError::UnexpectedContinuation << 1002 << big
        << standard;
    QTest::newRow("new message inside fragmented one")
        << hex("01810000000061"
               "81810000000062")
        << ProtocolError::ExpectedContinuation << 1002 << big << standard;
    QTest::newRow("invalid UTF-8 text")
        << hex("81830000000061c328") << ProtocolError::InvalidUtf8 << 1007 << big << standard;
    QTest::newRow("text ends inside a character")
        << hex("818200000000"
               "61e2")
        << ProtocolError::InvalidUtf8 << 1007 << big << standard;
    QTest::newRow("invalid UTF-8 across fragments")
        << hex("01810000000061"
               "0081000000"
               "00ed"
               "8082000000"
               "00a080")
        << ProtocolError::InvalidUtf8 << 1007 << big << standard;
    QTest::newRow("close payload of one byte")
        << hex("88810000000003") << ProtocolError::CloseFrameOneByte << 1002 << big << standard;
    QTest::newRow("close code 999") << hex("8882000000"
                                           "0003e7")
                                    << ProtocolError::InvalidCloseCode << 1002 << big << standard;
    QTest::newRow("close code 1005") << hex("8882000000"
                                            "0003ed")
                                     << ProtocolError::InvalidCloseCode << 1002 << big << standard;
    QTest::newRow("close reason not UTF-8")
        << hex("8884000000"
               "0003e8c328")
        << ProtocolError::InvalidCloseReason << 1007 << big << standard;
    QTest::newRow("message too big")
        << hex("818500000000") + QByteArray("Hello") << ProtocolError::MessageTooBig << 1009
        << qint64(4) << standard;
    QTest::newRow("fragmented message too big")
        << hex("01830000000048656c"
               "808300000000") +
               QByteArray("lo!")
        << ProtocolError::MessageTooBig << 1009 << qint64(5) << standard;
    QTest::newRow("non-minimal length, strict")
        << hex("82fe000500000000"
               "0102030405")
        << ProtocolError::NonMinimalLength << 1002 << big << Conformance::Strict;
}

void TestSession::serverViolations() {
    QFETCH(QByteArray, bytes);
    QFETCH(ProtocolError, error);
    QFETCH(int, code);
    QFETCH(qint64, maxMessageSize);
    QFETCH(Conformance, conformance);

    SessionOptions options;
    options.maxMessageSize = maxMessageSize;
    options.conformance = conformance;
    auto server = openServer(options);
    // A good message first: it is delivered, the violation after it fails.
    server->receiveData(frame(0x81, "ok", 0x11223344) + bytes, 77);

    const QList<SessionEvent> events = takeEvents(*server);
    QCOMPARE(eventsOf<MessageEvent>(events).size(), 1);
    const QList<ViolationEvent> violations = eventsOf<ViolationEvent>(events);
    QCOMPARE(violations.size(), 1);
    QCOMPARE(violations[0].violation.error, error);
    QCOMPARE(int(violations[0].violation.closeCode()), code);
    QCOMPARE(violations[0].timestampUs, qint64(77));
    QVERIFY(violations[0].violation.streamOffset >= 8);
    QVERIFY(!eventsOf<CloseEvent>(events).size());
    QCOMPARE(kinds(events).mid(kinds(events).indexOf("violation")),
             QStringList({"violation", "frame>", "state", "closed"}));

    // RFC 6455 §7.1.7: a close frame with the code, a short reason, then TCP closes.
    const QByteArray out = server->takeOutgoing();
    const WireClose close = parseClose(out);
    QVERIFY(close.isClose);
    QVERIFY(!close.masked);
    QCOMPARE(close.frameSize, out.size());
    QCOMPARE(close.code, std::optional<quint16>(code));
    QVERIFY(close.reason.size() <= 123);
    QVERIFY(Utf8Validator::isValid(close.reason));
    QVERIFY(violations[0].violation.reason.toUtf8().startsWith(close.reason));
    QVERIFY(server->shouldCloseTransport());
    QCOMPARE(server->state(), SessionState::Closed);
    const auto closed = eventsOf<ClosedEvent>(events).at(0);
    QCOMPARE(int(closed.code), code);
    QVERIFY(!closed.clean);
    QVERIFY(closed.closedByUs);

    // Everything after is ignored, even a proper close.
    server->receiveData(frame(0x81, "Hello", kSampleMaskKey) +
                            frame(0x88, closeBody(1000), kSampleMaskKey),
                        AnyTime);
    server->receiveEof(77);
    QVERIFY(!server->hasEvent());
    QVERIFY(!server->hasOutgoing());
    QCOMPARE(server->sendText("x", 77), SendError::CloseAlreadySent);
}

void TestSession::clientFailsMaskedServerFrame() {
    auto client = openClient();
    client->receiveData(frame(0x81, "Hello", 0x01020304), AnyTime);
    const QList<SessionEvent> events = takeEvents(*client);
    QCOMPARE(kinds(events), QStringList({"violation", "frame>", "state", "closed"}));
    QCOMPARE(std::get<ViolationEvent>(events[0]).violation.error, ProtocolError::MaskedServerFrame);
    const QByteArray out = client->takeOutgoing();
    // Masked with the client's key, like every client frame.
    QCOMPARE(out.left(6).toHex(),
             QByteArray("88") + QByteArray::number(0x80 | (out.size() - 6), 16) + "37fa213d");
    const WireClose close = parseClose(out);
    QCOMPARE(close.code, std::optional<quint16>(1002));
    QVERIFY(client->shouldCloseTransport());
    QCOMPARE(std::get<ClosedEvent>(events[3]).code, quint16(1002));
}

void TestSession::longViolationReasonIsCutAtACharacter() {
    FailingExtension extension;
    Session server{SessionOptions{}};
    server.receiveData(kBrowserRequest, AnyTime);
    takeEvents(server);
    server.accept({}, {}, &extension, AnyTime);
    server.takeOutgoing();
    takeEvents(server);
    server.receiveData(hex("c1810000000061"), AnyTime);
    const QList<ViolationEvent> violations = eventsOf<ViolationEvent>(takeEvents(server));
    QCOMPARE(violations.size(), 1);
    QCOMPARE(violations[0].violation.error, ProtocolError::DecompressionFailed);
    const QByteArray fullReason = violations[0].violation.reason.toUtf8();
    QVERIFY(fullReason.size() > 123);
    // RFC 6455 §5.5: 125 bytes at most, so the reason stops at 123, and here it
    // stops one byte earlier rather than split the 'é' at bytes 122-123.
    const QByteArray out = server.takeOutgoing();
    const WireClose close = parseClose(out);
    QCOMPARE(close.frameSize, out.size());
    QCOMPARE(close.code, std::optional<quint16>(1002));
    QCOMPARE(close.reason, fullReason.left(122));
    QVERIFY(Utf8Validator::isValid(close.reason));
}

void TestSession::dataAfterClose_data() {
    QTest::addColumn<QByteArray>("after");
    QTest::addColumn<bool>("sameRead");
    QTest::newRow("text, same read") << hex("810548656c6c6f") << true;
    QTest::newRow("text, next read") << hex("810548656c6c6f") << false;
    QTest::newRow("ping, same read") << hex("8900") << true;
    QTest::newRow("second close") << hex("880203e8") << false;
}

void TestSession::dataAfterClose() {
    QFETCH(QByteArray, after);
    QFETCH(bool, sameRead);

    auto client = openClient();
    if (sameRead) {
        client->receiveData(hex("880203e8") + after, AnyTime);
    } else {
        client->receiveData(hex("880203e8"), AnyTime);
        client->receiveData(after, AnyTime);
    }
    const QList<SessionEvent> events = takeEvents(*client);
    QCOMPARE(kinds(events), QStringList({"frame<", "close", "state", "frame>", "state", "closed",
                                         "frame<", "violation"}));
    const auto violation = std::get<ViolationEvent>(events[7]).violation;
    QCOMPARE(violation.error, ProtocolError::DataAfterClose);
    QCOMPARE(violation.closeCode(), CloseCode::ProtocolError);
    QCOMPARE(violation.streamOffset, qint64(4));
    // The frame that came too late, byte for byte, the offending byte its first.
    QCOMPARE(violation.frame.bytes.toHex(), after.toHex());
    QCOMPARE(violation.frame.streamOffset, qint64(4));
    QCOMPARE(violation.offsetInFrame(), qint64(0));
    QVERIFY(!violation.frame.isCut());
    // The close handshake had completed: still clean, and no second close goes out.
    const auto closed = std::get<ClosedEvent>(events[5]);
    QVERIFY(closed.clean);
    QCOMPARE(closed.code, quint16(1000));
    QCOMPARE(client->takeOutgoing().toHex(), QByteArray("888237fa213d3412"));
    // The server broke the rules: no point waiting for it to close TCP.
    QVERIFY(client->shouldCloseTransport());
    client->receiveData(hex("810548656c6c6f"), AnyTime);
    QVERIFY(!client->hasEvent());
}

void TestSession::dataAfterCloseWithFramesUnreported() {
    // The decoder leaves data frames out when nobody watches them, but not after a
    // close frame: RFC 6455 §5.5.1 is still enforced, at the frame, whatever the reads.
    for (const bool sameRead : {true, false}) {
        SessionOptions options;
        options.reportFrames = false;
        auto client = openClient(options);
        const QByteArray after = hex("0203010203"); // the first frame of a binary message
        if (sameRead) {
            client->receiveData(hex("880203e8") + after, AnyTime);
        } else {
            client->receiveData(hex("880203e8"), AnyTime);
            client->receiveData(after, AnyTime);
        }
        const QList<SessionEvent> events = takeEvents(*client);
        QCOMPARE(kinds(events), QStringList({"close", "state", "state", "closed", "violation"}));
        const auto violation = std::get<ViolationEvent>(events[4]).violation;
        QCOMPARE(violation.error, ProtocolError::DataAfterClose);
        QCOMPARE(violation.streamOffset, qint64(4));
        QCOMPARE(violation.frame.streamOffset, qint64(4));
        QCOMPARE(violation.frame.bytes.left(2).toHex(), QByteArray("0203"));
        QCOMPARE(violation.frame.headerBytes, 2);
    }
}

void TestSession::dataAfterCloseKeepsTheMaskedBytes() {
    // A client's frame after its close: the violation's frame is what was on the
    // wire, masked, not the payload the decoder unmasked.
    auto server = openServer();
    const QByteArray close = frame(0x88, QByteArray::fromHex("03e8"), kSampleMaskKey);
    const QByteArray late = frame(0x81, "Hello", kSampleMaskKey);
    server->receiveData(close + late, AnyTime);
    const QList<SessionEvent> events = takeEvents(*server);
    const auto found = std::find_if(events.cbegin(), events.cend(), [](const SessionEvent &e) {
        return std::holds_alternative<ViolationEvent>(e);
    });
    QVERIFY(found != events.cend());
    const ProtocolViolation &violation = std::get<ViolationEvent>(*found).violation;
    QCOMPARE(violation.error, ProtocolError::DataAfterClose);
    QCOMPARE(violation.frame.bytes.toHex(), late.toHex());
    QCOMPARE(violation.frame.headerBytes, 6);
    QCOMPARE(violation.frame.streamOffset, qint64(close.size()));
}

void TestSession::eofWithoutClose() {
    auto server = openServer();
    server->receiveData(frame(0x01, "par", kSampleMaskKey), AnyTime);
    takeEvents(*server);
    server->receiveEof(9);
    QList<SessionEvent> events = takeEvents(*server);
    QCOMPARE(kinds(events), QStringList({"state", "closed"}));
    auto closed = std::get<ClosedEvent>(events[1]);
    QCOMPARE(closed.code, quint16(1006));
    QVERIFY(!closed.clean);
    QVERIFY(!closed.closedByUs);
    QCOMPARE(closed.timestampUs, qint64(9));
    QVERIFY(server->shouldCloseTransport());
    QVERIFY(!server->hasOutgoing());
    QCOMPARE(server->sendText("x", 9), SendError::NotOpen);
    QCOMPARE(server->sendClose(1000, {}, 9), SendError::NotOpen);

    auto client = openClient();
    client->receiveEof(AnyTime);
    events = takeEvents(*client);
    QCOMPARE(kinds(events), QStringList({"state", "closed"}));
    QCOMPARE(std::get<ClosedEvent>(events[1]).code, quint16(1006));

    // A server waiting for accept() when the client goes away.
    Session waiting{SessionOptions{}};
    waiting.receiveData(kBrowserRequest, AnyTime);
    takeEvents(waiting);
    waiting.receiveEof(AnyTime);
    QCOMPARE(kinds(takeEvents(waiting)), QStringList({"state", "closed"}));
    waiting.accept({}, {}, nullptr, AnyTime);
    QVERIFY(!waiting.hasOutgoing());
}

void TestSession::eofAfterOurUnansweredClose() {
    auto client = openClient();
    QCOMPARE(client->sendClose(1000, {}, AnyTime), SendError::None);
    takeEvents(*client);
    client->receiveEof(AnyTime);
    const QList<SessionEvent> events = takeEvents(*client);
    QCOMPARE(kinds(events), QStringList({"state", "closed"}));
    const auto closed = std::get<ClosedEvent>(events[1]);
    QCOMPARE(closed.code, quint16(1006));
    QVERIFY(!closed.clean);
    QVERIFY(closed.closedByUs);
}

void TestSession::abortEndsOnce() {
    auto client = openClient();
    client->abort(QStringLiteral("close timeout"), AnyTime);
    QList<SessionEvent> events = takeEvents(*client);
    QCOMPARE(kinds(events), QStringList({"state", "closed"}));
    QCOMPARE(std::get<ClosedEvent>(events[1]).code, quint16(1006));
    QCOMPARE(std::get<ClosedEvent>(events[1]).reason, QStringLiteral("close timeout"));
    QVERIFY(client->shouldCloseTransport());
    QVERIFY(!client->hasOutgoing());
    client->abort(QStringLiteral("again"), AnyTime);
    client->receiveEof(AnyTime);
    client->receiveData(hex("880203e8"), AnyTime);
    QVERIFY(!client->hasEvent());

    // After a clean close the network layer may still abort the wait for EOF.
    Pair pair;
    pair.open();
    QCOMPARE(pair.client->sendClose(1000, {}, AnyTime), SendError::None);
    pair.pump();
    QCOMPARE(eventsOf<ClosedEvent>(pair.clientEvents).size(), 1);
    pair.client->abort(QStringLiteral("server did not close TCP"), AnyTime);
    QVERIFY(!pair.client->hasEvent());
    QVERIFY(pair.client->shouldCloseTransport());
}

void TestSession::autoPongOff() {
    SessionOptions options;
    options.autoPong = false;
    auto server = openServer(options);
    server->receiveData(frame(0x89, "Hello", kSampleMaskKey), AnyTime);
    QList<SessionEvent> events = takeEvents(*server);
    QCOMPARE(kinds(events), QStringList({"frame<", "ping"}));
    QVERIFY(!std::get<PingEvent>(events[1]).answered);
    QVERIFY(!server->hasOutgoing());
    QCOMPARE(server->sendPong("Hello", AnyTime), SendError::None);
    QCOMPARE(server->takeOutgoing(), hex("8a0548656c6c6f"));

    // Switched on and off at run time.
    server->setAutoPong(true);
    server->receiveData(frame(0x89, "", kSampleMaskKey), AnyTime);
    QCOMPARE(server->takeOutgoing(), hex("8a00"));
    server->setAutoPong(false);
    server->receiveData(frame(0x89, "", kSampleMaskKey), AnyTime);
    QVERIFY(!server->hasOutgoing());
}

void TestSession::sendErrors() {
    auto connecting = makeClient();
    QCOMPARE(connecting->sendText("x", AnyTime), SendError::NotOpen);
    QCOMPARE(connecting->sendBinary("x", AnyTime), SendError::NotOpen);
    QCOMPARE(connecting->sendPing({}, AnyTime), SendError::NotOpen);
    QCOMPARE(connecting->sendPong({}, AnyTime), SendError::NotOpen);
    QCOMPARE(connecting->sendClose(1000, {}, AnyTime), SendError::NotOpen);
    QCOMPARE(connecting->sendRaw(RawFrame{}, AnyTime), SendError::NotOpen);
    QVERIFY(!connecting->hasOutgoing());
    QVERIFY(!connecting->hasEvent());

    auto server = openServer();
    QCOMPARE(server->sendPing(QByteArray(126, 'p'), AnyTime), SendError::ControlPayloadTooLong);
    QCOMPARE(server->sendPong(QByteArray(126, 'p'), AnyTime), SendError::ControlPayloadTooLong);
    QCOMPARE(server->sendText("\xc3\x28", AnyTime), SendError::InvalidUtf8);
    QCOMPARE(server->sendText("ends inside \xe2\x82", AnyTime), SendError::InvalidUtf8);
    QCOMPARE(server->sendText("\xed\xa0\x80", AnyTime),
             SendError::InvalidUtf8); // a UTF-16 surrogate
    QCOMPARE(server->sendClose(1000, QString(124, u'r'), AnyTime),
             SendError::ControlPayloadTooLong);
    QCOMPARE(server->sendClose(1000, QString(62, u'é'), AnyTime), SendError::ControlPayloadTooLong);
    QCOMPARE(server->sendClose(std::nullopt, QStringLiteral("reason without a code"), AnyTime),
             SendError::InvalidCloseCode);
    QVERIFY(!server->hasOutgoing());
    QVERIFY(!server->hasEvent());

    QCOMPARE(server->sendPing(QByteArray(125, 'p'), AnyTime), SendError::None);
    QCOMPARE(server->takeOutgoing(), hex("897d") + QByteArray(125, 'p'));
    QCOMPARE(server->sendText("", AnyTime), SendError::None);
    QCOMPARE(server->takeOutgoing(), hex("8100"));
    QCOMPARE(server->sendClose(1000, QString(123, u'r'), AnyTime), SendError::None);
    QCOMPARE(server->takeOutgoing(), hex("887d03e8") + QByteArray(123, 'r'));
    QCOMPARE(server->sendText("after close", AnyTime), SendError::CloseAlreadySent);
    QCOMPARE(server->sendBinary("after close", AnyTime), SendError::CloseAlreadySent);
    QCOMPARE(server->sendClose(1000, {}, AnyTime), SendError::CloseAlreadySent);
    QVERIFY(!server->hasOutgoing());

    auto empty = openServer();
    QCOMPARE(empty->sendClose(std::nullopt, {}, AnyTime), SendError::None);
    QCOMPARE(empty->takeOutgoing(), hex("8800"));
}

void TestSession::closeCodesRefused_data() {
    QTest::addColumn<int>("code");
    QTest::addColumn<bool>("allowed");
    for (const int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535})
        QTest::addRow("%d", code) << code << false;
    for (const int code : {1000, 1001, 1003, 1007, 1011, 1014, 3000, 4000, 4999})
        QTest::addRow("%d", code) << code << true;
}

void TestSession::closeCodesRefused() {
    QFETCH(int, code);
    QFETCH(bool, allowed);
    auto server = openServer();
    const SendError result = server->sendClose(quint16(code), {}, AnyTime);
    QCOMPARE(result, allowed ? SendError::None : SendError::InvalidCloseCode);
    QCOMPARE(server->hasOutgoing(), allowed);
    QCOMPARE(server->state(), allowed ? SessionState::Closing : SessionState::Open);
    if (allowed)
        QCOMPARE(server->takeOutgoing(), hex("8802") + closeBody(quint16(code)).left(2));
}

void TestSession::sendRawBreaksRules() {
    auto client = openClient();
    RawFrame raw;
    raw.fin = false;
    raw.rsv2 = true;
    raw.opcode = 0x3;    // reserved
    raw.payload = "abc"; // unmasked from a client: forbidden, sent anyway
    raw.lengthEncoding = LengthEncoding::Extended64;
    QCOMPARE(client->sendRaw(raw, AnyTime), SendError::None);
    QCOMPARE(client->takeOutgoing(), hex("237f0000000000000003") + "abc");
    QList<SessionEvent> events = takeEvents(*client);
    QCOMPARE(kinds(events), QStringList({"frame>"}));
    const auto out = std::get<FrameEvent>(events[0]).frame;
    QCOMPARE(out.rawHeader.toByteArray(), hex("237f0000000000000003"));
    QCOMPARE(out.payload, QByteArray("abc"));
    QCOMPARE(out.streamOffset, qint64(0));

    // Text that is not UTF-8, masked with a key of our choosing.
    RawFrame bad;
    bad.payload = hex("c328");
    bad.maskingKey = 0;
    QCOMPARE(client->sendRaw(bad, AnyTime), SendError::None);
    QCOMPARE(client->takeOutgoing(), hex("818200000000c328"));
    events = takeEvents(*client);
    QCOMPARE(std::get<FrameEvent>(events[0]).frame.streamOffset, qint64(13));
    // No message event for raw frames: they are frames, not messages.
    QCOMPARE(kinds(events), QStringList({"frame>"}));
}

void TestSession::rawCloseCountsAsOurClose() {
    Pair pair;
    pair.open();
    RawFrame raw;
    raw.opcode = 0x8;
    raw.payload = closeBody(999); // a code nobody may send
    raw.maskingKey = 0x01010101;
    QCOMPARE(pair.client->sendRaw(raw, AnyTime), SendError::None);
    QCOMPARE(pair.client->state(), SessionState::Closing);
    QVERIFY(pair.client->closeSent());
    pair.pump();
    // The server fails the connection with 1002; the client does not answer that
    // close with another one.
    const QList<ViolationEvent> violations = eventsOf<ViolationEvent>(pair.serverEvents);
    QCOMPARE(violations.size(), 1);
    QCOMPARE(violations[0].violation.error, ProtocolError::InvalidCloseCode);
    const QList<FrameEvent> clientFrames = eventsOf<FrameEvent>(pair.clientEvents);
    QCOMPARE(clientFrames.size(), 2); // our raw close, the server's 1002
    QCOMPARE(clientFrames[1].frame.closeCode, std::optional<quint16>(1002));
    const auto closed = eventsOf<ClosedEvent>(pair.clientEvents).at(0);
    QCOMPARE(closed.code, quint16(1002));
    QVERIFY(closed.clean);
    QVERIFY(closed.closedByUs);
}

void TestSession::reportFramesOff() {
    SessionOptions options;
    options.reportFrames = false;
    Pair pair(options);
    pair.open();
    QCOMPARE(pair.client->sendText("hi", AnyTime, 1), SendError::None);
    QCOMPARE(pair.client->sendPing("p", AnyTime), SendError::None);
    pair.pump();
    QCOMPARE(kinds(pair.clientEvents), QStringList({"message>", "pong"}));
    QCOMPARE(kinds(pair.serverEvents), QStringList({"message<", "ping"}));
    QCOMPARE(std::get<MessageEvent>(pair.serverEvents[0]).message.frameCount, 2);
    QCOMPARE(std::get<MessageEvent>(pair.clientEvents[0]).message.frameCount, 2);
}

void TestSession::messageHandlerAnswersBeforeClose() {
    // A message and a close frame in the same bytes: what the handler sends for the
    // message goes out before the answer to the close (after which no data frame
    // may follow, RFC 6455 §5.5.1), and the events keep the same order.
    SessionOptions options;
    options.reportFrames = false;
    auto server = openServer(options);
    Session *session = server.get();
    session->setMessageHandler([session](const DecodedMessage &message) {
        QCOMPARE(session->sendBinary(message.data, AnyTime), SendError::None);
    });
    session->receiveData(frame(0x82, "abc", 0x01020304) + frame(0x88, closeBody(1000), 0x05060708),
                         AnyTime);
    QCOMPARE(session->takeOutgoing(), hex("8203616263"
                                          "880203e8"));
    const QList<SessionEvent> events = takeEvents(*session);
    QCOMPARE(kinds(events).mid(0, 3), QStringList({"message<", "message>", "close"}));
    QVERIFY(eventsOf<MessageEvent>(events).at(1).message.data.isSharedWith(
        eventsOf<MessageEvent>(events).at(0).message.data));
}

void TestSession::messageSinkEchoes_data() {
    QTest::addColumn<bool>("reportFrames");
    QTest::newRow("frames reported") << true;
    QTest::newRow("frames not reported") << false;
}

void TestSession::messageSinkEchoes() {
    // The echo path: messages reach the sink, not the events, and go back out
    // through sendReceivedMessage() as exact unmasked frames, in stream order with
    // the answers to pings and closes.
    QFETCH(bool, reportFrames);
    SessionOptions options;
    options.reportFrames = reportFrames;
    auto server = openServer(options);
    Session *session = server.get();
    QList<SendError> results;
    session->setMessageSink([session, &results](Opcode type, QByteArrayView payload) {
        results.append(session->sendReceivedMessage(type, payload, AnyTime));
    });
    const qint64 sentBefore = session->bytesSent();
    session->receiveData(frame(0x81, "Hi", 0x01020304) + frame(0x89, "p", 0x05060708) +
                             frame(0x82, hex("00ff10"), 0x0a0b0c0d),
                         AnyTime);
    // In stream order: the binary message completed behind the ping's output, so it
    // reached the sink after the pong went out.
    QCOMPARE(session->takeOutgoing(), hex("81024869"
                                          "8a0170"
                                          "820300ff10"));
    QCOMPARE(results, (QList<SendError>{SendError::None, SendError::None}));
    QStringList expected{"ping"};
    if (reportFrames)
        expected = QStringList{"frame<", "frame<", "frame>", "frame<", "frame>", "ping", "frame>"};
    const QList<SessionEvent> events = takeEvents(*session);
    QStringList got = kinds(events);
    // The frame events' order follows the wire in each direction; only the set
    // matters here, and that no message event was queued.
    got.sort();
    expected.sort();
    QCOMPARE(got, expected);
    QCOMPARE(session->bytesSent(), sentBefore + 4 + 5 + 3);

    // After our close frame nothing more is echoed (RFC 6455 §5.5.1).
    QCOMPARE(session->sendClose(quint16(1000), {}, AnyTime), SendError::None);
    session->takeOutgoing();
    session->receiveData(frame(0x82, "late", 0x01020304), AnyTime);
    QCOMPARE(results.last(), SendError::CloseAlreadySent);
    QVERIFY(!session->hasOutgoing());

    // Without a sink the messages are events again.
    auto plain = openServer(options);
    plain->setMessageSink([](Opcode, QByteArrayView) {});
    plain->setMessageSink({});
    plain->receiveData(frame(0x82, "x", 0x01020304), AnyTime);
    QCOMPARE(eventsOf<MessageEvent>(takeEvents(*plain)).size(), 1);
}

void TestSession::echoPrecedesFailure_data() {
    QTest::addColumn<bool>("sink");
    QTest::addColumn<bool>("bytewise");
    QTest::newRow("sink, one buffer") << true << false;
    QTest::newRow("sink, byte by byte") << true << true;
    QTest::newRow("handler, one buffer") << false << false;
    QTest::newRow("handler, byte by byte") << false << true;
}

void TestSession::echoPrecedesFailure() {
    // Autobahn 3.2: a text message, a text frame with RSV1 set and no extension that
    // defines it, then a ping. Everything before the bad frame is served: its echo
    // leaves first, then the close frame with 1002 (RFC 6455 §5.2, §7.1.7 from the bad
    // frame on), and the ping behind it gets no pong.
    QFETCH(bool, sink);
    QFETCH(bool, bytewise);
    auto server = openServer();
    Session *session = server.get();
    if (sink) {
        session->setMessageSink([session](Opcode type, QByteArrayView payload) {
            QCOMPARE(session->sendReceivedMessage(type, payload, AnyTime), SendError::None);
        });
    } else {
        session->setMessageHandler([session](const DecodedMessage &message) {
            QCOMPARE(session->sendText(message.data, AnyTime), SendError::None);
        });
    }
    const QByteArray input = frame(0x81, "Hello", 0x01020304) + frame(0xc1, "Hello", 0x05060708) +
                             frame(0x89, "", 0x0a0b0c0d);
    if (bytewise) {
        for (char byte : input)
            session->receiveData(QByteArrayView(&byte, 1), AnyTime);
    } else {
        session->receiveData(input, AnyTime);
    }
    const QByteArray out = session->takeOutgoing();
    const QByteArray echo = hex("810548656c6c6f");
    QVERIFY2(out.startsWith(echo + hex("88")), out.toHex().constData());
    const QByteArray close = out.mid(echo.size());
    QCOMPARE(close.size(), 2 + quint8(close.at(1)));
    QCOMPARE(close.mid(2, 2), hex("03ea"));
    QVERIFY(session->shouldCloseTransport());
    const QList<SessionEvent> events = takeEvents(*session);
    QCOMPARE(eventsOf<ViolationEvent>(events).size(), 1);
    QCOMPARE(eventsOf<ViolationEvent>(events).first().violation.error,
             ProtocolError::ReservedBitsSet);
    QVERIFY(eventsOf<PingEvent>(events).isEmpty());
}

void TestSession::sendingAByteArrayShareIt_data() {
    QTest::addColumn<bool>("text");
    QTest::addColumn<qint64>("fragmentSize");
    QTest::newRow("text") << true << qint64(0);
    QTest::newRow("binary") << false << qint64(0);
    QTest::newRow("binary, fragmented") << false << qint64(3);
}

void TestSession::sendingAByteArrayShareIt() {
    QFETCH(bool, text);
    QFETCH(qint64, fragmentSize);
    const QByteArray data = "0123456789";
    auto viaView = openServer();
    auto viaArray = openServer();
    // A view is copied; a QByteArray is shared by the events. Same bytes, same events.
    const QByteArrayView view(data);
    QCOMPARE(text ? viaView->sendText(view, AnyTime, fragmentSize)
                  : viaView->sendBinary(view, AnyTime, fragmentSize),
             SendError::None);
    QCOMPARE(text ? viaArray->sendText(data, AnyTime, fragmentSize)
                  : viaArray->sendBinary(data, AnyTime, fragmentSize),
             SendError::None);
    QCOMPARE(viaArray->takeOutgoing(), viaView->takeOutgoing());
    const QList<SessionEvent> viewEvents = takeEvents(*viaView);
    const QList<SessionEvent> arrayEvents = takeEvents(*viaArray);
    QCOMPARE(describe(arrayEvents), describe(viewEvents));
    const auto shared = eventsOf<MessageEvent>(arrayEvents).at(0);
    QVERIFY(shared.message.data.isSharedWith(data));
    QVERIFY(!eventsOf<MessageEvent>(viewEvents).at(0).message.data.isSharedWith(data));
    if (fragmentSize == 0)
        QVERIFY(eventsOf<FrameEvent>(arrayEvents).at(0).frame.payload.isSharedWith(data));

    // The overload checks like the view does.
    QCOMPARE(viaArray->sendText(QByteArray("\xff"), AnyTime), SendError::InvalidUtf8);
    QCOMPARE(viaArray->sendClose(1000, {}, AnyTime), SendError::None);
    QCOMPARE(viaArray->sendBinary(data, AnyTime), SendError::CloseAlreadySent);
}

void TestSession::conformanceNotesBecomeEvents() {
    // Standard conformance: a non-minimal length is a note, not a failure.
    auto server = openServer();
    server->receiveData(hex("82fe000500000000"
                            "0102030405"),
                        AnyTime);
    const QList<SessionEvent> events = takeEvents(*server);
    QCOMPARE(kinds(events), QStringList({"frame<", "note", "message<"}));
    QCOMPARE(std::get<NoteEvent>(events[1]).note.kind, ConformanceNote::Kind::NonMinimalLength);
    QCOMPARE(std::get<FrameEvent>(events[0]).frame.notes.size(), 1);
    QVERIFY(!server->hasOutgoing());
}

void TestSession::extensionWaitsForSetExtension() {
    ReverseExtension serverExtension;
    ReverseExtension clientExtension;
    ClientHandshakeOptions handshake = sampleOptions();
    handshake.extensions = {ExtensionParams{"x-reverse", {}}};
    auto client = makeClient({}, handshake);
    Session server{SessionOptions{}};
    client->start(AnyTime);
    server.receiveData(client->takeOutgoing(), AnyTime);
    const auto upgrade = std::get<HandshakeEvent>(takeEvents(server).at(0));
    QCOMPARE(upgrade.extensions.size(), 1);
    server.accept("chat", upgrade.extensions, &serverExtension, AnyTime);
    // The server's first message rides in the same read as its 101.
    QCOMPARE(server.sendText("olleh", AnyTime), SendError::None);
    const QList<FrameEvent> sent = eventsOf<FrameEvent>(takeEvents(server));
    QVERIFY(sent[0].frame.header.rsv1);
    QCOMPARE(sent[0].frame.payload, QByteArray("hello"));

    client->receiveData(server.takeOutgoing(), AnyTime);
    QList<SessionEvent> events = takeEvents(*client);
    QCOMPARE(kinds(events), QStringList({"handshake", "state"}));
    QCOMPARE(std::get<HandshakeEvent>(events[0]).extensions.size(), 1);
    // Until the extension is installed, the RSV1 frame is held, not failed.
    client->setExtension(&clientExtension);
    events = takeEvents(*client);
    QCOMPARE(kinds(events), QStringList({"frame<", "message<"}));
    const auto message = std::get<MessageEvent>(events[1]).message;
    QCOMPARE(message.data, QByteArray("olleh"));
    QVERIFY(message.compressed);

    QCOMPARE(client->sendBinary("abc", AnyTime, 2), SendError::None);
    events = takeEvents(*client);
    QCOMPARE(kinds(events), QStringList({"frame>", "frame>", "message>"}));
    // The frames carry the transformed payload, unmasked, the message the original.
    QCOMPARE(std::get<FrameEvent>(events[0]).frame.payload, QByteArray("cb"));
    QCOMPARE(std::get<FrameEvent>(events[1]).frame.payload, QByteArray("a"));
    QVERIFY(std::get<MessageEvent>(events[2]).message.compressed);
    QCOMPARE(std::get<MessageEvent>(events[2]).message.data, QByteArray("abc"));
    server.receiveData(client->takeOutgoing(), AnyTime);
    const QList<MessageEvent> received = eventsOf<MessageEvent>(takeEvents(server));
    QCOMPARE(received.size(), 1);
    QCOMPARE(received[0].message.data, QByteArray("abc"));
}

void TestSession::clientChunkingInvariance() {
    // A recorded server stream: the 101, then messages of every shape, a ping in the
    // middle of a fragmented message, an unsolicited pong, a 16-bit length, UTF-8
    // split across fragments, and the close.
    const QByteArray utf8 = QStringLiteral(u"€uro \U0001F600").toUtf8();
    QByteArray stream = kSampleResponse;
    stream += frame(0x81, "Hello");
    stream += frame(0x02, hex("0001"));
    stream += frame(0x89, "mid");
    stream += frame(0x00, hex("0203"));
    stream += frame(0x80, hex("04"));
    stream += frame(0x8A, "unsolicited");
    stream += frame(0x82, patterned(300));
    stream += frame(0x01, utf8.left(2));
    stream += frame(0x00, utf8.mid(2, 7));
    stream += frame(0x80, utf8.mid(9));
    stream += frame(0x81, "");
    stream += frame(0x88, closeBody(1001, "bye"));

    const auto run = [&](const QList<QByteArray> &chunks) {
        auto client = makeClient();
        client->start(42);
        QByteArray out;
        QList<SessionEvent> events;
        for (const QByteArray &chunk : chunks) {
            client->receiveData(chunk, 42);
            out += client->takeOutgoing();
            events += takeEvents(*client);
        }
        client->receiveEof(42);
        events += takeEvents(*client);
        return std::make_pair(describe(events), out);
    };

    const auto whole = run({stream});
    QCOMPARE(whole.first.size(), 28);
    QVERIFY(whole.first.last().startsWith(QStringLiteral("closed t=42 code=1001 'bye' clean=1")));
    QList<QByteArray> bytes;
    for (const char c : stream)
        bytes.append(QByteArray(1, c));
    const auto oneByOne = run(bytes);
    QCOMPARE(oneByOne.first, whole.first);
    QCOMPARE(oneByOne.second, whole.second);
    for (quint32 seed = 1; seed <= 300; ++seed) {
        const auto chunked = run(randomChunks(stream, seed));
        QCOMPARE(chunked.first, whole.first);
        QCOMPARE(chunked.second, whole.second);
    }
}

void TestSession::serverChunkingInvariance() {
    // A recorded client stream, ending in a violation (invalid UTF-8 in the third
    // fragment): the failure comes at the same point whatever the chunking.
    QByteArray stream = kBrowserRequest;
    stream += frame(0x81, "Hello", kSampleMaskKey);
    stream += frame(0x82, patterned(70000), 0xa1b2c3d4);
    stream += frame(0x89, "", 0);
    stream += frame(0x01, "ab", 0x01020304);
    stream += frame(0x8A, "x", 0x05060708);
    stream += frame(0x00, hex("e282"), 0x0a0b0c0d);
    stream += frame(0x80, hex("ac41ff"), 0x0f0f0f0f);
    stream += frame(0x81, "never seen", 0x10203040);

    // Fed whole, all the frames arrive before accept() and are held: allow that.
    SessionOptions options;
    options.handshakeLimits.maxBodyBytes = 256 * 1024;
    const auto run = [&](const QList<QByteArray> &chunks) {
        Session server(options);
        QByteArray out;
        QList<SessionEvent> events;
        const auto collect = [&] {
            while (server.hasEvent()) {
                SessionEvent event = server.takeEvent();
                const auto *handshake = std::get_if<HandshakeEvent>(&event);
                events.append(std::move(event));
                if (handshake && handshake->kind == HandshakeEvent::Kind::UpgradeRequested)
                    server.accept({}, {}, nullptr, 7);
            }
            out += server.takeOutgoing();
        };
        for (const QByteArray &chunk : chunks) {
            server.receiveData(chunk, 7);
            collect();
        }
        server.receiveEof(7);
        collect();
        return std::make_pair(describe(events), out);
    };

    const auto whole = run({stream});
    const QStringList wholeEvents = whole.first;
    QVERIFY(wholeEvents.filter(QStringLiteral("violation")).size() == 1);
    QVERIFY(wholeEvents.filter(QStringLiteral("InvalidUtf8")).size() == 1);
    QVERIFY(wholeEvents.filter(QStringLiteral("never seen")).isEmpty());
    QVERIFY(parseClose(whole.second.mid(kPlainAccept.size() + 2)).isClose);
    for (quint32 seed = 1; seed <= 200; ++seed) {
        const auto chunked = run(randomChunks(stream, seed));
        QCOMPARE(chunked.first, wholeEvents);
        QCOMPARE(chunked.second, whole.second);
    }
}

void TestSession::outgoingChunksShareLargePayloads_data() {
    QTest::addColumn<bool>("server");
    QTest::addColumn<qsizetype>("size");
    QTest::addColumn<bool>("text");
    QTest::addColumn<QByteArray>("header"); // of the shared frame; empty: copied
    // RFC 6455 §5.2: the length in 64 or 16 bits; a server never masks (§5.1).
    QTest::newRow("server binary, 64 KiB: shared")
        << true << qsizetype(65536) << false << hex("827f0000000000010000");
    QTest::newRow("server text, 16 KiB: shared")
        << true << qsizetype(16384) << true << hex("817e4000");
    QTest::newRow("server binary, 16 KiB - 1: copied")
        << true << qsizetype(16383) << false << QByteArray();
    // RFC 6455 §5.3: a client's payload is masked, so it cannot be shared.
    QTest::newRow("client binary, 64 KiB: masked, copied")
        << false << qsizetype(65536) << false << QByteArray();
}

void TestSession::outgoingChunksShareLargePayloads() {
    QFETCH(bool, server);
    QFETCH(qsizetype, size);
    QFETCH(bool, text);
    QFETCH(QByteArray, header);
    auto chunked = server ? openServer() : openClient();
    auto joined = server ? openServer() : openClient();
    const QByteArray data = text ? QByteArray(size, 'a') : patterned(size);
    for (Session *session : {chunked.get(), joined.get()}) {
        QCOMPARE(session->sendPing("p", AnyTime), SendError::None);
        QCOMPARE(text ? session->sendText(data, AnyTime) : session->sendBinary(data, AnyTime),
                 SendError::None);
        QCOMPARE(session->sendText(QByteArray("z"), AnyTime), SendError::None);
    }
    QList<QByteArray> chunks = {"before"};
    QVERIFY(chunked->hasOutgoing());
    chunked->takeOutgoingChunks(chunks);
    QVERIFY(!chunked->hasOutgoing());
    QCOMPARE(chunked->takeOutgoing(), QByteArray());
    QCOMPARE(chunks.takeFirst(), QByteArray("before")); // appended, not replaced
    // The same bytes as one buffer, whichever way they are taken.
    const QByteArray whole = joined->takeOutgoing();
    QVERIFY(!joined->hasOutgoing());
    QCOMPARE(chunks.join().toHex(), whole.toHex());
    QCOMPARE(chunked->bytesSent(), joined->bytesSent());
    const QList<SessionEvent> events = takeEvents(*chunked);
    QCOMPARE(describe(events), describe(takeEvents(*joined)));
    if (header.isEmpty()) {
        QCOMPARE(chunks.size(), 1);
        return;
    }
    // The ping and the header, the caller's payload itself, the last frame.
    QCOMPARE(chunks.size(), 3);
    QCOMPARE(chunks[0].toHex(), (hex("890170") + header).toHex());
    QVERIFY(chunks[1].isSharedWith(data));
    QCOMPARE(chunks[2].toHex(), hex("81017a").toHex());
    // The outgoing frame is reported with the header that went out.
    const auto frames = eventsOf<FrameEvent>(events);
    QCOMPARE(frames.size(), 3);
    QCOMPARE(frames[1].frame.rawHeader.toByteArray().toHex(), header.toHex());
    QVERIFY(frames[1].frame.payload.isSharedWith(data));
    QCOMPARE(frames[2].frame.streamOffset, qint64(3 + header.size() + size));
}

void TestSession::rawFramesShareLargeUnmaskedPayloads() {
    auto server = openServer();
    const qint64 sentBefore = server->bytesSent();
    RawFrame lie;
    lie.opcode = 0x2;
    lie.payload = patterned(20000);
    lie.declaredLength = 5; // the raw writer's lies go out exactly as asked
    RawFrame maskedFrame;
    maskedFrame.opcode = 0x2;
    maskedFrame.payload = lie.payload;
    maskedFrame.maskingKey = kSampleMaskKey;
    QCOMPARE(server->sendRaw(lie, AnyTime), SendError::None);
    QCOMPARE(server->sendRaw(maskedFrame, AnyTime), SendError::None);
    QList<QByteArray> chunks;
    server->takeOutgoingChunks(chunks);
    QByteArray expected;
    FrameEncoder::encodeRaw(expected, lie);
    FrameEncoder::encodeRaw(expected, maskedFrame);
    // The unmasked payload is shared; the masked one is copied, masked, after it.
    QCOMPARE(chunks.size(), 3);
    QCOMPARE(chunks[0].toHex(), hex("8205").toHex());
    QVERIFY(chunks[1].isSharedWith(lie.payload));
    QCOMPARE(chunks.join(), expected);
    QCOMPARE(server->bytesSent() - sentBefore, qint64(expected.size()));
}

void TestSession::echoOfALargeMessageIsNotCopied() {
    SessionOptions options;
    options.reportFrames = false;
    auto server = openServer(options);
    const QByteArray data = patterned(100000);
    server->receiveData(frame(0x82, data, kSampleMaskKey), AnyTime);
    const auto messages = eventsOf<MessageEvent>(takeEvents(*server));
    QCOMPARE(messages.size(), 1);
    const QByteArray received = messages[0].message.data;
    QCOMPARE(received, data);
    // What an echo server does: the received bytes go back out untouched.
    QCOMPARE(server->sendBinary(received, AnyTime), SendError::None);
    QList<QByteArray> chunks;
    server->takeOutgoingChunks(chunks);
    QCOMPARE(chunks.size(), 2);
    QCOMPARE(chunks[0].toHex(), hex("827f00000000000186a0").toHex());
    QVERIFY(chunks[1].isSharedWith(received));
}

void TestSession::names() {
    QCOMPARE(stateName(SessionState::Connecting), "connecting");
    QCOMPARE(stateName(SessionState::Open), "open");
    QCOMPARE(stateName(SessionState::Closing), "closing");
    QCOMPARE(stateName(SessionState::Closed), "closed");
    QStringList texts;
    for (const SendError error :
         {SendError::None, SendError::NotOpen, SendError::CloseAlreadySent,
          SendError::ControlPayloadTooLong, SendError::InvalidCloseCode, SendError::InvalidUtf8})
        texts << QString::fromUtf8(sendErrorText(error));
    texts.removeDuplicates();
    QCOMPARE(texts.size(), 6);
    QVERIFY(texts[2].contains(QStringLiteral("§5.5.1")));
}

QTEST_APPLESS_MAIN(TestSession)
#include "tst_session.moc"

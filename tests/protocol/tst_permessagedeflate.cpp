#include "protocol/framedecoder.h"
#include "protocol/frameencoder.h"
#include "protocol/permessagedeflate.h"
#include "protocol/session.h"
#include "protocoltestsupport.h"

#include <QByteArray>
#include <QByteArrayList>
#include <QElapsedTimer>
#include <QRandomGenerator>
#include <QTest>

#include <zlib.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

using namespace ws;
using namespace ws::test;

namespace {

// The time passed with a call whose events' times the test does not look at.
constexpr qint64 AnyTime = 0;

// The tokens a DeflateConfig and a DeflateParams share: "snct cnct s=10 c=9".
// False for any other token.
template <typename Deflate> bool applyToken(Deflate &deflate, const QString &token) {
    if (token == u"snct")
        deflate.serverNoContextTakeover = true;
    else if (token == u"cnct")
        deflate.clientNoContextTakeover = true;
    else if (token.startsWith(u"s="))
        deflate.serverMaxWindowBits = token.mid(2).toInt();
    else if (token.startsWith(u"c="))
        deflate.clientMaxWindowBits = token.mid(2).toInt();
    else
        return false;
    return true;
}

// "snct cnct s=10 c=9 require refuse": a DeflateConfig in a table row.
DeflateConfig configFrom(const QString &spec) {
    DeflateConfig config;
    for (const QString &token : spec.split(u' ', Qt::SkipEmptyParts)) {
        if (applyToken(config, token))
            continue;
        if (token == u"require")
            config.policy = DeflatePolicy::Require;
        else if (token == u"refuse")
            config.policy = DeflatePolicy::Refuse;
        else
            qFatal("unknown config token %s", qPrintable(token));
    }
    return config;
}

// "none", or "snct cnct s=10 c=9" (absent window bits are 15).
std::optional<DeflateParams> paramsFrom(const QString &spec) {
    if (spec == u"none")
        return std::nullopt;
    DeflateParams params;
    for (const QString &token : spec.split(u' ', Qt::SkipEmptyParts)) {
        if (!applyToken(params, token) && token != u"default")
            qFatal("unknown params token %s", qPrintable(token));
    }
    return params;
}

QString paramsText(const std::optional<DeflateParams> &params) {
    if (!params)
        return QStringLiteral("none");
    return QStringLiteral("snct=%1 cnct=%2 s=%3 c=%4")
        .arg(params->serverNoContextTakeover)
        .arg(params->clientNoContextTakeover)
        .arg(params->serverMaxWindowBits)
        .arg(params->clientMaxWindowBits);
}

QList<ExtensionParams> extensionsFrom(const QByteArray &header) {
    const std::optional<QList<ExtensionParams>> parsed = parseExtensions(header);
    if (!parsed)
        qFatal("malformed header in a test row: %s", header.constData());
    return *parsed;
}

// Inflates messages as a peer whose window is exactly `windowBits` would. zlib checks
// a distance against the window plus what the current inflate() call produced, so
// handing it one output byte per call makes every back-reference answer to the
// window alone: a distance beyond it fails with "invalid distance too far back".
class StrictInflater {
public:
    explicit StrictInflater(int windowBits) {
        if (inflateInit2(&m_stream, -windowBits) != Z_OK)
            qFatal("inflateInit2 failed");
    }
    ~StrictInflater() { inflateEnd(&m_stream); }
    StrictInflater(const StrictInflater &) = delete;
    StrictInflater &operator=(const StrictInflater &) = delete;

    void reset() { inflateReset(&m_stream); }

    // RFC 7692 §7.2.2; nullopt when the data does not inflate.
    std::optional<QByteArray> inflateMessage(QByteArray payload) {
        payload.append(hex("0000ffff"));
        QByteArray out;
        m_stream.next_in = reinterpret_cast<Bytef *>(payload.data());
        m_stream.avail_in = uInt(payload.size());
        for (;;) {
            Bytef byte = 0;
            m_stream.next_out = &byte;
            m_stream.avail_out = 1;
            const int code = inflate(&m_stream, Z_SYNC_FLUSH);
            if (m_stream.avail_out == 0)
                out.append(char(byte));
            if (code != Z_OK && code != Z_BUF_ERROR) {
                m_error = QString::fromLatin1(m_stream.msg ? m_stream.msg : "zlib error");
                return std::nullopt;
            }
            if (m_stream.avail_in == 0 && m_stream.avail_out == 1)
                return out;
        }
    }
    QString error() const { return m_error; }

private:
    z_stream m_stream{};
    QString m_error;
};

// Text with back-references at every distance: tokens from a small vocabulary,
// picked at random, recur anywhere from a few bytes to a few KiB apart.
QByteArray tokenText(qsizetype size, quint32 seed) {
    QRandomGenerator random(seed);
    QByteArrayList vocabulary;
    for (int i = 0; i < 48; ++i) {
        QByteArray word;
        const int length = 4 + int(random.bounded(9));
        for (int c = 0; c < length; ++c)
            word.append(char('a' + random.bounded(26)));
        vocabulary.append(word);
    }
    QByteArray text;
    while (text.size() < size) {
        text.append(vocabulary.at(int(random.bounded(vocabulary.size()))));
        text.append(random.bounded(8) == 0 ? '\n' : ' ');
    }
    text.truncate(size);
    return text;
}

QByteArray randomBytes(qsizetype size, quint32 seed) {
    QRandomGenerator random(seed);
    QByteArray data(size, Qt::Uninitialized);
    for (qsizetype i = 0; i < size; ++i)
        data[i] = char(random.bounded(256));
    return data;
}

int errorOf(const MessageExtension::Decoded &decoded) {
    return decoded.error ? int(*decoded.error) : -1;
}

// A FrameEncoder for `role` whose data messages go through `extension`.
FrameEncoder compressingEncoder(Role role, PerMessageDeflate &extension,
                                MaskingKeySource keys = MaskingKeySource::systemRandom()) {
    FrameEncoder encoder(role, std::move(keys));
    encoder.setExtension(&extension);
    return encoder;
}

// What a FrameDecoder for `role` needs to hand compressed messages to `extension`.
DecoderOptions decompressingOptions(Role role, PerMessageDeflate &extension) {
    DecoderOptions options;
    options.role = role;
    options.extension = &extension;
    return options;
}

struct Decoded {
    QByteArrayList messages;
    QList<Opcode> types;
    QList<bool> compressed;
    std::optional<ProtocolViolation> violation;
};

Decoded decodeAll(FrameDecoder &decoder, QByteArrayView stream, qsizetype piece) {
    Decoded result;
    for (qsizetype at = 0; at < stream.size(); at += piece) {
        decoder.feed(stream.sliced(at, std::min(piece, stream.size() - at)));
        while (decoder.hasNext()) {
            DecoderOutput output = decoder.takeNext();
            if (auto *message = std::get_if<DecodedMessage>(&output)) {
                result.messages.append(message->data);
                result.types.append(message->type);
                result.compressed.append(message->compressed);
            } else if (auto *violation = std::get_if<ProtocolViolation>(&output)) {
                result.violation = *violation;
            }
        }
    }
    return result;
}

// A client and a server session that negotiate through real handshakes.
struct SessionPair {
    DeflateConfig clientConfig;
    DeflateConfig serverConfig;
    ClientHandshakeOptions options;
    std::unique_ptr<Session> client;
    std::unique_ptr<Session> server;
    DeflateNegotiation serverSide;
    DeflateNegotiation clientSide;
    std::unique_ptr<PerMessageDeflate> clientExtension;
    std::unique_ptr<PerMessageDeflate> serverExtension;
    QByteArray offerHeader;
    QByteArray responseHeader;

    // Returns false (with a QTest failure recorded) when a step went wrong.
    bool connect() {
        options.host = "127.0.0.1";
        options.port = 9001;
        const ExtensionParams offer = deflateOffer(clientConfig);
        if (!offer.name.isEmpty())
            options.extensions = {offer};
        client = std::make_unique<Session>(options, SessionOptions{},
                                           MaskingKeySource::fixed(kSampleMaskKey), kSampleKey);
        server = std::make_unique<Session>(SessionOptions{});
        client->start(AnyTime);
        server->receiveData(client->takeOutgoing(), AnyTime);
        const QList<HandshakeEvent> requests = eventsOf<HandshakeEvent>(takeEvents(*server));
        if (requests.size() != 1 || requests[0].kind != HandshakeEvent::Kind::UpgradeRequested) {
            qWarning("no upgrade request");
            return false;
        }
        offerHeader = server->serverHandshake()
                          ->request()
                          .headers.value("Sec-WebSocket-Extensions")
                          .value_or(QByteArray());
        serverSide = negotiateDeflateServer(requests[0].extensions, serverConfig);
        if (!serverSide.ok()) {
            server->reject(400, serverSide.error.toUtf8(), AnyTime);
        } else if (serverSide.params) {
            serverExtension =
                std::make_unique<PerMessageDeflate>(Role::Server, *serverSide.params, serverConfig);
            server->accept({}, {serverSide.response}, serverExtension.get(), AnyTime);
        } else {
            server->accept({}, {}, nullptr, AnyTime);
        }
        client->receiveData(server->takeOutgoing(), AnyTime);
        const QList<HandshakeEvent> answers = eventsOf<HandshakeEvent>(takeEvents(*client));
        if (answers.size() != 1)
            return false;
        if (answers[0].kind != HandshakeEvent::Kind::ClientAccepted)
            return true; // rejected: the caller looks at the sessions
        responseHeader = client->clientHandshake()
                             ->responseHeaders()
                             .value("Sec-WebSocket-Extensions")
                             .value_or(QByteArray());
        clientSide =
            negotiateDeflateClient(options.extensions, answers[0].extensions, clientConfig);
        if (!clientSide.ok()) {
            client->abort(clientSide.error, AnyTime);
        } else if (clientSide.params) {
            clientExtension =
                std::make_unique<PerMessageDeflate>(Role::Client, *clientSide.params, clientConfig);
            client->setExtension(clientExtension.get());
        } else {
            client->setExtension(nullptr);
        }
        return true;
    }
};

// What `from` sent, delivered to `to`: the messages and frames that arrived.
struct Delivery {
    QList<MessageEvent> messages;
    QList<FrameEvent> frames;
    QList<ViolationEvent> violations;
};

Delivery deliver(Session &from, Session &to) {
    to.receiveData(from.takeOutgoing(), AnyTime);
    takeEvents(from);
    const QList<SessionEvent> events = takeEvents(to);
    Delivery delivery;
    for (const MessageEvent &message : eventsOf<MessageEvent>(events)) {
        if (message.direction == Direction::Incoming)
            delivery.messages.append(message);
    }
    for (const FrameEvent &frame : eventsOf<FrameEvent>(events)) {
        if (frame.direction == Direction::Incoming)
            delivery.frames.append(frame);
    }
    delivery.violations = eventsOf<ViolationEvent>(events);
    return delivery;
}

} // namespace

class TestPerMessageDeflate : public QObject {
    Q_OBJECT

private slots:
    // Receiving, through a real FrameDecoder.
    void decode_data();
    void decode();
    void compressionBomb();
    void outputLimitIsExact();
    void smallMessagesGetSmallBuffers();
    void contextSurvivesMessagesAndFinalBlocks();

    // Sending, through a real FrameEncoder.
    void encodesRfcExamples();
    void encodesWithoutContextTakeover();
    void encodesFragmented();
    void controlFramesBypassTheExtension();
    void uncompressedChoices();
    void roundTripLargeMessages();

    // Windows.
    void strictInflaterRejectsTooFarBack();
    void compressorHonoursItsWindow_data();
    void compressorHonoursItsWindow();

    void inflateForInspection();

    // Negotiation.
    void offer_data();
    void offer();
    void parseOffer_data();
    void parseOffer();
    void server_data();
    void server();
    void client_data();
    void client();

    // Sessions negotiating through their handshakes.
    void sessions_data();
    void sessions();
    void sessionsWithoutAgreement();
};

// ---------------------------------------------------------------------------
// Receiving

void TestPerMessageDeflate::decode_data() {
    QTest::addColumn<QByteArray>("stream"); // server to client: unmasked
    QTest::addColumn<bool>("serverNoContextTakeover");
    QTest::addColumn<QByteArrayList>("messages");
    QTest::addColumn<int>("error"); // ProtocolError, or -1
    QTest::addColumn<int>("closeCode");

    const auto ok = [](const char *name, const char *stream, QByteArrayList messages,
                       bool reset = false) {
        QTest::newRow(name) << hex(stream) << reset << messages << -1 << 0;
    };
    const auto bad = [](const char *name, const char *stream, ProtocolError error,
                        QByteArrayList before = {}, bool reset = false) {
        QTest::newRow(name) << hex(stream) << reset << before << int(error)
                            << int(toWire(closeCodeFor(error)));
    };

    // RFC 7692 §7.2.3.1: "Hello" in one compressed DEFLATE block, whole and fragmented.
    ok("7.2.3.1 one frame", "c107f248cdc9c90700", {"Hello"});
    ok("7.2.3.1 fragmented",
       "4103f248cd"
       "8004c9c90700",
       {"Hello"});
    // §7.2.3.2: the second message refers back into the first.
    ok("7.2.3.2 shared window",
       "c107f248cdc9c90700"
       "c105f200110000",
       {"Hello", "Hello"});
    // §7.2.3.3: a stored (uncompressed) DEFLATE block.
    ok("7.2.3.3 stored block", "c10b000500faff48656c6c6f00", {"Hello"});
    // §7.2.3.4: BFINAL set, then the header of an empty stored block.
    ok("7.2.3.4 BFINAL", "c108f348cdc9c9070000", {"Hello"});
    ok("7.2.3.4 BFINAL then shared window",
       "c108f348cdc9c9070000"
       "c105f200110000",
       {"Hello", "Hello"});
    // A sender that ends with a final block and leaves out §7.2.3.4's trailing byte.
    ok("BFINAL without the stored header", "c107f348cdc9c90700", {"Hello"});
    // §7.2.3.5: two DEFLATE blocks in one message.
    ok("7.2.3.5 two blocks", "c10df248050000 00ffff cac9c90700", {"Hello"});
    // §7.2.3.6: an empty message as one byte, and an empty fragment in a message.
    ok("7.2.3.6 empty message", "c10100", {""});
    ok("empty middle fragment",
       "4103f248cd"
       "0000"
       "8004c9c90700",
       {"Hello"});
    ok("zero-length compressed payload", "c100", {""});
    ok("binary", "c207f248cdc9c90700", {"Hello"});
    ok("uncompressed message passes",
       "810548656c6c6f"
       "c107f248cdc9c90700",
       {"Hello", "Hello"});
    ok("ping between fragments",
       "4103f248cd"
       "8900"
       "8004c9c90700",
       {"Hello"});
    // With server_no_context_takeover each message starts afresh: two independent ones
    // are fine.
    ok("no context takeover",
       "c107f248cdc9c90700"
       "c107f248cdc9c90700",
       {"Hello", "Hello"}, true);

    // RFC 7692 §6.1: RSV1 on the first frame only; never on control frames.
    bad("RSV1 on a continuation",
        "4103f248cd"
        "c004c9c90700",
        ProtocolError::CompressedContinuation);
    bad("RSV1 on a ping", "c900", ProtocolError::CompressedControlFrame);
    bad("RSV2 is still reserved", "a107f248cdc9c90700", ProtocolError::ReservedBitsSet);
    // Corrupt DEFLATE data: RFC 7692 §8 "fail the connection".
    bad("invalid block type", "c1020700", ProtocolError::DecompressionFailed);
    bad("stored lengths disagree",
        "c10a0005000000"
        "48656c6c6f",
        ProtocolError::DecompressionFailed);
    bad("too far back on a fresh stream", "c105f200110000", ProtocolError::DecompressionFailed);
    // The peer announced server_no_context_takeover and refers back anyway.
    bad("too far back after no_context_takeover",
        "c107f248cdc9c90700"
        "c105f200110000",
        ProtocolError::DecompressionFailed, {"Hello"}, true);
    bad("ends inside a block", "c103f248cd", ProtocolError::DecompressionFailed);
    bad("final block cut short", "c106f348cdc9c907", ProtocolError::DecompressionFailed);
    // Inflated text is still text: RFC 6455 §8.1, 1007.
    bad("inflates to invalid UTF-8",
        "c108"
        "000200fdff"
        "fffe"
        "00",
        ProtocolError::InvalidUtf8);
}

void TestPerMessageDeflate::decode() {
    QFETCH(QByteArray, stream);
    QFETCH(bool, serverNoContextTakeover);
    QFETCH(QByteArrayList, messages);
    QFETCH(int, error);
    QFETCH(int, closeCode);

    DeflateParams params;
    params.serverNoContextTakeover = serverNoContextTakeover;
    // Whole, then one byte at a time: the same outcome.
    for (const qsizetype piece : {stream.size(), qsizetype(1)}) {
        PerMessageDeflate extension(Role::Client, params);
        FrameDecoder decoder(decompressingOptions(Role::Client, extension));
        const Decoded result = decodeAll(decoder, stream, piece);
        QCOMPARE(result.messages, messages);
        if (error < 0) {
            QVERIFY2(!result.violation,
                     qPrintable(result.violation ? result.violation->reason : QString()));
            continue;
        }
        QVERIFY(result.violation);
        QCOMPARE(int(result.violation->error), error);
        QCOMPARE(int(toWire(result.violation->closeCode())), closeCode);
        QVERIFY(!result.violation->reason.isEmpty());
        if (error == int(ProtocolError::DecompressionFailed))
            QVERIFY(!extension.lastError().isEmpty());
    }
}

void TestPerMessageDeflate::compressionBomb() {
    // 64 MiB of zeros deflate to about 64 KiB (zlib's ratio tops out near 1032:1).
    const qint64 limit = 1 << 20;
    PerMessageDeflate sender(Role::Server, {});
    QByteArray bomb(64 << 20, '\0');
    QCOMPARE(sender.encodeMessage(bomb, Opcode::Binary), Rsv1Bit);
    QVERIFY2(bomb.size() < 70 * 1024, qPrintable(QString::number(bomb.size())));

    PerMessageDeflate receiver(Role::Client, {});
    DecoderOptions options = decompressingOptions(Role::Client, receiver);
    options.maxMessageSize = limit;
    FrameDecoder decoder(options);
    QByteArray frame;
    FrameEncoder(Role::Server).encodeFrame(frame, Opcode::Binary, bomb, true, Rsv1Bit);

    QElapsedTimer timer;
    timer.start();
    const Decoded result = decodeAll(decoder, frame, frame.size());
    const qint64 elapsedMs = timer.elapsed();
    QVERIFY(result.messages.isEmpty());
    QVERIFY(result.violation);
    QCOMPARE(result.violation->error, ProtocolError::MessageTooBig);
    QCOMPARE(result.violation->closeCode(), CloseCode::MessageTooBig);
    // Stopped at the first byte past the limit: the buffer reached it, never more.
    QVERIFY2(receiver.stats().largestInflateBuffer <= limit + 1,
             qPrintable(QString::number(receiver.stats().largestInflateBuffer)));
    QVERIFY(receiver.stats().largestInflateBuffer > limit / 2);
    qInfo("stopped after %lld ms", elapsedMs);
}

void TestPerMessageDeflate::outputLimitIsExact() {
    const QByteArray original = tokenText(10000, 7);
    for (const qint64 limit : {qint64(10000), qint64(9999), qint64(0)}) {
        PerMessageDeflate sender(Role::Server, {});
        QByteArray payload = original;
        QCOMPARE(sender.encodeMessage(payload, Opcode::Text), Rsv1Bit);
        PerMessageDeflate receiver(Role::Client, {});
        const MessageExtension::Decoded decoded = receiver.decodeMessage(payload, Rsv1Bit, limit);
        if (limit >= original.size()) {
            QCOMPARE(errorOf(decoded), -1);
            QCOMPARE(decoded.data, original);
        } else {
            QCOMPARE(errorOf(decoded), int(ProtocolError::MessageTooBig));
            QVERIFY(decoded.data.isEmpty());
            QVERIFY(receiver.stats().largestInflateBuffer <= limit + 1);
        }
    }
}

void TestPerMessageDeflate::smallMessagesGetSmallBuffers() {
    // The limit is a ceiling, not the starting size.
    PerMessageDeflate receiver(Role::Client, {});
    const MessageExtension::Decoded decoded =
        receiver.decodeMessage(hex("f248cdc9c90700"), Rsv1Bit, qint64(1) << 30);
    QCOMPARE(decoded.data, QByteArray("Hello"));
    QVERIFY(receiver.stats().largestInflateBuffer <= 256);
    QVERIFY(decoded.data.capacity() <= 256);
}

void TestPerMessageDeflate::contextSurvivesMessagesAndFinalBlocks() {
    // A message after one ending in a final block refers back across it; and a
    // failure leaves the extension usable (the next message starts afresh).
    PerMessageDeflate receiver(Role::Client, {});
    QCOMPARE(receiver.decodeMessage(hex("f348cdc9c9070000"), Rsv1Bit, 100).data,
             QByteArray("Hello"));
    QCOMPARE(receiver.decodeMessage(hex("f200110000"), Rsv1Bit, 100).data, QByteArray("Hello"));
    QCOMPARE(errorOf(receiver.decodeMessage(hex("07"), Rsv1Bit, 100)),
             int(ProtocolError::DecompressionFailed));
    QCOMPARE(receiver.decodeMessage(hex("f248cdc9c90700"), Rsv1Bit, 100).data, QByteArray("Hello"));
    QCOMPARE(receiver.stats().messagesInflated, 3);
    QCOMPARE(receiver.stats().bytesInflatedTo, 15);
    QCOMPARE(receiver.stats().bytesInflatedFrom, 8 + 5 + 7);
    QVERIFY(receiver.lastError().isEmpty());
}

// ---------------------------------------------------------------------------
// Sending

void TestPerMessageDeflate::encodesRfcExamples() {
    // zlib's output is the RFC's, byte for byte (§7.2.3.1, §7.2.3.2).
    PerMessageDeflate extension(Role::Server, {});
    FrameEncoder encoder = compressingEncoder(Role::Server, extension);
    QByteArray out;
    encoder.encodeMessage(out, Opcode::Text, "Hello");
    QCOMPARE(out.toHex(), QByteArray("c107f248cdc9c90700"));
    out.clear();
    encoder.encodeMessage(out, Opcode::Text, "Hello");
    QCOMPARE(out.toHex(), QByteArray("c105f200110000"));
    QCOMPARE(extension.stats().messagesDeflated, 2);
    QCOMPARE(extension.stats().bytesDeflatedFrom, 10);
    QCOMPARE(extension.stats().bytesDeflatedTo, 12);

    // A client masks the compressed payload; the server's decoder gets "Hello" back.
    PerMessageDeflate clientSide(Role::Client, {});
    FrameEncoder clientEncoder =
        compressingEncoder(Role::Client, clientSide, MaskingKeySource::fixed(kSampleMaskKey));
    out.clear();
    clientEncoder.encodeMessage(out, Opcode::Text, "Hello");
    clientEncoder.encodeMessage(out, Opcode::Text, "Hello");
    QCOMPARE(out.left(6).toHex(), QByteArray("c18737fa213d"));
    PerMessageDeflate serverSide(Role::Server, {});
    FrameDecoder decoder(decompressingOptions(Role::Server, serverSide));
    const Decoded result = decodeAll(decoder, out, 1);
    QCOMPARE(result.messages, QByteArrayList({"Hello", "Hello"}));
    QCOMPARE(result.compressed, QList<bool>({true, true}));
}

void TestPerMessageDeflate::encodesWithoutContextTakeover() {
    // Agreed, or only wished in our config: either resets the compressor per message.
    DeflateParams agreed;
    agreed.serverNoContextTakeover = true;
    DeflateConfig wish;
    wish.serverNoContextTakeover = true;
    PerMessageDeflate byAgreement(Role::Server, agreed);
    PerMessageDeflate byWish(Role::Server, {}, wish);
    for (PerMessageDeflate *extension : {&byAgreement, &byWish}) {
        QVERIFY(extension->resetsDeflatePerMessage());
        for (int i = 0; i < 2; ++i) {
            QByteArray payload = "Hello";
            QCOMPARE(extension->encodeMessage(payload, Opcode::Text), Rsv1Bit);
            QCOMPARE(payload.toHex(), QByteArray("f248cdc9c90700"));
        }
    }
    // The client's flag is about the client's compressor.
    PerMessageDeflate client(Role::Client, agreed);
    QVERIFY(!client.resetsDeflatePerMessage());
    QVERIFY(client.resetsInflatePerMessage());
}

void TestPerMessageDeflate::encodesFragmented() {
    // RFC 7692 §6.1: RSV1 on the first frame only; the compressed bytes are split.
    PerMessageDeflate extension(Role::Server, {});
    FrameEncoder encoder = compressingEncoder(Role::Server, extension);
    QByteArray out;
    const QList<FrameHeader> headers = encoder.encodeMessage(out, Opcode::Text, "Hello", 3);
    QCOMPARE(out.toHex(), QByteArray("4103f248cd"
                                     "0003c9c907"
                                     "800100"));
    QCOMPARE(headers.size(), 3);
    QVERIFY(headers[0].rsv1 && !headers[1].rsv1 && !headers[2].rsv1);

    PerMessageDeflate receiver(Role::Client, {});
    FrameDecoder decoder(decompressingOptions(Role::Client, receiver));
    QCOMPARE(decodeAll(decoder, out, 1).messages, QByteArrayList({"Hello"}));
}

void TestPerMessageDeflate::controlFramesBypassTheExtension() {
    PerMessageDeflate extension(Role::Server, {});
    FrameEncoder encoder = compressingEncoder(Role::Server, extension);
    QByteArray out;
    encoder.encodeFrame(out, Opcode::Ping, "Hello");
    encoder.encodeFrame(out, Opcode::Close, FrameEncoder::closePayload(1000, "bye"));
    QCOMPARE(out.toHex(), QByteArray("890548656c6c6f"
                                     "880503e8627965"));
    QCOMPARE(extension.stats().messagesDeflated, 0);
    QCOMPARE(extension.stats().messagesSentUncompressed, 0);

    // Through a session pair: pings, pongs and the close handshake go uncompressed
    // while data messages are compressed.
    SessionPair pair;
    QVERIFY(pair.connect());
    QVERIFY(pair.clientExtension && pair.serverExtension);
    QCOMPARE(pair.client->sendPing("are you there", AnyTime), SendError::None);
    QCOMPARE(pair.client->sendText(QByteArrayView("Hello"), AnyTime), SendError::None);
    Delivery delivery = deliver(*pair.client, *pair.server);
    QCOMPARE(delivery.frames.size(), 2);
    QCOMPARE(delivery.frames[0].frame.header.rsvBits(), 0);
    QCOMPARE(delivery.frames[0].frame.payload, QByteArray("are you there"));
    QCOMPARE(delivery.frames[1].frame.header.rsvBits(), Rsv1Bit);
    QCOMPARE(delivery.messages.size(), 1);
    QCOMPARE(delivery.messages[0].message.data, QByteArray("Hello"));
    QVERIFY(delivery.messages[0].message.compressed);
    QCOMPARE(delivery.messages[0].message.wireSize, 7);
    // The automatic pong, then a close handshake.
    delivery = deliver(*pair.server, *pair.client);
    QCOMPARE(delivery.frames.size(), 1);
    QCOMPARE(delivery.frames[0].frame.header.op(), Opcode::Pong);
    QCOMPARE(delivery.frames[0].frame.header.rsvBits(), 0);
    QCOMPARE(pair.server->sendClose(1000, QStringLiteral("bye"), AnyTime), SendError::None);
    delivery = deliver(*pair.server, *pair.client);
    QCOMPARE(delivery.frames.size(), 1);
    QCOMPARE(delivery.frames[0].frame.header.rsvBits(), 0);
    QCOMPARE(delivery.frames[0].frame.closeCode.value_or(0), quint16(1000));
    QCOMPARE(pair.serverExtension->stats().messagesDeflated, 0);
    QCOMPARE(pair.clientExtension->stats().messagesDeflated, 1);
}

void TestPerMessageDeflate::uncompressedChoices() {
    // Empty messages always, short ones below the threshold, and (when asked) ones
    // deflate does not shrink go as they are: RSV1 clear, payload untouched.
    DeflateConfig config;
    config.compressionThreshold = 6;
    config.skipIneffective = true;
    PerMessageDeflate extension(Role::Server, {}, config);
    FrameEncoder encoder = compressingEncoder(Role::Server, extension);
    QByteArray out;
    encoder.encodeMessage(out, Opcode::Text, "");
    encoder.encodeMessage(out, Opcode::Text, "Hello");
    encoder.encodeMessage(out, Opcode::Binary, hex("00112233445566"));
    QCOMPARE(out.toHex(), QByteArray("8100"
                                     "810548656c6c6f"
                                     "820700112233445566"));
    QCOMPARE(extension.stats().messagesSentUncompressed, 3);
    QCOMPARE(extension.stats().messagesDeflated, 0);

    // After an incompressible message the compressor starts afresh: the next message
    // must not refer to bytes the peer never saw. A strict peer inflates it alone.
    out.clear();
    const QByteArray text = tokenText(2000, 3);
    encoder.encodeMessage(out, Opcode::Binary, randomBytes(3000, 1));
    QVERIFY(out.startsWith(hex("827e0bb8")));
    QByteArray payload = text;
    QCOMPARE(extension.encodeMessage(payload, Opcode::Text), Rsv1Bit);
    StrictInflater fresh(15);
    QCOMPARE(fresh.inflateMessage(payload).value_or("failed"), text);

    // Without the option, everything non-empty is compressed, growing or not.
    PerMessageDeflate always(Role::Server, {});
    QByteArray tiny = "a";
    QCOMPARE(always.encodeMessage(tiny, Opcode::Text), Rsv1Bit);
    QCOMPARE(tiny.toHex(), QByteArray("4a0400"));
    QByteArray empty;
    QCOMPARE(always.encodeMessage(empty, Opcode::Text), 0);
    QVERIFY(empty.isEmpty());
}

void TestPerMessageDeflate::roundTripLargeMessages() {
    // Several MiB, text and random binary, both directions' streams kept across
    // messages; fragmented on the way.
    PerMessageDeflate sender(Role::Client, {});
    PerMessageDeflate receiver(Role::Server, {});
    FrameEncoder encoder =
        compressingEncoder(Role::Client, sender, MaskingKeySource::fixed(kSampleMaskKey));
    FrameDecoder decoder(decompressingOptions(Role::Server, receiver));
    const QByteArrayList messages = {tokenText(3 << 20, 11), randomBytes(1 << 20, 12),
                                     tokenText(100000, 11), QByteArray(2 << 20, 'x')};
    QByteArray stream;
    for (const QByteArray &message : messages)
        encoder.encodeMessage(stream, Opcode::Binary, message, 64 * 1024);
    const Decoded result = decodeAll(decoder, stream, 100000);
    QVERIFY(!result.violation);
    QCOMPARE(result.messages.size(), messages.size());
    for (qsizetype i = 0; i < messages.size(); ++i)
        QVERIFY2(result.messages[i] == messages[i], qPrintable(QString::number(i)));
    // Random bytes do not shrink; text and runs do, a lot.
    QVERIFY(sender.stats().bytesDeflatedTo < sender.stats().bytesDeflatedFrom / 2);
}

// ---------------------------------------------------------------------------
// Windows

void TestPerMessageDeflate::strictInflaterRejectsTooFarBack() {
    // The check below is only as good as the strict inflater: a stream compressed
    // with a 32 KiB window must fail with an 8-bit one, and inflate with 15 bits.
    const QByteArray text = tokenText(8000, 5);
    PerMessageDeflate wide(Role::Server, {});
    QByteArray payload = text;
    QCOMPARE(wide.encodeMessage(payload, Opcode::Text), Rsv1Bit);
    StrictInflater narrow(8);
    QVERIFY(!narrow.inflateMessage(payload));
    QCOMPARE(narrow.error(), QStringLiteral("invalid distance too far back"));
    StrictInflater full(15);
    QCOMPARE(full.inflateMessage(payload).value_or("failed"), text);
}

void TestPerMessageDeflate::compressorHonoursItsWindow_data() {
    QTest::addColumn<int>("agreedBits"); // the agreement's limit for our compressor
    QTest::addColumn<int>("ownBits");    // our config's limit
    QTest::addColumn<int>("effective");
    for (int bits = 8; bits <= 15; ++bits)
        QTest::addRow("agreed %d", bits) << bits << 15 << bits;
    QTest::newRow("own 8 under 12") << 12 << 8 << 8;
    QTest::newRow("own 11 under 15") << 15 << 11 << 11;
    QTest::newRow("agreed 9 under own 13") << 9 << 13 << 9;
}

void TestPerMessageDeflate::compressorHonoursItsWindow() {
    QFETCH(int, agreedBits);
    QFETCH(int, ownBits);
    QFETCH(int, effective);
    DeflateParams params;
    params.clientMaxWindowBits = agreedBits;
    DeflateConfig config;
    config.clientMaxWindowBits = ownBits;
    config.compressionLevel = 9; // searches hardest for far matches
    PerMessageDeflate extension(Role::Client, params, config);
    QCOMPARE(extension.deflateWindowBits(), effective);
    // zlib has no 256-byte deflate window; 512 never refers further back than 250.
    QCOMPARE(extension.zlibDeflateWindowBits(), std::max(effective, 9));

    // A peer inflating with exactly the effective window follows every message,
    // the window carried across them.
    StrictInflater peer(effective);
    for (quint32 seed = 1; seed <= 4; ++seed) {
        const QByteArray text = tokenText(6000, seed % 2 + 20); // repeats across messages too
        QByteArray payload = text;
        QCOMPARE(extension.encodeMessage(payload, Opcode::Text), Rsv1Bit);
        const std::optional<QByteArray> inflated = peer.inflateMessage(payload);
        QVERIFY2(inflated, qPrintable(peer.error()));
        QCOMPARE(*inflated, text);
    }
}

void TestPerMessageDeflate::inflateForInspection() {
    // A whole message, and the first frame of a fragmented one, alone.
    MessageExtension::Decoded result =
        PerMessageDeflate::inflateForInspection(hex("f248cdc9c90700"), 100);
    QCOMPARE(errorOf(result), -1);
    QCOMPARE(result.data, QByteArray("Hello"));
    result = PerMessageDeflate::inflateForInspection(hex("f248cd"), 100);
    QCOMPARE(errorOf(result), -1);
    QVERIFY2(QByteArray("Hello").startsWith(result.data), result.data.constData());
    // Cut at the limit, with the bytes that fit.
    result = PerMessageDeflate::inflateForInspection(hex("f248cdc9c90700"), 3);
    QCOMPARE(errorOf(result), int(ProtocolError::MessageTooBig));
    QCOMPARE(result.data, QByteArray("Hel"));
    // A message that refers back to an earlier one cannot be shown alone.
    result = PerMessageDeflate::inflateForInspection(hex("f200110000"), 100);
    QCOMPARE(errorOf(result), int(ProtocolError::DecompressionFailed));
    // A final block followed by more blocks (§7.2.3.4).
    result = PerMessageDeflate::inflateForInspection(hex("f348cdc9c9070000"), 100);
    QCOMPARE(errorOf(result), -1);
    QCOMPARE(result.data, QByteArray("Hello"));
}

// ---------------------------------------------------------------------------
// Negotiation

void TestPerMessageDeflate::offer_data() {
    QTest::addColumn<QString>("config");
    QTest::addColumn<QByteArray>("header");
    // Like browsers: a bare client_max_window_bits lets the server limit our window.
    QTest::newRow("default") << "" << QByteArray("permessage-deflate; client_max_window_bits");
    QTest::newRow("refuse") << "refuse" << QByteArray("");
    QTest::newRow("require") << "require"
                             << QByteArray("permessage-deflate; client_max_window_bits");
    QTest::newRow("server no context takeover")
        << "snct"
        << QByteArray("permessage-deflate; server_no_context_takeover; "
                      "client_max_window_bits");
    QTest::newRow("everything")
        << "snct cnct s=10 c=9"
        << QByteArray("permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                      "server_max_window_bits=10; client_max_window_bits=9");
    QTest::newRow("window 8") << "s=8 c=8"
                              << QByteArray("permessage-deflate; server_max_window_bits=8; "
                                            "client_max_window_bits=8");
    QTest::newRow("out of range is clamped")
        << "s=3 c=20"
        << QByteArray("permessage-deflate; server_max_window_bits=8; client_max_window_bits");
}

void TestPerMessageDeflate::offer() {
    QFETCH(QString, config);
    QFETCH(QByteArray, header);
    const ExtensionParams offer = deflateOffer(configFrom(config));
    QCOMPARE(offer.name.isEmpty() ? QByteArray() : formatExtensions({offer}), header);
    if (!header.isEmpty())
        QVERIFY(parseDeflateOffer(offer)); // what we offer, we would accept
}

void TestPerMessageDeflate::parseOffer_data() {
    QTest::addColumn<QByteArray>("header");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<QString>("expected"); // snct cnct s=N c (bare) c=N, or the reason part

    QTest::newRow("bare") << QByteArray("permessage-deflate") << true << "";
    QTest::newRow("everything") << QByteArray(
                                       "permessage-deflate; server_no_context_takeover; "
                                       "client_no_context_takeover; server_max_window_bits=10; "
                                       "client_max_window_bits=9")
                                << true << "snct cnct s=10 c=9";
    QTest::newRow("bare client bits")
        << QByteArray("permessage-deflate; client_max_window_bits") << true << "c";
    QTest::newRow("quoted value") << QByteArray("permessage-deflate; server_max_window_bits=\"12\"")
                                  << true << "s=12";
    QTest::newRow("names ignore case")
        << QByteArray("Permessage-Deflate; Server_Max_Window_Bits=8") << true << "s=8";
    QTest::newRow("unknown parameter") << QByteArray("permessage-deflate; foo") << false
                                       << "'foo' is not a permessage-deflate parameter";
    QTest::newRow("repeated parameter")
        << QByteArray("permessage-deflate; server_no_context_takeover; server_no_context_takeover")
        << false << "appears more than once";
    QTest::newRow("repeated in other case")
        << QByteArray("permessage-deflate; client_max_window_bits=9; CLIENT_MAX_WINDOW_BITS")
        << false << "appears more than once";
    QTest::newRow("flag with value")
        << QByteArray("permessage-deflate; client_no_context_takeover=1") << false
        << "takes no value";
    QTest::newRow("server bits without value")
        << QByteArray("permessage-deflate; server_max_window_bits") << false << "needs a value";
    QTest::newRow("server bits 7") << QByteArray("permessage-deflate; server_max_window_bits=7")
                                   << false << "not a number from 8 to 15";
    QTest::newRow("server bits 16") << QByteArray("permessage-deflate; server_max_window_bits=16")
                                    << false << "not a number from 8 to 15";
    QTest::newRow("leading zero") << QByteArray("permessage-deflate; server_max_window_bits=09")
                                  << false << "without leading zeros";
    QTest::newRow("client bits 0") << QByteArray("permessage-deflate; client_max_window_bits=0")
                                   << false << "not a number from 8 to 15";
    QTest::newRow("client bits word")
        << QByteArray("permessage-deflate; client_max_window_bits=ten") << false
        << "not a number from 8 to 15";
    QTest::newRow("another extension")
        << QByteArray("x-webkit-deflate-frame") << false << "is not permessage-deflate";
}

void TestPerMessageDeflate::parseOffer() {
    QFETCH(QByteArray, header);
    QFETCH(bool, valid);
    QFETCH(QString, expected);
    QString why;
    const std::optional<DeflateOffer> offer =
        parseDeflateOffer(extensionsFrom(header).front(), &why);
    QCOMPARE(offer.has_value(), valid);
    if (!valid) {
        QVERIFY2(why.contains(expected), qPrintable(why));
        QVERIFY2(why.contains(u"RFC 7692") || expected.contains(u"is not permessage"),
                 qPrintable(why));
        return;
    }
    QStringList parts;
    if (offer->serverNoContextTakeover)
        parts << QStringLiteral("snct");
    if (offer->clientNoContextTakeover)
        parts << QStringLiteral("cnct");
    if (offer->serverMaxWindowBits)
        parts << QStringLiteral("s=%1").arg(*offer->serverMaxWindowBits);
    if (offer->clientMaxWindowBitsOffered) {
        parts << (offer->clientMaxWindowBits
                      ? QStringLiteral("c=%1").arg(*offer->clientMaxWindowBits)
                      : QStringLiteral("c"));
    }
    QCOMPARE(parts.join(u' '), expected);
}

void TestPerMessageDeflate::server_data() {
    QTest::addColumn<QString>("config");
    QTest::addColumn<QByteArray>("offers");   // the client's Sec-WebSocket-Extensions
    QTest::addColumn<QByteArray>("response"); // ours, empty when nothing is accepted
    QTest::addColumn<QString>("params");
    QTest::addColumn<int>("notes");
    QTest::addColumn<bool>("error");

    const auto row = [](const char *name, const char *config, const char *offers,
                        const char *response, const char *params, int notes = 0,
                        bool error = false) {
        QTest::newRow(name) << QString::fromLatin1(config) << QByteArray(offers)
                            << QByteArray(response) << QString::fromLatin1(params) << notes
                            << error;
    };
    row("browser", "", "permessage-deflate; client_max_window_bits", "permessage-deflate",
        "default");
    row("bare", "", "permessage-deflate", "permessage-deflate", "default");
    row("server bits echoed", "", "permessage-deflate; server_max_window_bits=10",
        "permessage-deflate; server_max_window_bits=10", "s=10");
    row("server bits 15 echoed", "", "permessage-deflate; server_max_window_bits=15",
        "permessage-deflate; server_max_window_bits=15", "default");
    // zlib cannot deflate with 8 bits; 9 bits never refer past 250 bytes: accepted.
    row("server bits 8 honoured", "", "permessage-deflate; server_max_window_bits=8",
        "permessage-deflate; server_max_window_bits=8", "s=8");
    row("server bits lowered by config", "s=11", "permessage-deflate; server_max_window_bits=13",
        "permessage-deflate; server_max_window_bits=11", "s=11");
    row("server bits kept below config", "s=11", "permessage-deflate; server_max_window_bits=9",
        "permessage-deflate; server_max_window_bits=9", "s=9");
    row("server bits announced unasked", "s=12", "permessage-deflate",
        "permessage-deflate; server_max_window_bits=12", "s=12");
    row("server no context takeover asked", "", "permessage-deflate; server_no_context_takeover",
        "permessage-deflate; server_no_context_takeover", "snct");
    row("server no context takeover announced", "snct", "permessage-deflate",
        "permessage-deflate; server_no_context_takeover", "snct");
    row("client no context takeover echoed", "", "permessage-deflate; client_no_context_takeover",
        "permessage-deflate; client_no_context_takeover", "cnct");
    row("client no context takeover asked", "cnct", "permessage-deflate",
        "permessage-deflate; client_no_context_takeover", "cnct");
    row("client bits asked", "c=10", "permessage-deflate; client_max_window_bits",
        "permessage-deflate; client_max_window_bits=10", "c=10");
    row("client bits not above the client's", "c=10",
        "permessage-deflate; client_max_window_bits=9",
        "permessage-deflate; client_max_window_bits=9", "c=9");
    row("client bits 8", "c=8", "permessage-deflate; client_max_window_bits",
        "permessage-deflate; client_max_window_bits=8", "c=8");
    // §7.1.2.2: without the parameter in the offer, the response must not have it.
    row("client bits not offered", "c=10", "permessage-deflate", "permessage-deflate", "default");
    row("client hint needs no answer", "", "permessage-deflate; client_max_window_bits=9",
        "permessage-deflate", "default");
    row("everything", "snct cnct s=12 c=11",
        "permessage-deflate; client_max_window_bits; server_max_window_bits=13",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=12; client_max_window_bits=11",
        "snct cnct s=12 c=11");
    // Invalid offers are declined; the next one is taken.
    row("first offer invalid", "",
        "permessage-deflate; server_max_window_bits=7, permessage-deflate; "
        "client_no_context_takeover",
        "permessage-deflate; client_no_context_takeover", "cnct", 1);
    row("first valid offer wins", "",
        "permessage-deflate; server_max_window_bits=10, permessage-deflate",
        "permessage-deflate; server_max_window_bits=10", "s=10");
    row("other extensions ignored", "", "x-webkit-deflate-frame, permessage-deflate",
        "permessage-deflate", "default");
    row("all invalid", "", "permessage-deflate; foo, permessage-deflate; server_max_window_bits",
        "", "none", 2);
    row("nothing offered", "", "x-webkit-deflate-frame", "", "none");
    row("refused", "refuse", "permessage-deflate", "", "none");
    row("required and offered", "require", "permessage-deflate", "permessage-deflate", "default");
    row("required, none offered", "require", "x-webkit-deflate-frame", "", "none", 0, true);
    row("required, all invalid", "require", "permessage-deflate; x=1", "", "none", 1, true);
}

void TestPerMessageDeflate::server() {
    QFETCH(QString, config);
    QFETCH(QByteArray, offers);
    QFETCH(QByteArray, response);
    QFETCH(QString, params);
    QFETCH(int, notes);
    QFETCH(bool, error);
    const DeflateNegotiation result =
        negotiateDeflateServer(extensionsFrom(offers), configFrom(config));
    QCOMPARE(paramsText(result.params), paramsText(paramsFrom(params)));
    QCOMPARE(result.params ? formatExtensions({result.response}) : QByteArray(), response);
    QCOMPARE(result.notes.size(), notes);
    QCOMPARE(!result.ok(), error);
    if (result.params) {
        const PerMessageDeflate extension(Role::Server, *result.params, configFrom(config));
        QCOMPARE(extension.deflateWindowBits(), result.params->serverMaxWindowBits);
        QCOMPARE(extension.resetsDeflatePerMessage(), result.params->serverNoContextTakeover);
        QCOMPARE(extension.resetsInflatePerMessage(), result.params->clientNoContextTakeover);
    }
    if (!response.isEmpty()) {
        // What we answer, a client with the same offer accepts, agreeing on the same.
        const DeflateNegotiation client =
            negotiateDeflateClient(extensionsFrom(offers), extensionsFrom(response), {});
        QVERIFY2(client.ok(), qPrintable(client.error));
        QCOMPARE(paramsText(client.params), paramsText(result.params));
    }
}

void TestPerMessageDeflate::client_data() {
    QTest::addColumn<QString>("config");
    QTest::addColumn<QByteArray>("offers"); // empty: deflateOffer(config)
    QTest::addColumn<QByteArray>("response");
    QTest::addColumn<QString>("params");
    QTest::addColumn<QString>("error"); // a part of the error, empty when none
    QTest::addColumn<int>("notes");

    const auto row = [](const char *name, const char *config, const char *offers,
                        const char *response, const char *params, const char *error = "",
                        int notes = 0) {
        QTest::newRow(name) << QString::fromLatin1(config) << QByteArray(offers)
                            << QByteArray(response) << QString::fromLatin1(params)
                            << QString::fromLatin1(error) << notes;
    };
    row("plain", "", "", "permessage-deflate", "default");
    // The server may add these unasked (§7.1.1.1, §7.1.1.2, §7.1.2.1).
    row("server adds server_no_context_takeover", "", "",
        "permessage-deflate; server_no_context_takeover", "snct");
    row("server adds client_no_context_takeover", "", "",
        "permessage-deflate; client_no_context_takeover", "cnct");
    row("server adds server bits", "", "", "permessage-deflate; server_max_window_bits=9", "s=9");
    row("server limits us", "", "", "permessage-deflate; client_max_window_bits=10", "c=10");
    row("server limits us to 8", "", "", "permessage-deflate; client_max_window_bits=8", "c=8");
    row("above our hint is noted", "c=9", "", "permessage-deflate; client_max_window_bits=12",
        "c=12", "", 1);
    row("requested bits confirmed", "s=10", "", "permessage-deflate; server_max_window_bits=10",
        "s=10");
    row("requested bits lowered", "s=10", "", "permessage-deflate; server_max_window_bits=8",
        "s=8");
    row("everything", "snct cnct s=10 c=9", "",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=10; client_max_window_bits=9",
        "snct cnct s=10 c=9");
    row("quoted and cased", "", "", "permessage-deflate; Server_Max_Window_Bits=\"11\"", "s=11");
    // Requests the response does not confirm: noted, not fatal.
    row("no_context_takeover not confirmed", "snct", "", "permessage-deflate", "default", "", 1);
    row("server bits not confirmed", "s=10 snct", "", "permessage-deflate", "default", "", 2);
    // RFC 7692 §7.1: the connection must be failed.
    row("unknown parameter", "", "", "permessage-deflate; foo", "none",
        "'foo' is not a permessage-deflate parameter");
    row("unknown parameter with value", "", "", "permessage-deflate; mode=fast", "none",
        "'mode' is not a permessage-deflate parameter");
    row("repeated parameter", "", "",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover", "none",
        "appears more than once");
    row("flag with value", "", "", "permessage-deflate; server_no_context_takeover=yes", "none",
        "takes no value");
    row("server bits 16", "", "", "permessage-deflate; server_max_window_bits=16", "none",
        "not a number from 8 to 15");
    row("server bits 7", "", "", "permessage-deflate; server_max_window_bits=7", "none",
        "not a number from 8 to 15");
    row("server bits 010", "", "", "permessage-deflate; server_max_window_bits=010", "none",
        "without leading zeros");
    row("server bits without value", "", "", "permessage-deflate; server_max_window_bits", "none",
        "needs a value");
    row("client bits without value", "", "", "permessage-deflate; client_max_window_bits", "none",
        "needs a value in a response");
    row("client bits 4", "", "", "permessage-deflate; client_max_window_bits=4", "none",
        "not a number from 8 to 15");
    row("server bits above the offer", "s=10", "", "permessage-deflate; server_max_window_bits=11",
        "none", "larger than the 10 offered");
    row("client bits not offered", "", "permessage-deflate",
        "permessage-deflate; client_max_window_bits=10", "none", "the offer did not include it");
    // Several offers: the response has to fit one of them.
    row("fits the second offer", "",
        "permessage-deflate; server_max_window_bits=9, permessage-deflate",
        "permessage-deflate; server_max_window_bits=12", "s=12");
    row("fits none", "",
        "permessage-deflate; server_max_window_bits=9, permessage-deflate; "
        "server_max_window_bits=10",
        "permessage-deflate; server_max_window_bits=12", "none", "larger than the 9 offered");
    // The server went without it.
    row("declined", "", "", "", "none");
    row("declined, other extension", "", "permessage-deflate, x-other", "x-other", "none");
    row("declined but required", "require", "", "", "none",
        "did not accept permessage-deflate, which this client requires");
    row("not offered", "", "x-other", "permessage-deflate", "none", "which was not offered");
    row("accepted twice", "", "", "permessage-deflate, permessage-deflate", "none", "2 times");
}

void TestPerMessageDeflate::client() {
    QFETCH(QString, config);
    QFETCH(QByteArray, offers);
    QFETCH(QByteArray, response);
    QFETCH(QString, params);
    QFETCH(QString, error);
    QFETCH(int, notes);
    const DeflateConfig deflateConfig = configFrom(config);
    const QList<ExtensionParams> offered = offers.isEmpty()
                                               ? QList<ExtensionParams>{deflateOffer(deflateConfig)}
                                               : extensionsFrom(offers);
    const QList<ExtensionParams> accepted =
        response.isEmpty() ? QList<ExtensionParams>{} : extensionsFrom(response);
    const DeflateNegotiation result = negotiateDeflateClient(offered, accepted, deflateConfig);
    QVERIFY2(error.isEmpty() ? result.ok() : result.error.contains(error),
             qPrintable(result.error));
    QCOMPARE(paramsText(result.params), paramsText(paramsFrom(params)));
    QCOMPARE(result.notes.size(), notes);
    if (result.params) {
        // Our compressor keeps to the agreement and to our own wish, whichever is smaller.
        const PerMessageDeflate extension(Role::Client, *result.params, deflateConfig);
        QCOMPARE(extension.deflateWindowBits(),
                 std::min(result.params->clientMaxWindowBits,
                          std::clamp(deflateConfig.clientMaxWindowBits, 8, 15)));
        QCOMPARE(extension.resetsDeflatePerMessage(),
                 result.params->clientNoContextTakeover || deflateConfig.clientNoContextTakeover);
        QCOMPARE(extension.resetsInflatePerMessage(), result.params->serverNoContextTakeover);
    }
}

// ---------------------------------------------------------------------------
// Sessions

void TestPerMessageDeflate::sessions_data() {
    QTest::addColumn<bool>("serverNoContextTakeover"); // asked by the client
    QTest::addColumn<bool>("clientNoContextTakeover"); // asked by the server
    QTest::addColumn<int>("serverBits");               // asked by the client
    QTest::addColumn<int>("clientBits");               // asked by the server
    for (const bool snct : {false, true}) {
        for (const bool cnct : {false, true}) {
            for (int serverBits = 8; serverBits <= 15; ++serverBits) {
                for (int clientBits = 8; clientBits <= 15; ++clientBits) {
                    QTest::addRow("snct=%d cnct=%d s=%d c=%d", snct, cnct, serverBits, clientBits)
                        << snct << cnct << serverBits << clientBits;
                }
            }
        }
    }
}

void TestPerMessageDeflate::sessions() {
    QFETCH(bool, serverNoContextTakeover);
    QFETCH(bool, clientNoContextTakeover);
    QFETCH(int, serverBits);
    QFETCH(int, clientBits);

    SessionPair pair;
    pair.clientConfig.serverNoContextTakeover = serverNoContextTakeover;
    pair.clientConfig.serverMaxWindowBits = serverBits;
    pair.serverConfig.clientNoContextTakeover = clientNoContextTakeover;
    pair.serverConfig.clientMaxWindowBits = clientBits;
    QVERIFY(pair.connect());
    QVERIFY2(pair.clientSide.ok(), qPrintable(pair.clientSide.error));
    QVERIFY(pair.clientExtension && pair.serverExtension);

    // The headers on the wire, and the same agreement at both ends.
    QByteArray offer = "permessage-deflate";
    QByteArray response = "permessage-deflate";
    if (serverNoContextTakeover) {
        offer += "; server_no_context_takeover";
        response += "; server_no_context_takeover";
    }
    if (clientNoContextTakeover)
        response += "; client_no_context_takeover";
    if (serverBits < 15) {
        offer += "; server_max_window_bits=" + QByteArray::number(serverBits);
        response += "; server_max_window_bits=" + QByteArray::number(serverBits);
    }
    offer += "; client_max_window_bits";
    if (clientBits < 15)
        response += "; client_max_window_bits=" + QByteArray::number(clientBits);
    QCOMPARE(pair.offerHeader, offer);
    QCOMPARE(pair.responseHeader, response);
    const DeflateParams expected{serverNoContextTakeover, clientNoContextTakeover, serverBits,
                                 clientBits};
    QCOMPARE(paramsText(pair.serverSide.params), paramsText(expected));
    QCOMPARE(paramsText(pair.clientSide.params), paramsText(expected));
    QVERIFY(pair.clientSide.notes.isEmpty());

    // Messages both ways. Each side's compressed frames are inflated again by a
    // strict peer with exactly the agreed window and context rules of the sender.
    const QByteArray shortText = tokenText(200, 99);
    struct Outgoing {
        QByteArray data;
        Opcode type;
        qint64 fragmentSize;
    };
    const QList<Outgoing> outgoing = {
        {shortText, Opcode::Text, 0},
        {shortText, Opcode::Text, 0},
        {tokenText(6000, 1), Opcode::Text, 0},
        {randomBytes(3000, 2), Opcode::Binary, 0},
        {tokenText(6000, 1), Opcode::Binary, 700},
        {QByteArray(5000, 'z'), Opcode::Text, 1000},
    };
    for (const Role sender : {Role::Client, Role::Server}) {
        Session &from = sender == Role::Client ? *pair.client : *pair.server;
        Session &to = sender == Role::Client ? *pair.server : *pair.client;
        const bool resets = expected.noContextTakeover(sender);
        StrictInflater peer(expected.maxWindowBits(sender));
        QList<qint64> wireSizes;
        for (const Outgoing &message : outgoing) {
            const SendError sent =
                message.type == Opcode::Text
                    ? from.sendText(QByteArrayView(message.data), AnyTime, message.fragmentSize)
                    : from.sendBinary(QByteArrayView(message.data), AnyTime, message.fragmentSize);
            QCOMPARE(sent, SendError::None);
            const Delivery delivery = deliver(from, to);
            QVERIFY2(delivery.violations.isEmpty(),
                     qPrintable(delivery.violations.value(0).violation.reason));
            QCOMPARE(delivery.messages.size(), 1);
            const DecodedMessage &received = delivery.messages[0].message;
            QCOMPARE(received.type, message.type);
            QCOMPARE(received.data, message.data);
            QVERIFY(received.compressed);
            QCOMPARE(received.frameCount, delivery.frames.size());
            QByteArray wire;
            for (qsizetype i = 0; i < delivery.frames.size(); ++i) {
                // RFC 7692 §6.1: RSV1 on the first frame of the message only.
                QCOMPARE(delivery.frames[i].frame.header.rsv1, i == 0);
                wire += delivery.frames[i].frame.payload;
            }
            QCOMPARE(received.wireSize, wire.size());
            if (resets)
                peer.reset();
            const std::optional<QByteArray> inflated = peer.inflateMessage(wire);
            QVERIFY2(inflated, qPrintable(peer.error()));
            QCOMPARE(*inflated, message.data);
            wireSizes.append(wire.size());
        }
        // The second copy of the short text refers back to the first, unless the
        // sender must start each message afresh.
        if (resets)
            QCOMPARE(wireSizes[1], wireSizes[0]);
        else
            QVERIFY2(wireSizes[1] < wireSizes[0] / 4,
                     qPrintable(QStringLiteral("%1 %2").arg(wireSizes[0]).arg(wireSizes[1])));
    }
}

void TestPerMessageDeflate::sessionsWithoutAgreement() {
    // The server requires the extension; the client does not offer it: rejected.
    {
        SessionPair pair;
        pair.clientConfig.policy = DeflatePolicy::Refuse;
        pair.serverConfig.policy = DeflatePolicy::Require;
        QVERIFY(pair.connect());
        QVERIFY(!pair.serverSide.ok());
        QCOMPARE(pair.client->state(), SessionState::Closed);
        QVERIFY(!pair.clientExtension);
    }
    // The client requires it; the server refuses: the client fails the connection.
    {
        SessionPair pair;
        pair.clientConfig.policy = DeflatePolicy::Require;
        pair.serverConfig.policy = DeflatePolicy::Refuse;
        QVERIFY(pair.connect());
        QVERIFY(pair.serverSide.ok() && !pair.serverSide.params);
        QVERIFY(!pair.clientSide.ok());
        const QList<ClosedEvent> closed = eventsOf<ClosedEvent>(takeEvents(*pair.client));
        QCOMPARE(closed.size(), 1);
        QCOMPARE(closed[0].code, quint16(1006));
        QVERIFY(pair.client->shouldCloseTransport());
    }
    // Offered but declined, not required: plain messages flow, RSV1 clear.
    {
        SessionPair pair;
        pair.serverConfig.policy = DeflatePolicy::Refuse;
        QVERIFY(pair.connect());
        QVERIFY(pair.clientSide.ok() && !pair.clientSide.params);
        QCOMPARE(pair.client->sendText(QByteArrayView("Hello"), AnyTime), SendError::None);
        const Delivery delivery = deliver(*pair.client, *pair.server);
        QCOMPARE(delivery.messages.size(), 1);
        QVERIFY(!delivery.messages[0].message.compressed);
        QCOMPARE(delivery.frames[0].frame.header.rsvBits(), 0);
    }
}

QTEST_APPLESS_MAIN(TestPerMessageDeflate)
#include "tst_permessagedeflate.moc"

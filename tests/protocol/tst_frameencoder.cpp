#include "protocol/extension.h"
#include "protocol/framedecoder.h"
#include "protocol/frameencoder.h"
#include "protocoltestsupport.h"

#include <QRandomGenerator>
#include <QTest>

#include <algorithm>

using namespace ws;
using namespace ws::test;

Q_DECLARE_METATYPE(ws::RawFrame)

namespace {

// Keys 0x11111111, 0x22222222, ... in turn, so every frame's key is known.
MaskingKeySource countingKeys() {
    auto next = std::make_shared<quint32>(0);
    return MaskingKeySource::fromFunction([next] { return ++*next * 0x11111111u; });
}

// "Compresses" by reversing the bytes; decodes by reversing them back.
class ReversingExtension : public MessageExtension {
public:
    explicit ReversingExtension(quint8 bits = Rsv1Bit)
        : m_bits(bits) {}
    QByteArray name() const override { return QByteArrayLiteral("x-reverse"); }
    quint8 rsvBits() const override { return Rsv1Bit; }
    Decoded decodeMessage(QByteArrayView payload, quint8, qint64) override {
        QByteArray data = payload.toByteArray();
        std::reverse(data.begin(), data.end());
        return {data, std::nullopt};
    }
    quint8 encodeMessage(QByteArray &payload, Opcode) override {
        if (m_bits != 0)
            std::reverse(payload.begin(), payload.end());
        return m_bits;
    }

private:
    quint8 m_bits;
};

QList<DecoderOutput> decodeAll(Role peer, const QByteArray &bytes, MessageExtension *extension,
                               quint32 chunkSeed) {
    DecoderOptions options;
    options.role = peer;
    options.extension = extension;
    FrameDecoder decoder(options);
    QRandomGenerator random(chunkSeed);
    QList<DecoderOutput> outputs;
    for (qsizetype position = 0; position < bytes.size();) {
        const qsizetype size =
            std::min<qsizetype>(bytes.size() - position, 1 + random.bounded(5000));
        decoder.feed(QByteArrayView(bytes).sliced(position, size));
        position += size;
        while (decoder.hasNext())
            outputs << decoder.takeNext();
    }
    return outputs;
}

} // namespace

class TestFrameEncoder : public QObject {
    Q_OBJECT

private slots:
    void encodeFrame_data();
    void encodeFrame();
    void lengthEncodings_data();
    void lengthEncodings();
    void encodeMessage_data();
    void encodeMessage();
    void freshKeyForEveryFrame();
    void serverNeverAsksForKeys();
    void appendsToExistingBytes();
    void frameRunTakesOurKeys();
    void extensionTransformsFirstFrameOnly();
    void extensionMaySendUntransformed();
    void encodeRaw_data();
    void encodeRaw();
    void extensionSharesAByteArray();
    void closePayload_data();
    void closePayload();
    void roundTrip_data();
    void roundTrip();
};

void TestFrameEncoder::encodeFrame_data() {
    QTest::addColumn<int>("role");
    QTest::addColumn<int>("opcode");
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<bool>("fin");
    QTest::addColumn<int>("rsvBits");
    QTest::addColumn<QByteArray>("expected");

    const int client = int(Role::Client);
    const int server = int(Role::Server);
    // RFC 6455 §5.7, client frames with the key 0x37fa213d.
    QTest::newRow("5.7 unmasked text")
        << server << int(Opcode::Text) << QByteArray("Hello") << true << 0 << hex("810548656c6c6f");
    QTest::newRow("5.7 masked text") << client << int(Opcode::Text) << QByteArray("Hello") << true
                                     << 0 << hex("818537fa213d7f9f4d5158");
    QTest::newRow("5.7 unmasked ping")
        << server << int(Opcode::Ping) << QByteArray("Hello") << true << 0 << hex("890548656c6c6f");
    QTest::newRow("5.7 masked pong") << client << int(Opcode::Pong) << QByteArray("Hello") << true
                                     << 0 << hex("8a8537fa213d7f9f4d5158");
    QTest::newRow("5.7 first fragment")
        << server << int(Opcode::Text) << QByteArray("Hel") << false << 0 << hex("010348656c");
    QTest::newRow("5.7 last fragment")
        << server << int(Opcode::Continuation) << QByteArray("lo") << true << 0 << hex("80026c6f");
    QTest::newRow("5.7 256-byte binary") << server << int(Opcode::Binary) << pattern(256) << true
                                         << 0 << (hex("827e0100") + pattern(256));
    QTest::newRow("5.7 64 KiB binary") << server << int(Opcode::Binary) << pattern(65536) << true
                                       << 0 << (hex("827f0000000000010000") + pattern(65536));
    QTest::newRow("empty masked close")
        << client << int(Opcode::Close) << QByteArray() << true << 0 << hex("888037fa213d");
    QTest::newRow("RSV1 and RSV3, no FIN") << server << int(Opcode::Text) << QByteArray("A")
                                           << false << int(Rsv1Bit | Rsv3Bit) << hex("510141");
    QTest::newRow("RSV2 masked") << client << int(Opcode::Binary) << hex("00ff") << true
                                 << int(Rsv2Bit) << (hex("a28237fa213d") + hex("3705"));
    // The session, not the encoder, keeps control frames at 125 bytes.
    QTest::newRow("long ping as given") << server << int(Opcode::Ping) << pattern(126) << true << 0
                                        << (hex("897e007e") + pattern(126));
}

void TestFrameEncoder::encodeFrame() {
    QFETCH(int, role);
    QFETCH(int, opcode);
    QFETCH(QByteArray, payload);
    QFETCH(bool, fin);
    QFETCH(int, rsvBits);
    QFETCH(QByteArray, expected);

    FrameEncoder encoder(Role(role), MaskingKeySource::fixed(0x37fa213d));
    QByteArray out;
    const FrameHeader header =
        encoder.encodeFrame(out, Opcode(opcode), payload, fin, quint8(rsvBits));
    QCOMPARE(out.toHex(), expected.toHex());
    QCOMPARE(header.fin, fin);
    QCOMPARE(int(header.rsvBits()), rsvBits);
    QCOMPARE(int(header.opcode), opcode);
    QCOMPARE(header.payloadLength, quint64(payload.size()));
    QCOMPARE(header.masked(), Role(role) == Role::Client);
    QCOMPARE(serializeHeader(header).toByteArray(), expected.left(header.size()));

    // Only the header, for a caller that writes the payload itself: the same bytes,
    // appended to what is there.
    FrameEncoder headerOnly(Role(role), MaskingKeySource::fixed(0x37fa213d));
    QByteArray headerBytes = "x";
    QCOMPARE(headerOnly.encodeFrameHeader(headerBytes, Opcode(opcode), payload.size(), fin,
                                          quint8(rsvBits)),
             header);
    QCOMPARE(headerBytes.toHex(), ("x" + expected.left(header.size())).toHex());
}

void TestFrameEncoder::lengthEncodings_data() {
    QTest::addColumn<qsizetype>("size");
    QTest::addColumn<QByteArray>("serverHeader");
    QTest::addColumn<QByteArray>("clientHeader");

    // RFC 6455 §5.2: the minimal number of bytes for every length.
    QTest::newRow("0") << qsizetype(0) << hex("8200") << hex("8280a1b2c3d4");
    QTest::newRow("125") << qsizetype(125) << hex("827d") << hex("82fda1b2c3d4");
    QTest::newRow("126") << qsizetype(126) << hex("827e007e") << hex("82fe007ea1b2c3d4");
    QTest::newRow("65535") << qsizetype(65535) << hex("827effff") << hex("82feffffa1b2c3d4");
    QTest::newRow("65536") << qsizetype(65536) << hex("827f0000000000010000")
                           << hex("82ff0000000000010000a1b2c3d4");
}

void TestFrameEncoder::lengthEncodings() {
    QFETCH(qsizetype, size);
    QFETCH(QByteArray, serverHeader);
    QFETCH(QByteArray, clientHeader);

    const QByteArray payload = pattern(size);
    FrameEncoder server(Role::Server);
    QByteArray out;
    server.encodeFrame(out, Opcode::Binary, payload);
    QCOMPARE(out, serverHeader + payload);

    FrameEncoder client(Role::Client, MaskingKeySource::fixed(0xa1b2c3d4));
    out.clear();
    const FrameHeader header = client.encodeFrame(out, Opcode::Binary, payload);
    QCOMPARE(out, clientHeader + referenceMask(payload, 0xa1b2c3d4));
    QCOMPARE(header.lengthEncoding, minimalEncoding(quint64(size)));
}

void TestFrameEncoder::encodeMessage_data() {
    QTest::addColumn<int>("role");
    QTest::addColumn<int>("type");
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<qint64>("fragmentSize");
    QTest::addColumn<QByteArray>("expected");

    const int client = int(Role::Client);
    const int server = int(Role::Server);
    const int text = int(Opcode::Text);
    const int binary = int(Opcode::Binary);
    QTest::newRow("5.7 fragmented Hello")
        << server << text << QByteArray("Hello") << qint64(3) << hex("010348656c80026c6f");
    QTest::newRow("one frame when not fragmenting")
        << server << text << QByteArray("Hello") << qint64(0) << hex("810548656c6c6f");
    QTest::newRow("one frame when it fits")
        << server << text << QByteArray("Hello") << qint64(5) << hex("810548656c6c6f");
    QTest::newRow("one byte per frame") << server << binary << hex("010203") << qint64(1)
                                        << hex("0201010001028001"
                                               "03");
    QTest::newRow("empty message is one frame")
        << server << binary << QByteArray() << qint64(4) << hex("8200");
    QTest::newRow("empty masked message")
        << client << text << QByteArray() << qint64(0) << hex("818011111111");
    QTest::newRow("masked fragments, a fresh key each")
        << client << text << QByteArray("Hello") << qint64(2)
        << (hex("018211111111") + referenceMask("He", 0x11111111) + hex("008222222222") +
            referenceMask("ll", 0x22222222) + hex("808133333333") + referenceMask("o", 0x33333333));
    QTest::newRow("fragments of 200 bytes")
        << server << binary << pattern(450) << qint64(200)
        << (hex("027e00c8") + pattern(450).left(200) + hex("007e00c8") +
            pattern(450).sliced(200, 200) + hex("8032") + pattern(450).sliced(400));
}

void TestFrameEncoder::encodeMessage() {
    QFETCH(int, role);
    QFETCH(int, type);
    QFETCH(QByteArray, payload);
    QFETCH(qint64, fragmentSize);
    QFETCH(QByteArray, expected);

    FrameEncoder encoder(Role(role), countingKeys());
    QByteArray out;
    const QList<FrameHeader> headers =
        encoder.encodeMessage(out, Opcode(type), payload, fragmentSize);
    QCOMPARE(out.toHex(), expected.toHex());

    QVERIFY(!headers.isEmpty());
    quint64 total = 0;
    for (qsizetype i = 0; i < headers.size(); ++i) {
        QCOMPARE(int(headers[i].opcode), i == 0 ? type : int(Opcode::Continuation));
        QCOMPARE(headers[i].fin, i == headers.size() - 1);
        if (fragmentSize > 0)
            QVERIFY(headers[i].payloadLength <= quint64(fragmentSize));
        total += headers[i].payloadLength;
    }
    QCOMPARE(total, quint64(payload.size()));
}

void TestFrameEncoder::freshKeyForEveryFrame() {
    FrameEncoder encoder(Role::Client, countingKeys());
    QByteArray out;
    QList<quint32> keys;
    for (const FrameHeader &header : encoder.encodeMessage(out, Opcode::Binary, pattern(10), 4))
        keys << header.maskingKey.value_or(0);
    keys << encoder.encodeFrame(out, Opcode::Ping, "p").maskingKey.value_or(0);
    QCOMPARE(keys, QList<quint32>({0x11111111, 0x22222222, 0x33333333, 0x44444444}));
}

void TestFrameEncoder::serverNeverAsksForKeys() {
    int asked = 0;
    FrameEncoder encoder(Role::Server, MaskingKeySource::fromFunction([&asked] {
                             ++asked;
                             return 0u;
                         }));
    QByteArray out;
    encoder.encodeMessage(out, Opcode::Text, "Hello", 2);
    encoder.encodeFrame(out, Opcode::Close, FrameEncoder::closePayload(1000, "bye"));
    QCOMPARE(asked, 0);
    QCOMPARE(encoder.role(), Role::Server);
    QCOMPARE(out.toHex(), hex("0102486500026c6c80016f880503e8627965").toHex());
}

void TestFrameEncoder::frameRunTakesOurKeys() {
    // A relay's client re-masks frames a client sent it: each frame leaves with the
    // next key of ours and its payload masked with it (RFC 6455 §5.3), headers
    // otherwise as they came; every length encoding, an empty payload, a zero key.
    const QList<quint32> ours = {0x11111111, 0x37fa213d, 0xdeadbeef, 0x00000000};
    qsizetype asked = 0;
    FrameEncoder client(Role::Client,
                        MaskingKeySource::fromFunction([&] { return ours.at(asked++); }));
    const auto frames = [](const QList<quint32> &keys) {
        return wireFrame(0x82, pattern(5), keys.at(0)) +
               wireFrame(0x01, utf8Pattern(200), keys.at(1)) + wireFrame(0x80, "", keys.at(2)) +
               wireFrame(0x82, pattern(70000), keys.at(3));
    };
    QByteArray out("before");
    client.appendFrameRun(out, frames({0x01020304, 0xa1b2c3d4, 0x0f0e0d0c, 0x10203040}));
    QCOMPARE(asked, ours.size());
    QVERIFY(out == "before" + frames(ours));
    // A relay's server passes a server's frames on as they are, and draws no key.
    int serverAsked = 0;
    FrameEncoder server(Role::Server, MaskingKeySource::fromFunction([&] {
                            ++serverAsked;
                            return 0u;
                        }));
    const QByteArray plain = wireFrame(0x82, pattern(300)) + wireFrame(0x81, "abc");
    QByteArray passed;
    server.appendFrameRun(passed, plain);
    QVERIFY(passed == plain);
    QCOMPARE(serverAsked, 0);
}

void TestFrameEncoder::appendsToExistingBytes() {
    FrameEncoder encoder(Role::Server);
    QByteArray out("xyz");
    encoder.encodeFrame(out, Opcode::Text, "A");
    encoder.encodeMessage(out, Opcode::Binary, "B");
    FrameEncoder::encodeRaw(out, RawFrame{});
    QCOMPARE(out, QByteArray("xyz") + hex("8101418201428100"));
}

void TestFrameEncoder::extensionTransformsFirstFrameOnly() {
    ReversingExtension reversing;
    FrameEncoder encoder(Role::Server);
    encoder.setExtension(&reversing);
    QByteArray out;
    const QList<FrameHeader> headers = encoder.encodeMessage(out, Opcode::Text, "abcde", 2);
    // RFC 7692 §6: RSV1 on the first frame of the message only.
    QCOMPARE(out.toHex(), hex("41026564"
                              "00026362"
                              "800161")
                              .toHex());
    QCOMPARE(headers.size(), 3);
    QVERIFY(headers[0].rsv1);
    QVERIFY(!headers[1].rsv1);
    QVERIFY(!headers[2].rsv1);

    // Single frames are not messages: encodeFrame leaves the payload alone.
    out.clear();
    encoder.encodeFrame(out, Opcode::Ping, "ab");
    QCOMPARE(out, hex("89026162"));
}

void TestFrameEncoder::extensionMaySendUntransformed() {
    ReversingExtension passThrough(0);
    FrameEncoder encoder(Role::Client, MaskingKeySource::fixed(0));
    encoder.setExtension(&passThrough);
    QByteArray out;
    const QList<FrameHeader> headers = encoder.encodeMessage(out, Opcode::Binary, "ab");
    QCOMPARE(out, hex("8282000000006162"));
    QCOMPARE(headers.first().rsvBits(), quint8(0));
}

void TestFrameEncoder::encodeRaw_data() {
    QTest::addColumn<RawFrame>("frame");
    QTest::addColumn<QByteArray>("expected");

    RawFrame frame;
    frame.payload = "Hello";
    QTest::newRow("defaults: text, FIN, minimal") << frame << hex("810548656c6c6f");

    frame.maskingKey = 0x37fa213d;
    QTest::newRow("5.7 masked") << frame << hex("818537fa213d7f9f4d5158");

    frame.maskingKey = 0;
    QTest::newRow("all-zero key sets MASK") << frame
                                            << hex("818500000000"
                                                   "48656c6c6f");

    frame = RawFrame{};
    frame.opcode = 0x3;
    QTest::newRow("reserved data opcode") << frame << hex("8300");
    frame.opcode = 0xf;
    QTest::newRow("reserved control opcode") << frame << hex("8f00");
    frame.opcode = 0x1f;
    QTest::newRow("opcode keeps its 4 bits") << frame << hex("8f00");

    frame = RawFrame{};
    frame.fin = false;
    frame.rsv1 = frame.rsv2 = frame.rsv3 = true;
    frame.opcode = 0x9;
    frame.payload = "p";
    QTest::newRow("fragmented ping with every RSV bit") << frame << hex("790170");

    frame = RawFrame{};
    frame.payload = "Hello";
    frame.lengthEncoding = LengthEncoding::Extended64;
    QTest::newRow("forced 64-bit length") << frame << hex("817f000000000000000548656c6c6f");
    frame.lengthEncoding = LengthEncoding::Extended16;
    QTest::newRow("forced 16-bit length") << frame << hex("817e000548656c6c6f");

    frame = RawFrame{};
    frame.payload = "Hello";
    frame.declaredLength = 100;
    QTest::newRow("declared length lies") << frame << hex("816448656c6c6f");
    frame.declaredLength = 0x10000;
    QTest::newRow("declared length picks its own encoding")
        << frame << hex("817f000000000001000048656c6c6f");
    frame.declaredLength = 126;
    frame.lengthEncoding = LengthEncoding::Short7;
    QTest::newRow("126 in the 7-bit field, no extended length") << frame << hex("817e48656c6c6f");
    frame.declaredLength = 0x8000000000000000ULL;
    frame.lengthEncoding = std::nullopt;
    QTest::newRow("64-bit length with MSB") << frame << hex("817f800000000000000048656c6c6f");
    frame.declaredLength = 0x12345;
    frame.lengthEncoding = LengthEncoding::Extended16;
    QTest::newRow("too long for 16 bits keeps the low bits") << frame << hex("817e234548656c6c6f");

    frame = RawFrame{};
    frame.opcode = 0x8;
    frame.payload = hex("03");
    frame.maskingKey = 0xffffffff;
    QTest::newRow("masked one-byte close") << frame << hex("8881fffffffffc");
}

void TestFrameEncoder::encodeRaw() {
    QFETCH(RawFrame, frame);
    QFETCH(QByteArray, expected);

    QByteArray out;
    const FrameHeader header = FrameEncoder::encodeRaw(out, frame);
    QCOMPARE(out.toHex(), expected.toHex());
    QCOMPARE(header.fin, frame.fin);
    QCOMPARE(header.rsv1, frame.rsv1);
    QCOMPARE(header.rsv2, frame.rsv2);
    QCOMPARE(header.rsv3, frame.rsv3);
    QCOMPARE(header.opcode, quint8(frame.opcode & 0x0F));
    QCOMPARE(header.maskingKey, frame.maskingKey);
    QCOMPARE(header.payloadLength, frame.declaredLength.value_or(quint64(frame.payload.size())));
    QCOMPARE(qsizetype(header.size()) + frame.payload.size(), out.size());

    QByteArray headerBytes;
    QCOMPARE(FrameEncoder::encodeRawHeader(headerBytes, frame), header);
    QCOMPARE(headerBytes.toHex(), expected.left(header.size()).toHex());
}

void TestFrameEncoder::extensionSharesAByteArray() {
    // Keeps what it was given and sends it untransformed.
    class Probe : public MessageExtension {
    public:
        QByteArray name() const override { return QByteArrayLiteral("x-probe"); }
        quint8 rsvBits() const override { return Rsv1Bit; }
        Decoded decodeMessage(QByteArrayView payload, quint8, qint64) override {
            return {payload.toByteArray(), std::nullopt};
        }
        quint8 encodeMessage(QByteArray &payload, Opcode) override {
            seen = payload;
            return 0;
        }
        QByteArray seen;
    };
    Probe probe;
    FrameEncoder encoder(Role::Server);
    encoder.setExtension(&probe);
    const QByteArray data = "shared";
    QByteArray viaArray;
    encoder.encodeMessage(viaArray, Opcode::Binary, data, 4);
    QVERIFY(probe.seen.isSharedWith(data));
    QByteArray viaView;
    encoder.encodeMessage(viaView, Opcode::Binary, QByteArrayView(data), 4);
    QVERIFY(!probe.seen.isSharedWith(data));
    QCOMPARE(viaArray, viaView);
    QCOMPARE(viaArray, hex("0204") + "shar" + hex("8002") + "ed");
}

void TestFrameEncoder::closePayload_data() {
    QTest::addColumn<int>("code"); // -1: none
    QTest::addColumn<QByteArray>("reason");
    QTest::addColumn<QByteArray>("expected");

    QTest::newRow("1000 bye") << 1000 << QByteArray("bye") << hex("03e8627965");
    QTest::newRow("1001 alone") << 1001 << QByteArray() << hex("03e9");
    QTest::newRow("4999 euro") << 4999 << QByteArray("\xe2\x82\xac") << hex("1387e282ac");
    QTest::newRow("no code") << -1 << QByteArray() << QByteArray();
    QTest::newRow("reason without code, as asked") << -1 << QByteArray("x") << QByteArray("x");
    QTest::newRow("65535") << 65535 << QByteArray() << hex("ffff");
}

void TestFrameEncoder::closePayload() {
    QFETCH(int, code);
    QFETCH(QByteArray, reason);
    QFETCH(QByteArray, expected);

    const std::optional<quint16> optionalCode =
        code >= 0 ? std::optional<quint16>(quint16(code)) : std::nullopt;
    QCOMPARE(FrameEncoder::closePayload(optionalCode, reason).toHex(), expected.toHex());
    const ClosePayload split = splitClosePayload(expected);
    if (code >= 0) {
        QCOMPARE(split.code, optionalCode);
        QCOMPARE(split.reason, reason);
    }
}

void TestFrameEncoder::roundTrip_data() {
    QTest::addColumn<int>("role");
    QTest::addColumn<bool>("extension");

    QTest::newRow("client to server") << int(Role::Client) << false;
    QTest::newRow("server to client") << int(Role::Server) << false;
    QTest::newRow("client to server, extension") << int(Role::Client) << true;
    QTest::newRow("server to client, extension") << int(Role::Server) << true;
}

void TestFrameEncoder::roundTrip() {
    QFETCH(int, role);
    QFETCH(bool, extension);

    // Real random keys: nothing may depend on a particular key.
    FrameEncoder encoder(Role(role), MaskingKeySource::systemRandom());
    ReversingExtension reversing;
    if (extension)
        encoder.setExtension(&reversing);

    QRandomGenerator random(7);
    QByteArray wire;
    QList<FrameHeader> sentHeaders;
    QList<QPair<Opcode, QByteArray>> sentMessages;
    for (int m = 0; m < 150; ++m) {
        const bool isText = random.bounded(2) == 0;
        const qsizetype size =
            random.bounded(10) == 0 ? 70000 + random.bounded(1000) : random.bounded(600);
        QByteArray data;
        if (isText) {
            // Characters of every UTF-8 length, split anywhere by fragmentation.
            static const char32_t samples[] = {U'a', U'\u00e9', U'\u20ac', U'\U0001F600'};
            QString text;
            while (text.size() < size / 2)
                text += QString::fromUcs4(&samples[random.bounded(4)], 1);
            data = text.toUtf8();
        } else {
            data = pattern(size);
        }
        const Opcode type = isText ? Opcode::Text : Opcode::Binary;
        sentMessages.append({type, data});
        if (random.bounded(4) == 0 && data.size() >= 2 && !extension) {
            // A control frame between the fragments of a message (RFC 6455 §5.4).
            const qsizetype half = data.size() / 2;
            sentHeaders << encoder.encodeFrame(wire, type, QByteArrayView(data).first(half), false);
            sentHeaders << encoder.encodeFrame(wire, Opcode::Ping, "mid");
            sentHeaders << encoder.encodeFrame(wire, Opcode::Continuation,
                                               QByteArrayView(data).sliced(half));
        } else {
            const qint64 fragmentSize = random.bounded(3) == 0 ? 0 : 1 + random.bounded(300);
            sentHeaders << encoder.encodeMessage(wire, type, data, fragmentSize);
        }
        if (random.bounded(5) == 0)
            sentHeaders << encoder.encodeFrame(wire, Opcode::Pong, pattern(random.bounded(126)));
    }
    sentHeaders << encoder.encodeFrame(wire, Opcode::Close, FrameEncoder::closePayload(1000, "ok"));

    for (quint32 seed = 1; seed <= 3; ++seed) {
        const QList<DecoderOutput> outputs =
            decodeAll(peerRole(Role(role)), wire, extension ? &reversing : nullptr, seed);
        QList<FrameHeader> receivedHeaders;
        QList<QPair<Opcode, QByteArray>> receivedMessages;
        for (const DecoderOutput &output : outputs) {
            QVERIFY(!std::holds_alternative<ProtocolViolation>(output));
            if (const auto *frame = std::get_if<DecodedFrame>(&output)) {
                receivedHeaders << frame->header;
                QVERIFY(frame->notes.isEmpty());
            } else if (const auto *message = std::get_if<DecodedMessage>(&output)) {
                receivedMessages.append({message->type, message->data});
                QCOMPARE(message->compressed, extension);
            }
        }
        QCOMPARE(receivedHeaders.size(), sentHeaders.size());
        QVERIFY(receivedHeaders == sentHeaders);
        QCOMPARE(receivedMessages.size(), sentMessages.size());
        QVERIFY(receivedMessages == sentMessages);
        const auto &close = std::get<DecodedFrame>(outputs.last());
        QCOMPARE(close.closeCode, std::optional<quint16>(1000));
        QCOMPARE(close.closeReason, QStringLiteral("ok"));
    }
}

QTEST_APPLESS_MAIN(TestFrameEncoder)
#include "tst_frameencoder.moc"

#include "protocol/extension.h"
#include "protocol/framedecoder.h"
#include "protocoltestsupport.h"

#include <QCryptographicHash>
#include <QRandomGenerator>
#include <QTest>

#include <algorithm>
#include <atomic>
#include <cstddef>

// Counts every heap allocation in the process: Qt's containers allocate with
// malloc/realloc and operator new ends in malloc, so replacing these three (glibc
// lets a program interpose them and reach its own allocator as __libc_*) sees all
// of them. Used to check that decoding allocates nothing per frame but the payload.
namespace {
std::atomic<qint64> g_allocations{0};
} // namespace

extern "C" {
void *__libc_malloc(std::size_t size);
void *__libc_calloc(std::size_t count, std::size_t size);
void *__libc_realloc(void *pointer, std::size_t size);

void *malloc(std::size_t size) noexcept {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_malloc(size);
}

void *calloc(std::size_t count, std::size_t size) noexcept {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, std::size_t size) noexcept {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_realloc(pointer, size);
}
}

using namespace ws;
using namespace ws::test;

namespace {

constexpr qint64 DefaultMaxMessageSize = DecoderOptions{}.maxMessageSize;

// Stands in for permessage-deflate: it "compresses" by reversing the bytes, so a
// test sees whether a payload went through it. "BAD" cannot be decoded, "BIG"
// decodes to more than the limit (reported as the contract says) and "HUGE" does
// too but without saying so, like a broken extension.
class ReversingExtension : public MessageExtension {
public:
    QByteArray name() const override { return QByteArrayLiteral("x-reverse"); }
    quint8 rsvBits() const override { return Rsv1Bit; }
    Decoded decodeMessage(QByteArrayView payload, quint8 rsv, qint64 maxSize) override {
        lastMaxSize = maxSize;
        lastRsvBits = rsv;
        if (payload == "BAD")
            return {{}, ProtocolError::DecompressionFailed};
        if (payload == "BIG")
            return {{}, ProtocolError::MessageTooBig};
        if (payload == "HUGE")
            return {QByteArray(maxSize + 1, 'x'), std::nullopt};
        QByteArray data = payload.toByteArray();
        std::reverse(data.begin(), data.end());
        return {data, std::nullopt};
    }
    quint8 encodeMessage(QByteArray &payload, Opcode) override {
        std::reverse(payload.begin(), payload.end());
        return Rsv1Bit;
    }

    qint64 lastMaxSize = -1;
    quint8 lastRsvBits = 0;
};

QString payloadText(const QByteArray &bytes) {
    if (bytes.size() <= 16)
        return QString::fromLatin1(bytes.toHex());
    const QByteArray digest = QCryptographicHash::hash(bytes, QCryptographicHash::Sha1);
    return QStringLiteral("%1B:%2")
        .arg(bytes.size())
        .arg(QString::fromLatin1(digest.toHex().left(12)));
}

const char *noteName(ConformanceNote::Kind kind) {
    switch (kind) {
    case ConformanceNote::Kind::NonMinimalLength:
        return "NonMinimalLength";
    case ConformanceNote::Kind::InvalidCloseReason:
        return "InvalidCloseReason";
    case ConformanceNote::Kind::CloseNotAnswered:
        return "CloseNotAnswered";
    case ConformanceNote::Kind::UnsolicitedPong:
        return "UnsolicitedPong";
    case ConformanceNote::Kind::PongMismatch:
        return "PongMismatch";
    case ConformanceNote::Kind::ServerClosedTcpLate:
        return "ServerClosedTcpLate";
    case ConformanceNote::Kind::Staged:
        return "Staged";
    }
    return "?";
}

// One line per output, what the rows below expect.
QString summary(const DecoderOutput &output) {
    if (const auto *frame = std::get_if<DecodedFrame>(&output)) {
        QString text = QStringLiteral("frame %1 fin=%2")
                           .arg(QString::fromLatin1(opcodeName(frame->header.opcode)))
                           .arg(frame->header.fin ? 1 : 0);
        if (frame->header.rsvBits())
            text += QStringLiteral(" rsv=%1").arg(frame->header.rsvBits());
        text += QStringLiteral(" hdr=%1 payload=%2 @%3")
                    .arg(QString::fromLatin1(frame->rawHeader.toByteArray().toHex()),
                         payloadText(frame->payload))
                    .arg(frame->streamOffset);
        if (frame->closeCode)
            text += QStringLiteral(" close=%1").arg(*frame->closeCode);
        if (!frame->closeReason.isEmpty())
            text += QStringLiteral(" reason=\"%1\"").arg(frame->closeReason);
        for (const ConformanceNote &note : frame->notes)
            text += QStringLiteral(" note=%1").arg(QString::fromLatin1(noteName(note.kind)));
        return text;
    }
    if (const auto *message = std::get_if<DecodedMessage>(&output)) {
        return QStringLiteral("message %1 data=%2 frames=%3 wire=%4%5 @%6")
            .arg(QString::fromLatin1(opcodeName(message->type)), payloadText(message->data))
            .arg(message->frameCount)
            .arg(message->wireSize)
            .arg(message->compressed ? QStringLiteral(" compressed") : QString())
            .arg(message->streamOffset);
    }
    const auto &violation = std::get<ProtocolViolation>(output);
    return QStringLiteral("violation %1 %2 @%3")
        .arg(QString::fromLatin1(errorName(violation.error)))
        .arg(toWire(violation.closeCode()))
        .arg(violation.streamOffset);
}

// Everything an output holds, to compare runs with different chunking.
QString fullDump(const DecoderOutput &output) {
    QString text = summary(output);
    if (const auto *frame = std::get_if<DecodedFrame>(&output)) {
        const FrameHeader &h = frame->header;
        text += QStringLiteral(" | %1%2%3%4 op=%5 key=%6 len=%7 enc=%8 payload=%9")
                    .arg(int(h.fin))
                    .arg(int(h.rsv1))
                    .arg(int(h.rsv2))
                    .arg(int(h.rsv3))
                    .arg(int(h.opcode))
                    .arg(h.maskingKey ? QString::number(*h.maskingKey, 16) : QStringLiteral("-"))
                    .arg(h.payloadLength)
                    .arg(int(h.lengthEncoding))
                    .arg(QString::fromLatin1(frame->payload.toHex()));
        for (const ConformanceNote &note : frame->notes)
            text += QStringLiteral(" | note %1 @%2").arg(note.text).arg(note.streamOffset);
    } else if (const auto *message = std::get_if<DecodedMessage>(&output)) {
        text += QStringLiteral(" | %1").arg(QString::fromLatin1(message->data.toHex()));
    } else {
        text += QStringLiteral(" | %1").arg(std::get<ProtocolViolation>(output).reason);
    }
    return text;
}

struct Run {
    QStringList dumps;
    QStringList summaries;
    QList<DecoderOutput> outputs;
    qint64 failedAfter = -1; // bytes fed when the violation appeared
};

void drain(FrameDecoder &decoder, Run &run) {
    while (decoder.hasNext()) {
        DecoderOutput output = decoder.takeNext();
        if (std::holds_alternative<ProtocolViolation>(output) && run.failedAfter < 0)
            run.failedAfter = decoder.bytesFed();
        run.dumps << fullDump(output);
        run.summaries << summary(output);
        run.outputs << std::move(output);
    }
}

// Feeds `input` in pieces whose sizes come from `nextSize`, taking the outputs
// after every piece.
template <typename NextSize>
Run decodeChunked(const DecoderOptions &options, const QByteArray &input, NextSize nextSize) {
    FrameDecoder decoder(options);
    Run run;
    qsizetype position = 0;
    while (position < input.size()) {
        const qsizetype size = std::min<qsizetype>(nextSize(), input.size() - position);
        decoder.feed(QByteArrayView(input).sliced(position, size));
        position += size;
        drain(decoder, run);
    }
    return run;
}

Run decodeWhole(const DecoderOptions &options, const QByteArray &input) {
    return decodeChunked(options, input, [&] { return std::max<qsizetype>(input.size(), 1); });
}

struct Setup {
    Role role = Role::Client;
    Conformance conformance = Conformance::Standard;
    qint64 maxMessageSize = DefaultMaxMessageSize;
    bool extension = false;
    qint64 failsAfter = -1; // default: right after the byte at the violation's offset
};

void addRow(const char *name, const QByteArray &input, const QStringList &expected,
            const Setup &setup = {}) {
    QTest::newRow(name) << input << int(setup.role) << int(setup.conformance)
                        << setup.maxMessageSize << setup.extension << expected << setup.failsAfter;
}

Setup server() {
    return Setup{Role::Server};
}

Setup conformance(Conformance level, Role role = Role::Client) {
    Setup setup{role};
    setup.conformance = level;
    return setup;
}

Setup maxSize(qint64 size) {
    Setup setup;
    setup.maxMessageSize = size;
    return setup;
}

Setup withExtension(qint64 failsAfter = -1) {
    Setup setup;
    setup.extension = true;
    setup.failsAfter = failsAfter;
    return setup;
}

Setup failsAfter(qint64 bytes, Setup setup = {}) {
    setup.failsAfter = bytes;
    return setup;
}

QString frameLine(const char *opcode, bool fin, const QByteArray &header, const QByteArray &payload,
                  qint64 offset) {
    return QStringLiteral("frame %1 fin=%2 hdr=%3 payload=%4 @%5")
        .arg(QString::fromLatin1(opcode))
        .arg(fin ? 1 : 0)
        .arg(QString::fromLatin1(header.toHex()), payloadText(payload))
        .arg(offset);
}

QString messageLine(const char *type, const QByteArray &data, int frames, qint64 offset = 0) {
    return QStringLiteral("message %1 data=%2 frames=%3 wire=%4 @%5")
        .arg(QString::fromLatin1(type), payloadText(data))
        .arg(frames)
        .arg(data.size())
        .arg(offset);
}

} // namespace

class TestFrameDecoder : public QObject {
    Q_OBJECT

private slots:
    void decode_data();
    void decode();
    void violationReasons_data();
    void violationReasons();
    void violationCarriesTheFrame_data();
    void violationCarriesTheFrame();
    void violationCarriesTheFrame_cut();
    void partialHeaders_data();
    void partialHeaders();
    void singleFrameMessageSharesPayload();
    void fragmentedMessageReassembles();
    void partialHeaderProducesNothing();
    void nothingAfterViolation();
    void insideMessage();
    void extensionGetsLimitAndRsvBits();
    void settersTakeEffect();
    void allocatesOnlyThePayload();
    void dataFramesUnreported_data();
    void dataFramesUnreported();
    void nextHandsOutInPlace();
    void wholeHeadersAllocateOnlyThePayload();
    void longStreamAnyChunking();
    void messageSinkKeepsOrder_data();
    void messageSinkKeepsOrder();
    void messageSinkNeverGetsInvalidText();
    void messageSinkCanBeRemoved();
    void frameSinkKeepsFramesInOrder_data();
    void frameSinkKeepsFramesInOrder();
    void frameSinkNeverGetsBrokenText();
    void frameSinkRefusalMakesAnOutput();
    void runSinkTakesWhatTheFrameSinkWould_data();
    void runSinkTakesWhatTheFrameSinkWould();
    void runSinkStopsBeforeBrokenFrames_data();
    void runSinkStopsBeforeBrokenFrames();
    void runSinkRefusalGoesFrameByFrame();
    void pieceSinkWithoutFrameSinkTakesWholeBinaryMessages_data();
    void pieceSinkWithoutFrameSinkTakesWholeBinaryMessages();
    void runSinkWithoutFrameSinkTakesWholeMessages_data();
    void runSinkWithoutFrameSinkTakesWholeMessages();
    void pieceSinkTakesFramesAsTheyArrive_data();
    void pieceSinkTakesFramesAsTheyArrive();
    void pieceSinkNeverTakesInvalidText_data();
    void pieceSinkNeverTakesInvalidText();
    void pieceSinkRefusesOversizeBeforeAnyPiece();
    void pieceSinkKeepsFragmentsAndControlsInOrder();
    void pieceSinkRefusalGathersTheFrame();
    void payloadBytesLeftCountsDown();
    void splitClosePayload_data();
    void splitClosePayload();
    void errorNames();
};

void TestFrameDecoder::decode_data() {
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<int>("role");
    QTest::addColumn<int>("conformance");
    QTest::addColumn<qint64>("maxMessageSize");
    QTest::addColumn<bool>("extension");
    QTest::addColumn<QStringList>("expected");
    QTest::addColumn<qint64>("failsAfter");

    const QByteArray hello("Hello");

    // RFC 6455 §5.7
    addRow("5.7 single-frame unmasked text", hex("810548656c6c6f"),
           {frameLine("text", true, hex("8105"), hello, 0), messageLine("text", hello, 1)});
    addRow("5.7 single-frame masked text", hex("818537fa213d7f9f4d5158"),
           {frameLine("text", true, hex("818537fa213d"), hello, 0), messageLine("text", hello, 1)},
           server());
    addRow("5.7 fragmented unmasked text", hex("010348656c80026c6f"),
           {frameLine("text", false, hex("0103"), "Hel", 0),
            frameLine("continuation", true, hex("8002"), "lo", 5), messageLine("text", hello, 2)});
    addRow("5.7 unmasked ping", hex("890548656c6c6f"),
           {frameLine("ping", true, hex("8905"), hello, 0)});
    addRow("5.7 masked pong", hex("8a8537fa213d7f9f4d5158"),
           {frameLine("pong", true, hex("8a8537fa213d"), hello, 0)}, server());
    {
        const QByteArray payload = pattern(256);
        addRow("5.7 256-byte binary", hex("827e0100") + payload,
               {frameLine("binary", true, hex("827e0100"), payload, 0),
                messageLine("binary", payload, 1)});
    }
    {
        const QByteArray payload = pattern(65536);
        addRow("5.7 64 KiB binary", hex("827f0000000000010000") + payload,
               {frameLine("binary", true, hex("827f0000000000010000"), payload, 0),
                messageLine("binary", payload, 1)});
    }

    // Every length encoding at its boundaries (RFC 6455 §5.2), unmasked and masked.
    const struct {
        qsizetype size;
        const char *lengthField;
    } sizes[] = {{0, "00"},
                 {1, "01"},
                 {125, "7d"},
                 {126, "7e007e"},
                 {127, "7e007f"},
                 {65535, "7effff"},
                 {65536, "7f0000000000010000"}};
    for (const auto &size : sizes) {
        const QByteArray payload = pattern(size.size);
        const QByteArray plainHeader = hex("82") + hex(size.lengthField);
        addRow(qPrintable(QStringLiteral("binary %1 bytes unmasked").arg(size.size)),
               plainHeader + payload,
               {frameLine("binary", true, plainHeader, payload, 0),
                messageLine("binary", payload, 1)});
        QByteArray maskedHeader = plainHeader;
        maskedHeader[1] = char(maskedHeader[1] | 0x80);
        maskedHeader += hex("a1b2c3d4");
        addRow(qPrintable(QStringLiteral("binary %1 bytes masked").arg(size.size)),
               maskedHeader + referenceMask(payload, 0xa1b2c3d4),
               {frameLine("binary", true, maskedHeader, payload, 0),
                messageLine("binary", payload, 1)},
               server());
    }
    addRow("all-zero masking key is still a key", hex("81820000000041") + "B",
           {frameLine("text", true, hex("818200000000"), "AB", 0), messageLine("text", "AB", 1)},
           server());
    addRow("masked fragments with their own keys",
           hex("018201020304") + referenceMask("He", 0x01020304) + hex("8083a0b0c0d0") +
               referenceMask("llo", 0xa0b0c0d0),
           {frameLine("text", false, hex("018201020304"), "He", 0),
            frameLine("continuation", true, hex("8083a0b0c0d0"), "llo", 8),
            messageLine("text", hello, 2)},
           server());
    addRow("two messages back to back", hex("8101418201ff"),
           {frameLine("text", true, hex("8101"), "A", 0), messageLine("text", "A", 1),
            frameLine("binary", true, hex("8201"), hex("ff"), 3),
            messageLine("binary", hex("ff"), 1, 3)});
    addRow("long header, then a short one", hex("827e007e") + pattern(126) + hex("8100"),
           {frameLine("binary", true, hex("827e007e"), pattern(126), 0),
            messageLine("binary", pattern(126), 1), frameLine("text", true, hex("8100"), {}, 130),
            messageLine("text", {}, 1, 130)});
    addRow("empty text message", hex("8100"),
           {frameLine("text", true, hex("8100"), {}, 0), messageLine("text", {}, 1)});
    addRow("empty fragments", hex("01008000"),
           {frameLine("text", false, hex("0100"), {}, 0),
            frameLine("continuation", true, hex("8000"), {}, 2), messageLine("text", {}, 2)});

    // RSV bits and opcodes (RFC 6455 §5.2)
    addRow("RSV1 without extension", hex("c10548656c6c6f"), {"violation ReservedBitsSet 1002 @0"});
    addRow("RSV2 without extension", hex("a100"), {"violation ReservedBitsSet 1002 @0"});
    addRow("RSV3 without extension", hex("9100"), {"violation ReservedBitsSet 1002 @0"});
    addRow("RSV on a ping", hex("c900"), {"violation ReservedBitsSet 1002 @0"});
    for (const int opcode : {0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf}) {
        addRow(qPrintable(QStringLiteral("reserved opcode 0x%1").arg(opcode, 0, 16)),
               QByteArray(1, char(0x80 | opcode)) + hex("00"),
               {"violation ReservedOpcode 1002 @0"});
    }
    addRow("reserved opcode after a message", hex("8101418400"),
           {frameLine("text", true, hex("8101"), "A", 0), messageLine("text", "A", 1),
            "violation ReservedOpcode 1002 @3"});

    // Masking per role (RFC 6455 §5.1), found as soon as byte 1 is in.
    addRow("server receives unmasked frame", hex("810548656c6c6f"),
           {"violation UnmaskedClientFrame 1002 @1"}, server());
    addRow("server receives unmasked ping", hex("8900"), {"violation UnmaskedClientFrame 1002 @1"},
           server());
    addRow("client receives masked frame", hex("818537fa213d7f9f4d5158"),
           {"violation MaskedServerFrame 1002 @1"});
    addRow("client receives masked frame after a good one", hex("810141818000000000"),
           {frameLine("text", true, hex("8101"), "A", 0), messageLine("text", "A", 1),
            "violation MaskedServerFrame 1002 @4"});

    // Lengths (RFC 6455 §5.2)
    addRow("64-bit length with MSB set", hex("827f8000000000000000"),
           {"violation LengthMostSignificantBit 1002 @2"});
    addRow("64-bit length 0xffffffffffffffff", hex("827fffffffffffffffff"),
           {"violation LengthMostSignificantBit 1002 @2"});
    {
        Setup setup = conformance(Conformance::Standard);
        addRow("16-bit length for 5 bytes, standard: note", hex("827e0005") + hello,
               {frameLine("binary", true, hex("827e0005"), hello, 0) + " note=NonMinimalLength",
                messageLine("binary", hello, 1)},
               setup);
        addRow("64-bit length for 5 bytes, lenient: note", hex("817f0000000000000005") + hello,
               {frameLine("text", true, hex("817f0000000000000005"), hello, 0) +
                    " note=NonMinimalLength",
                messageLine("text", hello, 1)},
               conformance(Conformance::Lenient));
        addRow("64-bit length for 200 bytes, standard: note",
               hex("827f00000000000000c8") + pattern(200),
               {frameLine("binary", true, hex("827f00000000000000c8"), pattern(200), 0) +
                    " note=NonMinimalLength",
                messageLine("binary", pattern(200), 1)});
        addRow("16-bit length for 5 bytes, strict", hex("827e0005") + hello,
               {"violation NonMinimalLength 1002 @1"},
               failsAfter(4, conformance(Conformance::Strict)));
        addRow("64-bit length for 200 bytes, strict", hex("827f00000000000000c8") + pattern(200),
               {"violation NonMinimalLength 1002 @1"},
               failsAfter(10, conformance(Conformance::Strict)));
        addRow("16-bit length for 0 bytes, strict", hex("827e0000"),
               {"violation NonMinimalLength 1002 @1"},
               failsAfter(4, conformance(Conformance::Strict)));
        addRow("masked 16-bit length for 2 bytes, strict", hex("82fe000201020304aaaa"),
               {"violation NonMinimalLength 1002 @1"},
               failsAfter(4, conformance(Conformance::Strict, Role::Server)));
        addRow("ping with 16-bit length for 5 bytes, standard: note", hex("897e0005") + hello,
               {frameLine("ping", true, hex("897e0005"), hello, 0) + " note=NonMinimalLength"});
    }

    // Control frames (RFC 6455 §5.5)
    addRow("ping of 125 bytes", hex("897d") + pattern(125),
           {frameLine("ping", true, hex("897d"), pattern(125), 0)});
    // Length rules point at the length field and are known once it is whole.
    addRow("ping of 126 bytes", hex("897e007e") + pattern(126),
           {"violation ControlFrameTooLong 1002 @1"}, failsAfter(4));
    addRow("pong of 64 KiB in 64 bits", hex("8a7f0000000000010000"),
           {"violation ControlFrameTooLong 1002 @1"}, failsAfter(10));
    addRow("close of 126 bytes", hex("887e007e03e8") + pattern(124),
           {"violation ControlFrameTooLong 1002 @1"}, failsAfter(4));
    addRow("fragmented ping", hex("0900"), {"violation FragmentedControlFrame 1002 @0"});
    addRow("fragmented close", hex("080203e8"), {"violation FragmentedControlFrame 1002 @0"});
    addRow("fragmented pong inside a message", hex("0101410a00"),
           {frameLine("text", false, hex("0101"), "A", 0),
            "violation FragmentedControlFrame 1002 @3"});
    addRow("ping between fragments", hex("010348656c890080026c6f"),
           {frameLine("text", false, hex("0103"), "Hel", 0),
            frameLine("ping", true, hex("8900"), {}, 5),
            frameLine("continuation", true, hex("8002"), "lo", 7), messageLine("text", hello, 2)});
    addRow("ping and pong between fragments, masked",
           hex("0183000000004865") + hex("6c898100000000ff8a8000000000") + hex("808200000000") +
               "lo",
           {frameLine("text", false, hex("018300000000"), "Hel", 0),
            frameLine("ping", true, hex("898100000000"), hex("ff"), 9),
            frameLine("pong", true, hex("8a8000000000"), {}, 16),
            frameLine("continuation", true, hex("808200000000"), "lo", 22),
            messageLine("text", hello, 2)},
           server());
    addRow("close between fragments",
           hex("01014188"
               "0203e8"
               "800142"),
           {frameLine("text", false, hex("0101"), "A", 0),
            frameLine("close", true, hex("8802"), hex("03e8"), 3) + " close=1000",
            frameLine("continuation", true, hex("8001"), "B", 7), messageLine("text", "AB", 2)});

    // Fragmentation (RFC 6455 §5.4)
    addRow("continuation with no message", hex("8000"),
           {"violation UnexpectedContinuation 1002 @0"});
    addRow("continuation after a finished message", hex("810141800142"),
           {frameLine("text", true, hex("8101"), "A", 0), messageLine("text", "A", 1),
            "violation UnexpectedContinuation 1002 @3"});
    addRow(
        "text inside a fragmented message", hex("010141810142"),
        {frameLine("text", false, hex("0101"), "A", 0), "violation ExpectedContinuation 1002 @3"});
    addRow("binary inside a fragmented message", hex("020141020142"),
           {frameLine("binary", false, hex("0201"), "A", 0),
            "violation ExpectedContinuation 1002 @3"});

    // Close frames (RFC 6455 §5.5.1, §7.4)
    addRow("close without payload", hex("8800"), {frameLine("close", true, hex("8800"), {}, 0)});
    addRow("close 1000 with reason", hex("880503e8627965"),
           {frameLine("close", true, hex("8805"), hex("03e8627965"), 0) +
            " close=1000 reason=\"bye\""});
    addRow("close with multibyte reason", hex("880503e8e282ac"),
           {frameLine("close", true, hex("8805"), hex("03e8e282ac"), 0) +
            QStringLiteral(" close=1000 reason=\"\u20ac\"")});
    addRow("close with one byte", hex("880103"), {"violation CloseFrameOneByte 1002 @1"});
    for (const int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                           3000, 3999, 4000, 4999}) {
        const QByteArray payload = QByteArray(1, char(code >> 8)) + char(code & 0xff);
        addRow(qPrintable(QStringLiteral("close code %1 is valid").arg(code)),
               hex("8802") + payload,
               {frameLine("close", true, hex("8802"), payload, 0) +
                QStringLiteral(" close=%1").arg(code)});
    }
    for (const int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535}) {
        const QByteArray payload = QByteArray(1, char(code >> 8)) + char(code & 0xff);
        addRow(qPrintable(QStringLiteral("close code %1 is invalid").arg(code)),
               hex("8804") + payload + "ok", {"violation InvalidCloseCode 1002 @2"},
               failsAfter(4)); // the code is known once both of its bytes are in
    }
    addRow("masked close with invalid code",
           hex("888201020304") + referenceMask(hex("03ed"), 0x01020304),
           {"violation InvalidCloseCode 1002 @6"}, failsAfter(8, server()));
    addRow("close reason not UTF-8, standard", hex("880603e841ff4243"),
           {"violation InvalidCloseReason 1007 @5"});
    addRow("close reason not UTF-8, strict", hex("880603e841ff4243"),
           {"violation InvalidCloseReason 1007 @5"}, conformance(Conformance::Strict));
    addRow("close reason not UTF-8, lenient: note", hex("880603e841ff4243"),
           {frameLine("close", true, hex("8806"), hex("03e841ff4243"), 0) +
            QStringLiteral(" close=1000 reason=\"A\ufffdBC\" note=InvalidCloseReason")},
           conformance(Conformance::Lenient));
    addRow("close reason ends mid-character, standard", hex("880403e841e2"),
           {"violation InvalidCloseReason 1007 @6"}, failsAfter(6));
    addRow("close reason ends mid-character, lenient: note", hex("880403e841e2"),
           {frameLine("close", true, hex("8804"), hex("03e841e2"), 0) +
            QStringLiteral(" close=1000 reason=\"A\ufffd\" note=InvalidCloseReason")},
           conformance(Conformance::Lenient));
    addRow("masked close reason not UTF-8",
           hex("888401020304") + referenceMask(hex("03e8c0af"), 0x01020304),
           {"violation InvalidCloseReason 1007 @8"}, server());
    addRow("frames after a close frame are still decoded", hex("8800810141"),
           {frameLine("close", true, hex("8800"), {}, 0),
            frameLine("text", true, hex("8101"), "A", 2), messageLine("text", "A", 1, 2)});

    // UTF-8 (RFC 6455 §8.1): fail fast at the offending byte.
    addRow("invalid byte mid-frame", hex("81054 1ff424344"), {"violation InvalidUtf8 1007 @3"});
    addRow("invalid byte in the second fragment", hex("0102414280024 3ff"),
           {frameLine("text", false, hex("0102"), "AB", 0), "violation InvalidUtf8 1007 @7"});
    addRow("character split across three fragments",
           hex("0101e2000182"
               "8001ac"),
           {frameLine("text", false, hex("0101"), hex("e2"), 0),
            frameLine("continuation", false, hex("0001"), hex("82"), 3),
            frameLine("continuation", true, hex("8001"), hex("ac"), 6),
            messageLine("text", hex("e282ac"), 3)});
    addRow("character split, then not continued", hex("0101e2800141"),
           {frameLine("text", false, hex("0101"), hex("e2"), 0), "violation InvalidUtf8 1007 @5"});
    addRow("message ends mid-character", hex("8102e282"),
           {frameLine("text", true, hex("8102"), hex("e282"), 0), "violation InvalidUtf8 1007 @4"},
           failsAfter(4));
    addRow("fragmented message ends mid-character", hex("0101418001e2"),
           {frameLine("text", false, hex("0101"), "A", 0),
            frameLine("continuation", true, hex("8001"), hex("e2"), 3),
            "violation InvalidUtf8 1007 @6"},
           failsAfter(6));
    addRow("overlong form", hex("8102c080"), {"violation InvalidUtf8 1007 @2"});
    addRow("surrogate", hex("8103eda080"), {"violation InvalidUtf8 1007 @3"});
    addRow("above U+10FFFF", hex("8104f4908080"), {"violation InvalidUtf8 1007 @3"});
    addRow("masked invalid byte",
           hex("818501020304") + referenceMask(hex("41ff424344"), 0x01020304),
           {"violation InvalidUtf8 1007 @7"}, server());
    addRow("invalid ping payload is not validated",
           hex("010141"
               "8901ff"
               "800142"),
           {frameLine("text", false, hex("0101"), "A", 0),
            frameLine("ping", true, hex("8901"), hex("ff"), 3),
            frameLine("continuation", true, hex("8001"), "B", 6), messageLine("text", "AB", 2)});
    addRow("binary is not validated", hex("8202fffe"),
           {frameLine("binary", true, hex("8202"), hex("fffe"), 0),
            messageLine("binary", hex("fffe"), 1)});
    addRow("four-byte character", hex("8104f09f9880"),
           {frameLine("text", true, hex("8104"), hex("f09f9880"), 0),
            messageLine("text", hex("f09f9880"), 1)});

    // Message size (RFC 6455 §7.4.1, 1009), checked before allocating.
    addRow("message at the limit", hex("820a") + pattern(10),
           {frameLine("binary", true, hex("820a"), pattern(10), 0),
            messageLine("binary", pattern(10), 1)},
           maxSize(10));
    addRow("message over the limit", hex("820b") + pattern(11), {"violation MessageTooBig 1009 @1"},
           maxSize(10));
    addRow(
        "fragments over the limit", hex("0206") + pattern(6) + hex("8005") + pattern(5),
        {frameLine("binary", false, hex("0206"), pattern(6), 0), "violation MessageTooBig 1009 @9"},
        maxSize(10));
    addRow("control frames do not count",
           hex("0205") + pattern(5) + hex("897d") + pattern(125) + hex("8005") + pattern(5),
           {frameLine("binary", false, hex("0205"), pattern(5), 0),
            frameLine("ping", true, hex("897d"), pattern(125), 7),
            frameLine("continuation", true, hex("8005"), pattern(5), 134),
            messageLine("binary", pattern(5) + pattern(5), 2)},
           maxSize(10));
    addRow("announced 2^63-1 bytes", hex("827f7fffffffffffffff"),
           {"violation MessageTooBig 1009 @1"}, failsAfter(10));
    addRow("limit 0", hex("81008101"),
           {frameLine("text", true, hex("8100"), {}, 0), messageLine("text", {}, 1),
            "violation MessageTooBig 1009 @3"},
           maxSize(0));

    // A negotiated extension (RFC 6455 §9, RFC 7692 §6).
    addRow("compressed text", hex("c103636261"),
           {"frame text fin=1 rsv=4 hdr=c103 payload=636261 @0",
            "message text data=616263 frames=1 wire=3 compressed @0"},
           withExtension());
    addRow("compressed fragmented binary",
           hex("420262618001"
               "63"),
           {"frame binary fin=0 rsv=4 hdr=4202 payload=6261 @0",
            frameLine("continuation", true, hex("8001"), "c", 4),
            "message binary data=636162 frames=2 wire=3 compressed @0"},
           withExtension());
    addRow("uncompressed message with extension", hex("810141"),
           {frameLine("text", true, hex("8101"), "A", 0), messageLine("text", "A", 1)},
           withExtension());
    addRow("compressed text is validated after decoding only", hex("c103ac82e2"),
           {"frame text fin=1 rsv=4 hdr=c103 payload=ac82e2 @0",
            "message text data=e282ac frames=1 wire=3 compressed @0"},
           withExtension());
    addRow("compressed text not UTF-8 after decoding", hex("c102ff41"),
           {"frame text fin=1 rsv=4 hdr=c102 payload=ff41 @0", "violation InvalidUtf8 1007 @0"},
           withExtension(4));
    addRow("compressed ping", hex("c900"), {"violation CompressedControlFrame 1002 @0"},
           withExtension());
    addRow("compressed continuation", hex("410161c00162"),
           {"frame text fin=0 rsv=4 hdr=4101 payload=61 @0",
            "violation CompressedContinuation 1002 @3"},
           withExtension());
    addRow("RSV2 not defined by the extension", hex("a100"), {"violation ReservedBitsSet 1002 @0"},
           withExtension());
    addRow("decompression fails", hex("c103424144"),
           {"frame text fin=1 rsv=4 hdr=c103 payload=424144 @0",
            "violation DecompressionFailed 1002 @0"},
           withExtension(5));
    addRow(
        "decompressed message too big", hex("c203424947"),
        {"frame binary fin=1 rsv=4 hdr=c203 payload=424947 @0", "violation MessageTooBig 1009 @0"},
        withExtension(5));
    {
        Setup setup = withExtension(6);
        setup.maxMessageSize = 100;
        addRow("extension exceeds the limit silently", hex("c20448554745"),
               {"frame binary fin=1 rsv=4 hdr=c204 payload=48554745 @0",
                "violation MessageTooBig 1009 @0"},
               setup);
    }
}

void TestFrameDecoder::decode() {
    QFETCH(QByteArray, input);
    QFETCH(int, role);
    QFETCH(int, conformance);
    QFETCH(qint64, maxMessageSize);
    QFETCH(bool, extension);
    QFETCH(QStringList, expected);
    QFETCH(qint64, failsAfter);

    ReversingExtension reversing;
    DecoderOptions options;
    options.role = Role(role);
    options.conformance = Conformance(conformance);
    options.maxMessageSize = maxMessageSize;
    options.extension = extension ? &reversing : nullptr;

    const Run whole = decodeWhole(options, input);
    QCOMPARE(whole.summaries, expected);

    for (const DecoderOutput &output : whole.outputs) {
        if (const auto *frame = std::get_if<DecodedFrame>(&output)) {
            // The parsed header writes back to the bytes it came from.
            QCOMPARE(serializeHeader(frame->header), frame->rawHeader);
            QCOMPARE(qint64(frame->payload.size()), qint64(frame->header.payloadLength));
        } else if (const auto *violation = std::get_if<ProtocolViolation>(&output)) {
            QVERIFY2(violation->reason.contains(QLatin1String("(RFC ")),
                     qPrintable(violation->reason));
            QCOMPARE(&output, &whole.outputs.last());
        }
    }

    // The same outputs whatever the chunking.
    const Run byteByByte = decodeChunked(options, input, [] { return 1; });
    QCOMPARE(byteByByte.dumps, whole.dumps);

    // Fail fast: the violation is out as soon as the byte that shows it is in.
    if (whole.failedAfter >= 0) {
        const auto &violation = std::get<ProtocolViolation>(whole.outputs.last());
        const qint64 due = failsAfter >= 0 ? failsAfter : violation.streamOffset + 1;
        QCOMPARE(byteByByte.failedAfter, due);
    }

    for (quint32 seed = 1; seed <= 64; ++seed) {
        QRandomGenerator random(seed);
        const qsizetype maxChunk = seed % 4 == 0 ? 3 : seed % 4 == 1 ? 17 : 64 + input.size() / 8;
        const Run chunked =
            decodeChunked(options, input, [&] { return 1 + random.bounded(maxChunk); });
        QVERIFY2(chunked.dumps == whole.dumps, qPrintable(QStringLiteral("seed %1").arg(seed)));
    }

    // Two pieces, split at every boundary, for the short inputs.
    if (input.size() <= 600) {
        for (qsizetype split = 1; split < input.size(); ++split) {
            bool first = true;
            const Run twoPieces = decodeChunked(options, input, [&] {
                const qsizetype size = first ? split : input.size();
                first = false;
                return size;
            });
            QVERIFY2(twoPieces.dumps == whole.dumps,
                     qPrintable(QStringLiteral("split at %1").arg(split)));
        }
    }
}

void TestFrameDecoder::violationReasons_data() {
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<int>("role");
    QTest::addColumn<QString>("reason");

    const int client = int(Role::Client);
    QTest::newRow("control too long")
        << (hex("897e007e") + pattern(126)) << client
        << QStringLiteral("ping frame payload is 126 bytes; the limit is 125 (RFC 6455 §5.5)");
    QTest::newRow("unmasked") << hex("8100") << int(Role::Server)
                              << QStringLiteral("text frame from the client is not masked; a "
                                                "client must mask every frame (RFC 6455 §5.1)");
    QTest::newRow("masked") << hex("828000000000") << client
                            << QStringLiteral("binary frame from the server is masked; a server "
                                              "must not mask frames (RFC 6455 §5.1)");
    QTest::newRow("reserved opcode")
        << hex("8300") << client << QStringLiteral("opcode 0x3 is reserved (RFC 6455 §5.2)");
    QTest::newRow("reserved bits")
        << hex("e100") << client
        << QStringLiteral("RSV1, RSV2 set on a text frame, but no negotiated extension defines "
                          "them (RFC 6455 §5.2)");
    QTest::newRow("close code")
        << hex("880203ed") << client
        << QStringLiteral("close code 1005 (no status received) may not be sent in a close frame "
                          "(RFC 6455 §7.4)");
    QTest::newRow("utf8")
        << hex("810341c342") << client
        << QStringLiteral("text message is not valid UTF-8: byte 0x42 at message offset 2 cannot "
                          "appear there (RFC 6455 §8.1)");
    QTest::newRow("fragmented control")
        << hex("0a00") << client
        << QStringLiteral("pong frame has FIN clear; control frames must not be fragmented "
                          "(RFC 6455 §5.5)");
    QTest::newRow("non-minimal")
        << hex("817f000000000000000141") << client
        << QStringLiteral("payload length 1 is written in the 64-bit extended length; the "
                          "minimal encoding is the 7-bit field (RFC 6455 §5.2)");
    QTest::newRow("too big") << hex("827f0000000100000000") << client
                             << QStringLiteral("binary frame announces 4294967296 bytes; the "
                                               "maximum message size is 67108864 "
                                               "(RFC 6455 §7.4.1, 1009)");
}

void TestFrameDecoder::violationReasons() {
    QFETCH(QByteArray, input);
    QFETCH(int, role);
    QFETCH(QString, reason);

    DecoderOptions options;
    options.role = Role(role);
    options.conformance = Conformance::Strict;
    const Run run = decodeWhole(options, input);
    QVERIFY(!run.outputs.isEmpty());
    const auto *violation = std::get_if<ProtocolViolation>(&run.outputs.last());
    QVERIFY(violation);
    QCOMPARE(violation->reason, reason);
}

void TestFrameDecoder::violationCarriesTheFrame_data() {
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<int>("role");
    QTest::addColumn<bool>("extension");
    QTest::addColumn<QByteArray>("frameBytes"); // as on the wire, as far as kept
    QTest::addColumn<int>("headerBytes");
    QTest::addColumn<qint64>("frameOffset");
    QTest::addColumn<qint64>("offsetInFrame");
    QTest::addColumn<qint64>("payloadReceived");

    const int client = int(Role::Client);
    const int server = int(Role::Server);
    // Header rules: the header bytes up to the one whose check failed.
    QTest::newRow("reserved opcode")
        << hex("8300") << client << false << hex("83") << 1 << qint64(0) << qint64(0) << qint64(0);
    QTest::newRow("RSV1 without extension") << hex("c10548656c6c6f") << client << false << hex("c1")
                                            << 1 << qint64(0) << qint64(0) << qint64(0);
    QTest::newRow("unmasked client frame")
        << hex("810548656c6c6f") << server << false << hex("8105") << 2 << qint64(0) << qint64(1)
        << qint64(0);
    QTest::newRow("masked server frame after a ping")
        << hex("8900"
               "828000000000")
        << client << false << hex("8280") << 2 << qint64(2) << qint64(1) << qint64(0);
    QTest::newRow("too big") << hex("827f0000000100000000") << client << false
                             << hex("827f0000000100000000") << 10 << qint64(0) << qint64(1)
                             << qint64(0);
    QTest::newRow("64-bit length MSB") << hex("827f8000000000000000") << client << false
                                       << hex("827f80") << 3 << qint64(0) << qint64(2) << qint64(0);
    // Payload rules: the header and the payload through the offending byte, masked.
    QTest::newRow("invalid UTF-8") << hex("810341c342") << client << false << hex("810341c342") << 2
                                   << qint64(0) << qint64(4) << qint64(3);
    QTest::newRow("invalid UTF-8 after a frame")
        << hex("8100"
               "810441c34243")
        << client << false << hex("810441c342") << 2 << qint64(2) << qint64(4) << qint64(3);
    // 41 c3 42 masked with 37fa213d.
    QTest::newRow("invalid UTF-8, masked")
        << hex("818337fa213d763963") << server << false << hex("818337fa213d763963") << 6
        << qint64(0) << qint64(8) << qint64(3);
    QTest::newRow("invalid close code") << hex("880203ed") << client << false << hex("880203ed")
                                        << 2 << qint64(0) << qint64(2) << qint64(2);
    QTest::newRow("close reason not UTF-8")
        << hex("880403e8ff41") << client << false << hex("880403e8ff") << 2 << qint64(0)
        << qint64(4) << qint64(3);
    // Whole-message rules: the frame the offset points into or just past.
    QTest::newRow("text ends mid-character")
        << hex("010141"
               "8001c3")
        << client << false << hex("8001c3") << 2 << qint64(3) << qint64(3) << qint64(1);
    QTest::newRow("deflate fails") << hex("c103424144") << client << true << hex("c103424144") << 2
                                   << qint64(0) << qint64(0) << qint64(3);
}

// The violation names the frame it broke in, as far as it arrived, the same for
// any chunking: what the inspector shows of an error row.
void TestFrameDecoder::violationCarriesTheFrame() {
    QFETCH(QByteArray, input);
    QFETCH(int, role);
    QFETCH(bool, extension);
    QFETCH(QByteArray, frameBytes);
    QFETCH(int, headerBytes);
    QFETCH(qint64, frameOffset);
    QFETCH(qint64, offsetInFrame);
    QFETCH(qint64, payloadReceived);

    ReversingExtension ext;
    DecoderOptions options;
    options.role = Role(role);
    options.extension = extension ? &ext : nullptr;
    for (const qsizetype chunk : {input.size(), qsizetype(1)}) {
        const Run run = decodeChunked(options, input, [chunk] { return chunk; });
        QVERIFY(!run.outputs.isEmpty());
        const auto *violation = std::get_if<ProtocolViolation>(&run.outputs.last());
        QVERIFY(violation);
        QCOMPARE(violation->frame.bytes.toHex(), frameBytes.toHex());
        QCOMPARE(violation->frame.headerBytes, headerBytes);
        QCOMPARE(violation->frame.streamOffset, frameOffset);
        QCOMPARE(violation->offsetInFrame(), offsetInFrame);
        QCOMPARE(violation->frame.payloadReceived, payloadReceived);
        QVERIFY(!violation->frame.isCut());
    }
}

void TestFrameDecoder::violationCarriesTheFrame_cut() {
    // 70,000 valid bytes, then 0xff: the frame is kept up to MaxPayloadKept bytes.
    const qint64 good = 70000;
    QByteArray input = hex("817f") + QByteArray(5, '\0') + hex("011171") + QByteArray(good, 'a');
    input.append(char(0xff));
    DecoderOptions options;
    options.role = Role::Client;
    const Run run = decodeWhole(options, input);
    const auto *violation = std::get_if<ProtocolViolation>(&run.outputs.last());
    QVERIFY(violation);
    QCOMPARE(violation->error, ProtocolError::InvalidUtf8);
    QCOMPARE(violation->offsetInFrame(), 10 + good);
    QCOMPARE(violation->frame.payloadReceived, good + 1);
    QCOMPARE(violation->frame.bytes.size(), 10 + ViolationFrame::MaxPayloadKept);
    QCOMPARE(violation->frame.bytes.left(10), input.left(10));
    QVERIFY(violation->frame.isCut());
}

void TestFrameDecoder::partialHeaders_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QStringList>("fields");
    QTest::addColumn<int>("size");
    QTest::addColumn<bool>("complete");
    QTest::addColumn<quint64>("length");

    QTest::newRow("byte 0") << hex("81") << QStringList{"FIN", "RSV1", "RSV2", "RSV3", "Opcode"}
                            << 0 << false << quint64(0);
    const QStringList two{"FIN", "RSV1", "RSV2", "RSV3", "Opcode", "Mask", "Payload len"};
    QTest::newRow("16-bit length cut") << hex("81fe00") << two << 8 << false << quint64(126);
    QTest::newRow("key cut") << hex("81fe00803712")
                             << (two + QStringList{"Extended payload length"}) << 8 << false
                             << quint64(128);
    QTest::newRow("whole") << hex("81fe008037fa213d")
                           << (two + QStringList{"Extended payload length", "Masking-key",
                                                 "Payload Data"})
                           << 8 << true << quint64(128);
    QTest::newRow("short") << hex("8203") << (two + QStringList{"Payload Data"}) << 2 << true
                           << quint64(3);
}

void TestFrameDecoder::partialHeaders() {
    QFETCH(QByteArray, bytes);
    QFETCH(QStringList, fields);
    QFETCH(int, size);
    QFETCH(bool, complete);
    QFETCH(quint64, length);

    const PartialHeader partial = parsePartialHeader(bytes);
    QStringList names;
    for (const FieldSpan &span : partial.spans)
        names << QString::fromLatin1(fieldName(span.field));
    QCOMPARE(names, fields);
    QCOMPARE(partial.size, size);
    QCOMPARE(partial.complete, complete);
    QCOMPARE(partial.header.payloadLength, length);
    QCOMPARE(partial.header.opcode, quint8(bytes[0]) & 0x0F);
}

void TestFrameDecoder::singleFrameMessageSharesPayload() {
    FrameDecoder decoder({Role::Server});
    decoder.feed(hex("818537fa213d7f9f4d5158"));
    QVERIFY(decoder.hasNext());
    const DecodedFrame frame = std::get<DecodedFrame>(decoder.takeNext());
    QVERIFY(decoder.hasNext());
    const DecodedMessage message = std::get<DecodedMessage>(decoder.takeNext());
    QCOMPARE(message.data, QByteArray("Hello"));
    // One buffer for both: the message is not a copy of the frame's payload.
    QVERIFY(message.data.constData() == frame.payload.constData());
    QVERIFY(!decoder.hasNext());
}

void TestFrameDecoder::fragmentedMessageReassembles() {
    const QByteArray first = pattern(300);
    const QByteArray second = pattern(70000);
    const QByteArray input = hex("027e012c") + first + hex("807f0000000000011170") + second;
    const Run run = decodeWhole({Role::Client}, input);
    QCOMPARE(run.outputs.size(), 3);
    const auto &message = std::get<DecodedMessage>(run.outputs[2]);
    QCOMPARE(message.data, first + second);
    QCOMPARE(message.frameCount, 2);
    QCOMPARE(message.wireSize, qint64(70300));
    QCOMPARE(message.type, Opcode::Binary);
    QCOMPARE(std::get<DecodedFrame>(run.outputs[1]).streamOffset, qint64(304));
}

void TestFrameDecoder::partialHeaderProducesNothing() {
    FrameDecoder decoder({Role::Server});
    const QByteArray frame = hex("82fe0100a1b2c3d4") + referenceMask(pattern(256), 0xa1b2c3d4);
    for (qsizetype i = 0; i < frame.size() - 1; ++i) {
        decoder.feed(frame.sliced(i, 1));
        QVERIFY2(!decoder.hasNext(), qPrintable(QStringLiteral("after %1 bytes").arg(i + 1)));
        QVERIFY(!decoder.hasFailed());
    }
    QCOMPARE(decoder.bytesFed(), qint64(frame.size() - 1));
    decoder.feed(frame.last(1));
    QVERIFY(decoder.hasNext());
}

void TestFrameDecoder::nothingAfterViolation() {
    FrameDecoder decoder({Role::Client});
    decoder.feed(hex("8101418300810142"));
    QVERIFY(decoder.hasFailed());
    QStringList summaries;
    while (decoder.hasNext())
        summaries << summary(decoder.takeNext());
    QCOMPARE(summaries,
             QStringList({frameLine("text", true, hex("8101"), "A", 0), messageLine("text", "A", 1),
                          "violation ReservedOpcode 1002 @3"}));
    decoder.feed(hex("810143"));
    QVERIFY(!decoder.hasNext());
    QCOMPARE(decoder.bytesFed(), qint64(11));
}

void TestFrameDecoder::insideMessage() {
    FrameDecoder decoder({Role::Client});
    QVERIFY(!decoder.isInsideMessage());
    decoder.feed(hex("010141"));
    QVERIFY(decoder.isInsideMessage());
    decoder.feed(hex("8900"));
    QVERIFY(decoder.isInsideMessage());
    decoder.feed(hex("000142"));
    QVERIFY(decoder.isInsideMessage());
    decoder.feed(hex("8001"));
    QVERIFY(decoder.isInsideMessage());
    decoder.feed(hex("43"));
    QVERIFY(!decoder.isInsideMessage());
    QVERIFY(!decoder.hasFailed());
}

void TestFrameDecoder::extensionGetsLimitAndRsvBits() {
    ReversingExtension reversing;
    DecoderOptions options{Role::Client, Conformance::Standard, 12345, &reversing};
    const Run run = decodeWhole(options, hex("c2020102"));
    QCOMPARE(reversing.lastMaxSize, qint64(12345));
    QCOMPARE(reversing.lastRsvBits, Rsv1Bit);
    QCOMPARE(std::get<DecodedMessage>(run.outputs.last()).data, hex("0201"));
}

void TestFrameDecoder::settersTakeEffect() {
    FrameDecoder decoder({Role::Client});
    decoder.setConformance(Conformance::Strict);
    decoder.setMaxMessageSize(4);
    QCOMPARE(decoder.options().conformance, Conformance::Strict);
    QCOMPARE(decoder.options().maxMessageSize, qint64(4));
    decoder.feed(hex("820401020304"));
    decoder.feed(hex("8205"));
    Run run;
    drain(decoder, run);
    QCOMPARE(run.summaries.last(), QStringLiteral("violation MessageTooBig 1009 @7"));

    FrameDecoder strict({Role::Client});
    strict.setConformance(Conformance::Strict);
    strict.feed(hex("827e0001ff"));
    Run strictRun;
    drain(strict, strictRun);
    QCOMPARE(strictRun.summaries, QStringList({"violation NonMinimalLength 1002 @1"}));
}

void TestFrameDecoder::allocatesOnlyThePayload() {
    // 1000 masked single-frame text messages, as a client sends them.
    QByteArray stream;
    const int frames = 1000;
    for (int i = 0; i < frames; ++i)
        stream += hex("818601020304") + referenceMask("frame!", 0x01020304);
    const qsizetype frameSize = stream.size() / frames;

    FrameDecoder decoder({Role::Server});
    const auto decodeRange = [&](int from, int to) {
        for (int i = from; i < to; ++i) {
            // Split every frame inside its header to cover the partial-header path too.
            decoder.feed(QByteArrayView(stream).sliced(i * frameSize, 3));
            decoder.feed(QByteArrayView(stream).sliced(i * frameSize + 3, frameSize - 3));
            while (decoder.hasNext())
                decoder.takeNext();
        }
    };
    decodeRange(0, 10); // the output queue reaches its working size
    const qint64 before = g_allocations.load();
    decodeRange(10, frames);
    const qint64 allocations = g_allocations.load() - before;
    // One per frame, its payload; the message shares it.
    QCOMPARE(allocations, qint64(frames - 10));

    // Empty frames allocate nothing at all.
    const QByteArray pings = hex("898001020304").repeated(100);
    const qint64 beforePings = g_allocations.load();
    for (qsizetype i = 0; i < pings.size(); i += 6) {
        decoder.feed(QByteArrayView(pings).sliced(i, 6));
        while (decoder.hasNext())
            decoder.takeNext();
    }
    QCOMPARE(g_allocations.load() - beforePings, qint64(0));
    QVERIFY(!decoder.hasFailed());
}

void TestFrameDecoder::dataFramesUnreported_data() {
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QStringList>("expected");
    const QByteArray key = hex("37fa213d");
    const quint32 k = 0x37fa213d;
    const QByteArray hello = "Hello";

    // RFC 6455 §5.7: the masked "Hello".
    QTest::newRow("single frame: the message alone")
        << hex("818537fa213d7f9f4d5158") << QStringList{messageLine("text", hello, 1)};
    QTest::newRow("fragments: a ping between them is still a frame")
        << hex("0183") + key + referenceMask("Hel", k) + hex("8981") + key + referenceMask("p", k) +
               hex("8082") + key + referenceMask("lo", k)
        << QStringList{frameLine("ping", true, hex("8981") + key, "p", 9),
                       messageLine("text", hello, 2)};
    // RFC 6455 §5.2: a non-minimal length is noted (not fatal) in standard mode.
    QTest::newRow("a frame with a note is reported")
        << hex("82fe0005") + key + referenceMask(hello, k)
        << QStringList{frameLine("binary", true, hex("82fe0005") + key, hello, 0) +
                           QStringLiteral(" note=NonMinimalLength"),
                       messageLine("binary", hello, 1)};
    QTest::newRow("empty binary") << hex("8280") + key << QStringList{messageLine("binary", {}, 1)};
    QTest::newRow("200-byte binary, 16-bit length")
        << hex("82fe00c8") + key + referenceMask(pattern(200), k)
        << QStringList{messageLine("binary", pattern(200), 1)};
    // RFC 6455 §8.1: found at the byte where it breaks, as when frames are reported.
    QTest::newRow("invalid UTF-8") << hex("8183") + key + referenceMask(hex("61ff62"), k)
                                   << QStringList{"violation InvalidUtf8 1007 @7"};
    QTest::newRow("two messages, then a partial one")
        << hex("8281") + key + referenceMask("x", k) + hex("8181") + key + referenceMask("y", k) +
               hex("8285") + key + referenceMask("ab", k)
        << QStringList{messageLine("binary", "x", 1), messageLine("text", "y", 1, 7)};
    // RFC 6455 §5.5.1: data after a close is the caller's to reject, so it is shown.
    QTest::newRow("frames after a close are reported")
        << hex("8882") + key + referenceMask(hex("03e8"), k) + hex("8282") + key +
               referenceMask("ab", k)
        << QStringList{frameLine("close", true, hex("8882") + key, hex("03e8"), 0) +
                           QStringLiteral(" close=1000"),
                       frameLine("binary", true, hex("8282") + key, "ab", 8),
                       messageLine("binary", "ab", 1, 8)};
}

void TestFrameDecoder::dataFramesUnreported() {
    QFETCH(QByteArray, input);
    QFETCH(QStringList, expected);
    DecoderOptions options{Role::Server};
    options.reportDataFrames = false;
    const Run whole = decodeWhole(options, input);
    QCOMPARE(whole.summaries, expected);
    QCOMPARE(decodeChunked(options, input, [] { return 1; }).dumps, whole.dumps);

    // The messages are the same as with every frame reported.
    const Run reported = decodeWhole(DecoderOptions{Role::Server}, input);
    QStringList reportedMessages;
    for (qsizetype i = 0; i < reported.outputs.size(); ++i)
        if (std::holds_alternative<DecodedMessage>(reported.outputs[i]))
            reportedMessages << reported.dumps[i];
    QStringList messages;
    for (qsizetype i = 0; i < whole.outputs.size(); ++i)
        if (std::holds_alternative<DecodedMessage>(whole.outputs[i]))
            messages << whole.dumps[i];
    QCOMPARE(messages, reportedMessages);
}

void TestFrameDecoder::nextHandsOutInPlace() {
    // A text message in two fragments, a ping, a violation: every kind of output.
    const QByteArray input =
        hex("0103") + "Hel" + hex("8002") + "lo" + hex("8901") + "p" + hex("8301") + "x";
    const DecoderOptions options{Role::Client};
    const Run expected = decodeChunked(options, input, [] { return 3; });
    QCOMPARE(expected.outputs.size(), 5);

    FrameDecoder decoder(options);
    QStringList dumps;
    for (qsizetype position = 0; position < input.size(); position += 3) {
        decoder.feed(QByteArrayView(input).sliced(position,
                                                  std::min<qsizetype>(3, input.size() - position)));
        while (decoder.hasNext()) {
            DecoderOutput &output = decoder.next();
            dumps << fullDump(output);
            // Moved from in place, as a caller that keeps the bytes does.
            if (auto *message = std::get_if<DecodedMessage>(&output))
                QCOMPARE(std::move(message->data), QByteArray("Hello"));
        }
    }
    QCOMPARE(dumps, expected.dumps);
    QVERIFY(decoder.hasFailed());
}

void TestFrameDecoder::wholeHeadersAllocateOnlyThePayload() {
    // Whole frames in each feed take the in-place header path; with data frames not
    // reported the message takes the frame's payload, and nothing else is allocated.
    QByteArray stream;
    const int frames = 1000;
    for (int i = 0; i < frames; ++i)
        stream += hex("828601020304") + referenceMask("frame!", 0x01020304);
    const qsizetype frameSize = stream.size() / frames;
    DecoderOptions options{Role::Server};
    options.reportDataFrames = false;
    FrameDecoder decoder(options);
    qint64 messages = 0;
    const auto decodeRange = [&](int from, int to) {
        for (int i = from; i < to; i += 10) {
            decoder.feed(QByteArrayView(stream).sliced(i * frameSize, 10 * frameSize));
            while (decoder.hasNext()) {
                DecoderOutput &output = decoder.next();
                const auto *message = std::get_if<DecodedMessage>(&output);
                QVERIFY(message);
                // Compared with a literal: a QByteArray built here would allocate.
                QVERIFY(message->data == "frame!");
                ++messages;
            }
        }
    };
    decodeRange(0, 10);
    const qint64 before = g_allocations.load();
    decodeRange(10, frames);
    QCOMPARE(g_allocations.load() - before, qint64(frames - 10));
    QCOMPARE(messages, qint64(frames));
    QVERIFY(!decoder.hasFailed());
}

void TestFrameDecoder::longStreamAnyChunking() {
    // Many frames of every kind in one stream: fragmented text with characters
    // split across frames, pings in between, long binaries.
    QRandomGenerator random(20240501);
    QByteArray stream;
    QList<QByteArray> messages;
    const QByteArray text = QStringLiteral("h\u00e9llo w\u00f6rld \u20ac \U0001F600 ").toUtf8();
    for (int m = 0; m < 60; ++m) {
        const bool isText = m % 2 == 0;
        QByteArray data;
        const int size = int(random.bounded(isText ? 300 : 70000));
        while (data.size() < size)
            data += isText ? text : pattern(257);
        messages << data;
        qsizetype position = 0;
        bool first = true;
        do {
            const qsizetype piece =
                std::min<qsizetype>(data.size() - position, 1 + random.bounded(200));
            const bool fin = position + piece == data.size();
            const quint8 opcode = first ? (isText ? 0x1 : 0x2) : 0x0;
            const quint32 key = random.generate();
            QByteArray header(1, char((fin ? 0x80 : 0) | opcode));
            if (piece <= 125) {
                header += char(0x80 | piece);
            } else {
                header += char(0x80 | 126);
                header += char(piece >> 8);
                header += char(piece & 0xff);
            }
            for (int i = 0; i < 4; ++i)
                header += char(key >> (24 - 8 * i));
            stream += header + referenceMask(data.sliced(position, piece), key);
            if (random.bounded(3) == 0)
                stream += hex("898201020304") + referenceMask("pp", 0x01020304);
            position += piece;
            first = false;
        } while (position < data.size());
    }

    DecoderOptions options{Role::Server};
    const Run whole = decodeWhole(options, stream);
    QList<QByteArray> received;
    for (const DecoderOutput &output : whole.outputs) {
        QVERIFY(!std::holds_alternative<ProtocolViolation>(output));
        if (const auto *message = std::get_if<DecodedMessage>(&output))
            received << message->data;
    }
    QCOMPARE(received, messages);
    for (quint32 seed = 1; seed <= 8; ++seed) {
        QRandomGenerator chunks(seed);
        const Run chunked =
            decodeChunked(options, stream, [&] { return 1 + chunks.bounded(seed * 700); });
        QVERIFY(chunked.dumps == whole.dumps);
    }
}

namespace {

struct SinkCall {
    Opcode type;
    QByteArray payload;
    bool operator==(const SinkCall &) const = default;
};

// A client's stream with every kind of message the sink must see, in order: small
// ones (on the stack), one over the 4 KiB stack limit, an empty one, a text message
// whose character is split across two fragments, and control frames between them.
QByteArray sinkStream() {
    QByteArray stream;
    stream += wireFrame(0x82, pattern(64), 0x11223344);
    stream += wireFrame(0x01, "h\xc3", 0x55667788);   // text, FIN clear
    stream += wireFrame(0x89, "p", 0x01020304);       // ping between fragments
    stream += wireFrame(0x80, "\xa9llo", 0x99aabbcc); // continuation, FIN
    stream += wireFrame(0x82, pattern(5000), 0x0badf00d);
    stream += wireFrame(0x82, "", 0x12345678);
    stream += wireFrame(0x81, "last", 0xcafebabe);
    stream += wireFrame(0x88, hex("03e8"), 0x31415926); // close 1000
    return stream;
}

QList<SinkCall> expectedSinkCalls() {
    return {{Opcode::Binary, pattern(64)},
            {Opcode::Text, QByteArray("h\xc3\xa9llo")},
            {Opcode::Binary, pattern(5000)},
            {Opcode::Binary, QByteArray()},
            {Opcode::Text, QByteArray("last")}};
}

} // namespace

void TestFrameDecoder::messageSinkKeepsOrder_data() {
    QTest::addColumn<QList<QByteArray>>("pieces");
    for (const Split &split : splits(sinkStream()))
        QTest::newRow(qPrintable(split.first)) << split.second;
}

void TestFrameDecoder::messageSinkKeepsOrder() {
    QFETCH(QList<QByteArray>, pieces);
    DecoderOptions options{Role::Server};
    options.reportDataFrames = false;
    FrameDecoder decoder(options);
    // Everything in the order it came out: sink calls as they happen, outputs as
    // they are taken after each feed() (a message output is passed on to the sink,
    // as the contract asks of the caller).
    QStringList sequence;
    QList<SinkCall> calls;
    int fromInside = 0;
    decoder.setMessageSink([&](Opcode type, QByteArrayView payload) {
        calls.append({type, payload.toByteArray()});
        sequence << QStringLiteral("message");
        ++fromInside;
    });
    for (const QByteArray &piece : pieces) {
        decoder.feed(piece);
        while (decoder.hasNext()) {
            const DecoderOutput output = decoder.takeNext();
            if (const auto *message = std::get_if<DecodedMessage>(&output)) {
                calls.append({message->type, message->data});
                sequence << QStringLiteral("message");
            } else {
                sequence << QString::fromLatin1(
                    opcodeName(std::get<DecodedFrame>(output).header.op()));
            }
        }
    }
    QCOMPARE(calls, expectedSinkCalls());
    // Stream order: the ping between the text fragments comes before that message.
    QCOMPARE(sequence,
             QStringList({"message", "ping", "message", "message", "message", "message", "close"}));
    // Whatever the chunking, the first message completes with nothing waiting.
    QVERIFY(fromInside >= 1);
}

void TestFrameDecoder::messageSinkNeverGetsInvalidText() {
    // RFC 6455 §8.1: a whole text frame that is not UTF-8 fails the connection with
    // 1007 at the offending byte, as without a sink; the message before it arrives.
    DecoderOptions options{Role::Server};
    options.reportDataFrames = false;
    FrameDecoder decoder(options);
    QList<SinkCall> calls;
    decoder.setMessageSink([&calls](Opcode type, QByteArrayView payload) {
        calls.append({type, payload.toByteArray()});
    });
    const QByteArray first = wireFrame(0x81, "ok", 0x01020304);
    decoder.feed(first + wireFrame(0x81,
                                   "a\xff"
                                   "b",
                                   0x05060708));
    QCOMPARE(calls, (QList<SinkCall>{{Opcode::Text, QByteArray("ok")}}));
    QVERIFY(decoder.hasNext());
    const auto violation = std::get<ProtocolViolation>(decoder.takeNext());
    QCOMPARE(violation.error, ProtocolError::InvalidUtf8);
    QCOMPARE(violation.streamOffset, qint64(first.size() + 6 + 1));
    QVERIFY(!decoder.hasNext());
}

void TestFrameDecoder::messageSinkCanBeRemoved() {
    DecoderOptions options{Role::Server};
    options.reportDataFrames = false;
    FrameDecoder decoder(options);
    int calls = 0;
    decoder.setMessageSink([&calls](Opcode, QByteArrayView) { ++calls; });
    decoder.feed(wireFrame(0x82, "one", 0x01020304));
    decoder.setMessageSink({});
    decoder.feed(wireFrame(0x82, "two", 0x01020304));
    QCOMPARE(calls, 1);
    QVERIFY(decoder.hasNext());
    QCOMPARE(std::get<DecodedMessage>(decoder.takeNext()).data, QByteArray("two"));
}

namespace {

struct FrameSinkCall {
    Opcode opcode;
    bool fin;
    QByteArray payload;
    bool operator==(const FrameSinkCall &) const = default;
};

} // namespace

void TestFrameDecoder::frameSinkKeepsFramesInOrder_data() {
    QTest::addColumn<QList<QByteArray>>("pieces");
    for (const Split &split : splits(sinkStream()))
        QTest::newRow(qPrintable(split.first)) << split.second;
}

void TestFrameDecoder::frameSinkKeepsFramesInOrder() {
    // A relay's path: every data frame as it came (fragments stay fragments), in
    // stream order with the control frames, whatever the chunking; no messages.
    QFETCH(QList<QByteArray>, pieces);
    FrameDecoder decoder(DecoderOptions{Role::Server});
    QList<FrameSinkCall> frames;
    QStringList sequence;
    bool buffersRight = true;
    decoder.setFrameSink(
        [&](const FrameHeader &header, QByteArrayView payload, QByteArray *buffer) {
            frames.append({header.op(), header.fin, payload.toByteArray()});
            sequence << QString::fromLatin1(opcodeName(header.op()));
            // An allocation to take is offered exactly when the payload has one.
            buffersRight = buffersRight && (buffer ? buffer->size() == payload.size() &&
                                                         buffer->constData() == payload.data()
                                                   : payload.size() <= 4096);
            return true;
        });
    for (const QByteArray &piece : pieces) {
        decoder.feed(piece);
        while (decoder.hasNext()) {
            const DecoderOutput output = decoder.takeNext();
            QVERIFY(!std::holds_alternative<DecodedMessage>(output));
            const auto &frame = std::get<DecodedFrame>(output);
            if (!isControl(frame.header.op()))
                frames.append({frame.header.op(), frame.header.fin, frame.payload});
            sequence << QString::fromLatin1(opcodeName(frame.header.op()));
        }
    }
    const QList<FrameSinkCall> expected = {{Opcode::Binary, true, pattern(64)},
                                           {Opcode::Text, false, QByteArray("h\xc3")},
                                           {Opcode::Continuation, true, QByteArray("\xa9llo")},
                                           {Opcode::Binary, true, pattern(5000)},
                                           {Opcode::Binary, true, QByteArray()},
                                           {Opcode::Text, true, QByteArray("last")}};
    QCOMPARE(frames, expected);
    QCOMPARE(sequence, QStringList({"binary", "text", "ping", "continuation", "binary", "binary",
                                    "text", "close"}));
    QVERIFY(buffersRight);
}

void TestFrameDecoder::frameSinkNeverGetsBrokenText() {
    // RFC 6455 §8.1: a fragment that breaks UTF-8 never reaches the sink, and neither
    // does the final frame of a message that ends inside a character; the violation
    // is the same as without a sink.
    const QByteArray first = wireFrame(0x01, "ok \xc3", 0x01020304);
    for (const QByteArray &last :
         {wireFrame(0x80, "(", 0x05060708), wireFrame(0x80, "", 0x05060708)}) {
        FrameDecoder decoder(DecoderOptions{Role::Server});
        QList<FrameSinkCall> frames;
        decoder.setFrameSink([&](const FrameHeader &header, QByteArrayView payload, QByteArray *) {
            frames.append({header.op(), header.fin, payload.toByteArray()});
            return true;
        });
        FrameDecoder plain(DecoderOptions{Role::Server});
        for (FrameDecoder *d : {&decoder, &plain}) {
            d->feed(first);
            d->feed(last);
        }
        QCOMPARE(frames, (QList<FrameSinkCall>{{Opcode::Text, false, QByteArray("ok \xc3")}}));
        QVERIFY(decoder.hasNext());
        const auto violation = std::get<ProtocolViolation>(decoder.takeNext());
        QCOMPARE(violation.error, ProtocolError::InvalidUtf8);
        QVERIFY(!decoder.hasNext());
        while (plain.hasNext()) {
            const DecoderOutput output = plain.takeNext();
            if (const auto *expected = std::get_if<ProtocolViolation>(&output)) {
                QCOMPARE(violation.streamOffset, expected->streamOffset);
                QCOMPARE(violation.reason, expected->reason);
                QCOMPARE(violation.frame, expected->frame);
            }
        }
    }
}

void TestFrameDecoder::frameSinkRefusalMakesAnOutput() {
    // A refused frame is not lost: it comes out whole, as without a sink.
    FrameDecoder decoder(DecoderOptions{Role::Server});
    int offered = 0;
    decoder.setFrameSink([&](const FrameHeader &, QByteArrayView, QByteArray *) {
        ++offered;
        return false;
    });
    const QByteArray small = wireFrame(0x82, "one", 0x01020304);
    const QByteArray large = wireFrame(0x02, pattern(70000), 0x05060708);
    decoder.feed(small + large.left(1000));
    QCOMPARE(offered, 1);
    QVERIFY(decoder.hasNext());
    const auto one = std::get<DecodedFrame>(decoder.takeNext());
    QCOMPARE(one.payload, QByteArray("one"));
    QCOMPARE(one.header.maskingKey, std::optional<quint32>(0x01020304));
    QCOMPARE(one.streamOffset, qint64(0));
    QCOMPARE(
        QByteArray(reinterpret_cast<const char *>(one.rawHeader.bytes.data()), one.rawHeader.size),
        small.left(6));
    QVERIFY(!decoder.hasNext());
    // Taken: the next frame is offered again (behind an output it would not be).
    decoder.feed(large.mid(1000));
    QCOMPARE(offered, 2);
    QVERIFY(decoder.hasNext());
    const auto two = std::get<DecodedFrame>(decoder.takeNext());
    QCOMPARE(two.payload, pattern(70000));
    QVERIFY(!two.header.fin);
    QCOMPARE(two.streamOffset, qint64(small.size()));
    QVERIFY(!decoder.hasNext());
}

namespace {

// A decoder with a frame sink and a run sink, recording every data frame in stream
// order as the wire bytes it came as: a run's bytes split back into frames by their
// headers (a run holding anything but whole frames shows), and the
// frames the frame sink or the outputs got, encoded again. Control frames and
// violations are recorded by name.
struct RunRecorder {
    explicit RunRecorder(Role role)
        : decoder(DecoderOptions{role}) {
        decoder.setFrameSink(
            [this](const FrameHeader &header, QByteArrayView payload, QByteArray *) {
                frames.append(wire(header, payload));
                sequence << QStringLiteral("frame");
                return true;
            });
        decoder.setRunSink([this](QByteArrayView wireFrames) {
            if (!acceptRuns)
                return false;
            // Split by headers alone: a run may start inside a message.
            int count = 0;
            while (!wireFrames.isEmpty()) {
                const PartialHeader header = parsePartialHeader(
                    wireFrames.first(std::min<qsizetype>(wireFrames.size(), 14)));
                const qsizetype size = header.size + qsizetype(header.header.payloadLength);
                if (!header.complete || size > wireFrames.size()) {
                    frames.append("not whole frames: " + wireFrames.toByteArray().toHex());
                    break;
                }
                frames.append(wireFrames.first(size).toByteArray());
                wireFrames = wireFrames.sliced(size);
                ++count;
            }
            runFrames.append(count);
            sequence << QStringLiteral("run");
            return true;
        });
    }
    // The frame as it was on the wire (its masking key kept).
    static QByteArray wire(const FrameHeader &header, QByteArrayView payload) {
        return wireFrame(packByte0(header.byte0()), payload, header.maskingKey);
    }
    void feed(QByteArrayView bytes) {
        decoder.feed(bytes);
        while (decoder.hasNext()) {
            const DecoderOutput output = decoder.takeNext();
            if (const auto *frame = std::get_if<DecodedFrame>(&output)) {
                if (isControl(frame->header.op()))
                    sequence << QString::fromLatin1(opcodeName(frame->header.op()));
                else
                    frames.append(wire(frame->header, frame->payload));
            } else if (const auto *violation = std::get_if<ProtocolViolation>(&output)) {
                sequence << QStringLiteral("violation");
                violations.append(*violation);
            }
        }
    }
    FrameDecoder decoder;
    bool acceptRuns = true;
    QList<QByteArray> frames;
    QList<int> runFrames;
    QStringList sequence;
    QList<ProtocolViolation> violations;
};

// Frames a run may hold and frames it may not, from a client: small frames of both
// data kinds, a 16-bit length, a text character split between fragments, empty
// frames; a frame over 4 KiB and one with a 64-bit length (they go alone), and a
// ping (it ends a run).
QList<QByteArray> runStreamFrames() {
    return {wireFrame(0x82, pattern(64), 0x11223344),
            wireFrame(0x81, utf8Pattern(100), 0x01020304),
            wireFrame(0x82, pattern(300), 0x05060708),
            wireFrame(0x01, "h\xc3", 0x55667788),
            wireFrame(0x00, "\xa9l", 0x99aabbcc),
            wireFrame(0x80, "lo", 0x0a0b0c0d),
            wireFrame(0x82, "", 0x12345678),
            wireFrame(0x82, pattern(5000), 0x0badf00d),
            wireFrame(0x82, pattern(4096), 0x21436587),
            wireFrame(0x81, "", 0x31415926),
            wireFrame(0x82, pattern(70000), 0x27182818),
            wireFrame(0x82, pattern(10), 0x16180339),
            wireFrame(0x89, "p", 0x01020304)};
}

} // namespace

void TestFrameDecoder::runSinkTakesWhatTheFrameSinkWould_data() {
    QTest::addColumn<QList<QByteArray>>("pieces");
    QByteArray stream;
    for (const QByteArray &frame : runStreamFrames())
        stream += frame;
    for (const Split &split : splits(stream))
        QTest::newRow(qPrintable(split.first)) << split.second;
}

void TestFrameDecoder::runSinkTakesWhatTheFrameSinkWould() {
    // Every data frame arrives once, in stream order, as the bytes it came as,
    // through a run or alone, whatever the chunking; runs hold only whole frames.
    QFETCH(QList<QByteArray>, pieces);
    RunRecorder recorder(Role::Server);
    for (const QByteArray &piece : pieces)
        recorder.feed(piece);
    QList<QByteArray> expected = runStreamFrames();
    expected.removeLast(); // the ping
    QCOMPARE(recorder.frames.size(), expected.size());
    for (qsizetype i = 0; i < expected.size(); ++i)
        QVERIFY2(recorder.frames.at(i) == expected.at(i), qPrintable(QString::number(i)));
    QVERIFY(recorder.violations.isEmpty());
    QCOMPARE(recorder.sequence.count(QStringLiteral("ping")), 1);
    if (pieces.size() == 1) {
        // Whole: the first seven frames go as one run; the 4096-byte frame and the
        // empty text one make the next; the 10-byte frame the last, before the ping.
        QCOMPARE(recorder.runFrames, QList<int>({7, 2, 1}));
        QCOMPARE(recorder.sequence, QStringList({"run", "frame", "run", "frame", "run", "ping"}));
    }
}

void TestFrameDecoder::runSinkStopsBeforeBrokenFrames_data() {
    QTest::addColumn<QByteArray>("good");
    QTest::addColumn<QByteArray>("bad");
    QTest::addColumn<qint64>("limit");
    // Each after two good frames that a run takes; the plain decoder finds the same.
    // The good frames end with a text one, or are two whole binary messages with 7-bit
    // lengths, which the decoder takes on a path of their own.
    const QList<std::pair<const char *, QByteArray>> goods = {
        {"after text",
         wireFrame(0x82, pattern(20), 0x0a0b0c0d) + wireFrame(0x81, "fine", 0x01020304)},
        {"after binary",
         wireFrame(0x82, pattern(20), 0x0a0b0c0d) + wireFrame(0x82, pattern(90), 0x01020304)}};
    const QList<std::tuple<const char *, QByteArray, qint64>> bads = {
        {"invalid UTF-8", wireFrame(0x81, "ok\xff", 0x01020304), 2000},
        {"text ends inside a character", wireFrame(0x81, "ok\xc3", 0x01020304), 2000},
        {"unmasked", wireFrame(0x82, "x"), 2000},
        {"RSV1 without an extension", wireFrame(0xc2, "x", 0x01020304), 2000},
        {"continuation with no message", wireFrame(0x80, "x", 0x01020304), 2000},
        {"reserved opcode", wireFrame(0x83, "x", 0x01020304), 2000},
        {"16-bit length not minimal",
         hex("82fe000a01020304") + referenceMask(pattern(10), 0x01020304), 2000},
        {"over the message size limit", wireFrame(0x82, pattern(3000), 0x01020304), 2000},
        {"over a message size limit under 126", wireFrame(0x82, pattern(110), 0x01020304), 100}};
    for (const auto &[goodName, good] : goods) {
        for (const auto &[badName, bad, limit] : bads)
            QTest::addRow("%s, %s", badName, goodName) << good << bad << limit;
    }
}

void TestFrameDecoder::runSinkStopsBeforeBrokenFrames() {
    // Nothing of a frame that breaks a rule goes into a run, and the violation is
    // the one the decoder finds without a run sink, at the same offset.
    QFETCH(QByteArray, good);
    QFETCH(QByteArray, bad);
    QFETCH(qint64, limit);
    RunRecorder recorder(Role::Server);
    recorder.decoder.setMaxMessageSize(limit);
    recorder.decoder.setConformance(Conformance::Strict); // a non-minimal length fails
    recorder.feed(good + bad + wireFrame(0x82, "after", 0x01020304));
    FrameDecoder plain(DecoderOptions{Role::Server, Conformance::Strict});
    plain.setMaxMessageSize(limit);
    plain.feed(good + bad);
    std::optional<ProtocolViolation> expected;
    while (plain.hasNext())
        if (const auto *violation = std::get_if<ProtocolViolation>(&plain.next()))
            expected = *violation;
    QVERIFY(expected);
    QCOMPARE(recorder.runFrames, QList<int>({2}));
    QCOMPARE(recorder.frames.size(), 2);
    QCOMPARE(recorder.violations.size(), 1);
    QCOMPARE(recorder.violations.first().error, expected->error);
    QCOMPARE(recorder.violations.first().streamOffset, expected->streamOffset);
    QCOMPARE(recorder.violations.first().reason, expected->reason);
    QCOMPARE(recorder.violations.first().frame, expected->frame);
}

void TestFrameDecoder::runSinkRefusalGoesFrameByFrame() {
    // A refused run is not lost: its frames go to the frame sink one by one, and a
    // later run is offered again.
    RunRecorder recorder(Role::Client);
    recorder.acceptRuns = false;
    const QByteArray two = wireFrame(0x82, "one") + wireFrame(0x81, "two");
    recorder.feed(two);
    QCOMPARE(recorder.sequence, QStringList({"frame", "frame"}));
    QCOMPARE(recorder.frames, QList<QByteArray>({wireFrame(0x82, "one"), wireFrame(0x81, "two")}));
    recorder.acceptRuns = true;
    recorder.feed(two);
    QCOMPARE(recorder.sequence, QStringList({"frame", "frame", "run"}));
    QCOMPARE(recorder.runFrames, QList<int>({2}));
    QCOMPARE(recorder.frames.size(), 4);
}

namespace {

// What a decoder that reports data frames gives for a stream, one line per frame
// (its stream offset and wire bytes) and per message (kind and data); with a run sink
// and no frame sink, each frame of a run stands for the frame and the message the
// decoder would otherwise output. `runs` gets each run's frame count, and is false
// where a run held anything but whole single-frame data messages. With
// `framesInPieces`, a piece sink (and still no frame sink) takes frames too: each
// frame it takes whole stands for its frame and message, and is counted there.
QStringList reportedLines(const QList<QByteArray> &pieces, bool withRuns, QList<int> *runs,
                          bool *runsWhole, int *framesInPieces = nullptr) {
    DecoderOptions options{Role::Server};
    options.reportDataFrames = true;
    FrameDecoder decoder(options);
    QStringList lines;
    qint64 offset = 0;
    QByteArray gathered; // the payload of the frame in pieces, unmasked
    const auto frameLine = [](qint64 at, const QByteArray &wire) {
        return QStringLiteral("frame %1 %2").arg(at).arg(QString::fromLatin1(wire.toHex()));
    };
    const auto messageLine = [](Opcode type, const QByteArray &data) {
        return QStringLiteral("message %1 %2")
            .arg(QLatin1StringView(opcodeName(type)), QString::fromLatin1(data.toHex()));
    };
    if (withRuns) {
        decoder.setRunSink([&](QByteArrayView wireFrames) {
            int count = 0;
            while (!wireFrames.isEmpty()) {
                const PartialHeader header = parsePartialHeader(
                    wireFrames.first(std::min<qsizetype>(wireFrames.size(), 14)));
                const qsizetype size = header.size + qsizetype(header.header.payloadLength);
                if (!header.complete || size > wireFrames.size() || !header.header.fin ||
                    (header.header.op() != Opcode::Text && header.header.op() != Opcode::Binary)) {
                    *runsWhole = false;
                    break;
                }
                const QByteArray wire = wireFrames.first(size).toByteArray();
                lines << frameLine(offset, wire);
                lines << messageLine(header.header.op(), referenceMask(wire.mid(header.size),
                                                                       *header.header.maskingKey));
                offset += size;
                wireFrames = wireFrames.sliced(size);
                ++count;
            }
            runs->append(count);
            return true;
        });
    }
    if (framesInPieces) {
        decoder.setPieceSink([&](const FrameHeader &header, quint64 at, QByteArrayView wire) {
            if (at != quint64(gathered.size()) || !header.fin || header.op() != Opcode::Binary)
                *runsWhole = false;
            gathered += referenceMask(wire.toByteArray(), *header.maskingKey, at);
            if (quint64(gathered.size()) == header.payloadLength) {
                const QByteArray frame =
                    wireFrame(packByte0(header.byte0()), gathered, header.maskingKey);
                lines << frameLine(offset, frame) << messageLine(header.op(), gathered);
                offset += frame.size();
                gathered.clear();
                ++*framesInPieces;
            }
            return true;
        });
    }
    for (const QByteArray &piece : pieces) {
        decoder.feed(piece);
        while (decoder.hasNext()) {
            const DecoderOutput output = decoder.takeNext();
            if (const auto *frame = std::get_if<DecodedFrame>(&output)) {
                const QByteArray wire = wireFrame(packByte0(frame->header.byte0()), frame->payload,
                                                  frame->header.maskingKey);
                lines << frameLine(frame->streamOffset, wire);
                offset = frame->streamOffset + wire.size();
            } else if (const auto *message = std::get_if<DecodedMessage>(&output)) {
                lines << messageLine(message->type, message->data);
            } else {
                lines << QStringLiteral("violation");
            }
        }
    }
    return lines;
}

} // namespace

void TestFrameDecoder::pieceSinkWithoutFrameSinkTakesWholeBinaryMessages_data() {
    QTest::addColumn<QList<QByteArray>>("pieces");
    QByteArray stream;
    for (const QByteArray &frame : runStreamFrames())
        stream += frame;
    // A large text message and a large fragmented binary one: never in pieces.
    stream += wireFrame(0x81, utf8Pattern(6000), 0x01020304) +
              wireFrame(0x02, pattern(5000), 0x05060708) +
              wireFrame(0x80, pattern(5000), 0x090a0b0c) +
              wireFrame(0x82, pattern(9000), 0x0d0e0f10);
    for (const Split &split : splits(stream))
        QTest::newRow(qPrintable(split.first)) << split.second;
}

void TestFrameDecoder::pieceSinkWithoutFrameSinkTakesWholeBinaryMessages() {
    // Without a frame sink (a relay that logs what it forwards), the piece sink takes
    // binary messages of one frame only, and what it takes plus the runs and outputs
    // is exactly what the decoder outputs without either sink, in order, at the same
    // offsets.
    QFETCH(QList<QByteArray>, pieces);
    QList<int> runs;
    bool whole = true;
    int inPieces = 0;
    const QStringList withPieces = reportedLines(pieces, false, &runs, &whole, &inPieces);
    int alsoInPieces = 0;
    const QStringList withBoth = reportedLines(pieces, true, &runs, &whole, &alsoInPieces);
    const QStringList plain = reportedLines(pieces, false, &runs, &whole);
    QVERIFY(whole);
    QCOMPARE(withPieces, plain);
    QCOMPARE(withBoth, plain);
    if (QByteArrayView(QTest::currentDataTag()) == "byte by byte") {
        // Byte by byte no output waits when a frame starts: every binary message of
        // one non-empty frame goes in pieces, with runs or without (none can form).
        QCOMPARE(inPieces, 7);
        QCOMPARE(alsoInPieces, 7);
    }
}

void TestFrameDecoder::runSinkWithoutFrameSinkTakesWholeMessages_data() {
    QTest::addColumn<QList<QByteArray>>("pieces");
    QByteArray stream;
    for (const QByteArray &frame : runStreamFrames())
        stream += frame;
    // A fragmented message again after the ping: a run stops before it and starts
    // again after it.
    stream += wireFrame(0x82, "a", 0x01020304) + wireFrame(0x02, "b", 0x05060708) +
              wireFrame(0x80, "c", 0x090a0b0c) + wireFrame(0x81, "d", 0x0d0e0f10);
    for (const Split &split : splits(stream))
        QTest::newRow(qPrintable(split.first)) << split.second;
}

void TestFrameDecoder::runSinkWithoutFrameSinkTakesWholeMessages() {
    // Without a frame sink (a relay that logs what it forwards), runs hold whole
    // single-frame messages only, and what they hold plus the outputs is exactly what
    // the decoder outputs without a run sink, in the same order, at the same offsets.
    QFETCH(QList<QByteArray>, pieces);
    QList<int> runs;
    bool runsWhole = true;
    const QStringList withRuns = reportedLines(pieces, true, &runs, &runsWhole);
    QList<int> none;
    const QStringList plain = reportedLines(pieces, false, &none, &runsWhole);
    QVERIFY(runsWhole);
    QCOMPARE(withRuns, plain);
    if (pieces.size() == 1) {
        // Whole: the first three frames (the fragmented text ends the run; the decoder
        // then has outputs, and no run starts behind them in the same feed).
        QCOMPARE(runs, QList<int>({3}));
    }
}

namespace {

// A decoder with a frame sink and a piece sink, recording what each takes: the
// frames as they begin (a whole frame, or the first piece of one), the pieces, and
// the outputs taken after every feed().
struct PieceRecorder {
    explicit PieceRecorder(const DecoderOptions &options)
        : decoder(options) {
        decoder.setFrameSink([this](const FrameHeader &header, QByteArrayView payload,
                                    QByteArray *) {
            sequence << QStringLiteral("whole %1").arg(QLatin1StringView(opcodeName(header.op())));
            payloads.append(payload.toByteArray());
            return true;
        });
        decoder.setPieceSink([this](const FrameHeader &header, quint64 offset,
                                    QByteArrayView wireBytes) {
            if (offset == 0) {
                if (refuseNext) {
                    refuseNext = false;
                    sequence << QStringLiteral("refused");
                    return false;
                }
                sequence
                    << QStringLiteral("pieces %1").arg(QLatin1StringView(opcodeName(header.op())));
                payloads.append(QByteArray());
                headers.append(header);
            }
            inOrder = inOrder && offset == quint64(payloads.last().size());
            largestPiece = std::max(largestPiece, wireBytes.size());
            ++pieces;
            // What the sink gets is as received: masked at the phase of `offset`.
            QByteArray bytes = wireBytes.toByteArray();
            if (header.maskingKey)
                bytes = referenceMask(bytes, *header.maskingKey, offset);
            payloads.last().append(bytes);
            return true;
        });
    }

    void feed(const QByteArray &bytes, qsizetype chunk) {
        for (qsizetype at = 0; at < bytes.size(); at += chunk) {
            decoder.feed(QByteArrayView(bytes).sliced(at, std::min(chunk, bytes.size() - at)));
            while (decoder.hasNext()) {
                DecoderOutput output = decoder.takeNext();
                if (const auto *frame = std::get_if<DecodedFrame>(&output)) {
                    sequence << QStringLiteral("output %1")
                                    .arg(QLatin1StringView(opcodeName(frame->header.op())));
                    payloads.append(frame->payload);
                } else if (auto *violation = std::get_if<ProtocolViolation>(&output)) {
                    failure = std::move(*violation);
                } else {
                    sequence << QStringLiteral("message");
                }
            }
        }
    }

    FrameDecoder decoder;
    QStringList sequence;
    QList<QByteArray> payloads; // unmasked, one per entry of `sequence` but refusals
    QList<FrameHeader> headers; // of the frames in pieces
    std::optional<ProtocolViolation> failure;
    qsizetype largestPiece = 0;
    int pieces = 0;
    bool inOrder = true;
    bool refuseNext = false;
};

// The violation a decoder without sinks finds in `bytes`.
std::optional<ProtocolViolation> plainViolation(const DecoderOptions &options,
                                                const QByteArray &bytes) {
    FrameDecoder plain(options);
    plain.feed(bytes);
    while (plain.hasNext()) {
        DecoderOutput output = plain.takeNext();
        if (auto *violation = std::get_if<ProtocolViolation>(&output))
            return std::move(*violation);
    }
    return std::nullopt;
}

} // namespace

void TestFrameDecoder::pieceSinkTakesFramesAsTheyArrive_data() {
    QTest::addColumn<quint8>("firstByte");
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<qsizetype>("chunk");
    for (const qsizetype size : {qsizetype(126), qsizetype(70000), qsizetype(1 << 20)}) {
        for (const qsizetype chunk : {qsizetype(1), qsizetype(7), qsizetype(64 * 1024)}) {
            QTest::addRow("binary %lld in %lld", qlonglong(size), qlonglong(chunk))
                << quint8(0x82) << pattern(size) << chunk;
            QTest::addRow("text %lld in %lld", qlonglong(size), qlonglong(chunk))
                << quint8(0x81) << utf8Pattern(size) << chunk;
        }
    }
}

void TestFrameDecoder::pieceSinkTakesFramesAsTheyArrive() {
    QFETCH(quint8, firstByte);
    QFETCH(QByteArray, payload);
    QFETCH(qsizetype, chunk);
    const quint32 key = 0x01020304;
    const QByteArray bytes = wireFrame(firstByte, payload, key);
    PieceRecorder recorder(DecoderOptions{Role::Server});
    recorder.feed(bytes, chunk);
    QVERIFY(!recorder.failure);
    const QString kind = QLatin1StringView(opcodeName(Opcode(firstByte & 0x0F)));
    if (chunk >= bytes.size() || firstByte == 0x81) {
        // All in one feed(), or text (checked whole before any of it goes): whole, to
        // the frame sink.
        QCOMPARE(recorder.sequence, QStringList({QStringLiteral("whole ") + kind}));
    } else {
        QCOMPARE(recorder.sequence, QStringList({QStringLiteral("pieces ") + kind}));
        QCOMPARE(recorder.headers.first().payloadLength, quint64(payload.size()));
        QCOMPARE(recorder.headers.first().maskingKey, std::optional<quint32>(key));
        QVERIFY(recorder.headers.first().fin);
        QVERIFY(recorder.inOrder);
        QVERIFY(recorder.largestPiece <= chunk);
    }
    QCOMPARE(recorder.payloads.first().size(), payload.size());
    QVERIFY(recorder.payloads.first() == payload);
    QVERIFY(!recorder.decoder.isInsideMessage());
    // The next frame starts clean.
    recorder.feed(wireFrame(0x82, "next", key), 64);
    QCOMPARE(recorder.sequence.last(), QStringLiteral("whole binary"));
    QCOMPARE(recorder.payloads.last(), QByteArray("next"));
}

void TestFrameDecoder::pieceSinkNeverTakesInvalidText_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<qsizetype>("chunk");
    QTest::addColumn<qint64>("forwarded"); // payload bytes of the frames before the bad one
    // 0xff can never appear in UTF-8 (RFC 3629).
    QByteArray invalid = utf8Pattern(70000);
    invalid[40000] = char(0xff);
    // The message ends inside a 3-byte character.
    const QByteArray cut = utf8Pattern(69998) + "\xe2\x82";
    for (const qsizetype chunk : {qsizetype(7), qsizetype(64 * 1024)}) {
        QTest::addRow("0xff at 40000, in %lld", qlonglong(chunk))
            << wireFrame(0x81, invalid, 0x0a0b0c0d) << chunk << qint64(0);
        QTest::addRow("ends mid-character, in %lld", qlonglong(chunk))
            << wireFrame(0x81, cut, 0x0a0b0c0d) << chunk << qint64(0);
        QTest::addRow("fragment ends mid-character, in %lld", qlonglong(chunk))
            << wireFrame(0x01, cut, 0x0a0b0c0d) + wireFrame(0x80, "\xff", 0x0a0b0c0d) << chunk
            << qint64(70000);
    }
}

void TestFrameDecoder::pieceSinkNeverTakesInvalidText() {
    // Text is gathered and checked whole (RFC 6455 §8.1): nothing of a frame with
    // invalid UTF-8 goes anywhere, so the violation comes between frames.
    QFETCH(QByteArray, bytes);
    QFETCH(qsizetype, chunk);
    QFETCH(qint64, forwarded);
    PieceRecorder recorder(DecoderOptions{Role::Server});
    recorder.feed(bytes, chunk);
    QVERIFY(recorder.failure);
    QCOMPARE(recorder.failure->error, ProtocolError::InvalidUtf8);
    QCOMPARE(recorder.failure->closeCode(), CloseCode::InvalidPayload);
    // The same violation, at the same byte, as without sinks.
    const std::optional<ProtocolViolation> expected =
        plainViolation(DecoderOptions{Role::Server}, bytes);
    QVERIFY(expected);
    QCOMPARE(recorder.failure->streamOffset, expected->streamOffset);
    QCOMPARE(recorder.failure->reason, expected->reason);
    QCOMPARE(recorder.pieces, 0);
    qint64 taken = 0;
    for (const QByteArray &payload : std::as_const(recorder.payloads))
        taken += payload.size();
    QCOMPARE(taken, forwarded);
    if (forwarded > 0) {
        QCOMPARE(recorder.sequence, QStringList({QStringLiteral("whole text")}));
        QVERIFY(recorder.payloads.first() == referenceMask(bytes.mid(14, 70000), 0x0a0b0c0d));
    }
}

void TestFrameDecoder::pieceSinkRefusesOversizeBeforeAnyPiece() {
    // RFC 6455 §7.4.1: the length is checked in the header, before any byte goes.
    DecoderOptions options{Role::Server};
    options.maxMessageSize = 100000;
    PieceRecorder recorder(options);
    recorder.feed(wireFrame(0x02, pattern(60000), 0x01020304) +
                      wireFrame(0x80, pattern(60000), 0x01020304),
                  1000);
    QCOMPARE(recorder.sequence, QStringList({QStringLiteral("pieces binary")}));
    QCOMPARE(recorder.payloads.first(), pattern(60000));
    QVERIFY(recorder.failure);
    QCOMPARE(recorder.failure->error, ProtocolError::MessageTooBig);
    QCOMPARE(recorder.failure->streamOffset, qint64(8 + 60000 + 1));

    PieceRecorder single(options);
    single.feed(wireFrame(0x82, pattern(100001), 0x01020304), 7);
    QVERIFY(single.sequence.isEmpty());
    QVERIFY(single.failure);
    QCOMPARE(single.failure->error, ProtocolError::MessageTooBig);
    QCOMPARE(single.failure->closeCode(), CloseCode::MessageTooBig);
}

void TestFrameDecoder::pieceSinkKeepsFragmentsAndControlsInOrder() {
    // A fragmented binary message with a ping and a pong between its fragments (RFC
    // 6455 §5.4: control frames may come between fragments), then a close.
    const quint32 key = 0x11223344;
    const QByteArray first = pattern(70000);
    const QByteArray second = pattern(3000);
    PieceRecorder recorder(DecoderOptions{Role::Server});
    recorder.feed(wireFrame(0x02, first, key), 7);
    recorder.feed(wireFrame(0x89, "p", key), 64);
    recorder.feed(wireFrame(0x00, second, key), 7);
    // A fragment that completes behind an output not yet taken (the pong in the same
    // feed()) is an output itself, after it.
    recorder.feed(wireFrame(0x8a, "q", key) + wireFrame(0x80, "end", key) +
                      wireFrame(0x88, hex("03e8"), key),
                  64);
    QVERIFY(!recorder.failure);
    QCOMPARE(recorder.sequence,
             QStringList({"pieces binary", "output ping", "pieces continuation", "output pong",
                          "output continuation", "output close"}));
    QCOMPARE(recorder.payloads, QList<QByteArray>({first, "p", second, "q", "end", hex("03e8")}));
    QVERIFY(!recorder.headers.at(0).fin);
    QVERIFY(!recorder.headers.at(1).fin);
}

void TestFrameDecoder::pieceSinkRefusalGathersTheFrame() {
    // A frame refused at its first piece is gathered and goes whole, to the frame sink.
    PieceRecorder recorder(DecoderOptions{Role::Server});
    recorder.refuseNext = true;
    recorder.feed(wireFrame(0x82, pattern(70000), 0x01020304), 4096);
    QVERIFY(!recorder.failure);
    QCOMPARE(recorder.sequence, QStringList({"refused", "whole binary"}));
    QCOMPARE(recorder.payloads, QList<QByteArray>({pattern(70000)}));
    QCOMPARE(recorder.pieces, 0);
}

void TestFrameDecoder::payloadBytesLeftCountsDown() {
    // 70000 bytes (a 64-bit length), masked: 14 header bytes, then the payload.
    const QByteArray bytes = wireFrame(0x82, pattern(70000), 0x01020304);
    FrameDecoder decoder(DecoderOptions{Role::Server});
    QCOMPARE(decoder.payloadBytesLeft(), quint64(0));
    decoder.feed(QByteArrayView(bytes).first(10)); // inside the header
    QCOMPARE(decoder.payloadBytesLeft(), quint64(0));
    decoder.feed(QByteArrayView(bytes).sliced(10, 4)); // the header is whole
    QCOMPARE(decoder.payloadBytesLeft(), quint64(70000));
    decoder.feed(QByteArrayView(bytes).sliced(14, 30000));
    QCOMPARE(decoder.payloadBytesLeft(), quint64(40000));
    QVERIFY(!decoder.hasNext());
    decoder.feed(QByteArrayView(bytes).sliced(14 + 30000));
    QCOMPARE(decoder.payloadBytesLeft(), quint64(0));
    QVERIFY(decoder.hasNext());
}

void TestFrameDecoder::splitClosePayload_data() {
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<int>("code"); // -1: none
    QTest::addColumn<QByteArray>("reason");

    QTest::newRow("empty") << QByteArray() << -1 << QByteArray();
    QTest::newRow("one byte") << hex("03") << -1 << hex("03");
    QTest::newRow("code only") << hex("03e8") << 1000 << QByteArray();
    QTest::newRow("code and reason") << hex("0fa0627965") << 4000 << QByteArray("bye");
    QTest::newRow("invalid code, raw reason") << hex("0000ff") << 0 << hex("ff");
}

void TestFrameDecoder::splitClosePayload() {
    QFETCH(QByteArray, payload);
    QFETCH(int, code);
    QFETCH(QByteArray, reason);

    const ClosePayload split = ws::splitClosePayload(payload);
    QCOMPARE(split.code.has_value(), code >= 0);
    if (code >= 0)
        QCOMPARE(int(*split.code), code);
    QCOMPARE(split.reason, reason);
}

void TestFrameDecoder::errorNames() {
    QSet<QString> names;
    QSet<QString> descriptions;
    const int count = int(ProtocolError::AbnormalClosure) + 1;
    for (int i = 0; i < count; ++i) {
        const auto error = ProtocolError(i);
        const QString name = QString::fromLatin1(errorName(error));
        const QString description = describe(error);
        QVERIFY2(description.contains(QLatin1String("(RFC ")), qPrintable(description));
        names << name;
        descriptions << description;
    }
    QCOMPARE(names.size(), count);
    QCOMPARE(descriptions.size(), count);
    QCOMPARE(errorName(ProtocolError::UnmaskedClientFrame), "UnmaskedClientFrame");
    QCOMPARE(describe(ProtocolError::UnmaskedClientFrame),
             QStringLiteral("client frame is not masked (RFC 6455 §5.1)"));
    QCOMPARE(closeCodeFor(ProtocolError::InvalidUtf8), CloseCode::InvalidPayload);
    QCOMPARE(closeCodeFor(ProtocolError::InvalidCloseReason), CloseCode::InvalidPayload);
    QCOMPARE(closeCodeFor(ProtocolError::MessageTooBig), CloseCode::MessageTooBig);
    QCOMPARE(closeCodeFor(ProtocolError::ReservedOpcode), CloseCode::ProtocolError);
}

QTEST_APPLESS_MAIN(TestFrameDecoder)
#include "tst_framedecoder.moc"

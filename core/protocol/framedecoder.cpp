#include "framedecoder.h"

#include "closecode.h"
#include "extension.h"
#include "masking.h"
#include "utf8validator.h"

#include <QtEndian>

#include <algorithm>
#include <array>
#include <cstring>

namespace ws {

namespace {

// The largest single-frame message a message sink receives from the stack rather
// than from an allocated buffer (FrameDecoder::setMessageSink).
constexpr std::size_t SinkStackBytes = 4096;

QString hexByte(quint8 byte) {
    return QStringLiteral("0x%1").arg(uint(byte), 2, 16, QLatin1Char('0'));
}

QString rsvNames(quint8 rsvBits) {
    QStringList names;
    if (rsvBits & Rsv1Bit)
        names << QStringLiteral("RSV1");
    if (rsvBits & Rsv2Bit)
        names << QStringLiteral("RSV2");
    if (rsvBits & Rsv3Bit)
        names << QStringLiteral("RSV3");
    return names.join(QStringLiteral(", "));
}

QString encodingName(LengthEncoding encoding) {
    switch (encoding) {
    case LengthEncoding::Short7:
        return QStringLiteral("the 7-bit field");
    case LengthEncoding::Extended16:
        return QStringLiteral("the 16-bit extended length");
    case LengthEncoding::Extended64:
        return QStringLiteral("the 64-bit extended length");
    }
    return {};
}

QString frameKind(quint8 opcode) {
    return QString::fromLatin1(opcodeName(opcode));
}

constexpr quint8 code(Opcode op) {
    return static_cast<quint8>(op);
}

// Where the length field ends: 2, 4 or 10 bytes into the header.
constexpr int lengthEndFor(quint8 length7) {
    return 2 + extendedLengthSize(lengthEncodingOf(length7));
}
constexpr int Length16End = 2 + extendedLengthSize(LengthEncoding::Extended16);
constexpr int Length64End = 2 + extendedLengthSize(LengthEncoding::Extended64);

// RFC 6455 §5.3: the key as masking uses it, first wire byte in the top bits.
quint32 maskingKeyAt(const quint8 *key) {
    return qFromBigEndian<quint32>(key);
}

// The frame a violation concerns: `headerBytes` of raw, then `payloadSize` unmasked
// payload bytes masked again as they were on the wire, at most MaxPayloadKept of them.
ViolationFrame violationFrame(const RawHeaderBytes &raw, int headerBytes, qint64 frameOffset,
                              const char *payload = nullptr, qint64 payloadSize = 0) {
    ViolationFrame frame;
    frame.streamOffset = frameOffset;
    frame.headerBytes = headerBytes;
    frame.payloadReceived = payloadSize;
    const qint64 kept = std::min<qint64>(payloadSize, ViolationFrame::MaxPayloadKept);
    frame.bytes.reserve(headerBytes + kept);
    frame.bytes.append(reinterpret_cast<const char *>(raw.bytes.data()), headerBytes);
    if (kept > 0) {
        frame.bytes.resize(headerBytes + kept);
        char *dst = frame.bytes.data() + headerBytes;
        const HeaderByte1 byte1 = unpackByte1(raw.bytes[1]);
        if (byte1.masked)
            copyWithMask(dst, payload, kept, maskingKeyAt(raw.bytes.data() + headerBytes - 4));
        else
            std::memcpy(dst, payload, size_t(kept));
    }
    return frame;
}

} // namespace

struct FrameDecoder::State {
    // Between frames and inside a header the decoder gathers header bytes; once the
    // header is whole and checked, it takes payload bytes until the frame is complete.
    enum class Reading : quint8 { Header, Payload };
    Reading reading = Reading::Header;

    // The header being gathered; the only bytes ever buffered across feed() calls.
    RawHeaderBytes raw;
    int lengthEnd = 2;  // header bytes up to the end of the length field
    int headerSize = 2; // known once byte 1 is in
    qint64 frameOffset = 0;
    quint8 allowedRsv = 0; // the RSV bits the negotiated extension defines

    // The frame being received. Its payload is allocated once, at the announced size,
    // unless it goes to the piece sink as it arrives (then nothing is kept).
    DecodedFrame frame;
    quint64 received = 0;
    bool inPieces = false;
    bool runRefused = false; // by the run sink, in this feed()

    // Close frames (RFC 6455 §5.5.1).
    quint16 closeCode = 0;
    Utf8Validator closeReasonValidator;
    qint64 closeReasonFed = 0;
    bool closeReasonInvalid = false; // lenient mode: noted, not fatal
    bool closeSeen = false;          // every frame after it is output

    // The data message in progress (RFC 6455 §5.4), as far as its frames moved it.
    struct Progress {
        bool inMessage = false;
        Opcode type = Opcode::Text;
        bool validateText = false; // uncompressed text: validated as the bytes arrive
        int frameCount = 0;
        qint64 wireSize = 0;
        qint64 offset = 0;
        Utf8Validator textValidator;
        qint64 textFed = 0;

        // A whole data frame that breaks no rule moves it on, as startFrame() and
        // finishFrame() would: `validator` is textValidator fed with the frame's
        // payload, for text.
        void advance(quint8 op, bool fin, bool text, const Utf8Validator &validator, qint64 size,
                     qint64 frameOffset) {
            if (op != quint8(Opcode::Continuation)) {
                type = static_cast<Opcode>(op);
                validateText = text;
                frameCount = 0;
                wireSize = 0;
                offset = frameOffset;
                textFed = 0;
            }
            if (text) {
                textValidator = validator;
                textFed += size;
            }
            ++frameCount;
            wireSize += size;
            inMessage = !fin;
        }
    };
    Progress progress;
    quint8 messageRsv = 0;
    QByteArray messageData;
    // For a violation found once a message is whole: its first and last frames.
    RawHeaderBytes messageFirstHeader;
    qint64 firstFrameLength = 0;
    qint64 lastFrameLength = 0;

    void feed(FrameDecoder &d, const char *p, const char *end);
    bool gatherHeader(FrameDecoder &d, const char *&p, const char *end);
    bool takeWholeMessage(FrameDecoder &d, const char *&p, const char *end);
    bool sinkWholeFrame(FrameDecoder &d, const char *&p, const char *end);
    bool sinkFrameRun(FrameDecoder &d, const char *&p, const char *end);
    void sinkFrame(FrameDecoder &d);
    void failIncompleteText(FrameDecoder &d, ViolationFrame violating);
    bool isPlainShortDataFrame(const FrameDecoder &d);
    void failLengthMsb(FrameDecoder &d);
    bool checkFirstByte(FrameDecoder &d);
    bool checkSecondByte(FrameDecoder &d);
    bool checkLength(FrameDecoder &d);
    void startFrame(FrameDecoder &d);
    void consumePayload(FrameDecoder &d, const char *&p, const char *end);
    bool goesInPieces(const FrameDecoder &d) const;
    void consumePiece(FrameDecoder &d, const char *&p, const char *end);
    void finishPieces();
    void failInvalidText(FrameDecoder &d, quint8 byte, qint64 offsetInMessage, qint64 streamOffset,
                         ViolationFrame violating);
    bool checkClosePayload(FrameDecoder &d, const char *chunk, qint64 size, qint64 chunkOffset);
    void finishFrame(FrameDecoder &d);
    void finishMessage(FrameDecoder &d);

    HeaderByte0 byte0() const { return unpackByte0(raw.bytes[0]); }
    HeaderByte1 byte1() const { return unpackByte1(raw.bytes[1]); }
    quint8 opcode() const { return byte0().opcode; }
    quint8 rsvBits() const { return byte0().rsv; }
    bool isControlFrame() const { return isControl(Opcode(opcode())); }
    // Reads the parsed header, not raw: raw may already hold the next header's bytes.
    // The frame being gathered, its header cut after `headerBytes` (the bytes the
    // failed check read), or received up to payload byte `payloadEnd`.
    ViolationFrame headerFrame(int headerBytes) const {
        return violationFrame(raw, std::min<int>(headerBytes, raw.size), frameOffset);
    }
    ViolationFrame payloadFrame(quint64 payloadEnd) const {
        return violationFrame(frame.rawHeader, frame.rawHeader.size, frame.streamOffset,
                              frame.payload.constData(), qint64(payloadEnd));
    }
    bool isTextFrame() const {
        return progress.validateText && (frame.header.opcode == code(Opcode::Text) ||
                                         frame.header.opcode == code(Opcode::Continuation));
    }
};

FrameDecoder::FrameDecoder(const DecoderOptions &options)
    : m_options(options)
    , m_state(std::make_unique<State>()) {
    if (m_options.extension)
        m_state->allowedRsv = m_options.extension->rsvBits() & (Rsv1Bit | Rsv2Bit | Rsv3Bit);
}

FrameDecoder::~FrameDecoder() = default;

void FrameDecoder::feed(QByteArrayView data) {
    if (m_nextOutput != 0 && m_nextOutput == m_outputs.size()) {
        // All taken through next(): released only now, since next() hands out references.
        m_outputs.clear();
        m_nextOutput = 0;
    }
    const qint64 end = m_offset + data.size();
    if (!m_failed && !data.isEmpty())
        m_state->feed(*this, data.data(), data.data() + data.size());
    // After a violation the rest of the bytes are ignored but still counted.
    m_offset = end;
}

DecoderOutput FrameDecoder::takeNext() {
    Q_ASSERT(hasNext());
    if (!hasNext())
        return DecoderOutput{};
    DecoderOutput output = std::move(m_outputs[m_nextOutput]);
    if (++m_nextOutput == m_outputs.size()) {
        m_outputs.clear();
        m_nextOutput = 0;
    }
    return output;
}

bool FrameDecoder::isInsideMessage() const {
    return m_state->progress.inMessage;
}

quint64 FrameDecoder::payloadBytesLeft() const {
    const State &s = *m_state;
    return s.reading == State::Reading::Payload ? s.frame.header.payloadLength - s.received : 0;
}

void FrameDecoder::fail(ProtocolError error, QString reason, qint64 offset, ViolationFrame frame) {
    m_failed = true;
    m_outputs.emplace_back(ProtocolViolation{error, std::move(reason), offset, std::move(frame)});
}

void FrameDecoder::State::feed(FrameDecoder &d, const char *p, const char *end) {
    runRefused = false;
    while (p < end && !d.m_failed) {
        if (reading == Reading::Payload) {
            consumePayload(d, p, end);
        } else if (sinkFrameRun(d, p, end)) {
            continue;
        } else if (gatherHeader(d, p, end) && !sinkWholeFrame(d, p, end) &&
                   !takeWholeMessage(d, p, end)) {
            startFrame(d);
        }
    }
}

// A single-frame message whose payload is all in the view, when its frame is not
// to be output: straight to a DecodedMessage, without the per-frame bookkeeping of
// startFrame(), consumePayload() and finishFrame(). Anything else, and a text
// message that is not valid UTF-8 (so the usual path reports where it breaks),
// takes the usual path.
bool FrameDecoder::State::takeWholeMessage(FrameDecoder &d, const char *&p, const char *end) {
    const quint8 b0 = raw.bytes[0];
    const quint8 op = unpackByte0(b0).opcode;
    // FIN set, no RSV bit (nothing for an extension), a text or binary opcode.
    if ((b0 & (FinBit | RsvBitsMask)) != FinBit ||
        (op != code(Opcode::Text) && op != code(Opcode::Binary)) || d.m_options.reportDataFrames ||
        closeSeen || progress.inMessage || !frame.notes.isEmpty())
        return false;
    const quint64 length = frame.header.payloadLength;
    if (quint64(end - p) < length)
        return false;
    const auto size = qsizetype(length);
    const auto type = static_cast<Opcode>(op);
    // A small message for the sink needs no buffer of its own: it lives on the stack
    // for the length of the call.
    std::array<char, SinkStackBytes> stackBuffer;
    // An output not yet taken (a ping before this message, say) keeps its place: the
    // message then follows it as an output, for the caller to pass on.
    const bool sink = d.m_messageSink && !d.hasNext();
    const bool onStack = sink && size <= qsizetype(stackBuffer.size());
    QByteArray data;
    char *target = stackBuffer.data();
    if (size > 0 && !onStack) {
        data = QByteArray(size, Qt::Uninitialized);
        target = data.data();
    }
    if (size > 0) {
        if (byte1().masked) {
            // RFC 6455 §5.3: unmasked on the way out of the caller's buffer.
            copyWithMask(target, p, size, maskingKeyAt(raw.bytes.data() + lengthEnd));
        } else {
            std::memcpy(target, p, size_t(size));
        }
        // RFC 6455 §8.1: text must be UTF-8; the usual path finds the failing byte.
        if (op == code(Opcode::Text) && !Utf8Validator::isValid(QByteArrayView(target, size)))
            return false;
    }
    p += size;
    d.m_offset += size;
    raw.size = 0;
    if (sink) {
        d.m_messageSink(type, QByteArrayView(target, size));
        return true;
    }
    // Braced, not parenthesised, aggregate initialisation: clang 14 (the fuzz build)
    // lacks the latter.
    d.m_outputs.emplace_back(DecodedMessage{
        .type = type, .data = std::move(data), .wireSize = size, .streamOffset = frameOffset});
    return true;
}

// A data frame whose payload is all in the view, for the frame sink: unmasked once
// (on words) into a buffer on the stack or, when large, into one allocation the sink
// may take, checked as the usual path would check it, and handed over. Anything the
// usual path must report (a note, a frame after the close, invalid UTF-8, an output
// waiting) takes the usual path, which then finds the same violation or output.
bool FrameDecoder::State::sinkWholeFrame(FrameDecoder &d, const char *&p, const char *end) {
    const auto [fin, rsv, op] = byte0();
    if (!d.m_frameSink || rsv != 0 || isControl(Opcode(op)) || closeSeen ||
        !frame.notes.isEmpty() || d.hasNext())
        return false;
    const quint64 length = frame.header.payloadLength;
    if (quint64(end - p) < length)
        return false;
    const auto size = qsizetype(length);
    std::array<char, SinkStackBytes> stackBuffer;
    QByteArray heap;
    char *target = stackBuffer.data();
    if (size > qsizetype(stackBuffer.size())) {
        heap = QByteArray(size, Qt::Uninitialized);
        target = heap.data();
    }
    // A flag and a value, not an optional: see the header below.
    const bool masked = byte1().masked;
    const quint32 key = masked ? maskingKeyAt(raw.bytes.data() + lengthEnd) : 0;
    if (size > 0) {
        // RFC 6455 §5.3: unmasked on the way out of the caller's buffer.
        if (masked)
            copyWithMask(target, p, size, key);
        else
            std::memcpy(target, p, size_t(size));
    }
    const bool first = op != code(Opcode::Continuation);
    const bool text = first ? op == code(Opcode::Text) : progress.validateText;
    Utf8Validator validator;
    if (text) {
        // RFC 6455 §8.1: fail fast, and a message may not end inside a character.
        if (!first)
            validator = progress.textValidator;
        if (validator.feed(QByteArrayView(target, size)) == Utf8Validator::Status::Invalid ||
            (fin && !validator.isCompleteAndValid()))
            return false;
    }
    progress.advance(op, fin, text, validator, size, frameOffset);
    if (first) {
        messageRsv = 0;
        // Read by finishMessage() only: a message that ends with this frame needs none.
        if (!fin)
            messageFirstHeader = raw;
    }
    // Field by field from what is in registers, not copies of whole structs: their
    // bytes were just stored one by one, and a wide load of them right after waits
    // for the stores (no store forwarding), a cost paid on every frame here.
    FrameHeader header;
    header.fin = fin;
    header.rsv1 = header.rsv2 = header.rsv3 = false; // rsv == 0, checked above
    header.opcode = op;
    if (masked)
        header.maskingKey.emplace(key);
    header.payloadLength = length;
    header.lengthEncoding = frame.header.lengthEncoding;
    frame.header.reset();
    p += size;
    d.m_offset += size;
    // The sink cannot reach this decoder: raw keeps its bytes for a refused frame.
    const quint8 rawSize = raw.size;
    raw.size = 0;
    if (d.m_frameSink(header, QByteArrayView(target, size), heap.isNull() ? nullptr : &heap))
        return true;
    DecodedFrame refused;
    refused.header = header;
    refused.rawHeader = raw;
    refused.rawHeader.size = rawSize;
    refused.payload = heap.isNull() ? QByteArray(target, size) : std::move(heap);
    refused.streamOffset = frameOffset;
    d.m_outputs.emplace_back(std::move(refused));
    return true;
}

// Whole data frames in a row for the run sink (FrameDecoder::setRunSink): each is
// checked as isPlainShortDataFrame() and sinkWholeFrame() would check it, on a copy
// of the message state that is kept only when the sink takes the run. Returns false
// when no frame qualifies or the sink refuses; the frame at `p` then takes the usual
// path, which finds the same violation or makes the same output.
bool FrameDecoder::State::sinkFrameRun(FrameDecoder &d, const char *&p, const char *end) {
    if (!d.m_runSink || runRefused || raw.size != 0 || closeSeen || d.hasNext() ||
        !frame.notes.isEmpty() || allowedRsv != 0)
        return false;
    // Without a frame sink the decoder gathers messages itself: a run then holds whole
    // single-frame messages only, between messages.
    const bool wholeMessagesOnly = !d.m_frameSink;
    if (wholeMessagesOnly && progress.inMessage)
        return false;
    const bool masked = d.m_options.role == Role::Server;
    const quint64 maxMessage = quint64(std::max<qint64>(d.m_options.maxMessageSize, 0));
    // The message as the frames move it, kept only if the run is taken.
    Progress run = progress;
    bool startedMessage = false;
    const char *firstHeaderOfOpenMessage = nullptr; // of a message the run leaves open
    std::array<char, SinkStackBytes> unmasked;
    const char *q = p;
    // The usual run first: whole binary messages with 7-bit lengths, between messages.
    // Byte 0 is then FIN and the opcode alone, and no length can pass the message limit.
    // The loop below would take them too, moving `run` on for each; only the last one's
    // move is kept, so it is made once.
    if (!run.inMessage && maxMessage >= MaxLength7) {
        // Bytes 0 and 1 as one little-endian word: all of byte 0 and the mask bit.
        constexpr quint16 checkedBits = quint16(MaskBit) << 8 | 0xFF;
        const quint16 expected =
            quint16((masked ? MaskBit : 0) << 8 | FinBit | code(Opcode::Binary));
        const qsizetype headerBytes = masked ? 6 : 2;
        const char *last = nullptr;
        while (end - q >= 2) {
            const auto bytes01 = qFromLittleEndian<quint16>(q);
            const qsizetype size = (bytes01 >> 8) & Length7Mask;
            if ((bytes01 & checkedBits) != expected || size > MaxLength7 ||
                end - q < headerBytes + size)
                break;
            last = q;
            q += headerBytes + size;
        }
        if (last) {
            run.advance(code(Opcode::Binary), true, false, Utf8Validator(), q - last - headerBytes,
                        d.m_offset + (last - p));
            startedMessage = true;
        }
    }
    while (end - q >= 2) {
        const auto [fin, rsv, op] = unpackByte0(quint8(q[0]));
        const auto [frameMasked, length7] = unpackByte1(quint8(q[1]));
        if (rsv != 0 || frameMasked != masked || length7 == Length7Extended64)
            break;
        qsizetype size = length7;
        int headerBytes = 2;
        if (length7 == Length7Extended16) {
            if (end - q < 4)
                break;
            size = qFromBigEndian<quint16>(q + 2);
            // RFC 6455 §5.2: a length under 126 in the 16-bit field is not minimal.
            if (size <= MaxLength7)
                break;
            headerBytes = 4;
        }
        if (masked)
            headerBytes += 4;
        if (size > qsizetype(SinkStackBytes) || end - q < headerBytes + size)
            break;
        const bool first = op != code(Opcode::Continuation);
        if (first ? (op != code(Opcode::Text) && op != code(Opcode::Binary)) || run.inMessage
                  : !run.inMessage)
            break;
        if (wholeMessagesOnly && !fin)
            break;
        if ((first ? 0 : quint64(run.wireSize)) + quint64(size) > maxMessage)
            break;
        const bool text = first ? op == code(Opcode::Text) : run.validateText;
        Utf8Validator validator;
        if (text) {
            // RFC 6455 §8.1: fail fast, and a message may not end inside a character.
            const char *payload = q + headerBytes;
            if (masked && size > 0) {
                copyWithMask(unmasked.data(), payload, size,
                             maskingKeyAt(reinterpret_cast<const quint8 *>(q) + headerBytes - 4));
                payload = unmasked.data();
            }
            if (!first)
                validator = run.textValidator;
            if (validator.feed(QByteArrayView(payload, size)) == Utf8Validator::Status::Invalid ||
                (fin && !validator.isCompleteAndValid()))
                break;
        }
        run.advance(op, fin, text, validator, size, d.m_offset + (q - p));
        if (first) {
            startedMessage = true;
            firstHeaderOfOpenMessage = fin ? nullptr : q;
        }
        q += headerBytes + size;
    }
    if (q == p)
        return false;
    if (!d.m_runSink(QByteArrayView(p, q - p))) {
        // Not asked again in this feed(), so that the frames go one by one without
        // being checked as a run again before each.
        runRefused = true;
        return false;
    }
    progress = run;
    if (startedMessage)
        messageRsv = 0;
    if (firstHeaderOfOpenMessage) {
        // Read by finishMessage() only, as sinkWholeFrame() keeps it.
        const int size = ws::headerSize(unpackByte1(quint8(firstHeaderOfOpenMessage[1])));
        messageFirstHeader = RawHeaderBytes{};
        std::memcpy(messageFirstHeader.bytes.data(), firstHeaderOfOpenMessage, size_t(size));
        messageFirstHeader.size = quint8(size);
    }
    d.m_offset += q - p;
    p = q;
    return true;
}

// The header is checked in wire order, each rule as soon as the byte that shows it
// is in, so the same violation comes out whatever the chunking.
bool FrameDecoder::State::gatherHeader(FrameDecoder &d, const char *&p, const char *end) {
    if (raw.size == 0 && end - p >= 2) {
        // The usual case: the whole header is in the view. Parsed in place, the rules
        // checked in the same wire order as below, so the outcome does not depend on it.
        const int size = ws::headerSize(unpackByte1(quint8(p[1])));
        if (end - p >= size) {
            raw = RawHeaderBytes{};
            std::memcpy(raw.bytes.data(), p, size_t(size));
            raw.size = quint8(size);
            frameOffset = d.m_offset;
            p += size;
            d.m_offset += size;
            if (isPlainShortDataFrame(d))
                return true;
            if (!checkFirstByte(d) || !checkSecondByte(d))
                return false;
            if (lengthEnd == Length64End && (raw.bytes[2] & Length64MsbBit) != 0) {
                failLengthMsb(d);
                return false;
            }
            return checkLength(d);
        }
    }
    if (raw.size == 0) {
        raw = RawHeaderBytes{}; // no bytes of a longer previous header linger past size
        frameOffset = d.m_offset;
        raw.bytes[0] = quint8(*p++);
        raw.size = 1;
        ++d.m_offset;
        if (!checkFirstByte(d) || p == end)
            return false;
    }
    if (raw.size == 1) {
        raw.bytes[1] = quint8(*p++);
        raw.size = 2;
        ++d.m_offset;
        if (!checkSecondByte(d) || (lengthEnd == 2 && !checkLength(d)))
            return false;
    }
    while (raw.size < headerSize) {
        // Stops: after byte 2 of a 64-bit length (its MSB), the length, the key.
        const int target = lengthEnd == Length64End && raw.size < 3 ? 3
                           : raw.size < lengthEnd                   ? lengthEnd
                                                                    : headerSize;
        const char *const start = p;
        while (raw.size < target && p < end)
            raw.bytes[raw.size++] = quint8(*p++);
        d.m_offset += p - start;
        if (raw.size < target)
            return false;
        if (target == 3 && (raw.bytes[2] & Length64MsbBit) != 0) {
            failLengthMsb(d);
            return false;
        }
        if (target == lengthEnd && !checkLength(d))
            return false;
    }
    return true;
}

// A data frame with a 7-bit length that breaks no rule, recognised in one go; what
// it sets is what checkFirstByte(), checkSecondByte() and checkLength() would set.
// Anything else goes through them, for the exact violation or note.
bool FrameDecoder::State::isPlainShortDataFrame(const FrameDecoder &d) {
    const auto [fin, rsv, op] = byte0();
    const auto [masked, length7] = byte1();
    const quint64 length = length7;
    if (length > MaxLength7 || masked != (d.m_options.role == Role::Server) ||
        (rsv & ~allowedRsv) != 0)
        return false;
    quint64 before = 0;
    if (op == code(Opcode::Text) || op == code(Opcode::Binary)) {
        if (progress.inMessage)
            return false;
    } else if (op == code(Opcode::Continuation)) {
        if (!progress.inMessage || rsv != 0)
            return false;
        before = quint64(progress.wireSize);
    } else {
        return false;
    }
    if (before + length > quint64(std::max<qint64>(d.m_options.maxMessageSize, 0)))
        return false;
    lengthEnd = 2;
    headerSize = raw.size;
    frame.header.payloadLength = length;
    frame.header.lengthEncoding = LengthEncoding::Short7;
    return true;
}

void FrameDecoder::State::failLengthMsb(FrameDecoder &d) {
    // RFC 6455 §5.2: "the most significant bit MUST be 0".
    d.fail(ProtocolError::LengthMostSignificantBit,
           QStringLiteral("64-bit payload length starts with byte %1: its most "
                          "significant bit must be 0 (RFC 6455 §5.2)")
               .arg(hexByte(raw.bytes[2])),
           frameOffset + 2, headerFrame(3));
}

bool FrameDecoder::State::checkFirstByte(FrameDecoder &d) {
    const auto [fin, rsv, op] = byte0();
    const quint8 allowed = allowedRsv;

    // RFC 6455 §5.2: RSV bits MUST be 0 unless an extension defines them.
    if ((rsv & ~allowed) != 0) {
        const quint8 bad = rsv & quint8(~allowed);
        d.fail(ProtocolError::ReservedBitsSet,
               QStringLiteral("%1 set on a %2 frame, but no negotiated extension defines %3 "
                              "(RFC 6455 §5.2)")
                   .arg(rsvNames(bad), frameKind(op),
                        (bad & (bad - 1)) ? QStringLiteral("them") : QStringLiteral("it")),
               frameOffset, headerFrame(1));
        return false;
    }
    if (isReservedOpcode(op)) {
        d.fail(ProtocolError::ReservedOpcode,
               QStringLiteral("opcode 0x%1 is reserved (RFC 6455 §5.2)").arg(op, 0, 16),
               frameOffset, headerFrame(1));
        return false;
    }
    if (isControlFrame()) {
        // RFC 7692 §6: control frames are never compressed.
        if (rsv != 0) {
            d.fail(ProtocolError::CompressedControlFrame,
                   QStringLiteral("%1 set on a %2 frame; control frames are never compressed "
                                  "(RFC 7692 §6)")
                       .arg(rsvNames(rsv), frameKind(op)),
                   frameOffset, headerFrame(1));
            return false;
        }
        // RFC 6455 §5.5: "Control frames themselves MUST NOT be fragmented."
        if (!fin) {
            d.fail(ProtocolError::FragmentedControlFrame,
                   QStringLiteral("%1 frame has FIN clear; control frames must not be "
                                  "fragmented (RFC 6455 §5.5)")
                       .arg(frameKind(op)),
                   frameOffset, headerFrame(1));
            return false;
        }
        return true;
    }
    // RFC 6455 §5.4: a continuation needs a message in progress, a new data frame
    // needs none.
    if (op == code(Opcode::Continuation)) {
        if (!progress.inMessage) {
            d.fail(ProtocolError::UnexpectedContinuation,
                   QStringLiteral("continuation frame, but no fragmented message is in "
                                  "progress (RFC 6455 §5.4)"),
                   frameOffset, headerFrame(1));
            return false;
        }
        if (rsv != 0) {
            d.fail(ProtocolError::CompressedContinuation,
                   QStringLiteral("%1 set on a continuation frame; only the first frame of a "
                                  "message carries it (RFC 7692 §6)")
                       .arg(rsvNames(rsv)),
                   frameOffset, headerFrame(1));
            return false;
        }
        return true;
    }
    if (progress.inMessage) {
        d.fail(ProtocolError::ExpectedContinuation,
               QStringLiteral("%1 frame while a fragmented %2 message is in progress; a "
                              "continuation frame was expected (RFC 6455 §5.4)")
                   .arg(frameKind(op), QString::fromLatin1(opcodeName(progress.type))),
               frameOffset, headerFrame(1));
        return false;
    }
    return true;
}

bool FrameDecoder::State::checkSecondByte(FrameDecoder &d) {
    const auto [masked, length7] = byte1();
    // RFC 6455 §5.1: a server MUST close on an unmasked frame, a client on a masked one.
    if (d.m_options.role == Role::Server && !masked) {
        d.fail(ProtocolError::UnmaskedClientFrame,
               QStringLiteral("%1 frame from the client is not masked; a client must mask "
                              "every frame (RFC 6455 §5.1)")
                   .arg(frameKind(opcode())),
               frameOffset + 1, headerFrame(2));
        return false;
    }
    if (d.m_options.role == Role::Client && masked) {
        d.fail(ProtocolError::MaskedServerFrame,
               QStringLiteral("%1 frame from the server is masked; a server must not mask "
                              "frames (RFC 6455 §5.1)")
                   .arg(frameKind(opcode())),
               frameOffset + 1, headerFrame(2));
        return false;
    }
    lengthEnd = lengthEndFor(length7);
    headerSize = lengthEnd + (masked ? 4 : 0);
    return true;
}

bool FrameDecoder::State::checkLength(FrameDecoder &d) {
    quint64 length = byte1().length7;
    LengthEncoding encoding = LengthEncoding::Short7;
    if (lengthEnd == Length16End) {
        length = quint64(raw.bytes[2]) << 8 | raw.bytes[3];
        encoding = LengthEncoding::Extended16;
    } else if (lengthEnd == Length64End) {
        length = 0;
        for (int i = 2; i < 10; ++i)
            length = length << 8 | raw.bytes[i];
        encoding = LengthEncoding::Extended64;
    }
    frame.header.payloadLength = length;
    frame.header.lengthEncoding = encoding;
    const quint8 op = opcode();
    const qint64 lengthOffset = frameOffset + 1;

    // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
    if (isControlFrame() && length > MaxLength7) {
        d.fail(ProtocolError::ControlFrameTooLong,
               QStringLiteral("%1 frame payload is %2 bytes; the limit is 125 (RFC 6455 §5.5)")
                   .arg(frameKind(op))
                   .arg(length),
               lengthOffset, headerFrame(lengthEnd));
        return false;
    }
    // RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length".
    if (encoding != minimalEncoding(length)) {
        const QString text =
            QStringLiteral("payload length %1 is written in %2; the minimal encoding is %3 "
                           "(RFC 6455 §5.2)")
                .arg(length)
                .arg(encodingName(encoding), encodingName(minimalEncoding(length)));
        if (d.m_options.conformance == Conformance::Strict) {
            d.fail(ProtocolError::NonMinimalLength, text, lengthOffset, headerFrame(lengthEnd));
            return false;
        }
        frame.notes.append({ConformanceNote::Kind::NonMinimalLength, text, frameOffset});
    }
    // RFC 6455 §5.5.1: a close payload is empty or starts with a 2-byte code.
    if (op == code(Opcode::Close) && length == 1) {
        d.fail(ProtocolError::CloseFrameOneByte,
               QStringLiteral("close frame payload is 1 byte; it must be empty or start with a "
                              "2-byte status code (RFC 6455 §5.5.1)"),
               lengthOffset, headerFrame(lengthEnd));
        return false;
    }
    // Checked before anything is allocated for the payload.
    if (!isControlFrame()) {
        const quint64 limit = quint64(std::max<qint64>(d.m_options.maxMessageSize, 0));
        const quint64 before = op == code(Opcode::Continuation) ? quint64(progress.wireSize) : 0;
        if (length > limit || before > limit - length) {
            const QString total = before + length < before ? QStringLiteral("more than 2^64")
                                                           : QString::number(before + length);
            d.fail(ProtocolError::MessageTooBig,
                   before == 0
                       ? QStringLiteral("%1 frame announces %2 bytes; the maximum message size "
                                        "is %3 (RFC 6455 §7.4.1, 1009)")
                             .arg(frameKind(op), total)
                             .arg(limit)
                       : QStringLiteral("continuation frame brings the message to %1 bytes; the "
                                        "maximum message size is %2 (RFC 6455 §7.4.1, 1009)")
                             .arg(total)
                             .arg(limit),
                   lengthOffset, headerFrame(lengthEnd));
            return false;
        }
    }
    return true;
}

void FrameDecoder::State::startFrame(FrameDecoder &d) {
    FrameHeader &header = frame.header;
    header.setByte0(byte0());
    if (byte1().masked)
        header.maskingKey = maskingKeyAt(raw.bytes.data() + lengthEnd);
    frame.rawHeader = raw;
    frame.streamOffset = frameOffset;
    raw.size = 0;

    const quint8 op = header.opcode;
    if (op == code(Opcode::Text) || op == code(Opcode::Binary)) {
        progress.inMessage = true;
        progress.type = static_cast<Opcode>(op);
        messageRsv = header.rsvBits();
        progress.validateText = progress.type == Opcode::Text && messageRsv == 0;
        progress.frameCount = 0;
        progress.wireSize = 0;
        progress.offset = frameOffset;
        messageFirstHeader = frame.rawHeader;
        progress.textValidator.reset();
        progress.textFed = 0;
    } else if (op == code(Opcode::Close)) {
        closeCode = 0;
        closeReasonValidator.reset();
        closeReasonFed = 0;
        closeReasonInvalid = false;
    }

    received = 0;
    reading = Reading::Payload;
    if (header.payloadLength == 0)
        finishFrame(d);
    else if (goesInPieces(d))
        inPieces = true;
    else // exactly the announced size, already checked against the limit
        frame.payload = QByteArray(qsizetype(header.payloadLength), Qt::Uninitialized);
}

// What the frame sink would take once whole (sinkWholeFrame(), sinkFrame()) may go to
// the piece sink instead, except a text message's frames: a piece that went on cannot
// be called back, so a text frame is gathered and its UTF-8 checked before any of it
// goes (RFC 6455 §8.1). A violation then always comes between frames, where the
// sink's owner can still answer it with a close frame on the other side.
bool FrameDecoder::State::goesInPieces(const FrameDecoder &d) const {
    if (!d.m_pieceSink || isControl(frame.header.op()) || frame.header.rsvBits() != 0 ||
        progress.type == Opcode::Text || closeSeen || !frame.notes.isEmpty() || d.hasNext())
        return false;
    // Without a frame sink the decoder gathers messages itself: only a whole message
    // of one frame goes in pieces, for the sink's owner to report.
    return d.m_frameSink || (frame.header.op() == Opcode::Binary && frame.header.fin);
}

// The bytes of a frame going in pieces, as far as they are in the view, handed on as
// they are, masked (the sink's owner unmasks them on its way out).
void FrameDecoder::State::consumePiece(FrameDecoder &d, const char *&p, const char *end) {
    const quint64 length = frame.header.payloadLength;
    const qint64 count = qint64(std::min<quint64>(length - received, quint64(end - p)));
    if (!d.m_pieceSink(frame.header, received, QByteArrayView(p, count))) {
        Q_ASSERT(received == 0);
        inPieces = false;
        frame.payload = QByteArray(qsizetype(length), Qt::Uninitialized);
        consumePayload(d, p, end);
        return;
    }
    p += count;
    d.m_offset += count;
    received += quint64(count);
    if (received == length)
        finishPieces();
}

// The last piece went: the message moves on as sinkFrame() moves it.
void FrameDecoder::State::finishPieces() {
    reading = Reading::Header;
    inPieces = false;
    ++progress.frameCount;
    progress.wireSize += qint64(frame.header.payloadLength);
    if (frame.header.fin) {
        progress.inMessage = false;
        messageData = QByteArray();
    }
    frame.header.reset();
}

void FrameDecoder::State::failInvalidText(FrameDecoder &d, quint8 byte, qint64 offsetInMessage,
                                          qint64 streamOffset, ViolationFrame violating) {
    d.fail(ProtocolError::InvalidUtf8,
           QStringLiteral("text message is not valid UTF-8: byte %1 at message offset "
                          "%2 cannot appear there (RFC 6455 §8.1)")
               .arg(hexByte(byte))
               .arg(offsetInMessage),
           streamOffset, std::move(violating));
}

void FrameDecoder::State::consumePayload(FrameDecoder &d, const char *&p, const char *end) {
    if (inPieces) {
        consumePiece(d, p, end);
        return;
    }
    const quint64 length = frame.header.payloadLength;
    const qint64 count = qint64(std::min<quint64>(length - received, quint64(end - p)));
    char *dst = frame.payload.data() + received;
    // The one copy of the payload: out of the caller's buffer, unmasked on the way
    // (RFC 6455 §5.3), the key's phase carried over from earlier pieces.
    if (frame.header.maskingKey)
        copyWithMask(dst, p, count, *frame.header.maskingKey, received);
    else
        std::memcpy(dst, p, size_t(count));
    const qint64 chunkOffset = d.m_offset;
    p += count;
    d.m_offset += count;
    received += quint64(count);

    if (isTextFrame()) {
        // RFC 6455 §8.1: fail fast, at the first byte that cannot be UTF-8.
        const qint64 fedBefore = progress.textFed;
        progress.textFed += count;
        if (progress.textValidator.feed(QByteArrayView(dst, count)) ==
            Utf8Validator::Status::Invalid) {
            const qint64 inChunk =
                std::max<qint64>(progress.textValidator.errorOffset() - fedBefore, 0);
            failInvalidText(d, quint8(dst[inChunk]), progress.textValidator.errorOffset(),
                            chunkOffset + inChunk,
                            payloadFrame(received - quint64(count - inChunk) + 1));
            return;
        }
    } else if (frame.header.opcode == code(Opcode::Close) &&
               !checkClosePayload(d, dst, count, chunkOffset)) {
        return;
    }
    if (received == length)
        finishFrame(d);
}

bool FrameDecoder::State::checkClosePayload(FrameDecoder &d, const char *chunk, qint64 size,
                                            qint64 chunkOffset) {
    // `chunk` holds payload bytes [received - size, received).
    const quint64 start = received - quint64(size);
    if (start < 2 && received >= 2) {
        const auto *payload = reinterpret_cast<const quint8 *>(frame.payload.constData());
        closeCode = quint16(payload[0] << 8 | payload[1]);
        // RFC 6455 §7.4: codes that must not be on the wire fail the connection.
        if (!isValidOnWire(closeCode)) {
            d.fail(ProtocolError::InvalidCloseCode,
                   QStringLiteral("close code %1 (%2) may not be sent in a close frame "
                                  "(RFC 6455 §7.4)")
                       .arg(closeCode)
                       .arg(QString::fromLatin1(closeCodeMeaning(closeCode))),
                   frameOffset + frame.rawHeader.size, payloadFrame(2));
            return false;
        }
    }
    if (received <= 2 || closeReasonInvalid)
        return true;
    const qint64 skip = start < 2 ? qint64(2 - start) : 0;
    const qint64 fedBefore = closeReasonFed;
    closeReasonFed += size - skip;
    if (closeReasonValidator.feed(QByteArrayView(chunk + skip, size - skip)) !=
        Utf8Validator::Status::Invalid)
        return true;
    // RFC 6455 §5.5.1: the reason is UTF-8; lenient mode only notes it.
    if (d.m_options.conformance == Conformance::Lenient) {
        closeReasonInvalid = true;
        return true;
    }
    const qint64 inChunk =
        skip + std::max<qint64>(closeReasonValidator.errorOffset() - fedBefore, 0);
    d.fail(ProtocolError::InvalidCloseReason,
           QStringLiteral("close reason is not valid UTF-8: byte %1 at reason offset %2 cannot "
                          "appear there (RFC 6455 §5.5.1)")
               .arg(hexByte(quint8(chunk[inChunk])))
               .arg(closeReasonValidator.errorOffset()),
           chunkOffset + inChunk, payloadFrame(start + quint64(inChunk) + 1));
    return false;
}

void FrameDecoder::State::finishFrame(FrameDecoder &d) {
    reading = Reading::Header;
    const quint8 op = frame.header.opcode;
    const qint64 length = qint64(frame.header.payloadLength);

    if (op == code(Opcode::Close) && length >= 2) {
        if (!closeReasonInvalid &&
            closeReasonValidator.status() == Utf8Validator::Status::Incomplete) {
            if (d.m_options.conformance != Conformance::Lenient) {
                d.fail(ProtocolError::InvalidCloseReason,
                       QStringLiteral("close reason ends in the middle of a UTF-8 character "
                                      "(RFC 6455 §5.5.1)"),
                       d.m_offset, payloadFrame(quint64(length)));
                return;
            }
            closeReasonInvalid = true;
        }
        if (closeReasonInvalid) {
            frame.notes.append({ConformanceNote::Kind::InvalidCloseReason,
                                QStringLiteral("close reason is not valid UTF-8 "
                                               "(RFC 6455 §5.5.1)"),
                                frameOffset});
        }
        frame.closeCode = closeCode;
        frame.closeReason = QString::fromUtf8(frame.payload.constData() + 2, length - 2);
    }

    const bool dataFrame = !isControl(Opcode(op));
    if (dataFrame && d.m_frameSink) {
        sinkFrame(d);
        return;
    }
    const bool reported =
        !dataFrame || d.m_options.reportDataFrames || closeSeen || !frame.notes.isEmpty();
    if (dataFrame) {
        ++progress.frameCount;
        progress.wireSize += length;
        lastFrameLength = length;
        if (progress.frameCount == 1)
            firstFrameLength = length;
        // A single-frame message shares the frame's payload (or takes it, when the
        // frame is not output); later fragments are appended (the only second copy,
        // and only for fragmented messages).
        if (progress.frameCount == 1)
            messageData = reported ? frame.payload : std::move(frame.payload);
        else
            messageData.append(frame.payload);
    }
    if (op == code(Opcode::Close))
        closeSeen = true;
    const bool endsMessage = dataFrame && frame.header.fin;
    if (!reported) {
        frame.payload = QByteArray();
        frame.header = FrameHeader{};
        if (endsMessage)
            finishMessage(d);
        return;
    }
    d.m_outputs.emplace_back(std::move(frame));
    // Moved-from Qt containers are empty already; only the plain values need a reset
    // (cheaper than assigning a fresh DecodedFrame, which would destroy and rebuild all).
    frame.header = FrameHeader{};
    frame.closeCode.reset();
    if (endsMessage)
        finishMessage(d);
}

// A data frame whose payload came in pieces, for the frame sink; no message is
// gathered.
void FrameDecoder::State::sinkFrame(FrameDecoder &d) {
    const qint64 length = qint64(frame.header.payloadLength);
    const bool fin = frame.header.fin;
    ++progress.frameCount;
    progress.wireSize += length;
    if (fin && progress.validateText && !progress.textValidator.isCompleteAndValid()) {
        failIncompleteText(d, payloadFrame(quint64(length)));
        return;
    }
    if (fin) {
        progress.inMessage = false;
        // Fragments gathered before the sink was set (a relay sets it once open).
        messageData = QByteArray();
    }
    const bool sinkable = !closeSeen && frame.notes.isEmpty() && !d.hasNext();
    if (!sinkable || !d.m_frameSink(frame.header, frame.payload, &frame.payload))
        d.m_outputs.emplace_back(std::move(frame));
    frame.payload = QByteArray();
    frame.header = FrameHeader{};
    frame.closeCode.reset();
}

void FrameDecoder::State::failIncompleteText(FrameDecoder &d, ViolationFrame violating) {
    // RFC 6455 §8.1: frames may split a character, the message may not.
    d.fail(ProtocolError::InvalidUtf8,
           QStringLiteral("text message ends in the middle of a UTF-8 character "
                          "(RFC 6455 §8.1)"),
           d.m_offset, std::move(violating));
}

void FrameDecoder::State::finishMessage(FrameDecoder &d) {
    progress.inMessage = false;
    DecodedMessage message;
    message.type = progress.type;
    message.frameCount = progress.frameCount;
    message.wireSize = progress.wireSize;
    message.streamOffset = progress.offset;
    message.compressed = messageRsv != 0;
    QByteArray data = std::move(messageData);
    messageData = QByteArray();
    // The frames the violations below concern: `frame` still holds the last one's
    // header bytes and offset (they outlive the move of its payload).
    const auto lastFrame = [&] {
        return violationFrame(frame.rawHeader, frame.rawHeader.size, frame.streamOffset,
                              data.constData() + data.size() - lastFrameLength, lastFrameLength);
    };
    const auto firstFrame = [&] {
        return violationFrame(messageFirstHeader, messageFirstHeader.size, progress.offset,
                              data.constData(), firstFrameLength);
    };

    if (progress.validateText && !progress.textValidator.isCompleteAndValid()) {
        failIncompleteText(d, lastFrame());
        return;
    }
    if (message.compressed) {
        MessageExtension *extension = d.m_options.extension;
        const qint64 limit = std::max<qint64>(d.m_options.maxMessageSize, 0);
        MessageExtension::Decoded decoded = extension->decodeMessage(data, messageRsv, limit);
        if (decoded.error) {
            d.fail(*decoded.error,
                   QStringLiteral("%1: %2").arg(QString::fromLatin1(extension->name()),
                                                describe(*decoded.error)),
                   progress.offset, firstFrame());
            return;
        }
        if (decoded.data.size() > limit) {
            d.fail(ProtocolError::MessageTooBig,
                   QStringLiteral("%1 message is %2 bytes after %3; the maximum message size is "
                                  "%4 (RFC 6455 §7.4.1, 1009)")
                       .arg(QString::fromLatin1(opcodeName(progress.type)))
                       .arg(decoded.data.size())
                       .arg(QString::fromLatin1(extension->name()))
                       .arg(limit),
                   progress.offset, firstFrame());
            return;
        }
        if (progress.type == Opcode::Text) {
            Utf8Validator validator;
            if (validator.feed(decoded.data) != Utf8Validator::Status::Valid) {
                d.fail(ProtocolError::InvalidUtf8,
                       validator.status() == Utf8Validator::Status::Invalid
                           ? QStringLiteral("text message is not valid UTF-8 after %1: byte %2 "
                                            "at message offset %3 cannot appear there "
                                            "(RFC 6455 §8.1)")
                                 .arg(QString::fromLatin1(extension->name()))
                                 .arg(hexByte(quint8(decoded.data[validator.errorOffset()])))
                                 .arg(validator.errorOffset())
                           : QStringLiteral("text message ends in the middle of a UTF-8 "
                                            "character after %1 (RFC 6455 §8.1)")
                                 .arg(QString::fromLatin1(extension->name())),
                       progress.offset, firstFrame());
                return;
            }
        }
        data = std::move(decoded.data);
    }
    if (d.m_messageSink && !d.hasNext()) {
        d.m_messageSink(message.type, data);
        return;
    }
    message.data = std::move(data);
    d.m_outputs.emplace_back(std::move(message));
}

bool PartialHeader::has(HeaderField field) const {
    return std::any_of(spans.begin(), spans.end(),
                       [field](const FieldSpan &span) { return span.field == field; });
}

PartialHeader parsePartialHeader(QByteArrayView bytes) {
    PartialHeader result;
    if (bytes.isEmpty())
        return result;
    RawHeaderBytes raw;
    const int available = int(std::min<qsizetype>(bytes.size(), qsizetype(raw.bytes.size())));
    std::memcpy(raw.bytes.data(), bytes.data(), size_t(available));
    FrameHeader &header = result.header;
    header.setByte0(unpackByte0(raw.bytes[0]));
    if (available < 2) {
        // Byte 0 alone: FIN, RSV1-3 and the opcode.
        result.spans = fieldSpans(header).mid(0, 5);
        return result;
    }
    const HeaderByte1 byte1 = unpackByte1(raw.bytes[1]);
    header.lengthEncoding = lengthEncodingOf(byte1.length7);
    header.payloadLength = byte1.length7;
    const int lengthEnd = lengthEndFor(byte1.length7);
    result.size = ws::headerSize(byte1);
    result.complete = available >= result.size;
    if (available >= lengthEnd && lengthEnd > 2) {
        quint64 length = 0;
        for (int i = 2; i < lengthEnd; ++i)
            length = length << 8 | raw.bytes[i];
        header.payloadLength = length;
    }
    // An unknown key is left at 0; its span is not listed.
    if (byte1.masked)
        header.maskingKey = result.complete ? maskingKeyAt(raw.bytes.data() + lengthEnd) : 0;
    for (const FieldSpan &span : fieldSpans(header)) {
        const bool whole = span.field == HeaderField::Payload
                               ? result.complete
                               : span.firstByte() + span.byteCount() <= quint64(available);
        if (whole)
            result.spans.append(span);
    }
    return result;
}

ClosePayload splitClosePayload(QByteArrayView payload) {
    ClosePayload result;
    if (payload.size() >= 2) {
        const auto *bytes = reinterpret_cast<const quint8 *>(payload.data());
        result.code = quint16(bytes[0] << 8 | bytes[1]);
        result.reason = payload.sliced(2).toByteArray();
    } else {
        // RFC 6455 §5.5.1: no code; a lone byte is malformed and kept as the "reason".
        result.reason = payload.toByteArray();
    }
    return result;
}

} // namespace ws

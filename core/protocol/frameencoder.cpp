#include "frameencoder.h"

#include "extension.h"

#include <QtEndian>

#include <algorithm>
#include <cstring>

namespace ws {

namespace {

// The header straight into `dst` (at least header.size() bytes), exactly as
// serializeHeader() writes it but without the intermediate copy; returns its size.
int writeHeader(char *dst, const FrameHeader &header) {
    auto *b = reinterpret_cast<quint8 *>(dst);
    b[0] = packByte0(header.byte0());
    // A length that does not fit the chosen encoding keeps its low bits (the raw writer).
    b[1] = packByte1(header.byte1());
    const quint64 length = header.payloadLength;
    int size = 2;
    switch (header.lengthEncoding) {
    case LengthEncoding::Short7:
        break;
    case LengthEncoding::Extended16:
        b[2] = quint8(length >> 8);
        b[3] = quint8(length);
        size = 4;
        break;
    case LengthEncoding::Extended64:
        qToBigEndian(length, b + 2);
        size = 10;
        break;
    }
    if (header.maskingKey) {
        // The key goes out in the order masking uses it: key >> 24 masks payload byte 0.
        qToBigEndian(*header.maskingKey, b + size);
        size += 4;
    }
    return size;
}

// Appends the header and the payload, masked on the way when the header has a key.
void appendFrame(QByteArray &out, const FrameHeader &header, QByteArrayView payload) {
    const qsizetype start = out.size();
    out.resize(start + header.size() + payload.size());
    char *dst = out.data() + start;
    dst += writeHeader(dst, header);
    if (payload.isEmpty())
        return;
    if (header.maskingKey)
        copyWithMask(dst, payload.data(), payload.size(), *header.maskingKey);
    else
        std::memcpy(dst, payload.data(), size_t(payload.size()));
}

} // namespace

FrameEncoder::FrameEncoder(Role role, MaskingKeySource keys)
    : m_role(role)
    , m_keys(std::move(keys)) {}

FrameHeader FrameEncoder::makeHeader(Opcode opcode, qint64 payloadSize, bool fin, quint8 rsvBits) {
    FrameHeader header;
    header.fin = fin;
    header.rsv1 = (rsvBits & Rsv1Bit) != 0;
    header.rsv2 = (rsvBits & Rsv2Bit) != 0;
    header.rsv3 = (rsvBits & Rsv3Bit) != 0;
    header.opcode = static_cast<quint8>(opcode);
    header.payloadLength = quint64(payloadSize);
    // RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length".
    header.lengthEncoding = minimalEncoding(header.payloadLength);
    // RFC 6455 §5.3: a client masks every frame with a fresh key; a server never masks.
    if (m_role == Role::Client)
        header.maskingKey = m_keys.next();
    return header;
}

void FrameEncoder::appendFrameRun(QByteArray &out, QByteArrayView wireFrames) {
    const qsizetype start = out.size();
    out.append(wireFrames);
    remaskFrameRun(out.data() + start, wireFrames.size());
}

void FrameEncoder::remaskFrameRun(char *wireFrames, qsizetype size) {
    if (m_role != Role::Client)
        return;
    // Straight from the bytes, with no FrameHeader per frame: a relay comes here for
    // every frame it forwards to a server. The decoder checked the run's frames (whole,
    // each masked), so only the length and the key are read.
    char *frame = wireFrames;
    char *const end = wireFrames + size;
    while (frame < end) {
        Q_ASSERT(unpackByte1(quint8(frame[1])).masked);
        const WholeFrameLayout layout = wholeFrameLayout(frame);
        const auto length = qsizetype(layout.payloadLength);
        char *key = frame + layout.headerSize - 4;
        const quint32 theirs = qFromBigEndian<quint32>(key);
        const quint32 ours = m_keys.next();
        qToBigEndian(ours, key);
        char *payload = key + 4;
        Q_ASSERT(end - payload >= length);
        // RFC 6455 §5.3: the peer's key off and ours on in one pass, with their XOR.
        applyMask(payload, length, theirs ^ ours);
        frame = payload + length;
    }
}

FrameHeader FrameEncoder::encodeFrame(QByteArray &out, Opcode opcode, QByteArrayView payload,
                                      bool fin, quint8 rsvBits) {
    const FrameHeader header = makeHeader(opcode, payload.size(), fin, rsvBits);
    appendFrame(out, header, payload);
    return header;
}

FrameHeader FrameEncoder::encodeFrameHeader(QByteArray &out, Opcode opcode, qint64 payloadSize,
                                            bool fin, quint8 rsvBits) {
    const FrameHeader header = makeHeader(opcode, payloadSize, fin, rsvBits);
    appendFrame(out, header, {});
    return header;
}

QList<FrameHeader> FrameEncoder::encodeMessage(QByteArray &out, Opcode type, QByteArrayView payload,
                                               qint64 fragmentSize) {
    return encodeMessageImpl(out, type, payload, fragmentSize, nullptr);
}

QList<FrameHeader> FrameEncoder::encodeSharedMessage(QByteArray &out, Opcode type,
                                                     const QByteArray &payload,
                                                     qint64 fragmentSize) {
    return encodeMessageImpl(out, type, payload, fragmentSize, &payload);
}

QList<FrameHeader> FrameEncoder::encodeMessageImpl(QByteArray &out, Opcode type,
                                                   QByteArrayView payload, qint64 fragmentSize,
                                                   const QByteArray *shared) {
    QByteArray transformed;
    quint8 rsvBits = 0;
    if (m_extension) {
        // The extension works in place: a shared QByteArray is only copied if it
        // writes into it rather than replacing it.
        transformed = shared ? *shared : payload.toByteArray();
        rsvBits = m_extension->encodeMessage(transformed, type);
        payload = transformed;
    }

    const qint64 total = payload.size();
    const qint64 step = fragmentSize > 0 ? fragmentSize : std::max<qint64>(total, 1);
    const qint64 frames = total == 0 ? 1 : (total + step - 1) / step;
    const int maskBytes = m_role == Role::Client ? 4 : 0;
    out.reserve(out.size() + total + frames * (10 + maskBytes));

    QList<FrameHeader> headers;
    headers.reserve(frames);
    qint64 offset = 0;
    // RFC 6455 §5.4: the first frame carries the opcode, the rest are continuations, the
    // last has FIN. RFC 7692 §6: the extension's bits go on the first frame only.
    for (qint64 i = 0; i < frames; ++i) {
        const qint64 size = std::min(step, total - offset);
        const bool first = i == 0;
        headers.append(encodeFrame(out, first ? type : Opcode::Continuation,
                                   payload.sliced(offset, size), i == frames - 1,
                                   first ? rsvBits : quint8(0)));
        offset += size;
    }
    return headers;
}

namespace {

FrameHeader rawHeader(const RawFrame &frame) {
    FrameHeader header;
    header.fin = frame.fin;
    header.rsv1 = frame.rsv1;
    header.rsv2 = frame.rsv2;
    header.rsv3 = frame.rsv3;
    header.opcode = frame.opcode & OpcodeMask;
    header.maskingKey = frame.maskingKey;
    header.payloadLength = frame.declaredLength.value_or(quint64(frame.payload.size()));
    header.lengthEncoding = frame.lengthEncoding.value_or(minimalEncoding(header.payloadLength));
    return header;
}

} // namespace

FrameHeader FrameEncoder::encodeRaw(QByteArray &out, const RawFrame &frame) {
    const FrameHeader header = rawHeader(frame);
    appendFrame(out, header, frame.payload);
    return header;
}

FrameHeader FrameEncoder::encodeRawHeader(QByteArray &out, const RawFrame &frame) {
    const FrameHeader header = rawHeader(frame);
    appendFrame(out, header, {});
    return header;
}

QByteArray FrameEncoder::closePayload(std::optional<quint16> code, QByteArrayView reasonUtf8) {
    QByteArray payload;
    payload.reserve((code ? 2 : 0) + reasonUtf8.size());
    // RFC 6455 §5.5.1: the status code is a 2-byte unsigned integer in network byte order.
    if (code) {
        payload.append(char(*code >> 8));
        payload.append(char(*code & 0xFF));
    }
    payload.append(reasonUtf8);
    return payload;
}

} // namespace ws

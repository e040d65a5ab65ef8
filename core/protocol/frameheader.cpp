#include "frameheader.h"

namespace ws {

RawHeaderBytes serializeHeader(const FrameHeader &header) {
    RawHeaderBytes raw;
    auto &b = raw.bytes;
    b[0] = packByte0(header.byte0());
    // A length that does not fit the chosen encoding keeps its low bits: the raw
    // writer uses that to put lies on the wire on purpose.
    b[1] = packByte1(header.byte1());
    int size = 2;
    switch (header.lengthEncoding) {
    case LengthEncoding::Short7:
        break;
    case LengthEncoding::Extended16:
        b[2] = quint8(header.payloadLength >> 8);
        b[3] = quint8(header.payloadLength);
        size = 4;
        break;
    case LengthEncoding::Extended64:
        for (int i = 0; i < 8; ++i)
            b[2 + i] = quint8(header.payloadLength >> (56 - 8 * i));
        size = 10;
        break;
    }
    if (header.maskingKey) {
        // The key goes out in the order masking uses it: key >> 24 masks payload byte 0.
        const quint32 key = *header.maskingKey;
        b[size] = quint8(key >> 24);
        b[size + 1] = quint8(key >> 16);
        b[size + 2] = quint8(key >> 8);
        b[size + 3] = quint8(key);
        size += 4;
    }
    raw.size = quint8(size);
    return raw;
}

QList<FieldSpan> fieldSpans(const FrameHeader &header) {
    // Bit offsets of the RFC 6455 §5.2 diagram.
    QList<FieldSpan> spans;
    spans.reserve(10);
    spans.append({HeaderField::Fin, 0, 1});
    spans.append({HeaderField::Rsv1, 1, 1});
    spans.append({HeaderField::Rsv2, 2, 1});
    spans.append({HeaderField::Rsv3, 3, 1});
    spans.append({HeaderField::Opcode, 4, 4});
    spans.append({HeaderField::Mask, 8, 1});
    spans.append({HeaderField::PayloadLength7, 9, 7});
    quint64 bit = 16;
    if (header.lengthEncoding != LengthEncoding::Short7) {
        const quint64 bits = header.lengthEncoding == LengthEncoding::Extended16 ? 16 : 64;
        spans.append({HeaderField::ExtendedLength, bit, bits});
        bit += bits;
    }
    if (header.masked()) {
        spans.append({HeaderField::MaskingKey, bit, 32});
        bit += 32;
    }
    // A declared length beyond 2^61 bytes has no bit count in 64 bits; saturate.
    constexpr quint64 maxBits = ~quint64(0);
    const quint64 payloadBits =
        header.payloadLength > (maxBits - bit) / 8 ? maxBits - bit : header.payloadLength * 8;
    spans.append({HeaderField::Payload, bit, payloadBits});
    return spans;
}

const char *fieldName(HeaderField field) {
    // The names of the RFC 6455 §5.2 diagram.
    switch (field) {
    case HeaderField::Fin:
        return "FIN";
    case HeaderField::Rsv1:
        return "RSV1";
    case HeaderField::Rsv2:
        return "RSV2";
    case HeaderField::Rsv3:
        return "RSV3";
    case HeaderField::Opcode:
        return "Opcode";
    case HeaderField::Mask:
        return "Mask";
    case HeaderField::PayloadLength7:
        return "Payload len";
    case HeaderField::ExtendedLength:
        return "Extended payload length";
    case HeaderField::MaskingKey:
        return "Masking-key";
    case HeaderField::Payload:
        return "Payload Data";
    }
    return "unknown";
}

} // namespace ws

#pragma once

#include "opcode.h"

#include <QList>
#include <QtGlobal>

#include <algorithm>
#include <array>
#include <optional>

namespace ws {

// How the payload length was written on the wire (RFC 6455 §5.2).
enum class LengthEncoding : quint8 {
    Short7 = 7,      // 0-125 in the 7-bit field
    Extended16 = 16, // 126 + 16-bit length
    Extended64 = 64, // 127 + 64-bit length
};

// The smallest encoding that can carry `length`.
constexpr LengthEncoding minimalEncoding(quint64 length) {
    if (length <= 125)
        return LengthEncoding::Short7;
    if (length <= 0xFFFF)
        return LengthEncoding::Extended16;
    return LengthEncoding::Extended64;
}

constexpr int headerSize(LengthEncoding encoding, bool masked) {
    const int base = encoding == LengthEncoding::Short7       ? 2
                     : encoding == LengthEncoding::Extended16 ? 4
                                                              : 10;
    return base + (masked ? 4 : 0);
}

// One frame header as it was (or will be) on the wire. A plain value.
struct FrameHeader {
    bool fin = true;
    bool rsv1 = false;
    bool rsv2 = false;
    bool rsv3 = false;
    quint8 opcode = 0x1; // raw 4-bit value: may be a reserved opcode
    // The MASK bit is set exactly when a key is present; an all-zero key is still a key.
    std::optional<quint32> maskingKey;
    quint64 payloadLength = 0;
    LengthEncoding lengthEncoding = LengthEncoding::Short7;

    bool masked() const { return maskingKey.has_value(); }
    Opcode op() const { return static_cast<Opcode>(opcode); }
    quint8 rsvBits() const { return quint8((rsv1 ? 4 : 0) | (rsv2 ? 2 : 0) | (rsv3 ? 1 : 0)); }
    int size() const { return headerSize(lengthEncoding, masked()); }

    bool operator==(const FrameHeader &) const = default;
};

// RSV bit masks as used by FrameHeader::rsvBits() and extension negotiation.
inline constexpr quint8 Rsv1Bit = 4;
inline constexpr quint8 Rsv2Bit = 2;
inline constexpr quint8 Rsv3Bit = 1;

// The bytes of a header as they were on the wire: at most 14.
struct RawHeaderBytes {
    std::array<quint8, 14> bytes{};
    quint8 size = 0;

    QByteArray toByteArray() const {
        return QByteArray(reinterpret_cast<const char *>(bytes.data()), size);
    }
    // Only the first `size` bytes are the header; whatever follows does not count.
    bool operator==(const RawHeaderBytes &other) const {
        return size == other.size &&
               std::equal(bytes.begin(), bytes.begin() + size, other.bytes.begin());
    }
};

// Writes the header exactly as described (the caller chose the encoding, so a
// non-minimal length is possible; a length too big for the chosen encoding keeps
// its low bits). Returns the bytes.
RawHeaderBytes serializeHeader(const FrameHeader &header);

// The fields of a header, for the inspector's field table, bit diagram and hex view.
enum class HeaderField : quint8 {
    Fin,
    Rsv1,
    Rsv2,
    Rsv3,
    Opcode,
    Mask,
    PayloadLength7, // the 7-bit length field (which may hold 126 or 127)
    ExtendedLength, // the 16- or 64-bit extended length, when present
    MaskingKey,     // when present
    Payload,
};

// A run of bits inside a frame: offsets count bits from the first header bit,
// most significant bit of each byte first, as in the RFC 6455 §5.2 diagram.
struct FieldSpan {
    HeaderField field = HeaderField::Fin;
    quint64 bitOffset = 0;
    quint64 bitLength = 0;

    quint64 firstByte() const { return bitOffset / 8; }
    quint64 byteCount() const { return (bitOffset + bitLength + 7) / 8 - firstByte(); }
    bool operator==(const FieldSpan &) const = default;
};

// Every field of this header, in wire order, ending with the payload's span.
QList<FieldSpan> fieldSpans(const FrameHeader &header);

const char *fieldName(HeaderField field);

} // namespace ws

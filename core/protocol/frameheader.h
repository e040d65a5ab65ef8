#pragma once

#include "opcode.h"

#include <QList>
#include <QtEndian>
#include <QtGlobal>

#include <algorithm>
#include <array>
#include <optional>

namespace ws {

// RFC 6455 §5.2: the first two bytes of every frame header.
//
//    0                   1
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//   +-+-+-+-+-------+-+-------------+
//   |F|R|R|R| opcode|M| Payload len |
//   |I|S|S|S|  (4)  |A|     (7)     |
//   |N|V|V|V|       |S|             |
//   | |1|2|3|       |K|             |
//   +-+-+-+-+-------+-+-------------+
inline constexpr quint8 FinBit = 0x80;      // byte 0
inline constexpr quint8 RsvBitsMask = 0x70; // byte 0: RSV1-3
inline constexpr int RsvBitsShift = 4;      // byte 0: RSV1-3 down to Rsv1Bit | Rsv2Bit | Rsv3Bit
inline constexpr quint8 OpcodeMask = 0x0F;  // byte 0
inline constexpr quint8 MaskBit = 0x80;     // byte 1
inline constexpr quint8 Length7Mask = 0x7F; // byte 1

// RSV1-3 as a 3-bit value, as used by FrameHeader::rsvBits() and extension negotiation.
inline constexpr quint8 Rsv1Bit = 4;
inline constexpr quint8 Rsv2Bit = 2;
inline constexpr quint8 Rsv3Bit = 1;

// The 7-bit length field: the length itself up to 125, else which extended length follows.
inline constexpr quint8 MaxLength7 = 125;
inline constexpr quint8 Length7Extended16 = 126;
inline constexpr quint8 Length7Extended64 = 127;
// RFC 6455 §5.2: the most significant bit of a 64-bit length MUST be 0; it is the top
// bit of the first extended-length byte.
inline constexpr quint8 Length64MsbBit = 0x80;

// Byte 0, unpacked.
struct HeaderByte0 {
    bool fin = true;
    quint8 rsv = 0;      // Rsv1Bit | Rsv2Bit | Rsv3Bit
    quint8 opcode = 0x1; // raw 4-bit value: may be a reserved opcode

    bool operator==(const HeaderByte0 &) const = default;
};

// Bits beyond a field's width (rsv above 7, opcode above 15) are dropped.
constexpr quint8 packByte0(HeaderByte0 fields) {
    return quint8((fields.fin ? FinBit : 0) | ((fields.rsv << RsvBitsShift) & RsvBitsMask) |
                  (fields.opcode & OpcodeMask));
}

constexpr HeaderByte0 unpackByte0(quint8 byte) {
    return {(byte & FinBit) != 0, quint8((byte & RsvBitsMask) >> RsvBitsShift),
            quint8(byte & OpcodeMask)};
}

// Byte 1, unpacked.
struct HeaderByte1 {
    bool masked = false;
    quint8 length7 = 0; // the length up to 125; 126 and 127 announce an extended length

    bool operator==(const HeaderByte1 &) const = default;
};

// A length7 above 127 keeps its low 7 bits.
constexpr quint8 packByte1(HeaderByte1 fields) {
    return quint8((fields.masked ? MaskBit : 0) | (fields.length7 & Length7Mask));
}

constexpr HeaderByte1 unpackByte1(quint8 byte) {
    return {(byte & MaskBit) != 0, quint8(byte & Length7Mask)};
}

// How the payload length was written on the wire (RFC 6455 §5.2).
enum class LengthEncoding : quint8 {
    Short7 = 7,      // 0-125 in the 7-bit field
    Extended16 = 16, // 126 + 16-bit length
    Extended64 = 64, // 127 + 64-bit length
};

// The smallest encoding that can carry `length`.
constexpr LengthEncoding minimalEncoding(quint64 length) {
    if (length <= MaxLength7)
        return LengthEncoding::Short7;
    if (length <= 0xFFFF)
        return LengthEncoding::Extended16;
    return LengthEncoding::Extended64;
}

// The encoding the 7-bit length field announces.
constexpr LengthEncoding lengthEncodingOf(quint8 length7) {
    return length7 == Length7Extended16   ? LengthEncoding::Extended16
           : length7 == Length7Extended64 ? LengthEncoding::Extended64
                                          : LengthEncoding::Short7;
}

// What goes in the 7-bit length field. A length too big for the 7-bit field keeps
// its low bits (the raw writer puts lies on the wire on purpose).
constexpr quint8 length7For(LengthEncoding encoding, quint64 length) {
    return encoding == LengthEncoding::Extended16   ? Length7Extended16
           : encoding == LengthEncoding::Extended64 ? Length7Extended64
                                                    : quint8(length & Length7Mask);
}

// The bytes of the extended length after byte 1: 0, 2 or 8.
constexpr int extendedLengthSize(LengthEncoding encoding) {
    return encoding == LengthEncoding::Extended16   ? 2
           : encoding == LengthEncoding::Extended64 ? 8
                                                    : 0;
}

constexpr int headerSize(LengthEncoding encoding, bool masked) {
    return 2 + extendedLengthSize(encoding) + (masked ? 4 : 0);
}

// The size of a whole header, known from byte 1 alone.
constexpr int headerSize(HeaderByte1 byte1) {
    return headerSize(lengthEncodingOf(byte1.length7), byte1.masked);
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
    quint8 rsvBits() const {
        return quint8((rsv1 ? Rsv1Bit : 0) | (rsv2 ? Rsv2Bit : 0) | (rsv3 ? Rsv3Bit : 0));
    }
    int size() const { return headerSize(lengthEncoding, masked()); }

    // The first two bytes on the wire, as fields.
    HeaderByte0 byte0() const { return {fin, rsvBits(), opcode}; }
    HeaderByte1 byte1() const { return {masked(), length7For(lengthEncoding, payloadLength)}; }
    void setByte0(HeaderByte0 fields) {
        fin = fields.fin;
        rsv1 = (fields.rsv & Rsv1Bit) != 0;
        rsv2 = (fields.rsv & Rsv2Bit) != 0;
        rsv3 = (fields.rsv & Rsv3Bit) != 0;
        opcode = fields.opcode & OpcodeMask;
    }

    // Back to the values above, member by member: `*this = FrameHeader{}` builds a
    // header on the stack and copies it wide, which stalls on narrow stores just
    // made (the decoder does this on every frame). tst_frameheader keeps the two equal.
    void reset() {
        fin = true;
        rsv1 = rsv2 = rsv3 = false;
        opcode = 0x1;
        maskingKey.reset();
        payloadLength = 0;
        lengthEncoding = LengthEncoding::Short7;
    }

    bool operator==(const FrameHeader &) const = default;
};

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

// Where the parts of the whole frame at `bytes` lie (a frame the decoder has checked,
// as in a relay's run): the header's size on the wire, whose last four bytes are the
// masking key of a masked frame, and the payload's length.
struct WholeFrameLayout {
    int headerSize = 0;
    quint64 payloadLength = 0;
};

inline WholeFrameLayout wholeFrameLayout(const char *bytes) {
    const auto *b = reinterpret_cast<const quint8 *>(bytes);
    const HeaderByte1 byte1 = unpackByte1(b[1]);
    WholeFrameLayout layout{headerSize(byte1), byte1.length7};
    if (byte1.length7 == Length7Extended16)
        layout.payloadLength = qFromBigEndian<quint16>(b + 2);
    else if (byte1.length7 == Length7Extended64)
        layout.payloadLength = qFromBigEndian<quint64>(b + 2);
    return layout;
}

// The header at `bytes`, which hold all of it, and in `size` how many bytes it takes
// on the wire.
inline FrameHeader wholeFrameHeader(const char *bytes, int *size) {
    const auto *b = reinterpret_cast<const quint8 *>(bytes);
    const WholeFrameLayout layout = wholeFrameLayout(bytes);
    const HeaderByte1 byte1 = unpackByte1(b[1]);
    FrameHeader header;
    header.setByte0(unpackByte0(b[0]));
    header.lengthEncoding = lengthEncodingOf(byte1.length7);
    header.payloadLength = layout.payloadLength;
    if (byte1.masked)
        header.maskingKey = qFromBigEndian<quint32>(b + layout.headerSize - 4);
    *size = layout.headerSize;
    return header;
}

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

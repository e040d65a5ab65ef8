#pragma once

#include <QtGlobal>

namespace ws {

// RFC 6455 §5.2: the 4-bit opcode of a frame.
enum class Opcode : quint8 {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

constexpr bool isControl(Opcode op) {
    return (static_cast<quint8>(op) & 0x8) != 0;
}
constexpr bool isData(Opcode op) {
    return op == Opcode::Text || op == Opcode::Binary;
}

// RFC 6455 §5.2: %x3-7 and %xB-F are reserved for future frames.
constexpr bool isReservedOpcode(quint8 raw) {
    raw &= 0x0F;
    return (raw >= 0x3 && raw <= 0x7) || raw >= 0xB;
}

constexpr const char *opcodeName(quint8 raw) {
    switch (raw & 0x0F) {
    case 0x0:
        return "continuation";
    case 0x1:
        return "text";
    case 0x2:
        return "binary";
    case 0x8:
        return "close";
    case 0x9:
        return "ping";
    case 0xA:
        return "pong";
    default:
        return (raw & 0x8) ? "reserved control" : "reserved data";
    }
}

constexpr const char *opcodeName(Opcode op) {
    return opcodeName(static_cast<quint8>(op));
}

} // namespace ws

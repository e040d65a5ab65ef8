#pragma once

#include <QString>
#include <QtGlobal>

namespace ws {

// How strictly the peer's bytes are judged where RFC 6455 tells senders what to
// do but leaves receivers room.
enum class Conformance : quint8 {
    Lenient,  // oddities become notes, including a close reason that is not UTF-8
    Standard, // every MUST fails the connection; SHOULD-level oddities become notes
    Strict,   // oddities fail the connection too (e.g. a non-minimal length: 1002)
};

// Something the peer did that the RFC asks senders not to do, reported but not
// (at this conformance level) fatal. The inspector marks the frame it concerns.
struct ConformanceNote {
    enum class Kind : quint8 {
        NonMinimalLength,    // §5.2: length not in its shortest encoding
        InvalidCloseReason,  // §5.5.1: close reason not UTF-8 (lenient mode only)
        CloseNotAnswered,    // §5.5.1: our close was not answered in time
        UnsolicitedPong,     // §5.5.3: a pong with no ping outstanding (allowed; noted)
        PongMismatch,        // §5.5.3: a pong whose payload matches no ping we sent
        ServerClosedTcpLate, // §7.1.1: the server should close TCP first
        Staged,              // not the peer's doing: a fault our server stages on purpose
    };
    Kind kind = Kind::NonMinimalLength;
    QString text;
    qint64 streamOffset = -1; // first byte of the frame it concerns, -1 if none

    bool operator==(const ConformanceNote &) const = default;
};

} // namespace ws

#pragma once

#include "closecode.h"

#include <QString>

namespace ws {

// Every way the peer's bytes can break RFC 6455 (or RFC 7692). Each maps onto the
// close code the connection is failed with (closeCodeFor) and a default reason
// that names the rule (describe). Misuse by our own caller is not in this list:
// the send functions report that separately (SendError).
enum class ProtocolError : quint8 {
    // Frame header (§5.2)
    ReservedBitsSet,          // RSV1-3 set without a negotiated extension that defines them
    ReservedOpcode,           // opcode 0x3-0x7 or 0xB-0xF
    UnmaskedClientFrame,      // §5.1: a server must fail an unmasked frame from a client
    MaskedServerFrame,        // §5.1: a client must fail a masked frame from a server
    LengthMostSignificantBit, // §5.2: the 64-bit length has its most significant bit set
    NonMinimalLength,         // §5.2: "the minimal number of bytes MUST be used" (strict mode)
    // Control frames (§5.5)
    ControlFrameTooLong,    // payload > 125 bytes
    FragmentedControlFrame, // FIN clear on a control frame
    // Fragmentation (§5.4)
    UnexpectedContinuation, // continuation frame with no message in progress
    ExpectedContinuation,   // new data frame while a fragmented message is in progress
    // Close frames (§5.5.1, §7.4)
    CloseFrameOneByte,  // a close payload of exactly 1 byte
    InvalidCloseCode,   // 0-999, 1004-1006, 1015, 1016-2999, >= 5000
    InvalidCloseReason, // reason is not UTF-8
    // Payload
    InvalidUtf8,   // §8.1: text message that is not UTF-8
    MessageTooBig, // over the configured maximum message size
    // After close
    DataAfterClose, // §5.5.1: a frame arrived after the peer's close frame
    // Extensions (RFC 7692)
    CompressedControlFrame, // RSV1 on a control frame
    CompressedContinuation, // RSV1 on a continuation frame
    DecompressionFailed,    // the deflate stream is corrupt
    // Transport
    AbnormalClosure, // TCP closed without a close frame (1006; never sent)
};

constexpr CloseCode closeCodeFor(ProtocolError error) {
    switch (error) {
    case ProtocolError::InvalidUtf8:
    case ProtocolError::InvalidCloseReason:
        return CloseCode::InvalidPayload;
    case ProtocolError::MessageTooBig:
        return CloseCode::MessageTooBig;
    case ProtocolError::AbnormalClosure:
        return CloseCode::AbnormalClosure;
    default:
        return CloseCode::ProtocolError;
    }
}

// The identifier, e.g. "UnmaskedClientFrame", for logs and tests.
const char *errorName(ProtocolError error);

// A sentence naming the rule, e.g. "client frame is not masked (RFC 6455 §5.1)".
QString describe(ProtocolError error);

} // namespace ws

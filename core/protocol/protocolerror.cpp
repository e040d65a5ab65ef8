#include "protocolerror.h"

namespace ws {

const char *errorName(ProtocolError error) {
    switch (error) {
    case ProtocolError::ReservedBitsSet:
        return "ReservedBitsSet";
    case ProtocolError::ReservedOpcode:
        return "ReservedOpcode";
    case ProtocolError::UnmaskedClientFrame:
        return "UnmaskedClientFrame";
    case ProtocolError::MaskedServerFrame:
        return "MaskedServerFrame";
    case ProtocolError::LengthMostSignificantBit:
        return "LengthMostSignificantBit";
    case ProtocolError::NonMinimalLength:
        return "NonMinimalLength";
    case ProtocolError::ControlFrameTooLong:
        return "ControlFrameTooLong";
    case ProtocolError::FragmentedControlFrame:
        return "FragmentedControlFrame";
    case ProtocolError::UnexpectedContinuation:
        return "UnexpectedContinuation";
    case ProtocolError::ExpectedContinuation:
        return "ExpectedContinuation";
    case ProtocolError::CloseFrameOneByte:
        return "CloseFrameOneByte";
    case ProtocolError::InvalidCloseCode:
        return "InvalidCloseCode";
    case ProtocolError::InvalidCloseReason:
        return "InvalidCloseReason";
    case ProtocolError::InvalidUtf8:
        return "InvalidUtf8";
    case ProtocolError::MessageTooBig:
        return "MessageTooBig";
    case ProtocolError::DataAfterClose:
        return "DataAfterClose";
    case ProtocolError::CompressedControlFrame:
        return "CompressedControlFrame";
    case ProtocolError::CompressedContinuation:
        return "CompressedContinuation";
    case ProtocolError::DecompressionFailed:
        return "DecompressionFailed";
    case ProtocolError::AbnormalClosure:
        return "AbnormalClosure";
    }
    return "UnknownProtocolError";
}

QString describe(ProtocolError error) {
    switch (error) {
    case ProtocolError::ReservedBitsSet:
        return QStringLiteral("reserved bit set without a negotiated extension that defines it "
                              "(RFC 6455 §5.2)");
    case ProtocolError::ReservedOpcode:
        return QStringLiteral("reserved opcode (RFC 6455 §5.2)");
    case ProtocolError::UnmaskedClientFrame:
        return QStringLiteral("client frame is not masked (RFC 6455 §5.1)");
    case ProtocolError::MaskedServerFrame:
        return QStringLiteral("server frame is masked (RFC 6455 §5.1)");
    case ProtocolError::LengthMostSignificantBit:
        return QStringLiteral("64-bit payload length has its most significant bit set "
                              "(RFC 6455 §5.2)");
    case ProtocolError::NonMinimalLength:
        return QStringLiteral("payload length is not in its minimal encoding (RFC 6455 §5.2)");
    case ProtocolError::ControlFrameTooLong:
        return QStringLiteral("control frame payload is longer than 125 bytes (RFC 6455 §5.5)");
    case ProtocolError::FragmentedControlFrame:
        return QStringLiteral("control frame is fragmented (FIN is clear) (RFC 6455 §5.5)");
    case ProtocolError::UnexpectedContinuation:
        return QStringLiteral("continuation frame without a message in progress "
                              "(RFC 6455 §5.4)");
    case ProtocolError::ExpectedContinuation:
        return QStringLiteral("new data frame while a fragmented message is in progress "
                              "(RFC 6455 §5.4)");
    case ProtocolError::CloseFrameOneByte:
        return QStringLiteral("close frame payload is 1 byte; it must be empty or start with a "
                              "2-byte status code (RFC 6455 §5.5.1)");
    case ProtocolError::InvalidCloseCode:
        return QStringLiteral("close status code may not be sent on the wire (RFC 6455 §7.4)");
    case ProtocolError::InvalidCloseReason:
        return QStringLiteral("close reason is not valid UTF-8 (RFC 6455 §5.5.1)");
    case ProtocolError::InvalidUtf8:
        return QStringLiteral("text message is not valid UTF-8 (RFC 6455 §8.1)");
    case ProtocolError::MessageTooBig:
        return QStringLiteral("message is larger than the configured maximum (RFC 6455 §7.4.1, "
                              "code 1009)");
    case ProtocolError::DataAfterClose:
        return QStringLiteral("frame received after the peer's close frame (RFC 6455 §5.5.1)");
    case ProtocolError::CompressedControlFrame:
        return QStringLiteral("control frame has the compression bit set (RFC 7692 §6)");
    case ProtocolError::CompressedContinuation:
        return QStringLiteral("continuation frame has the compression bit set (RFC 7692 §6)");
    case ProtocolError::DecompressionFailed:
        return QStringLiteral("compressed message cannot be inflated (RFC 7692 §6.2)");
    case ProtocolError::AbnormalClosure:
        return QStringLiteral("connection closed without a close frame (RFC 6455 §7.1.5)");
    }
    return QStringLiteral("unknown protocol error");
}

} // namespace ws

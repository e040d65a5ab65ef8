#pragma once

#include <QtGlobal>

namespace ws {

// RFC 6455 §7.4.1 and the IANA "WebSocket Close Code Number Registry".
enum class CloseCode : quint16 {
    Normal = 1000,
    GoingAway = 1001,
    ProtocolError = 1002,
    UnsupportedData = 1003,
    Reserved1004 = 1004,
    NoStatusReceived = 1005, // never on the wire
    AbnormalClosure = 1006,  // never on the wire
    InvalidPayload = 1007,
    PolicyViolation = 1008,
    MessageTooBig = 1009,
    MandatoryExtension = 1010,
    InternalError = 1011,
    ServiceRestart = 1012,
    TryAgainLater = 1013,
    BadGateway = 1014,
    TlsHandshakeFailed = 1015, // never on the wire
};

constexpr quint16 toWire(CloseCode code) {
    return static_cast<quint16>(code);
}

// RFC 6455 §7.4: may this code appear in a Close frame's payload?
// 1000-1003 and 1007-1014 are defined for use, 3000-4999 are for libraries and
// applications; 1004, 1005, 1006, 1015, 0-999 and the unassigned rest of 1016-2999
// must not be sent and fail the connection when received.
constexpr bool isValidOnWire(quint16 code) {
    if (code >= 3000 && code <= 4999)
        return true;
    if (code >= 1000 && code <= 1003)
        return true;
    return code >= 1007 && code <= 1014;
}

// A short, human readable meaning for the log and the inspector.
constexpr const char *closeCodeMeaning(quint16 code) {
    switch (code) {
    case 1000:
        return "normal closure";
    case 1001:
        return "going away";
    case 1002:
        return "protocol error";
    case 1003:
        return "unsupported data";
    case 1004:
        return "reserved";
    case 1005:
        return "no status received";
    case 1006:
        return "abnormal closure";
    case 1007:
        return "invalid frame payload data";
    case 1008:
        return "policy violation";
    case 1009:
        return "message too big";
    case 1010:
        return "mandatory extension";
    case 1011:
        return "internal error";
    case 1012:
        return "service restart";
    case 1013:
        return "try again later";
    case 1014:
        return "bad gateway";
    case 1015:
        return "TLS handshake failed";
    default:
        if (code >= 3000 && code <= 3999)
            return "registered (library/framework)";
        if (code >= 4000 && code <= 4999)
            return "private use (application)";
        return "invalid";
    }
}

} // namespace ws

#pragma once

#include "protocol/conformance.h"
#include "protocol/frameheader.h"
#include "protocol/protocolerror.h"
#include "protocol/role.h"
#include "protocol/session.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <QtGlobal>

#include <optional>

namespace ws::log {

// What a row of the message log shows.
enum class LogKind : quint8 {
    Text,
    Binary,
    Continuation,
    Ping,
    Pong,
    Close,
    Reserved, // a frame with a reserved opcode (sent raw, or received before the violation)
    Error,    // a protocol violation: the connection was failed
    Note,     // a conformance note (allowed, but worth knowing)
    Handshake,
    State, // session state changes and the final "closed" summary
};
inline constexpr int LogKindCount = 11;

const char *logKindName(LogKind kind);
std::optional<LogKind> logKindFromName(QByteArrayView name);
LogKind logKindForOpcode(quint8 opcode);

// Names used by the log file and the inspector for enums the protocol core leaves unnamed.
const char *noteKindName(ConformanceNote::Kind kind);
std::optional<ConformanceNote::Kind> noteKindFromName(QByteArrayView name);
std::optional<ProtocolError> protocolErrorFromName(QByteArrayView name);
const char *handshakeKindName(HandshakeEvent::Kind kind);
std::optional<HandshakeEvent::Kind> handshakeKindFromName(QByteArrayView name);
std::optional<SessionState> sessionStateFromName(QByteArrayView name);

// A set of kinds, for filters.
using LogKindSet = quint32;
constexpr LogKindSet logKindBit(LogKind kind) {
    return LogKindSet(1) << static_cast<int>(kind);
}
inline constexpr LogKindSet AllLogKinds = (LogKindSet(1) << LogKindCount) - 1;

// The rarely present parts of a record, kept beside the records so that the common
// row (a data message) stays small.
struct LogRecordExtra {
    QList<ConformanceNote> notes;
    // Error rows: the rule and where in the received stream it was broken.
    std::optional<ProtocolError> error;
    qint64 streamOffset = -1;
    // Error rows: the frame the rule broke in, as far as it had arrived (its bytes as on
    // the wire, payload kept up to ViolationFrame::MaxPayloadKept); empty when none.
    ViolationFrame violationFrame;
    // Handshake rows.
    HandshakeEvent::Kind handshakeKind = HandshakeEvent::Kind::ClientAccepted;
    QByteArray rawRequest;
    QByteArray rawResponse;
    int httpStatus = 0;
    QByteArray subprotocol;
    QByteArray extensions; // Sec-WebSocket-Extensions as negotiated
    QString handshakeError;

    bool isEmpty() const;
    bool operator==(const LogRecordExtra &) const = default;
};

// One row of the log. Kept compact (about 72 bytes) because a busy connection logs
// millions of them: no QString, no QObject, and the payload is the QByteArray the
// decoder produced, shared rather than copied. Masked bytes are not stored; they
// are the payload XOR the key, recomputed on demand (applyMask).
struct LogRecord {
    enum Flag : quint16 {
        HasHeader = 0x0001,     // a frame: the header fields below are valid
        InFrameView = 0x0002,   // shown when the log lists frames
        InMessageView = 0x0004, // shown when the log lists messages
        Outgoing = 0x0008,      // we sent it
        Undirected = 0x0010,    // neither sent nor received (state changes)
        Compressed = 0x0020,    // a message an extension transformed (RFC 7692)
        HasNotes = 0x0040,      // conformance notes in the extra
        HasCloseCode = 0x0080,
        HasRoundTrip = 0x0100,  // a pong answering one of our pings
        PingAnswered = 0x0200,  // an automatic pong went out
        CleanClose = 0x0400,    // closed summary: both close frames were exchanged
        ClosedByUs = 0x0800,    // closed summary: we sent the first close frame
        ClosedSummary = 0x1000, // the ClosedEvent, as opposed to a state change
        Failure = 0x2000,       // painted as an error: violations, failed handshakes
    };
    static constexpr quint32 NoExtra = 0xFFFFFFFF;

    // Frames: the unmasked payload. Messages: the reassembled (inflated) data. Close:
    // the close payload (code, then reason). Errors and notes: their text in UTF-8.
    QByteArray payload;
    qint64 timestampUs = 0; // microseconds since the Unix epoch
    // Frames: the length declared in the header. Messages: payload bytes on the wire.
    quint64 length = 0;
    qint64 roundTripUs = 0;
    quint32 connection = 0;
    quint32 maskingKey = 0;
    quint32 frameCount = 0;  // messages: how many frames carried it
    quint32 extra = NoExtra; // index into the owning chunk's extras
    // Sent frames and messages: timestampUs is when the last byte was handed to the
    // socket; the send was asked for this many microseconds before (0: at once).
    quint32 sendDelayUs = 0;
    quint16 closeCode = 0; // close frames and the closed summary; errors: the code we failed with
    quint16 flags = 0;
    LogKind kind = LogKind::Text;
    quint8 headerByte0 = 0; // frames: FIN, RSV1-3 and opcode as on the wire; state rows: the state
    // Frames: bit 7 MASK, bits 0-1 the length encoding (0: 7-bit, 1: 16-bit, 2: 64-bit),
    // kept apart from `length` because the raw writer can put any length in any encoding.
    quint8 headerByte1 = 0;

    bool has(Flag flag) const { return (flags & flag) != 0; }
    void set(Flag flag, bool on = true) {
        flags = on ? quint16(flags | flag) : quint16(flags & ~flag);
    }
    Direction direction() const {
        return has(Outgoing) ? Direction::Outgoing : Direction::Incoming;
    }
    bool isFrame() const { return has(HasHeader); }
    bool isError() const { return has(Failure); }
    SessionState state() const { return static_cast<SessionState>(headerByte0); }

    // The header this record was logged with (valid when isFrame()).
    FrameHeader header() const;
    void setHeader(const FrameHeader &header);
    // The header bytes exactly as on the wire: the header keeps every bit, so they
    // are recomputed rather than stored.
    RawHeaderBytes rawHeader() const { return serializeHeader(header()); }
    // The payload as it travelled: XORed with the key when the frame was masked.
    QByteArray maskedPayload() const;

    // Close frames: the reason (payload after the two-byte code), and whether the
    // payload carried a code.
    QByteArray closeReason() const;

    // Equal in everything but the extra's slot (compare extras separately).
    bool operator==(const LogRecord &other) const;
};

// The escaped one-line summary the log shows, computed when a row is painted and
// never stored. At most `maxChars` characters, then an ellipsis.
QString recordPreview(const LogRecord &record, const LogRecordExtra *extra, int maxChars = 120);

// A record with its extra, before a store holds it (imports, rows made outside a
// session's events).
struct FullRecord {
    LogRecord record;
    LogRecordExtra extra;
};

// A row of both views (frames and messages) about no frame in particular.
LogRecord connectionRow(quint32 connection, qint64 timestampUs, LogKind kind);

// Rows that are not session events but belong in a connection's log beside them.
// What the connection layer reports on its own: an error row (a failed connect, a
// refused certificate) and a note row (a line of its log).
LogRecord connectionErrorRecord(quint32 connection, qint64 timestampUs, const QString &message);
LogRecord connectionNoteRecord(quint32 connection, qint64 timestampUs, const QString &text);
// The handshake of a client a server accepted. The server announces a client after
// its 101 went out, so that handshake never comes as an event: it is logged from
// what the session kept.
FullRecord acceptedUpgradeRecord(quint32 connection, qint64 timestampUs,
                                 const QByteArray &rawRequest, const QByteArray &rawResponse,
                                 const QByteArray &subprotocol);

} // namespace ws::log

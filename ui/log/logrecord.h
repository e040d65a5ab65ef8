#pragma once

#include "protocol/conformance.h"
#include "protocol/frameheader.h"
#include "protocol/protocolerror.h"
#include "protocol/role.h"
#include "protocol/session.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QString>
#include <QtGlobal>

#include <memory>
#include <optional>
#include <vector>

namespace ws {

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
    quint16 closeCode = 0;   // close frames and the closed summary; errors: the code we failed with
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

// What the log knows about a connection besides its records.
struct ConnectionInfo {
    QString name; // shown in the connection column; "#id" when empty
    QString url;  // ws://host:port/path
    bool operator==(const ConnectionInfo &) const = default;
};

// The log's storage: records in fixed-size chunks, appended at the end and dropped
// from the front a whole chunk at a time, so neither growing nor trimming moves a
// record. It turns SessionEvents into records, merging the events that describe the
// same thing: a single-frame message is one record (a frame row and a message row
// at once), and a ping/pong/close frame absorbs the event that interprets it.
class LogStore {
public:
    static constexpr qsizetype ChunkSize = 4096;

    LogStore();
    ~LogStore();
    LogStore(const LogStore &) = delete;
    LogStore &operator=(const LogStore &) = delete;

    // Converts one event of `connection` into records. The last frame may be held
    // back until the next event shows whether it merges; commitPending() releases it.
    void append(quint32 connection, const SessionEvent &event);
    void commitPending();
    bool hasPending() const { return m_pending.has_value(); }

    // Adds a finished record (imports). `extra` is copied when not empty.
    void appendRecord(const LogRecord &record, const LogRecordExtra &extra = {});

    qsizetype size() const { return m_size; }
    bool isEmpty() const { return m_size == 0; }
    const LogRecord &at(qsizetype index) const {
        const qsizetype i = index + m_front;
        return m_chunks[size_t(i / ChunkSize)]->records[size_t(i % ChunkSize)];
    }
    // The record's extra, or null.
    const LogRecordExtra *extra(qsizetype index) const;
    const LogRecordExtra *extraOf(const LogRecord &record, qsizetype index) const;

    // Drops the `count` oldest records; returns how many went. Indices shift down by
    // that much. Memory comes back a chunk at a time (payloads at once).
    qsizetype dropOldest(qsizetype count);
    // Records dropped since the store was created or cleared.
    qint64 droppedCount() const { return m_dropped; }
    // Forgets every record but keeps what is known about connections (names, clocks).
    void clearRecords();
    // Forgets everything.
    void clear();

    // The first record's time: the zero of the log's time column.
    qint64 timeOriginUs() const { return m_timeOriginUs; }
    bool hasTimeOrigin() const { return m_hasTimeOrigin; }

    // Event timestamps come from each connection's monotonic clock; a record's time
    // is that plus the connection's offset, giving microseconds since the epoch.
    // Without an explicit offset, the first event of a connection fixes it from the
    // wall clock when auto-calibration is on (the default).
    void setClockOffset(quint32 connection, qint64 offsetUs);
    void setAutoCalibrateClocks(bool on) { m_autoCalibrate = on; }
    bool autoCalibrateClocks() const { return m_autoCalibrate; }

    void setConnectionInfo(quint32 connection, const ConnectionInfo &info);
    ConnectionInfo connectionInfo(quint32 connection) const;
    QString connectionName(quint32 connection) const;
    QList<quint32> connectionIds() const; // sorted
    const QHash<quint32, ConnectionInfo> &connections() const { return m_connections; }
    // A connection id not yet used by any record or info.
    quint32 unusedConnectionId() const;

    // The frame records of a message record that has no header of its own (a
    // fragmented or compressed message), oldest first; empty when the frames were
    // not logged or have been dropped.
    QList<qsizetype> framesOfMessage(qsizetype messageIndex) const;

    // Bytes held by the records, their payloads and extras (heap blocks rounded the
    // way glibc's malloc rounds them). Payloads shared with the neighbour record are
    // counted once.
    qint64 memoryUsage() const;
    // The heap block behind one QByteArray's data, as counted by memoryUsage().
    static qint64 payloadAllocation(const QByteArray &payload);

private:
    struct Chunk {
        std::vector<LogRecord> records; // reserved to ChunkSize: never reallocates
        std::vector<LogRecordExtra> extras;
        Chunk() { records.reserve(size_t(ChunkSize)); }
    };
    struct ConnectionState {
        qint64 clockOffsetUs = 0;
        bool hasClockOffset = false;
        // Data frames logged (frame rows only) since the last message, per direction.
        quint32 unmergedFrames[2] = {0, 0};
        // The notes of the last received frame: the session reports them again as
        // NoteEvents, which are then not rows of their own.
        QList<ConformanceNote> lastFrameNotes;
    };
    struct Pending {
        LogRecord record;
        LogRecordExtra extra;
        qint64 streamOffset = -1;
    };

    ConnectionState &stateFor(quint32 connection, qint64 eventTimeUs);
    // A record of `connection` for an event at `eventTimeUs` on the connection's clock.
    LogRecord newRecord(const ConnectionState &state, quint32 connection, qint64 eventTimeUs,
                        LogKind kind) const;
    // A record that is a row of both views: everything but data frames and messages.
    LogRecord newRow(quint32 connection, qint64 eventTimeUs, LogKind kind);
    void commit(LogRecord record, const LogRecordExtra &extra);
    // One overload per SessionEvent alternative: an alternative added to the variant
    // does not compile until the log knows what to make of it.
    void convert(quint32 connection, const FrameEvent &event);
    void convert(quint32 connection, const MessageEvent &event);
    void convert(quint32 connection, const PingEvent &event);
    void convert(quint32 connection, const PongEvent &event);
    void convert(quint32 connection, const CloseEvent &event);
    void convert(quint32 connection, const ViolationEvent &event);
    void convert(quint32 connection, const NoteEvent &event);
    void convert(quint32 connection, const HandshakeEvent &event);
    void convert(quint32 connection, const StateEvent &event);
    void convert(quint32 connection, const ClosedEvent &event);
    // The held-back frame, when it is an incoming frame of `connection` with `kind`.
    LogRecord *pendingFrame(quint32 connection, LogKind kind, Direction direction);

    std::vector<std::unique_ptr<Chunk>> m_chunks;
    qsizetype m_size = 0;
    qsizetype m_front = 0; // dropped records still at the start of the first chunk
    qint64 m_dropped = 0;
    qint64 m_timeOriginUs = 0;
    bool m_hasTimeOrigin = false;
    bool m_autoCalibrate = true;
    std::optional<Pending> m_pending;
    QHash<quint32, ConnectionState> m_states;
    QHash<quint32, ConnectionInfo> m_connections;
    quint32 m_maxConnectionId = 0;
    bool m_anyConnection = false;
};

} // namespace ws

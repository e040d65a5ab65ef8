#pragma once

#include "log/logrecord.h"

#include <QHash>
#include <QList>
#include <QString>

#include <deque>
#include <memory>
#include <optional>
#include <vector>

namespace ws::log {

// Which side of a relayed pair a connection is (core/relay): the leg facing the
// relay's client, or the one facing the upstream server; None for every other.
enum class Leg : quint8 { None, Client, Server };
// "none", "client", "server": as the display filter's `leg` field names them.
const char *legName(Leg leg);
// The inverse of legName(); None for anything else.
Leg legFromName(QStringView name);

// What the log knows about a connection besides its records.
struct ConnectionInfo {
    QString name; // shown in the connection column; "#id" when empty
    QString url;  // ws://host:port/path
    Leg leg = Leg::None;
    bool operator==(const ConnectionInfo &) const = default;
};

// The log's storage: records in fixed-size chunks, appended at the end and dropped
// from the front a whole chunk at a time, so neither growing nor trimming moves a
// record. It turns SessionEvents into records, merging the events that describe the
// same thing: a single-frame message is one record (a frame row and a message row
// at once), and a ping/pong/close frame absorbs the event that interprets it.
//
// Records of live events are kept in time order: an event that reaches the store
// after a later one (a connection reports a batch read before a broadcast copy it
// caused on another connection was written) is inserted at its place, after every
// record of the same time or earlier, so that a reply or a copy never comes before
// its cause. Such late arrivals are few and land near the end; appending stays O(1)
// amortised. Imported records (appendRecord) keep the order they are given in.
class LogStore {
public:
    static constexpr qsizetype ChunkSize = 4096;
    // How far back a late record may be placed; one further back goes at the end.
    static constexpr qsizetype MaxReorderDistance = 4 * ChunkSize;

    LogStore();
    ~LogStore();
    LogStore(const LogStore &) = delete;
    LogStore &operator=(const LogStore &) = delete;

    // Converts one event of `connection` into records, in time order (see above).
    // The last frame may be held back until the next event shows whether it merges;
    // commitPending() releases it. A data frame whose message never comes (a crafted
    // raw frame, an echo sent without a message event) is a row of both views.
    void append(quint32 connection, const SessionEvent &event);
    // A relay's run of whole single-frame messages (RelayedRun): `received` as read on
    // connection `receivedOn` at `readUs`, `sent` as written on `sentOn` at
    // `writtenUs`, the same frames but for their masking keys. The same rows as the
    // events of those frames make (each message a row of both views, on either
    // connection). The payloads are parts of one allocation that all the run's rows
    // share: `received` itself when no frame in it was masked. Returns how many
    // messages the run held.
    int appendRelayedRun(quint32 receivedOn, quint32 sentOn, const QByteArray &received,
                         QByteArrayView sent, qint64 readUs, qint64 writtenUs);
    // A relay's single-frame message forwarded in pieces: the frame as `received` on
    // `receivedOn` and as `sent` on `sentOn`, its unmasked `payload` kept once for
    // both rows. The same rows as appendRelayedRun() makes for a message.
    void appendRelayedMessage(quint32 receivedOn, quint32 sentOn, const FrameHeader &received,
                              const FrameHeader &sent, const QByteArray &payload, qint64 readUs,
                              qint64 writtenUs);
    void commitPending();
    bool hasPending() const { return m_pending.has_value() || !m_sentFragments.empty(); }

    // Off: every record goes at the end, in the order it was made (a store that
    // streams its records out as soon as they are made cannot move one back).
    void setTimeOrdered(bool on) { m_timeOrdered = on; }
    bool isTimeOrdered() const { return m_timeOrdered; }

    // Adds a finished record at the end (imports). `extra` is copied when not empty.
    void appendRecord(const LogRecord &record, const LogRecordExtra &extra = {});
    // Adds a finished record of a live connection at its place in time order (rows
    // the network layer does not report as events: errors, notes).
    void insertRecord(const LogRecord &record, const LogRecordExtra &extra = {});

    // The records placed before the end since the last call, as their indices now,
    // ascending. Every record at or after any of them moved up by one per insertion
    // at or before it; a model over the store uses this to insert rows in the middle.
    std::vector<qsizetype> takeInsertions();
    // The lowest index takeInsertions() would report, or -1.
    qsizetype firstInsertion() const { return m_insertions.empty() ? -1 : m_insertions.front(); }

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
    // that much. Memory comes back a chunk at a time (payloads at once). Released
    // connections whose records are now all gone are forgotten (release()); their ids
    // are appended to `forgotten` when given.
    qsizetype dropOldest(qsizetype count, std::vector<quint32> *forgotten = nullptr);
    // Records dropped since the store was created or cleared.
    qint64 droppedCount() const { return m_dropped; }
    // Forgets every record but keeps what is known about connections (names, clocks),
    // except released ones, which have no record left.
    void clearRecords();
    // Forgets everything.
    void clear();

    // The first record's time: the zero of the log's time column.
    qint64 timeOriginUs() const { return m_timeOriginUs; }
    bool hasTimeOrigin() const { return m_hasTimeOrigin; }

    // Event times are EventClock's (core/net/eventclock.h), one clock for every
    // connection of the process; a record's time is that plus this offset, giving
    // microseconds since the epoch. It is the clock's anchor to the wall clock
    // unless set (0 for events whose times already are wall-clock times).
    void setClockOffset(qint64 offsetUs) { m_clockOffsetUs = offsetUs; }
    qint64 clockOffset() const { return m_clockOffsetUs; }

    void setConnectionInfo(quint32 connection, const ConnectionInfo &info);
    ConnectionInfo connectionInfo(quint32 connection) const;
    QString connectionName(quint32 connection) const;
    Leg connectionLeg(quint32 connection) const;
    QList<quint32> connectionIds() const; // sorted
    const QHash<quint32, ConnectionInfo> &connections() const { return m_connections; }
    // A connection id not yet used by any record or info.
    quint32 unusedConnectionId() const;

    // Nothing more comes for `connection` (it is over, and whoever names it is done
    // with it). What the store knows about it, its info and merge state, goes once
    // none of its records can be left: at once when the store has none of them,
    // otherwise when dropOldest() has dropped every record that was in the store at
    // this call (and MaxReorderDistance more when time ordered, since later
    // insertions may have moved its records up that far). A long-running log thus
    // keeps what it knows about at most the connections its records show. A record
    // of the connection still held back is committed first. Returns whether it went
    // at once. An id that gets events again after this is known again from then on.
    bool release(quint32 connection);
    // Released connections not yet forgotten.
    qsizetype releasedCount() const { return qsizetype(m_released.size()); }

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
        // Data frames logged (frame rows only) since the last message, per direction.
        quint32 unmergedFrames[2] = {0, 0};
        // The notes of the last received frame: the session reports them again as
        // NoteEvents, which are then not rows of their own.
        QList<ConformanceNote> lastFrameNotes;
    };
    struct Pending {
        LogRecord record;
        std::unique_ptr<LogRecordExtra> extra; // null: none
        qint64 streamOffset = -1;
    };

    // The state of `connection`, made when missing. The last one asked for is kept at
    // hand: a batch of events is mostly one connection's.
    ConnectionState &stateFor(quint32 connection) {
        if (!m_lastState || m_lastStateConnection != connection) {
            // The only insertions into m_states are here, so the pointer stays good
            // until the next call for another connection (or a clear).
            m_lastState = &m_states[connection];
            m_lastStateConnection = connection;
        }
        return *m_lastState;
    }
    void commitSentFragments(bool messageFollows);
    // Drops the info and state of `connection`.
    void forget(quint32 connection);
    // Forgets the released connections none of whose records can be left.
    void forgetReleased(std::vector<quint32> *forgotten);
    // A record of `connection` for an event at `eventTimeUs` (EventClock).
    LogRecord newRecord(quint32 connection, qint64 eventTimeUs, LogKind kind) const;
    // A record that is a row of both views: everything but data frames and messages.
    LogRecord newRow(quint32 connection, qint64 eventTimeUs, LogKind kind);
    // Adds the record at the end, or with `inTimeOrder` after the last record that is
    // not later than it. `extra` (null or empty: none) is copied.
    void commit(LogRecord record, const LogRecordExtra *extra, bool inTimeOrder = true);
    // A relayed message's rows (appendRelayedRun()): the pending record committed
    // first, then one row per frame, received (no `writtenUs`) or sent on.
    void startRelayed(quint32 receivedOn, quint32 sentOn);
    void commitRelayed(quint32 connection, const FrameHeader &header, QByteArray payload,
                       qint64 readUs, std::optional<qint64> writtenUs);
    // appendRelayedRun()'s frames, kept for the vector's capacity.
    struct RunFrame {
        FrameHeader header;
        qsizetype payloadAt; // in the run as received, then in the block of payloads
    };
    std::vector<RunFrame> m_runFrames;
    // Makes room at `index` by moving the records from there on up by one.
    void openGap(qsizetype index);
    Chunk &chunkOf(qsizetype index) { return *m_chunks[size_t((index + m_front) / ChunkSize)]; }
    LogRecord &recordAt(qsizetype index) {
        return chunkOf(index).records[size_t((index + m_front) % ChunkSize)];
    }
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
    qint64 m_clockOffsetUs;
    std::vector<qsizetype> m_insertions;
    bool m_timeOrdered = true;
    std::optional<Pending> m_pending;
    // Sent data frames that are not a whole message by themselves: the frames of a
    // message the session sent (its MessageEvent follows them at once), or crafted
    // fragments that no message will ever claim.
    std::vector<Pending> m_sentFragments;
    QHash<quint32, ConnectionState> m_states;
    ConnectionState *m_lastState = nullptr; // see stateFor()
    quint32 m_lastStateConnection = 0;
    QHash<quint32, ConnectionInfo> m_connections;
    // Released connections in the order of release, with the store's end at that
    // time (as an index counted from the first record ever, dropped ones included):
    // every record they have lies before it, give or take later insertions.
    struct Released {
        quint32 connection;
        qint64 end;
    };
    std::deque<Released> m_released;
    quint32 m_maxConnectionId = 0;
    bool m_anyConnection = false;
};

} // namespace ws::log

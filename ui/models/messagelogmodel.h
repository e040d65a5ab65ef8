#pragma once

#include "log/logstore.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QTimer>

#include <vector>

namespace ws {

// The message log as a table: a view over a log::LogStore through two index vectors, one
// for "messages" (one row per data message, plus control frames and events) and one
// for "frames" (every frame, continuation fragments included). Switching modes swaps
// the vector; nothing is copied.
//
// Events arrive at any rate: appendEvent() converts them into records at once but
// makes them rows in batches, one beginInsertRows/endInsertRows per batch, when the
// coalescing timer fires or flush() is called. Above the capacity the oldest records
// are dropped a slice at a time (beginRemoveRows on the first rows).
//
// Every batch makes the views lay out and repaint, so a flood of records (a relay at
// full speed logs tens of thousands a second) is batched over the longer
// FloodCoalescingMs; once a timed batch comes in below the flood rate, the short
// interval is back. The decision is taken from the size of each timed batch alone.
//
// Rows are in time order, as the store keeps its records: an event that arrives
// after a later one is placed before it. When that lands among rows already shown,
// it becomes a row there at once (beginInsertRows in the middle), so that rows never
// point at records that moved.
class MessageLogModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column : int {
        TimeColumn,
        ConnectionColumn,
        DirectionColumn,
        KindColumn,
        LengthColumn,
        PreviewColumn,
        ColumnCount
    };
    enum class DisplayMode { Messages, Frames };
    Q_ENUM(DisplayMode)
    // What the time column shows. Relative times are seconds with microseconds.
    enum class TimeFormat {
        WallClock,            // local time of day with microseconds
        SinceConnectionStart, // since the row's connection's first record
        SincePreviousRow,     // since the row above in the current mode
        SinceReference,       // since the row chosen with setTimeReference()
        SinceLogStart,        // since the log's first record
    };
    Q_ENUM(TimeFormat)

    enum Role : int {
        StoreIndexRole = Qt::UserRole + 1, // qsizetype: the record's index in store()
        RecordRole,     // quintptr: const log::LogRecord *, valid until records are dropped
        KindRole,       // int: log::LogKind
        DirectionRole,  // int: 0 received, 1 sent, 2 neither
        ConnectionRole, // uint: connection id
        TimestampRole,  // qint64: microseconds since the epoch
        HasNotesRole,   // bool: conformance notes are attached
        IsErrorRole,    // bool: a violation or a failed handshake
    };

    static constexpr qsizetype DefaultCapacity = 1'000'000;
    static constexpr qint64 DefaultPayloadBudget = qint64(1) << 30;
    static constexpr int DefaultCoalescingMs = 25;
    static constexpr int FloodCoalescingMs = 125;
    // Records a second from which the log counts as flooded, and below which a
    // flooded log calms down again (hysteresis, so it does not flicker at the edge).
    // Low on purpose: each batch repaints every visible row of a view following the
    // tail, which at 40 batches a second cost a third of the window's time relaying
    // 1 MiB messages (a few hundred rows a second); nobody reads faster than 8.
    static constexpr qsizetype FloodRecordsPerSecond = 200;
    static constexpr qsizetype CalmRecordsPerSecond = 100;

    explicit MessageLogModel(QObject *parent = nullptr);
    ~MessageLogModel() override;

    log::LogStore &store() { return m_store; }
    const log::LogStore &store() const { return m_store; }

    // Log an event of `connection`; it becomes a row at the next flush.
    void appendEvent(quint32 connection, const SessionEvent &event);
    // A relay's run of whole messages (log::LogStore::appendRelayedRun); how many.
    int appendRelayedRun(quint32 receivedOn, quint32 sentOn, const QByteArray &received,
                         QByteArrayView sent, qint64 readUs, qint64 writtenUs);
    // A relay's message forwarded in pieces (log::LogStore::appendRelayedMessage).
    void appendRelayedMessage(quint32 receivedOn, quint32 sentOn, const FrameHeader &received,
                              const FrameHeader &sent, const QByteArray &payload, qint64 readUs,
                              qint64 writtenUs);
    void appendEvents(quint32 connection, const QList<SessionEvent> &events);
    void appendRecord(const log::LogRecord &record, const log::LogRecordExtra &extra = {});
    // A record of a live connection (an error or a note row), at its place in time.
    void insertRecord(const log::LogRecord &record, const log::LogRecordExtra &extra = {});
    // Makes every logged record a row now.
    void flush();
    // Records logged but not yet rows.
    qsizetype pendingCount() const;

    // 0-50 ms: how long new records wait to be inserted together while traffic is calm.
    void setCoalescingInterval(int ms);
    int coalescingInterval() const { return m_calmIntervalMs; }
    // The interval the next timed batch waits: coalescingInterval(), or
    // FloodCoalescingMs while records arrive faster than FloodRecordsPerSecond.
    int currentCoalescingInterval() const { return m_timer.interval(); }
    bool isFlooded() const { return m_flooded; }

    void setDisplayMode(DisplayMode mode);
    DisplayMode displayMode() const { return m_mode; }

    void setTimeFormat(TimeFormat format);
    TimeFormat timeFormat() const { return m_timeFormat; }
    // Makes store record `index` the time reference (shown as "*REF*") and switches
    // to SinceReference; -1 clears it.
    void setTimeReference(qsizetype storeIndex);
    qsizetype timeReference() const { return m_referenceIndex; }
    // A text at least as wide as any the time column shows in the current format,
    // for sizing the column so that it is never elided.
    QString widestTimeText() const;
    // "14:03:07.123456" (local time).
    static QString wallClockText(qint64 timestampUs);
    // "12.000345", "-0.250000": seconds with microseconds.
    static QString secondsText(qint64 deltaUs);

    // The most records kept (0: no limit). Past it the oldest go, a slice at a time.
    void setCapacity(qsizetype records);
    qsizetype capacity() const { return m_capacity; }
    // The most payload bytes the rows refer to (0: no limit), a payload shared by two
    // records counted twice: a relay of 1 MiB messages fills a million rows with
    // terabytes otherwise. Past it the oldest go, as past the capacity.
    void setPayloadBudget(qint64 bytes);
    qint64 payloadBudget() const { return m_payloadBudget; }
    qint64 payloadBytes() const { return m_payloadBytes; }

    // Forgets every record (connection names and clocks stay, but for released ones).
    void clear();
    // Nothing more comes for these connections and nobody names them any more (the
    // hub forgot them): the log forgets their names, merge state and start times
    // once their rows are gone (log::LogStore::release()).
    void releaseConnections(const QList<quint32> &ids);
    // Rebuilds the rows after store() was filled directly (e.g. log::JsonLinesFile::open).
    void reload();

    // Row <-> record.
    qsizetype storeIndex(int row) const;
    const log::LogRecord *record(int row) const;
    const log::LogRecordExtra *extra(int row) const;
    // The row showing store record `index` in the current mode, or -1.
    int rowOfStoreIndex(qsizetype index) const;

    // The store plus both index vectors.
    qint64 memoryUsage() const;

    // Cell texts, also used by the filter.
    QString timeText(int row) const;
    // A note row telling of a fault our server staged on purpose.
    bool isStaged(const log::LogRecord &record, qsizetype storeRow) const;
    // A relayed pair's leg says which side the row went to or came from:
    // "\u2190 from client", "\u2192 to server".
    static QString directionText(const log::LogRecord &record, log::Leg leg = log::Leg::None);
    static QString kindText(const log::LogRecord &record);
    static QString lengthText(const log::LogRecord &record);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

signals:
    // The `count` oldest records left the store; store indices shifted down by count.
    void recordsDropped(qsizetype count);
    void displayModeChanged(ws::MessageLogModel::DisplayMode mode);
    void timeFormatChanged(ws::MessageLogModel::TimeFormat format);

private:
    std::vector<quint32> &activeRows() {
        return m_mode == DisplayMode::Messages ? m_messageRows : m_frameRows;
    }
    const std::vector<quint32> &activeRows() const {
        return m_mode == DisplayMode::Messages ? m_messageRows : m_frameRows;
    }
    void scheduleFlush();
    // The coalescing timer fired: flush, and choose the next interval from the batch.
    void flushTimed();
    // Rows for records the store placed among those that are rows already.
    void placeInsertions();
    void enforceCapacity();
    void rebuildRows();
    void noteConnectionStarts(qsizetype from, qsizetype to);
    void timeColumnChanged();

    log::LogStore m_store;
    std::vector<quint32> m_messageRows;
    std::vector<quint32> m_frameRows;
    std::vector<quint32> m_scratch;
    qsizetype m_scanned = 0; // store records already distributed into the row vectors
    DisplayMode m_mode = DisplayMode::Messages;
    qsizetype m_capacity = DefaultCapacity;
    qint64 m_payloadBudget = DefaultPayloadBudget;
    qint64 m_payloadBytes = 0; // of the records that are rows (the first m_scanned)
    TimeFormat m_timeFormat = TimeFormat::WallClock;
    qsizetype m_referenceIndex = -1;
    qint64 m_referenceUs = 0;
    bool m_hasReference = false;
    QHash<quint32, qint64> m_connectionStartUs; // the first record's time, kept past drops
    QTimer m_timer;
    int m_calmIntervalMs = DefaultCoalescingMs;
    bool m_flooded = false;
};

} // namespace ws

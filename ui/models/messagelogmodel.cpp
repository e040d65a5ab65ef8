#include "messagelogmodel.h"

#include <QBrush>
#include <QColor>
#include <QDateTime>
#include <QFont>

#include <algorithm>

namespace ws {

namespace {

// Sent rows green, received rows blue, as most traffic tools do; failures red.
const QColor SentBackground(0xE8, 0xF5, 0xE9);
const QColor ReceivedBackground(0xE7, 0xF0, 0xFA);
const QColor ErrorBackground(0xFD, 0xEC, 0xEA);
const QColor SentForeground(0x1B, 0x5E, 0x20);
const QColor ReceivedForeground(0x0D, 0x47, 0xA1);
const QColor ErrorForeground(0xC6, 0x28, 0x28);
const QColor NeutralForeground(0x55, 0x55, 0x55);
const QColor NoteMarker(0xF9, 0xA8, 0x25);
// A fault our own server staged on purpose: never to be taken for the peer's doing.
const QColor StagedForeground(0x6A, 0x1B, 0x9A);
const QColor StagedBackground(0xF3, 0xE5, 0xF5);

} // namespace

MessageLogModel::MessageLogModel(QObject *parent)
    : QAbstractTableModel(parent) {
    m_timer.setSingleShot(true);
    m_timer.setInterval(DefaultCoalescingMs);
    connect(&m_timer, &QTimer::timeout, this, &MessageLogModel::flushTimed);
}

void MessageLogModel::flushTimed() {
    const qsizetype batch = pendingCount();
    const qint64 intervalMs = std::max(1, m_timer.interval());
    flush();
    const qint64 perSecond = batch * 1000 / intervalMs;
    if (!m_flooded && perSecond >= FloodRecordsPerSecond)
        m_flooded = true;
    else if (m_flooded && perSecond < CalmRecordsPerSecond)
        m_flooded = false;
    m_timer.setInterval(m_flooded ? std::max(m_calmIntervalMs, FloodCoalescingMs)
                                  : m_calmIntervalMs);
}

MessageLogModel::~MessageLogModel() {
    // Announced as a reset, so that a proxy filtering the records on another thread
    // stops reading them before they go.
    clear();
}

void MessageLogModel::scheduleFlush() {
    // A record placed among rows already shown moved them in the store: the rows
    // must follow before anyone reads them again.
    if (const qsizetype first = m_store.firstInsertion(); first >= 0 && first < m_scanned) {
        flush();
        return;
    }
    if (!m_timer.isActive())
        m_timer.start();
}

void MessageLogModel::appendEvent(quint32 connection, const SessionEvent &event) {
    m_store.append(connection, event);
    scheduleFlush();
}

int MessageLogModel::appendRelayedRun(quint32 receivedOn, quint32 sentOn,
                                      const QByteArray &received, QByteArrayView sent,
                                      qint64 readUs, qint64 writtenUs) {
    const int messages =
        m_store.appendRelayedRun(receivedOn, sentOn, received, sent, readUs, writtenUs);
    scheduleFlush();
    return messages;
}

void MessageLogModel::appendRelayedMessage(quint32 receivedOn, quint32 sentOn,
                                           const FrameHeader &received, const FrameHeader &sent,
                                           const QByteArray &payload, qint64 readUs,
                                           qint64 writtenUs) {
    m_store.appendRelayedMessage(receivedOn, sentOn, received, sent, payload, readUs, writtenUs);
    scheduleFlush();
}

void MessageLogModel::appendEvents(quint32 connection, const QList<SessionEvent> &events) {
    for (const SessionEvent &event : events)
        m_store.append(connection, event);
    if (!events.isEmpty())
        scheduleFlush();
}

void MessageLogModel::insertRecord(const log::LogRecord &record, const log::LogRecordExtra &extra) {
    m_store.insertRecord(record, extra);
    scheduleFlush();
}

void MessageLogModel::placeInsertions() {
    const std::vector<qsizetype> inserted = m_store.takeInsertions();
    // The records that are rows already are the first m_scanned of the store that
    // were not just inserted; those inserted among them are `middle`.
    std::vector<qsizetype> middle;
    for (const qsizetype index : inserted) {
        if (index >= m_scanned + qsizetype(middle.size()))
            break;
        middle.push_back(index);
    }
    if (middle.empty())
        return;
    m_scanned += qsizetype(middle.size());
    for (const qsizetype index : middle)
        m_payloadBytes += m_store.at(index).payload.size();
    // Rows from the first insertion on point at records that moved up.
    const auto remap = [&middle](std::vector<quint32> &rows) {
        auto it = std::lower_bound(rows.begin(), rows.end(), quint32(middle.front()));
        size_t passed = 0;
        for (; it != rows.end(); ++it) {
            while (passed < middle.size() && middle[passed] <= qsizetype(*it + passed))
                ++passed;
            *it += quint32(passed);
        }
    };
    remap(m_messageRows);
    remap(m_frameRows);
    const auto wanted = m_mode == DisplayMode::Messages ? log::LogRecord::InMessageView
                                                        : log::LogRecord::InFrameView;
    const auto other = m_mode == DisplayMode::Messages ? log::LogRecord::InFrameView
                                                       : log::LogRecord::InMessageView;
    std::vector<quint32> &rows = activeRows();
    std::vector<quint32> &inactive = m_mode == DisplayMode::Messages ? m_frameRows : m_messageRows;
    for (const qsizetype index : middle) {
        const log::LogRecord &r = m_store.at(index);
        if (r.has(other))
            inactive.insert(std::lower_bound(inactive.begin(), inactive.end(), quint32(index)),
                            quint32(index));
        if (!r.has(wanted))
            continue;
        const auto at = std::lower_bound(rows.begin(), rows.end(), quint32(index));
        const int row = int(at - rows.begin());
        beginInsertRows({}, row, row);
        rows.insert(at, quint32(index));
        endInsertRows();
    }
}

void MessageLogModel::appendRecord(const log::LogRecord &record, const log::LogRecordExtra &extra) {
    m_store.appendRecord(record, extra);
    scheduleFlush();
}

qsizetype MessageLogModel::pendingCount() const {
    return m_store.size() - m_scanned + (m_store.hasPending() ? 1 : 0);
}

void MessageLogModel::setCoalescingInterval(int ms) {
    m_calmIntervalMs = std::clamp(ms, 0, 50);
    m_timer.setInterval(m_flooded ? std::max(m_calmIntervalMs, FloodCoalescingMs)
                                  : m_calmIntervalMs);
}

void MessageLogModel::flush() {
    m_timer.stop();
    m_store.commitPending();
    placeInsertions();
    const qsizetype total = m_store.size();
    if (total > m_scanned) {
        const auto wanted = m_mode == DisplayMode::Messages ? log::LogRecord::InMessageView
                                                            : log::LogRecord::InFrameView;
        const auto other = m_mode == DisplayMode::Messages ? log::LogRecord::InFrameView
                                                           : log::LogRecord::InMessageView;
        std::vector<quint32> &inactive =
            m_mode == DisplayMode::Messages ? m_frameRows : m_messageRows;
        m_scratch.clear();
        noteConnectionStarts(m_scanned, total);
        for (qsizetype i = m_scanned; i < total; ++i) {
            const log::LogRecord &r = m_store.at(i);
            m_payloadBytes += r.payload.size();
            if (r.has(wanted))
                m_scratch.push_back(quint32(i));
            if (r.has(other))
                inactive.push_back(quint32(i));
        }
        m_scanned = total;
        if (!m_scratch.empty()) {
            std::vector<quint32> &rows = activeRows();
            const int first = int(rows.size());
            beginInsertRows({}, first, first + int(m_scratch.size()) - 1);
            rows.insert(rows.end(), m_scratch.begin(), m_scratch.end());
            endInsertRows();
        }
        if (m_scratch.capacity() > 65536)
            std::vector<quint32>().swap(m_scratch);
    }
    enforceCapacity();
}

void MessageLogModel::enforceCapacity() {
    const bool overCapacity = m_capacity > 0 && m_store.size() > m_capacity;
    const bool overBudget = m_payloadBudget > 0 && m_payloadBytes > m_payloadBudget;
    if (!overCapacity && !overBudget)
        return;
    // Drop a slice beyond the excess so that trimming happens now and then, not at
    // every batch once the log is full: each trim costs time in proportion to the
    // rows that stay (the row lists shift, and the views' headers walk their sections).
    qsizetype drop = 0;
    if (overCapacity) {
        const qsizetype slice = std::max<qsizetype>(1, m_capacity / 8);
        drop = std::min(m_store.size(), m_store.size() - m_capacity + slice - 1);
    }
    qint64 droppedBytes = 0;
    for (qsizetype i = 0; i < drop; ++i)
        droppedBytes += m_store.at(i).payload.size();
    if (overBudget) {
        const qint64 target = m_payloadBudget - m_payloadBudget / 8;
        while (drop < m_store.size() && m_payloadBytes - droppedBytes > target)
            droppedBytes += m_store.at(drop++).payload.size();
    }
    m_payloadBytes -= droppedBytes;
    std::vector<quint32> &rows = activeRows();
    std::vector<quint32> &inactive = m_mode == DisplayMode::Messages ? m_frameRows : m_messageRows;
    const auto cutOf = [drop](const std::vector<quint32> &v) {
        return std::lower_bound(v.begin(), v.end(), quint32(drop)) - v.begin();
    };
    // The rows that stay move to the front and down by `drop` in one pass.
    const auto shift = [drop](std::vector<quint32> &v, qsizetype cut) {
        std::transform(v.begin() + cut, v.end(), v.begin(),
                       [drop](quint32 index) { return index - quint32(drop); });
        v.resize(v.size() - size_t(cut));
    };
    const qsizetype activeCut = cutOf(rows);
    if (activeCut > 0)
        beginRemoveRows({}, 0, int(activeCut) - 1);
    shift(rows, activeCut);
    shift(inactive, cutOf(inactive));
    std::vector<quint32> forgotten;
    m_store.dropOldest(drop, &forgotten);
    for (const quint32 connection : forgotten)
        m_connectionStartUs.remove(connection);
    m_scanned -= drop;
    // The reference keeps its time when its row goes.
    m_referenceIndex = m_referenceIndex >= drop ? m_referenceIndex - drop : -1;
    if (activeCut > 0)
        endRemoveRows();
    emit recordsDropped(drop);
}

void MessageLogModel::rebuildRows() {
    m_store.commitPending();
    m_store.takeInsertions();
    m_messageRows.clear();
    m_frameRows.clear();
    const qsizetype total = m_store.size();
    m_connectionStartUs.clear();
    noteConnectionStarts(0, total);
    m_payloadBytes = 0;
    for (qsizetype i = 0; i < total; ++i) {
        const log::LogRecord &r = m_store.at(i);
        m_payloadBytes += r.payload.size();
        if (r.has(log::LogRecord::InMessageView))
            m_messageRows.push_back(quint32(i));
        if (r.has(log::LogRecord::InFrameView))
            m_frameRows.push_back(quint32(i));
    }
    m_scanned = total;
}

void MessageLogModel::setDisplayMode(DisplayMode mode) {
    if (mode == m_mode)
        return;
    flush();
    beginResetModel();
    m_mode = mode;
    endResetModel();
    emit displayModeChanged(mode);
}

void MessageLogModel::setCapacity(qsizetype records) {
    m_capacity = std::max<qsizetype>(records, 0);
    flush();
}

void MessageLogModel::setPayloadBudget(qint64 bytes) {
    m_payloadBudget = std::max<qint64>(bytes, 0);
    flush();
}

void MessageLogModel::clear() {
    m_timer.stop();
    beginResetModel();
    m_store.clearRecords();
    m_messageRows.clear();
    m_frameRows.clear();
    m_messageRows.shrink_to_fit();
    m_frameRows.shrink_to_fit();
    m_scanned = 0;
    m_payloadBytes = 0;
    m_connectionStartUs.clear();
    m_referenceIndex = -1;
    m_hasReference = false;
    endResetModel();
}

void MessageLogModel::releaseConnections(const QList<quint32> &ids) {
    for (const quint32 connection : ids) {
        if (m_store.release(connection))
            m_connectionStartUs.remove(connection);
    }
}

void MessageLogModel::reload() {
    m_timer.stop();
    beginResetModel();
    rebuildRows();
    endResetModel();
    enforceCapacity();
}

qsizetype MessageLogModel::storeIndex(int row) const {
    const std::vector<quint32> &rows = activeRows();
    if (row < 0 || size_t(row) >= rows.size())
        return -1;
    return rows[size_t(row)];
}

const log::LogRecord *MessageLogModel::record(int row) const {
    const qsizetype index = storeIndex(row);
    return index < 0 ? nullptr : &m_store.at(index);
}

const log::LogRecordExtra *MessageLogModel::extra(int row) const {
    const qsizetype index = storeIndex(row);
    return index < 0 ? nullptr : m_store.extra(index);
}

int MessageLogModel::rowOfStoreIndex(qsizetype index) const {
    const std::vector<quint32> &rows = activeRows();
    if (index < 0)
        return -1;
    const auto it = std::lower_bound(rows.begin(), rows.end(), quint32(index));
    if (it == rows.end() || *it != quint32(index))
        return -1;
    return int(it - rows.begin());
}

qint64 MessageLogModel::memoryUsage() const {
    return m_store.memoryUsage() +
           qint64((m_messageRows.capacity() + m_frameRows.capacity()) * sizeof(quint32));
}

void MessageLogModel::noteConnectionStarts(qsizetype from, qsizetype to) {
    // A connection's records come in runs (a batch read, the frames it made): its
    // entry is looked up once a run. Only this lookup inserts, so the pointer holds.
    quint32 runConnection = 0;
    qint64 *runStart = nullptr;
    for (qsizetype i = from; i < to; ++i) {
        const log::LogRecord &r = m_store.at(i);
        if (!runStart || r.connection != runConnection) {
            auto it = m_connectionStartUs.find(r.connection);
            if (it == m_connectionStartUs.end())
                it = m_connectionStartUs.insert(r.connection, r.timestampUs);
            runStart = &*it;
            runConnection = r.connection;
        }
        if (r.timestampUs < *runStart)
            *runStart = r.timestampUs;
    }
}

void MessageLogModel::timeColumnChanged() {
    emit headerDataChanged(Qt::Horizontal, TimeColumn, TimeColumn);
    if (rowCount() > 0)
        emit dataChanged(index(0, TimeColumn), index(rowCount() - 1, TimeColumn),
                         {Qt::DisplayRole});
}

void MessageLogModel::setTimeFormat(TimeFormat format) {
    if (format == m_timeFormat)
        return;
    m_timeFormat = format;
    timeColumnChanged();
    emit timeFormatChanged(format);
}

void MessageLogModel::setTimeReference(qsizetype storeIndex) {
    if (storeIndex < 0 || storeIndex >= m_store.size()) {
        m_referenceIndex = -1;
        m_hasReference = false;
        timeColumnChanged();
        return;
    }
    m_referenceIndex = storeIndex;
    m_referenceUs = m_store.at(storeIndex).timestampUs;
    m_hasReference = true;
    if (m_timeFormat == TimeFormat::SinceReference)
        timeColumnChanged();
    else
        setTimeFormat(TimeFormat::SinceReference);
}

QString MessageLogModel::wallClockText(qint64 timestampUs) {
    const qint64 ms = timestampUs >= 0 ? timestampUs / 1000 : (timestampUs - 999) / 1000;
    const QDateTime when = QDateTime::fromMSecsSinceEpoch(ms);
    return when.toString(QStringLiteral("hh:mm:ss.zzz")) +
           QStringLiteral("%1").arg(timestampUs - ms * 1000, 3, 10, QLatin1Char('0'));
}

QString MessageLogModel::secondsText(qint64 deltaUs) {
    const quint64 magnitude = deltaUs < 0 ? quint64(0) - quint64(deltaUs) : quint64(deltaUs);
    return QStringLiteral("%1%2.%3")
        .arg(deltaUs < 0 ? QStringLiteral("-") : QString())
        .arg(magnitude / 1'000'000)
        .arg(magnitude % 1'000'000, 6, 10, QLatin1Char('0'));
}

QString MessageLogModel::widestTimeText() const {
    if (m_timeFormat == TimeFormat::WallClock)
        return QStringLiteral("00:00:00.000000");
    // Relative times: the longest span the log holds, both signs, at least 5 digits
    // of seconds (a day) so that the column does not grow every few minutes.
    qint64 span = 99'999'000'000;
    if (m_store.size() > 0)
        span = std::max(
            span, std::abs(m_store.at(m_store.size() - 1).timestampUs - m_store.at(0).timestampUs));
    QString text = QStringLiteral("-") + secondsText(span);
    for (QChar &c : text) {
        if (c.isDigit())
            c = QLatin1Char('0');
    }
    return text;
}

QString MessageLogModel::timeText(int row) const {
    const std::vector<quint32> &rows = activeRows();
    if (row < 0 || size_t(row) >= rows.size())
        return {};
    const qsizetype index = rows[size_t(row)];
    const log::LogRecord &record = m_store.at(index);
    switch (m_timeFormat) {
    case TimeFormat::WallClock:
        return wallClockText(record.timestampUs);
    case TimeFormat::SinceConnectionStart:
        return secondsText(record.timestampUs -
                           m_connectionStartUs.value(record.connection, record.timestampUs));
    case TimeFormat::SincePreviousRow:
        return secondsText(
            row == 0 ? 0 : record.timestampUs - m_store.at(rows[size_t(row) - 1]).timestampUs);
    case TimeFormat::SinceReference:
        if (index == m_referenceIndex)
            return QStringLiteral("*REF*");
        // Without a reference chosen, the log's first record is one.
        return secondsText(record.timestampUs -
                           (m_hasReference ? m_referenceUs : m_store.timeOriginUs()));
    case TimeFormat::SinceLogStart:
        return secondsText(record.timestampUs - m_store.timeOriginUs());
    }
    return {};
}

QString MessageLogModel::directionText(const log::LogRecord &record, log::Leg leg) {
    if (record.has(log::LogRecord::Undirected))
        return {};
    const bool outgoing = record.has(log::LogRecord::Outgoing);
    switch (leg) {
    case log::Leg::Client:
        return outgoing ? tr("\u2192 to client") : tr("\u2190 from client");
    case log::Leg::Server:
        return outgoing ? tr("\u2192 to server") : tr("\u2190 from server");
    case log::Leg::None:
        break;
    }
    return outgoing ? QStringLiteral("\u2192 sent") : QStringLiteral("\u2190 received");
}

QString MessageLogModel::kindText(const log::LogRecord &record) {
    QString text = QLatin1String(log::logKindName(record.kind));
    if (record.isFrame() &&
        (record.kind == log::LogKind::Text || record.kind == log::LogKind::Binary) &&
        !(record.headerByte0 & FinBit))
        text += QLatin1String(" (first fragment)");
    else if (record.isFrame() && record.kind == log::LogKind::Continuation &&
             (record.headerByte0 & 0x80))
        text += QLatin1String(" (last)");
    else if (!record.isFrame() && record.frameCount > 1)
        text += QStringLiteral(" (%1 frames)").arg(record.frameCount);
    if (record.has(log::LogRecord::Compressed))
        text += QLatin1String(" (compressed)");
    return text;
}

bool MessageLogModel::isStaged(const log::LogRecord &record, qsizetype storeRow) const {
    if (record.kind != log::LogKind::Note)
        return false;
    const log::LogRecordExtra *extra = m_store.extraOf(record, storeRow);
    return extra && !extra->notes.isEmpty() &&
           extra->notes.constFirst().kind == ConformanceNote::Kind::Staged;
}

QString MessageLogModel::lengthText(const log::LogRecord &record) {
    switch (record.kind) {
    case log::LogKind::Error:
    case log::LogKind::Note:
    case log::LogKind::Handshake:
    case log::LogKind::State:
        return {};
    default:
        break;
    }
    // A frame shows the length its header declared; a message the bytes it carried,
    // and when an extension compressed it, the payload bytes its frames had on the
    // wire too (RFC 7692): the two legs of a relayed pair may differ in just that.
    if (record.isFrame())
        return QString::number(record.length);
    if (record.has(log::LogRecord::Compressed))
        return tr("%1 (%2 on the wire)").arg(record.payload.size()).arg(record.length);
    return QString::number(record.payload.size());
}

int MessageLogModel::rowCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : int(activeRows().size());
}

int MessageLogModel::columnCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant MessageLogModel::data(const QModelIndex &index, int role) const {
    if (!index.isValid() || index.row() >= int(activeRows().size()))
        return {};
    const qsizetype storeRow = activeRows()[size_t(index.row())];
    const log::LogRecord &r = m_store.at(storeRow);
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case TimeColumn:
            return timeText(index.row());
        case ConnectionColumn:
            return m_store.connectionName(r.connection);
        case DirectionColumn:
            return directionText(r, m_store.connectionLeg(r.connection));
        case KindColumn:
            return kindText(r);
        case LengthColumn:
            return lengthText(r);
        case PreviewColumn:
            return log::recordPreview(r, m_store.extraOf(r, storeRow));
        }
        return {};
    case Qt::TextAlignmentRole:
        if (index.column() == TimeColumn || index.column() == LengthColumn)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        return int(Qt::AlignLeft | Qt::AlignVCenter);
    case Qt::ForegroundRole:
        if (r.isError())
            return QBrush(ErrorForeground);
        if (isStaged(r, storeRow))
            return QBrush(StagedForeground);
        if (r.has(log::LogRecord::Undirected) || r.kind == log::LogKind::Handshake ||
            r.kind == log::LogKind::Note)
            return QBrush(NeutralForeground);
        return QBrush(r.has(log::LogRecord::Outgoing) ? SentForeground : ReceivedForeground);
    case Qt::BackgroundRole:
        if (r.isError())
            return QBrush(ErrorBackground);
        if (isStaged(r, storeRow))
            return QBrush(StagedBackground);
        if (r.has(log::LogRecord::Undirected))
            return {};
        return QBrush(r.has(log::LogRecord::Outgoing) ? SentBackground : ReceivedBackground);
    case Qt::DecorationRole:
        if (index.column() == KindColumn && r.has(log::LogRecord::HasNotes))
            return NoteMarker;
        return {};
    case Qt::ToolTipRole:
        if (index.column() == LengthColumn && r.has(log::LogRecord::Compressed) && !r.isFrame())
            return tr("%1 bytes inflated, %2 payload bytes on the wire (permessage-deflate, "
                      "RFC 7692)")
                .arg(r.payload.size())
                .arg(r.length);
        if (r.has(log::LogRecord::HasNotes)) {
            QStringList lines;
            if (const log::LogRecordExtra *e = m_store.extraOf(r, storeRow)) {
                for (const ConformanceNote &note : e->notes)
                    lines.append(QLatin1String(log::noteKindName(note.kind)) + QLatin1String(": ") +
                                 note.text);
            }
            return lines.join(QLatin1Char('\n'));
        }
        return {};
    case Qt::FontRole:
        if (r.kind == log::LogKind::State || r.kind == log::LogKind::Handshake) {
            QFont font;
            font.setItalic(true);
            return font;
        }
        return {};
    case StoreIndexRole:
        return QVariant::fromValue(storeRow);
    case RecordRole:
        return QVariant::fromValue(quintptr(&r));
    case KindRole:
        return int(r.kind);
    case DirectionRole:
        return r.has(log::LogRecord::Undirected) ? 2 : (r.has(log::LogRecord::Outgoing) ? 1 : 0);
    case ConnectionRole:
        return uint(r.connection);
    case TimestampRole:
        return QVariant::fromValue(r.timestampUs);
    case HasNotesRole:
        return r.has(log::LogRecord::HasNotes);
    case IsErrorRole:
        return r.isError();
    default:
        return {};
    }
}

QVariant MessageLogModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::DisplayRole) {
        switch (section) {
        case TimeColumn:
            switch (m_timeFormat) {
            case TimeFormat::WallClock:
                return tr("Time");
            case TimeFormat::SinceConnectionStart:
                return tr("Since connection (s)");
            case TimeFormat::SincePreviousRow:
                return tr("Since previous (s)");
            case TimeFormat::SinceReference:
                return tr("Since reference (s)");
            case TimeFormat::SinceLogStart:
                return tr("Since log start (s)");
            }
            return {};
        case ConnectionColumn:
            return tr("Connection");
        case DirectionColumn:
            return tr("Direction");
        case KindColumn:
            return tr("Kind");
        case LengthColumn:
            return tr("Length");
        case PreviewColumn:
            return tr("Preview");
        }
    }
    if (role == Qt::TextAlignmentRole && (section == TimeColumn || section == LengthColumn))
        return int(Qt::AlignRight | Qt::AlignVCenter);
    return {};
}

} // namespace ws

#include "logfilterproxy.h"

#include "messagelogmodel.h"

#include <QMutexLocker>

#include <algorithm>
#include <atomic>
#include <deque>

namespace ws {

// A re-filter running on the worker: a snapshot of what to read, and its result.
struct LogFilterProxy::Job {
    Criteria criteria; // compiled for the worker: nothing in it is shared with the GUI thread
    log::DisplayFilterContext context;
    // The source rows when the job started, as record pointers: records do not move
    // while the log holds them.
    std::vector<const log::LogRecord *> records;
    // Copies of the extras, when the filter reads them (the log's extras may move
    // as it grows): one pointer per record, null when it has none.
    std::vector<const log::LogRecordExtra *> extras;
    std::deque<log::LogRecordExtra> extraCopies;
    std::atomic<bool> cancelled{false};
    size_t removedFront = 0;   // guarded by m_workMutex: snapshot rows the log dropped
    std::vector<int> accepted; // snapshot rows that pass; the worker's until it reports
};

namespace {

// Rows a worker evaluates between two looks at the lock: short enough that the log
// dropping rows never waits long for it.
constexpr size_t BlockSize = 1024;

} // namespace

bool LogFilterProxy::Criteria::isFiltering() const {
    return !connections.isEmpty() || directions != Directions(AllDirections) ||
           kinds != log::AllLogKinds || !filter.isEmpty();
}

bool LogFilterProxy::Criteria::accepts(const log::LogRecord &record,
                                       const log::LogRecordExtra *extra,
                                       log::DisplayFilterContext &context) const {
    if (!connections.isEmpty() && !connections.contains(record.connection))
        return false;
    const DirectionFlag direction = record.has(log::LogRecord::Undirected) ? Undirected
                                    : record.has(log::LogRecord::Outgoing) ? Sent
                                                                           : Received;
    if (!directions.testFlag(direction))
        return false;
    if (!(kinds & log::logKindBit(record.kind)))
        return false;
    return filter.matches(record, extra, context);
}

LogFilterProxy::LogFilterProxy(QObject *parent)
    : QAbstractProxyModel(parent) {
    m_pool.setMaxThreadCount(1);
    m_pool.setObjectName(QStringLiteral("LogFilterProxy"));
}

LogFilterProxy::~LogFilterProxy() {
    cancelJob();
    m_pool.waitForDone();
}

void LogFilterProxy::setSourceModel(QAbstractItemModel *newSource) {
    auto *log = qobject_cast<MessageLogModel *>(newSource);
    Q_ASSERT_X(!newSource || log, "LogFilterProxy", "the source must be a MessageLogModel");
    beginResetModel();
    cancelJob();
    {
        // The worker is between blocks and, cancelled, reads no more records.
        const QMutexLocker lock(&m_workMutex);
    }
    for (const QMetaObject::Connection &c : std::as_const(m_connectionsToSource))
        disconnect(c);
    m_connectionsToSource.clear();
    QAbstractProxyModel::setSourceModel(log);
    m_log = log;
    if (log) {
        const auto aboutToReset = [this] {
            beginResetModel();
            // The records the worker reads may go: stop it and keep it stopped.
            cancelJob();
            m_workMutex.lock();
            m_holdingJob = true;
        };
        const auto reset = [this] {
            if (m_holdingJob) {
                m_holdingJob = false;
                m_workMutex.unlock();
            }
            rebuildAfterReset();
            endResetModel();
        };
        m_connectionsToSource = {
            connect(log, &QAbstractItemModel::rowsAboutToBeInserted, this,
                    &LogFilterProxy::onRowsAboutToBeInserted),
            connect(log, &QAbstractItemModel::rowsInserted, this, &LogFilterProxy::onRowsInserted),
            connect(log, &QAbstractItemModel::rowsAboutToBeRemoved, this,
                    &LogFilterProxy::onRowsAboutToBeRemoved),
            connect(log, &QAbstractItemModel::rowsRemoved, this, &LogFilterProxy::onRowsRemoved),
            connect(log, &QAbstractItemModel::modelAboutToBeReset, this, aboutToReset),
            connect(log, &QAbstractItemModel::modelReset, this, reset),
            // The log never reorders; should a source do it, start over.
            connect(log, &QAbstractItemModel::layoutAboutToBeChanged, this, aboutToReset),
            connect(log, &QAbstractItemModel::layoutChanged, this, reset),
            connect(log, &QAbstractItemModel::dataChanged, this, &LogFilterProxy::onDataChanged),
            connect(log, &QAbstractItemModel::headerDataChanged, this,
                    &QAbstractItemModel::headerDataChanged),
        };
    }
    rebuildAfterReset();
    endResetModel();
}

void LogFilterProxy::prepareContext(const Criteria &criteria) const {
    if (!m_log)
        return;
    const log::LogStore &store = m_log->store();
    m_context.setTimeOrigin(store.timeOriginUs());
    if (criteria.filter.usesConnectionNames())
        m_context.setConnections(store.connections());
}

bool LogFilterProxy::accepts(const log::LogRecord &record, const log::LogRecordExtra *extra) const {
    prepareContext(m_shown);
    return m_shown.accepts(record, extra, m_context);
}

bool LogFilterProxy::acceptsSourceRow(const Criteria &criteria, int sourceRow) const {
    const qsizetype index = m_log->storeIndex(sourceRow);
    if (index < 0)
        return false;
    const log::LogRecord &record = m_log->store().at(index);
    return criteria.accepts(record, m_log->store().extraOf(record, index), m_context);
}

std::vector<int> LogFilterProxy::filterAll(const Criteria &criteria) const {
    std::vector<int> rows;
    if (!m_log)
        return rows;
    const int count = m_log->rowCount();
    if (!criteria.isFiltering()) {
        rows.resize(size_t(count));
        for (int row = 0; row < count; ++row)
            rows[size_t(row)] = row;
        return rows;
    }
    prepareContext(criteria);
    for (int row = 0; row < count; ++row) {
        if (acceptsSourceRow(criteria, row))
            rows.push_back(row);
    }
    rows.shrink_to_fit();
    return rows;
}

void LogFilterProxy::rebuildAfterReset() {
    // Inside a reset: the rows are replaced without signals of their own.
    m_rows.clear();
    m_tail.clear();
    m_shown = m_pending;
    if (!m_log)
        return;
    if (m_pending.isFiltering() && m_log->rowCount() > m_asyncThreshold) {
        // Shown empty until the worker is done; rows appended meanwhile are
        // filtered as they come.
        startJob();
        return;
    }
    m_rows = filterAll(m_pending);
}

void LogFilterProxy::showRows(std::vector<int> rows) {
    // One layout change for the whole re-filter; the rows that stay keep their
    // persistent indexes (the current row and the selection follow them).
    emit layoutAboutToBeChanged({}, QAbstractItemModel::VerticalSortHint);
    const QModelIndexList before = persistentIndexList();
    std::vector<int> sourceRows;
    sourceRows.reserve(size_t(before.size()));
    for (const QModelIndex &index : before)
        sourceRows.push_back(index.row() < int(m_rows.size()) ? m_rows[size_t(index.row())] : -1);
    m_rows = std::move(rows);
    QModelIndexList after;
    after.reserve(before.size());
    for (qsizetype i = 0; i < before.size(); ++i) {
        const auto it = std::lower_bound(m_rows.begin(), m_rows.end(), sourceRows[size_t(i)]);
        if (sourceRows[size_t(i)] >= 0 && it != m_rows.end() && *it == sourceRows[size_t(i)])
            after.append(createIndex(int(it - m_rows.begin()), before.at(i).column()));
        else
            after.append(QModelIndex());
    }
    changePersistentIndexList(before, after);
    emit layoutChanged({}, QAbstractItemModel::VerticalSortHint);
}

void LogFilterProxy::criteriaChanged() {
    cancelJob();
    // Showing everything needs no evaluation: only a filter goes to the worker.
    if (m_log && m_log->rowCount() > m_asyncThreshold && m_pending.isFiltering()) {
        startJob();
        return;
    }
    m_shown = m_pending;
    showRows(filterAll(m_pending));
    emit filteringFinished();
}

void LogFilterProxy::cancelJob() {
    if (!m_job)
        return;
    m_job->cancelled = true;
    m_job.reset();
    m_tail.clear();
}

void LogFilterProxy::startJob() {
    auto job = std::make_shared<Job>();
    job->criteria = m_pending;
    // Its own compilation: the worker shares nothing mutable with the GUI thread.
    job->criteria.filter = log::DisplayFilter::compile(m_pending.filter.text());
    const log::LogStore &store = m_log->store();
    job->context.setTimeOrigin(store.timeOriginUs());
    if (job->criteria.filter.usesConnectionNames())
        job->context.setConnections(store.connections());
    const int count = m_log->rowCount();
    const bool copyExtras = job->criteria.filter.needsExtra();
    job->records.resize(size_t(count));
    if (copyExtras)
        job->extras.assign(size_t(count), nullptr);
    for (int row = 0; row < count; ++row) {
        const qsizetype index = m_log->storeIndex(row);
        const log::LogRecord &record = store.at(index);
        job->records[size_t(row)] = &record;
        if (copyExtras) {
            if (const log::LogRecordExtra *extra = store.extraOf(record, index)) {
                job->extraCopies.push_back(*extra);
                job->extras[size_t(row)] = &job->extraCopies.back();
            }
        }
    }
    m_job = job;
    m_tail.clear();
    m_pool.start([this, job] {
        const size_t total = job->records.size();
        size_t position = 0;
        while (position < total) {
            QMutexLocker lock(&m_workMutex);
            if (job->cancelled)
                return;
            position = std::max(position, job->removedFront);
            const size_t end = std::min(total, position + BlockSize);
            for (; position < end; ++position) {
                const log::LogRecordExtra *extra =
                    job->extras.empty() ? nullptr : job->extras[position];
                if (job->criteria.accepts(*job->records[position], extra, job->context))
                    job->accepted.push_back(int(position));
            }
        }
        if (job->cancelled)
            return;
        // The proxy outlives its workers (its destructor waits for them).
        QMetaObject::invokeMethod(
            this, [this, job] { finishJob(job); }, Qt::QueuedConnection);
    });
    emit filteringStarted();
}

void LogFilterProxy::finishJob(const std::shared_ptr<Job> &job) {
    if (job != m_job || job->cancelled)
        return;
    std::vector<int> rows;
    rows.reserve(job->accepted.size() + m_tail.size());
    for (const int position : job->accepted) {
        if (size_t(position) >= job->removedFront)
            rows.push_back(position - int(job->removedFront));
    }
    rows.insert(rows.end(), m_tail.begin(), m_tail.end());
    m_job.reset();
    m_tail.clear();
    m_shown = m_pending;
    showRows(std::move(rows));
    emit filteringFinished();
}

void LogFilterProxy::setConnectionFilter(const QSet<quint32> &connections) {
    if (connections == m_pending.connections)
        return;
    m_pending.connections = connections;
    criteriaChanged();
}

void LogFilterProxy::setDirectionFilter(Directions directions) {
    if (directions == m_pending.directions)
        return;
    m_pending.directions = directions;
    criteriaChanged();
}

void LogFilterProxy::setKindFilter(log::LogKindSet kinds) {
    kinds &= log::AllLogKinds;
    if (kinds == m_pending.kinds)
        return;
    m_pending.kinds = kinds;
    criteriaChanged();
}

bool LogFilterProxy::setDisplayFilter(const QString &text) {
    log::DisplayFilter filter = log::DisplayFilter::compile(text);
    m_filterError = filter.error();
    if (!filter.isValid())
        return false;
    if (filter.text().trimmed() == m_pending.filter.text().trimmed())
        return true;
    m_pending.filter = std::move(filter);
    criteriaChanged();
    return true;
}

void LogFilterProxy::resetFilters() {
    m_pending = Criteria();
    m_filterError = {};
    criteriaChanged();
}

bool LogFilterProxy::isFiltering() const {
    return m_shown.isFiltering();
}

qsizetype LogFilterProxy::storeIndex(int proxyRow) const {
    if (!m_log || proxyRow < 0 || size_t(proxyRow) >= m_rows.size())
        return -1;
    return m_log->storeIndex(m_rows[size_t(proxyRow)]);
}

QModelIndex LogFilterProxy::mapToSource(const QModelIndex &proxyIndex) const {
    if (!m_log || !proxyIndex.isValid() || size_t(proxyIndex.row()) >= m_rows.size())
        return {};
    return m_log->index(m_rows[size_t(proxyIndex.row())], proxyIndex.column());
}

QModelIndex LogFilterProxy::mapFromSource(const QModelIndex &sourceIndex) const {
    if (!m_log || !sourceIndex.isValid() || sourceIndex.model() != m_log)
        return {};
    const auto it = std::lower_bound(m_rows.begin(), m_rows.end(), sourceIndex.row());
    if (it == m_rows.end() || *it != sourceIndex.row())
        return {};
    return createIndex(int(it - m_rows.begin()), sourceIndex.column());
}

QModelIndex LogFilterProxy::index(int row, int column, const QModelIndex &parent) const {
    if (parent.isValid() || row < 0 || size_t(row) >= m_rows.size() || column < 0 ||
        column >= columnCount())
        return {};
    return createIndex(row, column);
}

QModelIndex LogFilterProxy::parent(const QModelIndex &) const {
    return {};
}

int LogFilterProxy::rowCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : int(m_rows.size());
}

QVariant LogFilterProxy::data(const QModelIndex &proxyIndex, int role) const {
    // As Wireshark's "since previous displayed packet": a gap the filter hides rows
    // from is the gap the reader sees.
    if (m_log && role == Qt::DisplayRole && proxyIndex.isValid() &&
        proxyIndex.column() == MessageLogModel::TimeColumn &&
        m_log->timeFormat() == MessageLogModel::TimeFormat::SincePreviousRow) {
        const qsizetype index = storeIndex(proxyIndex.row());
        if (index >= 0) {
            const qsizetype previous = storeIndex(proxyIndex.row() - 1);
            const log::LogStore &store = m_log->store();
            return MessageLogModel::secondsText(
                previous < 0 ? 0 : store.at(index).timestampUs - store.at(previous).timestampUs);
        }
    }
    return QAbstractProxyModel::data(proxyIndex, role);
}

int LogFilterProxy::columnCount(const QModelIndex &parent) const {
    return parent.isValid() || !m_log ? 0 : m_log->columnCount();
}

void LogFilterProxy::onRowsAboutToBeInserted(const QModelIndex &, int, int) {
    // Which of the new rows pass is only known once they are there.
}

void LogFilterProxy::onRowsInserted(const QModelIndex &parent, int first, int last) {
    if (parent.isValid())
        return;
    const int count = last - first + 1;
    // Rows after the insertion point moved down in the source (the log appends, so
    // normally there are none).
    const auto position = std::lower_bound(m_rows.begin(), m_rows.end(), first);
    for (auto it = position; it != m_rows.end(); ++it)
        *it += count;
    if (m_job) {
        // The worker's snapshot ends before these: the coming criteria see them here.
        prepareContext(m_pending);
        for (int row = first; row <= last; ++row) {
            if (!m_pending.isFiltering() || acceptsSourceRow(m_pending, row))
                m_tail.push_back(row);
        }
    }
    std::vector<int> accepted;
    const bool filtering = m_shown.isFiltering();
    if (filtering)
        prepareContext(m_shown);
    for (int row = first; row <= last; ++row) {
        if (!filtering || acceptsSourceRow(m_shown, row))
            accepted.push_back(row);
    }
    if (accepted.empty())
        return;
    const int at = int(position - m_rows.begin());
    beginInsertRows({}, at, at + int(accepted.size()) - 1);
    m_rows.insert(m_rows.begin() + at, accepted.begin(), accepted.end());
    endInsertRows();
}

void LogFilterProxy::onRowsAboutToBeRemoved(const QModelIndex &parent, int first, int last) {
    m_removeFirst = m_removeLast = -1;
    if (parent.isValid())
        return;
    if (m_job) {
        // The records behind these rows are about to go: wait for the worker to be
        // between blocks, and keep it there until they are gone.
        m_workMutex.lock();
        m_holdingJob = true;
        if (first == 0) {
            m_job->removedFront += size_t(last + 1);
        } else {
            // Not the log's way (it drops the oldest): start over once they are gone.
            m_job->cancelled = true;
        }
    }
    const auto from = std::lower_bound(m_rows.begin(), m_rows.end(), first);
    const auto to = std::upper_bound(from, m_rows.end(), last);
    if (from == to)
        return;
    m_removeFirst = int(from - m_rows.begin());
    m_removeLast = int(to - m_rows.begin()) - 1;
    beginRemoveRows({}, m_removeFirst, m_removeLast);
}

void LogFilterProxy::onRowsRemoved(const QModelIndex &parent, int first, int last) {
    if (parent.isValid())
        return;
    const int count = last - first + 1;
    const bool removing = m_removeFirst >= 0;
    if (removing) {
        // The rows after the removed ones close the gap and move down by `count`, in
        // one pass (the log drops its oldest rows: most of the list moves).
        const auto kept = std::transform(m_rows.begin() + m_removeLast + 1, m_rows.end(),
                                         m_rows.begin() + m_removeFirst,
                                         [count](int row) { return row - count; });
        m_rows.erase(kept, m_rows.end());
    } else {
        for (auto it = std::lower_bound(m_rows.begin(), m_rows.end(), last + 1); it != m_rows.end();
             ++it)
            *it -= count;
    }
    // Rows appended during the job move down with the rest.
    m_tail.erase(std::remove_if(m_tail.begin(), m_tail.end(),
                                [first, last](int row) { return row >= first && row <= last; }),
                 m_tail.end());
    for (int &row : m_tail) {
        if (row > last)
            row -= count;
    }
    m_removeFirst = m_removeLast = -1;
    if (m_holdingJob) {
        m_holdingJob = false;
        m_workMutex.unlock();
    }
    if (removing)
        endRemoveRows();
    if (m_job && m_job->cancelled) {
        m_job.reset();
        m_tail.clear();
        criteriaChanged();
    }
}

void LogFilterProxy::onDataChanged(const QModelIndex &topLeft, const QModelIndex &bottomRight,
                                   const QList<int> &roles) {
    // Rows are not re-filtered when their data changes: a log row does not change.
    const auto from = std::lower_bound(m_rows.begin(), m_rows.end(), topLeft.row());
    const auto to = std::upper_bound(from, m_rows.end(), bottomRight.row());
    if (from == to)
        return;
    emit dataChanged(createIndex(int(from - m_rows.begin()), topLeft.column()),
                     createIndex(int(to - m_rows.begin()) - 1, bottomRight.column()), roles);
}

} // namespace ws

#include "logfilterproxy.h"

#include "messagelogmodel.h"

#include <algorithm>

namespace ws {

LogFilterProxy::LogFilterProxy(QObject *parent)
    : QAbstractProxyModel(parent) {}

LogFilterProxy::~LogFilterProxy() = default;

void LogFilterProxy::setSourceModel(QAbstractItemModel *newSource) {
    auto *log = qobject_cast<MessageLogModel *>(newSource);
    Q_ASSERT_X(!newSource || log, "LogFilterProxy", "the source must be a MessageLogModel");
    beginResetModel();
    for (const QMetaObject::Connection &c : std::as_const(m_connectionsToSource))
        disconnect(c);
    m_connectionsToSource.clear();
    QAbstractProxyModel::setSourceModel(log);
    m_log = log;
    if (log) {
        m_connectionsToSource = {
            connect(log, &QAbstractItemModel::rowsAboutToBeInserted, this,
                    &LogFilterProxy::onRowsAboutToBeInserted),
            connect(log, &QAbstractItemModel::rowsInserted, this, &LogFilterProxy::onRowsInserted),
            connect(log, &QAbstractItemModel::rowsAboutToBeRemoved, this,
                    &LogFilterProxy::onRowsAboutToBeRemoved),
            connect(log, &QAbstractItemModel::rowsRemoved, this, &LogFilterProxy::onRowsRemoved),
            connect(log, &QAbstractItemModel::modelAboutToBeReset, this,
                    [this] { beginResetModel(); }),
            connect(log, &QAbstractItemModel::modelReset, this,
                    [this] {
                        rebuild();
                        endResetModel();
                    }),
            // The log never reorders; should a source do it, start over.
            connect(log, &QAbstractItemModel::layoutAboutToBeChanged, this,
                    [this] { beginResetModel(); }),
            connect(log, &QAbstractItemModel::layoutChanged, this,
                    [this] {
                        rebuild();
                        endResetModel();
                    }),
            connect(log, &QAbstractItemModel::dataChanged, this, &LogFilterProxy::onDataChanged),
            connect(log, &QAbstractItemModel::headerDataChanged, this,
                    &QAbstractItemModel::headerDataChanged),
        };
    }
    rebuild();
    endResetModel();
}

bool LogFilterProxy::accepts(const log::LogRecord &record, const log::LogRecordExtra *extra) const {
    if (!m_connections.isEmpty() && !m_connections.contains(record.connection))
        return false;
    const DirectionFlag direction = record.has(log::LogRecord::Undirected) ? Undirected
                                    : record.has(log::LogRecord::Outgoing) ? Sent
                                                                           : Received;
    if (!m_directions.testFlag(direction))
        return false;
    if (!(m_kinds & log::logKindBit(record.kind)))
        return false;
    if (m_text.isEmpty())
        return true;
    const QString preview = log::recordPreview(record, extra);
    if (m_textMode == TextMode::RegularExpression)
        return m_regex.match(preview).hasMatch();
    return preview.contains(m_text, m_sensitivity);
}

bool LogFilterProxy::acceptsSourceRow(int sourceRow) const {
    const qsizetype index = m_log->storeIndex(sourceRow);
    if (index < 0)
        return false;
    const log::LogRecord &record = m_log->store().at(index);
    return accepts(record, m_log->store().extraOf(record, index));
}

void LogFilterProxy::rebuild() {
    m_rows.clear();
    if (!m_log)
        return;
    const int count = m_log->rowCount();
    if (!isFiltering()) {
        m_rows.resize(size_t(count));
        for (int row = 0; row < count; ++row)
            m_rows[size_t(row)] = row;
        return;
    }
    for (int row = 0; row < count; ++row) {
        if (acceptsSourceRow(row))
            m_rows.push_back(row);
    }
    m_rows.shrink_to_fit();
}

void LogFilterProxy::refilter() {
    // One layout change for the whole re-filter; the rows that stay keep their
    // persistent indexes (the current row and the selection follow them).
    emit layoutAboutToBeChanged({}, QAbstractItemModel::VerticalSortHint);
    const QModelIndexList before = persistentIndexList();
    std::vector<int> sourceRows;
    sourceRows.reserve(size_t(before.size()));
    for (const QModelIndex &index : before)
        sourceRows.push_back(index.row() < int(m_rows.size()) ? m_rows[size_t(index.row())] : -1);
    rebuild();
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

void LogFilterProxy::setConnectionFilter(const QSet<quint32> &connections) {
    if (connections == m_connections)
        return;
    m_connections = connections;
    refilter();
}

void LogFilterProxy::setDirectionFilter(Directions directions) {
    if (directions == m_directions)
        return;
    m_directions = directions;
    refilter();
}

void LogFilterProxy::setKindFilter(log::LogKindSet kinds) {
    kinds &= log::AllLogKinds;
    if (kinds == m_kinds)
        return;
    m_kinds = kinds;
    refilter();
}

bool LogFilterProxy::setTextFilter(const QString &text, TextMode mode,
                                   Qt::CaseSensitivity sensitivity) {
    m_textError.clear();
    QRegularExpression regex;
    if (mode == TextMode::RegularExpression && !text.isEmpty()) {
        QRegularExpression::PatternOptions options = QRegularExpression::UseUnicodePropertiesOption;
        if (sensitivity == Qt::CaseInsensitive)
            options |= QRegularExpression::CaseInsensitiveOption;
        regex = QRegularExpression(text, options);
        if (!regex.isValid()) {
            m_textError = regex.errorString();
            m_text.clear();
            m_regex = {};
            refilter();
            return false;
        }
        regex.optimize();
    }
    m_text = text;
    m_textMode = mode;
    m_sensitivity = sensitivity;
    m_regex = regex;
    refilter();
    return true;
}

void LogFilterProxy::resetFilters() {
    m_connections.clear();
    m_directions = AllDirections;
    m_kinds = log::AllLogKinds;
    m_text.clear();
    m_regex = {};
    m_textError.clear();
    refilter();
}

bool LogFilterProxy::isFiltering() const {
    return !m_connections.isEmpty() || m_directions != Directions(AllDirections) ||
           m_kinds != log::AllLogKinds || !m_text.isEmpty();
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
    std::vector<int> accepted;
    for (int row = first; row <= last; ++row) {
        if (!isFiltering() || acceptsSourceRow(row))
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
    if (removing)
        m_rows.erase(m_rows.begin() + m_removeFirst, m_rows.begin() + m_removeLast + 1);
    for (auto it = std::lower_bound(m_rows.begin(), m_rows.end(), last + 1); it != m_rows.end();
         ++it)
        *it -= count;
    m_removeFirst = m_removeLast = -1;
    if (removing)
        endRemoveRows();
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

#include "models/proberesultsmodel.h"

#include "probe/catalogue.h"

namespace ws {

using probe::Verdict;

QColor verdictBackground(Verdict verdict) {
    switch (verdict) {
    case Verdict::Ok:
        return QColor(0x2e, 0x7d, 0x32);
    case Verdict::NonStrict:
        return QColor(0xf9, 0xc8, 0x2b);
    case Verdict::Informational:
        return QColor(0x42, 0x7d, 0xb8);
    case Verdict::Unimplemented:
        return QColor(0x9e, 0x9e, 0x9e);
    case Verdict::Failed:
    case Verdict::WrongCode:
    case Verdict::Unclean:
        return QColor(0xc6, 0x28, 0x28);
    case Verdict::FailedByClient:
        return QColor(0xef, 0x6c, 0x00);
    }
    return {};
}

QColor verdictForeground(Verdict verdict) {
    // Yellow is too light for white text.
    return verdict == Verdict::NonStrict ? QColor(Qt::black) : QColor(Qt::white);
}

QVariant verdictCellColor(Verdict verdict, int role) {
    if (role == Qt::BackgroundRole)
        return verdictBackground(verdict);
    if (role == Qt::ForegroundRole)
        return verdictForeground(verdict);
    return {};
}

ProbeResultsModel::ProbeResultsModel(QObject *parent)
    : QAbstractTableModel(parent) {}

void ProbeResultsModel::setResults(const QList<probe::CaseResult> &results) {
    beginResetModel();
    m_results = results;
    endResetModel();
}

void ProbeResultsModel::append(const QList<probe::CaseResult> &results) {
    if (results.isEmpty())
        return;
    const int row = int(m_results.size());
    beginInsertRows({}, row, row + int(results.size()) - 1);
    m_results.append(results);
    endInsertRows();
}

QMap<Verdict, int> ProbeResultsModel::behaviorCounts() const {
    QMap<Verdict, int> counts;
    for (const probe::CaseResult &r : m_results)
        ++counts[r.behavior];
    return counts;
}

QMap<Verdict, int> ProbeResultsModel::closeCounts() const {
    QMap<Verdict, int> counts;
    for (const probe::CaseResult &r : m_results)
        ++counts[r.behaviorClose];
    return counts;
}

int ProbeResultsModel::failureCount() const {
    return int(std::count_if(m_results.begin(), m_results.end(),
                             [](const probe::CaseResult &r) { return r.isFailure(); }));
}

int ProbeResultsModel::rowCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : int(m_results.size());
}

int ProbeResultsModel::columnCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ProbeResultsModel::data(const QModelIndex &index, int role) const {
    if (!index.isValid() || index.row() >= m_results.size())
        return {};
    const probe::CaseResult &r = m_results.at(index.row());
    const int column = index.column();
    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
        case IdColumn:
            return r.id;
        case DescriptionColumn:
            return r.description;
        case BehaviorColumn:
            return probe::verdictName(r.behavior);
        case CloseColumn:
            return probe::verdictName(r.behaviorClose);
        case DurationColumn:
            return tr("%1 ms").arg(r.durationMs);
        }
        break;
    case SortRole:
        // Verdicts in the order of probe::Verdict (OK first), durations as numbers.
        if (column == BehaviorColumn)
            return int(r.behavior);
        if (column == CloseColumn)
            return int(r.behaviorClose);
        if (column == DurationColumn)
            return r.durationMs;
        return data(index, Qt::DisplayRole);
    case Qt::ToolTipRole:
        if (column == BehaviorColumn || column == DescriptionColumn)
            return tr("<p><b>%1</b> %2</p><p><b>Expected:</b> %3<br><b>Rule:</b> %4</p>"
                      "<p><b>Result:</b> %5</p>")
                .arg(r.id.toHtmlEscaped(), r.description.toHtmlEscaped(),
                     r.expectation.toHtmlEscaped(), r.rfc.toHtmlEscaped(),
                     r.result.toHtmlEscaped());
        if (column == CloseColumn)
            return QStringLiteral("%1: %2").arg(probe::verdictName(r.behaviorClose), r.resultClose);
        break;
    case Qt::BackgroundRole:
    case Qt::ForegroundRole:
        if (column == BehaviorColumn)
            return verdictCellColor(r.behavior, role);
        if (column == CloseColumn)
            return verdictCellColor(r.behaviorClose, role);
        // The whole row of a failed case reads as one, even with the verdicts off screen.
        if (role == Qt::ForegroundRole && r.isFailure())
            return verdictBackground(Verdict::Failed);
        break;
    case Qt::TextAlignmentRole:
        if (column == DurationColumn)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        if (column == BehaviorColumn || column == CloseColumn)
            return int(Qt::AlignCenter);
        break;
    case BehaviorRole:
        return int(r.behavior);
    case CloseVerdictRole:
        return int(r.behaviorClose);
    case IsFailureRole:
        return r.isFailure();
    default:
        break;
    }
    return {};
}

QVariant ProbeResultsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    const QString title = columnTitle(section);
    return title.isEmpty() ? QVariant() : title;
}

QString ProbeResultsModel::columnTitle(int column) {
    switch (column) {
    case IdColumn:
        return tr("Case");
    case DescriptionColumn:
        return tr("Description");
    case BehaviorColumn:
        return tr("Verdict");
    case CloseColumn:
        return tr("Close");
    case DurationColumn:
        return tr("Duration");
    }
    return {};
}

ProbeResultsProxy::ProbeResultsProxy(QObject *parent)
    : QSortFilterProxyModel(parent) {
    setSortRole(ProbeResultsModel::SortRole);
}

void ProbeResultsProxy::setVerdictFilter(VerdictFilter filter, Verdict only) {
    if (filter == m_filter && only == m_only)
        return;
    m_filter = filter;
    m_only = only;
    invalidateFilter();
}

void ProbeResultsProxy::setText(const QString &text) {
    if (text == m_text)
        return;
    m_text = text;
    invalidateFilter();
}

bool ProbeResultsProxy::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const {
    const auto *model = qobject_cast<const ProbeResultsModel *>(sourceModel());
    if (!model || sourceParent.isValid())
        return true;
    const probe::CaseResult &r = model->result(sourceRow);
    switch (m_filter) {
    case VerdictFilter::All:
        break;
    case VerdictFilter::Failures:
        if (!r.isFailure())
            return false;
        break;
    case VerdictFilter::NotOk:
        if (r.behavior == Verdict::Ok && r.behaviorClose == Verdict::Ok)
            return false;
        break;
    case VerdictFilter::Only:
        if (r.behavior != m_only && r.behaviorClose != m_only)
            return false;
        break;
    }
    if (m_text.isEmpty())
        return true;
    return r.id.startsWith(m_text, Qt::CaseInsensitive) ||
           r.description.contains(m_text, Qt::CaseInsensitive) ||
           r.result.contains(m_text, Qt::CaseInsensitive);
}

bool ProbeResultsProxy::lessThan(const QModelIndex &left, const QModelIndex &right) const {
    if (left.column() == ProbeResultsModel::IdColumn)
        return probe::caseIdLess(left.data(sortRole()).toString(),
                                 right.data(sortRole()).toString());
    return QSortFilterProxyModel::lessThan(left, right);
}

} // namespace ws

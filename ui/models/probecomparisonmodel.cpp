#include "models/probecomparisonmodel.h"

#include "probe/catalogue.h"

#include <QHash>

namespace ws {

using probe::Verdict;

namespace {

static_assert(int(ProbeComparisonModel::IdColumn) == int(ProbeResultsModel::IdColumn) &&
              int(ProbeComparisonModel::DescriptionColumn) ==
                  int(ProbeResultsModel::DescriptionColumn) &&
              int(ProbeComparisonModel::BehaviorColumn) == int(ProbeResultsModel::BehaviorColumn) &&
              int(ProbeComparisonModel::CloseColumn) == int(ProbeResultsModel::CloseColumn));

// How far a verdict is from OK: what "better" and "worse" compare.
int severity(Verdict verdict) {
    switch (verdict) {
    case Verdict::Ok:
        return 0;
    case Verdict::NonStrict:
    case Verdict::Informational:
        return 1;
    case Verdict::Unimplemented:
    case Verdict::FailedByClient:
        return 2;
    case Verdict::Failed:
    case Verdict::WrongCode:
    case Verdict::Unclean:
        return 3;
    }
    return 3;
}

QString verdictText(const std::optional<Verdict> &verdict) {
    return verdict ? probe::verdictName(*verdict) : QStringLiteral("\u2014");
}

} // namespace

ProbeComparisonModel::ProbeComparisonModel(QObject *parent)
    : QAbstractTableModel(parent) {}

void ProbeComparisonModel::compare(const ProbeRun &oldRun, const ProbeRun &newRun) {
    beginResetModel();
    m_rows.clear();
    m_counts = {};
    QHash<QString, const probe::CaseResult *> old;
    for (const probe::CaseResult &r : oldRun.results)
        old.insert(r.id, &r);
    QSet<QString> seen;
    for (const probe::CaseResult &r : newRun.results) {
        seen.insert(r.id);
        const probe::CaseResult *before = old.value(r.id);
        Row row{r.id, r.description, {}, r.behavior, {}, r.behaviorClose, Change::OnlyNew};
        if (before) {
            ++m_counts.compared;
            if (before->behavior == r.behavior && before->behaviorClose == r.behaviorClose)
                continue;
            row.oldBehavior = before->behavior;
            row.oldClose = before->behaviorClose;
            const int delta = severity(r.behavior) - severity(before->behavior);
            const int closeDelta = severity(r.behaviorClose) - severity(before->behaviorClose);
            if (delta > 0 || closeDelta > 0) {
                row.change = Change::Worse;
                ++m_counts.worse;
            } else if (delta < 0 || closeDelta < 0) {
                row.change = Change::Better;
                ++m_counts.better;
            } else {
                row.change = Change::Different;
                ++m_counts.different;
            }
        } else {
            ++m_counts.onlyNew;
        }
        m_rows.append(row);
    }
    for (const probe::CaseResult &r : oldRun.results) {
        if (seen.contains(r.id))
            continue;
        m_rows.append({r.id, r.description, r.behavior, {}, r.behaviorClose, {}, Change::OnlyOld});
        ++m_counts.onlyOld;
    }
    std::sort(m_rows.begin(), m_rows.end(),
              [](const Row &a, const Row &b) { return probe::caseIdLess(a.id, b.id); });
    endResetModel();
}

void ProbeComparisonModel::clear() {
    beginResetModel();
    m_rows.clear();
    m_counts = {};
    endResetModel();
}

int ProbeComparisonModel::rowCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : int(m_rows.size());
}

int ProbeComparisonModel::columnCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ProbeComparisonModel::data(const QModelIndex &index, int role) const {
    if (!index.isValid() || index.row() >= m_rows.size())
        return {};
    const Row &row = m_rows.at(index.row());
    const int column = index.column();
    const bool isVerdict = column == BehaviorColumn || column == CloseColumn;
    const std::optional<Verdict> &now = column == BehaviorColumn ? row.newBehavior : row.newClose;
    const std::optional<Verdict> &then = column == BehaviorColumn ? row.oldBehavior : row.oldClose;
    switch (role) {
    case Qt::DisplayRole:
        if (column == IdColumn)
            return row.id;
        if (column == DescriptionColumn)
            return row.description;
        if (isVerdict) {
            if (then == now)
                return verdictText(now);
            return QStringLiteral("%1 \u2192 %2").arg(verdictText(then), verdictText(now));
        }
        break;
    case Qt::BackgroundRole:
    case Qt::ForegroundRole:
        // The cell shows where the verdict went; an unchanged one stays plain.
        if (isVerdict && then != now && now)
            return verdictCellColor(*now, role);
        if (role != Qt::ForegroundRole)
            break;
        if (column == IdColumn && row.change == Change::Worse)
            return verdictBackground(Verdict::Failed);
        if (column == IdColumn && row.change == Change::Better)
            return verdictBackground(Verdict::Ok);
        break;
    case Qt::ToolTipRole:
        switch (row.change) {
        case Change::Better:
            return tr("Better than in the old run");
        case Change::Worse:
            return tr("Worse than in the old run");
        case Change::Different:
            return tr("Changed, neither better nor worse");
        case Change::OnlyOld:
            return tr("Only the old run has this case");
        case Change::OnlyNew:
            return tr("Only the new run has this case");
        }
        break;
    case ChangeRole:
        return int(row.change);
    default:
        break;
    }
    return {};
}

QVariant ProbeComparisonModel::headerData(int section, Qt::Orientation orientation,
                                          int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole || section < 0 ||
        section >= ColumnCount)
        return {};
    const QString title = ProbeResultsModel::columnTitle(section);
    if (section == BehaviorColumn || section == CloseColumn)
        return tr("%1 (old \u2192 new)").arg(title);
    return title;
}

} // namespace ws

#include "models/sessiondiffmodel.h"

#include <QColor>

namespace ws {

namespace {

// The diff colours of the terminal output, as backgrounds light enough for text.
const QColor ChangedBackground(0xFF, 0xF4, 0xCE);
const QColor MissingBackground(0xFD, 0xE2, 0xE1);
const QColor ExtraBackground(0xDC, 0xF5, 0xDC);
const QColor MovedBackground(0xE3, 0xE8, 0xFA);
const QColor TimingBackground(0xF3, 0xE5, 0xF5);

QString messageText(const log::SessionMessage &message) {
    return (message.direction == Direction::Outgoing ? QStringLiteral("\u2192 ")
                                                     : QStringLiteral("\u2190 ")) +
           log::messagePreview(message, 300);
}

} // namespace

SessionDiffModel::SessionDiffModel(QObject *parent)
    : QAbstractTableModel(parent) {}

void SessionDiffModel::setDiff(log::RecordedSession a, log::RecordedSession b,
                               log::SessionDiffResult result) {
    beginResetModel();
    m_a = std::move(a);
    m_b = std::move(b);
    m_result = std::move(result);
    endResetModel();
}

void SessionDiffModel::clear() {
    setDiff({}, {}, {});
}

int SessionDiffModel::nextDifference(int row, bool forward) const {
    const int count = rowCount();
    for (int r = forward ? row + 1 : row - 1; r >= 0 && r < count; r += forward ? 1 : -1) {
        if (pairAt(r).isDifference())
            return r;
    }
    return -1;
}

QString SessionDiffModel::rowDescription(int row) const {
    const log::DiffPair &pair = pairAt(row);
    QString text;
    switch (pair.kind) {
    case log::DiffKind::Equal:
        text = tr("equal");
        break;
    case log::DiffKind::Changed:
        text = tr("changed at %1").arg(pair.paths.join(QLatin1String(", ")));
        if (pair.firstDifferentByte >= 0)
            text += tr(" (first difference at byte %1)").arg(pair.firstDifferentByte);
        break;
    case log::DiffKind::Missing:
        text = pair.movedTo >= 0 ? tr("missing in B here (moved: B %1)").arg(pair.movedTo + 1)
                                 : tr("missing in B");
        break;
    case log::DiffKind::Extra:
        text = pair.movedTo >= 0 ? tr("extra in B here (moved: A %1)").arg(pair.movedTo + 1)
                                 : tr("extra in B");
        break;
    }
    if (pair.timingDifferent)
        text += tr("; timing: %1 ms after the previous message in A, %2 ms in B")
                    .arg(double(pair.gapAUs) / 1000.0, 0, 'f', 1)
                    .arg(double(pair.gapBUs) / 1000.0, 0, 'f', 1);
    return text;
}

int SessionDiffModel::rowCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : int(m_result.pairs.size());
}

int SessionDiffModel::columnCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant SessionDiffModel::data(const QModelIndex &index, int role) const {
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const log::DiffPair &pair = pairAt(index.row());
    const bool sideA = index.column() == ColumnA || index.column() == ColumnMessageA;
    const qsizetype at = sideA ? pair.a : pair.b;
    switch (role) {
    case Qt::DisplayRole:
        if (at < 0)
            return {};
        if (index.column() == ColumnA || index.column() == ColumnB)
            return qlonglong(at + 1);
        return messageText(sideA ? m_a.messages.at(at) : m_b.messages.at(at));
    case Qt::BackgroundRole:
        if (pair.movedTo >= 0)
            return MovedBackground;
        switch (pair.kind) {
        case log::DiffKind::Changed:
            return ChangedBackground;
        case log::DiffKind::Missing:
            return MissingBackground;
        case log::DiffKind::Extra:
            return ExtraBackground;
        case log::DiffKind::Equal:
            return pair.timingDifferent ? QVariant(TimingBackground) : QVariant();
        }
        return {};
    case Qt::ForegroundRole:
        return pair.kind == log::DiffKind::Equal && !pair.timingDifferent
                   ? QVariant()
                   : QVariant(QColor(Qt::black));
    case Qt::ToolTipRole:
        return rowDescription(index.row());
    case Qt::TextAlignmentRole:
        if (index.column() == ColumnA || index.column() == ColumnB)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case KindRole:
        return int(pair.kind);
    case DifferenceRole:
        return pair.isDifference();
    default:
        return {};
    }
}

QVariant SessionDiffModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case ColumnA:
        return tr("A");
    case ColumnMessageA:
        return tr("Message in A");
    case ColumnB:
        return tr("B");
    case ColumnMessageB:
        return tr("Message in B");
    default:
        return {};
    }
}

} // namespace ws

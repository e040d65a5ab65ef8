#pragma once

#include "log/sessiondiff.h"

#include <QAbstractTableModel>

namespace ws {

// The rows of a session diff side by side: A's message and B's message on one row,
// coloured by what the pair is (equal, changed, missing, extra, moved, timing).
// Holds the two sessions and the result; rows are computed when painted.
class SessionDiffModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { ColumnA, ColumnMessageA, ColumnB, ColumnMessageB, ColumnCount };
    enum Role {
        KindRole = Qt::UserRole + 1, // log::DiffKind as int
        DifferenceRole,              // bool: the row is a difference (timing included)
    };

    explicit SessionDiffModel(QObject *parent = nullptr);

    void setDiff(log::RecordedSession a, log::RecordedSession b, log::SessionDiffResult result);
    void clear();

    const log::RecordedSession &sessionA() const { return m_a; }
    const log::RecordedSession &sessionB() const { return m_b; }
    const log::SessionDiffResult &result() const { return m_result; }
    const log::DiffPair &pairAt(int row) const { return m_result.pairs[size_t(row)]; }

    // The next row after `row` (or before it, backwards) that is a difference; -1 if none.
    int nextDifference(int row, bool forward) const;

    // What the row is, in words ("changed at $.value", "missing (moved to B 7)").
    QString rowDescription(int row) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    log::RecordedSession m_a;
    log::RecordedSession m_b;
    log::SessionDiffResult m_result;
};

} // namespace ws

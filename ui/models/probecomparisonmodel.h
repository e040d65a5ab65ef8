#pragma once

#include "models/proberesultsmodel.h"

#include <QAbstractTableModel>

namespace ws {

// What changed between two runs of the probe: one row per case whose verdict or close
// verdict differs, or that only one of the runs has, with old -> new. A row is worse
// when either verdict moved towards FAILED, better when it moved towards OK.
class ProbeComparisonModel : public QAbstractTableModel {
    Q_OBJECT
public:
    // The results table's first four columns (ProbeResultsModel::Column).
    enum Column { IdColumn, DescriptionColumn, BehaviorColumn, CloseColumn, ColumnCount };
    enum class Change { Better, Worse, Different, OnlyOld, OnlyNew };
    enum Role {
        ChangeRole = Qt::UserRole + 1, // int: Change
    };
    struct Row {
        QString id;
        QString description;
        std::optional<probe::Verdict> oldBehavior, newBehavior;
        std::optional<probe::Verdict> oldClose, newClose;
        Change change = Change::Different;
    };
    struct Counts {
        int compared = 0; // cases in both runs
        int better = 0;
        int worse = 0;
        int different = 0; // changed, neither better nor worse (INFORMATIONAL <-> NON-STRICT)
        int onlyOld = 0;
        int onlyNew = 0;
    };

    explicit ProbeComparisonModel(QObject *parent = nullptr);

    void compare(const ProbeRun &oldRun, const ProbeRun &newRun);
    void clear();
    const Row &row(int index) const { return m_rows.at(index); }
    const Counts &counts() const { return m_counts; }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    QList<Row> m_rows;
    Counts m_counts;
};

} // namespace ws

#pragma once

#include "probe/probecase.h"

#include <QAbstractTableModel>
#include <QColor>
#include <QDateTime>
#include <QSortFilterProxyModel>

namespace ws {

// One run of the probe as the window keeps it: the results of one agent (a server
// probed, or one client that ran cases against us), live or read from a report.
struct ProbeRun {
    QString name;   // what the run lists call it: "run 2: ws://127.0.0.1:9001/"
    QString agent;  // the agent of the reports ("server" for a URL, else the client's name)
    QString target; // the URL probed, or "client"
    QDateTime started;
    qint64 elapsedMs = 0;
    // Read from a report: the cases' frames are the .jsonl files there.
    QString reportDirectory;
    QList<probe::CaseResult> results;
};

// The background and text colours of a verdict: green OK, yellow NON-STRICT, blue
// INFORMATIONAL, grey UNIMPLEMENTED, red for the failures (FAILED, WRONG CODE,
// UNCLEAN), orange FAILED BY CLIENT, as the HTML report colours them.
QColor verdictBackground(probe::Verdict verdict);
QColor verdictForeground(probe::Verdict verdict);
// A verdict cell's colour for a model's `role`: verdictBackground() for
// Qt::BackgroundRole, verdictForeground() for Qt::ForegroundRole, nothing for another.
QVariant verdictCellColor(probe::Verdict verdict, int role);

// The results of a run as a table: case id, description, verdict, close verdict,
// duration. Rows are appended as cases finish.
class ProbeResultsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        IdColumn,
        DescriptionColumn,
        BehaviorColumn,
        CloseColumn,
        DurationColumn,
        ColumnCount
    };
    enum Role {
        BehaviorRole = Qt::UserRole + 1, // int: probe::Verdict
        CloseVerdictRole,                // int: probe::Verdict
        IsFailureRole,                   // bool: CaseResult::isFailure()
        SortRole,                        // the value the column sorts by
    };

    explicit ProbeResultsModel(QObject *parent = nullptr);

    void setResults(const QList<probe::CaseResult> &results);
    void append(const QList<probe::CaseResult> &results);
    void clear() { setResults({}); }

    const QList<probe::CaseResult> &results() const { return m_results; }
    const probe::CaseResult &result(int row) const { return m_results.at(row); }
    // How many rows have each behaviour verdict, and each close verdict.
    QMap<probe::Verdict, int> behaviorCounts() const;
    QMap<probe::Verdict, int> closeCounts() const;
    int failureCount() const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    // The title of `column` (a Column), as the header shows it.
    static QString columnTitle(int column);

private:
    QList<probe::CaseResult> m_results;
};

// Sorting and filtering of the results: case ids in Autobahn's order ("6.10.1" after
// "6.9.2"), durations as numbers; a verdict filter and a text filter on the id and
// the description.
class ProbeResultsProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    enum class VerdictFilter {
        All,
        Failures, // CaseResult::isFailure(): what makes `wsw probe` exit with 3
        NotOk,    // a verdict or a close verdict other than OK
        Only,     // the verdict or the close verdict is onlyVerdict()
    };

    explicit ProbeResultsProxy(QObject *parent = nullptr);

    void setVerdictFilter(VerdictFilter filter, probe::Verdict only = probe::Verdict::Ok);
    VerdictFilter verdictFilter() const { return m_filter; }
    probe::Verdict onlyVerdict() const { return m_only; }
    void setText(const QString &text);
    QString text() const { return m_text; }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;
    bool lessThan(const QModelIndex &left, const QModelIndex &right) const override;

private:
    VerdictFilter m_filter = VerdictFilter::All;
    probe::Verdict m_only = probe::Verdict::Ok;
    QString m_text;
};

} // namespace ws

#pragma once

#include "log/displayfilter.h"
#include "log/logrecord.h"

#include <QAbstractProxyModel>
#include <QMutex>
#include <QPointer>
#include <QSet>
#include <QThreadPool>

#include <memory>
#include <vector>

namespace ws {

class MessageLogModel;

// Filters the message log by connection, direction and kind (the toolbar's quick
// filters) and by a display filter (log::DisplayFilter: "opcode == 9 && len > 125").
//
// A proxy of its own rather than a QSortFilterProxyModel: on a million rows a
// QSortFilterProxyModel re-filter removes the rejected rows one run at a time, and
// a view answers each removal with work proportional to its row count, which took
// minutes when every fourth row was rejected. Here the accepted source rows are one
// sorted vector (4 bytes a row); a filter change rebuilds it in one pass and tells
// the views with a single layoutChanged, keeping the current row when it survives.
// New rows (appended by the log in batches) are filtered as they arrive, one
// insertion per batch; rows the log drops from the front go in one removal.
//
// Off the GUI thread: when the log holds more rows than asynchronousThreshold(), a
// filter change is evaluated by a worker thread over a snapshot of record pointers
// (records never move while the log holds them), and the rows shown change when it
// is done. Until then the previous result stays, and rows the log appends are
// filtered by both the shown and the coming criteria. A newer change cancels the
// running one. The log dropping its oldest rows meanwhile waits for the worker to
// finish its current block (a few hundred microseconds), so the worker never reads
// a dropped record.
class LogFilterProxy : public QAbstractProxyModel {
    Q_OBJECT
public:
    enum DirectionFlag {
        Sent = 0x1,
        Received = 0x2,
        Undirected = 0x4, // state changes and failed handshakes
        AllDirections = Sent | Received | Undirected,
    };
    Q_DECLARE_FLAGS(Directions, DirectionFlag)

    static constexpr int DefaultAsynchronousThreshold = 20'000;

    explicit LogFilterProxy(QObject *parent = nullptr);
    ~LogFilterProxy() override;

    // Must be a MessageLogModel (or null).
    void setSourceModel(QAbstractItemModel *sourceModel) override;
    MessageLogModel *logModel() const { return m_log; }

    // Empty: every connection.
    void setConnectionFilter(const QSet<quint32> &connections);
    QSet<quint32> connectionFilter() const { return m_pending.connections; }

    void setDirectionFilter(Directions directions);
    Directions directionFilter() const { return m_pending.directions; }

    void setKindFilter(log::LogKindSet kinds);
    log::LogKindSet kindFilter() const { return m_pending.kinds; }

    // Compiles and applies `text`. Returns false, and leaves the rows as they are,
    // when it does not compile: displayFilterError() says why and where.
    bool setDisplayFilter(const QString &text);
    // The filter applied last (or being applied), and the last error.
    QString displayFilter() const { return m_pending.filter.text(); }
    log::DisplayFilterError displayFilterError() const { return m_filterError; }

    // Everything back to "show all".
    void resetFilters();
    // The rows shown are filtered (by the criteria they were filtered with).
    bool isFiltering() const;
    // A worker is filtering; the rows shown are the previous result.
    bool isBusy() const { return m_job != nullptr; }

    // Sources with more rows than this are filtered off the GUI thread (0: always).
    void setAsynchronousThreshold(int rows) { m_asyncThreshold = std::max(0, rows); }
    int asynchronousThreshold() const { return m_asyncThreshold; }

    // Does `record` pass the criteria of the rows shown?
    bool accepts(const log::LogRecord &record, const log::LogRecordExtra *extra) const;
    // The store index behind a proxy row, or -1.
    qsizetype storeIndex(int proxyRow) const;

    QModelIndex mapToSource(const QModelIndex &proxyIndex) const override;
    QModelIndex mapFromSource(const QModelIndex &sourceIndex) const override;
    QModelIndex index(int row, int column, const QModelIndex &parent = {}) const override;
    QModelIndex parent(const QModelIndex &child) const override;
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    // The source's, except "time since the previous row": the previous row shown.
    QVariant data(const QModelIndex &proxyIndex, int role = Qt::DisplayRole) const override;

signals:
    // A worker started filtering. filteringFinished(): the rows of the latest
    // criteria are shown (after a worker, or at once for a small log).
    void filteringStarted();
    void filteringFinished();

private:
    // What decides whether a row is shown.
    struct Criteria {
        QSet<quint32> connections;
        Directions directions = AllDirections;
        log::LogKindSet kinds = log::AllLogKinds;
        log::DisplayFilter filter;

        bool isFiltering() const;
        bool accepts(const log::LogRecord &record, const log::LogRecordExtra *extra,
                     log::DisplayFilterContext &context) const;
    };
    struct Job;

    bool acceptsSourceRow(const Criteria &criteria, int sourceRow) const;
    void prepareContext(const Criteria &criteria) const;
    void criteriaChanged();
    std::vector<int> filterAll(const Criteria &criteria) const;
    void startJob();
    void cancelJob();
    void finishJob(const std::shared_ptr<Job> &job);
    void showRows(std::vector<int> rows);
    void rebuildAfterReset();
    void onRowsAboutToBeInserted(const QModelIndex &parent, int first, int last);
    void onRowsInserted(const QModelIndex &parent, int first, int last);
    void onRowsAboutToBeRemoved(const QModelIndex &parent, int first, int last);
    void onRowsRemoved(const QModelIndex &parent, int first, int last);
    void onDataChanged(const QModelIndex &topLeft, const QModelIndex &bottomRight,
                       const QList<int> &roles);

    QPointer<MessageLogModel> m_log;
    QList<QMetaObject::Connection> m_connectionsToSource;
    std::vector<int> m_rows; // accepted source rows, ascending
    // Between a source's rowsAboutToBeRemoved and rowsRemoved: the proxy rows going.
    int m_removeFirst = -1;
    int m_removeLast = -1;
    bool m_holdingJob = false; // the job's lock is held across a removal

    Criteria m_shown;   // the criteria m_rows was filtered with
    Criteria m_pending; // the latest criteria (== m_shown unless a job runs)
    log::DisplayFilterError m_filterError;
    mutable log::DisplayFilterContext m_context; // GUI-thread evaluations
    int m_asyncThreshold = DefaultAsynchronousThreshold;

    std::shared_ptr<Job> m_job; // the running job, if any
    // Held by a worker while it reads records, and by the GUI thread while the log
    // drops or resets them.
    QMutex m_workMutex;
    std::vector<int> m_tail; // rows appended during the job that pass m_pending
    QThreadPool m_pool;
};

Q_DECLARE_OPERATORS_FOR_FLAGS(LogFilterProxy::Directions)

} // namespace ws

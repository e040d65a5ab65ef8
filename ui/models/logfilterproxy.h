#pragma once

#include "log/logrecord.h"

#include <QAbstractProxyModel>
#include <QPointer>
#include <QRegularExpression>
#include <QSet>

#include <vector>

namespace ws {

class MessageLogModel;

// Filters the message log by connection, direction, kind and text.
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
// Connection, direction and kind are read straight from the record, so they cost
// nothing per row; the text filter matches the escaped preview (what the log
// shows), built only for rows the other criteria kept. Rows keep the log's order.
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

    enum class TextMode { Plain, RegularExpression };

    explicit LogFilterProxy(QObject *parent = nullptr);
    ~LogFilterProxy() override;

    // Must be a MessageLogModel (or null).
    void setSourceModel(QAbstractItemModel *sourceModel) override;
    MessageLogModel *logModel() const { return m_log; }

    // Empty: every connection.
    void setConnectionFilter(const QSet<quint32> &connections);
    QSet<quint32> connectionFilter() const { return m_connections; }

    void setDirectionFilter(Directions directions);
    Directions directionFilter() const { return m_directions; }

    void setKindFilter(log::LogKindSet kinds);
    log::LogKindSet kindFilter() const { return m_kinds; }

    // Empty text: no text filter. Returns false (and filters nothing out) when a
    // regular expression does not compile; textFilterError() says why.
    bool setTextFilter(const QString &text, TextMode mode = TextMode::Plain,
                       Qt::CaseSensitivity sensitivity = Qt::CaseInsensitive);
    QString textFilter() const { return m_text; }
    QString textFilterError() const { return m_textError; }

    // Everything back to "show all".
    void resetFilters();
    bool isFiltering() const;

    // Does `record` pass (the text part included)?
    bool accepts(const log::LogRecord &record, const log::LogRecordExtra *extra) const;
    // The store index behind a proxy row, or -1.
    qsizetype storeIndex(int proxyRow) const;

    QModelIndex mapToSource(const QModelIndex &proxyIndex) const override;
    QModelIndex mapFromSource(const QModelIndex &sourceIndex) const override;
    QModelIndex index(int row, int column, const QModelIndex &parent = {}) const override;
    QModelIndex parent(const QModelIndex &child) const override;
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;

private:
    bool acceptsSourceRow(int sourceRow) const;
    void refilter();
    void rebuild();
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

    QSet<quint32> m_connections;
    Directions m_directions = AllDirections;
    log::LogKindSet m_kinds = log::AllLogKinds;
    QString m_text;
    TextMode m_textMode = TextMode::Plain;
    Qt::CaseSensitivity m_sensitivity = Qt::CaseInsensitive;
    QRegularExpression m_regex;
    QString m_textError;
};

Q_DECLARE_OPERATORS_FOR_FLAGS(LogFilterProxy::Directions)

} // namespace ws

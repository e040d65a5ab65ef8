#pragma once

#include <QTableView>

namespace ws {

// The table the message log is shown in, set up for millions of rows: fixed row
// heights, no per-row header, no column sizing from contents. It follows the tail
// (scrolls to each new batch) while the user is at the bottom and stops when they
// scroll up. Works on a MessageLogModel or any proxy over one (LogFilterProxy).
class MessageLogView : public QTableView {
    Q_OBJECT
public:
    explicit MessageLogView(QWidget *parent = nullptr);

    void setModel(QAbstractItemModel *model) override;

    void setFollowTail(bool on);
    bool followTail() const { return m_followTail; }

    // The store index of the current row, or -1.
    qsizetype currentStoreIndex() const;
    // Makes the row showing store record `index` current; false if it is not shown.
    bool selectStoreIndex(qsizetype index);

signals:
    void currentRecordChanged(qsizetype storeIndex);

private:
    void onRowsAboutToBeInserted();
    void onRowsInserted();

    QList<QMetaObject::Connection> m_modelConnections;
    bool m_followTail = true;
    bool m_wasAtBottom = true;
};

} // namespace ws

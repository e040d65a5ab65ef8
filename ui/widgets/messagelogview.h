#pragma once

#include <QTableView>

namespace ws {

// The table the message log is shown in, set up for millions of rows: fixed row
// heights, no per-row header, no column sizing from contents. It follows the tail
// (scrolls to each new batch) while the user is at the bottom and stops when they
// scroll up. Works on a MessageLogModel or any proxy over one (LogFilterProxy).
//
// Columns are as wide as their usual texts in the view's font (longer ones elide;
// a connection's name in the middle, where "relay 1 #1 server" differs least), and
// while the user has not dragged one they are fitted to the view: on a narrow one
// the Connection, Kind and Direction columns give way first, so that Length stays
// in sight and the Preview keeps the rest.
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

protected:
    void resizeEvent(QResizeEvent *event) override;

private:
    // The widths the columns want, given up where the view is too narrow.
    void fitColumns();

    // Rows come at the end and leave from the front (the log drops its oldest): a view
    // at the bottom that follows the tail stays there.
    void onRowsAboutToChange();
    void onRowsChanged();

    QList<QMetaObject::Connection> m_modelConnections;
    bool m_followTail = true;
    bool m_wasAtBottom = true;
    bool m_fitting = false;       // fitColumns() is setting widths
    bool m_columnsByUser = false; // a column was dragged: widths are the user's
};

} // namespace ws

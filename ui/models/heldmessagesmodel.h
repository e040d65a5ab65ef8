#pragma once

#include "log/logrecord.h"
#include "relay/relayintercept.h"

#include <QAbstractTableModel>
#include <QPointer>
#include <QTimer>

namespace ws {

class Relay;

// The messages a relay keeps in its intercept lists, one row each, pair by pair in
// the order they go out: held by a rule (waiting for a decision) or queued behind a
// held one. Follows the relay's messageHeld / heldMessageRemoved / heldChanged
// signals, coalesced: the rows are read again from Relay::heldMessages() once the
// event loop runs, so that a burst of held messages is one reset.
class HeldMessagesModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        IdColumn,
        PairColumn,
        DirectionColumn,
        KindColumn,
        LengthColumn,
        PreviewColumn,
        ColumnCount
    };
    enum Role {
        HeldIdRole = Qt::UserRole + 1, // quint64: the message's id in the relay
        PairRole,                      // quint64: the relay's number of its pair
        IsHeldRole,                    // bool: held by a rule (not only queued)
    };

    explicit HeldMessagesModel(QObject *parent = nullptr);

    // Null: no rows.
    void setRelay(Relay *relay);
    Relay *relay() const { return m_relay; }
    // Reads the rows again now (after a decision, the list may have changed).
    void refresh();

    const HeldMessage *message(int row) const;
    // The message as the log records one, so that the list names its kind and shows
    // its payload in the log's words (log::logKindName(), log::recordPreview()).
    static log::LogRecord asLogRecord(const HeldMessage &message);
    // The row of message `id`, or -1.
    int rowOf(quint64 id) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    void scheduleRefresh();

    QPointer<Relay> m_relay;
    QList<QMetaObject::Connection> m_connections;
    QList<HeldMessage> m_messages;
    QTimer m_refresh;
};

} // namespace ws

#pragma once

#include <QAbstractItemModel>
#include <QElapsedTimer>
#include <QHash>
#include <QIcon>
#include <QList>
#include <QSet>
#include <QTimer>

namespace ws {

class ConnectionHub;
struct EndpointInfo;
struct TlsInfo;

// "TLS 1.3" for Qt's "TLSv1.3": how people name the protocol.
QString tlsProtocolText(const QString &protocol);
// "the system's certificate store", "the CA file", "the accepted fingerprint (self-signed)".
QString tlsVerifiedText(const TlsInfo &tls);

// The connection tree: an "All connections" node, then the client connections and
// hosted servers (each server with its accepted clients below it), in the order
// they appeared. A thin view over the ConnectionHub: rows are endpoint ids.
class ConnectionsModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Column {
        NameColumn,
        StateColumn,
        AddressColumn,
        MessagesColumn,
        BytesColumn,
        ColumnCount
    };
    enum Role {
        EndpointIdRole = Qt::UserRole + 1, // uint: the endpoint id; 0 on the "All" node
        IsAllRole,                         // bool
        ErrorRole,                         // QString: the endpoint's last error
        TlsRole,       // QString: "TLS 1.3" once a wss connection is encrypted, else empty
        CanTrustRole,  // bool: a wss client whose server certificate was not accepted
        SecureRole,    // bool: the node has the padlock (an encrypted connection, a wss server)
        NameRole,      // QString: the endpoint's name alone ("server 1 #2"), no TLS suffix
        StateTextRole, // QString: the state alone, without the last error
    };

    // How long changes of nodes wait to be told together (dataChanged): a view answers
    // each with a layout of its Name column, and a busy relay changes nodes thousands
    // of times a second. Added nodes wait as well and become rows together, one
    // rowsInserted per parent: a relay that opens and closes hundreds of pairs a second
    // would otherwise make the views lay out the tree for each. indexOf() of a waiting
    // node makes the waiting nodes rows at once. Removed nodes are told at once.
    static constexpr int ChangeCoalescingMs = 100;
    // A view lays the whole tree out again for each insertion below an expanded node,
    // so with tens of thousands of finished pairs every insertion costs tens of
    // milliseconds. Added nodes therefore become rows at most once per insertion
    // interval (changes of rows are still told every ChangeCoalescingMs). The view sets
    // it from what its layouts cost, so that they take at most 1/LayoutShareDivisor of
    // the time, between ChangeCoalescingMs and MaxInsertIntervalMs.
    static constexpr int LayoutShareDivisor = 50;
    static constexpr int MaxInsertIntervalMs = 5000;
    static int insertIntervalForLayout(qint64 layoutNs);

    explicit ConnectionsModel(ConnectionHub *hub, QObject *parent = nullptr);

    // Makes the added nodes rows and tells the changes waiting for the coalescing timer, now.
    void flushChanges();

    void setInsertIntervalMs(int milliseconds);
    int insertIntervalMs() const { return m_insertIntervalMs; }

    QModelIndex allIndex() const;
    QModelIndex indexOf(quint32 id, int column = 0) const;
    quint32 idOf(const QModelIndex &index) const; // 0 for "All" or invalid

    QModelIndex index(int row, int column, const QModelIndex &parent = {}) const override;
    QModelIndex parent(const QModelIndex &child) const override;
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    // internalId of the "All" node; endpoint ids start at 1.
    static constexpr quintptr AllNode = 0;

    void onAdded(quint32 id);
    // The coalescing timer: changes are told; added nodes become rows if their
    // insertion interval has passed, else m_insertTimer waits for it.
    void onChangeTimer();
    qint64 insertWaitMs() const;
    // The added nodes become rows, grouped by parent in the order they came.
    void insertPending();
    // One dataChanged per parent for the rows of `ids` (and one for "All"): the views
    // lay out once per batch the hub reports, not once per endpoint.
    void onChanged(const QList<quint32> &ids);
    void emitChanged(const QSet<quint32> &ids);
    // Their rows go, in a few contiguous runs (the oldest finished pairs of a relay):
    // the views keep what is expanded and selected. Scattered all over (a user's
    // "remove finished" in a large tree), the rows are rebuilt at onRemoved() instead.
    void onAboutToBeRemoved(const QList<quint32> &ids);
    void onRemoved(const QList<quint32> &ids);
    const QList<quint32> &childrenOf(quint32 parentId) const;
    QList<quint32> &childrenOf(quint32 parentId);
    // The node's icon; made once per kind and padlock, since the style decodes its
    // icons from image files at every call and the views ask at every layout.
    QIcon icon(const EndpointInfo &info) const;
    // What the name column shows of a node: its text, and its icon and colour by key.
    QString nameText(const EndpointInfo &info) const;
    static int iconKey(const EndpointInfo &info);

    ConnectionHub *m_hub;
    QList<quint32> m_topLevel; // below "All"'s siblings: clients, servers, logged connections
    QHash<quint32, QList<quint32>> m_children;
    QHash<quint32, int> m_position; // an endpoint's index among its siblings
    mutable QHash<int, QIcon> m_icons;
    QSet<quint32> m_changed; // waiting for m_changeTimer
    // The name column as last told (nameText() and iconKey()): a change that leaves it
    // as it was (counters, state) is told from the state column on, so that views
    // sizing that column to its contents do not measure it again for every change.
    QHash<quint32, QString> m_nameShown;
    bool m_changePending = false;
    QList<quint32> m_pendingAdds; // in the order the hub added them
    QSet<quint32> m_pendingIds;
    bool m_inserting = false;
    bool m_rebuildOnRemoved = false; // onAboutToBeRemoved() left the rows to onRemoved()
    QTimer m_changeTimer;
    QTimer m_insertTimer;
    int m_insertIntervalMs = ChangeCoalescingMs;
    QElapsedTimer m_lastInsert;
};

} // namespace ws

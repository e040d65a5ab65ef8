#pragma once

#include <QSortFilterProxyModel>

namespace ws {

class ConnectionsModel;

// The clients of one hosted server, out of the connection tree: the server's node
// and its children pass the filter, nothing else does. A view shows them as a flat
// list by taking serverIndex() as its root. Three columns: the client's number
// ("#2"), its peer address and its state.
class ServerClientsProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    enum Column { ClientColumn, PeerColumn, StateColumn, ColumnCount };

    explicit ServerClientsProxy(ConnectionsModel *model, QObject *parent = nullptr);

    // 0: no server, no rows.
    void setServerId(quint32 serverId);
    quint32 serverId() const { return m_serverId; }
    // The server's node: the parent of the client rows (invalid without a server).
    QModelIndex serverIndex() const;
    // The row of client `id`, or invalid when it is not one of the server's clients.
    QModelIndex indexOf(quint32 id) const;
    // 0 for an invalid index.
    quint32 idOf(const QModelIndex &index) const;

    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;
    bool filterAcceptsColumn(int sourceColumn, const QModelIndex &sourceParent) const override;

private:
    ConnectionsModel *m_model;
    quint32 m_serverId = 0;
};

} // namespace ws

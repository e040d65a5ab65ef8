#include "serverclientsproxy.h"

#include "connectionsmodel.h"

namespace ws {

namespace {

// The source columns behind ours, in our order.
int sourceColumnOf(int column) {
    switch (column) {
    case ServerClientsProxy::ClientColumn:
        return ConnectionsModel::NameColumn;
    case ServerClientsProxy::PeerColumn:
        return ConnectionsModel::AddressColumn;
    case ServerClientsProxy::StateColumn:
        return ConnectionsModel::StateColumn;
    default:
        return -1;
    }
}

} // namespace

ServerClientsProxy::ServerClientsProxy(ConnectionsModel *model, QObject *parent)
    : QSortFilterProxyModel(parent)
    , m_model(model) {
    // Rows keep the hub's order (the order the clients connected): nothing is sorted.
    setSourceModel(model);
}

void ServerClientsProxy::setServerId(quint32 serverId) {
    if (serverId == m_serverId)
        return;
    m_serverId = serverId;
    invalidateRowsFilter();
}

QModelIndex ServerClientsProxy::serverIndex() const {
    return m_serverId == 0 ? QModelIndex() : mapFromSource(m_model->indexOf(m_serverId));
}

QModelIndex ServerClientsProxy::indexOf(quint32 id) const {
    const QModelIndex index = mapFromSource(m_model->indexOf(id));
    return index.isValid() && index.parent() == serverIndex() && serverIndex().isValid()
               ? index
               : QModelIndex();
}

quint32 ServerClientsProxy::idOf(const QModelIndex &index) const {
    return m_model->idOf(mapToSource(index));
}

bool ServerClientsProxy::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const {
    if (m_serverId == 0)
        return false;
    // Top level: only the server's node; below it, every client.
    if (!sourceParent.isValid())
        return m_model->idOf(m_model->index(sourceRow, 0)) == m_serverId;
    return m_model->idOf(sourceParent) == m_serverId;
}

bool ServerClientsProxy::filterAcceptsColumn(int sourceColumn, const QModelIndex &) const {
    return sourceColumn == ConnectionsModel::NameColumn ||
           sourceColumn == ConnectionsModel::StateColumn ||
           sourceColumn == ConnectionsModel::AddressColumn;
}

QVariant ServerClientsProxy::data(const QModelIndex &index, int role) const {
    if (!index.isValid())
        return {};
    // Our columns are in another order than the accepted source columns: each is
    // read from the source column it stands for.
    const QModelIndex source =
        mapToSource(index.siblingAtColumn(0)).siblingAtColumn(sourceColumnOf(index.column()));
    if (!source.isValid())
        return {};
    switch (role) {
    case Qt::DisplayRole:
        if (index.column() == ClientColumn)
            // "peer 2 of server 1" is "peer 2" here: the server is the panel's.
            return source.data(ConnectionsModel::NameRole)
                .toString()
                .section(QStringLiteral(" of "), 0, 0);
        if (index.column() == StateColumn)
            return source.data(ConnectionsModel::StateTextRole);
        return source.data(role);
    case Qt::DecorationRole:
        // Every row would carry the same computer icon.
        return {};
    default:
        return source.data(role);
    }
}

QVariant ServerClientsProxy::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QSortFilterProxyModel::headerData(section, orientation, role);
    switch (section) {
    case ClientColumn:
        return tr("Peer");
    case PeerColumn:
        return tr("Address");
    case StateColumn:
        return tr("State");
    default:
        return {};
    }
}

} // namespace ws

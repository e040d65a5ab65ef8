#include "connectionstreeview.h"

#include "models/connectionsmodel.h"

#include <QElapsedTimer>

namespace ws {

ConnectionsTreeView::ConnectionsTreeView(ConnectionsModel *paced, QWidget *parent)
    : QTreeView(parent)
    , m_paced(paced) {}

void ConnectionsTreeView::doItemsLayout() {
    QElapsedTimer timer;
    timer.start();
    QTreeView::doItemsLayout();
    m_paced->setInsertIntervalMs(ConnectionsModel::insertIntervalForLayout(timer.nsecsElapsed()));
}

} // namespace ws

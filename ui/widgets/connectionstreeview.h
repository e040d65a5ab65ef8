#pragma once

#include <QTreeView>

namespace ws {

class ConnectionsModel;

// A view of a ConnectionsModel (directly or through a proxy) that tells the model how
// long laying itself out takes. A QTreeView lays out all its rows again for every
// insertion, so the model makes added nodes rows less often as the tree grows
// (ConnectionsModel::insertIntervalForLayout()).
class ConnectionsTreeView : public QTreeView {
    Q_OBJECT
public:
    explicit ConnectionsTreeView(ConnectionsModel *paced, QWidget *parent = nullptr);

    void doItemsLayout() override;

private:
    ConnectionsModel *m_paced;
};

} // namespace ws

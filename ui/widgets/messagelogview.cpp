#include "messagelogview.h"

#include "models/messagelogmodel.h"

#include <QHeaderView>
#include <QScrollBar>

namespace ws {

MessageLogView::MessageLogView(QWidget *parent)
    : QTableView(parent) {
    setSelectionBehavior(QAbstractItemView::SelectRows);
    setSelectionMode(QAbstractItemView::ExtendedSelection);
    setShowGrid(false);
    setWordWrap(false);
    setTextElideMode(Qt::ElideRight);
    setHorizontalScrollMode(QAbstractItemView::ScrollPerPixel);
    setVerticalScrollMode(QAbstractItemView::ScrollPerItem);
    setAlternatingRowColors(false);
    // Row heights never depend on contents: nothing is measured per row.
    verticalHeader()->hide();
    verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 4);
    verticalHeader()->setMinimumSectionSize(1);
    horizontalHeader()->setStretchLastSection(true);
    horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    horizontalHeader()->setHighlightSections(false);
}

void MessageLogView::setModel(QAbstractItemModel *newModel) {
    for (const QMetaObject::Connection &c : std::as_const(m_modelConnections))
        disconnect(c);
    m_modelConnections.clear();
    QTableView::setModel(newModel);
    if (!newModel)
        return;
    m_modelConnections = {
        connect(newModel, &QAbstractItemModel::rowsAboutToBeInserted, this,
                &MessageLogView::onRowsAboutToBeInserted),
        connect(newModel, &QAbstractItemModel::rowsInserted, this, &MessageLogView::onRowsInserted),
        connect(selectionModel(), &QItemSelectionModel::currentRowChanged, this,
                [this] { emit currentRecordChanged(currentStoreIndex()); }),
    };
    const int character = fontMetrics().horizontalAdvance(QLatin1Char('0'));
    setColumnWidth(MessageLogModel::TimeColumn, character * 14);
    setColumnWidth(MessageLogModel::ConnectionColumn, character * 14);
    setColumnWidth(MessageLogModel::DirectionColumn, character * 12);
    setColumnWidth(MessageLogModel::KindColumn, character * 16);
    setColumnWidth(MessageLogModel::LengthColumn, character * 9);
}

void MessageLogView::setFollowTail(bool on) {
    m_followTail = on;
    if (on)
        scrollToBottom();
}

qsizetype MessageLogView::currentStoreIndex() const {
    const QModelIndex current = currentIndex();
    if (!current.isValid())
        return -1;
    const QVariant value = current.data(MessageLogModel::StoreIndexRole);
    return value.isValid() ? value.value<qsizetype>() : -1;
}

bool MessageLogView::selectStoreIndex(qsizetype index) {
    QAbstractItemModel *m = model();
    if (!m || index < 0)
        return false;
    // The rows are in store order, through any filter: binary search.
    int low = 0;
    int high = m->rowCount() - 1;
    while (low <= high) {
        const int middle = low + (high - low) / 2;
        const qsizetype value =
            m->index(middle, 0).data(MessageLogModel::StoreIndexRole).value<qsizetype>();
        if (value == index) {
            const QModelIndex target = m->index(middle, 0);
            setCurrentIndex(target);
            scrollTo(target, QAbstractItemView::PositionAtCenter);
            return true;
        }
        if (value < index)
            low = middle + 1;
        else
            high = middle - 1;
    }
    return false;
}

void MessageLogView::onRowsAboutToBeInserted() {
    const QScrollBar *bar = verticalScrollBar();
    m_wasAtBottom = bar->value() >= bar->maximum();
}

void MessageLogView::onRowsInserted() {
    if (m_followTail && m_wasAtBottom)
        scrollToBottom();
}

} // namespace ws

#include "messagelogview.h"

#include "models/messagelogmodel.h"

#include <QGuiApplication>
#include <QHeaderView>
#include <QScrollBar>
#include <QStyledItemDelegate>

#include <algorithm>

namespace ws {

namespace {

// Elides in the middle: the start and the end of a name stay readable.
class MiddleElidingDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;

protected:
    void initStyleOption(QStyleOptionViewItem *option, const QModelIndex &index) const override {
        QStyledItemDelegate::initStyleOption(option, index);
        option->textElideMode = Qt::ElideMiddle;
    }
};

} // namespace

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
    setItemDelegateForColumn(MessageLogModel::ConnectionColumn, new MiddleElidingDelegate(this));
    connect(horizontalHeader(), &QHeaderView::sectionResized, this, [this](int column) {
        if (m_fitting || column == MessageLogModel::PreviewColumn)
            return;
        // Dragged by the user: their widths stand from now on. Set by the program
        // (the Time column follows its format): the others are fitted around it.
        if (QGuiApplication::mouseButtons() & Qt::LeftButton)
            m_columnsByUser = true;
        else
            fitColumns();
    });
}

void MessageLogView::resizeEvent(QResizeEvent *event) {
    QTableView::resizeEvent(event);
    fitColumns();
}

void MessageLogView::fitColumns() {
    if (!model() || m_columnsByUser || m_fitting)
        return;
    const QFontMetrics metrics(font());
    const QFontMetrics headerMetrics(horizontalHeader()->font());
    const int character = metrics.horizontalAdvance(QLatin1Char('0'));
    const int padding = 2 * character;
    const auto fit = [&](int column, const QString &usual) {
        const QString title = model()->headerData(column, Qt::Horizontal).toString();
        return std::max(metrics.horizontalAdvance(usual), headerMetrics.horizontalAdvance(title)) +
               padding;
    };
    struct Want {
        int column;
        int width;
        int least; // it gives way down to this
    };
    // Given up in this order where the view is too narrow.
    Want wants[] = {
        {MessageLogModel::ConnectionColumn,
         fit(MessageLogModel::ConnectionColumn, QStringLiteral("relay 1 #1 server")),
         8 * character + padding},
        {MessageLogModel::KindColumn,
         fit(MessageLogModel::KindColumn, QStringLiteral("text (compressed)")),
         6 * character + padding},
        {MessageLogModel::DirectionColumn,
         fit(MessageLogModel::DirectionColumn, QStringLiteral("\u2190 from server")),
         6 * character + padding},
    };
    const int length = fit(MessageLogModel::LengthColumn, QStringLiteral("0000000"));
    const int previewLeast = 16 * character;
    int used = columnWidth(MessageLogModel::TimeColumn) + length + previewLeast;
    for (const Want &want : wants)
        used += want.width;
    int over = used - viewport()->width();
    for (Want &want : wants) {
        if (over <= 0)
            break;
        const int given = std::min(over, want.width - want.least);
        want.width -= given;
        over -= given;
    }
    m_fitting = true;
    for (const Want &want : wants)
        setColumnWidth(want.column, want.width);
    setColumnWidth(MessageLogModel::LengthColumn, length);
    m_fitting = false;
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
                &MessageLogView::onRowsAboutToChange),
        connect(newModel, &QAbstractItemModel::rowsInserted, this, &MessageLogView::onRowsChanged),
        connect(newModel, &QAbstractItemModel::rowsAboutToBeRemoved, this,
                &MessageLogView::onRowsAboutToChange),
        connect(newModel, &QAbstractItemModel::rowsRemoved, this, &MessageLogView::onRowsChanged),
        connect(selectionModel(), &QItemSelectionModel::currentRowChanged, this,
                [this] { emit currentRecordChanged(currentStoreIndex()); }),
    };
    const int character = fontMetrics().horizontalAdvance(QLatin1Char('0'));
    m_fitting = true;
    setColumnWidth(MessageLogModel::TimeColumn, character * 14);
    m_fitting = false;
    fitColumns();
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

void MessageLogView::onRowsAboutToChange() {
    const QScrollBar *bar = verticalScrollBar();
    m_wasAtBottom = bar->value() >= bar->maximum();
}

void MessageLogView::onRowsChanged() {
    // Scrolling lays the rows out now. Left to the next paint, the layout after a
    // trim would change the scroll range while painting, and the view would be
    // painted a second time at once.
    if (m_followTail && m_wasAtBottom)
        scrollToBottom();
}

} // namespace ws

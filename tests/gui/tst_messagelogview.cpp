// MessageLogView: following the tail, and rows <-> store records through a filter.

#include "guitesthelpers.h"
#include "windowtestmain.h"

#include "models/logfilterproxy.h"
#include "models/messagelogmodel.h"
#include "widgets/messagelogview.h"
#include "windows/logpanel.h"

#include <QAction>
#include <QHeaderView>
#include <QMenu>
#include <QScrollBar>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>

using namespace ws;
using namespace wstest;

class TestMessageLogView : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void followsTheTailUntilScrolledUp();
    void fullLogIsPaintedOncePerBatch();
    void currentRecordThroughTheFilter();
    void rowsHaveFixedHeights();
    void timeColumnIsNeverElided();
    void timeFormatIsRemembered();
};

namespace {

void append(MessageLogModel &model, int count) {
    const int base = int(model.store().size());
    for (int i = 0; i < count; ++i)
        model.appendEvents(1 + quint32(i % 2),
                           textMessage(i % 3 ? Direction::Incoming : Direction::Outgoing, base + i,
                                       QByteArray::number(base + i)));
    model.flush();
}

// A log, its filter and the view over them, shown (800 x 300).
struct ShownLog {
    MessageLogModel model;
    LogFilterProxy proxy;
    MessageLogView view;

    explicit ShownLog(qsizetype capacity = 0) {
        model.store().setClockOffset(0);
        if (capacity > 0)
            model.setCapacity(capacity);
        proxy.setSourceModel(&model);
        view.setModel(&proxy);
        view.resize(800, 300);
        view.show();
    }
};

// Counts the paint events a widget gets.
class PaintCounter : public QObject {
public:
    explicit PaintCounter(QWidget *widget) { widget->installEventFilter(this); }
    int count = 0;

protected:
    bool eventFilter(QObject *watched, QEvent *event) override {
        if (event->type() == QEvent::Paint)
            ++count;
        return QObject::eventFilter(watched, event);
    }
};

} // namespace

void TestMessageLogView::followsTheTailUntilScrolledUp() {
    ShownLog log;
    auto &[model, proxy, view] = log;
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    QScrollBar *bar = view.verticalScrollBar();

    append(model, 1000);
    QApplication::processEvents();
    QVERIFY(bar->maximum() > 0);
    QCOMPARE(bar->value(), bar->maximum());

    // The user scrolls up to read: new rows do not pull the view away.
    bar->setValue(10);
    append(model, 500);
    QApplication::processEvents();
    QCOMPARE(bar->value(), 10);

    // Back at the bottom, it follows again.
    bar->setValue(bar->maximum());
    append(model, 500);
    QApplication::processEvents();
    QCOMPARE(bar->value(), bar->maximum());
    QCOMPARE(proxy.rowCount(), 2000);

    view.setFollowTail(false);
    append(model, 100);
    QApplication::processEvents();
    QVERIFY(bar->value() < bar->maximum());
    view.setFollowTail(true);
    QApplication::processEvents();
    QCOMPARE(bar->value(), bar->maximum());
}

void TestMessageLogView::fullLogIsPaintedOncePerBatch() {
    // A full log drops its oldest rows as each batch comes in. The view at the bottom
    // lays out and scrolls once for both changes and is painted once per batch, not a
    // second time for the layout the removal left to the next paint.
    ShownLog log(2000);
    auto &[model, proxy, view] = log;
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    QScrollBar *bar = view.verticalScrollBar();
    append(model, 2000);
    QApplication::processEvents();
    PaintCounter paints(view.viewport());
    for (int batch = 0; batch < 5; ++batch) {
        const qint64 dropped = model.store().droppedCount();
        paints.count = 0;
        append(model, 600);
        QApplication::processEvents();
        QVERIFY(model.store().droppedCount() > dropped); // the batch trimmed the log
        QCOMPARE(paints.count, 1);
        QCOMPARE(bar->value(), bar->maximum());
        const QRect last = view.visualRect(proxy.index(proxy.rowCount() - 1, 0));
        QVERIFY(view.viewport()->rect().contains(last));
    }
}

void TestMessageLogView::currentRecordThroughTheFilter() {
    MessageLogModel model;
    model.store().setClockOffset(0);
    LogFilterProxy proxy;
    proxy.setSourceModel(&model);
    MessageLogView view;
    view.setModel(&proxy);
    append(model, 300);
    proxy.setConnectionFilter({2});
    QSignalSpy current(&view, &MessageLogView::currentRecordChanged);
    QCOMPARE(view.currentStoreIndex(), -1);
    // Store record 151 belongs to connection 2 (odd indices).
    QVERIFY(view.selectStoreIndex(151));
    QCOMPARE(view.currentStoreIndex(), 151);
    QCOMPARE(current.count(), 1);
    QCOMPARE(current.at(0).at(0).value<qsizetype>(), 151);
    QCOMPARE(view.currentIndex().row(), 75);
    // Record 150 is filtered out: nothing to select.
    QVERIFY(!view.selectStoreIndex(150));
    QCOMPARE(view.currentStoreIndex(), 151);
}

void TestMessageLogView::rowsHaveFixedHeights() {
    MessageLogView view;
    QVERIFY(view.verticalHeader()->isHidden());
    QCOMPARE(view.verticalHeader()->sectionResizeMode(0), QHeaderView::Fixed);
    QCOMPARE(view.selectionBehavior(), QAbstractItemView::SelectRows);
    QVERIFY(!view.wordWrap());
}

void TestMessageLogView::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("wsw-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_messagelogview"));
    QSettings().clear();
}

// Every format's longest text fits the column: "112471…" never appears.
void TestMessageLogView::timeColumnIsNeverElided() {
    MessageLogModel model;
    model.store().setClockOffset(0);
    model.appendEvents(1, textMessage(Direction::Outgoing, 1'700'000'000'000'000, "a"));
    model.appendEvents(1, textMessage(Direction::Incoming, 1'700'112'471'123'456, "b"));
    model.flush();
    LogPanel panel(&model);
    panel.resize(1024, 400);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    MessageLogView *view = panel.view();
    const QFontMetrics metrics(view->font());
    for (const auto format :
         {MessageLogModel::TimeFormat::WallClock, MessageLogModel::TimeFormat::SinceConnectionStart,
          MessageLogModel::TimeFormat::SincePreviousRow,
          MessageLogModel::TimeFormat::SinceReference,
          MessageLogModel::TimeFormat::SinceLogStart}) {
        model.setTimeFormat(format);
        const int available = view->columnWidth(MessageLogModel::TimeColumn) -
                              2 * view->style()->pixelMetric(QStyle::PM_FocusFrameHMargin) - 2;
        for (int row = 0; row < model.rowCount(); ++row) {
            const QString text =
                model.data(model.index(row, MessageLogModel::TimeColumn)).toString();
            QVERIFY2(metrics.horizontalAdvance(text) <= available,
                     qPrintable(QStringLiteral("%1 in %2 px").arg(text).arg(available)));
        }
        const QString title =
            model.headerData(MessageLogModel::TimeColumn, Qt::Horizontal).toString();
        QVERIFY2(QFontMetrics(view->horizontalHeader()->font()).horizontalAdvance(title) <=
                     view->columnWidth(MessageLogModel::TimeColumn),
                 qPrintable(title));
    }
}

// The header's context menu chooses the format; the choice outlives the window.
void TestMessageLogView::timeFormatIsRemembered() {
    QSettings().clear();
    {
        MessageLogModel model;
        LogPanel panel(&model);
        QCOMPARE(model.timeFormat(), MessageLogModel::TimeFormat::WallClock);
        QMenu *menu = panel.timeFormatMenu();
        QVERIFY(menu);
        QCOMPARE(menu->actions().size(), 5);
        QAction *previous = nullptr;
        for (QAction *action : menu->actions()) {
            if (action->data().toInt() == int(MessageLogModel::TimeFormat::SincePreviousRow))
                previous = action;
        }
        QVERIFY(previous);
        previous->trigger();
        QCOMPARE(model.timeFormat(), MessageLogModel::TimeFormat::SincePreviousRow);
        QVERIFY(previous->isChecked());
    }
    QCOMPARE(QSettings().value(QStringLiteral("log/timeFormat")).toString(),
             QStringLiteral("SincePreviousRow"));
    MessageLogModel model;
    LogPanel panel(&model);
    QCOMPARE(model.timeFormat(), MessageLogModel::TimeFormat::SincePreviousRow);

    // "Set as time reference" on the current row.
    model.appendEvents(1, textMessage(Direction::Outgoing, 1'000'000, "a"));
    model.appendEvents(1, textMessage(Direction::Incoming, 3'500'000, "b"));
    model.flush();
    panel.view()->setCurrentIndex(panel.proxy()->index(1, 0));
    panel.setTimeReferenceAction()->trigger();
    QCOMPARE(model.timeFormat(), MessageLogModel::TimeFormat::SinceReference);
    QCOMPARE(model.data(model.index(0, MessageLogModel::TimeColumn)).toString(),
             QStringLiteral("-2.500000"));
    QCOMPARE(model.data(model.index(1, MessageLogModel::TimeColumn)).toString(),
             QStringLiteral("*REF*"));
    QSettings().clear();
}

WSW_WINDOW_TEST_MAIN(TestMessageLogView)
#include "tst_messagelogview.moc"

// MessageLogView: following the tail, and rows <-> store records through a filter.

#include "guitesthelpers.h"

#include "models/logfilterproxy.h"
#include "models/messagelogmodel.h"
#include "widgets/messagelogview.h"

#include <QHeaderView>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTest>

using namespace ws;
using namespace wstest;

class TestMessageLogView : public QObject {
    Q_OBJECT

private slots:
    void followsTheTailUntilScrolledUp();
    void currentRecordThroughTheFilter();
    void rowsHaveFixedHeights();
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

} // namespace

void TestMessageLogView::followsTheTailUntilScrolledUp() {
    MessageLogModel model;
    model.store().setClockOffset(0);
    LogFilterProxy proxy;
    proxy.setSourceModel(&model);
    MessageLogView view;
    view.setModel(&proxy);
    view.resize(800, 300);
    view.show();
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

QTEST_MAIN(TestMessageLogView)
#include "tst_messagelogview.moc"

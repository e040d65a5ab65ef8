#include "connections/connectionhub.h"
#include "net/eventclock.h"
#include "windows/rttchart.h"

#include <QSet>
#include <QTest>

using namespace ws;

// The round-trip and rate chart without a hub: which connections get a series, and
// that what it holds stays bounded however many connections come and go.
class TestRttChart : public QObject {
    Q_OBJECT
private slots:
    void seriesUpToTheLimitThenCounted();
    void selectedConnectionIsAlwaysDrawn();
    void seriesLeaveWithTheirSamples();
    void freedColourIsTakenAgain();
    void namesGivenBeforeTheFirstSample();
};

namespace {

qint64 now() {
    return EventClock::nowMs();
}

} // namespace

void TestRttChart::seriesUpToTheLimitThenCounted() {
    RttChart chart;
    for (quint32 id = 1; id <= RttChart::MaxSeries; ++id)
        chart.addRate(id, 10);
    QCOMPARE(chart.seriesCount(), RttChart::MaxSeries);
    QCOMPARE(chart.notDrawnCount(), 0);
    // The next ones are not drawn, only counted, and their samples are not kept.
    chart.addRate(RttChart::MaxSeries + 1, 10);
    chart.addRoundTrip(RttChart::MaxSeries + 2, 1.5);
    chart.addRate(RttChart::MaxSeries + 1, 20);
    QCOMPARE(chart.seriesCount(), RttChart::MaxSeries);
    QCOMPARE(chart.notDrawnCount(), 2);
    QCOMPARE(chart.rateCount(), RttChart::MaxSeries);
    QCOMPARE(chart.roundTripCount(), 0);
    QVERIFY(!chart.colorOf(RttChart::MaxSeries + 1).isValid());
    // Drawn ones go on taking samples.
    chart.addRate(1, 30);
    QCOMPARE(chart.rateCount(), RttChart::MaxSeries + 1);
    chart.clear();
    QCOMPARE(chart.seriesCount(), 0);
    QCOMPARE(chart.notDrawnCount(), 0);
}

void TestRttChart::selectedConnectionIsAlwaysDrawn() {
    RttChart chart;
    for (quint32 id = 1; id <= RttChart::MaxSeries; ++id)
        chart.addRate(id, 10);
    const quint32 selected = 1000;
    chart.addRate(selected, 10);
    QVERIFY(!chart.colorOf(selected).isValid());
    QCOMPARE(chart.notDrawnCount(), 1);
    chart.setScope({selected});
    chart.addRate(selected, 12);
    QVERIFY(chart.colorOf(selected).isValid());
    QCOMPARE(chart.seriesCount(), RttChart::MaxSeries + 1);
    QCOMPARE(chart.notDrawnCount(), 0);
}

void TestRttChart::seriesLeaveWithTheirSamples() {
    RttChart chart;
    const qint64 windowMs = qint64(chart.windowSeconds()) * 1000;
    // Connection 1's samples are all older than the window; 2 has one in it.
    chart.addRate(1, 5, now() - windowMs - 5000);
    chart.addRate(1, 6, now() - windowMs - 4000);
    chart.addRate(2, 5, now() - windowMs - 5000);
    chart.addRate(2, 7, now() - 1000);
    for (quint32 id = 3; id <= RttChart::MaxSeries + 3; ++id)
        chart.addRate(id, 1, now() - windowMs - 1000);
    QCOMPARE(chart.seriesCount(), RttChart::MaxSeries);
    QCOMPARE(chart.notDrawnCount(), 3);
    // The chart prunes as its window changes (and once a second).
    chart.setWindowSeconds(chart.windowSeconds());
    QCOMPARE(chart.seriesCount(), 1);
    QVERIFY(chart.colorOf(2).isValid());
    QVERIFY(!chart.colorOf(1).isValid());
    // One sample before the window stays, so that its line enters from the edge.
    QCOMPARE(chart.rateCount(), 2);
    QCOMPARE(chart.notDrawnCount(), 0);
    // Their places are free for new connections.
    for (quint32 id = 100; id < 100 + RttChart::MaxSeries - 1; ++id)
        chart.addRate(id, 1);
    QCOMPARE(chart.seriesCount(), RttChart::MaxSeries);
    QCOMPARE(chart.notDrawnCount(), 0);
}

void TestRttChart::freedColourIsTakenAgain() {
    RttChart chart;
    const qint64 windowMs = qint64(chart.windowSeconds()) * 1000;
    // Eight connections take the eight colours of the palette.
    QSet<QRgb> colours;
    for (quint32 id = 1; id <= 8; ++id) {
        chart.addRate(id, 1, id == 3 ? now() - windowMs - 1000 : now());
        colours.insert(chart.colorOf(id).rgb());
    }
    QCOMPARE(colours.size(), 8);
    const QColor freed = chart.colorOf(3);
    chart.setWindowSeconds(chart.windowSeconds());
    QVERIFY(!chart.colorOf(3).isValid());
    // The next connection gets the colour connection 3 left, not one in use.
    chart.addRate(9, 1);
    QCOMPARE(chart.colorOf(9), freed);
}

void TestRttChart::namesGivenBeforeTheFirstSample() {
    RttChart chart;
    chart.setConnectionName(7, QStringLiteral("client #7"));
    chart.addRate(7, 1);
    QCOMPARE(chart.nameOf(7), QStringLiteral("client #7"));
    chart.setConnectionName(7, QStringLiteral("renamed"));
    QCOMPARE(chart.nameOf(7), QStringLiteral("renamed"));
    // Without a name or a hub, its id.
    chart.addRate(8, 1);
    QCOMPARE(chart.nameOf(8), QStringLiteral("#8"));
}

QTEST_MAIN(TestRttChart)
#include "tst_rttchart.moc"

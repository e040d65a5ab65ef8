#pragma once

#include <QColor>
#include <QHash>
#include <QList>
#include <QPointer>
#include <QTimer>
#include <QWidget>

#include <deque>
#include <limits>

class QChart;
class QChartView;
class QGraphicsSimpleTextItem;
class QLineSeries;
class QScatterSeries;
class QValueAxis;

namespace ws {

class ConnectionHub;

// A live chart of the last minute (Qt Charts): ping round-trip times (points, left
// axis, ms) and messages per second (lines, right axis), one colour and one legend
// entry per connection. Samples are kept here; the chart's series are rebuilt from
// them by a timer, never per sample, so a flood of messages cannot stall the GUI.
// Given a ConnectionHub, it charts the hub's connections itself: their names, the
// round trips the hub measures, and message rates sampled from the hub's counters
// once a second.
class RttChart : public QWidget {
    Q_OBJECT
public:
    static constexpr int DefaultWindowSeconds = 60;
    static constexpr int RateSampleMs = 1000;
    // Connections drawn at once, each with its legend entry (twice the palette). Later
    // ones wait until a connection's samples have all left the window, and are counted
    // on the chart as not drawn; a connection the user selected is always drawn.
    static constexpr int MaxSeries = 16;
    // The printf format of an axis from 0 to `top` with `tickCount` ticks: as many
    // decimals as its step needs and no more, never an exponent ("4e+04").
    static QString axisLabelFormat(double top, int tickCount);
    // The titles of the round-trip (left) and rate (right) axes.
    QString roundTripAxisTitle() const;
    QString rateAxisTitle() const;

    explicit RttChart(QWidget *parent = nullptr);

    // Follows `hub`'s connections from now on (null: none).
    void setHub(ConnectionHub *hub);
    ConnectionHub *hub() const { return m_hub; }
    // Adds a messages/s sample for every connection of the hub that has one: the
    // messages counted since the last call, over the time since then.
    void sampleRates();

    // Times are milliseconds of EventClock (core/net/eventclock.h), which may be
    // negative (before the clock's first reading); the default is now.
    static constexpr qint64 AtNow = std::numeric_limits<qint64>::min();
    void addRoundTrip(quint32 connection, double milliseconds, qint64 atMs = AtNow);
    void addRate(quint32 connection, double messagesPerSecond, qint64 atMs = AtNow);
    void setConnectionName(quint32 connection, const QString &name);
    // Only these connections are drawn (empty: all of them).
    void setScope(const QList<quint32> &connections);
    void clear();

    void setWindowSeconds(int seconds);
    int windowSeconds() const { return m_windowSeconds; }
    // Samples within the window, for tests and the empty-state text.
    int roundTripCount() const;
    int rateCount() const;
    // Connections with a series, and connections with samples in the window that have none.
    int seriesCount() const { return int(m_series.size()); }
    int notDrawnCount() const { return int(m_notDrawn.size()); }
    QColor colorOf(quint32 connection) const;
    // The legend's name of the connection's series (empty: none).
    QString nameOf(quint32 connection) const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void showEvent(QShowEvent *event) override;
    void changeEvent(QEvent *event) override;

private:
    struct Sample {
        qint64 atMs;
        double value;
    };
    struct Series {
        std::deque<Sample> roundTrips;
        std::deque<Sample> rates;
        QString name;
        int colorIndex = 0;
        QScatterSeries *roundTripSeries = nullptr;
        QLineSeries *rateSeries = nullptr;
    };

    // The connection's series, made on its first sample; null while MaxSeries are drawn.
    Series *seriesOf(quint32 connection, qint64 atMs);
    int freeColorIndex() const;
    // Drops samples older than the window, and the series of connections left with none.
    void prune();
    bool isShown(quint32 connection) const;
    void scheduleRefresh();
    void refresh();
    void applyStyle();
    void placeEmptyText();

    QPointer<ConnectionHub> m_hub;
    QTimer m_rateTimer;
    // Messages in + out of each live connection at the last sample.
    QHash<quint32, qint64> m_lastCounts;
    // Names given to connections that have no series yet (see setConnectionName()); the
    // hub's connections are named from the hub when their series is made.
    QHash<quint32, QString> m_names;
    // Connections that had samples but no series, by the time of their latest one.
    QHash<quint32, qint64> m_notDrawn;
    qint64 m_lastSampleMs = 0;

    QHash<quint32, Series> m_series;
    QList<quint32> m_order;
    QList<quint32> m_scope;
    int m_windowSeconds = DefaultWindowSeconds;
    QChart *m_chart = nullptr;
    QChartView *m_view = nullptr;

    QValueAxis *m_timeAxis = nullptr;
    QValueAxis *m_roundTripAxis = nullptr;
    QValueAxis *m_rateAxis = nullptr;
    QGraphicsSimpleTextItem *m_emptyText = nullptr;
    QGraphicsSimpleTextItem *m_notDrawnText = nullptr;
    // Slides the time axis once a second even when nothing new arrives.
    QTimer m_tick;
    // Coalesces the samples of a burst into one refresh.
    QTimer m_refresh;
};

} // namespace ws

#pragma once

#include <QColor>
#include <QHash>
#include <QList>
#include <QTimer>
#include <QWidget>

#include <deque>

namespace ws {

// A live chart of the last minute: ping round-trip times (points, upper pane) and
// messages per second (lines, lower pane), one colour per connection. Painted with
// QPainter; the time axis slides once a second.
class RttChart : public QWidget {
    Q_OBJECT
public:
    static constexpr int DefaultWindowSeconds = 60;

    explicit RttChart(QWidget *parent = nullptr);

    // Times are milliseconds since the epoch; the default is now.
    void addRoundTrip(quint32 connection, double milliseconds, qint64 atMs = -1);
    void addRate(quint32 connection, double messagesPerSecond, qint64 atMs = -1);
    void setConnectionName(quint32 connection, const QString &name);
    // Only these connections are drawn (empty: all of them).
    void setScope(const QList<quint32> &connections);
    void clear();

    void setWindowSeconds(int seconds);
    int windowSeconds() const { return m_windowSeconds; }
    // Samples within the window, for tests and the empty-state text.
    int roundTripCount() const;
    int rateCount() const;
    QColor colorOf(quint32 connection) const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent *event) override;

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
    };

    Series &seriesOf(quint32 connection);
    void prune();
    bool isShown(quint32 connection) const;
    void paintPane(QPainter &painter, const QRect &area, const QString &title, bool roundTrips,
                   qint64 nowMs);

    QHash<quint32, Series> m_series;
    QList<quint32> m_order;
    QList<quint32> m_scope;
    int m_windowSeconds = DefaultWindowSeconds;
    QTimer m_tick;
};

} // namespace ws

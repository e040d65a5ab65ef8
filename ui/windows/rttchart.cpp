#include "rttchart.h"

#include "connections/connectionhub.h"
#include "net/eventclock.h"

#include <QBrush>
#include <QEvent>
#include <QGraphicsLayout>
#include <QGraphicsSimpleTextItem>
#include <QPen>
#include <QVBoxLayout>
#include <QtCharts/QChart>
#include <QtCharts/QChartView>
#include <QtCharts/QLegend>
#include <QtCharts/QLegendMarker>
#include <QtCharts/QLineSeries>
#include <QtCharts/QScatterSeries>
#include <QtCharts/QValueAxis>

#include <algorithm>
#include <cmath>

namespace ws {

namespace {

// Distinct on white and for the common colour-vision deficiencies (Okabe-Ito).
const QColor Palette[] = {
    QColor(0x00, 0x72, 0xB2), QColor(0xD5, 0x5E, 0x00), QColor(0x00, 0x9E, 0x73),
    QColor(0xCC, 0x79, 0xA7), QColor(0xE6, 0x9F, 0x00), QColor(0x56, 0xB4, 0xE9),
    QColor(0x00, 0x00, 0x00), QColor(0xF0, 0xE4, 0x42),
};
constexpr int PaletteSize = int(sizeof(Palette) / sizeof(Palette[0]));

// A few refreshes a second look live; more only cost the GUI thread during a flood.
constexpr int RefreshDelayMs = 250;

// The clock the round trips are measured on: a sample lands where its pong did.
qint64 nowMs() {
    return EventClock::nowMs();
}

struct NiceRange {
    double top;
    int tickCount;
};

// The smallest round top of scale (1, 1.5, 2, 3, 4, 5, 6 or 8 times a power of ten)
// that is at least `value`, with a tick count that puts the grid lines on round
// numbers: coarser steps would leave half of a small dock's plot empty.
NiceRange niceRange(double value) {
    if (value <= 0)
        return {1, 5};
    const double power = std::pow(10.0, std::floor(std::log10(value)));
    const NiceRange steps[] = {{1, 6}, {1.5, 4}, {2, 5}, {3, 4}, {4, 5},
                               {5, 6}, {6, 4},   {8, 5}, {10, 6}};
    for (const NiceRange &step : steps) {
        if (step.top * power >= value)
            return {step.top * power, step.tickCount};
    }
    return {10 * power, 6};
}

void hideMarkersOf(QChart *chart, QLineSeries *series) {
    for (QLegendMarker *marker : chart->legend()->markers(series))
        marker->setVisible(false);
}

} // namespace

QString RttChart::roundTripAxisTitle() const {
    return m_roundTripAxis->titleText();
}

QString RttChart::rateAxisTitle() const {
    return m_rateAxis->titleText();
}

QString RttChart::axisLabelFormat(double top, int tickCount) {
    const double step = tickCount > 1 ? top / (tickCount - 1) : top;
    int decimals = 0;
    if (step > 0 && step < 1)
        decimals = std::min(3, int(std::ceil(-std::log10(step) - 1e-9)));
    // 0.25 needs two decimals where 0.2 needs one.
    while (decimals < 3 && std::abs(step * std::pow(10.0, decimals) -
                                    std::round(step * std::pow(10.0, decimals))) > 1e-6)
        ++decimals;
    return QStringLiteral("%.%1f").arg(decimals);
}

RttChart::RttChart(QWidget *parent)
    : QWidget(parent)
    , m_chart(new QChart)
    , m_timeAxis(new QValueAxis)
    , m_roundTripAxis(new QValueAxis)
    , m_rateAxis(new QValueAxis) {
    // The dock is small: every pixel of margin goes to the plot instead.
    m_chart->setAnimationOptions(QChart::NoAnimation);
    m_chart->setMargins(QMargins(2, 2, 2, 2));
    m_chart->setBackgroundRoundness(0);
    m_chart->layout()->setContentsMargins(0, 0, 0, 0);
    m_chart->legend()->setAlignment(Qt::AlignTop);
    m_chart->legend()->setMarkerShape(QLegend::MarkerShapeFromSeries);
    m_chart->legend()->setContentsMargins(0, 0, 0, 0);

    m_timeAxis->setRange(-m_windowSeconds, 0);
    m_timeAxis->setLabelFormat(QStringLiteral("%.0f s"));
    m_timeAxis->setTickCount(m_windowSeconds / 10 + 1);
    // Said in words: a bare "\u25CF" or "\u2014" beside a unit reads as noise.
    m_roundTripAxis->setTitleText(tr("round trip, ms (points)"));
    m_roundTripAxis->setLabelFormat(axisLabelFormat(1, 6));
    m_roundTripAxis->setMinorTickCount(0);
    m_rateAxis->setTitleText(tr("messages/s (lines)"));
    m_rateAxis->setLabelFormat(axisLabelFormat(1, 6));
    m_rateAxis->setGridLineVisible(false);
    m_chart->addAxis(m_timeAxis, Qt::AlignBottom);
    m_chart->addAxis(m_roundTripAxis, Qt::AlignLeft);
    m_chart->addAxis(m_rateAxis, Qt::AlignRight);

    m_emptyText = new QGraphicsSimpleTextItem(m_chart);
    m_emptyText->setZValue(10);
    m_notDrawnText = new QGraphicsSimpleTextItem(m_chart);
    m_notDrawnText->setZValue(10);
    m_notDrawnText->hide();
    connect(m_chart, &QChart::plotAreaChanged, this, &RttChart::placeEmptyText);

    m_view = new QChartView(m_chart, this);
    m_view->setRenderHint(QPainter::Antialiasing);
    m_view->setFrameShape(QFrame::NoFrame);
    m_view->setMinimumSize(0, 0);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_view);
    applyStyle();

    m_tick.setInterval(1000);
    connect(&m_tick, &QTimer::timeout, this, [this] {
        prune();
        refresh();
    });
    m_tick.start();
    m_refresh.setSingleShot(true);
    m_refresh.setInterval(RefreshDelayMs);
    connect(&m_refresh, &QTimer::timeout, this, &RttChart::refresh);
    m_rateTimer.setInterval(RateSampleMs);
    connect(&m_rateTimer, &QTimer::timeout, this, &RttChart::sampleRates);
    refresh();
}

void RttChart::setHub(ConnectionHub *hub) {
    if (m_hub)
        m_hub->disconnect(this);
    m_hub = hub;
    m_lastCounts.clear();
    if (!hub) {
        m_rateTimer.stop();
        return;
    }
    connect(hub, &ConnectionHub::roundTripMeasured, this,
            [this](quint32 id, double milliseconds) { addRoundTrip(id, milliseconds); });
    m_lastSampleMs = nowMs();
    m_rateTimer.start();
}

void RttChart::sampleRates() {
    if (!m_hub)
        return;
    const qint64 now = nowMs();
    const double seconds = std::max(0.001, double(now - m_lastSampleMs) / 1000.0);
    m_lastSampleMs = now;
    for (const quint32 id : m_hub->ids()) {
        const EndpointInfo *info = m_hub->info(id);
        if (!info->isConnection())
            continue;
        const qint64 total = info->messagesIn + info->messagesOut;
        const auto it = m_lastCounts.find(id);
        // A connection's first sample is where its rate is measured from.
        if (it == m_lastCounts.end()) {
            if (info->isLive())
                m_lastCounts.insert(id, total);
            continue;
        }
        // A connection that ended having carried nothing since its first sample gets no
        // line: a flood of short connections would otherwise fill the legend.
        if (total != *it || info->isLive() || m_series.contains(id))
            addRate(id, double(total - *it) / seconds, now);
        *it = total;
        if (!info->isLive())
            m_lastCounts.erase(it);
    }
}

void RttChart::applyStyle() {
    const QPalette colors = palette();
    QFont small = font();
    small.setPointSizeF(std::max(6.5, small.pointSizeF() * 0.8));
    const QColor text = colors.color(QPalette::Text);
    const QColor faint = colors.color(QPalette::PlaceholderText);
    const QColor grid = colors.color(QPalette::Mid).lighter(130);

    m_chart->setBackgroundBrush(colors.brush(QPalette::Base));
    m_chart->setPlotAreaBackgroundVisible(false);
    m_chart->legend()->setFont(small);
    m_chart->legend()->setLabelColor(text);
    for (QValueAxis *axis : {m_timeAxis, m_roundTripAxis, m_rateAxis}) {
        axis->setLabelsFont(small);
        axis->setTitleFont(small);
        axis->setLabelsColor(faint);
        axis->setTitleBrush(QBrush(text));
        axis->setLinePenColor(grid);
        axis->setGridLineColor(grid);
    }
    m_emptyText->setFont(small);
    m_emptyText->setBrush(faint);
    m_notDrawnText->setFont(small);
    m_notDrawnText->setBrush(faint);
}

int RttChart::freeColorIndex() const {
    // The colour fewest drawn connections have, the earliest in the palette on a tie.
    int uses[PaletteSize] = {};
    for (const Series &series : m_series)
        ++uses[series.colorIndex];
    return int(std::min_element(std::begin(uses), std::end(uses)) - std::begin(uses));
}

RttChart::Series *RttChart::seriesOf(quint32 connection, qint64 atMs) {
    auto it = m_series.find(connection);
    if (it == m_series.end()) {
        const bool selected = !m_scope.isEmpty() && m_scope.contains(connection);
        if (m_series.size() >= MaxSeries && !selected) {
            const auto counted = m_notDrawn.find(connection);
            if (counted == m_notDrawn.end())
                m_notDrawn.insert(connection, atMs);
            else
                *counted = std::max(*counted, atMs);
            return nullptr;
        }
        m_notDrawn.remove(connection);
        QString name = m_names.take(connection);
        if (name.isEmpty() && m_hub) {
            if (const EndpointInfo *info = m_hub->info(connection))
                name = info->name;
        }
        if (name.isEmpty())
            name = QStringLiteral("#%1").arg(connection);
        const int colorIndex = freeColorIndex();
        it = m_series.insert(connection, Series{});
        it->colorIndex = colorIndex;
        it->name = std::move(name);
        const QColor color = Palette[it->colorIndex];

        // The points carry the connection's legend entry; the rate line shares its colour.
        auto *roundTrips = new QScatterSeries;
        roundTrips->setName(it->name);
        roundTrips->setMarkerShape(QScatterSeries::MarkerShapeCircle);
        roundTrips->setMarkerSize(6);
        roundTrips->setColor(color);
        roundTrips->setBorderColor(color);
        auto *rates = new QLineSeries;
        rates->setName(it->name);
        rates->setPen(QPen(color, 1.5));
        m_chart->addSeries(rates);
        m_chart->addSeries(roundTrips);
        rates->attachAxis(m_timeAxis);
        rates->attachAxis(m_rateAxis);
        roundTrips->attachAxis(m_timeAxis);
        roundTrips->attachAxis(m_roundTripAxis);
        // Nothing is shown until the first refresh finds samples in the window.
        rates->setVisible(false);
        roundTrips->setVisible(false);
        hideMarkersOf(m_chart, rates);
        it->roundTripSeries = roundTrips;
        it->rateSeries = rates;
        m_order.append(connection);
    }
    return &*it;
}

void RttChart::addRoundTrip(quint32 connection, double milliseconds, qint64 atMs) {
    const qint64 at = atMs == AtNow ? nowMs() : atMs;
    if (Series *series = seriesOf(connection, at))
        series->roundTrips.push_back({at, milliseconds});
    scheduleRefresh();
}

void RttChart::addRate(quint32 connection, double messagesPerSecond, qint64 atMs) {
    const qint64 at = atMs == AtNow ? nowMs() : atMs;
    if (Series *series = seriesOf(connection, at))
        series->rates.push_back({at, messagesPerSecond});
    scheduleRefresh();
}

void RttChart::setConnectionName(quint32 connection, const QString &name) {
    // A connection gets its series with its first sample: a run of the probe opens
    // hundreds that never have one, and every series is a legend entry to lay out.
    const auto found = m_series.find(connection);
    if (found == m_series.end()) {
        m_names.insert(connection, name);
        return;
    }
    Series &series = *found;
    series.name = name;
    series.roundTripSeries->setName(name);
    series.rateSeries->setName(name);
}

void RttChart::setScope(const QList<quint32> &connections) {
    m_scope = connections;
    scheduleRefresh();
}

void RttChart::clear() {
    m_chart->removeAllSeries();
    m_series.clear();
    m_order.clear();
    m_notDrawn.clear();
    refresh();
}

void RttChart::setWindowSeconds(int seconds) {
    m_windowSeconds = std::max(seconds, 5);
    m_timeAxis->setRange(-m_windowSeconds, 0);
    // A grid line every 10 s, or every 5 s for a short window.
    const int step = m_windowSeconds >= 20 ? 10 : 5;
    m_timeAxis->setTickCount(std::max(2, m_windowSeconds / step + 1));
    prune();
    refresh();
}

int RttChart::roundTripCount() const {
    int count = 0;
    for (const Series &series : m_series)
        count += int(series.roundTrips.size());
    return count;
}

int RttChart::rateCount() const {
    int count = 0;
    for (const Series &series : m_series)
        count += int(series.rates.size());
    return count;
}

QColor RttChart::colorOf(quint32 connection) const {
    const auto it = m_series.constFind(connection);
    return it == m_series.constEnd() ? QColor() : Palette[it->colorIndex];
}

QString RttChart::nameOf(quint32 connection) const {
    const auto it = m_series.constFind(connection);
    return it == m_series.constEnd() ? QString() : it->name;
}

bool RttChart::isShown(quint32 connection) const {
    return m_scope.isEmpty() || m_scope.contains(connection);
}

void RttChart::prune() {
    // One sample beyond the left edge stays, so lines enter the chart from the edge.
    const qint64 oldest = nowMs() - qint64(m_windowSeconds) * 1000;
    for (auto it = m_series.begin(); it != m_series.end();) {
        bool inWindow = false;
        for (std::deque<Sample> *samples : {&it->roundTrips, &it->rates}) {
            while (samples->size() > 1 && (*samples)[1].atMs < oldest)
                samples->pop_front();
            inWindow = inWindow || (!samples->empty() && samples->back().atMs >= oldest);
        }
        if (inWindow) {
            ++it;
            continue;
        }
        // Nothing of it left to draw: its place goes to the next connection.
        m_chart->removeSeries(it->roundTripSeries);
        m_chart->removeSeries(it->rateSeries);
        delete it->roundTripSeries;
        delete it->rateSeries;
        m_order.removeOne(it.key());
        it = m_series.erase(it);
    }
    m_notDrawn.removeIf([oldest](const auto &entry) { return entry.value() < oldest; });
}

void RttChart::scheduleRefresh() {
    if (!m_refresh.isActive())
        m_refresh.start();
}

void RttChart::refresh() {
    m_refresh.stop();
    // A hidden dock costs nothing; showEvent() catches up.
    if (!isVisible())
        return;
    const qint64 now = nowMs();
    const qint64 oldest = now - qint64(m_windowSeconds) * 1000;
    const auto pointOf = [now](const Sample &sample) {
        return QPointF(double(sample.atMs - now) / 1000.0, sample.value);
    };

    double maximumRoundTrip = 0;
    double maximumRate = 0;
    bool anyRoundTrip = false;
    bool anyRate = false;
    for (const quint32 connection : std::as_const(m_order)) {
        Series &series = m_series[connection];
        const bool shown = isShown(connection);
        QList<QPointF> roundTrips;
        for (const Sample &sample : series.roundTrips) {
            if (sample.atMs < oldest)
                continue;
            roundTrips.append(pointOf(sample));
            if (shown)
                maximumRoundTrip = std::max(maximumRoundTrip, sample.value);
        }
        QList<QPointF> rates;
        bool rateInWindow = false;
        for (const Sample &sample : series.rates) {
            rates.append(pointOf(sample));
            if (sample.atMs < oldest)
                continue;
            rateInWindow = true;
            if (shown)
                maximumRate = std::max(maximumRate, sample.value);
        }
        anyRoundTrip = anyRoundTrip || (shown && !roundTrips.isEmpty());
        anyRate = anyRate || (shown && rateInWindow);

        series.roundTripSeries->replace(roundTrips);
        series.rateSeries->replace(rates);
        // The points' series keeps the legend entry while the connection has anything
        // in the window, even if that is only rates.
        const bool showPoints = shown && (!roundTrips.isEmpty() || rateInWindow);
        const bool showLine = shown && rateInWindow;
        if (series.roundTripSeries->isVisible() != showPoints)
            series.roundTripSeries->setVisible(showPoints);
        if (series.rateSeries->isVisible() != showLine) {
            series.rateSeries->setVisible(showLine);
            // A series made visible shows its legend marker again.
            hideMarkersOf(m_chart, series.rateSeries);
        }
    }

    // Headroom above the highest point so it is not drawn on the frame.
    const NiceRange roundTripRange = niceRange(maximumRoundTrip * 1.1);
    m_roundTripAxis->setRange(0, roundTripRange.top);
    m_roundTripAxis->setTickCount(roundTripRange.tickCount);
    m_roundTripAxis->setLabelFormat(axisLabelFormat(roundTripRange.top, roundTripRange.tickCount));
    const NiceRange rateRange = niceRange(maximumRate * 1.1);
    m_rateAxis->setRange(0, rateRange.top);
    m_rateAxis->setTickCount(rateRange.tickCount);
    m_rateAxis->setLabelFormat(axisLabelFormat(rateRange.top, rateRange.tickCount));

    if (anyRoundTrip) {
        m_emptyText->hide();
    } else {
        m_emptyText->setText(anyRate ? tr("No round trips yet: send a ping")
                                     : tr("No traffic in the last minute"));
        placeEmptyText();
        m_emptyText->show();
    }
    if (m_notDrawn.isEmpty()) {
        m_notDrawnText->hide();
    } else {
        m_notDrawnText->setText(
            tr("%n more connection(s) not drawn", nullptr, int(m_notDrawn.size())));
        placeEmptyText();
        m_notDrawnText->show();
    }
}

void RttChart::placeEmptyText() {
    // At the top of the plot, where the rate lines of an idle connection rarely are.
    const QRectF area = m_chart->plotArea();
    const QRectF text = m_emptyText->boundingRect();
    m_emptyText->setPos(area.center().x() - text.width() / 2, area.top() + 4);
    // The count of connections not drawn: in the top right corner of the plot, below
    // the empty-state text when that is shown too.
    const QRectF more = m_notDrawnText->boundingRect();
    const qreal top = area.top() + 4 + (m_emptyText->isVisible() ? text.height() + 2 : 0);
    m_notDrawnText->setPos(area.right() - more.width() - 4, top);
}

void RttChart::showEvent(QShowEvent *event) {
    QWidget::showEvent(event);
    prune();
    refresh();
}

void RttChart::changeEvent(QEvent *event) {
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::FontChange)
        applyStyle();
}

QSize RttChart::sizeHint() const {
    return {420, 220};
}

QSize RttChart::minimumSizeHint() const {
    return {220, 140};
}

} // namespace ws

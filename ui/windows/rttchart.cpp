#include "rttchart.h"

#include <QDateTime>
#include <QPainter>
#include <QPainterPath>

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

qint64 nowMs() {
    return QDateTime::currentMSecsSinceEpoch();
}

// The smallest 1, 2 or 5 times a power of ten that is at least `value`.
double niceCeiling(double value) {
    if (value <= 0)
        return 1;
    const double power = std::pow(10.0, std::floor(std::log10(value)));
    for (const double step : {1.0, 2.0, 5.0, 10.0}) {
        if (step * power >= value)
            return step * power;
    }
    return 10 * power;
}

QString axisNumber(double value) {
    if (value >= 100 || value == std::floor(value))
        return QString::number(value, 'f', 0);
    return QString::number(value, 'g', 3);
}

} // namespace

RttChart::RttChart(QWidget *parent)
    : QWidget(parent) {
    setBackgroundRole(QPalette::Base);
    setAutoFillBackground(true);
    // The time axis slides even when nothing new arrives.
    m_tick.setInterval(1000);
    connect(&m_tick, &QTimer::timeout, this, [this] {
        prune();
        update();
    });
    m_tick.start();
}

RttChart::Series &RttChart::seriesOf(quint32 connection) {
    auto it = m_series.find(connection);
    if (it == m_series.end()) {
        it = m_series.insert(connection, Series{});
        it->colorIndex = int(m_order.size()) % PaletteSize;
        it->name = QStringLiteral("#%1").arg(connection);
        m_order.append(connection);
    }
    return *it;
}

void RttChart::addRoundTrip(quint32 connection, double milliseconds, qint64 atMs) {
    seriesOf(connection).roundTrips.push_back({atMs < 0 ? nowMs() : atMs, milliseconds});
    update();
}

void RttChart::addRate(quint32 connection, double messagesPerSecond, qint64 atMs) {
    seriesOf(connection).rates.push_back({atMs < 0 ? nowMs() : atMs, messagesPerSecond});
    update();
}

void RttChart::setConnectionName(quint32 connection, const QString &name) {
    seriesOf(connection).name = name;
    update();
}

void RttChart::setScope(const QList<quint32> &connections) {
    m_scope = connections;
    update();
}

void RttChart::clear() {
    m_series.clear();
    m_order.clear();
    update();
}

void RttChart::setWindowSeconds(int seconds) {
    m_windowSeconds = std::max(seconds, 5);
    prune();
    update();
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

bool RttChart::isShown(quint32 connection) const {
    return m_scope.isEmpty() || m_scope.contains(connection);
}

void RttChart::prune() {
    // One sample beyond the left edge stays, so lines enter the chart from the edge.
    const qint64 oldest = nowMs() - qint64(m_windowSeconds) * 1000;
    for (auto it = m_series.begin(); it != m_series.end();) {
        for (std::deque<Sample> *samples : {&it->roundTrips, &it->rates}) {
            while (samples->size() > 1 && (*samples)[1].atMs < oldest)
                samples->pop_front();
        }
        ++it;
    }
}

QSize RttChart::sizeHint() const {
    return {420, 220};
}

QSize RttChart::minimumSizeHint() const {
    return {220, 140};
}

void RttChart::paintEvent(QPaintEvent *) {
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    const QFontMetrics metrics = fontMetrics();
    const int line = metrics.height();
    const qint64 now = nowMs();

    // Legend: the connections that have something in the window.
    int x = 8;
    const int legendY = 4;
    for (const quint32 connection : std::as_const(m_order)) {
        const Series &series = m_series[connection];
        if (!isShown(connection) || (series.roundTrips.empty() && series.rates.empty()))
            continue;
        const int width = metrics.horizontalAdvance(series.name);
        if (x + 14 + width > this->width() - 8)
            break;
        painter.fillRect(QRect(x, legendY + line / 2 - 4, 10, 10), Palette[series.colorIndex]);
        painter.setPen(palette().color(QPalette::Text));
        painter.drawText(QRect(x + 14, legendY, width + 2, line), Qt::AlignVCenter, series.name);
        x += 14 + width + 14;
    }

    const int top = legendY + line + 4;
    const int bottomAxis = line + 6;
    const int available = height() - top - bottomAxis;
    // Room for the lower pane's top label under the upper pane's zero.
    const int gap = line;
    const int paneHeight = (available - gap) / 2;
    const int left = metrics.horizontalAdvance(QStringLiteral("00000")) + 10;
    const QRect upper(left, top, width() - left - 10, paneHeight);
    const QRect lower(left, top + paneHeight + gap, width() - left - 10, paneHeight);
    paintPane(painter, upper, tr("Ping round trip (ms)"), true, now);
    paintPane(painter, lower, tr("Messages per second"), false, now);

    // The shared time axis below the lower pane.
    painter.setPen(palette().color(QPalette::PlaceholderText));
    const double span = m_windowSeconds * 1000.0;
    // Labels every 10 s when they fit, else every 20 or 30 s.
    const int labelWidth = metrics.horizontalAdvance(QStringLiteral("\u221260 s")) + 8;
    int step = 10;
    while (step < m_windowSeconds && step * 1000.0 / span * lower.width() < labelWidth)
        step += 10;
    for (int seconds = 0; seconds <= m_windowSeconds; seconds += step) {
        const int tx = lower.right() - int(seconds * 1000.0 / span * lower.width());
        const QString label = seconds == 0 ? tr("now") : QStringLiteral("\u2212%1 s").arg(seconds);
        const int width = metrics.horizontalAdvance(label);
        painter.drawText(QRect(tx - width / 2 - 2, lower.bottom() + 3, width + 4, line),
                         Qt::AlignCenter, label);
    }
}

void RttChart::paintPane(QPainter &painter, const QRect &area, const QString &title,
                         bool roundTrips, qint64 nowMs) {
    if (area.height() < 20)
        return;
    const QColor grid = palette().color(QPalette::Mid).lighter(130);
    const QColor text = palette().color(QPalette::PlaceholderText);
    const double span = m_windowSeconds * 1000.0;
    const qint64 oldest = nowMs - qint64(span);

    double maximum = 0;
    bool any = false;
    for (const quint32 connection : std::as_const(m_order)) {
        if (!isShown(connection))
            continue;
        const Series &series = m_series[connection];
        for (const Sample &sample : roundTrips ? series.roundTrips : series.rates) {
            if (sample.atMs >= oldest) {
                maximum = std::max(maximum, sample.value);
                any = true;
            }
        }
    }
    const double top = niceCeiling(maximum * 1.1);

    painter.setPen(QPen(grid, 1));
    painter.drawRect(area.adjusted(0, 0, -1, -1));
    const QFontMetrics metrics = fontMetrics();
    for (int i = 0; i <= 4; ++i) {
        const int y = area.bottom() - int(i * area.height() / 4.0);
        if (i > 0 && i < 4) {
            painter.setPen(QPen(grid, 1, Qt::DotLine));
            painter.drawLine(area.left(), y, area.right(), y);
        }
        painter.setPen(text);
        const QString label = axisNumber(top * i / 4.0);
        painter.drawText(QRect(0, y - metrics.height() / 2, area.left() - 4, metrics.height()),
                         Qt::AlignRight | Qt::AlignVCenter, label);
    }
    for (int seconds = 10; seconds < m_windowSeconds; seconds += 10) {
        const int x = area.right() - int(seconds * 1000.0 / span * area.width());
        painter.setPen(QPen(grid, 1, Qt::DotLine));
        painter.drawLine(x, area.top(), x, area.bottom());
    }
    painter.setPen(palette().color(QPalette::Text));
    painter.drawText(area.adjusted(6, 2, -6, 0), Qt::AlignLeft | Qt::AlignTop, title);
    if (!any) {
        painter.setPen(text);
        painter.drawText(area, Qt::AlignCenter,
                         roundTrips ? tr("No round trips yet: send a ping")
                                    : tr("No messages in the last minute"));
        return;
    }

    painter.save();
    painter.setClipRect(area.adjusted(1, 1, -1, -1));
    const auto point = [&](const Sample &sample) {
        const double x = area.right() - double(nowMs - sample.atMs) / span * area.width();
        const double y = area.bottom() - sample.value / top * area.height();
        return QPointF(x, y);
    };
    for (const quint32 connection : std::as_const(m_order)) {
        if (!isShown(connection))
            continue;
        const Series &series = m_series[connection];
        const std::deque<Sample> &samples = roundTrips ? series.roundTrips : series.rates;
        if (samples.empty())
            continue;
        const QColor color = Palette[series.colorIndex];
        QPainterPath path;
        path.moveTo(point(samples.front()));
        for (size_t i = 1; i < samples.size(); ++i)
            path.lineTo(point(samples[i]));
        QColor faint = color;
        faint.setAlpha(roundTrips ? 110 : 255);
        painter.setPen(QPen(faint, roundTrips ? 1 : 1.6));
        painter.setBrush(Qt::NoBrush);
        painter.drawPath(path);
        if (roundTrips) {
            painter.setPen(Qt::NoPen);
            painter.setBrush(color);
            for (const Sample &sample : samples)
                painter.drawEllipse(point(sample), 3.0, 3.0);
        }
    }
    painter.restore();
}

} // namespace ws

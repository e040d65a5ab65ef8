// Floods the message log the way a busy connection would and prints what it costs:
//  - flood: 64-byte text messages at a steady rate (default 20,000/s for 5 s) into
//    MessageLogModel -> LogFilterProxy -> MessageLogView, following the tail, while a
//    1 ms timer records the event loop's worst stall;
//  - saturation: as many messages as the loop absorbs for 2 s;
//  - memory: 1,000,000 rows, bytes per row from the model's accounting and from the
//    VmRSS delta in /proc/self/status;
//  - filter: re-filtering those rows by direction and by regular expression.
// Targets: worst stall < 50 ms at 20,000 msg/s; < 300 bytes of overhead per 64-byte
// message at 1,000,000 rows.
//
// Usage: bench_logflood [--rate N] [--seconds S] [--rows N]  (runs offscreen by default)

#include "models/logfilterproxy.h"
#include "models/messagelogmodel.h"
#include "widgets/messagelogview.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QFile>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <cstring>

using namespace ws;

namespace {

qint64 residentBytes() {
    // /proc files have no size: read until the end rather than asking atEnd().
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    const QList<QByteArray> lines = status.readAll().split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').first().toLongLong() * 1024;
    }
    return -1;
}

// One message as the session reports it: its frame, then the message, sharing one
// freshly allocated 64-byte payload (the decoder allocates each payload once).
class Producer {
public:
    explicit Producer(MessageLogModel &model)
        : m_model(model) {}

    void produce(int count) {
        for (int i = 0; i < count; ++i) {
            QByteArray payload(64, Qt::Uninitialized);
            const int written = std::snprintf(
                payload.data(), 65, "{\"seq\":%012lld,\"price\":\"101.25\",\"x\":\"abcdefgh\"}",
                static_cast<long long>(m_sequence));
            std::memset(payload.data() + written, ' ', size_t(64 - written));
            const qint64 now = m_clock.nsecsElapsed() / 1000;
            FrameEvent frame;
            frame.direction = m_sequence % 4 == 0 ? Direction::Outgoing : Direction::Incoming;
            frame.timestampUs = now;
            frame.frame.header.opcode = 0x1;
            frame.frame.header.payloadLength = 64;
            frame.frame.rawHeader = serializeHeader(frame.frame.header);
            frame.frame.payload = payload;
            MessageEvent message;
            message.direction = frame.direction;
            message.timestampUs = now;
            message.message.data = payload;
            message.message.wireSize = 64;
            m_model.appendEvent(1, frame);
            m_model.appendEvent(1, message);
            ++m_sequence;
        }
    }
    qint64 produced() const { return m_sequence; }
    void start() { m_clock.start(); }

private:
    MessageLogModel &m_model;
    QElapsedTimer m_clock;
    qint64 m_sequence = 0;
};

// The largest gap between the ticks of a 1 ms timer.
class StallMeter {
public:
    StallMeter() {
        m_timer.setTimerType(Qt::PreciseTimer);
        m_timer.setInterval(1);
        QObject::connect(&m_timer, &QTimer::timeout, [this] {
            const qint64 now = m_clock.nsecsElapsed();
            m_worstNs = std::max(m_worstNs, now - m_lastNs);
            m_lastNs = now;
        });
    }
    void start() {
        m_worstNs = 0;
        m_clock.start();
        m_lastNs = 0;
        m_timer.start();
    }
    double stop() {
        m_timer.stop();
        return double(m_worstNs) / 1e6;
    }

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_lastNs = 0;
    qint64 m_worstNs = 0;
};

struct Flood {
    qint64 rows = 0;
    double seconds = 0;
    double worstStallMs = 0;
    qint64 pending = 0;
};

// Runs the event loop for `seconds`, producing `perTick(elapsed)` messages every ms.
template <typename PerTick>
Flood runFlood(MessageLogModel &model, Producer &producer, double seconds, PerTick perTick) {
    const int before = model.rowCount();
    QElapsedTimer elapsed;
    QTimer tick;
    tick.setTimerType(Qt::PreciseTimer);
    tick.setInterval(1);
    QObject::connect(&tick, &QTimer::timeout, [&] { producer.produce(perTick(elapsed)); });
    StallMeter stalls;
    QEventLoop loop;
    QTimer::singleShot(int(seconds * 1000), &loop, &QEventLoop::quit);
    elapsed.start();
    producer.start();
    stalls.start();
    tick.start();
    loop.exec();
    tick.stop();
    Flood result;
    result.worstStallMs = stalls.stop();
    result.seconds = double(elapsed.nsecsElapsed()) / 1e9;
    result.pending = model.pendingCount();
    result.rows = model.rowCount() - before;
    return result;
}

} // namespace

int main(int argc, char **argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Message log flood benchmark"));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("rate"), QStringLiteral("Messages per second."),
                      QStringLiteral("n"), QStringLiteral("20000")});
    parser.addOption({QStringLiteral("seconds"), QStringLiteral("Flood duration."),
                      QStringLiteral("s"), QStringLiteral("5")});
    parser.addOption({QStringLiteral("rows"), QStringLiteral("Rows for the memory figure."),
                      QStringLiteral("n"), QStringLiteral("1000000")});
    parser.process(app);
    const double rate = parser.value(QStringLiteral("rate")).toDouble();
    const double seconds = parser.value(QStringLiteral("seconds")).toDouble();
    const int rows = parser.value(QStringLiteral("rows")).toInt();

    MessageLogModel model;
    LogFilterProxy proxy;
    proxy.setSourceModel(&model);
    MessageLogView view;
    view.setModel(&proxy);
    view.resize(1200, 800);
    view.show();
    view.setFollowTail(true);
    Producer producer(model);

    // --- memory at 1,000,000 rows ----------------------------------------------------
    // First, while the heap is fresh, so that the VmRSS delta is the log's growth.
    const qint64 rssBefore = residentBytes();
    producer.start();
    for (int done = 0; done < rows;) {
        const int batch = std::min(20'000, rows - done);
        producer.produce(batch);
        model.flush();
        QApplication::processEvents();
        done += batch;
    }
    const qint64 rssAfter = residentBytes();
    const double accounted = double(model.memoryUsage()) / model.rowCount();
    const double resident = double(rssAfter - rssBefore) / model.rowCount();
    std::printf("memory: %d rows of 64-byte text: accounting %.1f B/row (%.1f B overhead), "
                "VmRSS delta %.1f B/row (%.1f B overhead, view and proxy included); "
                "target < 300 B overhead\n",
                model.rowCount(), accounted, accounted - 64, resident, resident - 64);

    // --- filtering those rows ---------------------------------------------------------
    QElapsedTimer timer;
    timer.start();
    proxy.setDirectionFilter(LogFilterProxy::Received);
    const qint64 directionMs = timer.elapsed();
    const int received = proxy.rowCount();
    timer.restart();
    proxy.setTextFilter(QStringLiteral(R"re("seq":\d*7,)re"),
                        LogFilterProxy::TextMode::RegularExpression);
    const qint64 regexMs = timer.elapsed();
    const int matched = proxy.rowCount();
    timer.restart();
    proxy.resetFilters();
    const qint64 resetMs = timer.elapsed();
    std::printf("filter over %d rows: by direction %lld ms (%d rows), + regular expression "
                "%lld ms (%d rows), reset %lld ms\n",
                model.rowCount(), static_cast<long long>(directionMs), received,
                static_cast<long long>(regexMs), matched, static_cast<long long>(resetMs));

    // --- flood at a steady rate: into the full log, then into an empty one -------------
    const auto steadyFlood = [&](const char *label) {
        const qint64 producedBefore = producer.produced();
        const Flood flood = runFlood(model, producer, seconds, [&](const QElapsedTimer &t) {
            // Whatever is due by now: a late tick catches up, as a socket buffer would.
            const qint64 due = qint64(double(t.nsecsElapsed()) / 1e9 * rate);
            return int(std::max<qint64>(0, due - (producer.produced() - producedBefore)));
        });
        std::printf("flood (%s): %.0f msg/s target for %.1f s: %lld messages absorbed "
                    "(%.0f/s), worst event-loop stall %.1f ms (target < 50 ms), %lld pending at "
                    "the end, %d rows\n",
                    label, rate, flood.seconds,
                    static_cast<long long>(producer.produced() - producedBefore - flood.pending),
                    double(producer.produced() - producedBefore - flood.pending) / flood.seconds,
                    flood.worstStallMs, static_cast<long long>(flood.pending), model.rowCount());
    };
    // At the capacity (1,000,000 by default) every new slice pushes the oldest out.
    model.setCapacity(std::min<qsizetype>(model.capacity(), model.rowCount()));
    steadyFlood("log full, oldest rows dropped");
    model.setCapacity(MessageLogModel::DefaultCapacity);
    model.clear();
    QApplication::processEvents();
    steadyFlood("empty log");

    // --- saturation -------------------------------------------------------------------
    model.clear();
    const Flood burst = runFlood(model, producer, 2.0, [](const QElapsedTimer &) { return 500; });
    model.flush();
    QApplication::processEvents();
    std::printf("saturation: %lld rows in %.1f s (%.0f rows/s absorbed), worst stall %.1f ms\n",
                static_cast<long long>(model.rowCount()), burst.seconds,
                double(model.rowCount()) / burst.seconds, burst.worstStallMs);

    return 0;
}

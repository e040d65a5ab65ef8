// Floods the workbench window from a local server and prints what it costs. A
// ws::Server in Manual mode runs in its own thread (so its CPU is not the GUI
// thread's) on 127.0.0.1, port 0, and sends 64-byte text messages to its clients; the
// window connects to it through its ConnectionHub like a user would, so every message
// travels socket -> ClientConnection -> ConnectionHub -> MessageLogModel ->
// LogFilterProxy -> MessageLogView, with the view following the tail.
//
//  - fill: `--rows` messages (default 1,000,000) as fast as the window takes them
//    (the server keeps at most 1 MiB queued): rows/s absorbed, and the memory per
//    row at that size from the log's accounting and from the VmRSS delta;
//  - flood: `--rate` messages/s (default 20,000) for `--seconds` (default 5) into the
//    full log (every new slice pushes the oldest rows out): rows/s absorbed and the
//    event loop's worst stall, as the largest gap between the ticks of a 1 ms timer
//    and as the largest delay of an event posted every 1 ms from the server thread.
//  - filter: a display filter typed into the log's filter field over the full log,
//    one key every 80 ms from another thread (as a keyboard would, whatever the GUI
//    thread is doing), with a pause mid-way so that a filter runs while typing goes
//    on: the time from each key to the field repainting with it (echo), and from the
//    last key to the filtered rows being painted (result, debounce included).
// Targets: worst stall < 50 ms at 20,000 msg/s; < 300 bytes of overhead per 64-byte
// message at 1,000,000 rows; keystroke echoed < 50 ms and filtered result < 1 s on
// the full log.
//
// Usage: bench_logflood [--rate N] [--seconds S] [--rows N]; exits with 1 when a
// target is missed.
// Runs on the offscreen platform unless QT_QPA_PLATFORM says otherwise (e.g. xcb
// under Xvfb).

#include "connections/connectionhub.h"
#include "guibenchsetup.h"
#include "models/logfilterproxy.h"
#include "models/messagelogmodel.h"
#include "net/server.h"
#include "widgets/displayfilteredit.h"
#include "widgets/messagelogview.h"
#include "windows/logpanel.h"
#include "windows/mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QInputDevice>
#include <QKeyEvent>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

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

// Both threads stamp with this clock, so a delay can span them.
qint64 monotonicNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void raiseTo(std::atomic<qint64> &worst, qint64 value) {
    qint64 current = worst.load(std::memory_order_relaxed);
    while (value > current && !worst.compare_exchange_weak(current, value))
        ;
}

// The sending side, confined to its own thread: a ws::Server in Manual mode and a
// 1 ms timer that sends whatever is due to every open client, and that also posts
// a probe event to the GUI thread while a measurement runs.
class FloodServer {
public:
    // A client's queue above this pauses sending: a window that cannot keep up
    // shows as a backlog, not as a server that grows without bound.
    static constexpr qint64 MaxQueuedBytes = 1 << 20;

    explicit FloodServer(QObject *guiContext)
        : m_guiContext(guiContext) {
        m_thread.setObjectName(QStringLiteral("flood server"));
        m_context.moveToThread(&m_thread);
        m_thread.start();
    }
    ~FloodServer() {
        run([this] {
            m_timer.reset();
            m_server.reset();
            // Back to the main thread, which destroys it after the thread is gone.
            m_context.moveToThread(QCoreApplication::instance()->thread());
        });
        m_thread.quit();
        m_thread.wait();
    }

    // Listens on 127.0.0.1; returns the port, or 0 and the reason in `error`.
    quint16 listen(QString *error) {
        quint16 port = 0;
        run([&] {
            ServerOptions options;
            options.port = 0;
            options.mode = ServerOptions::Mode::Manual;
            options.serveTestPage = false;
            options.keepaliveIntervalMs = 0;
            m_server = std::make_unique<Server>(options);
            if (!m_server->listen()) {
                *error = m_server->errorString();
                return;
            }
            port = m_server->port();
            m_timer = std::make_unique<QTimer>();
            m_timer->setTimerType(Qt::PreciseTimer);
            m_timer->setInterval(1);
            QObject::connect(m_timer.get(), &QTimer::timeout, [this] { tick(); });
            m_timer->start();
        });
        return port;
    }

    // Sends `count` messages in all: at `rate` per second, or as fast as the
    // clients' queues drain when `rate` is 0.
    void send(qint64 count, double rate) {
        run([this, count, rate] {
            m_phaseSent = 0;
            m_phaseCount = count;
            m_rate = rate;
            m_phaseClock.start();
        });
    }
    qint64 sent() const { return m_sent.load(); }

    // Posted events: their worst delay in the GUI thread, from now on.
    void startProbing() {
        m_worstProbeNs.store(0);
        m_probing.store(true);
    }
    double stopProbing() {
        m_probing.store(false);
        return double(m_worstProbeNs.load()) / 1e6;
    }

private:
    template <typename Function> void run(Function function) {
        QMetaObject::invokeMethod(&m_context, function, Qt::BlockingQueuedConnection);
    }

    QByteArray nextPayload() {
        QByteArray payload(64, Qt::Uninitialized);
        const int written = std::snprintf(
            payload.data(), 65, "{\"seq\":%012lld,\"price\":\"101.25\",\"x\":\"abcdefgh\"}",
            static_cast<long long>(m_sent.load(std::memory_order_relaxed)));
        std::memset(payload.data() + written, ' ', size_t(64 - written));
        return payload;
    }

    void tick() {
        if (m_probing.load(std::memory_order_relaxed)) {
            const qint64 posted = monotonicNs();
            QMetaObject::invokeMethod(
                m_guiContext, [this, posted] { raiseTo(m_worstProbeNs, monotonicNs() - posted); },
                Qt::QueuedConnection);
        }
        qint64 due = m_phaseCount - m_phaseSent;
        if (m_rate > 0) {
            // Whatever is due by now: a late tick catches up, as a busy sender would.
            const auto byNow = qint64(double(m_phaseClock.nsecsElapsed()) / 1e9 * m_rate);
            due = std::min(due, byNow - m_phaseSent);
        }
        if (due <= 0 || !m_server)
            return;
        const QList<ServerClient *> clients = m_server->clients();
        for (ServerClient *client : clients) {
            if (client->state() != SessionState::Open)
                continue;
            for (qint64 i = 0; i < due && client->pendingBytes() < MaxQueuedBytes; ++i) {
                if (client->sendText(nextPayload()) != SendError::None)
                    break;
                ++m_phaseSent;
                m_sent.fetch_add(1, std::memory_order_relaxed);
            }
        }
    }

    QThread m_thread;
    QObject m_context;
    QObject *m_guiContext;
    std::unique_ptr<Server> m_server;
    std::unique_ptr<QTimer> m_timer;
    QElapsedTimer m_phaseClock;
    qint64 m_phaseSent = 0;
    qint64 m_phaseCount = 0;
    double m_rate = 0;
    std::atomic<qint64> m_sent{0};
    std::atomic<bool> m_probing{false};
    std::atomic<qint64> m_worstProbeNs{0};
};

// The largest gap between the ticks of a 1 ms timer in the GUI thread.
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

// Runs the event loop until `done()` holds (checked every 10 ms) or `timeoutMs`.
bool runUntil(const std::function<bool()> &done, int timeoutMs) {
    QEventLoop loop;
    QTimer check;
    check.setInterval(10);
    QObject::connect(&check, &QTimer::timeout, &loop, [&] {
        if (done())
            loop.quit();
    });
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    check.start();
    if (!done())
        loop.exec();
    return done();
}

struct Phase {
    qint64 sent = 0;
    qint64 absorbed = 0; // rows the model inserted
    double seconds = 0;
    double worstTimerGapMs = 0;
    double worstPostedDelayMs = 0;
    double rowsPerSecond() const { return seconds > 0 ? double(absorbed) / seconds : 0; }
};

void printRow(const char *label, const Phase &phase) {
    std::printf("| %-34s | %10lld | %10lld | %6.2f | %9.0f | %12.1f | %14.1f |\n", label,
                static_cast<long long>(phase.sent), static_cast<long long>(phase.absorbed),
                phase.seconds, phase.rowsPerSecond(), phase.worstTimerGapMs,
                phase.worstPostedDelayMs);
}

QtMessageHandler previousHandler = nullptr;

// The offscreen platform says so at every dock layout; it says nothing about the flood.
void quietHandler(QtMsgType type, const QMessageLogContext &context, const QString &message) {
    if (!message.contains(QLatin1String("propagateSizeHints")))
        previousHandler(type, context, message);
}

} // namespace

// Types `text` into the filter field from a thread of its own, one key every
// `intervalMs` (and `pauseMs` more after `pauseAfter` keys), and measures what the
// user sees: each key echoed (the field's next paint after the key was handled),
// and the filtered rows painted after the last key.
struct FilterLatency {
    std::vector<double> echoMs;
    double resultMs = -1; // last key -> filtered rows painted
    double filterMs = -1; // filter applied -> rows shown (the worker's part)
    int rowsShown = 0;
};

class FilterTyper : public QObject {
public:
    FilterTyper(DisplayFilterEdit *edit, LogFilterProxy *proxy, QWidget *viewport)
        : m_edit(edit)
        , m_proxy(proxy)
        , m_viewport(viewport) {
        edit->installEventFilter(this);
        viewport->installEventFilter(this);
        QObject::connect(proxy, &LogFilterProxy::filteringFinished, this, [this] {
            if (m_typingDone && m_proxy->displayFilter() == m_text) {
                m_finishedNs = monotonicNs();
                m_awaitingViewPaint = true;
                m_viewport->update();
            }
        });
        QObject::connect(edit, &DisplayFilterEdit::filterChanged, this, [this](const QString &t) {
            if (t == m_text)
                m_appliedNs = monotonicNs();
        });
    }

    FilterLatency run(const QString &text, int intervalMs, int pauseAfter, int pauseMs) {
        m_text = text;
        // A key event asks for the keyboard device, made on first use: make it here,
        // on the GUI thread, rather than in the typing thread.
        QInputDevice::primaryKeyboard();
        std::thread keyboard([this, text, intervalMs, pauseAfter, pauseMs] {
            for (qsizetype i = 0; i < text.size(); ++i) {
                std::this_thread::sleep_for(
                    std::chrono::milliseconds(i == pauseAfter ? intervalMs + pauseMs : intervalMs));
                const QChar c = text.at(i);
                {
                    std::lock_guard lock(m_mutex);
                    m_sentNs.push_back(monotonicNs());
                }
                QCoreApplication::postEvent(
                    m_edit, new QKeyEvent(QEvent::KeyPress, 0, Qt::NoModifier, QString(c)));
                QCoreApplication::postEvent(
                    m_edit, new QKeyEvent(QEvent::KeyRelease, 0, Qt::NoModifier, QString(c)));
            }
        });
        runUntil([&] { return m_handled == text.size() && m_echoed == text.size(); }, 60'000);
        keyboard.join();
        m_typingDone = true;
        if (m_proxy->displayFilter() == m_text && !m_proxy->isBusy() && m_finishedNs == 0) {
            // Already shown (a small log filters at once).
            m_finishedNs = monotonicNs();
            m_awaitingViewPaint = true;
            m_viewport->update();
        }
        runUntil([&] { return m_viewPaintedNs != 0; }, 60'000);
        FilterLatency result;
        result.echoMs = m_echoMs;
        const qint64 lastKey = m_sentNs.empty() ? 0 : m_sentNs.back();
        if (m_viewPaintedNs)
            result.resultMs = double(m_viewPaintedNs - lastKey) / 1e6;
        if (m_appliedNs && m_finishedNs)
            result.filterMs = double(m_finishedNs - m_appliedNs) / 1e6;
        result.rowsShown = m_proxy->rowCount();
        return result;
    }

protected:
    bool eventFilter(QObject *watched, QEvent *event) override {
        if (watched == m_edit && event->type() == QEvent::KeyPress) {
            ++m_handled;
        } else if (watched == m_edit && event->type() == QEvent::Paint) {
            const qint64 now = monotonicNs();
            std::lock_guard lock(m_mutex);
            for (; m_echoed < m_handled && size_t(m_echoed) < m_sentNs.size(); ++m_echoed)
                m_echoMs.push_back(double(now - m_sentNs[size_t(m_echoed)]) / 1e6);
        } else if (watched == m_viewport && event->type() == QEvent::Paint && m_awaitingViewPaint) {
            m_awaitingViewPaint = false;
            m_viewPaintedNs = monotonicNs();
        }
        return false;
    }

private:
    DisplayFilterEdit *m_edit;
    LogFilterProxy *m_proxy;
    QWidget *m_viewport;
    QString m_text;
    std::mutex m_mutex;
    std::vector<qint64> m_sentNs; // guarded by m_mutex
    std::vector<double> m_echoMs;
    int m_handled = 0;
    int m_echoed = 0;
    bool m_typingDone = false;
    bool m_awaitingViewPaint = false;
    qint64 m_appliedNs = 0;
    qint64 m_finishedNs = 0;
    qint64 m_viewPaintedNs = 0;
};

int main(int argc, char **argv) {
    wsbench::useOffscreenUnlessChosen();
    previousHandler = qInstallMessageHandler(quietHandler);
    QApplication app(argc, argv);
    const wsbench::OwnSettings settings(QStringLiteral("bench_logflood"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Floods the workbench window from a local server"));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("rate"), QStringLiteral("Messages per second."),
                      QStringLiteral("n"), QStringLiteral("20000")});
    parser.addOption({QStringLiteral("seconds"), QStringLiteral("Flood duration."),
                      QStringLiteral("s"), QStringLiteral("5")});
    parser.addOption({QStringLiteral("rows"),
                      QStringLiteral("Rows to fill the log with before the flood."),
                      QStringLiteral("n"), QStringLiteral("1000000")});
    parser.process(app);
    const double rate = parser.value(QStringLiteral("rate")).toDouble();
    const double seconds = parser.value(QStringLiteral("seconds")).toDouble();
    const qint64 rows = parser.value(QStringLiteral("rows")).toLongLong();
    if (rate <= 0 || seconds <= 0 || rows <= 0) {
        std::fprintf(stderr, "--rate, --seconds and --rows must be positive\n");
        return 2;
    }

    MainWindow window;
    window.resize(1400, 900);
    window.show();
    MessageLogModel *model = window.logModel();
    MessageLogView *view = window.logPanel()->view();
    view->setFollowTail(true);
    qint64 absorbed = 0;
    QObject::connect(
        model, &QAbstractItemModel::rowsInserted, model,
        [&absorbed](const QModelIndex &, int first, int last) { absorbed += last - first + 1; });

    FloodServer server(&window);
    QString error;
    const quint16 port = server.listen(&error);
    if (port == 0) {
        std::fprintf(stderr, "cannot listen on 127.0.0.1: %s\n", qPrintable(error));
        return 1;
    }
    ClientOptions client;
    client.url = QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port));
    const quint32 id = window.openConnection(client);
    if (!runUntil([&] { return window.hub()->isOpen(id); }, 10'000)) {
        std::fprintf(stderr, "the window's connection to 127.0.0.1:%u did not open\n", port);
        return 1;
    }
    // Let the window settle (layout, first paint, handshake rows) before the baseline.
    runUntil([] { return false; }, 300);
    model->flush();
    QApplication::processEvents();
    const int rowsBefore = model->rowCount();
    const qint64 memoryBefore = model->memoryUsage();
    const qint64 rssBefore = residentBytes();
    model->setCapacity(std::max<qsizetype>(model->capacity(), model->store().size() + rows));

    StallMeter stalls;
    const auto measure = [&](qint64 count, double perSecond, int timeoutMs) {
        const qint64 sentBefore = server.sent();
        const qint64 absorbedBefore = absorbed;
        QElapsedTimer clock;
        clock.start();
        stalls.start();
        server.startProbing();
        server.send(count, perSecond);
        if (perSecond > 0) {
            // Measure the steady state over the sending time only.
            runUntil([] { return false; }, int(double(count) / perSecond * 1000));
        } else {
            runUntil([&] { return absorbed - absorbedBefore >= count; }, timeoutMs);
        }
        Phase phase;
        phase.seconds = double(clock.nsecsElapsed()) / 1e9;
        phase.worstPostedDelayMs = server.stopProbing();
        phase.worstTimerGapMs = stalls.stop();
        phase.sent = server.sent() - sentBefore;
        phase.absorbed = absorbed - absorbedBefore;
        return phase;
    };

    // --- fill: as fast as the window absorbs ------------------------------------------
    const Phase fill = measure(rows, 0, 600'000);
    model->flush();
    QApplication::processEvents();
    const qint64 rssAfter = residentBytes();
    const int filledRows = std::max(1, model->rowCount() - rowsBefore);
    const double accounted = double(model->memoryUsage() - memoryBefore) / filledRows;
    const double resident = double(rssAfter - rssBefore) / filledRows;

    // --- flood at the rate into the full log --------------------------------------------
    model->setCapacity(model->store().size());
    const auto floodCount = qint64(rate * seconds);
    const Phase flood = measure(floodCount, rate, 0);
    // What was still in flight when the time was up, for the record.
    const qint64 absorbedInTime = absorbed;
    runUntil([&] { return absorbed - absorbedInTime >= floodCount - flood.absorbed; }, 5'000);
    const qint64 backlog = floodCount - flood.absorbed;

    std::printf("\nWindow flood over loopback (%s platform): ws::Server thread -> "
                "ClientConnection -> ConnectionHub -> MessageLogModel -> MessageLogView, "
                "64-byte text messages, view following the tail\n\n",
                qPrintable(QGuiApplication::platformName()));
    std::printf("| %-34s | %10s | %10s | %6s | %9s | %12s | %14s |\n", "phase", "sent", "rows", "s",
                "rows/s", "worst gap ms", "worst post ms");
    std::printf("|%s|%s|%s|%s|%s|%s|%s|\n", "------------------------------------", "------------",
                "------------", "--------", "-----------", "--------------", "----------------");
    char label[64];
    std::snprintf(label, sizeof label, "fill to %lld rows, flat out", static_cast<long long>(rows));
    printRow(label, fill);
    std::snprintf(label, sizeof label, "%.0f msg/s into the full log", rate);
    printRow(label, flood);
    std::printf("\nflood: %lld of %lld messages were rows within the %.1f s (%lld behind at "
                "the end); worst stall target < 50 ms: %s\n",
                static_cast<long long>(flood.absorbed), static_cast<long long>(floodCount), seconds,
                static_cast<long long>(backlog),
                std::max(flood.worstTimerGapMs, flood.worstPostedDelayMs) < 50 ? "met" : "MISSED");
    // The last row is the last message the server sent: the rows are the real thing.
    const QString lastRow =
        model->data(model->index(model->rowCount() - 1, MessageLogModel::PreviewColumn)).toString();
    std::printf("last row: %s (message %lld sent)\n", qPrintable(lastRow.left(32)),
                static_cast<long long>(server.sent() - 1));
    std::printf("memory at %d rows: log accounting %.1f B/row (%.1f B overhead), VmRSS delta "
                "%.1f B/row (%.1f B overhead, whole process); target < 300 B overhead: %s\n",
                filledRows, accounted, accounted - 64, resident, resident - 64,
                resident - 64 < 300 ? "met" : "MISSED");

    // --- filter: typing a display filter over the full log ----------------------------
    window.hub()->abortAll();
    runUntil([] { return false; }, 300);
    model->flush();
    DisplayFilterEdit *edit = window.logPanel()->filterEdit();
    edit->setFocus();
    FilterTyper typer(edit, window.logPanel()->proxy(), view->viewport());
    // A pause after `text ~ "7"` (a valid filter: it runs on the worker) while the
    // rest is typed.
    const QString typed = QStringLiteral("text ~ \"7\" && dir == in && len > 60");
    const FilterLatency latency = typer.run(typed, 80, 10, 400);
    std::vector<double> echoes = latency.echoMs;
    std::sort(echoes.begin(), echoes.end());
    const double worstEcho = echoes.empty() ? -1 : echoes.back();
    const double medianEcho = echoes.empty() ? -1 : echoes[echoes.size() / 2];
    std::printf("\nfilter over %d rows, typed one key per 80 ms (%s):\n", model->rowCount(),
                qPrintable(typed));
    std::printf("| %-44s | %10s |\n", "measure", "ms");
    std::printf("|%s|%s|\n", "----------------------------------------------", "------------");
    std::printf("| %-44s | %10.1f |\n", "keystroke echoed, median", medianEcho);
    std::printf("| %-44s | %10.1f |\n", "keystroke echoed, worst (target < 50)", worstEcho);
    std::printf("| %-44s | %10.1f |\n", "last key -> result shown (target < 1000)",
                latency.resultMs);
    std::printf("| %-44s | %10.1f |\n", "  of which filtering after the debounce",
                latency.filterMs);
    std::printf("\n%d rows pass; echo target: %s; result target: %s\n", latency.rowsShown,
                worstEcho >= 0 && worstEcho < 50 ? "met" : "MISSED",
                latency.resultMs >= 0 && latency.resultMs < 1000 ? "met" : "MISSED");

    QApplication::processEvents();
    const bool stallMet = std::max(flood.worstTimerGapMs, flood.worstPostedDelayMs) < 50;
    const bool filterMet =
        worstEcho >= 0 && worstEcho < 50 && latency.resultMs >= 0 && latency.resultMs < 1000;
    return stallMet && resident - 64 < 300 && filterMet ? 0 : 1;
}

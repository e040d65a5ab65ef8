#include "benchrunner.h"

#include <QCoreApplication>

#include <algorithm>
#include <sys/resource.h>

namespace ws {

namespace {

constexpr int WarmUpMs = 500;
// How long every connection may take to open, and the closing handshakes at the end.
constexpr int OpenTimeoutMs = 30'000;
constexpr int CloseTimeoutMs = 5'000;
// Idle mode: connections in their opening handshake at once, so that a burst of a
// thousand does not overflow the server's listen backlog.
constexpr int IdleOpeningBatch = 64;
// Connect mode: a refused connection is retried after this pause, not in a busy loop.
constexpr int RetryPauseMs = 10;
// How often connections waiting for the server's side of the closing handshake are
// checked against their deadline.
constexpr int CloseWatchIntervalMs = 250;
// Enough latency samples for stable percentiles without unbounded memory.
constexpr size_t MaxLatencySamples = 20'000'000;
// What one recv() takes at most: a few dozen batches of small echoes, or a sizeable
// piece of a large message the decoder must see whole.
constexpr size_t ReadBufferBytes = 256 * 1024;

qint64 processCpuUs() {
    rusage usage = {};
    ::getrusage(RUSAGE_SELF, &usage);
    const auto us = [](const timeval &t) { return qint64(t.tv_sec) * 1'000'000 + t.tv_usec; };
    return us(usage.ru_utime) + us(usage.ru_stime);
}

QByteArray makePayload(qint64 size) {
    // Printable ASCII, so the same payload is valid UTF-8 for text messages.
    QByteArray payload(size, Qt::Uninitialized);
    for (qint64 i = 0; i < size; ++i)
        payload[i] = char('a' + i % 26);
    return payload;
}

// --text-json: an array of records like a typical API response, cut or padded to
// exactly `size` bytes. Repetitive keys with varying values compress about as well
// as real JSON does, unlike one letter repeated (which would flatter deflate).
QByteArray makeJsonPayload(qint64 size) {
    if (size < 2)
        return QByteArray(size, '0'); // a JSON number: "[]" does not fit
    QByteArray payload;
    payload.reserve(size);
    payload += '[';
    for (qint64 i = 0;; ++i) {
        const QByteArray record =
            (i > 0 ? "," : "") + QByteArray("{\"id\":") + QByteArray::number(i * 7919 % 100'003) +
            ",\"name\":\"user" + QByteArray::number(i * 31 % 997) +
            "\",\"active\":" + (i % 3 ? "true" : "false") +
            ",\"score\":" + QByteArray::number(double(i * 37 % 1000) / 10.0, 'f', 1) +
            ",\"tags\":[\"alpha\",\"beta\"]}";
        if (payload.size() + record.size() + 1 > size)
            break;
        payload += record;
    }
    // Whitespace pads it to the exact size and keeps it valid JSON (RFC 8259 §2).
    payload += QByteArray(size - 1 - payload.size(), ' ');
    payload += ']';
    return payload;
}

} // namespace

const char *benchModeName(BenchOptions::Mode mode) {
    switch (mode) {
    case BenchOptions::Mode::Echo:
        return "echo";
    case BenchOptions::Mode::Connect:
        return "connect";
    case BenchOptions::Mode::Idle:
        return "idle";
    }
    return "?";
}

BenchRunner::BenchRunner(BenchOptions options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
    , m_readBuffer(ReadBufferBytes) {
    m_phaseTimer.setSingleShot(true);
    // A coarse timer may fire 5 % early; the measured time is taken from the clock
    // anyway, but the run should last what was asked.
    m_phaseTimer.setTimerType(Qt::PreciseTimer);
    if (m_options.mode == BenchOptions::Mode::Echo)
        m_payload = m_options.textJson ? makeJsonPayload(m_options.messageSize)
                                       : makePayload(m_options.messageSize);
}

BenchRunner::~BenchRunner() = default;

void BenchRunner::start() {
    m_clock.start();
    m_closeWatch.callOnTimeout(this, [this] {
        const qint64 nowUs = m_clock.nsecsElapsed() / 1000;
        // A connection that ends leaves m_connections (and is deleted later).
        const QList<BenchConnection *> connections = m_connections;
        for (BenchConnection *connection : connections)
            connection->checkCloseDeadline(nowUs);
    });
    m_closeWatch.start(CloseWatchIntervalMs);
    switch (m_options.mode) {
    case BenchOptions::Mode::Echo:
        for (int i = 0; i < m_options.connections; ++i)
            openConnection();
        m_phaseTimer.callOnTimeout(this, [this] {
            fail(QStringLiteral("only %1 of %2 connections opened within %3 s")
                     .arg(m_opened)
                     .arg(m_options.connections)
                     .arg(OpenTimeoutMs / 1000));
        });
        m_phaseTimer.start(OpenTimeoutMs);
        break;
    case BenchOptions::Mode::Connect:
        for (int i = 0; i < m_options.connections; ++i)
            openConnection();
        startWarmUp();
        break;
    case BenchOptions::Mode::Idle:
        openMoreIdleConnections();
        m_phaseTimer.callOnTimeout(this, [this] {
            if (m_phase == Phase::Opening) {
                fail(QStringLiteral("only %1 of %2 connections opened within %3 s")
                         .arg(m_opened)
                         .arg(m_options.connections)
                         .arg(OpenTimeoutMs / 1000));
            } else {
                closeAll();
            }
        });
        m_phaseTimer.start(OpenTimeoutMs);
        break;
    }
}

void BenchRunner::startWarmUp() {
    m_phase = Phase::WarmingUp;
    m_phaseTimer.disconnect(this);
    m_phaseTimer.callOnTimeout(this, [this] {
        if (m_phase == Phase::WarmingUp)
            beginMeasuring();
        else if (m_phase == Phase::Measuring)
            endMeasuring();
    });
    m_phaseTimer.start(WarmUpMs);
}

BenchConnection *BenchRunner::openConnection() {
    auto *connection = new BenchConnection(m_options.target, m_clock, m_readBuffer, this, this);
    if (m_options.mode == BenchOptions::Mode::Echo)
        connection->setExpectedEcho(m_options.binary ? Opcode::Binary : Opcode::Text, &m_payload);
    m_connections.append(connection);
    ++m_started;
    connection->open();
    return connection;
}

void BenchRunner::openMoreIdleConnections() {
    while (m_started < m_options.connections && m_started - m_opened < IdleOpeningBatch)
        openConnection();
}

void BenchRunner::connectionOpened(BenchConnection *connection) {
    ++m_opened;
    switch (m_options.mode) {
    case BenchOptions::Mode::Echo:
        for (int i = 0; i < m_options.window; ++i)
            sendOne(connection);
        connection->flush();
        if (m_opened == m_options.connections) {
            // Warm-up starts once every connection carries load.
            startWarmUp();
        }
        break;
    case BenchOptions::Mode::Connect:
        connection->close();
        break;
    case BenchOptions::Mode::Idle:
        if (m_opened < m_options.connections) {
            openMoreIdleConnections();
            break;
        }
        m_phase = Phase::Holding;
        m_measureStartUs = m_clock.nsecsElapsed() / 1000;
        emit allIdleConnectionsOpen(m_opened);
        m_phaseTimer.start(int(m_options.seconds * 1000));
        break;
    }
}

void BenchRunner::sendOne(BenchConnection *connection) {
    connection->queueMessage(m_options.binary ? Opcode::Binary : Opcode::Text, m_payload);
}

void BenchRunner::messageReceived(BenchConnection *connection, qint64 size, bool matches) {
    if (m_options.mode != BenchOptions::Mode::Echo || connection->sendTimes.empty())
        return;
    const qint64 nowUs = connection->nowUs();
    const qint64 sentUs = connection->sendTimes.front();
    connection->sendTimes.pop_front();
    if (!matches || size != m_payload.size())
        ++m_mismatches;
    if (m_phase == Phase::Measuring) {
        ++m_messages;
        if (m_latenciesUs.size() < MaxLatencySamples)
            m_latenciesUs.push_back(quint32(std::min<qint64>(nowUs - sentUs, 0xFFFFFFFF)));
    }
    // Connections opened early keep their window full while the others open.
    if (m_phase != Phase::Opening && m_phase != Phase::WarmingUp && m_phase != Phase::Measuring)
        return;
    if (!m_options.burst) {
        sendOne(connection);
        return;
    }
    // The next window once the last one is all back; the connection writes it with
    // one write after the batch that brought the last echo.
    if (connection->sendTimes.empty()) {
        for (int i = 0; i < m_options.window; ++i)
            sendOne(connection);
    }
}

void BenchRunner::connectionEnded(BenchConnection *connection, bool clean, const QString &error) {
    m_connections.removeOne(connection);
    connection->deleteLater();
    switch (m_phase) {
    case Phase::Closing:
        if (m_connections.isEmpty())
            finish();
        return;
    case Phase::Done:
        return;
    default:
        break;
    }
    if (m_options.mode != BenchOptions::Mode::Connect) {
        fail(QStringLiteral("a connection ended early: %1")
                 .arg(error.isEmpty() ? QStringLiteral("the server closed it (a clean closing "
                                                       "handshake) before the run was over")
                                      : error));
        return;
    }
    if (m_phase == Phase::Measuring) {
        if (clean)
            ++m_completed;
        else
            ++m_failures;
    }
    // Every loop failed before any connection opened: no server there, so stop trying.
    if (!clean && m_opened == 0 && ++m_failedBeforeAnyOpen >= m_options.connections) {
        fail(error);
        return;
    }
    if (clean)
        openConnection();
    else
        QTimer::singleShot(RetryPauseMs, this, [this] {
            if (m_phase == Phase::WarmingUp || m_phase == Phase::Measuring)
                openConnection();
        });
}

void BenchRunner::beginMeasuring() {
    m_phase = Phase::Measuring;
    m_measureStartUs = m_clock.nsecsElapsed() / 1000;
    m_cpuStartUs = processCpuUs();
    m_messages = 0;
    m_completed = 0;
    m_failures = 0;
    m_latenciesUs.clear();
    m_phaseTimer.start(int(m_options.seconds * 1000));
}

void BenchRunner::endMeasuring() {
    m_measuredUs = m_clock.nsecsElapsed() / 1000 - m_measureStartUs;
    m_cpuUs = processCpuUs() - m_cpuStartUs;
    closeAll();
}

void BenchRunner::closeAll() {
    if (m_phase == Phase::Holding)
        m_measuredUs = m_clock.nsecsElapsed() / 1000 - m_measureStartUs;
    m_phase = Phase::Closing;
    if (m_connections.isEmpty()) {
        finish();
        return;
    }
    for (BenchConnection *connection : std::as_const(m_connections))
        connection->close();
    m_phaseTimer.disconnect(this);
    m_phaseTimer.callOnTimeout(this, [this] {
        // The figures are taken; a server slow to close only costs a note.
        m_result.insert("unclosedConnections", int(m_connections.size()));
        finish();
    });
    m_phaseTimer.start(CloseTimeoutMs);
}

void BenchRunner::fail(const QString &error) {
    if (m_phase == Phase::Done)
        return;
    m_error = error;
    finish();
}

void BenchRunner::finish() {
    if (m_phase == Phase::Done)
        return;
    m_phase = Phase::Done;
    m_phaseTimer.stop();
    m_closeWatch.stop();
    if (m_error.isEmpty() && m_mismatches > 0)
        m_error = QStringLiteral("%1 echoes differed from what was sent").arg(m_mismatches);
    const QJsonObject extra = m_result;
    m_result = figures();
    for (auto it = extra.begin(); it != extra.end(); ++it)
        m_result.insert(it.key(), it.value());
    emit finished();
}

QJsonObject BenchRunner::figures() const {
    QJsonObject object{
        {"mode", benchModeName(m_options.mode)}, {"url", m_options.url},
        {"connections", m_options.connections},  {"seconds", m_measuredUs / 1e6},
        {"tls", m_options.target.secure},        {"deflate", m_options.target.deflate}};
    if (!m_error.isEmpty())
        object.insert("error", m_error);
    const double seconds = m_measuredUs > 0 ? m_measuredUs / 1e6 : 0;
    const auto perSecond = [seconds](double count) { return seconds > 0 ? count / seconds : 0; };
    switch (m_options.mode) {
    case BenchOptions::Mode::Echo: {
        object.insert("size", double(m_options.messageSize));
        object.insert("window", m_options.window);
        object.insert("burst", m_options.burst);
        object.insert("type", m_options.binary ? "binary" : "text");
        object.insert("json", m_options.textJson);
        object.insert("messages", double(m_messages));
        object.insert("messagesPerSecond", perSecond(double(m_messages)));
        // One way: payload bytes echoed back per second, in 10^6 bytes.
        object.insert("megabytesPerSecond",
                      perSecond(double(m_messages) * double(m_options.messageSize)) / 1e6);
        object.insert("mismatches", double(m_mismatches));
        std::vector<quint32> sorted = m_latenciesUs;
        const auto percentile = [&sorted](double p) -> double {
            if (sorted.empty())
                return 0;
            const size_t index = std::min(sorted.size() - 1, size_t(p * double(sorted.size())));
            std::nth_element(sorted.begin(), sorted.begin() + qsizetype(index), sorted.end());
            return sorted[index];
        };
        double sum = 0;
        for (quint32 latency : sorted)
            sum += latency;
        object.insert("latencyUs",
                      QJsonObject{{"mean", sorted.empty() ? 0.0 : sum / double(sorted.size())},
                                  {"p50", percentile(0.50)},
                                  {"p90", percentile(0.90)},
                                  {"p99", percentile(0.99)},
                                  {"max", sorted.empty() ? 0.0
                                                         : double(*std::max_element(
                                                               sorted.begin(), sorted.end()))}});
        break;
    }
    case BenchOptions::Mode::Connect:
        object.insert("completed", double(m_completed));
        object.insert("failures", double(m_failures));
        object.insert("connectionsPerSecond", perSecond(double(m_completed)));
        break;
    case BenchOptions::Mode::Idle:
        object.insert("opened", m_opened);
        break;
    }
    if (m_cpuUs > 0 && m_measuredUs > 0)
        object.insert("clientCpuPercent", 100.0 * double(m_cpuUs) / double(m_measuredUs));
    return object;
}

} // namespace ws

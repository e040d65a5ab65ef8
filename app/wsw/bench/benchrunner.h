#pragma once

#include "benchconnection.h"

#include <QElapsedTimer>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QTimer>

#include <vector>

namespace ws {

struct BenchOptions {
    enum class Mode { Echo, Connect, Idle };
    Mode mode = Mode::Echo;
    BenchTarget target;
    QString url;
    int connections = 50;
    qint64 messageSize = 64;
    int window = 16;
    // Echo: each connection writes its whole window with one write and the next
    // window only once every echo of the last has arrived, instead of sending a new
    // message for each echo as it arrives.
    bool burst = false;
    double seconds = 5;
    bool binary = false;
    // Text messages of compressible JSON instead of the alphabet repeated.
    bool textJson = false;
};

const char *benchModeName(BenchOptions::Mode mode);

// Drives one benchmark in the event loop and emits finished() with its figures.
// Echo: --conns connections keep --window messages in flight each (or, with
// --burst, send them a window at a time) and count the echoes. Connect: --conns
// loops open and close connections. Idle: opens --conns connections, holds them for
// --seconds, closes them.
class BenchRunner : public QObject, private BenchConnection::Listener {
    Q_OBJECT
public:
    explicit BenchRunner(BenchOptions options, QObject *parent = nullptr);
    ~BenchRunner() override;

    void start();

    // The figures, valid after finished().
    QJsonObject result() const { return m_result; }
    bool succeeded() const { return m_error.isEmpty(); }
    QString errorString() const { return m_error; }

signals:
    // Idle mode: every connection is open (an outside script may now measure).
    void allIdleConnectionsOpen(int count);
    void finished();

private:
    void connectionOpened(BenchConnection *connection) override;
    void messageReceived(BenchConnection *connection, qint64 size, bool matches) override;
    void connectionEnded(BenchConnection *connection, bool clean, const QString &error) override;

    BenchConnection *openConnection();
    void openMoreIdleConnections();
    // Warm up for WarmUpMs, then measure (the phase timer drives both).
    void startWarmUp();
    void beginMeasuring();
    void endMeasuring();
    void closeAll();
    void fail(const QString &error);
    void finish();
    void sendOne(BenchConnection *connection);
    QJsonObject figures() const;

    enum class Phase { Opening, WarmingUp, Measuring, Holding, Closing, Done };

    BenchOptions m_options;
    Phase m_phase = Phase::Opening;
    QElapsedTimer m_clock;
    QTimer m_phaseTimer;
    // Ends connections whose server did not finish the closing handshake in time.
    QTimer m_closeWatch;
    QList<BenchConnection *> m_connections;
    QByteArray m_payload;
    // Shared by every plain TCP connection: each read is consumed before the next.
    std::vector<char> m_readBuffer;
    int m_opened = 0;  // connections that completed the opening handshake
    int m_started = 0; // connections created (idle mode opens them in batches)
    qint64 m_measureStartUs = 0;
    qint64 m_measuredUs = 0;
    qint64 m_cpuStartUs = 0;
    qint64 m_cpuUs = 0;
    qint64 m_messages = 0;   // echoes counted while measuring
    qint64 m_completed = 0;  // connect mode: open+close cycles while measuring
    qint64 m_failures = 0;   // connect mode: cycles that did not end cleanly
    qint64 m_mismatches = 0; // echoes whose length or bytes differ
    int m_failedBeforeAnyOpen = 0;
    std::vector<quint32> m_latenciesUs;
    QString m_error;
    QJsonObject m_result;
};

} // namespace ws

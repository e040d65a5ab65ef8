#pragma once

#include "net/connection.h"
#include "net/websocketurl.h"
#include "probe/probecase.h"

#include <QTimer>

class QTcpSocket;

namespace ws::probe {

// What every case of a run shares.
struct RunOptions {
    WebSocketUrl target;
    int connectTimeoutMs = 5'000;
    // After the close handshake: how long the server has to close TCP (RFC 6455
    // §7.1.1) before we drop it ourselves (droppedByMe, FAILED BY CLIENT).
    int closeTimeoutMs = 1'000;
    // The default bound of a whole case.
    int caseTimeoutMs = 10'000;
    // Multiplies every Wait of the scripts (KillAfter and CloseAfter are upper bounds
    // a conforming peer never reaches, and stay as they are).
    double waitScale = 1.0;
    // Logged frames and messages of round-trip cases (9.7, 12.*): the first this many.
    int wirelogRoundTrips = 4;
    // wss: a PEM file of certificate authorities trusted besides the system's, and
    // the SHA-256 (32 bytes) of one certificate accepted although it cannot be
    // verified, as `wsw connect` takes them (probesocket.h).
    QString caCertificatesFile;
    QByteArray acceptedFingerprint;
};

// What the fuzzing server does with a client's request target (FuzzingServer): run a
// case, answer with a text message and close, or refuse (neither).
struct ServerRoute {
    std::optional<ProbeCase> probeCase;
    QString agent;
    std::optional<QByteArray> reply;
};
using ServerRouter = std::function<ServerRoute(const QByteArray &target)>;

// One case against a server: a Connection role that connects, performs the opening
// handshake (offering permessage-deflate when the case asks), plays the case's
// script (frames written exactly as described and cut into the writes the case
// chooses), records what the server does, and judges it when TCP is gone.
// Emits finished() once; result() then holds the verdicts.
class CaseRun : public Connection {
    Q_OBJECT
public:
    CaseRun(ProbeCase probeCase, RunOptions options, QObject *parent = nullptr);
    // The other way round: a client connected to our fuzzing server (`accepted`, taken
    // over); its request target picks, through `router`, the case to run against it.
    CaseRun(QTcpSocket *accepted, ServerRouter router, RunOptions options,
            QObject *parent = nullptr);
    ~CaseRun() override;

    // A fuzzing-server connection that ran a case (not a status request).
    bool isCase() const { return !m_server || m_isCase; }
    const QString &agent() const { return m_agent; }

    void start();
    void abort() override;
    const CaseResult &result() const { return m_result; }
    CaseResult takeResult() { return std::move(m_result); }

    // For Custom steps and the scripts.
    const ProbeCase &probeCase() const { return m_case; }
    CaseResult &mutableResult() { return m_result; }
    // Writes a raw frame (our masking key added when it has none), cut as `chop` says.
    void sendFrames(const QList<RawFrame> &frames, Chop chop);
    bool isOpen() const { return state() == SessionState::Open; }
    // Closes with `code` as Autobahn's sendClose: only while open.
    void startClose(quint16 code);
    // Ends the case now: drop TCP (droppedByMe).
    void kill(const QString &why);

protected:
    bool canSend() const override { return m_connected; }
    bool admitEvent(const SessionEvent &event) override;
    void handleEvent(SessionEvent &event) override;
    void transportEnded() override;
    bool afterReceive() override;
    void closeDeadlinePassed(bool, const QString &) override {}
    void aboutToFinish() override;

private:
    void setUp();
    void setUpTimers();
    void route();
    void onConnected();
    void onConnectFailed(const QString &why);
    void onSocketError();
    void onDisconnected();
    void checkSocketGone();
    void runSteps();
    void runStep(const Step &step);
    void observe(const Observation &observation);
    void finishWhenDone();
    void sendNextRoundTrip();
    bool writeChop(const char *data, qsizetype size);
    void noteOurClose();
    void writeChopped(const QByteArray &bytes, Chop chop, const QList<qsizetype> &frameEnds);
    void logEvent(const SessionEvent &event);
    void logNote(const QString &text);
    int scaled(int ms) const;

    ProbeCase m_case;
    RunOptions m_options;
    ServerRouter m_router;
    QString m_agent;
    bool m_server = false; // we are the fuzzing server; the client is tested
    bool m_isCase = false;
    CaseResult m_result;
    QTcpSocket *m_tcp = nullptr;
    QList<ExtensionParams> m_offered;
    QTimer m_stepTimer;
    QTimer m_killTimer;
    QTimer m_closeAfterTimer;
    QTimer m_watchdog;
    QTimer m_tcpCloseTimer;
    qsizetype m_nextStep = 0;
    QByteArray m_waitLabel;
    int m_waitForCount = -1; // WaitForEvents: the observations that end the wait
    bool m_waiting = false;
    bool m_connected = false;
    bool m_tcpEnded = false;
    bool m_remoteCloseSeen = false;
    bool m_ourCloseSeen = false;
    qint64 m_handshakeDoneUs = -1; // the close handshake completed (ClosedEvent, clean)
    // Round trips in progress.
    std::optional<RoundTrips> m_roundTrips;
    int m_roundTripIndex = 0;
    QByteArray m_roundTripExpected;
    bool m_wirelog = true;
    // The server's deflate answer broke a rule that Autobahn lets pass (admitEvent).
    QString m_deflateNote;
    int m_loggedRoundTrips = 0;
};

} // namespace ws::probe

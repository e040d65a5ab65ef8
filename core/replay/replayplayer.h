#pragma once

#include "replay/placeholders.h"
#include "replay/recording.h"

#include "net/clientconnection.h"
#include "net/connection.h"

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QStringList>
#include <QTimer>

#include <optional>

namespace ws::replay {

// How a recording is played.
struct ReplayOptions {
    // Recorded time is divided by this: 2 plays twice as fast. 0: as fast as possible.
    double speed = 1.0;
    // Client side: before each message, wait until as many of the server's messages
    // have arrived as the recording had before it. (The server side always waits
    // for the client's messages.)
    bool waitReplies = false;
    // How long one such wait lasts at most; it is then reported and the replay goes on.
    int replyTimeoutMs = 5'000;
    // Off: messages go exactly as recorded, braces and all.
    bool placeholders = true;
    // --capture NAME=PATH.
    QList<QPair<QString, QString>> captures;
    // --substitute PATH.
    QStringList substitutions;
};

// What a replay came to.
struct ReplayResult {
    int steps = 0;   // of the played side
    int sent = 0;    // steps that went out
    int notSent = 0; // refused by the connection, or a placeholder without a value
    int timedOutWaits = 0;
    bool stopped = false;   // stop() was called
    bool allPlayed = false; // every step was taken (sent or not) before the connection ended
    bool completed() const { return allPlayed && notSent == 0 && timedOutWaits == 0 && !stopped; }
};

// Plays one side of a recorded connection on a live Connection: the client side on
// a ClientConnection to a server, or the server side on a ServerClient of our server.
//
// The client side keeps the recorded timing: each step goes at its recorded offset
// from the opening (divided by the speed) after the replay's connection opened; with
// waitReplies it also waits, before each step, until the server has sent as many
// messages as it had at that point of the recording. The server side releases each
// step once the client has sent as many messages as it had when the step went in the
// recording (so a greeting goes right after the handshake); a step that followed
// another step of the server with no client message between keeps the recorded gap,
// divided by the speed.
//
// Our close, whatever the pace, waits (at most replyTimeoutMs) for the peer's messages
// the recording had before it.
//
// A pong that answered a ping and a close that answered a close are not steps: the
// replay's session answers by itself. After its last step the player waits (at most
// replyTimeoutMs) for the rest of the peer's recorded messages, or for the peer's
// close when the peer closed the recording, then closes with 1000 itself.
class ReplayPlayer : public QObject {
    Q_OBJECT
public:
    ReplayPlayer(Recording recording, Side side, ReplayOptions options, QObject *parent = nullptr);
    ~ReplayPlayer() override;

    // Whether the recording and options can be played: every placeholder known, every
    // path valid and every substituted value found in the recording. Check it before
    // anything is sent; an empty string when all is well.
    QString errorString() const { return m_error; }
    bool isValid() const { return m_error.isEmpty(); }

    // Plays on `connection`: a ClientConnection not yet opened (play starts at its
    // opening handshake's answer), or a ServerClient that is open (play starts at once).
    void attach(Connection *connection);

    void pause();
    void resume();
    // Stops playing and closes the connection with 1000 "replay stopped".
    void stop();
    bool isPaused() const { return m_paused; }
    bool isRunning() const { return m_started && !m_done; }

    int stepCount() const { return int(m_steps.size()); }
    int stepsTaken() const { return m_next; }
    const ReplayResult &result() const { return m_result; }
    const Recording &recording() const { return m_recording; }
    Side side() const { return m_side; }
    Connection *connection() const { return m_connection; }

signals:
    void started();
    // After each step: `taken` of `total` steps.
    void progress(int taken, int total);
    void pausedChanged(bool paused);
    // A line for the user: waits, time-outs, captures, steps not sent.
    void note(const QString &line);
    // The connection has ended; emitted once.
    void finished(const ws::replay::ReplayResult &result);

private:
    void onSessionEvent(const SessionEvent &event);
    void onFinished();
    void begin();
    // Takes every step that is due; arms the timer for the next one.
    void advance();
    bool sendStep(const RecordedStep &step);
    // When the step at `index` may go by the clock (EventClock µs); nullopt: now.
    std::optional<qint64> dueUs(int index) const;
    // The peer's messages the step at `index` waits for.
    int peerMessagesNeeded(int index) const;
    bool waitsForPeer() const { return m_side == Side::Server || m_options.waitReplies; }
    void afterLastStep();
    void closeIfOpen(const QString &reason);

    Recording m_recording;
    Side m_side;
    ReplayOptions m_options;
    QList<RecordedStep> m_steps;
    Placeholders m_placeholders;
    QString m_error;
    QPointer<Connection> m_connection;
    QTimer m_stepTimer;
    QTimer m_waitTimer;
    QTimer m_endTimer;
    ReplayResult m_result;
    qint64 m_startUs = 0; // EventClock: when play started
    qint64 m_pausedSinceUs = 0;
    qint64 m_pausedTotalUs = 0;
    qint64 m_lastSentUs = 0; // EventClock: when the last step went
    int m_next = 0;
    int m_peerMessages = 0;
    int m_waivedUpTo = 0; // peer messages no longer waited for (a wait timed out)
    bool m_peerClosesInRecording = false;
    bool m_weCloseInRecording = false;
    bool m_peerClosed = false;
    bool m_started = false;
    bool m_paused = false;
    bool m_done = false;
    bool m_allStepsTaken = false;
};

// The recorded opening request on top of the user's client options: the recorded
// subprotocols, extension offers, Origin and other header fields, each unless the
// options already give it (a header given with -H wins; `Sec-WebSocket-Protocol`
// and `Sec-WebSocket-Extensions` given as headers replace the offers). Without
// `recordedHeaders` nothing of the recording is added. Lines worth telling the user
// go to *notes (an extension we cannot offer).
void applyRecordedRequest(const Recording &recording, bool recordedHeaders, ClientOptions *options,
                          QStringList *notes = nullptr);

} // namespace ws::replay

Q_DECLARE_METATYPE(ws::replay::ReplayResult)

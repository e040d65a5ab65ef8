#pragma once

#include "relay/relay.h"
#include "relay/relayfaults.h"
#include "relay/relayintercept.h"
#include "relay/relayleg.h"

#include <QBasicTimer>
#include <QObject>

#include <deque>
#include <functional>
#include <optional>
#include <vector>

namespace ws {

// What a Relay shares with its pairs: the intercept rules, the faults and the
// numbering of held messages.
struct RelayStaging {
    InterceptMatcher matcher;
    RelayFaults faults;
    quint64 nextHeldId = 1;
};

// One client of a Relay and its own upstream connection: the handshake decisions
// and the forwarding between the two legs. Owned by the Relay.
class RelayPair : public QObject {
    Q_OBJECT
public:
    // Relayed to `target`: the reverse relay's options.target, or where a proxy's
    // client asked to go.
    RelayPair(quint64 id, RelayLeg *client, const RelayOptions &options, QUrl target,
              QObject *parent);
    ~RelayPair() override;

    quint64 id() const { return m_id; }
    // Where every event of both legs goes, as it happens (pair, leg, event): one call
    // per event, where a signal would cost a dispatch. Empty: nowhere.
    using LegEventSink = std::function<void(quint64, RelayLegKind, const SessionEvent &)>;
    void setLegEventSink(LegEventSink sink);
    // Where the runs of whole messages go that this pair forwards in one piece instead
    // of reporting their frames (Relay::setFrameRunObserver); set before start().
    using FrameRunSink = std::function<void(quint64, const RelayedRun &)>;
    void setFrameRunSink(FrameRunSink sink);
    void start();
    // Closes both legs with 1001 (the relay stops).
    void shutdown();
    bool isFinished() const { return m_clientDone && (!m_server || m_serverDone); }

    // Intercept and faults (see Relay). `staging` outlives the pair.
    void setStaging(RelayStaging *staging);
    // The rules or faults changed: notes, and what waits may go now.
    void stagingChanged();
    // Faults of this pair alone instead of the relay's (nullopt: the relay's again).
    void setOwnFaults(std::optional<RelayFaults> faults);
    const std::optional<RelayFaults> &ownFaults() const { return m_ownFaults; }
    // What applies to this pair: its own faults, else the relay's.
    const RelayFaults &faults() const;
    QList<HeldMessage> heldMessages() const;
    bool holds(quint64 id) const;
    bool release(quint64 id, std::optional<Opcode> opcode, const QByteArray *payload);
    bool drop(quint64 id);
    int releaseAll(std::optional<RelayLegKind> to);
    int dropAll(std::optional<RelayLegKind> to);
    bool inject(RelayLegKind to, Opcode opcode, const QByteArray &payload, bool resent);
    bool injectClose(RelayLegKind to, quint16 code, const QString &reason);
    bool cut(RelayLegKind leg, const RelayCut &how);
    int heldCount() const;
    qint64 heldBytes() const;

signals:
    void clientAccepted(quint64 pair, const QByteArray &rawRequest, const QByteArray &rawResponse,
                        const QByteArray &subprotocol);
    void logMessage(quint64 pair, const QString &line);
    void finished(ws::RelayPair *pair);
    void messageHeld(const ws::HeldMessage &message);
    void heldMessageRemoved(quint64 id, quint64 pair, bool sent);
    void heldChanged(quint64 pair, int count, qint64 bytes);

protected:
    void timerEvent(QTimerEvent *event) override;

private:
    void reportLegEvent(RelayLegKind leg, const SessionEvent &event);
    void onClientEvent(const SessionEvent &event);
    void onServerEvent(const SessionEvent &event);
    void onClientFinished();
    void onServerFinished();
    void onServerError(const QString &message);
    void onUpstreamDeadline();

    void startUpstream();
    void acceptClient();
    // The client's upgrade is answered with `response` instead of a 101.
    void refuseClient(const QByteArray &response, const QString &why);
    // 502/504 from the relay itself, the body saying what happened.
    void refuseClientWith(int status, const QString &text);

    // Forwarding, from the leg that received to the other.
    void forwardFrame(RelayLegKind from, const FrameEvent &event);
    void forwardMessage(RelayLegKind from, const MessageEvent &event);
    void forwardControl(RelayLegKind from, Opcode opcode, const QByteArray &payload);
    void forwardClose(RelayLegKind from, const CloseEvent &event);
    // The direct path (RelayOptions::observed off): a data frame straight from one
    // leg's decoder, queued on the other, which writes once the batch is read.
    void forwardDirectly();
    void forwardFrameView(RelayLegKind from, const FrameHeader &header, QByteArrayView payload,
                          QByteArray *buffer);
    // A large frame on the direct path goes on as its bytes arrive, not once whole.
    void forwardFramePiece(RelayLegKind from, const FrameHeader &header, quint64 offset,
                           QByteArrayView wireBytes);
    // The observed path with a run sink: runs of whole messages go on in one piece and
    // to the run sink; everything else as events.
    void forwardObservedRuns();
    bool forwardObservedRun(RelayLegKind from, QByteArrayView wireFrames);
    // A single-frame binary message forwarded piece by piece, its payload gathered for
    // the run sink; false at the first piece refuses it (it then comes as events).
    bool forwardObservedPiece(RelayLegKind from, const FrameHeader &header, quint64 offset,
                              QByteArrayView wireBytes);
    // Tells the run sink of the runs forwarded so far, those written stamped `nowUs`.
    void reportRuns(qint64 nowUs);
    void writeForwarded(RelayLegKind to);
    // The frames a watched leg forwards from one read leave with one write, not one
    // each: at the end of that read's batch (writeAfterBatch(), the leg's reported
    // handler) or, for frames reported outside a read, from the event loop.
    void writeAfterBatch(RelayLegKind to);
    void writeForwardedLater(RelayLegKind to);
    // A leg ended: the other is closed with `code` unless it is already closing.
    void legEnded(RelayLegKind leg, const ClosedEvent &closed);
    void closeLeg(RelayLegKind leg, quint16 code, const QString &reason);
    Connection *leg(RelayLegKind kind) const;
    void checkSent(RelayLegKind to, SendError error);
    // Back-pressure: the leg `to` was written to; pause the other while `to` is full.
    void applyBackPressure(RelayLegKind to);
    void onDrained(RelayLegKind leg);
    void setPaused(RelayLegKind leg, bool paused);
    void checkFinished();
    void log(const QString &line) { emit logMessage(m_id, line); }

    // --- Intercept and faults (relaypairstaging.cpp) ---------------------------------
    // A message, control frame or close waiting to go out on one leg.
    struct Waiting {
        quint64 id = 0;      // listed in the intercept list when not 0
        bool held = false;   // a rule holds it until released
        bool edited = false; // released with a new payload
        Opcode opcode = Opcode::Text;
        QByteArray payload; // a close's: code and reason as on the wire
        qint64 arrivedUs = 0;
        qint64 dueUs = 0; // latency: not before
        // Delayed by latency: the drawn delay's departure from the latency (jitter),
        // kept so that new faults can time it again (retime()).
        bool delayed = false;
        qint64 jitterUs = 0;
        QString noteWhenSent; // a Staged note when it goes (injected, edited, released)
    };
    // One direction: what waits to go out on leg `to`.
    struct Outbound {
        std::deque<Waiting> queue;
        qint64 bytes = 0;
        int heldCount = 0; // entries with `held`
        qint64 lastDueUs = 0;
        qint64 nextSendUs = 0; // throttle: the next message not before
        std::optional<DropDraw> draw;
        std::optional<JitterDraw> jitter;
        QBasicTimer timer;          // precise, once: flushOutbound() when the next may go
        bool wholeMessages = false; // the message being received goes whole
        bool midFragment = false;   // frames of a message went out, not its last one
        bool flushPosted = false;
        bool readPaused = false; // its source leg is not read: too much is held
        // The other leg ended while messages waited for this one: its end is passed
        // on once they have gone.
        std::optional<ClosedEvent> endAfterQueue;
        QString announcedFaults;   // the last note about this direction's faults
        bool announcedOwn = false; // it spoke of the pair's own faults
    };
    Outbound &outbound(RelayLegKind to) { return m_outbound[to == RelayLegKind::Server ? 1 : 0]; }
    const Outbound &outbound(RelayLegKind to) const {
        return m_outbound[to == RelayLegKind::Server ? 1 : 0];
    }
    // Whether intercept, faults or waiting messages take this direction off the
    // frame-by-frame path.
    bool isStaged(RelayLegKind to) const;
    // forwardFrame's check: true when this frame's message goes whole (it comes again
    // as a MessageEvent).
    bool takesWholeMessage(RelayLegKind to, const FrameEvent &event);
    bool wantsWholeMessage(RelayLegKind from) const;
    // The forward functions' check: true when the stage took it (queued or dropped).
    bool stageMessage(RelayLegKind to, Opcode opcode, const QByteArray &payload);
    bool stageClose(RelayLegKind to, const CloseEvent &event);
    // Releases or drops every held entry going to `to`; how many.
    int releaseAllTo(RelayLegKind to);
    int dropAllTo(RelayLegKind to);
    // `action` on one direction, or both; the sum of what it returns.
    int eachDirection(std::optional<RelayLegKind> to, int (RelayPair::*action)(RelayLegKind));
    // Queues behind what waits; `delayed`: the direction's latency applies.
    void enqueue(RelayLegKind to, Waiting waiting, bool delayed);
    // What waits to go out on `to` after a latency is timed by the faults now: its
    // latency replaced, its drawn jitter kept (within the jitter now), order kept.
    void retime(RelayLegKind to);
    // Sends what may go now, in order; arms the timer for what must wait.
    void flushOutbound(RelayLegKind to);
    void postFlush(RelayLegKind to);
    void sendWaiting(RelayLegKind to, const Waiting &waiting);
    // Forgets what waits for a leg that is over, saying so.
    void discardOutbound(RelayLegKind to, const QString &why);
    // Takes an entry out of the queue, keeping the counts.
    Waiting takeWaiting(RelayLegKind to, std::deque<Waiting>::iterator it);
    Waiting *findWaiting(quint64 id, RelayLegKind *to);
    HeldMessage heldMessage(RelayLegKind to, const Waiting &waiting) const;
    void heldAmountChanged();
    void stagedNote(RelayLegKind leg, const QString &text);
    void announceFaults();
    void countRelayed();
    void setStagePaused(RelayLegKind leg, bool paused);
    void applyPaused(RelayLegKind leg);

    quint64 m_id;
    const RelayOptions &m_options;
    QUrl m_target;
    LegEventSink m_legEventSink;
    FrameRunSink m_frameRunSink;
    std::vector<RelayedRun> m_runs; // forwarded, not yet told
    // forwardObservedPiece(): the message going on in pieces from each leg, [0]: from
    // the client, [1]: from the server (inPieces while its pieces are going).
    RelayedRun m_inPieces[2];
    RelayLeg *m_client;
    RelayUpstream *m_server = nullptr;
    // Timers without objects of their own (timerEvent()): a relay opens and closes
    // thousands of pairs a second, most of which never start one.
    QBasicTimer m_upstreamDeadline;
    QString m_serverError;
    // Why a leg failed (its violation), for the close sent on the other.
    std::optional<ViolationEvent> m_clientViolation;
    std::optional<ViolationEvent> m_serverViolation;
    bool m_frameByFrame = true;
    bool m_clientWritePending = false; // writeForwardedLater(), per leg written to
    bool m_serverWritePending = false;
    bool m_clientWriteAfterBatch = false; // writeAfterBatch(), per leg written to
    bool m_serverWriteAfterBatch = false;
    bool m_clientAnswered = false; // 101 or refusal sent to the client
    bool m_clientDone = false;
    bool m_serverDone = false;
    bool m_finishedEmitted = false;

    RelayStaging *m_staging = nullptr;
    std::optional<RelayFaults> m_ownFaults;
    // The seed the drop and jitter draws were made with: another starts them again.
    quint64 m_drawSeed = 0;
    Outbound m_outbound[2];                     // [0]: to the client leg, [1]: to the server leg
    bool m_sendQueuePaused[2] = {false, false}; // by leg: the other leg's send queue is full
    int m_relayedMessages = 0;                  // for RelayFaults::cutAfterMessages
    bool m_cutDone = false;
};

} // namespace ws

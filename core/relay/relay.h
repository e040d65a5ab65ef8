#pragma once

#include "net/clientconnection.h"
#include "protocol/permessagedeflate.h"
#include "protocol/session.h"
#include "relay/relayfaults.h"
#include "relay/relayintercept.h"
#include "relay/relayleg.h"

#include <QHostAddress>
#include <QObject>
#include <QSslCertificate>
#include <QSslKey>
#include <QUrl>

#include <functional>
#include <memory>

class QTcpServer;

namespace ws {

class RelayPair;
struct RelayStaging;

// Whole single-frame text and binary messages that one leg of a pair received in a
// row and the other leg sent on together, for an observer that logs every frame
// (Relay::setFrameRunObserver): their bytes as they came and as they left. The two
// hold the same frames, but for the masking keys: the server leg masks with fresh keys
// of its own, the client leg sends unmasked.
// Or, with `inPieces`, one binary message of a single frame that went on in pieces as
// its bytes came (Session::setPieceSink): its header as received and as sent, and its
// payload gathered unmasked; `received` and `sent` are then empty.
struct RelayedRun {
    RelayLegKind from = RelayLegKind::Client; // the leg that received them
    QByteArray received{};                    // as read, still masked from a client
    QByteArray sent{};                        // as queued on the other leg
    bool inPieces = false;
    FrameHeader receivedHeader{}; // inPieces: the frame's header as read
    FrameHeader sentHeader{};     // inPieces: as sent on, with the other leg's masking key
    QByteArray payload{};         // inPieces: unmasked
    qint64 readUs = 0;            // when they were read (the last piece, in pieces)
    // When they were written to the other leg's socket, or, for a run followed by an
    // event of the pair in the same read, when that event came (written right after).
    qint64 writtenUs = 0;
};

struct RelayOptions {
    // The relay's name in logs and for intercept rules' `conn`: its pair N is
    // "NAME #N", whose legs are "NAME #N client" and "NAME #N server"
    // (relayLegLogName()). The window numbers its relays; the command line runs one.
    QString name = QStringLiteral("relay 1");
    // Where every client is relayed to: ws[s]://host[:port][/path[?query]]. Without a
    // path (or with "/" alone) the client's request target is forwarded.
    QUrl target;
    QHostAddress listenAddress = QHostAddress::LocalHost;
    quint16 listenPort = 0; // 0: any free port
    // wss on the client leg: the certificate and key to present; null: plain ws.
    QSslCertificate certificate;
    QSslKey key;
    // The server leg's trust and timeouts (caCertificatesFile, acceptedFingerprint,
    // clientCertificate, proxy, connectTimeoutMs); the URL, Origin, subprotocols,
    // headers, deflate and session options are set per client.
    ClientOptions upstream;
    // Both legs: limits and conformance. Pings are never answered by the relay.
    SessionOptions session;
    // permessage-deflate per leg: the client leg accepts a client's offer, the server
    // leg offers it upstream, unless Refuse.
    DeflateConfig clientDeflate = {.policy = DeflatePolicy::Offer};
    DeflateConfig serverDeflate = {.policy = DeflatePolicy::Offer};
    // A client's request must be complete within this, and the upstream's answer
    // within this after it (then 504). Bounds every handshake: nobody waits forever.
    int handshakeTimeoutMs = 10'000;
    int closeTimeoutMs = 5'000;
    // Back-pressure: when either leg has more than this waiting to be written, the
    // other leg is not read until it drops under half of it.
    qint64 sendQueueLimit = 4 * 1024 * 1024;
    // What a pair may keep back (held by intercept, delayed by latency or throttle),
    // both directions together. Above it the leg those messages came from is not
    // read until the pair keeps less than half of it: nothing is lost, the peer is
    // slowed down by TCP instead.
    qint64 heldBytesLimit = 8 * 1024 * 1024;
    // Whether anyone watches the data frames (a log, a printer, the window). When not,
    // and neither leg uses permessage-deflate, each data frame goes from one leg's
    // decoder straight to the other leg, checked but never made an event, and each
    // batch read from one leg leaves on the other with one write: legEvent() then
    // carries the handshakes, control frames, closes, violations and notes only.
    // Intercept and faults need the events: a pair staged when it starts forwarding
    // goes the observed way whatever this says.
    bool observed = true;
};

// A reverse relay: listens, and for every client that asks to upgrade opens its own
// connection to the target with the client's request (path, query, Origin, Cookie,
// Authorization, subprotocol offers and the other end-to-end fields), answers the
// client with the upstream's answer (101 with its subprotocol and headers, or its
// refusal, or 502/504 saying what went wrong) and then forwards every frame both
// ways as it came: message boundaries and fragmentation, opcodes, pings and pongs
// (never answered here), close codes and reasons. Data frames go from one leg to
// the other one by one when neither leg uses permessage-deflate; with it on either
// leg, messages go whole (inflated on one leg, compressed again on the other). A
// violation on one leg fails that leg with its code and closes the other with 1011.
//
// Every event of both legs comes out as legEvent(), pair by pair.
//
// On purpose, it can also intercept messages (hold them for a decision, edit, drop,
// release), inject new ones, add latency, throttle, drop a share of messages and cut
// a leg. Each such action is a Staged note (ConformanceNote::Kind::Staged) among the
// events of the leg it concerns, so that no log takes it for the peer's doing.
// Nothing is lost silently: what a pair keeps back is bounded by heldBytesLimit,
// beyond which the leg it comes from is not read.
class Relay : public QObject {
    Q_OBJECT
public:
    explicit Relay(RelayOptions options, QObject *parent = nullptr);
    ~Relay() override;

    bool listen();
    QString errorString() const { return m_error; }
    QHostAddress address() const;
    quint16 port() const;
    bool isSecure() const { return !m_options.certificate.isNull(); }
    const RelayOptions &options() const { return m_options; }
    // Pairs not yet finished.
    int pairCount() const { return int(m_pairs.size()); }
    // Hears every event of both legs right before legEvent() is emitted: one call where
    // a signal costs a dispatch, for the one owner that takes them all (the window's
    // hub). Empty: none.
    using LegEventObserver = std::function<void(quint64, RelayLegKind, const SessionEvent &)>;
    void setLegEventObserver(LegEventObserver observer) {
        m_legEventObserver = std::move(observer);
    }
    // With an observer, pairs that forward frame by frame (no permessage-deflate) and
    // whose direction is not staged forward runs of whole single-frame messages in one
    // piece (Session::setFrameRunSink), and a larger single-frame binary message in
    // pieces as it arrives (Session::setPieceSink), and tell the observer, in order
    // with the events, instead of reporting each frame and message as events: neither
    // legEvent() nor the leg event observer hears of those. For the pairs started from
    // now on.
    using FrameRunObserver = std::function<void(quint64 pair, const RelayedRun &run)>;
    void setFrameRunObserver(FrameRunObserver observer) {
        m_frameRunObserver = std::move(observer);
    }

    // Stops listening and closes every pair with 1001 (going away); stopped() follows
    // once all are over (at once when there are none).
    void shutdown();

    // A client that was accepted elsewhere (by RelayProxy, which reads the proxy
    // request first) and whose upgrade request goes to `target`: it becomes a pair of
    // this relay like one accepted by listen(), under the same intercept and faults.
    // `peer` names the client in pairStarted().
    void relayClient(QTcpSocket *socket, const QUrl &target, const QString &peer);

    // --- Intercept (relayintercept.h) ------------------------------------------------
    // With intercept or faults on a direction, that direction forwards whole messages
    // (a message being held cannot have gone out frame by frame); otherwise frames go
    // as they came. The switch happens at a message boundary.

    // Replaces the rules, for every pair, current and future. Messages already held
    // stay held. An empty list holds nothing more (held ones still wait for a decision).
    void setIntercept(const QList<InterceptRule> &rules);
    QList<InterceptRule> intercept() const;
    // Every message waiting in an intercept list (held, or queued behind a held one),
    // pair by pair, in the order they go out.
    QList<HeldMessage> heldMessages() const;
    // Lets a held message go, as it came or with a new payload (and opcode: Text or
    // Binary for data; a held control frame keeps its opcode). It goes out once
    // every message before it in its direction has gone or been dropped. False when
    // there is no such message waiting (gone already, or its pair is over).
    bool release(quint64 id);
    bool release(quint64 id, Opcode opcode, const QByteArray &payload);
    // Forgets a held (or queued) message: it never goes out. A Staged note says so.
    bool drop(quint64 id);
    // Every held message of every pair (or of one pair, or one direction of it)
    // released as it came, in order; or every message in the intercept lists (held
    // or queued behind one) dropped. Returns how many.
    int releaseAll();
    int releaseAll(quint64 pair, std::optional<RelayLegKind> to = std::nullopt);
    int dropAll();
    int dropAll(quint64 pair, std::optional<RelayLegKind> to = std::nullopt);

    // A new message out on leg `to` of `pair` (Text, Binary, Ping or Pong), at once
    // unless messages wait in that direction: then after them, order kept. Never in
    // the middle of a fragmented message (RFC 6455 §5.4). A Staged note says so.
    // False when the pair or that leg is not open.
    bool inject(quint64 pair, RelayLegKind to, Opcode opcode, const QByteArray &payload);
    // A close frame out on leg `to`, after what waits in that direction; the close
    // handshake then goes on as if the peer on the other leg had sent it.
    bool injectClose(quint64 pair, RelayLegKind to, quint16 code, const QString &reason = {});
    // As inject(), noted as a message sent again (the log row it came from says what).
    bool resend(quint64 pair, RelayLegKind to, Opcode opcode, const QByteArray &payload);
    // Cuts one leg of a pair now (see RelayCut); the other leg is closed as when
    // that leg's peer goes: with the code of a clean close, 1011 otherwise.
    bool cut(quint64 pair, RelayLegKind leg, const RelayCut &how);

    // --- Faults (relayfaults.h) -------------------------------------------------------
    // Replaces the faults, for every pair, current and future, except the pairs that
    // have their own (setPairFaults()). What waits after a latency is timed again:
    // the new latency, the jitter it drew (within the new jitter), order kept.
    void setFaults(const RelayFaults &faults);
    void setFaults(RelayLegKind to, const RelayDirectionFaults &faults);
    RelayFaults faults() const;
    // Faults for one pair instead of the relay's (nullopt: the relay's again), from
    // its next message on, announced on its legs as for setFaults(); what already
    // waits is timed again as setFaults() does. Its cutAfterMessages counts that pair's
    // messages. False when there is no such pair (or it is over).
    bool setPairFaults(quint64 pair, std::optional<RelayFaults> faults);
    // The pair's own faults; nullopt when it uses the relay's (or is unknown).
    std::optional<RelayFaults> pairFaults(quint64 pair) const;

    // What all pairs keep back now (held, queued, delayed).
    int heldCount() const;
    qint64 heldBytes() const;

signals:
    // A client was accepted as pair `pair` (numbered from 1), relayed to `target`
    // (the reverse relay's --to, or where a proxy's client asked to go).
    void pairStarted(quint64 pair, const QString &peer, const QUrl &target);
    void legEvent(quint64 pair, ws::RelayLegKind leg, const ws::SessionEvent &event);
    // The client leg's 101 went out (the request's event came before it): for a log
    // that shows the answer with the request, as our server's log does.
    void clientAccepted(quint64 pair, const QByteArray &rawRequest, const QByteArray &rawResponse,
                        const QByteArray &subprotocol);
    // What the relay did or saw that is not a session event: the upstream's answer,
    // why a pair ended, TLS trouble.
    void logMessage(quint64 pair, const QString &line);
    void pairFinished(quint64 pair);
    void stopped();

    // A message entered an intercept list (held by a rule, or queued behind one).
    void messageHeld(const ws::HeldMessage &message);
    // It left the list: it went out (`sent`), or was dropped (by drop(), or because
    // its pair ended).
    void heldMessageRemoved(quint64 id, quint64 pair, bool sent);
    // What pair `pair` keeps back changed: messages and payload bytes, held, queued
    // and delayed by faults, both directions.
    void heldChanged(quint64 pair, int count, qint64 bytes);
    // setPairFaults() gave the pair its own faults, or took them away.
    void pairFaultsChanged(quint64 pair);

private:
    void onNewConnection();
    void startPair(QTcpSocket *socket, const QUrl &target, const QString &peer);
    void startPair(RelayLeg *leg, const QUrl &target, const QString &peer);
    // A client accepted on its bare descriptor (UnbufferedTcpServer::setDescriptorHandler()).
    void relayDescriptor(int descriptor, EpollEventDispatcher *dispatcher);
    void onPairFinished(RelayPair *pair);
    RelayPair *findPair(quint64 id) const;
    // The pair holding message `id`, or null.
    RelayPair *pairHolding(quint64 id) const;

    RelayOptions m_options;
    QTcpServer *m_listener = nullptr;
    QList<RelayPair *> m_pairs;
    quint64 m_nextId = 1;
    QString m_error;
    bool m_stopping = false;
    LegEventObserver m_legEventObserver;
    FrameRunObserver m_frameRunObserver;
    // Shared with every pair: the rules, the faults and the held messages' numbers.
    std::unique_ptr<RelayStaging> m_staging;
};

} // namespace ws

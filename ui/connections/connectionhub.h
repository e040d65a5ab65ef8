#pragma once

#include "endpointinfo.h"
#include "log/logstore.h"
#include "net/clientconnection.h"
#include "net/server.h"
#include "relay/relay.h"
#include "relay/relayproxy.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <QSslCertificate>
#include <QTimer>

#include <algorithm>
#include <array>
#include <deque>
#include <optional>

namespace ws {

class MessageLogModel;

// Owns the client connections, hosted servers and relays of the window and feeds
// every session event into the message log under the connection's id, so that the
// log, the connection tree, the send box and the chart all speak of one id. A
// relay's every pair is a node with its two legs below it; each leg is a
// connection of the log, named "relay R #N client" / "relay R #N server" and marked
// with its log::Leg.
class ConnectionHub : public QObject {
    Q_OBJECT
public:
    explicit ConnectionHub(MessageLogModel *log, QObject *parent = nullptr);
    ~ConnectionHub() override;

    MessageLogModel *log() const { return m_log; }

    // Starts a client connection; returns its id.
    quint32 openClient(const ClientOptions &options);
    // Starts a server; returns its id, or 0 and the reason in `error`.
    quint32 startServer(const ServerOptions &options, QString *error = nullptr);
    // Closes the server's clients with 1001 and stops it (bounded by its closeTimeoutMs).
    void stopServer(quint32 serverId);

    // Starts a reverse relay, named "relay N" in the window's order (RelayOptions::name);
    // returns its id, or 0 and the reason in `error`.
    quint32 startRelay(const RelayOptions &options, QString *error = nullptr);
    // Starts the relay as an HTTP proxy; its pairs are hosted like a reverse relay's
    // (relay(id) is the proxy's relay) and what the proxy did with a request is a
    // relayLog() line of pair 0. Returns its id, or 0 and the reason in `error`.
    quint32 startRelayProxy(const RelayProxyOptions &options, QString *error = nullptr);
    // Closes every pair with 1001 (going away) and stops listening; relayStopped()
    // follows once every pair is over.
    void stopRelay(quint32 relayId);
    Relay *relay(quint32 id) const;
    // The proxy of a relay started by startRelayProxy(), else null.
    RelayProxy *relayProxy(quint32 id) const;
    // A relay pair's leg (RelayLeg endpoint), or 0.
    quint32 legOf(quint32 pairId, log::Leg leg) const;
    // A pair node's number in its relay (Relay's `pair` arguments), or 0.
    quint64 relayPairNumber(quint32 pairId) const;

    // Opens a new client connection with the options client `id` was opened with
    // (URL, headers, subprotocols, deflate, TLS); returns the new id, or 0 when `id`
    // is not a client.
    quint32 reconnect(quint32 id);
    // Opens a new client connection with the options of client `id`, accepting the
    // one server certificate whose SHA-256 is `fingerprint` (ClientOptions::
    // acceptedFingerprint); returns the new id, or 0 when `id` is not a client.
    quint32 reconnectAccepting(quint32 id, const QByteArray &fingerprint);

    // A connection known only from a log file; returns its new id.
    quint32 addArchived(const log::ConnectionInfo &info);

    QList<quint32> ids() const { return m_order; }
    // Connections (clients, our server's clients, relay legs) not finished; counted as
    // they come and go, not by a walk over every node.
    int liveConnectionCount() const { return m_liveConnections; }
    // Our clients and our servers' clients, oldest first (ids() without the relays'
    // nodes, which soon outnumber them).
    QList<quint32> clientIds() const { return m_clientOrder; }
    const EndpointInfo *info(quint32 id) const;
    QList<quint32> clientsOf(quint32 serverId) const;
    // The endpoints below `id` in the tree, depth first (a relay's pairs and legs).
    QList<quint32> descendantsOf(quint32 id) const;
    // The pairs of relay `relayId` that have not finished, oldest first: without a
    // walk over every node (a relay soon has thousands of finished pairs).
    QList<quint32> livePairsOf(quint32 relayId) const { return m_livePairs.value(relayId); }
    // The live connection behind `id`: our client, a client of our server or a leg
    // of a relayed pair (sending on a leg puts the frame on that leg's wire).
    Connection *connection(quint32 id) const;
    ClientConnection *client(quint32 id) const;
    Server *server(quint32 id) const;
    ServerClient *serverClient(quint32 id) const;
    // Can `id` send right now (an open client or server client)?
    bool isOpen(quint32 id) const;
    // Is anything still connected, connecting, closing or listening?
    bool hasLiveEndpoints() const;

    SendError sendText(quint32 id, const QByteArray &utf8, qint64 fragmentSize = 0);
    SendError sendBinary(quint32 id, const QByteArray &data, qint64 fragmentSize = 0);
    SendError sendPing(quint32 id, const QByteArray &payload);
    SendError sendClose(quint32 id, std::optional<quint16> code, const QString &reason);
    SendError sendRaw(quint32 id, const RawFrame &frame);
    // Drops the connection without a close handshake.
    void abort(quint32 id);

    // Closes every open connection with `code` and stops every server. allClosed()
    // follows once nothing is live (at once when nothing was).
    void closeAll(quint16 code = toWire(CloseCode::GoingAway), const QString &reason = {});
    // Drops whatever is still live, without waiting.
    void abortAll();
    // Forgets endpoints that are over (and stopped servers with their clients).
    void removeFinished();
    // How many finished connections each server and relay keeps in the tree (its
    // clients; a relay's pairs, with their legs): beyond that the oldest are
    // forgotten, a batch at a time, so that a listener that serves for days does not
    // grow without bound. Their rows stay in the log. At least 1.
    static constexpr int DefaultFinishedKept = 1'000;
    void setFinishedKept(int perListener) { m_finishedKept = std::max(1, perListener); }
    int finishedKept() const { return m_finishedKept; }

signals:
    void endpointAdded(quint32 id);
    // State, counters, error or close code changed. Counter changes are coalesced.
    void endpointChanged(quint32 id);
    // The same, once for all the endpoints of one endpointChanged() batch, after it:
    // what lays out views or walks every endpoint listens to this.
    void endpointsChanged(const QList<quint32> &ids);
    // Right before endpointsRemoved(), while info() still knows them: a view takes its
    // rows away here (a pair's legs are among `ids`).
    void endpointsAboutToBeRemoved(const QList<quint32> &ids);
    void endpointsRemoved(const QList<quint32> &ids);
    // A connection's trouble, already in the log and on its tree node.
    void errorReported(quint32 id, const QString &message);
    void roundTripMeasured(quint32 id, double milliseconds);
    void serverLog(quint32 serverId, const QString &line);
    void serverStopped(quint32 serverId);
    // What a relay did or saw that is not a session event (pair 0: the relay itself).
    void relayLog(quint32 relayId, quint64 pair, const QString &line);
    void relayStopped(quint32 relayId);
    void allClosed();

private:
    struct Endpoint {
        EndpointInfo info;
        // Set for both kinds of connection: everything they share goes through it.
        QPointer<Connection> connection;
        QPointer<ClientConnection> client; // our client: reconnect, TLS trust
        QPointer<Server> server;
        QPointer<ServerClient> serverClient;
        QPointer<Relay> relay;
        QPointer<RelayProxy> proxy; // a proxy-mode relay: owns `relay`
        quint64 relayPair = 0;      // RelayPair: the relay's own number for it
        quint32 clientLeg = 0;      // RelayPair: its legs' ids
        quint32 serverLeg = 0;
        std::optional<ClientOptions> clientOptions; // clients: what they were opened with
        // Our client's peer when it is a client of one of our servers (see
        // readAheadAfterSend()); looked for once the client is open.
        QPointer<Connection> loopbackPeer;
        bool loopbackPeerLooked = false;
        bool dirty = false; // in m_dirty (markChanged())
    };
    // A relay leg's node and its pair's, as onLegEvent() finds them.
    struct LegRoute {
        quint32 relayId = 0;
        quint64 pair = 0;
        RelayLegKind side = RelayLegKind::Client;
        quint32 pairId = 0;
        quint32 legId = 0;
        Endpoint *leg = nullptr; // valid while m_endpointsGeneration is `generation`
        quint64 generation = 0;
    };
    struct DeferredLegEvent {
        quint32 legId;
        quint32 pairId;
        SessionEvent event;
    };

    quint32 allocateId();
    Endpoint *find(quint32 id);
    const Endpoint *find(quint32 id) const;
    Endpoint &add(EndpointInfo info);
    void onSessionEvent(quint32 id, const SessionEvent &event);
    // The same, for `endpoint` found at m_endpointsGeneration `generation`.
    void onSessionEvent(quint32 id, Endpoint *endpoint, quint64 generation,
                        const SessionEvent &event);
    void onClientError(quint32 id, const QString &message);
    void onTlsEstablished(quint32 id, const TlsInfo &tls);
    void onClientLog(quint32 id, const QString &line);
    void noteDeflate(Endpoint &endpoint);
    void onFinished(quint32 id);
    void onServerClient(quint32 serverId, ServerClient *client);
    void onServerStopped(quint32 serverId);
    // Hosts a relay's pairs under the node `info` describes; returns the node's id.
    quint32 hostRelay(Relay *relay, RelayProxy *proxy, EndpointInfo info);
    // The name the next relay gets (RelayOptions::name): "relay N", numbered in the window.
    QString nextRelayName() const;
    void onPairStarted(quint32 relayId, quint64 pair, const QString &peer, const QUrl &target);
    void onLegEvent(quint32 relayId, quint64 pair, RelayLegKind leg, const SessionEvent &event);
    // A run of whole messages the pair forwarded without events (Relay::setFrameRunObserver):
    // rows on both legs, and their counts.
    void onRelayedRun(quint32 relayId, quint64 pair, const RelayedRun &run);
    void deliverRelayedRun(quint32 relayId, quint64 pair, const RelayedRun &run);
    LegRoute legRoute(quint32 relayId, quint64 pair, RelayLegKind leg);
    void deliverLegEvent(const LegRoute &route, const SessionEvent &event);
    void flushDeferredLegEvents();
    void postDeferredFlush();
    void onClientAccepted(quint32 relayId, quint64 pair, const QByteArray &request,
                          const QByteArray &response, const QByteArray &subprotocol);
    void onPairFinished(quint32 relayId, quint64 pair);
    // Child `id` of listener `parentId` is over: kept among its finished ones, the
    // oldest of which are forgotten beyond finishedKept().
    void keepFinished(quint32 parentId, quint32 id);
    // Forgets `ids` and whatever is below them (a pair's legs).
    void forget(QList<quint32> ids);
    void onRelayStopped(quint32 relayId);
    // A server or relay stopped: finished, and deleted soon; false when unknown.
    bool markListenerStopped(quint32 id);
    // The pair node of `relayId`'s pair number `pair`, or 0.
    quint32 pairNode(quint32 relayId, quint64 pair) const;
    Connection *legConnection(quint32 relayId, quint64 pair, RelayLegKind leg) const;
    // Sums the legs' counters and takes the client leg's state into the pair's node.
    void updatePair(quint32 pairId);
    void logErrorRow(quint32 id, const QString &message);
    // Now, as a log record's time.
    qint64 logTimeUs() const;
    void markChanged(quint32 id);
    void markChanged(Endpoint &endpoint);
    // After a send: our clients and their peers in our own servers read what has
    // arrived before the window repaints (see readAhead()).
    SendError readAheadAfterSend(quint32 sender, SendError result);
    void findLoopbackPeer(Endpoint &client);
    void emitChanged();
    void checkAllClosed();

    MessageLogModel *m_log;
    QHash<quint32, Endpoint> m_endpoints;
    // Counts insertions and removals: a pointer into m_endpoints taken at one count
    // is valid while it stays (QHash moves its values when it grows).
    quint64 m_endpointsGeneration = 1;
    int m_liveConnections = 0;
    QList<quint32> m_clientOrder; // kinds Client and ServerClient, as in m_order
    QList<quint32> m_order;
    quint32 m_nextId = 1;
    int m_serverCount = 0;
    int m_clientCount = 0;
    int m_relayCount = 0;
    // (relay id, the relay's pair number) -> the pair's node.
    QHash<QPair<quint32, quint64>, quint32> m_pairNodes;
    QHash<quint32, QList<quint32>> m_livePairs; // relay -> its pairs not finished
    // A relay leg whose received frame waits for its meaning (see onLegEvent()), and
    // the other legs' events meanwhile.
    quint32 m_frameLeg = 0;
    QList<DeferredLegEvent> m_deferredLegEvents;
    struct DeferredRun {
        quint32 relayId;
        quint64 pair;
        RelayedRun run;
    };
    std::vector<DeferredRun> m_deferredRuns; // behind the deferred events
    bool m_deferredFlushPosted = false;
    // Routes found lately, by relay, pair and leg (a direct-mapped cache): a relay's
    // pairs take turns batch by batch, and every event of theirs asked the hashes
    // below for its route.
    static constexpr size_t LegRouteSlots = 256;
    std::array<LegRoute, LegRouteSlots> m_legRoutes{};
    QSet<quint32> m_dirty;
    QSet<quint32> m_dirtyPairs;  // pairs whose legs changed since the last emitChanged()
    quint32 m_lastDirtyPair = 0; // the last one put in m_dirtyPairs
    QTimer m_changeTimer;
    bool m_closingAll = false;
    int m_finishedKept = DefaultFinishedKept;
    // Per server and relay: its finished clients or pairs, oldest first.
    QHash<quint32, std::deque<quint32>> m_finishedChildren;
};

} // namespace ws

#include "connectionhub.h"

#include "models/messagelogmodel.h"

#include "net/eventclock.h"
#include "net/readahead.h"
#include "relay/relaypair.h"

#include <QSslSocket>

namespace ws {

namespace {

// Counters change with every message; the tree is repainted a few times a second.
constexpr int ChangeCoalescingMs = 150;

QString urlHost(const QHostAddress &address) {
    if (address.protocol() == QAbstractSocket::IPv6Protocol)
        return QLatin1Char('[') + address.toString() + QLatin1Char(']');
    return address.toString();
}

QString deflateSummary(const PerMessageDeflate *deflate) {
    if (!deflate)
        return {};
    const DeflateParams &p = deflate->params();
    QStringList parts{ConnectionHub::tr("server window %1 bits").arg(p.serverMaxWindowBits),
                      ConnectionHub::tr("client window %1 bits").arg(p.clientMaxWindowBits)};
    if (p.serverNoContextTakeover)
        parts.append(QStringLiteral("server_no_context_takeover"));
    if (p.clientNoContextTakeover)
        parts.append(QStringLiteral("client_no_context_takeover"));
    return QStringLiteral("permessage-deflate (%1)").arg(parts.join(QStringLiteral(", ")));
}

} // namespace

ConnectionHub::ConnectionHub(MessageLogModel *log, QObject *parent)
    : QObject(parent)
    , m_log(log) {
    m_changeTimer.setSingleShot(true);
    m_changeTimer.setInterval(ChangeCoalescingMs);
    connect(&m_changeTimer, &QTimer::timeout, this, &ConnectionHub::emitChanged);
}

ConnectionHub::~ConnectionHub() {
    // The connections and servers are our children and go with us; their last
    // signals must not reach a half-destroyed hub.
    for (Endpoint &endpoint : m_endpoints) {
        if (endpoint.connection)
            endpoint.connection->disconnect(this);
        if (endpoint.server)
            endpoint.server->disconnect(this);
        if (endpoint.relay) {
            endpoint.relay->disconnect(this);
            endpoint.relay->setLegEventObserver({});
            endpoint.relay->setFrameRunObserver({});
        }
    }
}

quint32 ConnectionHub::allocateId() {
    // Ids read from a log file stay unique: a new id is above any the log knows.
    m_nextId = std::max(m_nextId, m_log->store().unusedConnectionId());
    return m_nextId++;
}

qint64 ConnectionHub::logTimeUs() const {
    // Rows the connections do not report as events are stamped on the clock their
    // events use, so that they fall into place among them.
    return EventClock::nowUs() + m_log->store().clockOffset();
}

ConnectionHub::Endpoint *ConnectionHub::find(quint32 id) {
    const auto it = m_endpoints.find(id);
    return it == m_endpoints.end() ? nullptr : &*it;
}

const ConnectionHub::Endpoint *ConnectionHub::find(quint32 id) const {
    const auto it = m_endpoints.constFind(id);
    return it == m_endpoints.constEnd() ? nullptr : &*it;
}

ConnectionHub::Endpoint &ConnectionHub::add(EndpointInfo info) {
    const quint32 id = info.id;
    ++m_endpointsGeneration;
    Endpoint &endpoint = m_endpoints[id];
    endpoint.info = std::move(info);
    m_order.append(id);
    if (endpoint.info.kind == EndpointInfo::Kind::Client ||
        endpoint.info.kind == EndpointInfo::Kind::ServerClient)
        m_clientOrder.append(id);
    if (endpoint.info.isConnection() && endpoint.info.isLive())
        ++m_liveConnections;
    return endpoint;
}

const EndpointInfo *ConnectionHub::info(quint32 id) const {
    const Endpoint *endpoint = find(id);
    return endpoint ? &endpoint->info : nullptr;
}

QList<quint32> ConnectionHub::clientsOf(quint32 serverId) const {
    QList<quint32> result;
    for (const quint32 id : m_order) {
        // find(), not operator[]: the const operator[] returns a copy of the endpoint.
        const Endpoint &endpoint = *find(id);
        if (endpoint.info.kind == EndpointInfo::Kind::ServerClient &&
            endpoint.info.parentId == serverId)
            result.append(id);
    }
    return result;
}

QList<quint32> ConnectionHub::descendantsOf(quint32 id) const {
    // A node is added after its parent: one pass in order finds every generation.
    QList<quint32> result;
    QSet<quint32> ancestors{id};
    for (const quint32 candidate : m_order) {
        const Endpoint &endpoint = *find(candidate);
        if (endpoint.info.parentId != 0 && ancestors.contains(endpoint.info.parentId)) {
            result.append(candidate);
            ancestors.insert(candidate);
        }
    }
    return result;
}

Relay *ConnectionHub::relay(quint32 id) const {
    const Endpoint *endpoint = find(id);
    return endpoint ? endpoint->relay.data() : nullptr;
}

quint32 ConnectionHub::legOf(quint32 pairId, log::Leg leg) const {
    const Endpoint *pair = find(pairId);
    if (!pair)
        return 0;
    switch (leg) {
    case log::Leg::Client:
        return pair->clientLeg;
    case log::Leg::Server:
        return pair->serverLeg;
    case log::Leg::None:
        break;
    }
    return 0;
}

RelayProxy *ConnectionHub::relayProxy(quint32 id) const {
    const Endpoint *endpoint = find(id);
    return endpoint ? endpoint->proxy.data() : nullptr;
}

quint64 ConnectionHub::relayPairNumber(quint32 pairId) const {
    const Endpoint *pair = find(pairId);
    return pair ? pair->relayPair : 0;
}

quint32 ConnectionHub::pairNode(quint32 relayId, quint64 pair) const {
    return m_pairNodes.value({relayId, pair});
}

Connection *ConnectionHub::connection(quint32 id) const {
    const Endpoint *endpoint = find(id);
    return endpoint ? endpoint->connection.data() : nullptr;
}

ClientConnection *ConnectionHub::client(quint32 id) const {
    const Endpoint *endpoint = find(id);
    return endpoint ? endpoint->client.data() : nullptr;
}

Server *ConnectionHub::server(quint32 id) const {
    const Endpoint *endpoint = find(id);
    return endpoint ? endpoint->server.data() : nullptr;
}

ServerClient *ConnectionHub::serverClient(quint32 id) const {
    const Endpoint *endpoint = find(id);
    return endpoint ? endpoint->serverClient.data() : nullptr;
}

bool ConnectionHub::isOpen(quint32 id) const {
    const Endpoint *endpoint = find(id);
    return endpoint && endpoint->info.isConnection() && !endpoint->info.finished &&
           endpoint->info.state == SessionState::Open;
}

bool ConnectionHub::hasLiveEndpoints() const {
    for (const Endpoint &endpoint : m_endpoints) {
        if (endpoint.info.isLive())
            return true;
    }
    return false;
}

quint32 ConnectionHub::openClient(const ClientOptions &options) {
    EndpointInfo info;
    info.kind = EndpointInfo::Kind::Client;
    info.id = allocateId();
    info.name = tr("client %1").arg(++m_clientCount);
    info.address = options.url.toString();
    if (options.dropPings)
        info.pongPolicy = tr("pings dropped");
    else if (options.pongDelayMs > 0)
        info.pongPolicy = tr("pongs delayed by %1 ms").arg(options.pongDelayMs);
    else
        info.pongPolicy = options.session.autoPong ? tr("automatic pong") : tr("no pong");
    info.secure = options.url.scheme().compare(QLatin1String("wss"), Qt::CaseInsensitive) == 0;
    const quint32 id = info.id;
    m_log->store().setConnectionInfo(id, {info.name, info.address});

    auto *connection = new ClientConnection(options, this);
    Endpoint &endpoint = add(std::move(info));
    endpoint.client = connection;
    endpoint.connection = connection;
    endpoint.clientOptions = options;
    connect(connection, &ClientConnection::tlsEstablished, this,
            [this, id](const TlsInfo &tls) { onTlsEstablished(id, tls); });
    connect(connection, &ClientConnection::logMessage, this,
            [this, id](const QString &line) { onClientLog(id, line); });
    connect(connection, &ClientConnection::sessionEvent, this,
            [this, id](const SessionEvent &event) { onSessionEvent(id, event); });
    connect(connection, &ClientConnection::errorOccurred, this,
            [this, id](const QString &message) { onClientError(id, message); });
    connect(connection, &ClientConnection::finished, this, [this, id, connection] {
        onFinished(id);
        connection->deleteLater();
    });
    emit endpointAdded(id);
    connection->open();
    return id;
}

quint32 ConnectionHub::startServer(const ServerOptions &options, QString *error) {
    auto *server = new Server(options, this);
    if (!server->listen()) {
        if (error) {
            *error = tr("Cannot listen on %1:%2: %3")
                         .arg(options.bindAddress.toString())
                         .arg(options.port)
                         .arg(server->errorString());
        }
        delete server;
        return 0;
    }
    EndpointInfo info;
    info.kind = EndpointInfo::Kind::Server;
    info.id = allocateId();
    info.name = tr("server %1").arg(++m_serverCount);
    info.secure = options.isSecure();
    info.address = QStringLiteral("%1://%2:%3/ (%4)")
                       .arg(info.secure ? QLatin1String("wss") : QLatin1String("ws"))
                       .arg(urlHost(server->address()))
                       .arg(server->port())
                       .arg(QLatin1String(modeName(options.mode)));
    info.state = SessionState::Open;
    info.listening = true;
    const quint32 id = info.id;
    Endpoint &endpoint = add(std::move(info));
    endpoint.server = server;
    connect(server, &Server::clientConnected, this,
            [this, id](ServerClient *client) { onServerClient(id, client); });
    connect(server, &Server::logMessage, this,
            [this, id](const QString &line) { emit serverLog(id, line); });
    connect(server, &Server::stopped, this, [this, id] { onServerStopped(id); });
    emit endpointAdded(id);
    return id;
}

quint32 ConnectionHub::startRelay(const RelayOptions &form, QString *error) {
    RelayOptions options = form;
    options.name = nextRelayName();
    auto *relay = new Relay(options, this);
    if (!relay->listen()) {
        if (error) {
            *error = tr("Cannot listen on %1:%2: %3")
                         .arg(urlHost(options.listenAddress))
                         .arg(options.listenPort)
                         .arg(relay->errorString());
        }
        delete relay;
        return 0;
    }
    EndpointInfo info;
    info.kind = EndpointInfo::Kind::Relay;
    info.secure = relay->isSecure();
    info.address = QStringLiteral("%1://%2:%3/ \u2192 %4")
                       .arg(info.secure ? QLatin1String("wss") : QLatin1String("ws"))
                       .arg(urlHost(relay->address()))
                       .arg(relay->port())
                       .arg(options.target.toString());
    const quint32 id = hostRelay(relay, nullptr, std::move(info));
    connect(relay, &Relay::stopped, this, [this, id] { onRelayStopped(id); });
    return id;
}

quint32 ConnectionHub::startRelayProxy(const RelayProxyOptions &form, QString *error) {
    RelayProxyOptions options = form;
    options.relay.name = nextRelayName();
    auto *proxy = new RelayProxy(options, this);
    if (!proxy->listen()) {
        if (error) {
            *error = tr("Cannot start the proxy on %1:%2: %3")
                         .arg(urlHost(options.relay.listenAddress))
                         .arg(options.relay.listenPort)
                         .arg(proxy->errorString());
        }
        delete proxy;
        return 0;
    }
    EndpointInfo info;
    info.kind = EndpointInfo::Kind::Relay;
    info.address =
        QStringLiteral("http://%1:%2/ (proxy)").arg(urlHost(proxy->address())).arg(proxy->port());
    const quint32 id = hostRelay(proxy->relay(), proxy, std::move(info));
    connect(proxy, &RelayProxy::logMessage, this,
            [this, id](quint64 pair, const QString &line) { emit relayLog(id, pair, line); });
    connect(proxy, &RelayProxy::stopped, this, [this, id] { onRelayStopped(id); });
    return id;
}

QString ConnectionHub::nextRelayName() const {
    // Not translated: the name is what intercept rules and display filters compare.
    return QStringLiteral("relay %1").arg(m_relayCount + 1);
}

quint32 ConnectionHub::hostRelay(Relay *relay, RelayProxy *proxy, EndpointInfo info) {
    info.id = allocateId();
    ++m_relayCount;
    info.name = relay->options().name;
    info.state = SessionState::Open;
    info.listening = true;
    const quint32 id = info.id;
    Endpoint &endpoint = add(std::move(info));
    endpoint.relay = relay;
    endpoint.proxy = proxy;
    connect(relay, &Relay::pairStarted, this,
            [this, id](quint64 pair, const QString &peer, const QUrl &target) {
                onPairStarted(id, pair, peer, target);
            });
    // Every frame of every pair comes this way: a direct call, not a signal.
    relay->setLegEventObserver(
        [this, id](quint64 pair, RelayLegKind leg, const SessionEvent &event) {
            onLegEvent(id, pair, leg, event);
        });
    // Runs of whole messages come as runs, not as two events per frame.
    relay->setFrameRunObserver(
        [this, id](quint64 pair, const RelayedRun &run) { onRelayedRun(id, pair, run); });
    connect(relay, &Relay::clientAccepted, this,
            [this, id](quint64 pair, const QByteArray &request, const QByteArray &response,
                       const QByteArray &subprotocol) {
                onClientAccepted(id, pair, request, response, subprotocol);
            });
    connect(relay, &Relay::logMessage, this, [this, id](quint64 pair, const QString &line) {
        // What the relay decided about a pair (a refusal relayed, a 502, a leg closed
        // with 1011) is a note row of its client leg, as `wsw relay --save` writes it.
        if (const quint32 leg = legOf(pairNode(id, pair), log::Leg::Client))
            m_log->insertRecord(log::connectionNoteRecord(leg, logTimeUs(), line));
        emit relayLog(id, pair, line);
    });
    connect(relay, &Relay::pairFinished, this,
            [this, id](quint64 pair) { onPairFinished(id, pair); });
    connect(relay, &Relay::pairFaultsChanged, this, [this, id, relay](quint64 pair) {
        Endpoint *node = find(pairNode(id, pair));
        if (!node)
            return;
        const std::optional<RelayFaults> own = relay->pairFaults(pair);
        node->info.ownFaults = own ? own->describe() : QString();
        markChanged(node->info.id);
        emitChanged();
    });
    emit endpointAdded(id);
    return id;
}

void ConnectionHub::stopRelay(quint32 relayId) {
    Endpoint *endpoint = find(relayId);
    if (!endpoint || !endpoint->relay || endpoint->info.finished)
        return;
    endpoint->info.listening = false;
    markChanged(relayId);
    emitChanged();
    if (endpoint->proxy)
        endpoint->proxy->shutdown();
    else
        endpoint->relay->shutdown();
}

void ConnectionHub::onPairStarted(quint32 relayId, quint64 pair, const QString &peer,
                                  const QUrl &targetUrl) {
    const Endpoint *relayEndpoint = find(relayId);
    if (!relayEndpoint || !relayEndpoint->relay)
        return;
    // Pointers into m_endpoints do not survive add(): what is needed is copied first.
    const QPointer<Relay> relay = relayEndpoint->relay;
    const QString relayName = relay->options().name;
    const QString listening = relayEndpoint->info.address.section(QLatin1Char(' '), 0, 0);
    const bool secure = relayEndpoint->info.secure;
    const bool proxied = !relayEndpoint->proxy.isNull();
    // A proxy's pairs each go where their client asked; a reverse relay's all go to
    // its target (with the client's path when the target has none).
    const QString target = targetUrl.toString();
    const bool secureUpstream =
        targetUrl.scheme().compare(QLatin1String("wss"), Qt::CaseInsensitive) == 0;

    EndpointInfo pairInfo;
    pairInfo.kind = EndpointInfo::Kind::RelayPair;
    pairInfo.id = allocateId();
    pairInfo.parentId = relayId;
    // The node names where the pair goes; its legs keep the short name the log, the
    // display filter and intercept rules use ("relay 1 #1 client", as `wsw relay`).
    const QString pairName = relayPairLogName(relayName, pair);
    pairInfo.name = QStringLiteral("%1 \u2192 %2").arg(pairName, target);
    pairInfo.address = QStringLiteral("%1 \u2192 %2").arg(peer, target);
    pairInfo.secure = secure;
    const quint32 pairId = pairInfo.id;
    Endpoint &pairEndpoint = add(std::move(pairInfo));
    pairEndpoint.relay = relay;
    pairEndpoint.relayPair = pair;
    m_pairNodes.insert({relayId, pair}, pairId);
    m_livePairs[relayId].append(pairId);
    emit endpointAdded(pairId);

    for (const log::Leg leg : {log::Leg::Client, log::Leg::Server}) {
        EndpointInfo info;
        info.kind = EndpointInfo::Kind::RelayLeg;
        info.id = allocateId();
        info.parentId = pairId;
        info.leg = leg;
        info.name = relayLegLogName(
            relayName, pair, leg == log::Leg::Client ? RelayLegKind::Client : RelayLegKind::Server);
        info.address = leg == log::Leg::Client ? peer : target;
        // Through a proxy, the client's leg is TLS exactly when its target is wss
        // (the tunnel's TLS is terminated with a certificate of the local authority).
        const bool clientSecure = proxied ? secureUpstream : secure;
        info.secure = leg == log::Leg::Client ? clientSecure : secureUpstream;
        info.pongPolicy = tr("pings forwarded, never answered by the relay");
        // The log names each leg as `wsw relay --save` does, and knows which it is.
        const QString url =
            leg == log::Leg::Client ? QStringLiteral("%1 \u2190 %2").arg(listening, peer) : target;
        m_log->store().setConnectionInfo(info.id, {info.name, url, leg});
        const quint32 id = info.id;
        add(std::move(info));
        Endpoint *pairNode = find(pairId);
        (leg == log::Leg::Client ? pairNode->clientLeg : pairNode->serverLeg) = id;
        emit endpointAdded(id);
    }
}

Connection *ConnectionHub::legConnection(quint32 relayId, quint64 pair, RelayLegKind leg) const {
    // The relay keeps its pairs, and each pair its two legs, as QObject children: the
    // window reads the legs' sessions (counters, compression) and sends on them.
    const Relay *relay = this->relay(relayId);
    if (!relay)
        return nullptr;
    for (RelayPair *candidate : relay->findChildren<RelayPair *>(Qt::FindDirectChildrenOnly)) {
        if (candidate->id() != pair)
            continue;
        if (leg == RelayLegKind::Client)
            return candidate->findChild<RelayLeg *>(QString(), Qt::FindDirectChildrenOnly);
        return candidate->findChild<RelayUpstream *>(QString(), Qt::FindDirectChildrenOnly);
    }
    return nullptr;
}

namespace {

// The log holds such a frame back until the receiving connection's next event says
// whether the two are one row (a single-frame message, a ping and its PingEvent).
bool awaitsInterpretation(const SessionEvent &event) {
    const auto *frame = std::get_if<FrameEvent>(&event);
    if (!frame || frame->direction != Direction::Incoming)
        return false;
    const FrameHeader &header = frame->frame.header;
    const Opcode opcode = header.op();
    return isControl(opcode) || (isData(opcode) && header.fin && !header.rsv1);
}

} // namespace

ConnectionHub::LegRoute ConnectionHub::legRoute(quint32 relayId, quint64 pair, RelayLegKind leg) {
    const quint64 key = pair * 2 + (leg == RelayLegKind::Client ? 0 : 1);
    LegRoute &last = m_legRoutes[size_t(key ^ (quint64(relayId) * 0x9E3779B1u)) % LegRouteSlots];
    if (last.legId != 0 && last.relayId == relayId && last.pair == pair && last.side == leg) {
        if (last.generation != m_endpointsGeneration) {
            last.leg = find(last.legId);
            last.generation = m_endpointsGeneration;
        }
        return last;
    }
    const quint32 pairId = pairNode(relayId, pair);
    const quint32 legId =
        legOf(pairId, leg == RelayLegKind::Client ? log::Leg::Client : log::Leg::Server);
    const LegRoute route{relayId, pair, leg, pairId, legId, find(legId), m_endpointsGeneration};
    // A leg not there yet is not remembered: it may be by the next event.
    if (legId != 0)
        last = route;
    return route;
}

void ConnectionHub::onLegEvent(quint32 relayId, quint64 pair, RelayLegKind leg,
                               const SessionEvent &event) {
    const LegRoute route = legRoute(relayId, pair, leg);
    const quint32 id = route.legId;
    Endpoint *endpoint = route.leg;
    if (!endpoint)
        return;
    // The server leg exists from the client's upgrade request on.
    if (!endpoint->connection)
        endpoint->connection = legConnection(relayId, pair, leg);
    // The relay forwards a frame while the leg that received it is still reporting
    // it: the other leg's events come between the frame and what it means. They wait
    // for the receiving leg's next event, so that the log makes one row of the two.
    if (m_frameLeg != 0 && m_frameLeg != id) {
        m_deferredLegEvents.append({id, route.pairId, event});
        return;
    }
    deliverLegEvent(route, event);
    if (awaitsInterpretation(event)) {
        m_frameLeg = id;
        // The decoder reports the meaning in the same pass; should it not, nothing waits long.
        postDeferredFlush();
        return;
    }
    if (m_frameLeg == id)
        flushDeferredLegEvents();
}

void ConnectionHub::onRelayedRun(quint32 relayId, quint64 pair, const RelayedRun &run) {
    // A received frame still waits for its meaning: rows made now would come between.
    if (m_frameLeg != 0) {
        m_deferredRuns.push_back({relayId, pair, run});
        return;
    }
    deliverRelayedRun(relayId, pair, run);
}

void ConnectionHub::deliverRelayedRun(quint32 relayId, quint64 pair, const RelayedRun &run) {
    const LegRoute from = legRoute(relayId, pair, run.from);
    const LegRoute to = legRoute(relayId, pair, otherLeg(run.from));
    if (!from.leg || !to.leg)
        return;
    const quint64 generation = m_endpointsGeneration;
    int messages = 1;
    if (run.inPieces)
        m_log->appendRelayedMessage(from.legId, to.legId, run.receivedHeader, run.sentHeader,
                                    run.payload, run.readUs, run.writtenUs);
    else
        messages = m_log->appendRelayedRun(from.legId, to.legId, run.received, run.sent, run.readUs,
                                           run.writtenUs);
    // Should a slot of the log have added or removed endpoints, found afresh.
    Endpoint *receiving = generation == m_endpointsGeneration ? from.leg : find(from.legId);
    Endpoint *sending = generation == m_endpointsGeneration ? to.leg : find(to.legId);
    for (Endpoint *endpoint : {receiving, sending}) {
        if (!endpoint)
            continue;
        EndpointInfo &info = endpoint->info;
        if (endpoint == receiving)
            info.messagesIn += messages;
        else
            info.messagesOut += messages;
        if (endpoint->connection) {
            const Session &session = endpoint->connection->session();
            info.bytesIn = session.bytesReceived();
            info.bytesOut = session.bytesSent();
        }
        markChanged(*endpoint);
    }
    if (from.pairId != m_lastDirtyPair) {
        m_dirtyPairs.insert(from.pairId);
        m_lastDirtyPair = from.pairId;
    }
}

void ConnectionHub::deliverLegEvent(const LegRoute &route, const SessionEvent &event) {
    onSessionEvent(route.legId, route.leg, route.generation, event);
    // The pair sums its legs when the change is told (emitChanged()), not per frame.
    if (route.pairId != m_lastDirtyPair) {
        m_dirtyPairs.insert(route.pairId);
        m_lastDirtyPair = route.pairId;
    }
}

void ConnectionHub::postDeferredFlush() {
    // One posted call for any number of frames: most find nothing left to flush.
    if (m_deferredFlushPosted)
        return;
    m_deferredFlushPosted = true;
    QMetaObject::invokeMethod(
        this,
        [this] {
            m_deferredFlushPosted = false;
            flushDeferredLegEvents();
        },
        Qt::QueuedConnection);
}

void ConnectionHub::flushDeferredLegEvents() {
    m_frameLeg = 0;
    while (!m_deferredLegEvents.isEmpty()) {
        // A deferred frame that waits for its meaning takes that leg's next event first.
        qsizetype next = 0;
        if (m_frameLeg != 0) {
            next = -1;
            for (qsizetype i = 0; i < m_deferredLegEvents.size() && next < 0; ++i) {
                if (m_deferredLegEvents[i].legId == m_frameLeg)
                    next = i;
            }
            if (next < 0)
                break;
        }
        const DeferredLegEvent deferred = m_deferredLegEvents.takeAt(next);
        // Its leg may have gone meanwhile.
        if (Endpoint *leg = find(deferred.legId)) {
            deliverLegEvent(LegRoute{0, 0, RelayLegKind::Client, deferred.pairId, deferred.legId,
                                     leg, m_endpointsGeneration},
                            deferred.event);
        }
        m_frameLeg = awaitsInterpretation(deferred.event) ? deferred.legId : 0;
    }
    if (m_frameLeg != 0) {
        postDeferredFlush();
        return;
    }
    // Taken first: delivering one may defer events again.
    std::vector<DeferredRun> runs;
    runs.swap(m_deferredRuns);
    for (const DeferredRun &deferred : runs)
        onRelayedRun(deferred.relayId, deferred.pair, deferred.run);
}

void ConnectionHub::onClientAccepted(quint32 relayId, quint64 pair, const QByteArray &request,
                                     const QByteArray &response, const QByteArray &subprotocol) {
    const quint32 id = legOf(pairNode(relayId, pair), log::Leg::Client);
    if (!id)
        return;
    // As our server's clients are logged: the request with the 101 that answered it.
    const log::FullRecord handshake =
        log::acceptedUpgradeRecord(id, logTimeUs(), request, response, subprotocol);
    m_log->insertRecord(handshake.record, handshake.extra);
}

void ConnectionHub::updatePair(quint32 pairId) {
    Endpoint *pairEndpoint = find(pairId);
    if (!pairEndpoint)
        return;
    const Endpoint *client = find(legOf(pairId, log::Leg::Client));
    const Endpoint *server = find(legOf(pairId, log::Leg::Server));
    if (!client || !server)
        return;
    EndpointInfo &info = pairEndpoint->info;
    // The pair is as far as its client: open once the client has the upstream's 101.
    if (!info.finished) {
        info.state = client->info.state;
        info.closeCode = client->info.closeCode;
        info.closeReason = client->info.closeReason;
        info.cleanClose = client->info.cleanClose;
    }
    info.error = !client->info.error.isEmpty() ? client->info.error : server->info.error;
    // What each side sent, as the relay received it.
    info.messagesIn = client->info.messagesIn;
    info.messagesOut = server->info.messagesIn;
    info.bytesIn = client->info.bytesIn;
    info.bytesOut = server->info.bytesIn;
    info.deflate = client->info.deflate;
    markChanged(pairId);
}

void ConnectionHub::onPairFinished(quint32 relayId, quint64 pair) {
    const quint32 pairId = pairNode(relayId, pair);
    if (!find(pairId))
        return;
    for (const log::Leg leg : {log::Leg::Client, log::Leg::Server}) {
        const quint32 id = legOf(pairId, leg);
        if (Endpoint *endpoint = find(id); endpoint && !endpoint->info.finished)
            onFinished(id);
    }
    updatePair(pairId);
    Endpoint *endpoint = find(pairId);
    endpoint->info.finished = true;
    if (const auto live = m_livePairs.find(relayId); live != m_livePairs.end()) {
        live->removeOne(pairId);
        if (live->isEmpty())
            m_livePairs.erase(live);
    }
    endpoint->info.state = SessionState::Closed;
    markChanged(pairId);
    emitChanged();
    keepFinished(relayId, pairId);
    checkAllClosed();
}

void ConnectionHub::keepFinished(quint32 parentId, quint32 id) {
    std::deque<quint32> &finished = m_finishedChildren[parentId];
    finished.push_back(id);
    // Forgotten half the limit at a time: each time costs the views a layout.
    const size_t kept = size_t(m_finishedKept);
    if (finished.size() <= kept + std::max<size_t>(1, kept / 2))
        return;
    QList<quint32> oldest;
    while (finished.size() > kept) {
        // The user may have removed some already (removeFinished()).
        if (find(finished.front()))
            oldest.append(finished.front());
        finished.pop_front();
    }
    forget(std::move(oldest));
}

void ConnectionHub::onRelayStopped(quint32 relayId) {
    if (!markListenerStopped(relayId))
        return;
    emit relayStopped(relayId);
    checkAllClosed();
}

bool ConnectionHub::markListenerStopped(quint32 id) {
    Endpoint *endpoint = find(id);
    if (!endpoint)
        return false;
    endpoint->info.listening = false;
    endpoint->info.finished = true;
    endpoint->info.state = SessionState::Closed;
    // Gone once the signal that said it stopped has been handled.
    if (endpoint->server)
        endpoint->server->deleteLater();
    if (endpoint->proxy)
        endpoint->proxy->deleteLater(); // and its relay with it
    else if (endpoint->relay)
        endpoint->relay->deleteLater();
    markChanged(id);
    emitChanged();
    return true;
}

void ConnectionHub::stopServer(quint32 serverId) {
    Endpoint *endpoint = find(serverId);
    if (!endpoint || !endpoint->server || endpoint->info.finished)
        return;
    endpoint->info.listening = false;
    markChanged(serverId);
    emitChanged();
    endpoint->server->stop();
}

quint32 ConnectionHub::reconnect(quint32 id) {
    const Endpoint *endpoint = find(id);
    if (!endpoint || !endpoint->clientOptions)
        return 0;
    return openClient(*endpoint->clientOptions);
}

quint32 ConnectionHub::reconnectAccepting(quint32 id, const QByteArray &fingerprint) {
    const Endpoint *endpoint = find(id);
    if (!endpoint || !endpoint->clientOptions)
        return 0;
    ClientOptions options = *endpoint->clientOptions;
    options.acceptedFingerprint = fingerprint;
    return openClient(options);
}

quint32 ConnectionHub::addArchived(const log::ConnectionInfo &connection) {
    EndpointInfo info;
    info.kind = EndpointInfo::Kind::Archived;
    info.id = allocateId();
    info.name = connection.name.isEmpty() ? tr("logged #%1").arg(info.id) : connection.name;
    info.address = connection.url;
    info.finished = true;
    info.state = SessionState::Closed;
    const quint32 id = info.id;
    m_log->store().setConnectionInfo(id, {info.name, info.address});
    add(std::move(info));
    emit endpointAdded(id);
    return id;
}

void ConnectionHub::onServerClient(quint32 serverId, ServerClient *client) {
    Endpoint *server = find(serverId);
    if (!server)
        return;
    EndpointInfo info;
    info.kind = EndpointInfo::Kind::ServerClient;
    info.id = allocateId();
    info.parentId = serverId;
    // Not "client N": that is what the window calls its own connections.
    info.name = tr("peer %1 of %2").arg(client->id()).arg(server->info.name);
    info.address =
        QStringLiteral("%1:%2").arg(urlHost(client->peerAddress())).arg(client->peerPort());
    info.state = client->state();
    info.secure = server->info.secure;
    info.deflate = deflateSummary(client->deflate());
    info.pongPolicy = server->server && server->server->options().session.autoPong
                          ? tr("automatic pong")
                          : tr("no pong");
    const quint32 id = info.id;
    const QString url =
        QStringLiteral("%1 \u2190 %2")
            .arg(server->info.address.section(QLatin1Char(' '), 0, 0), info.address);
    m_log->store().setConnectionInfo(id, {info.name, url});

    const Session &session = client->session();
    const log::FullRecord handshake =
        log::acceptedUpgradeRecord(id, logTimeUs(), session.rawHandshakeRequest(),
                                   session.rawHandshakeResponse(), client->subprotocol());
    m_log->insertRecord(handshake.record, handshake.extra);

    Endpoint &endpoint = add(std::move(info));
    endpoint.serverClient = client;
    endpoint.connection = client;
    connect(client, &ServerClient::sessionEvent, this,
            [this, id](const SessionEvent &event) { onSessionEvent(id, event); });
    connect(client, &ServerClient::finished, this, [this, id] { onFinished(id); });
    emit endpointAdded(id);
}

void ConnectionHub::onServerStopped(quint32 serverId) {
    if (!markListenerStopped(serverId))
        return;
    emit serverStopped(serverId);
    checkAllClosed();
}

void ConnectionHub::onSessionEvent(quint32 id, const SessionEvent &event) {
    onSessionEvent(id, find(id), m_endpointsGeneration, event);
}

void ConnectionHub::onSessionEvent(quint32 id, Endpoint *endpoint, quint64 generation,
                                   const SessionEvent &event) {
    m_log->appendEvent(id, event);
    // Should a slot of the log have added or removed endpoints, found afresh.
    if (generation != m_endpointsGeneration)
        endpoint = find(id);
    if (!endpoint)
        return;
    EndpointInfo &info = endpoint->info;
    bool immediate = false;
    std::optional<double> roundTripMs;
    bool violated = false;
    const bool relayLeg = info.kind == EndpointInfo::Kind::RelayLeg;
    if (const auto *message = std::get_if<MessageEvent>(&event)) {
        if (message->direction == Direction::Incoming)
            ++info.messagesIn;
        else if (!relayLeg)
            ++info.messagesOut;
    } else if (const auto *frame = std::get_if<FrameEvent>(&event); frame && relayLeg) {
        // A relay forwards most messages frame by frame, without a message event of
        // their own: a leg's messages out are its final data frames out.
        const Opcode opcode = frame->frame.header.op();
        if (frame->direction == Direction::Outgoing && frame->frame.header.fin &&
            (isData(opcode) || opcode == Opcode::Continuation))
            ++info.messagesOut;
    } else if (const auto *state = std::get_if<StateEvent>(&event)) {
        info.state = state->state;
        if (state->state == SessionState::Open)
            noteDeflate(*endpoint);
        immediate = true;
    } else if (const auto *pong = std::get_if<PongEvent>(&event)) {
        if (pong->roundTripUs)
            roundTripMs = double(*pong->roundTripUs) / 1000.0;
    } else if (const auto *closed = std::get_if<ClosedEvent>(&event)) {
        info.state = SessionState::Closed;
        info.closeCode = closed->code;
        info.closeReason = closed->reason;
        info.cleanClose = closed->clean;
        immediate = true;
    } else if (const auto *violation = std::get_if<ViolationEvent>(&event)) {
        // The log has its error row already: the violation itself.
        info.error = violation->violation.reason;
        violated = true;
        immediate = true;
    }
    // A client's session exists from open(), which openClient() calls at once.
    if (const Session *session =
            endpoint->connection ? &endpoint->connection->session() : nullptr) {
        info.bytesIn = session->bytesReceived();
        info.bytesOut = session->bytesSent();
    }
    const QString error = info.error;
    // Signals last: a slot may change what `info` refers to.
    markChanged(*endpoint);
    if (immediate)
        emitChanged();
    if (roundTripMs)
        emit roundTripMeasured(id, *roundTripMs);
    if (violated)
        emit errorReported(id, error);
}

void ConnectionHub::logErrorRow(quint32 id, const QString &message) {
    m_log->insertRecord(log::connectionErrorRecord(id, logTimeUs(), message));
}

void ConnectionHub::noteDeflate(Endpoint &endpoint) {
    if (endpoint.connection)
        endpoint.info.deflate = deflateSummary(endpoint.connection->deflate());
}

void ConnectionHub::onTlsEstablished(quint32 id, const TlsInfo &tls) {
    Endpoint *endpoint = find(id);
    if (!endpoint)
        return;
    endpoint->info.tls = tls;
    endpoint->info.rejectedChain.clear();
    markChanged(id);
    emitChanged();
}

void ConnectionHub::onClientLog(quint32 id, const QString &line) {
    // Not an error: a note row, so that it sits in the log next to the handshake.
    m_log->insertRecord(log::connectionNoteRecord(id, logTimeUs(), line));
}

void ConnectionHub::onClientError(quint32 id, const QString &message) {
    Endpoint *endpoint = find(id);
    if (!endpoint)
        return;
    endpoint->info.error = message;
    if (endpoint->client && endpoint->info.secure && !endpoint->info.tls) {
        // The TLS handshake failed. If that was because the server's certificate could
        // not be verified, keep the chain, so that the user can look at it and choose
        // to trust exactly that certificate. ClientConnection owns its socket and tells its
        // certificate only in words, so it is read from the socket, still intact
        // while the error is reported.
        const auto *socket = endpoint->client->findChild<QSslSocket *>();
        if (socket && !socket->sslHandshakeErrors().isEmpty())
            endpoint->info.rejectedChain = socket->peerCertificateChain();
    }
    logErrorRow(id, message);
    markChanged(id);
    emitChanged();
    emit errorReported(id, message);
}

void ConnectionHub::onFinished(quint32 id) {
    Endpoint *endpoint = find(id);
    if (!endpoint)
        return;
    EndpointInfo &info = endpoint->info;
    // A client's session exists from open(), which openClient() calls at once.
    if (const Session *session =
            endpoint->connection ? &endpoint->connection->session() : nullptr) {
        info.bytesIn = session->bytesReceived();
        info.bytesOut = session->bytesSent();
    }
    if (info.isConnection() && info.isLive())
        --m_liveConnections;
    info.finished = true;
    info.state = SessionState::Closed;
    const bool serverClient = info.kind == EndpointInfo::Kind::ServerClient;
    const quint32 serverId = info.parentId;
    markChanged(id);
    emitChanged();
    if (serverClient)
        keepFinished(serverId, id);
    checkAllClosed();
}

void ConnectionHub::markChanged(quint32 id) {
    if (Endpoint *endpoint = find(id))
        markChanged(*endpoint);
}

void ConnectionHub::markChanged(Endpoint &endpoint) {
    if (!endpoint.dirty) {
        endpoint.dirty = true;
        m_dirty.insert(endpoint.info.id);
    }
    if (!m_changeTimer.isActive())
        m_changeTimer.start();
}

void ConnectionHub::emitChanged() {
    m_lastDirtyPair = 0;
    for (const quint32 pairId : std::exchange(m_dirtyPairs, {}))
        updatePair(pairId); // marks it changed
    m_changeTimer.stop();
    const QSet<quint32> dirty = std::exchange(m_dirty, {});
    QList<quint32> changed;
    changed.reserve(dirty.size());
    for (const quint32 id : dirty) {
        if (Endpoint *endpoint = find(id)) {
            endpoint->dirty = false;
            changed.append(id);
        }
    }
    // Signals after the flags: a slot may add endpoints (and move them in the hash).
    for (const quint32 id : std::as_const(changed))
        emit endpointChanged(id);
    if (!changed.isEmpty())
        emit endpointsChanged(changed);
}

void ConnectionHub::checkAllClosed() {
    if (m_closingAll && !hasLiveEndpoints()) {
        m_closingAll = false;
        emit allClosed();
    }
}

SendError ConnectionHub::sendText(quint32 id, const QByteArray &utf8, qint64 fragmentSize) {
    Connection *c = connection(id);
    return c ? readAheadAfterSend(id, c->sendText(utf8, fragmentSize)) : SendError::NotOpen;
}

SendError ConnectionHub::sendBinary(quint32 id, const QByteArray &data, qint64 fragmentSize) {
    Connection *c = connection(id);
    return c ? readAheadAfterSend(id, c->sendBinary(data, fragmentSize)) : SendError::NotOpen;
}

SendError ConnectionHub::sendPing(quint32 id, const QByteArray &payload) {
    Connection *c = connection(id);
    return c ? readAheadAfterSend(id, c->sendPing(payload)) : SendError::NotOpen;
}

SendError ConnectionHub::sendClose(quint32 id, std::optional<quint16> code, const QString &reason) {
    Connection *c = connection(id);
    return c ? readAheadAfterSend(id, c->sendClose(code, reason)) : SendError::NotOpen;
}

SendError ConnectionHub::sendRaw(quint32 id, const RawFrame &frame) {
    Connection *c = connection(id);
    return c ? readAheadAfterSend(id, c->sendRaw(frame)) : SendError::NotOpen;
}

SendError ConnectionHub::readAheadAfterSend(quint32 sender, SendError result) {
    if (result != SendError::None)
        return result;
    QList<QPointer<Connection>> connections;
    if (const Endpoint *endpoint = find(sender); endpoint && endpoint->serverClient)
        connections.append(endpoint->connection);
    for (Endpoint &endpoint : m_endpoints) {
        if (!endpoint.client || !endpoint.client->canReadAhead())
            continue;
        connections.append(endpoint.connection);
        if (!endpoint.loopbackPeerLooked && endpoint.info.state == SessionState::Open)
            findLoopbackPeer(endpoint);
        if (endpoint.loopbackPeer)
            connections.append(endpoint.loopbackPeer);
    }
    readAhead(connections);
    return result;
}

void ConnectionHub::findLoopbackPeer(Endpoint &client) {
    // Once open, a client of our own server is known to the hub: the server reported
    // it after its 101, which the client had to read to open.
    client.loopbackPeerLooked = true;
    const QHostAddress address = client.client->localAddress();
    const quint16 port = client.client->localPort();
    if (port == 0)
        return;
    for (const Endpoint &endpoint : std::as_const(m_endpoints)) {
        const ServerClient *peer = endpoint.serverClient;
        if (peer && peer->remotePort() == port && peer->remoteAddress() == address) {
            client.loopbackPeer = endpoint.connection;
            return;
        }
    }
}

void ConnectionHub::abort(quint32 id) {
    if (Connection *c = connection(id))
        c->abort();
}

void ConnectionHub::closeAll(quint16 code, const QString &reason) {
    m_closingAll = true;
    const QList<quint32> order = m_order;
    for (const quint32 id : order) {
        Endpoint *endpoint = find(id);
        if (!endpoint || !endpoint->info.isLive())
            continue;
        if (ClientConnection *c = endpoint->client) {
            // A connection still in its handshake has no close handshake to do.
            // A close that is refused (a code or reason the caller should not have
            // chosen) must not keep the connection open: it is aborted instead.
            if (c->state() == SessionState::Open && c->sendClose(code, reason) == SendError::None)
                continue;
            if (c->state() == SessionState::Open || c->state() == SessionState::Connecting)
                c->abort();
        } else if (endpoint->server) {
            stopServer(id);
        } else if (endpoint->info.kind == EndpointInfo::Kind::Relay) {
            // Every pair is closed with 1001 on both legs (RelayPair::shutdown).
            stopRelay(id);
        }
    }
    // Server clients close with their server (Server::stop sends 1001).
    QTimer::singleShot(0, this, &ConnectionHub::checkAllClosed);
}

void ConnectionHub::abortAll() {
    const QList<quint32> order = m_order;
    for (const quint32 id : order) {
        Endpoint *endpoint = find(id);
        if (!endpoint || !endpoint->info.isLive())
            continue;
        if (endpoint->connection)
            endpoint->connection->abort();
    }
}

void ConnectionHub::removeFinished() {
    QList<quint32> removed;
    for (const quint32 id : std::as_const(m_order)) {
        // A stopped server's clients are all over, so they go with it.
        if (find(id)->info.finished)
            removed.append(id);
    }
    forget(std::move(removed));
}

void ConnectionHub::forget(QList<quint32> ids) {
    QSet<quint32> gone(ids.cbegin(), ids.cend());
    for (qsizetype i = 0; i < ids.size(); ++i) {
        const Endpoint *endpoint = find(ids[i]);
        if (!endpoint) {
            gone.remove(ids[i]);
            ids.remove(i--);
            continue;
        }
        for (const quint32 leg : {endpoint->clientLeg, endpoint->serverLeg}) {
            if (leg != 0 && !gone.contains(leg) && find(leg)) {
                gone.insert(leg);
                ids.append(leg);
            }
        }
    }
    if (ids.isEmpty())
        return;
    emit endpointsAboutToBeRemoved(ids);
    ++m_endpointsGeneration;
    for (const quint32 id : std::as_const(ids)) {
        const Endpoint *endpoint = find(id);
        if (endpoint->info.isConnection() && endpoint->info.isLive())
            --m_liveConnections;
        if (endpoint->info.kind == EndpointInfo::Kind::RelayPair)
            m_pairNodes.remove({endpoint->info.parentId, endpoint->relayPair});
        m_endpoints.remove(id);
        m_dirty.remove(id);
        m_dirtyPairs.remove(id);
        m_finishedChildren.remove(id);
    }
    const auto isGone = [&gone](quint32 id) { return gone.contains(id); };
    m_order.removeIf(isGone);
    m_clientOrder.removeIf(isGone);
    m_lastDirtyPair = 0;
    m_legRoutes.fill(LegRoute{});
    for (auto it = m_livePairs.begin(); it != m_livePairs.end();) {
        it->removeIf(isGone);
        if (it->isEmpty())
            it = m_livePairs.erase(it);
        else
            ++it;
    }
    emit endpointsRemoved(ids);
    m_log->releaseConnections(ids);
}

} // namespace ws

#include "net/server.h"

#include "net/serverprivate.h"
#include "net/tcpserver.h"
#include "net/testpage.h"
#include "net/tlstcpserver.h"
#include "protocol/handshake.h"

#include <QTcpServer>
#include <QTcpSocket>

#include <algorithm>
#include <climits>

#include <unistd.h>

namespace ws {

namespace {

// One batch (one read, its echo, one write) is at most this much input: it bounds
// what a batch adds to a client's send queue beyond sendQueueLimit.
constexpr qint64 ReadBatchSize = 256 * 1024;
// While a client is paused, a buffered QTcpSocket (TLS) stops pulling from the kernel
// once it holds this much, so TCP flow control pushes back on the sender; a paused
// unbuffered socket is not read at all and leaves everything in the kernel.
constexpr qint64 PausedReadBufferSize = 64 * 1024;

QString describeClose(const ClosedEvent &closed) {
    QString text = QStringLiteral("%1 (%2)")
                       .arg(closed.code)
                       .arg(QString::fromLatin1(closeCodeMeaning(closed.code)));
    if (!closed.reason.isEmpty())
        text += QStringLiteral(" \"%1\"").arg(closed.reason);
    if (closed.clean)
        text += closed.closedByUs ? QStringLiteral(", clean, closed by the server")
                                  : QStringLiteral(", clean, closed by the client");
    else
        text += QStringLiteral(", without a close handshake");
    return text;
}

} // namespace

QString Server::Private::who(const ServerClient *c) const {
    // "peer", as the window names a server's clients: never confused with its own.
    return QStringLiteral("peer %1 (%2)")
        .arg(c->id())
        .arg(formatAddress(c->peerAddress(), c->peerPort()));
}

void Server::Private::onNewConnection() {
    while (QTcpSocket *socket = tcp->nextPendingConnection()) {
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        socket->setReadBufferSize(ReadBatchSize);
        auto *c = new ServerClient(q, socket, nextId++, options().events);
        SessionOptions sessionOptions = options().session;
        // Frame events cost a copy per frame; only worth it when they are reported.
        sessionOptions.reportFrames =
            sessionOptions.reportFrames && options().events == EventReporting::On;
        c->setSession(std::make_unique<Session>(sessionOptions));
        c->setMisbehaviour(options().misbehaviour);
        if (!options().unixSocketPath.isEmpty()) {
            // Qt reads an AF_UNIX peer's address as if it were IPv4: it has none.
            c->m_peerAddress = QHostAddress();
            c->m_peerPort = 0;
        }
        const qint64 now = nowMs();
        c->m_acceptedMs = now;
        c->touch(now);
        c->m_lastMessageMs = now;
        clients.append(c);
        // A TLS client may have sent its request along with the end of the TLS
        // handshake, before readyRead was connected.
        if (socket->bytesAvailable() > 0)
            QMetaObject::invokeMethod(c, &ServerClient::onReadyRead, Qt::QueuedConnection);
        ensureSweep();
    }
}

void Server::Private::pause(ServerClient *c) {
    // Backpressure: a client that does not read what we echo stalls only itself.
    c->m_paused = true;
    c->socket()->setReadBufferSize(PausedReadBufferSize);
    c->m_drainWatch = QObject::connect(c->socket(), &QTcpSocket::bytesWritten, c,
                                       [this, c] { onBytesWritten(c); });
}

void Server::Private::onBytesWritten(ServerClient *c) {
    c->touch(nowMs());
    if (!c->m_paused || c->socket()->bytesToWrite() > options().sendQueueLimit / 2)
        return;
    c->m_paused = false;
    QObject::disconnect(c->m_drainWatch);
    c->socket()->setReadBufferSize(ReadBatchSize);
    // From the event loop: bytesWritten() can be emitted inside one of our writes.
    QMetaObject::invokeMethod(c, &ServerClient::onReadyRead, Qt::QueuedConnection);
}

void Server::Private::act(ServerClient *c, SessionEvent &event) {
    if (const auto *message = std::get_if<MessageEvent>(&event)) {
        onMessage(c, *message);
    } else if (const auto *handshake = std::get_if<HandshakeEvent>(&event)) {
        switch (handshake->kind) {
        case HandshakeEvent::Kind::UpgradeRequested:
            answerUpgrade(c);
            return;
        case HandshakeEvent::Kind::PlainHttpRequest:
            serveHttp(c);
            return;
        case HandshakeEvent::Kind::Failed:
            c->m_logged = true;
            log(QStringLiteral("%1: opening handshake failed (%2): %3")
                    .arg(who(c))
                    .arg(handshake->httpStatus)
                    .arg(handshake->error));
            return;
        case HandshakeEvent::Kind::ClientAccepted:
            return;
        }
    } else if (const auto *state = std::get_if<StateEvent>(&event)) {
        if (state->state == SessionState::Open && !c->m_announced)
            announce(c);
    } else if (const auto *closed = std::get_if<ClosedEvent>(&event)) {
        c->m_closed = *closed;
    } else if (const auto *ping = std::get_if<PingEvent>(&event)) {
        c->onPing(*ping);
    }
}

void Server::Private::applyPolicy(ServerClient *c) {
    Session &session = c->mutableSession();
    const ServerHandshake *handshake = session.serverHandshake();
    const ServerOptions &o = options();
    const auto refuse = [&](int status, const QByteArray &reason) {
        c->m_logged = true;
        log(QStringLiteral("%1: handshake refused with %2: %3")
                .arg(who(c))
                .arg(status)
                .arg(QString::fromUtf8(reason)));
        session.reject(status, reason, nowUs());
    };
    if (stopping) {
        refuse(503, "the server is shutting down");
        return;
    }
    if (openCount >= o.maxConnections) {
        refuse(503, "the server has reached its limit of " + QByteArray::number(o.maxConnections) +
                        " connections");
        return;
    }
    if (!o.allowedOrigins.isEmpty()) {
        const QByteArray origin = handshake ? handshake->origin() : QByteArray();
        // RFC 6454 §6.2: an origin serializes scheme and host in lower case.
        const bool allowed =
            !origin.isEmpty() &&
            std::any_of(o.allowedOrigins.cbegin(), o.allowedOrigins.cend(),
                        [&](const QByteArray &allowedOrigin) {
                            return allowedOrigin.compare(origin, Qt::CaseInsensitive) == 0;
                        });
        if (!allowed) {
            refuse(403, origin.isEmpty() ? QByteArray("no Origin header, and only listed origins "
                                                      "may connect")
                                         : "origin " + origin + " is not allowed");
            return;
        }
    }
    // RFC 6455 §4.2.2: the subprotocol must be one the client offered; ours decide
    // the preference.
    QByteArray chosen;
    if (handshake) {
        const QList<QByteArray> offered = handshake->offeredSubprotocols();
        for (const QByteArray &ours : o.subprotocols) {
            if (offered.contains(ours)) {
                chosen = ours;
                break;
            }
        }
        c->m_resourceName = handshake->request().target;
    }
    c->m_subprotocol = chosen;
    if (o.deflate.policy != DeflatePolicy::Refuse && handshake) {
        // RFC 7692 §5.1: the first valid offer wins; invalid ones are declined.
        const DeflateNegotiation negotiation =
            negotiateDeflateServer(handshake->offeredExtensions(), o.deflate);
        for (const QString &note : negotiation.notes)
            log(QStringLiteral("%1: permessage-deflate: %2").arg(who(c), note));
        if (!negotiation.ok()) {
            refuse(400, negotiation.error.toUtf8());
            return;
        }
        if (negotiation.params) {
            PerMessageDeflate *deflate = c->setDeflate(
                std::make_unique<PerMessageDeflate>(Role::Server, *negotiation.params, o.deflate));
            session.accept(chosen, {negotiation.response}, deflate, nowUs());
            return;
        }
    }
    session.accept(chosen, {}, nullptr, nowUs());
}

void Server::Private::serveHttp(ServerClient *c) {
    Session &session = c->mutableSession();
    const ServerHandshake *handshake = session.serverHandshake();
    const HttpRequest request = handshake ? handshake->request() : HttpRequest();
    const PlainHttpAnswer answer = answerPlainHttp(request, options().serveTestPage);
    c->m_logged = true;
    log(QStringLiteral("%1: %2 %3 answered %4")
            .arg(who(c))
            .arg(QString::fromLatin1(request.method))
            .arg(QString::fromLatin1(request.target))
            .arg(answer.status));
    session.respondHttp(answer.response,
                        QStringLiteral("plain HTTP request answered %1").arg(answer.status),
                        nowUs());
}

void Server::Private::announce(ServerClient *c) {
    c->m_announced = true;
    ++openCount;
    c->m_lastMessageMs = nowMs();
    if (logging())
        log(QStringLiteral("%1 connected to %2%3")
                .arg(who(c))
                .arg(QString::fromLatin1(c->m_resourceName))
                .arg(c->m_subprotocol.isEmpty() ? QString()
                                                : QStringLiteral(" (subprotocol %1)")
                                                      .arg(QString::fromLatin1(c->m_subprotocol))));
    emit q->clientConnected(c);
    if (c->isEnding())
        return;
    onOpened(c);
}

void Server::Private::enforceQueueLimit(ServerClient *c) {
    const qint64 limit = options().sendQueueLimit;
    if (options().mode != ServerOptions::Mode::Broadcast || limit <= 0 || c->m_queueOverflow ||
        c->isEnding() || c->socket()->bytesToWrite() <= limit)
        return;
    // A slow reader must not make the server hold every broadcast for it.
    c->m_queueOverflow = true;
    log(QStringLiteral("%1: send queue full (%2 bytes unsent), closing with 1008")
            .arg(who(c))
            .arg(c->socket()->bytesToWrite()));
    if (c->sendClose(toWire(CloseCode::PolicyViolation), QStringLiteral("send queue full")) !=
        SendError::None)
        c->armCloseDeadline();
}

void Server::Private::ensureSweep() {
    if (!sweepTimer.isActive())
        sweepTimer.start();
}

void Server::Private::sweep() {
    const qint64 now = nowMs();
    const QList<ServerClient *> snapshot = clients;
    for (ServerClient *c : snapshot) {
        if (!c->isEnding())
            checkClient(c, now);
    }
    if (stopping && stopDeadlineMs >= 0 && now >= stopDeadlineMs) {
        const QList<ServerClient *> remaining = clients;
        for (ServerClient *c : remaining)
            c->dropLogged(QStringLiteral("the server stopped"));
    }
    if (clients.isEmpty())
        sweepTimer.stop();
    checkStopped();
}

void Server::Private::checkClient(ServerClient *c, qint64 now) {
    const ServerOptions &o = options();
    if (c->hasCloseDeadline()) {
        c->checkCloseDeadline(now);
        if (c->isEnding())
            return;
    }
    switch (c->state()) {
    case SessionState::Connecting:
        if (o.handshakeTimeoutMs > 0 && !c->isTransportClosing() &&
            now - c->m_acceptedMs >= o.handshakeTimeoutMs) {
            c->m_logged = true;
            c->dropLogged(QStringLiteral("opening handshake not completed within %1 ms")
                              .arg(o.handshakeTimeoutMs));
        }
        return;
    case SessionState::Open:
        break;
    case SessionState::Closing:
    case SessionState::Closed:
        return;
    }
    // A client we stopped reading on purpose is silent because of us, not dead.
    if (o.keepaliveIntervalMs > 0 && !(c->m_staging && c->m_staging->readingStopped)) {
        const qint64 silent = now - c->lastReceiveMs();
        if (silent >= 2 * qint64(o.keepaliveIntervalMs)) {
            c->dropLogged(
                QStringLiteral("no sign of life for %1 ms (keepalive): dead peer").arg(silent));
            return;
        }
        if (silent >= o.keepaliveIntervalMs && (c->m_lastPingMs < c->lastReceiveMs() ||
                                                now - c->m_lastPingMs >= o.keepaliveIntervalMs)) {
            c->m_lastPingMs = now;
            static_cast<void>(c->sendPing("keepalive")); // open, so it is accepted
            if (c->isEnding())
                return;
        }
    }
    if (o.idleTimeoutMs > 0 && now - c->m_lastMessageMs >= o.idleTimeoutMs &&
        c->state() == SessionState::Open) {
        log(QStringLiteral("%1: idle for %2 ms, closing with 1001")
                .arg(who(c))
                .arg(now - c->m_lastMessageMs));
        static_cast<void>(
            c->sendClose(toWire(CloseCode::GoingAway), QStringLiteral("idle timeout")));
    }
}

void Server::Private::clientFinishing(ServerClient *c) {
    if (c->m_announced) {
        --openCount;
        if (logging())
            log(QStringLiteral("%1 disconnected: %2")
                    .arg(who(c))
                    .arg(c->m_closed ? describeClose(*c->m_closed)
                                     : QStringLiteral("connection lost")));
    } else if (!c->m_logged && logging()) {
        log(QStringLiteral("%1 closed the connection during the opening handshake").arg(who(c)));
    }
    clients.removeOne(c);
}

void Server::Private::clientFinished(ServerClient *c) {
    if (c->m_announced) {
        emit q->clientDisconnected(c);
        onLeft(c);
    }
    c->deleteLater();
    checkStopped();
}

void Server::Private::checkStopped() {
    if (!stopping || stoppedEmitted || !clients.isEmpty())
        return;
    stoppedEmitted = true;
    sweepTimer.stop();
    log(QStringLiteral("stopped"));
    emit q->stopped();
}

// ---------------------------------------------------------------------------

Server::Server(ServerOptions options, QObject *parent)
    : QObject(parent)
    , d(std::make_unique<Private>(this))
    , m_options(std::move(options)) {
    registerNetMetaTypes();
    qRegisterMetaType<ws::ServerClient *>();
    if (m_options.isSecure())
        d->tcp = new TlsTcpServer(
            m_options, [this](const QString &line) { d->log(line); }, this);
    else
        d->tcp = new UnbufferedTcpServer(this);
    // Bursts of connects (benchmarks, browsers) should not meet a full queue.
    d->tcp->setListenBacklogSize(1024);
    d->tcp->setMaxPendingConnections(1024);
    connect(d->tcp, &QTcpServer::newConnection, this, [this] { d->onNewConnection(); });

    // One timer for every deadline of every client, ticking at a quarter of the
    // shortest one (within 5 ms .. 1 s).
    int shortest = INT_MAX;
    for (const int timeout : {m_options.handshakeTimeoutMs, m_options.idleTimeoutMs,
                              m_options.keepaliveIntervalMs, m_options.closeTimeoutMs}) {
        if (timeout > 0)
            shortest = std::min(shortest, timeout);
    }
    d->sweepTimer.setInterval(std::clamp(shortest / 4, 5, 1000));
    connect(&d->sweepTimer, &QTimer::timeout, this, [this] { d->sweep(); });
}

Server::~Server() {
    d->sweepTimer.stop();
    const QList<ServerClient *> remaining = d->clients;
    d->clients.clear();
    for (ServerClient *c : remaining) {
        c->socket()->disconnect();
        c->socket()->abort();
        delete c;
    }
}

bool Server::listen() {
    if (d->tcp->isListening())
        return true;
    QString where;
    if (!m_options.unixSocketPath.isEmpty()) {
        const qintptr descriptor =
            listenUnixSocket(m_options.unixSocketPath, m_options.unixSocketMode, &d->error);
        if (descriptor < 0)
            return false;
        d->unixSocketFile = UnixSocketFile(m_options.unixSocketPath);
        // Qt's socket engine accepts on an AF_UNIX descriptor as on a TCP one.
        if (!d->tcp->setSocketDescriptor(descriptor)) {
            d->error = QStringLiteral("Could not listen on %1: %2")
                           .arg(m_options.unixSocketPath, d->tcp->errorString());
            ::close(int(descriptor));
            d->unixSocketFile.remove();
            return false;
        }
        where = QStringLiteral("unix:") + m_options.unixSocketPath;
    } else {
        // QTcpServer makes "::" IPv6 only (IPV6_V6ONLY); Any is the dual-stack socket
        // most servers open for it, where IPv4 clients arrive as ::ffff:a.b.c.d.
        const QHostAddress bound = m_options.bindAddress == QHostAddress(QHostAddress::AnyIPv6)
                                       ? QHostAddress(QHostAddress::Any)
                                       : m_options.bindAddress;
        if (!d->tcp->listen(bound, m_options.port)) {
            d->error = QStringLiteral("Could not listen on %1: %2")
                           .arg(formatAddress(m_options.bindAddress, m_options.port),
                                d->tcp->errorString());
            return false;
        }
        where = formatAddress(address(), d->tcp->serverPort());
    }
    d->error.clear();
    d->stopping = false;
    d->stoppedEmitted = false;
    d->stopDeadlineMs = -1;
    d->log(QStringLiteral("listening on %1 (%2 mode)")
               .arg(where)
               .arg(QString::fromLatin1(modeName(m_options.mode))));
    if (!m_options.misbehaviour.isOff())
        d->log(QStringLiteral("misbehaving on purpose with every client: %1")
                   .arg(m_options.misbehaviour.describe().join(QStringLiteral(", "))));
    return true;
}

void Server::stop() {
    if (d->stopping)
        return;
    d->stopping = true;
    d->tcp->close();
    d->unixSocketFile.remove();
    int closing = 0;
    const QList<ServerClient *> snapshot = d->clients;
    for (ServerClient *c : snapshot) {
        if (c->isEnding())
            continue;
        if (c->state() == SessionState::Open) {
            // RFC 6455 §7.4.1: 1001, the endpoint is going away.
            static_cast<void>(
                c->sendClose(toWire(CloseCode::GoingAway), QStringLiteral("server shutting down")));
            ++closing;
        } else if (c->state() == SessionState::Connecting && !c->isTransportClosing()) {
            c->m_logged = true;
            c->dropLogged(QStringLiteral("the server is shutting down"));
        }
    }
    d->log(QStringLiteral("stopping: %1 connection(s) closing with 1001 going away").arg(closing));
    // Every closing client has its own close deadline; this one catches the rest.
    d->stopDeadlineMs = d->nowMs() + std::max(m_options.closeTimeoutMs, 0) + 1000;
    if (!d->clients.isEmpty())
        d->ensureSweep();
    QTimer::singleShot(0, this, [this] { d->checkStopped(); });
}

bool Server::isListening() const {
    return d->tcp->isListening();
}

quint16 Server::port() const {
    return m_options.unixSocketPath.isEmpty() ? d->tcp->serverPort() : quint16(0);
}

QHostAddress Server::address() const {
    // Listening dual-stack for "::" (listen()): still "::" to whoever asked for it.
    if (d->tcp->isListening() && m_options.bindAddress == QHostAddress(QHostAddress::AnyIPv6))
        return m_options.bindAddress;
    return d->tcp->serverAddress();
}

QString Server::errorString() const {
    return d->error;
}

QList<ServerClient *> Server::clients() const {
    return d->clients;
}

void Server::broadcastText(const QByteArray &utf8) {
    d->broadcast(Opcode::Text, utf8);
}

void Server::broadcastBinary(const QByteArray &data) {
    d->broadcast(Opcode::Binary, data);
}

} // namespace ws

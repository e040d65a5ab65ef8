#include "net/server.h"

#include "net/socketio.h"
#include "net/tcpserver.h"
#include "protocol/handshake.h"

#include <QElapsedTimer>
#include <QFile>
#include <QMetaMethod>
#include <QSslConfiguration>
#include <QSslSocket>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

#include <algorithm>
#include <climits>
#include <functional>

// Q_INIT_RESOURCE must be used outside any namespace.
static void initWebResources() {
    Q_INIT_RESOURCE(wsresources);
}

namespace ws {

namespace {

// One batch (one read, its echo, one write) is at most this much input: it bounds
// what a batch adds to a client's send queue beyond sendQueueLimit.
constexpr qint64 ReadBatchSize = 256 * 1024;
// While a client is paused, a buffered QTcpSocket (TLS) stops pulling from the kernel
// once it holds this much, so TCP flow control pushes back on the sender; a paused
// unbuffered socket is not read at all and leaves everything in the kernel.
constexpr qint64 PausedReadBufferSize = 64 * 1024;
constexpr qint64 NoDeadline = -1;

QString formatAddress(const QHostAddress &address, quint16 port) {
    const QString host = address.protocol() == QAbstractSocket::IPv6Protocol
                             ? QStringLiteral("[%1]").arg(address.toString())
                             : address.toString();
    return QStringLiteral("%1:%2").arg(host).arg(port);
}

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

// RFC 8446 §5.1: a TLS connection opens with a handshake record (content type 22).
constexpr char TlsHandshakeRecord = 0x16;

// The listening socket of a wss server. Each connection is a QSslSocket that first
// waits for its first byte: a TLS ClientHello starts the server handshake, anything
// else (a plain HTTP or ws:// client) gets a 400 naming the scheme to use, so that
// client hears why instead of waiting. Only encrypted sockets reach the Server, as
// pending connections announced by newConnection(); the wait and the handshake are
// bounded by the handshake timeout.
class TlsTcpServer final : public QTcpServer {
public:
    TlsTcpServer(const ServerOptions &options, std::function<void(const QString &)> log,
                 QObject *parent)
        : QTcpServer(parent)
        , m_log(std::move(log))
        , m_handshakeTimeoutMs(options.handshakeTimeoutMs) {
        m_configuration = QSslConfiguration::defaultConfiguration();
        m_configuration.setLocalCertificate(options.tlsCertificate);
        m_configuration.setPrivateKey(options.tlsKey);
        m_configuration.setPeerVerifyMode(QSslSocket::VerifyNone);
    }

protected:
    void incomingConnection(qintptr descriptor) override {
        auto *socket = new QSslSocket(this);
        if (!socket->setSocketDescriptor(descriptor)) {
            delete socket;
            return;
        }
        socket->setSslConfiguration(m_configuration);
        const QString peer = formatAddress(socket->peerAddress(), socket->peerPort());
        const auto dropLater = [socket] {
            socket->disconnect();
            socket->deleteLater();
        };
        QTimer::singleShot(m_handshakeTimeoutMs, socket, [this, socket, peer, dropLater] {
            if (socket->isEncrypted())
                return;
            m_log(QStringLiteral("%1: no TLS handshake within %2 ms, dropped")
                      .arg(peer)
                      .arg(m_handshakeTimeoutMs));
            socket->abort();
            dropLater();
        });
        connect(socket, &QSslSocket::readyRead, this, [this, socket, peer] {
            if (socket->mode() != QSslSocket::UnencryptedMode || socket->bytesAvailable() < 1)
                return;
            char first = 0;
            socket->peek(&first, 1);
            if (first == TlsHandshakeRecord) {
                socket->startServerEncryption();
                return;
            }
            m_log(QStringLiteral("%1: not a TLS client (plain HTTP or ws://?), answered 400")
                      .arg(peer));
            socket->write(ServerHandshake::httpResponse(
                400, "Bad Request", "text/plain; charset=utf-8",
                "This server expects TLS (wss://): connect with wss:// or https://.\n"));
            socket->disconnectFromHost();
        });
        connect(socket, &QSslSocket::encrypted, this, [this, socket] {
            socket->disconnect(this);
            socket->setParent(nullptr);
            addPendingConnection(socket);
            emit newConnection();
        });
        connect(socket, &QSslSocket::errorOccurred, this,
                [this, socket, peer, dropLater](QAbstractSocket::SocketError error) {
                    if (socket->isEncrypted())
                        return;
                    if (error != QAbstractSocket::RemoteHostClosedError)
                        m_log(QStringLiteral("%1: TLS handshake failed: %2")
                                  .arg(peer, socket->errorString()));
                    socket->abort();
                    dropLater();
                });
        connect(socket, &QSslSocket::disconnected, this, [socket, dropLater] {
            if (!socket->isEncrypted())
                dropLater();
        });
    }

private:
    std::function<void(const QString &)> m_log;
    QSslConfiguration m_configuration;
    int m_handshakeTimeoutMs;
};

} // namespace

const char *modeName(ServerOptions::Mode mode) {
    switch (mode) {
    case ServerOptions::Mode::Echo:
        return "echo";
    case ServerOptions::Mode::Greeting:
        return "greeting";
    case ServerOptions::Mode::Broadcast:
        return "broadcast";
    case ServerOptions::Mode::Manual:
        return "manual";
    }
    return "echo";
}

std::optional<ServerOptions::Mode> modeFromName(QStringView name) {
    for (const auto mode : {ServerOptions::Mode::Echo, ServerOptions::Mode::Greeting,
                            ServerOptions::Mode::Broadcast, ServerOptions::Mode::Manual}) {
        if (name.compare(QLatin1String(modeName(mode)), Qt::CaseInsensitive) == 0)
            return mode;
    }
    return std::nullopt;
}

QByteArray browserTestPage() {
    static const QByteArray page = [] {
        initWebResources();
        QFile file(QStringLiteral(":/web/index.html"));
        return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
    }();
    return page;
}

// ---------------------------------------------------------------------------

struct ServerClient::Private {
    Server *server = nullptr;
    QTcpSocket *socket = nullptr;
    // Declared before the session, which uses it until it is destroyed.
    std::unique_ptr<PerMessageDeflate> deflate;
    std::unique_ptr<Session> session;
    quint64 id = 0;
    QHostAddress peerAddress;
    quint16 peerPort = 0;
    QByteArray resourceName;
    QByteArray subprotocol;
    // Server clock, milliseconds.
    qint64 acceptedMs = 0;
    qint64 lastReceiveMs = 0; // any sign of life: bytes in, or our queue draining
    qint64 lastMessageMs = 0; // a data message either way (idle timeout)
    qint64 lastPingMs = NoDeadline;
    qint64 closeDeadlineMs = NoDeadline;
    QMetaObject::Connection drainWatch; // bytesWritten, only while paused
    std::optional<ClosedEvent> closed;
    bool announced = false; // clientConnected() emitted
    bool logged = false;    // the fate of a connection that never opened was logged
    bool paused = false;
    bool transportClosing = false;
    bool queueOverflow = false;
    // How messages are echoed (echo and greeting modes): see updateEchoPath().
    enum class EchoPath { Unset, None, Sink, Handler };
    EchoPath echoPath = EchoPath::Unset;
    bool draining = false; // inside drain(): a nested call leaves the events to it
    bool finished = false; // no more processing; the teardown below may still be due
    bool finishCompleted = false;
};

struct Server::Private {
    explicit Private(Server *server)
        : q(server) {}

    Server *q;
    QTcpServer *tcp = nullptr;
    QList<ServerClient *> clients;
    QTimer sweepTimer;
    QElapsedTimer clock;
    QString error;
    quint64 nextId = 1;
    int openCount = 0;
    qint64 stopDeadlineMs = NoDeadline;
    // The server clock when the chunk being processed was read: one clock read per
    // chunk, not per message.
    qint64 chunkMs = 0;
    bool stopping = false;
    bool stoppedEmitted = false;

    const ServerOptions &options() const { return q->m_options; }
    qint64 nowMs() const { return clock.elapsed(); }
    qint64 nowUs() const { return clock.nsecsElapsed() / 1000; }
    QString who(const ServerClient *c) const;
    void log(const QString &line) { emit q->logMessage(line); }
    // Whether anyone listens to the log: the lines every connection produces are
    // formatted only then (a busy server opens thousands of connections a second).
    bool logging() const {
        static const QMetaMethod signal = QMetaMethod::fromSignal(&Server::logMessage);
        return q->isSignalConnected(signal);
    }

    void onNewConnection();
    void readFrom(ServerClient *c);
    void onDisconnected(ServerClient *c);
    void drain(ServerClient *c);
    void updateEchoPath(ServerClient *c);
    void act(ServerClient *c, SessionEvent &event);
    void flush(ServerClient *c);
    void afterSend(ServerClient *c);
    void applyPolicy(ServerClient *c);
    void serveHttp(ServerClient *c);
    void announce(ServerClient *c);
    void echo(ServerClient *c, const DecodedMessage &message);
    void broadcast(Opcode type, const QByteArray &data);
    void notice(const char *event, quint64 id);
    SendError sendMessage(ServerClient *c, Opcode type, QByteArrayView data, qint64 fragmentSize);
    bool isOpen(const ServerClient *c) const;
    void setCloseDeadline(ServerClient *c);
    void enforceQueueLimit(ServerClient *c);
    void pause(ServerClient *c);
    void onBytesWritten(ServerClient *c);
    void sweep();
    void checkClient(ServerClient *c, qint64 now);
    void drop(ServerClient *c, const QString &why);
    void finishClient(ServerClient *c);
    void completeFinish(ServerClient *c);
    void ensureSweep();
    void checkStopped();
};

QString Server::Private::who(const ServerClient *c) const {
    return QStringLiteral("client %1 (%2)")
        .arg(c->d->id)
        .arg(formatAddress(c->d->peerAddress, c->d->peerPort));
}

bool Server::Private::isOpen(const ServerClient *c) const {
    return c->d->announced && !c->d->finished && c->d->session->state() == SessionState::Open;
}

void Server::Private::onNewConnection() {
    static const QMetaMethod clientConnectedSignal =
        QMetaMethod::fromSignal(&Server::clientConnected);
    while (QTcpSocket *socket = tcp->nextPendingConnection()) {
        auto *c = new ServerClient(q);
        ServerClient::Private &cd = *c->d;
        socket->setParent(c);
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        socket->setReadBufferSize(ReadBatchSize);
        cd.server = q;
        cd.socket = socket;
        cd.id = nextId++;
        cd.peerAddress = socket->peerAddress();
        cd.peerPort = socket->peerPort();
        SessionOptions sessionOptions = options().session;
        // Frame events cost a copy per frame; only worth it when someone can watch.
        sessionOptions.reportFrames =
            sessionOptions.reportFrames && q->isSignalConnected(clientConnectedSignal);
        cd.session = std::make_unique<Session>(sessionOptions);
        const qint64 now = nowMs();
        cd.acceptedMs = now;
        cd.lastReceiveMs = now;
        cd.lastMessageMs = now;
        clients.append(c);
        QObject::connect(socket, &QTcpSocket::readyRead, c, [this, c] { readFrom(c); });
        // Queued: a socket can fail inside a write in the middle of a broadcast; the
        // client is torn down from the event loop, not under our feet.
        QObject::connect(
            socket, &QTcpSocket::disconnected, c, [this, c] { onDisconnected(c); },
            Qt::QueuedConnection);
        // A TLS client may have sent its request along with the end of the TLS
        // handshake, before readyRead was connected.
        if (socket->bytesAvailable() > 0)
            QMetaObject::invokeMethod(
                c, [this, c] { readFrom(c); }, Qt::QueuedConnection);
        ensureSweep();
    }
}

void Server::Private::readFrom(ServerClient *c) {
    ServerClient::Private &cd = *c->d;
    if (cd.finished || cd.paused)
        return;
    QTcpSocket *socket = cd.socket;
    Session &session = *cd.session;
    for (bool more = true; more;) {
        const SocketRead chunk = readFromSocket(socket);
        if (chunk.ended) {
            // An unbuffered socket met the end on our read and emits no disconnected().
            QMetaObject::invokeMethod(
                c, [this, c] { onDisconnected(c); }, Qt::QueuedConnection);
            return;
        }
        const QByteArrayView data = chunk.data;
        if (data.isEmpty())
            break;
        more = chunk.mayHaveMore;
        const qint64 us = nowUs();
        chunkMs = us / 1000;
        cd.lastReceiveMs = chunkMs;
        // After the end nothing more is read: RFC 6455 §7.1.7 / §5.5.1.
        if (session.state() == SessionState::Closed)
            continue;
        session.setTime(us);
        updateEchoPath(c);
        session.receiveData(data);
        drain(c);
        if (cd.finished)
            return;
        flush(c);
        const ServerOptions::Mode mode = options().mode;
        if ((mode == ServerOptions::Mode::Echo || mode == ServerOptions::Mode::Greeting) &&
            options().sendQueueLimit > 0 && socket->bytesToWrite() > options().sendQueueLimit) {
            pause(c);
            return;
        }
    }
}

void Server::Private::pause(ServerClient *c) {
    // Backpressure: a client that does not read what we echo stalls only itself.
    ServerClient::Private &cd = *c->d;
    cd.paused = true;
    cd.socket->setReadBufferSize(PausedReadBufferSize);
    cd.drainWatch =
        QObject::connect(cd.socket, &QTcpSocket::bytesWritten, c, [this, c] { onBytesWritten(c); });
}

void Server::Private::onBytesWritten(ServerClient *c) {
    ServerClient::Private &cd = *c->d;
    cd.lastReceiveMs = nowMs();
    if (!cd.paused || cd.socket->bytesToWrite() > options().sendQueueLimit / 2)
        return;
    cd.paused = false;
    QObject::disconnect(cd.drainWatch);
    cd.socket->setReadBufferSize(ReadBatchSize);
    // From the event loop: bytesWritten() can be emitted inside one of our writes.
    QMetaObject::invokeMethod(
        c, [this, c] { readFrom(c); }, Qt::QueuedConnection);
}

void Server::Private::onDisconnected(ServerClient *c) {
    ServerClient::Private &cd = *c->d;
    if (cd.finished)
        return;
    if (cd.socket->bytesAvailable() > 0) {
        cd.paused = false;
        readFrom(c);
        if (cd.finished)
            return;
    }
    Session &session = *cd.session;
    if (session.state() != SessionState::Closed) {
        session.setTime(nowUs());
        session.receiveEof();
        drain(c);
    }
    finishClient(c);
}

// Echo and greeting modes answer each message from inside Session::receiveData(),
// in stream order, so that the echoes of messages that arrived together with a
// close frame go out before the answer to it (RFC 6455 §5.5.1: nothing after our
// close frame). Once open, when nobody watches the client's events and no
// extension transforms its messages, from the decoder's message sink: as a view,
// with no allocation, no MessageEvent and no second UTF-8 pass for small messages.
// Otherwise from the session's message handler, which keeps the events. Checked
// before every batch, so a watcher that connects sees the next batch as events.
void Server::Private::updateEchoPath(ServerClient *c) {
    using EchoPath = ServerClient::Private::EchoPath;
    ServerClient::Private &cd = *c->d;
    const ServerOptions::Mode mode = options().mode;
    EchoPath wanted = EchoPath::None;
    if (mode == ServerOptions::Mode::Echo || mode == ServerOptions::Mode::Greeting)
        wanted =
            cd.announced && !cd.deflate && !c->isObserved() ? EchoPath::Sink : EchoPath::Handler;
    if (wanted == cd.echoPath)
        return;
    cd.echoPath = wanted;
    Session &session = *cd.session;
    if (wanted == EchoPath::Sink) {
        session.setMessageSink([this, c](Opcode type, QByteArrayView payload) {
            ServerClient::Private &client = *c->d;
            client.lastMessageMs = chunkMs;
            // Refused only after our close frame: then nothing is echoed.
            client.session->sendReceivedMessage(type, payload);
        });
    } else {
        session.setMessageSink({});
    }
    if (wanted == EchoPath::Handler) {
        // The message's event, taken in drain(), stamps lastMessageMs.
        session.setMessageHandler([this, c](const DecodedMessage &message) { echo(c, message); });
    } else {
        session.setMessageHandler({});
    }
}

void Server::Private::drain(ServerClient *c) {
    ServerClient::Private &cd = *c->d;
    // A send made while this client's events are being handled (a broadcast that
    // includes the sender, a slot that answers) lands here again: the running loop
    // takes the new events in order, so one nesting per message cannot pile up.
    if (cd.draining)
        return;
    cd.draining = true;
    Session &session = *cd.session;
    // Asked once per batch: only our own signals (sessionEvent, clientConnected) can
    // bring a watcher, so it is asked again after any event but a message.
    bool observed = c->isObserved();
    while (session.hasEvent()) {
        SessionEvent event = session.takeEvent();
        if (observed)
            emit c->sessionEvent(event);
        act(c, event);
        if (observed || !std::holds_alternative<MessageEvent>(event))
            observed = c->isObserved();
    }
    cd.draining = false;
    if (cd.finished && !cd.finishCompleted)
        completeFinish(c);
}

void Server::Private::act(ServerClient *c, SessionEvent &event) {
    ServerClient::Private &cd = *c->d;
    if (auto *message = std::get_if<MessageEvent>(&event)) {
        // Outgoing messages are stamped where they are sent.
        if (message->direction != Direction::Incoming)
            return;
        cd.lastMessageMs = chunkMs;
        switch (options().mode) {
        case ServerOptions::Mode::Echo:
        case ServerOptions::Mode::Greeting:
            // Echoed as it was decoded (updateEchoPath).
            return;
        case ServerOptions::Mode::Broadcast:
            broadcast(message->message.type, message->message.data);
            return;
        case ServerOptions::Mode::Manual:
            return;
        }
    } else if (const auto *handshake = std::get_if<HandshakeEvent>(&event)) {
        switch (handshake->kind) {
        case HandshakeEvent::Kind::UpgradeRequested:
            applyPolicy(c);
            return;
        case HandshakeEvent::Kind::PlainHttpRequest:
            serveHttp(c);
            return;
        case HandshakeEvent::Kind::Failed:
            cd.logged = true;
            log(QStringLiteral("%1: opening handshake failed (%2): %3")
                    .arg(who(c))
                    .arg(handshake->httpStatus)
                    .arg(handshake->error));
            return;
        case HandshakeEvent::Kind::ClientAccepted:
            return;
        }
    } else if (const auto *state = std::get_if<StateEvent>(&event)) {
        emit c->stateChanged(state->state);
        if (state->state == SessionState::Open && !cd.announced)
            announce(c);
    } else if (const auto *closed = std::get_if<ClosedEvent>(&event)) {
        cd.closed = *closed;
    }
}

void Server::Private::applyPolicy(ServerClient *c) {
    ServerClient::Private &cd = *c->d;
    Session &session = *cd.session;
    const ServerHandshake *handshake = session.serverHandshake();
    const ServerOptions &o = options();
    const auto refuse = [&](int status, const QByteArray &reason) {
        cd.logged = true;
        log(QStringLiteral("%1: handshake refused with %2: %3")
                .arg(who(c))
                .arg(status)
                .arg(QString::fromUtf8(reason)));
        session.reject(status, reason);
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
        cd.resourceName = handshake->request().target;
    }
    cd.subprotocol = chosen;
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
            cd.deflate =
                std::make_unique<PerMessageDeflate>(Role::Server, *negotiation.params, o.deflate);
            session.accept(chosen, {negotiation.response}, cd.deflate.get());
            return;
        }
    }
    session.accept(chosen);
}

void Server::Private::serveHttp(ServerClient *c) {
    ServerClient::Private &cd = *c->d;
    Session &session = *cd.session;
    const ServerHandshake *handshake = session.serverHandshake();
    const HttpRequest request = handshake ? handshake->request() : HttpRequest();
    QByteArray path = request.target;
    if (const qsizetype query = path.indexOf('?'); query >= 0)
        path.truncate(query);

    int status = 200;
    QByteArray response;
    if (!options().serveTestPage) {
        status = 426;
        HttpHeaders headers;
        headers.add("Sec-WebSocket-Version", "13");
        response = ServerHandshake::httpResponse(
            status, "Upgrade Required", "text/plain; charset=utf-8",
            "This is a WebSocket server: connect with a WebSocket client.\n", headers);
    } else if (request.method != "GET") {
        status = 405;
        HttpHeaders headers;
        headers.add("Allow", "GET");
        response =
            ServerHandshake::httpResponse(status, "Method Not Allowed", "text/plain; charset=utf-8",
                                          "Only GET is served here.\n", headers);
    } else if (path == "/" || path == "/index.html") {
        HttpHeaders headers;
        headers.add("Cache-Control", "no-store");
        response = ServerHandshake::httpResponse(status, "OK", "text/html; charset=utf-8",
                                                 browserTestPage(), headers);
    } else {
        status = 404;
        response =
            ServerHandshake::httpResponse(status, "Not Found", "text/plain; charset=utf-8",
                                          "Nothing here. The WebSocket test page is at /.\n");
    }
    cd.logged = true;
    log(QStringLiteral("%1: %2 %3 answered %4")
            .arg(who(c))
            .arg(QString::fromLatin1(request.method))
            .arg(QString::fromLatin1(request.target))
            .arg(status));
    session.respondHttp(response);
}

void Server::Private::announce(ServerClient *c) {
    ServerClient::Private &cd = *c->d;
    cd.announced = true;
    ++openCount;
    cd.lastMessageMs = nowMs();
    if (logging())
        log(QStringLiteral("%1 connected to %2%3")
                .arg(who(c))
                .arg(QString::fromLatin1(cd.resourceName))
                .arg(cd.subprotocol.isEmpty() ? QString()
                                              : QStringLiteral(" (subprotocol %1)")
                                                    .arg(QString::fromLatin1(cd.subprotocol))));
    emit q->clientConnected(c);
    if (cd.finished)
        return;
    switch (options().mode) {
    case ServerOptions::Mode::Greeting:
        if (const SendError result = sendMessage(c, Opcode::Text, options().greeting, 0);
            result != SendError::None)
            log(QStringLiteral("%1: greeting not sent: %2")
                    .arg(who(c), QString::fromLatin1(sendErrorText(result))));
        return;
    case ServerOptions::Mode::Broadcast:
        notice("join", cd.id);
        return;
    case ServerOptions::Mode::Echo:
    case ServerOptions::Mode::Manual:
        return;
    }
}

void Server::Private::echo(ServerClient *c, const DecodedMessage &message) {
    // The outgoing bytes join this client's batch: readFrom() writes them once. The
    // payload is shared with the incoming event, not copied. After our close frame
    // the session refuses the send (RFC 6455 §5.5.1): nothing is echoed then.
    Session &session = *c->d->session;
    if (message.type == Opcode::Binary)
        session.sendBinary(message.data);
    else
        session.sendText(message.data);
}

void Server::Private::broadcast(Opcode type, const QByteArray &data) {
    const QList<ServerClient *> targets = clients;
    for (ServerClient *target : targets) {
        if (!isOpen(target))
            continue;
        sendMessage(target, type, data, 0);
        afterSend(target);
    }
}

void Server::Private::notice(const char *event, quint64 id) {
    broadcast(Opcode::Text, QByteArray(R"({"event":")") + event + R"(","client":)" +
                                QByteArray::number(id) + '}');
}

SendError Server::Private::sendMessage(ServerClient *c, Opcode type, QByteArrayView data,
                                       qint64 fragmentSize) {
    ServerClient::Private &cd = *c->d;
    if (cd.finished)
        return SendError::NotOpen;
    Session &session = *cd.session;
    session.setTime(nowUs());
    const SendError result = type == Opcode::Binary ? session.sendBinary(data, fragmentSize)
                                                    : session.sendText(data, fragmentSize);
    if (result == SendError::None)
        cd.lastMessageMs = nowMs();
    return result;
}

void Server::Private::afterSend(ServerClient *c) {
    if (c->d->finished)
        return;
    drain(c);
    flush(c);
    enforceQueueLimit(c);
}

void Server::Private::flush(ServerClient *c) {
    ServerClient::Private &cd = *c->d;
    Session &session = *cd.session;
    QTcpSocket *socket = cd.socket;
    const bool connected = socket->state() == QAbstractSocket::ConnectedState;
    writeSessionOutput(socket, session, connected);
    if (!cd.transportClosing && session.shouldCloseTransport()) {
        cd.transportClosing = true;
        setCloseDeadline(c);
        if (socket->state() == QAbstractSocket::ConnectedState)
            socket->disconnectFromHost();
    } else if (session.closeSent()) {
        setCloseDeadline(c);
    }
}

void Server::Private::setCloseDeadline(ServerClient *c) {
    ServerClient::Private &cd = *c->d;
    if (cd.closeDeadlineMs == NoDeadline)
        cd.closeDeadlineMs = nowMs() + options().closeTimeoutMs;
}

void Server::Private::enforceQueueLimit(ServerClient *c) {
    ServerClient::Private &cd = *c->d;
    const qint64 limit = options().sendQueueLimit;
    if (options().mode != ServerOptions::Mode::Broadcast || limit <= 0 || cd.queueOverflow ||
        cd.finished || cd.socket->bytesToWrite() <= limit)
        return;
    // A slow reader must not make the server hold every broadcast for it.
    cd.queueOverflow = true;
    log(QStringLiteral("%1: send queue full (%2 bytes unsent), closing with 1008")
            .arg(who(c))
            .arg(cd.socket->bytesToWrite()));
    Session &session = *cd.session;
    session.setTime(nowUs());
    if (session.sendClose(toWire(CloseCode::PolicyViolation), QStringLiteral("send queue full")) !=
        SendError::None)
        setCloseDeadline(c);
    drain(c);
    flush(c);
}

void Server::Private::ensureSweep() {
    if (!sweepTimer.isActive())
        sweepTimer.start();
}

void Server::Private::sweep() {
    const qint64 now = nowMs();
    const QList<ServerClient *> snapshot = clients;
    for (ServerClient *c : snapshot) {
        if (!c->d->finished)
            checkClient(c, now);
    }
    if (stopping && stopDeadlineMs != NoDeadline && now >= stopDeadlineMs) {
        const QList<ServerClient *> remaining = clients;
        for (ServerClient *c : remaining)
            drop(c, QStringLiteral("the server stopped"));
    }
    if (clients.isEmpty())
        sweepTimer.stop();
    checkStopped();
}

void Server::Private::checkClient(ServerClient *c, qint64 now) {
    ServerClient::Private &cd = *c->d;
    Session &session = *cd.session;
    const ServerOptions &o = options();
    if (cd.closeDeadlineMs != NoDeadline && now >= cd.closeDeadlineMs) {
        if (session.state() != SessionState::Closed) {
            const QString why = QStringLiteral("our close frame was not answered within %1 ms")
                                    .arg(o.closeTimeoutMs);
            if (c->isObserved()) {
                NoteEvent note;
                note.timestampUs = nowUs();
                note.note.kind = ConformanceNote::Kind::CloseNotAnswered;
                note.note.text = why;
                emit c->sessionEvent(SessionEvent(note));
            }
            drop(c, why);
        } else {
            drop(c, QStringLiteral("the TCP connection did not close within %1 ms")
                        .arg(o.closeTimeoutMs));
        }
        return;
    }
    switch (session.state()) {
    case SessionState::Connecting:
        if (o.handshakeTimeoutMs > 0 && !cd.transportClosing &&
            now - cd.acceptedMs >= o.handshakeTimeoutMs) {
            cd.logged = true;
            drop(c, QStringLiteral("opening handshake not completed within %1 ms")
                        .arg(o.handshakeTimeoutMs));
        }
        return;
    case SessionState::Open:
        break;
    case SessionState::Closing:
    case SessionState::Closed:
        return;
    }
    if (o.keepaliveIntervalMs > 0) {
        const qint64 silent = now - cd.lastReceiveMs;
        if (silent >= 2 * qint64(o.keepaliveIntervalMs)) {
            drop(c, QStringLiteral("no sign of life for %1 ms (keepalive): dead peer").arg(silent));
            return;
        }
        if (silent >= o.keepaliveIntervalMs &&
            (cd.lastPingMs < cd.lastReceiveMs || now - cd.lastPingMs >= o.keepaliveIntervalMs)) {
            cd.lastPingMs = now;
            session.setTime(nowUs());
            session.sendPing("keepalive");
            afterSend(c);
            if (cd.finished)
                return;
        }
    }
    if (o.idleTimeoutMs > 0 && now - cd.lastMessageMs >= o.idleTimeoutMs &&
        session.state() == SessionState::Open) {
        log(QStringLiteral("%1: idle for %2 ms, closing with 1001")
                .arg(who(c))
                .arg(now - cd.lastMessageMs));
        session.setTime(nowUs());
        session.sendClose(toWire(CloseCode::GoingAway), QStringLiteral("idle timeout"));
        afterSend(c);
    }
}

void Server::Private::drop(ServerClient *c, const QString &why) {
    ServerClient::Private &cd = *c->d;
    if (cd.finished)
        return;
    log(QStringLiteral("%1: %2; dropping the connection").arg(who(c), why));
    Session &session = *cd.session;
    if (session.state() != SessionState::Closed) {
        session.setTime(nowUs());
        session.abort(why);
        drain(c);
    }
    finishClient(c);
}

void Server::Private::finishClient(ServerClient *c) {
    ServerClient::Private &cd = *c->d;
    if (cd.finished)
        return;
    cd.finished = true;
    if (cd.socket->state() != QAbstractSocket::UnconnectedState)
        cd.socket->abort();
    // Asked for while the client's events are being handled (e.g. abort() from a
    // sessionEvent slot): drain() completes it after the last event, the ClosedEvent.
    if (!cd.draining)
        completeFinish(c);
}

void Server::Private::completeFinish(ServerClient *c) {
    ServerClient::Private &cd = *c->d;
    cd.finishCompleted = true;
    if (cd.announced) {
        --openCount;
        if (logging())
            log(QStringLiteral("%1 disconnected: %2")
                    .arg(who(c))
                    .arg(cd.closed ? describeClose(*cd.closed)
                                   : QStringLiteral("connection lost")));
    } else if (!cd.logged && logging()) {
        log(QStringLiteral("%1 closed the connection during the opening handshake").arg(who(c)));
    }
    clients.removeOne(c);
    emit c->finished();
    if (cd.announced) {
        emit q->clientDisconnected(c);
        if (options().mode == ServerOptions::Mode::Broadcast)
            notice("leave", cd.id);
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
    d->clock.start();
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
        c->d->socket->disconnect();
        c->d->socket->abort();
        delete c;
    }
}

bool Server::listen() {
    if (d->tcp->isListening())
        return true;
    if (!d->tcp->listen(m_options.bindAddress, m_options.port)) {
        d->error =
            QStringLiteral("Could not listen on %1: %2")
                .arg(formatAddress(m_options.bindAddress, m_options.port), d->tcp->errorString());
        return false;
    }
    d->error.clear();
    d->stopping = false;
    d->stoppedEmitted = false;
    d->stopDeadlineMs = NoDeadline;
    d->log(QStringLiteral("listening on %1 (%2 mode)")
               .arg(formatAddress(d->tcp->serverAddress(), d->tcp->serverPort()))
               .arg(QString::fromLatin1(modeName(m_options.mode))));
    return true;
}

void Server::stop() {
    if (d->stopping)
        return;
    d->stopping = true;
    d->tcp->close();
    int closing = 0;
    const QList<ServerClient *> snapshot = d->clients;
    for (ServerClient *c : snapshot) {
        if (c->d->finished)
            continue;
        Session &session = *c->d->session;
        if (session.state() == SessionState::Open) {
            // RFC 6455 §7.4.1: 1001, the endpoint is going away.
            session.setTime(d->nowUs());
            session.sendClose(toWire(CloseCode::GoingAway), QStringLiteral("server shutting down"));
            d->afterSend(c);
            ++closing;
        } else if (session.state() == SessionState::Connecting && !c->d->transportClosing) {
            c->d->logged = true;
            d->drop(c, QStringLiteral("the server is shutting down"));
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
    return d->tcp->serverPort();
}

QHostAddress Server::address() const {
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

// ---------------------------------------------------------------------------

ServerClient::ServerClient(QObject *parent)
    : QObject(parent)
    , d(std::make_unique<Private>()) {}

ServerClient::~ServerClient() = default;

bool ServerClient::isObserved() const {
    static const QMetaMethod signal = QMetaMethod::fromSignal(&ServerClient::sessionEvent);
    return isSignalConnected(signal);
}

quint64 ServerClient::id() const {
    return d->id;
}

QHostAddress ServerClient::peerAddress() const {
    return d->peerAddress;
}

quint16 ServerClient::peerPort() const {
    return d->peerPort;
}

QByteArray ServerClient::resourceName() const {
    return d->resourceName;
}

QByteArray ServerClient::subprotocol() const {
    return d->subprotocol;
}

SessionState ServerClient::state() const {
    return d->session->state();
}

const Session &ServerClient::session() const {
    return *d->session;
}

const PerMessageDeflate *ServerClient::deflate() const {
    return d->deflate.get();
}

qint64 ServerClient::pendingBytes() const {
    return d->socket->bytesToWrite();
}

SendError ServerClient::sendText(const QByteArray &utf8, qint64 fragmentSize) {
    Server::Private &server = *d->server->d;
    const SendError result = server.sendMessage(this, Opcode::Text, utf8, fragmentSize);
    server.afterSend(this);
    return result;
}

SendError ServerClient::sendBinary(const QByteArray &data, qint64 fragmentSize) {
    Server::Private &server = *d->server->d;
    const SendError result = server.sendMessage(this, Opcode::Binary, data, fragmentSize);
    server.afterSend(this);
    return result;
}

SendError ServerClient::sendPing(const QByteArray &payload) {
    if (d->finished)
        return SendError::NotOpen;
    Server::Private &server = *d->server->d;
    d->session->setTime(server.nowUs());
    const SendError result = d->session->sendPing(payload);
    server.afterSend(this);
    return result;
}

SendError ServerClient::sendClose(std::optional<quint16> code, const QString &reason) {
    if (d->finished)
        return SendError::NotOpen;
    Server::Private &server = *d->server->d;
    d->session->setTime(server.nowUs());
    const SendError result = d->session->sendClose(code, reason);
    server.afterSend(this);
    return result;
}

SendError ServerClient::sendRaw(const RawFrame &frame) {
    if (d->finished || d->socket->state() != QAbstractSocket::ConnectedState)
        return SendError::NotOpen;
    Server::Private &server = *d->server->d;
    d->session->setTime(server.nowUs());
    const SendError result = d->session->sendRaw(frame);
    server.afterSend(this);
    return result;
}

void ServerClient::abort() {
    if (d->finished)
        return;
    Server::Private &server = *d->server->d;
    server.drop(this, QStringLiteral("aborted by the server"));
}

} // namespace ws

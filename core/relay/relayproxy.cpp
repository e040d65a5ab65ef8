#include "relay/relayproxy.h"

#include "net/tlstcpserver.h"
#include "protocol/handshake.h"
#include "protocol/httpheaders.h"
#include "relay/bytetunnel.h"
#include "relay/relayheaders.h"

#include <QNetworkProxy>
#include <QSslConfiguration>
#include <QSslSocket>
#include <QTcpServer>
#include <QTimer>

#include <functional>
#include <utility>

namespace ws {

namespace {

// RFC 8446 §5.1: a TLS connection opens with a handshake record (content type 22).
constexpr char TlsHandshakeRecord = 0x16;

// Every accepted connection is a QSslSocket, buffered: the proxy reads a request's
// head without taking it (peek), so that the relayed pair's client leg reads the
// upgrade request itself, and a CONNECT tunnel can turn into TLS.
class ProxyListener final : public QTcpServer {
public:
    using QTcpServer::QTcpServer;

protected:
    void incomingConnection(qintptr descriptor) override {
        auto *socket = new QSslSocket(this);
        if (!socket->setSocketDescriptor(descriptor)) {
            delete socket;
            return;
        }
        addPendingConnection(socket);
    }
};

// host:port of a CONNECT request (RFC 9112 §3.2.3), an IPv6 address in brackets.
bool parseAuthority(const QByteArray &authority, QString *host, quint16 *port) {
    const qsizetype colon = authority.lastIndexOf(':');
    if (colon <= 0)
        return false;
    QByteArray name = authority.left(colon);
    if (name.startsWith('[') && name.endsWith(']'))
        name = name.mid(1, name.size() - 2);
    else if (name.contains(':'))
        return false;
    bool ok = false;
    const uint value = authority.mid(colon + 1).toUInt(&ok);
    if (!ok || value == 0 || value > 65535 || name.isEmpty())
        return false;
    *host = QString::fromLatin1(name);
    *port = quint16(value);
    return true;
}

// Where a WebSocket through the proxy is relayed: host:port and the path and query its
// client asked for, so that the pair is known by its path in the log and the tree as
// a reverse relay's pair is (RelayPair asks the upstream for that same resource).
QUrl pairTarget(const QString &scheme, const QString &host, quint16 port,
                const QByteArray &requestTarget) {
    QUrl target;
    target.setScheme(scheme);
    target.setHost(host);
    target.setPort(port);
    const QByteArray resource = originForm(requestTarget);
    const qsizetype question = resource.indexOf('?');
    // Kept as the client encoded it.
    target.setPath(QString::fromLatin1(resource.left(question < 0 ? resource.size() : question)),
                   QUrl::TolerantMode);
    if (question >= 0)
        target.setQuery(QString::fromLatin1(resource.mid(question + 1)), QUrl::TolerantMode);
    return target;
}

QString hostPort(const QString &host, quint16 port) {
    return (host.contains(u':') ? u'[' + host + u']' : host) + u':' + QString::number(port);
}

} // namespace

// One client of the proxy until it is known what its connection is: a relayed pair
// (handed to the proxy), a tunnel (handed to the proxy) or a refusal.
class ProxyRequest : public QObject {
public:
    ProxyRequest(RelayProxy *proxy, QSslSocket *client);
    void start();
    void abort();

private:
    enum class Stage {
        ProxyRequest,  // the request to the proxy itself
        Connecting,    // host:port is being reached, for CONNECT or a forwarded GET
        TunnelStart,   // 200 sent: TLS or a plain request comes next
        TunnelTls,     // our TLS server handshake in the tunnel
        TunnelRequest, // the first request in the tunnel
        UpstreamTls,   // passing through: our TLS client handshake with host:port
        Done,
    };

    void onClientData();
    // Reads the head of the request in the client's buffer without taking it; false
    // while it is incomplete.
    bool readHead();
    void onProxyRequest();
    void onConnectRequest();
    void onAbsoluteRequest();
    void onTunnelRequest();
    void connectUpstream(std::function<void()> connected);
    void startTls();
    void passThroughTls();
    void relay(const QUrl &target);
    void tunnel();
    void refuse(int status, const QString &text);
    void drop(const QString &why);
    void onDeadline();
    void finish();
    void log(const QString &line) { emit m_proxy->logMessage(0, m_peer + u' ' + line); }
    QString endpoint() const { return hostPort(m_host, m_port); }

    RelayProxy *m_proxy;
    QSslSocket *m_client;
    QSslSocket *m_upstream = nullptr;
    QString m_peer;
    QTimer m_deadline;
    std::optional<HeaderBlockReader> m_head;
    Stage m_stage = Stage::ProxyRequest;
    QString m_host;
    quint16 m_port = 0;
    bool m_tunnelTls = false;
    // Bytes to write upstream once it is reached (a forwarded request's new head).
    QByteArray m_forwardHead;
};

ProxyRequest::ProxyRequest(RelayProxy *proxy, QSslSocket *client)
    : QObject(proxy)
    , m_proxy(proxy)
    , m_client(client)
    , m_peer(formatAddress(client->peerAddress(), client->peerPort())) {
    client->setParent(this);
    m_deadline.setSingleShot(true);
    connect(&m_deadline, &QTimer::timeout, this, &ProxyRequest::onDeadline);
    connect(client, &QIODevice::readyRead, this, &ProxyRequest::onClientData);
    connect(client, &QAbstractSocket::disconnected, this, [this] {
        if (m_stage != Stage::Done)
            drop(QStringLiteral("the client closed the connection"));
    });
    connect(client, &QSslSocket::encrypted, this, [this] {
        m_stage = Stage::TunnelRequest;
        onClientData();
    });
    connect(client, &QAbstractSocket::errorOccurred, this,
            [this](QAbstractSocket::SocketError error) {
                if (m_stage == Stage::Done || error == QAbstractSocket::RemoteHostClosedError)
                    return;
                drop(m_stage == Stage::TunnelTls
                         ? QStringLiteral("TLS handshake for %1 failed (does the client trust "
                                          "the local CA?): %2")
                               .arg(m_host, m_client->errorString())
                         : m_client->errorString());
            });
}

void ProxyRequest::start() {
    const int timeoutMs = m_proxy->m_options.relay.handshakeTimeoutMs;
    if (timeoutMs > 0)
        m_deadline.start(timeoutMs);
    onClientData();
}

void ProxyRequest::onClientData() {
    switch (m_stage) {
    case Stage::ProxyRequest:
        if (readHead())
            onProxyRequest();
        break;
    case Stage::TunnelStart:
        if (m_client->bytesAvailable() > 0) {
            char first = 0;
            m_client->peek(&first, 1);
            if (first == TlsHandshakeRecord) {
                startTls();
            } else {
                // A WebSocket client tunnels ws:// too: the request comes in the clear.
                m_stage = Stage::TunnelRequest;
                onClientData();
            }
        }
        break;
    case Stage::TunnelRequest:
        if (readHead())
            onTunnelRequest();
        break;
    case Stage::Connecting:
    case Stage::TunnelTls:
    case Stage::UpstreamTls:
    case Stage::Done:
        break;
    }
}

bool ProxyRequest::readHead() {
    const HandshakeLimits &limits = m_proxy->m_options.limits;
    m_head.emplace(HeaderBlockReader::Kind::Request, limits.maxHeaderBytes, limits.maxHeaderCount);
    qsizetype consumed = 0;
    const HeaderBlockReader::Result result =
        m_head->feed(m_client->peek(m_client->bytesAvailable()), &consumed);
    switch (result) {
    case HeaderBlockReader::Result::NeedMore:
        return false;
    case HeaderBlockReader::Result::Complete:
        return true;
    case HeaderBlockReader::Result::Malformed:
        refuse(400,
               QStringLiteral("relay proxy: not an HTTP request: %1").arg(m_head->errorString()));
        return false;
    case HeaderBlockReader::Result::TooLarge:
    case HeaderBlockReader::Result::TooManyFields:
        refuse(431, QStringLiteral("relay proxy: the request's head is larger than %1 bytes or "
                                   "has more than %2 fields")
                        .arg(limits.maxHeaderBytes)
                        .arg(limits.maxHeaderCount));
        return false;
    }
    return false;
}

void ProxyRequest::onProxyRequest() {
    if (m_head->method() == "CONNECT")
        onConnectRequest();
    else
        onAbsoluteRequest();
}

void ProxyRequest::onConnectRequest() {
    if (!parseAuthority(m_head->target(), &m_host, &m_port)) {
        refuse(400, QStringLiteral("relay proxy: CONNECT needs host:port, not %1")
                        .arg(QString::fromLatin1(m_head->target())));
        return;
    }
    // RFC 9110 §9.3.6: what follows the CONNECT head belongs to the tunnel.
    m_client->read(m_head->block().size());
    connectUpstream([this] {
        m_client->write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (m_proxy->isBlind(m_host)) {
            log(QStringLiteral("CONNECT %1: tunnelled blind").arg(endpoint()));
            tunnel();
            return;
        }
        log(QStringLiteral("CONNECT %1: intercepted").arg(endpoint()));
        m_stage = Stage::TunnelStart;
        onClientData();
    });
}

void ProxyRequest::onAbsoluteRequest() {
    const QUrl url(QString::fromLatin1(m_head->target()), QUrl::StrictMode);
    const QString scheme = url.scheme().toLower();
    if (!url.isValid() || url.host().isEmpty() ||
        (scheme != QLatin1String("http") && scheme != QLatin1String("ws"))) {
        refuse(400, QStringLiteral("relay proxy: this is an HTTP proxy: it takes CONNECT "
                                   "host:port and requests for http:// or ws:// URLs in "
                                   "absolute form, not %1 %2")
                        .arg(QString::fromLatin1(m_head->method()),
                             QString::fromLatin1(m_head->target())));
        return;
    }
    m_host = url.host();
    m_port = quint16(url.port(80));
    if (m_head->headers().hasToken("Upgrade", "websocket")) {
        relay(pairTarget(QStringLiteral("ws"), m_host, m_port, m_head->target()));
        return;
    }
    // A plain request goes on as it came, in origin form (RFC 9112 §3.2.1), for
    // this one exchange.
    const HeaderBlockReader &head = *m_head;
    QByteArray forward = head.method() + ' ' + originForm(head.target()) + " HTTP/1.1\r\n";
    HttpHeaders fields = forwardedRequestHeaders(head.headers());
    if (!fields.contains("Host"))
        forward += "Host: " + url.authority(QUrl::FullyEncoded).toUtf8() + "\r\n";
    for (const HttpHeaders::Field &field : fields.fields())
        forward += field.first + ": " + field.second + "\r\n";
    forward += "Connection: close\r\n\r\n";
    m_client->read(head.block().size());
    m_forwardHead = forward;
    log(QStringLiteral("%1 %2: forwarded")
            .arg(QString::fromLatin1(head.method()), QString::fromLatin1(head.target())));
    connectUpstream([this] {
        m_upstream->write(m_forwardHead);
        tunnel();
    });
}

void ProxyRequest::onTunnelRequest() {
    const HeaderBlockReader &head = *m_head;
    if (head.headers().hasToken("Upgrade", "websocket")) {
        // The pair opens its own connection, with its own handshake.
        m_upstream->abort();
        relay(pairTarget(m_tunnelTls ? QStringLiteral("wss") : QStringLiteral("ws"), m_host, m_port,
                         head.target()));
        return;
    }
    // Not a WebSocket: the request and the rest of the connection go to host:port
    // unread.
    const QString scheme = m_tunnelTls ? QStringLiteral("https://") : QStringLiteral("http://");
    log(QStringLiteral("%1 %2: passed through")
            .arg(QString::fromLatin1(head.method()),
                 scheme + endpoint() + QString::fromLatin1(originForm(head.target()))));
    if (m_tunnelTls)
        passThroughTls();
    else
        tunnel();
}

void ProxyRequest::connectUpstream(std::function<void()> connected) {
    m_stage = Stage::Connecting;
    m_upstream = new QSslSocket(this);
    // Qt's application proxy stays out of the way: this is the proxy.
    m_upstream->setProxy(QNetworkProxy::NoProxy);
    connect(m_upstream, &QAbstractSocket::connected, this,
            [this, connected = std::move(connected)] {
                m_upstream->setSocketOption(QAbstractSocket::LowDelayOption, 1);
                connected();
            });
    connect(m_upstream, &QAbstractSocket::errorOccurred, this, [this] {
        if (m_stage == Stage::Connecting)
            refuse(502, QStringLiteral("relay proxy: cannot reach %1: %2")
                            .arg(endpoint(), m_upstream->errorString()));
        else if (m_stage == Stage::UpstreamTls)
            refuse(502, QStringLiteral("relay proxy: TLS with %1 failed: %2")
                            .arg(endpoint(), m_upstream->errorString()));
    });
    m_upstream->connectToHost(m_host, m_port);
}

void ProxyRequest::startTls() {
    QString error;
    const std::optional<CertificateAndKey> leaf = m_proxy->certificateFor(m_host, &error);
    if (!leaf) {
        drop(QStringLiteral("no certificate for %1: %2").arg(m_host, error));
        return;
    }
    m_tunnelTls = true;
    m_stage = Stage::TunnelTls;
    QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
    // The authority goes with the certificate: a client that pins the authority's key
    // (Chromium's --ignore-certificate-errors-spki-list) finds it in the chain.
    configuration.setLocalCertificateChain(
        {leaf->certificate, m_proxy->certificateAuthority()->identity().certificate});
    configuration.setPrivateKey(leaf->key);
    configuration.setPeerVerifyMode(QSslSocket::VerifyNone);
    m_client->setSslConfiguration(configuration);
    m_client->startServerEncryption();
}

void ProxyRequest::passThroughTls() {
    // Verified as our client verifies a wss:// server: the system's store, the CA
    // file, the one accepted fingerprint.
    const ClientOptions &trust = m_proxy->m_options.relay.upstream;
    QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
    if (!trust.caCertificatesFile.isEmpty())
        configuration.addCaCertificates(
            QSslCertificate::fromPath(trust.caCertificatesFile, QSsl::Pem));
    configuration.setPeerVerifyMode(QSslSocket::VerifyPeer);
    m_upstream->setSslConfiguration(configuration);
    m_upstream->setPeerVerifyName(m_host);
    connect(m_upstream, &QSslSocket::sslErrors, this, [this](const QList<QSslError> &errors) {
        if (acceptedByFingerprint(m_upstream->peerCertificate(), errors,
                                  m_proxy->m_options.relay.upstream.acceptedFingerprint))
            m_upstream->ignoreSslErrors(errors);
    });
    connect(m_upstream, &QSslSocket::encrypted, this, &ProxyRequest::tunnel);
    m_stage = Stage::UpstreamTls;
    m_upstream->startClientEncryption();
}

void ProxyRequest::relay(const QUrl &target) {
    m_stage = Stage::Done;
    m_deadline.stop();
    m_client->disconnect(this);
    QSslSocket *client = std::exchange(m_client, nullptr);
    m_proxy->startPair(client, target, m_peer);
    finish();
}

void ProxyRequest::tunnel() {
    m_stage = Stage::Done;
    m_deadline.stop();
    m_client->disconnect(this);
    m_upstream->disconnect(this);
    m_proxy->startTunnel(std::exchange(m_client, nullptr), std::exchange(m_upstream, nullptr));
    finish();
}

void ProxyRequest::refuse(int status, const QString &text) {
    if (m_stage == Stage::Done)
        return;
    m_stage = Stage::Done;
    m_deadline.stop();
    log(QStringLiteral("answered %1: %2").arg(status).arg(text));
    if (m_upstream)
        m_upstream->abort();
    m_client->write(ServerHandshake::httpResponse(status, {}, "text/plain; charset=utf-8",
                                                  text.toUtf8() + '\n'));
    m_client->disconnectFromHost();
    if (m_client->state() == QAbstractSocket::UnconnectedState)
        finish();
    else
        connect(m_client, &QAbstractSocket::disconnected, this, &ProxyRequest::finish);
}

void ProxyRequest::drop(const QString &why) {
    if (m_stage == Stage::Done)
        return;
    m_stage = Stage::Done;
    m_deadline.stop();
    log(QStringLiteral("dropped: %1").arg(why));
    abort();
}

void ProxyRequest::abort() {
    m_stage = Stage::Done;
    if (m_upstream)
        m_upstream->abort();
    if (m_client)
        m_client->abort();
    finish();
}

void ProxyRequest::onDeadline() {
    const int timeoutMs = m_proxy->m_options.relay.handshakeTimeoutMs;
    if (m_stage == Stage::Connecting)
        refuse(504, QStringLiteral("relay proxy: %1 did not answer within %2 ms")
                        .arg(endpoint())
                        .arg(timeoutMs));
    else
        // As our server does with a client that never completes its request.
        drop(QStringLiteral("no complete request within %1 ms").arg(timeoutMs));
}

void ProxyRequest::finish() {
    QMetaObject::invokeMethod(
        m_proxy, [proxy = m_proxy, self = this] { proxy->requestDone(self); },
        Qt::QueuedConnection);
}

// --- the proxy -----------------------------------------------------------------------

RelayProxy::RelayProxy(RelayProxyOptions options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
    , m_relay(new Relay(m_options.relay, this)) {
    connect(m_relay, &Relay::stopped, this, &RelayProxy::stopped);
}

RelayProxy::~RelayProxy() {
    // The pairs go first: their sockets must not report into a half-destroyed proxy.
    delete m_relay;
    for (ByteTunnel *tunnel : std::as_const(m_tunnels)) {
        tunnel->disconnect(this);
        delete tunnel;
    }
    qDeleteAll(m_requests);
}

bool RelayProxy::listen() {
    if (m_listener)
        return m_listener->isListening();
    QString error;
    m_authority = CertificateAuthority::open(m_options.caDirectory, &error);
    if (!m_authority) {
        m_error = QStringLiteral("no certificate authority: %1").arg(error);
        return false;
    }
    m_listener = new ProxyListener(this);
    connect(m_listener, &QTcpServer::newConnection, this, &RelayProxy::onNewConnection);
    if (!m_listener->listen(m_options.relay.listenAddress, m_options.relay.listenPort)) {
        m_error = m_listener->errorString();
        return false;
    }
    return true;
}

QHostAddress RelayProxy::address() const {
    return m_listener ? m_listener->serverAddress() : QHostAddress();
}

quint16 RelayProxy::port() const {
    return m_listener ? m_listener->serverPort() : 0;
}

void RelayProxy::onNewConnection() {
    while (QTcpSocket *socket = m_listener->nextPendingConnection()) {
        auto *ssl = qobject_cast<QSslSocket *>(socket);
        if (m_stopping || !ssl) {
            socket->abort();
            socket->deleteLater();
            continue;
        }
        auto *request = new ProxyRequest(this, ssl);
        m_requests.append(request);
        request->start();
    }
}

bool RelayProxy::isBlind(const QString &host) const {
    return m_options.blindHosts.contains(host, Qt::CaseInsensitive);
}

std::optional<CertificateAndKey> RelayProxy::certificateFor(const QString &host, QString *error) {
    return m_authority->certificateFor(host, error);
}

void RelayProxy::startPair(QSslSocket *socket, const QUrl &target, const QString &peer) {
    m_relay->relayClient(socket, target, peer);
}

void RelayProxy::startTunnel(QSslSocket *client, QSslSocket *upstream) {
    auto *tunnel = new ByteTunnel(client, upstream, m_options.relay.sendQueueLimit, this);
    connect(tunnel, &ByteTunnel::finished, this, &RelayProxy::onTunnelFinished,
            Qt::QueuedConnection);
    m_tunnels.append(tunnel);
    tunnel->start();
}

void RelayProxy::requestDone(ProxyRequest *request) {
    if (m_requests.removeOne(request))
        request->deleteLater();
}

void RelayProxy::onTunnelFinished(ByteTunnel *tunnel) {
    if (m_tunnels.removeOne(tunnel))
        tunnel->deleteLater();
}

void RelayProxy::shutdown() {
    if (m_stopping)
        return;
    m_stopping = true;
    if (m_listener)
        m_listener->close();
    for (ProxyRequest *request : QList<ProxyRequest *>(m_requests))
        request->abort();
    for (ByteTunnel *tunnel : QList<ByteTunnel *>(m_tunnels))
        tunnel->abort();
    m_relay->shutdown();
}

} // namespace ws

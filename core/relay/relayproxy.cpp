#include "relay/relayproxy.h"

#include "net/tlstcpserver.h"
#include "protocol/handshake.h"
#include "protocol/httpheaders.h"
#include "protocol/httpmessagereader.h"
#include "relay/bytetunnel.h"
#include "relay/relayheaders.h"

#include <QNetworkProxy>
#include <QSslConfiguration>
#include <QSslSocket>
#include <QTcpServer>
#include <QTimer>

#include <algorithm>
#include <functional>
#include <utility>

namespace ws {

namespace {

// RFC 8446 §5.1: a TLS connection opens with a handshake record (content type 22).
constexpr char TlsHandshakeRecord = 0x16;

// The most a pass-through moves from one side to the other at a time.
constexpr qint64 MoveChunk = 64 * 1024;

// The head of a response passed through: web servers send larger heads than a
// WebSocket handshake has (cookies, security policies), so more than our server takes.
constexpr qsizetype ResponseHeadBytes = 128 * 1024;
constexpr int ResponseHeaderFields = 500;

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

// One client connection of the proxy, request by request, until it is handed on: to a
// relayed pair (a WebSocket upgrade), to a blind tunnel (a blind host, a protocol
// switch, a response that runs until the connection closes) or closed. Requests that
// are not WebSocket upgrades are passed to host:port over one upstream connection,
// one exchange at a time: the next request is read once the response to the last one
// has gone to the client, so a WebSocket upgrade is seen wherever it comes.
class ProxyConnection : public QObject {
public:
    ProxyConnection(RelayProxy *proxy, QSslSocket *client);
    void start();
    void abort();

private:
    enum class Stage {
        ProxyRequest,  // a request to the proxy itself (absolute form or CONNECT)
        Connecting,    // host:port is being reached, for CONNECT or a forwarded request
        TunnelStart,   // 200 sent: TLS or a plain request comes next
        TunnelTls,     // our TLS server handshake in the tunnel
        TunnelRequest, // a request in the tunnel
        UpstreamTls,   // passing through: our TLS client handshake with host:port
        Forwarding,    // a request's body and its response are under way
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
    void closeUpstream();
    void startTls();
    void passThroughTls();
    void startForwarding();
    void forwardRequestBody();
    void forwardResponse();
    void onUpstreamClosed();
    // Sends the request once more, over a new connection, when host:port closed a
    // kept-alive connection (or reset it) before answering and the request may be
    // sent again; false when it may not.
    bool resendRequest();
    void exchangeDone();
    void relay(const QUrl &target);
    void tunnel();
    void refuse(int status, const QString &text);
    void closeClient();
    void drop(const QString &why);
    void onDeadline();
    void finish();
    void log(const QString &line) { emit m_proxy->logMessage(0, m_peer + u' ' + line); }
    QString endpoint() const { return hostPort(m_host, m_port); }
    qint64 queueLimit() const {
        return std::max<qint64>(m_proxy->m_options.relay.sendQueueLimit, MoveChunk);
    }

    RelayProxy *m_proxy;
    QSslSocket *m_client;
    QSslSocket *m_upstream = nullptr;
    quint64 m_upstreamGeneration = 0;
    QString m_peer;
    QTimer m_deadline;
    Stage m_stage = Stage::ProxyRequest;
    QString m_host;
    quint16 m_port = 0;
    bool m_inTunnel = false;
    bool m_tunnelTls = false;
    // Between exchanges with nothing of the next request read: m_deadline is the
    // keep-alive idle bound rather than the request's.
    bool m_idle = false;
    // The request being read or forwarded; its head is read anew from the client's
    // buffer until it is whole, so that an upgrade request stays there for the pair.
    std::optional<HttpMessageReader> m_request;
    bool m_requestComplete = false;
    // The responses of the upstream connection.
    std::optional<HttpMessageReader> m_responses;
    bool m_awaitingResponse = false;
    // Exchanges completed over the upstream connection. After one, the connection was
    // kept alive and reused: host:port may have closed it just as the request went.
    int m_upstreamExchanges = 0;
    // Bytes to write upstream before the request's body: its head (anew, in origin
    // form, for a request in absolute form).
    QByteArray m_forwardHead;
    // The head as it went, and whether the request went again (once at most).
    QByteArray m_sentHead;
    bool m_resent = false;
};

ProxyConnection::ProxyConnection(RelayProxy *proxy, QSslSocket *client)
    : QObject(proxy)
    , m_proxy(proxy)
    , m_client(client)
    , m_peer(formatAddress(client->peerAddress(), client->peerPort())) {
    client->setParent(this);
    m_deadline.setSingleShot(true);
    connect(&m_deadline, &QTimer::timeout, this, &ProxyConnection::onDeadline);
    connect(client, &QIODevice::readyRead, this, &ProxyConnection::onClientData);
    // The client took what was written: more of the response may go.
    connect(client, &QIODevice::bytesWritten, this, &ProxyConnection::forwardResponse);
    connect(client, &QAbstractSocket::disconnected, this, [this] {
        if (m_stage == Stage::Done)
            return;
        // Between exchanges a kept-alive connection may end at any time.
        if ((m_stage == Stage::ProxyRequest || m_stage == Stage::TunnelRequest) &&
            (m_upstream || m_idle) && !m_client->bytesAvailable()) {
            m_stage = Stage::Done;
            abort();
            return;
        }
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

void ProxyConnection::start() {
    const int timeoutMs = m_proxy->m_options.relay.handshakeTimeoutMs;
    if (timeoutMs > 0)
        m_deadline.start(timeoutMs);
    onClientData();
}

void ProxyConnection::onClientData() {
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
    case Stage::Forwarding:
        forwardRequestBody();
        break;
    case Stage::Connecting:
    case Stage::TunnelTls:
    case Stage::UpstreamTls:
    case Stage::Done:
        break;
    }
}

bool ProxyConnection::readHead() {
    if (m_idle && m_client->bytesAvailable() > 0) {
        // The next request has begun: it has the time the first one had.
        m_idle = false;
        m_deadline.stop();
        const int timeoutMs = m_proxy->m_options.relay.handshakeTimeoutMs;
        if (timeoutMs > 0)
            m_deadline.start(timeoutMs);
    }
    const HandshakeLimits &limits = m_proxy->m_options.limits;
    HttpMessageReader::Limits readerLimits;
    readerLimits.maxHeadBytes = limits.maxHeaderBytes;
    readerLimits.maxHeaderFields = limits.maxHeaderCount;
    m_request.emplace(HttpMessageReader::Kind::Request, readerLimits);
    m_requestComplete = false;
    m_resent = false;
    qsizetype consumed = 0;
    switch (m_request->feed(m_client->peek(m_client->bytesAvailable()), &consumed)) {
    case HttpMessageReader::Result::HeadComplete:
        return true;
    case HttpMessageReader::Result::Error:
        break;
    case HttpMessageReader::Result::NeedMore:
    case HttpMessageReader::Result::MessageComplete:
    case HttpMessageReader::Result::Switched:
    case HttpMessageReader::Result::EndOfStream:
        return false;
    }
    const HeaderBlockReader::Result head = m_request->head().result();
    if (head == HeaderBlockReader::Result::TooLarge ||
        head == HeaderBlockReader::Result::TooManyFields) {
        refuse(431, QStringLiteral("relay proxy: the request's head is larger than %1 bytes or "
                                   "has more than %2 fields")
                        .arg(limits.maxHeaderBytes)
                        .arg(limits.maxHeaderCount));
    } else {
        refuse(
            400,
            QStringLiteral("relay proxy: not an HTTP request: %1").arg(m_request->errorString()));
    }
    return false;
}

void ProxyConnection::onProxyRequest() {
    if (m_request->head().method() == "CONNECT")
        onConnectRequest();
    else
        onAbsoluteRequest();
}

void ProxyConnection::onConnectRequest() {
    if (!parseAuthority(m_request->head().target(), &m_host, &m_port)) {
        refuse(400, QStringLiteral("relay proxy: CONNECT needs host:port, not %1")
                        .arg(QString::fromLatin1(m_request->head().target())));
        return;
    }
    // RFC 9110 §9.3.6: what follows the CONNECT head belongs to the tunnel.
    m_client->read(m_request->head().block().size());
    m_inTunnel = true;
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

void ProxyConnection::onAbsoluteRequest() {
    const HeaderBlockReader &head = m_request->head();
    const QUrl url(QString::fromLatin1(head.target()), QUrl::StrictMode);
    const QString scheme = url.scheme().toLower();
    if (!url.isValid() || url.host().isEmpty() ||
        (scheme != QLatin1String("http") && scheme != QLatin1String("ws"))) {
        refuse(400,
               QStringLiteral("relay proxy: this is an HTTP proxy: it takes CONNECT "
                              "host:port and requests for http:// or ws:// URLs in "
                              "absolute form, not %1 %2")
                   .arg(QString::fromLatin1(head.method()), QString::fromLatin1(head.target())));
        return;
    }
    const QString host = url.host();
    const auto port = quint16(url.port(80));
    const bool sameUpstream = m_upstream && host == m_host && port == m_port &&
                              m_upstream->state() == QAbstractSocket::ConnectedState;
    m_host = host;
    m_port = port;
    if (head.headers().hasToken("Upgrade", "websocket")) {
        relay(pairTarget(QStringLiteral("ws"), m_host, m_port, head.target()));
        return;
    }
    // A plain request goes on in origin form (RFC 9112 §3.2.1), its body as it came.
    QByteArray forward = head.method() + ' ' + originForm(head.target()) + " HTTP/1.1\r\n";
    HttpHeaders fields = forwardedRequestHeaders(head.headers());
    if (!fields.contains("Host"))
        forward += "Host: " + url.authority(QUrl::FullyEncoded).toUtf8() + "\r\n";
    for (const HttpHeaders::Field &field : fields.fields())
        forward += field.first + ": " + field.second + "\r\n";
    // Connection is hop-by-hop: the client's wish to close is passed on, the rest of it
    // (and the connection to host:port) is the proxy's own.
    if (head.headers().hasToken("Connection", "close") ||
        head.headers().hasToken("Proxy-Connection", "close"))
        forward += "Connection: close\r\n";
    forward += "\r\n";
    m_client->read(head.block().size());
    m_forwardHead = forward;
    log(QStringLiteral("%1 %2: forwarded")
            .arg(QString::fromLatin1(head.method()), QString::fromLatin1(head.target())));
    if (sameUpstream)
        startForwarding();
    else
        connectUpstream([this] { startForwarding(); });
}

void ProxyConnection::onTunnelRequest() {
    const HeaderBlockReader &head = m_request->head();
    if (head.headers().hasToken("Upgrade", "websocket")) {
        // The pair opens its own connection, with its own handshake.
        relay(pairTarget(m_tunnelTls ? QStringLiteral("wss") : QStringLiteral("ws"), m_host, m_port,
                         head.target()));
        return;
    }
    // Not a WebSocket: the request goes to host:port as it came.
    const QString scheme = m_tunnelTls ? QStringLiteral("https://") : QStringLiteral("http://");
    log(QStringLiteral("%1 %2: passed through")
            .arg(QString::fromLatin1(head.method()),
                 scheme + endpoint() + QString::fromLatin1(originForm(head.target()))));
    m_forwardHead = m_client->read(head.block().size());
    if (m_upstream->state() != QAbstractSocket::ConnectedState) {
        // host:port closed the connection while the request was on its way.
        closeClient();
        return;
    }
    if (m_tunnelTls && !m_upstream->isEncrypted())
        passThroughTls();
    else
        startForwarding();
}

void ProxyConnection::connectUpstream(std::function<void()> connected) {
    closeUpstream();
    m_stage = Stage::Connecting;
    const int timeoutMs = m_proxy->m_options.relay.handshakeTimeoutMs;
    if (timeoutMs > 0 && !m_deadline.isActive())
        m_deadline.start(timeoutMs);
    m_upstream = new QSslSocket(this);
    // Qt's application proxy stays out of the way: this is the proxy.
    m_upstream->setProxy(QNetworkProxy::NoProxy);
    // While the client is not keeping up, the kernel holds the rest of a response.
    m_upstream->setReadBufferSize(queueLimit());
    HttpMessageReader::Limits limits;
    limits.maxHeadBytes = ResponseHeadBytes;
    limits.maxHeaderFields = ResponseHeaderFields;
    m_responses.emplace(HttpMessageReader::Kind::Response, limits);
    connect(m_upstream, &QAbstractSocket::connected, this,
            [this, connected = std::move(connected)] {
                m_upstream->setSocketOption(QAbstractSocket::LowDelayOption, 1);
                connected();
            });
    connect(m_upstream, &QIODevice::readyRead, this, &ProxyConnection::forwardResponse);
    // host:port took what was written: more of the request's body may go.
    connect(m_upstream, &QIODevice::bytesWritten, this, &ProxyConnection::forwardRequestBody);
    // Queued, out of the write or read that noticed it; a socket replaced meanwhile is
    // no longer heard.
    connect(
        m_upstream, &QAbstractSocket::disconnected, this,
        [this, generation = ++m_upstreamGeneration] {
            if (generation == m_upstreamGeneration)
                onUpstreamClosed();
        },
        Qt::QueuedConnection);
    connect(m_upstream, &QAbstractSocket::errorOccurred, this,
            [this](QAbstractSocket::SocketError error) {
                if (m_stage == Stage::Connecting)
                    refuse(502, QStringLiteral("relay proxy: cannot reach %1: %2")
                                    .arg(endpoint(), m_upstream->errorString()));
                else if (m_stage == Stage::UpstreamTls)
                    refuse(502, QStringLiteral("relay proxy: TLS with %1 failed: %2")
                                    .arg(endpoint(), m_upstream->errorString()));
                else if (m_stage == Stage::Forwarding &&
                         error != QAbstractSocket::RemoteHostClosedError && !resendRequest())
                    drop(QStringLiteral("%1: %2").arg(endpoint(), m_upstream->errorString()));
            });
    m_upstreamExchanges = 0;
    m_upstream->connectToHost(m_host, m_port);
}

void ProxyConnection::closeUpstream() {
    if (!m_upstream)
        return;
    m_upstream->disconnect(this);
    m_upstream->abort();
    m_upstream->deleteLater();
    m_upstream = nullptr;
    ++m_upstreamGeneration;
    m_responses.reset();
}

void ProxyConnection::startTls() {
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

void ProxyConnection::passThroughTls() {
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
    connect(m_upstream, &QSslSocket::encrypted, this, &ProxyConnection::startForwarding);
    m_stage = Stage::UpstreamTls;
    m_upstream->startClientEncryption();
}

void ProxyConnection::startForwarding() {
    m_stage = Stage::Forwarding;
    // The first exchange is under way: from here on the connection may stay idle
    // between requests as long as both ends keep it.
    m_deadline.stop();
    m_client->setReadBufferSize(queueLimit());
    m_sentHead = m_forwardHead;
    m_upstream->write(std::exchange(m_forwardHead, {}));
    m_responses->expectResponseTo(m_request->head().method());
    m_awaitingResponse = true;
    forwardRequestBody();
    forwardResponse();
}

void ProxyConnection::forwardRequestBody() {
    while (m_stage == Stage::Forwarding && !m_requestComplete &&
           m_upstream->bytesToWrite() < queueLimit()) {
        const QByteArray available =
            m_client->peek(std::min(m_client->bytesAvailable(), MoveChunk));
        qsizetype consumed = 0;
        const HttpMessageReader::Result result = m_request->feed(available, &consumed);
        if (consumed > 0)
            m_upstream->write(m_client->read(consumed));
        if (result == HttpMessageReader::Result::MessageComplete) {
            m_requestComplete = true;
            exchangeDone();
            return;
        }
        if (result == HttpMessageReader::Result::Error) {
            drop(QStringLiteral("the request's body cannot be followed: %1")
                     .arg(m_request->errorString()));
            return;
        }
        if (consumed == 0)
            return;
    }
}

void ProxyConnection::forwardResponse() {
    while (m_stage == Stage::Forwarding && m_awaitingResponse &&
           m_client->bytesToWrite() < queueLimit()) {
        const QByteArray available =
            m_upstream->peek(std::min(m_upstream->bytesAvailable(), MoveChunk));
        qsizetype consumed = 0;
        const HttpMessageReader::Result result = m_responses->feed(available, &consumed);
        if (result == HttpMessageReader::Result::Error) {
            const QString why = QStringLiteral("the response from %1 cannot be followed: %2")
                                    .arg(endpoint(), m_responses->errorString());
            // Nothing of it has gone yet: the client learns why.
            if (m_responses->messageBytes() == consumed)
                refuse(502, QStringLiteral("relay proxy: ") + why);
            else
                drop(why);
            return;
        }
        if (consumed > 0)
            m_client->write(m_upstream->read(consumed));
        switch (result) {
        case HttpMessageReader::Result::HeadComplete:
            // Its end is the connection's: the rest goes as it comes.
            if (m_responses->bodyKind() == HttpMessageReader::BodyKind::UntilClose) {
                tunnel();
                return;
            }
            break;
        case HttpMessageReader::Result::MessageComplete:
            if (m_responses->isInterimResponse())
                break;
            m_awaitingResponse = false;
            // 101: the connection speaks another protocol from here on, undecoded.
            if (m_responses->hasSwitched()) {
                tunnel();
                return;
            }
            exchangeDone();
            return;
        case HttpMessageReader::Result::NeedMore:
            if (consumed == 0)
                return;
            break;
        case HttpMessageReader::Result::Error: // handled above
        case HttpMessageReader::Result::Switched:
        case HttpMessageReader::Result::EndOfStream:
            return;
        }
    }
}

// Both the request and its response went across: the next request may be read.
void ProxyConnection::exchangeDone() {
    if (m_stage != Stage::Forwarding || !m_requestComplete || m_awaitingResponse)
        return;
    ++m_upstreamExchanges;
    m_stage = m_inTunnel ? Stage::TunnelRequest : Stage::ProxyRequest;
    if (m_upstream->state() != QAbstractSocket::ConnectedState) {
        onUpstreamClosed();
        if (m_stage == Stage::Done)
            return;
    }
    m_idle = true;
    if (const int idleMs = m_proxy->m_options.keepAliveIdleMs; idleMs > 0)
        m_deadline.start(idleMs);
    onClientData();
}

void ProxyConnection::onUpstreamClosed() {
    if (m_stage == Stage::Forwarding) {
        // What it sent before it closed.
        forwardResponse();
        if (m_stage == Stage::Forwarding && m_awaitingResponse) {
            if (!resendRequest())
                drop(QStringLiteral("%1 closed the connection before its response ended")
                         .arg(endpoint()));
            return;
        }
    }
    if (m_stage == Stage::ProxyRequest && m_upstream) {
        // Between exchanges, a request in absolute form names its host each time: the
        // next one connects anew (RFC 9112 §9.3.1: either end may close an idle
        // connection).
        log(QStringLiteral("%1 closed the kept-alive connection: the next request connects anew")
                .arg(endpoint()));
        closeUpstream();
        return;
    }
    // Between exchanges in a tunnel, the tunnel was to that connection: its end is
    // the client's too.
    if (m_stage == Stage::TunnelRequest)
        closeClient();
}

bool ProxyConnection::resendRequest() {
    // RFC 9110 §9.2.2 and RFC 9112 §9.3.1.1: a request may go again automatically when
    // its method is idempotent and nothing of its response came. Only one without a
    // body, which is still whole at hand, and only after a kept-alive connection
    // failed: a new connection that fails would fail again.
    static const QByteArrayList idempotent = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
    if (m_resent || m_upstreamExchanges == 0 || !m_requestComplete || !m_request ||
        m_request->bodyKind() != HttpMessageReader::BodyKind::None ||
        !idempotent.contains(m_request->head().method()) || !m_responses ||
        !m_responses->isAtMessageStart() || m_upstream->bytesAvailable() > 0)
        return false;
    m_resent = true;
    log(QStringLiteral("%1 closed the kept-alive connection before answering %2 %3: sent again "
                       "over a new connection")
            .arg(endpoint(), QString::fromLatin1(m_request->head().method()),
                 QString::fromLatin1(originForm(m_request->head().target()))));
    m_forwardHead = m_sentHead;
    connectUpstream([this] {
        if (m_tunnelTls)
            passThroughTls();
        else
            startForwarding();
    });
    return true;
}

void ProxyConnection::relay(const QUrl &target) {
    closeUpstream();
    m_stage = Stage::Done;
    m_deadline.stop();
    m_client->disconnect(this);
    m_client->setReadBufferSize(0);
    QSslSocket *client = std::exchange(m_client, nullptr);
    m_proxy->startPair(client, target, m_peer);
    finish();
}

void ProxyConnection::tunnel() {
    m_stage = Stage::Done;
    m_deadline.stop();
    m_client->disconnect(this);
    m_upstream->disconnect(this);
    m_proxy->startTunnel(std::exchange(m_client, nullptr), std::exchange(m_upstream, nullptr));
    finish();
}

void ProxyConnection::refuse(int status, const QString &text) {
    if (m_stage == Stage::Done)
        return;
    log(QStringLiteral("answered %1: %2").arg(status).arg(text));
    closeUpstream();
    m_client->write(ServerHandshake::httpResponse(status, {}, "text/plain; charset=utf-8",
                                                  text.toUtf8() + '\n'));
    closeClient();
}

// Closes the client's connection once what it was sent is written.
void ProxyConnection::closeClient() {
    m_stage = Stage::Done;
    m_deadline.stop();
    closeUpstream();
    m_client->disconnect(this);
    m_client->disconnectFromHost();
    if (m_client->state() == QAbstractSocket::UnconnectedState)
        finish();
    else
        connect(m_client, &QAbstractSocket::disconnected, this, &ProxyConnection::finish);
}

void ProxyConnection::drop(const QString &why) {
    if (m_stage == Stage::Done)
        return;
    m_stage = Stage::Done;
    m_deadline.stop();
    log(QStringLiteral("dropped: %1").arg(why));
    abort();
}

void ProxyConnection::abort() {
    m_stage = Stage::Done;
    closeUpstream();
    if (m_client)
        m_client->abort();
    finish();
}

void ProxyConnection::onDeadline() {
    const int timeoutMs = m_proxy->m_options.relay.handshakeTimeoutMs;
    if (m_idle) {
        log(QStringLiteral("kept-alive connection to %1 idle for %2 ms: closed")
                .arg(endpoint())
                .arg(m_proxy->m_options.keepAliveIdleMs));
        closeClient();
    } else if (m_stage == Stage::Connecting)
        refuse(504, QStringLiteral("relay proxy: %1 did not answer within %2 ms")
                        .arg(endpoint())
                        .arg(timeoutMs));
    else
        // As our server does with a client that never completes its request.
        drop(QStringLiteral("no complete request within %1 ms").arg(timeoutMs));
}

void ProxyConnection::finish() {
    QMetaObject::invokeMethod(
        m_proxy, [proxy = m_proxy, self = this] { proxy->connectionDone(self); },
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
    qDeleteAll(m_connections);
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
        auto *connection = new ProxyConnection(this, ssl);
        m_connections.append(connection);
        connection->start();
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

void RelayProxy::connectionDone(ProxyConnection *connection) {
    if (m_connections.removeOne(connection))
        connection->deleteLater();
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
    for (ProxyConnection *connection : QList<ProxyConnection *>(m_connections))
        connection->abort();
    for (ByteTunnel *tunnel : QList<ByteTunnel *>(m_tunnels))
        tunnel->abort();
    m_relay->shutdown();
}

} // namespace ws

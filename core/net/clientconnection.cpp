#include "net/clientconnection.h"

#include "net/oneshottimer.h"
#include "net/socketio.h"
#include "net/tcpserver.h"
#include "net/tlscertificate.h"
#include "net/unixsocket.h"
#include "protocol/handshake.h"

#include <QCryptographicHash>
#include <QNetworkProxy>
#include <QSslConfiguration>
#include <QSslSocket>
#include <QTcpSocket>
#include <QTimer>
#include <QTimerEvent>

#include <algorithm>
#include <cerrno>

#include <unistd.h>

namespace ws {

namespace {

// How much of a refusing server's body goes into the error message.
constexpr qsizetype BodyExcerpt = 200;

QString bodyExcerpt(const QByteArray &body) {
    QString text = QString::fromUtf8(body.left(BodyExcerpt));
    for (QChar &ch : text) {
        if (ch.category() == QChar::Other_Control)
            ch = u' ';
    }
    text = text.simplified();
    if (body.size() > BodyExcerpt)
        text += u'…';
    return text;
}

// What QTcpSocket would report for a bare descriptor's errno.
QAbstractSocket::SocketError socketErrorOf(int error) {
    switch (error) {
    case 0:
    case ECONNRESET:
    case EPIPE:
        return QAbstractSocket::RemoteHostClosedError;
    case ECONNREFUSED:
        return QAbstractSocket::ConnectionRefusedError;
    case ETIMEDOUT:
        return QAbstractSocket::SocketTimeoutError;
    case EACCES:
    case EPERM:
        return QAbstractSocket::SocketAccessError;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
        return QAbstractSocket::SocketResourceError;
    case EADDRNOTAVAIL:
        return QAbstractSocket::SocketAddressNotAvailableError;
    default:
        return QAbstractSocket::NetworkError;
    }
}

} // namespace

ClientConnection::ClientConnection(ClientOptions options, QObject *parent)
    : Connection(EventReporting::On, parent)
    , m_options(std::move(options)) {
    m_url = parseWebSocketUrl(m_options.url, &m_urlError);
    setCloseTimeout(m_options.closeTimeoutMs);
    // A session exists from the start so that session() and state() always answer.
    // It is the one open() starts (made again if the masking keys change before then).
    makeSession();
}

void ClientConnection::makeSession() {
    const ClientHandshakeOptions handshake = handshakeOptions();
    m_offeredExtensions = handshake.extensions;
    SessionOptions sessionOptions = m_options.session;
    // We answer pings ourselves when they are to be delayed or dropped.
    if (m_options.pongDelayMs > 0 || m_options.dropPings)
        sessionOptions.autoPong = false;
    setSession(std::make_unique<Session>(handshake, sessionOptions, m_keys));
}

void ClientConnection::timerEvent(QTimerEvent *event) {
    if (firedOnce(m_timer, event)) {
        onDeadline();
    } else if (event->timerId() == m_keepalive.timerId()) {
        onKeepalive();
    } else {
        Connection::timerEvent(event);
    }
}

ClientConnection::~ClientConnection() = default;

ClientHandshakeOptions ClientConnection::handshakeOptions() const {
    ClientHandshakeOptions handshake;
    if (m_url) {
        handshake.host = m_url->hostHeader;
        handshake.port = m_url->port;
        handshake.secure = m_url->secure;
        handshake.resourceName = m_url->resourceName;
    }
    handshake.origin = m_options.origin;
    handshake.subprotocols = m_options.subprotocols;
    handshake.extraHeaders = m_options.extraHeaders;
    // RFC 7617: the URL's user information as Basic credentials, unless the caller
    // chose an Authorization field of its own.
    if (m_url && m_url->user && !handshake.extraHeaders.contains("Authorization"))
        handshake.extraHeaders.add("Authorization",
                                   basicAuthorization({*m_url->user, m_url->password}));
    handshake.limits = m_options.session.handshakeLimits;
    if (m_options.deflate.policy != DeflatePolicy::Refuse)
        handshake.extensions.append(deflateOffer(m_options.deflate));
    return handshake;
}

void ClientConnection::setMaskingKeySource(MaskingKeySource keys) {
    m_keys = std::move(keys);
    if (!m_opened)
        makeSession();
}

QString ClientConnection::endpoint() const {
    if (!m_url)
        return m_options.url.toString();
    if (!m_unixSocketPath.isEmpty())
        return QStringLiteral("unix:") + m_unixSocketPath;
    return QStringLiteral("%1:%2").arg(QString::fromLatin1(m_url->hostHeader)).arg(m_url->port);
}

void ClientConnection::open() {
    if (m_opened)
        return;
    m_opened = true;

    QString error = m_urlError;
    QList<QSslCertificate> extraCas;
    if (m_url && m_url->secure && !m_options.caCertificatesFile.isEmpty()) {
        extraCas = QSslCertificate::fromPath(m_options.caCertificatesFile, QSsl::Pem);
        if (extraCas.isEmpty())
            error = QStringLiteral("No PEM certificate could be read from the CA file %1")
                        .arg(m_options.caCertificatesFile);
    }
    if (m_url && m_url->secure && !QSslSocket::supportsSsl())
        error = QStringLiteral("wss needs TLS, and Qt found no TLS library (OpenSSL)");
    if (m_url) {
        m_unixSocketPath =
            !m_url->unixSocketPath.isEmpty() ? m_url->unixSocketPath : m_options.unixSocketPath;
        if (!m_unixSocketPath.isEmpty() && m_options.proxy)
            error = QStringLiteral("A Unix socket is reached directly, not through a proxy");
    }

    if (m_options.echoMessages) {
        // From inside Session::receiveData(), in stream order: the echo of a message
        // goes out before the session's answer to what follows it in the same read
        // (a close frame, or the close that fails the connection on a bad frame).
        // After our close frame the session refuses it (RFC 6455 §5.5.1).
        Session &session = mutableSession();
        session.setMessageHandler([&session](const DecodedMessage &message) {
            const qint64 nowUs = EventClock::nowUs();
            static_cast<void>(message.type == Opcode::Binary
                                  ? session.sendBinary(message.data, nowUs)
                                  : session.sendText(message.data, nowUs));
        });
    }

    if (!error.isEmpty()) {
        // From the event loop, so that a caller connecting after open() still hears it.
        QTimer::singleShot(0, this, [this, error] { fail(error); });
        return;
    }

    // TLS starts with the connection when the socket connects to the server itself;
    // through a proxy or on a Unix socket it starts once the stream is there.
    const bool direct = !m_options.proxy && m_unixSocketPath.isEmpty();
    // Plain TCP to an address under the command-line tool's dispatcher runs on a bare
    // descriptor: no QTcpSocket, notifiers or signals. A name goes to Qt's lookup.
    if (direct && !m_url->secure) {
        if (EpollEventDispatcher *dispatcher = EpollEventDispatcher::ofThisThread()) {
            if (const QHostAddress address(m_url->host); !address.isNull()) {
                openDescriptor(address, dispatcher);
                return;
            }
        }
    }
    QTcpSocket *socket = nullptr;
    if (m_url->secure) {
        auto *ssl = new QSslSocket(this);
        QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
        if (!extraCas.isEmpty())
            configuration.addCaCertificates(extraCas);
        configuration.setPeerVerifyMode(QSslSocket::VerifyPeer);
        if (!m_options.clientCertificate.isNull()) {
            configuration.setLocalCertificate(m_options.clientCertificate);
            configuration.setPrivateKey(m_options.clientKey);
        }
        ssl->setSslConfiguration(configuration);
        ssl->setPeerVerifyName(m_url->host);
        if (direct)
            connect(ssl, &QSslSocket::connected, this, &ClientConnection::onTcpConnected);
        connect(ssl, &QSslSocket::encrypted, this, &ClientConnection::onEncrypted);
        connect(ssl, &QSslSocket::sslErrors, this, &ClientConnection::onSslErrors);
        socket = ssl;
    } else {
        socket = new QTcpSocket(this);
        if (direct)
            connect(socket, &QTcpSocket::connected, this, &ClientConnection::onConnected);
    }
    // Qt's own proxy support (QNetworkProxy::applicationProxy) stays out of the way:
    // proxies are ours to choose and to report on.
    socket->setProxy(QNetworkProxy::NoProxy);
    attachSocket(socket);
    connect(socket, &QTcpSocket::readyRead, this, &ClientConnection::onReadyRead);
    connect(socket, &QTcpSocket::disconnected, this, &ClientConnection::onDisconnected);
    connect(socket, &QTcpSocket::errorOccurred, this, &ClientConnection::onSocketError);
    m_deadline = Deadline::Connect;
    m_timer.start(m_options.connectTimeoutMs, this);
    if (!m_unixSocketPath.isEmpty()) {
        connectUnix(m_unixSocketPath);
        return;
    }
    QString host = m_url->host;
    quint16 port = m_url->port;
    if (m_options.proxy) {
        host = m_options.proxy->host;
        port = m_options.proxy->port;
        m_proxyAnswer.emplace();
        connect(socket, &QTcpSocket::connected, this, &ClientConnection::onProxyConnected);
    }
    if (auto *ssl = qobject_cast<QSslSocket *>(socket); ssl && direct)
        ssl->connectToHostEncrypted(host, port);
    else if (m_url->secure)
        socket->connectToHost(host, port);
    else
        // Unbuffered: each read is one read(2) into our buffer, without asking the
        // kernel first how much there is (socketio.h).
        socket->connectToHost(host, port, QIODevice::ReadWrite | QIODevice::Unbuffered);
}

void ClientConnection::openDescriptor(const QHostAddress &address,
                                      EpollEventDispatcher *dispatcher) {
    m_deadline = Deadline::Connect;
    m_timer.start(m_options.connectTimeoutMs, this);
    if (connectDescriptor(address, m_url->port, dispatcher))
        return;
    // From the event loop, as QTcpSocket reports a connection refused at once.
    QTimer::singleShot(0, this,
                       [this] { onSocketError(socketErrorOf(descriptorSocket()->error())); });
}

QString ClientConnection::socketErrorText() const {
    if (const DescriptorSocket *descriptor = descriptorSocket())
        return qt_error_string(descriptor->error());
    return socket() ? socket()->errorString() : QString();
}

void ClientConnection::connectUnix(const QString &path) {
    QString error;
    const qintptr descriptor = connectUnixSocket(path, &error);
    bool opened = false;
    if (descriptor >= 0) {
        opened = m_url->secure ? socket()->setSocketDescriptor(descriptor)
                               : openUnbuffered(socket(), descriptor);
        if (!opened) {
            error = QStringLiteral("Could not use the Unix socket %1: %2")
                        .arg(path, socket()->errorString());
            ::close(int(descriptor));
        }
    }
    // From the event loop, as a TCP connection would report.
    QTimer::singleShot(0, this, [this, opened, error] {
        if (opened)
            onTransportReady();
        else
            fail(error);
    });
}

void ClientConnection::onTransportReady() {
    if (isFinished())
        return;
    m_proxyAnswer.reset();
    if (auto *ssl = qobject_cast<QSslSocket *>(socket())) {
        onTcpConnected();
        ssl->startClientEncryption();
        return;
    }
    onConnected();
}

void ClientConnection::onProxyConnected() {
    if (isFinished())
        return;
    socket()->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    // The connect timeout runs on until the tunnel is open.
    socket()->write(connectRequest(m_url->host, m_url->port, m_options.proxy->credentials));
}

void ClientConnection::setReadingPaused(bool paused) {
    if (m_readingPaused == paused)
        return;
    m_readingPaused = paused;
    if (QTcpSocket *s = socket())
        s->setReadBufferSize(paused ? PausedReadBufferSize : 0);
    if (!paused)
        receiveLater();
}

void ClientConnection::receiveLater() {
    QMetaObject::invokeMethod(this, &ClientConnection::onReadyRead, Qt::QueuedConnection);
}

void ClientConnection::onReadyRead() {
    if (m_readingPaused && !m_proxyAnswer)
        return;
    if (m_proxyAnswer)
        readProxyAnswer();
    else
        receive();
}

void ClientConnection::readProxyAnswer() {
    while (!isFinished() && m_proxyAnswer) {
        const SocketRead chunk = readFromSocket(socket());
        if (chunk.ended) {
            fail(QStringLiteral("The proxy %1 closed the connection without answering CONNECT")
                     .arg(m_options.proxy->endpoint()));
            return;
        }
        if (chunk.data.isEmpty())
            return;
        qsizetype consumed = 0;
        switch (m_proxyAnswer->feed(chunk.data, &consumed)) {
        case ConnectResponseReader::Result::NeedMore:
            break;
        case ConnectResponseReader::Result::Established:
            // Nobody speaks in the tunnel before our ClientHello or our request.
            if (consumed != chunk.data.size()) {
                fail(QStringLiteral("The proxy %1 sent %2 bytes after its answer to CONNECT, "
                                    "before the server could have spoken")
                         .arg(m_options.proxy->endpoint())
                         .arg(chunk.data.size() - consumed));
                return;
            }
            onTransportReady();
            return;
        case ConnectResponseReader::Result::Refused:
            fail(proxyRefusalText());
            return;
        case ConnectResponseReader::Result::Malformed:
            fail(QStringLiteral("The proxy %1 answered CONNECT with %2")
                     .arg(m_options.proxy->endpoint(), m_proxyAnswer->errorString()));
            return;
        }
        if (!chunk.mayHaveMore)
            return;
    }
}

QString ClientConnection::proxyRefusalText() const {
    const ConnectResponseReader &answer = *m_proxyAnswer;
    const QString status = QStringLiteral("%1 %2")
                               .arg(answer.statusCode())
                               .arg(QString::fromUtf8(answer.reasonPhrase()));
    const QString proxy = m_options.proxy->endpoint();
    if (answer.statusCode() == 407) {
        const QList<QByteArray> challenges = answer.authenticationChallenges();
        const QString asked =
            challenges.isEmpty()
                ? QString()
                : QStringLiteral(", it asks for %1").arg(QString::fromUtf8(challenges.join(", ")));
        if (m_options.proxy->credentials)
            return QStringLiteral("The proxy %1 refused the user name and password given (%2%3)")
                .arg(proxy, status, asked);
        return QStringLiteral("The proxy %1 requires authentication (%2%3): give the user name "
                              "and password in the proxy URL, http://USER:PASSWORD@%1")
            .arg(proxy, status, asked);
    }
    return QStringLiteral("The proxy %1 refused the tunnel to %2: %3")
        .arg(proxy, endpoint(), status);
}

QString ClientConnection::transportEndpoint() const {
    if (m_options.proxy)
        return QStringLiteral("the proxy %1").arg(m_options.proxy->endpoint());
    return endpoint();
}

void ClientConnection::onTcpConnected() {
    if (isFinished())
        return;
    // The TLS handshake counts against the handshake timeout: a server that does
    // not speak TLS may never answer the ClientHello.
    m_tcpConnected = true;
    socket()->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_deadline = Deadline::Handshake;
    m_timer.start(m_options.handshakeTimeoutMs, this);
}

void ClientConnection::onSslErrors(const QList<QSslError> &errors) {
    auto *ssl = qobject_cast<QSslSocket *>(socket());
    if (!ssl || isFinished())
        return;
    const QSslCertificate presented = ssl->peerCertificate();
    if (acceptedByFingerprint(presented, errors, m_options.acceptedFingerprint)) {
        m_fingerprintUsed = true;
        ssl->ignoreSslErrors(errors);
        return;
    }
    if (!m_options.acceptedFingerprint.isEmpty() && !presented.isNull() &&
        presented.digest(QCryptographicHash::Sha256) != m_options.acceptedFingerprint)
        m_sslMismatch = sha256Fingerprint(presented);
    m_sslErrors = errors;
}

void ClientConnection::onEncrypted() {
    auto *ssl = qobject_cast<QSslSocket *>(socket());
    if (!ssl || isFinished())
        return;
    TlsInfo::VerifiedBy verifiedBy = TlsInfo::VerifiedBy::System;
    if (m_fingerprintUsed) {
        verifiedBy = TlsInfo::VerifiedBy::Fingerprint;
    } else if (!m_options.caCertificatesFile.isEmpty()) {
        // Which store vouched: the CA file when a certificate of the chain, or the
        // issuer of its last one, is in it.
        const QList<QSslCertificate> cas =
            QSslCertificate::fromPath(m_options.caCertificatesFile, QSsl::Pem);
        const QList<QSslCertificate> chain = ssl->peerCertificateChain();
        for (const QSslCertificate &ca : cas) {
            if (chain.contains(ca) || (!chain.isEmpty() &&
                                       chain.last().issuerInfo(QSslCertificate::CommonName) ==
                                           ca.subjectInfo(QSslCertificate::CommonName) &&
                                       chain.last().issuerDisplayName() == ca.subjectDisplayName()))
                verifiedBy = TlsInfo::VerifiedBy::CaFile;
        }
    }
    m_tls = tlsInfo(*ssl, verifiedBy);
    emit tlsEstablished(*m_tls);
    if (isFinished())
        return;
    onConnected();
}

QString ClientConnection::tlsFailureText() const {
    const auto *ssl = qobject_cast<const QSslSocket *>(socket());
    const QSslCertificate presented = ssl ? ssl->peerCertificate() : QSslCertificate();
    const QString fingerprint = presented.isNull() ? QString() : sha256Fingerprint(presented);
    if (!m_sslMismatch.isEmpty())
        return QStringLiteral("The certificate of %1 has SHA-256 fingerprint %2, not the one "
                              "given to accept")
            .arg(endpoint(), m_sslMismatch);
    for (const QSslError &error : m_sslErrors) {
        switch (error.error()) {
        case QSslError::CertificateExpired:
            return QStringLiteral("The certificate of %1 expired on %2")
                .arg(endpoint(), error.certificate().expiryDate().toString(Qt::ISODate));
        case QSslError::CertificateNotYetValid:
            return QStringLiteral("The certificate of %1 is not valid before %2")
                .arg(endpoint(), error.certificate().effectiveDate().toString(Qt::ISODate));
        default:
            break;
        }
    }
    for (const QSslError &error : m_sslErrors) {
        switch (error.error()) {
        case QSslError::HostNameMismatch: {
            QStringList names = presented.subjectAlternativeNames().values();
            if (names.isEmpty())
                names = presented.subjectInfo(QSslCertificate::CommonName);
            return QStringLiteral("Host name mismatch: the certificate of %1 is for %2, not %3")
                .arg(endpoint(), names.join(QStringLiteral(", ")), m_url ? m_url->host : QString());
        }
        case QSslError::SelfSignedCertificate:
        case QSslError::SelfSignedCertificateInChain:
        case QSslError::UnableToGetLocalIssuerCertificate:
        case QSslError::UnableToVerifyFirstCertificate:
        case QSslError::CertificateUntrusted:
        case QSslError::UnableToGetIssuerCertificate: {
            const bool selfSigned = error.error() == QSslError::SelfSignedCertificate;
            return QStringLiteral("The certificate of %1 is %2 (SHA-256 fingerprint %3). To "
                                  "trust exactly this certificate, accept its fingerprint "
                                  "(wsw connect --accept-fingerprint %3), or give its CA "
                                  "(--ca FILE)")
                .arg(endpoint(),
                     selfSigned ? QStringLiteral("self-signed")
                                : QStringLiteral("not issued by a trusted authority"),
                     fingerprint);
        }
        default:
            break;
        }
    }
    if (!m_sslErrors.isEmpty())
        return QStringLiteral("The certificate of %1 was not accepted: %2")
            .arg(endpoint(), m_sslErrors.first().errorString());
    const QString reason = socket() ? socket()->errorString() : QString();
    // OpenSSL's words for a ServerHello that is not TLS at all.
    if (reason.contains(QLatin1String("wrong version number")) ||
        reason.contains(QLatin1String("packet length too long")) ||
        reason.contains(QLatin1String("record layer failure")) ||
        reason.contains(QLatin1String("http request")))
        return QStringLiteral("The server did not answer TLS: %1 looks like a plain ws:// or "
                              "HTTP server (%2)")
            .arg(endpoint(), reason);
    return QStringLiteral("The TLS handshake with %1 failed: %2").arg(endpoint(), reason);
}

void ClientConnection::onConnected() {
    if (isFinished())
        return;
    m_connected = true;
    if (QTcpSocket *s = socket())
        s->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    touch(nowMs());
    m_deadline = Deadline::Handshake;
    m_timer.start(m_options.handshakeTimeoutMs, this);
    mutableSession().start(nowUs());
    pump();
    flush();
}

void ClientConnection::onDisconnected() {
    if (isFinished())
        return;
    if (m_proxyAnswer) {
        fail(QStringLiteral("The proxy %1 closed the connection without answering CONNECT")
                 .arg(m_options.proxy->endpoint()));
        return;
    }
    if (m_tcpConnected && !m_connected) {
        fail(m_sslErrors.isEmpty() && m_sslMismatch.isEmpty()
                 ? QStringLiteral("The server did not answer TLS: %1 closed the connection "
                                  "during the TLS handshake (a plain ws:// server?)")
                       .arg(endpoint())
                 : tlsFailureText());
        return;
    }
    stopTimers();
    const bool handshaking = state() == SessionState::Connecting;
    m_eofSeen = true;
    receiveEof();
    if (isFinished())
        return;
    if (handshaking && !m_errorReported) {
        m_errorReported = true;
        emit errorOccurred(QStringLiteral("%1 closed the connection during the opening handshake")
                               .arg(endpoint()));
    }
    finish();
}

void ClientConnection::onSocketError(QAbstractSocket::SocketError error) {
    if (isFinished())
        return;
    if (m_proxyAnswer && error == QAbstractSocket::RemoteHostClosedError) {
        onDisconnected();
        return;
    }
    if (!m_connected && m_tcpConnected) {
        // TCP is up, TLS is not: the handshake failed or the server hung up on it.
        if (error == QAbstractSocket::RemoteHostClosedError && m_sslErrors.isEmpty())
            fail(QStringLiteral("The server did not answer TLS: %1 closed the connection "
                                "during the TLS handshake (a plain ws:// server?)")
                     .arg(endpoint()));
        else
            fail(tlsFailureText());
        return;
    }
    if (!m_connected) {
        QString message;
        switch (error) {
        case QAbstractSocket::ConnectionRefusedError:
            message = QStringLiteral("Connection refused by %1: nothing is listening on that port")
                          .arg(transportEndpoint());
            break;
        case QAbstractSocket::HostNotFoundError:
            message = m_options.proxy
                          ? QStringLiteral("Host not found: the proxy %1 could not be resolved")
                                .arg(m_options.proxy->host)
                          : QStringLiteral("Host not found: %1 could not be resolved")
                                .arg(m_url ? m_url->host : endpoint());
            break;
        case QAbstractSocket::SocketTimeoutError:
            message = QStringLiteral("Connecting to %1 timed out").arg(transportEndpoint());
            break;
        default:
            message = QStringLiteral("Could not connect to %1: %2")
                          .arg(transportEndpoint(), socketErrorText());
            break;
        }
        fail(message);
        return;
    }
    // The peer closing is not an error: disconnected() follows and the session
    // tells whether the close was clean.
    if (error == QAbstractSocket::RemoteHostClosedError)
        return;
    if (!m_errorReported) {
        m_errorReported = true;
        emit errorOccurred(
            QStringLiteral("Connection to %1 lost: %2").arg(endpoint(), socketErrorText()));
    }
    // disconnected() normally follows; make sure the end is reported if it does not (a
    // bare descriptor has no disconnected()).
    QTimer::singleShot(0, this, [this] {
        if (isFinished())
            return;
        if (socket() ? socket()->state() == QAbstractSocket::UnconnectedState
                     : !isTransportConnected())
            onDisconnected();
    });
}

void ClientConnection::onDeadline() {
    if (isFinished())
        return;
    const Deadline deadline = std::exchange(m_deadline, Deadline::None);
    switch (deadline) {
    case Deadline::None:
        return;
    case Deadline::Connect:
        if (m_proxyAnswer && socket()->state() == QAbstractSocket::ConnectedState) {
            fail(QStringLiteral("The proxy %1 did not open a tunnel to %2 within %3 ms")
                     .arg(m_options.proxy->endpoint(), endpoint())
                     .arg(m_options.connectTimeoutMs));
            return;
        }
        fail(QStringLiteral("Could not connect to %1 within %2 ms")
                 .arg(transportEndpoint())
                 .arg(m_options.connectTimeoutMs));
        return;
    case Deadline::Handshake:
        if (!m_connected) {
            fail(QStringLiteral("The server did not answer TLS: no TLS handshake from %1 "
                                "within %2 ms")
                     .arg(endpoint())
                     .arg(m_options.handshakeTimeoutMs));
            return;
        }
        fail(QStringLiteral("No answer to the opening handshake from %1 within %2 ms")
                 .arg(endpoint())
                 .arg(m_options.handshakeTimeoutMs));
        return;
    case Deadline::Close:
        // The timer ran for the whole close timeout: the deadline has passed, even
        // if a coarse timer fired a little early.
        checkCloseDeadline(closeDeadlineMs());
        return;
    }
}

void ClientConnection::transportEnded() {
    if (m_proxyAnswer) {
        fail(QStringLiteral("The proxy %1 closed the connection without answering CONNECT")
                 .arg(m_options.proxy->endpoint()));
        return;
    }
    const QAbstractSocket::SocketError error =
        descriptorSocket() ? socketErrorOf(descriptorSocket()->error()) : socket()->error();
    // A connection that never came up is refused or unreachable, whatever errno says.
    if (error != QAbstractSocket::RemoteHostClosedError || (descriptorSocket() && !m_connected))
        onSocketError(error);
    else
        QMetaObject::invokeMethod(this, &ClientConnection::onDisconnected, Qt::QueuedConnection);
}

void ClientConnection::closeDeadlineArmed() {
    m_deadline = Deadline::Close;
    m_timer.start(m_options.closeTimeoutMs, this);
}

void ClientConnection::closeDeadlinePassed(bool answered, const QString &) {
    if (answered && !isTransportClosing())
        reportNote(ConformanceNote::Kind::ServerClosedTcpLate,
                   QStringLiteral("the server did not close the TCP connection within %1 ms of the "
                                  "close handshake (RFC 6455 §7.1.1)")
                       .arg(m_options.closeTimeoutMs));
}

void ClientConnection::onKeepalive() {
    if (isFinished() || state() != SessionState::Open)
        return;
    const qint64 now = nowMs();
    const qint64 silentMs = now - lastReceiveMs();
    const int interval = m_options.keepaliveIntervalMs;
    if (silentMs >= 2 * qint64(interval)) {
        // Not even a pong to our pings: the server or the path to it is gone, and TCP
        // may take many minutes to notice.
        fail(QStringLiteral("Nothing heard from %1 for %2 ms, pings unanswered: the server is "
                            "taken for dead")
                 .arg(endpoint())
                 .arg(silentMs));
        return;
    }
    if (silentMs < interval || (m_lastKeepaliveMs >= 0 && now - m_lastKeepaliveMs < interval))
        return;
    m_lastKeepaliveMs = now;
    // Refused only once a close was sent, and then no keepalive is due.
    static_cast<void>(sendPing("keepalive " + QByteArray::number(++m_keepaliveCount)));
}

bool ClientConnection::admitEvent(const SessionEvent &event) {
    // The extension is in place before anyone hears the connection is open, so
    // that what a slot sends at once is already compressed.
    const auto *handshake = std::get_if<HandshakeEvent>(&event);
    return !handshake || handshake->kind != HandshakeEvent::Kind::ClientAccepted ||
           acceptExtensions(*handshake);
}

void ClientConnection::handleEvent(SessionEvent &event) {
    if (const auto *handshake = std::get_if<HandshakeEvent>(&event)) {
        if (handshake->kind == HandshakeEvent::Kind::ClientAccepted) {
            // Only the handshake's deadline: a slot may already have sent our close
            // (input that ended before the connection opened), and its deadline runs.
            if (m_deadline == Deadline::Handshake) {
                m_timer.stop();
                m_deadline = Deadline::None;
            }
            // Checked twice per interval: a ping goes out at most half an interval
            // late, a dead server is found at most half an interval after the limit.
            if (m_options.keepaliveIntervalMs > 0)
                m_keepalive.start(std::max(m_options.keepaliveIntervalMs / 2, 1), this);
        } else if (handshake->kind == HandshakeEvent::Kind::Failed && !m_errorReported) {
            m_errorReported = true;
            m_timer.stop();
            m_deadline = Deadline::None;
            emit errorOccurred(handshakeFailureText());
        }
    } else if (const auto *ping = std::get_if<PingEvent>(&event)) {
        const bool manualPong = m_options.pongDelayMs > 0 || m_options.dropPings;
        if (manualPong && !m_options.dropPings) {
            QTimer::singleShot(m_options.pongDelayMs, this, [this, payload = ping->payload] {
                if (!isFinished() && state() == SessionState::Open)
                    static_cast<void>(
                        sendPong(payload)); // refused only after a close: then none is due
            });
        }
    } else if (std::holds_alternative<ClosedEvent>(event)) {
        m_keepalive.stop();
        // RFC 6455 §7.1.1: the server closes TCP first; we wait for it, bounded.
        if (isTransportConnected())
            armCloseDeadline();
    }
}

bool ClientConnection::acceptExtensions(const HandshakeEvent &accepted) {
    const DeflateNegotiation negotiation =
        negotiateDeflateClient(m_offeredExtensions, accepted.extensions, m_options.deflate);
    for (const QString &note : negotiation.notes)
        emit logMessage(QStringLiteral("permessage-deflate: %1").arg(note));
    if (!negotiation.ok()) {
        // RFC 7692 §7.1 / RFC 6455 §9.1: an answer we cannot accept fails the connection.
        fail(QStringLiteral("The server's permessage-deflate answer is not acceptable: %1")
                 .arg(negotiation.error));
        return false;
    }
    PerMessageDeflate *deflate = nullptr;
    if (negotiation.params)
        deflate = setDeflate(std::make_unique<PerMessageDeflate>(Role::Client, *negotiation.params,
                                                                 m_options.deflate));
    // Even without an extension: frames received after the 101 wait for this call.
    mutableSession().setExtension(deflate);
    return true;
}

QString ClientConnection::handshakeFailureText() const {
    const ClientHandshake *handshake = session().clientHandshake();
    const int status = handshake ? handshake->statusCode() : 0;
    if (status != 0 && status != 101) {
        const QString reason = QString::fromUtf8(handshake->reasonPhrase());
        QString text = QStringLiteral("%1 answered %2 %3 instead of 101 Switching Protocols")
                           .arg(endpoint())
                           .arg(status)
                           .arg(reason);
        // A body that only repeats the reason phrase adds nothing.
        const QString body = bodyExcerpt(handshake->responseBody());
        if (!body.isEmpty() && body != reason.simplified())
            text += QStringLiteral(": ") + body;
        return text;
    }
    if (m_eofSeen && status == 0)
        return QStringLiteral("%1 closed the connection during the opening handshake")
            .arg(endpoint());
    const QString why = handshake ? handshake->errorString() : QString();
    return QStringLiteral("The opening handshake with %1 failed: %2").arg(endpoint(), why);
}

void ClientConnection::stopTimers() {
    m_timer.stop();
    m_deadline = Deadline::None;
    m_keepalive.stop();
}

void ClientConnection::fail(const QString &message) {
    if (isFinished())
        return;
    stopTimers();
    if (!m_errorReported) {
        m_errorReported = true;
        emit errorOccurred(message);
    }
    drop(message);
}

void ClientConnection::aboutToFinish() {
    stopTimers();
}

void ClientConnection::abort() {
    if (!m_opened || isFinished())
        return;
    m_timer.stop();
    m_deadline = Deadline::None;
    drop(QStringLiteral("connection aborted by the user"));
}

} // namespace ws

#include "net/clientconnection.h"

#include "net/socketio.h"
#include "net/tlscertificate.h"
#include "protocol/handshake.h"

#include <QCryptographicHash>
#include <QSslConfiguration>
#include <QSslSocket>
#include <QTcpSocket>

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

} // namespace

ClientConnection::ClientConnection(ClientOptions options, QObject *parent)
    : Connection(EventReporting::On, parent)
    , m_options(std::move(options)) {
    m_url = parseWebSocketUrl(m_options.url);
    setCloseTimeout(m_options.closeTimeoutMs);
    // A session exists from the start so that session() and state() always answer;
    // open() builds the one that is used, with the masking keys chosen by then.
    setSession(std::make_unique<Session>(handshakeOptions(), m_options.session, m_keys));
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, &ClientConnection::onDeadline);
    connect(&m_keepalive, &QTimer::timeout, this, &ClientConnection::onKeepalive);
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
    handshake.limits = m_options.session.handshakeLimits;
    if (m_options.deflate.policy != DeflatePolicy::Refuse)
        handshake.extensions.append(deflateOffer(m_options.deflate));
    return handshake;
}

void ClientConnection::setMaskingKeySource(MaskingKeySource keys) {
    m_keys = std::move(keys);
}

QString ClientConnection::endpoint() const {
    if (!m_url)
        return m_options.url.toString();
    return QStringLiteral("%1:%2").arg(QString::fromLatin1(m_url->hostHeader)).arg(m_url->port);
}

void ClientConnection::open() {
    if (m_opened)
        return;
    m_opened = true;

    QString error;
    m_url = parseWebSocketUrl(m_options.url, &error);
    QList<QSslCertificate> extraCas;
    if (m_url && m_url->secure && !m_options.caCertificatesFile.isEmpty()) {
        extraCas = QSslCertificate::fromPath(m_options.caCertificatesFile, QSsl::Pem);
        if (extraCas.isEmpty())
            error = QStringLiteral("No PEM certificate could be read from the CA file %1")
                        .arg(m_options.caCertificatesFile);
    }
    if (m_url && m_url->secure && !QSslSocket::supportsSsl())
        error = QStringLiteral("wss needs TLS, and Qt found no TLS library (OpenSSL)");

    const ClientHandshakeOptions handshake = handshakeOptions();
    m_offeredExtensions = handshake.extensions;
    SessionOptions sessionOptions = m_options.session;
    // We answer pings ourselves when they are to be delayed or dropped.
    if (m_options.pongDelayMs > 0 || m_options.dropPings)
        sessionOptions.autoPong = false;
    setSession(std::make_unique<Session>(handshake, sessionOptions, m_keys));

    if (!error.isEmpty()) {
        // From the event loop, so that a caller connecting after open() still hears it.
        QTimer::singleShot(0, this, [this, error] { fail(error); });
        return;
    }

    QTcpSocket *socket = nullptr;
    if (m_url->secure) {
        auto *ssl = new QSslSocket(this);
        QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
        if (!extraCas.isEmpty())
            configuration.addCaCertificates(extraCas);
        configuration.setPeerVerifyMode(QSslSocket::VerifyPeer);
        ssl->setSslConfiguration(configuration);
        connect(ssl, &QSslSocket::connected, this, &ClientConnection::onTcpConnected);
        connect(ssl, &QSslSocket::encrypted, this, &ClientConnection::onEncrypted);
        connect(ssl, &QSslSocket::sslErrors, this, &ClientConnection::onSslErrors);
        socket = ssl;
    } else {
        socket = new QTcpSocket(this);
        connect(socket, &QTcpSocket::connected, this, &ClientConnection::onConnected);
    }
    attachSocket(socket);
    connect(socket, &QTcpSocket::readyRead, this, &ClientConnection::receive);
    connect(socket, &QTcpSocket::disconnected, this, &ClientConnection::onDisconnected);
    connect(socket, &QTcpSocket::errorOccurred, this, &ClientConnection::onSocketError);
    m_deadline = Deadline::Connect;
    m_timer.start(m_options.connectTimeoutMs);
    if (auto *ssl = qobject_cast<QSslSocket *>(socket))
        ssl->connectToHostEncrypted(m_url->host, m_url->port);
    else
        // Unbuffered: each read is one read(2) into our buffer, without asking the
        // kernel first how much there is (socketio.h).
        socket->connectToHost(m_url->host, m_url->port,
                              QIODevice::ReadWrite | QIODevice::Unbuffered);
}

void ClientConnection::onTcpConnected() {
    if (isFinished())
        return;
    // The TLS handshake counts against the handshake timeout: a server that does
    // not speak TLS may never answer the ClientHello.
    m_tcpConnected = true;
    socket()->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_deadline = Deadline::Handshake;
    m_timer.start(m_options.handshakeTimeoutMs);
}

void ClientConnection::onSslErrors(const QList<QSslError> &errors) {
    auto *ssl = qobject_cast<QSslSocket *>(socket());
    if (!ssl || isFinished())
        return;
    const QSslCertificate presented = ssl->peerCertificate();
    if (!m_options.acceptedFingerprint.isEmpty() && !presented.isNull()) {
        if (presented.digest(QCryptographicHash::Sha256) == m_options.acceptedFingerprint) {
            // The user vouched for exactly this certificate: only its own errors go.
            QList<QSslError> ignored;
            for (const QSslError &error : errors) {
                if (error.certificate().isNull() || error.certificate() == presented)
                    ignored.append(error);
            }
            if (ignored.size() == errors.size()) {
                m_fingerprintUsed = true;
                ssl->ignoreSslErrors(ignored);
                return;
            }
        } else {
            m_sslMismatch = sha256Fingerprint(presented);
        }
    }
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
    socket()->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    touch(nowMs());
    m_deadline = Deadline::Handshake;
    m_timer.start(m_options.handshakeTimeoutMs);
    mutableSession().start(nowUs());
    pump();
    flush();
}

void ClientConnection::onDisconnected() {
    if (isFinished())
        return;
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
                          .arg(endpoint());
            break;
        case QAbstractSocket::HostNotFoundError:
            message = QStringLiteral("Host not found: %1 could not be resolved")
                          .arg(m_url ? m_url->host : endpoint());
            break;
        case QAbstractSocket::SocketTimeoutError:
            message = QStringLiteral("Connecting to %1 timed out").arg(endpoint());
            break;
        default:
            message = QStringLiteral("Could not connect to %1: %2")
                          .arg(endpoint(), socket()->errorString());
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
            QStringLiteral("Connection to %1 lost: %2").arg(endpoint(), socket()->errorString()));
    }
    // disconnected() normally follows; make sure the end is reported if it does not.
    QTimer::singleShot(0, this, [this] {
        if (!isFinished() && socket() && socket()->state() == QAbstractSocket::UnconnectedState)
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
        fail(QStringLiteral("Could not connect to %1 within %2 ms")
                 .arg(endpoint())
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
    if (socket()->error() != QAbstractSocket::RemoteHostClosedError)
        onSocketError(socket()->error());
    else
        QMetaObject::invokeMethod(this, &ClientConnection::onDisconnected, Qt::QueuedConnection);
}

void ClientConnection::closeDeadlineArmed() {
    m_deadline = Deadline::Close;
    m_timer.start(m_options.closeTimeoutMs);
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
    if (nowMs() - lastReceiveMs() < m_options.keepaliveIntervalMs)
        return;
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
            m_timer.stop();
            m_deadline = Deadline::None;
            if (m_options.keepaliveIntervalMs > 0)
                m_keepalive.start(m_options.keepaliveIntervalMs);
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
        if (socket() && socket()->state() == QAbstractSocket::ConnectedState)
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

#include "probe/probesocket.h"

#include "net/tlscertificate.h"
#include "probe/caserun.h"

#include <QNetworkProxy>
#include <QSslConfiguration>
#include <QSslSocket>
#include <QTimer>

namespace ws::probe {

namespace {

// Why the TLS handshake failed: each certificate error, and the certificate's
// fingerprint for --accept-fingerprint.
QString certificateRefusal(const QSslSocket &socket, const QList<QSslError> &errors) {
    QStringList reasons;
    for (const QSslError &error : errors)
        reasons.append(error.errorString());
    const QSslCertificate presented = socket.peerCertificate();
    return QStringLiteral("the server's certificate was not accepted (%1)%2")
        .arg(reasons.join(QStringLiteral("; ")),
             presented.isNull()
                 ? QString()
                 : QStringLiteral("; its SHA-256 fingerprint is %1 (--accept-fingerprint)")
                       .arg(sha256Fingerprint(presented)));
}

} // namespace

bool isTlsSocket(const QTcpSocket *socket) {
    return qobject_cast<const QSslSocket *>(socket) != nullptr;
}

QTcpSocket *openProbeSocket(const RunOptions &options, QObject *owner, bool unbuffered,
                            std::function<void()> ready, std::function<void(QString)> failed) {
    const WebSocketUrl &target = options.target;
    // Errors after the stream is up belong to the caller's own handling.
    auto up = std::make_shared<bool>(false);
    auto refusal = std::make_shared<QString>();
    auto onReady = [up, ready] {
        *up = true;
        ready();
    };
    QTcpSocket *socket = nullptr;
    if (!target.secure) {
        socket = new QTcpSocket(owner);
        QObject::connect(socket, &QTcpSocket::connected, owner, onReady);
    } else {
        auto *ssl = new QSslSocket(owner);
        QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
        configuration.setPeerVerifyMode(QSslSocket::VerifyPeer);
        if (!options.caCertificatesFile.isEmpty())
            configuration.addCaCertificates(
                QSslCertificate::fromPath(options.caCertificatesFile, QSsl::Pem));
        ssl->setSslConfiguration(configuration);
        ssl->setPeerVerifyName(target.host);
        const QByteArray fingerprint = options.acceptedFingerprint;
        QObject::connect(ssl, &QSslSocket::sslErrors, owner,
                         [ssl, fingerprint, refusal](const QList<QSslError> &errors) {
                             const QSslCertificate presented = ssl->peerCertificate();
                             if (!fingerprint.isEmpty() && !presented.isNull() &&
                                 presented.digest(QCryptographicHash::Sha256) == fingerprint) {
                                 // Exactly the certificate vouched for: its own errors go.
                                 QList<QSslError> ignored;
                                 for (const QSslError &error : errors) {
                                     if (error.certificate().isNull() ||
                                         error.certificate() == presented)
                                         ignored.append(error);
                                 }
                                 if (ignored.size() == errors.size()) {
                                     ssl->ignoreSslErrors(ignored);
                                     return;
                                 }
                             }
                             *refusal = certificateRefusal(*ssl, errors);
                         });
        QObject::connect(ssl, &QSslSocket::encrypted, owner, onReady);
        socket = ssl;
    }
    socket->setProxy(QNetworkProxy::NoProxy);
    QObject::connect(socket, &QTcpSocket::errorOccurred, owner, [socket, up, refusal, failed] {
        if (!*up)
            failed(refusal->isEmpty() ? socket->errorString() : *refusal);
    });
    const int timeoutMs = options.connectTimeoutMs;
    QTimer::singleShot(timeoutMs, socket, [up, failed, timeoutMs] {
        if (!*up)
            failed(QStringLiteral("no connection within %1 ms").arg(timeoutMs));
    });
    if (auto *ssl = qobject_cast<QSslSocket *>(socket))
        ssl->connectToHostEncrypted(target.host, target.port);
    else
        socket->connectToHost(target.host, target.port,
                              unbuffered ? QIODevice::ReadWrite | QIODevice::Unbuffered
                                         : QIODevice::ReadWrite);
    return socket;
}

} // namespace ws::probe

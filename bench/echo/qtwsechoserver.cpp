// The QtWebSockets counterpart of `wsw serve --mode echo`, for scripts/bench.sh:
// each text message back as text, each binary message back as binary, on
// 127.0.0.1 only. Usage: qtws-echo-server [PORT] [--cert FILE --key FILE] (port 0 or
// nothing: any free port; with a PEM certificate and key: wss, SecureMode).
// SIGTERM ends it (the default action: nothing needs saving).
#include <QCoreApplication>
#include <QFile>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslKey>
#include <QWebSocket>
#include <QWebSocketServer>

#include <cstdio>

#if defined(Q_OS_LINUX) && defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {

// The same limits as our server's defaults (SessionOptions::maxMessageSize), so
// that 16 MiB messages are accepted by both.
constexpr qint64 MaxMessageBytes = 64ll * 1024 * 1024;

QByteArray readFile(const QString &path) {
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

} // namespace

int main(int argc, char *argv[]) {
#if defined(Q_OS_LINUX) && defined(__GLIBC__)
    // The allocator settings `wsw` runs with (app/wsw/allocatortuning.cpp), so that
    // both servers are compared under the same conditions.
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
#endif
    QCoreApplication app(argc, argv);
    const QStringList args = QCoreApplication::arguments().mid(1);
    bool ok = true;
    uint port = 0;
    QString certFile;
    QString keyFile;
    bool havePort = false;
    for (qsizetype i = 0; ok && i < args.size(); ++i) {
        if ((args[i] == QLatin1String("--cert") || args[i] == QLatin1String("--key")) &&
            i + 1 < args.size()) {
            (args[i] == QLatin1String("--cert") ? certFile : keyFile) = args[i + 1];
            ++i;
        } else if (!havePort) {
            port = args[i].toUInt(&ok);
            havePort = true;
        } else {
            ok = false;
        }
    }
    if (!ok || port > 65535 || certFile.isEmpty() != keyFile.isEmpty()) {
        std::fprintf(stderr, "usage: qtws-echo-server [PORT] [--cert FILE --key FILE]\n");
        return 1;
    }
    const bool secure = !certFile.isEmpty();

    QWebSocketServer server(QStringLiteral("qtws-echo-server"),
                            secure ? QWebSocketServer::SecureMode
                                   : QWebSocketServer::NonSecureMode);
    if (secure) {
        const QSslCertificate certificate(readFile(certFile), QSsl::Pem);
        // The key type is not known from the file (our benchmark makes EC keys).
        const QByteArray keyPem = readFile(keyFile);
        QSslKey key(keyPem, QSsl::Ec, QSsl::Pem);
        if (key.isNull())
            key = QSslKey(keyPem, QSsl::Rsa, QSsl::Pem);
        if (certificate.isNull() || key.isNull()) {
            std::fprintf(stderr,
                         "qtws-echo-server: cannot read a PEM certificate from %s and "
                         "its key from %s\n",
                         qPrintable(certFile), qPrintable(keyFile));
            return 1;
        }
        QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
        configuration.setLocalCertificate(certificate);
        configuration.setPrivateKey(key);
        configuration.setPeerVerifyMode(QSslSocket::VerifyNone); // no client certificates
        server.setSslConfiguration(configuration);
    }
    // The load generator opens up to 1,000 connections in bursts.
    server.setMaxPendingConnections(10'000);
    QObject::connect(&server, &QWebSocketServer::newConnection, &server, [&server] {
        while (QWebSocket *socket = server.nextPendingConnection()) {
            socket->setMaxAllowedIncomingMessageSize(MaxMessageBytes);
            socket->setMaxAllowedIncomingFrameSize(MaxMessageBytes);
            QObject::connect(socket, &QWebSocket::textMessageReceived, socket,
                             [socket](const QString &text) { socket->sendTextMessage(text); });
            QObject::connect(socket, &QWebSocket::binaryMessageReceived, socket,
                             [socket](const QByteArray &data) { socket->sendBinaryMessage(data); });
            QObject::connect(socket, &QWebSocket::disconnected, socket, &QObject::deleteLater);
        }
    });
    if (!server.listen(QHostAddress::LocalHost, quint16(port))) {
        std::fprintf(stderr, "qtws-echo-server: cannot listen on 127.0.0.1:%u: %s\n", port,
                     qPrintable(server.errorString()));
        return 2;
    }
    std::printf("listening on %s://127.0.0.1:%u/\n", secure ? "wss" : "ws",
                unsigned(server.serverPort()));
    std::fflush(stdout);
    return QCoreApplication::exec();
}

// The QtWebSockets counterpart of `wsw serve --mode echo`, for scripts/bench.sh:
// each text message back as text, each binary message back as binary, on
// 127.0.0.1 only. Usage: qtws-echo-server [PORT] (0 or nothing: any free port).
// SIGTERM ends it (the default action: nothing needs saving).
#include <QCoreApplication>
#include <QWebSocket>
#include <QWebSocketServer>

#include <cstdio>

namespace {

// The same limits as our server's defaults (SessionOptions::maxMessageSize), so
// that 16 MiB messages are accepted by both.
constexpr qint64 MaxMessageBytes = 64ll * 1024 * 1024;

} // namespace

int main(int argc, char *argv[]) {
    QCoreApplication app(argc, argv);
    bool ok = true;
    const uint port = argc > 1 ? QByteArray(argv[1]).toUInt(&ok) : 0;
    if (!ok || port > 65535) {
        std::fprintf(stderr, "usage: qtws-echo-server [PORT]\n");
        return 1;
    }

    QWebSocketServer server(QStringLiteral("qtws-echo-server"), QWebSocketServer::NonSecureMode);
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
    std::printf("listening on ws://127.0.0.1:%u/\n", unsigned(server.serverPort()));
    std::fflush(stdout);
    return QCoreApplication::exec();
}

#pragma once

#include <QSslConfiguration>
#include <QTcpServer>

#include <functional>

namespace ws {

struct ServerOptions;

// The listening socket of a wss server. Each connection is a QSslSocket that first
// waits for its first byte: a TLS ClientHello starts the server handshake, anything
// else (a plain HTTP or ws:// client) gets a 400 naming the scheme to use, so that
// client hears why instead of waiting. Only encrypted sockets reach the Server, as
// pending connections announced by newConnection(); the wait and the handshake are
// bounded by the handshake timeout.
class TlsTcpServer final : public QTcpServer {
public:
    TlsTcpServer(const ServerOptions &options, std::function<void(const QString &)> log,
                 QObject *parent);

protected:
    void incomingConnection(qintptr descriptor) override;

private:
    std::function<void(const QString &)> m_log;
    QSslConfiguration m_configuration;
    int m_handshakeTimeoutMs;
};

// "host:port", an IPv6 host in brackets.
QString formatAddress(const QHostAddress &address, quint16 port);

} // namespace ws

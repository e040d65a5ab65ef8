#pragma once

#include "commandline.h"

#include "net/clientconnection.h"
#include "net/server.h"

#include <QCommandLineOption>
#include <QList>

#include <optional>

namespace ws {

// How `wsw connect` reaches the server and keeps the connection: proxies, Unix
// sockets, timeouts, pings, client certificates, reconnecting.
class ConnectNetOptions {
public:
    ConnectNetOptions();

    QList<QCommandLineOption> options() const;
    // Reads the options into `client` (its URL already set, every other option read):
    // the proxy from --proxy or the proxy variables, and checks what can be checked
    // before connecting (the --ca file, --cert and --key). The usage error, if any.
    std::optional<QString> apply(const CommandLine &commandLine, ClientOptions *client);

    // --reconnect: whether to connect again after a connection that ended without
    // our asking (the server closed or vanished, or connecting failed).
    bool reconnects() const { return m_reconnect; }
    int reconnectDelayMs() const { return m_reconnectDelayMs; }
    // The line to print before connecting again.
    static QByteArray reconnectingLine(int delayMs);

private:
    QCommandLineOption m_proxy;
    QCommandLineOption m_noProxy;
    QCommandLineOption m_unix;
    QCommandLineOption m_connectTimeout;
    QCommandLineOption m_handshakeTimeout;
    QCommandLineOption m_pingInterval;
    QCommandLineOption m_reconnectOption;
    QCommandLineOption m_reconnectDelay;
    QCommandLineOption m_cert;
    QCommandLineOption m_key;
    bool m_reconnect = false;
    int m_reconnectDelayMs = 1000;
};

// `wsw serve --unix PATH [--unix-mode MODE]`.
class ServeNetOptions {
public:
    ServeNetOptions();

    QList<QCommandLineOption> options() const;
    // Reads them into `server`; the usage error, if any.
    std::optional<QString> apply(const CommandLine &commandLine, ServerOptions *server) const;

private:
    QCommandLineOption m_unix;
    QCommandLineOption m_unixMode;
};

// What `wsw serve` prints after "listening on ": ws://127.0.0.1:9001/,
// wss://[::]:9001/, ws+unix:///run/ws.sock.
QByteArray listeningUrl(const Server &server);

} // namespace ws

#pragma once

#include "net/connection.h"
#include "net/descriptorlimit.h"
#include "net/misbehaviour.h"
#include "net/serverclient.h"
#include "protocol/permessagedeflate.h"
#include "protocol/session.h"

#include <QHostAddress>
#include <QList>
#include <QObject>
#include <QSslCertificate>
#include <QSslKey>

#include <memory>
#include <optional>

class QTcpServer;

namespace ws {

struct ServerOptions {
    enum class Mode {
        Echo,      // each message back as it came (text as text, binary as binary)
        Greeting,  // send `greeting` on connect, then echo
        Broadcast, // every message to every client, with join/leave notices
        Manual,    // nothing automatic: the user sends
    };
    // Any address only when asked; "::" (AnyIPv6) listens on IPv4 too (dual-stack).
    QHostAddress bindAddress = QHostAddress::LocalHost;
    quint16 port = 9001; // 0: any free port
    Mode mode = Mode::Echo;
    QByteArray greeting = "Welcome to WebSocket Workbench";
    bool broadcastToSender = true;    // broadcast: the sender gets its own message back too
    QList<QByteArray> allowedOrigins; // empty: any Origin (or none) is allowed; else 403
    QList<QByteArray> subprotocols;   // supported, in our preference order
    bool serveTestPage = true;        // GET / without Upgrade: the browser test page
    // Listen on this Unix domain socket instead of TCP (bindAddress and port are not
    // used), with permissions unixSocketMode; a stale socket file is replaced and the
    // file is removed when the server is deleted.
    QString unixSocketPath;
    int unixSocketMode = 0600;
    // Open connections; over it: 503. By default what the descriptor limit allows
    // (raise it first: raiseDescriptorLimit()).
    int maxConnections = defaultMaxConnections();
    int handshakeTimeoutMs = 10'000; // a client that stalls mid-request is dropped
    // Close 1001 after this long without a data message either way (0 = off).
    int idleTimeoutMs = 0;
    // Ping after this long without hearing from the peer; after twice this long
    // without any byte (pong or other) the peer is taken for dead and dropped. 0 = off.
    int keepaliveIntervalMs = 30'000;
    // After our close frame (or once the TCP close is due), wait this long for the
    // peer before dropping the connection.
    int closeTimeoutMs = 5'000;
    // Unwritten bytes per client. Echo/Greeting: reading from that client pauses
    // above it (the client stalls only itself) and resumes when half of it has
    // drained. Broadcast: a client above it is closed with 1008 "send queue full"
    // and dropped if it has not drained within closeTimeoutMs.
    qint64 sendQueueLimit = 64ll * 1024 * 1024;
    // permessage-deflate (RFC 7692). Refused unless asked for: Offer accepts a
    // client's offer, Require rejects clients that offer none. A server compresses
    // every message of every client it answers, so at zlib's fastest level: echoing
    // 128 KiB of JSON took about 7 ms of server time at zlib's default (6) and about
    // 2 ms at 1, for about a third more bytes on the wire.
    DeflateConfig deflate = {.policy = DeflatePolicy::Refuse, .compressionLevel = 1};
    // wss: TLS with this certificate and key (see tlscertificate.h); none: plain ws.
    // A client that does not start with a TLS ClientHello gets a 400 saying so.
    QSslCertificate tlsCertificate;
    QSslKey tlsKey;
    bool isSecure() const { return !tlsCertificate.isNull(); }
    // Whether each client reports its session's events (sessionEvent()). Off: echo
    // and greeting answer straight from the decoder (no event, no copy, no
    // allocation for small messages) and SessionOptions::reportFrames is ignored.
    EventReporting events = EventReporting::On;
    // Whether every connection's arrival and end is told through logMessage();
    // a busy server that nobody reads opens thousands of connections a second.
    bool logConnections = true;
    SessionOptions session;
    // Faults staged on purpose for every new client (see misbehaviour.h); each client's
    // can be changed while it runs (ServerClient::setMisbehaviour()).
    Misbehaviour misbehaviour;
};

const char *modeName(ServerOptions::Mode mode);
std::optional<ServerOptions::Mode> modeFromName(QStringView name);

// A WebSocket server on QTcpServer: accepts, runs the handshake with the policy in
// ServerOptions, keeps a ServerClient per connection and applies the mode.
//
// Timers are server-wide: one sweep checks every client's handshake, idle,
// keepalive and close deadlines, so an idle connection costs no timer. Deleting
// the Server drops every connection without a close handshake (stop() first for
// a clean shutdown).
class Server : public QObject {
    Q_OBJECT
public:
    explicit Server(ServerOptions options, QObject *parent = nullptr);
    ~Server() override;

    // Starts listening; false with errorString() on failure (port in use, ...).
    bool listen();
    // Stops listening at once, closes every open client with 1001 going away and
    // waits for the close handshakes (bounded by closeTimeoutMs; stragglers are
    // dropped), then emits stopped().
    void stop();

    bool isListening() const;
    quint16 port() const; // the bound port (useful with port 0); 0 on a Unix socket
    QHostAddress address() const;
    QString errorString() const;
    const ServerOptions &options() const { return m_options; }

    // Every accepted connection, also those still in the opening handshake.
    QList<ServerClient *> clients() const;
    // Send to every open client.
    void broadcastText(const QByteArray &utf8);
    void broadcastBinary(const QByteArray &data);

signals:
    void clientConnected(ws::ServerClient *client); // after the 101
    // Before it is deleted; only for clients that were announced by clientConnected().
    void clientDisconnected(ws::ServerClient *client);
    void stopped();
    void logMessage(const QString &line); // human-readable server log

private:
    friend class ServerClient;
    // In serverprivate.h: the policy, the modes and the sweep.
    struct Private;
    std::unique_ptr<Private> d;
    ServerOptions m_options;
};

} // namespace ws

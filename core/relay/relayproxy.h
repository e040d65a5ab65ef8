#pragma once

#include "net/certificateauthority.h"
#include "relay/relay.h"

#include <QHostAddress>
#include <QObject>
#include <QStringList>
#include <QUrl>

#include <optional>

class QSslSocket;
class QTcpServer;

namespace ws {

class ByteTunnel;
class ProxyConnection;

struct RelayProxyOptions {
    // Where to listen (listenAddress, listenPort) and everything a relayed pair uses:
    // the server leg's trust (upstream.caCertificatesFile, upstream.acceptedFingerprint,
    // also for requests passed through over TLS), session limits, deflate, timeouts and
    // back-pressure. Its target is unused: every pair goes where its client asked.
    // handshakeTimeoutMs also bounds a client's proxy request, its TLS handshake and
    // the request in the tunnel; the limits of a header block are our server's.
    RelayOptions relay;
    // The local certificate authority's directory; empty: its default
    // (CertificateAuthority::defaultDirectory()).
    QString caDirectory;
    // CONNECT to these hosts (names or addresses, any case) is tunnelled blind: bytes
    // piped both ways, TLS left to the two ends.
    QStringList blindHosts;
    HandshakeLimits limits;
    // A kept-alive connection with no request under way is closed after this long
    // (0: kept as long as both ends keep it). A request begun on it must be whole
    // within relay.handshakeTimeoutMs, as the first one must.
    int keepAliveIdleMs = 60'000;
};

// The relay as an HTTP proxy that a browser or an application is pointed at
// (Chromium's --proxy-server, http_proxy/https_proxy). Every WebSocket that goes
// through it becomes a relayed pair, decoded on both legs like the reverse relay's,
// wherever it comes on a kept-alive connection:
//
//   GET ws://host:port/path (the absolute form, RFC 9112 §3.2.2; http:// too) with
//   Upgrade: websocket -> a pair to ws://host:port/path.
//   CONNECT host:port (RFC 9110 §9.3.6) -> 200 once host:port answers, then the
//   tunnel is read: TLS is terminated with a certificate for host signed by the
//   local certificate authority, and a WebSocket upgrade in it becomes a pair to
//   wss://host:port/path (ws:// when the tunnel carries no TLS).
//   Any other request in a tunnel is passed through to host:port (over TLS verified
//   as our client verifies), byte-exact; GET http://... without an upgrade is
//   forwarded in origin form, its body byte-exact. Either way the connection stays
//   open: requests go on over one upstream connection, one exchange at a time
//   (HttpMessageReader finds where each request and response ends), and the request
//   after them is read in turn, so a WebSocket upgrade after a page is still a pair
//   (the pass-through connection is closed then; the pair opens its own).
//
// Undecoded: a CONNECT to a host of blindHosts, a response whose end is the
// connection's (neither Content-Length nor chunked), and whatever follows a 101 that
// is not a WebSocket's: those bytes are piped as they come (ByteTunnel). A host that
// cannot be reached gives 502, one that does not connect in time 504, a request that
// is not one a proxy takes 400 (431 when its head is too large), a response whose
// framing cannot be followed (RFC 9112 §6.3) 502 (the connection is dropped instead
// when part of it has gone already, or when a request's body cannot be followed).
class RelayProxy : public QObject {
    Q_OBJECT
public:
    explicit RelayProxy(RelayProxyOptions options, QObject *parent = nullptr);
    ~RelayProxy() override;

    // Opens (or makes) the certificate authority, then listens.
    bool listen();
    QString errorString() const { return m_error; }
    QHostAddress address() const;
    quint16 port() const;
    const RelayProxyOptions &options() const { return m_options; }
    // Once listen() opened it.
    const CertificateAuthority *certificateAuthority() const {
        return m_authority ? &*m_authority : nullptr;
    }
    // The relay whose pairs the proxy's WebSockets become (it never listens itself):
    // their events, intercept and faults are its own (pairStarted names each pair's
    // target).
    Relay *relay() const { return m_relay; }
    int pairCount() const { return m_relay->pairCount(); }
    // Stops listening, drops the requests and tunnels under way and closes every pair
    // with 1001; stopped() follows once all pairs are over.
    void shutdown();

signals:
    // Pair 0: what the proxy did with a request (a tunnel, a pass-through, a refusal).
    // The relay's own logMessage() speaks of its pairs.
    void logMessage(quint64 pair, const QString &line);
    void stopped();

private:
    friend class ProxyConnection;

    void onNewConnection();
    void startPair(QSslSocket *socket, const QUrl &target, const QString &peer);
    void startTunnel(QSslSocket *client, QSslSocket *upstream);
    bool isBlind(const QString &host) const;
    std::optional<CertificateAndKey> certificateFor(const QString &host, QString *error);
    void connectionDone(ProxyConnection *connection);
    void onTunnelFinished(ByteTunnel *tunnel);

    RelayProxyOptions m_options;
    std::optional<CertificateAuthority> m_authority;
    QTcpServer *m_listener = nullptr;
    QList<ProxyConnection *> m_connections;
    QList<ByteTunnel *> m_tunnels;
    Relay *m_relay;
    QString m_error;
    bool m_stopping = false;
};

} // namespace ws

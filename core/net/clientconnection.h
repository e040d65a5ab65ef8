#pragma once

#include "net/connection.h"
#include "net/httpproxy.h"
#include "net/tlsinfo.h"
#include "net/websocketurl.h"
#include "protocol/httpheaders.h"

#include <QAbstractSocket>
#include <QBasicTimer>
#include <QObject>
#include <QSslCertificate>
#include <QSslError>
#include <QSslKey>
#include <QUrl>

#include <memory>
#include <optional>

class QTcpSocket;

namespace ws {

// What the user chose for one client connection.
struct ClientOptions {
    // ws://host:port/path?query, wss://..., ws+unix:///path/to.sock[:/request/path].
    // user:password@host is sent as HTTP Basic authentication (unless extraHeaders
    // has an Authorization field).
    QUrl url;
    QByteArray origin;
    QList<QByteArray> subprotocols;
    HttpHeaders extraHeaders;
    SessionOptions session;
    int connectTimeoutMs = 10'000;   // TCP connect (DNS included; through a proxy: the tunnel)
    int handshakeTimeoutMs = 10'000; // from TCP connected to 101 received
    int closeTimeoutMs = 5'000;      // our close unanswered / server not closing TCP
    // Automatic pong policy on top of SessionOptions::autoPong: delay each pong by
    // this much (0 = at once), or drop pings entirely (never answer).
    int pongDelayMs = 0;
    bool dropPings = false;
    // Send a ping after this long without hearing from the server; after twice this
    // long without any byte (pong or other) the server is taken for dead and the
    // connection dropped (1006). 0 = off.
    int keepaliveIntervalMs = 0;
    // Send every data message straight back as soon as it is decoded, ahead of
    // whatever later frames of the same read bring (a protocol violation included).
    bool echoMessages = false;
    // permessage-deflate (RFC 7692): not offered unless asked for.
    DeflateConfig deflate = {.policy = DeflatePolicy::Refuse};
    // wss: PEM file of certificate authorities trusted besides the system's.
    QString caCertificatesFile;
    // wss: the SHA-256 (32 bytes) of one server certificate to accept although it
    // cannot be verified (self-signed, unknown issuer, other name). Only that exact
    // certificate: there is no way to switch verification off.
    QByteArray acceptedFingerprint;
    // wss: our certificate and its key, for a server that asks for one (RFC 8446 §4.4.2).
    QSslCertificate clientCertificate;
    QSslKey clientKey;
    // Reach the server through this HTTP proxy, in a CONNECT tunnel (RFC 9110
    // §9.3.6); none: directly. The proxy resolves the server's name.
    std::optional<HttpProxy> proxy;
    // Connect to this Unix domain socket instead of the URL's host and port; the URL
    // still gives the Host field and the request path. A ws+unix URL names its own.
    QString unixSocketPath;
};

// Our client: a Connection that makes its own socket (DNS, TCP, TLS with
// certificate checks), runs the opening handshake with its own deadlines, accepts
// or refuses the server's extensions, and pings when idle. Every event of the
// session (frames both ways, messages, handshake, pings, pongs, close, violations)
// is reported as sessionEvent().
class ClientConnection : public Connection {
    Q_OBJECT
public:
    explicit ClientConnection(ClientOptions options, QObject *parent = nullptr);
    ~ClientConnection() override;

    // Starts connecting. Errors (bad URL, refused, DNS failure, timeout, non-101
    // answer) arrive as errorOccurred() followed by finished(); a bad URL is
    // reported from the event loop, never from inside open().
    void open();

    // Drop the connection without a close handshake.
    void abort() override;

    const ClientOptions &options() const { return m_options; }
    // wss, after tlsEstablished(): the negotiated protocol, cipher and chain.
    const std::optional<TlsInfo> &tls() const { return m_tls; }

    // Stops reading from the server until called with false (a relay whose other leg
    // cannot keep up). Meanwhile the socket buffers at most PausedReadBufferSize
    // bytes, so TCP flow control pushes back on the server.
    void setReadingPaused(bool paused);
    bool isReadingPaused() const { return m_readingPaused; }
    static constexpr qint64 PausedReadBufferSize = 64 * 1024;

    // For tests: inject masking keys (default: system CSPRNG). Before open(); after it
    // the connection keeps the keys it started with.
    void setMaskingKeySource(MaskingKeySource keys);

signals:
    // wss: the TLS handshake is done; the opening handshake follows.
    void tlsEstablished(const ws::TlsInfo &info);
    // Transport-level trouble, in words for the user.
    void errorOccurred(const QString &message);
    // Worth telling the user, not an error (e.g. what the extension negotiation noted).
    void logMessage(const QString &line);

protected:
    bool canSend() const override { return m_connected; }
    bool admitEvent(const SessionEvent &event) override;
    bool afterReceive() override { return !m_readingPaused; }
    void receiveLater() override;
    void transportEnded() override;
    void transportConnected() override { onConnected(); }
    void socketReadable() override { onReadyRead(); }
    void handleEvent(SessionEvent &event) override;
    void closeDeadlineArmed() override;
    void closeDeadlinePassed(bool answered, const QString &why) override;
    void aboutToFinish() override;
    void timerEvent(QTimerEvent *event) override;

private:
    // What the single-shot timer is counting down to.
    enum class Deadline { None, Connect, Handshake, Close };

    void onConnected();
    void onTcpConnected();
    // The byte stream to the server is up: TCP, a Unix socket or a proxy's tunnel.
    // TLS starts here when it was not started with the connection.
    void onTransportReady();
    void onProxyConnected();
    void onReadyRead();
    void readProxyAnswer();
    QString proxyRefusalText() const;
    void connectUnix(const QString &path);
    // Plain TCP to `address` on a bare descriptor (Connection::connectDescriptor()).
    void openDescriptor(const QHostAddress &address, EpollEventDispatcher *dispatcher);
    // Why the socket failed, in the system's words.
    QString socketErrorText() const;
    void onEncrypted();
    void onSslErrors(const QList<QSslError> &errors);
    QString tlsFailureText() const;
    void onDisconnected();
    void onSocketError(QAbstractSocket::SocketError error);
    void onDeadline();
    void onKeepalive();
    // Where the socket connects to: the server, the proxy or the Unix socket.
    QString transportEndpoint() const;
    void stopTimers();
    void fail(const QString &message);
    QString handshakeFailureText() const;
    bool acceptExtensions(const HandshakeEvent &accepted);
    QString endpoint() const;
    ClientHandshakeOptions handshakeOptions() const;
    // The session open() starts, with the masking keys chosen so far.
    void makeSession();

    ClientOptions m_options;
    std::optional<WebSocketUrl> m_url;
    QString m_urlError; // why the URL is not one to connect to, or empty
    QList<ExtensionParams> m_offeredExtensions;
    // Timers without objects of their own (timerEvent()): a relay opens thousands of
    // upstream connections a second. m_timer fires once, m_keepalive repeats.
    QBasicTimer m_timer;
    QBasicTimer m_keepalive;
    MaskingKeySource m_keys = MaskingKeySource::systemRandom();
    Deadline m_deadline = Deadline::None;
    quint32 m_keepaliveCount = 0;
    qint64 m_lastKeepaliveMs = -1;
    // Through a proxy: the answer to CONNECT while it arrives.
    std::optional<ConnectResponseReader> m_proxyAnswer;
    QString m_unixSocketPath; // the socket connected to, if any
    std::optional<TlsInfo> m_tls;
    QList<QSslError> m_sslErrors; // why the server's certificate was not accepted
    QString m_sslMismatch;        // the accepted fingerprint did not match this one
    bool m_tcpConnected = false;
    bool m_fingerprintUsed = false;
    bool m_opened = false;
    bool m_connected = false;
    bool m_eofSeen = false;
    bool m_errorReported = false;
    bool m_readingPaused = false;
};

} // namespace ws

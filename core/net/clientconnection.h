#pragma once

#include "net/netmetatypes.h"
#include "net/tlsinfo.h"
#include "protocol/frameencoder.h"
#include "protocol/httpheaders.h"
#include "protocol/permessagedeflate.h"
#include "protocol/session.h"

#include <QAbstractSocket>
#include <QElapsedTimer>
#include <QObject>
#include <QSslError>
#include <QTimer>
#include <QUrl>

#include <memory>
#include <optional>

class QTcpSocket;

namespace ws {

// What the user chose for one client connection.
struct ClientOptions {
    QUrl url; // ws://host:port/path?query or wss://...
    QByteArray origin;
    QList<QByteArray> subprotocols;
    HttpHeaders extraHeaders;
    SessionOptions session;
    int connectTimeoutMs = 10'000;   // TCP connect (DNS included)
    int handshakeTimeoutMs = 10'000; // from TCP connected to 101 received
    int closeTimeoutMs = 5'000;      // our close unanswered / server not closing TCP
    // Automatic pong policy on top of SessionOptions::autoPong: delay each pong by
    // this much (0 = at once), or drop pings entirely (never answer).
    int pongDelayMs = 0;
    bool dropPings = false;
    int keepaliveIntervalMs = 0; // send a ping this often when idle (0 = off)
    // permessage-deflate (RFC 7692): not offered unless asked for.
    DeflateConfig deflate = {.policy = DeflatePolicy::Refuse};
    // wss: PEM file of certificate authorities trusted besides the system's.
    QString caCertificatesFile;
    // wss: the SHA-256 (32 bytes) of one server certificate to accept although it
    // cannot be verified (self-signed, unknown issuer, other name). Only that exact
    // certificate: there is no way to switch verification off.
    QByteArray acceptedFingerprint;
};

// A ws:// or wss:// URL taken apart for the opening handshake (RFC 6455 §3).
struct WebSocketUrl {
    QString host;                  // what to resolve and connect to (IPv6 without brackets)
    QByteArray hostHeader;         // as it goes in the Host header (IPv6 in brackets)
    quint16 port = 80;             // 80 for ws, 443 for wss unless given
    QByteArray resourceName = "/"; // path and query, percent-encoded
    bool secure = false;           // wss
};

// RFC 6455 §3: ws-URI = "ws:" "//" host [ ":" port ] path [ "?" query ]. Returns
// nullopt and a sentence for the user in `error` for anything that is not one.
// A fragment is dropped: it has no meaning in a WebSocket URI.
std::optional<WebSocketUrl> parseWebSocketUrl(const QUrl &url, QString *error = nullptr);

// A WebSocket client on a QTcpSocket: the Session does the protocol, this object
// does sockets and timers, and reports every event (frames in both directions,
// messages, handshake, pings, pongs, close, violations) as a Qt signal.
//
// Events come out in the order they happened: what a send made from a
// sessionEvent() slot produces is emitted once that slot has returned. Delete the
// object with deleteLater() when it is emitting (e.g. from a finished() slot).
class ClientConnection : public QObject {
    Q_OBJECT
public:
    explicit ClientConnection(ClientOptions options, QObject *parent = nullptr);
    ~ClientConnection() override;

    // Starts connecting. Errors (bad URL, refused, DNS failure, timeout, non-101
    // answer) arrive as errorOccurred() followed by finished(); a bad URL is
    // reported from the event loop, never from inside open().
    void open();

    SendError sendText(const QByteArray &utf8, qint64 fragmentSize = 0);
    SendError sendBinary(const QByteArray &data, qint64 fragmentSize = 0);
    SendError sendPing(const QByteArray &payload = {});
    SendError sendPong(const QByteArray &payload = {});
    SendError sendClose(std::optional<quint16> code = quint16(1000), const QString &reason = {});
    SendError sendRaw(const RawFrame &frame);
    // Drop the connection without a close handshake.
    void abort();

    SessionState state() const;
    const ClientOptions &options() const { return m_options; }
    const Session &session() const { return *m_session; }
    // The negotiated permessage-deflate, or null.
    const PerMessageDeflate *deflate() const { return m_deflate.get(); }
    // Bytes handed to the socket but not yet written.
    qint64 pendingBytes() const;
    // wss, after tlsEstablished(): the negotiated protocol, cipher and chain.
    const std::optional<TlsInfo> &tls() const { return m_tls; }
    // True once finished() has been emitted.
    bool isFinished() const { return m_finished; }

    // For tests: inject masking keys (default: system CSPRNG). Takes effect at open().
    void setMaskingKeySource(MaskingKeySource keys);

signals:
    void sessionEvent(const ws::SessionEvent &event);
    void stateChanged(ws::SessionState state);
    // wss: the TLS handshake is done; the opening handshake follows.
    void tlsEstablished(const ws::TlsInfo &info);
    // Transport-level trouble, in words for the user.
    void errorOccurred(const QString &message);
    // Worth telling the user, not an error (e.g. what the extension negotiation noted).
    void logMessage(const QString &line);
    // The connection is over (after the ClosedEvent, or after a connect error).
    // Emitted exactly once.
    void finished();

private:
    // What the single-shot timer is counting down to.
    enum class Deadline { None, Connect, Handshake, Close };

    void onConnected();
    void onTcpConnected();
    void onEncrypted();
    void onSslErrors(const QList<QSslError> &errors);
    QString tlsFailureText() const;
    void onReadyRead();
    void onDisconnected();
    void onSocketError(QAbstractSocket::SocketError error);
    void onDeadline();
    void onKeepalive();
    void pump();
    void handle(const SessionEvent &event);
    void flush();
    void afterSend();
    // The common path of every send: refuses when not connected, stamps the time,
    // calls `send` on the session and writes what it produced.
    template <typename Send> SendError sendThroughSession(Send &&send);
    void armCloseTimer();
    void fail(const QString &message);
    void emitNote(ConformanceNote::Kind kind, const QString &text);
    void finish();
    QString handshakeFailureText() const;
    bool acceptExtensions(const HandshakeEvent &accepted);
    QString endpoint() const;
    qint64 nowUs() const;

    ClientOptions m_options;
    std::optional<WebSocketUrl> m_url;
    QList<ExtensionParams> m_offeredExtensions;
    // Declared before the session, which uses it until it is destroyed.
    std::unique_ptr<PerMessageDeflate> m_deflate;
    std::unique_ptr<Session> m_session;
    QTcpSocket *m_socket = nullptr;
    QTimer m_timer;
    QTimer m_keepalive;
    QElapsedTimer m_clock;
    MaskingKeySource m_keys = MaskingKeySource::systemRandom();
    Deadline m_deadline = Deadline::None;
    qint64 m_lastReceiveMs = 0;
    quint32 m_keepaliveCount = 0;
    std::optional<TlsInfo> m_tls;
    QList<QSslError> m_sslErrors; // why the server's certificate was not accepted
    QString m_sslMismatch;        // the accepted fingerprint did not match this one
    bool m_tcpConnected = false;
    bool m_fingerprintUsed = false;
    bool m_opened = false;
    bool m_connected = false;
    bool m_eofSeen = false;
    bool m_errorReported = false;
    bool m_transportClosing = false;
    bool m_pumping = false;       // inside pump(): a nested call leaves the events to it
    bool m_finishPending = false; // finish() asked for during pump()
    bool m_finished = false;
};

} // namespace ws

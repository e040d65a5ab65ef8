#pragma once

#include "net/netmetatypes.h"
#include "protocol/frameencoder.h"
#include "protocol/httpheaders.h"
#include "protocol/session.h"

#include <QAbstractSocket>
#include <QElapsedTimer>
#include <QObject>
#include <QTimer>
#include <QUrl>

#include <memory>
#include <optional>

class QTcpSocket;

namespace ws {

// What the user chose for one client connection.
struct ClientOptions {
    QUrl url; // ws://host:port/path?query (wss:// once TLS lands)
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
    // Bytes handed to the socket but not yet written.
    qint64 pendingBytes() const;
    // True once finished() has been emitted.
    bool isFinished() const { return m_finished; }

    // For tests: inject masking keys (default: system CSPRNG). Takes effect at open().
    void setMaskingKeySource(MaskingKeySource keys);

signals:
    void sessionEvent(const ws::SessionEvent &event);
    void stateChanged(ws::SessionState state);
    // Transport-level trouble, in words for the user.
    void errorOccurred(const QString &message);
    // The connection is over (after the ClosedEvent, or after a connect error).
    // Emitted exactly once.
    void finished();

private:
    // What the single-shot timer is counting down to.
    enum class Deadline { None, Connect, Handshake, Close };

    void onConnected();
    void onReadyRead();
    void onDisconnected();
    void onSocketError(QAbstractSocket::SocketError error);
    void onDeadline();
    void onKeepalive();
    void pump();
    void handle(const SessionEvent &event);
    void flush();
    void afterSend();
    void armCloseTimer();
    void fail(const QString &message);
    void emitNote(ConformanceNote::Kind kind, const QString &text);
    void finish();
    QString handshakeFailureText() const;
    QString endpoint() const;
    qint64 nowUs() const;

    ClientOptions m_options;
    std::optional<WebSocketUrl> m_url;
    std::unique_ptr<Session> m_session;
    QTcpSocket *m_socket = nullptr;
    QTimer m_timer;
    QTimer m_keepalive;
    QElapsedTimer m_clock;
    MaskingKeySource m_keys = MaskingKeySource::systemRandom();
    Deadline m_deadline = Deadline::None;
    qint64 m_lastReceiveMs = 0;
    quint32 m_keepaliveCount = 0;
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

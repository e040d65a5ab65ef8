#pragma once

#include "net/clientconnection.h"
#include "net/connection.h"

#include <QBasicTimer>
#include <QHostAddress>

class QTcpSocket;

namespace ws {

// Which side of a relayed pair a leg faces.
enum class RelayLegKind { Client, Server };
// "client" or "server".
const char *relayLegName(RelayLegKind leg);

// The client leg of a relayed pair: a server-role Connection on the socket the relay
// accepted, so the client's handshake and frames are checked by the same Session as
// our server's clients (masking, UTF-8, limits). It decides nothing itself: the
// pair answers the handshake once the upstream has, and forwards what it receives.
class RelayLeg : public Connection {
    Q_OBJECT
public:
    // Takes `socket` (connected, from the relay's listening socket).
    RelayLeg(QTcpSocket *socket, SessionOptions session, int handshakeTimeoutMs, int closeTimeoutMs,
             QObject *parent);
    // Takes `descriptor` (connected, from the relay's listening socket) and runs on it
    // without a QTcpSocket (Connection::attachDescriptor()): under EpollEventDispatcher.
    // isFinished() at once if it could not be watched.
    RelayLeg(int descriptor, EpollEventDispatcher *dispatcher, SessionOptions session,
             int handshakeTimeoutMs, int closeTimeoutMs, QObject *parent);
    ~RelayLeg() override;

    QHostAddress peerAddress() const { return m_peerAddress; }
    quint16 peerPort() const { return m_peerPort; }
    // Reads what the client already sent (a TLS client's request may be there).
    void start();
    // The request is complete and the upstream is being asked: the client is no
    // longer the one who is late.
    void stopHandshakeDeadline() { m_handshakeTimer.stop(); }
    // After UpgradeRequested: the 101, with the upstream's headers. `deflate` is the
    // client leg's own permessage-deflate agreement (or none). The answer and the
    // events of frames the client sent early go out at deliverAnswer(), so that the
    // caller knows deflate() before it hears of any frame.
    void acceptUpgrade(const QByteArray &subprotocol, const HttpHeaders &extraHeaders,
                       const DeflateConfig &deflate);
    void deliverAnswer() { sendHandshakeAnswer(); }
    // After UpgradeRequested or PlainHttpRequest: the complete HTTP answer instead of
    // a 101; `why` is the ClosedEvent's reason.
    void answerHttp(const QByteArray &response, const QString &why);
    // Frames of the other leg queued here and written once per batch; on the direct
    // path of a pair nobody watches, this leg's own data frames handed to a sink.
    using Connection::isInReadBuffer;
    using Connection::queueDataFrame;
    using Connection::queueDataPiece;
    using Connection::queueDataPieceInPlace;
    using Connection::queueFrameRun;
    using Connection::queueFrameRunInPlace;
    using Connection::setFrameRunSink;
    using Connection::setFrameSink;
    using Connection::setPieceSink;
    using Connection::writeQueued;
    // Back-pressure: stop reading from the client until resumed.
    void setReadingPaused(bool paused);
    bool isReadingPaused() const { return m_paused; }
    void abort() override;
    // Drop with a reason (a ClosedEvent 1006 carries it).
    void dropWith(const QString &why) { drop(why); }

protected:
    bool canSend() const override { return true; }
    bool afterReceive() override { return !m_paused; }
    // What readyRead() does: a paused leg reads nothing.
    void socketReadable() override { onReadyRead(); }
    void receiveLater() override;
    void transportEnded() override;
    void handleEvent(SessionEvent &event) override;
    void closeDeadlineArmed() override;
    void closeDeadlinePassed(bool answered, const QString &why) override;
    void timerEvent(QTimerEvent *event) override;

private:
    // What both constructors set up on the session.
    void setUp(SessionOptions session, int closeTimeoutMs);
    void onReadyRead();
    void onDisconnected();
    void onHandshakeDeadline();
    void sendHandshakeAnswer();

    QHostAddress m_peerAddress;
    quint16 m_peerPort = 0;
    // Timers without objects of their own (timerEvent()): a relay opens and closes
    // thousands of legs a second.
    QBasicTimer m_handshakeTimer;
    QBasicTimer m_closeTimer;
    int m_handshakeTimeoutMs;
    bool m_paused = false;
};

// The server leg of a relayed pair: our client, sending exactly the frames the
// client leg received.
class RelayUpstream : public ClientConnection {
    Q_OBJECT
public:
    explicit RelayUpstream(ClientOptions options, QObject *parent = nullptr);
    ~RelayUpstream() override;

    // As RelayLeg's.
    using Connection::isInReadBuffer;
    using Connection::queueDataFrame;
    using Connection::queueDataPiece;
    using Connection::queueDataPieceInPlace;
    using Connection::queueFrameRun;
    using Connection::queueFrameRunInPlace;
    using Connection::setFrameRunSink;
    using Connection::setFrameSink;
    using Connection::setPieceSink;
    using Connection::writeQueued;
};

} // namespace ws

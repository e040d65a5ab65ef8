#pragma once

#include "net/connection.h"
#include "net/misbehaviour.h"

#include <QHostAddress>

#include <memory>
#include <optional>

namespace ws {

class Server;

// One accepted connection of a Server: a Connection on the socket the server
// accepted, whose events the server answers with its policy (handshake, plain HTTP)
// and its mode (echo, greeting, broadcast, manual). Owned by the Server; deleted
// later after finished().
class ServerClient : public Connection {
    Q_OBJECT
public:
    ~ServerClient() override;

    quint64 id() const { return m_id; } // unique per server run, from 1
    QHostAddress peerAddress() const { return m_peerAddress; }
    quint16 peerPort() const { return m_peerPort; }
    QByteArray resourceName() const { return m_resourceName; } // request target
    QByteArray subprotocol() const { return m_subprotocol; }
    // Drop the connection without a close handshake (logged by the server).
    void abort() override;

    // What this client is put through on purpose: the server's
    // ServerOptions::misbehaviour at first. Changing it while the client runs takes
    // effect at once: its timers (ticker, close after T) start again from now, and
    // "after N messages" counts from now.
    const Misbehaviour &misbehaviour() const { return m_misbehaviour; }
    void setMisbehaviour(const Misbehaviour &misbehaviour);

protected:
    bool canSend() const override { return true; }
    void beforeReceive(qint64 readUs) override;
    void receiveLater() override;
    void socketReadable() override { onReadyRead(); }
    void transportEnded() override;
    bool afterReceive() override;
    void handleEvent(SessionEvent &event) override;
    void afterSend() override;
    void closeDeadlinePassed(bool answered, const QString &why) override;
    void aboutToFinish() override;
    void afterFinish() override;
    qint64 readAllowance() const override;

private:
    friend class Server;
    // How messages are echoed (echo and greeting modes): see Server::Private::updateEchoPath().
    enum class EchoPath { Unset, None, Sink, Handler, Staged };

    ServerClient(Server *server, QTcpSocket *socket, quint64 id, EventReporting reporting);
    void onReadyRead();
    void onDisconnected();
    // Logs why, then drops the connection.
    void dropLogged(const QString &why);

    // Staged misbehaviour (servermisbehaviour.cpp). Its state and timers, made when
    // first needed.
    struct Staging;
    Staging &staging();
    // Reports a staged behaviour as it happens: a Staged note and a server log line.
    void staged(const QString &what);
    // Sends a data message the way the misbehaviour says (fragmented, with pings
    // between fragments), through `session` at `nowUs`: from inside the session's
    // message handler, or from sendThroughSession().
    SendError stageMessage(Session &session, Opcode type, QByteArrayView data, qint64 nowUs);
    // The same from outside the session's calls (timers, greeting, broadcast).
    SendError sendStaged(Opcode type, QByteArrayView data);
    // An echo (echo and greeting modes), from the session's message handler.
    void stageReply(Session &session, const DecodedMessage &message, qint64 nowUs);
    void sendDueReplies();
    // After an incoming message was handled: the "after N messages" behaviours.
    void countMessage();
    // Once open: ticker, burst, close timer, a bad frame after 0 messages.
    void startStaging();
    void stopStaging();
    // Runs `action` now, or after the replies still waiting their delay.
    void afterReplies(std::function<void()> action);
    void stageClose(const QString &why);
    void sendBadFrame();
    void continueBurst();
    void onPing(const PingEvent &ping);
    void readThrottled();

    Misbehaviour m_misbehaviour;
    std::unique_ptr<Staging> m_staging;

    Server *m_server;
    quint64 m_id;
    QHostAddress m_peerAddress;
    quint16 m_peerPort = 0;
    QByteArray m_resourceName;
    QByteArray m_subprotocol;
    // EventClock, milliseconds.
    qint64 m_acceptedMs = 0;
    qint64 m_lastMessageMs = 0; // a data message either way (idle timeout)
    qint64 m_lastPingMs = -1;
    QMetaObject::Connection m_drainWatch; // bytesWritten, only while paused
    std::optional<ClosedEvent> m_closed;
    EchoPath m_echoPath = EchoPath::Unset;
    bool m_announced = false; // clientConnected() emitted
    bool m_logged = false;    // the fate of a connection that never opened was logged
    bool m_paused = false;
    bool m_queueOverflow = false;
};

} // namespace ws

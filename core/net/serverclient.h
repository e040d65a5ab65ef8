#pragma once

#include "net/connection.h"

#include <QHostAddress>

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

private:
    friend class Server;
    // How messages are echoed (echo and greeting modes): see Server::Private::updateEchoPath().
    enum class EchoPath { Unset, None, Sink, Handler };

    ServerClient(Server *server, QTcpSocket *socket, quint64 id, EventReporting reporting);
    void onReadyRead();
    void onDisconnected();
    // Logs why, then drops the connection.
    void dropLogged(const QString &why);

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

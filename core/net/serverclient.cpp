#include "net/serverclient.h"

#include "net/serverprivate.h"

#include <QTcpSocket>

namespace ws {

ServerClient::ServerClient(Server *server, QTcpSocket *socket, quint64 id, EventReporting reporting)
    : Connection(reporting, server)
    , m_server(server)
    , m_id(id)
    , m_peerAddress(socket->peerAddress())
    , m_peerPort(socket->peerPort()) {
    setCloseTimeout(server->options().closeTimeoutMs);
    socket->setParent(this);
    attachSocket(socket);
    connect(socket, &QTcpSocket::readyRead, this, &ServerClient::onReadyRead);
    // Queued: a socket can fail inside a write in the middle of a broadcast; the
    // client is torn down from the event loop, not under our feet.
    connect(socket, &QTcpSocket::disconnected, this, &ServerClient::onDisconnected,
            Qt::QueuedConnection);
}

ServerClient::~ServerClient() = default;

void ServerClient::onReadyRead() {
    if (!m_paused)
        receive();
}

void ServerClient::receiveLater() {
    QMetaObject::invokeMethod(this, &ServerClient::onReadyRead, Qt::QueuedConnection);
}

void ServerClient::onDisconnected() {
    if (isFinished())
        return;
    m_paused = false;
    receiveEof();
    finish();
}

void ServerClient::transportEnded() {
    QMetaObject::invokeMethod(this, &ServerClient::onDisconnected, Qt::QueuedConnection);
}

void ServerClient::beforeReceive(qint64 readUs) {
    Server::Private &server = *m_server->d;
    server.batchUs = readUs;
    server.updateEchoPath(this);
}

bool ServerClient::afterReceive() {
    Server::Private &server = *m_server->d;
    const qint64 limit = server.options().sendQueueLimit;
    if (server.echoes() && limit > 0 && socket()->bytesToWrite() > limit) {
        server.pause(this);
        return false;
    }
    return true;
}

void ServerClient::handleEvent(SessionEvent &event) {
    m_server->d->act(this, event);
}

void ServerClient::afterSend() {
    m_server->d->enforceQueueLimit(this);
}

void ServerClient::closeDeadlinePassed(bool, const QString &why) {
    m_server->d->log(
        QStringLiteral("%1: %2; dropping the connection").arg(m_server->d->who(this), why));
}

void ServerClient::aboutToFinish() {
    m_server->d->clientFinishing(this);
}

void ServerClient::afterFinish() {
    m_server->d->clientFinished(this);
}

void ServerClient::dropLogged(const QString &why) {
    if (isFinished())
        return;
    m_server->d->log(
        QStringLiteral("%1: %2; dropping the connection").arg(m_server->d->who(this), why));
    drop(why);
}

void ServerClient::abort() {
    dropLogged(QStringLiteral("aborted by the server"));
}

} // namespace ws

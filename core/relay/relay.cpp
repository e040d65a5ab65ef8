#include "relay/relay.h"

#include "net/server.h"
#include "net/tcpserver.h"
#include "net/tlstcpserver.h"
#include "relay/relaypair.h"

#include <QTcpSocket>

namespace ws {

Relay::Relay(RelayOptions options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options)) {}

Relay::~Relay() {
    // The pairs' legs go first: their sockets must not report into a half-destroyed relay.
    for (RelayPair *pair : std::as_const(m_pairs)) {
        pair->disconnect(this);
        delete pair;
    }
}

bool Relay::listen() {
    if (m_listener)
        return m_listener->isListening();
    if (isSecure()) {
        ServerOptions tls;
        tls.tlsCertificate = m_options.certificate;
        tls.tlsKey = m_options.key;
        tls.handshakeTimeoutMs = m_options.handshakeTimeoutMs;
        m_listener = new TlsTcpServer(
            tls, [this](const QString &line) { emit logMessage(0, line); }, this);
    } else {
        m_listener = new UnbufferedTcpServer(this);
    }
    connect(m_listener, &QTcpServer::newConnection, this, &Relay::onNewConnection);
    if (!m_listener->listen(m_options.listenAddress, m_options.listenPort)) {
        m_error = m_listener->errorString();
        return false;
    }
    return true;
}

QHostAddress Relay::address() const {
    return m_listener ? m_listener->serverAddress() : QHostAddress();
}

quint16 Relay::port() const {
    return m_listener ? m_listener->serverPort() : 0;
}

void Relay::onNewConnection() {
    while (QTcpSocket *socket = m_listener->nextPendingConnection()) {
        if (m_stopping) {
            socket->abort();
            socket->deleteLater();
            continue;
        }
        const quint64 id = m_nextId++;
        auto *leg = new RelayLeg(socket, m_options.session, m_options.handshakeTimeoutMs,
                                 m_options.closeTimeoutMs, nullptr);
        auto *pair = new RelayPair(id, leg, m_options, this);
        connect(pair, &RelayPair::legEvent, this, &Relay::legEvent);
        connect(pair, &RelayPair::clientAccepted, this, &Relay::clientAccepted);
        connect(pair, &RelayPair::logMessage, this, &Relay::logMessage);
        connect(pair, &RelayPair::finished, this, &Relay::onPairFinished, Qt::QueuedConnection);
        m_pairs.append(pair);
        emit pairStarted(id, formatAddress(leg->peerAddress(), leg->peerPort()));
        pair->start();
    }
}

void Relay::onPairFinished(RelayPair *pair) {
    if (!m_pairs.removeOne(pair))
        return;
    const quint64 id = pair->id();
    pair->deleteLater();
    emit pairFinished(id);
    if (m_stopping && m_pairs.isEmpty())
        emit stopped();
}

void Relay::shutdown() {
    if (m_stopping)
        return;
    m_stopping = true;
    if (m_listener)
        m_listener->close();
    if (m_pairs.isEmpty()) {
        QMetaObject::invokeMethod(this, &Relay::stopped, Qt::QueuedConnection);
        return;
    }
    for (RelayPair *pair : QList<RelayPair *>(m_pairs))
        pair->shutdown();
}

} // namespace ws

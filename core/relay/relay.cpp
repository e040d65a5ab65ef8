#include "relay/relay.h"

#include "net/server.h"
#include "net/tcpserver.h"
#include "net/tlstcpserver.h"
#include "relay/relaypair.h"

#include <QTcpSocket>

#include <unistd.h>

namespace ws {

Relay::Relay(RelayOptions options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
    , m_staging(std::make_unique<RelayStaging>()) {
    qRegisterMetaType<ws::HeldMessage>();
}

Relay::~Relay() {
    // The pairs' legs go first: their sockets must not report into a half-destroyed relay.
    // Finished pairs waiting for deleteLater() are children too.
    for (RelayPair *pair : findChildren<RelayPair *>(Qt::FindDirectChildrenOnly)) {
        pair->setLegEventSink({});
        pair->setFrameRunSink({});
    }
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
        auto *plain = new UnbufferedTcpServer(this);
        // Under the command-line tool's dispatcher a client leg runs on its bare
        // descriptor: no QTcpSocket, notifiers or signals per relayed connection.
        if (EpollEventDispatcher *dispatcher = EpollEventDispatcher::ofThisThread())
            plain->setDescriptorHandler(
                [this, dispatcher](int descriptor) { relayDescriptor(descriptor, dispatcher); });
        m_listener = plain;
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
    while (QTcpSocket *socket = m_listener->nextPendingConnection())
        relayClient(socket, m_options.target, {});
}

void Relay::relayClient(QTcpSocket *socket, const QUrl &target, const QString &peer) {
    if (m_stopping) {
        socket->abort();
        socket->deleteLater();
        return;
    }
    startPair(socket, target, peer);
}

void Relay::relayDescriptor(int descriptor, EpollEventDispatcher *dispatcher) {
    if (m_stopping) {
        ::close(descriptor);
        return;
    }
    auto *leg = new RelayLeg(descriptor, dispatcher, m_options.session,
                             m_options.handshakeTimeoutMs, m_options.closeTimeoutMs, nullptr);
    if (leg->isFinished()) {
        delete leg;
        return;
    }
    startPair(leg, m_options.target, {});
}

void Relay::startPair(QTcpSocket *socket, const QUrl &target, const QString &peer) {
    startPair(new RelayLeg(socket, m_options.session, m_options.handshakeTimeoutMs,
                           m_options.closeTimeoutMs, nullptr),
              target, peer);
}

void Relay::startPair(RelayLeg *leg, const QUrl &target, const QString &peer) {
    const quint64 id = m_nextId++;
    auto *pair = new RelayPair(id, leg, m_options, target, this);
    pair->setStaging(m_staging.get());
    pair->setLegEventSink([this](quint64 pairId, RelayLegKind side, const SessionEvent &event) {
        if (m_legEventObserver)
            m_legEventObserver(pairId, side, event);
        emit legEvent(pairId, side, event);
    });
    if (m_frameRunObserver) {
        pair->setFrameRunSink([this](quint64 pairId, const RelayedRun &run) {
            if (m_frameRunObserver)
                m_frameRunObserver(pairId, run);
        });
    }
    connect(pair, &RelayPair::clientAccepted, this, &Relay::clientAccepted);
    connect(pair, &RelayPair::logMessage, this, &Relay::logMessage);
    connect(pair, &RelayPair::finished, this, &Relay::onPairFinished, Qt::QueuedConnection);
    connect(pair, &RelayPair::messageHeld, this, &Relay::messageHeld);
    connect(pair, &RelayPair::heldMessageRemoved, this, &Relay::heldMessageRemoved);
    connect(pair, &RelayPair::heldChanged, this, &Relay::heldChanged);
    m_pairs.append(pair);
    emit pairStarted(id, peer.isEmpty() ? formatAddress(leg->peerAddress(), leg->peerPort()) : peer,
                     target);
    pair->start();
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

// --- intercept and faults ------------------------------------------------------------

RelayPair *Relay::findPair(quint64 id) const {
    for (RelayPair *pair : m_pairs)
        if (pair->id() == id)
            return pair;
    return nullptr;
}

RelayPair *Relay::pairHolding(quint64 id) const {
    for (RelayPair *pair : m_pairs)
        if (pair->holds(id))
            return pair;
    return nullptr;
}

void Relay::setIntercept(const QList<InterceptRule> &rules) {
    m_staging->matcher = InterceptMatcher(rules, m_options.name);
    for (RelayPair *pair : QList<RelayPair *>(m_pairs))
        pair->stagingChanged();
}

QList<InterceptRule> Relay::intercept() const {
    return m_staging->matcher.rules();
}

QList<HeldMessage> Relay::heldMessages() const {
    QList<HeldMessage> list;
    for (const RelayPair *pair : m_pairs)
        list.append(pair->heldMessages());
    return list;
}

bool Relay::release(quint64 id) {
    RelayPair *pair = pairHolding(id);
    return pair && pair->release(id, std::nullopt, nullptr);
}

bool Relay::release(quint64 id, Opcode opcode, const QByteArray &payload) {
    RelayPair *pair = pairHolding(id);
    return pair && pair->release(id, opcode, &payload);
}

bool Relay::drop(quint64 id) {
    RelayPair *pair = pairHolding(id);
    return pair && pair->drop(id);
}

int Relay::releaseAll() {
    int count = 0;
    for (RelayPair *pair : QList<RelayPair *>(m_pairs))
        count += pair->releaseAll(std::nullopt);
    return count;
}

int Relay::releaseAll(quint64 pair, std::optional<RelayLegKind> to) {
    RelayPair *p = findPair(pair);
    return p ? p->releaseAll(to) : 0;
}

int Relay::dropAll() {
    int count = 0;
    for (RelayPair *pair : QList<RelayPair *>(m_pairs))
        count += pair->dropAll(std::nullopt);
    return count;
}

int Relay::dropAll(quint64 pair, std::optional<RelayLegKind> to) {
    RelayPair *p = findPair(pair);
    return p ? p->dropAll(to) : 0;
}

bool Relay::inject(quint64 pair, RelayLegKind to, Opcode opcode, const QByteArray &payload) {
    RelayPair *p = findPair(pair);
    return p && p->inject(to, opcode, payload, false);
}

bool Relay::injectClose(quint64 pair, RelayLegKind to, quint16 code, const QString &reason) {
    RelayPair *p = findPair(pair);
    return p && p->injectClose(to, code, reason);
}

bool Relay::resend(quint64 pair, RelayLegKind to, Opcode opcode, const QByteArray &payload) {
    RelayPair *p = findPair(pair);
    return p && p->inject(to, opcode, payload, true);
}

bool Relay::cut(quint64 pair, RelayLegKind leg, const RelayCut &how) {
    RelayPair *p = findPair(pair);
    return p && p->cut(leg, how);
}

void Relay::setFaults(const RelayFaults &faults) {
    m_staging->faults = faults;
    for (RelayPair *pair : QList<RelayPair *>(m_pairs))
        pair->stagingChanged();
}

void Relay::setFaults(RelayLegKind to, const RelayDirectionFaults &faults) {
    RelayFaults all = m_staging->faults;
    all.toward(to) = faults;
    setFaults(all);
}

RelayFaults Relay::faults() const {
    return m_staging->faults;
}

bool Relay::setPairFaults(quint64 pair, std::optional<RelayFaults> faults) {
    RelayPair *p = findPair(pair);
    if (!p || p->isFinished())
        return false;
    if (p->ownFaults() == faults)
        return true;
    p->setOwnFaults(std::move(faults));
    emit pairFaultsChanged(pair);
    return true;
}

std::optional<RelayFaults> Relay::pairFaults(quint64 pair) const {
    const RelayPair *p = findPair(pair);
    return p ? p->ownFaults() : std::nullopt;
}

int Relay::heldCount() const {
    int count = 0;
    for (const RelayPair *pair : m_pairs)
        count += pair->heldCount();
    return count;
}

qint64 Relay::heldBytes() const {
    qint64 bytes = 0;
    for (const RelayPair *pair : m_pairs)
        bytes += pair->heldBytes();
    return bytes;
}

} // namespace ws

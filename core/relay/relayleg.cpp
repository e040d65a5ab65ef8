#include "relay/relayleg.h"

#include "net/oneshottimer.h"
#include "protocol/permessagedeflate.h"

#include <QTcpSocket>

namespace ws {

namespace {

// What a paused client leg's socket may buffer: beyond it the kernel holds the
// bytes and TCP pushes back on the client.
constexpr qint64 PausedReadBufferSize = 64 * 1024;
// What one read takes otherwise, as our server's clients.
constexpr qint64 ReadBatchSize = 256 * 1024;

} // namespace

const char *relayLegName(RelayLegKind leg) {
    return leg == RelayLegKind::Client ? "client" : "server";
}

RelayLeg::RelayLeg(QTcpSocket *socket, SessionOptions session, int handshakeTimeoutMs,
                   int closeTimeoutMs, QObject *parent)
    : Connection(EventReporting::On, parent)
    , m_peerAddress(socket->peerAddress())
    , m_peerPort(socket->peerPort())
    , m_handshakeTimeoutMs(handshakeTimeoutMs) {
    setUp(std::move(session), closeTimeoutMs);
    socket->setParent(this);
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    socket->setReadBufferSize(ReadBatchSize);
    attachSocket(socket);
    connect(socket, &QTcpSocket::readyRead, this, &RelayLeg::onReadyRead);
    connect(socket, &QTcpSocket::disconnected, this, &RelayLeg::onDisconnected,
            Qt::QueuedConnection);
}

RelayLeg::RelayLeg(int descriptor, EpollEventDispatcher *dispatcher, SessionOptions session,
                   int handshakeTimeoutMs, int closeTimeoutMs, QObject *parent)
    : Connection(EventReporting::On, parent)
    , m_handshakeTimeoutMs(handshakeTimeoutMs) {
    setUp(std::move(session), closeTimeoutMs);
    // The descriptor's readiness comes to socketReadable(), its end to transportEnded().
    if (attachDescriptor(descriptor, dispatcher)) {
        m_peerAddress = remoteAddress();
        m_peerPort = remotePort();
    } else {
        finish();
    }
}

void RelayLeg::setUp(SessionOptions session, int closeTimeoutMs) {
    // The relay forwards pings and answers nothing itself.
    session.autoPong = false;
    // A close is answered with what the upstream answered.
    session.autoCloseAnswer = false;
    session.reportFrames = true;
    setSession(std::make_unique<Session>(session));
    setCloseTimeout(closeTimeoutMs);
}

RelayLeg::~RelayLeg() = default;

void RelayLeg::start() {
    if (m_handshakeTimeoutMs > 0)
        m_handshakeTimer.start(m_handshakeTimeoutMs, this);
    touch(nowMs());
    QMetaObject::invokeMethod(this, &RelayLeg::onReadyRead, Qt::QueuedConnection);
}

void RelayLeg::onReadyRead() {
    if (!m_paused)
        receive();
}

void RelayLeg::receiveLater() {
    QMetaObject::invokeMethod(this, &RelayLeg::onReadyRead, Qt::QueuedConnection);
}

void RelayLeg::onDisconnected() {
    if (isFinished())
        return;
    m_paused = false;
    receiveEof();
    finish();
}

void RelayLeg::transportEnded() {
    QMetaObject::invokeMethod(this, &RelayLeg::onDisconnected, Qt::QueuedConnection);
}

void RelayLeg::handleEvent(SessionEvent &event) {
    if (std::holds_alternative<ClosedEvent>(event)) {
        m_handshakeTimer.stop();
        if (isTransportConnected() && !isTransportClosing())
            armCloseDeadline();
    }
}

void RelayLeg::onHandshakeDeadline() {
    // As our server does with a client that never completes its request
    // (a slowloris): drop it, there is nobody to answer.
    if (!isFinished() && state() == SessionState::Connecting)
        drop(QStringLiteral("opening handshake not completed within %1 ms")
                 .arg(m_handshakeTimeoutMs));
}

void RelayLeg::sendHandshakeAnswer() {
    writeOutgoing();
    pump();
    flush();
}

void RelayLeg::acceptUpgrade(const QByteArray &subprotocol, const HttpHeaders &extraHeaders,
                             const DeflateConfig &deflate) {
    if (isEnding() || state() != SessionState::Connecting)
        return;
    m_handshakeTimer.stop();
    Session &session = mutableSession();
    const ServerHandshake *handshake = session.serverHandshake();
    if (deflate.policy != DeflatePolicy::Refuse && handshake) {
        // RFC 7692 §5.1: the first valid offer wins; invalid ones are declined.
        const DeflateNegotiation negotiation =
            negotiateDeflateServer(handshake->offeredExtensions(), deflate);
        if (negotiation.ok() && negotiation.params) {
            PerMessageDeflate *extension = setDeflate(
                std::make_unique<PerMessageDeflate>(Role::Server, *negotiation.params, deflate));
            session.accept(subprotocol, {negotiation.response}, extension, nowUs(), extraHeaders);
            return;
        }
    }
    session.accept(subprotocol, {}, nullptr, nowUs(), extraHeaders);
}

void RelayLeg::answerHttp(const QByteArray &response, const QString &why) {
    if (isEnding() || state() != SessionState::Connecting)
        return;
    m_handshakeTimer.stop();
    mutableSession().respondHttp(response, why, nowUs());
    sendHandshakeAnswer();
}

void RelayLeg::setReadingPaused(bool paused) {
    if (m_paused == paused)
        return;
    m_paused = paused;
    // A descriptor is no longer watched once a readiness goes unread, and watched again
    // by the next receive().
    if (QTcpSocket *s = socket())
        s->setReadBufferSize(paused ? PausedReadBufferSize : ReadBatchSize);
    if (!paused)
        receiveLater();
}

void RelayLeg::abort() {
    drop(QStringLiteral("aborted by the relay"));
}

void RelayLeg::closeDeadlineArmed() {
    m_closeTimer.start(int(std::max<qint64>(closeDeadlineMs() - nowMs(), 0)) + 1, this);
}

void RelayLeg::timerEvent(QTimerEvent *event) {
    if (firedOnce(m_handshakeTimer, event)) {
        onHandshakeDeadline();
    } else if (firedOnce(m_closeTimer, event)) {
        checkCloseDeadline(nowMs());
    } else {
        Connection::timerEvent(event);
    }
}

void RelayLeg::closeDeadlinePassed(bool, const QString &) {}

RelayUpstream::RelayUpstream(ClientOptions options, QObject *parent)
    : ClientConnection(std::move(options), parent) {}

RelayUpstream::~RelayUpstream() = default;

} // namespace ws

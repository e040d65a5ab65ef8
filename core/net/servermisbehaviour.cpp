// What a server client does wrong on purpose (Misbehaviour): delayed and fragmented
// replies, pongs withheld, slow reading, staged closes, a bad frame, a refused or
// broken handshake, and traffic the server starts itself. Each behaviour is told
// as it happens through ServerClient::staged().

#include "net/serverprivate.h"
#include "protocol/opcode.h"

#include <QDateTime>
#include <QRandomGenerator>
#include <QTcpSocket>

#include <algorithm>
#include <cmath>

#include <sys/socket.h>

namespace ws {

namespace {

// The burst never has more than this much waiting in the socket's queue.
constexpr qint64 BurstQueueLimit = 256 * 1024;
// A reader that stops: a small socket receive buffer, so that the client's send
// buffer fills instead of ours.
constexpr int StoppedReaderReceiveBuffer = 4096;

// A slow reader's: about half a second of its rate, so that the window the kernel
// advertises (which opens only by half the buffer at a time, RFC 1122 §4.2.3.3)
// never starves the reader below its rate.
int slowReaderReceiveBuffer(qint64 bytesPerSecond) {
    return int(std::clamp<qint64>(bytesPerSecond / 2, 16 * 1024, 256 * 1024));
}
// How often a slow reader's token bucket is refilled, and at most how much it holds.
constexpr int ReadTickMs = 50;

} // namespace

ServerClient::Staging &ServerClient::staging() {
    if (!m_staging) {
        m_staging = std::make_unique<Staging>();
        Staging &s = *m_staging;
        s.replyTimer.setSingleShot(true);
        s.replyTimer.setTimerType(Qt::PreciseTimer);
        connect(&s.replyTimer, &QTimer::timeout, this, &ServerClient::sendDueReplies);
        s.tickerTimer.setTimerType(Qt::PreciseTimer);
        connect(&s.tickerTimer, &QTimer::timeout, this, [this] {
            if (state() != SessionState::Open)
                return;
            Staging &st = *m_staging;
            ++st.ticks;
            const qint64 epochMs = QDateTime::currentMSecsSinceEpoch();
            const QByteArray tick = R"({"tick":)" + QByteArray::number(st.ticks) + R"(,"time":")" +
                                    QDateTime::fromMSecsSinceEpoch(epochMs, Qt::UTC)
                                        .toString(Qt::ISODateWithMs)
                                        .toLatin1() +
                                    R"(","epoch_ms":)" + QByteArray::number(epochMs) + '}';
            static_cast<void>(sendStaged(Opcode::Text, tick));
        });
        s.closeTimer.setSingleShot(true);
        connect(&s.closeTimer, &QTimer::timeout, this, [this] {
            stageClose(QStringLiteral("%1 ms after opening").arg(m_misbehaviour.closeAfterMs));
        });
        connect(&s.readTimer, &QTimer::timeout, this, &ServerClient::readThrottled);
    }
    return *m_staging;
}

void ServerClient::staged(const QString &what) {
    reportNote(ConformanceNote::Kind::Staged, what);
    m_server->d->log(QStringLiteral("%1: staged: %2").arg(m_server->d->who(this), what));
}

void ServerClient::setMisbehaviour(const Misbehaviour &misbehaviour) {
    const bool changed = misbehaviour != m_misbehaviour;
    m_misbehaviour = misbehaviour;
    Session &session = mutableSession();
    session.setAutoPong(m_server->options().session.autoPong &&
                        misbehaviour.pong == Misbehaviour::PongStyle::Normal);
    if (misbehaviour.limitsReading()) {
        const int buffer = misbehaviour.readBytesPerSecond > 0
                               ? slowReaderReceiveBuffer(misbehaviour.readBytesPerSecond)
                               : StoppedReaderReceiveBuffer;
        socket()->setSocketOption(QAbstractSocket::ReceiveBufferSizeSocketOption, buffer);
        // A buffered socket (TLS) would otherwise pull 256 KiB from the kernel.
        if (!isUnbuffered(socket()))
            socket()->setReadBufferSize(buffer);
    }
    if (!m_staging && misbehaviour.isOff())
        return;
    Staging &s = staging();
    s.messages = 0;
    s.readingStopped = false;
    s.readTokens = 0;
    s.readRefilledMs = nowMs();
    s.readMark = session.bytesReceived();
    if (misbehaviour.readBytesPerSecond > 0)
        s.readTimer.start(ReadTickMs);
    else
        s.readTimer.stop();
    if (changed && m_announced && !isEnding()) {
        // Running already: the timers start again with the new settings.
        stopStaging();
        if (!misbehaviour.isOff())
            staged(QStringLiteral("misbehaviour changed: %1")
                       .arg(misbehaviour.describe().join(QStringLiteral(", "))));
        else
            staged(QStringLiteral("misbehaviour off"));
        startStaging();
        // A reader that was stopped or throttled may read again.
        QMetaObject::invokeMethod(this, &ServerClient::onReadyRead, Qt::QueuedConnection);
    }
}

void ServerClient::startStaging() {
    if (!m_staging)
        return;
    Staging &s = *m_staging;
    s.started = true;
    const Misbehaviour &m = m_misbehaviour;
    if (m.tickerMs > 0) {
        staged(QStringLiteral("ticker every %1 ms").arg(m.tickerMs));
        s.tickerTimer.start(m.tickerMs);
    }
    if (m.closeAfterMs > 0)
        s.closeTimer.start(m.closeAfterMs);
    if (m.badFrame != Misbehaviour::BadFrame::None && m.badFrameAfter == 0 && !s.badFrameSent)
        sendBadFrame();
    if (isEnding())
        return;
    if (m.burstCount > 0 && !s.burstStarted) {
        s.burstStarted = true;
        s.burstSent = 0;
        s.burstStartMs = nowMs();
        staged(
            QStringLiteral("burst of %1 messages of %2 bytes").arg(m.burstCount).arg(m.burstSize));
        continueBurst();
    }
}

void ServerClient::stopStaging() {
    if (!m_staging)
        return;
    Staging &s = *m_staging;
    s.tickerTimer.stop();
    s.closeTimer.stop();
    s.badFrameSent = false;
    s.closeStaged = false;
    if (s.burstWatch) {
        disconnect(s.burstWatch);
        s.burstWatch = {};
    }
    s.burstStarted = false;
}

SendError ServerClient::stageMessage(Session &session, Opcode type, QByteArrayView data,
                                     qint64 nowUs) {
    const qint64 size = m_misbehaviour.fragmentSize;
    const auto whole = [&] {
        return type == Opcode::Binary ? session.sendBinary(data, nowUs)
                                      : session.sendText(data, nowUs);
    };
    if (size <= 0 || data.size() <= size)
        return whole();
    const qint64 frames = (data.size() + size - 1) / size;
    if (!m_misbehaviour.pingBetweenFragments) {
        const SendError error = type == Opcode::Binary ? session.sendBinary(data, nowUs, size)
                                                       : session.sendText(data, nowUs, size);
        if (error == SendError::None)
            staged(QStringLiteral("fragmented a %1-byte message into %2 frames of at most %3 bytes")
                       .arg(data.size())
                       .arg(frames)
                       .arg(size));
        return error;
    }
    // With pings between the fragments: the frames are written one by one.
    if (session.state() != SessionState::Open || session.closeSent())
        return SendError::NotOpen;
    for (qint64 offset = 0, index = 0; offset < data.size(); offset += size, ++index) {
        RawFrame frame;
        frame.opcode = offset == 0 ? quint8(type) : quint8(Opcode::Continuation);
        frame.fin = offset + size >= data.size();
        frame.payload = data.sliced(offset, std::min(size, data.size() - offset)).toByteArray();
        static_cast<void>(session.sendRaw(frame, nowUs));
        if (!frame.fin)
            static_cast<void>(session.sendPing("fragment " + QByteArray::number(index + 1), nowUs));
    }
    staged(QStringLiteral("fragmented a %1-byte message into %2 frames of at most %3 bytes, "
                          "with a ping between fragments")
               .arg(data.size())
               .arg(frames)
               .arg(size));
    return SendError::None;
}

SendError ServerClient::sendStaged(Opcode type, QByteArrayView data) {
    return sendThroughSession(
        [&](Session &session, qint64 now) { return stageMessage(session, type, data, now); });
}

void ServerClient::stageReply(Session &session, const DecodedMessage &message, qint64 nowUs) {
    const Misbehaviour &m = m_misbehaviour;
    if (!m.delaysReplies()) {
        static_cast<void>(stageMessage(session, message.type, message.data, nowUs));
        return;
    }
    Staging &s = staging();
    const int delay =
        m.replyDelayMinMs >= m.replyDelayMaxMs
            ? m.replyDelayMaxMs
            : int(QRandomGenerator::global()->bounded(m.replyDelayMinMs, m.replyDelayMaxMs + 1));
    // Replies keep their order: one drawn shorter than the one before waits for it.
    const qint64 due = std::max(nowUs / 1000 + delay, s.lastDueMs);
    s.lastDueMs = due;
    s.replies.push_back({due, delay, message.type, message.data, {}});
    if (!s.replyTimer.isActive())
        s.replyTimer.start(int(std::max<qint64>(0, due - nowMs())));
}

void ServerClient::sendDueReplies() {
    Staging &s = staging();
    while (!s.replies.empty() && !isEnding()) {
        const qint64 now = nowMs();
        Staging::Reply &next = s.replies.front();
        if (next.dueMs > now) {
            s.replyTimer.start(int(next.dueMs - now));
            return;
        }
        Staging::Reply reply = std::move(next);
        s.replies.pop_front();
        if (reply.action) {
            reply.action();
            continue;
        }
        staged(QStringLiteral("delayed reply %1 ms").arg(reply.delayMs));
        static_cast<void>(sendStaged(reply.type, reply.data));
    }
}

void ServerClient::afterReplies(std::function<void()> action) {
    if (!m_staging || m_staging->replies.empty()) {
        action();
        return;
    }
    m_staging->replies.push_back({m_staging->lastDueMs, 0, Opcode::Text, {}, std::move(action)});
}

void ServerClient::countMessage() {
    if (!m_staging || isEnding())
        return;
    Staging &s = *m_staging;
    const Misbehaviour &m = m_misbehaviour;
    const int count = ++s.messages;
    if (m.stopReadingAfter > 0 && count == m.stopReadingAfter && !s.readingStopped) {
        s.readingStopped = true;
        staged(QStringLiteral("stopped reading after %1 messages").arg(count));
    }
    if (m.badFrame != Misbehaviour::BadFrame::None && m.badFrameAfter > 0 &&
        count == m.badFrameAfter)
        afterReplies([this] { sendBadFrame(); });
    if (m.closeAfterMessages > 0 && count == m.closeAfterMessages)
        afterReplies([this, count] { stageClose(QStringLiteral("after %1 messages").arg(count)); });
}

void ServerClient::sendBadFrame() {
    Staging &s = staging();
    if (s.badFrameSent || isEnding())
        return;
    s.badFrameSent = true;
    const Misbehaviour::BadFrame kind = m_misbehaviour.badFrame;
    staged(QStringLiteral("sent bad frame: %1").arg(QLatin1String(badFrameName(kind))));
    static_cast<void>(sendRaw(badFrameFor(kind)));
}

void ServerClient::stageClose(const QString &why) {
    Staging &s = staging();
    if (s.closeStaged || isEnding())
        return;
    s.closeStaged = true;
    const Misbehaviour &m = m_misbehaviour;
    const auto sendCloseFrame = [&] {
        if (sendClose(m.closeCode, m.closeReason) == SendError::InvalidCloseCode) {
            // A code the RFC forbids on the wire, asked for on purpose.
            RawFrame close;
            close.opcode = quint8(Opcode::Close);
            close.payload = QByteArray(1, char(m.closeCode >> 8)) + char(m.closeCode & 0xFF) +
                            m.closeReason.toUtf8();
            static_cast<void>(sendRaw(close));
        }
    };
    switch (m.closeStyle) {
    case Misbehaviour::CloseStyle::Clean:
        staged(QStringLiteral("closing with %1 %2 (%3)")
                   .arg(m.closeCode)
                   .arg(m.closeReason.isEmpty() ? QStringLiteral("without a reason")
                                                : QStringLiteral("\"%1\"").arg(m.closeReason),
                        why));
        sendCloseFrame();
        return;
    case Misbehaviour::CloseStyle::NoWait:
        staged(QStringLiteral("sent close %1 and closed TCP without waiting for the answer (%2)")
                   .arg(m.closeCode)
                   .arg(why));
        sendCloseFrame();
        if (!isEnding() && socket()->state() == QAbstractSocket::ConnectedState)
            socket()->disconnectFromHost();
        return;
    case Misbehaviour::CloseStyle::Fin:
        staged(QStringLiteral("closed abruptly (FIN, no close frame) (%1)").arg(why));
        if (socket()->state() == QAbstractSocket::ConnectedState)
            socket()->disconnectFromHost();
        return;
    case Misbehaviour::CloseStyle::Reset: {
        staged(QStringLiteral("closed abruptly (RST) (%1)").arg(why));
        // SO_LINGER with a zero timeout: close(2) resets the connection instead of
        // sending a FIN (and drops what is unsent).
        const qintptr descriptor = socket()->socketDescriptor();
        if (descriptor >= 0) {
            const linger reset{1, 0};
            ::setsockopt(int(descriptor), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        }
        drop(QStringLiteral("closed abruptly (RST), staged"));
        return;
    }
    }
}

void ServerClient::continueBurst() {
    Staging &s = staging();
    const Misbehaviour &m = m_misbehaviour;
    if (!s.burstStarted)
        return;
    QByteArray message(qsizetype(std::max<qint64>(m.burstSize, 0)), 'x');
    while (s.burstSent < m.burstCount && !isEnding() && state() == SessionState::Open) {
        if (pendingBytes() > BurstQueueLimit) {
            // Back-pressure: go on once the socket's queue has drained some.
            if (!s.burstWatch)
                s.burstWatch =
                    connect(socket(), &QTcpSocket::bytesWritten, this, [this] { continueBurst(); });
            return;
        }
        // Each message says which it is at the start, as far as it has room.
        const QByteArray number = QByteArray::number(s.burstSent + 1);
        message.replace(0, std::min(number.size(), message.size()), number.left(message.size()));
        if (sendStaged(Opcode::Text, message) != SendError::None)
            break;
        ++s.burstSent;
    }
    if (s.burstWatch) {
        disconnect(s.burstWatch);
        s.burstWatch = {};
    }
    if (s.burstSent >= m.burstCount) {
        staged(QStringLiteral("burst done: %1 messages (%2 bytes) in %3 ms")
                   .arg(s.burstSent)
                   .arg(qint64(s.burstSent) * m.burstSize)
                   .arg(nowMs() - s.burstStartMs));
        s.burstStarted = false;
    }
}

void ServerClient::onPing(const PingEvent &ping) {
    const Misbehaviour &m = m_misbehaviour;
    switch (m.pong) {
    case Misbehaviour::PongStyle::Normal:
        return;
    case Misbehaviour::PongStyle::Withhold:
        staged(QStringLiteral("withheld pong (ping of %1 bytes)").arg(ping.payload.size()));
        return;
    case Misbehaviour::PongStyle::Delay: {
        staged(QStringLiteral("delaying pong %1 ms").arg(m.pongDelayMs));
        const QByteArray payload = ping.payload;
        const int delay = m.pongDelayMs;
        QTimer::singleShot(delay, Qt::PreciseTimer, this, [this, payload, delay] {
            if (sendPong(payload) == SendError::None)
                staged(QStringLiteral("delayed pong %1 ms").arg(delay));
        });
        return;
    }
    case Misbehaviour::PongStyle::Wrong: {
        // Not the ping's payload: reversed, and marked, so it can never match it.
        QByteArray wrong = ping.payload;
        std::reverse(wrong.begin(), wrong.end());
        wrong = ("wrong:" + wrong).left(125);
        staged(QStringLiteral("pong with a wrong payload"));
        static_cast<void>(sendPong(wrong));
        return;
    }
    }
}

qint64 ServerClient::readAllowance() const {
    if (!m_staging || state() == SessionState::Connecting)
        return UnbufferedReadSize;
    const Staging &s = *m_staging;
    if (s.readingStopped)
        return 0;
    if (m_misbehaviour.readBytesPerSecond <= 0)
        return UnbufferedReadSize;
    return qint64(s.readTokens) - (session().bytesReceived() - s.readMark);
}

void ServerClient::readThrottled() {
    if (!m_staging || isEnding())
        return;
    Staging &s = *m_staging;
    const qint64 rate = m_misbehaviour.readBytesPerSecond;
    if (rate <= 0) {
        s.readTimer.stop();
        return;
    }
    // What was read since the last tick (here or on readyRead) is spent.
    const auto settle = [this, &s] {
        const qint64 received = session().bytesReceived();
        s.readTokens = std::max(0.0, s.readTokens - double(received - s.readMark));
        s.readMark = received;
    };
    settle();
    const qint64 now = nowMs();
    // At most one tick's worth (or a byte) accumulates: idle time is not saved up.
    const double cap = std::max(1.0, double(rate) * ReadTickMs / 1000.0);
    s.readTokens =
        std::min(cap, s.readTokens + double(rate) * double(now - s.readRefilledMs) / 1000.0);
    s.readRefilledMs = now;
    if (m_paused || s.readingStopped || s.readTokens < 1)
        return;
    receive();
    if (!isFinished())
        settle();
}

// ---------------------------------------------------------------------------

void Server::Private::answerUpgrade(ServerClient *c, bool delayDone) {
    const Misbehaviour &m = c->misbehaviour();
    Session &session = c->mutableSession();
    if (m.handshakeDelayMs > 0 && !delayDone) {
        const int delay = m.handshakeDelayMs;
        c->staged(QStringLiteral("delaying the handshake answer %1 ms").arg(delay));
        QTimer::singleShot(delay, Qt::PreciseTimer, c, [this, c] {
            if (c->isEnding() || c->state() != SessionState::Connecting)
                return;
            answerUpgrade(c, true);
            // Outside a read, so the answer (and what it decoded) goes out from here.
            c->writeOutgoing();
            c->pump();
            if (!c->isEnding())
                c->flush();
        });
        return;
    }
    if (m.refuseStatus > 0) {
        c->m_logged = true;
        const QString why = QStringLiteral("refused the handshake with %1").arg(m.refuseStatus);
        c->staged(why);
        session.respondHttp(refusalResponse(m), why, nowUs());
        return;
    }
    if (m.badUpgrade != Misbehaviour::BadUpgrade::None && session.serverHandshake()) {
        c->m_logged = true;
        const QString why = QStringLiteral("answered the upgrade with a broken 101 (%1)")
                                .arg(QLatin1String(badUpgradeName(m.badUpgrade)));
        c->staged(why);
        session.respondHttp(brokenUpgradeResponse(m.badUpgrade, *session.serverHandshake()), why,
                            nowUs());
        return;
    }
    applyPolicy(c);
}

} // namespace ws

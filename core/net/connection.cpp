#include "net/connection.h"

#include "net/socketio.h"

#include <QScopeGuard>
#include <QTcpSocket>

#include <algorithm>

namespace ws {

Connection::Connection(EventReporting reporting, QObject *parent)
    : QObject(parent)
    , m_reporting(reporting) {
    registerNetMetaTypes();
}

Connection::~Connection() {
    forgetReadBufferBorrower(this);
    if (m_dispatcher && m_shortcutFd >= 0)
        m_dispatcher->dropReadShortcut(m_shortcutFd, this);
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
    }
}

qint64 Connection::pendingBytes() const {
    if (m_descriptor)
        return m_descriptor->bytesToWrite();
    return m_socket ? m_socket->bytesToWrite() : 0;
}

void Connection::watchWritten(std::function<void()> handler) {
    unwatchWritten();
    m_writtenHandler = std::move(handler);
    if (m_socket)
        m_writtenWatch = connect(m_socket, &QIODevice::bytesWritten, this, [this] {
            if (m_writtenHandler)
                m_writtenHandler();
        });
}

void Connection::unwatchWritten() {
    m_writtenHandler = nullptr;
    if (m_writtenWatch)
        disconnect(m_writtenWatch);
    m_writtenWatch = {};
}

void Connection::attachSocket(QTcpSocket *socket) {
    m_socket = socket;
}

bool Connection::attachDescriptor(int descriptor, EpollEventDispatcher *dispatcher) {
    DescriptorSocket::Owner *owner = this;
    m_descriptor = std::make_unique<DescriptorSocket>(descriptor, dispatcher, owner);
    return m_descriptor->isOpen();
}

bool Connection::connectDescriptor(const QHostAddress &address, quint16 port,
                                   EpollEventDispatcher *dispatcher) {
    m_descriptor = DescriptorSocket::connectTo(address, port, dispatcher, this);
    return m_descriptor->isOpen();
}

bool Connection::isTransportConnected() const {
    if (m_descriptor)
        return m_descriptor->isConnected();
    return m_socket && m_socket->state() == QAbstractSocket::ConnectedState;
}

void Connection::descriptorReadable() {
    m_descriptorRead = false;
    socketReadable();
    // Level-triggered: a descriptor nobody reads (a paused reader, a connection that
    // has finished) would be reported on every pass. The next receive() watches it
    // again, as QTcpSocket watches again once read.
    if (!m_descriptorRead && m_descriptor)
        m_descriptor->setReading(false);
}

qint64 Connection::descriptorReadSize() {
    // What receive() would read first, unless something else reads now.
    if (m_finished || m_finishPending || m_receiveDepth > 0 || !m_session)
        return 0;
    return nextReadSize(m_reporting == EventReporting::On && m_eventsWatched);
}

qint64 Connection::nextReadSize(bool bounded) const {
    const qint64 allowance = readAllowance();
    if (allowance <= 0)
        return 0;
    // A bounded turn reads ReportedReadBudget, or the rest of a large frame up to
    // UnbufferedReadSize: bytes that complete nothing make no event to report.
    const qint64 budget = bounded ? std::clamp(m_session->incomingFrameBytesLeft(),
                                               ReportedReadBudget, UnbufferedReadSize)
                                  : UnbufferedReadSize;
    return std::min(budget, allowance);
}

void Connection::descriptorWritten() {
    if (m_writtenHandler)
        m_writtenHandler();
}

void Connection::descriptorEnded() {
    transportEnded();
}

void Connection::descriptorConnected() {
    transportConnected();
}

PerMessageDeflate *Connection::setDeflate(std::unique_ptr<PerMessageDeflate> deflate) {
    m_deflate = std::move(deflate);
    return m_deflate.get();
}

QHostAddress Connection::localAddress() const {
    if (m_descriptor)
        return m_descriptor->localAddress();
    return m_socket ? m_socket->localAddress() : QHostAddress();
}

quint16 Connection::localPort() const {
    if (m_descriptor)
        return m_descriptor->localPort();
    return m_socket ? m_socket->localPort() : 0;
}

QHostAddress Connection::remoteAddress() const {
    if (m_descriptor)
        return m_descriptor->peerAddress();
    return m_socket ? m_socket->peerAddress() : QHostAddress();
}

quint16 Connection::remotePort() const {
    if (m_descriptor)
        return m_descriptor->peerPort();
    return m_socket ? m_socket->peerPort() : 0;
}

bool Connection::canReadAhead() const {
    if (m_descriptor)
        return !m_finished && m_descriptor->isConnected();
    return m_socket && !m_finished && isUnbuffered(m_socket) &&
           m_socket->state() == QAbstractSocket::ConnectedState;
}

qintptr Connection::socketDescriptor() const {
    if (m_descriptor)
        return m_descriptor->descriptor();
    return m_socket ? m_socket->socketDescriptor() : -1;
}

void Connection::receive() {
    receiveBatches(m_reporting == EventReporting::On && m_eventsWatched);
}

bool Connection::readReady() {
    m_readingDescriptor = true;
    m_descriptorRead = false;
    socketReadable();
    m_readingDescriptor = false;
    return m_descriptorRead;
}

void Connection::shortcutReads() {
    if (!m_dispatcherLookedUp) {
        m_dispatcherLookedUp = true;
        m_dispatcher = EpollEventDispatcher::ofThisThread();
    }
    if (!m_dispatcher || !m_socket || !isUnbuffered(m_socket) ||
        m_socket->state() != QAbstractSocket::ConnectedState)
        return;
    const qintptr fd = m_socket->socketDescriptor();
    if (m_dispatcher->shortcutReads(fd, this))
        m_shortcutFd = fd;
}

void Connection::receiveBatches(bool bounded) {
    if (m_finished || m_finishPending || (!m_socket && !m_descriptor))
        return;
    // From readyRead() or the role: read through QTcpSocket this time, and let the
    // dispatcher's readiness come to readReady() from now on.
    const bool fromDescriptor = m_readingDescriptor;
    if (m_descriptor)
        m_descriptor->setReading(true);
    else if (!fromDescriptor)
        shortcutReads();
    ++m_receiveDepth;
    const auto leave = qScopeGuard([this] { --m_receiveDepth; });
    for (bool more = true; more;) {
        const qint64 wanted = nextReadSize(bounded);
        if (wanted <= 0)
            return;
        const SocketRead chunk = m_descriptor     ? m_descriptor->read(wanted)
                                 : fromDescriptor ? readFromDescriptor(m_socket, wanted)
                                                  : readFromSocket(m_socket, wanted);
        m_descriptorRead = true;
        // The time the bytes arrived, as near the read as it gets: taken before
        // anything is decoded or reported.
        const qint64 readUs = nowUs();
        m_lastReadUs = readUs;
        if (chunk.ended) {
            // An unbuffered socket met the end (or a failure) on our read and emits
            // neither errorOccurred() nor disconnected().
            transportEnded();
            return;
        }
        const QByteArrayView data = chunk.data;
        if (data.isEmpty())
            break;
        more = chunk.mayHaveMore;
        touch(readUs / 1000);
        // After the end nothing more is read: RFC 6455 §7.1.7 / §5.5.1.
        if (m_session->state() == SessionState::Closed)
            continue;
        beforeReceive(readUs);
        m_readBufferChunk = chunk.inReadBuffer ? data : QByteArrayView();
        m_session->receiveData(data, readUs);
        m_readBufferChunk = {};
        if (m_batchHandler)
            m_batchHandler();
        // Answers made while decoding (pongs, close answers, echoes) leave before the
        // events are reported, so their events carry the time they left.
        writeOutgoing();
        pump();
        const bool ending = m_finished || m_finishPending;
        if (!ending)
            flush();
        if (m_reportedHandler)
            m_reportedHandler();
        if (ending)
            return;
        if (!afterReceive())
            return;
        if (bounded && more) {
            // The rest on the next turn, after the other sockets had theirs.
            if (m_socket && !isUnbuffered(m_socket))
                receiveLater();
            return;
        }
    }
}

void Connection::receiveLater() {
    QMetaObject::invokeMethod(this, &Connection::receive, Qt::QueuedConnection);
}

void Connection::receiveEof() {
    if (m_finished)
        return;
    // All of it: nothing more will announce it.
    if (m_socket && m_socket->bytesAvailable() > 0)
        receiveBatches(false);
    if (m_finished)
        return;
    if (m_session->state() != SessionState::Closed) {
        m_session->receiveEof(nowUs());
        pump();
    }
}

void Connection::pump() {
    // A send from a sessionEvent slot lands here again: the running loop takes the
    // new events in order, so one nesting per message cannot pile up.
    if (m_pumping)
        return;
    m_pumping = true;
    while (m_session->hasEvent()) {
        SessionEvent event = m_session->takeEvent();
        if (!admitEvent(event))
            continue;
        if (m_reporting == EventReporting::On)
            report(event);
        if (const auto *state = std::get_if<StateEvent>(&event))
            emit stateChanged(state->state);
        handleEvent(event);
    }
    m_pumping = false;
    if (m_finishPending) {
        m_finishPending = false;
        finish();
    }
}

void Connection::writeOutgoing() {
    if ((!m_socket && !m_descriptor) || !m_session->hasOutgoing())
        return;
    const bool connected = isTransportConnected();
    if (m_descriptor)
        writeSessionOutput(m_descriptor.get(), *m_session, connected);
    else
        writeSessionOutput(m_socket, *m_session, connected);
    if (connected && m_session->awaitsWrittenTime())
        m_session->outgoingWritten(nowUs());
}

void Connection::flush() {
    if (!m_socket && !m_descriptor)
        return;
    writeOutgoing();
    if (!m_transportClosing && m_session->shouldCloseTransport()) {
        m_transportClosing = true;
        // Bounded even when the peer stops reading what is left to write.
        armCloseDeadline();
        if (m_descriptor) {
            // As below: at once when the peer has said all it will say.
            if (m_descriptor->isConnected())
                m_descriptor->close(!m_session->closeReceived(), m_closeTimeoutMs);
        } else if (m_socket->state() == QAbstractSocket::ConnectedState) {
            // The peer sends nothing after its close frame (RFC 6455 §5.5.1), and what
            // came with it was read: no byte of its is left to meet our close with a
            // reset, so plain TCP closes at once (once what is queued is written).
            // Otherwise (we failed the connection while the peer may still be sending,
            // or TLS, whose close_notify may still come) in stages.
            if (m_session->closeReceived() && isUnbuffered(m_socket))
                m_socket->disconnectFromHost();
            else
                closeLingering(m_socket, m_closeTimeoutMs);
        }
    } else if (m_session->closeSent() && m_session->state() != SessionState::Closed) {
        armCloseDeadline();
    }
}

void Connection::armCloseDeadline() {
    if (m_closeDeadlineMs >= 0 || m_finished)
        return;
    m_closeDeadlineMs = nowMs() + m_closeTimeoutMs;
    closeDeadlineArmed();
}

void Connection::checkCloseDeadline(qint64 now) {
    if (m_finished || m_closeDeadlineMs < 0 || now < m_closeDeadlineMs)
        return;
    m_closeDeadlineMs = -1;
    const bool answered = m_session->state() == SessionState::Closed;
    if (!answered) {
        // RFC 6455 §7.1.1: an endpoint may give up on a close handshake that does not end.
        const QString why =
            QStringLiteral("our close frame was not answered within %1 ms").arg(m_closeTimeoutMs);
        reportNote(ConformanceNote::Kind::CloseNotAnswered, why);
        closeDeadlinePassed(false, why);
        if (m_finished)
            return;
        m_session->abort(why, nowUs());
        pump();
    } else {
        closeDeadlinePassed(
            true,
            QStringLiteral("the TCP connection did not close within %1 ms").arg(m_closeTimeoutMs));
    }
    if (m_finished)
        return;
    abortSocket();
    finish();
}

void Connection::drop(const QString &why) {
    if (m_finished)
        return;
    if (m_session->state() != SessionState::Closed) {
        m_session->abort(why, nowUs());
        pump();
    }
    abortSocket();
    finish();
}

void Connection::abortSocket() {
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
    }
    if (m_descriptor)
        m_descriptor->abort();
}

void Connection::finish() {
    if (m_finished)
        return;
    // Asked for from a slot while events are being emitted (e.g. abort()): finished()
    // comes after the remaining events, the ClosedEvent among them.
    if (m_pumping) {
        m_finishPending = true;
        return;
    }
    m_finished = true;
    m_closeDeadlineMs = -1;
    aboutToFinish();
    emit finished();
    afterFinish();
}

void Connection::reportNote(ConformanceNote::Kind kind, const QString &text) {
    if (m_reporting != EventReporting::On)
        return;
    NoteEvent note;
    note.timestampUs = nowUs();
    note.note.kind = kind;
    note.note.text = text;
    report(SessionEvent(note));
}

void Connection::report(const SessionEvent &event) {
    if (m_eventObserver)
        m_eventObserver(event);
    emit sessionEvent(event);
}

void Connection::writeQueued() {
    writeOutgoing();
    pump();
    flush();
    if (!m_finished)
        afterSend();
}

SendError Connection::queueDataFrame(const FrameHeader &header, QByteArrayView payload,
                                     QByteArray *buffer, qint64 nowUs) {
    if (!mayQueue())
        return SendError::NotOpen;
    return m_session->sendDataFrame(header.op(), payload, header.fin, nowUs, buffer);
}

bool Connection::queueFrameRun(QByteArrayView wireFrames, qint64 nowUs, QByteArrayView *sent) {
    return mayQueue() && m_session->sendFrameRun(wireFrames, nowUs, sent);
}

bool Connection::queueFrameRunInPlace(char *wireFrames, qsizetype size, qint64 nowUs) {
    if (!mayQueue() || !m_session->sendFrameRunInPlace(wireFrames, size, nowUs))
        return false;
    borrowReadBuffer(this);
    return true;
}

SendError Connection::queueDataPiece(const FrameHeader &header, quint64 offset,
                                     QByteArrayView wireBytes, qint64 nowUs, FrameHeader *sent) {
    if (!mayQueue())
        return SendError::NotOpen;
    return m_session->sendDataPiece(header, offset, wireBytes, nowUs, sent);
}

SendError Connection::queueDataPieceInPlace(const FrameHeader &header, quint64 offset,
                                            char *wireBytes, qsizetype size, qint64 nowUs) {
    if (!mayQueue())
        return SendError::NotOpen;
    const SendError result =
        m_session->sendDataPieceInPlace(header, offset, wireBytes, size, nowUs);
    if (m_session->refersToCallerBytes())
        borrowReadBuffer(this);
    return result;
}

void Connection::returnReadBuffer() {
    if (m_session)
        m_session->ownOutgoing();
}

SendError Connection::sendText(const QByteArray &utf8, qint64 fragmentSize) {
    return sendThroughSession(
        [&](Session &s, qint64 now) { return s.sendText(utf8, now, fragmentSize); });
}

SendError Connection::sendBinary(const QByteArray &data, qint64 fragmentSize) {
    return sendThroughSession(
        [&](Session &s, qint64 now) { return s.sendBinary(data, now, fragmentSize); });
}

SendError Connection::sendPing(const QByteArray &payload) {
    return sendThroughSession([&](Session &s, qint64 now) { return s.sendPing(payload, now); });
}

SendError Connection::sendPong(const QByteArray &payload) {
    return sendThroughSession([&](Session &s, qint64 now) { return s.sendPong(payload, now); });
}

SendError Connection::sendClose(std::optional<quint16> code, const QString &reason) {
    return sendThroughSession(
        [&](Session &s, qint64 now) { return s.sendClose(code, reason, now); });
}

SendError Connection::sendRaw(const RawFrame &frame) {
    // Raw frames bypass the session's state checks, so the transport itself must be up.
    if (!isTransportConnected())
        return SendError::NotOpen;
    return sendThroughSession([&](Session &s, qint64 now) { return s.sendRaw(frame, now); });
}

} // namespace ws

#include "messagestreamer.h"

#include "net/connection.h"

#include <QSocketNotifier>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ws {

MessageStreamer::MessageStreamer(Connection *connection, int fd, bool ownsFd, Opcode type,
                                 QString what, QObject *parent)
    : QObject(parent)
    , m_connection(connection)
    , m_fd(fd)
    , m_ownsFd(ownsFd)
    , m_type(type)
    , m_what(std::move(what)) {
    // While the socket holds more than the high-water mark, look again shortly:
    // the connection has no "written" signal of its own.
    m_drain.setSingleShot(true);
    m_drain.setInterval(1);
    connect(&m_drain, &QTimer::timeout, this, &MessageStreamer::pump);
    struct stat info = {};
    const bool regular = ::fstat(m_fd, &info) == 0 && S_ISREG(info.st_mode);
    if (!regular) {
        // A pipe, a terminal or a socket: read when it has bytes, never block on it.
        // The flags belong to the open file, which a terminal shares with the
        // shell: they are put back at the end.
        m_savedFlags = ::fcntl(m_fd, F_GETFL);
        if (m_savedFlags != -1)
            ::fcntl(m_fd, F_SETFL, m_savedFlags | O_NONBLOCK);
        m_notifier = new QSocketNotifier(m_fd, QSocketNotifier::Read, this);
        m_notifier->setEnabled(false);
        connect(m_notifier, &QSocketNotifier::activated, this, &MessageStreamer::pump);
    }
}

MessageStreamer::~MessageStreamer() {
    closeFd();
}

void MessageStreamer::closeFd() {
    if (m_notifier) {
        m_notifier->setEnabled(false);
        delete m_notifier;
        m_notifier = nullptr;
    }
    if (m_fd >= 0 && m_savedFlags != -1)
        ::fcntl(m_fd, F_SETFL, m_savedFlags);
    if (m_ownsFd && m_fd >= 0)
        ::close(m_fd);
    m_fd = -1;
}

void MessageStreamer::start() {
    if (m_started)
        return;
    m_started = true;
    pump();
}

bool MessageStreamer::fill() {
    if (m_next.size() != PieceBytes)
        m_next.resize(PieceBytes);
    while (m_nextFill < PieceBytes) {
        const ssize_t count =
            ::read(m_fd, m_next.data() + m_nextFill, size_t(PieceBytes - m_nextFill));
        if (count > 0) {
            m_nextFill += count;
            continue;
        }
        if (count == 0) {
            m_eof = true;
            return true;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            m_notifier->setEnabled(true);
            return false;
        }
        fail(QStringLiteral("cannot read %1: %2")
                 .arg(m_what, QString::fromLocal8Bit(std::strerror(errno))));
        return false;
    }
    return true;
}

void MessageStreamer::pump() {
    if (m_notifier)
        m_notifier->setEnabled(false);
    while (!m_done) {
        if (m_connection->pendingBytes() > HighWaterBytes) {
            m_drain.start();
            return;
        }
        if (!fill())
            return;
        QByteArray piece = m_next.first(m_nextFill);
        m_nextFill = 0;
        if (m_eof) {
            // The held piece and what was read since are the end of the message.
            if (!m_held.isEmpty() && !piece.isEmpty()) {
                if (!sendPiece(std::exchange(m_held, {}), false))
                    return;
            } else if (!piece.isEmpty()) {
                m_held.clear();
            } else {
                piece = std::exchange(m_held, {});
            }
            if (!sendPiece(piece, true))
                return;
            m_done = true;
            closeFd();
            emit finished();
            return;
        }
        // A whole piece and more may follow: the held one is not the last.
        if (!m_held.isEmpty() && !sendPiece(m_held, false))
            return;
        m_held = piece;
    }
}

bool MessageStreamer::sendPiece(const QByteArray &piece, bool last) {
    if (m_type == Opcode::Text) {
        const Utf8Validator::Status status = m_utf8.feed(piece);
        if (status == Utf8Validator::Status::Invalid ||
            (last && status != Utf8Validator::Status::Valid)) {
            fail(QStringLiteral("%1 is not valid UTF-8 (at byte %2): a text message must be "
                                "(RFC 6455 \u00a78.1); send it with --binary")
                     .arg(m_what)
                     .arg(status == Utf8Validator::Status::Invalid ? m_utf8.errorOffset()
                                                                   : m_bytesSent + piece.size()));
            return false;
        }
    }
    SendError error = SendError::None;
    if (last && !m_fragmented) {
        // The whole message in one piece: an ordinary message (compressed when
        // permessage-deflate is in use).
        error = m_type == Opcode::Text ? m_connection->sendText(piece)
                                       : m_connection->sendBinary(piece);
    } else {
        RawFrame frame;
        frame.fin = last;
        frame.opcode = quint8(m_fragmented ? Opcode::Continuation : m_type);
        // RFC 6455 §5.3: every frame of a client is masked with a fresh key.
        frame.maskingKey = m_keys.next();
        frame.payload = piece;
        error = m_connection->sendRaw(frame);
        m_fragmented = true;
    }
    if (error != SendError::None) {
        fail(
            QStringLiteral("%1 not sent: %2").arg(m_what, QString::fromUtf8(sendErrorText(error))));
        return false;
    }
    m_bytesSent += piece.size();
    return true;
}

void MessageStreamer::fail(const QString &message) {
    m_done = true;
    m_drain.stop();
    closeFd();
    emit failed(message);
}

} // namespace ws

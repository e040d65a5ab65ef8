#include "net/socketio.h"

#include "net/descriptorsocket.h"
#include "net/oneshottimer.h"
#include "protocol/session.h"

#include <QBasicTimer>
#include <QSocketNotifier>
#include <QSslSocket>
#include <QTcpSocket>
#include <QTimerEvent>

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#ifdef Q_OS_UNIX
#include <cerrno>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>
#endif

namespace ws {

namespace {

constexpr qsizetype ShareThreshold = 64 * 1024;

#ifdef Q_OS_UNIX
#ifdef MSG_NOSIGNAL
constexpr int SendFlags = MSG_NOSIGNAL | MSG_DONTWAIT;
#else
// Where there is no MSG_NOSIGNAL, QTcpSocket has set SO_NOSIGPIPE on the socket.
constexpr int SendFlags = MSG_DONTWAIT;
#endif

// Sends as much as the kernel takes now; returns how much that was.
qsizetype sendNow(qintptr descriptor, const char *data, qsizetype size) {
    qsizetype done = 0;
    while (done < size) {
        const ssize_t n = ::send(int(descriptor), data + done, size_t(size - done), SendFlags);
        if (n > 0) {
            done += n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            // Full (EAGAIN) or failing: QTcpSocket takes the rest and, on failure,
            // reports the error and the disconnection itself.
            break;
        }
    }
    return done;
}

// At most this many pieces per sendmsg(2) (well under IOV_MAX).
constexpr qsizetype MaxGather = 64;

} // namespace

qsizetype sendPieces(int descriptor, const QList<QByteArray> &pieces, qsizetype first,
                     qsizetype last, qsizetype firstOffset) {
    qsizetype done = 0;
    while (first < last) {
        iovec vectors[MaxGather];
        int count = 0;
        qsizetype wanted = 0;
        for (qsizetype i = first; i < last && count < MaxGather; ++i, ++count) {
            const qsizetype skip = i == first ? firstOffset : 0;
            vectors[count].iov_base = const_cast<char *>(pieces[i].constData() + skip);
            vectors[count].iov_len = size_t(pieces[i].size() - skip);
            wanted += pieces[i].size() - skip;
        }
        msghdr message{};
        message.msg_iov = vectors;
        message.msg_iovlen = size_t(count);
        ssize_t n;
        do {
            // One piece (a run of forwarded frames, most often) spares the kernel
            // copying in the message header and the vector.
            n = count == 1 ? ::send(descriptor, vectors[0].iov_base, vectors[0].iov_len, SendFlags)
                           : ::sendmsg(descriptor, &message, SendFlags);
        } while (n < 0 && errno == EINTR);
        if (n <= 0)
            break;
        done += n;
        if (n < wanted)
            break;
        first += count;
        firstOffset = 0;
    }
    return done;
}

namespace {

// The descriptor to send on directly, or -1: a QSslSocket's carries TLS records, and
// bytes QTcpSocket still queues must go first.
qintptr directDescriptor(QTcpSocket *socket) {
    // An unbuffered socket is never a QSslSocket, which must buffer to decrypt: the
    // open mode, at hand, spares the metaobject walk on every batch of plain TCP.
    if ((!isUnbuffered(socket) && qobject_cast<QSslSocket *>(socket)) ||
        socket->bytesToWrite() != 0 || socket->state() != QAbstractSocket::ConnectedState)
        return -1;
    return socket->socketDescriptor();
}
#endif

// Queues `bytes` in QTcpSocket: shared when they are the socket's to keep, copied
// when they are a caller's (Session::isCallerBytes()).
void queueInSocket(QTcpSocket *socket, const QByteArray &bytes) {
    if (Session::isCallerBytes(bytes))
        socket->write(bytes.constData(), bytes.size());
    else
        socket->write(bytes);
}

// Writes the pieces [first, last), none of them large, to the kernel together; what
// it does not take now is queued in QTcpSocket, in order.
void writeGathered(QTcpSocket *socket, const QList<QByteArray> &pieces, qsizetype first,
                   qsizetype last) {
#ifdef Q_OS_UNIX
    if (const qintptr descriptor = directDescriptor(socket); descriptor >= 0) {
        qsizetype sent = sendPieces(int(descriptor), pieces, first, last);
        for (; first < last && sent >= pieces[first].size(); ++first)
            sent -= pieces[first].size();
        if (first < last && sent > 0) {
            socket->write(pieces[first].constData() + sent, pieces[first].size() - sent);
            ++first;
        }
    }
#endif
    for (; first < last; ++first)
        queueInSocket(socket, pieces[first]);
}

#ifdef Q_OS_UNIX
// The connection's last stage (closeLingering()): a duplicate of the socket's
// descriptor keeps the connection open once QTcpSocket has written everything and
// closed its own, shuts down our sending side, and drops what still arrives until
// the peer's FIN or the deadline. Deletes itself then.
class LingeringEnd : public QObject {
public:
    LingeringEnd(int descriptor, int timeoutMs)
        : m_descriptor(descriptor) {
        m_deadline.start(std::max(0, timeoutMs), this);
    }
    ~LingeringEnd() override { ::close(m_descriptor); }

    // QTcpSocket has let go of its descriptor, after writing all it had.
    void start() {
        if (m_started)
            return;
        m_started = true;
        ::shutdown(m_descriptor, SHUT_WR);
        // Often the peer's FIN is in already: then no notifier is ever made.
        if (drain()) {
            m_notifier.emplace(m_descriptor, QSocketNotifier::Read);
            connect(&*m_notifier, &QSocketNotifier::activated, this, [this] { drain(); });
        }
    }

protected:
    // The deadline (a timer without an object of its own), once.
    void timerEvent(QTimerEvent *event) override {
        if (firedOnce(m_deadline, event))
            end();
        else
            QObject::timerEvent(event);
    }

private:
    // Drops what arrived; true while the peer may still send.
    bool drain() {
        char scratch[16 * 1024];
        for (;;) {
            const ssize_t n = ::recv(m_descriptor, scratch, sizeof scratch, MSG_DONTWAIT);
            if (n > 0 || (n < 0 && errno == EINTR))
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return true;
            end(); // the peer's FIN, or the connection failed
            return false;
        }
    }
    void end() {
        if (m_notifier)
            m_notifier->setEnabled(false);
        m_deadline.stop();
        deleteLater();
    }

    int m_descriptor;
    std::optional<QSocketNotifier> m_notifier;
    QBasicTimer m_deadline;
    bool m_started = false;
};
#endif

// One buffer per thread, reused by every read of an unbuffered socket: the session
// copies what it keeps (Session::receiveData() takes a view).
char *readBuffer() {
    thread_local const std::unique_ptr<char[]> buffer(new char[UnbufferedReadSize]);
    return buffer.get();
}

// Those that refer to the read buffer's bytes now (borrowReadBuffer()).
thread_local std::vector<ReadBufferBorrower *> t_borrowers;

// The read buffer, every borrower told to let go of it first.
char *freeReadBuffer() {
    if (!t_borrowers.empty()) {
        thread_local std::vector<ReadBufferBorrower *> telling;
        telling.swap(t_borrowers);
        for (ReadBufferBorrower *borrower : telling)
            borrower->returnReadBuffer();
        telling.clear();
    }
    return readBuffer();
}

} // namespace

void writeToSocket(QTcpSocket *socket, const QByteArray &bytes) {
    if (bytes.isEmpty())
        return;
    // A large batch is handed over whole: QTcpSocket keeps a reference to it rather
    // than a copy (QIODevice shares chunks of 4 KiB and more) and releases it once
    // written, where sending part of it here would leave the rest to be copied. A
    // caller's bytes cannot be kept: they go to the kernel here as far as it takes them.
    if (bytes.size() >= ShareThreshold && !Session::isCallerBytes(bytes)) {
        socket->write(bytes);
        return;
    }
#ifdef Q_OS_UNIX
    if (const qintptr descriptor = directDescriptor(socket); descriptor >= 0) {
        const qsizetype sent = sendNow(descriptor, bytes.constData(), bytes.size());
        if (sent == bytes.size())
            return;
        if (sent > 0) {
            socket->write(bytes.constData() + sent, bytes.size() - sent);
            return;
        }
    }
#endif
    queueInSocket(socket, bytes);
}

void borrowReadBuffer(ReadBufferBorrower *borrower) {
    if (std::find(t_borrowers.begin(), t_borrowers.end(), borrower) == t_borrowers.end())
        t_borrowers.push_back(borrower);
}

void forgetReadBufferBorrower(ReadBufferBorrower *borrower) {
    std::erase(t_borrowers, borrower);
}

void recallReadBuffer() {
    freeReadBuffer();
}

namespace {

// What the session has to send, in this thread's list of chunks: kept between calls
// so that steady traffic does not allocate a list each time. Cleared by the caller
// once written, so that it holds no bytes between calls.
QList<QByteArray> &takeSessionOutput(Session &session) {
    thread_local QList<QByteArray> chunks;
    chunks.clear();
    session.takeOutgoingChunks(chunks);
    return chunks;
}

} // namespace

void writeSessionOutput(QTcpSocket *socket, Session &session, bool connected) {
    if (!session.hasOutgoing())
        return;
    QList<QByteArray> &chunks = takeSessionOutput(session);
    if (connected) {
        // A run of pieces that are not large (frame headers, the small frames between
        // them, payloads of 16 to 64 KiB) leaves with one system call, not one each.
        for (qsizetype i = 0; i < chunks.size();) {
            qsizetype end = i;
            while (end < chunks.size() && chunks[end].size() < ShareThreshold)
                ++end;
            if (end - i >= 2) {
                writeGathered(socket, chunks, i, end);
                i = end;
            } else {
                writeToSocket(socket, chunks[i]);
                ++i;
            }
        }
    }
    chunks.clear();
}

void writeSessionOutput(DescriptorSocket *socket, Session &session, bool connected) {
    if (!session.hasOutgoing())
        return;
    QList<QByteArray> &chunks = takeSessionOutput(session);
    // All in one system call as far as the kernel takes them; the socket queues the rest.
    if (connected)
        socket->write(chunks);
    chunks.clear();
}

void closeLingering(QTcpSocket *socket, int timeoutMs) {
#ifdef Q_OS_UNIX
    const qintptr descriptor = socket->socketDescriptor();
    const int copy = descriptor >= 0 ? ::fcntl(int(descriptor), F_DUPFD_CLOEXEC, 0) : -1;
    if (copy >= 0) {
        // Connected before disconnectFromHost(), which closes at once when nothing is
        // queued; an abort() or the socket's deletion ends in the same stage.
        auto *end = new LingeringEnd(copy, timeoutMs);
        QObject::connect(socket, &QAbstractSocket::disconnected, end, &LingeringEnd::start);
        QObject::connect(socket, &QObject::destroyed, end, &LingeringEnd::start);
    }
#endif
    socket->disconnectFromHost();
}

bool isUnbuffered(const QTcpSocket *socket) {
    return socket->openMode().testFlag(QIODevice::Unbuffered);
}

SocketRead readFromSocket(QTcpSocket *socket, qint64 maxBytes) {
    SocketRead result;
    maxBytes = std::clamp<qint64>(maxBytes, 1, UnbufferedReadSize);
    if (!isUnbuffered(socket)) {
        // QIODevice::read() hands over its first buffer chunk without a copy when
        // asked for exactly that chunk's size, which is bytesAvailable() when it
        // holds one.
        const qint64 available = std::min(socket->bytesAvailable(), maxBytes);
        if (available > 0) {
            result.owner = socket->read(available);
            result.data = result.owner;
            result.mayHaveMore = socket->bytesAvailable() > 0;
        }
        return result;
    }
    // QAbstractSocket::readData() answers -1 for a socket that is not connected;
    // one that is closing (disconnectFromHost() waiting for its queue to drain)
    // reports its end with disconnected() itself.
    if (socket->state() != QAbstractSocket::ConnectedState)
        return result;
    // One read(2), no FIONREAD first: EAGAIN comes back as 0, the end of the stream
    // and failures as -1, after which QTcpSocket has closed the descriptor.
    char *buffer = freeReadBuffer();
    const qint64 n = socket->read(buffer, maxBytes);
    if (n < 0) {
        result.ended = true;
        return result;
    }
    result.data = QByteArrayView(buffer, n);
    result.inReadBuffer = true;
    result.mayHaveMore = n == maxBytes;
    return result;
}

SocketRead readFromDescriptor(int descriptor, qint64 maxBytes, int *error) {
    SocketRead result;
    *error = 0;
#ifdef Q_OS_UNIX
    maxBytes = std::clamp<qint64>(maxBytes, 1, UnbufferedReadSize);
    char *buffer = freeReadBuffer();
    ssize_t n;
    do {
        n = ::recv(descriptor, buffer, size_t(maxBytes), MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        result.data = QByteArrayView(buffer, n);
        result.inReadBuffer = true;
        result.mayHaveMore = n == maxBytes;
    } else if (n == 0) {
        result.ended = true;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
        *error = errno;
        result.ended = true;
    }
#else
    Q_UNUSED(descriptor);
    Q_UNUSED(maxBytes);
#endif
    return result;
}

SocketRead readFromDescriptor(QTcpSocket *socket, qint64 maxBytes) {
    const qintptr descriptor = socket->socketDescriptor();
    if (descriptor >= 0 && isUnbuffered(socket)) {
        int error = 0;
        SocketRead result = readFromDescriptor(int(descriptor), maxBytes, &error);
        // The end and failures are QTcpSocket's to see and report.
        if (!result.ended)
            return result;
    }
    return readFromSocket(socket, maxBytes);
}

void lingerOnDescriptor(int descriptor, int timeoutMs) {
#ifdef Q_OS_UNIX
    (new LingeringEnd(descriptor, timeoutMs))->start();
#else
    Q_UNUSED(descriptor);
    Q_UNUSED(timeoutMs);
#endif
}

} // namespace ws

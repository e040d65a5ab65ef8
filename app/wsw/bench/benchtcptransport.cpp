#include "benchtcptransport.h"

#include <QMetaObject>
#include <QNetworkInterface>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace ws {

namespace {

#ifdef MSG_NOSIGNAL
// A write to a connection the server has closed must fail with EPIPE, not raise
// SIGPIPE.
constexpr int SendFlags = MSG_NOSIGNAL;
#else
constexpr int SendFlags = 0;
#endif
// Queued batches one sendmsg() takes at most.
constexpr int MaxSendPieces = 16;

QString errorText(int error) {
    return QString::fromLocal8Bit(std::strerror(error));
}

bool isWouldBlock(int error) {
    return error == EAGAIN || error == EWOULDBLOCK;
}

// The socket address for `address`, or a zero length for what TCP cannot reach.
socklen_t socketAddress(const QHostAddress &address, quint16 port, sockaddr_storage &storage) {
    storage = {};
    if (address.protocol() == QAbstractSocket::IPv4Protocol) {
        auto &in = reinterpret_cast<sockaddr_in &>(storage);
        in.sin_family = AF_INET;
        in.sin_port = htons(port);
        in.sin_addr.s_addr = htonl(address.toIPv4Address());
        return sizeof in;
    }
    if (address.protocol() == QAbstractSocket::IPv6Protocol) {
        auto &in6 = reinterpret_cast<sockaddr_in6 &>(storage);
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons(port);
        const Q_IPV6ADDR bytes = address.toIPv6Address();
        std::memcpy(&in6.sin6_addr, bytes.c, sizeof bytes.c);
        // A link-local address names its interface (RFC 4007 §11), by name or index.
        const QString scope = address.scopeId();
        if (!scope.isEmpty()) {
            bool isIndex = false;
            const uint index = scope.toUInt(&isIndex);
            in6.sin6_scope_id =
                isIndex ? index : uint(QNetworkInterface::interfaceIndexFromName(scope));
        }
        return sizeof in6;
    }
    return 0;
}

} // namespace

BenchTcpTransport::BenchTcpTransport(QHostAddress address, quint16 port, std::span<char> readBuffer,
                                     Handler *handler)
    : m_address(std::move(address))
    , m_port(port)
    , m_readBuffer(readBuffer)
    , m_handler(handler) {
    QObject::connect(&m_readNotifier, &QSocketNotifier::activated, &m_readNotifier, [this] {
        m_drained = false;
        m_handler->transportReadable();
    });
    QObject::connect(&m_writeNotifier, &QSocketNotifier::activated, &m_writeNotifier,
                     [this] { onWritable(); });
}

BenchTcpTransport::~BenchTcpTransport() {
    close();
}

void BenchTcpTransport::open() {
    sockaddr_storage storage;
    const socklen_t length = socketAddress(m_address, m_port, storage);
    if (length == 0) {
        endLater(QStringLiteral("cannot connect to %1 over TCP").arg(m_address.toString()));
        return;
    }
    m_descriptor =
        ::socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (m_descriptor < 0) {
        endLater(errorText(errno));
        return;
    }
    // Pipelined small messages must not wait for Nagle's algorithm.
    const int on = 1;
    ::setsockopt(m_descriptor, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    // Interrupted, a non-blocking connect() goes on in the background just the same.
    if (::connect(m_descriptor, reinterpret_cast<const sockaddr *>(&storage), length) < 0 &&
        errno != EINPROGRESS && errno != EINTR) {
        const int error = errno;
        close();
        endLater(errorText(error));
        return;
    }
    m_readNotifier.setSocket(m_descriptor);
    m_writeNotifier.setSocket(m_descriptor);
    // Success or failure, the outcome shows as the socket turning writable. The
    // listener hears of it from the event loop, never from inside open().
    m_writeNotifier.setEnabled(true);
}

void BenchTcpTransport::onWritable() {
    if (m_connected)
        sendPending();
    else
        finishConnecting();
}

void BenchTcpTransport::finishConnecting() {
    int error = 0;
    socklen_t size = sizeof error;
    if (::getsockopt(m_descriptor, SOL_SOCKET, SO_ERROR, &error, &size) < 0)
        error = errno;
    if (error == EINPROGRESS || error == EALREADY)
        return;
    if (error != 0) {
        // "Connection refused", as QAbstractSocket words it too.
        reportEnd(errorText(error));
        return;
    }
    m_connected = true;
    m_writeNotifier.setEnabled(false);
    m_readNotifier.setEnabled(true);
    m_handler->transportConnected();
}

void BenchTcpTransport::write(QByteArray &bytes) {
    if (bytes.isEmpty())
        return;
    if (!m_connected || m_sendFailed) {
        // Nobody will read them: the stream is gone or its sending half is.
        bytes.resize(0);
        return;
    }
    if (m_pending.empty()) {
        const qsizetype sent = sendNow(bytes.constData(), bytes.size());
        if (sent < 0 || sent == bytes.size()) {
            bytes.resize(0);
            return;
        }
        m_pendingOffset = sent;
        m_writeNotifier.setEnabled(true);
    }
    // The batch itself waits, not a copy of it; the caller goes on with a spare buffer.
    m_pending.push_back(std::exchange(bytes, std::exchange(m_spare, QByteArray())));
}

qsizetype BenchTcpTransport::sendNow(const char *data, qsizetype size) {
    qsizetype done = 0;
    while (done < size) {
        const qsizetype offered = size - done;
        const ssize_t sent = ::send(m_descriptor, data + done, size_t(offered), SendFlags);
        if (sent >= 0) {
            done += sent;
            // Taking less than offered means the send buffer is full: asking again
            // would only return EAGAIN.
            if (sent < offered)
                break;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (isWouldBlock(errno))
            break;
        handleSendError(errno);
        return -1;
    }
    return done;
}

void BenchTcpTransport::sendPending() {
    while (!m_pending.empty()) {
        std::array<iovec, MaxSendPieces> pieces{};
        size_t count = 0;
        qsizetype offered = 0;
        for (auto it = m_pending.begin(); it != m_pending.end() && count < pieces.size();
             ++it, ++count) {
            const qsizetype from = count == 0 ? m_pendingOffset : 0;
            // sendmsg() only reads through iov_base, which is not const for recvmsg's sake.
            pieces[count].iov_base = const_cast<char *>(it->constData() + from);
            pieces[count].iov_len = size_t(it->size() - from);
            offered += it->size() - from;
        }
        msghdr message{};
        message.msg_iov = pieces.data();
        message.msg_iovlen = count;
        const ssize_t sent = ::sendmsg(m_descriptor, &message, SendFlags);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            if (!isWouldBlock(errno))
                handleSendError(errno);
            return;
        }
        consumePending(sent);
        if (sent < offered)
            return;
    }
    m_writeNotifier.setEnabled(false);
}

void BenchTcpTransport::consumePending(qsizetype sent) {
    while (sent > 0) {
        QByteArray &front = m_pending.front();
        const qsizetype rest = front.size() - m_pendingOffset;
        if (sent < rest) {
            m_pendingOffset += sent;
            return;
        }
        sent -= rest;
        m_pendingOffset = 0;
        // The largest buffer is the one worth keeping for the next partly sent batch.
        if (front.capacity() > m_spare.capacity()) {
            front.resize(0);
            m_spare = std::move(front);
        }
        m_pending.pop_front();
    }
}

void BenchTcpTransport::handleSendError(int error) {
    m_sendFailed = true;
    m_pending.clear();
    m_writeNotifier.setEnabled(false);
    // The server closed or reset the connection: the read side reports the end once
    // it has delivered what the server sent before (its close frame, maybe).
    if (error == EPIPE || error == ECONNRESET)
        return;
    endLater(errorText(error));
}

QByteArrayView BenchTcpTransport::read(qint64 limit) {
    if (!m_connected || m_drained)
        return {};
    const qsizetype wanted = qsizetype(std::clamp<qint64>(limit, 1, qint64(m_readBuffer.size())));
    ssize_t received;
    do
        received = ::recv(m_descriptor, m_readBuffer.data(), size_t(wanted), 0);
    while (received < 0 && errno == EINTR);
    if (!takeReceiveResult(received, wanted))
        return {};
    return QByteArrayView(m_readBuffer.data(), received);
}

qint64 BenchTcpTransport::discard(qint64 count) {
    if (!m_canDiscard)
        return -1;
    if (!m_connected || m_drained)
        return 0;
    ssize_t dropped;
    do
        dropped = ::recv(m_descriptor, nullptr, size_t(count), MSG_TRUNC);
    while (dropped < 0 && errno == EINTR);
    if (dropped < 0 && (errno == EINVAL || errno == EOPNOTSUPP || errno == EFAULT)) {
        // A kernel that does not discard TCP data this way (EFAULT: it tried to copy
        // into the null buffer, which consumes nothing): read the bytes instead.
        m_canDiscard = false;
        return -1;
    }
    return takeReceiveResult(dropped, count) ? dropped : 0;
}

bool BenchTcpTransport::takeReceiveResult(qint64 result, qint64 requested) {
    if (result > 0) {
        if (result < requested)
            m_drained = true;
        return true;
    }
    if (result == 0) {
        reportEnd({});
        return false;
    }
    const int error = errno;
    if (isWouldBlock(error)) {
        m_drained = true;
        return false;
    }
    // QAbstractSocket reports a reset like the server closing (RemoteHostClosedError):
    // whether the connection ended cleanly is the closing handshake's to say.
    reportEnd(error == ECONNRESET ? QString() : errorText(error));
    return false;
}

void BenchTcpTransport::setResetOnClose() {
    if (m_descriptor < 0)
        return;
    const linger option{1, 0};
    ::setsockopt(m_descriptor, SOL_SOCKET, SO_LINGER, &option, sizeof option);
}

void BenchTcpTransport::abort() {
    m_ended = true;
    close();
}

void BenchTcpTransport::reportEnd(const QString &error) {
    close();
    if (m_ended)
        return;
    m_ended = true;
    m_handler->transportEnded(error);
}

void BenchTcpTransport::endLater(const QString &error) {
    QMetaObject::invokeMethod(
        &m_readNotifier, [this, error] { reportEnd(error); }, Qt::QueuedConnection);
}

void BenchTcpTransport::close() {
    // Off before the descriptor goes: its number may soon belong to another socket.
    m_readNotifier.setEnabled(false);
    m_writeNotifier.setEnabled(false);
    if (m_descriptor >= 0)
        ::close(m_descriptor);
    m_descriptor = -1;
    m_connected = false;
    m_pending.clear();
}

} // namespace ws

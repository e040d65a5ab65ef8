#include "net/descriptorsocket.h"

#include "protocol/session.h"

#include <cerrno>
#include <cstring>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ws {

namespace {

// The address of a socket's end as getpeername(2) or getsockname(2) gives it.
template <typename Query> std::pair<QHostAddress, quint16> endOf(int descriptor, Query query) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (query(descriptor, reinterpret_cast<sockaddr *>(&address), &length) != 0)
        return {};
    const QHostAddress host(reinterpret_cast<const sockaddr *>(&address));
    quint16 port = 0;
    if (address.ss_family == AF_INET)
        port = ntohs(reinterpret_cast<const sockaddr_in *>(&address)->sin_port);
    else if (address.ss_family == AF_INET6)
        port = ntohs(reinterpret_cast<const sockaddr_in6 *>(&address)->sin6_port);
    return {host, port};
}

} // namespace

DescriptorSocket::DescriptorSocket(int descriptor, EpollEventDispatcher *dispatcher, Owner *owner)
    : m_descriptor(descriptor)
    , m_dispatcher(dispatcher)
    , m_owner(owner) {
    std::tie(m_peerAddress, m_peerPort) = endOf(descriptor, ::getpeername);
    const int on = 1;
    ::setsockopt(descriptor, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    // Reads and writes pass MSG_DONTWAIT: the descriptor itself may stay blocking.
    m_interest = EPOLLIN;
    if (!m_dispatcher->watchDescriptor(descriptor, m_interest, this)) {
        ::close(descriptor);
        m_descriptor = -1;
        m_interest = 0;
    }
}

DescriptorSocket::DescriptorSocket(Connecting, EpollEventDispatcher *dispatcher, Owner *owner)
    : m_descriptor(-1)
    , m_dispatcher(dispatcher)
    , m_owner(owner) {}

std::unique_ptr<DescriptorSocket> DescriptorSocket::connectTo(const QHostAddress &address,
                                                              quint16 port,
                                                              EpollEventDispatcher *dispatcher,
                                                              Owner *owner) {
    std::unique_ptr<DescriptorSocket> socket(new DescriptorSocket(Connecting{}, dispatcher, owner));
    sockaddr_storage storage{};
    socklen_t length = 0;
    if (address.protocol() == QAbstractSocket::IPv4Protocol) {
        auto *in = reinterpret_cast<sockaddr_in *>(&storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr.s_addr = htonl(address.toIPv4Address());
        length = sizeof *in;
    } else {
        auto *in6 = reinterpret_cast<sockaddr_in6 *>(&storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        const Q_IPV6ADDR bytes = address.toIPv6Address();
        std::memcpy(&in6->sin6_addr, &bytes, sizeof bytes);
        // A link-local address's zone: an interface index or name.
        const QString zone = address.scopeId();
        bool isIndex = false;
        in6->sin6_scope_id = zone.toUInt(&isIndex);
        if (!isIndex && !zone.isEmpty())
            in6->sin6_scope_id = ::if_nametoindex(zone.toLatin1().constData());
        length = sizeof *in6;
    }
    const int descriptor =
        ::socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (descriptor < 0) {
        socket->m_error = errno;
        return socket;
    }
    int result;
    do {
        result = ::connect(descriptor, reinterpret_cast<const sockaddr *>(&storage), length);
    } while (result != 0 && errno == EINTR);
    if (result != 0 && errno != EINPROGRESS) {
        socket->m_error = errno;
        ::close(descriptor);
        return socket;
    }
    socket->m_descriptor = descriptor;
    socket->m_peerAddress = address;
    socket->m_peerPort = port;
    socket->m_connecting = true;
    // Writable once connected, or failed.
    socket->m_interest = EPOLLOUT;
    if (!dispatcher->watchDescriptor(descriptor, socket->m_interest, socket.get())) {
        socket->m_error = EMFILE;
        socket->m_interest = 0;
        socket->release(false);
    }
    return socket;
}

void DescriptorSocket::connectionMade() {
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(m_descriptor, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
        error = errno;
    if (error != 0) {
        m_error = error;
        release(false);
        m_owner->descriptorEnded();
        return;
    }
    m_connecting = false;
    const int on = 1;
    ::setsockopt(m_descriptor, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    updateInterest();
    m_owner->descriptorConnected();
}

DescriptorSocket::~DescriptorSocket() {
    abort();
}

QHostAddress DescriptorSocket::localAddress() const {
    return m_descriptor >= 0 ? endOf(m_descriptor, ::getsockname).first : QHostAddress();
}

quint16 DescriptorSocket::localPort() const {
    return m_descriptor >= 0 ? endOf(m_descriptor, ::getsockname).second : 0;
}

SocketRead DescriptorSocket::read(qint64 maxBytes) {
    if (m_descriptor < 0)
        return {};
    SocketRead result = readFromDescriptor(m_descriptor, maxBytes, &m_error);
    if (result.ended)
        release(false);
    return result;
}

void DescriptorSocket::write(const QList<QByteArray> &pieces) {
    if (!isConnected() || pieces.isEmpty())
        return;
    qsizetype first = 0;
    qsizetype offset = 0;
    if (m_queue.isEmpty()) {
        qsizetype sent = sendPieces(m_descriptor, pieces, 0, pieces.size());
        for (; first < pieces.size() && sent >= pieces[first].size(); ++first)
            sent -= pieces[first].size();
        offset = sent;
        if (first == pieces.size())
            return;
    }
    // What the kernel did not take waits for the descriptor to be writable, in order.
    for (; first < pieces.size(); ++first, offset = 0) {
        const QByteArray &piece = pieces[first];
        if (piece.size() == offset)
            continue;
        // Only the first piece can be partly written, and only into an empty queue.
        if (m_queue.isEmpty())
            m_headOffset = Session::isCallerBytes(piece) ? 0 : offset;
        if (Session::isCallerBytes(piece))
            m_queue.append(QByteArray(piece.constData() + offset, piece.size() - offset));
        else
            m_queue.append(piece);
        m_queued += piece.size() - offset;
    }
    updateInterest();
}

void DescriptorSocket::setReading(bool reading) {
    if (m_reading == reading)
        return;
    m_reading = reading;
    updateInterest();
}

void DescriptorSocket::close(bool lingering, int lingerTimeoutMs) {
    if (m_descriptor < 0 || m_closing)
        return;
    m_closing = true;
    m_lingering = lingering;
    m_lingerTimeoutMs = lingerTimeoutMs;
    if (m_queued > 0) {
        // Nothing more is read meanwhile, as QTcpSocket's closing state reads nothing.
        updateInterest();
        return;
    }
    release(lingering);
    m_owner->descriptorEnded();
}

void DescriptorSocket::abort() {
    release(false);
}

void DescriptorSocket::descriptorReady(quint32 events) {
    if (m_connecting) {
        connectionMade();
        return;
    }
    if (m_queued > 0 && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        const qint64 before = m_queued;
        flushQueue();
        if (m_descriptor < 0) {
            m_owner->descriptorEnded();
            return;
        }
        if (m_queued == 0 && m_closing) {
            release(m_lingering);
            m_owner->descriptorEnded();
            return;
        }
        if (m_queued < before)
            m_owner->descriptorWritten();
        if (m_descriptor < 0)
            return;
    }
    if (m_reading && !m_closing && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        m_owner->descriptorReadable();
}

void DescriptorSocket::flushQueue() {
    while (m_queued > 0) {
        errno = 0;
        qsizetype sent = sendPieces(m_descriptor, m_queue, 0, m_queue.size(), m_headOffset);
        if (sent == 0) {
            if (errno != 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                m_error = errno;
                release(false);
            }
            break;
        }
        m_queued -= sent;
        sent += m_headOffset;
        qsizetype done = 0;
        while (done < m_queue.size() && sent >= m_queue[done].size())
            sent -= m_queue[done++].size();
        m_queue.remove(0, done);
        m_headOffset = sent;
    }
    if (m_descriptor >= 0)
        updateInterest();
}

void DescriptorSocket::updateInterest() {
    if (m_descriptor < 0)
        return;
    const quint32 wanted = m_connecting ? quint32(EPOLLOUT)
                                        : (m_reading && !m_closing ? quint32(EPOLLIN) : 0u) |
                                              (m_queued > 0 ? quint32(EPOLLOUT) : 0u);
    if (wanted == m_interest)
        return;
    m_interest = wanted;
    if (m_dispatcher)
        m_dispatcher->watchDescriptor(m_descriptor, wanted, this);
}

void DescriptorSocket::release(bool lingering) {
    if (m_descriptor < 0)
        return;
    if (m_interest != 0 && m_dispatcher)
        m_dispatcher->watchDescriptor(m_descriptor, 0, nullptr);
    m_interest = 0;
    if (lingering)
        lingerOnDescriptor(m_descriptor, m_lingerTimeoutMs);
    else
        ::close(m_descriptor);
    m_descriptor = -1;
    m_connecting = false;
    m_queue.clear();
    m_queued = 0;
    m_headOffset = 0;
}

} // namespace ws

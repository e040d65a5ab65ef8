#include "net/descriptorsocket.h"

#include "protocol/session.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ws {

namespace {

// Writes below this join the dispatcher's batch; larger ones go at once, their system
// call a small part of their cost, and are not copied when they are a caller's bytes.
constexpr qsizetype MaxBatchedWrite = 16 * 1024;

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
    SocketRead result;
    if (takeBatchedRead(maxBytes, &result))
        return result;
    result = readFromDescriptor(m_descriptor, maxBytes, &m_error);
    if (result.ended)
        release(false);
    return result;
}

void DescriptorSocket::write(const QList<QByteArray> &pieces) {
    if (!isConnected() || pieces.isEmpty())
        return;
    if (!m_queue.isEmpty()) {
        // After what waits, in order.
        queuePieces(pieces, 0, 0);
        updateInterest();
        return;
    }
    qsizetype total = 0;
    for (const QByteArray &piece : pieces)
        total += piece.size();
    if (total < MaxBatchedWrite) {
        if (WriteBatch *batch = m_dispatcher ? m_dispatcher->writeBatch() : nullptr) {
            queuePieces(pieces, 0, 0);
            if (m_queued > 0) {
                m_inBatch = true;
                batch->add(this, m_descriptor);
            }
            return;
        }
    }
    qsizetype first = 0;
    qsizetype sent = sendPieces(m_descriptor, pieces, 0, pieces.size());
    for (; first < pieces.size() && sent >= pieces[first].size(); ++first)
        sent -= pieces[first].size();
    if (first == pieces.size())
        return;
    // What the kernel did not take waits for the descriptor to be writable, in order.
    queuePieces(pieces, first, sent);
    updateInterest();
}

void DescriptorSocket::queuePieces(const QList<QByteArray> &pieces, qsizetype first,
                                   qsizetype offset) {
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
}

void DescriptorSocket::dropWritten(qsizetype sent) {
    m_queued -= sent;
    sent += m_headOffset;
    qsizetype done = 0;
    while (done < m_queue.size() && sent >= m_queue[done].size())
        sent -= m_queue[done++].size();
    m_queue.remove(0, done);
    m_headOffset = sent;
}

int DescriptorSocket::batchedPieces(iovec *vectors, int capacity) const {
    int count = 0;
    for (qsizetype i = 0; i < m_queue.size() && count < capacity; ++i, ++count) {
        const qsizetype skip = i == 0 ? m_headOffset : 0;
        vectors[count].iov_base = const_cast<char *>(m_queue[i].constData() + skip);
        vectors[count].iov_len = std::size_t(m_queue[i].size() - skip);
    }
    return count;
}

void DescriptorSocket::batchedWriteDone(long result) {
    m_inBatch = false;
    if (m_descriptor < 0)
        return;
    if (result > 0)
        dropWritten(qsizetype(result));
    // What is left (the kernel was full, the send failed or was not made) goes when
    // the descriptor is writable; a failure shows there.
    updateInterest();
    if (result > 0)
        m_owner->descriptorWritten();
}

void DescriptorSocket::leaveBatch() {
    if (!m_inBatch)
        return;
    m_inBatch = false;
    if (WriteBatch *batch = m_dispatcher ? m_dispatcher->writeBatch() : nullptr)
        batch->remove(this);
}

bool DescriptorSocket::takeBatchedRead(qint64 maxBytes, SocketRead *result) {
    maxBytes = std::clamp<qint64>(maxBytes, 1, UnbufferedReadSize);
    if (!m_keptRead.isEmpty()) {
        // Bytes of an earlier pass first; the kernel may hold more behind them.
        const qsizetype n = qsizetype(std::min<qint64>(maxBytes, m_keptRead.size()));
        if (n == m_keptRead.size()) {
            result->owner = std::exchange(m_keptRead, QByteArray());
        } else {
            result->owner = m_keptRead.first(n);
            m_keptRead.remove(0, n);
            // The rest announces itself next pass (the kernel does not know of it),
            // unless taken in this one.
            if (m_dispatcher)
                m_dispatcher->markReadable(m_descriptor);
        }
        result->data = result->owner;
        result->mayHaveMore = true;
        return true;
    }
    if (!m_batchedHeld)
        return false;
    if (m_batchedResult > 0) {
        const qsizetype n = qsizetype(std::min<qint64>(maxBytes, m_batchedSize));
        result->data = QByteArrayView(m_batchedData, n);
        result->inReadBuffer = true; // the batch's slot, as the read buffer is
        m_batchedData += n;
        m_batchedSize -= n;
        m_batchedHeld = m_batchedSize > 0;
        result->mayHaveMore = m_batchedHeld || m_batchedFull;
        return true;
    }
    // The end of the stream or a failure, as recv(2) would have met it.
    m_batchedHeld = false;
    m_error = m_batchedResult == 0 ? 0 : int(-m_batchedResult);
    result->ended = true;
    release(false);
    return true;
}

ReadBatch::Reader *DescriptorSocket::batchedReader(qint64 *size) {
    // Bytes held from before go first, and read() takes them without a batch. Once per
    // batch: the descriptor may be in the pass's list twice (ready, and marked).
    if (m_descriptor < 0 || !m_reading || m_closing || m_connecting || m_inReadBatch ||
        m_batchedHeld || !m_keptRead.isEmpty())
        return nullptr;
    m_batchedAsked = std::min(m_owner->descriptorReadSize(), ReadBatch::SlotSize);
    if (m_batchedAsked <= 0)
        return nullptr;
    *size = m_batchedAsked;
    m_inReadBatch = true;
    return this;
}

void DescriptorSocket::batchedRead(const char *data, long result) {
    // -EAGAIN: nothing after all (or the read was not made); read() asks the kernel.
    if (m_descriptor < 0 || result == -EAGAIN)
        return;
    m_batchedHeld = true;
    m_batchedResult = result;
    m_batchedData = data;
    m_batchedSize = result > 0 ? qsizetype(result) : 0;
    m_batchedFull = result >= m_batchedAsked;
}

void DescriptorSocket::batchedReadEnding() {
    m_inReadBatch = false;
    if (!m_batchedHeld || m_descriptor < 0)
        return;
    if (m_batchedResult > 0) {
        // The slot is read into again: the bytes move to memory of our own.
        m_keptRead = QByteArray(m_batchedData, m_batchedSize);
        m_batchedHeld = false;
    }
    // Nothing in the kernel may announce them: the dispatcher does, next pass.
    if (m_reading && !m_closing && m_dispatcher)
        m_dispatcher->markReadable(m_descriptor);
}

void DescriptorSocket::setReading(bool reading) {
    if (m_reading == reading)
        return;
    m_reading = reading;
    updateInterest();
    if (reading && (m_batchedHeld || !m_keptRead.isEmpty()) && m_dispatcher)
        m_dispatcher->markReadable(m_descriptor);
}

void DescriptorSocket::close(bool lingering, int lingerTimeoutMs) {
    if (m_descriptor < 0 || m_closing)
        return;
    m_closing = true;
    m_lingering = lingering;
    m_lingerTimeoutMs = lingerTimeoutMs;
    // What waits for the batch goes now, as it would have gone without one.
    if (m_inBatch) {
        flushQueue();
        if (m_descriptor < 0) {
            m_owner->descriptorEnded();
            return;
        }
    }
    if (m_queued > 0) {
        // Nothing more is read meanwhile, as QTcpSocket's closing state reads nothing.
        updateInterest();
        return;
    }
    release(lingering);
    m_owner->descriptorEnded();
}

void DescriptorSocket::abort() {
    // What waits for the batch was written as far as the caller knows: it goes now, as
    // far as the kernel takes it, as it would have gone without a batch.
    if (m_inBatch)
        flushQueue();
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
    leaveBatch();
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
        dropWritten(sent);
    }
    if (m_descriptor >= 0)
        updateInterest();
}

void DescriptorSocket::updateInterest() {
    if (m_descriptor < 0)
        return;
    const quint32 wanted = m_connecting ? quint32(EPOLLOUT)
                                        : (m_reading && !m_closing ? quint32(EPOLLIN) : 0u) |
                                              (m_queued > 0 && !m_inBatch ? quint32(EPOLLOUT) : 0u);
    if (wanted == m_interest)
        return;
    m_interest = wanted;
    if (m_dispatcher)
        m_dispatcher->watchDescriptor(m_descriptor, wanted, this);
}

void DescriptorSocket::release(bool lingering) {
    if (m_descriptor < 0)
        return;
    leaveBatch();
    if (m_inReadBatch) {
        m_inReadBatch = false;
        if (ReadBatch *batch = m_dispatcher ? m_dispatcher->readBatch() : nullptr)
            batch->remove(this);
    }
    m_batchedHeld = false;
    m_keptRead.clear();
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

// DescriptorSocket on the epoll dispatcher, against a plain TCP peer on 127.0.0.1:
// reads and the end of the stream, writes the kernel does not take at once (queued in
// order, a caller's bytes copied), graceful and lingering closes, a failing write,
// paused reading, and connections made, refused and ended. Small writes wait for the
// dispatcher's batch (WriteBatch, on io_uring) and leave before the loop waits: in
// order, copied, with a full or failing peer, when closed or dropped first, and with
// more writers than one submission holds; with batching off they go at once. Plus the
// dispatcher's watchers: level-triggered, and not told once they stopped watching.

#include "net/descriptorsocket.h"
#include "net/epolleventdispatcher.h"
#include "net/writebatch.h"
#include "protocol/session.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QScopeGuard>
#include <QTest>
#include <QTimer>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <memory>
#include <set>
#include <utility>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace ws;

namespace {

// What the socket told its owner, and what the owner read when it was readable.
struct RecordingOwner final : DescriptorSocket::Owner {
    DescriptorSocket *socket = nullptr;
    bool readOnReadable = true;
    int readable = 0;
    int written = 0;
    int ended = 0;
    int connected = 0;
    QByteArray received;
    bool readEnded = false;
    // What it reads ahead through the dispatcher's ReadBatch (0: nothing), how much it
    // asks read() for, and whether it reads once per readable rather than until done.
    qint64 readAhead = 0;
    qint64 readSize = UnbufferedReadSize;
    bool readOnce = false;
    std::vector<const char *> readAt; // where each read's bytes were
    std::function<void()> beforeReading;

    void descriptorReadable() override {
        ++readable;
        if (beforeReading)
            beforeReading();
        if (!readOnReadable)
            return;
        for (;;) {
            const SocketRead chunk = socket->read(readSize);
            received += chunk.data.toByteArray();
            if (!chunk.data.isEmpty())
                readAt.push_back(chunk.data.data());
            if (chunk.ended)
                readEnded = true;
            if (!chunk.mayHaveMore || readOnce)
                break;
        }
    }
    qint64 descriptorReadSize() override { return readAhead; }
    void descriptorWritten() override { ++written; }
    void descriptorEnded() override { ++ended; }
    void descriptorConnected() override { ++connected; }
};

// A listening socket on 127.0.0.1 and the two ends of one connection to it.
struct TcpPair {
    int listener = -1;
    quint16 port = 0;
    int ours = -1;   // the accepted end, for DescriptorSocket
    int theirs = -1; // the peer, driven by hand

    TcpPair() {
        listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (::bind(listener, reinterpret_cast<sockaddr *>(&address), length) != 0 ||
            ::listen(listener, 8) != 0 ||
            ::getsockname(listener, reinterpret_cast<sockaddr *>(&address), &length) != 0)
            qFatal("no listening socket: %s", strerror(errno));
        port = ntohs(address.sin_port);
    }
    // With `peerReceiveBuffer`, the kernel holds little of what we send on either end
    // (the peer's receive buffer and our send buffer), so that writes queue.
    void connectPeer(int peerReceiveBuffer = 0) {
        theirs = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (peerReceiveBuffer > 0)
            ::setsockopt(theirs, SOL_SOCKET, SO_RCVBUF, &peerReceiveBuffer,
                         sizeof peerReceiveBuffer);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(port);
        if (::connect(theirs, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0)
            qFatal("no connection: %s", strerror(errno));
        ours = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (peerReceiveBuffer > 0)
            ::setsockopt(ours, SOL_SOCKET, SO_SNDBUF, &peerReceiveBuffer, sizeof peerReceiveBuffer);
    }
    ~TcpPair() {
        for (const int fd : {listener, theirs})
            if (fd >= 0)
                ::close(fd);
    }
    // Everything the peer can read now (non-blocking); `eof` set at the end of the stream.
    QByteArray peerRead(bool *eof = nullptr, int *error = nullptr) const {
        QByteArray all;
        char buffer[65536];
        for (;;) {
            const ssize_t n = ::recv(theirs, buffer, sizeof buffer, MSG_DONTWAIT);
            if (n > 0) {
                all.append(buffer, n);
                continue;
            }
            if (n == 0 && eof)
                *eof = true;
            if (n < 0 && error && errno != EAGAIN)
                *error = errno;
            return all;
        }
    }
};

EpollEventDispatcher *dispatcher() {
    return EpollEventDispatcher::ofThisThread();
}

// A DescriptorSocket on our end of a fresh connection (TcpPair::connectPeer()), and
// its owner.
struct Accepted {
    TcpPair tcp;
    RecordingOwner owner;
    std::unique_ptr<DescriptorSocket> socket;
    explicit Accepted(int peerReceiveBuffer = 0) {
        tcp.connectPeer(peerReceiveBuffer);
        socket = std::make_unique<DescriptorSocket>(tcp.ours, dispatcher(), &owner);
        owner.socket = socket.get();
    }
};

// A recognisable run of bytes: piece `index` of `size` bytes.
QByteArray piece(int index, qsizetype size) {
    QByteArray bytes(size, Qt::Uninitialized);
    for (qsizetype i = 0; i < size; ++i)
        bytes[i] = char((index * 131 + i) % 251);
    return bytes;
}

// Counts what a watcher hears.
struct CountingWatcher final : EpollEventDispatcher::DescriptorWatcher {
    int calls = 0;
    quint32 last = 0;
    std::function<void()> onReady;
    void descriptorReady(quint32 events) override {
        ++calls;
        last = events;
        if (onReady)
            onReady();
    }
};

} // namespace

class TestDescriptorSocket : public QObject {
    Q_OBJECT
private slots:
    void watcherIsLevelTriggeredAndForgottenWhenItStops();
    void readsWhatArrivesAndEndsAtTheEndOfTheStream();
    void namesBothEnds();
    void queuesWhatTheKernelDoesNotTakeInOrder();
    void callersBytesAreCopiedWhenQueued();
    void gracefulCloseWritesTheQueueFirst();
    void lingeringCloseLetsThePeerFinish();
    void failedWriteEndsTheSocket();
    void pausedReadingLeavesBytesInTheKernel();
    void connectsToAListener();
    void refusedConnectionSaysWhy();
    void smallWritesLeaveTogetherBeforeTheLoopWaits();
    void batchedWriteToAFullPeerWaitsForWritability();
    void batchedWriteThatFailsEndsTheSocket();
    void closingOrDroppingTakesBytesOutOfTheBatch();
    void moreWritersThanOneSubmissionHolds();
    void withoutBatchingSmallWritesGoAtOnce();
    void readableSocketsAreReadTogetherAfterTheWait();
    void bytesNotTakenInTheirPassAreKeptInOrder();
    void pausedReaderKeepsItsBatchedBytesUntilResumed();
    void endOfStreamComesThroughTheBatch();
    void readerResumedAndReadAtOnceJoinsTheNextBatchOnce();
    void socketDroppedBeforeItsTurnIsForgotten();
    void nestedLoopLeavesNoBatchedBytesBehind();
    void withoutBatchingReadsGoOneByOne();
};

void TestDescriptorSocket::watcherIsLevelTriggeredAndForgottenWhenItStops() {
    int fds[2];
    QVERIFY(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    CountingWatcher watcher;
    QVERIFY(dispatcher()->watchDescriptor(fds[0], EPOLLIN, &watcher));
    QTest::qWait(30);
    QCOMPARE(watcher.calls, 0);
    QCOMPARE(::write(fds[1], "x", 1), ssize_t(1));
    // Not read: told again on the next passes.
    QVERIFY(QTest::qWaitFor([&] { return watcher.calls >= 3; }));
    QVERIFY(watcher.last & EPOLLIN);
    // Stopping from inside its own call: not told again, although still readable.
    watcher.onReady = [&] { dispatcher()->watchDescriptor(fds[0], 0, nullptr); };
    QTest::qWait(30);
    const int calls = watcher.calls;
    QTest::qWait(50);
    QCOMPARE(watcher.calls, calls);
    // Watching for writes only: a socket with room is writable at once.
    watcher.onReady = [&] { dispatcher()->watchDescriptor(fds[0], 0, nullptr); };
    QVERIFY(dispatcher()->watchDescriptor(fds[0], EPOLLOUT, &watcher));
    QVERIFY(QTest::qWaitFor([&] { return watcher.calls == calls + 1; }));
    QVERIFY(watcher.last & EPOLLOUT);
    ::close(fds[0]);
    ::close(fds[1]);
}

void TestDescriptorSocket::readsWhatArrivesAndEndsAtTheEndOfTheStream() {
    Accepted accepted;
    TcpPair &tcp = accepted.tcp;
    RecordingOwner &owner = accepted.owner;
    DescriptorSocket &socket = *accepted.socket;
    QVERIFY(socket.isConnected());
    QCOMPARE(::send(tcp.theirs, "hello", 5, 0), ssize_t(5));
    QVERIFY(QTest::qWaitFor([&] { return owner.received == "hello"; }));
    QVERIFY(!owner.readEnded);
    ::shutdown(tcp.theirs, SHUT_WR);
    QVERIFY(QTest::qWaitFor([&] { return owner.readEnded; }));
    // Ended by the read: closed, without descriptorEnded(), no error.
    QVERIFY(!socket.isOpen());
    QCOMPARE(socket.error(), 0);
    QCOMPARE(owner.ended, 0);
    const int readable = owner.readable;
    QTest::qWait(50);
    QCOMPARE(owner.readable, readable);
}

void TestDescriptorSocket::namesBothEnds() {
    Accepted accepted;
    TcpPair &tcp = accepted.tcp;
    DescriptorSocket &socket = *accepted.socket;
    sockaddr_in peer{};
    socklen_t length = sizeof peer;
    QVERIFY(::getsockname(tcp.theirs, reinterpret_cast<sockaddr *>(&peer), &length) == 0);
    QCOMPARE(socket.peerAddress(), QHostAddress(QHostAddress::LocalHost));
    QCOMPARE(socket.peerPort(), ntohs(peer.sin_port));
    QCOMPARE(socket.localAddress(), QHostAddress(QHostAddress::LocalHost));
    QCOMPARE(socket.localPort(), tcp.port);
    int noDelay = 0;
    length = sizeof noDelay;
    QVERIFY(::getsockopt(tcp.ours, IPPROTO_TCP, TCP_NODELAY, &noDelay, &length) == 0);
    QCOMPARE(noDelay, 1);
}

void TestDescriptorSocket::queuesWhatTheKernelDoesNotTakeInOrder() {
    Accepted accepted(16 * 1024);
    TcpPair &tcp = accepted.tcp;
    RecordingOwner &owner = accepted.owner;
    DescriptorSocket &socket = *accepted.socket;
    // More than the kernel buffers while the peer reads nothing.
    QList<QByteArray> pieces;
    QByteArray expected;
    for (int i = 0; i < 40; ++i) {
        pieces.append(piece(i, i % 3 == 0 ? 300'000 : 7));
        expected += pieces.last();
    }
    socket.write(pieces);
    QVERIFY(socket.bytesToWrite() > 0);
    QVERIFY(socket.bytesToWrite() < expected.size());
    // Written behind what is queued, in order.
    const QByteArray tail = piece(99, 5000);
    socket.write({tail});
    expected += tail;
    QByteArray arrived;
    QVERIFY(QTest::qWaitFor([&] {
        arrived += tcp.peerRead();
        return arrived.size() >= expected.size();
    }));
    QCOMPARE(arrived.size(), expected.size());
    QVERIFY(arrived == expected);
    QVERIFY(QTest::qWaitFor([&] { return socket.bytesToWrite() == 0; }));
    QVERIFY(owner.written > 0);
    // Nothing queued: no longer woken for writing.
    const int written = owner.written;
    QTest::qWait(50);
    QCOMPARE(owner.written, written);
}

void TestDescriptorSocket::callersBytesAreCopiedWhenQueued() {
    Accepted accepted(16 * 1024);
    TcpPair &tcp = accepted.tcp;
    DescriptorSocket &socket = *accepted.socket;
    // Fill the kernel first, so that the caller's bytes are queued.
    const QByteArray filler = piece(1, 4 * 1024 * 1024);
    socket.write({filler});
    QVERIFY(socket.bytesToWrite() > 0);
    QByteArray callers = piece(2, 3000);
    // A copy of its own: `callers` must stay unshared, so that fill() writes in place.
    const QByteArray original(callers.constData(), callers.size());
    const QByteArray view = QByteArray::fromRawData(callers.constData(), callers.size());
    QVERIFY(Session::isCallerBytes(view));
    socket.write({view});
    // The caller reuses its buffer at once.
    callers.fill('z');
    QByteArray arrived;
    QVERIFY(QTest::qWaitFor([&] {
        arrived += tcp.peerRead();
        return arrived.size() >= filler.size() + original.size();
    }));
    QVERIFY(arrived.first(filler.size()) == filler);
    QVERIFY(arrived.sliced(filler.size()) == original);
}

void TestDescriptorSocket::gracefulCloseWritesTheQueueFirst() {
    Accepted accepted(16 * 1024);
    TcpPair &tcp = accepted.tcp;
    RecordingOwner &owner = accepted.owner;
    DescriptorSocket &socket = *accepted.socket;
    const QByteArray bytes = piece(3, 2 * 1024 * 1024);
    socket.write({bytes});
    QVERIFY(socket.bytesToWrite() > 0);
    socket.close(false, 1000);
    // Closing: nothing more is written, the queue still goes out.
    QVERIFY(!socket.isConnected());
    QVERIFY(socket.isOpen());
    QCOMPARE(owner.ended, 0);
    socket.write({QByteArray("late")});
    QByteArray arrived;
    bool eof = false;
    QVERIFY(QTest::qWaitFor([&] {
        arrived += tcp.peerRead(&eof);
        return eof;
    }));
    QVERIFY(arrived == bytes);
    QCOMPARE(owner.ended, 1);
    QVERIFY(!socket.isOpen());
    // With nothing queued it closes at once, and says so.
    Accepted idle;
    idle.socket->close(false, 1000);
    QCOMPARE(idle.owner.ended, 1);
    QVERIFY(!idle.socket->isOpen());
}

void TestDescriptorSocket::lingeringCloseLetsThePeerFinish() {
    Accepted accepted;
    TcpPair &tcp = accepted.tcp;
    RecordingOwner &owner = accepted.owner;
    DescriptorSocket &socket = *accepted.socket;
    owner.readOnReadable = false;
    // The peer has sent bytes nobody read: a plain close would answer with a reset.
    QCOMPARE(::send(tcp.theirs, "unread", 6, 0), ssize_t(6));
    QTest::qWait(20);
    socket.write({QByteArray("last words")});
    socket.close(true, 2000);
    QCOMPARE(owner.ended, 1);
    QByteArray arrived;
    bool eof = false;
    int error = 0;
    QVERIFY(QTest::qWaitFor([&] {
        arrived += tcp.peerRead(&eof, &error);
        return eof || error;
    }));
    QCOMPARE(error, 0);
    QCOMPARE(arrived, QByteArray("last words"));
    // The peer may still send until it closes, without a reset.
    QCOMPARE(::send(tcp.theirs, "more", 4, MSG_NOSIGNAL), ssize_t(4));
    ::shutdown(tcp.theirs, SHUT_WR);
    QTest::qWait(100);
    error = 0;
    tcp.peerRead(nullptr, &error);
    QCOMPARE(error, 0);
}

void TestDescriptorSocket::failedWriteEndsTheSocket() {
    Accepted accepted(16 * 1024);
    TcpPair &tcp = accepted.tcp;
    RecordingOwner &owner = accepted.owner;
    DescriptorSocket &socket = *accepted.socket;
    owner.readOnReadable = false;
    socket.write({piece(4, 4 * 1024 * 1024)});
    QVERIFY(socket.bytesToWrite() > 0);
    // The peer resets the connection with our bytes unread.
    const linger reset{1, 0};
    ::setsockopt(tcp.theirs, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    ::close(tcp.theirs);
    tcp.theirs = -1;
    QVERIFY(QTest::qWaitFor([&] { return owner.ended == 1; }));
    QVERIFY(!socket.isOpen());
    QVERIFY2(socket.error() == ECONNRESET || socket.error() == EPIPE,
             qPrintable(QString::fromUtf8(strerror(socket.error()))));
    QCOMPARE(socket.bytesToWrite(), 0);
}

void TestDescriptorSocket::pausedReadingLeavesBytesInTheKernel() {
    Accepted accepted;
    TcpPair &tcp = accepted.tcp;
    RecordingOwner &owner = accepted.owner;
    DescriptorSocket &socket = *accepted.socket;
    socket.setReading(false);
    QCOMPARE(::send(tcp.theirs, "held", 4, 0), ssize_t(4));
    QTest::qWait(50);
    QCOMPARE(owner.readable, 0);
    socket.setReading(true);
    QVERIFY(QTest::qWaitFor([&] { return owner.received == "held"; }));
}

void TestDescriptorSocket::connectsToAListener() {
    TcpPair tcp;
    RecordingOwner owner;
    std::unique_ptr<DescriptorSocket> socket = DescriptorSocket::connectTo(
        QHostAddress(QHostAddress::LocalHost), tcp.port, dispatcher(), &owner);
    owner.socket = socket.get();
    QVERIFY(socket->isOpen());
    QVERIFY(socket->isConnecting());
    QVERIFY(!socket->isConnected());
    QVERIFY(QTest::qWaitFor([&] { return owner.connected == 1; }));
    QVERIFY(socket->isConnected());
    QCOMPARE(socket->peerPort(), tcp.port);
    QCOMPARE(socket->peerAddress(), QHostAddress(QHostAddress::LocalHost));
    tcp.theirs = ::accept4(tcp.listener, nullptr, nullptr, SOCK_CLOEXEC);
    QVERIFY(tcp.theirs >= 0);
    socket->write({QByteArray("ping")});
    QByteArray arrived;
    QVERIFY(QTest::qWaitFor([&] {
        arrived += tcp.peerRead();
        return arrived == "ping";
    }));
    QCOMPARE(::send(tcp.theirs, "pong", 4, 0), ssize_t(4));
    QVERIFY(QTest::qWaitFor([&] { return owner.received == "pong"; }));
    QCOMPARE(owner.ended, 0);
}

void TestDescriptorSocket::refusedConnectionSaysWhy() {
    quint16 closedPort = 0;
    {
        TcpPair tcp; // listening, then closed: nothing listens on its port
        closedPort = tcp.port;
    }
    RecordingOwner owner;
    std::unique_ptr<DescriptorSocket> socket = DescriptorSocket::connectTo(
        QHostAddress(QHostAddress::LocalHost), closedPort, dispatcher(), &owner);
    owner.socket = socket.get();
    // Refused at once, or by the next pass.
    if (socket->isOpen())
        QVERIFY(QTest::qWaitFor([&] { return owner.ended == 1; }));
    QVERIFY(!socket->isOpen());
    QCOMPARE(socket->error(), ECONNREFUSED);
    QCOMPARE(owner.connected, 0);
}

namespace {

// Why a test of the batches cannot run: they need io_uring, which the kernel refuses
// (or WSW_IO_URING=0 turns off). The tests without batches turn them off themselves.
constexpr const char *NoBatches = "no io_uring for the dispatcher's batches (an old kernel, "
                                  "a seccomp filter, or WSW_IO_URING=0 in the environment)";

// The dispatcher's batch of writes.
bool batching() {
    return dispatcher()->writeBatch() != nullptr;
}

// Fills the kernel's buffers of a connection made with a small peerReceiveBuffer,
// behind the socket's back, so that its next send(2) meets EAGAIN. Returns the bytes.
QByteArray fillKernel(int descriptor) {
    QByteArray sent;
    const QByteArray chunk = piece(7, 4096);
    while (::send(descriptor, chunk.constData(), chunk.size(), MSG_DONTWAIT) == chunk.size())
        sent += chunk;
    return sent;
}

} // namespace

void TestDescriptorSocket::smallWritesLeaveTogetherBeforeTheLoopWaits() {
    QVERIFY2(batching(), NoBatches);
    std::array<Accepted, 3> sockets;
    std::array<QByteArray, 3> expected;
    QByteArray callers = piece(5, 700);
    for (std::size_t i = 0; i < sockets.size(); ++i) {
        const QByteArray own = piece(int(i), 64);
        const QByteArray view = QByteArray::fromRawData(callers.constData(), callers.size());
        sockets[i].socket->write({own, view});
        expected[i] = own + callers;
        // Queued for the batch: nothing has reached the peer yet.
        QCOMPARE(sockets[i].socket->bytesToWrite(), expected[i].size());
        QVERIFY(sockets[i].tcp.peerRead().isEmpty());
    }
    // The caller's bytes were copied: it reuses its buffer at once.
    callers.fill('z');
    // A second write in the same pass goes behind the first.
    sockets[0].socket->write({piece(9, 10)});
    expected[0] += piece(9, 10);
    // One pass of the loop sends them all, the owners told.
    QCoreApplication::processEvents();
    for (std::size_t i = 0; i < sockets.size(); ++i) {
        QCOMPARE(sockets[i].socket->bytesToWrite(), 0);
        QCOMPARE(sockets[i].owner.written, 1);
        QByteArray arrived;
        QVERIFY(QTest::qWaitFor([&] {
            arrived += sockets[i].tcp.peerRead();
            return arrived.size() >= expected[i].size();
        }));
        QVERIFY(arrived == expected[i]);
    }
    // A large write does not wait: it goes to the kernel at once.
    const QByteArray large = piece(8, 64 * 1024);
    sockets[1].socket->write({large});
    QCOMPARE(sockets[1].socket->bytesToWrite(), 0);
    QByteArray arrived;
    QVERIFY(QTest::qWaitFor([&] {
        arrived += sockets[1].tcp.peerRead();
        return arrived.size() >= large.size();
    }));
    QVERIFY(arrived == large);
}

void TestDescriptorSocket::batchedWriteToAFullPeerWaitsForWritability() {
    QVERIFY2(batching(), NoBatches);
    Accepted accepted(16 * 1024);
    TcpPair &tcp = accepted.tcp;
    DescriptorSocket &socket = *accepted.socket;
    const QByteArray filler = fillKernel(tcp.ours);
    QVERIFY(!filler.isEmpty());
    const QByteArray small = piece(6, 100);
    socket.write({small});
    // The batch met a full kernel (EAGAIN): still queued, now waiting for writability.
    QCoreApplication::processEvents();
    QCOMPARE(socket.bytesToWrite(), small.size());
    QByteArray arrived;
    QVERIFY(QTest::qWaitFor([&] {
        arrived += tcp.peerRead();
        return arrived.size() >= filler.size() + small.size();
    }));
    QVERIFY(arrived == filler + small);
    QVERIFY(QTest::qWaitFor([&] { return socket.bytesToWrite() == 0; }));
}

void TestDescriptorSocket::batchedWriteThatFailsEndsTheSocket() {
    QVERIFY2(batching(), NoBatches);
    Accepted accepted;
    TcpPair &tcp = accepted.tcp;
    RecordingOwner &owner = accepted.owner;
    DescriptorSocket &socket = *accepted.socket;
    owner.readOnReadable = false;
    // The peer resets the connection before the batch goes.
    const linger reset{1, 0};
    ::setsockopt(tcp.theirs, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    ::close(tcp.theirs);
    tcp.theirs = -1;
    socket.write({piece(4, 100)});
    QVERIFY(QTest::qWaitFor([&] { return owner.ended == 1; }));
    QVERIFY(!socket.isOpen());
    QVERIFY2(socket.error() == ECONNRESET || socket.error() == EPIPE,
             qPrintable(QString::fromUtf8(strerror(socket.error()))));
    QCOMPARE(socket.bytesToWrite(), 0);
}

void TestDescriptorSocket::closingOrDroppingTakesBytesOutOfTheBatch() {
    QVERIFY2(batching(), NoBatches);
    // Closed with the bytes in the batch: they go at once, as without a batch, then
    // the end of the stream.
    Accepted closed;
    const QByteArray bytes = piece(10, 500);
    closed.socket->write({bytes});
    QCOMPARE(closed.socket->bytesToWrite(), bytes.size());
    closed.socket->close(false, 1000);
    QCOMPARE(closed.owner.ended, 1);
    QVERIFY(!closed.socket->isOpen());
    QByteArray arrived;
    bool eof = false;
    QVERIFY(QTest::qWaitFor([&] {
        arrived += closed.tcp.peerRead(&eof);
        return eof;
    }));
    QVERIFY(arrived == bytes);
    // Dropped with the bytes in the batch, beside one that stays: the first's go at
    // once, as they would have without a batch, and the batch forgets it; the second's
    // go with the batch.
    Accepted dropped;
    Accepted kept;
    dropped.socket->write({piece(11, 500)});
    kept.socket->write({piece(12, 500)});
    dropped.socket.reset();
    QCoreApplication::processEvents();
    QCOMPARE(kept.socket->bytesToWrite(), 0);
    arrived.clear();
    QVERIFY(QTest::qWaitFor([&] {
        arrived += kept.tcp.peerRead();
        return arrived.size() >= 500;
    }));
    QVERIFY(arrived == piece(12, 500));
    eof = false;
    QByteArray before;
    QVERIFY(QTest::qWaitFor([&] {
        before += dropped.tcp.peerRead(&eof);
        return eof;
    }));
    QVERIFY(before == piece(11, 500));
}

void TestDescriptorSocket::moreWritersThanOneSubmissionHolds() {
    QVERIFY2(batching(), NoBatches);
    // The ring takes 256 sends at a time: 300 writers need two submissions.
    std::vector<std::unique_ptr<Accepted>> sockets;
    for (int i = 0; i < 300; ++i) {
        sockets.push_back(std::make_unique<Accepted>());
        sockets.back()->socket->write({piece(i, 33)});
    }
    QCoreApplication::processEvents();
    for (int i = 0; i < 300; ++i) {
        QCOMPARE(sockets[std::size_t(i)]->socket->bytesToWrite(), 0);
        QByteArray arrived;
        QVERIFY(QTest::qWaitFor([&] {
            arrived += sockets[std::size_t(i)]->tcp.peerRead();
            return arrived.size() >= 33;
        }));
        QVERIFY(arrived == piece(i, 33));
    }
}

void TestDescriptorSocket::withoutBatchingSmallWritesGoAtOnce() {
    dispatcher()->setBatchingWrites(false);
    const auto restore = qScopeGuard([] { dispatcher()->setBatchingWrites(true); });
    QVERIFY(!dispatcher()->writeBatch());
    Accepted accepted;
    const QByteArray bytes = piece(13, 64);
    accepted.socket->write({bytes});
    QCOMPARE(accepted.socket->bytesToWrite(), 0);
    QByteArray arrived;
    QVERIFY(QTest::qWaitFor([&] {
        arrived += accepted.tcp.peerRead();
        return arrived.size() >= bytes.size();
    }));
    QVERIFY(arrived == bytes);
}

namespace {

// Sockets whose owners read ahead, their peers each having sent `bytes`.
std::vector<std::unique_ptr<Accepted>> readableSockets(int count, const QByteArray &bytes) {
    std::vector<std::unique_ptr<Accepted>> sockets;
    for (int i = 0; i < count; ++i) {
        sockets.push_back(std::make_unique<Accepted>());
        sockets.back()->owner.readAhead = UnbufferedReadSize;
        if (::send(sockets.back()->tcp.theirs, bytes.constData(), std::size_t(bytes.size()), 0) !=
            bytes.size())
            qFatal("the peer could not send: %s", strerror(errno));
    }
    return sockets;
}

// Runs passes of the loop until `done` or 5 s.
bool passUntil(const std::function<bool()> &done) {
    return QTest::qWaitFor(done, 5000);
}

} // namespace

void TestDescriptorSocket::readableSocketsAreReadTogetherAfterTheWait() {
    QVERIFY2(dispatcher()->readBatch(), NoBatches);
    const QByteArray bytes = piece(20, 1000);
    auto sockets = readableSockets(3, bytes);
    QVERIFY(passUntil([&] {
        return std::all_of(sockets.begin(), sockets.end(),
                           [&](const auto &s) { return s->owner.received.size() >= bytes.size(); });
    }));
    // Each socket's first read came from a slot of the batch of its own, where reads
    // of their own would all have used the thread's one read buffer.
    std::set<const char *> places;
    for (const auto &s : sockets) {
        QVERIFY(s->owner.received == bytes);
        QCOMPARE(s->owner.readAt.size(), std::size_t(1));
        places.insert(s->owner.readAt.front());
    }
    QCOMPARE(places.size(), std::size_t(3));
    // More bytes later go the same way.
    QCOMPARE(::send(sockets[1]->tcp.theirs, "more", 4, 0), ssize_t(4));
    QVERIFY(passUntil([&] { return sockets[1]->owner.received.endsWith("more"); }));
    QVERIFY(sockets[1]->owner.received == bytes + "more");
}

void TestDescriptorSocket::bytesNotTakenInTheirPassAreKeptInOrder() {
    QVERIFY2(dispatcher()->readBatch(), NoBatches);
    // The owner says it reads 64 KiB ahead, then takes 10 bytes a pass: the rest of
    // the batch's read is kept, and announced pass after pass though the kernel holds
    // nothing more.
    const QByteArray bytes = piece(21, 1000);
    auto sockets = readableSockets(1, bytes);
    RecordingOwner &owner = sockets[0]->owner;
    owner.readSize = 10;
    owner.readOnce = true;
    QVERIFY(passUntil([&] { return owner.received.size() >= bytes.size(); }));
    QVERIFY(owner.received == bytes);
    QCOMPARE(owner.readAt.size(), std::size_t(100));
    // Behind the kept bytes, what the peer sends next.
    owner.readSize = UnbufferedReadSize;
    owner.readOnce = false;
    QCOMPARE(::send(sockets[0]->tcp.theirs, "tail", 4, 0), ssize_t(4));
    QVERIFY(passUntil([&] { return owner.received.size() >= bytes.size() + 4; }));
    QVERIFY(owner.received == bytes + "tail");
}

void TestDescriptorSocket::pausedReaderKeepsItsBatchedBytesUntilResumed() {
    QVERIFY2(dispatcher()->readBatch(), NoBatches);
    const QByteArray bytes = piece(22, 500);
    auto sockets = readableSockets(2, bytes);
    // Whichever is told first pauses the other, whose bytes the batch has read.
    bool paused = false;
    for (int i = 0; i < 2; ++i) {
        Accepted *other = sockets[std::size_t(1 - i)].get();
        sockets[std::size_t(i)]->owner.beforeReading = [other, &paused] {
            if (!std::exchange(paused, true))
                other->socket->setReading(false);
        };
    }
    QVERIFY(passUntil([&] {
        return sockets[0]->owner.received.size() + sockets[1]->owner.received.size() >=
               bytes.size();
    }));
    Accepted &held = sockets[0]->owner.received.isEmpty() ? *sockets[0] : *sockets[1];
    QVERIFY(held.owner.received.isEmpty());
    QTest::qWait(50);
    QVERIFY(held.owner.received.isEmpty());
    QCOMPARE(::send(held.tcp.theirs, "next", 4, 0), ssize_t(4));
    held.socket->setReading(true);
    QVERIFY(passUntil([&] { return held.owner.received.size() >= bytes.size() + 4; }));
    QVERIFY(held.owner.received == bytes + "next");
}

void TestDescriptorSocket::readerResumedAndReadAtOnceJoinsTheNextBatchOnce() {
    QVERIFY2(dispatcher()->readBatch(), NoBatches);
    // A reader paused with the batch's bytes in hand keeps them; resumed, it is
    // announced for the next pass, but reads them at once. Next pass its descriptor
    // is in the list twice (ready again, and announced): it joins the batch once, or
    // the second read would take the place of the first's bytes.
    const QByteArray first = piece(25, 3000);
    auto sockets = readableSockets(1, first);
    Accepted &accepted = *sockets[0];
    // Batched reads of 16 KiB: the kernel holds more than one of them next pass.
    accepted.owner.readAhead = 16 * 1024;
    accepted.owner.readOnReadable = false;
    accepted.owner.beforeReading = [&] { accepted.socket->setReading(false); };
    QVERIFY(passUntil([&] { return accepted.owner.readable > 0; }));
    QCoreApplication::processEvents(); // the pass that keeps the bytes is over
    accepted.owner.beforeReading = nullptr;
    accepted.owner.readOnReadable = true;
    const QByteArray second = piece(26, 50'000);
    QCOMPARE(::send(accepted.tcp.theirs, second.constData(), std::size_t(second.size()), 0),
             ssize_t(second.size()));
    accepted.socket->setReading(true);
    accepted.owner.descriptorReadable();
    QVERIFY(accepted.owner.received.startsWith(first));
    const QByteArray third = piece(27, 40'000);
    QCOMPARE(::send(accepted.tcp.theirs, third.constData(), std::size_t(third.size()), 0),
             ssize_t(third.size()));
    const QByteArray all = first + second + third;
    QVERIFY(passUntil([&] { return accepted.owner.received.size() >= all.size(); }));
    QTest::qWait(20);
    QCOMPARE(accepted.owner.received.size(), all.size());
    QVERIFY(accepted.owner.received == all);
}

void TestDescriptorSocket::endOfStreamComesThroughTheBatch() {
    QVERIFY2(dispatcher()->readBatch(), NoBatches);
    auto sockets = readableSockets(2, "bye");
    ::shutdown(sockets[0]->tcp.theirs, SHUT_WR);
    QVERIFY(passUntil([&] { return sockets[0]->owner.readEnded; }));
    QVERIFY(sockets[0]->owner.received == "bye");
    QVERIFY(!sockets[0]->socket->isOpen());
    QCOMPARE(sockets[0]->socket->error(), 0);
    // The other one stays as it was.
    QVERIFY(passUntil([&] { return sockets[1]->owner.received == "bye"; }));
    QVERIFY(sockets[1]->socket->isOpen());
}

void TestDescriptorSocket::socketDroppedBeforeItsTurnIsForgotten() {
    QVERIFY2(dispatcher()->readBatch(), NoBatches);
    const QByteArray bytes = piece(23, 300);
    auto sockets = readableSockets(3, bytes);
    // Whichever is told first drops the others, which the batch has read for.
    bool dropped = false;
    for (std::size_t i = 0; i < sockets.size(); ++i) {
        sockets[i]->owner.beforeReading = [i, &sockets, &dropped] {
            if (std::exchange(dropped, true))
                return;
            for (std::size_t j = 0; j < sockets.size(); ++j) {
                if (j != i)
                    sockets[j]->socket.reset();
            }
        };
    }
    QVERIFY(passUntil([&] {
        return std::any_of(sockets.begin(), sockets.end(),
                           [&](const auto &s) { return s->owner.received.size() >= bytes.size(); });
    }));
    QTest::qWait(50);
    int kept = 0;
    for (const auto &s : sockets) {
        if (s->socket) {
            ++kept;
            QVERIFY(s->owner.received == bytes);
        } else {
            QVERIFY(s->owner.received.isEmpty());
        }
    }
    QCOMPARE(kept, 1);
}

void TestDescriptorSocket::nestedLoopLeavesNoBatchedBytesBehind() {
    QVERIFY2(dispatcher()->readBatch(), NoBatches);
    // Whichever socket is told first runs a loop of its own (as a dialog would) before
    // it reads, with the others' bytes in the batch: they keep them and get them in
    // that loop, which then waits as any loop does, and more bytes after come behind.
    const QByteArray bytes = piece(28, 2000);
    auto sockets = readableSockets(3, bytes);
    bool nested = false;
    int nestedPasses = 0;
    for (const auto &s : sockets) {
        s->owner.beforeReading = [&] {
            if (std::exchange(nested, true))
                return;
            QEventLoop loop;
            QTimer::singleShot(100, &loop, &QEventLoop::quit);
            const QMetaObject::Connection counting = QObject::connect(
                dispatcher(), &QAbstractEventDispatcher::awake, [&] { ++nestedPasses; });
            loop.exec();
            QObject::disconnect(counting);
        };
    }
    QVERIFY(passUntil([&] {
        return std::all_of(sockets.begin(), sockets.end(),
                           [&](const auto &s) { return s->owner.received.size() >= bytes.size(); });
    }));
    QVERIFY(nested);
    // A loop that spun on kept bytes would make thousands of passes in 100 ms.
    QVERIFY2(nestedPasses < 50, qPrintable(QString::number(nestedPasses)));
    for (const auto &s : sockets) {
        QCOMPARE(s->owner.received.size(), bytes.size());
        QVERIFY(s->owner.received == bytes);
        QCOMPARE(::send(s->tcp.theirs, "after", 5, 0), ssize_t(5));
    }
    QVERIFY(passUntil([&] {
        return std::all_of(sockets.begin(), sockets.end(),
                           [&](const auto &s) { return s->owner.received == bytes + "after"; });
    }));
}

void TestDescriptorSocket::withoutBatchingReadsGoOneByOne() {
    dispatcher()->setBatchingReads(false);
    const auto restore = qScopeGuard([] { dispatcher()->setBatchingReads(true); });
    QVERIFY(!dispatcher()->readBatch());
    const QByteArray bytes = piece(24, 700);
    auto sockets = readableSockets(3, bytes);
    QVERIFY(passUntil([&] {
        return std::all_of(sockets.begin(), sockets.end(),
                           [&](const auto &s) { return s->owner.received.size() >= bytes.size(); });
    }));
    // Each read into the thread's read buffer.
    for (const auto &s : sockets) {
        QVERIFY(s->owner.received == bytes);
        QCOMPARE(s->owner.readAt.front(), sockets[0]->owner.readAt.front());
    }
}

int main(int argc, char *argv[]) {
    QCoreApplication::setEventDispatcher(new EpollEventDispatcher);
    QCoreApplication app(argc, argv);
    TestDescriptorSocket test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_descriptorsocket.moc"

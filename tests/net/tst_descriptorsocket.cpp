// DescriptorSocket on the epoll dispatcher, against a plain TCP peer on 127.0.0.1:
// reads and the end of the stream, writes the kernel does not take at once (queued in
// order, a caller's bytes copied), graceful and lingering closes, a failing write,
// paused reading, and connections made, refused and ended. Plus the dispatcher's
// watchers: level-triggered, and not told once they stopped watching.

#include "net/descriptorsocket.h"
#include "net/epolleventdispatcher.h"
#include "protocol/session.h"

#include <QCoreApplication>
#include <QTest>

#include <cerrno>
#include <memory>

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

    void descriptorReadable() override {
        ++readable;
        if (!readOnReadable)
            return;
        for (;;) {
            const SocketRead chunk = socket->read();
            received += chunk.data.toByteArray();
            if (chunk.ended)
                readEnded = true;
            if (!chunk.mayHaveMore)
                break;
        }
    }
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

int main(int argc, char *argv[]) {
    QCoreApplication::setEventDispatcher(new EpollEventDispatcher);
    QCoreApplication app(argc, argv);
    TestDescriptorSocket test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_descriptorsocket.moc"

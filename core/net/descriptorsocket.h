#pragma once

#include "net/epolleventdispatcher.h"
#include "net/socketio.h"
#include "net/writebatch.h"

#include <QByteArray>
#include <QHostAddress>
#include <QList>
#include <QPointer>

#include <memory>

namespace ws {

// A connected plain TCP socket on a bare descriptor, watched by the thread's
// EpollEventDispatcher without any QObject: what a relay's client leg runs on where
// a QTcpSocket would cost its socket engine, notifiers, signals and the system calls
// they make (a third of the relay's time per connection, most of it not in the
// kernel). Reads go into the thread's read buffer (readFromDescriptor()), or the
// first of a pass comes from the dispatcher's batch (ReadBatch), made with the other
// readable sockets' when the owner says how much it reads (descriptorReadSize()). A small
// write into an empty queue is queued and joins the dispatcher's batch (WriteBatch),
// which sends it with the other sockets' before the loop waits again; a large one
// goes to the kernel at once. What the kernel does not take stays queued, shared, and
// is written when the descriptor is writable.
//
// It mirrors an unbuffered QTcpSocket's behaviour: the end of the stream or a failure
// found by a read closes it; a graceful close writes what is queued first.
class DescriptorSocket final : private EpollEventDispatcher::DescriptorWatcher,
                               private ReadBatch::Reader,
                               private WriteBatch::Writer {
public:
    // Who hears of the socket. Never called from inside read() or write().
    class Owner {
    public:
        // Bytes, the end of the stream or a failure wait to be read (read()).
        virtual void descriptorReadable() = 0;
        // Queued bytes were written (some or all: bytesToWrite() says).
        virtual void descriptorWritten() = 0;
        // The socket is closed: a graceful close() finished, a write failed, or the
        // connection being made failed (error() says why).
        virtual void descriptorEnded() = 0;
        // The connection being made (connectTo()) is up.
        virtual void descriptorConnected() = 0;
        // How many bytes the owner's next read() will ask for, when the descriptor is
        // readable: the dispatcher's ReadBatch reads them beforehand. 0: no read ahead.
        virtual qint64 descriptorReadSize() { return 0; }

    protected:
        ~Owner() = default;
    };

    // Takes `descriptor`, a connected TCP socket (from accept(2)). isOpen() is false
    // when the dispatcher could not watch it; the descriptor is closed then.
    DescriptorSocket(int descriptor, EpollEventDispatcher *dispatcher, Owner *owner);
    // Starts connecting to `address`:`port`; descriptorConnected() or descriptorEnded()
    // follows. A connection refused at once leaves it closed with error() set and
    // tells nobody: the caller reports it.
    static std::unique_ptr<DescriptorSocket> connectTo(const QHostAddress &address, quint16 port,
                                                       EpollEventDispatcher *dispatcher,
                                                       Owner *owner);
    ~DescriptorSocket();
    DescriptorSocket(const DescriptorSocket &) = delete;
    DescriptorSocket &operator=(const DescriptorSocket &) = delete;

    // Open, connected and not closing: bytes may be written.
    bool isConnected() const { return m_descriptor >= 0 && !m_closing && !m_connecting; }
    bool isConnecting() const { return m_connecting; }
    bool isOpen() const { return m_descriptor >= 0; }
    int descriptor() const { return m_descriptor; }
    // Queued, in the batch or waiting for the descriptor to be writable.
    qint64 bytesToWrite() const { return m_queued; }
    // errno of the failure that ended the socket, 0 if none (the peer closed).
    int error() const { return m_error; }
    QHostAddress peerAddress() const { return m_peerAddress; }
    quint16 peerPort() const { return m_peerPort; }
    QHostAddress localAddress() const;
    quint16 localPort() const;

    // One recv(2). `ended`: the peer closed or the socket failed (error()), and the
    // socket is closed now, without descriptorEnded().
    SocketRead read(qint64 maxBytes = UnbufferedReadSize);
    // Writes the pieces in order after what is queued. A caller's bytes
    // (Session::isCallerBytes()) are copied where they would be queued.
    void write(const QList<QByteArray> &pieces);
    // Watching for bytes to read, or not (a paused reader: the kernel holds the
    // bytes and TCP flow control pushes back on the peer).
    void setReading(bool reading);
    // Writes what is queued, then closes; with `lingering`, in stages as
    // closeLingering() does. descriptorEnded() follows.
    void close(bool lingering, int lingerTimeoutMs);
    // Closes at once, dropping what is queued (a reset if SO_LINGER says so). Bytes that
    // wait for the batch are sent first, as far as the kernel takes them at once, as a
    // write without a batch would have sent them.
    void abort();

private:
    struct Connecting {};
    DescriptorSocket(Connecting, EpollEventDispatcher *dispatcher, Owner *owner);
    void descriptorReady(quint32 events) override;
    ReadBatch::Reader *batchedReader(qint64 *size) override;
    void batchedRead(const char *data, long result) override;
    void batchedReadEnding() override;
    // Takes what the batch read (or what was kept of it), if anything.
    bool takeBatchedRead(qint64 maxBytes, SocketRead *result);
    int batchedPieces(iovec *vectors, int capacity) const override;
    void batchedWriteDone(long result) override;
    void connectionMade();
    // Queues `pieces` from `first` on (the first of them `offset` bytes in).
    void queuePieces(const QList<QByteArray> &pieces, qsizetype first, qsizetype offset);
    // Takes the queue's first `sent` bytes off.
    void dropWritten(qsizetype sent);
    // Out of the batch: the queue is this socket's to send or drop now.
    void leaveBatch();
    void flushQueue();
    void updateInterest();
    // Closes the descriptor, leaving it to a lingering end when asked.
    void release(bool lingering);
    void fail(int error);

    int m_descriptor;
    QPointer<EpollEventDispatcher> m_dispatcher; // may go first, at the end of the program
    Owner *m_owner;
    QList<QByteArray> m_queue;
    qsizetype m_headOffset = 0; // what of m_queue's first piece is written
    qint64 m_queued = 0;
    QHostAddress m_peerAddress;
    quint16 m_peerPort = 0;
    quint32 m_interest = 0; // what the dispatcher watches for
    int m_error = 0;
    int m_lingerTimeoutMs = 0;
    bool m_reading = true;
    bool m_closing = false;
    bool m_lingering = false;
    bool m_connecting = false;
    bool m_inBatch = false; // the queue waits for the dispatcher's WriteBatch
    // The first read of this pass, made by the dispatcher's ReadBatch: the bytes not
    // taken yet at m_batchedData (in the batch's slot), or the end or a failure
    // (m_batchedResult <= 0) not met yet.
    bool m_inReadBatch = false; // asked to join this pass's ReadBatch
    bool m_batchedHeld = false;
    bool m_batchedFull = false; // the read filled what was asked: more may wait
    const char *m_batchedData = nullptr;
    qsizetype m_batchedSize = 0;
    long m_batchedResult = 0;
    qint64 m_batchedAsked = 0;
    QByteArray m_keptRead; // batched bytes not taken in their pass, kept
};

} // namespace ws

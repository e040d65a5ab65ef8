#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>

class QTcpSocket;

namespace ws {

class DescriptorSocket;
class Session;

// The most one read of a socket takes. A 1 MiB message then comes in one read where
// the kernel holds it all: a relay forwarding 1 MiB messages spent less system time
// per MB than with 256 KiB reads (fewer calls, each with its fixed cost; see the
// README's relay figures). The thread's read buffer and each slot of a ReadBatch are
// that large, and touched only as far as reads fill them.
constexpr qint64 UnbufferedReadSize = 1024 * 1024;

// Writes `bytes` to a connected socket, in order after anything it still queues.
// When QTcpSocket's own queue is empty, a small batch goes straight to the kernel: no copy
// into QTcpSocket's buffer, no extra event-loop turn, and no buffer chunk kept
// alive afterwards (QTcpSocket keeps a 32 KiB chunk per socket once it has
// queued anything, which is most of what an idle connection would cost); never for
// a QSslSocket, whose descriptor carries TLS records. Only
// what the kernel does not take is queued, and QTcpSocket writes it when the
// socket is writable, reporting errors and the end of the connection as usual.
// A chunk that is a caller's bytes (Session::isCallerBytes()) is copied where it
// would be queued whole: QTcpSocket gets only bytes that stay valid.
void writeToSocket(QTcpSocket *socket, const QByteArray &bytes);

// Writes what the session has to send: a large payload the caller handed to the
// session as a QByteArray reaches QTcpSocket's queue shared, not copied
// (Session::takeOutgoingChunks); a run of smaller pieces goes to the kernel with one
// sendmsg(2) when nothing is queued, so a batch costs one system call. With
// `connected` false the bytes are dropped: the transport is gone.
void writeSessionOutput(QTcpSocket *socket, Session &session, bool connected);
// The same for a socket on a bare descriptor, which sends every chunk it can at once.
void writeSessionOutput(DescriptorSocket *socket, Session &session, bool connected);

// One read from a socket (readFromSocket()).
struct SocketRead {
    // The bytes read, empty when there was nothing to read. For an unbuffered socket
    // they are in a buffer of this thread's, valid until the next readFromSocket() on
    // the thread; for a buffered one, in `owner`.
    QByteArrayView data;
    // The read filled the buffer: more may be waiting, read again.
    bool mayHaveMore = false;
    // An unbuffered socket met the end of the stream (or failed) on this read.
    // QTcpSocket is then unconnected, but emits neither disconnected() nor
    // errorOccurred(): the caller handles the end itself (error() says which).
    bool ended = false;
    // A buffered socket's buffer chunk, taken over rather than copied: a chunk left in
    // QTcpSocket stays allocated (16 KiB) for the life of the connection.
    QByteArray owner;
    // `data` is in this thread's read buffer (an unbuffered socket's read), which is
    // writable and stays as it is until the next read into it (ReadBufferBorrower).
    bool inReadBuffer = false;
};

// Something that still refers to bytes of this thread's read buffer after the read
// that brought them: a session that sends a piece of a frame in place
// (Session::sendDataPieceInPlace()) until the piece is written. Before the buffer is
// read into again, each borrower is told to copy what it still refers to.
class ReadBufferBorrower {
public:
    virtual void returnReadBuffer() = 0;

protected:
    ~ReadBufferBorrower() = default;
};
// `borrower` refers to bytes of the read buffer until the next read into it (once per
// read is enough: it is told once, then forgotten).
void borrowReadBuffer(ReadBufferBorrower *borrower);
// `borrower` is going away: it is not told.
void forgetReadBufferBorrower(ReadBufferBorrower *borrower);
// Tells every borrower to let go, as before a read into the buffer (ReadBatch reads
// into buffers of its own, which borrowers may refer to as well).
void recallReadBuffer();

// The next batch of bytes from `socket`. An unbuffered QTcpSocket (opened with
// QIODevice::Unbuffered: UnbufferedTcpServer's, a ws:// ClientConnection's) is read
// with one read(2) of up to UnbufferedReadSize bytes, without asking the kernel how
// much there is first; a buffered one (QSslSocket) hands over what it holds. Call
// again while `mayHaveMore`; once a read comes back short, the next readyRead() says
// when there is more (for an unbuffered socket, readyRead() comes again only after a
// read, so a reader that stops reading, e.g. while paused, leaves the bytes in the
// kernel and TCP flow control pushes back on the sender).
// At most `maxBytes` (a buffered socket then keeps the rest, and says nothing more
// about it: the caller must come back for it).
SocketRead readFromSocket(QTcpSocket *socket, qint64 maxBytes = UnbufferedReadSize);

// As readFromSocket() for an unbuffered socket, but with one recv(2) on its descriptor,
// past QTcpSocket: for a reader the dispatcher told that the descriptor is readable
// (EpollEventDispatcher::shortcutReads()). Nothing to read comes back empty; the end
// of the stream or a failure is left to readFromSocket(), whose read sees it again
// (the end stays; after a reset, as after a failure, the descriptor reads as ended)
// and QTcpSocket reports it as usual.
SocketRead readFromDescriptor(QTcpSocket *socket, qint64 maxBytes = UnbufferedReadSize);

// One recv(2) of up to `maxBytes` from a plain socket's descriptor into this thread's
// read buffer (as an unbuffered socket's read). Nothing to read comes back empty; the
// end of the stream comes back `ended` with *error 0, a failure `ended` with errno.
SocketRead readFromDescriptor(int descriptor, qint64 maxBytes, int *error);

// Sends the pieces [first, last), the first from `firstOffset` on, with one sendmsg(2)
// per 64 of them, as far as the kernel takes them now (MSG_DONTWAIT); returns how many
// bytes that was. A failure stops it as a full buffer does: the next send sees it.
qsizetype sendPieces(int descriptor, const QList<QByteArray> &pieces, qsizetype first,
                     qsizetype last, qsizetype firstOffset = 0);

// The last stage of closeLingering() for a bare descriptor, which it takes over: our
// sending side is shut down and what the peer still sends is dropped until its FIN,
// at most `timeoutMs`; then the descriptor is closed.
void lingerOnDescriptor(int descriptor, int timeoutMs);

// Whether QTcpSocket reads straight into the caller's buffer (QIODevice::Unbuffered).
bool isUnbuffered(const QTcpSocket *socket);

// Closes a connected socket in stages, as RFC 6455 §7.1.1 asks ("a method that
// cleanly closes the TCP connection, as well as the TLS session, if applicable,
// discarding any trailing bytes that may have been received"): disconnectFromHost()
// writes what is queued (and a QSslSocket its close_notify), then only our sending
// side is shut down and whatever the peer still sends is read and dropped until its
// FIN, at most `timeoutMs`. A full close with the peer's bytes still arriving would
// answer them with a reset, which makes the peer's TCP stack refuse its writes and
// its socket layer may then drop what we sent before, unread: the echo and the close
// frame in front of a failure (RFC 9112 §9.6 describes the same reset problem).
void closeLingering(QTcpSocket *socket, int timeoutMs);

} // namespace ws

#pragma once

#include "net/descriptorsocket.h"
#include "net/epolleventdispatcher.h"
#include "net/eventclock.h"
#include "net/netmetatypes.h"
#include "net/socketio.h"
#include "protocol/frameencoder.h"
#include "protocol/permessagedeflate.h"
#include "protocol/session.h"

#include <QHostAddress>
#include <QObject>
#include <QPointer>

#include <functional>
#include <memory>

class QTcpSocket;

namespace ws {

// Whether a connection reports its session's events as sessionEvent() signals.
// Chosen explicitly by whoever creates it: a server nobody watches answers from the
// decoder's message sink and formats nothing, and that must not depend on whether
// some slot happens to be connected.
enum class EventReporting { Off, On };

// One WebSocket connection bound to a socket: the socket, the Session (and the
// extension it negotiated), the send queue, the close deadline and the pumping of
// the session's events out as signals. It is the piece under every role:
// ClientConnection (our client) and ServerClient (a client of our server) add how
// the socket comes to be and what to do with the events; a relay or a probe can
// add theirs.
//
// Events come out in the order they happened: what a send made from a
// sessionEvent() slot produces is emitted once that slot has returned. Delete it
// with deleteLater() when it is emitting (e.g. from a finished() slot).
//
// Times come from EventClock, the process's one clock: a received frame carries the
// time right after the read that delivered its last byte; a sent one the time
// right after its bytes were handed to the socket (its queuedUs the time of the
// send call). The bytes a call produces are written before its events are emitted,
// so that the events carry those times.
//
// Under EpollEventDispatcher (the command-line tool) a plain TCP socket is read from
// the dispatcher's readiness directly (EpollEventDispatcher::shortcutReads()), its
// descriptor with one recv(2), past QTcpSocket; the end of the stream and failures
// still go through QTcpSocket, which reports them as ever.
//
// A role may instead run on a bare descriptor (attachDescriptor(), a DescriptorSocket
// under EpollEventDispatcher), with no QTcpSocket at all: socket() is null then.
class Connection : public QObject,
                   private EpollEventDispatcher::ReadShortcut,
                   private DescriptorSocket::Owner,
                   private ReadBufferBorrower {
    Q_OBJECT
public:
    ~Connection() override;

    SendError sendText(const QByteArray &utf8, qint64 fragmentSize = 0);
    SendError sendBinary(const QByteArray &data, qint64 fragmentSize = 0);
    SendError sendPing(const QByteArray &payload = {});
    SendError sendPong(const QByteArray &payload = {});
    SendError sendClose(std::optional<quint16> code = quint16(1000), const QString &reason = {});
    // Any frame, rules broken on purpose; needs the transport to be up.
    SendError sendRaw(const RawFrame &frame);
    // Drop the connection without a close handshake.
    virtual void abort() = 0;

    SessionState state() const { return m_session->state(); }
    const Session &session() const { return *m_session; }
    // The negotiated permessage-deflate, or null.
    const PerMessageDeflate *deflate() const { return m_deflate.get(); }
    // Bytes handed to the socket but not yet written.
    qint64 pendingBytes() const;
    // Calls `handler` each time queued bytes were written (pendingBytes() went down),
    // until unwatchWritten(); one handler at a time.
    void watchWritten(std::function<void()> handler);
    void unwatchWritten();
    bool isWatchingWritten() const { return bool(m_writtenHandler); }
    // True once finished() has been emitted.
    bool isFinished() const { return m_finished; }
    // The socket's own end (TCP; a null address and 0 before connecting, or on a Unix
    // socket), and the peer's.
    QHostAddress localAddress() const;
    quint16 localPort() const;
    QHostAddress remoteAddress() const;
    quint16 remotePort() const;
    // Whether readArrived() can tell that bytes have arrived: the socket is read
    // directly (plain TCP or a Unix socket, not TLS, whose bytes pass QSslSocket).
    bool canReadAhead() const;
    // The socket's descriptor, or -1.
    qintptr socketDescriptor() const;
    // Reads what has arrived now, as the socket's readyRead() makes the role do from
    // the event loop (see readAhead()).
    void readArrived() { socketReadable(); }
    EventReporting eventReporting() const { return m_reporting; }
    // Whether anyone watches the events beyond the role's own logic (default yes). A
    // relay leg whose data frames go straight to the other leg (Session::setFrameSink)
    // reports only the few events its pair acts on: it then reads whole batches, as a
    // connection that reports nothing does, rather than ReportedReadBudget per turn.
    void setEventsWatched(bool watched) { m_eventsWatched = watched; }
    // Called after each batch of received bytes has gone through the session, before
    // its events are reported: a relay writes there what the batch's frames queued on
    // the other leg, one write per batch rather than one per frame.
    void setBatchHandler(std::function<void()> handler) { m_batchHandler = std::move(handler); }
    // Called after each batch of received bytes has been handled: its events reported
    // and this connection's own answers written. A relay whose pair is watched writes
    // there what the batch's frames queued on the other leg: one write per batch,
    // without a trip through the event loop.
    void setReportedHandler(std::function<void()> handler) {
        m_reportedHandler = std::move(handler);
    }
    // Inside receive(): the events being reported now come from a batch whose end
    // calls the reported handler.
    bool isReceiving() const { return m_receiveDepth > 0; }
    // Hears every reported event right before sessionEvent() is emitted: one call
    // where a signal costs a dispatch, for an owner that takes each event of its
    // connection (a relayed pair, its legs'). Empty: none.
    void setEventObserver(std::function<void(const SessionEvent &)> observer) {
        m_eventObserver = std::move(observer);
    }
    // When the batch of bytes being received (or the last one) was read (EventClock, µs).
    qint64 lastReadUs() const { return m_lastReadUs; }

signals:
    void sessionEvent(const ws::SessionEvent &event);
    void stateChanged(ws::SessionState state);
    // The connection is over (after the ClosedEvent, or after a connect error).
    // Emitted exactly once.
    void finished();

protected:
    Connection(EventReporting reporting, QObject *parent);

    // What a role decides.
    // Whether sends are allowed now (beyond what the session itself checks).
    virtual bool canSend() const = 0;
    // Before each batch of received bytes, read at `readUs`, goes into the session.
    virtual void beforeReceive(qint64 readUs) { Q_UNUSED(readUs); }
    // After a batch has been handled and flushed; false stops reading for now.
    virtual bool afterReceive() { return true; }
    // Each event, after it was reported. The role may send from here.
    virtual void handleEvent(SessionEvent &event) = 0;
    // The socket has bytes (or its end) to read: what its readyRead() starts. By
    // default receive(); a role whose readyRead() does more says so here.
    virtual void socketReadable() { receive(); }
    // An event to swallow before it is reported (false: not reported, not handled).
    virtual bool admitEvent(const SessionEvent &) { return true; }
    // An unbuffered socket's read met the end of the stream or failed (the socket's
    // error() says which); it emits neither disconnected() nor errorOccurred().
    // On a bare descriptor (attachDescriptor(), connectDescriptor()), this also comes
    // when a graceful close has finished (QTcpSocket's disconnected()), a write failed
    // or the connection could not be made: descriptorSocket()->error() says which.
    virtual void transportEnded() = 0;
    // A connection being made on a bare descriptor (connectDescriptor()) is up.
    virtual void transportConnected() {}
    // How many bytes receive() may read now (a server staging a slow reader); at 0
    // it reads nothing and the role calls receive() again when it wants more.
    virtual qint64 readAllowance() const { return UnbufferedReadSize; }
    // After every send made through the send functions.
    virtual void afterSend() {}
    // The close deadline passed: the peer did not answer our close frame (the
    // session is aborted, `why` says so) or did not close TCP after the handshake.
    virtual void closeDeadlinePassed(bool answered, const QString &why) = 0;
    // The close deadline was set (armCloseDeadline): a role with a timer of its own
    // starts it here; a server's sweep just reads closeDeadlineMs().
    virtual void closeDeadlineArmed() {}
    // Right before and right after finished() is emitted.
    virtual void aboutToFinish() {}
    virtual void afterFinish() {}

    // The plumbing every role shares.
    void attachSocket(QTcpSocket *socket);
    // Runs on `descriptor`, a connected plain TCP socket, instead of a QTcpSocket: only
    // under EpollEventDispatcher (`dispatcher`). False if it could not be watched; the
    // descriptor is closed then.
    bool attachDescriptor(int descriptor, EpollEventDispatcher *dispatcher);
    // Starts connecting a bare descriptor to `address`:`port` (under `dispatcher`):
    // transportConnected() or transportEnded() follows. False: it failed at once
    // (descriptorSocket()->error() says why), and nothing follows.
    bool connectDescriptor(const QHostAddress &address, quint16 port,
                           EpollEventDispatcher *dispatcher);
    const DescriptorSocket *descriptorSocket() const { return m_descriptor.get(); }
    // The transport is connected and not closing (QTcpSocket's ConnectedState).
    bool isTransportConnected() const;
    void setSession(std::unique_ptr<Session> session) { m_session = std::move(session); }
    Session &mutableSession() { return *m_session; }
    // Takes ownership of the negotiated extension; it outlives the session's use.
    PerMessageDeflate *setDeflate(std::unique_ptr<PerMessageDeflate> deflate);
    QTcpSocket *socket() const { return m_socket; }
    static qint64 nowMs() { return EventClock::nowMs(); }
    static qint64 nowUs() { return EventClock::nowUs(); }
    // Reads what the socket has, feeds it to the session, reports and writes. A
    // connection that reports its events reads a bounded batch per call (see
    // ReportedReadBudget) and comes back for the rest through receiveLater().
    void receive();
    // More bytes wait after a bounded batch: read them from the event loop (a
    // buffered socket does not announce bytes it already holds). By default a
    // queued receive(); a role that can pause reading checks that first.
    virtual void receiveLater();
    // The transport ended: what is left is read, the session hears the EOF.
    void receiveEof();
    // The session's events out, in order, nested sends included.
    void pump();
    // The session's bytes to the socket, then tells the session when they went.
    void writeOutgoing();
    // writeOutgoing(); then closes TCP when the session says so.
    void flush();
    // The common path of every send: refuses when canSend() is false, calls `send`
    // on the session with the time, writes what it produced and reports it.
    template <typename Send> SendError sendThroughSession(Send &&send);
    // Writes what the session holds, reports its events, closes TCP if it says so.
    void writeQueued();
    // One data frame as another session received it (Session::sendDataFrame), queued
    // for writeQueued(), so that many leave with one write; `nowUs` is when the other
    // leg read it (lastReadUs()), which saves asking the clock for every frame.
    SendError queueDataFrame(const FrameHeader &header, QByteArrayView payload, QByteArray *buffer,
                             qint64 nowUs);
    void setFrameSink(Session::FrameSink sink) { m_session->setFrameSink(std::move(sink)); }
    // A piece of a data frame another session received in pieces (Session::sendDataPiece),
    // queued for writeQueued() as queueDataFrame() queues a whole one.
    SendError queueDataPiece(const FrameHeader &header, quint64 offset, QByteArrayView wireBytes,
                             qint64 nowUs, FrameHeader *sent = nullptr);
    // As queueDataPiece(), but the piece is sent in place (Session::sendDataPieceInPlace()):
    // for bytes in this thread's read buffer that nobody reads again, where they are
    // masked afresh; if they are not written before the buffer is read into again, the
    // session copies them then (ReadBufferBorrower).
    SendError queueDataPieceInPlace(const FrameHeader &header, quint64 offset, char *wireBytes,
                                    qsizetype size, qint64 nowUs);
    void setPieceSink(Session::PieceSink sink) { m_session->setPieceSink(std::move(sink)); }
    // Whether `bytes` (a sink's) lie in the chunk of this thread's read buffer being
    // decoded now (SocketRead::inReadBuffer): the sink may then send them in place.
    // Bytes the session fed from a buffer of its own (those that came with the
    // handshake) do not.
    bool isInReadBuffer(QByteArrayView bytes) const {
        return !m_readBufferChunk.isNull() && bytes.data() >= m_readBufferChunk.data() &&
               bytes.data() + bytes.size() <= m_readBufferChunk.data() + m_readBufferChunk.size();
    }
    // Whole data frames another session received as a run (Session::sendFrameRun),
    // queued for writeQueued(); false when they must go one by one (queueDataFrame()).
    // With `sent`, the caller reports them (see Session::sendFrameRun).
    bool queueFrameRun(QByteArrayView wireFrames, qint64 nowUs, QByteArrayView *sent = nullptr);
    // As queueFrameRun(), the run sent in place (Session::sendFrameRunInPlace()), on the
    // terms of queueDataPieceInPlace().
    bool queueFrameRunInPlace(char *wireFrames, qsizetype size, qint64 nowUs);
    // Whether the queue*() calls above may queue on this connection now.
    bool mayQueue() const { return !isEnding() && canSend(); }
    void setFrameRunSink(Session::FrameRunSink sink) {
        m_session->setFrameRunSink(std::move(sink));
    }
    // Starts the bounded wait for the peer's close (frame or TCP), once.
    void armCloseDeadline();
    bool hasCloseDeadline() const { return m_closeDeadlineMs >= 0; }
    qint64 closeDeadlineMs() const { return m_closeDeadlineMs; }
    void setCloseTimeout(int ms) { m_closeTimeoutMs = ms; }
    // Call when the close deadline may have passed (a timer or a sweep).
    void checkCloseDeadline(qint64 nowMs);
    // Aborts the session with `why` (a ClosedEvent 1006 follows), drops the socket
    // and finishes.
    void drop(const QString &why);
    // Drops the socket at once, without reading what is left.
    void abortSocket();
    // Emits finished() once; from inside pump(), after the remaining events.
    void finish();
    bool isTransportClosing() const { return m_transportClosing; }
    // Finished, or finishing once the events being reported are out.
    bool isEnding() const { return m_finished || m_finishPending; }
    // A conformance note as an event of its own (when events are reported).
    void reportNote(ConformanceNote::Kind kind, const QString &text);
    // The last time any byte arrived (EventClock, ms).
    qint64 lastReceiveMs() const { return m_lastReceiveMs; }
    void touch(qint64 nowMs) { m_lastReceiveMs = nowMs; }

private:
    // An event out: to the observer, then as sessionEvent().
    void report(const SessionEvent &event);
    // EpollEventDispatcher::ReadShortcut: readable, read as readyRead() would make the
    // role read (socketReadable()), but from the descriptor.
    bool readReady() override;
    // Takes the socket's readiness from the dispatcher, when it is an
    // EpollEventDispatcher and the socket is read directly; again after QTcpSocket
    // stopped watching it for a while (a paused reader).
    void shortcutReads();
    // ReadBufferBorrower: the read buffer is about to be read into again.
    void returnReadBuffer() override;
    // DescriptorSocket::Owner.
    void descriptorReadable() override;
    void descriptorWritten() override;
    void descriptorEnded() override;
    void descriptorConnected() override;
    qint64 descriptorReadSize() override;
    // How much the next read asks for: 0 when nothing may be read now.
    qint64 nextReadSize(bool bounded) const;

    // Declared before the session, which uses it until it is destroyed.
    std::unique_ptr<PerMessageDeflate> m_deflate;
    std::unique_ptr<Session> m_session;
    QTcpSocket *m_socket = nullptr;
    std::unique_ptr<DescriptorSocket> m_descriptor; // instead of m_socket
    std::function<void()> m_writtenHandler;
    QMetaObject::Connection m_writtenWatch; // m_socket's bytesWritten(), while watched
    EventReporting m_reporting;
    qint64 m_closeDeadlineMs = -1;
    qint64 m_lastReceiveMs = 0;
    qint64 m_lastReadUs = 0;
    int m_closeTimeoutMs = 5'000;
    bool m_transportClosing = false;
    bool m_eventsWatched = true;
    std::function<void()> m_batchHandler;
    std::function<void()> m_reportedHandler;
    int m_receiveDepth = 0; // receiveBatches() calls under way (readArrived() may nest)
    std::function<void(const SessionEvent &)> m_eventObserver;
    // receive(), in bounded batches or all that is there.
    void receiveBatches(bool bounded);
    bool m_pumping = false;       // inside pump(): a nested call leaves the events to it
    bool m_finishPending = false; // finish() asked for during pump()
    bool m_finished = false;
    // The read shortcut: the thread's EpollEventDispatcher (null: none, or not looked
    // up yet), the descriptor it was last bound to, whether it was looked up, and
    // whether receiveBatches() reads the descriptor itself now (inside readReady()),
    // and made a read.
    QPointer<EpollEventDispatcher> m_dispatcher;
    qintptr m_shortcutFd = -1;
    bool m_dispatcherLookedUp = false;
    bool m_readingDescriptor = false;
    bool m_descriptorRead = false;
    QByteArrayView m_readBufferChunk; // what receiveData() is decoding, when in the read buffer
};

// What a connection whose events are reported reads per turn of the event loop.
// Each event it reports costs far more than the read (the log, the window), so a
// peer that floods must not hold the loop for a whole read (UnbufferedReadSize) while
// the other connections' bytes wait: a pong read late is a round trip measured long.
// Inside a large frame a turn reads up to the frame's end instead (at most
// UnbufferedReadSize): those bytes make no event until the last of them, and 4 KiB a
// turn made a 1 MiB message 256 turns of the event loop.
constexpr qint64 ReportedReadBudget = 4 * 1024;

template <typename Send> SendError Connection::sendThroughSession(Send &&send) {
    if (m_finished || m_finishPending || !canSend())
        return SendError::NotOpen;
    const SendError result = send(*m_session, nowUs());
    writeQueued();
    return result;
}

} // namespace ws

#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

namespace ws {

// The byte stream under one BenchConnection: plain TCP on a descriptor of our own
// (BenchTcpTransport) or TLS on a QSslSocket (BenchTlsTransport). The connection's
// protocol logic is written once against this; a transport only moves bytes and
// reports how the stream ends.
class BenchTransport {
public:
    class Handler {
    public:
        // The stream is up (for wss, TLS too): the opening handshake may go out.
        virtual void transportConnected() = 0;
        // Bytes have arrived: read() them until it comes back empty.
        virtual void transportReadable() = 0;
        // The stream is gone, once. `error` is empty when the server ended it, by a
        // FIN or a reset, after everything it sent has been read: whether that was
        // clean is the WebSocket closing handshake's to say, not TCP's.
        virtual void transportEnded(const QString &error) = 0;

    protected:
        ~Handler() = default;
    };

    virtual ~BenchTransport() = default;

    virtual void open() = 0;
    virtual bool isConnected() const = 0;
    // Sends `bytes` after anything still queued and leaves it empty, with capacity
    // for the next batch where the transport can spare it.
    virtual void write(QByteArray &bytes) = 0;
    // Bytes that have arrived, about `limit` at most (a hint: a transport may return
    // more), valid until the next read() of any transport sharing the buffer. Empty
    // when nothing more is there now, and once the stream has ended (reported
    // through transportEnded() from inside the call).
    virtual QByteArrayView read(qint64 limit) = 0;
    // Whether discard() drops bytes without copying them.
    virtual bool canDiscard() const = 0;
    // Drops up to `count` (> 0) arrived bytes unread; returns how many, 0 when none
    // are there now (or the stream ended), -1 when the transport cannot do that (the
    // caller reads them instead; canDiscard() is false from then on).
    virtual qint64 discard(qint64 count) = 0;
    // Ends the stream with a reset rather than a FIN when it is aborted.
    virtual void setResetOnClose() = 0;
    // Closes the stream now; no callbacks follow. Harmless when already closed.
    virtual void abort() = 0;
};

} // namespace ws

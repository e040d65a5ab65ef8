#pragma once

#include "benchtransport.h"

#include <QByteArray>
#include <QHostAddress>
#include <QSocketNotifier>

#include <deque>
#include <span>

namespace ws {

// ws://: a non-blocking TCP socket of our own, driven by two QSocketNotifiers.
// QTcpSocket would cost, per read, an ioctl(FIONREAD), a copy into its buffer and a
// readyRead signal, and per connection the bookkeeping of a QIODevice; this reads
// with one recv() into a buffer shared by all connections (no allocation per read)
// and writes each batch with one send(). The write notifier is on only while
// connecting and while the kernel has not taken everything (EAGAIN).
//
// On Linux, discard() drops received bytes in the kernel without copying them out
// (recv() with MSG_TRUNC on TCP, see tcp(7)): the middle of a large echo, which is
// never compared, then costs no copy at all.
class BenchTcpTransport final : public BenchTransport {
public:
    // `readBuffer` is shared with other connections and must outlive this one.
    BenchTcpTransport(QHostAddress address, quint16 port, std::span<char> readBuffer,
                      Handler *handler);
    ~BenchTcpTransport() override;

    void open() override;
    bool isConnected() const override { return m_connected; }
    void write(QByteArray &bytes) override;
    QByteArrayView read(qint64 limit) override;
    bool canDiscard() const override { return m_canDiscard; }
    qint64 discard(qint64 count) override;
    void setResetOnClose() override;
    void abort() override;

private:
    void onWritable();
    void finishConnecting();
    // Sends what the kernel takes now; returns how much, or -1 when sending failed.
    qsizetype sendNow(const char *data, qsizetype size);
    void sendPending();
    void consumePending(qsizetype sent);
    void handleSendError(int error);
    // Whether recv() returned bytes; otherwise notes EAGAIN or reports the end.
    bool takeReceiveResult(qint64 result, qint64 requested);
    void reportEnd(const QString &error);
    // Reports the end from the event loop: the caller is inside open() or write().
    void endLater(const QString &error);
    void close();

    QHostAddress m_address;
    quint16 m_port;
    std::span<char> m_readBuffer;
    Handler *m_handler;
    int m_descriptor = -1;
    bool m_connected = false;
    // A read shorter than asked for emptied the kernel's queue: the next read()
    // would only find EAGAIN, so it is skipped until the read notifier fires again.
    bool m_drained = false;
    bool m_canDiscard = true;
    // The sending half failed (the server closed or reset): later batches are dropped.
    bool m_sendFailed = false;
    // transportEnded() was called, or abort(): nothing more reaches the handler.
    bool m_ended = false;
    QSocketNotifier m_readNotifier{QSocketNotifier::Read};
    QSocketNotifier m_writeNotifier{QSocketNotifier::Write};
    // Batches the kernel has not taken yet, in order; the first is sent from
    // m_pendingOffset on. Handed over whole (moved, not copied), as a 1 MiB batch
    // often is in part.
    std::deque<QByteArray> m_pending;
    qsizetype m_pendingOffset = 0;
    // A sent batch's buffer, kept to take the next batch without allocating.
    QByteArray m_spare;
};

} // namespace ws

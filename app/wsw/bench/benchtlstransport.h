#pragma once

#include "benchtarget.h"
#include "benchtransport.h"

#include "net/socketio.h"

#include <QByteArray>

#include <memory>

class QSslSocket;

namespace ws {

// wss://: TLS on a QSslSocket, which does the record layer; the descriptor under it
// carries records, not the WebSocket stream, so nothing can be read or discarded
// past it.
class BenchTlsTransport final : public BenchTransport {
public:
    BenchTlsTransport(const BenchTarget &target, Handler *handler);
    ~BenchTlsTransport() override;

    void open() override;
    bool isConnected() const override;
    void write(QByteArray &bytes) override;
    QByteArrayView read(qint64 limit) override;
    bool canDiscard() const override { return false; }
    qint64 discard(qint64) override { return -1; }
    void setResetOnClose() override;
    void abort() override;

private:
    const BenchTarget &m_target;
    Handler *m_handler;
    std::unique_ptr<QSslSocket> m_socket;
    // What read() handed out last: QSslSocket's own buffer chunk, taken over.
    SocketRead m_lastRead;
};

} // namespace ws

#pragma once

#include <QTcpServer>

#include <functional>

class QTcpSocket;

namespace ws {

// The listening socket of a plain (ws://) server. Each connection is a QTcpSocket
// opened unbuffered: QTcpSocket keeps no read buffer of its own, so a read goes
// straight from the kernel into the caller's buffer with one read(2), without the
// FIONREAD query a buffered QTcpSocket makes before every read, and without a
// buffer chunk kept per connection. Data the server does not read stays in the
// kernel, where TCP flow control pushes back on the sender. What an unbuffered
// socket changes for its reader is described at readFromSocket() (socketio.h).
// Opens `socket` on a connected descriptor (TCP or Unix domain), unbuffered.
bool openUnbuffered(QTcpSocket *socket, qintptr descriptor);

class UnbufferedTcpServer final : public QTcpServer {
public:
    using QTcpServer::QTcpServer;

    // Each accepted descriptor goes to `handler`, which takes it over, instead of
    // becoming a QTcpSocket (nextPendingConnection() then has none): for a caller that
    // runs connections on bare descriptors (DescriptorSocket). Empty: QTcpSockets.
    void setDescriptorHandler(std::function<void(int)> handler) {
        m_descriptorHandler = std::move(handler);
    }

protected:
    void incomingConnection(qintptr descriptor) override;

private:
    std::function<void(int)> m_descriptorHandler;
};

} // namespace ws

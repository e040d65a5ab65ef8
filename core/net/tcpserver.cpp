#include "net/tcpserver.h"

#include <QNetworkProxy>
#include <QSignalBlocker>
#include <QTcpSocket>

#ifdef Q_OS_UNIX
#include <unistd.h>
#endif

namespace ws {

bool openUnbuffered(QTcpSocket *socket, qintptr descriptor) {
    // QAbstractSocket::setSocketDescriptor() opens the device with the mode it is
    // given but, unlike connectToHost(), does not stop the socket buffering (Qt 6.4:
    // QAbstractSocketPrivate::isBuffered stays as the QTcpSocket constructor set it).
    // connectToHost() with QIODevice::Unbuffered is the one public way to clear it, so
    // the socket first makes a connection attempt that ends before it starts: an IPv6
    // address while asking for IPv4 leaves no address to try, and the socket is
    // unconnected again (HostNotFoundError) without a descriptor, a system call or a
    // host lookup. The descriptor set next then works unbuffered;
    // tst_Server::plainSocketsLeaveUnreadBytesInTheKernel checks it.
    socket->setProxy(QNetworkProxy::NoProxy);
    // The attempt's HostNotFoundError is no one's business.
    const QSignalBlocker quiet(socket);
    socket->connectToHost(QStringLiteral("::"), 0, QIODevice::ReadWrite | QIODevice::Unbuffered,
                          QAbstractSocket::IPv4Protocol);
    // Should a later Qt start a real attempt instead, it is stopped here; the
    // descriptor set next replaces it.
    if (socket->state() != QAbstractSocket::UnconnectedState)
        socket->abort();
    return socket->setSocketDescriptor(descriptor, QAbstractSocket::ConnectedState,
                                       QIODevice::ReadWrite | QIODevice::Unbuffered);
}

void UnbufferedTcpServer::incomingConnection(qintptr descriptor) {
    if (m_descriptorHandler) {
        m_descriptorHandler(int(descriptor));
        return;
    }
    auto *socket = new QTcpSocket(this);
    if (!openUnbuffered(socket, descriptor)) {
        delete socket;
#ifdef Q_OS_UNIX
        ::close(int(descriptor));
#endif
        return;
    }
    addPendingConnection(socket);
}

} // namespace ws

#include "benchtlstransport.h"

#include "net/socketio.h"

#include <QSslConfiguration>
#include <QSslSocket>
#include <QStringList>

#ifdef Q_OS_UNIX
#include <sys/socket.h>
#endif

namespace ws {

BenchTlsTransport::BenchTlsTransport(const BenchTarget &target, Handler *handler)
    : m_target(target)
    , m_handler(handler)
    , m_socket(std::make_unique<QSslSocket>()) {
    QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
    configuration.addCaCertificates(m_target.caCertificates);
    configuration.setPeerVerifyMode(QSslSocket::VerifyPeer);
    m_socket->setSslConfiguration(configuration);
    QSslSocket *socket = m_socket.get();
    // The WebSocket handshake starts once TLS is up, not when TCP is.
    QObject::connect(socket, &QSslSocket::encrypted, socket, [this] {
        // Pipelined small messages must not wait for Nagle's algorithm.
        m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        m_handler->transportConnected();
    });
    QObject::connect(socket, &QSslSocket::sslErrors, socket,
                     [this](const QList<QSslError> &errors) {
                         QStringList reasons;
                         for (const QSslError &error : errors)
                             reasons << error.errorString();
                         m_handler->transportEnded(
                             QStringLiteral("TLS: %1").arg(reasons.join(QStringLiteral("; "))));
                     });
    QObject::connect(socket, &QSslSocket::readyRead, socket,
                     [this] { m_handler->transportReadable(); });
    QObject::connect(socket, &QSslSocket::disconnected, socket, [this] {
        if (m_socket->bytesAvailable() > 0)
            m_handler->transportReadable();
        m_handler->transportEnded({});
    });
    QObject::connect(socket, &QSslSocket::errorOccurred, socket,
                     [this](QAbstractSocket::SocketError error) {
                         // The server closing is how a connection normally ends
                         // (disconnected follows).
                         if (error != QAbstractSocket::RemoteHostClosedError)
                             m_handler->transportEnded(m_socket->errorString());
                     });
}

BenchTlsTransport::~BenchTlsTransport() {
    // Nothing may reach the handler while the socket goes.
    m_socket->disconnect();
}

void BenchTlsTransport::open() {
    m_socket->connectToHostEncrypted(m_target.address.toString(), m_target.port, m_target.peerName);
}

bool BenchTlsTransport::isConnected() const {
    return m_socket->state() == QAbstractSocket::ConnectedState;
}

void BenchTlsTransport::write(QByteArray &bytes) {
    writeToSocket(m_socket.get(), bytes);
    // Keeps the capacity for the next batch when the socket did not keep a reference.
    bytes.resize(0);
}

QByteArrayView BenchTlsTransport::read(qint64) {
    if (m_socket->bytesAvailable() <= 0)
        return {};
    m_lastRead = readFromSocket(m_socket.get());
    return m_lastRead.data;
}

void BenchTlsTransport::setResetOnClose() {
#ifdef Q_OS_UNIX
    const qintptr descriptor = m_socket->socketDescriptor();
    if (descriptor < 0)
        return;
    const linger option{1, 0};
    ::setsockopt(int(descriptor), SOL_SOCKET, SO_LINGER, &option, sizeof option);
#endif
}

void BenchTlsTransport::abort() {
    if (m_socket->state() != QAbstractSocket::UnconnectedState)
        m_socket->abort();
}

} // namespace ws

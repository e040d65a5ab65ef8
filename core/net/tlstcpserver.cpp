#include "net/tlstcpserver.h"

#include "net/server.h"
#include "protocol/handshake.h"

#include <QSslSocket>
#include <QTimer>

#include <charconv>

namespace ws {

QString formatAddress(const QHostAddress &address, quint16 port) {
    // A Unix domain socket's peer has no address.
    if (address.isNull() && port == 0)
        return QStringLiteral("unix socket");
    if (address.protocol() == QAbstractSocket::IPv4Protocol) {
        // Every client of a server or a relay is named this way: written out
        // directly, without the string building of toString() and arg().
        const quint32 ip = address.toIPv4Address();
        char text[sizeof "255.255.255.255:65535"];
        char *at = text;
        const auto number = [&](unsigned value) {
            at = std::to_chars(at, text + sizeof text, value).ptr;
        };
        for (int shift = 24; shift >= 0; shift -= 8) {
            number((ip >> shift) & 0xff);
            *at++ = shift > 0 ? '.' : ':';
        }
        number(port);
        return QString::fromLatin1(text, at - text);
    }
    const QString host = address.protocol() == QAbstractSocket::IPv6Protocol
                             ? QStringLiteral("[%1]").arg(address.toString())
                             : address.toString();
    return QStringLiteral("%1:%2").arg(host).arg(port);
}

namespace {

// RFC 8446 §5.1: a TLS connection opens with a handshake record (content type 22).
constexpr char TlsHandshakeRecord = 0x16;

} // namespace

TlsTcpServer::TlsTcpServer(const ServerOptions &options, std::function<void(const QString &)> log,
                           QObject *parent)
    : QTcpServer(parent)
    , m_log(std::move(log))
    , m_handshakeTimeoutMs(options.handshakeTimeoutMs) {
    m_configuration = QSslConfiguration::defaultConfiguration();
    m_configuration.setLocalCertificate(options.tlsCertificate);
    m_configuration.setPrivateKey(options.tlsKey);
    m_configuration.setPeerVerifyMode(QSslSocket::VerifyNone);
}

void TlsTcpServer::incomingConnection(qintptr descriptor) {
    auto *socket = new QSslSocket(this);
    if (!socket->setSocketDescriptor(descriptor)) {
        delete socket;
        return;
    }
    socket->setSslConfiguration(m_configuration);
    const QString peer = formatAddress(socket->peerAddress(), socket->peerPort());
    const auto dropLater = [socket] {
        socket->disconnect();
        socket->deleteLater();
    };
    QTimer::singleShot(m_handshakeTimeoutMs, socket, [this, socket, peer, dropLater] {
        if (socket->isEncrypted())
            return;
        m_log(QStringLiteral("%1: no TLS handshake within %2 ms, dropped")
                  .arg(peer)
                  .arg(m_handshakeTimeoutMs));
        socket->abort();
        dropLater();
    });
    connect(socket, &QSslSocket::readyRead, this, [this, socket, peer] {
        if (socket->mode() != QSslSocket::UnencryptedMode || socket->bytesAvailable() < 1)
            return;
        char first = 0;
        socket->peek(&first, 1);
        if (first == TlsHandshakeRecord) {
            socket->startServerEncryption();
            return;
        }
        m_log(
            QStringLiteral("%1: not a TLS client (plain HTTP or ws://?), answered 400").arg(peer));
        socket->write(ServerHandshake::httpResponse(
            400, "Bad Request", "text/plain; charset=utf-8",
            "This server expects TLS (wss://): connect with wss:// or https://.\n"));
        socket->disconnectFromHost();
    });
    connect(socket, &QSslSocket::encrypted, this, [this, socket] {
        socket->disconnect(this);
        socket->setParent(nullptr);
        addPendingConnection(socket);
        emit newConnection();
    });
    connect(socket, &QSslSocket::errorOccurred, this,
            [this, socket, peer, dropLater](QAbstractSocket::SocketError error) {
                if (socket->isEncrypted())
                    return;
                if (error != QAbstractSocket::RemoteHostClosedError)
                    m_log(QStringLiteral("%1: TLS handshake failed: %2")
                              .arg(peer, socket->errorString()));
                socket->abort();
                dropLater();
            });
    connect(socket, &QSslSocket::disconnected, this, [socket, dropLater] {
        if (!socket->isEncrypted())
            dropLater();
    });
}

} // namespace ws

#pragma once

#include "protocol/handshake.h"
#include "protocol/permessagedeflate.h"

#include <QHostAddress>
#include <QList>
#include <QSslCertificate>
#include <QString>

namespace ws {

// Where the load goes: resolved once, so that a thousand connections do not make a
// thousand name lookups.
struct BenchTarget {
    QHostAddress address;
    quint16 port = 0;
    ClientHandshakeOptions handshake;
    qint64 maxMessageSize = 64 * 1024 * 1024;
    // wss: TLS with certificate verification on, trusting these certificates on
    // top of the system's; `peerName` is what the certificate must name.
    bool secure = false;
    QList<QSslCertificate> caCertificates;
    QString peerName;
    // permessage-deflate (RFC 7692) is offered in handshake.extensions and required:
    // a server that declines it would make the figures meaningless.
    bool deflate = false;
    DeflateConfig deflateConfig;
    // Connect mode: once the server's close frame is in, our side of the TCP
    // connection ends with a reset (SO_LINGER 0) rather than a FIN. The WebSocket
    // closing handshake is complete by then and the server has closed (RFC 6455
    // §7.1.1); what is saved is the kernels' teardown (the server's TIME_WAIT
    // state, two segments), which would otherwise dominate what the row measures.
    bool resetAfterClose = false;
};

} // namespace ws

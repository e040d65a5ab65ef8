#pragma once

#include "protocol/httpheaders.h"

#include <QByteArray>

namespace ws {

// Which header fields a relay passes from one leg's handshake to the other's.
//
// Hop-by-hop fields (RFC 9110 §7.6.1: Connection, Keep-Alive, Proxy-*, TE, Trailer,
// Transfer-Encoding, Upgrade, and every field the Connection field names) belong
// to one connection and stop at the relay. So do the fields of the WebSocket
// handshake that are per leg (RFC 6455 §4): Sec-WebSocket-Key, -Accept, -Version
// and -Extensions, which each leg negotiates for itself, and Sec-WebSocket-Protocol,
// which the relay offers and answers through its own handshake code. Host is the
// upstream's, and the framing of a body (Content-Length) is rewritten with it.
// Everything else (Origin, Cookie, Authorization, User-Agent, Set-Cookie, any
// X-* field) is end-to-end and goes through unchanged, in order.
HttpHeaders endToEndRequestHeaders(const HttpHeaders &request);
HttpHeaders endToEndResponseHeaders(const HttpHeaders &response);

// A request forwarded by a proxy that is not a WebSocket upgrade: only the hop-by-hop
// fields stop (RFC 9110 §7.6.1); Host and the body's framing stay.
HttpHeaders forwardedRequestHeaders(const HttpHeaders &request);

// RFC 9112 §3.2.2: the absolute form a client sends to a proxy
// ("ws://host:port/path?query") as the origin form a server takes ("/path?query");
// an origin-form target comes back as it is.
QByteArray originForm(const QByteArray &target);

// The request target to send upstream: the target's own path and query when it has
// one (anything but an empty path or "/" without a query), else the client's (in
// origin form, when the client sent the absolute form to a proxy).
QByteArray relayedResourceName(const QByteArray &clientTarget, const QByteArray &targetPath,
                               const QByteArray &targetQuery);

} // namespace ws

#pragma once

#include <QByteArray>
#include <QString>
#include <QUrl>

#include <optional>

namespace ws {

// A ws:// or wss:// URL taken apart for the opening handshake (RFC 6455 §3).
struct WebSocketUrl {
    QString host;                  // what to resolve and connect to (IPv6 without brackets)
    QByteArray hostHeader;         // as it goes in the Host header (IPv6 in brackets)
    quint16 port = 80;             // 80 for ws, 443 for wss unless given
    QByteArray resourceName = "/"; // path and query, percent-encoded
    bool secure = false;           // wss
    // ws+unix: the Unix domain socket to connect to instead of host:port.
    QString unixSocketPath;
    // user:password@ in the URL, percent-decoded: sent as HTTP Basic authentication
    // (RFC 7617), as browsers and websocat do; the ws-URI itself has no user
    // information (RFC 6455 §3).
    std::optional<QByteArray> user;
    QByteArray password;
};

// RFC 6455 §3: ws-URI = "ws:" "//" host [ ":" port ] path [ "?" query ]. Returns
// nullopt and a sentence for the user in `error` for anything that is not one.
// A fragment is dropped: it has no meaning in a WebSocket URI.
//
// Also ws+unix:///path/to.sock[:/request/path][?query] (the form of Node's ws and
// websocat): a Unix domain socket, with the request path after the first colon
// ("/" when there is none) and "localhost" as the Host; wss+unix:// the same with
// TLS, the certificate checked for "localhost".
std::optional<WebSocketUrl> parseWebSocketUrl(const QUrl &url, QString *error = nullptr);

} // namespace ws

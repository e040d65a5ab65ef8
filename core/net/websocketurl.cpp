#include "net/websocketurl.h"

namespace ws {

std::optional<WebSocketUrl> parseWebSocketUrl(const QUrl &url, QString *error) {
    const auto fail = [error](const QString &why) -> std::optional<WebSocketUrl> {
        if (error)
            *error = why;
        return std::nullopt;
    };
    if (url.isEmpty())
        return fail(QStringLiteral("No URL given: write ws://host:port/path"));
    if (!url.isValid())
        return fail(QStringLiteral("Not a valid URL: %1").arg(url.errorString()));
    const QString scheme = url.scheme().toLower();
    if (scheme.isEmpty())
        return fail(QStringLiteral("The URL \"%1\" has no scheme: write ws://host:port/path")
                        .arg(url.toString()));
    if (scheme != u"ws" && scheme != u"wss")
        return fail(QStringLiteral("Unsupported scheme \"%1:\": a WebSocket URL starts with "
                                   "ws:// (or wss://)")
                        .arg(url.scheme()));
    // RFC 6455 §3: the ws-URI grammar has no user information.
    if (!url.userInfo().isEmpty())
        return fail(QStringLiteral("A WebSocket URL cannot carry a user name or password"));
    const QString host = url.host(QUrl::FullyEncoded);
    if (host.isEmpty())
        return fail(QStringLiteral("The URL \"%1\" has no host").arg(url.toString()));

    WebSocketUrl out;
    out.secure = scheme == u"wss";
    out.host = host;
    // RFC 7230 §5.4 / RFC 3986 §3.2.2: an IPv6 literal keeps its brackets in Host.
    out.hostHeader = (host.contains(u':') ? u'[' + host + u']' : host).toLatin1();
    const int port = url.port(out.secure ? 443 : 80);
    if (port <= 0 || port > 0xFFFF)
        return fail(QStringLiteral("Port %1 is not a valid TCP port").arg(port));
    out.port = quint16(port);
    // RFC 6455 §3: resource-name = path [ "?" query ]; "/" when the path is empty.
    QByteArray resource = url.path(QUrl::FullyEncoded).toLatin1();
    if (resource.isEmpty())
        resource = "/";
    if (url.hasQuery())
        resource += '?' + url.query(QUrl::FullyEncoded).toLatin1();
    out.resourceName = resource;
    return out;
}

} // namespace ws

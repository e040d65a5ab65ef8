#include "net/websocketurl.h"

namespace ws {

namespace {

void setCredentials(const QUrl &url, WebSocketUrl *out) {
    if (url.userInfo().isEmpty())
        return;
    out->user = url.userName(QUrl::FullyDecoded).toUtf8();
    out->password = url.password(QUrl::FullyDecoded).toUtf8();
}

std::optional<WebSocketUrl> parseUnixUrl(const QUrl &url, bool secure, QString *error) {
    // ws+unix:///socket/path:/request/path: the host stays empty, the socket path
    // ends at the first colon.
    if (!url.host().isEmpty()) {
        if (error)
            *error = QStringLiteral("A ws+unix URL names a socket file, not a host: write "
                                    "ws+unix:///path/to.sock or ws+unix:///path/to.sock:/request");
        return std::nullopt;
    }
    const QString path = url.path(QUrl::FullyDecoded);
    const qsizetype colon = path.indexOf(u':');
    WebSocketUrl out;
    out.unixSocketPath = colon < 0 ? path : path.left(colon);
    if (out.unixSocketPath.isEmpty()) {
        if (error)
            *error = QStringLiteral("The URL \"%1\" names no socket file: write "
                                    "ws+unix:///path/to.sock")
                         .arg(url.toString());
        return std::nullopt;
    }
    out.secure = secure;
    out.host = QStringLiteral("localhost");
    out.hostHeader = "localhost";
    out.port = 0;
    QByteArray resource;
    if (colon >= 0)
        resource = QUrl::toPercentEncoding(path.mid(colon + 1), "/:@!$&'()*+,;=");
    if (!resource.startsWith('/'))
        resource.prepend('/');
    if (url.hasQuery())
        resource += '?' + url.query(QUrl::FullyEncoded).toLatin1();
    out.resourceName = resource;
    setCredentials(url, &out);
    return out;
}

} // namespace

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
    if (scheme == u"ws+unix" || scheme == u"wss+unix")
        return parseUnixUrl(url, scheme == u"wss+unix", error);
    if (scheme != u"ws" && scheme != u"wss")
        return fail(QStringLiteral("Unsupported scheme \"%1:\": a WebSocket URL starts with "
                                   "ws:// (or wss://, or ws+unix:// for a Unix socket)")
                        .arg(url.scheme()));
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
    setCredentials(url, &out);
    return out;
}

} // namespace ws

#include "net/httpproxy.h"

#include <QHostAddress>
#include <QUrl>

namespace ws {

namespace {

QString environmentValue(const char *lower, const char *upper) {
    const QString value = qEnvironmentVariable(lower);
    return value.isEmpty() ? qEnvironmentVariable(upper) : value;
}

bool isLoopback(const QString &host) {
    if (host.compare(QLatin1String("localhost"), Qt::CaseInsensitive) == 0 ||
        host.endsWith(QLatin1String(".localhost"), Qt::CaseInsensitive))
        return true;
    const QHostAddress address(host);
    return !address.isNull() && address.isLoopback();
}

// One no_proxy entry against the host.
bool entryMatches(QStringView entry, const QString &host, quint16 port) {
    if (entry == u"*")
        return true;
    QString name = entry.toString();
    // A port: "host:port", "[v6]:port"; a bare IPv6 address has several colons.
    if (name.startsWith(u'[')) {
        const qsizetype close = name.indexOf(u']');
        if (close < 0)
            return false;
        const QString rest = name.mid(close + 1);
        name = name.mid(1, close - 1);
        if (rest.startsWith(u':') && rest.mid(1).toUShort() != port)
            return false;
    } else if (name.count(u':') == 1) {
        const qsizetype colon = name.indexOf(u':');
        bool ok = false;
        const quint16 entryPort = name.mid(colon + 1).toUShort(&ok);
        if (!ok || entryPort != port)
            return false;
        name.truncate(colon);
    }
    const QHostAddress hostAddress(host);
    if (name.contains(u'/')) {
        const auto subnet = QHostAddress::parseSubnet(name);
        return !hostAddress.isNull() &&
               subnet.first.protocol() != QAbstractSocket::UnknownNetworkLayerProtocol &&
               hostAddress.isInSubnet(subnet);
    }
    const QHostAddress entryAddress(name);
    if (!entryAddress.isNull())
        return !hostAddress.isNull() && hostAddress.isEqual(entryAddress);
    if (name.startsWith(u'.'))
        name.remove(0, 1);
    if (name.isEmpty())
        return false;
    return host.compare(name, Qt::CaseInsensitive) == 0 ||
           host.endsWith(u'.' + name, Qt::CaseInsensitive);
}

} // namespace

QString HttpProxy::endpoint() const {
    return QStringLiteral("%1:%2").arg(host.contains(u':') ? u'[' + host + u']' : host).arg(port);
}

std::optional<HttpProxy> parseProxyUrl(QStringView text, QString *error) {
    const auto fail = [error](const QString &why) -> std::optional<HttpProxy> {
        if (error)
            *error = why;
        return std::nullopt;
    };
    QString trimmed = text.trimmed().toString();
    if (trimmed.isEmpty())
        return fail(QStringLiteral("No proxy given: write http://host:port"));
    if (!trimmed.contains(QLatin1String("://")))
        trimmed.prepend(QLatin1String("http://"));
    const QUrl url(trimmed, QUrl::StrictMode);
    if (!url.isValid())
        return fail(QStringLiteral("Not a valid proxy URL: %1").arg(text));
    const QString scheme = url.scheme().toLower();
    if (scheme != u"http")
        return fail(QStringLiteral("Unsupported proxy scheme \"%1:\": only HTTP proxies "
                                   "(http://host:port, tunnels with CONNECT) are supported")
                        .arg(url.scheme()));
    if (url.host().isEmpty())
        return fail(QStringLiteral("The proxy URL \"%1\" has no host").arg(text));
    if (!url.path().isEmpty() && url.path() != u"/")
        return fail(QStringLiteral("A proxy URL has no path: %1").arg(text));
    const int port = url.port(80);
    if (port <= 0 || port > 0xFFFF)
        return fail(QStringLiteral("Port %1 is not a valid TCP port").arg(port));
    HttpProxy proxy;
    proxy.host = url.host(QUrl::FullyDecoded);
    proxy.port = quint16(port);
    if (!url.userName().isEmpty() || !url.password().isEmpty())
        proxy.credentials = BasicCredentials{url.userName(QUrl::FullyDecoded).toUtf8(),
                                             url.password(QUrl::FullyDecoded).toUtf8()};
    return proxy;
}

ProxyEnvironment ProxyEnvironment::fromProcess() {
    ProxyEnvironment environment;
    environment.httpProxy = environmentValue("http_proxy", "HTTP_PROXY");
    environment.httpsProxy = environmentValue("https_proxy", "HTTPS_PROXY");
    environment.allProxy = environmentValue("all_proxy", "ALL_PROXY");
    environment.noProxy = environmentValue("no_proxy", "NO_PROXY");
    return environment;
}

QString proxyFromEnvironment(const ProxyEnvironment &environment, const QString &host, quint16 port,
                             bool secure) {
    QString proxy = secure ? environment.httpsProxy : environment.httpProxy;
    if (proxy.isEmpty())
        proxy = environment.allProxy;
    if (proxy.isEmpty() || isLoopback(host) || matchesNoProxy(environment.noProxy, host, port))
        return {};
    return proxy;
}

bool matchesNoProxy(QStringView noProxy, const QString &host, quint16 port) {
    for (QStringView entry : noProxy.split(u',')) {
        for (QStringView part : entry.split(u' ', Qt::SkipEmptyParts)) {
            if (entryMatches(part.trimmed(), host, port))
                return true;
        }
    }
    return false;
}

} // namespace ws

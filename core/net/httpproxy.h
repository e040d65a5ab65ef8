#pragma once

#include "protocol/httpconnect.h"

#include <QString>
#include <QStringView>

#include <optional>

namespace ws {

// An HTTP proxy that opens tunnels with CONNECT (RFC 9110 §9.3.6).
struct HttpProxy {
    QString host; // a name or an address (IPv6 without brackets)
    quint16 port = 80;
    std::optional<BasicCredentials> credentials; // sent as Proxy-Authorization: Basic

    // "host:port", an IPv6 host in brackets: how messages name the proxy.
    QString endpoint() const;
    bool operator==(const HttpProxy &) const = default;
};

// http://[user[:password]@]host[:port][/], or host[:port] without a scheme as the
// proxy variables often hold it. The port defaults to 80 (the http scheme's); user
// and password are percent-decoded. nullopt and a sentence in `error` for anything
// else (https:// and socks proxies are named as unsupported).
std::optional<HttpProxy> parseProxyUrl(QStringView text, QString *error = nullptr);

// The proxy variables of a process, lower-case names first as curl reads them.
struct ProxyEnvironment {
    QString httpProxy;  // http_proxy, HTTP_PROXY: for ws://
    QString httpsProxy; // https_proxy, HTTPS_PROXY: for wss://
    QString allProxy;   // all_proxy, ALL_PROXY: for either, when the above is unset
    QString noProxy;    // no_proxy, NO_PROXY: hosts reached directly

    static ProxyEnvironment fromProcess();
};

// Which proxy a connection to `host`:`port` takes according to `environment`, as
// text (parse it with parseProxyUrl()); empty: direct. Loopback hosts (localhost,
// 127.0.0.0/8, ::1) are always reached directly, as Go's net/http and Chromium do;
// otherwise a no_proxy entry that matches keeps the connection direct.
QString proxyFromEnvironment(const ProxyEnvironment &environment, const QString &host, quint16 port,
                             bool secure);

// Whether `host`:`port` matches the no_proxy list `noProxy`: entries separated by
// commas or spaces; "*" matches every host; a name matches itself and its
// subdomains (a leading dot is optional); an address matches itself, a CIDR block
// its addresses; an entry with ":port" matches only that port.
bool matchesNoProxy(QStringView noProxy, const QString &host, quint16 port);

} // namespace ws

#include "relay/relayheaders.h"

#include <algorithm>
#include <array>

namespace ws {

namespace {

constexpr std::array<QByteArrayView, 9> HopByHop = {"Connection",
                                                    "Keep-Alive",
                                                    "Proxy-Authenticate",
                                                    "Proxy-Authorization",
                                                    "Proxy-Connection",
                                                    "TE",
                                                    "Trailer",
                                                    "Transfer-Encoding",
                                                    "Upgrade"};

constexpr std::array<QByteArrayView, 5> PerLeg = {
    "Sec-WebSocket-Key", "Sec-WebSocket-Accept", "Sec-WebSocket-Version",
    "Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol"};

bool named(QByteArrayView name, QByteArrayView other) {
    return name.compare(other, Qt::CaseInsensitive) == 0;
}

enum class Upgrade { WebSocket, None };

HttpHeaders endToEnd(const HttpHeaders &headers, QByteArrayView alsoDropped,
                     Upgrade upgrade = Upgrade::WebSocket) {
    // RFC 9110 §7.6.1: "Connection: close, X-Foo" makes X-Foo hop-by-hop too.
    const QList<QByteArray> connectionOptions = headers.tokens("Connection");
    HttpHeaders out;
    for (const HttpHeaders::Field &field : headers.fields()) {
        const QByteArrayView name = field.first;
        const auto is = [&](QByteArrayView other) { return named(name, other); };
        if (std::any_of(HopByHop.begin(), HopByHop.end(), is) ||
            (upgrade == Upgrade::WebSocket &&
             (std::any_of(PerLeg.begin(), PerLeg.end(), is) || is("Content-Length"))) ||
            is(alsoDropped) || std::any_of(connectionOptions.begin(), connectionOptions.end(), is))
            continue;
        out.add(field.first, field.second);
    }
    return out;
}

} // namespace

HttpHeaders endToEndRequestHeaders(const HttpHeaders &request) {
    return endToEnd(request, "Host");
}

HttpHeaders endToEndResponseHeaders(const HttpHeaders &response) {
    return endToEnd(response, {});
}

HttpHeaders forwardedRequestHeaders(const HttpHeaders &request) {
    return endToEnd(request, {}, Upgrade::None);
}

QByteArray originForm(const QByteArray &target) {
    const qsizetype scheme = target.indexOf("://");
    if (target.startsWith('/') || scheme <= 0)
        return target;
    const qsizetype authorityEnd = target.indexOf('/', scheme + 3);
    const qsizetype queryStart = target.indexOf('?', scheme + 3);
    if (authorityEnd >= 0 && (queryStart < 0 || authorityEnd < queryStart))
        return target.mid(authorityEnd);
    // RFC 9112 §3.2.1: an empty path is sent as "/".
    return '/' + (queryStart >= 0 ? target.mid(queryStart) : QByteArray());
}

QByteArray relayedResourceName(const QByteArray &requestTarget, const QByteArray &targetPath,
                               const QByteArray &targetQuery) {
    const QByteArray clientTarget = originForm(requestTarget);
    const bool targetHasPath =
        !(targetPath.isEmpty() || targetPath == "/") || !targetQuery.isEmpty();
    if (!targetHasPath)
        return clientTarget.isEmpty() ? QByteArray("/") : clientTarget;
    QByteArray resource = targetPath.isEmpty() ? QByteArray("/") : targetPath;
    if (!targetQuery.isEmpty())
        resource.append('?').append(targetQuery);
    return resource;
}

} // namespace ws

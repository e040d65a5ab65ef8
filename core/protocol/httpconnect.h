#pragma once

#include "protocol/httpheaders.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QString>

#include <optional>

namespace ws {

// A user name and password for HTTP Basic authentication (RFC 7617), as typed:
// not percent-encoded.
struct BasicCredentials {
    QByteArray user;
    QByteArray password;
    bool operator==(const BasicCredentials &) const = default;
};

// RFC 7617 §2: "Basic " + base64(user-id ":" password).
QByteArray basicAuthorization(const BasicCredentials &credentials);

// RFC 9110 §9.3.6: the request that asks an HTTP proxy for a tunnel to `host`:`port`.
// `host` is a name or an address, an IPv6 address without brackets (they are added:
// the authority form of RFC 9112 §3.2.3). With credentials, a Proxy-Authorization
// field in the Basic scheme (RFC 9110 §11.7.2).
QByteArray connectRequest(const QString &host, quint16 port,
                          const std::optional<BasicCredentials> &credentials = {});

// Reads a proxy's answer to CONNECT from bytes in any chunking. A 2xx answer opens
// the tunnel: what follows its empty line belongs to the tunnel (RFC 9110 §9.3.6).
// Anything else is a refusal; its body is not read.
class ConnectResponseReader {
public:
    enum class Result {
        NeedMore,
        Established, // 2xx: the bytes after the head are the tunnel's
        Refused,     // a complete answer other than 2xx: statusCode() says which
        Malformed,   // not an HTTP answer, or too large: errorString() says why
    };

    // Takes bytes up to the end of the answer's head; `*consumed` tells how many.
    Result feed(QByteArrayView data, qsizetype *consumed);
    Result result() const { return m_result; }

    int statusCode() const { return m_reader.statusCode(); }
    const QByteArray &reasonPhrase() const { return m_reader.reasonPhrase(); }
    const HttpHeaders &headers() const { return m_reader.headers(); }
    // RFC 9110 §11.7.1: the schemes a 407 answer offers ("Basic realm=\"x\"", ...).
    QList<QByteArray> authenticationChallenges() const;
    QString errorString() const { return m_error; }

private:
    // A proxy's answer head is small; a larger one is not worth waiting for.
    static constexpr qsizetype MaxHeadBytes = 16 * 1024;
    static constexpr int MaxFields = 100;

    HeaderBlockReader m_reader{HeaderBlockReader::Kind::Response, MaxHeadBytes, MaxFields};
    Result m_result = Result::NeedMore;
    QString m_error;
};

} // namespace ws

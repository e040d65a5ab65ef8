#pragma once

#include "httpheaders.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>
#include <QStringList>

#include <optional>

namespace ws {

// RFC 6455 §1.3 / §4.2.2: base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
QByteArray computeAcceptKey(QByteArrayView clientKey);
// A fresh Sec-WebSocket-Key: 16 bytes from the system CSPRNG, base64-encoded.
QByteArray generateClientKey();

// Limits on what we buffer from the peer before the handshake completes.
struct HandshakeLimits {
    qsizetype maxHeaderBytes = 16 * 1024; // the whole header block, request/status line included
    int maxHeaderCount = 100;
    qsizetype maxBodyBytes = 64 * 1024; // client: body of a non-101 answer kept for the error message
};

// ---------------------------------------------------------------------------
// Client side (RFC 6455 §4.1)

struct ClientHandshakeOptions {
    QByteArray host;         // host as it goes in the Host header (IPv6 in brackets)
    quint16 port = 80;
    bool secure = false;     // wss: default port 443
    QByteArray resourceName = "/"; // path and query
    QByteArray origin;       // empty: no Origin header
    QList<QByteArray> subprotocols; // offered, in preference order
    QList<ExtensionParams> extensions; // offered
    HttpHeaders extraHeaders; // sent as given, after ours
    HandshakeLimits limits;
};

class ClientHandshake {
public:
    enum class Status { NeedMore, Accepted, Failed };

    // `key`: empty means generate one (tests pass a fixed key).
    explicit ClientHandshake(ClientHandshakeOptions options, QByteArray key = {});

    // The request to send.
    QByteArray request() const;
    QByteArray key() const { return m_key; }

    // Feed the server's bytes; returns Accepted once a valid 101 is complete,
    // Failed when the answer is not an acceptable upgrade (after reading the body
    // of a non-101 answer, bounded by limits.maxBodyBytes, when it says how long).
    Status feed(QByteArrayView data);
    // The server closed the connection.
    Status feedEof();
    Status status() const { return m_status; }

    // After Accepted: bytes that followed the header block (frames already sent).
    QByteArray takeLeftover();

    // What the server answered (valid once the status line and headers are in).
    int statusCode() const { return m_statusCode; }
    QByteArray reasonPhrase() const { return m_reasonPhrase; }
    const HttpHeaders &responseHeaders() const { return m_responseHeaders; }
    QByteArray responseBody() const { return m_body; }
    // The raw header block as received (for the log).
    QByteArray rawResponse() const { return m_raw; }

    // After Accepted: the negotiated subprotocol (empty if none) and extensions.
    QByteArray subprotocol() const { return m_subprotocol; }
    QList<ExtensionParams> acceptedExtensions() const { return m_extensions; }

    // After Failed: why, in words a user understands.
    QString errorString() const { return m_error; }

private:
    Status fail(QString why);
    Status parseHeaderBlock();
    Status validate();

    ClientHandshakeOptions m_options;
    QByteArray m_key;
    Status m_status = Status::NeedMore;
    QByteArray m_buffer;
    QByteArray m_raw;
    int m_statusCode = 0;
    QByteArray m_reasonPhrase;
    HttpHeaders m_responseHeaders;
    QByteArray m_body;
    qint64 m_bodyExpected = -1;
    bool m_headersDone = false;
    QByteArray m_subprotocol;
    QList<ExtensionParams> m_extensions;
    QString m_error;
};

// ---------------------------------------------------------------------------
// Server side (RFC 6455 §4.2)

// A parsed HTTP request (the opening handshake or any other GET).
struct HttpRequest {
    QByteArray method;
    QByteArray target; // request-target as sent: path and query
    QByteArray version; // "HTTP/1.1"
    HttpHeaders headers;
};

class ServerHandshake {
public:
    enum class Status {
        NeedMore,
        Upgrade,   // a valid WebSocket opening handshake: call accept() or reject()
        PlainHttp, // a well-formed request that is not an upgrade (e.g. GET / for the test page)
        Failed,    // answer with failureResponse() and close
    };

    explicit ServerHandshake(HandshakeLimits limits = {});

    // Feed the client's bytes. Bytes after the header block are kept for takeLeftover().
    Status feed(QByteArrayView data);
    Status status() const { return m_status; }
    const HttpRequest &request() const { return m_request; }
    QByteArray takeLeftover();

    // After Upgrade: what the client offered.
    QByteArray clientKey() const;
    QByteArray origin() const;             // empty if absent
    QList<QByteArray> offeredSubprotocols() const;
    QList<ExtensionParams> offeredExtensions() const;

    // The 101 answer. `subprotocol` must be one offered (or empty); `extensions` are
    // the ones the server accepts, with their response parameters.
    QByteArray acceptResponse(const QByteArray &subprotocol = {},
                              const QList<ExtensionParams> &extensions = {},
                              const HttpHeaders &extraHeaders = {}) const;

    // After Failed: the status (400, 403, 405, 426, 431, ...) and reason, and the
    // complete HTTP answer to send (426 carries Sec-WebSocket-Version: 13).
    int failureStatus() const { return m_failureStatus; }
    QString errorString() const { return m_error; }
    QByteArray failureResponse() const;

    // Any HTTP answer with a small text body (for rejections and the test page).
    static QByteArray httpResponse(int status, QByteArrayView reason, QByteArrayView contentType,
                                   QByteArrayView body, const HttpHeaders &extraHeaders = {});

private:
    Status fail(int status, QString why);
    Status parseHeaderBlock();
    Status validate();

    HandshakeLimits m_limits;
    Status m_status = Status::NeedMore;
    QByteArray m_buffer;
    HttpRequest m_request;
    int m_failureStatus = 0;
    QString m_error;
};

} // namespace ws

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
    qsizetype maxBodyBytes =
        64 * 1024; // client: body of a non-101 answer kept for the error message
};

// ---------------------------------------------------------------------------
// Client side (RFC 6455 §4.1)

struct ClientHandshakeOptions {
    QByteArray host; // host as it goes in the Host header (IPv6 in brackets)
    quint16 port = 80;
    bool secure = false;               // wss: default port 443
    QByteArray resourceName = "/";     // path and query
    QByteArray origin;                 // empty: no Origin header
    QList<QByteArray> subprotocols;    // offered, in preference order
    QList<ExtensionParams> extensions; // offered
    HttpHeaders extraHeaders;          // after ours; a Host or Origin here replaces ours
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
    // Failed when the answer is not an acceptable upgrade. The body of a non-101
    // answer is read first (Content-Length, chunked, or until feedEof()), keeping at
    // most limits.maxBodyBytes: Failed comes once that much is in. After Accepted,
    // more bytes are added to the leftover; after Failed they are ignored.
    Status feed(QByteArrayView data);
    // The server closed the connection: ends a body read until EOF, fails an
    // incomplete answer.
    Status feedEof();
    Status status() const { return m_status; }

    // After Accepted: bytes that followed the header block (frames already sent).
    QByteArray takeLeftover();

    // What the server answered (valid once the status line and headers are in).
    int statusCode() const { return m_reader.statusCode(); }
    QByteArray reasonPhrase() const { return m_reader.reasonPhrase(); }
    const HttpHeaders &responseHeaders() const { return m_reader.headers(); }
    // The body of a non-101 answer, at most limits.maxBodyBytes of it (de-chunked).
    QByteArray responseBody() const { return m_body; }
    // The raw header block as received (for the log).
    QByteArray rawResponse() const { return m_reader.block(); }
    // How many of the server's bytes are held (header block and body): never more
    // than limits.maxHeaderBytes + limits.maxBodyBytes + kMaxChunkLine.
    qsizetype bufferedBytes() const;
    // The longest chunk-size or trailer line of a chunked error body that is read.
    static constexpr qsizetype kMaxChunkLine = 256;

    // After Accepted: the negotiated subprotocol (empty if none) and extensions.
    QByteArray subprotocol() const { return m_subprotocol; }
    QList<ExtensionParams> acceptedExtensions() const { return m_extensions; }

    // After Failed: why, in words a user understands.
    QString errorString() const { return m_error; }

private:
    // What follows the header block of an answer that is not 101 (RFC 7230 §3.3.3).
    enum class BodyMode { Length, Chunked, UntilEof };
    enum class ChunkState { SizeLine, Data, DataEnd, Trailers };

    Status fail(QString why);
    Status headerBlockDone(QByteArrayView rest);
    Status validate();
    Status startBody(QByteArrayView rest);
    Status readBody(QByteArrayView data);
    Status readChunked(QByteArrayView data);
    Status appendBody(QByteArrayView data);
    Status bodyDone();

    ClientHandshakeOptions m_options;
    QByteArray m_key;
    Status m_status = Status::NeedMore;
    HeaderBlockReader m_reader;
    bool m_readingBody = false;
    QByteArray m_body;
    BodyMode m_bodyMode = BodyMode::UntilEof;
    qint64 m_bodyExpected = -1; // Length: the bytes still to come (keeping at most the limit)
    ChunkState m_chunkState = ChunkState::SizeLine;
    qint64 m_chunkRemaining = 0;
    QByteArray m_chunkLine; // a chunk-size or trailer line, at most kMaxChunkLine bytes
    QByteArray m_leftover;
    QByteArray m_subprotocol;
    QList<ExtensionParams> m_extensions;
    QString m_error;
};

// ---------------------------------------------------------------------------
// Server side (RFC 6455 §4.2)

// A parsed HTTP request (the opening handshake or any other GET).
struct HttpRequest {
    QByteArray method;
    QByteArray target;  // request-target as sent: path and query
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

    // Feed the client's bytes. Bytes after the header block are kept for
    // takeLeftover(), and so are bytes fed after Upgrade or PlainHttp.
    //
    // Checks, in this order, each failing with its status:
    //   malformed request line or header field syntax        400 (RFC 7230 §3)
    //   header block over limits.maxHeaderBytes               431 (RFC 6585 §5)
    //   more than limits.maxHeaderCount fields                431
    //   method other than GET                                 405 with Allow: GET
    //   HTTP/1.0                                              400 (RFC 6455 §4.1 needs 1.1+)
    //   major version other than 1 (HTTP/0.9, HTTP/2.0)       505 (RFC 7231 §6.6.6)
    //   no Host, or more than one                             400 (RFC 7230 §5.4)
    // A version that is not "HTTP/" DIGIT "." DIGIT is a malformed request line: 400.
    // HTTP/1.2 and later minor versions are taken as HTTP/1.1 (RFC 7230 §2.6).
    // Then a request without `websocket` among its Upgrade tokens is PlainHttp;
    // an upgrade is checked further (RFC 6455 §4.2.1):
    //   Connection without the token Upgrade                  400
    //   Sec-WebSocket-Key absent, repeated, not 16 bytes      400
    //   Sec-WebSocket-Version other than 13 (or absent)       426 with Sec-WebSocket-Version: 13
    //   Sec-WebSocket-Extensions malformed (§9.1)             400
    Status feed(QByteArrayView data);
    Status status() const { return m_status; }
    // Filled once the header block is complete, or with what was read on Failed.
    const HttpRequest &request() const { return m_request; }
    QByteArray takeLeftover();
    // The raw header block as received (for the log).
    QByteArray rawRequest() const { return m_reader.block(); }
    // How many of the client's bytes are held: never more than limits.maxHeaderBytes.
    qsizetype bufferedBytes() const { return m_reader.block().size(); }

    // After Upgrade: what the client offered.
    QByteArray clientKey() const;
    QByteArray origin() const; // empty if absent
    QList<QByteArray> offeredSubprotocols() const;
    QList<ExtensionParams> offeredExtensions() const;

    // The 101 answer (empty unless status() is Upgrade). `subprotocol` should be one
    // offered (or empty); `extensions` are the ones the server accepts, with their
    // response parameters. Both are sent as given, so a test server can also send
    // what a client must refuse.
    QByteArray acceptResponse(const QByteArray &subprotocol = {},
                              const QList<ExtensionParams> &extensions = {},
                              const HttpHeaders &extraHeaders = {}) const;

    // After Failed: the status (400, 403, 405, 426, 431, ...) and reason, and the
    // complete HTTP answer to send (426 carries Sec-WebSocket-Version: 13).
    int failureStatus() const { return m_failureStatus; }
    QString errorString() const { return m_error; }
    QByteArray failureResponse() const;

    // Any HTTP answer with a small text body (for rejections and the test page):
    // status line (an empty `reason` means reasonPhrase(status)), Content-Type (left
    // out when empty), Content-Length, Connection: close (unless extraHeaders has a
    // Connection field), extraHeaders, the body.
    static QByteArray httpResponse(int status, QByteArrayView reason, QByteArrayView contentType,
                                   QByteArrayView body, const HttpHeaders &extraHeaders = {});
    // The standard reason phrase of an HTTP status (RFC 7231 §6, RFC 6585), or "".
    static QByteArray reasonPhrase(int status);

private:
    Status fail(int status, QString why);
    Status headerBlockDone(QByteArrayView rest);
    Status validate();

    HandshakeLimits m_limits;
    Status m_status = Status::NeedMore;
    HeaderBlockReader m_reader;
    HttpRequest m_request;
    QByteArray m_leftover;
    int m_failureStatus = 0;
    QString m_error;
};

} // namespace ws

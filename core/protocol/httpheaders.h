#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QPair>
#include <QString>

#include <optional>

namespace ws {

// HTTP header fields in the order received. Names compare case-insensitively
// (RFC 7230 §3.2); repeated fields are kept and can be joined as a list.
class HttpHeaders {
public:
    using Field = QPair<QByteArray, QByteArray>;

    void add(QByteArray name, QByteArray value) {
        m_fields.append({std::move(name), std::move(value)});
    }
    bool contains(QByteArrayView name) const;
    // The first value of `name`, or nullopt.
    std::optional<QByteArray> value(QByteArrayView name) const;
    // All values of `name` joined with ", " (RFC 7230 §3.2.2), or nullopt.
    std::optional<QByteArray> combined(QByteArrayView name) const;
    // How many fields named `name`.
    int count(QByteArrayView name) const;
    // The comma-separated tokens of every `name` field, trimmed, empty ones dropped.
    QList<QByteArray> tokens(QByteArrayView name) const;
    // Does any `name` field hold `token` in its comma-separated list (case-insensitive)?
    bool hasToken(QByteArrayView name, QByteArrayView token) const;

    const QList<Field> &fields() const { return m_fields; }
    qsizetype size() const { return m_fields.size(); }
    bool operator==(const HttpHeaders &) const = default;

private:
    QList<Field> m_fields;
};

// One extension from a Sec-WebSocket-Extensions header (RFC 6455 §9.1), e.g.
// `permessage-deflate; client_max_window_bits; server_max_window_bits=10`.
struct ExtensionParams {
    struct Param {
        QByteArray name;
        std::optional<QByteArray> value; // unquoted
        bool operator==(const Param &) const = default;
    };
    QByteArray name;
    QList<Param> params;

    // Parameter names compare case-insensitively, like every HTTP token.
    bool hasParam(QByteArrayView paramName) const;
    std::optional<QByteArray> paramValue(QByteArrayView paramName) const;
    bool operator==(const ExtensionParams &) const = default;
};

// Parses the grammar of RFC 6455 §9.1 (tokens, quoted-string values); nullopt when
// the header is malformed. A value that is empty or only whitespace is an empty
// list; empty list elements (`a, , b`) are skipped as RFC 7230 §7 asks. A quoted
// value must still be a token once unquoted (§9.1).
std::optional<QList<ExtensionParams>> parseExtensions(QByteArrayView headerValue);
// `name; param; param=value, name2`. Values that are tokens go bare, others quoted.
QByteArray formatExtensions(const QList<ExtensionParams> &extensions);

// RFC 7230 §3.2.6: one or more tchar (visible ASCII except the separators).
bool isHttpToken(QByteArrayView text);

// `bytes` as text fit for an error message: printable ASCII kept, anything else
// as \xNN, cut after `maxChars` with "...".
QString printableExcerpt(QByteArrayView bytes, qsizetype maxChars = 80);

// Reads the head of one HTTP/1.1 message — start line, header fields, empty line
// (RFC 7230 §3) — from bytes arriving in any chunking, holding at most `maxBytes`
// of them however they are split (plus a few dozen bytes per field for where the
// field lies). Lines end in CRLF or a bare LF (§3.5).
class HeaderBlockReader {
public:
    enum class Kind {
        Request,  // request line (§3.1.1); obsolete line folding is rejected (§3.2.4)
        Response, // status line (§3.1.2); obsolete line folding is unfolded (§3.2.4)
    };
    enum class Result {
        NeedMore,
        Complete,
        Malformed,     // errorString() says what
        TooLarge,      // the block would exceed maxBytes
        TooManyFields, // more than maxFields header fields
    };

    HeaderBlockReader(Kind kind, qsizetype maxBytes, int maxFields);

    // Takes bytes up to the end of the header block and sets `*consumed` to how
    // many of `data` it took; the rest belongs to what follows the head. Once the
    // result is no longer NeedMore, further calls take nothing.
    Result feed(QByteArrayView data, qsizetype *consumed);
    Result result() const { return m_result; }

    // The start line, once it is in. Requests: method, target, version.
    // Responses: version, statusCode, reasonPhrase. version is e.g. "HTTP/1.1".
    const QByteArray &method() const { return m_method; }
    const QByteArray &target() const { return m_target; }
    const QByteArray &version() const { return m_version; }
    int versionMajor() const { return m_versionMajor; }
    int versionMinor() const { return m_versionMinor; }
    int statusCode() const { return m_statusCode; }
    const QByteArray &reasonPhrase() const { return m_reasonPhrase; }
    bool hasStartLine() const { return m_hasStartLine; }

    // The fields, once the result is no longer NeedMore (on a failure, those read
    // before it).
    const HttpHeaders &headers() const { return m_headers; }
    // The bytes of the block received so far, the final empty line included.
    const QByteArray &block() const { return m_block; }
    QString errorString() const { return m_error; }

private:
    Result processLine(QByteArrayView line);
    Result processStartLine(QByteArrayView line);
    Result processFieldLine(QByteArrayView line);
    bool parseVersion(QByteArrayView text);
    Result malformed(QString why);
    Result finish(Result result);
    qsizetype offsetOf(QByteArrayView part) const { return part.data() - m_block.constData(); }

    // Where a field lies in m_block. Fields are copied out only at the end, so
    // while the block arrives nothing but the block itself grows with it.
    struct FieldSpan {
        qsizetype nameBegin = 0;
        qsizetype nameSize = 0;
        qsizetype valueBegin = 0;
        qsizetype valueEnd = 0; // past the last continuation line, if folded
    };

    Kind m_kind;
    qsizetype m_maxBytes;
    int m_maxFields;
    Result m_result = Result::NeedMore;
    QByteArray m_block;
    qsizetype m_lineStart = 0;
    bool m_hasStartLine = false;
    QByteArray m_method;
    QByteArray m_target;
    QByteArray m_version;
    int m_versionMajor = 0;
    int m_versionMinor = 0;
    int m_statusCode = 0;
    QByteArray m_reasonPhrase;
    QList<FieldSpan> m_fields;
    HttpHeaders m_headers;
    QString m_error;
};

} // namespace ws

#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QPair>

#include <optional>

namespace ws {

// HTTP header fields in the order received. Names compare case-insensitively
// (RFC 7230 §3.2); repeated fields are kept and can be joined as a list.
class HttpHeaders {
public:
    using Field = QPair<QByteArray, QByteArray>;

    void add(QByteArray name, QByteArray value) { m_fields.append({std::move(name), std::move(value)}); }
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

    bool hasParam(QByteArrayView paramName) const;
    std::optional<QByteArray> paramValue(QByteArrayView paramName) const;
    bool operator==(const ExtensionParams &) const = default;
};

// Parses the grammar of RFC 6455 §9.1 (tokens, quoted-string values); nullopt when
// the header is malformed.
std::optional<QList<ExtensionParams>> parseExtensions(QByteArrayView headerValue);
QByteArray formatExtensions(const QList<ExtensionParams> &extensions);

} // namespace ws

#include "handshake.h"
#include "masking.h"

#include <QCryptographicHash>

#include <algorithm>
#include <array>

namespace ws {

namespace {

// RFC 6455 §1.3: the GUID appended to the client's key.
constexpr QByteArrayView kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr QByteArrayView kCrlf = "\r\n";

void appendField(QByteArray &out, QByteArrayView name, QByteArrayView value) {
    out.append(name).append(": ").append(value).append(kCrlf);
}

void appendFields(QByteArray &out, const HttpHeaders &headers) {
    for (const HttpHeaders::Field &field : headers.fields())
        appendField(out, field.first, field.second);
}

QByteArray joined(const QList<QByteArray> &items) {
    QByteArray out;
    for (const QByteArray &item : items) {
        if (!out.isEmpty())
            out.append(", ");
        out.append(item);
    }
    return out;
}

QString quote(QByteArrayView bytes) {
    return printableExcerpt(bytes);
}

// RFC 7230 §3.3.2: Content-Length = 1*DIGIT. Repeated identical values (a list
// after combining) are accepted, anything else is not a length (§3.3.3 item 4).
std::optional<qint64> parseContentLength(QByteArrayView combined) {
    std::optional<qint64> length;
    QByteArrayView rest = combined;
    for (;;) {
        const qsizetype comma = rest.indexOf(',');
        const QByteArrayView item = (comma < 0 ? rest : rest.first(comma)).trimmed();
        if (item.isEmpty() || item.size() > 18)
            return std::nullopt;
        qint64 value = 0;
        for (char c : item) {
            if (c < '0' || c > '9')
                return std::nullopt;
            value = value * 10 + (c - '0');
        }
        if (length && *length != value)
            return std::nullopt;
        length = value;
        if (comma < 0)
            return length;
        rest = rest.sliced(comma + 1);
    }
}

// A chunk-size line: 1*HEXDIG [ chunk-ext ] (RFC 7230 §4.1).
std::optional<qint64> parseChunkSize(QByteArrayView line) {
    const qsizetype semicolon = line.indexOf(';');
    const QByteArrayView digits = (semicolon < 0 ? line : line.first(semicolon)).trimmed();
    if (digits.isEmpty() || digits.size() > 15)
        return std::nullopt;
    qint64 size = 0;
    for (char c : digits) {
        int digit = 0;
        if (c >= '0' && c <= '9')
            digit = c - '0';
        else if (c >= 'a' && c <= 'f')
            digit = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            digit = c - 'A' + 10;
        else
            return std::nullopt;
        size = size * 16 + digit;
    }
    return size;
}

} // namespace

QByteArray computeAcceptKey(QByteArrayView clientKey) {
    QCryptographicHash sha1(QCryptographicHash::Sha1);
    sha1.addData(clientKey);
    sha1.addData(kWebSocketGuid);
    return sha1.result().toBase64();
}

QByteArray generateClientKey() {
    // RFC 6455 §4.1: "a randomly selected 16-byte value", which must be
    // unpredictable, hence the system CSPRNG (drawn ahead: asking it each time,
    // RDRAND in Qt's case, was 2 % of a relay's time opening connections).
    std::array<quint32, 4> words;
    for (quint32 &word : words)
        word = systemRandomWord();
    return QByteArray(reinterpret_cast<const char *>(words.data()), 16).toBase64();
}

// ---------------------------------------------------------------------------
// ClientHandshake

ClientHandshake::ClientHandshake(ClientHandshakeOptions options, QByteArray key)
    : m_options(std::move(options))
    , m_key(key.isEmpty() ? generateClientKey() : std::move(key))
    , m_reader(HeaderBlockReader::Kind::Response, m_options.limits.maxHeaderBytes,
               m_options.limits.maxHeaderCount) {}

QByteArray ClientHandshake::request() const {
    QByteArray out;
    const QByteArray resource = m_options.resourceName.isEmpty() ? "/" : m_options.resourceName;
    out.append("GET ").append(resource).append(" HTTP/1.1\r\n");
    // RFC 6455 §4.1 item 4 / RFC 7230 §5.4: the port is left out when it is the
    // scheme's default.
    const quint16 defaultPort = m_options.secure ? 443 : 80;
    QByteArray host = m_options.host;
    if (m_options.port != defaultPort)
        host.append(':').append(QByteArray::number(m_options.port));
    // A Host or Origin among the extra headers replaces ours, in our place: a
    // request with two of either is not what anyone means to send.
    const HttpHeaders &extra = m_options.extraHeaders;
    const auto appendOurs = [&](QByteArrayView name, const QByteArray &value) {
        if (!extra.contains(name)) {
            if (!value.isEmpty())
                appendField(out, name, value);
            return;
        }
        for (const HttpHeaders::Field &field : extra.fields()) {
            if (QByteArrayView(field.first).compare(name, Qt::CaseInsensitive) == 0)
                appendField(out, field.first, field.second);
        }
    };
    appendOurs("Host", host);
    appendField(out, "Upgrade", "websocket");
    appendField(out, "Connection", "Upgrade");
    appendField(out, "Sec-WebSocket-Key", m_key);
    appendField(out, "Sec-WebSocket-Version", "13");
    appendOurs("Origin", m_options.origin);
    if (!m_options.subprotocols.isEmpty())
        appendField(out, "Sec-WebSocket-Protocol", joined(m_options.subprotocols));
    if (!m_options.extensions.isEmpty())
        appendField(out, "Sec-WebSocket-Extensions", formatExtensions(m_options.extensions));
    for (const HttpHeaders::Field &field : extra.fields()) {
        if (QByteArrayView(field.first).compare("Host", Qt::CaseInsensitive) != 0 &&
            QByteArrayView(field.first).compare("Origin", Qt::CaseInsensitive) != 0)
            appendField(out, field.first, field.second);
    }
    out.append(kCrlf);
    return out;
}

ClientHandshake::Status ClientHandshake::feed(QByteArrayView data) {
    switch (m_status) {
    case Status::Accepted:
        m_leftover.append(data);
        return m_status;
    case Status::Failed:
        return m_status;
    case Status::NeedMore:
        break;
    }
    if (m_readingBody)
        return readBody(data);

    qsizetype consumed = 0;
    const HeaderBlockReader::Result result = m_reader.feed(data, &consumed);
    const HandshakeLimits &limits = m_options.limits;
    switch (result) {
    case HeaderBlockReader::Result::NeedMore:
        return m_status;
    case HeaderBlockReader::Result::Complete:
        return headerBlockDone(data.sliced(consumed));
    case HeaderBlockReader::Result::Malformed:
        return fail(QStringLiteral("the server's answer is not valid HTTP: %1")
                        .arg(m_reader.errorString()));
    case HeaderBlockReader::Result::TooLarge:
        return fail(QStringLiteral("the server's answer has a header block larger than %1 bytes")
                        .arg(limits.maxHeaderBytes));
    case HeaderBlockReader::Result::TooManyFields:
        return fail(QStringLiteral("the server's answer has more than %1 header fields")
                        .arg(limits.maxHeaderCount));
    }
    return m_status;
}

ClientHandshake::Status ClientHandshake::feedEof() {
    if (m_status != Status::NeedMore)
        return m_status;
    if (m_readingBody) {
        // Content-Length or chunked: the body was cut short, but what came is kept.
        return bodyDone();
    }
    if (m_reader.block().isEmpty())
        return fail(QStringLiteral("the server closed the connection without answering"));
    return fail(QStringLiteral("the server closed the connection before the end of its "
                               "answer's header block"));
}

QByteArray ClientHandshake::takeLeftover() {
    QByteArray out = std::move(m_leftover);
    m_leftover = QByteArray();
    return out;
}

qsizetype ClientHandshake::bufferedBytes() const {
    return m_reader.block().size() + m_body.size() + m_chunkLine.size();
}

ClientHandshake::Status ClientHandshake::fail(QString why) {
    m_status = Status::Failed;
    m_error = std::move(why);
    m_leftover.clear();
    return m_status;
}

ClientHandshake::Status ClientHandshake::headerBlockDone(QByteArrayView rest) {
    const int code = m_reader.statusCode();
    if (code == 101) {
        if (m_reader.versionMajor() != 1 || m_reader.versionMinor() < 1) {
            return fail(QStringLiteral("the server answered 101 in %1; a WebSocket handshake "
                                       "needs HTTP/1.1 (RFC 6455 §4.1)")
                            .arg(quote(m_reader.version())));
        }
        const Status status = validate();
        if (status == Status::Accepted)
            m_leftover = rest.toByteArray();
        return status;
    }
    // The three digits as sent (RFC 7230 §3.1.2), leading zeros included.
    QString answer = QStringLiteral("%1").arg(code, 3, 10, QLatin1Char('0'));
    if (!m_reader.reasonPhrase().isEmpty())
        answer += QLatin1Char(' ') + quote(m_reader.reasonPhrase());
    m_error =
        QStringLiteral("the server answered %1 instead of 101 Switching Protocols").arg(answer);
    return startBody(rest);
}

// RFC 6455 §4.1, the client's checks of the server's 101, in the RFC's order.
ClientHandshake::Status ClientHandshake::validate() {
    const HttpHeaders &headers = m_reader.headers();

    // Item 2: Upgrade must be websocket (case-insensitive).
    if (!headers.contains("Upgrade")) {
        return fail(QStringLiteral("the server's 101 answer has no Upgrade header; it should be "
                                   "'Upgrade: websocket' (RFC 6455 §4.1)"));
    }
    if (!headers.hasToken("Upgrade", "websocket")) {
        return fail(QStringLiteral("Upgrade is '%1' but should be 'websocket' (RFC 6455 §4.1)")
                        .arg(quote(headers.combined("Upgrade").value_or(QByteArray()))));
    }
    // Item 3: Connection must contain the token Upgrade.
    if (!headers.contains("Connection")) {
        return fail(QStringLiteral("the server's 101 answer has no Connection header; it should "
                                   "be 'Connection: Upgrade' (RFC 6455 §4.1)"));
    }
    if (!headers.hasToken("Connection", "Upgrade")) {
        return fail(QStringLiteral("Connection is '%1' but should contain 'Upgrade' "
                                   "(RFC 6455 §4.1)")
                        .arg(quote(headers.combined("Connection").value_or(QByteArray()))));
    }
    // Item 4: Sec-WebSocket-Accept must be the hash of our key, exactly.
    const QByteArray expectedAccept = computeAcceptKey(m_key);
    const std::optional<QByteArray> accept = headers.combined("Sec-WebSocket-Accept");
    if (!accept) {
        return fail(QStringLiteral("the server's 101 answer has no Sec-WebSocket-Accept header; "
                                   "it should be '%1' (RFC 6455 §4.1)")
                        .arg(QString::fromLatin1(expectedAccept)));
    }
    if (*accept != expectedAccept) {
        return fail(QStringLiteral("Sec-WebSocket-Accept is '%1' but should be '%2' "
                                   "(RFC 6455 §4.1)")
                        .arg(quote(*accept), QString::fromLatin1(expectedAccept)));
    }
    // Item 5: only extensions we offered, each once.
    QList<ExtensionParams> extensions;
    if (const std::optional<QByteArray> value = headers.combined("Sec-WebSocket-Extensions")) {
        std::optional<QList<ExtensionParams>> parsed = parseExtensions(*value);
        if (!parsed) {
            return fail(QStringLiteral("Sec-WebSocket-Extensions '%1' is malformed "
                                       "(RFC 6455 §9.1)")
                            .arg(quote(*value)));
        }
        for (qsizetype i = 0; i < parsed->size(); ++i) {
            const QByteArray &name = parsed->at(i).name;
            const auto sameName = [&name](const ExtensionParams &other) {
                return other.name.compare(name, Qt::CaseInsensitive) == 0;
            };
            if (std::none_of(m_options.extensions.cbegin(), m_options.extensions.cend(),
                             sameName)) {
                return fail(QStringLiteral("the server accepted the extension '%1', which was "
                                           "not offered (RFC 6455 §4.1)")
                                .arg(quote(name)));
            }
            if (std::any_of(parsed->cbegin(), parsed->cbegin() + i, sameName)) {
                return fail(QStringLiteral("the server accepted the extension '%1' more than "
                                           "once (RFC 6455 §4.1)")
                                .arg(quote(name)));
            }
        }
        extensions = std::move(*parsed);
    }
    // Item 6: no subprotocol, or exactly one of those offered.
    QByteArray subprotocol;
    if (headers.contains("Sec-WebSocket-Protocol")) {
        const QList<QByteArray> chosen = headers.tokens("Sec-WebSocket-Protocol");
        if (chosen.size() != 1) {
            return fail(
                QStringLiteral("Sec-WebSocket-Protocol is '%1' but should be exactly one "
                               "of the offered subprotocols (RFC 6455 §4.1)")
                    .arg(quote(headers.combined("Sec-WebSocket-Protocol").value_or(QByteArray()))));
        }
        if (!m_options.subprotocols.contains(chosen.front())) {
            const QString offered = m_options.subprotocols.isEmpty()
                                        ? QStringLiteral("none was offered")
                                        : QStringLiteral("the offer was '%1'")
                                              .arg(quote(joined(m_options.subprotocols)));
            return fail(QStringLiteral("the server chose the subprotocol '%1', but %2 "
                                       "(RFC 6455 §4.1)")
                            .arg(quote(chosen.front()), offered));
        }
        subprotocol = chosen.front();
    }

    m_subprotocol = std::move(subprotocol);
    m_extensions = std::move(extensions);
    m_status = Status::Accepted;
    return m_status;
}

// RFC 7230 §3.3.3: how long the body of the answer is.
ClientHandshake::Status ClientHandshake::startBody(QByteArrayView rest) {
    const int code = m_reader.statusCode();
    const HttpHeaders &headers = m_reader.headers();
    // Item 1: 1xx, 204 and 304 answers have no body.
    if ((code >= 100 && code < 200) || code == 204 || code == 304)
        return bodyDone();
    if (m_options.limits.maxBodyBytes <= 0)
        return bodyDone();
    if (headers.contains("Transfer-Encoding")) {
        // Item 3: chunked when it is the final coding, otherwise read until close.
        const QList<QByteArray> codings = headers.tokens("Transfer-Encoding");
        const bool chunked =
            !codings.isEmpty() && codings.back().compare("chunked", Qt::CaseInsensitive) == 0;
        m_bodyMode = chunked ? BodyMode::Chunked : BodyMode::UntilEof;
    } else if (const std::optional<QByteArray> length = headers.combined("Content-Length")) {
        const std::optional<qint64> parsed = parseContentLength(*length);
        // Item 4: an invalid length makes the framing unknowable; the answer is
        // already a failure, so there is nothing to wait for.
        if (!parsed || *parsed == 0)
            return bodyDone();
        m_bodyMode = BodyMode::Length;
        m_bodyExpected = *parsed;
    } else {
        m_bodyMode = BodyMode::UntilEof;
    }
    m_readingBody = true;
    return readBody(rest);
}

ClientHandshake::Status ClientHandshake::readBody(QByteArrayView data) {
    switch (m_bodyMode) {
    case BodyMode::Length: {
        const QByteArrayView part = data.first(std::min<qint64>(data.size(), m_bodyExpected));
        m_bodyExpected -= part.size();
        const Status status = appendBody(part);
        if (status == Status::NeedMore && m_bodyExpected == 0)
            return bodyDone();
        return status;
    }
    case BodyMode::Chunked:
        return readChunked(data);
    case BodyMode::UntilEof:
        return appendBody(data);
    }
    return m_status;
}

// RFC 7230 §4.1: chunked-body = *chunk last-chunk trailer-part CRLF. Only the
// chunk data is kept; a malformed chunk ends the body where it stands.
ClientHandshake::Status ClientHandshake::readChunked(QByteArrayView data) {
    while (!data.isEmpty() && m_status == Status::NeedMore) {
        if (m_chunkState == ChunkState::Data) {
            const QByteArrayView part = data.first(std::min<qint64>(data.size(), m_chunkRemaining));
            data = data.sliced(part.size());
            m_chunkRemaining -= part.size();
            if (m_chunkRemaining == 0)
                m_chunkState = ChunkState::DataEnd;
            appendBody(part);
            continue;
        }
        // The other states read a line, at most kMaxChunkLine bytes of it.
        const qsizetype newline = data.indexOf('\n');
        const QByteArrayView part = newline < 0 ? data : data.first(newline);
        if (m_chunkLine.size() + part.size() > kMaxChunkLine)
            return bodyDone();
        m_chunkLine.append(part);
        if (newline < 0)
            return m_status;
        data = data.sliced(newline + 1);
        QByteArrayView line = m_chunkLine;
        if (line.endsWith('\r'))
            line.chop(1);
        switch (m_chunkState) {
        case ChunkState::SizeLine: {
            const std::optional<qint64> size = parseChunkSize(line);
            if (!size)
                return bodyDone();
            m_chunkRemaining = *size;
            m_chunkState = *size == 0 ? ChunkState::Trailers : ChunkState::Data;
            break;
        }
        case ChunkState::DataEnd:
            if (!line.isEmpty())
                return bodyDone();
            m_chunkState = ChunkState::SizeLine;
            break;
        case ChunkState::Trailers:
            if (line.isEmpty())
                return bodyDone();
            break;
        case ChunkState::Data:
            break;
        }
        m_chunkLine.clear();
    }
    return m_status;
}

ClientHandshake::Status ClientHandshake::appendBody(QByteArrayView data) {
    const qsizetype room = m_options.limits.maxBodyBytes - m_body.size();
    m_body.append(data.first(std::min(room, data.size())));
    // The body only explains the failure: once the limit is reached, stop reading.
    if (m_body.size() >= m_options.limits.maxBodyBytes)
        return bodyDone();
    return m_status;
}

ClientHandshake::Status ClientHandshake::bodyDone() {
    m_readingBody = false;
    m_chunkLine.clear();
    m_status = Status::Failed;
    return m_status;
}

// ---------------------------------------------------------------------------
// ServerHandshake

ServerHandshake::ServerHandshake(HandshakeLimits limits)
    : m_limits(limits)
    , m_reader(HeaderBlockReader::Kind::Request, limits.maxHeaderBytes, limits.maxHeaderCount) {}

ServerHandshake::Status ServerHandshake::feed(QByteArrayView data) {
    switch (m_status) {
    case Status::Upgrade:
    case Status::PlainHttp:
        m_leftover.append(data);
        return m_status;
    case Status::Failed:
        return m_status;
    case Status::NeedMore:
        break;
    }
    qsizetype consumed = 0;
    const HeaderBlockReader::Result result = m_reader.feed(data, &consumed);
    if (result != HeaderBlockReader::Result::NeedMore) {
        m_request.method = m_reader.method();
        m_request.target = m_reader.target();
        m_request.version = m_reader.version();
        m_request.headers = m_reader.headers();
    }
    switch (result) {
    case HeaderBlockReader::Result::NeedMore:
        return m_status;
    case HeaderBlockReader::Result::Complete:
        return headerBlockDone(data.sliced(consumed));
    case HeaderBlockReader::Result::Malformed:
        return fail(400, m_reader.errorString());
    case HeaderBlockReader::Result::TooLarge:
        return fail(431, QStringLiteral("the request's header block is larger than %1 bytes")
                             .arg(m_limits.maxHeaderBytes));
    case HeaderBlockReader::Result::TooManyFields:
        return fail(431, QStringLiteral("the request has more than %1 header fields")
                             .arg(m_limits.maxHeaderCount));
    }
    return m_status;
}

QByteArray ServerHandshake::takeLeftover() {
    QByteArray out = std::move(m_leftover);
    m_leftover = QByteArray();
    return out;
}

ServerHandshake::Status ServerHandshake::fail(int status, QString why) {
    m_status = Status::Failed;
    m_failureStatus = status;
    m_error = std::move(why);
    m_leftover.clear();
    return m_status;
}

ServerHandshake::Status ServerHandshake::headerBlockDone(QByteArrayView rest) {
    m_leftover = rest.toByteArray();
    const Status status = validate();
    if (status == Status::Failed)
        m_leftover.clear();
    return status;
}

ServerHandshake::Status ServerHandshake::validate() {
    const HttpHeaders &headers = m_request.headers;

    // RFC 6455 §4.1: "The method of the request MUST be GET".
    if (m_request.method != "GET") {
        return fail(405, QStringLiteral("the method is %1 but a WebSocket handshake (and this "
                                        "server) only takes GET (RFC 6455 §4.1)")
                             .arg(quote(m_request.method)));
    }
    // "... and the HTTP version MUST be at least 1.1"; another major version is one
    // this server does not speak at all (RFC 7231 §6.6.6).
    if (m_reader.versionMajor() == 1 && m_reader.versionMinor() == 0) {
        return fail(400, QStringLiteral("the request is HTTP/1.0 but a WebSocket handshake needs "
                                        "HTTP/1.1 or higher (RFC 6455 §4.1)"));
    }
    if (m_reader.versionMajor() != 1) {
        return fail(505, QStringLiteral("the request is %1 but this server speaks HTTP/1.1")
                             .arg(quote(m_request.version)));
    }
    // RFC 7230 §5.4: exactly one Host.
    const int hosts = headers.count("Host");
    if (hosts != 1) {
        return fail(
            400,
            hosts == 0
                ? QStringLiteral("the request has no Host header (RFC 7230 §5.4)")
                : QStringLiteral("the request has %1 Host headers (RFC 7230 §5.4)").arg(hosts));
    }

    // A GET that does not ask for websocket is an ordinary request (RFC 7230 §6.7:
    // a server may ignore an upgrade it does not want).
    if (!headers.hasToken("Upgrade", "websocket")) {
        m_status = Status::PlainHttp;
        return m_status;
    }

    // RFC 6455 §4.2.1, items 4-6.
    if (!headers.hasToken("Connection", "Upgrade")) {
        const std::optional<QByteArray> connection = headers.combined("Connection");
        return fail(400, connection ? QStringLiteral("the request asks for Upgrade: websocket but "
                                                     "Connection is '%1', without 'Upgrade' "
                                                     "(RFC 6455 §4.2.1)")
                                          .arg(quote(*connection))
                                    : QStringLiteral("the request asks for Upgrade: websocket but "
                                                     "has no 'Connection: Upgrade' "
                                                     "(RFC 6455 §4.2.1)"));
    }
    const int keys = headers.count("Sec-WebSocket-Key");
    if (keys == 0)
        return fail(400, QStringLiteral("the request has no Sec-WebSocket-Key (RFC 6455 §4.2.1)"));
    if (keys > 1) {
        return fail(400, QStringLiteral("the request has %1 Sec-WebSocket-Key headers; it must "
                                        "have one (RFC 6455 §4.2.1)")
                             .arg(keys));
    }
    const QByteArray key = clientKey();
    // "a base64-encoded value that, when decoded, is 16 bytes in length": 24
    // characters, the last two "==".
    const auto decoded =
        QByteArray::fromBase64Encoding(key, QByteArray::AbortOnBase64DecodingErrors);
    if (key.size() != 24 || !key.endsWith("==") || !decoded || decoded.decoded.size() != 16) {
        return fail(400, QStringLiteral("Sec-WebSocket-Key '%1' is not the base64 encoding of "
                                        "16 bytes (RFC 6455 §4.2.1)")
                             .arg(quote(key)));
    }
    // RFC 6455 §4.2.2: an unknown version is answered with 426 and the versions
    // the server speaks.
    const std::optional<QByteArray> version = headers.combined("Sec-WebSocket-Version");
    if (!version) {
        return fail(426, QStringLiteral("the request has no Sec-WebSocket-Version; this server "
                                        "speaks version 13 (RFC 6455 §4.2.1)"));
    }
    if (*version != "13") {
        return fail(426, QStringLiteral("Sec-WebSocket-Version is '%1' but this server speaks "
                                        "version 13 (RFC 6455 §4.2.2)")
                             .arg(quote(*version)));
    }
    if (const std::optional<QByteArray> value = headers.combined("Sec-WebSocket-Extensions")) {
        if (!parseExtensions(*value)) {
            return fail(400, QStringLiteral("Sec-WebSocket-Extensions '%1' is malformed "
                                            "(RFC 6455 §9.1)")
                                 .arg(quote(*value)));
        }
    }
    m_status = Status::Upgrade;
    return m_status;
}

QByteArray ServerHandshake::clientKey() const {
    return m_request.headers.value("Sec-WebSocket-Key").value_or(QByteArray());
}

QByteArray ServerHandshake::origin() const {
    return m_request.headers.value("Origin").value_or(QByteArray());
}

QList<QByteArray> ServerHandshake::offeredSubprotocols() const {
    return m_request.headers.tokens("Sec-WebSocket-Protocol");
}

QList<ExtensionParams> ServerHandshake::offeredExtensions() const {
    const std::optional<QByteArray> value = m_request.headers.combined("Sec-WebSocket-Extensions");
    if (!value)
        return {};
    return parseExtensions(*value).value_or(QList<ExtensionParams>());
}

QByteArray ServerHandshake::acceptResponse(const QByteArray &subprotocol,
                                           const QList<ExtensionParams> &extensions,
                                           const HttpHeaders &extraHeaders) const {
    if (m_status != Status::Upgrade)
        return {};
    // RFC 6455 §4.2.2 item 5.
    QByteArray out = "HTTP/1.1 101 Switching Protocols\r\n";
    appendField(out, "Upgrade", "websocket");
    appendField(out, "Connection", "Upgrade");
    appendField(out, "Sec-WebSocket-Accept", computeAcceptKey(clientKey()));
    if (!subprotocol.isEmpty())
        appendField(out, "Sec-WebSocket-Protocol", subprotocol);
    if (!extensions.isEmpty())
        appendField(out, "Sec-WebSocket-Extensions", formatExtensions(extensions));
    appendFields(out, extraHeaders);
    out.append(kCrlf);
    return out;
}

QByteArray ServerHandshake::failureResponse() const {
    if (m_status != Status::Failed)
        return {};
    HttpHeaders extra;
    if (m_failureStatus == 405) {
        // RFC 7231 §6.5.5: a 405 lists the methods that would work.
        extra.add("Allow", "GET");
    } else if (m_failureStatus == 426) {
        // RFC 6455 §4.2.2 and RFC 7231 §6.5.15: name the protocol and version needed;
        // Upgrade goes with Connection: Upgrade (RFC 7230 §6.7).
        extra.add("Upgrade", "websocket");
        extra.add("Connection", "Upgrade, close");
        extra.add("Sec-WebSocket-Version", "13");
    }
    QByteArray body = m_error.toUtf8();
    body.append('\n');
    return httpResponse(m_failureStatus, {}, "text/plain; charset=utf-8", body, extra);
}

QByteArray ServerHandshake::httpResponse(int status, QByteArrayView reason,
                                         QByteArrayView contentType, QByteArrayView body,
                                         const HttpHeaders &extraHeaders) {
    QByteArray out = "HTTP/1.1 ";
    out.append(QByteArray::number(status)).append(' ');
    out.append(reason.isEmpty() ? QByteArrayView(reasonPhrase(status)) : reason);
    out.append(kCrlf);
    if (!contentType.isEmpty())
        appendField(out, "Content-Type", contentType);
    appendField(out, "Content-Length", QByteArray::number(body.size()));
    // The connection ends after these answers, and the client should know it
    // (RFC 7230 §6.6).
    if (!extraHeaders.contains("Connection"))
        appendField(out, "Connection", "close");
    appendFields(out, extraHeaders);
    out.append(kCrlf);
    out.append(body);
    return out;
}

QByteArray ServerHandshake::reasonPhrase(int status) {
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return {};
    }
}

} // namespace ws

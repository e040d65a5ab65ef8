#include "httpheaders.h"

#include <cstring>

namespace ws {

namespace {

bool equalsIgnoringCase(QByteArrayView a, QByteArrayView b) {
    return a.size() == b.size() && a.compare(b, Qt::CaseInsensitive) == 0;
}

// RFC 7230 §3.2.6: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" /
// "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
constexpr bool isTokenChar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

// RFC 7230 §3.2.3: OWS = *( SP / HTAB )
constexpr bool isOws(char c) {
    return c == ' ' || c == '\t';
}

QByteArrayView trimOws(QByteArrayView text) {
    qsizetype begin = 0;
    qsizetype end = text.size();
    while (begin < end && isOws(text[begin]))
        ++begin;
    while (end > begin && isOws(text[end - 1]))
        --end;
    return text.sliced(begin, end - begin);
}

// A cursor over a Sec-WebSocket-Extensions value (RFC 6455 §9.1).
class ExtensionParser {
public:
    explicit ExtensionParser(QByteArrayView text)
        : m_text(text) {}

    std::optional<QList<ExtensionParams>> parse() {
        QList<ExtensionParams> extensions;
        bool sawSeparator = false;
        for (;;) {
            skipOws();
            if (atEnd())
                break;
            // RFC 7230 §7: empty list elements are ignored.
            if (peek() == ',') {
                ++m_pos;
                sawSeparator = true;
                continue;
            }
            std::optional<ExtensionParams> extension = parseExtension();
            if (!extension)
                return std::nullopt;
            extensions.append(std::move(*extension));
            skipOws();
            if (atEnd())
                break;
            if (peek() != ',')
                return std::nullopt;
            ++m_pos;
            sawSeparator = true;
        }
        // `1#extension`: a list of nothing but commas is not a list.
        if (extensions.isEmpty() && sawSeparator)
            return std::nullopt;
        return extensions;
    }

private:
    bool atEnd() const { return m_pos >= m_text.size(); }
    char peek() const { return m_text[m_pos]; }
    void skipOws() {
        while (!atEnd() && isOws(peek()))
            ++m_pos;
    }
    QByteArray readToken() {
        const qsizetype begin = m_pos;
        while (!atEnd() && isTokenChar(peek()))
            ++m_pos;
        return m_text.sliced(begin, m_pos - begin).toByteArray();
    }

    // RFC 7230 §3.2.6: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
    std::optional<QByteArray> readQuotedString() {
        ++m_pos; // the opening quote
        QByteArray value;
        while (!atEnd()) {
            const char c = peek();
            ++m_pos;
            if (c == '"')
                return value;
            if (c == '\\') {
                if (atEnd())
                    return std::nullopt;
                const char escaped = peek();
                ++m_pos;
                if (!isQuotable(escaped))
                    return std::nullopt;
                value.append(escaped);
                continue;
            }
            if (!isQuotable(c))
                return std::nullopt;
            value.append(c);
        }
        return std::nullopt; // no closing quote
    }

    // qdtext and the quoted-pair's second byte: HTAB, SP, VCHAR, obs-text.
    static bool isQuotable(char c) {
        const auto byte = static_cast<unsigned char>(c);
        return c == '\t' || (byte >= 0x20 && byte != 0x7f);
    }

    std::optional<ExtensionParams> parseExtension() {
        ExtensionParams extension;
        extension.name = readToken();
        if (extension.name.isEmpty())
            return std::nullopt;
        for (;;) {
            skipOws();
            if (atEnd() || peek() != ';')
                return extension;
            ++m_pos;
            skipOws();
            ExtensionParams::Param param;
            param.name = readToken();
            if (param.name.isEmpty())
                return std::nullopt;
            skipOws();
            if (!atEnd() && peek() == '=') {
                ++m_pos;
                skipOws();
                if (atEnd())
                    return std::nullopt;
                if (peek() == '"') {
                    std::optional<QByteArray> quoted = readQuotedString();
                    // RFC 6455 §9.1: "the value after quoted-string unescaping MUST
                    // conform to the 'token' ABNF".
                    if (!quoted || !isHttpToken(*quoted))
                        return std::nullopt;
                    param.value = std::move(*quoted);
                } else {
                    QByteArray token = readToken();
                    if (token.isEmpty())
                        return std::nullopt;
                    param.value = std::move(token);
                }
            }
            extension.params.append(std::move(param));
        }
    }

    QByteArrayView m_text;
    qsizetype m_pos = 0;
};

QByteArray quoted(QByteArrayView value) {
    QByteArray out;
    out.reserve(value.size() + 2);
    out.append('"');
    for (char c : value) {
        if (c == '"' || c == '\\')
            out.append('\\');
        out.append(c);
    }
    out.append('"');
    return out;
}

// Field values may hold HTAB, SP, VCHAR and obs-text, never other controls
// (RFC 7230 §3.2: field-vchar).
bool hasControlCharacter(QByteArrayView value) {
    for (char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        if ((byte < 0x20 && c != '\t') || byte == 0x7f)
            return true;
    }
    return false;
}

} // namespace

// ---------------------------------------------------------------------------

bool HttpHeaders::contains(QByteArrayView name) const {
    for (const Field &field : m_fields) {
        if (equalsIgnoringCase(field.first, name))
            return true;
    }
    return false;
}

std::optional<QByteArray> HttpHeaders::value(QByteArrayView name) const {
    for (const Field &field : m_fields) {
        if (equalsIgnoringCase(field.first, name))
            return field.second;
    }
    return std::nullopt;
}

std::optional<QByteArray> HttpHeaders::combined(QByteArrayView name) const {
    std::optional<QByteArray> joined;
    for (const Field &field : m_fields) {
        if (!equalsIgnoringCase(field.first, name))
            continue;
        if (joined)
            joined->append(", ").append(field.second);
        else
            joined = field.second;
    }
    return joined;
}

int HttpHeaders::count(QByteArrayView name) const {
    int n = 0;
    for (const Field &field : m_fields) {
        if (equalsIgnoringCase(field.first, name))
            ++n;
    }
    return n;
}

QList<QByteArray> HttpHeaders::tokens(QByteArrayView name) const {
    QList<QByteArray> result;
    for (const Field &field : m_fields) {
        if (!equalsIgnoringCase(field.first, name))
            continue;
        QByteArrayView rest = field.second;
        while (!rest.isEmpty()) {
            const qsizetype comma = rest.indexOf(',');
            const QByteArrayView item = comma < 0 ? rest : rest.first(comma);
            const QByteArrayView token = trimOws(item);
            if (!token.isEmpty())
                result.append(token.toByteArray());
            if (comma < 0)
                break;
            rest = rest.sliced(comma + 1);
        }
    }
    return result;
}

bool HttpHeaders::hasToken(QByteArrayView name, QByteArrayView token) const {
    const QList<QByteArray> all = tokens(name);
    for (const QByteArray &candidate : all) {
        if (equalsIgnoringCase(candidate, token))
            return true;
    }
    return false;
}

// ---------------------------------------------------------------------------

bool ExtensionParams::hasParam(QByteArrayView paramName) const {
    for (const Param &param : params) {
        if (equalsIgnoringCase(param.name, paramName))
            return true;
    }
    return false;
}

std::optional<QByteArray> ExtensionParams::paramValue(QByteArrayView paramName) const {
    for (const Param &param : params) {
        if (equalsIgnoringCase(param.name, paramName))
            return param.value;
    }
    return std::nullopt;
}

std::optional<QList<ExtensionParams>> parseExtensions(QByteArrayView headerValue) {
    return ExtensionParser(headerValue).parse();
}

QByteArray formatExtensions(const QList<ExtensionParams> &extensions) {
    QByteArray out;
    for (const ExtensionParams &extension : extensions) {
        if (!out.isEmpty())
            out.append(", ");
        out.append(extension.name);
        for (const ExtensionParams::Param &param : extension.params) {
            out.append("; ").append(param.name);
            if (param.value) {
                out.append('=');
                out.append(isHttpToken(*param.value) ? *param.value : quoted(*param.value));
            }
        }
    }
    return out;
}

bool isHttpToken(QByteArrayView text) {
    if (text.isEmpty())
        return false;
    for (char c : text) {
        if (!isTokenChar(c))
            return false;
    }
    return true;
}

QString printableExcerpt(QByteArrayView bytes, qsizetype maxChars) {
    QString out;
    for (char c : bytes) {
        if (out.size() >= maxChars) {
            out.append(QLatin1String("..."));
            break;
        }
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7f)
            out.append(QLatin1Char(c));
        else
            out.append(QStringLiteral("\\x%1").arg(uint(byte), 2, 16, QLatin1Char('0')));
    }
    return out;
}

// ---------------------------------------------------------------------------

HeaderBlockReader::HeaderBlockReader(Kind kind, qsizetype maxBytes, int maxFields)
    : m_kind(kind)
    , m_maxBytes(maxBytes)
    , m_maxFields(maxFields) {}

HeaderBlockReader::Result HeaderBlockReader::feed(QByteArrayView data, qsizetype *consumed) {
    *consumed = 0;
    if (m_result != Result::NeedMore)
        return m_result;
    // Never hold more than the limit: a block that has not ended within maxBytes
    // is too large whatever follows, so the bytes beyond are not even copied.
    const qsizetype room = std::max<qsizetype>(0, m_maxBytes - m_block.size());
    const qsizetype taken = std::min(data.size(), room);
    const qsizetype oldSize = m_block.size();
    // Grow geometrically but never past the limit, so the allocation is bounded too.
    if (oldSize + taken > m_block.capacity()) {
        m_block.reserve(
            std::min(m_maxBytes, std::max(oldSize + taken, 2 * m_block.capacity() + 256)));
    }
    m_block.append(data.first(taken));

    qsizetype pos = oldSize;
    while (pos < m_block.size()) {
        const char *begin = m_block.constData();
        const void *newline = std::memchr(begin + pos, '\n', size_t(m_block.size() - pos));
        if (!newline)
            break;
        const qsizetype end = static_cast<const char *>(newline) - begin;
        QByteArrayView line(begin + m_lineStart, end - m_lineStart);
        // RFC 7230 §3.5: a bare LF is accepted as a line terminator.
        if (line.endsWith('\r'))
            line.chop(1);
        pos = end + 1;
        m_lineStart = pos;
        const Result result = processLine(line);
        if (result != Result::NeedMore) {
            m_block.truncate(pos);
            *consumed = pos - oldSize;
            return finish(result);
        }
    }
    *consumed = taken;
    if (m_block.size() >= m_maxBytes)
        return finish(Result::TooLarge);
    return m_result;
}

HeaderBlockReader::Result HeaderBlockReader::processLine(QByteArrayView line) {
    if (!m_hasStartLine) {
        // RFC 7230 §3.5: empty lines before the start line are ignored.
        if (line.isEmpty())
            return Result::NeedMore;
        return processStartLine(line);
    }
    if (line.isEmpty())
        return Result::Complete;
    return processFieldLine(line);
}

HeaderBlockReader::Result HeaderBlockReader::processStartLine(QByteArrayView line) {
    m_hasStartLine = true;
    if (m_kind == Kind::Request) {
        // RFC 7230 §3.1.1: request-line = method SP request-target SP HTTP-version
        // Worded only when the line is bad: every handshake passes here.
        const auto shape = [line] {
            return QStringLiteral("the request line '%1' is not of the form "
                                  "'GET /path HTTP/1.1' (RFC 7230 §3.1.1)")
                .arg(printableExcerpt(line));
        };
        const qsizetype firstSpace = line.indexOf(' ');
        const qsizetype lastSpace = line.lastIndexOf(' ');
        if (firstSpace <= 0 || lastSpace == firstSpace)
            return malformed(shape());
        const QByteArrayView method = line.first(firstSpace);
        const QByteArrayView target = line.sliced(firstSpace + 1, lastSpace - firstSpace - 1);
        const QByteArrayView version = line.sliced(lastSpace + 1);
        if (!isHttpToken(method) || target.isEmpty())
            return malformed(shape());
        for (char c : target) {
            const auto byte = static_cast<unsigned char>(c);
            if (byte <= 0x20 || byte >= 0x7f)
                return malformed(shape());
        }
        m_method = method.toByteArray();
        m_target = target.toByteArray();
        m_version = version.toByteArray();
        if (!parseVersion(version)) {
            return malformed(QStringLiteral("'%1' is not an HTTP version (RFC 7230 §2.6)")
                                 .arg(printableExcerpt(version)));
        }
        return Result::NeedMore;
    }

    // RFC 7230 §3.1.2: status-line = HTTP-version SP status-code SP reason-phrase.
    // The SP before an empty reason is often left out; that is accepted.
    const auto shape = [line] {
        return QStringLiteral("the status line '%1' is not of the form "
                              "'HTTP/1.1 101 Switching Protocols' (RFC 7230 §3.1.2)")
            .arg(printableExcerpt(line));
    };
    const qsizetype firstSpace = line.indexOf(' ');
    if (firstSpace < 0)
        return malformed(shape());
    const QByteArrayView version = line.first(firstSpace);
    const QByteArrayView rest = line.sliced(firstSpace + 1);
    if (!parseVersion(version) || rest.size() < 3 || (rest.size() > 3 && rest[3] != ' '))
        return malformed(shape());
    int code = 0;
    for (char c : rest.first(3)) {
        if (c < '0' || c > '9')
            return malformed(shape());
        code = code * 10 + (c - '0');
    }
    const QByteArrayView reason = rest.size() > 3 ? rest.sliced(4) : QByteArrayView();
    if (hasControlCharacter(reason))
        return malformed(shape());
    m_version = version.toByteArray();
    m_statusCode = code;
    m_reasonPhrase = reason.toByteArray();
    return Result::NeedMore;
}

// RFC 7230 §2.6: HTTP-version = "HTTP/" DIGIT "." DIGIT (case-sensitive).
bool HeaderBlockReader::parseVersion(QByteArrayView text) {
    if (text.size() != 8 || !text.startsWith("HTTP/") || text[6] != '.')
        return false;
    const char major = text[5];
    const char minor = text[7];
    if (major < '0' || major > '9' || minor < '0' || minor > '9')
        return false;
    m_versionMajor = major - '0';
    m_versionMinor = minor - '0';
    return true;
}

HeaderBlockReader::Result HeaderBlockReader::processFieldLine(QByteArrayView line) {
    if (isOws(line.front())) {
        // RFC 7230 §3.2.4: obs-fold. A server may reject it; a user agent must
        // replace it with a space (done in finish()). Whitespace before the first
        // field is never valid (§3).
        if (m_kind == Kind::Request || m_fields.isEmpty()) {
            return malformed(QStringLiteral("the header line '%1' starts with whitespace "
                                            "(obsolete line folding, RFC 7230 §3.2.4)")
                                 .arg(printableExcerpt(line)));
        }
        FieldSpan &field = m_fields.back();
        const QByteArrayView continuation = trimOws(line);
        if (hasControlCharacter(continuation)) {
            return malformed(QStringLiteral("the header '%1' holds a control character "
                                            "(RFC 7230 §3.2)")
                                 .arg(printableExcerpt(QByteArrayView(m_block).sliced(
                                     field.nameBegin, field.nameSize))));
        }
        field.valueEnd = offsetOf(continuation) + continuation.size();
        return Result::NeedMore;
    }

    const qsizetype colon = line.indexOf(':');
    if (colon < 0) {
        return malformed(QStringLiteral("the header line '%1' has no colon (RFC 7230 §3.2)")
                             .arg(printableExcerpt(line)));
    }
    const QByteArrayView name = line.first(colon);
    if (!isHttpToken(name)) {
        if (!name.isEmpty() && isOws(name.back())) {
            return malformed(QStringLiteral("the header line '%1' has whitespace before its "
                                            "colon (RFC 7230 §3.2.4)")
                                 .arg(printableExcerpt(line)));
        }
        return malformed(QStringLiteral("the header name '%1' is not a token (RFC 7230 §3.2)")
                             .arg(printableExcerpt(name)));
    }
    const QByteArrayView value = trimOws(line.sliced(colon + 1));
    if (hasControlCharacter(value)) {
        return malformed(QStringLiteral("the header '%1' holds a control character "
                                        "(RFC 7230 §3.2)")
                             .arg(printableExcerpt(name)));
    }
    if (m_fields.size() >= m_maxFields)
        return Result::TooManyFields;
    const qsizetype valueBegin = offsetOf(value);
    m_fields.append(FieldSpan{offsetOf(name), name.size(), valueBegin, valueBegin + value.size()});
    return Result::NeedMore;
}

HeaderBlockReader::Result HeaderBlockReader::malformed(QString why) {
    m_error = std::move(why);
    return Result::Malformed;
}

HeaderBlockReader::Result HeaderBlockReader::finish(Result result) {
    m_result = result;
    const QByteArrayView block = m_block;
    for (const FieldSpan &field : std::as_const(m_fields)) {
        const QByteArrayView value =
            block.sliced(field.valueBegin, field.valueEnd - field.valueBegin);
        QByteArray unfolded;
        if (!value.contains('\n')) {
            unfolded = value.toByteArray();
        } else {
            // obs-fold: each line break and the whitespace around it become one space.
            QByteArrayView rest = value;
            for (;;) {
                const qsizetype newline = rest.indexOf('\n');
                QByteArrayView line = newline < 0 ? rest : rest.first(newline);
                if (line.endsWith('\r'))
                    line.chop(1);
                line = trimOws(line);
                if (!line.isEmpty()) {
                    if (!unfolded.isEmpty())
                        unfolded.append(' ');
                    unfolded.append(line);
                }
                if (newline < 0)
                    break;
                rest = rest.sliced(newline + 1);
            }
        }
        m_headers.add(block.sliced(field.nameBegin, field.nameSize).toByteArray(),
                      std::move(unfolded));
    }
    m_fields.clear();
    m_fields.squeeze();
    return m_result;
}

} // namespace ws

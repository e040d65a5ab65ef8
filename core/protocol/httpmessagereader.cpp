#include "protocol/httpmessagereader.h"

#include <algorithm>
#include <limits>

namespace ws {

namespace {

// The trailer section (RFC 9112 §7.1.2) is field lines and an empty line, a head
// without its start line: HeaderBlockReader reads it behind a start line of its own.
QByteArrayView trailerStartLine(HttpMessageReader::Kind kind) {
    return kind == HttpMessageReader::Kind::Request ? QByteArrayView("TRAILERS * HTTP/1.1\r\n")
                                                    : QByteArrayView("HTTP/1.1 200 Trailers\r\n");
}

HeaderBlockReader::Kind headKind(HttpMessageReader::Kind kind) {
    return kind == HttpMessageReader::Kind::Request ? HeaderBlockReader::Kind::Request
                                                    : HeaderBlockReader::Kind::Response;
}

// RFC 9110 §8.6: Content-Length = 1*DIGIT. Repeated identical values ("5, 5" or the
// field twice) are one length (RFC 9112 §6.3 item 5); different ones are an error.
std::optional<qint64> contentLength(const HttpHeaders &headers) {
    const QList<QByteArray> values = headers.tokens("Content-Length");
    if (values.isEmpty() || values.size() < headers.count("Content-Length"))
        return std::nullopt; // an empty value
    std::optional<qint64> length;
    for (const QByteArray &value : values) {
        // 18 digits cannot overflow a qint64.
        if (value.size() > 18)
            return std::nullopt;
        qint64 parsed = 0;
        for (char c : value) {
            if (c < '0' || c > '9')
                return std::nullopt;
            parsed = parsed * 10 + (c - '0');
        }
        if (length && *length != parsed)
            return std::nullopt;
        length = parsed;
    }
    return length;
}

constexpr int hexValue(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

} // namespace

HttpMessageReader::HttpMessageReader(Kind kind, Limits limits)
    : m_kind(kind)
    , m_limits(limits) {}

HttpMessageReader::Result HttpMessageReader::feed(QByteArrayView data, qsizetype *consumed) {
    qsizetype total = 0;
    for (;;) {
        const QByteArrayView rest = data.sliced(total);
        const State before = m_state;
        qsizetype taken = 0;
        Result result = Result::NeedMore;
        switch (m_state) {
        case State::Head:
            result = feedHead(rest, &taken);
            break;
        case State::Body:
            if (m_bodyKind == BodyKind::UntilClose) {
                taken = rest.size();
            } else {
                taken = qsizetype(std::min<qint64>(m_remaining, rest.size()));
                m_remaining -= taken;
                if (m_remaining == 0)
                    result = messageComplete();
            }
            break;
        case State::ChunkLine:
            result = feedChunkLine(rest, &taken);
            break;
        case State::ChunkData:
            taken = qsizetype(std::min<qint64>(m_remaining, rest.size()));
            m_remaining -= taken;
            if (m_remaining == 0)
                m_state = State::ChunkEnd;
            break;
        case State::ChunkEnd:
            result = feedChunkEnd(rest, &taken);
            break;
        case State::Trailers:
            result = feedTrailers(rest, &taken);
            break;
        case State::BodyDone:
            result = messageComplete();
            break;
        case State::Switched:
            result = Result::Switched;
            break;
        case State::Failed:
            result = Result::Error;
            break;
        }
        total += taken;
        m_messageBytes += taken;
        if (result != Result::NeedMore || (taken == 0 && m_state == before) ||
            (total == data.size() && m_state != State::BodyDone)) {
            *consumed = total;
            return result;
        }
    }
}

HttpMessageReader::Result HttpMessageReader::feedHead(QByteArrayView data, qsizetype *consumed) {
    if (data.isEmpty())
        return Result::NeedMore;
    if (m_headBytes == 0) {
        // The previous head stays readable until the next message begins.
        m_head.emplace(headKind(m_kind), m_limits.maxHeadBytes, m_limits.maxHeaderFields);
        m_trailers.reset();
        m_messageBytes = 0;
        m_interim = false;
    }
    const HeaderBlockReader::Result result = m_head->feed(data, consumed);
    m_headBytes += *consumed;
    switch (result) {
    case HeaderBlockReader::Result::NeedMore:
        return Result::NeedMore;
    case HeaderBlockReader::Result::Complete:
        return startBody();
    case HeaderBlockReader::Result::Malformed:
        return fail(m_head->errorString());
    case HeaderBlockReader::Result::TooLarge:
        return fail(QStringLiteral("the head is larger than %1 bytes").arg(m_limits.maxHeadBytes));
    case HeaderBlockReader::Result::TooManyFields:
        return fail(
            QStringLiteral("the head has more than %1 fields").arg(m_limits.maxHeaderFields));
    }
    return fail(QStringLiteral("unexpected result from the header reader"));
}

// RFC 9112 §6.3: the length of a message body.
HttpMessageReader::Result HttpMessageReader::startBody() {
    const HeaderBlockReader &head = *m_head;
    const HttpHeaders &headers = head.headers();
    m_switches = false;
    m_bodyKind = BodyKind::None;
    m_state = State::BodyDone;
    if (m_kind == Kind::Response) {
        const int status = head.statusCode();
        const QByteArray method =
            m_requestMethods.isEmpty() ? QByteArray("GET") : m_requestMethods.first();
        if (status >= 100 && status < 200) {
            // Item 1: no 1xx response has a body; after 101 the connection speaks the
            // protocol it switched to (RFC 9110 §15.2.2).
            m_switches = status == 101;
            m_interim = !m_switches;
            if (m_switches && !m_requestMethods.isEmpty())
                m_requestMethods.removeFirst();
            return Result::HeadComplete;
        }
        if (!m_requestMethods.isEmpty())
            m_requestMethods.removeFirst();
        // Item 2: a 2xx answer to CONNECT turns the connection into a tunnel.
        if (method == "CONNECT" && status >= 200 && status < 300) {
            m_switches = true;
            return Result::HeadComplete;
        }
        // Item 1: HEAD, 204 and 304 have no body, whatever the fields say.
        if (method == "HEAD" || status == 204 || status == 304)
            return Result::HeadComplete;
    }

    const QList<QByteArray> codings = headers.tokens("Transfer-Encoding");
    if (headers.contains("Transfer-Encoding")) {
        // Item 3: both may be an attempt at request smuggling or response splitting;
        // passed on byte-exact, the message would keep both, so it is refused.
        if (headers.contains("Content-Length"))
            return fail(QStringLiteral("the message has both Transfer-Encoding and "
                                       "Content-Length (RFC 9112 §6.3)"));
        // RFC 9112 §6.1: HTTP/1.0 has no Transfer-Encoding; its framing is faulty.
        if (head.versionMajor() == 1 && head.versionMinor() == 0)
            return fail(QStringLiteral("an HTTP/1.0 message with Transfer-Encoding "
                                       "(RFC 9112 §6.1)"));
        const qsizetype chunkedCount =
            std::count_if(codings.cbegin(), codings.cend(), [](const QByteArray &coding) {
                return coding.compare("chunked", Qt::CaseInsensitive) == 0;
            });
        const bool chunkedLast =
            !codings.isEmpty() && codings.last().compare("chunked", Qt::CaseInsensitive) == 0;
        if (chunkedCount == 1 && chunkedLast) {
            m_bodyKind = BodyKind::Chunked;
            m_state = State::ChunkLine;
            m_line.clear();
            return Result::HeadComplete;
        }
        // RFC 9112 §6.1: chunked may be applied once, and last.
        if (m_kind == Kind::Request || chunkedCount > 0)
            return fail(QStringLiteral("the Transfer-Encoding '%1' does not end in a single "
                                       "chunked (RFC 9112 §6.3)")
                            .arg(printableExcerpt(*headers.combined("Transfer-Encoding"))));
        // Item 4: a response's other codings run until the connection closes.
        m_bodyKind = BodyKind::UntilClose;
        m_state = State::Body;
        return Result::HeadComplete;
    }
    if (headers.contains("Content-Length")) {
        const std::optional<qint64> length = contentLength(headers);
        if (!length)
            return fail(QStringLiteral("the Content-Length '%1' is not one decimal length "
                                       "(RFC 9112 §6.3)")
                            .arg(printableExcerpt(*headers.combined("Content-Length"))));
        if (*length > 0) {
            m_bodyKind = BodyKind::ContentLength;
            m_remaining = *length;
            m_state = State::Body;
        }
        return Result::HeadComplete;
    }
    // Items 7 and 8: a request without either has no body; a response runs until the
    // connection closes.
    if (m_kind == Kind::Response) {
        m_bodyKind = BodyKind::UntilClose;
        m_state = State::Body;
    }
    return Result::HeadComplete;
}

// RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF, chunk-ext = *( BWS ";" BWS name
// [ BWS "=" BWS value ] ). Extensions are passed on, not interpreted.
HttpMessageReader::Result HttpMessageReader::feedChunkLine(QByteArrayView data,
                                                           qsizetype *consumed) {
    const qsizetype newline = data.indexOf('\n');
    const qsizetype take = newline < 0 ? data.size() : newline + 1;
    if (m_line.size() + take > m_limits.maxChunkLineBytes)
        return fail(QStringLiteral("a chunk-size line longer than %1 bytes")
                        .arg(m_limits.maxChunkLineBytes));
    m_line.append(data.first(take));
    *consumed = take;
    if (newline < 0)
        return Result::NeedMore;

    QByteArrayView line(m_line);
    line.chop(1);
    if (line.endsWith('\r'))
        line.chop(1);
    const QString bad =
        QStringLiteral("the chunk-size line '%1' is not a hexadecimal size (RFC 9112 §7.1)")
            .arg(printableExcerpt(line));
    qint64 size = 0;
    qsizetype digits = 0;
    for (; digits < line.size(); ++digits) {
        const int value = hexValue(line[digits]);
        if (value < 0)
            break;
        if (size > (std::numeric_limits<qint64>::max() >> 4))
            return fail(
                QStringLiteral("the chunk size in '%1' is too large").arg(printableExcerpt(line)));
        size = size * 16 + value;
    }
    if (digits == 0)
        return fail(bad);
    QByteArrayView extensions = line.sliced(digits);
    while (!extensions.isEmpty() && (extensions.front() == ' ' || extensions.front() == '\t'))
        extensions = extensions.sliced(1);
    if (!extensions.isEmpty() && extensions.front() != ';')
        return fail(bad);
    for (char c : extensions) {
        const auto byte = static_cast<unsigned char>(c);
        if ((byte < 0x20 && c != '\t') || byte == 0x7f)
            return fail(bad);
    }
    m_line.clear();
    if (size > 0) {
        m_remaining = size;
        m_state = State::ChunkData;
        return Result::NeedMore;
    }
    // The last chunk: the trailer section follows.
    const QByteArrayView startLine = trailerStartLine(m_kind);
    m_trailers.emplace(headKind(m_kind), m_limits.maxHeadBytes + startLine.size(),
                       m_limits.maxHeaderFields);
    qsizetype ignored = 0;
    m_trailers->feed(startLine, &ignored);
    m_state = State::Trailers;
    return Result::NeedMore;
}

// The CRLF that ends a chunk's data (a bare LF is taken, as for every line).
HttpMessageReader::Result HttpMessageReader::feedChunkEnd(QByteArrayView data,
                                                          qsizetype *consumed) {
    for (const char c : data) {
        ++*consumed;
        if (c == '\n') {
            m_line.clear();
            m_state = State::ChunkLine;
            return Result::NeedMore;
        }
        if (c != '\r' || !m_line.isEmpty())
            return fail(QStringLiteral("a chunk's data is not followed by CRLF (RFC 9112 §7.1)"));
        m_line.append(c);
    }
    return Result::NeedMore;
}

HttpMessageReader::Result HttpMessageReader::feedTrailers(QByteArrayView data,
                                                          qsizetype *consumed) {
    switch (m_trailers->feed(data, consumed)) {
    case HeaderBlockReader::Result::NeedMore:
        return Result::NeedMore;
    case HeaderBlockReader::Result::Complete:
        return messageComplete();
    case HeaderBlockReader::Result::Malformed:
        return fail(QStringLiteral("in the trailer section: %1").arg(m_trailers->errorString()));
    case HeaderBlockReader::Result::TooLarge:
    case HeaderBlockReader::Result::TooManyFields:
        return fail(QStringLiteral("the trailer section is larger than %1 bytes or has more "
                                   "than %2 fields")
                        .arg(m_limits.maxHeadBytes)
                        .arg(m_limits.maxHeaderFields));
    }
    return fail(QStringLiteral("unexpected result from the header reader"));
}

HttpMessageReader::Result HttpMessageReader::messageComplete() {
    m_state = m_switches ? State::Switched : State::Head;
    m_headBytes = 0;
    return Result::MessageComplete;
}

HttpMessageReader::Result HttpMessageReader::endOfStream() {
    switch (m_state) {
    case State::Head:
        if (m_headBytes == 0)
            return Result::EndOfStream;
        return fail(QStringLiteral("the stream ended inside a message's head"));
    case State::Body:
        if (m_bodyKind == BodyKind::UntilClose)
            return messageComplete();
        return fail(QStringLiteral("the stream ended %1 bytes before the end of the body")
                        .arg(m_remaining));
    case State::BodyDone:
        return messageComplete();
    case State::Switched:
        return Result::EndOfStream;
    case State::Failed:
        return Result::Error;
    case State::ChunkLine:
    case State::ChunkData:
    case State::ChunkEnd:
    case State::Trailers:
        break;
    }
    return fail(QStringLiteral("the stream ended inside a chunked body"));
}

HttpHeaders HttpMessageReader::trailers() const {
    return m_trailers ? m_trailers->headers() : HttpHeaders();
}

HttpMessageReader::Result HttpMessageReader::fail(QString why) {
    m_error = std::move(why);
    m_state = State::Failed;
    return Result::Error;
}

} // namespace ws

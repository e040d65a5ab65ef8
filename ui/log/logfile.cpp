#include "logfile.h"

#include "protocol/opcode.h"
#include "wswversion.h"

#include <QDateTime>
#include <QFile>
#include <QHostAddress>
#include <QIODevice>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>
#include <QUrl>
#include <QUrlQuery>

#include <algorithm>
#include <map>
#include <vector>

namespace ws {

namespace {

constexpr const char *FormatName = "wsworkbench-log";
// Integers above 2^53 do not survive a trip through a JSON number read as a double
// by other tools; they are written as decimal strings.
constexpr quint64 MaxExactJsonInteger = quint64(1) << 53;

void setError(QString *error, const QString &text) {
    if (error)
        *error = text;
}

std::optional<quint64> u64FromJson(const QJsonValue &value) {
    if (value.isString()) {
        bool ok = false;
        const quint64 v = value.toString().toULongLong(&ok);
        return ok ? std::optional<quint64>(v) : std::nullopt;
    }
    if (value.isDouble()) {
        const qint64 v = value.toInteger(-1);
        if (v < 0)
            return std::nullopt;
        return quint64(v);
    }
    return std::nullopt;
}

QString hexKey(quint32 key) {
    return QStringLiteral("%1").arg(key, 8, 16, QLatin1Char('0'));
}

const char *directionName(const LogRecord &r) {
    if (r.has(LogRecord::Undirected))
        return "none";
    return r.has(LogRecord::Outgoing) ? "sent" : "received";
}

const char *rowsName(const LogRecord &r) {
    const bool frame = r.has(LogRecord::InFrameView);
    const bool message = r.has(LogRecord::InMessageView);
    if (frame && message)
        return "both";
    if (frame)
        return "frame";
    if (message)
        return "message";
    return "none";
}

bool writeAll(QIODevice &device, const QByteArray &bytes, QString *error) {
    if (device.write(bytes) != bytes.size()) {
        setError(error, QObject::tr("Cannot write: %1").arg(device.errorString()));
        return false;
    }
    return true;
}

// Writers build their output in a buffer of about this size and hand it to the
// device a piece at a time, so a huge log is never one array in memory.
constexpr qsizetype WriteBufferSize = 1 << 20;

// Writes `buffer` once it has grown to WriteBufferSize and empties it.
bool flushWhenFull(QIODevice &device, QByteArray &buffer, QString *error) {
    if (buffer.size() < WriteBufferSize)
        return true;
    if (!writeAll(device, buffer, error))
        return false;
    buffer.clear();
    return true;
}

// Runs `write` on a file that replaces `path` only when everything was written, so
// a failed save leaves the old file as it was.
bool saveToFile(const QString &path, QString *error,
                const std::function<bool(QIODevice &device)> &write) {
    QSaveFile file(path);
    if (file.open(QIODevice::WriteOnly)) {
        if (!write(file)) {
            file.cancelWriting();
            return false;
        }
        if (file.commit())
            return true;
    }
    setError(error, QObject::tr("Cannot write %1: %2").arg(path, file.errorString()));
    return false;
}

bool readFromFile(const QString &path, QString *error,
                  const std::function<bool(QIODevice &device)> &read) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        setError(error, QObject::tr("Cannot open %1: %2").arg(path, file.errorString()));
        return false;
    }
    return read(file);
}

// Calls a read's progress callback every LogFile::ProgressInterval bytes rather than
// every line, so that a callback that updates a progress bar costs nothing measurable.
class ProgressReporter {
public:
    ProgressReporter(const QIODevice &device, const LogFile::Progress &progress)
        : m_progress(progress)
        , m_total(device.isSequential() ? -1 : device.size())
        , m_done(device.isSequential() ? 0 : device.pos())
        , m_reported(m_done) {}

    qint64 total() const { return m_total; }
    qint64 done() const { return m_done; }
    // False when the callback asked to stop.
    bool consumed(qint64 bytes) {
        m_done += bytes;
        if (m_done - m_reported < LogFile::ProgressInterval)
            return true;
        return report();
    }
    // For work after the last byte was read, which still has to be cancellable.
    bool report() {
        m_reported = m_done;
        return !m_progress || m_progress(m_done, m_total);
    }

private:
    const LogFile::Progress &m_progress;
    qint64 m_total;
    qint64 m_done;
    qint64 m_reported;
};

bool cancelled(QString *error) {
    setError(error, QObject::tr("cancelled"));
    return false;
}

// Base64 that must be valid: a damaged payload is an error, not a shorter payload.
std::optional<QByteArray> strictBase64(const QString &text) {
    auto decoded =
        QByteArray::fromBase64Encoding(text.toLatin1(), QByteArray::AbortOnBase64DecodingErrors);
    if (!decoded)
        return std::nullopt;
    return std::move(decoded.decoded);
}

// --- HTTP header blocks, for the HAR request and response ----------------------------

struct HttpHead {
    QList<QByteArray> startLine; // method, target, version / version, status, reason
    QList<QPair<QByteArray, QByteArray>> headers;
};

HttpHead parseHead(const QByteArray &raw) {
    HttpHead head;
    const QList<QByteArray> lines = raw.split('\n');
    bool first = true;
    for (QByteArray line : lines) {
        if (line.endsWith('\r'))
            line.chop(1);
        if (first) {
            first = false;
            // The reason phrase may contain spaces: split into at most three parts.
            const qsizetype a = line.indexOf(' ');
            const qsizetype b = a < 0 ? -1 : line.indexOf(' ', a + 1);
            if (a < 0) {
                head.startLine = {line};
            } else if (b < 0) {
                head.startLine = {line.left(a), line.mid(a + 1)};
            } else {
                head.startLine = {line.left(a), line.mid(a + 1, b - a - 1), line.mid(b + 1)};
            }
            continue;
        }
        if (line.isEmpty())
            break;
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0)
            continue;
        head.headers.append({line.left(colon).trimmed(), line.mid(colon + 1).trimmed()});
    }
    return head;
}

QJsonArray headersJson(const HttpHead &head) {
    QJsonArray array;
    for (const auto &h : head.headers)
        array.append(QJsonObject{{QStringLiteral("name"), QString::fromUtf8(h.first)},
                                 {QStringLiteral("value"), QString::fromUtf8(h.second)}});
    return array;
}

QByteArray headerValue(const QJsonArray &headers, QByteArrayView name) {
    for (const QJsonValue &h : headers) {
        const QJsonObject o = h.toObject();
        if (o.value(QStringLiteral("name"))
                .toString()
                .toUtf8()
                .compare(name, Qt::CaseInsensitive) == 0)
            return o.value(QStringLiteral("value")).toString().toUtf8();
    }
    return {};
}

QByteArray headBlock(const QByteArray &startLine, const QJsonArray &headers) {
    QByteArray block = startLine + "\r\n";
    for (const QJsonValue &h : headers) {
        const QJsonObject o = h.toObject();
        block += o.value(QStringLiteral("name")).toString().toUtf8() + ": " +
                 o.value(QStringLiteral("value")).toString().toUtf8() + "\r\n";
    }
    block += "\r\n";
    return block;
}

QString isoTime(qint64 us) {
    return QDateTime::fromMSecsSinceEpoch(us / 1000, Qt::UTC).toString(Qt::ISODateWithMs);
}

std::optional<qint64> parseIsoTime(const QString &text) {
    QDateTime time = QDateTime::fromString(text, Qt::ISODateWithMs);
    if (!time.isValid())
        time = QDateTime::fromString(text, Qt::ISODate);
    if (!time.isValid())
        return std::nullopt;
    return time.toMSecsSinceEpoch() * 1000;
}

QString statusText(int status) {
    switch (status) {
    case 101:
        return QStringLiteral("Switching Protocols");
    case 200:
        return QStringLiteral("OK");
    case 400:
        return QStringLiteral("Bad Request");
    case 403:
        return QStringLiteral("Forbidden");
    case 404:
        return QStringLiteral("Not Found");
    case 426:
        return QStringLiteral("Upgrade Required");
    default:
        return {};
    }
}

// A HAR holds handshakes and messages, never frames: every row is in both views.
LogRecord harRow(quint32 connection, qint64 timestampUs, LogKind kind) {
    LogRecord r;
    r.connection = connection;
    r.timestampUs = timestampUs;
    r.kind = kind;
    r.set(LogRecord::InFrameView);
    r.set(LogRecord::InMessageView);
    return r;
}

} // namespace

// --- records as JSON ---------------------------------------------------------------

namespace {

// Writes one JSON object straight into a byte array. A log line is written for
// every record, so this skips QJsonObject (about ten times faster on a million
// rows); recordToJson() reads the line back, so there is one format, not two.
class JsonWriter {
public:
    explicit JsonWriter(QByteArray &out)
        : m_out(out) {
        open('{');
    }
    ~JsonWriter() { close('}'); }
    JsonWriter(const JsonWriter &) = delete;
    JsonWriter &operator=(const JsonWriter &) = delete;

    void number(const char *key, qint64 value) {
        name(key);
        m_out += QByteArray::number(value);
    }
    // Integers above 2^53 do not survive readers that parse numbers as doubles.
    void u64(const char *key, quint64 value) {
        name(key);
        if (value <= MaxExactJsonInteger) {
            m_out += QByteArray::number(value);
        } else {
            m_out += '"';
            m_out += QByteArray::number(value);
            m_out += '"';
        }
    }
    void boolean(const char *key, bool value) {
        name(key);
        m_out += value ? "true" : "false";
    }
    // ASCII that needs no escaping (names of enums, hex, base64).
    void ascii(const char *key, QByteArrayView value) {
        name(key);
        m_out += '"';
        m_out += value;
        m_out += '"';
    }
    void string(const char *key, const QString &value) { utf8(key, value.toUtf8()); }
    // Bytes that may not be UTF-8 are written as QJsonDocument would write them
    // after QString::fromUtf8 (invalid sequences become U+FFFD).
    void text(const char *key, const QByteArray &bytes) {
        utf8(key, QString::fromUtf8(bytes).toUtf8());
    }
    void beginObject(const char *key) {
        name(key);
        open('{');
    }
    void endObject() { close('}'); }
    void beginArray(const char *key) {
        name(key);
        open('[');
    }
    void endArray() { close(']'); }
    // The next element of an array is an object.
    void beginElement() {
        separate();
        open('{');
    }

private:
    void open(char bracket) {
        m_out += bracket;
        m_first.push_back(true);
    }
    void close(char bracket) {
        m_out += bracket;
        m_first.pop_back();
    }
    void separate() {
        if (!m_first.back())
            m_out += ',';
        m_first.back() = false;
    }
    void name(const char *key) {
        separate();
        m_out += '"';
        m_out += key;
        m_out += "\":";
    }
    void utf8(const char *key, const QByteArray &value) {
        name(key);
        m_out += '"';
        for (const char c : value) {
            switch (c) {
            case '"':
                m_out += "\\\"";
                break;
            case '\\':
                m_out += "\\\\";
                break;
            case '\n':
                m_out += "\\n";
                break;
            case '\r':
                m_out += "\\r";
                break;
            case '\t':
                m_out += "\\t";
                break;
            default:
                if (quint8(c) < 0x20) {
                    static const char digits[] = "0123456789abcdef";
                    m_out += "\\u00";
                    m_out += digits[quint8(c) >> 4];
                    m_out += digits[quint8(c) & 0xF];
                } else {
                    m_out += c;
                }
            }
        }
        m_out += '"';
    }

    QByteArray &m_out;
    std::vector<bool> m_first;
};

// A raw HTTP head is kept as text when it is UTF-8 (it nearly always is ASCII), and
// in base64 otherwise so that no byte is lost.
void writeHead(JsonWriter &w, const char *textKey, const char *base64Key, const QByteArray &head) {
    if (QString::fromUtf8(head).toUtf8() == head)
        w.text(textKey, head);
    else
        w.ascii(base64Key, head.toBase64());
}

void appendRecordLine(QByteArray &out, const LogRecord &r, const LogRecordExtra *extra) {
    {
        JsonWriter w(out);
        w.ascii("type", "record");
        w.number("conn", r.connection);
        w.number("time_us", r.timestampUs);
        w.ascii("dir", directionName(r));
        w.ascii("kind", logKindName(r.kind));
        w.ascii("rows", rowsName(r));
        w.u64("length", r.length);
        if (r.isFrame()) {
            const FrameHeader h = r.header();
            w.beginObject("frame");
            w.boolean("fin", h.fin);
            w.boolean("rsv1", h.rsv1);
            w.boolean("rsv2", h.rsv2);
            w.boolean("rsv3", h.rsv3);
            w.number("opcode", h.opcode);
            w.ascii("opcode_name", opcodeName(h.opcode));
            w.boolean("mask", h.masked());
            if (h.maskingKey)
                w.ascii("key", hexKey(*h.maskingKey).toLatin1());
            w.u64("length", h.payloadLength);
            w.number("length_encoding", int(h.lengthEncoding));
            w.ascii("header", serializeHeader(h).toByteArray().toHex());
            w.endObject();
        }
        if (r.frameCount != 0)
            w.number("frames", r.frameCount);
        if (r.has(LogRecord::Compressed))
            w.boolean("compressed", true);
        w.number("payload_length", r.payload.size());
        if (!r.payload.isEmpty())
            w.ascii("payload", r.payload.toBase64());
        if (r.has(LogRecord::HasCloseCode))
            w.number("close_code", r.closeCode);
        if (r.kind == LogKind::Close || r.has(LogRecord::ClosedSummary))
            w.text("close_reason", r.closeReason());
        if (r.has(LogRecord::HasRoundTrip))
            w.number("rtt_us", r.roundTripUs);
        if (r.has(LogRecord::PingAnswered))
            w.boolean("answered", true);
        if (r.kind == LogKind::State)
            w.ascii("state", stateName(r.state()));
        if (r.has(LogRecord::ClosedSummary)) {
            w.boolean("summary", true);
            w.boolean("clean", r.has(LogRecord::CleanClose));
            w.boolean("closed_by_us", r.has(LogRecord::ClosedByUs));
        }
        if (r.has(LogRecord::Failure))
            w.boolean("failure", true);
        if (extra) {
            if (!extra->notes.isEmpty()) {
                w.beginArray("notes");
                for (const ConformanceNote &note : extra->notes) {
                    w.beginElement();
                    w.ascii("kind", noteKindName(note.kind));
                    w.string("text", note.text);
                    w.number("offset", note.streamOffset);
                    w.endObject();
                }
                w.endArray();
            }
            if (extra->error) {
                w.ascii("error", errorName(*extra->error));
                w.text("error_text", r.payload);
            }
            if (extra->streamOffset >= 0)
                w.number("stream_offset", extra->streamOffset);
            if (r.kind == LogKind::Handshake) {
                w.beginObject("handshake");
                w.ascii("kind", handshakeKindName(extra->handshakeKind));
                writeHead(w, "request", "request_base64", extra->rawRequest);
                writeHead(w, "response", "response_base64", extra->rawResponse);
                w.number("status", extra->httpStatus);
                w.text("subprotocol", extra->subprotocol);
                w.text("extensions", extra->extensions);
                w.string("error", extra->handshakeError);
                w.endObject();
            }
        }
    }
    out += '\n';
}

QByteArray headFromJson(const QJsonObject &o, const QString &textKey, const QString &base64Key) {
    if (const QJsonValue b = o.value(base64Key); b.isString())
        return QByteArray::fromBase64(b.toString().toLatin1());
    return o.value(textKey).toString().toUtf8();
}

} // namespace

QJsonObject LogFile::recordToJson(const LogRecord &r, const LogRecordExtra *extra) {
    QByteArray line;
    appendRecordLine(line, r, extra);
    return QJsonDocument::fromJson(line).object();
}

bool LogFile::recordFromJson(const QJsonObject &o, LogRecord &r, LogRecordExtra &extra,
                             QString *error) {
    r = LogRecord{};
    extra = LogRecordExtra{};
    const auto fail = [error](const QString &why) {
        setError(error, why);
        return false;
    };
    const QJsonValue conn = o.value(QStringLiteral("conn"));
    const QJsonValue time = o.value(QStringLiteral("time_us"));
    if (!conn.isDouble() || !time.isDouble())
        return fail(QObject::tr("a record needs \"conn\" and \"time_us\""));
    r.connection = quint32(conn.toInteger());
    r.timestampUs = time.toInteger();

    const auto kind = logKindFromName(o.value(QStringLiteral("kind")).toString().toLatin1());
    if (!kind)
        return fail(
            QObject::tr("unknown kind \"%1\"").arg(o.value(QStringLiteral("kind")).toString()));
    r.kind = *kind;

    const QString dir = o.value(QStringLiteral("dir")).toString();
    if (dir == QLatin1String("sent"))
        r.set(LogRecord::Outgoing);
    else if (dir == QLatin1String("none"))
        r.set(LogRecord::Undirected);
    else if (dir != QLatin1String("received"))
        return fail(QObject::tr("unknown direction \"%1\"").arg(dir));

    const QString rows = o.value(QStringLiteral("rows")).toString(QStringLiteral("both"));
    r.set(LogRecord::InFrameView, rows == QLatin1String("both") || rows == QLatin1String("frame"));
    r.set(LogRecord::InMessageView,
          rows == QLatin1String("both") || rows == QLatin1String("message"));

    if (const QJsonValue frameValue = o.value(QStringLiteral("frame")); frameValue.isObject()) {
        const QJsonObject f = frameValue.toObject();
        FrameHeader h;
        h.fin = f.value(QStringLiteral("fin")).toBool();
        h.rsv1 = f.value(QStringLiteral("rsv1")).toBool();
        h.rsv2 = f.value(QStringLiteral("rsv2")).toBool();
        h.rsv3 = f.value(QStringLiteral("rsv3")).toBool();
        h.opcode = quint8(f.value(QStringLiteral("opcode")).toInt() & 0x0F);
        if (f.value(QStringLiteral("mask")).toBool()) {
            bool ok = false;
            const quint32 key = f.value(QStringLiteral("key")).toString().toUInt(&ok, 16);
            if (!ok)
                return fail(QObject::tr("a masked frame needs its \"key\""));
            h.maskingKey = key;
        }
        const auto length = u64FromJson(f.value(QStringLiteral("length")));
        if (!length)
            return fail(QObject::tr("a frame needs its \"length\""));
        h.payloadLength = *length;
        // The encoding is named by its number of length bits (LengthEncoding's values).
        const int lengthBits = f.value(QStringLiteral("length_encoding")).toInt(7);
        if (lengthBits != int(LengthEncoding::Short7) &&
            lengthBits != int(LengthEncoding::Extended16) &&
            lengthBits != int(LengthEncoding::Extended64))
            return fail(QObject::tr("\"length_encoding\" must be 7, 16 or 64"));
        h.lengthEncoding = static_cast<LengthEncoding>(lengthBits);
        r.setHeader(h);
    }
    if (const auto length = u64FromJson(o.value(QStringLiteral("length"))))
        r.length = *length;

    r.frameCount = quint32(o.value(QStringLiteral("frames")).toInteger(0));
    r.set(LogRecord::Compressed, o.value(QStringLiteral("compressed")).toBool());
    if (const QJsonValue payload = o.value(QStringLiteral("payload")); payload.isString()) {
        auto decoded = strictBase64(payload.toString());
        if (!decoded)
            return fail(QObject::tr("\"payload\" is not base64"));
        r.payload = std::move(*decoded);
    }
    if (const QJsonValue code = o.value(QStringLiteral("close_code")); code.isDouble()) {
        r.closeCode = quint16(code.toInt());
        r.set(LogRecord::HasCloseCode);
    }
    if (const QJsonValue rtt = o.value(QStringLiteral("rtt_us")); rtt.isDouble()) {
        r.roundTripUs = rtt.toInteger();
        r.set(LogRecord::HasRoundTrip);
    }
    r.set(LogRecord::PingAnswered, o.value(QStringLiteral("answered")).toBool());
    if (r.kind == LogKind::State) {
        const auto state =
            sessionStateFromName(o.value(QStringLiteral("state")).toString().toLatin1());
        if (!state)
            return fail(QObject::tr("a state row needs a known \"state\""));
        r.headerByte0 = static_cast<quint8>(*state);
    }
    r.set(LogRecord::ClosedSummary, o.value(QStringLiteral("summary")).toBool());
    r.set(LogRecord::CleanClose, o.value(QStringLiteral("clean")).toBool());
    r.set(LogRecord::ClosedByUs, o.value(QStringLiteral("closed_by_us")).toBool());
    r.set(LogRecord::Failure, o.value(QStringLiteral("failure")).toBool());

    if (const QJsonValue notes = o.value(QStringLiteral("notes")); notes.isArray()) {
        for (const QJsonValue &n : notes.toArray()) {
            const QJsonObject no = n.toObject();
            const auto noteKind =
                noteKindFromName(no.value(QStringLiteral("kind")).toString().toLatin1());
            if (!noteKind)
                return fail(QObject::tr("unknown note kind \"%1\"")
                                .arg(no.value(QStringLiteral("kind")).toString()));
            ConformanceNote note;
            note.kind = *noteKind;
            note.text = no.value(QStringLiteral("text")).toString();
            note.streamOffset = no.value(QStringLiteral("offset")).toInteger(-1);
            extra.notes.append(note);
        }
        r.set(LogRecord::HasNotes, !extra.notes.isEmpty());
    }
    if (const QJsonValue e = o.value(QStringLiteral("error")); e.isString()) {
        const auto protocolError = protocolErrorFromName(e.toString().toLatin1());
        if (!protocolError)
            return fail(QObject::tr("unknown error \"%1\"").arg(e.toString()));
        extra.error = *protocolError;
    }
    extra.streamOffset = o.value(QStringLiteral("stream_offset")).toInteger(-1);
    if (const QJsonValue hv = o.value(QStringLiteral("handshake")); hv.isObject()) {
        const QJsonObject h = hv.toObject();
        const auto handshakeKind =
            handshakeKindFromName(h.value(QStringLiteral("kind")).toString().toLatin1());
        if (!handshakeKind)
            return fail(QObject::tr("unknown handshake kind \"%1\"")
                            .arg(h.value(QStringLiteral("kind")).toString()));
        extra.handshakeKind = *handshakeKind;
        extra.rawRequest =
            headFromJson(h, QStringLiteral("request"), QStringLiteral("request_base64"));
        extra.rawResponse =
            headFromJson(h, QStringLiteral("response"), QStringLiteral("response_base64"));
        extra.httpStatus = h.value(QStringLiteral("status")).toInt();
        extra.subprotocol = h.value(QStringLiteral("subprotocol")).toString().toUtf8();
        extra.extensions = h.value(QStringLiteral("extensions")).toString().toUtf8();
        extra.handshakeError = h.value(QStringLiteral("error")).toString();
    }
    return true;
}

// --- JSON Lines --------------------------------------------------------------------

bool LogFile::saveJsonLines(const LogStore &store, QIODevice &device, QString *error,
                            const Selection &selection) {
    const QJsonObject header{
        {QStringLiteral("format"), QLatin1String(FormatName)},
        {QStringLiteral("version"), FormatVersion},
        {QStringLiteral("creator"), QStringLiteral("WebSocket Workbench " WSW_VERSION)}};
    if (!writeAll(device, QJsonDocument(header).toJson(QJsonDocument::Compact) + '\n', error))
        return false;
    QList<quint32> ids = store.connections().keys();
    std::sort(ids.begin(), ids.end());
    for (const quint32 id : std::as_const(ids)) {
        const ConnectionInfo info = store.connectionInfo(id);
        const QJsonObject c{{QStringLiteral("type"), QStringLiteral("connection")},
                            {QStringLiteral("id"), qint64(id)},
                            {QStringLiteral("name"), info.name},
                            {QStringLiteral("url"), info.url}};
        if (!writeAll(device, QJsonDocument(c).toJson(QJsonDocument::Compact) + '\n', error))
            return false;
    }
    QByteArray buffer;
    buffer.reserve(WriteBufferSize);
    for (qsizetype i = 0; i < store.size(); ++i) {
        if (selection && !selection(i))
            continue;
        const LogRecord &r = store.at(i);
        appendRecordLine(buffer, r, store.extraOf(r, i));
        if (!flushWhenFull(device, buffer, error))
            return false;
    }
    return writeAll(device, buffer, error);
}

bool LogFile::saveJsonLines(const LogStore &store, const QString &path, QString *error,
                            const Selection &selection) {
    return saveToFile(path, error, [&](QIODevice &device) {
        return saveJsonLines(store, device, error, selection);
    });
}

bool LogFile::openJsonLines(QIODevice &device, LogStore &store, QString *error,
                            const Progress &progress) {
    // A store cannot give records back from its end, and clearing it would lose what
    // it held before: a cancellable read into a store that is not empty goes through
    // a scratch store and reaches the real one only once the file is read whole.
    if (progress && (!store.isEmpty() || !store.connections().isEmpty())) {
        LogStore scratch;
        if (!openJsonLines(device, scratch, error, progress))
            return false;
        for (auto it = scratch.connections().cbegin(); it != scratch.connections().cend(); ++it)
            store.setConnectionInfo(it.key(), it.value());
        for (qsizetype i = 0; i < scratch.size(); ++i) {
            const LogRecordExtra *extra = scratch.extra(i);
            store.appendRecord(scratch.at(i), extra ? *extra : LogRecordExtra{});
        }
        return true;
    }
    ProgressReporter reporter(device, progress);
    const auto cancel = [&] {
        store.clear();
        return cancelled(error);
    };
    qint64 lineNumber = 0;
    bool sawHeader = false;
    LogRecord record;
    LogRecordExtra extra;
    while (!device.atEnd()) {
        QByteArray line = device.readLine();
        ++lineNumber;
        if (!reporter.consumed(line.size()))
            return cancel();
        if (line.trimmed().isEmpty())
            continue;
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(line, &parseError);
        if (parseError.error != QJsonParseError::NoError || !doc.isObject()) {
            setError(error, QObject::tr("line %1: not a JSON object (%2)")
                                .arg(lineNumber)
                                .arg(parseError.errorString()));
            return false;
        }
        const QJsonObject o = doc.object();
        if (!sawHeader) {
            if (o.value(QStringLiteral("format")).toString() != QLatin1String(FormatName)) {
                setError(error, QObject::tr("not a WebSocket Workbench log"));
                return false;
            }
            if (o.value(QStringLiteral("version")).toInt() > FormatVersion) {
                setError(error, QObject::tr("log format version %1 is newer than this program's %2")
                                    .arg(o.value(QStringLiteral("version")).toInt())
                                    .arg(FormatVersion));
                return false;
            }
            sawHeader = true;
            continue;
        }
        const QString type = o.value(QStringLiteral("type")).toString();
        if (type == QLatin1String("connection")) {
            store.setConnectionInfo(quint32(o.value(QStringLiteral("id")).toInteger()),
                                    {o.value(QStringLiteral("name")).toString(),
                                     o.value(QStringLiteral("url")).toString()});
        } else if (type == QLatin1String("record")) {
            QString why;
            if (!recordFromJson(o, record, extra, &why)) {
                setError(error, QObject::tr("line %1: %2").arg(lineNumber).arg(why));
                return false;
            }
            store.appendRecord(record, extra);
        }
        // Other line types are from a newer writer; they carry nothing we can show.
    }
    if (!reporter.report())
        return cancel();
    if (!sawHeader) {
        setError(error, QObject::tr("empty file"));
        return false;
    }
    return true;
}

bool LogFile::openJsonLines(const QString &path, LogStore &store, QString *error,
                            const Progress &progress) {
    return readFromFile(path, error, [&](QIODevice &device) {
        return openJsonLines(device, store, error, progress);
    });
}

// --- HAR ---------------------------------------------------------------------------

bool LogFile::exportHar(const LogStore &store, QIODevice &device, QString *error,
                        const Selection &selection) {
    struct Connection {
        qsizetype handshake = -1;
        qsizetype first = -1;
        std::vector<qsizetype> messages;
    };
    std::map<quint32, Connection> connections;
    for (qsizetype i = 0; i < store.size(); ++i) {
        if (selection && !selection(i))
            continue;
        const LogRecord &r = store.at(i);
        Connection &c = connections[r.connection];
        if (c.first < 0)
            c.first = i;
        if (r.kind == LogKind::Handshake && c.handshake < 0)
            c.handshake = i;
        // Chrome lists data messages (opcode 1 and 2) and errors, not control frames.
        const bool dataMessage = (r.kind == LogKind::Text || r.kind == LogKind::Binary) &&
                                 r.has(LogRecord::InMessageView);
        if (dataMessage || r.kind == LogKind::Error)
            c.messages.push_back(i);
    }

    const QJsonObject creator{{QStringLiteral("name"), QStringLiteral("WebSocket Workbench")},
                              {QStringLiteral("version"), QStringLiteral(WSW_VERSION)}};
    QByteArray out = "{\"log\":{\"version\":\"1.2\",\"creator\":" +
                     QJsonDocument(creator).toJson(QJsonDocument::Compact) +
                     ",\"pages\":[],\"entries\":[";
    bool firstEntry = true;
    for (const auto &[id, c] : connections) {
        const ConnectionInfo info = store.connectionInfo(id);
        const LogRecordExtra *hs = c.handshake >= 0 ? store.extra(c.handshake) : nullptr;
        const HttpHead request = parseHead(hs ? hs->rawRequest : QByteArray());
        const HttpHead response = parseHead(hs ? hs->rawResponse : QByteArray());
        const QByteArray target = request.startLine.value(1, "/");

        QString url = info.url;
        if (url.isEmpty()) {
            QByteArray host;
            for (const auto &h : request.headers) {
                if (h.first.compare("host", Qt::CaseInsensitive) == 0)
                    host = h.second;
            }
            url = QStringLiteral("ws://%1%2")
                      .arg(QString::fromUtf8(host.isEmpty() ? QByteArray("localhost") : host),
                           QString::fromUtf8(target));
        }
        const QUrl parsedUrl(url);
        QJsonArray queryString;
        for (const auto &item : QUrlQuery(parsedUrl).queryItems(QUrl::FullyDecoded))
            queryString.append(QJsonObject{{QStringLiteral("name"), item.first},
                                           {QStringLiteral("value"), item.second}});

        int status = 0;
        QString reason;
        if (response.startLine.size() >= 2) {
            status = response.startLine.at(1).toInt();
            reason = QString::fromUtf8(response.startLine.value(2));
        } else if (hs && hs->httpStatus != 0) {
            status = hs->httpStatus;
        } else {
            status = 101; // a log without the handshake still held an open WebSocket
        }
        if (reason.isEmpty())
            reason = statusText(status);

        const qsizetype startIndex = c.handshake >= 0 ? c.handshake : c.first;
        const qint64 startUs = store.at(startIndex).timestampUs;

        QJsonObject requestJson{
            {QStringLiteral("method"),
             QString::fromUtf8(request.startLine.value(0, QByteArray("GET")))},
            {QStringLiteral("url"), url},
            {QStringLiteral("httpVersion"),
             QString::fromUtf8(request.startLine.value(2, QByteArray("HTTP/1.1")))},
            {QStringLiteral("headers"), headersJson(request)},
            {QStringLiteral("queryString"), queryString},
            {QStringLiteral("cookies"), QJsonArray()},
            {QStringLiteral("headersSize"),
             hs && !hs->rawRequest.isEmpty() ? qint64(hs->rawRequest.size()) : qint64(-1)},
            {QStringLiteral("bodySize"), 0},
        };
        QJsonObject responseJson{
            {QStringLiteral("status"), status},
            {QStringLiteral("statusText"), reason},
            {QStringLiteral("httpVersion"),
             QString::fromUtf8(response.startLine.value(0, QByteArray("HTTP/1.1")))},
            {QStringLiteral("headers"), headersJson(response)},
            {QStringLiteral("cookies"), QJsonArray()},
            {QStringLiteral("content"),
             QJsonObject{{QStringLiteral("size"), 0},
                         {QStringLiteral("mimeType"), QStringLiteral("x-unknown")}}},
            {QStringLiteral("redirectURL"), QString()},
            {QStringLiteral("headersSize"),
             hs && !hs->rawResponse.isEmpty() ? qint64(hs->rawResponse.size()) : qint64(-1)},
            {QStringLiteral("bodySize"), 0},
            {QStringLiteral("_transferSize"), 0},
            {QStringLiteral("_error"), QJsonValue::Null},
        };
        QJsonObject entry{
            {QStringLiteral("_initiator"),
             QJsonObject{{QStringLiteral("type"), QStringLiteral("other")}}},
            {QStringLiteral("_priority"), QJsonValue::Null},
            {QStringLiteral("_resourceType"), QStringLiteral("websocket")},
            {QStringLiteral("cache"), QJsonObject()},
            {QStringLiteral("connection"), QString::number(id)},
            {QStringLiteral("request"), requestJson},
            {QStringLiteral("response"), responseJson},
            {QStringLiteral("startedDateTime"), isoTime(startUs)},
            {QStringLiteral("time"), 0},
            {QStringLiteral("timings"), QJsonObject{{QStringLiteral("blocked"), -1},
                                                    {QStringLiteral("dns"), -1},
                                                    {QStringLiteral("ssl"), -1},
                                                    {QStringLiteral("connect"), -1},
                                                    {QStringLiteral("send"), 0},
                                                    {QStringLiteral("wait"), 0},
                                                    {QStringLiteral("receive"), 0},
                                                    {QStringLiteral("_blocked_queueing"), -1}}},
        };
        if (const QHostAddress address(parsedUrl.host()); !address.isNull())
            entry.insert(QStringLiteral("serverIPAddress"), address.toString());

        // The messages are streamed after the rest of the entry: the entry's JSON is
        // written without its closing brace and the array follows.
        QByteArray entryJson = QJsonDocument(entry).toJson(QJsonDocument::Compact);
        entryJson.chop(1);
        out += (firstEntry ? "" : ",") + entryJson + ",\"_webSocketMessages\":[";
        firstEntry = false;
        bool firstMessage = true;
        for (const qsizetype i : c.messages) {
            const LogRecord &r = store.at(i);
            QJsonObject m;
            if (r.kind == LogKind::Error) {
                // What Chrome writes for webSocketFrameError.
                m.insert(QStringLiteral("type"), QStringLiteral("error"));
                m.insert(QStringLiteral("time"), double(r.timestampUs) / 1e6);
                m.insert(QStringLiteral("opcode"), -1);
                m.insert(QStringLiteral("data"), QString::fromUtf8(r.payload));
            } else {
                m.insert(QStringLiteral("type"), r.has(LogRecord::Outgoing)
                                                     ? QStringLiteral("send")
                                                     : QStringLiteral("receive"));
                m.insert(QStringLiteral("time"), double(r.timestampUs) / 1e6);
                const bool text = r.kind == LogKind::Text;
                m.insert(QStringLiteral("opcode"), text ? 1 : 2);
                // Chrome's payloadData: UTF-8 text for opcode 1, base64 otherwise.
                m.insert(QStringLiteral("data"), text ? QString::fromUtf8(r.payload)
                                                      : QString::fromLatin1(r.payload.toBase64()));
            }
            out += (firstMessage ? "" : ",") + QJsonDocument(m).toJson(QJsonDocument::Compact);
            firstMessage = false;
            if (!flushWhenFull(device, out, error))
                return false;
        }
        out += "]}";
    }
    out += "]}}\n";
    return writeAll(device, out, error);
}

bool LogFile::exportHar(const LogStore &store, const QString &path, QString *error,
                        const Selection &selection) {
    return saveToFile(
        path, error, [&](QIODevice &device) { return exportHar(store, device, error, selection); });
}

bool LogFile::importHar(QIODevice &device, LogStore &store, QString *error,
                        const Progress &progress) {
    // A HAR is one JSON document by definition; Chrome's are read whole, a piece at a
    // time so that the reading can report progress.
    ProgressReporter reporter(device, progress);
    QByteArray bytes;
    if (reporter.total() > reporter.done())
        bytes.reserve(reporter.total() - reporter.done());
    for (;;) {
        const qsizetype old = bytes.size();
        bytes.resize(old + ProgressInterval);
        const qint64 read = device.read(bytes.data() + old, ProgressInterval);
        bytes.resize(old + qsizetype(std::max<qint64>(read, 0)));
        if (read <= 0)
            break;
        if (!reporter.consumed(read))
            return cancelled(error);
    }
    if (!reporter.report())
        return cancelled(error);
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &parseError);
    bytes.clear();
    if (parseError.error != QJsonParseError::NoError) {
        setError(error, QObject::tr("not JSON: %1 at offset %2")
                            .arg(parseError.errorString())
                            .arg(parseError.offset));
        return false;
    }
    const QJsonValue entriesValue =
        doc.object().value(QStringLiteral("log")).toObject().value(QStringLiteral("entries"));
    if (!entriesValue.isArray()) {
        setError(error, QObject::tr("not a HAR file: no log.entries"));
        return false;
    }

    struct Imported {
        LogRecord record;
        LogRecordExtra extra;
    };
    std::vector<Imported> imported;
    // The store is touched only once every entry has been read, so that a cancelled
    // import leaves nothing in it.
    std::vector<std::pair<quint32, ConnectionInfo>> connections;
    // Rows converted between two chances to cancel.
    constexpr size_t RowsBetweenReports = 4096;
    size_t rowsAtLastReport = 0;
    quint32 nextId = store.unusedConnectionId();
    for (const QJsonValue &entryValue : entriesValue.toArray()) {
        const QJsonObject entry = entryValue.toObject();
        const QJsonObject request = entry.value(QStringLiteral("request")).toObject();
        const QJsonObject response = entry.value(QStringLiteral("response")).toObject();
        const QString url = request.value(QStringLiteral("url")).toString();
        const QUrl parsedUrl(url);
        const bool webSocket =
            entry.value(QStringLiteral("_resourceType")).toString() == QLatin1String("websocket") ||
            parsedUrl.scheme() == QLatin1String("ws") || parsedUrl.scheme() == QLatin1String("wss");
        if (!webSocket)
            continue;
        if (imported.size() - rowsAtLastReport >= RowsBetweenReports) {
            rowsAtLastReport = imported.size();
            if (!reporter.report())
                return cancelled(error);
        }
        const quint32 id = nextId++;
        QString name = parsedUrl.host();
        if (parsedUrl.port() > 0)
            name += QLatin1Char(':') + QString::number(parsedUrl.port());
        name += parsedUrl.path(QUrl::FullyEncoded);
        connections.emplace_back(id, ConnectionInfo{name, url});

        const qint64 startUs =
            parseIsoTime(entry.value(QStringLiteral("startedDateTime")).toString()).value_or(0);

        // The handshake as the browser sent and received it.
        Imported hs{harRow(id, startUs, LogKind::Handshake), {}};
        QByteArray target = parsedUrl.path(QUrl::FullyEncoded).toUtf8();
        if (target.isEmpty())
            target = "/";
        if (parsedUrl.hasQuery())
            target += '?' + parsedUrl.query(QUrl::FullyEncoded).toUtf8();
        const QJsonArray requestHeaders = request.value(QStringLiteral("headers")).toArray();
        const QJsonArray responseHeaders = response.value(QStringLiteral("headers")).toArray();
        const int status = response.value(QStringLiteral("status")).toInt();
        hs.extra.rawRequest = headBlock(
            request.value(QStringLiteral("method")).toString(QStringLiteral("GET")).toUtf8() + ' ' +
                target + ' ' +
                request.value(QStringLiteral("httpVersion"))
                    .toString(QStringLiteral("HTTP/1.1"))
                    .toUtf8(),
            requestHeaders);
        hs.extra.rawResponse =
            headBlock(response.value(QStringLiteral("httpVersion"))
                              .toString(QStringLiteral("HTTP/1.1"))
                              .toUtf8() +
                          ' ' + QByteArray::number(status) + ' ' +
                          response.value(QStringLiteral("statusText")).toString().toUtf8(),
                      responseHeaders);
        hs.extra.httpStatus = status;
        hs.extra.subprotocol = headerValue(responseHeaders, "Sec-WebSocket-Protocol");
        hs.extra.extensions = headerValue(responseHeaders, "Sec-WebSocket-Extensions");
        if (status == 101) {
            hs.extra.handshakeKind = HandshakeEvent::Kind::ClientAccepted;
            hs.record.set(LogRecord::Outgoing);
        } else {
            hs.extra.handshakeKind = HandshakeEvent::Kind::Failed;
            hs.extra.handshakeError =
                response.value(QStringLiteral("_error"))
                    .toString(QObject::tr("the server answered %1").arg(status));
            hs.record.set(LogRecord::Undirected);
            hs.record.set(LogRecord::Failure);
        }
        hs.record.length = quint64(hs.extra.rawRequest.size() + hs.extra.rawResponse.size());
        imported.push_back(std::move(hs));

        for (const QJsonValue &messageValue :
             entry.value(QStringLiteral("_webSocketMessages")).toArray()) {
            if (imported.size() - rowsAtLastReport >= RowsBetweenReports) {
                rowsAtLastReport = imported.size();
                if (!reporter.report())
                    return cancelled(error);
            }
            const QJsonObject m = messageValue.toObject();
            const QString type = m.value(QStringLiteral("type")).toString();
            const QJsonValue timeValue = m.value(QStringLiteral("time"));
            qint64 us = startUs;
            if (timeValue.isDouble())
                us = qint64(std::llround(timeValue.toDouble() * 1e6));
            else if (timeValue.isString())
                us = parseIsoTime(timeValue.toString()).value_or(startUs);
            const int opcode = m.value(QStringLiteral("opcode")).toInt(1);
            const QString data = m.value(QStringLiteral("data")).toString();

            const bool isError = type == QLatin1String("error");
            Imported row{
                harRow(id, us, isError ? LogKind::Error : logKindForOpcode(quint8(opcode))), {}};
            LogRecord &r = row.record;
            if (isError) {
                r.payload = data.toUtf8();
                r.set(LogRecord::Failure);
                r.length = quint64(r.payload.size());
                imported.push_back(std::move(row));
                continue;
            }
            r.set(LogRecord::Outgoing, type == QLatin1String("send"));
            r.payload = data.toUtf8();
            if (opcode == 2) {
                // Chrome's payloadData is base64 for binary messages. (Other tools that
                // put control frames here write their payload as text.)
                if (auto decoded = strictBase64(data))
                    r.payload = std::move(*decoded);
            }
            if (r.kind == LogKind::Close && r.payload.size() >= 2) {
                r.closeCode = quint16((quint8(r.payload[0]) << 8) | quint8(r.payload[1]));
                r.set(LogRecord::HasCloseCode);
            }
            r.length = quint64(r.payload.size());
            imported.push_back(std::move(row));
        }
    }
    // One timeline across connections, each connection's own order kept.
    std::stable_sort(imported.begin(), imported.end(), [](const Imported &a, const Imported &b) {
        return a.record.timestampUs < b.record.timestampUs;
    });
    if (!reporter.report())
        return cancelled(error);
    for (const auto &[id, info] : connections)
        store.setConnectionInfo(id, info);
    for (const Imported &i : imported)
        store.appendRecord(i.record, i.extra);
    return true;
}

bool LogFile::importHar(const QString &path, LogStore &store, QString *error,
                        const Progress &progress) {
    return readFromFile(
        path, error, [&](QIODevice &device) { return importHar(device, store, error, progress); });
}

} // namespace ws

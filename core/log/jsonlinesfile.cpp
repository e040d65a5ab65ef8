#include "log/jsonlinesfile.h"

#include "protocol/opcode.h"

#include <QIODevice>
#include <QJsonArray>
#include <QJsonDocument>
#include <QObject>

#include <algorithm>
#include <vector>

namespace ws::log {

namespace {

constexpr const char *FormatName = "wsworkbench-log";
// Integers above 2^53 do not survive a trip through a JSON number read as a double
// by other tools; they are written as decimal strings.
constexpr quint64 MaxExactJsonInteger = quint64(1) << 53;

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

// --- records as JSON ---------------------------------------------------------------

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
        if (r.sendDelayUs > 0)
            w.number("send_delay_us", r.sendDelayUs);
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
            if (const ViolationFrame &frame = extra->violationFrame; !frame.isEmpty()) {
                w.beginObject("error_frame");
                w.number("offset", frame.streamOffset);
                w.number("header_bytes", frame.headerBytes);
                w.number("payload_received", frame.payloadReceived);
                w.ascii("bytes_base64", frame.bytes.toBase64());
                w.endObject();
            }
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

QJsonObject JsonLinesFile::recordToJson(const LogRecord &r, const LogRecordExtra *extra) {
    QByteArray line;
    appendRecordLine(line, r, extra);
    return QJsonDocument::fromJson(line).object();
}

bool JsonLinesFile::recordFromJson(const QJsonObject &o, LogRecord &r, LogRecordExtra &extra,
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
    if (const QJsonValue delay = o.value(QStringLiteral("send_delay_us")); delay.isDouble())
        r.sendDelayUs = quint32(std::clamp<qint64>(delay.toInteger(), 0, UINT32_MAX));
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
    // Absent from files written before error rows kept their frame.
    if (const QJsonValue fv = o.value(QStringLiteral("error_frame")); fv.isObject()) {
        const QJsonObject f = fv.toObject();
        ViolationFrame &frame = extra.violationFrame;
        frame.streamOffset = f.value(QStringLiteral("offset")).toInteger(-1);
        frame.bytes =
            QByteArray::fromBase64(f.value(QStringLiteral("bytes_base64")).toString().toLatin1());
        frame.headerBytes = std::clamp(f.value(QStringLiteral("header_bytes")).toInt(), 0,
                                       int(std::min<qsizetype>(frame.bytes.size(), 14)));
        frame.payloadReceived =
            std::max<qint64>(f.value(QStringLiteral("payload_received")).toInteger(),
                             frame.bytes.size() - frame.headerBytes);
        if (frame.streamOffset < 0 || frame.bytes.isEmpty())
            frame = ViolationFrame{};
    }
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

bool JsonLinesFile::save(const LogStore &store, QIODevice &device, QString *error,
                         const RecordSelection &selection) {
    JsonLinesWriter writer(device);
    if (!writer.writeHeader(error))
        return false;
    QList<quint32> ids = store.connections().keys();
    std::sort(ids.begin(), ids.end());
    for (const quint32 id : std::as_const(ids)) {
        if (!writer.writeConnection(id, store.connectionInfo(id), error))
            return false;
    }
    for (qsizetype i = 0; i < store.size(); ++i) {
        if (selection && !selection(i))
            continue;
        const LogRecord &r = store.at(i);
        if (!writer.writeRecord(r, store.extraOf(r, i), error))
            return false;
    }
    return writer.flush(error);
}

bool JsonLinesFile::save(const LogStore &store, const QString &path, QString *error,
                         const RecordSelection &selection) {
    return saveToFile(path, error,
                      [&](QIODevice &device) { return save(store, device, error, selection); });
}

bool JsonLinesFile::open(QIODevice &device, LogStore &store, QString *error,
                         const ReadProgress &progress) {
    // A store cannot give records back from its end, and clearing it would lose what
    // it held before: a cancellable read into a store that is not empty goes through
    // a scratch store and reaches the real one only once the file is read whole.
    if (progress && (!store.isEmpty() || !store.connections().isEmpty())) {
        LogStore scratch;
        if (!open(device, scratch, error, progress))
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
                                     o.value(QStringLiteral("url")).toString(),
                                     legFromName(o.value(QStringLiteral("leg")).toString())});
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

bool JsonLinesFile::open(const QString &path, LogStore &store, QString *error,
                         const ReadProgress &progress) {
    return readFromFile(path, error,
                        [&](QIODevice &device) { return open(device, store, error, progress); });
}

// --- writing a line at a time ------------------------------------------------------

JsonLinesWriter::JsonLinesWriter(QIODevice &device)
    : m_device(device) {}

bool JsonLinesWriter::writeHeader(QString *error) {
    const QJsonObject header{{QStringLiteral("format"), QLatin1String(FormatName)},
                             {QStringLiteral("version"), JsonLinesFile::FormatVersion},
                             {QStringLiteral("creator"), QStringLiteral("WebSocket Workbench ") +
                                                             QLatin1String(creatorVersion())}};
    m_buffer += QJsonDocument(header).toJson(QJsonDocument::Compact) + '\n';
    return flushWhenFull(m_device, m_buffer, error);
}

bool JsonLinesWriter::writeConnection(quint32 id, const ConnectionInfo &info, QString *error) {
    QJsonObject c{{QStringLiteral("type"), QStringLiteral("connection")},
                  {QStringLiteral("id"), qint64(id)},
                  {QStringLiteral("name"), info.name},
                  {QStringLiteral("url"), info.url}};
    // A relayed pair's legs say which they are; older readers ignore the key.
    if (info.leg != Leg::None)
        c.insert(QStringLiteral("leg"), QLatin1String(legName(info.leg)));
    m_buffer += QJsonDocument(c).toJson(QJsonDocument::Compact) + '\n';
    return flushWhenFull(m_device, m_buffer, error);
}

bool JsonLinesWriter::writeRecord(const LogRecord &record, const LogRecordExtra *extra,
                                  QString *error) {
    appendRecordLine(m_buffer, record, extra);
    return flushWhenFull(m_device, m_buffer, error);
}

bool JsonLinesWriter::flush(QString *error) {
    if (m_buffer.isEmpty())
        return true;
    const bool written = writeAll(m_device, m_buffer, error);
    m_buffer.clear();
    return written;
}

} // namespace ws::log

#include "log/logrecord.h"

#include "protocol/masking.h"
#include "protocol/opcode.h"

#include <algorithm>
#include <array>

namespace ws::log {

namespace {

// A prefix of the payload big enough for `maxChars` characters of UTF-8 (at most
// four bytes each), so a preview never decodes a 16 MiB payload.
QByteArrayView previewPrefix(const QByteArray &payload, int maxChars) {
    const qsizetype limit = qsizetype(maxChars) * 4 + 4;
    return QByteArrayView(payload).first(std::min(payload.size(), limit));
}

// Appends `text` with control characters escaped; false once `maxChars` is reached
// (an ellipsis has then been appended).
bool appendEscaped(QString &out, QStringView text, int maxChars) {
    for (const QChar c : text) {
        if (out.size() >= maxChars) {
            out.append(QChar(0x2026));
            return false;
        }
        const char16_t u = c.unicode();
        switch (u) {
        case '\n':
            out.append(QLatin1String("\\n"));
            break;
        case '\r':
            out.append(QLatin1String("\\r"));
            break;
        case '\t':
            out.append(QLatin1String("\\t"));
            break;
        default:
            if (u < 0x20 || u == 0x7F)
                out.append(QStringLiteral("\\x%1").arg(int(u), 2, 16, QLatin1Char('0')));
            else
                out.append(c);
        }
    }
    return true;
}

// Text when the prefix decodes without replacement characters (a cut at the end of
// the prefix may split one character; that one is forgiven).
bool looksLikeText(const QString &decoded) {
    const qsizetype bad = decoded.indexOf(QChar(QChar::ReplacementCharacter));
    return bad < 0 || bad >= decoded.size() - 1;
}

void appendHex(QString &out, QByteArrayView bytes, int maxChars) {
    static const char digits[] = "0123456789abcdef";
    for (qsizetype i = 0; i < bytes.size(); ++i) {
        if (out.size() + 3 > maxChars) {
            out.append(QChar(0x2026));
            return;
        }
        if (i > 0)
            out.append(QLatin1Char(' '));
        const auto b = quint8(bytes[i]);
        out.append(QLatin1Char(digits[b >> 4]));
        out.append(QLatin1Char(digits[b & 0xF]));
    }
}

void appendPayloadPreview(QString &out, const QByteArray &payload, bool text, int maxChars) {
    if (payload.isEmpty()) {
        out.append(QLatin1String("(empty)"));
        return;
    }
    const QByteArrayView prefix = previewPrefix(payload, maxChars);
    const QString decoded = QString::fromUtf8(prefix);
    if (text || looksLikeText(decoded)) {
        if (appendEscaped(out, decoded, maxChars) && prefix.size() < payload.size())
            out.append(QChar(0x2026));
    } else {
        appendHex(out, prefix, maxChars);
        if (out.size() < maxChars && prefix.size() < payload.size())
            out.append(QChar(0x2026));
    }
}

QByteArrayView firstLine(const QByteArray &block) {
    const qsizetype end = block.indexOf('\n');
    QByteArrayView line(block);
    if (end >= 0)
        line = line.first(end);
    if (line.endsWith('\r'))
        line.chop(1);
    return line;
}

// The value of a contiguous enum (0 .. last) whose `nameOf` is `name`: the inverse
// of the name functions, for reading saved logs.
template <typename Enum, typename NameOf>
std::optional<Enum> enumFromName(QByteArrayView name, Enum last, NameOf nameOf) {
    for (int i = 0; i <= static_cast<int>(last); ++i) {
        const auto value = static_cast<Enum>(i);
        if (name == nameOf(value))
            return value;
    }
    return std::nullopt;
}

// The length encodings in the order of their index in bits 0-1 of headerByte1.
constexpr quint8 LengthEncodingIndexMask = 0x03;
constexpr std::array<LengthEncoding, 3> LengthEncodings{
    LengthEncoding::Short7, LengthEncoding::Extended16, LengthEncoding::Extended64};

// An enum's names, each written once: names are looked up by value and values by
// name in the same table, so the log writer and reader cannot disagree.
template <typename Enum> struct EnumName {
    Enum value;
    const char *name;
};

template <typename Enum, std::size_t Count>
const char *nameInTable(const std::array<EnumName<Enum>, Count> &table, Enum value,
                        const char *unknown) {
    const auto it = std::find_if(table.begin(), table.end(), [value](const EnumName<Enum> &entry) {
        return entry.value == value;
    });
    return it != table.end() ? it->name : unknown;
}

template <typename Enum, std::size_t Count>
std::optional<Enum> valueInTable(const std::array<EnumName<Enum>, Count> &table,
                                 QByteArrayView name) {
    const auto it = std::find_if(table.begin(), table.end(), [name](const EnumName<Enum> &entry) {
        return name == entry.name;
    });
    return it != table.end() ? std::optional<Enum>(it->value) : std::nullopt;
}

constexpr std::array<EnumName<LogKind>, LogKindCount> LogKindNames{{
    {LogKind::Text, "text"},
    {LogKind::Binary, "binary"},
    {LogKind::Continuation, "continuation"},
    {LogKind::Ping, "ping"},
    {LogKind::Pong, "pong"},
    {LogKind::Close, "close"},
    {LogKind::Reserved, "reserved"},
    {LogKind::Error, "error"},
    {LogKind::Note, "note"},
    {LogKind::Handshake, "handshake"},
    {LogKind::State, "state"},
}};

// Saved logs spell these as the enumerators are spelled.
constexpr std::array<EnumName<ConformanceNote::Kind>, 7> NoteKindNames{{
    {ConformanceNote::Kind::NonMinimalLength, "NonMinimalLength"},
    {ConformanceNote::Kind::InvalidCloseReason, "InvalidCloseReason"},
    {ConformanceNote::Kind::CloseNotAnswered, "CloseNotAnswered"},
    {ConformanceNote::Kind::UnsolicitedPong, "UnsolicitedPong"},
    {ConformanceNote::Kind::PongMismatch, "PongMismatch"},
    {ConformanceNote::Kind::ServerClosedTcpLate, "ServerClosedTcpLate"},
    {ConformanceNote::Kind::Staged, "Staged"},
}};

constexpr std::array<EnumName<HandshakeEvent::Kind>, 4> HandshakeKindNames{{
    {HandshakeEvent::Kind::ClientAccepted, "accepted"},
    {HandshakeEvent::Kind::UpgradeRequested, "upgrade-requested"},
    {HandshakeEvent::Kind::PlainHttpRequest, "plain-http"},
    {HandshakeEvent::Kind::Failed, "failed"},
}};

} // namespace

const char *logKindName(LogKind kind) {
    return nameInTable(LogKindNames, kind, "unknown");
}

std::optional<LogKind> logKindFromName(QByteArrayView name) {
    return valueInTable(LogKindNames, name);
}

LogKind logKindForOpcode(quint8 opcode) {
    switch (opcode & OpcodeMask) {
    case 0x0:
        return LogKind::Continuation;
    case 0x1:
        return LogKind::Text;
    case 0x2:
        return LogKind::Binary;
    case 0x8:
        return LogKind::Close;
    case 0x9:
        return LogKind::Ping;
    case 0xA:
        return LogKind::Pong;
    default:
        return LogKind::Reserved;
    }
}

const char *noteKindName(ConformanceNote::Kind kind) {
    return nameInTable(NoteKindNames, kind, "Unknown");
}

std::optional<ConformanceNote::Kind> noteKindFromName(QByteArrayView name) {
    return valueInTable(NoteKindNames, name);
}

std::optional<ProtocolError> protocolErrorFromName(QByteArrayView name) {
    return enumFromName(name, ProtocolError::AbnormalClosure, errorName);
}

const char *handshakeKindName(HandshakeEvent::Kind kind) {
    return nameInTable(HandshakeKindNames, kind, "unknown");
}

std::optional<HandshakeEvent::Kind> handshakeKindFromName(QByteArrayView name) {
    return valueInTable(HandshakeKindNames, name);
}

std::optional<SessionState> sessionStateFromName(QByteArrayView name) {
    return enumFromName(name, SessionState::Closed, stateName);
}

bool LogRecordExtra::isEmpty() const {
    return *this == LogRecordExtra{};
}

// --- LogRecord -------------------------------------------------------------------

FrameHeader LogRecord::header() const {
    FrameHeader h;
    h.setByte0(unpackByte0(headerByte0));
    if (headerByte1 & MaskBit)
        h.maskingKey = maskingKey;
    h.payloadLength = length;
    const int encoding = headerByte1 & LengthEncodingIndexMask;
    h.lengthEncoding = encoding < int(LengthEncodings.size()) ? LengthEncodings[size_t(encoding)]
                                                              : LengthEncoding::Short7;
    return h;
}

void LogRecord::setHeader(const FrameHeader &h) {
    headerByte0 = packByte0(h.byte0());
    const auto encoding =
        std::find(LengthEncodings.begin(), LengthEncodings.end(), h.lengthEncoding);
    const int encodingIndex =
        encoding != LengthEncodings.end() ? int(encoding - LengthEncodings.begin()) : 0;
    // Byte 1 is kept as MASK plus the length encoding's index: the length itself is
    // in `length`.
    headerByte1 = quint8((h.masked() ? MaskBit : 0) | encodingIndex);
    maskingKey = h.maskingKey.value_or(0);
    length = h.payloadLength;
    set(HasHeader);
}

QByteArray LogRecord::maskedPayload() const {
    if (!isFrame() || !(headerByte1 & MaskBit))
        return payload;
    QByteArray masked(payload.constData(), payload.size());
    applyMask(masked.data(), masked.size(), maskingKey);
    return masked;
}

QByteArray LogRecord::closeReason() const {
    if (has(ClosedSummary))
        return payload;
    if (kind == LogKind::Close && payload.size() >= 2)
        return payload.mid(2);
    return {};
}

bool LogRecord::operator==(const LogRecord &other) const {
    return payload == other.payload && timestampUs == other.timestampUs && length == other.length &&
           roundTripUs == other.roundTripUs && sendDelayUs == other.sendDelayUs &&
           connection == other.connection && maskingKey == other.maskingKey &&
           frameCount == other.frameCount && closeCode == other.closeCode && flags == other.flags &&
           kind == other.kind && headerByte0 == other.headerByte0 &&
           headerByte1 == other.headerByte1;
}

QString recordPreview(const LogRecord &record, const LogRecordExtra *extra, int maxChars) {
    QString out;
    out.reserve(maxChars + 16);
    switch (record.kind) {
    case LogKind::Text:
        appendPayloadPreview(out, record.payload, true, maxChars);
        break;
    case LogKind::Binary:
        appendPayloadPreview(out, record.payload, false, maxChars);
        break;
    case LogKind::Continuation:
    case LogKind::Ping:
        appendPayloadPreview(out, record.payload, false, maxChars);
        break;
    case LogKind::Pong:
        if (record.has(LogRecord::HasRoundTrip))
            out.append(
                QStringLiteral("RTT %1 ms  ").arg(double(record.roundTripUs) / 1000.0, 0, 'f', 3));
        appendPayloadPreview(out, record.payload, false, maxChars);
        break;
    case LogKind::Close:
        if (record.has(LogRecord::HasCloseCode)) {
            out.append(QStringLiteral("%1 %2")
                           .arg(record.closeCode)
                           .arg(QLatin1String(closeCodeMeaning(record.closeCode))));
            const QByteArray reason = record.closeReason();
            if (!reason.isEmpty()) {
                out.append(QLatin1String(": "));
                appendEscaped(out, QString::fromUtf8(previewPrefix(reason, maxChars)), maxChars);
            }
        } else {
            out.append(QLatin1String("(no status code)"));
        }
        break;
    case LogKind::Reserved:
        out.append(QStringLiteral("opcode 0x%1  ").arg(record.headerByte0 & OpcodeMask, 0, 16));
        appendPayloadPreview(out, record.payload, false, maxChars);
        break;
    case LogKind::Error:
        if (extra && extra->error)
            out.append(QLatin1String(errorName(*extra->error)) + QLatin1String(": "));
        appendEscaped(out, QString::fromUtf8(previewPrefix(record.payload, maxChars)), maxChars);
        break;
    case LogKind::Note:
        if (extra && !extra->notes.isEmpty())
            out.append(QLatin1String(noteKindName(extra->notes.first().kind)) +
                       QLatin1String(": "));
        appendEscaped(out, QString::fromUtf8(previewPrefix(record.payload, maxChars)), maxChars);
        break;
    case LogKind::Handshake:
        if (extra) {
            const QByteArrayView request = firstLine(extra->rawRequest);
            const QByteArrayView response = firstLine(extra->rawResponse);
            QString line = QString::fromUtf8(request);
            if (!response.isEmpty())
                line += QStringLiteral(" \u2192 ") + QString::fromUtf8(response);
            if (!extra->handshakeError.isEmpty())
                line += QStringLiteral(" \u2014 ") + extra->handshakeError;
            appendEscaped(out, line, maxChars);
        }
        break;
    case LogKind::State:
        if (record.has(LogRecord::ClosedSummary)) {
            out.append(QStringLiteral("closed %1 %2")
                           .arg(record.closeCode)
                           .arg(QLatin1String(closeCodeMeaning(record.closeCode))));
            out.append(record.has(LogRecord::CleanClose) ? QLatin1String(", clean")
                                                         : QLatin1String(", not clean"));
            if (record.has(LogRecord::ClosedByUs))
                out.append(QLatin1String(", closed by us"));
            if (!record.payload.isEmpty()) {
                out.append(QLatin1String(": "));
                appendEscaped(out, QString::fromUtf8(previewPrefix(record.payload, maxChars)),
                              maxChars);
            }
        } else {
            out.append(QLatin1String(stateName(record.state())));
        }
        break;
    }
    if (record.has(LogRecord::HasNotes) && record.kind != LogKind::Note && extra &&
        out.size() < maxChars) {
        for (const ConformanceNote &note : extra->notes)
            out.append(QStringLiteral("  [%1]").arg(QLatin1String(noteKindName(note.kind))));
    }
    if (out.size() > maxChars + 1)
        out.truncate(maxChars + 1);
    return out;
}

LogRecord connectionRow(quint32 connection, qint64 timestampUs, LogKind kind) {
    LogRecord record;
    record.connection = connection;
    record.timestampUs = timestampUs;
    record.kind = kind;
    record.set(LogRecord::InFrameView);
    record.set(LogRecord::InMessageView);
    return record;
}

LogRecord connectionErrorRecord(quint32 connection, qint64 timestampUs, const QString &message) {
    LogRecord record = connectionRow(connection, timestampUs, LogKind::Error);
    record.payload = message.toUtf8();
    record.length = quint64(record.payload.size());
    record.set(LogRecord::Undirected);
    record.set(LogRecord::Failure);
    return record;
}

LogRecord connectionNoteRecord(quint32 connection, qint64 timestampUs, const QString &text) {
    LogRecord record = connectionRow(connection, timestampUs, LogKind::Note);
    record.payload = text.toUtf8();
    record.length = quint64(record.payload.size());
    record.set(LogRecord::Undirected);
    return record;
}

FullRecord acceptedUpgradeRecord(quint32 connection, qint64 timestampUs,
                                 const QByteArray &rawRequest, const QByteArray &rawResponse,
                                 const QByteArray &subprotocol) {
    FullRecord row{connectionRow(connection, timestampUs, LogKind::Handshake), {}};
    row.extra.handshakeKind = HandshakeEvent::Kind::UpgradeRequested;
    row.extra.rawRequest = rawRequest;
    row.extra.rawResponse = rawResponse;
    row.extra.httpStatus = 101;
    row.extra.subprotocol = subprotocol;
    row.record.length = quint64(rawRequest.size() + rawResponse.size());
    return row;
}

} // namespace ws::log

#include "log/sessiondiff.h"

#include "log/harfile.h"
#include "log/jsonlinesfile.h"
#include "log/logstore.h"

#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QJsonValue>

#include <algorithm>
#include <cstdlib>
#include <limits>

namespace ws::log {

namespace {

bool isMessageRecord(const LogRecord &record, bool includeControl) {
    switch (record.kind) {
    case LogKind::Text:
    case LogKind::Binary:
        return record.has(LogRecord::InMessageView);
    case LogKind::Ping:
    case LogKind::Pong:
    case LogKind::Close:
        return includeControl && !record.has(LogRecord::Undirected);
    default:
        return false;
    }
}

// Which side of the connection the log was written on: the handshake says it, else
// the masks (RFC 6455 §5.3: a client masks every frame it sends, a server none).
std::optional<bool> recordedOnClientSide(const LogRecord &record, const LogRecordExtra *extra) {
    if (record.kind == LogKind::Handshake && extra) {
        if (extra->handshakeKind == HandshakeEvent::Kind::ClientAccepted)
            return true;
        if (extra->handshakeKind == HandshakeEvent::Kind::UpgradeRequested)
            return false;
    }
    if (record.isFrame() && !record.has(LogRecord::Undirected)) {
        const bool masked = record.header().maskingKey.has_value();
        return record.direction() == Direction::Outgoing ? masked : !masked;
    }
    return std::nullopt;
}

} // namespace

QString RecordedSession::description() const {
    // A file with several connections says so: another may be the one meant.
    QString text = connectionCount > 1
                       ? QStringLiteral("connection %1 of %2").arg(connection).arg(connectionCount)
                       : QStringLiteral("connection %1").arg(connection);
    QStringList about;
    if (!connectionName.isEmpty())
        about << connectionName;
    if (!url.isEmpty())
        about << url;
    if (!about.isEmpty())
        text += QStringLiteral(" (%1)").arg(about.join(QLatin1String(", ")));
    text +=
        QStringLiteral(", %1 message%2").arg(messages.size()).arg(messages.size() == 1 ? "" : "s");
    return text;
}

bool extractSession(const LogStore &store, const SessionSelection &selection,
                    RecordedSession *session, QString *error) {
    struct PerConnection {
        qsizetype messages = 0;
        std::optional<bool> clientSide;
    };
    QHash<quint32, PerConnection> seen;
    for (qsizetype i = 0; i < store.size(); ++i) {
        const LogRecord &record = store.at(i);
        PerConnection &c = seen[record.connection];
        if (isMessageRecord(record, selection.includeControl))
            ++c.messages;
        if (!c.clientSide)
            c.clientSide = recordedOnClientSide(record, store.extraOf(record, i));
    }
    QList<quint32> ids = store.connectionIds();
    for (auto it = seen.cbegin(); it != seen.cend(); ++it) {
        if (!ids.contains(it.key()))
            ids.append(it.key());
    }
    std::sort(ids.begin(), ids.end());

    std::optional<quint32> chosen = selection.connection;
    if (chosen) {
        if (!ids.contains(*chosen)) {
            QStringList known;
            for (quint32 id : std::as_const(ids))
                known << QString::number(id);
            setError(error, QStringLiteral("no connection %1 in the log (it has: %2)")
                                .arg(*chosen)
                                .arg(known.isEmpty() ? QStringLiteral("none")
                                                     : known.join(QLatin1String(", "))));
            return false;
        }
    } else {
        for (quint32 id : std::as_const(ids)) {
            const PerConnection c = seen.value(id);
            if (c.messages > 0 && c.clientSide.value_or(false)) {
                chosen = id;
                break;
            }
        }
        for (quint32 id : std::as_const(ids)) {
            if (!chosen && seen.value(id).messages > 0)
                chosen = id;
        }
        if (!chosen) {
            setError(error, QStringLiteral("the log holds no messages"));
            return false;
        }
    }

    *session = RecordedSession{};
    session->connection = *chosen;
    const ConnectionInfo info = store.connectionInfo(*chosen);
    session->connectionName = info.name;
    session->url = info.url;
    session->clientSide = seen.value(*chosen).clientSide.value_or(false);
    session->connectionCount = int(ids.size());
    session->messages.reserve(seen.value(*chosen).messages);
    for (qsizetype i = 0; i < store.size(); ++i) {
        const LogRecord &record = store.at(i);
        if (record.connection != *chosen || !isMessageRecord(record, selection.includeControl))
            continue;
        SessionMessage message;
        message.payload = record.payload;
        message.timestampUs = record.timestampUs;
        message.storeIndex = i;
        message.direction = record.direction();
        message.kind = record.kind;
        message.closeCode = record.closeCode;
        message.hasCloseCode = record.has(LogRecord::HasCloseCode);
        session->messages.append(message);
    }
    return true;
}

bool loadSession(const QString &path, const SessionSelection &selection, RecordedSession *session,
                 QString *error) {
    LogStore store;
    QString readError;
    const bool har = path.endsWith(QLatin1String(".har"), Qt::CaseInsensitive);
    const bool read =
        har ? HarFile::open(path, store, &readError) : JsonLinesFile::open(path, store, &readError);
    if (!read) {
        setError(error, QStringLiteral("%1: %2").arg(path, readError));
        return false;
    }
    store.commitPending();
    QString extractError;
    if (!extractSession(store, selection, session, &extractError)) {
        setError(error, QStringLiteral("%1: %2").arg(path, extractError));
        return false;
    }
    session->file = path;
    return true;
}

// --- JSON paths -------------------------------------------------------------------

std::optional<JsonPath> JsonPath::parse(const QString &text, QString *error) {
    JsonPath path;
    path.m_text = text;
    const auto fail = [&](const QString &why) -> std::optional<JsonPath> {
        setError(error, QStringLiteral("bad JSON path \"%1\": %2").arg(text, why));
        return std::nullopt;
    };
    const QString s = text.trimmed();
    if (!s.startsWith(QLatin1Char('$')))
        return fail(QStringLiteral("it must start with $"));
    qsizetype i = 1;
    const qsizetype n = s.size();
    while (i < n) {
        Segment segment;
        if (s.at(i) == QLatin1Char('.')) {
            ++i;
            if (i < n && s.at(i) == QLatin1Char('.')) {
                segment.descendant = true;
                ++i;
            }
            if (i < n && s.at(i) == QLatin1Char('[')) {
                if (!segment.descendant)
                    return fail(QStringLiteral("'.' before '[' at %1").arg(i));
            } else {
                if (i < n && s.at(i) == QLatin1Char('*')) {
                    segment.type = Segment::Type::Wildcard;
                    ++i;
                } else {
                    const qsizetype start = i;
                    while (i < n && s.at(i) != QLatin1Char('.') && s.at(i) != QLatin1Char('['))
                        ++i;
                    if (i == start)
                        return fail(QStringLiteral("a name is missing at %1").arg(start));
                    segment.key = s.mid(start, i - start);
                }
                path.m_segments.push_back(segment);
                continue;
            }
        }
        if (i >= n || s.at(i) != QLatin1Char('['))
            return fail(QStringLiteral("unexpected '%1' at %2").arg(s.at(i)).arg(i));
        ++i; // '['
        if (i < n && s.at(i) == QLatin1Char('*')) {
            segment.type = Segment::Type::Wildcard;
            ++i;
        } else if (i < n && (s.at(i) == QLatin1Char('\'') || s.at(i) == QLatin1Char('"'))) {
            const QChar quote = s.at(i++);
            QString key;
            while (i < n && s.at(i) != quote) {
                if (s.at(i) == QLatin1Char('\\') && i + 1 < n)
                    ++i;
                key += s.at(i++);
            }
            if (i >= n)
                return fail(QStringLiteral("unterminated quoted name"));
            ++i;
            segment.key = key;
        } else {
            const qsizetype start = i;
            while (i < n && s.at(i).isDigit())
                ++i;
            if (i == start)
                return fail(QStringLiteral("expected an index, '*' or a quoted name at %1").arg(i));
            segment.type = Segment::Type::Index;
            segment.index = s.mid(start, i - start).toLongLong();
        }
        if (i >= n || s.at(i) != QLatin1Char(']'))
            return fail(QStringLiteral("expected ']' at %1").arg(i));
        ++i;
        path.m_segments.push_back(segment);
    }
    return path;
}

bool JsonPath::matches(const std::vector<Step> &location) const {
    return matchFrom(0, location, 0);
}

bool JsonPath::matchFrom(size_t segment, const std::vector<Step> &location, size_t step) const {
    if (segment == m_segments.size())
        return step == location.size();
    const Segment &seg = m_segments[segment];
    const auto fits = [&seg](const Step &at) {
        switch (seg.type) {
        case Segment::Type::Wildcard:
            return true;
        case Segment::Type::Index:
            return at.index == seg.index;
        case Segment::Type::Key:
            return at.index < 0 && at.key == seg.key;
        }
        return false;
    };
    for (size_t at = step; at < location.size(); ++at) {
        if (fits(location[at]) && matchFrom(segment + 1, location, at + 1))
            return true;
        if (!seg.descendant)
            break;
    }
    return false;
}

// --- JSON normalisation and comparison ---------------------------------------------

namespace {

using Location = std::vector<JsonPath::Step>;

bool ignored(const QList<JsonPath> &ignore, const Location &location) {
    for (const JsonPath &path : ignore) {
        if (path.matches(location))
            return true;
    }
    return false;
}

QString locationText(const Location &location) {
    QString text = QStringLiteral("$");
    for (const JsonPath::Step &step : location) {
        if (step.index >= 0) {
            text += QStringLiteral("[%1]").arg(step.index);
        } else {
            bool plain = !step.key.isEmpty() && !step.key.at(0).isDigit();
            for (QChar c : step.key)
                plain = plain && (c.isLetterOrNumber() || c == QLatin1Char('_'));
            if (plain) {
                text += QLatin1Char('.') + step.key;
            } else {
                QString key = step.key;
                key.replace(QLatin1Char('\\'), QLatin1String("\\\\"));
                key.replace(QLatin1Char('\''), QLatin1String("\\'"));
                text += QStringLiteral("['%1']").arg(key);
            }
        }
    }
    return text;
}

// Numbers are compared by value: 1, 1.0 and 1e0 are the same number.
void appendNumber(QByteArray &out, const QJsonValue &value) {
    constexpr qint64 Sentinel = std::numeric_limits<qint64>::min();
    const qint64 integer = value.toInteger(Sentinel);
    if (integer != Sentinel || value.toDouble() == double(Sentinel))
        out += QByteArray::number(integer);
    else
        out += QByteArray::number(value.toDouble(), 'g', 17);
}

// A JSON string literal (RFC 8259 §7).
void appendString(QByteArray &out, const QString &text) {
    const QByteArray utf8 = text.toUtf8();
    out += '"';
    for (const char c : utf8) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        default:
            if (uchar(c) < 0x20) {
                out += "\\u00";
                out += "0123456789abcdef"[(uchar(c) >> 4) & 0xf];
                out += "0123456789abcdef"[uchar(c) & 0xf];
            } else {
                out += c;
            }
        }
    }
    out += '"';
}

// A canonical serialisation of `value` without what `ignore` matches: object keys in
// sorted order (QJsonObject iterates them sorted), numbers by value.
void appendCanonical(QByteArray &out, const QJsonValue &value, const QList<JsonPath> &ignore,
                     Location &location) {
    switch (value.type()) {
    case QJsonValue::Object: {
        const QJsonObject object = value.toObject();
        out += '{';
        bool first = true;
        for (auto it = object.begin(); it != object.end(); ++it) {
            location.push_back({it.key(), -1});
            if (!ignored(ignore, location)) {
                if (!first)
                    out += ',';
                first = false;
                appendString(out, it.key());
                out += ':';
                appendCanonical(out, it.value(), ignore, location);
            }
            location.pop_back();
        }
        out += '}';
        break;
    }
    case QJsonValue::Array: {
        const QJsonArray array = value.toArray();
        out += '[';
        for (qsizetype i = 0; i < array.size(); ++i) {
            if (i > 0)
                out += ',';
            location.push_back({QString(), i});
            // An ignored element keeps its place, so that the rest keep their indices.
            if (ignored(ignore, location))
                out += '_';
            else
                appendCanonical(out, array.at(i), ignore, location);
            location.pop_back();
        }
        out += ']';
        break;
    }
    case QJsonValue::Double:
        appendNumber(out, value);
        break;
    case QJsonValue::String:
        appendString(out, value.toString());
        break;
    case QJsonValue::Bool:
        out += value.toBool() ? "true" : "false";
        break;
    case QJsonValue::Null:
        out += "null";
        break;
    case QJsonValue::Undefined:
        break;
    }
}

bool sameNumber(const QJsonValue &a, const QJsonValue &b) {
    QByteArray x, y;
    appendNumber(x, a);
    appendNumber(y, b);
    return x == y;
}

void collectDifferences(const QJsonValue &a, const QJsonValue &b, const QList<JsonPath> &ignore,
                        Location &location, QStringList &out) {
    if (out.size() >= SessionDiffResult::MaxPathsListed)
        return;
    if (!location.empty() && ignored(ignore, location))
        return;
    if (a.type() != b.type()) {
        out << locationText(location);
        return;
    }
    switch (a.type()) {
    case QJsonValue::Object: {
        const QJsonObject x = a.toObject();
        const QJsonObject y = b.toObject();
        QStringList keys = x.keys();
        for (const QString &key : y.keys()) {
            if (!x.contains(key))
                keys << key;
        }
        std::sort(keys.begin(), keys.end());
        for (const QString &key : std::as_const(keys)) {
            location.push_back({key, -1});
            if (!x.contains(key) || !y.contains(key)) {
                if (!ignored(ignore, location) && out.size() < SessionDiffResult::MaxPathsListed)
                    out << locationText(location);
            } else {
                collectDifferences(x.value(key), y.value(key), ignore, location, out);
            }
            location.pop_back();
        }
        break;
    }
    case QJsonValue::Array: {
        const QJsonArray x = a.toArray();
        const QJsonArray y = b.toArray();
        const qsizetype n = std::max(x.size(), y.size());
        for (qsizetype i = 0; i < n; ++i) {
            location.push_back({QString(), i});
            if (i >= x.size() || i >= y.size()) {
                if (!ignored(ignore, location) && out.size() < SessionDiffResult::MaxPathsListed)
                    out << locationText(location);
            } else {
                collectDifferences(x.at(i), y.at(i), ignore, location, out);
            }
            location.pop_back();
        }
        break;
    }
    case QJsonValue::Double:
        if (!sameNumber(a, b))
            out << locationText(location);
        break;
    default:
        if (a != b)
            out << locationText(location);
        break;
    }
}

std::optional<QJsonValue> parseJson(const QByteArray &payload) {
    // Only objects and arrays: a text "1.0" is text, not the number 1.
    qsizetype i = 0;
    while (i < payload.size() && QChar::isSpace(uchar(payload.at(i))))
        ++i;
    if (i == payload.size() || (payload.at(i) != '{' && payload.at(i) != '['))
        return std::nullopt;
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(payload, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return std::nullopt;
    if (document.isObject())
        return QJsonValue(document.object());
    return QJsonValue(document.array());
}

} // namespace

std::optional<QJsonValue> payloadJson(const SessionMessage &message) {
    if (message.kind != LogKind::Text)
        return std::nullopt;
    return parseJson(message.payload);
}

QStringList jsonDifferences(const QJsonValue &a, const QJsonValue &b,
                            const QList<JsonPath> &ignore) {
    QStringList out;
    Location location;
    collectDifferences(a, b, ignore, location, out);
    return out;
}

QString messagePreview(const SessionMessage &message, int maxChars) {
    LogRecord record;
    record.kind = message.kind;
    record.payload = message.payload;
    record.closeCode = message.closeCode;
    record.set(LogRecord::HasCloseCode, message.hasCloseCode);
    const QString preview = recordPreview(record, nullptr, maxChars);
    switch (message.kind) {
    case LogKind::Text:
        return preview;
    case LogKind::Binary: {
        // Bytes as hex, as `wsw connect` prints them: a preview that looks like text
        // would hide which bytes differ.
        const qsizetype shown = std::min<qsizetype>(message.payload.size(), maxChars / 2);
        QString hex = QString::fromLatin1(message.payload.left(shown).toHex());
        if (shown < message.payload.size())
            hex += QChar(0x2026);
        return QStringLiteral("[binary %1 bytes] %2").arg(message.payload.size()).arg(hex);
    }
    case LogKind::Ping:
        return QStringLiteral("[ping] %1").arg(preview);
    case LogKind::Pong:
        return QStringLiteral("[pong] %1").arg(preview);
    case LogKind::Close:
        return QStringLiteral("[close] %1").arg(preview);
    default:
        return QStringLiteral("[%1] %2").arg(QLatin1String(logKindName(message.kind)), preview);
    }
}

const char *diffKindName(DiffKind kind) {
    switch (kind) {
    case DiffKind::Equal:
        return "equal";
    case DiffKind::Changed:
        return "changed";
    case DiffKind::Missing:
        return "missing";
    case DiffKind::Extra:
        return "extra";
    }
    return "unknown";
}

QString SessionDiffResult::summary() const {
    QString text = QStringLiteral("%1 equal, %2 changed, %3 missing, %4 extra")
                       .arg(equal)
                       .arg(changed)
                       .arg(missing)
                       .arg(extra);
    if (moved > 0)
        text += QStringLiteral(" (%1 moved)").arg(moved);
    if (timing > 0)
        text += QStringLiteral(", %1 timing").arg(timing);
    if (approximate)
        text += QStringLiteral(" (alignment approximate)");
    return text;
}

// --- Alignment ---------------------------------------------------------------------
//
// The longest common subsequence, in memory linear in the sessions' length and in
// time that grows with the differences rather than with N·M:
//  1. the common prefix and suffix of each stretch are matched as they are;
//  2. what lies between is aligned with Myers' O((N+M)·D) algorithm in its
//     linear-space form (the "middle snake" recursion, Myers 1986 §4b): memory
//     O(N+M), time proportional to the length times the differences D;
//  3. only when a stretch costs more than a budget of work (two long sessions with
//     little in common), values that occur exactly once on each side of it anchor
//     the alignment instead (as in "patience diff": the longest increasing run of
//     their positions is matched) and the stretches between anchors go back to
//     step 1. A stretch with no such anchor is left unmatched (missing then extra).
// Steps 1 and 2 give an exact LCS; when step 3 was needed the result is a correct
// alignment that may not be the longest, and it says it is approximate.

namespace {

using Matches = std::vector<std::pair<qsizetype, qsizetype>>;

// Diagonal steps one stretch may take before anchors are used instead.
constexpr qint64 StretchBudget = 20'000'000;

// The longest increasing run of B positions among values unique to both sides of
// a[aLo, aHi) and b[bLo, bHi) (patience sorting, O(k log k)).
Matches uniqueAnchors(const std::vector<int> &a, const std::vector<int> &b, qsizetype aLo,
                      qsizetype aHi, qsizetype bLo, qsizetype bHi) {
    struct Seen {
        qsizetype countA = 0, countB = 0, posB = -1;
    };
    QHash<int, Seen> seen;
    seen.reserve(aHi - aLo);
    for (qsizetype i = aLo; i < aHi; ++i)
        ++seen[a[size_t(i)]].countA;
    for (qsizetype j = bLo; j < bHi; ++j) {
        auto it = seen.find(b[size_t(j)]);
        if (it == seen.end())
            continue;
        ++it->countB;
        it->posB = j;
    }
    Matches candidates;
    for (qsizetype i = aLo; i < aHi; ++i) {
        const Seen s = seen.value(a[size_t(i)]);
        if (s.countA == 1 && s.countB == 1)
            candidates.emplace_back(i, s.posB);
    }
    std::vector<qsizetype> tails; // index into candidates
    std::vector<qsizetype> previous(candidates.size(), -1);
    for (size_t i = 0; i < candidates.size(); ++i) {
        const qsizetype value = candidates[i].second;
        auto it =
            std::lower_bound(tails.begin(), tails.end(), value, [&](qsizetype c, qsizetype v) {
                return candidates[size_t(c)].second < v;
            });
        if (it != tails.begin())
            previous[i] = *(it - 1);
        if (it == tails.end())
            tails.push_back(qsizetype(i));
        else
            *it = qsizetype(i);
    }
    Matches anchors(tails.size());
    qsizetype k = tails.empty() ? -1 : tails.back();
    for (size_t i = tails.size(); i > 0; --i) {
        anchors[i - 1] = candidates[size_t(k)];
        k = previous[size_t(k)];
    }
    return anchors;
}

class Aligner {
public:
    Aligner(const std::vector<int> &a, const std::vector<int> &b, Matches &out)
        : m_a(a)
        , m_b(b)
        , m_out(out) {}

    bool approximate = false;

    void align(qsizetype aLo, qsizetype aHi, qsizetype bLo, qsizetype bHi) {
        while (aLo < aHi && bLo < bHi && m_a[size_t(aLo)] == m_b[size_t(bLo)])
            m_out.emplace_back(aLo++, bLo++);
        qsizetype suffix = 0;
        while (aLo < aHi - suffix && bLo < bHi - suffix &&
               m_a[size_t(aHi - suffix - 1)] == m_b[size_t(bHi - suffix - 1)])
            ++suffix;
        if (aLo < aHi - suffix && bLo < bHi - suffix)
            middle(aLo, aHi - suffix, bLo, bHi - suffix);
        for (qsizetype i = suffix; i > 0; --i)
            m_out.emplace_back(aHi - i, bHi - i);
    }

private:
    // Myers' middle snake over a[aLo, aHi) and b[bLo, bHi), both non-empty and with
    // different first and last elements (align() trimmed them).
    void middle(qsizetype aLo, qsizetype aHi, qsizetype bLo, qsizetype bHi) {
        const qsizetype n = aHi - aLo;
        const qsizetype m = bHi - bLo;
        const qsizetype total = n + m;
        const qsizetype delta = n - m;
        const bool odd = (delta & 1) != 0;
        const qsizetype size = 2 * std::min(n, m) + 2;
        std::vector<qsizetype> forwardV(size_t(size), 0);
        std::vector<qsizetype> backwardV(size_t(size), 0);
        const auto at = [size](std::vector<qsizetype> &v, qsizetype k) -> qsizetype & {
            return v[size_t(((k % size) + size) % size)];
        };
        const auto A = [&](qsizetype i) { return m_a[size_t(aLo + i)]; };
        const auto B = [&](qsizetype j) { return m_b[size_t(bLo + j)]; };
        qint64 work = 0;
        for (qsizetype h = 0; h <= total / 2 + (total % 2); ++h) {
            if (work > StretchBudget) {
                forwardV = {};
                backwardV = {};
                anchorInstead(aLo, aHi, bLo, bHi);
                return;
            }
            for (int r = 0; r < 2; ++r) {
                const bool forward = r == 0;
                std::vector<qsizetype> &c = forward ? forwardV : backwardV;
                std::vector<qsizetype> &d = forward ? backwardV : forwardV;
                const qsizetype kLo = -(h - 2 * std::max<qsizetype>(0, h - m));
                const qsizetype kHi = h - 2 * std::max<qsizetype>(0, h - n);
                for (qsizetype k = kLo; k <= kHi; k += 2) {
                    qsizetype x = (k == -h || (k != h && at(c, k - 1) < at(c, k + 1)))
                                      ? at(c, k + 1)
                                      : at(c, k - 1) + 1;
                    qsizetype y = x - k;
                    const qsizetype xs = x;
                    const qsizetype ys = y;
                    if (forward) {
                        while (x < n && y < m && A(x) == B(y))
                            ++x, ++y;
                    } else {
                        while (x < n && y < m && A(n - x - 1) == B(m - y - 1))
                            ++x, ++y;
                    }
                    work += 1 + (x - xs);
                    at(c, k) = x;
                    const qsizetype z = -(k - delta);
                    const bool checkHere = forward ? odd : !odd;
                    const qsizetype bound = forward ? h - 1 : h;
                    if (checkHere && z >= -bound && z <= bound && at(c, k) + at(d, z) >= n) {
                        qsizetype sx, sy, ux, uy, dd;
                        if (forward) {
                            dd = 2 * h - 1;
                            sx = xs, sy = ys, ux = x, uy = y;
                        } else {
                            dd = 2 * h;
                            sx = n - x, sy = m - y, ux = n - xs, uy = m - ys;
                        }
                        forwardV = {};
                        backwardV = {};
                        split(aLo, aHi, bLo, bHi, dd, sx, sy, ux, uy);
                        return;
                    }
                }
            }
        }
    }

    void split(qsizetype aLo, qsizetype aHi, qsizetype bLo, qsizetype bHi, qsizetype d, qsizetype x,
               qsizetype y, qsizetype u, qsizetype v) {
        const qsizetype n = aHi - aLo;
        const qsizetype m = bHi - bLo;
        if (d > 1 || (x != u && y != v)) {
            align(aLo, aLo + x, bLo, bLo + y);
            for (qsizetype i = 0; i < u - x; ++i)
                m_out.emplace_back(aLo + x + i, bLo + y + i);
            align(aLo + u, aHi, bLo + v, bHi);
        } else {
            // One insertion or deletion: the shorter side is a prefix of the longer.
            for (qsizetype i = 0; i < std::min(n, m); ++i)
                m_out.emplace_back(aLo + i, bLo + i);
        }
    }

    // Step 3: the stretch was too costly for Myers.
    void anchorInstead(qsizetype aLo, qsizetype aHi, qsizetype bLo, qsizetype bHi) {
        approximate = true;
        const Matches anchors = uniqueAnchors(m_a, m_b, aLo, aHi, bLo, bHi);
        qsizetype aAt = aLo, bAt = bLo;
        for (const auto &[i, j] : anchors) {
            align(aAt, i, bAt, j);
            m_out.emplace_back(i, j);
            aAt = i + 1;
            bAt = j + 1;
        }
        // Without anchors the stretch stays unmatched; after the last one, what is
        // left is smaller than the stretch, so this ends.
        if (!anchors.empty())
            align(aAt, aHi, bAt, bHi);
    }

    const std::vector<int> &m_a;
    const std::vector<int> &m_b;
    Matches &m_out;
};

} // namespace

std::vector<std::pair<qsizetype, qsizetype>>
alignSequences(const std::vector<int> &a, const std::vector<int> &b, bool *approximate) {
    Matches out;
    Aligner aligner(a, b, out);
    aligner.align(0, qsizetype(a.size()), 0, qsizetype(b.size()));
    if (approximate)
        *approximate = aligner.approximate;
    return out;
}

// --- The diff ----------------------------------------------------------------------

namespace {

// What a message is compared by, once normalised.
struct Normalised {
    int id = 0; // equal ids: equal messages
    bool isJson = false;
    bool isObject = false;
    QByteArray shape;         // JSON objects: sorted top-level keys; empty otherwise
    QByteArray discriminator; // JSON objects: the value of a "type"-like field
};

// Fields that usually say what kind of message an object is.
constexpr const char *DiscriminatorKeys[] = {"type",   "op",   "event", "method",
                                             "action", "kind", "cmd"};

class Normaliser {
public:
    explicit Normaliser(const SessionDiffOptions &options)
        : m_options(options) {}

    Normalised normalise(const SessionMessage &message) {
        Normalised out;
        QByteArray key;
        key.reserve(message.payload.size() + 8);
        key += char(message.direction == Direction::Outgoing ? 'o' : 'i');
        key += char('a' + int(message.kind));
        std::optional<QJsonValue> json;
        if (message.kind == LogKind::Text)
            json = parseJson(message.payload);
        if (json) {
            out.isJson = true;
            out.isObject = json->isObject();
            key += 'J';
            Location location;
            appendCanonical(key, *json, m_options.ignore, location);
            if (json->isObject()) {
                const QJsonObject object = json->toObject();
                out.shape = object.keys().join(QLatin1Char(',')).toUtf8();
                for (const char *name : DiscriminatorKeys) {
                    const QJsonValue value = object.value(QLatin1String(name));
                    if (!value.isUndefined()) {
                        Location at;
                        out.discriminator = QByteArray(name) + '=';
                        appendCanonical(out.discriminator, value, {}, at);
                        break;
                    }
                }
            } else {
                out.shape = "[]";
            }
        } else if (message.kind == LogKind::Close) {
            // RFC 6455 §5.5.1: the code, then the reason.
            key += message.hasCloseCode ? QByteArray::number(message.closeCode) : QByteArray("-");
            key += ' ';
            key += message.payload.size() >= 2 ? message.payload.mid(2) : QByteArray();
        } else {
            key += 'R';
            key += message.payload;
        }
        auto it = m_ids.constFind(key);
        if (it == m_ids.constEnd())
            it = m_ids.insert(key, int(m_ids.size()));
        out.id = it.value();
        return out;
    }

private:
    const SessionDiffOptions &m_options;
    QHash<QByteArray, int> m_ids;
};

qint64 firstDifference(const QByteArray &a, const QByteArray &b) {
    const qsizetype n = std::min(a.size(), b.size());
    for (qsizetype i = 0; i < n; ++i) {
        if (a.at(i) != b.at(i))
            return i;
    }
    return a.size() == b.size() ? -1 : n;
}

// Whether two unequal messages are one message in two forms (a changed pair) rather
// than two different messages.
bool similar(const SessionMessage &x, const Normalised &nx, const SessionMessage &y,
             const Normalised &ny) {
    if (x.direction != y.direction || x.kind != y.kind)
        return false;
    if (nx.isJson != ny.isJson)
        return false;
    if (nx.isJson) {
        if (nx.isObject != ny.isObject)
            return false;
        if (!nx.discriminator.isEmpty() || !ny.discriminator.isEmpty())
            return nx.discriminator == ny.discriminator;
        return nx.shape == ny.shape;
    }
    switch (x.kind) {
    case LogKind::Ping:
    case LogKind::Pong:
    case LogKind::Close:
        return true;
    default:
        break;
    }
    // Text and binary: alike when what they share at both ends is at least half of
    // the longer one.
    const QByteArray &p = x.payload;
    const QByteArray &q = y.payload;
    const qsizetype longest = std::max(p.size(), q.size());
    if (longest == 0)
        return true;
    const qsizetype shortest = std::min(p.size(), q.size());
    qsizetype prefix = 0;
    while (prefix < shortest && p.at(prefix) == q.at(prefix))
        ++prefix;
    qsizetype suffix = 0;
    while (suffix < shortest - prefix && p.at(p.size() - suffix - 1) == q.at(q.size() - suffix - 1))
        ++suffix;
    return 2 * (prefix + suffix) >= longest;
}

// How far a message of a gap looks for its changed partner: gaps are usually short,
// and a long one (two sessions with nothing in common) must not cost N·M.
constexpr qsizetype PairingLookahead = 64;

} // namespace

SessionDiffResult diffSessions(const RecordedSession &a, const RecordedSession &b,
                               const SessionDiffOptions &options) {
    Normaliser normaliser(options);
    std::vector<Normalised> na, nb;
    na.reserve(size_t(a.messages.size()));
    nb.reserve(size_t(b.messages.size()));
    std::vector<int> ida, idb;
    ida.reserve(size_t(a.messages.size()));
    idb.reserve(size_t(b.messages.size()));
    for (const SessionMessage &message : a.messages) {
        na.push_back(normaliser.normalise(message));
        ida.push_back(na.back().id);
    }
    for (const SessionMessage &message : b.messages) {
        nb.push_back(normaliser.normalise(message));
        idb.push_back(nb.back().id);
    }

    SessionDiffResult result;
    const Matches matches = alignSequences(ida, idb, &result.approximate);
    result.pairs.reserve(std::max(a.messages.size(), b.messages.size()) + 16);

    const auto changedPair = [&](qsizetype i, qsizetype j) {
        DiffPair pair;
        pair.kind = DiffKind::Changed;
        pair.a = i;
        pair.b = j;
        const SessionMessage &x = a.messages.at(i);
        const SessionMessage &y = b.messages.at(j);
        if (na[size_t(i)].isJson && nb[size_t(j)].isJson) {
            // Parsed again: keeping every message's JSON tree would cost far more memory
            // than the few changed pairs cost time.
            pair.paths =
                jsonDifferences(*parseJson(x.payload), *parseJson(y.payload), options.ignore);
            if (pair.paths.isEmpty()) // different only in a way paths cannot show
                pair.paths << QStringLiteral("$");
        } else if (x.kind == LogKind::Close) {
            if (x.closeCode != y.closeCode || x.hasCloseCode != y.hasCloseCode)
                pair.paths << QStringLiteral("code");
            if (x.payload.mid(2) != y.payload.mid(2))
                pair.paths << QStringLiteral("reason");
        } else {
            pair.paths << QStringLiteral("$");
            pair.firstDifferentByte = firstDifference(x.payload, y.payload);
        }
        return pair;
    };

    // A gap: A's [aFrom, aTo) and B's [bFrom, bTo) have no equal message in common.
    // Similar messages pair up in order as changed; the rest are missing or extra.
    const auto emitGap = [&](qsizetype aFrom, qsizetype aTo, qsizetype bFrom, qsizetype bTo) {
        qsizetype j = bFrom;
        for (qsizetype i = aFrom; i < aTo; ++i) {
            qsizetype partner = -1;
            const qsizetype limit = std::min(bTo, j + PairingLookahead);
            for (qsizetype k = j; k < limit; ++k) {
                if (similar(a.messages.at(i), na[size_t(i)], b.messages.at(k), nb[size_t(k)])) {
                    partner = k;
                    break;
                }
            }
            if (partner < 0) {
                DiffPair pair;
                pair.kind = DiffKind::Missing;
                pair.a = i;
                result.pairs.push_back(pair);
                continue;
            }
            for (; j < partner; ++j) {
                DiffPair pair;
                pair.kind = DiffKind::Extra;
                pair.b = j;
                result.pairs.push_back(pair);
            }
            result.pairs.push_back(changedPair(i, partner));
            j = partner + 1;
        }
        for (; j < bTo; ++j) {
            DiffPair pair;
            pair.kind = DiffKind::Extra;
            pair.b = j;
            result.pairs.push_back(pair);
        }
    };

    qsizetype aAt = 0, bAt = 0;
    for (const auto &[i, j] : matches) {
        emitGap(aAt, i, bAt, j);
        DiffPair pair;
        pair.a = i;
        pair.b = j;
        result.pairs.push_back(pair);
        aAt = i + 1;
        bAt = j + 1;
    }
    emitGap(aAt, a.messages.size(), bAt, b.messages.size());

    // Moved: a missing message that is extra elsewhere, unchanged.
    QMultiHash<int, size_t> extras;
    for (size_t p = 0; p < result.pairs.size(); ++p) {
        if (result.pairs[p].kind == DiffKind::Extra)
            extras.insert(nb[size_t(result.pairs[p].b)].id, p);
    }
    if (!extras.isEmpty()) {
        for (DiffPair &pair : result.pairs) {
            if (pair.kind != DiffKind::Missing)
                continue;
            auto it = extras.find(na[size_t(pair.a)].id);
            if (it == extras.end())
                continue;
            DiffPair &other = result.pairs[it.value()];
            pair.movedTo = other.b;
            other.movedTo = pair.a;
            extras.erase(it);
            ++result.moved;
        }
    }

    // Timing: the gap before each message that is in both, against the previous one.
    if (options.timingThresholdUs) {
        qsizetype prevA = -1, prevB = -1;
        for (DiffPair &pair : result.pairs) {
            if (pair.a < 0 || pair.b < 0)
                continue;
            if (prevA >= 0) {
                pair.gapAUs = a.messages.at(pair.a).timestampUs - a.messages.at(prevA).timestampUs;
                pair.gapBUs = b.messages.at(pair.b).timestampUs - b.messages.at(prevB).timestampUs;
                pair.timingDifferent =
                    std::abs(pair.gapAUs - pair.gapBUs) > *options.timingThresholdUs;
            }
            prevA = pair.a;
            prevB = pair.b;
        }
    }

    for (const DiffPair &pair : result.pairs) {
        switch (pair.kind) {
        case DiffKind::Equal:
            ++result.equal;
            break;
        case DiffKind::Changed:
            ++result.changed;
            break;
        case DiffKind::Missing:
            ++result.missing;
            break;
        case DiffKind::Extra:
            ++result.extra;
            break;
        }
        if (pair.timingDifferent)
            ++result.timing;
    }
    return result;
}

} // namespace ws::log

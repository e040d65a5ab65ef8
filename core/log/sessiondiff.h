#pragma once

#include "log/logrecord.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>
#include <vector>

class QJsonValue;

namespace ws::log {

class LogStore;

// One message of a session as the diff sees it: a data message (text, binary) or,
// when control frames are compared, a ping, pong or close.
struct SessionMessage {
    QByteArray payload; // text and binary: the message; close: code then reason
    qint64 timestampUs = 0;
    qsizetype storeIndex = -1; // the record's row in the file's log
    Direction direction = Direction::Outgoing;
    LogKind kind = LogKind::Text;
    quint16 closeCode = 0;
    bool hasCloseCode = false;
};

// The messages of one connection of a log: a recorded session.
struct RecordedSession {
    QString file;
    quint32 connection = 0;
    QString connectionName;
    QString url;
    bool clientSide = false; // our client's side of the connection (we masked what we sent)
    int connectionCount = 0; // connections in the file
    QList<SessionMessage> messages;

    // "connection 1 (client, ws://127.0.0.1:9001/), 12 messages"; "connection 2 of 3
    // (...)" when the file holds several.
    QString description() const;
};

// Which connection of a file to take, and what of it.
struct SessionSelection {
    // A connection id as written in the file; none: the first client-side connection
    // that has messages (our client's view of the exchange), else the first
    // connection that has messages.
    std::optional<quint32> connection;
    bool includeControl = false; // pings, pongs and closes as messages of their own
};

// The connection of `store` that `selection` names; false (with *error) when the
// store has no such connection, or none with messages.
bool extractSession(const LogStore &store, const SessionSelection &selection,
                    RecordedSession *session, QString *error = nullptr);
// Reads a JSON Lines log (or a HAR file, by its .har extension) and extracts one
// connection's messages.
bool loadSession(const QString &path, const SessionSelection &selection, RecordedSession *session,
                 QString *error = nullptr);

// A JSON path in the usual dotted notation, as `--ignore` takes it: `$.ts`,
// `$..requestId` (that key at any depth), `$.items[*].id`, `$['odd key'][0]`,
// `$.*.x`. Matches concrete locations; a value found at a matching location is left
// out of the comparison.
class JsonPath {
public:
    // nullopt (with *error) for a malformed path.
    static std::optional<JsonPath> parse(const QString &text, QString *error = nullptr);

    QString text() const { return m_text; }
    // A concrete location: object keys as strings, array positions as integers.
    struct Step {
        QString key;
        qsizetype index = -1; // >= 0: an array position
    };
    bool matches(const std::vector<Step> &location) const;

private:
    struct Segment {
        enum class Type : quint8 { Key, Index, Wildcard };
        Type type = Type::Key;
        bool descendant = false; // `..`: any number of levels before this one
        QString key;
        qsizetype index = -1;
    };
    bool matchFrom(size_t segment, const std::vector<Step> &location, size_t step) const;

    QString m_text;
    std::vector<Segment> m_segments;
};

struct SessionDiffOptions {
    QList<JsonPath> ignore;
    // Gaps between consecutive messages whose lengths differ by more than this are
    // reported; none: timing is not compared.
    std::optional<qint64> timingThresholdUs;
};

enum class DiffKind : quint8 {
    Equal,   // the same message in both
    Changed, // a message of A that B sends or receives in another form
    Missing, // in A only
    Extra,   // in B only
};
const char *diffKindName(DiffKind kind);

// One line of the alignment.
struct DiffPair {
    DiffKind kind = DiffKind::Equal;
    qsizetype a = -1; // index into A's messages, -1 for Extra
    qsizetype b = -1; // index into B's messages, -1 for Missing
    // Missing/Extra: the same message sits elsewhere on the other side (it moved):
    // its index there; -1 otherwise.
    qsizetype movedTo = -1;
    // Changed: where the two differ. JSON: the paths whose values differ ("$.v",
    // "$.items[2]"), at most MaxPathsListed of them; text and binary: "$".
    QStringList paths;
    // Changed text or binary, and JSON that is not the same JSON at all: the first
    // byte offset where the payloads differ; -1 otherwise.
    qint64 firstDifferentByte = -1;
    // Equal and Changed pairs: the gap to the previous pair that is in both, in each
    // session, when timing is compared and the two differ by more than the threshold.
    bool timingDifferent = false;
    qint64 gapAUs = 0;
    qint64 gapBUs = 0;

    bool isDifference() const { return kind != DiffKind::Equal || timingDifferent; }
};

struct SessionDiffResult {
    static constexpr int MaxPathsListed = 50;

    std::vector<DiffPair> pairs;
    qsizetype equal = 0, changed = 0, missing = 0, extra = 0, moved = 0, timing = 0;
    // The alignment gave up on part of the sessions (too many differences in one
    // stretch to align within the time budget): that stretch is shown as missing then
    // extra, which is a correct diff but maybe not the shortest.
    bool approximate = false;

    bool isSame() const { return changed + missing + extra + timing == 0; }
    qsizetype differences() const { return changed + missing + extra + timing; }
    // "3 equal, 1 changed, 1 missing, 2 extra (1 moved), 1 timing"
    QString summary() const;
};

// Compares two sessions message by message.
SessionDiffResult diffSessions(const RecordedSession &a, const RecordedSession &b,
                               const SessionDiffOptions &options = {});

// The structural comparison the diff uses, for the window's detail pane: the paths
// where two JSON values differ (key order ignored, numbers compared by value), after
// leaving out what `ignore` matches. At most SessionDiffResult::MaxPathsListed.
QStringList jsonDifferences(const QJsonValue &a, const QJsonValue &b,
                            const QList<JsonPath> &ignore = {});
// The payload as JSON (an object or an array), or nullopt when it is not JSON.
std::optional<QJsonValue> payloadJson(const SessionMessage &message);

// A one-line, escaped rendering of a message for diff output: the text, or
// "[binary 3 bytes] 0102ff", "[ping] abc", "[close 1000] bye".
QString messagePreview(const SessionMessage &message, int maxChars = 160);

// Exposed for tests: the longest common subsequence of two sequences of small
// integers as matched index pairs, ascending: Myers' O((N+M)·D) algorithm in linear
// space, with values unique to both sides as anchors where a stretch would cost more
// than a budget of work (see sessiondiff.cpp); `approximate` is set when that
// happened, and the alignment may then be shorter than the longest.
std::vector<std::pair<qsizetype, qsizetype>>
alignSequences(const std::vector<int> &a, const std::vector<int> &b, bool *approximate = nullptr);

} // namespace ws::log

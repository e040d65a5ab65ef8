#include "diffcommand.h"

#include "commandline.h"
#include "output.h"

#include "log/sessiondiff.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <unistd.h>

namespace ws {

namespace {

using log::DiffKind;
using log::DiffPair;
using log::RecordedSession;
using log::SessionDiffResult;
using log::SessionMessage;

QString diffHelp() {
    return QStringLiteral(
        "Compares the messages of one connection in each of two logs (JSON Lines, as "
        "--save and the window write them; .har files are read too). Messages are "
        "aligned as a longest common subsequence of (direction, type, payload), not "
        "position by position, and each is equal, changed (the same kind of message "
        "in another form: the same JSON \"type\" field or keys, or mostly the same "
        "text or bytes), missing (only in A) or extra (only in B); a message that "
        "is missing in one place and extra in another is marked as moved. JSON "
        "objects and arrays are compared by structure: key order does not matter, "
        "numbers compare by value, and a change lists the JSON paths that differ. "
        "Binary messages are compared by bytes, other text as text.\n\n"
        "Output: unified style, \"-\" for A's side, \"+\" for B's, \"!\" for a "
        "timing difference, then a summary line. Each message line shows its "
        "direction (\">\" sent, \"<\" received).\n\n"
        "--json prints one JSON object:\n"
        "  {\"a\": SIDE, \"b\": SIDE, \"same\": bool, \"ignore\": [PATH...],\n"
        "   \"summary\": {\"equal\", \"changed\", \"missing\", \"extra\", \"moved\",\n"
        "               \"timing\": N, \"approximate\": bool},\n"
        "   \"pairs\": [{\"kind\": \"equal|changed|missing|extra\", \"a\": INDEX|null,\n"
        "              \"b\": INDEX|null, \"direction\": \"out|in\",\n"
        "              \"type\": \"text|binary|ping|pong|close\", \"paths\": [PATH...],\n"
        "              \"offset\": N, \"movedTo\": INDEX,\n"
        "              \"timing\": {\"gapAMs\", \"gapBMs\"}}...]}\n"
        "SIDE is {\"file\", \"connection\", \"name\", \"url\", \"clientSide\", \"messages\"}; "
        "indices are 0-based; \"paths\" (changed), \"offset\" (first differing byte), "
        "\"movedTo\" (the same message on the other side) and \"timing\" appear when they "
        "apply.\n\n"
        "Exit status:\n"
        "  0  the sessions are the same (after --ignore)\n"
        "  1  they differ\n"
        "  2  usage error, or a file that could not be read");
}

enum class Colour { Auto, Always, Never };

struct Style {
    bool colour = false;
    QByteArray paint(const char *sgr, const QByteArray &text) const {
        if (!colour)
            return text;
        return QByteArray("\x1b[") + sgr + 'm' + text + "\x1b[0m";
    }
};

const char *typeName(log::LogKind kind) {
    switch (kind) {
    case log::LogKind::Binary:
        return "binary";
    case log::LogKind::Ping:
        return "ping";
    case log::LogKind::Pong:
        return "pong";
    case log::LogKind::Close:
        return "close";
    default:
        return "text";
    }
}

QByteArray arrow(const SessionMessage &message) {
    return message.direction == Direction::Outgoing ? QByteArray(">") : QByteArray("<");
}

QByteArray milliseconds(qint64 us) {
    return QByteArray::number(double(us) / 1000.0, 'f', 1) + " ms";
}

// Unified output, in a buffer written in large pieces: a diff of 100,000 messages
// is 100,000 lines.
class TextWriter {
public:
    TextWriter(const RecordedSession &a, const RecordedSession &b, const SessionDiffResult &result,
               Style style, int context)
        : m_a(a)
        , m_b(b)
        , m_result(result)
        , m_style(style)
        , m_context(context) {}

    void write() {
        line(m_style.paint("1", "--- " + m_a.file.toUtf8() + "  " + m_a.description().toUtf8()));
        line(m_style.paint("1", "+++ " + m_b.file.toUtf8() + "  " + m_b.description().toUtf8()));
        const std::vector<DiffPair> &pairs = m_result.pairs;
        const qsizetype n = qsizetype(pairs.size());
        // How many messages of each side come before each pair, for hunk headers.
        qsizetype i = 0;
        qsizetype aBefore = 0, bBefore = 0;
        qsizetype aAt = 0, bAt = 0; // messages before pair `i`
        qsizetype counted = 0;
        const auto advanceTo = [&](qsizetype index) {
            for (; counted < index; ++counted) {
                aAt += pairs[size_t(counted)].a >= 0;
                bAt += pairs[size_t(counted)].b >= 0;
            }
        };
        while (i < n) {
            if (!pairs[size_t(i)].isDifference()) {
                ++i;
                continue;
            }
            // A hunk: from `context` pairs before this difference to `context` pairs
            // after the last difference that is no further than 2·context from the next.
            const qsizetype start = std::max<qsizetype>(0, i - m_context);
            qsizetype end = i + 1;
            qsizetype lastDifference = i;
            while (end < n) {
                if (pairs[size_t(end)].isDifference())
                    lastDifference = end;
                else if (end - lastDifference > 2 * qsizetype(m_context))
                    break;
                ++end;
            }
            end = std::min(n, lastDifference + 1 + m_context);
            advanceTo(start);
            aBefore = aAt;
            bBefore = bAt;
            qsizetype aCount = 0, bCount = 0;
            for (qsizetype k = start; k < end; ++k) {
                aCount += pairs[size_t(k)].a >= 0;
                bCount += pairs[size_t(k)].b >= 0;
            }
            line(m_style.paint("36", "@@ -" + range(aBefore, aCount) + " +" +
                                         range(bBefore, bCount) + " @@"));
            for (qsizetype k = start; k < end; ++k)
                writePair(pairs[size_t(k)]);
            i = end;
        }
        line(m_style.paint("1", summary().toUtf8()));
        flush();
    }

private:
    QString summary() const {
        if (m_result.isSame())
            return QStringLiteral("same: %1").arg(m_result.summary());
        return QStringLiteral("different: %1").arg(m_result.summary());
    }

    static QByteArray range(qsizetype before, qsizetype count) {
        // As diff -u: a hunk with nothing of one side names the message before it.
        const qsizetype start = count > 0 ? before + 1 : before;
        if (count == 1)
            return QByteArray::number(start);
        return QByteArray::number(start) + ',' + QByteArray::number(count);
    }

    QByteArray show(const SessionMessage &message) const {
        return arrow(message) + ' ' + log::messagePreview(message, 200).toUtf8();
    }

    void writePair(const DiffPair &pair) {
        switch (pair.kind) {
        case DiffKind::Equal: {
            const SessionMessage &message = m_a.messages.at(pair.a);
            if (pair.timingDifferent)
                line(m_style.paint("35", "! " + show(message) + timing(pair)));
            else
                line("  " + show(message));
            break;
        }
        case DiffKind::Changed: {
            line(m_style.paint("31", "- " + show(m_a.messages.at(pair.a))));
            line(m_style.paint("32", "+ " + show(m_b.messages.at(pair.b))));
            QByteArray note = "    changed at " + pair.paths.join(QLatin1String(", ")).toUtf8();
            if (pair.firstDifferentByte >= 0)
                note += " (first difference at byte " +
                        QByteArray::number(pair.firstDifferentByte) + ")";
            line(m_style.paint("33", note));
            if (pair.timingDifferent)
                line(m_style.paint("35", "!   " + timing(pair).trimmed()));
            break;
        }
        case DiffKind::Missing: {
            QByteArray text = "- " + show(m_a.messages.at(pair.a));
            if (pair.movedTo >= 0)
                text += "   (moved: +" + QByteArray::number(pair.movedTo + 1) + ")";
            line(m_style.paint("31", text));
            break;
        }
        case DiffKind::Extra: {
            QByteArray text = "+ " + show(m_b.messages.at(pair.b));
            if (pair.movedTo >= 0)
                text += "   (moved: -" + QByteArray::number(pair.movedTo + 1) + ")";
            line(m_style.paint("32", text));
            break;
        }
        }
    }

    static QByteArray timing(const DiffPair &pair) {
        return "   (timing: " + milliseconds(pair.gapAUs) + " after the previous message, " +
               milliseconds(pair.gapBUs) + " in B)";
    }

    void line(const QByteArray &text) {
        m_buffer += text;
        m_buffer += '\n';
        if (m_buffer.size() >= (1 << 16))
            flush();
    }
    void flush() {
        std::fwrite(m_buffer.constData(), 1, size_t(m_buffer.size()), stdout);
        std::fflush(stdout);
        m_buffer.clear();
    }

    const RecordedSession &m_a;
    const RecordedSession &m_b;
    const SessionDiffResult &m_result;
    Style m_style;
    int m_context;
    QByteArray m_buffer;
};

QJsonObject sideJson(const RecordedSession &session) {
    return {{QStringLiteral("file"), session.file},
            {QStringLiteral("connection"), qint64(session.connection)},
            {QStringLiteral("name"), session.connectionName},
            {QStringLiteral("url"), session.url},
            {QStringLiteral("clientSide"), session.clientSide},
            {QStringLiteral("messages"), qint64(session.messages.size())}};
}

QJsonObject resultJson(const RecordedSession &a, const RecordedSession &b,
                       const SessionDiffResult &result, const QStringList &ignore) {
    QJsonArray pairs;
    for (const DiffPair &pair : result.pairs) {
        const SessionMessage &message = pair.a >= 0 ? a.messages.at(pair.a) : b.messages.at(pair.b);
        QJsonObject object{
            {QStringLiteral("kind"), QLatin1String(log::diffKindName(pair.kind))},
            {QStringLiteral("a"), pair.a >= 0 ? QJsonValue(qint64(pair.a)) : QJsonValue()},
            {QStringLiteral("b"), pair.b >= 0 ? QJsonValue(qint64(pair.b)) : QJsonValue()},
            {QStringLiteral("direction"),
             QLatin1String(message.direction == Direction::Outgoing ? "out" : "in")},
            {QStringLiteral("type"), QLatin1String(typeName(message.kind))}};
        if (!pair.paths.isEmpty())
            object.insert(QStringLiteral("paths"), QJsonArray::fromStringList(pair.paths));
        if (pair.firstDifferentByte >= 0)
            object.insert(QStringLiteral("offset"), pair.firstDifferentByte);
        if (pair.movedTo >= 0)
            object.insert(QStringLiteral("movedTo"), qint64(pair.movedTo));
        if (pair.timingDifferent)
            object.insert(QStringLiteral("timing"),
                          QJsonObject{{QStringLiteral("gapAMs"), double(pair.gapAUs) / 1000.0},
                                      {QStringLiteral("gapBMs"), double(pair.gapBUs) / 1000.0}});
        pairs.append(object);
    }
    const QJsonObject summary{{QStringLiteral("equal"), qint64(result.equal)},
                              {QStringLiteral("changed"), qint64(result.changed)},
                              {QStringLiteral("missing"), qint64(result.missing)},
                              {QStringLiteral("extra"), qint64(result.extra)},
                              {QStringLiteral("moved"), qint64(result.moved)},
                              {QStringLiteral("timing"), qint64(result.timing)},
                              {QStringLiteral("approximate"), result.approximate}};
    return {{QStringLiteral("a"), sideJson(a)},
            {QStringLiteral("b"), sideJson(b)},
            {QStringLiteral("same"), result.isSame()},
            {QStringLiteral("ignore"), QJsonArray::fromStringList(ignore)},
            {QStringLiteral("summary"), summary},
            {QStringLiteral("pairs"), pairs}};
}

} // namespace

int DiffCommand::run(const QStringList &arguments) {
    CommandLine commandLine("diff", diffHelp(), Trouble);
    commandLine.addPositionalArgument(QStringLiteral("A"), QStringLiteral("The first log."));
    commandLine.addPositionalArgument(QStringLiteral("B"),
                                      QStringLiteral("The second log, compared with A."));
    const auto ignore = makeOption(
        "ignore",
        "Leave this JSON path out of the comparison (repeatable): $.ts, $..requestId (at any "
        "depth), $.items[*].id, $['a key'][0].",
        "path");
    const auto connection = makeOption(
        "connection",
        "The connection to compare in both logs, by its id in the file (default: the first "
        "client-side connection with messages, else the first with messages).",
        "id");
    const auto connectionA = makeOption("connection-a", "The connection to take from A.", "id");
    const auto connectionB = makeOption("connection-b", "The connection to take from B.", "id");
    const auto control =
        makeOption("control", "Compare pings, pongs and closes too (close code and reason).");
    const auto timingThreshold = makeOption(
        "timing-threshold",
        "Compare timing: report a message whose gap to the previous message differs by more "
        "than this between A and B (default: timing is not compared).",
        "ms");
    const auto context =
        makeOption("U,unified", "Messages of context around each difference (default 3).", "n");
    const auto colour = makeOption("color",
                                   "auto (default: when standard output is a terminal and NO_COLOR "
                                   "is not set), always or never.",
                                   "when");
    const auto json = makeOption("json", "Print the diff as one JSON object (see above).");
    const auto quiet = makeOption("q,quiet", "Print nothing: only the exit status says.");
    commandLine.addOptions({ignore, connection, connectionA, connectionB, control, timingThreshold,
                            context, colour, json, quiet});
    if (const std::optional<int> status = commandLine.parse(arguments))
        return *status;
    const QStringList files = commandLine.positionalArguments();
    if (files.size() != 2)
        return commandLine.usageError(QStringLiteral("expects two logs: wsw diff A.jsonl B.jsonl"));

    log::SessionSelection selectA, selectB;
    selectA.includeControl = selectB.includeControl = commandLine.isSet(control);
    const auto readConnection = [&](const QCommandLineOption &option, std::optional<quint32> *out) {
        if (!commandLine.isSet(option))
            return true;
        quint32 id = 0;
        if (!commandLine.readInteger(option, 0, std::numeric_limits<quint32>::max(), &id))
            return false;
        *out = id;
        return true;
    };
    if (!readConnection(connection, &selectA.connection) ||
        !readConnection(connection, &selectB.connection) ||
        !readConnection(connectionA, &selectA.connection) ||
        !readConnection(connectionB, &selectB.connection))
        return commandLine.usageError(
            QStringLiteral("--connection, --connection-a and --connection-b expect a connection "
                           "id (a whole number)"));

    log::SessionDiffOptions options;
    for (const QString &text : commandLine.values(ignore)) {
        QString error;
        const std::optional<log::JsonPath> path = log::JsonPath::parse(text, &error);
        if (!path)
            return commandLine.usageError(QStringLiteral("--ignore: %1").arg(error));
        options.ignore.append(*path);
    }
    qint64 thresholdMs = -1;
    if (!commandLine.readInteger(timingThreshold, 0, qint64(1) << 40, &thresholdMs))
        return commandLine.usageError(
            QStringLiteral("--timing-threshold expects milliseconds (0 or more)"));
    if (thresholdMs >= 0)
        options.timingThresholdUs = thresholdMs * 1000;
    int contextLines = 3;
    if (!commandLine.readInteger(context, 0, 1'000'000, &contextLines))
        return commandLine.usageError(QStringLiteral("-U expects a number of messages"));
    Colour colourMode = Colour::Auto;
    if (commandLine.isSet(colour)) {
        const QString value = commandLine.value(colour);
        if (value == QLatin1String("always"))
            colourMode = Colour::Always;
        else if (value == QLatin1String("never"))
            colourMode = Colour::Never;
        else if (value != QLatin1String("auto"))
            return commandLine.usageError(QStringLiteral("--color expects auto, always or never"));
    }

    RecordedSession a, b;
    QString error;
    if (!log::loadSession(files.at(0), selectA, &a, &error) ||
        !log::loadSession(files.at(1), selectB, &b, &error)) {
        commandLine.printError(error);
        return Trouble;
    }
    const SessionDiffResult result = log::diffSessions(a, b, options);
    const int status = result.isSame() ? Same : Different;
    if (commandLine.isSet(quiet))
        return status;
    if (commandLine.isSet(json)) {
        writeLine(stdout, QJsonDocument(resultJson(a, b, result, commandLine.values(ignore)))
                              .toJson(QJsonDocument::Compact));
        return status;
    }
    Style style;
    if (colourMode == Colour::Always)
        style.colour = true;
    else if (colourMode == Colour::Auto)
        style.colour = ::isatty(STDOUT_FILENO) == 1 && qEnvironmentVariableIsEmpty("NO_COLOR") &&
                       qgetenv("TERM") != "dumb";
    TextWriter(a, b, result, style, contextLines).write();
    return status;
}

} // namespace ws

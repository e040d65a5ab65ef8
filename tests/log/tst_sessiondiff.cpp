// The session diff: alignment, JSON comparison, ignored paths, binary, control frames,
// timing, connection selection, and a 100,000-message diff.

#include "logtesthelpers.h"

#include "log/harfile.h"
#include "log/jsonlinesfile.h"
#include "log/sessiondiff.h"

#include <QElapsedTimer>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTest>

using namespace ws;
using namespace ws::log;
using namespace wstest;

namespace {

constexpr Direction Out = Direction::Outgoing;
constexpr Direction In = Direction::Incoming;

struct Message {
    Direction direction;
    QByteArray payload;
    LogKind kind = LogKind::Text;
    qint64 timeMs = -1; // -1: 10 ms after the previous one
};

RecordedSession session(const QList<Message> &messages) {
    RecordedSession s;
    qint64 t = 1'700'000'000'000'000;
    for (const Message &m : messages) {
        t = m.timeMs >= 0 ? 1'700'000'000'000'000 + m.timeMs * 1000 : t + 10'000;
        SessionMessage message;
        message.direction = m.direction;
        message.payload = m.payload;
        message.kind = m.kind;
        message.timestampUs = t;
        if (m.kind == LogKind::Close && m.payload.size() >= 2) {
            message.hasCloseCode = true;
            message.closeCode = quint16((quint8(m.payload[0]) << 8) | quint8(m.payload[1]));
        }
        s.messages.append(message);
    }
    return s;
}

// The diff as a compact string: one letter per pair (= equal, ~ changed, - missing,
// + extra), for rows that read like the expected alignment.
QString shape(const SessionDiffResult &result) {
    QString out;
    for (const DiffPair &pair : result.pairs) {
        switch (pair.kind) {
        case DiffKind::Equal:
            out += QLatin1Char('=');
            break;
        case DiffKind::Changed:
            out += QLatin1Char('~');
            break;
        case DiffKind::Missing:
            out += QLatin1Char('-');
            break;
        case DiffKind::Extra:
            out += QLatin1Char('+');
            break;
        }
    }
    return out;
}

QList<JsonPath> paths(const QStringList &texts) {
    QList<JsonPath> out;
    for (const QString &text : texts) {
        QString error;
        const std::optional<JsonPath> path = JsonPath::parse(text, &error);
        if (!path)
            qFatal("%s", qPrintable(error));
        out.append(*path);
    }
    return out;
}

SessionDiffOptions ignoring(const QStringList &texts) {
    SessionDiffOptions options;
    options.ignore = paths(texts);
    return options;
}

// The LCS length of two integer sequences, by the O(N·M) table: the reference the
// aligner must reach.
qsizetype lcsLength(const std::vector<int> &a, const std::vector<int> &b) {
    std::vector<qsizetype> row(b.size() + 1, 0), previous(b.size() + 1, 0);
    for (size_t i = 1; i <= a.size(); ++i) {
        for (size_t j = 1; j <= b.size(); ++j)
            row[j] = a[i - 1] == b[j - 1] ? previous[j - 1] + 1 : std::max(previous[j], row[j - 1]);
        std::swap(row, previous);
    }
    return previous[b.size()];
}

} // namespace

class TestSessionDiff : public QObject {
    Q_OBJECT
private slots:
    void equalSessions() {
        const RecordedSession a =
            session({{Out, R"({"type":"hello"})"}, {In, "welcome"}, {Out, "bye"}});
        const SessionDiffResult result = diffSessions(a, a);
        QVERIFY(result.isSame());
        QCOMPARE(shape(result), QStringLiteral("==="));
        QCOMPARE(result.summary(), QStringLiteral("3 equal, 0 changed, 0 missing, 0 extra"));
    }

    void changedField() {
        const RecordedSession a = session({{Out, R"({"type":"subscribe","channel":"a"})"},
                                           {In, R"({"type":"price","value":1,"ts":5})"},
                                           {Out, "bye"}});
        const RecordedSession b = session({{Out, R"({"type":"subscribe","channel":"a"})"},
                                           {In, R"({"type":"price","value":2,"ts":5})"},
                                           {Out, "bye"}});
        const SessionDiffResult result = diffSessions(a, b);
        QCOMPARE(shape(result), QStringLiteral("=~="));
        const DiffPair &changed = result.pairs[1];
        QCOMPARE(changed.a, 1);
        QCOMPARE(changed.b, 1);
        QCOMPARE(changed.paths, QStringList{QStringLiteral("$.value")});
        QVERIFY(!result.isSame());
        QCOMPARE(result.changed, 1);
    }

    void changedNeedsTheSameKindOfMessage() {
        // Different "type": not one message changed but one missing and one extra.
        const RecordedSession a = session({{In, R"({"type":"price","value":1})"}});
        const RecordedSession b = session({{In, R"({"type":"error","value":1})"}});
        QCOMPARE(shape(diffSessions(a, b)), QStringLiteral("-+"));
        // Same keys, no type field: the same shape pairs.
        const RecordedSession c = session({{In, R"({"x":1,"y":[1,2]})"}});
        const RecordedSession d = session({{In, R"({"y":[1,3],"x":1})"}});
        const SessionDiffResult result = diffSessions(c, d);
        QCOMPARE(shape(result), QStringLiteral("~"));
        QCOMPARE(result.pairs[0].paths, QStringList{QStringLiteral("$.y[1]")});
        // Another direction never pairs.
        const RecordedSession e = session({{Out, R"({"x":1})"}});
        const RecordedSession f = session({{In, R"({"x":2})"}});
        QCOMPARE(shape(diffSessions(e, f)), QStringLiteral("-+"));
    }

    void missingMessage() {
        const RecordedSession a =
            session({{Out, "one"}, {In, "two"}, {Out, "three"}, {In, "four"}});
        const RecordedSession b = session({{Out, "one"}, {Out, "three"}, {In, "four"}});
        const SessionDiffResult result = diffSessions(a, b);
        QCOMPARE(shape(result), QStringLiteral("=-=="));
        QCOMPARE(result.pairs[1].a, 1);
        QCOMPARE(result.pairs[1].b, -1);
        QCOMPARE(result.missing, 1);
        QCOMPARE(result.pairs[2].a, 2);
        QCOMPARE(result.pairs[2].b, 1);
    }

    void extraMessage() {
        const RecordedSession a = session({{Out, "one"}, {In, "two"}});
        const RecordedSession b = session({{Out, "one"}, {In, "surprise!"}, {In, "two"}});
        const SessionDiffResult result = diffSessions(a, b);
        QCOMPARE(shape(result), QStringLiteral("=+="));
        QCOMPARE(result.pairs[1].b, 1);
        QCOMPARE(result.extra, 1);
    }

    void reorderedMessages() {
        // Two replies swapped among many equal messages: a move, not everything changed.
        QList<Message> first, second;
        for (int i = 0; i < 20; ++i)
            first.append({Out, "request " + QByteArray::number(i)});
        second = first;
        second.move(5, 12);
        const SessionDiffResult result = diffSessions(session(first), session(second));
        QCOMPARE(result.equal, 19);
        QCOMPARE(result.missing, 1);
        QCOMPARE(result.extra, 1);
        QCOMPARE(result.changed, 0);
        QCOMPARE(result.moved, 1);
        for (const DiffPair &pair : result.pairs) {
            if (pair.kind == DiffKind::Missing)
                QCOMPARE(pair.movedTo, 12);
            if (pair.kind == DiffKind::Extra)
                QCOMPARE(pair.movedTo, 5);
        }
        // Two neighbours swapped.
        const RecordedSession a = session({{Out, "x"}, {In, "a"}, {In, "b"}, {Out, "y"}});
        const RecordedSession b = session({{Out, "x"}, {In, "b"}, {In, "a"}, {Out, "y"}});
        const SessionDiffResult swapped = diffSessions(a, b);
        QCOMPARE(swapped.equal, 3);
        QCOMPARE(swapped.moved, 1);
        QCOMPARE(swapped.changed, 0);
    }

    void ignoredPaths_data() {
        QTest::addColumn<QByteArray>("a");
        QTest::addColumn<QByteArray>("b");
        QTest::addColumn<QStringList>("ignore");
        QTest::addColumn<bool>("same");
        QTest::newRow("top-level")
            << QByteArray(R"({"type":"x","ts":1})") << QByteArray(R"({"type":"x","ts":2})")
            << QStringList{"$.ts"} << true;
        QTest::newRow("top-level, not ignored")
            << QByteArray(R"({"type":"x","ts":1})") << QByteArray(R"({"type":"x","ts":2})")
            << QStringList{"$.time"} << false;
        QTest::newRow("only at the top")
            << QByteArray(R"({"a":{"ts":1}})") << QByteArray(R"({"a":{"ts":2}})")
            << QStringList{"$.ts"} << false;
        QTest::newRow("descendant") << QByteArray(R"({"requestId":1,"a":{"b":[{"requestId":7}]}})")
                                    << QByteArray(R"({"requestId":2,"a":{"b":[{"requestId":8}]}})")
                                    << QStringList{"$..requestId"} << true;
        QTest::newRow("wildcard index")
            << QByteArray(R"({"items":[{"id":1,"v":"a"},{"id":2,"v":"b"}]})")
            << QByteArray(R"({"items":[{"id":9,"v":"a"},{"id":8,"v":"b"}]})")
            << QStringList{"$.items[*].id"} << true;
        QTest::newRow("wildcard index, other field differs")
            << QByteArray(R"({"items":[{"id":1,"v":"a"}]})")
            << QByteArray(R"({"items":[{"id":9,"v":"z"}]})") << QStringList{"$.items[*].id"}
            << false;
        QTest::newRow("one index")
            << QByteArray(R"([1,2,3])") << QByteArray(R"([1,5,3])") << QStringList{"$[1]"} << true;
        QTest::newRow("quoted key")
            << QByteArray(R"({"a b":1,"c":2})") << QByteArray(R"({"a b":3,"c":2})")
            << QStringList{"$['a b']"} << true;
        QTest::newRow("a key missing on one side is ignored too")
            << QByteArray(R"({"type":"x","ts":1})") << QByteArray(R"({"type":"x"})")
            << QStringList{"$.ts"} << true;
        QTest::newRow("two paths") << QByteArray(R"({"ts":1,"meta":{"id":"q"},"v":1})")
                                   << QByteArray(R"({"ts":2,"meta":{"id":"r"},"v":1})")
                                   << QStringList{"$.ts", "$.meta.id"} << true;
    }
    void ignoredPaths() {
        QFETCH(QByteArray, a);
        QFETCH(QByteArray, b);
        QFETCH(QStringList, ignore);
        QFETCH(bool, same);
        const SessionDiffResult result =
            diffSessions(session({{In, a}}), session({{In, b}}), ignoring(ignore));
        QCOMPARE(result.isSame(), same);
    }

    void ignoredPathsAreNotListed() {
        const SessionDiffResult result =
            diffSessions(session({{In, R"({"type":"t","ts":1,"v":1})"}}),
                         session({{In, R"({"type":"t","ts":2,"v":2})"}}), ignoring({"$.ts"}));
        QCOMPARE(shape(result), QStringLiteral("~"));
        QCOMPARE(result.pairs[0].paths, QStringList{QStringLiteral("$.v")});
    }

    void badJsonPaths() {
        for (const char *text : {"ts", "$.", "$[", "$[x]", "$['open", "$.a[1"}) {
            QString error;
            QVERIFY2(!JsonPath::parse(QString::fromLatin1(text), &error), text);
            QVERIFY(error.contains(QLatin1String("bad JSON path")));
        }
    }

    void keyOrderAndNumbers() {
        const RecordedSession a = session({{In, R"({"a":1,"b":{"x":[1,2.5],"y":null},"c":"s"})"}});
        const RecordedSession b =
            session({{In, R"({ "c" : "s", "b" : {"y":null, "x":[1.0,25e-1]}, "a":1e0 })"}});
        QVERIFY(diffSessions(a, b).isSame());
        // A number is not its string.
        const RecordedSession c = session({{In, R"({"a":1})"}});
        const RecordedSession d = session({{In, R"({"a":"1"})"}});
        const SessionDiffResult result = diffSessions(c, d);
        QCOMPARE(shape(result), QStringLiteral("~"));
        QCOMPARE(result.pairs[0].paths, QStringList{QStringLiteral("$.a")});
    }

    void textThatIsNotJson() {
        const SessionDiffResult result =
            diffSessions(session({{Out, "hello world, 1"}}), session({{Out, "hello world, 2"}}));
        QCOMPARE(shape(result), QStringLiteral("~"));
        QCOMPARE(result.pairs[0].firstDifferentByte, 13);
        // Nothing alike: not a change.
        QCOMPARE(shape(diffSessions(session({{Out, "abc"}}), session({{Out, "xyz"}}))),
                 QStringLiteral("-+"));
    }

    void binary() {
        const RecordedSession a =
            session({{In, QByteArray::fromHex("0001020304"), LogKind::Binary}});
        const RecordedSession b =
            session({{In, QByteArray::fromHex("0001ff0304"), LogKind::Binary}});
        const SessionDiffResult result = diffSessions(a, b);
        QCOMPARE(shape(result), QStringLiteral("~"));
        QCOMPARE(result.pairs[0].firstDifferentByte, 2);
        QVERIFY(diffSessions(a, a).isSame());
        // The same bytes as text and as binary are different messages.
        const RecordedSession text = session({{In, "abc"}});
        const RecordedSession bytes = session({{In, "abc", LogKind::Binary}});
        QCOMPARE(shape(diffSessions(text, bytes)), QStringLiteral("-+"));
        // A shorter payload differs where it ends.
        const SessionDiffResult shorter =
            diffSessions(a, session({{In, QByteArray::fromHex("00010203"), LogKind::Binary}}));
        QCOMPARE(shorter.pairs[0].firstDifferentByte, 4);
    }

    void controlFrames() {
        const QByteArray close1000 = QByteArray::fromHex("03e8") + "bye";
        const QByteArray close1001 = QByteArray::fromHex("03e9") + "bye";
        const RecordedSession a = session({{Out, "x"},
                                           {Out, "p", LogKind::Ping},
                                           {In, "p", LogKind::Pong},
                                           {Out, close1000, LogKind::Close}});
        const RecordedSession b = session({{Out, "x"},
                                           {Out, "p", LogKind::Ping},
                                           {In, "p", LogKind::Pong},
                                           {Out, close1001, LogKind::Close}});
        const SessionDiffResult result = diffSessions(a, b);
        QCOMPARE(shape(result), QStringLiteral("===~"));
        QCOMPARE(result.pairs[3].paths, QStringList{QStringLiteral("code")});
    }

    void controlFramesAreLeftOutUnlessAsked() {
        LogStore store;
        SessionPair pair;
        QVERIFY(pair.converse(QByteArray::fromHex("0001ff")));
        for (const auto &tagged : std::as_const(pair.events))
            store.append(tagged.connection, tagged.event);
        store.commitPending();
        RecordedSession data, all;
        QVERIFY(extractSession(store, {}, &data));
        QVERIFY(extractSession(store, {std::nullopt, true}, &all));
        // Hello, the binary reply, the fragmented message.
        QCOMPARE(data.messages.size(), 3);
        QCOMPARE(data.messages[2].payload, QByteArray("fragmented message"));
        QVERIFY(all.messages.size() > data.messages.size());
        QVERIFY(std::any_of(all.messages.cbegin(), all.messages.cend(),
                            [](const SessionMessage &m) { return m.kind == LogKind::Ping; }));
        QVERIFY(
            std::any_of(all.messages.cbegin(), all.messages.cend(), [](const SessionMessage &m) {
                return m.kind == LogKind::Close && m.hasCloseCode && m.closeCode == 1000;
            }));
    }

    void connectionSelection() {
        // Connection 1 is the client, 2 the server; a server-only connection 0 comes first.
        LogStore store;
        SessionPair pair;
        QVERIFY(pair.converse(QByteArray::fromHex("0001ff")));
        LogRecord early;
        early.connection = 0;
        early.kind = LogKind::Text;
        early.payload = "server side only";
        early.set(LogRecord::InMessageView);
        early.set(LogRecord::Outgoing);
        FrameHeader unmasked;
        unmasked.opcode = 0x1;
        unmasked.payloadLength = quint64(early.payload.size());
        early.setHeader(unmasked);
        early.set(LogRecord::InFrameView);
        store.appendRecord(early);
        for (const auto &tagged : std::as_const(pair.events))
            store.append(tagged.connection, tagged.event);
        store.commitPending();

        RecordedSession chosen;
        QVERIFY(extractSession(store, {}, &chosen));
        QCOMPARE(chosen.connection, quint32(SessionPair::ClientConnection));
        QVERIFY(chosen.clientSide);
        QCOMPARE(chosen.connectionCount, 3);
        QCOMPARE(chosen.messages.first().direction, Out);
        QCOMPARE(chosen.messages.first().payload, QByteArray("Hello"));

        RecordedSession server;
        QVERIFY(extractSession(store, {SessionPair::ServerConnection}, &server));
        QVERIFY(!server.clientSide);
        QCOMPARE(server.messages.first().direction, In);

        RecordedSession none;
        QString error;
        QVERIFY(!extractSession(store, {quint32(42)}, &none, &error));
        QCOMPARE(error, QStringLiteral("no connection 42 in the log (it has: 0, 1, 2)"));
    }

    void loadFromFile() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        LogStore store;
        SessionPair pair;
        QVERIFY(pair.converse(QByteArray::fromHex("0001ff")));
        store.setConnectionInfo(
            1, {QStringLiteral("client"), QStringLiteral("ws://example.com/chat")});
        for (const auto &tagged : std::as_const(pair.events))
            store.append(tagged.connection, tagged.event);
        store.commitPending();
        const QString path = dir.filePath(QStringLiteral("a.jsonl"));
        QVERIFY(JsonLinesFile::save(store, path));

        RecordedSession loaded;
        QString error;
        QVERIFY2(loadSession(path, {}, &loaded, &error), qPrintable(error));
        QCOMPARE(loaded.file, path);
        QCOMPARE(loaded.description(),
                 QStringLiteral("connection 1 of 2 (client, ws://example.com/chat), 3 messages"));
        QVERIFY(diffSessions(loaded, loaded).isSame());

        // The same session exported as HAR (as Chrome DevTools writes it) compares equal
        // to the JSON Lines log.
        const QString har = dir.filePath(QStringLiteral("a.har"));
        QVERIFY(HarFile::save(store, har));
        RecordedSession fromHar;
        QVERIFY2(loadSession(har, {}, &fromHar, &error), qPrintable(error));
        QCOMPARE(fromHar.messages.size(), 3);
        QVERIFY(diffSessions(loaded, fromHar).isSame());

        QVERIFY(!loadSession(dir.filePath(QStringLiteral("absent.jsonl")), {}, &loaded, &error));
        QVERIFY(error.contains(QLatin1String("absent.jsonl")));
    }

    void timingThreshold() {
        const RecordedSession a = session({{Out, "a", LogKind::Text, 0},
                                           {In, "b", LogKind::Text, 10},
                                           {Out, "c", LogKind::Text, 20}});
        const RecordedSession b = session({{Out, "a", LogKind::Text, 100},
                                           {In, "b", LogKind::Text, 112},
                                           {Out, "c", LogKind::Text, 250}});
        // Without a threshold, timing is not compared.
        QVERIFY(diffSessions(a, b).isSame());
        SessionDiffOptions options;
        options.timingThresholdUs = 5'000;
        const SessionDiffResult result = diffSessions(a, b, options);
        QVERIFY(!result.isSame());
        QCOMPARE(result.timing, 1);
        QVERIFY(!result.pairs[0].timingDifferent); // the first message has no gap
        QVERIFY(!result.pairs[1].timingDifferent); // 10 ms against 12 ms
        QVERIFY(result.pairs[2].timingDifferent);  // 10 ms against 138 ms
        QCOMPARE(result.pairs[2].gapAUs, 10'000);
        QCOMPARE(result.pairs[2].gapBUs, 138'000);
        options.timingThresholdUs = 200'000;
        QVERIFY(diffSessions(a, b, options).isSame());
    }

    void alignmentIsALongestCommonSubsequence() {
        // Random sequences over small alphabets (many repeats, few unique anchors)
        // against the quadratic reference.
        quint32 seed = 12345;
        const auto next = [&seed] {
            seed = seed * 1103515245 + 12345;
            return int((seed >> 16) & 0x7fff);
        };
        for (int round = 0; round < 300; ++round) {
            const int alphabet = 2 + round % 7;
            std::vector<int> a(size_t(next() % 60)), b(size_t(next() % 60));
            for (int &v : a)
                v = next() % alphabet;
            for (int &v : b)
                v = next() % alphabet;
            bool approximate = true;
            const auto matches = alignSequences(a, b, &approximate);
            QVERIFY(!approximate);
            QCOMPARE(qsizetype(matches.size()), lcsLength(a, b));
            for (size_t i = 0; i < matches.size(); ++i) {
                QCOMPARE(a[size_t(matches[i].first)], b[size_t(matches[i].second)]);
                if (i > 0) {
                    QVERIFY(matches[i].first > matches[i - 1].first);
                    QVERIFY(matches[i].second > matches[i - 1].second);
                }
            }
        }
    }

    void tooManyDifferencesForMyers() {
        // Every other message differs over 60,000: more work than the budget, so unique
        // messages anchor the alignment; it must still be a valid one, and close.
        std::vector<int> a, b;
        for (int i = 0; i < 60'000; ++i) {
            a.push_back(i);
            b.push_back(i % 2 == 0 ? i : 1'000'000 + i);
        }
        bool approximate = false;
        QElapsedTimer timer;
        timer.start();
        const auto matches = alignSequences(a, b, &approximate);
        qInfo("60,000 with 30,000 differences: %lld ms", timer.elapsed());
        QVERIFY(approximate);
        QCOMPARE(qsizetype(matches.size()), 30'000);
        for (size_t i = 0; i < matches.size(); ++i) {
            QCOMPARE(a[size_t(matches[i].first)], b[size_t(matches[i].second)]);
            if (i > 0)
                QVERIFY(matches[i].first > matches[i - 1].first &&
                        matches[i].second > matches[i - 1].second);
        }
    }

    void largeSessions() {
        // 100,000 messages each: a request/reply exchange with ids, where B lost a few
        // replies, changed some and gained others.
        QList<Message> first, second;
        for (int i = 0; i < 50'000; ++i) {
            const QByteArray id = QByteArray::number(i);
            first.append({Out, R"({"type":"get","id":)" + id + "}"});
            first.append({In, R"({"type":"reply","id":)" + id + R"(,"value":)" + id + "}"});
            second.append(first[first.size() - 2]);
            if (i % 1000 == 500)
                continue; // lost reply
            if (i % 1000 == 700)
                second.append({In, R"({"type":"reply","id":)" + id + R"(,"value":-1})"});
            else
                second.append(first.last());
            if (i % 1000 == 900)
                second.append({In, R"({"type":"notice","n":)" + id + "}"});
        }
        const RecordedSession a = session(first);
        const RecordedSession b = session(second);
        QCOMPARE(a.messages.size(), 100'000);
        QElapsedTimer timer;
        timer.start();
        const SessionDiffResult result = diffSessions(a, b);
        const qint64 elapsed = timer.elapsed();
        qInfo("100,000 against %lld messages: %lld ms", qlonglong(b.messages.size()), elapsed);
        QVERIFY(!result.approximate);
        QCOMPARE(result.missing, 50);
        QCOMPARE(result.changed, 50);
        QCOMPARE(result.extra, 50);
        QCOMPARE(result.equal, 100'000 - 100);
        QVERIFY2(elapsed < 10'000, qPrintable(QString::number(elapsed)));

        // Nothing in common at all: every message of each side unmatched, fast.
        QList<Message> other;
        for (int i = 0; i < 100'000; ++i)
            other.append({In, "other " + QByteArray::number(i), LogKind::Binary});
        timer.restart();
        const SessionDiffResult disjoint = diffSessions(a, session(other));
        qInfo("100,000 against 100,000 disjoint messages: %lld ms", timer.elapsed());
        QCOMPARE(disjoint.missing, 100'000);
        QCOMPARE(disjoint.extra, 100'000);
        QVERIFY2(timer.elapsed() < 10'000, qPrintable(QString::number(timer.elapsed())));
    }

    void preview() {
        SessionMessage binary;
        binary.kind = LogKind::Binary;
        binary.payload = QByteArray::fromHex("0102ff");
        QCOMPARE(messagePreview(binary), QStringLiteral("[binary 3 bytes] 0102ff"));
        SessionMessage text;
        text.payload = "line\nbreak";
        QVERIFY(!messagePreview(text).contains(QLatin1Char('\n')));
    }
};

QTEST_GUILESS_MAIN(TestSessionDiff)
#include "tst_sessiondiff.moc"

// The placeholders of replayed messages: built-ins, captures by JSON path,
// substitutions, and the errors that stop a replay before anything is sent.
#include "replay/placeholders.h"

#include <QDateTime>
#include <QRegularExpression>
#include <QTest>

using ws::replay::JsonPath;
using ws::replay::Placeholders;

class TestReplayPlaceholders : public QObject {
    Q_OBJECT
private slots:
    void pathFinds_data();
    void pathFinds();
    void badPaths_data();
    void badPaths();
    void uuidIsFreshPerOccurrence();
    void nowInMillisecondsAndIso();
    void counterCountsMessagesThatUseIt();
    void captureTakesTheFirstReplyWithThePath();
    void captureWithoutValueIsAnError();
    void unknownPlaceholdersAreErrors_data();
    void unknownPlaceholdersAreErrors();
    void bracesThatAreNoPlaceholderStayText();
    void captureNamesAreChecked();
    void substitutionReplacesTheRecordedValue();
};

void TestReplayPlaceholders::pathFinds_data() {
    QTest::addColumn<QString>("path");
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QByteArray>("expected"); // placeholderText(); "-" for not found
    const QByteArray doc = R"({"auth":{"token":"abc","ttl":3600,"ok":true},
        "items":[{"id":7.5},{"id":"x"}],"a b":{"c":null},"obj":{"k":[1,2]}})";
    QTest::newRow("string") << "$.auth.token" << doc << QByteArray("abc");
    QTest::newRow("integer") << "$.auth.ttl" << doc << QByteArray("3600");
    QTest::newRow("bool") << "$.auth.ok" << doc << QByteArray("true");
    QTest::newRow("index") << "$.items[0].id" << doc << QByteArray("7.5");
    QTest::newRow("index 1") << "$.items[1]['id']" << doc << QByteArray("x");
    QTest::newRow("quoted name") << R"($['a b']["c"])" << doc << QByteArray("null");
    QTest::newRow("object as JSON") << "$.obj" << doc << QByteArray(R"({"k":[1,2]})");
    QTest::newRow("missing member") << "$.auth.nope" << doc << QByteArray("-");
    QTest::newRow("index past the end") << "$.items[2]" << doc << QByteArray("-");
    QTest::newRow("member of an array") << "$.items.id" << doc << QByteArray("-");
    QTest::newRow("not JSON") << "$.a" << QByteArray("hello") << QByteArray("-");
    QTest::newRow("top-level array") << "$[1]" << QByteArray("[10,20]") << QByteArray("20");
}

void TestReplayPlaceholders::pathFinds() {
    QFETCH(QString, path);
    QFETCH(QByteArray, json);
    QFETCH(QByteArray, expected);
    QString error;
    const std::optional<JsonPath> parsed = JsonPath::parse(path, &error);
    QVERIFY2(parsed, qPrintable(error));
    const std::optional<QJsonValue> value = parsed->find(json);
    if (expected == "-")
        QVERIFY(!value);
    else
        QCOMPARE(ws::replay::placeholderText(value.value_or(QJsonValue::Undefined)), expected);
}

void TestReplayPlaceholders::badPaths_data() {
    QTest::addColumn<QString>("path");
    QTest::newRow("no $") << "auth.token";
    QTest::newRow("empty member") << "$..token";
    QTest::newRow("unclosed bracket") << "$.a[0";
    QTest::newRow("negative index") << "$.a[-1]";
    QTest::newRow("bare word in brackets") << "$[abc]";
    QTest::newRow("junk") << "$ .a";
}

void TestReplayPlaceholders::badPaths() {
    QFETCH(QString, path);
    QString error;
    QVERIFY(!JsonPath::parse(path, &error));
    QVERIFY(error.contains(path));
}

void TestReplayPlaceholders::uuidIsFreshPerOccurrence() {
    Placeholders placeholders;
    const QByteArray out = placeholders.expand("{{uuid}} {{ uuid }}").value();
    const QList<QByteArray> parts = out.split(' ');
    QCOMPARE(parts.size(), 2);
    static const QRegularExpression v4(
        QStringLiteral("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"));
    QVERIFY(v4.match(QString::fromLatin1(parts[0])).hasMatch());
    QVERIFY(v4.match(QString::fromLatin1(parts[1])).hasMatch());
    QVERIFY(parts[0] != parts[1]);
}

void TestReplayPlaceholders::nowInMillisecondsAndIso() {
    Placeholders placeholders;
    const qint64 before = QDateTime::currentMSecsSinceEpoch();
    const QList<QByteArray> parts = placeholders.expand("{{now}}|{{now:iso}}").value().split('|');
    const qint64 after = QDateTime::currentMSecsSinceEpoch();
    const qint64 ms = parts[0].toLongLong();
    QVERIFY(ms >= before && ms <= after);
    const QDateTime iso = QDateTime::fromString(QString::fromLatin1(parts[1]), Qt::ISODateWithMs);
    QVERIFY(iso.isValid());
    QCOMPARE(iso.toMSecsSinceEpoch(), ms); // one time per message
    QVERIFY(parts[1].endsWith('Z'));
}

void TestReplayPlaceholders::counterCountsMessagesThatUseIt() {
    Placeholders placeholders;
    QCOMPARE(placeholders.expand("n={{counter}} again {{counter}}").value(),
             QByteArray("n=1 again 1"));
    QCOMPARE(placeholders.expand("no counter here").value(), QByteArray("no counter here"));
    QCOMPARE(placeholders.expand(R"({"n":{{counter}}})").value(), QByteArray(R"({"n":2})"));
}

void TestReplayPlaceholders::captureTakesTheFirstReplyWithThePath() {
    Placeholders placeholders;
    QVERIFY(placeholders.addCapture(QStringLiteral("token"),
                                    *JsonPath::parse(QStringLiteral("$.auth.token"))));
    QVERIFY(!placeholders.check("Bearer {{token}}"));
    QVERIFY(placeholders.observePeerMessage("not json").isEmpty());
    QVERIFY(placeholders.observePeerMessage(R"({"other":1})").isEmpty());
    const QStringList lines = placeholders.observePeerMessage(R"({"auth":{"token":"t1"}})");
    QCOMPARE(lines, QStringList{QStringLiteral("captured token = t1")});
    // The first one counts.
    QVERIFY(placeholders.observePeerMessage(R"({"auth":{"token":"t2"}})").isEmpty());
    QCOMPARE(placeholders.expand("Bearer {{token}}").value(), QByteArray("Bearer t1"));
}

void TestReplayPlaceholders::captureWithoutValueIsAnError() {
    Placeholders placeholders;
    QVERIFY(
        placeholders.addCapture(QStringLiteral("id"), *JsonPath::parse(QStringLiteral("$.id"))));
    QString error;
    QVERIFY(!placeholders.expand("x {{id}}", &error));
    QVERIFY2(error.contains(QLatin1String("$.id")), qPrintable(error));
}

void TestReplayPlaceholders::unknownPlaceholdersAreErrors_data() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("named");
    QTest::newRow("unknown name") << QByteArray("a {{token}} b") << "{{token}}";
    QTest::newRow("unknown format") << QByteArray("{{now:unix}}") << "unix";
    QTest::newRow("format on uuid") << QByteArray("{{uuid:x}}") << "{{uuid:x}}";
    QTest::newRow("second one unknown") << QByteArray("{{uuid}} {{nope}}") << "{{nope}}";
}

void TestReplayPlaceholders::unknownPlaceholdersAreErrors() {
    QFETCH(QByteArray, text);
    QFETCH(QString, named);
    Placeholders placeholders;
    const std::optional<QString> error = placeholders.check(text);
    QVERIFY(error);
    QVERIFY2(error->contains(named), qPrintable(*error));
    QVERIFY(!placeholders.expand(text));
}

void TestReplayPlaceholders::bracesThatAreNoPlaceholderStayText() {
    Placeholders placeholders;
    for (const QByteArray &text :
         {QByteArray(R"({{"a": 1}})"), QByteArray("{{}}"), QByteArray("{{ two words }}"),
          QByteArray("{{1abc}}"), QByteArray(R"({"a":{"b":{}}})")}) {
        QVERIFY2(!placeholders.check(text), text.constData());
        QCOMPARE(placeholders.expand(text).value(), text);
    }
}

void TestReplayPlaceholders::captureNamesAreChecked() {
    Placeholders placeholders;
    const JsonPath path = *JsonPath::parse(QStringLiteral("$.a"));
    QString error;
    QVERIFY(!placeholders.addCapture(QStringLiteral("uuid"), path, &error));
    QVERIFY(error.contains(QLatin1String("built-in")));
    QVERIFY(!placeholders.addCapture(QStringLiteral("9lives"), path, &error));
    QVERIFY(placeholders.addCapture(QStringLiteral("a.b-c_d"), path));
    QVERIFY(!placeholders.addCapture(QStringLiteral("a.b-c_d"), path, &error));
    QVERIFY(error.contains(QLatin1String("twice")));
}

void TestReplayPlaceholders::substitutionReplacesTheRecordedValue() {
    Placeholders placeholders;
    QVERIFY(placeholders.addSubstitution(*JsonPath::parse(QStringLiteral("$.session")), "OLD42"));
    // Before the replay's peer said its value, messages go as recorded.
    QCOMPARE(placeholders.expand("join OLD42").value(), QByteArray("join OLD42"));
    const QStringList lines = placeholders.observePeerMessage(R"({"session":"NEW7"})");
    QCOMPARE(lines.size(), 1);
    QCOMPARE(placeholders.expand(R"({"s":"OLD42","again":"OLD42"})").value(),
             QByteArray(R"({"s":"NEW7","again":"NEW7"})"));
    // Substituted first, then expanded.
    QCOMPARE(placeholders.expand("OLD42-{{counter}}").value(), QByteArray("NEW7-1"));
    QString error;
    QVERIFY(!placeholders.addSubstitution(*JsonPath::parse(QStringLiteral("$.x")), "", &error));
}

QTEST_GUILESS_MAIN(TestReplayPlaceholders)
#include "tst_replayplaceholders.moc"

// DisplayFilter: the grammar (what compiles, and the message and column of what
// does not) and evaluation of every field and operator against crafted records.

#include "log/displayfilter.h"
#include "log/logstore.h"

#include "logtesthelpers.h"

#include <QElapsedTimer>
#include <QTest>

using namespace ws;
using namespace ws::log;

namespace {

// A frame record as the store makes it.
LogRecord frameRecord(quint8 opcode, const QByteArray &payload, Direction direction,
                      bool fin = true, std::optional<quint32> key = {}, bool rsv1 = false,
                      LengthEncoding encoding = LengthEncoding::Short7) {
    LogRecord record;
    FrameHeader header;
    header.fin = fin;
    header.rsv1 = rsv1;
    header.opcode = opcode;
    header.maskingKey = key;
    header.payloadLength = quint64(payload.size());
    header.lengthEncoding = encoding;
    record.setHeader(header);
    record.payload = payload;
    record.kind = logKindForOpcode(opcode);
    record.connection = 1;
    record.set(LogRecord::InFrameView);
    record.set(LogRecord::InMessageView);
    record.set(LogRecord::Outgoing, direction == Direction::Outgoing);
    return record;
}

LogRecord closeRecord(quint16 code, const QByteArray &reason) {
    QByteArray payload;
    payload.append(char(code >> 8));
    payload.append(char(code & 0xFF));
    payload.append(reason);
    LogRecord record = frameRecord(0x8, payload, Direction::Incoming);
    record.closeCode = code;
    record.set(LogRecord::HasCloseCode);
    return record;
}

// A text message reassembled from several frames: no header of its own.
LogRecord messageRecord(const QByteArray &text, quint32 frames) {
    LogRecord record;
    record.kind = LogKind::Text;
    record.payload = text;
    record.length = quint64(text.size());
    record.frameCount = frames;
    record.connection = 2;
    record.set(LogRecord::InMessageView);
    return record;
}

bool accepts(const QString &expression, const LogRecord &record,
             const LogRecordExtra *extra = nullptr) {
    const DisplayFilter filter = DisplayFilter::compile(expression);
    if (!filter.isValid()) {
        qWarning("%s: %s", qPrintable(expression), qPrintable(filter.error().toString()));
        return false;
    }
    DisplayFilterContext context;
    context.setConnectionNames({{1, QStringLiteral("client 1")}, {2, QStringLiteral("client 2")}});
    context.setTimeOrigin(1'000'000);
    return filter.matches(record, extra, context);
}

} // namespace

class TestDisplayFilter : public QObject {
    Q_OBJECT

private slots:
    void valid_data();
    void valid();
    void invalid_data();
    void invalid();
    void emptyAcceptsEverything();
    void headerFields_data();
    void headerFields();
    void lengths();
    void directionAndConnection();
    void relayLegs();
    void closeFields();
    void errorAndNoteFields();
    void textAndPayload();
    void regularExpressions();
    void json_data();
    void json();
    void logic_data();
    void logic();
    void rttTimeState();
    void messagesWithoutHeader();
    void helpNamesEveryField();
    void fastOnAMillionRows();
};

void TestDisplayFilter::valid_data() {
    QTest::addColumn<QString>("expression");
    const char *const expressions[] = {
        "opcode == 9",
        "len > 125",
        "rsv1",
        "fin == 0",
        "fin == false",
        "close.code == 1002",
        "dir == in",
        "dir == received",
        "direction != out",
        "text ~ \"error\"",
        "text matches \"^a.*z$\"",
        "text =~ \"x\"",
        "text contains \"bye\"",
        "json.type == \"subscribe\"",
        "json.items[0].id >= 10",
        "json[\"content-type\"] == \"a\"",
        "json.a.b[2][0] == null",
        "json",
        "conn == \"client 2\"",
        "conn == 3",
        "conn.id == 0x10",
        "opcode == 9 && len > 3 || !rsv1",
        "(opcode == 9) and not (len > 3) or fin",
        "kind in {ping pong}",
        "opcode in {1, 2, 0x9}",
        "type == close",
        "kind == \"text\"",
        "mask && mask.key == 0x37fa213d",
        "masked",
        "payload.len <= 0",
        "wire.len >= 2",
        "length eq 5",
        "len ne 5 and len lt 6 and len le 6 and len gt 1 and len ge 1",
        "rtt > 0.5",
        "time < 1.5e1",
        "error",
        "error == InvalidUtf8",
        "error.code == 1007",
        "note == PongMismatch",
        "state == open",
        "http.status == 101",
        "compressed",
        "frames > 1",
        "preview contains \"RTT\"",
        "close.reason == \"bye\\n\\t\\\"\\\\\\x41\\u00e9\"",
        "rsv == 4 && rsv2 == 0 && !rsv3",
        "payload contains \"\\x00\"",
        "true",
        "!false",
        "   opcode==9   ",
        "!!!fin",
        "len > -1",
    };
    for (const char *expression : expressions)
        QTest::newRow(expression) << QString::fromUtf8(expression);
}

void TestDisplayFilter::valid() {
    QFETCH(QString, expression);
    const DisplayFilter filter = DisplayFilter::compile(expression);
    QVERIFY2(filter.isValid(), qPrintable(filter.error().toString()));
    QVERIFY(!filter.isEmpty());
    QCOMPARE(filter.text(), expression);
}

void TestDisplayFilter::invalid_data() {
    QTest::addColumn<QString>("expression");
    QTest::addColumn<int>("column");
    QTest::addColumn<QString>("message"); // a part of the message
    QTest::newRow("unknown field")
        << "opcod == 9" << 1 << "unknown field 'opcod' (did you mean 'opcode'?)";
    QTest::newRow("unknown field, far") << "zzzzzzzz" << 1 << "unknown field 'zzzzzzzz'";
    QTest::newRow("single =") << "opcode = 9" << 8 << "'=' alone is not an operator: use ==";
    QTest::newRow("single &") << "fin & rsv1" << 5 << "use && or and";
    QTest::newRow("single |") << "fin | rsv1" << 5 << "use || or or";
    QTest::newRow("no value") << "len >" << 6 << "expected a value after '>'";
    QTest::newRow("no value before and")
        << "len > && fin" << 7 << "expected a value after '>', found '&&'";
    QTest::newRow("string on number")
        << "len > \"abc\"" << 7 << "len is a number: it cannot be compared with a string";
    QTest::newRow("number on text")
        << "text == 5" << 9 << "text is text: compare it with a quoted string";
    QTest::newRow("contains on number")
        << "len contains \"5\"" << 5 << "'contains' applies to text; len is a number";
    QTest::newRow("contains number") << "text contains 5" << 15 << "'contains' takes a string";
    QTest::newRow("ordering a flag") << "fin > 0" << 5 << "fin is a flag: compare it with == or !=";
    QTest::newRow("flag with 2") << "fin == 2" << 8
                                 << "fin is a flag: compare it with 0, 1, true or false";
    QTest::newRow("unknown kind") << "kind == pinng" << 9
                                  << "unknown kind 'pinng' (did you mean 'ping'?)";
    QTest::newRow("unknown dir") << "dir == sideways" << 8 << "unknown dir 'sideways'";
    QTest::newRow("unknown leg") << "leg == upstream" << 8 << "unknown leg 'upstream'";
    QTest::newRow("unknown error") << "error == Bogus" << 10 << "unknown error 'Bogus'";
    QTest::newRow("ordering a name") << "kind < ping" << 6 << "kind takes == or !=";
    QTest::newRow("field as value")
        << "len == opcode" << 8 << "expected a value after '==', not the field 'opcode'";
    QTest::newRow("unterminated string") << "text == \"abc" << 9 << "unterminated string";
    QTest::newRow("bad escape") << "text == \"a\\qb\"" << 11 << "unknown escape \\q";
    QTest::newRow("short \\x") << "text == \"\\x4\"" << 10 << "\\x needs 2 hex digits";
    QTest::newRow("bad regex") << "text ~ \"(abc\"" << 8 << "invalid regular expression";
    QTest::newRow("missing )") << "(fin && rsv1" << 13
                               << "missing ')' to close the '(' at column 1";
    QTest::newRow("extra )") << "fin)" << 4 << "unexpected ')': no '(' is open";
    QTest::newRow("empty parens") << "()" << 2 << "unexpected ')': expected a field";
    QTest::newRow("two fields") << "fin rsv1" << 5 << "unexpected 'rsv1': expected && or ||";
    QTest::newRow("dangling and") << "fin &&" << 7 << "the expression ends too early";
    QTest::newRow("dangling not") << "!" << 2 << "the expression ends too early";
    QTest::newRow("leading operator") << "== 9" << 1 << "unexpected '==': expected a field";
    QTest::newRow("bare string") << "\"hello\"" << 1 << "a string cannot stand alone";
    QTest::newRow("bare number") << "42" << 1 << "a number cannot stand alone";
    QTest::newRow("bad character") << "len > 5 # x" << 9 << "unexpected character '#'";
    QTest::newRow("bad hex") << "len > 0xZZ" << 7 << "'0xZZ' is not a hexadecimal number";
    QTest::newRow("bad number") << "len > 12ab" << 7 << "'12ab' is not a number";
    QTest::newRow("in without braces")
        << "opcode in 1" << 11 << "'in' takes a set of values in braces";
    QTest::newRow("empty set") << "opcode in {}" << 12 << "the set is empty";
    QTest::newRow("unclosed set") << "opcode in {1 2" << 15
                                  << "missing '}' to close the set at column 11";
    QTest::newRow("set of wrong type") << "opcode in {1 \"x\"}" << 14 << "opcode is a number";
    QTest::newRow("bare json compared") << "json == 1" << 1 << "json needs a path";
    QTest::newRow("json path dot") << "json.a.[0]" << 7 << "a member name must follow '.'";
    QTest::newRow("json path bracket")
        << "json[x]" << 5 << "'[' in a JSON path takes an array index";
    QTest::newRow("json path unclosed") << "json[0" << 7 << "missing ']' in the JSON path";
    QTest::newRow("json ordering bool")
        << "json.a < true" << 10 << "'<' compares numbers or strings";
    QTest::newRow("regex on flag") << "fin ~ \"x\"" << 5 << "'~' applies to text; fin is a flag";
    QTest::newRow("column counts characters")
        << "text == \"é\" && bogus" << 16 << "unknown field 'bogus'";
}

void TestDisplayFilter::invalid() {
    QFETCH(QString, expression);
    QFETCH(int, column);
    QFETCH(QString, message);
    const DisplayFilter filter = DisplayFilter::compile(expression);
    QVERIFY(!filter.isValid());
    QVERIFY(!filter.isEmpty());
    QVERIFY2(filter.error().message.contains(message), qPrintable(filter.error().message));
    QCOMPARE(filter.error().column, column);
    QVERIFY(filter.error().length >= 1);
    QVERIFY(filter.error().toString().startsWith(QStringLiteral("column %1: ").arg(column)));
    // An invalid filter accepts nothing.
    DisplayFilterContext context;
    QVERIFY(!filter.matches(frameRecord(0x1, "x", Direction::Incoming), nullptr, context));
}

void TestDisplayFilter::emptyAcceptsEverything() {
    for (const QString &text : {QString(), QStringLiteral("   \t")}) {
        const DisplayFilter filter = DisplayFilter::compile(text);
        QVERIFY(filter.isValid());
        QVERIFY(filter.isEmpty());
        DisplayFilterContext context;
        QVERIFY(filter.matches(frameRecord(0x1, "x", Direction::Incoming), nullptr, context));
    }
    QVERIFY(DisplayFilter().isEmpty());
}

void TestDisplayFilter::headerFields_data() {
    QTest::addColumn<QString>("expression");
    QTest::addColumn<bool>("onPing");   // an unmasked ping, FIN set, received
    QTest::addColumn<bool>("onMasked"); // a masked text fragment with RSV1, FIN clear, sent
    QTest::newRow("opcode == 9") << "opcode == 9" << true << false;
    QTest::newRow("opcode == 1") << "opcode == 0x1" << false << true;
    QTest::newRow("opcode > 8") << "opcode > 8" << true << false;
    QTest::newRow("fin") << "fin" << true << false;
    QTest::newRow("fin == 0") << "fin == 0" << false << true;
    QTest::newRow("fin == true") << "fin == true" << true << false;
    QTest::newRow("!fin") << "!fin" << false << true;
    QTest::newRow("rsv1") << "rsv1" << false << true;
    QTest::newRow("rsv1 == 1") << "rsv1 == 1" << false << true;
    QTest::newRow("rsv == 4") << "rsv == 4" << false << true;
    QTest::newRow("rsv2") << "rsv2 || rsv3" << false << false;
    QTest::newRow("mask") << "mask" << false << true;
    QTest::newRow("masked == 0") << "masked == 0" << true << false;
    QTest::newRow("mask.key") << "mask.key == 0x37fa213d" << false << true;
    QTest::newRow("mask.key other") << "mask.key != 0x37fa213d" << false << false;
    QTest::newRow("kind == ping") << "kind == ping" << true << false;
    QTest::newRow("type == text") << "type == \"text\"" << false << true;
    QTest::newRow("kind != ping") << "kind != ping" << false << true;
    QTest::newRow("kind in") << "kind in {ping pong close}" << true << false;
    QTest::newRow("opcode in") << "opcode in {0x1 0x2}" << false << true;
}

void TestDisplayFilter::headerFields() {
    QFETCH(QString, expression);
    QFETCH(bool, onPing);
    QFETCH(bool, onMasked);
    const LogRecord ping = frameRecord(0x9, "ka", Direction::Incoming);
    const LogRecord masked =
        frameRecord(0x1, "Hello", Direction::Outgoing, false, 0x37fa213d, true);
    QCOMPARE(accepts(expression, ping), onPing);
    QCOMPARE(accepts(expression, masked), onMasked);
}

void TestDisplayFilter::lengths() {
    const LogRecord small = frameRecord(0x2, QByteArray(125, 'a'), Direction::Incoming);
    const LogRecord medium = frameRecord(0x2, QByteArray(126, 'a'), Direction::Outgoing, true,
                                         0x01020304, false, LengthEncoding::Extended16);
    const LogRecord large = frameRecord(0x2, QByteArray(70000, 'a'), Direction::Incoming, true, {},
                                        false, LengthEncoding::Extended64);
    QVERIFY(!accepts("len > 125", small));
    QVERIFY(accepts("len > 125", medium));
    QVERIFY(accepts("length == 125", small));
    QVERIFY(accepts("payload.len == 70000", large));
    // Header bytes count: 2, then 2 or 8 for the extended length, then 4 for the key.
    QVERIFY(accepts("wire.len == 127", small));
    QVERIFY(accepts("wire.len == 134", medium));
    QVERIFY(accepts("wire.len == 70010", large));
    // A length in the header that differs from the bytes logged (a crafted frame).
    LogRecord lying = small;
    lying.length = 1000;
    QVERIFY(accepts("len == 1000 && payload.len == 125", lying));
    // Events have no length.
    const LogRecord state = connectionRow(1, 0, LogKind::State);
    QVERIFY(!accepts("len >= 0", state));
    QVERIFY(!accepts("wire.len", state));
    QVERIFY(accepts("!len", state));
}

void TestDisplayFilter::directionAndConnection() {
    const LogRecord in = frameRecord(0x1, "a", Direction::Incoming);
    const LogRecord out = frameRecord(0x1, "a", Direction::Outgoing);
    LogRecord event = connectionRow(7, 0, LogKind::State);
    event.set(LogRecord::Undirected);
    QVERIFY(accepts("dir == in", in));
    QVERIFY(!accepts("dir == in", out));
    QVERIFY(accepts("dir == out", out));
    QVERIFY(accepts("direction == sent", out));
    QVERIFY(accepts("dir == none", event));
    QVERIFY(!accepts("dir == in || dir == out", event));
    QVERIFY(accepts("dir != in", event));
    QVERIFY(accepts("conn == \"client 1\"", in));
    QVERIFY(!accepts("conn == \"client 2\"", in));
    QVERIFY(accepts("conn contains \"client\"", in));
    QVERIFY(accepts("conn ~ \"^CLIENT \\\\d$\"", in));
    QVERIFY(accepts("conn == 1 && conn.id == 1", in));
    // A connection without a name is "#id", as the log shows it.
    QVERIFY(accepts("conn == \"#7\"", event));
    QVERIFY(accepts("connection == 7", event));
    QVERIFY(!accepts("conn.id > 7", event));
}

void TestDisplayFilter::relayLegs() {
    // Connections 1 and 2 are the legs of one relayed pair; 3 is a plain client.
    LogRecord clientLeg = frameRecord(0x1, "a", Direction::Incoming);
    clientLeg.connection = 1;
    LogRecord serverLeg = frameRecord(0x1, "a", Direction::Outgoing);
    serverLeg.connection = 2;
    LogRecord plain = frameRecord(0x1, "a", Direction::Incoming);
    plain.connection = 3;
    DisplayFilterContext context;
    context.setConnections({{1, {QStringLiteral("relay 1 #1 client"), {}, Leg::Client}},
                            {2, {QStringLiteral("relay 1 #1 server"), {}, Leg::Server}},
                            {3, {QStringLiteral("client 1"), {}, Leg::None}}});
    const auto matches = [&context](const char *expression, const LogRecord &record) {
        const DisplayFilter filter = DisplayFilter::compile(QString::fromLatin1(expression));
        return filter.isValid() && filter.matches(record, nullptr, context);
    };
    QVERIFY(DisplayFilter::compile(QStringLiteral("leg == server")).usesConnectionNames());
    QVERIFY(matches("leg == server", serverLeg));
    QVERIFY(!matches("leg == server", clientLeg));
    QVERIFY(!matches("leg == server", plain));
    QVERIFY(matches("leg == client && dir == in", clientLeg));
    QVERIFY(matches("leg == CLIENT", clientLeg));
    QVERIFY(matches("leg == none", plain));
    QVERIFY(matches("leg in {client server}", serverLeg));
    QVERIFY(!matches("leg in {client server}", plain));
    QVERIFY(matches("leg != none && conn contains \"#1\"", clientLeg));
    // Names and legs are set together: the names came along.
    QVERIFY(matches("conn == \"client 1\" && leg == none", plain));
}

void TestDisplayFilter::closeFields() {
    const LogRecord close = closeRecord(1002, "protocol error");
    QVERIFY(accepts("close.code == 1002", close));
    QVERIFY(accepts("close.code >= 1000 && close.code < 1003", close));
    QVERIFY(accepts("close.reason == \"protocol error\"", close));
    QVERIFY(accepts("text contains \"protocol\"", close));
    QVERIFY(accepts("kind == close && opcode == 8", close));
    // A close without a code has neither.
    const LogRecord empty = frameRecord(0x8, {}, Direction::Incoming);
    QVERIFY(!accepts("close.code", empty));
    QVERIFY(!accepts("close.reason", empty));
    QVERIFY(accepts("!close.code", empty));
    // The closed summary carries the code too.
    LogRecord summary = connectionRow(1, 0, LogKind::State);
    summary.set(LogRecord::ClosedSummary);
    summary.set(LogRecord::HasCloseCode);
    summary.closeCode = 1000;
    QVERIFY(accepts("close.code == 1000 && state == closed", summary));
    // A text message has no close code.
    QVERIFY(!accepts("close.code == 0", frameRecord(0x1, "x", Direction::Incoming)));
}

void TestDisplayFilter::errorAndNoteFields() {
    LogRecord error = connectionRow(1, 0, LogKind::Error);
    error.payload = "text message is not UTF-8";
    error.closeCode = 1007;
    error.set(LogRecord::Failure);
    LogRecordExtra extra;
    extra.error = ProtocolError::InvalidUtf8;
    QVERIFY(accepts("error", error, &extra));
    QVERIFY(accepts("error == InvalidUtf8", error, &extra));
    QVERIFY(!accepts("error == UnmaskedClientFrame", error, &extra));
    QVERIFY(accepts("error.code == 1007", error, &extra));
    QVERIFY(accepts("text contains \"UTF-8\"", error, &extra));
    QVERIFY(accepts("kind == error", error, &extra));
    // A connection-level error (no rule) is still an error.
    const LogRecord refused = connectionErrorRecord(1, 0, QStringLiteral("Connection refused"));
    QVERIFY(accepts("error", refused));
    QVERIFY(!accepts("error == InvalidUtf8", refused));
    QVERIFY(!accepts("error", frameRecord(0x1, "x", Direction::Incoming)));
    QVERIFY(DisplayFilter::compile("error == InvalidUtf8").needsExtra());
    QVERIFY(!DisplayFilter::compile("opcode == 1 && text contains \"a\"").needsExtra());

    LogRecord note = connectionRow(1, 0, LogKind::Note);
    note.payload = "pong does not answer a ping";
    LogRecordExtra noteExtra;
    noteExtra.notes.append({ConformanceNote::Kind::UnsolicitedPong, {}});
    QVERIFY(accepts("note == UnsolicitedPong", note, &noteExtra));
    QVERIFY(!accepts("note == PongMismatch", note, &noteExtra));
    QVERIFY(accepts("note", note, &noteExtra));
    QVERIFY(!accepts("note", note));

    LogRecord handshake = connectionRow(1, 0, LogKind::Handshake);
    LogRecordExtra handshakeExtra;
    handshakeExtra.httpStatus = 101;
    QVERIFY(accepts("http.status == 101", handshake, &handshakeExtra));
    QVERIFY(!accepts("http.status == 101", handshake));
}

void TestDisplayFilter::textAndPayload() {
    const LogRecord text = frameRecord(0x1, "Hello, world", Direction::Incoming);
    const LogRecord binary = frameRecord(0x2, QByteArray::fromHex("00ff10"), Direction::Incoming);
    QVERIFY(accepts("text contains \"world\"", text));
    QVERIFY(!accepts("text contains \"World\"", text)); // contains is case-sensitive
    QVERIFY(accepts("text == \"Hello, world\"", text));
    QVERIFY(accepts("text < \"Z\" && text > \"A\"", text));
    QVERIFY(!accepts("text", binary));
    QVERIFY(accepts("payload contains \"\\xff\\x10\"", binary));
    // \xHH is a raw byte, \uHHHH a character in UTF-8.
    QVERIFY(accepts("payload == \"\\x00\\xff\\x10\"", binary));
    QVERIFY(!accepts("payload == \"\\x00\\u00ff\\x10\"", binary));
    QVERIFY(accepts("payload.len == 3", binary));
    QVERIFY(accepts("text contains \"\"", text));
    LogRecord unicode = frameRecord(0x1, QStringLiteral("café ✓").toUtf8(), Direction::Incoming);
    QVERIFY(accepts("text contains \"é\"", unicode));
    QVERIFY(accepts("text contains \"\\u2713\"", unicode));
    QVERIFY(accepts("text == \"caf\\u00e9 \\u2713\"", unicode));
    QVERIFY(accepts("preview contains \"world\"", text));
    QVERIFY(accepts("preview contains \"00 ff 10\"", binary));
}

void TestDisplayFilter::regularExpressions() {
    const LogRecord text = frameRecord(0x1, "Something ERROR happened", Direction::Incoming);
    QVERIFY(accepts("text ~ \"error\"", text)); // case-insensitive, as in Wireshark
    QVERIFY(!accepts("text ~ \"(?-i)error\"", text));
    QVERIFY(accepts("text matches \"^some.*ened$\"", text));
    QVERIFY(accepts("text ~ \"\\\\bERROR\\\\b\"", text));
    QVERIFY(!accepts("text ~ \"^error\"", text));
    QVERIFY(
        accepts("text ~ \"caf\\u00e9\"", frameRecord(0x1, "CAFÉ au lait", Direction::Incoming)));
    // Binary payloads are matched as UTF-8 text (invalid sequences as U+FFFD).
    QVERIFY(accepts("payload ~ \"^.b$\"", frameRecord(0x2,
                                                      "\xff"
                                                      "b",
                                                      Direction::Incoming)));
}

void TestDisplayFilter::json_data() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("expression");
    QTest::addColumn<bool>("expected");
    const QByteArray doc =
        R"({"type":"subscribe","id":7,"price":101.5,"ok":true,"none":null,)"
        R"("items":[{"id":10},{"id":11,"tags":["a","b"]}],)"
        R"("nested":{"a":{"b":"deep"}},"content-type":"x","esc\"aped":"q\"uote",)"
        R"("uni":"caf\u00e9 \ud83d\ude00"})";
    QTest::newRow("string ==") << doc << "json.type == \"subscribe\"" << true;
    QTest::newRow("string !=") << doc << "json.type != \"subscribe\"" << false;
    QTest::newRow("number ==") << doc << "json.id == 7" << true;
    QTest::newRow("number >") << doc << "json.price > 101" << true;
    QTest::newRow("number == real") << doc << "json.price == 101.5" << true;
    QTest::newRow("number vs string") << doc << "json.id == \"7\"" << false;
    QTest::newRow("bool") << doc << "json.ok == true" << true;
    QTest::newRow("bool bare") << doc << "json.ok" << true;
    QTest::newRow("null") << doc << "json.none == null" << true;
    QTest::newRow("present") << doc << "json.none" << true;
    QTest::newRow("absent") << doc << "json.missing" << false;
    QTest::newRow("absent !") << doc << "!json.missing" << true;
    QTest::newRow("array index") << doc << "json.items[1].id == 11" << true;
    QTest::newRow("array index 0") << doc << "json.items[0].id == 10" << true;
    QTest::newRow("array out of range") << doc << "json.items[2].id" << false;
    QTest::newRow("nested array") << doc << "json.items[1].tags[1] == \"b\"" << true;
    QTest::newRow("nested object") << doc << "json.nested.a.b == \"deep\"" << true;
    QTest::newRow("dashed key") << doc << "json.content-type == \"x\"" << true;
    QTest::newRow("bracketed key") << doc << "json[\"content-type\"] == \"x\"" << true;
    QTest::newRow("escaped key and value")
        << doc << "json[\"esc\\\"aped\"] == \"q\\\"uote\"" << true;
    QTest::newRow("unicode escapes") << doc << "json.uni == \"caf\\u00e9 \U0001F600\"" << true;
    QTest::newRow("contains") << doc << "json.nested contains \"deep\"" << true;
    QTest::newRow("regex") << doc << "json.type ~ \"^sub\"" << true;
    QTest::newRow("bare json") << doc << "json" << true;
    QTest::newRow("top-level array") << QByteArray(R"([1, {"a": 2}])") << "json[1].a == 2" << true;
    QTest::newRow("whitespace") << QByteArray(" {\n \"a\" : [ 1 , 2 ] }") << "json.a[1] == 2"
                                << true;
    QTest::newRow("not json") << QByteArray("hello") << "json.type" << false;
    QTest::newRow("not json, bare") << QByteArray("hello") << "json" << false;
    QTest::newRow("truncated") << QByteArray(R"({"a":1,"type":"sub)") << "json.type" << false;
    QTest::newRow("truncated, bare") << QByteArray(R"({"a":1)") << "json" << false;
    QTest::newRow("scalar root") << QByteArray("42") << "json.a" << false;
}

void TestDisplayFilter::json() {
    QFETCH(QByteArray, text);
    QFETCH(QString, expression);
    QFETCH(bool, expected);
    QCOMPARE(accepts(expression, frameRecord(0x1, text, Direction::Incoming)), expected);
    // Only text messages are JSON.
    QVERIFY(!accepts(expression, frameRecord(0x2, text, Direction::Incoming)) ||
            expression.startsWith(QLatin1Char('!')));
    QVERIFY(DisplayFilter::compile(expression).usesJson());
}

void TestDisplayFilter::logic_data() {
    QTest::addColumn<QString>("expression");
    QTest::addColumn<bool>("expected"); // on a received ping "ka", FIN set
    QTest::newRow("and true") << "opcode == 9 && fin" << true;
    QTest::newRow("and false") << "opcode == 9 && !fin" << false;
    QTest::newRow("or") << "opcode == 1 || opcode == 9" << true;
    QTest::newRow("words") << "opcode == 1 or opcode == 9 and not rsv1" << true;
    QTest::newRow("precedence") << "opcode == 9 || opcode == 1 && rsv1" << true;
    QTest::newRow("precedence 2") << "(opcode == 9 || opcode == 1) && rsv1" << false;
    QTest::newRow("not binds tight") << "!opcode == 9" << false;
    QTest::newRow("not of group") << "!(opcode == 1)" << true;
    QTest::newRow("double not") << "!!fin" << true;
    QTest::newRow("true") << "true" << true;
    QTest::newRow("false or") << "false || dir == in" << true;
    QTest::newRow("nested") << "((((fin))))" << true;
}

void TestDisplayFilter::logic() {
    QFETCH(QString, expression);
    QFETCH(bool, expected);
    QCOMPARE(accepts(expression, frameRecord(0x9, "ka", Direction::Incoming)), expected);
}

void TestDisplayFilter::rttTimeState() {
    LogRecord pong = frameRecord(0xA, "ka", Direction::Incoming);
    pong.set(LogRecord::HasRoundTrip);
    pong.roundTripUs = 750;
    pong.timestampUs = 3'500'000; // 2.5 s after the origin the context was given
    QVERIFY(accepts("rtt > 0.5 && rtt < 1", pong));
    QVERIFY(accepts("rtt == 0.75", pong));
    QVERIFY(!accepts("rtt", frameRecord(0xA, "ka", Direction::Incoming)));
    QVERIFY(accepts("time > 2 && time <= 2.5", pong));
    LogRecord open = connectionRow(1, 0, LogKind::State);
    open.headerByte0 = quint8(SessionState::Open);
    QVERIFY(accepts("state == open", open));
    QVERIFY(accepts("state != closing", open));
    QVERIFY(!accepts("state", pong));
    LogRecord compressed = messageRecord("x", 1);
    compressed.set(LogRecord::Compressed);
    QVERIFY(accepts("compressed", compressed));
    QVERIFY(!accepts("compressed", messageRecord("x", 1)));
}

void TestDisplayFilter::messagesWithoutHeader() {
    // A message from three frames: its opcode is its kind's, header bits are absent.
    const LogRecord message = messageRecord("abc", 3);
    QVERIFY(accepts("opcode == 1", message));
    QVERIFY(accepts("frames == 3", message));
    QVERIFY(!accepts("fin", message));
    QVERIFY(!accepts("fin == 0", message));
    QVERIFY(!accepts("rsv1 == 0", message));
    QVERIFY(accepts("!rsv1", message));
    QVERIFY(accepts("len == 3", message));
    QVERIFY(accepts("conn == \"client 2\"", message));
}

void TestDisplayFilter::helpNamesEveryField() {
    const QString help = DisplayFilter::syntaxHelp();
    QVERIFY(DisplayFilter::fields().size() >= 30);
    for (const DisplayFilter::FieldInfo &field : DisplayFilter::fields()) {
        QVERIFY2(help.contains(QLatin1String(field.name)), field.name);
        // Every documented field compiles bare.
        const QString bare = QLatin1String(field.name);
        QVERIFY2(DisplayFilter::compile(bare).isValid(), field.name);
    }
}

void TestDisplayFilter::fastOnAMillionRows() {
    // The store's own layout, as the log window filters it.
    LogStore store;
    store.setClockOffset(0);
    wstest::recordManyMessages(store, 1'000'000);
    QCOMPARE(store.size(), 1'000'000);
    const DisplayFilter filter =
        DisplayFilter::compile(QStringLiteral("opcode == 1 && len > 10 && dir == in && !rsv1"));
    QVERIFY(filter.isValid());
    DisplayFilterContext context;
    QElapsedTimer timer;
    timer.start();
    qsizetype accepted = 0;
    for (qsizetype i = 0; i < store.size(); ++i) {
        const LogRecord &record = store.at(i);
        accepted += filter.matches(record, store.extraOf(record, i), context) ? 1 : 0;
    }
    const qint64 ms = timer.elapsed();
    qInfo("1,000,000 rows: %lld ms, %lld accepted", ms, qlonglong(accepted));
    QVERIFY(accepted > 0);
    // How fast (about 30 ms when idle) is for scripts/guibench.sh to measure.
}

QTEST_GUILESS_MAIN(TestDisplayFilter)
#include "tst_displayfilter.moc"

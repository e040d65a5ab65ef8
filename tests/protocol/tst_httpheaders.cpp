#include "protocol/httpheaders.h"
#include "protocoltestsupport.h"

#include <QByteArray>
#include <QRandomGenerator>
#include <QTest>

using namespace ws;
using namespace ws::test;

Q_DECLARE_METATYPE(ws::ExtensionParams)
Q_DECLARE_METATYPE(ws::HeaderBlockReader::Kind)
Q_DECLARE_METATYPE(ws::HeaderBlockReader::Result)

namespace {

using Param = ExtensionParams::Param;
using Extensions = QList<ExtensionParams>;

ExtensionParams extension(QByteArray name, QList<Param> params = {}) {
    return ExtensionParams{std::move(name), std::move(params)};
}

Param flag(QByteArray name) {
    return Param{std::move(name), std::nullopt};
}
Param param(QByteArray name, QByteArray value) {
    return Param{std::move(name), std::move(value)};
}

} // namespace

class TestHttpHeaders : public QObject {
    Q_OBJECT

private slots:
    void lookupIgnoresCase();
    void repeatedFieldsCombine();
    void tokens_data();
    void tokens();
    void httpToken_data();
    void httpToken();
    void printableExcerpt();

    void parseExtensions_data();
    void parseExtensions();
    void malformedExtensions_data();
    void malformedExtensions();
    void formatExtensions_data();
    void formatExtensions();
    void nonTokenValueIsQuoted();
    void paramLookup();

    void headerBlock_data();
    void headerBlock();
    void headerBlockStopsAtTheLimit_data();
    void headerBlockStopsAtTheLimit();
    void headerBlockLeavesWhatFollows();
};

void TestHttpHeaders::lookupIgnoresCase() {
    HttpHeaders headers;
    headers.add("Host", "example.com");
    headers.add("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
    QVERIFY(headers.contains("host"));
    QVERIFY(headers.contains("HOST"));
    QVERIFY(headers.contains("Sec-WebSocket-Key"));
    QVERIFY(!headers.contains("Hos"));
    QVERIFY(!headers.contains("Hostname"));
    QCOMPARE(headers.value("SEC-WEBSOCKET-KEY"), QByteArray("dGhlIHNhbXBsZSBub25jZQ=="));
    QCOMPARE(headers.value("Origin"), std::nullopt);
    QCOMPARE(headers.combined("Origin"), std::nullopt);
    QCOMPARE(headers.count("origin"), 0);
    QCOMPARE(headers.size(), 2);
    // The names are kept as they came.
    QCOMPARE(headers.fields().at(1).first, QByteArray("sec-websocket-key"));
}

void TestHttpHeaders::repeatedFieldsCombine() {
    HttpHeaders headers;
    headers.add("Sec-WebSocket-Protocol", "chat");
    headers.add("Origin", "http://example.com");
    headers.add("sec-websocket-protocol", "superchat, v2");
    QCOMPARE(headers.count("Sec-WebSocket-Protocol"), 2);
    QCOMPARE(headers.value("Sec-WebSocket-Protocol"), QByteArray("chat"));
    // RFC 7230 §3.2.2: repeated list fields are one list joined by commas.
    QCOMPARE(headers.combined("Sec-WebSocket-Protocol"), QByteArray("chat, superchat, v2"));
    QCOMPARE(headers.tokens("Sec-WebSocket-Protocol"),
             QList<QByteArray>({"chat", "superchat", "v2"}));

    HttpHeaders same;
    same.add("Sec-WebSocket-Protocol", "chat");
    same.add("Origin", "http://example.com");
    same.add("sec-websocket-protocol", "superchat, v2");
    QVERIFY(headers == same);
    same.add("X", "y");
    QVERIFY(!(headers == same));
}

void TestHttpHeaders::tokens_data() {
    QTest::addColumn<QByteArray>("value");
    QTest::addColumn<QList<QByteArray>>("tokens");
    QTest::addColumn<bool>("hasUpgrade");

    QTest::newRow("single") << QByteArray("Upgrade") << QList<QByteArray>{"Upgrade"} << true;
    QTest::newRow("keep-alive, Upgrade (Firefox)")
        << QByteArray("keep-alive, Upgrade") << QList<QByteArray>{"keep-alive", "Upgrade"} << true;
    QTest::newRow("lower case") << QByteArray("upgrade") << QList<QByteArray>{"upgrade"} << true;
    QTest::newRow("mixed case, tabs")
        << QByteArray("\tUpGrAdE\t,close") << QList<QByteArray>{"UpGrAdE", "close"} << true;
    QTest::newRow("empty elements")
        << QByteArray(" , ,keep-alive,, ") << QList<QByteArray>{"keep-alive"} << false;
    QTest::newRow("not a substring match")
        << QByteArray("Upgraded, Upgrade2") << QList<QByteArray>{"Upgraded", "Upgrade2"} << false;
    QTest::newRow("empty") << QByteArray() << QList<QByteArray>{} << false;
}

void TestHttpHeaders::tokens() {
    QFETCH(QByteArray, value);
    QFETCH(QList<QByteArray>, tokens);
    QFETCH(bool, hasUpgrade);
    HttpHeaders headers;
    headers.add("Connection", value);
    QCOMPARE(headers.tokens("connection"), tokens);
    QCOMPARE(headers.hasToken("Connection", "Upgrade"), hasUpgrade);
    QCOMPARE(headers.hasToken("CONNECTION", "upgrade"), hasUpgrade);
    QVERIFY(!headers.hasToken("Upgrade", "Upgrade"));
}

void TestHttpHeaders::httpToken_data() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<bool>("isToken");
    QTest::newRow("extension name") << QByteArray("permessage-deflate") << true;
    QTest::newRow("every tchar symbol") << QByteArray("!#$%&'*+-.^_`|~09azAZ") << true;
    QTest::newRow("empty") << QByteArray() << false;
    QTest::newRow("space") << QByteArray("a b") << false;
    for (char separator : QByteArray("\"(),/:;<=>?@[\\]{}")) {
        QTest::addRow("separator %c", separator) << (QByteArray("a") + separator) << false;
    }
    QTest::newRow("DEL") << QByteArray("a\x7f") << false;
    QTest::newRow("obs-text") << QByteArray("caf\xc3\xa9") << false;
}

void TestHttpHeaders::httpToken() {
    QFETCH(QByteArray, text);
    QFETCH(bool, isToken);
    QCOMPARE(isHttpToken(text), isToken);
}

void TestHttpHeaders::printableExcerpt() {
    QCOMPARE(ws::printableExcerpt("GET / HTTP/1.1"), QStringLiteral("GET / HTTP/1.1"));
    QCOMPARE(ws::printableExcerpt(QByteArray("a\r\n\0\xff", 5)),
             QStringLiteral("a\\x0d\\x0a\\x00\\xff"));
    QCOMPARE(ws::printableExcerpt("abcdef", 3), QStringLiteral("abc..."));
    QCOMPARE(ws::printableExcerpt("abc", 3), QStringLiteral("abc"));
}

void TestHttpHeaders::parseExtensions_data() {
    QTest::addColumn<QByteArray>("value");
    QTest::addColumn<Extensions>("expected");

    QTest::newRow("Chromium's offer")
        << QByteArray("permessage-deflate; client_max_window_bits")
        << Extensions{extension("permessage-deflate", {flag("client_max_window_bits")})};
    QTest::newRow("two offers of one extension (RFC 7692 §5.2)")
        << QByteArray("permessage-deflate; server_max_window_bits=10, permessage-deflate")
        << Extensions{extension("permessage-deflate", {param("server_max_window_bits", "10")}),
                      extension("permessage-deflate")};
    QTest::newRow("quoted value") << QByteArray("foo; x=\"10\"")
                                  << Extensions{extension("foo", {param("x", "10")})};
    QTest::newRow("quoted-pair inside the quotes")
        << QByteArray("foo; x=\"1\\0\"") << Extensions{extension("foo", {param("x", "10")})};
    QTest::newRow("RFC 6455 §9.1 example")
        << QByteArray("foo, bar; baz=2")
        << Extensions{extension("foo"), extension("bar", {param("baz", "2")})};
    QTest::newRow("whitespace around every separator")
        << QByteArray(" \tfoo ;  a = 1 ;b\t, bar ")
        << Extensions{extension("foo", {param("a", "1"), flag("b")}), extension("bar")};
    QTest::newRow("no whitespace at all")
        << QByteArray("permessage-deflate;client_no_context_takeover;server_max_window_bits=15")
        << Extensions{extension("permessage-deflate", {flag("client_no_context_takeover"),
                                                       param("server_max_window_bits", "15")})};
    QTest::newRow("empty list elements are skipped (RFC 7230 §7)")
        << QByteArray(", foo, ,bar,") << Extensions{extension("foo"), extension("bar")};
    QTest::newRow("empty value") << QByteArray() << Extensions{};
    QTest::newRow("whitespace only") << QByteArray(" \t ") << Extensions{};
    QTest::newRow("repeated parameter is kept (the extension judges it)")
        << QByteArray("foo; a=1; a=2")
        << Extensions{extension("foo", {param("a", "1"), param("a", "2")})};
}

void TestHttpHeaders::parseExtensions() {
    QFETCH(QByteArray, value);
    QFETCH(Extensions, expected);
    const std::optional<Extensions> parsed = ws::parseExtensions(value);
    QVERIFY(parsed.has_value());
    QCOMPARE(ws::formatExtensions(*parsed), ws::formatExtensions(expected));
    QVERIFY(*parsed == expected);
    // Round trip: what we format parses back to the same thing.
    const std::optional<Extensions> again = ws::parseExtensions(ws::formatExtensions(*parsed));
    QVERIFY(again.has_value());
    QVERIFY(*again == expected);
}

void TestHttpHeaders::malformedExtensions_data() {
    QTest::addColumn<QByteArray>("value");
    QTest::newRow("only a comma") << QByteArray(",");
    QTest::newRow("only commas") << QByteArray(" , ,");
    QTest::newRow("no name before the parameter") << QByteArray("; a=1");
    QTest::newRow("semicolon without a parameter") << QByteArray("foo;");
    QTest::newRow("two semicolons") << QByteArray("foo;; a");
    QTest::newRow("parameter without a name") << QByteArray("foo; =1");
    QTest::newRow("equals without a value") << QByteArray("foo; a=");
    QTest::newRow("equals then comma") << QByteArray("foo; a=, bar");
    QTest::newRow("value with a separator") << QByteArray("foo; a=@");
    QTest::newRow("two words in a value") << QByteArray("foo; a=1 2");
    QTest::newRow("quoted value that is not a token (§9.1)") << QByteArray("foo; a=\"1 0\"");
    QTest::newRow("empty quoted value") << QByteArray("foo; a=\"\"");
    QTest::newRow("unterminated quote") << QByteArray("foo; a=\"10");
    QTest::newRow("backslash at the end") << QByteArray("foo; a=\"10\\");
    QTest::newRow("control character in quotes") << QByteArray("foo; a=\"1\x01\"");
    QTest::newRow("name is not a token") << QByteArray("fo@o");
    QTest::newRow("two names without a comma") << QByteArray("foo bar");
    QTest::newRow("value on the extension name") << QByteArray("foo=1");
    QTest::newRow("quoted extension name") << QByteArray("\"foo\"");
    QTest::newRow("NUL byte") << QByteArray("foo\0", 4);
    QTest::newRow("non-ASCII name") << QByteArray("d\xc3\xa9"
                                                  "flate");
}

void TestHttpHeaders::malformedExtensions() {
    QFETCH(QByteArray, value);
    QCOMPARE(ws::parseExtensions(value), std::nullopt);
}

void TestHttpHeaders::formatExtensions_data() {
    QTest::addColumn<Extensions>("extensions");
    QTest::addColumn<QByteArray>("formatted");
    QTest::newRow("none") << Extensions{} << QByteArray();
    QTest::newRow("bare name") << Extensions{extension("permessage-deflate")}
                               << QByteArray("permessage-deflate");
    QTest::newRow("Chromium's offer")
        << Extensions{extension("permessage-deflate", {flag("client_max_window_bits")})}
        << QByteArray("permessage-deflate; client_max_window_bits");
    QTest::newRow("offer with fallback")
        << Extensions{extension("permessage-deflate", {flag("client_no_context_takeover"),
                                                       param("server_max_window_bits", "10")}),
                      extension("permessage-deflate")}
        << QByteArray("permessage-deflate; client_no_context_takeover; server_max_window_bits=10, "
                      "permessage-deflate");
}

void TestHttpHeaders::formatExtensions() {
    QFETCH(Extensions, extensions);
    QFETCH(QByteArray, formatted);
    QCOMPARE(ws::formatExtensions(extensions), formatted);
    const std::optional<Extensions> parsed = ws::parseExtensions(formatted);
    QVERIFY(parsed.has_value());
    QVERIFY(*parsed == extensions);
}

void TestHttpHeaders::nonTokenValueIsQuoted() {
    // Not valid in Sec-WebSocket-Extensions (§9.1), but still well-formed HTTP, so
    // a test peer can send it and watch the other side refuse it.
    const Extensions extensions{extension("x-test", {param("note", "a \"b\" c\\")})};
    QCOMPARE(ws::formatExtensions(extensions), QByteArray("x-test; note=\"a \\\"b\\\" c\\\\\""));
    QCOMPARE(ws::parseExtensions(ws::formatExtensions(extensions)), std::nullopt);
}

void TestHttpHeaders::paramLookup() {
    const std::optional<Extensions> parsed = ws::parseExtensions(
        "permessage-deflate; Client_Max_Window_Bits; server_max_window_bits=\"12\"");
    QVERIFY(parsed.has_value());
    QCOMPARE(parsed->size(), 1);
    const ExtensionParams &deflate = parsed->front();
    QVERIFY(deflate.hasParam("client_max_window_bits"));
    QCOMPARE(deflate.paramValue("client_max_window_bits"), std::optional<QByteArray>());
    QVERIFY(deflate.hasParam("SERVER_MAX_WINDOW_BITS"));
    QCOMPARE(deflate.paramValue("server_max_window_bits"), QByteArray("12"));
    QVERIFY(!deflate.hasParam("server_no_context_takeover"));
    QCOMPARE(deflate.paramValue("server_no_context_takeover"), std::nullopt);
}

void TestHttpHeaders::headerBlock_data() {
    QTest::addColumn<HeaderBlockReader::Kind>("kind");
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<HeaderBlockReader::Result>("result");
    QTest::addColumn<QByteArray>("startLine"); // "method target version" or "version code reason"
    QTest::addColumn<QByteArray>("fields");    // name=value lines joined by '|'

    using K = HeaderBlockReader::Kind;
    using R = HeaderBlockReader::Result;
    QTest::newRow("request, CRLF")
        << K::Request << QByteArray("GET /chat HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n") << R::Complete
        << QByteArray("GET /chat HTTP/1.1") << QByteArray("Host=a|X=1");
    QTest::newRow("request, bare LF (RFC 7230 §3.5)")
        << K::Request << QByteArray("GET / HTTP/1.1\nHost: a\n\n") << R::Complete
        << QByteArray("GET / HTTP/1.1") << QByteArray("Host=a");
    QTest::newRow("request, empty lines before the request line")
        << K::Request << QByteArray("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n") << R::Complete
        << QByteArray("GET / HTTP/1.1") << QByteArray("Host=a");
    QTest::newRow("value whitespace trimmed, inner kept")
        << K::Request << QByteArray("GET / HTTP/1.1\r\nUser-Agent: \t a  b \t\r\nEmpty:\r\n\r\n")
        << R::Complete << QByteArray("GET / HTTP/1.1") << QByteArray("User-Agent=a  b|Empty=");
    QTest::newRow("obs-text in a value is kept")
        << K::Request << QByteArray("GET / HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n") << R::Complete
        << QByteArray("GET / HTTP/1.1") << QByteArray("X=caf\xc3\xa9");
    QTest::newRow("request, obs-fold rejected")
        << K::Request << QByteArray("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n") << R::Malformed
        << QByteArray("GET / HTTP/1.1") << QByteArray("X=a");
    QTest::newRow("response, obs-fold unfolded (RFC 7230 §3.2.4)")
        << K::Response
        << QByteArray("HTTP/1.1 101 Switching Protocols\r\nX: a\r\n \t b\r\nY: c\r\n\r\n")
        << R::Complete << QByteArray("HTTP/1.1 101 Switching Protocols") << QByteArray("X=a b|Y=c");
    QTest::newRow("response, whitespace before the first field")
        << K::Response << QByteArray("HTTP/1.1 101 Switching Protocols\r\n X: a\r\n\r\n")
        << R::Malformed << QByteArray("HTTP/1.1 101 Switching Protocols") << QByteArray();
    QTest::newRow("response without a reason phrase")
        << K::Response << QByteArray("HTTP/1.1 101\r\n\r\n") << R::Complete
        << QByteArray("HTTP/1.1 101 ") << QByteArray();
    QTest::newRow("response with an empty reason phrase")
        << K::Response << QByteArray("HTTP/1.1 404 \r\n\r\n") << R::Complete
        << QByteArray("HTTP/1.1 404 ") << QByteArray();
    QTest::newRow("response, status code too short")
        << K::Response << QByteArray("HTTP/1.1 10 Switching\r\n\r\n") << R::Malformed
        << QByteArray(" 0 ") << QByteArray();
    QTest::newRow("response, status code too long")
        << K::Response << QByteArray("HTTP/1.1 1010\r\n\r\n") << R::Malformed << QByteArray(" 0 ")
        << QByteArray();
    QTest::newRow("response, not HTTP") << K::Response << QByteArray("SSH-2.0-OpenSSH_9.2\r\n")
                                        << R::Malformed << QByteArray(" 0 ") << QByteArray();
    QTest::newRow("request, lower-case version")
        << K::Request << QByteArray("GET / http/1.1\r\n") << R::Malformed
        << QByteArray("GET / http/1.1") << QByteArray();
    QTest::newRow("request, two spaces") << K::Request << QByteArray("GET  / HTTP/1.1\r\n")
                                         << R::Malformed << QByteArray("  ") << QByteArray();
    QTest::newRow("request, no target") << K::Request << QByteArray("GET HTTP/1.1\r\n")
                                        << R::Malformed << QByteArray("  ") << QByteArray();
    QTest::newRow("request, space in the target")
        << K::Request << QByteArray("GET /a b HTTP/1.1\r\n") << R::Malformed << QByteArray("  ")
        << QByteArray();
    QTest::newRow("request, method not a token")
        << K::Request << QByteArray("G(T / HTTP/1.1\r\n") << R::Malformed << QByteArray("  ")
        << QByteArray();
    QTest::newRow("field without a colon")
        << K::Request << QByteArray("GET / HTTP/1.1\r\nHost a\r\n\r\n") << R::Malformed
        << QByteArray("GET / HTTP/1.1") << QByteArray();
    QTest::newRow("whitespace before the colon (RFC 7230 §3.2.4)")
        << K::Request << QByteArray("GET / HTTP/1.1\r\nHost : a\r\n\r\n") << R::Malformed
        << QByteArray("GET / HTTP/1.1") << QByteArray();
    QTest::newRow("empty field name")
        << K::Request << QByteArray("GET / HTTP/1.1\r\n: a\r\n\r\n") << R::Malformed
        << QByteArray("GET / HTTP/1.1") << QByteArray();
    QTest::newRow("bare CR inside a value")
        << K::Request << QByteArray("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n") << R::Malformed
        << QByteArray("GET / HTTP/1.1") << QByteArray();
    QTest::newRow("NUL inside a value")
        << K::Request << QByteArray("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 26) << R::Malformed
        << QByteArray("GET / HTTP/1.1") << QByteArray();
    QTest::newRow("incomplete") << K::Request << QByteArray("GET / HTTP/1.1\r\nHost: a\r\n")
                                << R::NeedMore << QByteArray("GET / HTTP/1.1") << QByteArray();
}

void TestHttpHeaders::headerBlock() {
    QFETCH(HeaderBlockReader::Kind, kind);
    QFETCH(QByteArray, bytes);
    QFETCH(HeaderBlockReader::Result, result);
    QFETCH(QByteArray, startLine);
    QFETCH(QByteArray, fields);

    for (const auto &[name, pieces] : splits(bytes)) {
        HeaderBlockReader reader(kind, 1024, 100);
        HeaderBlockReader::Result last = HeaderBlockReader::Result::NeedMore;
        for (const QByteArray &piece : pieces) {
            qsizetype consumed = -1;
            last = reader.feed(piece, &consumed);
            QVERIFY2(consumed >= 0 && consumed <= piece.size(), qPrintable(name));
        }
        QVERIFY2(last == result, qPrintable(name));
        QCOMPARE(reader.result(), result);
        if (result == HeaderBlockReader::Result::Malformed)
            QVERIFY2(!reader.errorString().isEmpty(), qPrintable(name));
        else
            QVERIFY2(reader.errorString().isEmpty(), qPrintable(name));
        const QByteArray line =
            kind == HeaderBlockReader::Kind::Request
                ? reader.method() + ' ' + reader.target() + ' ' + reader.version()
                : reader.version() + ' ' +
                      (reader.statusCode() ? QByteArray::number(reader.statusCode()) : "0") + ' ' +
                      reader.reasonPhrase();
        QCOMPARE(line, startLine);
        QByteArrayList got;
        for (const HttpHeaders::Field &field : reader.headers().fields())
            got.append(field.first + '=' + field.second);
        if (result != HeaderBlockReader::Result::Malformed || !fields.isEmpty())
            QCOMPARE(got.join('|'), fields);
        if (result == HeaderBlockReader::Result::Complete)
            QCOMPARE(reader.block(), bytes);
    }
}

void TestHttpHeaders::headerBlockStopsAtTheLimit_data() {
    QTest::addColumn<qsizetype>("maxBytes");
    QTest::addColumn<int>("maxFields");
    QTest::addColumn<HeaderBlockReader::Result>("result");

    // The block below is 39 bytes with 3 fields.
    using R = HeaderBlockReader::Result;
    QTest::newRow("exactly at the byte limit") << qsizetype(39) << 3 << R::Complete;
    QTest::newRow("one byte over the byte limit") << qsizetype(38) << 3 << R::TooLarge;
    QTest::newRow("far over the byte limit") << qsizetype(10) << 3 << R::TooLarge;
    QTest::newRow("one field too many") << qsizetype(1000) << 2 << R::TooManyFields;
    QTest::newRow("no fields allowed") << qsizetype(1000) << 0 << R::TooManyFields;
}

void TestHttpHeaders::headerBlockStopsAtTheLimit() {
    QFETCH(qsizetype, maxBytes);
    QFETCH(int, maxFields);
    QFETCH(HeaderBlockReader::Result, result);

    const QByteArray block("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n");
    QCOMPARE(block.size(), 39);
    // Megabytes of whatever follows must not be taken in.
    const QByteArray bytes = block + QByteArray(1 << 20, 'x');
    for (const auto &[name, pieces] : splits(bytes.first(200))) {
        HeaderBlockReader reader(HeaderBlockReader::Kind::Request, maxBytes, maxFields);
        qsizetype total = 0;
        for (const QByteArray &piece : pieces) {
            qsizetype consumed = 0;
            reader.feed(piece, &consumed);
            total += consumed;
            QVERIFY2(reader.block().size() <= maxBytes, qPrintable(name));
            // The allocation too, not only the bytes in it.
            QVERIFY2(reader.block().capacity() <= maxBytes + 64, qPrintable(name));
        }
        QVERIFY2(reader.result() == result, qPrintable(name));
        if (result == HeaderBlockReader::Result::Complete)
            QCOMPARE(total, block.size());
    }
    HeaderBlockReader reader(HeaderBlockReader::Kind::Request, maxBytes, maxFields);
    qsizetype consumed = 0;
    QVERIFY(reader.feed(bytes, &consumed) == result);
    QVERIFY(reader.block().size() <= maxBytes);
    QVERIFY(consumed <= maxBytes);
    // Once finished, nothing more is taken.
    QVERIFY(reader.feed("more", &consumed) == result);
    QCOMPARE(consumed, 0);
}

void TestHttpHeaders::headerBlockLeavesWhatFollows() {
    const QByteArray head("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
    const QByteArray frame = QByteArray::fromHex("810548656c6c6f"); // RFC 6455 §5.7 "Hello"
    HeaderBlockReader reader(HeaderBlockReader::Kind::Response, 1024, 10);
    qsizetype consumed = 0;
    QVERIFY(reader.feed(head + frame, &consumed) == HeaderBlockReader::Result::Complete);
    QCOMPARE(consumed, head.size());
    QCOMPARE(reader.block(), head);
    QCOMPARE(reader.statusCode(), 101);
    QCOMPARE(reader.reasonPhrase(), QByteArray("Switching Protocols"));
    QCOMPARE(reader.versionMajor(), 1);
    QCOMPARE(reader.versionMinor(), 1);
    QCOMPARE(reader.headers().value("upgrade"), QByteArray("websocket"));
}

QTEST_APPLESS_MAIN(TestHttpHeaders)
#include "tst_httpheaders.moc"

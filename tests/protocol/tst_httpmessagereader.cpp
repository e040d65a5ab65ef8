// HttpMessageReader: where each HTTP/1.1 message of a stream begins and ends
// (RFC 9112 §6), fed exact bytes whole, one byte at a time and cut in two at every
// offset: the boundaries must not depend on the chunking.

#include "protocol/httpmessagereader.h"

#include <QByteArray>
#include <QStringList>
#include <QTest>

using namespace ws;

Q_DECLARE_METATYPE(ws::HttpMessageReader::Kind)

namespace {

using Kind = HttpMessageReader::Kind;
using Result = HttpMessageReader::Result;

HttpMessageReader::Limits testLimits() {
    HttpMessageReader::Limits limits;
    limits.maxHeadBytes = 256;
    limits.maxHeaderFields = 8;
    limits.maxChunkLineBytes = 32;
    return limits;
}

QString head(qsizetype offset, const char *startLine) {
    return QStringLiteral("head@%1 %2").arg(offset).arg(QLatin1String(startLine));
}
QString end(qsizetype offset) {
    return QStringLiteral("end@%1").arg(offset);
}

// Feeds `stream` in pieces ending at `cuts` (then the rest), then the end of the
// stream when `closes`; each boundary as text: "head@OFFSET START-LINE", "end@OFFSET",
// "switched@OFFSET", "eos", "error: WHY".
QStringList boundaries(Kind kind, const QByteArray &stream, const QList<QByteArray> &methods,
                       bool closes, const QList<qsizetype> &cuts) {
    HttpMessageReader reader(kind, testLimits());
    for (const QByteArray &method : methods)
        reader.expectResponseTo(method);
    QStringList out;
    qsizetype offset = 0;
    auto record = [&](Result result) {
        switch (result) {
        case Result::NeedMore:
            break;
        case Result::HeadComplete: {
            const HeaderBlockReader &h = reader.head();
            const QString start = kind == Kind::Request
                                      ? QString::fromLatin1(h.method() + ' ' + h.target())
                                      : QString::number(h.statusCode());
            out.append(QStringLiteral("head@%1 %2").arg(offset).arg(start));
            break;
        }
        case Result::MessageComplete:
            out.append(end(offset));
            break;
        case Result::Switched:
            out.append(QStringLiteral("switched@%1").arg(offset));
            break;
        case Result::EndOfStream:
            out.append(QStringLiteral("eos"));
            break;
        case Result::Error:
            out.append(QStringLiteral("error: ") + reader.errorString());
            break;
        }
    };
    QList<qsizetype> ends = cuts;
    ends.append(stream.size());
    qsizetype pieceBegin = 0;
    for (const qsizetype pieceEnd : std::as_const(ends)) {
        const QByteArrayView piece =
            QByteArrayView(stream).sliced(pieceBegin, pieceEnd - pieceBegin);
        pieceBegin = pieceEnd;
        qsizetype pos = 0;
        for (;;) {
            qsizetype consumed = 0;
            const Result result = reader.feed(piece.sliced(pos), &consumed);
            if (consumed < 0 || consumed > piece.size() - pos)
                return {QStringLiteral("consumed %1 of %2").arg(consumed).arg(piece.size() - pos)};
            pos += consumed;
            offset += consumed;
            record(result);
            if (result == Result::Error || result == Result::Switched)
                return out;
            if (result == Result::NeedMore) {
                if (pos != piece.size())
                    return {QStringLiteral("NeedMore with %1 bytes left").arg(piece.size() - pos)};
                break;
            }
        }
    }
    if (closes)
        record(reader.endOfStream());
    return out;
}

} // namespace

class TestHttpMessageReader : public QObject {
    Q_OBJECT

private slots:
    void boundaries_data();
    void boundaries();
    void chunkedTrailersAndBody();
    void interimResponseKeepsTheMethod();
    void heldBytesStayBounded();
};

void TestHttpMessageReader::boundaries_data() {
    QTest::addColumn<Kind>("kind");
    QTest::addColumn<QByteArray>("stream");
    QTest::addColumn<QList<QByteArray>>("methods");
    QTest::addColumn<bool>("closes");
    QTest::addColumn<QStringList>("expected");

    const QByteArray post = "POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n";
    const QByteArray get = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
    QTest::newRow("request with Content-Length, then one without a body")
        << Kind::Request << post + "hello" + get << QList<QByteArray>{} << true
        << QStringList{head(post.size(), "POST /form"), end(post.size() + 5),
                       head(post.size() + 5 + get.size(), "GET /next"),
                       end(post.size() + 5 + get.size()), "eos"};

    const QByteArray get1 = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n";
    const QByteArray get2 = "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
    const QByteArray upgrade = "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\n\r\n";
    const qsizetype at2 = get1.size() + get2.size();
    QTest::newRow("pipelined requests in one buffer")
        << Kind::Request << get1 + get2 + upgrade << QList<QByteArray>{} << false
        << QStringList{head(get1.size(), "GET /1"),
                       end(get1.size()),
                       head(at2, "GET /2"),
                       end(at2),
                       head(at2 + upgrade.size(), "GET /ws"),
                       end(at2 + upgrade.size())};

    // RFC 9112 §7.1: sizes in hex, extensions (also after whitespace), a trailer section.
    const QByteArray chunkedHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
    const QByteArray chunkedBody = "5;name=value\r\nhello\r\n"
                                   "0A ; a=\"q\";b\r\n0123456789\r\n"
                                   "0\r\nExpires: never\r\nX-Sum: 15\r\n\r\n";
    const QByteArray after = "HTTP/1.1 204 No Content\r\n\r\n";
    const qsizetype chunkedEnd = chunkedHead.size() + chunkedBody.size();
    QTest::newRow("chunked with extensions and trailers")
        << Kind::Response << chunkedHead + chunkedBody + after << QList<QByteArray>{"GET", "GET"}
        << true
        << QStringList{head(chunkedHead.size(), "200"), end(chunkedEnd),
                       head(chunkedEnd + after.size(), "204"), end(chunkedEnd + after.size()),
                       "eos"};
    const QByteArray chunkedRequest = "PUT /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    QTest::newRow("chunked request, bare LF, no trailers")
        << Kind::Request << chunkedRequest + "3\nabc\n0\n\n"
        << QList<QByteArray>{} << false
        << QStringList{head(chunkedRequest.size(), "PUT /up"), end(chunkedRequest.size() + 9)};

    // RFC 9112 §6.3 item 1: never a body after HEAD, 204, 304, whatever they say.
    const QByteArray headAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
    const QByteArray nextAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    QTest::newRow("HEAD: Content-Length without a body")
        << Kind::Response << headAnswer + nextAnswer << QList<QByteArray>{"HEAD", "GET"} << true
        << QStringList{head(headAnswer.size(), "200"), end(headAnswer.size()),
                       head(headAnswer.size() + nextAnswer.size() - 2, "200"),
                       end(headAnswer.size() + nextAnswer.size()), "eos"};
    const QByteArray noContent = "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n";
    QTest::newRow("204 without a body")
        << Kind::Response << noContent + nextAnswer << QList<QByteArray>{"DELETE", "GET"} << false
        << QStringList{head(noContent.size(), "204"), end(noContent.size()),
                       head(noContent.size() + nextAnswer.size() - 2, "200"),
                       end(noContent.size() + nextAnswer.size())};
    const QByteArray notModified =
        "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n";
    QTest::newRow("304 without a body")
        << Kind::Response << notModified + nextAnswer << QList<QByteArray>{"GET", "GET"} << false
        << QStringList{head(notModified.size(), "304"), end(notModified.size()),
                       head(notModified.size() + nextAnswer.size() - 2, "200"),
                       end(notModified.size() + nextAnswer.size())};

    const QByteArray interim = "HTTP/1.1 100 Continue\r\n\r\n";
    const QByteArray hints = "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n";
    const qsizetype finalAt = interim.size() + hints.size();
    QTest::newRow("1xx before the final response")
        << Kind::Response << interim + hints + nextAnswer << QList<QByteArray>{"POST"} << false
        << QStringList{head(interim.size(), "100"),
                       end(interim.size()),
                       head(finalAt, "103"),
                       end(finalAt),
                       head(finalAt + nextAnswer.size() - 2, "200"),
                       end(finalAt + nextAnswer.size())};

    // Item 8: neither length nor chunked, the body runs until the connection closes.
    const QByteArray closeDelimited = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
    QTest::newRow("close-delimited")
        << Kind::Response << closeDelimited + "all of it\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"
        << QList<QByteArray>{"GET"} << true
        << QStringList{head(closeDelimited.size(), "200"), end(closeDelimited.size() + 32)};

    const QByteArray switching = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                 "Connection: Upgrade\r\n\r\n";
    QTest::newRow("101: what follows is not HTTP")
        << Kind::Response << switching + QByteArray::fromHex("8105") + "Hello"
        << QList<QByteArray>{"GET"} << false
        << QStringList{head(switching.size(), "101"), end(switching.size()),
                       QStringLiteral("switched@%1").arg(switching.size())};
    const QByteArray established = "HTTP/1.1 200 Connection Established\r\n\r\n";
    QTest::newRow("2xx to CONNECT: a tunnel")
        << Kind::Response << established + "\x16\x03\x01" << QList<QByteArray>{"CONNECT"} << false
        << QStringList{head(established.size(), "200"), end(established.size()),
                       QStringLiteral("switched@%1").arg(established.size())};
    const QByteArray repeated = "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n"
                                "Content-Length: 2\r\n\r\n";
    QTest::newRow("repeated identical Content-Length")
        << Kind::Response << repeated + "okX" << QList<QByteArray>{"GET"} << false
        << QStringList{head(repeated.size(), "200"), end(repeated.size() + 2)};

    // Errors, never a hang.
    QTest::newRow("oversize head")
        << Kind::Request << "GET / HTTP/1.1\r\nX: " + QByteArray(300, 'a') + "\r\n\r\n"
        << QList<QByteArray>{} << false << QStringList{"error: the head is larger than 256 bytes"};
    QTest::newRow("bad chunk size")
        << Kind::Response
        << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "zz\r\nhello\r\n0\r\n\r\n")
        << QList<QByteArray>{"GET"} << false
        << QStringList{head(47, "200"), "error: the chunk-size line 'zz' is not a hexadecimal "
                                        "size (RFC 9112 §7.1)"};
    QTest::newRow("chunk size that overflows")
        << Kind::Request
        << QByteArray("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "100000000000000000\r\n")
        << QList<QByteArray>{} << false
        << QStringList{head(47, "POST /"),
                       "error: the chunk size in '100000000000000000' is too large"};
    QTest::newRow("chunk-size line too long")
        << Kind::Request
        << QByteArray("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5;" +
                      QByteArray(40, 'x') + "\r\n")
        << QList<QByteArray>{} << false
        << QStringList{head(47, "POST /"), "error: a chunk-size line longer than 32 bytes"};
    QTest::newRow("chunk data without CRLF")
        << Kind::Request
        << QByteArray("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "2\r\nabc\r\n")
        << QList<QByteArray>{} << false
        << QStringList{head(47, "POST /"),
                       "error: a chunk's data is not followed by CRLF (RFC 9112 §7.1)"};
    QTest::newRow("Transfer-Encoding and Content-Length")
        << Kind::Request
        << QByteArray("POST / HTTP/1.1\r\nContent-Length: 3\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n")
        << QList<QByteArray>{} << false
        << QStringList{"error: the message has both Transfer-Encoding and Content-Length "
                       "(RFC 9112 §6.3)"};
    QTest::newRow("different Content-Lengths")
        << Kind::Request << QByteArray("POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\n")
        << QList<QByteArray>{} << false
        << QStringList{"error: the Content-Length '3, 4' is not one decimal length "
                       "(RFC 9112 §6.3)"};
    QTest::newRow("signed Content-Length")
        << Kind::Request << QByteArray("POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n")
        << QList<QByteArray>{} << false
        << QStringList{"error: the Content-Length '+3' is not one decimal length "
                       "(RFC 9112 §6.3)"};
    QTest::newRow("request coding that is not chunked")
        << Kind::Request << QByteArray("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n")
        << QList<QByteArray>{} << false
        << QStringList{"error: the Transfer-Encoding 'gzip' does not end in a single chunked "
                       "(RFC 9112 §6.3)"};
    QTest::newRow("the stream ends inside the body")
        << Kind::Request << post + "hel" << QList<QByteArray>{} << true
        << QStringList{head(post.size(), "POST /form"),
                       "error: the stream ended 2 bytes before the end of the body"};
    QTest::newRow("the stream ends inside a head")
        << Kind::Response << QByteArray("HTTP/1.1 200 OK\r\n") << QList<QByteArray>{} << true
        << QStringList{"error: the stream ended inside a message's head"};
}

void TestHttpMessageReader::boundaries() {
    QFETCH(Kind, kind);
    QFETCH(QByteArray, stream);
    QFETCH(QList<QByteArray>, methods);
    QFETCH(bool, closes);
    QFETCH(QStringList, expected);

    QCOMPARE(::boundaries(kind, stream, methods, closes, {}), expected);
    QList<qsizetype> everyByte;
    for (qsizetype i = 1; i < stream.size(); ++i)
        everyByte.append(i);
    QCOMPARE(::boundaries(kind, stream, methods, closes, everyByte), expected);
    for (qsizetype cut = 1; cut < stream.size(); ++cut) {
        const QStringList split = ::boundaries(kind, stream, methods, closes, {cut});
        if (split != expected)
            QFAIL(qPrintable(QStringLiteral("cut at %1: %2").arg(cut).arg(split.join(u" | "))));
    }
}

void TestHttpMessageReader::chunkedTrailersAndBody() {
    const QByteArray message = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "4\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Checksum: abc\r\n\r\n";
    HttpMessageReader reader(Kind::Response, testLimits());
    qsizetype consumed = 0;
    QCOMPARE(reader.feed(message, &consumed), Result::HeadComplete);
    QCOMPARE(consumed, 47);
    QCOMPARE(reader.bodyKind(), HttpMessageReader::BodyKind::Chunked);
    QCOMPARE(reader.head().headers().value("Transfer-Encoding"), QByteArray("chunked"));
    QCOMPARE(reader.feed(QByteArrayView(message).sliced(47), &consumed), Result::MessageComplete);
    QCOMPARE(consumed, message.size() - 47);
    QCOMPARE(reader.messageBytes(), message.size());
    HttpHeaders trailers;
    trailers.add("X-Checksum", "abc");
    QCOMPARE(reader.trailers(), trailers);
    // The head stays readable until the next message begins.
    QCOMPARE(reader.head().statusCode(), 200);
    QVERIFY(reader.isAtMessageStart());
}

void TestHttpMessageReader::interimResponseKeepsTheMethod() {
    // The final response to HEAD comes after a 100: it still has no body.
    HttpMessageReader reader(Kind::Response, testLimits());
    reader.expectResponseTo("HEAD");
    reader.expectResponseTo("GET");
    const QByteArray stream = "HTTP/1.1 100 Continue\r\n\r\n"
                              "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"
                              "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody";
    QByteArrayView rest = stream;
    qsizetype consumed = 0;
    QCOMPARE(reader.feed(rest, &consumed), Result::HeadComplete);
    QVERIFY(reader.isInterimResponse());
    rest = rest.sliced(consumed);
    QCOMPARE(reader.feed(rest, &consumed), Result::MessageComplete);
    QCOMPARE(consumed, 0);
    QCOMPARE(reader.feed(rest, &consumed), Result::HeadComplete);
    QVERIFY(!reader.isInterimResponse());
    QCOMPARE(reader.bodyKind(), HttpMessageReader::BodyKind::None);
    rest = rest.sliced(consumed);
    QCOMPARE(reader.feed(rest, &consumed), Result::MessageComplete);
    QCOMPARE(reader.feed(rest, &consumed), Result::HeadComplete);
    QCOMPARE(reader.bodyKind(), HttpMessageReader::BodyKind::ContentLength);
    rest = rest.sliced(consumed);
    QCOMPARE(reader.feed(rest, &consumed), Result::MessageComplete);
    QCOMPARE(consumed, 4);
}

void TestHttpMessageReader::heldBytesStayBounded() {
    // A gigabyte body is counted, not held; an endless chunk-size line is refused at
    // its limit.
    HttpMessageReader reader(Kind::Request, testLimits());
    qsizetype consumed = 0;
    QCOMPARE(reader.feed("PUT / HTTP/1.1\r\nContent-Length: 1073741824\r\n\r\n", &consumed),
             Result::HeadComplete);
    const QByteArray block(1024 * 1024, 'x');
    for (int i = 0; i < 1023; ++i) {
        QCOMPARE(reader.feed(block, &consumed), Result::NeedMore);
        QCOMPARE(consumed, block.size());
    }
    QCOMPARE(reader.feed(block + "GET", &consumed), Result::MessageComplete);
    QCOMPARE(consumed, block.size());

    HttpMessageReader chunked(Kind::Request, testLimits());
    QCOMPARE(chunked.feed("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &consumed),
             Result::HeadComplete);
    QCOMPARE(chunked.feed(QByteArray(31, '0'), &consumed), Result::NeedMore);
    QCOMPARE(chunked.feed("0", &consumed), Result::NeedMore);
    QCOMPARE(chunked.feed("0", &consumed), Result::Error);
    QCOMPARE(chunked.feed("\r\n", &consumed), Result::Error);
    QCOMPARE(consumed, 0);
}

QTEST_GUILESS_MAIN(TestHttpMessageReader)
#include "tst_httpmessagereader.moc"

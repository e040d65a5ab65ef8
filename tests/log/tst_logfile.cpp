// JsonLinesFile and HarFile: JSON Lines save/open, HAR export/import, Chrome DevTools HAR import.

#include "logtesthelpers.h"

#include "log/harfile.h"
#include "log/jsonlinesfile.h"

#include <QBuffer>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

using namespace ws;
using namespace ws::log;
using namespace wstest;

namespace {

// A real conversation between a client (connection 1) and a server (connection 2).
void recordConversation(LogStore &store) {
    SessionPair pair;
    QVERIFY(pair.converse(QByteArray::fromHex("0001ff")));
    store.setClockOffset(1'700'000'000'000'000);
    store.setConnectionInfo(SessionPair::ClientConnection,
                            {QStringLiteral("client"), QStringLiteral("ws://example.com/chat")});
    for (const auto &tagged : std::as_const(pair.events))
        store.append(tagged.connection, tagged.event);
    store.commitPending();
}

// Every kind of record and every optional field, beyond what a clean conversation has.
void recordOddities(LogStore &store) {
    const quint32 c = 3;
    store.setClockOffset(1'700'000'000'000'000);
    store.setConnectionInfo(c, {QStringLiteral("odd \"quoted\" name"), QString()});
    // The two legs of a relayed pair say which they are.
    store.setConnectionInfo(c + 1, {QStringLiteral("relay 1 #1 client"),
                                    QStringLiteral("127.0.0.1:5000"), Leg::Client});
    store.setConnectionInfo(c + 2, {QStringLiteral("relay 1 #1 server"),
                                    QStringLiteral("ws://127.0.0.1:9001/"), Leg::Server});
    qint64 t = 5'000'000;
    // A compressed message (RFC 7692 §7.2.3.1) and its RSV1 frame.
    FrameEvent compressed =
        frameEvent(Direction::Incoming, ++t, 0x1, QByteArray::fromHex("f248cdc9c90700"));
    compressed.frame.header.rsv1 = true;
    store.append(c, compressed);
    store.append(c, messageEvent(Direction::Incoming, t, Opcode::Text, "Hello", 1, true));
    // A raw frame with a reserved opcode, a 64-bit length field and a declared length
    // beyond 2^53 (a lie the raw writer tells on purpose).
    FrameEvent raw = frameEvent(Direction::Outgoing, ++t, 0x3, "odd", false, quint32(0),
                                LengthEncoding::Extended64);
    raw.frame.header.payloadLength = (quint64(1) << 63) + 5;
    raw.frame.header.rsv2 = true;
    raw.frame.header.rsv3 = true;
    store.append(c, raw);
    // A frame with a conformance note and a binary payload of every byte value.
    QByteArray all(256, Qt::Uninitialized);
    for (int i = 0; i < 256; ++i)
        all[i] = char(i);
    FrameEvent noted = frameEvent(Direction::Incoming, ++t, 0x2, all, true, std::nullopt,
                                  LengthEncoding::Extended64);
    ConformanceNote note;
    note.kind = ConformanceNote::Kind::NonMinimalLength;
    note.text = QStringLiteral("length 256 written in 64 bits (RFC 6455 §5.2)");
    note.streamOffset = 77;
    noted.frame.notes = {note};
    noted.frame.streamOffset = 77;
    store.append(c, noted);
    store.append(c, messageEvent(Direction::Incoming, t, Opcode::Binary, all));
    // Events without frames.
    store.append(c, PongEvent{++t, "p", qint64(1234)});
    store.append(c, PingEvent{++t, {}, false});
    store.append(c, CloseEvent{++t, std::nullopt, QString()});
    ConformanceNote late;
    late.kind = ConformanceNote::Kind::ServerClosedTcpLate;
    late.text = QStringLiteral("the server did not close TCP first (RFC 6455 §7.1.1)");
    store.append(c, NoteEvent{++t, late});
    ProtocolViolation violation;
    violation.error = ProtocolError::InvalidUtf8;
    violation.reason = QStringLiteral("text message is not UTF-8 at byte 3 (RFC 6455 §8.1)");
    violation.streamOffset = 1234;
    store.append(c, ViolationEvent{++t, violation});
    HandshakeEvent failed;
    failed.kind = HandshakeEvent::Kind::Failed;
    failed.timestampUs = ++t;
    failed.rawRequest = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
    failed.rawResponse = "HTTP/1.1 404 Not Found\r\n\r\n";
    failed.httpStatus = 404;
    failed.error = QStringLiteral("the server answered 404 Not Found");
    store.append(c, failed);
    // A header block that is not UTF-8 (obs-text, RFC 7230 §3.2.6) must survive byte for byte.
    HandshakeEvent latin1;
    latin1.kind = HandshakeEvent::Kind::UpgradeRequested;
    latin1.timestampUs = ++t;
    latin1.rawRequest = "GET / HTTP/1.1\r\nX-Name: caf\xe9\r\n\r\n";
    store.append(c, latin1);
    // Quotes, backslashes and control characters in a close reason.
    store.append(c, frameEvent(Direction::Incoming, ++t, 0x8,
                               QByteArray::fromHex("0fa0") + "a\"b\\c\nd\x01\te"));
    store.append(c, ClosedEvent{++t, 1006, QStringLiteral("gone \u2014 abnormally"), false, false});
    // A big text payload.
    store.append(c, messageEvent(Direction::Outgoing, ++t, Opcode::Text, QByteArray(200'000, 'z')));
    store.commitPending();
}

void compareStores(const LogStore &a, const LogStore &b) {
    QCOMPARE(b.size(), a.size());
    for (qsizetype i = 0; i < a.size(); ++i) {
        if (!(a.at(i) == b.at(i))) {
            QFAIL(qPrintable(
                QStringLiteral("record %1 differs: %2 vs %3")
                    .arg(i)
                    .arg(recordPreview(a.at(i), a.extra(i)), recordPreview(b.at(i), b.extra(i)))));
        }
        const LogRecordExtra *ea = a.extra(i);
        const LogRecordExtra *eb = b.extra(i);
        QCOMPARE(eb != nullptr, ea != nullptr);
        if (ea)
            QVERIFY2(*ea == *eb, qPrintable(QStringLiteral("extra of record %1 differs").arg(i)));
    }
    QCOMPARE(b.connections(), a.connections());
}

QString directionWord(const LogRecord &r) {
    if (r.has(LogRecord::Undirected))
        return QStringLiteral("none");
    return r.has(LogRecord::Outgoing) ? QStringLiteral("sent") : QStringLiteral("received");
}

QJsonObject recordLine(const QByteArray &file, int line) {
    return QJsonDocument::fromJson(file.split('\n').at(line)).object();
}

// What a progress callback was told, call by call.
struct ProgressCalls {
    QList<qint64> done;
    QList<qint64> totals;
    // Answer false from this call on (0-based); -1: never.
    int cancelAt = -1;

    ReadProgress callback() {
        return [this](qint64 d, qint64 total) {
            done.append(d);
            totals.append(total);
            return cancelAt < 0 || done.size() <= cancelAt;
        };
    }
};

QByteArray harBytes(const LogStore &store) {
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    QString error;
    if (!HarFile::save(store, buffer, &error))
        qWarning("HAR export failed: %s", qPrintable(error));
    return buffer.data();
}

bool readHar(const QByteArray &bytes, LogStore &store, QString *error) {
    QBuffer buffer;
    buffer.setData(bytes);
    buffer.open(QIODevice::ReadOnly);
    return HarFile::open(buffer, store, error);
}

QJsonArray harEntries(const QByteArray &bytes) {
    return QJsonDocument::fromJson(bytes)
        .object()
        .value("log")
        .toObject()
        .value("entries")
        .toArray();
}

// A connection the window's server accepted, named as the window and `wsw serve`
// name them: the server's URL, then the client's address.
void recordServerSide(LogStore &store, quint32 c) {
    store.setConnectionInfo(c, {QStringLiteral("server 1 #1"),
                                QStringLiteral("ws://127.0.0.1:9001/ \u2190 127.0.0.1:50123")});
    const FullRecord handshake = acceptedUpgradeRecord(
        c, 1'700'000'000'100'000,
        "GET /chat?room=1 HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
        {});
    store.appendRecord(handshake.record, handshake.extra);
    store.setClockOffset(1'700'000'000'000'000);
    for (const SessionEvent &event :
         textMessage(Direction::Incoming, 200'000, "hi", quint32(0x01020304)))
        store.append(c, event);
    for (const SessionEvent &event : textMessage(Direction::Outgoing, 200'500, "hi"))
        store.append(c, event);
    store.commitPending();
}

// A client whose TCP connect was refused: an error row and nothing else.
void recordRefused(LogStore &store, quint32 c) {
    store.setConnectionInfo(c, {QStringLiteral("client 4"), QStringLiteral("ws://127.0.0.1:1/")});
    store.appendRecord(
        connectionErrorRecord(c, 1'700'000'000'300'000, QStringLiteral("Connection refused")));
}

} // namespace

class TestLogFile : public QObject {
    Q_OBJECT

private slots:
    void jsonLinesRoundTrip();
    void jsonLinesKeepsEveryFrameField();
    void jsonLinesThroughAFile();
    void jsonLinesKeepsTheViolationFrame();
    void jsonLinesKeepsHowLongASendWaited();
    void jsonLinesErrors_data();
    void jsonLinesErrors();
    void harExportShape();
    void harRoundTrip();
    void importChromeDevToolsHar();
    void importRejectsNonHar();
    void jsonLinesReportsProgress();
    void jsonLinesCancel();
    void harImportReportsProgressAndCancels();
    void harExportImportExportIsIdentical();
    void harServerSideConnection();
    void harRefusedConnectionIsNotAnUpgrade();
};

void TestLogFile::jsonLinesRoundTrip() {
    LogStore original;
    recordConversation(original);
    recordOddities(original);
    QVERIFY(original.size() > 30);

    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    QString error;
    QVERIFY2(JsonLinesFile::save(original, buffer, &error), qPrintable(error));
    buffer.close();

    // One JSON object per line.
    const QList<QByteArray> lines = buffer.data().split('\n');
    QCOMPARE(lines.last(), QByteArray());
    for (qsizetype i = 0; i + 1 < lines.size(); ++i)
        QVERIFY(QJsonDocument::fromJson(lines.at(i)).isObject());

    buffer.open(QIODevice::ReadOnly);
    LogStore reopened;
    QVERIFY2(JsonLinesFile::open(buffer, reopened, &error), qPrintable(error));
    compareStores(original, reopened);
}

void TestLogFile::jsonLinesKeepsEveryFrameField() {
    LogStore store;
    store.setClockOffset(0);
    // RFC 6455 §5.7: the masked "Hello" from a client.
    for (const SessionEvent &e : textMessage(Direction::Outgoing, 1'000'000, "Hello", 0x37fa213d))
        store.append(4, e);
    store.commitPending();
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    QVERIFY(JsonLinesFile::save(store, buffer));
    const QJsonObject header = recordLine(buffer.data(), 0);
    QCOMPARE(header.value("format").toString(), QStringLiteral("wsworkbench-log"));
    QCOMPARE(header.value("version").toInt(), 1);
    const QJsonObject o = recordLine(buffer.data(), 1); // after the header
    QCOMPARE(o.value("type").toString(), QStringLiteral("record"));
    QCOMPARE(o.value("conn").toInt(), 4);
    QCOMPARE(o.value("time_us").toInteger(), 1'000'000);
    QCOMPARE(o.value("dir").toString(), QStringLiteral("sent"));
    QCOMPARE(o.value("kind").toString(), QStringLiteral("text"));
    QCOMPARE(o.value("rows").toString(), QStringLiteral("both"));
    QCOMPARE(o.value("payload").toString(), QStringLiteral("SGVsbG8="));
    const QJsonObject f = o.value("frame").toObject();
    QCOMPARE(f.value("fin").toBool(), true);
    QCOMPARE(f.value("rsv1").toBool(), false);
    QCOMPARE(f.value("opcode").toInt(), 1);
    QCOMPARE(f.value("mask").toBool(), true);
    QCOMPARE(f.value("key").toString(), QStringLiteral("37fa213d"));
    QCOMPARE(f.value("length").toInt(), 5);
    QCOMPARE(f.value("length_encoding").toInt(), 7);
    QCOMPARE(f.value("header").toString(), QStringLiteral("818537fa213d"));
}

// An error row keeps the frame the rule broke in: its bytes, how many are header,
// its offset and how much payload arrived; files written without it still open.
void TestLogFile::jsonLinesKeepsHowLongASendWaited() {
    LogStore store;
    store.setClockOffset(0);
    FrameEvent sent = frameEvent(Direction::Outgoing, 9'000, 0x9, "late");
    sent.queuedUs = 6'500; // handed to the socket 2.5 ms after the send call
    store.append(1, sent);
    store.commitPending();
    QCOMPARE(store.at(0).sendDelayUs, quint32(2'500));

    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    QVERIFY(JsonLinesFile::save(store, buffer));
    buffer.close();
    QCOMPARE(recordLine(buffer.data(), 1).value("send_delay_us").toInteger(), 2'500);
    buffer.open(QIODevice::ReadOnly);
    LogStore reopened;
    QString error;
    QVERIFY2(JsonLinesFile::open(buffer, reopened, &error), qPrintable(error));
    compareStores(store, reopened);
}

void TestLogFile::jsonLinesKeepsTheViolationFrame() {
    LogStore store;
    store.setClockOffset(0);
    ProtocolViolation violation;
    violation.error = ProtocolError::InvalidUtf8;
    violation.reason = QStringLiteral("text message is not valid UTF-8");
    violation.streamOffset = 106;
    violation.frame.bytes = QByteArray::fromHex("818337fa213d763963");
    violation.frame.headerBytes = 6;
    violation.frame.streamOffset = 98;
    violation.frame.payloadReceived = 70000;
    store.append(2, ViolationEvent{5'000'000, violation});
    store.commitPending();
    QVERIFY(store.extra(0));
    QCOMPARE(store.extra(0)->violationFrame, violation.frame);

    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    QVERIFY(JsonLinesFile::save(store, buffer));
    buffer.close();
    const QJsonObject o = recordLine(buffer.data(), 1);
    QCOMPARE(o.value("stream_offset").toInteger(), 106);
    const QJsonObject f = o.value("error_frame").toObject();
    QCOMPARE(f.value("offset").toInteger(), 98);
    QCOMPARE(f.value("header_bytes").toInt(), 6);
    QCOMPARE(f.value("payload_received").toInteger(), 70000);
    QCOMPARE(QByteArray::fromBase64(f.value("bytes_base64").toString().toLatin1()),
             violation.frame.bytes);

    buffer.open(QIODevice::ReadOnly);
    LogStore reopened;
    QString error;
    QVERIFY2(JsonLinesFile::open(buffer, reopened, &error), qPrintable(error));
    compareStores(store, reopened);

    // The same line as an older version wrote it.
    QByteArray old = buffer.data();
    const qsizetype at = old.indexOf(",\"error_frame\"");
    QVERIFY(at > 0);
    old.remove(at, old.indexOf('}', at) + 1 - at);
    QVERIFY(!old.contains("error_frame"));
    QBuffer oldBuffer(&old);
    oldBuffer.open(QIODevice::ReadOnly);
    LogStore oldStore;
    QVERIFY2(JsonLinesFile::open(oldBuffer, oldStore, &error), qPrintable(error));
    QCOMPARE(oldStore.size(), 1);
    QVERIFY(oldStore.extra(0));
    QCOMPARE(oldStore.extra(0)->streamOffset, 106);
    QVERIFY(oldStore.extra(0)->violationFrame.isEmpty());
}

void TestLogFile::jsonLinesThroughAFile() {
    LogStore original;
    original.setClockOffset(0);
    for (int i = 0; i < 50'000; ++i)
        for (const SessionEvent &e : textMessage(i % 3 ? Direction::Incoming : Direction::Outgoing,
                                                 i, QByteArray("message ") + QByteArray::number(i)))
            original.append(1 + quint32(i % 4), e);
    original.commitPending();
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("log.jsonl"));
    QString error;
    QVERIFY2(JsonLinesFile::save(original, path, &error), qPrintable(error));
    LogStore reopened;
    QVERIFY2(JsonLinesFile::open(path, reopened, &error), qPrintable(error));
    compareStores(original, reopened);
    // Only the selected records.
    QVERIFY(JsonLinesFile::save(original, path, &error,
                                [&](qsizetype i) { return original.at(i).connection == 2; }));
    LogStore part;
    QVERIFY(JsonLinesFile::open(path, part, &error));
    QCOMPARE(part.size(), 12'500);
    QVERIFY(!JsonLinesFile::open(dir.filePath(QStringLiteral("missing.jsonl")), part, &error));
    QVERIFY(error.contains(QStringLiteral("missing.jsonl")));
}

void TestLogFile::jsonLinesErrors_data() {
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("expectedError");
    const QByteArray header = R"({"format":"wsworkbench-log","version":1})"
                              "\n";
    QTest::newRow("empty") << QByteArray() << "empty file";
    QTest::newRow("not json") << QByteArray("hello\n") << "line 1: not a JSON object";
    QTest::newRow("other json") << QByteArray("{\"log\":{}}\n") << "not a WebSocket Workbench log";
    QTest::newRow("newer version")
        << QByteArray(R"({"format":"wsworkbench-log","version":9})") << "newer";
    QTest::newRow("unknown kind")
        << header + R"({"type":"record","conn":1,"time_us":5,"dir":"sent","kind":"telegram"})"
        << "line 2: unknown kind \"telegram\"";
    QTest::newRow("bad payload")
        << header +
               R"({"type":"record","conn":1,"time_us":5,"dir":"sent","kind":"text","payload":"!!"})"
        << "line 2: \"payload\" is not base64";
    QTest::newRow("masked without key")
        << header + "\n" +
               R"({"type":"record","conn":1,"time_us":5,"dir":"sent","kind":"text","frame":{"mask":true,"length":0}})"
        << "line 3: a masked frame needs its \"key\"";
}

void TestLogFile::jsonLinesErrors() {
    QFETCH(QByteArray, content);
    QFETCH(QString, expectedError);
    QBuffer buffer(&content);
    buffer.open(QIODevice::ReadOnly);
    LogStore store;
    QString error;
    QVERIFY(!JsonLinesFile::open(buffer, store, &error));
    QVERIFY2(error.contains(expectedError), qPrintable(error));
}

void TestLogFile::harExportShape() {
    LogStore store;
    recordConversation(store);
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    QString error;
    QVERIFY2(HarFile::save(store, buffer, &error), qPrintable(error));
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(buffer.data(), &parseError);
    QCOMPARE(parseError.error, QJsonParseError::NoError);
    const QJsonObject log = doc.object().value("log").toObject();
    QCOMPARE(log.value("version").toString(), QStringLiteral("1.2"));
    QCOMPARE(log.value("creator").toObject().value("name").toString(),
             QStringLiteral("WebSocket Workbench"));
    QVERIFY(log.value("pages").isArray());
    const QJsonArray entries = log.value("entries").toArray();
    QCOMPARE(entries.size(), 2); // client and server side
    const QJsonObject entry = entries.at(0).toObject();
    QCOMPARE(entry.value("_resourceType").toString(), QStringLiteral("websocket"));
    QVERIFY(entry.value("startedDateTime").toString().endsWith(QLatin1Char('Z')));
    QVERIFY(entry.value("timings").isObject());
    QVERIFY(entry.value("cache").isObject());
    const QJsonObject request = entry.value("request").toObject();
    QCOMPARE(request.value("method").toString(), QStringLiteral("GET"));
    QCOMPARE(request.value("url").toString(), QStringLiteral("ws://example.com/chat"));
    QCOMPARE(request.value("httpVersion").toString(), QStringLiteral("HTTP/1.1"));
    bool hasKey = false;
    for (const QJsonValue &h : request.value("headers").toArray())
        hasKey |= h.toObject().value("name").toString().compare("Sec-WebSocket-Key",
                                                                Qt::CaseInsensitive) == 0;
    QVERIFY(hasKey);
    const QJsonObject response = entry.value("response").toObject();
    QCOMPARE(response.value("status").toInt(), 101);
    QCOMPARE(response.value("statusText").toString(), QStringLiteral("Switching Protocols"));
    QCOMPARE(response.value("content").toObject().value("mimeType").toString(),
             QStringLiteral("x-unknown"));

    // Data messages only, as Chrome lists them: no pings, pongs or close frames.
    const QJsonArray messages = entry.value("_webSocketMessages").toArray();
    QCOMPARE(messages.size(), 3);
    const QJsonObject hello = messages.at(0).toObject();
    QCOMPARE(hello.value("type").toString(), QStringLiteral("send"));
    QCOMPARE(hello.value("opcode").toInt(), 1);
    QCOMPARE(hello.value("data").toString(), QStringLiteral("Hello"));
    // Seconds since the epoch, with the microseconds kept.
    const double time = hello.value("time").toDouble();
    QVERIFY(time > 1.7e9 && time < 1.8e9);
    const QJsonObject binary = messages.at(1).toObject();
    QCOMPARE(binary.value("type").toString(), QStringLiteral("receive"));
    QCOMPARE(binary.value("opcode").toInt(), 2);
    QCOMPARE(binary.value("data").toString(), QStringLiteral("AAH/")); // base64 of 00 01 ff
    QCOMPARE(messages.at(2).toObject().value("data").toString(),
             QStringLiteral("fragmented message"));
}

void TestLogFile::harRoundTrip() {
    LogStore original;
    recordConversation(original);
    ProtocolViolation violation;
    violation.error = ProtocolError::InvalidUtf8;
    violation.reason = QStringLiteral("not UTF-8");
    original.append(SessionPair::ClientConnection, ViolationEvent{9'000'000, violation});
    original.commitPending();

    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    QVERIFY(HarFile::save(original, buffer));
    buffer.close();
    buffer.open(QIODevice::ReadOnly);
    LogStore imported;
    QString error;
    QVERIFY2(HarFile::open(buffer, imported, &error), qPrintable(error));

    // The same connections (numbered afresh) ...
    QCOMPARE(imported.connectionIds(), (QList<quint32>{1, 2}));
    QCOMPARE(imported.connectionInfo(1).url, QStringLiteral("ws://example.com/chat"));
    // ... with the same data messages and errors, at the same microsecond.
    const auto exported = [](const LogStore &store, quint32 connection) {
        QStringList rows;
        for (qsizetype i = 0; i < store.size(); ++i) {
            const LogRecord &r = store.at(i);
            if (r.connection != connection)
                continue;
            const bool data = (r.kind == LogKind::Text || r.kind == LogKind::Binary) &&
                              r.has(LogRecord::InMessageView);
            if (!data && r.kind != LogKind::Error)
                continue;
            rows.append(QStringLiteral("%1 %2 %3 %4")
                            .arg(r.timestampUs)
                            .arg(QLatin1String(logKindName(r.kind)),
                                 r.kind == LogKind::Error ? QStringLiteral("-") : directionWord(r),
                                 QString::fromLatin1(r.payload.toHex())));
        }
        return rows;
    };
    for (quint32 connection : {1u, 2u}) {
        const QStringList before = exported(original, connection);
        QVERIFY(before.size() >= 2);
        QCOMPARE(exported(imported, connection), before);
    }
    // The handshake comes back as it was sent.
    qsizetype originalHandshake = -1;
    qsizetype importedHandshake = -1;
    for (qsizetype i = 0; i < original.size(); ++i) {
        if (original.at(i).kind == LogKind::Handshake && original.at(i).connection == 1)
            originalHandshake = i;
    }
    for (qsizetype i = 0; i < imported.size(); ++i) {
        if (imported.at(i).kind == LogKind::Handshake && imported.at(i).connection == 1)
            importedHandshake = i;
    }
    QVERIFY(originalHandshake >= 0 && importedHandshake >= 0);
    QCOMPARE(imported.extra(importedHandshake)->rawRequest,
             original.extra(originalHandshake)->rawRequest);
    QCOMPARE(imported.extra(importedHandshake)->rawResponse,
             original.extra(originalHandshake)->rawResponse);
    QCOMPARE(imported.at(importedHandshake).timestampUs,
             original.at(originalHandshake).timestampUs);
}

void TestLogFile::importChromeDevToolsHar() {
    LogStore store;
    QString error;
    QVERIFY2(HarFile::open(QStringLiteral(WSW_LOG_TEST_DATA "/chrome-devtools-websocket.har"),
                           store, &error),
             qPrintable(error));
    // The two WebSocket entries; the document and the image are not connections.
    QCOMPARE(store.connectionIds(), (QList<quint32>{1, 2}));
    QCOMPARE(store.connectionInfo(1).url, QStringLiteral("ws://127.0.0.1:9001/echo"));
    QCOMPARE(store.connectionInfo(1).name, QStringLiteral("127.0.0.1:9001/echo"));
    QCOMPARE(store.connectionInfo(2).url,
             QStringLiteral("wss://stream.example.net/feed?token=abc123&v=2"));
    QCOMPARE(store.size(), 2 + 6 + 5);

    QStringList rows;
    for (qsizetype i = 0; i < store.size(); ++i) {
        const LogRecord &r = store.at(i);
        rows.append(QStringLiteral("%1 %2 %3 %4")
                        .arg(r.connection)
                        .arg(r.timestampUs)
                        .arg(QLatin1String(logKindName(r.kind)), directionWord(r)));
        QVERIFY(r.has(LogRecord::InMessageView) && r.has(LogRecord::InFrameView));
        if (i > 0)
            QVERIFY(r.timestampUs >= store.at(i - 1).timestampUs);
    }
    // One timeline: the feed's messages fall between the echo's.
    QCOMPARE(rows, (QStringList{
                       "1 1710165731384000 handshake sent",
                       "1 1710165731387211 text sent",
                       "1 1710165731388022 text received",
                       "2 1710165731512000 handshake sent",
                       "2 1710165731563807 text received",
                       "2 1710165731565980 text sent",
                       "1 1710165731901554 binary sent",
                       "1 1710165731902367 binary received",
                       "2 1710165731987770 text received",
                       "2 1710165732987512 text received",
                       "1 1710165733020000 text sent",
                       "1 1710165733020961 text received",
                       "2 1710165734112000 error received",
                   }));
    QCOMPARE(store.at(6).payload, QByteArray::fromHex("000102ff"));
    QCOMPARE(QString::fromUtf8(store.at(10).payload), QStringLiteral("café ☕"));
    QCOMPARE(QString::fromUtf8(store.at(12).payload),
             QStringLiteral("Could not decode a text frame as UTF-8."));
    QVERIFY(store.at(12).isError());

    const LogRecordExtra *echo = store.extra(0);
    QVERIFY(echo);
    QCOMPARE(echo->handshakeKind, HandshakeEvent::Kind::ClientAccepted);
    QCOMPARE(echo->httpStatus, 101);
    QCOMPARE(echo->subprotocol, QByteArray("chat"));
    QVERIFY(echo->rawRequest.startsWith("GET /echo HTTP/1.1\r\n"));
    QVERIFY(echo->rawRequest.contains("\r\nSec-WebSocket-Key: Xk2w0mZK5cGv3hYuJ0Q3bA==\r\n"));
    QVERIFY(echo->rawRequest.endsWith("\r\n\r\n"));
    QVERIFY(echo->rawResponse.startsWith("HTTP/1.1 101 Switching Protocols\r\n"));
    const LogRecordExtra *feed = store.extra(3);
    QVERIFY(feed->rawRequest.startsWith("GET /feed?token=abc123&v=2 HTTP/1.1\r\n"));
    QCOMPARE(feed->extensions, QByteArray("permessage-deflate; client_max_window_bits=15"));

    // Importing again adds new connections rather than merging.
    QVERIFY(HarFile::open(QStringLiteral(WSW_LOG_TEST_DATA "/chrome-devtools-websocket.har"), store,
                          &error));
    QCOMPARE(store.connectionIds(), (QList<quint32>{1, 2, 3, 4}));
    QCOMPARE(store.size(), 26);
}

void TestLogFile::importRejectsNonHar() {
    LogStore store;
    QString error;
    QByteArray notJson("{\"log\": [");
    QBuffer a(&notJson);
    a.open(QIODevice::ReadOnly);
    QVERIFY(!HarFile::open(a, store, &error));
    QVERIFY(error.startsWith(QStringLiteral("not JSON")));
    QByteArray noEntries(R"({"log":{"version":"1.2"}})");
    QBuffer b(&noEntries);
    b.open(QIODevice::ReadOnly);
    QVERIFY(!HarFile::open(b, store, &error));
    QVERIFY(error.contains(QStringLiteral("log.entries")));
    QVERIFY(store.isEmpty());
}

void TestLogFile::jsonLinesReportsProgress() {
    LogStore original;
    recordManyMessages(original, 60'000);
    QBuffer buffer;
    buffer.open(QIODevice::ReadWrite);
    QString error;
    QVERIFY2(JsonLinesFile::save(original, buffer, &error), qPrintable(error));
    const qint64 size = buffer.size();
    QVERIFY(size > 4 * ProgressInterval);

    buffer.seek(0);
    LogStore reopened;
    ProgressCalls calls;
    QVERIFY2(JsonLinesFile::open(buffer, reopened, &error, calls.callback()), qPrintable(error));
    QCOMPARE(reopened.size(), original.size());
    // Now and then, not per line: about once per interval, and once at the end.
    QVERIFY(calls.done.size() >= size / ProgressInterval);
    QVERIFY(calls.done.size() <= size / ProgressInterval + 1);
    for (qsizetype i = 1; i < calls.done.size(); ++i)
        QVERIFY(calls.done[i] > calls.done[i - 1]);
    QVERIFY(calls.done.first() >= ProgressInterval);
    QCOMPARE(calls.done.last(), size);
    for (const qint64 total : std::as_const(calls.totals))
        QCOMPARE(total, size);

    // The same with a file.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("big.jsonl"));
    QVERIFY2(JsonLinesFile::save(original, path, &error), qPrintable(error));
    LogStore fromFile;
    ProgressCalls fileCalls;
    QVERIFY2(JsonLinesFile::open(path, fromFile, &error, fileCalls.callback()), qPrintable(error));
    QCOMPARE(fromFile.size(), original.size());
    QCOMPARE(fileCalls.done.last(), QFileInfo(path).size());
    QCOMPARE(fileCalls.totals.last(), QFileInfo(path).size());
}

void TestLogFile::jsonLinesCancel() {
    LogStore original;
    recordManyMessages(original, 60'000);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("big.jsonl"));
    QString error;
    QVERIFY2(JsonLinesFile::save(original, path, &error), qPrintable(error));

    // Into an empty store: nothing of the file stays.
    LogStore store;
    ProgressCalls calls;
    calls.cancelAt = 1;
    QVERIFY(!JsonLinesFile::open(path, store, &error, calls.callback()));
    QCOMPARE(error, QStringLiteral("cancelled"));
    QCOMPARE(calls.done.size(), 2); // no call after the one that cancelled
    QVERIFY(store.isEmpty());
    QVERIFY(store.connections().isEmpty());

    // Into a store that holds a log already: that log stays as it was.
    LogStore busy;
    recordConversation(busy);
    const qsizetype busySize = busy.size();
    const QList<quint32> busyConnections = busy.connectionIds();
    ProgressCalls busyCalls;
    busyCalls.cancelAt = 2;
    error.clear();
    QVERIFY(!JsonLinesFile::open(path, busy, &error, busyCalls.callback()));
    QCOMPARE(error, QStringLiteral("cancelled"));
    QCOMPARE(busy.size(), busySize);
    QCOMPARE(busy.connectionIds(), busyConnections);
    QCOMPARE(busy.connectionName(1), QStringLiteral("client"));

    // And a read that is not cancelled still lands there whole.
    ProgressCalls fullCalls;
    QVERIFY2(JsonLinesFile::open(path, busy, &error, fullCalls.callback()), qPrintable(error));
    QCOMPARE(busy.size(), busySize + original.size());
    QCOMPARE(busy.at(busySize + 7).payload, original.at(7).payload);
    QCOMPARE(busy.connectionName(1), QStringLiteral("bulk"));
}

void TestLogFile::harImportReportsProgressAndCancels() {
    LogStore original;
    recordManyMessages(original, 60'000);
    QBuffer buffer;
    buffer.open(QIODevice::ReadWrite);
    QString error;
    QVERIFY2(HarFile::save(original, buffer, &error), qPrintable(error));
    const qint64 size = buffer.size();
    QVERIFY(size > 3 * ProgressInterval);

    buffer.seek(0);
    LogStore imported;
    ProgressCalls calls;
    QVERIFY2(HarFile::open(buffer, imported, &error, calls.callback()), qPrintable(error));
    QCOMPARE(imported.size(), original.size()); // no handshake row made up
    QVERIFY(calls.done.size() >= size / ProgressInterval);
    QVERIFY(calls.done.first() >= ProgressInterval);
    // Reading moves forward; turning entries into rows reports the whole file read.
    for (qsizetype i = 1; i < calls.done.size(); ++i)
        QVERIFY(calls.done[i] >= calls.done[i - 1]);
    QCOMPARE(calls.done.last(), size);
    for (const qint64 total : std::as_const(calls.totals))
        QCOMPARE(total, size);

    // Cancelled while reading, and while turning entries into rows (the last call).
    for (const int cancelAt : {0, int(calls.done.size()) - 1}) {
        buffer.seek(0);
        LogStore store;
        ProgressCalls cancelling;
        cancelling.cancelAt = cancelAt;
        error.clear();
        QVERIFY(!HarFile::open(buffer, store, &error, cancelling.callback()));
        QCOMPARE(error, QStringLiteral("cancelled"));
        QCOMPARE(cancelling.done.size(), cancelAt + 1);
        QVERIFY(store.isEmpty());
        QVERIFY(store.connections().isEmpty());
    }
}

void TestLogFile::harExportImportExportIsIdentical() {
    LogStore original;
    recordConversation(original);
    recordOddities(original);
    recordServerSide(original, 7);
    recordRefused(original, 9);
    const QByteArray first = harBytes(original);
    QCOMPARE(harEntries(first).size(), 5);

    LogStore imported;
    QString error;
    QVERIFY2(readHar(first, imported, &error), qPrintable(error));
    const QByteArray second = harBytes(imported);
    if (second != first) {
        // Say where they part, not two walls of JSON.
        qsizetype at = 0;
        while (at < first.size() && at < second.size() && first[at] == second[at])
            ++at;
        QFAIL(qPrintable(
            QStringLiteral("exports differ at byte %1:\n%2\n%3")
                .arg(at)
                .arg(QString::fromUtf8(first.mid(std::max<qsizetype>(0, at - 80), 160)),
                     QString::fromUtf8(second.mid(std::max<qsizetype>(0, at - 80), 160)))));
    }
}

void TestLogFile::harServerSideConnection() {
    LogStore store;
    recordServerSide(store, 7);
    const QByteArray bytes = harBytes(store);
    const QJsonArray entries = harEntries(bytes);
    QCOMPARE(entries.size(), 1);
    const QJsonObject entry = entries.at(0).toObject();
    // The URL the client asked for, not the window's description of the connection.
    QCOMPARE(entry.value("request").toObject().value("url").toString(),
             QStringLiteral("ws://127.0.0.1:9001/chat?room=1"));
    QCOMPARE(entry.value("_peer").toString(), QStringLiteral("127.0.0.1:50123"));
    QCOMPARE(entry.value("request").toObject().value("queryString").toArray().size(), 1);
    QCOMPARE(entry.value("response").toObject().value("status").toInt(), 101);
    const QJsonArray messages = entry.value("_webSocketMessages").toArray();
    QCOMPARE(messages.size(), 2);
    QCOMPARE(messages.at(0).toObject().value("type").toString(), QStringLiteral("receive"));
    QCOMPARE(messages.at(1).toObject().value("type").toString(), QStringLiteral("send"));

    // Read back, it is the server side again: the upgrade was received, not sent.
    LogStore imported;
    QString error;
    QVERIFY2(readHar(bytes, imported, &error), qPrintable(error));
    QCOMPARE(imported.connectionInfo(1).url,
             QStringLiteral("ws://127.0.0.1:9001/chat?room=1 \u2190 127.0.0.1:50123"));
    QCOMPARE(imported.at(0).kind, LogKind::Handshake);
    QVERIFY(!imported.at(0).has(LogRecord::Outgoing));
    QCOMPARE(imported.extra(0)->handshakeKind, HandshakeEvent::Kind::UpgradeRequested);

    // A Chrome entry has no _peer: the browser's side, as before.
    LogStore chrome;
    QVERIFY(HarFile::open(QStringLiteral(WSW_LOG_TEST_DATA "/chrome-devtools-websocket.har"),
                          chrome, &error));
    QCOMPARE(chrome.extra(0)->handshakeKind, HandshakeEvent::Kind::ClientAccepted);
    QVERIFY(!harEntries(harBytes(chrome)).at(0).toObject().contains("_peer"));
}

void TestLogFile::harRefusedConnectionIsNotAnUpgrade() {
    LogStore store;
    recordRefused(store, 9);
    const QByteArray bytes = harBytes(store);
    const QJsonObject entry = harEntries(bytes).at(0).toObject();
    const QJsonObject response = entry.value("response").toObject();
    QCOMPARE(response.value("status").toInt(), 0);
    QCOMPARE(response.value("statusText").toString(), QString());
    QCOMPARE(response.value("_error").toString(), QStringLiteral("Connection refused"));
    QCOMPARE(entry.value("request").toObject().value("url").toString(),
             QStringLiteral("ws://127.0.0.1:1/"));
    QVERIFY(!bytes.contains("101"));

    // Read back: the error row, and no handshake that never happened.
    LogStore imported;
    QString error;
    QVERIFY2(readHar(bytes, imported, &error), qPrintable(error));
    QCOMPARE(imported.size(), 1);
    QCOMPARE(imported.at(0).kind, LogKind::Error);
    QCOMPARE(imported.at(0).payload, QByteArray("Connection refused"));

    // A handshake that failed with an answer keeps its status and its reason.
    LogStore failed;
    HandshakeEvent event;
    event.kind = HandshakeEvent::Kind::Failed;
    event.timestampUs = 1'000;
    event.rawRequest = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
    event.rawResponse = "HTTP/1.1 404 Not Found\r\n\r\n";
    event.httpStatus = 404;
    event.error = QStringLiteral("the server answered 404 Not Found");
    failed.setClockOffset(1'700'000'000'000'000);
    failed.append(1, event);
    failed.commitPending();
    const QJsonObject answered =
        harEntries(harBytes(failed)).at(0).toObject().value("response").toObject();
    QCOMPARE(answered.value("status").toInt(), 404);
    QCOMPARE(answered.value("_error").toString(), event.error);
}

QTEST_GUILESS_MAIN(TestLogFile)
#include "tst_logfile.moc"

// JsonLinesRecorder: session events written as they happen, in the format
// JsonLinesFile saves and reads, with the records a LogStore makes of them.

#include "logtesthelpers.h"

#include "log/jsonlinesfile.h"
#include "log/jsonlinesrecorder.h"
#include "log/logstore.h"

#include <QDateTime>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

using namespace ws;
using namespace ws::log;
using namespace wstest;

namespace {

QByteArrayList fileLines(const QString &path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    QByteArrayList lines = file.readAll().split('\n');
    if (!lines.isEmpty() && lines.last().isEmpty())
        lines.removeLast();
    return lines;
}

// `store`'s records with the time left out: the recorder reads the wall clock.
QList<LogRecord> untimed(const LogStore &store) {
    QList<LogRecord> records;
    for (qsizetype i = 0; i < store.size(); ++i) {
        LogRecord r = store.at(i);
        r.timestampUs = 0;
        records.append(r);
    }
    return records;
}

} // namespace

class TestJsonLinesRecorder : public QObject {
    Q_OBJECT

private slots:
    void writesWhatTheStoreMakes();
    void writesAsItHappens();
    void closeWritesTheHeldBackRecord();
    void closedConnectionsAreForgotten();
    void unwritablePathFails();
};

void TestJsonLinesRecorder::writesWhatTheStoreMakes() {
    SessionPair pair;
    QVERIFY(pair.converse(QByteArray::fromHex("0001ff")));

    QTemporaryDir directory;
    const QString path = directory.filePath(QStringLiteral("session.jsonl"));
    const ConnectionInfo client{QStringLiteral("client"), QStringLiteral("ws://example.com/chat")};
    const ConnectionInfo server{QStringLiteral("server"), QString()};
    LogStore expected;
    expected.setTimeOrdered(false); // the order the recorder writes
    expected.setConnectionInfo(SessionPair::ClientConnection, client);
    expected.setConnectionInfo(SessionPair::ServerConnection, server);
    const qint64 before = QDateTime::currentMSecsSinceEpoch() * 1000;
    {
        JsonLinesRecorder recorder;
        QString error;
        QVERIFY2(recorder.open(path, &error), qPrintable(error));
        recorder.setConnectionInfo(SessionPair::ClientConnection, client);
        recorder.setConnectionInfo(SessionPair::ServerConnection, server);
        for (const auto &tagged : std::as_const(pair.events)) {
            recorder.append(tagged.connection, tagged.event);
            expected.append(tagged.connection, tagged.event);
        }
        expected.commitPending();
        QVERIFY(recorder.close());
        QVERIFY(recorder.errorString().isEmpty());
    }

    LogStore read;
    QString error;
    QVERIFY2(JsonLinesFile::open(path, read, &error), qPrintable(error));
    QCOMPARE(read.size(), expected.size());
    QCOMPARE(untimed(read), untimed(expected));
    for (qsizetype i = 0; i < read.size(); ++i) {
        const LogRecordExtra *a = read.extra(i);
        const LogRecordExtra *b = expected.extra(i);
        QCOMPARE(a != nullptr, b != nullptr);
        if (a)
            QVERIFY(*a == *b);
        QVERIFY(read.at(i).timestampUs >= before);
    }
    QCOMPARE(read.connections(), expected.connections());
    // Each record line is the line JsonLinesFile::save writes for it.
    const QByteArrayList lines = fileLines(path);
    QCOMPARE(lines.size(), 1 + 2 + read.size());
    for (qsizetype i = 0; i < read.size(); ++i) {
        QCOMPARE(QJsonDocument::fromJson(lines.at(3 + i)).object(),
                 JsonLinesFile::recordToJson(read.at(i), read.extra(i)));
    }
}

void TestJsonLinesRecorder::writesAsItHappens() {
    QTemporaryDir directory;
    const QString path = directory.filePath(QStringLiteral("live.jsonl"));
    JsonLinesRecorder recorder;
    QVERIFY(recorder.open(path));
    QCOMPARE(fileLines(path).size(), 1); // the header
    recorder.setConnectionInfo(1, {QStringLiteral("live"), QStringLiteral("ws://x/")});
    QCOMPARE(fileLines(path).size(), 2);
    for (const SessionEvent &event : textMessage(Direction::Incoming, 1000, "first"))
        recorder.append(1, event);
    // The message completed its frame's row: in the file before any flush or close.
    const QByteArrayList lines = fileLines(path);
    QCOMPARE(lines.size(), 3);
    const QJsonObject record = QJsonDocument::fromJson(lines.at(2)).object();
    QCOMPARE(record.value(QStringLiteral("kind")).toString(), QStringLiteral("text"));
    QCOMPARE(record.value(QStringLiteral("dir")).toString(), QStringLiteral("received"));
    QCOMPARE(QByteArray::fromBase64(record.value(QStringLiteral("payload")).toString().toLatin1()),
             QByteArray("first"));
}

void TestJsonLinesRecorder::closeWritesTheHeldBackRecord() {
    QTemporaryDir directory;
    const QString path = directory.filePath(QStringLiteral("held.jsonl"));
    JsonLinesRecorder recorder;
    QVERIFY(recorder.open(path));
    // A single-frame message's frame waits for the message event that may merge with it.
    recorder.append(1, frameEvent(Direction::Incoming, 1000, 0x1, "alone"));
    QCOMPARE(fileLines(path).size(), 1);
    QVERIFY(recorder.flush());
    QCOMPARE(fileLines(path).size(), 2);
    QVERIFY(recorder.close());
    LogStore read;
    QVERIFY(JsonLinesFile::open(path, read));
    QCOMPARE(read.size(), 1);
    QCOMPARE(read.at(0).payload, QByteArray("alone"));
    // Closed: further events are ignored.
    for (const SessionEvent &event : textMessage(Direction::Incoming, 2000, "late"))
        recorder.append(1, event);
    QCOMPARE(fileLines(path).size(), 2);
}

void TestJsonLinesRecorder::closedConnectionsAreForgotten() {
    QTemporaryDir directory;
    const QString path = directory.filePath(QStringLiteral("many.jsonl"));
    JsonLinesRecorder recorder;
    QVERIFY(recorder.open(path));
    // A recorder that outlives many connections keeps nothing of those that ended.
    for (quint32 connection = 1; connection <= 1000; ++connection) {
        recorder.setConnectionInfo(connection, {QStringLiteral("c%1").arg(connection), {}});
        for (const SessionEvent &event : textMessage(Direction::Incoming, connection, "hi"))
            recorder.append(connection, event);
        if (connection != 500)
            recorder.append(connection, ClosedEvent{connection, 1000, QString(), true, false});
    }
    QCOMPARE(recorder.store().connectionIds(), QList<quint32>{500});
    QCOMPARE(recorder.store().releasedCount(), 0);
    QVERIFY(recorder.close());
    // The file still names every connection and has every record.
    LogStore read;
    QVERIFY(JsonLinesFile::open(path, read));
    QCOMPARE(read.connections().size(), 1000);
    QCOMPARE(read.connectionName(1), QStringLiteral("c1"));
    QCOMPARE(read.size(), 1000 + 999);
}

void TestJsonLinesRecorder::unwritablePathFails() {
    QTemporaryDir directory;
    JsonLinesRecorder recorder;
    QString error;
    QVERIFY(!recorder.open(directory.filePath(QStringLiteral("missing/dir/x.jsonl")), &error));
    QVERIFY(error.contains(QLatin1String("x.jsonl")));
    QVERIFY(!recorder.isOpen());
}

QTEST_GUILESS_MAIN(TestJsonLinesRecorder)
#include "tst_jsonlinesrecorder.moc"

// `wsw serve --save` and `wsw connect --save` write logs the library reads back:
// the same records, in order, that the window would show for the two sessions.

#include "log/jsonlinesfile.h"
#include "log/logstore.h"

#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

using namespace ws;
using namespace ws::log;

namespace {

constexpr int StepTimeoutMs = 15'000;

struct Message {
    bool sent = false;
    LogKind kind = LogKind::Text;
    QByteArray payload;
    bool operator==(const Message &) const = default;
};

// The data messages of `store` the message view lists, sent or received.
QList<Message> messagesOf(const LogStore &store, bool sent) {
    QList<Message> messages;
    for (qsizetype i = 0; i < store.size(); ++i) {
        const LogRecord &r = store.at(i);
        if (r.has(LogRecord::InMessageView) && r.has(LogRecord::Outgoing) == sent &&
            (r.kind == LogKind::Text || r.kind == LogKind::Binary))
            messages.append({sent, r.kind, r.payload});
    }
    return messages;
}

qsizetype countOf(const LogStore &store, LogKind kind) {
    qsizetype count = 0;
    for (qsizetype i = 0; i < store.size(); ++i)
        count += store.at(i).kind == kind ? 1 : 0;
    return count;
}

} // namespace

namespace QTest {
template <> char *toString(const Message &m) {
    return qstrdup(QByteArray((m.sent ? "sent " : "received ") + QByteArray(logKindName(m.kind)) +
                              ' ' + m.payload.toHex())
                       .constData());
}
} // namespace QTest

class TestWswSave : public QObject {
    Q_OBJECT

private slots:
    void savedSessionsReadBack();
};

void TestWswSave::savedSessionsReadBack() {
    QTemporaryDir directory;
    QVERIFY(directory.isValid());
    const QString serverFile = directory.filePath(QStringLiteral("server")); // .jsonl is added
    const QString clientFile = directory.filePath(QStringLiteral("client.jsonl"));

    QProcess server;
    server.start(QStringLiteral(WSW_EXECUTABLE),
                 {QStringLiteral("serve"), QStringLiteral("--port"), QStringLiteral("0"),
                  QStringLiteral("--quiet"), QStringLiteral("--save"), serverFile});
    QVERIFY(server.waitForStarted(StepTimeoutMs));
    auto stopServer = qScopeGuard([&] {
        if (server.state() != QProcess::NotRunning) {
            server.kill();
            server.waitForFinished(StepTimeoutMs);
        }
    });
    QVERIFY(server.waitForReadyRead(StepTimeoutMs));
    const QString listening = QString::fromUtf8(server.readLine()).trimmed();
    const auto match =
        QRegularExpression(QStringLiteral("^listening on (ws://127\\.0\\.0\\.1:\\d+/)$"))
            .match(listening);
    QVERIFY2(match.hasMatch(), qPrintable(listening));

    QProcess client;
    client.start(QStringLiteral(WSW_EXECUTABLE), {QStringLiteral("connect"), match.captured(1),
                                                  QStringLiteral("--save"), clientFile});
    QVERIFY(client.waitForStarted(StepTimeoutMs));
    client.write("hello\n/binary 0102ff\n");
    client.closeWriteChannel(); // the end of input closes with 1000
    QVERIFY(client.waitForFinished(StepTimeoutMs));
    QCOMPARE(client.exitCode(), 0);

    server.terminate(); // SIGTERM: the server stops and its log is flushed
    QVERIFY(server.waitForFinished(StepTimeoutMs));
    QCOMPARE(server.exitStatus(), QProcess::NormalExit);
    QCOMPARE(server.exitCode(), 0);

    LogStore clientLog;
    QString error;
    QVERIFY2(JsonLinesFile::open(clientFile, clientLog, &error), qPrintable(error));
    LogStore serverLog;
    QVERIFY2(JsonLinesFile::open(serverFile + QStringLiteral(".jsonl"), serverLog, &error),
             qPrintable(error));

    // Both lines go out before the first echo is back: each direction keeps its order.
    const QByteArray binary = QByteArray::fromHex("0102ff");
    const QList<Message> sent{{true, LogKind::Text, "hello"}, {true, LogKind::Binary, binary}};
    const QList<Message> received{{false, LogKind::Text, "hello"},
                                  {false, LogKind::Binary, binary}};
    QCOMPARE(messagesOf(clientLog, true), sent);
    QCOMPARE(messagesOf(clientLog, false), received);
    // The echo server received them and sent them back.
    QCOMPARE(messagesOf(serverLog, false), received);
    QCOMPARE(messagesOf(serverLog, true), sent);

    // Both ends of one session: its handshake, both close frames and how it ended.
    for (const LogStore *store : {&clientLog, &serverLog}) {
        QCOMPARE(store->connectionIds().size(), 1);
        QCOMPARE(countOf(*store, LogKind::Handshake), 1);
        QCOMPARE(countOf(*store, LogKind::Close), 2);
        const LogRecord &last = store->at(store->size() - 1);
        QVERIFY(last.has(LogRecord::ClosedSummary));
        QVERIFY(last.has(LogRecord::CleanClose));
        QCOMPARE(last.closeCode, quint16(1000));
    }
    QCOMPARE(clientLog.connectionInfo(1).url, match.captured(1));
    // Frames were reported for the log: the client's are masked (RFC 6455 §5.3).
    bool sawMaskedFrame = false;
    for (qsizetype i = 0; i < clientLog.size(); ++i) {
        const LogRecord &r = clientLog.at(i);
        if (r.isFrame() && r.has(LogRecord::Outgoing))
            sawMaskedFrame = sawMaskedFrame || r.header().masked();
    }
    QVERIFY(sawMaskedFrame);
}

QTEST_GUILESS_MAIN(TestWswSave)
#include "tst_wswsave.moc"

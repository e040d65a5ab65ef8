// A message the relay holds back, as its list shows it: in the log's words, the
// same kind names and payload previews as the log's rows.

#include "models/heldmessagesmodel.h"
#include "relay/relay.h"

#include <QTest>

using namespace ws;
using namespace ws::log;

class TestHeldMessagesModel : public QObject {
    Q_OBJECT
private slots:
    void asLogRecord_data();
    void asLogRecord();
    void previewIsBounded();
};

void TestHeldMessagesModel::asLogRecord_data() {
    QTest::addColumn<Opcode>("opcode");
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<LogKind>("kind");
    QTest::addColumn<int>("closeCode"); // -1: none
    QTest::addColumn<QString>("preview");
    QTest::newRow("text") << Opcode::Text << QByteArray("secret one") << LogKind::Text << -1
                          << QStringLiteral("secret one");
    QTest::newRow("text over lines") << Opcode::Text << QByteArray("a\nb\tc") << LogKind::Text << -1
                                     << QStringLiteral("a\\nb\\tc");
    QTest::newRow("binary") << Opcode::Binary << QByteArray::fromHex("ff0001") << LogKind::Binary
                            << -1 << QStringLiteral("ff 00 01");
    // RFC 6455 §5.5.1: the code in network order, then the reason.
    QTest::newRow("close with a reason")
        << Opcode::Close << QByteArray::fromHex("03e8627965") << LogKind::Close << 1000
        << QStringLiteral("1000 normal closure: bye");
    QTest::newRow("close, going away")
        << Opcode::Close << QByteArray::fromHex("03e9") << LogKind::Close << 1001
        << QStringLiteral("1001 going away");
    QTest::newRow("close without a code") << Opcode::Close << QByteArray() << LogKind::Close << -1
                                          << QStringLiteral("(no status code)");
    QTest::newRow("empty ping") << Opcode::Ping << QByteArray() << LogKind::Ping << -1
                                << QStringLiteral("(empty)");
    QTest::newRow("pong") << Opcode::Pong << QByteArray("hi") << LogKind::Pong << -1
                          << QStringLiteral("hi");
}

void TestHeldMessagesModel::asLogRecord() {
    QFETCH(Opcode, opcode);
    QFETCH(QByteArray, payload);
    QFETCH(LogKind, kind);
    QFETCH(int, closeCode);
    QFETCH(QString, preview);
    HeldMessage message;
    message.opcode = opcode;
    message.payload = payload;
    const LogRecord record = HeldMessagesModel::asLogRecord(message);
    QCOMPARE(record.kind, kind);
    QCOMPARE(record.payload, payload);
    QCOMPARE(record.length, quint64(payload.size()));
    QCOMPARE(record.has(LogRecord::HasCloseCode), closeCode >= 0);
    if (closeCode >= 0)
        QCOMPARE(int(record.closeCode), closeCode);
    QCOMPARE(recordPreview(record, nullptr), preview);
}

void TestHeldMessagesModel::previewIsBounded() {
    // A large held message: 120 characters and an ellipsis, as a log row.
    HeldMessage message;
    message.payload = QByteArray(1 << 20, 'x');
    const QString preview = recordPreview(HeldMessagesModel::asLogRecord(message), nullptr);
    QCOMPARE(preview, QString(120, QLatin1Char('x')) + QChar(0x2026));
}

QTEST_GUILESS_MAIN(TestHeldMessagesModel)
#include "tst_heldmessagesmodel.moc"

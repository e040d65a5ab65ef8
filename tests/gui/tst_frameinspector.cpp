// FrameInspector and FrameBitDiagram: field values, payload tabs, and the byte-range
// currency shared by the field table, the bit diagram and the header hex view.

#include "guitesthelpers.h"

#include "widgets/framebitdiagram.h"
#include "widgets/frameinspector.h"
#include "widgets/hexview.h"

#include "protocol/framedecoder.h"
#include "protocol/masking.h"

#include <QApplication>
#include <QCheckBox>
#include <QDateTime>
#include <QLabel>
#include <QMouseEvent>
#include <QPlainTextEdit>
#include <QScrollArea>
#include <QScrollBar>
#include <QSignalSpy>
#include <QStackedWidget>
#include <QTabWidget>
#include <QTest>
#include <QTreeWidget>
#include <QTreeWidgetItemIterator>

using namespace ws;
using namespace ws::log;
using namespace wstest;

namespace {

constexpr quint32 Key = 0x37fa213d;

QByteArray payload300() {
    QByteArray text;
    while (text.size() < 300)
        text += "The quick brown fox jumps over the lazy dog. ";
    text.truncate(300);
    return text;
}

// A client's masked text frame whose 300-byte payload needs the 16-bit length.
void storeMaskedFrame(LogStore &store) {
    store.setClockOffset(0);
    for (const SessionEvent &e : textMessage(Direction::Outgoing, 1'000, payload300(), Key))
        store.append(1, e);
    store.commitPending();
}

void showSized(QWidget &widget) {
    widget.resize(900, 900);
    widget.show();
    QVERIFY(QTest::qWaitForWindowExposed(&widget));
}

void click(QWidget *widget, const QPoint &position) {
    QMouseEvent press(QEvent::MouseButtonPress, QPointF(position),
                      widget->mapToGlobal(QPointF(position)), Qt::LeftButton, Qt::LeftButton,
                      Qt::NoModifier);
    QApplication::sendEvent(widget, &press);
    QMouseEvent release(QEvent::MouseButtonRelease, QPointF(position),
                        widget->mapToGlobal(QPointF(position)), Qt::LeftButton, Qt::NoButton,
                        Qt::NoModifier);
    QApplication::sendEvent(widget, &release);
}

QString value(const FrameInspector &inspector, const QString &name) {
    QTreeWidgetItem *item = inspector.findItem(name);
    return item ? item->text(1) : QStringLiteral("<missing %1>").arg(name);
}

QString meaning(const FrameInspector &inspector, const QString &name) {
    QTreeWidgetItem *item = inspector.findItem(name);
    return item ? item->text(2) : QStringLiteral("<missing %1>").arg(name);
}

} // namespace

class TestFrameInspector : public QObject {
    Q_OBJECT

private slots:
    void maskedSixteenBitLengthFrame();
    void maskedHexIsComputedOnDemand();
    void closeFrame();
    void pongRoundTrip();
    void sentFrameShowsWhenItWasQueued();
    void violationAndHandshake();
    void jsonTree();
    void notJson();
    void fragmentedMessageListsFrames();
    void fieldSelectionHighlightsBytes_data();
    void fieldSelectionHighlightsBytes();
    void headerByteSelectsField_data();
    void headerByteSelectsField();
    void diagramClickSelectsField();
    void diagramMapsBitsToFields_data();
    void diagramMapsBitsToFields();
    void diagramPaints();
    void errorRowShowsTheOffendingFrame_data();
    void errorRowShowsTheOffendingFrame();
    void framePaneTintsAndSelection();
    void framePaneUnmasks();
    void diagramFitsItsPane_data();
    void diagramFitsItsPane();
    void fieldTextsAreNeverElided();
};

void TestFrameInspector::maskedSixteenBitLengthFrame() {
    LogStore store;
    storeMaskedFrame(store);
    FrameInspector inspector;
    inspector.setRecord(store, 0);
    QVERIFY(inspector.hasRecord());
    QCOMPARE(inspector.storeIndex(), 0);

    QCOMPARE(value(inspector, "FIN"), QStringLiteral("1"));
    QCOMPARE(meaning(inspector, "FIN"), QStringLiteral("final fragment of its message"));
    QCOMPARE(value(inspector, "RSV1"), QStringLiteral("0"));
    QCOMPARE(value(inspector, "Opcode"), QStringLiteral("0x1"));
    QVERIFY(meaning(inspector, "Opcode").startsWith(QStringLiteral("text frame")));
    QCOMPARE(value(inspector, "Mask"), QStringLiteral("1"));
    // RFC 6455 §5.2: 126 in the 7-bit field, then the length in 16 bits.
    QCOMPARE(value(inspector, "Payload len"), QStringLiteral("126"));
    QCOMPARE(meaning(inspector, "Payload len"), QStringLiteral("a 16-bit extended length follows"));
    QCOMPARE(value(inspector, "Extended payload length"), QStringLiteral("300"));
    QCOMPARE(meaning(inspector, "Extended payload length"),
             QStringLiteral("16-bit extended length"));
    QCOMPARE(value(inspector, "Masking-key"), QStringLiteral("0x37fa213d"));
    QVERIFY(meaning(inspector, "Masking-key").startsWith(QStringLiteral("key bytes 37 fa 21 3d")));
    QCOMPARE(value(inspector, "Payload Data"), QStringLiteral("300"));
    QCOMPARE(value(inspector, "Raw header"), QStringLiteral("81 fe 01 2c 37 fa 21 3d"));
    QCOMPARE(value(inspector, "Direction"), QStringLiteral("sent"));
    QCOMPARE(value(inspector, "Frames"), QStringLiteral("1"));

    // The whole frame as on the wire: header, then the masked payload.
    QCOMPARE(inspector.frameHexView()->data(),
             QByteArray::fromHex("81fe012c37fa213d") + store.at(0).maskedPayload());
    QCOMPARE(value(inspector, "Bytes on the wire"), QStringLiteral("308"));
    QVERIFY(inspector.bitDiagram()->hasHeader());
    QCOMPARE(inspector.bitDiagram()->valueText(HeaderField::PayloadLength7), QStringLiteral("126"));
    QCOMPARE(inspector.bitDiagram()->valueText(HeaderField::ExtendedLength), QStringLiteral("300"));
    QCOMPARE(inspector.bitDiagram()->valueText(HeaderField::Opcode), QStringLiteral("0x1 text"));
    QCOMPARE(inspector.payloadHexView()->data(), payload300());
    QVERIFY(inspector.isPayloadTabVisible(FrameInspector::JsonTab));
    QVERIFY(inspector.isPayloadTabVisible(FrameInspector::MaskedHexTab));
    QVERIFY(!inspector.isPayloadTabVisible(FrameInspector::FramesTab));
    QCOMPARE(inspector.textView()->toPlainText(), QString::fromLatin1(payload300()));
}

void TestFrameInspector::maskedHexIsComputedOnDemand() {
    LogStore store;
    storeMaskedFrame(store);
    FrameInspector inspector;
    inspector.setRecord(store, 0);
    QVERIFY(inspector.maskedHexView()->data().isEmpty());
    inspector.setCurrentPayloadTab(FrameInspector::MaskedHexTab);
    // RFC 6455 §5.3: octet i of the masked data is octet i XOR key octet (i mod 4).
    const QByteArray plain = payload300();
    const quint8 key[4] = {0x37, 0xfa, 0x21, 0x3d};
    QByteArray expected = plain;
    for (qsizetype i = 0; i < expected.size(); ++i)
        expected[i] = char(quint8(plain[i]) ^ key[i % 4]);
    QCOMPARE(inspector.maskedHexView()->data(), expected);
    // The RFC's own example: "Hello" masked with the same key.
    LogStore hello;
    hello.setClockOffset(0);
    for (const SessionEvent &e : textMessage(Direction::Outgoing, 0, "Hello", Key))
        hello.append(1, e);
    hello.commitPending();
    inspector.setRecord(hello, 0);
    inspector.setCurrentPayloadTab(FrameInspector::MaskedHexTab);
    QCOMPARE(inspector.maskedHexView()->data(), QByteArray::fromHex("7f9f4d5158"));
    // An unmasked frame has no masked tab.
    LogStore plainStore;
    plainStore.setClockOffset(0);
    plainStore.append(1, frameEvent(Direction::Incoming, 0, 0x2, "abc"));
    plainStore.commitPending();
    inspector.setRecord(plainStore, 0);
    QVERIFY(!inspector.isPayloadTabVisible(FrameInspector::MaskedHexTab));
    QVERIFY(!inspector.isPayloadTabVisible(FrameInspector::JsonTab)); // binary
    QVERIFY(inspector.findItem("Masking-key") == nullptr);
}

void TestFrameInspector::closeFrame() {
    LogStore store;
    store.setClockOffset(0);
    store.append(
        1, frameEvent(Direction::Incoming, 0, 0x8, QByteArray::fromHex("03e9") + "server restart"));
    store.append(1, CloseEvent{0, quint16(1001), QStringLiteral("server restart")});
    store.commitPending();
    FrameInspector inspector;
    showSized(inspector);
    inspector.setRecord(store, 0);
    QCOMPARE(value(inspector, "Opcode"), QStringLiteral("0x8"));
    QVERIFY(meaning(inspector, "Opcode").contains(QStringLiteral("control frame")));
    QCOMPARE(value(inspector, "Close code"), QStringLiteral("1001"));
    QCOMPARE(meaning(inspector, "Close code"), QStringLiteral("going away"));
    QCOMPARE(value(inspector, "Reason"), QStringLiteral("server restart"));
    QCOMPARE(inspector.textView()->toPlainText(), QStringLiteral("server restart"));
    // The code's row selects its two payload bytes.
    inspector.fieldTree()->setCurrentItem(inspector.findItem("Close code"));
    QCOMPARE(inspector.currentPayloadTab(), FrameInspector::HexTab);
    QCOMPARE(inspector.payloadHexView()->highlightStart(), 0);
    QCOMPARE(inspector.payloadHexView()->highlightLength(), 2);
    inspector.fieldTree()->setCurrentItem(inspector.findItem("Reason"));
    QCOMPARE(inspector.payloadHexView()->highlightStart(), 2);
    QCOMPARE(inspector.payloadHexView()->highlightLength(), 14);

    // A code that must not be sent is said so.
    LogStore bad;
    bad.setClockOffset(0);
    bad.append(1, frameEvent(Direction::Outgoing, 0, 0x8, QByteArray::fromHex("03ed")));
    bad.commitPending();
    inspector.setRecord(bad, 0);
    QCOMPARE(value(inspector, "Close code"), QStringLiteral("1005"));
    QVERIFY(meaning(inspector, "Close code").contains(QStringLiteral("must not be sent")));
}

void TestFrameInspector::pongRoundTrip() {
    LogStore store;
    store.setClockOffset(0);
    store.append(1, frameEvent(Direction::Incoming, 0, 0xA, "rt"));
    store.append(1, PongEvent{0, "rt", qint64(2500)});
    store.append(1, frameEvent(Direction::Incoming, 1, 0xA, "hb"));
    store.append(1, PongEvent{1, "hb", std::nullopt});
    store.commitPending();
    FrameInspector inspector;
    inspector.setRecord(store, 0);
    QCOMPARE(value(inspector, "Round trip"), QStringLiteral("2.500 ms"));
    QCOMPARE(meaning(inspector, "Round trip"), QStringLiteral("since the matching ping was sent"));
    inspector.setRecord(store, 1);
    QCOMPARE(value(inspector, "Round trip"), QStringLiteral("none"));
}

void TestFrameInspector::sentFrameShowsWhenItWasQueued() {
    LogStore store;
    store.setClockOffset(0);
    FrameEvent waited = frameEvent(Direction::Outgoing, 5'000, 0x9, "late");
    waited.queuedUs = 3'750; // handed to the socket 1.25 ms after the send call
    store.append(1, waited);
    FrameEvent atOnce = frameEvent(Direction::Outgoing, 6'000, 0x9, "now");
    atOnce.queuedUs = 6'000;
    store.append(1, atOnce);
    store.commitPending();
    FrameInspector inspector;
    inspector.setRecord(store, 0);
    // Local time of day, in microseconds.
    QCOMPARE(value(inspector, "Queued"),
             QDateTime::fromMSecsSinceEpoch(3).toString(QStringLiteral("hh:mm:ss.zzz")) +
                 QStringLiteral("750"));
    QCOMPARE(meaning(inspector, "Queued"),
             QStringLiteral("sent 1.250 ms after it was queued (waiting for the socket)"));
    inspector.setRecord(store, 1);
    QVERIFY(!inspector.findItem(QStringLiteral("Queued")));
}

void TestFrameInspector::violationAndHandshake() {
    LogStore store;
    store.setClockOffset(0);
    ProtocolViolation violation;
    violation.error = ProtocolError::UnmaskedClientFrame;
    violation.reason = QStringLiteral("client frame is not masked (RFC 6455 §5.1)");
    violation.streamOffset = 129;
    store.append(1, ViolationEvent{0, violation});
    HandshakeEvent handshake;
    handshake.kind = HandshakeEvent::Kind::UpgradeRequested;
    handshake.rawRequest = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\n\r\n";
    handshake.subprotocol = "chat";
    store.append(2, handshake);
    ConformanceNote note;
    note.kind = ConformanceNote::Kind::UnsolicitedPong;
    note.text = QStringLiteral("pong without an outstanding ping");
    note.streamOffset = 12;
    store.append(3, NoteEvent{0, note});
    FrameInspector inspector;
    inspector.setRecord(store, 0);
    QCOMPARE(value(inspector, "Rule"), QStringLiteral("UnmaskedClientFrame"));
    QCOMPARE(value(inspector, "Reason"), violation.reason);
    QCOMPARE(value(inspector, "Failed with"), QStringLiteral("1002"));
    QCOMPARE(meaning(inspector, "Failed with"), QStringLiteral("protocol error"));
    QCOMPARE(value(inspector, "Stream offset"), QStringLiteral("129"));
    QVERIFY(!inspector.bitDiagram()->hasHeader());
    inspector.setRecord(store, 1);
    QCOMPARE(value(inspector, "Outcome"), QStringLiteral("upgrade-requested"));
    QCOMPARE(value(inspector, "Subprotocol"), QStringLiteral("chat"));
    // The text view shows lines; CRLF becomes its paragraph breaks.
    QCOMPARE(inspector.textView()->toPlainText(),
             QString::fromLatin1(handshake.rawRequest).remove(QLatin1Char('\r')));
    inspector.setRecord(store, 2);
    QCOMPARE(value(inspector, "UnsolicitedPong"), note.text);
    QCOMPARE(meaning(inspector, "UnsolicitedPong"), QStringLiteral("stream offset 12"));
    inspector.clear();
    QVERIFY(!inspector.hasRecord());
    QCOMPARE(inspector.fieldTree()->topLevelItemCount(), 0);
}

void TestFrameInspector::jsonTree() {
    LogStore store;
    store.setClockOffset(0);
    const QByteArray json =
        R"({"op":"tick","data":{"price":101.5,"tags":["a","b"],"ok":true,"none":null,)"
        R"( "z\u00e9\"q": "\ud83d\ude00\n", "big": 12345678901234567890}})";
    for (const SessionEvent &e : textMessage(Direction::Incoming, 0, json))
        store.append(1, e);
    store.commitPending();
    FrameInspector inspector;
    inspector.setRecord(store, 0);
    // Parsed only when the tab is shown.
    QCOMPARE(inspector.jsonTree()->topLevelItemCount(), 0);
    inspector.setCurrentPayloadTab(FrameInspector::JsonTab);
    QTreeWidget *tree = inspector.jsonTree();
    QCOMPARE(tree->topLevelItemCount(), 1);
    QTreeWidgetItem *root = tree->topLevelItem(0);
    QCOMPARE(root->text(1), QStringLiteral("{2}"));
    QCOMPARE(root->childCount(), 2);
    // Members in the document's order, not QJsonObject's sorted one; numbers as written.
    QTreeWidgetItem *op = root->child(0);
    QTreeWidgetItem *data = root->child(1);
    QCOMPARE(op->text(0) + QLatin1Char('=') + op->text(1), QStringLiteral("op=\"tick\""));
    QCOMPARE(data->text(0), QStringLiteral("data"));
    QCOMPARE(data->text(1), QStringLiteral("{6}"));
    QCOMPARE(data->childCount(), 6);
    QStringList members;
    for (int i = 0; i < data->childCount(); ++i)
        members.append(data->child(i)->text(0) + QLatin1Char('=') + data->child(i)->text(1));
    QCOMPARE(members, (QStringList{"price=101.5", "tags=[2]", "ok=true", "none=null",
                                   QStringLiteral("z\u00e9\"q=\"\U0001F600\n\""),
                                   "big=12345678901234567890"}));
    QTreeWidgetItem *tags = data->child(1);
    QCOMPARE(tags->child(0)->text(0), QStringLiteral("[0]"));
    QCOMPARE(tags->child(1)->text(1), QStringLiteral("\"b\""));
    QVERIFY(root->isExpanded());
    QVERIFY(!tags->isExpanded()); // collapsible: deeper levels start closed
    auto *stack =
        qobject_cast<QStackedWidget *>(inspector.payloadTabs()->widget(FrameInspector::JsonTab));
    QCOMPARE(stack->currentWidget(), tree);
}

void TestFrameInspector::notJson() {
    LogStore store;
    store.setClockOffset(0);
    for (const SessionEvent &e : textMessage(Direction::Incoming, 0, "{\"open\": "))
        store.append(1, e);
    store.commitPending();
    FrameInspector inspector;
    inspector.setRecord(store, 0);
    inspector.setCurrentPayloadTab(FrameInspector::JsonTab);
    auto *stack =
        qobject_cast<QStackedWidget *>(inspector.payloadTabs()->widget(FrameInspector::JsonTab));
    QCOMPARE(stack->currentWidget(), inspector.jsonMessage());
    QVERIFY(inspector.jsonMessage()->text().startsWith(QStringLiteral("Not JSON: ")));
    QCOMPARE(inspector.jsonTree()->topLevelItemCount(), 0);
}

void TestFrameInspector::fragmentedMessageListsFrames() {
    LogStore store;
    store.setClockOffset(0);
    store.append(1, frameEvent(Direction::Outgoing, 10, 0x1, "frag", false, quint32(1)));
    store.append(1, frameEvent(Direction::Outgoing, 11, 0x0, "men", false, quint32(2)));
    store.append(1, frameEvent(Direction::Outgoing, 12, 0x0, "ted", true, quint32(3)));
    store.append(1, messageEvent(Direction::Outgoing, 12, Opcode::Text, "fragmented", 3));
    store.commitPending();
    FrameInspector inspector;
    QSignalSpy activated(&inspector, &FrameInspector::recordActivated);
    inspector.setRecord(store, 3);
    QVERIFY(!inspector.bitDiagram()->hasHeader()); // a message has no header of its own
    QCOMPARE(value(inspector, "Frames"), QStringLiteral("3"));
    // Three 6-byte headers (masked, 7-bit lengths) and 10 payload bytes.
    QCOMPARE(value(inspector, "Bytes on the wire"), QStringLiteral("28"));
    QVERIFY(inspector.frameHexView()->data().isEmpty());
    QVERIFY(inspector.isPayloadTabVisible(FrameInspector::FramesTab));
    QTreeWidget *frames = inspector.frameList();
    QCOMPARE(frames->topLevelItemCount(), 3);
    QCOMPARE(frames->topLevelItem(0)->text(2), QStringLiteral("0x1 text"));
    QCOMPARE(frames->topLevelItem(1)->text(2), QStringLiteral("0x0 continuation"));
    QCOMPARE(frames->topLevelItem(2)->text(3), QStringLiteral("1"));
    QCOMPARE(frames->topLevelItem(2)->text(5), QStringLiteral("0x00000003"));
    emit frames->itemActivated(frames->topLevelItem(1), 0);
    QCOMPARE(activated.count(), 1);
    QCOMPARE(activated.at(0).at(0).value<qsizetype>(), 1);
    // A frame of it shows its own header.
    inspector.setRecord(store, 2);
    QCOMPARE(value(inspector, "FIN"), QStringLiteral("1"));
    QCOMPARE(value(inspector, "Opcode"), QStringLiteral("0x0"));
}

void TestFrameInspector::fieldSelectionHighlightsBytes_data() {
    QTest::addColumn<int>("field");
    QTest::addColumn<qint64>("start");
    QTest::addColumn<qint64>("length");
    // 81 fe 01 2c 37 fa 21 3d: the byte ranges fieldSpans gives.
    QTest::newRow("FIN") << int(HeaderField::Fin) << qint64(0) << qint64(1);
    QTest::newRow("RSV1") << int(HeaderField::Rsv1) << qint64(0) << qint64(1);
    QTest::newRow("opcode") << int(HeaderField::Opcode) << qint64(0) << qint64(1);
    QTest::newRow("mask") << int(HeaderField::Mask) << qint64(1) << qint64(1);
    QTest::newRow("payload len") << int(HeaderField::PayloadLength7) << qint64(1) << qint64(1);
    QTest::newRow("extended length") << int(HeaderField::ExtendedLength) << qint64(2) << qint64(2);
    QTest::newRow("masking key") << int(HeaderField::MaskingKey) << qint64(4) << qint64(4);
}

void TestFrameInspector::fieldSelectionHighlightsBytes() {
    QFETCH(int, field);
    QFETCH(qint64, start);
    QFETCH(qint64, length);
    LogStore store;
    storeMaskedFrame(store);
    FrameInspector inspector;
    showSized(inspector);
    inspector.setRecord(store, 0);
    QSignalSpy ranges(&inspector, &FrameInspector::byteRangeSelected);
    // The user picks the row in the field table.
    inspector.fieldTree()->setCurrentItem(inspector.fieldItem(HeaderField(field)));
    QCOMPARE(ranges.count(), 1);
    QCOMPARE(ranges.at(0).at(0).toLongLong(), start);
    QCOMPARE(ranges.at(0).at(1).toLongLong(), length);
    QCOMPARE(inspector.frameHexView()->highlightStart(), start);
    QCOMPARE(inspector.frameHexView()->highlightLength(), length);
    QCOMPARE(inspector.bitDiagram()->selectedField(),
             std::optional<HeaderField>(HeaderField(field)));
    QCOMPARE(inspector.selectedField(), std::optional<HeaderField>(HeaderField(field)));
    QCOMPARE(inspector.selectedByteStart(), start);
    QCOMPARE(inspector.selectedByteLength(), length);
}

void TestFrameInspector::headerByteSelectsField_data() {
    QTest::addColumn<qint64>("byte");
    QTest::addColumn<int>("field");
    QTest::addColumn<qint64>("start");
    QTest::addColumn<qint64>("length");
    // A byte shared by several fields selects the one with most bits in it.
    QTest::newRow("byte 0: opcode")
        << qint64(0) << int(HeaderField::Opcode) << qint64(0) << qint64(1);
    QTest::newRow("byte 1: payload len")
        << qint64(1) << int(HeaderField::PayloadLength7) << qint64(1) << qint64(1);
    QTest::newRow("byte 3: extended length")
        << qint64(3) << int(HeaderField::ExtendedLength) << qint64(2) << qint64(2);
    QTest::newRow("byte 6: masking key")
        << qint64(6) << int(HeaderField::MaskingKey) << qint64(4) << qint64(4);
}

void TestFrameInspector::headerByteSelectsField() {
    QFETCH(qint64, byte);
    QFETCH(int, field);
    QFETCH(qint64, start);
    QFETCH(qint64, length);
    LogStore store;
    storeMaskedFrame(store);
    FrameInspector inspector;
    showSized(inspector);
    inspector.setRecord(store, 0);
    HexView *hex = inspector.frameHexView();
    const QRect rect = hex->byteRect(byte);
    QVERIFY(!rect.isEmpty());
    click(hex->viewport(), rect.center());
    QCOMPARE(inspector.selectedField(), std::optional<HeaderField>(HeaderField(field)));
    QCOMPARE(inspector.fieldTree()->currentItem(), inspector.fieldItem(HeaderField(field)));
    QCOMPARE(inspector.bitDiagram()->selectedField(),
             std::optional<HeaderField>(HeaderField(field)));
    QCOMPARE(hex->highlightStart(), start);
    QCOMPARE(hex->highlightLength(), length);
}

void TestFrameInspector::diagramClickSelectsField() {
    LogStore store;
    storeMaskedFrame(store);
    FrameInspector inspector;
    showSized(inspector);
    inspector.setRecord(store, 0);
    FrameBitDiagram *diagram = inspector.bitDiagram();
    // Bit 9 is the first bit of the 7-bit length (RFC 6455 §5.2).
    click(diagram, diagram->bitRect(9).center());
    QCOMPARE(inspector.selectedField(), std::optional<HeaderField>(HeaderField::PayloadLength7));
    QCOMPARE(inspector.fieldTree()->currentItem(),
             inspector.fieldItem(HeaderField::PayloadLength7));
    QCOMPARE(inspector.frameHexView()->highlightStart(), 1);
    QCOMPARE(inspector.frameHexView()->highlightLength(), 1);
    // Bit 40 lies in the masking key.
    click(diagram, diagram->bitRect(40).center());
    QCOMPARE(inspector.selectedField(), std::optional<HeaderField>(HeaderField::MaskingKey));
    QCOMPARE(inspector.frameHexView()->highlightStart(), 4);
    // The payload's box shows the payload.
    const QRect last = diagram->bitRect(63);
    click(diagram,
          QPoint(last.center().x(), last.bottom() + diagram->height() / 8 + last.height() * 3));
    QCOMPARE(inspector.selectedField(), std::optional<HeaderField>(HeaderField::Payload));
    QCOMPARE(inspector.currentPayloadTab(), FrameInspector::HexTab);
    QCOMPARE(inspector.payloadHexView()->highlightLength(), 300);
    QCOMPARE(inspector.frameHexView()->highlightStart(), 8);
    QCOMPARE(inspector.frameHexView()->highlightLength(), 300);
}

void TestFrameInspector::diagramMapsBitsToFields_data() {
    QTest::addColumn<int>("bit");
    QTest::addColumn<int>("field");
    // A masked frame with a 64-bit length: 14 header bytes, fields across rows.
    QTest::newRow("FIN") << 0 << int(HeaderField::Fin);
    QTest::newRow("RSV1") << 1 << int(HeaderField::Rsv1);
    QTest::newRow("RSV3") << 3 << int(HeaderField::Rsv3);
    QTest::newRow("opcode") << 7 << int(HeaderField::Opcode);
    QTest::newRow("MASK") << 8 << int(HeaderField::Mask);
    QTest::newRow("payload len") << 15 << int(HeaderField::PayloadLength7);
    QTest::newRow("ext length, row 0") << 16 << int(HeaderField::ExtendedLength);
    QTest::newRow("ext length, row 1") << 40 << int(HeaderField::ExtendedLength);
    QTest::newRow("ext length, row 2") << 79 << int(HeaderField::ExtendedLength);
    QTest::newRow("key, row 2") << 80 << int(HeaderField::MaskingKey);
    QTest::newRow("key, row 3") << 111 << int(HeaderField::MaskingKey);
}

void TestFrameInspector::diagramMapsBitsToFields() {
    QFETCH(int, bit);
    QFETCH(int, field);
    FrameBitDiagram diagram;
    FrameHeader header;
    header.opcode = 0x2;
    header.maskingKey = 0x01020304;
    header.payloadLength = 70'000;
    header.lengthEncoding = LengthEncoding::Extended64;
    diagram.setHeader(header);
    diagram.resize(diagram.sizeHint());
    const QRect rect = diagram.bitRect(bit);
    QVERIFY(!rect.isEmpty());
    QCOMPARE(diagram.fieldAt(rect.center()), std::optional<HeaderField>(HeaderField(field)));
    QCOMPARE(diagram.bitRect(14 * 8), QRect()); // past the header
}

void TestFrameInspector::diagramPaints() {
    FrameBitDiagram diagram;
    QImage empty(diagram.sizeHint(), QImage::Format_ARGB32);
    diagram.render(&empty); // "no frame header"
    FrameHeader header;
    header.fin = false;
    header.rsv1 = true;
    header.opcode = 0x1;
    header.payloadLength = 5;
    diagram.setHeader(header);
    diagram.setSelectedField(HeaderField::Rsv1);
    diagram.resize(diagram.sizeHint());
    QImage image(diagram.sizeHint(), QImage::Format_ARGB32);
    image.fill(Qt::transparent);
    diagram.render(&image);
    // The selected field's cell is painted in the selection colour.
    const QRect cell = diagram.bitRect(1);
    int selected = 0;
    for (int y = cell.top() + 1; y < cell.bottom(); ++y)
        for (int x = cell.left() + 1; x < cell.right(); ++x)
            selected += image.pixelColor(x, y) == QColor(0xFF, 0xE0, 0x82) ? 1 : 0;
    QVERIFY(selected > 0);
    QCOMPARE(diagram.valueText(HeaderField::Fin), QStringLiteral("0"));
    QCOMPARE(diagram.valueText(HeaderField::Rsv1), QStringLiteral("1"));
    QCOMPARE(diagram.valueText(HeaderField::PayloadLength7), QStringLiteral("5"));
    diagram.clear();
    QVERIFY(!diagram.hasHeader());
    QCOMPARE(diagram.fieldAt(QPoint(10, 30)), std::nullopt);
}

QTEST_MAIN(TestFrameInspector)
#include "tst_frameinspector.moc"

void TestFrameInspector::errorRowShowsTheOffendingFrame_data() {
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<int>("role");
    QTest::addColumn<QByteArray>("frame");       // shown in the frame pane
    QTest::addColumn<qint64>("offending");       // boxed byte
    QTest::addColumn<QStringList>("fields");     // header fields listed
    QTest::addColumn<QString>("offendingField"); // the field that owns the byte
    QTest::addColumn<QByteArray>("payload");     // the Hex tab: unmasked payload

    const QStringList byte0{"FIN", "RSV1", "RSV2", "RSV3", "Opcode"};
    const QStringList two = byte0 + QStringList{"Mask", "Payload len"};
    // A ping first, so that stream and frame offsets differ.
    QTest::newRow("invalid UTF-8")
        << QByteArray::fromHex("8900"
                               "810341c342")
        << int(Role::Client) << QByteArray::fromHex("810341c342") << qint64(4)
        << (two + QStringList{"Payload Data"}) << QStringLiteral("Payload Data")
        << QByteArray::fromHex("41c342");
    QTest::newRow("invalid UTF-8, masked")
        << QByteArray::fromHex("818337fa213d763963") << int(Role::Server)
        << QByteArray::fromHex("818337fa213d763963") << qint64(8)
        << (two + QStringList{"Masking-key", "Payload Data"}) << QStringLiteral("Payload Data")
        << QByteArray::fromHex("41c342");
    QTest::newRow("unmasked client frame")
        << QByteArray::fromHex("898000000000"
                               "810548656c6c6f")
        << int(Role::Server) << QByteArray::fromHex("8105") << qint64(1)
        << (two + QStringList{"Payload Data"}) << QStringLiteral("Mask") << QByteArray();
    QTest::newRow("reserved opcode")
        << QByteArray::fromHex("8300") << int(Role::Client) << QByteArray::fromHex("83")
        << qint64(0) << byte0 << QStringLiteral("Opcode") << QByteArray();
}

// An error row shows the frame the rule broke in, straight from the decoder: its
// header fields as far as they arrived, its bytes, the offending byte boxed.
void TestFrameInspector::errorRowShowsTheOffendingFrame() {
    QFETCH(QByteArray, input);
    QFETCH(int, role);
    QFETCH(QByteArray, frame);
    QFETCH(qint64, offending);
    QFETCH(QStringList, fields);
    QFETCH(QString, offendingField);
    QFETCH(QByteArray, payload);

    FrameDecoder decoder({Role(role)});
    decoder.feed(input);
    std::optional<ProtocolViolation> violation;
    while (decoder.hasNext()) {
        DecoderOutput output = decoder.takeNext();
        if (auto *v = std::get_if<ProtocolViolation>(&output))
            violation = *v;
    }
    QVERIFY(violation);
    LogStore store;
    store.setClockOffset(0);
    store.append(1, ViolationEvent{0, *violation});
    store.commitPending();

    FrameInspector inspector;
    showSized(inspector);
    inspector.setRecord(store, 0);
    QCOMPARE(inspector.frameHexView()->data().toHex(), frame.toHex());
    QCOMPARE(inspector.frameBytes(), frame);
    QCOMPARE(inspector.offendingByte(), offending);
    QCOMPARE(inspector.frameHexView()->markedByte(), offending);
    QVERIFY(inspector.bitDiagram()->hasHeader()); // never "No frame header"
    QStringList listed;
    for (const HeaderField f :
         {HeaderField::Fin, HeaderField::Rsv1, HeaderField::Rsv2, HeaderField::Rsv3,
          HeaderField::Opcode, HeaderField::Mask, HeaderField::PayloadLength7,
          HeaderField::ExtendedLength, HeaderField::MaskingKey, HeaderField::Payload}) {
        if (inspector.fieldItem(f))
            listed << QString::fromLatin1(fieldName(f));
    }
    QCOMPARE(listed, fields);
    QCOMPARE(value(inspector, "Opcode"),
             QStringLiteral("0x%1").arg(quint8(frame[0]) & 0x0F, 0, 16));
    QCOMPARE(value(inspector, "Offending byte"), QStringLiteral("frame offset %1").arg(offending));
    QVERIFY2(meaning(inspector, "Offending byte").contains(offendingField),
             qPrintable(meaning(inspector, "Offending byte")));
    // The Hex tab holds the frame's payload, never the reason's text.
    QCOMPARE(inspector.payloadHexView()->data().toHex(), payload.toHex());
    QVERIFY(!inspector.payloadHexView()->data().contains(violation->reason.toUtf8().left(8)));
    QVERIFY(inspector.frameNote()->text().contains(QStringLiteral("offset %1").arg(offending)));
    // The fields select their bytes as on any frame.
    inspector.selectField(HeaderField::Opcode);
    QCOMPARE(inspector.frameHexView()->highlightStart(), 0);
    QCOMPARE(inspector.frameHexView()->highlightLength(), 1);
}

void TestFrameInspector::framePaneTintsAndSelection() {
    LogStore store;
    storeMaskedFrame(store);
    FrameInspector inspector;
    showSized(inspector);
    inspector.setRecord(store, 0);
    HexView *hex = inspector.frameHexView();
    // Each field its colour: byte 0, byte 1, the extended length, the key, the payload.
    const QColor byte0 = FrameInspector::fieldColor(HeaderField::Opcode);
    const QColor byte1 = FrameInspector::fieldColor(HeaderField::Mask);
    const QColor length = FrameInspector::fieldColor(HeaderField::ExtendedLength);
    const QColor key = FrameInspector::fieldColor(HeaderField::MaskingKey);
    const QColor payload = FrameInspector::fieldColor(HeaderField::Payload);
    QCOMPARE(QSet<QRgb>({byte0.rgb(), byte1.rgb(), length.rgb(), key.rgb(), payload.rgb()}).size(),
             5);
    QCOMPARE(hex->tintAt(0), byte0);
    QCOMPARE(hex->tintAt(1), byte1);
    QCOMPARE(hex->tintAt(2), length);
    QCOMPARE(hex->tintAt(3), length);
    QCOMPARE(hex->tintAt(4), key);
    QCOMPARE(hex->tintAt(7), key);
    QCOMPARE(hex->tintAt(8), payload);
    QCOMPARE(hex->tintAt(307), payload);
    QCOMPARE(inspector.fieldItem(HeaderField::MaskingKey)->background(0).color(), key);

    // Table -> pane and diagram.
    inspector.fieldTree()->setCurrentItem(inspector.fieldItem(HeaderField::ExtendedLength));
    QCOMPARE(hex->highlightStart(), 2);
    QCOMPARE(hex->highlightLength(), 2);
    QCOMPARE(inspector.bitDiagram()->selectedField(),
             std::optional<HeaderField>(HeaderField::ExtendedLength));
    // Pane -> table and diagram: a payload byte, then a key byte.
    hex->scrollToOffset(100);
    click(hex->viewport(), hex->byteRect(100).center());
    QCOMPARE(inspector.selectedField(), std::optional<HeaderField>(HeaderField::Payload));
    QCOMPARE(inspector.fieldTree()->currentItem(), inspector.fieldItem(HeaderField::Payload));
    QCOMPARE(inspector.bitDiagram()->selectedField(),
             std::optional<HeaderField>(HeaderField::Payload));
    QCOMPARE(hex->highlightStart(), 8);
    QCOMPARE(hex->highlightLength(), 300);
    hex->scrollToOffset(0);
    click(hex->viewport(), hex->byteRect(5).center());
    QCOMPARE(inspector.selectedField(), std::optional<HeaderField>(HeaderField::MaskingKey));
    QCOMPARE(inspector.bitDiagram()->selectedField(),
             std::optional<HeaderField>(HeaderField::MaskingKey));
    QCOMPARE(hex->highlightStart(), 4);
    QCOMPARE(hex->highlightLength(), 4);
}

void TestFrameInspector::framePaneUnmasks() {
    LogStore store;
    storeMaskedFrame(store);
    FrameInspector inspector;
    inspector.setRecord(store, 0);
    const QByteArray header = QByteArray::fromHex("81fe012c37fa213d");
    QVERIFY(inspector.unmaskedToggle()->isEnabled());
    QCOMPARE(inspector.frameHexView()->data(), header + store.at(0).maskedPayload());
    inspector.selectField(HeaderField::MaskingKey);
    inspector.unmaskedToggle()->setChecked(true);
    QCOMPARE(inspector.frameHexView()->data(), header + payload300());
    // The selection and the tints stay.
    QCOMPARE(inspector.frameHexView()->highlightStart(), 4);
    QCOMPARE(inspector.frameHexView()->tintAt(8), FrameInspector::fieldColor(HeaderField::Payload));
    inspector.unmaskedToggle()->setChecked(false);
    QCOMPARE(inspector.frameHexView()->data(), header + store.at(0).maskedPayload());
    // An unmasked frame has nothing to unmask.
    LogStore plain;
    plain.setClockOffset(0);
    for (const SessionEvent &e : textMessage(Direction::Incoming, 0, "Hello"))
        plain.append(1, e);
    plain.commitPending();
    inspector.setRecord(plain, 0);
    QVERIFY(!inspector.unmaskedToggle()->isEnabled());
    QCOMPARE(inspector.frameHexView()->data(), QByteArray::fromHex("8105") + "Hello");
}

void TestFrameInspector::diagramFitsItsPane_data() {
    QTest::addColumn<int>("width");
    QTest::addColumn<int>("bitsPerRow");
    QTest::newRow("narrow") << 400 << 16;
    QTest::newRow("wide") << 1200 << 32;
}

// RFC 6455 §5.2's diagram: 32 bits a row, 16 when narrow, never a horizontal scrollbar.
void TestFrameInspector::diagramFitsItsPane() {
    QFETCH(int, width);
    QFETCH(int, bitsPerRow);
    LogStore store;
    storeMaskedFrame(store);
    FrameInspector inspector;
    inspector.resize(width, 900);
    inspector.show();
    QVERIFY(QTest::qWaitForWindowExposed(&inspector));
    inspector.setRecord(store, 0);
    QApplication::processEvents();
    QScrollArea *scroll = inspector.bitDiagramScroll();
    FrameBitDiagram *diagram = inspector.bitDiagram();
    QVERIFY(!scroll->horizontalScrollBar()->isVisible());
    QVERIFY2(diagram->width() <= scroll->viewport()->width(),
             qPrintable(
                 QStringLiteral("%1 > %2").arg(diagram->width()).arg(scroll->viewport()->width())));
    QCOMPARE(diagram->bitsPerRow(), bitsPerRow);
    // Every bit's cell is inside the diagram; the last header bit ends the row it is on.
    const QRect last = diagram->bitRect(63);
    QVERIFY(diagram->rect().contains(last));
    QCOMPARE(diagram->bitRect(bitsPerRow).top() > diagram->bitRect(0).top(), true);
    QCOMPARE(diagram->fieldAt(diagram->bitRect(bitsPerRow - 1).center()).has_value(), true);
}

// In a pane as narrow as the inspector's at 1024x700, no name, value or meaning is cut
// to "r\u2026": a text wider than its column wraps onto more lines.
void TestFrameInspector::fieldTextsAreNeverElided() {
    LogStore store;
    storeMaskedFrame(store);
    FrameInspector inspector;
    inspector.resize(340, 700);
    inspector.show();
    QVERIFY(QTest::qWaitForWindowExposed(&inspector));
    inspector.setRecord(store, 0);
    QApplication::processEvents();
    QTreeWidget *tree = inspector.fieldTree();
    QCOMPARE(tree->textElideMode(), Qt::ElideNone);
    const QFontMetrics metrics(tree->font());
    int wrapped = 0;
    for (QTreeWidgetItemIterator it(tree); *it; ++it) {
        QTreeWidgetItem *item = *it;
        if (!item->parent())
            continue;
        const QRect row = tree->visualItemRect(item);
        for (int column = 0; column < 3; ++column) {
            const int width =
                tree->columnWidth(column) - 8 - (column == 0 ? tree->indentation() : 0);
            const int text = metrics.horizontalAdvance(item->text(column));
            if (text > width) {
                // Wider than its column: the row holds every line it wraps onto.
                ++wrapped;
                const int lines = (text + width - 1) / std::max(width, 1);
                QVERIFY2(row.height() >= std::min(lines, 2) * metrics.lineSpacing(),
                         qPrintable(QStringLiteral("%1 in %2 px, row %3 px")
                                        .arg(item->text(column))
                                        .arg(width)
                                        .arg(row.height())));
            }
        }
    }
    QVERIFY(wrapped > 0); // the pane is narrow enough to need it
}

// HexView: big payloads, geometry, highlight and mouse selection.

#include "widgets/hexview.h"

#include <QApplication>
#include <QClipboard>
#include <QImage>
#include <QMouseEvent>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTest>

using namespace ws;

namespace {

const QColor HighlightColor(0xFF, 0xE0, 0x82);

int pixelsOfColor(const QImage &image, const QRect &area, const QColor &color) {
    int count = 0;
    const QRect clipped = area.intersected(image.rect());
    for (int y = clipped.top(); y <= clipped.bottom(); ++y)
        for (int x = clipped.left(); x <= clipped.right(); ++x)
            count += image.pixelColor(x, y) == color ? 1 : 0;
    return count;
}

// Geometry (lines in view, byte rectangles) is only final once the view is laid out.
void showSized(HexView &view, int width, int height) {
    view.resize(width, height);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
}

QImage renderViewport(HexView &view) {
    QImage image(view.viewport()->size(), QImage::Format_ARGB32);
    image.fill(Qt::transparent);
    view.viewport()->render(&image);
    return image;
}

void sendMouse(QWidget *widget, QEvent::Type type, const QPoint &position,
               Qt::MouseButtons buttons) {
    QMouseEvent event(type, QPointF(position), widget->mapToGlobal(QPointF(position)),
                      type == QEvent::MouseMove ? Qt::NoButton : Qt::LeftButton, buttons,
                      Qt::NoModifier);
    QApplication::sendEvent(widget, &event);
}

} // namespace

class TestHexView : public QObject {
    Q_OBJECT

private slots:
    void opensSixteenMebibytes();
    void emptyData();
    void byteGeometry();
    void highlightIsPaintedAndScrolledTo();
    void mouseSelection();
    void copiesSelectionAsHex();
    void tintsAndMarkedByte();
};

void TestHexView::opensSixteenMebibytes() {
    QByteArray data(16 * 1024 * 1024, Qt::Uninitialized);
    for (qsizetype i = 0; i < data.size(); ++i)
        data[i] = char(i * 7);
    HexView view;
    showSized(view, 700, 400);
    view.setData(data);
    // Shared, not copied or formatted.
    QVERIFY(view.data().isSharedWith(data));
    QCOMPARE(view.lineCount(), 1024 * 1024);
    QCOMPARE(view.verticalScrollBar()->maximum(), 1024 * 1024 - view.visibleLineCount());

    const QImage top = renderViewport(view);
    const QColor base = view.palette().color(QPalette::Base);
    QVERIFY(pixelsOfColor(top, top.rect(), base) < top.width() * top.height()); // text painted

    // The last line, with a partial-line check of byteAt/byteRect there.
    view.verticalScrollBar()->setValue(view.verticalScrollBar()->maximum());
    const QImage bottom = renderViewport(view);
    QVERIFY(bottom != top);
    const qint64 last = data.size() - 1;
    const QRect rect = view.byteRect(last);
    QVERIFY(!rect.isEmpty());
    QCOMPARE(view.byteAt(rect.center()), last);
    QCOMPARE(view.byteRect(0), QRect());
}

void TestHexView::emptyData() {
    HexView view;
    showSized(view, 400, 200);
    view.setData({});
    QCOMPARE(view.lineCount(), 0);
    QCOMPARE(view.byteAt(QPoint(100, 5)), -1);
    const QImage image = renderViewport(view);
    QVERIFY(!image.isNull());
}

void TestHexView::byteGeometry() {
    HexView view;
    showSized(view, 700, 300);
    view.setData(QByteArray::fromHex("000102030405060708090a0b0c0d0e0f1011"));
    QCOMPARE(view.lineCount(), 2);
    for (qint64 offset : {0, 7, 8, 15, 16, 17}) {
        const QRect rect = view.byteRect(offset);
        QVERIFY(!rect.isEmpty());
        QCOMPARE(view.byteAt(rect.center()), offset);
    }
    // The eighth and ninth bytes are further apart than the others (the gap).
    QVERIFY(view.byteRect(8).left() - view.byteRect(7).left() >
            view.byteRect(7).left() - view.byteRect(6).left());
    QCOMPARE(view.byteAt(QPoint(1, 1)), -1); // the offset column
    QCOMPARE(view.byteRect(18), QRect());    // past the end
}

void TestHexView::highlightIsPaintedAndScrolledTo() {
    QByteArray data(1 << 20, 'a');
    HexView view;
    showSized(view, 700, 300);
    view.setData(data);
    view.setHighlight(500'000, 4);
    QCOMPARE(view.highlightStart(), 500'000);
    QCOMPARE(view.highlightLength(), 4);
    const qint64 line = 500'000 / HexView::BytesPerLine;
    QVERIFY(view.firstVisibleLine() <= line);
    QVERIFY(line < view.firstVisibleLine() + view.visibleLineCount());
    const QImage image = renderViewport(view);
    QVERIFY(pixelsOfColor(image, view.byteRect(500'000), HighlightColor) > 0);
    QVERIFY(pixelsOfColor(image, view.byteRect(500'003), HighlightColor) > 0);
    QCOMPARE(pixelsOfColor(image, view.byteRect(500'004), HighlightColor), 0);
    // Clamped to the data.
    view.setHighlight(data.size() - 2, 100);
    QCOMPARE(view.highlightLength(), 2);
    view.clearHighlight();
    QCOMPARE(view.highlightLength(), 0);
}

void TestHexView::mouseSelection() {
    HexView view;
    showSized(view, 700, 300);
    view.setData(QByteArray(64, 'x'));
    QSignalSpy clicked(&view, &HexView::byteClicked);
    QSignalSpy selected(&view, &HexView::selectionChanged);
    QWidget *viewport = view.viewport();
    sendMouse(viewport, QEvent::MouseButtonPress, view.byteRect(3).center(), Qt::LeftButton);
    QCOMPARE(clicked.count(), 1);
    QCOMPARE(clicked.at(0).at(0).toLongLong(), 3);
    QCOMPARE(view.selectionStart(), 3);
    QCOMPARE(view.selectionLength(), 1);
    sendMouse(viewport, QEvent::MouseMove, view.byteRect(20).center(), Qt::LeftButton);
    sendMouse(viewport, QEvent::MouseButtonRelease, view.byteRect(20).center(), Qt::NoButton);
    QCOMPARE(view.selectionStart(), 3);
    QCOMPARE(view.selectionLength(), 18);
    QCOMPARE(selected.last().at(0).toLongLong(), 3);
    QCOMPARE(selected.last().at(1).toLongLong(), 18);
    // Dragging backwards from the anchor.
    sendMouse(viewport, QEvent::MouseButtonPress, view.byteRect(10).center(), Qt::LeftButton);
    sendMouse(viewport, QEvent::MouseMove, view.byteRect(5).center(), Qt::LeftButton);
    QCOMPARE(view.selectionStart(), 5);
    QCOMPARE(view.selectionLength(), 6);
}

void TestHexView::copiesSelectionAsHex() {
    HexView view;
    view.resize(700, 300);
    view.setData(QByteArray::fromHex("818537fa213d7f9f4d5158"));
    view.setSelection(2, 4);
    QKeyEvent copy(QEvent::KeyPress, Qt::Key_C, Qt::ControlModifier);
    QApplication::sendEvent(&view, &copy);
    QCOMPARE(QApplication::clipboard()->text(), QStringLiteral("37 fa 21 3d"));
    QKeyEvent all(QEvent::KeyPress, Qt::Key_A, Qt::ControlModifier);
    QApplication::sendEvent(&view, &all);
    QCOMPARE(view.selectionLength(), 11);
}

QTEST_MAIN(TestHexView)
#include "tst_hexview.moc"

// Field tints under the bytes, the highlight above them, one byte boxed in red.
void TestHexView::tintsAndMarkedByte() {
    HexView view;
    showSized(view, 700, 200);
    QByteArray data(400, '\0');
    view.setData(data);
    const QColor blue(0xCF, 0xE8, 0xFC);
    const QColor grey(0xEE, 0xEE, 0xEE);
    view.setTints({{0, 2, blue}, {2, 398, grey}});
    QCOMPARE(view.tintAt(0), blue);
    QCOMPARE(view.tintAt(1), blue);
    QCOMPARE(view.tintAt(2), grey);
    QVERIFY(!view.tintAt(400).isValid());
    const auto pixel = [&view](qint64 offset) {
        const QImage image = view.viewport()->grab().toImage();
        return QColor(image.pixel(view.byteRect(offset).topLeft() + QPoint(1, 1)));
    };
    QCOMPARE(pixel(0), blue);
    QCOMPARE(pixel(5), grey);
    view.setHighlight(4, 2);
    QVERIFY(pixel(4) != grey); // the highlight covers the tint
    QCOMPARE(pixel(6), grey);

    // The marked byte scrolls into view and is boxed.
    view.setMarkedByte(390);
    QCOMPARE(view.markedByte(), 390);
    QVERIFY(!view.byteRect(390).isEmpty());
    const QImage image = view.viewport()->grab().toImage();
    const QRect box = view.byteRect(390);
    const QColor edge(image.pixel(box.left() - 1, box.center().y()));
    QVERIFY2(edge.red() > 150 && edge.green() < 100, qPrintable(edge.name()));
    view.setMarkedByte(4000);
    QCOMPARE(view.markedByte(), -1);
    view.setData(data);
    QVERIFY(view.tints().isEmpty());
}

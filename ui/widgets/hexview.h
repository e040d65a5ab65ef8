#pragma once

#include <QAbstractScrollArea>
#include <QByteArray>
#include <QColor>
#include <QList>

namespace ws {

// A hex dump that paints only the lines in view: offset column, 16 bytes in hex,
// the same bytes as ASCII. The data is shared, never copied or formatted as a
// whole, so a 16 MiB payload opens at once. One byte range can be highlighted (the
// inspector's current field) and the user can select bytes with the mouse. Byte
// ranges can be tinted (a frame's fields, each in its colour) and one byte marked
// (the byte that broke a rule), as Wireshark's byte pane does.
class HexView : public QAbstractScrollArea {
    Q_OBJECT
public:
    static constexpr int BytesPerLine = 16;

    explicit HexView(QWidget *parent = nullptr);

    struct Tint {
        qint64 start = 0;
        qint64 length = 0;
        QColor color;
        bool operator==(const Tint &) const = default;
    };

    // Clears the tints, the highlight, the selection and the marked byte.
    void setData(const QByteArray &data);
    const QByteArray &data() const { return m_data; }
    void clear() { setData({}); }

    // The highlighted range (length 0: none). Scrolls it into view.
    void setHighlight(qint64 start, qint64 length);
    void clearHighlight() { setHighlight(0, 0); }
    qint64 highlightStart() const { return m_highlightStart; }
    qint64 highlightLength() const { return m_highlightLength; }

    // The selected range (length 0: none).
    void setSelection(qint64 start, qint64 length);
    qint64 selectionStart() const { return m_selectionStart; }
    qint64 selectionLength() const { return m_selectionLength; }

    // Background colours under ranges of bytes, painted below the highlight.
    void setTints(const QList<Tint> &tints);
    const QList<Tint> &tints() const { return m_tints; }
    // The colour of the tint over `offset`, or an invalid colour.
    QColor tintAt(qint64 offset) const;

    // A byte drawn boxed in red, scrolled into view (-1: none).
    void setMarkedByte(qint64 offset);
    qint64 markedByte() const { return m_marked; }

    void scrollToOffset(qint64 offset);
    qint64 lineCount() const;
    qint64 firstVisibleLine() const;
    int visibleLineCount() const;

    // Viewport geometry, also for tests: the byte under a point (-1 if none), and
    // the rectangle of a byte's hex digits (empty when the byte is not in view).
    qint64 byteAt(const QPoint &viewportPosition) const;
    QRect byteRect(qint64 offset) const;

    QSize sizeHint() const override;

signals:
    void byteClicked(qint64 offset);
    void selectionChanged(qint64 start, qint64 length);

protected:
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void changeEvent(QEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;

private:
    void updateMetrics();
    void updateScrollBars();
    int offsetDigits() const;
    int hexX(int column) const;           // content x of a byte's hex digits
    int asciiX(int column) const;         // content x of a byte's character
    int columnsX(qreal characters) const; // content x after the offset column
    int contentWidth() const;
    void paintRange(QPainter &painter, qint64 line, int y, qint64 start, qint64 length,
                    const QColor &color) const;

    QByteArray m_data;
    QList<Tint> m_tints;
    qint64 m_marked = -1;
    qint64 m_highlightStart = 0;
    qint64 m_highlightLength = 0;
    qint64 m_selectionStart = 0;
    qint64 m_selectionLength = 0;
    qint64 m_anchor = -1;
    // Fractional: a monospace font's advance is rarely a whole pixel, and 65
    // characters of rounding error would misplace the ASCII column.
    qreal m_charWidth = 8;
    int m_lineHeight = 16;
    int m_ascent = 12;
};

} // namespace ws

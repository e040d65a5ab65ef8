#pragma once

#include "protocol/frameheader.h"

#include <QWidget>

#include <optional>

namespace ws {

// The frame diagram of RFC 6455 §5.2 drawn with one frame's actual bits: rows of 32
// bits as in the RFC, or 16 when the widget is too narrow for 32, the cells
// stretched to its width (its height follows: heightForWidth), each field a box over its bits with
// its name and value (FIN, RSV1-3, the opcode and its name, MASK, the 7-bit length, the extended
// length, the masking key), then the payload. Clicking a field selects it; the inspector keeps the
// selection in step with the field table and the hex view.
class FrameBitDiagram : public QWidget {
    Q_OBJECT
public:
    static constexpr int BitsPerRow = 32;
    static constexpr int NarrowBitsPerRow = 16;

    explicit FrameBitDiagram(QWidget *parent = nullptr);

    void setHeader(const FrameHeader &header);
    // The first bytes of a frame, possibly fewer than its header (a frame cut short
    // by a violation): only the fields they hold whole are drawn.
    void setHeaderBytes(QByteArrayView bytes);
    void clear();
    bool hasHeader() const { return m_hasHeader; }
    const FrameHeader &header() const { return m_header; }

    void setSelectedField(std::optional<HeaderField> field);
    std::optional<HeaderField> selectedField() const { return m_selected; }

    // Geometry, also for tests.
    std::optional<HeaderField> fieldAt(const QPoint &position) const;
    // The cell of header bit `bit` (0 = FIN), or an empty rect.
    QRect bitRect(int bit) const;
    // The text shown for a field's value, e.g. "0x1 text" or "0x37fa213d".
    QString valueText(HeaderField field) const;

    // 32, or 16 at widths too narrow for 32 readable cells.
    int bitsPerRow() const { return m_bitsPerRow; }
    int bitsPerRowFor(int width) const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;
    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override;

signals:
    void fieldClicked(ws::HeaderField field);

protected:
    void paintEvent(QPaintEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void changeEvent(QEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;

private:
    struct Segment {
        HeaderField field;
        int row;
        int firstColumn;
        int lastColumn; // inclusive
        bool continued; // not the field's first segment
    };
    void rebuild();
    void updateMetrics();
    void fitWidth(int width);
    int headerRows() const { return rowsFor(m_bitsPerRow); }
    int rowsFor(int bitsPerRow) const;
    int rowTop(int row) const;
    int rowHeight() const { return m_bitHeight + m_labelHeight; }
    QRect segmentRect(const Segment &segment) const;
    int bitValue(int bit) const;

    FrameHeader m_header;
    RawHeaderBytes m_raw;
    bool m_hasHeader = false;
    bool m_completeHeader = false;
    QList<FieldSpan> m_spans;
    QList<Segment> m_segments;
    std::optional<HeaderField> m_selected;
    int m_bitsPerRow = BitsPerRow;
    int m_minCellWidth = 20; // "00" and a margin
    int m_cellWidth = 20;
    int m_bitHeight = 18;
    int m_labelHeight = 32;
    int m_rulerHeight = 16;
};

} // namespace ws

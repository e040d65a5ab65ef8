#include "framebitdiagram.h"

#include "protocol/framedecoder.h"

#include <QMouseEvent>
#include <QPainter>

#include <algorithm>
#include <climits>

namespace ws {

namespace {

constexpr int Margin = 4;
const QColor SelectedColor(0xFF, 0xE0, 0x82);

// One-bit fields get one cell: their names must fit in it.
QString shortName(HeaderField field) {
    switch (field) {
    case HeaderField::Fin:
        return QStringLiteral("FIN");
    case HeaderField::Rsv1:
        return QStringLiteral("R1");
    case HeaderField::Rsv2:
        return QStringLiteral("R2");
    case HeaderField::Rsv3:
        return QStringLiteral("R3");
    case HeaderField::Mask:
        return QStringLiteral("M");
    case HeaderField::PayloadLength7:
        return QStringLiteral("Payload len");
    case HeaderField::ExtendedLength:
        return QStringLiteral("Extended payload length");
    default:
        return QLatin1String(fieldName(field));
    }
}

} // namespace

FrameBitDiagram::FrameBitDiagram(QWidget *parent)
    : QWidget(parent) {
    QSizePolicy policy(QSizePolicy::Preferred, QSizePolicy::Preferred);
    policy.setHeightForWidth(true);
    setSizePolicy(policy);
    updateMetrics();
}

void FrameBitDiagram::updateMetrics() {
    const QFontMetrics metrics(font());
    // Two digits of the ruler must fit a cell; a one-bit field's name is elided below
    // that ("FIN" fits from about 26 pixels).
    m_minCellWidth = std::max(metrics.horizontalAdvance(QStringLiteral("00")) + 6, 16);
    m_bitHeight = metrics.height() + 4;
    m_labelHeight = 2 * metrics.height() + 6;
    m_rulerHeight = metrics.height() + 2;
    fitWidth(width());
    updateGeometry();
}

int FrameBitDiagram::bitsPerRowFor(int width) const {
    // 32 bits a row once a cell can hold "FIN"; 16 below.
    const int wide =
        std::max(m_minCellWidth, QFontMetrics(font()).horizontalAdvance(QStringLiteral("FIN")) + 6);
    return width - 2 * Margin >= BitsPerRow * wide ? BitsPerRow : NarrowBitsPerRow;
}

void FrameBitDiagram::fitWidth(int width) {
    const int bits = bitsPerRowFor(width);
    m_cellWidth = std::max(m_minCellWidth, (width - 2 * Margin) / bits);
    if (bits != m_bitsPerRow) {
        m_bitsPerRow = bits;
        rebuild();
    }
    update();
}

void FrameBitDiagram::resizeEvent(QResizeEvent *event) {
    QWidget::resizeEvent(event);
    fitWidth(width());
}

int FrameBitDiagram::rowsFor(int bitsPerRow) const {
    return (m_raw.size * 8 + bitsPerRow - 1) / bitsPerRow;
}

int FrameBitDiagram::heightForWidth(int width) const {
    const int bits = bitsPerRowFor(width);
    const int rows = m_hasHeader ? rowsFor(bits) + (m_completeHeader ? 1 : 0) : 2;
    return 2 * Margin + m_rulerHeight + rows * rowHeight();
}

void FrameBitDiagram::changeEvent(QEvent *event) {
    if (event->type() == QEvent::FontChange)
        updateMetrics();
    QWidget::changeEvent(event);
}

void FrameBitDiagram::setHeader(const FrameHeader &header) {
    m_header = header;
    m_raw = serializeHeader(header);
    m_spans = fieldSpans(header);
    m_hasHeader = true;
    m_completeHeader = true;
    m_selected.reset();
    rebuild();
}

void FrameBitDiagram::setHeaderBytes(QByteArrayView bytes) {
    const PartialHeader partial = parsePartialHeader(bytes);
    m_header = partial.header;
    m_raw = {};
    m_raw.size = quint8(std::min<qsizetype>(bytes.size(), qsizetype(m_raw.bytes.size())));
    std::copy_n(reinterpret_cast<const quint8 *>(bytes.data()), m_raw.size, m_raw.bytes.begin());
    m_spans = partial.spans;
    m_hasHeader = !bytes.isEmpty();
    m_completeHeader = partial.complete;
    m_selected.reset();
    rebuild();
}

void FrameBitDiagram::clear() {
    m_hasHeader = false;
    m_completeHeader = false;
    m_header = {};
    m_raw = {};
    m_spans.clear();
    m_selected.reset();
    rebuild();
}

void FrameBitDiagram::setSelectedField(std::optional<HeaderField> field) {
    if (field == m_selected)
        return;
    m_selected = field;
    update();
}

void FrameBitDiagram::rebuild() {
    m_segments.clear();
    const int rowBits = m_bitsPerRow;
    if (m_hasHeader) {
        const int headerBits = m_raw.size * 8;
        for (const FieldSpan &span : std::as_const(m_spans)) {
            if (span.field == HeaderField::Payload)
                continue;
            int bit = int(span.bitOffset);
            const int end = int(span.bitOffset + span.bitLength);
            bool continued = false;
            while (bit < end) {
                const int row = bit / rowBits;
                const int rowEnd = std::min(end, (row + 1) * rowBits);
                m_segments.append(
                    {span.field, row, bit % rowBits, (rowEnd - 1) % rowBits, continued});
                continued = true;
                bit = rowEnd;
            }
        }
        // The payload follows the header: the rest of its last row, then a row of its own.
        bool continued = false;
        if (!m_completeHeader) {
            // A header cut short: no payload drawn.
        } else if (headerBits % rowBits != 0) {
            m_segments.append(
                {HeaderField::Payload, headerRows() - 1, headerBits % rowBits, rowBits - 1, false});
            continued = true;
        }
        if (m_completeHeader)
            m_segments.append({HeaderField::Payload, headerRows(), 0, rowBits - 1, continued});
    }
    updateGeometry();
    update();
}

int FrameBitDiagram::rowTop(int row) const {
    return Margin + m_rulerHeight + row * rowHeight();
}

QRect FrameBitDiagram::segmentRect(const Segment &segment) const {
    const int left = Margin + segment.firstColumn * m_cellWidth;
    return QRect(left, rowTop(segment.row),
                 (segment.lastColumn - segment.firstColumn + 1) * m_cellWidth, rowHeight());
}

QRect FrameBitDiagram::bitRect(int bit) const {
    if (!m_hasHeader || bit < 0 || bit >= m_raw.size * 8)
        return {};
    return QRect(Margin + (bit % m_bitsPerRow) * m_cellWidth, rowTop(bit / m_bitsPerRow),
                 m_cellWidth, m_bitHeight);
}

int FrameBitDiagram::bitValue(int bit) const {
    return (m_raw.bytes[size_t(bit / 8)] >> (7 - bit % 8)) & 1;
}

QString FrameBitDiagram::valueText(HeaderField field) const {
    if (!m_hasHeader)
        return {};
    switch (field) {
    case HeaderField::Fin:
        return QString::number(m_header.fin ? 1 : 0);
    case HeaderField::Rsv1:
        return QString::number(m_header.rsv1 ? 1 : 0);
    case HeaderField::Rsv2:
        return QString::number(m_header.rsv2 ? 1 : 0);
    case HeaderField::Rsv3:
        return QString::number(m_header.rsv3 ? 1 : 0);
    case HeaderField::Opcode:
        return QStringLiteral("0x%1 %2")
            .arg(m_header.opcode, 0, 16)
            .arg(QLatin1String(opcodeName(m_header.opcode)));
    case HeaderField::Mask:
        return QString::number(m_header.masked() ? 1 : 0);
    case HeaderField::PayloadLength7:
        return QString::number(unpackByte1(m_raw.bytes[1]).length7);
    case HeaderField::ExtendedLength:
        return QString::number(m_header.payloadLength);
    case HeaderField::MaskingKey:
        return QStringLiteral("0x%1").arg(m_header.maskingKey.value_or(0), 8, 16, QLatin1Char('0'));
    case HeaderField::Payload:
        return tr("%n byte(s)", nullptr, int(std::min<quint64>(m_header.payloadLength, INT_MAX)));
    }
    return {};
}

std::optional<HeaderField> FrameBitDiagram::fieldAt(const QPoint &position) const {
    for (const Segment &segment : m_segments) {
        if (segmentRect(segment).contains(position))
            return segment.field;
    }
    return std::nullopt;
}

QSize FrameBitDiagram::sizeHint() const {
    const int width =
        2 * Margin +
        BitsPerRow * std::max(m_minCellWidth,
                              QFontMetrics(font()).horizontalAdvance(QStringLiteral("FIN")) + 6);
    return {width, heightForWidth(width)};
}

QSize FrameBitDiagram::minimumSizeHint() const {
    const int width = 2 * Margin + NarrowBitsPerRow * m_minCellWidth;
    return {width, heightForWidth(width)};
}

void FrameBitDiagram::paintEvent(QPaintEvent *) {
    QPainter painter(this);
    const QPalette &pal = palette();
    painter.fillRect(rect(), pal.base());
    QFont small = font();
    small.setPointSizeF(std::max(6.0, font().pointSizeF() * 0.8));

    // The ruler: bit numbers as in the RFC's diagram.
    painter.setFont(small);
    painter.setPen(pal.color(QPalette::PlaceholderText));
    for (int column = 0; column < m_bitsPerRow; ++column)
        painter.drawText(QRect(Margin + column * m_cellWidth, Margin, m_cellWidth, m_rulerHeight),
                         Qt::AlignCenter, QString::number(column));
    painter.setFont(font());

    if (!m_hasHeader) {
        painter.setPen(pal.color(QPalette::PlaceholderText));
        painter.drawText(rect().adjusted(Margin, Margin + m_rulerHeight, -Margin, -Margin),
                         Qt::AlignCenter, tr("No frame header"));
        return;
    }

    const QFontMetrics metrics(font());
    for (const Segment &segment : std::as_const(m_segments)) {
        const QRect box = segmentRect(segment);
        const bool selected = m_selected == segment.field;
        painter.fillRect(box, selected ? SelectedColor
                                       : (segment.field == HeaderField::Payload
                                              ? pal.color(QPalette::AlternateBase)
                                              : pal.color(QPalette::Base)));
        painter.setPen(pal.color(QPalette::Mid));
        painter.drawRect(box.adjusted(0, 0, -1, -1));

        const QRect labelRect(box.left() + 2, box.top() + m_bitHeight, box.width() - 4,
                              m_labelHeight);
        if (segment.field != HeaderField::Payload) {
            // The bits themselves.
            painter.setPen(pal.color(QPalette::Text));
            const int rowBase = segment.row * m_bitsPerRow;
            for (int column = segment.firstColumn; column <= segment.lastColumn; ++column) {
                const QRect cell(Margin + column * m_cellWidth, box.top(), m_cellWidth,
                                 m_bitHeight);
                painter.drawText(cell, Qt::AlignCenter,
                                 QString::number(bitValue(rowBase + column)));
            }
            painter.setPen(pal.color(QPalette::Midlight));
            painter.drawLine(box.left(), box.top() + m_bitHeight, box.right(),
                             box.top() + m_bitHeight);
        }
        painter.setPen(pal.color(QPalette::Text));
        const QString name = segment.continued ? tr("(continued)") : shortName(segment.field);
        const QString value = segment.continued ? QString() : valueText(segment.field);
        const int lineHeight = metrics.height();
        const int top =
            segment.field == HeaderField::Payload ? box.top() + m_bitHeight / 2 : labelRect.top();
        painter.drawText(QRect(labelRect.left(), top, labelRect.width(), lineHeight),
                         Qt::AlignHCenter | Qt::AlignTop,
                         metrics.elidedText(name, Qt::ElideRight, labelRect.width()));
        painter.drawText(QRect(labelRect.left(), top + lineHeight, labelRect.width(), lineHeight),
                         Qt::AlignHCenter | Qt::AlignTop,
                         metrics.elidedText(value, Qt::ElideRight, labelRect.width()));
    }
}

void FrameBitDiagram::mousePressEvent(QMouseEvent *event) {
    if (event->button() != Qt::LeftButton)
        return;
    const std::optional<HeaderField> field = fieldAt(event->position().toPoint());
    if (!field)
        return;
    setSelectedField(field);
    emit fieldClicked(*field);
}

} // namespace ws

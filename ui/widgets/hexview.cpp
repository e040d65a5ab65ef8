#include "hexview.h"

#include <QApplication>
#include <QClipboard>
#include <QFontDatabase>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QScrollBar>
#include <QtMath>

#include <algorithm>

namespace ws {

namespace {

constexpr int Margin = 4;
const QColor HighlightColor(0xFF, 0xE0, 0x82);
const QColor MarkColor(0xD3, 0x2F, 0x2F);

char hexDigit(int value) {
    return "0123456789abcdef"[value & 0xF];
}

} // namespace

HexView::HexView(QWidget *parent)
    : QAbstractScrollArea(parent) {
    setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    setFocusPolicy(Qt::StrongFocus);
    viewport()->setCursor(Qt::IBeamCursor);
    updateMetrics();
}

void HexView::setData(const QByteArray &data) {
    m_data = data;
    m_tints.clear();
    m_marked = -1;
    m_highlightStart = m_highlightLength = 0;
    m_selectionStart = m_selectionLength = 0;
    m_anchor = -1;
    verticalScrollBar()->setValue(0);
    horizontalScrollBar()->setValue(0);
    updateScrollBars();
    viewport()->update();
}

void HexView::setHighlight(qint64 start, qint64 length) {
    start = std::clamp<qint64>(start, 0, m_data.size());
    length = std::clamp<qint64>(length, 0, m_data.size() - start);
    m_highlightStart = start;
    m_highlightLength = length;
    if (length > 0)
        scrollToOffset(start);
    viewport()->update();
}

void HexView::setSelection(qint64 start, qint64 length) {
    start = std::clamp<qint64>(start, 0, m_data.size());
    length = std::clamp<qint64>(length, 0, m_data.size() - start);
    if (start == m_selectionStart && length == m_selectionLength)
        return;
    m_selectionStart = start;
    m_selectionLength = length;
    viewport()->update();
    emit selectionChanged(start, length);
}

void HexView::setTints(const QList<Tint> &tints) {
    m_tints = tints;
    viewport()->update();
}

QColor HexView::tintAt(qint64 offset) const {
    for (const Tint &tint : m_tints) {
        if (offset >= tint.start && offset - tint.start < tint.length)
            return tint.color;
    }
    return {};
}

void HexView::setMarkedByte(qint64 offset) {
    m_marked = offset >= 0 && offset < m_data.size() ? offset : -1;
    if (m_marked >= 0)
        scrollToOffset(m_marked);
    viewport()->update();
}

qint64 HexView::lineCount() const {
    return (qint64(m_data.size()) + BytesPerLine - 1) / BytesPerLine;
}

qint64 HexView::firstVisibleLine() const {
    return verticalScrollBar()->value();
}

int HexView::visibleLineCount() const {
    return std::max(1, viewport()->height() / m_lineHeight);
}

void HexView::scrollToOffset(qint64 offset) {
    const qint64 line = offset / BytesPerLine;
    const qint64 first = firstVisibleLine();
    const int visible = visibleLineCount();
    if (line < first)
        verticalScrollBar()->setValue(int(line));
    else if (line >= first + visible)
        verticalScrollBar()->setValue(int(line - visible + 1));
}

void HexView::updateMetrics() {
    const QFontMetricsF metrics(font());
    m_charWidth = std::max<qreal>(1, metrics.horizontalAdvance(QLatin1Char('0')));
    m_lineHeight = std::max(1, qCeil(metrics.height()));
    m_ascent = qCeil(metrics.ascent());
    updateScrollBars();
}

int HexView::offsetDigits() const {
    return m_data.size() > 0xFFFFFFFFLL ? 16 : 8;
}

int HexView::columnsX(qreal characters) const {
    return Margin + qRound((offsetDigits() + 2 + characters) * m_charWidth);
}

int HexView::hexX(int column) const {
    // Two characters per byte, a space between bytes and one more after the eighth.
    return columnsX(column * 3 + (column >= 8 ? 1 : 0));
}

int HexView::asciiX(int column) const {
    // After the last byte's hex digits and two spaces.
    return columnsX(BytesPerLine * 3 + 1 + 1 + column);
}

int HexView::contentWidth() const {
    return asciiX(BytesPerLine) + Margin;
}

QSize HexView::sizeHint() const {
    return {contentWidth() + verticalScrollBar()->sizeHint().width() + 2 * frameWidth(),
            m_lineHeight * 12 + 2 * frameWidth()};
}

void HexView::updateScrollBars() {
    // Lines, not pixels, so that a 2^31-pixel limit never applies.
    const qint64 lines = lineCount();
    const int visible = visibleLineCount();
    verticalScrollBar()->setRange(0, int(std::max<qint64>(0, lines - visible)));
    verticalScrollBar()->setPageStep(visible);
    verticalScrollBar()->setSingleStep(1);
    horizontalScrollBar()->setRange(0, std::max(0, contentWidth() - viewport()->width()));
    horizontalScrollBar()->setPageStep(viewport()->width());
    horizontalScrollBar()->setSingleStep(qCeil(m_charWidth));
}

void HexView::resizeEvent(QResizeEvent *event) {
    QAbstractScrollArea::resizeEvent(event);
    updateScrollBars();
}

void HexView::changeEvent(QEvent *event) {
    if (event->type() == QEvent::FontChange)
        updateMetrics();
    QAbstractScrollArea::changeEvent(event);
}

void HexView::paintRange(QPainter &painter, qint64 line, int y, qint64 start, qint64 length,
                         const QColor &color) const {
    const qint64 lineStart = line * BytesPerLine;
    const qint64 from = std::max(start, lineStart);
    const qint64 to = std::min(start + length, lineStart + BytesPerLine);
    if (from >= to)
        return;
    const int first = int(from - lineStart);
    const int last = int(to - lineStart - 1);
    const int dx = -horizontalScrollBar()->value();
    painter.fillRect(QRect(hexX(first) + dx, y, hexX(last) + qRound(2 * m_charWidth) - hexX(first),
                           m_lineHeight),
                     color);
    painter.fillRect(QRect(asciiX(first) + dx, y, asciiX(last + 1) - asciiX(first), m_lineHeight),
                     color);
}

void HexView::paintEvent(QPaintEvent *) {
    QPainter painter(viewport());
    const QPalette &pal = palette();
    painter.fillRect(viewport()->rect(), pal.base());
    painter.setFont(font());
    const qint64 first = firstVisibleLine();
    const qint64 last = std::min(lineCount(), first + visibleLineCount() + 1);
    const int dx = -horizontalScrollBar()->value();
    const int digits = offsetDigits();
    const auto *bytes = reinterpret_cast<const quint8 *>(m_data.constData());
    QString hex;
    QString ascii;
    QString offset;
    for (qint64 line = first; line < last; ++line) {
        const int y = int(line - first) * m_lineHeight;
        for (const Tint &tint : std::as_const(m_tints))
            paintRange(painter, line, y, tint.start, tint.length, tint.color);
        if (m_highlightLength > 0)
            paintRange(painter, line, y, m_highlightStart, m_highlightLength, HighlightColor);
        if (m_selectionLength > 0)
            paintRange(painter, line, y, m_selectionStart, m_selectionLength,
                       pal.color(QPalette::Highlight).lighter(160));

        const qint64 lineStart = line * BytesPerLine;
        const int count = int(std::min<qint64>(BytesPerLine, m_data.size() - lineStart));
        offset = QStringLiteral("%1").arg(lineStart, digits, 16, QLatin1Char('0'));
        hex.clear();
        ascii.clear();
        for (int i = 0; i < BytesPerLine; ++i) {
            if (i == 8)
                hex.append(QLatin1Char(' '));
            if (i < count) {
                const quint8 b = bytes[lineStart + i];
                hex.append(QLatin1Char(hexDigit(b >> 4)));
                hex.append(QLatin1Char(hexDigit(b)));
                ascii.append(b >= 0x20 && b < 0x7F ? QLatin1Char(char(b)) : QLatin1Char('.'));
            } else {
                hex.append(QLatin1String("  "));
            }
            hex.append(QLatin1Char(' '));
        }
        painter.setPen(pal.color(QPalette::PlaceholderText));
        painter.drawText(Margin + dx, y + m_ascent, offset);
        painter.setPen(pal.color(QPalette::Text));
        painter.drawText(hexX(0) + dx, y + m_ascent, hex);
        painter.drawText(asciiX(0) + dx, y + m_ascent, ascii);
        if (m_marked >= lineStart && m_marked < lineStart + BytesPerLine) {
            const int column = int(m_marked - lineStart);
            painter.save();
            painter.setPen(QPen(MarkColor, 2));
            painter.setBrush(Qt::NoBrush);
            painter.drawRect(
                QRect(hexX(column) + dx - 1, y, qRound(2 * m_charWidth) + 2, m_lineHeight - 1));
            painter.drawRect(QRect(asciiX(column) + dx, y, qRound(m_charWidth), m_lineHeight - 1));
            painter.restore();
        }
    }
}

qint64 HexView::byteAt(const QPoint &position) const {
    if (m_data.isEmpty() || position.y() < 0)
        return -1;
    const qint64 line = firstVisibleLine() + position.y() / m_lineHeight;
    const int x = position.x() + horizontalScrollBar()->value();
    int column = -1;
    if (x >= hexX(0) && x < hexX(BytesPerLine - 1) + qRound(3 * m_charWidth)) {
        int character = int((x - hexX(0)) / m_charWidth);
        if (character >= 24)
            --character; // the gap after the eighth byte
        column = std::clamp(character / 3, 0, BytesPerLine - 1);
    } else if (x >= asciiX(0) && x < asciiX(BytesPerLine)) {
        column = std::clamp(int((x - asciiX(0)) / m_charWidth), 0, BytesPerLine - 1);
    }
    if (column < 0)
        return -1;
    const qint64 offset = line * BytesPerLine + column;
    return offset < m_data.size() ? offset : -1;
}

QRect HexView::byteRect(qint64 offset) const {
    if (offset < 0 || offset >= m_data.size())
        return {};
    const qint64 line = offset / BytesPerLine;
    const qint64 first = firstVisibleLine();
    if (line < first || line >= first + visibleLineCount())
        return {};
    const int column = int(offset % BytesPerLine);
    return QRect(hexX(column) - horizontalScrollBar()->value(), int(line - first) * m_lineHeight,
                 qRound(2 * m_charWidth), m_lineHeight);
}

void HexView::mousePressEvent(QMouseEvent *event) {
    if (event->button() != Qt::LeftButton) {
        QAbstractScrollArea::mousePressEvent(event);
        return;
    }
    const qint64 offset = byteAt(event->position().toPoint());
    m_anchor = offset;
    if (offset < 0) {
        setSelection(0, 0);
        return;
    }
    if (event->modifiers() & Qt::ShiftModifier && m_selectionLength > 0) {
        const qint64 start = std::min(m_selectionStart, offset);
        const qint64 end = std::max(m_selectionStart + m_selectionLength, offset + 1);
        m_anchor = m_selectionStart;
        setSelection(start, end - start);
    } else {
        setSelection(offset, 1);
    }
    emit byteClicked(offset);
}

void HexView::mouseMoveEvent(QMouseEvent *event) {
    if (!(event->buttons() & Qt::LeftButton) || m_anchor < 0)
        return;
    QPoint position = event->position().toPoint();
    // Dragging past the edge scrolls.
    if (position.y() < 0)
        verticalScrollBar()->setValue(verticalScrollBar()->value() - 1);
    else if (position.y() >= viewport()->height())
        verticalScrollBar()->setValue(verticalScrollBar()->value() + 1);
    position.setY(std::clamp(position.y(), 0, viewport()->height() - 1));
    const qint64 offset = byteAt(position);
    if (offset < 0)
        return;
    const qint64 start = std::min(m_anchor, offset);
    setSelection(start, std::max(m_anchor, offset) - start + 1);
}

void HexView::mouseReleaseEvent(QMouseEvent *event) {
    if (event->button() == Qt::LeftButton)
        m_anchor = -1;
    QAbstractScrollArea::mouseReleaseEvent(event);
}

void HexView::keyPressEvent(QKeyEvent *event) {
    if (event->matches(QKeySequence::Copy) && m_selectionLength > 0) {
        QApplication::clipboard()->setText(
            QString::fromLatin1(m_data.mid(m_selectionStart, m_selectionLength).toHex(' ')));
        return;
    }
    if (event->matches(QKeySequence::SelectAll)) {
        setSelection(0, m_data.size());
        return;
    }
    switch (event->key()) {
    case Qt::Key_Home:
        if (event->modifiers() & Qt::ControlModifier) {
            verticalScrollBar()->setValue(0);
            return;
        }
        break;
    case Qt::Key_End:
        if (event->modifiers() & Qt::ControlModifier) {
            verticalScrollBar()->setValue(verticalScrollBar()->maximum());
            return;
        }
        break;
    default:
        break;
    }
    QAbstractScrollArea::keyPressEvent(event);
}

} // namespace ws

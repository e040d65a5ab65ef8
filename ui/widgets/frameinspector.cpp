#include "frameinspector.h"

#include "framebitdiagram.h"
#include "hexview.h"

#include "protocol/closecode.h"
#include "protocol/framedecoder.h"
#include "protocol/masking.h"
#include "protocol/opcode.h"
#include "protocol/permessagedeflate.h"

#include <QCheckBox>
#include <QColor>
#include <QDateTime>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QPlainTextEdit>
#include <QScrollArea>
#include <QSplitter>
#include <QStackedWidget>
#include <QTabWidget>
#include <QTreeWidget>
#include <QTreeWidgetItemIterator>
#include <QVBoxLayout>

#include <algorithm>
#include <climits>

namespace ws {

namespace {

// The text tab shows at most this much; the hex tab shows everything.
constexpr qsizetype MaxTextBytes = 256 * 1024;
// A JSON document with more nodes than this is shown in part.
constexpr int MaxJsonItems = 20000;
// A compressed frame is inflated for display up to this much (a bomb stops there).
constexpr qint64 MaxInflatedBytes = 16 * 1024 * 1024;

QString yesNo(bool value) {
    return value ? QObject::tr("yes") : QObject::tr("no");
}

QString bit(bool value) {
    return value ? QStringLiteral("1") : QStringLiteral("0");
}

QString hexBytes(const QByteArray &bytes) {
    return QString::fromLatin1(bytes.toHex(' '));
}

// Walks a document QJsonDocument has accepted, in the document's order (QJsonObject
// sorts its keys), adding an item per value while the budget lasts and skipping the
// rest. Numbers keep their text as written.
class OrderedJsonTree {
public:
    OrderedJsonTree(QByteArrayView json, int &budget)
        : m_p(json.data())
        , m_end(json.data() + json.size())
        , m_budget(budget) {}

    // The root's members (or elements) become children of `root`; returns its summary.
    QString addChildren(QTreeWidgetItem *root) {
        skipSpace();
        return value(root, true);
    }

private:
    void skipSpace() {
        while (m_p < m_end && (*m_p == ' ' || *m_p == '\t' || *m_p == '\n' || *m_p == '\r'))
            ++m_p;
    }

    QString string() {
        ++m_p; // the opening quote
        QString out;
        const char *run = m_p;
        while (m_p < m_end && *m_p != '"') {
            if (*m_p != '\\') {
                ++m_p;
                continue;
            }
            out += QString::fromUtf8(run, m_p - run);
            ++m_p;
            const char escape = m_p < m_end ? *m_p++ : '\\';
            switch (escape) {
            case 'b':
                out += QLatin1Char('\b');
                break;
            case 'f':
                out += QLatin1Char('\f');
                break;
            case 'n':
                out += QLatin1Char('\n');
                break;
            case 'r':
                out += QLatin1Char('\r');
                break;
            case 't':
                out += QLatin1Char('\t');
                break;
            case 'u':
                // Surrogate pairs arrive as two escapes; QString joins their halves.
                out += QChar(char16_t(
                    QByteArray(m_p, std::min<qsizetype>(4, m_end - m_p)).toUShort(nullptr, 16)));
                m_p = std::min(m_p + 4, m_end);
                break;
            default:
                out += QLatin1Char(escape);
                break;
            }
            run = m_p;
        }
        out += QString::fromUtf8(run, m_p - run);
        if (m_p < m_end)
            ++m_p; // the closing quote
        return out;
    }

    // Adds one value under `item` (null: skip it); returns the text its row shows.
    QString value(QTreeWidgetItem *item, bool root = false) {
        if (m_p >= m_end)
            return {};
        const char c = *m_p;
        if (c == '{' || c == '[') {
            const bool object = c == '{';
            ++m_p;
            int count = 0;
            bool cut = false;
            skipSpace();
            while (m_p < m_end && *m_p != (object ? '}' : ']')) {
                QString key = QStringLiteral("[%1]").arg(count);
                if (object) {
                    key = string();
                    skipSpace();
                    ++m_p; // ':'
                    skipSpace();
                }
                QTreeWidgetItem *child = nullptr;
                if (item && m_budget > 0) {
                    --m_budget;
                    child = new QTreeWidgetItem(item, {key});
                } else if (item) {
                    cut = true;
                }
                const QString text = value(child);
                if (child)
                    child->setText(1, text);
                ++count;
                skipSpace();
                if (m_p < m_end && *m_p == ',') {
                    ++m_p;
                    skipSpace();
                }
            }
            if (m_p < m_end)
                ++m_p;
            if (cut && !root)
                new QTreeWidgetItem(item, {QObject::tr("\u2026"), QObject::tr("(not shown)")});
            if (cut && root)
                new QTreeWidgetItem(item, {QObject::tr("\u2026"), QObject::tr("(more not shown)")});
            return object ? QStringLiteral("{%1}").arg(count) : QStringLiteral("[%1]").arg(count);
        }
        if (c == '"')
            return QLatin1Char('"') + string() + QLatin1Char('"');
        // A number, true, false or null: as written.
        const char *start = m_p;
        while (m_p < m_end && *m_p != ',' && *m_p != '}' && *m_p != ']' && *m_p != ' ' &&
               *m_p != '\t' && *m_p != '\n' && *m_p != '\r')
            ++m_p;
        return QString::fromLatin1(start, m_p - start);
    }

    const char *m_p;
    const char *m_end;
    int &m_budget;
};

QString lengthMeaning(const FrameHeader &header) {
    const LengthEncoding minimal = minimalEncoding(header.payloadLength);
    QString meaning = header.lengthEncoding == LengthEncoding::Extended16
                          ? QObject::tr("16-bit extended length")
                          : QObject::tr("64-bit extended length");
    if (header.lengthEncoding != minimal) {
        // RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length".
        meaning += QObject::tr("; not minimal: %1 fits the %2-bit field (RFC 6455 §5.2)")
                       .arg(header.payloadLength)
                       .arg(int(minimal));
    }
    return meaning;
}

} // namespace

FrameInspector::FrameInspector(QWidget *parent)
    : QWidget(parent) {
    m_fields = new QTreeWidget;
    m_fields->setObjectName(QStringLiteral("fieldTree"));
    m_fields->setColumnCount(3);
    m_fields->setHeaderLabels({tr("Field"), tr("Value"), tr("Meaning")});
    m_fields->setAlternatingRowColors(true);
    // Nothing is cut to "r\u2026": names take their width, values and meanings wrap in
    // a narrow pane (rows grow instead).
    m_fields->setUniformRowHeights(false);
    m_fields->setWordWrap(true);
    m_fields->setTextElideMode(Qt::ElideNone);
    m_fields->header()->setSectionResizeMode(QHeaderView::Interactive);
    m_fields->header()->setStretchLastSection(true);
    m_fields->setColumnWidth(1, 200);

    m_diagram = new FrameBitDiagram;
    m_diagram->setObjectName(QStringLiteral("bitDiagram"));
    // The diagram takes the pane's width (32 or 16 bits a row) and scrolls only down.
    m_diagramScroll = new QScrollArea;
    m_diagramScroll->setObjectName(QStringLiteral("bitDiagramScroll"));
    m_diagramScroll->setWidget(m_diagram);
    m_diagramScroll->setWidgetResizable(true);
    m_diagramScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_diagramScroll->setFrameShape(QFrame::NoFrame);
    m_diagramScroll->setMinimumWidth(m_diagram->minimumSizeHint().width());

    m_frameHex = new HexView;
    m_frameHex->setObjectName(QStringLiteral("frameHex"));
    m_frameHex->setToolTip(tr("The frame as on the wire: each header field and the payload "
                              "in its colour; click a byte to select its field"));
    m_unmasked = new QCheckBox(tr("Unmasked"));
    m_unmasked->setObjectName(QStringLiteral("unmaskedToggle"));
    m_unmasked->setToolTip(tr("Show the payload XORed with the masking key (RFC 6455 §5.3) "
                              "instead of the bytes on the wire"));
    m_frameNote = new QLabel;
    m_frameNote->setObjectName(QStringLiteral("frameNote"));
    m_frameNote->setWordWrap(true);
    m_frameNote->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_text = new QPlainTextEdit;
    m_text->setObjectName(QStringLiteral("payloadText"));
    m_text->setReadOnly(true);
    m_text->setLineWrapMode(QPlainTextEdit::WidgetWidth);

    m_json = new QTreeWidget;
    m_json->setObjectName(QStringLiteral("jsonTree"));
    m_json->setColumnCount(2);
    m_json->setHeaderLabels({tr("Key"), tr("Value")});
    m_json->setUniformRowHeights(true);
    m_jsonMessage = new QLabel;
    m_jsonMessage->setObjectName(QStringLiteral("jsonMessage"));
    m_jsonMessage->setAlignment(Qt::AlignCenter);
    m_jsonMessage->setWordWrap(true);
    m_jsonStack = new QStackedWidget;
    m_jsonStack->addWidget(m_json);
    m_jsonStack->addWidget(m_jsonMessage);

    m_payloadHex = new HexView;
    m_payloadHex->setObjectName(QStringLiteral("payloadHex"));
    m_maskedHex = new HexView;
    m_maskedHex->setObjectName(QStringLiteral("maskedHex"));
    m_wireHex = new HexView;
    m_wireHex->setObjectName(QStringLiteral("wireHex"));

    m_frames = new QTreeWidget;
    m_frames->setObjectName(QStringLiteral("frameList"));
    m_frames->setRootIsDecorated(false);
    m_frames->setUniformRowHeights(true);
    m_frames->setHeaderLabels(
        {tr("#"), tr("Time (ms)"), tr("Opcode"), tr("FIN"), tr("Length"), tr("Masking key")});

    m_tabs = new QTabWidget;
    m_tabs->setObjectName(QStringLiteral("payloadTabs"));
    // In PayloadTab order.
    m_tabs->addTab(m_text, tr("Text"));
    m_tabs->addTab(m_jsonStack, tr("JSON"));
    m_tabs->addTab(m_payloadHex, tr("Hex"));
    m_tabs->addTab(m_maskedHex, tr("Masked hex"));
    m_tabs->addTab(m_frames, tr("Frames"));
    m_tabs->addTab(m_wireHex, tr("Wire (compressed)"));

    auto *headerPane = new QWidget;
    auto *headerLayout = new QVBoxLayout(headerPane);
    headerLayout->setContentsMargins(0, 0, 0, 0);
    headerLayout->addWidget(m_diagramScroll, 1);
    auto *frameBar = new QHBoxLayout;
    frameBar->addWidget(m_frameNote, 1);
    frameBar->addWidget(m_unmasked);
    headerLayout->addLayout(frameBar);
    headerLayout->addWidget(m_frameHex, 1);

    m_splitter = new QSplitter(Qt::Vertical);
    m_splitter->addWidget(m_fields);
    m_splitter->addWidget(headerPane);
    m_splitter->addWidget(m_tabs);
    m_splitter->setStretchFactor(0, 2);
    m_splitter->setStretchFactor(1, 1);
    m_splitter->setStretchFactor(2, 2);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_splitter);

    connect(m_fields, &QTreeWidget::itemSelectionChanged, this,
            &FrameInspector::onFieldItemChanged);
    connect(m_diagram, &FrameBitDiagram::fieldClicked, this, &FrameInspector::selectField);
    connect(m_frameHex, &HexView::byteClicked, this, &FrameInspector::selectHeaderByte);
    connect(m_unmasked, &QCheckBox::toggled, this, [this] {
        if (m_hasRecord)
            showFrameBytes();
    });
    connect(m_tabs, &QTabWidget::currentChanged, this, [this] { fillCurrentTab(); });
    connect(m_frames, &QTreeWidget::itemActivated, this, [this](QTreeWidgetItem *item) {
        emit recordActivated(item->data(0, Qt::UserRole).value<qsizetype>());
    });
    clear();
}

FrameInspector::~FrameInspector() = default;

void FrameInspector::clear() {
    m_hasRecord = false;
    m_record = {};
    m_extra = {};
    m_hasExtra = false;
    m_storeIndex = -1;
    m_frameIndices.clear();
    m_frameRecords.clear();
    m_spans.clear();
    m_selectedField.reset();
    m_rangeStart = m_rangeLength = 0;
    m_fields->clear();
    m_diagram->clear();
    m_frameHex->clear();
    m_frameWire.clear();
    m_frameHeaderSize = 0;
    m_frameKey.reset();
    m_offending = -1;
    m_frameNote->clear();
    m_unmasked->setEnabled(false);
    m_payloadHex->clear();
    m_maskedHex->clear();
    m_wireHex->clear();
    m_shown.clear();
    m_wire.clear();
    m_inflatedFrame = false;
    m_inflateError.clear();
    m_text->clear();
    m_json->clear();
    m_frames->clear();
    for (int tab = JsonTab; tab <= WireTab; ++tab)
        m_tabs->setTabVisible(tab, false);
    m_tabs->setTabVisible(HexTab, true);
}

void FrameInspector::setRecord(const log::LogStore &store, qsizetype index) {
    if (index < 0 || index >= store.size()) {
        clear();
        return;
    }
    m_record = store.at(index);
    const log::LogRecordExtra *extra = store.extraOf(m_record, index);
    m_hasExtra = extra != nullptr;
    m_extra = extra ? *extra : log::LogRecordExtra{};
    m_storeIndex = index;
    m_connectionName = store.connectionName(m_record.connection);
    m_timeOriginUs = store.timeOriginUs();
    m_frameIndices = store.framesOfMessage(index);
    m_frameRecords.clear();
    for (const qsizetype frame : std::as_const(m_frameIndices))
        m_frameRecords.append(store.at(frame));
    showRecord();
}

void FrameInspector::setRecord(const log::LogRecord &record, const log::LogRecordExtra *extra,
                               const QString &connectionName, qint64 timeOriginUs) {
    m_record = record;
    m_hasExtra = extra != nullptr;
    m_extra = extra ? *extra : log::LogRecordExtra{};
    m_storeIndex = -1;
    m_connectionName = connectionName.isEmpty()
                           ? QLatin1Char('#') + QString::number(record.connection)
                           : connectionName;
    m_timeOriginUs = timeOriginUs;
    m_frameIndices.clear();
    m_frameRecords.clear();
    showRecord();
}

void FrameInspector::showRecord() {
    m_hasRecord = true;
    m_selectedField.reset();
    m_rangeStart = m_rangeLength = 0;
    m_spans.clear();
    m_frameWire.clear();
    m_frameHeaderSize = 0;
    m_frameKey.reset();
    m_offending = -1;
    m_frameNote->clear();
    const ViolationFrame &violated = m_extra.violationFrame;
    if (m_record.isFrame()) {
        const FrameHeader header = m_record.header();
        const RawHeaderBytes raw = m_record.rawHeader();
        m_spans = fieldSpans(header);
        m_diagram->setHeader(header);
        m_frameHeaderSize = raw.size;
        m_frameKey = header.maskingKey;
        m_frameWire =
            raw.toByteArray() + (header.masked() ? m_record.maskedPayload() : m_record.payload);
        if (quint64(m_record.payload.size()) < header.payloadLength)
            m_frameNote->setText(tr("%1 of %2 payload bytes logged")
                                     .arg(m_record.payload.size())
                                     .arg(header.payloadLength));
    } else if (m_record.kind == log::LogKind::Error && !violated.isEmpty()) {
        // The frame the rule broke in, as far as it had arrived.
        const PartialHeader partial = parsePartialHeader(violated.bytes.left(violated.headerBytes));
        m_spans = partial.spans;
        m_diagram->setHeaderBytes(violated.bytes.left(violated.headerBytes));
        m_frameHeaderSize = violated.headerBytes;
        if (partial.complete && partial.header.masked())
            m_frameKey = partial.header.maskingKey;
        m_frameWire = violated.bytes;
        m_offending = m_extra.streamOffset >= 0 ? m_extra.streamOffset - violated.streamOffset : -1;
        QStringList notes;
        if (m_offending >= 0 && m_offending < m_frameWire.size())
            notes << tr("Offending byte at frame offset %1 (boxed)").arg(m_offending);
        else if (m_offending >= 0 && m_offending == m_frameWire.size() && !violated.isCut())
            notes << tr("The rule broke just past the frame's last byte (offset %1)")
                         .arg(m_offending);
        else if (m_offending >= 0)
            notes << tr("The offending byte (frame offset %1) is past the bytes kept")
                         .arg(m_offending);
        if (!partial.complete)
            notes << tr("header cut after %n byte(s)", nullptr, violated.headerBytes);
        if (violated.isCut())
            notes << tr("the first %1 of %2 payload bytes kept")
                         .arg(m_frameWire.size() - violated.headerBytes)
                         .arg(violated.payloadReceived);
        m_frameNote->setText(notes.join(QStringLiteral("; ")));
    } else {
        m_diagram->clear();
        if (m_record.kind == log::LogKind::Error)
            m_frameNote->setText(tr("This violation concerns no single frame"));
    }
    m_unmasked->setEnabled(m_frameKey.has_value());
    showFrameBytes();
    // RFC 7692 §6: RSV1 on a message's first frame marks it compressed. A message row
    // holds the inflated data and its frames the wire bytes; a frame alone is
    // inflated here, which works unless it continues a message or refers back to
    // an earlier one (context takeover).
    m_shown = m_record.kind == log::LogKind::Error ? QByteArray() : m_record.payload;
    if (m_record.kind == log::LogKind::Error && !violated.isEmpty()) {
        m_shown = violated.bytes.mid(violated.headerBytes);
        if (m_frameKey)
            applyMask(m_shown.data(), m_shown.size(), *m_frameKey);
    }
    m_wire.clear();
    m_inflatedFrame = false;
    m_inflateError.clear();
    if (m_record.isFrame() && m_record.header().rsv1 &&
        (m_record.kind == log::LogKind::Text || m_record.kind == log::LogKind::Binary)) {
        const MessageExtension::Decoded inflated =
            PerMessageDeflate::inflateForInspection(m_record.payload, MaxInflatedBytes);
        m_wire = m_record.payload;
        m_shown = inflated.data;
        m_inflatedFrame = true;
        if (inflated.error)
            m_inflateError = describe(*inflated.error);
    } else if (m_record.has(log::LogRecord::Compressed) && !m_record.isFrame()) {
        for (const log::LogRecord &frame : std::as_const(m_frameRecords))
            m_wire += frame.payload;
    }
    m_payloadHex->setData(m_shown);
    m_wireHex->setData(m_wire);
    m_maskedHex->clear();
    fillFields();
    fillFrames();

    const bool textual =
        m_record.kind == log::LogKind::Text || m_record.kind == log::LogKind::Continuation;
    m_tabs->setTabVisible(JsonTab, textual && !m_shown.isEmpty());
    m_tabs->setTabVisible(WireTab, m_inflatedFrame || !m_wire.isEmpty());
    m_tabs->setTabVisible(MaskedHexTab, m_record.isFrame() && m_record.header().masked());
    m_tabs->setTabVisible(FramesTab, !m_frameRecords.isEmpty());
    m_textDirty = m_jsonDirty = m_maskedDirty = true;
    fillCurrentTab();
}

QColor FrameInspector::fieldColor(HeaderField field) {
    // Pastels under black text, one per byte group of the RFC 6455 §5.2 layout.
    switch (field) {
    case HeaderField::Fin:
    case HeaderField::Rsv1:
    case HeaderField::Rsv2:
    case HeaderField::Rsv3:
    case HeaderField::Opcode:
        return QColor(0xCF, 0xE8, 0xFC); // blue: byte 0
    case HeaderField::Mask:
    case HeaderField::PayloadLength7:
        return QColor(0xD7, 0xF2, 0xD0); // green: byte 1
    case HeaderField::ExtendedLength:
        return QColor(0xFF, 0xE5, 0xC7); // orange
    case HeaderField::MaskingKey:
        return QColor(0xEB, 0xDB, 0xF6); // violet
    case HeaderField::Payload:
        return QColor(0xEE, 0xEE, 0xEE); // grey
    }
    return {};
}

void FrameInspector::showFrameBytes() {
    QByteArray bytes = m_frameWire;
    if (m_unmasked->isChecked() && m_frameKey && bytes.size() > m_frameHeaderSize) {
        // RFC 6455 §5.3: the payload XOR the key, the key's phase from the payload's start.
        applyMask(bytes.data() + m_frameHeaderSize, bytes.size() - m_frameHeaderSize, *m_frameKey);
    }
    m_frameHex->setData(bytes);
    QList<HexView::Tint> tints;
    for (const FieldSpan &span : std::as_const(m_spans)) {
        const qint64 start = qint64(span.firstByte());
        const qint64 length = qint64(std::min<quint64>(span.byteCount(), quint64(1) << 62));
        // Byte 0 and byte 1 hold several fields: one tint each.
        if (!tints.isEmpty() && tints.last().start == start)
            continue;
        tints.append(
            {start, std::min<qint64>(length, bytes.size() - start), fieldColor(span.field)});
    }
    m_frameHex->setTints(tints);
    m_frameHex->setMarkedByte(m_offending);
    if (m_rangeLength > 0)
        m_frameHex->setHighlight(m_rangeStart, m_rangeLength);
}

QTreeWidgetItem *FrameInspector::addGroup(const QString &title) {
    auto *group = new QTreeWidgetItem(m_fields, {title});
    QFont font = group->font(0);
    font.setBold(true);
    group->setFont(0, font);
    group->setFirstColumnSpanned(true);
    group->setExpanded(true);
    return group;
}

QTreeWidgetItem *FrameInspector::addItem(QTreeWidgetItem *group, const QString &name,
                                         const QString &value, const QString &meaning) {
    auto *item = new QTreeWidgetItem(group, {name, value, meaning});
    item->setToolTip(1, value);
    item->setToolTip(2, meaning);
    return item;
}

void FrameInspector::fillFields() {
    const QSignalBlocker blocker(m_fields);
    m_fields->clear();
    const log::LogRecord &r = m_record;

    QTreeWidgetItem *group = addGroup(tr("Record"));
    const QDateTime when = QDateTime::fromMSecsSinceEpoch(r.timestampUs / 1000);
    addItem(
        group, tr("Time"),
        when.toString(QStringLiteral("yyyy-MM-dd hh:mm:ss.zzz")) +
            QStringLiteral("%1").arg(r.timestampUs % 1000, 3, 10, QLatin1Char('0')),
        tr("%1 ms into the log").arg(double(r.timestampUs - m_timeOriginUs) / 1000.0, 0, 'f', 3));
    if (r.has(log::LogRecord::Outgoing) && r.sendDelayUs > 0) {
        // Sent rows are stamped when their last byte was handed to the socket; the
        // send call came this much earlier.
        const qint64 queuedUs = r.timestampUs - r.sendDelayUs;
        addItem(group, tr("Queued"),
                QDateTime::fromMSecsSinceEpoch(queuedUs / 1000)
                        .toString(QStringLiteral("hh:mm:ss.zzz")) +
                    QStringLiteral("%1").arg(queuedUs % 1000, 3, 10, QLatin1Char('0')),
                tr("sent %1 ms after it was queued (waiting for the socket)")
                    .arg(double(r.sendDelayUs) / 1000.0, 0, 'f', 3));
    }
    addItem(group, tr("Connection"), m_connectionName, QStringLiteral("#%1").arg(r.connection));
    if (!r.has(log::LogRecord::Undirected))
        addItem(group, tr("Direction"),
                r.has(log::LogRecord::Outgoing) ? tr("sent") : tr("received"));
    addItem(group, tr("Kind"), QLatin1String(log::logKindName(r.kind)));

    if (r.isFrame()) {
        const FrameHeader h = r.header();
        const RawHeaderBytes raw = r.rawHeader();
        group = addGroup(tr("Frame header (RFC 6455 §5.2)"));
        addHeaderFields(group, h, raw, r.payload.size());
        QTreeWidgetItem *rawItem = addItem(group, tr("Raw header"), hexBytes(raw.toByteArray()),
                                           tr("%n byte(s) on the wire", nullptr, int(raw.size)));
        rawItem->setData(0, HeaderFieldRole, -1);
        addItem(group, tr("Bytes on the wire"),
                QString::number(quint64(raw.size) + h.payloadLength),
                tr("%1-byte header + %2 payload bytes").arg(raw.size).arg(h.payloadLength));
    } else if (r.kind == log::LogKind::Error && !m_extra.violationFrame.isEmpty()) {
        const ViolationFrame &violated = m_extra.violationFrame;
        const QByteArray headerBytes = violated.bytes.left(violated.headerBytes);
        const PartialHeader partial = parsePartialHeader(headerBytes);
        RawHeaderBytes raw;
        raw.size = quint8(std::min<qsizetype>(headerBytes.size(), qsizetype(raw.bytes.size())));
        std::copy_n(reinterpret_cast<const quint8 *>(headerBytes.constData()), raw.size,
                    raw.bytes.begin());
        group = addGroup(partial.complete ? tr("Offending frame header (RFC 6455 §5.2)")
                                          : tr("Offending frame header, as far as received"));
        addHeaderFields(group, partial.header, raw,
                        partial.complete ? violated.payloadReceived : -1);
        QTreeWidgetItem *rawItem = addItem(
            group, tr("Raw header"), hexBytes(headerBytes),
            partial.complete
                ? tr("%n byte(s) on the wire", nullptr, int(raw.size))
                : tr("%n of %1 byte(s) read before the violation", nullptr, int(raw.size))
                      .arg(partial.size > 0 ? QString::number(partial.size) : tr("at least 2")));
        rawItem->setData(0, HeaderFieldRole, -1);
    }

    if ((r.kind == log::LogKind::Text || r.kind == log::LogKind::Binary) &&
        r.has(log::LogRecord::InMessageView)) {
        group = addGroup(tr("Message"));
        addItem(group, tr("Type"), QLatin1String(log::logKindName(r.kind)));
        addItem(group, tr("Size"), tr("%n byte(s)", nullptr, int(r.payload.size())));
        addItem(group, tr("Frames"),
                r.frameCount == 0 ? tr("unknown") : QString::number(r.frameCount),
                r.frameCount > 1 ? tr("fragmented (RFC 6455 §5.4)") : QString());
        if (!r.isFrame() && !m_frameRecords.isEmpty()) {
            // RFC 6455 §5.2: every frame's header is on the wire too.
            quint64 headerBytes = 0;
            quint64 payloadBytes = 0;
            for (const log::LogRecord &frame : std::as_const(m_frameRecords)) {
                headerBytes += frame.rawHeader().size;
                payloadBytes += frame.header().payloadLength;
            }
            addItem(group, tr("Bytes on the wire"), QString::number(headerBytes + payloadBytes),
                    tr("%1 header + %2 payload bytes in %n frame(s)", nullptr,
                       int(m_frameRecords.size()))
                        .arg(headerBytes)
                        .arg(payloadBytes));
        } else if (!r.isFrame()) {
            addItem(group, tr("Bytes on the wire"), tr("%1 + headers").arg(r.length),
                    tr("%1 payload bytes; the frames' headers were not logged").arg(r.length));
        }
        addItem(group, tr("Compressed"), yesNo(r.has(log::LogRecord::Compressed)),
                r.has(log::LogRecord::Compressed) ? tr("permessage-deflate (RFC 7692)")
                                                  : QString());
    }

    if (m_inflatedFrame || (r.has(log::LogRecord::Compressed) && !r.isFrame())) {
        group = addGroup(tr("Compression (RFC 7692)"));
        // A message row counts the payload bytes of all its frames as its length.
        const qint64 wireBytes = m_inflatedFrame ? qint64(m_wire.size()) : qint64(r.length);
        const qint64 inflatedBytes = m_shown.size();
        QString ratio;
        if (inflatedBytes > 0)
            ratio = tr("%1% of the inflated size")
                        .arg(100.0 * double(wireBytes) / double(inflatedBytes), 0, 'f', 1);
        addItem(
            group, tr("Sizes"),
            tr("compressed %1 bytes \u2192 inflated %2 bytes").arg(wireBytes).arg(inflatedBytes),
            ratio);
        if (m_inflatedFrame) {
            addItem(group, tr("Inflated"),
                    m_inflateError.isEmpty() ? tr("for display") : tr("in part"),
                    m_inflateError.isEmpty()
                        ? tr("this frame alone, with a fresh window; the Text, JSON and Hex tabs "
                             "show the result")
                        : tr("%1 (a frame that refers back to earlier messages cannot be "
                             "inflated alone)")
                              .arg(m_inflateError));
        } else if (m_wire.isEmpty()) {
            addItem(group, tr("Wire payload"), tr("not in the log"),
                    tr("the message's frames were not reported, or have been dropped"));
        }
    }

    if (r.kind == log::LogKind::Close || r.has(log::LogRecord::ClosedSummary)) {
        group = addGroup(r.kind == log::LogKind::Close ? tr("Close frame (RFC 6455 §5.5.1)")
                                                       : tr("Connection closed"));
        if (r.has(log::LogRecord::HasCloseCode)) {
            QTreeWidgetItem *item = addItem(group, tr("Close code"), QString::number(r.closeCode),
                                            QLatin1String(closeCodeMeaning(r.closeCode)));
            if (r.kind == log::LogKind::Close) {
                item->setData(0, PayloadStartRole, qint64(0));
                item->setData(0, PayloadLengthRole, qint64(2));
            }
            if (r.kind == log::LogKind::Close && !isValidOnWire(r.closeCode))
                item->setText(2, item->text(2) + tr(" (must not be sent, RFC 6455 §7.4)"));
        } else {
            addItem(group, tr("Close code"), tr("none"),
                    tr("no status code: reported as 1005 (RFC 6455 §7.1.5)"));
        }
        const QByteArray reason = r.closeReason();
        QTreeWidgetItem *item = addItem(group, tr("Reason"), QString::fromUtf8(reason),
                                        tr("%n byte(s) of UTF-8", nullptr, int(reason.size())));
        if (r.kind == log::LogKind::Close && r.payload.size() > 2) {
            item->setData(0, PayloadStartRole, qint64(2));
            item->setData(0, PayloadLengthRole, qint64(r.payload.size() - 2));
        }
        if (r.has(log::LogRecord::ClosedSummary)) {
            addItem(group, tr("Clean"), yesNo(r.has(log::LogRecord::CleanClose)),
                    tr("both close frames were exchanged"));
            addItem(group, tr("Closed by"),
                    r.has(log::LogRecord::ClosedByUs) ? tr("us") : tr("the peer"));
        }
    }

    if (r.kind == log::LogKind::Ping && !r.has(log::LogRecord::Outgoing)) {
        group = addGroup(tr("Ping"));
        addItem(group, tr("Answered"), yesNo(r.has(log::LogRecord::PingAnswered)),
                r.has(log::LogRecord::PingAnswered)
                    ? tr("an automatic pong went out (RFC 6455 §5.5.2)")
                    : tr("automatic pongs are off"));
    }
    if (r.kind == log::LogKind::Pong) {
        group = addGroup(tr("Pong"));
        if (r.has(log::LogRecord::HasRoundTrip))
            addItem(group, tr("Round trip"),
                    tr("%1 ms").arg(double(r.roundTripUs) / 1000.0, 0, 'f', 3),
                    tr("since the matching ping was sent"));
        else
            addItem(group, tr("Round trip"), tr("none"),
                    tr("answers no ping we sent (RFC 6455 §5.5.3)"));
    }

    if (r.kind == log::LogKind::Error) {
        group = addGroup(tr("Violation"));
        if (m_extra.error)
            addItem(group, tr("Rule"), QLatin1String(errorName(*m_extra.error)),
                    describe(*m_extra.error));
        addItem(group, tr("Reason"), QString::fromUtf8(r.payload));
        if (r.has(log::LogRecord::HasCloseCode))
            addItem(group, tr("Failed with"), QString::number(r.closeCode),
                    QLatin1String(closeCodeMeaning(r.closeCode)));
        if (m_extra.streamOffset >= 0)
            addItem(group, tr("Stream offset"), QString::number(m_extra.streamOffset),
                    tr("of the offending byte in the received stream"));
        if (m_offending >= 0) {
            QString where;
            if (m_offending < m_frameWire.size()) {
                std::optional<HeaderField> owner = fieldForHeaderByte(m_offending);
                // Header rules name the bits they read, whatever else shares the byte.
                if (m_extra.error && m_offending < m_frameHeaderSize) {
                    switch (*m_extra.error) {
                    case ProtocolError::UnmaskedClientFrame:
                    case ProtocolError::MaskedServerFrame:
                        owner = HeaderField::Mask;
                        break;
                    case ProtocolError::FragmentedControlFrame:
                        owner = HeaderField::Fin;
                        break;
                    case ProtocolError::ReservedBitsSet:
                    case ProtocolError::CompressedControlFrame:
                    case ProtocolError::CompressedContinuation: {
                        const quint8 byte0 = quint8(m_frameWire.at(0));
                        owner = (byte0 & Rsv1Bit)   ? HeaderField::Rsv1
                                : (byte0 & Rsv2Bit) ? HeaderField::Rsv2
                                                    : HeaderField::Rsv3;
                        break;
                    }
                    default:
                        break;
                    }
                }
                where = tr("byte 0x%1 in %2")
                            .arg(quint8(m_frameWire.at(m_offending)), 2, 16, QLatin1Char('0'))
                            .arg(owner ? QLatin1String(fieldName(*owner)) : tr("the frame"));
                if (owner == HeaderField::Payload)
                    where += tr(" (payload offset %1)").arg(m_offending - m_frameHeaderSize);
            } else {
                where = tr("past the bytes shown");
            }
            QTreeWidgetItem *item =
                addItem(group, tr("Offending byte"), tr("frame offset %1").arg(m_offending), where);
            item->setForeground(1, QColor(0xC6, 0x28, 0x28));
        }
    }

    if (!m_extra.notes.isEmpty()) {
        group = addGroup(tr("Conformance notes"));
        for (const ConformanceNote &note : std::as_const(m_extra.notes))
            addItem(group, QLatin1String(log::noteKindName(note.kind)), note.text,
                    note.streamOffset >= 0 ? tr("stream offset %1").arg(note.streamOffset)
                                           : QString());
    }

    if (r.kind == log::LogKind::Handshake) {
        group = addGroup(tr("Handshake (RFC 6455 §4)"));
        addItem(group, tr("Outcome"), QLatin1String(log::handshakeKindName(m_extra.handshakeKind)));
        if (m_extra.httpStatus != 0)
            addItem(group, tr("HTTP status"), QString::number(m_extra.httpStatus));
        addItem(group, tr("Subprotocol"),
                m_extra.subprotocol.isEmpty() ? tr("none")
                                              : QString::fromUtf8(m_extra.subprotocol));
        addItem(group, tr("Extensions"),
                m_extra.extensions.isEmpty() ? tr("none") : QString::fromUtf8(m_extra.extensions));
        if (!m_extra.handshakeError.isEmpty())
            addItem(group, tr("Error"), m_extra.handshakeError);
    }

    if (r.kind == log::LogKind::State && !r.has(log::LogRecord::ClosedSummary)) {
        group = addGroup(tr("State"));
        addItem(group, tr("State"), QLatin1String(stateName(r.state())));
    }
    m_fields->expandAll();
    fitValueColumn();
}

void FrameInspector::fitValueColumn() {
    // Names as wide as the widest (group titles span the row and do not count);
    // values as wide as they need, up to half of what the names leave; what is wider
    // wraps, and the rows are laid out again for it.
    const QFontMetrics metrics(m_fields->font());
    const int padding = 2 * metrics.horizontalAdvance(QLatin1Char('0'));
    int names = metrics.horizontalAdvance(m_fields->headerItem()->text(0));
    int values = metrics.horizontalAdvance(m_fields->headerItem()->text(1));
    for (QTreeWidgetItemIterator it(m_fields); *it; ++it) {
        if (!(*it)->parent())
            continue;
        names = std::max(names, metrics.horizontalAdvance((*it)->text(0)));
        values = std::max(values, metrics.horizontalAdvance((*it)->text(1)));
    }
    const int room = m_fields->viewport()->width();
    const int nameWidth = std::min(names + m_fields->indentation() + padding, room / 2);
    m_fields->setColumnWidth(0, nameWidth);
    const int valueWidth = std::max(60, std::min(values + padding, (room - nameWidth) / 2));
    m_fields->setColumnWidth(1, valueWidth);
    // QTreeView sizes rows without wrapping (it asks for hints at width -1): each row
    // states the height its wrapped value and meaning need.
    const int meaningWidth = std::max(60, room - nameWidth - valueWidth);
    const int line = metrics.lineSpacing();
    const auto linesOf = [&](const QString &text, int width) {
        if (text.isEmpty())
            return 1;
        return metrics
                   .boundingRect(QRect(0, 0, std::max(1, width - padding), 1 << 20),
                                 Qt::TextWordWrap | Qt::TextWrapAnywhere, text)
                   .height() /
               std::max(1, line);
    };
    for (QTreeWidgetItemIterator it(m_fields); *it; ++it) {
        QTreeWidgetItem *item = *it;
        if (!item->parent())
            continue;
        const int lines =
            std::max({1, linesOf(item->text(0), nameWidth - m_fields->indentation()),
                      linesOf(item->text(1), valueWidth), linesOf(item->text(2), meaningWidth)});
        item->setSizeHint(1, QSize(valueWidth, lines * line + 4)); // a valid size: w >= 0
    }
    m_fields->doItemsLayout();
}

void FrameInspector::resizeEvent(QResizeEvent *event) {
    QWidget::resizeEvent(event);
    fitValueColumn();
}

void FrameInspector::addHeaderFields(QTreeWidgetItem *group, const FrameHeader &h,
                                     const RawHeaderBytes &raw, qint64 payloadLogged) {
    const log::LogRecord &r = m_record;
    // Only the fields whose bits are all known: a header cut short by a violation
    // lists the ones before the cut.
    const auto known = [this](HeaderField f) {
        return std::any_of(m_spans.cbegin(), m_spans.cend(),
                           [f](const FieldSpan &span) { return span.field == f; });
    };
    const auto field = [&](HeaderField f, const QString &value, const QString &meaning) {
        if (!known(f))
            return;
        QTreeWidgetItem *item = addItem(group, QLatin1String(fieldName(f)), value, meaning);
        item->setData(0, HeaderFieldRole, int(f));
        item->setBackground(0, fieldColor(f));
    };
    field(HeaderField::Fin, bit(h.fin),
          h.fin ? tr("final fragment of its message") : tr("more fragments follow"));
    const QString unset = tr("not set");
    field(HeaderField::Rsv1, bit(h.rsv1),
          !h.rsv1 ? unset
                  : (r.has(log::LogRecord::Compressed) || r.kind == log::LogKind::Text ||
                             r.kind == log::LogKind::Binary
                         ? tr("set: per-message compressed (RFC 7692) if negotiated")
                         : tr("set: meaning defined by a negotiated extension")));
    field(HeaderField::Rsv2, bit(h.rsv2),
          h.rsv2 ? tr("set: meaning defined by a negotiated extension") : unset);
    field(HeaderField::Rsv3, bit(h.rsv3),
          h.rsv3 ? tr("set: meaning defined by a negotiated extension") : unset);
    QString opcodeMeaning = QLatin1String(opcodeName(h.opcode)) + tr(" frame");
    if (isReservedOpcode(h.opcode))
        opcodeMeaning += tr(" (reserved, RFC 6455 §5.2)");
    else if (isControl(h.op()))
        opcodeMeaning += tr(" (control frame, RFC 6455 §5.5)");
    field(HeaderField::Opcode, QStringLiteral("0x%1").arg(h.opcode, 0, 16), opcodeMeaning);
    field(HeaderField::Mask, bit(h.masked()),
          h.masked() ? tr("payload masked with the key (client to server, §5.3)")
                     : tr("payload not masked"));
    const int code = raw.size > 1 ? unpackByte1(raw.bytes[1]).length7 : 0;
    field(HeaderField::PayloadLength7, QString::number(code),
          code == 126   ? tr("a 16-bit extended length follows")
          : code == 127 ? tr("a 64-bit extended length follows")
                        : tr("payload length: %n byte(s)", nullptr, code));
    if (h.lengthEncoding != LengthEncoding::Short7)
        field(HeaderField::ExtendedLength, QString::number(h.payloadLength), lengthMeaning(h));
    if (h.maskingKey) {
        const quint32 key = *h.maskingKey;
        const char keyChars[4] = {char(key >> 24), char(key >> 16), char(key >> 8), char(key)};
        const QByteArray keyBytes(keyChars, 4);
        field(HeaderField::MaskingKey, QStringLiteral("0x%1").arg(key, 8, 16, QLatin1Char('0')),
              tr("key bytes %1: payload byte i is XORed with key byte i mod 4")
                  .arg(hexBytes(keyBytes)));
    }
    QString payloadMeaning = tr("%n byte(s) follow the %1-byte header", nullptr,
                                int(std::min<quint64>(h.payloadLength, INT_MAX)))
                                 .arg(int(raw.size));
    if (r.kind == log::LogKind::Error)
        payloadMeaning += tr("; %n byte(s) read before the violation", nullptr,
                             int(std::min<qint64>(payloadLogged, INT_MAX)));
    else if (quint64(payloadLogged) != h.payloadLength)
        payloadMeaning += tr("; %n byte(s) logged", nullptr, int(payloadLogged));
    field(HeaderField::Payload, QString::number(h.payloadLength), payloadMeaning);
}

void FrameInspector::showConnectionTls(const TlsInfo &tls) {
    if (!m_hasRecord || m_record.kind != log::LogKind::Handshake)
        return;
    const QSignalBlocker blocker(m_fields);
    QTreeWidgetItem *group = addGroup(tr("TLS"));
    QString protocol = tls.protocol;
    if (protocol.startsWith(QLatin1String("TLSv")))
        protocol = QStringLiteral("TLS ") + protocol.mid(4);
    addItem(group, tr("Protocol"), protocol);
    addItem(group, tr("Cipher"), tls.cipher);
    switch (tls.verifiedBy) {
    case TlsInfo::VerifiedBy::System:
        addItem(group, tr("Certificate"), tr("verified"), tr("by the system's certificate store"));
        break;
    case TlsInfo::VerifiedBy::CaFile:
        addItem(group, tr("Certificate"), tr("verified"), tr("by the CA file given"));
        break;
    case TlsInfo::VerifiedBy::Fingerprint:
        addItem(group, tr("Certificate"), tr("accepted self-signed"),
                tr("not verified: the user trusted its SHA-256 fingerprint"))
            ->setForeground(1, QColor(0xE6, 0x51, 0x00));
        break;
    }
    for (qsizetype i = 0; i < tls.chain.size(); ++i) {
        const TlsCertificateInfo &certificate = tls.chain.at(i);
        group = addGroup(i == 0 ? tr("Server certificate") : tr("Chain certificate %1").arg(i + 1));
        addItem(group, tr("Subject"), certificate.subject);
        addItem(group, tr("Issuer"), certificate.issuer);
        addItem(group, tr("Valid"),
                tr("%1 to %2")
                    .arg(certificate.notBefore.toUTC().toString(Qt::ISODate),
                         certificate.notAfter.toUTC().toString(Qt::ISODate)));
        addItem(group, tr("SHA-256"), certificate.sha256);
    }
    m_fields->expandAll();
}

void FrameInspector::showRelayLegs(log::Leg shown, const QString &clientLegExtensions,
                                   const QString &serverLegExtensions) {
    if (!m_hasRecord || shown == log::Leg::None)
        return;
    const QSignalBlocker blocker(m_fields);
    QTreeWidgetItem *group = addGroup(tr("Relayed pair"));
    addItem(group, tr("Logged on"), shown == log::Leg::Client ? tr("client leg") : tr("server leg"),
            shown == log::Leg::Client ? tr("between the client and the relay")
                                      : tr("between the relay and the server"));
    // RFC 7692 §5: each leg's handshake negotiates its own parameters; the relay
    // inflates on one leg and compresses again on the other.
    const auto extensionsText = [](const QString &extensions) {
        return extensions.isEmpty() ? tr("none") : extensions;
    };
    addItem(group, tr("Client leg extensions"), extensionsText(clientLegExtensions));
    addItem(group, tr("Server leg extensions"), extensionsText(serverLegExtensions));
    group->setExpanded(true);
}

void FrameInspector::fillFrames() {
    m_frames->clear();
    for (qsizetype i = 0; i < m_frameRecords.size(); ++i) {
        const log::LogRecord &frame = m_frameRecords.at(i);
        const FrameHeader h = frame.header();
        auto *item = new QTreeWidgetItem(
            m_frames,
            {QString::number(i + 1),
             QString::number(double(frame.timestampUs - m_timeOriginUs) / 1000.0, 'f', 3),
             QStringLiteral("0x%1 %2")
                 .arg(h.opcode, 0, 16)
                 .arg(QLatin1String(opcodeName(h.opcode))),
             bit(h.fin), QString::number(h.payloadLength),
             h.maskingKey ? QStringLiteral("0x%1").arg(*h.maskingKey, 8, 16, QLatin1Char('0'))
                          : QString()});
        item->setData(0, Qt::UserRole, QVariant::fromValue(m_frameIndices.at(i)));
    }
}

void FrameInspector::fillCurrentTab() {
    if (!m_hasRecord)
        return;
    switch (m_tabs->currentIndex()) {
    case TextTab:
        if (m_textDirty) {
            m_textDirty = false;
            QString text;
            if (m_record.kind == log::LogKind::Handshake) {
                text =
                    QString::fromUtf8(m_extra.rawRequest) + QString::fromUtf8(m_extra.rawResponse);
            } else if (m_record.kind == log::LogKind::Close) {
                text = QString::fromUtf8(m_record.closeReason());
            } else {
                text = QString::fromUtf8(m_shown.left(MaxTextBytes));
                if (m_shown.size() > MaxTextBytes)
                    text += tr("\n\u2026 (the first %1 bytes of %2; the Hex tab shows all)")
                                .arg(MaxTextBytes)
                                .arg(m_shown.size());
            }
            m_text->setPlainText(text);
        }
        break;
    case JsonTab:
        if (m_jsonDirty) {
            m_jsonDirty = false;
            m_json->clear();
            QJsonParseError error;
            const QJsonDocument doc = QJsonDocument::fromJson(m_shown, &error);
            if (error.error != QJsonParseError::NoError) {
                m_jsonMessage->setText(
                    tr("Not JSON: %1 at byte %2").arg(error.errorString()).arg(error.offset));
                m_jsonStack->setCurrentWidget(m_jsonMessage);
            } else {
                int budget = MaxJsonItems;
                // The root item stands for the document; its children are the members,
                // in the document's order.
                auto *root = new QTreeWidgetItem(m_json, {tr("(root)")});
                root->setText(1, OrderedJsonTree(m_shown, budget).addChildren(root));
                m_json->expandToDepth(1);
                m_jsonStack->setCurrentWidget(m_json);
            }
        }
        break;
    case MaskedHexTab:
        if (m_maskedDirty) {
            m_maskedDirty = false;
            // RFC 6455 §5.3: the bytes on the wire are the payload XOR the key.
            m_maskedHex->setData(m_record.maskedPayload());
        }
        break;
    default:
        break;
    }
}

void FrameInspector::setCurrentPayloadTab(PayloadTab tab) {
    m_tabs->setCurrentIndex(tab);
    fillCurrentTab();
}

FrameInspector::PayloadTab FrameInspector::currentPayloadTab() const {
    return static_cast<PayloadTab>(m_tabs->currentIndex());
}

bool FrameInspector::isPayloadTabVisible(PayloadTab tab) const {
    return m_tabs->isTabVisible(tab);
}

QTreeWidgetItem *FrameInspector::fieldItem(HeaderField field) const {
    for (int g = 0; g < m_fields->topLevelItemCount(); ++g) {
        QTreeWidgetItem *group = m_fields->topLevelItem(g);
        for (int i = 0; i < group->childCount(); ++i) {
            QTreeWidgetItem *item = group->child(i);
            const QVariant value = item->data(0, HeaderFieldRole);
            if (value.isValid() && value.toInt() == int(field))
                return item;
        }
    }
    return nullptr;
}

QTreeWidgetItem *FrameInspector::findItem(const QString &name) const {
    const QList<QTreeWidgetItem *> items =
        m_fields->findItems(name, Qt::MatchExactly | Qt::MatchRecursive, 0);
    for (QTreeWidgetItem *item : items) {
        if (item->parent())
            return item;
    }
    return nullptr;
}

std::optional<HeaderField> FrameInspector::fieldForHeaderByte(qint64 offset) const {
    if (offset < 0)
        return std::nullopt;
    std::optional<HeaderField> best;
    quint64 bestBits = 0;
    const quint64 byteStart = quint64(offset) * 8;
    const quint64 byteEnd = byteStart + 8;
    for (const FieldSpan &span : m_spans) {
        const quint64 from = std::max(span.bitOffset, byteStart);
        const quint64 to = std::min(span.bitOffset + span.bitLength, byteEnd);
        if (to > from && to - from > bestBits) {
            bestBits = to - from;
            best = span.field;
        }
    }
    return best;
}

void FrameInspector::selectHeaderByte(qint64 offset) {
    if (const std::optional<HeaderField> field = fieldForHeaderByte(offset))
        selectField(*field);
}

void FrameInspector::selectField(HeaderField field) {
    if (m_syncing || m_spans.isEmpty())
        return;
    const auto span = std::find_if(m_spans.cbegin(), m_spans.cend(),
                                   [field](const FieldSpan &s) { return s.field == field; });
    if (span == m_spans.cend())
        return;
    m_syncing = true;
    m_selectedField = field;
    m_rangeStart = qint64(span->firstByte());
    m_rangeLength = qint64(std::min<quint64>(span->byteCount(), quint64(1) << 62));
    m_diagram->setSelectedField(field);
    m_frameHex->setHighlight(m_rangeStart, m_rangeLength);
    if (field == HeaderField::Payload) {
        // Also in the payload tabs: the compressed bytes on the wire, or the payload.
        if (m_inflatedFrame) {
            setCurrentPayloadTab(WireTab);
            m_wireHex->setHighlight(0, m_wire.size());
        } else {
            setCurrentPayloadTab(HexTab);
            m_payloadHex->setHighlight(0, m_shown.size());
        }
    }
    if (QTreeWidgetItem *item = fieldItem(field)) {
        m_fields->setCurrentItem(item);
        m_fields->scrollToItem(item);
    }
    m_syncing = false;
    emit byteRangeSelected(m_rangeStart, m_rangeLength);
}

void FrameInspector::selectPayloadRange(qint64 start, qint64 length) {
    setCurrentPayloadTab(HexTab);
    m_payloadHex->setHighlight(start, length);
}

void FrameInspector::onFieldItemChanged() {
    if (m_syncing)
        return;
    QTreeWidgetItem *item = m_fields->currentItem();
    if (!item)
        return;
    const QVariant field = item->data(0, HeaderFieldRole);
    if (field.isValid() && field.toInt() >= 0) {
        selectField(static_cast<HeaderField>(field.toInt()));
        return;
    }
    if (field.isValid() && !m_spans.isEmpty()) {
        // The raw header row: all of it.
        m_syncing = true;
        m_selectedField.reset();
        m_diagram->setSelectedField(std::nullopt);
        m_rangeStart = 0;
        m_rangeLength = m_frameHeaderSize;
        m_frameHex->setHighlight(m_rangeStart, m_rangeLength);
        m_syncing = false;
        emit byteRangeSelected(m_rangeStart, m_rangeLength);
        return;
    }
    const QVariant start = item->data(0, PayloadStartRole);
    if (start.isValid())
        selectPayloadRange(start.toLongLong(), item->data(0, PayloadLengthRole).toLongLong());
}

} // namespace ws

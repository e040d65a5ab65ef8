#pragma once

#include "log/logstore.h"
#include "net/tlsinfo.h"

#include <QWidget>

#include <optional>

class QCheckBox;
class QLabel;
class QScrollArea;
class QPlainTextEdit;
class QSplitter;
class QStackedWidget;
class QTabWidget;
class QTreeWidget;
class QTreeWidgetItem;

namespace ws {

class FrameBitDiagram;
class HexView;

// Everything about one log record: a field table (each header field with its value
// and meaning, then the message, close, ping/pong, error, note and handshake
// details), the RFC 6455 §5.2 bit diagram, the raw header bytes, and the payload as
// text, as a JSON tree, as hex, and as masked hex for masked frames; a fragmented
// message lists its frames. A compressed message (RFC 7692) shows its size on the
// wire and inflated, and its wire payload; a compressed frame is inflated for
// display (the Text, JSON and Hex tabs), its wire bytes in "Wire (compressed)".
//
// Its currency is a byte range: one hex pane shows the whole frame as on the wire
// (masked, or unmasked on request), each field tinted with its own colour;
// selecting a field in the table or the diagram highlights its bytes there, and
// clicking a byte selects the field it belongs to (fieldSpans() gives the bit
// ranges). An error row shows the frame the rule broke in, its header fields as
// far as they had arrived, and the offending byte marked.
class FrameInspector : public QWidget {
    Q_OBJECT
public:
    enum PayloadTab { TextTab, JsonTab, HexTab, MaskedHexTab, FramesTab, WireTab };
    // Item data roles of the field table.
    enum ItemRole {
        HeaderFieldRole = Qt::UserRole + 1, // int: HeaderField, on header field items
        PayloadStartRole,                   // qint64: the item's bytes in the payload
        PayloadLengthRole,
    };

    explicit FrameInspector(QWidget *parent = nullptr);
    ~FrameInspector() override;

    // Shows record `index` of `store`. The record is copied (its payload shared);
    // the store is only used now, to find the frames of a fragmented message.
    void setRecord(const log::LogStore &store, qsizetype index);
    // Shows a record that is not in a store.
    void setRecord(const log::LogRecord &record, const log::LogRecordExtra *extra = nullptr,
                   const QString &connectionName = {}, qint64 timeOriginUs = 0);
    void clear();
    // For the handshake row of a wss connection: adds the TLS protocol, cipher, how
    // the certificate was trusted and the chain to the field table (until the next
    // record is shown).
    void showConnectionTls(const TlsInfo &tls);
    // For a row of a relayed pair's leg: which leg it was logged on and what each leg
    // negotiated (empty: no extension), until the next record is shown. Each leg is
    // its own connection, so permessage-deflate may be on one and not the other.
    void showRelayLegs(log::Leg shown, const QString &clientLegExtensions,
                       const QString &serverLegExtensions);
    bool hasRecord() const { return m_hasRecord; }
    const log::LogRecord &record() const { return m_record; }
    // The store index given to setRecord, or -1.
    qsizetype storeIndex() const { return m_storeIndex; }

    // The byte-range currency.
    void selectField(HeaderField field);
    // Selects the field that owns frame byte `offset` (the one with most bits in it).
    void selectHeaderByte(qint64 offset);
    std::optional<HeaderField> selectedField() const { return m_selectedField; }
    // The selected bytes, counted from the first header byte; length 0: none.
    qint64 selectedByteStart() const { return m_rangeStart; }
    qint64 selectedByteLength() const { return m_rangeLength; }
    std::optional<HeaderField> fieldForHeaderByte(qint64 offset) const;

    void setCurrentPayloadTab(PayloadTab tab);
    PayloadTab currentPayloadTab() const;
    bool isPayloadTabVisible(PayloadTab tab) const;

    // The parts, for the window's layout and for tests.
    QTreeWidget *fieldTree() const { return m_fields; }
    FrameBitDiagram *bitDiagram() const { return m_diagram; }
    // The whole frame: header and payload, masked as on the wire unless unmasked.
    HexView *frameHexView() const { return m_frameHex; }
    QCheckBox *unmaskedToggle() const { return m_unmasked; }
    // Under the frame pane: what is cut, where the offending byte is.
    QLabel *frameNote() const { return m_frameNote; }
    QScrollArea *bitDiagramScroll() const { return m_diagramScroll; }
    // The frame the hex pane shows, as on the wire; empty when the record has none.
    const QByteArray &frameBytes() const { return m_frameWire; }
    // Error rows: the offending byte's offset in frameBytes() (-1: none).
    qint64 offendingByte() const { return m_offending; }
    // The tint of a field in the hex pane, the table and the diagram.
    static QColor fieldColor(HeaderField field);
    QTabWidget *payloadTabs() const { return m_tabs; }
    QPlainTextEdit *textView() const { return m_text; }
    QTreeWidget *jsonTree() const { return m_json; }
    QLabel *jsonMessage() const { return m_jsonMessage; }
    HexView *payloadHexView() const { return m_payloadHex; }
    HexView *maskedHexView() const { return m_maskedHex; }
    HexView *wireHexView() const { return m_wireHex; }
    // The payload the Text, JSON and Hex tabs show: the record's, or for a compressed
    // frame what it inflates to.
    const QByteArray &shownPayload() const { return m_shown; }
    QTreeWidget *frameList() const { return m_frames; }

    // The table row of a header field, and the first row whose name is `name`.
    QTreeWidgetItem *fieldItem(HeaderField field) const;
    QTreeWidgetItem *findItem(const QString &name) const;

signals:
    // The selection in header bytes changed (length 0: cleared).
    void byteRangeSelected(qint64 start, qint64 length);
    // The user picked one of a fragmented message's frames (its store index).
    void recordActivated(qsizetype storeIndex);

protected:
    void resizeEvent(QResizeEvent *event) override;

private:
    void fitValueColumn();
    void showRecord();
    void fillFields();
    void fillFrames();
    void fillCurrentTab();
    void onFieldItemChanged();
    void selectPayloadRange(qint64 start, qint64 length);
    void showFrameBytes();
    void addHeaderFields(QTreeWidgetItem *group, const FrameHeader &h, const RawHeaderBytes &raw,
                         qint64 payloadLogged);
    QTreeWidgetItem *addGroup(const QString &title);
    QTreeWidgetItem *addItem(QTreeWidgetItem *group, const QString &name, const QString &value,
                             const QString &meaning = {});

    QSplitter *m_splitter = nullptr;
    QTreeWidget *m_fields = nullptr;
    FrameBitDiagram *m_diagram = nullptr;
    QScrollArea *m_diagramScroll = nullptr;
    HexView *m_frameHex = nullptr;
    QCheckBox *m_unmasked = nullptr;
    QLabel *m_frameNote = nullptr;
    QTabWidget *m_tabs = nullptr;
    QPlainTextEdit *m_text = nullptr;
    QStackedWidget *m_jsonStack = nullptr;
    QTreeWidget *m_json = nullptr;
    QLabel *m_jsonMessage = nullptr;
    HexView *m_payloadHex = nullptr;
    HexView *m_maskedHex = nullptr;
    HexView *m_wireHex = nullptr;
    QTreeWidget *m_frames = nullptr;

    log::LogRecord m_record;
    log::LogRecordExtra m_extra;
    bool m_hasExtra = false;
    bool m_hasRecord = false;
    qsizetype m_storeIndex = -1;
    QString m_connectionName;
    qint64 m_timeOriginUs = 0;
    QList<qsizetype> m_frameIndices;
    QList<log::LogRecord> m_frameRecords;
    QList<FieldSpan> m_spans;
    // The frame in the hex pane: as on the wire, and its header's size there; the
    // masking key when the whole header is known.
    QByteArray m_frameWire;
    int m_frameHeaderSize = 0;
    std::optional<quint32> m_frameKey;
    qint64 m_offending = -1;
    // Compression (RFC 7692): what the payload tabs show, the bytes on the wire when
    // they differ from it, and why a compressed frame did not inflate.
    QByteArray m_shown;
    QByteArray m_wire;
    bool m_inflatedFrame = false;
    QString m_inflateError;

    std::optional<HeaderField> m_selectedField;
    qint64 m_rangeStart = 0;
    qint64 m_rangeLength = 0;
    bool m_syncing = false;
    // Tabs are filled when first shown for a record: a 16 MiB payload is not parsed
    // as JSON or masked until someone asks.
    bool m_textDirty = true;
    bool m_jsonDirty = true;
    bool m_maskedDirty = true;
};

} // namespace ws

#pragma once

#include "protocol/frameencoder.h"
#include "sendeditor.h"

#include <QByteArray>
#include <QList>
#include <QVariantMap>
#include <QWidget>

#include <optional>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QStackedWidget;
class QTimer;

namespace ws {

class ConnectionHub;

// Composes and sends: text, JSON (checked as you type), binary (hex or a file),
// fragmented at a chosen size or as one frame; ping with a payload; close with a
// code from the list or typed, and a reason; or a raw frame with every header bit
// chosen by hand (RFC 6455 §5.2), rules broken on purpose. Keeps a send history
// and named snippets (QSettings).
class SendBox : public QWidget {
    Q_OBJECT
public:
    enum class Mode { Text, Json, Binary, Ping, Close, Raw };
    Q_ENUM(Mode)
    static constexpr int MaxHistory = 100;

    explicit SendBox(ConnectionHub *hub, QWidget *parent = nullptr);
    // Writes the history if a send has not yet.
    ~SendBox() override;

    // Where a send goes: endpoint ids, and how to call them.
    void setTargets(const QList<quint32> &ids, const QString &description);
    QList<quint32> targets() const { return m_targets; }

    void setMode(Mode mode);
    Mode mode() const;

    // Sends what the box holds to every target; false (and says why) if nothing went.
    bool send();
    // The payload the current mode would send, or nullopt and why not.
    std::optional<QByteArray> payload(QString *error = nullptr) const;
    std::optional<RawFrame> rawFrame(QString *error = nullptr) const;
    std::optional<quint16> closeCode(bool *ok = nullptr) const;

    // Binary mode: the bytes of a file (shown as hex when small enough).
    bool loadBinaryFile(const QString &path, QString *error = nullptr);

    void saveSnippet(const QString &name);
    bool loadSnippet(const QString &name);
    void deleteSnippet(const QString &name);
    QStringList snippetNames() const;

    QStringList history() const;

    // The widgets, for the window and for tests.
    SendEditor *editor() const { return m_editor; }
    QComboBox *modeCombo() const { return m_mode; }
    QLabel *indicator() const { return m_indicator; }
    QLabel *statusLabel() const { return m_status; }
    QLabel *targetLabel() const { return m_target; }
    QPushButton *sendButton() const { return m_send; }
    QCheckBox *fragmentCheck() const { return m_fragment; }
    QSpinBox *fragmentSizeSpin() const { return m_fragmentSize; }
    QComboBox *closeCodeCombo() const { return m_closeCode; }
    QLineEdit *closeReasonEdit() const { return m_closeReason; }
    QCheckBox *finCheck() const { return m_fin; }
    QCheckBox *rsvCheck(int bit) const { return m_rsv[bit - 1]; }
    QSpinBox *opcodeSpin() const { return m_opcode; }
    QCheckBox *maskCheck() const { return m_mask; }
    QLineEdit *maskingKeyEdit() const { return m_maskingKey; }
    QComboBox *rawPayloadFormatCombo() const { return m_rawFormat; }
    QComboBox *snippetCombo() const { return m_snippets; }

    // Is the indicator showing "valid" (green)?
    bool isInputValid() const { return m_valid; }

signals:
    // Something went out (to `count` targets).
    void sent(int count);
    void statusMessage(const QString &message);

private:
    void buildModePages();
    void updateIndicator();
    void updateModeWidgets();
    void historyBack();
    void historyForward();
    void remember();
    void setIndicator(bool valid, const QString &text);
    void reportStatus(const QString &text, bool error);
    void loadSettings();
    void saveHistory();
    void refreshSnippets();

    ConnectionHub *m_hub;
    QList<quint32> m_targets;

    QComboBox *m_mode;
    QLabel *m_indicator;
    QComboBox *m_snippets;
    QStackedWidget *m_pages;
    SendEditor *m_editor;
    QLabel *m_target;
    QLabel *m_status;
    QPushButton *m_send;

    QCheckBox *m_fragment = nullptr;
    QSpinBox *m_fragmentSize = nullptr;
    QPushButton *m_loadFile = nullptr;
    QLabel *m_fileLabel = nullptr;
    QPushButton *m_clearFile = nullptr;
    QComboBox *m_closeCode = nullptr;
    QLineEdit *m_closeReason = nullptr;
    QCheckBox *m_fin = nullptr;
    QCheckBox *m_rsv[3] = {nullptr, nullptr, nullptr};
    QSpinBox *m_opcode = nullptr;
    QLabel *m_opcodeName = nullptr;
    QCheckBox *m_mask = nullptr;
    QLineEdit *m_maskingKey = nullptr;
    QComboBox *m_rawFormat = nullptr;
    QComboBox *m_lengthEncoding = nullptr;
    QCheckBox *m_declareLength = nullptr;
    QSpinBox *m_declaredLength = nullptr;

    // History is written a while after a send, not in it: writing settings syncs a
    // file to disk (milliseconds), and the round trip of a ping just sent would
    // include them, the pong waiting for the event loop.
    QTimer *m_saveHistoryTimer = nullptr;
    QByteArray m_fileBytes; // a loaded file too big to show as hex
    QString m_fileName;
    bool m_valid = true;

    struct HistoryEntry {
        Mode mode;
        QString text;
    };
    QList<HistoryEntry> m_history;
    qsizetype m_historyIndex = 0; // == size(): not walking the history
    QString m_draft;
    Mode m_draftMode = Mode::Text;
};

} // namespace ws

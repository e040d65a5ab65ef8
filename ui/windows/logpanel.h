#pragma once

#include "log/logstore.h"
#include "widgets/displayfilteredit.h"

#include <QWidget>

#include <functional>

class QAction;
class QActionGroup;
class QMenu;
class QToolBar;
class QToolButton;

namespace ws {

class LogFilterProxy;
class MessageLogModel;
class MessageLogView;

// The message log with its toolbar: messages or frames, direction and kind
// filters, a display filter (see log::DisplayFilter), autoscroll, clear, and the file
// actions (save, open, HAR export and import: the window carries them out). The
// context menu copies a payload as text, hex or base64, resends it, or saves it. On
// a relayed pair's leg, Resend becomes "Resend to client" and "Resend to server":
// either side of the pair, whichever leg the row was logged on.
class LogPanel : public QWidget {
    Q_OBJECT
public:
    explicit LogPanel(MessageLogModel *model, QWidget *parent = nullptr);

    MessageLogModel *model() const { return m_model; }
    LogFilterProxy *proxy() const { return m_proxy; }
    MessageLogView *view() const { return m_view; }
    QToolBar *toolBar() const { return m_toolBar; }
    DisplayFilterEdit *filterEdit() const { return m_filter; }

    QAction *messagesAction() const { return m_messages; }
    QAction *framesAction() const { return m_frames; }
    QAction *followAction() const { return m_follow; }
    QAction *clearAction() const { return m_clear; }
    QAction *saveAction() const { return m_save; }
    QAction *openAction() const { return m_open; }
    QAction *exportHarAction() const { return m_exportHar; }
    QAction *importHarAction() const { return m_importHar; }
    QAction *directionAction(int direction) const; // a LogFilterProxy::DirectionFlag
    QAction *kindAction(log::LogKind kind) const;

    // The payload actions of the context menu, on the current row.
    QAction *copyTextAction() const { return m_copyText; }
    QAction *copyHexAction() const { return m_copyHex; }
    QAction *copyBase64Action() const { return m_copyBase64; }
    QAction *resendAction() const { return m_resend; }
    // Rows of a relayed pair's legs only (the other rows have Resend).
    QAction *resendToClientAction() const { return m_resendToClient; }
    QAction *resendToServerAction() const { return m_resendToServer; }
    QAction *savePayloadAction() const { return m_savePayload; }
    QAction *setTimeReferenceAction() const { return m_setTimeReference; }
    // The time column's formats (the header's context menu).
    QMenu *timeFormatMenu() const { return m_timeMenu; }

    // The store indices of the selected rows, in order.
    QList<qsizetype> selectedStoreIndices() const;
    bool savePayload(qsizetype storeIndex, const QString &path, QString *error = nullptr) const;

    // Whether a row holds a whole message's payload as its peer sent it, so that it
    // can be sent again: a text or binary message (a frame row only when it is the
    // whole message, uncompressed) or a ping.
    static bool carriesWholePayload(const log::LogRecord &record);
    // Why store record `storeIndex` cannot go to leg `to` of its relayed pair now (the
    // pair has ended, that leg is closed); empty when it can. The window, which knows
    // the pairs, sets it; without it no relayed row can be resent.
    using RelayResendCheck = std::function<QString(qsizetype storeIndex, log::Leg to)>;
    void setRelayResendCheck(RelayResendCheck check);
    // Brings the payload actions up to date with the current row (the context menu
    // does so before it opens).
    void updatePayloadActions();

signals:
    void currentRecordChanged(qsizetype storeIndex);
    void resendRequested(qsizetype storeIndex);
    // Send a relayed row again, on leg `to` of its pair.
    void resendToLegRequested(qsizetype storeIndex, ws::log::Leg to);
    void statusMessage(const QString &message);

private:
    enum class CopyFormat { Text, Hex, Base64 };
    void copyPayloads(CopyFormat format) const;
    void updateFilterStatus();
    void applyDirectionFilter();
    void applyKindFilter();
    void setUpTimeColumn();
    void fitTimeColumn();

    MessageLogModel *m_model;
    LogFilterProxy *m_proxy;
    MessageLogView *m_view;
    QToolBar *m_toolBar;
    DisplayFilterEdit *m_filter;
    QAction *m_messages;
    QAction *m_frames;
    QAction *m_follow;
    QAction *m_clear;
    QAction *m_save;
    QAction *m_open;
    QAction *m_exportHar;
    QAction *m_importHar;
    QList<QAction *> m_directionActions;
    QList<QAction *> m_kindActions;
    QAction *m_copyText;
    QAction *m_copyHex;
    QAction *m_copyBase64;
    QAction *m_resend;
    QAction *m_resendToClient;
    QAction *m_resendToServer;
    RelayResendCheck m_relayResendCheck;
    QAction *m_savePayload;
    QAction *m_setTimeReference = nullptr;
    QMenu *m_timeMenu = nullptr;
    QMenu *m_contextMenu;
};

} // namespace ws

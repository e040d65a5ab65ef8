#pragma once

#include "relay/relay.h"

#include <QWidget>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTabWidget;
class QTableView;
class QTimer;
class QToolButton;
class QTreeView;

namespace ws {

class ConnectionHub;
class ConnectionsModel;
class DisplayFilterEdit;
class HeldMessagesModel;

// The Relay dock: a reverse relay (core/relay) run from the window. Listen address
// (127.0.0.1 unless another is typed, with a warning) and port, the upstream's
// ws:// or wss:// URL, permessage-deflate per leg, the upstream's TLS trust as a
// client's (an extra CA file, or exactly one certificate by its SHA-256
// fingerprint); Start/Stop, and why a start failed, in the panel itself. Every
// relayed client is a pair in the Connections tree with its client and server legs
// below it, each leg a connection of the log (`leg == server` in the display
// filter); the panel lists the relay's pairs and what the relay reported. Stopping
// closes every pair with 1001 on both legs. The settings persist (QSettings).
//
// The Intercept tab holds client→server and/or server→client messages (all, or
// those a display filter rule takes, in the log's language) in an intercept list:
// each can be released as it came, edited (text or hex) and released, or dropped;
// the tab says how much is held and when a leg is not read because of back-pressure.
// The Inject & faults tab puts a message, ping or close on either leg of a pair,
// stages latency (± jitter), a throttle and a drop rate per direction, and cuts a
// leg with a close or a TCP reset.
class RelayPanel : public QWidget {
    Q_OBJECT
public:
    explicit RelayPanel(ConnectionHub *hub, QWidget *parent = nullptr);
    ~RelayPanel() override;

    // The options the form describes; with an unusable field, the reason is in
    // `error` (and the options are not to be used).
    RelayOptions options(QString *error = nullptr) const;
    // Starts with the form's options; false with the reason shown in the panel.
    bool start();
    void stop();
    bool isRunning() const;
    quint32 relayId() const { return m_relayId; }
    quint16 boundPort() const; // 0 when not running
    // "ws://127.0.0.1:9002/" while running, else empty.
    QString listeningUrl() const;

    void saveSettings() const;

    // The widgets, for tests.
    QLineEdit *addressEdit() const { return m_address; }
    QSpinBox *portSpin() const { return m_port; }
    QLabel *addressWarning() const { return m_addressWarning; }
    QLineEdit *targetEdit() const { return m_target; }
    QCheckBox *clientDeflateCheck() const { return m_clientDeflate; }
    QCheckBox *serverDeflateCheck() const { return m_serverDeflate; }
    QLineEdit *caFileEdit() const { return m_caFile; }
    QLineEdit *fingerprintEdit() const { return m_fingerprint; }
    QPushButton *startButton() const { return m_start; }
    QLabel *statusLabel() const { return m_status; }
    // Why the relay did not start, or why its last pair failed; hidden when nothing is wrong.
    QLabel *errorLabel() const { return m_error; }
    // The relay's pairs with their legs: a view over the connection tree rooted at
    // the relay's node.
    QTreeView *pairList() const { return m_pairs; }
    QPlainTextEdit *relayLog() const { return m_log; }
    QTabWidget *tabs() const { return m_tabs; }

    // Intercept.
    QCheckBox *holdUpCheck() const { return m_holdUp; }
    QCheckBox *holdDownCheck() const { return m_holdDown; }
    DisplayFilterEdit *ruleEdit() const { return m_rule; }
    QCheckBox *holdControlCheck() const { return m_holdControl; }
    QLabel *heldStatus() const { return m_heldStatus; }
    QLabel *pausedStatus() const { return m_pausedStatus; }
    QTableView *heldList() const { return m_held; }
    HeldMessagesModel *heldModel() const { return m_heldModel; }
    QComboBox *editFormatCombo() const { return m_editFormat; }
    QPlainTextEdit *payloadEditor() const { return m_editor; }
    QPushButton *releaseButton() const { return m_release; }
    QPushButton *releaseEditedButton() const { return m_releaseEdited; }
    QPushButton *dropButton() const { return m_drop; }
    QPushButton *releaseAllButton() const { return m_releaseAll; }
    QPushButton *dropAllButton() const { return m_dropAll; }
    // The held message selected in the list (its id in the relay), or 0.
    quint64 selectedHeld() const;
    void selectHeld(quint64 id);

    // Inject, faults, cut.
    QLabel *targetPairLabel() const { return m_targetPair; }
    QComboBox *injectDirectionCombo() const { return m_injectDirection; }
    QComboBox *injectKindCombo() const { return m_injectKind; }
    QLineEdit *injectPayloadEdit() const { return m_injectPayload; }
    QSpinBox *injectCodeSpin() const { return m_injectCode; }
    QPushButton *injectButton() const { return m_inject; }
    QComboBox *faultDirectionCombo() const { return m_faultDirection; }
    QSpinBox *latencySpin() const { return m_latency; }
    QSpinBox *jitterSpin() const { return m_jitter; }
    QSpinBox *throttleSpin() const { return m_throttle; }
    QDoubleSpinBox *dropRateSpin() const { return m_dropRate; }
    QPushButton *applyFaultsButton() const { return m_applyFaults; }
    QLabel *faultsSummary() const { return m_faultsSummary; }
    QComboBox *cutLegCombo() const { return m_cutLeg; }
    QPushButton *cutCloseButton() const { return m_cutClose; }
    QPushButton *cutResetButton() const { return m_cutReset; }
    // What the last inject, fault or cut did (or why it did not).
    QLabel *actionResult() const { return m_actionResult; }

    // The pair injections and cuts go to: the one selected in the list (a leg
    // selects its pair), else the newest live pair; 0 when there is none.
    quint32 targetPair() const;

    // The selected pair's endpoint id (a leg selects its pair), or 0.
    quint32 selectedPair() const;

signals:
    void started(quint32 relayId);
    void stopped(quint32 relayId);
    void statusMessage(const QString &message);
    // The user picked a pair or a leg in the panel's list: the window scopes to it.
    void endpointActivated(quint32 id);

private:
    void loadSettings();
    void updateForm();
    void showError(const QString &message);
    void rootPairList();
    QWidget *createInterceptPage();
    QWidget *createInjectPage();
    Relay *runningRelay() const;
    // Sends the hold toggles and the rule to the relay.
    void applyIntercept();
    void updateHeldStatus();
    void updatePausedStatus();
    void updateHeldActions();
    // The selected held message's payload into the editor, as text or hex.
    void loadEditor();
    void injectNow();
    void applyFaults();
    void cutLeg(bool reset);
    void updateFaultsSummary();
    void updateTargetPair();
    void reportAction(bool ok, const QString &text);

    ConnectionHub *m_hub;
    ConnectionsModel *m_model;
    quint32 m_relayId = 0;
    bool m_stopping = false;

    QLineEdit *m_address;
    QSpinBox *m_port;
    QLabel *m_addressWarning;
    QLineEdit *m_target;
    QCheckBox *m_clientDeflate;
    QCheckBox *m_serverDeflate;
    QLineEdit *m_caFile;
    QToolButton *m_caBrowse;
    QLineEdit *m_fingerprint;
    QPushButton *m_start;
    QLabel *m_status;
    QLabel *m_error;
    QTreeView *m_pairs;
    QPlainTextEdit *m_log;
    QTabWidget *m_tabs;

    QCheckBox *m_holdUp;
    QCheckBox *m_holdDown;
    DisplayFilterEdit *m_rule;
    QCheckBox *m_holdControl;
    QLabel *m_heldStatus;
    QLabel *m_pausedStatus;
    HeldMessagesModel *m_heldModel;
    QTableView *m_held;
    QComboBox *m_editFormat;
    QPlainTextEdit *m_editor;
    QPushButton *m_release;
    QPushButton *m_releaseEdited;
    QPushButton *m_drop;
    QPushButton *m_releaseAll;
    QPushButton *m_dropAll;
    QTimer *m_pauseWatch;

    QLabel *m_targetPair;
    QComboBox *m_injectDirection;
    QComboBox *m_injectKind;
    QLineEdit *m_injectPayload;
    QSpinBox *m_injectCode;
    QPushButton *m_inject;
    QComboBox *m_faultDirection;
    QSpinBox *m_latency;
    QSpinBox *m_jitter;
    QSpinBox *m_throttle;
    QDoubleSpinBox *m_dropRate;
    QPushButton *m_applyFaults;
    QLabel *m_faultsSummary;
    QComboBox *m_cutLeg;
    QPushButton *m_cutClose;
    QPushButton *m_cutReset;
    QLabel *m_actionResult;
};

} // namespace ws

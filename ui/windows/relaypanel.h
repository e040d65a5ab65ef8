#pragma once

#include "relay/relay.h"
#include "relay/relayproxy.h"
#include "widgets/trustfieldsedit.h"

#include <QPointer>
#include <QWidget>

#include <optional>

class QCheckBox;
class QDialog;
class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QLayout;
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
class ListeningTlsEdit;
class RelayFaultsEdit;

// The Relay dock: a reverse relay (core/relay) run from the window. Listen address
// (127.0.0.1 unless another is typed, with a warning) and port, ws:// or wss:// for the
// clients (the generated localhost certificate of `wsw relay --tls`, or the user's,
// with its fingerprint), the upstream's ws:// or wss:// URL, permessage-deflate per
// leg, the upstream's TLS trust as a client's (an extra CA file, or exactly one
// certificate by its SHA-256 fingerprint); Start/Stop, and why a start failed, in the
// panel itself. Every relayed client is a pair in the Connections tree with its client
// and server legs below it, each leg a connection of the log (`leg == server` in the
// display filter); the panel lists the relay's pairs and what the relay reported.
// Stopping closes every pair with 1001 on both legs. The settings persist (QSettings).
//
// In proxy mode the relay is an HTTP proxy (RelayProxy, what `wsw relay --proxy`
// runs) that a browser or an application is pointed at: there is no target, each
// WebSocket through it becomes a pair to where its client asked, and TLS in a
// CONNECT tunnel is terminated with certificates of the local certificate authority
// (its directory in the form; hosts listed as blind are tunnelled undecoded). While
// it runs the panel shows the proxy URL and a Chromium command line; the
// "Certificate authority" dialog shows the authority's fingerprint and SPKI pin,
// exports its certificate and says how to make a browser trust it.
//
// The Intercept tab holds client→server and/or server→client messages (all, or
// those a display filter rule takes, in the log's language) in an intercept list:
// each can be released as it came, edited (text or hex) and released, or dropped;
// the tab says how much is held and when a leg is not read because of back-pressure.
// The Inject & faults tab puts a message, ping or close on either leg of a pair
// (or, loaded from a row of the log, sends a relayed message again to either side),
// stages latency (± jitter), a throttle and a drop rate per direction with the seed
// their draws come from (kept with the settings, said in the staged notes, so that
// `wsw relay --seed N` repeats a run), and cuts a leg with a close or a TCP reset.
class RelayPanel : public QWidget {
    Q_OBJECT
public:
    explicit RelayPanel(ConnectionHub *hub, QWidget *parent = nullptr);
    ~RelayPanel() override;

    // The options the form describes; with an unusable field, the reason is in
    // `error` (and the options are not to be used).
    RelayOptions options(QString *error = nullptr) const;
    // The proxy mode's options: options() plus the blind hosts and the CA directory.
    RelayProxyOptions proxyOptions(QString *error = nullptr) const;
    enum class Mode { Reverse, Proxy };
    Mode mode() const;
    void setMode(Mode mode);
    // Starts with the form's options; false with the reason shown in the panel.
    bool start();
    void stop();
    bool isRunning() const;
    quint32 relayId() const { return m_relayId; }
    quint16 boundPort() const; // 0 when not running
    // "ws://127.0.0.1:9002/" while running ("http://127.0.0.1:9002" for the proxy), else empty.
    QString listeningUrl() const;
    // The running proxy, else null.
    RelayProxy *runningProxy() const;

    // Opens the Certificate authority dialog (the running proxy's authority, else the
    // one in the form's directory, made when missing) and returns it; null with the
    // reason in the panel when the authority cannot be opened.
    QDialog *showCertificateAuthority();
    // The open dialog, or null.
    QDialog *certificateAuthorityDialog() const;
    // What the dialog's Export button does once a file is chosen.
    bool exportCertificateAuthorityTo(const QString &file, QString *error = nullptr);

    void saveSettings() const;

    // The widgets, for tests.
    QLineEdit *addressEdit() const { return m_address; }
    QSpinBox *portSpin() const { return m_port; }
    QLabel *addressWarning() const { return m_addressWarning; }
    QLineEdit *targetEdit() const { return m_target; }
    // TLS toward the clients (reverse mode; a proxy makes its own certificates).
    ListeningTlsEdit *listeningTlsEdit() const { return m_listeningTls; }
    QComboBox *modeCombo() const { return m_mode; }
    QLineEdit *blindHostsEdit() const { return m_blindHosts; }
    QLineEdit *caDirectoryEdit() const { return m_caDirectory; }
    QPushButton *certificateAuthorityButton() const { return m_caButton; }
    // While the proxy runs: its URL and a Chromium command line that uses it.
    QLabel *proxyHint() const { return m_proxyHint; }
    QCheckBox *clientDeflateCheck() const { return m_clientDeflate; }
    QCheckBox *serverDeflateCheck() const { return m_serverDeflate; }
    // Trust on the upstream leg.
    TrustFieldsEdit *trustFields() const { return m_trust; }
    QLineEdit *caFileEdit() const { return m_trust->caFileEdit(); }
    QLineEdit *fingerprintEdit() const { return m_trust->fingerprintEdit(); }
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
    QPushButton *loadFromLogButton() const { return m_loadFromLog; }
    // The faults for every pair (the dialog for one pair's own uses the same form).
    RelayFaultsEdit *faultsEdit() const { return m_faultsEdit; }
    QComboBox *faultDirectionCombo() const;
    QSpinBox *latencySpin() const;
    QSpinBox *jitterSpin() const;
    QSpinBox *throttleSpin() const;
    QDoubleSpinBox *dropRateSpin() const;
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

    // A logged message of pair `pairId` into the Inject form, going `to`: the pair is
    // selected, and Inject sends it again (Relay::resend) unless the kind or the
    // payload is changed first, which makes it a new message.
    void loadInject(quint32 pairId, RelayLegKind to, Opcode opcode, const QByteArray &payload);
    // Why "Load from selected log row" loaded nothing.
    void reportLoadFailure(const QString &why) { reportAction(false, why); }

signals:
    void started(quint32 relayId);
    void stopped(quint32 relayId);
    void statusMessage(const QString &message);
    // The user picked a pair or a leg in the panel's list: the window scopes to it.
    void endpointActivated(quint32 id);
    // "Load from selected log row": the window answers with loadInject().
    void loadFromLogRequested();

private:
    void loadSettings();
    void updateForm();
    void showError(const QString &message);
    void rootPairList();
    QWidget *createInterceptPage();
    QWidget *createInjectPage();
    Relay *runningRelay() const;
    // The authority the dialog shows: the running proxy's, else the form directory's.
    std::optional<CertificateAuthority> openAuthority(QString *error) const;
    void updateProxyHint();
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
    ListeningTlsEdit *m_listeningTls;
    QComboBox *m_mode;
    QLineEdit *m_blindHosts;
    QLineEdit *m_caDirectory;
    QToolButton *m_caDirectoryBrowse;
    QPushButton *m_caButton;
    QLabel *m_proxyHint;
    QPointer<QDialog> m_caDialog;
    QFormLayout *m_form = nullptr;
    QLayout *m_caDirectoryRow = nullptr;
    QCheckBox *m_clientDeflate;
    QCheckBox *m_serverDeflate;
    TrustFieldsEdit *m_trust;
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
    QPushButton *m_loadFromLog;
    // What loadInject() put in the form: sent unchanged to this pair, it is resent.
    struct LoadedRow {
        quint32 pair = 0;
        int kind = 0;
        QString text;       // as the form shows it
        QByteArray payload; // as logged: a ping's bytes need not be UTF-8
    };
    std::optional<LoadedRow> m_loaded;
    RelayFaultsEdit *m_faultsEdit;
    QPushButton *m_applyFaults;
    QLabel *m_faultsSummary;
    QComboBox *m_cutLeg;
    QPushButton *m_cutClose;
    QPushButton *m_cutReset;
    QLabel *m_actionResult;
};

} // namespace ws

#pragma once

#include "models/proberesultsmodel.h"
#include "probe/probecase.h"
#include "widgets/trustfieldsedit.h"

#include <QElapsedTimer>
#include <QPointer>
#include <QTimer>
#include <QWidget>

class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QSplitter;
class QTabWidget;
class QTableView;
class QTreeWidget;
class QTreeWidgetItem;

namespace ws {

namespace probe {
class FuzzingServer;
class ProbeRunner;
struct RunOptions;
} // namespace probe

class ConnectionHub;
class ProbeComparisonModel;
class ServerPanel;

// The Probe dock: the conformance catalogue of `wsw probe` from the window. The
// target is a URL, the server the window hosts (the server panel's), or the clients
// that connect to a port of ours (`wsw serve --mode probe`: results per agent as the
// clients run cases). Cases are chosen by category in a checkable tree (with counts)
// and narrowed by patterns in the command line's --cases/--exclude syntax. Run and
// Stop, with a progress bar, the count and the elapsed time; the runner is driven by
// events on this thread, so the window keeps answering. The results are a sortable
// table coloured by verdict, filtered by verdict and text, with counts per verdict; a
// double-click puts the case's frames into the window's log as a connection
// ("probe 6.4.1") and selects the first frame. Every run is kept; reports are saved
// and opened in the command line's --report format; two runs are compared case by
// case. The form is remembered (QSettings).
class ProbePanel : public QWidget {
    Q_OBJECT
public:
    enum class TargetKind { Url, HostedServer, Clients };

    // `server` is the window's server panel ("my hosted server"; null: not offered).
    ProbePanel(ConnectionHub *hub, ServerPanel *server, QWidget *parent = nullptr);
    ~ProbePanel() override;

    // The cases the tree and the patterns select, in catalogue order.
    QList<probe::ProbeCase> selectedCases() const;
    // Checks exactly the categories whose patterns ("1.*", "6.4.*") are given.
    void setCheckedCategories(const QStringList &patterns);
    QStringList checkedCategories() const;

    // Starts a run with the form; false with the reason in the status line.
    bool run();
    // Ends the case in progress and runs no more (the cut case is not a result).
    void stop();
    bool isRunning() const;
    // Run options shared by every case (tests shorten the waits).
    void setWaitScale(double scale) { m_waitScale = scale; }
    // The port the clients' mode listens on, once it runs.
    quint16 clientsPort() const;

    const QList<ProbeRun> &runs() const { return m_runs; }
    // The run the table shows (-1: none).
    int shownRun() const { return m_shown; }
    void showRun(int index);
    // Opens a report directory (index.json and per-case JSON) as runs, one per agent.
    bool openReport(const QString &directory, QString *error = nullptr);
    // Writes the shown run as `wsw probe --report` does.
    bool saveReport(const QString &directory, QString *error = nullptr);
    // Compares two runs into comparisonModel() and shows the Compare tab.
    void compareRuns(int oldIndex, int newIndex);
    // Puts the frames of the shown run's case at `sourceRow` (a row of resultsModel())
    // into the window's log; returns the new connection's id, 0 when the case has no
    // frames (or its log file cannot be read, with the reason in `error`).
    quint32 showCaseInLog(int sourceRow, QString *error = nullptr);

    void saveSettings() const;

    // The widgets and models, for tests.
    QComboBox *targetCombo() const { return m_targetKind; }
    QLineEdit *urlEdit() const { return m_url; }
    QSpinBox *clientsPortSpin() const { return m_clientsPort; }
    TrustFieldsEdit *trustFields() const { return m_trust; }
    QLineEdit *caFileEdit() const { return m_trust->caFileEdit(); }
    QLineEdit *fingerprintEdit() const { return m_trust->fingerprintEdit(); }
    QTreeWidget *categoryTree() const { return m_categories; }
    QLineEdit *casesEdit() const { return m_cases; }
    QLineEdit *excludeEdit() const { return m_exclude; }
    QLabel *selectionLabel() const { return m_selection; }
    QPushButton *runButton() const { return m_run; }
    QPushButton *stopButton() const { return m_stop; }
    QProgressBar *progressBar() const { return m_progress; }
    QLabel *progressLabel() const { return m_progressText; }
    QTabWidget *tabs() const { return m_tabs; }
    QComboBox *runCombo() const { return m_runCombo; }
    QComboBox *verdictCombo() const { return m_verdict; }
    QLineEdit *filterEdit() const { return m_filter; }
    QTableView *resultsView() const { return m_view; }
    ProbeResultsModel *resultsModel() const { return m_model; }
    ProbeResultsProxy *resultsProxy() const { return m_proxy; }
    QLabel *summaryLabel() const { return m_summary; }
    QComboBox *compareOldCombo() const { return m_compareOld; }
    QComboBox *compareNewCombo() const { return m_compareNew; }
    QTableView *comparisonView() const { return m_comparisonView; }
    ProbeComparisonModel *comparisonModel() const { return m_comparison; }
    QLabel *comparisonLabel() const { return m_comparisonSummary; }
    QPushButton *openReportButton() const { return m_openReport; }
    QPushButton *saveReportButton() const { return m_saveReport; }

signals:
    void runStarted();
    void runFinished();
    // A case's frames were put into the log: connection `connectionId`, the first
    // frame at store index `storeIndex`.
    void caseShown(quint32 connectionId, qsizetype storeIndex);
    void statusMessage(const QString &message);

private:
    void buildCategoryTree();
    void loadSettings();
    void updateForm();
    void updateSelectionCount();
    void updateProgress();
    void updateSummary();
    void updateRunCombos();
    void onCaseStarted(qsizetype index, const QString &id);
    void onCaseFinished(const probe::CaseResult &result);
    void onClientCase(const QString &agent, const probe::CaseResult &result);
    void onRunFinished();
    void flushResults();
    void applyVerdictFilter();
    int addRun(ProbeRun run);
    // The hosted server's URL; for wss the SHA-256 of its certificate in
    // `fingerprint`, which the probe accepts (the window made it and trusts it).
    QString hostedServerUrl(QString *error, QByteArray *fingerprint) const;
    // The form's trust for a wss URL; false with the reason in `error`.
    bool readTrust(probe::RunOptions &options, QString *error) const;
    void setStatus(const QString &text);

    ConnectionHub *m_hub;
    QPointer<ServerPanel> m_server;
    QList<probe::ProbeCase> m_catalogue;
    double m_waitScale = 0.1; // as wsw probe's default: Autobahn's 1 s waits are 100 ms

    QComboBox *m_targetKind;
    QLineEdit *m_url;
    QSpinBox *m_clientsPort;
    TrustFieldsEdit *m_trust;
    QFormLayout *m_form = nullptr;
    QLabel *m_targetNote;
    QTreeWidget *m_categories;
    QLineEdit *m_cases;
    QLineEdit *m_exclude;
    QLabel *m_selection;
    QPushButton *m_run;
    QPushButton *m_stop;
    QProgressBar *m_progress;
    QLabel *m_progressText;
    QLabel *m_status;
    QSplitter *m_splitter;
    QTabWidget *m_tabs;
    QComboBox *m_runCombo;
    QComboBox *m_verdict;
    QLineEdit *m_filter;
    QPushButton *m_openReport;
    QPushButton *m_saveReport;
    QTableView *m_view;
    ProbeResultsModel *m_model;
    ProbeResultsProxy *m_proxy;
    QLabel *m_summary;
    QComboBox *m_compareOld;
    QComboBox *m_compareNew;
    QTableView *m_comparisonView;
    ProbeComparisonModel *m_comparison;
    QLabel *m_comparisonSummary;

    QList<ProbeRun> m_runs;
    int m_shown = -1;
    // The run in progress: its index in m_runs, its runner or fuzzing server.
    int m_live = -1;
    QPointer<probe::ProbeRunner> m_runner;
    QPointer<probe::FuzzingServer> m_clientsServer;
    qsizetype m_total = 0;
    QString m_currentCase;
    bool m_stopping = false;
    // The first case could not connect: why, for the status line.
    QString m_unreachable;
    QElapsedTimer m_elapsed;
    QTimer m_tick;
    // Clients' mode: agents seen since this listening began get runs of their own.
    QDateTime m_clientsStarted;
    bool m_building = false;
};

} // namespace ws

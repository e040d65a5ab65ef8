// The Probe dock: categories and patterns, runs against our own server (conforming,
// and one that answers pings with the wrong pong), colours and filters, the frames of a
// case in the log and the inspector, reports saved and read back, two runs compared,
// settings kept, Stop, clients that run cases against us, and the dock in the window.

#include "../net/nettesthelpers.h"
#include "guitesthelpers.h"

#include "connections/connectionhub.h"
#include "log/logrecord.h"
#include "models/probecomparisonmodel.h"
#include "models/proberesultsmodel.h"
#include "net/server.h"
#include "net/tlscertificate.h"
#include "probe/catalogue.h"
#include "probe/probereport.h"
#include "widgets/frameinspector.h"
#include "widgets/messagelogview.h"
#include "windows/connectionspanel.h"
#include "windows/logpanel.h"
#include "windows/probepanel.h"

#include <QAction>
#include <QDockWidget>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QProcess>
#include <QProgressBar>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTreeWidget>

#include <memory>

using namespace ws;
using namespace wstest;

namespace {

// A whole selected run ends well within this (27 cases take a fraction of a second).
constexpr int RunTimeout = 60'000;

// A hub with its log, a server panel and the probe, as the window has them.
struct Fixture {
    Fixture()
        : hub(&log)
        , server(&hub)
        , probe(std::make_unique<ProbePanel>(&hub, &server)) {
        probe->resize(1200, 500);
        probe->show();
    }
    MessageLogModel log;
    ConnectionHub hub;
    ServerPanel server;
    std::unique_ptr<ProbePanel> probe;
};

// Our echo server on 127.0.0.1, well-behaved unless `misbehaviour` says otherwise.
std::unique_ptr<Server> startServer(const Misbehaviour &misbehaviour = {}) {
    ServerOptions options = localOptions();
    options.misbehaviour = misbehaviour;
    auto server = std::make_unique<Server>(options);
    if (!server->listen())
        return nullptr;
    return server;
}

// Answers every ping with a pong whose payload is not the ping's (RFC 6455 §5.5.3
// wants it echoed): the 2.* cases must fail.
Misbehaviour wrongPongs() {
    Misbehaviour m;
    m.pong = Misbehaviour::PongStyle::Wrong;
    return m;
}

// Our echo server on 127.0.0.1 over TLS with a fresh self-signed certificate (trusted
// by nobody): its options, and the certificate.
struct WssServer {
    CertificateAndKey identity;
    ServerOptions options;
};

std::optional<WssServer> selfSignedWss() {
    const std::optional<CertificateAndKey> identity = generateCertificate({});
    if (!identity)
        return std::nullopt;
    WssServer wss{*identity, localOptions()};
    wss.options.tlsCertificate = identity->certificate;
    wss.options.tlsKey = identity->key;
    return wss;
}

QString urlOf(const Server &server) {
    return QStringLiteral("ws://127.0.0.1:%1/").arg(server.port());
}

// Runs the panel's selection against `url` to the end.
bool runTo(ProbePanel &probe, const QString &url, const QStringList &categories) {
    probe.targetCombo()->setCurrentIndex(
        probe.targetCombo()->findData(int(ProbePanel::TargetKind::Url)));
    probe.urlEdit()->setText(url);
    probe.setCheckedCategories(categories);
    QSignalSpy finished(&probe, &ProbePanel::runFinished);
    QTest::mouseClick(probe.runButton(), Qt::LeftButton);
    if (!probe.isRunning())
        return false;
    // A real event loop: QTest::qWaitFor sleeps between rounds, which would add its
    // sleeps to every round trip of every case.
    return finished.wait(RunTimeout);
}

int catalogueCount(const QStringList &patterns) {
    return int(probe::selectCases(probe::serverCatalogue(), patterns, {}).size());
}

// The view row of case `id`, or -1.
int viewRow(const ProbePanel &probe, const QString &id) {
    const ProbeResultsProxy *proxy = probe.resultsProxy();
    for (int row = 0; row < proxy->rowCount(); ++row) {
        if (proxy->index(row, ProbeResultsModel::IdColumn).data().toString() == id)
            return row;
    }
    return -1;
}

void doubleClickRow(QTableView *view, int row) {
    const QRect rect = view->visualRect(view->model()->index(row, ProbeResultsModel::IdColumn));
    QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, rect.center());
    QTest::mouseDClick(view->viewport(), Qt::LeftButton, {}, rect.center());
}

} // namespace

class tst_ProbePanel : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void categoriesAndPatterns();
    void conformingServerPasses();
    void nonConformingServerFailsInRed();
    void doubleClickPutsFramesInTheLog();
    void comparesTwoRuns();
    void reportSavedAndOpened();
    void settingsPersist();
    void stopEndsTheRun();
    void unreachableTargetStopsAtOnce();
    void clientsThatConnect();
    void windowHostedServer();
    void wssTargetWithTrust();
    void hostedWssServer();
    void smallWindowKeepsItsSize();

private:
    QTemporaryDir m_settingsDir;
};

void tst_ProbePanel::initTestCase() {
    QVERIFY(m_settingsDir.isValid());
    QVERIFY(setUpWindowTests(m_settingsDir.path(), QStringLiteral("tst_probepanel")));
}

void tst_ProbePanel::init() {
    QSettings().clear();
}

void tst_ProbePanel::categoriesAndPatterns() {
    Fixture f;
    ProbePanel &probe = *f.probe;
    const QList<probe::ProbeCase> catalogue = probe::serverCatalogue();
    // Every category checked at first: the whole catalogue, as `wsw probe` without --cases.
    QCOMPARE(probe.selectedCases().size(), catalogue.size());
    QTreeWidget *tree = probe.categoryTree();
    int total = 0;
    QTreeWidgetItem *framing = nullptr;
    QTreeWidgetItem *utf8 = nullptr;
    for (int i = 0; i < tree->topLevelItemCount(); ++i) {
        QTreeWidgetItem *item = tree->topLevelItem(i);
        total += item->text(1).toInt();
        if (item->text(0) == QLatin1String("1 Framing"))
            framing = item;
        if (item->text(0) == QLatin1String("6 UTF-8 handling"))
            utf8 = item;
    }
    QCOMPARE(total, int(catalogue.size()));
    QVERIFY(framing);
    QVERIFY(utf8);
    QCOMPARE(framing->text(1).toInt(), catalogueCount({QStringLiteral("1.*")}));
    QCOMPARE(framing->childCount(), 2); // 1.1 text, 1.2 binary
    // Unchecking a category leaves its cases out.
    utf8->setCheckState(0, Qt::Unchecked);
    QCOMPARE(probe.selectedCases().size(),
             catalogue.size() - catalogueCount({QStringLiteral("6.*")}));
    QVERIFY(!probe.checkedCategories().contains(QStringLiteral("6.*")));
    QVERIFY(probe.checkedCategories().contains(QStringLiteral("1.*")));

    // One group of a category; the patterns of --cases and --exclude narrow it further.
    probe.setCheckedCategories({QStringLiteral("1.*"), QStringLiteral("6.4.*")});
    QCOMPARE(utf8->checkState(0), Qt::PartiallyChecked);
    QCOMPARE(probe.selectedCases().size(),
             catalogueCount({QStringLiteral("1.*"), QStringLiteral("6.4.*")}));
    probe.casesEdit()->setText(QStringLiteral("1.1.*, 6.*"));
    probe.excludeEdit()->setText(QStringLiteral("1.1.2"));
    QStringList ids;
    for (const probe::ProbeCase &c : probe.selectedCases())
        ids.append(c.id);
    QStringList expected;
    for (const probe::ProbeCase &c :
         probe::selectCases(catalogue, {QStringLiteral("1.1.*"), QStringLiteral("6.4.*")},
                            {QStringLiteral("1.1.2")}))
        expected.append(c.id);
    QCOMPARE(ids, expected);
    QVERIFY(probe.selectionLabel()->text().startsWith(QString::number(expected.size())));
    // Nothing selected: nothing to run.
    probe.casesEdit()->setText(QStringLiteral("42.*"));
    QVERIFY(!probe.runButton()->isEnabled());
}

void tst_ProbePanel::conformingServerPasses() {
    Fixture f;
    ProbePanel &probe = *f.probe;
    const auto server = startServer();
    QVERIFY(server);
    QSignalSpy finished(&probe, &ProbePanel::runFinished);
    QVERIFY(runTo(probe, urlOf(*server), {QStringLiteral("1.*"), QStringLiteral("2.*")}));
    QCOMPARE(finished.size(), 1);
    const int expected = catalogueCount({QStringLiteral("1.*"), QStringLiteral("2.*")});
    QCOMPARE(probe.resultsModel()->rowCount(), expected);
    QCOMPARE(probe.resultsModel()->failureCount(), 0);
    QCOMPARE(probe.resultsModel()->behaviorCounts().value(probe::Verdict::Ok), expected);
    QCOMPARE(probe.progressBar()->value(), probe.progressBar()->maximum());
    QCOMPARE(probe.progressBar()->maximum(), expected);
    QVERIFY2(
        probe.progressLabel()->text().startsWith(QStringLiteral("%1 / %1 cases").arg(expected)),
        qPrintable(probe.progressLabel()->text()));
    QVERIFY(probe.summaryLabel()->text().contains(QStringLiteral("OK %1").arg(expected)));
    // Sorted in Autobahn's order; green verdicts.
    const ProbeResultsProxy *proxy = probe.resultsProxy();
    QCOMPARE(proxy->index(0, ProbeResultsModel::IdColumn).data().toString(),
             QStringLiteral("1.1.1"));
    QCOMPARE(proxy->index(expected - 1, ProbeResultsModel::IdColumn).data().toString(),
             QStringLiteral("2.11"));
    QCOMPARE(proxy->index(0, ProbeResultsModel::BehaviorColumn).data(Qt::BackgroundRole),
             QVariant(verdictBackground(probe::Verdict::Ok)));
    // The failures filter leaves nothing.
    probe.verdictCombo()->setCurrentIndex(
        probe.verdictCombo()->findText(QStringLiteral("Failures")));
    QCOMPARE(proxy->rowCount(), 0);
    // Sorting by duration, then back by id (6.10 after 6.9 is caseIdLess's business).
    probe.verdictCombo()->setCurrentIndex(0);
    probe.resultsView()->sortByColumn(ProbeResultsModel::DurationColumn, Qt::DescendingOrder);
    QVERIFY(proxy->index(0, ProbeResultsModel::DurationColumn)
                .data(ProbeResultsModel::SortRole)
                .toLongLong() >= proxy->index(expected - 1, ProbeResultsModel::DurationColumn)
                                     .data(ProbeResultsModel::SortRole)
                                     .toLongLong());
}

void tst_ProbePanel::nonConformingServerFailsInRed() {
    Fixture f;
    ProbePanel &probe = *f.probe;
    const auto server = startServer(wrongPongs());
    QVERIFY(server);
    QVERIFY(runTo(probe, urlOf(*server), {QStringLiteral("1.*"), QStringLiteral("2.*")}));
    const ProbeResultsModel *model = probe.resultsModel();
    const int failures = model->failureCount();
    QVERIFY2(failures > 0, "a server with wrong pongs must fail cases");
    // Framing does not ping: 1.* still passes; what fails is a ping case.
    const QColor red = verdictBackground(probe::Verdict::Failed);
    int redRows = 0;
    for (int row = 0; row < model->rowCount(); ++row) {
        const probe::CaseResult &r = model->result(row);
        if (r.id.startsWith(QLatin1String("1.")))
            QVERIFY2(!r.isFailure(), qPrintable(r.id));
        if (r.behavior == probe::Verdict::Failed) {
            QVERIFY(r.id.startsWith(QLatin1String("2.")));
            QCOMPARE(model->index(row, ProbeResultsModel::BehaviorColumn).data(Qt::BackgroundRole),
                     QVariant(red));
            QCOMPARE(model->index(row, ProbeResultsModel::IdColumn).data(Qt::ForegroundRole),
                     QVariant(red));
            ++redRows;
        }
    }
    QVERIFY(redRows > 0);
    QVERIFY(probe.summaryLabel()->text().contains(QStringLiteral("%1 failed").arg(failures)));

    // The verdict filter: only the failures, then only FAILED verdicts.
    QComboBox *verdict = probe.verdictCombo();
    verdict->setCurrentIndex(verdict->findText(QStringLiteral("Failures")));
    const ProbeResultsProxy *proxy = probe.resultsProxy();
    QCOMPARE(proxy->rowCount(), failures);
    for (int row = 0; row < proxy->rowCount(); ++row)
        QVERIFY(proxy->index(row, 0).data(ProbeResultsModel::IsFailureRole).toBool());
    verdict->setCurrentIndex(verdict->findText(QStringLiteral("FAILED")));
    QCOMPARE(proxy->rowCount(), redRows);
    // And the text filter on top.
    probe.filterEdit()->setText(QStringLiteral("1."));
    QCOMPARE(proxy->rowCount(), 0);
    probe.filterEdit()->clear();
    // One verdict: the rows whose verdict or close verdict it is.
    verdict->setCurrentIndex(verdict->findText(QStringLiteral("OK")));
    const auto okRows = std::count_if(
        model->results().begin(), model->results().end(), [](const probe::CaseResult &r) {
            return r.behavior == probe::Verdict::Ok || r.behaviorClose == probe::Verdict::Ok;
        });
    QCOMPARE(proxy->rowCount(), int(okRows));
}

void tst_ProbePanel::doubleClickPutsFramesInTheLog() {
    Fixture f;
    ProbePanel &probe = *f.probe;
    const auto server = startServer();
    QVERIFY(server);
    QVERIFY(runTo(probe, urlOf(*server), {QStringLiteral("1.1.*")}));
    const int row = viewRow(probe, QStringLiteral("1.1.2"));
    QVERIFY(row >= 0);
    QSignalSpy shown(&probe, &ProbePanel::caseShown);
    doubleClickRow(probe.resultsView(), row);
    QCOMPARE(shown.size(), 1);
    const auto id = shown.at(0).at(0).value<quint32>();
    const auto first = shown.at(0).at(1).value<qsizetype>();
    QCOMPARE(f.log.store().connectionName(id), QStringLiteral("probe 1.1.2"));
    QVERIFY(f.hub.info(id));
    // Every frame of the case, in the window's log under the new connection; the first
    // one shown is a frame: the 125-byte text message of case 1.1.2 going out.
    const log::LogRecord &record = f.log.store().at(first);
    QCOMPARE(record.connection, id);
    QVERIFY(record.isFrame());
    QCOMPARE(record.kind, log::LogKind::Text);
    QVERIFY(record.has(log::LogRecord::Outgoing));
    QCOMPARE(record.length, quint64(125));
    int frames = 0;
    for (qsizetype i = 0; i < f.log.store().size(); ++i)
        frames += f.log.store().at(i).connection == id && f.log.store().at(i).isFrame() ? 1 : 0;
    const probe::CaseResult &result = probe.resultsModel()->result(
        probe.resultsProxy()->mapToSource(probe.resultsProxy()->index(row, 0)).row());
    QVERIFY(result.log);
    int caseFrames = 0;
    for (qsizetype i = 0; i < result.log->size(); ++i)
        caseFrames += result.log->at(i).isFrame() ? 1 : 0;
    QCOMPARE(frames, caseFrames);
    QVERIFY(frames >= 4); // text both ways, close both ways
}

void tst_ProbePanel::comparesTwoRuns() {
    Fixture f;
    ProbePanel &probe = *f.probe;
    const auto good = startServer();
    const auto bad = startServer(wrongPongs());
    QVERIFY(good && bad);
    QVERIFY(runTo(probe, urlOf(*good), {QStringLiteral("2.*")}));
    QVERIFY(runTo(probe, urlOf(*bad), {QStringLiteral("2.*")}));
    QCOMPARE(probe.runs().size(), 2);
    // The end of a run compares it with the run before.
    const ProbeComparisonModel *comparison = probe.comparisonModel();
    const QList<probe::CaseResult> &before = probe.runs().at(0).results;
    const QList<probe::CaseResult> &after = probe.runs().at(1).results;
    int changed = 0;
    for (qsizetype i = 0; i < after.size(); ++i) {
        QCOMPARE(after.at(i).id, before.at(i).id);
        changed += after.at(i).behavior != before.at(i).behavior ||
                           after.at(i).behaviorClose != before.at(i).behaviorClose
                       ? 1
                       : 0;
    }
    QVERIFY(changed > 0);
    QCOMPARE(comparison->rowCount(), changed);
    QCOMPARE(comparison->counts().compared, int(after.size()));
    QCOMPARE(comparison->counts().worse, changed);
    QCOMPARE(comparison->counts().better, 0);
    const ProbeComparisonModel::Row &row = comparison->row(0);
    QVERIFY(row.id.startsWith(QLatin1String("2.")));
    QCOMPARE(comparison->index(0, ProbeComparisonModel::BehaviorColumn).data().toString(),
             QStringLiteral("%1 \u2192 %2")
                 .arg(probe::verdictName(*row.oldBehavior), probe::verdictName(*row.newBehavior)));
    QVERIFY(probe.comparisonLabel()->text().contains(QStringLiteral("%1 worse").arg(changed)));
    // Compared the other way round, every change is for the better.
    probe.compareRuns(1, 0);
    QCOMPARE(comparison->counts().better, changed);
    QCOMPARE(comparison->counts().worse, 0);
    // Cases only one run has.
    QVERIFY(runTo(probe, urlOf(*good), {QStringLiteral("1.1.*")}));
    probe.compareRuns(0, 2);
    QCOMPARE(comparison->counts().compared, 0);
    QCOMPARE(comparison->counts().onlyOld, int(before.size()));
    QCOMPARE(comparison->counts().onlyNew, catalogueCount({QStringLiteral("1.1.*")}));
}

void tst_ProbePanel::reportSavedAndOpened() {
    QTemporaryDir reports;
    QVERIFY(reports.isValid());
    QList<probe::CaseResult> saved;
    {
        Fixture f;
        const auto server = startServer(wrongPongs());
        QVERIFY(server);
        QVERIFY(runTo(*f.probe, urlOf(*server), {QStringLiteral("2.*")}));
        QString error;
        QVERIFY2(f.probe->saveReport(reports.path(), &error), qPrintable(error));
        saved = f.probe->runs().constFirst().results;
    }
    // The command line's format: Autobahn's index.json, a JSON report and a log per case.
    QDir dir(reports.path());
    QVERIFY(dir.exists(QStringLiteral("index.json")));
    QVERIFY(dir.exists(QStringLiteral("index.html")));
    QVERIFY(dir.exists(QStringLiteral("junit.xml")));
    QVERIFY(dir.exists(probe::caseReportFileName(QStringLiteral("server"), QStringLiteral("2.1"))));
    QVERIFY(dir.exists(QStringLiteral("server_case_2_1.jsonl")));

    Fixture f;
    ProbePanel &probe = *f.probe;
    QString error;
    QVERIFY2(probe.openReport(reports.path(), &error), qPrintable(error));
    QCOMPARE(probe.runs().size(), 1);
    const ProbeRun &run = probe.runs().constFirst();
    QCOMPARE(run.agent, QStringLiteral("server"));
    QCOMPARE(run.results.size(), saved.size());
    for (qsizetype i = 0; i < saved.size(); ++i) {
        QCOMPARE(run.results.at(i).id, saved.at(i).id);
        QCOMPARE(run.results.at(i).behavior, saved.at(i).behavior);
        QCOMPARE(run.results.at(i).behaviorClose, saved.at(i).behaviorClose);
        QCOMPARE(run.results.at(i).description, saved.at(i).description);
        QCOMPARE(run.results.at(i).result, saved.at(i).result);
        QCOMPARE(run.results.at(i).durationMs, saved.at(i).durationMs);
    }
    QCOMPARE(probe.resultsModel()->failureCount(),
             int(std::count_if(saved.begin(), saved.end(),
                               [](const probe::CaseResult &r) { return r.isFailure(); })));
    // The frames come from the report's .jsonl files.
    QSignalSpy shown(&probe, &ProbePanel::caseShown);
    doubleClickRow(probe.resultsView(), viewRow(probe, QStringLiteral("2.1")));
    QCOMPARE(shown.size(), 1);
    const auto id = shown.at(0).at(0).value<quint32>();
    QCOMPARE(f.log.store().connectionName(id), QStringLiteral("probe 2.1"));
    QVERIFY(f.log.store().at(shown.at(0).at(1).value<qsizetype>()).isFrame());

    // A report compared with a live run against the good server: what the fix changed.
    const auto server = startServer();
    QVERIFY(server);
    QVERIFY(runTo(probe, urlOf(*server), {QStringLiteral("2.*")}));
    QCOMPARE(probe.comparisonModel()->counts().compared, int(saved.size()));
    QVERIFY(probe.comparisonModel()->counts().better > 0);
    QCOMPARE(probe.comparisonModel()->counts().worse, 0);

    // A folder without index.json is refused with a reason.
    QTemporaryDir empty;
    QVERIFY(!probe.openReport(empty.path(), &error));
    QVERIFY(error.contains(QStringLiteral("index.json")));
}

void tst_ProbePanel::settingsPersist() {
    {
        Fixture f;
        ProbePanel &probe = *f.probe;
        probe.targetCombo()->setCurrentIndex(
            probe.targetCombo()->findData(int(ProbePanel::TargetKind::HostedServer)));
        probe.urlEdit()->setText(QStringLiteral("ws://127.0.0.1:9999/echo"));
        probe.setCheckedCategories({QStringLiteral("1.*"), QStringLiteral("6.4.*")});
        probe.casesEdit()->setText(QStringLiteral("1.1.*,6.*"));
        probe.excludeEdit()->setText(QStringLiteral("1.1.3"));
        probe.verdictCombo()->setCurrentIndex(
            probe.verdictCombo()->findText(QStringLiteral("Not OK")));
    }
    Fixture f;
    ProbePanel &probe = *f.probe;
    QCOMPARE(ProbePanel::TargetKind(probe.targetCombo()->currentData().toInt()),
             ProbePanel::TargetKind::HostedServer);
    QCOMPARE(probe.urlEdit()->text(), QStringLiteral("ws://127.0.0.1:9999/echo"));
    QCOMPARE(probe.checkedCategories(),
             QStringList({QStringLiteral("1.*"), QStringLiteral("6.4.*")}));
    QCOMPARE(probe.casesEdit()->text(), QStringLiteral("1.1.*,6.*"));
    QCOMPARE(probe.excludeEdit()->text(), QStringLiteral("1.1.3"));
    QCOMPARE(probe.verdictCombo()->currentText(), QStringLiteral("Not OK"));
    QCOMPARE(probe.resultsProxy()->verdictFilter(), ProbeResultsProxy::VerdictFilter::NotOk);
    QCOMPARE(probe.selectedCases().size(),
             probe::selectCases(probe::serverCatalogue(),
                                {QStringLiteral("1.1.*"), QStringLiteral("6.4.*")},
                                {QStringLiteral("1.1.3")})
                 .size());
}

void tst_ProbePanel::stopEndsTheRun() {
    Fixture f;
    ProbePanel &probe = *f.probe;
    const auto server = startServer();
    QVERIFY(server);
    probe.urlEdit()->setText(urlOf(*server));
    probe.setCheckedCategories({QStringLiteral("1.*"), QStringLiteral("2.*"), QStringLiteral("3.*"),
                                QStringLiteral("4.*"), QStringLiteral("5.*"), QStringLiteral("6.*"),
                                QStringLiteral("7.*")});
    const qsizetype total = probe.selectedCases().size();
    QSignalSpy finished(&probe, &ProbePanel::runFinished);
    QTest::mouseClick(probe.runButton(), Qt::LeftButton);
    QVERIFY(probe.isRunning());
    QVERIFY(probe.stopButton()->isEnabled());
    QVERIFY(!probe.runButton()->isEnabled());
    QTRY_VERIFY_WITH_TIMEOUT(probe.resultsModel()->rowCount() >= 3, RunTimeout);
    QTest::mouseClick(probe.stopButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!probe.isRunning(), RunTimeout);
    QCOMPARE(finished.size(), 1);
    const int done = probe.resultsModel()->rowCount();
    QVERIFY2(done < total, qPrintable(QString::number(done)));
    // The case cut short is no result: everything shown passed.
    QCOMPARE(probe.resultsModel()->failureCount(), 0);
    QVERIFY(probe.findChild<QLabel *>(QStringLiteral("probeStatus"))
                ->text()
                .startsWith(QStringLiteral("Stopped after %1").arg(done)));
    QVERIFY(probe.runButton()->isEnabled());
    QVERIFY(!probe.stopButton()->isEnabled());
    // Nothing more arrives after the stop.
    QTest::qWait(200);
    QCOMPARE(probe.resultsModel()->rowCount(), done);
}

void tst_ProbePanel::unreachableTargetStopsAtOnce() {
    Fixture f;
    ProbePanel &probe = *f.probe;
    // A port that was just free: nothing listens there.
    quint16 port = 0;
    {
        const auto server = startServer();
        QVERIFY(server);
        port = server->port();
    }
    QVERIFY(runTo(probe, QStringLiteral("ws://127.0.0.1:%1/").arg(port),
                  {QStringLiteral("1.*"), QStringLiteral("2.*")}));
    QCOMPARE(probe.resultsModel()->rowCount(), 1);
    QVERIFY(!probe.resultsModel()->result(0).wasOpen);
    QVERIFY(probe.findChild<QLabel *>(QStringLiteral("probeStatus"))
                ->text()
                .startsWith(QStringLiteral("Could not connect")));
    QVERIFY(probe.runButton()->isEnabled());
}

void tst_ProbePanel::clientsThatConnect() {
    Fixture f;
    ProbePanel &probe = *f.probe;
    probe.targetCombo()->setCurrentIndex(
        probe.targetCombo()->findData(int(ProbePanel::TargetKind::Clients)));
    probe.clientsPortSpin()->setValue(0);
    QVERIFY(!probe.categoryTree()->isEnabled());
    QTest::mouseClick(probe.runButton(), Qt::LeftButton);
    QVERIFY(probe.isRunning());
    const quint16 port = probe.clientsPort();
    QVERIFY(port != 0);
    // python3-websockets as an Autobahn echo client: cases 1 to 3 (1.1.1 to 1.1.3).
    QProcess client;
    client.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    client.start(QStringLiteral("/usr/bin/python3"), {QStringLiteral("-c"), QStringLiteral(R"(
import asyncio, sys, websockets
async def main(port):
    for n, agent in ((1, "pyclient"), (2, "pyclient"), (3, "pyclient"), (1, "second")):
        url = f"ws://127.0.0.1:{port}/runCase?case={n}&agent={agent}"
        async with websockets.connect(url, max_size=None) as ws:
            try:
                async for message in ws:
                    await ws.send(message)
            except websockets.ConnectionClosed:
                pass
asyncio.run(asyncio.wait_for(main(int(sys.argv[1])), 20))
)"),
                                                      QString::number(port)});
    QSignalSpy exited(&client, &QProcess::finished);
    QVERIFY2(client.waitForStarted(5000), "python3 is missing");
    QVERIFY(exited.wait(30'000));
    QCOMPARE(client.exitCode(), 0);
    QTRY_COMPARE_WITH_TIMEOUT(probe.runs().size(), 2, 5000);
    QCOMPARE(probe.runs().constFirst().agent, QStringLiteral("pyclient"));
    QCOMPARE(probe.runs().constFirst().results.size(), 3);
    QCOMPARE(probe.runs().at(1).agent, QStringLiteral("second"));
    // The table and the progress follow the agent whose case came last: its one case
    // out of the catalogue, not the cases of every agent.
    QCOMPARE(probe.resultsModel()->rowCount(), 1);
    QCOMPARE(probe.resultsModel()->behaviorCounts().value(probe::Verdict::Ok), 1);
    QCOMPARE(probe.resultsModel()->result(0).id, QStringLiteral("1.1.1"));
    QVERIFY(probe.resultsModel()->result(0).isServer);
    // The fuzzing server's catalogue: Autobahn's cases 1 to 13.
    const int catalogue = probe.progressBar()->maximum();
    QVERIFY(catalogue > 3);
    QVERIFY2(probe.progressLabel()->text().startsWith(
                 QStringLiteral("1 / %1 cases of second").arg(catalogue)),
             qPrintable(probe.progressLabel()->text()));
    QCOMPARE(probe.progressBar()->value(), 1);
    probe.showRun(0);
    QCOMPARE(probe.resultsModel()->rowCount(), 3);
    QTest::mouseClick(probe.stopButton(), Qt::LeftButton);
    QVERIFY(!probe.isRunning());
    QCOMPARE(probe.clientsPort(), quint16(0));
}

void tst_ProbePanel::windowHostedServer() {
    MainWindow window;
    window.resize(1400, 900);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    ProbePanel *probe = window.probePanel();
    QVERIFY(probe);
    window.probeAction()->trigger();
    QVERIFY(window.probeDock()->isVisible());
    // The hosted server is started (echo) when it is not running.
    QVERIFY(!window.serverPanel()->isRunning());
    window.serverPanel()->portSpin()->setValue(0);
    probe->targetCombo()->setCurrentIndex(
        probe->targetCombo()->findData(int(ProbePanel::TargetKind::HostedServer)));
    probe->setCheckedCategories({QStringLiteral("1.1.*")});
    QSignalSpy finished(probe, &ProbePanel::runFinished);
    QTest::mouseClick(probe->runButton(), Qt::LeftButton);
    QVERIFY(window.serverPanel()->isRunning());
    QCOMPARE(probe->runs().constFirst().target,
             QStringLiteral("ws://127.0.0.1:%1/").arg(window.serverPanel()->boundPort()));
    QVERIFY(finished.wait(RunTimeout));
    QCOMPARE(probe->resultsModel()->rowCount(), catalogueCount({QStringLiteral("1.1.*")}));
    QCOMPARE(probe->resultsModel()->failureCount(), 0);

    // A double-click: the case's connection is chosen, its first frame is selected and
    // the inspector shows it.
    QSignalSpy shown(probe, &ProbePanel::caseShown);
    doubleClickRow(probe->resultsView(), viewRow(*probe, QStringLiteral("1.1.3")));
    QCOMPARE(shown.size(), 1);
    const auto id = shown.at(0).at(0).value<quint32>();
    const auto first = shown.at(0).at(1).value<qsizetype>();
    QCOMPARE(window.connectionsPanel()->selectedId(), id);
    QVERIFY(window.inspector()->hasRecord());
    QCOMPARE(window.inspector()->record().connection, id);
    QCOMPARE(window.inspector()->record().timestampUs,
             window.logModel()->store().at(first).timestampUs);
    QCOMPARE(window.inspector()->record().length, quint64(126)); // 1.1.3: 126 bytes of text
    const QModelIndex current = window.logPanel()->view()->currentIndex();
    QVERIFY(current.isValid());
    QCOMPARE(current.data(MessageLogModel::StoreIndexRole).value<qsizetype>(), first);
    closeWindow(window);
}

void tst_ProbePanel::wssTargetWithTrust() {
    Fixture f;
    ProbePanel &probe = *f.probe;
    const std::optional<WssServer> wss = selfSignedWss();
    QVERIFY(wss);
    const CertificateAndKey &identity = wss->identity;
    Server server(wss->options);
    QVERIFY(server.listen());
    const QString url = QStringLiteral("wss://127.0.0.1:%1/").arg(server.port());
    const QStringList cases{QStringLiteral("1.1.*")};
    const int expected = catalogueCount(cases);

    // A self-signed certificate nobody trusts: the first case cannot connect.
    QVERIFY(runTo(probe, url, cases));
    QVERIFY(probe.resultsModel()->rowCount() >= 1);
    QVERIFY(!probe.resultsModel()->result(0).wasOpen);

    // Accepted by its SHA-256, as wsw probe --accept-fingerprint.
    probe.fingerprintEdit()->setText(sha256Fingerprint(identity.certificate));
    QVERIFY(runTo(probe, url, cases));
    QCOMPARE(probe.resultsModel()->rowCount(), expected);
    QCOMPARE(probe.resultsModel()->behaviorCounts().value(probe::Verdict::Ok), expected);

    // Trusted through a CA file holding the certificate itself, as wsw probe --ca.
    probe.fingerprintEdit()->clear();
    QTemporaryDir dir;
    const QString caFile = dir.filePath(QStringLiteral("server.pem"));
    QFile file(caFile);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(identity.certificatePem);
    file.close();
    probe.caFileEdit()->setText(caFile);
    QVERIFY(runTo(probe, url, cases));
    QCOMPARE(probe.resultsModel()->behaviorCounts().value(probe::Verdict::Ok), expected);

    // A fingerprint that is not one stops the run before it starts.
    probe.caFileEdit()->clear();
    probe.fingerprintEdit()->setText(QStringLiteral("AB:CD"));
    QVERIFY(!probe.run());
    QVERIFY(!probe.isRunning());
    QVERIFY(probe.findChild<QLabel *>(QStringLiteral("probeStatus"))
                ->text()
                .startsWith(QStringLiteral("Accept cert:")));
}

void tst_ProbePanel::hostedWssServer() {
    Fixture f;
    ProbePanel &probe = *f.probe;
    const std::optional<WssServer> wss = selfSignedWss();
    QVERIFY(wss);
    QVERIFY(f.server.start(wss->options));
    // The form's trust is for URLs; the hosted server's own certificate is accepted.
    probe.fingerprintEdit()->setText(QStringLiteral("AB:CD"));
    probe.targetCombo()->setCurrentIndex(
        probe.targetCombo()->findData(int(ProbePanel::TargetKind::HostedServer)));
    const QStringList cases{QStringLiteral("1.1.*")};
    probe.setCheckedCategories(cases);
    QSignalSpy finished(&probe, &ProbePanel::runFinished);
    QVERIFY(probe.run());
    QCOMPARE(probe.runs().constFirst().target,
             QStringLiteral("wss://127.0.0.1:%1/").arg(f.server.boundPort()));
    QVERIFY(finished.wait(RunTimeout));
    const int expected = catalogueCount(cases);
    QCOMPARE(probe.resultsModel()->rowCount(), expected);
    QCOMPARE(probe.resultsModel()->behaviorCounts().value(probe::Verdict::Ok), expected);
}

void tst_ProbePanel::smallWindowKeepsItsSize() {
    // The dock's minimum must fit the compact layout's share of a 1024-pixel screen.
    MainWindow window;
    window.resize(1024, 700);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    window.resetLayout();
    window.probeAction()->trigger();
    QCoreApplication::processEvents();
    QVERIFY(window.probeDock()->isVisible());
    QCOMPARE(window.width(), 1024);
    QVERIFY2(window.probeDock()->width() >= 400,
             qPrintable(QString::number(window.probeDock()->width())));
    QVERIFY(window.probePanel()->resultsView()->isVisible());
    closeWindow(window);
}

QTEST_MAIN(tst_ProbePanel)
#include "tst_probepanel.moc"

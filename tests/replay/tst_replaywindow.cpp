// Replaying a connection in the window: the Connections tree's "Replay…", the dialog
// with the recorded URL prefilled, the replay as a new connection of the hub logged
// like any other, its progress bar, pause/resume and stop. Offscreen.
#include "connections/connectionhub.h"
#include "controllers/replaycontroller.h"
#include "dialogs/replaydialog.h"
#include "models/messagelogmodel.h"
#include "models/sessiondiffmodel.h"
#include "widgets/replaybar.h"
#include "windows/connectionspanel.h"
#include "windows/sessiondiffwindow.h"

#include "net/eventclock.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QTest>

using namespace ws;

namespace {

constexpr int Timeout = 10'000;
constexpr int GapMs = 150;

// The texts a connection sent, in the order of the log.
QList<QByteArray> sentTexts(const log::LogStore &store, quint32 id) {
    QList<QByteArray> texts;
    for (qsizetype i = 0; i < store.size(); ++i) {
        const log::LogRecord &r = store.at(i);
        if (r.connection == id && r.kind == log::LogKind::Text && r.has(log::LogRecord::Outgoing) &&
            r.has(log::LogRecord::InMessageView))
            texts.append(r.payload);
    }
    return texts;
}

} // namespace

class TestReplayWindow : public QObject {
    Q_OBJECT
private slots:
    void init();
    void cleanup();
    void replayFromTheTree();
    void pauseHoldsAndResumeGoesOn();
    void stopCloses();
    void replayAServersPeer();
    void unknownPlaceholderIsRefused();

private:
    // A client of the hub's echo server that sent three messages GapMs apart and closed.
    quint32 recordSession(const QList<QByteArray> &messages);

    MessageLogModel *m_model = nullptr;
    ConnectionHub *m_hub = nullptr;
    ConnectionsPanel *m_panel = nullptr;
    QUrl m_url;
    quint32 m_serverId = 0;
};

void TestReplayWindow::init() {
    m_model = new MessageLogModel;
    m_hub = new ConnectionHub(m_model);
    m_panel = new ConnectionsPanel(m_hub);
    m_panel->show();
    ServerOptions options;
    options.port = 0;
    QString error;
    m_serverId = m_hub->startServer(options, &error);
    QVERIFY2(m_serverId, qPrintable(error));
    m_url = QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(m_hub->server(m_serverId)->port()));
}

void TestReplayWindow::cleanup() {
    m_hub->abortAll();
    delete m_panel;
    delete m_hub;
    delete m_model;
}

quint32 TestReplayWindow::recordSession(const QList<QByteArray> &messages) {
    ClientOptions options;
    options.url = m_url;
    options.session.reportFrames = true;
    const quint32 id = m_hub->openClient(options);
    if (!QTest::qWaitFor([&] { return m_hub->isOpen(id); }, Timeout))
        return 0;
    for (const QByteArray &message : messages) {
        QTest::qWait(GapMs);
        if (m_hub->sendText(id, message) != SendError::None)
            return 0;
    }
    QTest::qWait(GapMs);
    if (m_hub->sendClose(id, quint16(1000), {}) != SendError::None)
        return 0;
    if (!QTest::qWaitFor([&] { return m_hub->info(id)->finished; }, Timeout))
        return 0;
    return id;
}

void TestReplayWindow::replayFromTheTree() {
    const quint32 recorded = recordSession({"one", "two", "three"});
    QVERIFY(recorded);
    m_panel->select(recorded);
    QVERIFY(m_panel->replayAction()->isEnabled());
    ReplayDialog *dialog = m_panel->replay(recorded);
    QVERIFY(dialog);
    QCOMPARE(dialog->urlEdit()->text(), m_url.toString()); // prefilled
    QCOMPARE(dialog->speedBox()->currentText(), QStringLiteral("1"));
    QVERIFY(!dialog->waitRepliesBox()->isChecked());
    dialog->urlEdit()->setText(QStringLiteral("http://nope"));
    QVERIFY(!dialog->settings());
    dialog->urlEdit()->setText(m_url.toString());
    QVERIFY(dialog->settings());

    ReplayController *controller = m_panel->replayController();
    QSignalSpy started(controller, &ReplayController::started);
    QSignalSpy progress(controller, &ReplayController::progress);
    QSignalSpy finished(controller, &ReplayController::finished);
    const qint64 startUs = EventClock::nowUs();
    dialog->accept();
    QCOMPARE(started.size(), 1);
    const quint32 replayId = started.at(0).at(0).toUInt();
    QCOMPARE(m_panel->selectedId(), replayId); // the new connection is selected
    QVERIFY(m_panel->replayBar()->isVisible());
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, Timeout);
    const auto result = finished.at(0).at(0).value<replay::ReplayResult>();
    QVERIFY(result.completed());
    QCOMPARE(result.steps, 4); // three messages and the close
    // At --speed 1 the replay took about as long as the recording.
    QVERIFY(EventClock::nowUs() - startUs >= 4 * GapMs * 1000);
    QCOMPARE(progress.constLast().at(0).toInt(), 4);
    QCOMPARE(m_panel->replayBar()->progressBar()->value(), 4);
    QCOMPARE(m_panel->replayBar()->label()->text(), QStringLiteral("Replay completed"));
    // Logged as a connection like any other, with the same messages.
    QCOMPARE(sentTexts(m_model->store(), replayId), (QList<QByteArray>{"one", "two", "three"}));
    QVERIFY(m_hub->info(replayId)->finished);

    // One click compares the replay with its recording: against the same echo
    // server, the same messages both ways.
    QPushButton *compare = m_panel->replayBar()->compareButton();
    QVERIFY(compare->isVisible());
    QSignalSpy compareRequested(m_panel, &ConnectionsPanel::compareReplayRequested);
    QTest::mouseClick(compare, Qt::LeftButton);
    QCOMPARE(compareRequested.size(), 1);
    QCOMPARE(compareRequested.at(0).at(0).toUInt(), recorded);
    QCOMPARE(compareRequested.at(0).at(1).toUInt(), replayId);
    m_model->flush();
    SessionDiffWindow diff;
    QVERIFY2(diff.setConnections(m_model->store(), recorded, replayId),
             qPrintable(diff.errorText()));
    QVERIFY(diff.compare());
    QVERIFY2(diff.summaryLabel()->text().startsWith(QStringLiteral("<b>Same</b>")),
             qPrintable(diff.summaryLabel()->text()));
    QCOMPARE(diff.model()->rowCount(), 6); // three sent, three echoed
    // With control frames: the closes too, still the same.
    diff.controlBox()->setChecked(true);
    QVERIFY(diff.compare());
    QVERIFY(diff.summaryLabel()->text().startsWith(QStringLiteral("<b>Same</b>")));
    QVERIFY(diff.model()->rowCount() > 6);

    // A connection that sent something else differs.
    const quint32 other = recordSession({"one", "2", "three"});
    QVERIFY(other);
    m_model->flush();
    SessionDiffWindow changed;
    QVERIFY(changed.setConnections(m_model->store(), recorded, other));
    QVERIFY(changed.compare());
    QVERIFY(changed.summaryLabel()->text().startsWith(QStringLiteral("<b>Different</b>")));
}

void TestReplayWindow::pauseHoldsAndResumeGoesOn() {
    const quint32 recorded = recordSession({"a", "b", "c"});
    QVERIFY(recorded);
    ReplayController *controller = m_panel->replayController();
    QSignalSpy finished(controller, &ReplayController::finished);
    ReplaySettings settings;
    settings.url = m_url;
    QString error;
    const quint32 replayId = controller->start(recorded, settings, &error);
    QVERIFY2(replayId, qPrintable(error));
    QTRY_VERIFY_WITH_TIMEOUT(m_hub->isOpen(replayId), Timeout);
    QPushButton *pause = m_panel->replayBar()->pauseButton();
    pause->click();
    QVERIFY(controller->player()->isPaused());
    QCOMPARE(pause->text(), QStringLiteral("Resume"));
    const int taken = controller->player()->stepsTaken();
    QTest::qWait(4 * GapMs);
    QCOMPARE(controller->player()->stepsTaken(), taken); // nothing went while paused
    QVERIFY(finished.isEmpty());
    pause->click();
    QCOMPARE(pause->text(), QStringLiteral("Pause"));
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, Timeout);
    QVERIFY(finished.at(0).at(0).value<replay::ReplayResult>().completed());
    QCOMPARE(sentTexts(m_model->store(), replayId), (QList<QByteArray>{"a", "b", "c"}));
}

void TestReplayWindow::stopCloses() {
    const quint32 recorded = recordSession({"x", "y", "z"});
    QVERIFY(recorded);
    ReplayController *controller = m_panel->replayController();
    QSignalSpy finished(controller, &ReplayController::finished);
    ReplaySettings settings;
    settings.url = m_url;
    settings.speed = 0.25; // slow enough to stop midway
    const quint32 replayId = controller->start(recorded, settings);
    QVERIFY(replayId);
    QTRY_VERIFY_WITH_TIMEOUT(m_hub->isOpen(replayId), Timeout);
    m_panel->replayBar()->stopButton()->click();
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, Timeout);
    const auto result = finished.at(0).at(0).value<replay::ReplayResult>();
    QVERIFY(result.stopped);
    QVERIFY(!result.completed());
    QCOMPARE(m_panel->replayBar()->label()->text(), QStringLiteral("Replay stopped"));
    QVERIFY(sentTexts(m_model->store(), replayId).size() < 3);
}

void TestReplayWindow::replayAServersPeer() {
    // The hosted server's side of a connection: its peer's messages are the client side.
    QVERIFY(recordSession({"p1", "p2"}));
    const QList<quint32> peers = m_hub->clientsOf(m_serverId);
    QCOMPARE(peers.size(), 1);
    m_panel->select(peers[0]);
    QVERIFY(m_panel->replayAction()->isEnabled());
    ReplayController *controller = m_panel->replayController();
    QSignalSpy finished(controller, &ReplayController::finished);
    ReplaySettings settings;
    settings.url = m_url;
    settings.speed = 0;
    QString error;
    const quint32 replayId = controller->start(peers[0], settings, &error);
    QVERIFY2(replayId, qPrintable(error));
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, Timeout);
    QVERIFY(finished.at(0).at(0).value<replay::ReplayResult>().completed());
    QCOMPARE(sentTexts(m_model->store(), replayId), (QList<QByteArray>{"p1", "p2"}));
    // A server itself has no client side.
    m_panel->select(m_serverId);
    QVERIFY(!m_panel->replayAction()->isEnabled());
}

void TestReplayWindow::unknownPlaceholderIsRefused() {
    const quint32 recorded = recordSession({"hello {{who}}"});
    QVERIFY(recorded);
    const QList<quint32> before = m_hub->ids();
    ReplaySettings settings;
    settings.url = m_url;
    QString error;
    QCOMPARE(m_panel->replayController()->start(recorded, settings, &error), 0u);
    QVERIFY2(error.contains(QLatin1String("{{who}}")), qPrintable(error));
    QCOMPARE(m_hub->ids(), before); // nothing was opened
}

QTEST_MAIN(TestReplayWindow)
#include "tst_replaywindow.moc"

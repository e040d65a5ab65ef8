// The server panel's "Misbehave" section and the client list's "Misbehave…" entry,
// offscreen: folded by default with a header that says when anything is on, the
// options it gives the server, remembered settings, staged notes in the log, and a
// change for one running client.

#include "../net/nettesthelpers.h"
#include "guitesthelpers.h"

#include "connections/connectionhub.h"
#include "log/logrecord.h"
#include "widgets/misbehavioureditor.h"

#include <QAction>
#include <QCheckBox>
#include <QDialog>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QTemporaryDir>
#include <QToolButton>
#include <QTreeView>

using namespace ws;
using namespace wstest;

namespace {

constexpr int Timeout = 5000;

// A hub with its log and a server panel, as the window has them.
struct Panel {
    Panel()
        : hub(&log)
        , panel(&hub) {}
    MessageLogModel log;
    ConnectionHub hub;
    ServerPanel panel;
};

Misbehaviour sample() {
    Misbehaviour m;
    m.replyDelayMinMs = 20;
    m.replyDelayMaxMs = 80;
    m.handshakeDelayMs = 150;
    m.fragmentSize = 16;
    m.pingBetweenFragments = true;
    m.pong = Misbehaviour::PongStyle::Delay;
    m.pongDelayMs = 700;
    m.readBytesPerSecond = 5000;
    m.stopReadingAfter = 9;
    m.closeAfterMessages = 4;
    m.closeAfterMs = 3000;
    m.closeStyle = Misbehaviour::CloseStyle::NoWait;
    m.closeCode = 4001;
    m.closeReason = QStringLiteral("staged");
    m.badFrame = Misbehaviour::BadFrame::LyingLength;
    m.badFrameAfter = 2;
    m.tickerMs = 250;
    m.burstCount = 10;
    m.burstSize = 4096;
    return m;
}

} // namespace

class tst_ServerMisbehave : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();
    void foldedWithAnIndicator();
    void editorRoundTrip();
    void refusalInTheEditor();
    void optionsAndSettings();
    void stagedNotesInTheLog();
    void oneClientChangedWhileItRuns();

private:
    QTemporaryDir m_settingsDir;
};

void tst_ServerMisbehave::initTestCase() {
    QVERIFY(m_settingsDir.isValid());
    QVERIFY(setUpWindowTests(m_settingsDir.path(), QStringLiteral("tst_servermisbehave")));
}

void tst_ServerMisbehave::init() {
    QSettings().clear();
}

void tst_ServerMisbehave::cleanup() {
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
}

void tst_ServerMisbehave::foldedWithAnIndicator() {
    Panel p;
    p.panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&p.panel));
    QToolButton *toggle = p.panel.misbehaveToggle();
    MisbehaviourEditor *editor = p.panel.misbehaviourEditor();
    QVERIFY(!editor->isVisible());
    QCOMPARE(toggle->text(), QStringLiteral("Misbehave: off"));
    QVERIFY(p.panel.options().misbehaviour.isOff());

    QTest::mouseClick(toggle, Qt::LeftButton);
    QVERIFY(editor->isVisible());
    editor->delayMinSpin()->setValue(200);
    QCOMPARE(toggle->text(), QStringLiteral("Misbehave: ON (1 fault(s))"));
    QVERIFY(toggle->toolTip().contains(QStringLiteral("reply delay 200 ms")));
    QVERIFY(toggle->styleSheet().contains(QStringLiteral("#b71c1c")));
    // Folded again, the header still says it is on.
    QTest::mouseClick(toggle, Qt::LeftButton);
    QVERIFY(!editor->isVisible());
    QVERIFY(toggle->text().startsWith(QStringLiteral("Misbehave: ON")));
    editor->delayMinSpin()->setValue(0);
    QCOMPARE(toggle->text(), QStringLiteral("Misbehave: off"));
}

void tst_ServerMisbehave::editorRoundTrip() {
    MisbehaviourEditor editor;
    const Misbehaviour m = sample();
    editor.setMisbehaviour(m);
    QCOMPARE(editor.misbehaviour(), m);
    QCOMPARE(misbehaviourFromMap(misbehaviourToMap(m)), m);
    QVERIFY(misbehaviourToMap(Misbehaviour{}).isEmpty());
    editor.setMisbehaviour({});
    QVERIFY(editor.misbehaviour().isOff());
    // A fixed delay is min alone; the jitter bound only counts above it.
    editor.delayMinSpin()->setValue(100);
    QCOMPARE(editor.misbehaviour().replyDelayMaxMs, 100);
    editor.delayMaxSpin()->setValue(300);
    QCOMPARE(editor.misbehaviour().replyDelayMaxMs, 300);
}

void tst_ServerMisbehave::refusalInTheEditor() {
    MisbehaviourEditor editor;
    editor.refuseStatusSpin()->setValue(503);
    editor.refuseHeadersEdit()->setText(QStringLiteral("Retry-After: 5; X-Why: testing"));
    editor.refuseBodyEdit()->setText(QStringLiteral("busy"));
    QVERIFY(!editor.badUpgradeCombo()->isEnabled());
    const Misbehaviour m = editor.misbehaviour();
    QCOMPARE(m.refuseStatus, 503);
    QCOMPARE(m.refuseHeaders,
             (QList<QPair<QByteArray, QByteArray>>{{"Retry-After", "5"}, {"X-Why", "testing"}}));
    QCOMPARE(m.refuseBody, QByteArray("busy"));
    QCOMPARE(misbehaviourFromMap(misbehaviourToMap(m)), m);
    editor.refuseStatusSpin()->setValue(0);
    editor.badUpgradeCombo()->setCurrentIndex(
        editor.badUpgradeCombo()->findData(int(Misbehaviour::BadUpgrade::BadAccept)));
    QCOMPARE(editor.misbehaviour().badUpgrade, Misbehaviour::BadUpgrade::BadAccept);
    QCOMPARE(editor.misbehaviour().refuseStatus, 0);
}

void tst_ServerMisbehave::optionsAndSettings() {
    {
        Panel p;
        p.panel.misbehaviourEditor()->setMisbehaviour(sample());
        QCOMPARE(p.panel.options().misbehaviour, sample());
        p.panel.saveSettings();
    }
    Panel again;
    QCOMPARE(again.panel.options().misbehaviour, sample());
    QVERIFY(again.panel.misbehaveToggle()->text().startsWith(QStringLiteral("Misbehave: ON")));
    // Folded at every start, whatever is on.
    QVERIFY(!again.panel.misbehaveToggle()->isChecked());
}

void tst_ServerMisbehave::stagedNotesInTheLog() {
    Panel p;
    p.panel.portSpin()->setValue(0);
    p.panel.misbehaviourEditor()->delayMinSpin()->setValue(60);
    QVERIFY(p.panel.start());
    QVERIFY(!p.panel.misbehaviourEditor()->isEnabled()); // as the rest of the form
    RecordedClient client(clientOptions(p.panel.boundPort()));
    client.connection.open();
    QVERIFY(client.waitOpen());
    QVERIFY(client.connection.sendText("slow") == SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(client.recorder.incomingData(), QList<QByteArray>({"slow"}), Timeout);
    const quint32 serverSide = p.hub.clientsOf(p.panel.serverId()).value(0);
    QVERIFY(serverSide != 0);
    const qsizetype row = waitForRecord(p.log, serverSide, ofKind(log::LogKind::Note), Timeout);
    QVERIFY(row >= 0);
    const log::LogRecord &record = p.log.store().at(row);
    QCOMPARE(record.payload, QByteArray("delayed reply 60 ms"));
    QCOMPARE(log::recordPreview(record, p.log.store().extra(row)),
             QStringLiteral("Staged: delayed reply 60 ms"));
    QTRY_VERIFY_WITH_TIMEOUT(
        p.panel.serverLog()->toPlainText().contains(QStringLiteral("staged: delayed reply 60 ms")),
        Timeout);
    p.panel.stop();
    QTRY_VERIFY_WITH_TIMEOUT(!p.panel.isRunning(), Timeout);
}

void tst_ServerMisbehave::oneClientChangedWhileItRuns() {
    Panel p;
    p.panel.portSpin()->setValue(0);
    QVERIFY(p.panel.start());
    RecordedClient first(clientOptions(p.panel.boundPort()));
    RecordedClient second(clientOptions(p.panel.boundPort()));
    first.connection.open();
    second.connection.open();
    QVERIFY(first.waitOpen() && second.waitOpen());
    QTRY_COMPARE_WITH_TIMEOUT(p.hub.clientsOf(p.panel.serverId()).size(), 2, Timeout);
    const quint32 firstSide = p.hub.clientsOf(p.panel.serverId()).value(0);
    const quint32 secondSide = p.hub.clientsOf(p.panel.serverId()).value(1);
    QTRY_VERIFY_WITH_TIMEOUT(p.hub.isOpen(firstSide), Timeout);

    // The entry is in the list's context menu.
    QCOMPARE(p.panel.clientList()->contextMenuPolicy(), Qt::CustomContextMenu);
    QCOMPARE(p.panel.clientMisbehaveAction()->text(), QStringLiteral("Misbehave\u2026"));
    p.panel.selectClient(firstSide);
    p.panel.clientMisbehaveAction()->trigger();
    auto *dialog = p.panel.findChild<QDialog *>(QStringLiteral("clientMisbehaviourDialog"));
    QVERIFY(dialog);
    auto *editor = dialog->findChild<MisbehaviourEditor *>();
    QVERIFY(editor);
    QVERIFY(editor->misbehaviour().isOff());
    editor->closeMessagesSpin()->setValue(1);
    editor->closeStyleCombo()->setCurrentIndex(
        editor->closeStyleCombo()->findData(int(Misbehaviour::CloseStyle::Clean)));
    editor->closeCodeSpin()->setValue(4005);
    dialog->accept();
    QCOMPARE(p.hub.serverClient(firstSide)->misbehaviour().closeAfterMessages, 1);
    QVERIFY(p.hub.serverClient(secondSide)->misbehaviour().isOff());

    // The changed client is closed after one message; the other one goes on.
    QVERIFY(first.connection.sendText("one") == SendError::None);
    QVERIFY(second.connection.sendText("one") == SendError::None);
    QVERIFY(first.waitFinished());
    QCOMPARE(first.recorder.closed()->code, quint16(4005));
    QTRY_COMPARE_WITH_TIMEOUT(second.recorder.incomingData().size(), 1, Timeout);
    QVERIFY(second.connection.state() == SessionState::Open);
    // A client that is gone has no dialog.
    QTRY_VERIFY_WITH_TIMEOUT(!p.hub.isOpen(firstSide), Timeout);
    QVERIFY(!p.panel.editClientMisbehaviour(firstSide));
    p.panel.stop();
    QTRY_VERIFY_WITH_TIMEOUT(!p.panel.isRunning(), Timeout);
}

QTEST_MAIN(tst_ServerMisbehave)
#include "tst_servermisbehave.moc"

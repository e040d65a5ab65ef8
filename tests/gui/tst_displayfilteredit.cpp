// DisplayFilterEdit: colour and reason as you type, debounced application, recent
// filters kept in QSettings, the syntax help; and in the log panel, a field that
// keeps echoing while a large log is filtered.

#include "guitesthelpers.h"

#include "models/logfilterproxy.h"
#include "models/messagelogmodel.h"
#include "widgets/displayfilteredit.h"
#include "windows/logpanel.h"

#include <QCompleter>
#include <QElapsedTimer>
#include <QLabel>
#include <QMenu>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace ws;
using namespace ws::log;

class TestDisplayFilterEdit : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void colourAndReasonAsYouType();
    void appliesWhenTypingPauses();
    void enterAppliesAtOnceAndRemembers();
    void recentFiltersPersist();
    void recentFiltersAreBounded();
    void recentMenuReappliesAFilter();
    void focusOutRemembersAnAppliedFilter();
    void helpFromTheField();
    void panelFiltersThroughTheField();
    void fieldEchoesWhileALargeLogIsFiltered();

private:
    QTemporaryDir m_settingsDir;
};

void TestDisplayFilterEdit::initTestCase() {
    QVERIFY(m_settingsDir.isValid());
    QVERIFY(
        wstest::setUpWindowTests(m_settingsDir.path(), QStringLiteral("tst_displayfilteredit")));
}

void TestDisplayFilterEdit::init() {
    QSettings().remove(QStringLiteral("log/recentFilters"));
}

void TestDisplayFilterEdit::colourAndReasonAsYouType() {
    DisplayFilterEdit edit;
    const QColor base = edit.palette().color(QPalette::Base);
    QCOMPARE(edit.state(), DisplayFilterEdit::State::Empty);
    QTest::keyClicks(&edit, QStringLiteral("opcode == 9"));
    QCOMPARE(edit.state(), DisplayFilterEdit::State::Valid);
    const QColor valid = edit.palette().color(QPalette::Base);
    QVERIFY(valid.green() > valid.red());
    QVERIFY(edit.statusLabel()->text().isEmpty());
    // One more character: "opcode == 9 &" is not an expression.
    QTest::keyClicks(&edit, QStringLiteral(" &"));
    QCOMPARE(edit.state(), DisplayFilterEdit::State::Invalid);
    const QColor invalid = edit.palette().color(QPalette::Base);
    QVERIFY(invalid.red() > invalid.green());
    QCOMPARE(edit.toolTip(),
             QStringLiteral("column 13: '&' alone is not an operator: use && or and"));
    // Beside the field, elided; whole in its tooltip.
    QCOMPARE(edit.statusLabel()->toolTip(), edit.toolTip());
    QVERIFY(edit.statusLabel()->text().startsWith(QStringLiteral("column 13: '&' alone")));
    // The owner's row count does not hide the error.
    edit.setResultText(QStringLiteral("3 of 10 rows"));
    QCOMPARE(edit.statusLabel()->toolTip(), edit.toolTip());
    QTest::keyClicks(&edit, QStringLiteral("& fin"));
    QCOMPARE(edit.state(), DisplayFilterEdit::State::Valid);
    QVERIFY(edit.statusLabel()->text().isEmpty());
    edit.clear();
    QCOMPARE(edit.state(), DisplayFilterEdit::State::Empty);
    QCOMPARE(edit.palette().color(QPalette::Base), base);
}

void TestDisplayFilterEdit::appliesWhenTypingPauses() {
    DisplayFilterEdit edit;
    edit.setDebounceInterval(100);
    QSignalSpy changed(&edit, &DisplayFilterEdit::filterChanged);
    QTest::keyClicks(&edit, QStringLiteral("len > 12"));
    // Not once per keystroke: once, when typing pauses.
    QCOMPARE(changed.count(), 0);
    QVERIFY(edit.isPending());
    QVERIFY(changed.wait(2000));
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).toString(), QStringLiteral("len > 12"));
    QCOMPARE(edit.appliedFilter(), QStringLiteral("len > 12"));
    // An invalid text is never applied.
    QTest::keyClicks(&edit, QStringLiteral(" &&"));
    QVERIFY(!edit.isPending());
    QTest::qWait(250);
    QCOMPARE(changed.count(), 1);
    // Nor recorded as recent.
    QTest::keyClick(&edit, Qt::Key_Return);
    QCOMPARE(changed.count(), 1);
    QVERIFY(edit.recentFilters().isEmpty());
}

void TestDisplayFilterEdit::enterAppliesAtOnceAndRemembers() {
    DisplayFilterEdit edit;
    QSignalSpy changed(&edit, &DisplayFilterEdit::filterChanged);
    QTest::keyClicks(&edit, QStringLiteral("dir == in"));
    QTest::keyClick(&edit, Qt::Key_Return);
    QCOMPARE(changed.count(), 1);
    QVERIFY(!edit.isPending());
    QCOMPARE(edit.recentFilters(), QStringList{QStringLiteral("dir == in")});
    QCOMPARE(QSettings().value(QStringLiteral("log/recentFilters")).toStringList(),
             QStringList{QStringLiteral("dir == in")});
}

void TestDisplayFilterEdit::recentFiltersPersist() {
    {
        DisplayFilterEdit edit;
        edit.addRecentFilter(QStringLiteral("opcode == 9"));
        edit.addRecentFilter(QStringLiteral("close.code == 1002"));
        edit.addRecentFilter(QStringLiteral("opcode == 9")); // back to the top, once
    }
    // A new field (a new window, a new run) offers them, newest first.
    DisplayFilterEdit edit;
    const QStringList expected{QStringLiteral("opcode == 9"), QStringLiteral("close.code == 1002")};
    QCOMPARE(edit.recentFilters(), expected);
    QCOMPARE(DisplayFilterEdit::loadRecentFilters(), expected);
    // The completer offers them as you type.
    QCompleter *completer = edit.completer();
    QVERIFY(completer);
    completer->setCompletionPrefix(QStringLiteral("close"));
    QCOMPARE(completer->completionCount(), 1);
    QCOMPARE(completer->currentCompletion(), QStringLiteral("close.code == 1002"));
}

void TestDisplayFilterEdit::recentFiltersAreBounded() {
    DisplayFilterEdit edit;
    for (int i = 0; i < DisplayFilterEdit::MaxRecentFilters + 5; ++i)
        edit.addRecentFilter(QStringLiteral("len == %1").arg(i));
    const QStringList recent = DisplayFilterEdit::loadRecentFilters();
    QCOMPARE(recent.size(), DisplayFilterEdit::MaxRecentFilters);
    QCOMPARE(recent.first(),
             QStringLiteral("len == %1").arg(DisplayFilterEdit::MaxRecentFilters + 4));
}

void TestDisplayFilterEdit::recentMenuReappliesAFilter() {
    DisplayFilterEdit edit;
    edit.addRecentFilter(QStringLiteral("rsv1"));
    edit.addRecentFilter(QStringLiteral("fin == 0"));
    edit.show();
    QVERIFY(QTest::qWaitForWindowExposed(&edit));
    QSignalSpy changed(&edit, &DisplayFilterEdit::filterChanged);
    edit.recentAction()->trigger();
    const QList<QAction *> actions = edit.recentMenu()->actions();
    QCOMPARE(actions.size(), 2);
    QCOMPARE(actions.at(1)->text(), QStringLiteral("rsv1"));
    actions.at(1)->trigger();
    edit.recentMenu()->hide();
    QCOMPARE(edit.text(), QStringLiteral("rsv1"));
    QCOMPARE(changed.count(), 1);
    QCOMPARE(edit.recentFilters().first(), QStringLiteral("rsv1"));
}

void TestDisplayFilterEdit::focusOutRemembersAnAppliedFilter() {
    QWidget window;
    auto *edit = new DisplayFilterEdit(&window);
    auto *other = new QLineEdit(&window);
    other->move(0, 40);
    edit->setDebounceInterval(10);
    window.show();
    QVERIFY(QTest::qWaitForWindowActive(&window));
    edit->setFocus();
    QTest::keyClicks(edit, QStringLiteral("rtt > 1"));
    QTRY_COMPARE(edit->appliedFilter(), QStringLiteral("rtt > 1"));
    other->setFocus();
    QTRY_COMPARE(edit->recentFilters(), QStringList{QStringLiteral("rtt > 1")});
}

void TestDisplayFilterEdit::helpFromTheField() {
    DisplayFilterEdit edit;
    edit.show();
    QVERIFY(QTest::qWaitForWindowExposed(&edit));
    QTest::keyClick(&edit, Qt::Key_F1);
    QWidget *help = edit.helpPopup();
    QVERIFY(help);
    QVERIFY(help->isVisible());
    const QString text = qobject_cast<QLabel *>(help)->text();
    for (const char *part : {"opcode == 9", "close.code", "json.", "&&", "contains"})
        QVERIFY2(text.contains(QLatin1String(part)), part);
    QTest::keyClick(&edit, Qt::Key_Escape);
    QVERIFY(!help->isVisible());
    edit.helpAction()->trigger();
    QVERIFY(help->isVisible());
    edit.helpAction()->trigger();
    QVERIFY(!help->isVisible());
}

void TestDisplayFilterEdit::panelFiltersThroughTheField() {
    MessageLogModel model;
    model.store().setClockOffset(0);
    for (int i = 0; i < 100; ++i)
        model.appendEvents(1, wstest::textMessage(i % 2 ? Direction::Incoming : Direction::Outgoing,
                                                  i, QByteArray::number(i)));
    model.flush();
    LogPanel panel(&model);
    panel.filterEdit()->setDebounceInterval(0);
    QTest::keyClicks(panel.filterEdit(), QStringLiteral("dir == out && text ~ \"^1\""));
    QTRY_COMPARE(panel.proxy()->rowCount(), 5); // sent: the even numbers, 10 to 18
    QCOMPARE(model.rowCount(), 100);
    QCOMPARE(panel.filterEdit()->statusLabel()->text(), QStringLiteral("5 of 100 rows"));
    QTest::keyClick(panel.filterEdit(), Qt::Key_Backspace);
    // "... ~ \"^1" does not compile: the rows stay as they were.
    QCOMPARE(panel.filterEdit()->state(), DisplayFilterEdit::State::Invalid);
    QTest::qWait(20);
    QCOMPARE(panel.proxy()->rowCount(), 5);
    panel.filterEdit()->clear();
    QTRY_COMPARE(panel.proxy()->rowCount(), 100);
    QVERIFY(panel.filterEdit()->statusLabel()->text().isEmpty());
}

void TestDisplayFilterEdit::fieldEchoesWhileALargeLogIsFiltered() {
    MessageLogModel model;
    model.store().setClockOffset(0);
    for (int i = 0; i < 300'000; ++i) {
        LogRecord record;
        record.connection = 1;
        record.kind = LogKind::Text;
        record.payload = "message number " + QByteArray::number(i);
        record.length = quint64(record.payload.size());
        record.set(LogRecord::InMessageView);
        model.appendRecord(record);
    }
    model.flush();
    LogPanel panel(&model);
    panel.resize(900, 500);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    DisplayFilterEdit *edit = panel.filterEdit();
    edit->setDebounceInterval(0);
    edit->setFocus();
    // A slow filter (the preview of every row) keeps the worker busy...
    QSignalSpy finished(panel.proxy(), &LogFilterProxy::filteringFinished);
    QTest::keyClicks(edit, QStringLiteral("preview ~ \"7\""));
    QTRY_VERIFY(panel.proxy()->isBusy());
    QCOMPARE(edit->statusLabel()->text(), QStringLiteral("Filtering\u2026"));
    // ...while the field takes each keystroke at once, each one cancelling the last
    // run: every key is echoed while a worker is still filtering, so none of them
    // waited for a filter to finish. (How fast that is, is measured by
    // scripts/guibench.sh, not here.)
    QElapsedTimer timer;
    qint64 worst = 0;
    for (const char c : QByteArray(" || text ~ \"77\"")) {
        timer.start();
        QTest::keyClick(edit, c);
        QCoreApplication::processEvents();
        worst = std::max(worst, timer.elapsed());
        QVERIFY(edit->text().endsWith(QLatin1Char(c)));
        QVERIFY(panel.proxy()->isBusy());
    }
    qInfo("worst keystroke while filtering: %lld ms", worst);
    QVERIFY(finished.wait(30'000) || !panel.proxy()->isBusy());
    QTRY_VERIFY(!panel.proxy()->isBusy());
    QCOMPARE(panel.proxy()->displayFilter(), QStringLiteral("preview ~ \"7\" || text ~ \"77\""));
    int expected = 0;
    for (int i = 0; i < 300'000; ++i)
        expected += QByteArray::number(i).contains('7') ? 1 : 0;
    QCOMPARE(panel.proxy()->rowCount(), expected);
}

QTEST_MAIN(TestDisplayFilterEdit)
#include "tst_displayfilteredit.moc"

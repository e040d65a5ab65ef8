// The session diff window: two logs side by side, coloured rows, the detail pane,
// difference navigation, ignored paths edited and re-run, and File > Compare
// sessions… in the main window, on the offscreen platform.

#include "guitesthelpers.h"

#include "log/jsonlinesfile.h"
#include "log/logstore.h"
#include "models/sessiondiffmodel.h"
#include "windows/mainwindow.h"
#include "windows/sessiondiffwindow.h"

#include <QAction>
#include <QCheckBox>
#include <QColor>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QPlainTextEdit>
#include <QPointer>
#include <QPushButton>
#include <QSpinBox>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

using namespace ws;
using namespace wstest;

namespace {

struct Message {
    bool outgoing;
    QByteArray payload;
    log::LogKind kind = log::LogKind::Text;
};

// A client's log of `messages`, 10 ms apart, saved as JSON Lines at `path`.
bool saveLog(const QString &path, const QList<Message> &messages) {
    log::LogStore store;
    store.setConnectionInfo(1, {QStringLiteral("client"), QStringLiteral("ws://127.0.0.1:1/")});
    qint64 t = 1'700'000'000'000'000;
    for (const Message &m : messages) {
        log::LogRecord r;
        r.connection = 1;
        r.kind = m.kind;
        r.timestampUs = t += 10'000;
        r.payload = m.payload;
        r.length = quint64(m.payload.size());
        r.frameCount = 1;
        r.set(log::LogRecord::InMessageView);
        r.set(log::LogRecord::Outgoing, m.outgoing);
        store.appendRecord(r);
    }
    return log::JsonLinesFile::save(store, path);
}

QString kinds(const SessionDiffModel &model) {
    QString out;
    for (int row = 0; row < model.rowCount(); ++row) {
        switch (model.pairAt(row).kind) {
        case log::DiffKind::Equal:
            out += QLatin1Char('=');
            break;
        case log::DiffKind::Changed:
            out += QLatin1Char('~');
            break;
        case log::DiffKind::Missing:
            out += QLatin1Char('-');
            break;
        case log::DiffKind::Extra:
            out += QLatin1Char('+');
            break;
        }
    }
    return out;
}

} // namespace

class TestSessionDiffWindow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        QVERIFY(setUpWindowTests(m_dir.filePath(QStringLiteral("settings")),
                                 QStringLiteral("tst_sessiondiffwindow")));
        m_a = m_dir.filePath(QStringLiteral("a.jsonl"));
        m_b = m_dir.filePath(QStringLiteral("b.jsonl"));
        QVERIFY(saveLog(m_a, {{true, R"({"type":"subscribe","id":1,"ts":100})"},
                              {false, R"({"type":"price","value":1,"ts":101})"},
                              {true, "lost on the way"},
                              {false, "unchanged"},
                              {false, QByteArray::fromHex("0001"), log::LogKind::Binary}}));
        QVERIFY(saveLog(m_b, {{true, R"({"ts":200,"id":1,"type":"subscribe"})"},
                              {false, R"({"type":"price","value":2,"ts":201})"},
                              {false, "unchanged"},
                              {false, "a new notice"},
                              {false, QByteArray::fromHex("0001"), log::LogKind::Binary}}));
    }

    void sideBySide() {
        SessionDiffWindow window;
        window.setFiles(m_a, m_b);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY2(window.compare(), qPrintable(window.errorText()));
        SessionDiffModel *model = window.model();
        // The subscribe differs only in its time stamp (key order does not count),
        // the price in value and time stamp.
        QCOMPARE(kinds(*model), QStringLiteral("~~-=+="));
        QCOMPARE(model->pairAt(0).paths, QStringList{QStringLiteral("$.ts")});
        QCOMPARE(model->pairAt(1).paths,
                 (QStringList{QStringLiteral("$.ts"), QStringLiteral("$.value")}));
        QVERIFY(window.summaryLabel()->text().contains(QLatin1String("Different")));
        QCOMPARE(window.sourcesLabel()->text(),
                 QStringLiteral("A: connection 1 (client, ws://127.0.0.1:1/), 5 messages\n"
                                "B: connection 1 (client, ws://127.0.0.1:1/), 5 messages"));

        // Two aligned columns: A's message and B's on the same row; a missing message
        // has nothing on B's side, an extra one nothing on A's.
        const auto text = [model](int row, int column) {
            return model->index(row, column).data().toString();
        };
        QCOMPARE(text(2, SessionDiffModel::ColumnA), QStringLiteral("3"));
        QVERIFY(
            text(2, SessionDiffModel::ColumnMessageA).contains(QLatin1String("lost on the way")));
        QVERIFY(text(2, SessionDiffModel::ColumnMessageB).isEmpty());
        QVERIFY(text(4, SessionDiffModel::ColumnMessageA).isEmpty());
        QVERIFY(text(4, SessionDiffModel::ColumnMessageB).contains(QLatin1String("a new notice")));
        QCOMPARE(text(3, SessionDiffModel::ColumnA), QStringLiteral("4"));
        QCOMPARE(text(3, SessionDiffModel::ColumnB), QStringLiteral("3"));

        // Rows coloured by kind: equal rows plain, the others each their own colour.
        const auto background = [model](int row) {
            return model->index(row, SessionDiffModel::ColumnMessageA)
                .data(Qt::BackgroundRole)
                .value<QColor>();
        };
        QVERIFY(!model->index(3, 1).data(Qt::BackgroundRole).isValid());
        QVERIFY(background(0).isValid());
        QCOMPARE(background(0), background(1));
        QVERIFY(background(0) != background(2));
        QVERIFY(background(2) != background(4));
        QVERIFY(background(0) != background(4));

        // The first difference is selected and explained.
        QCOMPARE(window.currentRow(), 0);
        QVERIFY(window.detailView()->toPlainText().contains(
            QLatin1String("Paths that differ:\n  $.ts")));
    }

    void navigation() {
        SessionDiffWindow window;
        window.setFiles(m_a, m_b);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        window.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&window)); // F8 is a window shortcut
        QVERIFY(window.compare());
        QCOMPARE(window.currentRow(), 0);
        QVERIFY(!window.previousDifferenceAction()->isEnabled());
        QVERIFY(window.nextDifferenceAction()->isEnabled());
        // F8 walks the differences and skips the equal row.
        QTest::keyClick(&window, Qt::Key_F8);
        QCOMPARE(window.currentRow(), 1);
        window.nextDifferenceAction()->trigger();
        QCOMPARE(window.currentRow(), 2);
        QVERIFY(window.detailView()->toPlainText().startsWith(QLatin1String("missing in B")));
        window.nextDifferenceAction()->trigger();
        QCOMPARE(window.currentRow(), 4);
        QVERIFY(window.detailView()->toPlainText().contains(QLatin1String("a new notice")));
        QVERIFY(!window.nextDifferenceAction()->isEnabled());
        QTest::keyClick(&window, Qt::Key_F8, Qt::ShiftModifier);
        QCOMPARE(window.currentRow(), 2);
        window.previousDifferenceAction()->trigger();
        window.previousDifferenceAction()->trigger();
        QCOMPARE(window.currentRow(), 0);
        QVERIFY(!window.previousDifferenceAction()->isEnabled());
    }

    void ignoredPathsEditedAndRerun() {
        SessionDiffWindow window;
        window.setFiles(m_a, m_b);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(window.compare());
        QCOMPARE(kinds(*window.model()), QStringLiteral("~~-=+="));
        // Typed into the edit and run with Return.
        window.ignoreEdit()->setFocus();
        QTest::keyClicks(window.ignoreEdit(), QStringLiteral("$..ts"));
        QTest::keyClick(window.ignoreEdit(), Qt::Key_Return);
        QCOMPARE(window.ignorePaths(), QStringList{QStringLiteral("$..ts")});
        QCOMPARE(kinds(*window.model()), QStringLiteral("=~-=+="));
        QCOMPARE(window.model()->pairAt(1).paths, QStringList{QStringLiteral("$.value")});
        QCOMPARE(window.currentRow(), 1);
        // Two paths, with the Compare button.
        window.ignoreEdit()->setText(QStringLiteral("$.ts, $['value']"));
        QTest::mouseClick(window.compareButton(), Qt::LeftButton);
        QCOMPARE(kinds(*window.model()), QStringLiteral("==-=+="));
        // A malformed path is reported, not ignored silently.
        window.ignoreEdit()->setText(QStringLiteral("ts"));
        QVERIFY(!window.compare());
        QVERIFY(window.errorText().contains(QLatin1String("bad JSON path")));
        QVERIFY(window.summaryLabel()->text().contains(QLatin1String("bad JSON path")));
        QCOMPARE(window.model()->rowCount(), 0);
        window.ignoreEdit()->clear();
        QVERIFY(window.compare());
        QCOMPARE(window.model()->rowCount(), 6);
    }

    void timingAndControlOptions() {
        const QString slow = m_dir.filePath(QStringLiteral("slow.jsonl"));
        log::LogStore store;
        qint64 t = 1'700'000'000'000'000;
        for (const char *payload : {"one", "two"}) {
            log::LogRecord r;
            r.connection = 1;
            r.kind = log::LogKind::Text;
            r.timestampUs = t += 500'000;
            r.payload = payload;
            r.set(log::LogRecord::InMessageView);
            r.set(log::LogRecord::Outgoing);
            store.appendRecord(r);
        }
        QVERIFY(log::JsonLinesFile::save(store, slow));
        const QString fast = m_dir.filePath(QStringLiteral("fast.jsonl"));
        QVERIFY(saveLog(fast, {{true, "one"}, {true, "two"}}));
        SessionDiffWindow window;
        window.setFiles(fast, slow);
        QVERIFY(window.compare());
        QVERIFY(window.model()->result().isSame());
        window.timingBox()->setValue(100);
        QVERIFY(window.compare());
        QCOMPARE(window.model()->result().timing, 1);
        QCOMPARE(window.currentRow(), 1);
        QVERIFY(window.detailView()->toPlainText().contains(QLatin1String("timing: 10.0 ms")));
        QVERIFY(window.model()->index(1, 1).data(Qt::BackgroundRole).isValid());
        window.controlBox()->setChecked(true);
        QVERIFY(window.compare()); // no control frames in these logs: the same rows
        QCOMPARE(window.model()->rowCount(), 2);
    }

    void unreadableFile() {
        SessionDiffWindow window;
        window.setFiles(m_a, m_dir.filePath(QStringLiteral("absent.jsonl")));
        QVERIFY(!window.compare());
        QVERIFY(window.errorText().contains(QLatin1String("absent.jsonl")));
        QCOMPARE(window.model()->rowCount(), 0);
    }

    void splitPaths() {
        QCOMPARE(SessionDiffWindow::splitPaths(QStringLiteral(" $.a  $..b,$.c[*].d ")),
                 (QStringList{"$.a", "$..b", "$.c[*].d"}));
        QCOMPARE(SessionDiffWindow::splitPaths(QStringLiteral("$['a b'] $[\"c, d\"]")),
                 (QStringList{"$['a b']", "$[\"c, d\"]"}));
    }

    void openedFromTheFileMenu() {
        MainWindow main;
        main.show();
        QVERIFY(QTest::qWaitForWindowExposed(&main));
        QAction *action = main.compareSessionsAction();
        QVERIFY(action);
        QCOMPARE(action->text(), QStringLiteral("&Compare sessions\u2026"));
        QMenu *fileMenu = nullptr;
        for (QAction *menu : main.menuBar()->actions()) {
            if (menu->text() == QLatin1String("&File"))
                fileMenu = menu->menu();
        }
        QVERIFY(fileMenu);
        QVERIFY(fileMenu->actions().contains(action));

        QPointer<SessionDiffWindow> window = main.compareSessions(m_a, m_b);
        QVERIFY(window);
        QVERIFY(QTest::qWaitForWindowExposed(window));
        QCOMPARE(kinds(*window->model()), QStringLiteral("~~-=+="));
        QVERIFY(window->windowTitle().contains(QLatin1String("a.jsonl")));
        window->close();
        QTRY_VERIFY(window.isNull()); // deleted when closed
        closeWindow(main);
    }

private:
    QTemporaryDir m_dir;
    QString m_a;
    QString m_b;
};

QTEST_MAIN(TestSessionDiffWindow)
#include "tst_sessiondiffwindow.moc"

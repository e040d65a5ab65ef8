// End-to-end tests of the workbench window: a real server hosted from the server
// panel, real connections opened through the new-connection dialog, and sends
// typed into the send box, on the offscreen platform.

#include "connections/connectionhub.h"
#include "controllers/logfilecontroller.h"
#include "dialogs/connectiondetailsdialog.h"
#include "dialogs/helpdialog.h"
#include "dialogs/newconnectiondialog.h"
#include "guitesthelpers.h"
#include "log/harfile.h"
#include "log/jsonlinesfile.h"
#include "log/logstore.h"
#include "models/connectionsmodel.h"
#include "models/logfilterproxy.h"
#include "models/messagelogmodel.h"
#include "widgets/frameinspector.h"
#include "widgets/messagelogview.h"
#include "windows/connectionspanel.h"
#include "windows/logpanel.h"
#include "windows/mainwindow.h"
#include "windows/rttchart.h"
#include "windows/sendbox.h"
#include "windows/serverpanel.h"
#include "windowtestmain.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QCryptographicHash>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QFile>
#include <QFileDialog>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPointer>
#include <QProgressDialog>
#include <QPushButton>
#include <QScrollBar>
#include <QSettings>
#include <QSpinBox>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTableWidget>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBrowser>
#include <QTreeView>
#include <QTreeWidget>

#include <ctime>

#include <memory>

using namespace ws;
using namespace ws::log;
using namespace wstest;

namespace {

// Clicks Cancel in the window's progress dialog as soon as the event loop runs
// (a user cancelling a long load or save); sets *cancelled when it did.
void cancelProgressSoon(QWidget *window, bool *cancelled) {
    QTimer::singleShot(0, window, [window, cancelled] {
        // In the window, or in the one a file opens in beside it.
        QProgressDialog *dialog = window->findChild<QProgressDialog *>();
        for (QWidget *top : QApplication::topLevelWidgets()) {
            if (!dialog)
                dialog = top->findChild<QProgressDialog *>();
        }
        auto *button = dialog ? dialog->findChild<QPushButton *>() : nullptr;
        if (button) {
            button->click();
            *cancelled = true;
        }
    });
}

constexpr int Timeout = 5000;

// Answers the file dialog the window is about to run (exec() blocks the caller):
// picks `path` and accepts, or cancels when `path` is empty. Sets *seen when a
// dialog came.
void answerFileDialogSoon(QObject *context, const QString &path, bool *seen) {
    QTimer::singleShot(0, context, [context, path, seen] {
        auto *dialog = qobject_cast<QFileDialog *>(QApplication::activeModalWidget());
        if (!dialog) {
            answerFileDialogSoon(context, path, seen); // not shown yet
            return;
        }
        *seen = true;
        if (path.isEmpty()) {
            dialog->reject();
            return;
        }
        dialog->setDirectory(QFileInfo(path).absolutePath());
        dialog->selectFile(QFileInfo(path).fileName());
        // QFileDialog's own accept() (the Save button's: default suffix, overwrite check).
        static_cast<QDialog *>(dialog)->accept();
    });
}

// A port nobody listens on right now (the OS picks it).
quint16 freePort() {
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    return probe.serverPort();
}

// Every cell's text, row by row, as the log shows it.
QStringList rowTexts(const QAbstractItemModel &model) {
    QStringList rows;
    for (int row = 0; row < model.rowCount(); ++row) {
        QStringList cells;
        for (int column = 0; column < model.columnCount(); ++column)
            cells.append(model.index(row, column).data().toString());
        rows.append(cells.join(QLatin1Char('|')));
    }
    return rows;
}

// A misbehaving server: completes the opening handshake by hand (RFC 6455 §4.2.2),
// then sends whatever bytes it was given.
class RawPeer : public QObject {
public:
    explicit RawPeer(QByteArray afterHandshake)
        : m_afterHandshake(std::move(afterHandshake)) {
        QObject::connect(&m_server, &QTcpServer::newConnection, this, [this] {
            m_socket = m_server.nextPendingConnection();
            QObject::connect(m_socket, &QTcpSocket::readyRead, this, [this] { onData(); });
        });
    }
    bool listen() { return m_server.listen(QHostAddress::LocalHost, 0); }
    quint16 port() const { return m_server.serverPort(); }

private:
    void onData() {
        m_request += m_socket->readAll();
        if (m_answered || !m_request.contains("\r\n\r\n"))
            return;
        QByteArray key;
        for (const QByteArray &line : m_request.split('\n')) {
            if (line.toLower().startsWith("sec-websocket-key:"))
                key = line.mid(line.indexOf(':') + 1).trimmed();
        }
        const QByteArray accept =
            QCryptographicHash::hash(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11",
                                     QCryptographicHash::Sha1)
                .toBase64();
        m_socket->write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
                        accept + "\r\n\r\n" + m_afterHandshake);
        m_answered = true;
    }

    QTcpServer m_server;
    QTcpSocket *m_socket = nullptr;
    QByteArray m_request;
    QByteArray m_afterHandshake;
    bool m_answered = false;
};

// A log file of `count` short text messages on one connection.
bool writeLargeLog(const QString &path, int count, QString *error) {
    LogStore store;
    recordManyMessages(store, count);
    return JsonLinesFile::save(store, path, error);
}

} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void echoThroughTheWindow();
    void pingShowsRoundTrip();
    void chartDrawsConnectionsThatCarriedSomething();
    void closeWithCodeAndReason();
    void malformedFrameIsAnErrorRow();
    void rawFrameWithReservedOpcode();
    void saveAndReopenLog();
    void settingsSurviveRecreation();
    void firstStartOneClickEcho();
    void oneClickEchoFallsBackWhenPortTaken();
    void closingWindowClosesConnections();
    void closingWindowWhileConnecting();
    void wssAndDeflateOptionsFromTheDialog();
    void jsonIsValidatedAsYouType();
    void historyAndSnippets();
    void serverPanelSendsAndDisconnects();
    void treeScopesTheLog();
    void bindAllInterfacesWarns();
    void pongPolicyFromTheDialog();
    void rejectedHandshakeIsReported();
    void contextMenuCopiesAndResends();
    void openLargeLogKeepsEventsFlowing();
    void cancelledOpenLeavesLogAlone();
    void saveLargeLogKeepsEventsFlowing();
    void cancelledSaveLeavesFileAlone();
    void openLogBesideLiveTraffic();
    void fileShortcutsAndDefaultSuffix();
    void reconnectClosedConnection();
    void quitAsksWhenConnectionsAreLive();
    void helpShowsGuideAndShortcuts();
    void statusMessagesClearWhenStale();
    void scopeChangeClearsOrFollowsInspector();
    void echoAndConnectHonoursDeflate();
    void detailsDialogShowsEverything();
    void layoutAt1024x700();
    void layoutAt1920x1080();

private:
    std::unique_ptr<MainWindow> createWindow();
    // Opens a connection through the dialog, as a user would; returns its id.
    quint32 connectThroughDialog(MainWindow &window, const QString &url);
    // Starts the panel's echo server and connects to it through the dialog; returns
    // the connection's id once it is open, 0 when it does not open in time.
    quint32 connectToEchoServer(MainWindow &window);
    // Types `text` into the send box in `mode` and sends it with Ctrl+Enter.
    void typeAndSend(MainWindow &window, SendBox::Mode mode, const QString &text);

    QTemporaryDir m_settingsDir;
};

void TestMainWindow::initTestCase() {
    QVERIFY(m_settingsDir.isValid());
    QVERIFY(setUpWindowTests(m_settingsDir.path(), QStringLiteral("tst_mainwindow")));
}

void TestMainWindow::init() {
    QSettings().clear();
}

void TestMainWindow::cleanup() {
    // deleteLater()s of finished connections and dialogs.
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
}

std::unique_ptr<MainWindow> TestMainWindow::createWindow() {
    auto window = std::make_unique<MainWindow>();
    window->setWelcomePort(freePort());
    window->show();
    if (!QTest::qWaitForWindowExposed(window.get()))
        return nullptr;
    return window;
}

quint32 TestMainWindow::connectThroughDialog(MainWindow &window, const QString &url) {
    window.newConnectionAction()->trigger();
    NewConnectionDialog *dialog = nullptr;
    for (NewConnectionDialog *candidate : window.findChildren<NewConnectionDialog *>()) {
        if (candidate->isVisible())
            dialog = candidate;
    }
    if (!dialog)
        return 0;
    QLineEdit *edit = dialog->urlCombo()->lineEdit();
    edit->selectAll();
    QTest::keyClicks(edit, url);
    QTest::mouseClick(dialog->connectButton(), Qt::LeftButton);
    if (dialog->isVisible())
        return 0;
    return window.connectionsPanel()->selectedId();
}

quint32 TestMainWindow::connectToEchoServer(MainWindow &window) {
    const quint16 port = startEchoServer(window);
    const quint32 client =
        connectThroughDialog(window, QStringLiteral("ws://127.0.0.1:%1/").arg(port));
    if (!QTest::qWaitFor([&] { return window.hub()->isOpen(client); }, Timeout))
        return 0;
    return client;
}

void TestMainWindow::typeAndSend(MainWindow &window, SendBox::Mode mode, const QString &text) {
    SendBox *box = window.sendBox();
    box->modeCombo()->setCurrentIndex(box->modeCombo()->findData(int(mode)));
    box->editor()->clear();
    box->editor()->setFocus();
    QTest::keyClicks(box->editor(), text);
    QTest::keyClick(box->editor(), Qt::Key_Return, Qt::ControlModifier);
}

void TestMainWindow::echoThroughTheWindow() {
    auto window = createWindow();
    QVERIFY(window);
    const quint16 port = startEchoServer(*window);
    QVERIFY(port != 0);
    QCOMPARE(window->serverPanel()->testPageUrl(),
             QStringLiteral("http://127.0.0.1:%1/").arg(port));
    QVERIFY(window->serverPanel()->linkLabel()->openExternalLinks());
    QVERIFY(window->serverPanel()->linkLabel()->text().contains(
        QStringLiteral("http://127.0.0.1:%1/").arg(port)));

    const quint32 client =
        connectThroughDialog(*window, QStringLiteral("ws://127.0.0.1:%1/chat").arg(port));
    QVERIFY(client != 0);
    ConnectionHub *hub = window->hub();
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(client), Timeout);
    QCOMPARE(hub->info(client)->kind, EndpointInfo::Kind::Client);
    // The server's side of it appears under the server.
    QTRY_COMPARE_WITH_TIMEOUT(hub->clientsOf(window->serverPanel()->serverId()).size(), 1, Timeout);

    typeAndSend(*window, SendBox::Mode::Text, QStringLiteral("hello workbench"));
    MessageLogModel *log = window->logModel();
    const qsizetype echo =
        waitForRecord(*log, client, incoming(LogKind::Text, "hello workbench"), Timeout);
    QVERIFY(echo >= 0);
    const qsizetype sent = findRecord(*log, client, outgoing(LogKind::Text));
    QVERIFY(sent >= 0 && sent < echo);
    QCOMPARE(window->sendBox()->statusLabel()->text(), QStringLiteral("Sent to 1 connection(s)"));

    // The echo, selected in the log, in the inspector: an unmasked server text frame.
    log->flush();
    QVERIFY(window->logPanel()->view()->selectStoreIndex(echo));
    FrameInspector *inspector = window->inspector();
    QTRY_VERIFY(inspector->hasRecord());
    QCOMPARE(inspector->storeIndex(), echo);
    QCOMPARE(inspector->findItem(QStringLiteral("Direction"))->text(1), QStringLiteral("received"));
    QCOMPARE(inspector->fieldItem(HeaderField::Fin)->text(1), QStringLiteral("1"));
    QCOMPARE(inspector->fieldItem(HeaderField::Opcode)->text(1), QStringLiteral("0x1"));
    QCOMPARE(inspector->fieldItem(HeaderField::Mask)->text(1), QStringLiteral("0"));
    QCOMPARE(inspector->fieldItem(HeaderField::PayloadLength7)->text(1), QStringLiteral("15"));
    QVERIFY(!inspector->fieldItem(HeaderField::MaskingKey));
    QCOMPARE(inspector->textView()->toPlainText(), QStringLiteral("hello workbench"));

    // What we sent: masked with a key (RFC 6455 §5.3).
    QVERIFY(window->logPanel()->view()->selectStoreIndex(sent));
    QTRY_COMPARE(inspector->storeIndex(), sent);
    QCOMPARE(inspector->findItem(QStringLiteral("Direction"))->text(1), QStringLiteral("sent"));
    QCOMPARE(inspector->fieldItem(HeaderField::Mask)->text(1), QStringLiteral("1"));
    QVERIFY(inspector->fieldItem(HeaderField::MaskingKey));
    QVERIFY(
        inspector->fieldItem(HeaderField::MaskingKey)->text(1).startsWith(QStringLiteral("0x")));

    // The tree counts it.
    QTRY_VERIFY_WITH_TIMEOUT(
        hub->info(client)->messagesIn == 1 && hub->info(client)->messagesOut == 1, Timeout);
    ConnectionsModel *tree = window->connectionsPanel()->model();
    QTRY_COMPARE(tree->indexOf(client, ConnectionsModel::StateColumn).data().toString(),
                 QStringLiteral("open"));
    QCOMPARE(tree->indexOf(client, ConnectionsModel::AddressColumn).data().toString(),
             QStringLiteral("ws://127.0.0.1:%1/chat").arg(port));
    QVERIFY(tree->indexOf(client, ConnectionsModel::MessagesColumn)
                .data()
                .toString()
                .startsWith(QStringLiteral("1 ")));
    closeWindow(*window);
}

void TestMainWindow::pingShowsRoundTrip() {
    auto window = createWindow();
    QVERIFY(window);
    const quint32 client = connectToEchoServer(*window);
    QVERIFY(client != 0);

    typeAndSend(*window, SendBox::Mode::Ping, QStringLiteral("are you there"));
    MessageLogModel *log = window->logModel();
    const qsizetype pong = waitForRecord(*log, client, ofKind(LogKind::Pong), Timeout);
    QVERIFY(pong >= 0);
    const LogRecord &record = log->store().at(pong);
    QVERIFY(!record.has(LogRecord::Outgoing));
    QVERIFY(record.has(LogRecord::HasRoundTrip));
    QVERIFY(record.roundTripUs >= 0);
    QVERIFY(record.roundTripUs < 5'000'000);
    QCOMPARE(record.payload, QByteArray("are you there"));
    log->flush();
    const int row = log->rowOfStoreIndex(pong);
    QVERIFY(row >= 0);
    QVERIFY(log->index(row, MessageLogModel::PreviewColumn)
                .data()
                .toString()
                .startsWith(QStringLiteral("RTT ")));
    // The ping went out, and the chart has the point.
    QVERIFY(findRecord(*log, client, outgoing(LogKind::Ping)) >= 0);
    QTRY_COMPARE(window->rttChart()->roundTripCount(), 1);
    // The chart samples the hub's message counters itself: the first sample of a
    // connection is where its rate starts, the second is a rate.
    RttChart *chart = window->rttChart();
    const int rates = chart->rateCount();
    chart->sampleRates();
    chart->sampleRates();
    QVERIFY(chart->rateCount() > rates);

    // The inspector shows the round trip.
    QVERIFY(window->logPanel()->view()->selectStoreIndex(pong));
    QTRY_VERIFY(window->inspector()->findItem(QStringLiteral("Round trip")));
    QVERIFY(window->inspector()
                ->findItem(QStringLiteral("Round trip"))
                ->text(1)
                .contains(QStringLiteral("ms")));

    // A ping over 125 bytes is refused before it leaves (RFC 6455 §5.5).
    SendBox *box = window->sendBox();
    box->editor()->setPlainText(QString(126, QLatin1Char('x')));
    QVERIFY(!box->isInputValid());
    QVERIFY(!box->send());
    QVERIFY(box->statusLabel()->text().startsWith(QStringLiteral("Not sent")));
    closeWindow(*window);
}

void TestMainWindow::chartDrawsConnectionsThatCarriedSomething() {
    auto window = createWindow();
    QVERIFY(window);
    const quint16 port = startEchoServer(*window);
    QVERIFY(port != 0);
    const QString url = QStringLiteral("ws://127.0.0.1:%1/").arg(port);
    ConnectionHub *hub = window->hub();
    RttChart *chart = window->rttChart();

    // Open at one sample, closed at the next having carried nothing: no line, so that a
    // flood of short connections does not fill the chart and its legend.
    const quint32 idle = connectThroughDialog(*window, url);
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(idle), Timeout);
    chart->clear();
    chart->sampleRates();
    QCOMPARE(hub->sendClose(idle, 1000, {}), SendError::None);
    // Its server side too, which the chart samples as well.
    const quint32 server = window->serverPanel()->serverId();
    const auto serverSidesEnded = [&] {
        const QList<quint32> clients = hub->clientsOf(server);
        return !clients.isEmpty() && std::all_of(clients.begin(), clients.end(), [&](quint32 id) {
            return hub->info(id)->finished;
        });
    };
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(idle)->finished && serverSidesEnded(), Timeout);
    chart->sampleRates();
    QCOMPARE(chart->seriesCount(), 0);
    QCOMPARE(chart->rateCount(), 0);

    // One that carried a message between the samples has its line, named as in the tree.
    const quint32 busy = connectThroughDialog(*window, url);
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(busy), Timeout);
    chart->sampleRates();
    QCOMPARE(hub->sendText(busy, "hello"), SendError::None);
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(busy)->messagesIn == 1, Timeout);
    QCOMPARE(hub->sendClose(busy, 1000, {}), SendError::None);
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(busy)->finished, Timeout);
    chart->sampleRates();
    QVERIFY(chart->colorOf(busy).isValid());
    QCOMPARE(chart->nameOf(busy), hub->info(busy)->name);
    QVERIFY(!chart->colorOf(idle).isValid());
    closeWindow(*window);
}

void TestMainWindow::closeWithCodeAndReason() {
    auto window = createWindow();
    QVERIFY(window);
    const quint32 client = connectToEchoServer(*window);
    QVERIFY(client != 0);

    SendBox *box = window->sendBox();
    box->modeCombo()->setCurrentIndex(box->modeCombo()->findData(int(SendBox::Mode::Close)));
    QVERIFY(!box->editor()->isVisible());
    const int item = box->closeCodeCombo()->findText(QStringLiteral("4000"), Qt::MatchStartsWith);
    QVERIFY(item >= 0);
    box->closeCodeCombo()->setCurrentIndex(item);
    QTest::keyClicks(box->closeReasonEdit(), QStringLiteral("bye"));
    QVERIFY(box->isInputValid());
    QTest::mouseClick(box->sendButton(), Qt::LeftButton);

    MessageLogModel *log = window->logModel();
    ConnectionHub *hub = window->hub();
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(client)->finished, Timeout);
    const qsizetype ours = findRecord(*log, client, outgoing(LogKind::Close));
    const qsizetype theirs = findRecord(*log, client, incoming(LogKind::Close));
    QVERIFY(ours >= 0);
    QVERIFY(theirs > ours);
    QCOMPARE(log->store().at(ours).closeCode, quint16(4000));
    QCOMPARE(log->store().at(ours).closeReason(), QByteArray("bye"));
    // RFC 6455 §5.5.1: the answer echoes the code.
    QCOMPARE(log->store().at(theirs).closeCode, quint16(4000));
    log->flush();
    const int row = log->rowOfStoreIndex(ours);
    QCOMPARE(log->index(row, MessageLogModel::PreviewColumn).data().toString(),
             QStringLiteral("4000 private use (application): bye"));

    // The server saw the same close frame, reason included.
    const quint32 serverClient = hub->clientsOf(window->serverPanel()->serverId()).value(0);
    QVERIFY(serverClient != 0);
    QTRY_VERIFY_WITH_TIMEOUT(findRecord(*log, serverClient,
                                        [](const LogRecord &r) {
                                            return r.kind == LogKind::Close &&
                                                   !r.has(LogRecord::Outgoing) &&
                                                   r.closeCode == 4000 && r.closeReason() == "bye";
                                        }) >= 0,
                             Timeout);

    // The tree says how it ended.
    QCOMPARE(hub->info(client)->closeCode, std::optional<quint16>(4000));
    QVERIFY(hub->info(client)->cleanClose);
    QTRY_COMPARE(window->connectionsPanel()
                     ->model()
                     ->indexOf(client, ConnectionsModel::StateColumn)
                     .data()
                     .toString(),
                 QStringLiteral("closed 4000 (private use (application))"));
    closeWindow(*window);
}

void TestMainWindow::malformedFrameIsAnErrorRow() {
    // RFC 6455 §5.7's masked "Hello": a server must never mask (§5.1).
    RawPeer peer(QByteArray::fromHex("818537fa213d7f9f4d5158"));
    QVERIFY(peer.listen());
    auto window = createWindow();
    QVERIFY(window);
    const quint32 client =
        connectThroughDialog(*window, QStringLiteral("ws://127.0.0.1:%1/").arg(peer.port()));
    QVERIFY(client != 0);
    ConnectionHub *hub = window->hub();

    // In the log: an error row, painted as one.
    MessageLogModel *log = window->logModel();
    const qsizetype error = waitForRecord(*log, client, ofKind(LogKind::Error), Timeout);
    QVERIFY(error >= 0);
    // Failing the connection closes TCP at once (RFC 6455 §7.1.7).
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(client)->finished, Timeout);
    QVERIFY(log->store().at(error).isError());
    QCOMPARE(log->store().at(error).closeCode, quint16(1002));
    log->flush();
    const int row = log->rowOfStoreIndex(error);
    QVERIFY(row >= 0);
    QVERIFY(log->index(row, 0).data(MessageLogModel::IsErrorRole).toBool());
    QVERIFY(log->index(row, MessageLogModel::PreviewColumn)
                .data()
                .toString()
                .startsWith(QStringLiteral("MaskedServerFrame")));

    // On the tree node and in the status bar.
    const QString reason = hub->info(client)->error;
    QVERIFY(!reason.isEmpty());
    QVERIFY(reason.contains(QStringLiteral("mask"), Qt::CaseInsensitive));
    const QModelIndex node = window->connectionsPanel()->model()->indexOf(client);
    QCOMPARE(node.data(ConnectionsModel::ErrorRole).toString(), reason);
    QVERIFY(window->connectionsPanel()
                ->model()
                ->indexOf(client, ConnectionsModel::StateColumn)
                .data()
                .toString()
                .contains(reason));
    QVERIFY(window->statusBar()->currentMessage().contains(reason));

    // The connection was failed with 1002 (RFC 6455 §7.4.1).
    QCOMPARE(hub->info(client)->closeCode, std::optional<quint16>(1002));
    closeWindow(*window);
}

void TestMainWindow::rawFrameWithReservedOpcode() {
    auto window = createWindow();
    QVERIFY(window);
    const quint32 client = connectToEchoServer(*window);
    QVERIFY(client != 0);

    // Opcode 0x3 is reserved (RFC 6455 §5.2): our own server must fail the connection.
    SendBox *box = window->sendBox();
    box->modeCombo()->setCurrentIndex(box->modeCombo()->findData(int(SendBox::Mode::Raw)));
    box->opcodeSpin()->setValue(3);
    box->maskingKeyEdit()->setText(QStringLiteral("37fa213d"));
    box->editor()->setPlainText(QStringLiteral("Hello"));
    const auto frame = box->rawFrame();
    QVERIFY(frame);
    QCOMPARE(frame->opcode, quint8(3));
    QCOMPARE(frame->maskingKey, std::optional<quint32>(0x37fa213d));
    QTest::keyClick(box->editor(), Qt::Key_Return, Qt::ControlModifier);

    MessageLogModel *log = window->logModel();
    QTRY_VERIFY_WITH_TIMEOUT(window->hub()->info(client)->finished, Timeout);
    const qsizetype sent = findRecord(*log, client, outgoing(LogKind::Reserved));
    QVERIFY(sent >= 0);
    // Exactly the bytes of RFC 6455 §5.7, with the opcode changed.
    QCOMPARE(log->store().at(sent).rawHeader().toByteArray(), QByteArray::fromHex("838537fa213d"));
    QCOMPARE(log->store().at(sent).maskedPayload(), QByteArray::fromHex("7f9f4d5158"));
    const qsizetype answer = findRecord(*log, client, incoming(LogKind::Close));
    QVERIFY(answer > sent);
    QCOMPARE(log->store().at(answer).closeCode, quint16(1002));
    closeWindow(*window);
}

void TestMainWindow::saveAndReopenLog() {
    auto window = createWindow();
    QVERIFY(window);
    const quint32 client = connectToEchoServer(*window);
    QVERIFY(client != 0);
    typeAndSend(*window, SendBox::Mode::Text, QStringLiteral("first"));
    typeAndSend(*window, SendBox::Mode::Json, QStringLiteral("{\"n\":2}"));
    window->sendBox()->fragmentCheck()->setChecked(true);
    window->sendBox()->fragmentSizeSpin()->setValue(4);
    typeAndSend(*window, SendBox::Mode::Text, QStringLiteral("in three parts"));
    window->sendBox()->fragmentCheck()->setChecked(false);
    typeAndSend(*window, SendBox::Mode::Binary, QStringLiteral("00 ff 10"));
    typeAndSend(*window, SendBox::Mode::Ping, QStringLiteral("p"));
    MessageLogModel *log = window->logModel();
    QVERIFY(waitForRecord(*log, client, ofKind(LogKind::Pong), Timeout) >= 0);
    // Closed first, so that nothing is logged between saving and opening.
    window->hub()->closeAll(1000);
    QTRY_VERIFY_WITH_TIMEOUT(!window->hub()->hasLiveEndpoints(), Timeout);
    log->flush();
    window->logPanel()->framesAction()->trigger();
    const QStringList frames = rowTexts(*log);
    window->logPanel()->messagesAction()->trigger();
    const QStringList messages = rowTexts(*log);
    QVERIFY(messages.size() > 10);
    QVERIFY(frames.size() > messages.size()); // the fragments

    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("log.jsonl"));
    QString error;
    QVERIFY2(window->saveLog(path, &error), qPrintable(error));
    // The window holds rows: the file opens in a window of its own.
    const QPointer<MainWindow> opened = window->openLog(path, &error);
    QVERIFY2(opened, qPrintable(error));
    QVERIFY(opened != window.get());
    QCOMPARE(rowTexts(*log), messages);
    MessageLogModel *openedLog = opened->logModel();
    opened->logPanel()->messagesAction()->trigger();
    // The same rows, their connections named after the file.
    const QString mark = QStringLiteral(" [log.jsonl]");
    QStringList reopened = rowTexts(*openedLog);
    for (const QString &row : std::as_const(reopened))
        QVERIFY2(row.contains(mark), qPrintable(row));
    QCOMPARE(reopened.replaceInStrings(mark, QString()), messages);
    opened->logPanel()->framesAction()->trigger();
    QCOMPARE(rowTexts(*openedLog).replaceInStrings(mark, QString()), frames);
    // The file's connections are in the tree, and the "All" node shows them.
    int archived = 0;
    for (const quint32 id : opened->hub()->ids())
        archived += opened->hub()->info(id)->kind == EndpointInfo::Kind::Archived;
    QCOMPARE(archived, 2); // the client and the server's side of it
    QCOMPARE(opened->logPanel()->proxy()->rowCount(), openedLog->rowCount());

    // HAR out and in: the data messages survive, in a window of their own again.
    const QString har = dir.filePath(QStringLiteral("log.har"));
    QVERIFY2(opened->exportHar(har, &error), qPrintable(error));
    const qsizetype before = openedLog->store().size();
    const QPointer<MainWindow> imported = opened->importHar(har, &error);
    QVERIFY2(imported, qPrintable(error));
    QVERIFY(imported != opened);
    QCOMPARE(openedLog->store().size(), before);
    QVERIFY(findRecord(*imported->logModel(), imported->hub()->ids().value(0),
                       outgoing(LogKind::Text)) >= 0);
    // Exported again from there, it is the same file.
    const QString again = dir.filePath(QStringLiteral("again.har"));
    QVERIFY2(imported->exportHar(again, &error), qPrintable(error));
    QFile first(har);
    QFile second(again);
    QVERIFY(first.open(QIODevice::ReadOnly) && second.open(QIODevice::ReadOnly));
    QCOMPARE(second.readAll(), first.readAll());
    imported->close();
    opened->close();
    QTRY_VERIFY(!imported && !opened); // file windows go when closed
    closeWindow(*window);
}

void TestMainWindow::settingsSurviveRecreation() {
    const quint16 port = freePort();
    QVERIFY(port != 0);
    const QString url = QStringLiteral("ws://127.0.0.1:%1/settings").arg(port);
    {
        auto window = createWindow();
        QVERIFY(window);
        ServerPanel *panel = window->serverPanel();
        panel->portSpin()->setValue(port);
        panel->modeCombo()->setCurrentIndex(
            panel->modeCombo()->findText(QStringLiteral("greeting")));
        panel->greetingEdit()->setText(QStringLiteral("hi there"));
        QTest::mouseClick(panel->startButton(), Qt::LeftButton);
        QCOMPARE(panel->boundPort(), port);
        const quint32 client = connectThroughDialog(*window, url);
        QTRY_VERIFY_WITH_TIMEOUT(window->hub()->isOpen(client), Timeout);
        // Greeting mode greets.
        QTRY_VERIFY_WITH_TIMEOUT(findRecord(*window->logModel(), client,
                                            [](const LogRecord &r) {
                                                return r.kind == LogKind::Text &&
                                                       r.payload == "hi there";
                                            }) >= 0,
                                 Timeout);
        window->sendBox()->editor()->setPlainText(QStringLiteral("kept"));
        window->sendBox()->saveSnippet(QStringLiteral("my snippet"));
        window->findChild<QDockWidget *>(QStringLiteral("chartDock"))->hide();
        closeWindow(*window);
    }
    auto window = createWindow();
    QVERIFY(window);
    QCOMPARE(window->serverPanel()->portSpin()->value(), int(port));
    QCOMPARE(window->serverPanel()->modeCombo()->currentText(), QStringLiteral("greeting"));
    QCOMPARE(window->serverPanel()->greetingEdit()->text(), QStringLiteral("hi there"));
    QVERIFY(window->findChild<QDockWidget *>(QStringLiteral("chartDock"))->isHidden());
    QVERIFY(!window->findChild<QDockWidget *>(QStringLiteral("inspectorDock"))->isHidden());
    QCOMPARE(window->sendBox()->snippetNames(), QStringList{QStringLiteral("my snippet")});
    QCOMPARE(NewConnectionDialog::recentUrls().value(0), url);
    window->newConnectionAction()->trigger();
    auto *dialog = window->findChild<NewConnectionDialog *>();
    QVERIFY(dialog);
    QCOMPARE(dialog->urlCombo()->currentText(), url);
    QCOMPARE(dialog->urlCombo()->itemText(0), url);
    dialog->reject();
    closeWindow(*window);
}

void TestMainWindow::firstStartOneClickEcho() {
    auto window = createWindow();
    QVERIFY(window);
    // Not an empty window: the welcome page offers the one-click echo.
    QVERIFY(window->isShowingWelcome());
    QVERIFY(window->welcomeEchoButton()->isVisible());
    QVERIFY(window->welcomeEchoButton()->text().contains(
        QStringLiteral("127.0.0.1:%1").arg(window->welcomePort())));
    QTest::mouseClick(window->welcomeEchoButton(), Qt::LeftButton);

    QVERIFY(!window->isShowingWelcome());
    QVERIFY(window->serverPanel()->isRunning());
    QCOMPARE(window->serverPanel()->boundPort(), window->welcomePort());
    const quint32 client = window->connectionsPanel()->selectedId();
    ConnectionHub *hub = window->hub();
    QVERIFY(hub->info(client));
    QCOMPARE(hub->info(client)->address,
             QStringLiteral("ws://127.0.0.1:%1/").arg(window->welcomePort()));
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(client), Timeout);
    QCOMPARE(window->sendBox()->targets(), QList<quint32>{client});
    typeAndSend(*window, SendBox::Mode::Text, QStringLiteral("echo?"));
    QVERIFY(waitForRecord(*window->logModel(), client, incomingPayload("echo?"), Timeout) >= 0);
    closeWindow(*window);
}

void TestMainWindow::oneClickEchoFallsBackWhenPortTaken() {
    QTcpServer squatter;
    QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
    auto window = createWindow();
    QVERIFY(window);
    window->setWelcomePort(squatter.serverPort());
    const quint32 client = window->hostEchoAndConnect();
    QVERIFY(client != 0);
    QVERIFY(window->serverPanel()->isRunning());
    QVERIFY(window->serverPanel()->boundPort() != squatter.serverPort());
    QVERIFY(window->statusBar()->currentMessage().contains(QStringLiteral("is taken")));
    QTRY_VERIFY_WITH_TIMEOUT(window->hub()->isOpen(client), Timeout);
    closeWindow(*window);
}

void TestMainWindow::closingWindowWhileConnecting() {
    // A connection still connecting is dropped at once (it has no close handshake to
    // do), which finishes it while the window is still handling its close event.
    for (const QString &scheme : {QStringLiteral("ws"), QStringLiteral("wss")}) {
        auto window = createWindow();
        QVERIFY(window);
        const quint16 port = freePort();
        QVERIFY(port != 0);
        const quint32 client = connectThroughDialog(
            *window, QStringLiteral("%1://127.0.0.1:%2/").arg(scheme).arg(port));
        QVERIFY(client != 0);
        QVERIFY(window->hub()->info(client)->isLive());
        window->close();
        QTRY_VERIFY_WITH_TIMEOUT(!window->isVisible(), MainWindow::CloseGraceMs + 1000);
        QVERIFY(!window->hub()->hasLiveEndpoints());
    }
}

void TestMainWindow::closingWindowClosesConnections() {
    auto window = createWindow();
    QVERIFY(window);
    const quint32 client = connectToEchoServer(*window);
    QVERIFY(client != 0);
    ConnectionHub *hub = window->hub();

    QElapsedTimer clock;
    clock.start();
    window->close();
    QVERIFY(window->isVisible()); // waiting for the close handshakes
    QTRY_VERIFY_WITH_TIMEOUT(!window->isVisible(), MainWindow::CloseGraceMs + 1000);
    QVERIFY(clock.elapsed() <= MainWindow::CloseGraceMs + 500);

    // Both ends said goodbye with 1001 and finished cleanly.
    MessageLogModel *log = window->logModel();
    const qsizetype ours = findRecord(*log, client, outgoing(LogKind::Close));
    QVERIFY(ours >= 0);
    QCOMPARE(log->store().at(ours).closeCode, quint16(1001));
    const qsizetype summary = findRecord(
        *log, client, [](const LogRecord &r) { return r.has(LogRecord::ClosedSummary); });
    QVERIFY(summary >= 0);
    QCOMPARE(log->store().at(summary).closeCode, quint16(1001));
    QVERIFY(log->store().at(summary).has(LogRecord::CleanClose));
    QVERIFY(!hub->hasLiveEndpoints());
    QVERIFY(!window->serverPanel()->isRunning());
}

void TestMainWindow::wssAndDeflateOptionsFromTheDialog() {
    auto window = createWindow();
    QVERIFY(window);
    window->newConnectionAction()->trigger();
    auto *dialog = window->findChild<NewConnectionDialog *>();
    QVERIFY(dialog);
    QTRY_VERIFY(dialog->isVisible());
    dialog->urlCombo()->lineEdit()->selectAll();
    QTest::keyClicks(dialog->urlCombo()->lineEdit(), QStringLiteral("wss://example.com/"));
    QVERIFY(dialog->validationError().isEmpty());
    // An extra CA file that cannot be read is refused, naming it.
    QTemporaryDir dir;
    const QString missing = dir.filePath(QStringLiteral("missing-ca.pem"));
    dialog->caFileEdit()->setText(missing);
    QTest::mouseClick(dialog->connectButton(), Qt::LeftButton);
    QVERIFY(dialog->isVisible());
    QVERIFY(dialog->messageLabel()->text().contains(missing));
    QVERIFY(window->hub()->ids().isEmpty());
    QFile ca(missing);
    QVERIFY(ca.open(QIODevice::WriteOnly));
    ca.close();
    QVERIFY(dialog->validationError().isEmpty());
    QCOMPARE(dialog->options().caCertificatesFile, missing);
    // Not offered unless asked for; then with the chosen parameters.
    QCOMPARE(dialog->options().deflate.policy, DeflatePolicy::Refuse);
    QVERIFY(!dialog->clientWindowBitsSpin()->isEnabled());
    dialog->deflateCheck()->setChecked(true);
    QVERIFY(dialog->clientWindowBitsSpin()->isEnabled());
    dialog->clientWindowBitsSpin()->setValue(10);
    dialog->serverWindowBitsSpin()->setValue(12);
    dialog->serverNoContextTakeoverCheck()->setChecked(true);
    const DeflateConfig deflate = dialog->options().deflate;
    QCOMPARE(deflate.policy, DeflatePolicy::Offer);
    QCOMPARE(deflate.clientMaxWindowBits, 10);
    QCOMPARE(deflate.serverMaxWindowBits, 12);
    QVERIFY(deflate.serverNoContextTakeover);
    QVERIFY(!deflate.clientNoContextTakeover);
    // A ws:// URL has no use for the CA file.
    dialog->urlCombo()->setEditText(QStringLiteral("ws://127.0.0.1:1/"));
    QVERIFY(dialog->options().caCertificatesFile.isEmpty());
    dialog->caFileEdit()->clear();
    dialog->deflateCheck()->setChecked(false);

    // A header name that is not a token is refused too.
    dialog->urlCombo()->setEditText(QStringLiteral("ws://127.0.0.1:1/"));
    dialog->addHeader(QStringLiteral("Bad Header"), QStringLiteral("x"));
    QTest::mouseClick(dialog->connectButton(), Qt::LeftButton);
    QVERIFY(dialog->isVisible());
    QVERIFY(dialog->messageLabel()->text().contains(QStringLiteral("Bad Header")));
    dialog->headersTable()->item(0, 0)->setText(QStringLiteral("X-Trace"));
    QVERIFY(dialog->validationError().isEmpty());
    const ClientOptions options = dialog->options();
    QCOMPARE(options.extraHeaders.value("X-Trace"), std::optional<QByteArray>("x"));
    dialog->reject();
    closeWindow(*window);
}

void TestMainWindow::jsonIsValidatedAsYouType() {
    auto window = createWindow();
    QVERIFY(window);
    SendBox *box = window->sendBox();
    box->modeCombo()->setCurrentIndex(box->modeCombo()->findData(int(SendBox::Mode::Json)));
    box->editor()->setFocus();
    QTest::keyClicks(box->editor(), QStringLiteral("{\"a\":"));
    QVERIFY(!box->isInputValid());
    QVERIFY(box->indicator()->text().contains(QStringLiteral("invalid JSON")));
    QVERIFY(box->indicator()->styleSheet().contains(QStringLiteral("#c62828")));
    QTest::keyClicks(box->editor(), QStringLiteral("[1, true]}"));
    QVERIFY(box->isInputValid());
    QVERIFY(box->indicator()->text().contains(QStringLiteral("valid JSON")));
    QVERIFY(box->indicator()->styleSheet().contains(QStringLiteral("#1b5e20")));

    const auto check = [box](const QString &text) {
        box->editor()->setPlainText(text);
        return box->isInputValid();
    };
    QVERIFY(check(QStringLiteral("42")));
    QVERIFY(check(QStringLiteral("\"just a string\"")));
    QVERIFY(!check(QStringLiteral("1, 2")));
    QVERIFY(!check(QStringLiteral("{'single': 1}")));
    // Nothing is open: the send is refused, and says why.
    QVERIFY(!box->send());
    QVERIFY(box->statusLabel()->text().startsWith(QStringLiteral("Not sent")));

    // Binary: hex, checked the same way.
    box->modeCombo()->setCurrentIndex(box->modeCombo()->findData(int(SendBox::Mode::Binary)));
    QVERIFY(check(QStringLiteral("de ad be ef")));
    QCOMPARE(box->payload(), std::optional<QByteArray>(QByteArray::fromHex("deadbeef")));
    QVERIFY(!check(QStringLiteral("de ad b")));
    QVERIFY(!check(QStringLiteral("zz")));
    QTemporaryDir dir;
    QFile file(dir.filePath(QStringLiteral("bytes.bin")));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QByteArray::fromHex("0001feff"));
    file.close();
    QVERIFY(box->loadBinaryFile(file.fileName()));
    QCOMPARE(box->payload(), std::optional<QByteArray>(QByteArray::fromHex("0001feff")));

    // Close codes: typed or picked; a code that must not be sent is flagged.
    box->modeCombo()->setCurrentIndex(box->modeCombo()->findData(int(SendBox::Mode::Close)));
    box->closeCodeCombo()->setEditText(QStringLiteral("3001"));
    QVERIFY(box->isInputValid());
    QCOMPARE(box->closeCode(), std::optional<quint16>(3001));
    box->closeCodeCombo()->setEditText(QStringLiteral("1005"));
    QVERIFY(!box->isInputValid());
    closeWindow(*window);
}

void TestMainWindow::historyAndSnippets() {
    auto window = createWindow();
    QVERIFY(window);
    const quint32 client = connectToEchoServer(*window);
    QVERIFY(client != 0);
    typeAndSend(*window, SendBox::Mode::Text, QStringLiteral("one"));
    typeAndSend(*window, SendBox::Mode::Text, QStringLiteral("two"));
    SendBox *box = window->sendBox();
    QCOMPARE(box->history(), (QStringList{QStringLiteral("one"), QStringLiteral("two")}));
    box->editor()->setPlainText(QStringLiteral("draft"));
    QTest::keyClick(box->editor(), Qt::Key_Up);
    QCOMPARE(box->editor()->toPlainText(), QStringLiteral("two"));
    QTest::keyClick(box->editor(), Qt::Key_Up);
    QCOMPARE(box->editor()->toPlainText(), QStringLiteral("one"));
    QTest::keyClick(box->editor(), Qt::Key_Down);
    QCOMPARE(box->editor()->toPlainText(), QStringLiteral("two"));
    QTest::keyClick(box->editor(), Qt::Key_Down);
    QCOMPARE(box->editor()->toPlainText(), QStringLiteral("draft"));

    box->modeCombo()->setCurrentIndex(box->modeCombo()->findData(int(SendBox::Mode::Json)));
    box->editor()->setPlainText(QStringLiteral("{\"op\":\"subscribe\"}"));
    box->saveSnippet(QStringLiteral("subscribe"));
    box->modeCombo()->setCurrentIndex(box->modeCombo()->findData(int(SendBox::Mode::Text)));
    box->editor()->clear();
    QVERIFY(box->loadSnippet(QStringLiteral("subscribe")));
    QCOMPARE(box->mode(), SendBox::Mode::Json);
    QCOMPARE(box->editor()->toPlainText(), QStringLiteral("{\"op\":\"subscribe\"}"));
    QVERIFY(box->snippetCombo()->findText(QStringLiteral("subscribe")) > 0);
    box->deleteSnippet(QStringLiteral("subscribe"));
    QVERIFY(box->snippetNames().isEmpty());
    closeWindow(*window);

    // The history is written after the sends, not in them; a window closed right
    // after sending still keeps it for the next run.
    window.reset();
    auto again = createWindow();
    QVERIFY(again);
    QCOMPARE(again->sendBox()->history(),
             (QStringList{QStringLiteral("one"), QStringLiteral("two")}));
    closeWindow(*again);
}

void TestMainWindow::serverPanelSendsAndDisconnects() {
    auto window = createWindow();
    QVERIFY(window);
    const quint32 client = connectToEchoServer(*window);
    QVERIFY(client != 0);
    ConnectionHub *hub = window->hub();
    ServerPanel *panel = window->serverPanel();
    QAbstractItemModel *clients = panel->clientList()->model();
    QTRY_COMPARE_WITH_TIMEOUT(clients->rowCount(panel->clientList()->rootIndex()), 1, Timeout);
    const quint32 serverSide = hub->clientsOf(panel->serverId()).value(0);
    // The list shows the peer's number, its address and its state.
    QCOMPARE(clients->columnCount(panel->clientList()->rootIndex()), 3);
    QCOMPARE(clients->headerData(0, Qt::Horizontal).toString(), QStringLiteral("Peer"));
    QCOMPARE(clients->headerData(1, Qt::Horizontal).toString(), QStringLiteral("Address"));
    QCOMPARE(clients->headerData(2, Qt::Horizontal).toString(), QStringLiteral("State"));
    const QModelIndex row = clients->index(0, 0, panel->clientList()->rootIndex());
    QCOMPARE(hub->info(serverSide)->name,
             QStringLiteral("peer 1 of %1").arg(hub->info(panel->serverId())->name));
    QCOMPARE(row.data().toString(), QStringLiteral("peer 1"));
    QCOMPARE(row.siblingAtColumn(1).data().toString(), hub->info(serverSide)->address);
    QTRY_COMPARE_WITH_TIMEOUT(row.siblingAtColumn(2).data().toString(), QStringLiteral("open"),
                              Timeout);
    QCOMPARE(panel->selectedClient(), 0u);
    QVERIFY(!panel->sendToOneButton()->isEnabled());
    panel->selectClient(serverSide);
    QCOMPARE(panel->selectedClient(), serverSide);

    QTest::keyClicks(panel->messageEdit(), QStringLiteral("from the server"));
    QTRY_VERIFY(panel->sendToOneButton()->isEnabled());
    QTest::mouseClick(panel->sendToOneButton(), Qt::LeftButton);
    MessageLogModel *log = window->logModel();
    QVERIFY(waitForRecord(*log, client, incomingPayload("from the server"), Timeout) >= 0);

    panel->disconnectCodeCombo()->setCurrentIndex(panel->disconnectCodeCombo()->findData(4000));
    QTest::mouseClick(panel->disconnectButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(client)->finished, Timeout);
    const qsizetype close = findRecord(*log, client, incoming(LogKind::Close));
    QVERIFY(close >= 0);
    QCOMPARE(log->store().at(close).closeCode, quint16(4000));

    // Stopping the server: Stop, then stopped.
    QTest::mouseClick(panel->startButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!panel->isRunning(), Timeout);
    QCOMPARE(panel->startButton()->text(), QStringLiteral("Start"));
    closeWindow(*window);
}

void TestMainWindow::treeScopesTheLog() {
    auto window = createWindow();
    QVERIFY(window);
    const quint16 port = startEchoServer(*window);
    const quint32 first =
        connectThroughDialog(*window, QStringLiteral("ws://127.0.0.1:%1/a").arg(port));
    const quint32 second =
        connectThroughDialog(*window, QStringLiteral("ws://127.0.0.1:%1/b").arg(port));
    ConnectionHub *hub = window->hub();
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(first) && hub->isOpen(second), Timeout);
    window->connectionsPanel()->select(first);
    typeAndSend(*window, SendBox::Mode::Text, QStringLiteral("to first"));
    window->connectionsPanel()->select(second);
    typeAndSend(*window, SendBox::Mode::Text, QStringLiteral("to second"));
    MessageLogModel *log = window->logModel();
    QVERIFY(waitForRecord(*log, second, incomingPayload("to second"), Timeout) >= 0);
    log->flush();

    LogFilterProxy *proxy = window->logPanel()->proxy();
    const auto connectionsShown = [proxy] {
        QSet<uint> ids;
        for (int row = 0; row < proxy->rowCount(); ++row)
            ids.insert(proxy->index(row, 0).data(MessageLogModel::ConnectionRole).toUInt());
        return ids;
    };
    window->connectionsPanel()->select(first);
    QCOMPARE(connectionsShown(), QSet<uint>{first});
    QCOMPARE(window->sendBox()->targets(), QList<quint32>{first});
    // A server node shows all of its clients' rows, and sends to all of them.
    window->connectionsPanel()->select(window->serverPanel()->serverId());
    QCOMPARE(connectionsShown().size(), 2);
    QCOMPARE(window->sendBox()->targets().size(), 2);
    window->connectionsPanel()->select(0);
    QCOMPARE(proxy->rowCount(), log->rowCount());
    QCOMPARE(connectionsShown().size(), 4);

    // The text filter and the kind filter work through the toolbar.
    QTest::keyClicks(window->logPanel()->filterEdit(),
                     QStringLiteral("text contains \"to first\""));
    // Applied when typing pauses.
    QTRY_COMPARE(proxy->displayFilter(), window->logPanel()->filterEdit()->text());
    QVERIFY(proxy->rowCount() >= 2);
    for (int row = 0; row < proxy->rowCount(); ++row)
        QVERIFY(proxy->index(row, MessageLogModel::PreviewColumn)
                    .data()
                    .toString()
                    .contains(QStringLiteral("to first")));
    window->logPanel()->filterEdit()->clear();
    window->logPanel()->kindAction(LogKind::Text)->setChecked(false);
    for (int row = 0; row < proxy->rowCount(); ++row)
        QVERIFY(proxy->index(row, 0).data(MessageLogModel::KindRole).toInt() != int(LogKind::Text));
    closeWindow(*window);
}

void TestMainWindow::bindAllInterfacesWarns() {
    auto window = createWindow();
    QVERIFY(window);
    ServerPanel *panel = window->serverPanel();
    // 127.0.0.1 unless chosen otherwise.
    QCOMPARE(panel->options().bindAddress, QHostAddress(QHostAddress::LocalHost));
    QVERIFY(!panel->bindWarning()->isVisible());
    panel->bindCombo()->setCurrentIndex(1);
    QVERIFY(panel->bindWarning()->isVisible());
    QCOMPARE(panel->options().bindAddress, QHostAddress(QHostAddress::AnyIPv4));
    panel->bindCombo()->setCurrentIndex(0);
    QVERIFY(!panel->bindWarning()->isVisible());
    closeWindow(*window);
}

void TestMainWindow::pongPolicyFromTheDialog() {
    auto window = createWindow();
    QVERIFY(window);
    const quint16 port = startEchoServer(*window);
    ConnectionHub *hub = window->hub();
    const auto connectWithPolicy = [&](int policy, int delayMs) -> quint32 {
        window->newConnectionAction()->trigger();
        NewConnectionDialog *dialog = nullptr;
        for (NewConnectionDialog *candidate : window->findChildren<NewConnectionDialog *>()) {
            if (candidate->isVisible())
                dialog = candidate;
        }
        if (!dialog)
            return 0;
        dialog->urlCombo()->setEditText(QStringLiteral("ws://127.0.0.1:%1/").arg(port));
        dialog->pongPolicyCombo()->setCurrentIndex(policy);
        dialog->pongDelaySpin()->setValue(delayMs);
        QTest::mouseClick(dialog->connectButton(), Qt::LeftButton);
        return window->connectionsPanel()->selectedId();
    };
    const quint32 delayed = connectWithPolicy(1, 300);
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(delayed), Timeout);
    QCOMPARE(hub->info(delayed)->pongPolicy, QStringLiteral("pongs delayed by 300 ms"));
    QTRY_COMPARE_WITH_TIMEOUT(hub->clientsOf(window->serverPanel()->serverId()).size(), 1, Timeout);
    const quint32 delayedPeer = hub->clientsOf(window->serverPanel()->serverId()).value(0);
    const quint32 dropping = connectWithPolicy(2, 300);
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(dropping), Timeout);
    QCOMPARE(hub->info(dropping)->pongPolicy, QStringLiteral("pings dropped"));
    QTRY_COMPARE_WITH_TIMEOUT(hub->clientsOf(window->serverPanel()->serverId()).size(), 2, Timeout);
    const quint32 droppingPeer = hub->clientsOf(window->serverPanel()->serverId()).value(1);

    // The server pings each client from its node in the tree: the dropping one first.
    MessageLogModel *log = window->logModel();
    window->connectionsPanel()->select(droppingPeer);
    typeAndSend(*window, SendBox::Mode::Ping, QStringLiteral("there?"));
    QVERIFY(waitForRecord(*log, dropping, incoming(LogKind::Ping), Timeout) >= 0);
    window->connectionsPanel()->select(delayedPeer);
    typeAndSend(*window, SendBox::Mode::Ping, QStringLiteral("slow?"));
    const qsizetype pong = waitForRecord(*log, delayedPeer, ofKind(LogKind::Pong), Timeout);
    QVERIFY(pong >= 0);
    QVERIFY(log->store().at(pong).has(LogRecord::HasRoundTrip));
    QVERIFY(log->store().at(pong).roundTripUs >= 300'000);
    // The dropping client saw its ping and never answered, neither at once nor 300 ms
    // later (its ping came in before the delayed client's, whose pong is in). A message
    // it sends now travels behind any pong it sent: once the server has echoed it, such
    // a pong would be in the log.
    window->connectionsPanel()->select(dropping);
    typeAndSend(*window, SendBox::Mode::Text, QStringLiteral("after the ping"));
    QVERIFY(waitForRecord(*log, dropping, incoming(LogKind::Text, "after the ping"), Timeout) >= 0);
    QCOMPARE(findRecord(*log, droppingPeer, ofKind(LogKind::Pong)), qsizetype(-1));
    QCOMPARE(findRecord(*log, dropping, ofKind(LogKind::Pong)), qsizetype(-1));
    closeWindow(*window);
}

void TestMainWindow::rejectedHandshakeIsReported() {
    auto window = createWindow();
    QVERIFY(window);
    ServerPanel *panel = window->serverPanel();
    panel->originsEdit()->setText(QStringLiteral("http://allowed.example"));
    const quint16 port = startEchoServer(*window);
    QCOMPARE(panel->options().allowedOrigins, QList<QByteArray>{"http://allowed.example"});

    window->newConnectionAction()->trigger();
    auto *dialog = window->findChild<NewConnectionDialog *>();
    QVERIFY(dialog);
    dialog->urlCombo()->setEditText(QStringLiteral("ws://127.0.0.1:%1/").arg(port));
    QTest::keyClicks(dialog->originEdit(), QStringLiteral("http://evil.example"));
    QTest::mouseClick(dialog->connectButton(), Qt::LeftButton);
    const quint32 client = window->connectionsPanel()->selectedId();
    ConnectionHub *hub = window->hub();
    QVERIFY(hub->info(client));
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(client)->finished, Timeout);

    // The transport's error text: on the node, in the status bar and as an error row.
    const QString error = hub->info(client)->error;
    QVERIFY(error.contains(QStringLiteral("403")));
    QVERIFY(window->statusBar()->currentMessage().contains(error));
    QCOMPARE(window->connectionsPanel()->model()->indexOf(client).data(ConnectionsModel::ErrorRole),
             QVariant(error));
    MessageLogModel *log = window->logModel();
    const qsizetype row = findRecord(*log, client, [&error](const LogRecord &r) {
        return r.kind == LogKind::Error && r.payload == error.toUtf8();
    });
    QVERIFY(row >= 0);
    QVERIFY(log->store().at(row).isError());
    // The refused handshake itself is logged too, with the server's answer.
    const qsizetype handshake = findRecord(*log, client, ofKind(LogKind::Handshake));
    QVERIFY(handshake >= 0);
    QVERIFY(log->store().extra(handshake));
    QVERIFY(log->store().extra(handshake)->rawResponse.startsWith("HTTP/1.1 403"));
    closeWindow(*window);
}

void TestMainWindow::contextMenuCopiesAndResends() {
    auto window = createWindow();
    QVERIFY(window);
    const quint32 client = connectToEchoServer(*window);
    QVERIFY(client != 0);
    typeAndSend(*window, SendBox::Mode::Binary, QStringLiteral("48 69 00 ff"));
    MessageLogModel *log = window->logModel();
    const qsizetype echo = waitForRecord(*log, client, incoming(LogKind::Binary), Timeout);
    QVERIFY(echo >= 0);
    log->flush();
    LogPanel *panel = window->logPanel();
    QVERIFY(panel->view()->selectStoreIndex(echo));
    panel->copyHexAction()->trigger();
    QCOMPARE(QGuiApplication::clipboard()->text(), QStringLiteral("48 69 00 ff"));
    panel->copyBase64Action()->trigger();
    QCOMPARE(QGuiApplication::clipboard()->text(), QStringLiteral("SGkA/w=="));

    QTemporaryDir dir;
    QString error;
    QVERIFY2(panel->savePayload(echo, dir.filePath(QStringLiteral("p.bin")), &error),
             qPrintable(error));
    QFile saved(dir.filePath(QStringLiteral("p.bin")));
    QVERIFY(saved.open(QIODevice::ReadOnly));
    QCOMPARE(saved.readAll(), QByteArray::fromHex("486900ff"));

    QVERIFY(panel->resendAction()->isEnabled());
    panel->resendAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(findRecord(*log, client, incoming(LogKind::Binary)) > echo, Timeout);
    closeWindow(*window);
}

void TestMainWindow::openLargeLogKeepsEventsFlowing() {
    constexpr int Rows = 100'000;
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("large.jsonl"));
    QString error;
    QVERIFY2(writeLargeLog(path, Rows, &error), qPrintable(error));
    auto window = createWindow();
    QVERIFY(window);

    // Runs only if openLog() handles events while the file loads.
    bool eventHandled = false;
    qsizetype rowsWhileLoading = -1;
    QTimer::singleShot(0, window.get(), [&] {
        eventHandled = true;
        rowsWhileLoading = window->logModel()->store().size();
    });
    QVERIFY2(window->openLog(path, &error), qPrintable(error));
    QVERIFY(eventHandled);
    QCOMPARE(rowsWhileLoading, 0); // the file reaches the log only once it is read
    MessageLogModel *log = window->logModel();
    QCOMPARE(log->store().size(), qsizetype(Rows));
    QCOMPARE(log->store().at(Rows - 1).payload, "message number " + QByteArray::number(Rows - 1));
    QVERIFY(window->statusBar()->currentMessage().contains(path));
    closeWindow(*window);
}

void TestMainWindow::cancelledOpenLeavesLogAlone() {
    QTemporaryDir dir;
    const QString small = dir.filePath(QStringLiteral("small.jsonl"));
    const QString large = dir.filePath(QStringLiteral("large.jsonl"));
    QString error;
    QVERIFY2(writeLargeLog(small, 10, &error), qPrintable(error));
    QVERIFY2(writeLargeLog(large, 100'000, &error), qPrintable(error));
    auto window = createWindow();
    QVERIFY(window);
    QVERIFY2(window->openLog(small, &error), qPrintable(error));
    MessageLogModel *log = window->logModel();
    QCOMPARE(log->store().size(), qsizetype(10));

    // Cancel as the user would, from the progress dialog, as soon as the load runs.
    bool cancelled = false;
    cancelProgressSoon(window.get(), &cancelled);
    QVERIFY(!window->openLog(large, &error));
    QVERIFY(cancelled);
    QCOMPARE(error, QStringLiteral("cancelled"));
    QCOMPARE(log->store().size(), qsizetype(10));
    QVERIFY(window->statusBar()->currentMessage().contains(QStringLiteral("Cancelled")));
    closeWindow(*window);
}

void TestMainWindow::saveLargeLogKeepsEventsFlowing() {
    constexpr int Rows = 100'000;
    QTemporaryDir dir;
    const QString source = dir.filePath(QStringLiteral("large.jsonl"));
    QString error;
    QVERIFY2(writeLargeLog(source, Rows, &error), qPrintable(error));
    auto window = createWindow();
    QVERIFY(window);
    QVERIFY2(window->openLog(source, &error), qPrintable(error));
    MessageLogModel *log = window->logModel();
    QCOMPARE(log->store().size(), qsizetype(Rows));
    // What saving wrote when it ran on this thread: the log store, written in place.
    const QString expectedLog = dir.filePath(QStringLiteral("expected.jsonl"));
    const QString expectedHar = dir.filePath(QStringLiteral("expected.har"));
    QVERIFY2(log::JsonLinesFile::save(log->store(), expectedLog, &error), qPrintable(error));
    // The copy a save works on is taken on this thread: it must be quick.
    QElapsedTimer clock;
    clock.start();
    const std::clock_t cpuStart = std::clock();
    const LogSnapshot copy = window->logFiles()->snapshot();
    qInfo("a snapshot of %d rows took %lld ms (%.1f ms of CPU time)", Rows, qint64(clock.elapsed()),
          double(std::clock() - cpuStart) * 1000.0 / CLOCKS_PER_SEC);
    QCOMPARE(qsizetype(copy.records.size()), qsizetype(Rows));
    // The payloads are shared, not copied.
    QCOMPARE(copy.records.back().payload.constData(),
             log->store().at(Rows - 1).payload.constData());

    // Runs only if saveLog() handles events while the file is written. It logs a row
    // meanwhile, which the file must not have: the save writes the log as it was.
    bool eventHandled = false;
    QTimer::singleShot(0, window.get(), [&] {
        eventHandled = true;
        log::LogRecord late = log->store().at(0);
        late.payload = "logged while saving";
        log->appendRecord(late);
        log->flush();
    });
    const QString savedLog = dir.filePath(QStringLiteral("saved.jsonl"));
    QVERIFY2(window->saveLog(savedLog, &error), qPrintable(error));
    QVERIFY(eventHandled);
    QCOMPARE(log->store().size(), qsizetype(Rows + 1));
    const auto contents = [](const QString &path) {
        QFile file(path);
        return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
    };
    const QByteArray expected = contents(expectedLog);
    QVERIFY(expected.size() > Rows * 50);
    QVERIFY(contents(savedLog) == expected);

    // Exporting HAR runs off this thread too, on what the log held when it started:
    // clearing the log meanwhile does not change the file.
    QVERIFY2(log::HarFile::save(log->store(), expectedHar, &error), qPrintable(error));
    eventHandled = false;
    QTimer::singleShot(0, window.get(), [&] {
        eventHandled = true;
        log->clear();
    });
    const QString savedHar = dir.filePath(QStringLiteral("saved.har"));
    QVERIFY2(window->exportHar(savedHar, &error), qPrintable(error));
    QVERIFY(eventHandled);
    QCOMPARE(log->store().size(), qsizetype(0));
    const QByteArray har = contents(expectedHar);
    QVERIFY(har.size() > Rows * 30);
    QVERIFY(contents(savedHar) == har);
    closeWindow(*window);
}

void TestMainWindow::cancelledSaveLeavesFileAlone() {
    QTemporaryDir dir;
    const QString source = dir.filePath(QStringLiteral("large.jsonl"));
    QString error;
    QVERIFY2(writeLargeLog(source, 100'000, &error), qPrintable(error));
    auto window = createWindow();
    QVERIFY(window);
    QVERIFY2(window->openLog(source, &error), qPrintable(error));

    const QString path = dir.filePath(QStringLiteral("existing.jsonl"));
    {
        QFile existing(path);
        QVERIFY(existing.open(QIODevice::WriteOnly));
        existing.write("what was there before\n");
    }
    // Cancel as the user would, from the progress dialog, as soon as the save runs.
    bool cancelled = false;
    cancelProgressSoon(window.get(), &cancelled);
    QVERIFY(!window->saveLog(path, &error));
    QVERIFY(cancelled);
    QCOMPARE(error, QStringLiteral("cancelled"));
    QVERIFY(window->logFiles()->wasCancelled());
    QFile existing(path);
    QVERIFY(existing.open(QIODevice::ReadOnly));
    QCOMPARE(existing.readAll(), QByteArray("what was there before\n"));
    QVERIFY(window->statusBar()->currentMessage().contains(QStringLiteral("Cancelled")));
    closeWindow(*window);
}

void TestMainWindow::openLogBesideLiveTraffic() {
    auto window = createWindow();
    QVERIFY(window);
    const quint32 client = connectToEchoServer(*window);
    QVERIFY(client != 0);
    typeAndSend(*window, SendBox::Mode::Text, QStringLiteral("before"));
    MessageLogModel *log = window->logModel();
    QVERIFY(waitForRecord(*log, client, incomingPayload("before"), Timeout) >= 0);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("capture.jsonl"));
    QString error;
    QVERIFY2(window->saveLog(path, &error), qPrintable(error));
    const QList<quint32> liveIds = window->hub()->ids();
    const qsizetype rows = log->store().size();

    // Open beside: this window's log and connections stay as they were, and live.
    const QPointer<MainWindow> opened = window->openLog(path, &error);
    QVERIFY2(opened, qPrintable(error));
    QVERIFY(opened != window.get());
    QVERIFY(opened->isVisible());
    QVERIFY(opened->isFileWindow());
    QVERIFY(opened->windowTitle().contains(QStringLiteral("capture.jsonl")));
    QCOMPARE(window->hub()->ids(), liveIds);
    QVERIFY(log->store().size() >= rows);
    QVERIFY(window->hub()->isOpen(client));
    typeAndSend(*window, SendBox::Mode::Text, QStringLiteral("after"));
    QVERIFY(waitForRecord(*log, client, incomingPayload("after"), Timeout) >= 0);
    QCOMPARE(findRecord(*opened->logModel(), 0, incomingPayload("after")), -1);

    // The file's connections are marked as such and never named like live ones.
    QStringList liveNames;
    for (const quint32 id : liveIds)
        liveNames.append(window->hub()->info(id)->name);
    ConnectionHub *files = opened->hub();
    QVERIFY(!files->ids().isEmpty());
    for (const quint32 id : files->ids()) {
        const EndpointInfo *info = files->info(id);
        if (info->kind == EndpointInfo::Kind::Server)
            continue;
        QCOMPARE(info->kind, EndpointInfo::Kind::Archived);
        QVERIFY2(info->name.endsWith(QStringLiteral(" [capture.jsonl]")), qPrintable(info->name));
        QVERIFY2(!liveNames.contains(info->name), qPrintable(info->name));
        QCOMPARE(endpointStateText(*info), QStringLiteral("from log file"));
        QVERIFY(!info->isLive());
    }
    QVERIFY(opened->logModel()->store().size() >= rows);
    // Closing the file's window asks nothing and leaves this one alone.
    opened->close();
    QTRY_VERIFY(!opened);
    QVERIFY(window->hub()->isOpen(client));

    // A window without work opens the file in place.
    auto empty = createWindow();
    QVERIFY(empty);
    QCOMPARE(empty->openLog(path, &error), empty.get());
    closeWindow(*empty);
    closeWindow(*window);
}

void TestMainWindow::fileShortcutsAndDefaultSuffix() {
    auto window = createWindow();
    QVERIFY(window);
    const quint32 client = connectToEchoServer(*window);
    QVERIFY(client != 0);
    typeAndSend(*window, SendBox::Mode::Text, QStringLiteral("saved"));
    QVERIFY(waitForRecord(*window->logModel(), client, incomingPayload("saved"), Timeout) >= 0);
    QTemporaryDir dir;

    QCOMPARE(window->logPanel()->openAction()->shortcut(), QKeySequence(QKeySequence::Open));
    QCOMPARE(window->logPanel()->saveAction()->shortcut(), QKeySequence(QKeySequence::Save));
    QCOMPARE(window->logPanel()->exportHarAction()->shortcut(),
             QKeySequence(QStringLiteral("Ctrl+Shift+E")));

    // Shortcuts go to the active window (a dialog was, a moment ago).
    const auto activate = [&window] {
        window->activateWindow();
        return QTest::qWaitForWindowActive(window.get());
    };
    // Ctrl+S from the send box: a name without an extension is saved as .jsonl.
    QVERIFY(activate());
    window->sendBox()->editor()->setFocus();
    bool seen = false;
    answerFileDialogSoon(window.get(), dir.filePath(QStringLiteral("capture")), &seen);
    QTest::keyClick(window->sendBox()->editor(), Qt::Key_S, Qt::ControlModifier);
    QVERIFY(seen);
    QTRY_VERIFY(QFile::exists(dir.filePath(QStringLiteral("capture.jsonl"))));
    QVERIFY(!QFile::exists(dir.filePath(QStringLiteral("capture"))));
    QVERIFY(window->statusBar()->currentMessage().contains(QStringLiteral("capture.jsonl")));

    // Ctrl+Shift+E: HAR, with .har added.
    seen = false;
    answerFileDialogSoon(window.get(), dir.filePath(QStringLiteral("capture")), &seen);
    QVERIFY(activate());
    QTest::keyClick(window.get(), Qt::Key_E, Qt::ControlModifier | Qt::ShiftModifier);
    QVERIFY(seen);
    QTRY_VERIFY(QFile::exists(dir.filePath(QStringLiteral("capture.har"))));

    // Ctrl+O asks for a file; cancelled, nothing opens.
    seen = false;
    const int windows = QApplication::topLevelWidgets().size();
    answerFileDialogSoon(window.get(), QString(), &seen);
    QVERIFY(activate());
    QTest::keyClick(window.get(), Qt::Key_O, Qt::ControlModifier);
    QVERIFY(seen);
    QCOMPARE(QApplication::topLevelWidgets().size(), windows);

    // Ctrl+O with a file: it opens beside the live connection.
    seen = false;
    answerFileDialogSoon(window.get(), dir.filePath(QStringLiteral("capture.jsonl")), &seen);
    QVERIFY(activate());
    QTest::keyClick(window.get(), Qt::Key_O, Qt::ControlModifier);
    QVERIFY(seen);
    MainWindow *opened = nullptr;
    for (QWidget *top : QApplication::topLevelWidgets()) {
        if (auto *other = qobject_cast<MainWindow *>(top); other && other->isFileWindow())
            opened = other;
    }
    QVERIFY(opened);
    QVERIFY(findRecord(*opened->logModel(), opened->hub()->ids().value(0),
                       outgoing(LogKind::Text)) >= 0);
    const QPointer<MainWindow> guard = opened;
    opened->close();
    QTRY_VERIFY(!guard);
    closeWindow(*window);
}

void TestMainWindow::reconnectClosedConnection() {
    auto window = createWindow();
    QVERIFY(window);
    const quint16 port = startEchoServer(*window);
    QVERIFY(port != 0);
    ClientOptions options;
    options.url = QUrl(QStringLiteral("ws://127.0.0.1:%1/again?x=1").arg(port));
    options.extraHeaders.add("X-Workbench-Test", "kept");
    options.subprotocols = {"chat"};
    const quint32 first = window->openConnection(options);
    ConnectionHub *hub = window->hub();
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(first), Timeout);
    ConnectionsPanel *panel = window->connectionsPanel();
    QVERIFY(!panel->reconnectAction()->isEnabled()); // still open
    QVERIFY(hub->sendClose(first, 1000, {}) == SendError::None);
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(first)->finished, Timeout);
    panel->select(first);
    QTRY_VERIFY(panel->reconnectAction()->isEnabled());
    QCOMPARE(panel->reconnectAction()->shortcut(), QKeySequence(QStringLiteral("Ctrl+R")));

    QTest::keyClick(window.get(), Qt::Key_R, Qt::ControlModifier);
    const quint32 second = panel->selectedId();
    QVERIFY(second != first);
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(second), Timeout);
    QCOMPARE(hub->info(second)->kind, EndpointInfo::Kind::Client);
    QCOMPARE(hub->info(second)->address, options.url.toString());
    // The same request: path, query, header and subprotocol.
    MessageLogModel *log = window->logModel();
    const qsizetype handshake = findRecord(*log, second, ofKind(LogKind::Handshake));
    QVERIFY(handshake >= 0);
    const QByteArray request = log->store().extra(handshake)->rawRequest;
    QVERIFY2(request.startsWith("GET /again?x=1 HTTP/1.1\r\n"), request.constData());
    QVERIFY(request.contains("X-Workbench-Test: kept\r\n"));
    QVERIFY(request.contains("Sec-WebSocket-Protocol: chat\r\n"));
    closeWindow(*window);
}

void TestMainWindow::quitAsksWhenConnectionsAreLive() {
    const auto confirmation = [](MainWindow &window) {
        return window.findChild<QMessageBox *>(QStringLiteral("quitConfirmation"));
    };
    auto window = createWindow();
    QVERIFY(window);
    QCOMPARE(window->quitAction()->shortcut(), QKeySequence(QStringLiteral("Ctrl+Q")));
    const quint32 client = connectToEchoServer(*window);
    QVERIFY(client != 0);

    // Cancelled: nothing closes.
    window->quitAction()->trigger();
    QMessageBox *box = confirmation(*window);
    QVERIFY(box);
    QTRY_VERIFY(box->isVisible());
    // The client, the server and its peer.
    QVERIFY2(box->text().startsWith(QStringLiteral("3 ")), qPrintable(box->text()));
    box->button(QMessageBox::Cancel)->click();
    QTRY_VERIFY(!confirmation(*window) || !confirmation(*window)->isVisible());
    QTest::qWait(50);
    QVERIFY(window->isVisible());
    QVERIFY(window->hub()->isOpen(client));

    // Confirmed: the connections close with 1001 and the window goes.
    window->quitAction()->trigger();
    QTRY_VERIFY(confirmation(*window) && confirmation(*window)->isVisible());
    QPushButton *quit = nullptr;
    for (QAbstractButton *button : confirmation(*window)->buttons()) {
        if (confirmation(*window)->buttonRole(button) == QMessageBox::AcceptRole)
            quit = qobject_cast<QPushButton *>(button);
    }
    QVERIFY(quit);
    quit->click();
    QTRY_VERIFY_WITH_TIMEOUT(!window->isVisible(), MainWindow::CloseGraceMs + 1000);
    QVERIFY(!window->hub()->hasLiveEndpoints());
    const qsizetype ours = findRecord(*window->logModel(), client, outgoing(LogKind::Close));
    QVERIFY(ours >= 0);
    QCOMPARE(window->logModel()->store().at(ours).closeCode, quint16(1001));

    // Nothing live: Quit does not ask.
    auto idle = createWindow();
    QVERIFY(idle);
    idle->quitAction()->trigger();
    QVERIFY(!confirmation(*idle));
    QTRY_VERIFY(!idle->isVisible());
}

void TestMainWindow::helpShowsGuideAndShortcuts() {
    auto window = createWindow();
    QVERIFY(window);
    QCOMPARE(window->guideAction()->shortcut(), QKeySequence(QKeySequence::HelpContents));
    QTest::keyClick(window.get(), Qt::Key_F1);
    auto *help = window->findChild<HelpDialog *>();
    QVERIFY(help);
    QTRY_VERIFY(help->isVisible());
    const QString guide = help->browser()->toPlainText();
    // Shipped in the program, not fetched.
    QCOMPARE(help->browser()->source(), QUrl(QLatin1String(HelpDialog::GuideUrl)));
    QVERIFY(guide.contains(QStringLiteral("Keyboard shortcuts")));
    QVERIFY(guide.contains(QStringLiteral("Getting started")));
    // Every shortcut the window has is in the guide.
    int shortcuts = 0;
    for (QAction *action : window->findChildren<QAction *>()) {
        for (const QKeySequence &key : action->shortcuts()) {
            const QString text = key.toString(QKeySequence::PortableText);
            QVERIFY2(guide.contains(text),
                     qPrintable(text + QLatin1String(" is not in the guide")));
            ++shortcuts;
        }
    }
    QVERIFY(shortcuts >= 8);

    // The shortcuts entry opens the same guide at its table.
    help->close();
    window->shortcutsAction()->trigger();
    help = window->findChild<HelpDialog *>();
    QVERIFY(help);
    QTRY_VERIFY(help->isVisible());
    QVERIFY(help->browser()->verticalScrollBar()->value() > 0);
    help->close();
    closeWindow(*window);
}

void TestMainWindow::statusMessagesClearWhenStale() {
    auto window = createWindow();
    QVERIFY(window);
    const quint16 port = startEchoServer(*window);
    QVERIFY(port != 0);
    const quint32 first =
        connectThroughDialog(*window, QStringLiteral("ws://127.0.0.1:%1/").arg(port));
    QVERIFY(first != 0);
    QVERIFY(window->statusBar()->currentMessage().startsWith(QStringLiteral("Connecting to")));
    ConnectionHub *hub = window->hub();
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(first), Timeout);
    // Once open, "Connecting to ..." is no longer true.
    QTRY_VERIFY(!window->statusBar()->currentMessage().startsWith(QStringLiteral("Connecting")));

    const quint32 second =
        connectThroughDialog(*window, QStringLiteral("ws://127.0.0.1:%1/").arg(port));
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(second), Timeout);
    QVERIFY(hub->sendClose(first, 1000, {}) == SendError::None);
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(first)->finished, Timeout);

    // A send to the closed one fails and says so ...
    window->connectionsPanel()->select(first);
    typeAndSend(*window, SendBox::Mode::Text, QStringLiteral("too late"));
    const QString name = hub->info(first)->name;
    QVERIFY(window->statusBar()->currentMessage().startsWith(QStringLiteral("Not sent")));
    QVERIFY(window->statusBar()->currentMessage().contains(name));
    QVERIFY(window->sendBox()->statusLabel()->text().contains(name));
    // ... until another connection is the target.
    window->connectionsPanel()->select(second);
    QVERIFY(!window->statusBar()->currentMessage().contains(name));
    QVERIFY(!window->sendBox()->statusLabel()->text().contains(name));
    closeWindow(*window);
}

void TestMainWindow::scopeChangeClearsOrFollowsInspector() {
    auto window = createWindow();
    QVERIFY(window);
    const quint32 client = connectToEchoServer(*window);
    QVERIFY(client != 0);
    typeAndSend(*window, SendBox::Mode::Text, QStringLiteral("inspect me"));
    MessageLogModel *log = window->logModel();
    const qsizetype echo = waitForRecord(*log, client, incomingPayload("inspect me"), Timeout);
    QVERIFY(echo >= 0);
    const quint32 peer = window->hub()->clientsOf(window->serverPanel()->serverId()).value(0);
    QVERIFY(peer != 0);
    log->flush();

    // Scoped to the same connection: the row is still shown, the inspector follows it.
    window->connectionsPanel()->select(0);
    QVERIFY(window->logPanel()->view()->selectStoreIndex(echo));
    FrameInspector *inspector = window->inspector();
    QTRY_COMPARE(inspector->storeIndex(), echo);
    window->connectionsPanel()->select(client);
    QCOMPARE(window->logPanel()->view()->currentStoreIndex(), echo);
    QVERIFY(inspector->hasRecord());
    QCOMPARE(inspector->storeIndex(), echo);

    // Scoped to the server's peer: the client's row is gone, and so is the inspector's.
    window->connectionsPanel()->select(peer);
    QVERIFY(!inspector->hasRecord());
    closeWindow(*window);
}

void TestMainWindow::echoAndConnectHonoursDeflate() {
    // Saved in an earlier session: the server accepts permessage-deflate.
    QSettings().setValue(QStringLiteral("server/acceptDeflate"), true);
    auto window = createWindow();
    QVERIFY(window);
    QVERIFY(window->serverPanel()->deflateCheck()->isChecked());
    window->hostEchoAction()->trigger();
    const quint32 client = window->connectionsPanel()->selectedId();
    ConnectionHub *hub = window->hub();
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(client), Timeout);
    QVERIFY2(hub->info(client)->deflate.contains(QStringLiteral("deflate")),
             qPrintable(hub->info(client)->deflate));
    closeWindow(*window);
}

void TestMainWindow::detailsDialogShowsEverything() {
    QSettings().setValue(QStringLiteral("server/acceptDeflate"), true);
    auto window = createWindow();
    QVERIFY(window);
    const quint16 port = startEchoServer(*window);
    QVERIFY(port != 0);
    ClientOptions options;
    options.url = QUrl(QStringLiteral("ws://127.0.0.1:%1/details").arg(port));
    options.subprotocols = {"chat"};
    options.deflate.policy = DeflatePolicy::Offer;
    options.deflate.clientNoContextTakeover = true;
    const quint32 client = window->openConnection(options);
    ConnectionHub *hub = window->hub();
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(client), Timeout);
    typeAndSend(*window, SendBox::Mode::Text, QStringLiteral("counted"));
    QVERIFY(waitForRecord(*window->logModel(), client, incomingPayload("counted"), Timeout) >= 0);
    QVERIFY(hub->sendClose(client, 1000, QStringLiteral("done")) == SendError::None);
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(client)->finished, Timeout);
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(client)->messagesIn == 1, Timeout);

    ConnectionDetailsDialog *details = window->connectionsPanel()->showDetails(client);
    QVERIFY(details);
    QCOMPARE(details->value(QStringLiteral("Request")), QStringLiteral("GET /details HTTP/1.1"));
    QCOMPARE(details->value(QStringLiteral("Response")),
             QStringLiteral("HTTP/1.1 101 Switching Protocols"));
    QVERIFY(!details->value(QStringLiteral("Sec-WebSocket-Key")).isEmpty());
    QVERIFY(!details->value(QStringLiteral("Sec-WebSocket-Accept")).isEmpty());
    QVERIFY(
        details->value(QStringLiteral("Sec-WebSocket-Protocol")).contains(QStringLiteral("chat")));
    // The echo server speaks no subprotocol: none was chosen.
    QCOMPARE(details->value(QStringLiteral("Subprotocol")), QStringLiteral("none"));
    QCOMPARE(details->value(QStringLiteral("Extension")), QStringLiteral("permessage-deflate"));
    QCOMPARE(details->value(QStringLiteral("client_no_context_takeover")),
             QStringLiteral("(no value)"));
    QCOMPARE(details->value(QStringLiteral("Messages received")), QStringLiteral("1"));
    QCOMPARE(details->value(QStringLiteral("Messages sent")), QStringLiteral("1"));
    QVERIFY(details->value(QStringLiteral("Bytes sent")).toLongLong() > 0);
    QCOMPARE(details->value(QStringLiteral("Close code")), QStringLiteral("1000 (normal closure)"));
    QCOMPARE(details->value(QStringLiteral("Clean close")), QStringLiteral("yes"));
    details->close();
    closeWindow(*window);
}

namespace {

// How many pixels of `section` the view shows without scrolling.
int visibleWidth(const QHeaderView *header, int section) {
    const int left = header->sectionPosition(section);
    const int right = left + header->sectionSize(section);
    const int viewport = header->viewport()->width();
    return std::max(0, std::min(right, viewport) - left);
}

// A window of `size` with the default layout and some traffic, a frame selected.
std::unique_ptr<MainWindow> windowOfSize(QSize size) {
    auto window = std::make_unique<MainWindow>();
    window->setWelcomePort(freePort());
    window->resize(size);
    window->show();
    if (!QTest::qWaitForWindowExposed(window.get()))
        return nullptr;
    window->resetLayout();
    QCoreApplication::processEvents();
    return window;
}

} // namespace

void TestMainWindow::layoutAt1024x700() {
    auto window = windowOfSize(QSize(1024, 700));
    QVERIFY(window);
    QCOMPARE(window->size(), QSize(1024, 700));
    // The first-start text is whole: every label gets the height its text needs.
    QVERIFY(window->isShowingWelcome());
    for (QLabel *label : window->centralStack()->currentWidget()->findChildren<QLabel *>()) {
        const int needed =
            label->wordWrap() ? label->heightForWidth(label->width()) : label->sizeHint().height();
        QVERIFY2(label->height() >= needed, qPrintable(label->text()));
        QVERIFY2(label->width() >= std::min(label->sizeHint().width(), 560),
                 qPrintable(label->text()));
    }

    const quint32 client = connectToEchoServer(*window);
    QVERIFY(client != 0);
    typeAndSend(*window, SendBox::Mode::Text, QStringLiteral("layout"));
    const qsizetype echo =
        waitForRecord(*window->logModel(), client, incomingPayload("layout"), Timeout);
    QVERIFY(echo >= 0);
    window->logModel()->flush();
    QVERIFY(window->logPanel()->view()->selectStoreIndex(echo));
    QCoreApplication::processEvents();

    // The log's Preview column is on screen, not behind a scroll.
    const QHeaderView *logHeader = window->logPanel()->view()->horizontalHeader();
    QVERIFY2(visibleWidth(logHeader, MessageLogModel::PreviewColumn) >= 100,
             qPrintable(QString::number(visibleWidth(logHeader, MessageLogModel::PreviewColumn))));
    // The inspector's Meaning column too.
    const QHeaderView *fields = window->inspector()->fieldTree()->header();
    QVERIFY2(visibleWidth(fields, 2) >= 80, qPrintable(QString::number(visibleWidth(fields, 2))));
    // The send box says whole what it thinks of the JSON typed, not a bare dot.
    SendBox *box = window->sendBox();
    box->setMode(SendBox::Mode::Json);
    box->editor()->setPlainText(QStringLiteral("{\"type\":\"subscribe\",\"id\":42}"));
    QCoreApplication::processEvents();
    auto *indicator = box->findChild<QLabel *>(QStringLiteral("sendIndicator"));
    QVERIFY(indicator);
    QVERIFY(indicator->text().contains(QStringLiteral("valid JSON")));
    QVERIFY2(indicator->width() >= indicator->fontMetrics().horizontalAdvance(indicator->text()) ||
                 indicator->height() >= indicator->heightForWidth(indicator->width()),
             qPrintable(QString::number(indicator->width())));
    QVERIFY(indicator->width() >=
            indicator->fontMetrics().horizontalAdvance(QStringLiteral("\u25CF valid JSON")));
    // Every dock is open and has room to be used.
    for (QDockWidget *dock : window->findChildren<QDockWidget *>()) {
        QVERIFY2(dock->isVisible(), qPrintable(dock->objectName()));
        if (!window->tabifiedDockWidgets(dock).isEmpty() && dock->visibleRegion().isEmpty())
            continue; // a tab behind another
        QVERIFY2(dock->width() >= 200 && dock->height() >= 120,
                 qPrintable(QStringLiteral("%1 %2x%3")
                                .arg(dock->objectName())
                                .arg(dock->width())
                                .arg(dock->height())));
    }
    closeWindow(*window);
}

void TestMainWindow::layoutAt1920x1080() {
    // Started at the default size, then maximised on a large screen.
    auto window = windowOfSize(QSize(1400, 900));
    QVERIFY(window);
    auto *inspector = window->findChild<QDockWidget *>(QStringLiteral("inspectorDock"));
    const int before = inspector->width();
    window->resize(1920, 1080);
    QTRY_COMPARE(window->size(), QSize(1920, 1080));
    QCoreApplication::processEvents();
    // The extra width goes to the inspector as well as the log.
    QVERIFY2(inspector->width() >= before * 1920 / 1400 - 10,
             qPrintable(QStringLiteral("%1 -> %2").arg(before).arg(inspector->width())));
    QVERIFY2(inspector->width() >= 1920 * 28 / 100,
             qPrintable(QString::number(inspector->width())));
    QVERIFY(window->centralStack()->width() >= 1920 * 35 / 100);
    // So does the default layout there.
    window->resetLayout();
    QCoreApplication::processEvents();
    QVERIFY2(inspector->width() >= 1920 * 28 / 100,
             qPrintable(QString::number(inspector->width())));
    const QHeaderView *fields = window->inspector()->fieldTree()->header();
    QCOMPARE(visibleWidth(fields, 2), fields->sectionSize(2));

    // The chart's axes read as numbers and words.
    QCOMPARE(RttChart::axisLabelFormat(40000, 5), QStringLiteral("%.0f"));
    QCOMPARE(RttChart::axisLabelFormat(1.5, 4), QStringLiteral("%.1f"));
    QCOMPARE(RttChart::axisLabelFormat(0.15, 4), QStringLiteral("%.2f"));
    QCOMPARE(RttChart::axisLabelFormat(1, 5), QStringLiteral("%.2f"));
    QVERIFY(window->rttChart()->roundTripAxisTitle().contains(QStringLiteral("ms")));
    QVERIFY(window->rttChart()->rateAxisTitle().contains(QStringLiteral("messages")));
    closeWindow(*window);
}

WSW_WINDOW_TEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"

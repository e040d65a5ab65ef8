// The window's wss and permessage-deflate, end to end on the offscreen platform: a
// wss server hosted from the server panel with a generated localhost certificate,
// a connection through the new-connection dialog that is refused until the user
// trusts exactly that certificate, the TLS details where the user looks, and a
// compressed echo whose inspector shows both sizes and both payloads.

#include "connections/connectionhub.h"
#include "dialogs/connectiondetailsdialog.h"
#include "dialogs/newconnectiondialog.h"
#include "dialogs/trustcertificatedialog.h"
#include "guitesthelpers.h"
#include "log/logstore.h"
#include "models/connectionsmodel.h"
#include "models/messagelogmodel.h"
#include "net/tlscertificate.h"
#include "widgets/frameinspector.h"
#include "widgets/hexview.h"
#include "widgets/listeningtlsedit.h"
#include "widgets/messagelogview.h"
#include "windows/connectionspanel.h"
#include "windows/logpanel.h"
#include "windows/mainwindow.h"
#include "windows/serverpanel.h"

#include <QAction>
#include <QBrush>
#include <QCheckBox>
#include <QComboBox>
#include <QCryptographicHash>
#include <QIcon>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeWidget>

#include <memory>

using namespace ws;
using namespace ws::log;
using namespace wstest;

namespace {

constexpr int Timeout = 10000;

// Chooses the generated localhost certificate in the server panel, as a user does in
// its TLS list; true when the certificate is there (its fingerprint shown).
bool chooseGeneratedCertificate(ServerPanel &panel) {
    QComboBox *choice = panel.listeningTlsEdit()->choiceCombo();
    choice->setCurrentIndex(choice->findData(int(ListeningTlsEdit::Choice::Generated)));
    return !panel.listeningTlsEdit()->fingerprintEdit()->text().isEmpty();
}

} // namespace

class TestTlsDeflate : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void wssTrustThisCertificate();
    void wssWithTheCertificateAsCaFile();
    void wssToPlainServerSaysWhy();
    void oneClickEchoOverTls();
    void deflateEchoShowsBothSizes();
    void settingsPersist();
    void settingsOfTheTlsCheckBox_data();
    void settingsOfTheTlsCheckBox();
    void inspectorInflatesAFrame_data();
    void inspectorInflatesAFrame();

private:
    std::unique_ptr<MainWindow> createWindow();
    NewConnectionDialog *openDialog(MainWindow &window, const QString &url);
    quint32 accept(MainWindow &window, NewConnectionDialog *dialog);

    QTemporaryDir m_settingsDir;
};

void TestTlsDeflate::initTestCase() {
    QVERIFY(m_settingsDir.isValid());
    QVERIFY(setUpWindowTests(m_settingsDir.path(), QStringLiteral("tst_tlsdeflate")));
    // The generated certificate goes to a test location, not the home folder.
    const QString data = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    QVERIFY2(data.contains(QLatin1String("qttest")), qPrintable(data));
}

void TestTlsDeflate::init() {
    QSettings().clear();
}

void TestTlsDeflate::cleanup() {
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
}

std::unique_ptr<MainWindow> TestTlsDeflate::createWindow() {
    auto window = std::make_unique<MainWindow>();
    window->show();
    if (!QTest::qWaitForWindowExposed(window.get()))
        return nullptr;
    return window;
}

NewConnectionDialog *TestTlsDeflate::openDialog(MainWindow &window, const QString &url) {
    NewConnectionDialog *dialog = window.newConnection();
    dialog->urlCombo()->lineEdit()->selectAll();
    QTest::keyClicks(dialog->urlCombo()->lineEdit(), url);
    return dialog;
}

quint32 TestTlsDeflate::accept(MainWindow &window, NewConnectionDialog *dialog) {
    QTest::mouseClick(dialog->connectButton(), Qt::LeftButton);
    if (dialog->isVisible())
        return 0;
    return window.connectionsPanel()->selectedId();
}

void TestTlsDeflate::wssTrustThisCertificate() {
    auto window = createWindow();
    QVERIFY(window);
    ServerPanel *panel = window->serverPanel();
    ListeningTlsEdit *tls = panel->listeningTlsEdit();
    QCOMPARE(tls->choice(), ListeningTlsEdit::Choice::Off);
    QVERIFY(tls->fingerprintEdit()->text().isEmpty());
    QVERIFY(chooseGeneratedCertificate(*panel));
    const QString fingerprint = tls->fingerprintEdit()->text();
    QCOMPARE(fingerprint.size(), 32 * 3 - 1); // "AB:CD:..."
    QVERIFY(tls->fingerprintEdit()->isReadOnly());
    QVERIFY(tls->certificateFile().startsWith(
        QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)));
    const quint16 port = startEchoServer(*window);
    QVERIFY(port != 0);
    // While it runs the choice is fixed, and the fingerprint can still be copied.
    QVERIFY(!tls->choiceCombo()->isEnabled());
    QVERIFY(tls->fingerprintEdit()->isEnabled());
    QCOMPARE(tls->fingerprintEdit()->text(), fingerprint);
    QCOMPARE(panel->testPageUrl(), QStringLiteral("https://127.0.0.1:%1/").arg(port));
    QVERIFY(panel->linkLabel()->text().contains(QStringLiteral("https://")));

    // The generated certificate is self-signed: verification fails, and says why.
    const QString url = QStringLiteral("wss://127.0.0.1:%1/").arg(port);
    ConnectionHub *hub = window->hub();
    const quint32 refused = accept(*window, openDialog(*window, url));
    QVERIFY(refused != 0);
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(refused)->finished, Timeout);
    const EndpointInfo *info = hub->info(refused);
    QVERIFY2(info->error.contains(fingerprint), qPrintable(info->error));
    QVERIFY(!info->tls);
    QCOMPARE(info->rejectedChain.size(), 1);
    ConnectionsModel *model = window->connectionsPanel()->model();
    const QModelIndex refusedIndex = model->indexOf(refused, ConnectionsModel::StateColumn);
    QVERIFY(refusedIndex.data().toString().contains(fingerprint));
    QVERIFY(model->indexOf(refused).data(ConnectionsModel::CanTrustRole).toBool());
    QVERIFY(window->statusBar()->currentMessage().contains(fingerprint));
    QVERIFY(window->statusBar()->currentMessage().contains(QStringLiteral("Trust this")));
    QVERIFY(findRecord(*window->logModel(), refused, [&](const LogRecord &r) {
                return r.kind == LogKind::Error && r.payload.contains(fingerprint.toUtf8());
            }) >= 0);
    QVERIFY(hub->clientsOf(panel->serverId()).isEmpty());
    window->connectionsPanel()->select(refused);
    QVERIFY(window->connectionsPanel()->trustAction()->isEnabled());

    // "Trust this certificate…" shows what is trusted; cancelling trusts nothing.
    TrustCertificateDialog *trust = window->connectionsPanel()->trustCertificate(refused);
    QVERIFY(trust);
    QCOMPARE(trust->fingerprintText(), fingerprint);
    QVERIFY2(trust->subjectText().contains(QStringLiteral("localhost")),
             qPrintable(trust->subjectText()));
    QVERIFY(!trust->trustButton()->isDefault());
    const qsizetype endpoints = hub->ids().size();
    trust->reject();
    QCOMPARE(hub->ids().size(), endpoints);

    trust = window->connectionsPanel()->trustCertificate(refused);
    QVERIFY(trust);
    QTest::mouseClick(trust->trustButton(), Qt::LeftButton);
    QCOMPARE(hub->ids().size(), endpoints + 1);
    const quint32 client = window->connectionsPanel()->selectedId();
    QVERIFY(client != refused);
    QCOMPARE(hub->info(client)->address, url);
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(client), Timeout);
    QVERIFY(hub->info(client)->tls);
    QCOMPARE(hub->info(client)->tls->verifiedBy, TlsInfo::VerifiedBy::Fingerprint);

    // The echo works over TLS.
    QCOMPARE(hub->sendText(client, "over tls"), SendError::None);
    QVERIFY(waitForRecord(*window->logModel(), client, incoming(LogKind::Text, "over tls"),
                          Timeout) >= 0);

    // The tree node: a lock and the protocol, the warning colour of a certificate the
    // user vouched for, and the details in the tooltip.
    QTRY_COMPARE(model->indexOf(client).data(ConnectionsModel::TlsRole).toString(),
                 QStringLiteral("TLS 1.3"));
    const QModelIndex node = model->indexOf(client);
    QVERIFY(node.data().toString().endsWith(QStringLiteral("TLS 1.3")));
    QVERIFY(node.data(ConnectionsModel::SecureRole).toBool());
    QVERIFY(!node.data(Qt::DecorationRole).value<QIcon>().isNull());
    QVERIFY(!model->indexOf(refused).data(ConnectionsModel::SecureRole).toBool());
    QCOMPARE(node.data(Qt::ForegroundRole).value<QBrush>().color(), QColor(0xE6, 0x51, 0x00));
    const QString tooltip = node.data(Qt::ToolTipRole).toString();
    QVERIFY2(tooltip.contains(QStringLiteral("TLSv1.3")), qPrintable(tooltip));
    QVERIFY(tooltip.contains(hub->info(client)->tls->cipher));
    QVERIFY(tooltip.contains(QStringLiteral("accepted self-signed")));

    // Connection details list the protocol, cipher and chain.
    ConnectionDetailsDialog *details = window->connectionsPanel()->showDetails(client);
    QVERIFY(details);
    QCOMPARE(details->value(QStringLiteral("Protocol")), QStringLiteral("TLS 1.3"));
    QVERIFY(!details->value(QStringLiteral("Cipher")).isEmpty());
    QCOMPARE(details->value(QStringLiteral("SHA-256")), fingerprint);
    QVERIFY(details->value(QStringLiteral("Subject")).contains(QStringLiteral("localhost")));
    QVERIFY(!details->value(QStringLiteral("Valid until")).isEmpty());
    details->close();

    // So does the inspector for the handshake row.
    const qsizetype handshake = findRecord(*window->logModel(), client, ofKind(LogKind::Handshake));
    QVERIFY(handshake >= 0);
    QVERIFY(window->logPanel()->view()->selectStoreIndex(handshake));
    FrameInspector *inspector = window->inspector();
    QTRY_COMPARE(inspector->storeIndex(), handshake);
    QVERIFY(inspector->findItem(QStringLiteral("Cipher")));
    QCOMPARE(inspector->findItem(QStringLiteral("SHA-256"))->text(1), fingerprint);
    QCOMPARE(inspector->findItem(QStringLiteral("Certificate"))->text(1),
             QStringLiteral("accepted self-signed"));
    closeWindow(*window);
}

void TestTlsDeflate::wssWithTheCertificateAsCaFile() {
    auto window = createWindow();
    QVERIFY(window);
    ServerPanel *panel = window->serverPanel();
    QVERIFY(chooseGeneratedCertificate(*panel));
    const quint16 port = startEchoServer(*window);
    QVERIFY(port != 0);
    NewConnectionDialog *dialog =
        openDialog(*window, QStringLiteral("wss://localhost:%1/").arg(port));
    dialog->caFileEdit()->setText(panel->listeningTlsEdit()->certificateFile());
    const quint32 client = accept(*window, dialog);
    QVERIFY(client != 0);
    ConnectionHub *hub = window->hub();
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(client) || hub->info(client)->finished, Timeout);
    QVERIFY2(hub->isOpen(client), qPrintable(hub->info(client)->error));
    QCOMPARE(hub->info(client)->tls->verifiedBy, TlsInfo::VerifiedBy::CaFile);
    QVERIFY(hub->info(client)->rejectedChain.isEmpty());
    const QModelIndex node = window->connectionsPanel()->model()->indexOf(client);
    QVERIFY(node.data(Qt::ToolTipRole).toString().contains(QStringLiteral("CA file")));
    window->connectionsPanel()->select(client);
    QVERIFY(!window->connectionsPanel()->trustAction()->isEnabled());
    closeWindow(*window);
}

void TestTlsDeflate::wssToPlainServerSaysWhy() {
    auto window = createWindow();
    QVERIFY(window);
    window->serverPanel()->listeningTlsEdit()->setChoice(ListeningTlsEdit::Choice::Off);
    const quint16 port = startEchoServer(*window);
    QVERIFY(port != 0);
    QCOMPARE(window->serverPanel()->testPageUrl(),
             QStringLiteral("http://127.0.0.1:%1/").arg(port));
    const quint32 client =
        accept(*window, openDialog(*window, QStringLiteral("wss://127.0.0.1:%1/").arg(port)));
    QVERIFY(client != 0);
    ConnectionHub *hub = window->hub();
    QTRY_VERIFY_WITH_TIMEOUT(hub->info(client)->finished, Timeout);
    QVERIFY2(hub->info(client)->error.contains(QStringLiteral("TLS")),
             qPrintable(hub->info(client)->error));
    // No certificate was presented, so there is none to trust.
    QVERIFY(hub->info(client)->rejectedChain.isEmpty());
    QVERIFY(!window->connectionsPanel()->trustCertificate(client));
    closeWindow(*window);
}

void TestTlsDeflate::oneClickEchoOverTls() {
    // With TLS chosen in the panel, the one-click echo is wss, and the client trusts
    // exactly the certificate of our own server.
    auto window = createWindow();
    QVERIFY(window);
    window->setWelcomePort(0);
    QVERIFY(chooseGeneratedCertificate(*window->serverPanel()));
    const quint32 client = window->hostEchoAndConnect();
    QVERIFY(client != 0);
    ConnectionHub *hub = window->hub();
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(client) || hub->info(client)->finished, Timeout);
    QVERIFY2(hub->isOpen(client), qPrintable(hub->info(client)->error));
    QVERIFY(hub->info(client)->address.startsWith(QStringLiteral("wss://127.0.0.1:")));
    QCOMPARE(hub->info(client)->tls->verifiedBy, TlsInfo::VerifiedBy::Fingerprint);
    QCOMPARE(hub->info(client)->tls->chain.value(0).sha256,
             window->serverPanel()->listeningTlsEdit()->fingerprintEdit()->text());
    const quint32 server = window->serverPanel()->serverId();
    QVERIFY(hub->info(server)->address.startsWith(QStringLiteral("wss://")));
    const QModelIndex serverNode = window->connectionsPanel()->model()->indexOf(server);
    QVERIFY(serverNode.data().toString().endsWith(QStringLiteral("wss")));
    QVERIFY(serverNode.data(ConnectionsModel::SecureRole).toBool());
    QVERIFY(window->serverPanel()->statusLabel()->text().contains(QStringLiteral("wss")));
    closeWindow(*window);
}

void TestTlsDeflate::deflateEchoShowsBothSizes() {
    auto window = createWindow();
    QVERIFY(window);
    ServerPanel *panel = window->serverPanel();
    panel->listeningTlsEdit()->setChoice(ListeningTlsEdit::Choice::Off);
    panel->deflateCheck()->setChecked(true);
    const quint16 port = startEchoServer(*window);
    QVERIFY(port != 0);
    NewConnectionDialog *dialog =
        openDialog(*window, QStringLiteral("ws://127.0.0.1:%1/").arg(port));
    dialog->deflateCheck()->setChecked(true);
    const quint32 client = accept(*window, dialog);
    QVERIFY(client != 0);
    ConnectionHub *hub = window->hub();
    QTRY_VERIFY_WITH_TIMEOUT(hub->isOpen(client), Timeout);
    QVERIFY2(hub->info(client)->deflate.startsWith(QStringLiteral("permessage-deflate")),
             qPrintable(hub->info(client)->deflate));
    QVERIFY(window->connectionsPanel()
                ->model()
                ->indexOf(client)
                .data(Qt::ToolTipRole)
                .toString()
                .contains(QStringLiteral("permessage-deflate")));

    QByteArray text;
    for (int i = 0; i < 100; ++i)
        text += "{\"tick\":" + QByteArray::number(i % 7) + ",\"status\":\"all good\"}\n";
    QCOMPARE(hub->sendText(client, text), SendError::None);
    MessageLogModel *log = window->logModel();
    const qsizetype echo = waitForRecord(
        *log, client,
        [&](const LogRecord &r) {
            return r.kind == LogKind::Text && !r.has(LogRecord::Outgoing) &&
                   r.has(LogRecord::InMessageView) && r.payload == text;
        },
        Timeout);
    QVERIFY(echo >= 0);
    const LogRecord message = log->store().at(echo);
    QVERIFY(message.has(LogRecord::Compressed));
    const qint64 wire = qint64(message.length);
    QVERIFY2(wire > 0 && wire < text.size() / 4, QByteArray::number(wire));

    // The message: both sizes, the inflated text, the compressed wire bytes.
    log->flush();
    QVERIFY(window->logPanel()->view()->selectStoreIndex(echo));
    FrameInspector *inspector = window->inspector();
    QTRY_COMPARE(inspector->storeIndex(), echo);
    QTreeWidgetItem *sizes = inspector->findItem(QStringLiteral("Sizes"));
    QVERIFY(sizes);
    QCOMPARE(
        sizes->text(1),
        QStringLiteral("compressed %1 bytes \u2192 inflated %2 bytes").arg(wire).arg(text.size()));
    inspector->setCurrentPayloadTab(FrameInspector::TextTab);
    QCOMPARE(inspector->textView()->toPlainText(), QString::fromUtf8(text));
    QVERIFY(inspector->isPayloadTabVisible(FrameInspector::WireTab));
    QCOMPARE(inspector->payloadTabs()->tabText(FrameInspector::WireTab),
             QStringLiteral("Wire (compressed)"));
    const QByteArray wireBytes = inspector->wireHexView()->data();
    QCOMPARE(wireBytes.size(), wire);

    // The received frame alone: RSV1 set, inflated for display, the wire bytes apart.
    const qsizetype frame = findRecord(*log, client, [&](const LogRecord &r) {
        return r.isFrame() && !r.has(LogRecord::Outgoing) && r.header().rsv1 &&
               r.payload == wireBytes;
    });
    QVERIFY(frame >= 0);
    window->logPanel()->framesAction()->trigger();
    QVERIFY(window->logPanel()->view()->selectStoreIndex(frame));
    QTRY_COMPARE(inspector->storeIndex(), frame);
    QCOMPARE(inspector->shownPayload(), text);
    QCOMPARE(inspector->wireHexView()->data(), wireBytes);
    QCOMPARE(
        inspector->findItem(QStringLiteral("Sizes"))->text(1),
        QStringLiteral("compressed %1 bytes \u2192 inflated %2 bytes").arg(wire).arg(text.size()));
    QCOMPARE(inspector->findItem(QStringLiteral("Inflated"))->text(1),
             QStringLiteral("for display"));
    inspector->selectField(HeaderField::Payload);
    QCOMPARE(inspector->currentPayloadTab(), FrameInspector::WireTab);
    closeWindow(*window);
}

void TestTlsDeflate::settingsPersist() {
    QString certificateFile;
    {
        auto window = createWindow();
        QVERIFY(window);
        ServerPanel *panel = window->serverPanel();
        QVERIFY(chooseGeneratedCertificate(*panel));
        certificateFile = panel->listeningTlsEdit()->certificateFile();
        panel->deflateCheck()->setChecked(true);
        panel->saveSettings();
        NewConnectionDialog *dialog = openDialog(*window, QStringLiteral("wss://127.0.0.1:1/"));
        dialog->caFileEdit()->setText(certificateFile);
        dialog->deflateCheck()->setChecked(true);
        dialog->clientWindowBitsSpin()->setValue(9);
        dialog->serverWindowBitsSpin()->setValue(11);
        dialog->clientNoContextTakeoverCheck()->setChecked(true);
        const quint32 client = accept(*window, dialog);
        QVERIFY(client != 0);
        QTRY_VERIFY_WITH_TIMEOUT(window->hub()->info(client)->finished, Timeout);
        closeWindow(*window);
    }
    auto window = createWindow();
    QVERIFY(window);
    ServerPanel *panel = window->serverPanel();
    ListeningTlsEdit *tls = panel->listeningTlsEdit();
    QCOMPARE(tls->choice(), ListeningTlsEdit::Choice::Generated);
    QVERIFY(panel->deflateCheck()->isChecked());
    QCOMPARE(tls->certificateFile(), certificateFile);
    QCOMPARE(tls->fingerprintEdit()->text().size(), 32 * 3 - 1);
    QString error;
    const ServerOptions options = panel->options(&error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QVERIFY(options.isSecure());
    QCOMPARE(options.deflate.policy, DeflatePolicy::Offer);
    QCOMPARE(sha256Fingerprint(options.tlsCertificate), tls->fingerprintEdit()->text());

    NewConnectionDialog *dialog = window->newConnection();
    QCOMPARE(dialog->caFileEdit()->text(), certificateFile);
    QVERIFY(dialog->deflateCheck()->isChecked());
    QCOMPARE(dialog->clientWindowBitsSpin()->value(), 9);
    QCOMPARE(dialog->serverWindowBitsSpin()->value(), 11);
    QVERIFY(dialog->clientNoContextTakeoverCheck()->isChecked());
    QVERIFY(!dialog->serverNoContextTakeoverCheck()->isChecked());
    dialog->reject();

    // A missing certificate file: the server does not start, and says why.
    tls->setChoice(ListeningTlsEdit::Choice::Own);
    tls->certificateFileEdit()->setText(certificateFile + QStringLiteral(".missing"));
    QVERIFY(tls->fingerprintEdit()->text().isEmpty());
    QVERIFY(!panel->start());
    QVERIFY(!panel->isRunning());
    QVERIFY(panel->statusLabel()->toolTip().startsWith(QStringLiteral("TLS")));
    closeWindow(*window);
}

void TestTlsDeflate::settingsOfTheTlsCheckBox_data() {
    QTest::addColumn<bool>("on");
    QTest::addColumn<bool>("generated");
    QTest::addColumn<int>("expected"); // ListeningTlsEdit::Choice
    QTest::newRow("off") << false << true << int(ListeningTlsEdit::Choice::Off);
    QTest::newRow("the generated certificate")
        << true << true << int(ListeningTlsEdit::Choice::Generated);
    QTest::newRow("the user's own files") << true << false << int(ListeningTlsEdit::Choice::Own);
}

void TestTlsDeflate::settingsOfTheTlsCheckBox() {
    // Settings that a check box wrote: server/tls true or false beside the files.
    QFETCH(bool, on);
    QFETCH(bool, generated);
    QFETCH(int, expected);
    const QString certificateFile =
        generated ? localhostCertificateFile() : QStringLiteral("/srv/tls/own.crt");
    {
        QSettings settings;
        settings.setValue(QStringLiteral("server/tls"), on);
        settings.setValue(QStringLiteral("server/tlsCertificateFile"), certificateFile);
        settings.setValue(QStringLiteral("server/tlsKeyFile"), QStringLiteral("/srv/tls/own.key"));
    }
    auto window = createWindow();
    QVERIFY(window);
    ListeningTlsEdit *tls = window->serverPanel()->listeningTlsEdit();
    QCOMPARE(int(tls->choice()), expected);
    QCOMPARE(tls->certificateFileEdit()->text(), certificateFile);
    QCOMPARE(tls->keyFileEdit()->text(), QStringLiteral("/srv/tls/own.key"));
    // Written back in the list's words.
    window->serverPanel()->saveSettings();
    const QStringList names{QStringLiteral("off"), QStringLiteral("generated"),
                            QStringLiteral("own")};
    QCOMPARE(QSettings().value(QStringLiteral("server/tls")).toString(), names.at(expected));
    closeWindow(*window);
}

void TestTlsDeflate::inspectorInflatesAFrame_data() {
    QTest::addColumn<QByteArray>("payload"); // the wire payload of an RSV1 text frame
    QTest::addColumn<QByteArray>("inflated");
    QTest::addColumn<QString>("outcome");
    // RFC 7692 §7.2.3.1: "Hello" compressed.
    QTest::newRow("hello") << QByteArray::fromHex("f248cdc9c90700") << QByteArray("Hello")
                           << QStringLiteral("for display");
    // RFC 7692 §7.2.3.2: the second "Hello" refers back into the first message's
    // window: alone, only its literal "H" inflates before the back-reference fails.
    QTest::newRow("refers back") << QByteArray::fromHex("f200110000") << QByteArray("H")
                                 << QStringLiteral("in part");
    // RFC 7692 §7.2.3.3: "Hello" in a stored (uncompressed) DEFLATE block.
    QTest::newRow("stored block") << QByteArray::fromHex("000500faff48656c6c6f00")
                                  << QByteArray("Hello") << QStringLiteral("for display");
}

void TestTlsDeflate::inspectorInflatesAFrame() {
    QFETCH(QByteArray, payload);
    QFETCH(QByteArray, inflated);
    QFETCH(QString, outcome);
    FrameEvent event = wstest::frameEvent(Direction::Incoming, 1'000, 0x1, payload);
    event.frame.header.rsv1 = true; // RFC 7692 §6: the message is compressed
    event.frame.rawHeader = serializeHeader(event.frame.header);
    LogStore store;
    store.append(1, event);
    store.commitPending();
    QCOMPARE(store.size(), qsizetype(1));
    QVERIFY(store.at(0).header().rsv1);

    FrameInspector inspector;
    inspector.setRecord(store, 0);
    QCOMPARE(inspector.shownPayload(), inflated);
    QCOMPARE(inspector.wireHexView()->data(), payload);
    QVERIFY(inspector.isPayloadTabVisible(FrameInspector::WireTab));
    QCOMPARE(inspector.findItem(QStringLiteral("Sizes"))->text(1),
             QStringLiteral("compressed %1 bytes \u2192 inflated %2 bytes")
                 .arg(payload.size())
                 .arg(inflated.size()));
    QCOMPARE(inspector.findItem(QStringLiteral("Inflated"))->text(1), outcome);
    inspector.setCurrentPayloadTab(FrameInspector::TextTab);
    QCOMPARE(inspector.textView()->toPlainText(), QString::fromUtf8(inflated));
    // The same bytes without RSV1 are shown as they are.
    event.frame.header.rsv1 = false;
    event.frame.rawHeader = serializeHeader(event.frame.header);
    LogStore plain;
    plain.append(1, event);
    plain.commitPending();
    inspector.setRecord(plain, 0);
    QCOMPARE(inspector.shownPayload(), payload);
    QVERIFY(!inspector.isPayloadTabVisible(FrameInspector::WireTab));
    QVERIFY(!inspector.findItem(QStringLiteral("Sizes")));
}

QTEST_MAIN(TestTlsDeflate)
#include "tst_tlsdeflate.moc"

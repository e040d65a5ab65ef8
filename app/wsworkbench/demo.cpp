#include "demo.h"

#include "connections/connectionhub.h"
#include "log/logrecord.h"
#include "models/messagelogmodel.h"
#include "widgets/displayfilteredit.h"
#include "widgets/frameinspector.h"
#include "widgets/messagelogview.h"
#include "windows/connectionspanel.h"
#include "windows/logpanel.h"
#include "windows/mainwindow.h"
#include "windows/probepanel.h"
#include "windows/relaypanel.h"
#include "windows/sendbox.h"
#include "windows/serverpanel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDockWidget>
#include <QLabel>
#include <QLineEdit>
#include <QPixmap>
#include <QSpinBox>
#include <QTabWidget>
#include <QTextStream>
#include <QTimer>

#include <functional>
#include <memory>

namespace ws {

namespace {

constexpr int DemoStepMs = 300;
// After the demo, the last echoes, the chart and the inspector get this long to paint.
constexpr int ScreenshotDelayMs = 1200;

QString tr(const char *text) {
    return QCoreApplication::translate("wsworkbench", text);
}

// An echo server of the window's own with the Relay panel's relay in front of it, and
// a client connected to the relay (with `proxy`: to the server, through the panel's
// proxy); its id, 0 when something did not start.
quint32 connectThroughRelay(MainWindow &window, bool proxy) {
    ServerOptions server = window.serverPanel()->options();
    server.mode = ServerOptions::Mode::Echo;
    server.bindAddress = QHostAddress(QHostAddress::LocalHost);
    server.port = 0;
    if (!window.serverPanel()->start(server))
        return 0;
    RelayPanel *relay = window.relayPanel();
    relay->setMode(proxy ? RelayPanel::Mode::Proxy : RelayPanel::Mode::Reverse);
    relay->addressEdit()->setText(QStringLiteral("127.0.0.1"));
    const QString serverUrl =
        QStringLiteral("ws://127.0.0.1:%1/").arg(window.serverPanel()->boundPort());
    relay->targetEdit()->setText(serverUrl);
    // The relay's usual port, or any free one when it is taken.
    if (!relay->start()) {
        relay->portSpin()->setValue(0);
        if (!relay->start())
            return 0;
    }
    window.relayDock()->raise();
    ClientOptions client;
    if (proxy) {
        client.url = QUrl(serverUrl + QStringLiteral("prices"));
        client.proxy = HttpProxy{QStringLiteral("127.0.0.1"), relay->boundPort(), std::nullopt};
    } else {
        client.url = QUrl(relay->listeningUrl() + QStringLiteral("prices"));
        // Compressed between the client and the relay only (the echo server does not
        // take permessage-deflate): the log gives the client leg's sizes on the wire.
        client.deflate.policy = DeflatePolicy::Offer;
    }
    return window.openConnection(client);
}

// The relayed pair in the tree and a frame of its server leg in the inspector; with
// `intercept`, one more message of the client's held in the Relay panel's list.
void showRelayedPair(MainWindow &window, quint32 client, bool intercept) {
    RelayPanel *panel = window.relayPanel();
    // The window's first layout put the Server tab in front.
    window.relayDock()->raise();
    if (intercept) {
        panel->ruleEdit()->setText(QStringLiteral("json.type == \"order\""));
        panel->ruleEdit()->applyNow();
        panel->holdUpCheck()->setChecked(true);
        const SendError held = window.hub()->sendText(
            client, R"({"type":"order","side":"buy","symbol":"BTC","qty":2})");
        if (held != SendError::None)
            qWarning("demo: not sent: %s", sendErrorText(held));
        panel->tabs()->setCurrentIndex(1);
    }
    ConnectionHub *hub = window.hub();
    const quint32 relayId = window.relayPanel()->relayId();
    for (const quint32 id : hub->descendantsOf(relayId)) {
        const EndpointInfo *info = hub->info(id);
        if (info->kind != EndpointInfo::Kind::RelayPair)
            continue;
        window.connectionsPanel()->select(id);
        const quint32 serverLeg = hub->legOf(id, log::Leg::Server);
        window.logModel()->flush();
        const log::LogStore &store = window.logModel()->store();
        for (qsizetype i = store.size() - 1; i >= 0; --i) {
            const log::LogRecord &record = store.at(i);
            if (record.connection == serverLeg && record.kind == log::LogKind::Text &&
                record.payload.startsWith("{\"type\"")) {
                window.logPanel()->view()->selectStoreIndex(i);
                break;
            }
        }
        return;
    }
}

// Sends a few messages of every kind to an echo server of the window's own (through
// the Relay panel's relay with `relay`), one step every DemoStepMs, then selects a
// masked client frame (or the relayed pair); `finished` runs at the end (also when
// the connection could not be made or is gone).
void runDemo(MainWindow &window, bool relay, bool intercept, bool proxy,
             const std::function<void()> &finished) {
    const quint32 client = relay ? connectThroughRelay(window, proxy) : window.hostEchoAndConnect();
    if (!client) {
        finished();
        return;
    }
    SendBox *box = window.sendBox();
    using Step = std::function<void()>;
    auto steps = std::make_shared<QList<Step>>();
    const auto sendAs = [box](SendBox::Mode mode, const QString &text, int fragment = 0) {
        return [box, mode, text, fragment] {
            box->setMode(mode);
            box->editor()->setPlainText(text);
            box->fragmentCheck()->setChecked(fragment > 0);
            if (fragment > 0)
                box->fragmentSizeSpin()->setValue(fragment);
            box->send();
        };
    };
    steps->append(sendAs(SendBox::Mode::Text, QStringLiteral("Hello from WebSocket Workbench")));
    steps->append(sendAs(SendBox::Mode::Ping, QStringLiteral("rtt-1")));
    steps->append(
        sendAs(SendBox::Mode::Json, QStringLiteral("{\"type\":\"subscribe\",\"channel\":\"prices\","
                                                   "\"symbols\":[\"BTC\",\"ETH\"],\"id\":42}")));
    steps->append(sendAs(SendBox::Mode::Binary,
                         QStringLiteral("00 01 02 03 de ad be ef ca fe ba be 7f 80 ff")));
    steps->append(sendAs(SendBox::Mode::Ping, QStringLiteral("rtt-2")));
    steps->append(sendAs(SendBox::Mode::Text,
                         QStringLiteral("This message travels in fragments of 16 bytes"), 16));
    for (int i = 3; i <= 8; ++i) {
        steps->append(sendAs(SendBox::Mode::Text, QStringLiteral("tick %1").arg(i)));
        steps->append(sendAs(SendBox::Mode::Ping, QStringLiteral("rtt-%1").arg(i)));
    }
    steps->append([&window, box, client, relay, intercept] {
        // Leave the box ready for the next message, and show a masked client frame.
        box->setMode(SendBox::Mode::Json);
        box->fragmentCheck()->setChecked(false);
        box->editor()->setPlainText(QStringLiteral("{\"type\":\"ping\",\"id\":43}"));
        if (relay) {
            showRelayedPair(window, client, intercept);
            return;
        }
        window.logModel()->flush();
        const log::LogStore &store = window.logModel()->store();
        for (qsizetype i = store.size() - 1; i >= 0; --i) {
            const log::LogRecord &record = store.at(i);
            if (record.connection == client && record.kind == log::LogKind::Text &&
                record.isFrame() && record.has(log::LogRecord::Outgoing) &&
                record.payload.startsWith("{\"type\"")) {
                window.logPanel()->view()->selectStoreIndex(i);
                window.inspector()->selectField(HeaderField::MaskingKey);
                break;
            }
        }
    });

    auto *timer = new QTimer(&window);
    timer->setInterval(DemoStepMs);
    QObject::connect(timer, &QTimer::timeout, &window, [&window, timer, steps, client, finished] {
        const EndpointInfo *info = window.hub()->info(client);
        if (!info || info->finished || steps->isEmpty()) {
            timer->stop();
            timer->deleteLater();
            finished();
            return;
        }
        if (!window.hub()->isOpen(client))
            return; // still connecting
        steps->takeFirst()();
    });
    timer->start();
}

// Runs the probe's cases 1 to 7 and 10 against the window's echo server from the Probe
// panel, then shows the frames of case 6.4.1 (fail-fast on invalid UTF-8); `finished`
// runs at the end.
void runProbeDemo(MainWindow &window, const std::function<void()> &finished) {
    ProbePanel *probe = window.probePanel();
    window.showProbe();
    probe->targetCombo()->setCurrentIndex(
        probe->targetCombo()->findData(int(ProbePanel::TargetKind::HostedServer)));
    probe->setCheckedCategories({QStringLiteral("1.*"), QStringLiteral("2.*"),
                                 QStringLiteral("3.*"), QStringLiteral("4.*"),
                                 QStringLiteral("5.*"), QStringLiteral("6.*"),
                                 QStringLiteral("7.*"), QStringLiteral("10.*")});
    probe->casesEdit()->clear();
    probe->excludeEdit()->clear();
    QObject::connect(
        probe, &ProbePanel::runFinished, &window,
        [probe, finished] {
            for (int row = 0; row < probe->resultsModel()->rowCount(); ++row) {
                if (probe->resultsModel()->result(row).id == QLatin1String("6.4.1")) {
                    probe->showCaseInLog(row);
                    break;
                }
            }
            finished();
        },
        Qt::SingleShotConnection);
    if (!probe->run())
        finished();
}

} // namespace

bool parseDemoOptions(const QStringList &arguments, DemoOptions *options, QString *error) {
    QCommandLineParser parser;
    const QCommandLineOption demo(
        QStringLiteral("demo"), tr("Host an echo server, connect to it and send a few messages."));
    const QCommandLineOption relay(QStringLiteral("relay"),
                                   tr("With --demo: the traffic goes through the Relay panel."));
    const QCommandLineOption intercept(
        QStringLiteral("intercept"),
        tr("With --relay: hold a message in the intercept list and show it."));
    const QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                        tr("After the demo, save the window as a PNG and quit."),
                                        tr("file"));
    const QCommandLineOption size(QStringLiteral("size"),
                                  tr("The window's size, e.g. 1024x700 (for screenshots)."),
                                  tr("WIDTHxHEIGHT"));
    const QCommandLineOption probe(
        QStringLiteral("probe"),
        tr("After the demo, run the conformance probe against the window's echo server."));
    const QCommandLineOption proxy(
        QStringLiteral("proxy"),
        tr("With --relay: the Relay panel runs as an HTTP proxy the client goes through."));
    const QCommandLineOption startRelay(
        QStringLiteral("start-relay"),
        tr("Start the Relay panel's relay from [ADDRESS:]PORT to URL and print \"listening on "
           "ws://ADDRESS:PORT/ -> URL\" once it listens."),
        tr("[ADDRESS:]PORT=URL"));
    parser.addOptions({demo, relay, intercept, proxy, screenshot, size, probe, startRelay});
    if (!parser.parse(arguments)) {
        if (error)
            *error = parser.errorText();
        return false;
    }
    if (!parser.positionalArguments().isEmpty()) {
        if (error)
            *error = tr("Unexpected argument: %1").arg(parser.positionalArguments().constFirst());
        return false;
    }
    options->demo = parser.isSet(demo);
    options->probe = parser.isSet(probe);
    options->relay = parser.isSet(relay);
    options->intercept = parser.isSet(intercept);
    options->proxy = parser.isSet(proxy);
    options->screenshotPath = parser.isSet(screenshot) ? parser.value(screenshot) : QString();
    if (parser.isSet(size)) {
        const QStringList parts = parser.value(size).split(QLatin1Char('x'));
        bool widthOk = false;
        bool heightOk = false;
        const int width = parts.value(0).toInt(&widthOk);
        const int height = parts.size() == 2 ? parts.value(1).toInt(&heightOk) : 0;
        if (!widthOk || !heightOk || width < 200 || height < 200) {
            if (error)
                *error =
                    tr("--size wants WIDTHxHEIGHT, e.g. 1024x700, not %1").arg(parser.value(size));
            return false;
        }
        options->size = QSize(width, height);
    }
    if (parser.isSet(startRelay)) {
        // The listening side has no '=' of its own; the URL may (in its query).
        const QString value = parser.value(startRelay);
        const qsizetype equals = value.indexOf(QLatin1Char('='));
        const QString listen = value.left(equals);
        const qsizetype colon = listen.lastIndexOf(QLatin1Char(':'));
        bool portOk = false;
        const uint port = listen.mid(colon + 1).toUInt(&portOk);
        if (equals < 0 || !portOk || port > 65535 || value.mid(equals + 1).isEmpty()) {
            if (error)
                *error = tr("--start-relay wants [ADDRESS:]PORT=URL, e.g. "
                            "9002=ws://127.0.0.1:9001/, not %1")
                             .arg(value);
            return false;
        }
        options->relayAddress = colon < 0 ? QStringLiteral("127.0.0.1") : listen.left(colon);
        options->relayPort = quint16(port);
        options->relayTarget = value.mid(equals + 1);
    }
    return true;
}

namespace {

// The Relay panel's relay, started as `options` asks and announced on stdout; a
// relay that cannot start ends the event loop with 1.
void startRelayPanel(MainWindow &window, const DemoOptions &options) {
    RelayPanel *panel = window.relayPanel();
    panel->setMode(RelayPanel::Mode::Reverse);
    panel->addressEdit()->setText(options.relayAddress);
    panel->portSpin()->setValue(options.relayPort);
    panel->targetEdit()->setText(options.relayTarget);
    window.relayDock()->raise();
    if (!panel->start()) {
        QTextStream(stderr) << "wsworkbench: the relay did not start: "
                            << panel->errorLabel()->text() << Qt::endl;
        QCoreApplication::exit(1);
        return;
    }
    QTextStream(stdout) << "listening on " << panel->listeningUrl() << " -> " << options.relayTarget
                        << Qt::endl;
}

} // namespace

void startDemo(MainWindow &window, const DemoOptions &options) {
    if (!options.relayTarget.isEmpty()) {
        QTimer::singleShot(0, &window, [&window, options] { startRelayPanel(window, options); });
    }
    if (!options.demo && options.screenshotPath.isEmpty())
        return;
    const QString path = options.screenshotPath;
    const bool probe = options.probe;
    const bool relay = options.relay;
    const bool intercept = options.intercept;
    const bool proxy = options.proxy;
    QTimer::singleShot(0, &window, [&window, path, probe, relay, intercept, proxy] {
        const auto screenshot = [&window, path] {
            if (path.isEmpty())
                return;
            QTimer::singleShot(ScreenshotDelayMs, &window, [&window, path] {
                QString error;
                if (!saveScreenshot(window, path, &error))
                    qWarning("%s", qPrintable(error));
                window.close();
            });
        };
        runDemo(window, relay, intercept, proxy, [&window, probe, screenshot] {
            if (probe)
                runProbeDemo(window, screenshot);
            else
                screenshot();
        });
    });
}

bool saveScreenshot(QWidget &window, const QString &path, QString *error) {
    const QPixmap pixmap = window.grab();
    if (pixmap.isNull() || !pixmap.save(path, "PNG")) {
        if (error)
            *error = tr("Cannot write the screenshot to %1").arg(path);
        return false;
    }
    return true;
}

} // namespace ws

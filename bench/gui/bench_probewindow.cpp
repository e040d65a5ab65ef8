// The conformance probe in the window against the window's own server, timed. The
// Probe panel runs its selected cases (by default those the panel checks on its own)
// against the echo server the window hosts, as a user would with the target "the
// server this window hosts"; every case opens and closes a connection of that
// server, so each case is a node added to the connection tree, rows in the log and
// state changes the window follows. The same cases are first run without a window:
// a probe::ProbeRunner against a ws::Server with the same options, in the same
// thread (as the window runs both), which is what the window's bookkeeping is
// compared with.
//
// Usage: bench_probewindow [--cases PATTERNS] [--no-baseline]
//   --cases    comma-separated categories or case ids as the panel takes them
//              ("1.*,6.4.*"); default: the panel's own selection
// Prints the case count, both times and their ratio. Runs on the offscreen platform
// unless QT_QPA_PLATFORM says otherwise.

#include "guibenchsetup.h"
#include "net/server.h"
#include "net/websocketurl.h"
#include "probe/proberunner.h"
#include "windows/mainwindow.h"
#include "windows/probepanel.h"
#include "windows/serverpanel.h"

#include <QApplication>
#include <QComboBox>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QSpinBox>
#include <QTimer>

#include <cstdio>

using namespace ws;

namespace {

// Runs `cases` against a fresh echo server with the hosted server's `options`;
// seconds, or -1 when the server did not start.
double runWithoutWindow(const QList<probe::ProbeCase> &cases, ServerOptions options) {
    options.port = 0;
    options.bindAddress = QHostAddress(QHostAddress::LocalHost);
    options.mode = ServerOptions::Mode::Echo;
    Server server(options);
    if (!server.listen()) {
        std::fprintf(stderr, "the echo server did not start: %s\n",
                     qPrintable(server.errorString()));
        return -1;
    }
    probe::RunOptions run;
    run.target = *parseWebSocketUrl(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(server.port())));
    probe::ProbeRunner runner(cases, run);
    QEventLoop loop;
    QObject::connect(&runner, &probe::ProbeRunner::finished, &loop, &QEventLoop::quit);
    QElapsedTimer timer;
    timer.start();
    runner.start();
    loop.exec();
    return double(timer.nsecsElapsed()) / 1e9;
}

} // namespace

int main(int argc, char **argv) {
    wsbench::useOffscreenUnlessChosen();
    QApplication app(argc, argv);
    const wsbench::OwnSettings settings(QStringLiteral("bench_probewindow"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Times the Probe panel against the window's own server"));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("cases"),
                      QStringLiteral("Categories or case ids, comma-separated (\"1.*,6.4.*\")."),
                      QStringLiteral("patterns")});
    parser.addOption({QStringLiteral("no-baseline"),
                      QStringLiteral("Do not run the cases without the window first.")});
    parser.process(app);

    MainWindow window;
    window.resize(1400, 900);
    window.show();
    ProbePanel *probe = window.probePanel();
    window.showProbe();
    probe->targetCombo()->setCurrentIndex(
        probe->targetCombo()->findData(int(ProbePanel::TargetKind::HostedServer)));
    if (parser.isSet(QStringLiteral("cases"))) {
        probe->setCheckedCategories(
            parser.value(QStringLiteral("cases")).split(QLatin1Char(','), Qt::SkipEmptyParts));
    }
    window.serverPanel()->portSpin()->setValue(0);
    const QList<probe::ProbeCase> cases = probe->selectedCases();
    if (cases.isEmpty()) {
        std::fprintf(stderr, "no case matches the selection\n");
        return 2;
    }

    double baseline = -1;
    if (!parser.isSet(QStringLiteral("no-baseline"))) {
        baseline = runWithoutWindow(cases, window.serverPanel()->options());
        if (baseline < 0)
            return 1;
    }

    QEventLoop loop;
    QObject::connect(probe, &ProbePanel::runFinished, &loop, &QEventLoop::quit);
    QElapsedTimer timer;
    timer.start();
    if (!probe->run()) {
        std::fprintf(stderr, "the Probe panel did not start its run\n");
        return 1;
    }
    loop.exec();
    const double windowSeconds = double(timer.nsecsElapsed()) / 1e9;

    std::printf("probe, %lld cases against the hosted echo server\n", qlonglong(cases.size()));
    if (baseline >= 0)
        std::printf("  without the window: %.2f s\n", baseline);
    std::printf("  in the window:      %.2f s\n", windowSeconds);
    if (baseline > 0)
        std::printf("  window/without:     %.2f\n", windowSeconds / baseline);
    return 0;
}

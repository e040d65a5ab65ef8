#include "demo.h"
#include "windows/mainwindow.h"
#include "windows/windowapplication.h"
#include "wswversion.h"

#include <QApplication>
#include <QCoreApplication>
#include <QIcon>
#include <QSslSocket>
#include <QTextStream>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <unistd.h>
#include <zlib.h>

namespace {

const char Usage[] = "Usage: wsworkbench [options]\n"
                     "\n"
                     "The WebSocket Workbench window.\n"
                     "\n"
                     "Options:\n"
                     "  --demo               host an echo server, connect to it and send a few "
                     "messages\n"
                     "  --relay              with --demo: the traffic goes through the Relay "
                     "panel\n"
                     "  --intercept          with --relay: hold a message in the Relay panel's "
                     "intercept list\n"
                     "  --proxy              with --relay: the Relay panel runs as an HTTP proxy "
                     "the client goes through\n"
                     "  --screenshot <file>  after the demo, save the window as a PNG and quit\n"
                     "  --size <W>x<H>       the window's size, e.g. 1024x700\n"
                     "  --probe              after the demo, run the conformance probe against "
                     "its server\n"
                     "  --start-relay [ADDR:]PORT=URL\n"
                     "                       start the Relay panel's relay to URL and print "
                     "\"listening on ws://ADDR:PORT/ -> URL\"\n"
                     "  --version            print the version and the Qt, zlib and OpenSSL "
                     "versions in use\n"
                     "  -h, --help           print this help\n"
                     "\n"
                     "Qt's own options apply too, e.g. -platform offscreen.\n";

bool hasArgument(int argc, char *argv[], const char *name) {
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], name) == 0)
            return true;
    }
    return false;
}

// Answered before QApplication exists, so that it works without a display.
int printVersion(int argc, char *argv[]) {
    const QCoreApplication app(argc, argv);
    const QString ssl = QSslSocket::sslLibraryVersionString();
    QTextStream(stdout) << "wsworkbench " WSW_VERSION "\nQt " << qVersion() << "\nzlib "
                        << zlibVersion() << '\n'
                        << (ssl.isEmpty() ? QStringLiteral("OpenSSL not available (no TLS)") : ssl)
                        << '\n';
    return 0;
}

// The log keeps up to a gigabyte of payloads, allocated as messages arrive. On 4 KiB
// pages every new megabyte costs 256 page faults, which made the window relay large
// messages at a quarter of its speed until the log was full. glibc backs its heap
// with transparent huge pages, and serves payloads of up to 32 MiB from that heap
// (reused once freed, rather than mapped and unmapped one by one), when its tunables
// say so; it reads them only as a process starts. So the window starts itself again
// once with them, unless GLIBC_TUNABLES is set already (set it, even empty, to keep
// glibc's defaults), and then clears them, so that nothing it starts inherits them.
constexpr char HeapTunables[] = "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:"
                                "glibc.malloc.trim_threshold=268435456";
constexpr char HeapTunedMark[] = "WSW_HEAP_TUNED";

void startWithHeapTunables(char *argv[]) {
    if (std::getenv(HeapTunedMark)) {
        unsetenv("GLIBC_TUNABLES");
        unsetenv(HeapTunedMark);
        return;
    }
    if (std::getenv("GLIBC_TUNABLES"))
        return;
    setenv("GLIBC_TUNABLES", HeapTunables, 1);
    setenv(HeapTunedMark, "1", 1);
    execv("/proc/self/exe", argv);
    // Not started again (no /proc): on with glibc's defaults.
    unsetenv("GLIBC_TUNABLES");
    unsetenv(HeapTunedMark);
}

} // namespace

int main(int argc, char *argv[]) {
    if (hasArgument(argc, argv, "--version"))
        return printVersion(argc, argv);
    if (hasArgument(argc, argv, "--help") || hasArgument(argc, argv, "-h")) {
        QTextStream(stdout) << Usage;
        return 0;
    }
    startWithHeapTunables(argv);
    // On epoll, as the command-line tool (WSW_EVENT_DISPATCHER=qt: Qt's own dispatcher).
    const std::unique_ptr<QApplication> app = ws::createWindowApplication(argc, argv);
    // QSettings keys live under these names.
    QApplication::setOrganizationName(QStringLiteral("WebSocket Workbench"));
    QApplication::setOrganizationDomain(QStringLiteral("wsworkbench.invalid"));
    QApplication::setApplicationName(QStringLiteral("wsworkbench"));
    QApplication::setApplicationDisplayName(QStringLiteral("WebSocket Workbench"));
    QApplication::setApplicationVersion(QStringLiteral(WSW_VERSION));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/wsworkbench.svg")));
    QApplication::setDesktopFileName(QStringLiteral(WSW_APP_ID));

    ws::DemoOptions demo;
    QString error;
    if (!ws::parseDemoOptions(QApplication::arguments(), &demo, &error)) {
        QTextStream(stderr) << "wsworkbench: " << error << '\n';
        return 2;
    }
    ws::MainWindow window;
    if (demo.size.isValid())
        window.resize(demo.size);
    ws::startDemo(window, demo);
    window.show();
    return QApplication::exec();
}

// wsw: WebSocket Workbench on the command line (serve, connect, bench, diff, replay, probe,
// relay).
#include "allocatortuning.h"
#include "bench/benchcommand.h"
#include "connectcommand.h"
#include "diffcommand.h"
#include "net/descriptorlimit.h"
#include "net/epolleventdispatcher.h"
#include "net/noglibdispatchers.h"
#include "output.h"
#include "probecommand.h"
#include "relaycommand.h"
#include "replaycommand.h"
#include "servecommand.h"
#include "wswversion.h"

#include <QCoreApplication>
#include <QSslSocket>

#include <memory>

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

namespace {

const char Usage[] = "Usage: wsw <command> [options]\n"
                     "\n"
                     "Commands:\n"
                     "  serve     run a WebSocket server (echo, greeting, broadcast, manual)\n"
                     "  connect   interactive client: stdin lines out, received messages printed\n"
                     "  bench     load generator: echo throughput, connection rate, idle "
                     "connections\n"
                     "  diff      compare two recorded sessions message by message\n"
                     "  replay    play a saved connection again: its client side against a "
                     "server,\n"
                     "            or its server side to a client\n"
                     "  probe     conformance test of a server (Autobahn-compatible reports)\n"
                     "  relay     reverse relay: clients in, one upstream connection each, both "
                     "legs decoded\n"
                     "\n"
                     "wsw <command> --help describes each command; wsw --version prints the\n"
                     "version and the Qt, zlib and OpenSSL libraries in use.";

// The libraries actually loaded, which may be newer than the ones built against.
QByteArray versionReport() {
    const QString ssl = QSslSocket::sslLibraryVersionString();
    return "wsw " WSW_VERSION "\nQt " + QByteArray(qVersion()) + "\nzlib " +
           QByteArray(zlibVersion()) + "\n" +
           (ssl.isEmpty() ? QByteArray("OpenSSL not available (no TLS)") : ssl.toUtf8());
}

// A closed standard descriptor (`wsw connect URL <&-`) would be taken by the next
// descriptor opened, one of Qt's own: stdin would then read Qt's event pipe and never
// end. /dev/null in its place is an input that ends at once, an output that takes all.
void reserveStandardDescriptors() {
    for (int fd = 0; fd <= 2; ++fd) {
        if (::fcntl(fd, F_GETFD) != -1)
            continue;
        const int opened = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        // open() takes the lowest free number, which is this one.
        if (opened != fd && opened >= 0)
            ::close(opened);
    }
}

// The main thread waits on epoll(7) (ws::EpollEventDispatcher): a relay or a server
// holds a socket per connection, and Qt's own dispatcher hands every one of them to
// poll(2) at each wait. WSW_EVENT_DISPATCHER=qt keeps Qt's, to compare the two.
//
// Other threads, and the main thread with WSW_EVENT_DISPATCHER=qt, use Qt's poll(2)
// dispatcher rather than GLib's. A socket opened Unbuffered has its read notifier
// switched off and on when a readyRead() is not followed by a read, and GLib's
// dispatcher pays for each switch with a walk of a list of every descriptor, where
// Qt's updates a hash; the CLI needs nothing from GLib (no GUI, no GLib sources).
//
// The application object, its event dispatchers chosen as above.
QCoreApplication *createApplication(int &argc, char **argv) {
    const ws::NoGlibDispatchersWhileInScope noGlib;
    if (qgetenv("WSW_EVENT_DISPATCHER") != "qt") {
        auto dispatcher = std::make_unique<ws::EpollEventDispatcher>();
        if (dispatcher->isValid())
            QCoreApplication::setEventDispatcher(dispatcher.release());
    }
    return new QCoreApplication(argc, argv);
}

} // namespace

int main(int argc, char *argv[]) {
    reserveStandardDescriptors();
    ws::keepLargeBuffersForReuse();
    // Each connection is a descriptor: a server holds as many clients as the hard limit allows.
    ws::raiseDescriptorLimit();
    const std::unique_ptr<QCoreApplication> app(createApplication(argc, argv));
    QCoreApplication::setApplicationName(QStringLiteral("wsw"));
    QCoreApplication::setApplicationVersion(QStringLiteral(WSW_VERSION));

    QStringList arguments = QCoreApplication::arguments();
    const QString command = arguments.size() > 1 ? arguments.at(1) : QString();
    if (command == QLatin1String("--help") || command == QLatin1String("-h") ||
        command == QLatin1String("help")) {
        ws::writeLine(stdout, Usage);
        return 0;
    }
    if (command == QLatin1String("--version")) {
        ws::writeLine(stdout, versionReport());
        return 0;
    }
    // Each command parses "wsw <command> ..." with its own QCommandLineParser.
    if (arguments.size() > 1) {
        arguments[0] += QLatin1Char(' ') + command;
        arguments.removeAt(1);
    }
    if (command == QLatin1String("serve"))
        return ws::ServeCommand::run(arguments);
    if (command == QLatin1String("connect"))
        return ws::ConnectCommand::run(arguments);
    if (command == QLatin1String("bench"))
        return ws::BenchCommand::run(arguments);
    if (command == QLatin1String("diff"))
        return ws::DiffCommand::run(arguments);
    if (command == QLatin1String("replay"))
        return ws::ReplayCommand::run(arguments);
    if (command == QLatin1String("probe"))
        return ws::ProbeCommand::run(arguments);
    if (command == QLatin1String("relay"))
        return ws::RelayCommand::run(arguments);
    ws::writeLine(stderr, command.isEmpty()
                              ? QByteArray(Usage)
                              : "wsw: unknown command " + command.toUtf8() + "\n\n" + Usage);
    return 1;
}

#include "benchcommand.h"

#include "benchrunner.h"
#include "output.h"
#include "signalwatcher.h"

#include "net/clientconnection.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QHostInfo>
#include <QSslSocket>
#include <QTimer>
#include <QUrl>

#include <algorithm>
#include <limits>

namespace ws {

namespace {

QByteArray number(double value, int decimals = 0) {
    return QByteArray::number(value, 'f', decimals);
}

void printHuman(const BenchOptions &options, const QJsonObject &result) {
    const QByteArray head = QByteArray(benchModeName(options.mode)) + ' ' + options.url.toUtf8() +
                            ": " + QByteArray::number(options.connections) + " connections";
    const double seconds = result.value("seconds").toDouble();
    switch (options.mode) {
    case BenchOptions::Mode::Echo: {
        const QJsonObject latency = result.value("latencyUs").toObject();
        writeLine(stdout, head + ", " + QByteArray::number(options.messageSize) + "-byte " +
                              (options.binary ? "binary" : "text") + " messages, window " +
                              QByteArray::number(options.window) + ", " + number(seconds, 2) +
                              " s");
        writeLine(stdout, "messages/s  " + number(result.value("messagesPerSecond").toDouble()));
        writeLine(stdout,
                  "MB/s        " + number(result.value("megabytesPerSecond").toDouble(), 2));
        writeLine(stdout, "latency us  mean " + number(latency.value("mean").toDouble()) +
                              "  p50 " + number(latency.value("p50").toDouble()) + "  p90 " +
                              number(latency.value("p90").toDouble()) + "  p99 " +
                              number(latency.value("p99").toDouble()) + "  max " +
                              number(latency.value("max").toDouble()));
        break;
    }
    case BenchOptions::Mode::Connect:
        writeLine(stdout, head + ", " + number(seconds, 2) + " s");
        writeLine(stdout, "connections/s  " +
                              number(result.value("connectionsPerSecond").toDouble()) + " (" +
                              number(result.value("completed").toDouble()) + " completed, " +
                              number(result.value("failures").toDouble()) + " failed)");
        break;
    case BenchOptions::Mode::Idle:
        writeLine(stdout, "held " + QByteArray::number(result.value("opened").toInt()) +
                              " idle connections for " + number(seconds, 2) + " s");
        break;
    }
    if (result.contains("clientCpuPercent"))
        writeLine(stdout, "load generator CPU  " +
                              number(result.value("clientCpuPercent").toDouble()) + " %");
}

} // namespace

int BenchCommand::run(const QStringList &arguments) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Load generator for a WebSocket server.\n"
        "  echo (default): --conns connections keep --window messages of --size bytes in "
        "flight each for --seconds (after 0.5 s of warm-up) and check the echoes; prints "
        "messages/s, MB/s (payload bytes echoed per second, one way, 10^6 bytes) and the round "
        "trip latency.\n"
        "  connect: --conns loops open and close connections (both handshakes); prints "
        "connections/s.\n"
        "  idle: opens --conns connections, prints \"idle N connections open\" (on stderr "
        "with --json), holds them for --seconds, then closes them."));
    parser.addHelpOption();
    parser.addPositionalArgument(QStringLiteral("url"),
                                 QStringLiteral("ws://host[:port]/path or wss://..."));
    const QCommandLineOption conns(QStringLiteral("conns"),
                                   QStringLiteral("Connections (default 50)."),
                                   QStringLiteral("count"));
    const QCommandLineOption size(QStringLiteral("size"),
                                  QStringLiteral("Message size in bytes (default 64)."),
                                  QStringLiteral("bytes"));
    const QCommandLineOption window(QStringLiteral("window"),
                                    QStringLiteral("Messages in flight per connection "
                                                   "(default 16)."),
                                    QStringLiteral("count"));
    const QCommandLineOption seconds(QStringLiteral("seconds"),
                                     QStringLiteral("How long to measure (default 5)."),
                                     QStringLiteral("seconds"));
    const QCommandLineOption binary(QStringLiteral("binary"),
                                    QStringLiteral("Binary messages instead of text."));
    const QCommandLineOption mode(QStringLiteral("mode"),
                                  QStringLiteral("echo (default), connect or idle."),
                                  QStringLiteral("mode"));
    const QCommandLineOption json(QStringLiteral("json"),
                                  QStringLiteral("Print the figures as one JSON object."));
    const QCommandLineOption ca(QStringLiteral("ca"),
                                QStringLiteral("wss: also trust the PEM certificates in this file "
                                               "(verification stays on)."),
                                QStringLiteral("file"));
    const QCommandLineOption deflate(
        QStringLiteral("deflate"),
        QStringLiteral("Offer permessage-deflate (RFC 7692) and compress every message; fails "
                       "if the server declines it."));
    const QCommandLineOption textJson(
        QStringLiteral("text-json"),
        QStringLiteral("Text messages of compressible JSON (--size bytes) instead of letters."));
    parser.addOptions({conns, size, window, seconds, binary, mode, json, ca, deflate, textJson});

    if (!parser.parse(arguments)) {
        writeLine(stderr, "wsw bench: " + parser.errorText().toUtf8());
        return UsageError;
    }
    if (parser.isSet(QStringLiteral("help"))) {
        writeLine(stdout, commandHelp(parser, "bench"));
        return Done;
    }
    const auto usage = [](const QString &message) {
        writeLine(stderr, "wsw bench: " + message.toUtf8());
        return int(UsageError);
    };
    if (parser.positionalArguments().size() != 1)
        return usage(
            QStringLiteral("expects exactly one URL, e.g. wsw bench ws://127.0.0.1:9001/"));

    BenchOptions options;
    options.url = parser.positionalArguments().constFirst();
    QString urlError;
    const auto url = parseWebSocketUrl(QUrl(options.url, QUrl::StrictMode), &urlError);
    if (!url)
        return usage(urlError);
    if (parser.isSet(ca) && !url->secure)
        return usage(QStringLiteral("--ca is for wss:// URLs"));
    if (url->secure) {
        if (!QSslSocket::supportsSsl())
            return usage(QStringLiteral("wss:// needs TLS, which this Qt build lacks"));
        options.target.secure = true;
        options.target.peerName = url->host;
        if (parser.isSet(ca)) {
            options.target.caCertificates = QSslCertificate::fromPath(
                parser.value(ca), QSsl::Pem, QSslCertificate::PatternSyntax::FixedString);
            if (options.target.caCertificates.isEmpty())
                return usage(
                    QStringLiteral("--ca: no PEM certificate in %1").arg(parser.value(ca)));
        }
    }
    if (parser.isSet(textJson) && parser.isSet(binary))
        return usage(QStringLiteral("--text-json and --binary exclude each other"));

    const auto positive = [&parser](const QCommandLineOption &option, qint64 max, qint64 *out) {
        if (!parser.isSet(option))
            return true;
        bool ok = false;
        const qint64 value = parser.value(option).toLongLong(&ok);
        if (!ok || value <= 0 || value > max)
            return false;
        *out = value;
        return true;
    };
    qint64 connections = options.connections;
    qint64 windowSize = options.window;
    if (!positive(conns, 100'000, &connections))
        return usage(QStringLiteral("--conns expects a positive number"));
    if (!positive(size, std::numeric_limits<int>::max(), &options.messageSize))
        return usage(QStringLiteral("--size expects a positive number of bytes"));
    if (!positive(window, 100'000, &windowSize))
        return usage(QStringLiteral("--window expects a positive number"));
    options.connections = int(connections);
    options.window = int(windowSize);
    if (parser.isSet(seconds)) {
        bool ok = false;
        options.seconds = parser.value(seconds).toDouble(&ok);
        if (!ok || options.seconds <= 0 || options.seconds > 86'400)
            return usage(QStringLiteral("--seconds expects a positive number"));
    }
    options.binary = parser.isSet(binary);
    options.textJson = parser.isSet(textJson);
    if (parser.isSet(mode)) {
        const QString name = parser.value(mode);
        if (name == QLatin1String("echo"))
            options.mode = BenchOptions::Mode::Echo;
        else if (name == QLatin1String("connect"))
            options.mode = BenchOptions::Mode::Connect;
        else if (name == QLatin1String("idle"))
            options.mode = BenchOptions::Mode::Idle;
        else
            return usage(QStringLiteral("--mode expects echo, connect or idle, got %1").arg(name));
    }
    options.target.resetAfterClose = options.mode == BenchOptions::Mode::Connect;

    options.target.port = url->port;
    options.target.address = QHostAddress(url->host);
    if (options.target.address.isNull()) {
        const QHostInfo info = QHostInfo::fromName(url->host);
        if (info.addresses().isEmpty()) {
            writeLine(stderr, "wsw bench: cannot resolve " + url->host.toUtf8() + ": " +
                                  info.errorString().toUtf8());
            return Failed;
        }
        options.target.address = info.addresses().constFirst();
    }
    options.target.handshake.host = url->hostHeader;
    options.target.handshake.port = url->port;
    options.target.handshake.resourceName = url->resourceName;
    options.target.handshake.secure = url->secure;
    if (parser.isSet(deflate)) {
        options.target.deflate = true;
        options.target.deflateConfig.policy = DeflatePolicy::Require;
        options.target.handshake.extensions = {deflateOffer(options.target.deflateConfig)};
    }
    // Room for the echoes however large the messages are.
    options.target.maxMessageSize = std::max(options.target.maxMessageSize, options.messageSize);

    const bool asJson = parser.isSet(json);
    BenchRunner runner(options);
    QObject::connect(&runner, &BenchRunner::allIdleConnectionsOpen, [asJson](int count) {
        writeLine(asJson ? stderr : stdout,
                  "idle " + QByteArray::number(count) + " connections open");
    });
    QObject::connect(&runner, &BenchRunner::finished, [] { QCoreApplication::exit(0); });
    SignalWatcher watcher;
    // Ctrl-C stops the run; the figures so far are not meaningful, so it is a failure.
    QObject::connect(&watcher, &SignalWatcher::signalReceived,
                     [] { QCoreApplication::exit(Failed); });
    QTimer::singleShot(0, &runner, &BenchRunner::start);
    if (QCoreApplication::exec() != 0)
        return Failed;

    if (asJson)
        writeJson(stdout, runner.result());
    else
        printHuman(options, runner.result());
    if (!runner.succeeded()) {
        writeLine(stderr, "wsw bench: " + runner.errorString().toUtf8());
        return Failed;
    }
    return Done;
}

} // namespace ws

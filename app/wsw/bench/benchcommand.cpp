#include "benchcommand.h"

#include "benchrunner.h"
#include "commandline.h"
#include "output.h"
#include "signalwatcher.h"

#include "net/clientconnection.h"

#include <QCoreApplication>
#include <QHostInfo>
#include <QSslSocket>
#include <QTimer>

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
                              QByteArray::number(options.window) +
                              (options.burst ? " (burst)" : "") + ", " + number(seconds, 2) + " s");
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
    CommandLine commandLine(
        "bench",
        QStringLiteral(
            "Load generator for a WebSocket server.\n"
            "  echo (default): --conns connections keep --window messages of --size bytes in "
            "flight each for --seconds (after 0.5 s of warm-up) and check the echoes; prints "
            "messages/s, MB/s (payload bytes echoed per second, one way, 10^6 bytes) and the "
            "round trip latency.\n"
            "  connect: --conns loops open and close connections (both handshakes); prints "
            "connections/s.\n"
            "  idle: opens --conns connections, prints \"idle N connections open\" (on stderr "
            "with --json), holds them for --seconds, then closes them."),
        UsageError);
    commandLine.addPositionalArgument(QStringLiteral("url"),
                                      QStringLiteral("ws://host[:port]/path or wss://..."));
    const auto conns = makeOption("conns", "Connections (default 50).", "count");
    const auto size = makeOption("size", "Message size in bytes (default 64).", "bytes");
    const auto window =
        makeOption("window", "Messages in flight per connection (default 16).", "count");
    const auto seconds = makeOption("seconds", "How long to measure (default 5).", "seconds");
    const auto binary = makeOption("binary", "Binary messages instead of text.");
    const auto mode = makeOption("mode", "echo (default), connect or idle.", "mode");
    const auto json = makeOption("json", "Print the figures as one JSON object.");
    const auto ca = makeOption(
        "ca", "wss: also trust the PEM certificates in this file (verification stays on).", "file");
    const auto deflate =
        makeOption("deflate", "Offer permessage-deflate (RFC 7692) and compress every message; "
                              "fails if the server declines it.");
    const auto textJson = makeOption(
        "text-json", "Text messages of compressible JSON (--size bytes) instead of letters.");
    const auto burst =
        makeOption("burst", "Echo: each connection writes its --window messages with one write and "
                            "the next window only once all their echoes are back (default: a new "
                            "message as each echo arrives).");
    commandLine.addOptions(
        {conns, size, window, seconds, binary, mode, json, ca, deflate, textJson, burst});

    if (const std::optional<int> status = commandLine.parse(arguments))
        return *status;
    const std::optional<WebSocketUrl> url = commandLine.webSocketUrl();
    if (!url)
        return UsageError;

    BenchOptions options;
    options.url = commandLine.positionalArguments().constFirst();
    if (commandLine.isSet(ca) && !url->secure)
        return commandLine.usageError(QStringLiteral("--ca is for wss:// URLs"));
    if (url->secure) {
        if (!QSslSocket::supportsSsl())
            return commandLine.usageError(
                QStringLiteral("wss:// needs TLS, which this Qt build lacks"));
        options.target.secure = true;
        options.target.peerName = url->host;
        if (commandLine.isSet(ca)) {
            options.target.caCertificates = QSslCertificate::fromPath(
                commandLine.value(ca), QSsl::Pem, QSslCertificate::PatternSyntax::FixedString);
            if (options.target.caCertificates.isEmpty())
                return commandLine.usageError(
                    QStringLiteral("--ca: no PEM certificate in %1").arg(commandLine.value(ca)));
        }
    }
    if (commandLine.isSet(textJson) && commandLine.isSet(binary))
        return commandLine.usageError(
            QStringLiteral("--text-json and --binary exclude each other"));

    if (!commandLine.readInteger(conns, 1, 100'000, &options.connections))
        return commandLine.usageError(QStringLiteral("--conns expects a positive number"));
    if (!commandLine.readInteger(size, 1, std::numeric_limits<int>::max(), &options.messageSize))
        return commandLine.usageError(QStringLiteral("--size expects a positive number of bytes"));
    if (!commandLine.readInteger(window, 1, 100'000, &options.window))
        return commandLine.usageError(QStringLiteral("--window expects a positive number"));
    if (commandLine.isSet(seconds)) {
        bool ok = false;
        options.seconds = commandLine.value(seconds).toDouble(&ok);
        if (!ok || options.seconds <= 0 || options.seconds > 86'400)
            return commandLine.usageError(QStringLiteral("--seconds expects a positive number"));
    }
    options.binary = commandLine.isSet(binary);
    options.burst = commandLine.isSet(burst);
    options.textJson = commandLine.isSet(textJson);
    if (commandLine.isSet(mode)) {
        const QString name = commandLine.value(mode);
        if (name == QLatin1String("echo"))
            options.mode = BenchOptions::Mode::Echo;
        else if (name == QLatin1String("connect"))
            options.mode = BenchOptions::Mode::Connect;
        else if (name == QLatin1String("idle"))
            options.mode = BenchOptions::Mode::Idle;
        else
            return commandLine.usageError(
                QStringLiteral("--mode expects echo, connect or idle, got %1").arg(name));
    }
    if (options.burst && options.mode != BenchOptions::Mode::Echo)
        return commandLine.usageError(QStringLiteral("--burst is for --mode echo"));
    options.target.resetAfterClose = options.mode == BenchOptions::Mode::Connect;

    options.target.port = url->port;
    options.target.address = QHostAddress(url->host);
    if (options.target.address.isNull()) {
        const QHostInfo info = QHostInfo::fromName(url->host);
        if (info.addresses().isEmpty()) {
            commandLine.printError(
                QStringLiteral("cannot resolve %1: %2").arg(url->host, info.errorString()));
            return Failed;
        }
        options.target.address = info.addresses().constFirst();
    }
    options.target.handshake.host = url->hostHeader;
    options.target.handshake.port = url->port;
    options.target.handshake.resourceName = url->resourceName;
    options.target.handshake.secure = url->secure;
    if (commandLine.isSet(deflate)) {
        options.target.deflate = true;
        options.target.deflateConfig.policy = DeflatePolicy::Require;
        options.target.handshake.extensions = {deflateOffer(options.target.deflateConfig)};
    }
    // Room for the echoes however large the messages are.
    options.target.maxMessageSize = std::max(options.target.maxMessageSize, options.messageSize);

    const bool asJson = commandLine.isSet(json);
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
    // A failed run has no figures worth a table: only the reason.
    else if (runner.succeeded())
        printHuman(options, runner.result());
    if (!runner.succeeded()) {
        commandLine.printError(runner.errorString());
        return Failed;
    }
    return Done;
}

} // namespace ws

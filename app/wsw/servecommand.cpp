#include "servecommand.h"

#include "probecommand.h"

#include "commandline.h"
#include "eventprinter.h"
#include "netoptions.h"
#include "signalwatcher.h"
#include "stdinreader.h"

#include "net/eventclock.h"
#include "net/tlscertificate.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QJsonObject>
#include <QTimer>

#include <limits>
#include <memory>

namespace ws {

namespace {

// A few seconds on top of the closing handshakes stop() waits for, so that a
// stuck peer can never keep the process alive after SIGTERM.
constexpr int StopGraceMs = 2'000;

QByteArray urlHost(const QHostAddress &address) {
    if (address.protocol() == QAbstractSocket::IPv6Protocol)
        return '[' + address.toString().toUtf8() + ']';
    return address.toString().toUtf8();
}

QString exitStatusHelp() {
    return QStringLiteral("Exit status:\n"
                          "  0  stopped by SIGINT or SIGTERM (every client closed with 1001)\n"
                          "  1  usage error\n"
                          "  2  could not listen (address in use, no permission, bad TLS "
                          "certificate or key)");
}

// The staged misbehaviour's options (Misbehaviour), parsed apart from the rest.
struct MisbehaviourOptions {
    QCommandLineOption delay = makeOption(
        "delay", "Misbehave: delay every reply MS, or uniformly between MIN-MAX ms.", "ms[-ms]");
    QCommandLineOption handshakeDelay =
        makeOption("handshake-delay", "Misbehave: answer the opening handshake after MS.", "ms");
    QCommandLineOption fragment = makeOption(
        "fragment",
        "Misbehave: send every message in frames of at most N payload bytes; \",ping\": a ping "
        "between fragments.",
        "n[,ping]");
    QCommandLineOption pong =
        makeOption("pong",
                   "Misbehave: withhold pongs, answer pings after MS (delay:MS), or with a wrong "
                   "payload (wrong).",
                   "withhold|delay:ms|wrong");
    QCommandLineOption readRate =
        makeOption("read-rate",
                   "Misbehave: read at most this many bytes per second from each client.", "bytes");
    QCommandLineOption stopReadingAfter = makeOption(
        "stop-reading-after", "Misbehave: stop reading from a client after N messages.", "n");
    QCommandLineOption closeAfter = makeOption(
        "close-after",
        "Misbehave: end each connection after N messages or a time (2s, 500ms), then "
        ":clean[:CODE[:REASON]] (default clean 1000), :no-wait[:CODE[:REASON]] (close frame, "
        "no wait for the answer), :fin (TCP FIN, no close frame) or :rst (TCP reset).",
        "when[:how]");
    QCommandLineOption badFrame = makeOption(
        "bad-frame",
        "Misbehave: after N messages (default 0: at once) send one bad frame: rsv1, rsv2, rsv3, "
        "reserved-opcode, invalid-utf8, long-ping, masked, bad-close-code, orphan-continuation "
        "or lying-length.",
        "kind[@n]");
    QCommandLineOption refuse =
        makeOption("refuse", "Misbehave: refuse every opening handshake with STATUS (and BODY).",
                   "status[:body]");
    QCommandLineOption refuseHeader =
        makeOption("refuse-header", "With --refuse: a header field of the refusal (repeatable).",
                   "name: value");
    QCommandLineOption badAccept =
        makeOption("bad-accept", "Misbehave: answer 101 with a wrong Sec-WebSocket-Accept.");
    QCommandLineOption badExtension = makeOption(
        "bad-extension", "Misbehave: answer 101 with an extension the client did not offer.");
    QCommandLineOption badSubprotocol = makeOption(
        "bad-subprotocol", "Misbehave: answer 101 with a subprotocol the client did not offer.");
    QCommandLineOption noUpgradeHeader =
        makeOption("no-upgrade-header", "Misbehave: answer 101 without an Upgrade header.");
    QCommandLineOption ticker = makeOption(
        "ticker",
        "Misbehave: send each client a JSON message every MS ({\"tick\":N,\"time\":...}).", "ms");
    QCommandLineOption burst = makeOption(
        "burst", "Misbehave: send each client N messages of SIZE bytes once it is open.", "n:size");

    QList<QCommandLineOption> all() const {
        return {delay,          handshakeDelay,   fragment,   pong,
                readRate,       stopReadingAfter, closeAfter, badFrame,
                refuse,         refuseHeader,     badAccept,  badExtension,
                badSubprotocol, noUpgradeHeader,  ticker,     burst};
    }

    // nullopt: parsed into *out; otherwise the usage error.
    std::optional<QString> apply(const CommandLine &commandLine, Misbehaviour *out) const;
};

// "2s", "1.5s", "500ms": milliseconds, or nullopt.
std::optional<int> duration(QStringView text) {
    bool ok = false;
    double ms = 0;
    if (text.endsWith(QLatin1String("ms")))
        ms = text.chopped(2).toDouble(&ok);
    else if (text.endsWith(QLatin1Char('s')))
        ms = text.chopped(1).toDouble(&ok) * 1000;
    if (!ok || ms < 1 || ms > std::numeric_limits<int>::max())
        return std::nullopt;
    return int(ms);
}

std::optional<QString> MisbehaviourOptions::apply(const CommandLine &commandLine,
                                                  Misbehaviour *out) const {
    constexpr qint64 IntMax = std::numeric_limits<int>::max();
    const auto bad = [&](const QCommandLineOption &option, const QString &expected) {
        return QStringLiteral("--%1 expects %2, got %3")
            .arg(option.names().constLast(), expected, commandLine.value(option));
    };
    Misbehaviour &m = *out;
    if (commandLine.isSet(delay)) {
        const QStringList parts = commandLine.value(delay).split(QLatin1Char('-'));
        const auto low = wholeNumber(parts.constFirst(), 1, IntMax);
        const auto high = parts.size() == 2 ? wholeNumber(parts.constLast(), 0, IntMax) : low;
        if (parts.size() > 2 || !low || !high || *high < *low)
            return bad(delay, QStringLiteral("MS or MIN-MAX milliseconds (MIN <= MAX)"));
        m.replyDelayMinMs = int(*low);
        m.replyDelayMaxMs = int(*high);
    }
    if (commandLine.isSet(handshakeDelay)) {
        const auto ms = wholeNumber(commandLine.value(handshakeDelay), 1, IntMax);
        if (!ms)
            return bad(handshakeDelay, QStringLiteral("a number of milliseconds from 1"));
        m.handshakeDelayMs = int(*ms);
    }
    if (commandLine.isSet(fragment)) {
        const QStringList parts = commandLine.value(fragment).split(QLatin1Char(','));
        const auto size = wholeNumber(parts.constFirst(), 1, std::numeric_limits<qint64>::max());
        if (!size || parts.size() > 2 ||
            (parts.size() == 2 && parts.constLast() != QLatin1String("ping")))
            return bad(fragment, QStringLiteral("N or N,ping (N bytes from 1)"));
        m.fragmentSize = *size;
        m.pingBetweenFragments = parts.size() == 2;
    }
    if (commandLine.isSet(pong)) {
        const QString value = commandLine.value(pong);
        if (value == QLatin1String("withhold")) {
            m.pong = Misbehaviour::PongStyle::Withhold;
        } else if (value == QLatin1String("wrong")) {
            m.pong = Misbehaviour::PongStyle::Wrong;
        } else if (value.startsWith(QLatin1String("delay:"))) {
            const auto ms = wholeNumber(QStringView(value).sliced(6), 1, IntMax);
            if (!ms)
                return bad(pong, QStringLiteral("withhold, delay:MS or wrong"));
            m.pong = Misbehaviour::PongStyle::Delay;
            m.pongDelayMs = int(*ms);
        } else {
            return bad(pong, QStringLiteral("withhold, delay:MS or wrong"));
        }
    }
    if (commandLine.isSet(readRate)) {
        const auto rate =
            wholeNumber(commandLine.value(readRate), 1, std::numeric_limits<qint64>::max());
        if (!rate)
            return bad(readRate, QStringLiteral("a number of bytes per second from 1"));
        m.readBytesPerSecond = *rate;
    }
    if (commandLine.isSet(stopReadingAfter)) {
        const auto n = wholeNumber(commandLine.value(stopReadingAfter), 1, IntMax);
        if (!n)
            return bad(stopReadingAfter, QStringLiteral("a number of messages from 1"));
        m.stopReadingAfter = int(*n);
    }
    if (commandLine.isSet(closeAfter)) {
        const QString value = commandLine.value(closeAfter);
        // The reason is the rest, colons included.
        const QStringList parts = value.split(QLatin1Char(':'));
        const QString expected = QStringLiteral(
            "N or a time (2s, 500ms), then :clean[:CODE[:REASON]], :no-wait[:CODE[:REASON]], "
            ":fin or :rst");
        if (const auto n = wholeNumber(parts.constFirst(), 1, IntMax))
            m.closeAfterMessages = int(*n);
        else if (const auto ms = duration(parts.constFirst()))
            m.closeAfterMs = *ms;
        else
            return bad(closeAfter, expected);
        if (parts.size() > 1) {
            const auto style = closeStyleFromName(parts.at(1));
            if (!style)
                return bad(closeAfter, expected);
            m.closeStyle = *style;
            const bool framed = *style == Misbehaviour::CloseStyle::Clean ||
                                *style == Misbehaviour::CloseStyle::NoWait;
            if (parts.size() > 2) {
                const auto code = wholeNumber(parts.at(2), 0, 65535);
                if (!framed || !code)
                    return bad(closeAfter, expected);
                m.closeCode = quint16(*code);
            }
            if (parts.size() > 3)
                m.closeReason = parts.mid(3).join(QLatin1Char(':'));
            if (m.closeReason.toUtf8().size() > 123)
                return QStringLiteral("--close-after: the reason is longer than 123 bytes");
        }
    }
    if (commandLine.isSet(badFrame)) {
        const QString value = commandLine.value(badFrame);
        const qsizetype at = value.indexOf(QLatin1Char('@'));
        const auto kind =
            badFrameFromName(at < 0 ? QStringView(value) : QStringView(value).first(at));
        const auto after = at < 0 ? std::optional<qint64>(0)
                                  : wholeNumber(QStringView(value).sliced(at + 1), 0, IntMax);
        if (!kind || *kind == Misbehaviour::BadFrame::None || !after)
            return bad(badFrame, QStringLiteral("KIND or KIND@N, KIND one of ") +
                                     badFrameNames().join(QStringLiteral(", ")));
        m.badFrame = *kind;
        m.badFrameAfter = int(*after);
    }
    if (commandLine.isSet(refuse)) {
        const QString value = commandLine.value(refuse);
        const qsizetype colon = value.indexOf(QLatin1Char(':'));
        const auto status =
            wholeNumber(colon < 0 ? QStringView(value) : QStringView(value).first(colon), 100, 599);
        if (!status || *status == 101)
            return bad(refuse, QStringLiteral("an HTTP status from 100 to 599 (not 101), then "
                                              "optionally :BODY"));
        m.refuseStatus = int(*status);
        if (colon >= 0)
            m.refuseBody = value.sliced(colon + 1).toUtf8();
    }
    for (const QString &field : commandLine.values(refuseHeader)) {
        if (!commandLine.isSet(refuse))
            return QStringLiteral("--refuse-header needs --refuse");
        const qsizetype colon = field.indexOf(QLatin1Char(':'));
        const QByteArray name = field.first(std::max<qsizetype>(colon, 0)).trimmed().toUtf8();
        if (colon <= 0 || name.isEmpty() || name.contains(' '))
            return QStringLiteral("--refuse-header expects \"Name: value\", got %1").arg(field);
        m.refuseHeaders.append({name, field.sliced(colon + 1).trimmed().toUtf8()});
    }
    int brokenUpgrades = 0;
    for (const auto &[option, kind] :
         {std::pair{&badAccept, Misbehaviour::BadUpgrade::BadAccept},
          std::pair{&badExtension, Misbehaviour::BadUpgrade::UnofferedExtension},
          std::pair{&badSubprotocol, Misbehaviour::BadUpgrade::UnofferedSubprotocol},
          std::pair{&noUpgradeHeader, Misbehaviour::BadUpgrade::MissingUpgrade}}) {
        if (commandLine.isSet(*option)) {
            m.badUpgrade = kind;
            ++brokenUpgrades;
        }
    }
    if (brokenUpgrades > 1)
        return QStringLiteral(
            "--bad-accept, --bad-extension, --bad-subprotocol and --no-upgrade-header exclude "
            "each other");
    if (brokenUpgrades > 0 && m.refuseStatus > 0)
        return QStringLiteral("--refuse excludes the broken 101 options");
    if (commandLine.isSet(ticker)) {
        const auto ms = wholeNumber(commandLine.value(ticker), 1, IntMax);
        if (!ms)
            return bad(ticker, QStringLiteral("a number of milliseconds from 1"));
        m.tickerMs = int(*ms);
    }
    if (commandLine.isSet(burst)) {
        const QStringList parts = commandLine.value(burst).split(QLatin1Char(':'));
        const auto n = wholeNumber(parts.constFirst(), 1, IntMax);
        const auto size = parts.size() == 2 ? wholeNumber(parts.constLast(), 0, 64ll * 1024 * 1024)
                                            : std::nullopt;
        if (!n || !size)
            return bad(burst, QStringLiteral("N:SIZE (SIZE bytes up to 64 MiB)"));
        m.burstCount = int(*n);
        m.burstSize = *size;
    }
    return std::nullopt;
}
} // namespace

int ServeCommand::run(const QStringList &arguments) {
    CommandLine commandLine(
        "serve",
        QStringLiteral("Runs a WebSocket server. It prints \"listening on ws://ADDRESS:PORT/\" "
                       "(wss:// with --tls, then \"certificate sha256 FINGERPRINT\") "
                       "once listening, then its log. SIGINT or SIGTERM closes every client "
                       "with 1001 and exits.\n\nIn manual mode each line of standard input is "
                       "sent to every client.\n\nThe options marked \"Misbehave\" stage faults "
                       "for every client, to see how a client copes; each is reported as it "
                       "happens, as a log line \"peer N (...): staged: ...\" (with --json also a "
                       "note event with \"staged\": true), so it is never taken for a real "
                       "fault.\n%1\n%2")
            .arg(inputCommandHelp(), exitStatusHelp()),
        UsageError);
    const auto port = makeOption("port", "TCP port (default 9001; 0 picks a free one).", "port");
    const auto bind = makeOption("bind", "Address to listen on (default 127.0.0.1).", "address");
    const auto mode = makeOption(
        "mode", "echo (default), greeting, broadcast, manual, or probe (test the clients).",
        "mode");
    // --mode probe: the conformance catalogue against connecting clients (wsw probe's).
    const auto probeReport = makeOption(
        "report", "With --mode probe (Autobahn's fuzzingserver URLs): write the reports here.",
        "dir");
    const auto greeting = makeOption("greeting", "What greeting mode sends on connect.", "text");
    const auto noEchoToSender =
        makeOption("no-echo-to-sender",
                   "With --mode broadcast: a message goes to every client but its sender.");
    const auto origin =
        makeOption("origin", "Allowed Origin (repeatable; default: any).", "origin");
    const auto subprotocol = makeOption(
        "subprotocol", "Supported subprotocol, in preference order (repeatable).", "protocol");
    const auto maxMessageSize = maxMessageSizeOption();
    const auto maxConnections = makeOption(
        "max-connections",
        "Clients at once (503 beyond; default: what the descriptor limit allows).", "count");
    const auto handshakeTimeout = makeOption(
        "handshake-timeout", "Drop a client whose opening handshake takes longer.", "ms");
    const auto idleTimeout =
        makeOption("idle-timeout", "Close 1001 after this long without traffic (0: never).", "ms");
    const auto keepalive =
        makeOption("keepalive", "Ping idle clients this often (0: never; default 30000).", "ms");
    const auto quiet = makeOption("q,quiet", "Print only the listening line.");
    const auto json = makeOption(
        "json", "One JSON object per line on stdout: the listening address, the log, and every "
                "client's events with its \"client\" number.");
    const auto showFrames = makeOption("show-frames", "Print every frame header, both ways.");
    const auto deflate = makeOption("deflate", "Accept permessage-deflate (RFC 7692) offers.");
    const auto deflateWindowBits =
        makeOption("deflate-window-bits",
                   "With --deflate: largest window we compress with, 8..15 (default 15).", "bits");
    const auto deflateNoContext = makeOption(
        "deflate-no-context-takeover", "With --deflate: reset our compressor after each message.");
    const auto tls =
        makeOption("tls", "Serve wss:// (TLS). Without --cert/--key: a self-signed certificate for "
                          "localhost, kept in the application data folder.");
    const auto cert = makeOption("cert", "With --tls: PEM certificate file.", "file");
    const auto key = makeOption("key", "With --tls: PEM private key file (unencrypted).", "file");
    const auto save = saveOption();
    commandLine.addOptions({port,
                            bind,
                            mode,
                            greeting,
                            noEchoToSender,
                            origin,
                            subprotocol,
                            maxMessageSize,
                            maxConnections,
                            handshakeTimeout,
                            idleTimeout,
                            keepalive,
                            quiet,
                            json,
                            showFrames,
                            deflate,
                            deflateWindowBits,
                            deflateNoContext,
                            tls,
                            cert,
                            key,
                            save,
                            probeReport});
    const ServeNetOptions net;
    commandLine.addOptions(net.options());
    const MisbehaviourOptions misbehave;
    commandLine.addOptions(misbehave.all());

    if (const std::optional<int> status = commandLine.parse(arguments))
        return *status;
    if (!commandLine.positionalArguments().isEmpty())
        return commandLine.usageError(QStringLiteral("unexpected argument %1")
                                          .arg(commandLine.positionalArguments().constFirst()));

    ServerOptions options;
    // Integer options run from 0 to the largest value that makes sense; the first one
    // out of range is the one reported.
    QString rangeError;
    const auto integer = [&](const QCommandLineOption &option, qint64 max, auto *out) {
        if (commandLine.readInteger(option, 0, max, out))
            return true;
        rangeError = QStringLiteral("--%1 expects a number from 0 to %2, got %3")
                         .arg(option.names().constLast())
                         .arg(max)
                         .arg(commandLine.value(option));
        return false;
    };
    constexpr qint64 IntMax = std::numeric_limits<int>::max();
    if (!integer(port, 65535, &options.port) ||
        !integer(maxMessageSize, std::numeric_limits<qint64>::max(),
                 &options.session.maxMessageSize) ||
        !integer(maxConnections, IntMax, &options.maxConnections) ||
        !integer(handshakeTimeout, IntMax, &options.handshakeTimeoutMs) ||
        !integer(idleTimeout, IntMax, &options.idleTimeoutMs) ||
        !integer(keepalive, IntMax, &options.keepaliveIntervalMs))
        return commandLine.usageError(rangeError);
    if (options.session.maxMessageSize < 1)
        return commandLine.usageError(
            QStringLiteral("--max-message-size expects a positive number of bytes"));
    if (commandLine.isSet(bind)) {
        const QString text = commandLine.value(bind);
        options.bindAddress = text == QLatin1String("localhost")
                                  ? QHostAddress(QHostAddress::LocalHost)
                                  : QHostAddress(text);
        if (options.bindAddress.isNull())
            return commandLine.usageError(
                QStringLiteral("--bind expects an IP address, got %1").arg(text));
    }
    if (const std::optional<QString> error = net.apply(commandLine, &options))
        return commandLine.usageError(*error);
    if (const std::optional<QString> error = misbehave.apply(commandLine, &options.misbehaviour))
        return commandLine.usageError(*error);
    if (commandLine.value(mode) == QLatin1String("probe") && commandLine.isSet(tls))
        return commandLine.usageError(QStringLiteral("--mode probe serves plain ws://"));
    if (commandLine.value(mode) == QLatin1String("probe"))
        return ProbeCommand::serveProbe(options.bindAddress, options.port,
                                        commandLine.value(probeReport), commandLine.isSet(quiet));
    if (commandLine.isSet(probeReport))
        return commandLine.usageError(QStringLiteral("--report needs --mode probe"));
    if (commandLine.isSet(mode)) {
        const auto parsed = modeFromName(commandLine.value(mode));
        if (!parsed)
            return commandLine.usageError(
                QStringLiteral("--mode expects echo, greeting, broadcast, manual or probe, got %1")
                    .arg(commandLine.value(mode)));
        options.mode = *parsed;
    }
    if (commandLine.isSet(greeting)) {
        if (options.mode != ServerOptions::Mode::Greeting)
            return commandLine.usageError(QStringLiteral("--greeting needs --mode greeting"));
        options.greeting = commandLine.value(greeting).toUtf8();
    }
    if (commandLine.isSet(noEchoToSender)) {
        if (options.mode != ServerOptions::Mode::Broadcast)
            return commandLine.usageError(
                QStringLiteral("--no-echo-to-sender needs --mode broadcast"));
        options.broadcastToSender = false;
    }
    options.allowedOrigins.append(commandLine.utf8Values(origin));
    options.subprotocols.append(commandLine.utf8Values(subprotocol));
    if (commandLine.isSet(deflate)) {
        options.deflate.policy = DeflatePolicy::Offer;
        if (!commandLine.readInteger(deflateWindowBits, 8, 15,
                                     &options.deflate.serverMaxWindowBits))
            return commandLine.usageError(
                QStringLiteral("--deflate-window-bits expects 8 to 15, got %1")
                    .arg(commandLine.value(deflateWindowBits)));
        options.deflate.serverNoContextTakeover = commandLine.isSet(deflateNoContext);
    } else if (commandLine.isSet(deflateWindowBits) || commandLine.isSet(deflateNoContext)) {
        return commandLine.usageError(deflateTuningNeedsDeflateMessage());
    }
    if (commandLine.isSet(cert) != commandLine.isSet(key))
        return commandLine.usageError(QStringLiteral("--cert and --key go together"));
    if (commandLine.isSet(cert) && !commandLine.isSet(tls))
        return commandLine.usageError(QStringLiteral("--cert and --key need --tls"));
    if (commandLine.isSet(tls)) {
        QString error;
        const std::optional<CertificateAndKey> identity =
            commandLine.isSet(cert)
                ? loadCertificate(commandLine.value(cert), commandLine.value(key), &error)
                : localhostCertificate({}, &error);
        if (!identity) {
            commandLine.printError(error);
            return ListenFailed;
        }
        options.tlsCertificate = identity->certificate;
        options.tlsKey = identity->key;
    }
    // Single frames are reported only when they are saved (the saved log has the
    // window's frame rows); otherwise skip the copy each FrameEvent costs.
    options.session.reportFrames = commandLine.isSet(save) || commandLine.isSet(showFrames);
    std::unique_ptr<log::JsonLinesRecorder> recorder;
    if (commandLine.isSet(save)) {
        QString error;
        if (!(recorder = openSaveFile(commandLine.value(save), &error)))
            return commandLine.usageError(error);
    }
    // Events are reported only when something uses them: manual mode prints what
    // clients send, --save records it. Otherwise echo and greeting answer straight
    // from the decoder.
    const Printing printing{.json = commandLine.isSet(json),
                            .showFrames = commandLine.isSet(showFrames),
                            .quiet = commandLine.isSet(quiet)};
    const bool eventsUsed = options.mode == ServerOptions::Mode::Manual || recorder ||
                            printing.json || printing.showFrames;
    options.events = eventsUsed ? EventReporting::On : EventReporting::Off;
    options.logConnections = !printing.quiet;

    ServeCommand command(options, printing, std::move(recorder));
    return command.exec();
}

ServeCommand::ServeCommand(ServerOptions options, Printing printing,
                           std::unique_ptr<log::JsonLinesRecorder> recorder)
    : m_recorder(std::move(recorder))
    , m_printing(printing)
    , m_manual(options.mode == ServerOptions::Mode::Manual) {
    m_server = new Server(std::move(options), this);
    if (m_manual || m_recorder || m_printing.json || m_printing.showFrames)
        connect(m_server, &Server::clientConnected, this, &ServeCommand::onClientConnected);
    if (m_manual) {
        auto *input = new StdinReader(this);
        connect(input, &StdinReader::lineRead, this, &ServeCommand::onLine);
    }
    connect(m_server, &Server::stopped, this, [] { QCoreApplication::exit(Stopped); });
    auto *watcher = new SignalWatcher(this);
    connect(watcher, &SignalWatcher::signalReceived, this, &ServeCommand::onSignal);
}

int ServeCommand::exec() {
    if (!m_server->listen()) {
        // The error names the address and port already.
        writeLine(stderr, "wsw serve: " + m_server->errorString().toUtf8());
        return ListenFailed;
    }
    const bool secure = m_server->options().isSecure();
    const QByteArray url = listeningUrl(*m_server);
    const QString fingerprint =
        secure ? sha256Fingerprint(m_server->options().tlsCertificate) : QString();
    if (m_printing.json) {
        QJsonObject listening{{"event", "listening"}, {"url", QString::fromUtf8(url)}};
        if (secure)
            listening.insert(QStringLiteral("sha256"), fingerprint);
        writeJson(stdout, listening);
    } else {
        writeLine(stdout, "listening on " + url);
        if (secure)
            writeLine(stdout, "certificate sha256 " + fingerprint.toUtf8());
    }
    // Connected only now: the listening line above must be the first one on stdout
    // (scripts read the port from it), and the server logs its own version of it.
    // The server logs this before anyone listens: said here, after the listening line.
    if (const Misbehaviour &staged = m_server->options().misbehaviour;
        !staged.isOff() && !m_printing.quiet) {
        const QString text = QStringLiteral("misbehaving on purpose with every client: %1")
                                 .arg(staged.describe().join(QStringLiteral(", ")));
        if (m_printing.json)
            writeJson(stdout, {{"event", "log"}, {"text", text}, {"staged", true}});
        else
            writeLine(stdout, text.toUtf8());
    }
    if (!m_printing.quiet) {
        connect(m_server, &Server::logMessage, this, [this](const QString &line) {
            if (m_printing.json)
                writeJson(stdout, {{"event", "log"}, {"text", line}});
            else
                writeLine(stdout, line.toUtf8());
        });
    }
    const int status = QCoreApplication::exec();
    flushSaved();
    return status;
}

void ServeCommand::flushSaved() {
    if (!m_recorder || m_recorder->flush() || m_saveErrorReported)
        return;
    m_saveErrorReported = true;
    writeLine(stderr, "wsw serve: cannot save " + m_recorder->fileName().toUtf8() + ": " +
                          m_recorder->errorString().toUtf8());
}

void ServeCommand::onClientConnected(ServerClient *client) {
    if (m_recorder)
        saveClient(client);
    if (m_manual || m_printing.json || m_printing.showFrames)
        printClient(client);
}

void ServeCommand::saveClient(ServerClient *client) {
    // Named and addressed as the window's server clients are; the server's client
    // ids are the connection ids.
    const auto id = quint32(client->id());
    const bool secure = m_server->options().isSecure();
    const QString url = QStringLiteral("%1://%2:%3/ \u2190 %4:%5")
                            .arg(secure ? QLatin1String("wss") : QLatin1String("ws"),
                                 QString::fromUtf8(urlHost(m_server->address())))
                            .arg(m_server->port())
                            .arg(QString::fromUtf8(urlHost(client->peerAddress())))
                            .arg(client->peerPort());
    m_recorder->setConnectionInfo(id, {QStringLiteral("client #%1").arg(id), url});
    const Session &session = client->session();
    const log::FullRecord handshake = log::acceptedUpgradeRecord(
        id, EventClock::toEpochUs(EventClock::nowUs()), session.rawHandshakeRequest(),
        session.rawHandshakeResponse(), client->subprotocol());
    m_recorder->appendRecord(handshake.record, handshake.extra);
    connect(client, &ServerClient::sessionEvent, this,
            [this, id](const SessionEvent &event) { m_recorder->append(id, event); });
}

void ServeCommand::printClient(ServerClient *client) {
    auto printer = std::make_shared<EventPrinter>(m_printing.json ? EventPrinter::Format::Json
                                                                  : EventPrinter::Format::Human,
                                                  m_printing.showFrames);
    printer->setPrefix("[#" + QByteArray::number(client->id()) + "] ");
    printer->setJsonFields({{"client", double(client->id())}});
    if (m_printing.json)
        printer->emitJson(
            {{"event", "open"},
             {"peer", QStringLiteral("%1:%2")
                          .arg(QString::fromUtf8(urlHost(client->peerAddress())))
                          .arg(client->peerPort())},
             {"subprotocol", client->subprotocol().isEmpty()
                                 ? QJsonValue(QJsonValue::Null)
                                 : QJsonValue(QString::fromUtf8(client->subprotocol()))}});
    const bool json = m_printing.json;
    // Manual mode: what the clients send is the point, so it is printed even with --quiet.
    const bool manual = m_manual;
    connect(client, &ServerClient::sessionEvent, this,
            [printer, json, manual](const SessionEvent &event) {
                if (json || std::holds_alternative<FrameEvent>(event) ||
                    (manual && (std::holds_alternative<MessageEvent>(event) ||
                                std::holds_alternative<PingEvent>(event) ||
                                std::holds_alternative<PongEvent>(event) ||
                                std::holds_alternative<CloseEvent>(event))))
                    printer->print(event);
            });
}

void ServeCommand::onLine(const QByteArray &line) {
    const ParsedInput input = parseInputLine(line, false);
    if (!input.command) {
        writeLine(stderr, "error: " + input.error.toUtf8());
        return;
    }
    execute(*input.command);
}

void ServeCommand::execute(const InputCommand &command) {
    const QList<ServerClient *> clients = m_server->clients();
    if (clients.isEmpty()) {
        writeLine(stderr, "not sent: no client is connected");
        return;
    }
    for (ServerClient *client : clients) {
        SendError error = SendError::None;
        switch (command.kind) {
        case InputCommand::Kind::Text:
            error = client->sendText(command.data);
            break;
        case InputCommand::Kind::Binary:
            error = client->sendBinary(command.data);
            break;
        case InputCommand::Kind::Ping:
            error = client->sendPing(command.data);
            break;
        case InputCommand::Kind::Pong: {
            // RFC 6455 §5.5.3: an unsolicited pong is allowed (a unidirectional heartbeat).
            RawFrame pong;
            pong.opcode = quint8(Opcode::Pong);
            pong.payload = command.data;
            error = client->sendRaw(pong);
            break;
        }
        case InputCommand::Kind::Close:
            error = client->sendClose(command.closeCode, command.closeReason);
            break;
        case InputCommand::Kind::Raw:
            error = client->sendRaw(command.raw);
            break;
        case InputCommand::Kind::Fragment:
            error = client->sendText(command.data, command.fragmentSize);
            break;
        }
        if (error != SendError::None) {
            writeLine(stderr, "not sent to #" + QByteArray::number(client->id()) + ": " +
                                  sendErrorText(error));
        }
    }
}

void ServeCommand::onSignal() {
    flushSaved();
    if (++m_signals > 1) {
        QCoreApplication::exit(Stopped);
        return;
    }
    QTimer::singleShot(m_server->options().closeTimeoutMs + StopGraceMs, this,
                       [] { QCoreApplication::exit(Stopped); });
    m_server->stop();
}

} // namespace ws

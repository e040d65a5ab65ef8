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

} // namespace

int ServeCommand::run(const QStringList &arguments) {
    CommandLine commandLine(
        "serve",
        QStringLiteral("Runs a WebSocket server. It prints \"listening on ws://ADDRESS:PORT/\" "
                       "(wss:// with --tls, then \"certificate sha256 FINGERPRINT\") "
                       "once listening, then its log. SIGINT or SIGTERM closes every client "
                       "with 1001 and exits.\n\nIn manual mode each line of standard input is "
                       "sent to every client.\n%1\n%2")
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
        recorder = std::make_unique<log::JsonLinesRecorder>();
        QString error;
        if (!recorder->open(saveFileName(commandLine.value(save)), &error))
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

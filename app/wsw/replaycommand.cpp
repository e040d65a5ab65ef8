#include "replaycommand.h"

#include "commandline.h"
#include "netoptions.h"
#include "signalwatcher.h"

#include "net/eventclock.h"
#include "net/tlscertificate.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QSslCertificate>
#include <QTimer>

#include <limits>

namespace ws {

namespace {

QString exitStatusHelp() {
    return QStringLiteral(
        "Exit status:\n"
        "  0  the replay completed: every recorded step was sent and the connection closed\n"
        "     cleanly with 1000, 1001 or the recorded code\n"
        "  1  usage error (also: a placeholder no capture defines, a log that cannot be "
        "read)\n"
        "  2  could not connect, or the opening handshake failed (--serve: could not listen)\n"
        "  3  closed abnormally (1006: no close frame, or a timeout)\n"
        "  4  we failed the connection: the peer broke the protocol\n"
        "  5  clean close with another code than the recording's\n"
        "  6  the peer closed with an error code (1002, 1003, 1007-1014)\n"
        "  7  a message was over our own limit (--max-message-size): we closed with 1009\n"
        "  8  a step was not sent: refused, a capture without a value yet, or the peer ended\n"
        "     the connection before the last step\n"
        "  9  a wait for the peer's messages timed out (--reply-timeout)");
}

QString placeholderHelp() {
    return QStringLiteral(
        "Placeholders in recorded text messages: {{uuid}} (a fresh random UUID each time), "
        "{{now}} (milliseconds since the epoch), {{now:iso}} (UTC, ISO 8601), {{counter}} (1 "
        "in the first message that uses it, then 2, ...; the same within one message) and "
        "{{NAME}} for each --capture NAME=PATH: the value at the JSON path PATH ($.a.b, "
        "$.list[0], $['a b']) in the first message of the peer that has it (a string "
        "unquoted, anything else as JSON). A placeholder that is none of these stops the "
        "replay before anything is sent; --no-placeholders sends the text as recorded.\n\n"
        "--substitute PATH: the value at PATH in the first message of the recorded peer that "
        "has it is the old value; once a message of the replay's peer has PATH, every "
        "occurrence of the old value's text in the messages sent after it is replaced by the "
        "new value (before placeholders are expanded). E.g. --substitute '$.session' replays "
        "a session whose server hands out a session id that later messages quote.");
}

constexpr quint32 SavedClientId = 1;

qint64 wallClockUs() {
    return EventClock::toEpochUs(EventClock::nowUs());
}

bool isPeerErrorCode(quint16 code) {
    return code == 1002 || code == 1003 || (code >= 1007 && code <= 1014);
}

} // namespace

int ReplayCommand::run(const QStringList &arguments) {
    CommandLine commandLine(
        "replay",
        QStringLiteral(
            "Plays one connection of a saved log (JSON Lines, as `wsw connect --save`, `wsw "
            "serve --save` and the window write it) again. With --to: its client side against "
            "a server: the recorded request's subprotocols, extension offers, Origin and other "
            "header fields, then the client's messages, pings and close in the recorded order "
            "and timing (--speed), or each once the server's replies have come "
            "(--wait-replies). With --serve: its server side to each client that connects: "
            "each recorded server message once the client has sent what preceded it in the "
            "recording; a greeting goes right after the handshake.\n\nThe connection is the "
            "first one a client recorded unless --connection names one (a number from 1, or "
            "its name as --list shows it).\n\n%1\n\n%2")
            .arg(placeholderHelp(), exitStatusHelp()),
        UsageError);
    commandLine.addPositionalArgument(QStringLiteral("log"), QStringLiteral("a .jsonl log"));
    const auto to = makeOption("to",
                               "Replay the client side against this server (default: "
                               "the recorded URL).",
                               "url");
    const auto serve = makeOption("serve", "Replay the server side to the clients that connect.");
    const auto port =
        makeOption("port", "--serve: port to listen on (default 9001; 0: any free one).", "port");
    const auto listen =
        makeOption("listen", "--serve: address to listen on (default 127.0.0.1).", "address");
    const auto once = makeOption("once", "--serve: exit once the first client's replay is over, "
                                         "with its status.");
    const auto list = makeOption("list", "List the log's connections and exit.");
    const auto connection =
        makeOption("connection", "The connection to replay: a number from 1 or a name.", "N|name");
    const auto speed =
        makeOption("speed",
                   "Play the recorded timing this many times faster (0.5, 1, 2; default 1), or "
                   "\"max\": as fast as possible.",
                   "x|max");
    const auto waitReplies = makeOption(
        "wait-replies", "Before each message, wait until as many of the server's messages have "
                        "arrived as the recording had before it (no recorded timing unless "
                        "--speed is given too).");
    const auto replyTimeout =
        makeOption("reply-timeout",
                   "How long one wait for the peer's messages lasts at most (default 5000).", "ms");
    const auto header = makeOption("H,header",
                                   "Request header (repeatable): replaces the recorded field of "
                                   "the same name, or adds one.",
                                   "name:value");
    const auto noRecordedHeaders =
        makeOption("no-recorded-headers", "Send none of the recorded request's subprotocols, "
                                          "extension offers, Origin or other fields.");
    const auto capture =
        makeOption("capture",
                   "Define {{NAME}}: the value at the JSON path in the peer's first "
                   "message that has it (repeatable).",
                   "name=path");
    const auto substitute = makeOption("substitute",
                                       "Replace the recorded peer's value at this JSON path by the "
                                       "replay's peer's value in later messages (repeatable).",
                                       "path");
    const auto noPlaceholders =
        makeOption("no-placeholders", "Send text messages exactly as recorded.");
    const auto showFrames = makeOption("show-frames", "Print every frame header, both ways.");
    const auto json = makeOption("json", "One JSON object per event on stdout.");
    const auto quiet =
        makeOption("q,quiet", "No status lines on stderr (connected, closed); errors still are.");
    const auto maxMessageSize = maxMessageSizeOption();
    const auto ca = caOption();
    const auto acceptFingerprint = acceptFingerprintOption();
    const auto save = saveOption();
    commandLine.addOptions({to,
                            serve,
                            port,
                            listen,
                            once,
                            list,
                            connection,
                            speed,
                            waitReplies,
                            replyTimeout,
                            header,
                            noRecordedHeaders,
                            capture,
                            substitute,
                            noPlaceholders,
                            showFrames,
                            json,
                            quiet,
                            maxMessageSize,
                            ca,
                            acceptFingerprint,
                            save});
    ConnectNetOptions net;
    commandLine.addOptions(net.options());

    if (const std::optional<int> status = commandLine.parse(arguments))
        return *status;
    if (commandLine.positionalArguments().size() != 1)
        return commandLine.usageError(QStringLiteral("expects one log file"));
    const QString logPath = commandLine.positionalArguments().constFirst();

    if (commandLine.isSet(list)) {
        log::LogStore store;
        QString error;
        if (!log::JsonLinesFile::open(logPath, store, &error))
            return commandLine.usageError(QStringLiteral("cannot read %1: %2").arg(logPath, error));
        int index = 0;
        for (const replay::RecordedConnectionInfo &info : replay::recordedConnections(store)) {
            const QString as = !info.recordedAs ? QStringLiteral("never opened")
                               : *info.recordedAs == replay::Side::Client
                                   ? QStringLiteral("recorded by the client")
                                   : QStringLiteral("recorded by the server");
            writeLine(stdout, QStringLiteral("%1  %2  %3  %4, %5 client / %6 server messages")
                                  .arg(++index)
                                  .arg(info.name, info.url, as)
                                  .arg(info.clientMessages)
                                  .arg(info.serverMessages)
                                  .toUtf8());
        }
        return 0;
    }

    QString error;
    std::optional<replay::Recording> recording =
        replay::loadRecording(logPath, commandLine.value(connection), &error);
    if (!recording)
        return commandLine.usageError(error);

    replay::ReplayOptions options;
    if (commandLine.isSet(speed)) {
        const QString text = commandLine.value(speed);
        bool ok = true;
        options.speed = text == QLatin1String("max") ? 0.0 : text.toDouble(&ok);
        if (!ok || options.speed < 0 || !std::isfinite(options.speed) ||
            (options.speed == 0 && text != QLatin1String("max")))
            return commandLine.usageError(
                QStringLiteral("--speed expects a positive factor or \"max\", got %1").arg(text));
    } else if (commandLine.isSet(waitReplies)) {
        options.speed = 0; // the replies set the pace
    }
    options.waitReplies = commandLine.isSet(waitReplies);
    if (!commandLine.readInteger(replyTimeout, 1, std::numeric_limits<int>::max(),
                                 &options.replyTimeoutMs))
        return commandLine.usageError(QStringLiteral("--reply-timeout expects milliseconds"));
    options.placeholders = !commandLine.isSet(noPlaceholders);
    for (const QString &definition : commandLine.values(capture)) {
        const qsizetype equals = definition.indexOf(QLatin1Char('='));
        if (equals <= 0)
            return commandLine.usageError(
                QStringLiteral("--capture expects name=path, got %1").arg(definition));
        options.captures.append({definition.left(equals), definition.mid(equals + 1)});
    }
    options.substitutions = commandLine.values(substitute);
    if ((options.captures.size() || options.substitutions.size()) && !options.placeholders)
        return commandLine.usageError(
            QStringLiteral("--capture and --substitute need placeholders: not with "
                           "--no-placeholders"));

    EventPrinter::Format format =
        commandLine.isSet(json) ? EventPrinter::Format::Json : EventPrinter::Format::Human;
    EventPrinter printer(format, commandLine.isSet(showFrames));
    printer.setQuiet(commandLine.isSet(quiet));
    qint64 maxSize = 0;
    if (!commandLine.readInteger(maxMessageSize, 1, std::numeric_limits<qint64>::max(), &maxSize))
        return commandLine.usageError(
            QStringLiteral("--max-message-size expects a positive number of bytes"));

    const auto openRecorder = [&](std::unique_ptr<log::JsonLinesRecorder> *recorder) {
        if (!commandLine.isSet(save))
            return true;
        *recorder = openSaveFile(commandLine.value(save), &error);
        return *recorder != nullptr;
    };

    if (commandLine.isSet(serve)) {
        if (commandLine.isSet(to) || commandLine.isSet(header) ||
            commandLine.isSet(noRecordedHeaders) || commandLine.isSet(waitReplies))
            return commandLine.usageError(
                QStringLiteral("--serve plays the server side: --to, --header, "
                               "--no-recorded-headers and --wait-replies are the client's"));
        ServerOptions server;
        server.port = 9001;
        if (!commandLine.readInteger(port, 0, 65535, &server.port))
            return commandLine.usageError(QStringLiteral("--port expects 0 to 65535"));
        if (commandLine.isSet(listen)) {
            const QString text = commandLine.value(listen);
            server.bindAddress = text == QLatin1String("localhost")
                                     ? QHostAddress(QHostAddress::LocalHost)
                                     : QHostAddress(text);
            if (server.bindAddress.isNull())
                return commandLine.usageError(
                    QStringLiteral("--listen expects an IP address, got %1").arg(text));
        }
        if (maxSize)
            server.session.maxMessageSize = maxSize;
        server.session.reportFrames = commandLine.isSet(showFrames) || commandLine.isSet(save);
        std::unique_ptr<log::JsonLinesRecorder> recorder;
        if (!openRecorder(&recorder))
            return commandLine.usageError(error);
        ReplayCommand command(printer, std::move(recorder));
        return command.execServer(std::move(*recording), std::move(options), std::move(server),
                                  commandLine.isSet(once));
    }
    if (commandLine.isSet(port) || commandLine.isSet(listen) || commandLine.isSet(once))
        return commandLine.usageError(
            QStringLiteral("--port, --listen and --once go with --serve"));

    ClientOptions client;
    const QString url = commandLine.isSet(to) ? commandLine.value(to) : recording->connection.url;
    client.url = QUrl(url, QUrl::StrictMode);
    const QString scheme = client.url.scheme();
    if (url.isEmpty() || !client.url.isValid() ||
        (scheme != QLatin1String("ws") && scheme != QLatin1String("wss") &&
         scheme != QLatin1String("ws+unix")))
        return commandLine.usageError(
            url.isEmpty() ? QStringLiteral("the log has no URL for this connection: give --to")
                          : QStringLiteral("--to expects a ws:// or wss:// URL, got %1").arg(url));
    for (const QString &field : commandLine.values(header)) {
        const qsizetype colon = field.indexOf(QLatin1Char(':'));
        if (colon <= 0)
            return commandLine.usageError(
                QStringLiteral("--header expects name:value, got %1").arg(field));
        client.extraHeaders.add(field.left(colon).trimmed().toUtf8(),
                                field.mid(colon + 1).trimmed().toUtf8());
    }
    if (maxSize)
        client.session.maxMessageSize = maxSize;
    if (const std::optional<QString> why = commandLine.readTrust(
            ca, acceptFingerprint, &client.caCertificatesFile, &client.acceptedFingerprint))
        return commandLine.usageError(*why);
    if (const std::optional<QString> netError = net.apply(commandLine, &client))
        return commandLine.usageError(*netError);
    if (net.reconnects())
        return commandLine.usageError(QStringLiteral("--reconnect does not go with a replay"));
    QStringList notes;
    replay::applyRecordedRequest(*recording, !commandLine.isSet(noRecordedHeaders), &client,
                                 &notes);
    client.session.reportFrames = commandLine.isSet(showFrames) || commandLine.isSet(save);
    std::unique_ptr<log::JsonLinesRecorder> recorder;
    if (!openRecorder(&recorder))
        return commandLine.usageError(error);
    if (recorder)
        recorder->setConnectionInfo(SavedClientId,
                                    {QStringLiteral("client"), client.url.toString()});
    for (const QString &line : std::as_const(notes))
        if (!printer.isQuiet() && format != EventPrinter::Format::Json)
            writeLine(stderr, "replay: " + line.toUtf8());
    ReplayCommand command(printer, std::move(recorder));
    return command.execClient(std::move(*recording), std::move(options), std::move(client));
}

ReplayCommand::ReplayCommand(EventPrinter printer, std::unique_ptr<log::JsonLinesRecorder> recorder)
    : m_printer(printer)
    , m_recorder(std::move(recorder)) {}

void ReplayCommand::flushSaved() {
    if (!m_recorder || m_recorder->flush() || m_saveErrorReported)
        return;
    m_saveErrorReported = true;
    m_printer.printError(QStringLiteral("cannot save %1: %2")
                             .arg(m_recorder->fileName(), m_recorder->errorString()));
}

void ReplayCommand::onNote(const QString &line, quint32 savedId, EventPrinter *printer) {
    if (printer->format() == EventPrinter::Format::Json)
        printer->emitJson({{"event", "replay"}, {"note", line}});
    else if (!printer->isQuiet() || line.startsWith(QLatin1String("not sent")) ||
             line.startsWith(QLatin1String("no reply")))
        writeLine(stderr, "replay: " + line.toUtf8());
    if (m_recorder)
        m_recorder->appendRecord(log::connectionNoteRecord(savedId, wallClockUs(), line));
}

void ReplayCommand::watch(Connection *connection, quint32 savedId, Outcome *outcome,
                          EventPrinter *printer) {
    connect(connection, &Connection::sessionEvent, this,
            [this, savedId, outcome, printer](const SessionEvent &event) {
                if (m_recorder)
                    m_recorder->append(savedId, event);
                if (const auto *closed = std::get_if<ClosedEvent>(&event)) {
                    outcome->closed = *closed;
                    if (outcome->opened || printer->format() == EventPrinter::Format::Json)
                        printer->print(event);
                    return;
                }
                printer->print(event);
                if (const auto *handshake = std::get_if<HandshakeEvent>(&event)) {
                    if (handshake->kind == HandshakeEvent::Kind::ClientAccepted)
                        outcome->opened = true;
                } else if (const auto *violation = std::get_if<ViolationEvent>(&event)) {
                    if (violation->violation.error == ProtocolError::MessageTooBig)
                        outcome->ourLimit = true;
                    else
                        outcome->violation = true;
                } else if (const auto *close = std::get_if<CloseEvent>(&event)) {
                    outcome->peerCloseCode = close->code.value_or(quint16(1005));
                }
            });
}

int ReplayCommand::exitStatus(const Outcome &outcome, const replay::ReplayResult &result,
                              const replay::Recording &recording, replay::Side side) {
    if (!outcome.opened)
        return ConnectFailed;
    if (outcome.ourLimit)
        return OurLimit;
    if (outcome.violation)
        return PeerViolation;
    if (outcome.peerCloseCode && isPeerErrorCode(*outcome.peerCloseCode))
        return PeerRefused;
    if (!outcome.closed || !outcome.closed->clean)
        return AbnormalClosure;
    if (result.notSent > 0 || !result.allPlayed)
        return NotSent;
    if (result.timedOutWaits > 0)
        return ReplyTimeout;
    std::optional<quint16> recordedCode;
    for (const replay::RecordedStep &step : recording.steps) {
        if (step.kind == replay::RecordedStep::Kind::Close) {
            recordedCode = step.closeCode.value_or(1005);
            break;
        }
    }
    Q_UNUSED(side);
    const quint16 code = outcome.closed->code;
    return code == 1000 || code == 1001 || code == recordedCode ? Completed : OtherCloseCode;
}

int ReplayCommand::execClient(replay::Recording recording, replay::ReplayOptions options,
                              ClientOptions client) {
    auto *player = new replay::ReplayPlayer(recording, replay::Side::Client, options, this);
    if (!player->isValid()) {
        writeLine(stderr, "wsw replay: " + player->errorString().toUtf8());
        return UsageError;
    }
    auto *connection = new ClientConnection(client, this);
    Outcome outcome;
    watch(connection, SavedClientId, &outcome, &m_printer);
    connect(connection, &ClientConnection::errorOccurred, this, [this](const QString &message) {
        m_printer.printError(message);
        if (m_recorder)
            m_recorder->appendRecord(
                log::connectionErrorRecord(SavedClientId, wallClockUs(), message));
    });
    connect(connection, &ClientConnection::logMessage, this,
            [this](const QString &line) { onNote(line, SavedClientId, &m_printer); });
    connect(player, &replay::ReplayPlayer::note, this,
            [this](const QString &line) { onNote(line, SavedClientId, &m_printer); });
    player->attach(connection);
    int status = UsageError;
    connect(player, &replay::ReplayPlayer::finished, this, [&](const replay::ReplayResult &result) {
        status = exitStatus(outcome, result, recording, replay::Side::Client);
        if (m_printer.format() == EventPrinter::Format::Json)
            m_printer.emitJson({{"event", "replayed"},
                                {"steps", result.steps},
                                {"sent", result.sent},
                                {"not_sent", result.notSent},
                                {"timed_out_waits", result.timedOutWaits},
                                {"completed", result.completed()},
                                {"status", status}});
        else if (!m_printer.isQuiet())
            writeLine(stderr,
                      QStringLiteral("replay: %1 of %2 steps sent%3")
                          .arg(result.sent)
                          .arg(result.steps)
                          .arg(result.completed() ? QStringLiteral(", completed") : QString())
                          .toUtf8());
        QCoreApplication::exit(status);
    });
    auto *watcher = new SignalWatcher(this);
    connect(watcher, &SignalWatcher::signalReceived, this, [this, player, connection] {
        flushSaved();
        if (++m_signals == 1 && connection->state() == SessionState::Open) {
            player->stop();
            return;
        }
        connection->abort();
    });
    QTimer::singleShot(0, connection, &ClientConnection::open);
    const int exitCode = QCoreApplication::exec();
    flushSaved();
    return exitCode;
}

int ReplayCommand::execServer(replay::Recording recording, replay::ReplayOptions options,
                              ServerOptions server, bool once) {
    replay::ServerReplay replay(recording, options, server);
    if (!replay.errorString().isEmpty()) {
        writeLine(stderr, "wsw replay: " + replay.errorString().toUtf8());
        return UsageError;
    }
    if (!replay.listen()) {
        writeLine(stderr, "wsw replay: cannot listen: " + replay.errorString().toUtf8());
        return ConnectFailed;
    }
    writeLine(stdout, "listening on " + listeningUrl(*replay.server()));
    std::fflush(stdout);
    Server *listening = replay.server();
    connect(
        &replay, &replay::ServerReplay::clientStarted, this,
        [this, listening](ServerClient *client, replay::ReplayPlayer *player) {
            const auto id = quint32(client->id());
            auto printer = std::make_shared<EventPrinter>(m_printer);
            printer->setPrefix("[#" + QByteArray::number(id) + "] ");
            printer->setJsonFields({{"client", double(id)}});
            auto outcome = std::make_shared<Outcome>();
            outcome->opened = true;
            if (m_recorder) {
                m_recorder->setConnectionInfo(id,
                                              {QStringLiteral("peer %1").arg(id),
                                               QStringLiteral("%1 \u2190 %2:%3")
                                                   .arg(QString::fromUtf8(listeningUrl(*listening)),
                                                        client->peerAddress().toString())
                                                   .arg(client->peerPort())});
                const Session &session = client->session();
                const log::FullRecord handshake = log::acceptedUpgradeRecord(
                    id, wallClockUs(), session.rawHandshakeRequest(),
                    session.rawHandshakeResponse(), client->subprotocol());
                m_recorder->appendRecord(handshake.record, handshake.extra);
            }
            if (!printer->isQuiet() && printer->format() != EventPrinter::Format::Json)
                writeLine(stderr, QStringLiteral("[#%1] replaying %2 steps to %3:%4")
                                      .arg(id)
                                      .arg(player->stepCount())
                                      .arg(client->peerAddress().toString())
                                      .arg(client->peerPort())
                                      .toUtf8());
            watch(client, id, outcome.get(), printer.get());
            connect(player, &replay::ReplayPlayer::note, this,
                    [this, id, printer](const QString &line) { onNote(line, id, printer.get()); });
            // The printer and outcome live as long as the player's connection.
            connect(player, &replay::ReplayPlayer::finished, this,
                    [this, id, printer, outcome, player](const replay::ReplayResult &result) {
                        const int status =
                            exitStatus(*outcome, result, player->recording(), replay::Side::Server);
                        if (!printer->isQuiet() && printer->format() != EventPrinter::Format::Json)
                            writeLine(stderr,
                                      QStringLiteral("[#%1] replay: %2 of %3 steps sent%4")
                                          .arg(id)
                                          .arg(result.sent)
                                          .arg(result.steps)
                                          .arg(result.completed() ? QStringLiteral(", completed")
                                                                  : QString())
                                          .toUtf8());
                        flushSaved();
                        if (m_once)
                            QCoreApplication::exit(status);
                    });
        });
    m_once = once;
    auto *watcher = new SignalWatcher(this);
    connect(watcher, &SignalWatcher::signalReceived, this, [this, &replay] {
        flushSaved();
        if (++m_signals == 1) {
            connect(replay.server(), &Server::stopped, this, [] { QCoreApplication::exit(0); });
            replay.server()->stop();
            return;
        }
        QCoreApplication::exit(0);
    });
    const int exitCode = QCoreApplication::exec();
    flushSaved();
    return exitCode;
}

} // namespace ws

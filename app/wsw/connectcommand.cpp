#include "connectcommand.h"

#include "commandline.h"
#include "signalwatcher.h"
#include "stdinreader.h"

#include "net/eventclock.h"
#include "net/tlscertificate.h"

#include <QCoreApplication>
#include <QTimer>

#include <limits>

namespace ws {

namespace {

QString exitStatusHelp() {
    return QStringLiteral("Exit status: 0 clean close with 1000 or 1001 (either side), 1 usage "
                          "error, 2 could not connect or the handshake failed, 3 closed "
                          "abnormally (1006, no close frame), 4 we failed the connection because "
                          "the peer broke the protocol, 5 clean close with any other code.");
}

// The connection's id in a --save log.
constexpr quint32 SavedConnectionId = 1;

// Now, as a log record's time: on the clock the connection's events use.
qint64 wallClockUs() {
    return EventClock::toEpochUs(EventClock::nowUs());
}

} // namespace

int ConnectCommand::run(const QStringList &arguments) {
    CommandLine commandLine(
        "connect",
        QStringLiteral("Opens a WebSocket connection, sends each line of standard input as a "
                       "message and prints what arrives.\n\n%1\n%2")
            .arg(inputCommandHelp(), exitStatusHelp()),
        UsageError);
    commandLine.addPositionalArgument(QStringLiteral("url"),
                                      QStringLiteral("ws://host[:port]/path"));
    const auto header = makeOption("header", "Extra request header (repeatable).", "name:value");
    const auto subprotocol =
        makeOption("subprotocol", "Offer this subprotocol (repeatable).", "protocol");
    const auto origin = makeOption("origin", "Send this Origin header.", "origin");
    const auto binary = makeOption("binary", "Send lines as binary messages.");
    const auto echo =
        makeOption("echo", "Send every received message straight back. The peer ends the session: "
                           "the end of standard input does not close it.");
    const auto showFrames = makeOption("show-frames", "Print every frame header, both ways.");
    const auto json = makeOption("json", "One JSON object per event on stdout.");
    const auto maxMessageSize = maxMessageSizeOption();
    const auto noAutoPong = makeOption("no-auto-pong", "Do not answer pings.");
    const auto closeTimeout = makeOption(
        "close-timeout", "How long to wait for the closing handshake (default 5000).", "ms");
    const auto deflate = makeOption("deflate", "Offer permessage-deflate (RFC 7692).");
    const auto deflateWindowBits = makeOption("deflate-window-bits",
                                              "With --deflate: ask the server to compress with at "
                                              "most this window, 8..15, and use no more ourselves.",
                                              "bits");
    const auto deflateNoContext =
        makeOption("deflate-no-context-takeover",
                   "With --deflate: both sides reset their compressor per message.");
    const auto ca =
        makeOption("ca", "wss: also trust the CA certificates in this PEM file.", "file");
    const auto acceptFingerprint =
        makeOption("accept-fingerprint",
                   "wss: accept the one server certificate with this SHA-256 fingerprint "
                   "(AB:CD:... as the error message shows it), even self-signed.",
                   "sha256");
    const auto showTls =
        makeOption("show-tls", "wss: print the TLS protocol, cipher and certificate chain.");
    const auto save = saveOption();
    commandLine.addOptions({header, subprotocol, origin, binary, echo, showFrames, json,
                            maxMessageSize, noAutoPong, closeTimeout, deflate, deflateWindowBits,
                            deflateNoContext, ca, acceptFingerprint, showTls, save});

    if (const std::optional<int> status = commandLine.parse(arguments))
        return *status;
    if (!commandLine.webSocketUrl())
        return UsageError;

    ClientOptions options;
    options.url = QUrl(commandLine.positionalArguments().constFirst(), QUrl::StrictMode);
    for (const QString &field : commandLine.values(header)) {
        const qsizetype colon = field.indexOf(QLatin1Char(':'));
        if (colon <= 0)
            return commandLine.usageError(
                QStringLiteral("--header expects name:value, got %1").arg(field));
        options.extraHeaders.add(field.left(colon).trimmed().toUtf8(),
                                 field.mid(colon + 1).trimmed().toUtf8());
    }
    options.subprotocols.append(commandLine.utf8Values(subprotocol));
    if (commandLine.isSet(origin))
        options.origin = commandLine.value(origin).toUtf8();
    if (!commandLine.readInteger(maxMessageSize, 1, std::numeric_limits<qint64>::max(),
                                 &options.session.maxMessageSize))
        return commandLine.usageError(
            QStringLiteral("--max-message-size expects a positive number of bytes"));
    if (!commandLine.readInteger(closeTimeout, 0, std::numeric_limits<int>::max(),
                                 &options.closeTimeoutMs))
        return commandLine.usageError(QStringLiteral("--close-timeout expects milliseconds"));
    options.session.autoPong = !commandLine.isSet(noAutoPong);
    if (commandLine.isSet(deflate)) {
        options.deflate.policy = DeflatePolicy::Offer;
        if (!commandLine.readInteger(deflateWindowBits, 8, 15,
                                     &options.deflate.serverMaxWindowBits))
            return commandLine.usageError(QStringLiteral("--deflate-window-bits expects 8 to 15"));
        // The window asked of the server is also the most we compress with ourselves.
        if (commandLine.isSet(deflateWindowBits))
            options.deflate.clientMaxWindowBits = options.deflate.serverMaxWindowBits;
        if (commandLine.isSet(deflateNoContext)) {
            options.deflate.serverNoContextTakeover = true;
            options.deflate.clientNoContextTakeover = true;
        }
    } else if (commandLine.isSet(deflateWindowBits) || commandLine.isSet(deflateNoContext)) {
        return commandLine.usageError(deflateTuningNeedsDeflateMessage());
    }
    if (commandLine.isSet(ca))
        options.caCertificatesFile = commandLine.value(ca);
    if (commandLine.isSet(acceptFingerprint)) {
        options.acceptedFingerprint = parseFingerprint(commandLine.value(acceptFingerprint));
        if (options.acceptedFingerprint.isEmpty())
            return commandLine.usageError(
                QStringLiteral("--accept-fingerprint expects a SHA-256 fingerprint: 32 "
                               "hex bytes, with or without colons"));
    }
    // Frame events cost a copy of every payload; only ask for them when shown or
    // saved (the saved log has the window's frame rows).
    options.session.reportFrames = commandLine.isSet(showFrames) || commandLine.isSet(save);
    std::unique_ptr<log::JsonLinesRecorder> recorder;
    if (commandLine.isSet(save)) {
        recorder = std::make_unique<log::JsonLinesRecorder>();
        QString error;
        if (!recorder->open(saveFileName(commandLine.value(save)), &error))
            return commandLine.usageError(error);
        recorder->setConnectionInfo(SavedConnectionId,
                                    {QStringLiteral("client"), options.url.toString()});
    }

    const EventPrinter printer(commandLine.isSet(json) ? EventPrinter::Format::Json
                                                       : EventPrinter::Format::Human,
                               commandLine.isSet(showFrames));
    ConnectCommand command(options, printer,
                           {.binaryLines = commandLine.isSet(binary),
                            .echo = commandLine.isSet(echo),
                            .showTls = commandLine.isSet(showTls)},
                           std::move(recorder));
    return command.exec();
}

ConnectCommand::ConnectCommand(ClientOptions options, EventPrinter printer, Behaviour behaviour,
                               std::unique_ptr<log::JsonLinesRecorder> recorder)
    : m_printer(printer)
    , m_binaryLines(behaviour.binaryLines)
    , m_echo(behaviour.echo)
    , m_recorder(std::move(recorder)) {
    m_connection = new ClientConnection(std::move(options), this);
    if (behaviour.showTls)
        connect(m_connection, &ClientConnection::tlsEstablished, this,
                [this](const TlsInfo &info) { m_printer.printTls(info); });
    connect(m_connection, &ClientConnection::logMessage, this, [this](const QString &line) {
        if (m_printer.format() == EventPrinter::Format::Human)
            writeLine(stderr, line.toUtf8());
        // A note row, as the window logs it.
        if (m_recorder)
            m_recorder->appendRecord(
                log::connectionNoteRecord(SavedConnectionId, wallClockUs(), line));
    });
    connect(m_connection, &ClientConnection::sessionEvent, this, &ConnectCommand::onSessionEvent);
    connect(m_connection, &ClientConnection::errorOccurred, this, &ConnectCommand::onError);
    connect(m_connection, &ClientConnection::finished, this, &ConnectCommand::onFinished);
    m_stdin = new StdinReader(this);
    connect(m_stdin, &StdinReader::lineRead, this, &ConnectCommand::onLine);
    connect(m_stdin, &StdinReader::endOfInput, this, &ConnectCommand::onEndOfInput);
    auto *watcher = new SignalWatcher(this);
    connect(watcher, &SignalWatcher::signalReceived, this, &ConnectCommand::onSignal);
}

int ConnectCommand::exec() {
    // From inside the loop, so that an immediate failure can still exit() it.
    QTimer::singleShot(0, m_connection, &ClientConnection::open);
    const int status = QCoreApplication::exec();
    flushSaved();
    return status;
}

void ConnectCommand::flushSaved() {
    if (!m_recorder || m_recorder->flush() || m_saveErrorReported)
        return;
    m_saveErrorReported = true;
    m_printer.printError(QStringLiteral("cannot save %1: %2")
                             .arg(m_recorder->fileName(), m_recorder->errorString()));
}

void ConnectCommand::onSessionEvent(const SessionEvent &event) {
    if (m_recorder)
        m_recorder->append(SavedConnectionId, event);
    m_printer.print(event);
    if (const auto *handshake = std::get_if<HandshakeEvent>(&event)) {
        if (handshake->kind == HandshakeEvent::Kind::ClientAccepted) {
            m_opened = true;
            for (const QByteArray &line : std::exchange(m_pendingLines, {}))
                onLine(line);
            if (m_inputEnded && !m_echo)
                closeNormally();
        }
    } else if (const auto *message = std::get_if<MessageEvent>(&event)) {
        if (m_echo && message->direction == Direction::Incoming) {
            const DecodedMessage &m = message->message;
            const SendError error = m.type == Opcode::Text ? m_connection->sendText(m.data)
                                                           : m_connection->sendBinary(m.data);
            // E.g. our close is already out: a message that arrives after it stays unanswered.
            if (error != SendError::None)
                m_printer.printError(
                    QStringLiteral("not echoed: %1").arg(QLatin1String(sendErrorText(error))));
        }
    } else if (std::holds_alternative<ViolationEvent>(event)) {
        m_violation = true;
    } else if (const auto *closed = std::get_if<ClosedEvent>(&event)) {
        m_closed = *closed;
    }
}

void ConnectCommand::onError(const QString &message) {
    m_printer.printError(message);
    if (m_recorder)
        m_recorder->appendRecord(
            log::connectionErrorRecord(SavedConnectionId, wallClockUs(), message));
}

void ConnectCommand::onFinished() {
    QCoreApplication::exit(exitStatus());
}

int ConnectCommand::exitStatus() const {
    if (!m_opened)
        return ConnectFailed;
    if (m_violation)
        return PeerViolation;
    if (!m_closed || !m_closed->clean)
        return AbnormalClosure;
    // The code of whoever closed first decides: our /close 4000 answered with 4000
    // (or with anything else) is still a 4000 ending.
    const quint16 code =
        m_closed->closedByUs && m_sentCloseCode ? *m_sentCloseCode : m_closed->code;
    return code == 1000 || code == 1001 ? CleanClose : OtherCloseCode;
}

void ConnectCommand::onLine(const QByteArray &line) {
    if (!m_opened) {
        m_pendingLines.append(line);
        return;
    }
    const ParsedInput input = parseInputLine(line, m_binaryLines);
    if (!input.command) {
        m_printer.printError(input.error);
        return;
    }
    execute(*input.command);
}

void ConnectCommand::execute(const InputCommand &command) {
    SendError error = SendError::None;
    switch (command.kind) {
    case InputCommand::Kind::Text:
        error = m_connection->sendText(command.data);
        break;
    case InputCommand::Kind::Binary:
        error = m_connection->sendBinary(command.data);
        break;
    case InputCommand::Kind::Ping:
        error = m_connection->sendPing(command.data);
        break;
    case InputCommand::Kind::Pong:
        error = m_connection->sendPong(command.data);
        break;
    case InputCommand::Kind::Close:
        error = m_connection->sendClose(command.closeCode, command.closeReason);
        if (error == SendError::None && !m_sentCloseCode)
            m_sentCloseCode = command.closeCode.value_or(1005);
        break;
    case InputCommand::Kind::Raw:
        error = m_connection->sendRaw(command.raw);
        break;
    case InputCommand::Kind::Fragment:
        error = m_connection->sendText(command.data, command.fragmentSize);
        break;
    }
    if (error != SendError::None)
        m_printer.printError(
            QStringLiteral("not sent: %1").arg(QLatin1String(sendErrorText(error))));
}

void ConnectCommand::onEndOfInput() {
    m_inputEnded = true;
    // With --echo the peer drives the session (a test suite, a conformance
    // server), so a closed or empty stdin must not end it.
    if (m_opened && !m_echo)
        closeNormally();
}

void ConnectCommand::closeNormally() {
    if (m_connection->state() != SessionState::Open)
        return;
    if (m_connection->sendClose(quint16(1000)) == SendError::None && !m_sentCloseCode)
        m_sentCloseCode = quint16(1000);
}

void ConnectCommand::onSignal() {
    flushSaved();
    // First Ctrl-C: the closing handshake; the second one pulls the plug.
    if (++m_signals == 1) {
        if (m_connection->state() == SessionState::Open)
            closeNormally();
        if (m_connection->state() == SessionState::Closing)
            return;
    }
    m_connection->abort();
    if (!m_opened)
        QCoreApplication::exit(ConnectFailed);
}

} // namespace ws

#include "connectcommand.h"

#include "commandline.h"
#include "netoptions.h"
#include "signalwatcher.h"
#include "stdinreader.h"

#include "net/eventclock.h"
#include "net/tlscertificate.h"

#include "messagestreamer.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QSslCertificate>
#include <QTimer>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <unistd.h>

namespace ws {

namespace {

QString exitStatusHelp() {
    return QStringLiteral(
        "Exit status:\n"
        "  0  clean close with 1000 or 1001 (either side)\n"
        "  1  usage error\n"
        "  2  could not connect, or the opening handshake failed\n"
        "  3  closed abnormally (1006: no close frame, or a timeout)\n"
        "  4  we failed the connection: the peer broke the protocol\n"
        "  5  clean close with any other code (e.g. /close 4000, or the peer's 4001)\n"
        "  6  the peer closed with an error code: it refused what we sent or failed\n"
        "     (1002, 1003, 1007-1014, e.g. 1009 for a message over its limit)\n"
        "  7  a message was over our own limit (--max-message-size): we closed with 1009\n"
        "  8  something given to send was not sent (a malformed /command, a send the\n"
        "     connection refused, a --file or --stdin-message that could not be sent)");
}

QString endOfInputHelp() {
    return QStringLiteral(
        "At the end of input (standard input, or what --execute, --file or "
        "--stdin-message sends) the connection is closed with 1000 once what was "
        "promised has arrived: with -1 one message per message sent, with --wait-replies "
        "N that many messages; then --linger MS more. Without these, the close waits at "
        "most 1000 ms for one message per message sent. --no-close and --echo leave the "
        "closing to the peer (or to Ctrl-C: the first one closes, a second one drops the "
        "connection).");
}

// The connection's id in a --save log.
constexpr quint32 SavedConnectionId = 1;

// How long the close waits by default for the replies to what was sent.
constexpr int DefaultReplyWaitMs = 1000;

// Now, as a log record's time: on the clock the connection's events use.
qint64 wallClockUs() {
    return EventClock::toEpochUs(EventClock::nowUs());
}

// A close code by which the peer says it refused what we sent or failed:
// RFC 6455 §7.4.1 and the IANA registry.
bool isPeerErrorCode(quint16 code) {
    return code == 1002 || code == 1003 || (code >= 1007 && code <= 1014);
}

// --separator: \n, \r, \t, \0 and \\ as escapes; anything else as it is.
QByteArray unescapeSeparator(const QString &text) {
    const QByteArray in = text.toUtf8();
    QByteArray out;
    for (qsizetype i = 0; i < in.size(); ++i) {
        if (in.at(i) != '\\' || i + 1 == in.size()) {
            out += in.at(i);
            continue;
        }
        switch (in.at(++i)) {
        case 'n':
            out += '\n';
            break;
        case 'r':
            out += '\r';
            break;
        case 't':
            out += '\t';
            break;
        case '0':
            out += '\0';
            break;
        default:
            out += in.at(i);
            break;
        }
    }
    return out;
}

} // namespace

int ConnectCommand::run(const QStringList &arguments) {
    CommandLine commandLine(
        "connect",
        QStringLiteral("Opens a WebSocket connection, sends each line of standard input as a "
                       "message and prints what arrives.\n\n%1\nWith --binary, --raw or "
                       "--no-commands every line is data: a line starting with a slash is a "
                       "message like any other.\n\n%2\n\n%3")
            .arg(inputCommandHelp(), endOfInputHelp(), exitStatusHelp()),
        UsageError);
    commandLine.addPositionalArgument(QStringLiteral("url"),
                                      QStringLiteral("ws://host[:port]/path"));
    const auto header = makeOption("H,header",
                                   "Extra request header (repeatable). A Host or Origin header "
                                   "replaces the one wsw would send.",
                                   "name:value");
    const auto subprotocol =
        makeOption("s,subprotocol", "Offer this subprotocol (repeatable).", "protocol");
    const auto origin = makeOption("o,origin", "Send this Origin header.", "origin");
    const auto binary = makeOption(
        "b,binary", "Send lines as binary messages, bytes as they are (a CR is kept); no slash "
                    "commands.");
    const auto noCommands =
        makeOption("no-commands", "Every line is a message, also one that starts with a slash.");
    const auto echo =
        makeOption("echo", "Send every received message straight back, as soon as it is decoded. "
                           "The peer ends the session: the end of standard input does not close "
                           "it.");
    const auto showFrames = makeOption("show-frames", "Print every frame header, both ways.");
    const auto json = makeOption("json", "One JSON object per event on stdout.");
    const auto raw = makeOption(
        "raw", "Only the payloads of received messages on stdout (binary as bytes), each "
               "followed by a newline (see --separator, -0); standard input is data only.");
    const auto separator =
        makeOption("separator",
                   "With --raw: what follows each message (\\n \\r \\t \\0 \\\\ escapes; may be "
                   "empty).",
                   "text");
    const auto nul = makeOption(
        "0,null", "Messages are separated by NUL instead of a newline: on standard input, and on "
                  "stdout with --raw.");
    const auto oneMessage = makeOption(
        "1,one-message", "Send what standard input (or --execute) gives, wait for one reply per "
                         "message sent, print them and close.");
    const auto waitReplies =
        makeOption("wait-replies",
                   "After the end of input, close once this many messages have arrived.", "count");
    const auto linger =
        makeOption("linger",
                   "After the end of input (and the replies waited for), keep reading this long "
                   "before closing.",
                   "ms");
    const auto noClose =
        makeOption("n,no-close", "Do not close at the end of input: the peer or Ctrl-C ends it.");
    const auto executeOption =
        makeOption("x,execute",
                   "Send this line once connected, instead of reading standard input "
                   "(repeatable; slash commands apply).",
                   "line");
    const auto file =
        makeOption("file",
                   "Send this file as one message (text, or binary with --binary), read and sent a "
                   "piece at a time, instead of reading standard input.",
                   "path");
    const auto stdinMessage = makeOption(
        "stdin-message", "Send all of standard input as one message, read and sent a piece at a "
                         "time.");
    const auto quiet =
        makeOption("q,quiet", "No status lines on stderr (connected, closed); errors still are.");
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
    const auto ca = caOption();
    const auto acceptFingerprint = acceptFingerprintOption();
    const auto showTls =
        makeOption("show-tls", "wss: print the TLS protocol, cipher and certificate chain.");
    const auto save = saveOption();
    commandLine.addOptions({header,
                            subprotocol,
                            origin,
                            binary,
                            noCommands,
                            echo,
                            showFrames,
                            json,
                            raw,
                            separator,
                            nul,
                            oneMessage,
                            waitReplies,
                            linger,
                            noClose,
                            executeOption,
                            file,
                            stdinMessage,
                            quiet,
                            maxMessageSize,
                            noAutoPong,
                            closeTimeout,
                            deflate,
                            deflateWindowBits,
                            deflateNoContext,
                            ca,
                            acceptFingerprint,
                            showTls,
                            save});
    ConnectNetOptions net;
    commandLine.addOptions(net.options());

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
    if (commandLine.isSet(origin)) {
        if (options.extraHeaders.contains("Origin"))
            return commandLine.usageError(
                QStringLiteral("--origin and --header \"Origin: ...\" both give the Origin: "
                               "use one"));
        options.origin = commandLine.value(origin).toUtf8();
    }
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
    if (const std::optional<QString> error = commandLine.readTrust(
            ca, acceptFingerprint, &options.caCertificatesFile, &options.acceptedFingerprint))
        return commandLine.usageError(*error);
    if (const std::optional<QString> error = net.apply(commandLine, &options))
        return commandLine.usageError(*error);

    Behaviour behaviour;
    behaviour.binaryLines = commandLine.isSet(binary);
    behaviour.dataOnly =
        commandLine.isSet(binary) || commandLine.isSet(raw) || commandLine.isSet(noCommands);
    behaviour.echo = commandLine.isSet(echo);
    behaviour.showTls = commandLine.isSet(showTls);
    behaviour.keepOpen = commandLine.isSet(noClose);
    behaviour.oneMessage = commandLine.isSet(oneMessage);
    options.echoMessages = behaviour.echo;
    if (commandLine.isSet(json) && commandLine.isSet(raw))
        return commandLine.usageError(QStringLiteral("--json and --raw exclude each other"));
    if (commandLine.isSet(separator) && !commandLine.isSet(raw))
        return commandLine.usageError(QStringLiteral("--separator needs --raw"));
    if (commandLine.isSet(separator) && commandLine.isSet(nul))
        return commandLine.usageError(QStringLiteral("--separator and -0 exclude each other"));
    if (commandLine.isSet(waitReplies)) {
        qint64 count = 0;
        if (!commandLine.readInteger(waitReplies, 0, std::numeric_limits<qint64>::max(), &count))
            return commandLine.usageError(
                QStringLiteral("--wait-replies expects a number of messages"));
        behaviour.waitReplies = count;
    }
    if (commandLine.isSet(linger)) {
        int ms = 0;
        if (!commandLine.readInteger(linger, 0, std::numeric_limits<int>::max(), &ms))
            return commandLine.usageError(QStringLiteral("--linger expects milliseconds"));
        behaviour.lingerMs = ms;
    }
    const bool waits = behaviour.oneMessage || behaviour.waitReplies || behaviour.lingerMs;
    if (waits && (behaviour.echo || behaviour.keepOpen))
        return commandLine.usageError(
            QStringLiteral("-1, --wait-replies and --linger say when to close after the end of "
                           "input; --echo and --no-close leave it to the peer"));
    if (commandLine.isSet(nul))
        behaviour.delimiter = '\0';
    const int sources = int(commandLine.isSet(executeOption)) + int(commandLine.isSet(file)) +
                        int(commandLine.isSet(stdinMessage));
    if (sources > 1)
        return commandLine.usageError(
            QStringLiteral("--execute, --file and --stdin-message exclude each other"));
    behaviour.readStdin = sources == 0;
    for (const QString &line : commandLine.values(executeOption))
        behaviour.execute.append(line.toUtf8());
    if (commandLine.isSet(file)) {
        behaviour.streamName = commandLine.value(file);
        behaviour.streamFd =
            ::open(QFile::encodeName(behaviour.streamName).constData(), O_RDONLY | O_CLOEXEC);
        if (behaviour.streamFd < 0)
            return commandLine.usageError(
                QStringLiteral("--file: cannot read %1: %2")
                    .arg(behaviour.streamName, QString::fromLocal8Bit(std::strerror(errno))));
    } else if (commandLine.isSet(stdinMessage)) {
        behaviour.streamName = QStringLiteral("standard input");
        behaviour.streamFd = STDIN_FILENO;
    }

    if (net.reconnects()) {
        if (!behaviour.readStdin || waits)
            return commandLine.usageError(
                QStringLiteral("--reconnect goes with input read line by line: not with -1, "
                               "--wait-replies, --linger, --execute, --file or --stdin-message"));
        behaviour.reconnectDelayMs = net.reconnectDelayMs();
    }

    // Frame events cost a copy of every payload; only ask for them when shown or
    // saved (the saved log has the window's frame rows).
    options.session.reportFrames = commandLine.isSet(showFrames) || commandLine.isSet(save);
    std::unique_ptr<log::JsonLinesRecorder> recorder;
    if (commandLine.isSet(save)) {
        QString error;
        if (!(recorder = openSaveFile(commandLine.value(save), &error)))
            return commandLine.usageError(error);
        recorder->setConnectionInfo(SavedConnectionId,
                                    {QStringLiteral("client"), options.url.toString()});
    }

    EventPrinter::Format format = EventPrinter::Format::Human;
    if (commandLine.isSet(json))
        format = EventPrinter::Format::Json;
    else if (commandLine.isSet(raw))
        format = EventPrinter::Format::Raw;
    EventPrinter printer(format, commandLine.isSet(showFrames));
    printer.setQuiet(commandLine.isSet(quiet));
    if (commandLine.isSet(nul))
        printer.setSeparator(QByteArray(1, '\0'));
    else if (commandLine.isSet(separator))
        printer.setSeparator(unescapeSeparator(commandLine.value(separator)));
    ConnectCommand command(options, printer, std::move(behaviour), std::move(recorder));
    return command.exec();
}

ConnectCommand::ConnectCommand(ClientOptions options, EventPrinter printer, Behaviour behaviour,
                               std::unique_ptr<log::JsonLinesRecorder> recorder)
    : m_options(std::move(options))
    , m_printer(printer)
    , m_behaviour(std::move(behaviour))
    , m_recorder(std::move(recorder)) {
    createConnection();
    if (m_behaviour.readStdin) {
        m_stdin = new StdinReader(this);
        m_stdin->setDelimiter(m_behaviour.delimiter);
        // Bytes are data: a CR before the newline is part of them.
        m_stdin->setStripCarriageReturn(!m_behaviour.binaryLines);
        connect(m_stdin, &StdinReader::lineRead, this, &ConnectCommand::onLine);
        connect(m_stdin, &StdinReader::endOfInput, this, &ConnectCommand::onEndOfInput);
    } else if (m_behaviour.streamFd >= 0) {
        m_streamer = new MessageStreamer(
            m_connection, m_behaviour.streamFd, m_behaviour.streamFd != STDIN_FILENO,
            m_behaviour.binaryLines ? Opcode::Binary : Opcode::Text, m_behaviour.streamName, this);
        connect(m_streamer, &MessageStreamer::finished, this, [this] {
            ++m_sentMessages;
            onEndOfInput();
        });
        connect(m_streamer, &MessageStreamer::failed, this, [this](const QString &message) {
            notSent(message);
            // Part of the message may be out: the connection cannot go on with it.
            if (m_streamer->bytesSent() > 0 && m_connection->state() == SessionState::Open) {
                if (m_connection->sendClose(quint16(1011),
                                            QStringLiteral("message not completed")) ==
                        SendError::None &&
                    !m_sentCloseCode)
                    m_sentCloseCode = quint16(1011);
                return;
            }
            onEndOfInput();
        });
    }
    m_replyWait.setSingleShot(true);
    m_replyWait.setInterval(DefaultReplyWaitMs);
    connect(&m_replyWait, &QTimer::timeout, this, [this] {
        m_replyWaitOver = true;
        closeWhenDue();
    });
    m_linger.setSingleShot(true);
    // --linger promises at least that long: a coarse timer may fire up to 5 % early.
    m_linger.setTimerType(Qt::PreciseTimer);
    connect(&m_linger, &QTimer::timeout, this, &ConnectCommand::closeNormally);
    auto *watcher = new SignalWatcher(this);
    connect(watcher, &SignalWatcher::signalReceived, this, &ConnectCommand::onSignal);
}

void ConnectCommand::createConnection() {
    m_connection = new ClientConnection(m_options, this);
    if (m_behaviour.showTls)
        connect(m_connection, &ClientConnection::tlsEstablished, this,
                [this](const TlsInfo &info) { m_printer.printTls(info); });
    connect(m_connection, &ClientConnection::logMessage, this, [this](const QString &line) {
        if (m_printer.format() != EventPrinter::Format::Json && !m_printer.isQuiet())
            writeLine(stderr, line.toUtf8());
        // A note row, as the window logs it.
        if (m_recorder)
            m_recorder->appendRecord(
                log::connectionNoteRecord(SavedConnectionId, wallClockUs(), line));
    });
    connect(m_connection, &ClientConnection::sessionEvent, this, &ConnectCommand::onSessionEvent);
    connect(m_connection, &ClientConnection::errorOccurred, this, &ConnectCommand::onError);
    connect(m_connection, &ClientConnection::finished, this, &ConnectCommand::onFinished);
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
    if (const auto *closed = std::get_if<ClosedEvent>(&event)) {
        m_closed = *closed;
        // A connection that never opened was reported by its error; "closed: 1006"
        // would only repeat it in other words.
        if (m_opened || m_printer.format() == EventPrinter::Format::Json)
            m_printer.print(event);
        return;
    }
    m_printer.print(event);
    if (const auto *handshake = std::get_if<HandshakeEvent>(&event)) {
        if (handshake->kind == HandshakeEvent::Kind::ClientAccepted)
            onOpened();
    } else if (const auto *message = std::get_if<MessageEvent>(&event)) {
        // --echo: the connection echoed it as it was decoded.
        if (message->direction == Direction::Incoming) {
            ++m_receivedMessages;
            closeWhenDue();
        }
    } else if (const auto *violation = std::get_if<ViolationEvent>(&event)) {
        if (violation->violation.error == ProtocolError::MessageTooBig)
            m_ourLimit = true;
        else
            m_violation = true;
    } else if (const auto *close = std::get_if<CloseEvent>(&event)) {
        m_peerCloseCode = close->code.value_or(quint16(1005));
    }
}

void ConnectCommand::onOpened() {
    m_opened = true;
    for (const QByteArray &line : std::exchange(m_behaviour.execute, {}))
        onLine(line);
    for (const QByteArray &line : std::exchange(m_pendingLines, {}))
        onLine(line);
    if (m_streamer)
        m_streamer->start();
    else if (!m_behaviour.readStdin)
        m_inputEnded = true; // --execute: what it gives is all
    closeWhenDue();
}

void ConnectCommand::onError(const QString &message) {
    m_printer.printError(message);
    if (m_recorder)
        m_recorder->appendRecord(
            log::connectionErrorRecord(SavedConnectionId, wallClockUs(), message));
}

void ConnectCommand::onFinished() {
    if (reconnectLater())
        return;
    QCoreApplication::exit(exitStatus());
}

bool ConnectCommand::reconnectLater() {
    // --reconnect: only an end we did not ask for (no close of ours, no end of
    // input, no signal) is followed by a new connection.
    if (m_behaviour.reconnectDelayMs < 0 || m_sentCloseCode || m_inputEnded || m_signals > 0)
        return false;
    writeLine(stderr, ConnectNetOptions::reconnectingLine(m_behaviour.reconnectDelayMs));
    // Should input end or a signal come while waiting, this connection's end is the status.
    const int status = exitStatus();
    // Lines typed meanwhile wait for the next connection.
    m_opened = false;
    m_violation = false;
    m_ourLimit = false;
    m_peerCloseCode.reset();
    m_closed.reset();
    QTimer::singleShot(m_behaviour.reconnectDelayMs, this, [this, status] {
        if (m_inputEnded || m_signals > 0) {
            QCoreApplication::exit(status);
            return;
        }
        // The finished one stays until now: everything may still ask it its state.
        m_connection->deleteLater();
        createConnection();
        m_connection->open();
    });
    return true;
}

int ConnectCommand::exitStatus() const {
    if (!m_opened)
        return ConnectFailed;
    if (m_ourLimit)
        return OurLimit;
    if (m_violation)
        return PeerViolation;
    // The peer's refusal counts even when our close went first: a server that
    // answers what we sent with 1009 refused it.
    if (m_peerCloseCode && isPeerErrorCode(*m_peerCloseCode))
        return PeerRefused;
    if (!m_closed || !m_closed->clean)
        return AbnormalClosure;
    if (m_notSent)
        return NotSent;
    // The code of whoever closed first decides: our /close 4000 answered with 4000
    // (or with anything else) is still a 4000 ending.
    const quint16 code =
        m_closed->closedByUs && m_sentCloseCode ? *m_sentCloseCode : m_closed->code;
    return code == 1000 || code == 1001 ? CleanClose : OtherCloseCode;
}

void ConnectCommand::notSent(const QString &message) {
    m_notSent = true;
    m_printer.printError(QStringLiteral("not sent: %1").arg(message));
}

void ConnectCommand::onLine(const QByteArray &line) {
    if (!m_opened) {
        m_pendingLines.append(line);
        return;
    }
    if (m_behaviour.dataOnly) {
        InputCommand data;
        data.kind = m_behaviour.binaryLines ? InputCommand::Kind::Binary : InputCommand::Kind::Text;
        data.data = line;
        execute(data);
        return;
    }
    const ParsedInput input = parseInputLine(line, m_behaviour.binaryLines);
    if (!input.command) {
        notSent(input.error);
        return;
    }
    execute(*input.command);
}

void ConnectCommand::execute(const InputCommand &command) {
    SendError error = SendError::None;
    bool message = false;
    switch (command.kind) {
    case InputCommand::Kind::Text:
        error = m_connection->sendText(command.data);
        message = true;
        break;
    case InputCommand::Kind::Binary:
        error = m_connection->sendBinary(command.data);
        message = true;
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
        message = true;
        break;
    }
    if (error != SendError::None)
        notSent(QString::fromUtf8(sendErrorText(error)));
    else if (message)
        ++m_sentMessages;
}

void ConnectCommand::onEndOfInput() {
    m_inputEnded = true;
    closeWhenDue();
}

bool ConnectCommand::inputDone() const {
    return m_inputEnded && (!m_streamer || m_streamer->isDone());
}

qint64 ConnectCommand::repliesDue() const {
    if (m_behaviour.waitReplies)
        return *m_behaviour.waitReplies;
    if (m_behaviour.oneMessage)
        return m_sentMessages;
    if (m_behaviour.lingerMs)
        return 0;
    // The default: one reply per message sent, for at most DefaultReplyWaitMs.
    return m_replyWaitOver ? 0 : m_sentMessages;
}

void ConnectCommand::closeWhenDue() {
    // With --echo the peer drives the session (a test suite, a conformance
    // server), so a closed or empty stdin must not end it; --no-close asks the same.
    if (!m_opened || !inputDone() || m_behaviour.echo || m_behaviour.keepOpen)
        return;
    if (m_connection->state() != SessionState::Open || m_linger.isActive())
        return;
    if (m_receivedMessages < repliesDue()) {
        const bool bounded =
            !m_behaviour.waitReplies && !m_behaviour.oneMessage && !m_behaviour.lingerMs;
        if (bounded && !m_replyWait.isActive())
            m_replyWait.start();
        return;
    }
    m_replyWait.stop();
    if (m_behaviour.lingerMs.value_or(0) > 0) {
        m_linger.start(*m_behaviour.lingerMs);
        // Once: what arrives while lingering does not start it again.
        m_behaviour.lingerMs = 0;
        return;
    }
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
    // The first Ctrl-C starts the closing handshake; when it is already under way
    // (our close is out), or at the second one, the connection is dropped.
    if (++m_signals == 1 && m_connection->state() == SessionState::Open) {
        closeNormally();
        if (m_connection->state() == SessionState::Closing)
            return;
    }
    m_connection->abort();
    if (!m_opened)
        QCoreApplication::exit(ConnectFailed);
}

} // namespace ws

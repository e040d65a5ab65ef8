#include "connectcommand.h"

#include "signalwatcher.h"
#include "stdinreader.h"

#include "net/tlscertificate.h"

#include <QCommandLineParser>
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

bool parseNonNegative(const QString &text, qint64 *value) {
    bool ok = false;
    *value = text.toLongLong(&ok);
    return ok && *value >= 0;
}

} // namespace

int ConnectCommand::run(const QStringList &arguments) {
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Opens a WebSocket connection, sends each line of standard input as a "
                       "message and prints what arrives.\n\n%1\n%2")
            .arg(inputCommandHelp(), exitStatusHelp()));
    parser.addHelpOption();
    parser.addPositionalArgument(QStringLiteral("url"), QStringLiteral("ws://host[:port]/path"));
    const QCommandLineOption header(QStringLiteral("header"),
                                    QStringLiteral("Extra request header (repeatable)."),
                                    QStringLiteral("name:value"));
    const QCommandLineOption subprotocol(QStringLiteral("subprotocol"),
                                         QStringLiteral("Offer this subprotocol (repeatable)."),
                                         QStringLiteral("protocol"));
    const QCommandLineOption origin(QStringLiteral("origin"),
                                    QStringLiteral("Send this Origin header."),
                                    QStringLiteral("origin"));
    const QCommandLineOption binary(QStringLiteral("binary"),
                                    QStringLiteral("Send lines as binary messages."));
    const QCommandLineOption echo(QStringLiteral("echo"),
                                  QStringLiteral("Send every received message straight back. "
                                                 "The peer ends the session: the end of "
                                                 "standard input does not close it."));
    const QCommandLineOption showFrames(QStringLiteral("show-frames"),
                                        QStringLiteral("Print every frame header, both ways."));
    const QCommandLineOption json(QStringLiteral("json"),
                                  QStringLiteral("One JSON object per event on stdout."));
    const QCommandLineOption maxMessageSize(QStringLiteral("max-message-size"),
                                            QStringLiteral("Largest message accepted (1009 "
                                                           "beyond)."),
                                            QStringLiteral("bytes"));
    const QCommandLineOption noAutoPong(QStringLiteral("no-auto-pong"),
                                        QStringLiteral("Do not answer pings."));
    const QCommandLineOption closeTimeout(QStringLiteral("close-timeout"),
                                          QStringLiteral("How long to wait for the closing "
                                                         "handshake (default 5000)."),
                                          QStringLiteral("ms"));
    const QCommandLineOption deflate(QStringLiteral("deflate"),
                                     QStringLiteral("Offer permessage-deflate (RFC 7692)."));
    const QCommandLineOption deflateWindowBits(
        QStringLiteral("deflate-window-bits"),
        QStringLiteral("With --deflate: ask the server to compress with at most this window, "
                       "8..15, and use no more ourselves."),
        QStringLiteral("bits"));
    const QCommandLineOption deflateNoContext(
        QStringLiteral("deflate-no-context-takeover"),
        QStringLiteral("With --deflate: both sides reset their compressor per message."));
    const QCommandLineOption ca(QStringLiteral("ca"),
                                QStringLiteral("wss: also trust the CA certificates in this PEM "
                                               "file."),
                                QStringLiteral("file"));
    const QCommandLineOption acceptFingerprint(
        QStringLiteral("accept-fingerprint"),
        QStringLiteral("wss: accept the one server certificate with this SHA-256 fingerprint "
                       "(AB:CD:... as the error message shows it), even self-signed."),
        QStringLiteral("sha256"));
    const QCommandLineOption showTls(
        QStringLiteral("show-tls"),
        QStringLiteral("wss: print the TLS protocol, cipher and certificate chain."));
    parser.addOptions({header, subprotocol, origin, binary, echo, showFrames, json, maxMessageSize,
                       noAutoPong, closeTimeout, deflate, deflateWindowBits, deflateNoContext, ca,
                       acceptFingerprint, showTls});

    if (!parser.parse(arguments)) {
        writeLine(stderr, "wsw connect: " + parser.errorText().toUtf8());
        return UsageError;
    }
    if (parser.isSet(QStringLiteral("help"))) {
        writeLine(stdout, commandHelp(parser, "connect"));
        return CleanClose;
    }
    const auto usage = [](const QString &message) {
        writeLine(stderr, "wsw connect: " + message.toUtf8());
        return int(UsageError);
    };
    if (parser.positionalArguments().size() != 1)
        return usage(
            QStringLiteral("expects exactly one URL, e.g. wsw connect ws://127.0.0.1:9001/"));

    ClientOptions options;
    options.url = QUrl(parser.positionalArguments().constFirst(), QUrl::StrictMode);
    QString urlError;
    if (!parseWebSocketUrl(options.url, &urlError))
        return usage(urlError);
    for (const QString &field : parser.values(header)) {
        const qsizetype colon = field.indexOf(QLatin1Char(':'));
        if (colon <= 0)
            return usage(QStringLiteral("--header expects name:value, got %1").arg(field));
        options.extraHeaders.add(field.left(colon).trimmed().toUtf8(),
                                 field.mid(colon + 1).trimmed().toUtf8());
    }
    for (const QString &protocol : parser.values(subprotocol))
        options.subprotocols.append(protocol.toUtf8());
    if (parser.isSet(origin))
        options.origin = parser.value(origin).toUtf8();
    if (parser.isSet(maxMessageSize)) {
        qint64 size = 0;
        if (!parseNonNegative(parser.value(maxMessageSize), &size) || size == 0)
            return usage(QStringLiteral("--max-message-size expects a positive number of bytes"));
        options.session.maxMessageSize = size;
    }
    if (parser.isSet(closeTimeout)) {
        qint64 ms = 0;
        if (!parseNonNegative(parser.value(closeTimeout), &ms) ||
            ms > std::numeric_limits<int>::max())
            return usage(QStringLiteral("--close-timeout expects milliseconds"));
        options.closeTimeoutMs = int(ms);
    }
    options.session.autoPong = !parser.isSet(noAutoPong);
    if (parser.isSet(deflate)) {
        options.deflate.policy = DeflatePolicy::Offer;
        if (parser.isSet(deflateWindowBits)) {
            qint64 bits = 0;
            if (!parseNonNegative(parser.value(deflateWindowBits), &bits) || bits < 8 || bits > 15)
                return usage(QStringLiteral("--deflate-window-bits expects 8 to 15"));
            options.deflate.serverMaxWindowBits = int(bits);
            options.deflate.clientMaxWindowBits = int(bits);
        }
        if (parser.isSet(deflateNoContext)) {
            options.deflate.serverNoContextTakeover = true;
            options.deflate.clientNoContextTakeover = true;
        }
    } else if (parser.isSet(deflateWindowBits) || parser.isSet(deflateNoContext)) {
        return usage(QStringLiteral("--deflate-window-bits and --deflate-no-context-takeover "
                                    "need --deflate"));
    }
    if (parser.isSet(ca))
        options.caCertificatesFile = parser.value(ca);
    if (parser.isSet(acceptFingerprint)) {
        options.acceptedFingerprint = parseFingerprint(parser.value(acceptFingerprint));
        if (options.acceptedFingerprint.isEmpty())
            return usage(QStringLiteral("--accept-fingerprint expects a SHA-256 fingerprint: 32 "
                                        "hex bytes, with or without colons"));
    }
    // Frame events cost a copy of every payload; only ask for them when shown.
    options.session.reportFrames = parser.isSet(showFrames);

    const EventPrinter printer(parser.isSet(json) ? EventPrinter::Format::Json
                                                  : EventPrinter::Format::Human,
                               parser.isSet(showFrames));
    ConnectCommand command(options, printer, parser.isSet(binary), parser.isSet(echo),
                           parser.isSet(showTls));
    return command.exec();
}

ConnectCommand::ConnectCommand(ClientOptions options, EventPrinter printer, bool binaryLines,
                               bool echo, bool showTls)
    : m_printer(printer)
    , m_binaryLines(binaryLines)
    , m_echo(echo) {
    m_connection = new ClientConnection(std::move(options), this);
    if (showTls)
        connect(m_connection, &ClientConnection::tlsEstablished, this,
                [this](const TlsInfo &info) { m_printer.printTls(info); });
    connect(m_connection, &ClientConnection::logMessage, this, [this](const QString &line) {
        if (m_printer.format() == EventPrinter::Format::Human)
            writeLine(stderr, line.toUtf8());
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
    return QCoreApplication::exec();
}

void ConnectCommand::onSessionEvent(const SessionEvent &event) {
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
            if (m.type == Opcode::Text)
                m_connection->sendText(m.data);
            else
                m_connection->sendBinary(m.data);
        }
    } else if (std::holds_alternative<ViolationEvent>(event)) {
        m_violation = true;
    } else if (const auto *closed = std::get_if<ClosedEvent>(&event)) {
        m_closed = *closed;
    }
}

void ConnectCommand::onError(const QString &message) {
    m_printer.printError(message);
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

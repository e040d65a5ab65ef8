#include "servecommand.h"

#include "eventprinter.h"
#include "signalwatcher.h"
#include "stdinreader.h"

#include "net/tlscertificate.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTimer>

#include <functional>
#include <limits>
#include <memory>

namespace ws {

namespace {

// A few seconds on top of the closing handshakes stop() waits for, so that a
// stuck peer can never keep the process alive after SIGTERM.
constexpr int StopGraceMs = 2'000;

std::optional<qint64> parseCount(const QString &text) {
    bool ok = false;
    const qint64 value = text.toLongLong(&ok);
    if (!ok || value < 0)
        return std::nullopt;
    return value;
}

QByteArray urlHost(const QHostAddress &address) {
    if (address.protocol() == QAbstractSocket::IPv6Protocol)
        return '[' + address.toString().toUtf8() + ']';
    return address.toString().toUtf8();
}

} // namespace

int ServeCommand::run(const QStringList &arguments) {
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Runs a WebSocket server. It prints \"listening on ws://ADDRESS:PORT/\" "
                       "(wss:// with --tls, then \"certificate sha256 FINGERPRINT\") "
                       "once listening, then its log. SIGINT or SIGTERM closes every client "
                       "with 1001 and exits.\n\nIn manual mode each line of standard input is "
                       "sent to every client.\n%1")
            .arg(inputCommandHelp()));
    parser.addHelpOption();
    const auto option = [](const char *name, const char *description, const char *value = nullptr) {
        return value
                   ? QCommandLineOption(QString::fromLatin1(name), QString::fromLatin1(description),
                                        QString::fromLatin1(value))
                   : QCommandLineOption(QString::fromLatin1(name),
                                        QString::fromLatin1(description));
    };
    const auto port = option("port", "TCP port (default 9001; 0 picks a free one).", "port");
    const auto bind = option("bind", "Address to listen on (default 127.0.0.1).", "address");
    const auto mode = option("mode", "echo (default), greeting, broadcast or manual.", "mode");
    const auto greeting = option("greeting", "What greeting mode sends on connect.", "text");
    const auto origin = option("origin", "Allowed Origin (repeatable; default: any).", "origin");
    const auto subprotocol = option("subprotocol",
                                    "Supported subprotocol, in preference order "
                                    "(repeatable).",
                                    "protocol");
    const auto maxMessageSize = option("max-message-size",
                                       "Largest message accepted (1009 "
                                       "beyond).",
                                       "bytes");
    const auto maxConnections = option("max-connections",
                                       "Clients at once (503 beyond; "
                                       "default 1000).",
                                       "count");
    const auto handshakeTimeout = option("handshake-timeout",
                                         "Drop a client whose opening "
                                         "handshake takes longer.",
                                         "ms");
    const auto idleTimeout = option("idle-timeout",
                                    "Close 1001 after this long without "
                                    "traffic (0: never).",
                                    "ms");
    const auto keepalive = option("keepalive",
                                  "Ping idle clients this often (0: never; default "
                                  "30000).",
                                  "ms");
    const auto quiet = option("quiet", "Print only the listening line.");
    const auto deflate = option("deflate", "Accept permessage-deflate (RFC 7692) offers.");
    const auto deflateWindowBits = option("deflate-window-bits",
                                          "With --deflate: largest window we compress "
                                          "with, 8..15 (default 15).",
                                          "bits");
    const auto deflateNoContext =
        option("deflate-no-context-takeover", "With --deflate: reset our compressor after "
                                              "each message.");
    const auto tls =
        option("tls", "Serve wss:// (TLS). Without --cert/--key: a self-signed "
                      "certificate for localhost, kept in the application data folder.");
    const auto cert = option("cert", "With --tls: PEM certificate file.", "file");
    const auto key = option("key", "With --tls: PEM private key file (unencrypted).", "file");
    parser.addOptions({port, bind, mode, greeting, origin, subprotocol, maxMessageSize,
                       maxConnections, handshakeTimeout, idleTimeout, keepalive, quiet, deflate,
                       deflateWindowBits, deflateNoContext, tls, cert, key});

    if (!parser.parse(arguments)) {
        writeLine(stderr, "wsw serve: " + parser.errorText().toUtf8());
        return UsageError;
    }
    if (parser.isSet(QStringLiteral("help"))) {
        writeLine(stdout, commandHelp(parser, "serve"));
        return Stopped;
    }
    const auto usage = [](const QString &message) {
        writeLine(stderr, "wsw serve: " + message.toUtf8());
        return int(UsageError);
    };
    if (!parser.positionalArguments().isEmpty())
        return usage(QStringLiteral("unexpected argument %1")
                         .arg(parser.positionalArguments().constFirst()));

    ServerOptions options;
    // Integer options: name, where it goes, the largest value that makes sense.
    struct IntegerOption {
        const QCommandLineOption *option;
        qint64 max;
        std::function<void(qint64)> apply;
    };
    const IntegerOption integers[] = {
        {&port, 65535, [&](qint64 v) { options.port = quint16(v); }},
        {&maxMessageSize, std::numeric_limits<qint64>::max(),
         [&](qint64 v) { options.session.maxMessageSize = v; }},
        {&maxConnections, std::numeric_limits<int>::max(),
         [&](qint64 v) { options.maxConnections = int(v); }},
        {&handshakeTimeout, std::numeric_limits<int>::max(),
         [&](qint64 v) { options.handshakeTimeoutMs = int(v); }},
        {&idleTimeout, std::numeric_limits<int>::max(),
         [&](qint64 v) { options.idleTimeoutMs = int(v); }},
        {&keepalive, std::numeric_limits<int>::max(),
         [&](qint64 v) { options.keepaliveIntervalMs = int(v); }},
    };
    for (const IntegerOption &integer : integers) {
        if (!parser.isSet(*integer.option))
            continue;
        const auto value = parseCount(parser.value(*integer.option));
        if (!value || *value > integer.max)
            return usage(QStringLiteral("--%1 expects a number from 0 to %2, got %3")
                             .arg(integer.option->names().constFirst())
                             .arg(integer.max)
                             .arg(parser.value(*integer.option)));
        integer.apply(*value);
    }
    if (parser.isSet(bind)) {
        const QString text = parser.value(bind);
        options.bindAddress = text == QLatin1String("localhost")
                                  ? QHostAddress(QHostAddress::LocalHost)
                                  : QHostAddress(text);
        if (options.bindAddress.isNull())
            return usage(QStringLiteral("--bind expects an IP address, got %1").arg(text));
    }
    if (parser.isSet(mode)) {
        const auto parsed = modeFromName(parser.value(mode));
        if (!parsed)
            return usage(
                QStringLiteral("--mode expects echo, greeting, broadcast or manual, got %1")
                    .arg(parser.value(mode)));
        options.mode = *parsed;
    }
    if (parser.isSet(greeting))
        options.greeting = parser.value(greeting).toUtf8();
    for (const QString &value : parser.values(origin))
        options.allowedOrigins.append(value.toUtf8());
    for (const QString &value : parser.values(subprotocol))
        options.subprotocols.append(value.toUtf8());
    if (parser.isSet(deflate)) {
        options.deflate.policy = DeflatePolicy::Offer;
        if (parser.isSet(deflateWindowBits)) {
            const auto bits = parseCount(parser.value(deflateWindowBits));
            if (!bits || *bits < 8 || *bits > 15)
                return usage(QStringLiteral("--deflate-window-bits expects 8 to 15, got %1")
                                 .arg(parser.value(deflateWindowBits)));
            options.deflate.serverMaxWindowBits = int(*bits);
        }
        options.deflate.serverNoContextTakeover = parser.isSet(deflateNoContext);
    } else if (parser.isSet(deflateWindowBits) || parser.isSet(deflateNoContext)) {
        return usage(QStringLiteral("--deflate-window-bits and --deflate-no-context-takeover "
                                    "need --deflate"));
    }
    if (parser.isSet(cert) != parser.isSet(key))
        return usage(QStringLiteral("--cert and --key go together"));
    if (parser.isSet(cert) && !parser.isSet(tls))
        return usage(QStringLiteral("--cert and --key need --tls"));
    if (parser.isSet(tls)) {
        QString error;
        const std::optional<CertificateAndKey> identity =
            parser.isSet(cert) ? loadCertificate(parser.value(cert), parser.value(key), &error)
                               : localhostCertificate({}, &error);
        if (!identity) {
            writeLine(stderr, "wsw serve: " + error.toUtf8());
            return ListenFailed;
        }
        options.tlsCertificate = identity->certificate;
        options.tlsKey = identity->key;
    }
    // Nobody looks at single frames here; skip the copy each FrameEvent costs.
    options.session.reportFrames = false;

    ServeCommand command(options, parser.isSet(quiet));
    return command.exec();
}

ServeCommand::ServeCommand(ServerOptions options, bool quiet)
    : m_quiet(quiet) {
    const bool manual = options.mode == ServerOptions::Mode::Manual;
    m_server = new Server(std::move(options), this);
    if (manual) {
        connect(m_server, &Server::clientConnected, this, &ServeCommand::onClientConnected);
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
    writeLine(stdout, QByteArray(secure ? "listening on wss://" : "listening on ws://") +
                          urlHost(m_server->address()) + ':' +
                          QByteArray::number(m_server->port()) + '/');
    if (secure)
        writeLine(stdout, "certificate sha256 " +
                              sha256Fingerprint(m_server->options().tlsCertificate).toUtf8());
    // Connected only now: the listening line above must be the first one on stdout
    // (scripts read the port from it), and the server logs its own version of it.
    if (!m_quiet) {
        connect(m_server, &Server::logMessage, this,
                [](const QString &line) { writeLine(stdout, line.toUtf8()); });
    }
    return QCoreApplication::exec();
}

void ServeCommand::onClientConnected(ServerClient *client) {
    // Manual mode: what the clients send is the point, so it is printed even with --quiet.
    auto printer = std::make_shared<EventPrinter>(EventPrinter::Format::Human, false);
    printer->setPrefix("[#" + QByteArray::number(client->id()) + "] ");
    connect(client, &ServerClient::sessionEvent, this, [printer](const SessionEvent &event) {
        if (std::holds_alternative<MessageEvent>(event) ||
            std::holds_alternative<PingEvent>(event) || std::holds_alternative<PongEvent>(event) ||
            std::holds_alternative<CloseEvent>(event))
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
    if (++m_signals > 1) {
        QCoreApplication::exit(Stopped);
        return;
    }
    QTimer::singleShot(m_server->options().closeTimeoutMs + StopGraceMs, this,
                       [] { QCoreApplication::exit(Stopped); });
    m_server->stop();
}

} // namespace ws

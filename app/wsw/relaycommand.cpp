#include "relaycommand.h"

#include "commandline.h"
#include "output.h"
#include "signalwatcher.h"

#include "net/eventclock.h"
#include "net/tlscertificate.h"
#include "net/websocketurl.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QTimer>

#include <limits>

namespace ws {

namespace {

// On top of the closing handshakes: a stuck peer never keeps the process alive.
constexpr int StopGraceMs = 2'000;

QString exitStatusHelp() {
    return QStringLiteral("Exit status:\n"
                          "  0  stopped by SIGINT or SIGTERM (every pair closed with 1001)\n"
                          "  1  usage error\n"
                          "  2  could not listen (address in use, no permission, bad TLS "
                          "certificate or key)");
}

QByteArray urlHost(const QHostAddress &address) {
    if (address.protocol() == QAbstractSocket::IPv6Protocol)
        return '[' + address.toString().toUtf8() + ']';
    return address.toString().toUtf8();
}

// [ADDR:]PORT, an IPv6 address in brackets; false when it is not one.
bool parseListen(const QString &text, QHostAddress *address, quint16 *port) {
    QString portText = text;
    const qsizetype colon = text.lastIndexOf(QLatin1Char(':'));
    if (colon >= 0) {
        QString host = text.left(colon);
        portText = text.mid(colon + 1);
        if (host.startsWith(QLatin1Char('[')) && host.endsWith(QLatin1Char(']')))
            host = host.mid(1, host.size() - 2);
        if (!address->setAddress(host))
            return false;
    }
    bool ok = false;
    const uint value = portText.toUInt(&ok);
    if (!ok || value > 65535)
        return false;
    *port = quint16(value);
    return true;
}

} // namespace

quint32 relayLogConnection(quint64 pair, RelayLegKind leg) {
    return quint32(pair * 2 - (leg == RelayLegKind::Client ? 1 : 0));
}

QString relayLegLogName(quint64 pair, RelayLegKind leg) {
    return QStringLiteral("relay %1 %2").arg(pair).arg(QLatin1StringView(relayLegName(leg)));
}

int RelayCommand::run(const QStringList &arguments) {
    CommandLine commandLine(
        "relay",
        QStringLiteral(
            "Runs a reverse relay: every WebSocket client that connects to --listen gets its "
            "own connection to --to, and every frame goes through both ways as it came "
            "(message boundaries, fragmentation, opcodes, pings and pongs, close codes and "
            "reasons), decoded and checked on both legs. The client's path and query are "
            "forwarded unless --to has a path of its own; Origin, Cookie, Authorization, "
            "User-Agent, subprotocol offers and the other end-to-end header fields go "
            "upstream, Host is the upstream's. The upstream's answer (101 with its "
            "subprotocol and headers, or its refusal with status and body) goes back to the "
            "client; an upstream that cannot be reached gives 502, one that does not answer "
            "in time 504.\n\nIt prints \"listening on ws://ADDRESS:PORT/ -> TARGET\" once "
            "listening, then what each leg receives, prefixed with \"[N client]\" (what the "
            "client sent) or \"[N server]\" (what the upstream sent). SIGINT or SIGTERM "
            "closes every pair with 1001 and exits.\n%1")
            .arg(exitStatusHelp()),
        UsageError);
    const auto listen =
        makeOption("listen",
                   "Where to listen: [ADDRESS:]PORT (address 127.0.0.1 unless given; port 0 "
                   "picks a free one). Required.",
                   "address:port");
    const auto to =
        makeOption("to", "The upstream server: ws[s]://host[:port][/path]. Required.", "url");
    const auto cert = makeOption("cert", "Listen for wss://: PEM certificate file.", "file");
    const auto key = makeOption("key", "With --cert: PEM private key file (unencrypted).", "file");
    const auto ca = makeOption("ca",
                               "wss upstream: also trust the CA certificates in this PEM "
                               "file.",
                               "file");
    const auto acceptFingerprint =
        makeOption("accept-fingerprint",
                   "wss upstream: accept this one certificate (SHA-256, hex) although it "
                   "cannot be verified.",
                   "sha256");
    const auto handshakeTimeout =
        makeOption("handshake-timeout",
                   "A client's request must be complete within this, and the upstream's "
                   "answer within this after it (then 504). Default 10000.",
                   "ms");
    const auto maxMessageSize = maxMessageSizeOption();
    const auto noDeflateClient =
        makeOption("no-deflate-client", "Decline permessage-deflate on the client leg.");
    const auto noDeflateServer =
        makeOption("no-deflate-server", "Do not offer permessage-deflate to the upstream.");
    const auto showFrames = makeOption("show-frames", "Print every frame header of both legs.");
    const auto quiet = makeOption("q,quiet", "Print only the listening line and errors.");
    const auto save = saveOption();
    commandLine.addOptions({listen, to, cert, key, ca, acceptFingerprint, handshakeTimeout,
                            maxMessageSize, noDeflateClient, noDeflateServer, showFrames, quiet,
                            save});
    if (const std::optional<int> status = commandLine.parse(arguments))
        return *status;
    if (!commandLine.positionalArguments().isEmpty())
        return commandLine.usageError(QStringLiteral("unexpected argument %1")
                                          .arg(commandLine.positionalArguments().first()));

    RelayOptions options;
    if (!commandLine.isSet(listen))
        return commandLine.usageError(QStringLiteral("--listen [ADDRESS:]PORT is required"));
    if (!parseListen(commandLine.value(listen), &options.listenAddress, &options.listenPort))
        return commandLine.usageError(
            QStringLiteral("--listen expects [ADDRESS:]PORT, e.g. 9002 or 0.0.0.0:9002, not %1")
                .arg(commandLine.value(listen)));
    if (!commandLine.isSet(to))
        return commandLine.usageError(QStringLiteral("--to ws[s]://host[:port][/path] is "
                                                     "required"));
    const QUrl target(commandLine.value(to), QUrl::StrictMode);
    QString urlError;
    if (!parseWebSocketUrl(target, &urlError))
        return commandLine.usageError(QStringLiteral("--to: %1").arg(urlError));
    options.target = target;
    if (!commandLine.readInteger(handshakeTimeout, 1, 3'600'000, &options.handshakeTimeoutMs))
        return commandLine.usageError(
            QStringLiteral("--handshake-timeout expects milliseconds from 1 to 3600000"));
    if (!commandLine.readInteger(maxMessageSize, 1, std::numeric_limits<qint64>::max(),
                                 &options.session.maxMessageSize))
        return commandLine.usageError(QStringLiteral("--max-message-size expects a byte count"));
    if (commandLine.isSet(noDeflateClient))
        options.clientDeflate.policy = DeflatePolicy::Refuse;
    if (commandLine.isSet(noDeflateServer))
        options.serverDeflate.policy = DeflatePolicy::Refuse;
    if (commandLine.isSet(ca)) {
        const QString path = commandLine.value(ca);
        if (const QString error = caFileError(path); !error.isEmpty())
            return commandLine.usageError(error);
        options.upstream.caCertificatesFile = path;
    }
    if (commandLine.isSet(acceptFingerprint)) {
        options.upstream.acceptedFingerprint =
            parseFingerprint(commandLine.value(acceptFingerprint));
        if (options.upstream.acceptedFingerprint.isEmpty())
            return commandLine.usageError(
                QStringLiteral("--accept-fingerprint expects a SHA-256 fingerprint: 32 "
                               "hex bytes, with or without colons"));
    }
    if (commandLine.isSet(cert) != commandLine.isSet(key))
        return commandLine.usageError(QStringLiteral("--cert and --key go together"));
    if (commandLine.isSet(cert)) {
        QString error;
        const std::optional<CertificateAndKey> identity =
            loadCertificate(commandLine.value(cert), commandLine.value(key), &error);
        if (!identity) {
            commandLine.printError(error);
            return ListenFailed;
        }
        options.certificate = identity->certificate;
        options.key = identity->key;
    }
    std::unique_ptr<log::JsonLinesRecorder> recorder;
    if (commandLine.isSet(save)) {
        QString error;
        if (!(recorder = openSaveFile(commandLine.value(save), &error)))
            return commandLine.usageError(error);
    }
    const Printing printing{.showFrames = commandLine.isSet(showFrames),
                            .quiet = commandLine.isSet(quiet)};
    // Quiet and not saving, only violations are printed: the data frames then go
    // from leg to leg without becoming events.
    options.observed = !printing.quiet || recorder;
    RelayCommand command(std::move(options), printing, std::move(recorder));
    return command.exec();
}

RelayCommand::RelayCommand(RelayOptions options, Printing printing,
                           std::unique_ptr<log::JsonLinesRecorder> recorder)
    : m_recorder(std::move(recorder))
    , m_printing(printing) {
    m_relay = new Relay(std::move(options), this);
    connect(m_relay, &Relay::pairStarted, this, &RelayCommand::onPairStarted);
    connect(m_relay, &Relay::legEvent, this, &RelayCommand::onLegEvent);
    connect(m_relay, &Relay::clientAccepted, this,
            [this](quint64 pair, const QByteArray &request, const QByteArray &response,
                   const QByteArray &subprotocol) {
                if (!m_recorder)
                    return;
                // As `wsw serve --save` logs its clients' upgrades: request and 101.
                const log::FullRecord record = log::acceptedUpgradeRecord(
                    relayLogConnection(pair, RelayLegKind::Client),
                    EventClock::toEpochUs(EventClock::nowUs()), request, response, subprotocol);
                m_recorder->appendRecord(record.record, record.extra);
            });
    connect(m_relay, &Relay::logMessage, this, &RelayCommand::onLogMessage);
    connect(m_relay, &Relay::pairFinished, this, &RelayCommand::onPairFinished);
    connect(m_relay, &Relay::stopped, this, [] { QCoreApplication::exit(Stopped); });
    auto *watcher = new SignalWatcher(this);
    connect(watcher, &SignalWatcher::signalReceived, this, &RelayCommand::onSignal);
}

int RelayCommand::exec() {
    if (!m_relay->listen()) {
        writeLine(stderr, "wsw relay: cannot listen on " +
                              urlHost(m_relay->options().listenAddress) + ':' +
                              QByteArray::number(m_relay->options().listenPort) + ": " +
                              m_relay->errorString().toUtf8());
        return ListenFailed;
    }
    m_listeningUrl = (m_relay->isSecure() ? "wss://" : "ws://") + urlHost(m_relay->address()) +
                     ':' + QByteArray::number(m_relay->port()) + '/';
    writeLine(stdout, "listening on " + m_listeningUrl + " -> " +
                          m_relay->options().target.toString().toUtf8());
    if (m_relay->isSecure())
        writeLine(stdout, "certificate sha256 " +
                              sha256Fingerprint(m_relay->options().certificate).toUtf8());
    const int status = QCoreApplication::exec();
    flushSaved();
    return status;
}

EventPrinter &RelayCommand::printer(quint64 pair, RelayLegKind leg) {
    const quint64 key = pair * 2 + (leg == RelayLegKind::Server ? 1 : 0);
    auto it = m_printers.find(key);
    if (it == m_printers.end()) {
        EventPrinter printer(EventPrinter::Format::Human, m_printing.showFrames);
        printer.setPrefix('[' + QByteArray::number(pair) + ' ' + relayLegName(leg) + "] ");
        printer.setQuiet(m_printing.quiet);
        it = m_printers.insert(key, printer);
    }
    return it.value();
}

void RelayCommand::onPairStarted(quint64 pair, const QString &peer) {
    if (m_recorder) {
        m_recorder->setConnectionInfo(
            relayLogConnection(pair, RelayLegKind::Client),
            {relayLegLogName(pair, RelayLegKind::Client),
             QStringLiteral("%1 \u2190 %2").arg(QString::fromUtf8(m_listeningUrl), peer)});
        m_recorder->setConnectionInfo(
            relayLogConnection(pair, RelayLegKind::Server),
            {relayLegLogName(pair, RelayLegKind::Server), m_relay->options().target.toString()});
    }
    if (!m_printing.quiet)
        writeLine(stderr, '[' + QByteArray::number(pair) + "] client " + peer.toUtf8());
}

void RelayCommand::onLegEvent(quint64 pair, RelayLegKind leg, const SessionEvent &event) {
    if (m_recorder)
        m_recorder->append(relayLogConnection(pair, leg), event);
    if (m_printing.quiet) {
        // Violations still say why a pair ended.
        if (!std::holds_alternative<ViolationEvent>(event))
            return;
    }
    printer(pair, leg).print(event);
}

void RelayCommand::onLogMessage(quint64 pair, const QString &line) {
    // What the relay decided (a refusal relayed, a 502, a leg closed with 1011) is a
    // note row of the pair's client leg.
    if (m_recorder && pair)
        m_recorder->appendRecord(
            log::connectionNoteRecord(relayLogConnection(pair, RelayLegKind::Client),
                                      EventClock::toEpochUs(EventClock::nowUs()), line));
    if (m_printing.quiet)
        return;
    writeLine(stderr,
              (pair ? '[' + QByteArray::number(pair) + "] " : QByteArray()) + line.toUtf8());
}

void RelayCommand::onPairFinished(quint64 pair) {
    m_printers.remove(pair * 2);
    m_printers.remove(pair * 2 + 1);
    flushSaved();
}

void RelayCommand::flushSaved() {
    if (!m_recorder || m_recorder->flush() || m_saveErrorReported)
        return;
    m_saveErrorReported = true;
    writeLine(stderr, "wsw relay: cannot save " + m_recorder->fileName().toUtf8() + ": " +
                          m_recorder->errorString().toUtf8());
}

void RelayCommand::onSignal() {
    // A second signal, or a peer that never closes: out anyway.
    if (++m_signals > 1) {
        QCoreApplication::exit(Stopped);
        return;
    }
    m_relay->shutdown();
    QTimer::singleShot(m_relay->options().closeTimeoutMs + StopGraceMs, this,
                       [] { QCoreApplication::exit(Stopped); });
}

} // namespace ws

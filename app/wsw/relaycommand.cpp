#include "relaycommand.h"

#include "commandline.h"
#include "output.h"
#include "signalwatcher.h"

#include "net/certificateauthority.h"
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
                          "certificate or key, no certificate authority for --proxy), or "
                          "--export-ca/--ca-info could not read, make or write it");
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
            "closes every pair with 1001 and exits.\n\n"
            "With --proxy instead of --listen and --to it is an HTTP proxy for a browser or an "
            "application (Chromium's --proxy-server, http_proxy/https_proxy): a ws:// request "
            "in absolute form (GET ws://host:port/path) is relayed to that target; CONNECT "
            "host:port is answered 200, TLS in the tunnel is terminated with a certificate for "
            "host signed by a local certificate authority (made once, kept in --ca-dir; trust "
            "it with --export-ca), and a WebSocket upgrade in it is relayed to "
            "wss://host:port/path. Any other request in a tunnel (the page, its scripts, XHR) "
            "is passed through to host:port over TLS verified with the system's store, --ca "
            "and --accept-fingerprint, and the rest of that connection with it, undecoded. A "
            "plain GET http://... is forwarded with Connection: close. CONNECT to a --blind "
            "host is tunnelled undecoded. A host that cannot be reached gives 502, a request "
            "a proxy does not take 400.\n%1")
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
                               "wss upstream (and, with --proxy, requests passed through "
                               "over TLS): also trust the CA certificates in this PEM file.",
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
    const auto proxy = makeOption("proxy",
                                  "Run as an HTTP proxy on [ADDRESS:]PORT (address 127.0.0.1 "
                                  "unless given) instead of --listen and --to.",
                                  "address:port");
    const auto caDir = makeOption("ca-dir",
                                  "--proxy, --export-ca, --ca-info: the certificate authority's "
                                  "directory (ca.crt, ca.key), made when missing. Default: the "
                                  "application data directory's ca/.",
                                  "dir");
    const auto blind = makeOption("blind",
                                  "--proxy: tunnel CONNECT to these hosts undecoded (no TLS "
                                  "interception).",
                                  "host[,host...]");
    const auto exportCa =
        makeOption("export-ca",
                   "Write the certificate authority's certificate (PEM) to this file, print "
                   "its fingerprints and how to trust it in a browser, and exit.",
                   "file");
    const auto caInfo =
        makeOption("ca-info", "Print the certificate authority's path, SHA-256 fingerprint "
                              "and SPKI pin, and exit.");
    const auto showFrames = makeOption("show-frames", "Print every frame header of both legs.");
    const auto quiet = makeOption("q,quiet", "Print only the listening line and errors.");
    const auto save = saveOption();
    commandLine.addOptions({listen, to, proxy, cert, key, ca, acceptFingerprint, caDir, blind,
                            exportCa, caInfo, handshakeTimeout, maxMessageSize, noDeflateClient,
                            noDeflateServer, showFrames, quiet, save});
    if (const std::optional<int> status = commandLine.parse(arguments))
        return *status;
    if (!commandLine.positionalArguments().isEmpty())
        return commandLine.usageError(QStringLiteral("unexpected argument %1")
                                          .arg(commandLine.positionalArguments().first()));

    if (commandLine.isSet(exportCa) || commandLine.isSet(caInfo)) {
        if (commandLine.isSet(listen) || commandLine.isSet(to) || commandLine.isSet(proxy))
            return commandLine.usageError(
                QStringLiteral("--export-ca and --ca-info do not run a relay: leave out "
                               "--listen, --to and --proxy"));
        return showCertificateAuthority(commandLine.value(caDir), commandLine.value(exportCa));
    }
    const bool proxyMode = commandLine.isSet(proxy);
    RelayOptions options;
    if (proxyMode) {
        if (commandLine.isSet(listen) || commandLine.isSet(to))
            return commandLine.usageError(
                QStringLiteral("--proxy goes without --listen and --to: every client names "
                               "its own target"));
        if (commandLine.isSet(cert) || commandLine.isSet(key))
            return commandLine.usageError(QStringLiteral(
                "--proxy makes its certificates with its certificate authority: no --cert"));
        if (!parseListen(commandLine.value(proxy), &options.listenAddress, &options.listenPort))
            return commandLine.usageError(
                QStringLiteral("--proxy expects [ADDRESS:]PORT, e.g. 8080 or 0.0.0.0:8080, not %1")
                    .arg(commandLine.value(proxy)));
    } else {
        if (commandLine.isSet(blind) || commandLine.isSet(caDir))
            return commandLine.usageError(QStringLiteral("--blind and --ca-dir go with --proxy"));
        if (!commandLine.isSet(listen))
            return commandLine.usageError(
                QStringLiteral("--listen [ADDRESS:]PORT (or --proxy [ADDRESS:]PORT) is required"));
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
    }
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
    RelayCommand command(printing, std::move(recorder));
    if (!proxyMode) {
        command.setRelay(std::move(options));
        return command.exec();
    }
    RelayProxyOptions proxyOptions;
    proxyOptions.relay = std::move(options);
    proxyOptions.caDirectory = commandLine.value(caDir);
    for (const QString &host : commandLine.value(blind).split(u',', Qt::SkipEmptyParts))
        proxyOptions.blindHosts << host.trimmed();
    command.setProxy(std::move(proxyOptions));
    return command.execProxy();
}

int showCertificateAuthority(const QString &directory, const QString &exportFile) {
    QString error;
    const std::optional<CertificateAuthority> authority =
        CertificateAuthority::open(directory, &error);
    if (!authority) {
        writeLine(stderr, "wsw relay: " + error.toUtf8());
        return RelayCommand::ListenFailed;
    }
    if (!exportFile.isEmpty() && !exportCertificateAuthority(*authority, exportFile, &error)) {
        writeLine(stderr, "wsw relay: " + error.toUtf8());
        return RelayCommand::ListenFailed;
    }
    const CertificateAuthorityInfo info = certificateAuthorityInfo(*authority);
    writeLine(stdout, "certificate authority " + info.certificateFile.toUtf8());
    if (!exportFile.isEmpty())
        writeLine(stdout, "exported to " + exportFile.toUtf8());
    writeLine(stdout, "sha256 " + info.fingerprint.toUtf8());
    writeLine(stdout, "spki sha256 base64 " + info.spkiSha256Base64.toUtf8());
    if (!exportFile.isEmpty())
        writeLine(stdout, certificateAuthorityTrustSteps(exportFile).toUtf8());
    return RelayCommand::Stopped;
}

RelayCommand::RelayCommand(Printing printing, std::unique_ptr<log::JsonLinesRecorder> recorder)
    : m_recorder(std::move(recorder))
    , m_printing(printing) {
    auto *watcher = new SignalWatcher(this);
    connect(watcher, &SignalWatcher::signalReceived, this, &RelayCommand::onSignal);
}

template <typename Source> void RelayCommand::follow(Source *source) {
    connect(source, &Source::legEvent, this, &RelayCommand::onLegEvent);
    connect(source, &Source::clientAccepted, this,
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
    connect(source, &Source::logMessage, this, &RelayCommand::onLogMessage);
    connect(source, &Source::pairFinished, this, &RelayCommand::onPairFinished);
    connect(source, &Source::stopped, this, [] { QCoreApplication::exit(Stopped); });
}

void RelayCommand::setRelay(RelayOptions options) {
    m_relay = new Relay(std::move(options), this);
    follow(m_relay);
    connect(m_relay, &Relay::pairStarted, this, [this](quint64 pair, const QString &peer) {
        onPairStarted(pair, peer, m_relay->options().target);
    });
}

void RelayCommand::setProxy(RelayProxyOptions options) {
    m_proxy = new RelayProxy(std::move(options), this);
    follow(m_proxy);
    connect(m_proxy, &RelayProxy::pairStarted, this, &RelayCommand::onPairStarted);
}

int RelayCommand::execProxy() {
    const RelayOptions &options = m_proxy->options().relay;
    if (!m_proxy->listen()) {
        writeLine(stderr, "wsw relay: cannot run the proxy on " + urlHost(options.listenAddress) +
                              ':' + QByteArray::number(options.listenPort) + ": " +
                              m_proxy->errorString().toUtf8());
        return ListenFailed;
    }
    m_listeningUrl =
        "http://" + urlHost(m_proxy->address()) + ':' + QByteArray::number(m_proxy->port()) + '/';
    writeLine(stdout, "proxy listening on " + m_listeningUrl);
    const CertificateAuthorityInfo info =
        certificateAuthorityInfo(*m_proxy->certificateAuthority());
    writeLine(stdout, "certificate authority " + info.certificateFile.toUtf8() + " spki sha256 " +
                          info.spkiSha256Base64.toUtf8());
    const int status = QCoreApplication::exec();
    flushSaved();
    return status;
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

void RelayCommand::onPairStarted(quint64 pair, const QString &peer, const QUrl &target) {
    if (m_recorder) {
        m_recorder->setConnectionInfo(
            relayLogConnection(pair, RelayLegKind::Client),
            {relayLegLogName(pair, RelayLegKind::Client),
             QStringLiteral("%1 \u2190 %2").arg(QString::fromUtf8(m_listeningUrl), peer)});
        m_recorder->setConnectionInfo(
            relayLogConnection(pair, RelayLegKind::Server),
            {relayLegLogName(pair, RelayLegKind::Server), target.toString()});
    }
    if (!m_printing.quiet)
        writeLine(stderr, '[' + QByteArray::number(pair) + "] client " + peer.toUtf8() +
                              (m_proxy ? " -> " + target.toString().toUtf8() : QByteArray()));
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
    if (m_proxy)
        m_proxy->shutdown();
    else
        m_relay->shutdown();
    const int closeTimeoutMs =
        m_proxy ? m_proxy->options().relay.closeTimeoutMs : m_relay->options().closeTimeoutMs;
    QTimer::singleShot(closeTimeoutMs + StopGraceMs, this, [] { QCoreApplication::exit(Stopped); });
}

} // namespace ws

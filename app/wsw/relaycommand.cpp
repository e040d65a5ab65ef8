#include "relaycommand.h"

#include "commandline.h"
#include "output.h"
#include "signalwatcher.h"
#include "stdinreader.h"

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

// DIR=VALUE with DIR up, down or both: the legs messages go out on, and VALUE.
std::optional<QPair<QList<RelayLegKind>, QString>> splitDirection(const QString &text) {
    const qsizetype equals = text.indexOf(QLatin1Char('='));
    if (equals < 0)
        return std::nullopt;
    const QString direction = text.left(equals);
    QList<RelayLegKind> legs;
    if (direction == QLatin1String("up"))
        legs = {RelayLegKind::Server};
    else if (direction == QLatin1String("down"))
        legs = {RelayLegKind::Client};
    else if (direction == QLatin1String("both"))
        legs = {RelayLegKind::Server, RelayLegKind::Client};
    else
        return std::nullopt;
    return QPair<QList<RelayLegKind>, QString>(legs, text.mid(equals + 1));
}

// MS, MS±JITTER or MS+-JITTER.
bool parseLatency(const QString &text, RelayDirectionFaults *faults) {
    QString value = text;
    value.replace(QStringLiteral("+-"), QStringLiteral("\u00b1"));
    const QStringList parts = value.split(QChar(0x00b1));
    if (parts.size() > 2)
        return false;
    const std::optional<qint64> latency = wholeNumber(parts.first(), 0, 3'600'000);
    const std::optional<qint64> jitter =
        parts.size() == 2 ? wholeNumber(parts.last(), 0, 3'600'000) : std::optional<qint64>(0);
    if (!latency || !jitter)
        return false;
    faults->latencyMs = int(*latency);
    faults->jitterMs = int(*jitter);
    return true;
}

// BYTES or BYTES/s.
bool parseThrottle(const QString &text, RelayDirectionFaults *faults) {
    const QStringView rateText =
        text.endsWith(QLatin1String("/s")) ? QStringView(text).chopped(2) : QStringView(text);
    const std::optional<qint64> rate = wholeNumber(rateText, 1, std::numeric_limits<qint32>::max());
    if (!rate)
        return false;
    faults->bytesPerSecond = *rate;
    return true;
}

// PERCENT or PERCENT%, 0 to 100.
bool parseDropRate(const QString &text, RelayDirectionFaults *faults) {
    const QStringView percentText =
        text.endsWith(QLatin1Char('%')) ? QStringView(text).chopped(1) : QStringView(text);
    bool ok = false;
    const double percent = percentText.toDouble(&ok);
    if (!ok || percent < 0 || percent > 100)
        return false;
    faults->dropPercent = percent;
    return true;
}

// LEG=N, LEG=N:rst or LEG=N:CODE.
bool parseCutAfter(const QString &text, RelayFaults *faults) {
    const qsizetype equals = text.indexOf(QLatin1Char('='));
    const QString legName = text.left(equals);
    if (equals < 0 || (legName != QLatin1String("client") && legName != QLatin1String("server")))
        return false;
    const QStringList parts = text.mid(equals + 1).split(QLatin1Char(':'));
    const std::optional<qint64> count = wholeNumber(parts.first(), 1, 1'000'000'000);
    if (!count || parts.size() > 2)
        return false;
    faults->cutAfterMessages = int(*count);
    faults->cutLeg =
        legName == QLatin1String("client") ? RelayLegKind::Client : RelayLegKind::Server;
    if (parts.size() == 2) {
        if (parts.last() == QLatin1String("rst")) {
            faults->cut.style = RelayCut::Style::Reset;
        } else {
            // RFC 6455 §7.4: codes a close frame may carry.
            const std::optional<qint64> code = wholeNumber(parts.last(), 1000, 4999);
            if (!code || !isValidOnWire(quint16(*code)))
                return false;
            faults->cut.code = quint16(*code);
        }
    }
    return true;
}

// [up:|down:]FILTER.
InterceptRule parseRule(QString text, InterceptRule::Action action) {
    InterceptRule rule;
    rule.action = action;
    if (text.startsWith(QLatin1String("up:"))) {
        rule.to = RelayLegKind::Server;
        text.remove(0, 3);
    } else if (text.startsWith(QLatin1String("down:"))) {
        rule.to = RelayLegKind::Client;
        text.remove(0, 5);
    }
    rule.filter = log::DisplayFilter::compile(text);
    return rule;
}

// The first word of `rest`, taken off it (with the blanks after it).
QByteArray takeWord(QByteArray &rest) {
    rest = rest.trimmed();
    qsizetype end = 0;
    while (end < rest.size() && rest.at(end) != ' ' && rest.at(end) != '\t')
        ++end;
    const QByteArray word = rest.left(end);
    rest = rest.mid(end).trimmed();
    return word;
}

// The words after "faults" on stdin: NAME VALUE pairs with the values of the options
// of the same names (latency up=200, drop-rate both=5, seed 7, cut-after server=3:rst);
// an error message when a word is not understood.
std::optional<QString> parseFaultWords(QByteArray rest, RelayFaults *faults) {
    for (QByteArray name = takeWord(rest); !name.isEmpty(); name = takeWord(rest)) {
        const QString value = QString::fromUtf8(takeWord(rest));
        bool ok = !value.isEmpty();
        if (name == "seed") {
            const std::optional<qint64> seed =
                wholeNumber(value, 0, std::numeric_limits<qint64>::max());
            ok = seed.has_value();
            faults->seed = quint64(seed.value_or(0));
        } else if (name == "cut-after") {
            ok = ok && parseCutAfter(value, faults);
        } else if (name == "latency" || name == "throttle" || name == "drop-rate") {
            const auto parse = name == "latency"    ? parseLatency
                               : name == "throttle" ? parseThrottle
                                                    : parseDropRate;
            const auto split = splitDirection(value);
            ok = ok && split.has_value();
            for (const RelayLegKind direction : split ? split->first : QList<RelayLegKind>())
                ok = ok && parse(split->second, &faults->toward(direction));
        } else {
            return QStringLiteral("faults: unknown fault %1 (latency, throttle, drop-rate, "
                                  "seed, cut-after)")
                .arg(QString::fromUtf8(name));
        }
        if (!ok)
            return QStringLiteral("faults: %1 does not take %2 (see --%1)")
                .arg(QString::fromUtf8(name), value.isEmpty() ? QStringLiteral("nothing") : value);
    }
    return std::nullopt;
}

std::optional<RelayLegKind> directionWord(const QByteArray &word) {
    if (word == "up")
        return RelayLegKind::Server;
    if (word == "down")
        return RelayLegKind::Client;
    return std::nullopt;
}

QString commandsHelp() {
    return QStringLiteral(
        "Intercept commands, one a line on stdin (with --hold or --commands); held messages "
        "are announced on stdout as \"held #ID pair N up|down KIND (SIZE bytes): PREVIEW\" "
        "(\"queued #ID ...\" for one that only waits behind a held one):\n"
        "  list                      every waiting message, then \"N waiting\"\n"
        "  release ID [PAYLOAD]      let it go, with PAYLOAD (UTF-8) instead when given\n"
        "  release all               every held message, in order\n"
        "  drop ID | drop all        never forward it (them)\n"
        "  inject up|down TEXT       a text message to the server (up) or the client\n"
        "  ping up|down [PAYLOAD]    a ping\n"
        "  close up|down CODE [REASON]  a close frame\n"
        "  cut client|server [CODE|rst]  cut that leg now (close 1001 by default)\n"
        "  pair N                    inject, ping, close, cut and faults act on pair N "
        "(default: the newest open one)\n"
        "  faults [NAME VALUE]...    the pair's own faults instead of the relay's, NAME one "
        "of latency, throttle, drop-rate, cut-after (values as their options take) and seed; "
        "\"faults none\": no faults for the pair, \"faults relay\": the relay's again, "
        "\"faults\" alone: print the pair's faults\n"
        "Messages keep their order per direction; ping and pong are not held unless a rule "
        "names them, a close never overtakes a held message. Every drop, edit, injection, "
        "delay and cut is printed and saved as a staged note.");
}

} // namespace

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
            "listening (wss:// with --tls or --cert, then \"certificate sha256 FINGERPRINT\" "
            "and \"certificate file PATH\"), then what each leg receives, prefixed with \"[N "
            "client]\" (what the "
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
            "and --accept-fingerprint, byte-exact; a plain GET http://... is forwarded. The "
            "connection is read request by request, so a WebSocket upgrade after other "
            "requests on it is relayed too. CONNECT to a --blind "
            "host is tunnelled undecoded. A host that cannot be reached gives 502, a request "
            "a proxy does not take 400. Intercept and faults work the same in both "
            "modes.\n\n%1\n\n%2")
            .arg(commandsHelp(), exitStatusHelp()),
        UsageError);
    const auto listen =
        makeOption("listen",
                   "Where to listen: [ADDRESS:]PORT (address 127.0.0.1 unless given; port 0 "
                   "picks a free one). Required.",
                   "address:port");
    const auto to =
        makeOption("to", "The upstream server: ws[s]://host[:port][/path]. Required.", "url");
    const auto tls = makeOption(
        "tls", "Listen for wss://. Without --cert/--key: the self-signed certificate for "
               "localhost that `wsw serve --tls` uses, made once and kept in the application "
               "data folder.");
    const auto cert =
        makeOption("cert", "Listen for wss:// with this PEM certificate file.", "file");
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
    const auto hold = makeOption(
        "hold",
        "Hold the messages this display filter matches (the log's language, e.g. "
        "'json.type == \"order\"'; up: or down: first for one direction; empty: all) until "
        "a command on stdin releases or drops them. Repeatable; the first matching "
        "--hold or --drop decides.",
        "filter");
    const auto dropFilter =
        makeOption("drop",
                   "Drop the messages this display filter matches ([up:|down:]FILTER). "
                   "Repeatable.",
                   "filter");
    const auto commands =
        makeOption("commands", "Read intercept commands on stdin without --hold.");
    const auto latency = makeOption(
        "latency",
        "Delay every message going up (client to server), down or both by MS, optionally "
        "\u00b1JITTER (or +-JITTER) ms. Repeatable.",
        "dir=ms[\u00b1jitter]");
    const auto throttle = makeOption(
        "throttle", "At most BYTES of payload a second going up, down or both.", "dir=bytes/s");
    const auto dropRate = makeOption("drop-rate",
                                     "Drop this share (0-100 %) of the data messages going "
                                     "up, down or both (see --seed).",
                                     "dir=percent");
    const auto seed = makeOption("seed",
                                 "Seed of --drop-rate's draws: the same seed drops the same "
                                 "messages. Default 0.",
                                 "n");
    const auto cutAfter = makeOption(
        "cut-after",
        "Cut the client's or the server's leg of each pair once it relayed N data messages "
        "(both ways counted): with close 1001, close CODE, or a TCP reset (rst).",
        "leg=n[:rst|:code]");
    const auto heldLimit = makeOption(
        "held-limit",
        "What a pair may keep back (held, queued, delayed) before the leg it comes from is "
        "no longer read, until less than half is left. Default 8388608 (8 MiB).",
        "bytes");
    commandLine.addOptions({listen, to, proxy, tls, cert, key, ca, acceptFingerprint, caDir, blind,
                            exportCa, caInfo, handshakeTimeout, maxMessageSize, noDeflateClient,
                            noDeflateServer, showFrames, quiet, save});
    commandLine.addOptions(
        {hold, dropFilter, commands, latency, throttle, dropRate, seed, cutAfter, heldLimit});
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
        if (commandLine.isSet(tls) || commandLine.isSet(cert) || commandLine.isSet(key))
            return commandLine.usageError(
                QStringLiteral("--proxy makes its certificates with its certificate authority: "
                               "no --tls or --cert"));
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
    if (const std::optional<QString> error =
            commandLine.readTrust(ca, acceptFingerprint, &options.upstream.caCertificatesFile,
                                  &options.upstream.acceptedFingerprint))
        return commandLine.usageError(*error);
    if (commandLine.isSet(cert) != commandLine.isSet(key))
        return commandLine.usageError(QStringLiteral("--cert and --key go together"));
    QString certificateFile;
    if (commandLine.isSet(tls) || commandLine.isSet(cert)) {
        // The same certificate as `wsw serve --tls`: a client that trusts one trusts both.
        certificateFile =
            commandLine.isSet(cert) ? commandLine.value(cert) : localhostCertificateFile();
        QString error;
        const std::optional<CertificateAndKey> identity =
            commandLine.isSet(cert)
                ? loadCertificate(commandLine.value(cert), commandLine.value(key), &error)
                : localhostCertificate({}, &error);
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
    Staging staging;
    // Rules in the order given on the command line: the first that matches decides.
    QList<QPair<int, InterceptRule>> ordered;
    for (const auto &[option, action] :
         {QPair<QCommandLineOption, InterceptRule::Action>(hold, InterceptRule::Action::Hold),
          QPair<QCommandLineOption, InterceptRule::Action>(dropFilter,
                                                           InterceptRule::Action::Drop)}) {
        const QString name = QLatin1String("--") + option.names().first();
        for (const QString &text : commandLine.values(option)) {
            InterceptRule rule = parseRule(text, action);
            if (!rule.filter.isValid())
                return commandLine.usageError(
                    QStringLiteral("%1 %2: %3").arg(name, text, rule.filter.error().toString()));
            qsizetype position = arguments.indexOf(text);
            if (position < 0)
                position = arguments.indexOf(name + QLatin1Char('=') + text);
            ordered.append({int(position), std::move(rule)});
        }
    }
    std::stable_sort(ordered.begin(), ordered.end(),
                     [](const auto &a, const auto &b) { return a.first < b.first; });
    for (const auto &entry : std::as_const(ordered))
        staging.rules.append(entry.second);
    const auto eachDirection =
        [&](const QCommandLineOption &option, const QString &expected,
            bool (*parse)(const QString &, RelayDirectionFaults *)) -> std::optional<int> {
        for (const QString &text : commandLine.values(option)) {
            const auto split = splitDirection(text);
            // Each parse sets its own fields only.
            bool ok = split.has_value();
            for (const RelayLegKind direction : split ? split->first : QList<RelayLegKind>())
                ok = ok && parse(split->second, &staging.faults.toward(direction));
            if (!ok)
                return commandLine.usageError(QStringLiteral("--%1 expects %2, not %3")
                                                  .arg(option.names().first(), expected, text));
        }
        return std::nullopt;
    };
    if (const auto status =
            eachDirection(latency, QStringLiteral("up|down|both=MS[\u00b1JITTER]"), parseLatency))
        return *status;
    if (const auto status =
            eachDirection(throttle, QStringLiteral("up|down|both=BYTES/s"), parseThrottle))
        return *status;
    if (const auto status = eachDirection(
            dropRate, QStringLiteral("up|down|both=PERCENT (0 to 100)"), parseDropRate))
        return *status;
    if (!commandLine.readInteger(seed, 0, std::numeric_limits<qint64>::max(), &staging.faults.seed))
        return commandLine.usageError(QStringLiteral("--seed expects a whole number"));
    if (commandLine.isSet(cutAfter) && !parseCutAfter(commandLine.value(cutAfter), &staging.faults))
        return commandLine.usageError(
            QStringLiteral("--cut-after expects client|server=N[:rst|:CODE], not %1")
                .arg(commandLine.value(cutAfter)));
    if (!commandLine.readInteger(heldLimit, 1, std::numeric_limits<qint64>::max(),
                                 &options.heldBytesLimit))
        return commandLine.usageError(QStringLiteral("--held-limit expects a byte count"));
    staging.commands = commandLine.isSet(hold) || commandLine.isSet(commands);
    const Printing printing{.showFrames = commandLine.isSet(showFrames),
                            .quiet = commandLine.isSet(quiet),
                            .certificateFile = QFileInfo(certificateFile).absoluteFilePath()};
    // Quiet and not saving, only violations are printed: the data frames then go
    // from leg to leg without becoming events (unless intercept or faults need them:
    // commands on stdin may inject into any message boundary).
    options.observed = !printing.quiet || recorder || staging.commands;
    RelayCommand command(printing, std::move(staging), std::move(recorder));
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

RelayCommand::RelayCommand(Printing printing, Staging staging,
                           std::unique_ptr<log::JsonLinesRecorder> recorder)
    : m_staging(std::move(staging))
    , m_recorder(std::move(recorder))
    , m_printing(printing) {
    auto *watcher = new SignalWatcher(this);
    connect(watcher, &SignalWatcher::signalReceived, this, &RelayCommand::onSignal);
}

void RelayCommand::setRelay(RelayOptions options) {
    m_relay = new Relay(std::move(options), this);
    connect(m_relay, &Relay::stopped, this, [] { QCoreApplication::exit(Stopped); });
    follow();
}

void RelayCommand::setProxy(RelayProxyOptions options) {
    m_proxy = new RelayProxy(std::move(options), this);
    m_relay = m_proxy->relay();
    connect(m_proxy, &RelayProxy::logMessage, this, &RelayCommand::onLogMessage);
    connect(m_proxy, &RelayProxy::stopped, this, [] { QCoreApplication::exit(Stopped); });
    follow();
}

void RelayCommand::follow() {
    m_relay->setIntercept(m_staging.rules);
    m_relay->setFaults(m_staging.faults);
    connect(m_relay, &Relay::messageHeld, this, &RelayCommand::onMessageHeld);
    if (m_staging.commands) {
        auto *input = new StdinReader(this);
        connect(input, &StdinReader::lineRead, this, &RelayCommand::onCommand);
    }
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
    // As `wsw serve --tls` says it, then where the certificate is, for a client to trust.
    if (m_relay->isSecure()) {
        writeLine(stdout, "certificate sha256 " +
                              sha256Fingerprint(m_relay->options().certificate).toUtf8());
        writeLine(stdout, "certificate file " + m_printing.certificateFile.toUtf8());
    }
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
    m_openPairs.append(pair);
    if (m_recorder) {
        // Named and marked as the window names and marks its legs, so that `conn` and
        // `leg` mean the same in this log opened there and in the window's own.
        const QString &relayName = m_relay->options().name;
        m_recorder->setConnectionInfo(
            relayLogConnection(pair, RelayLegKind::Client),
            {relayLegLogName(relayName, pair, RelayLegKind::Client),
             QStringLiteral("%1 \u2190 %2").arg(QString::fromUtf8(m_listeningUrl), peer),
             log::Leg::Client});
        m_recorder->setConnectionInfo(relayLogConnection(pair, RelayLegKind::Server),
                                      {relayLegLogName(relayName, pair, RelayLegKind::Server),
                                       target.toString(), log::Leg::Server});
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
    m_openPairs.removeOne(pair);
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
    QTimer::singleShot(m_relay->options().closeTimeoutMs + StopGraceMs, this,
                       [] { QCoreApplication::exit(Stopped); });
}

// --- intercept on stdin --------------------------------------------------------------

void RelayCommand::onMessageHeld(const HeldMessage &message) {
    const log::LogRecord record =
        interceptRecord(message.pair, otherLeg(message.to), message.opcode, message.payload, 0);
    writeLine(stdout, (message.state == HeldMessage::State::Held ? "held #" : "queued #") +
                          QByteArray::number(message.id) + " pair " +
                          QByteArray::number(message.pair) + ' ' + relayDirectionName(message.to) +
                          ' ' + log::logKindName(record.kind) + " (" +
                          QByteArray::number(message.payload.size()) +
                          " bytes): " + log::recordPreview(record, nullptr).toUtf8());
}

void RelayCommand::listHeld() {
    const QList<HeldMessage> held = m_relay->heldMessages();
    for (const HeldMessage &message : held)
        onMessageHeld(message);
    writeLine(stdout, QByteArray::number(held.size()) + " waiting");
}

quint64 RelayCommand::commandPair() const {
    if (m_chosenPair && m_openPairs.contains(m_chosenPair))
        return m_chosenPair;
    return m_openPairs.isEmpty() ? 0 : m_openPairs.last();
}

void RelayCommand::commandError(const QString &message) {
    writeLine(stderr, "wsw relay: " + message.toUtf8());
}

void RelayCommand::onCommand(const QByteArray &line) {
    QByteArray rest = line;
    const QByteArray command = takeWord(rest);
    if (command.isEmpty() || command.startsWith('#'))
        return;
    if (command == "list") {
        listHeld();
        return;
    }
    if (command == "release" || command == "drop") {
        const bool release = command == "release";
        const QByteArray what = takeWord(rest);
        if (what == "all") {
            const int count = release ? m_relay->releaseAll() : m_relay->dropAll();
            writeLine(stdout, command + "d " + QByteArray::number(count));
            return;
        }
        bool ok = false;
        const quint64 id = what.toULongLong(&ok);
        if (!ok)
            return commandError(QStringLiteral("%1 expects ID or all").arg(QLatin1String(command)));
        bool done = false;
        if (!release) {
            done = m_relay->drop(id);
        } else if (rest.isEmpty()) {
            done = m_relay->release(id);
        } else {
            // A new payload keeps the held message's type: text stays text.
            const QList<HeldMessage> held = m_relay->heldMessages();
            const auto it = std::find_if(held.cbegin(), held.cend(),
                                         [id](const HeldMessage &m) { return m.id == id; });
            done = it != held.cend() && m_relay->release(id, it->opcode, rest);
        }
        if (!done)
            return commandError(QStringLiteral("no message #%1 is waiting").arg(id));
        writeLine(stdout, command + (release ? "d #" : "ped #") + QByteArray::number(id));
        return;
    }
    if (command == "pair") {
        bool ok = false;
        const quint64 pair = takeWord(rest).toULongLong(&ok);
        if (!ok || !m_openPairs.contains(pair))
            return commandError(QStringLiteral("pair expects the number of an open pair"));
        m_chosenPair = pair;
        return;
    }
    const quint64 pair = commandPair();
    if (command == "cut") {
        const QByteArray legWord = takeWord(rest);
        if (legWord != "client" && legWord != "server")
            return commandError(QStringLiteral("cut expects client|server [CODE|rst]"));
        RelayCut how;
        if (rest == "rst") {
            how.style = RelayCut::Style::Reset;
        } else if (!rest.isEmpty()) {
            bool ok = false;
            how.code = rest.toUShort(&ok);
            if (!ok || !isValidOnWire(how.code))
                return commandError(QStringLiteral("cut: %1 is not a close code a frame may "
                                                   "carry (RFC 6455 §7.4)")
                                        .arg(QString::fromUtf8(rest)));
        }
        if (!m_relay->cut(pair, legWord == "client" ? RelayLegKind::Client : RelayLegKind::Server,
                          how))
            return commandError(QStringLiteral("cut: no open pair"));
        return;
    }
    if (command == "faults")
        return pairFaultsCommand(pair, rest);
    if (command != "inject" && command != "ping" && command != "close")
        return commandError(QStringLiteral("unknown command %1 (list, release, drop, inject, "
                                           "ping, close, cut, pair, faults)")
                                .arg(QString::fromUtf8(command)));
    const std::optional<RelayLegKind> to = directionWord(takeWord(rest));
    if (!to)
        return commandError(QStringLiteral("%1 expects up or down").arg(QLatin1String(command)));
    bool sent = false;
    if (command == "inject") {
        sent = m_relay->inject(pair, *to, Opcode::Text, rest);
    } else if (command == "ping") {
        sent = m_relay->inject(pair, *to, Opcode::Ping, rest);
    } else {
        bool ok = false;
        const quint16 code = takeWord(rest).toUShort(&ok);
        if (!ok || !isValidOnWire(code))
            return commandError(QStringLiteral("close expects a close code a frame may carry "
                                               "(RFC 6455 §7.4)"));
        sent = m_relay->injectClose(pair, *to, code, QString::fromUtf8(rest));
    }
    if (!sent)
        commandError(QStringLiteral("%1: no open pair to send on").arg(QLatin1String(command)));
}

void RelayCommand::pairFaultsCommand(quint64 pair, const QByteArray &rest) {
    if (pair == 0)
        return commandError(QStringLiteral("faults: no open pair"));
    if (rest == "relay") {
        m_relay->setPairFaults(pair, std::nullopt);
    } else if (!rest.isEmpty()) {
        RelayFaults faults;
        if (rest != "none") {
            if (const std::optional<QString> error = parseFaultWords(rest, &faults))
                return commandError(*error);
        }
        if (!m_relay->setPairFaults(pair, faults))
            return commandError(QStringLiteral("faults: pair %1 is not open").arg(pair));
    }
    const std::optional<RelayFaults> own = m_relay->pairFaults(pair);
    writeLine(stdout, "pair " + QByteArray::number(pair) + " faults: " +
                          (own ? own->describe() : m_relay->faults().describe()).toUtf8() +
                          (own ? " (its own)" : " (the relay's)"));
}

} // namespace ws

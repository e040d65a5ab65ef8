#include "probecommand.h"

#include "commandline.h"
#include "output.h"
#include "signalwatcher.h"

#include "probe/catalogue.h"
#include "probe/fuzzingserver.h"

#include "net/tlscertificate.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTimer>

namespace ws {

namespace {

QString exitStatusHelp() {
    return QStringLiteral("Exit status:\n"
                          "  0  no case failed\n"
                          "  1  usage error (a spec file that cannot be read included)\n"
                          "  2  a server could not be reached at all\n"
                          "  3  at least one case failed: its behaviour is FAILED, or its close\n"
                          "     FAILED, WRONG CODE or UNCLEAN\n"
                          "  4  a report could not be written");
}

// "1.*,6.4.*" and repeated options, as one list of patterns.
QStringList patterns(const QStringList &values) {
    QStringList out;
    for (const QString &value : values) {
        for (const QString &part : value.split(u',', Qt::SkipEmptyParts))
            out.append(part.trimmed());
    }
    return out;
}

// A fuzzingclient spec's per-server `options` are the Autobahn client's protocol
// options (WebSocketClientFactory.setProtocolOptions). Those that mean something for
// the probe change `options`; those that shape how Autobahn's own client frames and
// checks traffic have no counterpart, because every case here writes its frames byte
// for byte, and are reported in `warnings`, as are unknown ones. An empty return is
// success; otherwise it says why the option cannot be honoured (a usage error).
QString applySpecOptions(const QJsonObject &specOptions, probe::RunOptions *options,
                         QStringList *warnings) {
    auto seconds = [](const QJsonValue &value, int *ms) {
        const double s = value.toDouble(-1);
        if (!value.isDouble() || s <= 0 || s > 3600)
            return false;
        *ms = std::max(1, int(s * 1000));
        return true;
    };
    static const QStringList scripted = {
        QStringLiteral("utf8validateIncoming"),
        QStringLiteral("acceptMaskedServerFrames"),
        QStringLiteral("maskClientFrames"),
        QStringLiteral("applyMask"),
        QStringLiteral("maxFramePayloadSize"),
        QStringLiteral("maxMessagePayloadSize"),
        QStringLiteral("autoFragmentSize"),
        QStringLiteral("failByDrop"),
        QStringLiteral("echoCloseCodeReason"),
        QStringLiteral("perMessageCompressionOffers"),
        QStringLiteral("perMessageCompressionAccept"),
        QStringLiteral("autoPingInterval"),
        QStringLiteral("autoPingTimeout"),
        QStringLiteral("autoPingSize"),
        QStringLiteral("useragent"),
        QStringLiteral("origin"),
        QStringLiteral("protocols"),
        QStringLiteral("headers"),
        QStringLiteral("closeHandshakeTimeout"),
    };
    for (auto it = specOptions.begin(); it != specOptions.end(); ++it) {
        const QString &name = it.key();
        const QJsonValue value = it.value();
        if (name == u"version") {
            // Autobahn's draft numbers: 13 to 18 speak RFC 6455 (version 13 on the
            // wire); 10 to 12 speak version 8 (hybi-10), which the probe does not.
            const int version = value.toInt(-1);
            if (version < 13 || version > 18)
                return QStringLiteral("option version %1: the probe speaks RFC 6455 (Autobahn's "
                                      "versions 13 to 18) only")
                    .arg(value.isDouble() ? QString::number(value.toDouble())
                                          : value.toVariant().toString());
        } else if (name == u"openHandshakeTimeout") {
            if (!seconds(value, &options->connectTimeoutMs))
                return QStringLiteral("option openHandshakeTimeout expects seconds (0 to 3600]");
        } else if (name == u"serverConnectionDropTimeout") {
            // The time the server has to close TCP after the close handshake.
            if (!seconds(value, &options->closeTimeoutMs))
                return QStringLiteral(
                    "option serverConnectionDropTimeout expects seconds (0 to 3600]");
        } else if (name == u"tcpNoDelay") {
            if (!value.toBool(true))
                warnings->append(QStringLiteral("option tcpNoDelay false is not used: the probe "
                                                "always sends with TCP_NODELAY, so that each "
                                                "chop goes out as written"));
        } else if (name == u"ca") {
            const QString path = value.toString();
            if (const QString error = caFileError(path); !error.isEmpty())
                return QStringLiteral("option ca: %1").arg(error);
            options->caCertificatesFile = path;
        } else if (name == u"acceptFingerprint") {
            options->acceptedFingerprint = parseFingerprint(value.toString());
            if (options->acceptedFingerprint.isEmpty())
                return QStringLiteral("option acceptFingerprint expects a SHA-256 fingerprint");
        } else if (scripted.contains(name)) {
            warnings->append(QStringLiteral("option %1 is not used: the cases write their frames, "
                                            "handshakes and timeouts as scripted")
                                 .arg(name));
        } else {
            warnings->append(QStringLiteral("unknown option %1 is not used").arg(name));
        }
    }
    return {};
}

QStringList jsonStrings(const QJsonValue &value) {
    QStringList out;
    for (const QJsonValue &item : value.toArray())
        out.append(item.toString());
    return out;
}

} // namespace

ProbeCommand::ProbeCommand(QList<Target> targets, QString reportDirectory, bool quiet)
    : m_targets(std::move(targets))
    , m_reportDirectory(std::move(reportDirectory))
    , m_quiet(quiet) {}

int ProbeCommand::run(const QStringList &arguments) {
    CommandLine commandLine(
        "probe",
        QStringLiteral("Run the conformance catalogue against a WebSocket server (an echo "
                       "endpoint): Autobahn|Testsuite's cases 1-10, 12 and 13 with the same ids "
                       "and verdicts, plus opening-handshake (H.*), timing (T.*) and "
                       "permessage-deflate (D.*) cases of our own. Progress goes to stderr, the "
                       "verdict counts to stdout.\n\n") +
            exitStatusHelp(),
        UsageError);
    commandLine.addPositionalArgument(
        QStringLiteral("url"),
        QStringLiteral("ws://host:port/path or wss://... of the server (not with --spec)"));
    const auto cases =
        makeOption("cases",
                   "Case ids to run, comma-separated patterns like 1.*,6.4.* (repeatable; default "
                   "all).",
                   "patterns");
    const auto exclude = makeOption(
        "exclude", "Case ids to leave out, patterns as for --cases (repeatable).", "patterns");
    const auto agent = makeOption(
        "agent", "Name of the server under test in the reports (default: server).", "name");
    const auto spec =
        makeOption("spec",
                   "An Autobahn fuzzingclient spec (JSON: outdir, servers [{agent, url, options}], "
                   "cases, exclude-cases, exclude-agent-cases). Of a server's options, version "
                   "(13 to 18), openHandshakeTimeout, serverConnectionDropTimeout, tcpNoDelay, "
                   "and for wss ca and acceptFingerprint are used; others are reported and "
                   "ignored. --cases and --exclude narrow it further; --report replaces its "
                   "outdir.",
                   "file");
    const auto report =
        makeOption("report",
                   "Write index.json (Autobahn's format), one JSON report per case (and its frames "
                   "as a .jsonl log), index.html and junit.xml into this directory.",
                   "dir");
    const auto list = makeOption("list", "Print the selected cases (id and description) and exit.");
    const auto caseTimeout = makeOption(
        "case-timeout", "Bound of each case whose script sets none (default 10000).", "ms");
    const auto closeTimeout =
        makeOption("close-timeout",
                   "How long the server has to close TCP after the close handshake "
                   "before we drop it (default 1000).",
                   "ms");
    const auto waitScale =
        makeOption("wait-scale",
                   "Multiply the scripts' waits (Autobahn waits 1 s in 5.19, 5.20 and 6.4.*) by "
                   "this (default 0.1; 1 waits as long as Autobahn).",
                   "factor");
    const auto ca = caOption();
    const auto acceptFingerprint = acceptFingerprintOption();
    const auto quiet = makeOption("q,quiet", "No progress on stderr.");
    commandLine.addOptions({cases, exclude, agent, spec, report, list, caseTimeout, closeTimeout,
                            waitScale, ca, acceptFingerprint, quiet});
    if (const std::optional<int> status = commandLine.parse(arguments))
        return *status;

    probe::RunOptions options;
    if (!commandLine.readInteger(caseTimeout, 1, 3'600'000, &options.caseTimeoutMs))
        return commandLine.usageError(
            QStringLiteral("--case-timeout expects a number from 1 to 3600000"));
    if (!commandLine.readInteger(closeTimeout, 1, 600'000, &options.closeTimeoutMs))
        return commandLine.usageError(
            QStringLiteral("--close-timeout expects a number from 1 to 600000"));
    options.waitScale = 0.1;
    if (commandLine.isSet(waitScale)) {
        bool ok = false;
        options.waitScale = commandLine.value(waitScale).toDouble(&ok);
        if (!ok || options.waitScale <= 0 || options.waitScale > 100)
            return commandLine.usageError(
                QStringLiteral("--wait-scale expects a number above 0 and at most 100"));
    }

    if (const std::optional<QString> error = commandLine.readTrust(
            ca, acceptFingerprint, &options.caCertificatesFile, &options.acceptedFingerprint))
        return commandLine.usageError(*error);

    QStringList include = patterns(commandLine.values(cases));
    QStringList excluded = patterns(commandLine.values(exclude));
    QString reportDirectory = commandLine.value(report);
    struct Server {
        QString agent;
        QString url;
        QStringList excluded;      // exclude-agent-cases
        probe::RunOptions options; // with the spec's options for this server
    };
    QList<Server> servers;
    if (commandLine.isSet(spec)) {
        if (!commandLine.positionalArguments().isEmpty())
            return commandLine.usageError(QStringLiteral("give the servers in the spec or as a "
                                                         "URL, not both"));
        QFile file(commandLine.value(spec));
        if (!file.open(QIODevice::ReadOnly))
            return commandLine.usageError(QStringLiteral("cannot read the spec %1: %2")
                                              .arg(file.fileName(), file.errorString()));
        QJsonParseError parseError;
        const QJsonDocument document = QJsonDocument::fromJson(file.readAll(), &parseError);
        if (!document.isObject())
            return commandLine.usageError(QStringLiteral("the spec %1 is not a JSON object: %2")
                                              .arg(file.fileName(), parseError.errorString()));
        const QJsonObject object = document.object();
        if (reportDirectory.isEmpty() && object.contains(QStringLiteral("outdir"))) {
            reportDirectory = object.value(QStringLiteral("outdir")).toString();
            if (QDir::isRelativePath(reportDirectory))
                reportDirectory = QFileInfo(file.fileName()).dir().filePath(reportDirectory);
        }
        if (include.isEmpty())
            include = jsonStrings(object.value(QStringLiteral("cases")));
        excluded += jsonStrings(object.value(QStringLiteral("exclude-cases")));
        const QJsonObject perAgent = object.value(QStringLiteral("exclude-agent-cases")).toObject();
        for (const QJsonValue &server : object.value(QStringLiteral("servers")).toArray()) {
            const QJsonObject s = server.toObject();
            const QString name = s.value(QStringLiteral("agent")).toString();
            const QString url = s.value(QStringLiteral("url")).toString();
            if (name.isEmpty() || url.isEmpty())
                return commandLine.usageError(
                    QStringLiteral("every server of the spec needs an agent and a url"));
            probe::RunOptions serverOptions = options;
            QStringList warnings;
            const QString error = applySpecOptions(s.value(QStringLiteral("options")).toObject(),
                                                   &serverOptions, &warnings);
            if (!error.isEmpty())
                return commandLine.usageError(QStringLiteral("server %1: %2").arg(name, error));
            for (const QString &warning : std::as_const(warnings))
                writeLine(stderr,
                          QStringLiteral("wsw probe: server %1: %2").arg(name, warning).toUtf8());
            servers.append({name, url, jsonStrings(perAgent.value(name)), serverOptions});
        }
        if (servers.isEmpty())
            return commandLine.usageError(QStringLiteral("the spec names no servers"));
    } else if (commandLine.isSet(list) && commandLine.positionalArguments().isEmpty()) {
        servers.append({QStringLiteral("server"), QStringLiteral("ws://127.0.0.1/"), {}, options});
    } else {
        if (commandLine.positionalArguments().size() != 1)
            return commandLine.usageError(
                QStringLiteral("expects exactly one URL (or --spec), e.g. wsw probe "
                               "ws://127.0.0.1:9001/"));
        servers.append(
            {commandLine.isSet(agent) ? commandLine.value(agent) : QStringLiteral("server"),
             commandLine.positionalArguments().constFirst(),
             {},
             options});
    }

    const QList<probe::ProbeCase> catalogue = probe::serverCatalogue();
    QList<Target> targets;
    for (const Server &server : servers) {
        QString error;
        const std::optional<WebSocketUrl> parsed =
            parseWebSocketUrl(QUrl(server.url, QUrl::StrictMode), &error);
        if (!parsed)
            return commandLine.usageError(error);
        if (!parsed->unixSocketPath.isEmpty())
            return commandLine.usageError(
                QStringLiteral("probes ws:// and wss:// servers over TCP; %1 is neither")
                    .arg(server.url));
        Target target;
        target.agent = server.agent;
        target.url = server.url;
        target.options = server.options;
        target.options.target = *parsed;
        target.cases = probe::selectCases(catalogue, include, excluded + server.excluded);
        if (target.cases.isEmpty())
            return commandLine.usageError(QStringLiteral("no case matches the selection"));
        targets.append(target);
    }

    if (commandLine.isSet(list)) {
        for (const probe::ProbeCase &c : targets.constFirst().cases)
            writeLine(stdout, (c.id + u'\t' + c.description).toUtf8());
        return AllPassed;
    }
    ProbeCommand command(targets, reportDirectory, commandLine.isSet(quiet));
    return command.exec();
}

int ProbeCommand::serveProbe(const QHostAddress &address, quint16 port,
                             const QString &reportDirectory, bool quiet) {
    probe::RunOptions options;
    options.waitScale = 0.1; // as wsw probe's default: Autobahn's 1 s waits are 100 ms
    probe::FuzzingServer server(options, reportDirectory);
    if (!server.listen(address, port)) {
        writeLine(stderr, "wsw serve: " + server.errorString().toUtf8());
        return 2;
    }
    const QString host = address.protocol() == QAbstractSocket::IPv6Protocol
                             ? QStringLiteral("[%1]").arg(address.toString())
                             : address.toString();
    writeLine(stdout,
              QStringLiteral("listening on ws://%1:%2/").arg(host).arg(server.port()).toUtf8());
    if (!quiet) {
        writeLine(stderr,
                  QStringLiteral("probe mode: %1 cases; /getCaseCount, /getCaseInfo?case=N, "
                                 "/runCase?case=N&agent=A, /getCaseStatus?case=N&agent=A, "
                                 "/updateReports?agent=A")
                      .arg(server.caseCount())
                      .toUtf8());
        QObject::connect(&server, &probe::FuzzingServer::caseFinished,
                         [](const QString &agent, const probe::CaseResult &result) {
                             writeLine(stderr, QStringLiteral("%1 %2 %3 / %4 (%5 ms)")
                                                   .arg(agent, result.id,
                                                        probe::verdictName(result.behavior),
                                                        probe::verdictName(result.behaviorClose))
                                                   .arg(result.durationMs)
                                                   .toUtf8());
                         });
        QObject::connect(&server, &probe::FuzzingServer::reportsWritten, [](const QString &dir) {
            writeLine(stderr, QStringLiteral("reports in %1").arg(dir).toUtf8());
        });
    }
    QObject::connect(&server, &probe::FuzzingServer::reportError, [](const QString &message) {
        writeLine(stderr, ("wsw serve: " + message).toUtf8());
    });
    SignalWatcher watcher;
    QObject::connect(&watcher, &SignalWatcher::signalReceived, [] { QCoreApplication::exit(0); });
    return QCoreApplication::exec();
}

int ProbeCommand::exec() {
    SignalWatcher watcher;
    connect(&watcher, &SignalWatcher::signalReceived, this, [this] {
        if (m_runner)
            m_runner->stop();
        m_targets.erase(m_targets.begin() + m_current + 1, m_targets.end());
    });
    QTimer::singleShot(0, this, &ProbeCommand::startTarget);
    QCoreApplication::exec();

    bool anyFailed = false;
    for (const probe::AgentResults &agent : m_done) {
        QStringList failed;
        for (const probe::CaseResult &r : agent.results) {
            if (r.isFailure())
                failed.append(r.id);
        }
        anyFailed = anyFailed || !failed.isEmpty();
        auto counts = [](const QList<probe::CaseResult> &results, bool close) {
            QMap<probe::Verdict, int> n;
            for (const probe::CaseResult &r : results)
                ++n[close ? r.behaviorClose : r.behavior];
            QStringList parts;
            for (probe::Verdict v : probe::allVerdicts()) {
                if (n.value(v) > 0)
                    parts.append(
                        QStringLiteral("%1 %2").arg(probe::verdictName(v)).arg(n.value(v)));
            }
            return parts.join(QStringLiteral(", "));
        };
        writeLine(stdout, QStringLiteral("%1 (%2): %3 cases in %4 ms")
                              .arg(agent.agent, agent.target)
                              .arg(agent.results.size())
                              .arg(agent.elapsedMs)
                              .toUtf8());
        writeLine(stdout,
                  QStringLiteral("  behavior: %1").arg(counts(agent.results, false)).toUtf8());
        writeLine(stdout,
                  QStringLiteral("  close:    %1").arg(counts(agent.results, true)).toUtf8());
        if (!failed.isEmpty())
            writeLine(stdout, QStringLiteral("  FAILED:   %1").arg(failed.join(u' ')).toUtf8());
    }
    if (!m_reportDirectory.isEmpty() && !m_done.isEmpty()) {
        QString error;
        const QDir dir(m_reportDirectory);
        if (!writeIndexJson(dir.filePath(QStringLiteral("index.json")), m_done, &error) ||
            !writeHtmlReport(dir.filePath(QStringLiteral("index.html")), m_done, &error) ||
            !writeJUnitReport(dir.filePath(QStringLiteral("junit.xml")), m_done, &error)) {
            writeLine(stderr, ("wsw probe: " + error).toUtf8());
            m_reportFailed = true;
        } else if (!m_quiet) {
            writeLine(stderr, QStringLiteral("reports in %1").arg(m_reportDirectory).toUtf8());
        }
    }
    if (m_reportFailed)
        return ReportFailed;
    if (anyFailed)
        return CasesFailed;
    if (m_connectFailed)
        return ConnectFailed;
    return AllPassed;
}

void ProbeCommand::startTarget() {
    ++m_current;
    if (m_current >= m_targets.size()) {
        QCoreApplication::exit(0);
        return;
    }
    const Target &target = m_targets.at(m_current);
    m_done.append({target.agent, target.url, {}, 0});
    m_runner = new probe::ProbeRunner(target.cases, target.options, this);
    connect(m_runner, &probe::ProbeRunner::caseFinished, this, &ProbeCommand::onCaseFinished);
    connect(m_runner, &probe::ProbeRunner::finished, this, &ProbeCommand::onTargetFinished);
    m_runner->start();
}

void ProbeCommand::onCaseFinished(qsizetype index, const probe::CaseResult &result) {
    const Target &target = m_targets.at(m_current);
    if (!m_quiet) {
        writeLine(stderr,
                  QStringLiteral("[%1/%2] %3 %4 / %5 (%6 ms)%7")
                      .arg(index + 1)
                      .arg(target.cases.size())
                      .arg(result.id, probe::verdictName(result.behavior),
                           probe::verdictName(result.behaviorClose))
                      .arg(result.durationMs)
                      .arg(result.isFailure() ? QStringLiteral(": ") + result.result +
                                                    QStringLiteral(" / ") + result.resultClose
                                              : QString())
                      .toUtf8());
    }
    if (!m_reportDirectory.isEmpty()) {
        QString error;
        if (!probe::writeCaseReport(m_reportDirectory, target.agent, result, &error) &&
            !m_reportFailed) {
            m_reportFailed = true;
            writeLine(stderr, ("wsw probe: " + error).toUtf8());
        }
    }
    // Nothing answers at all: the remaining cases would only repeat it.
    if (index == 0 && !result.wasOpen && !result.failure.isEmpty() &&
        result.failure.startsWith(QStringLiteral("Could not connect"))) {
        writeLine(stderr, ("wsw probe: " + result.failure).toUtf8());
        m_connectFailed = true;
        m_runner->stop();
    }
}

void ProbeCommand::onTargetFinished() {
    probe::AgentResults &done = m_done.last();
    done.results = m_runner->results();
    done.elapsedMs = m_runner->elapsedMs();
    if (m_connectFailed)
        done.results.clear();
    m_runner->deleteLater();
    m_runner = nullptr;
    QTimer::singleShot(0, this, &ProbeCommand::startTarget);
}

} // namespace ws

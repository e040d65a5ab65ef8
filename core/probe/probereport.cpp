#include "probe/probereport.h"

#include "log/jsonlinesfile.h"
#include "net/eventclock.h"
#include "probe/catalogue.h"
#include "wswversion.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>

#include <algorithm>

namespace ws::probe {

namespace {

bool writeFile(const QString &path, const QByteArray &bytes, QString *error) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit()) {
        if (error)
            *error = QStringLiteral("Could not write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

QJsonValue closeCodeJson(const std::optional<quint16> &code) {
    return code ? QJsonValue(int(*code)) : QJsonValue(QJsonValue::Null);
}

// A payload as the reports show it: text when it is printable UTF-8, else hex, cut to
// `limit` bytes (with the whole size and SHA-1 when cut).
QJsonValue payloadJson(const QByteArray &payload, int limit) {
    if (payload.size() > limit) {
        return QStringLiteral("<%1 bytes, sha1 %2>")
            .arg(payload.size())
            .arg(QString::fromLatin1(
                QCryptographicHash::hash(payload, QCryptographicHash::Sha1).toHex()));
    }
    return QString::fromUtf8(payload);
}

QJsonArray observationsJson(const QList<Observation> &observations, int limit) {
    QJsonArray array;
    for (const Observation &o : observations) {
        switch (o.kind) {
        case Observation::Kind::Message:
            array.append(
                QJsonArray{QStringLiteral("message"), payloadJson(o.payload, limit), o.binary});
            break;
        case Observation::Kind::Ping:
            array.append(QJsonArray{QStringLiteral("ping"), payloadJson(o.payload, limit)});
            break;
        case Observation::Kind::Pong:
            array.append(QJsonArray{QStringLiteral("pong"), payloadJson(o.payload, limit)});
            break;
        case Observation::Kind::Timeout:
            array.append(QJsonArray{QStringLiteral("timeout"), QString::fromLatin1(o.payload)});
            break;
        }
    }
    return array;
}

QJsonObject statsJson(const FrameStats &stats) {
    QJsonObject object;
    for (auto it = stats.begin(); it != stats.end(); ++it)
        object.insert(QString::number(it.key()), it.value());
    return object;
}

QJsonArray framesJson(const CaseResult &result, int limit) {
    QJsonArray frames;
    if (!result.log)
        return frames;
    const log::LogStore &store = *result.log;
    const qint64 originUs = EventClock::toEpochUs(result.startedUs);
    for (qsizetype i = 0; i < store.size(); ++i) {
        const log::LogRecord &record = store.at(i);
        QJsonObject row;
        row.insert(QStringLiteral("timeMs"), double(record.timestampUs - originUs) / 1000.0);
        row.insert(QStringLiteral("direction"),
                   record.has(log::LogRecord::Undirected)
                       ? QStringLiteral("-")
                       : (record.direction() == Direction::Outgoing ? QStringLiteral("tx")
                                                                    : QStringLiteral("rx")));
        row.insert(QStringLiteral("kind"), QString::fromLatin1(log::logKindName(record.kind)));
        if (record.isFrame()) {
            const FrameHeader header = record.header();
            row.insert(QStringLiteral("opcode"), int(header.opcode));
            row.insert(QStringLiteral("fin"), header.fin);
            row.insert(QStringLiteral("rsv"), int(header.rsvBits()));
            row.insert(QStringLiteral("masked"), header.maskingKey.has_value());
            row.insert(QStringLiteral("length"), qint64(record.length));
        }
        if (record.has(log::LogRecord::HasCloseCode))
            row.insert(QStringLiteral("closeCode"), int(record.closeCode));
        row.insert(QStringLiteral("summary"),
                   log::recordPreview(record, store.extraOf(record, i), 160));
        if (record.isFrame() && record.kind != log::LogKind::Close)
            row.insert(QStringLiteral("payloadHex"),
                       QString::fromLatin1(record.payload.left(limit).toHex()));
        frames.append(row);
    }
    return frames;
}

QString htmlEscape(const QString &text) {
    return text.toHtmlEscaped();
}

QString verdictClass(const QString &verdict) {
    QString name = verdict.toLower();
    name.replace(u' ', u'-');
    return QStringLiteral("v-") + name;
}

} // namespace

QString frameSummary(const CaseResult &result, int maxLines) {
    const QJsonArray frames = framesJson(result, 0);
    QString lines;
    int count = 0;
    for (const QJsonValue &value : frames) {
        if (++count > maxLines) {
            lines += QStringLiteral("... %1 more\n").arg(frames.size() - maxLines);
            break;
        }
        const QJsonObject f = value.toObject();
        lines += QStringLiteral("%1 ms  %2  %3\n")
                     .arg(f.value(QStringLiteral("timeMs")).toDouble(), 9, 'f', 3)
                     .arg(f.value(QStringLiteral("direction")).toString(),
                          f.value(QStringLiteral("summary")).toString());
    }
    return lines;
}

QString caseReportFileName(const QString &agent, const QString &caseId) {
    QString clean;
    for (QChar c : agent.trimmed().toLower())
        clean += (c.isLetterOrNumber() && c.unicode() < 128) ? c : u' ';
    clean = clean.simplified().replace(u' ', u'_');
    QString id = caseId;
    return QStringLiteral("%1_case_%2.json").arg(clean, id.replace(u'.', u'_').toLower());
}

QJsonObject caseReportJson(const QString &agent, const CaseResult &r, int payloadBytes) {
    QJsonObject o;
    o.insert(QStringLiteral("agent"), agent);
    o.insert(QStringLiteral("id"), r.id);
    o.insert(QStringLiteral("description"), r.description);
    o.insert(QStringLiteral("expectation"), r.expectation);
    o.insert(QStringLiteral("rfc"), r.rfc);
    o.insert(QStringLiteral("behavior"), verdictName(r.behavior));
    o.insert(QStringLiteral("behaviorClose"), verdictName(r.behaviorClose));
    o.insert(QStringLiteral("result"), r.result);
    o.insert(QStringLiteral("resultClose"), r.resultClose);
    o.insert(QStringLiteral("isServer"), r.isServer);
    o.insert(QStringLiteral("started"),
             QDateTime::fromMSecsSinceEpoch(EventClock::toEpochUs(r.startedUs) / 1000, Qt::UTC)
                 .toString(Qt::ISODateWithMs));
    o.insert(QStringLiteral("duration"), r.durationMs);
    o.insert(QStringLiteral("closedByMe"), r.closedByMe);
    o.insert(QStringLiteral("droppedByMe"), r.droppedByMe);
    o.insert(QStringLiteral("failedByMe"), r.droppedByMe && !r.wasClean);
    o.insert(QStringLiteral("wasClean"), r.wasClean);
    o.insert(QStringLiteral("wasOpen"), r.wasOpen);
    o.insert(QStringLiteral("remoteCloseCode"), closeCodeJson(r.remoteCloseCode));
    o.insert(QStringLiteral("remoteCloseReason"),
             r.remoteCloseCode ? QJsonValue(r.remoteCloseReason) : QJsonValue(QJsonValue::Null));
    o.insert(QStringLiteral("localCloseCode"), closeCodeJson(r.localCloseCode));
    o.insert(QStringLiteral("localCloseReason"),
             r.localCloseCode ? QJsonValue(r.localCloseReason) : QJsonValue(QJsonValue::Null));
    o.insert(QStringLiteral("tcpCloseAfterHandshakeMs"),
             r.tcpCloseAfterHandshakeMs >= 0 ? QJsonValue(r.tcpCloseAfterHandshakeMs)
                                             : QJsonValue(QJsonValue::Null));
    QJsonObject expected;
    for (const auto &[verdict, observations] : r.expected)
        expected.insert(verdictName(verdict), observationsJson(observations, payloadBytes));
    o.insert(QStringLiteral("expected"), expected);
    QJsonArray codes;
    for (quint16 code : r.expectedClose.codes)
        codes.append(int(code));
    o.insert(QStringLiteral("expectedClose"),
             QJsonObject{{QStringLiteral("closedByMe"), r.expectedClose.closedByMe},
                         {QStringLiteral("closeCode"), codes},
                         {QStringLiteral("requireClean"), r.expectedClose.requireClean}});
    o.insert(QStringLiteral("received"), observationsJson(r.received, payloadBytes));
    o.insert(QStringLiteral("txFrameStats"), statsJson(r.txFrameStats));
    o.insert(QStringLiteral("rxFrameStats"), statsJson(r.rxFrameStats));
    o.insert(QStringLiteral("txOctets"), r.txOctets);
    o.insert(QStringLiteral("rxOctets"), r.rxOctets);
    o.insert(QStringLiteral("httpRequest"), QString::fromLatin1(r.httpRequest));
    o.insert(QStringLiteral("httpResponse"), QString::fromLatin1(r.httpResponse));
    if (!r.failure.isEmpty())
        o.insert(QStringLiteral("failure"), r.failure);
    o.insert(QStringLiteral("frames"), framesJson(r, payloadBytes));
    return o;
}

bool writeCaseReport(const QString &directory, const QString &agent, const CaseResult &result,
                     QString *error) {
    if (!QDir().mkpath(directory)) {
        if (error)
            *error = QStringLiteral("Could not create the directory %1").arg(directory);
        return false;
    }
    const QString path = QDir(directory).filePath(caseReportFileName(agent, result.id));
    if (!writeFile(path,
                   QJsonDocument(caseReportJson(agent, result)).toJson(QJsonDocument::Indented),
                   error))
        return false;
    if (!result.log)
        return true;
    QString logPath = path;
    logPath.replace(logPath.size() - 5, 5, QStringLiteral(".jsonl"));
    return log::JsonLinesFile::save(*result.log, logPath, error);
}

bool writeIndexJson(const QString &path, const QList<AgentResults> &agents, QString *error) {
    QJsonObject index;
    for (const AgentResults &agent : agents) {
        QJsonObject cases;
        for (const CaseResult &r : agent.results) {
            cases.insert(
                r.id,
                QJsonObject{{QStringLiteral("behavior"), verdictName(r.behavior)},
                            {QStringLiteral("behaviorClose"), verdictName(r.behaviorClose)},
                            {QStringLiteral("duration"), r.durationMs},
                            {QStringLiteral("remoteCloseCode"), closeCodeJson(r.remoteCloseCode)},
                            {QStringLiteral("reportfile"), caseReportFileName(agent.agent, r.id)}});
        }
        index.insert(agent.agent, cases);
    }
    return writeFile(path, QJsonDocument(index).toJson(QJsonDocument::Indented), error);
}

namespace {

std::optional<quint16> closeCodeFromJson(const QJsonValue &value) {
    if (!value.isDouble())
        return std::nullopt;
    return quint16(value.toInt());
}

// The fields of a per-case report that a result shown again needs.
void readCaseReport(const QString &path, CaseResult &r) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return;
    const QJsonObject o = QJsonDocument::fromJson(file.readAll()).object();
    r.description = o.value(QStringLiteral("description")).toString();
    r.expectation = o.value(QStringLiteral("expectation")).toString();
    r.rfc = o.value(QStringLiteral("rfc")).toString();
    r.result = o.value(QStringLiteral("result")).toString(r.result);
    r.resultClose = o.value(QStringLiteral("resultClose")).toString(r.resultClose);
    r.isServer = o.value(QStringLiteral("isServer")).toBool();
    r.wasOpen = o.value(QStringLiteral("wasOpen")).toBool();
    r.wasClean = o.value(QStringLiteral("wasClean")).toBool();
    r.closedByMe = o.value(QStringLiteral("closedByMe")).toBool();
    r.droppedByMe = o.value(QStringLiteral("droppedByMe")).toBool();
    r.remoteCloseReason = o.value(QStringLiteral("remoteCloseReason")).toString();
    r.localCloseCode = closeCodeFromJson(o.value(QStringLiteral("localCloseCode")));
    r.localCloseReason = o.value(QStringLiteral("localCloseReason")).toString();
    r.failure = o.value(QStringLiteral("failure")).toString();
}

} // namespace

bool readReport(const QString &directory, QList<AgentResults> *agents, QString *error) {
    const QDir dir(directory);
    QFile index(dir.filePath(QStringLiteral("index.json")));
    const auto fail = [error](const QString &why) {
        if (error)
            *error = why;
        return false;
    };
    if (!index.open(QIODevice::ReadOnly))
        return fail(
            QStringLiteral("Could not read %1: %2").arg(index.fileName(), index.errorString()));
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(index.readAll(), &parseError);
    if (!document.isObject())
        return fail(QStringLiteral("%1 is not a JSON object: %2")
                        .arg(index.fileName(), parseError.errorString()));
    QList<AgentResults> read;
    const QJsonObject object = document.object();
    for (auto agent = object.begin(); agent != object.end(); ++agent) {
        if (!agent.value().isObject())
            return fail(QStringLiteral("%1: agent %2 is not an object of cases")
                            .arg(index.fileName(), agent.key()));
        AgentResults results{agent.key(), {}, {}, 0};
        const QJsonObject cases = agent.value().toObject();
        QStringList ids = cases.keys();
        std::sort(ids.begin(), ids.end(), caseIdLess);
        for (const QString &id : ids) {
            const QJsonObject entry = cases.value(id).toObject();
            const std::optional<Verdict> behavior =
                verdictFromName(entry.value(QStringLiteral("behavior")).toString());
            const std::optional<Verdict> close =
                verdictFromName(entry.value(QStringLiteral("behaviorClose")).toString());
            if (!behavior || !close)
                return fail(QStringLiteral("%1: case %2 of %3 has no known verdicts")
                                .arg(index.fileName(), id, agent.key()));
            CaseResult r;
            r.id = id;
            r.behavior = *behavior;
            r.behaviorClose = *close;
            r.durationMs = entry.value(QStringLiteral("duration")).toInteger();
            r.remoteCloseCode = closeCodeFromJson(entry.value(QStringLiteral("remoteCloseCode")));
            const QString reportFile = entry.value(QStringLiteral("reportfile")).toString();
            if (!reportFile.isEmpty())
                readCaseReport(dir.filePath(reportFile), r);
            results.elapsedMs += r.durationMs;
            results.results.append(std::move(r));
        }
        read.append(std::move(results));
    }
    *agents = std::move(read);
    return true;
}

QMap<QString, int> countBehaviors(const QList<CaseResult> &results) {
    QMap<QString, int> counts;
    for (const CaseResult &r : results)
        ++counts[verdictName(r.behavior)];
    return counts;
}

bool writeHtmlReport(const QString &path, const QList<AgentResults> &agents, QString *error) {
    QString html;
    html += QStringLiteral(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<title>WebSocket conformance report</title>\n<style>\n"
        "body{font-family:sans-serif;margin:1.5em;color:#222}\n"
        "table{border-collapse:collapse;margin-bottom:2em}\n"
        "th,td{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}\n"
        "th{background:#eee}\n"
        "td.v-ok{background:#0a0;color:#fff}\n"
        "td.v-non-strict{background:#9c3;color:#fff}\n"
        "td.v-informational{background:#69c;color:#fff}\n"
        "td.v-unimplemented{background:#999;color:#fff}\n"
        "td.v-failed,td.v-wrong-code,td.v-unclean{background:#c00;color:#fff}\n"
        "td.v-failed-by-client{background:#e80;color:#fff}\n"
        "details pre{white-space:pre-wrap;font-size:90%;background:#f7f7f7;padding:4px}\n"
        ".summary span{margin-right:1em}\n"
        "#filter{margin-bottom:1em}\n"
        "</style></head><body>\n<h1>WebSocket conformance report</h1>\n");
    html += QStringLiteral("<p>Generated by wsw %1 (WebSocket Workbench) on %2.</p>\n")
                .arg(QStringLiteral(WSW_VERSION),
                     htmlEscape(QDateTime::currentDateTimeUtc().toString(Qt::ISODate)));
    html += QStringLiteral("<p id=\"filter\">Show: <select id=\"verdict\"><option value=\"\">all "
                           "verdicts</option>");
    for (Verdict v : allVerdicts())
        html += QStringLiteral("<option>%1</option>").arg(verdictName(v));
    html += QStringLiteral("</select></p>\n");
    for (const AgentResults &agent : agents) {
        html += QStringLiteral(
                    "<h2>%1</h2>\n<p>%2 &mdash; %3 cases in %4 ms</p>\n<p class=\"summary\">")
                    .arg(htmlEscape(agent.agent), htmlEscape(agent.target))
                    .arg(agent.results.size())
                    .arg(agent.elapsedMs);
        const QMap<QString, int> counts = countBehaviors(agent.results);
        for (auto it = counts.begin(); it != counts.end(); ++it)
            html += QStringLiteral("<span>%1: %2</span>").arg(htmlEscape(it.key())).arg(it.value());
        html += QStringLiteral("</p>\n<table><thead><tr><th>Case</th><th>Description</th>"
                               "<th>Behavior</th><th>Close</th><th>Duration</th>"
                               "<th>Remote close</th></tr></thead><tbody>\n");
        for (const CaseResult &r : agent.results) {
            const QString behavior = verdictName(r.behavior);
            const QString close = verdictName(r.behaviorClose);
            html += QStringLiteral("<tr data-verdict=\"%1\"><td>%2</td><td><details><summary>%3"
                                   "</summary><p><b>Expectation:</b> %4</p><p><b>Rule:</b> %5</p>"
                                   "<p><b>Result:</b> %6</p><p><b>Close:</b> %7</p>"
                                   "<p><b>Received:</b> %8</p><pre>%9</pre></details></td>")
                        .arg(htmlEscape(behavior), htmlEscape(r.id), htmlEscape(r.description),
                             htmlEscape(r.expectation), htmlEscape(r.rfc), htmlEscape(r.result),
                             htmlEscape(r.resultClose), htmlEscape([&r] {
                                 QStringList parts;
                                 for (const Observation &o : r.received)
                                     parts.append(describe(o));
                                 return parts.isEmpty() ? QStringLiteral("nothing")
                                                        : parts.join(QStringLiteral(", "));
                             }()),
                             htmlEscape(r.log ? frameSummary(r) : r.frameSummary));
            html += QStringLiteral("<td class=\"%1\">%2</td><td class=\"%3\">%4</td><td>%5 ms</td>"
                                   "<td>%6</td></tr>\n")
                        .arg(verdictClass(behavior), htmlEscape(behavior), verdictClass(close),
                             htmlEscape(close))
                        .arg(r.durationMs)
                        .arg(r.remoteCloseCode ? QString::number(*r.remoteCloseCode)
                                               : QStringLiteral("-"));
        }
        html += QStringLiteral("</tbody></table>\n");
    }
    html += QStringLiteral(
        "<script>\n"
        "document.getElementById('verdict').addEventListener('change', function (e) {\n"
        "  var v = e.target.value;\n"
        "  document.querySelectorAll('tr[data-verdict]').forEach(function (row) {\n"
        "    row.style.display = (!v || row.dataset.verdict === v) ? '' : 'none';\n"
        "  });\n"
        "});\n"
        "</script>\n</body></html>\n");
    return writeFile(path, html.toUtf8(), error);
}

bool writeJUnitReport(const QString &path, const QList<AgentResults> &agents, QString *error) {
    auto xml = [](const QString &text) {
        QString out = text.toHtmlEscaped();
        // Characters XML 1.0 cannot carry at all.
        for (QChar &c : out) {
            if (c.unicode() < 0x20 && c != u'\n' && c != u'\t' && c != u'\r')
                c = u'?';
        }
        return out;
    };
    int tests = 0, failures = 0;
    qint64 totalMs = 0;
    for (const AgentResults &agent : agents) {
        tests += int(agent.results.size());
        for (const CaseResult &r : agent.results) {
            failures += r.isFailure() ? 1 : 0;
            totalMs += r.durationMs;
        }
    }
    QString out = QStringLiteral("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                 "<testsuites name=\"wsw probe\" tests=\"%1\" failures=\"%2\" "
                                 "errors=\"0\" time=\"%3\">\n")
                      .arg(tests)
                      .arg(failures)
                      .arg(double(totalMs) / 1000.0, 0, 'f', 3);
    for (const AgentResults &agent : agents) {
        int agentFailures = 0;
        qint64 agentMs = 0;
        for (const CaseResult &r : agent.results) {
            agentFailures += r.isFailure() ? 1 : 0;
            agentMs += r.durationMs;
        }
        out += QStringLiteral("  <testsuite name=\"%1\" tests=\"%2\" failures=\"%3\" errors=\"0\" "
                              "skipped=\"0\" time=\"%4\">\n")
                   .arg(xml(agent.agent))
                   .arg(agent.results.size())
                   .arg(agentFailures)
                   .arg(double(agentMs) / 1000.0, 0, 'f', 3);
        for (const CaseResult &r : agent.results) {
            out += QStringLiteral("    <testcase classname=\"%1\" name=\"%2 %3\" time=\"%4\">\n")
                       .arg(xml(agent.agent), xml(r.id), xml(r.description.left(120)))
                       .arg(double(r.durationMs) / 1000.0, 0, 'f', 3);
            if (r.isFailure()) {
                out += QStringLiteral("      <failure message=\"behavior %1, close %2\" "
                                      "type=\"%3\">%4\n%5</failure>\n")
                           .arg(xml(verdictName(r.behavior)), xml(verdictName(r.behaviorClose)),
                                xml(verdictName(r.behavior)), xml(r.result), xml(r.resultClose));
            }
            out += QStringLiteral("      <system-out>behavior %1 (%2); close %3 (%4)</system-out>\n"
                                  "    </testcase>\n")
                       .arg(xml(verdictName(r.behavior)), xml(r.result),
                            xml(verdictName(r.behaviorClose)), xml(r.resultClose));
        }
        out += QStringLiteral("  </testsuite>\n");
    }
    out += QStringLiteral("</testsuites>\n");
    return writeFile(path, out.toUtf8(), error);
}

} // namespace ws::probe

#pragma once

#include "probe/probecase.h"

#include <QJsonObject>
#include <QList>
#include <QString>

namespace ws::probe {

// The results of one agent (one server under test, or one client of ours).
struct AgentResults {
    QString agent;
    QString target; // the URL probed
    QList<CaseResult> results;
    qint64 elapsedMs = 0;
};

// Autobahn's file name for a case report: the agent in lower case with anything but
// letters and digits as '_', then "_case_", then the id with '_' for '.'.
QString caseReportFileName(const QString &agent, const QString &caseId);

// One case as Autobahn's per-case JSON report (its field names where they exist),
// with the frames both ways and their times, payloads cut to `payloadBytes`.
QJsonObject caseReportJson(const QString &agent, const CaseResult &result, int payloadBytes = 256);

// The case's log as lines "   12.345 ms  tx  summary", at most `maxLines` (then how
// many more).
QString frameSummary(const CaseResult &result, int maxLines = 400);

// Writes into `directory` (created when missing):
// - one case report per case (caseReportFileName(), and the frames as a JSON Lines log
//   of the workbench beside it, same name with .jsonl), while the logs are there;
// - index.json: agent -> case id -> {behavior, behaviorClose, duration, remoteCloseCode,
//   reportfile}, as Autobahn's;
// - index.html: a self-contained report (no external resources);
// - junit.xml: one testsuite per agent, one testcase per case, FAILED as a failure.
bool writeCaseReport(const QString &directory, const QString &agent, const CaseResult &result,
                     QString *error = nullptr);
bool writeIndexJson(const QString &path, const QList<AgentResults> &agents,
                    QString *error = nullptr);
bool writeHtmlReport(const QString &path, const QList<AgentResults> &agents,
                     QString *error = nullptr);
bool writeJUnitReport(const QString &path, const QList<AgentResults> &agents,
                      QString *error = nullptr);

// Reads back a report directory written by writeIndexJson() and writeCaseReport()
// (or by Autobahn|Testsuite: the same index.json and per-case fields): every agent of
// index.json with its cases in caseIdLess() order. A case's texts, close codes and
// results come from its JSON report when that file is there, its verdicts and duration
// from index.json. The cases' frames stay on disk (the .jsonl beside each report):
// `log` is left empty. Returns false, with the reason in `error`, when index.json is
// missing or not Autobahn's shape.
bool readReport(const QString &directory, QList<AgentResults> *agents, QString *error = nullptr);

// How many cases of `results` have each behaviour verdict, as "OK 290, FAILED 1".
QMap<QString, int> countBehaviors(const QList<CaseResult> &results);

} // namespace ws::probe

#pragma once

#include "probe/probereport.h"
#include "probe/proberunner.h"

#include <QHostAddress>
#include <QObject>
#include <QStringList>

namespace ws {

// `wsw probe URL`: runs the conformance catalogue against a server (an echo
// endpoint), prints progress on stderr and the verdict counts on stdout, and writes
// Autobahn-compatible reports (index.json and one JSON per case), an HTML report and
// JUnit XML. With --spec, the servers, cases and output directory of an Autobahn
// fuzzingclient spec.
class ProbeCommand : public QObject {
    Q_OBJECT
public:
    // Exit statuses (see `wsw probe --help`, the README and wsw(1)).
    enum ExitStatus {
        AllPassed = 0,     // no case FAILED (in behaviour or close)
        UsageError = 1,    // includes a spec file that cannot be read
        ConnectFailed = 2, // a server could not be reached at all
        CasesFailed = 3,   // at least one case FAILED
        ReportFailed = 4,  // a report could not be written
    };

    static int run(const QStringList &arguments);
    // `wsw serve --mode probe`: the catalogue against the clients that connect, behind
    // Autobahn's fuzzingserver URLs. Runs until SIGINT/SIGTERM; the exit statuses are
    // serve's (0 stopped by a signal, 2 could not listen).
    static int serveProbe(const QHostAddress &address, quint16 port, const QString &reportDirectory,
                          bool quiet);

    // One server to probe.
    struct Target {
        QString agent;
        QString url;
        probe::RunOptions options;
        QList<probe::ProbeCase> cases;
    };

private:
    ProbeCommand(QList<Target> targets, QString reportDirectory, bool quiet);
    int exec();
    void startTarget();
    void onCaseFinished(qsizetype index, const probe::CaseResult &result);
    void onTargetFinished();

    QList<Target> m_targets;
    QString m_reportDirectory;
    bool m_quiet = false;
    qsizetype m_current = -1;
    probe::ProbeRunner *m_runner = nullptr;
    QList<probe::AgentResults> m_done;
    bool m_reportFailed = false;
    bool m_connectFailed = false;
};

} // namespace ws

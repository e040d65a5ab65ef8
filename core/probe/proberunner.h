#pragma once

#include "probe/caserun.h"
#include "probe/probecase.h"

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>

namespace ws::probe {

// Runs cases one after the other against one target, each on a connection of its
// own, and reports each result as it comes. Nothing waits on a fixed sleep: the next
// case starts as soon as the previous one's TCP connection is gone.
class ProbeRunner : public QObject {
    Q_OBJECT
public:
    ProbeRunner(QList<ProbeCase> cases, RunOptions options, QObject *parent = nullptr);
    ~ProbeRunner() override;

    void start();
    // Ends the case in progress and runs no more.
    void stop();
    bool isRunning() const { return m_running; }
    qsizetype caseCount() const { return m_cases.size(); }
    // Results of the cases run so far, in order. Their logs are kept only with
    // setKeepLogs(true) (a window shows them; a command-line run writes them out as
    // each case ends and needs them no longer).
    const QList<CaseResult> &results() const { return m_results; }
    void setKeepLogs(bool keep) { m_keepLogs = keep; }
    qint64 elapsedMs() const { return m_elapsed.elapsed(); }

signals:
    void caseStarted(qsizetype index, const QString &id);
    // `result` holds its log whatever setKeepLogs() says.
    void caseFinished(qsizetype index, const ws::probe::CaseResult &result);
    void finished();

private:
    void runNext();
    void onCaseDone();

    QList<ProbeCase> m_cases;
    RunOptions m_options;
    QList<CaseResult> m_results;
    qsizetype m_next = 0;
    QPointer<QObject> m_current;
    QElapsedTimer m_elapsed;
    bool m_running = false;
    bool m_stopped = false;
    bool m_keepLogs = false;
};

} // namespace ws::probe

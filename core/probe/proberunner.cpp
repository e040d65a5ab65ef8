#include "probe/proberunner.h"

#include "probe/handshakerun.h"
#include "probe/probereport.h"

#include <QTimer>

namespace ws::probe {

ProbeRunner::ProbeRunner(QList<ProbeCase> cases, RunOptions options, QObject *parent)
    : QObject(parent)
    , m_cases(std::move(cases))
    , m_options(std::move(options)) {}

ProbeRunner::~ProbeRunner() {
    delete m_current.data();
}

void ProbeRunner::start() {
    if (m_running)
        return;
    m_running = true;
    m_elapsed.start();
    QTimer::singleShot(0, this, &ProbeRunner::runNext);
}

void ProbeRunner::stop() {
    m_stopped = true;
    if (auto *run = qobject_cast<CaseRun *>(m_current.data()))
        run->abort();
    else if (auto *handshake = qobject_cast<HandshakeRun *>(m_current.data()))
        handshake->abort();
}

void ProbeRunner::runNext() {
    if (m_stopped || m_next >= m_cases.size()) {
        m_running = false;
        emit finished();
        return;
    }
    ProbeCase probeCase = m_cases.at(m_next);
    if (probeCase.prepare) {
        probeCase.prepare(probeCase);
        probeCase.prepare = nullptr;
    }
    emit caseStarted(m_next, probeCase.id);
    if (probeCase.handshake) {
        auto *run = new HandshakeRun(probeCase, m_options, this);
        m_current = run;
        connect(run, &HandshakeRun::finished, this, &ProbeRunner::onCaseDone, Qt::QueuedConnection);
        run->start();
    } else {
        auto *run = new CaseRun(probeCase, m_options, this);
        m_current = run;
        connect(run, &CaseRun::finished, this, &ProbeRunner::onCaseDone, Qt::QueuedConnection);
        run->start();
    }
}

void ProbeRunner::onCaseDone() {
    QObject *current = m_current.data();
    if (!current)
        return;
    CaseResult result;
    if (auto *run = qobject_cast<CaseRun *>(current))
        result = run->takeResult();
    else if (auto *handshake = qobject_cast<HandshakeRun *>(current))
        result = handshake->takeResult();
    m_current.clear();
    current->deleteLater();
    const qsizetype index = m_next++;
    emit caseFinished(index, result);
    if (!m_keepLogs) {
        result.frameSummary = frameSummary(result);
        result.log.reset();
    }
    m_results.append(std::move(result));
    QTimer::singleShot(0, this, &ProbeRunner::runNext);
}

} // namespace ws::probe

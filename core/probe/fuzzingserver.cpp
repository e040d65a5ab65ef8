#include "probe/fuzzingserver.h"

#include "probe/catalogue.h"

#include <QDir>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTcpSocket>
#include <QUrl>
#include <QUrlQuery>

namespace ws::probe {

FuzzingServer::FuzzingServer(RunOptions options, QString reportDirectory, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
    , m_reportDirectory(std::move(reportDirectory))
    , m_cases(selectCases(serverCatalogue(),
                          {QStringLiteral("1.*"), QStringLiteral("2.*"), QStringLiteral("3.*"),
                           QStringLiteral("4.*"), QStringLiteral("5.*"), QStringLiteral("6.*"),
                           QStringLiteral("7.*"), QStringLiteral("9.*"), QStringLiteral("10.*"),
                           QStringLiteral("12.*"), QStringLiteral("13.*")},
                          {})) {
    connect(&m_server, &QTcpServer::newConnection, this, &FuzzingServer::onNewConnection);
}

FuzzingServer::~FuzzingServer() = default;

bool FuzzingServer::listen(const QHostAddress &address, quint16 port) {
    return m_server.listen(address, port);
}

void FuzzingServer::onNewConnection() {
    while (QTcpSocket *socket = m_server.nextPendingConnection()) {
        auto *run = new CaseRun(
            socket, [this](const QByteArray &target) { return route(target); }, m_options, this);
        connect(run, &CaseRun::finished, this, [this, run] {
            if (run->isCase()) {
                CaseResult result = run->takeResult();
                const QString agent = run->agent();
                if (!m_agents.contains(agent))
                    m_agents.append(agent);
                emit caseFinished(agent, result);
                if (!m_reportDirectory.isEmpty()) {
                    QString error;
                    if (!writeCaseReport(m_reportDirectory, agent, result, &error))
                        emit reportError(error);
                }
                result.frameSummary = frameSummary(result);
                result.log.reset();
                m_results[agent].insert(result.id, std::move(result));
            }
            run->deleteLater();
        });
    }
}

ServerRoute FuzzingServer::route(const QByteArray &target) {
    const QUrl url(QString::fromLatin1(target));
    const QUrlQuery query(url);
    const QString path = url.path();
    const QString agent = query.queryItemValue(QStringLiteral("agent"), QUrl::FullyDecoded);
    bool numbered = false;
    const int number = query.queryItemValue(QStringLiteral("case")).toInt(&numbered);
    const ProbeCase *probeCase =
        numbered && number >= 1 && number <= m_cases.size() ? &m_cases.at(number - 1) : nullptr;
    ServerRoute route;
    if (path == u"/getCaseCount") {
        route.reply = QByteArray::number(m_cases.size());
    } else if (path == u"/getCaseInfo" && probeCase) {
        route.reply =
            QJsonDocument(QJsonObject{{QStringLiteral("id"), probeCase->id},
                                      {QStringLiteral("description"), probeCase->description}})
                .toJson(QJsonDocument::Compact);
    } else if (path == u"/runCase" && probeCase && !agent.isEmpty()) {
        route.probeCase = *probeCase;
        route.agent = agent;
    } else if (path == u"/getCaseStatus" && probeCase && !agent.isEmpty()) {
        const auto results = m_results.value(agent);
        const auto found = results.find(probeCase->id);
        route.reply =
            QJsonDocument(QJsonObject{{QStringLiteral("behavior"),
                                       found == results.end() ? QStringLiteral("UNKNOWN")
                                                              : verdictName(found->behavior)}})
                .toJson(QJsonDocument::Compact);
    } else if (path == u"/updateReports") {
        QString error;
        if (!m_reportDirectory.isEmpty() && !writeReports(&error))
            emit reportError(error);
        route.reply = QByteArray();
    }
    return route;
}

bool FuzzingServer::writeReports(QString *error) {
    QList<AgentResults> agents;
    for (const QString &agent : m_agents) {
        AgentResults done{agent, QStringLiteral("client"), {}, 0};
        QList<CaseResult> results = m_results.value(agent).values();
        std::sort(results.begin(), results.end(),
                  [](const CaseResult &a, const CaseResult &b) { return caseIdLess(a.id, b.id); });
        for (const CaseResult &r : results)
            done.elapsedMs += r.durationMs;
        done.results = results;
        agents.append(done);
    }
    const QDir dir(m_reportDirectory);
    if (!QDir().mkpath(m_reportDirectory)) {
        if (error)
            *error = QStringLiteral("Could not create the directory %1").arg(m_reportDirectory);
        return false;
    }
    if (!writeIndexJson(dir.filePath(QStringLiteral("index.json")), agents, error) ||
        !writeHtmlReport(dir.filePath(QStringLiteral("index.html")), agents, error) ||
        !writeJUnitReport(dir.filePath(QStringLiteral("junit.xml")), agents, error))
        return false;
    emit reportsWritten(m_reportDirectory);
    return true;
}

} // namespace ws::probe

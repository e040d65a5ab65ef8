#pragma once

#include "probe/caserun.h"
#include "probe/probereport.h"

#include <QHostAddress>
#include <QMap>
#include <QObject>
#include <QTcpServer>

namespace ws::probe {

// The catalogue against clients: a server with the Autobahn fuzzingserver's URLs, so
// that client test harnesses written for Autobahn work unchanged. Each connection's
// request target says what it wants:
//   /getCaseCount                   a text message with the number of cases
//   /getCaseInfo?case=N             {"id": ..., "description": ...} of case N (from 1)
//   /runCase?case=N&agent=A         case N runs against this connection (an echo client)
//   /getCaseStatus?case=N&agent=A   {"behavior": ...} of A's last run of case N
//   /updateReports?agent=A          the reports are written (every agent without agent=)
// and is closed with 1000 after the answer. The cases are Autobahn's 1.* to 10.*, 12.*
// and 13.* (the client's permessage-deflate offer accepted asking of it what the case
// asks of a server, as Autobahn's fuzzingserver does; a client that offers none is
// UNIMPLEMENTED there): the others speak to a server.
class FuzzingServer : public QObject {
    Q_OBJECT
public:
    // Reports go to `reportDirectory` (none when empty).
    FuzzingServer(RunOptions options, QString reportDirectory, QObject *parent = nullptr);
    ~FuzzingServer() override;

    bool listen(const QHostAddress &address, quint16 port);
    QString errorString() const { return m_server.errorString(); }
    quint16 port() const { return m_server.serverPort(); }
    qsizetype caseCount() const { return m_cases.size(); }
    // Writes index.json, index.html and junit.xml for every agent seen so far.
    bool writeReports(QString *error = nullptr);

signals:
    void caseFinished(const QString &agent, const ws::probe::CaseResult &result);
    void reportsWritten(const QString &directory);
    void reportError(const QString &message);

private:
    void onNewConnection();
    ServerRoute route(const QByteArray &target);

    RunOptions m_options;
    QString m_reportDirectory;
    QTcpServer m_server;
    QList<ProbeCase> m_cases;
    // Agent -> case id -> the last result, in the order agents first came.
    QStringList m_agents;
    QMap<QString, QMap<QString, CaseResult>> m_results;
};

} // namespace ws::probe

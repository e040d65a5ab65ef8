#pragma once

// The inside of a Server, shared by its source files: server.cpp (listening,
// accepting, the handshake policy, plain HTTP, deadlines, shutdown) and
// servermodes.cpp (what echo, greeting, broadcast and manual do with messages).

#include "net/eventclock.h"
#include "net/server.h"
#include "net/unixsocket.h"

#include <QTimer>

class QTcpServer;

namespace ws {

struct Server::Private {
    explicit Private(Server *server)
        : q(server) {}

    Server *q;
    QTcpServer *tcp = nullptr;
    UnixSocketFile unixSocketFile; // the socket file made by listen(), removed at the end
    QList<ServerClient *> clients;
    QTimer sweepTimer;
    QString error;
    quint64 nextId = 1;
    int openCount = 0;
    qint64 stopDeadlineMs = -1;
    // When the batch being processed was read (EventClock): one clock read per
    // batch, not per message.
    qint64 batchUs = 0;
    bool stopping = false;
    bool stoppedEmitted = false;

    const ServerOptions &options() const { return q->m_options; }
    static qint64 nowMs() { return EventClock::nowMs(); }
    static qint64 nowUs() { return EventClock::nowUs(); }
    QString who(const ServerClient *c) const;
    void log(const QString &line) { emit q->logMessage(line); }
    // Lines every connection produces are formatted only when asked for.
    bool logging() const { return options().logConnections; }

    // server.cpp
    void onNewConnection();
    void act(ServerClient *c, SessionEvent &event);
    void applyPolicy(ServerClient *c);
    void serveHttp(ServerClient *c);
    void announce(ServerClient *c);
    void pause(ServerClient *c);
    void onBytesWritten(ServerClient *c);
    void enforceQueueLimit(ServerClient *c);
    void sweep();
    void checkClient(ServerClient *c, qint64 now);
    void clientFinishing(ServerClient *c);
    void clientFinished(ServerClient *c);
    void ensureSweep();
    void checkStopped();

    // servermodes.cpp
    bool echoes() const;
    void updateEchoPath(ServerClient *c);
    void onMessage(ServerClient *c, const MessageEvent &message);
    void onOpened(ServerClient *c);
    void onLeft(ServerClient *c);
    // To every open client but `except`.
    void broadcast(Opcode type, const QByteArray &data, const ServerClient *except = nullptr);
    void notice(const char *event, quint64 id);
};

} // namespace ws

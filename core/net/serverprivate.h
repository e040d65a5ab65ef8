#pragma once

// The inside of a Server, shared by its source files: server.cpp (listening,
// accepting, the handshake policy, plain HTTP, deadlines, shutdown) and
// servermodes.cpp (what echo, greeting, broadcast and manual do with messages).

#include "net/eventclock.h"
#include "net/server.h"
#include "net/unixsocket.h"

#include <QTimer>

#include <deque>
#include <functional>

class QTcpServer;

namespace ws {

// A client's staged misbehaviour while it runs (servermisbehaviour.cpp).
struct ServerClient::Staging {
    // Replies waiting for their delay, in order; an entry without data is an action
    // that waits for the replies before it (a close, a bad frame).
    struct Reply {
        qint64 dueMs = 0;
        int delayMs = 0;
        Opcode type = Opcode::Text;
        QByteArray data;
        std::function<void()> action;
    };
    std::deque<Reply> replies;
    qint64 lastDueMs = 0;
    QTimer replyTimer;
    QTimer tickerTimer;
    quint64 ticks = 0;
    QTimer closeTimer;
    // Slow reading: a token bucket refilled by readTimer.
    QTimer readTimer;
    double readTokens = 0;
    qint64 readRefilledMs = 0;
    qint64 readMark = 0; // bytesReceived() when the current receive() started
    bool readingStopped = false;
    int messages = 0; // since the misbehaviour was set
    bool started = false;
    bool badFrameSent = false;
    bool closeStaged = false;
    // The burst: how many went out, when it started, the socket's bytesWritten while
    // it waits for the queue to drain.
    int burstSent = 0;
    qint64 burstStartMs = 0;
    bool burstStarted = false;
    QMetaObject::Connection burstWatch;
};

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

    // servermisbehaviour.cpp: the opening handshake answered as the misbehaviour says
    // (delayed, refused, a broken 101), or by applyPolicy().
    void answerUpgrade(ServerClient *c, bool delayDone = false);

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

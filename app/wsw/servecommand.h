#pragma once

#include "inputcommand.h"

#include "net/server.h"

#include <QObject>
#include <QStringList>

namespace ws {

// `wsw serve`: a WebSocket server on the command line. Prints where it listens,
// then its log; in manual mode stdin lines go to every client.
class ServeCommand : public QObject {
    Q_OBJECT
public:
    enum ExitStatus { Stopped = 0, UsageError = 1, ListenFailed = 2 };

    // Runs the command in the application's event loop; returns the exit status.
    static int run(const QStringList &arguments);

private:
    ServeCommand(ServerOptions options, bool quiet);

    int exec();
    void onClientConnected(ServerClient *client);
    void onLine(const QByteArray &line);
    void execute(const InputCommand &command);
    void onSignal();

    Server *m_server = nullptr;
    bool m_quiet = false;
    int m_signals = 0;
};

} // namespace ws

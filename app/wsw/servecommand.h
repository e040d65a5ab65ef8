#pragma once

#include "inputcommand.h"

#include "log/jsonlinesrecorder.h"
#include "net/server.h"

#include <QObject>
#include <QStringList>

#include <memory>

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
    // What is printed besides the listening line.
    struct Printing {
        bool json = false;       // --json: every line a JSON object, clients' events included
        bool showFrames = false; // --show-frames: every frame header, both ways
        bool quiet = false;      // --quiet: not the server's log
    };

    ServeCommand(ServerOptions options, Printing printing,
                 std::unique_ptr<log::JsonLinesRecorder> recorder);

    int exec();
    void onClientConnected(ServerClient *client);
    void printClient(ServerClient *client);
    void saveClient(ServerClient *client);
    // --save: writes what the recorder still holds; an error is reported once.
    void flushSaved();
    void onLine(const QByteArray &line);
    void execute(const InputCommand &command);
    void onSignal();

    Server *m_server = nullptr;
    std::unique_ptr<log::JsonLinesRecorder> m_recorder; // --save; null without it
    Printing m_printing;
    bool m_manual = false;
    bool m_saveErrorReported = false;
    int m_signals = 0;
};

} // namespace ws

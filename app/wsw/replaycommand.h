#pragma once

#include "eventprinter.h"

#include "log/jsonlinesrecorder.h"
#include "replay/replayplayer.h"
#include "replay/serverreplay.h"

#include <QObject>
#include <QStringList>

#include <memory>
#include <optional>

namespace ws {

// `wsw replay LOG --to URL`: plays the client side of a recorded connection against
// a server; `wsw replay LOG --serve`: plays its server side to the clients that
// connect. What goes and comes is printed as `wsw connect` prints it.
class ReplayCommand : public QObject {
    Q_OBJECT
public:
    // Exit statuses: those of `wsw connect`, and one of its own.
    enum ExitStatus {
        Completed = 0, // every step sent, the connection closed cleanly as recorded
        UsageError = 1,
        ConnectFailed = 2, // no connection (client), or could not listen (--serve)
        AbnormalClosure = 3,
        PeerViolation = 4,
        OtherCloseCode = 5,
        PeerRefused = 6,
        OurLimit = 7,
        NotSent = 8,     // a step was not sent, or the peer ended the connection before the last
        ReplyTimeout = 9 // a wait for the peer's messages timed out
    };

    static int run(const QStringList &arguments);

private:
    struct Outcome {
        bool opened = false;
        bool violation = false;
        bool ourLimit = false;
        std::optional<quint16> peerCloseCode;
        std::optional<ClosedEvent> closed;
    };

    ReplayCommand(EventPrinter printer, std::unique_ptr<log::JsonLinesRecorder> recorder);
    int execClient(replay::Recording recording, replay::ReplayOptions options,
                   ClientOptions client);
    int execServer(replay::Recording recording, replay::ReplayOptions options, ServerOptions server,
                   bool once);
    // Wires the printer, the recorder and the outcome to a connection's events.
    void watch(Connection *connection, quint32 savedId, Outcome *outcome, EventPrinter *printer);
    void onNote(const QString &line, quint32 savedId, EventPrinter *printer);
    void flushSaved();
    static int exitStatus(const Outcome &outcome, const replay::ReplayResult &result,
                          const replay::Recording &recording, replay::Side side);

    EventPrinter m_printer;
    std::unique_ptr<log::JsonLinesRecorder> m_recorder;
    bool m_saveErrorReported = false;
    int m_signals = 0;
    bool m_once = false; // --serve --once
};

} // namespace ws

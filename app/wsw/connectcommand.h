#pragma once

#include "eventprinter.h"
#include "inputcommand.h"

#include "log/jsonlinesrecorder.h"
#include "net/clientconnection.h"

#include <QList>
#include <QObject>
#include <QStringList>

#include <memory>
#include <optional>

namespace ws {

class StdinReader;

// `wsw connect URL`: an interactive client. stdin lines become messages or slash
// commands, received events are printed; the exit status says how it ended.
class ConnectCommand : public QObject {
    Q_OBJECT
public:
    // Exit statuses (see `wsw connect --help`).
    enum ExitStatus {
        CleanClose = 0, // 1000 or 1001, either side
        UsageError = 1,
        ConnectFailed = 2,   // no TCP connection, or the handshake failed
        AbnormalClosure = 3, // 1006: the connection ended without a close frame
        PeerViolation = 4,   // we failed the connection: the peer broke the protocol
        OtherCloseCode = 5,  // clean close with any other code
    };

    // Runs the command in the application's event loop; returns the exit status.
    static int run(const QStringList &arguments);

private:
    // The switches of `wsw connect` that change what the command does.
    struct Behaviour {
        bool binaryLines = false;  // --binary: each line is sent as a binary message
        bool echo = false;         // --echo: every message goes straight back
        bool showTls = false;      // --show-tls: print the TLS session once it is up
        int reconnectDelayMs = -1; // --reconnect: connect again after this long; -1: no
    };

    ConnectCommand(ClientOptions options, EventPrinter printer, Behaviour behaviour,
                   std::unique_ptr<log::JsonLinesRecorder> recorder);

    int exec();
    // A ClientConnection for m_options, its signals connected.
    void createConnection();
    // --reconnect: schedules the next connection after one that ended; false to exit.
    bool reconnectLater();
    void onSessionEvent(const SessionEvent &event);
    void onError(const QString &message);
    void onFinished();
    void onLine(const QByteArray &line);
    void onEndOfInput();
    void onSignal();
    void execute(const InputCommand &command);
    void closeNormally();
    int exitStatus() const;
    // --save: writes what the recorder still holds; an error is reported once.
    void flushSaved();

    ClientOptions m_options;
    bool m_showTls = false;
    int m_reconnectDelayMs = -1;
    ClientConnection *m_connection = nullptr;
    StdinReader *m_stdin = nullptr;
    EventPrinter m_printer;
    bool m_binaryLines = false;
    bool m_echo = false;
    bool m_opened = false;
    bool m_inputEnded = false;
    bool m_violation = false;
    int m_signals = 0;
    QList<QByteArray> m_pendingLines; // typed before the connection was open
    std::optional<quint16> m_sentCloseCode;
    std::optional<ClosedEvent> m_closed;
    std::unique_ptr<log::JsonLinesRecorder> m_recorder; // --save; null without it
    bool m_saveErrorReported = false;
};

} // namespace ws

#pragma once

#include "eventprinter.h"
#include "inputcommand.h"

#include "log/jsonlinesrecorder.h"
#include "net/clientconnection.h"

#include <QList>
#include <QObject>
#include <QStringList>
#include <QTimer>

#include <memory>
#include <optional>

namespace ws {

class MessageStreamer;
class StdinReader;

// `wsw connect URL`: an interactive client. stdin lines become messages or slash
// commands, received events are printed; the exit status says how it ended.
class ConnectCommand : public QObject {
    Q_OBJECT
public:
    // Exit statuses (see `wsw connect --help`, the README and wsw(1)).
    enum ExitStatus {
        CleanClose = 0, // 1000 or 1001, either side
        UsageError = 1,
        ConnectFailed = 2,   // no TCP connection, or the handshake failed
        AbnormalClosure = 3, // 1006: the connection ended without a close frame
        PeerViolation = 4,   // we failed the connection: the peer broke the protocol
        OtherCloseCode = 5,  // clean close with any other code
        PeerRefused = 6,     // the peer closed with an error code (1002, 1003, 1007-1014)
        OurLimit = 7,        // a message over our --max-message-size: we closed with 1009
        NotSent = 8,         // something given to send was not sent
    };

    // Runs the command in the application's event loop; returns the exit status.
    static int run(const QStringList &arguments);

private:
    // The switches of `wsw connect` that change what the command does.
    struct Behaviour {
        bool binaryLines = false;          // --binary: each line is sent as a binary message
        bool dataOnly = false;             // no slash commands: every line is a message
        bool echo = false;                 // --echo: every message goes straight back
        bool showTls = false;              // --show-tls: print the TLS session once it is up
        bool keepOpen = false;             // --no-close: the end of input does not close
        bool oneMessage = false;           // -1: one reply per message sent, then close
        std::optional<qint64> waitReplies; // --wait-replies
        std::optional<int> lingerMs;       // --linger
        char delimiter = '\n';             // between messages read from stdin
        bool readStdin = true;             // false with --execute, --file, --stdin-message
        QList<QByteArray> execute;         // --execute, sent as lines once open
        int streamFd = -1;                 // --file or --stdin-message: one message
        QString streamName;
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
    void onOpened();
    void execute(const InputCommand &command);
    void notSent(const QString &message);
    // After the end of input: closes once what was promised has arrived.
    void closeWhenDue();
    void closeNormally();
    bool inputDone() const;
    qint64 repliesDue() const;
    int exitStatus() const;
    // --save: writes what the recorder still holds; an error is reported once.
    void flushSaved();

    ClientOptions m_options; // kept to connect again with --reconnect
    ClientConnection *m_connection = nullptr;
    StdinReader *m_stdin = nullptr;
    MessageStreamer *m_streamer = nullptr;
    EventPrinter m_printer;
    Behaviour m_behaviour;
    QTimer m_replyWait; // bounds the default wait for replies
    QTimer m_linger;
    bool m_opened = false;
    bool m_inputEnded = false;
    bool m_replyWaitOver = false;
    bool m_violation = false;
    bool m_ourLimit = false;
    bool m_notSent = false;
    int m_signals = 0;
    qint64 m_sentMessages = 0;
    qint64 m_receivedMessages = 0;
    QList<QByteArray> m_pendingLines; // typed before the connection was open
    std::optional<quint16> m_sentCloseCode;
    std::optional<quint16> m_peerCloseCode;
    std::optional<ClosedEvent> m_closed;
    std::unique_ptr<log::JsonLinesRecorder> m_recorder; // --save; null without it
    bool m_saveErrorReported = false;
};

} // namespace ws

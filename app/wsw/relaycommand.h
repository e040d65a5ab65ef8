#pragma once

#include "eventprinter.h"

#include "log/jsonlinesrecorder.h"
#include "relay/relay.h"
#include "relay/relayproxy.h"

#include <QHash>
#include <QObject>
#include <QStringList>

#include <memory>

namespace ws {

// `wsw relay`: a reverse relay on the command line. Every client that connects to
// --listen gets its own connection to --to; both legs are decoded, printed and
// (--save) logged, frame by frame. With --proxy, an HTTP proxy whose every WebSocket
// becomes such a pair (RelayProxy); --export-ca and --ca-info show its certificate
// authority.
class RelayCommand : public QObject {
    Q_OBJECT
public:
    enum ExitStatus { Stopped = 0, UsageError = 1, ListenFailed = 2 };

    // Runs the command in the application's event loop; returns the exit status.
    static int run(const QStringList &arguments);

private:
    struct Printing {
        bool showFrames = false; // --show-frames: every frame header of both legs
        bool quiet = false;      // --quiet: the listening line and errors only
        QString certificateFile; // wss: the certificate's file, printed with its fingerprint
    };
    // --hold, --drop, the faults, and whether commands come on stdin.
    struct Staging {
        QList<InterceptRule> rules;
        RelayFaults faults;
        bool commands = false;
    };

    RelayCommand(Printing printing, Staging staging,
                 std::unique_ptr<log::JsonLinesRecorder> recorder);

    void setRelay(RelayOptions options);
    void setProxy(RelayProxyOptions options);
    // The relay's signals, and the staging set on it.
    void follow();
    int exec();
    int execProxy();
    void onPairStarted(quint64 pair, const QString &peer, const QUrl &target);
    void onLegEvent(quint64 pair, RelayLegKind leg, const SessionEvent &event);
    void onLogMessage(quint64 pair, const QString &line);
    void onPairFinished(quint64 pair);
    EventPrinter &printer(quint64 pair, RelayLegKind leg);
    void flushSaved();
    void onSignal();
    // Intercept on stdin: one command a line (see the help).
    void onCommand(const QByteArray &line);
    void onMessageHeld(const HeldMessage &message);
    void listHeld();
    // The pair `inject`, `ping`, `close` and `cut` act on: the one chosen with
    // `pair N`, else the newest still open; 0 when there is none.
    quint64 commandPair() const;
    void commandError(const QString &message);
    // "faults ..." on stdin for `pair`: sets its faults (see commandsHelp()) and prints them.
    void pairFaultsCommand(quint64 pair, const QByteArray &rest);

    Relay *m_relay = nullptr;      // the reverse relay, or the proxy's relay
    RelayProxy *m_proxy = nullptr; // --proxy
    Staging m_staging;
    std::unique_ptr<log::JsonLinesRecorder> m_recorder; // --save; null without it
    Printing m_printing;
    QHash<quint64, EventPrinter> m_printers; // key: pair * 2 + leg
    QList<quint64> m_openPairs;              // in the order they started
    quint64 m_chosenPair = 0;                // `pair N`
    QByteArray m_listeningUrl;
    bool m_saveErrorReported = false;
    int m_signals = 0;
};

// --export-ca FILE (empty: --ca-info alone): the certificate authority of `directory`
// (empty: its default), made when missing; prints what identifies it. The exit
// status of the command.
int showCertificateAuthority(const QString &directory, const QString &exportFile);

} // namespace ws

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
    };

    RelayCommand(Printing printing, std::unique_ptr<log::JsonLinesRecorder> recorder);

    void setRelay(RelayOptions options);
    void setProxy(RelayProxyOptions options);
    // The signals both kinds of relay have in common.
    template <typename Source> void follow(Source *source);
    int exec();
    int execProxy();
    void onPairStarted(quint64 pair, const QString &peer, const QUrl &target);
    void onLegEvent(quint64 pair, RelayLegKind leg, const SessionEvent &event);
    void onLogMessage(quint64 pair, const QString &line);
    void onPairFinished(quint64 pair);
    EventPrinter &printer(quint64 pair, RelayLegKind leg);
    void flushSaved();
    void onSignal();

    Relay *m_relay = nullptr;                           // the reverse relay, or
    RelayProxy *m_proxy = nullptr;                      // --proxy
    std::unique_ptr<log::JsonLinesRecorder> m_recorder; // --save; null without it
    Printing m_printing;
    QHash<quint64, EventPrinter> m_printers; // key: pair * 2 + leg
    QByteArray m_listeningUrl;
    bool m_saveErrorReported = false;
    int m_signals = 0;
};

// --export-ca FILE (empty: --ca-info alone): the certificate authority of `directory`
// (empty: its default), made when missing; prints what identifies it. The exit
// status of the command.
int showCertificateAuthority(const QString &directory, const QString &exportFile);

// The log's connection number of one leg: the client leg of pair N is 2N - 1, its
// server leg 2N, so both sort next to each other.
quint32 relayLogConnection(quint64 pair, RelayLegKind leg);
// The log's name of one leg: "relay N client", "relay N server".
QString relayLegLogName(quint64 pair, RelayLegKind leg);

} // namespace ws

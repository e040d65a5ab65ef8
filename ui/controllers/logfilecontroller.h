#pragma once

#include "log/logstore.h"

#include <QHash>
#include <QObject>
#include <QString>

#include <functional>
#include <vector>

class QIODevice;
class QWidget;

namespace ws {

class ConnectionHub;
class MessageLogModel;

// The log as it was at one moment, for a worker thread to write while the log goes
// on: its records copied (their payloads shared, not copied) into one array. Taking
// it costs the log's thread a copy of the compact records and nothing else; the
// log::LogStore the file writers read is built from it on the worker.
struct LogSnapshot {
    QHash<quint32, log::ConnectionInfo> connections;
    std::vector<log::LogRecord> records; // a record's `extra` indexes `extras`
    std::vector<log::LogRecordExtra> extras;

    // Moves the records into `store` (meant to be empty), leaving the snapshot empty.
    void moveInto(log::LogStore &store);
};

// Saving, opening, exporting and importing the window's log. Every one of them runs
// on a worker thread while the window keeps handling events; one that takes a moment
// shows a window-modal progress dialog with Cancel. Saving and exporting write a
// snapshot of the log taken when they start (records logged meanwhile are not in the
// file); opening and importing reach the log only once the whole file is read, so a
// cancelled or failed one leaves the log as it was, and a cancelled save leaves the
// file as it was.
class LogFileController : public QObject {
    Q_OBJECT
public:
    // Work quicker than this shows no progress dialog, so small files do not flash one.
    static constexpr int ProgressDialogDelayMs = 500;
    static constexpr int ProgressUpdateMs = 50;

    // `window` parents the dialogs; the log's connections become `hub`'s.
    LogFileController(MessageLogModel *log, ConnectionHub *hub, QWidget *window);
    ~LogFileController() override;

    // Each returns false with the reason in `error` ("cancelled" when the user cancelled).
    bool saveLog(const QString &path, QString *error = nullptr);
    bool exportHar(const QString &path, QString *error = nullptr);
    // Replaces the log with the file's records; its connections are added to the hub,
    // named after the file (never like a live connection).
    bool openLog(const QString &path, QString *error = nullptr);
    // Adds the WebSocket connections of a HAR file to the log and the hub.
    bool importHar(const QString &path, QString *error = nullptr);

    // Where a file the user picks is opened: the window decides, so that opening
    // never replaces live traffic. Unset: into this controller's log.
    using Opener = std::function<bool(const QString &path, bool har, QString *error)>;
    void setOpener(Opener opener) { m_opener = std::move(opener); }

    // The same, for a file the user picks; a failure is shown in a message box. A name
    // typed without an extension gets the format's (.jsonl, .har).
    void saveLogAs();
    void openLogFile();
    void exportHarAs();
    void importHarFile();

    // A file is being read or written (the controller runs one at a time).
    bool isBusy() const { return m_busy; }
    // The last operation failed because the user cancelled it.
    bool wasCancelled() const { return m_cancelled; }

    // What a save writes: the log as it is now.
    LogSnapshot snapshot() const;

signals:
    void statusMessage(const QString &message, int timeoutMs);
    // A file's records are in the log (opened or imported).
    void logLoaded();

private:
    // Progress of the work: done out of total (total < 0: unknown). Returns false once
    // the user has cancelled.
    using Progress = std::function<bool(qint64 done, qint64 total)>;
    using Work = std::function<bool(QString *error, const Progress &progress)>;
    // Runs `work` on a worker thread while this thread keeps handling events and, once
    // the work takes a moment, shows a cancellable progress dialog saying `label`.
    // Returns when the worker is done.
    bool runInBackground(const QString &label, const QString &cancelledMessage, const Work &work,
                         QString *error);
    using Write = std::function<bool(const log::LogStore &store, QIODevice &device, QString *error,
                                     const std::function<void(qsizetype)> &reached)>;
    bool saveInBackground(const QString &label, const QString &path, QString *error,
                          const Write &write);
    void mergeStore(const log::LogStore &store, const QString &path);
    using Operation = std::function<bool(const QString &path, QString *error)>;
    void fileAction(const QString &title, const QString &filter, const QString &suffix, bool save,
                    const Operation &operation);

    MessageLogModel *m_log;
    ConnectionHub *m_hub;
    QWidget *m_window;
    // The work runs its own event loop: another one started from it (the window takes
    // input until the progress dialog shows) would nest a second loop inside the first.
    bool m_busy = false;
    bool m_cancelled = false;
    Opener m_opener;
};

} // namespace ws

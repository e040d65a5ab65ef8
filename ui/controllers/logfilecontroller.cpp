#include "logfilecontroller.h"

#include "connections/connectionhub.h"
#include "log/harfile.h"
#include "log/jsonlinesfile.h"
#include "models/messagelogmodel.h"

#include <QEventLoop>
#include <QFileDialog>
#include <QFileInfo>
#include <QHash>
#include <QMessageBox>
#include <QProgressDialog>
#include <QRegularExpression>
#include <QSaveFile>
#include <QScopeGuard>
#include <QSettings>
#include <QThread>
#include <QTimer>

#include <atomic>
#include <memory>

namespace ws {

namespace {

const QString LastDirectoryKey = QStringLiteral("window/lastDirectory");
constexpr int ErrorMessageMs = 30'000;
constexpr int DoneMessageMs = 8000;

// Hands writes on to `target` until `keepGoing` says no; from then on it fails them,
// which stops the writer at its next write (writers hand over a buffer at a time).
class CancellableWriter : public QIODevice {
public:
    CancellableWriter(QIODevice &target, std::function<bool(qint64 written)> keepGoing)
        : m_target(target)
        , m_keepGoing(std::move(keepGoing)) {}

    bool isSequential() const override { return true; }

protected:
    qint64 readData(char *, qint64) override { return -1; }
    qint64 writeData(const char *data, qint64 size) override {
        if (!m_keepGoing(m_written)) {
            setErrorString(QStringLiteral("cancelled"));
            return -1;
        }
        const qint64 written = m_target.write(data, size);
        if (written < 0)
            setErrorString(m_target.errorString());
        else
            m_written += written;
        return written;
    }

private:
    QIODevice &m_target;
    std::function<bool(qint64)> m_keepGoing;
    qint64 m_written = 0;
};

void setError(QString *error, const QString &text) {
    if (error)
        *error = text;
}

} // namespace

LogFileController::LogFileController(MessageLogModel *log, ConnectionHub *hub, QWidget *window)
    : QObject(window)
    , m_log(log)
    , m_hub(hub)
    , m_window(window) {}

LogFileController::~LogFileController() = default;

void LogSnapshot::moveInto(log::LogStore &store) {
    for (auto it = connections.cbegin(); it != connections.cend(); ++it)
        store.setConnectionInfo(it.key(), it.value());
    static const log::LogRecordExtra none;
    for (log::LogRecord &record : records) {
        const log::LogRecordExtra &extra =
            record.extra == log::LogRecord::NoExtra ? none : extras[record.extra];
        store.appendRecord(record, extra);
        // The store has its own reference to the payload now.
        record.payload = QByteArray();
    }
    records = {};
    extras = {};
}

LogSnapshot LogFileController::snapshot() const {
    m_log->flush();
    const log::LogStore &store = m_log->store();
    LogSnapshot snapshot;
    snapshot.connections = store.connections();
    snapshot.records.reserve(size_t(store.size()));
    for (qsizetype i = 0; i < store.size(); ++i) {
        const log::LogRecord &record = store.at(i);
        log::LogRecord &copy = snapshot.records.emplace_back(record);
        if (const log::LogRecordExtra *extra = store.extraOf(record, i)) {
            copy.extra = quint32(snapshot.extras.size());
            snapshot.extras.push_back(*extra);
        } else {
            copy.extra = log::LogRecord::NoExtra;
        }
    }
    return snapshot;
}

bool LogFileController::runInBackground(const QString &label, const QString &cancelledMessage,
                                        const Work &work, QString *error) {
    m_cancelled = false;
    if (m_busy) {
        setError(error, tr("Another file is still being read or written"));
        return false;
    }
    m_busy = true;
    const auto notBusy = qScopeGuard([this] { m_busy = false; });

    // The worker writes these and reads the cancel flag; the dialog is this thread's.
    std::atomic<bool> cancelRequested = false;
    std::atomic<qint64> done = 0;
    std::atomic<qint64> total = -1;
    const auto progress = [&](qint64 doneNow, qint64 totalNow) {
        done.store(doneNow, std::memory_order_relaxed);
        total.store(totalNow, std::memory_order_relaxed);
        return !cancelRequested.load(std::memory_order_relaxed);
    };
    bool succeeded = false;
    QString workError;
    const std::unique_ptr<QThread> worker(
        QThread::create([&] { succeeded = work(&workError, progress); }));

    QProgressDialog dialog(label, tr("Cancel"), 0, 100, m_window);
    dialog.setWindowModality(Qt::WindowModal);
    dialog.setAutoReset(false);
    dialog.setAutoClose(false);
    dialog.setMinimumDuration(ProgressDialogDelayMs);
    // At the minimum the dialog starts its clock; it shows itself when that runs out.
    dialog.setValue(0);
    connect(&dialog, &QProgressDialog::canceled, &dialog, [&] { cancelRequested = true; });
    QTimer update;
    update.setInterval(ProgressUpdateMs);
    connect(&update, &QTimer::timeout, &dialog, [&] {
        // cancel() called on the dialog does not emit canceled().
        if (dialog.wasCanceled())
            cancelRequested = true;
        // A cancelled dialog has hidden itself and stays hidden.
        if (cancelRequested)
            return;
        const qint64 totalNow = total.load(std::memory_order_relaxed);
        const qint64 doneNow = done.load(std::memory_order_relaxed);
        if (totalNow > 0) {
            dialog.setValue(int(doneNow * 100 / totalNow));
        } else if (doneNow > 0 && dialog.maximum() != 0) {
            // Under way, but how far cannot be told: the dialog says it is busy.
            dialog.setRange(0, 0);
            dialog.setValue(0);
        }
    });

    QEventLoop loop;
    // Queued (the signal comes from the worker): it quits the loop even when the worker
    // is done before exec() starts.
    connect(worker.get(), &QThread::finished, &loop, &QEventLoop::quit);
    worker->start();
    update.start();
    loop.exec();
    // The loop also ends when the application quits; what the worker uses must
    // outlive it.
    if (!worker->isFinished())
        cancelRequested = true;
    worker->wait();
    update.stop();
    dialog.hide();

    if (succeeded)
        return true;
    if (cancelRequested) {
        m_cancelled = true;
        emit statusMessage(cancelledMessage, DoneMessageMs);
    }
    setError(error, workError);
    return false;
}

bool LogFileController::saveInBackground(const QString &label, const QString &path, QString *error,
                                         const Write &write) {
    // Taken here, on the log's thread; the worker reads only the copy and frees it.
    auto taken = std::make_shared<LogSnapshot>(snapshot());
    const qint64 records = qint64(taken->records.size());
    const Work work = [taken, records, path, write](QString *workError, const Progress &progress) {
        log::LogStore store;
        taken->moveInto(store);
        // Progress counts records where the writer says which one it has reached, and
        // bytes written (of an unknown total) where it does not.
        qsizetype reached = -1;
        const auto keepGoing = [&](qint64 written) {
            return reached >= 0 ? progress(reached, records) : progress(written, -1);
        };
        // A file that replaces `path` only when everything was written, so that a
        // failed or cancelled save leaves the old file as it was.
        QSaveFile file(path);
        if (file.open(QIODevice::WriteOnly)) {
            CancellableWriter device(file, keepGoing);
            device.open(QIODevice::WriteOnly | QIODevice::Unbuffered);
            const bool written =
                write(store, device, workError, [&](qsizetype index) { reached = index; });
            // A cancel that comes after the last write still keeps the old file.
            const bool cancelled = !progress(records, records);
            if (!written || cancelled) {
                file.cancelWriting();
                if (cancelled)
                    setError(workError, QStringLiteral("cancelled"));
                return false;
            }
            if (file.commit())
                return true;
        }
        setError(workError, QObject::tr("Cannot write %1: %2").arg(path, file.errorString()));
        return false;
    };
    return runInBackground(label, tr("Cancelled writing %1; the file is unchanged").arg(path), work,
                           error);
}

bool LogFileController::saveLog(const QString &path, QString *error) {
    return saveInBackground(tr("Saving %1\u2026").arg(QFileInfo(path).fileName()), path, error,
                            [](const log::LogStore &store, QIODevice &device, QString *writeError,
                               const std::function<void(qsizetype)> &reached) {
                                // Every record is asked about, in order: where the writer has got
                                // to.
                                return log::JsonLinesFile::save(store, device, writeError,
                                                                [&](qsizetype index) {
                                                                    reached(index);
                                                                    return true;
                                                                });
                            });
}

bool LogFileController::exportHar(const QString &path, QString *error) {
    return saveInBackground(tr("Exporting %1\u2026").arg(QFileInfo(path).fileName()), path, error,
                            [](const log::LogStore &store, QIODevice &device, QString *writeError,
                               const std::function<void(qsizetype)> &) {
                                // The records are grouped by connection before anything
                                // is written: progress is in bytes.
                                return log::HarFile::save(store, device, writeError);
                            });
}

bool LogFileController::openLog(const QString &path, QString *error) {
    log::LogStore file;
    const bool loaded = runInBackground(
        tr("Opening %1\u2026").arg(QFileInfo(path).fileName()),
        tr("Cancelled opening %1; the log is unchanged").arg(path),
        [&](QString *loadError, const Progress &progress) {
            return log::JsonLinesFile::open(path, file, loadError, progress);
        },
        error);
    if (!loaded)
        return false;
    m_log->clear();
    mergeStore(file, path);
    emit logLoaded();
    emit statusMessage(tr("Opened %1: %n row(s)", nullptr, int(file.size())).arg(path),
                       DoneMessageMs);
    return true;
}

bool LogFileController::importHar(const QString &path, QString *error) {
    log::LogStore file;
    const bool loaded = runInBackground(
        tr("Importing %1\u2026").arg(QFileInfo(path).fileName()),
        tr("Cancelled opening %1; the log is unchanged").arg(path),
        [&](QString *loadError, const Progress &progress) {
            return log::HarFile::open(path, file, loadError, progress);
        },
        error);
    if (!loaded)
        return false;
    mergeStore(file, path);
    emit logLoaded();
    emit statusMessage(
        tr("Imported %1: %n connection(s)", nullptr, int(file.connectionIds().size())).arg(path),
        DoneMessageMs);
    return true;
}

void LogFileController::mergeStore(const log::LogStore &store, const QString &path) {
    // A loaded connection is named after its file, so that "client 1" from a file is
    // never taken for the live "client 1"; a name from an earlier load loses that
    // file's mark first.
    static const QRegularExpression earlierFile(QStringLiteral(R"( \[[^\]]*\.(jsonl|har)\]$)"));
    const QString fileName = QFileInfo(path).fileName();
    const auto archive = [&](quint32 fileId) {
        log::ConnectionInfo info = store.connectionInfo(fileId);
        QString name = info.name.isEmpty() ? QStringLiteral("#%1").arg(fileId) : info.name;
        name.remove(earlierFile);
        info.name = tr("%1 [%2]").arg(name, fileName);
        return m_hub->addArchived(info);
    };
    // The file's connection ids may be those of live connections here: each of its
    // connections becomes a new tree node with a fresh id.
    QHash<quint32, quint32> ids;
    for (const quint32 id : store.connectionIds())
        ids.insert(id, archive(id));
    for (qsizetype i = 0; i < store.size(); ++i) {
        log::LogRecord record = store.at(i);
        auto it = ids.find(record.connection);
        if (it == ids.end())
            it = ids.insert(record.connection, archive(record.connection));
        record.connection = *it;
        const log::LogRecordExtra *extra = store.extra(i);
        m_log->appendRecord(record, extra ? *extra : log::LogRecordExtra{});
    }
    m_log->flush();
}

void LogFileController::fileAction(const QString &title, const QString &filter,
                                   const QString &suffix, bool save, const Operation &operation) {
    QSettings settings;
    QFileDialog dialog(m_window, title, settings.value(LastDirectoryKey).toString(), filter);
    dialog.setObjectName(QStringLiteral("logFileDialog"));
    dialog.setAcceptMode(save ? QFileDialog::AcceptSave : QFileDialog::AcceptOpen);
    dialog.setFileMode(save ? QFileDialog::AnyFile : QFileDialog::ExistingFile);
    // "capture" saved becomes capture.jsonl, which Open then lists.
    dialog.setDefaultSuffix(suffix);
    if (dialog.exec() != QDialog::Accepted || dialog.selectedFiles().isEmpty())
        return;
    const QString path = dialog.selectedFiles().constFirst();
    settings.setValue(LastDirectoryKey, QFileInfo(path).absolutePath());
    QString error;
    if (!operation(path, &error)) {
        // The status bar says so already; a cancel is not a failure to warn about.
        if (m_cancelled || error == QLatin1String("cancelled"))
            return;
        emit statusMessage(error, ErrorMessageMs);
        QMessageBox::warning(m_window, title, error);
        return;
    }
    if (save)
        emit statusMessage(tr("Saved %1").arg(path), DoneMessageMs);
}

void LogFileController::saveLogAs() {
    fileAction(tr("Save log"), tr("Workbench logs (*.jsonl);;All files (*)"),
               QStringLiteral("jsonl"), true,
               [this](const QString &path, QString *error) { return saveLog(path, error); });
}

void LogFileController::openLogFile() {
    fileAction(tr("Open log"), tr("Workbench logs (*.jsonl);;All files (*)"),
               QStringLiteral("jsonl"), false, [this](const QString &path, QString *error) {
                   return m_opener ? m_opener(path, false, error) : openLog(path, error);
               });
}

void LogFileController::exportHarAs() {
    fileAction(tr("Export HAR"), tr("HAR files (*.har);;All files (*)"), QStringLiteral("har"),
               true,
               [this](const QString &path, QString *error) { return exportHar(path, error); });
}

void LogFileController::importHarFile() {
    fileAction(tr("Import HAR"), tr("HAR files (*.har);;All files (*)"), QStringLiteral("har"),
               false, [this](const QString &path, QString *error) {
                   return m_opener ? m_opener(path, true, error) : importHar(path, error);
               });
}

} // namespace ws

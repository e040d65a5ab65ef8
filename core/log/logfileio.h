#pragma once

#include <QByteArray>
#include <QString>

#include <functional>
#include <optional>

class QIODevice;

namespace ws::log {

// What the JSON Lines and HAR readers and writers share.

// Which store records a writer takes; empty: all of them.
using RecordSelection = std::function<bool(qsizetype storeIndex)>;
// Progress of a long read: bytes consumed so far and the input's size (-1 when the
// device cannot tell). Called about every ProgressInterval bytes and once at the
// end, from the thread doing the reading; returning false cancels the read, which
// then fails with the error "cancelled" and leaves nothing of the file in the store.
using ReadProgress = std::function<bool(qint64 done, qint64 total)>;
inline constexpr qint64 ProgressInterval = qint64(1) << 20;

// The version the files name as their creator's.
const char *creatorVersion();

void setError(QString *error, const QString &text);
bool writeAll(QIODevice &device, const QByteArray &bytes, QString *error);

// Writers build their output in a buffer of about this size and hand it to the
// device a piece at a time, so a huge log is never one array in memory.
inline constexpr qsizetype WriteBufferSize = 1 << 20;
// Writes `buffer` once it has grown to WriteBufferSize and empties it.
bool flushWhenFull(QIODevice &device, QByteArray &buffer, QString *error);

// Runs `write` on a file that replaces `path` only when everything was written, so
// a failed save leaves the old file as it was.
bool saveToFile(const QString &path, QString *error,
                const std::function<bool(QIODevice &device)> &write);
bool readFromFile(const QString &path, QString *error,
                  const std::function<bool(QIODevice &device)> &read);

// Calls a read's progress callback every ProgressInterval bytes rather than every
// line, so that a callback that updates a progress bar costs nothing measurable.
class ProgressReporter {
public:
    ProgressReporter(const QIODevice &device, const ReadProgress &progress);

    qint64 total() const { return m_total; }
    qint64 done() const { return m_done; }
    // False when the callback asked to stop.
    bool consumed(qint64 bytes) {
        m_done += bytes;
        if (m_done - m_reported < ProgressInterval)
            return true;
        return report();
    }
    // For work after the last byte was read, which still has to be cancellable.
    bool report() {
        m_reported = m_done;
        return !m_progress || m_progress(m_done, m_total);
    }

private:
    const ReadProgress &m_progress;
    qint64 m_total;
    qint64 m_done;
    qint64 m_reported;
};

// Sets the error of a cancelled read; false.
bool cancelled(QString *error);

// Base64 that must be valid: a damaged payload is an error, not a shorter payload.
std::optional<QByteArray> strictBase64(const QString &text);

} // namespace ws::log

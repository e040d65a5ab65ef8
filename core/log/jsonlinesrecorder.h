#pragma once

#include "log/jsonlinesfile.h"
#include "log/logstore.h"

#include <QFile>
#include <QString>

#include <optional>

namespace ws::log {

// Writes the log of live sessions to a JSON Lines file as it happens, in the format
// JsonLinesFile reads. Events go through a LogStore, which turns them into records
// exactly as the window's log does; each record is written as soon as the store has
// committed it and then dropped from the store, so memory does not grow with the
// session. The file is flushed after every event, so a process that dies keeps what
// was logged up to then (less the one record a store may hold back). A connection's
// ClosedEvent also ends what the store knows about it, so a recorder that outlives
// many connections stays small.
class JsonLinesRecorder {
public:
    JsonLinesRecorder();
    ~JsonLinesRecorder(); // close()
    JsonLinesRecorder(const JsonLinesRecorder &) = delete;
    JsonLinesRecorder &operator=(const JsonLinesRecorder &) = delete;

    // Creates (or truncates) `path` and writes the header line.
    bool open(const QString &path, QString *error = nullptr);
    bool isOpen() const { return m_writer.has_value(); }
    // The store behind the recorder (what it still knows about connections).
    const LogStore &store() const { return m_store; }
    QString fileName() const { return m_file.fileName(); }

    // Writes a connection line; the reader takes it wherever it comes.
    void setConnectionInfo(quint32 connection, const ConnectionInfo &info);
    void append(quint32 connection, const SessionEvent &event);
    void appendRecord(const LogRecord &record, const LogRecordExtra &extra = {});

    // Writes the record the store still holds back, then flushes the file.
    bool flush();
    // flush(), then closes the file. Further events are ignored.
    bool close();

    // The first write error, empty while there is none. Writing stops at the first.
    QString errorString() const { return m_error; }

private:
    // Writes the records the store has committed and drops them from it.
    void writeCommitted();
    // writeCommitted(), then everything buffered goes to the file.
    void writeOut();

    LogStore m_store;
    QFile m_file;
    std::optional<JsonLinesWriter> m_writer;
    QString m_error;
};

} // namespace ws::log

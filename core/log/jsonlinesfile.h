#pragma once

#include "log/logfileio.h"
#include "log/logstore.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>

class QIODevice;

namespace ws::log {

// The native log format: JSON Lines. A header line, one line per connection, then
// one line per record with every field of the record (frame header bits, masking
// key, length encoding, the raw header in hex, the payload in base64, close code and
// reason, round trip, errors, notes, handshake). Writing and reading go a line at a
// time, so a log of millions of rows never becomes one JSON document in memory.
// Connection lines may also come between records (a log written as it happened).
class JsonLinesFile {
public:
    static constexpr int FormatVersion = 1;

    static bool save(const LogStore &store, QIODevice &device, QString *error = nullptr,
                     const RecordSelection &selection = {});
    static bool save(const LogStore &store, const QString &path, QString *error = nullptr,
                     const RecordSelection &selection = {});
    // Appends the file's records and connections to `store` (meant to be empty:
    // connection ids are kept as written).
    static bool open(QIODevice &device, LogStore &store, QString *error = nullptr,
                     const ReadProgress &progress = {});
    static bool open(const QString &path, LogStore &store, QString *error = nullptr,
                     const ReadProgress &progress = {});

    // One record as a JSON object, and back.
    static QJsonObject recordToJson(const LogRecord &record, const LogRecordExtra *extra);
    static bool recordFromJson(const QJsonObject &object, LogRecord &record, LogRecordExtra &extra,
                               QString *error = nullptr);
};

// Writes the lines of a JSON Lines log one by one, for a writer that does not hold
// the whole log: the header first, then connections and records in any order.
// Lines are gathered in a buffer that reaches the device when it is full or on
// flush().
class JsonLinesWriter {
public:
    explicit JsonLinesWriter(QIODevice &device);

    bool writeHeader(QString *error = nullptr);
    bool writeConnection(quint32 id, const ConnectionInfo &info, QString *error = nullptr);
    bool writeRecord(const LogRecord &record, const LogRecordExtra *extra,
                     QString *error = nullptr);
    // Hands what is buffered to the device (which may buffer it too).
    bool flush(QString *error = nullptr);

private:
    QIODevice &m_device;
    QByteArray m_buffer;
};

} // namespace ws::log

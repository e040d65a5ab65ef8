#pragma once

#include "logrecord.h"

#include <QJsonObject>
#include <QString>

#include <functional>

class QIODevice;

namespace ws {

// Saving and opening logs.
//
// The native format is JSON Lines: a header line, one line per connection, then one
// line per record with every field of the record (frame header bits, masking key,
// length encoding, the raw header in hex, the payload in base64, close code and
// reason, round trip, errors, notes, handshake). Writing and reading go a line at a
// time, so a log of millions of rows never becomes one JSON document in memory.
//
// HAR 1.2 is for exchange with browsers: export writes one entry per connection the
// way Chrome DevTools does (`_resourceType: "websocket"`, the handshake as request
// and response, the data messages in `_webSocketMessages`), and import reads the
// WebSocket entries of a HAR saved by Chrome DevTools.
class LogFile {
public:
    // Which store records to write; empty: all of them.
    using Selection = std::function<bool(qsizetype storeIndex)>;
    // Progress of a long read: bytes consumed so far and the input's size (-1 when
    // the device cannot tell). Called about every ProgressInterval bytes and once at
    // the end, from the thread doing the reading; returning false cancels the read,
    // which then fails with the error "cancelled" and leaves nothing of the file in
    // the store.
    using Progress = std::function<bool(qint64 done, qint64 total)>;
    static constexpr qint64 ProgressInterval = qint64(1) << 20;

    static constexpr int FormatVersion = 1;

    static bool saveJsonLines(const LogStore &store, QIODevice &device, QString *error = nullptr,
                              const Selection &selection = {});
    static bool saveJsonLines(const LogStore &store, const QString &path, QString *error = nullptr,
                              const Selection &selection = {});
    // Appends the file's records and connections to `store` (meant to be empty:
    // connection ids are kept as written).
    static bool openJsonLines(QIODevice &device, LogStore &store, QString *error = nullptr,
                              const Progress &progress = {});
    static bool openJsonLines(const QString &path, LogStore &store, QString *error = nullptr,
                              const Progress &progress = {});

    static bool exportHar(const LogStore &store, QIODevice &device, QString *error = nullptr,
                          const Selection &selection = {});
    static bool exportHar(const LogStore &store, const QString &path, QString *error = nullptr,
                          const Selection &selection = {});
    // Every WebSocket entry becomes a new connection (ids from
    // store.unusedConnectionId()); its handshake and messages become records, in
    // time order across connections. Other entries are skipped.
    // A HAR is one JSON document: progress covers reading it and turning its entries
    // into records, not the parse of the document in between.
    static bool importHar(QIODevice &device, LogStore &store, QString *error = nullptr,
                          const Progress &progress = {});
    static bool importHar(const QString &path, LogStore &store, QString *error = nullptr,
                          const Progress &progress = {});

    // One record as a JSON object, and back.
    static QJsonObject recordToJson(const LogRecord &record, const LogRecordExtra *extra);
    static bool recordFromJson(const QJsonObject &object, LogRecord &record, LogRecordExtra &extra,
                               QString *error = nullptr);
};

} // namespace ws

#pragma once

#include "log/logfileio.h"
#include "log/logstore.h"

#include <QString>

class QIODevice;

namespace ws::log {

// HAR 1.2, for exchange with browsers. Saving writes one entry per connection the
// way Chrome DevTools does (`_resourceType: "websocket"`, the handshake as request
// and response, the data messages in `_webSocketMessages`); opening reads the
// WebSocket entries of a HAR saved by Chrome DevTools.
class HarFile {
public:
    static bool save(const LogStore &store, QIODevice &device, QString *error = nullptr,
                     const RecordSelection &selection = {});
    static bool save(const LogStore &store, const QString &path, QString *error = nullptr,
                     const RecordSelection &selection = {});
    // Every WebSocket entry becomes a new connection (ids from
    // store.unusedConnectionId()); its handshake and messages become records, in
    // time order across connections. Other entries are skipped.
    // A HAR is one JSON document: progress covers reading it and turning its entries
    // into records, not the parse of the document in between.
    static bool open(QIODevice &device, LogStore &store, QString *error = nullptr,
                     const ReadProgress &progress = {});
    static bool open(const QString &path, LogStore &store, QString *error = nullptr,
                     const ReadProgress &progress = {});
};

} // namespace ws::log

#pragma once

#include "protocol/session.h"

#include <QMetaType>

Q_DECLARE_METATYPE(ws::SessionEvent)

namespace ws {

// Makes ws::SessionEvent and ws::SessionState usable in queued connections.
// Idempotent; ClientConnection and Server call it on construction.
void registerNetMetaTypes();

} // namespace ws

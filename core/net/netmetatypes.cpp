#include "net/netmetatypes.h"

namespace ws {

void registerNetMetaTypes() {
    // Queued connections copy signal arguments through the meta-type system.
    static const bool registered = [] {
        qRegisterMetaType<ws::SessionEvent>();
        qRegisterMetaType<ws::SessionState>();
        return true;
    }();
    Q_UNUSED(registered);
}

} // namespace ws

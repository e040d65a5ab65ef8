#include "net/noglibdispatchers.h"

#include <QByteArray>
#include <QtGlobal>

namespace ws {

NoGlibDispatchersWhileInScope::NoGlibDispatchersWhileInScope()
    : m_set(!qEnvironmentVariableIsSet("QT_NO_GLIB")) {
    if (m_set)
        qputenv("QT_NO_GLIB", "1");
}

NoGlibDispatchersWhileInScope::~NoGlibDispatchersWhileInScope() {
    if (m_set)
        qunsetenv("QT_NO_GLIB");
}

} // namespace ws

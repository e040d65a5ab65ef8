#include "endpointinfo.h"

#include "protocol/closecode.h"

#include <QCoreApplication>

namespace ws {

QString endpointStateText(const EndpointInfo &info) {
    const auto tr = [](const char *text) {
        return QCoreApplication::translate("ws::EndpointInfo", text);
    };
    if (info.kind == EndpointInfo::Kind::Archived)
        return tr("from log file");
    if (info.isListener()) {
        if (info.listening)
            return tr("listening");
        return info.finished ? tr("stopped") : tr("stopping");
    }
    if (info.state != SessionState::Closed || !info.closeCode)
        return QString::fromLatin1(stateName(info.state));
    return tr("closed %1 (%2)")
        .arg(*info.closeCode)
        .arg(QLatin1String(closeCodeMeaning(*info.closeCode)));
}

} // namespace ws

#include "windows/windowapplication.h"

#include "net/epolleventdispatcher.h"
#include "net/noglibdispatchers.h"

#include <QAbstractEventDispatcher>
#include <QPointer>
#include <QtGui/private/qguiapplication_p.h>
#include <qpa/qplatformintegration.h>

namespace ws {

std::unique_ptr<QApplication> createWindowApplication(int &argc, char **argv) {
    if (qgetenv("WSW_EVENT_DISPATCHER") == "qt")
        return std::make_unique<QApplication>(argc, argv);
    auto owned = std::make_unique<EpollEventDispatcher>();
    if (!owned->isValid())
        return std::make_unique<QApplication>(argc, argv);
    EpollEventDispatcher *dispatcher = owned.get();
    QCoreApplication::setEventDispatcher(owned.release());
    QCoreApplication::setAttribute(Qt::AA_DontUseNativeDialogs);

    // The platform plugin's dispatcher below: GLib's would run the whole default GLib
    // context at every woken pass.
    const NoGlibDispatchersWhileInScope noGlib;
    auto app = std::make_unique<QApplication>(argc, argv);
    QPointer<QAbstractEventDispatcher> platform(
        QGuiApplicationPrivate::platformIntegration()->createEventDispatcher());
    if (!platform)
        qFatal("wsworkbench: the platform plugin made no event dispatcher");
    platform->setParent(app.get());
    dispatcher->setWakeUpHandler([platform](QEventLoop::ProcessEventsFlags flags) {
        return platform && platform->processEvents(flags);
    });
    return app;
}

bool windowWaitsOnEpoll() {
    return EpollEventDispatcher::ofThisThread() != nullptr;
}

} // namespace ws

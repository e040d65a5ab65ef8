#include "windows/windowapplication.h"

#include "net/epolleventdispatcher.h"

#include <QAbstractEventDispatcher>
#include <QPointer>
#include <QtGui/private/qguiapplication_p.h>
#include <qpa/qplatformintegration.h>

namespace ws {

namespace {

// The platform plugins make a dispatcher on poll(2) rather than one on GLib's loop
// while QT_NO_GLIB is set: GLib's would run the whole default GLib context at every
// woken pass. Set only while the application and that dispatcher are made (unless the
// user set it), so that no process started later sees it.
class NoGlibWhileMaking {
public:
    NoGlibWhileMaking()
        : m_set(!qEnvironmentVariableIsSet("QT_NO_GLIB")) {
        if (m_set)
            qputenv("QT_NO_GLIB", "1");
    }
    ~NoGlibWhileMaking() {
        if (m_set)
            qunsetenv("QT_NO_GLIB");
    }
    NoGlibWhileMaking(const NoGlibWhileMaking &) = delete;
    NoGlibWhileMaking &operator=(const NoGlibWhileMaking &) = delete;

private:
    bool m_set;
};

} // namespace

std::unique_ptr<QApplication> createWindowApplication(int &argc, char **argv) {
    if (qgetenv("WSW_EVENT_DISPATCHER") == "qt")
        return std::make_unique<QApplication>(argc, argv);
    auto owned = std::make_unique<EpollEventDispatcher>();
    if (!owned->isValid())
        return std::make_unique<QApplication>(argc, argv);
    EpollEventDispatcher *dispatcher = owned.get();
    QCoreApplication::setEventDispatcher(owned.release());
    QCoreApplication::setAttribute(Qt::AA_DontUseNativeDialogs);

    const NoGlibWhileMaking noGlib;
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

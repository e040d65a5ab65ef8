#pragma once

#include <QApplication>

#include <memory>

namespace ws {

// The window's application object, its main thread waiting on epoll(7)
// (EpollEventDispatcher), as the command-line tool's does: the window's relay, server
// and clients hold a socket each, and Qt's dispatchers hand every one of them to
// poll(2) at each wait; on epoll a connection also reads its plain TCP socket straight
// from the dispatcher's readiness (EpollEventDispatcher::shortcutReads()).
//
// The platform's events (X11, Wayland, offscreen) are read by the platform plugin
// into its own queue, which announces new ones by waking the main thread's dispatcher
// up. The plugin's own dispatcher, made here but not installed, delivers them in each
// pass that was woken up (EpollEventDispatcher::setWakeUpHandler()). Qt's dialogs
// stand in for GTK's native ones (Qt::AA_DontUseNativeDialogs), which would need GLib's
// loop.
//
// WSW_EVENT_DISPATCHER=qt keeps Qt's own dispatcher, to compare the two or to step
// around a platform that does not get along with this one.
std::unique_ptr<QApplication> createWindowApplication(int &argc, char **argv);

// Whether the calling thread waits on epoll (createWindowApplication() installed it).
bool windowWaitsOnEpoll();

} // namespace ws

#pragma once

namespace ws {

// While one exists, the event dispatchers Qt makes are its own on poll(2) rather than
// GLib's: QT_NO_GLIB is set for its lifetime, unless the user set it, so that no
// process started later sees it. For the dispatchers made beside EpollEventDispatcher
// (Qt's own when the user asks for it, a platform plugin's), which need nothing from
// GLib.
class NoGlibDispatchersWhileInScope {
public:
    NoGlibDispatchersWhileInScope();
    ~NoGlibDispatchersWhileInScope();
    NoGlibDispatchersWhileInScope(const NoGlibDispatchersWhileInScope &) = delete;
    NoGlibDispatchersWhileInScope &operator=(const NoGlibDispatchersWhileInScope &) = delete;

private:
    bool m_set;
};

} // namespace ws

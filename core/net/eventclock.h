#pragma once

#include <QtGlobal>

#include <chrono>

namespace ws {

// The one clock every event of the process is stamped with: monotonic, in
// microseconds since the clock was first read, and anchored to the wall clock once,
// at that first read. Connections, servers, the command line and the log all read
// it, so times taken on different connections compare directly: a broadcast copy
// is never stamped before the message that caused it, and a log converts every
// event to wall-clock time with the same offset. Header-only, so that the log (which
// does not link the network layer) shares the very same anchor.
class EventClock {
public:
    // Microseconds since the anchor; never decreases.
    static qint64 nowUs() { return toUs(std::chrono::steady_clock::now() - anchor().steady); }
    static qint64 nowMs() { return nowUs() / 1000; }

    // What to add to a time of this clock to get microseconds since the Unix epoch.
    static qint64 epochOffsetUs() { return anchor().epochUs; }
    static qint64 toEpochUs(qint64 clockUs) { return clockUs + epochOffsetUs(); }

private:
    struct Anchor {
        std::chrono::steady_clock::time_point steady;
        qint64 epochUs;
    };
    template <typename Duration> static qint64 toUs(Duration d) {
        return qint64(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
    }
    // Read once per process (thread-safe static initialisation); an inline function's
    // static is one object for the whole program, whichever library includes this.
    static const Anchor &anchor() {
        static const Anchor a{std::chrono::steady_clock::now(),
                              toUs(std::chrono::system_clock::now().time_since_epoch())};
        return a;
    }
};

} // namespace ws

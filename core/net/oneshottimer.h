#pragma once

#include <QBasicTimer>
#include <QTimerEvent>

namespace ws {

// QBasicTimer used as a single-shot timer, for objects that open and close by the
// thousand a second (a relay's legs and pairs) and so keep no QTimer objects: in
// timerEvent(), true when `event` is `timer`'s, which is then stopped (a QBasicTimer
// repeats until stopped).
inline bool firedOnce(QBasicTimer &timer, const QTimerEvent *event) {
    if (event->timerId() != timer.timerId()) // a stopped timer's id is -1: never
        return false;
    timer.stop();
    return true;
}

} // namespace ws

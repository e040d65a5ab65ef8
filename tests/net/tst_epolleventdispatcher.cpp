// The epoll event dispatcher as the main thread's: posted events, timers, socket
// notifiers (level-triggered, disabled, deleted before their turn, descriptors closed
// and reused, regular files), read shortcuts, waking from another thread, nested loops,
// and real TCP sockets on it.

#include "net/epolleventdispatcher.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QRegularExpression>
#include <QScopeGuard>
#include <QSet>
#include <QSocketNotifier>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryFile>
#include <QTest>
#include <QTimer>

#include <algorithm>
#include <array>
#include <functional>
#include <memory>
#include <random>
#include <thread>

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace ws;

namespace {

// A connected pair of stream sockets, closed at the end unless taken.
struct SocketPair {
    int fds[2] = {-1, -1};
    SocketPair() { QVERIFY(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0); }
    ~SocketPair() {
        for (const int fd : fds) {
            if (fd >= 0)
                ::close(fd);
        }
    }
    void write(int side, const char *bytes = "x") const {
        QCOMPARE(::write(fds[side], bytes, strlen(bytes)), ssize_t(strlen(bytes)));
    }
    void drain(int side) const { drainDescriptor(fds[side]); }
    static void drainDescriptor(int fd) {
        char buffer[256];
        while (::read(fd, buffer, sizeof buffer) > 0) {
        }
    }
};

// The sum of the counters of this process's eventfd(2) descriptors
// (/proc/self/fdinfo): the dispatcher's wake-up descriptor among them.
quint64 eventFdCounts() {
    quint64 total = 0;
    DIR *directory = ::opendir("/proc/self/fd");
    if (!directory)
        return 0;
    while (const dirent *entry = ::readdir(directory)) {
        const QByteArray name = entry->d_name;
        char target[64] = {};
        if (::readlink("/proc/self/fd/" + name, target, sizeof target - 1) <= 0 ||
            qstrcmp(target, "anon_inode:[eventfd]") != 0)
            continue;
        QFile info(QStringLiteral("/proc/self/fdinfo/") + QString::fromLatin1(name));
        if (!info.open(QIODevice::ReadOnly))
            continue;
        for (const QByteArray &line : info.readAll().split('\n')) {
            if (line.startsWith("eventfd-count:"))
                total += line.mid(14).trimmed().toULongLong(nullptr, 16);
        }
    }
    ::closedir(directory);
    return total;
}

// Runs the loop until condition() holds or timeoutMs passes; true if it held. A
// ticking timer bounds each wait.
template <typename Condition> bool runUntil(Condition condition, int timeoutMs = 5000) {
    QTimer tick;
    tick.start(20);
    QElapsedTimer clock;
    clock.start();
    while (!condition() && clock.elapsed() < timeoutMs)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    return condition();
}

// Lets the loop run for ms milliseconds whatever happens.
void runFor(int ms) {
    QEventLoop loop;
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    loop.exec();
}

// A read notifier that counts its activations and reads all there is at each.
class CountingReader : public QSocketNotifier {
public:
    explicit CountingReader(int fd)
        : QSocketNotifier(fd, QSocketNotifier::Read) {
        connect(this, &QSocketNotifier::activated, this, [this] {
            ++reads;
            SocketPair::drainDescriptor(int(socket()));
        });
    }
    int reads = 0;
};

// A read shortcut that counts its calls and, when it takes them, drains the descriptor.
class CountingShortcut final : public EpollEventDispatcher::ReadShortcut {
public:
    explicit CountingShortcut(int fd)
        : m_fd(fd) {}
    bool readReady() override {
        ++calls;
        if (takes)
            SocketPair::drainDescriptor(m_fd);
        return takes;
    }
    int calls = 0;
    bool takes = true;

private:
    int m_fd;
};

// Sees every event of the application before its receiver does.
class EventWatcher : public QObject {
public:
    explicit EventWatcher(std::function<void(QObject *, QEvent *)> onEvent)
        : m_onEvent(std::move(onEvent)) {
        QCoreApplication::instance()->installEventFilter(this);
    }
    ~EventWatcher() override { QCoreApplication::instance()->removeEventFilter(this); }

protected:
    bool eventFilter(QObject *receiver, QEvent *event) override {
        m_onEvent(receiver, event);
        return false;
    }

private:
    std::function<void(QObject *, QEvent *)> m_onEvent;
};

class CountingObject : public QObject {
public:
    QList<int> firedIds;
    std::function<void(int)> onTimer;

protected:
    void timerEvent(QTimerEvent *event) override {
        firedIds.append(event->timerId());
        if (onTimer)
            onTimer(event->timerId());
    }
};

} // namespace

class TestEpollEventDispatcher : public QObject {
    Q_OBJECT

private slots:
    void isTheMainThreadsDispatcher();
    void postedEventsAndQueuedCalls();
    void timersFireInOrderAndRepeat();
    void timerInfoAndRemainingTime();
    void manyTimersFireInTheOrderOfTheirDeadlines();
    void zeroTimerDoesNotStarveNotifiers();
    void timerNotActivatedAgainFromANestedLoop();
    void blockedLoopWakesForEventFromAnotherThread();
    void wakeUpHandlerRunsInWokenPasses();
    void eventPostedOnTheLoopsThreadWritesNoWakeUp();
    void readNotifierIsLevelTriggered();
    void disabledNotifierIsNotActivated();
    void readAndWriteNotifiersOnOneDescriptor();
    void hangUpWakesTheReadNotifier();
    void notifierDeletedBeforeItsTurnIsNotActivated();
    void descriptorClosedAndReusedIsWatchedAgain();
    void descriptorClosedUnderAnEnabledNotifier();
    void regularFileIsAlwaysReady();
    void readShortcutTakesTheNotifiersTurn();
    void readShortcutGoesWithItsNotifier();
    void tcpEchoOfOneMebibyte();
    void randomChangesKeepTheRules();
};

void TestEpollEventDispatcher::isTheMainThreadsDispatcher() {
    QVERIFY(qobject_cast<EpollEventDispatcher *>(QAbstractEventDispatcher::instance()));
}

void TestEpollEventDispatcher::postedEventsAndQueuedCalls() {
    QStringList order;
    QObject context;
    QMetaObject::invokeMethod(
        &context, [&] { order << "first"; }, Qt::QueuedConnection);
    QTimer::singleShot(0, &context, [&] { order << "second"; });
    QMetaObject::invokeMethod(
        &context, [&] { order << "third"; }, Qt::QueuedConnection);
    QVERIFY(runUntil([&] { return order.size() == 3; }));
    QCOMPARE(order, (QStringList{"first", "second", "third"}));

    // Deleted once control is back in the loop that was running at deleteLater().
    QEventLoop loop;
    bool deleted = false;
    auto *doomed = new QObject;
    connect(doomed, &QObject::destroyed, &loop, [&] {
        deleted = true;
        loop.quit();
    });
    QTimer::singleShot(0, doomed, &QObject::deleteLater);
    QTimer::singleShot(5000, &loop, &QEventLoop::quit);
    loop.exec();
    QVERIFY(deleted);
}

void TestEpollEventDispatcher::timersFireInOrderAndRepeat() {
    QStringList order;
    QObject context;
    QTimer::singleShot(60, Qt::PreciseTimer, &context, [&] { order << "60"; });
    QTimer::singleShot(20, Qt::PreciseTimer, &context, [&] { order << "20"; });
    QTimer::singleShot(40, Qt::CoarseTimer, &context, [&] { order << "40"; });
    int ticks = 0;
    QTimer repeating;
    repeating.setInterval(10);
    connect(&repeating, &QTimer::timeout, [&] {
        if (++ticks == 5)
            repeating.stop();
    });
    QElapsedTimer clock;
    clock.start();
    repeating.start();
    QVERIFY(runUntil([&] { return order.size() == 3 && ticks == 5; }));
    QCOMPARE(order, (QStringList{"20", "40", "60"}));
    QVERIFY2(clock.elapsed() >= 60, qPrintable(QString::number(clock.elapsed())));
    runFor(50);
    QCOMPARE(ticks, 5); // stopped from its own timeout
}

void TestEpollEventDispatcher::timerInfoAndRemainingTime() {
    auto *dispatcher = QAbstractEventDispatcher::instance();
    CountingObject object;
    const int precise = object.startTimer(500, Qt::PreciseTimer);
    const int veryCoarse = object.startTimer(1400, Qt::VeryCoarseTimer);
    const int coarseLong = object.startTimer(25'300, Qt::CoarseTimer);
    const auto timers = dispatcher->registeredTimers(&object);
    QCOMPARE(timers.size(), 3);
    for (const auto &timer : timers) {
        if (timer.timerId == precise)
            QCOMPARE(timer.interval, 500);
        else if (timer.timerId == veryCoarse)
            QCOMPARE(timer.interval, 1000); // whole seconds
        else
            QCOMPARE(timer.interval, 25'000);
    }
    const int left = dispatcher->remainingTime(precise);
    QVERIFY2(left > 400 && left <= 500, qPrintable(QString::number(left)));
    QVERIFY(dispatcher->unregisterTimer(precise));
    QCOMPARE(dispatcher->remainingTime(precise), -1);
    QVERIFY(!dispatcher->unregisterTimer(precise));
    QVERIFY(dispatcher->unregisterTimers(&object));
    QVERIFY(dispatcher->registeredTimers(&object).isEmpty());
    Q_UNUSED(coarseLong);
}

void TestEpollEventDispatcher::manyTimersFireInTheOrderOfTheirDeadlines() {
    // 150 timers 5 ms apart, started in a shuffled order; each stops at its first event.
    CountingObject object;
    QList<int> intervals;
    for (int i = 0; i < 150; ++i)
        intervals.append(i * 5);
    std::mt19937 random(12345);
    std::shuffle(intervals.begin(), intervals.end(), random);
    QHash<int, int> intervalOf;
    for (const int interval : intervals)
        intervalOf.insert(object.startTimer(interval, Qt::PreciseTimer), interval);
    object.onTimer = [&](int id) { object.killTimer(id); };
    QVERIFY(runUntil([&] { return object.firedIds.size() == 150; }));
    QList<int> fired;
    for (const int id : std::as_const(object.firedIds))
        fired.append(intervalOf.value(id));
    QList<int> sorted = fired;
    std::sort(sorted.begin(), sorted.end());
    QCOMPARE(fired, sorted);
    runFor(20);
    QCOMPARE(object.firedIds.size(), 150);
}

void TestEpollEventDispatcher::zeroTimerDoesNotStarveNotifiers() {
    SocketPair pair;
    int zeroTicks = 0;
    QTimer zero;
    zero.setInterval(0);
    connect(&zero, &QTimer::timeout, [&] { ++zeroTicks; });
    zero.start();
    CountingReader reader(pair.fds[0]);
    pair.write(1);
    QVERIFY(runUntil([&] { return reader.reads == 1; }));
    QVERIFY(zeroTicks > 0);
    const int before = zeroTicks;
    QVERIFY(runUntil([&] { return zeroTicks > before + 10; }));
}

void TestEpollEventDispatcher::timerNotActivatedAgainFromANestedLoop() {
    CountingObject object;
    int depth = 0;
    int maxDepth = 0;
    object.onTimer = [&](int) {
        ++depth;
        maxDepth = std::max(maxDepth, depth);
        if (object.firedIds.size() == 1)
            runFor(60); // the timer (10 ms) comes due again meanwhile
        --depth;
    };
    const int id = object.startTimer(10, Qt::PreciseTimer);
    QVERIFY(runUntil([&] { return object.firedIds.size() >= 3; }));
    object.killTimer(id);
    QCOMPARE(maxDepth, 1);
}

void TestEpollEventDispatcher::blockedLoopWakesForEventFromAnotherThread() {
    QEventLoop loop;
    QElapsedTimer clock;
    clock.start();
    std::thread poster([&loop] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        QMetaObject::invokeMethod(&loop, "quit", Qt::QueuedConnection);
    });
    bool guardFired = false;
    QTimer::singleShot(10'000, &loop, [&] {
        guardFired = true;
        loop.quit();
    });
    loop.exec();
    poster.join();
    QVERIFY(!guardFired);
    QVERIFY(clock.elapsed() >= 45);
}

void TestEpollEventDispatcher::wakeUpHandlerRunsInWokenPasses() {
    EpollEventDispatcher *dispatcher = EpollEventDispatcher::ofThisThread();
    QVERIFY(dispatcher);
    // Nothing left from earlier tests to wake the next passes.
    for (int i = 0; i < 5; ++i)
        QCoreApplication::processEvents();
    QList<QEventLoop::ProcessEventsFlags> calls;
    bool delivers = false;
    dispatcher->setWakeUpHandler([&](QEventLoop::ProcessEventsFlags flags) {
        calls << flags;
        return delivers;
    });
    const auto unset = qScopeGuard([dispatcher] { dispatcher->setWakeUpHandler({}); });

    // The first pass runs it, woken or not; a pass nobody woke does not.
    QCoreApplication::processEvents();
    QCOMPARE(calls.size(), 1);
    QCoreApplication::processEvents();
    QCoreApplication::processEvents();
    QCOMPARE(calls.size(), 1);

    // Woken from another thread while waiting: the handler runs, without
    // WaitForMoreEvents, and what it returns counts as the pass's activity.
    delivers = true;
    std::thread waker([dispatcher] {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        dispatcher->wakeUp();
    });
    bool active = false;
    for (int pass = 0; pass < 100 && calls.size() == 1; ++pass) {
        // A timer of the test framework's may end a wait first.
        active = QCoreApplication::eventDispatcher()->processEvents(
            QEventLoop::WaitForMoreEvents | QEventLoop::ExcludeSocketNotifiers);
    }
    waker.join();
    QVERIFY(active);
    QCOMPARE(calls.size(), 2);
    QCOMPARE(calls.last(), QEventLoop::ProcessEventsFlags(QEventLoop::ExcludeSocketNotifiers));
    delivers = false;

    // An event posted on this thread wakes the next pass.
    QObject context;
    QMetaObject::invokeMethod(
        &context, [] {}, Qt::QueuedConnection);
    QCoreApplication::processEvents();
    QCOMPARE(calls.size(), 3);
    QCoreApplication::processEvents();
    QCOMPARE(calls.size(), 3);

    // A pass that held user input back runs it in the next pass too, woken or not.
    dispatcher->wakeUp();
    QCoreApplication::processEvents(QEventLoop::ExcludeUserInputEvents);
    QCOMPARE(calls.size(), 4);
    QCOMPARE(calls.last(), QEventLoop::ProcessEventsFlags(QEventLoop::ExcludeUserInputEvents));
    QCoreApplication::processEvents();
    QCOMPARE(calls.size(), 5);
    QCoreApplication::processEvents();
    QCOMPARE(calls.size(), 5);

    // Unset, it hears nothing more.
    dispatcher->setWakeUpHandler({});
    dispatcher->wakeUp();
    QCoreApplication::processEvents();
    QCOMPARE(calls.size(), 5);
}

void TestEpollEventDispatcher::eventPostedOnTheLoopsThreadWritesNoWakeUp() {
    for (int i = 0; i < 5; ++i)
        QCoreApplication::processEvents();
    QCOMPARE(eventFdCounts(), quint64(0));

    // Posted from this thread (the loop's): nothing written, and still the pass does
    // not wait for something else to happen once it has delivered the event. A guard
    // timer ends a wait that should not have happened, and ends the loop.
    QEventLoop loop;
    bool guardFired = false;
    QTimer guard;
    guard.setSingleShot(true);
    connect(&guard, &QTimer::timeout, &loop, [&] {
        guardFired = true;
        loop.quit();
    });
    QObject context;
    int delivered = 0;
    guard.start(5'000);
    QTimer::singleShot(0, &context, [&] {
        // Posted by a handler in the middle of a pass, after the posted events went:
        // the same pass must not block in its wait.
        QMetaObject::invokeMethod(
            &context,
            [&] {
                ++delivered;
                loop.quit();
            },
            Qt::QueuedConnection);
        QCOMPARE(eventFdCounts(), quint64(0));
    });
    loop.exec();
    QVERIFY(!guardFired);
    QCOMPARE(delivered, 1);

    QMetaObject::invokeMethod(
        &context, [&] { ++delivered; }, Qt::QueuedConnection);
    QCOMPARE(eventFdCounts(), quint64(0));
    guard.start(5'000);
    QCoreApplication::eventDispatcher()->processEvents(QEventLoop::WaitForMoreEvents);
    QCOMPARE(delivered, 2);
    // That pass delivered the event first, then did not wait: the guard is still due.
    QVERIFY(guard.isActive());
    guard.stop();

    // From another thread the wake-up descriptor is written, as before (and this test
    // sees it): the loop reads it on its next pass.
    std::thread poster([&context, &delivered] {
        QMetaObject::invokeMethod(
            &context, [&delivered] { ++delivered; }, Qt::QueuedConnection);
    });
    poster.join();
    QVERIFY(eventFdCounts() > 0);
    QVERIFY(runUntil([&] { return delivered == 3; }));
    QCoreApplication::processEvents();
    QCOMPARE(eventFdCounts(), quint64(0));
}

void TestEpollEventDispatcher::readNotifierIsLevelTriggered() {
    SocketPair pair;
    int activations = 0;
    QSocketNotifier notifier(pair.fds[0], QSocketNotifier::Read);
    connect(&notifier, &QSocketNotifier::activated, [&] {
        // Reads one byte of three: still readable, so activated again.
        char byte = 0;
        if (::read(pair.fds[0], &byte, 1) == 1)
            ++activations;
    });
    pair.write(1, "abc");
    QVERIFY(runUntil([&] { return activations == 3; }));
    runFor(30);
    QCOMPARE(activations, 3);
}

void TestEpollEventDispatcher::disabledNotifierIsNotActivated() {
    SocketPair pair;
    int activations = 0;
    QSocketNotifier notifier(pair.fds[0], QSocketNotifier::Read);
    connect(&notifier, &QSocketNotifier::activated, [&] { ++activations; });
    notifier.setEnabled(false);
    pair.write(1);
    runFor(30);
    QCOMPARE(activations, 0);
    notifier.setEnabled(true);
    QVERIFY(runUntil([&] { return activations > 0; }));
    notifier.setEnabled(false);
    const int seen = activations;
    runFor(30);
    QCOMPARE(activations, seen);
}

void TestEpollEventDispatcher::readAndWriteNotifiersOnOneDescriptor() {
    SocketPair pair;
    int writes = 0;
    CountingReader reader(pair.fds[0]);
    QSocketNotifier writer(pair.fds[0], QSocketNotifier::Write);
    connect(&writer, &QSocketNotifier::activated, [&] {
        ++writes;
        writer.setEnabled(false);
    });
    QVERIFY(runUntil([&] { return writes == 1; }));
    QCOMPARE(reader.reads, 0);
    pair.write(1);
    QVERIFY(runUntil([&] { return reader.reads == 1; }));
    // Switching the writer off left the reader in place, and the other way round.
    reader.setEnabled(false);
    writer.setEnabled(true);
    pair.write(1);
    QVERIFY(runUntil([&] { return writes == 2; }));
    runFor(20);
    QCOMPARE(reader.reads, 1);
    reader.setEnabled(true);
    QVERIFY(runUntil([&] { return reader.reads == 2; }));
}

void TestEpollEventDispatcher::hangUpWakesTheReadNotifier() {
    SocketPair pair;
    bool endSeen = false;
    QSocketNotifier notifier(pair.fds[0], QSocketNotifier::Read);
    connect(&notifier, &QSocketNotifier::activated, [&] {
        char byte = 0;
        if (::read(pair.fds[0], &byte, 1) == 0) {
            endSeen = true;
            notifier.setEnabled(false);
        }
    });
    ::close(pair.fds[1]);
    pair.fds[1] = -1;
    QVERIFY(runUntil([&] { return endSeen; }));
}

void TestEpollEventDispatcher::readShortcutTakesTheNotifiersTurn() {
    EpollEventDispatcher *dispatcher = EpollEventDispatcher::ofThisThread();
    QVERIFY(dispatcher);
    SocketPair pair;
    CountingShortcut shortcut(pair.fds[0]);
    // No read notifier yet: nothing to stand in for.
    QVERIFY(!dispatcher->shortcutReads(pair.fds[0], &shortcut));
    CountingReader reader(pair.fds[0]);
    QVERIFY(dispatcher->shortcutReads(pair.fds[0], &shortcut));
    // Readable: the shortcut hears of it, the notifier does not.
    pair.write(1, "one");
    QVERIFY(runUntil([&] { return shortcut.calls == 1; }));
    runFor(50);
    QCOMPARE(shortcut.calls, 1);
    QCOMPARE(reader.reads, 0);
    // A shortcut that does not take it leaves it to the notifier, in the same pass.
    shortcut.takes = false;
    pair.write(1, "two");
    QVERIFY(runUntil([&] { return reader.reads == 1; }));
    QCOMPARE(shortcut.calls, 2);
    // Dropped, it hears nothing more.
    shortcut.takes = true;
    dispatcher->dropReadShortcut(pair.fds[0], &shortcut);
    pair.write(1, "three");
    QVERIFY(runUntil([&] { return reader.reads == 2; }));
    QCOMPARE(shortcut.calls, 2);
    // Another shortcut's drop leaves this one in place.
    QVERIFY(dispatcher->shortcutReads(pair.fds[0], &shortcut));
    CountingShortcut other(pair.fds[0]);
    dispatcher->dropReadShortcut(pair.fds[0], &other);
    pair.write(1, "four");
    QVERIFY(runUntil([&] { return shortcut.calls == 3; }));
    QCOMPARE(reader.reads, 2);
}

void TestEpollEventDispatcher::readShortcutGoesWithItsNotifier() {
    EpollEventDispatcher *dispatcher = EpollEventDispatcher::ofThisThread();
    SocketPair pair;
    CountingShortcut shortcut(pair.fds[0]);
    auto reader = std::make_unique<CountingReader>(pair.fds[0]);
    QVERIFY(dispatcher->shortcutReads(pair.fds[0], &shortcut));
    // Disabled and enabled again (QTcpSocket stops watching a descriptor nobody
    // reads, and watches it again at the next read): the notifier's own again.
    reader->setEnabled(false);
    reader->setEnabled(true);
    pair.write(1, "one");
    QVERIFY(runUntil([&] { return reader->reads == 1; }));
    QCOMPARE(shortcut.calls, 0);
    // Bound again, then the notifier deleted and another made for the descriptor (a
    // closed socket's number taken by the next): the new one does not inherit it.
    QVERIFY(dispatcher->shortcutReads(pair.fds[0], &shortcut));
    reader.reset();
    reader = std::make_unique<CountingReader>(pair.fds[0]);
    pair.write(1, "two");
    QVERIFY(runUntil([&] { return reader->reads == 1; }));
    QCOMPARE(shortcut.calls, 0);
}

void TestEpollEventDispatcher::notifierDeletedBeforeItsTurnIsNotActivated() {
    SocketPair first;
    SocketPair second;
    int firstActivations = 0;
    int secondActivations = 0;
    auto firstNotifier = std::make_unique<QSocketNotifier>(first.fds[0], QSocketNotifier::Read);
    auto secondNotifier = std::make_unique<QSocketNotifier>(second.fds[0], QSocketNotifier::Read);
    // Whichever comes first deletes the other, which was ready in the same pass.
    connect(firstNotifier.get(), &QSocketNotifier::activated, [&] {
        ++firstActivations;
        first.drain(0);
        secondNotifier.reset();
    });
    connect(secondNotifier.get(), &QSocketNotifier::activated, [&] {
        ++secondActivations;
        second.drain(0);
        firstNotifier.reset();
    });
    first.write(1);
    second.write(1);
    QVERIFY(runUntil([&] { return firstActivations + secondActivations > 0; }));
    runFor(30);
    QCOMPARE(firstActivations + secondActivations, 1);
}

void TestEpollEventDispatcher::descriptorClosedAndReusedIsWatchedAgain() {
    // A notifier goes, its descriptor is closed, and a new socket gets the same
    // number: the new socket's notifier must be watched by the kernel afresh.
    int reusedFd = -1;
    for (int round = 0; round < 3; ++round) {
        SocketPair pair;
        if (reusedFd >= 0)
            QCOMPARE(pair.fds[0], reusedFd);
        reusedFd = pair.fds[0];
        {
            CountingReader reader(pair.fds[0]);
            pair.write(1);
            QVERIFY(runUntil([&] { return reader.reads == 1; }));
        }
        // Closed at the end of the round while no notifier is left.
    }
    // Closed while the notifier is merely disabled, then reused and enabled again.
    SocketPair pair;
    CountingReader notifier(pair.fds[0]);
    notifier.setEnabled(false);
    const int number = pair.fds[0];
    ::close(pair.fds[0]);
    int other[2];
    QVERIFY(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, other) == 0);
    QCOMPARE(other[0], number);
    pair.fds[0] = other[0];
    QVERIFY(::write(other[1], "y", 1) == 1);
    notifier.setEnabled(true);
    QVERIFY(runUntil([&] { return notifier.reads >= 1; }));
    notifier.setEnabled(false);
    ::close(other[1]);
}

void TestEpollEventDispatcher::descriptorClosedUnderAnEnabledNotifier() {
    // The owner closes the descriptor and forgets to disable its notifier; a new socket
    // takes the number and gets a notifier of its own before the old one goes.
    int first[2];
    QVERIFY(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, first) == 0);
    auto stale = std::make_unique<QSocketNotifier>(first[0], QSocketNotifier::Read);
    runFor(10);
    const int number = first[0];
    ::close(first[0]);
    ::close(first[1]);
    SocketPair pair;
    QCOMPARE(pair.fds[0], number);
    QTest::ignoreMessage(QtWarningMsg,
                         QRegularExpression("Multiple socket notifiers for same socket"));
    CountingReader reader(pair.fds[0]);
    stale.reset(); // not the descriptor's notifier any more: changes nothing
    pair.write(1);
    QVERIFY(runUntil([&] { return reader.reads == 1; }));
}

void TestEpollEventDispatcher::regularFileIsAlwaysReady() {
    QTemporaryFile file;
    QVERIFY(file.open());
    file.write("line\n");
    file.flush();
    const int fd = ::open(qPrintable(file.fileName()), O_RDONLY | O_CLOEXEC);
    QVERIFY(fd >= 0);
    QByteArray read;
    bool endSeen = false;
    QSocketNotifier notifier(fd, QSocketNotifier::Read);
    connect(&notifier, &QSocketNotifier::activated, [&] {
        char buffer[64];
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got > 0)
            read.append(buffer, got);
        else {
            endSeen = true;
            notifier.setEnabled(false);
        }
    });
    QVERIFY(runUntil([&] { return endSeen; }));
    QCOMPARE(read, QByteArray("line\n"));
    ::close(fd);
}

void TestEpollEventDispatcher::tcpEchoOfOneMebibyte() {
    QTcpServer server;
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    QTcpSocket *accepted = nullptr;
    connect(&server, &QTcpServer::newConnection, [&] {
        accepted = server.nextPendingConnection();
        connect(accepted, &QTcpSocket::readyRead, [&] { accepted->write(accepted->readAll()); });
    });
    QTcpSocket client;
    QByteArray received;
    connect(&client, &QTcpSocket::readyRead, [&] { received += client.readAll(); });
    client.connectToHost(QHostAddress::LocalHost, server.serverPort());
    QByteArray sent(1 << 20, '\0');
    for (int i = 0; i < sent.size(); ++i)
        sent[i] = char(i * 7 + i / 256);
    client.write(sent);
    QVERIFY(runUntil([&] { return received.size() >= sent.size(); }, 20'000));
    QCOMPARE(received, sent);
    client.disconnectFromHost();
    QVERIFY(runUntil(
        [&] { return accepted && accepted->state() == QAbstractSocket::UnconnectedState; }));
}

// Random changes, made between passes and from inside handlers, to 32 socket pairs
// with read notifiers (written to, enabled, disabled, deleted, made anew, closed and
// reopened, so that descriptor numbers come back) and to timers (started, killed).
// The rules: only a live, enabled notifier is activated, only a running timer fires,
// and every enabled notifier with data waiting is activated.
void TestEpollEventDispatcher::randomChangesKeepTheRules() {
    struct Slot {
        int fds[2] = {-1, -1};
        std::unique_ptr<QSocketNotifier> notifier;
        bool waiting = false; // bytes written and not read yet
    };
    std::array<Slot, 32> pairs;
    std::mt19937 random(20261205);
    auto pick = [&](int n) { return int(random() % unsigned(n)); };
    QStringList broken;
    std::function<void(int)> changeSomething;

    auto openPair = [&](Slot &slot) {
        QVERIFY(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, slot.fds) == 0);
        slot.waiting = false;
    };
    auto closePair = [&](Slot &slot) {
        slot.notifier.reset(); // disabled before its descriptor closes, as Qt's sockets do
        for (int &fd : slot.fds) {
            ::close(fd);
            fd = -1;
        }
    };
    // Every activation, seen before the notifier takes it: a deleted notifier must get
    // none (its handler could not tell).
    QSet<const QObject *> live;
    const EventWatcher watcher([&](QObject *receiver, QEvent *event) {
        if (event->type() == QEvent::SockAct && !live.contains(receiver))
            broken << QStringLiteral("an activation went to a deleted notifier");
    });
    auto makeNotifier = [&](int index) {
        Slot &slot = pairs[std::size_t(index)];
        slot.notifier = std::make_unique<QSocketNotifier>(slot.fds[0], QSocketNotifier::Read);
        QSocketNotifier *made = slot.notifier.get();
        live.insert(made);
        connect(made, &QObject::destroyed, [&live, made] { live.remove(made); });
        connect(made, &QSocketNotifier::activated, made, [&, index, made] {
            Slot &own = pairs[std::size_t(index)];
            if (own.notifier.get() != made || !made->isEnabled())
                broken << QString("slot %1: a stale or disabled notifier was activated").arg(index);
            SocketPair::drainDescriptor(own.fds[0]);
            own.waiting = false;
            changeSomething(index);
            changeSomething(index);
        });
    };
    for (int i = 0; i < int(pairs.size()); ++i) {
        openPair(pairs[std::size_t(i)]);
        makeNotifier(i);
    }

    CountingObject timers;
    QSet<int> running;
    timers.onTimer = [&](int id) {
        if (!running.contains(id))
            broken << QString("timer %1 fired after it was killed").arg(id);
        if (pick(3) == 0) {
            timers.killTimer(id);
            running.remove(id);
        }
    };

    changeSomething = [&](int self) {
        const int index = pick(int(pairs.size()));
        Slot &slot = pairs[std::size_t(index)];
        switch (pick(7)) {
        case 0:
        case 1: // data for it
            if (::write(slot.fds[1], "x", 1) == 1)
                slot.waiting = true;
            break;
        case 2:
            if (slot.notifier)
                slot.notifier->setEnabled(!slot.notifier->isEnabled());
            break;
        case 3: // replaced, unless it is the one running (the new one is made
                // while the old one still exists, so that it has another address)
            if (index != self) {
                std::unique_ptr<QSocketNotifier> old = std::move(slot.notifier);
                if (old)
                    old->setEnabled(false);
                makeNotifier(index);
            }
            break;
        case 4: // closed and reopened: the lowest free numbers come back
            if (index != self) {
                closePair(slot);
                openPair(slot);
                makeNotifier(index);
            }
            break;
        case 5:
            running.insert(timers.startTimer(pick(3), Qt::PreciseTimer));
            break;
        default:
            if (!running.isEmpty()) {
                const int id = *std::next(running.begin(), pick(int(running.size())));
                timers.killTimer(id);
                running.remove(id);
            }
            break;
        }
    };

    for (int round = 0; round < 3000; ++round) {
        for (int change = 0; change < 4; ++change)
            changeSomething(-1);
        QCoreApplication::processEvents();
    }
    // Whatever is enabled with data waiting is activated.
    for (Slot &slot : pairs) {
        if (slot.notifier && !slot.notifier->isEnabled())
            slot.notifier->setEnabled(true);
    }
    changeSomething = [](int) {};
    timers.onTimer = [&](int id) {
        if (!running.contains(id))
            broken << QString("timer %1 fired after it was killed").arg(id);
    };
    QVERIFY(runUntil([&] {
        return std::none_of(pairs.begin(), pairs.end(),
                            [](const Slot &slot) { return slot.waiting && slot.notifier; });
    }));
    QVERIFY2(broken.isEmpty(), qPrintable(broken.join('\n')));
    for (const int id : std::as_const(running))
        timers.killTimer(id);
    for (Slot &slot : pairs)
        closePair(slot);
}

int main(int argc, char *argv[]) {
    QCoreApplication::setEventDispatcher(new EpollEventDispatcher);
    QCoreApplication app(argc, argv);
    TestEpollEventDispatcher test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_epolleventdispatcher.moc"

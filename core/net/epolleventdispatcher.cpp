#include "net/epolleventdispatcher.h"

#include "net/writebatch.h"

#include <QCoreApplication>
#include <QSocketNotifier>
#include <QThread>
#include <QVarLengthArray>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <ctime>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace ws {

namespace {

// What wakes a notifier of each QSocketNotifier::Type (Read, Write, Exception): a
// hang-up or an error wakes all three, as with Qt's poll(2) dispatcher, so that the
// owner reads the end of the stream or the error.
constexpr std::array<quint32, 3> WakingEvents = {
    EPOLLIN | EPOLLHUP | EPOLLERR,
    EPOLLOUT | EPOLLHUP | EPOLLERR,
    EPOLLPRI | EPOLLHUP | EPOLLERR,
};
// What to ask the kernel to watch for each type (EPOLLHUP and EPOLLERR always are).
constexpr std::array<quint32, 3> WatchedEvents = {EPOLLIN, EPOLLOUT, EPOLLPRI};

// Whether the environment lets the batches use io_uring (WSW_IO_URING=0: it does not).
bool ioUringAllowed() {
    return qEnvironmentVariable("WSW_IO_URING") != QLatin1String("0");
}

qint64 monotonicNs() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return qint64(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

// Qt's very coarse timers keep whole seconds; a coarse timer of 20 s or more is one.
qint64 effectiveIntervalMs(qint64 intervalMs, Qt::TimerType type) {
    if (type == Qt::VeryCoarseTimer || (type == Qt::CoarseTimer && intervalMs >= 20'000))
        return (intervalMs + 500) / 1000 * 1000;
    return intervalMs;
}

const char *typeName(std::size_t type) {
    static constexpr std::array<const char *, 3> Names = {"Read", "Write", "Exception"};
    return Names[type];
}

bool isOnThisThread(const QObject *object) {
    return object->thread() == QThread::currentThread();
}

// The dispatcher whose loop runs on this thread, once it has run a pass.
thread_local const EpollEventDispatcher *t_looping = nullptr;

} // namespace

EpollEventDispatcher::EpollEventDispatcher(QObject *parent)
    : QAbstractEventDispatcher(parent) {
    m_epoll = ::epoll_create1(EPOLL_CLOEXEC);
    m_wakeUpFd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m_epoll < 0 || m_wakeUpFd < 0)
        return;
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = m_wakeUpFd;
    if (::epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_wakeUpFd, &event) != 0) {
        ::close(m_wakeUpFd);
        m_wakeUpFd = -1;
    }
}

EpollEventDispatcher::~EpollEventDispatcher() {
    // What writers batched leaves before the descriptors may close.
    submitWrites();
    if (t_looping == this)
        t_looping = nullptr;
    if (m_wakeUpFd >= 0)
        ::close(m_wakeUpFd);
    if (m_epoll >= 0)
        ::close(m_epoll);
}

bool EpollEventDispatcher::processEvents(QEventLoop::ProcessEventsFlags flags) {
    t_looping = this;
    m_interrupted.storeRelaxed(0);
    emit awake();
    QCoreApplication::sendPostedEvents();

    const bool includeTimers = !(flags & QEventLoop::X11ExcludeTimers);
    const bool includeNotifiers = !(flags & QEventLoop::ExcludeSocketNotifiers);
    // An event posted from now on writes to the wake-up descriptor (wakeUp()), so
    // waiting cannot miss it.
    const bool canWait = (flags & QEventLoop::WaitForMoreEvents) && !m_interrupted.loadRelaxed();
    if (canWait)
        emit aboutToBlock();
    if (m_interrupted.loadRelaxed())
        return false;

    int timeoutMs = canWait ? -1 : 0;
    if (includeTimers && timeoutMs != 0) {
        const int toTimer = msecsToNextTimer();
        if (toTimer >= 0)
            timeoutMs = toTimer;
    }
    // A nested pass (a handler runs a loop of its own): the watchers of the outer pass
    // keep the batch's bytes they have not taken, which marks them readable.
    if (m_readBatch && m_readBatch->isOpen())
        m_readBatch->finish();
    // Readable without the kernel knowing: bytes read before and kept.
    if (includeNotifiers && (!m_unwatchable.empty() || !m_markedReadable.empty()))
        timeoutMs = 0;

    // What the posted events wrote, before waiting for the answers.
    submitWrites();
    const std::size_t firstReady = m_ready.size();
    const int woken = waitForEvents(timeoutMs, includeNotifiers);
    int activity = woken;
    if (includeNotifiers) {
        const bool batching = m_readBatch || m_batchingReads;
        if (batching && m_ready.size() > firstReady)
            batchReads(firstReady);
        activity += activateNotifiers();
        // What the watchers did not take of the batch's bytes, they keep.
        if (m_readBatch)
            m_readBatch->finish();
    }
    if (includeTimers)
        activity += activateTimers();
    if (m_wakeUpHandler && (woken || m_wakeUpHandlerDue)) {
        m_wakeUpHandlerDue = flags.testFlag(QEventLoop::ExcludeUserInputEvents);
        if (m_wakeUpHandler(flags & ~QEventLoop::WaitForMoreEvents))
            ++activity;
    }
    // What the handlers wrote leaves in this pass, even when the caller does not wait.
    submitWrites();
    return activity > 0;
}

WriteBatch *EpollEventDispatcher::writeBatch() {
    if (!m_writeBatchTried) {
        m_writeBatchTried = true;
        if (m_batchingWrites && ioUringAllowed())
            m_writeBatch = WriteBatch::create();
    }
    return m_writeBatch.get();
}

void EpollEventDispatcher::setBatchingWrites(bool on) {
    submitWrites();
    m_batchingWrites = on;
    if (!on)
        m_writeBatch.reset();
    m_writeBatchTried = !on;
}

ReadBatch *EpollEventDispatcher::readBatch() {
    if (!m_readBatchTried) {
        m_readBatchTried = true;
        if (m_batchingReads && ioUringAllowed())
            m_readBatch = ReadBatch::create();
    }
    return m_readBatch.get();
}

void EpollEventDispatcher::setBatchingReads(bool on) {
    if (m_readBatch && m_readBatch->isOpen())
        m_readBatch->finish();
    m_batchingReads = on;
    if (!on)
        m_readBatch.reset();
    m_readBatchTried = !on;
}

void EpollEventDispatcher::markReadable(int fd) {
    if (std::find(m_markedReadable.begin(), m_markedReadable.end(), fd) == m_markedReadable.end())
        m_markedReadable.push_back(fd);
}

void EpollEventDispatcher::batchReads(std::size_t first) {
    ReadBatch *batch = nullptr;
    for (std::size_t i = first; i < m_ready.size(); ++i) {
        const ReadyNotifier &ready = m_ready[i];
        // Only plain readability: the end and errors are the watcher's to read.
        if (!ready.watcher || (ready.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != EPOLLIN)
            continue;
        if (!batch) {
            // Made for the first watcher that could use it.
            batch = readBatch();
            if (!batch)
                return;
        }
        if (batch->isFull())
            break;
        qint64 size = 0;
        if (ReadBatch::Reader *reader = ready.watcher->batchedReader(&size))
            batch->add(reader, ready.fd, size);
    }
    if (batch)
        batch->run();
}

void EpollEventDispatcher::submitWrites() {
    if (m_writeBatch)
        m_writeBatch->submit();
}

void EpollEventDispatcher::setWakeUpHandler(WakeUpHandler handler) {
    m_wakeUpHandler = std::move(handler);
    m_wakeUpHandlerDue = true;
}

// Waits up to timeoutMs (-1: until something happens) and queues the notifiers that
// became ready. Returns 1 if the wait was ended by wakeUp(), else 0.
int EpollEventDispatcher::waitForEvents(int timeoutMs, bool includeNotifiers) {
    int woken = 0;
    auto consumeWakeUp = [&] {
        eventfd_t count = 0;
        ::eventfd_read(m_wakeUpFd, &count);
        m_wakeUpPending.storeRelease(0);
        woken = 1;
    };
    if (m_wokenHere) {
        // Woken by this thread itself since the last wait: no waiting now.
        m_wokenHere = false;
        woken = 1;
        timeoutMs = 0;
    }
    if (!includeNotifiers) {
        // Only the wake-up descriptor: sockets that are ready must not end the wait.
        pollfd wakeUp{m_wakeUpFd, POLLIN, 0};
        int result = 0;
        do {
            result = ::poll(&wakeUp, 1, timeoutMs);
        } while (result < 0 && errno == EINTR);
        if (result > 0)
            consumeWakeUp();
        return woken;
    }

    int count = 0;
    do {
        count = ::epoll_wait(m_epoll, m_events.data(), int(m_events.size()), timeoutMs);
    } while (count < 0 && errno == EINTR);
    for (int i = 0; i < count; ++i) {
        if (m_events[std::size_t(i)].data.fd == m_wakeUpFd) {
            consumeWakeUp();
            break;
        }
    }
    queueReadyNotifiers(count);
    return woken;
}

void EpollEventDispatcher::queueReadyNotifiers(int eventCount) {
    for (int i = 0; i < eventCount; ++i) {
        const epoll_event &event = m_events[std::size_t(i)];
        const int fd = event.data.fd;
        if (fd == m_wakeUpFd || std::size_t(fd) >= m_watches.size())
            continue;
        const Watch &watch = m_watches[std::size_t(fd)];
        if (watch.watcher) {
            m_ready.push_back({nullptr, fd, 0, watch.watcher, event.events});
            continue;
        }
        for (std::size_t type = 0; type < 3; ++type) {
            if (watch.notifiers[type] && (event.events & WakingEvents[type]))
                m_ready.push_back({watch.notifiers[type], fd, type});
        }
    }
    for (const int fd : m_unwatchable) {
        const Watch &watch = m_watches[std::size_t(fd)];
        for (std::size_t type = 0; type < 3; ++type) {
            if (watch.notifiers[type])
                m_ready.push_back({watch.notifiers[type], fd, type});
        }
    }
    for (const int fd : m_markedReadable) {
        if (DescriptorWatcher *watcher = m_watches[std::size_t(fd)].watcher)
            m_ready.push_back({nullptr, fd, 0, watcher, EPOLLIN});
    }
    m_markedReadable.clear();
}

int EpollEventDispatcher::activateNotifiers() {
    int activated = 0;
    QEvent event(QEvent::SockAct);
    // A nested pass started by a handler carries on with the same list, so each
    // queued notifier is activated once.
    while (m_nextReady < m_ready.size()) {
        const ReadyNotifier ready = m_ready[m_nextReady++];
        if (ready.watcher) {
            ready.watcher->descriptorReady(ready.events);
            ++activated;
            continue;
        }
        if (!ready.notifier)
            continue;
        if (!takenByShortcut(ready))
            QCoreApplication::sendEvent(ready.notifier, &event);
        ++activated;
    }
    m_ready.clear();
    m_nextReady = 0;
    return activated;
}

bool EpollEventDispatcher::takenByShortcut(const ReadyNotifier &ready) {
    // The descriptor and type as they were queued: a notifier taken off since is null
    // in the list, and one registered again for the same slot is the slot's still.
    if (ready.type != QSocketNotifier::Read || std::size_t(ready.fd) >= m_watches.size())
        return false;
    // Read before the call: the shortcut may register notifiers, which can move
    // m_watches.
    const Watch &watch = m_watches[std::size_t(ready.fd)];
    ReadShortcut *shortcut = watch.shortcutOf == ready.notifier ? watch.shortcut : nullptr;
    return shortcut && shortcut->readReady();
}

bool EpollEventDispatcher::shortcutReads(qintptr fd, ReadShortcut *shortcut) {
    if (fd < 0 || std::size_t(fd) >= m_watches.size())
        return false;
    Watch &watch = m_watches[std::size_t(fd)];
    QSocketNotifier *notifier = watch.notifiers[QSocketNotifier::Read];
    if (!notifier)
        return false;
    watch.shortcut = shortcut;
    watch.shortcutOf = notifier;
    return true;
}

void EpollEventDispatcher::dropReadShortcut(qintptr fd, const ReadShortcut *shortcut) {
    if (fd < 0 || std::size_t(fd) >= m_watches.size())
        return;
    Watch &watch = m_watches[std::size_t(fd)];
    if (watch.shortcut == shortcut) {
        watch.shortcut = nullptr;
        watch.shortcutOf = nullptr;
    }
}

bool EpollEventDispatcher::watchDescriptor(int fd, quint32 events, DescriptorWatcher *watcher) {
    if (fd < 0)
        return false;
    if (std::size_t(fd) >= m_watches.size()) {
        if (events == 0)
            return true;
        m_watches.resize(std::max<std::size_t>(std::size_t(fd) + 1, m_watches.size() * 2));
    }
    Watch &watch = m_watches[std::size_t(fd)];
    if (events == 0) {
        // Not told later in this pass: it may be gone by then.
        for (auto it = m_ready.begin() + qsizetype(m_nextReady); it != m_ready.end(); ++it) {
            if (it->watcher && it->fd == fd)
                it->watcher = nullptr;
        }
        watch.watcher = nullptr;
        watch.watcherEvents = 0;
        updateWatch(fd);
        return true;
    }
    Q_ASSERT(watcher);
    Q_ASSERT(std::none_of(watch.notifiers.begin(), watch.notifiers.end(),
                          [](const QSocketNotifier *n) { return n != nullptr; }));
    if (watch.watcher != watcher)
        watch.watched = 0; // another socket under the same number: add it afresh
    watch.watcher = watcher;
    watch.watcherEvents = events;
    if (updateWatch(fd))
        return true;
    watch.watcher = nullptr;
    watch.watcherEvents = 0;
    return false;
}

EpollEventDispatcher *EpollEventDispatcher::ofThisThread() {
    return qobject_cast<EpollEventDispatcher *>(QAbstractEventDispatcher::instance());
}

// The notifier's descriptor and type, or nothing (with Qt's warning) if it cannot be
// enabled or disabled (change) here.
std::optional<EpollEventDispatcher::NotifierSlot>
EpollEventDispatcher::slotOf(const QSocketNotifier *notifier, const char *change) const {
    Q_ASSERT(notifier);
    const int fd = int(notifier->socket());
    const int type = int(notifier->type());
    if (fd < 0 || type < 0 || type > 2) {
        qWarning("QSocketNotifier: Internal error");
        return std::nullopt;
    }
    if (!isOnThisThread(notifier) || !isOnThisThread(this)) {
        qWarning("QSocketNotifier: socket notifiers cannot be %s from another thread", change);
        return std::nullopt;
    }
    return NotifierSlot{fd, std::size_t(type)};
}

void EpollEventDispatcher::registerSocketNotifier(QSocketNotifier *notifier) {
    const std::optional<NotifierSlot> key = slotOf(notifier, "enabled");
    if (!key)
        return;
    const auto [fd, type] = *key;
    if (std::size_t(fd) >= m_watches.size())
        m_watches.resize(std::max<std::size_t>(std::size_t(fd) + 1, m_watches.size() * 2));
    Watch &watch = m_watches[std::size_t(fd)];
    QSocketNotifier *&slot = watch.notifiers[type];
    if (slot && slot != notifier) {
        qWarning("%s: Multiple socket notifiers for same socket %d and type %s", Q_FUNC_INFO, fd,
                 typeName(type));
        // The descriptor may have been closed under the old notifier and be another
        // socket now, which the kernel does not watch: add it again.
        watch.watched = 0;
    }
    slot = notifier;
    updateWatch(fd);
}

void EpollEventDispatcher::unregisterSocketNotifier(QSocketNotifier *notifier) {
    const std::optional<NotifierSlot> key = slotOf(notifier, "disabled");
    if (!key)
        return;
    const auto [fd, type] = *key;
    // Not activated later in this pass: it may be deleted by now.
    for (auto it = m_ready.begin() + qsizetype(m_nextReady); it != m_ready.end(); ++it) {
        if (it->notifier == notifier)
            it->notifier = nullptr;
    }
    if (std::size_t(fd) >= m_watches.size())
        return;
    Watch &watch = m_watches[std::size_t(fd)];
    QSocketNotifier *&slot = watch.notifiers[type];
    if (slot != notifier)
        return;
    slot = nullptr;
    if (watch.shortcutOf == notifier) {
        watch.shortcut = nullptr;
        watch.shortcutOf = nullptr;
    }
    updateWatch(fd);
}

// Brings the kernel's interest in fd in line with its enabled notifiers. The change is
// made at once: a descriptor closed after its last notifier went may come back under
// the same number for another socket, which the set must then hold afresh.
bool EpollEventDispatcher::updateWatch(int fd) {
    Watch &watch = m_watches[std::size_t(fd)];
    quint32 wanted = watch.watcherEvents;
    for (std::size_t type = 0; type < 3; ++type) {
        if (watch.notifiers[type])
            wanted |= WatchedEvents[type];
    }
    if (watch.unwatchable) {
        if (wanted == 0) {
            watch.unwatchable = false;
            m_unwatchable.erase(std::remove(m_unwatchable.begin(), m_unwatchable.end(), fd),
                                m_unwatchable.end());
        }
        return true;
    }
    if (wanted == watch.watched)
        return true;
    if (wanted == 0) {
        // A descriptor already closed has left the set by itself (EBADF, ENOENT).
        ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, fd, nullptr);
        watch.watched = 0;
        return true;
    }
    epoll_event event{};
    event.events = wanted;
    event.data.fd = fd;
    int result = ::epoll_ctl(m_epoll, watch.watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event);
    if (result != 0 && errno == ENOENT) // closed and reopened since it was added
        result = ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &event);
    else if (result != 0 && errno == EEXIST) // closed, reopened and added elsewhere
        result = ::epoll_ctl(m_epoll, EPOLL_CTL_MOD, fd, &event);
    if (result == 0) {
        watch.watched = wanted;
    } else if (errno == EPERM && !watch.watcher) {
        // A regular file or a directory: always ready, as poll(2) says.
        watch.watched = 0;
        watch.unwatchable = true;
        m_unwatchable.push_back(fd);
    } else {
        qWarning("QSocketNotifier: cannot watch socket %d: %s", fd,
                 qPrintable(qt_error_string(errno)));
        watch.watched = 0;
        return false;
    }
    return true;
}

void EpollEventDispatcher::registerTimer(int timerId, qint64 interval, Qt::TimerType timerType,
                                         QObject *object) {
    Q_ASSERT(object);
    if (timerId < 1 || interval < 0 || !isOnThisThread(object) || !isOnThisThread(this)) {
        qWarning("QAbstractEventDispatcher::registerTimer: invalid arguments");
        return;
    }
    Timer timer;
    timer.id = timerId;
    timer.type = timerType;
    timer.intervalMs = effectiveIntervalMs(interval, timerType);
    timer.object = object;
    timer.deadlineNs = monotonicNs() + timer.intervalMs * 1'000'000;
    timer.serial = ++m_nextSerial;
    insertTimer(timer);
}

// In the order of deadlines, after those with the same: the first timer is the next due.
void EpollEventDispatcher::insertTimer(const Timer &timer) {
    const auto at = std::upper_bound(
        m_timers.begin(), m_timers.end(), timer.deadlineNs,
        [](qint64 deadlineNs, const Timer &other) { return deadlineNs < other.deadlineNs; });
    m_timers.insert(at, timer);
}

qsizetype EpollEventDispatcher::timerIndex(int timerId) const {
    for (qsizetype i = 0; i < qsizetype(m_timers.size()); ++i) {
        if (m_timers[std::size_t(i)].id == timerId)
            return i;
    }
    return -1;
}

bool EpollEventDispatcher::unregisterTimer(int timerId) {
    const qsizetype index = timerIndex(timerId);
    if (index < 0)
        return false;
    m_timers.erase(m_timers.begin() + index);
    return true;
}

bool EpollEventDispatcher::unregisterTimers(QObject *object) {
    const auto end = std::remove_if(m_timers.begin(), m_timers.end(), [object](const Timer &timer) {
        return timer.object == object;
    });
    const bool any = end != m_timers.end();
    m_timers.erase(end, m_timers.end());
    return any;
}

QList<QAbstractEventDispatcher::TimerInfo>
EpollEventDispatcher::registeredTimers(QObject *object) const {
    QList<TimerInfo> timers;
    for (const Timer &timer : m_timers) {
        if (timer.object == object)
            timers.append(TimerInfo(timer.id, int(timer.intervalMs), timer.type));
    }
    return timers;
}

int EpollEventDispatcher::remainingTime(int timerId) {
    const qsizetype index = timerIndex(timerId);
    if (index < 0)
        return -1;
    const qint64 leftNs = m_timers[std::size_t(index)].deadlineNs - monotonicNs();
    return leftNs <= 0 ? 0 : int((leftNs + 999'999) / 1'000'000);
}

// Milliseconds until the first timer that can fire is due, rounded up so that the
// wait does not end just before it; -1 if there is none.
int EpollEventDispatcher::msecsToNextTimer() const {
    qint64 first = -1;
    for (const Timer &timer : m_timers) {
        if (!timer.inEvent) {
            first = timer.deadlineNs;
            break;
        }
    }
    if (first < 0)
        return -1;
    const qint64 leftNs = first - monotonicNs();
    if (leftNs <= 0)
        return 0;
    return int(std::min<qint64>((leftNs + 999'999) / 1'000'000, INT_MAX));
}

int EpollEventDispatcher::activateTimers() {
    if (m_timers.empty())
        return 0;
    const qint64 now = monotonicNs();
    // The timers due now, in the order of their deadlines. A timer registered by one
    // of their events waits for the next pass, so a zero timer cannot hold the loop.
    struct Due {
        int id;
        quint64 serial;
    };
    QVarLengthArray<Due, 32> due;
    for (const Timer &timer : m_timers) {
        if (timer.deadlineNs > now)
            break;
        if (!timer.inEvent)
            due.append({timer.id, timer.serial});
    }

    int activated = 0;
    for (const Due &entry : due) {
        qsizetype index = timerIndex(entry.id);
        if (index < 0 || m_timers[std::size_t(index)].serial != entry.serial ||
            m_timers[std::size_t(index)].inEvent)
            continue; // stopped, replaced or running, by an earlier event of this pass
        Timer timer = m_timers[std::size_t(index)];
        m_timers.erase(m_timers.begin() + index);
        const qint64 intervalNs = timer.intervalMs * 1'000'000;
        timer.deadlineNs += intervalNs;
        if (timer.deadlineNs < now) // fell behind: no burst to catch up
            timer.deadlineNs = now + intervalNs;
        timer.inEvent = true;
        insertTimer(timer);
        QTimerEvent event(entry.id);
        QCoreApplication::sendEvent(timer.object, &event);
        ++activated;
        // The event may have stopped the timer, and another may have taken its id.
        index = timerIndex(entry.id);
        if (index >= 0 && m_timers[std::size_t(index)].serial == entry.serial)
            m_timers[std::size_t(index)].inEvent = false;
    }
    return activated;
}

void EpollEventDispatcher::wakeUp() {
    // On the loop's own thread the loop is not waiting, so the next wait need only not
    // block: an event posted by a handler costs no write and no read of the wake-up
    // descriptor.
    if (t_looping == this) {
        m_wokenHere = true;
        return;
    }
    // One write until the loop has read it: posting many events costs one system call.
    if (m_wakeUpPending.testAndSetAcquire(0, 1))
        ::eventfd_write(m_wakeUpFd, 1);
}

void EpollEventDispatcher::interrupt() {
    m_interrupted.storeRelaxed(1);
    wakeUp();
}

} // namespace ws

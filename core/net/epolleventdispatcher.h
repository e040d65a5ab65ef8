#pragma once

#include "net/readbatch.h"

#include <QAbstractEventDispatcher>
#include <QAtomicInt>

#include <sys/epoll.h>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace ws {

class WriteBatch;

// An event dispatcher for one thread on epoll(7), for processes that hold many
// sockets at once (the relay and the server of the command-line tool).
//
// Qt's own dispatcher calls poll(2) on every descriptor that has a notifier each time
// it waits, so the kernel checks a relay's hundred sockets even when two are ready;
// epoll keeps the interest list in the kernel and hands back only the ready ones.
// Notifiers are level-triggered, as with poll(2): a notifier whose handler leaves data
// unread is activated again on the next pass. A descriptor epoll cannot watch (a
// regular file, which poll(2) reports as always ready) is reported ready on every
// pass, as poll(2) would.
//
// Behaves as Qt's dispatcher does otherwise: posted events first, then the notifiers
// that were ready (one taken off the list by being disabled or deleted before its turn
// is not activated), then the timers that were due when the pass began (a timer whose
// event is running is not activated again from a nested loop). Timers fire at their
// deadline to the millisecond whatever their type; a very coarse timer's interval is
// rounded to whole seconds.
//
// Install it for the main thread before the application object exists:
//     QCoreApplication::setEventDispatcher(new EpollEventDispatcher);
//
// A socket's reader may take its readiness straight from the dispatcher
// (shortcutReads()), without the event, the notifier's signal and QTcpSocket's
// readyRead() between: on a relay of small messages that path is a large share of
// the time not spent in the kernel.
//
// Watchers of bare descriptors (DescriptorSocket) do their I/O in batches on io_uring
// where the kernel allows: after each wait, the first read of every readable one is
// made with one system call (ReadBatch), and before each wait the small writes of the
// pass leave with one more (WriteBatch). On a machine where entering the kernel is
// dear, that is most of what a relay of small messages spends.
class EpollEventDispatcher final : public QAbstractEventDispatcher {
    Q_OBJECT

public:
    // Called in place of activating a descriptor's read notifier (shortcutReads()).
    class ReadShortcut {
    public:
        // The descriptor is readable, or has ended or failed. True: handled (a read
        // was made); false: the notifier is activated as usual, so that its owner
        // hears of it (QTcpSocket then stops watching a descriptor nobody reads).
        virtual bool readReady() = 0;

    protected:
        ~ReadShortcut() = default;
    };

    // Hears of a descriptor it watches without a QSocketNotifier (watchDescriptor()).
    class DescriptorWatcher {
    public:
        // The descriptor is ready: `events` as epoll(7) reports them (EPOLLIN, EPOLLOUT,
        // and EPOLLHUP or EPOLLERR whatever was asked for). Level-triggered: a watcher
        // that leaves the condition as it is hears of it again on the next pass.
        virtual void descriptorReady(quint32 events) = 0;
        // Who takes this descriptor's first read from the pass's ReadBatch, and how
        // many bytes it wants (`size`); null: it reads for itself.
        virtual ReadBatch::Reader *batchedReader(qint64 *size) {
            Q_UNUSED(size);
            return nullptr;
        }

    protected:
        ~DescriptorWatcher() = default;
    };

    explicit EpollEventDispatcher(QObject *parent = nullptr);
    ~EpollEventDispatcher() override;

    // False when the epoll instance or the wake-up descriptor could not be made (out
    // of descriptors); such a dispatcher must not be installed.
    bool isValid() const { return m_epoll >= 0 && m_wakeUpFd >= 0; }

    // From now on `shortcut` hears when `fd` is readable instead of its read notifier,
    // for as long as that notifier is registered: once it is disabled or deleted (its
    // socket stops reading or closes the descriptor) the shortcut is forgotten, and a
    // later notifier of the same descriptor does not inherit it. False, and nothing
    // changes, when fd has no read notifier now. Call it again after the notifier
    // came back; the owner of a shortcut drops it (dropReadShortcut()) before it is
    // destroyed.
    bool shortcutReads(qintptr fd, ReadShortcut *shortcut);
    // Undoes shortcutReads() if `shortcut` is still fd's.
    void dropReadShortcut(qintptr fd, const ReadShortcut *shortcut);
    // Watches `fd` for `events` (EPOLLIN, EPOLLOUT or both) on behalf of `watcher`,
    // without the QObjects of a notifier: a socket that is not a QTcpSocket (a relay's
    // plain TCP leg). `events` 0 stops watching; do that before closing the descriptor,
    // and before the watcher is destroyed. A descriptor has either notifiers or a watcher.
    // False, and nothing watched, when the kernel refused it.
    bool watchDescriptor(int fd, quint32 events, DescriptorWatcher *watcher);
    // The dispatcher of the calling thread when it is one of these, else null.
    static EpollEventDispatcher *ofThisThread();

    // The batch of small writes sent together before each wait (WriteBatch), made on
    // first use; null when batching is off (setBatchingWrites(), or WSW_IO_URING=0 in
    // the environment) or the kernel gives no io_uring. Writers join it instead of
    // calling send(2) themselves.
    WriteBatch *writeBatch();
    // Off: writers send at once, one system call each. Sends what is batched first.
    void setBatchingWrites(bool on);
    // Sends what the writers batched now, rather than before the loop's next wait (for
    // code that reads the answers without the loop: readAhead()).
    void submitWrites();
    // The batch of first reads made after each wait (ReadBatch), made on first use;
    // null as writeBatch() is, or when reads are not batched (setBatchingReads()).
    ReadBatch *readBatch();
    void setBatchingReads(bool on);
    // `fd`'s watcher is told it is readable in the next pass, whatever epoll says: it
    // holds bytes it read before (a batched read it did not take whole).
    void markReadable(int fd);

    // Another source of events this thread's loop runs, which says it has some by
    // waking the dispatcher up (wakeUp()): the window's platform events, read by
    // another thread. `handler` runs at the end of each pass that was woken up (and of
    // the first pass, and of each pass after one whose flags held user input back,
    // which may have left some waiting), with the pass's flags but never
    // WaitForMoreEvents; it returns whether it delivered anything. Not to be replaced
    // from inside itself.
    using WakeUpHandler = std::function<bool(QEventLoop::ProcessEventsFlags)>;
    void setWakeUpHandler(WakeUpHandler handler);

    bool processEvents(QEventLoop::ProcessEventsFlags flags) override;

    void registerSocketNotifier(QSocketNotifier *notifier) override;
    void unregisterSocketNotifier(QSocketNotifier *notifier) override;

    void registerTimer(int timerId, qint64 interval, Qt::TimerType timerType,
                       QObject *object) override;
    bool unregisterTimer(int timerId) override;
    bool unregisterTimers(QObject *object) override;
    QList<TimerInfo> registeredTimers(QObject *object) const override;
    int remainingTime(int timerId) override;

    void wakeUp() override;
    void interrupt() override;

private:
    // The notifiers of one descriptor, by QSocketNotifier::Type, and the events the
    // kernel watches for it (none: not in the epoll set).
    struct Watch {
        std::array<QSocketNotifier *, 3> notifiers{};
        quint32 watched = 0;
        bool unwatchable = false; // epoll refused it (EPERM): reported ready every pass
        // Hears of readiness instead of the read notifier, while that is `shortcutOf`.
        ReadShortcut *shortcut = nullptr;
        QSocketNotifier *shortcutOf = nullptr;
        // A descriptor watched without notifiers (watchDescriptor()), and for what.
        DescriptorWatcher *watcher = nullptr;
        quint32 watcherEvents = 0;
    };
    struct Timer {
        int id = 0;
        qint64 intervalMs = 0;
        Qt::TimerType type = Qt::CoarseTimer;
        QObject *object = nullptr;
        qint64 deadlineNs = 0;
        quint64 serial = 0; // tells a timer from a later one that took its id
        bool inEvent = false;
    };

    // A notifier to activate in this pass, with the descriptor and type it was ready
    // for (asking the notifier costs a call into Qt per activation).
    struct ReadyNotifier {
        QSocketNotifier *notifier; // null: taken off since, or a watcher's
        int fd;
        std::size_t type;                     // QSocketNotifier::Type
        DescriptorWatcher *watcher = nullptr; // null: a notifier's, or taken off since
        quint32 events = 0;                   // what epoll reported, for a watcher
    };
    struct NotifierSlot {
        int fd;
        std::size_t type; // QSocketNotifier::Type
    };
    std::optional<NotifierSlot> slotOf(const QSocketNotifier *notifier, const char *change) const;
    // False when the kernel refused to watch fd.
    bool updateWatch(int fd);
    int waitForEvents(int timeoutMs, bool includeNotifiers);
    void queueReadyNotifiers(int eventCount);
    int activateNotifiers();
    // Whether the notifier's shortcut (if it has one) handled its readiness.
    bool takenByShortcut(const ReadyNotifier &ready);
    int activateTimers();
    int msecsToNextTimer() const;
    qsizetype timerIndex(int timerId) const;
    void insertTimer(const Timer &timer);

    // Makes the batch of first reads of the watchers ready from m_ready[first] on.
    void batchReads(std::size_t first);

    int m_epoll = -1;
    int m_wakeUpFd = -1;
    QAtomicInt m_wakeUpPending;
    bool m_wokenHere = false; // wakeUp() was called on the loop's thread
    QAtomicInt m_interrupted;
    std::vector<Watch> m_watches;       // by descriptor
    std::vector<int> m_unwatchable;     // descriptors epoll refused
    std::vector<ReadyNotifier> m_ready; // to activate in this pass
    std::size_t m_nextReady = 0;        // shared with nested passes
    std::vector<Timer> m_timers;        // in the order of their deadlines
    quint64 m_nextSerial = 0;
    std::array<epoll_event, 256> m_events{};
    std::unique_ptr<WriteBatch> m_writeBatch;
    bool m_writeBatchTried = false; // made, or found impossible
    bool m_batchingWrites = true;
    std::unique_ptr<ReadBatch> m_readBatch;
    bool m_readBatchTried = false;
    bool m_batchingReads = true;
    std::vector<int> m_markedReadable; // for the next pass (markReadable())
    WakeUpHandler m_wakeUpHandler;
    bool m_wakeUpHandlerDue = true; // run it in the next pass, woken up or not
};

} // namespace ws

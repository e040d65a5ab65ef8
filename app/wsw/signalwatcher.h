#pragma once

#include <QObject>

class QSocketNotifier;

namespace ws {

// Turns SIGINT and SIGTERM into a Qt signal delivered by the event loop. A POSIX
// signal handler may only call async-signal-safe functions, so it writes the signal
// number into a socketpair and a QSocketNotifier reads it on the main thread.
class SignalWatcher : public QObject {
    Q_OBJECT
public:
    explicit SignalWatcher(QObject *parent = nullptr);
    ~SignalWatcher() override;

signals:
    void signalReceived(int signalNumber);

private:
    void onReadable();

    QSocketNotifier *m_notifier = nullptr;
};

} // namespace ws

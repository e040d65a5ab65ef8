#include "net/readahead.h"

#include "net/connection.h"
#include "net/epolleventdispatcher.h"

#include <vector>

#ifdef Q_OS_UNIX
#include <cerrno>
#include <poll.h>
#endif

namespace ws {

int readAhead(const QList<QPointer<Connection>> &connections, int maxRounds) {
    int reads = 0;
#ifdef Q_OS_UNIX
    std::vector<pollfd> descriptors;
    std::vector<QPointer<Connection>> polled;
    descriptors.reserve(size_t(connections.size()));
    polled.reserve(size_t(connections.size()));
    EpollEventDispatcher *dispatcher = EpollEventDispatcher::ofThisThread();
    for (int round = 0; round < maxRounds; ++round) {
        // What the last round (or the caller's send) wrote leaves now, not on the
        // event loop's next turn.
        if (dispatcher)
            dispatcher->submitWrites();
        descriptors.clear();
        polled.clear();
        for (const QPointer<Connection> &connection : connections) {
            if (!connection || !connection->canReadAhead())
                continue;
            descriptors.push_back({int(connection->socketDescriptor()), POLLIN, 0});
            polled.push_back(connection);
        }
        if (descriptors.empty())
            break;
        int ready;
        do {
            ready = ::poll(descriptors.data(), nfds_t(descriptors.size()), 0);
        } while (ready < 0 && errno == EINTR);
        if (ready <= 0)
            break;
        int readThisRound = 0;
        for (size_t i = 0; i < descriptors.size(); ++i) {
            if (!(descriptors[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            // An earlier read of this round may have finished it (a close answered).
            const QPointer<Connection> &connection = polled[i];
            if (!connection || !connection->canReadAhead())
                continue;
            connection->readArrived();
            ++readThisRound;
        }
        reads += readThisRound;
        if (readThisRound == 0)
            break;
    }
#else
    Q_UNUSED(connections);
    Q_UNUSED(maxRounds);
#endif
    return reads;
}

} // namespace ws

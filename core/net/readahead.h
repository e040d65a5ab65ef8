#pragma once

#include <QList>
#include <QPointer>

namespace ws {

class Connection;

// Lets connections of this process read what has already arrived on their sockets
// now, instead of on the event loop's next turn, and again for what those reads
// made arrive, up to `maxRounds` rounds or until nothing more has arrived. Returns
// how many reads were made.
//
// For a program whose event loop also paints: right after it sends, the layout and
// painting the send set off would run before any socket is read again. When the
// peer is a server in the same process, its read of a ping waits behind them, and
// so does the reading of its pong: the round trip measured would be the window's
// repaint. Called after a send with the sender and its in-process peer, the server
// reads, answers and the client reads the answer first, each stamped as it happens.
//
// Writes the epoll dispatcher batches (WriteBatch) are sent before each round.
// Only connections whose sockets are read directly (Connection::canReadAhead())
// take part; each one's role reads as its readyRead() would make it (a paused
// reader stays paused).
int readAhead(const QList<QPointer<Connection>> &connections, int maxRounds = 4);

} // namespace ws

#pragma once

#include <QByteArray>

class QTcpSocket;

namespace ws {

class Session;

// Writes `bytes` to a connected socket, in order after anything it still queues.
// When QTcpSocket's own queue is empty, a small batch goes straight to the kernel: no copy
// into QTcpSocket's buffer, no extra event-loop turn, and no buffer chunk kept
// alive afterwards (QTcpSocket keeps a 32 KiB chunk per socket once it has
// queued anything, which is most of what an idle connection would cost); never for
// a QSslSocket, whose descriptor carries TLS records. Only
// what the kernel does not take is queued, and QTcpSocket writes it when the
// socket is writable, reporting errors and the end of the connection as usual.
void writeToSocket(QTcpSocket *socket, const QByteArray &bytes);

// Writes what the session has to send, piece by piece: a large payload the caller
// handed to the session as a QByteArray reaches QTcpSocket's queue shared, not
// copied (Session::takeOutgoingChunks). With `connected` false the bytes are
// dropped: the transport is gone.
void writeSessionOutput(QTcpSocket *socket, Session &session, bool connected);

// Everything QTcpSocket has read, taking over its buffer chunk rather than copying
// out of it: a chunk left in QTcpSocket stays allocated (16 KiB) for the life of
// the connection.
QByteArray readFromSocket(QTcpSocket *socket);

} // namespace ws

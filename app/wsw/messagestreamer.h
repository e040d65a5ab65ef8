#pragma once

#include "protocol/masking.h"
#include "protocol/opcode.h"
#include "protocol/utf8validator.h"

#include <QByteArray>
#include <QObject>
#include <QString>
#include <QTimer>

class QSocketNotifier;

namespace ws {

class Connection;

// Sends everything read from a file descriptor (a file given with --file, or
// standard input with --stdin-message) as one message, a piece at a time: a piece
// is read only when the socket has taken the previous ones, so memory stays
// bounded whatever the size. A message that fits in one piece goes out as an
// ordinary single frame; a larger one as fragments (RFC 6455 §5.4). A pipe is read
// as it becomes readable, a regular file straight away.
class MessageStreamer : public QObject {
    Q_OBJECT
public:
    // Reads `fd` (closed at the end when `ownsFd`); `what` names it in errors.
    MessageStreamer(Connection *connection, int fd, bool ownsFd, Opcode type, QString what,
                    QObject *parent = nullptr);
    ~MessageStreamer() override;

    // Call once the connection is open.
    void start();
    bool isDone() const { return m_done; }
    qint64 bytesSent() const { return m_bytesSent; }

    // Bytes read at a time, and the most left unwritten in the socket before the
    // next piece is read.
    static constexpr qsizetype PieceBytes = 1024 * 1024;
    static constexpr qint64 HighWaterBytes = 4 * PieceBytes;

signals:
    // The whole message went out.
    void finished();
    // The message could not be completed: a read error, text that is not UTF-8, or
    // the connection refused a piece. The message is left unfinished.
    void failed(const QString &message);

private:
    void pump();
    // Fills m_next from the descriptor: true when a whole piece or the end is there,
    // false when a pipe has nothing for now (or on a failure, already reported).
    bool fill();
    bool sendPiece(const QByteArray &piece, bool last);
    void fail(const QString &message);
    void closeFd();

    Connection *m_connection;
    int m_fd;
    int m_savedFlags = -1; // a pipe's or terminal's flags before O_NONBLOCK
    bool m_ownsFd;
    Opcode m_type;
    QString m_what;
    QSocketNotifier *m_notifier = nullptr;
    QTimer m_drain;
    MaskingKeySource m_keys = MaskingKeySource::systemRandom();
    Utf8Validator m_utf8;
    QByteArray m_held; // a whole piece, sent once it is known whether it is the last
    QByteArray m_next; // being read
    qsizetype m_nextFill = 0;
    qint64 m_bytesSent = 0;
    bool m_started = false;
    bool m_fragmented = false; // a first fragment went out
    bool m_eof = false;
    bool m_done = false;
};

} // namespace ws

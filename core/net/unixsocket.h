#pragma once

#include <QString>
#include <QtGlobal>

namespace ws {

// Unix domain sockets under the same QTcpSocket/QTcpServer as TCP: Qt's socket
// engine takes a connected or listening AF_UNIX descriptor through
// setSocketDescriptor() and reads, writes and accepts on it as on a TCP one, so a
// Connection, a ServerClient or a TLS server needs no second socket class. Only
// the addresses differ: an AF_UNIX peer has no QHostAddress (null, port 0).

// A stream socket connected to `path`, non-blocking, close-on-exec; -1 with a
// sentence in `error` (no such socket, nobody listening, permission denied, ...).
qintptr connectUnixSocket(const QString &path, QString *error);

// A listening socket bound to `path` with permissions `mode` (set before it accepts
// anyone). A socket file left by a process that is gone (nobody accepts on it) is
// removed first; a live one, or a file that is not a socket, is left alone and
// reported. -1 with a sentence in `error` on failure.
qintptr listenUnixSocket(const QString &path, int mode, QString *error);

// Removes the socket file listenUnixSocket() made, unless something else has
// replaced it since (another server listening on the same path).
class UnixSocketFile {
public:
    UnixSocketFile() = default;
    // Remembers what is at `path` now (call right after listenUnixSocket()).
    explicit UnixSocketFile(const QString &path);
    ~UnixSocketFile() { remove(); }
    UnixSocketFile(const UnixSocketFile &) = delete;
    UnixSocketFile &operator=(const UnixSocketFile &) = delete;
    UnixSocketFile(UnixSocketFile &&other) noexcept { *this = std::move(other); }
    UnixSocketFile &operator=(UnixSocketFile &&other) noexcept;

    void remove();
    const QString &path() const { return m_path; }

private:
    QString m_path;
    quint64 m_device = 0;
    quint64 m_inode = 0;
};

} // namespace ws

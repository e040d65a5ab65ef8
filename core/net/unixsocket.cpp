#include "net/unixsocket.h"

#include <QFile>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace ws {

namespace {

// How many connections the kernel queues before we accept them.
constexpr int ListenBacklog = 1024;

bool makeAddress(const QString &path, sockaddr_un *address, QString *error) {
    const QByteArray encoded = QFile::encodeName(path);
    std::memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    if (encoded.isEmpty() || encoded.size() >= qsizetype(sizeof address->sun_path)) {
        *error =
            QStringLiteral("The Unix socket path %1 is %2: at most %3 bytes fit")
                .arg(path, encoded.isEmpty() ? QStringLiteral("empty") : QStringLiteral("too long"))
                .arg(sizeof address->sun_path - 1);
        return false;
    }
    std::memcpy(address->sun_path, encoded.constData(), size_t(encoded.size()));
    return true;
}

int newSocket(QString *error) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        *error = QStringLiteral("Could not create a Unix socket: %1")
                     .arg(QString::fromLocal8Bit(std::strerror(errno)));
    return fd;
}

int connectTo(int fd, const sockaddr_un &address) {
    int result;
    do {
        result = ::connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address);
    } while (result < 0 && errno == EINTR);
    return result < 0 ? errno : 0;
}

} // namespace

qintptr connectUnixSocket(const QString &path, QString *error) {
    sockaddr_un address;
    if (!makeAddress(path, &address, error))
        return -1;
    const int fd = newSocket(error);
    if (fd < 0)
        return -1;
    const int failure = connectTo(fd, address);
    if (failure == 0)
        return fd;
    ::close(fd);
    switch (failure) {
    case ENOENT:
        *error = QStringLiteral("No Unix socket at %1: the file does not exist").arg(path);
        break;
    case ECONNREFUSED:
        *error = QStringLiteral("Connection refused by unix:%1: nothing is listening on that "
                                "socket (a stale socket file?)")
                     .arg(path);
        break;
    case ENOTSOCK:
        *error = QStringLiteral("%1 is not a Unix socket").arg(path);
        break;
    case EAGAIN:
        *error = QStringLiteral("The server at unix:%1 has a full queue of connections not yet "
                                "accepted")
                     .arg(path);
        break;
    default:
        *error = QStringLiteral("Could not connect to unix:%1: %2")
                     .arg(path, QString::fromLocal8Bit(std::strerror(failure)));
        break;
    }
    return -1;
}

qintptr listenUnixSocket(const QString &path, int mode, QString *error) {
    sockaddr_un address;
    if (!makeAddress(path, &address, error))
        return -1;
    const QByteArray encoded = QFile::encodeName(path);
    struct stat existing;
    if (::lstat(encoded.constData(), &existing) == 0) {
        if (!S_ISSOCK(existing.st_mode)) {
            *error = QStringLiteral("%1 exists and is not a socket: not replaced").arg(path);
            return -1;
        }
        // A socket file nobody accepts on is what a server that did not stop cleanly
        // leaves behind; one that answers belongs to a running server.
        QString ignored;
        const int probe = newSocket(&ignored);
        if (probe >= 0) {
            const int failure = connectTo(probe, address);
            ::close(probe);
            if (failure == 0 || failure == EAGAIN) {
                *error = QStringLiteral("Another server is listening on %1").arg(path);
                return -1;
            }
        }
        ::unlink(encoded.constData());
    }
    const int fd = newSocket(error);
    if (fd < 0)
        return -1;
    const auto fail = [&](const char *what) {
        *error = QStringLiteral("Could not %1 %2: %3")
                     .arg(QLatin1String(what), path, QString::fromLocal8Bit(std::strerror(errno)));
        ::close(fd);
        return qintptr(-1);
    };
    if (::bind(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) < 0)
        return fail("listen on");
    // Before listen(): until then nobody can connect, whatever the umask gave.
    if (::chmod(encoded.constData(), mode_t(mode)) < 0) {
        ::unlink(encoded.constData());
        return fail("set the permissions of");
    }
    if (::listen(fd, ListenBacklog) < 0) {
        ::unlink(encoded.constData());
        return fail("listen on");
    }
    return fd;
}

UnixSocketFile::UnixSocketFile(const QString &path)
    : m_path(path) {
    struct stat info;
    if (::lstat(QFile::encodeName(path).constData(), &info) == 0) {
        m_device = info.st_dev;
        m_inode = info.st_ino;
    } else {
        m_path.clear();
    }
}

UnixSocketFile &UnixSocketFile::operator=(UnixSocketFile &&other) noexcept {
    if (this != &other) {
        remove();
        m_path = std::exchange(other.m_path, {});
        m_device = other.m_device;
        m_inode = other.m_inode;
    }
    return *this;
}

void UnixSocketFile::remove() {
    if (m_path.isEmpty())
        return;
    const QByteArray encoded = QFile::encodeName(std::exchange(m_path, {}));
    struct stat info;
    if (::lstat(encoded.constData(), &info) == 0 && info.st_dev == m_device &&
        info.st_ino == m_inode)
        ::unlink(encoded.constData());
}

} // namespace ws

#include "log/logfileio.h"

#include "wswversion.h"

#include <QFile>
#include <QIODevice>
#include <QObject>
#include <QSaveFile>

namespace ws::log {

const char *creatorVersion() {
    return WSW_VERSION;
}

void setError(QString *error, const QString &text) {
    if (error)
        *error = text;
}

bool writeAll(QIODevice &device, const QByteArray &bytes, QString *error) {
    if (device.write(bytes) != bytes.size()) {
        setError(error, QObject::tr("Cannot write: %1").arg(device.errorString()));
        return false;
    }
    return true;
}

bool flushWhenFull(QIODevice &device, QByteArray &buffer, QString *error) {
    if (buffer.size() < WriteBufferSize)
        return true;
    if (!writeAll(device, buffer, error))
        return false;
    buffer.clear();
    return true;
}

bool saveToFile(const QString &path, QString *error,
                const std::function<bool(QIODevice &device)> &write) {
    QSaveFile file(path);
    if (file.open(QIODevice::WriteOnly)) {
        if (!write(file)) {
            file.cancelWriting();
            return false;
        }
        if (file.commit())
            return true;
    }
    setError(error, QObject::tr("Cannot write %1: %2").arg(path, file.errorString()));
    return false;
}

bool readFromFile(const QString &path, QString *error,
                  const std::function<bool(QIODevice &device)> &read) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        setError(error, QObject::tr("Cannot open %1: %2").arg(path, file.errorString()));
        return false;
    }
    return read(file);
}

ProgressReporter::ProgressReporter(const QIODevice &device, const ReadProgress &progress)
    : m_progress(progress)
    , m_total(device.isSequential() ? -1 : device.size())
    , m_done(device.isSequential() ? 0 : device.pos())
    , m_reported(m_done) {}

bool cancelled(QString *error) {
    setError(error, QObject::tr("cancelled"));
    return false;
}

std::optional<QByteArray> strictBase64(const QString &text) {
    auto decoded =
        QByteArray::fromBase64Encoding(text.toLatin1(), QByteArray::AbortOnBase64DecodingErrors);
    if (!decoded)
        return std::nullopt;
    return std::move(decoded.decoded);
}

} // namespace ws::log

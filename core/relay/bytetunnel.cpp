#include "relay/bytetunnel.h"

#include <QTcpSocket>

#include <algorithm>

namespace ws {

namespace {

constexpr qint64 MoveChunk = 64 * 1024;

} // namespace

ByteTunnel::ByteTunnel(QTcpSocket *first, QTcpSocket *second, qint64 queueLimit, QObject *parent)
    : QObject(parent)
    , m_first(first)
    , m_second(second)
    , m_queueLimit(std::max<qint64>(queueLimit, MoveChunk)) {
    for (QTcpSocket *side : {m_first, m_second}) {
        QTcpSocket *other = side == m_first ? m_second : m_first;
        side->setParent(this);
        // Bounded read buffers: while a side is not read, the kernel holds its bytes
        // and TCP pushes back on its sender.
        side->setReadBufferSize(m_queueLimit);
        connect(side, &QIODevice::readyRead, this, [this, side, other] { move(side, other); });
        // The side written to drained: its peer may be read again.
        connect(side, &QIODevice::bytesWritten, this, [this, side, other] { move(other, side); });
        connect(
            side, &QAbstractSocket::disconnected, this, [this, side] { onEnded(side); },
            Qt::QueuedConnection);
        connect(
            side, &QAbstractSocket::errorOccurred, this, [this, side] { onEnded(side); },
            Qt::QueuedConnection);
    }
}

ByteTunnel::~ByteTunnel() {
    m_first->disconnect(this);
    m_second->disconnect(this);
}

void ByteTunnel::start() {
    move(m_first, m_second);
    move(m_second, m_first);
    for (QTcpSocket *side : {m_first, m_second}) {
        if (side->state() != QAbstractSocket::ConnectedState)
            QMetaObject::invokeMethod(
                this, [this, side] { onEnded(side); }, Qt::QueuedConnection);
    }
}

void ByteTunnel::move(QTcpSocket *from, QTcpSocket *to) {
    if (m_finished)
        return;
    const bool toOpen = to->state() == QAbstractSocket::ConnectedState;
    while (from->bytesAvailable() > 0) {
        if (!toOpen) {
            // Nobody left to hear it.
            from->readAll();
            return;
        }
        if (to->bytesToWrite() >= m_queueLimit)
            return;
        to->write(from->read(std::min(from->bytesAvailable(), MoveChunk)));
    }
}

void ByteTunnel::onEnded(QTcpSocket *side) {
    if (m_finished)
        return;
    QTcpSocket *other = side == m_first ? m_second : m_first;
    // What the ended side sent before it ended still goes across, however much it is.
    if (other->state() == QAbstractSocket::ConnectedState) {
        while (side->bytesAvailable() > 0)
            other->write(side->read(MoveChunk));
        // Closes once everything queued is written.
        other->disconnectFromHost();
    }
    if (side->state() != QAbstractSocket::UnconnectedState)
        side->disconnectFromHost();
    checkFinished();
}

void ByteTunnel::abort() {
    if (m_finished)
        return;
    m_first->abort();
    m_second->abort();
    checkFinished();
}

void ByteTunnel::checkFinished() {
    if (m_finished || m_first->state() != QAbstractSocket::UnconnectedState ||
        m_second->state() != QAbstractSocket::UnconnectedState)
        return;
    m_finished = true;
    emit finished(this);
}

} // namespace ws

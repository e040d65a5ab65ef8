#pragma once

#include <QObject>

class QTcpSocket;

namespace ws {

// Two connected sockets whose bytes go across as they come, neither side decoded:
// the proxy's blind CONNECT tunnels, and a passed-through connection once it is no
// longer HTTP (after a 101) or its response runs until the connection closes. When
// one side ends, what it sent still goes to the other, which is then closed too.
class ByteTunnel : public QObject {
    Q_OBJECT
public:
    // Takes both sockets (either may be a QSslSocket, plain or encrypted). A side with
    // more than `queueLimit` bytes waiting to be written stops the other from being
    // read until it has written them.
    ByteTunnel(QTcpSocket *first, QTcpSocket *second, qint64 queueLimit, QObject *parent);
    ~ByteTunnel() override;

    // Moves what both sides already hold, then follows them.
    void start();
    // Both sides are aborted; finished() follows.
    void abort();
    bool isFinished() const { return m_finished; }

signals:
    void finished(ws::ByteTunnel *tunnel);

private:
    void move(QTcpSocket *from, QTcpSocket *to);
    void onEnded(QTcpSocket *side);
    void checkFinished();

    QTcpSocket *m_first;
    QTcpSocket *m_second;
    qint64 m_queueLimit;
    bool m_finished = false;
};

} // namespace ws

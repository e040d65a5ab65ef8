#pragma once

#include "probe/caserun.h"
#include "probe/probecase.h"

#include <QObject>
#include <QTimer>

#include <functional>

class QTcpSocket;

namespace ws::probe {

// One opening-handshake case: raw HTTP on a plain TCP socket, since these cases send
// what our own client never would (missing, duplicate and oversized header fields,
// wrong versions, bad keys, a request in one-byte writes, frames in the same write as
// the request). The case's `handshake` function fills in the request and the judge;
// the run sends it, reads the answer (and, after a 101, the frames that follow for a
// bounded time) and lets the judge decide.
class HandshakeRun : public QObject {
    Q_OBJECT
public:
    HandshakeRun(ProbeCase probeCase, RunOptions options, QObject *parent = nullptr);
    ~HandshakeRun() override;

    void start();
    void abort();
    const CaseResult &result() const { return m_result; }
    CaseResult takeResult() { return std::move(m_result); }
    bool isFinished() const { return m_finished; }

    // --- what the case sets up ---------------------------------------------------
    // A valid request for the target with these header lines (each "Name: value")
    // replacing ours of the same name; an empty value removes ours.
    QByteArray request(const QList<std::pair<QByteArray, QByteArray>> &fields = {},
                       const QByteArray &method = "GET",
                       const QByteArray &version = "HTTP/1.1") const;
    const QByteArray &key() const { return m_key; }
    QByteArray toSend; // the request, and anything after it in the same write
    Chop chop;
    // After a 101: keep reading frames until `messagesWanted` messages came or this long.
    int readFramesMs = 0;
    int messagesWanted = 0;
    std::function<void(HandshakeRun &run, CaseResult &result)> judge;

    // --- what the server answered ------------------------------------------------
    int status = 0; // 0: no complete answer
    QByteArray statusLine;
    // The answer's header fields in order, names as sent.
    QList<std::pair<QByteArray, QByteArray>> headers;
    // Every value of `name` (case-insensitive), comma lists split and trimmed.
    QList<QByteArray> headerTokens(const QByteArray &name) const;
    bool hasHeader(const QByteArray &name) const;
    bool closedByServer = false; // the server closed TCP before we did
    QList<QByteArray> messages;  // text/binary messages after a 101
    QString frameError;          // the frames after the 101 broke a rule
    // The 101's Sec-WebSocket-Accept is right and Upgrade/Connection say websocket.
    bool isValidSwitch(QString *why) const;

signals:
    void finished();

private:
    void onConnected();
    void onReadyRead();
    void onDisconnected();
    void parseAnswer();
    void end(const QString &why = {});

    ProbeCase m_case;
    RunOptions m_options;
    CaseResult m_result;
    QTcpSocket *m_socket = nullptr;
    QTimer m_timer;
    QByteArray m_key;
    QByteArray m_received;
    qsizetype m_bodyStart = -1;
    std::unique_ptr<class FrameDecoder> m_decoder;
    bool m_finished = false;
    bool m_connected = false;
};

} // namespace ws::probe

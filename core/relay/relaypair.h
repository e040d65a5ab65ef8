#pragma once

#include "relay/relay.h"
#include "relay/relayleg.h"

#include <QObject>
#include <QTimer>

#include <optional>

namespace ws {

// One client of a Relay and its own upstream connection: the handshake decisions
// and the forwarding between the two legs. Owned by the Relay.
class RelayPair : public QObject {
    Q_OBJECT
public:
    RelayPair(quint64 id, RelayLeg *client, const RelayOptions &options, QObject *parent);
    ~RelayPair() override;

    quint64 id() const { return m_id; }
    void start();
    // Closes both legs with 1001 (the relay stops).
    void shutdown();
    bool isFinished() const { return m_clientDone && (!m_server || m_serverDone); }

signals:
    void legEvent(quint64 pair, ws::RelayLegKind leg, const ws::SessionEvent &event);
    void clientAccepted(quint64 pair, const QByteArray &rawRequest, const QByteArray &rawResponse,
                        const QByteArray &subprotocol);
    void logMessage(quint64 pair, const QString &line);
    void finished(ws::RelayPair *pair);

private:
    void onClientEvent(const SessionEvent &event);
    void onServerEvent(const SessionEvent &event);
    void onClientFinished();
    void onServerFinished();
    void onServerError(const QString &message);
    void onUpstreamDeadline();

    void startUpstream();
    void acceptClient();
    // The client's upgrade is answered with `response` instead of a 101.
    void refuseClient(const QByteArray &response, const QString &why);
    // 502/504 from the relay itself, the body saying what happened.
    void refuseClientWith(int status, const QString &text);

    // Forwarding, from the leg that received to the other.
    void forwardFrame(RelayLegKind from, const FrameEvent &event);
    void forwardMessage(RelayLegKind from, const MessageEvent &event);
    void forwardControl(RelayLegKind from, Opcode opcode, const QByteArray &payload);
    void forwardClose(RelayLegKind from, const CloseEvent &event);
    // The direct path (RelayOptions::observed off): a data frame straight from one
    // leg's decoder, queued on the other, which writes once the batch is read.
    void forwardDirectly();
    void forwardFrameView(RelayLegKind from, const FrameHeader &header, QByteArrayView payload,
                          QByteArray *buffer);
    void writeForwarded(RelayLegKind to);
    // A leg ended: the other is closed with `code` unless it is already closing.
    void legEnded(RelayLegKind leg, const ClosedEvent &closed);
    void closeLeg(RelayLegKind leg, quint16 code, const QString &reason);
    Connection *leg(RelayLegKind kind) const;
    void checkSent(RelayLegKind to, SendError error);
    // Back-pressure: the leg `to` was written to; pause the other while `to` is full.
    void applyBackPressure(RelayLegKind to);
    void onDrained(RelayLegKind leg);
    void setPaused(RelayLegKind leg, bool paused);
    void checkFinished();
    void log(const QString &line) { emit logMessage(m_id, line); }

    quint64 m_id;
    const RelayOptions &m_options;
    RelayLeg *m_client;
    RelayUpstream *m_server = nullptr;
    QTimer m_upstreamDeadline;
    QString m_serverError;
    // Why a leg failed (its violation), for the close sent on the other.
    std::optional<ViolationEvent> m_clientViolation;
    std::optional<ViolationEvent> m_serverViolation;
    QMetaObject::Connection m_clientDrain;
    QMetaObject::Connection m_serverDrain;
    bool m_frameByFrame = true;
    bool m_clientAnswered = false; // 101 or refusal sent to the client
    bool m_clientDone = false;
    bool m_serverDone = false;
    bool m_finishedEmitted = false;
};

} // namespace ws

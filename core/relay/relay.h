#pragma once

#include "net/clientconnection.h"
#include "protocol/permessagedeflate.h"
#include "protocol/session.h"
#include "relay/relayleg.h"

#include <QHostAddress>
#include <QObject>
#include <QSslCertificate>
#include <QSslKey>
#include <QUrl>

#include <memory>

class QTcpServer;

namespace ws {

class RelayPair;

struct RelayOptions {
    // Where every client is relayed to: ws[s]://host[:port][/path[?query]]. Without a
    // path (or with "/" alone) the client's request target is forwarded.
    QUrl target;
    QHostAddress listenAddress = QHostAddress::LocalHost;
    quint16 listenPort = 0; // 0: any free port
    // wss on the client leg: the certificate and key to present; null: plain ws.
    QSslCertificate certificate;
    QSslKey key;
    // The server leg's trust and timeouts (caCertificatesFile, acceptedFingerprint,
    // clientCertificate, proxy, connectTimeoutMs); the URL, Origin, subprotocols,
    // headers, deflate and session options are set per client.
    ClientOptions upstream;
    // Both legs: limits and conformance. Pings are never answered by the relay.
    SessionOptions session;
    // permessage-deflate per leg: the client leg accepts a client's offer, the server
    // leg offers it upstream, unless Refuse.
    DeflateConfig clientDeflate = {.policy = DeflatePolicy::Offer};
    DeflateConfig serverDeflate = {.policy = DeflatePolicy::Offer};
    // A client's request must be complete within this, and the upstream's answer
    // within this after it (then 504). Bounds every handshake: nobody waits forever.
    int handshakeTimeoutMs = 10'000;
    int closeTimeoutMs = 5'000;
    // Back-pressure: when either leg has more than this waiting to be written, the
    // other leg is not read until it drops under half of it.
    qint64 sendQueueLimit = 4 * 1024 * 1024;
    // Whether anyone watches the data frames (a log, a printer, the window). When not,
    // and neither leg uses permessage-deflate, each data frame goes from one leg's
    // decoder straight to the other leg, checked but never made an event, and each
    // batch read from one leg leaves on the other with one write: legEvent() then
    // carries the handshakes, control frames, closes, violations and notes only.
    bool observed = true;
};

// A reverse relay: listens, and for every client that asks to upgrade opens its own
// connection to the target with the client's request (path, query, Origin, Cookie,
// Authorization, subprotocol offers and the other end-to-end fields), answers the
// client with the upstream's answer (101 with its subprotocol and headers, or its
// refusal, or 502/504 saying what went wrong) and then forwards every frame both
// ways as it came: message boundaries and fragmentation, opcodes, pings and pongs
// (never answered here), close codes and reasons. Data frames go from one leg to
// the other one by one when neither leg uses permessage-deflate; with it on either
// leg, messages go whole (inflated on one leg, compressed again on the other). A
// violation on one leg fails that leg with its code and closes the other with 1011.
//
// Every event of both legs comes out as legEvent(), pair by pair.
class Relay : public QObject {
    Q_OBJECT
public:
    explicit Relay(RelayOptions options, QObject *parent = nullptr);
    ~Relay() override;

    bool listen();
    QString errorString() const { return m_error; }
    QHostAddress address() const;
    quint16 port() const;
    bool isSecure() const { return !m_options.certificate.isNull(); }
    const RelayOptions &options() const { return m_options; }
    // Pairs not yet finished.
    int pairCount() const { return int(m_pairs.size()); }

    // Stops listening and closes every pair with 1001 (going away); stopped() follows
    // once all are over (at once when there are none).
    void shutdown();

signals:
    // A client was accepted as pair `pair` (numbered from 1).
    void pairStarted(quint64 pair, const QString &peer);
    void legEvent(quint64 pair, ws::RelayLegKind leg, const ws::SessionEvent &event);
    // The client leg's 101 went out (the request's event came before it): for a log
    // that shows the answer with the request, as our server's log does.
    void clientAccepted(quint64 pair, const QByteArray &rawRequest, const QByteArray &rawResponse,
                        const QByteArray &subprotocol);
    // What the relay did or saw that is not a session event: the upstream's answer,
    // why a pair ended, TLS trouble.
    void logMessage(quint64 pair, const QString &line);
    void pairFinished(quint64 pair);
    void stopped();

private:
    void onNewConnection();
    void onPairFinished(RelayPair *pair);

    RelayOptions m_options;
    QTcpServer *m_listener = nullptr;
    QList<RelayPair *> m_pairs;
    quint64 m_nextId = 1;
    QString m_error;
    bool m_stopping = false;
};

} // namespace ws

#pragma once

#include "log/logstore.h"
#include "net/tlsinfo.h"
#include "protocol/session.h"

#include <QList>
#include <QSslCertificate>
#include <QString>

#include <optional>

namespace ws {

// What the window knows about one endpoint: a client connection, a hosted server,
// one client of a hosted server, a connection read from a log file, or a reverse
// relay with its pairs (one per relayed client) and each pair's two legs. Kept after
// the connection is over, so the tree can say how it ended.
struct EndpointInfo {
    enum class Kind { Client, Server, ServerClient, Archived, Relay, RelayPair, RelayLeg };

    Kind kind = Kind::Client;
    quint32 id = 0;       // the log's connection id (servers use one the log never sees)
    quint32 parentId = 0; // ServerClient: its server; RelayPair: its relay; RelayLeg: its pair
    QString name;         // "client 1", "server 1", "peer 2 of server 1", "relay 1 #2 server"
    QString address;      // URL or peer address
    SessionState state = SessionState::Connecting;
    bool finished = false;         // the connection is over, or the server has stopped
    bool listening = false;        // servers and relays
    log::Leg leg = log::Leg::None; // RelayLeg: which side of its pair
    std::optional<quint16> closeCode;
    QString closeReason;
    bool cleanClose = false;
    QString error; // the last error, in words for the user
    QString pongPolicy;
    qint64 messagesIn = 0;
    qint64 messagesOut = 0;
    qint64 bytesIn = 0;
    qint64 bytesOut = 0;
    bool secure = false;        // wss:// (clients and servers)
    std::optional<TlsInfo> tls; // clients, once the TLS handshake is done
    QString deflate;            // the negotiated permessage-deflate, in words; empty: none
    // RelayPair: its own faults (Relay::setPairFaults), in words; empty: the relay's.
    QString ownFaults;
    // wss clients whose server certificate was not accepted: the chain it presented
    // (its certificate first), so that the user can choose to trust exactly it.
    QList<QSslCertificate> rejectedChain;

    // Has a session of its own: log rows, a state, counters, a close.
    bool isConnection() const {
        return kind == Kind::Client || kind == Kind::ServerClient || kind == Kind::RelayLeg;
    }
    // Listens for clients: a hosted server or a relay.
    bool isListener() const { return kind == Kind::Server || kind == Kind::Relay; }
    bool isLive() const { return !finished && kind != Kind::Archived; }
};

// "closed 1000 (normal closure)", "open", "listening" ...: the state column's text.
QString endpointStateText(const EndpointInfo &info);

} // namespace ws

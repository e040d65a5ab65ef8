#pragma once

#include "log/logstore.h"
#include "protocol/extension.h"
#include "protocol/httpheaders.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <optional>

namespace ws::replay {

// Which side of a connection sent something.
enum class Side : quint8 { Client, Server };

// One thing a side sent, as the recording has it.
struct RecordedStep {
    enum class Kind : quint8 { Text, Binary, Ping, Pong, Close };
    Side side = Side::Client;
    Kind kind = Kind::Text;
    QByteArray payload; // data and ping/pong payloads; close: the reason in UTF-8
    std::optional<quint16> closeCode;
    // Data messages: how many frames carried it (a fragmented message is sent again in
    // as many frames of equal size).
    int frameCount = 1;
    // When the send was asked for (received steps: when they arrived), microseconds
    // after the connection opened.
    qint64 offsetUs = 0;
    // Data messages of each side before this step, in the recording's order.
    int clientMessagesBefore = 0;
    int serverMessagesBefore = 0;

    bool isMessage() const { return kind == Kind::Text || kind == Kind::Binary; }
};

const char *stepKindName(RecordedStep::Kind kind);

// A connection of a saved log, summed up for listing and choosing.
struct RecordedConnectionInfo {
    quint32 id = 0;
    QString name;
    QString url;
    // Whether our side of it was the client (`wsw connect`, the window's clients) or
    // a server (`wsw serve`, a hosted server's peers); nullopt: it never opened.
    std::optional<Side> recordedAs;
    int clientMessages = 0;
    int serverMessages = 0;
};

// One connection of a saved log, ready to be played again: the client's opening
// request and what each side sent, in the order of the log.
struct Recording {
    RecordedConnectionInfo connection;
    QByteArray rawRequest; // the client's opening request as it went out
    QByteArray resourceName;
    QByteArray origin;
    QList<QByteArray> subprotocols;    // offered
    QList<ExtensionParams> extensions; // offered
    HttpHeaders customHeaders;         // every other field but Host and the WebSocket ones
    QByteArray acceptedSubprotocol;    // what the server chose
    QByteArray acceptedExtensions;     // Sec-WebSocket-Extensions of the 101
    QList<RecordedStep> steps;
    qint64 openedUs = 0; // epoch time of the 101: the zero of every step's offset

    // The steps of one side.
    QList<RecordedStep> stepsOf(Side side) const;
    int messageCount(Side side) const;
    qint64 durationUs() const { return steps.isEmpty() ? 0 : steps.constLast().offsetUs; }
};

// Every connection of the log, in the order of their ids.
QList<RecordedConnectionInfo> recordedConnections(const log::LogStore &store);

// The connection `selector` names in `store`: empty, the first whose recording was
// made by a client (or the first at all when only servers recorded); a number N, the
// Nth connection (from 1, in the order of recordedConnections()); otherwise the
// connection with that name ("client", "peer 2", "client 3"). nullopt with *error
// set when there is none, or it never opened.
std::optional<Recording> loadRecording(const log::LogStore &store, const QString &selector,
                                       QString *error);

// The connection with the log id `connectionId` (a store's own id, as the window knows it).
std::optional<Recording> loadRecording(const log::LogStore &store, quint32 connectionId,
                                       QString *error);

// Reads a JSON Lines log into a store and loads one connection of it.
std::optional<Recording> loadRecording(const QString &path, const QString &selector,
                                       QString *error);

// The fields of a raw HTTP request head (start line left out), in order.
HttpHeaders parseRequestHeaders(const QByteArray &rawRequest, QByteArray *resourceName = nullptr);

} // namespace ws::replay

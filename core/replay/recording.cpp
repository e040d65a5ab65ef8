#include "replay/recording.h"

#include "log/jsonlinesfile.h"

#include <QHash>
#include <QSet>

namespace ws::replay {

namespace {

using log::LogKind;
using log::LogRecord;

struct ConnectionScan {
    RecordedConnectionInfo info;
    qsizetype handshakeIndex = -1;
};

// The side that sent a record of a connection recorded as `recordedAs`.
Side senderOf(const LogRecord &record, Side recordedAs) {
    const bool ours = record.has(LogRecord::Outgoing);
    if (recordedAs == Side::Client)
        return ours ? Side::Client : Side::Server;
    return ours ? Side::Server : Side::Client;
}

bool isDataMessage(const LogRecord &record) {
    return (record.kind == LogKind::Text || record.kind == LogKind::Binary) &&
           record.has(LogRecord::InMessageView) && !record.has(LogRecord::Undirected);
}

bool isControlFrame(const LogRecord &record) {
    return (record.kind == LogKind::Ping || record.kind == LogKind::Pong ||
            record.kind == LogKind::Close) &&
           record.isFrame() && !record.has(LogRecord::Undirected);
}

QHash<quint32, ConnectionScan> scan(const log::LogStore &store) {
    QHash<quint32, ConnectionScan> scans;
    for (const quint32 id : store.connectionIds()) {
        ConnectionScan &s = scans[id];
        s.info.id = id;
        s.info.name = store.connectionName(id);
        s.info.url = store.connectionInfo(id).url;
    }
    for (qsizetype i = 0; i < store.size(); ++i) {
        const LogRecord &record = store.at(i);
        ConnectionScan &s = scans[record.connection];
        if (s.info.id == 0) {
            s.info.id = record.connection;
            s.info.name = store.connectionName(record.connection);
        }
        if (record.kind == LogKind::Handshake && !s.info.recordedAs) {
            const log::LogRecordExtra *extra = store.extra(i);
            if (!extra || extra->httpStatus != 101)
                continue;
            if (extra->handshakeKind == HandshakeEvent::Kind::ClientAccepted)
                s.info.recordedAs = Side::Client;
            else if (extra->handshakeKind == HandshakeEvent::Kind::UpgradeRequested)
                s.info.recordedAs = Side::Server;
            else
                continue;
            s.handshakeIndex = i;
        } else if (s.info.recordedAs && isDataMessage(record)) {
            if (senderOf(record, *s.info.recordedAs) == Side::Client)
                ++s.info.clientMessages;
            else
                ++s.info.serverMessages;
        }
    }
    return scans;
}

QList<quint32> sortedIds(const QHash<quint32, ConnectionScan> &scans) {
    QList<quint32> ids = scans.keys();
    std::sort(ids.begin(), ids.end());
    return ids;
}

void setError(QString *error, const QString &text) {
    if (error)
        *error = text;
}

// Header fields a replay never copies: the new connection makes its own.
bool isConnectionField(const QByteArray &name) {
    static const QSet<QByteArray> fields = {"host",
                                            "upgrade",
                                            "connection",
                                            "sec-websocket-key",
                                            "sec-websocket-version",
                                            "sec-websocket-protocol",
                                            "sec-websocket-extensions",
                                            "origin",
                                            "content-length"};
    return fields.contains(name.toLower());
}

} // namespace

const char *stepKindName(RecordedStep::Kind kind) {
    switch (kind) {
    case RecordedStep::Kind::Text:
        return "text";
    case RecordedStep::Kind::Binary:
        return "binary";
    case RecordedStep::Kind::Ping:
        return "ping";
    case RecordedStep::Kind::Pong:
        return "pong";
    case RecordedStep::Kind::Close:
        return "close";
    }
    return "?";
}

QList<RecordedStep> Recording::stepsOf(Side side) const {
    QList<RecordedStep> out;
    for (const RecordedStep &step : steps) {
        if (step.side == side)
            out.append(step);
    }
    return out;
}

int Recording::messageCount(Side side) const {
    return side == Side::Client ? connection.clientMessages : connection.serverMessages;
}

HttpHeaders parseRequestHeaders(const QByteArray &rawRequest, QByteArray *resourceName) {
    HttpHeaders headers;
    const QList<QByteArray> lines = rawRequest.split('\n');
    for (qsizetype i = 0; i < lines.size(); ++i) {
        QByteArray line = lines.at(i);
        if (line.endsWith('\r'))
            line.chop(1);
        if (i == 0) {
            // GET /path HTTP/1.1
            const QList<QByteArray> parts = line.split(' ');
            if (resourceName && parts.size() >= 2)
                *resourceName = parts.at(1);
            continue;
        }
        if (line.isEmpty())
            break;
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0)
            continue;
        headers.add(line.left(colon).trimmed(), line.mid(colon + 1).trimmed());
    }
    return headers;
}

QList<RecordedConnectionInfo> recordedConnections(const log::LogStore &store) {
    const QHash<quint32, ConnectionScan> scans = scan(store);
    QList<RecordedConnectionInfo> out;
    for (const quint32 id : sortedIds(scans))
        out.append(scans.value(id).info);
    return out;
}

std::optional<Recording> loadRecording(const log::LogStore &store, const QString &selector,
                                       QString *error) {
    const QHash<quint32, ConnectionScan> scans = scan(store);
    const QList<quint32> ids = sortedIds(scans);
    if (ids.isEmpty()) {
        setError(error, QStringLiteral("the log holds no connection"));
        return std::nullopt;
    }
    std::optional<quint32> chosen;
    if (selector.isEmpty()) {
        for (const quint32 id : ids) {
            if (scans.value(id).info.recordedAs == Side::Client) {
                chosen = id;
                break;
            }
        }
        for (qsizetype i = 0; !chosen && i < ids.size(); ++i) {
            if (scans.value(ids.at(i)).info.recordedAs)
                chosen = ids.at(i);
        }
        if (!chosen) {
            setError(error, QStringLiteral("no connection of the log ever opened"));
            return std::nullopt;
        }
    } else {
        bool isNumber = false;
        const int index = selector.toInt(&isNumber);
        if (isNumber) {
            if (index < 1 || index > ids.size()) {
                setError(error, QStringLiteral("the log has %1 connection(s): no connection %2")
                                    .arg(ids.size())
                                    .arg(index));
                return std::nullopt;
            }
            chosen = ids.at(index - 1);
        } else {
            for (const quint32 id : ids) {
                if (scans.value(id).info.name == selector) {
                    chosen = id;
                    break;
                }
            }
            if (!chosen) {
                QStringList names;
                for (const quint32 id : ids)
                    names.append(QLatin1Char('"') + scans.value(id).info.name + QLatin1Char('"'));
                setError(error, QStringLiteral("no connection named \"%1\" in the log (it has %2)")
                                    .arg(selector, names.join(QStringLiteral(", "))));
                return std::nullopt;
            }
        }
    }
    const ConnectionScan &chosenScan = scans.value(*chosen);
    if (!chosenScan.info.recordedAs) {
        setError(error, QStringLiteral("connection \"%1\" never opened: there is nothing to replay")
                            .arg(chosenScan.info.name));
        return std::nullopt;
    }

    Recording recording;
    recording.connection = chosenScan.info;
    const Side recordedAs = *chosenScan.info.recordedAs;
    const LogRecord &handshake = store.at(chosenScan.handshakeIndex);
    const log::LogRecordExtra *handshakeExtra = store.extra(chosenScan.handshakeIndex);
    recording.openedUs = handshake.timestampUs;
    recording.rawRequest = handshakeExtra->rawRequest;
    const HttpHeaders request = parseRequestHeaders(recording.rawRequest, &recording.resourceName);
    recording.origin = request.value("Origin").value_or(QByteArray());
    recording.subprotocols = request.tokens("Sec-WebSocket-Protocol");
    if (const auto offer = request.combined("Sec-WebSocket-Extensions")) {
        if (auto parsed = parseExtensions(*offer))
            recording.extensions = *parsed;
    }
    for (const HttpHeaders::Field &field : request.fields()) {
        if (!isConnectionField(field.first))
            recording.customHeaders.add(field.first, field.second);
    }
    const HttpHeaders response = parseRequestHeaders(handshakeExtra->rawResponse);
    recording.acceptedSubprotocol = response.value("Sec-WebSocket-Protocol").value_or(QByteArray());
    recording.acceptedExtensions =
        response.combined("Sec-WebSocket-Extensions").value_or(QByteArray());

    // A pong that answers the other side's ping, and the close that answers the
    // other side's close, are the session's automatic answers: a replay's session
    // gives them again by itself.
    QList<QByteArray> unansweredPings[2];
    bool closeSent = false;
    int messages[2] = {0, 0};
    for (qsizetype i = chosenScan.handshakeIndex + 1; i < store.size(); ++i) {
        const LogRecord &record = store.at(i);
        if (record.connection != *chosen)
            continue;
        const bool message = isDataMessage(record);
        if (!message && !isControlFrame(record))
            continue;
        RecordedStep step;
        step.side = senderOf(record, recordedAs);
        const int side = int(step.side);
        const int other = 1 - side;
        step.clientMessagesBefore = messages[int(Side::Client)];
        step.serverMessagesBefore = messages[int(Side::Server)];
        const qint64 askedUs = record.has(LogRecord::Outgoing)
                                   ? record.timestampUs - record.sendDelayUs
                                   : record.timestampUs;
        step.offsetUs = std::max<qint64>(0, askedUs - recording.openedUs);
        switch (record.kind) {
        case LogKind::Text:
            step.kind = RecordedStep::Kind::Text;
            step.payload = record.payload;
            step.frameCount = std::max(1, int(record.frameCount));
            break;
        case LogKind::Binary:
            step.kind = RecordedStep::Kind::Binary;
            step.payload = record.payload;
            step.frameCount = std::max(1, int(record.frameCount));
            break;
        case LogKind::Ping:
            step.kind = RecordedStep::Kind::Ping;
            step.payload = record.payload;
            unansweredPings[side].append(record.payload);
            break;
        case LogKind::Pong:
            step.kind = RecordedStep::Kind::Pong;
            step.payload = record.payload;
            if (unansweredPings[other].removeOne(record.payload))
                continue;
            break;
        case LogKind::Close:
            if (closeSent)
                continue;
            closeSent = true;
            step.kind = RecordedStep::Kind::Close;
            if (record.has(LogRecord::HasCloseCode))
                step.closeCode = record.closeCode;
            step.payload = record.closeReason();
            break;
        default:
            continue;
        }
        if (message)
            ++messages[side];
        recording.steps.append(step);
    }
    return recording;
}

std::optional<Recording> loadRecording(const log::LogStore &store, quint32 connectionId,
                                       QString *error) {
    const QList<RecordedConnectionInfo> connections = recordedConnections(store);
    for (qsizetype i = 0; i < connections.size(); ++i) {
        if (connections.at(i).id == connectionId)
            return loadRecording(store, QString::number(i + 1), error);
    }
    setError(error, QStringLiteral("the log has no connection #%1").arg(connectionId));
    return std::nullopt;
}

std::optional<Recording> loadRecording(const QString &path, const QString &selector,
                                       QString *error) {
    log::LogStore store;
    QString readError;
    if (!log::JsonLinesFile::open(path, store, &readError)) {
        setError(error, QStringLiteral("cannot read %1: %2").arg(path, readError));
        return std::nullopt;
    }
    return loadRecording(store, selector, error);
}

} // namespace ws::replay

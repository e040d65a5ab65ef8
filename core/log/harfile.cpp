#include "log/harfile.h"

#include "log/logfileio.h"
#include "protocol/httpheaders.h"

#include <QDateTime>
#include <QHostAddress>
#include <QIODevice>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QObject>
#include <QUrl>
#include <QUrlQuery>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <vector>

namespace ws::log {

namespace {

// A logged handshake's request or response, read by the protocol core's parser. A
// log may hold a head that was cut short (a failed handshake): it is read as far as
// it goes, and what it lacks is taken from startLinePart()'s fallbacks.
HeaderBlockReader readHead(const QByteArray &raw, HeaderBlockReader::Kind kind) {
    HeaderBlockReader reader(kind, raw.size() + 16, std::numeric_limits<int>::max());
    qsizetype consumed = 0;
    if (reader.feed(raw, &consumed) == HeaderBlockReader::Result::NeedMore)
        reader.feed("\r\n\r\n", &consumed);
    return reader;
}

// A part of the start line, or `fallback` when the head had no usable one.
QByteArray startLinePart(const QByteArray &part, const char *fallback) {
    return part.isEmpty() ? QByteArray(fallback) : part;
}

QJsonArray headersJson(const HttpHeaders &headers) {
    QJsonArray array;
    for (const auto &h : headers.fields())
        array.append(QJsonObject{{QStringLiteral("name"), QString::fromUtf8(h.first)},
                                 {QStringLiteral("value"), QString::fromUtf8(h.second)}});
    return array;
}

QByteArray headerValue(const QJsonArray &headers, QByteArrayView name) {
    for (const QJsonValue &h : headers) {
        const QJsonObject o = h.toObject();
        if (o.value(QStringLiteral("name"))
                .toString()
                .toUtf8()
                .compare(name, Qt::CaseInsensitive) == 0)
            return o.value(QStringLiteral("value")).toString().toUtf8();
    }
    return {};
}

QByteArray headBlock(const QByteArray &startLine, const QJsonArray &headers) {
    QByteArray block = startLine + "\r\n";
    for (const QJsonValue &h : headers) {
        const QJsonObject o = h.toObject();
        block += o.value(QStringLiteral("name")).toString().toUtf8() + ": " +
                 o.value(QStringLiteral("value")).toString().toUtf8() + "\r\n";
    }
    block += "\r\n";
    return block;
}

QString isoTime(qint64 us) {
    return QDateTime::fromMSecsSinceEpoch(us / 1000, Qt::UTC).toString(Qt::ISODateWithMs);
}

std::optional<qint64> parseIsoTime(const QString &text) {
    QDateTime time = QDateTime::fromString(text, Qt::ISODateWithMs);
    if (!time.isValid())
        time = QDateTime::fromString(text, Qt::ISODate);
    if (!time.isValid())
        return std::nullopt;
    return time.toMSecsSinceEpoch() * 1000;
}

// The window and `wsw serve` name a server-side connection "ws://host:port/ \u2190 peer":
// the server's address, then the client's.
const QString PeerSeparator = QStringLiteral(" \u2190 ");

// A server-side connection: its handshake was received, not sent.
bool isServerSide(const LogRecordExtra *handshake, const ConnectionInfo &info) {
    if (info.url.contains(PeerSeparator))
        return true;
    return handshake && (handshake->handshakeKind == HandshakeEvent::Kind::UpgradeRequested ||
                         handshake->handshakeKind == HandshakeEvent::Kind::PlainHttpRequest);
}

QString statusText(int status) {
    switch (status) {
    case 101:
        return QStringLiteral("Switching Protocols");
    case 200:
        return QStringLiteral("OK");
    case 400:
        return QStringLiteral("Bad Request");
    case 403:
        return QStringLiteral("Forbidden");
    case 404:
        return QStringLiteral("Not Found");
    case 426:
        return QStringLiteral("Upgrade Required");
    default:
        return {};
    }
}

} // namespace

bool HarFile::save(const LogStore &store, QIODevice &device, QString *error,
                   const RecordSelection &selection) {
    struct Connection {
        qsizetype handshake = -1;
        qsizetype first = -1;
        qsizetype firstError = -1;
        bool hasFrames = false; // anything that only an upgraded connection carries
        std::vector<qsizetype> messages;
    };
    std::map<quint32, Connection> connections;
    for (qsizetype i = 0; i < store.size(); ++i) {
        if (selection && !selection(i))
            continue;
        const LogRecord &r = store.at(i);
        Connection &c = connections[r.connection];
        if (c.first < 0)
            c.first = i;
        if (r.kind == LogKind::Handshake && c.handshake < 0)
            c.handshake = i;
        if (r.kind == LogKind::Error && c.firstError < 0)
            c.firstError = i;
        c.hasFrames |=
            r.has(LogRecord::HasHeader) || r.kind == LogKind::Text || r.kind == LogKind::Binary;
        // Chrome lists data messages (opcode 1 and 2) and errors, not control frames.
        const bool dataMessage = (r.kind == LogKind::Text || r.kind == LogKind::Binary) &&
                                 r.has(LogRecord::InMessageView);
        if (dataMessage || r.kind == LogKind::Error)
            c.messages.push_back(i);
    }

    const QJsonObject creator{{QStringLiteral("name"), QStringLiteral("WebSocket Workbench")},
                              {QStringLiteral("version"), QLatin1String(creatorVersion())}};
    QByteArray out = "{\"log\":{\"version\":\"1.2\",\"creator\":" +
                     QJsonDocument(creator).toJson(QJsonDocument::Compact) +
                     ",\"pages\":[],\"entries\":[";
    bool firstEntry = true;
    int entryNumber = 0;
    for (const auto &[id, c] : connections) {
        const ConnectionInfo info = store.connectionInfo(id);
        const LogRecordExtra *hs = c.handshake >= 0 ? store.extra(c.handshake) : nullptr;
        const HeaderBlockReader request =
            readHead(hs ? hs->rawRequest : QByteArray(), HeaderBlockReader::Kind::Request);
        const HeaderBlockReader response =
            readHead(hs ? hs->rawResponse : QByteArray(), HeaderBlockReader::Kind::Response);
        const QByteArray target = startLinePart(request.target(), "/");

        // A server-side connection is exported as the browser would have seen it: the
        // URL its client asked for (scheme of the server, Host and target of the
        // request), with the client's address in `_peer`.
        const bool serverSide = isServerSide(hs, info);
        QString url = info.url;
        QString peer;
        if (serverSide) {
            const qsizetype separator = url.indexOf(PeerSeparator);
            if (separator >= 0) {
                peer = url.mid(separator + PeerSeparator.size());
                url.truncate(separator);
            }
        }
        if (url.isEmpty() || (serverSide && hs && !hs->rawRequest.isEmpty())) {
            const QUrl server(url);
            QByteArray host = request.headers().value("host").value_or(QByteArray());
            if (host.isEmpty())
                host = server.authority().toUtf8();
            const QString scheme =
                server.scheme().isEmpty() ? QStringLiteral("ws") : server.scheme();
            url =
                QStringLiteral("%1://%2%3")
                    .arg(scheme, QString::fromUtf8(host.isEmpty() ? QByteArray("localhost") : host),
                         QString::fromUtf8(target));
        }
        const QUrl parsedUrl(url);
        QJsonArray queryString;
        for (const auto &item : QUrlQuery(parsedUrl).queryItems(QUrl::FullyDecoded))
            queryString.append(QJsonObject{{QStringLiteral("name"), item.first},
                                           {QStringLiteral("value"), item.second}});

        int status = 0;
        QString reason;
        // What went wrong before any answer, as Chrome's `_error` says it.
        QJsonValue failure = QJsonValue::Null;
        if (response.statusCode() != 0) {
            status = response.statusCode();
            reason = QString::fromUtf8(response.reasonPhrase());
        } else if (hs && hs->httpStatus != 0) {
            status = hs->httpStatus;
        } else if (c.hasFrames || (hs && hs->handshakeKind != HandshakeEvent::Kind::Failed) ||
                   (!hs && c.firstError < 0)) {
            status = 101; // a log without the handshake still held an open WebSocket
        } else {
            // Refused, unreachable or cut off before any HTTP answer: no status, as a
            // browser writes a request that never got one.
            failure = hs && !hs->handshakeError.isEmpty()
                          ? hs->handshakeError
                          : QString::fromUtf8(c.firstError >= 0 ? store.at(c.firstError).payload
                                                                : QByteArray());
        }
        if (status != 0 && status != 101 && hs && !hs->handshakeError.isEmpty())
            failure = hs->handshakeError;
        if (reason.isEmpty())
            reason = statusText(status);

        const qsizetype startIndex = c.handshake >= 0 ? c.handshake : c.first;
        const qint64 startUs = store.at(startIndex).timestampUs;

        QJsonObject requestJson{
            {QStringLiteral("method"), QString::fromUtf8(startLinePart(request.method(), "GET"))},
            {QStringLiteral("url"), url},
            {QStringLiteral("httpVersion"),
             QString::fromUtf8(startLinePart(request.version(), "HTTP/1.1"))},
            {QStringLiteral("headers"), headersJson(request.headers())},
            {QStringLiteral("queryString"), queryString},
            {QStringLiteral("cookies"), QJsonArray()},
            {QStringLiteral("headersSize"),
             hs && !hs->rawRequest.isEmpty() ? qint64(hs->rawRequest.size()) : qint64(-1)},
            {QStringLiteral("bodySize"), 0},
        };
        QJsonObject responseJson{
            {QStringLiteral("status"), status},
            {QStringLiteral("statusText"), reason},
            {QStringLiteral("httpVersion"),
             QString::fromUtf8(startLinePart(response.version(), "HTTP/1.1"))},
            {QStringLiteral("headers"), headersJson(response.headers())},
            {QStringLiteral("cookies"), QJsonArray()},
            {QStringLiteral("content"),
             QJsonObject{{QStringLiteral("size"), 0},
                         {QStringLiteral("mimeType"), QStringLiteral("x-unknown")}}},
            {QStringLiteral("redirectURL"), QString()},
            {QStringLiteral("headersSize"),
             hs && !hs->rawResponse.isEmpty() ? qint64(hs->rawResponse.size()) : qint64(-1)},
            {QStringLiteral("bodySize"), 0},
            {QStringLiteral("_transferSize"), 0},
            {QStringLiteral("_error"), failure},
        };
        QJsonObject entry{
            {QStringLiteral("_initiator"),
             QJsonObject{{QStringLiteral("type"), QStringLiteral("other")}}},
            {QStringLiteral("_priority"), QJsonValue::Null},
            {QStringLiteral("_resourceType"), QStringLiteral("websocket")},
            {QStringLiteral("cache"), QJsonObject()},
            // Numbered in the file, so that a file read back writes the same numbers.
            {QStringLiteral("connection"), QString::number(++entryNumber)},
            {QStringLiteral("request"), requestJson},
            {QStringLiteral("response"), responseJson},
            {QStringLiteral("startedDateTime"), isoTime(startUs)},
            {QStringLiteral("time"), 0},
            {QStringLiteral("timings"), QJsonObject{{QStringLiteral("blocked"), -1},
                                                    {QStringLiteral("dns"), -1},
                                                    {QStringLiteral("ssl"), -1},
                                                    {QStringLiteral("connect"), -1},
                                                    {QStringLiteral("send"), 0},
                                                    {QStringLiteral("wait"), 0},
                                                    {QStringLiteral("receive"), 0},
                                                    {QStringLiteral("_blocked_queueing"), -1}}},
        };
        if (const QHostAddress address(parsedUrl.host()); !address.isNull())
            entry.insert(QStringLiteral("serverIPAddress"), address.toString());
        if (serverSide)
            entry.insert(QStringLiteral("_peer"), peer);

        // The messages are streamed after the rest of the entry: the entry's JSON is
        // written without its closing brace and the array follows.
        QByteArray entryJson = QJsonDocument(entry).toJson(QJsonDocument::Compact);
        entryJson.chop(1);
        out += (firstEntry ? "" : ",") + entryJson + ",\"_webSocketMessages\":[";
        firstEntry = false;
        bool firstMessage = true;
        for (const qsizetype i : c.messages) {
            const LogRecord &r = store.at(i);
            QJsonObject m;
            if (r.kind == LogKind::Error) {
                // What Chrome writes for webSocketFrameError.
                m.insert(QStringLiteral("type"), QStringLiteral("error"));
                m.insert(QStringLiteral("time"), double(r.timestampUs) / 1e6);
                m.insert(QStringLiteral("opcode"), -1);
                m.insert(QStringLiteral("data"), QString::fromUtf8(r.payload));
            } else {
                m.insert(QStringLiteral("type"), r.has(LogRecord::Outgoing)
                                                     ? QStringLiteral("send")
                                                     : QStringLiteral("receive"));
                m.insert(QStringLiteral("time"), double(r.timestampUs) / 1e6);
                const bool text = r.kind == LogKind::Text;
                m.insert(QStringLiteral("opcode"), text ? 1 : 2);
                // Chrome's payloadData: UTF-8 text for opcode 1, base64 otherwise.
                m.insert(QStringLiteral("data"), text ? QString::fromUtf8(r.payload)
                                                      : QString::fromLatin1(r.payload.toBase64()));
            }
            out += (firstMessage ? "" : ",") + QJsonDocument(m).toJson(QJsonDocument::Compact);
            firstMessage = false;
            if (!flushWhenFull(device, out, error))
                return false;
        }
        out += "]}";
    }
    out += "]}}\n";
    return writeAll(device, out, error);
}

bool HarFile::save(const LogStore &store, const QString &path, QString *error,
                   const RecordSelection &selection) {
    return saveToFile(path, error,
                      [&](QIODevice &device) { return save(store, device, error, selection); });
}

bool HarFile::open(QIODevice &device, LogStore &store, QString *error,
                   const ReadProgress &progress) {
    // A HAR is one JSON document by definition; Chrome's are read whole, a piece at a
    // time so that the reading can report progress.
    ProgressReporter reporter(device, progress);
    QByteArray bytes;
    if (reporter.total() > reporter.done())
        bytes.reserve(reporter.total() - reporter.done());
    for (;;) {
        const qsizetype old = bytes.size();
        bytes.resize(old + ProgressInterval);
        const qint64 read = device.read(bytes.data() + old, ProgressInterval);
        bytes.resize(old + qsizetype(std::max<qint64>(read, 0)));
        if (read <= 0)
            break;
        if (!reporter.consumed(read))
            return cancelled(error);
    }
    if (!reporter.report())
        return cancelled(error);
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &parseError);
    bytes.clear();
    if (parseError.error != QJsonParseError::NoError) {
        setError(error, QObject::tr("not JSON: %1 at offset %2")
                            .arg(parseError.errorString())
                            .arg(parseError.offset));
        return false;
    }
    const QJsonValue entriesValue =
        doc.object().value(QStringLiteral("log")).toObject().value(QStringLiteral("entries"));
    if (!entriesValue.isArray()) {
        setError(error, QObject::tr("not a HAR file: no log.entries"));
        return false;
    }

    std::vector<FullRecord> imported;
    // The store is touched only once every entry has been read, so that a cancelled
    // import leaves nothing in it.
    std::vector<std::pair<quint32, ConnectionInfo>> connections;
    // Rows converted between two chances to cancel.
    constexpr size_t RowsBetweenReports = 4096;
    size_t rowsAtLastReport = 0;
    quint32 nextId = store.unusedConnectionId();
    for (const QJsonValue &entryValue : entriesValue.toArray()) {
        const QJsonObject entry = entryValue.toObject();
        const QJsonObject request = entry.value(QStringLiteral("request")).toObject();
        const QJsonObject response = entry.value(QStringLiteral("response")).toObject();
        const QString url = request.value(QStringLiteral("url")).toString();
        const QUrl parsedUrl(url);
        const bool webSocket =
            entry.value(QStringLiteral("_resourceType")).toString() == QLatin1String("websocket") ||
            parsedUrl.scheme() == QLatin1String("ws") || parsedUrl.scheme() == QLatin1String("wss");
        if (!webSocket)
            continue;
        if (imported.size() - rowsAtLastReport >= RowsBetweenReports) {
            rowsAtLastReport = imported.size();
            if (!reporter.report())
                return cancelled(error);
        }
        const quint32 id = nextId++;
        QString name = parsedUrl.host();
        if (parsedUrl.port() > 0)
            name += QLatin1Char(':') + QString::number(parsedUrl.port());
        name += parsedUrl.path(QUrl::FullyEncoded);
        // Our own export of a server-side connection: the client is the peer.
        const QJsonValue peerValue = entry.value(QStringLiteral("_peer"));
        const bool serverSide = peerValue.isString();
        const QString peer = peerValue.toString();
        if (serverSide) {
            if (!peer.isEmpty())
                name = peer + PeerSeparator + name;
            connections.emplace_back(
                id, ConnectionInfo{name, peer.isEmpty() ? url : url + PeerSeparator + peer});
        } else {
            connections.emplace_back(id, ConnectionInfo{name, url});
        }

        const qint64 startUs =
            parseIsoTime(entry.value(QStringLiteral("startedDateTime")).toString()).value_or(0);

        // The handshake as the browser sent and received it.
        // A HAR holds handshakes and messages, never frames: every row is in both views.
        FullRecord hs{connectionRow(id, startUs, LogKind::Handshake), {}};
        QByteArray target = parsedUrl.path(QUrl::FullyEncoded).toUtf8();
        if (target.isEmpty())
            target = "/";
        if (parsedUrl.hasQuery())
            target += '?' + parsedUrl.query(QUrl::FullyEncoded).toUtf8();
        const QJsonArray requestHeaders = request.value(QStringLiteral("headers")).toArray();
        const QJsonArray responseHeaders = response.value(QStringLiteral("headers")).toArray();
        const int status = response.value(QStringLiteral("status")).toInt();
        // No headers either way: the handshake was never logged (or, with status 0,
        // never happened: refused before any HTTP exchange, the error rows below say
        // why). No handshake row is made up for it.
        const bool handshakeKnown = !requestHeaders.isEmpty() || !responseHeaders.isEmpty();
        if (handshakeKnown) {
            hs.extra.rawRequest = headBlock(
                request.value(QStringLiteral("method")).toString(QStringLiteral("GET")).toUtf8() +
                    ' ' + target + ' ' +
                    request.value(QStringLiteral("httpVersion"))
                        .toString(QStringLiteral("HTTP/1.1"))
                        .toUtf8(),
                requestHeaders);
            // Status 0: the request went out and no answer came. A response without
            // headers or size is one the log did not hold (a server's event carries the
            // request it received only).
            const bool responseKnown =
                !responseHeaders.isEmpty() ||
                response.value(QStringLiteral("headersSize")).toInteger(-1) > 0;
            if (status != 0 && responseKnown) {
                hs.extra.rawResponse =
                    headBlock(response.value(QStringLiteral("httpVersion"))
                                      .toString(QStringLiteral("HTTP/1.1"))
                                      .toUtf8() +
                                  ' ' + QByteArray::number(status) + ' ' +
                                  response.value(QStringLiteral("statusText")).toString().toUtf8(),
                              responseHeaders);
            }
            hs.extra.httpStatus = status;
            hs.extra.subprotocol = headerValue(responseHeaders, "Sec-WebSocket-Protocol");
            hs.extra.extensions = headerValue(responseHeaders, "Sec-WebSocket-Extensions");
            if (status == 101) {
                // The server side received the upgrade; the client side sent it.
                hs.extra.handshakeKind = serverSide ? HandshakeEvent::Kind::UpgradeRequested
                                                    : HandshakeEvent::Kind::ClientAccepted;
                hs.record.set(LogRecord::Outgoing, !serverSide);
            } else {
                hs.extra.handshakeKind = HandshakeEvent::Kind::Failed;
                hs.extra.handshakeError =
                    response.value(QStringLiteral("_error"))
                        .toString(status == 0 ? QObject::tr("no answer to the upgrade request")
                                              : QObject::tr("the server answered %1").arg(status));
                hs.record.set(LogRecord::Undirected);
                hs.record.set(LogRecord::Failure);
            }
            hs.record.length = quint64(hs.extra.rawRequest.size() + hs.extra.rawResponse.size());
            imported.push_back(std::move(hs));
        }

        for (const QJsonValue &messageValue :
             entry.value(QStringLiteral("_webSocketMessages")).toArray()) {
            if (imported.size() - rowsAtLastReport >= RowsBetweenReports) {
                rowsAtLastReport = imported.size();
                if (!reporter.report())
                    return cancelled(error);
            }
            const QJsonObject m = messageValue.toObject();
            const QString type = m.value(QStringLiteral("type")).toString();
            const QJsonValue timeValue = m.value(QStringLiteral("time"));
            qint64 us = startUs;
            if (timeValue.isDouble())
                us = qint64(std::llround(timeValue.toDouble() * 1e6));
            else if (timeValue.isString())
                us = parseIsoTime(timeValue.toString()).value_or(startUs);
            const int opcode = m.value(QStringLiteral("opcode")).toInt(1);
            const QString data = m.value(QStringLiteral("data")).toString();

            const bool isError = type == QLatin1String("error");
            FullRecord row{
                connectionRow(id, us, isError ? LogKind::Error : logKindForOpcode(quint8(opcode))),
                {}};
            LogRecord &r = row.record;
            if (isError) {
                r.payload = data.toUtf8();
                r.set(LogRecord::Failure);
                r.length = quint64(r.payload.size());
                imported.push_back(std::move(row));
                continue;
            }
            r.set(LogRecord::Outgoing, type == QLatin1String("send"));
            r.payload = data.toUtf8();
            if (opcode == 2) {
                // Chrome's payloadData is base64 for binary messages. (Other tools that
                // put control frames here write their payload as text.)
                if (auto decoded = strictBase64(data))
                    r.payload = std::move(*decoded);
            }
            if (r.kind == LogKind::Close && r.payload.size() >= 2) {
                r.closeCode = quint16((quint8(r.payload[0]) << 8) | quint8(r.payload[1]));
                r.set(LogRecord::HasCloseCode);
            }
            r.length = quint64(r.payload.size());
            imported.push_back(std::move(row));
        }
    }
    // One timeline across connections, each connection's own order kept.
    std::stable_sort(imported.begin(), imported.end(),
                     [](const FullRecord &a, const FullRecord &b) {
                         return a.record.timestampUs < b.record.timestampUs;
                     });
    if (!reporter.report())
        return cancelled(error);
    for (const auto &[id, info] : connections)
        store.setConnectionInfo(id, info);
    for (const FullRecord &i : imported)
        store.appendRecord(i.record, i.extra);
    return true;
}

bool HarFile::open(const QString &path, LogStore &store, QString *error,
                   const ReadProgress &progress) {
    return readFromFile(path, error,
                        [&](QIODevice &device) { return open(device, store, error, progress); });
}

} // namespace ws::log

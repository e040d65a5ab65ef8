#pragma once

// Shared by the network layer's integration tests: an event recorder for
// ClientConnection / ServerClient, raw-socket helpers that speak bytes, and a raw
// TCP server to play a misbehaving WebSocket server.

#include "net/clientconnection.h"
#include "net/server.h"
#include "net/testpage.h"

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QEventLoop>
#include <QList>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QTimer>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace wstest {

// Every SessionEvent of one connection, in order.
class EventRecorder : public QObject {
public:
    template <class Source> void watch(Source *source) {
        connect(source, &Source::sessionEvent, this,
                [this](const ws::SessionEvent &event) { events.push_back(event); });
    }

    template <class T> QList<T> all() const {
        QList<T> out;
        for (const ws::SessionEvent &event : events) {
            if (const T *typed = std::get_if<T>(&event))
                out.append(*typed);
        }
        return out;
    }

    QList<ws::DecodedMessage> messages(ws::Direction direction = ws::Direction::Incoming) const {
        QList<ws::DecodedMessage> out;
        for (const ws::MessageEvent &event : all<ws::MessageEvent>()) {
            if (event.direction == direction)
                out.append(event.message);
        }
        return out;
    }

    QList<QByteArray> incomingData() const {
        QList<QByteArray> out;
        for (const ws::DecodedMessage &message : messages())
            out.append(message.data);
        return out;
    }

    std::optional<ws::ClosedEvent> closed() const {
        const QList<ws::ClosedEvent> list = all<ws::ClosedEvent>();
        return list.isEmpty() ? std::nullopt : std::optional(list.last());
    }

    bool hasNote(ws::ConformanceNote::Kind kind) const {
        for (const ws::NoteEvent &note : all<ws::NoteEvent>()) {
            if (note.note.kind == kind)
                return true;
        }
        return false;
    }

    std::vector<ws::SessionEvent> events;
};

// RFC 6455 §1.3's sample key and its accept value.
inline constexpr char SampleKey[] = "dGhlIHNhbXBsZSBub25jZQ==";
inline constexpr char SampleAccept[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

inline QByteArray upgradeRequest(quint16 port, const QByteArray &extraHeaders = {},
                                 const QByteArray &target = "/") {
    return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port) +
           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + SampleKey +
           "\r\nSec-WebSocket-Version: 13\r\n" + extraHeaders + "\r\n";
}

inline QByteArray acceptKeyFor(const QByteArray &key) {
    return QCryptographicHash::hash(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11",
                                    QCryptographicHash::Sha1)
        .toBase64();
}

// A frame as a client writes it: masked with `key` (RFC 6455 §5.3).
inline QByteArray maskedFrame(quint8 firstByte, const QByteArray &payload, quint32 key) {
    QByteArray out(1, char(firstByte));
    const qsizetype size = payload.size();
    if (size <= 125) {
        out.append(char(0x80 | size));
    } else if (size <= 0xFFFF) {
        out.append(char(0x80 | 126));
        out.append(char(size >> 8)).append(char(size & 0xFF));
    } else {
        out.append(char(0x80 | 127));
        for (int shift = 56; shift >= 0; shift -= 8)
            out.append(char((quint64(size) >> shift) & 0xFF));
    }
    const char keyBytes[4] = {char(key >> 24), char(key >> 16), char(key >> 8), char(key)};
    out.append(keyBytes, 4);
    for (qsizetype i = 0; i < size; ++i)
        out.append(char(payload.at(i) ^ keyBytes[i % 4]));
    return out;
}

// A frame as a server writes it: unmasked.
inline QByteArray serverFrame(quint8 firstByte, const QByteArray &payload) {
    QByteArray out(1, char(firstByte));
    const qsizetype size = payload.size();
    if (size <= 125) {
        out.append(char(size));
    } else if (size <= 0xFFFF) {
        out.append(char(126)).append(char(size >> 8)).append(char(size & 0xFF));
    } else {
        out.append(char(127));
        for (int shift = 56; shift >= 0; shift -= 8)
            out.append(char((quint64(size) >> shift) & 0xFF));
    }
    return out + payload;
}

// One frame taken apart (either direction); nullopt while incomplete.
struct WireFrame {
    quint8 firstByte = 0;
    bool masked = false;
    QByteArray payload; // unmasked
    qsizetype wireSize = 0;
    quint8 opcode() const { return firstByte & 0x0F; }
};

inline std::optional<WireFrame> parseFrame(const QByteArray &buffer) {
    if (buffer.size() < 2)
        return std::nullopt;
    WireFrame frame;
    frame.firstByte = quint8(buffer.at(0));
    frame.masked = (quint8(buffer.at(1)) & 0x80) != 0;
    quint64 length = quint8(buffer.at(1)) & 0x7F;
    qsizetype pos = 2;
    const int extended = length == 126 ? 2 : length == 127 ? 8 : 0;
    if (buffer.size() < pos + extended)
        return std::nullopt;
    if (extended) {
        length = 0;
        for (int i = 0; i < extended; ++i)
            length = (length << 8) | quint8(buffer.at(pos + i));
        pos += extended;
    }
    char key[4] = {};
    if (frame.masked) {
        if (buffer.size() < pos + 4)
            return std::nullopt;
        std::copy_n(buffer.constData() + pos, 4, key);
        pos += 4;
    }
    if (quint64(buffer.size() - pos) < length)
        return std::nullopt;
    frame.payload = buffer.mid(pos, qsizetype(length));
    if (frame.masked) {
        for (qsizetype i = 0; i < frame.payload.size(); ++i)
            frame.payload[i] = char(frame.payload.at(i) ^ key[i % 4]);
    }
    frame.wireSize = pos + qsizetype(length);
    return frame;
}

// As QTest::qWaitFor, but in a running event loop: qWaitFor runs one pass of the loop
// and sleeps 10 ms between rounds, and an observed connection, which reads 4 KiB per
// pass (ReportedReadBudget), would take minutes over a flood.
inline bool runUntil(const std::function<bool()> &done, int timeoutMs) {
    if (done())
        return true;
    QEventLoop loop;
    QTimer poll;
    QObject::connect(&poll, &QTimer::timeout, &loop, [&] {
        if (done())
            loop.quit();
    });
    poll.start(1);
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    loop.exec();
    return done();
}

// Reads from `socket` into `buffer` until `done(buffer)` or the timeout.
inline bool readUntil(QTcpSocket &socket, QByteArray &buffer,
                      const std::function<bool(const QByteArray &)> &done, int timeoutMs = 5000) {
    return QTest::qWaitFor(
        [&] {
            buffer += socket.readAll();
            return done(buffer);
        },
        timeoutMs);
}

// Returns once every event already posted to the event loop has been delivered, and
// whatever those post in turn, `rounds` deep: each round posts a marker behind them and
// waits for it. For "X did not happen" after the calls that could have caused X, without
// waiting a fixed time that a slow machine could outlast.
inline bool deliverPostedEvents(int rounds = 3) {
    for (int i = 0; i < rounds; ++i) {
        const auto delivered = std::make_shared<bool>(false);
        QMetaObject::invokeMethod(
            QCoreApplication::instance(), [delivered] { *delivered = true; }, Qt::QueuedConnection);
        if (!QTest::qWaitFor([&delivered] { return *delivered; }, 5000))
            return false;
    }
    return true;
}

inline bool headerBlockComplete(const QByteArray &buffer) {
    return buffer.contains("\r\n\r\n");
}

// Connects a raw socket to the server and completes the opening handshake by hand;
// what followed the 101 stays in `rest`.
inline bool rawHandshake(QTcpSocket &socket, quint16 port, QByteArray *rest = nullptr,
                         const QByteArray &extraHeaders = {}) {
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(5000))
        return false;
    socket.write(upgradeRequest(port, extraHeaders));
    QByteArray buffer;
    if (!readUntil(socket, buffer, headerBlockComplete))
        return false;
    const qsizetype end = buffer.indexOf("\r\n\r\n") + 4;
    if (!buffer.startsWith("HTTP/1.1 101 ") ||
        !buffer.contains(QByteArray("Sec-WebSocket-Accept: ") + SampleAccept))
        return false;
    if (rest)
        *rest = buffer.mid(end);
    return true;
}

// A TCP server that plays a WebSocket server by script: `onRequest` gets each
// connection once its request's header block is complete.
class RawServer : public QObject {
public:
    using Handler = std::function<void(QTcpSocket *socket, const QByteArray &request)>;

    explicit RawServer(Handler onRequest = {})
        : m_onRequest(std::move(onRequest)) {
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = m_server.nextPendingConnection()) {
                sockets.append(socket);
                connect(socket, &QTcpSocket::readyRead, this, [this, socket] {
                    QByteArray &buffer = received[socket];
                    const bool hadRequest = headerBlockComplete(buffer);
                    buffer += socket->readAll();
                    if (!hadRequest && headerBlockComplete(buffer) && m_onRequest)
                        m_onRequest(socket, buffer);
                });
            }
        });
    }

    bool listen() { return m_server.listen(QHostAddress::LocalHost, 0); }
    quint16 port() const { return m_server.serverPort(); }
    QUrl url(const QString &path = QStringLiteral("/")) const {
        return QUrl(QStringLiteral("ws://127.0.0.1:%1%2").arg(port()).arg(path));
    }

    // The 101 for a request, computed from its Sec-WebSocket-Key.
    static QByteArray switchingProtocols(const QByteArray &request) {
        QByteArray key;
        for (const QByteArray &line : request.split('\n')) {
            if (line.toLower().startsWith("sec-websocket-key:"))
                key = line.mid(line.indexOf(':') + 1).trimmed();
        }
        return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
               "Upgrade\r\nSec-WebSocket-Accept: " +
               acceptKeyFor(key) + "\r\n\r\n";
    }

    QList<QTcpSocket *> sockets;
    QHash<QTcpSocket *, QByteArray> received;

private:
    QTcpServer m_server;
    Handler m_onRequest;
};

// Our server on 127.0.0.1 with an ephemeral port.
inline ws::ServerOptions
localOptions(ws::ServerOptions::Mode mode = ws::ServerOptions::Mode::Echo) {
    ws::ServerOptions options;
    options.bindAddress = QHostAddress::LocalHost;
    options.port = 0;
    options.mode = mode;
    return options;
}

inline ws::ClientOptions clientOptions(quint16 port, const QString &path = QStringLiteral("/")) {
    ws::ClientOptions options;
    options.url = QUrl(QStringLiteral("ws://127.0.0.1:%1%2").arg(port).arg(path));
    options.connectTimeoutMs = 5000;
    options.handshakeTimeoutMs = 5000;
    options.closeTimeoutMs = 2000;
    return options;
}

// A client whose events, errors and end are recorded.
struct RecordedClient {
    explicit RecordedClient(ws::ClientOptions options)
        : connection(std::move(options)) {
        recorder.watch(&connection);
        QObject::connect(&connection, &ws::ClientConnection::errorOccurred, &recorder,
                         [this](const QString &message) { errors.append(message); });
        QObject::connect(&connection, &ws::ClientConnection::finished, &recorder,
                         [this] { ++finishedCount; });
    }
    bool waitOpen(int timeoutMs = 5000) {
        return QTest::qWaitFor([&] { return connection.state() == ws::SessionState::Open; },
                               timeoutMs);
    }
    bool waitFinished(int timeoutMs = 5000) {
        return QTest::qWaitFor([&] { return finishedCount > 0; }, timeoutMs);
    }

    ws::ClientConnection connection;
    EventRecorder recorder;
    QStringList errors;
    int finishedCount = 0;
};

} // namespace wstest

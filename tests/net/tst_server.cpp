// The Server against raw QTcpSockets that send exact bytes: handshake policy, the
// test page, protocol failures, timeouts, keepalive, stop() and send-queue limits.
// Built twice: on Qt's event dispatcher, and on the command-line tool's as
// tst_server_epoll (epolltestmain.h).

#include "epolltestmain.h"
#include "nettesthelpers.h"

#include "net/socketio.h"
#include "net/tcpserver.h"
#include "net/tlstcpserver.h"

#include <QDir>
#include <QSignalSpy>
#include <QTest>
#include <QTimer>

#include <memory>

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace ws;
using namespace wstest;

namespace {

struct LoggedServer {
    explicit LoggedServer(ServerOptions options)
        : server(std::move(options)) {
        QObject::connect(&server, &Server::logMessage, &recorder,
                         [this](const QString &line) { log.append(line); });
        QObject::connect(&server, &Server::clientConnected, &recorder,
                         [this](ServerClient *client) {
                             clients.append(client);
                             recorder.watch(client);
                         });
    }
    bool hasLogLine(const QString &part) const {
        return std::any_of(log.cbegin(), log.cend(),
                           [&](const QString &line) { return line.contains(part); });
    }

    Server server;
    EventRecorder recorder;
    QList<ServerClient *> clients;
    QStringList log;
};

// Sends a plain HTTP request and reads the whole answer (the server closes after it).
QByteArray httpExchange(quint16 port, const QByteArray &request) {
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(5000))
        return {};
    socket.write(request);
    QByteArray answer;
    const bool closed = QTest::qWaitFor(
        [&] {
            answer += socket.readAll();
            return socket.state() == QAbstractSocket::UnconnectedState;
        },
        5000);
    answer += socket.readAll();
    return closed ? answer : QByteArray();
}

// A client on a bare descriptor: unlike QTcpSocket it keeps writing after the
// server's FIN and shows a reset as the error it is.
struct BareClient {
    int fd = -1;
    ~BareClient() {
        if (fd >= 0)
            ::close(fd);
    }
    bool connectTo(quint16 port) {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return fd >= 0 &&
               ::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0;
    }
    bool send(const QByteArray &bytes) const {
        return ::send(fd, bytes.constData(), size_t(bytes.size()), MSG_NOSIGNAL) == bytes.size();
    }
    // Reads what has arrived; false once the stream ended (cleanly: `error` 0).
    bool read(QByteArray &buffer, int &error) const {
        char chunk[4096];
        for (;;) {
            const ssize_t n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
            if (n > 0) {
                buffer.append(chunk, n);
                continue;
            }
            error = n == 0 ? 0 : errno;
            return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
        }
    }
    // Connects and opens the WebSocket: true once the 101 response is in (what came
    // after it is read into `rest`).
    bool openWebSocket(quint16 port, QByteArray &rest) {
        if (!connectTo(port) || !send(upgradeRequest(port)))
            return false;
        QByteArray buffer;
        int error = 0;
        if (!QTest::qWaitFor([&] { return read(buffer, error) && buffer.contains("\r\n\r\n"); },
                             5000) ||
            !buffer.startsWith("HTTP/1.1 101 "))
            return false;
        rest = buffer.mid(buffer.indexOf("\r\n\r\n") + 4);
        return true;
    }
    // The peer's FIN has arrived (nothing is read).
    bool peerClosed() const {
        pollfd hangup{fd, POLLRDHUP, 0};
        return ::poll(&hangup, 1, 0) > 0 && (hangup.revents & POLLRDHUP);
    }
};

QByteArray bodyOf(const QByteArray &answer) {
    const qsizetype end = answer.indexOf("\r\n\r\n");
    return end < 0 ? QByteArray() : answer.mid(end + 4);
}

} // namespace

class tst_Server : public QObject {
    Q_OBJECT

private slots:
    void modeNames();
    void peerAddressesAreNamed_data();
    void peerAddressesAreNamed();
    void listenReportsBusyPort();
    void getServesTestPage_data();
    void getServesTestPage();
    void otherRequestsAnswered_data();
    void otherRequestsAnswered();
    void malformedUpgradeGets400();
    void deflateOfferIsDeclined();
    void earlyFramesAreServedAfterAccept();
    void echoKeepsOrder_data();
    void echoKeepsOrder();
    void eventsAreAnOptionNotAConnection_data();
    void eventsAreAnOptionNotAConnection();
    void unmaskedFrameGetsProtocolError();
    void failureServesWhatCameBeforeIt();
    void handshakeTimeoutDropsStalledClient();
    void keepaliveDropsDeadPeer();
    void closeTimeoutDropsUnansweringPeer();
    void answeredCloseKeepsNoDescriptor();
    void stopIsBoundedByCloseTimeout();
    void plainSocketsLeaveUnreadBytesInTheKernel();
    void echoBackpressureBoundsQueue_data();
    void echoBackpressureBoundsQueue();
    void endOfStreamAfterBatchIsServed_data();
    void endOfStreamAfterBatchIsServed();
    void broadcastClosesSlowReader();
};

void tst_Server::modeNames() {
    for (const auto mode : {ServerOptions::Mode::Echo, ServerOptions::Mode::Greeting,
                            ServerOptions::Mode::Broadcast, ServerOptions::Mode::Manual}) {
        QCOMPARE(modeFromName(QString::fromLatin1(modeName(mode))), std::optional(mode));
    }
    QCOMPARE(QByteArray(modeName(ServerOptions::Mode::Broadcast)), QByteArray("broadcast"));
    QCOMPARE(modeFromName(u"ECHO"), std::optional(ServerOptions::Mode::Echo));
    QVERIFY(!modeFromName(u"chat").has_value());
}

void tst_Server::peerAddressesAreNamed_data() {
    QTest::addColumn<QHostAddress>("address");
    QTest::addColumn<quint16>("port");
    QTest::addColumn<QString>("name");
    QTest::newRow("loopback") << QHostAddress(QHostAddress::LocalHost) << quint16(50123)
                              << QStringLiteral("127.0.0.1:50123");
    QTest::newRow("widest") << QHostAddress(QStringLiteral("255.255.255.255")) << quint16(65535)
                            << QStringLiteral("255.255.255.255:65535");
    QTest::newRow("zeros") << QHostAddress(QStringLiteral("0.0.0.0")) << quint16(0)
                           << QStringLiteral("0.0.0.0:0");
    QTest::newRow("digits") << QHostAddress(QStringLiteral("10.200.3.45")) << quint16(8080)
                            << QStringLiteral("10.200.3.45:8080");
    QTest::newRow("ipv6") << QHostAddress(QStringLiteral("::1")) << quint16(443)
                          << QStringLiteral("[::1]:443");
    QTest::newRow("ipv4 mapped") << QHostAddress(QStringLiteral("::ffff:192.0.2.1")) << quint16(80)
                                 << QStringLiteral("[::ffff:192.0.2.1]:80");
    QTest::newRow("unix socket") << QHostAddress() << quint16(0) << QStringLiteral("unix socket");
}

void tst_Server::peerAddressesAreNamed() {
    QFETCH(QHostAddress, address);
    QFETCH(quint16, port);
    QFETCH(QString, name);
    QCOMPARE(formatAddress(address, port), name);
}

void tst_Server::listenReportsBusyPort() {
    Server first(localOptions());
    QVERIFY(first.listen());
    QVERIFY(first.isListening());
    QVERIFY(first.port() != 0);
    QCOMPARE(first.address(), QHostAddress(QHostAddress::LocalHost));

    ServerOptions options = localOptions();
    options.port = first.port();
    Server second(options);
    QVERIFY(!second.listen());
    QVERIFY(!second.isListening());
    QVERIFY2(second.errorString().contains(QString::number(first.port())),
             qPrintable(second.errorString()));
}

void tst_Server::getServesTestPage_data() {
    QTest::addColumn<QByteArray>("target");
    QTest::addRow("/") << QByteArray("/");
    QTest::addRow("/index.html") << QByteArray("/index.html");
    QTest::addRow("/?query") << QByteArray("/?from=test");
}

void tst_Server::getServesTestPage() {
    QFETCH(QByteArray, target);
    LoggedServer server(localOptions());
    QVERIFY(server.server.listen());
    const QByteArray answer = httpExchange(
        server.server.port(), "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    QVERIFY2(answer.startsWith("HTTP/1.1 200 OK\r\n"), answer.left(200).constData());
    QVERIFY(answer.contains("Content-Type: text/html; charset=utf-8\r\n"));
    const QByteArray body = bodyOf(answer);
    QVERIFY(answer.contains("Content-Length: " + QByteArray::number(body.size()) + "\r\n"));
    QCOMPARE(body, browserTestPage());
    QVERIFY(body.startsWith("<!DOCTYPE html>"));
    QVERIFY(body.contains("<title>WebSocket Workbench test page</title>"));
    // It connects back to the host it came from (wss:// when loaded over https), and
    // can send and close.
    QVERIFY(body.contains(
        "(location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/'"));
    QVERIFY(body.contains("new WebSocket("));
    QVERIFY(body.contains("socket.close(code, reasonInput.value)"));
    QVERIFY(server.hasLogLine(QStringLiteral("GET ") + QString::fromLatin1(target) +
                              QStringLiteral(" answered 200")));
}

void tst_Server::otherRequestsAnswered_data() {
    QTest::addColumn<bool>("serveTestPage");
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<QByteArray>("statusLine");
    QTest::addRow("unknown path") << true << QByteArray("GET /nope HTTP/1.1\r\nHost: h\r\n\r\n")
                                  << QByteArray("HTTP/1.1 404 Not Found\r\n");
    QTest::addRow("POST") << true
                          << QByteArray("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
                          << QByteArray("HTTP/1.1 405 Method Not Allowed\r\n");
    QTest::addRow("page switched off") << false << QByteArray("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
                                       << QByteArray("HTTP/1.1 426 Upgrade Required\r\n");
}

void tst_Server::otherRequestsAnswered() {
    QFETCH(bool, serveTestPage);
    QFETCH(QByteArray, request);
    QFETCH(QByteArray, statusLine);
    ServerOptions options = localOptions();
    options.serveTestPage = serveTestPage;
    Server server(options);
    QVERIFY(server.listen());
    const QByteArray answer = httpExchange(server.port(), request);
    QVERIFY2(answer.startsWith(statusLine), answer.left(200).constData());
    if (!serveTestPage)
        QVERIFY(answer.contains("Sec-WebSocket-Version: 13\r\n"));
}

void tst_Server::malformedUpgradeGets400() {
    LoggedServer server(localOptions());
    QVERIFY(server.server.listen());
    // RFC 6455 §4.2.1: no Sec-WebSocket-Key.
    const QByteArray answer = httpExchange(
        server.server.port(), "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n");
    QVERIFY2(answer.startsWith("HTTP/1.1 400 "), answer.left(200).constData());
    QTRY_VERIFY(server.hasLogLine(QStringLiteral("opening handshake failed (400)")));
    QVERIFY(server.server.clients().isEmpty() || server.server.clients().size() == 1);
    QTRY_VERIFY(server.server.clients().isEmpty());
}

void tst_Server::deflateOfferIsDeclined() {
    Server server(localOptions());
    QVERIFY(server.listen());
    QTcpSocket socket;
    QByteArray rest;
    // What Chromium always sends: we do not implement the extension, so we ignore it.
    QVERIFY(rawHandshake(socket, server.port(), &rest,
                         "Sec-WebSocket-Extensions: permessage-deflate; "
                         "client_max_window_bits\r\n"));
    QVERIFY(rest.isEmpty());
    socket.write(maskedFrame(0x81, "plain", 0x11223344));
    QByteArray buffer;
    QVERIFY(readUntil(socket, buffer, [](const QByteArray &b) { return b.size() >= 7; }));
    QCOMPARE(buffer, QByteArray("\x81\x05plain"));
}

void tst_Server::earlyFramesAreServedAfterAccept() {
    Server server(localOptions());
    QVERIFY(server.listen());
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, server.port());
    QVERIFY(socket.waitForConnected(5000));
    // A frame right behind the request, before the 101 (RFC 6455 §4.1 says to
    // wait; a lenient server serves it once the handshake is accepted).
    socket.write(upgradeRequest(server.port()) + maskedFrame(0x82, "early", 0x01020304));
    QByteArray buffer;
    QVERIFY(readUntil(socket, buffer, [](const QByteArray &b) {
        return b.contains("\r\n\r\n") && b.size() - (b.indexOf("\r\n\r\n") + 4) >= 7;
    }));
    QVERIFY(buffer.startsWith("HTTP/1.1 101 "));
    QCOMPARE(buffer.mid(buffer.indexOf("\r\n\r\n") + 4), QByteArray("\x82\x05"
                                                                    "early"));
}

void tst_Server::echoKeepsOrder_data() {
    QTest::addColumn<bool>("watched");
    // Without events, messages are echoed from inside the decoder (the echo sink);
    // with events, from the session's message handler. The client sees the same.
    QTest::newRow("unwatched") << false;
    QTest::newRow("watched") << true;
}

void tst_Server::echoKeepsOrder() {
    QFETCH(bool, watched);
    LoggedServer logged(localOptions());
    ServerOptions quiet = localOptions();
    quiet.events = EventReporting::Off;
    Server server(quiet);
    Server &used = watched ? logged.server : server;
    QVERIFY(used.listen());
    QTcpSocket socket;
    QByteArray buffer;
    QVERIFY(rawHandshake(socket, used.port(), &buffer));
    // One write: a text message whose character is split across fragments with a
    // ping between them, a message larger than a read, an empty one, small ones,
    // then a close.
    QByteArray large(70000, Qt::Uninitialized);
    for (qsizetype i = 0; i < large.size(); ++i)
        large[i] = char(i * 13);
    socket.write(maskedFrame(0x01, "h\xc3", 0x01020304) + maskedFrame(0x89, "p", 0x05060708) +
                 maskedFrame(0x80, "\xa9llo", 0x0a0b0c0d) + maskedFrame(0x82, large, 0x11223344) +
                 maskedFrame(0x82, {}, 0x55667788) + maskedFrame(0x82, "b", 0x99aabbcc) +
                 maskedFrame(0x81, "last", 0x0badf00d) +
                 maskedFrame(0x88, QByteArray::fromHex("03e8"), 0x31415926));
    QList<WireFrame> frames;
    qsizetype parsed = 0;
    QVERIFY(readUntil(socket, buffer, [&frames, &parsed](const QByteArray &b) {
        while (const std::optional<WireFrame> frame = parseFrame(b.mid(parsed))) {
            frames.append(*frame);
            parsed += frame->wireSize;
        }
        return !frames.isEmpty() && frames.last().opcode() == 0x8;
    }));
    // The pong first (its ping came before the message ended), then the echoes in
    // order, then the answer to the close.
    const QList<QPair<int, QByteArray>> expected{{0xA, "p"},
                                                 {0x1, "h\xc3\xa9llo"},
                                                 {0x2, large},
                                                 {0x2, {}},
                                                 {0x2, "b"},
                                                 {0x1, "last"},
                                                 {0x8, QByteArray::fromHex("03e8")}};
    QCOMPARE(frames.size(), expected.size());
    for (qsizetype i = 0; i < expected.size(); ++i) {
        QVERIFY(!frames[i].masked); // RFC 6455 §5.1
        QVERIFY(frames[i].firstByte & 0x80);
        QCOMPARE(int(frames[i].opcode()), expected[i].first);
        QVERIFY2(frames[i].payload == expected[i].second, qPrintable(QString::number(i)));
    }
}

void tst_Server::eventsAreAnOptionNotAConnection_data() {
    QTest::addColumn<bool>("reported");
    QTest::newRow("events off") << false;
    QTest::newRow("events on") << true;
}

// Whether a client's events are reported (and so which echo path runs) is the
// server's option, not a side effect of some slot being connected.
void tst_Server::eventsAreAnOptionNotAConnection() {
    QFETCH(bool, reported);
    ServerOptions options = localOptions();
    options.events = reported ? EventReporting::On : EventReporting::Off;
    options.logConnections = false;
    LoggedServer server(options);
    QVERIFY(server.server.listen());
    QTcpSocket socket;
    QByteArray buffer;
    QVERIFY(rawHandshake(socket, server.server.port(), &buffer));
    QTRY_COMPARE(server.clients.size(), 1);
    QCOMPARE(server.clients.first()->eventReporting(), options.events);
    socket.write(maskedFrame(0x81, "echo me", 0x01020304));
    QVERIFY(readUntil(socket, buffer, [](const QByteArray &b) { return b.size() >= 9; }));
    QCOMPARE(buffer.left(9), QByteArray("\x81\x07"
                                        "echo me"));
    // The recorder is connected either way; it hears the message only when asked for.
    QCOMPARE(server.recorder.messages().size(), reported ? 1 : 0);
    // Nothing per connection in the log when it is off.
    QVERIFY(!server.hasLogLine(QStringLiteral("connected to")));
}

void tst_Server::unmaskedFrameGetsProtocolError() {
    LoggedServer server(localOptions());
    QVERIFY(server.server.listen());
    QTcpSocket socket;
    QVERIFY(rawHandshake(socket, server.server.port()));

    // RFC 6455 §5.1: "a server MUST close the connection upon receiving a frame that
    // is not masked", with 1002 (§7.4.1).
    socket.write(QByteArray::fromHex("810548656c6c6f")); // "Hello", unmasked
    QByteArray buffer;
    QVERIFY(readUntil(socket, buffer, [&](const QByteArray &) {
        return socket.state() == QAbstractSocket::UnconnectedState;
    }));
    buffer += socket.readAll();

    const QByteArray reason =
        "text frame from the client is not masked; a client must mask every frame (RFC 6455 "
        "\xc2\xa7"
        "5.1)";
    const QByteArray expected =
        QByteArray::fromHex("88") + char(2 + reason.size()) + QByteArray::fromHex("03ea") + reason;
    // Unmasked close frame, FIN set, 1002 first.
    QCOMPARE(buffer.left(4).toHex(),
             (QByteArray::fromHex("88") + char(2 + reason.size()) + QByteArray::fromHex("03ea"))
                 .toHex());
    QCOMPARE(buffer, expected);
    QTRY_VERIFY(server.hasLogLine(QStringLiteral("disconnected: 1002")));
    QCOMPARE(server.recorder.all<ViolationEvent>().size(), 1);
    QCOMPARE(server.recorder.all<ViolationEvent>().first().violation.error,
             ProtocolError::UnmaskedClientFrame);
}

void tst_Server::failureServesWhatCameBeforeIt() {
    // Autobahn 3.2 in one write: a text message, a text frame with RSV1 set (no
    // extension defines it), a ping. The echo leaves before the close frame with 1002
    // (RFC 6455 §7.1.7 applies from the bad frame on), and what the client still sends
    // after our FIN is read and dropped (§7.1.1), never answered with a reset that
    // would fail the client's writes and could cost it the echo and the close.
    LoggedServer server(localOptions());
    QVERIFY(server.server.listen());
    BareClient client;
    QByteArray buffer;
    int error = 0;
    QVERIFY(client.openWebSocket(server.server.port(), buffer));

    QVERIFY(client.send(maskedFrame(0x81, "Hello", 0x01020304) +
                        maskedFrame(0xc1, "Hello", 0x05060708) +
                        maskedFrame(0x89, {}, 0x0a0b0c0d)));
    QVERIFY(QTest::qWaitFor([&] { return client.peerClosed(); }, 5000));
    QTRY_VERIFY(server.hasLogLine(QStringLiteral("disconnected: 1002")));
    // Trailing bytes, with the server's socket closed: the second write would fail
    // had the first been answered with a reset.
    QVERIFY(client.send(maskedFrame(0x89, "late", 0x01020304)));
    QVERIFY(deliverPostedEvents());
    QVERIFY2(client.send(maskedFrame(0x89, "later", 0x01020304)), strerror(errno));
    QVERIFY(QTest::qWaitFor([&] { return !client.read(buffer, error); }, 5000));
    QCOMPARE(error, 0);

    const QByteArray echo = QByteArray::fromHex("810548656c6c6f");
    QVERIFY2(buffer.startsWith(echo + QByteArray::fromHex("88")), buffer.toHex().constData());
    const QByteArray close = buffer.mid(echo.size());
    QCOMPARE(close.size(), 2 + quint8(close.at(1)));
    QCOMPARE(close.mid(2, 2).toHex(), QByteArray("03ea"));
}

void tst_Server::handshakeTimeoutDropsStalledClient() {
    ServerOptions options = localOptions();
    options.handshakeTimeoutMs = 200;
    LoggedServer server(options);
    QVERIFY(server.server.listen());

    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, server.server.port());
    QVERIFY(socket.waitForConnected(5000));
    QElapsedTimer clock;
    clock.start();
    socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: webso");
    QTRY_COMPARE_WITH_TIMEOUT(socket.state(), QAbstractSocket::UnconnectedState, 5000);
    QVERIFY2(clock.elapsed() >= 150, qPrintable(QString::number(clock.elapsed())));
    QVERIFY(server.hasLogLine(QStringLiteral("opening handshake not completed within 200 ms")));
    QTRY_VERIFY(server.server.clients().isEmpty());
}

void tst_Server::keepaliveDropsDeadPeer() {
    ServerOptions options = localOptions(ServerOptions::Mode::Manual);
    options.keepaliveIntervalMs = 100;
    LoggedServer server(options);
    QVERIFY(server.server.listen());
    QSignalSpy disconnected(&server.server, &Server::clientDisconnected);

    QTcpSocket socket;
    // Started before the server hears anything: it can only count from later.
    QElapsedTimer clock;
    clock.start();
    QVERIFY(rawHandshake(socket, server.server.port()));
    // Alive in TCP terms, but never answering: two intervals later it is dropped.
    QByteArray received;
    QTRY_COMPARE_WITH_TIMEOUT(disconnected.size(), 1, 5000);
    QVERIFY2(clock.elapsed() >= 200, qPrintable(QString::number(clock.elapsed())));
    QTRY_COMPARE_WITH_TIMEOUT(socket.state(), QAbstractSocket::UnconnectedState, 5000);
    received += socket.readAll();
    const std::optional<WireFrame> ping = parseFrame(received);
    QVERIFY(ping);
    QCOMPARE(ping->firstByte, quint8(0x89));
    QCOMPARE(ping->payload, QByteArray("keepalive"));
    QVERIFY(server.hasLogLine(QStringLiteral("dead peer")));
    QCOMPARE(server.recorder.closed()->code, quint16(1006));
}

void tst_Server::closeTimeoutDropsUnansweringPeer() {
    ServerOptions options = localOptions(ServerOptions::Mode::Manual);
    options.closeTimeoutMs = 300;
    LoggedServer server(options);
    QVERIFY(server.server.listen());
    QSignalSpy disconnected(&server.server, &Server::clientDisconnected);
    QTcpSocket socket;
    QVERIFY(rawHandshake(socket, server.server.port()));
    QTRY_COMPARE(server.clients.size(), 1);

    QElapsedTimer clock;
    clock.start();
    QCOMPARE(server.clients.first()->sendClose(4001, QStringLiteral("x")), SendError::None);
    QByteArray buffer;
    QVERIFY(readUntil(socket, buffer, [](const QByteArray &b) { return b.size() >= 5; }));
    QCOMPARE(buffer, QByteArray::fromHex("88030fa178")); // 4001 "x"
    QTRY_COMPARE_WITH_TIMEOUT(disconnected.size(), 1, 5000);
    QVERIFY2(clock.elapsed() >= 250, qPrintable(QString::number(clock.elapsed())));
    QVERIFY(server.recorder.hasNote(ConformanceNote::Kind::CloseNotAnswered));
    const std::optional<ClosedEvent> closed = server.recorder.closed();
    QVERIFY(closed);
    QCOMPARE(closed->code, quint16(1006));
    QVERIFY(!closed->clean);
    QVERIFY(closed->closedByUs);
    QTRY_COMPARE_WITH_TIMEOUT(socket.state(), QAbstractSocket::UnconnectedState, 5000);
}

// The descriptors this process holds open.
static int openDescriptors() {
    return int(QDir(QStringLiteral("/proc/self/fd"))
                   .entryList(QDir::AllEntries | QDir::System | QDir::NoDotAndDotDot)
                   .size());
}

void tst_Server::answeredCloseKeepsNoDescriptor() {
    // Once the client's close frame is in and answered, it sends nothing more (RFC
    // 6455 §5.5.1): the server closes its socket at once, not in stages waiting for
    // the client's FIN (that is for a connection it fails). The client here keeps
    // its end open, long before the close timeout.
    ServerOptions options = localOptions();
    options.closeTimeoutMs = 60000;
    LoggedServer server(options);
    QVERIFY(server.server.listen());
    const int before = openDescriptors();
    BareClient client;
    QByteArray buffer;
    int error = 0;
    QVERIFY(client.openWebSocket(server.server.port(), buffer));
    QVERIFY(client.send(maskedFrame(0x88, QByteArray::fromHex("03e8"), 0x01020304)));
    QVERIFY(QTest::qWaitFor([&] { return client.peerClosed(); }, 5000));
    QVERIFY(client.read(buffer, error) || error == 0);
    QCOMPARE(buffer.toHex(), QByteArray("880203e8"));
    QTRY_VERIFY(server.server.clients().isEmpty());
    // Only the client's own descriptor is left of the connection.
    QTRY_COMPARE_WITH_TIMEOUT(openDescriptors(), before + 1, 3000);
    QVERIFY(server.recorder.closed());
    QVERIFY(server.recorder.closed()->clean);
}

void tst_Server::stopIsBoundedByCloseTimeout() {
    ServerOptions options = localOptions();
    options.closeTimeoutMs = 300;
    LoggedServer server(options);
    QVERIFY(server.server.listen());
    QSignalSpy stopped(&server.server, &Server::stopped);
    QTcpSocket silent;
    QVERIFY(rawHandshake(silent, server.server.port()));
    QTcpSocket stalled; // still in its opening handshake when the server stops
    stalled.connectToHost(QHostAddress::LocalHost, server.server.port());
    QVERIFY(stalled.waitForConnected(5000));
    stalled.write("GET / HTTP/1.1\r\n");
    QTRY_COMPARE(server.server.clients().size(), 2);

    QElapsedTimer clock;
    clock.start();
    server.server.stop();
    QByteArray buffer;
    const QByteArray reason = "server shutting down";
    QVERIFY(readUntil(silent, buffer,
                      [&](const QByteArray &b) { return b.size() >= 4 + reason.size(); }));
    // RFC 6455 §7.4.1: 1001 going away.
    QCOMPARE(buffer, QByteArray::fromHex("88") + char(2 + reason.size()) +
                         QByteArray::fromHex("03e9") + reason);
    QTRY_COMPARE_WITH_TIMEOUT(stopped.size(), 1, 5000);
    QVERIFY2(clock.elapsed() >= 250, qPrintable(QString::number(clock.elapsed())));
    QVERIFY(server.server.clients().isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(stalled.state(), QAbstractSocket::UnconnectedState, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(silent.state(), QAbstractSocket::UnconnectedState, 5000);
    // Once: the server's own check posted by stop() and whatever the clients' ends
    // posted have all run by now.
    QVERIFY(deliverPostedEvents());
    QCOMPARE(stopped.size(), 1);
}

void tst_Server::plainSocketsLeaveUnreadBytesInTheKernel() {
    // The server's plain sockets are unbuffered: QTcpSocket announces bytes without
    // pulling them out of the kernel (no FIONREAD, no copy into a buffer of its own),
    // and one read takes them, then the end of the stream.
    UnbufferedTcpServer listener;
    QVERIFY(listener.listen(QHostAddress::LocalHost));
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, listener.serverPort());
    QVERIFY(client.waitForConnected(5000));
    QTRY_VERIFY(listener.hasPendingConnections());
    std::unique_ptr<QTcpSocket> socket(listener.nextPendingConnection());
    QVERIFY(isUnbuffered(socket.get()));
    QSignalSpy readyRead(socket.get(), &QTcpSocket::readyRead);

    client.write("hello");
    QVERIFY(client.flush());
    QVERIFY(readyRead.wait(5000));
    char peeked[16];
    const int descriptor = int(socket->socketDescriptor());
    QCOMPARE(::recv(descriptor, peeked, sizeof peeked, MSG_PEEK | MSG_DONTWAIT), 5);

    const SocketRead first = readFromSocket(socket.get());
    QCOMPARE(first.data, QByteArrayView("hello"));
    QVERIFY(!first.mayHaveMore);
    QVERIFY(!first.ended);
    QCOMPARE(::recv(descriptor, peeked, sizeof peeked, MSG_PEEK | MSG_DONTWAIT), -1);
    QCOMPARE(readFromSocket(socket.get()).data.size(), 0); // EAGAIN: nothing, not the end

    // The end of the stream comes from a read; QTcpSocket emits no disconnected().
    QSignalSpy disconnected(socket.get(), &QTcpSocket::disconnected);
    client.disconnectFromHost();
    QVERIFY(readyRead.wait(5000));
    const SocketRead last = readFromSocket(socket.get());
    QVERIFY(last.ended);
    QVERIFY(last.data.isEmpty());
    QCOMPARE(socket->state(), QAbstractSocket::UnconnectedState);
    QCOMPARE(socket->error(), QAbstractSocket::RemoteHostClosedError);
    QCOMPARE(disconnected.size(), 0);
}

void tst_Server::echoBackpressureBoundsQueue_data() {
    QTest::addColumn<bool>("watched");
    // The server reads its plain sockets unbuffered: while a client is paused it
    // does not read at all, and the kernel holds the rest. Both echo paths.
    QTest::newRow("unwatched") << false;
    QTest::newRow("watched") << true;
}

void tst_Server::echoBackpressureBoundsQueue() {
    QFETCH(bool, watched);
    ServerOptions options = localOptions(ServerOptions::Mode::Echo);
    options.sendQueueLimit = 256 * 1024;
    LoggedServer server(options);
    QVERIFY(server.server.listen());
    if (!watched) {
        // Only the client's pointer: no slot on its events, so echoes take the sink.
        QObject::disconnect(&server.server, &Server::clientConnected, &server.recorder, nullptr);
        connect(&server.server, &Server::clientConnected, this,
                [&server](ServerClient *client) { server.clients.append(client); });
    }

    // A client that sends a lot and reads nothing: QTcpSocket stops pulling from the
    // kernel once it holds 4 KiB, so TCP flow control reaches the server.
    QTcpSocket greedy;
    greedy.setReadBufferSize(4096);
    QVERIFY(rawHandshake(greedy, server.server.port()));
    QTRY_COMPARE(server.clients.size(), 1);
    ServerClient *serverSide = server.clients.first();

    const QByteArray payload(64 * 1024, 'z');
    const QByteArray frame = maskedFrame(0x82, payload, 0xa1b2c3d4);
    constexpr int FrameCount = 1024; // 64 MiB, far more than the kernel buffers hold
    for (int i = 0; i < FrameCount; ++i)
        greedy.write(frame);

    qint64 maxPending = 0;
    QTimer sampler;
    connect(&sampler, &QTimer::timeout, this,
            [&] { maxPending = std::max(maxPending, serverSide->pendingBytes()); });
    sampler.start(2);
    // Until the server has stopped taking more. While the kernel buffers fill up, it
    // pauses, resumes as they take its echoes, and pauses again; it has stopped when
    // another client's ping round trips, three in a row, leave its count unchanged. A
    // round trip takes turns of the event loop, and in any of them a server still
    // reading from the greedy client would have read more: no fixed wait that a slow
    // machine could outlast stands in for that.
    ClientConnection other(clientOptions(server.server.port()));
    EventRecorder otherRecorder;
    otherRecorder.watch(&other);
    other.open();
    QTRY_COMPARE_WITH_TIMEOUT(other.state(), SessionState::Open, 5000);
    qint64 receivedWhilePaused = 0;
    int unchangedRoundTrips = 0;
    const auto stoppedReading = [&] {
        const qint64 before = serverSide->session().bytesReceived();
        const qsizetype pongs = otherRecorder.all<PongEvent>().size();
        if (other.sendPing("are you there?") != SendError::None ||
            !QTest::qWaitFor([&] { return otherRecorder.all<PongEvent>().size() > pongs; }, 5000))
            return false;
        receivedWhilePaused = serverSide->session().bytesReceived();
        unchangedRoundTrips =
            before > 0 && receivedWhilePaused == before ? unchangedRoundTrips + 1 : 0;
        return unchangedRoundTrips == 3;
    };
    // qWaitFor, not QTRY: the predicate has effects, and QTRY evaluates it again.
    QVERIFY(QTest::qWaitFor(stoppedReading, 20000));
    maxPending = std::max(maxPending, serverSide->pendingBytes());
    const qint64 totalSent = qint64(FrameCount) * frame.size();
    qInfo("paused after reading %lld of %lld bytes; at most %lld bytes queued (limit %lld)",
          receivedWhilePaused, totalSent, maxPending, options.sendQueueLimit);
    QVERIFY2(receivedWhilePaused < totalSent / 2,
             qPrintable(QStringLiteral("%1 of %2").arg(receivedWhilePaused).arg(totalSent)));
    // Bounded: the limit, plus the echo of one read chunk in flight.
    QVERIFY2(maxPending <= options.sendQueueLimit + 512 * 1024,
             qPrintable(QString::number(maxPending)));

    // It stalls only itself: the other client is served meanwhile.
    QCOMPARE(other.sendText("still served"), SendError::None);
    QTRY_COMPARE_WITH_TIMEOUT(otherRecorder.incomingData(), QList<QByteArray>{"still served"},
                              5000);

    // Once the greedy client reads, the server resumes and every echo arrives.
    greedy.setReadBufferSize(0);
    const qint64 expected = qint64(FrameCount) * (payload.size() + 10);
    qint64 echoed = 0;
    const auto allEchoed = [&] {
        echoed += greedy.readAll().size();
        maxPending = std::max(maxPending, serverSide->pendingBytes());
        return echoed >= expected;
    };
    QTRY_VERIFY_WITH_TIMEOUT(allEchoed(), 60000);
    QCOMPARE(echoed, expected);
    QVERIFY2(maxPending <= options.sendQueueLimit + 512 * 1024,
             qPrintable(QString::number(maxPending)));
}

void tst_Server::endOfStreamAfterBatchIsServed_data() {
    QTest::addColumn<bool>("watched");
    QTest::addColumn<bool>("withClose");
    QTest::newRow("unwatched, no close frame") << false << false;
    QTest::newRow("unwatched, close frame") << false << true;
    QTest::newRow("watched, no close frame") << true << false;
    QTest::newRow("watched, close frame") << true << true;
}

void tst_Server::endOfStreamAfterBatchIsServed() {
    // A client writes a batch of messages and half-closes in one go (the data, then
    // FIN): the server reads the batch, then the end of the stream on its next read.
    // Every message is echoed first; then the end is handled: 1006 without a close
    // frame (RFC 6455 §7.1.5), the close answered and a clean close with one.
    QFETCH(bool, watched);
    QFETCH(bool, withClose);
    Server server(localOptions());
    QStringList log;
    connect(&server, &Server::logMessage, this, [&log](const QString &line) { log.append(line); });
    EventRecorder recorder;
    if (watched)
        connect(&server, &Server::clientConnected, this,
                [&recorder](ServerClient *client) { recorder.watch(client); });
    QSignalSpy disconnected(&server, &Server::clientDisconnected);
    QVERIFY(server.listen());
    QTcpSocket socket;
    QVERIFY(rawHandshake(socket, server.port()));

    constexpr int MessageCount = 16;
    QByteArray batch;
    for (int i = 0; i < MessageCount; ++i)
        batch += maskedFrame(0x82, QByteArray(64, char('a' + i)), 0x01020304u * quint32(i + 1));
    if (withClose)
        batch += maskedFrame(0x88, QByteArray::fromHex("03e8"), 0x31415926);
    socket.write(batch);
    QVERIFY(socket.flush());
    QCOMPARE(socket.bytesToWrite(), 0);
    QCOMPARE(::shutdown(int(socket.socketDescriptor()), SHUT_WR), 0);

    QByteArray buffer;
    QVERIFY(readUntil(socket, buffer, [&socket](const QByteArray &) {
        return socket.state() == QAbstractSocket::UnconnectedState;
    }));
    buffer += socket.readAll();
    QList<WireFrame> frames;
    qsizetype parsed = 0;
    while (const std::optional<WireFrame> frame = parseFrame(buffer.mid(parsed))) {
        frames.append(*frame);
        parsed += frame->wireSize;
    }
    QCOMPARE(parsed, buffer.size());
    QCOMPARE(frames.size(), MessageCount + (withClose ? 1 : 0));
    for (int i = 0; i < MessageCount; ++i) {
        QCOMPARE(int(frames[i].opcode()), 0x2);
        QCOMPARE(frames[i].payload, QByteArray(64, char('a' + i)));
    }
    if (withClose) {
        QCOMPARE(int(frames.last().opcode()), 0x8);
        QCOMPARE(frames.last().payload, QByteArray::fromHex("03e8"));
    }

    QTRY_COMPARE(disconnected.size(), 1);
    const QString expected = withClose ? QStringLiteral("clean, closed by the client")
                                       : QStringLiteral("1006 (abnormal closure)");
    QVERIFY2(std::any_of(log.cbegin(), log.cend(),
                         [&](const QString &line) {
                             return line.contains(QStringLiteral(" disconnected: ")) &&
                                    line.contains(expected);
                         }),
             qPrintable(log.join(QLatin1Char('\n'))));
    if (watched) {
        QCOMPARE(recorder.incomingData().size(), MessageCount);
        QVERIFY(recorder.closed());
        QCOMPARE(recorder.closed()->code, withClose ? 1000 : 1006);
    }
}

void tst_Server::broadcastClosesSlowReader() {
    ServerOptions options = localOptions(ServerOptions::Mode::Broadcast);
    options.sendQueueLimit = 256 * 1024;
    options.closeTimeoutMs = 300;
    LoggedServer server(options);
    QVERIFY(server.server.listen());
    QSignalSpy disconnected(&server.server, &Server::clientDisconnected);

    QTcpSocket slow;
    slow.setReadBufferSize(4096);
    QVERIFY(rawHandshake(slow, server.server.port()));
    ClientConnection talker(clientOptions(server.server.port()));
    EventRecorder talkerRecorder;
    talkerRecorder.watch(&talker);
    talker.open();
    QTRY_COMPARE_WITH_TIMEOUT(talker.state(), SessionState::Open, 5000);
    QTRY_COMPARE(server.clients.size(), 2);
    ServerClient *slowSide = server.clients.first();

    // More than the kernel buffers and the limit together.
    const QByteArray payload(64 * 1024, 'b');
    constexpr int MessageCount = 480;
    int sent = 0;
    qint64 maxPending = 0;
    const auto slowOneDropped = [&] {
        if (!disconnected.isEmpty())
            return true;
        maxPending = std::max(maxPending, slowSide->pendingBytes());
        for (int i = 0; i < 16 && sent < MessageCount && talker.pendingBytes() < (1 << 20); ++i) {
            if (talker.sendBinary(payload) != SendError::None)
                return false;
            ++sent;
        }
        return false;
    };
    QTRY_VERIFY_WITH_TIMEOUT(slowOneDropped(), 30000);
    QVERIFY(server.hasLogLine(QStringLiteral("send queue full")));
    QCOMPARE(disconnected.size(), 1);
    QCOMPARE(disconnected.first().first().value<ServerClient *>(), slowSide);
    // Held: at most the limit plus one broadcast message beyond it.
    QVERIFY2(maxPending <= options.sendQueueLimit + 2 * payload.size(),
             qPrintable(QString::number(maxPending)));
    // The talker is unaffected and hears the slow one leave.
    QCOMPARE(talker.state(), SessionState::Open);
    while (sent < MessageCount) {
        QCOMPARE(talker.sendBinary(payload), SendError::None);
        ++sent;
    }
    QTRY_VERIFY_WITH_TIMEOUT(talkerRecorder.messages().size() >= MessageCount + 2, 30000);
    QVERIFY(talkerRecorder.incomingData().contains(R"({"event":"leave","client":1})"));
}

WSW_TEST_MAIN(tst_Server, QTEST_GUILESS_MAIN)
#include "tst_server.moc"

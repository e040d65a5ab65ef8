// ClientConnection against scripted raw TCP servers: URL parsing, connect and
// handshake errors in words, exact request and frame bytes, close timeouts.

#include "nettesthelpers.h"

#include <QSignalSpy>
#include <QTest>

using namespace ws;
using namespace wstest;

namespace {

ClientOptions optionsFor(const QUrl &url) {
    ClientOptions options;
    options.url = url;
    options.connectTimeoutMs = 5000;
    options.handshakeTimeoutMs = 5000;
    options.closeTimeoutMs = 2000;
    return options;
}

quint16 unusedPort() {
    QTcpServer probe;
    probe.listen(QHostAddress::LocalHost, 0);
    return probe.serverPort(); // closed again when probe goes
}

// Answers every request with a valid 101.
void acceptEverything(QTcpSocket *socket, const QByteArray &request) {
    socket->write(RawServer::switchingProtocols(request));
}

} // namespace

class tst_ClientConnection : public QObject {
    Q_OBJECT

private slots:
    void parseUrl_data();
    void parseUrl();
    void badUrlIsReportedFromEventLoop_data();
    void badUrlIsReportedFromEventLoop();
    void connectionRefused();
    void hostNotFound();
    void non101Answer();
    void handshakeTimeout();
    void remoteClosedDuringHandshake();
    void requestCarriesOptions();
    void framesAreMaskedWithInjectedKey();
    void largeFrameReadInFewTurns();
    void framesBehind101AreRead();
    void maskedServerFrameFailsWith1002();
    void serverDroppingTcpIs1006();
    void closeTimeoutWhenCloseIsIgnored();
    void serverNotClosingTcpIsNoted();
};

void tst_ClientConnection::parseUrl_data() {
    QTest::addColumn<QString>("url");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<QString>("host");
    QTest::addColumn<QByteArray>("hostHeader");
    QTest::addColumn<int>("port");
    QTest::addColumn<QByteArray>("resourceName");
    QTest::addColumn<bool>("secure");
    QTest::addColumn<QString>("errorPart");

    QTest::addRow("plain") << "ws://example.com" << true << "example.com"
                           << QByteArray("example.com") << 80 << QByteArray("/") << false
                           << QString();
    QTest::addRow("port, path, query")
        << "ws://example.com:9001/chat?room=1&x" << true << "example.com"
        << QByteArray("example.com") << 9001 << QByteArray("/chat?room=1&x") << false << QString();
    QTest::addRow("IPv6 literal") << "ws://[::1]:8080/x" << true << "::1" << QByteArray("[::1]")
                                  << 8080 << QByteArray("/x") << false << QString();
    QTest::addRow("IPv6 default port")
        << "ws://[2001:db8::7]/" << true << "2001:db8::7" << QByteArray("[2001:db8::7]") << 80
        << QByteArray("/") << false << QString();
    QTest::addRow("scheme and host case")
        << "WS://Example.COM/" << true << "example.com" << QByteArray("example.com") << 80
        << QByteArray("/") << false << QString();
    QTest::addRow("wss default port")
        << "wss://secure.example/feed" << true << "secure.example" << QByteArray("secure.example")
        << 443 << QByteArray("/feed") << true << QString();
    QTest::addRow("percent-encoding kept")
        << "ws://h/a%20b?q=%C3%A9" << true << "h" << QByteArray("h") << 80
        << QByteArray("/a%20b?q=%C3%A9") << false << QString();
    QTest::addRow("empty query kept") << "ws://h/p?" << true << "h" << QByteArray("h") << 80
                                      << QByteArray("/p?") << false << QString();
    // RFC 6455 §3: fragments mean nothing in a WebSocket URI.
    QTest::addRow("fragment dropped") << "ws://h/path#frag" << true << "h" << QByteArray("h") << 80
                                      << QByteArray("/path") << false << QString();
    QTest::addRow("http scheme") << "http://example.com/" << false << QString() << QByteArray() << 0
                                 << QByteArray() << false << "Unsupported scheme \"http:\"";
    QTest::addRow("no scheme") << "example.com" << false << QString() << QByteArray() << 0
                               << QByteArray() << false << "has no scheme";
    // Basic credentials (tst_ClientTransport), not part of the Host field.
    QTest::addRow("user info") << "ws://user:pw@h/" << true << "h" << QByteArray("h") << 80
                               << QByteArray("/") << false << QString();
    QTest::addRow("no host") << "ws:///path" << false << QString() << QByteArray() << 0
                             << QByteArray() << false << "has no host";
    QTest::addRow("empty") << "" << false << QString() << QByteArray() << 0 << QByteArray() << false
                           << "No URL";
}

void tst_ClientConnection::parseUrl() {
    QFETCH(QString, url);
    QFETCH(bool, valid);
    QFETCH(QString, host);
    QFETCH(QByteArray, hostHeader);
    QFETCH(int, port);
    QFETCH(QByteArray, resourceName);
    QFETCH(bool, secure);
    QFETCH(QString, errorPart);

    QString error;
    const std::optional<WebSocketUrl> parsed = parseWebSocketUrl(QUrl(url), &error);
    QCOMPARE(parsed.has_value(), valid);
    if (!valid) {
        QVERIFY2(error.contains(errorPart), qPrintable(error));
        return;
    }
    QCOMPARE(parsed->host, host);
    QCOMPARE(parsed->hostHeader, hostHeader);
    QCOMPARE(int(parsed->port), port);
    QCOMPARE(parsed->resourceName, resourceName);
    QCOMPARE(parsed->secure, secure);
}

void tst_ClientConnection::badUrlIsReportedFromEventLoop_data() {
    QTest::addColumn<QString>("url");
    QTest::addColumn<QString>("errorPart");
    QTest::addRow("ws+unix with a host") << "ws+unix://host/x.sock"
                                         << "names a socket file";
    QTest::addRow("http") << "http://127.0.0.1:1/"
                          << "Unsupported scheme";
}

void tst_ClientConnection::badUrlIsReportedFromEventLoop() {
    QFETCH(QString, url);
    QFETCH(QString, errorPart);
    ClientConnection client(optionsFor(QUrl(url)));
    client.open();
    // Connected after open(): still hears about it.
    QSignalSpy errors(&client, &ClientConnection::errorOccurred);
    QSignalSpy finished(&client, &ClientConnection::finished);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 5000);
    QCOMPARE(errors.size(), 1);
    QVERIFY2(errors.first().first().toString().contains(errorPart),
             qPrintable(errors.first().first().toString()));
    QCOMPARE(client.state(), SessionState::Closed);
    QVERIFY(client.isFinished());
    QCOMPARE(client.sendText("too late"), SendError::NotOpen);
}

void tst_ClientConnection::connectionRefused() {
    const quint16 port = unusedPort();
    RecordedClient client(optionsFor(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port))));
    client.connection.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.finishedCount, 1, 5000);
    QCOMPARE(client.errors.size(), 1);
    QVERIFY2(client.errors.first().contains(
                 QStringLiteral("Connection refused by 127.0.0.1:%1").arg(port)),
             qPrintable(client.errors.first()));
    const std::optional<ClosedEvent> closed = client.recorder.closed();
    QVERIFY(closed);
    QCOMPARE(closed->code, quint16(1006));
    QVERIFY(!closed->clean);
    // Once whatever the refused attempt left posted to the event loop has been
    // delivered, nothing remains that could report the end a second time.
    QVERIFY(deliverPostedEvents());
    QCOMPARE(client.finishedCount, 1);
}

void tst_ClientConnection::hostNotFound() {
    RecordedClient client(optionsFor(QUrl(QStringLiteral("ws://no-such-host.invalid:9001/"))));
    client.connection.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.finishedCount, 1, 20000);
    QCOMPARE(client.errors.size(), 1);
    QVERIFY2(client.errors.first().contains(QStringLiteral("Host not found: no-such-host.invalid")),
             qPrintable(client.errors.first()));
}

void tst_ClientConnection::non101Answer() {
    RawServer server([](QTcpSocket *socket, const QByteArray &) {
        socket->write("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
                      "Content-Length: 25\r\n\r\nno WebSocket at this path");
    });
    QVERIFY(server.listen());
    RecordedClient client(optionsFor(server.url(QStringLiteral("/missing"))));
    client.connection.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.finishedCount, 1, 5000);
    QCOMPARE(client.errors.size(), 1);
    const QString error = client.errors.first();
    QVERIFY2(error.contains(QStringLiteral("answered 404 Not Found instead of 101")),
             qPrintable(error));
    QVERIFY2(error.contains(QStringLiteral("no WebSocket at this path")), qPrintable(error));
    const QList<HandshakeEvent> handshakes = client.recorder.all<HandshakeEvent>();
    QCOMPARE(handshakes.size(), 1);
    QCOMPARE(handshakes.first().kind, HandshakeEvent::Kind::Failed);
    QCOMPARE(handshakes.first().httpStatus, 404);
    QCOMPARE(client.recorder.closed()->code, quint16(1006));
}

void tst_ClientConnection::handshakeTimeout() {
    RawServer server; // reads the request and never answers
    QVERIFY(server.listen());
    ClientOptions options = optionsFor(server.url());
    options.handshakeTimeoutMs = 200;
    RecordedClient client(options);
    QElapsedTimer clock;
    clock.start();
    client.connection.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.finishedCount, 1, 5000);
    QVERIFY2(clock.elapsed() >= 180, qPrintable(QString::number(clock.elapsed())));
    QCOMPARE(client.errors.size(), 1);
    QVERIFY2(client.errors.first().contains(
                 QStringLiteral("No answer to the opening handshake from 127.0.0.1:%1 within "
                                "200 ms")
                     .arg(server.port())),
             qPrintable(client.errors.first()));
    QCOMPARE(client.recorder.closed()->code, quint16(1006));
    QTRY_COMPARE(server.sockets.first()->state(), QAbstractSocket::UnconnectedState);
}

void tst_ClientConnection::remoteClosedDuringHandshake() {
    RawServer server([](QTcpSocket *socket, const QByteArray &) { socket->disconnectFromHost(); });
    QVERIFY(server.listen());
    RecordedClient client(optionsFor(server.url()));
    client.connection.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.finishedCount, 1, 5000);
    QCOMPARE(client.errors.size(), 1);
    QVERIFY2(client.errors.first().contains(
                 QStringLiteral("closed the connection during the opening handshake")),
             qPrintable(client.errors.first()));
    QCOMPARE(client.recorder.closed()->code, quint16(1006));
}

void tst_ClientConnection::requestCarriesOptions() {
    RawServer server(acceptEverything);
    QVERIFY(server.listen());
    ClientOptions options = optionsFor(server.url(QStringLiteral("/chat?room=7")));
    options.origin = "http://tool.example";
    options.subprotocols = {"chat.v2", "chat.v1"};
    options.extraHeaders.add("X-Trace", "abc 123");
    RecordedClient client(options);
    client.connection.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.connection.state(), SessionState::Open, 5000);

    const QByteArray request = server.received.value(server.sockets.first());
    QVERIFY2(request.startsWith("GET /chat?room=7 HTTP/1.1\r\n"), request.constData());
    QVERIFY(request.contains("\r\nHost: 127.0.0.1:" + QByteArray::number(server.port()) + "\r\n"));
    QVERIFY(request.contains("\r\nOrigin: http://tool.example\r\n"));
    QVERIFY(request.contains("\r\nSec-WebSocket-Protocol: chat.v2, chat.v1\r\n"));
    QVERIFY(request.contains("\r\nX-Trace: abc 123\r\n"));
    QVERIFY(request.contains("\r\nSec-WebSocket-Version: 13\r\n"));
    QVERIFY(request.endsWith("\r\n\r\n"));
    QCOMPARE(client.recorder.all<HandshakeEvent>().first().rawRequest, request);
}

void tst_ClientConnection::framesAreMaskedWithInjectedKey() {
    RawServer server(acceptEverything);
    QVERIFY(server.listen());
    RecordedClient client(optionsFor(server.url()));
    client.connection.setMaskingKeySource(MaskingKeySource::fixed(0x37fa213d));
    client.connection.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.connection.state(), SessionState::Open, 5000);
    QTcpSocket *socket = server.sockets.first();
    const qsizetype requestSize = server.received.value(socket).size();

    QCOMPARE(client.connection.sendText("Hello"), SendError::None);
    // RFC 6455 §5.7: a single-frame masked text message.
    const QByteArray expected = QByteArray::fromHex("818537fa213d7f9f4d5158");
    QTRY_COMPARE_WITH_TIMEOUT(server.received.value(socket).mid(requestSize).toHex(),
                              expected.toHex(), 5000);
}

void tst_ClientConnection::framesBehind101AreRead() {
    RawServer server([](QTcpSocket *socket, const QByteArray &request) {
        // The 101 and the first message in one write.
        socket->write(RawServer::switchingProtocols(request) + serverFrame(0x81, "hi"));
    });
    QVERIFY(server.listen());
    RecordedClient client(optionsFor(server.url()));
    client.connection.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.recorder.incomingData(), QList<QByteArray>{"hi"}, 5000);
}

void tst_ClientConnection::largeFrameReadInFewTurns() {
    // A connection whose events are watched reads 4 KiB a turn of the event loop, but
    // the rest of a large frame at once (up to 256 KiB): those bytes make no event
    // until the last of them.
    QByteArray payload(1 << 20, Qt::Uninitialized);
    for (qsizetype i = 0; i < payload.size(); ++i)
        payload[i] = char(i * 7 + i / 251);
    RawServer server([payload](QTcpSocket *socket, const QByteArray &request) {
        socket->write(RawServer::switchingProtocols(request) + serverFrame(0x82, payload));
    });
    QVERIFY(server.listen());
    RecordedClient client(optionsFor(server.url()));
    int batches = 0;
    client.connection.setBatchHandler([&batches] { ++batches; });
    client.connection.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.recorder.incomingData().size(), 1, 10000);
    QVERIFY(client.recorder.incomingData().constFirst() == payload);
    // 4 KiB a turn is 256 batches or more; the kernel may hand the bytes over in more
    // pieces than 256 KiB reads need, but not in that many.
    QVERIFY2(batches < 64, qPrintable(QString::number(batches)));
}

void tst_ClientConnection::maskedServerFrameFailsWith1002() {
    RawServer server([](QTcpSocket *socket, const QByteArray &request) {
        socket->write(RawServer::switchingProtocols(request) +
                      maskedFrame(0x81, "masked", 0x01020304));
    });
    QVERIFY(server.listen());
    RecordedClient client(optionsFor(server.url()));
    client.connection.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.finishedCount, 1, 5000);
    QCOMPARE(client.recorder.all<ViolationEvent>().size(), 1);
    QCOMPARE(client.recorder.all<ViolationEvent>().first().violation.error,
             ProtocolError::MaskedServerFrame);
    QCOMPARE(client.recorder.closed()->code, quint16(1002));
    // RFC 6455 §5.1 / §7.1.7: the client sent a close frame with 1002, then closed TCP.
    QTcpSocket *socket = server.sockets.first();
    QTRY_COMPARE_WITH_TIMEOUT(socket->state(), QAbstractSocket::UnconnectedState, 5000);
    QByteArray afterRequest = server.received.value(socket);
    afterRequest = afterRequest.mid(afterRequest.indexOf("\r\n\r\n") + 4);
    const std::optional<WireFrame> close = parseFrame(afterRequest);
    QVERIFY(close);
    QCOMPARE(close->firstByte, quint8(0x88));
    QVERIFY(close->masked);
    QCOMPARE(close->payload.left(2), QByteArray::fromHex("03ea"));
    QVERIFY(client.errors.isEmpty());
}

void tst_ClientConnection::serverDroppingTcpIs1006() {
    RawServer server([](QTcpSocket *socket, const QByteArray &request) {
        socket->write(RawServer::switchingProtocols(request));
        socket->disconnectFromHost();
    });
    QVERIFY(server.listen());
    RecordedClient client(optionsFor(server.url()));
    client.connection.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.finishedCount, 1, 5000);
    QCOMPARE(client.recorder.all<HandshakeEvent>().first().kind,
             HandshakeEvent::Kind::ClientAccepted);
    // RFC 6455 §7.1.5: no close frame: 1006, not clean.
    QCOMPARE(client.recorder.closed()->code, quint16(1006));
    QVERIFY(!client.recorder.closed()->clean);
    QCOMPARE(client.connection.state(), SessionState::Closed);
}

void tst_ClientConnection::closeTimeoutWhenCloseIsIgnored() {
    RawServer server(acceptEverything);
    QVERIFY(server.listen());
    ClientOptions options = optionsFor(server.url());
    options.closeTimeoutMs = 300;
    RecordedClient client(options);
    client.connection.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.connection.state(), SessionState::Open, 5000);

    QElapsedTimer clock;
    clock.start();
    QCOMPARE(client.connection.sendClose(1000, QStringLiteral("done")), SendError::None);
    QCOMPARE(client.connection.state(), SessionState::Closing);
    QTRY_COMPARE_WITH_TIMEOUT(client.finishedCount, 1, 5000);
    QVERIFY2(clock.elapsed() >= 250, qPrintable(QString::number(clock.elapsed())));
    QVERIFY(client.recorder.hasNote(ConformanceNote::Kind::CloseNotAnswered));
    const std::optional<ClosedEvent> closed = client.recorder.closed();
    QCOMPARE(closed->code, quint16(1006));
    QVERIFY(!closed->clean);
    QVERIFY(closed->closedByUs);
    QTRY_COMPARE(server.sockets.first()->state(), QAbstractSocket::UnconnectedState);
}

void tst_ClientConnection::serverNotClosingTcpIsNoted() {
    RawServer server(acceptEverything);
    QVERIFY(server.listen());
    ClientOptions options = optionsFor(server.url());
    options.closeTimeoutMs = 300;
    RecordedClient client(options);
    client.connection.open();
    QTRY_COMPARE_WITH_TIMEOUT(client.connection.state(), SessionState::Open, 5000);

    // The server closes with 1000 and then keeps the TCP connection open.
    server.sockets.first()->write(serverFrame(0x88, QByteArray::fromHex("03e8")));
    QTRY_VERIFY_WITH_TIMEOUT(client.recorder.closed().has_value(), 5000);
    QVERIFY(client.recorder.closed()->clean);
    QCOMPARE(client.recorder.closed()->code, quint16(1000));
    QCOMPARE(client.finishedCount, 0);
    QTRY_COMPARE_WITH_TIMEOUT(client.finishedCount, 1, 5000);
    QVERIFY(client.recorder.hasNote(ConformanceNote::Kind::ServerClosedTcpLate));
    // The client answered the close with the same code (masked).
    QTcpSocket *socket = server.sockets.first();
    QByteArray afterRequest = server.received.value(socket);
    afterRequest = afterRequest.mid(afterRequest.indexOf("\r\n\r\n") + 4);
    const std::optional<WireFrame> answer = parseFrame(afterRequest);
    QVERIFY(answer);
    QCOMPARE(answer->firstByte, quint8(0x88));
    QCOMPARE(answer->payload, QByteArray::fromHex("03e8"));
}

QTEST_GUILESS_MAIN(tst_ClientConnection)
#include "tst_clientconnection.moc"

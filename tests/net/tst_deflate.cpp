// permessage-deflate (RFC 7692) on the wire: our ClientConnection against our
// Server with the extension's parameters in combination, a server that declines,
// and a compression bomb from a raw socket.

#include "nettesthelpers.h"

#include <QTest>

using namespace ws;
using namespace wstest;

namespace {

struct Client {
    explicit Client(ClientOptions options)
        : connection(std::move(options)) {
        recorder.watch(&connection);
        QObject::connect(&connection, &ClientConnection::errorOccurred, &recorder,
                         [this](const QString &message) { errors.append(message); });
        connection.open();
    }
    bool waitOpen() {
        return QTest::qWaitFor([&] { return connection.state() == SessionState::Open; }, 5000);
    }
    bool waitMessages(qsizetype count) {
        return QTest::qWaitFor([&] { return recorder.messages().size() >= count; }, 5000);
    }

    ClientConnection connection;
    EventRecorder recorder;
    QStringList errors;
};

QByteArray compressibleJson(int index) {
    return QByteArray(R"({"id":)") + QByteArray::number(index) +
           QByteArray(R"(,"name":"sensor","values":[1.5,2.5,3.5],"ok":true})").repeated(60);
}

} // namespace

class tst_Deflate : public QObject {
    Q_OBJECT

private slots:
    void echoWithParameters_data();
    void echoWithParameters();
    void serverRefusesByDefault();
    void clientWithoutOffer();
    void serverRequiresDeflate();
    void compressionBombIsRefused();
};

void tst_Deflate::echoWithParameters_data() {
    QTest::addColumn<int>("clientWindowBits");
    QTest::addColumn<bool>("clientNoContext");
    QTest::addColumn<int>("serverWindowBits");
    QTest::addColumn<bool>("serverNoContext");
    // The server's Sec-WebSocket-Extensions. A client_max_window_bits=N in the offer
    // is the client's own limit: the server need not repeat it (RFC 7692 §7.1.2.2).
    QTest::addColumn<QByteArray>("response");
    QTest::newRow("defaults") << 15 << false << 15 << false << QByteArray("permessage-deflate");
    QTest::newRow("client asks 10 bits")
        << 10 << false << 15 << false
        << QByteArray("permessage-deflate; server_max_window_bits=10");
    QTest::newRow("client no context takeover")
        << 15 << true << 15 << false
        << QByteArray("permessage-deflate; server_no_context_takeover; "
                      "client_no_context_takeover");
    QTest::newRow("server 9 bits, server no context")
        << 15 << false << 9 << true
        << QByteArray("permessage-deflate; server_no_context_takeover; "
                      "server_max_window_bits=9");
    QTest::newRow("8 bits both, no context")
        << 8 << true << 8 << true
        << QByteArray("permessage-deflate; server_no_context_takeover; "
                      "client_no_context_takeover; server_max_window_bits=8");
}

void tst_Deflate::echoWithParameters() {
    QFETCH(int, clientWindowBits);
    QFETCH(bool, clientNoContext);
    QFETCH(int, serverWindowBits);
    QFETCH(bool, serverNoContext);
    QFETCH(QByteArray, response);

    ServerOptions serverOptions = localOptions();
    serverOptions.deflate.policy = DeflatePolicy::Offer;
    serverOptions.deflate.serverMaxWindowBits = serverWindowBits;
    serverOptions.deflate.serverNoContextTakeover = serverNoContext;
    Server server(serverOptions);
    QVERIFY(server.listen());
    ClientOptions options = clientOptions(server.port());
    options.deflate.policy = DeflatePolicy::Offer;
    options.deflate.clientMaxWindowBits = clientWindowBits;
    options.deflate.serverMaxWindowBits = clientWindowBits;
    options.deflate.clientNoContextTakeover = clientNoContext;
    options.deflate.serverNoContextTakeover = clientNoContext;
    Client client(options);
    QVERIFY2(client.waitOpen(), qPrintable(client.errors.join(u'\n')));
    QVERIFY(client.connection.deflate());
    const QList<HandshakeEvent> handshakes = client.recorder.all<HandshakeEvent>();
    QCOMPARE(handshakes.size(), 1);
    QCOMPARE(formatExtensions(handshakes.first().extensions), response);

    // Several messages: with context takeover the later ones refer back to the
    // earlier ones and shrink further.
    constexpr int Count = 5;
    qint64 sentRaw = 0;
    for (int i = 0; i < Count; ++i) {
        const QByteArray message = compressibleJson(i);
        sentRaw += message.size();
        QCOMPARE(client.connection.sendText(message), SendError::None);
    }
    QCOMPARE(client.connection.sendBinary(QByteArray(5000, '\0')), SendError::None);
    QVERIFY(client.waitMessages(Count + 1));
    const QList<DecodedMessage> echoed = client.recorder.messages();
    for (int i = 0; i < Count; ++i) {
        QCOMPARE(echoed.at(i).data, compressibleJson(i));
        QVERIFY(echoed.at(i).compressed);
        QVERIFY(echoed.at(i).wireSize < echoed.at(i).data.size() / 4);
    }
    QCOMPARE(echoed.last().data, QByteArray(5000, '\0'));
    QCOMPARE(echoed.last().type, Opcode::Binary);
    const DeflateStats &stats = client.connection.deflate()->stats();
    QCOMPARE(stats.messagesDeflated, Count + 1);
    QCOMPARE(stats.messagesInflated, Count + 1);
    QVERIFY(stats.bytesDeflatedTo < sentRaw / 4);
    // Outgoing frames carried RSV1 (RFC 7692 §6).
    for (const FrameEvent &frame : client.recorder.all<FrameEvent>()) {
        if (frame.frame.header.opcode == quint8(Opcode::Text))
            QVERIFY(frame.frame.header.rsv1);
    }
    QCOMPARE(client.connection.sendClose(1000), SendError::None);
    QVERIFY(QTest::qWaitFor([&] { return client.connection.isFinished(); }, 5000));
    QVERIFY(client.recorder.closed()->clean);
}

void tst_Deflate::serverRefusesByDefault() {
    Server server(localOptions());
    QVERIFY(server.listen());
    ClientOptions options = clientOptions(server.port());
    options.deflate.policy = DeflatePolicy::Offer;
    Client client(options);
    QVERIFY(client.waitOpen());
    QVERIFY(!client.connection.deflate());
    QVERIFY(client.recorder.all<HandshakeEvent>().first().extensions.isEmpty());
    QCOMPARE(client.connection.sendText(compressibleJson(1)), SendError::None);
    QVERIFY(client.waitMessages(1));
    QVERIFY(!client.recorder.messages().first().compressed);
    QCOMPARE(client.recorder.messages().first().data, compressibleJson(1));
}

void tst_Deflate::clientWithoutOffer() {
    ServerOptions serverOptions = localOptions();
    serverOptions.deflate.policy = DeflatePolicy::Offer;
    Server server(serverOptions);
    QVERIFY(server.listen());
    Client client(clientOptions(server.port()));
    QVERIFY(client.waitOpen());
    QVERIFY(!client.connection.deflate());
    QCOMPARE(client.connection.sendText("plain"), SendError::None);
    QVERIFY(client.waitMessages(1));
    QCOMPARE(client.recorder.messages().first().data, QByteArray("plain"));
}

void tst_Deflate::serverRequiresDeflate() {
    ServerOptions serverOptions = localOptions();
    serverOptions.deflate.policy = DeflatePolicy::Require;
    Server server(serverOptions);
    QVERIFY(server.listen());
    Client client(clientOptions(server.port()));
    QVERIFY(QTest::qWaitFor([&] { return client.connection.isFinished(); }, 5000));
    QVERIFY2(client.errors.join(u'\n').contains(QStringLiteral("400")),
             qPrintable(client.errors.join(u'\n')));
}

void tst_Deflate::compressionBombIsRefused() {
    // A few hundred bytes that inflate to 10 MB, against a 64 KiB limit: RFC 6455
    // §7.4.1's 1009, and no more memory than the limit on the way.
    ServerOptions serverOptions = localOptions();
    serverOptions.deflate.policy = DeflatePolicy::Offer;
    serverOptions.session.maxMessageSize = 64 * 1024;
    Server server(serverOptions);
    // Read when the client's session ends: the ServerClient is deleted soon after.
    qint64 largestInflateBuffer = -1;
    std::optional<ClosedEvent> serverClosed;
    connect(&server, &Server::clientConnected, this, [&](ServerClient *c) {
        connect(c, &ServerClient::sessionEvent, this, [&, c](const SessionEvent &event) {
            if (const auto *closed = std::get_if<ClosedEvent>(&event)) {
                serverClosed = *closed;
                largestInflateBuffer =
                    c->deflate() ? c->deflate()->stats().largestInflateBuffer : -1;
            }
        });
    });
    QVERIFY(server.listen());

    QTcpSocket socket;
    QByteArray rest;
    QVERIFY(rawHandshake(socket, server.port(), &rest,
                         "Sec-WebSocket-Extensions: permessage-deflate\r\n"));
    PerMessageDeflate compressor(Role::Client, DeflateParams{});
    QByteArray bomb(10 * 1024 * 1024, 'A');
    QCOMPARE(compressor.encodeMessage(bomb, Opcode::Text), quint8(Rsv1Bit));
    QVERIFY(bomb.size() < 20 * 1024);
    // FIN + RSV1 + text.
    socket.write(maskedFrame(0xC1, bomb, 0x11223344));
    QByteArray buffer = rest;
    QVERIFY(
        readUntil(socket, buffer, [](const QByteArray &b) { return parseFrame(b).has_value(); }));
    const auto frame = parseFrame(buffer);
    QVERIFY(frame);
    QCOMPARE(frame->opcode(), quint8(0x8));
    QCOMPARE(frame->payload.left(2), QByteArray::fromHex("03f1")); // 1009
    QVERIFY(QTest::qWaitFor([&] { return serverClosed.has_value(); }, 5000));
    QCOMPARE(serverClosed->code, quint16(1009));
    QVERIFY(largestInflateBuffer > 0);
    QVERIFY(largestInflateBuffer <= 64 * 1024 + 1);
}

QTEST_GUILESS_MAIN(tst_Deflate)
#include "tst_deflate.moc"

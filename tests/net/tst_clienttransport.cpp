// How the client reaches a server and notices losing it: through an HTTP proxy
// (CONNECT, Basic authentication, refusals in words), on Unix domain sockets both
// ways, with connect and handshake deadlines, credentials from the URL, dead-peer
// detection; and a server on "::" that takes IPv4 clients too.

#include "nettesthelpers.h"

#include "net/tlscertificate.h"
#include "net/unixsocket.h"

#include <QFileInfo>
#include <QProcess>
#include <QSslServer>
#include <QTemporaryDir>
#include <QTest>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace ws;
using namespace wstest;

namespace {

// Opens at once.
struct OpenedClient : RecordedClient {
    explicit OpenedClient(ClientOptions options)
        : RecordedClient(std::move(options)) {
        connection.open();
    }
};

// A small HTTP proxy: CONNECT to any host:port opens a tunnel to 127.0.0.1 on that
// port (so that names need no DNS), optionally behind Basic authentication.
class TunnelProxy : public QObject {
public:
    explicit TunnelProxy(QByteArray requiredAuthorization = {})
        : m_required(std::move(requiredAuthorization)) {
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *client = m_server.nextPendingConnection())
                serve(client);
        });
    }
    bool listen() { return m_server.listen(QHostAddress::LocalHost, 0); }
    HttpProxy proxy() const {
        HttpProxy proxy;
        proxy.host = QStringLiteral("127.0.0.1");
        proxy.port = m_server.serverPort();
        return proxy;
    }

    QList<QByteArray> requests;

private:
    void serve(QTcpSocket *client) {
        auto *buffer = new QByteArray;
        connect(client, &QObject::destroyed, this, [buffer] { delete buffer; });
        connect(client, &QTcpSocket::disconnected, client, &QObject::deleteLater);
        connect(client, &QTcpSocket::readyRead, this, [this, client, buffer] {
            if (client->property("tunnel").toBool())
                return;
            *buffer += client->readAll();
            const qsizetype end = buffer->indexOf("\r\n\r\n");
            if (end < 0)
                return;
            const QByteArray head = buffer->left(end + 4);
            requests.append(head);
            if (!m_required.isEmpty() &&
                !head.contains("\r\nProxy-Authorization: " + m_required + "\r\n")) {
                client->write("HTTP/1.1 407 Proxy Authentication Required\r\n"
                              "Proxy-Authenticate: Basic realm=\"test\"\r\n"
                              "Content-Length: 0\r\n\r\n");
                client->disconnectFromHost();
                return;
            }
            const QByteArray authority = head.split(' ').value(1);
            const quint16 port = authority.mid(authority.lastIndexOf(':') + 1).toUShort();
            auto *upstream = new QTcpSocket(client);
            client->setProperty("tunnel", true);
            connect(upstream, &QTcpSocket::connected, client,
                    [client] { client->write("HTTP/1.1 200 Connection established\r\n\r\n"); });
            connect(upstream, &QTcpSocket::errorOccurred, client, [client] {
                if (!client->property("answered").toBool())
                    client->write("HTTP/1.1 502 Bad Gateway\r\n\r\n");
                client->disconnectFromHost();
            });
            connect(upstream, &QTcpSocket::readyRead, client,
                    [client, upstream] { client->write(upstream->readAll()); });
            connect(client, &QTcpSocket::readyRead, upstream,
                    [client, upstream] { upstream->write(client->readAll()); });
            connect(upstream, &QTcpSocket::disconnected, client,
                    [client] { client->disconnectFromHost(); });
            upstream->connectToHost(QHostAddress::LocalHost, port);
        });
    }

    QTcpServer m_server;
    QByteArray m_required;
};

ServerOptions unixServerOptions(const QString &path) {
    ServerOptions options = localOptions();
    options.unixSocketPath = path;
    return options;
}

ClientOptions baseOptions(const QString &url) {
    ClientOptions options;
    options.url = QUrl(url);
    options.connectTimeoutMs = 5000;
    options.handshakeTimeoutMs = 5000;
    options.closeTimeoutMs = 2000;
    return options;
}

bool echoes(OpenedClient &client, const QByteArray &text) {
    if (client.connection.sendText(text) != SendError::None)
        return false;
    return QTest::qWaitFor([&] { return client.recorder.incomingData().contains(text); }, 5000);
}

} // namespace

class tst_ClientTransport : public QObject {
    Q_OBJECT

private slots:
    void throughProxy();
    void throughProxyWithCredentials();
    void proxyAsksForCredentials();
    void proxyRefusesWrongCredentials();
    void proxyRefusesTunnel();
    void proxyNotListening();
    void silentProxyHitsConnectTimeout();
    void wssThroughProxy();
    void unixSocketBothWays();
    void unixUrlRequestPath();
    void unixSocketOptionKeepsUrlPath();
    void unixSocketErrors();
    void unixServerReplacesStaleSocketOnly();
    void connectTimeout();
    void urlCredentialsAreBasicAuthorization();
    void deadPeerIsDropped();
    void dualStackBind();
    void clientCertificate();
    void wssOnUnixSocket();
    void defaultConnectionLimitFollowsDescriptorLimit();
};

void tst_ClientTransport::throughProxy() {
    Server server(localOptions());
    QVERIFY(server.listen());
    TunnelProxy proxy;
    QVERIFY(proxy.listen());
    // A name only the proxy resolves: the client must not look it up itself.
    ClientOptions options =
        baseOptions(QStringLiteral("ws://ws.invalid:%1/chat").arg(server.port()));
    options.proxy = proxy.proxy();
    OpenedClient client(options);
    QVERIFY2(client.waitOpen(), qPrintable(client.errors.join(u'\n')));
    QCOMPARE(proxy.requests.size(), 1);
    QCOMPARE(proxy.requests.first(),
             "CONNECT ws.invalid:" + QByteArray::number(server.port()) +
                 " HTTP/1.1\r\nHost: ws.invalid:" + QByteArray::number(server.port()) + "\r\n\r\n");
    QVERIFY(echoes(client, "through the tunnel"));
    QCOMPARE(client.connection.sendClose(1000), SendError::None);
    QVERIFY(client.waitFinished());
    QVERIFY(client.recorder.closed()->clean);
}

void tst_ClientTransport::throughProxyWithCredentials() {
    Server server(localOptions());
    QVERIFY(server.listen());
    TunnelProxy proxy("Basic " + QByteArray("al:s3cret").toBase64());
    QVERIFY(proxy.listen());
    ClientOptions options = baseOptions(QStringLiteral("ws://127.0.0.1:%1/").arg(server.port()));
    options.proxy = proxy.proxy();
    options.proxy->credentials = BasicCredentials{"al", "s3cret"};
    OpenedClient client(options);
    QVERIFY2(client.waitOpen(), qPrintable(client.errors.join(u'\n')));
    QVERIFY(echoes(client, "authenticated"));
}

void tst_ClientTransport::proxyAsksForCredentials() {
    TunnelProxy proxy("Basic " + QByteArray("al:s3cret").toBase64());
    QVERIFY(proxy.listen());
    ClientOptions options = baseOptions(QStringLiteral("ws://127.0.0.1:1/"));
    options.proxy = proxy.proxy();
    OpenedClient client(options);
    QVERIFY(client.waitFinished());
    QCOMPARE(client.errors.size(), 1);
    const QString &error = client.errors.first();
    QVERIFY2(error.contains(QLatin1String("requires authentication")), qPrintable(error));
    QVERIFY2(error.contains(QLatin1String("407 Proxy Authentication Required")), qPrintable(error));
    QVERIFY2(error.contains(QLatin1String("Basic realm=\"test\"")), qPrintable(error));
    QVERIFY2(error.contains(QLatin1String("http://USER:PASSWORD@127.0.0.1:")), qPrintable(error));
    QCOMPARE(client.connection.state(), SessionState::Closed);
}

void tst_ClientTransport::proxyRefusesWrongCredentials() {
    TunnelProxy proxy("Basic " + QByteArray("al:s3cret").toBase64());
    QVERIFY(proxy.listen());
    ClientOptions options = baseOptions(QStringLiteral("ws://127.0.0.1:1/"));
    options.proxy = proxy.proxy();
    options.proxy->credentials = BasicCredentials{"al", "wrong"};
    OpenedClient client(options);
    QVERIFY(client.waitFinished());
    QCOMPARE(client.errors.size(), 1);
    QVERIFY2(client.errors.first().contains(QLatin1String("refused the user name and password")),
             qPrintable(client.errors.first()));
}

void tst_ClientTransport::proxyRefusesTunnel() {
    TunnelProxy proxy;
    QVERIFY(proxy.listen());
    // Nothing listens there: the proxy answers 502.
    QTcpServer probe;
    QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
    const quint16 closedPort = probe.serverPort();
    probe.close();
    ClientOptions options = baseOptions(QStringLiteral("ws://127.0.0.1:%1/").arg(closedPort));
    options.proxy = proxy.proxy();
    OpenedClient client(options);
    QVERIFY(client.waitFinished());
    QCOMPARE(client.errors.size(), 1);
    QVERIFY2(client.errors.first().contains(QLatin1String("refused the tunnel to 127.0.0.1:")),
             qPrintable(client.errors.first()));
    QVERIFY2(client.errors.first().contains(QLatin1String("502 Bad Gateway")),
             qPrintable(client.errors.first()));
}

void tst_ClientTransport::proxyNotListening() {
    QTcpServer probe;
    QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
    HttpProxy proxy;
    proxy.host = QStringLiteral("127.0.0.1");
    proxy.port = probe.serverPort();
    probe.close();
    ClientOptions options = baseOptions(QStringLiteral("ws://example.invalid/"));
    options.proxy = proxy;
    OpenedClient client(options);
    QVERIFY(client.waitFinished());
    QCOMPARE(client.errors.size(), 1);
    QVERIFY2(
        client.errors.first().contains(QLatin1String("Connection refused by the proxy 127.0.0.1:")),
        qPrintable(client.errors.first()));
}

void tst_ClientTransport::silentProxyHitsConnectTimeout() {
    RawServer silent; // accepts, reads, never answers
    QVERIFY(silent.listen());
    ClientOptions options = baseOptions(QStringLiteral("ws://example.invalid/"));
    options.proxy = HttpProxy{QStringLiteral("127.0.0.1"), silent.port(), std::nullopt};
    options.connectTimeoutMs = 300;
    QElapsedTimer clock;
    clock.start();
    OpenedClient client(options);
    QVERIFY(client.waitFinished());
    QVERIFY(clock.elapsed() >= 280);
    QCOMPARE(client.errors.size(), 1);
    QVERIFY2(client.errors.first().contains(QLatin1String("did not open a tunnel")) &&
                 client.errors.first().contains(QLatin1String("within 300 ms")),
             qPrintable(client.errors.first()));
}

void tst_ClientTransport::wssThroughProxy() {
    QTemporaryDir dir;
    QString error;
    const auto identity = localhostCertificate(dir.path(), &error);
    QVERIFY2(identity, qPrintable(error));
    ServerOptions serverOptions = localOptions();
    serverOptions.tlsCertificate = identity->certificate;
    serverOptions.tlsKey = identity->key;
    Server server(serverOptions);
    QVERIFY(server.listen());
    TunnelProxy proxy;
    QVERIFY(proxy.listen());
    // The certificate is for localhost: the name checked is the server's, not the proxy's.
    ClientOptions options = baseOptions(QStringLiteral("wss://localhost:%1/").arg(server.port()));
    options.proxy = proxy.proxy();
    options.acceptedFingerprint = identity->certificate.digest(QCryptographicHash::Sha256);
    OpenedClient client(options);
    QVERIFY2(client.waitOpen(), qPrintable(client.errors.join(u'\n')));
    QVERIFY(client.connection.tls().has_value());
    QVERIFY(proxy.requests.first().startsWith("CONNECT localhost:"));
    QVERIFY(echoes(client, "encrypted in the tunnel"));
}

void tst_ClientTransport::unixSocketBothWays() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ws.sock"));
    Server server(unixServerOptions(path));
    QStringList log;
    connect(&server, &Server::logMessage, this, [&log](const QString &line) { log.append(line); });
    QVERIFY2(server.listen(), qPrintable(server.errorString()));
    QVERIFY(log.first().contains(QLatin1String("listening on unix:") + path));
    QCOMPARE(server.port(), quint16(0));
    // Only the owner may connect.
    struct stat info;
    QCOMPARE(::stat(QFile::encodeName(path).constData(), &info), 0);
    QVERIFY(S_ISSOCK(info.st_mode));
    QCOMPARE(int(info.st_mode & 0777), 0600);

    OpenedClient client(baseOptions(QStringLiteral("ws+unix://") + path));
    QVERIFY2(client.waitOpen(), qPrintable(client.errors.join(u'\n')));
    QVERIFY(echoes(client, "over a Unix socket"));
    QByteArray large(300 * 1024, 'u');
    QVERIFY(echoes(client, large));
    QTRY_VERIFY2(std::any_of(log.cbegin(), log.cend(),
                             [](const QString &line) {
                                 return line.contains(QLatin1String("(unix socket) connected"));
                             }),
                 qPrintable(log.join(u'\n')));
    QCOMPARE(client.connection.sendClose(1000), SendError::None);
    QVERIFY(client.waitFinished());
    QVERIFY(client.recorder.closed()->clean);

    server.stop();
    QVERIFY(!QFileInfo::exists(path));
}

void tst_ClientTransport::unixUrlRequestPath() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ws.sock"));
    QString error;
    const auto parsed =
        parseWebSocketUrl(QUrl(QStringLiteral("ws+unix://%1:/chat/room?x=1").arg(path)), &error);
    QVERIFY2(parsed, qPrintable(error));
    QCOMPARE(parsed->unixSocketPath, path);
    QCOMPARE(parsed->resourceName, QByteArray("/chat/room?x=1"));
    QCOMPARE(parsed->hostHeader, QByteArray("localhost"));
    const auto bare = parseWebSocketUrl(QUrl(QStringLiteral("ws+unix://") + path));
    QVERIFY(bare);
    QCOMPARE(bare->unixSocketPath, path);
    QCOMPARE(bare->resourceName, QByteArray("/"));
    QVERIFY(!parseWebSocketUrl(QUrl(QStringLiteral("ws+unix://host/x.sock")), &error));
    QVERIFY2(error.contains(QLatin1String("names a socket file")), qPrintable(error));

    Server server(unixServerOptions(path));
    QVERIFY(server.listen());
    QByteArray target;
    connect(&server, &Server::clientConnected, this,
            [&target](ServerClient *c) { target = c->resourceName(); });
    OpenedClient client(baseOptions(QStringLiteral("ws+unix://%1:/chat/room?x=1").arg(path)));
    QVERIFY(client.waitOpen());
    QTRY_COMPARE(target, QByteArray("/chat/room?x=1"));
}

void tst_ClientTransport::unixSocketOptionKeepsUrlPath() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ws.sock"));
    Server server(unixServerOptions(path));
    QVERIFY(server.listen());
    QByteArray target;
    connect(&server, &Server::clientConnected, this,
            [&target](ServerClient *c) { target = c->resourceName(); });
    ClientOptions options = baseOptions(QStringLiteral("ws://app.example/feed"));
    options.unixSocketPath = path;
    OpenedClient client(options);
    QVERIFY2(client.waitOpen(), qPrintable(client.errors.join(u'\n')));
    QTRY_COMPARE(target, QByteArray("/feed"));
    QVERIFY(client.connection.session().clientHandshake()->request().contains(
        "\r\nHost: app.example\r\n"));
}

void tst_ClientTransport::unixSocketErrors() {
    QTemporaryDir dir;
    {
        OpenedClient client(
            baseOptions(QStringLiteral("ws+unix://") + dir.filePath(QStringLiteral("none"))));
        QVERIFY(client.waitFinished());
        QVERIFY2(client.errors.value(0).contains(QLatin1String("No Unix socket at")),
                 qPrintable(client.errors.join(u'\n')));
    }
    // A socket file nobody listens on.
    const QString stale = dir.filePath(QStringLiteral("stale.sock"));
    {
        QString error;
        const qintptr fd = listenUnixSocket(stale, 0600, &error);
        QVERIFY2(fd >= 0, qPrintable(error));
        ::close(int(fd)); // the file stays
    }
    OpenedClient client(baseOptions(QStringLiteral("ws+unix://") + stale));
    QVERIFY(client.waitFinished());
    QVERIFY2(client.errors.value(0).contains(QLatin1String("nothing is listening on that socket")),
             qPrintable(client.errors.join(u'\n')));
    QVERIFY(!client.recorder.closed() || !client.recorder.closed()->clean);
}

void tst_ClientTransport::unixServerReplacesStaleSocketOnly() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ws.sock"));
    {
        QString error;
        const qintptr fd = listenUnixSocket(path, 0600, &error);
        QVERIFY(fd >= 0);
        ::close(int(fd));
    }
    QVERIFY(QFileInfo::exists(path));
    Server first(unixServerOptions(path));
    QVERIFY2(first.listen(), qPrintable(first.errorString()));
    // A live socket is not taken over.
    Server second(unixServerOptions(path));
    QVERIFY(!second.listen());
    QVERIFY2(second.errorString().contains(QLatin1String("Another server is listening")),
             qPrintable(second.errorString()));
    // Nor is a file that is not a socket.
    const QString plain = dir.filePath(QStringLiteral("plain"));
    QFile file(plain);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.close();
    Server third(unixServerOptions(plain));
    QVERIFY(!third.listen());
    QVERIFY2(third.errorString().contains(QLatin1String("is not a socket")),
             qPrintable(third.errorString()));
    QVERIFY(QFileInfo::exists(plain));
    OpenedClient client(baseOptions(QStringLiteral("ws+unix://") + path));
    QVERIFY(client.waitOpen());
}

void tst_ClientTransport::connectTimeout() {
    // A listener whose accept queue is full: the kernel drops further SYNs, so a
    // connect neither succeeds nor fails.
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    QCOMPARE(::bind(listener, reinterpret_cast<sockaddr *>(&address), sizeof address), 0);
    QCOMPARE(::listen(listener, 0), 0);
    socklen_t size = sizeof address;
    ::getsockname(listener, reinterpret_cast<sockaddr *>(&address), &size);
    QList<QTcpSocket *> fillers;
    for (int i = 0; i < 3; ++i) {
        auto *filler = new QTcpSocket(this);
        filler->connectToHost(QHostAddress::LocalHost, ntohs(address.sin_port));
        fillers.append(filler);
    }
    QTest::qWait(100);
    ClientOptions options =
        baseOptions(QStringLiteral("ws://127.0.0.1:%1/").arg(ntohs(address.sin_port)));
    options.connectTimeoutMs = 300;
    QElapsedTimer clock;
    clock.start();
    OpenedClient client(options);
    QVERIFY(client.waitFinished(5000));
    const qint64 elapsed = clock.elapsed();
    qDeleteAll(fillers);
    ::close(listener);
    QVERIFY2(elapsed >= 280 && elapsed < 3000, qPrintable(QString::number(elapsed)));
    QCOMPARE(client.errors.size(), 1);
    QVERIFY2(client.errors.first().contains(QLatin1String("within 300 ms")),
             qPrintable(client.errors.first()));
}

void tst_ClientTransport::urlCredentialsAreBasicAuthorization() {
    RawServer raw([](QTcpSocket *socket, const QByteArray &request) {
        socket->write(RawServer::switchingProtocols(request));
    });
    QVERIFY(raw.listen());
    OpenedClient client(
        baseOptions(QStringLiteral("ws://al%40corp:p%3Ass@127.0.0.1:%1/").arg(raw.port())));
    QVERIFY2(client.waitOpen(), qPrintable(client.errors.join(u'\n')));
    const QByteArray request = raw.received.value(raw.sockets.first());
    QVERIFY2(request.contains("\r\nAuthorization: Basic " + QByteArray("al@corp:p:ss").toBase64() +
                              "\r\n"),
             request.constData());
    // The Host field carries no user information.
    QVERIFY(request.contains("\r\nHost: 127.0.0.1:" + QByteArray::number(raw.port()) + "\r\n"));

    // An Authorization field given by the caller wins.
    ClientOptions options = baseOptions(QStringLiteral("ws://al:pw@127.0.0.1:%1/").arg(raw.port()));
    options.extraHeaders.add("Authorization", "Bearer token");
    OpenedClient second(options);
    QVERIFY(second.waitOpen());
    const QByteArray secondRequest = raw.received.value(raw.sockets.last());
    QVERIFY(secondRequest.contains("\r\nAuthorization: Bearer token\r\n"));
    QVERIFY(!secondRequest.contains("Basic"));
}

void tst_ClientTransport::deadPeerIsDropped() {
    // A server that completes the handshake and then hears nothing: no pong, ever.
    RawServer raw([](QTcpSocket *socket, const QByteArray &request) {
        socket->write(RawServer::switchingProtocols(request));
    });
    QVERIFY(raw.listen());
    ClientOptions options = baseOptions(raw.url().toString());
    options.keepaliveIntervalMs = 200;
    OpenedClient client(options);
    QVERIFY(client.waitOpen());
    QElapsedTimer clock;
    clock.start();
    QVERIFY(client.waitFinished(5000));
    const qint64 elapsed = clock.elapsed();
    // Dead after twice the interval without a byte, found within half an interval more.
    QVERIFY2(elapsed >= 380 && elapsed < 1500, qPrintable(QString::number(elapsed)));
    // It did ping before giving up.
    const QByteArray sent = raw.received.value(raw.sockets.first());
    const auto ping = parseFrame(sent.mid(sent.indexOf("\r\n\r\n") + 4));
    QVERIFY(ping);
    QCOMPARE(ping->opcode(), quint8(0x9));
    QCOMPARE(client.errors.size(), 1);
    QVERIFY2(client.errors.first().contains(QLatin1String("taken for dead")),
             qPrintable(client.errors.first()));
    QCOMPARE(client.recorder.closed()->code, quint16(1006));
}

void tst_ClientTransport::dualStackBind() {
    ServerOptions options = localOptions();
    options.bindAddress = QHostAddress(QStringLiteral("::"));
    Server server(options);
    if (!server.listen())
        QSKIP("no IPv6 on this machine");
    QCOMPARE(server.address(), QHostAddress(QHostAddress::AnyIPv6));
    OpenedClient v4(baseOptions(QStringLiteral("ws://127.0.0.1:%1/").arg(server.port())));
    QVERIFY2(v4.waitOpen(), qPrintable(v4.errors.join(u'\n')));
    QVERIFY(echoes(v4, "IPv4 on ::"));
    OpenedClient v6(baseOptions(QStringLiteral("ws://[::1]:%1/").arg(server.port())));
    QVERIFY2(v6.waitOpen(), qPrintable(v6.errors.join(u'\n')));
}

void tst_ClientTransport::clientCertificate() {
    // A client certificate as openssl makes one (generateCertificate() makes server
    // certificates), trusted by the server as its own authority.
    QTemporaryDir dir;
    const QString certFile = dir.filePath(QStringLiteral("client.pem"));
    const QString keyFile = dir.filePath(QStringLiteral("client.key"));
    QProcess openssl;
    openssl.start(QStringLiteral("openssl"),
                  {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"),
                   QStringLiteral("ec"), QStringLiteral("-pkeyopt"),
                   QStringLiteral("ec_paramgen_curve:P-256"), QStringLiteral("-nodes"),
                   QStringLiteral("-days"), QStringLiteral("2"), QStringLiteral("-subj"),
                   QStringLiteral("/CN=wsw client"), QStringLiteral("-keyout"), keyFile,
                   QStringLiteral("-out"), certFile});
    QVERIFY(openssl.waitForFinished(15000));
    QCOMPARE(openssl.exitCode(), 0);
    QString error;
    const auto clientIdentity = loadCertificate(certFile, keyFile, &error);
    QVERIFY2(clientIdentity, qPrintable(error));
    const auto serverIdentity = generateCertificate({}, nullptr, &error);
    QVERIFY2(serverIdentity, qPrintable(error));

    QSslServer server;
    QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
    configuration.setLocalCertificate(serverIdentity->certificate);
    configuration.setPrivateKey(serverIdentity->key);
    configuration.setCaCertificates({clientIdentity->certificate});
    configuration.setPeerVerifyMode(QSslSocket::VerifyPeer);
    server.setSslConfiguration(configuration);
    QList<QSslCertificate> presented;
    QByteArray request;
    connect(&server, &QSslServer::pendingConnectionAvailable, this, [&] {
        while (auto *socket = qobject_cast<QSslSocket *>(server.nextPendingConnection())) {
            presented.append(socket->peerCertificate());
            connect(socket, &QSslSocket::readyRead, socket, [socket, &request] {
                request += socket->readAll();
                if (request.contains("\r\n\r\n") && !socket->property("answered").toBool()) {
                    socket->setProperty("answered", true);
                    socket->write(RawServer::switchingProtocols(request));
                }
            });
        }
    });
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    const QString url = QStringLiteral("wss://localhost:%1/").arg(server.serverPort());

    ClientOptions options = baseOptions(url);
    options.acceptedFingerprint = serverIdentity->certificate.digest(QCryptographicHash::Sha256);
    options.clientCertificate = clientIdentity->certificate;
    options.clientKey = clientIdentity->key;
    OpenedClient client(options);
    QVERIFY2(client.waitOpen(), qPrintable(client.errors.join(u'\n')));
    QCOMPARE(presented.size(), 1);
    QCOMPARE(presented.first(), clientIdentity->certificate);

    // Without one, the server ends the TLS handshake.
    ClientOptions without = baseOptions(url);
    without.acceptedFingerprint = options.acceptedFingerprint;
    OpenedClient refused(without);
    QVERIFY(refused.waitFinished());
    QCOMPARE(refused.connection.state(), SessionState::Closed);
    QVERIFY(!refused.errors.isEmpty());
    QCOMPARE(presented.size(), 1);
}

void tst_ClientTransport::wssOnUnixSocket() {
    QTemporaryDir dir;
    QString error;
    const auto identity = localhostCertificate(dir.path(), &error);
    QVERIFY2(identity, qPrintable(error));
    const QString path = dir.filePath(QStringLiteral("wss.sock"));
    ServerOptions serverOptions = unixServerOptions(path);
    serverOptions.tlsCertificate = identity->certificate;
    serverOptions.tlsKey = identity->key;
    Server server(serverOptions);
    QVERIFY2(server.listen(), qPrintable(server.errorString()));
    ClientOptions options = baseOptions(QStringLiteral("wss+unix://") + path);
    options.acceptedFingerprint = identity->certificate.digest(QCryptographicHash::Sha256);
    OpenedClient client(options);
    QVERIFY2(client.waitOpen(), qPrintable(client.errors.join(u'\n')));
    QVERIFY(client.connection.tls().has_value());
    QVERIFY(echoes(client, "TLS on a Unix socket"));
}

void tst_ClientTransport::defaultConnectionLimitFollowsDescriptorLimit() {
    rlimit before{};
    QCOMPARE(::getrlimit(RLIMIT_NOFILE, &before), 0);
    const int limit = ServerOptions().maxConnections;
    rlimit after{};
    QCOMPARE(::getrlimit(RLIMIT_NOFILE, &after), 0);
    // The soft limit was raised to the hard one, and the default follows it.
    QCOMPARE(after.rlim_cur, after.rlim_max);
    if (after.rlim_cur != RLIM_INFINITY && after.rlim_cur < 1'000'000)
        QCOMPARE(qint64(limit), qint64(after.rlim_cur) - 64);
    QVERIFY(limit > 0);
}

QTEST_GUILESS_MAIN(tst_ClientTransport)
#include "tst_clienttransport.moc"

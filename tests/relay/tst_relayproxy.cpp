// The relay's proxy mode between our own server and our own client (or raw sockets
// that write exact requests): ws:// in absolute form, CONNECT with TLS terminated by
// the local certificate authority, requests that are passed through or forwarded,
// refusals, blind tunnels, and the certificate authority kept on disk.

#include "../net/nettesthelpers.h"

#include "net/certificateauthority.h"
#include "net/server.h"
#include "relay/relayheaders.h"
#include "relay/relayproxy.h"

#include <QFile>
#include <QSignalSpy>
#include <QSslSocket>
#include <QTemporaryDir>
#include <QTest>

using namespace ws;
using namespace wstest;

enum class ProxyWay { TlsTunnel, PlainTunnel, AbsoluteForm };
Q_DECLARE_METATYPE(ProxyWay)

namespace {

constexpr quint32 ClientMaskKey = 0x37fa213d; // RFC 6455 §5.7

CertificateAndKey generated(const CertificateRequest &request, const CertificateAndKey *issuer) {
    QString error;
    const std::optional<CertificateAndKey> out = generateCertificate(request, issuer, &error);
    if (!out)
        qFatal("certificate: %s", qPrintable(error));
    return *out;
}

bool writeFile(const QString &path, const QByteArray &bytes) {
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(bytes) == bytes.size();
}

// A certificate authority of the upstream's own, not the proxy's, with a certificate
// for 127.0.0.1 that it signed; the authority's PEM is written to `caFile`.
struct UpstreamIdentity {
    explicit UpstreamIdentity(const QString &caFile_)
        : caFile(caFile_) {
        CertificateRequest caRequest;
        caRequest.commonName = QStringLiteral("upstream test CA");
        caRequest.isCertificateAuthority = true;
        authority = generated(caRequest, nullptr);
        identity = generated({}, &authority);
    }
    bool writeCaFile() const { return writeFile(caFile, authority.certificatePem); }

    QString caFile;
    CertificateAndKey authority;
    CertificateAndKey identity;
};

// An upstream wss server (ours) with an UpstreamIdentity.
struct UpstreamTls : UpstreamIdentity {
    explicit UpstreamTls(const QString &caFile_)
        : UpstreamIdentity(caFile_) {
        ServerOptions options = localOptions();
        options.tlsCertificate = identity.certificate;
        options.tlsKey = identity.key;
        server = std::make_unique<Server>(options);
    }
    bool listen() { return writeCaFile() && server->listen(); }
    quint16 port() const { return server->port(); }

    std::unique_ptr<Server> server;
};

// A keep-alive web server by script, over TLS when given an identity: on every
// connection GET /page answers kPage (Content-Length), GET /chunked answers kChunked,
// and a WebSocket upgrade is answered with 101, after which every frame is echoed
// unmasked. Requests carry no bodies here; each is noted with the connection it came on.
class PageServer : public QTcpServer {
public:
    static inline const QByteArray kPage = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                           "Content-Length: 11\r\n\r\nhello page\n";
    static inline const QByteArray kChunked =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "6;ext=1\r\nhello \r\n8\r\nchunked\n\r\n0\r\nX-Trailer: yes\r\n\r\n";

    explicit PageServer(std::optional<CertificateAndKey> identity = std::nullopt)
        : m_identity(std::move(identity)) {}

    // "CONNECTION-INDEX REQUEST-LINE" for each request, in order.
    QStringList requests;
    QList<QTcpSocket *> connections;
    // The next this many requests close their connection instead of an answer, as a
    // server closing a kept-alive connection just as a request comes.
    int closeInsteadOfAnswering = 0;

protected:
    void incomingConnection(qintptr descriptor) override {
        auto *socket = new QSslSocket(this);
        if (!socket->setSocketDescriptor(descriptor)) {
            delete socket;
            return;
        }
        const auto index = connections.size();
        connections.append(socket);
        auto buffer = std::make_shared<QByteArray>();
        auto webSocket = std::make_shared<bool>(false);
        connect(socket, &QIODevice::readyRead, this, [=, this] {
            *buffer += socket->readAll();
            for (;;) {
                if (*webSocket) {
                    const std::optional<WireFrame> frame = parseFrame(*buffer);
                    if (!frame)
                        return;
                    buffer->remove(0, frame->wireSize);
                    socket->write(serverFrame(frame->firstByte, frame->payload));
                    continue;
                }
                const qsizetype end = buffer->indexOf("\r\n\r\n");
                if (end < 0)
                    return;
                const QByteArray head = buffer->left(end + 4);
                buffer->remove(0, end + 4);
                const QByteArray requestLine = head.left(head.indexOf("\r\n"));
                requests.append(
                    QStringLiteral("%1 %2").arg(index).arg(QString::fromLatin1(requestLine)));
                if (closeInsteadOfAnswering > 0) {
                    --closeInsteadOfAnswering;
                    socket->disconnectFromHost();
                    return;
                }
                if (head.contains("Upgrade: websocket")) {
                    socket->write(RawServer::switchingProtocols(head));
                    *webSocket = true;
                } else if (requestLine.startsWith("GET /page ")) {
                    socket->write(kPage);
                } else if (requestLine.startsWith("GET /chunked ")) {
                    socket->write(kChunked);
                } else {
                    socket->write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                }
            }
        });
        if (m_identity) {
            socket->setLocalCertificate(m_identity->certificate);
            socket->setPrivateKey(m_identity->key);
            socket->startServerEncryption();
        }
    }

private:
    std::optional<CertificateAndKey> m_identity;
};

// Our client to 127.0.0.1:`port``path` through the proxy at `proxyPort` (a CONNECT
// tunnel), trusting `caFile` for wss; what it learnt of TLS.
struct ProxiedClient {
    ProxiedClient(bool secure, quint16 port, quint16 proxyPort, const QString &caFile = {},
                  const QString &path = QStringLiteral("/"))
        : client([&] {
            ClientOptions options = clientOptions(port, path);
            if (secure)
                options.url.setScheme(QStringLiteral("wss"));
            options.caCertificatesFile = caFile;
            options.proxy = HttpProxy{QStringLiteral("127.0.0.1"), proxyPort, {}};
            return options;
        }()) {
        QObject::connect(&client.connection, &ClientConnection::tlsEstablished, &client.recorder,
                         [this](const TlsInfo &info) { tls = info; });
        client.connection.open();
    }
    // Opens, then sends `message` and sees it echoed.
    bool echoes(const QByteArray &message) {
        const qsizetype before = client.recorder.incomingData().size();
        if (!client.waitOpen(8000) || client.connection.sendBinary(message) != SendError::None)
            return false;
        return QTest::qWaitFor([&] { return client.recorder.incomingData().size() > before; },
                               10000) &&
               client.recorder.incomingData().last() == message;
    }
    QString errors() const { return client.errors.join(u'\n'); }

    RecordedClient client;
    std::optional<TlsInfo> tls;
};

// One pair started, to `target`: the destination and the path and query the client
// asked for, what the log and the window's tree name the pair with.
bool startedOnceTo(const QSignalSpy &pairStarted, const QString &target) {
    if (pairStarted.size() != 1 || pairStarted.at(0).at(2).toUrl() != QUrl(target)) {
        qWarning() << "pairs started:" << pairStarted;
        return false;
    }
    return true;
}

// "127.0.0.1:`port`", as a request line and a Host header name it.
QByteArray loopbackAuthority(quint16 port) {
    return "127.0.0.1:" + QByteArray::number(port);
}

// TLS in a CONNECT tunnel, as a browser that trusts the proxy's authority: true once
// encrypted with a certificate for 127.0.0.1 that the authority signed.
bool startTlsTrustingProxy(QSslSocket &client, const RelayProxy &proxy) {
    QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
    configuration.addCaCertificates({proxy.certificateAuthority()->identity().certificate});
    configuration.setPeerVerifyMode(QSslSocket::VerifyPeer);
    client.setSslConfiguration(configuration);
    client.setPeerVerifyName(QStringLiteral("127.0.0.1"));
    client.startClientEncryption();
    // Not waitForEncrypted(): the proxy answers from this thread's event loop.
    return QTest::qWaitFor([&] { return client.isEncrypted(); }, 5000);
}

// Reads the proxy's answer to an upgrade with SampleKey: true when it is the 101 with
// SampleAccept; `rest` gets what came after its head.
bool readSwitchingProtocols(QTcpSocket &client, QByteArray *rest) {
    QByteArray answer;
    if (!readUntil(client, answer, headerBlockComplete) || !answer.startsWith("HTTP/1.1 101 ") ||
        !answer.contains(QByteArray("Sec-WebSocket-Accept: ") + SampleAccept)) {
        qWarning() << "not a 101 with the expected accept:" << answer;
        return false;
    }
    *rest = answer.mid(answer.indexOf("\r\n\r\n") + 4);
    return true;
}

// A raw client to the proxy: writes exact requests, reads exact answers.
bool connectToProxy(QTcpSocket &client, const RelayProxy &proxy) {
    client.connectToHost(QHostAddress::LocalHost, proxy.port());
    return client.waitForConnected(5000);
}

// A PageServer and a proxy in front of it, reached `way`: for ProxyWay::TlsTunnel the
// server speaks TLS with a certificate of a CA of its own, which the proxy trusts.
struct PageServerBehindProxy {
    PageServerBehindProxy(ProxyWay way_, const QString &caFile, RelayProxyOptions options)
        : way(way_)
        , upstream(caFile)
        , server(way_ == ProxyWay::TlsTunnel ? std::optional(upstream.identity) : std::nullopt)
        , proxy([&] {
            options.relay.upstream.caCertificatesFile = caFile;
            return options;
        }()) {}

    // Writes the CA file; the server and the proxy listen.
    bool listen() {
        return upstream.writeCaFile() && server.listen(QHostAddress::LocalHost, 0) &&
               proxy.listen();
    }
    QByteArray authority() const { return loopbackAuthority(server.serverPort()); }
    // How a request target starts: the absolute form names the server to the proxy.
    QByteArray targetPrefix() const {
        return way == ProxyWay::AbsoluteForm ? "http://" + authority() : QByteArray();
    }
    // Connects `client` to the proxy and, but for the absolute form, opens a tunnel to
    // the server, with TLS trusting the proxy's authority for ProxyWay::TlsTunnel.
    bool openClient(QSslSocket &client) const {
        if (!connectToProxy(client, proxy))
            return false;
        if (way != ProxyWay::AbsoluteForm) {
            client.write("CONNECT " + authority() + " HTTP/1.1\r\nHost: " + authority() +
                         "\r\n\r\n");
            QByteArray answer;
            if (!readUntil(client, answer, headerBlockComplete) ||
                answer != "HTTP/1.1 200 Connection Established\r\n\r\n") {
                qWarning() << "not the CONNECT's 200:" << answer;
                return false;
            }
        }
        return way != ProxyWay::TlsTunnel || startTlsTrustingProxy(client, proxy);
    }

    ProxyWay way;
    UpstreamIdentity upstream;
    PageServer server;
    RelayProxy proxy;
};

// Reads until the peer closes (or `timeoutMs` passes); what arrived.
QByteArray readToEnd(QTcpSocket &socket, int timeoutMs = 5000) {
    QByteArray out;
    // A peer that does not close is seen in what came (the caller checks it).
    static_cast<void>(QTest::qWaitFor(
        [&] {
            out += socket.readAll();
            return socket.state() == QAbstractSocket::UnconnectedState;
        },
        timeoutMs));
    return out + socket.readAll();
}

// An upstream that plays a script on its first connection: once it has received
// exactly the bytes of the next step (all the steps' bytes so far), it answers that
// step's answer. Everything it receives is kept.
class ScriptedUpstream : public QTcpServer {
public:
    struct Step {
        QByteArray received;
        QByteArray answer;
    };
    explicit ScriptedUpstream(QList<Step> steps)
        : m_steps(std::move(steps)) {
        connect(this, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = nextPendingConnection()) {
                ++connectionCount;
                connect(socket, &QIODevice::readyRead, this, [this, socket] {
                    received += socket->readAll();
                    while (m_next < m_steps.size()) {
                        m_expected += m_steps.at(m_next).received;
                        if (received != m_expected) {
                            m_expected.chop(m_steps.at(m_next).received.size());
                            break;
                        }
                        socket->write(m_steps.at(m_next++).answer);
                    }
                });
            }
        });
    }

    QByteArray received;
    int connectionCount = 0;

private:
    QList<Step> m_steps;
    qsizetype m_next = 0;
    QByteArray m_expected;
};

// A raw client through a CONNECT tunnel (no TLS) to 127.0.0.1:`port`.
bool openTunnel(QTcpSocket &client, quint16 proxyPort, quint16 port) {
    client.connectToHost(QHostAddress::LocalHost, proxyPort);
    if (!client.waitForConnected(5000))
        return false;
    const QByteArray authority = "127.0.0.1:" + QByteArray::number(port);
    client.write("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
    QByteArray answer;
    return readUntil(client, answer, headerBlockComplete) &&
           answer == "HTTP/1.1 200 Connection Established\r\n\r\n";
}

// Reads exactly as many bytes as `expected` has (more would show in the comparison).
QByteArray readCount(QTcpSocket &socket, qsizetype count) {
    QByteArray answer;
    static_cast<void>(
        readUntil(socket, answer, [&](const QByteArray &bytes) { return bytes.size() >= count; }));
    return answer;
}

} // namespace

class TestRelayProxy : public QObject {
    Q_OBJECT
private slots:
    void init();
    void originForm_data();
    void originForm();
    void forwardedRequestHeaders();
    void certificateAuthorityKept();
    void absoluteFormWebSocket();
    void connectTlsWebSocket();
    void connectPlainWebSocket();
    void plainGetForwarded();
    void tunnelRequestPassedThrough();
    void keptAliveConnection_data();
    void keptAliveConnection();
    void keptAliveCloseSendsTheRequestAgain_data();
    void keptAliveCloseSendsTheRequestAgain();
    void passedThroughByteExact();
    void absoluteFormConnectsAnewAfterUpstreamCloses();
    void unfollowableResponseRefused();
    void keptAliveConnectionIdleClosed();
    void nextRequestHasTheFirstOnesTime();
    void refusals_data();
    void refusals();
    void blindHostNotIntercepted();

private:
    RelayProxyOptions proxyOptions() const;
    QString closedAfterOneExchange(const RelayProxyOptions &options, const QByteArray &then);
    // The lines `proxy` logs from now on, each without the client's address in front;
    // kept until the next test.
    const QStringList &followLog(RelayProxy &proxy);
    // The leg of each message the proxy's pairs decode from now on, in order; kept
    // until the next test.
    const QList<RelayLegKind> &followMessageLegs(RelayProxy &proxy);
    // The proxy's options, its upstream leg trusting `upstream`'s authority.
    RelayProxyOptions proxyOptionsTrusting(const UpstreamTls &upstream) const;

    std::unique_ptr<QTemporaryDir> m_dir;
    QStringList m_log;          // followLog()
    QList<RelayLegKind> m_legs; // followMessageLegs()
};

const QStringList &TestRelayProxy::followLog(RelayProxy &proxy) {
    m_log.clear();
    connect(&proxy, &RelayProxy::logMessage, this,
            [this](quint64, const QString &line) { m_log.append(line.section(u' ', 1, -1)); });
    return m_log;
}

const QList<RelayLegKind> &TestRelayProxy::followMessageLegs(RelayProxy &proxy) {
    m_legs.clear();
    connect(proxy.relay(), &Relay::legEvent, this,
            [this](quint64, RelayLegKind leg, const SessionEvent &event) {
                if (std::holds_alternative<MessageEvent>(event))
                    m_legs.append(leg);
            });
    return m_legs;
}

void TestRelayProxy::init() {
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

RelayProxyOptions TestRelayProxy::proxyOptions() const {
    RelayProxyOptions options;
    options.caDirectory = m_dir->filePath(QStringLiteral("ca"));
    options.relay.handshakeTimeoutMs = 5000;
    return options;
}

RelayProxyOptions TestRelayProxy::proxyOptionsTrusting(const UpstreamTls &upstream) const {
    RelayProxyOptions options = proxyOptions();
    options.relay.upstream.caCertificatesFile = upstream.caFile;
    return options;
}

void TestRelayProxy::originForm_data() {
    QTest::addColumn<QByteArray>("target");
    QTest::addColumn<QByteArray>("expected");
    QTest::newRow("origin form stays") << QByteArray("/a?b=1") << QByteArray("/a?b=1");
    QTest::newRow("ws absolute form") << QByteArray("ws://h:9/chat?x=1") << QByteArray("/chat?x=1");
    QTest::newRow("http, no path") << QByteArray("http://h") << QByteArray("/");
    QTest::newRow("no path, a query") << QByteArray("http://h:80?q") << QByteArray("/?q");
    QTest::newRow("IPv6 authority") << QByteArray("ws://[::1]:9/x") << QByteArray("/x");
}

void TestRelayProxy::originForm() {
    QFETCH(QByteArray, target);
    QFETCH(QByteArray, expected);
    QCOMPARE(ws::originForm(target), expected);
    // The reverse relay's resource name takes either form.
    QCOMPARE(relayedResourceName(target, {}, {}), expected);
}

void TestRelayProxy::forwardedRequestHeaders() {
    HttpHeaders request;
    request.add("Host", "h:8080");
    request.add("Proxy-Connection", "keep-alive");
    request.add("Proxy-Authorization", "Basic eA==");
    request.add("Connection", "keep-alive, X-Hop");
    request.add("X-Hop", "1");
    request.add("Content-Length", "3");
    request.add("Accept", "text/html");
    HttpHeaders expected;
    expected.add("Host", "h:8080");
    expected.add("Content-Length", "3");
    expected.add("Accept", "text/html");
    QCOMPARE(ws::forwardedRequestHeaders(request), expected);
}

void TestRelayProxy::certificateAuthorityKept() {
    const QString dir = m_dir->filePath(QStringLiteral("ca"));
    QString error;
    std::optional<CertificateAuthority> first = CertificateAuthority::open(dir, &error);
    QVERIFY2(first, qPrintable(error));
    // The key: mode 0600, nobody but its owner reads it.
    const QFileDevice::Permissions others = QFileDevice::ReadGroup | QFileDevice::WriteGroup |
                                            QFileDevice::ExeGroup | QFileDevice::ReadOther |
                                            QFileDevice::WriteOther | QFileDevice::ExeOther;
    QCOMPARE(QFile::permissions(first->keyFile()) & others, QFileDevice::Permissions());
    QVERIFY(QFile::permissions(first->keyFile()) & QFileDevice::ReadOwner);
    const CertificateAuthorityInfo info = certificateAuthorityInfo(*first);
    QCOMPARE(info.certificateFile, dir + QStringLiteral("/ca.crt"));
    QCOMPARE(QByteArray::fromBase64(info.spkiSha256Base64.toLatin1()).size(), 32);

    // A second start (here: a proxy) reads the same authority instead of making one.
    RelayProxy proxy(proxyOptions());
    QVERIFY2(proxy.listen(), qPrintable(proxy.errorString()));
    QCOMPARE(certificateAuthorityInfo(*proxy.certificateAuthority()).fingerprint, info.fingerprint);

    // One certificate per host, kept: asked twice, the same one.
    const std::optional<CertificateAndKey> leaf =
        first->certificateFor(QStringLiteral("127.0.0.1"));
    QVERIFY(leaf);
    QCOMPARE(first->certificateFor(QStringLiteral("127.0.0.1"))->certificate, leaf->certificate);
    QCOMPARE(leaf->certificate.issuerDisplayName(),
             first->identity().certificate.subjectDisplayName());
    QCOMPARE(leaf->certificate.subjectAlternativeNames().values(QSsl::IpAddressEntry),
             QStringList{QStringLiteral("127.0.0.1")});
    const std::optional<CertificateAndKey> named =
        first->certificateFor(QStringLiteral("Example.TEST"));
    QVERIFY(named);
    QCOMPARE(named->certificate.subjectAlternativeNames().values(QSsl::DnsEntry),
             QStringList{QStringLiteral("example.test")});

    // --export-ca: the certificate, never the key.
    const QString exported = m_dir->filePath(QStringLiteral("exported.pem"));
    QVERIFY(exportCertificateAuthority(*first, exported, &error));
    QFile file(exported);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray pem = file.readAll();
    QCOMPARE(pem, first->identity().certificatePem);
    QVERIFY(!pem.contains("PRIVATE KEY"));
}

void TestRelayProxy::absoluteFormWebSocket() {
    Server server(localOptions());
    QVERIFY(server.listen());
    RelayProxy proxy(proxyOptions());
    QVERIFY2(proxy.listen(), qPrintable(proxy.errorString()));
    QSignalSpy started(proxy.relay(), &Relay::pairStarted);
    const QList<RelayLegKind> &legs = followMessageLegs(proxy);

    QTcpSocket client;
    QVERIFY(connectToProxy(client, proxy));
    const QByteArray authority = loopbackAuthority(server.port());
    client.write("GET ws://" + authority + "/chat?room=1 HTTP/1.1\r\nHost: " + authority +
                 "\r\nProxy-Connection: keep-alive\r\nUpgrade: websocket\r\nConnection: "
                 "Upgrade\r\nSec-WebSocket-Key: " +
                 QByteArray(SampleKey) + "\r\nSec-WebSocket-Version: 13\r\n\r\n");
    QByteArray answer;
    QVERIFY(readSwitchingProtocols(client, &answer));
    QVERIFY(startedOnceTo(started, QString::fromLatin1("ws://" + authority + "/chat?room=1")));

    // RFC 6455 §5.7: the masked "Hello"; the echo comes back unmasked.
    client.write(maskedFrame(0x81, "Hello", ClientMaskKey));
    QVERIFY(readUntil(client, answer, [](const QByteArray &bytes) { return bytes.size() >= 7; }));
    QCOMPARE(answer.toHex(), QByteArray("810548656c6c6f"));
    // Both legs decoded: the client's message, then the upstream's echo.
    QCOMPARE(legs, (QList<RelayLegKind>{RelayLegKind::Client, RelayLegKind::Server}));
}

void TestRelayProxy::connectTlsWebSocket() {
    UpstreamTls upstream(m_dir->filePath(QStringLiteral("upstream-ca.pem")));
    QVERIFY(upstream.listen());
    RelayProxy proxy(proxyOptionsTrusting(upstream));
    QVERIFY2(proxy.listen(), qPrintable(proxy.errorString()));
    QSignalSpy started(proxy.relay(), &Relay::pairStarted);

    // Our client trusts the proxy's authority alone: the system store knows neither.
    // Its path and query are in the tunnel, encrypted: the pair is known by them all
    // the same.
    ProxiedClient client(true, upstream.port(), proxy.port(),
                         proxy.certificateAuthority()->certificateFile(),
                         QStringLiteral("/feed/a%20b?x=1&y"));
    QVERIFY2(client.echoes("über TLS"), qPrintable(client.errors()));
    QVERIFY(client.tls);
    QCOMPARE(client.tls->verifiedBy, TlsInfo::VerifiedBy::CaFile);
    // The certificate the client saw is one the proxy made, not the upstream's.
    const TlsCertificateInfo &presented = client.tls->chain.first();
    QVERIFY2(presented.issuer.contains(QStringLiteral("WebSocket Workbench local CA")),
             qPrintable(presented.issuer));
    QVERIFY(presented.sha256 != sha256Fingerprint(upstream.identity.certificate));
    QVERIFY(startedOnceTo(
        started, QStringLiteral("wss://127.0.0.1:%1/feed/a%20b?x=1&y").arg(upstream.port())));
}

void TestRelayProxy::connectPlainWebSocket() {
    // ws:// through a proxy: the client (as Chromium does) asks for a tunnel, and the
    // request in it comes in the clear.
    Server server(localOptions());
    QVERIFY(server.listen());
    RelayProxy proxy(proxyOptions());
    QVERIFY2(proxy.listen(), qPrintable(proxy.errorString()));
    QSignalSpy started(proxy.relay(), &Relay::pairStarted);
    ProxiedClient client(false, server.port(), proxy.port());
    QVERIFY2(client.echoes(QByteArray("\x00\x01\x02", 3)), qPrintable(client.errors()));
    QVERIFY(startedOnceTo(started, QStringLiteral("ws://127.0.0.1:%1/").arg(server.port())));
}

void TestRelayProxy::plainGetForwarded() {
    // Our server answers a plain GET with its test page.
    Server server(localOptions());
    QVERIFY(server.listen());
    RelayProxy proxy(proxyOptions());
    QVERIFY2(proxy.listen(), qPrintable(proxy.errorString()));
    QTcpSocket client;
    QVERIFY(connectToProxy(client, proxy));
    const QByteArray authority = loopbackAuthority(server.port());
    client.write("GET http://" + authority + "/ HTTP/1.1\r\nHost: " + authority +
                 "\r\nProxy-Connection: keep-alive\r\nAccept: text/html\r\n\r\n");
    const QByteArray answer = readToEnd(client);
    QVERIFY2(answer.startsWith("HTTP/1.1 200 "), answer.left(200).constData());
    QVERIFY(answer.contains("<!DOCTYPE html>"));
    QCOMPARE(proxy.pairCount(), 0);
}

void TestRelayProxy::tunnelRequestPassedThrough() {
    UpstreamTls upstream(m_dir->filePath(QStringLiteral("upstream-ca.pem")));
    QVERIFY(upstream.listen());
    RelayProxy proxy(proxyOptionsTrusting(upstream));
    QVERIFY2(proxy.listen(), qPrintable(proxy.errorString()));

    QSslSocket client;
    QVERIFY(connectToProxy(client, proxy));
    const QByteArray authority = loopbackAuthority(upstream.port());
    client.write("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
    QByteArray answer;
    QVERIFY(readUntil(client, answer, headerBlockComplete));
    QCOMPARE(answer, QByteArray("HTTP/1.1 200 Connection Established\r\n\r\n"));

    QVERIFY2(startTlsTrustingProxy(client, proxy), qPrintable(client.errorString()));
    QVERIFY(client.peerCertificate().issuerDisplayName().contains(QStringLiteral("local CA")));
    client.write("GET / HTTP/1.1\r\nHost: " + authority + "\r\nConnection: close\r\n\r\n");
    const QByteArray page = readToEnd(client);
    QVERIFY2(page.startsWith("HTTP/1.1 200 "), page.left(200).constData());
    QVERIFY(page.contains("<!DOCTYPE html>"));
    QCOMPARE(proxy.pairCount(), 0);
}

void TestRelayProxy::keptAliveConnection_data() {
    QTest::addColumn<ProxyWay>("way");
    QTest::newRow("CONNECT, TLS") << ProxyWay::TlsTunnel;
    QTest::newRow("CONNECT, no TLS") << ProxyWay::PlainTunnel;
    QTest::newRow("absolute form") << ProxyWay::AbsoluteForm;
}

void TestRelayProxy::keptAliveCloseSendsTheRequestAgain_data() {
    keptAliveConnection_data();
}

// host:port closes a kept-alive connection just as a request goes over it (RFC 9112
// §9.3.1.1). A GET goes again over a new connection, once; a POST does not (RFC 9110
// §9.2.2), nor a GET whose second try meets the same: the client's connection is
// closed, as it would have been by host:port.
void TestRelayProxy::keptAliveCloseSendsTheRequestAgain() {
    QFETCH(ProxyWay, way);
    PageServerBehindProxy setup(way, m_dir->filePath(QStringLiteral("upstream-ca.pem")),
                                proxyOptions());
    QVERIFY2(setup.listen(), qPrintable(setup.proxy.errorString()));
    PageServer &server = setup.server;
    const QStringList &log = followLog(setup.proxy);
    const QByteArray authority = setup.authority();
    const QByteArray prefix = setup.targetPrefix();
    const QByteArray host = "\r\nHost: " + authority + "\r\n";
    const QByteArray get = "GET " + prefix + "/page HTTP/1.1" + host + "\r\n";
    const auto page = [&](QSslSocket &client, const QByteArray &request) {
        client.write(request);
        QByteArray answer;
        readUntil(client, answer,
                  [](const QByteArray &bytes) { return bytes.size() >= PageServer::kPage.size(); });
        return answer;
    };
    const QString resent = QStringLiteral("%1 closed the kept-alive connection before answering "
                                          "GET /page: sent again over a new connection")
                               .arg(QString::fromLatin1(authority));

    QSslSocket client;
    QVERIFY(setup.openClient(client));
    QCOMPARE(page(client, get), PageServer::kPage);
    server.closeInsteadOfAnswering = 1;
    QCOMPARE(page(client, get), PageServer::kPage);
    QCOMPARE(server.requests, (QStringList{QStringLiteral("0 GET /page HTTP/1.1"),
                                           QStringLiteral("0 GET /page HTTP/1.1"),
                                           QStringLiteral("1 GET /page HTTP/1.1")}));
    QVERIFY2(log.contains(resent), qPrintable(log.join(u'\n')));
    QCOMPARE(client.state(), QAbstractSocket::ConnectedState);

    // Once only: the second try's connection is no kept-alive one.
    server.closeInsteadOfAnswering = 2;
    client.write(get);
    QCOMPARE(readToEnd(client), QByteArray());
    QCOMPARE(server.requests.mid(3), (QStringList{QStringLiteral("1 GET /page HTTP/1.1"),
                                                  QStringLiteral("2 GET /page HTTP/1.1")}));
    QCOMPARE(log.count(resent), 2);

    // A POST is not sent again.
    QSslSocket poster;
    QVERIFY(setup.openClient(poster));
    QCOMPARE(page(poster, get), PageServer::kPage);
    const qsizetype connections = server.connections.size();
    server.closeInsteadOfAnswering = 1;
    poster.write("POST " + prefix + "/page HTTP/1.1" + host + "Content-Length: 0\r\n\r\n");
    QCOMPARE(readToEnd(poster), QByteArray());
    QCOMPARE(server.requests.last(), QStringLiteral("%1 POST /page HTTP/1.1").arg(connections - 1));
    QCOMPARE(server.connections.size(), connections);
    QCOMPARE(log.count(resent), 2);
    QCOMPARE(log.last(),
             QStringLiteral("dropped: %1 closed the connection before its response ended")
                 .arg(QString::fromLatin1(authority)));
}

// A page (Content-Length), a chunked page, then a WebSocket upgrade, all on one
// kept-alive connection to the proxy: the pages come back byte-exact over one
// upstream connection, and the WebSocket still becomes a relayed pair.
void TestRelayProxy::keptAliveConnection() {
    QFETCH(ProxyWay, way);
    const bool tls = way == ProxyWay::TlsTunnel;
    PageServerBehindProxy setup(way, m_dir->filePath(QStringLiteral("upstream-ca.pem")),
                                proxyOptions());
    QVERIFY2(setup.listen(), qPrintable(setup.proxy.errorString()));
    RelayProxy &proxy = setup.proxy;
    PageServer &server = setup.server;
    QSignalSpy started(proxy.relay(), &Relay::pairStarted);
    const QStringList &log = followLog(proxy);
    const QList<RelayLegKind> &legs = followMessageLegs(proxy);

    QSslSocket client;
    QVERIFY2(setup.openClient(client), qPrintable(client.errorString()));
    const QByteArray authority = setup.authority();
    const QByteArray prefix = setup.targetPrefix();
    const QByteArray host = "\r\nHost: " + authority + "\r\n";
    const QList<std::pair<QByteArray, QByteArray>> pages = {{"/page", PageServer::kPage},
                                                            {"/chunked", PageServer::kChunked}};
    for (const auto &[path, expected] : pages) {
        client.write("GET " + prefix + path + " HTTP/1.1" + host + "Accept: */*\r\n\r\n");
        QByteArray answer;
        QVERIFY(readUntil(client, answer, [&](const QByteArray &bytes) {
            return bytes.size() >= expected.size();
        }));
        QCOMPARE(answer, expected);
    }

    const QByteArray wsPrefix = way == ProxyWay::AbsoluteForm ? "ws://" + authority : QByteArray();
    client.write("GET " + wsPrefix + "/ws HTTP/1.1" + host +
                 "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
                 QByteArray(SampleKey) + "\r\nSec-WebSocket-Version: 13\r\n\r\n");
    QByteArray answer;
    QVERIFY(readSwitchingProtocols(client, &answer));
    const QString scheme = tls ? QStringLiteral("wss") : QStringLiteral("ws");
    QVERIFY(startedOnceTo(started, scheme + QStringLiteral("://%1/ws").arg(authority)));
    // RFC 6455 §5.7: the masked "Hello"; the echo comes back unmasked.
    client.write(maskedFrame(0x81, "Hello", ClientMaskKey));
    QVERIFY(readUntil(client, answer, [](const QByteArray &bytes) { return bytes.size() >= 7; }));
    QCOMPARE(answer.toHex(), QByteArray("810548656c6c6f"));
    // Both legs decoded: the client's message, then the upstream's echo.
    QCOMPARE(legs, (QList<RelayLegKind>{RelayLegKind::Client, RelayLegKind::Server}));

    // The pages went over one upstream connection, in origin form; the pair opened
    // its own, and the one the pages used was closed.
    QCOMPARE(server.requests, (QStringList{QStringLiteral("0 GET /page HTTP/1.1"),
                                           QStringLiteral("0 GET /chunked HTTP/1.1"),
                                           QStringLiteral("1 GET /ws HTTP/1.1")}));
    QVERIFY(QTest::qWaitFor(
        [&] { return server.connections.at(0)->state() == QAbstractSocket::UnconnectedState; },
        5000));
    const QString base =
        (way == ProxyWay::TlsTunnel ? QStringLiteral("https://") : QStringLiteral("http://")) +
        QString::fromLatin1(authority);
    const QString outcome = way == ProxyWay::AbsoluteForm ? QStringLiteral("forwarded")
                                                          : QStringLiteral("passed through");
    QStringList expectedLog;
    if (way != ProxyWay::AbsoluteForm)
        expectedLog.append(QStringLiteral("CONNECT %1: intercepted").arg(authority));
    expectedLog.append(QStringLiteral("GET %1/page: %2").arg(base, outcome));
    expectedLog.append(QStringLiteral("GET %1/chunked: %2").arg(base, outcome));
    QCOMPARE(log, expectedLog);
}

// Request bodies (Content-Length, chunked with extensions and trailers), two requests
// pipelined in one write, a 100 before the final response, HEAD and a protocol switch
// that is not a WebSocket's: every byte arrives as it was sent, both ways, over one
// upstream connection; after the 101 the bytes go blind.
void TestRelayProxy::passedThroughByteExact() {
    const QByteArray post = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
    const QByteArray posted = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    const QByteArray put = "PUT /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n";
    const QByteArray created = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
    const QByteArray head = "HEAD /c HTTP/1.1\r\nHost: h\r\n\r\n";
    const QByteArray headAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
    const QByteArray upgrade =
        "GET /d HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n";
    const QByteArray switched = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n";
    const QByteArray notHttp("\x00\x01 not HTTP\r\n\r\n", 16);
    const QByteArray notHttpBack("\xff\r\n\r\nback", 9);
    ScriptedUpstream upstream({{post, posted},
                               {put, created},
                               {head, headAnswer},
                               {upgrade, switched},
                               {notHttp, notHttpBack}});
    QVERIFY(upstream.listen(QHostAddress::LocalHost, 0));
    RelayProxy proxy(proxyOptions());
    QVERIFY2(proxy.listen(), qPrintable(proxy.errorString()));
    const QStringList &log = followLog(proxy);

    QTcpSocket client;
    QVERIFY(openTunnel(client, proxy.port(), upstream.serverPort()));
    client.write(post + put);
    QCOMPARE(readCount(client, posted.size() + created.size()), posted + created);
    client.write(head);
    QCOMPARE(readCount(client, headAnswer.size()), headAnswer);
    client.write(upgrade);
    QCOMPARE(readCount(client, switched.size()), switched);
    client.write(notHttp);
    QCOMPARE(readCount(client, notHttpBack.size()), notHttpBack);

    QCOMPARE(upstream.received, post + put + head + upgrade + notHttp);
    QCOMPARE(upstream.connectionCount, 1);
    const QString base = QStringLiteral("http://127.0.0.1:%1").arg(upstream.serverPort());
    QCOMPARE(
        log,
        (QStringList{QStringLiteral("CONNECT 127.0.0.1:%1: intercepted").arg(upstream.serverPort()),
                     QStringLiteral("POST %1/a: passed through").arg(base),
                     QStringLiteral("PUT %1/b: passed through").arg(base),
                     QStringLiteral("HEAD %1/c: passed through").arg(base),
                     QStringLiteral("GET %1/d: passed through").arg(base)}));
    QCOMPARE(proxy.pairCount(), 0);
}

// Requests in absolute form name their host each time: when host:port closes the
// kept-alive connection between exchanges, the client's connection stays, and the
// next request goes over a new upstream connection.
void TestRelayProxy::absoluteFormConnectsAnewAfterUpstreamCloses() {
    PageServer server;
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    RelayProxy proxy(proxyOptions());
    QVERIFY2(proxy.listen(), qPrintable(proxy.errorString()));
    const QStringList &log = followLog(proxy);
    QTcpSocket client;
    QVERIFY(connectToProxy(client, proxy));
    const QByteArray authority = loopbackAuthority(server.serverPort());
    const QByteArray get =
        "GET http://" + authority + "/page HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
    client.write(get);
    QCOMPARE(readCount(client, PageServer::kPage.size()), PageServer::kPage);
    server.connections.at(0)->disconnectFromHost();
    const QString closed =
        QStringLiteral("%1 closed the kept-alive connection: the next request connects anew")
            .arg(QString::fromLatin1(authority));
    QVERIFY(QTest::qWaitFor([&] { return log.contains(closed); }, 5000));
    QCOMPARE(client.state(), QAbstractSocket::ConnectedState);
    client.write(get);
    QCOMPARE(readCount(client, PageServer::kPage.size()), PageServer::kPage);
    QCOMPARE(server.requests, (QStringList{QStringLiteral("0 GET /page HTTP/1.1"),
                                           QStringLiteral("1 GET /page HTTP/1.1")}));
    QCOMPARE(client.state(), QAbstractSocket::ConnectedState);
}

// Over a CONNECT tunnel with `options`: one exchange, then `then` (part of a next
// request, or nothing); waits for the proxy to close the connection and returns the
// last line it logged (empty when the connection stayed open).
QString TestRelayProxy::closedAfterOneExchange(const RelayProxyOptions &options,
                                               const QByteArray &then) {
    const QByteArray get = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
    const QByteArray answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    ScriptedUpstream upstream({{get, answer}});
    if (!upstream.listen(QHostAddress::LocalHost, 0))
        return QStringLiteral("upstream did not listen");
    RelayProxy proxy(options);
    if (!proxy.listen())
        return proxy.errorString();
    const QStringList &log = followLog(proxy);

    QTcpSocket client;
    if (!openTunnel(client, proxy.port(), upstream.serverPort()))
        return QStringLiteral("no tunnel");
    client.write(get);
    if (readCount(client, answer.size()) != answer)
        return QStringLiteral("no answer");
    client.write(then);
    const QByteArray rest = readToEnd(client, 20'000);
    if (!rest.isEmpty() || client.state() != QAbstractSocket::UnconnectedState)
        return {};
    return log.value(log.size() - 1)
        .replace(QString::number(upstream.serverPort()), QStringLiteral("PORT"));
}

// A kept-alive connection with nothing under way ends after keepAliveIdleMs.
void TestRelayProxy::keptAliveConnectionIdleClosed() {
    RelayProxyOptions options = proxyOptions();
    options.keepAliveIdleMs = 300;
    QCOMPARE(closedAfterOneExchange(options, {}),
             QStringLiteral("kept-alive connection to 127.0.0.1:PORT idle for 300 ms: closed"));
}

// A request begun after an exchange must be whole within handshakeTimeoutMs, however
// long the connection may stay idle: a slow head does not hold it open.
void TestRelayProxy::nextRequestHasTheFirstOnesTime() {
    RelayProxyOptions options = proxyOptions();
    options.keepAliveIdleMs = 0;
    options.relay.handshakeTimeoutMs = 300;
    QCOMPARE(closedAfterOneExchange(options, "GET /b HTTP/1.1\r\nHo"),
             QStringLiteral("dropped: no complete request within 300 ms"));
}

// A response whose length cannot be known for sure (RFC 9112 §6.3: both
// Transfer-Encoding and Content-Length) is not passed on: the client gets 502 instead,
// and its connection ends.
void TestRelayProxy::unfollowableResponseRefused() {
    const QByteArray get = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
    const QByteArray answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    const QByteArray smuggled = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    ScriptedUpstream upstream({{get, answer}, {get, smuggled}});
    QVERIFY(upstream.listen(QHostAddress::LocalHost, 0));
    RelayProxy proxy(proxyOptions());
    QVERIFY2(proxy.listen(), qPrintable(proxy.errorString()));
    const QStringList &log = followLog(proxy);

    QTcpSocket client;
    QVERIFY(openTunnel(client, proxy.port(), upstream.serverPort()));
    client.write(get);
    QCOMPARE(readCount(client, answer.size()), answer);
    client.write(get);
    const QByteArray rest = readToEnd(client);
    QCOMPARE(client.state(), QAbstractSocket::UnconnectedState);
    const QString why = QStringLiteral("relay proxy: the response from 127.0.0.1:%1 cannot be "
                                       "followed: the message has both Transfer-Encoding and "
                                       "Content-Length (RFC 9112 §6.3)")
                            .arg(upstream.serverPort());
    QVERIFY2(rest.startsWith("HTTP/1.1 502 Bad Gateway\r\n"), rest.constData());
    QVERIFY2(rest.endsWith("\r\n\r\n" + why.toUtf8() + '\n'), rest.constData());
    QCOMPARE(log.last(), QStringLiteral("answered 502: ") + why);
}

void TestRelayProxy::refusals_data() {
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<QByteArray>("statusLine");
    QTest::addColumn<QByteArray>("bodyPart");
    // A port that was just free: nothing listens there.
    QTcpServer probe;
    QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
    const QByteArray closed = loopbackAuthority(probe.serverPort());
    probe.close();
    QTest::newRow("CONNECT to a closed port")
        << QByteArray("CONNECT " + closed + " HTTP/1.1\r\nHost: " + closed + "\r\n\r\n")
        << QByteArray("HTTP/1.1 502 Bad Gateway") << QByteArray("cannot reach " + closed);
    QTest::newRow("GET to a closed port")
        << QByteArray("GET http://" + closed + "/ HTTP/1.1\r\nHost: " + closed + "\r\n\r\n")
        << QByteArray("HTTP/1.1 502 Bad Gateway") << QByteArray("cannot reach " + closed);
    QTest::newRow("origin form: not a proxy request")
        << QByteArray("GET / HTTP/1.1\r\nHost: x\r\n\r\n") << QByteArray("HTTP/1.1 400 Bad Request")
        << QByteArray("this is an HTTP proxy");
    QTest::newRow("CONNECT without a port")
        << QByteArray("CONNECT example.test HTTP/1.1\r\nHost: x\r\n\r\n")
        << QByteArray("HTTP/1.1 400 Bad Request") << QByteArray("CONNECT needs host:port");
    QTest::newRow("not HTTP") << QByteArray("\x16\x03\x01 not http\r\n\r\n")
                              << QByteArray("HTTP/1.1 400 Bad Request")
                              << QByteArray("not an HTTP request");
    QTest::newRow("head too large")
        << QByteArray("GET http://h/ HTTP/1.1\r\nX: " + QByteArray(17 * 1024, 'a') + "\r\n\r\n")
        << QByteArray("HTTP/1.1 431 Request Header Fields Too Large")
        << QByteArray("larger than 16384 bytes");
}

void TestRelayProxy::refusals() {
    QFETCH(QByteArray, request);
    QFETCH(QByteArray, statusLine);
    QFETCH(QByteArray, bodyPart);
    RelayProxy proxy(proxyOptions());
    QVERIFY2(proxy.listen(), qPrintable(proxy.errorString()));
    QTcpSocket client;
    QVERIFY(connectToProxy(client, proxy));
    client.write(request);
    const QByteArray answer = readToEnd(client);
    QVERIFY2(answer.startsWith(statusLine + "\r\n"), answer.constData());
    QVERIFY2(answer.contains(bodyPart), answer.constData());
}

void TestRelayProxy::blindHostNotIntercepted() {
    UpstreamTls upstream(m_dir->filePath(QStringLiteral("upstream-ca.pem")));
    QVERIFY(upstream.listen());
    RelayProxyOptions options = proxyOptions();
    options.blindHosts = {QStringLiteral("127.0.0.1")};
    options.relay.sendQueueLimit = 128 * 1024;
    RelayProxy proxy(options);
    QVERIFY2(proxy.listen(), qPrintable(proxy.errorString()));

    // The client trusts the upstream's authority: it sees the real certificate.
    ProxiedClient client(true, upstream.port(), proxy.port(), upstream.caFile);
    QVERIFY2(client.echoes("blind"), qPrintable(client.errors()));
    // 1 MiB each way: more than the tunnel lets wait on one side (128 KiB here), so
    // it goes through with reading paused and resumed.
    QByteArray large(1024 * 1024, '\0');
    for (qsizetype i = 0; i < large.size(); ++i)
        large[i] = char((i * 167 + 13) & 0xff);
    QVERIFY2(client.echoes(large), qPrintable(client.errors()));
    QVERIFY(client.tls);
    QCOMPARE(client.tls->chain.first().sha256, sha256Fingerprint(upstream.identity.certificate));
    QCOMPARE(proxy.pairCount(), 0);
}

QTEST_GUILESS_MAIN(TestRelayProxy)
#include "tst_relayproxy.moc"

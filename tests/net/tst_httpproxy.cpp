// The proxy pieces without sockets: the CONNECT request and the reading of its
// answer as exact bytes, proxy URLs, and the choice the proxy variables make.

#include "net/httpproxy.h"
#include "protocol/httpconnect.h"

#include <QTest>

using namespace ws;

class tst_HttpProxy : public QObject {
    Q_OBJECT

private slots:
    void connectRequestBytes_data();
    void connectRequestBytes();
    void answer_data();
    void answer();
    void answerIsReadWhateverTheChunking();
    void tunnelBytesAfterTheHeadAreNotTaken();
    void proxyAuthenticateChallenges();
    void parseProxyUrl_data();
    void parseProxyUrl();
    void noProxy_data();
    void noProxy();
    void environmentChoosesByScheme();
    void processEnvironmentPrefersLowerCase();
};

void tst_HttpProxy::connectRequestBytes_data() {
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::addColumn<bool>("withCredentials");
    QTest::addColumn<QByteArray>("expected");
    QTest::addRow("name") << "example.com" << 443 << false
                          << QByteArray("CONNECT example.com:443 HTTP/1.1\r\n"
                                        "Host: example.com:443\r\n\r\n");
    QTest::addRow("IPv6 in brackets")
        << "::1" << 9001 << false
        << QByteArray("CONNECT [::1]:9001 HTTP/1.1\r\nHost: [::1]:9001\r\n\r\n");
    // RFC 7617 §2: the example of "Aladdin" and "open sesame".
    QTest::addRow("Basic credentials")
        << "h" << 80 << true
        << QByteArray("CONNECT h:80 HTTP/1.1\r\nHost: h:80\r\n"
                      "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n");
}

void tst_HttpProxy::connectRequestBytes() {
    QFETCH(QString, host);
    QFETCH(int, port);
    QFETCH(bool, withCredentials);
    QFETCH(QByteArray, expected);
    std::optional<BasicCredentials> credentials;
    if (withCredentials)
        credentials = BasicCredentials{"Aladdin", "open sesame"};
    QCOMPARE(connectRequest(host, quint16(port), credentials), expected);
}

void tst_HttpProxy::answer_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<int>("result");
    QTest::addColumn<int>("status");
    using R = ConnectResponseReader::Result;
    QTest::addRow("200") << QByteArray("HTTP/1.1 200 Connection established\r\n\r\n")
                         << int(R::Established) << 200;
    QTest::addRow("HTTP/1.0 200, bare LF")
        << QByteArray("HTTP/1.0 200 OK\nVia: squid\n\n") << int(R::Established) << 200;
    QTest::addRow("204 is a 2xx too")
        << QByteArray("HTTP/1.1 204 No Content\r\n\r\n") << int(R::Established) << 204;
    QTest::addRow("407") << QByteArray("HTTP/1.1 407 Proxy Authentication Required\r\n"
                                       "Proxy-Authenticate: Basic realm=\"test\"\r\n"
                                       "Content-Length: 0\r\n\r\n")
                         << int(R::Refused) << 407;
    QTest::addRow("403") << QByteArray("HTTP/1.1 403 Forbidden\r\n\r\n") << int(R::Refused) << 403;
    QTest::addRow("not HTTP") << QByteArray("SSH-2.0-OpenSSH_9.2\r\n\r\n") << int(R::Malformed)
                              << 0;
    QTest::addRow("incomplete") << QByteArray("HTTP/1.1 200 OK\r\n") << int(R::NeedMore) << 200;
}

void tst_HttpProxy::answer() {
    QFETCH(QByteArray, bytes);
    QFETCH(int, result);
    QFETCH(int, status);
    ConnectResponseReader reader;
    qsizetype consumed = 0;
    QCOMPARE(int(reader.feed(bytes, &consumed)), result);
    QCOMPARE(reader.statusCode(), status);
    if (result == int(ConnectResponseReader::Result::Malformed))
        QVERIFY(!reader.errorString().isEmpty());
}

void tst_HttpProxy::answerIsReadWhateverTheChunking() {
    const QByteArray bytes = "HTTP/1.1 200 Connection established\r\nVia: 1.1 proxy\r\n\r\n";
    ConnectResponseReader reader;
    qsizetype total = 0;
    for (qsizetype i = 0; i < bytes.size(); ++i) {
        qsizetype consumed = 0;
        const auto result = reader.feed(QByteArrayView(bytes).sliced(i, 1), &consumed);
        total += consumed;
        QCOMPARE(result, i + 1 == bytes.size() ? ConnectResponseReader::Result::Established
                                               : ConnectResponseReader::Result::NeedMore);
    }
    QCOMPARE(total, bytes.size());
    QCOMPARE(reader.headers().value("via"), std::optional<QByteArray>("1.1 proxy"));
}

void tst_HttpProxy::tunnelBytesAfterTheHeadAreNotTaken() {
    const QByteArray head = "HTTP/1.1 200 OK\r\n\r\n";
    ConnectResponseReader reader;
    qsizetype consumed = 0;
    QCOMPARE(reader.feed(head + "\x16\x03\x01", &consumed),
             ConnectResponseReader::Result::Established);
    QCOMPARE(consumed, head.size());
    // Done: nothing more is taken.
    QCOMPARE(reader.feed("more", &consumed), ConnectResponseReader::Result::Established);
    QCOMPARE(consumed, 0);
}

void tst_HttpProxy::proxyAuthenticateChallenges() {
    ConnectResponseReader reader;
    qsizetype consumed = 0;
    QCOMPARE(reader.feed("HTTP/1.1 407 Proxy Authentication Required\r\n"
                         "Proxy-Authenticate: Negotiate\r\n"
                         "proxy-authenticate: Basic realm=\"corp\"\r\n\r\n",
                         &consumed),
             ConnectResponseReader::Result::Refused);
    QCOMPARE(reader.authenticationChallenges(),
             (QList<QByteArray>{"Negotiate", "Basic realm=\"corp\""}));
}

void tst_HttpProxy::parseProxyUrl_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::addColumn<QByteArray>("user");
    QTest::addColumn<QByteArray>("password");
    QTest::addColumn<QString>("errorPart");
    QTest::addRow("plain") << "http://proxy.example:3128" << true << "proxy.example" << 3128
                           << QByteArray() << QByteArray() << QString();
    QTest::addRow("trailing slash") << "http://10.0.0.1:8080/" << true << "10.0.0.1" << 8080
                                    << QByteArray() << QByteArray() << QString();
    QTest::addRow("no scheme, as variables often hold it")
        << "proxy:3128" << true << "proxy" << 3128 << QByteArray() << QByteArray() << QString();
    QTest::addRow("default port") << "http://proxy" << true << "proxy" << 80 << QByteArray()
                                  << QByteArray() << QString();
    QTest::addRow("IPv6") << "http://[::1]:3128" << true << "::1" << 3128 << QByteArray()
                          << QByteArray() << QString();
    QTest::addRow("credentials, percent-decoded")
        << "http://al%40corp:p%3Ass@proxy:3128" << true << "proxy" << 3128 << QByteArray("al@corp")
        << QByteArray("p:ss") << QString();
    QTest::addRow("https proxy") << "https://proxy:443" << false << QString() << 0 << QByteArray()
                                 << QByteArray() << "only HTTP proxies";
    QTest::addRow("socks") << "socks5://proxy:1080" << false << QString() << 0 << QByteArray()
                           << QByteArray() << "only HTTP proxies";
    QTest::addRow("path") << "http://proxy:3128/x" << false << QString() << 0 << QByteArray()
                          << QByteArray() << "no path";
    QTest::addRow("empty") << "" << false << QString() << 0 << QByteArray() << QByteArray()
                           << "No proxy given";
}

void tst_HttpProxy::parseProxyUrl() {
    QFETCH(QString, text);
    QFETCH(bool, valid);
    QFETCH(QString, host);
    QFETCH(int, port);
    QFETCH(QByteArray, user);
    QFETCH(QByteArray, password);
    QFETCH(QString, errorPart);
    QString error;
    const std::optional<HttpProxy> proxy = ws::parseProxyUrl(text, &error);
    QCOMPARE(proxy.has_value(), valid);
    if (!valid) {
        QVERIFY2(error.contains(errorPart), qPrintable(error));
        return;
    }
    QCOMPARE(proxy->host, host);
    QCOMPARE(int(proxy->port), port);
    QCOMPARE(proxy->credentials.has_value(), !user.isEmpty());
    if (proxy->credentials) {
        QCOMPARE(proxy->credentials->user, user);
        QCOMPARE(proxy->credentials->password, password);
    }
}

void tst_HttpProxy::noProxy_data() {
    QTest::addColumn<QString>("list");
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::addColumn<bool>("matches");
    QTest::addRow("empty") << ""
                           << "example.com" << 80 << false;
    QTest::addRow("star") << "*"
                          << "example.com" << 80 << true;
    QTest::addRow("exact") << "example.com"
                           << "example.com" << 80 << true;
    QTest::addRow("case") << "Example.COM"
                          << "example.com" << 80 << true;
    QTest::addRow("subdomain") << "example.com"
                               << "ws.example.com" << 80 << true;
    QTest::addRow("leading dot") << ".example.com"
                                 << "ws.example.com" << 80 << true;
    QTest::addRow("leading dot, the domain itself") << ".example.com"
                                                    << "example.com" << 80 << true;
    QTest::addRow("not a suffix on a label") << "example.com"
                                             << "badexample.com" << 80 << false;
    QTest::addRow("list with spaces") << "a.test, b.test ,c.test"
                                      << "b.test" << 80 << true;
    QTest::addRow("port matches") << "example.com:9001"
                                  << "example.com" << 9001 << true;
    QTest::addRow("port differs") << "example.com:9001"
                                  << "example.com" << 9002 << false;
    QTest::addRow("address") << "10.1.2.3"
                             << "10.1.2.3" << 80 << true;
    QTest::addRow("CIDR") << "10.0.0.0/8"
                          << "10.1.2.3" << 80 << true;
    QTest::addRow("CIDR, outside") << "10.0.0.0/8"
                                   << "11.1.2.3" << 80 << false;
    QTest::addRow("CIDR, a name") << "10.0.0.0/8"
                                  << "example.com" << 80 << false;
    QTest::addRow("IPv6") << "fd00::1"
                          << "fd00::1" << 80 << true;
    QTest::addRow("IPv6 with port") << "[fd00::1]:80"
                                    << "fd00::1" << 80 << true;
}

void tst_HttpProxy::noProxy() {
    QFETCH(QString, list);
    QFETCH(QString, host);
    QFETCH(int, port);
    QFETCH(bool, matches);
    QCOMPARE(matchesNoProxy(list, host, quint16(port)), matches);
}

void tst_HttpProxy::environmentChoosesByScheme() {
    ProxyEnvironment environment;
    environment.httpProxy = QStringLiteral("http://plain:1");
    environment.httpsProxy = QStringLiteral("http://secure:2");
    environment.noProxy = QStringLiteral("direct.test");
    QCOMPARE(proxyFromEnvironment(environment, QStringLiteral("a.test"), 80, false),
             QStringLiteral("http://plain:1"));
    QCOMPARE(proxyFromEnvironment(environment, QStringLiteral("a.test"), 443, true),
             QStringLiteral("http://secure:2"));
    QCOMPARE(proxyFromEnvironment(environment, QStringLiteral("ws.direct.test"), 80, false),
             QString());
    // Loopback is always direct.
    for (const char *host : {"localhost", "127.0.0.1", "127.8.9.10", "::1"})
        QCOMPARE(proxyFromEnvironment(environment, QString::fromLatin1(host), 80, false),
                 QString());
    // all_proxy stands in for a scheme without its own.
    environment.httpsProxy.clear();
    environment.allProxy = QStringLiteral("http://all:3");
    QCOMPARE(proxyFromEnvironment(environment, QStringLiteral("a.test"), 443, true),
             QStringLiteral("http://all:3"));
}

void tst_HttpProxy::processEnvironmentPrefersLowerCase() {
    qputenv("http_proxy", "http://lower:1");
    qputenv("HTTP_PROXY", "http://upper:1");
    qunsetenv("https_proxy");
    qputenv("HTTPS_PROXY", "http://upper:2");
    qputenv("NO_PROXY", "x.test");
    qunsetenv("no_proxy");
    const ProxyEnvironment environment = ProxyEnvironment::fromProcess();
    QCOMPARE(environment.httpProxy, QStringLiteral("http://lower:1"));
    QCOMPARE(environment.httpsProxy, QStringLiteral("http://upper:2"));
    QCOMPARE(environment.noProxy, QStringLiteral("x.test"));
    for (const char *name : {"http_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"})
        qunsetenv(name);
}

QTEST_APPLESS_MAIN(tst_HttpProxy)
#include "tst_httpproxy.moc"

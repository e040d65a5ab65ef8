// wss: our ClientConnection against our Server over TLS, with certificates made by
// tlscertificate.h: a test CA, self-signed, expired and wrongly named ones, and
// peers that speak plain TCP where TLS is expected (and the reverse).

#include "nettesthelpers.h"

#include "net/tlscertificate.h"

#include <QElapsedTimer>
#include <QFile>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

using namespace ws;
using namespace wstest;

namespace {

CertificateAndKey makeCa() {
    CertificateRequest request;
    request.commonName = QStringLiteral("Workbench Test CA");
    request.isCertificateAuthority = true;
    QString error;
    const auto ca = generateCertificate(request, nullptr, &error);
    if (!ca)
        qFatal("CA: %s", qPrintable(error));
    return *ca;
}

CertificateAndKey makeServerCertificate(const CertificateAndKey *issuer,
                                        CertificateRequest request = {}) {
    QString error;
    const auto certificate = generateCertificate(request, issuer, &error);
    if (!certificate)
        qFatal("certificate: %s", qPrintable(error));
    return *certificate;
}

ServerOptions tlsServerOptions(const CertificateAndKey &identity) {
    ServerOptions options = localOptions();
    options.tlsCertificate = identity.certificate;
    options.tlsKey = identity.key;
    options.handshakeTimeoutMs = 3000;
    return options;
}

ClientOptions wssOptions(quint16 port, const QString &host = QStringLiteral("127.0.0.1")) {
    ClientOptions options = clientOptions(port);
    options.url = QUrl(QStringLiteral("wss://%1:%2/").arg(host).arg(port));
    options.handshakeTimeoutMs = 3000;
    return options;
}

// A client with its recorder and what it reported.
struct Client {
    explicit Client(ClientOptions options)
        : connection(std::move(options)) {
        recorder.watch(&connection);
        QObject::connect(&connection, &ClientConnection::errorOccurred, &recorder,
                         [this](const QString &message) { errors.append(message); });
        QObject::connect(&connection, &ClientConnection::tlsEstablished, &recorder,
                         [this](const TlsInfo &info) { tls = info; });
        connection.open();
    }
    bool waitOpen() {
        return QTest::qWaitFor([&] { return connection.state() == SessionState::Open; }, 8000);
    }
    bool waitFinished() {
        return QTest::qWaitFor([&] { return connection.isFinished(); }, 8000);
    }
    QString error() const { return errors.join(u'\n'); }

    ClientConnection connection;
    EventRecorder recorder;
    QStringList errors;
    std::optional<TlsInfo> tls;
};

QString writeTemp(QTemporaryDir &dir, const QString &name, const QByteArray &bytes) {
    const QString path = dir.filePath(name);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size())
        qFatal("cannot write %s", qPrintable(path));
    return path;
}

} // namespace

class tst_Tls : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void generatedCertificateFields();
    void fingerprintParsing_data();
    void fingerprintParsing();
    void localhostCertificateIsKept();
    void verifiedByTestCa();
    void selfSignedIsRefusedWithFingerprint();
    void selfSignedAcceptedByFingerprint();
    void wrongFingerprintIsRefused();
    void hostNameMismatch();
    void expiredCertificate();
    void tlsClientToPlainServer();
    void tlsClientToSilentServer();
    void plainClientToTlsServer();
    void deflateOverTls();

private:
    CertificateAndKey m_ca;
    CertificateAndKey m_signed;     // localhost, 127.0.0.1, ::1, by m_ca
    CertificateAndKey m_selfSigned; // localhost, self-signed
    QTemporaryDir m_dir;
    QString m_caFile;
};

void tst_Tls::initTestCase() {
    QVERIFY(QSslSocket::supportsSsl());
    QVERIFY(m_dir.isValid());
    m_ca = makeCa();
    m_signed = makeServerCertificate(&m_ca);
    m_selfSigned = makeServerCertificate(nullptr);
    m_caFile = writeTemp(m_dir, QStringLiteral("ca.pem"), m_ca.certificatePem);
}

void tst_Tls::generatedCertificateFields() {
    const QSslCertificate &certificate = m_signed.certificate;
    QCOMPARE(certificate.subjectInfo(QSslCertificate::CommonName),
             QStringList{QStringLiteral("localhost")});
    QCOMPARE(certificate.issuerInfo(QSslCertificate::CommonName),
             QStringList{QStringLiteral("Workbench Test CA")});
    const auto names = certificate.subjectAlternativeNames();
    QVERIFY(names.values(QSsl::DnsEntry).contains(QStringLiteral("localhost")));
    QVERIFY(names.values(QSsl::IpAddressEntry).contains(QStringLiteral("127.0.0.1")));
    QCOMPARE(names.values(QSsl::IpAddressEntry).size(), 2);
    // A year, give or take the minute of clock skew allowed at the start.
    const qint64 days = certificate.effectiveDate().daysTo(certificate.expiryDate());
    QCOMPARE(days, 365);
    QVERIFY(!m_selfSigned.certificate.isSelfSigned() ||
            m_selfSigned.certificate.issuerDisplayName() ==
                m_selfSigned.certificate.subjectDisplayName());
    QCOMPARE(m_selfSigned.key.algorithm(), QSsl::Ec);
    QCOMPARE(QSslCertificate::verify({m_signed.certificate, m_ca.certificate}).size(), 1);
}

void tst_Tls::fingerprintParsing_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QByteArray>("bytes");
    const QByteArray digest =
        QByteArray::fromHex("e013c910abeea2d1f1ae5b0f9b17a7b39b1acea3b459ddff8683be8404f821ce");
    QTest::newRow("colons") << QStringLiteral("E0:13:C9:10:AB:EE:A2:D1:F1:AE:5B:0F:9B:17:A7:B3:"
                                              "9B:1A:CE:A3:B4:59:DD:FF:86:83:BE:84:04:F8:21:CE")
                            << digest;
    QTest::newRow("bare lower") << QString::fromLatin1(digest.toHex()) << digest;
    QTest::newRow("short") << QStringLiteral("E0:13") << QByteArray();
    QTest::newRow("not hex") << QString(64, u'g') << QByteArray();
}

void tst_Tls::fingerprintParsing() {
    QFETCH(QString, text);
    QFETCH(QByteArray, bytes);
    QCOMPARE(parseFingerprint(text), bytes);
    if (!bytes.isEmpty())
        QCOMPARE(parseFingerprint(sha256Fingerprint(m_signed.certificate)),
                 m_signed.certificate.digest(QCryptographicHash::Sha256));
}

void tst_Tls::localhostCertificateIsKept() {
    QTemporaryDir dir;
    QString error;
    const auto first = localhostCertificate(dir.path(), &error);
    QVERIFY2(first, qPrintable(error));
    const QFileDevice::Permissions keyPermissions =
        QFile::permissions(dir.filePath(QStringLiteral("localhost.key")));
    QCOMPARE(keyPermissions & (QFileDevice::ReadGroup | QFileDevice::ReadOther |
                               QFileDevice::WriteGroup | QFileDevice::WriteOther),
             QFileDevice::Permissions());
    const auto second = localhostCertificate(dir.path(), &error);
    QVERIFY(second);
    QCOMPARE(second->certificate, first->certificate);

    // An expired one is replaced.
    CertificateRequest old;
    old.notBefore = QDateTime::currentDateTimeUtc().addDays(-400);
    old.notAfter = QDateTime::currentDateTimeUtc().addDays(-35);
    const auto expired = generateCertificate(old);
    QVERIFY(expired);
    QFile::remove(dir.filePath(QStringLiteral("localhost.crt")));
    writeTemp(dir, QStringLiteral("localhost.crt"), expired->certificatePem);
    const auto renewed = localhostCertificate(dir.path(), &error);
    QVERIFY(renewed);
    QVERIFY(renewed->certificate != expired->certificate);
    QVERIFY(renewed->certificate.expiryDate() > QDateTime::currentDateTimeUtc());
}

void tst_Tls::verifiedByTestCa() {
    Server server(tlsServerOptions(m_signed));
    QVERIFY(server.listen());
    ClientOptions options = wssOptions(server.port());
    options.caCertificatesFile = m_caFile;
    Client client(options);
    QVERIFY2(client.waitOpen(), qPrintable(client.error()));
    QVERIFY(client.tls);
    QCOMPARE(client.tls->verifiedBy, TlsInfo::VerifiedBy::CaFile);
    QVERIFY(client.tls->protocol.startsWith(QStringLiteral("TLSv1.")));
    QVERIFY(!client.tls->cipher.isEmpty());
    QVERIFY(!client.tls->chain.isEmpty());
    QCOMPARE(client.tls->chain.first().sha256, sha256Fingerprint(m_signed.certificate));
    QCOMPARE(client.connection.tls()->chain.first().subject, QStringLiteral("localhost"));

    QCOMPARE(client.connection.sendText("over TLS"), SendError::None);
    QVERIFY(QTest::qWaitFor([&] { return !client.recorder.incomingData().isEmpty(); }, 5000));
    QCOMPARE(client.recorder.incomingData().first(), QByteArray("over TLS"));
    // A megabyte goes through the TLS layer in many records and comes back whole.
    const QByteArray big(1024 * 1024, 'x');
    QCOMPARE(client.connection.sendBinary(big), SendError::None);
    QVERIFY(QTest::qWaitFor([&] { return client.recorder.incomingData().size() == 2; }, 10000));
    QCOMPARE(client.recorder.incomingData().last(), big);
    QCOMPARE(client.connection.sendClose(1000), SendError::None);
    QVERIFY(client.waitFinished());
    QVERIFY(client.recorder.closed() && client.recorder.closed()->clean);
}

void tst_Tls::selfSignedIsRefusedWithFingerprint() {
    Server server(tlsServerOptions(m_selfSigned));
    QVERIFY(server.listen());
    Client client(wssOptions(server.port()));
    QVERIFY(client.waitFinished());
    QVERIFY(client.connection.state() != SessionState::Open);
    QVERIFY2(client.error().contains(QStringLiteral("self-signed")), qPrintable(client.error()));
    QVERIFY2(client.error().contains(sha256Fingerprint(m_selfSigned.certificate)),
             qPrintable(client.error()));
    QVERIFY(client.error().contains(QStringLiteral("--accept-fingerprint")));
    QVERIFY(!client.tls);
}

void tst_Tls::selfSignedAcceptedByFingerprint() {
    Server server(tlsServerOptions(m_selfSigned));
    QVERIFY(server.listen());
    // Also under a name the certificate does not carry: the user vouched for it.
    for (const QString &host : {QStringLiteral("127.0.0.1"), QStringLiteral("localhost")}) {
        ClientOptions options = wssOptions(server.port(), host);
        options.acceptedFingerprint = m_selfSigned.certificate.digest(QCryptographicHash::Sha256);
        Client client(options);
        QVERIFY2(client.waitOpen(), qPrintable(client.error()));
        QVERIFY(client.tls);
        QCOMPARE(client.tls->verifiedBy, TlsInfo::VerifiedBy::Fingerprint);
        QCOMPARE(client.connection.sendClose(1000), SendError::None);
        QVERIFY(client.waitFinished());
    }
}

void tst_Tls::wrongFingerprintIsRefused() {
    Server server(tlsServerOptions(m_selfSigned));
    QVERIFY(server.listen());
    ClientOptions options = wssOptions(server.port());
    options.acceptedFingerprint = m_signed.certificate.digest(QCryptographicHash::Sha256);
    Client client(options);
    QVERIFY(client.waitFinished());
    QVERIFY(!client.tls);
    QVERIFY2(client.error().contains(sha256Fingerprint(m_selfSigned.certificate)) &&
                 client.error().contains(QStringLiteral("not the one given")),
             qPrintable(client.error()));
}

void tst_Tls::hostNameMismatch() {
    CertificateRequest request;
    request.commonName = QStringLiteral("example.com");
    request.dnsNames = {QStringLiteral("example.com")};
    request.ipAddresses = {};
    const CertificateAndKey other = makeServerCertificate(&m_ca, request);
    Server server(tlsServerOptions(other));
    QVERIFY(server.listen());
    ClientOptions options = wssOptions(server.port());
    options.caCertificatesFile = m_caFile;
    Client client(options);
    QVERIFY(client.waitFinished());
    QVERIFY(!client.tls);
    QVERIFY2(client.error().contains(QStringLiteral("Host name mismatch")) &&
                 client.error().contains(QStringLiteral("example.com")),
             qPrintable(client.error()));
}

void tst_Tls::expiredCertificate() {
    CertificateRequest request;
    request.notBefore = QDateTime::currentDateTimeUtc().addDays(-30);
    request.notAfter = QDateTime::currentDateTimeUtc().addDays(-1);
    const CertificateAndKey expired = makeServerCertificate(&m_ca, request);
    Server server(tlsServerOptions(expired));
    QVERIFY(server.listen());
    ClientOptions options = wssOptions(server.port());
    options.caCertificatesFile = m_caFile;
    Client client(options);
    QVERIFY(client.waitFinished());
    QVERIFY(!client.tls);
    QVERIFY2(client.error().contains(QStringLiteral("expired on")), qPrintable(client.error()));
}

void tst_Tls::tlsClientToPlainServer() {
    Server server(localOptions());
    QVERIFY(server.listen());
    QElapsedTimer timer;
    timer.start();
    Client client(wssOptions(server.port()));
    QVERIFY(client.waitFinished());
    QVERIFY2(client.error().contains(QStringLiteral("did not answer TLS")),
             qPrintable(client.error()));
    QVERIFY(timer.elapsed() < 2500); // an answer, not the handshake timeout
}

void tst_Tls::tlsClientToSilentServer() {
    // Accepts TCP and never says a word: bounded by the handshake timeout.
    QTcpServer silent;
    QVERIFY(silent.listen(QHostAddress::LocalHost));
    ClientOptions options = wssOptions(silent.serverPort());
    options.handshakeTimeoutMs = 500;
    Client client(options);
    QVERIFY(client.waitFinished());
    QVERIFY2(client.error().contains(QStringLiteral("did not answer TLS")) &&
                 client.error().contains(QStringLiteral("500 ms")),
             qPrintable(client.error()));
}

void tst_Tls::plainClientToTlsServer() {
    Server server(tlsServerOptions(m_signed));
    QStringList log;
    connect(&server, &Server::logMessage, this, [&](const QString &line) { log.append(line); });
    QVERIFY(server.listen());
    QElapsedTimer timer;
    timer.start();
    Client client(clientOptions(server.port()));
    QVERIFY(client.waitFinished());
    QVERIFY2(client.error().contains(QStringLiteral("expects TLS (wss://)")),
             qPrintable(client.error()));
    QVERIFY(timer.elapsed() < 2500);
    QVERIFY(QTest::qWaitFor(
        [&] { return log.join(u'\n').contains(QStringLiteral("not a TLS client")); }, 2000));

    // A raw HTTP request gets the same 400 and the connection closes.
    QTcpSocket raw;
    raw.connectToHost(QHostAddress::LocalHost, server.port());
    QVERIFY(raw.waitForConnected(3000));
    raw.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    QByteArray answer;
    QVERIFY(QTest::qWaitFor(
        [&] {
            answer += raw.readAll();
            return raw.state() == QAbstractSocket::UnconnectedState;
        },
        3000));
    QVERIFY2(answer.startsWith("HTTP/1.1 400 "), answer.constData());
}

void tst_Tls::deflateOverTls() {
    ServerOptions serverOptions = tlsServerOptions(m_signed);
    serverOptions.deflate.policy = DeflatePolicy::Offer;
    Server server(serverOptions);
    QVERIFY(server.listen());
    ClientOptions options = wssOptions(server.port(), QStringLiteral("localhost"));
    options.caCertificatesFile = m_caFile;
    options.deflate.policy = DeflatePolicy::Offer;
    Client client(options);
    QVERIFY2(client.waitOpen(), qPrintable(client.error()));
    QVERIFY(client.connection.deflate());
    const QByteArray json = QByteArray(R"({"key":"value","list":[1,2,3]})").repeated(100);
    QCOMPARE(client.connection.sendText(json), SendError::None);
    QVERIFY(QTest::qWaitFor([&] { return !client.recorder.messages().isEmpty(); }, 5000));
    const DecodedMessage echoed = client.recorder.messages().first();
    QCOMPARE(echoed.data, json);
    QVERIFY(echoed.compressed);
    QVERIFY(echoed.wireSize < json.size() / 10);
    QCOMPARE(client.connection.sendClose(1000), SendError::None);
    QVERIFY(client.waitFinished());
}

QTEST_GUILESS_MAIN(tst_Tls)
#include "tst_tls.moc"

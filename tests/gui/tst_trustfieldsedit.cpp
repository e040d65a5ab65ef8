// The trust fields of a wss:// client (Probe panel, Relay panel, new-connection
// dialog): the CA file and the accepted fingerprint as typed, what is wrong with
// them in words, and the settings they are kept under.

#include "net/tlscertificate.h"
#include "widgets/trustfieldsedit.h"

#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QSettings>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>

using namespace ws;

namespace {

// The SHA-256 of nothing: 32 bytes any fingerprint field must take.
const QByteArray EmptySha256 =
    QByteArray::fromHex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

bool writeFile(const QString &path, const QByteArray &bytes) {
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(bytes) == bytes.size();
}

QStringList labelTexts(const QWidget &widget) {
    QStringList texts;
    for (const QLabel *label : widget.findChildren<QLabel *>())
        texts.append(label->text());
    return texts;
}

} // namespace

class TestTrustFieldsEdit : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void caFileAndFingerprint();
    void caFileOnly();
    void problems_data();
    void problems();
    void acceptedFingerprint_data();
    void acceptedFingerprint();
    void settings();

private:
    QTemporaryDir m_dir;
    QString m_certificateFile;
    QString m_notPemFile;
};

void TestTrustFieldsEdit::initTestCase() {
    QVERIFY(m_dir.isValid());
    QString error;
    const std::optional<CertificateAndKey> identity = generateCertificate({}, nullptr, &error);
    QVERIFY2(identity, qPrintable(error));
    m_certificateFile = m_dir.filePath(QStringLiteral("server.crt"));
    QVERIFY(writeFile(m_certificateFile, identity->certificatePem));
    m_notPemFile = m_dir.filePath(QStringLiteral("notes.txt"));
    QVERIFY(writeFile(m_notPemFile, "not a certificate\n"));
}

void TestTrustFieldsEdit::caFileAndFingerprint() {
    TrustFieldsEdit edit(TrustFieldsEdit::Fields::CaFileAndFingerprint, QStringLiteral("CA file:"),
                         QStringLiteral("probe"));
    QVERIFY(edit.fingerprintEdit());
    // The names the panels' callers and tests look their fields up by.
    QCOMPARE(edit.caFileEdit()->objectName(), QStringLiteral("probeCaFile"));
    QCOMPARE(edit.fingerprintEdit()->objectName(), QStringLiteral("probeFingerprint"));
    QCOMPARE(edit.findChild<QLineEdit *>(QStringLiteral("probeCaFile")), edit.caFileEdit());
    QCOMPARE(labelTexts(edit),
             (QStringList{QStringLiteral("CA file:"), QStringLiteral("Accept cert:")}));
    QCOMPARE(edit.caFileButton()->text(), QStringLiteral("\u2026"));
    QVERIFY(edit.caFileEdit()->isClearButtonEnabled());
    QVERIFY(edit.fingerprintEdit()->isClearButtonEnabled());

    edit.caFileEdit()->setText(QStringLiteral("  /tmp/ca.pem \t"));
    edit.fingerprintEdit()->setText(QStringLiteral(" AB:CD "));
    QCOMPARE(edit.caFile(), QStringLiteral("/tmp/ca.pem"));
    QCOMPARE(edit.fingerprint(), QStringLiteral("AB:CD"));

    // Disabled as a whole while the caller runs.
    edit.setEnabled(false);
    QVERIFY(!edit.caFileEdit()->isEnabled());
    QVERIFY(!edit.caFileButton()->isEnabled());
    QVERIFY(!edit.fingerprintEdit()->isEnabled());
}

void TestTrustFieldsEdit::caFileOnly() {
    TrustFieldsEdit edit(TrustFieldsEdit::Fields::CaFile, QStringLiteral("TLS (wss):"));
    QVERIFY(!edit.fingerprintEdit());
    QVERIFY(edit.caFileEdit()->objectName().isEmpty());
    QCOMPARE(labelTexts(edit), QStringList{QStringLiteral("TLS (wss):")});
    QVERIFY(edit.fingerprint().isEmpty());
    QVERIFY(edit.acceptedFingerprint().isEmpty());
    edit.caFileEdit()->setText(m_notPemFile);
    QCOMPARE(edit.problems(),
             QStringList{QStringLiteral("TLS (wss): no PEM certificate in %1").arg(m_notPemFile)});
}

void TestTrustFieldsEdit::problems_data() {
    QTest::addColumn<QString>("caFile");
    QTest::addColumn<QString>("fingerprint");
    QTest::addColumn<QStringList>("expected");
    const QString wrongFingerprint =
        QStringLiteral("Accept cert: a SHA-256 fingerprint is 32 hex bytes, with or without "
                       "colons");
    const QString validFingerprint = QString::fromLatin1(EmptySha256.toHex(':'));
    QTest::newRow("both empty") << QString() << QString() << QStringList();
    QTest::newRow("only blanks") << QStringLiteral("  ") << QStringLiteral(" ") << QStringList();
    QTest::newRow("a certificate") << m_certificateFile << QString() << QStringList();
    QTest::newRow("a fingerprint") << QString() << validFingerprint << QStringList();
    QTest::newRow("both usable") << m_certificateFile << validFingerprint << QStringList();
    QTest::newRow("no PEM in the file")
        << m_notPemFile << QString()
        << QStringList{QStringLiteral("Upstream CA: no PEM certificate in %1").arg(m_notPemFile)};
    const QString missing = m_dir.filePath(QStringLiteral("missing.pem"));
    QTest::newRow("no such file")
        << missing << QString()
        << QStringList{QStringLiteral("Upstream CA: no PEM certificate in %1").arg(missing)};
    QTest::newRow("a short fingerprint")
        << QString() << QStringLiteral("AB:CD") << QStringList{wrongFingerprint};
    QTest::newRow("both wrong, the file first")
        << m_notPemFile << QStringLiteral("not hex")
        << QStringList{QStringLiteral("Upstream CA: no PEM certificate in %1").arg(m_notPemFile),
                       wrongFingerprint};
}

void TestTrustFieldsEdit::problems() {
    QFETCH(QString, caFile);
    QFETCH(QString, fingerprint);
    QFETCH(QStringList, expected);
    TrustFieldsEdit edit(TrustFieldsEdit::Fields::CaFileAndFingerprint,
                         QStringLiteral("Upstream CA:"));
    edit.caFileEdit()->setText(caFile);
    edit.fingerprintEdit()->setText(fingerprint);
    QCOMPARE(edit.problems(), expected);
}

void TestTrustFieldsEdit::acceptedFingerprint_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QByteArray>("expected");
    QTest::newRow("none") << QString() << QByteArray();
    QTest::newRow("with colons, upper case")
        << QString::fromLatin1(EmptySha256.toHex(':').toUpper()) << EmptySha256;
    QTest::newRow("bare, lower case, padded")
        << QStringLiteral("  %1 ").arg(QString::fromLatin1(EmptySha256.toHex())) << EmptySha256;
    QTest::newRow("31 bytes") << QString::fromLatin1(EmptySha256.left(31).toHex(':'))
                              << QByteArray();
}

void TestTrustFieldsEdit::acceptedFingerprint() {
    QFETCH(QString, text);
    QFETCH(QByteArray, expected);
    TrustFieldsEdit edit(TrustFieldsEdit::Fields::CaFileAndFingerprint, QStringLiteral("CA:"));
    edit.fingerprintEdit()->setText(text);
    QCOMPARE(edit.acceptedFingerprint(), expected);
}

void TestTrustFieldsEdit::settings() {
    const QString file = m_dir.filePath(QStringLiteral("trust.ini"));
    {
        QSettings settings(file, QSettings::IniFormat);
        TrustFieldsEdit edit(TrustFieldsEdit::Fields::CaFileAndFingerprint, QStringLiteral("CA:"));
        edit.caFileEdit()->setText(QStringLiteral(" /etc/ca.pem "));
        edit.fingerprintEdit()->setText(QStringLiteral("AB:CD "));
        edit.saveSettings(settings, QStringLiteral("probe/caFile"),
                          QStringLiteral("probe/acceptedFingerprint"));
        // Without the fingerprint field only the CA file is kept.
        TrustFieldsEdit caOnly(TrustFieldsEdit::Fields::CaFile, QStringLiteral("TLS:"));
        caOnly.caFileEdit()->setText(QStringLiteral("/srv/own.crt"));
        caOnly.saveSettings(settings, QStringLiteral("connect/caCertificatesFile"));
    }
    QSettings settings(file, QSettings::IniFormat);
    QCOMPARE(settings.allKeys(), (QStringList{QStringLiteral("connect/caCertificatesFile"),
                                              QStringLiteral("probe/acceptedFingerprint"),
                                              QStringLiteral("probe/caFile")}));
    QCOMPARE(settings.value(QStringLiteral("probe/caFile")).toString(),
             QStringLiteral("/etc/ca.pem"));
    QCOMPARE(settings.value(QStringLiteral("probe/acceptedFingerprint")).toString(),
             QStringLiteral("AB:CD"));

    TrustFieldsEdit reread(TrustFieldsEdit::Fields::CaFileAndFingerprint, QStringLiteral("CA:"));
    reread.loadSettings(settings, QStringLiteral("probe/caFile"),
                        QStringLiteral("probe/acceptedFingerprint"));
    QCOMPARE(reread.caFileEdit()->text(), QStringLiteral("/etc/ca.pem"));
    QCOMPARE(reread.fingerprintEdit()->text(), QStringLiteral("AB:CD"));
    TrustFieldsEdit caOnly(TrustFieldsEdit::Fields::CaFile, QStringLiteral("TLS:"));
    caOnly.loadSettings(settings, QStringLiteral("connect/caCertificatesFile"));
    QCOMPARE(caOnly.caFileEdit()->text(), QStringLiteral("/srv/own.crt"));
}

QTEST_MAIN(TestTrustFieldsEdit)
#include "tst_trustfieldsedit.moc"

#include "net/tlscertificate.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QStandardPaths>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>

namespace ws {

namespace {

template <auto Free> struct OpenSslDeleter {
    template <typename T> void operator()(T *p) const { Free(p); }
};
using PKeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO_free_all>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION_free>>;

QString openSslError(const char *what) {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    char text[256] = {};
    if (code != 0)
        ERR_error_string_n(code, text, sizeof text);
    return QStringLiteral("%1 failed%2")
        .arg(QLatin1String(what),
             code != 0 ? QStringLiteral(": %1").arg(QLatin1String(text)) : QString());
}

QByteArray bioContents(BIO *bio) {
    char *data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    return QByteArray(data, qsizetype(size));
}

bool addExtension(X509 *certificate, X509V3_CTX *context, int nid, const QByteArray &value) {
    ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, context, nid, value.constData()));
    return extension && X509_add_ext(certificate, extension.get(), -1) == 1;
}

std::optional<CertificateAndKey> fail(QString *error, const QString &why) {
    if (error)
        *error = why;
    return std::nullopt;
}

} // namespace

std::optional<CertificateAndKey> generateCertificate(const CertificateRequest &request,
                                                     const CertificateAndKey *issuer,
                                                     QString *error) {
    PKeyPtr key(EVP_EC_gen("P-256"));
    if (!key)
        return fail(error, openSslError("EVP_EC_gen(P-256)"));
    X509Ptr certificate(X509_new());
    if (!certificate)
        return fail(error, openSslError("X509_new"));
    X509 *x = certificate.get();
    X509_set_version(x, X509_VERSION_3);

    // RFC 5280 §4.1.2.2: a positive serial of at most 20 bytes, unique per issuer.
    unsigned char serialBytes[16];
    if (RAND_bytes(serialBytes, sizeof serialBytes) != 1)
        return fail(error, openSslError("RAND_bytes"));
    serialBytes[0] &= 0x7f;
    BIGNUM *serial = BN_bin2bn(serialBytes, sizeof serialBytes, nullptr);
    const bool serialSet = serial && BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x));
    BN_free(serial);
    if (!serialSet)
        return fail(error, openSslError("setting the serial number"));

    const QDateTime notBefore = request.notBefore.isValid()
                                    ? request.notBefore
                                    : QDateTime::currentDateTimeUtc().addSecs(-60);
    const QDateTime notAfter =
        request.notAfter.isValid() ? request.notAfter : notBefore.addDays(365);
    if (!ASN1_TIME_set(X509_getm_notBefore(x), time_t(notBefore.toSecsSinceEpoch())) ||
        !ASN1_TIME_set(X509_getm_notAfter(x), time_t(notAfter.toSecsSinceEpoch())))
        return fail(error, openSslError("setting the validity"));
    if (X509_set_pubkey(x, key.get()) != 1)
        return fail(error, openSslError("X509_set_pubkey"));

    X509_NAME *subject = X509_get_subject_name(x);
    const QByteArray commonName = request.commonName.toUtf8();
    X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char *>("WebSocket Workbench"), -1,
                               -1, 0);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char *>(commonName.constData()), -1,
                               -1, 0);

    X509Ptr issuerCertificate;
    PKeyPtr issuerKey;
    if (issuer) {
        BioPtr certBio(BIO_new_mem_buf(issuer->certificatePem.constData(),
                                       int(issuer->certificatePem.size())));
        BioPtr keyBio(BIO_new_mem_buf(issuer->keyPem.constData(), int(issuer->keyPem.size())));
        issuerCertificate.reset(PEM_read_bio_X509(certBio.get(), nullptr, nullptr, nullptr));
        issuerKey.reset(PEM_read_bio_PrivateKey(keyBio.get(), nullptr, nullptr, nullptr));
        if (!issuerCertificate || !issuerKey)
            return fail(error, openSslError("reading the issuer's certificate and key"));
    }
    X509 *signer = issuerCertificate ? issuerCertificate.get() : x;
    EVP_PKEY *signingKey = issuerKey ? issuerKey.get() : key.get();
    X509_set_issuer_name(x, X509_get_subject_name(signer));

    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, signer, x, nullptr, nullptr, 0);
    bool extensionsAdded = addExtension(x, &context, NID_subject_key_identifier, "hash") &&
                           addExtension(x, &context, NID_authority_key_identifier, "keyid:always");
    if (request.isCertificateAuthority) {
        extensionsAdded = extensionsAdded &&
                          addExtension(x, &context, NID_basic_constraints, "critical,CA:TRUE") &&
                          addExtension(x, &context, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        QStringList names;
        for (const QString &dns : request.dnsNames)
            names << QStringLiteral("DNS:") + dns;
        for (const QHostAddress &ip : request.ipAddresses)
            names << QStringLiteral("IP:") + ip.toString();
        extensionsAdded =
            extensionsAdded && addExtension(x, &context, NID_basic_constraints, "CA:FALSE") &&
            addExtension(x, &context, NID_key_usage, "critical,digitalSignature") &&
            addExtension(x, &context, NID_ext_key_usage, "serverAuth") &&
            (names.isEmpty() ||
             addExtension(x, &context, NID_subject_alt_name, names.join(u',').toUtf8()));
    }
    if (!extensionsAdded)
        return fail(error, openSslError("adding the certificate extensions"));
    if (X509_sign(x, signingKey, EVP_sha256()) <= 0)
        return fail(error, openSslError("X509_sign"));

    BioPtr certOut(BIO_new(BIO_s_mem()));
    BioPtr keyOut(BIO_new(BIO_s_mem()));
    if (!PEM_write_bio_X509(certOut.get(), x) ||
        !PEM_write_bio_PrivateKey(keyOut.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
        return fail(error, openSslError("writing PEM"));

    CertificateAndKey out;
    out.certificatePem = bioContents(certOut.get());
    out.keyPem = bioContents(keyOut.get());
    out.certificate = QSslCertificate(out.certificatePem, QSsl::Pem);
    out.key = QSslKey(out.keyPem, QSsl::Ec, QSsl::Pem);
    if (out.certificate.isNull() || out.key.isNull())
        return fail(error, QStringLiteral("Qt could not read the generated certificate"));
    return out;
}

std::optional<CertificateAndKey> loadCertificate(const QString &certificateFile,
                                                 const QString &keyFile, QString *error) {
    QFile certFile(certificateFile);
    if (!certFile.open(QIODevice::ReadOnly))
        return fail(error, QStringLiteral("Cannot read the certificate %1: %2")
                               .arg(certificateFile, certFile.errorString()));
    QFile privateKeyFile(keyFile);
    if (!privateKeyFile.open(QIODevice::ReadOnly))
        return fail(error, QStringLiteral("Cannot read the private key %1: %2")
                               .arg(keyFile, privateKeyFile.errorString()));
    CertificateAndKey out;
    out.certificatePem = certFile.readAll();
    out.keyPem = privateKeyFile.readAll();
    const QList<QSslCertificate> chain = QSslCertificate::fromData(out.certificatePem, QSsl::Pem);
    if (chain.isEmpty())
        return fail(error, QStringLiteral("%1 holds no PEM certificate").arg(certificateFile));
    out.certificate = chain.first();
    for (const QSsl::KeyAlgorithm algorithm : {QSsl::Ec, QSsl::Rsa, QSsl::Dsa}) {
        out.key = QSslKey(out.keyPem, algorithm, QSsl::Pem);
        if (!out.key.isNull())
            break;
    }
    if (out.key.isNull())
        return fail(
            error,
            QStringLiteral("%1 holds no unencrypted PEM private key (EC or RSA)").arg(keyFile));
    return out;
}

std::optional<CertificateAndKey> storedCertificate(const QString &directory, const QString &name,
                                                   const CertificateRequest &request,
                                                   QString *error) {
    const QString certPath = directory + u'/' + name + QStringLiteral(".crt");
    const QString keyPath = directory + u'/' + name + QStringLiteral(".key");
    if (QFile::exists(certPath) && QFile::exists(keyPath)) {
        std::optional<CertificateAndKey> existing = loadCertificate(certPath, keyPath);
        if (existing &&
            existing->certificate.expiryDate() > QDateTime::currentDateTimeUtc().addDays(1))
            return existing;
    }
    std::optional<CertificateAndKey> generated = generateCertificate(request, nullptr, error);
    if (!generated)
        return std::nullopt;
    if (!QDir().mkpath(directory))
        return fail(error, QStringLiteral("Cannot create the directory %1").arg(directory));
    QFile keyFile(keyPath);
    // The key is written only after its permissions allow nobody else to read it.
    if (!keyFile.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
        !keyFile.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner) ||
        keyFile.write(generated->keyPem) != generated->keyPem.size())
        return fail(error,
                    QStringLiteral("Cannot write %1: %2").arg(keyPath, keyFile.errorString()));
    keyFile.close();
    QFile certFile(certPath);
    if (!certFile.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
        certFile.write(generated->certificatePem) != generated->certificatePem.size())
        return fail(error,
                    QStringLiteral("Cannot write %1: %2").arg(certPath, certFile.errorString()));
    return generated;
}

namespace {

QString localhostDirectory(const QString &directory) {
    return directory.isEmpty() ? QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) +
                                     QStringLiteral("/tls")
                               : directory;
}

} // namespace

std::optional<CertificateAndKey> localhostCertificate(const QString &directory, QString *error) {
    return storedCertificate(localhostDirectory(directory), QStringLiteral("localhost"), {}, error);
}

QString localhostCertificateFile(const QString &directory) {
    return localhostDirectory(directory) + QStringLiteral("/localhost.crt");
}

QString sha256Fingerprint(const QSslCertificate &certificate) {
    const QByteArray digest = certificate.digest(QCryptographicHash::Sha256).toHex().toUpper();
    QStringList pairs;
    for (qsizetype i = 0; i + 1 < digest.size(); i += 2)
        pairs << QString::fromLatin1(digest.mid(i, 2));
    return pairs.join(u':');
}

QByteArray subjectPublicKeyInfoSha256(const QSslCertificate &certificate) {
    const QByteArray der = certificate.toDer();
    const auto *bytes = reinterpret_cast<const unsigned char *>(der.constData());
    X509Ptr x509(d2i_X509(nullptr, &bytes, long(der.size())));
    if (!x509)
        return {};
    unsigned char *spki = nullptr;
    const int size = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x509.get()), &spki);
    if (size <= 0)
        return {};
    const QByteArray digest = QCryptographicHash::hash(
        QByteArrayView(reinterpret_cast<const char *>(spki), size), QCryptographicHash::Sha256);
    OPENSSL_free(spki);
    return digest;
}

bool acceptedByFingerprint(const QSslCertificate &presented, const QList<QSslError> &errors,
                           const QByteArray &fingerprint) {
    if (fingerprint.isEmpty() || presented.isNull() ||
        presented.digest(QCryptographicHash::Sha256) != fingerprint)
        return false;
    // The user vouched for exactly this certificate: only its own errors go.
    return std::all_of(errors.begin(), errors.end(), [&](const QSslError &error) {
        return error.certificate().isNull() || error.certificate() == presented;
    });
}

QByteArray parseFingerprint(const QString &text) {
    QString hex = text.trimmed();
    hex.remove(u':');
    if (hex.size() != 64)
        return {};
    for (const QChar ch : hex) {
        if (!ch.isDigit() && !(ch.toLower() >= u'a' && ch.toLower() <= u'f'))
            return {};
    }
    return QByteArray::fromHex(hex.toLatin1());
}

} // namespace ws

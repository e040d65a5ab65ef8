#pragma once

#include <QByteArray>
#include <QDateTime>
#include <QHostAddress>
#include <QList>
#include <QSslCertificate>
#include <QSslError>
#include <QSslKey>
#include <QString>
#include <QStringList>

#include <optional>

namespace ws {

// A certificate and its private key, also as PEM (what goes into files).
struct CertificateAndKey {
    QSslCertificate certificate;
    QSslKey key;
    QByteArray certificatePem;
    QByteArray keyPem;
};

// What a generated certificate says. The defaults describe a server certificate for
// this machine's loopback names, valid for a year from now.
struct CertificateRequest {
    QString commonName = QStringLiteral("localhost");
    // RFC 6125 §6.4: clients match the subjectAltName entries, not the common name.
    QStringList dnsNames = {QStringLiteral("localhost")};
    QList<QHostAddress> ipAddresses = {QHostAddress(QHostAddress::LocalHost),
                                       QHostAddress(QHostAddress::LocalHostIPv6)};
    QDateTime notBefore; // invalid: now minus a minute (clock skew)
    QDateTime notAfter;  // invalid: notBefore plus 365 days
    bool isCertificateAuthority = false;
};

// Generates an EC P-256 key and an X.509 v3 certificate for it with OpenSSL: signed
// by `issuer` (a certificate authority made by this function), or self-signed when
// there is none. nullopt with the reason in `error` when OpenSSL fails.
std::optional<CertificateAndKey> generateCertificate(const CertificateRequest &request,
                                                     const CertificateAndKey *issuer = nullptr,
                                                     QString *error = nullptr);

// The self-signed localhost certificate of `wsw serve --tls`: read from
// `directory` (localhost.crt and localhost.key), or generated and written there
// (the key readable by its owner only) when missing, unreadable or expiring
// within a day. An empty directory means QStandardPaths::AppDataLocation + "/tls".
std::optional<CertificateAndKey> localhostCertificate(const QString &directory = {},
                                                      QString *error = nullptr);
// The certificate file localhostCertificate(directory) reads and writes (the key is
// beside it, localhost.key), so that a user can hand it to a client to trust.
QString localhostCertificateFile(const QString &directory = {});

// Reads `name`.crt and `name`.key from `directory`, or generates a self-signed
// certificate from `request` and writes both there (the directory made if need be,
// the key readable by its owner only) when they are missing, unreadable or expire
// within a day.
std::optional<CertificateAndKey> storedCertificate(const QString &directory, const QString &name,
                                                   const CertificateRequest &request,
                                                   QString *error = nullptr);

// Reads a PEM certificate (the first of the file) and its PEM private key.
std::optional<CertificateAndKey> loadCertificate(const QString &certificateFile,
                                                 const QString &keyFile, QString *error = nullptr);

// SHA-256 of the DER certificate as upper-case hex pairs joined by colons
// ("AB:CD:..."), the form browsers and `openssl x509 -fingerprint` show.
QString sha256Fingerprint(const QSslCertificate &certificate);
// SHA-256 of the certificate's DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7): the pin
// of RFC 7469 §2.4, which Chromium's --ignore-certificate-errors-spki-list takes in
// base64. Empty if the certificate cannot be read.
QByteArray subjectPublicKeyInfoSha256(const QSslCertificate &certificate);
// Whether every one of `errors` is about `presented` (or no certificate) and
// `presented` has the SHA-256 `fingerprint` the user gave to accept: then the
// errors may be ignored. False when `fingerprint` is empty.
bool acceptedByFingerprint(const QSslCertificate &presented, const QList<QSslError> &errors,
                           const QByteArray &fingerprint);
// Parses a fingerprint written with or without colons (any case); empty if it is
// not 32 bytes of hex.
QByteArray parseFingerprint(const QString &text);

} // namespace ws

#pragma once

#include "net/tlscertificate.h"

#include <QHash>
#include <QString>

#include <optional>

namespace ws {

// The local certificate authority of the relay's proxy mode: generated once and kept
// in a directory (ca.crt, and ca.key readable by its owner only), it signs on the fly
// a certificate for every host whose TLS the proxy terminates. A browser that trusts
// it (imported, or pinned with --ignore-certificate-errors-spki-list) accepts those.
class CertificateAuthority {
public:
    // Reads the authority from `directory`, or generates and writes it there when it
    // is missing, unreadable or expires within a day. An empty directory means
    // defaultDirectory(). nullopt with the reason in `error` when that fails.
    static std::optional<CertificateAuthority> open(const QString &directory = {},
                                                    QString *error = nullptr);
    // QStandardPaths::AppDataLocation + "/ca".
    static QString defaultDirectory();

    const QString &directory() const { return m_directory; }
    QString certificateFile() const;
    QString keyFile() const;
    const CertificateAndKey &identity() const { return m_identity; }

    // A server certificate for `host` (a name, or an address: RFC 6125 §6.4 matches it
    // in the subjectAltName) signed by this authority; made once per host and then
    // kept in memory.
    std::optional<CertificateAndKey> certificateFor(const QString &host, QString *error = nullptr);

private:
    CertificateAuthority(QString directory, CertificateAndKey identity);

    QString m_directory;
    CertificateAndKey m_identity;
    QHash<QString, CertificateAndKey> m_issued;
};

// What `wsw relay --ca-info` prints and the window shows: where the authority is,
// its certificate's SHA-256 fingerprint and the base64 SHA-256 of its public key
// (the pin Chromium's --ignore-certificate-errors-spki-list takes).
struct CertificateAuthorityInfo {
    QString directory;
    QString certificateFile;
    QString fingerprint; // "AB:CD:..."
    QString spkiSha256Base64;
};
CertificateAuthorityInfo certificateAuthorityInfo(const CertificateAuthority &authority);

// Writes the authority's certificate (PEM, never its key) to `file`; false with the
// reason in `error` when it cannot.
bool exportCertificateAuthority(const CertificateAuthority &authority, const QString &file,
                                QString *error = nullptr);

// How to make a browser trust the exported certificate, a few lines of text.
QString certificateAuthorityTrustSteps(const QString &file);

} // namespace ws

#include "net/certificateauthority.h"

#include <QFile>
#include <QStandardPaths>

#include <algorithm>

namespace ws {

namespace {

constexpr auto AuthorityName = "ca";

} // namespace

CertificateAuthority::CertificateAuthority(QString directory, CertificateAndKey identity)
    : m_directory(std::move(directory))
    , m_identity(std::move(identity)) {}

QString CertificateAuthority::defaultDirectory() {
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) +
           QStringLiteral("/ca");
}

std::optional<CertificateAuthority> CertificateAuthority::open(const QString &directory,
                                                               QString *error) {
    const QString dir = directory.isEmpty() ? defaultDirectory() : directory;
    CertificateRequest request;
    request.commonName = QStringLiteral("WebSocket Workbench local CA");
    request.dnsNames.clear();
    request.ipAddresses.clear();
    request.isCertificateAuthority = true;
    request.notAfter = QDateTime::currentDateTimeUtc().addYears(10);
    std::optional<CertificateAndKey> identity =
        storedCertificate(dir, QLatin1StringView(AuthorityName), request, error);
    if (!identity)
        return std::nullopt;
    return CertificateAuthority(dir, std::move(*identity));
}

QString CertificateAuthority::certificateFile() const {
    return m_directory + u'/' + QLatin1StringView(AuthorityName) + QStringLiteral(".crt");
}

QString CertificateAuthority::keyFile() const {
    return m_directory + u'/' + QLatin1StringView(AuthorityName) + QStringLiteral(".key");
}

std::optional<CertificateAndKey> CertificateAuthority::certificateFor(const QString &host,
                                                                      QString *error) {
    const QString key = host.toLower();
    if (const auto it = m_issued.constFind(key); it != m_issued.constEnd())
        return *it;
    CertificateRequest request;
    request.commonName = host;
    const QHostAddress address(host);
    if (address.isNull()) {
        request.dnsNames = {key};
        request.ipAddresses.clear();
    } else {
        request.dnsNames.clear();
        request.ipAddresses = {address};
    }
    // Browsers refuse server certificates valid for more than 398 days; and none may
    // outlive the authority that signed it.
    request.notAfter =
        std::min(QDateTime::currentDateTimeUtc().addDays(365), m_identity.certificate.expiryDate());
    std::optional<CertificateAndKey> issued = generateCertificate(request, &m_identity, error);
    if (issued)
        m_issued.insert(key, *issued);
    return issued;
}

CertificateAuthorityInfo certificateAuthorityInfo(const CertificateAuthority &authority) {
    return {authority.directory(), authority.certificateFile(),
            sha256Fingerprint(authority.identity().certificate),
            QString::fromLatin1(
                subjectPublicKeyInfoSha256(authority.identity().certificate).toBase64())};
}

bool exportCertificateAuthority(const CertificateAuthority &authority, const QString &file,
                                QString *error) {
    QFile out(file);
    const QByteArray &pem = authority.identity().certificatePem;
    if (out.open(QIODevice::WriteOnly | QIODevice::Truncate) && out.write(pem) == pem.size() &&
        out.flush())
        return true;
    if (error)
        *error = QStringLiteral("Cannot write %1: %2").arg(file, out.errorString());
    return false;
}

QString certificateAuthorityTrustSteps(const QString &file) {
    return QStringLiteral(
               "To let a browser accept the certificates the relay's proxy makes, trust %1 "
               "as a certificate authority:\n"
               "  Chromium/Chrome: Settings > Privacy and security > Security > Manage "
               "certificates > Authorities > Import, choose the file, tick \"Trust this "
               "certificate for identifying websites\".\n"
               "  Firefox: Settings > Privacy & Security > Certificates > View Certificates > "
               "Authorities > Import, tick \"Trust this CA to identify websites\".\n"
               "  Or, for a throw-away Chromium profile: --ignore-certificate-errors-spki-list="
               "SPKI (the value above) with --user-data-dir.\n"
               "Remove it again when you are done: whoever has its key can impersonate any "
               "site to that browser.")
        .arg(file);
}

} // namespace ws

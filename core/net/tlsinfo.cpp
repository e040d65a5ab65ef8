#include "net/tlsinfo.h"

#include "net/tlscertificate.h"

#include <QSslCipher>
#include <QSslSocket>

namespace ws {

namespace {

QString protocolName(QSsl::SslProtocol protocol) {
    switch (protocol) {
    case QSsl::TlsV1_2:
        return QStringLiteral("TLSv1.2");
    case QSsl::TlsV1_3:
        return QStringLiteral("TLSv1.3");
    default:
        return QStringLiteral("unknown");
    }
}

} // namespace

const char *verifiedByName(TlsInfo::VerifiedBy verifiedBy) {
    switch (verifiedBy) {
    case TlsInfo::VerifiedBy::System:
        return "system";
    case TlsInfo::VerifiedBy::CaFile:
        return "ca-file";
    case TlsInfo::VerifiedBy::Fingerprint:
        return "fingerprint";
    }
    return "system";
}

TlsInfo tlsInfo(const QSslSocket &socket, TlsInfo::VerifiedBy verifiedBy) {
    TlsInfo info;
    info.protocol = protocolName(socket.sessionProtocol());
    info.cipher = socket.sessionCipher().name();
    info.verifiedBy = verifiedBy;
    QList<QSslCertificate> chain = socket.peerCertificateChain();
    if (chain.isEmpty() && !socket.peerCertificate().isNull())
        chain.append(socket.peerCertificate());
    for (const QSslCertificate &certificate : chain) {
        TlsCertificateInfo entry;
        entry.subject = certificate.subjectDisplayName();
        entry.issuer = certificate.issuerDisplayName();
        entry.notBefore = certificate.effectiveDate();
        entry.notAfter = certificate.expiryDate();
        entry.sha256 = sha256Fingerprint(certificate);
        info.chain.append(entry);
    }
    return info;
}

} // namespace ws

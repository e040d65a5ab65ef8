#pragma once

#include <QDateTime>
#include <QList>
#include <QMetaType>
#include <QString>

class QSslSocket;

namespace ws {

// One certificate of the chain a TLS peer presented.
struct TlsCertificateInfo {
    QString subject;
    QString issuer;
    QDateTime notBefore;
    QDateTime notAfter;
    QString sha256; // "AB:CD:..."
};

// What a client learnt once the TLS handshake was done.
struct TlsInfo {
    // Why we trust the server: the system's certificate store, the CA file the user
    // gave, or the one certificate the user accepted by its SHA-256 fingerprint.
    enum class VerifiedBy { System, CaFile, Fingerprint };
    QString protocol;                // "TLSv1.3"
    QString cipher;                  // "TLS_AES_256_GCM_SHA384"
    QList<TlsCertificateInfo> chain; // the server's certificate first
    VerifiedBy verifiedBy = VerifiedBy::System;
};

const char *verifiedByName(TlsInfo::VerifiedBy verifiedBy);

// The negotiated parameters of an encrypted socket.
TlsInfo tlsInfo(const QSslSocket &socket, TlsInfo::VerifiedBy verifiedBy);

} // namespace ws

Q_DECLARE_METATYPE(ws::TlsInfo)

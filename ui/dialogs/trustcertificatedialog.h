#pragma once

#include <QDialog>
#include <QList>
#include <QSslCertificate>

class QLabel;
class QLineEdit;
class QPushButton;

namespace ws {

// Shows the certificate a wss server presented that could not be verified (why, its
// subject, issuer, validity and SHA-256 fingerprint) and asks whether to trust
// exactly this certificate. Accepting trusts nothing else: the reconnection passes
// the fingerprint (ClientOptions::acceptedFingerprint), and any other certificate
// still fails.
class TrustCertificateDialog : public QDialog {
    Q_OBJECT
public:
    TrustCertificateDialog(const QList<QSslCertificate> &chain, const QString &reason,
                           QWidget *parent = nullptr);

    // The SHA-256 of the server's certificate (32 bytes).
    QByteArray fingerprint() const;
    QString fingerprintText() const;
    QString subjectText() const;

    QLineEdit *fingerprintEdit() const { return m_fingerprint; }
    QLabel *subjectLabel() const { return m_subject; }
    QPushButton *trustButton() const { return m_trust; }

private:
    QSslCertificate m_certificate;
    QLabel *m_subject;
    QLineEdit *m_fingerprint;
    QPushButton *m_trust;
};

} // namespace ws

#include "trustcertificatedialog.h"

#include "net/tlscertificate.h"

#include <QCryptographicHash>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace ws {

namespace {

QString dateText(const QDateTime &when) {
    return when.toUTC().toString(QStringLiteral("yyyy-MM-dd hh:mm:ss 'UTC'"));
}

QLabel *selectableLabel(const QString &text, QWidget *parent) {
    auto *label = new QLabel(text, parent);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label->setWordWrap(true);
    return label;
}

} // namespace

TrustCertificateDialog::TrustCertificateDialog(const QList<QSslCertificate> &chain,
                                               const QString &reason, QWidget *parent)
    : QDialog(parent)
    , m_certificate(chain.isEmpty() ? QSslCertificate() : chain.constFirst())
    , m_subject(selectableLabel(m_certificate.subjectDisplayName(), this))
    , m_fingerprint(new QLineEdit(sha256Fingerprint(m_certificate), this)) {
    setWindowTitle(tr("Trust this certificate?"));
    setObjectName(QStringLiteral("trustCertificateDialog"));

    auto *why = selectableLabel(reason, this);
    why->setStyleSheet(QStringLiteral("color: #c62828;"));
    m_subject->setObjectName(QStringLiteral("certificateSubject"));
    m_fingerprint->setObjectName(QStringLiteral("certificateFingerprint"));
    m_fingerprint->setReadOnly(true);
    m_fingerprint->setMinimumWidth(
        m_fingerprint->fontMetrics().horizontalAdvance(m_fingerprint->text()) + 16);
    const QString alternatives =
        m_certificate.subjectAlternativeNames().values().join(QStringLiteral(", "));
    auto *advice = selectableLabel(
        tr("Compare the SHA-256 fingerprint with the one the server's owner gives you (for a "
           "workbench server: its Server panel; for others: <tt>openssl x509 -noout "
           "-fingerprint -sha256 -in CERT</tt>). Trusting reconnects and accepts exactly this "
           "certificate, for this connection only; any other certificate is still refused."),
        this);
    advice->setTextFormat(Qt::RichText);

    auto *form = new QFormLayout;
    form->addRow(tr("Subject:"), m_subject);
    if (!alternatives.isEmpty())
        form->addRow(tr("Names:"), selectableLabel(alternatives, this));
    form->addRow(tr("Issuer:"), selectableLabel(m_certificate.issuerDisplayName(), this));
    form->addRow(tr("Valid:"), selectableLabel(tr("%1 to %2")
                                                   .arg(dateText(m_certificate.effectiveDate()),
                                                        dateText(m_certificate.expiryDate())),
                                               this));
    form->addRow(tr("SHA-256:"), m_fingerprint);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    m_trust = buttons->addButton(tr("Trust this certificate and reconnect"),
                                 QDialogButtonBox::AcceptRole);
    m_trust->setEnabled(!m_certificate.isNull());
    // Trusting is never the default: Enter must not vouch for a certificate.
    buttons->button(QDialogButtonBox::Cancel)->setDefault(true);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(why);
    layout->addLayout(form);
    layout->addWidget(advice);
    layout->addWidget(buttons);
}

QByteArray TrustCertificateDialog::fingerprint() const {
    return m_certificate.isNull() ? QByteArray() : m_certificate.digest(QCryptographicHash::Sha256);
}

QString TrustCertificateDialog::fingerprintText() const {
    return m_fingerprint->text();
}

QString TrustCertificateDialog::subjectText() const {
    return m_subject->text();
}

} // namespace ws

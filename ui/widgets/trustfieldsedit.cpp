#include "trustfieldsedit.h"

#include "net/tlscertificate.h"

#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QSettings>
#include <QSslCertificate>
#include <QToolButton>

namespace ws {

TrustFieldsEdit::TrustFieldsEdit(Fields fields, const QString &caFileLabel,
                                 const QString &objectNamePrefix, QWidget *parent)
    : QWidget(parent)
    , m_caFileLabel(caFileLabel)
    , m_caFile(new QLineEdit(this))
    , m_caBrowse(new QToolButton(this))
    , m_form(new QFormLayout(this)) {
    if (!objectNamePrefix.isEmpty())
        m_caFile->setObjectName(objectNamePrefix + QStringLiteral("CaFile"));
    m_caFile->setPlaceholderText(tr("none: the system's certificate store"));
    m_caFile->setToolTip(tr("wss: a PEM file of certificate authorities (or the server's own "
                            "certificate) trusted besides the system's"));
    m_caFile->setClearButtonEnabled(true);
    m_caBrowse->setText(tr("\u2026"));
    m_caBrowse->setToolTip(tr("Choose the CA file"));
    connect(m_caBrowse, &QToolButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(
            this, tr("Trust an extra CA / certificate file"), m_caFile->text(),
            tr("PEM certificates (*.pem *.crt *.cer);;All files (*)"));
        if (!file.isEmpty())
            m_caFile->setText(file);
    });
    auto *caRow = new QHBoxLayout;
    caRow->addWidget(m_caFile, 1);
    caRow->addWidget(m_caBrowse);
    m_form->setContentsMargins(0, 0, 0, 0);
    m_form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    m_form->addRow(caFileLabel, caRow);
    if (fields == Fields::CaFileAndFingerprint) {
        m_fingerprint = new QLineEdit(this);
        if (!objectNamePrefix.isEmpty())
            m_fingerprint->setObjectName(objectNamePrefix + QStringLiteral("Fingerprint"));
        m_fingerprint->setPlaceholderText(tr("SHA-256 of a certificate to accept (AB:CD:\u2026)"));
        m_fingerprint->setToolTip(tr("wss: accept exactly this certificate although it cannot "
                                     "be verified (a self-signed test server)"));
        m_fingerprint->setClearButtonEnabled(true);
        m_form->addRow(tr("Accept cert:"), m_fingerprint);
    }
}

QString TrustFieldsEdit::caFile() const {
    return m_caFile->text().trimmed();
}

QString TrustFieldsEdit::fingerprint() const {
    return m_fingerprint ? m_fingerprint->text().trimmed() : QString();
}

QByteArray TrustFieldsEdit::acceptedFingerprint() const {
    const QString text = fingerprint();
    return text.isEmpty() ? QByteArray() : parseFingerprint(text);
}

QStringList TrustFieldsEdit::problems() const {
    QStringList problems;
    const QString file = caFile();
    if (!file.isEmpty() && QSslCertificate::fromPath(file, QSsl::Pem).isEmpty())
        problems.append(tr("%1 no PEM certificate in %2").arg(m_caFileLabel, file));
    if (!fingerprint().isEmpty() && acceptedFingerprint().isEmpty())
        problems.append(tr("Accept cert: a SHA-256 fingerprint is 32 hex bytes, with or without "
                           "colons"));
    return problems;
}

void TrustFieldsEdit::loadSettings(const QSettings &settings, const QString &caFileKey,
                                   const QString &fingerprintKey) {
    m_caFile->setText(settings.value(caFileKey).toString());
    if (m_fingerprint && !fingerprintKey.isEmpty())
        m_fingerprint->setText(settings.value(fingerprintKey).toString());
}

void TrustFieldsEdit::saveSettings(QSettings &settings, const QString &caFileKey,
                                   const QString &fingerprintKey) const {
    settings.setValue(caFileKey, caFile());
    if (m_fingerprint && !fingerprintKey.isEmpty())
        settings.setValue(fingerprintKey, fingerprint());
}

} // namespace ws

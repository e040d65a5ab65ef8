#include "listeningtlsedit.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QSettings>
#include <QSslCertificate>
#include <QToolButton>

namespace ws {

namespace {

// Settings values: words, so that a settings file stays readable.
QString choiceName(ListeningTlsEdit::Choice choice) {
    switch (choice) {
    case ListeningTlsEdit::Choice::Generated:
        return QStringLiteral("generated");
    case ListeningTlsEdit::Choice::Own:
        return QStringLiteral("own");
    case ListeningTlsEdit::Choice::Off:
        break;
    }
    return QStringLiteral("off");
}

// A file name field with a button that opens a file dialog for it, as one row of
// the form.
QWidget *fileRow(QLineEdit *edit, QToolButton *browse, const QString &title, const QString &filter,
                 QWidget *parent) {
    browse->setText(QStringLiteral("\u2026"));
    browse->setToolTip(ListeningTlsEdit::tr("Choose the file: %1").arg(title));
    QObject::connect(browse, &QToolButton::clicked, parent, [=] {
        const QString file = QFileDialog::getOpenFileName(parent, title, edit->text(), filter);
        if (!file.isEmpty())
            edit->setText(file);
    });
    auto *row = new QWidget(parent);
    auto *layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(edit, 1);
    layout->addWidget(browse);
    return row;
}

} // namespace

ListeningTlsEdit::ListeningTlsEdit(QWidget *parent)
    : QWidget(parent)
    , m_choice(new QComboBox(this))
    , m_certificateFile(new QLineEdit(this))
    , m_certificateBrowse(new QToolButton(this))
    , m_keyFile(new QLineEdit(this))
    , m_keyBrowse(new QToolButton(this))
    , m_fingerprint(new QLineEdit(this))
    , m_form(new QFormLayout(this)) {
    m_choice->setObjectName(QStringLiteral("listeningTls"));
    m_choice->addItem(tr("Off (ws://)"), int(Choice::Off));
    m_choice->addItem(tr("Generated localhost certificate (wss://)"), int(Choice::Generated));
    m_choice->addItem(tr("My certificate and key (wss://)"), int(Choice::Own));
    m_choice->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_choice->setMinimumContentsLength(16);
    m_choice->setToolTip(
        tr("The generated certificate is an EC P-256 certificate for localhost, 127.0.0.1 and "
           "::1, made once and kept in the application's data folder: the one `wsw serve "
           "--tls` and `wsw relay --tls` use, so a client that trusts it trusts them all."));
    m_certificateFile->setObjectName(QStringLiteral("listeningTlsCertificate"));
    m_certificateFile->setPlaceholderText(tr("certificate (PEM)"));
    m_keyFile->setObjectName(QStringLiteral("listeningTlsKey"));
    m_keyFile->setPlaceholderText(tr("private key (PEM, unencrypted)"));
    m_fingerprint->setObjectName(QStringLiteral("listeningTlsFingerprint"));
    m_fingerprint->setReadOnly(true);
    m_certificateRow = fileRow(m_certificateFile, m_certificateBrowse, tr("Certificate"),
                               tr("PEM certificates (*.pem *.crt *.cer);;All files (*)"), this);
    m_keyRow = fileRow(m_keyFile, m_keyBrowse, tr("Private key"),
                       tr("PEM keys (*.pem *.key);;All files (*)"), this);
    m_form->setContentsMargins(0, 0, 0, 0);
    m_form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    m_form->addRow(tr("TLS:"), m_choice);
    m_form->addRow(tr("Certificate:"), m_certificateRow);
    m_form->addRow(tr("Key:"), m_keyRow);
    m_form->addRow(tr("SHA-256:"), m_fingerprint);
    connect(m_choice, &QComboBox::currentIndexChanged, this, [this] {
        update();
        emit choiceChanged();
    });
    connect(m_certificateFile, &QLineEdit::textChanged, this, &ListeningTlsEdit::update);
    update();
}

ListeningTlsEdit::Choice ListeningTlsEdit::choice() const {
    return Choice(m_choice->currentData().toInt());
}

void ListeningTlsEdit::setChoice(Choice choice) {
    m_choice->setCurrentIndex(m_choice->findData(int(choice)));
}

std::optional<CertificateAndKey> ListeningTlsEdit::identity(QString *error) const {
    QString why;
    std::optional<CertificateAndKey> identity;
    switch (choice()) {
    case Choice::Off:
        break;
    case Choice::Generated:
        identity = localhostCertificate({}, &why);
        break;
    case Choice::Own:
        identity =
            loadCertificate(m_certificateFile->text().trimmed(), m_keyFile->text().trimmed(), &why);
        break;
    }
    if (error)
        *error = why;
    return identity;
}

QString ListeningTlsEdit::certificateFile() const {
    switch (choice()) {
    case Choice::Generated:
        return localhostCertificateFile();
    case Choice::Own:
        return m_certificateFile->text().trimmed();
    case Choice::Off:
        break;
    }
    return {};
}

void ListeningTlsEdit::setEditable(bool editable) {
    for (QWidget *widget : std::initializer_list<QWidget *>{
             m_choice, m_certificateFile, m_certificateBrowse, m_keyFile, m_keyBrowse})
        widget->setEnabled(editable);
}

void ListeningTlsEdit::loadSettings(const QSettings &settings, const QString &prefix) {
    m_certificateFile->setText(
        settings.value(prefix + QStringLiteral("tlsCertificateFile")).toString());
    m_keyFile->setText(settings.value(prefix + QStringLiteral("tlsKeyFile")).toString());
    const QString name = settings.value(prefix + QStringLiteral("tls")).toString();
    Choice chosen = Choice::Off;
    for (const Choice choice : {Choice::Generated, Choice::Own})
        if (name == choiceName(choice))
            chosen = choice;
    setChoice(chosen);
}

void ListeningTlsEdit::saveSettings(QSettings &settings, const QString &prefix) const {
    settings.setValue(prefix + QStringLiteral("tls"), choiceName(choice()));
    settings.setValue(prefix + QStringLiteral("tlsCertificateFile"),
                      m_certificateFile->text().trimmed());
    settings.setValue(prefix + QStringLiteral("tlsKeyFile"), m_keyFile->text().trimmed());
}

void ListeningTlsEdit::update() {
    const Choice chosen = choice();
    // The file rows take room only when the user's own files are chosen.
    m_form->setRowVisible(m_certificateRow, chosen == Choice::Own);
    m_form->setRowVisible(m_keyRow, chosen == Choice::Own);
    m_form->setRowVisible(m_fingerprint, chosen != Choice::Off);
    QString fingerprint;
    QString why;
    if (chosen == Choice::Generated) {
        // Made now when missing: its fingerprint can be handed out before the start.
        if (const std::optional<CertificateAndKey> generated = localhostCertificate({}, &why))
            fingerprint = sha256Fingerprint(generated->certificate);
    } else if (chosen == Choice::Own) {
        const QString file = m_certificateFile->text().trimmed();
        const QList<QSslCertificate> certificates =
            file.isEmpty() ? QList<QSslCertificate>() : QSslCertificate::fromPath(file, QSsl::Pem);
        if (!certificates.isEmpty())
            fingerprint = sha256Fingerprint(certificates.constFirst());
    }
    m_fingerprint->setText(fingerprint);
    m_fingerprint->setCursorPosition(0);
    m_fingerprint->setPlaceholderText(why.isEmpty() ? tr("SHA-256 fingerprint of the certificate")
                                                    : why);
    m_fingerprint->setToolTip(tr("The certificate %1. Give its fingerprint to a client so "
                                 "that it trusts exactly this certificate (wsw connect "
                                 "--accept-fingerprint), or the file (--ca).")
                                  .arg(certificateFile()));
}

} // namespace ws

#pragma once

#include "net/tlscertificate.h"

#include <QWidget>

#include <optional>

class QComboBox;
class QFormLayout;
class QLineEdit;
class QSettings;
class QToolButton;

namespace ws {

// How a listening socket speaks TLS, as a form: not at all (ws://), with the
// self-signed localhost certificate `wsw serve --tls` and `wsw relay --tls` use
// (made once, kept in the application data folder: a client that trusts it once
// trusts every listener that uses it), or with the user's certificate and key files.
// The chosen certificate's SHA-256 fingerprint is shown, to be handed to a client.
class ListeningTlsEdit : public QWidget {
    Q_OBJECT
public:
    enum class Choice { Off, Generated, Own };

    explicit ListeningTlsEdit(QWidget *parent = nullptr);

    Choice choice() const;
    void setChoice(Choice choice);
    // The certificate and key to listen with; nullopt when TLS is off, or when the
    // chosen certificate cannot be had (the reason then in `error`).
    std::optional<CertificateAndKey> identity(QString *error = nullptr) const;
    // The chosen certificate's file (the generated one's or the user's); empty when off.
    QString certificateFile() const;
    // Whether the choice and the files can be changed (not while the listener runs); the
    // fingerprint stays selectable, to be copied.
    void setEditable(bool editable);

    // Settings under `prefix` ("relay/"): tls, tlsCertificateFile, tlsKeyFile.
    void loadSettings(const QSettings &settings, const QString &prefix);
    void saveSettings(QSettings &settings, const QString &prefix) const;

    // The widgets, for tests.
    QComboBox *choiceCombo() const { return m_choice; }
    QLineEdit *certificateFileEdit() const { return m_certificateFile; }
    QLineEdit *keyFileEdit() const { return m_keyFile; }
    QLineEdit *fingerprintEdit() const { return m_fingerprint; }

signals:
    void choiceChanged();

private:
    void update();

    QComboBox *m_choice;
    QLineEdit *m_certificateFile;
    QToolButton *m_certificateBrowse;
    QLineEdit *m_keyFile;
    QToolButton *m_keyBrowse;
    QLineEdit *m_fingerprint;
    QFormLayout *m_form;
    QWidget *m_certificateRow;
    QWidget *m_keyRow;
};

} // namespace ws

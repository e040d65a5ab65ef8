#pragma once

#include <QStringList>
#include <QWidget>

class QFormLayout;
class QLineEdit;
class QSettings;
class QToolButton;

namespace ws {

// What a wss:// client trusts besides the system's certificate store, as a form: a
// PEM file of certificate authorities (or the server's own certificate) with a
// button to choose it, and, where the caller asks for it, the SHA-256 fingerprint of
// one certificate accepted although it cannot be verified (a self-signed test
// server). The Probe panel, the Relay panel's upstream leg and the new-connection
// dialog each hold one.
class TrustFieldsEdit : public QWidget {
    Q_OBJECT
public:
    enum class Fields { CaFile, CaFileAndFingerprint };

    // `caFileLabel` names the CA file's row ("CA file:") and starts what problems()
    // says of it; `objectNamePrefix` ("probe") names the fields "probeCaFile" and
    // "probeFingerprint".
    TrustFieldsEdit(Fields fields, const QString &caFileLabel, const QString &objectNamePrefix = {},
                    QWidget *parent = nullptr);

    // The fields' text, trimmed.
    QString caFile() const;
    QString fingerprint() const;
    // The accepted fingerprint's 32 bytes; empty when none is given or it is not one.
    QByteArray acceptedFingerprint() const;
    // What keeps the fields from being used, in words, each led by its row's label: a
    // CA file without a PEM certificate, a fingerprint that is not 32 hex bytes.
    // Empty when both are usable (or empty).
    QStringList problems() const;

    // The fields from and to `caFileKey` and `fingerprintKey` (unused without the
    // fingerprint field).
    void loadSettings(const QSettings &settings, const QString &caFileKey,
                      const QString &fingerprintKey = {});
    void saveSettings(QSettings &settings, const QString &caFileKey,
                      const QString &fingerprintKey = {}) const;

    // The widgets, for tests and for tooltips that name the caller's command-line
    // equivalent. fingerprintEdit() is null without the fingerprint field.
    QLineEdit *caFileEdit() const { return m_caFile; }
    QToolButton *caFileButton() const { return m_caBrowse; }
    QLineEdit *fingerprintEdit() const { return m_fingerprint; }

private:
    QString m_caFileLabel;
    QLineEdit *m_caFile;
    QToolButton *m_caBrowse;
    QLineEdit *m_fingerprint = nullptr;
    QFormLayout *m_form;
};

} // namespace ws

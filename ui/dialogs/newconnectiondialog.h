#pragma once

#include "net/clientconnection.h"
#include "widgets/trustfieldsedit.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QToolButton;

namespace ws {

// Where to connect and how: the URL (with the recently used ones), extra request
// headers, Origin, subprotocols, the pong policy and how strictly to judge the
// server; for wss:// an extra CA or certificate file to trust; whether to offer
// permessage-deflate (RFC 7692) and with which parameters. Remembers what was used
// last (QSettings).
class NewConnectionDialog : public QDialog {
    Q_OBJECT
public:
    static constexpr int MaxRecentUrls = 15;

    explicit NewConnectionDialog(QWidget *parent = nullptr);

    // What the user chose; valid after accept.
    ClientOptions options() const;
    // Empty when the form can be accepted, else what is wrong, in words.
    QString validationError() const;

    void setUrl(const QString &url);
    void addHeader(const QString &name, const QString &value);

    // The widgets, for tests.
    QComboBox *urlCombo() const { return m_url; }
    QLineEdit *originEdit() const { return m_origin; }
    QLineEdit *subprotocolsEdit() const { return m_subprotocols; }
    QTableWidget *headersTable() const { return m_headers; }
    QComboBox *pongPolicyCombo() const { return m_pongPolicy; }
    QSpinBox *pongDelaySpin() const { return m_pongDelay; }
    QComboBox *conformanceCombo() const { return m_conformance; }
    QLineEdit *caFileEdit() const { return m_trust->caFileEdit(); }
    QToolButton *caFileButton() const { return m_trust->caFileButton(); }
    QCheckBox *deflateCheck() const { return m_deflate; }
    QSpinBox *clientWindowBitsSpin() const { return m_clientWindowBits; }
    QSpinBox *serverWindowBitsSpin() const { return m_serverWindowBits; }
    QCheckBox *clientNoContextTakeoverCheck() const { return m_clientNoContext; }
    QCheckBox *serverNoContextTakeoverCheck() const { return m_serverNoContext; }
    QLabel *messageLabel() const { return m_message; }
    QPushButton *connectButton() const { return m_connect; }

    // The recent URLs as remembered, newest first.
    static QStringList recentUrls();
    // permessage-deflate as the dialog last offered it (policy Refuse: not offered).
    static DeflateConfig savedDeflate();

public slots:
    void accept() override;

private:
    void loadSettings();
    void saveSettings() const;
    void updateMessage();
    void updateEnabled();

    QComboBox *m_url;
    QLineEdit *m_origin;
    QLineEdit *m_subprotocols;
    QTableWidget *m_headers;
    QComboBox *m_pongPolicy;
    QSpinBox *m_pongDelay;
    QComboBox *m_conformance;
    TrustFieldsEdit *m_trust;
    QCheckBox *m_deflate;
    QSpinBox *m_clientWindowBits;
    QSpinBox *m_serverWindowBits;
    QCheckBox *m_clientNoContext;
    QCheckBox *m_serverNoContext;
    QLabel *m_message;
    QDialogButtonBox *m_buttons;
    QPushButton *m_connect;
};

} // namespace ws

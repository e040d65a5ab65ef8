#pragma once

#include "net/clientconnection.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace ws {

// Where to connect and how: the URL (with the recently used ones), extra request
// headers, Origin, subprotocols, the pong policy and how strictly to judge the
// server. Remembers what was used last (QSettings). A wss:// URL is refused with a
// message until TLS lands.
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
    QLabel *messageLabel() const { return m_message; }
    QPushButton *connectButton() const { return m_connect; }

    // The recent URLs as remembered, newest first.
    static QStringList recentUrls();

public slots:
    void accept() override;

private:
    void loadSettings();
    void saveSettings() const;
    void updateMessage();

    QComboBox *m_url;
    QLineEdit *m_origin;
    QLineEdit *m_subprotocols;
    QTableWidget *m_headers;
    QComboBox *m_pongPolicy;
    QSpinBox *m_pongDelay;
    QComboBox *m_conformance;
    QLabel *m_message;
    QDialogButtonBox *m_buttons;
    QPushButton *m_connect;
};

} // namespace ws

#include "dialogs/replaydialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>

namespace ws {

ReplayDialog::ReplayDialog(const QString &connectionName, const QUrl &recordedUrl, QWidget *parent)
    : QDialog(parent)
    , m_url(new QLineEdit(recordedUrl.toString(), this))
    , m_speed(new QComboBox(this))
    , m_waitReplies(new QCheckBox(tr("Wait for the recorded replies before each message"), this)) {
    setWindowTitle(tr("Replay %1").arg(connectionName));
    m_url->setObjectName(QStringLiteral("replayUrl"));
    m_speed->setObjectName(QStringLiteral("replaySpeed"));
    m_waitReplies->setObjectName(QStringLiteral("replayWaitReplies"));
    m_speed->setEditable(true);
    m_speed->addItems({QStringLiteral("0.5"), QStringLiteral("1"), QStringLiteral("2"),
                       QStringLiteral("10"), QStringLiteral("max")});
    m_speed->setCurrentText(QStringLiteral("1"));
    m_speed->setToolTip(tr("The recorded timing divided by this; \"max\": as fast as possible"));
    auto *form = new QFormLayout(this);
    form->addRow(new QLabel(tr("Plays the client side of %1 again: the recorded request headers, "
                               "messages, pings and close, in order.")
                                .arg(connectionName),
                            this));
    form->addRow(tr("Target URL:"), m_url);
    form->addRow(tr("Speed:"), m_speed);
    form->addRow(m_waitReplies);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Replay"));
    form->addRow(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    const auto check = [this, buttons] {
        buttons->button(QDialogButtonBox::Ok)->setEnabled(settings().has_value());
    };
    connect(m_url, &QLineEdit::textChanged, this, check);
    connect(m_speed, &QComboBox::currentTextChanged, this, check);
    check();
}

std::optional<ReplaySettings> ReplayDialog::settings() const {
    ReplaySettings settings;
    settings.url = QUrl(m_url->text().trimmed(), QUrl::StrictMode);
    if (!settings.url.isValid() || settings.url.host().isEmpty() ||
        (settings.url.scheme() != QLatin1String("ws") &&
         settings.url.scheme() != QLatin1String("wss")))
        return std::nullopt;
    const QString speed = m_speed->currentText().trimmed();
    if (speed == QLatin1String("max")) {
        settings.speed = 0;
    } else {
        bool ok = false;
        settings.speed = speed.toDouble(&ok);
        if (!ok || !(settings.speed > 0))
            return std::nullopt;
    }
    settings.waitReplies = m_waitReplies->isChecked();
    // Waiting for replies sets the pace unless a speed other than 1 was asked for.
    if (settings.waitReplies && speed == QLatin1String("1"))
        settings.speed = 0;
    return settings;
}

} // namespace ws

#include "helpdialog.h"

#include <QDialogButtonBox>
#include <QTextBrowser>
#include <QUrl>
#include <QVBoxLayout>

namespace ws {

HelpDialog::HelpDialog(QWidget *parent)
    : QDialog(parent)
    , m_browser(new QTextBrowser(this)) {
    setObjectName(QStringLiteral("helpDialog"));
    setWindowTitle(tr("WebSocket Workbench \u2014 User guide"));
    m_browser->setObjectName(QStringLiteral("helpBrowser"));
    // Links within the guide stay here; links out (the RFCs) go to the user's browser.
    m_browser->setOpenExternalLinks(true);
    m_browser->setSource(QUrl(QLatin1String(GuideUrl)));
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_browser);
    layout->addWidget(buttons);
    const int character = fontMetrics().horizontalAdvance(QLatin1Char('0'));
    resize(character * 90, fontMetrics().height() * 40);
}

void HelpDialog::showTopic(const QString &anchor) {
    if (anchor.isEmpty()) {
        m_browser->setSource(QUrl(QLatin1String(GuideUrl)));
        m_browser->scrollToAnchor(QStringLiteral("top"));
        return;
    }
    m_browser->scrollToAnchor(anchor);
}

} // namespace ws

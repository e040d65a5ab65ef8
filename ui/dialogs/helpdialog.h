#pragma once

#include <QDialog>

class QTextBrowser;

namespace ws {

// The user guide shipped with the program (resources/help/guide.html, compiled in),
// read inside the window: no browser, no network.
class HelpDialog : public QDialog {
    Q_OBJECT
public:
    static constexpr const char *GuideUrl = "qrc:/help/guide.html";

    explicit HelpDialog(QWidget *parent = nullptr);

    // Shows the guide at `anchor` ("shortcuts"), or at its top when empty.
    void showTopic(const QString &anchor);
    QTextBrowser *browser() const { return m_browser; }

private:
    QTextBrowser *m_browser;
};

} // namespace ws

#pragma once

#include <QPlainTextEdit>

namespace ws {

// The send box's editor: Ctrl+Enter sends, Up on the first line and Down on the
// last walk the send history.
class SendEditor : public QPlainTextEdit {
    Q_OBJECT
public:
    explicit SendEditor(QWidget *parent = nullptr);

signals:
    void sendRequested();
    void historyBack();
    void historyForward();

protected:
    void keyPressEvent(QKeyEvent *event) override;
};

} // namespace ws

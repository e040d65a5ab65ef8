#include "sendeditor.h"

#include <QKeyEvent>
#include <QTextBlock>

namespace ws {

SendEditor::SendEditor(QWidget *parent)
    : QPlainTextEdit(parent) {
    setTabChangesFocus(true);
    setLineWrapMode(QPlainTextEdit::WidgetWidth);
}

void SendEditor::keyPressEvent(QKeyEvent *event) {
    const bool enter = event->key() == Qt::Key_Return || event->key() == Qt::Key_Enter;
    if (enter && (event->modifiers() & Qt::ControlModifier)) {
        emit sendRequested();
        event->accept();
        return;
    }
    if (event->modifiers() == Qt::NoModifier || event->modifiers() == Qt::KeypadModifier) {
        const QTextCursor cursor = textCursor();
        if (event->key() == Qt::Key_Up && cursor.block() == document()->firstBlock()) {
            emit historyBack();
            event->accept();
            return;
        }
        if (event->key() == Qt::Key_Down && cursor.block() == document()->lastBlock()) {
            emit historyForward();
            event->accept();
            return;
        }
    }
    QPlainTextEdit::keyPressEvent(event);
}

} // namespace ws

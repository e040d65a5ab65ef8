#pragma once

#include <QByteArray>
#include <QObject>

class QSocketNotifier;

namespace ws {

// Reads standard input line by line without blocking the event loop: a
// QSocketNotifier says when fd 0 has bytes (a terminal, a pipe or a file).
class StdinReader : public QObject {
    Q_OBJECT
public:
    explicit StdinReader(QObject *parent = nullptr);

    bool atEnd() const { return m_atEnd; }

signals:
    // One line without its line ending ("\n" or "\r\n").
    void lineRead(const QByteArray &line);
    // End of input; a last line without a newline came before it as lineRead().
    void endOfInput();

private:
    void onReadable();
    void finish();

    QSocketNotifier *m_notifier = nullptr;
    QByteArray m_partial;
    bool m_atEnd = false;
};

} // namespace ws

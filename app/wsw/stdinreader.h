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
    // What ends a line (default '\n'; '\0' for NUL-separated input).
    void setDelimiter(char delimiter) { m_delimiter = delimiter; }
    // Whether a CR right before a '\n' delimiter is dropped (default: yes, for
    // CRLF input). Data read as bytes keeps it.
    void setStripCarriageReturn(bool strip) { m_stripCarriageReturn = strip; }

signals:
    // One line without its delimiter (nor the CR of a CRLF, unless kept).
    void lineRead(const QByteArray &line);
    // End of input; a last line without a newline came before it as lineRead().
    void endOfInput();

private:
    void onReadable();
    void finish();
    bool stripsCarriageReturn() const;

    QSocketNotifier *m_notifier = nullptr;
    QByteArray m_partial;
    char m_delimiter = '\n';
    bool m_stripCarriageReturn = true;
    bool m_atEnd = false;
};

} // namespace ws

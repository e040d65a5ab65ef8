#include "stdinreader.h"

#include <QSocketNotifier>

#include <cerrno>
#include <unistd.h>
#include <utility>

namespace ws {

StdinReader::StdinReader(QObject *parent)
    : QObject(parent) {
    m_notifier = new QSocketNotifier(STDIN_FILENO, QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &StdinReader::onReadable);
}

void StdinReader::onReadable() {
    char buffer[64 * 1024];
    const ssize_t count = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (count < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (count <= 0) {
        finish();
        return;
    }
    m_partial.append(buffer, count);
    qsizetype start = 0;
    for (qsizetype newline = m_partial.indexOf(m_delimiter); newline >= 0;
         newline = m_partial.indexOf(m_delimiter, start)) {
        qsizetype end = newline;
        if (stripsCarriageReturn() && end > start && m_partial.at(end - 1) == '\r')
            --end;
        emit lineRead(m_partial.mid(start, end - start));
        start = newline + 1;
    }
    m_partial.remove(0, start);
}

bool StdinReader::stripsCarriageReturn() const {
    return m_stripCarriageReturn && m_delimiter == '\n';
}

void StdinReader::finish() {
    m_notifier->setEnabled(false);
    m_atEnd = true;
    if (!m_partial.isEmpty()) {
        if (stripsCarriageReturn() && m_partial.endsWith('\r'))
            m_partial.chop(1);
        emit lineRead(std::exchange(m_partial, {}));
    }
    emit endOfInput();
}

} // namespace ws

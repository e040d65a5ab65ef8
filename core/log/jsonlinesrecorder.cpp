#include "log/jsonlinesrecorder.h"

#include <QObject>

namespace ws::log {

JsonLinesRecorder::JsonLinesRecorder() {
    // Lines already written cannot move: the file keeps the order events came in.
    m_store.setTimeOrdered(false);
}

JsonLinesRecorder::~JsonLinesRecorder() {
    close();
}

bool JsonLinesRecorder::open(const QString &path, QString *error) {
    close();
    m_error.clear();
    m_store.clear();
    m_file.setFileName(path);
    if (!m_file.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        setError(error, QObject::tr("Cannot write %1: %2").arg(path, m_file.errorString()));
        return false;
    }
    m_writer.emplace(m_file);
    if (!m_writer->writeHeader(&m_error) || !m_writer->flush(&m_error) || !m_file.flush()) {
        if (m_error.isEmpty())
            m_error = m_file.errorString();
        setError(error, QObject::tr("Cannot write %1: %2").arg(path, m_error));
        m_writer.reset();
        m_file.close();
        return false;
    }
    return true;
}

void JsonLinesRecorder::setConnectionInfo(quint32 connection, const ConnectionInfo &info) {
    if (!m_writer || !m_error.isEmpty())
        return;
    m_store.setConnectionInfo(connection, info);
    // Records the store already committed come first: they happened before.
    writeCommitted();
    if (m_error.isEmpty())
        m_writer->writeConnection(connection, info, &m_error);
    writeOut();
}

void JsonLinesRecorder::append(quint32 connection, const SessionEvent &event) {
    if (!m_writer || !m_error.isEmpty())
        return;
    m_store.append(connection, event);
    writeOut();
    // Its records are in the file: the store need not know the connection any more.
    if (std::holds_alternative<ClosedEvent>(event))
        m_store.release(connection);
}

void JsonLinesRecorder::appendRecord(const LogRecord &record, const LogRecordExtra &extra) {
    if (!m_writer || !m_error.isEmpty())
        return;
    m_store.appendRecord(record, extra);
    writeOut();
}

bool JsonLinesRecorder::flush() {
    if (!m_writer || !m_error.isEmpty())
        return m_error.isEmpty();
    m_store.commitPending();
    writeOut();
    return m_error.isEmpty();
}

bool JsonLinesRecorder::close() {
    if (!m_writer)
        return m_error.isEmpty();
    const bool flushed = flush();
    m_writer.reset();
    m_file.close();
    m_store.clear();
    return flushed;
}

void JsonLinesRecorder::writeCommitted() {
    for (qsizetype i = 0; i < m_store.size() && m_error.isEmpty(); ++i) {
        const LogRecord &record = m_store.at(i);
        m_writer->writeRecord(record, m_store.extraOf(record, i), &m_error);
    }
    m_store.dropOldest(m_store.size());
}

void JsonLinesRecorder::writeOut() {
    writeCommitted();
    if (!m_error.isEmpty())
        return;
    if (m_writer->flush(&m_error) && !m_file.flush())
        m_error = m_file.errorString();
}

} // namespace ws::log

#pragma once

#include "log/logrecord.h"
#include "log/logstore.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QString>
#include <QStringDecoder>

#include <memory>
#include <string>

namespace ws::log {

namespace detail {
struct FilterProgram;
}

// Where and why an expression does not compile. Columns count characters from 1.
struct DisplayFilterError {
    QString message;
    int column = 0;
    int length = 1; // characters the error covers, for underlining

    bool isEmpty() const { return message.isEmpty(); }
    // "column 5: unknown field 'opcod' (did you mean 'opcode'?)"
    QString toString() const;
};

// What an evaluation needs beside the record: connection names, the log's time
// origin, and scratch buffers reused from row to row. One per thread: a context is
// not shared between threads, the compiled filter is.
class DisplayFilterContext {
public:
    void setConnectionNames(const QHash<quint32, QString> &names);
    void setConnectionName(quint32 connection, const QString &name);
    // A relayed pair's leg, for `leg`; connections not set are Leg::None.
    void setConnectionLeg(quint32 connection, Leg leg);
    Leg connectionLeg(quint32 connection) const;
    // Names and legs at once, as a LogStore knows them.
    void setConnections(const QHash<quint32, ConnectionInfo> &connections);
    // Microseconds since the epoch that `time` counts from.
    void setTimeOrigin(qint64 originUs) { m_timeOriginUs = originUs; }
    qint64 timeOrigin() const { return m_timeOriginUs; }

    // The name `conn` compares with, UTF-8: the connection's name, else "#id".
    QByteArrayView connectionName(quint32 connection);

private:
    friend class DisplayFilter;

    QHash<quint32, QByteArray> m_names; // UTF-8, as compared
    QHash<quint32, Leg> m_legs;
    QByteArray m_unnamed; // "#id" for connections without a name
    qint64 m_timeOriginUs = 0;
    std::string m_jsonScratch;
    std::u16string m_textScratch;
    QStringDecoder m_decoder{QStringDecoder::Utf8};
};

// A display filter over log records, in the spirit of Wireshark's:
//
//   opcode == 9        len > 125 && !fin        rsv1        close.code == 1002
//   dir == in          text ~ "error"           text contains "bye"
//   json.type == "subscribe"   json.items[0].id >= 10   conn == "client 2"
//   kind in {ping pong}        (rtt > 1.5 || error) and not conn.id == 3
//   leg == server              (the upstream side of a relayed pair)
//
// Compiled once (fields resolved, literals typed, regular expressions built), then
// evaluated per record without allocating for the header, length, direction,
// connection and kind fields. JSON text is only looked at when a json.* field is
// used, by walking the bytes to the path rather than building a document.
//
// A field that a record does not have (close.code on a text message, fin on a
// message reassembled from several frames) makes every comparison on it false; a
// bare field is true when the record has it (and, for a flag, when it is set).
class DisplayFilter {
public:
    enum class ValueType : quint8 { Flag, Number, String, Bytes, Name, Json };
    struct FieldInfo {
        const char *name;
        ValueType type;
        const char *description;
    };

    // An empty filter: accepts every record.
    DisplayFilter();
    ~DisplayFilter();
    DisplayFilter(const DisplayFilter &);
    DisplayFilter &operator=(const DisplayFilter &);
    DisplayFilter(DisplayFilter &&) noexcept;
    DisplayFilter &operator=(DisplayFilter &&) noexcept;

    // Compiles `text`. Blank text gives an empty filter. On error isValid() is false
    // and error() says what and where; an invalid filter accepts nothing.
    static DisplayFilter compile(const QString &text);

    QString text() const { return m_text; }
    bool isEmpty() const;
    bool isValid() const { return m_error.isEmpty(); }
    const DisplayFilterError &error() const { return m_error; }

    // The filter reads the record's extra (the violated rule, notes, the handshake,
    // the preview): callers that must copy extras only need to when this is true.
    bool needsExtra() const { return m_needsExtra; }
    // Reads the context's connection names or legs (`conn`, `leg`).
    bool usesConnectionNames() const { return m_usesNames; }
    bool usesJson() const { return m_usesJson; }

    bool matches(const LogRecord &record, const LogRecordExtra *extra,
                 DisplayFilterContext &context) const;

    // Every field, for completion and the help text.
    static const QList<FieldInfo> &fields();
    // A short description of the language (plain text, a few dozen lines).
    static QString syntaxHelp();

private:
    std::shared_ptr<const detail::FilterProgram>
        m_program; // immutable once compiled: shared freely
    QString m_text;
    DisplayFilterError m_error;
    bool m_needsExtra = false;
    bool m_usesNames = false;
    bool m_usesJson = false;
};

} // namespace ws::log

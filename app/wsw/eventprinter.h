#pragma once

#include "output.h"

#include "net/tlsinfo.h"
#include "protocol/session.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>

namespace ws {

// Prints the session events of one connection for a person (`< Hello`) or, with
// --json, as one JSON object per line. Received data and control frames go to
// stdout; connection status and errors go to stderr in the human format.
class EventPrinter {
public:
    // Raw: only the payloads of received data messages on stdout (binary as bytes),
    // each followed by the separator; what the human format prints besides goes to
    // stderr.
    enum class Format { Human, Json, Raw };

    EventPrinter(Format format, bool showFrames)
        : m_format(format)
        , m_showFrames(showFrames) {}

    // Put in front of every human line, e.g. "[#3] " for one of a server's clients.
    void setPrefix(const QByteArray &prefix) { m_prefix = prefix; }
    // JSON format: fields added to every object, e.g. {"client": 3} for one of a
    // server's clients.
    void setJsonFields(const QJsonObject &fields) { m_jsonFields = fields; }
    // Raw format: what follows each message (default "\n").
    void setSeparator(const QByteArray &separator) { m_separator = separator; }
    // Quiet: the human status lines on stderr (connected, closed, notes) are left
    // out; errors and violations are still printed.
    void setQuiet(bool quiet) { m_quiet = quiet; }
    Format format() const { return m_format; }
    bool isQuiet() const { return m_quiet; }

    void print(const SessionEvent &event);
    void printError(const QString &message);
    // wss: the negotiated protocol, cipher and certificate chain.
    void printTls(const TlsInfo &info);

    // One JSON object on stdout, with the fields of setJsonFields().
    void emitJson(QJsonObject object);

    // A short preview of binary data: "[binary N bytes] 0102…".
    static QByteArray binaryPreview(const QByteArray &data);

private:
    void printFrame(const FrameEvent &event);
    void printMessage(const MessageEvent &event);
    void printHandshake(const HandshakeEvent &event);
    void printClosed(const ClosedEvent &event);
    // A human line: data and control frames go to `stdout` (stderr in the raw
    // format); `essential` lines on stderr survive --quiet.
    void human(std::FILE *stream, const QByteArray &text, bool essential = false);

    Format m_format;
    bool m_showFrames;
    bool m_quiet = false;
    QByteArray m_prefix;
    QJsonObject m_jsonFields;
    QByteArray m_separator = "\n";
};

} // namespace ws

#pragma once

#include "output.h"

#include "net/tlsinfo.h"
#include "protocol/session.h"

#include <QByteArray>
#include <QString>

namespace ws {

// Prints the session events of one connection for a person (`< Hello`) or, with
// --json, as one JSON object per line. Received data and control frames go to
// stdout; connection status and errors go to stderr in the human format.
class EventPrinter {
public:
    enum class Format { Human, Json };

    EventPrinter(Format format, bool showFrames)
        : m_format(format)
        , m_showFrames(showFrames) {}

    // Put in front of every human line, e.g. "[#3] " for one of a server's clients.
    void setPrefix(const QByteArray &prefix) { m_prefix = prefix; }
    Format format() const { return m_format; }

    void print(const SessionEvent &event);
    void printError(const QString &message);
    // wss: the negotiated protocol, cipher and certificate chain.
    void printTls(const TlsInfo &info);

    // A short preview of binary data: "[binary N bytes] 0102…".
    static QByteArray binaryPreview(const QByteArray &data);

private:
    void printFrame(const FrameEvent &event);
    void printMessage(const MessageEvent &event);
    void printHandshake(const HandshakeEvent &event);
    void printClosed(const ClosedEvent &event);
    void human(std::FILE *stream, const QByteArray &text);

    Format m_format;
    bool m_showFrames;
    QByteArray m_prefix;
};

} // namespace ws

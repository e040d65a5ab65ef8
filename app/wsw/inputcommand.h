#pragma once

#include "protocol/frameencoder.h"

#include <QByteArray>
#include <QString>

#include <optional>

namespace ws {

// One line typed by the user, as `wsw connect` and `wsw serve --mode manual` read
// it: a message, or a slash command (/ping, /pong, /close, /binary, /text, /raw,
// /fragment).
struct InputCommand {
    enum class Kind { Text, Binary, Ping, Pong, Close, Raw, Fragment };
    Kind kind = Kind::Text;
    QByteArray data; // message, ping/pong payload or the text to fragment
    std::optional<quint16> closeCode = quint16(1000);
    QString closeReason;
    qint64 fragmentSize = 0;
    RawFrame raw;
};

struct ParsedInput {
    std::optional<InputCommand> command;
    QString error; // when the line is a malformed command
};

// `binaryLines`: a line that is not a command is a binary message (--binary).
ParsedInput parseInputLine(const QByteArray &line, bool binaryLines);

// A RawFrame that encodes back to exactly `wire` (a frame as it would be on the
// wire, its payload masked when the MASK bit is set), or nullopt with `error`
// when `wire` does not hold a complete header.
std::optional<RawFrame> rawFrameFromWire(QByteArrayView wire, QString *error);

// The help text for the commands above.
QString inputCommandHelp();

} // namespace ws

#include "inputcommand.h"

#include "protocol/masking.h"

#include <cctype>
#include <utility>

namespace ws {

namespace {

// Splits "word rest of line" at the first space.
std::pair<QByteArray, QByteArray> splitFirstWord(const QByteArray &text) {
    const qsizetype space = text.indexOf(' ');
    if (space < 0)
        return {text, {}};
    return {text.left(space), text.mid(space + 1)};
}

std::optional<QByteArray> decodeHex(QByteArray hex) {
    hex.replace(' ', QByteArray()).replace(':', QByteArray());
    if (hex.size() % 2 != 0)
        return std::nullopt;
    for (char c : hex) {
        if (!std::isxdigit(static_cast<unsigned char>(c)))
            return std::nullopt;
    }
    return QByteArray::fromHex(hex);
}

ParsedInput failure(QString error) {
    return {std::nullopt, std::move(error)};
}

ParsedInput command(InputCommand::Kind kind, QByteArray data) {
    InputCommand c;
    c.kind = kind;
    c.data = std::move(data);
    return {c, {}};
}

} // namespace

ParsedInput parseInputLine(const QByteArray &line, bool binaryLines) {
    if (!line.startsWith('/'))
        return command(binaryLines ? InputCommand::Kind::Binary : InputCommand::Kind::Text, line);

    const auto [name, rest] = splitFirstWord(line);
    if (name == "/text")
        return command(InputCommand::Kind::Text, rest);
    if (name == "/ping" || name == "/pong") {
        // RFC 6455 §5.5: a control frame carries at most 125 payload bytes; the
        // session refuses longer ones, so the user learns it from the send error.
        return command(name == "/ping" ? InputCommand::Kind::Ping : InputCommand::Kind::Pong, rest);
    }
    if (name == "/binary") {
        const auto bytes = decodeHex(rest);
        if (!bytes)
            return failure(
                QStringLiteral("/binary expects hexadecimal bytes, e.g. /binary 0102ff"));
        return command(InputCommand::Kind::Binary, *bytes);
    }
    if (name == "/close") {
        InputCommand c;
        c.kind = InputCommand::Kind::Close;
        const auto [codeText, reason] = splitFirstWord(rest.trimmed());
        if (!codeText.isEmpty()) {
            bool ok = false;
            const uint code = codeText.toUInt(&ok);
            if (!ok || code > 0xFFFF)
                return failure(QStringLiteral("/close expects a numeric code (0-65535), e.g. "
                                              "/close 1000 bye"));
            c.closeCode = quint16(code);
            c.closeReason = QString::fromUtf8(reason);
        }
        return {c, {}};
    }
    if (name == "/raw") {
        const auto bytes = decodeHex(rest);
        if (!bytes || bytes->isEmpty())
            return failure(QStringLiteral("/raw expects the frame's bytes in hexadecimal, e.g. "
                                          "/raw 810548656c6c6f"));
        QString error;
        const auto frame = rawFrameFromWire(*bytes, &error);
        if (!frame)
            return failure(QStringLiteral("/raw: %1").arg(error));
        InputCommand c;
        c.kind = InputCommand::Kind::Raw;
        c.raw = *frame;
        return {c, {}};
    }
    if (name == "/fragment") {
        const auto [sizeText, text] = splitFirstWord(rest);
        bool ok = false;
        const qint64 size = sizeText.toLongLong(&ok);
        if (!ok || size <= 0)
            return failure(QStringLiteral("/fragment expects a fragment size in bytes and a text, "
                                          "e.g. /fragment 3 Hello"));
        InputCommand c;
        c.kind = InputCommand::Kind::Fragment;
        c.fragmentSize = size;
        c.data = text;
        return {c, {}};
    }
    return failure(QStringLiteral("unknown command %1 (use /text to send a line that starts "
                                  "with a slash)")
                       .arg(QString::fromUtf8(name)));
}

std::optional<RawFrame> rawFrameFromWire(QByteArrayView wire, QString *error) {
    const auto byteAt = [&](qsizetype i) { return static_cast<quint8>(wire[i]); };
    if (wire.size() < 2) {
        *error = QStringLiteral("a frame header has at least 2 bytes");
        return std::nullopt;
    }
    RawFrame frame;
    // RFC 6455 §5.2: FIN, RSV1-3 and the opcode in the first byte; MASK and the
    // 7-bit length in the second, then the extended length and the masking key.
    const HeaderByte0 first = unpackByte0(byteAt(0));
    frame.fin = first.fin;
    frame.rsv1 = (first.rsv & Rsv1Bit) != 0;
    frame.rsv2 = (first.rsv & Rsv2Bit) != 0;
    frame.rsv3 = (first.rsv & Rsv3Bit) != 0;
    frame.opcode = first.opcode;
    const auto [masked, length7] = unpackByte1(byteAt(1));
    qsizetype offset = 2;
    quint64 declared = length7;
    const LengthEncoding encoding = lengthEncodingOf(length7);
    const int extendedBytes = extendedLengthSize(encoding);
    if (wire.size() < offset + extendedBytes + (masked ? 4 : 0)) {
        *error = QStringLiteral("the header is incomplete: it needs %1 bytes")
                     .arg(offset + extendedBytes + (masked ? 4 : 0));
        return std::nullopt;
    }
    if (extendedBytes) {
        declared = 0;
        for (int i = 0; i < extendedBytes; ++i)
            declared = (declared << 8) | byteAt(offset + i);
        offset += extendedBytes;
    }
    if (masked) {
        quint32 key = 0;
        for (int i = 0; i < 4; ++i)
            key = (key << 8) | byteAt(offset + i);
        offset += 4;
        frame.maskingKey = key;
    }
    frame.payload = wire.sliced(offset).toByteArray();
    // RawFrame holds the unmasked payload and masks it on the way out.
    if (frame.maskingKey)
        applyMask(frame.payload.data(), frame.payload.size(), *frame.maskingKey);
    if (encoding != minimalEncoding(quint64(frame.payload.size())))
        frame.lengthEncoding = encoding;
    if (declared != quint64(frame.payload.size()))
        frame.declaredLength = declared;
    return frame;
}

QString inputCommandHelp() {
    return QStringLiteral(
        "Each line is sent as a message. Commands:\n"
        "  /ping [payload]          send a ping\n"
        "  /pong [payload]          send an unsolicited pong\n"
        "  /close [code [reason]]   start the closing handshake (default 1000)\n"
        "  /binary HEX              send a binary message of these bytes\n"
        "  /text TEXT               send TEXT literally, even if it starts with a slash\n"
        "  /raw HEX                 write these bytes as one frame (header and payload),\n"
        "                           whatever rules they break\n"
        "  /fragment SIZE TEXT      send TEXT as frames of at most SIZE bytes\n");
}

} // namespace ws

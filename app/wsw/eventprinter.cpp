#include "eventprinter.h"

#include <QJsonArray>
#include <QJsonObject>

namespace ws {

namespace {

constexpr qsizetype BinaryPreviewBytes = 32;

QString payloadText(const QByteArray &payload) {
    return QString::fromUtf8(payload);
}

QJsonValue optionalCode(std::optional<quint16> code) {
    return code ? QJsonValue(int(*code)) : QJsonValue(QJsonValue::Null);
}

QByteArray lengthEncodingName(LengthEncoding encoding) {
    switch (encoding) {
    case LengthEncoding::Short7:
        return "7-bit";
    case LengthEncoding::Extended16:
        return "16-bit";
    case LengthEncoding::Extended64:
        return "64-bit";
    }
    return "?";
}

QByteArray hexKey(quint32 key) {
    return QByteArray::number(key, 16).rightJustified(8, '0');
}

} // namespace

QByteArray EventPrinter::binaryPreview(const QByteArray &data) {
    QByteArray text = "[binary " + QByteArray::number(data.size()) + " bytes]";
    if (!data.isEmpty())
        text += ' ' + data.left(BinaryPreviewBytes).toHex();
    if (data.size() > BinaryPreviewBytes)
        text += "\xE2\x80\xA6"; // "…"
    return text;
}

void EventPrinter::emitJson(QJsonObject object) {
    for (auto it = m_jsonFields.constBegin(); it != m_jsonFields.constEnd(); ++it)
        object.insert(it.key(), it.value());
    writeJson(stdout, object);
}

void EventPrinter::human(std::FILE *stream, const QByteArray &text, bool essential) {
    if (m_format == Format::Raw)
        stream = stderr;
    if (stream == stderr && m_quiet && !essential)
        return;
    writeLine(stream, m_prefix + text);
}

void EventPrinter::printError(const QString &message) {
    if (m_format == Format::Json)
        emitJson({{"event", "error"}, {"message", message}});
    else
        human(stderr, "error: " + message.toUtf8(), true);
}

void EventPrinter::print(const SessionEvent &event) {
    std::visit(
        [this](const auto &e) {
            using T = std::decay_t<decltype(e)>;
            const bool json = m_format == Format::Json;
            if constexpr (std::is_same_v<T, FrameEvent>) {
                if (m_showFrames)
                    printFrame(e);
            } else if constexpr (std::is_same_v<T, MessageEvent>) {
                if (e.direction == Direction::Incoming)
                    printMessage(e);
            } else if constexpr (std::is_same_v<T, HandshakeEvent>) {
                printHandshake(e);
            } else if constexpr (std::is_same_v<T, PingEvent>) {
                if (json)
                    emitJson({{"event", "ping"}, {"payload", payloadText(e.payload)}});
                else
                    human(stdout,
                          e.payload.isEmpty() ? QByteArray("< [ping]") : "< [ping] " + e.payload);
            } else if constexpr (std::is_same_v<T, PongEvent>) {
                if (json) {
                    emitJson({{"event", "pong"},
                              {"payload", payloadText(e.payload)},
                              {"rttUs", e.roundTripUs ? QJsonValue(double(*e.roundTripUs))
                                                      : QJsonValue(QJsonValue::Null)}});
                } else {
                    QByteArray line = "< [pong]";
                    if (!e.payload.isEmpty())
                        line += ' ' + e.payload;
                    if (e.roundTripUs)
                        line += " (round trip " + QByteArray::number(*e.roundTripUs) + " us)";
                    human(stdout, line);
                }
            } else if constexpr (std::is_same_v<T, CloseEvent>) {
                if (json) {
                    emitJson(
                        {{"event", "close"}, {"code", optionalCode(e.code)}, {"reason", e.reason}});
                } else {
                    QByteArray line = "< [close]";
                    if (e.code)
                        line += ' ' + QByteArray::number(*e.code);
                    if (!e.reason.isEmpty())
                        line += ' ' + e.reason.toUtf8();
                    human(stdout, line);
                }
            } else if constexpr (std::is_same_v<T, ViolationEvent>) {
                const auto code = toWire(e.violation.closeCode());
                // A message over --max-message-size breaks no rule of the peer's: the
                // limit is ours.
                const bool ourLimit = e.violation.error == ProtocolError::MessageTooBig;
                if (json) {
                    emitJson({{"event", "violation"},
                              {"error", errorName(e.violation.error)},
                              {"code", code},
                              {"reason", e.violation.reason},
                              {"ourLimit", ourLimit}});
                } else if (ourLimit) {
                    human(stderr,
                          "message refused by our limit (--max-message-size): " +
                              e.violation.reason.toUtf8() + "; closing the connection with " +
                              QByteArray::number(code),
                          true);
                } else {
                    human(stderr,
                          "protocol violation by the peer: " + e.violation.reason.toUtf8() + " (" +
                              errorName(e.violation.error) + "); failing the connection with " +
                              QByteArray::number(code),
                          true);
                }
            } else if constexpr (std::is_same_v<T, NoteEvent>) {
                const bool staged = e.note.kind == ConformanceNote::Kind::Staged;
                if (json && staged)
                    emitJson({{"event", "note"}, {"text", e.note.text}, {"staged", true}});
                else if (json)
                    emitJson({{"event", "note"}, {"text", e.note.text}});
                else
                    human(stderr, (staged ? "staged: " : "note: ") + e.note.text.toUtf8());
            } else if constexpr (std::is_same_v<T, ClosedEvent>) {
                printClosed(e);
            }
        },
        event);
}

void EventPrinter::printFrame(const FrameEvent &event) {
    const FrameHeader &h = event.frame.header;
    const bool incoming = event.direction == Direction::Incoming;
    if (m_format == Format::Json) {
        QJsonObject object{{"event", "frame"},
                           {"direction", incoming ? "in" : "out"},
                           {"fin", h.fin},
                           {"rsv1", h.rsv1},
                           {"rsv2", h.rsv2},
                           {"rsv3", h.rsv3},
                           {"opcode", h.opcode},
                           {"opcodeName", opcodeName(h.opcode)},
                           {"masked", h.masked()},
                           {"length", double(h.payloadLength)},
                           {"lengthEncoding", int(h.lengthEncoding)}};
        if (h.maskingKey)
            object.insert("maskingKey", QString::fromLatin1(hexKey(*h.maskingKey)));
        emitJson(object);
        return;
    }
    QByteArray line = incoming ? "< frame" : "> frame";
    line += " FIN=" + QByteArray::number(int(h.fin));
    line += " RSV=" + QByteArray::number(int(h.rsv1)) + QByteArray::number(int(h.rsv2)) +
            QByteArray::number(int(h.rsv3));
    line += " opcode=0x" + QByteArray::number(h.opcode, 16) + " (" + opcodeName(h.opcode) + ")";
    line += " MASK=" + QByteArray::number(int(h.masked()));
    if (h.maskingKey)
        line += " key=" + hexKey(*h.maskingKey);
    line += " length=" + QByteArray::number(h.payloadLength) + " (" +
            lengthEncodingName(h.lengthEncoding) + ")";
    human(stdout, line);
}

void EventPrinter::printMessage(const MessageEvent &event) {
    const DecodedMessage &m = event.message;
    const bool text = m.type == Opcode::Text;
    if (m_format == Format::Raw) {
        std::fwrite(m.data.constData(), 1, size_t(m.data.size()), stdout);
        std::fwrite(m_separator.constData(), 1, size_t(m_separator.size()), stdout);
        std::fflush(stdout);
        return;
    }
    if (m_format == Format::Json) {
        QJsonObject object{
            {"event", "message"},
            {"type", text ? "text" : "binary"},
            {"length", double(m.data.size())},
            {"data", text ? QString::fromUtf8(m.data) : QString::fromLatin1(m.data.toBase64())}};
        // RFC 7692: what the message cost on the wire against what it inflated to.
        if (m.compressed) {
            object.insert(QStringLiteral("compressed"), true);
            object.insert(QStringLiteral("wireLength"), double(m.wireSize));
        }
        emitJson(object);
        return;
    }
    human(stdout, "< " + (text ? m.data : binaryPreview(m.data)));
    if (m_showFrames && m.compressed)
        human(stdout, "  [deflate] " + QByteArray::number(m.wireSize) +
                          " bytes on the wire, inflated to " + QByteArray::number(m.data.size()));
}

void EventPrinter::printHandshake(const HandshakeEvent &event) {
    const bool json = m_format == Format::Json;
    switch (event.kind) {
    case HandshakeEvent::Kind::ClientAccepted:
        if (json) {
            emitJson({{"event", "open"},
                      {"subprotocol", event.subprotocol.isEmpty()
                                          ? QJsonValue(QJsonValue::Null)
                                          : QJsonValue(QString::fromUtf8(event.subprotocol))},
                      {"extensions", QString::fromUtf8(formatExtensions(event.extensions))}});
        } else {
            QByteArray line = "connected";
            if (!event.subprotocol.isEmpty())
                line += " (subprotocol " + event.subprotocol + ")";
            if (!event.extensions.isEmpty())
                line += " (extensions " + formatExtensions(event.extensions) + ")";
            human(stderr, line);
        }
        break;
    case HandshakeEvent::Kind::Failed:
        // The connection reports it (errorOccurred) with the server's answer quoted.
    case HandshakeEvent::Kind::UpgradeRequested:
    case HandshakeEvent::Kind::PlainHttpRequest:
        break;
    }
}

void EventPrinter::printTls(const TlsInfo &info) {
    if (m_format == Format::Json) {
        QJsonArray chain;
        for (const TlsCertificateInfo &certificate : info.chain)
            chain.append(QJsonObject{{"subject", certificate.subject},
                                     {"issuer", certificate.issuer},
                                     {"notBefore", certificate.notBefore.toString(Qt::ISODate)},
                                     {"notAfter", certificate.notAfter.toString(Qt::ISODate)},
                                     {"sha256", certificate.sha256}});
        emitJson({{"event", "tls"},
                  {"protocol", info.protocol},
                  {"cipher", info.cipher},
                  {"verifiedBy", verifiedByName(info.verifiedBy)},
                  {"chain", chain}});
        return;
    }
    human(stdout, "tls: " + info.protocol.toUtf8() + ' ' + info.cipher.toUtf8() + ", verified by " +
                      verifiedByName(info.verifiedBy));
    for (qsizetype i = 0; i < info.chain.size(); ++i) {
        const TlsCertificateInfo &certificate = info.chain.at(i);
        human(stdout, "  [" + QByteArray::number(i) + "] subject: " + certificate.subject.toUtf8() +
                          ", issuer: " + certificate.issuer.toUtf8());
        human(stdout, "      valid " + certificate.notBefore.toString(Qt::ISODate).toUtf8() +
                          " to " + certificate.notAfter.toString(Qt::ISODate).toUtf8() +
                          ", sha256 " + certificate.sha256.toUtf8());
    }
}

void EventPrinter::printClosed(const ClosedEvent &event) {
    if (m_format == Format::Json) {
        emitJson({{"event", "closed"},
                  {"code", event.code},
                  {"reason", event.reason},
                  {"clean", event.clean}});
        return;
    }
    QByteArray line =
        "closed: " + QByteArray::number(event.code) + " (" + closeCodeMeaning(event.code) + ")";
    if (!event.reason.isEmpty())
        line += " \"" + event.reason.toUtf8() + "\"";
    line += event.clean ? ", clean" : ", not clean";
    line += event.closedByUs ? ", closed by us" : ", closed by the peer";
    human(stderr, line);
}

} // namespace ws

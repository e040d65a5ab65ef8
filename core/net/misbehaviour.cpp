#include "net/misbehaviour.h"

#include "protocol/handshake.h"
#include "protocol/opcode.h"

#include <array>
#include <utility>

namespace ws {

namespace {

template <typename Enum> struct Named {
    Enum value;
    const char *name;
};

constexpr std::array<Named<Misbehaviour::CloseStyle>, 4> CloseStyleNames{{
    {Misbehaviour::CloseStyle::Clean, "clean"},
    {Misbehaviour::CloseStyle::NoWait, "no-wait"},
    {Misbehaviour::CloseStyle::Fin, "fin"},
    {Misbehaviour::CloseStyle::Reset, "rst"},
}};

constexpr std::array<Named<Misbehaviour::PongStyle>, 4> PongStyleNames{{
    {Misbehaviour::PongStyle::Normal, "normal"},
    {Misbehaviour::PongStyle::Withhold, "withhold"},
    {Misbehaviour::PongStyle::Delay, "delay"},
    {Misbehaviour::PongStyle::Wrong, "wrong"},
}};

constexpr std::array<Named<Misbehaviour::BadFrame>, 11> BadFrameNames{{
    {Misbehaviour::BadFrame::None, "none"},
    {Misbehaviour::BadFrame::Rsv1, "rsv1"},
    {Misbehaviour::BadFrame::Rsv2, "rsv2"},
    {Misbehaviour::BadFrame::Rsv3, "rsv3"},
    {Misbehaviour::BadFrame::ReservedOpcode, "reserved-opcode"},
    {Misbehaviour::BadFrame::InvalidUtf8, "invalid-utf8"},
    {Misbehaviour::BadFrame::LongPing, "long-ping"},
    {Misbehaviour::BadFrame::MaskedFrame, "masked"},
    {Misbehaviour::BadFrame::BadCloseCode, "bad-close-code"},
    {Misbehaviour::BadFrame::OrphanContinuation, "orphan-continuation"},
    {Misbehaviour::BadFrame::LyingLength, "lying-length"},
}};

constexpr std::array<Named<Misbehaviour::BadUpgrade>, 5> BadUpgradeNames{{
    {Misbehaviour::BadUpgrade::None, "none"},
    {Misbehaviour::BadUpgrade::BadAccept, "bad-accept"},
    {Misbehaviour::BadUpgrade::UnofferedExtension, "bad-extension"},
    {Misbehaviour::BadUpgrade::UnofferedSubprotocol, "bad-subprotocol"},
    {Misbehaviour::BadUpgrade::MissingUpgrade, "no-upgrade-header"},
}};

template <typename Enum, std::size_t N>
const char *nameOf(const std::array<Named<Enum>, N> &table, Enum value) {
    for (const auto &entry : table) {
        if (entry.value == value)
            return entry.name;
    }
    return table.front().name;
}

template <typename Enum, std::size_t N>
std::optional<Enum> valueOf(const std::array<Named<Enum>, N> &table, QStringView name) {
    for (const auto &entry : table) {
        if (name.compare(QLatin1String(entry.name), Qt::CaseInsensitive) == 0)
            return entry.value;
    }
    return std::nullopt;
}

template <typename Enum, std::size_t N>
QStringList namesOf(const std::array<Named<Enum>, N> &table) {
    QStringList names;
    for (std::size_t i = 1; i < N; ++i)
        names.append(QLatin1String(table[i].name));
    return names;
}

void appendField(QByteArray &out, QByteArrayView name, QByteArrayView value) {
    out.append(name).append(": ").append(value).append("\r\n");
}

} // namespace

const char *closeStyleName(Misbehaviour::CloseStyle style) {
    return nameOf(CloseStyleNames, style);
}

std::optional<Misbehaviour::CloseStyle> closeStyleFromName(QStringView name) {
    return valueOf(CloseStyleNames, name);
}

const char *pongStyleName(Misbehaviour::PongStyle style) {
    return nameOf(PongStyleNames, style);
}

const char *badFrameName(Misbehaviour::BadFrame kind) {
    return nameOf(BadFrameNames, kind);
}

std::optional<Misbehaviour::BadFrame> badFrameFromName(QStringView name) {
    return valueOf(BadFrameNames, name);
}

QStringList badFrameNames() {
    return namesOf(BadFrameNames);
}

const char *badUpgradeName(Misbehaviour::BadUpgrade kind) {
    return nameOf(BadUpgradeNames, kind);
}

std::optional<Misbehaviour::BadUpgrade> badUpgradeFromName(QStringView name) {
    return valueOf(BadUpgradeNames, name);
}

QStringList badUpgradeNames() {
    return namesOf(BadUpgradeNames);
}

QStringList Misbehaviour::describe() const {
    QStringList lines;
    if (replyDelayMaxMs > 0)
        lines.append(
            replyDelayMinMs == replyDelayMaxMs
                ? QStringLiteral("reply delay %1 ms").arg(replyDelayMaxMs)
                : QStringLiteral("reply delay %1-%2 ms").arg(replyDelayMinMs).arg(replyDelayMaxMs));
    if (handshakeDelayMs > 0)
        lines.append(QStringLiteral("handshake delay %1 ms").arg(handshakeDelayMs));
    if (fragmentSize > 0)
        lines.append(
            QStringLiteral("fragments of %1 bytes%2")
                .arg(fragmentSize)
                .arg(pingBetweenFragments ? QStringLiteral(" with pings between") : QString()));
    switch (pong) {
    case PongStyle::Normal:
        break;
    case PongStyle::Withhold:
        lines.append(QStringLiteral("pongs withheld"));
        break;
    case PongStyle::Delay:
        lines.append(QStringLiteral("pongs delayed %1 ms").arg(pongDelayMs));
        break;
    case PongStyle::Wrong:
        lines.append(QStringLiteral("pongs with a wrong payload"));
        break;
    }
    if (readBytesPerSecond > 0)
        lines.append(QStringLiteral("reads %1 bytes/s").arg(readBytesPerSecond));
    if (stopReadingAfter > 0)
        lines.append(QStringLiteral("stops reading after %1 messages").arg(stopReadingAfter));
    if (closeAfterMessages > 0 || closeAfterMs > 0) {
        QString when;
        if (closeAfterMessages > 0)
            when = QStringLiteral("%1 messages").arg(closeAfterMessages);
        if (closeAfterMs > 0)
            when += (when.isEmpty() ? QString() : QStringLiteral(" or ")) +
                    QStringLiteral("%1 ms").arg(closeAfterMs);
        QString how = QLatin1String(closeStyleName(closeStyle));
        if (closeStyle == CloseStyle::Clean || closeStyle == CloseStyle::NoWait)
            how += QStringLiteral(" %1").arg(closeCode);
        lines.append(QStringLiteral("closes after %1 (%2)").arg(when, how));
    }
    if (badFrame != BadFrame::None)
        lines.append(QStringLiteral("bad frame %1 after %2 messages")
                         .arg(QLatin1String(badFrameName(badFrame)))
                         .arg(badFrameAfter));
    if (refuseStatus > 0)
        lines.append(QStringLiteral("refuses the handshake with %1").arg(refuseStatus));
    if (badUpgrade != BadUpgrade::None)
        lines.append(QStringLiteral("answers 101 wrongly (%1)")
                         .arg(QLatin1String(badUpgradeName(badUpgrade))));
    if (tickerMs > 0)
        lines.append(QStringLiteral("ticker every %1 ms").arg(tickerMs));
    if (burstCount > 0)
        lines.append(
            QStringLiteral("burst of %1 messages of %2 bytes").arg(burstCount).arg(burstSize));
    return lines;
}

RawFrame badFrameFor(Misbehaviour::BadFrame kind) {
    RawFrame frame;
    frame.opcode = quint8(Opcode::Text);
    switch (kind) {
    case Misbehaviour::BadFrame::None:
        break;
    case Misbehaviour::BadFrame::Rsv1:
        frame.rsv1 = true;
        frame.payload = "RSV1 set without an extension";
        break;
    case Misbehaviour::BadFrame::Rsv2:
        frame.rsv2 = true;
        frame.payload = "RSV2 set without an extension";
        break;
    case Misbehaviour::BadFrame::Rsv3:
        frame.rsv3 = true;
        frame.payload = "RSV3 set without an extension";
        break;
    case Misbehaviour::BadFrame::ReservedOpcode:
        frame.opcode = 0x3;
        frame.payload = "reserved opcode 0x3";
        break;
    case Misbehaviour::BadFrame::InvalidUtf8:
        // A lone continuation byte, then an overlong encoding of '/'.
        frame.payload = QByteArray("not UTF-8: \x80\xC0\xAF", 14);
        break;
    case Misbehaviour::BadFrame::LongPing:
        frame.opcode = quint8(Opcode::Ping);
        frame.payload = QByteArray(126, 'p');
        break;
    case Misbehaviour::BadFrame::MaskedFrame:
        frame.maskingKey = 0x37FA213D; // RFC 6455 §5.7's example key
        frame.payload = "masked by the server";
        break;
    case Misbehaviour::BadFrame::BadCloseCode:
        frame.opcode = quint8(Opcode::Close);
        // 1005 is reserved for "no status code present" and must never be sent.
        frame.payload = QByteArray("\x03\xED", 2) + "code 1005 must not be sent";
        break;
    case Misbehaviour::BadFrame::OrphanContinuation:
        frame.opcode = quint8(Opcode::Continuation);
        frame.payload = "continuation without a start";
        break;
    case Misbehaviour::BadFrame::LyingLength:
        // The length says 2: the peer reads "ok" as the message and the next byte,
        // 0xFF (FIN, RSV1-3 and opcode 0xF), as the header of a frame no peer accepts.
        frame.declaredLength = 2;
        frame.payload = QByteArray("ok\xFF\xFF\xFF\xFF\xFF\xFF", 8);
        break;
    }
    return frame;
}

QByteArray brokenUpgradeResponse(Misbehaviour::BadUpgrade kind, const ServerHandshake &request) {
    switch (kind) {
    case Misbehaviour::BadUpgrade::None:
        return request.acceptResponse();
    case Misbehaviour::BadUpgrade::UnofferedExtension: {
        ExtensionParams extension;
        extension.name = "x-wsw-not-offered";
        return request.acceptResponse({}, {extension});
    }
    case Misbehaviour::BadUpgrade::UnofferedSubprotocol:
        return request.acceptResponse("x-wsw-not-offered");
    case Misbehaviour::BadUpgrade::BadAccept:
    case Misbehaviour::BadUpgrade::MissingUpgrade:
        break;
    }
    QByteArray out = "HTTP/1.1 101 Switching Protocols\r\n";
    if (kind != Misbehaviour::BadUpgrade::MissingUpgrade)
        appendField(out, "Upgrade", "websocket");
    appendField(out, "Connection", "Upgrade");
    // The accept key of another key: well-formed, but not the one §4.2.2 asks for.
    const QByteArray accept = kind == Misbehaviour::BadUpgrade::BadAccept
                                  ? computeAcceptKey(request.clientKey() + "x")
                                  : computeAcceptKey(request.clientKey());
    appendField(out, "Sec-WebSocket-Accept", accept);
    out.append("\r\n");
    return out;
}

QByteArray refusalResponse(const Misbehaviour &misbehaviour) {
    HttpHeaders headers;
    for (const auto &[name, value] : misbehaviour.refuseHeaders)
        headers.add(name, value);
    const int status = misbehaviour.refuseStatus;
    QByteArray body = misbehaviour.refuseBody;
    if (body.isEmpty()) {
        body = ServerHandshake::reasonPhrase(status);
        if (!body.isEmpty())
            body += '\n';
    }
    const bool hasType =
        std::any_of(headers.fields().cbegin(), headers.fields().cend(), [](const auto &field) {
            return field.first.compare("Content-Type", Qt::CaseInsensitive) == 0;
        });
    return ServerHandshake::httpResponse(
        status, {}, hasType ? QByteArrayView() : "text/plain; charset=utf-8", body, headers);
}

} // namespace ws

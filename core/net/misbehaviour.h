#pragma once

#include "protocol/frameencoder.h"

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>
#include <QStringList>
#include <QtGlobal>

#include <optional>

namespace ws {

// What a server does wrong on purpose, to see how a client copes: slow or delayed
// answers, odd fragmentation, missing pongs, a reader that stalls, abrupt ends, a
// broken frame, a refused or broken opening handshake, and traffic it starts itself.
// Every field defaults to "off"; a server applies its ServerOptions::misbehaviour to
// each new client, and ServerClient::setMisbehaviour() changes one client while it
// runs. Each staged behaviour is reported as it happens (a Staged note and a line of
// the server's log), so it is never mistaken for a real fault.
struct Misbehaviour {
    // How the server ends a connection it was told to end (closeAfter*).
    enum class CloseStyle : quint8 {
        Clean,  // a close frame with closeCode and closeReason, then the close handshake
        NoWait, // the same close frame, then TCP closed at once without waiting for the answer
        Fin,    // TCP closed (FIN) without any close frame
        Reset,  // TCP reset (RST): SO_LINGER 0, then the socket is aborted
    };
    // What the server does with a client's ping.
    enum class PongStyle : quint8 {
        Normal,   // answered at once
        Withhold, // never answered
        Delay,    // answered after pongDelayMs
        Wrong,    // answered at once with a payload that is not the ping's
    };
    // The one rule-breaking frame sent after badFrameAfter messages.
    enum class BadFrame : quint8 {
        None,
        Rsv1,               // a text frame with RSV1 set and no extension that defines it
        Rsv2,               // ... RSV2
        Rsv3,               // ... RSV3
        ReservedOpcode,     // opcode 0x3 (RFC 6455 §5.2: reserved for data frames)
        InvalidUtf8,        // a text frame whose payload is not UTF-8 (§8.1: 1007)
        LongPing,           // a ping of 126 bytes (§5.5: control payloads are at most 125)
        MaskedFrame,        // a masked frame from the server (§5.1)
        BadCloseCode,       // a close frame with 1005, a code that must not be sent (§7.4.1)
        OrphanContinuation, // a continuation frame with no message started (§5.4)
        LyingLength,        // a text frame whose length field says 2 while 8 bytes follow
    };
    // How the 101 is broken, when the handshake is answered wrongly.
    enum class BadUpgrade : quint8 {
        None,
        BadAccept,            // Sec-WebSocket-Accept that does not match the key
        UnofferedExtension,   // Sec-WebSocket-Extensions the client did not offer
        UnofferedSubprotocol, // Sec-WebSocket-Protocol the client did not offer
        MissingUpgrade,       // no Upgrade header
    };

    // Every reply (echo and greeting modes: the echoes) waits a delay drawn uniformly
    // from [replyDelayMinMs, replyDelayMaxMs] (equal: a fixed delay). Replies keep
    // their order.
    int replyDelayMinMs = 0;
    int replyDelayMaxMs = 0;
    // The answer to the opening handshake waits this long.
    int handshakeDelayMs = 0;
    // Every message the server sends goes out in frames of at most this many payload
    // bytes (0: one frame), with a ping between fragments when asked.
    qint64 fragmentSize = 0;
    bool pingBetweenFragments = false;
    PongStyle pong = PongStyle::Normal;
    int pongDelayMs = 0;
    // Read at most this many bytes per second from the client once it is open (0: no
    // cap); stop reading altogether after this many messages (0: never). The socket's
    // receive buffer is kept small meanwhile, so that the client's send buffer fills.
    qint64 readBytesPerSecond = 0;
    int stopReadingAfter = 0;
    // End the connection after this many messages from the client, or this long after
    // it opened (0: never), in the chosen style.
    int closeAfterMessages = 0;
    int closeAfterMs = 0;
    CloseStyle closeStyle = CloseStyle::Clean;
    quint16 closeCode = 1000;
    QString closeReason;
    // After this many messages from the client (0: as soon as it is open), one bad frame.
    BadFrame badFrame = BadFrame::None;
    int badFrameAfter = 0;
    // Refuse the opening handshake with this status (0: accept), these header fields
    // and this body.
    int refuseStatus = 0;
    QList<QPair<QByteArray, QByteArray>> refuseHeaders;
    QByteArray refuseBody;
    BadUpgrade badUpgrade = BadUpgrade::None;
    // Server-initiated traffic: a JSON text message every tickerMs ({"tick":N,
    // "time":"ISO 8601","epoch_ms":...}); a burst of burstCount messages of burstSize
    // bytes once the client is open, never queueing more than a bounded amount.
    int tickerMs = 0;
    int burstCount = 0;
    qint64 burstSize = 0;

    bool isOff() const { return *this == Misbehaviour{}; }
    bool delaysReplies() const { return replyDelayMaxMs > 0; }
    bool limitsReading() const { return readBytesPerSecond > 0 || stopReadingAfter > 0; }
    // Whether the handshake itself is answered differently.
    bool changesHandshake() const {
        return handshakeDelayMs > 0 || refuseStatus > 0 || badUpgrade != BadUpgrade::None;
    }
    // One short line per behaviour that is on, e.g. "reply delay 100-300 ms".
    QStringList describe() const;

    bool operator==(const Misbehaviour &) const = default;
};

const char *closeStyleName(Misbehaviour::CloseStyle style);
std::optional<Misbehaviour::CloseStyle> closeStyleFromName(QStringView name);
const char *pongStyleName(Misbehaviour::PongStyle style);
// Command-line names: "rsv1", "reserved-opcode", "invalid-utf8", ...
const char *badFrameName(Misbehaviour::BadFrame kind);
std::optional<Misbehaviour::BadFrame> badFrameFromName(QStringView name);
QStringList badFrameNames(); // every kind but None
const char *badUpgradeName(Misbehaviour::BadUpgrade kind);
std::optional<Misbehaviour::BadUpgrade> badUpgradeFromName(QStringView name);
QStringList badUpgradeNames();

class ServerHandshake;
// The bytes of each staged fault, apart from the server so that tests compare them.
// The bad frame of `kind`; its payload names the rule it breaks where it can.
RawFrame badFrameFor(Misbehaviour::BadFrame kind);
// The 101 a client must refuse, answering `request` (an upgrade) the way `kind` says.
QByteArray brokenUpgradeResponse(Misbehaviour::BadUpgrade kind, const ServerHandshake &request);
// The refusal of refuseStatus with refuseHeaders and refuseBody (default body: the
// status's reason phrase).
QByteArray refusalResponse(const Misbehaviour &misbehaviour);

} // namespace ws

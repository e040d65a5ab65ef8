#pragma once

#include "relay/relayleg.h"

#include <QRandomGenerator>
#include <QString>

#include <optional>

namespace ws {

// Faults a relay stages on purpose, per direction (named by the leg a message goes
// out on, as in relayintercept.h). Each is announced as a Staged note on the leg it
// concerns, so that nobody takes it for the peer's doing.
struct RelayDirectionFaults {
    // Every message (and control frame) goes out no earlier than this after it
    // arrived, plus or minus up to `jitterMs` (uniform, drawn from the relay's seeded
    // generator: the same seed gives the same delays; never before it arrived, and
    // never before the one ahead of it: order is kept).
    int latencyMs = 0;
    int jitterMs = 0;
    // At most this many payload bytes a second, on average (0: unlimited). A message
    // goes out whole once the bytes before it have had their time.
    qint64 bytesPerSecond = 0;
    // This share of data messages (0-100 %) is dropped, drawn from the relay's seeded
    // generator: the same seed drops the same messages of each pair.
    double dropPercent = 0;

    bool isActive() const {
        return latencyMs > 0 || jitterMs > 0 || bytesPerSecond > 0 || dropPercent > 0;
    }
    // "latency 100 ms ±20 ms, 64000 bytes/s, drop 5 %"; empty when none.
    QString describe() const;
    bool operator==(const RelayDirectionFaults &) const = default;
};

// Cutting a leg: a clean close with a code, or an abrupt TCP reset.
struct RelayCut {
    enum class Style : quint8 {
        Close, // a close frame with `code` and `reason`, then the close handshake
        Reset, // RST (SO_LINGER 0, as our misbehaving server does): the peer sees 1006
    };
    Style style = Style::Close;
    quint16 code = 1001; // RFC 6455 §7.4.1: going away
    QString reason = QStringLiteral("relay: cut on purpose");
    bool operator==(const RelayCut &) const = default;
};

struct RelayFaults {
    RelayDirectionFaults up;   // client→server (to the server leg)
    RelayDirectionFaults down; // server→client (to the client leg)
    // Seeds the drop-rate and the jitter draws (each pair draws from its own
    // generators with this seed, per direction): the same seed gives the same drops
    // and the same delays every run.
    quint64 seed = 0;
    // Cut `leg` of every pair once that pair has relayed this many data messages
    // (both directions counted; 0: never).
    int cutAfterMessages = 0;
    RelayLegKind cutLeg = RelayLegKind::Server;
    RelayCut cut;

    const RelayDirectionFaults &toward(RelayLegKind to) const {
        return to == RelayLegKind::Server ? up : down;
    }
    RelayDirectionFaults &toward(RelayLegKind to) { return to == RelayLegKind::Server ? up : down; }
    // "client→server: latency 100 ms; server→client: 5 % of messages dropped; seed 7";
    // "none" when nothing is staged. The seed is said when something is drawn.
    QString describe() const;
    bool operator==(const RelayFaults &) const = default;
};

// The drop-rate draws of one direction of one pair: message n is dropped when the
// n-th draw of a generator seeded with (seed, direction) falls under the share.
class DropDraw {
public:
    DropDraw(quint64 seed, RelayLegKind to);
    // The next message's fate.
    bool drops(double percent);

private:
    QRandomGenerator64 m_generator;
};

// The jitter draws of one direction of one pair: message n is delayed by the latency
// plus the n-th draw, uniform within ±jitter, of a generator seeded with (seed,
// direction). A stream apart from the drops', so that turning jitter on or off does
// not change which messages a drop rate takes.
class JitterDraw {
public:
    JitterDraw(quint64 seed, RelayLegKind to);
    // The next message's delay in microseconds: latencyMs ± jitterMs, never below 0.
    qint64 delayUs(const RelayDirectionFaults &faults);

private:
    QRandomGenerator64 m_generator;
};

} // namespace ws

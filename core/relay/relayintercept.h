#pragma once

#include "log/displayfilter.h"
#include "protocol/opcode.h"
#include "relay/relayleg.h"

#include <QByteArray>
#include <QList>
#include <QMetaType>
#include <QString>

#include <optional>

namespace ws {

// Intercepting a relay's traffic: rules that hold or drop messages on their way
// through a pair, and what a held message looks like to whoever decides its fate.
//
// A direction is named by the leg a message goes out on: to the server leg is
// "up" (client to server), to the client leg is "down" (server to client).

// Which messages a rule takes, and what it does with them. Rules are tried in order;
// the first that matches decides. A message no rule matches goes on (unless one
// before it in the same direction is held: order is never changed).
struct InterceptRule {
    enum class Action : quint8 {
        Hold, // kept in the intercept list until released (maybe edited) or dropped
        Drop, // never forwarded (a Staged note says so)
    };
    Action action = Action::Hold;
    // The direction it applies to; both when empty.
    std::optional<RelayLegKind> to;
    // The log's display filter (core/log/displayfilter.h), evaluated on the two rows the
    // log makes of the message: the one of the leg that received it (`dir == in`) and
    // the one of the leg it goes out on (`dir == out`). The rule takes the message when
    // the log would show either row under the filter, so a rule means what the same
    // filter shows in the log: `leg == client && dir == in` (what the client sent) and
    // `leg == server && dir == out` (what goes to the server) both take the messages
    // going up; `conn` is the leg's log name (relayLegLogName(): "relay 1 #2 client"),
    // `text`, `json.*`, `len`, `opcode`, `kind` as in the log. An empty filter matches
    // every message.
    log::DisplayFilter filter;
    // Ping, pong and close frames are matched too. Off by default: a held ping
    // makes the peer's round trip a measure of the person deciding, and a close
    // held leaves the peer's close handshake waiting (its close timeout runs).
    bool controlFrames = false;

    // A rule holding (or dropping) every message in one direction, or both.
    static InterceptRule all(Action action, std::optional<RelayLegKind> to = std::nullopt);
};

// A message waiting in a pair's intercept list.
struct HeldMessage {
    enum class State : quint8 {
        Held,   // a rule holds it: it waits for release() or drop()
        Queued, // no rule held it, but one before it in its direction is held: it goes
                // on by itself once everything before it has gone (or been dropped)
    };
    quint64 id = 0; // unique in the relay, from 1
    quint64 pair = 0;
    RelayLegKind to = RelayLegKind::Server; // the leg it goes out on
    State state = State::Held;
    // Text or Binary; Ping, Pong or Close when a rule holds control frames. A
    // close's payload is its code (two bytes, network order) then its reason, as
    // on the wire (RFC 6455 §5.5.1); empty for a close without a code.
    Opcode opcode = Opcode::Text;
    QByteArray payload;
    qint64 heldAtUs = 0; // EventClock (core/net/eventclock.h)
    bool edited = false; // release() with a new payload or opcode was asked for

    bool operator==(const HeldMessage &) const = default;
};

// The leg across the pair from `leg`.
inline RelayLegKind otherLeg(RelayLegKind leg) {
    return leg == RelayLegKind::Client ? RelayLegKind::Server : RelayLegKind::Client;
}

// RFC 6455 §5.5: a close reason fits in 123 bytes; cut at a character boundary.
QString relayCloseReason(QString text);

// The log's connection number of one leg: the client leg of pair N is 2N - 1, its
// server leg 2N, so both sort next to each other.
quint32 relayLogConnection(quint64 pair, RelayLegKind leg);
// What a relay's pairs and legs are called in a log, by the command line and the window
// alike: pair N of the relay named `relayName` (RelayOptions::name, "relay 1") is
// "relay 1 #N", its legs "relay 1 #N client" and "relay 1 #N server".
QString relayPairLogName(const QString &relayName, quint64 pair);
QString relayLegLogName(const QString &relayName, quint64 pair, RelayLegKind leg);
// "up" (to the server leg) or "down" (to the client leg).
const char *relayDirectionName(RelayLegKind to);
// "client→server" or "server→client", for notes.
QString relayDirectionArrow(RelayLegKind to);

// The record the log makes of a message (data, or a control frame) on leg `leg` of
// pair `pair`: received there (Incoming) or sent there (Outgoing). What intercept
// rules are evaluated on.
log::LogRecord interceptRecord(quint64 pair, RelayLegKind leg, Opcode opcode,
                               const QByteArray &payload, qint64 timestampUs,
                               Direction direction = Direction::Incoming);

// Evaluates rules on messages: the compiled filters and one evaluation context.
class InterceptMatcher {
public:
    InterceptMatcher() = default;
    // `relayName` names the legs for `conn` (RelayOptions::name).
    InterceptMatcher(QList<InterceptRule> rules, QString relayName);

    const QList<InterceptRule> &rules() const { return m_rules; }
    bool isEmpty() const { return m_rules.isEmpty(); }
    // Whether any rule may take messages going to `to`.
    bool appliesTo(RelayLegKind to) const;
    // The action of the first rule that takes this message, received on the leg
    // opposite `to`; none when it goes on.
    std::optional<InterceptRule::Action> match(quint64 pair, RelayLegKind to, Opcode opcode,
                                               const QByteArray &payload, qint64 timestampUs);

private:
    QList<InterceptRule> m_rules;
    QString m_relayName;
    log::DisplayFilterContext m_context;
};

} // namespace ws

Q_DECLARE_METATYPE(ws::HeldMessage)

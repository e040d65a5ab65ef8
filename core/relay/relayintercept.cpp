#include "relay/relayintercept.h"

#include "net/eventclock.h"

namespace ws {

InterceptRule InterceptRule::all(Action action, std::optional<RelayLegKind> to) {
    InterceptRule rule;
    rule.action = action;
    rule.to = to;
    return rule;
}

QString relayCloseReason(QString text) {
    while (text.toUtf8().size() > 123)
        text.chop(1);
    return text;
}

quint32 relayLogConnection(quint64 pair, RelayLegKind leg) {
    return quint32(pair * 2 - (leg == RelayLegKind::Client ? 1 : 0));
}

QString relayPairLogName(const QString &relayName, quint64 pair) {
    return QStringLiteral("%1 #%2").arg(relayName).arg(pair);
}

QString relayLegLogName(const QString &relayName, quint64 pair, RelayLegKind leg) {
    return QStringLiteral("%1 %2").arg(relayPairLogName(relayName, pair),
                                       QLatin1StringView(relayLegName(leg)));
}

const char *relayDirectionName(RelayLegKind to) {
    return to == RelayLegKind::Server ? "up" : "down";
}

QString relayDirectionArrow(RelayLegKind to) {
    return to == RelayLegKind::Server ? QStringLiteral("client\u2192server")
                                      : QStringLiteral("server\u2192client");
}

log::LogRecord interceptRecord(quint64 pair, RelayLegKind leg, Opcode opcode,
                               const QByteArray &payload, qint64 timestampUs, Direction direction) {
    // As LogStore makes a message's row (a data message without frame rows of its
    // own, or a control frame's row): both views, on that leg.
    log::LogRecord r;
    r.connection = relayLogConnection(pair, leg);
    if (direction == Direction::Outgoing)
        r.set(log::LogRecord::Outgoing);
    r.timestampUs = EventClock::toEpochUs(timestampUs);
    r.kind = log::logKindForOpcode(quint8(opcode));
    r.payload = payload;
    r.length = quint64(payload.size());
    r.frameCount = 1;
    r.set(log::LogRecord::InMessageView);
    r.set(log::LogRecord::InFrameView);
    if (opcode == Opcode::Close && payload.size() >= 2) {
        // RFC 6455 §5.5.1: the first two payload bytes are the status code.
        r.closeCode = quint16((quint8(payload[0]) << 8) | quint8(payload[1]));
        r.set(log::LogRecord::HasCloseCode);
    }
    return r;
}

InterceptMatcher::InterceptMatcher(QList<InterceptRule> rules, QString relayName)
    : m_rules(std::move(rules))
    , m_relayName(std::move(relayName)) {}

bool InterceptMatcher::appliesTo(RelayLegKind to) const {
    return std::any_of(m_rules.cbegin(), m_rules.cend(),
                       [to](const InterceptRule &rule) { return !rule.to || *rule.to == to; });
}

std::optional<InterceptRule::Action> InterceptMatcher::match(quint64 pair, RelayLegKind to,
                                                             Opcode opcode,
                                                             const QByteArray &payload,
                                                             qint64 timestampUs) {
    if (m_rules.isEmpty())
        return std::nullopt;
    const RelayLegKind from = otherLeg(to);
    const bool control = isControl(opcode);
    // The message's two rows: received on `from`, sent on `to`.
    std::optional<log::LogRecord> received;
    std::optional<log::LogRecord> sent;
    for (const InterceptRule &rule : std::as_const(m_rules)) {
        if ((rule.to && *rule.to != to) || (control && !rule.controlFrames))
            continue;
        if (rule.filter.isEmpty())
            return rule.action;
        if (!received) {
            received = interceptRecord(pair, from, opcode, payload, timestampUs);
            sent = interceptRecord(pair, to, opcode, payload, timestampUs, Direction::Outgoing);
            for (const RelayLegKind leg : {from, to}) {
                const quint32 connection = relayLogConnection(pair, leg);
                m_context.setConnectionName(connection, relayLegLogName(m_relayName, pair, leg));
                m_context.setConnectionLeg(
                    connection, leg == RelayLegKind::Client ? log::Leg::Client : log::Leg::Server);
            }
        }
        if (rule.filter.matches(*received, nullptr, m_context) ||
            rule.filter.matches(*sent, nullptr, m_context))
            return rule.action;
    }
    return std::nullopt;
}

} // namespace ws

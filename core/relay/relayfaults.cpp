#include "relay/relayfaults.h"

#include "relay/relayintercept.h"

#include <QStringList>

#include <algorithm>

namespace ws {

QString RelayDirectionFaults::describe() const {
    QStringList parts;
    if (latencyMs > 0 || jitterMs > 0)
        parts.append(jitterMs > 0
                         ? QStringLiteral("latency %1 ms \u00b1%2 ms").arg(latencyMs).arg(jitterMs)
                         : QStringLiteral("latency %1 ms").arg(latencyMs));
    if (bytesPerSecond > 0)
        parts.append(QStringLiteral("throttled to %1 bytes/s").arg(bytesPerSecond));
    if (dropPercent > 0)
        parts.append(QStringLiteral("%1 % of messages dropped").arg(dropPercent));
    return parts.join(QStringLiteral(", "));
}

QString RelayFaults::describe() const {
    QStringList parts;
    for (const RelayLegKind to : {RelayLegKind::Server, RelayLegKind::Client})
        if (const QString what = toward(to).describe(); !what.isEmpty())
            parts.append(QStringLiteral("%1: %2").arg(relayDirectionArrow(to), what));
    if (cutAfterMessages > 0)
        parts.append(QStringLiteral("cut the %1 leg after %2 messages")
                         .arg(QLatin1StringView(relayLegName(cutLeg)))
                         .arg(cutAfterMessages));
    if (up.jitterMs > 0 || up.dropPercent > 0 || down.jitterMs > 0 || down.dropPercent > 0)
        parts.append(QStringLiteral("seed %1").arg(seed));
    return parts.isEmpty() ? QStringLiteral("none") : parts.join(QStringLiteral("; "));
}

namespace {

// Which draws a generator makes: each kind its own stream per direction.
enum class Stream : quint32 { Drops = 1, Jitter = 3 };

// The whole 64-bit seed, the direction and the kind of draw: streams from one seed
// that do not depend on each other.
QRandomGenerator64 seededGenerator(quint64 seed, RelayLegKind to, Stream stream) {
    const quint32 words[3] = {quint32(seed), quint32(seed >> 32),
                              quint32(stream) + (to == RelayLegKind::Server ? 0u : 1u)};
    return QRandomGenerator64(words, 3);
}

} // namespace

DropDraw::DropDraw(quint64 seed, RelayLegKind to)
    : m_generator(seededGenerator(seed, to, Stream::Drops)) {}

bool DropDraw::drops(double percent) {
    if (percent <= 0)
        return false;
    return m_generator.bounded(100.0) < percent;
}

JitterDraw::JitterDraw(quint64 seed, RelayLegKind to)
    : m_generator(seededGenerator(seed, to, Stream::Jitter)) {}

qint64 JitterDraw::delayUs(const RelayDirectionFaults &faults) {
    qint64 delay = qint64(faults.latencyMs) * 1000;
    if (faults.jitterMs > 0)
        delay += m_generator.bounded(qint64(-faults.jitterMs) * 1000,
                                     qint64(faults.jitterMs) * 1000 + 1);
    return std::max<qint64>(delay, 0);
}

} // namespace ws

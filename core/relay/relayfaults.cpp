#include "relay/relayfaults.h"

#include <QStringList>

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

namespace {

// The whole 64-bit seed and the direction: two streams from one seed, so the
// directions' draws do not depend on each other.
QRandomGenerator64 seededGenerator(quint64 seed, RelayLegKind to) {
    const quint32 words[3] = {quint32(seed), quint32(seed >> 32),
                              to == RelayLegKind::Server ? 1u : 2u};
    return QRandomGenerator64(words, 3);
}

} // namespace

DropDraw::DropDraw(quint64 seed, RelayLegKind to)
    : m_generator(seededGenerator(seed, to)) {}

bool DropDraw::drops(double percent) {
    if (percent <= 0)
        return false;
    return m_generator.bounded(100.0) < percent;
}

} // namespace ws

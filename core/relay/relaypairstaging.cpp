// RelayPair's intercept and faults: what waits to go out on each leg, held by a
// rule, delayed by latency or throttling, or queued behind those, and the staged
// actions (drops, edits, injections, cuts), each announced as a Staged note.

#include "relay/relaypair.h"

#include "log/logrecord.h"

#include <algorithm>

#include <sys/socket.h>

namespace ws {

namespace {

// What waits for added latency or a throttle: a coarse timer would add its own delay.
constexpr Qt::TimerType PreciseOutboundTimer = Qt::PreciseTimer;

// RFC 6455 §5.5.1: a close payload is the code (network order) then the reason.
QByteArray closePayload(std::optional<quint16> code, const QString &reason) {
    if (!code)
        return {};
    QByteArray payload;
    payload.append(char(*code >> 8));
    payload.append(char(*code & 0xFF));
    payload.append(reason.toUtf8());
    return payload;
}

std::optional<quint16> closePayloadCode(const QByteArray &payload) {
    if (payload.size() < 2)
        return std::nullopt;
    return quint16((quint8(payload[0]) << 8) | quint8(payload[1]));
}

QString opcodeWord(Opcode opcode) {
    return QString::fromLatin1(log::logKindName(log::logKindForOpcode(quint8(opcode))));
}

// "text message #4 (12 bytes) going up (client→server)"
QString describeWaiting(RelayLegKind to, Opcode opcode, qint64 size, quint64 id) {
    return QStringLiteral("%1 %2%3 (%4 bytes) going %5 (%6)")
        .arg(opcodeWord(opcode),
             isData(opcode) ? QStringLiteral("message") : QStringLiteral("frame"),
             id ? QStringLiteral(" #%1").arg(id) : QString())
        .arg(size)
        .arg(QLatin1StringView(relayDirectionName(to)), relayDirectionArrow(to));
}

bool isPingOrPong(Opcode opcode) {
    return opcode == Opcode::Ping || opcode == Opcode::Pong;
}

} // namespace

void RelayPair::setStaging(RelayStaging *staging) {
    m_staging = staging;
    m_drawSeed = faults().seed;
}

const RelayFaults &RelayPair::faults() const {
    static const RelayFaults none;
    if (m_ownFaults)
        return *m_ownFaults;
    return m_staging ? m_staging->faults : none;
}

void RelayPair::setOwnFaults(std::optional<RelayFaults> faults) {
    m_ownFaults = std::move(faults);
    stagingChanged();
}

void RelayPair::stagingChanged() {
    // A new seed starts the draws again: message n of a run with that seed is
    // dropped or delayed as message n of any other.
    if (faults().seed != m_drawSeed) {
        m_drawSeed = faults().seed;
        for (Outbound &out : m_outbound) {
            out.draw.reset();
            out.jitter.reset();
        }
    }
    if (m_clientAnswered && m_server && m_server->state() == SessionState::Open)
        announceFaults();
    for (const RelayLegKind to : {RelayLegKind::Client, RelayLegKind::Server}) {
        retime(to);
        flushOutbound(to);
    }
}

void RelayPair::retime(RelayLegKind to) {
    Outbound &out = outbound(to);
    if (out.queue.empty())
        return;
    const RelayDirectionFaults &now = faults().toward(to);
    const qint64 latencyUs = qint64(now.latencyMs) * 1000;
    const qint64 jitterUs = qint64(now.jitterMs) * 1000;
    qint64 previousDue = 0;
    for (Waiting &waiting : out.queue) {
        qint64 due = waiting.arrivedUs;
        if (waiting.delayed)
            due +=
                std::max<qint64>(latencyUs + std::clamp(waiting.jitterUs, -jitterUs, jitterUs), 0);
        // Order is kept: nothing goes before the one ahead of it.
        waiting.dueUs = std::max(due, previousDue);
        previousDue = waiting.dueUs;
    }
    out.lastDueUs = previousDue;
}

void RelayPair::announceFaults() {
    if (!m_staging)
        return;
    const RelayFaults &all = faults();
    for (const RelayLegKind to : {RelayLegKind::Server, RelayLegKind::Client}) {
        Outbound &out = outbound(to);
        const RelayDirectionFaults &these = all.toward(to);
        QString what = these.describe();
        // What the seed draws is said with it, so that a run can be repeated
        // (`wsw relay --seed N`).
        if (these.jitterMs > 0 || these.dropPercent > 0)
            what += QStringLiteral(" (seed %1)").arg(all.seed);
        const QString direction =
            QStringLiteral("going %1 (%2)")
                .arg(QLatin1StringView(relayDirectionName(to)), relayDirectionArrow(to));
        QString note;
        if (m_ownFaults)
            note = QStringLiteral("faults for this pair %1: %2")
                       .arg(direction, what.isEmpty() ? QStringLiteral("none") : what);
        else if (out.announcedOwn)
            note = QStringLiteral("the relay's faults again %1: %2")
                       .arg(direction, what.isEmpty() ? QStringLiteral("none") : what);
        else if (!what.isEmpty())
            note = QStringLiteral("faults %1: %2").arg(direction, what);
        else if (!out.announcedFaults.isEmpty())
            note = QStringLiteral("no more faults %1").arg(direction);
        if (note.isEmpty() || note == out.announcedFaults)
            continue;
        stagedNote(to, note);
        out.announcedOwn = m_ownFaults.has_value();
        // After "no more faults", nothing staged and nothing now is not news.
        out.announcedFaults = what.isEmpty() && !m_ownFaults ? QString() : note;
    }
}

bool RelayPair::isStaged(RelayLegKind to) const {
    if (!m_staging)
        return false;
    return m_staging->matcher.appliesTo(to) || faults().toward(to).isActive() ||
           (faults().cutAfterMessages > 0 && !m_cutDone);
}

bool RelayPair::takesWholeMessage(RelayLegKind to, const FrameEvent &event) {
    const Opcode opcode = event.frame.header.op();
    if (opcode != Opcode::Continuation && !isData(opcode))
        return false;
    Outbound &out = outbound(to);
    // Decided at a message's first frame: a message is forwarded one way or the other.
    if (opcode != Opcode::Continuation)
        out.wholeMessages = isStaged(to) || !out.queue.empty();
    if (out.wholeMessages)
        return true;
    const bool fin = event.frame.header.fin;
    out.midFragment = !fin;
    // What was injected meanwhile waits for the end of the fragmented message
    // (RFC 6455 §5.4): this last frame goes out right after this check.
    if (fin && !out.queue.empty())
        postFlush(to);
    return false;
}

bool RelayPair::wantsWholeMessage(RelayLegKind from) const {
    return outbound(otherLeg(from)).wholeMessages;
}

bool RelayPair::stageMessage(RelayLegKind to, Opcode opcode, const QByteArray &payload) {
    if (!m_staging)
        return false;
    Outbound &out = outbound(to);
    if (!isStaged(to) && out.queue.empty())
        return false;
    const qint64 now = EventClock::nowUs();
    Waiting waiting;
    waiting.opcode = opcode;
    waiting.payload = payload;
    waiting.arrivedUs = now;
    const std::optional<InterceptRule::Action> action =
        m_staging->matcher.match(m_id, to, opcode, payload, now);
    if (action == InterceptRule::Action::Drop) {
        stagedNote(to, QStringLiteral("dropped a %1: an intercept rule matched")
                           .arg(describeWaiting(to, opcode, payload.size(), 0)));
        return true;
    }
    const RelayDirectionFaults &faults = this->faults().toward(to);
    if (!action && isData(opcode) && faults.dropPercent > 0) {
        if (!out.draw)
            out.draw.emplace(m_drawSeed, to);
        if (out.draw->drops(faults.dropPercent)) {
            stagedNote(to, QStringLiteral("dropped a %1: drop rate %2 %")
                               .arg(describeWaiting(to, opcode, payload.size(), 0))
                               .arg(faults.dropPercent));
            return true;
        }
    }
    waiting.held = action == InterceptRule::Action::Hold;
    enqueue(to, std::move(waiting), true);
    // Behind a held entry only a ping or a pong can go now.
    if (out.heldCount == 0 || isPingOrPong(opcode))
        flushOutbound(to);
    return true;
}

bool RelayPair::stageClose(RelayLegKind to, const CloseEvent &event) {
    if (!m_staging || (!isStaged(to) && outbound(to).queue.empty()))
        return false;
    return stageMessage(to, Opcode::Close, closePayload(event.code, event.reason));
}

void RelayPair::enqueue(RelayLegKind to, Waiting waiting, bool delayed) {
    Outbound &out = outbound(to);
    const RelayDirectionFaults &faults = this->faults().toward(to);
    qint64 due = waiting.arrivedUs;
    if (delayed && (faults.latencyMs > 0 || faults.jitterMs > 0)) {
        if (!out.jitter)
            out.jitter.emplace(m_drawSeed, to);
        const qint64 delayUs = out.jitter->delayUs(faults);
        due = waiting.arrivedUs + delayUs;
        waiting.delayed = true;
        waiting.jitterUs = delayUs - qint64(faults.latencyMs) * 1000;
        // A drawn delay is said, so that a run can be compared with another of the
        // same seed; a fixed latency was said once, when the faults were set.
        if (faults.jitterMs > 0)
            stagedNote(to, QStringLiteral("delaying a %1 by %2 ms (latency %3 ms \u00b1%4 ms)")
                               .arg(describeWaiting(to, waiting.opcode, waiting.payload.size(), 0),
                                    QString::number(double(delayUs) / 1000, 'f', 3))
                               .arg(faults.latencyMs)
                               .arg(faults.jitterMs));
    }
    // Order is kept: nothing goes before the one ahead of it.
    waiting.dueUs = std::max(due, out.lastDueUs);
    out.lastDueUs = waiting.dueUs;
    if (waiting.held || out.heldCount > 0)
        waiting.id = m_staging->nextHeldId++;
    out.bytes += waiting.payload.size();
    if (waiting.held)
        ++out.heldCount;
    out.queue.push_back(std::move(waiting));
    if (out.queue.back().id)
        emit messageHeld(heldMessage(to, out.queue.back()));
    heldAmountChanged();
    const qint64 limit = m_options.heldBytesLimit;
    if (limit > 0 && !out.readPaused && heldBytes() > limit) {
        out.readPaused = true;
        const RelayLegKind from = otherLeg(to);
        log(QStringLiteral("%1 leg: not read while %2 messages (%3 bytes) are kept back "
                           "(limit %4 bytes)")
                .arg(QLatin1StringView(relayLegName(from)))
                .arg(heldCount())
                .arg(heldBytes())
                .arg(limit));
        applyPaused(from);
    }
}

RelayPair::Waiting RelayPair::takeWaiting(RelayLegKind to, std::deque<Waiting>::iterator it) {
    Outbound &out = outbound(to);
    Waiting waiting = std::move(*it);
    out.queue.erase(it);
    out.bytes -= waiting.payload.size();
    if (waiting.held)
        --out.heldCount;
    if (out.queue.empty())
        out.lastDueUs = 0;
    return waiting;
}

void RelayPair::flushOutbound(RelayLegKind to) {
    Outbound &out = outbound(to);
    // RFC 6455 §5.4: nothing comes between the pieces of a frame; what waits goes
    // after its last piece (forwardObservedPiece()).
    if (const Connection *target = leg(to); target && target->session().isSendingPieces())
        return;
    const RelayDirectionFaults *faults = m_staging ? &this->faults().toward(to) : nullptr;
    bool sentOne = true;
    while (sentOne) {
        sentOne = false;
        const qint64 now = EventClock::nowUs();
        bool behindHeld = false;
        for (auto it = out.queue.begin(); it != out.queue.end(); ++it) {
            if (it->held) {
                behindHeld = true;
                continue;
            }
            // Pings and pongs are not held back by a held message; data and a close
            // never overtake one.
            if (behindHeld && !isPingOrPong(it->opcode))
                continue;
            if (out.midFragment && isData(it->opcode))
                break;
            if (it->dueUs > now) {
                out.timer.start(int((it->dueUs - now + 999) / 1000), PreciseOutboundTimer, this);
                break;
            }
            if (faults && faults->bytesPerSecond > 0 && out.nextSendUs > now) {
                out.timer.start(int((out.nextSendUs - now + 999) / 1000), PreciseOutboundTimer,
                                this);
                break;
            }
            if (faults && faults->bytesPerSecond > 0)
                out.nextSendUs = std::max(out.nextSendUs, now) +
                                 it->payload.size() * 1'000'000 / faults->bytesPerSecond;
            // Taken out before it is sent: sending reports events, and what they cause
            // (a cut, a leg ending) may change the queue.
            const Waiting waiting = takeWaiting(to, it);
            sendWaiting(to, waiting);
            sentOne = true;
            break;
        }
    }
    heldAmountChanged();
    if (out.queue.empty() && out.endAfterQueue) {
        const ClosedEvent closed = *out.endAfterQueue;
        out.endAfterQueue.reset();
        legEnded(otherLeg(to), closed);
    }
}

void RelayPair::postFlush(RelayLegKind to) {
    Outbound &out = outbound(to);
    if (out.flushPosted)
        return;
    out.flushPosted = true;
    QMetaObject::invokeMethod(
        this,
        [this, to] {
            outbound(to).flushPosted = false;
            flushOutbound(to);
        },
        Qt::QueuedConnection);
}

void RelayPair::sendWaiting(RelayLegKind to, const Waiting &waiting) {
    Connection *target = leg(to);
    const bool open = target && !target->isFinished();
    if (open && !waiting.noteWhenSent.isEmpty())
        stagedNote(to, waiting.noteWhenSent);
    if (open) {
        switch (waiting.opcode) {
        case Opcode::Text:
            checkSent(to, target->sendText(waiting.payload));
            break;
        case Opcode::Binary:
            checkSent(to, target->sendBinary(waiting.payload));
            break;
        case Opcode::Ping:
            checkSent(to, target->sendPing(waiting.payload));
            break;
        case Opcode::Pong:
            checkSent(to, target->sendPong(waiting.payload));
            break;
        case Opcode::Close:
            // As forwardClose(): once this leg has sent its close there is nothing
            // more to say on it.
            if (!target->session().closeSent())
                checkSent(to, target->sendClose(closePayloadCode(waiting.payload),
                                                QString::fromUtf8(waiting.payload.mid(2))));
            break;
        case Opcode::Continuation:
            break;
        }
    }
    if (waiting.id)
        emit heldMessageRemoved(waiting.id, m_id, open);
    if (!open)
        return;
    if (isData(waiting.opcode)) {
        applyBackPressure(to);
        countRelayed();
    }
}

void RelayPair::discardOutbound(RelayLegKind to, const QString &why) {
    Outbound &out = outbound(to);
    out.timer.stop();
    out.endAfterQueue.reset();
    out.midFragment = false;
    if (out.queue.empty())
        return;
    std::deque<Waiting> gone;
    gone.swap(out.queue);
    const qint64 bytes = out.bytes;
    out.bytes = 0;
    out.heldCount = 0;
    out.lastDueUs = 0;
    for (const Waiting &waiting : gone)
        if (waiting.id)
            emit heldMessageRemoved(waiting.id, m_id, false);
    log(QStringLiteral("%1 messages (%2 bytes) waiting to go %3 (%4) discarded: %5")
            .arg(gone.size())
            .arg(bytes)
            .arg(QLatin1StringView(relayDirectionName(to)), relayDirectionArrow(to), why));
    heldAmountChanged();
}

RelayPair::Waiting *RelayPair::findWaiting(quint64 id, RelayLegKind *to) {
    for (const RelayLegKind kind : {RelayLegKind::Server, RelayLegKind::Client}) {
        for (Waiting &waiting : outbound(kind).queue) {
            if (waiting.id == id) {
                *to = kind;
                return &waiting;
            }
        }
    }
    return nullptr;
}

HeldMessage RelayPair::heldMessage(RelayLegKind to, const Waiting &waiting) const {
    HeldMessage message;
    message.id = waiting.id;
    message.pair = m_id;
    message.to = to;
    message.state = waiting.held ? HeldMessage::State::Held : HeldMessage::State::Queued;
    message.opcode = waiting.opcode;
    message.payload = waiting.payload;
    message.heldAtUs = waiting.arrivedUs;
    message.edited = waiting.edited;
    return message;
}

QList<HeldMessage> RelayPair::heldMessages() const {
    QList<HeldMessage> list;
    for (const RelayLegKind to : {RelayLegKind::Server, RelayLegKind::Client})
        for (const Waiting &waiting : outbound(to).queue)
            if (waiting.id)
                list.append(heldMessage(to, waiting));
    return list;
}

bool RelayPair::holds(quint64 id) const {
    for (const Outbound &out : m_outbound)
        for (const Waiting &waiting : out.queue)
            if (waiting.id == id)
                return true;
    return false;
}

bool RelayPair::release(quint64 id, std::optional<Opcode> opcode, const QByteArray *payload) {
    RelayLegKind to = RelayLegKind::Server;
    Waiting *waiting = findWaiting(id, &to);
    if (!waiting)
        return false;
    Outbound &out = outbound(to);
    const qint64 heldMs = (EventClock::nowUs() - waiting->arrivedUs) / 1000;
    if (payload) {
        const Opcode before = waiting->opcode;
        const qint64 sizeBefore = waiting->payload.size();
        // A data message may change type; a control frame stays what it is.
        if (opcode && isData(*opcode) && isData(before))
            waiting->opcode = *opcode;
        out.bytes += payload->size() - sizeBefore;
        waiting->payload = *payload;
        waiting->edited = true;
        waiting->noteWhenSent =
            QStringLiteral("released %1 edited after %2 ms (it came as a %3 of %4 bytes)")
                .arg(describeWaiting(to, waiting->opcode, payload->size(), id))
                .arg(heldMs)
                .arg(opcodeWord(before))
                .arg(sizeBefore);
    } else if (waiting->held) {
        waiting->noteWhenSent =
            QStringLiteral("released %1 after %2 ms held")
                .arg(describeWaiting(to, waiting->opcode, waiting->payload.size(), id))
                .arg(heldMs);
    }
    if (waiting->held) {
        waiting->held = false;
        --out.heldCount;
    }
    flushOutbound(to);
    return true;
}

bool RelayPair::drop(quint64 id) {
    for (const RelayLegKind to : {RelayLegKind::Server, RelayLegKind::Client}) {
        std::deque<Waiting> &queue = outbound(to).queue;
        const auto it = std::find_if(queue.begin(), queue.end(),
                                     [id](const Waiting &waiting) { return waiting.id == id; });
        if (it == queue.end())
            continue;
        const Waiting waiting = takeWaiting(to, it);
        stagedNote(to, QStringLiteral("dropped held %1")
                           .arg(describeWaiting(to, waiting.opcode, waiting.payload.size(), id)));
        emit heldMessageRemoved(id, m_id, false);
        flushOutbound(to);
        return true;
    }
    return false;
}

int RelayPair::releaseAllTo(RelayLegKind to) {
    Outbound &out = outbound(to);
    int count = 0;
    const qint64 now = EventClock::nowUs();
    for (Waiting &waiting : out.queue) {
        if (!waiting.held)
            continue;
        waiting.held = false;
        waiting.noteWhenSent =
            QStringLiteral("released %1 after %2 ms held")
                .arg(describeWaiting(to, waiting.opcode, waiting.payload.size(), waiting.id))
                .arg((now - waiting.arrivedUs) / 1000);
        ++count;
    }
    out.heldCount = 0;
    if (count)
        flushOutbound(to);
    return count;
}

int RelayPair::dropAllTo(RelayLegKind to) {
    Outbound &out = outbound(to);
    int count = 0;
    qint64 bytes = 0;
    for (auto it = out.queue.begin(); it != out.queue.end();) {
        if (!it->id) {
            ++it;
            continue;
        }
        const quint64 id = it->id;
        bytes += it->payload.size();
        takeWaiting(to, it);
        // takeWaiting() erased it: start again from the front.
        it = out.queue.begin();
        ++count;
        emit heldMessageRemoved(id, m_id, false);
    }
    if (count) {
        stagedNote(to,
                   QStringLiteral("dropped %1 held messages (%2 bytes) going %3 (%4)")
                       .arg(count)
                       .arg(bytes)
                       .arg(QLatin1StringView(relayDirectionName(to)), relayDirectionArrow(to)));
        flushOutbound(to);
    }
    return count;
}

int RelayPair::releaseAll(std::optional<RelayLegKind> to) {
    return eachDirection(to, &RelayPair::releaseAllTo);
}

int RelayPair::dropAll(std::optional<RelayLegKind> to) {
    return eachDirection(to, &RelayPair::dropAllTo);
}

int RelayPair::eachDirection(std::optional<RelayLegKind> to,
                             int (RelayPair::*action)(RelayLegKind)) {
    int count = 0;
    for (const RelayLegKind kind : {RelayLegKind::Server, RelayLegKind::Client})
        if (!to || *to == kind)
            count += (this->*action)(kind);
    return count;
}

bool RelayPair::inject(RelayLegKind to, Opcode opcode, const QByteArray &payload, bool resent) {
    Connection *target = leg(to);
    if (!m_staging || !target || target->isFinished() || target->state() != SessionState::Open ||
        !(isData(opcode) || isPingOrPong(opcode)))
        return false;
    Waiting waiting;
    waiting.opcode = opcode;
    waiting.payload = payload;
    waiting.arrivedUs = EventClock::nowUs();
    waiting.noteWhenSent = QStringLiteral("%1 a %2").arg(
        resent ? QStringLiteral("sent again") : QStringLiteral("injected"),
        describeWaiting(to, opcode, payload.size(), 0));
    enqueue(to, std::move(waiting), false);
    flushOutbound(to);
    return true;
}

bool RelayPair::injectClose(RelayLegKind to, quint16 code, const QString &reason) {
    Connection *target = leg(to);
    if (!m_staging || !target || target->isFinished() || target->state() != SessionState::Open ||
        target->session().closeSent())
        return false;
    Waiting waiting;
    waiting.opcode = Opcode::Close;
    waiting.payload = closePayload(code, relayCloseReason(reason));
    waiting.arrivedUs = EventClock::nowUs();
    waiting.noteWhenSent =
        QStringLiteral("injected a close %1 going %2 (%3)")
            .arg(code)
            .arg(QLatin1StringView(relayDirectionName(to)), relayDirectionArrow(to));
    enqueue(to, std::move(waiting), false);
    flushOutbound(to);
    return true;
}

bool RelayPair::cut(RelayLegKind kind, const RelayCut &how) {
    Connection *target = leg(kind);
    if (!target || target->isFinished())
        return false;
    discardOutbound(
        kind, QStringLiteral("the %1 leg was cut").arg(QLatin1StringView(relayLegName(kind))));
    if (how.style == RelayCut::Style::Close) {
        if (target->session().closeSent() || target->state() != SessionState::Open)
            return false;
        stagedNote(kind, QStringLiteral("cut the %1 leg: close %2 %3")
                             .arg(QLatin1StringView(relayLegName(kind)))
                             .arg(how.code)
                             .arg(how.reason));
        closeLeg(kind, how.code, how.reason);
        return true;
    }
    stagedNote(kind, QStringLiteral("cut the %1 leg: TCP reset (RST), no close frame")
                         .arg(QLatin1StringView(relayLegName(kind))));
    // SO_LINGER with a zero timeout: close(2) resets the connection instead of
    // sending a FIN, as our misbehaving server's Reset does.
    if (const qintptr descriptor = target->socketDescriptor(); descriptor >= 0) {
        const linger reset{1, 0};
        ::setsockopt(int(descriptor), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
    target->abort();
    return true;
}

void RelayPair::countRelayed() {
    const RelayFaults &all = faults();
    if (!m_staging || m_cutDone || all.cutAfterMessages <= 0)
        return;
    if (++m_relayedMessages < all.cutAfterMessages)
        return;
    m_cutDone = true;
    // Copied: the cut reports events, whose handlers may change the faults.
    const RelayLegKind leg = all.cutLeg;
    const RelayCut how = all.cut;
    log(QStringLiteral("%1 messages relayed: cutting the %2 leg")
            .arg(m_relayedMessages)
            .arg(QLatin1StringView(relayLegName(leg))));
    cut(leg, how);
}

int RelayPair::heldCount() const {
    return int(outbound(RelayLegKind::Client).queue.size() +
               outbound(RelayLegKind::Server).queue.size());
}

qint64 RelayPair::heldBytes() const {
    return outbound(RelayLegKind::Client).bytes + outbound(RelayLegKind::Server).bytes;
}

void RelayPair::heldAmountChanged() {
    const int count = heldCount();
    const qint64 bytes = heldBytes();
    emit heldChanged(m_id, count, bytes);
    const qint64 limit = m_options.heldBytesLimit;
    if (bytes > limit / 2)
        return;
    for (const RelayLegKind to : {RelayLegKind::Server, RelayLegKind::Client}) {
        Outbound &out = outbound(to);
        if (!out.readPaused)
            continue;
        out.readPaused = false;
        const RelayLegKind from = otherLeg(to);
        log(QStringLiteral("%1 leg: read again (%2 bytes kept back)")
                .arg(QLatin1StringView(relayLegName(from)))
                .arg(bytes));
        applyPaused(from);
    }
}

void RelayPair::stagedNote(RelayLegKind leg, const QString &text) {
    NoteEvent note;
    note.timestampUs = EventClock::nowUs();
    note.note.kind = ConformanceNote::Kind::Staged;
    note.note.text = text;
    reportLegEvent(leg, SessionEvent(note));
}

} // namespace ws

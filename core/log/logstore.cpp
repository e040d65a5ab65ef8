#include "log/logstore.h"

#include "net/eventclock.h"
#include "protocol/masking.h"
#include "protocol/opcode.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace ws::log {

namespace {

// glibc malloc: 8 bytes of header, 16-byte granules, 32 bytes at least.
qint64 mallocBlock(qint64 bytes) {
    if (bytes <= 0)
        return 0;
    return std::max<qint64>(32, (bytes + 8 + 15) & ~qint64(15));
}

// A payload that is a small view into a much larger buffer (or into memory someone
// else owns) is copied, so the log does not pin the decoder's buffers.
QByteArray compacted(const QByteArray &payload) {
    if (payload.isEmpty())
        return {};
    const qsizetype capacity = payload.capacity();
    if (capacity == 0 || (capacity - payload.size() > 64 && capacity > 2 * payload.size()))
        return QByteArray(payload.constData(), payload.size());
    return payload;
}

// Bytes [offset, offset + size) of `block`, sharing its allocation (empty: null). Bytes
// the array does not own (QByteArray::fromRawData) are copied.
QByteArray sharedSlice(const QByteArray &block, qsizetype offset, qsizetype size) {
    if (size <= 0)
        return {};
    QByteArray slice = block;
    QByteArray::DataPointer &d = slice.data_ptr();
    if (!d.d)
        return QByteArray(block.constData() + offset, size);
    d.ptr += offset;
    d.size = size;
    return slice;
}

// The allocation holding a payload's bytes, which other payloads may share.
const QArrayData *allocationOf(const QByteArray &payload) {
    return const_cast<QByteArray &>(payload).data_ptr().d;
}

quint32 sendDelay(qint64 sentUs, qint64 queuedUs) {
    return quint32(std::clamp<qint64>(sentUs - queuedUs, 0, std::numeric_limits<quint32>::max()));
}

} // namespace

const char *legName(Leg leg) {
    switch (leg) {
    case Leg::Client:
        return "client";
    case Leg::Server:
        return "server";
    case Leg::None:
        break;
    }
    return "none";
}

Leg legFromName(QStringView name) {
    if (name == QLatin1String("client"))
        return Leg::Client;
    if (name == QLatin1String("server"))
        return Leg::Server;
    return Leg::None;
}

LogStore::LogStore()
    : m_clockOffsetUs(EventClock::epochOffsetUs()) {}
LogStore::~LogStore() = default;

const LogRecordExtra *LogStore::extra(qsizetype index) const {
    return extraOf(at(index), index);
}

const LogRecordExtra *LogStore::extraOf(const LogRecord &record, qsizetype index) const {
    if (record.extra == LogRecord::NoExtra)
        return nullptr;
    const Chunk &chunk = *m_chunks[size_t((index + m_front) / ChunkSize)];
    return &chunk.extras[record.extra];
}

LogRecord LogStore::newRecord(quint32 connection, qint64 eventTimeUs, LogKind kind) const {
    LogRecord r;
    r.connection = connection;
    r.timestampUs = eventTimeUs + m_clockOffsetUs;
    r.kind = kind;
    return r;
}

LogRecord LogStore::newRow(quint32 connection, qint64 eventTimeUs, LogKind kind) {
    stateFor(connection);
    LogRecord r = newRecord(connection, eventTimeUs, kind);
    r.set(LogRecord::InFrameView);
    r.set(LogRecord::InMessageView);
    return r;
}

void LogStore::setConnectionInfo(quint32 connection, const ConnectionInfo &info) {
    m_connections.insert(connection, info);
    m_maxConnectionId = m_anyConnection ? std::max(m_maxConnectionId, connection) : connection;
    m_anyConnection = true;
}

Leg LogStore::connectionLeg(quint32 connection) const {
    const auto it = m_connections.constFind(connection);
    return it == m_connections.constEnd() ? Leg::None : it->leg;
}

ConnectionInfo LogStore::connectionInfo(quint32 connection) const {
    return m_connections.value(connection);
}

QString LogStore::connectionName(quint32 connection) const {
    const auto it = m_connections.constFind(connection);
    if (it != m_connections.constEnd() && !it->name.isEmpty())
        return it->name;
    return QLatin1Char('#') + QString::number(connection);
}

QList<quint32> LogStore::connectionIds() const {
    QList<quint32> ids = m_connections.keys();
    for (auto it = m_states.constBegin(); it != m_states.constEnd(); ++it) {
        if (!m_connections.contains(it.key()))
            ids.append(it.key());
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

quint32 LogStore::unusedConnectionId() const {
    return m_anyConnection ? m_maxConnectionId + 1 : 1;
}

void LogStore::commit(LogRecord record, const LogRecordExtra *extra, bool inTimeOrder) {
    if (extra && extra->isEmpty())
        extra = nullptr;
    qsizetype index = m_size;
    if (inTimeOrder && m_timeOrdered) {
        // Late arrivals are a few records behind at most: a short walk back, bounded
        // for a log whose imported records lie in the future.
        const qsizetype stop = std::max<qsizetype>(0, m_size - MaxReorderDistance);
        while (index > stop && at(index - 1).timestampUs > record.timestampUs)
            --index;
        if (index == stop && stop > 0)
            index = m_size;
    }
    if (m_chunks.empty() || m_chunks.back()->records.size() == size_t(ChunkSize))
        m_chunks.push_back(std::make_unique<Chunk>());
    m_maxConnectionId =
        m_anyConnection ? std::max(m_maxConnectionId, record.connection) : record.connection;
    m_anyConnection = true;
    if (!m_hasTimeOrigin || (index == 0 && record.timestampUs < m_timeOriginUs)) {
        m_timeOriginUs = record.timestampUs;
        m_hasTimeOrigin = true;
    }
    if (index == m_size) {
        Chunk &chunk = *m_chunks.back();
        if (!extra) {
            record.extra = LogRecord::NoExtra;
        } else {
            record.extra = quint32(chunk.extras.size());
            chunk.extras.push_back(*extra);
        }
        chunk.records.push_back(std::move(record));
        ++m_size;
        return;
    }
    openGap(index);
    Chunk &chunk = chunkOf(index);
    if (!extra) {
        record.extra = LogRecord::NoExtra;
    } else {
        record.extra = quint32(chunk.extras.size());
        chunk.extras.push_back(*extra);
    }
    recordAt(index) = std::move(record);
    for (qsizetype &earlier : m_insertions) {
        if (earlier >= index)
            ++earlier;
    }
    m_insertions.insert(std::upper_bound(m_insertions.begin(), m_insertions.end(), index), index);
}

void LogStore::openGap(qsizetype index) {
    // A new slot at the end (the last chunk has room), then every record from
    // `index` on moves up one; a record that crosses into the next chunk takes its
    // extra along (the slot it leaves behind stays, empty, until the chunk goes).
    m_chunks.back()->records.emplace_back();
    ++m_size;
    for (qsizetype i = m_size - 1; i > index; --i) {
        Chunk &from = chunkOf(i - 1);
        Chunk &to = chunkOf(i);
        LogRecord &target = recordAt(i);
        target = std::move(recordAt(i - 1));
        if (&from != &to && target.extra != LogRecord::NoExtra) {
            to.extras.push_back(std::exchange(from.extras[target.extra], LogRecordExtra()));
            target.extra = quint32(to.extras.size() - 1);
        }
    }
}

std::vector<qsizetype> LogStore::takeInsertions() {
    return std::exchange(m_insertions, {});
}

void LogStore::commitSentFragments(bool messageFollows) {
    for (Pending &pending : m_sentFragments) {
        LogRecord &r = pending.record;
        if (messageFollows)
            ++stateFor(r.connection).unmergedFrames[1];
        else
            r.set(LogRecord::InMessageView); // crafted: no message will stand for it
        commit(std::move(r), pending.extra.get());
    }
    m_sentFragments.clear();
}

void LogStore::commitPending() {
    commitSentFragments(false);
    if (!m_pending)
        return;
    Pending pending = std::move(*m_pending);
    m_pending.reset();
    LogRecord &r = pending.record;
    // A single-frame data message whose message event did not follow (a raw frame,
    // an echo, a frame the peer then broke a rule after) is its own message row.
    if (!r.has(LogRecord::InMessageView) && (r.kind == LogKind::Text || r.kind == LogKind::Binary))
        r.set(LogRecord::InMessageView);
    commit(std::move(pending.record), pending.extra.get());
}

void LogStore::appendRecord(const LogRecord &record, const LogRecordExtra &extra) {
    commitPending();
    LogRecord copy = record;
    // Decoded imports may sit in buffers sized for their text form.
    copy.payload = compacted(record.payload);
    commit(std::move(copy), &extra, false);
}

void LogStore::insertRecord(const LogRecord &record, const LogRecordExtra &extra) {
    commitPending();
    LogRecord copy = record;
    copy.payload = compacted(record.payload);
    commit(std::move(copy), &extra, true);
}

void LogStore::append(quint32 connection, const SessionEvent &event) {
    std::visit([&](const auto &e) { convert(connection, e); }, event);
}

int LogStore::appendRelayedRun(quint32 receivedOn, quint32 sentOn, const QByteArray &received,
                               QByteArrayView sent, qint64 readUs, qint64 writtenUs) {
    startRelayed(receivedOn, sentOn);
    // Every payload of the run lives in one allocation that its rows share: the run as
    // read when no frame was masked (a server's), else one block of the unmasked
    // payloads. A busy relay logs many small messages, and an allocation for each
    // would cost more than the rest of their rows.
    m_runFrames.clear();
    qsizetype payloadBytes = 0;
    bool masked = false;
    for (qsizetype at = 0; at + 2 <= received.size();) {
        int headerBytes = 0;
        const FrameHeader header = wholeFrameHeader(received.constData() + at, &headerBytes);
        const auto size = qsizetype(header.payloadLength);
        at += headerBytes;
        if (size > received.size() - at)
            break; // not a whole frame: not a run's
        masked = masked || header.maskingKey.has_value();
        m_runFrames.push_back(RunFrame{header, at});
        payloadBytes += size;
        at += size;
    }
    QByteArray block = received;
    if (masked) {
        block = QByteArray(payloadBytes, Qt::Uninitialized);
        char *into = block.data(); // before any row shares the block
        for (RunFrame &frame : m_runFrames) {
            const auto size = qsizetype(frame.header.payloadLength);
            const char *from = received.constData() + frame.payloadAt;
            if (frame.header.maskingKey)
                copyWithMask(into, from, size, *frame.header.maskingKey);
            else
                std::memcpy(into, from, size_t(size));
            frame.payloadAt = into - block.constData();
            into += size;
        }
    }
    for (const RunFrame &frame : m_runFrames) {
        commitRelayed(receivedOn, frame.header,
                      sharedSlice(block, frame.payloadAt, qsizetype(frame.header.payloadLength)),
                      readUs, std::nullopt);
    }
    std::size_t message = 0;
    for (qsizetype at = 0; at + 2 <= sent.size() && message < m_runFrames.size(); ++message) {
        int headerBytes = 0;
        const FrameHeader header = wholeFrameHeader(sent.data() + at, &headerBytes);
        at += headerBytes + qsizetype(header.payloadLength);
        const RunFrame &frame = m_runFrames[message];
        commitRelayed(sentOn, header,
                      sharedSlice(block, frame.payloadAt, qsizetype(frame.header.payloadLength)),
                      readUs, writtenUs);
    }
    return int(m_runFrames.size());
}

void LogStore::appendRelayedMessage(quint32 receivedOn, quint32 sentOn, const FrameHeader &received,
                                    const FrameHeader &sent, const QByteArray &payload,
                                    qint64 readUs, qint64 writtenUs) {
    startRelayed(receivedOn, sentOn);
    commitRelayed(receivedOn, received, payload, readUs, std::nullopt);
    commitRelayed(sentOn, sent, payload, readUs, writtenUs);
}

void LogStore::startRelayed(quint32 receivedOn, quint32 sentOn) {
    commitPending();
    // As the frame events would leave them: the last received frame had no notes.
    stateFor(receivedOn).lastFrameNotes.clear();
    stateFor(sentOn);
}

void LogStore::commitRelayed(quint32 connection, const FrameHeader &header, QByteArray payload,
                             qint64 readUs, std::optional<qint64> writtenUs) {
    LogRecord r =
        newRecord(connection, writtenUs.value_or(readUs), logKindForOpcode(header.opcode));
    r.setHeader(header);
    r.payload = std::move(payload);
    r.set(LogRecord::InFrameView);
    r.set(LogRecord::InMessageView);
    if (writtenUs) {
        r.sendDelayUs = sendDelay(*writtenUs, readUs);
        r.set(LogRecord::Outgoing);
    } else {
        r.frameCount = 1;
    }
    commit(std::move(r), nullptr);
}

LogRecord *LogStore::pendingFrame(quint32 connection, LogKind kind, Direction direction) {
    if (!m_pending)
        return nullptr;
    LogRecord &r = m_pending->record;
    if (r.connection != connection || r.kind != kind || r.direction() != direction)
        return nullptr;
    return &r;
}

void LogStore::convert(quint32 connection, const FrameEvent &event) {
    const DecodedFrame &frame = event.frame;
    const quint8 opcode = frame.header.opcode;
    const bool dataFrame = opcode == quint8(Opcode::Text) || opcode == quint8(Opcode::Binary) ||
                           opcode == quint8(Opcode::Continuation);
    const bool sentFragment =
        event.direction == Direction::Outgoing && dataFrame &&
        (opcode == quint8(Opcode::Continuation) || !frame.header.fin || frame.header.rsv1);
    const bool continuesFragments = sentFragment && !m_sentFragments.empty() &&
                                    m_sentFragments.back().record.connection == connection;
    if (continuesFragments) {
        Q_ASSERT(!m_pending);
    } else {
        commitPending();
    }
    ConnectionState &state = stateFor(connection);
    LogRecord r = newRecord(connection, event.timestampUs, logKindForOpcode(frame.header.opcode));
    r.setHeader(frame.header);
    r.payload = compacted(frame.payload);
    if (event.direction == Direction::Outgoing)
        r.sendDelayUs = sendDelay(event.timestampUs, event.queuedUs);
    r.set(LogRecord::InFrameView);
    r.set(LogRecord::Outgoing, event.direction == Direction::Outgoing);
    // Control frames and frames with a reserved opcode are not part of any message:
    // they are rows in both views.
    if (isControl(static_cast<Opcode>(frame.header.opcode & 0x0F)) || r.kind == LogKind::Reserved)
        r.set(LogRecord::InMessageView);
    if (r.kind == LogKind::Close) {
        // RFC 6455 §5.5.1: the first two payload bytes are the status code.
        std::optional<quint16> code = frame.closeCode;
        if (!code && frame.payload.size() >= 2)
            code = quint16((quint8(frame.payload[0]) << 8) | quint8(frame.payload[1]));
        if (code) {
            r.closeCode = *code;
            r.set(LogRecord::HasCloseCode);
        }
    }
    // Most frames have no notes, and then no extra: nothing to make and free.
    std::unique_ptr<LogRecordExtra> extra;
    if (!frame.notes.isEmpty()) {
        extra = std::make_unique<LogRecordExtra>();
        extra->notes = frame.notes;
        r.set(LogRecord::HasNotes);
    }
    const bool wholeMessage = (r.kind == LogKind::Text || r.kind == LogKind::Binary) &&
                              frame.header.fin && !frame.header.rsv1;
    const bool interpreted =
        r.kind == LogKind::Ping || r.kind == LogKind::Pong || r.kind == LogKind::Close;
    if (wholeMessage || interpreted) {
        // The decoder reports a frame and then what it means; hold the frame until
        // the next event shows whether the two are one row.
        m_pending = Pending{std::move(r), std::move(extra), frame.streamOffset};
        if (event.direction == Direction::Incoming)
            state.lastFrameNotes = frame.notes;
        return;
    }
    if (event.direction == Direction::Incoming)
        state.lastFrameNotes = frame.notes;
    if (sentFragment) {
        // Whether it is part of a message shows when the next event comes.
        m_sentFragments.push_back(Pending{std::move(r), std::move(extra), frame.streamOffset});
        return;
    }
    if (r.kind == LogKind::Text || r.kind == LogKind::Binary || r.kind == LogKind::Continuation)
        ++state.unmergedFrames[event.direction == Direction::Outgoing ? 1 : 0];
    commit(std::move(r), extra.get());
}

void LogStore::convert(quint32 connection, const MessageEvent &event) {
    const DecodedMessage &message = event.message;
    const LogKind kind = message.type == Opcode::Binary ? LogKind::Binary : LogKind::Text;
    if (LogRecord *frame = pendingFrame(connection, kind, event.direction)) {
        if (message.frameCount == 1 && !message.compressed &&
            frame->payload.size() == message.data.size()) {
            frame->set(LogRecord::InMessageView);
            frame->frameCount = 1;
            commitPending();
            return;
        }
    }
    // The frames of a sent message come right before its MessageEvent.
    if (event.direction == Direction::Outgoing && !m_sentFragments.empty() &&
        m_sentFragments.front().record.connection == connection)
        commitSentFragments(true);
    commitPending();
    ConnectionState &state = stateFor(connection);
    const int side = event.direction == Direction::Outgoing ? 1 : 0;
    LogRecord r = newRecord(connection, event.timestampUs, kind);
    r.payload = compacted(message.data);
    if (event.direction == Direction::Outgoing)
        r.sendDelayUs = sendDelay(event.timestampUs, event.queuedUs);
    r.length = quint64(std::max<qint64>(message.wireSize, 0));
    r.frameCount = quint32(std::max(message.frameCount, 0));
    r.set(LogRecord::InMessageView);
    r.set(LogRecord::Outgoing, event.direction == Direction::Outgoing);
    r.set(LogRecord::Compressed, message.compressed);
    // Without frame rows of its own (frames not reported), the message stands for
    // its frames in the frame view too.
    if (state.unmergedFrames[side] == 0)
        r.set(LogRecord::InFrameView);
    state.unmergedFrames[side] = 0;
    commit(std::move(r), nullptr);
}

void LogStore::convert(quint32 connection, const PingEvent &event) {
    if (LogRecord *frame = pendingFrame(connection, LogKind::Ping, Direction::Incoming)) {
        frame->set(LogRecord::PingAnswered, event.answered);
        commitPending();
        return;
    }
    commitPending();
    LogRecord r = newRow(connection, event.timestampUs, LogKind::Ping);
    r.payload = compacted(event.payload);
    r.length = quint64(event.payload.size());
    r.set(LogRecord::PingAnswered, event.answered);
    commit(std::move(r), nullptr);
}

void LogStore::convert(quint32 connection, const PongEvent &event) {
    LogRecord *frame = pendingFrame(connection, LogKind::Pong, Direction::Incoming);
    if (!frame) {
        commitPending();
        LogRecord r = newRow(connection, event.timestampUs, LogKind::Pong);
        r.payload = compacted(event.payload);
        r.length = quint64(event.payload.size());
        m_pending = Pending{std::move(r), nullptr, -1};
        frame = &m_pending->record;
    }
    if (event.roundTripUs) {
        frame->roundTripUs = *event.roundTripUs;
        frame->set(LogRecord::HasRoundTrip);
    }
    commitPending();
}

void LogStore::convert(quint32 connection, const CloseEvent &event) {
    if (pendingFrame(connection, LogKind::Close, Direction::Incoming)) {
        commitPending();
        return;
    }
    commitPending();
    LogRecord r = newRow(connection, event.timestampUs, LogKind::Close);
    // Rebuilt as it was on the wire (RFC 6455 §5.5.1) so every close row reads the same.
    if (event.code) {
        const QByteArray reason = event.reason.toUtf8();
        r.payload.reserve(2 + reason.size());
        r.payload.append(char(*event.code >> 8));
        r.payload.append(char(*event.code & 0xFF));
        r.payload.append(reason);
        r.closeCode = *event.code;
        r.set(LogRecord::HasCloseCode);
    }
    r.length = quint64(r.payload.size());
    commit(std::move(r), nullptr);
}

void LogStore::convert(quint32 connection, const ViolationEvent &event) {
    commitPending();
    LogRecord r = newRow(connection, event.timestampUs, LogKind::Error);
    r.payload = event.violation.reason.toUtf8();
    r.length = quint64(r.payload.size());
    r.closeCode = toWire(event.violation.closeCode());
    r.set(LogRecord::HasCloseCode);
    r.set(LogRecord::Failure);
    LogRecordExtra extra;
    extra.error = event.violation.error;
    extra.streamOffset = event.violation.streamOffset;
    extra.violationFrame = event.violation.frame;
    commit(std::move(r), &extra);
}

void LogStore::convert(quint32 connection, const NoteEvent &event) {
    // A note about a frame is shown on the frame's row (the session reports the
    // frame's notes again as events, and pong notes come before the PongEvent).
    if (m_pending && m_pending->record.connection == connection &&
        !m_pending->record.has(LogRecord::Outgoing)) {
        Pending &pending = *m_pending;
        if (pending.extra && pending.extra->notes.contains(event.note))
            return;
        if (event.note.streamOffset >= 0 && event.note.streamOffset == pending.streamOffset) {
            if (!pending.extra)
                pending.extra = std::make_unique<LogRecordExtra>();
            pending.extra->notes.append(event.note);
            pending.record.set(LogRecord::HasNotes);
            return;
        }
    }
    if (const auto it = m_states.constFind(connection);
        it != m_states.constEnd() && it->lastFrameNotes.contains(event.note))
        return;
    commitPending();
    LogRecord r = newRow(connection, event.timestampUs, LogKind::Note);
    r.payload = event.note.text.toUtf8();
    r.length = quint64(r.payload.size());
    r.set(LogRecord::HasNotes);
    LogRecordExtra extra;
    extra.notes.append(event.note);
    commit(std::move(r), &extra);
}

void LogStore::convert(quint32 connection, const HandshakeEvent &event) {
    commitPending();
    LogRecord r = newRow(connection, event.timestampUs, LogKind::Handshake);
    switch (event.kind) {
    case HandshakeEvent::Kind::ClientAccepted:
        r.set(LogRecord::Outgoing); // we asked
        break;
    case HandshakeEvent::Kind::UpgradeRequested:
    case HandshakeEvent::Kind::PlainHttpRequest:
        break; // the peer asked
    case HandshakeEvent::Kind::Failed:
        r.set(LogRecord::Undirected);
        r.set(LogRecord::Failure);
        break;
    }
    LogRecordExtra extra;
    extra.handshakeKind = event.kind;
    extra.rawRequest = event.rawRequest;
    extra.rawResponse = event.rawResponse;
    extra.httpStatus = event.httpStatus;
    extra.subprotocol = event.subprotocol;
    extra.extensions = formatExtensions(event.extensions);
    extra.handshakeError = event.error;
    r.length = quint64(event.rawRequest.size() + event.rawResponse.size());
    commit(std::move(r), &extra);
}

void LogStore::convert(quint32 connection, const StateEvent &event) {
    commitPending();
    LogRecord r = newRow(connection, event.timestampUs, LogKind::State);
    r.headerByte0 = static_cast<quint8>(event.state);
    r.set(LogRecord::Undirected);
    if (event.state == SessionState::Closed) {
        // The session follows "closed" with its ClosedEvent, which says more.
        m_pending = Pending{std::move(r), nullptr, -1};
        return;
    }
    commit(std::move(r), nullptr);
}

void LogStore::convert(quint32 connection, const ClosedEvent &event) {
    if (m_pending && m_pending->record.connection == connection &&
        m_pending->record.kind == LogKind::State)
        m_pending.reset(); // the plain "closed" state row this summary replaces
    commitPending();
    LogRecord r = newRow(connection, event.timestampUs, LogKind::State);
    r.headerByte0 = static_cast<quint8>(SessionState::Closed);
    r.payload = event.reason.toUtf8();
    r.closeCode = event.code;
    r.set(LogRecord::HasCloseCode);
    r.set(LogRecord::ClosedSummary);
    r.set(LogRecord::CleanClose, event.clean);
    r.set(LogRecord::ClosedByUs, event.closedByUs);
    r.set(LogRecord::Undirected);
    commit(std::move(r), nullptr);
}

bool LogStore::release(quint32 connection) {
    const bool held = (m_pending && m_pending->record.connection == connection) ||
                      std::any_of(m_sentFragments.cbegin(), m_sentFragments.cend(),
                                  [connection](const Pending &pending) {
                                      return pending.record.connection == connection;
                                  });
    if (held)
        commitPending();
    // Whether any of the records is the connection's is not known (rows added with
    // insertRecord() leave no state behind): only an empty store surely holds none.
    if (m_size == 0) {
        forget(connection);
        return true;
    }
    m_released.push_back({connection, m_dropped + m_size});
    return false;
}

void LogStore::forget(quint32 connection) {
    m_connections.remove(connection);
    m_states.remove(connection);
    // An erasure may move other entries of the hash.
    m_lastState = nullptr;
}

void LogStore::forgetReleased(std::vector<quint32> *forgotten) {
    const qint64 margin = m_timeOrdered ? MaxReorderDistance : 0;
    while (!m_released.empty() && (m_size == 0 || m_released.front().end + margin <= m_dropped)) {
        const quint32 connection = m_released.front().connection;
        m_released.pop_front();
        forget(connection);
        if (forgotten)
            forgotten->push_back(connection);
    }
}

qsizetype LogStore::dropOldest(qsizetype count, std::vector<quint32> *forgotten) {
    count = std::clamp<qsizetype>(count, 0, m_size);
    if (count == 0)
        return 0;
    m_front += count;
    m_size -= count;
    m_dropped += count;
    std::erase_if(m_insertions, [count](qsizetype index) { return index < count; });
    for (qsizetype &index : m_insertions)
        index -= count;
    const auto whole = size_t(m_front / ChunkSize);
    if (whole > 0) {
        m_chunks.erase(m_chunks.begin(), m_chunks.begin() + qsizetype(whole));
        m_front -= qsizetype(whole) * ChunkSize;
    }
    // Records still in the first chunk but no longer in the log give their payloads
    // back now rather than when the chunk goes.
    if (!m_chunks.empty()) {
        auto &records = m_chunks.front()->records;
        for (qsizetype i = 0; i < m_front && size_t(i) < records.size(); ++i)
            records[size_t(i)].payload = QByteArray();
    }
    if (m_size == 0) {
        decltype(m_chunks)().swap(m_chunks);
        m_front = 0;
    }
    forgetReleased(forgotten);
    return count;
}

void LogStore::clearRecords() {
    decltype(m_chunks)().swap(m_chunks);
    m_size = 0;
    m_front = 0;
    m_dropped = 0;
    m_hasTimeOrigin = false;
    m_timeOriginUs = 0;
    m_pending.reset();
    m_sentFragments.clear();
    m_insertions.clear();
    for (ConnectionState &state : m_states) {
        state.unmergedFrames[0] = 0;
        state.unmergedFrames[1] = 0;
    }
    forgetReleased(nullptr);
}

void LogStore::clear() {
    clearRecords();
    m_states.clear();
    m_lastState = nullptr;
    m_connections.clear();
    m_released.clear();
    m_maxConnectionId = 0;
    m_anyConnection = false;
}

QList<qsizetype> LogStore::framesOfMessage(qsizetype messageIndex) const {
    QList<qsizetype> frames;
    if (messageIndex < 0 || messageIndex >= m_size)
        return frames;
    const LogRecord &message = at(messageIndex);
    if (message.isFrame() || message.frameCount == 0 ||
        (message.kind != LogKind::Text && message.kind != LogKind::Binary))
        return frames;
    // The frames precede the message; other connections' rows and control frames
    // may be interleaved, so look a bounded distance back.
    const qsizetype limit = std::max<qsizetype>(ChunkSize, qsizetype(message.frameCount) * 4);
    for (qsizetype i = messageIndex - 1; i >= 0 && messageIndex - i <= limit; --i) {
        const LogRecord &r = at(i);
        if (r.connection != message.connection || r.direction() != message.direction() ||
            !r.isFrame() || r.has(LogRecord::InMessageView))
            continue;
        if (r.kind == LogKind::Continuation) {
            frames.prepend(i);
        } else if (r.kind == LogKind::Text || r.kind == LogKind::Binary) {
            frames.prepend(i);
            break;
        } else {
            continue;
        }
        if (frames.size() >= qsizetype(message.frameCount))
            break;
    }
    if (frames.isEmpty() || at(frames.first()).kind == LogKind::Continuation)
        return {};
    return frames;
}

qint64 LogStore::payloadAllocation(const QByteArray &payload) {
    const QArrayData *allocation = allocationOf(payload);
    if (!allocation || allocation->constAllocatedCapacity() == 0)
        return 0;
    // QArrayData's header, the bytes and the terminating NUL; the whole allocation, of
    // which the payload may be a part.
    return mallocBlock(qint64(sizeof(QArrayData)) + allocation->constAllocatedCapacity() + 1);
}

qint64 LogStore::memoryUsage() const {
    qint64 total = qint64(m_chunks.capacity() * sizeof(void *));
    for (const auto &chunk : m_chunks) {
        total += mallocBlock(sizeof(Chunk));
        total += mallocBlock(qint64(chunk->records.capacity() * sizeof(LogRecord)));
        total += mallocBlock(qint64(chunk->extras.capacity() * sizeof(LogRecordExtra)));
        for (const LogRecordExtra &e : chunk->extras) {
            total += payloadAllocation(e.rawRequest) + payloadAllocation(e.rawResponse) +
                     payloadAllocation(e.subprotocol) + payloadAllocation(e.extensions);
            total += mallocBlock(e.notes.size() * qint64(sizeof(ConformanceNote)));
        }
        // Rows that share an allocation are next to each other, but for rows without a
        // payload: a relayed message's two rows, a relayed run's rows.
        const QArrayData *previous = nullptr;
        for (const LogRecord &r : chunk->records) {
            const QArrayData *allocation = allocationOf(r.payload);
            if (!allocation || allocation == previous)
                continue;
            total += payloadAllocation(r.payload);
            previous = allocation;
        }
    }
    return total;
}

} // namespace ws::log

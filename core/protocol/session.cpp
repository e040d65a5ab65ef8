#include "session.h"

#include "masking.h"
#include "utf8validator.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

namespace ws {

namespace {

// RFC 6455 §5.5: a control frame carries at most 125 payload bytes.
constexpr qsizetype MaxControlPayload = 125;
// A close payload is the 2-byte code plus the reason.
constexpr qsizetype MaxCloseReason = MaxControlPayload - 2;
// Pings remembered for round-trip times; older ones are forgotten.
constexpr std::size_t MaxOutstandingPings = 16;
// RFC 6455 §5.2: 2 bytes, a 64-bit extended length and a masking key.
constexpr qsizetype MaxHeaderSize = 14;

// A frame that arrived whole and broke a rule by arriving at all (data after the
// peer's close), as on the wire: its header, then its payload masked again with its
// key. A payload the decoder did not keep (nobody watches data frames) counts as
// received but not kept.
ViolationFrame wholeFrame(const FrameHeader &header, const QByteArray &payload,
                          qint64 streamOffset) {
    const RawHeaderBytes raw = serializeHeader(header);
    const qsizetype kept = std::min(payload.size(), ViolationFrame::MaxPayloadKept);
    ViolationFrame frame;
    frame.bytes.reserve(raw.size + kept);
    frame.bytes.append(raw.toByteArray());
    frame.headerBytes = int(raw.size);
    frame.bytes.resize(raw.size + kept);
    char *at = frame.bytes.data() + raw.size;
    if (header.maskingKey)
        copyWithMask(at, payload.constData(), kept, *header.maskingKey);
    else
        std::copy_n(payload.constData(), kept, at);
    frame.streamOffset = streamOffset;
    frame.payloadReceived = qint64(header.payloadLength);
    return frame;
}
// The most a fresh outgoing buffer reserves from the last batch's size.
constexpr qsizetype MaxOutgoingHint = 64 * 1024;
// Unmasked payloads from this size on go out as their own chunk, shared with the
// caller's QByteArray: copying them after their header would cost more than the
// transport's extra write.
constexpr qsizetype MinSharedPayload = 16 * 1024;

template <typename Event> void pushEvent(std::vector<SessionEvent> &events, Event &&event) {
    events.emplace_back(std::in_place_type<std::decay_t<Event>>, std::forward<Event>(event));
}

// Cuts UTF-8 text to at most `limit` bytes without splitting a character.
QByteArray truncateUtf8(QByteArray text, qsizetype limit) {
    if (text.size() <= limit)
        return text;
    qsizetype cut = limit;
    // Continuation bytes are 10xxxxxx: back up to the start of the character.
    while (cut > 0 && (quint8(text.at(cut)) & 0xC0) == 0x80)
        --cut;
    text.truncate(cut);
    return text;
}

QByteArray copyPayload(const QByteArray &out, qsizetype offset, qsizetype size,
                       std::optional<quint32> key) {
    QByteArray payload(size, Qt::Uninitialized);
    if (key)
        copyWithMask(payload.data(), out.constData() + offset, size, *key);
    else if (size > 0)
        std::copy_n(out.constData() + offset, size, payload.data());
    return payload;
}

} // namespace

const char *stateName(SessionState state) {
    switch (state) {
    case SessionState::Connecting:
        return "connecting";
    case SessionState::Open:
        return "open";
    case SessionState::Closing:
        return "closing";
    case SessionState::Closed:
        return "closed";
    }
    return "unknown";
}

const char *sendErrorText(SendError error) {
    switch (error) {
    case SendError::None:
        return "sent";
    case SendError::NotOpen:
        return "the connection is not open";
    case SendError::CloseAlreadySent:
        return "a close frame was already sent: no data may follow it (RFC 6455 §5.5.1)";
    case SendError::ControlPayloadTooLong:
        return "control frame payloads are at most 125 bytes (RFC 6455 §5.5)";
    case SendError::InvalidCloseCode:
        return "this close code must not be sent (RFC 6455 §7.4); use a raw frame to send it "
               "anyway";
    case SendError::InvalidUtf8:
        return "text must be valid UTF-8 (RFC 6455 §8.1); use a raw frame to send it anyway";
    case SendError::FrameInProgress:
        return "a frame is being sent in pieces: nothing can go between them (RFC 6455 §5.4)";
    }
    return "unknown error";
}

struct Session::Private {
    Private(Role role, MaskingKeySource keys)
        : encoder(role, std::move(keys)) {}

    std::optional<ClientHandshake> client;
    std::optional<ServerHandshake> server;
    // Built once the extension is known: the decoder takes it at construction.
    std::optional<FrameDecoder> decoder;
    // Given to the decoder when it is built, and whenever it changes.
    FrameDecoder::MessageSink messageSink;
    Session::FrameSink frameSink;
    Session::PieceSink pieceSink;
    Session::FrameRunSink runSink;
    std::function<void(const DecodedMessage &)> messageHandler;
    FrameEncoder encoder;
    MessageExtension *extension = nullptr;

    QByteArray handshakeRequest;
    QByteArray handshakeResponse;
    // Frame bytes that arrived before the decoder could take them: before accept()
    // on a server, before setExtension() on a client that negotiated an extension.
    QByteArray pending;
    // When the last of `pending` was received: its frames are stamped with it.
    qint64 pendingUs = 0;
    bool requestSent = false;
    bool awaitingAccept = false;
    bool awaitingHttpResponse = false;
    bool awaitingExtension = false;

    // We failed the connection (§7.1.7) or gave it up: whatever arrives or the
    // decoder still produces is dropped.
    bool ignoreInput = false;
    bool closedEmitted = false;
    bool closeSentFirst = false;
    // The peer's close, while its answer waits for sendClose() (autoCloseAnswer off).
    std::optional<quint16> peerCloseCode;
    QString peerCloseReason;
    qint64 frameBytesSent = 0;
    // The frame being sent in pieces (sendDataPiece()): its payload bytes still to
    // come and our key for them.
    quint64 pieceBytesLeft = 0;
    std::optional<quint32> pieceKey;
    // How much the last takeOutgoing() handed over, capped: the next batch starts
    // with a buffer that size instead of growing one step at a time.
    qsizetype outgoingHint = 0;

    struct SentPing {
        QByteArray payload;
        qint64 sentUs = 0;    // the send call's time, then the write's (outgoingWritten)
        bool taken = false;   // its bytes were taken by the transport
        bool written = false; // and reported written
    };
    // Oldest first.
    std::vector<SentPing> pings;

    // Indices into m_events: events before takenEvents were queued before the last
    // takeOutgoing(), so their bytes are with the transport; those before
    // writtenEvents have been stamped by outgoingWritten().
    std::size_t takenEvents = 0;
    std::size_t writtenEvents = 0;

    void markTaken(std::size_t eventCount) {
        takenEvents = eventCount;
        for (auto it = pings.rbegin(); it != pings.rend() && !it->taken; ++it)
            it->taken = true;
    }
};

Session::Session(ClientHandshakeOptions handshake, SessionOptions options, MaskingKeySource keys,
                 QByteArray clientKey)
    : d(std::make_unique<Private>(Role::Client, std::move(keys)))
    , m_role(Role::Client)
    , m_options(std::move(options)) {
    d->client.emplace(std::move(handshake), std::move(clientKey));
}

Session::Session(SessionOptions options)
    // RFC 6455 §5.1: a server never masks, so its encoder never asks for a key.
    : d(std::make_unique<Private>(Role::Server, MaskingKeySource::fixed(0)))
    , m_role(Role::Server)
    , m_options(std::move(options)) {
    d->server.emplace(m_options.handshakeLimits);
}

Session::~Session() = default;

void Session::start(qint64 nowUs) {
    m_nowUs = nowUs;
    if (m_role != Role::Client || d->requestSent || m_state != SessionState::Connecting)
        return;
    d->requestSent = true;
    d->handshakeRequest = d->client->request();
    m_outgoing.append(d->handshakeRequest);
    m_bytesSent += d->handshakeRequest.size();
}

QByteArray Session::rawHandshakeRequest() const {
    return d->handshakeRequest;
}

QByteArray Session::rawHandshakeResponse() const {
    return d->handshakeResponse;
}

const ServerHandshake *Session::serverHandshake() const {
    return d->server ? &*d->server : nullptr;
}

const ClientHandshake *Session::clientHandshake() const {
    return d->client ? &*d->client : nullptr;
}

QByteArray Session::takeOutgoing() {
    QByteArray out;
    if (m_outgoingChunks.isEmpty()) {
        out.swap(m_outgoing);
    } else {
        qsizetype total = m_outgoing.size();
        for (const QByteArray &chunk : std::as_const(m_outgoingChunks))
            total += chunk.size();
        out.reserve(total);
        for (const QByteArray &chunk : std::as_const(m_outgoingChunks))
            out.append(chunk);
        out.append(m_outgoing);
        m_outgoingChunks.clear();
        m_callerChunks = false;
        m_outgoing = QByteArray();
    }
    d->outgoingHint = std::min(out.size(), MaxOutgoingHint);
    d->markTaken(m_events.size());
    return out;
}

void Session::takeOutgoingChunks(QList<QByteArray> &chunks) {
    qsizetype total = 0;
    for (QByteArray &chunk : m_outgoingChunks) {
        // The caller's bytes are not the session's to buffer next time.
        if (!m_callerChunks || !isCallerBytes(chunk))
            total += chunk.size();
        chunks.append(std::move(chunk));
    }
    // Keeps the list's capacity for the next batch.
    m_outgoingChunks.clear();
    m_callerChunks = false;
    if (!m_outgoing.isEmpty()) {
        total += m_outgoing.size();
        chunks.append(std::exchange(m_outgoing, QByteArray()));
    }
    d->outgoingHint = std::min(total, MaxOutgoingHint);
    d->markTaken(m_events.size());
}

void Session::outgoingWritten(qint64 nowUs) {
    for (std::size_t i = std::max(m_nextEvent, d->writtenEvents); i < d->takenEvents; ++i) {
        SessionEvent &event = m_events[i];
        if (auto *frame = std::get_if<FrameEvent>(&event);
            frame && frame->direction == Direction::Outgoing)
            frame->timestampUs = nowUs;
        else if (auto *message = std::get_if<MessageEvent>(&event);
                 message && message->direction == Direction::Outgoing)
            message->timestampUs = nowUs;
    }
    d->writtenEvents = d->takenEvents;
    for (auto it = d->pings.rbegin(); it != d->pings.rend() && !it->written; ++it) {
        if (!it->taken)
            continue;
        it->sentUs = nowUs;
        it->written = true;
    }
}

bool Session::awaitsWrittenTime() const {
    if (d->takenEvents > std::max(m_nextEvent, d->writtenEvents))
        return true;
    return std::any_of(d->pings.begin(), d->pings.end(),
                       [](const Private::SentPing &ping) { return ping.taken && !ping.written; });
}

SessionEvent Session::takeEvent() {
    Q_ASSERT(hasEvent());
    SessionEvent event = std::move(m_events[m_nextEvent++]);
    if (m_nextEvent == m_events.size()) {
        m_events.clear();
        m_nextEvent = 0;
        // Taken events need no stamp any more.
        d->takenEvents = 0;
        d->writtenEvents = 0;
    }
    return event;
}

// The steps of the state machine, kept out of session.h so that it shows only what
// the network layer uses.
struct SessionOps {
    static void setState(Session &s, SessionState state) {
        if (s.m_state == state)
            return;
        s.m_state = state;
        pushEvent(s.m_events, StateEvent{s.m_nowUs, state});
    }

    // The one ClosedEvent of this session.
    // How the connection ended, for the ClosedEvent.
    struct Ending {
        bool clean = false;      // RFC 6455 §7.1.4: both close frames went across
        bool closedByUs = false; // we sent the first close frame
    };

    static void finish(Session &s, quint16 code, QString reason, Ending ending) {
        setState(s, SessionState::Closed);
        if (s.d->closedEmitted)
            return;
        s.d->closedEmitted = true;
        s.d->pending.clear();
        s.d->awaitingAccept = false;
        s.d->awaitingHttpResponse = false;
        s.d->awaitingExtension = false;
        pushEvent(s.m_events,
                  ClosedEvent{s.m_nowUs, code, std::move(reason), ending.clean, ending.closedByUs});
    }

    static void prepareOutgoing(Session &s, qsizetype payloadSize) {
        if (s.m_outgoing.capacity() == 0)
            s.m_outgoing.reserve(
                std::max<qsizetype>(payloadSize + MaxHeaderSize, s.d->outgoingHint));
    }

    // Accounts for the bytes appended to m_outgoing since `start`, and `shared` more
    // that follow them as a chunk; returns the frame's offset in our sent frame stream.
    static qint64 account(Session &s, qsizetype start, qsizetype shared = 0) {
        const qint64 written = s.m_outgoing.size() - start + shared;
        const qint64 offset = s.d->frameBytesSent;
        s.d->frameBytesSent += written;
        s.m_bytesSent += written;
        return offset;
    }

    static void reportOutgoingFrame(Session &s, const FrameHeader &header, qsizetype start,
                                    qint64 offset, QByteArray payload,
                                    std::optional<quint16> closeCode = {},
                                    const QString &closeReason = {}) {
        DecodedFrame frame;
        frame.header = header;
        // The header exactly as it went out, taken from the bytes we just wrote.
        const int size = header.size();
        std::copy_n(s.m_outgoing.constData() + start, size,
                    reinterpret_cast<char *>(frame.rawHeader.bytes.data()));
        frame.rawHeader.size = quint8(size);
        frame.payload = std::move(payload);
        frame.streamOffset = offset;
        frame.closeCode = closeCode;
        frame.closeReason = closeReason;
        pushEvent(s.m_events,
                  FrameEvent{Direction::Outgoing, s.m_nowUs, std::move(frame), s.m_nowUs});
    }

    // Whether an unmasked payload goes out shared, as its own chunk.
    static bool sharesPayload(qsizetype size, bool masked) {
        return !masked && size >= MinSharedPayload;
    }

    // The payload behind the header just written, as its own chunk.
    static void appendSharedPayload(Session &s, const QByteArray &payload) {
        s.m_outgoingChunks.append(std::exchange(s.m_outgoing, QByteArray()));
        s.m_outgoingChunks.append(payload);
    }

    // A control frame through the encoder (masked for a client).
    static void sendControl(Session &s, Opcode opcode, QByteArrayView payload,
                            std::optional<quint16> closeCode = {},
                            const QString &closeReason = {}) {
        prepareOutgoing(s, payload.size());
        const qsizetype start = s.m_outgoing.size();
        const FrameHeader header = s.d->encoder.encodeFrame(s.m_outgoing, opcode, payload);
        const qint64 offset = account(s, start);
        if (opcode == Opcode::Ping)
            rememberPing(s, payload.toByteArray());
        if (s.m_options.reportFrames)
            reportOutgoingFrame(s, header, start, offset, payload.toByteArray(), closeCode,
                                closeReason);
    }

    static void sendCloseFrame(Session &s, std::optional<quint16> code, const QByteArray &reason) {
        if (!s.m_closeReceived)
            s.d->closeSentFirst = true;
        s.m_closeSent = true;
        if (s.d->pieceBytesLeft > 0) {
            // RFC 6455 §5.4: a close cannot go inside the frame half sent, and the rest
            // of that frame is not coming: the end is the transport's.
            s.m_closeTransport = true;
            return;
        }
        sendControl(s, Opcode::Close, FrameEncoder::closePayload(code, reason), code,
                    code ? QString::fromUtf8(reason) : QString());
    }

    static void rememberPing(Session &s, QByteArray payload) {
        auto &pings = s.d->pings;
        if (pings.size() == MaxOutstandingPings)
            pings.erase(pings.begin());
        pings.push_back({std::move(payload), s.m_nowUs, false, false});
    }

    // A data message through the encoder: the frames, then the message.
    // `shared`, when given, holds the same bytes as `data`: the events share it.
    static void sendMessage(Session &s, Opcode type, QByteArrayView data, qint64 fragmentSize,
                            const QByteArray *shared = nullptr) {
        prepareOutgoing(s, data.size());
        const qsizetype start = s.m_outgoing.size();
        const qint64 firstOffset = s.d->frameBytesSent;
        const bool report = s.m_options.reportFrames;
        DecodedMessage message;
        message.type = type;
        message.data = shared ? *shared : data.toByteArray();
        message.streamOffset = firstOffset;

        const bool oneFrame = fragmentSize <= 0 || data.size() <= fragmentSize;
        if (oneFrame && !s.d->extension) {
            // The common case: one frame, no transformation, the payload shared by
            // both events (and by the outgoing chunks when it is large and unmasked).
            const bool sharePayload =
                shared && sharesPayload(data.size(), s.m_role == Role::Client);
            const FrameHeader header =
                sharePayload ? s.d->encoder.encodeFrameHeader(s.m_outgoing, type, data.size())
                             : s.d->encoder.encodeFrame(s.m_outgoing, type, data);
            const qint64 offset = account(s, start, sharePayload ? data.size() : 0);
            if (report)
                reportOutgoingFrame(s, header, start, offset, message.data);
            if (sharePayload)
                appendSharedPayload(s, *shared);
            message.wireSize = data.size();
        } else {
            const QList<FrameHeader> headers =
                shared ? s.d->encoder.encodeMessage(s.m_outgoing, type, *shared, fragmentSize)
                       : s.d->encoder.encodeMessage(s.m_outgoing, type, data, fragmentSize);
            account(s, start);
            qsizetype position = start;
            qint64 wireSize = 0;
            for (const FrameHeader &header : headers) {
                const qsizetype payloadSize = qsizetype(header.payloadLength);
                if (report) {
                    // Known offsets and a known key: the payload as sent (after the
                    // extension) without parsing anything.
                    QByteArray payload = copyPayload(s.m_outgoing, position + header.size(),
                                                     payloadSize, header.maskingKey);
                    reportOutgoingFrame(s, header, position, firstOffset + (position - start),
                                        std::move(payload));
                }
                position += header.size() + payloadSize;
                wireSize += payloadSize;
            }
            Q_ASSERT(position == s.m_outgoing.size());
            message.frameCount = int(headers.size());
            message.compressed = !headers.isEmpty() && headers.first().rsvBits() != 0;
            message.wireSize = wireSize;
        }
        s.m_events.emplace_back(
            MessageEvent{Direction::Outgoing, s.m_nowUs, std::move(message), s.m_nowUs});
    }

    // --- receiving --------------------------------------------------------------

    static bool isSendingPieces(const Session &s) { return s.d->pieceBytesLeft > 0; }

    // What sendDataPiece() and sendDataPieceInPlace() do before the piece's bytes: the
    // checks and, at the first piece, the frame's header. None: the piece may go.
    // `copied`: the piece's bytes go into the outgoing buffer after the header.
    static SendError startPiece(Session &s, const FrameHeader &received, quint64 offset,
                                qsizetype size, bool copied, qint64 nowUs, FrameHeader *sent) {
        s.m_nowUs = nowUs;
        if (offset == 0) {
            if (const SendError refusal = dataFrameRefusal(s); refusal != SendError::None)
                return refusal;
            prepareOutgoing(s, copied ? size : 0);
            const qsizetype start = s.m_outgoing.size();
            const FrameHeader header = s.d->encoder.encodeFrameHeader(
                s.m_outgoing, received.op(), qint64(received.payloadLength), received.fin);
            account(s, start);
            s.d->pieceBytesLeft = received.payloadLength;
            s.d->pieceKey = header.maskingKey;
            if (sent)
                *sent = header;
        } else if (s.d->pieceBytesLeft == 0) {
            return SendError::NotOpen; // its first piece was refused
        } else if (s.m_closeSent) {
            return SendError::CloseAlreadySent; // the transport closes mid-frame
        }
        Q_ASSERT(quint64(size) <= s.d->pieceBytesLeft);
        return SendError::None;
    }

    static void createDecoder(Session &s) {
        DecoderOptions options;
        options.role = s.m_role;
        options.conformance = s.m_options.conformance;
        options.maxMessageSize = s.m_options.maxMessageSize;
        options.extension = s.d->extension;
        // Data frames nobody watches are only ever part of their message.
        options.reportDataFrames = s.m_options.reportFrames;
        s.d->decoder.emplace(options);
        s.d->decoder->setMessageSink(s.d->messageSink);
        s.d->decoder->setFrameSink(decoderFrameSink(s));
        s.d->decoder->setPieceSink(decoderPieceSink(s));
        s.d->decoder->setRunSink(decoderRunSink(s));
    }

    static FrameDecoder::FrameSink decoderFrameSink(Session &s) {
        if (!s.d->frameSink || s.d->extension)
            return {};
        return [&s](const FrameHeader &header, QByteArrayView payload, QByteArray *buffer) {
            // Behind events not taken yet the frame is an event too, so that the owner
            // forwards it after them.
            if (s.hasEvent() || s.d->ignoreInput)
                return false;
            s.d->frameSink(header, payload, buffer);
            return true;
        };
    }

    static FrameDecoder::PieceSink decoderPieceSink(Session &s) {
        if (!s.d->pieceSink || s.d->extension)
            return {};
        return [&s](const FrameHeader &header, quint64 offset, QByteArrayView wireBytes) {
            // A frame starts in pieces only where a sunk frame or a run would go,
            // behind no event (see decoderFrameSink); the rest of one that started
            // must follow.
            if (offset != 0) {
                s.d->pieceSink(header, offset, wireBytes);
                return true;
            }
            return !s.hasEvent() && !s.d->ignoreInput && s.d->pieceSink(header, 0, wireBytes);
        };
    }

    static FrameDecoder::RunSink decoderRunSink(Session &s) {
        if (!s.d->runSink || s.d->extension)
            return {};
        return [&s](QByteArrayView wireFrames) {
            // Where a single frame would not go to the frame sink, a run does not either.
            return !s.hasEvent() && !s.d->ignoreInput && s.d->runSink(wireFrames);
        };
    }

    static void feedDecoder(Session &s, QByteArrayView data) {
        if (s.d->ignoreInput || data.isEmpty() || !s.d->decoder)
            return;
        FrameDecoder &decoder = *s.d->decoder;
        decoder.feed(data);
        while (decoder.hasNext()) {
            // In place: the outputs are moved straight into events.
            DecoderOutput &output = decoder.next();
            if (s.d->ignoreInput)
                continue;
            if (auto *frame = std::get_if<DecodedFrame>(&output)) {
                handleFrame(s, *frame);
            } else if (auto *message = std::get_if<DecodedMessage>(&output)) {
                if (s.d->messageSink) {
                    // Completed behind a frame that had to be handled first.
                    s.d->messageSink(message->type, message->data);
                    continue;
                }
                if (!s.d->messageHandler) {
                    s.m_events.emplace_back(MessageEvent{Direction::Incoming, s.m_nowUs,
                                                         std::move(*message), s.m_nowUs});
                    continue;
                }
                // A shared copy for the handler: what it sends queues events, which
                // may move the one just queued.
                const DecodedMessage handled = *message;
                s.m_events.emplace_back(
                    MessageEvent{Direction::Incoming, s.m_nowUs, std::move(*message), s.m_nowUs});
                s.d->messageHandler(handled);
            } else {
                failConnection(s, std::move(std::get<ProtocolViolation>(output)));
            }
        }
    }

    // Moves from `frame`.
    static void handleFrame(Session &s, DecodedFrame &frame) {
        const FrameHeader header = frame.header;
        const Opcode opcode = header.op();
        const qint64 frameOffset = frame.streamOffset;
        const std::optional<quint16> closeCode = frame.closeCode;
        QByteArray payload;
        QString closeReason;
        QList<ConformanceNote> notes;
        // With a frame sink, a data frame that reaches here could not be sunk in order.
        if (s.m_options.reportFrames || (s.d->frameSink && !isControl(opcode))) {
            // Shared copies: the frame itself goes into its event.
            payload = frame.payload;
            closeReason = frame.closeReason;
            notes = frame.notes;
            s.m_events.emplace_back(
                FrameEvent{Direction::Incoming, s.m_nowUs, std::move(frame), s.m_nowUs});
        } else {
            payload = std::move(frame.payload);
            closeReason = std::move(frame.closeReason);
            notes = std::move(frame.notes);
        }
        for (const ConformanceNote &note : notes)
            pushEvent(s.m_events, NoteEvent{s.m_nowUs, note});

        if (s.m_closeReceived) {
            // RFC 6455 §5.5.1: the close frame is the last thing the peer sends.
            ProtocolViolation violation;
            violation.error = ProtocolError::DataAfterClose;
            violation.reason = QStringLiteral("a %1 frame arrived after the peer's close frame "
                                              "(RFC 6455 §5.5.1)")
                                   .arg(QLatin1StringView(opcodeName(opcode)));
            violation.streamOffset = frameOffset;
            violation.frame = wholeFrame(header, payload, frameOffset);
            failConnection(s, std::move(violation));
            return;
        }

        switch (opcode) {
        case Opcode::Ping: {
            // RFC 6455 §5.5.2: answer with a pong carrying the same application data.
            const bool answer = s.m_options.autoPong;
            pushEvent(s.m_events, PingEvent{s.m_nowUs, payload, answer});
            if (answer)
                sendControl(s, Opcode::Pong, payload);
            break;
        }
        case Opcode::Pong:
            handlePong(s, payload, frameOffset);
            break;
        case Opcode::Close:
            handleClose(s, closeCode, closeReason);
            break;
        default:
            break;
        }
    }

    static void handlePong(Session &s, const QByteArray &payload, qint64 frameOffset) {
        auto &pings = s.d->pings;
        std::optional<qint64> roundTrip;
        for (auto it = pings.begin(); it != pings.end(); ++it) {
            if (it->payload != payload)
                continue;
            roundTrip = s.m_nowUs - it->sentUs;
            // RFC 6455 §5.5.3: a pong may answer only the latest of several pings,
            // so the older ones will not be answered any more.
            pings.erase(pings.begin(), it + 1);
            break;
        }
        if (!roundTrip) {
            // RFC 6455 §5.5.3: unsolicited pongs are allowed (a heartbeat); noted.
            ConformanceNote note;
            if (pings.empty()) {
                note.kind = ConformanceNote::Kind::UnsolicitedPong;
                note.text = QStringLiteral("pong without an outstanding ping (RFC 6455 §5.5.3)");
            } else {
                note.kind = ConformanceNote::Kind::PongMismatch;
                note.text =
                    QStringLiteral("pong payload matches no ping we sent (RFC 6455 §5.5.3)");
            }
            note.streamOffset = frameOffset;
            pushEvent(s.m_events, NoteEvent{s.m_nowUs, std::move(note)});
        }
        pushEvent(s.m_events, PongEvent{s.m_nowUs, payload, roundTrip});
    }

    static void handleClose(Session &s, std::optional<quint16> code, const QString &reason) {
        s.m_closeReceived = true;
        pushEvent(s.m_events, CloseEvent{s.m_nowUs, code, reason});
        if (!s.m_closeSent) {
            setState(s, SessionState::Closing);
            if (!s.m_options.autoCloseAnswer) {
                s.d->peerCloseCode = code;
                s.d->peerCloseReason = reason;
                return;
            }
            // RFC 6455 §5.5.1: answer with a close, "typically echoing the status
            // code it received"; an empty close is answered with an empty one.
            std::optional<quint16> answer = code;
            if (answer && !isValidOnWire(*answer))
                answer = toWire(CloseCode::ProtocolError);
            sendCloseFrame(s, answer, {});
        }
        // RFC 6455 §7.1.1: the server closes TCP first; the client waits for it.
        if (s.m_role == Role::Server)
            s.m_closeTransport = true;
        finish(s, code.value_or(toWire(CloseCode::NoStatusReceived)), reason,
               {.clean = true, .closedByUs = s.d->closeSentFirst});
    }

    // RFC 6455 §7.1.7: fail the WebSocket connection.
    static void failConnection(Session &s, ProtocolViolation violation) {
        s.d->ignoreInput = true;
        s.d->pending.clear();
        const quint16 code = toWire(violation.closeCode());
        const QString reason = violation.reason;
        pushEvent(s.m_events, ViolationEvent{s.m_nowUs, std::move(violation)});
        if (!s.m_closeSent)
            sendCloseFrame(s, code, truncateUtf8(reason.toUtf8(), MaxCloseReason));
        s.m_closeTransport = true;
        finish(s, code, reason, {.clean = false, .closedByUs = true});
    }

    static void clientReceive(Session &s, QByteArrayView data) {
        ClientHandshake &handshake = *s.d->client;
        const ClientHandshake::Status status = handshake.feed(data);
        if (status == ClientHandshake::Status::NeedMore)
            return;
        clientHandshakeDone(s, status);
    }

    static void clientHandshakeDone(Session &s, ClientHandshake::Status status) {
        ClientHandshake &handshake = *s.d->client;
        s.d->handshakeResponse = handshake.rawResponse();
        HandshakeEvent event;
        event.timestampUs = s.m_nowUs;
        event.rawRequest = s.d->handshakeRequest;
        event.rawResponse = s.d->handshakeResponse;
        event.httpStatus = handshake.statusCode();
        if (status == ClientHandshake::Status::Failed) {
            event.kind = HandshakeEvent::Kind::Failed;
            event.error = handshake.errorString();
            const QString error = event.error;
            pushEvent(s.m_events, std::move(event));
            s.m_closeTransport = true;
            finish(s, toWire(CloseCode::AbnormalClosure), error,
                   {.clean = false, .closedByUs = false});
            return;
        }
        event.kind = HandshakeEvent::Kind::ClientAccepted;
        event.subprotocol = handshake.subprotocol();
        event.extensions = handshake.acceptedExtensions();
        const bool needExtension = !event.extensions.isEmpty();
        pushEvent(s.m_events, std::move(event));
        setState(s, SessionState::Open);
        // The server may send frames right behind its 101, in the same read.
        const QByteArray leftover = handshake.takeLeftover();
        if (needExtension) {
            s.d->awaitingExtension = true;
            s.d->pending = leftover;
            s.d->pendingUs = s.m_nowUs;
            return;
        }
        createDecoder(s);
        feedDecoder(s, leftover);
    }

    static void serverReceive(Session &s, QByteArrayView data) {
        if (s.d->awaitingAccept) {
            // A client must wait for the 101 (RFC 6455 §4.1), but one that does not is
            // served once accepted, within a bound.
            if (s.d->pending.size() + data.size() > s.m_options.handshakeLimits.maxBodyBytes) {
                serverFail(s, 400,
                           QStringLiteral("the client sent more than %1 bytes before its "
                                          "handshake was answered")
                               .arg(s.m_options.handshakeLimits.maxBodyBytes));
                return;
            }
            s.d->pending.append(data);
            s.d->pendingUs = s.m_nowUs;
            return;
        }
        if (s.d->awaitingHttpResponse)
            return;

        ServerHandshake &handshake = *s.d->server;
        const ServerHandshake::Status status = handshake.feed(data);
        switch (status) {
        case ServerHandshake::Status::NeedMore:
            return;
        case ServerHandshake::Status::Failed: {
            s.d->handshakeRequest = handshake.rawRequest();
            const QByteArray response = handshake.failureResponse();
            HandshakeEvent event;
            event.kind = HandshakeEvent::Kind::Failed;
            event.timestampUs = s.m_nowUs;
            event.rawRequest = s.d->handshakeRequest;
            event.rawResponse = response;
            event.httpStatus = handshake.failureStatus();
            event.error = handshake.errorString();
            pushEvent(s.m_events, std::move(event));
            queueHttpAnswer(s, response);
            finish(s, toWire(CloseCode::AbnormalClosure), handshake.errorString(),
                   {.clean = false, .closedByUs = true});
            return;
        }
        case ServerHandshake::Status::Upgrade:
        case ServerHandshake::Status::PlainHttp:
            break;
        }

        const QByteArray leftover = handshake.takeLeftover();
        s.d->handshakeRequest = handshake.rawRequest();
        HandshakeEvent event;
        event.timestampUs = s.m_nowUs;
        event.rawRequest = s.d->handshakeRequest;
        if (status == ServerHandshake::Status::Upgrade) {
            event.kind = HandshakeEvent::Kind::UpgradeRequested;
            event.extensions = handshake.offeredExtensions();
            s.d->awaitingAccept = true;
            pushEvent(s.m_events, std::move(event));
            if (!leftover.isEmpty())
                serverReceive(s, leftover);
        } else {
            event.kind = HandshakeEvent::Kind::PlainHttpRequest;
            s.d->awaitingHttpResponse = true;
            pushEvent(s.m_events, std::move(event));
        }
    }

    // The server's handshake fails after the request was read (too much early data).
    static void serverFail(Session &s, int status, const QString &why) {
        const QByteArray response = ServerHandshake::httpResponse(
            status, {}, "text/plain; charset=utf-8", why.toUtf8() + '\n');
        HandshakeEvent event;
        event.kind = HandshakeEvent::Kind::Failed;
        event.timestampUs = s.m_nowUs;
        event.rawRequest = s.d->handshakeRequest;
        event.rawResponse = response;
        event.httpStatus = status;
        event.error = why;
        pushEvent(s.m_events, std::move(event));
        queueHttpAnswer(s, response);
        finish(s, toWire(CloseCode::AbnormalClosure), why, {.clean = false, .closedByUs = true});
    }

    static void queueHttpAnswer(Session &s, const QByteArray &response) {
        s.d->handshakeResponse = response;
        s.m_outgoing.append(response);
        s.m_bytesSent += response.size();
        s.m_closeTransport = true;
    }

    // What stops this data message from being sent now.
    // Why a data frame cannot go now, if it cannot.
    static SendError dataFrameRefusal(const Session &s) {
        // RFC 6455 §5.5.1: no data frames after a close frame.
        if (s.m_closeSent)
            return SendError::CloseAlreadySent;
        if (s.m_state != SessionState::Open)
            return SendError::NotOpen;
        // RFC 6455 §5.4: nothing goes between the pieces of a frame.
        if (isSendingPieces(s))
            return SendError::FrameInProgress;
        return SendError::None;
    }

    static SendError dataSendError(const Session &s, Opcode type, QByteArrayView data) {
        if (const SendError refusal = dataFrameRefusal(s); refusal != SendError::None)
            return refusal;
        // RFC 6455 §5.6: text payloads are UTF-8.
        if (type == Opcode::Text && !Utf8Validator::isValid(data))
            return SendError::InvalidUtf8;
        return SendError::None;
    }

    static bool transportUp(const Session &s) {
        return s.m_state == SessionState::Open || s.m_state == SessionState::Closing;
    }
};

// --- server handshake decisions -----------------------------------------------------

void Session::accept(const QByteArray &subprotocol, const QList<ExtensionParams> &extensions,
                     MessageExtension *extension, qint64 nowUs, const HttpHeaders &extraHeaders) {
    m_nowUs = nowUs;
    if (m_role != Role::Server || !d->awaitingAccept || m_state != SessionState::Connecting)
        return;
    d->awaitingAccept = false;
    d->handshakeResponse = d->server->acceptResponse(subprotocol, extensions, extraHeaders);
    m_outgoing.append(d->handshakeResponse);
    m_bytesSent += d->handshakeResponse.size();
    d->extension = extension;
    d->encoder.setExtension(extension);
    SessionOps::setState(*this, SessionState::Open);
    SessionOps::createDecoder(*this);
    const QByteArray early = std::exchange(d->pending, {});
    if (!early.isEmpty())
        m_nowUs = d->pendingUs;
    SessionOps::feedDecoder(*this, early);
}

void Session::reject(int httpStatus, const QByteArray &reason, qint64 nowUs) {
    m_nowUs = nowUs;
    if (m_role != Role::Server || !d->awaitingAccept || m_state != SessionState::Connecting)
        return;
    const QByteArray body = reason.isEmpty() ? ServerHandshake::reasonPhrase(httpStatus) : reason;
    const QByteArray response =
        ServerHandshake::httpResponse(httpStatus, reason, "text/plain; charset=utf-8", body + '\n');
    SessionOps::queueHttpAnswer(*this, response);
    SessionOps::finish(
        *this, toWire(CloseCode::AbnormalClosure),
        QStringLiteral("handshake rejected: %1 %2").arg(httpStatus).arg(QString::fromUtf8(reason)),
        {.clean = false, .closedByUs = true});
}

void Session::respondHttp(const QByteArray &response, const QString &why, qint64 nowUs) {
    m_nowUs = nowUs;
    if (m_role != Role::Server || !(d->awaitingHttpResponse || d->awaitingAccept) ||
        m_state != SessionState::Connecting)
        return;
    SessionOps::queueHttpAnswer(*this, response);
    SessionOps::finish(*this, toWire(CloseCode::AbnormalClosure), why,
                       {.clean = false, .closedByUs = true});
}

void Session::setExtension(MessageExtension *extension) {
    if (m_role != Role::Client || m_state == SessionState::Connecting)
        return;
    d->extension = extension;
    d->encoder.setExtension(extension);
    if (d->awaitingExtension) {
        d->awaitingExtension = false;
        SessionOps::createDecoder(*this);
        const QByteArray early = std::exchange(d->pending, {});
        if (!early.isEmpty())
            m_nowUs = d->pendingUs;
        SessionOps::feedDecoder(*this, early);
    } else if (d->decoder && d->decoder->bytesFed() == 0) {
        SessionOps::createDecoder(*this);
    }
}

// --- input ----------------------------------------------------------------------------

void Session::receiveData(QByteArrayView data, qint64 nowUs) {
    m_nowUs = nowUs;
    m_bytesReceived += data.size();
    if (data.isEmpty() || d->ignoreInput)
        return;
    if (m_state == SessionState::Connecting) {
        if (m_role == Role::Client)
            SessionOps::clientReceive(*this, data);
        else
            SessionOps::serverReceive(*this, data);
        return;
    }
    if (d->awaitingExtension) {
        d->pending.append(data);
        d->pendingUs = nowUs;
        return;
    }
    SessionOps::feedDecoder(*this, data);
}

void Session::receiveEof(qint64 nowUs) {
    m_nowUs = nowUs;
    m_closeTransport = true;
    if (d->closedEmitted)
        return;
    if (m_state == SessionState::Connecting && m_role == Role::Client && d->requestSent) {
        const ClientHandshake::Status status = d->client->feedEof();
        if (status == ClientHandshake::Status::Failed) {
            SessionOps::clientHandshakeDone(*this, status);
            return;
        }
    }
    // RFC 6455 §7.1.5: TCP closed without a close frame: 1006.
    SessionOps::finish(*this, toWire(CloseCode::AbnormalClosure),
                       QStringLiteral("the connection closed without a close frame"),
                       {.clean = false, .closedByUs = d->closeSentFirst});
}

void Session::abort(const QString &why, qint64 nowUs) {
    m_nowUs = nowUs;
    m_closeTransport = true;
    d->ignoreInput = true;
    SessionOps::finish(*this, toWire(CloseCode::AbnormalClosure), why,
                       {.clean = false, .closedByUs = d->closeSentFirst});
}

// --- output ----------------------------------------------------------------------------

SendError Session::sendText(QByteArrayView utf8, qint64 nowUs, qint64 fragmentSize) {
    m_nowUs = nowUs;
    if (const SendError error = SessionOps::dataSendError(*this, Opcode::Text, utf8);
        error != SendError::None)
        return error;
    SessionOps::sendMessage(*this, Opcode::Text, utf8, fragmentSize);
    return SendError::None;
}

SendError Session::sendBinary(QByteArrayView data, qint64 nowUs, qint64 fragmentSize) {
    m_nowUs = nowUs;
    if (const SendError error = SessionOps::dataSendError(*this, Opcode::Binary, data);
        error != SendError::None)
        return error;
    SessionOps::sendMessage(*this, Opcode::Binary, data, fragmentSize);
    return SendError::None;
}

SendError Session::sendShared(Opcode type, const QByteArray &data, qint64 nowUs,
                              qint64 fragmentSize) {
    m_nowUs = nowUs;
    if (const SendError error = SessionOps::dataSendError(*this, type, data);
        error != SendError::None)
        return error;
    SessionOps::sendMessage(*this, type, data, fragmentSize, &data);
    return SendError::None;
}

SendError Session::sendPing(QByteArrayView payload, qint64 nowUs) {
    m_nowUs = nowUs;
    // Control frames may still go out while our close waits for its answer.
    if (!SessionOps::transportUp(*this))
        return SendError::NotOpen;
    if (payload.size() > MaxControlPayload)
        return SendError::ControlPayloadTooLong;
    if (SessionOps::isSendingPieces(*this))
        return SendError::FrameInProgress;
    SessionOps::sendControl(*this, Opcode::Ping, payload);
    return SendError::None;
}

SendError Session::sendPong(QByteArrayView payload, qint64 nowUs) {
    m_nowUs = nowUs;
    if (!SessionOps::transportUp(*this))
        return SendError::NotOpen;
    if (payload.size() > MaxControlPayload)
        return SendError::ControlPayloadTooLong;
    if (SessionOps::isSendingPieces(*this))
        return SendError::FrameInProgress;
    SessionOps::sendControl(*this, Opcode::Pong, payload);
    return SendError::None;
}

SendError Session::sendClose(std::optional<quint16> code, const QString &reason, qint64 nowUs) {
    m_nowUs = nowUs;
    if (m_closeSent)
        return SendError::CloseAlreadySent;
    // The peer's close waits for this answer (autoCloseAnswer off).
    const bool answering = m_closeReceived && m_state == SessionState::Closing;
    if (m_state != SessionState::Open && !answering)
        return SendError::NotOpen;
    const QByteArray reasonUtf8 = reason.toUtf8();
    // RFC 6455 §5.5.1: a reason needs a code in front of it; §7.4: 1005, 1006,
    // 1015 and the unassigned codes must not be sent.
    if (!code ? !reasonUtf8.isEmpty() : !isValidOnWire(*code))
        return SendError::InvalidCloseCode;
    if (!Utf8Validator::isValid(reasonUtf8))
        return SendError::InvalidUtf8;
    if (reasonUtf8.size() > MaxCloseReason)
        return SendError::ControlPayloadTooLong;
    SessionOps::sendCloseFrame(*this, code, reasonUtf8);
    if (answering) {
        // RFC 6455 §7.1.1: the server closes TCP first; the client waits for it.
        if (m_role == Role::Server)
            m_closeTransport = true;
        SessionOps::finish(*this, d->peerCloseCode.value_or(toWire(CloseCode::NoStatusReceived)),
                           d->peerCloseReason, {.clean = true, .closedByUs = false});
        return SendError::None;
    }
    SessionOps::setState(*this, SessionState::Closing);
    return SendError::None;
}

void Session::setMessageSink(FrameDecoder::MessageSink sink) {
    d->messageSink = std::move(sink);
    if (d->decoder)
        d->decoder->setMessageSink(d->messageSink);
}

void Session::setMessageHandler(std::function<void(const DecodedMessage &)> handler) {
    d->messageHandler = std::move(handler);
}

SendError Session::sendReceivedMessage(Opcode type, QByteArrayView payload, qint64 nowUs) {
    m_nowUs = nowUs;
    if (const SendError refusal = SessionOps::dataFrameRefusal(*this); refusal != SendError::None)
        return refusal;
    if (d->extension) {
        SessionOps::sendMessage(*this, type, payload, 0);
        return SendError::None;
    }
    SessionOps::prepareOutgoing(*this, payload.size());
    const qsizetype start = m_outgoing.size();
    const FrameHeader header = d->encoder.encodeFrame(m_outgoing, type, payload);
    const qint64 offset = SessionOps::account(*this, start, 0);
    if (m_options.reportFrames)
        SessionOps::reportOutgoingFrame(*this, header, start, offset, payload.toByteArray());
    return SendError::None;
}

SendError Session::sendDataFrame(Opcode opcode, QByteArrayView payload, bool fin, qint64 nowUs,
                                 QByteArray *buffer) {
    m_nowUs = nowUs;
    if (const SendError refusal = SessionOps::dataFrameRefusal(*this); refusal != SendError::None)
        return refusal;
    const bool report = m_options.reportFrames && !d->frameSink;
    if (buffer && !report && payload.size() >= MinSharedPayload) {
        Q_ASSERT(buffer->size() == payload.size());
        // The payload is ours: RFC 6455 §5.3, masked in place with our fresh key, and
        // handed to the transport as it is.
        QByteArray shared = std::move(*buffer);
        SessionOps::prepareOutgoing(*this, 0);
        const qsizetype start = m_outgoing.size();
        const FrameHeader header =
            d->encoder.encodeFrameHeader(m_outgoing, opcode, shared.size(), fin);
        if (header.maskingKey)
            applyMask(shared.data(), shared.size(), *header.maskingKey);
        SessionOps::account(*this, start, shared.size());
        SessionOps::appendSharedPayload(*this, shared);
        return SendError::None;
    }
    SessionOps::prepareOutgoing(*this, payload.size());
    const qsizetype start = m_outgoing.size();
    const FrameHeader header = d->encoder.encodeFrame(m_outgoing, opcode, payload, fin);
    const qint64 offset = SessionOps::account(*this, start, 0);
    // The frame event keeps the unmasked payload: the caller's buffer when it gave
    // one (shared, not copied), else a copy.
    if (report)
        SessionOps::reportOutgoingFrame(*this, header, start, offset,
                                        buffer ? *buffer : payload.toByteArray());
    return SendError::None;
}

void Session::setFrameSink(FrameSink sink) {
    d->frameSink = std::move(sink);
    if (d->decoder) {
        d->decoder->setFrameSink(SessionOps::decoderFrameSink(*this));
        d->decoder->setPieceSink(SessionOps::decoderPieceSink(*this));
    }
}

void Session::setPieceSink(PieceSink sink) {
    d->pieceSink = std::move(sink);
    if (d->decoder)
        d->decoder->setPieceSink(SessionOps::decoderPieceSink(*this));
}

void Session::setFrameRunSink(FrameRunSink sink) {
    d->runSink = std::move(sink);
    if (d->decoder)
        d->decoder->setRunSink(SessionOps::decoderRunSink(*this));
}

bool Session::takesFrameRun(QByteArrayView wireFrames, bool reportedByCaller) const {
    if (wireFrames.size() < 2 || SessionOps::dataFrameRefusal(*this) != SendError::None ||
        d->extension || (m_options.reportFrames && !d->frameSink && !reportedByCaller))
        return false;
    // RFC 6455 §5.1: a client masks every frame, a server none. The frames of a run
    // share their mask bit (FrameDecoder::setRunSink).
    const bool masked = (quint8(wireFrames[1]) & MaskBit) != 0;
    return masked == (m_role == Role::Client);
}

bool Session::sendFrameRun(QByteArrayView wireFrames, qint64 nowUs, QByteArrayView *sent) {
    if (!takesFrameRun(wireFrames, sent != nullptr))
        return false;
    m_nowUs = nowUs;
    SessionOps::prepareOutgoing(*this, wireFrames.size());
    const qsizetype start = m_outgoing.size();
    d->encoder.appendFrameRun(m_outgoing, wireFrames);
    SessionOps::account(*this, start);
    if (sent)
        *sent = QByteArrayView(m_outgoing).sliced(start, wireFrames.size());
    return true;
}

bool Session::sendFrameRunInPlace(char *wireFrames, qsizetype size, qint64 nowUs) {
    if (!takesFrameRun(QByteArrayView(wireFrames, size), false))
        return false;
    m_nowUs = nowUs;
    d->encoder.remaskFrameRun(wireFrames, size);
    SessionOps::account(*this, m_outgoing.size(), size);
    appendCallerChunk(wireFrames, size);
    return true;
}

qint64 Session::incomingFrameBytesLeft() const {
    if (!d->decoder)
        return 0;
    return qint64(std::min<quint64>(d->decoder->payloadBytesLeft(),
                                    quint64(std::numeric_limits<qint64>::max())));
}

bool Session::isSendingPieces() const {
    return SessionOps::isSendingPieces(*this);
}

SendError Session::sendDataPiece(const FrameHeader &received, quint64 offset,
                                 QByteArrayView wireBytes, qint64 nowUs, FrameHeader *sent) {
    const SendError refusal =
        SessionOps::startPiece(*this, received, offset, wireBytes.size(), true, nowUs, sent);
    if (refusal != SendError::None)
        return refusal;
    // RFC 6455 §5.3: the peer's key off and ours on, both at the same phase, in one
    // pass: the key that does both is the XOR of the two.
    const quint32 key = received.maskingKey.value_or(0) ^ d->pieceKey.value_or(0);
    const qsizetype start = m_outgoing.size();
    m_outgoing.resize(start + wireBytes.size());
    if (key != 0)
        copyWithMask(m_outgoing.data() + start, wireBytes.data(), wireBytes.size(), key, offset);
    else
        std::memcpy(m_outgoing.data() + start, wireBytes.data(), size_t(wireBytes.size()));
    SessionOps::account(*this, start);
    d->pieceBytesLeft -= quint64(wireBytes.size());
    return SendError::None;
}

SendError Session::sendDataPieceInPlace(const FrameHeader &received, quint64 offset,
                                        char *wireBytes, qsizetype size, qint64 nowUs) {
    const SendError refusal =
        SessionOps::startPiece(*this, received, offset, size, false, nowUs, nullptr);
    if (refusal != SendError::None)
        return refusal;
    if (const quint32 key = received.maskingKey.value_or(0) ^ d->pieceKey.value_or(0))
        applyMask(wireBytes, size, key, offset);
    SessionOps::account(*this, m_outgoing.size(), size);
    appendCallerChunk(wireBytes, size);
    d->pieceBytesLeft -= quint64(size);
    return SendError::None;
}

void Session::appendCallerChunk(const char *bytes, qsizetype size) {
    // After what is already queued, which keeps its place.
    if (!m_outgoing.isEmpty())
        m_outgoingChunks.append(std::exchange(m_outgoing, QByteArray()));
    m_outgoingChunks.append(QByteArray::fromRawData(bytes, size));
    m_callerChunks = true;
}

bool Session::isCallerBytes(const QByteArray &chunk) {
    // QByteArray::fromRawData() leaves the array without data of its own (data_ptr()
    // only hands out the pointer: nothing is detached).
    return !chunk.isEmpty() && !const_cast<QByteArray &>(chunk).data_ptr().d_ptr();
}

void Session::ownOutgoing() {
    if (!m_callerChunks)
        return;
    for (QByteArray &chunk : m_outgoingChunks) {
        if (isCallerBytes(chunk))
            chunk = QByteArray(chunk.constData(), chunk.size());
    }
    m_callerChunks = false;
}

SendError Session::sendRaw(const RawFrame &frame, qint64 nowUs) {
    m_nowUs = nowUs;
    if (!SessionOps::transportUp(*this))
        return SendError::NotOpen;
    const bool sharePayload =
        SessionOps::sharesPayload(frame.payload.size(), frame.maskingKey.has_value());
    SessionOps::prepareOutgoing(*this, sharePayload ? 0 : frame.payload.size());
    const qsizetype start = m_outgoing.size();
    const FrameHeader header = sharePayload ? FrameEncoder::encodeRawHeader(m_outgoing, frame)
                                            : FrameEncoder::encodeRaw(m_outgoing, frame);
    const qint64 offset =
        SessionOps::account(*this, start, sharePayload ? frame.payload.size() : 0);
    const bool isClose = header.opcode == quint8(Opcode::Close);
    std::optional<quint16> closeCode;
    QString closeReason;
    if (isClose) {
        const ClosePayload split = splitClosePayload(frame.payload);
        closeCode = split.code;
        closeReason = QString::fromUtf8(split.reason);
    }
    if (header.opcode == quint8(Opcode::Ping) && frame.payload.size() <= MaxControlPayload)
        SessionOps::rememberPing(*this, frame.payload);
    if (m_options.reportFrames)
        SessionOps::reportOutgoingFrame(*this, header, start, offset, frame.payload, closeCode,
                                        closeReason);
    if (sharePayload)
        SessionOps::appendSharedPayload(*this, frame.payload);
    if (isClose && !m_closeSent) {
        if (!m_closeReceived)
            d->closeSentFirst = true;
        m_closeSent = true;
        SessionOps::setState(*this, SessionState::Closing);
    }
    return SendError::None;
}

} // namespace ws

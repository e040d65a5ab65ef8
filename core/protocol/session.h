#pragma once

#include "conformance.h"
#include "framedecoder.h"
#include "frameencoder.h"
#include "handshake.h"
#include "role.h"

#include <QByteArray>
#include <QString>

#include <concepts>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <variant>
#include <vector>

namespace ws {

// RFC 6455 §4.1 / §7: the life of one connection.
enum class SessionState { Connecting, Open, Closing, Closed };
const char *stateName(SessionState state);

struct SessionOptions {
    Conformance conformance = Conformance::Standard;
    qint64 maxMessageSize = 64 * 1024 * 1024;
    bool autoPong = true; // answer pings at once; off to test how a peer handles silence
    // Answer the peer's close frame at once (RFC 6455 §5.5.1, echoing its code). Off:
    // the session stays Closing until sendClose() gives the answer (a relay answers
    // with what the other side answered); the ClosedEvent comes with that answer.
    bool autoCloseAnswer = true;
    bool reportFrames = true; // emit a FrameEvent for every frame in both directions
    // Server: limits on the request; its maxBodyBytes also bounds the bytes a client
    // may send between its request and accept(). A client's limits come with its
    // ClientHandshakeOptions.
    HandshakeLimits handshakeLimits;
};

// --- events, in the order things happened ----------------------------------------

// Every frame, both ways. For outgoing frames, payload is what we sent (unmasked,
// after the extension). streamOffset counts the frame bytes of that direction: the
// handshake's header blocks are not part of either stream.
//
// Times are microseconds of whatever clock the caller passes with each call (the
// network layer passes EventClock's). An incoming frame or message carries the time
// of the receiveData() call that delivered its last byte. An outgoing one carries
// the time of the send call (queuedUs) until the transport reports the bytes
// written (outgoingWritten()): timestampUs is then when its last byte was handed to
// the transport.
struct FrameEvent {
    Direction direction = Direction::Incoming;
    qint64 timestampUs = 0;
    DecodedFrame frame;
    qint64 queuedUs = 0; // outgoing: when the send was asked for; incoming: timestampUs
};

struct MessageEvent {
    Direction direction = Direction::Incoming;
    qint64 timestampUs = 0;
    DecodedMessage message;
    qint64 queuedUs = 0; // outgoing: when the send was asked for; incoming: timestampUs
};

// The opening handshake. Client: the server accepted (Open). Server: a client asked
// to upgrade and waits for accept() or reject() (`extensions` holds what it offered);
// or a plain HTTP request arrived. Failed: client, the answer was not an acceptable
// 101; server, the request was malformed and failureResponse() went out.
struct HandshakeEvent {
    enum class Kind { ClientAccepted, UpgradeRequested, PlainHttpRequest, Failed };
    Kind kind = Kind::ClientAccepted;
    qint64 timestampUs = 0;
    QByteArray rawRequest;  // header block we sent (client) or received (server)
    QByteArray rawResponse; // header block received (client) or sent (server)
    int httpStatus = 0;
    QByteArray subprotocol;
    QList<ExtensionParams> extensions;
    QString error; // for Failed
};

struct PingEvent {
    qint64 timestampUs = 0;
    QByteArray payload;
    bool answered = false; // an automatic pong went out
};

struct PongEvent {
    qint64 timestampUs = 0;
    QByteArray payload;
    // When it answers a ping we sent: from the ping's bytes leaving (as reported by
    // outgoingWritten(), else the time of the send call) to this pong's arrival.
    std::optional<qint64> roundTripUs;
};

// The peer sent a close frame (we answer it automatically if we have not closed yet).
struct CloseEvent {
    qint64 timestampUs = 0;
    std::optional<quint16> code;
    QString reason;
};

// The peer broke a rule: we failed the connection with violation.closeCode().
struct ViolationEvent {
    qint64 timestampUs = 0;
    ProtocolViolation violation;
};

struct NoteEvent {
    qint64 timestampUs = 0;
    ConformanceNote note;
};

struct StateEvent {
    qint64 timestampUs = 0;
    SessionState state = SessionState::Connecting;
};

// The connection is over. `code` is what the peer sent (1005 if its close had no
// code, 1006 if there was no close frame at all) or, when we failed the connection,
// the code we sent; `clean` means both close frames were exchanged. A session ends
// with exactly one, also after a failed or rejected handshake or a plain HTTP
// answer (code 1006 there).
struct ClosedEvent {
    qint64 timestampUs = 0;
    quint16 code = 1006;
    QString reason;
    bool clean = false;
    bool closedByUs = false; // we sent the first close frame
};

using SessionEvent = std::variant<FrameEvent, MessageEvent, HandshakeEvent, PingEvent, PongEvent,
                                  CloseEvent, ViolationEvent, NoteEvent, StateEvent, ClosedEvent>;

// Why a send was refused: the caller's misuse, not the peer's.
enum class [[nodiscard]] SendError{
    None,
    NotOpen,               // not yet open, or already closed
    CloseAlreadySent,      // §5.5.1: no data frames after a close
    ControlPayloadTooLong, // §5.5: control payloads are at most 125 bytes
    InvalidCloseCode,      // a code that must not be sent (use sendRaw to break the rule)
    InvalidUtf8,           // text messages must be UTF-8 (use sendRaw to break the rule)
    FrameInProgress,       // §5.4: a frame sent in pieces is not complete yet
};
const char *sendErrorText(SendError error);

// The sans-I/O connection: bytes and calls in, bytes and events out. It owns the
// handshake, the decoder, the encoder and the state machine; the network layer
// owns sockets, timers and the clock. Every call that can produce an event takes
// the time it happens (`nowUs`, microseconds of one monotonic clock): bytes in, time
// in. The session keeps no clock of its own.
class Session {
public:
    // A client: start() writes the opening handshake request.
    Session(ClientHandshakeOptions handshake, SessionOptions options = {},
            MaskingKeySource keys = MaskingKeySource::systemRandom(), QByteArray clientKey = {});
    // A server: waits for the client's request.
    explicit Session(SessionOptions options);
    ~Session();

    Role role() const { return m_role; }
    SessionState state() const { return m_state; }

    // Client: queue the opening request. Server: nothing.
    void start(qint64 nowUs);

    // Server, after an UpgradeRequested event. Frames the client sent early are
    // decoded now, stamped with the time they were received.
    // `extraHeaders` go into the 101 after ours (a relay passes on its upstream's).
    void accept(const QByteArray &subprotocol, const QList<ExtensionParams> &extensions,
                MessageExtension *extension, qint64 nowUs, const HttpHeaders &extraHeaders = {});
    void reject(int httpStatus, const QByteArray &reason, qint64 nowUs);
    // Server, after a PlainHttpRequest or an UpgradeRequested: answer with this
    // complete HTTP response instead of a 101 (a plain HTTP answer, a relay passing on
    // its upstream's refusal or its own 502/504, a server that misbehaves on purpose).
    // The connection then closes; `why` is the ClosedEvent's reason.
    void respondHttp(const QByteArray &response, const QString &why, qint64 nowUs);
    // The request behind UpgradeRequested / PlainHttpRequest.
    const ServerHandshake *serverHandshake() const;
    const ClientHandshake *clientHandshake() const;
    // Client, after ClientAccepted: install the negotiated extension (may be null).
    // When the server accepted any extension, received frames wait (unparsed) for
    // this call, since the decoder must know which RSV bits mean something; they
    // are stamped with the time they were received.
    void setExtension(MessageExtension *extension);
    // The opening handshake's header blocks: the request we sent or received, and
    // the answer received or sent (the 101, a rejection or an HTTP response).
    QByteArray rawHandshakeRequest() const;
    QByteArray rawHandshakeResponse() const;

    // Bytes from the peer, read from the transport at `nowUs`; then the transport's end.
    void receiveData(QByteArrayView data, qint64 nowUs);
    void receiveEof(qint64 nowUs);

    // Our side, asked for at `nowUs`.
    SendError sendText(QByteArrayView utf8, qint64 nowUs, qint64 fragmentSize = 0);
    SendError sendBinary(QByteArrayView data, qint64 nowUs, qint64 fragmentSize = 0);
    // The same for a QByteArray (chosen over the view for one): the outgoing events
    // share its bytes instead of copying them, so an echo costs no extra copy.
    template <typename Bytes>
    requires std::same_as<std::remove_cvref_t<Bytes>, QByteArray>
        SendError sendText(Bytes &&utf8, qint64 nowUs, qint64 fragmentSize = 0) {
        return sendShared(Opcode::Text, utf8, nowUs, fragmentSize);
    }
    template <typename Bytes>
    requires std::same_as<std::remove_cvref_t<Bytes>, QByteArray>
        SendError sendBinary(Bytes &&data, qint64 nowUs, qint64 fragmentSize = 0) {
        return sendShared(Opcode::Binary, data, nowUs, fragmentSize);
    }
    SendError sendPing(QByteArrayView payload, qint64 nowUs);
    SendError sendPong(QByteArrayView payload, qint64 nowUs);
    // `code` empty: a close frame without a payload. With autoCloseAnswer off, after
    // the peer's close this is the answer to it.
    SendError sendClose(std::optional<quint16> code, const QString &reason, qint64 nowUs);
    // Any frame, any rule broken. Allowed while the transport is up (Open, Closing).
    // A raw close frame counts as our close: no automatic close answers the peer's.
    SendError sendRaw(const RawFrame &frame, qint64 nowUs);

    // The echo path, for an owner that answers each message at once and whose events
    // nobody watches. With a sink set, every complete incoming data message goes to
    // it, in order, as a view valid only during the call (FrameDecoder::setMessageSink:
    // small ones never touch the heap), and no incoming MessageEvent is queued for
    // it; frames, pings, closes and violations are events as usual. An empty
    // function restores the events.
    void setMessageSink(FrameDecoder::MessageSink sink);
    // Called for each incoming message right after its MessageEvent is queued, inside
    // receiveData(), in stream order with the other frames: what it sends goes out
    // ahead of the session's own answers to later frames (the answer to a close
    // frame that followed the message in the same bytes, say). For an echo that
    // keeps the events. Not called for messages that go to a message sink.
    void setMessageHandler(std::function<void(const DecodedMessage &message)> handler);
    // Sends one data message as a single frame without an outgoing MessageEvent and
    // without checking text is UTF-8: for a message this session received (the
    // decoder validated it), e.g. an echo from the sink. Frame events are reported as
    // usual when enabled; with an extension the message goes through it.
    SendError sendReceivedMessage(Opcode type, QByteArrayView payload, qint64 nowUs);
    // Sends one data frame as given (Text, Binary or Continuation, FIN or not), masked
    // with a fresh key by a client, without the extension and without checking the
    // fragmentation sequence or UTF-8: for a relay that forwards the frames of a
    // message another session received (its decoder validated them) one by one, so
    // that the message keeps its fragmentation. No outgoing MessageEvent; frame
    // events as usual.
    // `buffer`, when not null, holds exactly `payload` and may be taken: a large
    // payload then goes out as a chunk of its own, masked in place by a client, rather
    // than copied behind its header.
    SendError sendDataFrame(Opcode opcode, QByteArrayView payload, bool fin, qint64 nowUs,
                            QByteArray *buffer = nullptr);
    // The forwarding path of a relay whose frames nobody watches: every incoming data
    // frame goes to `sink` as soon as it is whole and checked (FrameDecoder::setFrameSink:
    // a view valid during the call, `buffer` an allocation it may take), from inside
    // receiveData(). Order is kept: a frame that completes while events of this session
    // wait to be taken becomes a FrameEvent instead, for the owner to forward after
    // them. No incoming MessageEvent is made, and no data frame either way is a
    // FrameEvent otherwise. Used only while no extension is in use (a compressed
    // fragment means nothing alone). An empty function restores the usual path.
    using FrameSink =
        std::function<void(const FrameHeader &header, QByteArrayView payload, QByteArray *buffer)>;
    void setFrameSink(FrameSink sink);
    // With a frame sink: an incoming binary data frame whose bytes arrive over several
    // receiveData() calls goes to `sink` in pieces as they arrive, instead of to the
    // frame sink once whole (FrameDecoder::setPieceSink: its bytes still masked as
    // received, `offset` payload bytes before them; text frames are always whole). A
    // frame that would complete behind events not taken yet is not cut in pieces but
    // takes the frame sink's path. An empty function: whole frames only.
    // Without a frame sink: an incoming binary message of one frame goes to `sink` in
    // pieces, which then reports it itself: it makes no FrameEvent and no MessageEvent.
    // The sink answers the first piece (offset 0): false refuses the frame, which then
    // takes the usual path; every later piece of an accepted frame must be taken.
    using PieceSink =
        std::function<bool(const FrameHeader &header, quint64 offset, QByteArrayView wireBytes)>;
    void setPieceSink(PieceSink sink);
    // With a frame sink: incoming whole data frames that follow each other in one
    // receiveData() go to `sink` together, as their bytes on the wire
    // (FrameDecoder::setRunSink), where the frame sink would take each of them; false
    // from the sink sends them to the frame sink one by one. An empty function: frame
    // by frame only.
    // Without a frame sink: runs of whole single-frame text and binary messages, between
    // messages, go to `sink`, which then reports them itself: they make no FrameEvent
    // and no MessageEvent. Refused (false), they are decoded and reported as usual.
    using FrameRunSink = std::function<bool(QByteArrayView wireFrames)>;
    void setFrameRunSink(FrameRunSink sink);
    // Sends the frames of a run another session received (FrameRunSink) in one append,
    // as sendDataFrame() would send each: a client re-masks them with fresh keys of its
    // own (FrameEncoder::appendFrameRun). Returns false and sends nothing when they
    // cannot go that way (a data frame cannot go now, an extension is in use, frame
    // events are reported and `sent` is null, or their mask bit is not the one our role
    // sends); they are then for sendDataFrame() one by one, which says why. With `sent`,
    // the caller reports these frames instead of frame events: it is set to the bytes
    // the run became, valid until the session's outgoing bytes change.
    bool sendFrameRun(QByteArrayView wireFrames, qint64 nowUs, QByteArrayView *sent = nullptr);
    // As sendFrameRun() without `sent`, without copying the run: a client re-masks the
    // frames where they lie, and the outgoing bytes refer to them as a chunk of their
    // own, as sendDataPieceInPlace() does (the same promise from the caller).
    bool sendFrameRunInPlace(char *wireFrames, qsizetype size, qint64 nowUs);
    // Sends a piece of a data frame another session received in pieces (PieceSink):
    // the first piece (offset 0) writes the header, with `received`'s opcode, FIN and
    // full payload length and, for a client, a fresh masking key; every piece is then
    // unmasked and masked again in one pass over its bytes, straight into the outgoing
    // bytes. Until the last piece nothing else can go (RFC 6455 §5.4: frames do not
    // interleave): other sends say FrameInProgress, and a close, which cannot wait
    // (failing the connection, answering the peer's close), is not sent at all: the
    // transport is closed instead. No frame events. Pieces of a frame whose first
    // piece was refused are refused too. `sent`, when not null, is set at the first
    // piece to the header written (with its masking key), for a caller that reports
    // the frame itself.
    SendError sendDataPiece(const FrameHeader &received, quint64 offset, QByteArrayView wireBytes,
                            qint64 nowUs, FrameHeader *sent = nullptr);
    // As sendDataPiece(), without copying the piece: its bytes are unmasked and masked
    // again where they lie, and the outgoing bytes refer to them as a chunk of their own
    // (takeOutgoingChunks()) until they are taken or ownOutgoing() copies them. The
    // caller keeps them valid and unchanged until then.
    SendError sendDataPieceInPlace(const FrameHeader &received, quint64 offset, char *wireBytes,
                                   qsizetype size, qint64 nowUs);
    // Whether outgoing bytes still refer to a caller's (sendDataPieceInPlace()).
    bool refersToCallerBytes() const { return m_callerChunks; }
    // Copies the outgoing bytes that refer to a caller's into the session's own.
    void ownOutgoing();
    // Whether a chunk of takeOutgoingChunks() is a caller's bytes, not the session's.
    static bool isCallerBytes(const QByteArray &chunk);
    // True between the first and the last piece of a frame sent in pieces.
    bool isSendingPieces() const;
    // Give up without a close handshake (timeout, or the user pulled the plug):
    // emits ClosedEvent with 1006 and asks for the transport to be closed.
    void abort(const QString &why, qint64 nowUs);

    // Bytes to write to the transport, in order.
    bool hasOutgoing() const { return !m_outgoing.isEmpty() || !m_outgoingChunks.isEmpty(); }
    QByteArray takeOutgoing();
    // The same bytes as takeOutgoing(), in the same order, appended to `chunks` as
    // pieces to write one after the other; the payload of a large unmasked frame (a
    // server's, or a raw frame without a key) is its own piece, the very QByteArray
    // the caller sent (shared, not copied), so a transport that queues QByteArrays
    // by implicit sharing never copies it. takeOutgoing() joins the pieces instead.
    // A piece sent in place is a QByteArray::fromRawData() over the caller's bytes
    // (isCallerBytes()): to be written or copied before the caller reuses them.
    void takeOutgoingChunks(QList<QByteArray> &chunks);
    // The transport handed every byte taken so far to the network at `nowUs`: the
    // outgoing frame and message events of those bytes not taken yet are stamped
    // with it (their queuedUs keeps the send call's time), and so are the pings among
    // them, whose round trips count from then. A transport that never calls this
    // leaves the send calls' times.
    void outgoingWritten(qint64 nowUs);
    // Whether outgoingWritten() would stamp anything now (events or pings whose bytes
    // were taken): a transport that writes often asks the clock only then.
    bool awaitsWrittenTime() const;

    bool hasEvent() const { return m_nextEvent < m_events.size(); }
    // Only when hasEvent().
    SessionEvent takeEvent();

    // The network layer should close the TCP connection once the outgoing bytes are
    // written: the server after the close handshake (§7.1.1), either side after
    // failing the connection, a server after answering a plain HTTP request.
    bool shouldCloseTransport() const { return m_closeTransport; }
    bool closeSent() const { return m_closeSent; }
    bool closeReceived() const { return m_closeReceived; }

    void setAutoPong(bool on) { m_options.autoPong = on; }
    const SessionOptions &options() const { return m_options; }
    qint64 bytesReceived() const { return m_bytesReceived; }
    qint64 bytesSent() const { return m_bytesSent; }
    // The payload bytes the incoming frame being read still lacks (0 between frames,
    // inside a header or before the handshake is done): receiveData() of that many
    // bytes completes nothing, so it makes no event.
    qint64 incomingFrameBytesLeft() const;

private:
    SendError sendShared(Opcode type, const QByteArray &data, qint64 nowUs, qint64 fragmentSize);
    // Whether a run can go now (sendFrameRun()); `reportedByCaller`: the caller reports
    // its frames, so reported frames do not stop it.
    bool takesFrameRun(QByteArrayView wireFrames, bool reportedByCaller) const;
    // Queues a caller's bytes as a chunk of their own, after what is queued.
    void appendCallerChunk(const char *bytes, qsizetype size);

    friend struct SessionOps; // the state machine's steps, in session.cpp
    struct Private;
    std::unique_ptr<Private> d;
    Role m_role;
    SessionOptions m_options;
    SessionState m_state = SessionState::Connecting;
    // The time of the call being handled: what it produces is stamped with it.
    qint64 m_nowUs = 0;
    // The outgoing bytes are m_outgoingChunks, in order, then m_outgoing: a shared
    // payload closes the buffer before it and follows it as a chunk of its own.
    QList<QByteArray> m_outgoingChunks;
    QByteArray m_outgoing;
    bool m_callerChunks = false; // some of m_outgoingChunks are the caller's bytes
    // Events not taken yet start at m_nextEvent; the vector is cleared (keeping its
    // capacity) once all are taken, so steady-state traffic does not allocate here.
    std::vector<SessionEvent> m_events;
    std::size_t m_nextEvent = 0;
    bool m_closeTransport = false;
    bool m_closeSent = false;
    bool m_closeReceived = false;
    qint64 m_bytesReceived = 0;
    qint64 m_bytesSent = 0;
};

} // namespace ws

#pragma once

#include "conformance.h"
#include "frameheader.h"
#include "protocolerror.h"
#include "role.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <functional>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

namespace ws {

class MessageExtension;

struct DecoderOptions {
    Role role = Role::Server; // our role: a server expects masked frames
    Conformance conformance = Conformance::Standard;
    qint64 maxMessageSize = 64 * 1024 * 1024; // reassembled (and inflated) bytes; over it: 1009
    // Not owned; may be null. Its rsvBits() are the RSV bits the peer may set.
    MessageExtension *extension = nullptr;
    // Off: a data frame is not output as a DecodedFrame, only as part of its
    // DecodedMessage, for callers that only want messages (and its payload then
    // becomes the message's without a shared copy). Data frames that carry a
    // ConformanceNote, and every frame after a close frame, are still output, so
    // that notes and data after the close (RFC 6455 §5.5.1) can be acted on.
    bool reportDataFrames = true;
};

// One frame as received. Payload is unmasked (the masked bytes are payload XOR key,
// recomputed on demand) and, for a compressed message, still compressed.
struct DecodedFrame {
    FrameHeader header;
    RawHeaderBytes rawHeader;
    QByteArray payload;
    qint64 streamOffset = 0; // offset of the first header byte in the received byte stream
    // Close frames: the status code and reason when the payload carried them.
    std::optional<quint16> closeCode;
    QString closeReason;
    QList<ConformanceNote> notes;
};

// A complete data message: its frames follow each other on the wire, each reported
// as a DecodedFrame before the message.
struct DecodedMessage {
    Opcode type = Opcode::Text; // Text or Binary
    QByteArray data;            // reassembled and, when compressed, inflated
    int frameCount = 1;
    bool compressed = false; // an extension transformed it (RSV1 with deflate)
    qint64 wireSize = 0;     // payload bytes on the wire, summed over frames
    qint64 streamOffset = 0; // of its first frame
};

// The peer broke a rule. The decoder stops: everything after is ignored.
//
// streamOffset is where the rule broke, counted in the received byte stream:
// - header rules: the byte holding the offending bits (byte 0 for RSV bits, opcode
//   and fragmentation, byte 1 for the mask bit); length rules (control frame too
//   long, non-minimal length, 1-byte close payload, message too big): byte 1, where
//   the length field starts; LengthMostSignificantBit: byte 2, which holds that bit;
// - invalid UTF-8 in a text message or a close reason, invalid close code: the
//   first offending payload byte (the first byte of the code);
// - a text message or close reason that ends in the middle of a character: the
//   offset just past its final frame, where the missing bytes were due;
// - a compressed message that cannot be inflated, is too big inflated, or is not
//   UTF-8 inflated: its first frame's first byte, since inflated bytes have no
//   place in the stream.
//
// frame is the frame the rule broke in, as far as it had arrived and been read:
// - a header rule: the header bytes up to the one whose check failed (byte 0 for
//   RSV bits and opcodes, byte 1 for the mask bit, the whole length field for length
//   rules), so the same bytes come out whatever the chunking;
// - a payload rule (UTF-8, close code or reason): the whole header and the payload
//   up to and including the offending byte;
// - a rule broken by a whole message (ends mid-character, deflate): the frame the
//   offset points into or just past (the last frame; the first for deflate).
struct ViolationFrame {
    // At most this many payload bytes are kept, so a violation deep inside a huge
    // frame does not hold its megabytes.
    static constexpr qsizetype MaxPayloadKept = 64 * 1024;

    QByteArray bytes;           // as on the wire (masked): header bytes, then payload bytes
    int headerBytes = 0;        // how many of `bytes` are header (fewer than its size when cut)
    qint64 streamOffset = -1;   // of the frame's first byte; -1: no frame
    qint64 payloadReceived = 0; // payload bytes read before the violation, kept or not

    bool isEmpty() const { return streamOffset < 0; }
    // Payload bytes were read but not kept (beyond MaxPayloadKept).
    bool isCut() const { return payloadReceived > bytes.size() - headerBytes; }
    bool operator==(const ViolationFrame &) const = default;
};

struct ProtocolViolation {
    ProtocolError error = ProtocolError::ReservedBitsSet;
    QString reason;          // the rule, in words, with what was seen
    qint64 streamOffset = 0; // offset of the offending byte in the received stream
    ViolationFrame frame;    // the frame it concerns (empty when none)
    CloseCode closeCode() const { return closeCodeFor(error); }
    // Where the offending byte is inside frame.bytes' frame (may be just past its
    // end, for a message that ends mid-character); -1 without a frame.
    qint64 offsetInFrame() const {
        return frame.isEmpty() ? -1 : streamOffset - frame.streamOffset;
    }
};

// The fields of a header of which `bytes` (the first bytes of a frame, possibly
// fewer than its header) hold every bit, for showing a frame cut short by a
// violation. header has those fields set and the rest at their defaults.
struct PartialHeader {
    FrameHeader header;
    int size = 0;           // the header's full size, once byte 1 tells it; else 0
    bool complete = false;  // every header byte is there
    QList<FieldSpan> spans; // the whole fields, in wire order (the payload when complete)
    bool has(HeaderField field) const;
};
PartialHeader parsePartialHeader(QByteArrayView bytes);

using DecoderOutput = std::variant<DecodedFrame, DecodedMessage, ProtocolViolation>;

// The incremental frame parser: feed it bytes in any chunking and take the same
// outputs. It checks everything about the received byte stream: header syntax,
// the mask rule for our role, RSV bits, opcodes, control-frame rules, the
// fragmentation sequence, message size, fail-fast UTF-8 of text messages and of
// close reasons, and close codes. It keeps no clock and does no I/O.
//
// Payload bytes are copied once, from the fed view into the frame's payload, and
// unmasked on the way; only a partial header (at most 14 bytes) is buffered.
class FrameDecoder {
public:
    explicit FrameDecoder(const DecoderOptions &options = {});
    ~FrameDecoder();
    FrameDecoder(const FrameDecoder &) = delete;
    FrameDecoder &operator=(const FrameDecoder &) = delete;

    // Parses as far as the bytes go; the results queue up for takeNext().
    // After a violation the rest is ignored.
    void feed(QByteArrayView data);

    bool hasNext() const { return m_nextOutput < m_outputs.size(); }
    // Only when hasNext().
    DecoderOutput takeNext();
    // Only when hasNext(): the next output in place, to be moved from or read, without
    // moving it out first. It stays valid until the next feed(); outputs taken this way
    // are released (their capacity kept) at that feed().
    DecoderOutput &next() { return m_outputs[m_nextOutput++]; }

    bool hasFailed() const { return m_failed; }
    qint64 bytesFed() const { return m_offset; }
    // True between the first and last frame of a fragmented message.
    bool isInsideMessage() const;
    // The payload bytes the frame being read still lacks (0 between frames or inside
    // a header): that many bytes can be fed without completing anything.
    quint64 payloadBytesLeft() const;

    const DecoderOptions &options() const { return m_options; }
    void setMaxMessageSize(qint64 size) { m_options.maxMessageSize = size; }
    void setConformance(Conformance c) { m_options.conformance = c; }
    // When set, a complete data message goes here from inside feed(), as a view valid
    // only during the call, instead of becoming a DecodedMessage output, whenever no
    // output is waiting to be taken; frames and violations are outputs as usual. A
    // message that completes behind an untaken output (a ping between its fragments,
    // say) becomes an output itself, so that nothing is reordered: a caller with a
    // sink passes such outputs on to it. A single-frame message of up to 4 KiB whose
    // bytes are all in one feed() is unmasked into a buffer on the stack: no
    // allocation per message, for callers that answer each message at once (an echo
    // server nobody watches).
    using MessageSink = std::function<void(Opcode type, QByteArrayView payload)>;
    void setMessageSink(MessageSink sink) { m_messageSink = std::move(sink); }
    // For a relay that forwards frames as they came and whose frames nobody watches
    // (no extension in use: a compressed fragment means nothing alone). When set,
    // every data frame goes to the sink once it is whole and known to break no rule
    // (text: valid UTF-8 so far, and complete at the end of its message), as a view
    // valid only during the call, unmasked; no DecodedMessage is made. `buffer`, when
    // not null, is an allocated QByteArray holding exactly that payload, which the
    // sink may take (move from) instead of copying it. A frame of up to 4 KiB whose
    // bytes are all in one feed() is unmasked into a buffer on the stack. The sink
    // returns false to refuse a frame (its owner has something to handle first); the
    // frame is then a DecodedFrame output, as is a data frame that completes behind an
    // output not yet taken, carries a note or follows a close frame, so that nothing
    // is reordered and nothing is lost.
    using FrameSink =
        std::function<bool(const FrameHeader &header, QByteArrayView payload, QByteArray *buffer)>;
    void setFrameSink(FrameSink sink) { m_frameSink = std::move(sink); }
    // With a frame sink, for a relay that forwards a large frame while it arrives
    // rather than once it is whole: a binary message's frame the frame sink would take
    // but whose payload is not all in one feed() goes to this sink instead, piece by
    // piece as its bytes are fed, and is never gathered. `wireBytes` are the piece's
    // bytes as received (still masked with header.maskingKey, whose phase is `offset`,
    // the count of payload bytes before them), `header` the frame's, with its full
    // payloadLength. Such a frame breaks no rule once its header passed (its length is
    // checked there), so a frame started in pieces always ends in pieces. A text
    // message's frames are always gathered: their UTF-8 is checked whole, so that
    // nothing of an invalid frame goes anywhere. The sink answers the first piece
    // (offset 0) only: false refuses the frame, which then takes the frame sink's
    // path; every later piece of an accepted frame must be taken.
    // Without a frame sink (a relay that reports what it forwards): only a binary
    // message of one frame (FIN set) goes in pieces (its payload need not be split
    // across feeds); it makes no output, and the sink's owner reports it.
    using PieceSink =
        std::function<bool(const FrameHeader &header, quint64 offset, QByteArrayView wireBytes)>;
    void setPieceSink(PieceSink sink) { m_pieceSink = std::move(sink); }
    // With a frame sink, for a relay that forwards small frames in bulk: whole data
    // frames that follow each other in one feed() and need nothing but forwarding go
    // here together, as the bytes they were on the wire (still masked as received),
    // instead of to the frame sink one by one. A frame joins the run only when the
    // frame sink would take it on its own: no RSV bit, a data opcode in sequence, the
    // mask bit our role expects, a 7- or 16-bit length (minimal), at most 4 KiB of
    // payload, within the message size limit, and for text, valid UTF-8 so far and
    // complete at the end of its message. The run ends at the first frame that is not
    // like that, which then takes the usual path, so violations and outputs are
    // exactly those without this sink. The sink returns false to refuse the run: its
    // frames, and the rest of that feed()'s, then go to the frame sink one by one.
    // Without a frame sink (a relay that reports what it forwards): a run holds whole
    // messages of one frame each (FIN set), starts between messages and ends before
    // any other frame; refused, its frames take the usual path (outputs).
    using RunSink = std::function<bool(QByteArrayView wireFrames)>;
    void setRunSink(RunSink sink) { m_runSink = std::move(sink); }

private:
    struct State;
    void fail(ProtocolError error, QString reason, qint64 offset, ViolationFrame frame);

    DecoderOptions m_options;
    MessageSink m_messageSink;
    FrameSink m_frameSink;
    PieceSink m_pieceSink;
    RunSink m_runSink;
    std::unique_ptr<State> m_state;
    // Outputs not taken yet start at m_nextOutput; the vector is cleared (keeping its
    // capacity) once all are taken, so steady-state decoding does not allocate here.
    std::vector<DecoderOutput> m_outputs;
    std::size_t m_nextOutput = 0;
    qint64 m_offset = 0;
    bool m_failed = false;
};

// Splits a close frame's payload per RFC 6455 §5.5.1. Does not validate.
struct ClosePayload {
    std::optional<quint16> code; // absent for an empty payload
    QByteArray reason;           // raw bytes after the code
};
ClosePayload splitClosePayload(QByteArrayView payload);

} // namespace ws

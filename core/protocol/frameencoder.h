#pragma once

#include "frameheader.h"
#include "masking.h"
#include "role.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QList>

#include <concepts>
#include <optional>
#include <type_traits>

namespace ws {

class MessageExtension;

// A frame exactly as the caller wants it on the wire, rules or no rules: the
// raw-frame writer exists to test how other people's endpoints handle broken
// frames. Every field is taken as given.
struct RawFrame {
    bool fin = true;
    bool rsv1 = false;
    bool rsv2 = false;
    bool rsv3 = false;
    quint8 opcode = 0x1;               // any 4-bit value, reserved ones included
    std::optional<quint32> maskingKey; // MASK bit set iff present; payload masked with it
    // Force a length encoding (e.g. 64-bit for a 5-byte payload); default: minimal.
    std::optional<LengthEncoding> lengthEncoding;
    // Write this number in the length field instead of the payload's real length.
    std::optional<quint64> declaredLength;
    QByteArray payload; // unmasked
};

// Builds frames. Produces bytes, knows our role (a client masks every frame with
// a fresh key from the injected source, a server never masks) and, when an
// extension is set, lets it transform data messages.
class FrameEncoder {
public:
    explicit FrameEncoder(Role role, MaskingKeySource keys = MaskingKeySource::systemRandom());

    void setExtension(MessageExtension *extension) { m_extension = extension; }
    Role role() const { return m_role; }

    // Appends one frame to `out` and returns its header. `rsvBits` as in
    // FrameHeader::rsvBits(). The payload is copied once, masked on the way.
    FrameHeader encodeFrame(QByteArray &out, Opcode opcode, QByteArrayView payload, bool fin = true,
                            quint8 rsvBits = 0);

    // Appends only the header encodeFrame() would write for `payloadSize` payload
    // bytes, for a caller that sends the payload itself without copying it. A client
    // must then mask those bytes with the returned header's key.
    FrameHeader encodeFrameHeader(QByteArray &out, Opcode opcode, qint64 payloadSize,
                                  bool fin = true, quint8 rsvBits = 0);

    // Appends whole frames as another endpoint's decoder received them
    // (FrameDecoder::setRunSink), for a relay: the same headers and payloads, except
    // that a client puts a fresh key of its own on each frame, which came masked from
    // the other leg's client (RFC 6455 §5.3), and re-masks the payload in one pass: the
    // XOR of the old key and the new one does both. A server's frames, which came
    // unmasked from the other leg's server, are appended as they are. Every frame's
    // mask bit must already be the one our role sends (the caller checks).
    void appendFrameRun(QByteArray &out, QByteArrayView wireFrames);
    // What appendFrameRun() does to the frames it appends, done where they lie.
    void remaskFrameRun(char *wireFrames, qsizetype size);

    // Appends a data message (Text or Binary) as one frame, or as frames of at
    // most `fragmentSize` payload bytes when fragmentSize > 0. A zero-length
    // message is one frame. The extension, if any, transforms it first.
    // Returns the headers of the frames written, in order.
    QList<FrameHeader> encodeMessage(QByteArray &out, Opcode type, QByteArrayView payload,
                                     qint64 fragmentSize = 0);
    // The same for a QByteArray: the extension gets it shared instead of copied.
    template <typename Bytes>
    requires std::same_as<std::remove_cvref_t<Bytes>, QByteArray> QList<FrameHeader>
    encodeMessage(QByteArray &out, Opcode type, Bytes &&payload, qint64 fragmentSize = 0) {
        return encodeSharedMessage(out, type, payload, fragmentSize);
    }

    // Appends a frame exactly as described by `frame`. The length field holds
    // declaredLength (default: the payload size) in lengthEncoding (default: the
    // minimal one for that length); a value too big for a forced encoding keeps its
    // low bits.
    static FrameHeader encodeRaw(QByteArray &out, const RawFrame &frame);
    // Appends only the header encodeRaw() would write; frame.payload goes after it,
    // masked with frame.maskingKey when there is one, from the caller.
    static FrameHeader encodeRawHeader(QByteArray &out, const RawFrame &frame);

    // The payload of a close frame: the code in network order, then the reason. Without
    // a code the reason alone is returned (a malformed payload, for the raw writer).
    static QByteArray closePayload(std::optional<quint16> code, QByteArrayView reasonUtf8);

private:
    FrameHeader makeHeader(Opcode opcode, qint64 payloadSize, bool fin, quint8 rsvBits);
    QList<FrameHeader> encodeSharedMessage(QByteArray &out, Opcode type, const QByteArray &payload,
                                           qint64 fragmentSize);
    QList<FrameHeader> encodeMessageImpl(QByteArray &out, Opcode type, QByteArrayView payload,
                                         qint64 fragmentSize, const QByteArray *shared);

    Role m_role;
    MaskingKeySource m_keys;
    MessageExtension *m_extension = nullptr;
};

} // namespace ws

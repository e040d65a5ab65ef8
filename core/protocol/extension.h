#pragma once

#include "opcode.h"
#include "protocolerror.h"

#include <QByteArray>
#include <QByteArrayView>

#include <optional>

namespace ws {

// A negotiated extension that transforms whole data messages (RFC 6455 §9;
// permessage-deflate, RFC 7692, is the one that matters). The decoder hands it the
// reassembled payload of every message whose first frame had one of rsvBits() set;
// the encoder asks it to transform outgoing messages.
class MessageExtension {
public:
    virtual ~MessageExtension() = default;

    // The extension token, e.g. "permessage-deflate".
    virtual QByteArray name() const = 0;
    // Which RSV bits (Rsv1Bit etc.) the extension gives meaning to.
    virtual quint8 rsvBits() const = 0;

    struct Decoded {
        QByteArray data;
        std::optional<ProtocolError> error; // DecompressionFailed, MessageTooBig, ...
    };
    // Transforms an incoming message. Must not produce more than maxSize bytes:
    // past that it stops and reports MessageTooBig.
    virtual Decoded decodeMessage(QByteArrayView payload, quint8 rsvBits, qint64 maxSize) = 0;

    // Transforms an outgoing message in place; returns the RSV bits to set on its
    // first frame (0 to send it untransformed).
    virtual quint8 encodeMessage(QByteArray &payload, Opcode opcode) = 0;
};

} // namespace ws

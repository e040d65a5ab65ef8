#pragma once

#include "extension.h"
#include "frameheader.h"
#include "httpheaders.h"
#include "role.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QString>
#include <QStringList>

#include <memory>
#include <optional>

namespace ws {

// permessage-deflate, RFC 7692: negotiation (§7.1) and the per-message transform
// (§7.2) of a connection, without I/O.
//
// The flow, client side:
//   options.extensions = {deflateOffer(config)};          // Sec-WebSocket-Extensions
//   ... the 101 arrives (HandshakeEvent::ClientAccepted) ...
//   DeflateNegotiation n = negotiateDeflateClient(options.extensions, event.extensions, config);
//   if (!n.ok())          session.abort(n.error);          // RFC 7692 §7.1: fail the connection
//   else if (n.params)    { deflate = std::make_unique<PerMessageDeflate>(Role::Client,
//                                                                         *n.params, config);
//                           session.setExtension(deflate.get()); } // outlives the session
//   else                  session.setExtension(nullptr);
// Server side, on HandshakeEvent::UpgradeRequested:
//   DeflateNegotiation n = negotiateDeflateServer(event.extensions, config);
//   if (!n.ok())          session.reject(400, ...);        // only with DeflatePolicy::Require
//   else if (n.params)    session.accept(subprotocol, {n.response}, deflate.get());
//   else                  session.accept(subprotocol);
//
// Window sizes. zlib cannot compress with a 256-byte window: deflateInit2() refuses
// raw windowBits 8 (zlib 1.2.13, Debian 12's) and older versions silently used 9.
// When the agreement limits our compressor to 8 bits we therefore compress with
// windowBits 9, which is still correct: zlib's deflate never emits a distance above
// w_size - MIN_LOOKAHEAD = 512 - 262 = 250 bytes (MAX_DIST in deflate.c), so every
// back-reference fits in the peer's 256-byte window. Offers with 8 are thus accepted
// and honoured, never declined; tst_permessagedeflate checks the output against a
// strict 8-bit inflater. We always inflate with a 32 KiB window (windowBits 15): a
// window at least as large as the peer's is always enough, and a larger one costs
// 32 KiB per connection at most.

// How our side treats the extension.
enum class DeflatePolicy {
    Refuse,  // client: do not offer it; server: decline every offer
    Offer,   // client: offer it, go on without it if declined; server: accept an offer
    Require, // as Offer, but a connection without it is refused (client: fail; server: reject)
};

// What our side wants. Window bits are 8..15 (log2 of the LZ77 window).
struct DeflateConfig {
    DeflatePolicy policy = DeflatePolicy::Offer;
    // Client: asked of the server in the offer when below 15 (server_max_window_bits).
    // Server: the largest window it compresses with; announced when below 15.
    int serverMaxWindowBits = 15;
    // Client: the largest window it compresses with, sent as client_max_window_bits=N
    // when below 15; a bare client_max_window_bits (like browsers) otherwise, telling
    // the server it may limit us. Server: asked of a client that offered
    // client_max_window_bits, when below 15.
    int clientMaxWindowBits = 15;
    // Client: asks the server to reset its compressor per message. Server: announces
    // that it does. Honoured whichever side asks.
    bool serverNoContextTakeover = false;
    // Client: announces that it resets its compressor per message. Server: asks the
    // client to. Honoured whichever side asks.
    bool clientNoContextTakeover = false;
    int compressionLevel = -1; // zlib level: 0 (stored) .. 9, -1 for zlib's default (6)
    int memoryLevel = 8;       // zlib memLevel 1..9: speed and ratio against memory
    // RFC 7692 §6: RSV1 marks each compressed message, so every message may go either
    // way. Messages shorter than this go uncompressed (they rarely shrink). 0, the
    // default, compresses every non-empty message like browsers do; empty messages
    // always go uncompressed (an empty DEFLATE block would only add a byte).
    qint64 compressionThreshold = 0;
    // Send a message uncompressed when deflate does not make it smaller. The
    // compressor is then reset, since its window holds bytes the peer never saw.
    bool skipIneffective = false;
};

// One permessage-deflate offer as written in Sec-WebSocket-Extensions (§7.1).
struct DeflateOffer {
    bool serverNoContextTakeover = false;
    bool clientNoContextTakeover = false;
    std::optional<int> serverMaxWindowBits;
    bool clientMaxWindowBitsOffered = false; // client_max_window_bits present...
    std::optional<int> clientMaxWindowBits;  // ...and its value, when it has one
    bool operator==(const DeflateOffer &) const = default;
};

// The agreement, as the server's response states it (absent window bits: 15). Both
// ends derive the same value from the response; each side may compress with an even
// smaller window than its limit (PerMessageDeflate applies our config on top).
struct DeflateParams {
    bool serverNoContextTakeover = false;
    bool clientNoContextTakeover = false;
    int serverMaxWindowBits = 15;
    int clientMaxWindowBits = 15;

    // For the messages `sender` compresses.
    bool noContextTakeover(Role sender) const {
        return sender == Role::Server ? serverNoContextTakeover : clientNoContextTakeover;
    }
    int maxWindowBits(Role sender) const {
        return sender == Role::Server ? serverMaxWindowBits : clientMaxWindowBits;
    }
    bool operator==(const DeflateParams &) const = default;
};

// The outcome of a negotiation.
struct DeflateNegotiation {
    // The agreement; nullopt: the connection goes without compression.
    std::optional<DeflateParams> params;
    // Server, with params: the element for the 101's Sec-WebSocket-Extensions.
    ExtensionParams response;
    // Client: the response breaks RFC 7692 §7.1 (fail the connection), or the server
    // declined under DeflatePolicy::Require. Server: no acceptable offer under Require
    // (reject the handshake).
    QString error;
    // Worth logging: offers the server declined and why; requests of the client the
    // server's response did not confirm.
    QStringList notes;

    bool ok() const { return error.isEmpty(); }
};

inline constexpr char kPermessageDeflate[] = "permessage-deflate";

// Parses one permessage-deflate offer (§7.1). nullopt when the server must decline
// it: another extension, an unknown or repeated parameter, a value where none is
// allowed or a missing one, window bits that are not 8..15 written without leading
// zeros (§7.1.2.1). `why` receives the reason. Parameter names compare
// case-insensitively, like every token of the header (ExtensionParams).
std::optional<DeflateOffer> parseDeflateOffer(const ExtensionParams &offer, QString *why = nullptr);

// Client: the offer for `config` (an empty name under DeflatePolicy::Refuse).
ExtensionParams deflateOffer(const DeflateConfig &config);

// Client: checks the server's answer (`accepted`, every extension of its
// Sec-WebSocket-Extensions) against what we offered (`offers`, every extension we
// offered; the permessage-deflate ones count). The connection must be failed (error)
// when the response has an unknown or repeated parameter, a value outside 8..15, a
// parameter without its value or with one it may not have, server_max_window_bits
// above the one offered, or client_max_window_bits when the offer had none
// (RFC 7692 §7.1, §7.1.2). A response that fits any of several offers is accepted.
DeflateNegotiation negotiateDeflateClient(const QList<ExtensionParams> &offers,
                                          const QList<ExtensionParams> &accepted,
                                          const DeflateConfig &config);

// Server: takes the first permessage-deflate offer that is valid (the client lists
// them in its order of preference, §5.1); invalid offers are declined, noted, and
// the next one tried. The response honours the offer: server_no_context_takeover
// and server_max_window_bits (echoed, lowered to config.serverMaxWindowBits) when
// asked, client_no_context_takeover echoed; and adds config's wishes where the
// RFC lets the server add them (client_max_window_bits only if offered).
DeflateNegotiation negotiateDeflateServer(const QList<ExtensionParams> &offers,
                                          const DeflateConfig &config);

// Counters for the inspector and the status bar.
struct DeflateStats {
    qint64 messagesInflated = 0;
    qint64 bytesInflatedFrom = 0; // compressed payload bytes received
    qint64 bytesInflatedTo = 0;   // what they inflated to
    qint64 messagesDeflated = 0;
    qint64 bytesDeflatedFrom = 0; // payload bytes we compressed
    qint64 bytesDeflatedTo = 0;   // what went on the wire for them
    qint64 messagesSentUncompressed = 0;
    // The largest inflate output buffer allocated: at most the decoder's maximum
    // message size plus one byte, however much a compressed message claims to hold.
    qint64 largestInflateBuffer = 0;
};

// The transform for one connection after the agreement `params`, seen from `role`.
//
// Incoming (decodeMessage): the payload plus 00 00 ff ff (§7.2.2) is inflated as raw
// DEFLATE with a 32 KiB window. The output buffer grows by doubling from a small
// guess and is never larger than maxSize + 1 bytes: the first byte past maxSize
// stops inflation with MessageTooBig, so a compression bomb costs no more memory
// than a legitimate maximal message. Corrupt data, a message that ends inside a
// DEFLATE block, or a back-reference beyond the data the stream has seen is
// DecompressionFailed (close code 1002: the peer broke the extension's framing, not
// the message's meaning, so 1007 does not fit). The stream carries over to the next
// message unless the peer's no_context_takeover was agreed: then each message starts
// from an empty window, which also catches a peer that refers back anyway. A DEFLATE
// block with BFINAL set (§7.2.3.4) ends zlib's stream; inflation goes on with a new
// stream primed with the old window. A zero-length compressed payload holds no
// DEFLATE data at all; it is taken as an empty message.
//
// Outgoing (encodeMessage): raw DEFLATE with Z_SYNC_FLUSH, the trailing 00 00 ff ff
// removed (§7.2.1); the window limit is the agreement's, or config's if smaller (8
// compresses with 9, see above). With our no_context_takeover (agreed or in config)
// the compressor is reset after every message. Returns Rsv1Bit, or 0 for a message
// sent as is (empty, below config.compressionThreshold, or not smaller under
// config.skipIneffective).
//
// zlib's streams are allocated on first use: about 40 KiB for inflating, and for
// deflating 2^(windowBits+2) + 2^(memoryLevel+9) bytes (256 KiB at 15 and 8).
// Control frames never reach the extension: the encoder and decoder see to that.
class PerMessageDeflate final : public MessageExtension {
public:
    PerMessageDeflate(Role role, const DeflateParams &params, const DeflateConfig &config = {});
    ~PerMessageDeflate() override;
    PerMessageDeflate(const PerMessageDeflate &) = delete;
    PerMessageDeflate &operator=(const PerMessageDeflate &) = delete;

    QByteArray name() const override { return QByteArrayLiteral("permessage-deflate"); }
    // RFC 7692 §6: RSV1 marks a compressed message.
    quint8 rsvBits() const override { return Rsv1Bit; }
    Decoded decodeMessage(QByteArrayView payload, quint8 rsvBits, qint64 maxSize) override;
    quint8 encodeMessage(QByteArray &payload, Opcode opcode) override;

    Role role() const { return m_role; }
    const DeflateParams &params() const { return m_params; }
    // The window our compressor is limited to (8..15), and the windowBits zlib is
    // given for it (9..15).
    int deflateWindowBits() const { return m_deflateWindowBits; }
    int zlibDeflateWindowBits() const;
    // Whether we reset our compressor after each message, and the peer's.
    bool resetsDeflatePerMessage() const { return m_deflateReset; }
    bool resetsInflatePerMessage() const { return m_inflateReset; }

    const DeflateStats &stats() const { return m_stats; }
    // Why the last decodeMessage() failed, with zlib's words (e.g. "invalid distance
    // too far back"); empty after a success.
    QString lastError() const { return m_lastError; }

    // For the inspector: the bytes a single frame's payload (or a whole message)
    // inflates to with a fresh stream, at most maxSize of them. On failure `data`
    // holds what inflated before the failure (for MessageTooBig: the first maxSize
    // bytes). A continuation frame, or a message that refers back to earlier ones,
    // cannot be inflated alone: DecompressionFailed, with what came before it. The
    // 00 00 ff ff of §7.2.2 is not appended (a frame may end anywhere, and the tail
    // only completes an empty block), and running out of input is not a failure.
    static Decoded inflateForInspection(QByteArrayView compressed, qint64 maxSize);

private:
    struct Streams;

    Role m_role;
    DeflateParams m_params;
    DeflateConfig m_config;
    int m_deflateWindowBits = 15;
    bool m_deflateReset = false;
    bool m_inflateReset = false;
    std::unique_ptr<Streams> m_streams;
    DeflateStats m_stats;
    QString m_lastError;
};

} // namespace ws

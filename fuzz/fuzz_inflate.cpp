// libFuzzer target for PerMessageDeflate (RFC 7692).
//
// Input: byte 0 chooses the setup, the rest is a sequence of messages, each a
// length byte followed by that many bytes (a short last one takes what is left).
//   byte 0, bit 0:    our role (0 client, 1 server)
//   byte 0, bit 1:    the peer's no_context_takeover (inflate resets per message)
//   byte 0, bits 2-3: maximum message size (0, 64, 4096, 65536)
//   byte 0, bits 4-6: window bits of the round trip's compressor (8 + value)
//   byte 0, bit 7:    our own no_context_takeover for the round trip
// Every message is inflated as received compressed data (whatever it holds: the
// output never exceeds the limit, failures carry no data, later messages still
// work), inflated alone for the inspector, and sent through a compressor and back
// (the round trip must give the message back, with the window carried across).
// A broken invariant aborts.

#include "protocol/permessagedeflate.h"

#include <QByteArray>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

using namespace ws;

namespace {

void check(bool condition, const char *invariant) {
    if (!condition) {
        std::fprintf(stderr, "broken invariant: %s\n", invariant);
        std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    const quint8 setup = data[0];
    static constexpr qint64 limits[] = {0, 64, 4096, 65536};
    const Role role = (setup & 1) ? Role::Server : Role::Client;
    const qint64 maxSize = limits[(setup >> 2) & 3];
    const int windowBits = 8 + ((setup >> 4) & 7);

    DeflateParams received;
    (role == Role::Server ? received.clientNoContextTakeover : received.serverNoContextTakeover) =
        (setup & 2) != 0;
    PerMessageDeflate receiver(role, received);

    // The round trip: a compressor as the peer, with the window from the setup, and
    // our inflater for its messages.
    DeflateParams agreed;
    (role == Role::Server ? agreed.clientMaxWindowBits : agreed.serverMaxWindowBits) = windowBits;
    (role == Role::Server ? agreed.clientNoContextTakeover : agreed.serverNoContextTakeover) =
        (setup & 0x80) != 0;
    PerMessageDeflate peerSender(peerRole(role), agreed);
    PerMessageDeflate roundTrip(role, agreed);
    check(peerSender.deflateWindowBits() == windowBits, "the agreed window is used");

    const char *next = reinterpret_cast<const char *>(data + 1);
    const char *const end = reinterpret_cast<const char *>(data + size);
    while (next < end) {
        const qsizetype length = std::min<qsizetype>(quint8(*next), end - next - 1);
        const QByteArrayView message(next + 1, length);
        next += 1 + length;

        const MessageExtension::Decoded decoded = receiver.decodeMessage(message, Rsv1Bit, maxSize);
        check(decoded.data.size() <= maxSize, "inflated output within the limit");
        check(!decoded.error || decoded.data.isEmpty(), "a failure carries no data");
        check(receiver.stats().largestInflateBuffer <= std::max<qint64>(maxSize + 1, 1),
              "the inflate buffer never exceeds the limit by more than a byte");
        check(decoded.error.has_value() == !receiver.lastError().isEmpty(),
              "a failure says why, a success clears it");
        if (decoded.error) {
            check(*decoded.error == ProtocolError::DecompressionFailed ||
                      *decoded.error == ProtocolError::MessageTooBig,
                  "only the extension's errors");
        }

        const MessageExtension::Decoded shown =
            PerMessageDeflate::inflateForInspection(message, maxSize);
        check(shown.data.size() <= maxSize, "inspection within the limit");
        if (!decoded.error && !received.noContextTakeover(peerRole(role)) &&
            receiver.stats().messagesInflated == 1 && !shown.error) {
            // The first message, inflated by a fresh stream either way. The inspector
            // does not append 00 00 ff ff, so it sees a prefix of the same bytes (all
            // of them, unless the tail itself held data, as in a stored block whose
            // four bytes it is).
            check(decoded.data.startsWith(shown.data), "inspection agrees with the message");
        }

        QByteArray payload = message.toByteArray();
        const quint8 rsv = peerSender.encodeMessage(payload, Opcode::Binary);
        check(rsv == (message.isEmpty() ? 0 : Rsv1Bit), "non-empty messages are compressed");
        const MessageExtension::Decoded back =
            roundTrip.decodeMessage(payload, rsv, message.size());
        check(!back.error, "our own compression inflates");
        check(back.data == message, "the round trip gives the message back");
    }
    return 0;
}

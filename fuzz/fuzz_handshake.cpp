// libFuzzer target for the opening handshake (RFC 6455 §4) in both roles.
//
// Input: one control byte, then the peer's bytes. Bit 0 of the control byte picks
// the role under test (1: a server parsing a request, 0: a client parsing the
// answer to its request); bits 1-2 pick how the bytes are cut into feed() calls;
// bits 3-7 seed the cut points. Every input is parsed twice, whole and cut, and
// the two runs must agree. Small limits let the fuzzer reach them.
//
// Invariants (abort() when broken):
//   - the bytes held never exceed the limits, after every feed();
//   - the outcome does not depend on the cutting;
//   - the outcome is self-consistent (what was parsed plus the leftover is the input,
//     an answer is always well-formed, extensions survive a format/parse round trip).

#include "protocol/handshake.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

using namespace ws;

namespace {

constexpr QByteArrayView kKey = "dGhlIHNhbXBsZSBub25jZQ==";

HandshakeLimits fuzzLimits() {
    HandshakeLimits limits;
    limits.maxHeaderBytes = 512;
    limits.maxHeaderCount = 16;
    limits.maxBodyBytes = 256;
    return limits;
}

[[noreturn]] void broken(const char *what) {
    std::fprintf(stderr, "fuzz_handshake: invariant broken: %s\n", what);
    std::abort();
}

void check(bool condition, const char *what) {
    if (!condition)
        broken(what);
}

// Cuts `input` into pieces: 0 one byte at a time, 1 pseudo-random sizes, 2 a fixed
// size, 3 two pieces at one point.
QList<QByteArrayView> cut(QByteArrayView input, unsigned pattern, unsigned seed) {
    QList<QByteArrayView> pieces;
    quint32 state = seed * 2654435761u + 1;
    qsizetype pos = 0;
    while (pos < input.size()) {
        qsizetype size = 1;
        switch (pattern) {
        case 0:
            size = 1;
            break;
        case 1:
            state = state * 1664525u + 1013904223u;
            size = 1 + qsizetype((state >> 16) % 97);
            break;
        case 2:
            size = 1 + qsizetype(seed);
            break;
        default:
            size = pos == 0 ? qsizetype((seed * 37u) % quint32(input.size())) : input.size();
            if (size == 0)
                size = input.size();
            break;
        }
        size = qMin(size, input.size() - pos);
        pieces.append(input.sliced(pos, size));
        pos += size;
    }
    return pieces;
}

void checkExtensionsRoundTrip(const QList<ExtensionParams> &extensions) {
    const std::optional<QList<ExtensionParams>> again =
        parseExtensions(formatExtensions(extensions));
    check(again.has_value() && *again == extensions, "extensions survive format/parse");
}

struct ServerRun {
    ServerHandshake::Status status;
    int failureStatus;
    QString error;
    QByteArray raw;
    QByteArray leftover;
    QByteArray response;
};

ServerRun runServer(const QList<QByteArrayView> &pieces) {
    const HandshakeLimits limits = fuzzLimits();
    ServerHandshake handshake(limits);
    for (QByteArrayView piece : pieces) {
        handshake.feed(piece);
        check(handshake.bufferedBytes() <= limits.maxHeaderBytes, "server buffers within limit");
    }
    ServerRun run{handshake.status(),     handshake.failureStatus(), handshake.errorString(),
                  handshake.rawRequest(), handshake.takeLeftover(),  {}};
    switch (run.status) {
    case ServerHandshake::Status::NeedMore:
        check(run.failureStatus == 0 && run.leftover.isEmpty(), "server NeedMore is clean");
        break;
    case ServerHandshake::Status::Upgrade: {
        const auto key = QByteArray::fromBase64Encoding(handshake.clientKey());
        check(key && key.decoded.size() == 16, "upgrade has a 16-byte key");
        check(handshake.request().method == "GET", "upgrade is a GET");
        checkExtensionsRoundTrip(handshake.offeredExtensions());
        // Accept the first offer of each extension, as a real server would.
        QList<ExtensionParams> accepted;
        for (const ExtensionParams &offer : handshake.offeredExtensions()) {
            const bool seen = std::any_of(accepted.cbegin(), accepted.cend(), [&](const auto &e) {
                return e.name.compare(offer.name, Qt::CaseInsensitive) == 0;
            });
            if (!seen)
                accepted.append(offer);
        }
        run.response = handshake.acceptResponse(handshake.offeredSubprotocols().value(0), accepted);
        // Our own answer must satisfy a client that offered what was asked.
        ClientHandshakeOptions options;
        options.subprotocols = handshake.offeredSubprotocols();
        options.extensions = handshake.offeredExtensions();
        ClientHandshake client(options, handshake.clientKey());
        check(client.feed(run.response) == ClientHandshake::Status::Accepted,
              "our 101 satisfies the client");
        break;
    }
    case ServerHandshake::Status::PlainHttp:
        check(handshake.request().method == "GET", "plain request is a GET");
        break;
    case ServerHandshake::Status::Failed: {
        const int status = run.failureStatus;
        check(status == 400 || status == 405 || status == 426 || status == 431 || status == 505,
              "failure status is one of ours");
        check(!run.error.isEmpty() && run.leftover.isEmpty(), "failure has a reason, no leftover");
        run.response = handshake.failureResponse();
        check(run.response.startsWith("HTTP/1.1 " + QByteArray::number(status) + ' '),
              "failure response has the status");
        // Our own answer must parse as an HTTP answer with that status.
        ClientHandshake client({}, QByteArray(kKey.data(), kKey.size()));
        check(client.feed(run.response) == ClientHandshake::Status::Failed &&
                  client.statusCode() == status,
              "failure response parses");
        break;
    }
    }
    return run;
}

struct ClientRun {
    ClientHandshake::Status status;
    QString error;
    int statusCode;
    QByteArray raw;
    QByteArray body;
    QByteArray leftover;
    QByteArray subprotocol;
    QByteArray extensions;
};

ClientRun runClient(const QList<QByteArrayView> &pieces) {
    ClientHandshakeOptions options;
    options.host = "server.example.com";
    options.subprotocols = {"chat", "superchat"};
    options.extensions = {
        ExtensionParams{"permessage-deflate", {{"client_max_window_bits", std::nullopt}}}};
    options.limits = fuzzLimits();
    const qsizetype bound = options.limits.maxHeaderBytes + options.limits.maxBodyBytes +
                            ClientHandshake::kMaxChunkLine;
    ClientHandshake handshake(options, QByteArray(kKey.data(), kKey.size()));
    for (QByteArrayView piece : pieces) {
        handshake.feed(piece);
        check(handshake.bufferedBytes() <= bound, "client buffers within limits");
        check(handshake.rawResponse().size() <= options.limits.maxHeaderBytes,
              "client header block within limit");
    }
    handshake.feedEof();
    check(handshake.status() != ClientHandshake::Status::NeedMore, "EOF decides");
    ClientRun run{handshake.status(),       handshake.errorString(),
                  handshake.statusCode(),   handshake.rawResponse(),
                  handshake.responseBody(), handshake.takeLeftover(),
                  handshake.subprotocol(),  formatExtensions(handshake.acceptedExtensions())};
    check(run.body.size() <= options.limits.maxBodyBytes, "body within limit");
    if (run.status == ClientHandshake::Status::Accepted) {
        check(run.statusCode == 101 && run.error.isEmpty(), "accepted means a clean 101");
        check(run.subprotocol.isEmpty() || options.subprotocols.contains(run.subprotocol),
              "accepted subprotocol was offered");
        checkExtensionsRoundTrip(handshake.acceptedExtensions());
    } else {
        check(!run.error.isEmpty() && run.leftover.isEmpty(), "failure has a reason, no leftover");
    }
    return run;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    const unsigned control = data[0];
    const bool server = (control & 1) != 0;
    const unsigned pattern = (control >> 1) & 3;
    const unsigned seed = control >> 3;
    const QByteArrayView input(reinterpret_cast<const char *>(data + 1), qsizetype(size - 1));
    const QList<QByteArrayView> whole{input};
    const QList<QByteArrayView> pieces = cut(input, pattern, seed);

    if (server) {
        const ServerRun a = runServer(whole);
        const ServerRun b = runServer(pieces);
        check(a.status == b.status && a.failureStatus == b.failureStatus && a.error == b.error &&
                  a.raw == b.raw && a.leftover == b.leftover && a.response == b.response,
              "server outcome independent of chunking");
        if (a.status == ServerHandshake::Status::Upgrade ||
            a.status == ServerHandshake::Status::PlainHttp) {
            check(a.raw + a.leftover == input, "server: block + leftover == input");
        }
    } else {
        const ClientRun a = runClient(whole);
        const ClientRun b = runClient(pieces);
        check(a.status == b.status && a.error == b.error && a.statusCode == b.statusCode &&
                  a.raw == b.raw && a.body == b.body && a.leftover == b.leftover &&
                  a.subprotocol == b.subprotocol && a.extensions == b.extensions,
              "client outcome independent of chunking");
        if (a.status == ClientHandshake::Status::Accepted)
            check(a.raw + a.leftover == input, "client: block + leftover == input");
    }
    return 0;
}

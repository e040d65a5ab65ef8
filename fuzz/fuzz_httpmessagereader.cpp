// libFuzzer target for HttpMessageReader (RFC 9112 §6 message framing).
//
// Input: byte 0 chooses the setup, byte 1 the chunking, the rest is the stream.
//   byte 0, bit 0:    the stream's kind (0 requests, 1 responses)
//   byte 0, bits 1-2: the method every response answers (GET, HEAD, CONNECT, POST)
//   byte 0, bit 3:    the stream ends after the last byte (endOfStream())
//   byte 1:           seed and largest piece of the chunking
// The stream is read whole and in pseudo-random pieces; small limits let the fuzzer
// reach them.
//
// Invariants (abort() when broken):
//   - feed() takes no more than it is given, and all of it when it needs more;
//   - a complete head is exactly the bytes before the point where it was reported;
//   - once failed or switched, feed() takes nothing;
//   - the boundaries found (and whether the stream fails) do not depend on the chunking.

#include "protocol/httpmessagereader.h"

#include <QByteArray>
#include <QList>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

using namespace ws;

namespace {

void check(bool condition, const char *invariant) {
    if (!condition) {
        std::fprintf(stderr, "fuzz_httpmessagereader: invariant broken: %s\n", invariant);
        std::abort();
    }
}

HttpMessageReader::Limits fuzzLimits() {
    HttpMessageReader::Limits limits;
    limits.maxHeadBytes = 512;
    limits.maxHeaderFields = 16;
    limits.maxChunkLineBytes = 64;
    return limits;
}

struct Boundary {
    HttpMessageReader::Result result;
    qsizetype offset;
    bool operator==(const Boundary &) const = default;
};

QList<Boundary> run(HttpMessageReader::Kind kind, const QByteArray &method, bool ends,
                    QByteArrayView stream, const QList<qsizetype> &pieceSizes) {
    using Result = HttpMessageReader::Result;
    HttpMessageReader reader(kind, fuzzLimits());
    for (int i = 0; i < 64; ++i)
        reader.expectResponseTo(method);
    QList<Boundary> boundaries;
    qsizetype offset = 0;
    bool stopped = false;
    for (const qsizetype pieceSize : pieceSizes) {
        const QByteArrayView piece = stream.sliced(offset, pieceSize);
        qsizetype pos = 0;
        // Every boundary takes at least one byte but the message end after a head,
        // so a piece can give at most two boundaries per byte, and one more.
        for (qsizetype round = 0; round <= 2 * pieceSize + 2; ++round) {
            qsizetype consumed = -1;
            const Result result = reader.feed(piece.sliced(pos), &consumed);
            check(consumed >= 0 && consumed <= piece.size() - pos, "consumed within what was fed");
            if (stopped)
                check(consumed == 0 && (result == Result::Error || result == Result::Switched),
                      "nothing taken once failed or switched");
            pos += consumed;
            if (result == Result::NeedMore) {
                check(pos == piece.size(), "NeedMore takes everything");
                break;
            }
            if (result == Result::HeadComplete) {
                const QByteArray &block = reader.head().block();
                const qsizetype end = offset + pos;
                check(end >= block.size() &&
                          stream.sliced(end - block.size(), block.size()) == QByteArrayView(block),
                      "the head is the bytes before its end");
            }
            // Where an error is noticed may depend on the chunking (a line too long is
            // refused when it is seen to be), that there is one may not.
            if (!stopped)
                boundaries.append({result, result == Result::Error ? -1 : offset + pos});
            if (result == Result::Error || result == Result::Switched) {
                if (stopped)
                    break;
                stopped = true;
            }
        }
        check(stopped || pos == piece.size(), "a piece is taken whole");
        offset += pieceSize;
    }
    if (ends && !stopped)
        boundaries.append({reader.endOfStream(), offset});
    return boundaries;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    static const QByteArray methods[] = {"GET", "HEAD", "CONNECT", "POST"};
    const auto kind =
        (data[0] & 1) ? HttpMessageReader::Kind::Response : HttpMessageReader::Kind::Request;
    const QByteArray &method = methods[(data[0] >> 1) & 3];
    const bool ends = (data[0] & 8) != 0;
    const QByteArrayView stream(reinterpret_cast<const char *>(data + 2), qsizetype(size - 2));

    QList<qsizetype> whole;
    if (!stream.isEmpty())
        whole.append(stream.size());
    QList<qsizetype> pieces;
    quint32 state = data[1] * 2654435761u + 1;
    const qsizetype largest = qsizetype(data[1]) + 1;
    for (qsizetype pos = 0; pos < stream.size();) {
        state = state * 1664525u + 1013904223u;
        const qsizetype piece = qMin(1 + qsizetype((state >> 16) % largest), stream.size() - pos);
        pieces.append(piece);
        pos += piece;
    }
    check(run(kind, method, ends, stream, whole) == run(kind, method, ends, stream, pieces),
          "boundaries independent of chunking");
    return 0;
}

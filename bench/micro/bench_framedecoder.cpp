// Parsing rate of ws::FrameDecoder for small frames, the case where per-frame cost
// (header parsing, output queue, allocation) dominates over per-byte cost.

#include "protocol/framedecoder.h"
#include "protocol/frameencoder.h"
#include "protocol/masking.h"

#include <QByteArray>
#include <QRandomGenerator>

#include <benchmark/benchmark.h>

#include <variant>

namespace {

constexpr int kFramesPerFeed = 1000;

// `count` complete frames as a client sends them (RFC 6455 §5.3: masked, each with
// its own key), concatenated: FIN + opcode, MASK + 7-bit length, key, payload.
QByteArray clientFrames(quint8 opcode, int payloadSize, int count) {
    static const char text[] = "All work and no play makes Jack a dull boy. "
                               "All work and no play makes Jack a dull boy. "
                               "All work and no play makes Jack a dull boy. ";
    static_assert(sizeof text - 1 >= 125);
    Q_ASSERT(payloadSize <= 125);
    QRandomGenerator random(6455);
    QByteArray bytes;
    bytes.reserve(qsizetype(count) * (6 + payloadSize));
    for (int i = 0; i < count; ++i) {
        const quint32 key = random.generate();
        bytes += char(0x80 | opcode);
        bytes += char(0x80 | payloadSize);
        for (int shift = 24; shift >= 0; shift -= 8)
            bytes += char(key >> shift);
        const qsizetype at = bytes.size();
        bytes.resize(at + payloadSize);
        ws::copyWithMask(bytes.data() + at, text, payloadSize, key);
    }
    return bytes;
}

// One decoder across iterations: the same buffer fed again is simply more frames
// of the same connection, so this measures the steady state.
void decodeFrames(benchmark::State &state, quint8 opcode) {
    const int payloadSize = int(state.range(0));
    const QByteArray bytes = clientFrames(opcode, payloadSize, kFramesPerFeed);
    ws::DecoderOptions options;
    options.role = ws::Role::Server;
    ws::FrameDecoder decoder(options);
    qint64 frames = 0;
    for (auto _ : state) {
        decoder.feed(bytes);
        while (decoder.hasNext()) {
            const ws::DecoderOutput output = decoder.takeNext();
            frames += std::holds_alternative<ws::DecodedFrame>(output) ? 1 : 0;
            benchmark::DoNotOptimize(&output);
        }
    }
    if (decoder.hasFailed() || frames != state.iterations() * kFramesPerFeed)
        state.SkipWithError("the decoder did not accept every frame");
    state.SetItemsProcessed(frames);
    state.SetBytesProcessed(state.iterations() * bytes.size());
}

void BM_decodeBinaryFrames(benchmark::State &state) {
    decodeFrames(state, 0x2);
}

void BM_decodeTextFrames(benchmark::State &state) {
    decodeFrames(state, 0x1);
}

// What a relay that nobody watches does with one read from a client: the frames are
// checked as a run (FrameDecoder::setRunSink) and masked again with the relay's own
// keys where they lie (FrameEncoder::remaskFrameRun), to go on to the server. 16
// frames a feed, about what one read holds under a load of small messages.
void BM_relayRunToServer(benchmark::State &state) {
    constexpr int framesPerRead = 16;
    const int payloadSize = int(state.range(0));
    QByteArray bytes = clientFrames(0x2, payloadSize, framesPerRead);
    char *const wire = bytes.data();
    ws::DecoderOptions options;
    options.role = ws::Role::Server;
    ws::FrameDecoder decoder(options);
    ws::FrameEncoder encoder(ws::Role::Client);
    qint64 runBytes = 0;
    decoder.setRunSink([&](QByteArrayView run) {
        encoder.remaskFrameRun(wire + (run.data() - wire), run.size());
        runBytes += run.size();
        return true;
    });
    for (auto _ : state) {
        decoder.feed(bytes);
        benchmark::DoNotOptimize(wire);
        benchmark::ClobberMemory();
    }
    if (decoder.hasFailed() || decoder.hasNext() || runBytes != state.iterations() * bytes.size())
        state.SkipWithError("a frame did not go as part of a run");
    state.SetItemsProcessed(state.iterations() * framesPerRead);
    state.SetBytesProcessed(runBytes);
}

} // namespace

BENCHMARK(BM_relayRunToServer)->Arg(16)->Arg(64)->Arg(125);
BENCHMARK(BM_decodeBinaryFrames)->Arg(16)->Arg(125);
BENCHMARK(BM_decodeTextFrames)->Arg(16)->Arg(125);

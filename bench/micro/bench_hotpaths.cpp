// Throughput of the protocol core's hot paths against memcpy of the same buffer,
// measured in the same run (scripts/microbench.sh prints the ratios). Goals:
// unmasking at least 50% of memcpy's speed, ASCII UTF-8 validation at least 25%.

#include "protocol/masking.h"
#include "protocol/utf8validator.h"

#include <QByteArray>

#include <benchmark/benchmark.h>

#include <cstring>

namespace {

constexpr quint32 kKey = 0x37fa213d; // RFC 6455 §5.7

QByteArray asciiText(qsizetype size) {
    static const char sentence[] = "The quick brown fox jumps over the lazy dog, 0123456789!\n";
    QByteArray text;
    text.reserve(size);
    while (text.size() < size)
        text.append(sentence, qMin<qsizetype>(sizeof sentence - 1, size - text.size()));
    return text;
}

// Latin with accents (2 bytes), Cyrillic (2), CJK (3), emoji (4), and ASCII between
// them, like the text of a chat application. Cut at a character boundary and padded
// with ASCII to exactly `size` bytes, so it is valid and complete.
QByteArray multilingualText(qsizetype size) {
    // The source file is UTF-8, and so are narrow string literals with g++ and clang.
    static const QByteArray sentence("Größe façade déjà vu — Съешь же ещё этих мягких "
                                     "французских булок — 我能吞下玻璃而不伤身体 — "
                                     "私はガラスを食べられます 😀🚀🎉👍 — ");
    QByteArray text;
    text.reserve(size + sentence.size());
    while (text.size() + sentence.size() <= size)
        text += sentence;
    while (text.size() < size)
        text += ' ';
    return text;
}

void setBytes(benchmark::State &state) {
    state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_memcpy(benchmark::State &state) {
    const qsizetype size = state.range(0);
    const QByteArray source = asciiText(size);
    QByteArray destination(size, '\0');
    for (auto _ : state) {
        std::memcpy(destination.data(), source.constData(), size_t(size));
        benchmark::DoNotOptimize(destination.data());
        benchmark::ClobberMemory();
    }
    setBytes(state);
}

void BM_applyMask(benchmark::State &state) {
    const qsizetype size = state.range(0);
    QByteArray buffer = asciiText(size);
    for (auto _ : state) {
        ws::applyMask(buffer.data(), size, kKey);
        benchmark::DoNotOptimize(buffer.data());
        benchmark::ClobberMemory();
    }
    setBytes(state);
}

void BM_copyWithMask(benchmark::State &state) {
    const qsizetype size = state.range(0);
    const QByteArray source = asciiText(size);
    QByteArray destination(size, '\0');
    for (auto _ : state) {
        ws::copyWithMask(destination.data(), source.constData(), size, kKey);
        benchmark::DoNotOptimize(destination.data());
        benchmark::ClobberMemory();
    }
    setBytes(state);
}

void validate(benchmark::State &state, const QByteArray &text) {
    ws::Utf8Validator validator;
    for (auto _ : state) {
        validator.reset();
        benchmark::DoNotOptimize(validator.feed(text));
    }
    if (!validator.isCompleteAndValid())
        state.SkipWithError("the benchmark text is not valid UTF-8");
    setBytes(state);
}

void BM_utf8Ascii(benchmark::State &state) {
    validate(state, asciiText(state.range(0)));
}

void BM_utf8Multilingual(benchmark::State &state) {
    validate(state, multilingualText(state.range(0)));
}

} // namespace

// 1 KiB fits a small message; 64 KiB sits in L2; 1 MiB is a large message.
BENCHMARK(BM_memcpy)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);
BENCHMARK(BM_applyMask)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);
// The payloads of small messages, masked one frame at a time.
BENCHMARK(BM_applyMask)->Arg(16)->Arg(64)->Arg(125);
BENCHMARK(BM_copyWithMask)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);
BENCHMARK(BM_utf8Ascii)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);
BENCHMARK(BM_utf8Multilingual)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);

// The one main() of wsw-microbench, which is built from every bench/micro/*.cpp.
BENCHMARK_MAIN();

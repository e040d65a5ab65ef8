// What the log costs per relayed message when the window watches a relay: a run of
// small binary messages read on one leg and written on the other, both ways, becomes
// four rows per echoed message (log::LogStore::appendRelayedRun), and a full log
// drops its oldest eighth as MessageLogModel does. scripts/microbench.sh prints the
// time per echoed message.

#include "log/logstore.h"
#include "protocol/frameencoder.h"

#include <QByteArray>

#include <benchmark/benchmark.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {

constexpr int kMessagesPerRun = 11; // what one read brings at 64 B, 50 x 16 in flight
constexpr qsizetype kCapacity = 1'000'000;

// `count` binary messages of `size` bytes as `role` sends them (a client masks each
// with a fresh key).
QByteArray run(ws::Role role, int size, int count) {
    ws::FrameEncoder encoder(role);
    const QByteArray payload(size, 'x');
    QByteArray bytes;
    for (int i = 0; i < count; ++i)
        encoder.encodeFrame(bytes, ws::Opcode::Binary, payload);
    return bytes;
}

void BM_logRelayedRuns(benchmark::State &state) {
#if defined(__GLIBC__)
    // The window's heap settings (app/wsworkbench/main.cpp): freed blocks are reused,
    // not unmapped, so the log's turnover costs no page faults.
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
#endif
    const int size = int(state.range(0));
    const QByteArray fromClient = run(ws::Role::Client, size, kMessagesPerRun);
    const QByteArray toServer = run(ws::Role::Client, size, kMessagesPerRun);
    const QByteArray fromServer = run(ws::Role::Server, size, kMessagesPerRun);
    ws::log::LogStore store;
    qint64 now = 0;
    for (auto _ : state) {
        // The relay hands over a copy of what it read, as RelayPair does.
        store.appendRelayedRun(1, 2, QByteArray(fromClient.constData(), fromClient.size()),
                               toServer, now, now + 5);
        const QByteArray answer(fromServer.constData(), fromServer.size());
        store.appendRelayedRun(2, 1, answer, answer, now + 6, now + 8);
        now += 10;
        if (store.size() > kCapacity)
            store.dropOldest(store.size() - kCapacity + kCapacity / 8);
    }
    state.SetItemsProcessed(state.iterations() * kMessagesPerRun);
}

} // namespace

// The first million rows fill the log; the rest run at capacity.
BENCHMARK(BM_logRelayedRuns)->Arg(64)->Iterations(400'000);

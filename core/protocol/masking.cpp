#include "masking.h"

#include <QRandomGenerator>
#include <QtEndian>

#include <array>
#include <atomic>
#include <bit>
#include <cstring>

#ifdef Q_OS_LINUX
#include <cerrno>
#include <pthread.h>
#include <sys/random.h>
#endif

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
// An AVX2 kernel compiled for that instruction set alone and chosen at run time,
// so the binary still runs on any x86-64.
#if defined(__SSE2__) && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define WS_MASKING_AVX2 1
#include <immintrin.h>
#endif

namespace ws {

namespace {

// RFC 6455 §5.3: payload octet i is XORed with key octet (i MOD 4), and the key's
// first octet on the wire is the top byte of `key`. This is the 32-bit word that,
// stored in memory, holds the four key octets that mask the bytes at frame offsets
// `offset`, `offset` + 1, ... in that order; since the pattern repeats every four
// bytes, XORing any 4-byte-multiple block that starts at `offset` with copies of it
// masks the block. Endian-independent: the rotation is done on the wire-order
// value, which is then stored big-endian.
quint32 memoryPattern(quint32 key, quint64 offset) {
    return qToBigEndian(std::rotl(key, int(8 * (offset & 3))));
}

quint64 memoryPattern64(quint32 pattern) {
    return quint64(pattern) << 32 | pattern;
}

// XORs 8-byte words; `pattern` is for offset 0 of `dst`. The tail of fewer than
// eight bytes goes byte by byte. Used for short buffers and where SSE2 is missing.
void maskWords(char *dst, const char *src, qsizetype size, quint32 pattern) {
    const quint64 mask = memoryPattern64(pattern);
    qsizetype i = 0;
    for (; i + 32 <= size; i += 32) {
        // Four independent words per step.
        quint64 words[4];
        std::memcpy(words, src + i, sizeof words);
        for (quint64 &word : words)
            word ^= mask;
        std::memcpy(dst + i, words, sizeof words);
    }
    for (; i + 8 <= size; i += 8) {
        quint64 word;
        std::memcpy(&word, src + i, sizeof word);
        word ^= mask;
        std::memcpy(dst + i, &word, sizeof word);
    }
    unsigned char bytes[4];
    std::memcpy(bytes, &pattern, sizeof bytes);
    for (; i < size; ++i)
        dst[i] = static_cast<char>(src[i] ^ static_cast<char>(bytes[i & 3]));
}

// The last, partial block of a buffer is done as one whole block ending at the last
// byte, overlapping bytes already done. That is only right because the overlapping
// block is loaded from `src` before anything is stored: with dst == src the
// overlapped bytes are then rewritten with the same values, not masked twice.

#if defined(__SSE2__)
// x86 is little-endian: byte k of the pattern in memory is bits 8k..8k+7, so the
// pattern for `offset` bytes further on is a right rotation.
constexpr quint32 advance(quint32 pattern, qsizetype offset) {
    return std::rotr(pattern, int(8 * (offset & 3)));
}

// For 16 <= size.
void maskSse2(char *dst, const char *src, qsizetype size, quint32 pattern) {
    const auto *in = reinterpret_cast<const __m128i *>(src);
    const __m128i last = _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + size - 16));
    const __m128i mask = _mm_set1_epi32(int(pattern));
    qsizetype i = 0;
    for (; i + 64 <= size; i += 64, in += 4) {
        const __m128i a = _mm_loadu_si128(in);
        const __m128i b = _mm_loadu_si128(in + 1);
        const __m128i c = _mm_loadu_si128(in + 2);
        const __m128i d = _mm_loadu_si128(in + 3);
        _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + i), _mm_xor_si128(a, mask));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + i + 16), _mm_xor_si128(b, mask));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + i + 32), _mm_xor_si128(c, mask));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + i + 48), _mm_xor_si128(d, mask));
    }
    for (; i + 16 <= size; i += 16, ++in)
        _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + i),
                         _mm_xor_si128(_mm_loadu_si128(in), mask));
    if (i < size) {
        const __m128i lastMask = _mm_set1_epi32(int(advance(pattern, size - 16)));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + size - 16),
                         _mm_xor_si128(last, lastMask));
    }
}
#endif

#if defined(WS_MASKING_AVX2)
// Set once at start-up. A function-local static cost a guard check on every call, and
// made maskBytes() save registers for the guard's calls, short buffers included. Read
// before it is set (from another file's static initialisation), it is false, and the
// SSE2 kernel does the work.
const bool cpuHasAvx2 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
}();

// For 32 <= size. Aligned stores: a store that straddles two cache lines costs about
// twice as much, which halves the speed for buffers in L1. The unaligned first and
// last 32 bytes are done as whole blocks that overlap the aligned ones (see above).
__attribute__((target("avx2"))) void maskAvx2(char *dst, const char *src, qsizetype size,
                                              quint32 pattern) {
    const __m256i first = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src));
    const __m256i last = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + size - 32));
    const auto head = qsizetype(-reinterpret_cast<quintptr>(dst) & 31);
    const __m256i mask = _mm256_set1_epi32(int(advance(pattern, head)));
    qsizetype i = head;
    for (; i + 128 <= size; i += 128) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + i));
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + i + 32));
        const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + i + 64));
        const __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + i + 96));
        _mm256_store_si256(reinterpret_cast<__m256i *>(dst + i), _mm256_xor_si256(a, mask));
        _mm256_store_si256(reinterpret_cast<__m256i *>(dst + i + 32), _mm256_xor_si256(b, mask));
        _mm256_store_si256(reinterpret_cast<__m256i *>(dst + i + 64), _mm256_xor_si256(c, mask));
        _mm256_store_si256(reinterpret_cast<__m256i *>(dst + i + 96), _mm256_xor_si256(d, mask));
    }
    for (; i + 32 <= size; i += 32) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + i));
        _mm256_store_si256(reinterpret_cast<__m256i *>(dst + i), _mm256_xor_si256(a, mask));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(dst),
                        _mm256_xor_si256(first, _mm256_set1_epi32(int(pattern))));
    _mm256_storeu_si256(
        reinterpret_cast<__m256i *>(dst + size - 32),
        _mm256_xor_si256(last, _mm256_set1_epi32(int(advance(pattern, size - 32)))));
}
#endif

// Shared by applyMask (dst == src) and copyWithMask. Any alignment of either
// pointer is fine: loads and stores are unaligned or go through memcpy.
void maskBytes(char *dst, const char *src, qsizetype size, quint32 key, quint64 phase) {
    if (size <= 0)
        return;
    const quint32 pattern = memoryPattern(key, phase);
#if defined(WS_MASKING_AVX2)
    // Below 80 bytes the AVX2 kernel's set-up (alignment, head and tail blocks)
    // costs more than the SSE2 blocks it would save (measured in instructions).
    if (size >= 80 && cpuHasAvx2) {
        maskAvx2(dst, src, size, pattern);
        return;
    }
#endif
#if defined(__SSE2__)
    if (size >= 16) {
        maskSse2(dst, src, size, pattern);
        return;
    }
#endif
    maskWords(dst, src, size, pattern);
}

} // namespace

void applyMask(char *data, qsizetype size, quint32 key, quint64 phase) {
    maskBytes(data, data, size, key, phase);
}

void copyWithMask(char *dst, const char *src, qsizetype size, quint32 key, quint64 phase) {
    maskBytes(dst, src, size, key, phase);
}

namespace {

// Counts the forks this process has made, in the child: a forked child must not mask
// with the keys its parent has in hand too.
constinit std::atomic<unsigned> forkGeneration{0};

// RFC 6455 §5.3 wants every frame's key from a strong source of entropy. Asking the
// system for 4 bytes per frame costs a system call or an RDSEED each time (RDSEED
// takes thousands of cycles on many CPUs and more in virtual machines), which at a
// million frames a second is a quarter of a client's time. So each thread draws
// keys from the system 4 KiB at a time; they are just as unpredictable, only drawn
// earlier.
class SystemKeyPool {
public:
    quint32 next() {
        // Relaxed: the child's fork handler runs in the only thread the child has.
        if (m_next == m_keys.size() ||
            m_generation != forkGeneration.load(std::memory_order_relaxed))
            refill();
        return m_keys[m_next++];
    }

private:
    // Out of line, so that next() saves no registers for it.
    Q_NEVER_INLINE void refill() {
#ifdef Q_OS_LINUX
        static const bool registered = [] {
            pthread_atfork(nullptr, nullptr, [] { forkGeneration.fetch_add(1); });
            return true;
        }();
        Q_UNUSED(registered);
#endif
        m_generation = forkGeneration.load();
#ifdef Q_OS_LINUX
        auto *bytes = reinterpret_cast<char *>(m_keys.data());
        std::size_t done = 0;
        const std::size_t size = sizeof(m_keys);
        while (done < size) {
            const ssize_t n = ::getrandom(bytes + done, size - done, 0);
            if (n > 0)
                done += std::size_t(n);
            else if (n < 0 && errno != EINTR)
                break;
        }
        if (done < size)
#endif
            QRandomGenerator::system()->fillRange(m_keys.data(), qsizetype(m_keys.size()));
        m_next = 0;
    }

    std::array<quint32, 1024> m_keys{};
    std::size_t m_next = m_keys.size();
    unsigned m_generation = 0;
};

} // namespace

quint32 systemRandomWord() {
    // Constant-initialised and trivially destroyed: no guard on each call.
    constinit thread_local SystemKeyPool pool;
    return pool.next();
}

MaskingKeySource MaskingKeySource::systemRandom() {
    return MaskingKeySource(Generator());
}

MaskingKeySource MaskingKeySource::fixed(quint32 key) {
    return MaskingKeySource([key] { return key; });
}

MaskingKeySource MaskingKeySource::fromFunction(Generator generator) {
    return MaskingKeySource(std::move(generator));
}

} // namespace ws

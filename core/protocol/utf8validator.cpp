#include "utf8validator.h"

#include <array>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// The scanning code is compiled twice, once for BMI2 (see scanBmi2), which only
// works if all of it is inlined into the two copies.
#if defined(__GNUC__) || defined(__clang__)
#define WS_ALWAYS_INLINE [[gnu::always_inline]] inline
#else
#define WS_ALWAYS_INLINE inline
#endif

namespace ws {

namespace {

// A deterministic automaton for well-formed UTF-8, RFC 3629 §4 (the table of
// well-formed byte sequences). Each state is a multiple of 6 and is also a bit
// offset: kTransitions[byte] holds, at bit offset `s`, the 6-bit state that follows
// state `s` on that byte. One step is `next = kTransitions[byte] >> state` with the
// low six bits kept, a single shift on the critical path ("shift-based DFA").
//
// State 0 is "between characters" so that a default-initialised m_state is right.
enum State : quint32 {
    Accept = 0,
    Reject = 6,
    NeedOne = 12,   // one more 80..BF
    NeedTwo = 18,   // two more 80..BF
    NeedThree = 24, // three more 80..BF
    AfterE0 = 30,   // A0..BF, then one more: no overlong 3-byte forms
    AfterED = 36,   // 80..9F, then one more: no surrogates D800..DFFF
    AfterF0 = 42,   // 90..BF, then two more: no overlong 4-byte forms
    AfterF4 = 48,   // 80..8F, then two more: nothing above U+10FFFF
};

constexpr quint32 kStateMask = 63;

constexpr quint32 nextState(quint32 state, unsigned byte) {
    const bool continuation = byte >= 0x80 && byte <= 0xBF;
    switch (state) {
    case Accept:
        if (byte <= 0x7F)
            return Accept;
        if (byte >= 0xC2 && byte <= 0xDF)
            return NeedOne;
        if (byte == 0xE0)
            return AfterE0;
        if (byte == 0xED)
            return AfterED;
        if (byte >= 0xE1 && byte <= 0xEF)
            return NeedTwo;
        if (byte == 0xF0)
            return AfterF0;
        if (byte >= 0xF1 && byte <= 0xF3)
            return NeedThree;
        if (byte == 0xF4)
            return AfterF4;
        // 80..BF cannot start a character; C0 and C1 only start overlong forms;
        // F5..FF would encode code points above U+10FFFF.
        return Reject;
    case NeedOne:
        return continuation ? Accept : Reject;
    case NeedTwo:
        return continuation ? NeedOne : Reject;
    case NeedThree:
        return continuation ? NeedTwo : Reject;
    case AfterE0:
        return byte >= 0xA0 && byte <= 0xBF ? NeedOne : Reject;
    case AfterED:
        return byte >= 0x80 && byte <= 0x9F ? NeedOne : Reject;
    case AfterF0:
        return byte >= 0x90 && byte <= 0xBF ? NeedTwo : Reject;
    case AfterF4:
        return byte >= 0x80 && byte <= 0x8F ? NeedTwo : Reject;
    default:
        return Reject;
    }
}

constexpr std::array<quint64, 256> makeTransitions() {
    constexpr quint32 states[] = {Accept,  Reject,  NeedOne, NeedTwo, NeedThree,
                                  AfterE0, AfterED, AfterF0, AfterF4};
    std::array<quint64, 256> table{};
    for (unsigned byte = 0; byte < 256; ++byte) {
        quint64 row = 0;
        for (const quint32 state : states)
            row |= quint64(nextState(state, byte)) << state;
        table[byte] = row;
    }
    return table;
}

constexpr std::array<quint64, 256> kTransitions = makeTransitions();

static_assert(nextState(AfterE0, 0x80) == Reject, "E0 80 is an overlong form");
static_assert(nextState(AfterED, 0xA0) == Reject, "ED A0 is a surrogate");
static_assert(((kTransitions[0xF4] >> Accept) & kStateMask) == AfterF4);

WS_ALWAYS_INLINE quint32 step(quint32 state, unsigned char byte) {
    return quint32(kTransitions[byte] >> (state & kStateMask)) & kStateMask;
}

// A step that leaves the result unmasked: the next shift only looks at its low six
// bits (x86 masks shift counts that way in hardware, so `& kStateMask` costs
// nothing there), which keeps a single shift per byte on the critical path.
WS_ALWAYS_INLINE quint64 stepUnmasked(quint64 state, unsigned char byte) {
    return kTransitions[byte] >> (state & kStateMask);
}

// Skips whole blocks of ASCII bytes; returns where the first block holding a byte
// >= 0x80 starts (or where too few bytes remain for a block).
WS_ALWAYS_INLINE const unsigned char *skipAscii(const unsigned char *p, const unsigned char *end) {
#if defined(__SSE2__)
    const auto load = [](const unsigned char *at) {
        return _mm_loadu_si128(reinterpret_cast<const __m128i *>(at));
    };
    // In text that is not mostly ASCII the first block usually fails: check it
    // alone before committing to the wide loop.
    if (end - p >= 16 && _mm_movemask_epi8(load(p)) != 0)
        return p;
    while (end - p >= 64) {
        const __m128i any = _mm_or_si128(_mm_or_si128(load(p), load(p + 16)),
                                         _mm_or_si128(load(p + 32), load(p + 48)));
        if (_mm_movemask_epi8(any) != 0)
            break;
        p += 64;
    }
    while (end - p >= 16) {
        if (_mm_movemask_epi8(load(p)) != 0)
            return p;
        p += 16;
    }
#endif
    constexpr quint64 highBits = 0x8080808080808080ULL;
    while (end - p >= 16) {
        quint64 first;
        quint64 second;
        std::memcpy(&first, p, sizeof first);
        std::memcpy(&second, p + 8, sizeof second);
        if (((first | second) & highBits) != 0)
            return p;
        p += 16;
    }
    while (end - p >= 8) {
        quint64 word;
        std::memcpy(&word, p, sizeof word);
        if ((word & highBits) != 0)
            return p;
        p += 8;
    }
    return p;
}

struct ScanResult {
    quint32 state = Accept;
    const unsigned char *stop = nullptr; // the offending byte when state is Reject
};

// The automaton runs over blocks without looking at the state after every byte:
// Reject is absorbing, so one check per block finds out whether the block failed,
// and only then is it replayed byte by byte to find the offending byte.
WS_ALWAYS_INLINE ScanResult scan(const unsigned char *p, const unsigned char *end, quint32 state) {
    constexpr qsizetype blockSize = 16;
    while (p < end) {
        if (state == Accept) {
            p = skipAscii(p, end);
            if (p == end)
                break;
        }
        quint64 next = state;
        const unsigned char *blockEnd = end;
        if (end - p >= blockSize) {
            blockEnd = p + blockSize;
            for (qsizetype i = 0; i < blockSize; ++i) // a fixed count: unrolled
                next = stepUnmasked(next, p[i]);
        } else {
            for (const unsigned char *q = p; q < end; ++q)
                next = stepUnmasked(next, *q);
        }
        next &= kStateMask;
        if (next == Reject) {
            while ((state = step(state, *p)) != Reject)
                ++p;
            return {Reject, p};
        }
        state = quint32(next);
        p = blockEnd;
    }
    return {state, end};
}

ScanResult scanBaseline(const unsigned char *p, const unsigned char *end, quint32 state) {
    return scan(p, end, state);
}

using Scanner = ScanResult (*)(const unsigned char *, const unsigned char *, quint32);

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// With BMI2 a variable shift is one single-cycle instruction (SHRX) instead of a
// move into CL and a two-micro-op SHR: multi-byte text validates about 40% faster.
// Chosen at run time, so the binary still runs on any x86-64.
__attribute__((target("bmi2"))) ScanResult scanBmi2(const unsigned char *p,
                                                    const unsigned char *end, quint32 state) {
    return scan(p, end, state);
}

Scanner chooseScanner() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("bmi2") ? scanBmi2 : scanBaseline;
}
#else
Scanner chooseScanner() {
    return scanBaseline;
}
#endif

} // namespace

Utf8Validator::Status Utf8Validator::feed(QByteArrayView data) {
    if (m_status == Status::Invalid)
        return m_status;

    static const Scanner scanner = chooseScanner();
    const auto *const begin = reinterpret_cast<const unsigned char *>(data.data());
    const ScanResult result = scanner(begin, begin + data.size(), m_state);
    const quint32 state = result.state;
    if (state == Reject) {
        m_state = Reject;
        m_errorOffset = m_consumed + (result.stop - begin);
        m_consumed += data.size();
        m_status = Status::Invalid;
        return m_status;
    }

    m_state = state;
    m_consumed += data.size();
    m_status = state == Accept ? Status::Valid : Status::Incomplete;
    return m_status;
}

void Utf8Validator::reset() {
    m_state = Accept;
    m_consumed = 0;
    m_errorOffset = -1;
    m_status = Status::Valid;
}

bool Utf8Validator::isValid(QByteArrayView data) {
    Utf8Validator validator;
    validator.feed(data);
    return validator.isCompleteAndValid();
}

} // namespace ws

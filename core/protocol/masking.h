#pragma once

#include <QtGlobal>

#include <functional>

namespace ws {

// XORs `size` bytes in place with the 4-byte masking key (RFC 6455 §5.3).
// `key` holds the key's four bytes in wire order, big-endian: the first key byte
// on the wire is (key >> 24). `phase` (0-3) is how many payload bytes came before
// `data` in this frame, so a payload can be unmasked in pieces as it arrives.
// Works a machine word at a time; masking and unmasking are the same operation.
void applyMask(char *data, qsizetype size, quint32 key, quint64 phase = 0);

// Copies `size` bytes from `src` to `dst` applying the mask on the way: one pass
// for "move out of the socket buffer and unmask".
void copyWithMask(char *dst, const char *src, qsizetype size, quint32 key, quint64 phase = 0);

// Where masking keys come from. RFC 6455 §5.3 requires keys that cannot be
// predicted, so production uses the system CSPRNG; tests inject fixed keys to
// compare exact bytes.
// 32 bits from the system CSPRNG, drawn ahead 4 KiB at a time per thread (a forked
// child draws afresh): masking keys, and anything else that must be unpredictable
// but is asked for often, such as a handshake's Sec-WebSocket-Key.
quint32 systemRandomWord();

class MaskingKeySource {
public:
    using Generator = std::function<quint32()>;

    // The system CSPRNG (getrandom() on Linux, else QRandomGenerator::system()),
    // drawn 4 KiB at a time per thread; a forked child draws afresh.
    static MaskingKeySource systemRandom();
    // Always the same key (tests, and the raw-frame writer).
    static MaskingKeySource fixed(quint32 key);
    // Any function, e.g. a sequence of keys for a test (an empty one: the system source).
    static MaskingKeySource fromFunction(Generator generator);

    // The system source is called directly rather than through a std::function: a
    // relay takes a key for every frame it forwards to a server.
    quint32 next() const { return m_generator ? m_generator() : systemRandomWord(); }

private:
    explicit MaskingKeySource(Generator generator)
        : m_generator(std::move(generator)) {}
    Generator m_generator; // empty: systemRandomWord()
};

} // namespace ws

#pragma once

#include <QtGlobal>

#include <cerrno>
#include <memory>
#include <vector>

struct io_uring;

namespace ws {

// The first read of each socket that one wait of an event loop found readable, made
// for all of them with one io_uring_enter(2) instead of one recv(2) each (see
// WriteBatch for why a system call saved is worth it). The dispatcher adds the
// readers after its wait, run() reads into slots of a buffer of the batch's own and
// hands each reader its bytes; the reader then takes them as if it had read them
// itself when its descriptor's turn comes.
//
// The bytes stay where they are until the dispatcher's pass ends: finish() tells each
// reader that has not taken all of its bytes to keep them, and the next run() reads
// into the slots again. Borrowers of the thread's read buffer (ReadBufferBorrower)
// are told to let go before that, as before any read.
class ReadBatch {
public:
    class Reader {
    public:
        // What was read: `result` bytes at `data`, 0 at the end of the stream, or
        // -errno (-EAGAIN: nothing after all).
        virtual void batchedRead(const char *data, long result) = 0;
        // The slot is about to be read into again: keep what was not taken.
        virtual void batchedReadEnding() = 0;

    protected:
        ~Reader() = default;
    };

    // At most this many reads per pass; the other readers read for themselves.
    static constexpr int Slots = 64;
    // The most one batched read takes (UnbufferedReadSize, as one recv(2) would).
    static constexpr qint64 SlotSize = 1024 * 1024;

    // A batch on an io_uring of its own, or null where the kernel refuses one.
    static std::unique_ptr<ReadBatch> create();
    ~ReadBatch();
    ReadBatch(const ReadBatch &) = delete;
    ReadBatch &operator=(const ReadBatch &) = delete;

    // Reads up to `size` bytes from `descriptor` for `reader` in the next run();
    // false when the batch is full.
    bool add(Reader *reader, int descriptor, qint64 size);
    bool isFull() const { return m_entries.size() >= std::size_t(Slots); }
    // Between run() and finish(): the slots hold bytes readers may still take.
    bool isOpen() const { return m_open; }
    // Makes the reads, and tells each reader what it got.
    void run();
    // The pass is over: readers keep what they have not taken.
    void finish();
    // Takes the reader out: it is going.
    void remove(const Reader *reader);

private:
    ReadBatch();
    struct Entry {
        Reader *reader; // null: removed since it joined
        int descriptor;
        qint64 size;
        long result = -EAGAIN; // until read
    };

    std::unique_ptr<io_uring> m_ring;
    bool m_ringMade = false;
    char *m_slots = nullptr; // Slots × SlotSize, mapped once, touched as read into
    std::vector<Entry> m_entries;
    bool m_open = false;
};

} // namespace ws

#pragma once

#include <memory>
#include <vector>

#include <sys/socket.h>
#include <sys/uio.h>

struct io_uring;

namespace ws {

// The small writes of one pass of an event loop, handed to the kernel together with
// one io_uring_enter(2) instead of one send(2) each.
//
// A relay of small messages makes a receive and a send for every read, and most of
// what such a system call costs is entering and leaving the kernel, not the bytes:
// on a machine where that is dear (a virtual machine, or one with mitigations for
// speculative execution) a batch of sends costs well under half as much each. The
// writers queue their bytes as they would when the kernel is full, join the batch,
// and the dispatcher submits it before it waits for more events (submit()): the
// bytes leave in the same pass, in the order each writer queued them.
//
// A send that would block comes back as EAGAIN (MSG_DONTWAIT), one that fails with
// its error: the writer then watches its descriptor for writability as it would
// after a short send(2), and meets the error there.
class WriteBatch {
public:
    class Writer {
    public:
        // The bytes to send: fills at most `capacity` vectors, returns how many.
        virtual int batchedPieces(iovec *vectors, int capacity) const = 0;
        // The batch was submitted: `result` is what send(2) would have returned
        // (bytes sent, or -errno); 0 when the writer's send was not made.
        virtual void batchedWriteDone(long result) = 0;

    protected:
        ~Writer() = default;
    };

    // A batch on an io_uring of its own, or null where the kernel refuses one (too
    // old, or forbidden by a seccomp filter, as in some containers).
    static std::unique_ptr<WriteBatch> create();
    ~WriteBatch();
    WriteBatch(const WriteBatch &) = delete;
    WriteBatch &operator=(const WriteBatch &) = delete;

    // Sends `writer`'s pieces with the next submit(). A writer joins once per batch.
    void add(Writer *writer, int descriptor);
    // Takes the writer out: it is going, or sends its bytes itself.
    void remove(const Writer *writer);
    // Sends what the writers queued and tells each the result.
    void submit();

private:
    WriteBatch();
    struct Entry {
        Writer *writer; // null: removed since it joined
        int descriptor;
        long result = 0;
    };
    // Submits entries [first, last) of m_submitting and collects their results.
    void submitRange(std::size_t first, std::size_t last);

    std::unique_ptr<io_uring> m_ring;
    unsigned m_ringSize = 0;
    std::vector<Entry> m_pending;    // joined since the last submit()
    std::vector<Entry> m_submitting; // being submitted and told
    std::vector<iovec> m_vectors;
    std::vector<msghdr> m_messages;
};

} // namespace ws

#include "net/writebatch.h"

#include <liburing.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace ws {

namespace {

// Entries per ring: the writers of one pass seldom number more; a larger batch goes
// in several submissions.
constexpr unsigned RingEntries = 256;
// Pieces per writer and submission (what sendPieces() gathers per sendmsg(2)).
constexpr int MaxPieces = 64;
// As sendPieces(): never SIGPIPE, never wait (a full socket answers EAGAIN rather
// than leaving the send to io_uring's poll).
constexpr int BatchSendFlags = MSG_NOSIGNAL | MSG_DONTWAIT;

} // namespace

WriteBatch::WriteBatch()
    : m_ring(std::make_unique<io_uring>()) {}

WriteBatch::~WriteBatch() {
    if (m_ringSize > 0)
        io_uring_queue_exit(m_ring.get());
}

std::unique_ptr<WriteBatch> WriteBatch::create() {
    std::unique_ptr<WriteBatch> batch(new WriteBatch);
    if (io_uring_queue_init(RingEntries, batch->m_ring.get(), 0) != 0)
        return nullptr;
    batch->m_ringSize = RingEntries;
    return batch;
}

void WriteBatch::add(Writer *writer, int descriptor) {
    m_pending.push_back(Entry{writer, descriptor});
}

void WriteBatch::remove(const Writer *writer) {
    for (std::vector<Entry> *list : {&m_pending, &m_submitting}) {
        for (Entry &entry : *list) {
            if (entry.writer == writer)
                entry.writer = nullptr;
        }
    }
}

void WriteBatch::submit() {
    if (m_pending.empty())
        return;
    // Writers that join while the results are told go in the next batch.
    m_submitting.swap(m_pending);
    for (std::size_t first = 0; first < m_submitting.size(); first += m_ringSize)
        submitRange(first, std::min(first + m_ringSize, m_submitting.size()));
    for (Entry &entry : m_submitting) {
        // Looked up afresh each time: a writer told may take another one out.
        if (Writer *writer = std::exchange(entry.writer, nullptr))
            writer->batchedWriteDone(entry.result);
    }
    m_submitting.clear();
}

void WriteBatch::submitRange(std::size_t first, std::size_t last) {
    io_uring *ring = m_ring.get();
    // Every vector and header stays where it is until the kernel has read it.
    m_vectors.resize((last - first) * MaxPieces);
    m_messages.resize(last - first);
    unsigned queued = 0;
    for (std::size_t i = first; i < last; ++i) {
        Entry &entry = m_submitting[i];
        entry.result = 0;
        if (!entry.writer)
            continue;
        iovec *vectors = &m_vectors[(i - first) * MaxPieces];
        const int count = entry.writer->batchedPieces(vectors, MaxPieces);
        if (count <= 0)
            continue;
        io_uring_sqe *sqe = io_uring_get_sqe(ring);
        if (!sqe)
            break; // not sent: the writer finds its descriptor writable and sends itself
        if (count == 1) {
            io_uring_prep_send(sqe, entry.descriptor, vectors[0].iov_base, vectors[0].iov_len,
                               BatchSendFlags);
        } else {
            msghdr &message = m_messages[i - first];
            message = msghdr{};
            message.msg_iov = vectors;
            message.msg_iovlen = std::size_t(count);
            io_uring_prep_sendmsg(sqe, entry.descriptor, &message, BatchSendFlags);
        }
        io_uring_sqe_set_data64(sqe, i);
        ++queued;
    }
    if (queued == 0)
        return;
    int submitted;
    do {
        submitted = io_uring_submit_and_wait(ring, queued);
    } while (submitted == -EINTR);
    if (submitted <= 0) {
        // Nothing went: each writer watches for writability and sends itself.
        io_uring_cq_advance(ring, io_uring_cq_ready(ring));
        return;
    }
    unsigned seen = 0;
    while (seen < unsigned(submitted)) {
        io_uring_cqe *cqe = nullptr;
        if (io_uring_wait_cqe(ring, &cqe) != 0 || !cqe)
            break;
        const std::size_t index = std::size_t(io_uring_cqe_get_data64(cqe));
        if (index >= first && index < last)
            m_submitting[index].result = cqe->res;
        io_uring_cqe_seen(ring, cqe);
        ++seen;
    }
}

} // namespace ws

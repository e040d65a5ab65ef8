#include "net/readbatch.h"

#include "net/socketio.h"

#include <liburing.h>

#include <cerrno>
#include <utility>

#include <sys/mman.h>
#include <sys/socket.h>

namespace ws {

static_assert(ReadBatch::SlotSize == UnbufferedReadSize);

ReadBatch::ReadBatch()
    : m_ring(std::make_unique<io_uring>()) {}

ReadBatch::~ReadBatch() {
    if (m_ringMade)
        io_uring_queue_exit(m_ring.get());
    if (m_slots)
        ::munmap(m_slots, std::size_t(Slots) * std::size_t(SlotSize));
}

std::unique_ptr<ReadBatch> ReadBatch::create() {
    std::unique_ptr<ReadBatch> batch(new ReadBatch);
    if (io_uring_queue_init(Slots, batch->m_ring.get(), 0) != 0)
        return nullptr;
    batch->m_ringMade = true;
    // Address space only: the kernel gives pages as reads fill them.
    void *mapped =
        ::mmap(nullptr, std::size_t(Slots) * std::size_t(SlotSize), PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapped == MAP_FAILED)
        return nullptr;
    batch->m_slots = static_cast<char *>(mapped);
    batch->m_entries.reserve(Slots);
    return batch;
}

bool ReadBatch::add(Reader *reader, int descriptor, qint64 size) {
    if (m_open || m_entries.size() >= std::size_t(Slots) || size <= 0)
        return false;
    m_entries.push_back(Entry{reader, descriptor, std::min(size, SlotSize)});
    return true;
}

void ReadBatch::remove(const Reader *reader) {
    for (Entry &entry : m_entries) {
        if (entry.reader == reader)
            entry.reader = nullptr;
    }
}

void ReadBatch::run() {
    if (m_entries.empty())
        return;
    // The slots are read into again: nothing may still point into them, as before a
    // read into the thread's read buffer.
    recallReadBuffer();
    io_uring *ring = m_ring.get();
    unsigned queued = 0;
    for (std::size_t i = 0; i < m_entries.size(); ++i) {
        Entry &entry = m_entries[i];
        io_uring_sqe *sqe = io_uring_get_sqe(ring);
        if (!sqe)
            break;
        io_uring_prep_recv(sqe, entry.descriptor, m_slots + i * std::size_t(SlotSize),
                           std::size_t(entry.size), MSG_DONTWAIT);
        io_uring_sqe_set_data64(sqe, i);
        ++queued;
    }
    int submitted;
    do {
        submitted = io_uring_submit_and_wait(ring, queued);
    } while (submitted == -EINTR);
    for (unsigned seen = 0; submitted > 0 && seen < unsigned(submitted); ++seen) {
        io_uring_cqe *cqe = nullptr;
        if (io_uring_wait_cqe(ring, &cqe) != 0 || !cqe)
            break;
        const std::size_t index = std::size_t(io_uring_cqe_get_data64(cqe));
        if (index < m_entries.size())
            m_entries[index].result = cqe->res;
        io_uring_cqe_seen(ring, cqe);
    }
    m_open = true;
    // Reads that were not made leave -EAGAIN: the reader reads for itself.
    for (std::size_t i = 0; i < m_entries.size(); ++i) {
        if (Reader *reader = m_entries[i].reader)
            reader->batchedRead(m_slots + i * std::size_t(SlotSize), m_entries[i].result);
    }
}

void ReadBatch::finish() {
    if (!m_open)
        return;
    m_open = false;
    // Looked up afresh each time: a reader told may take another one out.
    for (std::size_t i = 0; i < m_entries.size(); ++i) {
        if (Reader *reader = std::exchange(m_entries[i].reader, nullptr))
            reader->batchedReadEnding();
    }
    m_entries.clear();
}

} // namespace ws

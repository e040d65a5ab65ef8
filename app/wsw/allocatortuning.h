#pragma once

namespace ws {

// glibc hands blocks of 128 KiB and more straight back to the kernel when they are
// freed (mmap threshold, heap trimming), so a server echoing 1 MiB messages takes
// a page fault for every 4 KiB of every read buffer and every message, each time:
// a quarter of its time. This keeps freed blocks of up to 32 MiB in the heap for
// the next message, and gives the top of the heap back only beyond 128 MiB free.
// What stays is bounded by the largest burst the process has handled. Called once
// at start-up, before any allocation of that size; a no-op where glibc is absent.
void keepLargeBuffersForReuse();

} // namespace ws

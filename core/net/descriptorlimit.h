#pragma once

namespace ws {

// Every connection costs a file descriptor, so how many a process may have open
// (RLIMIT_NOFILE) bounds how many clients a server can hold.

// Raises the process's soft limit to its hard limit, which an unprivileged process
// may do (the soft limit is often 1024 where the hard one is far higher). Call at
// start, before listening. Returns the soft limit in force afterwards.
long raiseDescriptorLimit();

// The default for ServerOptions::maxConnections: the soft limit (raised by the first
// call, with raiseDescriptorLimit(), so that a window or a tool hosting a server need
// not remember to), less
// what the process keeps for itself (listening socket, files, logs, pipes), so that
// the server answers 503 before accept() fails for want of descriptors.
int defaultMaxConnections();

} // namespace ws

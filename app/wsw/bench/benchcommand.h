#pragma once

#include <QStringList>

namespace ws {

// `wsw bench URL`: the load generator (echo throughput and latency, connection
// rate, idle connections for memory measurements).
class BenchCommand {
public:
    enum ExitStatus { Done = 0, UsageError = 1, Failed = 2 };

    // Runs the command in the application's event loop; returns the exit status.
    static int run(const QStringList &arguments);
};

} // namespace ws

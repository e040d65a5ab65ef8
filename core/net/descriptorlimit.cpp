#include "net/descriptorlimit.h"

#include <QtGlobal>

#include <algorithm>
#include <climits>

#include <sys/resource.h>

namespace ws {

namespace {

// Descriptors the process needs besides its connections.
constexpr long Reserved = 64;
// Some limits are effectively unbounded (RLIM_INFINITY); a server still needs a cap.
constexpr long Ceiling = 1'000'000;

long softLimit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return 1024;
    return limit.rlim_cur == RLIM_INFINITY ? Ceiling
                                           : long(std::min<rlim_t>(limit.rlim_cur, Ceiling));
}

} // namespace

long raiseDescriptorLimit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        // macOS refuses more than OPEN_MAX for RLIM_INFINITY; the failure leaves the
        // limit as it was, which is still usable.
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    return softLimit();
}

int defaultMaxConnections() {
    // Whoever hosts a server gets the raised limit, the window as much as wsw.
    static const long raised = raiseDescriptorLimit();
    Q_UNUSED(raised);
    return int(std::clamp(softLimit() - Reserved, 16L, long(INT_MAX)));
}

} // namespace ws

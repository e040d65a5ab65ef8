#pragma once

#include <QStringList>

namespace ws {

// `wsw diff A B`: compares two recorded sessions (JSON Lines logs) message by message
// and prints the differences in unified style or as JSON.
class DiffCommand {
public:
    // Exit statuses, as diff(1) and cmp(1) have them (see `wsw diff --help`).
    enum ExitStatus {
        Same = 0,
        Different = 1,
        Trouble = 2, // usage error, or a file that could not be read
    };

    static int run(const QStringList &arguments);
};

} // namespace ws

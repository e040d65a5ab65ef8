#!/usr/bin/env bash
# Runs one interop script with its interpreter: run-peer.sh INTERPRETER SCRIPT [CASE...]
# A missing interpreter is a missing peer: a failure when WSW_REQUIRE_PEERS=1 (CI),
# otherwise CTest's skip code 77 (SKIP_RETURN_CODE) with a sentence saying what is missing.
set -uo pipefail
interpreter=$1
script=$2
shift 2
if ! command -v "$interpreter" >/dev/null 2>&1; then
    what="interpreter $interpreter (Debian packages python3-websockets / nodejs npm)"
    if [[ "${WSW_REQUIRE_PEERS:-}" == "1" ]]; then
        echo "FAIL: interop peer missing: $what. WSW_REQUIRE_PEERS=1 makes a missing peer a failure; scripts/install-deps.sh installs it."
        exit 1
    fi
    echo "SKIP: interop peer missing: $what (scripts/install-deps.sh installs it; with WSW_REQUIRE_PEERS=1 this is a failure)."
    exit 77
fi
cd "$(dirname "$script")" || exit 1
exec "$interpreter" "$script" "$@"

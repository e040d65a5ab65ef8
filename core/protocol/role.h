#pragma once

namespace ws {

// Which end of the connection this code plays. The masking rules of
// RFC 6455 §5.1 and §5.3 depend on it.
enum class Role { Client, Server };

// Which way a frame travelled, seen from this end.
enum class Direction { Incoming, Outgoing };

constexpr Role peerRole(Role role) {
    return role == Role::Client ? Role::Server : Role::Client;
}

} // namespace ws

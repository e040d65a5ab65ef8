#include "replay/serverreplay.h"

namespace ws::replay {

ServerReplay::ServerReplay(Recording recording, ReplayOptions options, ServerOptions server,
                           QObject *parent)
    : QObject(parent)
    , m_recording(std::move(recording))
    , m_options(std::move(options)) {
    // Checked once here, so that nothing listens for a replay that cannot be played.
    const ReplayPlayer probe(m_recording, Side::Server, m_options);
    m_error = probe.errorString();
    server.mode = ServerOptions::Mode::Manual;
    server.events = EventReporting::On;
    // Nothing the recording's server did not send: no keepalive pings of our own.
    server.keepaliveIntervalMs = 0;
    server.subprotocols.clear();
    if (!m_recording.acceptedSubprotocol.isEmpty())
        server.subprotocols.append(m_recording.acceptedSubprotocol);
    if (m_recording.acceptedExtensions.contains("permessage-deflate") &&
        server.deflate.policy == DeflatePolicy::Refuse)
        server.deflate.policy = DeflatePolicy::Offer;
    m_server = std::make_unique<Server>(std::move(server));
    connect(m_server.get(), &Server::clientConnected, this, [this](ServerClient *client) {
        auto *player = new ReplayPlayer(m_recording, Side::Server, m_options, client);
        connect(player, &ReplayPlayer::finished, this, [this, client](const ReplayResult &result) {
            emit clientFinished(client, result);
        });
        emit clientStarted(client, player);
        player->attach(client);
    });
}

ServerReplay::~ServerReplay() = default;

bool ServerReplay::listen() {
    if (!m_error.isEmpty())
        return false;
    if (!m_server->listen()) {
        m_error = m_server->errorString();
        return false;
    }
    return true;
}

} // namespace ws::replay

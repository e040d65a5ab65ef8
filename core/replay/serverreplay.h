#pragma once

#include "replay/replayplayer.h"

#include "net/server.h"

#include <QObject>

#include <memory>

namespace ws::replay {

// Plays the server side of a recording to every client that connects: a Server in
// manual mode that offers the subprotocol the recording's server chose (and
// permessage-deflate when it was agreed), with a ReplayPlayer per client.
class ServerReplay : public QObject {
    Q_OBJECT
public:
    // `server`: where and how to listen; the mode, subprotocols and deflate policy
    // are the replay's.
    ServerReplay(Recording recording, ReplayOptions options, ServerOptions server,
                 QObject *parent = nullptr);
    ~ServerReplay() override;

    // The first player's errorString(): the recording cannot be played as asked.
    QString errorString() const { return m_error; }
    bool listen();
    Server *server() const { return m_server.get(); }

signals:
    // A client connected and its replay starts.
    void clientStarted(ws::ServerClient *client, ws::replay::ReplayPlayer *player);
    void clientFinished(ws::ServerClient *client, const ws::replay::ReplayResult &result);

private:
    Recording m_recording;
    ReplayOptions m_options;
    std::unique_ptr<Server> m_server;
    QString m_error;
};

} // namespace ws::replay

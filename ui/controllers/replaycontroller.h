#pragma once

#include "replay/replayplayer.h"

#include <QObject>
#include <QPointer>
#include <QUrl>

namespace ws {

class ConnectionHub;

// What the window asks before a replay.
struct ReplaySettings {
    QUrl url;
    double speed = 1.0; // 0: as fast as possible
    bool waitReplies = false;
};

// Replays the client side of a connection of the window's log as a new client of the
// hub: its traffic is logged as a connection like any other. One replay at a time.
class ReplayController : public QObject {
    Q_OBJECT
public:
    explicit ReplayController(ConnectionHub *hub, QObject *parent = nullptr);

    // The recorded URL of connection `id`, to prefill the target; empty when unknown.
    QUrl recordedUrl(quint32 id) const;
    // Starts replaying connection `id` of the log; the new connection's id, or 0 with
    // *error set (nothing recorded, an unknown placeholder, a bad URL).
    quint32 start(quint32 id, const ReplaySettings &settings, QString *error = nullptr);

    replay::ReplayPlayer *player() const { return m_player; }
    quint32 replayId() const { return m_replayId; }
    // The connection the last replay played again.
    quint32 sourceId() const { return m_sourceId; }
    bool isRunning() const { return m_player && m_player->isRunning(); }
    void pause();
    void resume();
    void stop();

signals:
    void started(quint32 replayId, int steps);
    void progress(int taken, int total);
    void pausedChanged(bool paused);
    void finished(const ws::replay::ReplayResult &result);

private:
    ConnectionHub *m_hub;
    QPointer<replay::ReplayPlayer> m_player;
    quint32 m_replayId = 0;
    quint32 m_sourceId = 0;
};

} // namespace ws

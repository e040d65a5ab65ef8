#include "controllers/replaycontroller.h"

#include "connections/connectionhub.h"
#include "models/messagelogmodel.h"

namespace ws {

ReplayController::ReplayController(ConnectionHub *hub, QObject *parent)
    : QObject(parent)
    , m_hub(hub) {}

QUrl ReplayController::recordedUrl(quint32 id) const {
    const log::LogStore &store = m_hub->log()->store();
    const QUrl url(store.connectionInfo(id).url);
    if (url.scheme() == QLatin1String("ws") || url.scheme() == QLatin1String("wss"))
        return url;
    return {};
}

quint32 ReplayController::start(quint32 id, const ReplaySettings &settings, QString *error) {
    const auto fail = [error](const QString &why) {
        if (error)
            *error = why;
        return 0u;
    };
    if (isRunning())
        return fail(tr("A replay is running: stop it first."));
    std::optional<replay::Recording> recording =
        replay::loadRecording(m_hub->log()->store(), id, error);
    if (!recording)
        return 0;
    if (!settings.url.isValid() || (settings.url.scheme() != QLatin1String("ws") &&
                                    settings.url.scheme() != QLatin1String("wss")))
        return fail(tr("The target must be a ws:// or wss:// URL."));
    replay::ReplayOptions options;
    options.speed = settings.speed;
    options.waitReplies = settings.waitReplies;
    auto *player = new replay::ReplayPlayer(*recording, replay::Side::Client, options, this);
    if (!player->isValid()) {
        const QString why = player->errorString();
        delete player;
        return fail(why);
    }
    ClientOptions client;
    client.url = settings.url;
    client.session.reportFrames = true;
    replay::applyRecordedRequest(*recording, true, &client);
    const quint32 newId = m_hub->openClient(client);
    ClientConnection *connection = m_hub->client(newId);
    if (!connection) {
        delete player;
        return fail(tr("The connection could not be made."));
    }
    if (m_player)
        m_player->deleteLater();
    m_player = player;
    m_replayId = newId;
    m_sourceId = id;
    connect(player, &replay::ReplayPlayer::progress, this, &ReplayController::progress);
    connect(player, &replay::ReplayPlayer::pausedChanged, this, &ReplayController::pausedChanged);
    connect(player, &replay::ReplayPlayer::finished, this, &ReplayController::finished);
    player->attach(connection);
    emit started(newId, player->stepCount());
    return newId;
}

void ReplayController::pause() {
    if (m_player)
        m_player->pause();
}

void ReplayController::resume() {
    if (m_player)
        m_player->resume();
}

void ReplayController::stop() {
    if (m_player)
        m_player->stop();
}

} // namespace ws

// What each server mode does with a client's messages: echo, greeting (a greeting,
// then echo), broadcast (to every open client, with join/leave notices) and manual
// (nothing: the user sends).

#include "net/serverprivate.h"

#include <QScopeGuard>

namespace ws {

const char *modeName(ServerOptions::Mode mode) {
    switch (mode) {
    case ServerOptions::Mode::Echo:
        return "echo";
    case ServerOptions::Mode::Greeting:
        return "greeting";
    case ServerOptions::Mode::Broadcast:
        return "broadcast";
    case ServerOptions::Mode::Manual:
        return "manual";
    }
    return "echo";
}

std::optional<ServerOptions::Mode> modeFromName(QStringView name) {
    for (const auto mode : {ServerOptions::Mode::Echo, ServerOptions::Mode::Greeting,
                            ServerOptions::Mode::Broadcast, ServerOptions::Mode::Manual}) {
        if (name.compare(QLatin1String(modeName(mode)), Qt::CaseInsensitive) == 0)
            return mode;
    }
    return std::nullopt;
}

bool Server::Private::echoes() const {
    const ServerOptions::Mode mode = options().mode;
    return mode == ServerOptions::Mode::Echo || mode == ServerOptions::Mode::Greeting;
}

// Echo and greeting modes answer each message from inside Session::receiveData(),
// in stream order, so that the echoes of messages that arrived together with a
// close frame go out before the answer to it (RFC 6455 §5.5.1: nothing after our
// close frame). Once open, when the client's events are not reported and no
// extension transforms its messages, from the decoder's message sink: as a view,
// with no allocation, no MessageEvent and no second UTF-8 pass for small messages.
// Otherwise from the session's message handler, which keeps the events. Checked
// before every batch, since the handshake (and so the extension) may just have
// completed.
void Server::Private::updateEchoPath(ServerClient *c) {
    using EchoPath = ServerClient::EchoPath;
    EchoPath wanted = EchoPath::None;
    if (echoes() && !c->m_misbehaviour.isOff())
        wanted = EchoPath::Staged; // every message counted, every reply as staged
    else if (echoes())
        wanted = c->m_announced && !c->deflate() && c->eventReporting() == EventReporting::Off
                     ? EchoPath::Sink
                     : EchoPath::Handler;
    if (wanted == c->m_echoPath)
        return;
    c->m_echoPath = wanted;
    Session &session = c->mutableSession();
    if (wanted == EchoPath::Sink) {
        session.setMessageSink([this, c, &session](Opcode type, QByteArrayView payload) {
            c->m_lastMessageMs = batchUs / 1000;
            // Refused only after our close frame: then nothing is echoed.
            static_cast<void>(session.sendReceivedMessage(type, payload, batchUs));
        });
    } else {
        session.setMessageSink({});
    }
    if (wanted == EchoPath::Handler) {
        // The outgoing bytes join this client's batch, written once after the read.
        // The payload is shared with the incoming event, not copied. After our close
        // frame the session refuses the send (RFC 6455 §5.5.1): nothing is echoed then.
        session.setMessageHandler([this, &session](const DecodedMessage &message) {
            static_cast<void>(message.type == Opcode::Binary
                                  ? session.sendBinary(message.data, batchUs)
                                  : session.sendText(message.data, batchUs));
        });
    } else if (wanted == EchoPath::Staged) {
        session.setMessageHandler([this, c, &session](const DecodedMessage &message) {
            c->stageReply(session, message, batchUs);
        });
    } else {
        session.setMessageHandler({});
    }
}

void Server::Private::onMessage(ServerClient *c, const MessageEvent &message) {
    c->m_lastMessageMs = message.direction == Direction::Incoming ? batchUs / 1000 : nowMs();
    if (message.direction != Direction::Incoming)
        return;
    // After the mode's answer: a staged close or bad frame follows the echo.
    const auto count = qScopeGuard([c] { c->countMessage(); });
    switch (options().mode) {
    case ServerOptions::Mode::Echo:
    case ServerOptions::Mode::Greeting:
        // Echoed as it was decoded (updateEchoPath).
        return;
    case ServerOptions::Mode::Broadcast:
        broadcast(message.message.type, message.message.data,
                  options().broadcastToSender ? nullptr : c);
        return;
    case ServerOptions::Mode::Manual:
        return;
    }
}

void Server::Private::onOpened(ServerClient *c) {
    // The greeting first, then what is staged (a bad frame after 0 messages follows it).
    const auto staging = qScopeGuard([c] {
        if (!c->isEnding())
            c->startStaging();
    });
    switch (options().mode) {
    case ServerOptions::Mode::Greeting:
        if (const SendError result = c->sendStaged(Opcode::Text, options().greeting);
            result != SendError::None)
            log(QStringLiteral("%1: greeting not sent: %2")
                    .arg(who(c), QString::fromUtf8(sendErrorText(result))));
        return;
    case ServerOptions::Mode::Broadcast:
        notice("join", c->id());
        return;
    case ServerOptions::Mode::Echo:
    case ServerOptions::Mode::Manual:
        return;
    }
}

void Server::Private::onLeft(ServerClient *c) {
    if (options().mode == ServerOptions::Mode::Broadcast)
        notice("leave", c->id());
}

void Server::Private::broadcast(Opcode type, const QByteArray &data, const ServerClient *except) {
    const QList<ServerClient *> targets = clients;
    for (ServerClient *target : targets) {
        if (target == except || !target->m_announced || target->isEnding() ||
            target->state() != SessionState::Open)
            continue;
        // A client that cannot take it (closing) simply misses it. Sent as a view:
        // each copy's frame is then one piece in the socket's queue, which QTcpSocket
        // writes in one call per turn of the event loop, where a shared payload would
        // queue the header and the payload as two.
        const QByteArrayView view(data);
        if (target->m_misbehaviour.fragmentSize > 0) {
            static_cast<void>(target->sendStaged(type, view));
            continue;
        }
        static_cast<void>(target->sendThroughSession([&](Session &session, qint64 nowUs) {
            return type == Opcode::Binary ? session.sendBinary(view, nowUs)
                                          : session.sendText(view, nowUs);
        }));
    }
}

void Server::Private::notice(const char *event, quint64 id) {
    broadcast(Opcode::Text, QByteArray(R"({"event":")") + event + R"(","client":)" +
                                QByteArray::number(id) + '}');
}

} // namespace ws

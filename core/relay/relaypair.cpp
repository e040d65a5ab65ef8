#include "relay/relaypair.h"

#include "net/eventclock.h"
#include "net/oneshottimer.h"
#include "protocol/masking.h"
#include "relay/relayheaders.h"

#include <QTcpSocket>

namespace ws {

namespace {

// Below this a piece is copied as usual: a chunk of its own costs more than the copy.
constexpr qsizetype MinPieceInPlace = 4 * 1024;

// A run of whole frames on the direct path, from one leg to the other; false: they go
// one by one. As a piece, bytes in the read buffer go from there, masked afresh where
// they lie.
template <typename Source, typename Target>
bool forwardFrameRun(Source *source, Target *target, QByteArrayView wireFrames) {
    if (source->isInReadBuffer(wireFrames))
        return target->queueFrameRunInPlace(const_cast<char *>(wireFrames.data()),
                                            wireFrames.size(), source->lastReadUs());
    return target->queueFrameRun(wireFrames, source->lastReadUs());
}

} // namespace

RelayPair::RelayPair(quint64 id, RelayLeg *client, const RelayOptions &options, QUrl target,
                     QObject *parent)
    : QObject(parent)
    , m_id(id)
    , m_options(options)
    , m_target(std::move(target))
    , m_client(client) {
    client->setParent(this);
    client->setEventObserver([this](const SessionEvent &event) { onClientEvent(event); });
    client->setReportedHandler([this] { writeAfterBatch(RelayLegKind::Server); });
    connect(client, &Connection::finished, this, &RelayPair::onClientFinished);
}

RelayPair::~RelayPair() {
    // The legs are our children and outlive this body: nothing they report may reach
    // a half-destroyed pair.
    m_client->setEventObserver({});
    m_client->setReportedHandler({});
    if (m_server) {
        m_server->setEventObserver({});
        m_server->setReportedHandler({});
    }
}

void RelayPair::setLegEventSink(LegEventSink sink) {
    m_legEventSink = std::move(sink);
}

void RelayPair::setFrameRunSink(FrameRunSink sink) {
    m_frameRunSink = std::move(sink);
}

void RelayPair::reportLegEvent(RelayLegKind leg, const SessionEvent &event) {
    // Runs forwarded before this event came before it on the wire.
    if (!m_runs.empty())
        reportRuns(EventClock::nowUs());
    if (m_legEventSink)
        m_legEventSink(m_id, leg, event);
}

void RelayPair::timerEvent(QTimerEvent *event) {
    if (firedOnce(m_upstreamDeadline, event)) {
        onUpstreamDeadline();
        return;
    }
    for (const RelayLegKind to : {RelayLegKind::Client, RelayLegKind::Server}) {
        if (firedOnce(outbound(to).timer, event)) {
            flushOutbound(to);
            return;
        }
    }
    QObject::timerEvent(event);
}

void RelayPair::start() {
    m_client->start();
}

Connection *RelayPair::leg(RelayLegKind kind) const {
    if (kind == RelayLegKind::Client)
        return m_client;
    return m_server;
}

// --- the handshake -------------------------------------------------------------------

void RelayPair::startUpstream() {
    const ServerHandshake *handshake = m_client->session().serverHandshake();
    if (!handshake || m_server)
        return;
    const HttpRequest &request = handshake->request();
    ClientOptions o = m_options.upstream;
    QUrl url = m_target;
    const QByteArray resource =
        relayedResourceName(request.target, url.path(QUrl::FullyEncoded).toUtf8(),
                            url.query(QUrl::FullyEncoded).toUtf8());
    const qsizetype question = resource.indexOf('?');
    url.setPath(QString::fromUtf8(resource.left(question < 0 ? resource.size() : question)),
                QUrl::TolerantMode);
    if (question < 0)
        url.setQuery(QString());
    else
        url.setQuery(QString::fromUtf8(resource.mid(question + 1)), QUrl::TolerantMode);
    o.url = url;
    o.origin.clear();
    o.subprotocols = handshake->offeredSubprotocols();
    o.extraHeaders = endToEndRequestHeaders(request.headers);
    o.session = m_options.session;
    o.session.autoPong = false;        // pings are forwarded, the peer answers them
    o.session.autoCloseAnswer = false; // a close is answered with the client's answer
    o.session.reportFrames = true;
    o.deflate = m_options.serverDeflate;
    // The relay's own deadline (504) comes first; these only bound the rest.
    o.connectTimeoutMs = m_options.handshakeTimeoutMs + 1'000;
    o.handshakeTimeoutMs = m_options.handshakeTimeoutMs + 1'000;
    o.closeTimeoutMs = m_options.closeTimeoutMs;
    o.keepaliveIntervalMs = 0;
    o.pongDelayMs = 0;
    o.dropPings = false;
    o.echoMessages = false;
    m_server = new RelayUpstream(o, this);
    m_server->setEventObserver([this](const SessionEvent &event) { onServerEvent(event); });
    m_server->setReportedHandler([this] { writeAfterBatch(RelayLegKind::Client); });
    connect(m_server, &ClientConnection::errorOccurred, this, &RelayPair::onServerError);
    connect(m_server, &ClientConnection::logMessage, this,
            [this](const QString &line) { log(QStringLiteral("server leg: %1").arg(line)); });
    connect(m_server, &Connection::finished, this, &RelayPair::onServerFinished);
    m_client->stopHandshakeDeadline();
    if (m_options.handshakeTimeoutMs > 0)
        m_upstreamDeadline.start(m_options.handshakeTimeoutMs, this);
    m_server->open();
}

void RelayPair::acceptClient() {
    if (m_clientAnswered)
        return;
    m_upstreamDeadline.stop();
    m_clientAnswered = true;
    const ClientHandshake *handshake = m_server->session().clientHandshake();
    m_client->acceptUpgrade(handshake->subprotocol(),
                            endToEndResponseHeaders(handshake->responseHeaders()),
                            m_options.clientDeflate);
    // Frames keep their fragmentation only when both legs carry them as they are:
    // compressed fragments of one leg mean nothing on the other.
    m_frameByFrame = !m_server->deflate() && !m_client->deflate();
    if (m_frameByFrame && !m_options.observed && !isStaged(RelayLegKind::Server) &&
        !isStaged(RelayLegKind::Client))
        forwardDirectly();
    else if (m_frameByFrame && m_frameRunSink)
        forwardObservedRuns();
    const Session &session = m_client->session();
    emit clientAccepted(m_id, session.rawHandshakeRequest(), session.rawHandshakeResponse(),
                        handshake->subprotocol());
    m_client->deliverAnswer();
    announceFaults();
}

void RelayPair::refuseClient(const QByteArray &response, const QString &why) {
    if (m_clientAnswered)
        return;
    m_clientAnswered = true;
    m_upstreamDeadline.stop();
    log(why);
    m_client->answerHttp(response, why);
}

void RelayPair::refuseClientWith(int status, const QString &text) {
    const QByteArray response = ServerHandshake::httpResponse(
        status, {}, "text/plain; charset=utf-8", text.toUtf8() + '\n');
    refuseClient(response, text);
}

void RelayPair::onServerError(const QString &message) {
    m_serverError = message;
    if (m_clientAnswered)
        return;
    const ClientHandshake *handshake = m_server->session().clientHandshake();
    const int status = handshake ? handshake->statusCode() : 0;
    if (status >= 200 && status != 101) {
        // The upstream refused: the client hears exactly that (status, reason, its
        // end-to-end headers and body).
        const QByteArray response = ServerHandshake::httpResponse(
            status, handshake->reasonPhrase(), {}, handshake->responseBody(),
            endToEndResponseHeaders(handshake->responseHeaders()));
        refuseClient(response, QStringLiteral("the upstream refused the upgrade: %1 %2")
                                   .arg(status)
                                   .arg(QString::fromUtf8(handshake->reasonPhrase())));
        return;
    }
    refuseClientWith(
        502, QStringLiteral("relay: the upstream %1 failed: %2").arg(m_target.toString(), message));
}

void RelayPair::onUpstreamDeadline() {
    if (m_clientAnswered || !m_server)
        return;
    refuseClientWith(504, QStringLiteral("relay: the upstream %1 did not complete the opening "
                                         "handshake within %2 ms")
                              .arg(m_target.toString())
                              .arg(m_options.handshakeTimeoutMs));
    m_server->abort();
}

// --- events --------------------------------------------------------------------------

void RelayPair::onClientEvent(const SessionEvent &event) {
    reportLegEvent(RelayLegKind::Client, event);
    if (const auto *handshake = std::get_if<HandshakeEvent>(&event)) {
        switch (handshake->kind) {
        case HandshakeEvent::Kind::UpgradeRequested:
            startUpstream();
            break;
        case HandshakeEvent::Kind::PlainHttpRequest:
            m_clientAnswered = true;
            m_client->answerHttp(
                ServerHandshake::httpResponse(
                    426, {}, "text/plain; charset=utf-8",
                    QStringLiteral("This is a WebSocket relay to %1: only WebSocket upgrades "
                                   "are relayed.\n")
                        .arg(m_target.toString())
                        .toUtf8(),
                    [] {
                        HttpHeaders headers;
                        headers.add("Upgrade", "websocket");
                        return headers;
                    }()),
                QStringLiteral("plain HTTP request answered 426"));
            break;
        case HandshakeEvent::Kind::Failed:
            m_clientAnswered = true;
            log(QStringLiteral("client leg: opening handshake failed (%1): %2")
                    .arg(handshake->httpStatus)
                    .arg(handshake->error));
            break;
        case HandshakeEvent::Kind::ClientAccepted:
            break;
        }
    } else if (const auto *frame = std::get_if<FrameEvent>(&event)) {
        if (frame->direction == Direction::Incoming && m_frameByFrame)
            forwardFrame(RelayLegKind::Client, *frame);
    } else if (const auto *message = std::get_if<MessageEvent>(&event)) {
        if (message->direction == Direction::Incoming &&
            (!m_frameByFrame || wantsWholeMessage(RelayLegKind::Client)))
            forwardMessage(RelayLegKind::Client, *message);
    } else if (const auto *ping = std::get_if<PingEvent>(&event)) {
        forwardControl(RelayLegKind::Client, Opcode::Ping, ping->payload);
    } else if (const auto *pong = std::get_if<PongEvent>(&event)) {
        forwardControl(RelayLegKind::Client, Opcode::Pong, pong->payload);
    } else if (const auto *close = std::get_if<CloseEvent>(&event)) {
        forwardClose(RelayLegKind::Client, *close);
    } else if (const auto *violation = std::get_if<ViolationEvent>(&event)) {
        m_clientViolation = *violation;
    } else if (const auto *closed = std::get_if<ClosedEvent>(&event)) {
        legEnded(RelayLegKind::Client, *closed);
    }
}

void RelayPair::onServerEvent(const SessionEvent &event) {
    reportLegEvent(RelayLegKind::Server, event);
    if (const auto *handshake = std::get_if<HandshakeEvent>(&event)) {
        // Reported after our client accepted the extensions: deflate() is known.
        if (handshake->kind == HandshakeEvent::Kind::ClientAccepted)
            acceptClient();
    } else if (const auto *frame = std::get_if<FrameEvent>(&event)) {
        if (frame->direction == Direction::Incoming && m_frameByFrame)
            forwardFrame(RelayLegKind::Server, *frame);
    } else if (const auto *message = std::get_if<MessageEvent>(&event)) {
        if (message->direction == Direction::Incoming &&
            (!m_frameByFrame || wantsWholeMessage(RelayLegKind::Server)))
            forwardMessage(RelayLegKind::Server, *message);
    } else if (const auto *ping = std::get_if<PingEvent>(&event)) {
        forwardControl(RelayLegKind::Server, Opcode::Ping, ping->payload);
    } else if (const auto *pong = std::get_if<PongEvent>(&event)) {
        forwardControl(RelayLegKind::Server, Opcode::Pong, pong->payload);
    } else if (const auto *close = std::get_if<CloseEvent>(&event)) {
        forwardClose(RelayLegKind::Server, *close);
    } else if (const auto *violation = std::get_if<ViolationEvent>(&event)) {
        m_serverViolation = *violation;
    } else if (const auto *closed = std::get_if<ClosedEvent>(&event)) {
        legEnded(RelayLegKind::Server, *closed);
    }
}

// --- forwarding ----------------------------------------------------------------------

void RelayPair::checkSent(RelayLegKind to, SendError error) {
    // Refused only when that leg already sent its close (the peer's data after it
    // has nowhere to go) or is over: said, not fatal.
    if (error != SendError::None)
        log(QStringLiteral("%1 leg: not forwarded: %2")
                .arg(QLatin1StringView(relayLegName(to)), QString::fromUtf8(sendErrorText(error))));
}

void RelayPair::forwardFrame(RelayLegKind from, const FrameEvent &event) {
    if (takesWholeMessage(otherLeg(from), event))
        return;
    const FrameHeader &header = event.frame.header;
    if (header.op() != Opcode::Continuation && !isData(header.op()))
        return;
    // Queued on the other leg as the direct path queues (the payload shared: a client
    // leg masks its own copy, the logged frame keeps the unmasked bytes), and written
    // with the rest of the batch. Anything sent on that leg meanwhile (a pong, a
    // close, an injected message) writes the queued frames first, in order.
    QByteArray payload = event.frame.payload;
    forwardFrameView(from, header, payload, &payload);
    const RelayLegKind to = otherLeg(from);
    if (leg(from)->isReceiving())
        (to == RelayLegKind::Server ? m_serverWriteAfterBatch : m_clientWriteAfterBatch) = true;
    else
        writeForwardedLater(to); // a frame reported outside a read: one behind a 101
}

void RelayPair::forwardDirectly() {
    // Frames decoded before this (a client's early frames, an upstream's frames behind
    // its 101) are events already and go the usual way, first.
    m_client->setEventsWatched(false);
    m_server->setEventsWatched(false);
    m_client->setFrameSink(
        [this](const FrameHeader &header, QByteArrayView payload, QByteArray *buffer) {
            forwardFrameView(RelayLegKind::Client, header, payload, buffer);
        });
    m_server->setFrameSink(
        [this](const FrameHeader &header, QByteArrayView payload, QByteArray *buffer) {
            forwardFrameView(RelayLegKind::Server, header, payload, buffer);
        });
    m_client->setPieceSink(
        [this](const FrameHeader &header, quint64 offset, QByteArrayView wireBytes) {
            forwardFramePiece(RelayLegKind::Client, header, offset, wireBytes);
            return true;
        });
    m_server->setPieceSink(
        [this](const FrameHeader &header, quint64 offset, QByteArrayView wireBytes) {
            forwardFramePiece(RelayLegKind::Server, header, offset, wireBytes);
            return true;
        });
    // Runs of small whole frames go on in one piece; what a run cannot take goes frame
    // by frame above.
    m_client->setFrameRunSink([this](QByteArrayView wireFrames) {
        return forwardFrameRun(m_client, m_server, wireFrames);
    });
    m_server->setFrameRunSink([this](QByteArrayView wireFrames) {
        return forwardFrameRun(m_server, m_client, wireFrames);
    });
    m_client->setBatchHandler([this] { writeForwarded(RelayLegKind::Server); });
    m_server->setBatchHandler([this] { writeForwarded(RelayLegKind::Client); });
}

void RelayPair::forwardObservedRuns() {
    m_client->setFrameRunSink([this](QByteArrayView wireFrames) {
        return forwardObservedRun(RelayLegKind::Client, wireFrames);
    });
    m_server->setFrameRunSink([this](QByteArrayView wireFrames) {
        return forwardObservedRun(RelayLegKind::Server, wireFrames);
    });
    m_client->setPieceSink(
        [this](const FrameHeader &header, quint64 offset, QByteArrayView wireBytes) {
            return forwardObservedPiece(RelayLegKind::Client, header, offset, wireBytes);
        });
    m_server->setPieceSink(
        [this](const FrameHeader &header, quint64 offset, QByteArrayView wireBytes) {
            return forwardObservedPiece(RelayLegKind::Server, header, offset, wireBytes);
        });
}

bool RelayPair::forwardObservedRun(RelayLegKind from, QByteArrayView wireFrames) {
    const RelayLegKind to = otherLeg(from);
    Outbound &out = outbound(to);
    // Intercept, faults and what waits to go out need each message as an event.
    if (!m_frameRunSink || isStaged(to) || !out.queue.empty())
        return false;
    const qint64 readUs = leg(from)->lastReadUs();
    QByteArrayView sent;
    const bool queued = to == RelayLegKind::Server
                            ? m_server && m_server->queueFrameRun(wireFrames, readUs, &sent)
                            : m_client->queueFrameRun(wireFrames, readUs, &sent);
    if (!queued)
        return false;
    // Whole messages, forwarded as they came (see takesWholeMessage()).
    out.wholeMessages = false;
    out.midFragment = false;
    // Toward the client the bytes go on as they came (a server masks nothing).
    QByteArray received = wireFrames.toByteArray();
    QByteArray sentBytes = to == RelayLegKind::Client ? received : sent.toByteArray();
    m_runs.push_back(RelayedRun{.from = from,
                                .received = std::move(received),
                                .sent = std::move(sentBytes),
                                .readUs = readUs});
    // Written with the rest of the batch (the leg's reported handler).
    (to == RelayLegKind::Server ? m_serverWriteAfterBatch : m_clientWriteAfterBatch) = true;
    return true;
}

bool RelayPair::forwardObservedPiece(RelayLegKind from, const FrameHeader &header, quint64 offset,
                                     QByteArrayView wireBytes) {
    const RelayLegKind to = otherLeg(from);
    RelayedRun &message = m_inPieces[from == RelayLegKind::Server ? 1 : 0];
    const qint64 readUs = leg(from)->lastReadUs();
    const auto queuePiece = [&](FrameHeader *sent) {
        if (to == RelayLegKind::Client)
            return m_client->queueDataPiece(header, offset, wireBytes, readUs, sent);
        return m_server ? m_server->queueDataPiece(header, offset, wireBytes, readUs, sent)
                        : SendError::NotOpen;
    };
    if (offset == 0) {
        // As a run: intercept, faults and what waits to go out need an event.
        FrameHeader sent;
        if (!m_frameRunSink || isStaged(to) || !outbound(to).queue.empty() ||
            queuePiece(&sent) != SendError::None)
            return false;
        outbound(to).wholeMessages = false;
        outbound(to).midFragment = false;
        message.from = from;
        message.inPieces = true;
        message.receivedHeader = header;
        message.sentHeader = sent;
        // Within the message size limit: the decoder checked the header.
        message.payload = QByteArray(qsizetype(header.payloadLength), Qt::Uninitialized);
    } else {
        // Refused only once the other leg is closing: its transport closes mid-frame,
        // and the rest has nowhere to go.
        (void)queuePiece(nullptr);
    }
    // Gathered for the log while the bytes are still in the cache.
    char *gathered = message.payload.data() + offset;
    if (header.maskingKey)
        copyWithMask(gathered, wireBytes.data(), wireBytes.size(), *header.maskingKey, offset);
    else
        std::memcpy(gathered, wireBytes.data(), size_t(wireBytes.size()));
    if (offset + quint64(wireBytes.size()) == header.payloadLength) {
        message.readUs = readUs;
        m_runs.push_back(std::move(message));
        message = RelayedRun{};
        // What was injected meanwhile goes now.
        if (!outbound(to).queue.empty())
            postFlush(to);
    }
    (to == RelayLegKind::Server ? m_serverWriteAfterBatch : m_clientWriteAfterBatch) = true;
    return true;
}

void RelayPair::reportRuns(qint64 nowUs) {
    // Taken first: the sink may report events, which come back here.
    std::vector<RelayedRun> runs;
    runs.swap(m_runs);
    for (RelayedRun &run : runs) {
        run.writtenUs = nowUs;
        if (m_frameRunSink)
            m_frameRunSink(m_id, run);
    }
}

void RelayPair::forwardFrameView(RelayLegKind from, const FrameHeader &header,
                                 QByteArrayView payload, QByteArray *buffer) {
    const RelayLegKind to = otherLeg(from);
    checkSent(to, to == RelayLegKind::Server
                      ? m_server->queueDataFrame(header, payload, buffer, m_client->lastReadUs())
                      : m_client->queueDataFrame(header, payload, buffer, m_server->lastReadUs()));
}

void RelayPair::forwardFramePiece(RelayLegKind from, const FrameHeader &header, quint64 offset,
                                  QByteArrayView wireBytes) {
    const RelayLegKind to = otherLeg(from);
    // Nobody watches this pair, so nobody reads the piece's bytes again: in the read
    // buffer they are masked afresh where they lie and written from there, without a
    // copy (what the kernel does not take at once is copied then).
    const auto forward = [&](auto *source, auto *target) {
        if (wireBytes.size() >= MinPieceInPlace && source->isInReadBuffer(wireBytes))
            return target->queueDataPieceInPlace(header, offset,
                                                 const_cast<char *>(wireBytes.data()),
                                                 wireBytes.size(), source->lastReadUs());
        return target->queueDataPiece(header, offset, wireBytes, source->lastReadUs());
    };
    const SendError error =
        to == RelayLegKind::Server ? forward(m_client, m_server) : forward(m_server, m_client);
    // The later pieces of a refused frame are refused alike: said once.
    if (offset == 0)
        checkSent(to, error);
}

void RelayPair::writeForwardedLater(RelayLegKind to) {
    bool &pending = to == RelayLegKind::Server ? m_serverWritePending : m_clientWritePending;
    if (pending)
        return;
    pending = true;
    QMetaObject::invokeMethod(
        this,
        [this, to] {
            (to == RelayLegKind::Server ? m_serverWritePending : m_clientWritePending) = false;
            writeForwarded(to);
        },
        Qt::QueuedConnection);
}

void RelayPair::writeAfterBatch(RelayLegKind to) {
    bool &due = to == RelayLegKind::Server ? m_serverWriteAfterBatch : m_clientWriteAfterBatch;
    if (!due)
        return;
    due = false;
    writeForwarded(to);
    if (!m_runs.empty())
        reportRuns(EventClock::nowUs());
}

void RelayPair::writeForwarded(RelayLegKind to) {
    if (to == RelayLegKind::Server) {
        if (!m_server->isFinished())
            m_server->writeQueued();
    } else if (!m_client->isFinished()) {
        m_client->writeQueued();
    }
    applyBackPressure(to);
}

void RelayPair::forwardMessage(RelayLegKind from, const MessageEvent &event) {
    const RelayLegKind to = otherLeg(from);
    if (stageMessage(to, event.message.type, event.message.data))
        return;
    Connection *target = leg(to);
    const DecodedMessage &message = event.message;
    checkSent(to, message.type == Opcode::Text ? target->sendText(message.data)
                                               : target->sendBinary(message.data));
    applyBackPressure(to);
}

void RelayPair::forwardControl(RelayLegKind from, Opcode opcode, const QByteArray &payload) {
    const RelayLegKind to = otherLeg(from);
    if (stageMessage(to, opcode, payload))
        return;
    Connection *target = leg(to);
    if (!target || target->isFinished())
        return;
    checkSent(to, opcode == Opcode::Ping ? target->sendPing(payload) : target->sendPong(payload));
}

void RelayPair::forwardClose(RelayLegKind from, const CloseEvent &event) {
    const RelayLegKind to = otherLeg(from);
    if (stageClose(to, event))
        return;
    Connection *target = leg(to);
    // Either the close goes on to the other leg, or it answers the one that came
    // from there, whose peer waits for it. Once that leg has sent its close there
    // is nothing more to say on it.
    if (!target || target->isFinished() || target->session().closeSent())
        return;
    checkSent(to, target->sendClose(event.code, event.reason));
}

void RelayPair::legEnded(RelayLegKind ended, const ClosedEvent &closed) {
    const RelayLegKind to = otherLeg(ended);
    setPaused(to, false);
    discardOutbound(
        ended, QStringLiteral("the %1 leg is over").arg(QLatin1StringView(relayLegName(ended))));
    Connection *other = leg(to);
    if (!other || other->isFinished())
        return;
    // What waits for the other leg goes first: its end follows them.
    if (!outbound(to).queue.empty()) {
        outbound(to).endAfterQueue = closed;
        return;
    }
    if (other->state() == SessionState::Connecting) {
        // The client left while the upstream was being asked: nobody to answer.
        if (to == RelayLegKind::Server)
            m_server->abort();
        return;
    }
    // Open, or Closing with the peer's close waiting for the answer this leg's end
    // decides.
    if (other->session().closeSent() || other->state() == SessionState::Closed)
        return;
    const QString legName = QLatin1StringView(relayLegName(ended));
    const std::optional<ViolationEvent> &violation =
        ended == RelayLegKind::Client ? m_clientViolation : m_serverViolation;
    if (violation) {
        closeLeg(to, toWire(CloseCode::InternalError),
                 QStringLiteral("relay: %1 leg failed with %2: %3")
                     .arg(legName)
                     .arg(toWire(violation->violation.closeCode()))
                     .arg(violation->violation.reason));
    } else if (closed.clean && isValidOnWire(closed.code)) {
        closeLeg(to, closed.code, closed.reason);
    } else {
        closeLeg(to, toWire(CloseCode::InternalError),
                 QStringLiteral("relay: %1 leg ended without a close handshake: %2")
                     .arg(legName, closed.reason));
    }
}

void RelayPair::closeLeg(RelayLegKind kind, quint16 code, const QString &reason) {
    Connection *target = leg(kind);
    if (!target || target->isFinished() || target->session().closeSent() ||
        (target->state() != SessionState::Open && target->state() != SessionState::Closing))
        return;
    const QString text = relayCloseReason(reason);
    if (target->session().isSendingPieces()) {
        // RFC 6455 §5.4: no close frame can follow a frame cut short; the session
        // closes the transport instead.
        log(QStringLiteral("%1 leg: a frame was cut short by the other leg's end: closing the "
                           "connection without a close frame (%2 %3)")
                .arg(QLatin1StringView(relayLegName(kind)))
                .arg(code)
                .arg(text));
    } else {
        log(QStringLiteral("%1 leg: closing with %2 %3")
                .arg(QLatin1StringView(relayLegName(kind)))
                .arg(code)
                .arg(text));
    }
    checkSent(kind, target->sendClose(code, text));
}

// --- back-pressure -------------------------------------------------------------------

void RelayPair::applyBackPressure(RelayLegKind to) {
    Connection *target = leg(to);
    const qint64 limit = m_options.sendQueueLimit;
    if (!target || target->isFinished() || limit <= 0 || target->pendingBytes() <= limit)
        return;
    if (target->isWatchingWritten())
        return;
    setPaused(otherLeg(to), true);
    target->watchWritten([this, to] { onDrained(to); });
}

void RelayPair::onDrained(RelayLegKind to) {
    Connection *target = leg(to);
    if (target && !target->isFinished() && target->pendingBytes() > m_options.sendQueueLimit / 2)
        return;
    if (target)
        target->unwatchWritten();
    setPaused(otherLeg(to), false);
}

void RelayPair::setPaused(RelayLegKind kind, bool paused) {
    m_sendQueuePaused[kind == RelayLegKind::Server ? 1 : 0] = paused;
    applyPaused(kind);
}

void RelayPair::applyPaused(RelayLegKind kind) {
    // Two reasons not to read a leg: the other leg's send queue is full, or the
    // messages kept back in the other leg's direction are over the limit.
    const bool paused = m_sendQueuePaused[kind == RelayLegKind::Server ? 1 : 0] ||
                        outbound(otherLeg(kind)).readPaused;
    if (kind == RelayLegKind::Client)
        m_client->setReadingPaused(paused);
    else if (m_server)
        m_server->setReadingPaused(paused);
}

// --- the end -------------------------------------------------------------------------

void RelayPair::onClientFinished() {
    m_clientDone = true;
    if (m_server && !m_server->isFinished() && m_server->state() == SessionState::Connecting)
        m_server->abort();
    checkFinished();
}

void RelayPair::onServerFinished() {
    m_serverDone = true;
    if (!m_clientAnswered)
        refuseClientWith(
            502, QStringLiteral("relay: the upstream %1 failed: %2")
                     .arg(m_target.toString(), m_serverError.isEmpty()
                                                   ? QStringLiteral("it closed before answering")
                                                   : m_serverError));
    checkFinished();
}

void RelayPair::shutdown() {
    if (!m_clientAnswered && m_client->state() == SessionState::Connecting) {
        if (m_server)
            m_server->abort();
        m_client->abort();
        return;
    }
    discardOutbound(RelayLegKind::Client, QStringLiteral("the relay is stopping"));
    discardOutbound(RelayLegKind::Server, QStringLiteral("the relay is stopping"));
    closeLeg(RelayLegKind::Client, toWire(CloseCode::GoingAway), QStringLiteral("relay stopping"));
    closeLeg(RelayLegKind::Server, toWire(CloseCode::GoingAway), QStringLiteral("relay stopping"));
}

void RelayPair::checkFinished() {
    if (m_finishedEmitted || !isFinished())
        return;
    m_finishedEmitted = true;
    emit finished(this);
}

} // namespace ws

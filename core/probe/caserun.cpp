#include "probe/caserun.h"

#include "net/socketio.h"
#include "probe/probesocket.h"

#include <QRandomGenerator>
#include <QTcpSocket>

#include <cerrno>
#include <poll.h>
#include <sys/socket.h>

namespace ws::probe {

namespace {

constexpr quint32 LogConnection = 1;

quint32 randomKey() {
    return QRandomGenerator::system()->generate();
}

// As the fuzzing server: what a case's client offer asks of a server, we ask of the
// client (Autobahn's fuzzingserver accepts with requestNoContextTakeover and
// requestMaxWindowBits; the RFC lets a server ask client_max_window_bits only of an
// offer that names it, RFC 7692 §7.1.2.2).
DeflateConfig askedOfClient(const DeflateConfig &offer) {
    DeflateConfig server;
    server.clientNoContextTakeover = offer.serverNoContextTakeover;
    server.clientMaxWindowBits = offer.serverMaxWindowBits;
    return server;
}

// How we compress in a case: zlib's fastest level. The cases judge the peer's
// inflater and compressor, and any valid DEFLATE stream tests its inflater as well;
// level 1 takes about half the time of the default for the 12.* and 13.* round trips.
DeflateConfig probeCompression(DeflateConfig config) {
    config.compressionLevel = 1;
    return config;
}

} // namespace

CaseRun::CaseRun(ProbeCase probeCase, RunOptions options, QObject *parent)
    : Connection(EventReporting::On, parent)
    , m_case(std::move(probeCase))
    , m_options(std::move(options)) {
    const WebSocketUrl &url = m_options.target;
    ClientHandshakeOptions handshake;
    handshake.host = url.hostHeader;
    handshake.port = url.port;
    handshake.resourceName = url.resourceName;
    if (m_case.deflate) {
        if (m_case.deflateOffers.isEmpty())
            handshake.extensions.append(deflateOffer(*m_case.deflate));
        else
            handshake.extensions += m_case.deflateOffers;
    }
    m_offered = handshake.extensions;
    SessionOptions session;
    session.maxMessageSize = 256 * 1024 * 1024;
    setSession(std::make_unique<Session>(handshake, session));
    setUp();
    setUpTimers();
    m_result.log->setConnectionInfo(
        LogConnection, {QStringLiteral("case %1").arg(m_case.id),
                        QStringLiteral("%1://%2:%3%4")
                            .arg(url.secure ? u"wss" : u"ws", QString::fromLatin1(url.hostHeader))
                            .arg(url.port)
                            .arg(QString::fromLatin1(url.resourceName))});
}

CaseRun::CaseRun(QTcpSocket *accepted, ServerRouter router, RunOptions options, QObject *parent)
    : Connection(EventReporting::On, parent)
    , m_options(std::move(options))
    , m_router(std::move(router))
    , m_server(true) {
    SessionOptions session;
    session.maxMessageSize = 256 * 1024 * 1024;
    setSession(std::make_unique<Session>(session));
    setUp();
    setUpTimers();
    m_result.startedUs = nowUs();
    m_watchdog.start(m_options.caseTimeoutMs);
    m_tcp = accepted;
    m_tcp->setParent(this);
    attachSocket(m_tcp);
    m_connected = true;
    m_tcp->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    connect(m_tcp, &QTcpSocket::readyRead, this, [this] { receive(); });
    connect(m_tcp, &QTcpSocket::disconnected, this, &CaseRun::onDisconnected);
    connect(m_tcp, &QTcpSocket::errorOccurred, this, &CaseRun::onSocketError);
    QMetaObject::invokeMethod(
        this, [this] { receive(); }, Qt::QueuedConnection);
}

void CaseRun::setUp() {
    m_result.id = m_case.id;
    m_result.description = m_case.description;
    m_result.expectation = m_case.expectation;
    m_result.rfc = m_case.rfc;
    m_result.expected = m_case.expected;
    m_result.expectedClose = m_case.expectedClose;
    m_result.isServer = m_server;
    if (!m_result.log) {
        m_result.log = std::make_shared<log::LogStore>();
        m_result.log->setTimeOrdered(false);
    }
}

void CaseRun::setUpTimers() {
    for (QTimer *timer :
         {&m_stepTimer, &m_killTimer, &m_closeAfterTimer, &m_watchdog, &m_tcpCloseTimer})
        timer->setSingleShot(true);
    connect(&m_stepTimer, &QTimer::timeout, this, [this] {
        m_waiting = false;
        m_waitForCount = -1;
        if (isEnding())
            return;
        if (state() != SessionState::Open)
            return; // the script stops once the connection is going
        if (!m_waitLabel.isEmpty())
            m_result.received.append(Observation::timeout(m_waitLabel));
        runSteps();
    });
    connect(&m_killTimer, &QTimer::timeout, this,
            [this] { kill(QStringLiteral("the case's kill timer ran out")); });
    connect(&m_closeAfterTimer, &QTimer::timeout, this, [this] { startClose(1000); });
    connect(&m_watchdog, &QTimer::timeout, this, [this] {
        kill(QStringLiteral("the case did not end within %1 ms").arg(m_watchdog.interval()));
    });
    connect(&m_tcpCloseTimer, &QTimer::timeout, this, [this] {
        kill(QStringLiteral("the server did not close TCP within %1 ms of the close handshake "
                            "(RFC 6455 §7.1.1)")
                 .arg(m_options.closeTimeoutMs));
    });
}

CaseRun::~CaseRun() = default;

int CaseRun::scaled(int ms) const {
    return std::max(1, int(ms * m_options.waitScale));
}

void CaseRun::start() {
    m_result.startedUs = nowUs();
    m_watchdog.start(m_case.timeoutMs > 0 ? m_case.timeoutMs : m_options.caseTimeoutMs);
    m_tcp = openProbeSocket(
        m_options, this, true, [this] { onConnected(); },
        [this](const QString &why) { onConnectFailed(why); });
    attachSocket(m_tcp);
    connect(m_tcp, &QTcpSocket::readyRead, this, [this] { receive(); });
    connect(m_tcp, &QTcpSocket::disconnected, this, &CaseRun::onDisconnected);
    connect(m_tcp, &QTcpSocket::errorOccurred, this, &CaseRun::onSocketError);
}

void CaseRun::onConnectFailed(const QString &why) {
    if (isEnding())
        return;
    m_result.failure = QStringLiteral("Could not connect to %1:%2: %3")
                           .arg(m_options.target.host)
                           .arg(m_options.target.port)
                           .arg(why);
    drop(m_result.failure);
}

void CaseRun::onConnected() {
    if (isEnding())
        return;
    m_connected = true;
    m_tcp->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    mutableSession().start(nowUs());
    pump();
    flush();
}

void CaseRun::onSocketError() {
    if (isEnding() || !m_connected)
        return; // before the stream is up: onConnectFailed()
    // A reset found by a write leaves the socket closed without a disconnected() or
    // a read that ends: check from the event loop, after what the read side reports.
    QTimer::singleShot(0, this, [this] {
        if (!isEnding() && m_tcp->state() == QAbstractSocket::UnconnectedState)
            onDisconnected();
    });
}

void CaseRun::transportEnded() {
    QMetaObject::invokeMethod(this, &CaseRun::onDisconnected, Qt::QueuedConnection);
}

bool CaseRun::afterReceive() {
    checkSocketGone();
    return true;
}

void CaseRun::checkSocketGone() {
    // A write that met a closed connection (EPIPE: the server closed while our close
    // reply was on its way) leaves QTcpSocket with an error, or closed, and no signal:
    // no read will report the end either.
    if (!isEnding() && m_connected && m_tcp &&
        (m_tcp->state() == QAbstractSocket::UnconnectedState ||
         m_tcp->error() != QAbstractSocket::UnknownSocketError))
        QMetaObject::invokeMethod(this, &CaseRun::onDisconnected, Qt::QueuedConnection);
}

void CaseRun::onDisconnected() {
    if (isEnding())
        return;
    m_tcpEnded = true;
    // We closed TCP ourselves when we failed the connection (the session asked for it).
    if (isTransportClosing() && !session().closeReceived())
        m_result.droppedByMe = true;
    if (m_handshakeDoneUs >= 0)
        m_result.tcpCloseAfterHandshakeMs = (nowUs() - m_handshakeDoneUs) / 1000;
    receiveEof();
    if (!isEnding())
        finish();
}

void CaseRun::abort() {
    kill(QStringLiteral("the run was stopped"));
}

void CaseRun::kill(const QString &why) {
    if (isEnding())
        return;
    m_result.droppedByMe = true;
    logNote(QStringLiteral("we drop the TCP connection: %1").arg(why));
    if (m_result.failure.isEmpty() && !m_tcpCloseTimer.isActive() &&
        state() != SessionState::Closed)
        m_result.failure = why;
    drop(why);
}

void CaseRun::startClose(quint16 code) {
    if (isEnding() || state() != SessionState::Open)
        return;
    noteOurClose();
    static_cast<void>(sendClose(code)); // refused only when not open, checked above
}

void CaseRun::noteOurClose() {
    if (!m_remoteCloseSeen && !m_ourCloseSeen) {
        m_ourCloseSeen = true;
        m_result.closedByMe = true;
    }
}

bool CaseRun::admitEvent(const SessionEvent &event) {
    const auto *handshake = std::get_if<HandshakeEvent>(&event);
    if (!handshake || handshake->kind != HandshakeEvent::Kind::ClientAccepted)
        return true;
    DeflateConfig config = m_case.deflate.value_or(DeflateConfig{.policy = DeflatePolicy::Refuse});
    DeflateNegotiation negotiation =
        negotiateDeflateClient(m_offered, handshake->extensions, config);
    if (!negotiation.ok() && m_case.deflate) {
        // A server whose zlib cannot compress with an 8-bit window answers
        // server_max_window_bits=9 to an offer of 8: larger than offered (RFC 7692
        // §7.1.2.1), but Autobahn's client takes any well-formed answer, and so do we
        // here, noting it; inflating with a 32 KiB window reads it either way.
        QList<ExtensionParams> unbounded = m_offered;
        for (ExtensionParams &offer : unbounded)
            offer.params.removeIf([](const ExtensionParams::Param &param) {
                return param.name.compare("server_max_window_bits", Qt::CaseInsensitive) == 0;
            });
        const DeflateNegotiation relaxed =
            negotiateDeflateClient(unbounded, handshake->extensions, config);
        if (relaxed.ok() && relaxed.params) {
            logNote(QStringLiteral("permessage-deflate accepted as Autobahn does, although %1")
                        .arg(negotiation.error));
            m_deflateNote = negotiation.error;
            negotiation = relaxed;
        }
    }
    if (!negotiation.ok()) {
        m_result.failure =
            QStringLiteral("The server's permessage-deflate answer is not acceptable: %1")
                .arg(negotiation.error);
        logEvent(event);
        drop(m_result.failure);
        return false;
    }
    PerMessageDeflate *deflate = nullptr;
    if (negotiation.params)
        deflate = setDeflate(std::make_unique<PerMessageDeflate>(Role::Client, *negotiation.params,
                                                                 probeCompression(config)));
    mutableSession().setExtension(deflate);
    return true;
}

void CaseRun::logEvent(const SessionEvent &event) {
    if (!m_wirelog) {
        // Like Autobahn's wire log switched off for round trips: data stays out.
        if (std::holds_alternative<MessageEvent>(event))
            return;
        if (const auto *frame = std::get_if<FrameEvent>(&event)) {
            if (!isControl(frame->frame.header.op()))
                return;
        }
    }
    m_result.log->append(LogConnection, event);
}

void CaseRun::logNote(const QString &text) {
    m_result.log->commitPending();
    m_result.log->appendRecord(
        log::connectionNoteRecord(LogConnection, EventClock::toEpochUs(nowUs()), text));
}

void CaseRun::handleEvent(SessionEvent &event) {
    logEvent(event);
    if (const auto *frame = std::get_if<FrameEvent>(&event)) {
        const int opcode = int(frame->frame.header.opcode);
        const qint64 size = frame->frame.rawHeader.size + frame->frame.payload.size();
        if (frame->direction == Direction::Outgoing) {
            ++m_result.txFrameStats[opcode];
            m_result.txOctets += size;
            if (frame->frame.header.op() == Opcode::Close && !m_result.localCloseCode) {
                m_result.localCloseCode = frame->frame.closeCode;
                m_result.localCloseReason = frame->frame.closeReason;
            }
        } else {
            ++m_result.rxFrameStats[opcode];
            m_result.rxOctets += size;
        }
    } else if (const auto *upgrade = std::get_if<HandshakeEvent>(&event);
               upgrade && upgrade->kind == HandshakeEvent::Kind::UpgradeRequested) {
        m_result.httpRequest = upgrade->rawRequest;
        QMetaObject::invokeMethod(this, &CaseRun::route, Qt::QueuedConnection);
    } else if (const auto *handshake = std::get_if<HandshakeEvent>(&event)) {
        m_result.httpRequest = handshake->rawRequest;
        m_result.httpResponse = handshake->rawResponse;
        if (handshake->kind == HandshakeEvent::Kind::ClientAccepted) {
            m_result.wasOpen = true;
            m_result.deflateNegotiated = deflate() != nullptr;
            if (m_case.deflate && !m_result.deflateNegotiated) {
                // Autobahn: a server without permessage-deflate is UNIMPLEMENTED there.
                logNote(QStringLiteral("the server did not accept permessage-deflate"));
                QMetaObject::invokeMethod(
                    this, [this] { startClose(1000); }, Qt::QueuedConnection);
                return;
            }
            QMetaObject::invokeMethod(this, &CaseRun::runSteps, Qt::QueuedConnection);
        } else if (handshake->kind == HandshakeEvent::Kind::Failed) {
            m_result.failure =
                QStringLiteral("The opening handshake failed: %1").arg(handshake->error);
        }
    } else if (const auto *message = std::get_if<MessageEvent>(&event)) {
        if (message->direction != Direction::Incoming)
            return;
        const bool binary = message->message.type == Opcode::Binary;
        if (m_roundTrips) {
            const bool same = binary == (m_roundTrips->type == Opcode::Binary) &&
                              message->message.data == m_roundTripExpected;
            if (!same) {
                m_result.behavior = Verdict::Failed;
                m_result.result =
                    QStringLiteral("Echo'ed message %1 differs from what was sent (got %2 %3 "
                                   "bytes, expected %4 %5 bytes).")
                        .arg(m_roundTripIndex)
                        .arg(binary ? u"binary" : u"text")
                        .arg(message->message.data.size())
                        .arg(m_roundTrips->type == Opcode::Binary ? u"binary" : u"text")
                        .arg(m_roundTripExpected.size());
                m_roundTrips.reset();
                m_wirelog = true;
                startClose(1000);
                return;
            }
            ++m_roundTripIndex;
            if (m_roundTripIndex < m_roundTrips->count) {
                sendNextRoundTrip();
            } else {
                m_result.behavior = Verdict::Ok;
                m_result.result = QStringLiteral("Ok, received all echo'ed messages in time.");
                if (!m_deflateNote.isEmpty())
                    m_result.result += QStringLiteral(" The permessage-deflate answer was "
                                                      "taken as Autobahn takes it, although %1.")
                                           .arg(m_deflateNote);
                m_roundTrips.reset();
                m_wirelog = true;
                startClose(1000);
            }
            return;
        }
        observe(Observation::message(message->message.data, binary));
    } else if (const auto *ping = std::get_if<PingEvent>(&event)) {
        observe(Observation::ping(ping->payload));
    } else if (const auto *pong = std::get_if<PongEvent>(&event)) {
        observe(Observation::pong(pong->payload));
    } else if (const auto *close = std::get_if<CloseEvent>(&event)) {
        if (!m_remoteCloseSeen) {
            m_remoteCloseSeen = true;
            m_ourCloseSeen = true; // whoever was first, it is decided
            m_result.remoteCloseCode = close->code;
            m_result.remoteCloseReason = close->reason;
        }
    } else if (std::holds_alternative<ViolationEvent>(event)) {
        noteOurClose(); // we fail the connection: our close goes first
    } else if (const auto *closed = std::get_if<ClosedEvent>(&event)) {
        m_result.wasClean = closed->clean;
        m_stepTimer.stop();
        m_closeAfterTimer.stop();
        if (closed->clean && !m_tcpEnded && !m_server) {
            // RFC 6455 §7.1.1: the server closes TCP first; we wait for it, bounded.
            m_handshakeDoneUs = nowUs();
            if (m_tcp && m_tcp->state() == QAbstractSocket::ConnectedState)
                m_tcpCloseTimer.start(m_options.closeTimeoutMs);
        }
    }
}

void CaseRun::route() {
    if (isEnding() || !session().serverHandshake())
        return;
    const ServerRoute route = m_router(session().serverHandshake()->request().target);
    Session &session = mutableSession();
    if (!route.probeCase && !route.reply) {
        session.reject(404, "Not Found", nowUs());
    } else {
        if (route.probeCase) {
            m_case = *route.probeCase;
            if (m_case.prepare)
                m_case.prepare(m_case);
            m_agent = route.agent;
            m_isCase = true;
            setUp();
            m_result.log->setConnectionInfo(
                LogConnection, {QStringLiteral("case %1, agent %2").arg(m_case.id, m_agent), {}});
            if (m_case.timeoutMs > 0)
                m_watchdog.start(m_case.timeoutMs);
        }
        const DeflateNegotiation negotiation =
            route.probeCase && m_case.deflate
                ? negotiateDeflateServer(session.serverHandshake()->offeredExtensions(),
                                         askedOfClient(*m_case.deflate))
                : DeflateNegotiation{};
        if (negotiation.params) {
            m_result.deflateNegotiated = true;
            session.accept({}, {negotiation.response},
                           setDeflate(std::make_unique<PerMessageDeflate>(
                               Role::Server, *negotiation.params,
                               probeCompression(askedOfClient(*m_case.deflate)))),
                           nowUs());
        } else {
            session.accept({}, {}, nullptr, nowUs());
        }
        m_result.httpResponse = session.rawHandshakeResponse();
        m_result.wasOpen = true;
    }
    writeOutgoing();
    pump();
    flush();
    if (isEnding() || state() != SessionState::Open)
        return;
    if (route.probeCase && m_case.deflate && !m_result.deflateNegotiated) {
        // Autobahn: a client without permessage-deflate is UNIMPLEMENTED there.
        logNote(QStringLiteral("the client did not offer permessage-deflate"));
        startClose(1000);
    } else if (route.probeCase) {
        runSteps();
    } else {
        if (!route.reply->isEmpty())
            static_cast<void>(sendText(*route.reply));
        startClose(1000);
    }
}

void CaseRun::observe(const Observation &observation) {
    m_result.received.append(observation);
    if (m_waitForCount >= 0 && m_result.received.size() >= m_waitForCount) {
        m_waitForCount = -1;
        m_waiting = false;
        m_stepTimer.stop();
        QMetaObject::invokeMethod(this, &CaseRun::runSteps, Qt::QueuedConnection);
    }
    finishWhenDone();
}

void CaseRun::finishWhenDone() {
    // Autobahn's finishWhenDone: once what came matches an expected outcome, we close.
    for (const auto &[verdict, observations] : m_case.expected) {
        if (m_result.received == observations) {
            if (m_case.expectedClose.closedByMe && !m_case.suppressClose)
                startClose(m_case.expectedClose.codes.value(0, 1000));
            return;
        }
    }
}

void CaseRun::runSteps() {
    while (!isEnding() && !m_waiting && m_nextStep < m_case.steps.size()) {
        if (state() == SessionState::Closed || !m_connected)
            return;
        runStep(m_case.steps.at(m_nextStep++));
    }
}

void CaseRun::runStep(const Step &step) {
    if (const auto *send = std::get_if<SendFrames>(&step)) {
        sendFrames(send->frames, send->chop);
    } else if (const auto *part = std::get_if<SendFramePart>(&step)) {
        RawFrame whole = part->frame;
        if (m_server)
            whole.maskingKey.reset();
        QByteArray bytes;
        const FrameHeader header = FrameEncoder::encodeRaw(bytes, whole);
        const qint64 headerSize = bytes.size() - part->frame.payload.size();
        const qint64 to = part->to < 0 ? part->frame.payload.size() : part->to;
        const qint64 from = part->from == 0 ? 0 : headerSize + part->from;
        if (part->from == 0) {
            // The log shows the frame once, whole, at its first bytes.
            FrameEvent event;
            event.direction = Direction::Outgoing;
            event.timestampUs = event.queuedUs = nowUs();
            event.frame.header = header;
            event.frame.rawHeader = serializeHeader(header);
            event.frame.payload = part->frame.payload;
            logEvent(event);
            ++m_result.txFrameStats[int(header.opcode)];
        }
        m_result.txOctets += headerSize + to - from;
        logNote(QStringLiteral("sent bytes %1..%2 of the frame (payload bytes %3..%4 of %5)")
                    .arg(from)
                    .arg(headerSize + to)
                    .arg(part->from)
                    .arg(to)
                    .arg(part->frame.payload.size()));
        writeToSocket(m_tcp, bytes.mid(from, headerSize + to - from));
    } else if (const auto *message = std::get_if<SendMessage>(&step)) {
        if (state() != SessionState::Open)
            return;
        static_cast<void>(message->type == Opcode::Binary
                              ? sendBinary(message->payload, message->fragmentSize)
                              : sendText(message->payload, message->fragmentSize));
    } else if (const auto *close = std::get_if<SendClose>(&step)) {
        RawFrame frame;
        frame.opcode = quint8(Opcode::Close);
        frame.payload = close->payload ? *close->payload
                                       : FrameEncoder::closePayload(close->code, close->reason);
        if (state() != SessionState::Closed)
            noteOurClose();
        sendFrames({frame}, Chop::whole());
    } else if (const auto *wait = std::get_if<Wait>(&step)) {
        if (state() != SessionState::Open)
            return;
        m_waiting = true;
        m_waitLabel = wait->label;
        m_stepTimer.start(scaled(wait->ms));
    } else if (const auto *waitFor = std::get_if<WaitForEvents>(&step)) {
        if (state() != SessionState::Open || m_result.received.size() >= waitFor->count)
            return;
        m_waiting = true;
        m_waitForCount = waitFor->count;
        m_waitLabel = waitFor->label;
        m_stepTimer.start(waitFor->ms);
    } else if (const auto *kill = std::get_if<KillAfter>(&step)) {
        m_killTimer.start(kill->ms);
    } else if (const auto *closeAfter = std::get_if<CloseAfter>(&step)) {
        m_closeAfterTimer.start(closeAfter->ms);
    } else if (const auto *roundTrips = std::get_if<RoundTrips>(&step)) {
        m_roundTrips = *roundTrips;
        m_roundTripIndex = 0;
        m_result.behavior = Verdict::Failed;
        m_result.result = QStringLiteral("Case did not finish in time.");
        sendNextRoundTrip();
    } else if (const auto *custom = std::get_if<Custom>(&step)) {
        custom->run(*this);
    }
    checkSocketGone();
}

void CaseRun::sendNextRoundTrip() {
    if (!m_roundTrips || state() != SessionState::Open)
        return;
    if (m_loggedRoundTrips >= m_options.wirelogRoundTrips)
        m_wirelog = false;
    else
        ++m_loggedRoundTrips;
    m_roundTripExpected = m_roundTrips->payloadAt(m_roundTripIndex);
    static_cast<void>(m_roundTrips->type == Opcode::Binary
                          ? sendBinary(m_roundTripExpected, m_roundTrips->fragmentSize)
                          : sendText(m_roundTripExpected, m_roundTrips->fragmentSize));
}

void CaseRun::sendFrames(const QList<RawFrame> &frames, Chop chop) {
    if (isEnding() || !m_connected || state() == SessionState::Closed ||
        state() == SessionState::Connecting)
        return;
    Session &session = mutableSession();
    QByteArray bytes = session.takeOutgoing(); // anything the session still had, first
    QList<qsizetype> frameEnds;
    for (RawFrame frame : frames) {
        if (m_server)
            frame.maskingKey.reset(); // a server never masks (RFC 6455 §5.1)
        else if (!frame.maskingKey)
            frame.maskingKey = randomKey();
        if (session.sendRaw(frame, nowUs()) != SendError::None)
            break;
        bytes += session.takeOutgoing();
        frameEnds.append(bytes.size());
    }
    writeChopped(bytes, chop, frameEnds);
    session.outgoingWritten(nowUs());
    pump();
    flush();
    checkSocketGone();
}

bool CaseRun::writeChop(const char *data, qsizetype size) {
    // Each chop is a write(2) of its own, straight to the kernel: QTcpSocket would
    // gather them. When the kernel's buffer is full we wait for room (bounded), so
    // that the chops stay as they are.
    const int fd = int(m_tcp->socketDescriptor());
    if (fd < 0 || m_tcp->bytesToWrite() > 0 || isTlsSocket(m_tcp)) {
        // TLS: each chop becomes a record of its own.
        m_tcp->write(data, size);
        m_tcp->flush();
        return true;
    }
    while (size > 0) {
        const ssize_t sent = ::send(fd, data, size_t(size), MSG_NOSIGNAL);
        if (sent > 0) {
            data += sent;
            size -= sent;
            continue;
        }
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd writable{fd, POLLOUT, 0};
            if (::poll(&writable, 1, 2000) > 0)
                continue;
        }
        return false; // the connection is gone: the read side reports how it ended
    }
    return true;
}

void CaseRun::writeChopped(const QByteArray &bytes, Chop chop, const QList<qsizetype> &frameEnds) {
    if (bytes.isEmpty() || !m_tcp || m_tcp->state() != QAbstractSocket::ConnectedState)
        return;
    if (chop.mode == Chop::Mode::Whole) {
        writeToSocket(m_tcp, bytes);
        return;
    }
    QList<qsizetype> ends;
    if (chop.mode == Chop::Mode::PerFrame) {
        ends = frameEnds;
    } else {
        for (qsizetype end = std::max(1, chop.size); end < bytes.size();
             end += std::max(1, chop.size))
            ends.append(end);
    }
    if (ends.isEmpty() || ends.last() != bytes.size())
        ends.append(bytes.size());
    const int fd = int(m_tcp->socketDescriptor());
    qsizetype from = 0;
    for (qsizetype end : ends) {
        // The peer closed (FIN or RST): what is left has nowhere to go, and writing it
        // would only turn the peer's orderly close into a reset.
        pollfd hangup{fd, POLLRDHUP, 0};
        if (::poll(&hangup, 1, 0) > 0 && (hangup.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
            logNote(QStringLiteral("the server closed its side: %1 bytes left unsent")
                        .arg(bytes.size() - from));
            return;
        }
        if (!writeChop(bytes.constData() + from, end - from))
            return;
        from = end;
    }
}

void CaseRun::aboutToFinish() {
    for (QTimer *timer :
         {&m_stepTimer, &m_killTimer, &m_closeAfterTimer, &m_watchdog, &m_tcpCloseTimer})
        timer->stop();
    m_result.log->commitPending();
    m_result.durationMs = (nowUs() - m_result.startedUs) / 1000;
    if (m_server && !m_isCase)
        return; // a status request, nothing to judge
    if (!m_result.wasOpen) {
        m_result.behavior = Verdict::Failed;
        m_result.behaviorClose = Verdict::Failed;
        m_result.result = m_result.failure.isEmpty()
                              ? QStringLiteral("The WebSocket connection was never open.")
                              : m_result.failure;
        m_result.resultClose = m_result.result;
        return;
    }
    if (m_case.deflate && !m_result.deflateNegotiated) {
        m_result.expectedClose = ExpectedClose{};
        judgeClose(m_result);
        m_result.behavior = Verdict::Unimplemented;
        m_result.result = QStringLiteral("The server did not accept permessage-deflate.");
        return;
    }
    judgeBehavior(m_result);
    judgeClose(m_result);
    if (m_case.judge)
        m_case.judge(m_result);
}

} // namespace ws::probe

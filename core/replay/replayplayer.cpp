#include "replay/replayplayer.h"

#include "net/eventclock.h"

#include <chrono>
#include <cmath>
#include <thread>

namespace ws::replay {

namespace {

constexpr int NoteLimit = 80; // characters of a payload quoted in a note

QString excerpt(const QByteArray &payload) {
    QString text = QString::fromUtf8(payload);
    if (text.size() > NoteLimit)
        text = text.left(NoteLimit) + QStringLiteral("…");
    return text;
}

// How long before a step is due the timer wakes the replay, and how much of that is
// waited out by reading the clock.
constexpr qint64 EarlyWakeUs = 2000;
constexpr qint64 SpinUs = 300;

// The fragment size that sends `size` bytes in `frames` frames; 0: one frame.
qint64 fragmentSize(int frames, qint64 size) {
    if (frames <= 1 || size <= 1)
        return 0;
    return (size + frames - 1) / frames;
}

qint64 scaled(qint64 us, double speed) {
    return qint64(std::llround(double(us) / speed));
}

} // namespace

ReplayPlayer::ReplayPlayer(Recording recording, Side side, ReplayOptions options, QObject *parent)
    : QObject(parent)
    , m_recording(std::move(recording))
    , m_side(side)
    , m_options(std::move(options)) {
    static const int resultType = qRegisterMetaType<ws::replay::ReplayResult>();
    Q_UNUSED(resultType);
    m_steps = m_recording.stepsOf(m_side);
    m_result.steps = int(m_steps.size());
    const Side peer = m_side == Side::Client ? Side::Server : Side::Client;
    for (const RecordedStep &step : std::as_const(m_recording.steps)) {
        if (step.kind == RecordedStep::Kind::Close) {
            // Only the first close is a step: it says who closed.
            (step.side == m_side ? m_weCloseInRecording : m_peerClosesInRecording) = true;
        }
    }
    for (const auto &[name, pathText] : std::as_const(m_options.captures)) {
        const std::optional<JsonPath> path = JsonPath::parse(pathText, &m_error);
        if (!path || !m_placeholders.addCapture(name, *path, &m_error))
            return;
    }
    for (const QString &pathText : std::as_const(m_options.substitutions)) {
        const std::optional<JsonPath> path = JsonPath::parse(pathText, &m_error);
        if (!path)
            return;
        std::optional<QByteArray> recorded;
        for (const RecordedStep &step : std::as_const(m_recording.steps)) {
            if (step.side != peer || step.kind != RecordedStep::Kind::Text)
                continue;
            if (const auto value = path->find(step.payload)) {
                recorded = placeholderText(*value);
                break;
            }
        }
        if (!recorded) {
            m_error = QStringLiteral("--substitute %1: no message of the recorded %2 has that path")
                          .arg(pathText, peer == Side::Server ? QStringLiteral("server")
                                                              : QStringLiteral("client"));
            return;
        }
        if (!m_placeholders.addSubstitution(*path, *recorded, &m_error))
            return;
    }
    if (m_options.placeholders) {
        for (int i = 0; i < m_steps.size(); ++i) {
            const RecordedStep &step = m_steps.at(i);
            if (step.kind != RecordedStep::Kind::Text)
                continue;
            if (const std::optional<QString> error = m_placeholders.check(step.payload)) {
                m_error = QStringLiteral("message %1 of the recording: %2 (--no-placeholders "
                                         "sends messages as recorded)")
                              .arg(i + 1)
                              .arg(*error);
                return;
            }
        }
    }
    m_stepTimer.setSingleShot(true);
    m_stepTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_stepTimer, &QTimer::timeout, this, &ReplayPlayer::advance);
    m_waitTimer.setSingleShot(true);
    connect(&m_waitTimer, &QTimer::timeout, this, [this] {
        if (m_next >= m_steps.size())
            return;
        const int needed = peerMessagesNeeded(m_next);
        ++m_result.timedOutWaits;
        emit note(
            QStringLiteral("no reply: waited %1 ms for %2 message(s) of the %3 before step "
                           "%4, %5 arrived; going on")
                .arg(m_options.replyTimeoutMs)
                .arg(needed)
                .arg(m_side == Side::Client ? QStringLiteral("server") : QStringLiteral("client"))
                .arg(m_next + 1)
                .arg(m_peerMessages));
        m_waivedUpTo = needed;
        advance();
    });
    m_endTimer.setSingleShot(true);
    connect(&m_endTimer, &QTimer::timeout, this, [this] {
        if (m_peerClosesInRecording && !m_peerClosed) {
            ++m_result.timedOutWaits;
            emit note(QStringLiteral("the peer did not close as in the recording; closing"));
        } else if (m_peerMessages <
                   m_recording.messageCount(m_side == Side::Client ? Side::Server : Side::Client)) {
            ++m_result.timedOutWaits;
            emit note(QStringLiteral("no reply: %1 of the %2 recorded message(s) of the peer "
                                     "arrived; closing")
                          .arg(m_peerMessages)
                          .arg(m_recording.messageCount(m_side == Side::Client ? Side::Server
                                                                               : Side::Client)));
        }
        closeIfOpen(QString());
    });
}

ReplayPlayer::~ReplayPlayer() = default;

void ReplayPlayer::attach(Connection *connection) {
    m_connection = connection;
    connect(connection, &Connection::sessionEvent, this, &ReplayPlayer::onSessionEvent);
    connect(connection, &Connection::finished, this, &ReplayPlayer::onFinished);
    if (connection->state() == SessionState::Open)
        begin();
}

void ReplayPlayer::begin() {
    if (m_started)
        return;
    m_started = true;
    if (!m_startUs)
        m_startUs = EventClock::nowUs();
    m_lastSentUs = m_startUs;
    emit started();
    emit progress(0, stepCount());
    advance();
}

void ReplayPlayer::pause() {
    if (m_paused || m_done)
        return;
    m_paused = true;
    m_pausedSinceUs = EventClock::nowUs();
    m_stepTimer.stop();
    m_waitTimer.stop();
    m_endTimer.stop();
    emit pausedChanged(true);
}

void ReplayPlayer::resume() {
    if (!m_paused || m_done)
        return;
    m_paused = false;
    m_pausedTotalUs += EventClock::nowUs() - m_pausedSinceUs;
    emit pausedChanged(false);
    if (m_allStepsTaken)
        afterLastStep();
    else
        advance();
}

void ReplayPlayer::stop() {
    if (m_done)
        return;
    m_result.stopped = true;
    m_stepTimer.stop();
    m_waitTimer.stop();
    m_endTimer.stop();
    m_paused = false;
    if (m_connection && m_connection->state() == SessionState::Open)
        closeIfOpen(QStringLiteral("replay stopped"));
    else if (m_connection && m_connection->state() == SessionState::Connecting)
        m_connection->abort();
}

int ReplayPlayer::peerMessagesNeeded(int index) const {
    const RecordedStep &step = m_steps.at(index);
    return m_side == Side::Client ? step.serverMessagesBefore : step.clientMessagesBefore;
}

std::optional<qint64> ReplayPlayer::dueUs(int index) const {
    if (m_options.speed <= 0)
        return std::nullopt;
    const RecordedStep &step = m_steps.at(index);
    if (m_side == Side::Client)
        return m_startUs + m_pausedTotalUs + scaled(step.offsetUs, m_options.speed);
    // The server side: only a step that followed another of the server's keeps its gap.
    if (index == 0 || m_steps.at(index - 1).clientMessagesBefore != step.clientMessagesBefore)
        return std::nullopt;
    return m_lastSentUs + scaled(step.offsetUs - m_steps.at(index - 1).offsetUs, m_options.speed);
}

void ReplayPlayer::advance() {
    if (!m_started || m_paused || m_done || m_allStepsTaken || m_result.stopped)
        return;
    while (m_next < m_steps.size()) {
        if (!m_connection || m_connection->state() != SessionState::Open)
            return;
        const int needed = peerMessagesNeeded(m_next);
        // Our close waits for the replies the recording had before it, whatever the
        // pace: closing before the peer could answer loses what a replay is for.
        const bool waits = waitsForPeer() || m_steps.at(m_next).kind == RecordedStep::Kind::Close;
        if (waits && m_peerMessages < needed && m_waivedUpTo < needed) {
            if (!m_waitTimer.isActive())
                m_waitTimer.start(m_options.replyTimeoutMs);
            return;
        }
        m_waitTimer.stop();
        qint64 now = EventClock::nowUs();
        if (const std::optional<qint64> due = dueUs(m_next); due && *due > now) {
            // A timer fires a millisecond or so late; it is set to fire before the step is
            // due and the rest is waited out here: slept with the kernel's fine timer up
            // to a fraction of a millisecond before, then by reading the clock, so that a
            // step goes within tens of microseconds of its time and never early. A thread
            // that spins for long on a busy machine is the one the scheduler preempts.
            if (*due - now > EarlyWakeUs) {
                m_stepTimer.start(int((*due - now - EarlyWakeUs) / 1000));
                return;
            }
            if (*due - now > SpinUs)
                std::this_thread::sleep_for(std::chrono::microseconds(*due - now - SpinUs));
            while (now < *due)
                now = EventClock::nowUs();
        }
        const RecordedStep step = m_steps.at(m_next++);
        m_lastSentUs = now;
        sendStep(step);
        emit progress(m_next, stepCount());
        if (m_paused || m_done || m_result.stopped)
            return;
    }
    m_allStepsTaken = true;
    afterLastStep();
}

bool ReplayPlayer::sendStep(const RecordedStep &step) {
    SendError error = SendError::None;
    switch (step.kind) {
    case RecordedStep::Kind::Text: {
        QByteArray text = step.payload;
        if (m_options.placeholders) {
            QString why;
            const std::optional<QByteArray> expanded = m_placeholders.expand(text, &why);
            if (!expanded) {
                ++m_result.notSent;
                emit note(QStringLiteral("not sent: step %1 (%2): %3")
                              .arg(m_next)
                              .arg(excerpt(step.payload), why));
                return false;
            }
            text = *expanded;
        }
        error = m_connection->sendText(text, fragmentSize(step.frameCount, text.size()));
        break;
    }
    case RecordedStep::Kind::Binary:
        error = m_connection->sendBinary(step.payload,
                                         fragmentSize(step.frameCount, step.payload.size()));
        break;
    case RecordedStep::Kind::Ping:
        error = m_connection->sendPing(step.payload);
        break;
    case RecordedStep::Kind::Pong:
        error = m_connection->sendPong(step.payload);
        break;
    case RecordedStep::Kind::Close:
        error = m_connection->sendClose(step.closeCode, QString::fromUtf8(step.payload));
        break;
    }
    if (error != SendError::None) {
        ++m_result.notSent;
        emit note(QStringLiteral("not sent: step %1 (%2): %3")
                      .arg(m_next)
                      .arg(QLatin1String(stepKindName(step.kind)),
                           QString::fromUtf8(sendErrorText(error))));
        return false;
    }
    ++m_result.sent;
    return true;
}

void ReplayPlayer::afterLastStep() {
    if (m_done || m_paused || m_weCloseInRecording || m_result.stopped)
        return;
    const int peerTotal =
        m_recording.messageCount(m_side == Side::Client ? Side::Server : Side::Client);
    if (m_peerClosesInRecording ? m_peerClosed : m_peerMessages >= peerTotal) {
        m_endTimer.stop();
        closeIfOpen(QString());
        return;
    }
    if (m_endTimer.isActive())
        return;
    // What the recording still had after the last step, plus the reply time-out.
    qint64 remainingUs = 0;
    if (m_options.speed > 0 && !m_recording.steps.isEmpty() && !m_steps.isEmpty())
        remainingUs =
            scaled(m_recording.durationUs() - m_steps.constLast().offsetUs, m_options.speed);
    m_endTimer.start(int(std::min<qint64>(remainingUs / 1000 + m_options.replyTimeoutMs,
                                          std::numeric_limits<int>::max())));
}

void ReplayPlayer::closeIfOpen(const QString &reason) {
    if (m_connection && m_connection->state() == SessionState::Open)
        (void)m_connection->sendClose(quint16(1000), reason);
}

void ReplayPlayer::onSessionEvent(const SessionEvent &event) {
    if (const auto *handshake = std::get_if<HandshakeEvent>(&event)) {
        if (handshake->kind == HandshakeEvent::Kind::ClientAccepted && !m_started) {
            m_startUs = handshake->timestampUs;
            begin();
        }
    } else if (const auto *message = std::get_if<MessageEvent>(&event)) {
        if (message->direction != Direction::Incoming)
            return;
        ++m_peerMessages;
        if (message->message.type == Opcode::Text) {
            for (const QString &line : m_placeholders.observePeerMessage(message->message.data))
                emit note(line);
        }
        if (m_allStepsTaken)
            afterLastStep();
        else
            advance();
    } else if (std::holds_alternative<CloseEvent>(event)) {
        m_peerClosed = true;
        m_endTimer.stop();
    }
}

void ReplayPlayer::onFinished() {
    if (m_done)
        return;
    m_done = true;
    m_stepTimer.stop();
    m_waitTimer.stop();
    m_endTimer.stop();
    m_result.allPlayed = m_allStepsTaken;
    emit finished(m_result);
}

void applyRecordedRequest(const Recording &recording, bool recordedHeaders, ClientOptions *options,
                          QStringList *notes) {
    // Offers given as header fields become the offers themselves.
    HttpHeaders given;
    std::optional<QList<QByteArray>> givenProtocols;
    std::optional<QByteArray> givenExtensions;
    for (const HttpHeaders::Field &field : options->extraHeaders.fields()) {
        const QByteArray name = field.first.toLower();
        if (name == "sec-websocket-protocol") {
            if (!givenProtocols)
                givenProtocols.emplace();
            for (const QByteArray &token : field.second.split(','))
                if (!token.trimmed().isEmpty())
                    givenProtocols->append(token.trimmed());
        } else if (name == "sec-websocket-extensions") {
            givenExtensions =
                givenExtensions ? *givenExtensions + ", " + field.second : field.second;
        } else {
            given.add(field.first, field.second);
        }
    }
    if (givenProtocols)
        options->subprotocols = *givenProtocols;
    else if (recordedHeaders && options->subprotocols.isEmpty())
        options->subprotocols = recording.subprotocols;

    QList<ExtensionParams> offers;
    if (givenExtensions) {
        if (auto parsed = parseExtensions(*givenExtensions))
            offers = *parsed;
        else if (notes)
            notes->append(QStringLiteral("Sec-WebSocket-Extensions: cannot parse \"%1\"; not "
                                         "offered")
                              .arg(QString::fromUtf8(*givenExtensions)));
    } else if (recordedHeaders) {
        offers = recording.extensions;
    }
    bool deflateOffered = false;
    for (const ExtensionParams &offer : std::as_const(offers)) {
        if (offer.name.compare("permessage-deflate", Qt::CaseInsensitive) != 0 || deflateOffered) {
            if (notes)
                notes->append(
                    QStringLiteral("the recorded offer of the extension %1 is not made again: "
                                   "only permessage-deflate is supported")
                        .arg(QString::fromUtf8(offer.name)));
            continue;
        }
        deflateOffered = true;
        DeflateConfig &deflate = options->deflate;
        deflate.policy = DeflatePolicy::Offer;
        bool ok = false;
        if (const auto bits = offer.paramValue("server_max_window_bits")) {
            const int value = bits->toInt(&ok);
            if (ok && value >= 8 && value <= 15)
                deflate.serverMaxWindowBits = value;
        }
        if (const auto bits = offer.paramValue("client_max_window_bits")) {
            const int value = bits->toInt(&ok);
            if (ok && value >= 8 && value <= 15)
                deflate.clientMaxWindowBits = value;
        }
        deflate.serverNoContextTakeover = offer.hasParam("server_no_context_takeover");
        deflate.clientNoContextTakeover = offer.hasParam("client_no_context_takeover");
    }

    HttpHeaders headers = given;
    if (recordedHeaders) {
        if (!recording.origin.isEmpty() && options->origin.isEmpty() && !given.contains("Origin"))
            options->origin = recording.origin;
        for (const HttpHeaders::Field &field : recording.customHeaders.fields()) {
            if (!given.contains(field.first))
                headers.add(field.first, field.second);
        }
    }
    options->extraHeaders = headers;
}

} // namespace ws::replay

#include "probe/handshakerun.h"

#include "net/eventclock.h"
#include "net/socketio.h"
#include "probe/probesocket.h"
#include "protocol/framedecoder.h"
#include "protocol/handshake.h"

#include <QTcpSocket>

namespace ws::probe {

namespace {

constexpr quint32 LogConnection = 1;
// An answer's header block larger than this is not read further.
constexpr qsizetype MaxAnswer = 64 * 1024;

} // namespace

HandshakeRun::HandshakeRun(ProbeCase probeCase, RunOptions options, QObject *parent)
    : QObject(parent)
    , m_case(std::move(probeCase))
    , m_options(std::move(options))
    , m_key(generateClientKey()) {
    m_result.id = m_case.id;
    m_result.description = m_case.description;
    m_result.expectation = m_case.expectation;
    m_result.rfc = m_case.rfc;
    m_result.log = std::make_shared<log::LogStore>();
    m_result.log->setTimeOrdered(false);
    m_result.log->setConnectionInfo(LogConnection, {QStringLiteral("case %1").arg(m_case.id), {}});
    // No close handshake in these cases: the close verdict says so.
    m_result.behaviorClose = Verdict::Informational;
    m_result.resultClose = QStringLiteral("An opening-handshake case: no close handshake is "
                                          "judged.");
    m_result.expectedClose.requireClean = false;
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, [this] {
        end(status == 0 ? QStringLiteral("no complete answer within %1 ms").arg(m_timer.interval())
                        : QString());
    });
}

HandshakeRun::~HandshakeRun() = default;

QByteArray HandshakeRun::request(const QList<std::pair<QByteArray, QByteArray>> &fields,
                                 const QByteArray &method, const QByteArray &version) const {
    QList<std::pair<QByteArray, QByteArray>> ours = {
        {"Host", m_options.target.hostHeader + ':' + QByteArray::number(m_options.target.port)},
        {"Upgrade", "websocket"},
        {"Connection", "Upgrade"},
        {"Sec-WebSocket-Key", m_key},
        {"Sec-WebSocket-Version", "13"},
    };
    QList<std::pair<QByteArray, QByteArray>> extra;
    for (const auto &field : fields) {
        bool replaced = false;
        for (auto &mine : ours) {
            if (mine.first.compare(field.first, Qt::CaseInsensitive) == 0 && !replaced) {
                mine.second = field.second;
                replaced = true;
            }
        }
        if (!replaced)
            extra.append(field);
    }
    QByteArray out = method + ' ' + m_options.target.resourceName + ' ' + version + "\r\n";
    for (const auto &[name, value] : ours + extra) {
        if (!value.isNull())
            out += name + ": " + value + "\r\n";
    }
    return out + "\r\n";
}

QList<QByteArray> HandshakeRun::headerTokens(const QByteArray &name) const {
    QList<QByteArray> tokens;
    for (const auto &[field, value] : headers) {
        if (field.compare(name, Qt::CaseInsensitive) != 0)
            continue;
        for (const QByteArray &token : value.split(','))
            if (!token.trimmed().isEmpty())
                tokens.append(token.trimmed());
    }
    return tokens;
}

bool HandshakeRun::hasHeader(const QByteArray &name) const {
    return std::any_of(headers.begin(), headers.end(), [&name](const auto &field) {
        return field.first.compare(name, Qt::CaseInsensitive) == 0;
    });
}

bool HandshakeRun::isValidSwitch(QString *why) const {
    auto fail = [why](const QString &text) {
        if (why)
            *why = text;
        return false;
    };
    if (status != 101)
        return fail(status == 0 ? QStringLiteral("no answer")
                                : QStringLiteral("answered %1 instead of 101")
                                      .arg(QString::fromLatin1(statusLine)));
    const QList<QByteArray> accept = headerTokens("Sec-WebSocket-Accept");
    if (accept.size() != 1 || accept.first() != computeAcceptKey(m_key))
        return fail(QStringLiteral("Sec-WebSocket-Accept is not the key's hash (RFC 6455 §4.2.2)"));
    const QList<QByteArray> upgrade = headerTokens("Upgrade");
    if (!std::any_of(upgrade.begin(), upgrade.end(), [](const QByteArray &t) {
            return t.compare("websocket", Qt::CaseInsensitive) == 0;
        }))
        return fail(QStringLiteral("the 101 has no Upgrade: websocket"));
    const QList<QByteArray> connection = headerTokens("Connection");
    if (!std::any_of(connection.begin(), connection.end(), [](const QByteArray &t) {
            return t.compare("upgrade", Qt::CaseInsensitive) == 0;
        }))
        return fail(QStringLiteral("the 101 has no Connection: Upgrade"));
    return true;
}

void HandshakeRun::start() {
    m_result.startedUs = EventClock::nowUs();
    if (m_case.handshake)
        m_case.handshake(*this);
    if (toSend.isEmpty())
        toSend = request();
    m_timer.start(m_case.timeoutMs > 0 ? m_case.timeoutMs : 3000);
    m_socket = openProbeSocket(
        m_options, this, false, [this] { onConnected(); },
        [this](const QString &why) { end(QStringLiteral("Could not connect: %1").arg(why)); });
    connect(m_socket, &QTcpSocket::readyRead, this, &HandshakeRun::onReadyRead);
    connect(m_socket, &QTcpSocket::disconnected, this, &HandshakeRun::onDisconnected);
    connect(m_socket, &QTcpSocket::errorOccurred, this, [this] {
        if (m_connected && m_socket->error() == QAbstractSocket::RemoteHostClosedError)
            onDisconnected();
    });
}

void HandshakeRun::onConnected() {
    m_connected = true;
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_result.httpRequest = toSend.left(toSend.indexOf("\r\n\r\n") + 4);
    if (chop.mode == Chop::Mode::Octets) {
        const qsizetype size = std::max(1, chop.size);
        for (qsizetype from = 0; from < toSend.size(); from += size) {
            m_socket->write(toSend.mid(from, size));
            m_socket->flush(); // a write(2) each
        }
    } else {
        m_socket->write(toSend);
    }
}

void HandshakeRun::onReadyRead() {
    m_received += m_socket->readAll();
    if (status == 0)
        parseAnswer();
    if (status == 101 && m_decoder && m_bodyStart >= 0) {
        m_decoder->feed(QByteArrayView(m_received).sliced(m_bodyStart));
        m_bodyStart = m_received.size();
        while (m_decoder->hasNext()) {
            DecoderOutput output = m_decoder->takeNext();
            if (auto *decoded = std::get_if<DecodedFrame>(&output)) {
                FrameEvent event;
                event.timestampUs = event.queuedUs = EventClock::nowUs();
                event.frame = *decoded;
                m_result.log->append(LogConnection, event);
                ++m_result.rxFrameStats[int(decoded->header.opcode)];
            } else if (auto *message = std::get_if<DecodedMessage>(&output)) {
                messages.append(message->data);
                m_result.received.append(
                    Observation::message(message->data, message->type == Opcode::Binary));
            } else if (auto *violation = std::get_if<ProtocolViolation>(&output)) {
                frameError = violation->reason;
            }
        }
        if (messagesWanted > 0 && messages.size() >= messagesWanted)
            end();
        if (!frameError.isEmpty())
            end();
    }
    if (m_received.size() > MaxAnswer && status == 0)
        end(QStringLiteral("the answer's header block exceeds %1 bytes").arg(MaxAnswer));
}

void HandshakeRun::parseAnswer() {
    const qsizetype end = m_received.indexOf("\r\n\r\n");
    if (end < 0)
        return;
    const QList<QByteArray> lines = m_received.left(end).split('\n');
    statusLine = lines.value(0).trimmed();
    const QList<QByteArray> parts = statusLine.split(' ');
    status = parts.size() >= 2 ? parts.at(1).toInt() : -1;
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines.at(i).trimmed();
        const qsizetype colon = line.indexOf(':');
        if (colon > 0)
            headers.append({line.left(colon).trimmed(), line.mid(colon + 1).trimmed()});
    }
    m_result.httpResponse = m_received.left(end + 4);
    m_bodyStart = end + 4;
    HandshakeEvent event;
    event.kind =
        status == 101 ? HandshakeEvent::Kind::ClientAccepted : HandshakeEvent::Kind::Failed;
    event.timestampUs = EventClock::nowUs();
    event.rawRequest = m_result.httpRequest;
    event.rawResponse = m_result.httpResponse;
    event.httpStatus = status;
    m_result.log->append(LogConnection, event);
    m_result.wasOpen = status == 101;
    if (status == 101 && readFramesMs > 0) {
        DecoderOptions options;
        options.role = Role::Client;
        m_decoder = std::make_unique<FrameDecoder>(options);
        m_timer.start(readFramesMs);
        return;
    }
    // Without frames to wait for, the answer is all: end once the body is in (a
    // refusal's body is short) or the server closes.
    if (status != 101)
        QTimer::singleShot(50, this, [this] { this->end(); });
    else
        this->end();
}

void HandshakeRun::onDisconnected() {
    if (m_finished)
        return;
    closedByServer = true;
    if (m_socket->bytesAvailable() > 0)
        onReadyRead();
    end();
}

void HandshakeRun::abort() {
    end(QStringLiteral("the run was stopped"));
}

void HandshakeRun::end(const QString &why) {
    if (m_finished)
        return;
    m_finished = true;
    m_timer.stop();
    if (!why.isEmpty())
        m_result.failure = why;
    m_result.droppedByMe = !closedByServer;
    m_result.durationMs = (EventClock::nowUs() - m_result.startedUs) / 1000;
    m_result.result = why;
    m_result.behavior = Verdict::Failed;
    if (judge) {
        judge(*this, m_result);
    } else if (!why.isEmpty()) {
        m_result.result = why;
    }
    m_result.log->commitPending();
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
    }
    emit finished();
}

} // namespace ws::probe

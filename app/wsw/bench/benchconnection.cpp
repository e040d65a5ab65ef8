#include "benchconnection.h"

#include "benchtcptransport.h"
#include "benchtlstransport.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace ws {

namespace {

// After our close frame: how long the server has to answer it and close TCP
// (RFC 6455 §7.1.1: the server closes first; a client gives up after a while).
constexpr int CloseWaitMs = 5'000;
// How many bytes at each end of an echo are compared with what was sent: cheap
// even for 16 MiB messages, and enough to catch a shifted or foreign payload.
constexpr quint64 CheckedBytes = 16;
// The least of a fast-path payload's unchecked middle worth dropping in the kernel
// rather than reading: below it, the extra recv() costs more than the copy it saves.
constexpr quint64 MinDiscardBytes = 4096;
// RFC 6455 §5.2: the largest frame header.
constexpr qint64 MaxHeaderBytes = headerSize(LengthEncoding::Extended64, true);

} // namespace

BenchConnection::BenchConnection(const BenchTarget &target, const QElapsedTimer &clock,
                                 std::span<char> readBuffer, Listener *listener, QObject *parent)
    : QObject(parent)
    , m_clock(clock)
    , m_listener(listener)
    , m_target(target)
    , m_handshake(target.handshake)
    , m_encoder(Role::Client, MaskingKeySource::systemRandom()) {
    BenchTransport::Handler *handler = this;
    if (m_target.secure)
        m_transport = std::make_unique<BenchTlsTransport>(m_target, handler);
    else
        m_transport = std::make_unique<BenchTcpTransport>(m_target.address, m_target.port,
                                                          readBuffer, handler);
}

BenchConnection::~BenchConnection() = default;

void BenchConnection::setExpectedEcho(Opcode type, const QByteArray *payload) {
    m_echoType = type;
    m_echoPayload = payload;
}

void BenchConnection::open() {
    m_transport->open();
}

void BenchConnection::transportConnected() {
    m_out = m_handshake.request();
    flush();
}

void BenchConnection::transportEnded(const QString &error) {
    end(error);
}

void BenchConnection::queueMessage(Opcode type, QByteArrayView payload) {
    sendTimes.push_back(nowUs());
    if (m_deflate)
        m_encoder.encodeMessage(m_out, type, payload); // compressed, RSV1 set (RFC 7692 §6)
    else
        m_encoder.encodeFrame(m_out, type, payload);
}

void BenchConnection::close() {
    if (m_state == State::Open)
        sendCloseFrame(quint16(1000));
    flush();
}

void BenchConnection::sendCloseFrame(std::optional<quint16> code) {
    m_encoder.encodeFrame(m_out, Opcode::Close, FrameEncoder::closePayload(code, {}));
    m_closeSent = true;
    m_state = State::Closing;
    // Checked by the runner's one watch timer (checkCloseDeadline): a timer per
    // connection would cost a timer registration per cycle in connect mode, and Qt
    // unregisters timers by a linear search through all of them.
    m_closeDeadlineUs = m_clock.nsecsElapsed() / 1000 + CloseWaitMs * 1000;
}

void BenchConnection::checkCloseDeadline(qint64 nowUs) {
    if (m_state == State::Ended || m_closeDeadlineUs < 0 || nowUs < m_closeDeadlineUs)
        return;
    end(m_closeReceived ? QString() : QStringLiteral("the server did not answer our close frame"));
}

void BenchConnection::flush() {
    if (m_out.isEmpty() || !m_transport->isConnected())
        return;
    m_transport->write(m_out);
}

void BenchConnection::transportReadable() {
    // One clock reading per batch: the echoes in it arrived together, and the
    // messages sent in answer leave together.
    m_nowUs = m_clock.nsecsElapsed() / 1000;
    while (m_state != State::Ended) {
        if (const quint64 discardable = discardableBytes(); discardable > 0) {
            const qint64 dropped = m_transport->discard(
                qint64(std::min<quint64>(discardable, std::numeric_limits<int>::max())));
            if (dropped == 0)
                break;
            if (dropped > 0) {
                m_payloadRemaining -= quint64(dropped);
                m_payloadOffset += quint64(dropped);
                continue;
            }
            // The transport cannot drop bytes: they are read and skipped below.
        }
        const QByteArrayView data = m_transport->read(readLimit());
        if (data.isEmpty())
            break;
        if (m_state != State::Connecting) {
            receive(data);
            continue;
        }
        switch (m_handshake.feed(data)) {
        case ClientHandshake::Status::NeedMore:
            break;
        case ClientHandshake::Status::Failed:
            end(QStringLiteral("opening handshake failed: %1").arg(m_handshake.errorString()));
            return;
        case ClientHandshake::Status::Accepted: {
            if (!startDeflate())
                return;
            m_state = State::Open;
            DecoderOptions options;
            options.role = Role::Client;
            options.maxMessageSize = m_target.maxMessageSize;
            options.extension = m_deflate.get();
            m_decoder = std::make_unique<FrameDecoder>(options);
            m_listener->connectionOpened(this);
            const QByteArray leftover = m_handshake.takeLeftover();
            if (!leftover.isEmpty())
                receive(leftover);
            break;
        }
        }
    }
    flush();
    m_nowUs = -1;
}

quint64 BenchConnection::discardableBytes() const {
    // Only the unchecked middle of a fast-path payload: its first CheckedBytes have
    // been compared, its last CheckedBytes are still to come.
    if (m_owner != FrameOwner::FastPath || !m_transport->canDiscard() ||
        m_payloadOffset < CheckedBytes || m_payloadRemaining < CheckedBytes + MinDiscardBytes)
        return 0;
    return m_payloadRemaining - CheckedBytes;
}

qint64 BenchConnection::readLimit() const {
    if (!m_largeFastPath || !m_transport->canDiscard())
        return std::numeric_limits<qint64>::max();
    // Large fast-path echoes are read only where they are compared: the first
    // CheckedBytes, then (past the dropped middle) the last ones with the next
    // frame's header and the start of its payload. Anything more read would be
    // copied out only to be skipped.
    const qint64 nextFrameStart = MaxHeaderBytes - m_headerSize + qint64(CheckedBytes);
    if (m_owner != FrameOwner::FastPath)
        return nextFrameStart;
    if (m_payloadOffset < CheckedBytes)
        return qint64(CheckedBytes - m_payloadOffset);
    // Past the dropped middle, less than CheckedBytes + MinDiscardBytes remain.
    return qint64(std::min(m_payloadRemaining, CheckedBytes + MinDiscardBytes)) + nextFrameStart;
}

void BenchConnection::receive(QByteArrayView data) {
    while (!data.isEmpty() && m_state != State::Ended) {
        if (m_owner == FrameOwner::None) {
            // Gather the header: the second byte says how long it is.
            const int wanted = m_headerSize < 2 ? 2 : headerSize(unpackByte1(quint8(m_header[1])));
            const qsizetype take = std::min<qsizetype>(wanted - m_headerSize, data.size());
            std::memcpy(m_header.data() + m_headerSize, data.data(), size_t(take));
            m_headerSize += int(take);
            data = data.sliced(take);
            if (m_headerSize < 2 || m_headerSize < headerSize(unpackByte1(quint8(m_header[1]))))
                continue;
            if (!startFrame())
                return;
            continue;
        }
        const qsizetype take =
            qsizetype(std::min<quint64>(m_payloadRemaining, quint64(data.size())));
        const QByteArrayView chunk = data.first(take);
        data = data.sliced(take);
        m_payloadRemaining -= quint64(take);
        if (m_owner == FrameOwner::Decoder) {
            feedDecoder(chunk);
        } else {
            checkEchoBytes(chunk);
            m_payloadOffset += quint64(take);
        }
        if (m_payloadRemaining == 0) {
            if (m_owner == FrameOwner::FastPath)
                m_listener->messageReceived(this, qint64(m_payloadLength), m_payloadMatches);
            m_owner = FrameOwner::None;
        }
    }
}

bool BenchConnection::startDeflate() {
    if (!m_target.deflate)
        return true;
    // RFC 7692 §7.1: check the server's answer against our offer.
    const DeflateNegotiation negotiation = negotiateDeflateClient(
        m_target.handshake.extensions, m_handshake.acceptedExtensions(), m_target.deflateConfig);
    if (!negotiation.ok() || !negotiation.params) {
        end(negotiation.ok() ? QStringLiteral("the server did not accept permessage-deflate")
                             : negotiation.error);
        return false;
    }
    m_deflate = std::make_unique<PerMessageDeflate>(Role::Client, *negotiation.params,
                                                    m_target.deflateConfig);
    m_encoder.setExtension(m_deflate.get());
    return true;
}

bool BenchConnection::startFrame() {
    const auto byte = [this](int i) { return quint8(m_header[size_t(i)]); };
    const auto [masked, length7] = unpackByte1(byte(1));
    quint64 length = length7;
    if (const int bytes = extendedLengthSize(lengthEncodingOf(length7)); bytes > 0) {
        length = 0;
        for (int i = 0; i < bytes; ++i)
            length = (length << 8) | byte(2 + i);
    }
    // RFC 6455 §5.2: FIN, no RSV bits, the opcode we sent, no mask (§5.1: a server
    // never masks), the length in its minimal encoding, MSB of a 64-bit length clear.
    constexpr quint8 FinalBinaryFrame = packByte0({.fin = true, .opcode = quint8(Opcode::Binary)});
    const bool fast = m_echoType == Opcode::Binary && m_echoPayload &&
                      byte(0) == FinalBinaryFrame && !masked && length < (quint64(1) << 63) &&
                      headerSize(minimalEncoding(length), false) == m_headerSize &&
                      !m_decoder->isInsideMessage() && !m_decoder->hasFailed();
    const QByteArrayView header(m_header.data(), m_headerSize);
    m_headerSize = 0;
    m_payloadRemaining = length;
    // Echoes come back like this one: after it, read as if the next were large too.
    m_largeFastPath = fast && length >= 2 * CheckedBytes + MinDiscardBytes;
    if (fast) {
        m_owner = FrameOwner::FastPath;
        m_payloadLength = length;
        m_payloadOffset = 0;
        m_payloadMatches = qint64(length) == m_echoPayload->size();
        if (length == 0) {
            m_owner = FrameOwner::None;
            m_listener->messageReceived(this, 0, m_payloadMatches);
        }
        return true;
    }
    // Anything else is the decoder's to judge, header and payload.
    m_owner = FrameOwner::Decoder;
    feedDecoder(header);
    if (length == 0)
        m_owner = FrameOwner::None;
    return m_state != State::Ended;
}

void BenchConnection::checkEchoBytes(QByteArrayView chunk) {
    if (!m_payloadMatches)
        return;
    // Compare the parts of this chunk that fall in the first or last CheckedBytes.
    const quint64 begin = m_payloadOffset;
    const quint64 end = begin + quint64(chunk.size());
    const quint64 size = m_payloadLength;
    const auto compare = [&](quint64 from, quint64 to) {
        from = std::max(from, begin);
        to = std::min(to, end);
        if (from < to && std::memcmp(chunk.data() + (from - begin),
                                     m_echoPayload->constData() + from, size_t(to - from)) != 0)
            m_payloadMatches = false;
    };
    compare(0, std::min(CheckedBytes, size));
    compare(size - std::min(CheckedBytes, size), size);
}

bool BenchConnection::endsMatch(QByteArrayView data) const {
    if (!m_echoPayload)
        return true;
    if (data.size() != m_echoPayload->size())
        return false;
    const qsizetype checked = std::min<qsizetype>(qsizetype(CheckedBytes), data.size());
    return std::memcmp(data.data(), m_echoPayload->constData(), size_t(checked)) == 0 &&
           std::memcmp(data.data() + data.size() - checked,
                       m_echoPayload->constData() + data.size() - checked, size_t(checked)) == 0;
}

void BenchConnection::feedDecoder(QByteArrayView data) {
    m_decoder->feed(data);
    while (m_decoder->hasNext() && m_state != State::Ended) {
        const DecoderOutput output = m_decoder->takeNext();
        if (const auto *message = std::get_if<DecodedMessage>(&output)) {
            m_listener->messageReceived(this, message->data.size(),
                                        message->type == m_echoType && endsMatch(message->data));
        } else if (const auto *frame = std::get_if<DecodedFrame>(&output)) {
            onFrame(*frame);
        } else if (const auto *violation = std::get_if<ProtocolViolation>(&output)) {
            end(QStringLiteral("the server broke the protocol: %1").arg(violation->reason));
        }
    }
}

void BenchConnection::onFrame(const DecodedFrame &frame) {
    switch (frame.header.op()) {
    case Opcode::Ping:
        // RFC 6455 §5.5.2: answer with a pong carrying the same payload.
        if (!m_closeSent)
            m_encoder.encodeFrame(m_out, Opcode::Pong, frame.payload);
        break;
    case Opcode::Close:
        m_closeReceived = true;
        if (m_target.resetAfterClose && m_closeSent)
            resetOnClose();
        // RFC 6455 §5.5.1: echo the code; then the server closes TCP.
        if (!m_closeSent)
            sendCloseFrame(frame.closeCode);
        break;
    default:
        break;
    }
}

void BenchConnection::resetOnClose() {
    // Everything we had to send (our close frame) has been read by the server,
    // which answered it: no data can be lost to the reset.
    m_transport->setResetOnClose();
}

void BenchConnection::end(const QString &error) {
    if (m_state == State::Ended)
        return;
    const bool clean = error.isEmpty() && m_closeSent && m_closeReceived;
    m_state = State::Ended;
    m_transport->abort();
    QString why = error;
    if (why.isEmpty() && !clean)
        why = QStringLiteral("the connection ended without a closing handshake");
    m_listener->connectionEnded(this, clean, why);
}

} // namespace ws

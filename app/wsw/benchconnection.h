#pragma once

#include "protocol/framedecoder.h"
#include "protocol/frameencoder.h"
#include "protocol/handshake.h"
#include "protocol/permessagedeflate.h"

#include <QElapsedTimer>
#include <QHostAddress>
#include <QObject>
#include <QSslCertificate>

#include <array>
#include <deque>
#include <memory>

class QTcpSocket;

namespace ws {

// Where the load goes: resolved once, so that a thousand connections do not make a
// thousand name lookups.
struct BenchTarget {
    QHostAddress address;
    quint16 port = 0;
    ClientHandshakeOptions handshake;
    qint64 maxMessageSize = 64 * 1024 * 1024;
    // wss: TLS with certificate verification on, trusting these certificates on
    // top of the system's; `peerName` is what the certificate must name.
    bool secure = false;
    QList<QSslCertificate> caCertificates;
    QString peerName;
    // permessage-deflate (RFC 7692) is offered in handshake.extensions and required:
    // a server that declines it would make the figures meaningless.
    bool deflate = false;
    DeflateConfig deflateConfig;
    // Connect mode: once the server's close frame is in, our side of the TCP
    // connection ends with a reset (SO_LINGER 0) rather than a FIN. The WebSocket
    // closing handshake is complete by then and the server has closed (RFC 6455
    // §7.1.1); what is saved is the kernels' teardown (the server's TIME_WAIT
    // state, two segments), which would otherwise dominate what the row measures.
    bool resetAfterClose = false;
};

// One client connection of the load generator: the protocol core's handshake,
// encoder and decoder on a QTcpSocket, without a Session. The generator must cost
// less than the server it measures, and it needs none of the Session's events,
// timestamps or conformance notes: only messages, pings and the close handshake.
// Frames go into one buffer written once per batch (flush()), so a window of
// pipelined messages costs one write.
//
// Echoes of binary messages take a fast path: a frame whose header is exactly what
// a correct echo looks like (FIN, no RSV bits, binary, unmasked, minimal length,
// outside a fragmented message) is checked and skipped as it streams by, without
// copying its payload; every other frame goes to the FrameDecoder, which checks
// all of RFC 6455. Compressed echoes (RSV1) always go to the decoder, which
// inflates them with the connection's PerMessageDeflate.
class BenchConnection : public QObject {
    Q_OBJECT
public:
    class Listener {
    public:
        virtual void connectionOpened(BenchConnection *connection) = 0;
        // A data message arrived: its size, and whether its bytes match the
        // expected echo (setExpectedEcho) at both ends.
        virtual void messageReceived(BenchConnection *connection, qint64 size, bool matches) = 0;
        // Once per connection, after the TCP connection is gone (or never came).
        // `clean`: both close frames were exchanged.
        virtual void connectionEnded(BenchConnection *connection, bool clean,
                                     const QString &error) = 0;

    protected:
        ~Listener() = default;
    };

    BenchConnection(const BenchTarget &target, const QElapsedTimer &clock, Listener *listener,
                    QObject *parent = nullptr);
    ~BenchConnection() override;

    // What every echo should be (not owned; must outlive the connection).
    void setExpectedEcho(Opcode type, const QByteArray *payload);

    void open();
    // Queue a message (masked with a fresh key, RFC 6455 §5.3); it goes out with
    // the next flush().
    void queueMessage(Opcode type, QByteArrayView payload);
    // Start the closing handshake (1000) and flush.
    void close();
    void flush();
    // Ends the connection if the server has not finished the closing handshake
    // within 5 s of our close frame (RFC 6455 §7.1.1: the client then gives up).
    void checkCloseDeadline(qint64 nowUs);

    bool isOpen() const { return m_state == State::Open; }
    // Microseconds on the runner's clock when the batch being handled arrived.
    qint64 nowUs() const { return m_nowUs >= 0 ? m_nowUs : m_clock.nsecsElapsed() / 1000; }

    // Send times (microseconds on the runner's clock) of the messages in flight:
    // an echo server answers in order, so the front one is the next to come back.
    std::deque<qint64> sendTimes;

private:
    enum class State { Connecting, Open, Closing, Ended };
    // Who consumes the payload of the frame being received.
    enum class FrameOwner { None, FastPath, Decoder };

    void onConnected();
    bool startDeflate();
    void onReadyRead();
    void receive(QByteArrayView data);
    bool startFrame();
    void checkEchoBytes(QByteArrayView chunk);
    void feedDecoder(QByteArrayView data);
    void onFrame(const DecodedFrame &frame);
    bool endsMatch(QByteArrayView data) const;
    void sendCloseFrame(std::optional<quint16> code);
    void resetOnClose();
    void end(const QString &error);

    const QElapsedTimer &m_clock;
    Listener *m_listener;
    BenchTarget m_target;
    ClientHandshake m_handshake;
    // Declared before the encoder and decoder, which point at it: it outlives them.
    std::unique_ptr<PerMessageDeflate> m_deflate;
    FrameEncoder m_encoder;
    std::unique_ptr<FrameDecoder> m_decoder;
    QTcpSocket *m_socket = nullptr;
    QByteArray m_out;
    State m_state = State::Connecting;
    bool m_closeSent = false;
    bool m_closeReceived = false;
    qint64 m_nowUs = -1; // while a batch is handled
    qint64 m_closeDeadlineUs = -1;

    Opcode m_echoType = Opcode::Binary;
    const QByteArray *m_echoPayload = nullptr;
    // The frame header being gathered (RFC 6455 §5.2: at most 14 bytes).
    std::array<char, 14> m_header{};
    int m_headerSize = 0;
    FrameOwner m_owner = FrameOwner::None;
    quint64 m_payloadRemaining = 0;
    quint64 m_payloadLength = 0; // of the fast-path frame
    quint64 m_payloadOffset = 0;
    bool m_payloadMatches = true;
};

} // namespace ws

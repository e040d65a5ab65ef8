#pragma once

#include "benchtarget.h"
#include "benchtransport.h"

#include "protocol/framedecoder.h"
#include "protocol/frameencoder.h"
#include "protocol/handshake.h"
#include "protocol/permessagedeflate.h"

#include <QElapsedTimer>
#include <QObject>

#include <array>
#include <deque>
#include <memory>
#include <span>

namespace ws {

// One client connection of the load generator: the protocol core's handshake,
// encoder and decoder on a BenchTransport (a TCP descriptor of our own for ws://,
// a QSslSocket for wss://), without a Session. The generator must cost less than
// the server it measures, and it needs none of the Session's events, timestamps or
// conformance notes: only messages, pings and the close handshake. Frames go into
// one buffer written once per batch (flush()), so a window of pipelined messages
// costs one write.
//
// Echoes of binary messages take a fast path: a frame whose header is exactly what
// a correct echo looks like (FIN, no RSV bits, binary, unmasked, minimal length,
// outside a fragmented message) is checked and skipped as it streams by, without
// copying its payload; over plain TCP the middle of a large one, between the
// compared ends, is dropped in the kernel and never copied out at all
// (BenchTransport::discard). Every other frame goes to the FrameDecoder, which
// checks all of RFC 6455. Compressed echoes (RSV1) always go to the decoder, which
// inflates them with the connection's PerMessageDeflate.
class BenchConnection : public QObject, private BenchTransport::Handler {
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

    // `readBuffer`: where plain TCP connections read into, shared by all of them (each
    // read is consumed before the next); it must outlive the connection.
    BenchConnection(const BenchTarget &target, const QElapsedTimer &clock,
                    std::span<char> readBuffer, Listener *listener, QObject *parent = nullptr);
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

    void transportConnected() override;
    void transportReadable() override;
    void transportEnded(const QString &error) override;
    bool startDeflate();
    void receive(QByteArrayView data);
    quint64 discardableBytes() const;
    qint64 readLimit() const;
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
    // After m_target, which the TLS transport refers to.
    std::unique_ptr<BenchTransport> m_transport;
    QByteArray m_out;
    State m_state = State::Connecting;
    bool m_closeSent = false;
    bool m_closeReceived = false;
    qint64 m_nowUs = -1; // while a batch is handled
    qint64 m_closeDeadlineUs = -1;

    Opcode m_echoType = Opcode::Binary;
    const QByteArray *m_echoPayload = nullptr;
    // The frame header being gathered (RFC 6455 §5.2: at most 14 bytes).
    std::array<char, headerSize(LengthEncoding::Extended64, true)> m_header{};
    int m_headerSize = 0;
    FrameOwner m_owner = FrameOwner::None;
    quint64 m_payloadRemaining = 0;
    quint64 m_payloadLength = 0; // of the fast-path frame
    quint64 m_payloadOffset = 0;
    bool m_payloadMatches = true;
    // The last frame started was a fast-path one large enough to drop its middle
    // unread (see readLimit()).
    bool m_largeFastPath = false;
};

} // namespace ws

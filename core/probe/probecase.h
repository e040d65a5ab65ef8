#pragma once

#include "log/logstore.h"
#include "protocol/frameencoder.h"
#include "protocol/opcode.h"
#include "protocol/permessagedeflate.h"

#include <QByteArray>
#include <QList>
#include <QMap>
#include <QString>

#include <functional>
#include <memory>
#include <optional>
#include <variant>

namespace ws::probe {

// The verdicts, with the Autobahn|Testsuite's meanings and spellings, so that
// results compare one to one. The first five judge what the peer did (behavior);
// the close verdict (behaviorClose) uses OK, FAILED, INFORMATIONAL and the last three.
enum class Verdict {
    Ok,             // what the RFC asks for
    NonStrict,      // accepted: the RFC allows it but prefers something else
    Informational,  // the RFC leaves it open; the result says what happened
    Unimplemented,  // an optional feature the peer does not have (permessage-deflate)
    Failed,         // against the RFC
    WrongCode,      // close: a close code outside the expected set
    Unclean,        // close: the close handshake did not complete although it had to
    FailedByClient, // close: the server did not close TCP after the handshake (§7.1.1)
};
QString verdictName(Verdict verdict);
std::optional<Verdict> verdictFromName(const QString &name);
// Every verdict, in the order reports list them.
QList<Verdict> allVerdicts();

// What the peer did that a case compares with what it expects, in order.
struct Observation {
    enum class Kind { Message, Ping, Pong, Timeout };
    Kind kind = Kind::Message;
    QByteArray payload; // a Timeout's label
    bool binary = false;

    static Observation message(const QByteArray &payload, bool binary = false) {
        return {Kind::Message, payload, binary};
    }
    static Observation ping(const QByteArray &payload = {}) { return {Kind::Ping, payload, false}; }
    static Observation pong(const QByteArray &payload = {}) { return {Kind::Pong, payload, false}; }
    static Observation timeout(const QByteArray &label) { return {Kind::Timeout, label, false}; }
    bool operator==(const Observation &) const = default;
};
// "message 12 B text", "pong 'abc'", for the reports.
QString describe(const Observation &observation);

// How the connection should end (Autobahn's expectedClose).
struct ExpectedClose {
    bool closedByMe = true;                    // we start the close handshake
    QList<quint16> codes = {1000};             // acceptable codes from the peer (none also passes)
    bool requireClean = true;                  // both close frames exchanged
    bool closedByWrongEndpointIsFatal = false; // the wrong side closing fails the case
};

// --- the steps of a case's script --------------------------------------------------

// How sent bytes are cut into write(2) calls.
struct Chop {
    enum class Mode { Whole, PerFrame, Octets };
    Mode mode = Mode::Whole;
    int size = 0; // Octets: bytes per write

    static Chop whole() { return {}; }
    static Chop perFrame() { return {Mode::PerFrame, 0}; }
    static Chop octets(int n) { return {Mode::Octets, n}; }
};

// Frames exactly as given (a client's masking key is added when missing).
struct SendFrames {
    QList<RawFrame> frames;
    Chop chop;
};
// A frame header and only the first `count` bytes of its payload, then (in later
// steps) more of the same frame: fail-fast checks hold back the frame's rest.
struct SendFramePart {
    RawFrame frame;  // the whole frame; payloadFrom..payloadTo of it goes out
    qint64 from = 0; // payload offset; 0 also writes the header
    qint64 to = -1;  // -1: to the end
};
// A data message through the session: fragmented, compressed when deflate is on.
struct SendMessage {
    Opcode type = Opcode::Text;
    QByteArray payload;
    qint64 fragmentSize = 0;
};
// A close frame through the session (code absent: empty payload). The reason is raw
// bytes: invalid UTF-8 on purpose goes through the raw writer.
struct SendClose {
    std::optional<quint16> code = quint16(1000);
    QByteArray reason;
    // The whole payload instead of code and reason (a 1-byte payload, say).
    std::optional<QByteArray> payload;
};
// Pause; when the connection is still open afterwards, a Timeout observation with
// `label` is recorded (unless empty). Ends early when the connection ends, and the
// script then stops.
struct Wait {
    int ms = 100;
    QByteArray label;
};
// Pause until `count` observations in all were recorded, at most `ms`; when none came
// in time, a Timeout observation with `label` is recorded. "Wait for the echo".
struct WaitForEvents {
    int count = 1;
    int ms = 1000;
    QByteArray label;
};
// Drop TCP after `ms` if the connection is not over by then.
struct KillAfter {
    int ms = 1000;
};
// Start the close handshake after `ms` if it has not started by then.
struct CloseAfter {
    int ms = 1000;
};
// Send `count` messages one after the other, each once the previous one came back
// (round trips); the payload of message i is payloadAt(i). OK when every echo came
// back equal, FAILED at the first difference; then we close.
struct RoundTrips {
    int count = 1;
    Opcode type = Opcode::Text;
    std::function<QByteArray(int)> payloadAt;
    qint64 fragmentSize = 0;
};
// Anything else, with the run at hand.
class CaseRun;
struct Custom {
    std::function<void(CaseRun &)> run;
};

using Step = std::variant<SendFrames, SendFramePart, SendMessage, SendClose, Wait, WaitForEvents,
                          KillAfter, CloseAfter, RoundTrips, Custom>;

struct CaseResult;
class HandshakeRun;

// One case: what it is, what it sends, what it expects.
struct ProbeCase {
    QString id;          // "6.4.1", "H.2.1"
    QString description; // what is sent
    QString expectation; // what a conforming peer does
    QString rfc;         // the rule it rests on: "RFC 6455 §8.1"
    QList<Step> steps;
    // Each verdict with the observations that earn it, tried in order.
    QList<std::pair<Verdict, QList<Observation>>> expected;
    ExpectedClose expectedClose;
    // Do not start the close handshake on our own when the observations match.
    bool suppressClose = false;
    // Offer permessage-deflate with this configuration (12.*, 13.*). As the fuzzing
    // server, the client's offer is accepted asking of it what this asks of a server
    // (no context takeover, window bits), as Autobahn's fuzzingserver does.
    std::optional<DeflateConfig> deflate;
    // The offer elements to send instead of the one `deflate` makes, in order of
    // preference (13.*: Autobahn's exact offers, several in one header for 13.7; the
    // server accepts at most one, RFC 7692 §5). `deflate` still sets how we compress.
    QList<ExtensionParams> deflateOffers;
    // Upper bound of the whole case (0: the run's default).
    int timeoutMs = 0;
    // Fills in steps and expected right before the case runs: the cases with large
    // payloads (9.*, T.1.1) build them only then, so that a catalogue costs little.
    std::function<void(ProbeCase &)> prepare;
    // Extra judgement after the connection ended (frame counts, informational cases).
    std::function<void(CaseResult &)> judge;
    // A case that speaks raw HTTP instead (the opening handshake cases): given the
    // run's target, it runs on its own and fills in the result. When set, the fields
    // above besides the texts are not used.
    std::function<void(HandshakeRun &)> handshake;
};

// Frame counts by opcode, as Autobahn's txFrameStats/rxFrameStats.
using FrameStats = QMap<int, qint64>;

// What happened in one run of a case.
struct CaseResult {
    QString id;
    QString description;
    QString expectation;
    QString rfc;
    Verdict behavior = Verdict::Failed;
    Verdict behaviorClose = Verdict::Failed;
    QString result = QStringLiteral("Actual events differ from any expected.");
    QString resultClose = QStringLiteral("TCP connection was dropped without close handshake");
    QList<Observation> received;
    QList<std::pair<Verdict, QList<Observation>>> expected;
    ExpectedClose expectedClose;
    bool wasOpen = false;  // the opening handshake succeeded
    bool isServer = false; // we were the server: a client was tested
    // We started the close (a close step, our close handshake, or we failed the
    // connection) before the peer's close frame came. A raw frame with the close
    // opcode sent as a frame to test (3.7) is not a close of ours, as in Autobahn.
    bool closedByMe = false;
    bool droppedByMe = false; // we closed TCP (a kill, or the server left it open)
    bool wasClean = false;    // both close frames went
    std::optional<quint16> remoteCloseCode;
    QString remoteCloseReason;
    std::optional<quint16> localCloseCode;
    QString localCloseReason;
    qint64 startedUs = 0;  // EventClock
    qint64 durationMs = 0; // connect to TCP closed
    // From our close frame answered (or theirs received) to their TCP close; -1 never.
    qint64 tcpCloseAfterHandshakeMs = -1;
    FrameStats txFrameStats;
    FrameStats rxFrameStats;
    bool deflateNegotiated = false;
    qint64 txOctets = 0;
    qint64 rxOctets = 0;
    QString failure; // a transport error, in words
    QByteArray httpRequest;
    QByteArray httpResponse;
    // Every frame both ways with its time (connection 1), and the handshake.
    std::shared_ptr<log::LogStore> log;
    // The log as lines of text ("time  direction  summary"), kept when the log is
    // dropped (see ProbeRunner::setKeepLogs) for the HTML report.
    QString frameSummary;

    // The case counts as failed (exit status, JUnit): a FAILED behaviour, or a close
    // that Autobahn's report marks as failed (FAILED, WRONG CODE, UNCLEAN). FAILED BY
    // CLIENT (the server left TCP open) is a preference of the RFC and does not count:
    // T.2.* judge that rule.
    bool isFailure() const {
        return behavior == Verdict::Failed || behaviorClose == Verdict::Failed ||
               behaviorClose == Verdict::WrongCode || behaviorClose == Verdict::Unclean;
    }
};

// Autobahn's close judgement (Case.onConnectionLost), applied to `result`.
void judgeClose(CaseResult &result);
// Autobahn's behaviour judgement: the first expected list equal to what was received.
void judgeBehavior(CaseResult &result);

} // namespace ws::probe

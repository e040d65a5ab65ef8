// libFuzzer target for FrameDecoder.
//
// Input: byte 0 chooses the setup, byte 1 the chunking, the rest is the received
// byte stream.
//   byte 0, bit 0:    our role (0 client: expects unmasked frames, 1 server)
//   byte 0, bits 1-2: conformance (0 standard, 1 lenient, 2 strict, 3 standard)
//   byte 0, bit 3:    a negotiated extension defining RSV1
//   byte 0, bits 4-5: maximum message size (1 MiB, 125, 4096, 0)
//   byte 1:           seed and largest piece of the chunking
// The stream is decoded whole, in pseudo-random pieces and (when short) one byte at
// a time; every run must give the same outputs, and the outputs must agree with
// the bytes that were fed. Without the extension it is also decoded as a relay
// decodes it, data frames to a frame sink and a piece sink: the frames completed
// must not depend on the chunking either, and no piece may go that the outputs
// would reject. A broken invariant aborts.

#include "protocol/extension.h"
#include "protocol/framedecoder.h"
#include "protocol/utf8validator.h"

#include <QByteArray>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <utility>
#include <vector>

using namespace ws;

namespace {

void check(bool condition, const char *invariant) {
    if (!condition) {
        std::fprintf(stderr, "broken invariant: %s\n", invariant);
        std::abort();
    }
}

// A stand-in for a compressing extension with every outcome: payloads starting
// with 0xFF cannot be decoded, the rest decode to themselves twice over, which can
// exceed the limit (then it reports MessageTooBig, as the contract asks).
class DoublingExtension : public MessageExtension {
public:
    QByteArray name() const override { return QByteArrayLiteral("x-double"); }
    quint8 rsvBits() const override { return Rsv1Bit; }
    Decoded decodeMessage(QByteArrayView payload, quint8 rsv, qint64 maxSize) override {
        check(rsv == Rsv1Bit, "the extension sees only its own RSV bits");
        if (!payload.isEmpty() && quint8(payload.front()) == 0xFF)
            return {{}, ProtocolError::DecompressionFailed};
        if (2 * payload.size() > maxSize)
            return {{}, ProtocolError::MessageTooBig};
        return {payload.toByteArray().repeated(2), std::nullopt};
    }
    quint8 encodeMessage(QByteArray &, Opcode) override { return 0; }
};

bool sameOutput(const DecoderOutput &a, const DecoderOutput &b) {
    if (a.index() != b.index())
        return false;
    if (const auto *fa = std::get_if<DecodedFrame>(&a)) {
        const auto &fb = std::get<DecodedFrame>(b);
        return fa->header == fb.header && fa->rawHeader == fb.rawHeader &&
               fa->payload == fb.payload && fa->streamOffset == fb.streamOffset &&
               fa->closeCode == fb.closeCode && fa->closeReason == fb.closeReason &&
               fa->notes == fb.notes;
    }
    if (const auto *ma = std::get_if<DecodedMessage>(&a)) {
        const auto &mb = std::get<DecodedMessage>(b);
        return ma->type == mb.type && ma->data == mb.data && ma->frameCount == mb.frameCount &&
               ma->compressed == mb.compressed && ma->wireSize == mb.wireSize &&
               ma->streamOffset == mb.streamOffset;
    }
    const auto &va = std::get<ProtocolViolation>(a);
    const auto &vb = std::get<ProtocolViolation>(b);
    return va.error == vb.error && va.reason == vb.reason && va.streamOffset == vb.streamOffset;
}

struct Run {
    std::vector<DecoderOutput> outputs;
    bool failed = false;
    qint64 bytesFed = 0;
};

// Feeds `input` in pieces whose sizes come from `nextSize`, handing each output to
// `take` as it is taken after every piece.
template <typename NextSize, typename Take>
void feedInPieces(FrameDecoder &decoder, QByteArrayView input, NextSize nextSize, Take take) {
    qsizetype position = 0;
    while (position < input.size()) {
        const qsizetype size = std::min<qsizetype>(nextSize(), input.size() - position);
        decoder.feed(input.sliced(position, size));
        position += size;
        while (decoder.hasNext())
            take(decoder.takeNext());
    }
}

template <typename NextSize>
Run decode(const DecoderOptions &options, QByteArrayView input, NextSize nextSize) {
    FrameDecoder decoder(options);
    Run run;
    feedInPieces(decoder, input, nextSize, [&run](DecoderOutput output) {
        check(!run.failed, "nothing after a violation");
        run.outputs.push_back(std::move(output));
        if (std::holds_alternative<ProtocolViolation>(run.outputs.back()))
            run.failed = true;
    });
    check(run.failed == decoder.hasFailed(), "hasFailed() matches the outputs");
    run.bytesFed = decoder.bytesFed();
    return run;
}

struct SinkRun {
    std::vector<DecoderOutput> others;                   // everything but messages
    std::vector<std::pair<Opcode, QByteArray>> messages; // in stream order
    std::vector<bool> order;                             // true: a message; false: other
};

// Decodes with data frames unreported, messages either as outputs (no sink) or
// through FrameDecoder::setMessageSink; both must see the same.
template <typename NextSize>
SinkRun decodeMessages(const DecoderOptions &options, QByteArrayView input, bool sink,
                       NextSize nextSize) {
    DecoderOptions unreported = options;
    unreported.reportDataFrames = false;
    FrameDecoder decoder(unreported);
    SinkRun run;
    if (sink) {
        decoder.setMessageSink([&run, &decoder](Opcode type, QByteArrayView payload) {
            check(!decoder.hasNext(), "the sink never overtakes an untaken output");
            run.messages.emplace_back(type, payload.toByteArray());
            run.order.push_back(true);
        });
    }
    feedInPieces(decoder, input, nextSize, [&run](DecoderOutput output) {
        // With a sink, a message that completed behind an untaken output is an output
        // too, for the caller to pass on: the order is what counts.
        if (auto *message = std::get_if<DecodedMessage>(&output)) {
            run.messages.emplace_back(message->type, message->data);
            run.order.push_back(true);
        } else {
            run.others.push_back(std::move(output));
            run.order.push_back(false);
        }
    });
    return run;
}

bool sameSinkRun(const SinkRun &a, const SinkRun &b) {
    if (a.messages != b.messages || a.order != b.order || a.others.size() != b.others.size())
        return false;
    for (std::size_t i = 0; i < a.others.size(); ++i) {
        if (!sameOutput(a.others[i], b.others[i]))
            return false;
    }
    return true;
}

// What a decoder with a frame sink and a piece sink gives: every frame, sunk whole,
// sunk in pieces (unmasked here) or output, in order, and the violation.
struct ForwardRun {
    struct Frame {
        quint8 opcode = 0;
        bool fin = true;
        quint64 length = 0;
        QByteArray payload;
        bool operator==(const Frame &) const = default;
        bool isComplete() const { return quint64(payload.size()) == length; }
    };
    std::vector<Frame> frames;
    std::optional<std::pair<ProtocolError, qint64>> violation;
};

// The opcode of the message a data frame with `opcode` belongs to, from the frames
// before it.
quint8 messageOpcode(const ForwardRun &run, quint8 opcode) {
    if (opcode != quint8(Opcode::Continuation))
        return opcode;
    for (auto it = run.frames.rbegin(); it != run.frames.rend(); ++it) {
        if (it->opcode == quint8(Opcode::Text) || it->opcode == quint8(Opcode::Binary))
            return it->opcode;
    }
    return opcode;
}

// With `runs`, runs of whole frames go to a run sink, which splits them by their
// headers and unmasks their payloads.
template <typename NextSize>
ForwardRun decodeForwarding(const DecoderOptions &options, QByteArrayView input, NextSize nextSize,
                            bool runs = false) {
    FrameDecoder decoder(options);
    ForwardRun run;
    if (runs) {
        decoder.setRunSink([&run, &decoder](QByteArrayView wireFrames) {
            check(!wireFrames.isEmpty(), "no empty run");
            check(!decoder.hasNext(), "a run never overtakes an output");
            while (!wireFrames.isEmpty()) {
                const PartialHeader parsed = parsePartialHeader(
                    wireFrames.first(std::min<qsizetype>(wireFrames.size(), 14)));
                const FrameHeader &header = parsed.header;
                check(parsed.complete, "a run holds whole headers");
                check(!isControl(header.op()) && header.rsvBits() == 0, "only plain data in runs");
                check(header.payloadLength <= 4096, "only small frames in runs");
                const qsizetype size = parsed.size + qsizetype(header.payloadLength);
                check(size <= wireFrames.size(), "a run holds whole payloads");
                QByteArray payload =
                    wireFrames.sliced(parsed.size, size - parsed.size).toByteArray();
                if (header.maskingKey) {
                    for (qsizetype b = 0; b < payload.size(); ++b)
                        payload[b] =
                            char(payload[b] ^ char(*header.maskingKey >> (24 - 8 * (b % 4))));
                }
                run.frames.push_back({header.opcode, header.fin, header.payloadLength, payload});
                wireFrames = wireFrames.sliced(size);
            }
            return true;
        });
    }
    decoder.setFrameSink([&run](const FrameHeader &header, QByteArrayView payload, QByteArray *) {
        check(!isControl(header.op()), "only data frames are sunk");
        run.frames.push_back(
            {header.opcode, header.fin, header.payloadLength, payload.toByteArray()});
        check(run.frames.back().isComplete(), "a sunk frame is whole");
        return true;
    });
    decoder.setPieceSink(
        [&run, &decoder](const FrameHeader &header, quint64 offset, QByteArrayView wireBytes) {
            check(!isControl(header.op()) && header.rsvBits() == 0, "only plain data in pieces");
            check(!wireBytes.isEmpty(), "no empty piece");
            if (offset == 0) {
                check(!decoder.hasNext(), "a frame in pieces never overtakes an output");
                check(messageOpcode(run, header.opcode) == quint8(Opcode::Binary),
                      "text is never sunk in pieces");
                run.frames.push_back({header.opcode, header.fin, header.payloadLength, {}});
            }
            ForwardRun::Frame &frame = run.frames.back();
            check(quint64(frame.payload.size()) == offset, "pieces follow each other");
            check(offset + quint64(wireBytes.size()) <= header.payloadLength,
                  "pieces stay inside their frame");
            QByteArray bytes = wireBytes.toByteArray();
            if (header.maskingKey) {
                for (qsizetype b = 0; b < bytes.size(); ++b)
                    bytes[b] =
                        char(bytes[b] ^ char(*header.maskingKey >> (24 - 8 * ((offset + b) % 4))));
            }
            frame.payload.append(bytes);
            return true;
        });
    feedInPieces(decoder, input, nextSize, [&run](DecoderOutput output) {
        if (const auto *frame = std::get_if<DecodedFrame>(&output)) {
            run.frames.push_back({frame->header.opcode, frame->header.fin,
                                  frame->header.payloadLength, frame->payload});
        } else if (const auto *violation = std::get_if<ProtocolViolation>(&output)) {
            run.violation = {violation->error, violation->streamOffset};
        }
        check(!std::holds_alternative<DecodedMessage>(output), "no message with a frame sink");
    });
    return run;
}

// The frames completed, in order: a frame that a violation or the end of the input
// cut short has given the pieces that had arrived, which depend on the chunking.
std::vector<ForwardRun::Frame> completedFrames(const ForwardRun &run) {
    std::vector<ForwardRun::Frame> frames;
    for (const ForwardRun::Frame &frame : run.frames) {
        if (frame.isComplete())
            frames.push_back(frame);
    }
    return frames;
}

// The outputs tell the truth about the stream they came from.
void checkOutputs(const DecoderOptions &options, QByteArrayView input, const Run &run) {
    check(run.bytesFed == input.size(), "every byte is counted");
    qint64 nextFrameOffset = 0;
    QByteArray messageBytes;
    qint64 messageOffset = -1;
    qint64 messageWire = 0;
    int messageFrames = 0;
    for (std::size_t i = 0; i < run.outputs.size(); ++i) {
        const DecoderOutput &output = run.outputs[i];
        if (const auto *frame = std::get_if<DecodedFrame>(&output)) {
            const FrameHeader &h = frame->header;
            check(frame->streamOffset == nextFrameOffset, "frames follow each other");
            check(serializeHeader(h) == frame->rawHeader, "the header matches its bytes");
            const QByteArrayView raw(reinterpret_cast<const char *>(frame->rawHeader.bytes.data()),
                                     frame->rawHeader.size);
            check(input.sliced(frame->streamOffset, raw.size()) == raw,
                  "the raw header is what was received");
            check(quint64(frame->payload.size()) == h.payloadLength, "the payload is whole");
            check(h.masked() == (options.role == Role::Server), "RFC 6455 §5.1 masking");
            check(!isReservedOpcode(h.opcode), "no reserved opcode");
            const quint8 allowed = options.extension ? options.extension->rsvBits() : 0;
            check((h.rsvBits() & ~allowed) == 0, "no undefined RSV bit");
            if (isControl(h.op())) {
                check(h.fin && h.payloadLength <= 125 && h.rsvBits() == 0,
                      "RFC 6455 §5.5 control frames");
            }
            if (options.conformance == Conformance::Strict)
                check(h.lengthEncoding == minimalEncoding(h.payloadLength), "strict lengths");
            const qint64 payloadOffset = frame->streamOffset + frame->rawHeader.size;
            QByteArray wirePayload =
                input.sliced(payloadOffset, frame->payload.size()).toByteArray();
            if (h.maskingKey) {
                for (qsizetype b = 0; b < wirePayload.size(); ++b)
                    wirePayload[b] =
                        char(wirePayload[b] ^ char(*h.maskingKey >> (24 - 8 * (b % 4))));
            }
            check(wirePayload == frame->payload, "the payload is the received bytes, unmasked");
            nextFrameOffset = payloadOffset + frame->payload.size();

            if (h.op() == Opcode::Close) {
                check(frame->closeCode.has_value() == (h.payloadLength >= 2), "close code present");
                if (frame->closeCode)
                    check(isValidOnWire(*frame->closeCode), "RFC 6455 §7.4 close code");
                if (frame->closeCode && options.conformance != Conformance::Lenient) {
                    check(Utf8Validator::isValid(QByteArrayView(frame->payload).sliced(2)),
                          "RFC 6455 §5.5.1 close reason");
                }
            }
            if (!isControl(h.op())) {
                if (h.op() != Opcode::Continuation) {
                    check(messageOffset < 0, "RFC 6455 §5.4 no interleaved messages");
                    messageOffset = frame->streamOffset;
                    messageBytes.clear();
                    messageWire = 0;
                    messageFrames = 0;
                } else {
                    check(messageOffset >= 0, "RFC 6455 §5.4 continuation inside a message");
                    check(h.rsvBits() == 0, "RFC 7692 §6 no RSV1 on continuations");
                }
                messageBytes += frame->payload;
                messageWire += frame->payload.size();
                ++messageFrames;
                if (h.fin) {
                    const bool last = i + 1 == run.outputs.size();
                    check(last || !std::holds_alternative<DecodedFrame>(run.outputs[i + 1]),
                          "a final frame is followed by its message or a violation");
                }
            }
        } else if (const auto *message = std::get_if<DecodedMessage>(&output)) {
            check(messageOffset >= 0, "a message has frames");
            check(message->streamOffset == messageOffset, "the message starts at its first frame");
            check(message->frameCount == messageFrames, "frame count");
            check(message->wireSize == messageWire, "wire size");
            check(message->data.size() <= options.maxMessageSize, "message within the limit");
            check(message->type == Opcode::Text || message->type == Opcode::Binary, "data type");
            if (message->compressed) {
                check(message->data == messageBytes.repeated(2), "the extension's output");
            } else {
                check(message->data == messageBytes, "the message is its frames' payloads");
            }
            if (message->type == Opcode::Text)
                check(Utf8Validator::isValid(message->data), "RFC 6455 §8.1 text is UTF-8");
            messageOffset = -1;
        } else {
            const auto &violation = std::get<ProtocolViolation>(output);
            check(i + 1 == run.outputs.size(), "the violation comes last");
            check(violation.streamOffset >= 0 && violation.streamOffset <= input.size(),
                  "the violation points into the stream");
            check(!violation.reason.isEmpty(), "the violation says why");
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    const quint8 setup = data[0];
    const quint8 chunking = data[1];
    const QByteArrayView input(reinterpret_cast<const char *>(data + 2), qsizetype(size - 2));

    static constexpr Conformance levels[] = {Conformance::Standard, Conformance::Lenient,
                                             Conformance::Strict, Conformance::Standard};
    static constexpr qint64 limits[] = {1 << 20, 125, 4096, 0};
    DoublingExtension extension;
    DecoderOptions options;
    options.role = (setup & 1) ? Role::Server : Role::Client;
    options.conformance = levels[(setup >> 1) & 3];
    options.extension = (setup & 8) ? &extension : nullptr;
    options.maxMessageSize = limits[(setup >> 4) & 3];

    const Run whole = decode(options, input, [&] { return std::max<qsizetype>(input.size(), 1); });
    checkOutputs(options, input, whole);

    const auto sameAsWhole = [&](const Run &other) {
        if (other.outputs.size() != whole.outputs.size())
            return false;
        for (std::size_t i = 0; i < whole.outputs.size(); ++i) {
            if (!sameOutput(whole.outputs[i], other.outputs[i]))
                return false;
        }
        return true;
    };

    // Pieces of 1..(chunking + 1) bytes from a small deterministic generator.
    quint32 state = 0x9e3779b9u ^ chunking;
    const Run pieces = decode(options, input, [&] {
        state = state * 1664525u + 1013904223u;
        return qsizetype(1 + (state >> 16) % (quint32(chunking) + 1));
    });
    check(sameAsWhole(pieces), "the same outputs in pieces");

    if (input.size() <= 4096) {
        const Run bytes = decode(options, input, [] { return qsizetype(1); });
        check(sameAsWhole(bytes), "the same outputs byte by byte");
    }

    // The message sink sees exactly the messages the outputs would carry, in order,
    // whole or in pieces, and changes nothing else.
    const SinkRun plain =
        decodeMessages(options, input, false, [&] { return std::max<qsizetype>(input.size(), 1); });
    const SinkRun sunkWhole =
        decodeMessages(options, input, true, [&] { return std::max<qsizetype>(input.size(), 1); });
    check(sameSinkRun(plain, sunkWhole), "the sink sees what the outputs would");
    state = 0x7f4a7c15u ^ chunking;
    const SinkRun sunkPieces = decodeMessages(options, input, true, [&] {
        state = state * 1664525u + 1013904223u;
        return qsizetype(1 + (state >> 16) % (quint32(chunking) + 1));
    });
    check(sameSinkRun(plain, sunkPieces), "the sink sees the same in pieces");

    if (!options.extension) {
        // As a relay forwards: the same frames whatever the chunking, each one the
        // outputs would have carried, and the same violation.
        const ForwardRun forwardedWhole =
            decodeForwarding(options, input, [&] { return std::max<qsizetype>(input.size(), 1); });
        state = 0x2545f491u ^ chunking;
        const ForwardRun forwardedPieces = decodeForwarding(options, input, [&] {
            state = state * 1664525u + 1013904223u;
            return qsizetype(1 + (state >> 16) % (quint32(chunking) + 1));
        });
        check(completedFrames(forwardedWhole) == completedFrames(forwardedPieces),
              "the same frames forwarded in pieces");
        check(forwardedWhole.violation == forwardedPieces.violation,
              "the same violation forwarded in pieces");
        // Runs of small frames change nothing of what is forwarded, in any chunking.
        state = 0x5851f42du ^ chunking;
        const ForwardRun forwardedRuns = decodeForwarding(
            options, input,
            [&] {
                state = state * 1664525u + 1013904223u;
                return qsizetype(1 + (state >> 16) % (quint32(chunking) + 1));
            },
            true);
        check(completedFrames(forwardedRuns) == completedFrames(forwardedWhole),
              "the same frames forwarded in runs");
        check(forwardedRuns.violation == forwardedWhole.violation,
              "the same violation forwarded in runs");
        std::vector<ForwardRun::Frame> outputFrames;
        std::optional<std::pair<ProtocolError, qint64>> outputViolation;
        for (const DecoderOutput &output : whole.outputs) {
            if (const auto *frame = std::get_if<DecodedFrame>(&output))
                outputFrames.push_back({frame->header.opcode, frame->header.fin,
                                        frame->header.payloadLength, frame->payload});
            else if (const auto *violation = std::get_if<ProtocolViolation>(&output))
                outputViolation = {violation->error, violation->streamOffset};
        }
        const std::vector<ForwardRun::Frame> forwarded = completedFrames(forwardedPieces);
        // The outputs may hold one frame more: the last of a text message that ends
        // inside a character, output before its message fails, never forwarded.
        check(forwarded.size() <= outputFrames.size() &&
                  outputFrames.size() - forwarded.size() <= 1 &&
                  std::equal(forwarded.begin(), forwarded.end(), outputFrames.begin()),
              "what is forwarded is what the outputs carry");
        check(forwardedPieces.violation == outputViolation, "the violation the outputs carry");
    }
    return 0;
}

#include "permessagedeflate.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>
#include <vector>

namespace ws {

namespace {

// RFC 7692 §7.2.1: the end of an empty stored block, removed by the sender and
// appended again by the receiver (§7.2.2).
constexpr char kTail[4] = {'\x00', '\x00', '\xff', '\xff'};
constexpr int kInflateWindowBits = 15;
// zlib counts in uInt: large payloads go in pieces.
constexpr qint64 kMaxChunk = qint64(1) << 30;

const QByteArray kServerNoContextTakeover = "server_no_context_takeover";
const QByteArray kClientNoContextTakeover = "client_no_context_takeover";
const QByteArray kServerMaxWindowBits = "server_max_window_bits";
const QByteArray kClientMaxWindowBits = "client_max_window_bits";

int clampWindowBits(int bits) {
    return std::clamp(bits, 8, 15);
}

bool isDeflate(const ExtensionParams &extension) {
    return extension.name.compare(kPermessageDeflate, Qt::CaseInsensitive) == 0;
}

QString text(QByteArrayView bytes) {
    return printableExcerpt(bytes);
}

// ---------------------------------------------------------------------------
// Negotiation

enum class Side { Offer, Response };

// RFC 7692 §7.1.2.1: "a decimal integer value without leading zeroes between 8 to
// 15, inclusive".
std::optional<int> parseWindowBits(QByteArrayView value) {
    if (value.size() == 1 && (value[0] == '8' || value[0] == '9'))
        return value[0] - '0';
    if (value.size() == 2 && value[0] == '1' && value[1] >= '0' && value[1] <= '5')
        return 10 + (value[1] - '0');
    return std::nullopt;
}

// One permessage-deflate element, offer or response, checked against §7.1's rules
// for that side.
std::optional<DeflateOffer> parseElement(const ExtensionParams &element, Side side, QString *why) {
    const auto failWith = [why](QString reason) -> std::optional<DeflateOffer> {
        if (why)
            *why = std::move(reason);
        return std::nullopt;
    };
    if (!isDeflate(element))
        return failWith(QStringLiteral("'%1' is not permessage-deflate").arg(text(element.name)));

    DeflateOffer result;
    for (qsizetype i = 0; i < element.params.size(); ++i) {
        const ExtensionParams::Param &param = element.params.at(i);
        const auto sameName = [&param](const ExtensionParams::Param &other) {
            return other.name.compare(param.name, Qt::CaseInsensitive) == 0;
        };
        // RFC 7692 §7.1: "multiple extension parameters with the same name".
        if (std::any_of(element.params.cbegin(), element.params.cbegin() + i, sameName)) {
            return failWith(QStringLiteral("parameter '%1' appears more than once (RFC 7692 §7.1)")
                                .arg(text(param.name)));
        }
        const auto is = [&param](const QByteArray &name) {
            return param.name.compare(name, Qt::CaseInsensitive) == 0;
        };
        if (is(kServerNoContextTakeover) || is(kClientNoContextTakeover)) {
            // RFC 7692 §7.1.1.1, §7.1.1.2: these parameters have no value.
            if (param.value) {
                return failWith(QStringLiteral("%1 takes no value, but has '%2' (RFC 7692 §7.1.1)")
                                    .arg(text(param.name), text(*param.value)));
            }
            (is(kServerNoContextTakeover) ? result.serverNoContextTakeover
                                          : result.clientNoContextTakeover) = true;
        } else if (is(kServerMaxWindowBits) || is(kClientMaxWindowBits)) {
            const bool server = is(kServerMaxWindowBits);
            // RFC 7692 §7.1.2.1: server_max_window_bits always has a value;
            // §7.1.2.2: client_max_window_bits may go without one only in an offer.
            if (!param.value) {
                if (server || side == Side::Response) {
                    return failWith(QStringLiteral("%1 needs a value in %2 (RFC 7692 §7.1.2.%3)")
                                        .arg(text(param.name), side == Side::Offer
                                                                   ? QStringLiteral("an offer")
                                                                   : QStringLiteral("a response"))
                                        .arg(server ? 1 : 2));
                }
                result.clientMaxWindowBitsOffered = true;
                continue;
            }
            const std::optional<int> bits = parseWindowBits(*param.value);
            if (!bits) {
                return failWith(QStringLiteral("%1=%2 is not a number from 8 to 15 without leading "
                                               "zeros (RFC 7692 §7.1.2.%3)")
                                    .arg(text(param.name), text(*param.value))
                                    .arg(server ? 1 : 2));
            }
            if (server) {
                result.serverMaxWindowBits = bits;
            } else {
                result.clientMaxWindowBitsOffered = true;
                result.clientMaxWindowBits = bits;
            }
        } else {
            return failWith(QStringLiteral("'%1' is not a permessage-deflate parameter "
                                           "(RFC 7692 §7.1)")
                                .arg(text(param.name)));
        }
    }
    return result;
}

void addParam(ExtensionParams &element, const QByteArray &name,
              std::optional<int> value = std::nullopt) {
    element.params.append(
        {name, value ? std::optional<QByteArray>(QByteArray::number(*value)) : std::nullopt});
}

// ---------------------------------------------------------------------------
// Inflating

// The inflate output: grows by doubling, never past maxSize + 1 bytes, the first
// byte that proves the message too big.
class BoundedOutput {
public:
    BoundedOutput(qint64 maxSize, qint64 guess)
        : m_maxSize(std::max<qint64>(maxSize, 0))
        , m_capacityLimit(m_maxSize < std::numeric_limits<qsizetype>::max() - 1 ? m_maxSize + 1
                                                                                : m_maxSize)
        , m_guess(std::clamp<qint64>(guess, 1, m_capacityLimit)) {}

    // Points zlib at free space; false when the buffer is at its limit and full.
    bool makeRoom(z_stream &zs) {
        if (m_produced == m_data.size()) {
            if (m_data.size() >= m_capacityLimit)
                return false;
            const qint64 next =
                m_data.isEmpty() ? m_guess : std::min<qint64>(m_capacityLimit, 2 * m_data.size());
            // reserve() allocates exactly, resize() then stays within it: the
            // buffer is never larger than asked for.
            m_data.reserve(qsizetype(next));
            m_data.resize(qsizetype(next));
            m_largest = std::max<qint64>(m_largest, m_data.capacity());
        }
        const qint64 room = std::min<qint64>(m_data.size() - m_produced, kMaxChunk);
        zs.next_out = reinterpret_cast<Bytef *>(m_data.data() + m_produced);
        zs.avail_out = uInt(room);
        m_offered = room;
        return true;
    }
    void commit(const z_stream &zs) {
        m_produced += m_offered - qint64(zs.avail_out);
        m_offered = qint64(zs.avail_out);
    }
    bool isTooBig() const { return m_produced > m_maxSize; }
    qint64 produced() const { return m_produced; }
    qint64 largestBuffer() const { return m_largest; }

    QByteArray take() {
        m_data.resize(qsizetype(std::min(m_produced, m_maxSize)));
        // A guess or the last doubling may leave much unused: not worth keeping in
        // a log that holds the message for long.
        const qint64 unused = m_data.capacity() - m_data.size();
        if (unused > 4096 || unused > m_data.size())
            m_data.squeeze();
        return std::move(m_data);
    }

private:
    qint64 m_maxSize;
    qint64 m_capacityLimit;
    qint64 m_guess;
    QByteArray m_data;
    qint64 m_produced = 0;
    qint64 m_offered = 0;
    qint64 m_largest = 0;
};

enum class InflateStatus { Done, StreamEnded, TooBig, Corrupt };

QString zlibError(const z_stream &zs, int code) {
    if (zs.msg)
        return QString::fromLatin1(zs.msg);
    return QStringLiteral("zlib error %1").arg(code);
}

// A DEFLATE block with BFINAL set ends zlib's stream (RFC 7692 §7.2.3.4), but the
// message may go on with more blocks, which may refer back past the final one: a
// new stream, primed with the old window.
bool restartKeepingWindow(z_stream &zs) {
    std::vector<Bytef> window(std::size_t(1) << kInflateWindowBits);
    uInt size = uInt(window.size());
    if (inflateGetDictionary(&zs, window.data(), &size) != Z_OK || inflateReset(&zs) != Z_OK)
        return false;
    return size == 0 || inflateSetDictionary(&zs, window.data(), size) == Z_OK;
}

// Feeds all of `input` to the stream. StreamEnded: a final block ended exactly at
// the end of the input (the stream is not restarted then).
InflateStatus inflateAll(z_stream &zs, QByteArrayView input, BoundedOutput &out, QString *error) {
    const char *next = input.data();
    qint64 left = input.size();
    zs.avail_in = 0;
    for (;;) {
        if (zs.avail_in == 0 && left > 0) {
            const qint64 chunk = std::min(left, kMaxChunk);
            zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(next));
            zs.avail_in = uInt(chunk);
            next += chunk;
            left -= chunk;
        }
        if (!out.makeRoom(zs))
            return InflateStatus::TooBig;
        const int code = inflate(&zs, Z_SYNC_FLUSH);
        out.commit(zs);
        if (out.isTooBig())
            return InflateStatus::TooBig;
        if (code == Z_STREAM_END) {
            if (zs.avail_in == 0 && left == 0)
                return InflateStatus::StreamEnded;
            if (!restartKeepingWindow(zs)) {
                *error = QStringLiteral("cannot continue after a final DEFLATE block");
                return InflateStatus::Corrupt;
            }
            continue;
        }
        if (code != Z_OK && code != Z_BUF_ERROR) {
            // Z_DATA_ERROR (corrupt or too far back), Z_NEED_DICT cannot happen with
            // raw inflate, Z_MEM_ERROR: nothing more can be read from this message.
            *error = zlibError(zs, code);
            return InflateStatus::Corrupt;
        }
        if (zs.avail_in == 0 && left == 0 && zs.avail_out > 0)
            return InflateStatus::Done;
        if (code == Z_BUF_ERROR && zs.avail_in > 0 && zs.avail_out > 0) {
            *error = QStringLiteral("inflate made no progress");
            return InflateStatus::Corrupt;
        }
    }
}

// zlib's data_type after inflate(): bit 7 means "at the end of a block", where a
// complete message (ending with an empty stored block) leaves the stream.
bool atBlockBoundary(const z_stream &zs) {
    return (zs.data_type & 128) != 0;
}

qint64 outputGuess(qint64 compressedSize) {
    // Text typically inflates 3-10 times; the buffer doubles from here.
    return std::max<qint64>(256, 4 * compressedSize);
}

} // namespace

// ---------------------------------------------------------------------------
// Negotiation

std::optional<DeflateOffer> parseDeflateOffer(const ExtensionParams &offer, QString *why) {
    return parseElement(offer, Side::Offer, why);
}

ExtensionParams deflateOffer(const DeflateConfig &config) {
    ExtensionParams offer;
    if (config.policy == DeflatePolicy::Refuse)
        return offer;
    offer.name = kPermessageDeflate;
    if (config.serverNoContextTakeover)
        addParam(offer, kServerNoContextTakeover);
    if (config.clientNoContextTakeover)
        addParam(offer, kClientNoContextTakeover);
    const int serverBits = clampWindowBits(config.serverMaxWindowBits);
    if (serverBits < 15)
        addParam(offer, kServerMaxWindowBits, serverBits);
    // RFC 7692 §7.1.2.2: offered bare, it lets the server limit our window; with a
    // value, it also says we never use more.
    const int clientBits = clampWindowBits(config.clientMaxWindowBits);
    addParam(offer, kClientMaxWindowBits,
             clientBits < 15 ? std::optional<int>(clientBits) : std::nullopt);
    return offer;
}

DeflateNegotiation negotiateDeflateClient(const QList<ExtensionParams> &offers,
                                          const QList<ExtensionParams> &accepted,
                                          const DeflateConfig &config) {
    DeflateNegotiation result;
    QList<ExtensionParams> ours;
    std::copy_if(offers.cbegin(), offers.cend(), std::back_inserter(ours), isDeflate);
    QList<ExtensionParams> answers;
    std::copy_if(accepted.cbegin(), accepted.cend(), std::back_inserter(answers), isDeflate);

    if (answers.isEmpty()) {
        if (config.policy == DeflatePolicy::Require && !ours.isEmpty()) {
            result.error = QStringLiteral("the server did not accept permessage-deflate, which "
                                          "this client requires");
        }
        return result;
    }
    if (ours.isEmpty()) {
        result.error = QStringLiteral("the server accepted permessage-deflate, which was not "
                                      "offered (RFC 6455 §9.1)");
        return result;
    }
    if (answers.size() > 1) {
        result.error = QStringLiteral("the server accepted permessage-deflate %1 times; one "
                                      "response element is allowed (RFC 6455 §9.1)")
                           .arg(answers.size());
        return result;
    }
    QString why;
    const std::optional<DeflateOffer> response =
        parseElement(answers.front(), Side::Response, &why);
    if (!response) {
        result.error = QStringLiteral("invalid permessage-deflate response '%1': %2")
                           .arg(QString::fromLatin1(formatExtensions(answers)), why);
        return result;
    }

    QString firstMismatch;
    for (const ExtensionParams &element : std::as_const(ours)) {
        const std::optional<DeflateOffer> offer = parseElement(element, Side::Offer, nullptr);
        if (!offer)
            continue; // we offered something invalid (a hand-written offer): it cannot match
        QString mismatch;
        if (response->serverMaxWindowBits && offer->serverMaxWindowBits &&
            *response->serverMaxWindowBits > *offer->serverMaxWindowBits) {
            // RFC 7692 §7.1.2.1: "the same or smaller value as the offer".
            mismatch = QStringLiteral("server_max_window_bits=%1 is larger than the %2 offered "
                                      "(RFC 7692 §7.1.2.1)")
                           .arg(*response->serverMaxWindowBits)
                           .arg(*offer->serverMaxWindowBits);
        } else if (response->clientMaxWindowBitsOffered && !offer->clientMaxWindowBitsOffered) {
            // RFC 7692 §7.1.2.2: without it in the offer, the response "MUST NOT include" it.
            mismatch = QStringLiteral("client_max_window_bits in the response, but the offer did "
                                      "not include it (RFC 7692 §7.1.2.2)");
        }
        if (!mismatch.isEmpty()) {
            if (firstMismatch.isEmpty())
                firstMismatch = mismatch;
            continue;
        }
        DeflateParams params;
        params.serverNoContextTakeover = response->serverNoContextTakeover;
        params.clientNoContextTakeover = response->clientNoContextTakeover;
        params.serverMaxWindowBits = response->serverMaxWindowBits.value_or(15);
        params.clientMaxWindowBits = response->clientMaxWindowBits.value_or(15);
        // A server accepts these requests by echoing them (§7.1.1.1, §7.1.2.1). Without
        // the echo the response describes a server that keeps its context or uses a
        // full window, which we can inflate all the same: noted, not fatal.
        if (offer->serverNoContextTakeover && !response->serverNoContextTakeover) {
            result.notes << QStringLiteral("the server did not confirm server_no_context_takeover, "
                                           "which was requested (RFC 7692 §7.1.1.1)");
        }
        if (offer->clientMaxWindowBits && response->clientMaxWindowBits &&
            *response->clientMaxWindowBits > *offer->clientMaxWindowBits) {
            // §7.1.2.2 has the server answer "equal to or smaller"; a larger limit
            // binds us to nothing we did not promise: we keep to our own.
            result.notes << QStringLiteral("the server answered client_max_window_bits=%1, above "
                                           "the %2 offered; the client keeps to %2 "
                                           "(RFC 7692 §7.1.2.2)")
                                .arg(*response->clientMaxWindowBits)
                                .arg(*offer->clientMaxWindowBits);
        }
        if (offer->serverMaxWindowBits && !response->serverMaxWindowBits) {
            result.notes << QStringLiteral("the server did not confirm server_max_window_bits=%1, "
                                           "which was requested (RFC 7692 §7.1.2.1)")
                                .arg(*offer->serverMaxWindowBits);
        }
        result.params = params;
        return result;
    }
    result.error = firstMismatch.isEmpty()
                       ? QStringLiteral("no valid permessage-deflate offer was made")
                       : QStringLiteral("invalid permessage-deflate response '%1': %2")
                             .arg(QString::fromLatin1(formatExtensions(answers)), firstMismatch);
    return result;
}

DeflateNegotiation negotiateDeflateServer(const QList<ExtensionParams> &offers,
                                          const DeflateConfig &config) {
    DeflateNegotiation result;
    if (config.policy == DeflatePolicy::Refuse)
        return result;
    int index = 0;
    for (const ExtensionParams &element : offers) {
        if (!isDeflate(element))
            continue;
        ++index;
        QString why;
        const std::optional<DeflateOffer> offer = parseElement(element, Side::Offer, &why);
        if (!offer) {
            // RFC 7692 §7.1: an invalid offer is declined, and the next one considered.
            result.notes << QStringLiteral("declined permessage-deflate offer %1 '%2': %3")
                                .arg(index)
                                .arg(QString::fromLatin1(formatExtensions({element})), why);
            continue;
        }
        DeflateParams &params = result.params.emplace();
        ExtensionParams &response = result.response;
        response.name = kPermessageDeflate;
        // §7.1.1.1: accepting the request means including it; the server may also
        // announce it unasked.
        params.serverNoContextTakeover =
            offer->serverNoContextTakeover || config.serverNoContextTakeover;
        if (params.serverNoContextTakeover)
            addParam(response, kServerNoContextTakeover);
        // §7.1.1.2: the server may echo the client's announcement or ask for it.
        params.clientNoContextTakeover =
            offer->clientNoContextTakeover || config.clientNoContextTakeover;
        if (params.clientNoContextTakeover)
            addParam(response, kClientNoContextTakeover);
        // §7.1.2.1: the same or a smaller value than offered; may be sent unasked.
        params.serverMaxWindowBits = std::min(offer->serverMaxWindowBits.value_or(15),
                                              clampWindowBits(config.serverMaxWindowBits));
        if (offer->serverMaxWindowBits || params.serverMaxWindowBits < 15)
            addParam(response, kServerMaxWindowBits, params.serverMaxWindowBits);
        // §7.1.2.2: only when offered, and not above the client's own value.
        const int clientBits = clampWindowBits(config.clientMaxWindowBits);
        if (offer->clientMaxWindowBitsOffered && clientBits < 15) {
            params.clientMaxWindowBits =
                std::min(clientBits, offer->clientMaxWindowBits.value_or(15));
            addParam(response, kClientMaxWindowBits, params.clientMaxWindowBits);
        }
        return result;
    }
    if (config.policy == DeflatePolicy::Require) {
        result.error = index == 0 ? QStringLiteral("the client did not offer permessage-deflate, "
                                                   "which this server requires")
                                  : QStringLiteral("the client made no acceptable "
                                                   "permessage-deflate offer, which this server "
                                                   "requires");
    }
    return result;
}

// ---------------------------------------------------------------------------
// The transform

struct PerMessageDeflate::Streams {
    z_stream inflater{};
    bool inflaterReady = false;
    bool inflaterFresh = true; // nothing inflated since the last reset
    z_stream deflater{};
    bool deflaterReady = false;

    Streams() = default;
    Streams(const Streams &) = delete;
    Streams &operator=(const Streams &) = delete;
    ~Streams() {
        if (inflaterReady)
            inflateEnd(&inflater);
        if (deflaterReady)
            deflateEnd(&deflater);
    }
};

PerMessageDeflate::PerMessageDeflate(Role role, const DeflateParams &params,
                                     const DeflateConfig &config)
    : m_role(role)
    , m_params(params)
    , m_config(config)
    , m_streams(std::make_unique<Streams>()) {
    const int ownLimit = clampWindowBits(role == Role::Server ? config.serverMaxWindowBits
                                                              : config.clientMaxWindowBits);
    m_deflateWindowBits = std::min(clampWindowBits(params.maxWindowBits(role)), ownLimit);
    m_deflateReset =
        params.noContextTakeover(role) ||
        (role == Role::Server ? config.serverNoContextTakeover : config.clientNoContextTakeover);
    m_inflateReset = params.noContextTakeover(peerRole(role));
    m_config.compressionLevel = std::clamp(config.compressionLevel, -1, 9);
    m_config.memoryLevel = std::clamp(config.memoryLevel, 1, 9);
}

PerMessageDeflate::~PerMessageDeflate() = default;

int PerMessageDeflate::zlibDeflateWindowBits() const {
    // zlib cannot deflate with a 256-byte window; with 512 it never refers further
    // back than 250 bytes, which an 8-bit peer can follow (see the header).
    return std::max(m_deflateWindowBits, 9);
}

MessageExtension::Decoded PerMessageDeflate::decodeMessage(QByteArrayView payload, quint8 rsv,
                                                           qint64 maxSize) {
    m_lastError.clear();
    if ((rsv & Rsv1Bit) == 0 || payload.isEmpty()) {
        // Not compressed; or compressed with no DEFLATE data at all, which can only be
        // an empty message (appending the tail would start a stored block it never ends).
        if (payload.size() > maxSize)
            return {{}, ProtocolError::MessageTooBig};
        return {payload.toByteArray(), std::nullopt};
    }
    Streams &s = *m_streams;
    if (!s.inflaterReady) {
        if (inflateInit2(&s.inflater, -kInflateWindowBits) != Z_OK) {
            m_lastError = QStringLiteral("cannot set up inflate: %1").arg(zlibError(s.inflater, 0));
            return {{}, ProtocolError::DecompressionFailed};
        }
        s.inflaterReady = true;
    } else if (m_inflateReset && !s.inflaterFresh) {
        // RFC 7692 §7.1.1: the peer starts every message with an empty window.
        inflateReset(&s.inflater);
    }
    s.inflaterFresh = false;

    BoundedOutput out(maxSize, outputGuess(payload.size()));
    const auto failed = [&](InflateStatus status, QString why) -> Decoded {
        m_stats.largestInflateBuffer = std::max(m_stats.largestInflateBuffer, out.largestBuffer());
        // The stream is in an unknown state: whatever comes next starts afresh.
        inflateReset(&s.inflater);
        s.inflaterFresh = true;
        if (status == InflateStatus::TooBig) {
            m_lastError = QStringLiteral("inflates to more than %1 bytes").arg(maxSize);
            return {{}, ProtocolError::MessageTooBig};
        }
        m_lastError = std::move(why);
        return {{}, ProtocolError::DecompressionFailed};
    };

    QString why;
    InflateStatus status = inflateAll(s.inflater, payload, out, &why);
    if (status == InflateStatus::TooBig || status == InflateStatus::Corrupt)
        return failed(status, why);
    if (status == InflateStatus::StreamEnded) {
        // The message ended with a final block and without the stored-block header
        // §7.2.3.4 puts after it: the tail would be read as the start of a stored
        // block. Nothing is missing, so the tail is left out; the next message
        // continues with a new stream.
        if (!restartKeepingWindow(s.inflater))
            return failed(InflateStatus::Corrupt, QStringLiteral("cannot restart inflate"));
    } else {
        // RFC 7692 §7.2.2: append 00 00 ff ff, completing the empty stored block.
        status = inflateAll(s.inflater, QByteArrayView(kTail, sizeof kTail), out, &why);
        if (status == InflateStatus::StreamEnded) {
            return failed(InflateStatus::Corrupt,
                          QStringLiteral("the appended 00 00 ff ff completes a final block: the "
                                         "message's last block is cut short"));
        }
        if (status != InflateStatus::Done)
            return failed(status, why);
        if (!atBlockBoundary(s.inflater)) {
            return failed(InflateStatus::Corrupt,
                          QStringLiteral("the message ends inside a DEFLATE block; it must end "
                                         "with an empty stored block minus 00 00 ff ff "
                                         "(RFC 7692 §7.2.1)"));
        }
    }

    m_stats.largestInflateBuffer = std::max(m_stats.largestInflateBuffer, out.largestBuffer());
    ++m_stats.messagesInflated;
    m_stats.bytesInflatedFrom += payload.size();
    m_stats.bytesInflatedTo += out.produced();
    return {out.take(), std::nullopt};
}

quint8 PerMessageDeflate::encodeMessage(QByteArray &payload, Opcode opcode) {
    Q_UNUSED(opcode); // text and binary compress alike; control frames never come here
    const auto sendAsIs = [this]() -> quint8 {
        ++m_stats.messagesSentUncompressed;
        return 0;
    };
    if (payload.isEmpty() || payload.size() < m_config.compressionThreshold)
        return sendAsIs();

    Streams &s = *m_streams;
    if (!s.deflaterReady) {
        if (deflateInit2(&s.deflater, m_config.compressionLevel, Z_DEFLATED,
                         -zlibDeflateWindowBits(), m_config.memoryLevel,
                         Z_DEFAULT_STRATEGY) != Z_OK) {
            return sendAsIs(); // out of memory: the message goes as it is
        }
        s.deflaterReady = true;
    }
    z_stream &zs = s.deflater;

    // Enough for incompressible input plus the flush's empty stored block; grown if not.
    QByteArray out(qsizetype(deflateBound(&zs, uLong(payload.size())) + 16), Qt::Uninitialized);
    qint64 produced = 0;
    const char *next = payload.constData();
    qint64 left = payload.size();
    zs.avail_in = 0;
    bool ok = true;
    for (;;) {
        if (zs.avail_in == 0 && left > 0) {
            const qint64 chunk = std::min(left, kMaxChunk);
            zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(next));
            zs.avail_in = uInt(chunk);
            next += chunk;
            left -= chunk;
        }
        if (produced == out.size())
            out.resize(out.size() * 2);
        const qint64 room = std::min<qint64>(out.size() - produced, kMaxChunk);
        zs.next_out = reinterpret_cast<Bytef *>(out.data() + produced);
        zs.avail_out = uInt(room);
        // RFC 7692 §7.2.1: end the message on a byte boundary with an empty stored block.
        const int flush = left == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
        const int code = deflate(&zs, flush);
        produced += room - qint64(zs.avail_out);
        if (code != Z_OK && code != Z_BUF_ERROR) {
            ok = false;
            break;
        }
        if (flush == Z_SYNC_FLUSH && zs.avail_in == 0 && zs.avail_out > 0)
            break;
    }
    const QByteArrayView tail(kTail, sizeof kTail);
    ok = ok && produced >= 4 && QByteArrayView(out).sliced(produced - 4, 4) == tail;
    Q_ASSERT(ok);
    // RFC 7692 §7.2.1: "Remove 4 octets (that are 0x00 0x00 0xff 0xff) from the tail end".
    produced -= 4;
    if (!ok || (m_config.skipIneffective && produced >= payload.size())) {
        // The compressor's window now holds bytes the peer will never see.
        deflateReset(&zs);
        return sendAsIs();
    }
    if (m_deflateReset)
        deflateReset(&zs); // RFC 7692 §7.1.1: the next message starts with an empty window
    out.resize(qsizetype(produced));
    ++m_stats.messagesDeflated;
    m_stats.bytesDeflatedFrom += payload.size();
    m_stats.bytesDeflatedTo += produced;
    payload = std::move(out);
    return Rsv1Bit;
}

MessageExtension::Decoded PerMessageDeflate::inflateForInspection(QByteArrayView compressed,
                                                                  qint64 maxSize) {
    z_stream zs{};
    if (inflateInit2(&zs, -kInflateWindowBits) != Z_OK)
        return {{}, ProtocolError::DecompressionFailed};
    // The tail is not needed to see the bytes: it only completes an empty block,
    // and a single frame of a longer message may end anywhere.
    BoundedOutput out(maxSize, outputGuess(compressed.size()));
    QString why;
    const InflateStatus status = inflateAll(zs, compressed, out, &why);
    inflateEnd(&zs);
    Decoded result{out.take(), std::nullopt};
    if (status == InflateStatus::TooBig)
        result.error = ProtocolError::MessageTooBig;
    else if (status == InflateStatus::Corrupt)
        result.error = ProtocolError::DecompressionFailed;
    return result;
}

} // namespace ws

#pragma once

// Helpers shared by the protocol unit tests: byte literals, payload generators,
// an independent reference masker, the ways a byte string is cut into feed()
// calls and the events a Session has queued. Header-only, so every tst_*.cpp
// stays one file.

#include "protocol/session.h"

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QRandomGenerator>
#include <QString>

#include <optional>
#include <variant>

namespace ws::test {

// RFC 6455 §1.3: the sample nonce and the accept value computed from it.
inline const QByteArray kSampleKey = "dGhlIHNhbXBsZSBub25jZQ==";
inline const QByteArray kSampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

// RFC 6455 §5.7: the masking key of the masked "Hello" examples.
inline constexpr quint32 kSampleMaskKey = 0x37fa213d;

// RFC 6455 §1.2, the client's handshake, with our header order (Version before
// Origin) and CRLF line ends.
inline const QByteArray kSampleRequest = "GET /chat HTTP/1.1\r\n"
                                         "Host: server.example.com\r\n"
                                         "Upgrade: websocket\r\n"
                                         "Connection: Upgrade\r\n"
                                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                         "Sec-WebSocket-Version: 13\r\n"
                                         "Origin: http://example.com\r\n"
                                         "Sec-WebSocket-Protocol: chat, superchat\r\n"
                                         "\r\n";

// RFC 6455 §1.2, the server's handshake, byte for byte.
inline const QByteArray kSampleResponse = "HTTP/1.1 101 Switching Protocols\r\n"
                                          "Upgrade: websocket\r\n"
                                          "Connection: Upgrade\r\n"
                                          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                                          "Sec-WebSocket-Protocol: chat\r\n"
                                          "\r\n";

// The client options that produce kSampleRequest: RFC 6455 §1.2's client.
inline ClientHandshakeOptions sampleOptions() {
    ClientHandshakeOptions options;
    options.host = "server.example.com";
    options.resourceName = "/chat";
    options.origin = "http://example.com";
    options.subprotocols = {"chat", "superchat"};
    return options;
}

inline QByteArray hex(const char *text) {
    return QByteArray::fromHex(text);
}

// A payload whose bytes differ from their neighbours, so a misplaced byte
// shows.
inline QByteArray pattern(qsizetype size) {
    QByteArray bytes(size, Qt::Uninitialized);
    for (qsizetype i = 0; i < size; ++i)
        bytes[i] = char((i * 7 + 3) & 0xFF);
    return bytes;
}

// Valid UTF-8 of exactly `size` bytes, characters of one to four bytes mixed, so
// that pieces cut at any byte split some of them.
inline QByteArray utf8Pattern(qsizetype size) {
    static const QByteArray unit = QByteArray("a\xc3\xa9 \xe2\x82\xac\xf0\x9d\x84\x9e.");
    QByteArray text;
    text.reserve(size);
    while (text.size() + unit.size() <= size)
        text.append(unit);
    text.append(QByteArray(size - text.size(), 'z'));
    return text;
}

// The key byte that masks payload byte `index` of a frame: RFC 6455 §5.3,
// "j = i MOD 4; transformed-octet-i = original-octet-i XOR
// masking-key-octet-j", with the key's first octet on the wire in the top bits
// of `key`.
inline char referenceKeyByte(quint32 key, quint64 index) {
    return static_cast<char>(key >> (24 - 8 * (index % 4)));
}

// RFC 6455 §5.3 written out byte by byte, independent of masking.cpp; `phase`
// is the index in the frame's payload of the first byte of `bytes`.
inline QByteArray referenceMask(QByteArray bytes, quint32 key, quint64 phase = 0) {
    for (qsizetype i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<char>(bytes[i] ^ referenceKeyByte(key, phase + quint64(i)));
    return bytes;
}

// A frame as a peer writes it, minimal length, masked when a key is given. Kept
// independent of FrameEncoder so the tests do not check the code against itself.
inline QByteArray wireFrame(quint8 firstByte, QByteArrayView payload,
                            std::optional<quint32> key = {}) {
    QByteArray out;
    out.append(char(firstByte));
    const quint8 maskBit = key ? 0x80 : 0;
    const quint64 size = quint64(payload.size());
    if (size <= 125) {
        out.append(char(maskBit | size));
    } else if (size <= 0xFFFF) {
        out.append(char(maskBit | 126));
        out.append(char(size >> 8)).append(char(size));
    } else {
        out.append(char(maskBit | 127));
        for (int i = 7; i >= 0; --i)
            out.append(char(size >> (8 * i)));
    }
    if (!key) {
        out.append(payload);
        return out;
    }
    const char keyBytes[4] = {char(*key >> 24), char(*key >> 16), char(*key >> 8), char(*key)};
    out.append(keyBytes, 4);
    out.append(referenceMask(payload.toByteArray(), *key));
    return out;
}

using Split = QPair<QString, QList<QByteArray>>;

// The ways a byte string is cut into feed() calls: whole, one byte at a time,
// and random cut points from fixed seeds, so a failing split can be replayed.
inline QList<Split> splits(const QByteArray &bytes) {
    QList<Split> result;
    result.append({QStringLiteral("whole"), {bytes}});
    QList<QByteArray> single;
    for (char c : bytes)
        single.append(QByteArray(1, c));
    result.append({QStringLiteral("byte by byte"), single});
    for (quint32 seed = 1; seed <= 6; ++seed) {
        QRandomGenerator random(seed);
        QList<QByteArray> pieces;
        qsizetype pos = 0;
        while (pos < bytes.size()) {
            const qsizetype size = 1 + random.bounded(qMax<qsizetype>(1, bytes.size() / 3));
            pieces.append(bytes.mid(pos, size));
            pos += size;
        }
        result.append({QStringLiteral("random split, seed %1").arg(seed), pieces});
    }
    return result;
}

// Every event the session has queued, in order.
inline QList<SessionEvent> takeEvents(Session &session) {
    QList<SessionEvent> events;
    while (session.hasEvent())
        events.append(session.takeEvent());
    return events;
}

// The events of one kind, in order.
template <typename T> QList<T> eventsOf(const QList<SessionEvent> &events) {
    QList<T> matching;
    for (const SessionEvent &event : events)
        if (const T *typed = std::get_if<T>(&event))
            matching.append(*typed);
    return matching;
}

} // namespace ws::test

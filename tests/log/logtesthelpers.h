#pragma once

// Builders shared by the log tests (and the GUI tests): session events made from
// exact bytes, a client/server Session pair connected in memory, and a large log.

#include "log/logstore.h"
#include "protocol/frameencoder.h"
#include "protocol/session.h"

#include <QByteArray>
#include <QList>

#include <memory>
#include <optional>

namespace wstest {

// A frame event as the decoder reports it: header from the fields, raw header
// serialized from it, payload unmasked.
inline ws::FrameEvent frameEvent(ws::Direction direction, qint64 timeUs, quint8 opcode,
                                 const QByteArray &payload, bool fin = true,
                                 std::optional<quint32> key = std::nullopt,
                                 std::optional<ws::LengthEncoding> encoding = std::nullopt) {
    ws::FrameEvent event;
    event.direction = direction;
    event.timestampUs = timeUs;
    event.queuedUs = timeUs; // a send written at once
    ws::FrameHeader &h = event.frame.header;
    h.fin = fin;
    h.opcode = opcode;
    h.maskingKey = key;
    h.payloadLength = quint64(payload.size());
    h.lengthEncoding = encoding.value_or(ws::minimalEncoding(h.payloadLength));
    event.frame.rawHeader = ws::serializeHeader(h);
    event.frame.payload = payload;
    if (opcode == 0x8 && payload.size() >= 2) {
        event.frame.closeCode = quint16((quint8(payload[0]) << 8) | quint8(payload[1]));
        event.frame.closeReason = QString::fromUtf8(payload.mid(2));
    }
    return event;
}

inline ws::MessageEvent messageEvent(ws::Direction direction, qint64 timeUs, ws::Opcode type,
                                     const QByteArray &data, int frameCount = 1,
                                     bool compressed = false) {
    ws::MessageEvent event;
    event.direction = direction;
    event.timestampUs = timeUs;
    event.queuedUs = timeUs; // a send written at once
    event.message.type = type;
    event.message.data = data;
    event.message.frameCount = frameCount;
    event.message.compressed = compressed;
    event.message.wireSize = data.size();
    return event;
}

// The events a single-frame text message produces: its frame, then the message.
inline QList<ws::SessionEvent> textMessage(ws::Direction direction, qint64 timeUs,
                                           const QByteArray &text,
                                           std::optional<quint32> key = std::nullopt) {
    return {frameEvent(direction, timeUs, 0x1, text, true, key),
            messageEvent(direction, timeUs, ws::Opcode::Text, text)};
}

// A client and a server Session talking through memory, as the protocol tests do.
// Every event either side reports is kept, with the side it came from.
class SessionPair {
public:
    static constexpr quint32 ClientConnection = 1;
    static constexpr quint32 ServerConnection = 2;

    explicit SessionPair(quint32 clientKey = 0x37fa213d) {
        ws::ClientHandshakeOptions options;
        options.host = "example.com";
        options.port = 80;
        options.resourceName = "/chat";
        client = std::make_unique<ws::Session>(options, ws::SessionOptions{},
                                               ws::MaskingKeySource::fixed(clientKey),
                                               QByteArray("dGhlIHNhbXBsZSBub25jZQ=="));
        server = std::make_unique<ws::Session>(ws::SessionOptions{});
        client->start(now);
        pump();
    }

    // Moves bytes both ways until both are quiet; the server accepts any upgrade.
    void pump() {
        for (int round = 0; round < 64; ++round) {
            now += 1000;
            bool moved = false;
            if (client->hasOutgoing()) {
                server->receiveData(client->takeOutgoing(), now);
                moved = true;
            }
            collect(*server, ServerConnection);
            if (server->hasOutgoing()) {
                client->receiveData(server->takeOutgoing(), now);
                moved = true;
            }
            collect(*client, ClientConnection);
            if (!moved)
                return;
        }
    }

    // A short conversation with a bit of everything: text both ways, a binary message
    // from the server, a ping and its pong, a message in 8-byte fragments and a clean
    // close. Returns false (a test then fails) if a send is refused.
    bool converse(const QByteArray &serverBinary) {
        bool sent = true;
        const auto step = [&](ws::SendError result) {
            sent = sent && result == ws::SendError::None;
            pump();
        };
        step(client->sendText("Hello", now));
        step(server->sendBinary(serverBinary, now));
        step(client->sendPing("rt", now));
        step(client->sendText("fragmented message", now, 8));
        step(client->sendClose(1000, QStringLiteral("done"), now));
        return sent;
    }

    struct Tagged {
        quint32 connection;
        ws::SessionEvent event;
    };
    QList<Tagged> events;
    std::unique_ptr<ws::Session> client;
    std::unique_ptr<ws::Session> server;
    qint64 now = 1'000'000;

private:
    void collect(ws::Session &session, quint32 connection) {
        while (session.hasEvent()) {
            ws::SessionEvent event = session.takeEvent();
            if (const auto *handshake = std::get_if<ws::HandshakeEvent>(&event);
                handshake && handshake->kind == ws::HandshakeEvent::Kind::UpgradeRequested)
                session.accept({}, {}, nullptr, now);
            events.append({connection, std::move(event)});
        }
    }
};

// `count` short text messages on one connection: a log that is large without being
// slow to make.
inline void recordManyMessages(ws::log::LogStore &store, int count) {
    store.setConnectionInfo(1, {QStringLiteral("bulk"), QStringLiteral("ws://example.com/bulk")});
    for (int i = 0; i < count; ++i) {
        ws::log::LogRecord r;
        r.connection = 1;
        r.kind = ws::log::LogKind::Text;
        r.timestampUs = 1'700'000'000'000'000 + i;
        r.payload = "message number " + QByteArray::number(i);
        r.length = quint64(r.payload.size());
        r.frameCount = 1;
        r.set(ws::log::LogRecord::InMessageView);
        r.set(ws::log::LogRecord::Outgoing, i % 2 == 0);
        store.appendRecord(r);
    }
}

} // namespace wstest

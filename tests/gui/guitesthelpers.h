#pragma once

// Builders shared by the GUI tests: session events made from exact bytes, a
// client/server Session pair connected in memory, and the steps the window tests
// share: test settings, the panel's echo server, log lookups and closing.

#include "log/logrecord.h"
#include "models/messagelogmodel.h"
#include "protocol/frameencoder.h"
#include "protocol/session.h"
#include "windows/mainwindow.h"
#include "windows/serverpanel.h"

#include <QByteArray>
#include <QComboBox>
#include <QCoreApplication>
#include <QGuiApplication>
#include <QList>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTest>

#include <functional>
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
        client->start();
        pump();
    }

    // Moves bytes both ways until both are quiet; the server accepts any upgrade.
    void pump() {
        for (int round = 0; round < 64; ++round) {
            now += 1000;
            client->setTime(now);
            server->setTime(now);
            bool moved = false;
            if (client->hasOutgoing()) {
                server->receiveData(client->takeOutgoing());
                moved = true;
            }
            collect(*server, ServerConnection);
            if (server->hasOutgoing()) {
                client->receiveData(server->takeOutgoing());
                moved = true;
            }
            collect(*client, ClientConnection);
            if (!moved)
                return;
        }
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
                session.accept();
            events.append({connection, std::move(event)});
        }
    }
};

// The offscreen platform warns each time a window's size hints change; nothing to
// act on, and it would bury the messages that matter.
inline QtMessageHandler previousMessageHandler = nullptr;

inline void quietMessageHandler(QtMsgType type, const QMessageLogContext &context,
                                const QString &message) {
    if (message == QLatin1String("This plugin does not support propagateSizeHints()"))
        return;
    previousMessageHandler(type, context, message);
}

// Settings and QStandardPaths in test locations, so that a run never reads or
// writes the user's own; windows closed and reopened within a test do not quit
// the application. True when QSettings writes below `directory`.
inline bool setUpWindowTests(const QString &directory, const QString &applicationName) {
    previousMessageHandler = qInstallMessageHandler(quietMessageHandler);
    QStandardPaths::setTestModeEnabled(true);
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, directory);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, directory);
    QCoreApplication::setOrganizationName(QStringLiteral("WebSocket Workbench Tests"));
    QCoreApplication::setApplicationName(applicationName);
    QGuiApplication::setQuitOnLastWindowClosed(false);
    return QSettings().fileName().startsWith(directory);
}

// Starts the server panel's echo server on a port the OS picks; returns the port,
// 0 when it did not start.
inline quint16 startEchoServer(ws::MainWindow &window) {
    ws::ServerPanel *panel = window.serverPanel();
    panel->portSpin()->setValue(0);
    panel->modeCombo()->setCurrentIndex(panel->modeCombo()->findText(QStringLiteral("echo")));
    QTest::mouseClick(panel->startButton(), Qt::LeftButton);
    return panel->boundPort();
}

// Closes the window (close handshakes included) and waits until it is hidden.
inline void closeWindow(ws::MainWindow &window) {
    window.close();
    QTRY_VERIFY_WITH_TIMEOUT(!window.isVisible(), ws::MainWindow::CloseGraceMs + 1000);
}

using RecordMatch = std::function<bool(const ws::LogRecord &)>;

// The store index of the last record of `connection` that `match` accepts, or -1.
inline qsizetype findRecord(const ws::MessageLogModel &log, quint32 connection,
                            const RecordMatch &match) {
    const ws::LogStore &store = log.store();
    for (qsizetype i = store.size() - 1; i >= 0; --i) {
        const ws::LogRecord &record = store.at(i);
        if (record.connection == connection && match(record))
            return i;
    }
    return -1;
}

// findRecord() once such a record has been logged, processing events meanwhile; -1
// when none is within `timeoutMs`.
inline qsizetype waitForRecord(const ws::MessageLogModel &log, quint32 connection,
                               const RecordMatch &match, int timeoutMs) {
    qsizetype index = -1;
    if (!QTest::qWaitFor([&] { return (index = findRecord(log, connection, match)) >= 0; },
                         timeoutMs))
        return -1;
    return index;
}

// Matches for findRecord(): by kind, and by which way the record went.
inline RecordMatch ofKind(ws::LogKind kind) {
    return [kind](const ws::LogRecord &r) { return r.kind == kind; };
}

inline RecordMatch outgoing(ws::LogKind kind) {
    return
        [kind](const ws::LogRecord &r) { return r.kind == kind && r.has(ws::LogRecord::Outgoing); };
}

inline RecordMatch incoming(ws::LogKind kind) {
    return [kind](const ws::LogRecord &r) {
        return r.kind == kind && !r.has(ws::LogRecord::Outgoing);
    };
}

inline RecordMatch incoming(ws::LogKind kind, const QByteArray &payload) {
    return [kind, payload](const ws::LogRecord &r) {
        return r.kind == kind && !r.has(ws::LogRecord::Outgoing) && r.payload == payload;
    };
}

// Any kind of record received with exactly `payload`.
inline RecordMatch incomingPayload(const QByteArray &payload) {
    return [payload](const ws::LogRecord &r) {
        return !r.has(ws::LogRecord::Outgoing) && r.payload == payload;
    };
}

// `count` short text messages on one connection: a log that is large without being
// slow to make.
inline void recordManyMessages(ws::LogStore &store, int count) {
    store.setConnectionInfo(1, {QStringLiteral("bulk"), QStringLiteral("ws://example.com/bulk")});
    for (int i = 0; i < count; ++i) {
        ws::LogRecord r;
        r.connection = 1;
        r.kind = ws::LogKind::Text;
        r.timestampUs = 1'700'000'000'000'000 + i;
        r.payload = "message number " + QByteArray::number(i);
        r.length = quint64(r.payload.size());
        r.frameCount = 1;
        r.set(ws::LogRecord::InMessageView);
        r.set(ws::LogRecord::Outgoing, i % 2 == 0);
        store.appendRecord(r);
    }
}

} // namespace wstest

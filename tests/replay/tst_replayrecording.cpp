// Choosing a connection of a saved log and reading one side of it into steps.
#include "replay/recording.h"
#include "replay/replayplayer.h"

#include "log/jsonlinesfile.h"

#include <QBuffer>
#include <QTest>

using namespace ws::replay;

namespace {

QByteArray b64(const QByteArray &text) {
    return text.toBase64();
}

QByteArray record(quint32 conn, qint64 timeUs, const char *dir, const char *kind,
                  const QByteArray &payload = {}, const QByteArray &more = {}) {
    QByteArray line = R"({"type":"record","conn":)" + QByteArray::number(conn) + R"(,"time_us":)" +
                      QByteArray::number(timeUs) + R"(,"dir":")" + dir + R"(","kind":")" + kind +
                      R"(","rows":"both","length":)" + QByteArray::number(payload.size());
    if (!payload.isEmpty())
        line += R"(,"payload":")" + b64(payload) + '"';
    return line + more + "}\n";
}

// A control frame record needs its frame header.
QByteArray control(quint32 conn, qint64 timeUs, const char *dir, const char *kind, int opcode,
                   const QByteArray &payload, const QByteArray &more = {}) {
    return record(conn, timeUs, dir, kind, payload,
                  R"(,"frame":{"fin":true,"rsv1":false,"rsv2":false,"rsv3":false,"opcode":)" +
                      QByteArray::number(opcode) + R"(,"mask":false,"length":)" +
                      QByteArray::number(payload.size()) + R"(,"length_encoding":7})" + more);
}

QByteArray handshake(quint32 conn, qint64 timeUs, const char *kind, const char *request,
                     const char *response) {
    return record(conn, timeUs, "sent", "handshake", {},
                  QByteArray(R"(,"handshake":{"kind":")") + kind + R"(","request":")" + request +
                      R"(","response":")" + response + R"(","status":101})");
}

const char *Request = "GET /chat?x=1 HTTP/1.1\\r\\nHost: old.example:8080\\r\\nUpgrade: "
                      "websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Key: "
                      "dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\nOrigin: "
                      "https://app.example\\r\\nSec-WebSocket-Protocol: v2.chat, "
                      "v1.chat\\r\\nSec-WebSocket-Extensions: permessage-deflate; "
                      "client_max_window_bits, x-other\\r\\nAuthorization: Bearer "
                      "abc\\r\\nX-Trace: 7\\r\\n\\r\\n";
const char *Response = "HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\n"
                       "Connection: Upgrade\\r\\nSec-WebSocket-Protocol: v2.chat\\r\\n\\r\\n";

// Connection 3: a server's peer (recorded by a server); 5: our client; 7: a client
// that never opened.
QByteArray sampleLog() {
    QByteArray log = R"({"creator":"test","format":"wsworkbench-log","version":1})"
                     "\n";
    log += R"({"type":"connection","id":3,"name":"peer 1","url":"ws://127.0.0.1:9001/"})"
           "\n";
    log += R"({"type":"connection","id":5,"name":"client 2","url":"ws://127.0.0.1:9001/chat"})"
           "\n";
    log += R"({"type":"connection","id":7,"name":"client 3","url":"ws://127.0.0.1:1/"})"
           "\n";
    const qint64 t0 = 1'700'000'000'000'000;
    log += handshake(3, t0, "upgrade-requested", Request, Response);
    log += record(3, t0 + 1000, "sent", "text", "welcome"); // server first
    log += record(3, t0 + 5000, "received", "text", "hi");  // client
    log += record(3, t0 + 6000, "sent", "text", "hi back"); // server
    log += handshake(5, t0 + 10'000, "accepted", Request, Response);
    log += record(5, t0 + 10'500, "received", "text", R"({"hello":"S1"})");
    log += record(5, t0 + 110'000, "sent", "text", "first",
                  R"(,"send_delay_us":200)"); // asked at +99.8 ms
    log += control(5, t0 + 120'000, "received", "ping", 9, "srv", R"(,"answered":true)");
    log += control(5, t0 + 120'100, "sent", "pong", 10, "srv"); // automatic: not a step
    log += control(5, t0 + 150'000, "sent", "ping", 9, "mine");
    log += control(5, t0 + 150'400, "received", "pong", 10, "mine"); // answer: not a step
    log += record(5, t0 + 160'000, "received", "binary", QByteArray("\x01\x02", 2));
    log += record(5, t0 + 300'000, "sent", "binary", QByteArray("\x00\xff", 2), R"(,"frames":2)");
    log += control(5, t0 + 400'000, "sent", "close", 8, QByteArray("\x0f\xa0") + "bye",
                   R"(,"close_code":4000,"close_reason":"bye")");
    log += control(5, t0 + 401'000, "received", "close", 8, QByteArray("\x0f\xa0"),
                   R"(,"close_code":4000,"close_reason":"")"); // the answer: not a step
    log += record(7, t0 + 500'000, "none", "error", "connection refused", R"(,"failure":true)");
    return log;
}

ws::log::LogStore *loadSample(ws::log::LogStore &store) {
    QByteArray bytes = sampleLog();
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::ReadOnly);
    QString error;
    if (!ws::log::JsonLinesFile::open(buffer, store, &error))
        qFatal("sample log: %s", qPrintable(error));
    return &store;
}

} // namespace

class TestReplayRecording : public QObject {
    Q_OBJECT
private slots:
    void listsConnections();
    void choosesConnection_data();
    void choosesConnection();
    void refusesWhatCannotBeReplayed_data();
    void refusesWhatCannotBeReplayed();
    void readsTheRequest();
    void clientSideSteps();
    void serverSideSteps();
    void recordedRequestOnClientOptions();
    void userHeadersWin();
    void noRecordedHeaders();
    void unknownPlaceholderMakesThePlayerInvalid();
    void substitutionNeedsTheRecordedValue();
};

void TestReplayRecording::listsConnections() {
    ws::log::LogStore store;
    const QList<RecordedConnectionInfo> list = recordedConnections(*loadSample(store));
    QCOMPARE(list.size(), 3);
    QCOMPARE(list[0].name, QStringLiteral("peer 1"));
    QCOMPARE(list[0].recordedAs, std::optional<Side>(Side::Server));
    QCOMPARE(list[0].clientMessages, 1);
    QCOMPARE(list[0].serverMessages, 2);
    QCOMPARE(list[1].recordedAs, std::optional<Side>(Side::Client));
    QCOMPARE(list[1].clientMessages, 2);
    QCOMPARE(list[1].serverMessages, 2);
    QVERIFY(!list[2].recordedAs);
}

void TestReplayRecording::choosesConnection_data() {
    QTest::addColumn<QString>("selector");
    QTest::addColumn<quint32>("id");
    // The first one a client recorded, although a server's peer comes first.
    QTest::newRow("default") << QString() << 5u;
    QTest::newRow("index 1") << "1" << 3u;
    QTest::newRow("index 2") << "2" << 5u;
    QTest::newRow("by name") << "peer 1" << 3u;
    QTest::newRow("by other name") << "client 2" << 5u;
}

void TestReplayRecording::choosesConnection() {
    QFETCH(QString, selector);
    QFETCH(quint32, id);
    ws::log::LogStore store;
    QString error;
    const std::optional<Recording> recording = loadRecording(*loadSample(store), selector, &error);
    QVERIFY2(recording, qPrintable(error));
    QCOMPARE(recording->connection.id, id);
}

void TestReplayRecording::refusesWhatCannotBeReplayed_data() {
    QTest::addColumn<QString>("selector");
    QTest::addColumn<QString>("message");
    QTest::newRow("index 0") << "0"
                             << "no connection 0";
    QTest::newRow("index past the end") << "4"
                                        << "no connection 4";
    QTest::newRow("unknown name") << "client 9"
                                  << "no connection named \"client 9\"";
    QTest::newRow("never opened") << "3"
                                  << "never opened";
}

void TestReplayRecording::refusesWhatCannotBeReplayed() {
    QFETCH(QString, selector);
    QFETCH(QString, message);
    ws::log::LogStore store;
    QString error;
    QVERIFY(!loadRecording(*loadSample(store), selector, &error));
    QVERIFY2(error.contains(message), qPrintable(error));
}

void TestReplayRecording::readsTheRequest() {
    ws::log::LogStore store;
    const Recording r = *loadRecording(*loadSample(store), QString(), nullptr);
    QCOMPARE(r.resourceName, QByteArray("/chat?x=1"));
    QCOMPARE(r.origin, QByteArray("https://app.example"));
    QCOMPARE(r.subprotocols, (QList<QByteArray>{"v2.chat", "v1.chat"}));
    QCOMPARE(r.extensions.size(), 2);
    QCOMPARE(r.extensions[0].name, QByteArray("permessage-deflate"));
    QCOMPARE(r.customHeaders.size(), 2);
    QCOMPARE(r.customHeaders.value("Authorization"), std::optional<QByteArray>("Bearer abc"));
    QCOMPARE(r.customHeaders.value("X-Trace"), std::optional<QByteArray>("7"));
    QVERIFY(!r.customHeaders.contains("Host"));
    QCOMPARE(r.acceptedSubprotocol, QByteArray("v2.chat"));
}

void TestReplayRecording::clientSideSteps() {
    ws::log::LogStore store;
    const Recording r = *loadRecording(*loadSample(store), QStringLiteral("2"), nullptr);
    const QList<RecordedStep> steps = r.stepsOf(Side::Client);
    QCOMPARE(steps.size(), 4);
    QCOMPARE(steps[0].kind, RecordedStep::Kind::Text);
    QCOMPARE(steps[0].payload, QByteArray("first"));
    QCOMPARE(steps[0].offsetUs, 99'800); // when the send was asked for
    QCOMPARE(steps[0].serverMessagesBefore, 1);
    QCOMPARE(steps[1].kind, RecordedStep::Kind::Ping); // the automatic pong is no step
    QCOMPARE(steps[1].payload, QByteArray("mine"));
    QCOMPARE(steps[2].kind, RecordedStep::Kind::Binary);
    QCOMPARE(steps[2].payload, QByteArray("\x00\xff", 2));
    QCOMPARE(steps[2].frameCount, 2);
    QCOMPARE(steps[0].frameCount, 1);
    QCOMPARE(steps[2].serverMessagesBefore, 2);
    QCOMPARE(steps[3].kind, RecordedStep::Kind::Close);
    QCOMPARE(steps[3].closeCode, std::optional<quint16>(4000));
    QCOMPARE(steps[3].payload, QByteArray("bye"));
    // The server's side: its messages and its ping; its pong and its close answered.
    const QList<RecordedStep> server = r.stepsOf(Side::Server);
    QCOMPARE(server.size(), 3);
    QCOMPARE(server[1].kind, RecordedStep::Kind::Ping);
}

void TestReplayRecording::serverSideSteps() {
    ws::log::LogStore store;
    const Recording r = *loadRecording(*loadSample(store), QStringLiteral("peer 1"), nullptr);
    const QList<RecordedStep> server = r.stepsOf(Side::Server);
    QCOMPARE(server.size(), 2);
    QCOMPARE(server[0].payload, QByteArray("welcome"));
    QCOMPARE(server[0].clientMessagesBefore, 0); // a greeting: right after the handshake
    QCOMPARE(server[1].payload, QByteArray("hi back"));
    QCOMPARE(server[1].clientMessagesBefore, 1);
    QCOMPARE(r.stepsOf(Side::Client).size(), 1);
}

void TestReplayRecording::recordedRequestOnClientOptions() {
    ws::log::LogStore store;
    const Recording r = *loadRecording(*loadSample(store), QString(), nullptr);
    ws::ClientOptions options;
    QStringList notes;
    applyRecordedRequest(r, true, &options, &notes);
    QCOMPARE(options.subprotocols, (QList<QByteArray>{"v2.chat", "v1.chat"}));
    QCOMPARE(options.origin, QByteArray("https://app.example"));
    QCOMPARE(options.deflate.policy, ws::DeflatePolicy::Offer);
    QCOMPARE(options.extraHeaders.value("Authorization"), std::optional<QByteArray>("Bearer abc"));
    QCOMPARE(notes.size(), 1); // x-other cannot be offered
    QVERIFY(notes[0].contains(QLatin1String("x-other")));
}

void TestReplayRecording::userHeadersWin() {
    ws::log::LogStore store;
    const Recording r = *loadRecording(*loadSample(store), QString(), nullptr);
    ws::ClientOptions options;
    options.extraHeaders.add("authorization", "Bearer new");
    options.extraHeaders.add("Sec-WebSocket-Protocol", "v3.chat");
    options.extraHeaders.add("Origin", "https://other.example");
    applyRecordedRequest(r, true, &options);
    QCOMPARE(options.subprotocols, QList<QByteArray>{"v3.chat"});
    QCOMPARE(options.extraHeaders.count("Authorization"), 1);
    QCOMPARE(options.extraHeaders.value("Authorization"), std::optional<QByteArray>("Bearer new"));
    QCOMPARE(options.extraHeaders.value("Origin"),
             std::optional<QByteArray>("https://other.example"));
    QVERIFY(!options.extraHeaders.contains("Sec-WebSocket-Protocol"));
    QVERIFY(options.extraHeaders.contains("X-Trace"));
}

void TestReplayRecording::noRecordedHeaders() {
    ws::log::LogStore store;
    const Recording r = *loadRecording(*loadSample(store), QString(), nullptr);
    ws::ClientOptions options;
    options.extraHeaders.add("X-Mine", "1");
    applyRecordedRequest(r, false, &options);
    QVERIFY(options.subprotocols.isEmpty());
    QVERIFY(options.origin.isEmpty());
    QCOMPARE(options.deflate.policy, ws::DeflatePolicy::Refuse);
    QCOMPARE(options.extraHeaders.size(), 1);
}

void TestReplayRecording::unknownPlaceholderMakesThePlayerInvalid() {
    ws::log::LogStore store;
    Recording r = *loadRecording(*loadSample(store), QString(), nullptr);
    r.steps[1].payload = "use {{token}}"; // the client's "first"
    QCOMPARE(r.steps[1].side, Side::Client);
    ReplayOptions options;
    ReplayPlayer unknown(r, Side::Client, options);
    QVERIFY(!unknown.isValid());
    QVERIFY(unknown.errorString().contains(QLatin1String("{{token}}")));
    options.captures.append({QStringLiteral("token"), QStringLiteral("$.auth.token")});
    QVERIFY(ReplayPlayer(r, Side::Client, options).isValid());
    options.captures.clear();
    options.placeholders = false;
    QVERIFY(ReplayPlayer(r, Side::Client, options).isValid());
}

void TestReplayRecording::substitutionNeedsTheRecordedValue() {
    ws::log::LogStore store;
    const Recording r = *loadRecording(*loadSample(store), QString(), nullptr);
    ReplayOptions options;
    options.substitutions = {QStringLiteral("$.hello")};
    QVERIFY(ReplayPlayer(r, Side::Client, options).isValid());
    options.substitutions = {QStringLiteral("$.nowhere")};
    ReplayPlayer missing(r, Side::Client, options);
    QVERIFY(missing.errorString().contains(QLatin1String("$.nowhere")));
}

QTEST_GUILESS_MAIN(TestReplayRecording)
#include "tst_replayrecording.moc"

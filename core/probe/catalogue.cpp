#include "probe/catalogue.h"

#include "probe/cataloguehelpers.h"

#include "protocol/utf8validator.h"

#include <QRegularExpression>

namespace ws::probe {

RawFrame frame(quint8 opcode, const QByteArray &payload, bool fin, int rsv) {
    RawFrame raw;
    raw.opcode = opcode;
    raw.payload = payload;
    raw.fin = fin;
    raw.rsv1 = (rsv & 4) != 0;
    raw.rsv2 = (rsv & 2) != 0;
    raw.rsv3 = (rsv & 1) != 0;
    return raw;
}

ProbeCase makeCase(const QString &id, const QString &description, const QString &expectation,
                   const QString &rfc) {
    ProbeCase c;
    c.id = id;
    c.description = description;
    c.expectation = expectation;
    c.rfc = rfc;
    return c;
}

ExpectedClose normalClose() {
    return {};
}

ExpectedClose failedByPeer(QList<quint16> codes, bool fatal) {
    ExpectedClose close;
    close.closedByMe = false;
    close.codes = std::move(codes);
    close.requireClean = false;
    close.closedByWrongEndpointIsFatal = fatal;
    return close;
}

// A wrong close code fails the case itself (Autobahn 7.3.*, 7.5.1, 7.7.*, 7.9.*).
void wrongCodeFails(CaseResult &result) {
    if (result.behaviorClose == Verdict::WrongCode) {
        result.behavior = Verdict::Failed;
        result.result = result.resultClose;
    }
}

namespace {

constexpr quint8 Cont = 0x0, Text = 0x1, Binary = 0x2, Close = 0x8, Ping = 0x9, Pong = 0xA;

const QString RfcFraming = QStringLiteral("RFC 6455 §5.2, §5.6");
const QString RfcPing = QStringLiteral("RFC 6455 §5.5.2, §5.5.3");
const QString RfcControl = QStringLiteral("RFC 6455 §5.5");
const QString RfcRsv = QStringLiteral("RFC 6455 §5.2 (RSV1-3)");
const QString RfcOpcode = QStringLiteral("RFC 6455 §5.2 (opcode), §10.7");
const QString RfcFragment = QStringLiteral("RFC 6455 §5.4");
const QString RfcUtf8 = QStringLiteral("RFC 6455 §5.6, §8.1");
const QString RfcClose = QStringLiteral("RFC 6455 §5.5.1, §7");
const QString RfcCloseCodes = QStringLiteral("RFC 6455 §7.4");

QByteArray repeat(const QByteArray &unit, qint64 size) {
    QByteArray out;
    out.reserve(size);
    while (out.size() < size)
        out += unit;
    out.truncate(size);
    return out;
}

QString sizeName(qint64 size) {
    if (size >= 1024 * 1024 && size % (1024 * 1024) == 0)
        return QStringLiteral("%1M").arg(size / (1024 * 1024));
    if (size >= 1024 && size % 1024 == 0)
        return QStringLiteral("%1k").arg(size / 1024);
    return QString::number(size);
}

QString hex(const QByteArray &bytes) {
    return QString::fromLatin1(bytes.toHex());
}

// 1.*: text and binary messages of growing size.
void framingCases(QList<ProbeCase> &cases) {
    const QList<qint64> sizes = {0, 125, 126, 127, 128, 65535, 65536, 65536};
    for (int binary = 0; binary < 2; ++binary) {
        const QString kind = binary ? QStringLiteral("binary") : QStringLiteral("text");
        for (int i = 0; i < sizes.size(); ++i) {
            const qint64 size = sizes.at(i);
            const bool chopped = i == 7;
            const QByteArray payload = binary ? repeat("\xfe", size) : repeat("*", size);
            ProbeCase c = makeCase(
                QStringLiteral("1.%1.%2").arg(binary + 1).arg(i + 1),
                chopped ? QStringLiteral("Send %1 message message with payload of length %2. "
                                         "Sent out data in chops of 997 octets.")
                              .arg(kind)
                              .arg(size)
                        : QStringLiteral("Send %1 message with payload %2.").arg(kind).arg(size),
                QStringLiteral("Receive echo'ed %1 message (with empty payload / payload as "
                               "sent). Clean close with normal code.")
                    .arg(kind),
                RfcFraming);
            c.steps = {SendFrames{{frame(binary ? Binary : Text, payload)},
                                  chopped ? Chop::octets(997) : Chop::whole()},
                       KillAfter{1000}};
            c.expected = {{Verdict::Ok, {Observation::message(payload, binary)}}};
            c.expectedClose = normalClose();
            cases.append(c);
        }
    }
}

// 2.*: pings and pongs.
void pingCases(QList<ProbeCase> &cases) {
    auto pingCase = [&](const QString &id, const QString &description, const QByteArray &payload,
                        Chop chop) {
        ProbeCase c = makeCase(id, description,
                               QStringLiteral("Pong (with payload as sent) is sent in reply to "
                                              "the Ping. Clean close with normal code."),
                               RfcPing);
        c.steps = {SendFrames{{frame(Ping, payload)}, chop}, KillAfter{1000}};
        c.expected = {{Verdict::Ok, {Observation::pong(payload)}}};
        cases.append(c);
    };
    pingCase(QStringLiteral("2.1"), QStringLiteral("Send ping without payload."), {},
             Chop::whole());
    pingCase(QStringLiteral("2.2"), QStringLiteral("Send ping with small text payload."),
             "Hello, world!", Chop::whole());
    pingCase(QStringLiteral("2.3"),
             QStringLiteral("Send ping with small binary (non UTF-8) "
                            "payload."),
             QByteArray::fromHex("00fffefdfcfb00ff"), Chop::whole());
    pingCase(QStringLiteral("2.4"), QStringLiteral("Send ping with binary payload of 125 octets."),
             repeat("\xfe", 125), Chop::whole());
    {
        ProbeCase c = makeCase(QStringLiteral("2.5"),
                               QStringLiteral("Send ping with binary payload of 126 octets."),
                               QStringLiteral("Connection is failed immediately (1002/Protocol "
                                              "Error), since control frames are only allowed to "
                                              "have payload up to and including 125 octets."),
                               RfcControl);
        c.steps = {SendFrames{{frame(Ping, repeat("\xfe", 126))}, Chop::whole()}, KillAfter{1000}};
        c.expected = {{Verdict::Ok, {}}};
        c.expectedClose = failedByPeer({1002});
        cases.append(c);
    }
    pingCase(QStringLiteral("2.6"),
             QStringLiteral("Send ping with binary payload of 125 octets, send in octet-wise "
                            "chops."),
             repeat("\xfe", 125), Chop::octets(1));
    {
        ProbeCase c = makeCase(QStringLiteral("2.7"),
                               QStringLiteral("Send unsolicited pong without payload. Verify "
                                              "nothing is received. Clean close with normal "
                                              "code."),
                               QStringLiteral("Nothing."), RfcPing);
        c.steps = {SendFrames{{frame(Pong, {})}, Chop::whole()}, SendClose{}, CloseAfter{1000}};
        c.expected = {{Verdict::Ok, {}}};
        cases.append(c);
    }
    {
        ProbeCase c = makeCase(QStringLiteral("2.8"),
                               QStringLiteral("Send unsolicited pong with payload. Verify nothing "
                                              "is received. Clean close with normal code."),
                               QStringLiteral("Nothing."), RfcPing);
        c.steps = {SendFrames{{frame(Pong, "unsolicited pong payload")}, Chop::whole()},
                   SendClose{}, CloseAfter{1000}};
        c.expected = {{Verdict::Ok, {}}};
        cases.append(c);
    }
    {
        ProbeCase c = makeCase(QStringLiteral("2.9"),
                               QStringLiteral("Send unsolicited pong with payload. Send ping with "
                                              "payload. Verify pong for ping is received."),
                               QStringLiteral("Nothing in reply to own Pong, but Pong with payload "
                                              "echo'ed in reply to Ping. Clean close with normal "
                                              "code."),
                               RfcPing);
        c.steps = {
            SendFrames{{frame(Pong, "unsolicited pong payload"), frame(Ping, "ping payload")},
                       Chop::whole()},
            KillAfter{1000}};
        c.expected = {{Verdict::Ok, {Observation::pong("ping payload")}}};
        cases.append(c);
    }
    for (int chopped = 0; chopped < 2; ++chopped) {
        ProbeCase c = makeCase(
            chopped ? QStringLiteral("2.11") : QStringLiteral("2.10"),
            chopped ? QStringLiteral("Send 10 Pings with payload. Send out octets in octet-wise "
                                     "chops.")
                    : QStringLiteral("Send 10 Pings with payload."),
            QStringLiteral("Pongs for our Pings with all the payloads. Note: This is not required "
                           "by the Spec .. but we check for this behaviour anyway. Clean close "
                           "with normal code."),
            RfcPing);
        QList<RawFrame> pings;
        QList<Observation> pongs;
        for (int i = 0; i < 10; ++i) {
            const QByteArray payload = "payload-" + QByteArray::number(i);
            pings.append(frame(Ping, payload));
            pongs.append(Observation::pong(payload));
        }
        if (chopped) {
            for (const RawFrame &ping : pings)
                c.steps.append(SendFrames{{ping}, Chop::octets(1)});
        } else {
            c.steps.append(SendFrames{pings, Chop::perFrame()});
        }
        c.steps.append(CloseAfter{3000});
        c.expected = {{Verdict::Ok, pongs}};
        cases.append(c);
    }
}

// 3.*: reserved bits.
void reservedBitCases(QList<ProbeCase> &cases) {
    const QString failNow =
        QStringLiteral("The connection is failed immediately, since RSV must be 0, when no "
                       "extension defining RSV meaning has been negotiated.");
    const QString echoThenFail =
        QStringLiteral("Echo for first message is received, but then connection is failed "
                       "immediately, since RSV must be 0, when no extension defining RSV meaning "
                       "has been negotiated. The Pong is not received.");
    const QByteArray hello = "Hello, world!";
    {
        ProbeCase c =
            makeCase(QStringLiteral("3.1"), QStringLiteral("Send small text message with RSV = 1."),
                     failNow, RfcRsv);
        c.steps = {SendFrames{{frame(Text, hello, true, 1)}, Chop::whole()}, KillAfter{1000}};
        c.expected = {{Verdict::Ok, {}}};
        c.expectedClose = failedByPeer({1002});
        cases.append(c);
    }
    const QList<std::pair<int, Chop>> echoed = {
        {2, Chop::whole()}, {3, Chop::perFrame()}, {4, Chop::octets(1)}};
    for (const auto &[rsv, chop] : echoed) {
        const QString how = chop.mode == Chop::Mode::Whole ? QString()
                            : chop.mode == Chop::Mode::PerFrame
                                ? QStringLiteral(" Octets are sent in frame-wise chops.")
                                : QStringLiteral(" Octets are sent in octet-wise chops.");
        ProbeCase c = makeCase(QStringLiteral("3.%1").arg(rsv),
                               QStringLiteral("Send small text message, then send again with RSV "
                                              "= %1, then send Ping.%2")
                                   .arg(rsv)
                                   .arg(how),
                               echoThenFail, RfcRsv);
        c.steps = {
            SendFrames{{frame(Text, hello), frame(Text, hello, true, rsv), frame(Ping, {})}, chop},
            KillAfter{1000}};
        c.expected = {{Verdict::Ok, {Observation::message(hello)}}, {Verdict::NonStrict, {}}};
        c.expectedClose = failedByPeer({1002});
        cases.append(c);
    }
    const QList<std::tuple<int, quint8, QString, QByteArray>> others = {
        {5, Binary, QStringLiteral("Send small binary message with RSV = 5."),
         QByteArray::fromHex("00fffefdfcfb00ff")},
        {6, Ping, QStringLiteral("Send Ping with RSV = 6."), hello},
        {7, Close, QStringLiteral("Send Close with RSV = 7."), QByteArray::fromHex("03e8")},
    };
    for (const auto &[rsv, opcode, description, payload] : others) {
        ProbeCase c = makeCase(QStringLiteral("3.%1").arg(rsv), description, failNow, RfcRsv);
        c.steps = {SendFrames{{frame(opcode, payload, true, rsv)}, Chop::whole()}, KillAfter{1000}};
        c.expected = {{Verdict::Ok, {}}};
        c.expectedClose = failedByPeer({1002});
        cases.append(c);
    }
}

// 4.*: reserved opcodes.
void opcodeCases(QList<ProbeCase> &cases) {
    const QByteArray hello = "Hello, world!";
    const QByteArray reservedPayload = "reserved opcode payload";
    for (int group = 1; group <= 2; ++group) {
        const quint8 first = group == 1 ? 3 : 11;
        const QString kind = group == 1 ? QStringLiteral("non-control") : QStringLiteral("control");
        for (int i = 0; i < 5; ++i) {
            const quint8 opcode = first + i;
            const bool withPayload = i != 0 && i != 2;
            const bool afterMessage = i >= 2;
            QString description =
                afterMessage ? QStringLiteral("Send small text message, then send frame with "
                                              "reserved %1 Opcode = %2%3, then send Ping.")
                             : QStringLiteral("Send frame with reserved %1 Opcode = %2%3.");
            description = description.arg(kind).arg(opcode).arg(
                withPayload ? QStringLiteral(" and non-empty payload") : QString());
            ProbeCase c = makeCase(
                QStringLiteral("4.%1.%2").arg(group).arg(i + 1), description,
                afterMessage ? QStringLiteral("Echo for first message is received, but then "
                                              "connection is failed immediately, since reserved "
                                              "opcode frame is used. A Pong is not received.")
                             : QStringLiteral("The connection is failed immediately."),
                RfcOpcode);
            QList<RawFrame> frames;
            if (afterMessage)
                frames.append(frame(Text, hello));
            frames.append(frame(opcode, withPayload ? reservedPayload : QByteArray()));
            if (afterMessage)
                frames.append(frame(Ping, {}));
            c.steps = {SendFrames{frames, Chop::whole()}, KillAfter{1000}};
            if (afterMessage)
                c.expected = {{Verdict::Ok, {Observation::message(hello)}},
                              {Verdict::NonStrict, {}}};
            else
                c.expected = {{Verdict::Ok, {}}};
            c.expectedClose = failedByPeer({1002});
            cases.append(c);
        }
    }
}

QString chopText(const Chop &chop, const QString &what) {
    switch (chop.mode) {
    case Chop::Mode::Whole:
        return what.isEmpty() ? QString() : QStringLiteral(", sent in one chop");
    case Chop::Mode::PerFrame:
        return QStringLiteral(", sent in per-frame chops");
    case Chop::Mode::Octets:
        return QStringLiteral(", sent in octet-wise chops");
    }
    return {};
}

// 5.*: fragmentation.
void fragmentationCases(QList<ProbeCase> &cases) {
    const QString failNow = QStringLiteral("The connection is failed immediately, since control "
                                           "message MUST NOT be fragmented.");
    for (int i = 1; i <= 2; ++i) {
        const quint8 opcode = i == 1 ? Ping : Pong;
        ProbeCase c = makeCase(QStringLiteral("5.%1").arg(i),
                               QStringLiteral("Send %1 fragmented into 2 fragments.")
                                   .arg(i == 1 ? QStringLiteral("Ping") : QStringLiteral("Pong")),
                               failNow, RfcFragment);
        c.steps = {SendFrames{{frame(opcode, "fragment1", false), frame(Cont, "fragment2")},
                              Chop::whole()},
                   KillAfter{1000}};
        c.expected = {{Verdict::Ok, {}}};
        c.expectedClose = failedByPeer({1002});
        cases.append(c);
    }
    const QList<Chop> chops = {Chop::whole(), Chop::perFrame(), Chop::octets(1)};
    for (int i = 0; i < 3; ++i) {
        ProbeCase c =
            makeCase(QStringLiteral("5.%1").arg(3 + i),
                     QStringLiteral("Send text Message fragmented into 2 fragments%1.")
                         .arg(i == 0   ? QString()
                              : i == 1 ? QStringLiteral(", octets are sent in frame-wise chops")
                                       : QStringLiteral(", octets are sent in octet-wise chops")),
                     QStringLiteral("Message is processed and echo'ed back to us."), RfcFragment);
        c.steps = {
            SendFrames{{frame(Text, "fragment1", false), frame(Cont, "fragment2")}, chops.at(i)},
            KillAfter{1000}};
        c.expected = {{Verdict::Ok, {Observation::message("fragment1fragment2")}}};
        cases.append(c);
    }
    for (int i = 0; i < 3; ++i) {
        ProbeCase c = makeCase(
            QStringLiteral("5.%1").arg(6 + i),
            QStringLiteral("Send text Message fragmented into 2 fragments, one ping with payload "
                           "in-between%1.")
                .arg(i == 0   ? QString()
                     : i == 1 ? QStringLiteral(". Octets are sent in frame-wise chops")
                              : QStringLiteral(". Octets are sent in octet-wise chops")),
            QStringLiteral("A pong is received, then the message is echo'ed back to us."),
            RfcFragment);
        c.steps = {SendFrames{{frame(Text, "fragment1", false), frame(Ping, "ping payload"),
                               frame(Cont, "fragment2")},
                              chops.at(i)},
                   KillAfter{1000}};
        c.expected = {
            {Verdict::Ok,
             {Observation::pong("ping payload"), Observation::message("fragment1fragment2")}}};
        cases.append(c);
    }
    for (int fin = 1; fin >= 0; --fin) {
        for (int i = 0; i < 3; ++i) {
            ProbeCase c = makeCase(
                QStringLiteral("5.%1").arg((fin ? 9 : 12) + i),
                QStringLiteral("Send unfragmented Text Message after Continuation Frame with FIN = "
                               "%1, where there is nothing to continue%2.")
                    .arg(fin ? u"true" : u"false")
                    .arg(i == 0 ? QStringLiteral(", sent in one chop") : chopText(chops.at(i), {})),
                QStringLiteral("The connection is failed immediately, since there is no message to "
                               "continue."),
                RfcFragment);
            c.steps = {SendFrames{{frame(Cont, "non-continuation payload", fin),
                                   frame(Text, "Hello, world!")},
                                  chops.at(i)},
                       KillAfter{1000}};
            c.expected = {{Verdict::Ok, {}}};
            c.expectedClose = failedByPeer({1002});
            cases.append(c);
        }
    }
    {
        ProbeCase c = makeCase(
            QStringLiteral("5.15"),
            QStringLiteral("Send text Message fragmented into 2 fragments, then Continuation Frame "
                           "with FIN = false where there is nothing to continue, then unfragmented "
                           "Text Message, all sent in one chop."),
            QStringLiteral("The connection is failed immediately, since there is no message to "
                           "continue."),
            RfcFragment);
        c.steps = {SendFrames{{frame(Text, "fragment1", false), frame(Cont, "fragment2"),
                               frame(Cont, "fragment3", false), frame(Text, "fragment4")},
                              Chop::whole()},
                   KillAfter{1000}};
        c.expected = {{Verdict::Ok, {Observation::message("fragment1fragment2")}},
                      {Verdict::NonStrict, {}}};
        c.expectedClose = failedByPeer({1002});
        cases.append(c);
    }
    for (int fin = 0; fin < 2; ++fin) {
        ProbeCase c = makeCase(
            QStringLiteral("5.%1").arg(16 + fin),
            QStringLiteral("Repeated 2x: Continuation Frame with FIN = %1 (where there is nothing "
                           "to continue), then text Message fragmented into 2 fragments.")
                .arg(fin ? u"true" : u"false"),
            QStringLiteral("The connection is failed immediately, since there is no message to "
                           "continue."),
            RfcFragment);
        QList<RawFrame> frames;
        for (int r = 0; r < 2; ++r)
            frames += {frame(Cont, "fragment1", fin), frame(Text, "fragment2", false),
                       frame(Cont, "fragment3")};
        c.steps = {SendFrames{frames, Chop::whole()}, KillAfter{1000}};
        c.expected = {{Verdict::Ok, {}}};
        c.expectedClose = failedByPeer({1002});
        cases.append(c);
    }
    {
        ProbeCase c = makeCase(
            QStringLiteral("5.18"),
            QStringLiteral("Send text Message fragmented into 2 fragments, with both frame opcodes "
                           "set to text, sent in one chop."),
            QStringLiteral("The connection is failed immediately, since all data frames after the "
                           "initial data frame must have opcode 0."),
            RfcFragment);
        c.steps = {
            SendFrames{{frame(Text, "fragment1", false), frame(Text, "fragment2")}, Chop::whole()},
            KillAfter{1000}};
        c.expected = {{Verdict::Ok, {}}};
        c.expectedClose = failedByPeer({1002});
        cases.append(c);
    }
    for (int sync = 0; sync < 2; ++sync) {
        ProbeCase c = makeCase(
            QStringLiteral("5.%1").arg(19 + sync),
            sync ? QStringLiteral("Same as Case 5.19, but send all frames with SYNC = True. Note, "
                                  "this does not change the octets sent in any way, only how the "
                                  "stream is chopped up on the wire.")
                 : QStringLiteral("A fragmented text message is sent in multiple frames. After "
                                  "sending the first 2 frames of the text message, a Ping is sent. "
                                  "Then we wait 1s, then we send 2 more text fragments, another "
                                  "Ping and then the final text fragment. Everything is legal."),
            QStringLiteral("The peer immediately answers the first Ping before it has received the "
                           "last text message fragment. The peer pong's back the Ping's payload "
                           "exactly, and echo's the payload of the fragmented message back to us."),
            RfcFragment);
        const Chop chop = sync ? Chop::perFrame() : Chop::whole();
        c.steps = {SendFrames{{frame(Text, "fragment1", false), frame(Cont, "fragment2", false),
                               frame(Ping, "pongme 1!")},
                              chop},
                   Wait{1000, {}},
                   SendFrames{{frame(Cont, "fragment3", false), frame(Cont, "fragment4", false),
                               frame(Ping, "pongme 2!"), frame(Cont, "fragment5")},
                              chop},
                   CloseAfter{1000}};
        c.expected = {{Verdict::Ok,
                       {Observation::pong("pongme 1!"), Observation::pong("pongme 2!"),
                        Observation::message("fragment1fragment2fragment3fragment4fragment5")}}};
        cases.append(c);
    }
}

// Markus Kuhn's UTF-8 decoder stress test, grouped as Autobahn's 6.5 to 6.23.
struct Utf8Group {
    QString name;
    QList<std::pair<bool, QByteArray>> sequences;
};

bool isValidUtf8(const QByteArray &bytes) {
    return Utf8Validator::isValid(bytes);
}

QList<Utf8Group> utf8Groups() {
    QList<Utf8Group> groups;
    const QByteArray kosme = QByteArray::fromHex("cebae1bdb9cf83cebcceb5");
    groups.append({QStringLiteral("Some valid UTF-8 sequences"),
                   {{true, "hello\x24world"},
                    {true, "hello\xc2\xa2world"},
                    {true, "hello\xe2\x82\xacworld"},
                    {true, "hello\xf0\xa4\xad\xa2world"},
                    {true, kosme}}});
    Utf8Group prefixes{QStringLiteral("All prefixes of a valid UTF-8 string that contains "
                                      "multi-byte code points"),
                       {}};
    for (int i = 1; i <= kosme.size(); ++i)
        prefixes.sequences.append({isValidUtf8(kosme.left(i)), kosme.left(i)});
    groups.append(prefixes);
    groups.append({QStringLiteral("First possible sequence of a certain length"),
                   {{true, QByteArray(1, '\0')},
                    {true, "\xc2\x80"},
                    {true, "\xe0\xa0\x80"},
                    {true, "\xf0\x90\x80\x80"}}});
    groups.append({QStringLiteral("First possible sequence length 5/6 (invalid codepoints)"),
                   {{false, "\xf8\x88\x80\x80\x80"}, {false, "\xfc\x84\x80\x80\x80\x80"}}});
    groups.append(
        {QStringLiteral("Last possible sequence of a certain length"),
         {{true, "\x7f"}, {true, "\xdf\xbf"}, {true, "\xef\xbf\xbf"}, {true, "\xf4\x8f\xbf\xbf"}}});
    groups.append({QStringLiteral("Last possible sequence length 4/5/6 (invalid codepoints)"),
                   {{false, "\xf7\xbf\xbf\xbf"},
                    {false, "\xfb\xbf\xbf\xbf\xbf"},
                    {false, "\xfd\xbf\xbf\xbf\xbf\xbf"}}});
    groups.append({QStringLiteral("Other boundary conditions"),
                   {{true, "\xed\x9f\xbf"},
                    {true, "\xee\x80\x80"},
                    {true, "\xef\xbf\xbd"},
                    {true, "\xf4\x8f\xbf\xbf"},
                    {false, "\xf4\x90\x80\x80"}}});
    Utf8Group continuation{QStringLiteral("Unexpected continuation bytes"),
                           {{false, "\x80"},
                            {false, "\xbf"},
                            {false, "\x80\xbf"},
                            {false, "\x80\xbf\x80"},
                            {false, "\x80\xbf\x80\xbf"},
                            {false, "\x80\xbf\x80\xbf\x80"},
                            {false, "\x80\xbf\x80\xbf\x80\xbf"}}};
    QByteArray all;
    for (int b = 0x80; b < 0xbf; ++b)
        all.append(char(b));
    continuation.sequences.append({false, all});
    groups.append(continuation);
    Utf8Group lonely{QStringLiteral("Lonely start characters"), {}};
    const QList<std::pair<int, int>> ranges = {
        {0xc0, 0xdf}, {0xe0, 0xef}, {0xf0, 0xf7}, {0xf8, 0xfb}, {0xfc, 0xfd}};
    for (const auto &[from, to] : ranges) {
        QByteArray s;
        for (int b = from; b < to; ++b) {
            s.append(char(b));
            s.append(' ');
        }
        lonely.sequences.append({false, s});
    }
    groups.append(lonely);
    const QList<QByteArray> missing = {
        "\xc0", "\xe0\x80", "\xf0\x80\x80", "\xf8\x80\x80\x80", "\xfc\x80\x80\x80\x80",
        "\xdf", "\xef\xbf", "\xf7\xbf\xbf", "\xfb\xbf\xbf\xbf", "\xfd\xbf\xbf\xbf\xbf"};
    Utf8Group last{QStringLiteral("Sequences with last continuation byte missing"), {}};
    QByteArray concatenated;
    for (const QByteArray &m : missing) {
        last.sequences.append({false, m});
        concatenated += m;
    }
    groups.append(last);
    groups.append(
        {QStringLiteral("Concatenation of incomplete sequences"), {{false, concatenated}}});
    groups.append({QStringLiteral("Impossible bytes"),
                   {{false, "\xfe"}, {false, "\xff"}, {false, "\xfe\xfe\xff\xff"}}});
    groups.append({QStringLiteral("Examples of an overlong ASCII character"),
                   {{false, "\xc0\xaf"},
                    {false, "\xe0\x80\xaf"},
                    {false, "\xf0\x80\x80\xaf"},
                    {false, "\xf8\x80\x80\x80\xaf"},
                    {false, "\xfc\x80\x80\x80\x80\xaf"}}});
    groups.append({QStringLiteral("Maximum overlong sequences"),
                   {{false, "\xc1\xbf"},
                    {false, "\xe0\x9f\xbf"},
                    {false, "\xf0\x8f\xbf\xbf"},
                    {false, "\xf8\x87\xbf\xbf\xbf"},
                    {false, "\xfc\x83\xbf\xbf\xbf\xbf"}}});
    groups.append({QStringLiteral("Overlong representation of the NUL character"),
                   {{false, "\xc0\x80"},
                    {false, "\xe0\x80\x80"},
                    {false, "\xf0\x80\x80\x80"},
                    {false, "\xf8\x80\x80\x80\x80"},
                    {false, "\xfc\x80\x80\x80\x80\x80"}}});
    groups.append({QStringLiteral("Single UTF-16 surrogates"),
                   {{false, "\xed\xa0\x80"},
                    {false, "\xed\xad\xbf"},
                    {false, "\xed\xae\x80"},
                    {false, "\xed\xaf\xbf"},
                    {false, "\xed\xb0\x80"},
                    {false, "\xed\xbe\x80"},
                    {false, "\xed\xbf\xbf"}}});
    groups.append({QStringLiteral("Paired UTF-16 surrogates"),
                   {{false, "\xed\xa0\x80\xed\xb0\x80"},
                    {false, "\xed\xa0\x80\xed\xbf\xbf"},
                    {false, "\xed\xad\xbf\xed\xb0\x80"},
                    {false, "\xed\xad\xbf\xed\xbf\xbf"},
                    {false, "\xed\xae\x80\xed\xb0\x80"},
                    {false, "\xed\xae\x80\xed\xbf\xbf"},
                    {false, "\xed\xaf\xbf\xed\xb0\x80"},
                    {false, "\xed\xaf\xbf\xed\xbf\xbf"}}});
    Utf8Group nonCharacters{QStringLiteral("Non-character code points (valid UTF-8)"),
                            {{true, "\xef\xbf\xbe"}, {true, "\xef\xbf\xbf"}}};
    for (char z1 : {'\xf0', '\xf1', '\xf2', '\xf3', '\xf4'}) {
        for (char z2 : {'\x8f', '\x9f', '\xaf', '\xbf'}) {
            if (z1 == '\xf4' && z2 != '\x8f')
                continue; // above U+10FFFF
            for (char z3 : {'\xbe', '\xbf'}) {
                const QByteArray zz = QByteArray(1, z1) + z2 + '\xbf' + z3;
                if (zz != "\xf0\x8f\xbf\xbe" && zz != "\xf0\x8f\xbf\xbf")
                    nonCharacters.sequences.append({true, zz});
            }
        }
    }
    groups.append(nonCharacters);
    groups.append({QStringLiteral("Unicode specials (i.e. replacement char)"),
                   {{true, "\xef\xbf\xb9"},
                    {true, "\xef\xbf\xba"},
                    {true, "\xef\xbf\xbb"},
                    {true, "\xef\xbf\xbc"},
                    {true, "\xef\xbf\xbd"},
                    {true, "\xef\xbf\xbe"},
                    {true, "\xef\xbf\xbf"}}});
    return groups;
}

ProbeCase utf8Case(const QString &id, const QString &description, bool valid,
                   const QByteArray &message, const QList<Step> &steps) {
    ProbeCase c = makeCase(
        id, description,
        valid ? QStringLiteral("The message is echo'ed back to us.")
              : QStringLiteral("The connection is failed immediately, since the payload is not "
                               "valid UTF-8."),
        RfcUtf8);
    c.steps = steps;
    if (valid) {
        c.expected = {{Verdict::Ok, {Observation::message(message)}}};
    } else {
        c.expected = {{Verdict::Ok, {}}};
        c.expectedClose = failedByPeer({1007}, true);
    }
    return c;
}

QList<RawFrame> octetFragments(const QByteArray &message) {
    QList<RawFrame> frames;
    for (qsizetype i = 0; i < message.size(); ++i)
        frames.append(frame(i == 0 ? Text : Cont, message.mid(i, 1), i == message.size() - 1));
    return frames;
}

// 6.*: UTF-8.
void utf8Cases(QList<ProbeCase> &cases) {
    {
        ProbeCase c =
            makeCase(QStringLiteral("6.1.1"), QStringLiteral("Send text message of length 0."),
                     QStringLiteral("A message is echo'ed back to us (with empty "
                                    "payload)."),
                     RfcUtf8);
        c.steps = {SendFrames{{frame(Text, {})}, Chop::whole()}, KillAfter{1000}};
        c.expected = {{Verdict::Ok, {Observation::message({})}}};
        cases.append(c);
    }
    {
        ProbeCase c = makeCase(QStringLiteral("6.1.2"),
                               QStringLiteral("Send fragmented text message, 3 fragments each of "
                                              "length 0."),
                               QStringLiteral("A message is echo'ed back to us (with empty "
                                              "payload)."),
                               RfcUtf8);
        c.steps = {SendFrames{{frame(Text, {}, false), frame(Cont, {}, false), frame(Cont, {})},
                              Chop::whole()},
                   KillAfter{1000}};
        c.expected = {{Verdict::Ok, {Observation::message({})}}};
        cases.append(c);
    }
    {
        ProbeCase c = makeCase(QStringLiteral("6.1.3"),
                               QStringLiteral("Send fragmented text message, 3 fragments, first "
                                              "and last of length 0, middle non-empty."),
                               QStringLiteral("A message is echo'ed back to us (with payload = "
                                              "payload of middle fragment)."),
                               RfcUtf8);
        c.steps = {SendFrames{{frame(Text, {}, false), frame(Cont, "middle frame payload", false),
                               frame(Cont, {})},
                              Chop::whole()},
                   KillAfter{1000}};
        c.expected = {{Verdict::Ok, {Observation::message("middle frame payload")}}};
        cases.append(c);
    }
    const QByteArray hello = QStringLiteral("Hello-µ@ßöäüàá-UTF-8!!").toUtf8();
    const QByteArray kosme = QByteArray::fromHex("cebae1bdb9cf83cebcceb5");
    cases.append(utf8Case(QStringLiteral("6.2.1"),
                          QStringLiteral("Send a valid UTF-8 text message in one fragment. "
                                         "MESSAGE: %1")
                              .arg(QString::fromUtf8(hello)),
                          true, hello,
                          {SendFrames{{frame(Text, hello)}, Chop::whole()}, KillAfter{1000}}));
    {
        const qsizetype split = QStringLiteral("Hello-µ@ßöä").toUtf8().size();
        cases.append(utf8Case(
            QStringLiteral("6.2.2"),
            QStringLiteral("Send a valid UTF-8 text message in two fragments, fragmented on UTF-8 "
                           "code point boundary. MESSAGE: %1")
                .arg(QString::fromUtf8(hello)),
            true, hello,
            {SendFrames{{frame(Text, hello.left(split), false), frame(Cont, hello.mid(split))},
                        Chop::whole()},
             KillAfter{1000}}));
    }
    cases.append(utf8Case(QStringLiteral("6.2.3"),
                          QStringLiteral("Send a valid UTF-8 text message in fragments of 1 octet, "
                                         "resulting in frames ending on positions which are not "
                                         "code point ends. MESSAGE: %1")
                              .arg(QString::fromUtf8(hello)),
                          true, hello,
                          {SendFrames{octetFragments(hello), Chop::whole()}, KillAfter{1000}}));
    cases.append(utf8Case(QStringLiteral("6.2.4"),
                          QStringLiteral("Send a valid UTF-8 text message in fragments of 1 octet, "
                                         "resulting in frames ending on positions which are not "
                                         "code point ends. MESSAGE: %1")
                              .arg(hex(kosme)),
                          true, kosme,
                          {SendFrames{octetFragments(kosme), Chop::whole()}, KillAfter{1000}}));
    const QByteArray invalid = QByteArray::fromHex("cebae1bdb9cf83cebcceb5eda080656469746564");
    cases.append(utf8Case(QStringLiteral("6.3.1"),
                          QStringLiteral("Send invalid UTF-8 text message unfragmented. "
                                         "MESSAGE: %1")
                              .arg(hex(invalid)),
                          false, invalid,
                          {SendFrames{{frame(Text, invalid)}, Chop::whole()}, KillAfter{1000}}));
    cases.append(utf8Case(QStringLiteral("6.3.2"),
                          QStringLiteral("Send invalid UTF-8 text message in fragments of 1 octet. "
                                         "MESSAGE: %1")
                              .arg(hex(invalid)),
                          false, invalid,
                          {SendFrames{octetFragments(invalid), Chop::whole()}, KillAfter{1000}}));

    // 6.4.*: fail-fast. PART2 makes the payload invalid at its first (6.4.1, 6.4.3) or
    // second (6.4.2, 6.4.4) byte; the rest of the frame or message is held back.
    const QByteArray part1 = kosme;
    for (int variant = 1; variant <= 4; ++variant) {
        const bool uptoInvalid = variant % 2 == 0;
        const QByteArray part2 =
            uptoInvalid ? QByteArray("\xf4\x90") : QByteArray("\xf4\x90\x80\x80");
        const QByteArray part3 = uptoInvalid ? QByteArray("\x80\x80\x65\x64\x69\x74\x65\x64")
                                             : QByteArray("\x65\x64\x69\x74\x65\x64");
        const bool chops = variant >= 3;
        QString description =
            chops ? QStringLiteral("Same as Case 6.4.%1, but we send message not in 3 frames, but "
                                   "in 3 chops of the same message frame.")
                        .arg(variant - 2)
            : uptoInvalid
                ? QStringLiteral("Same as Case 6.4.1, but in 2nd frame, we send only up to "
                                 "and including the octet making the complete payload "
                                 "invalid.")
                : QStringLiteral("Send invalid UTF-8 text message in 3 fragments (frames). "
                                 "First frame payload is valid, then wait, then 2nd frame "
                                 "which contains the payload making the sequence invalid, "
                                 "then wait, then 3rd frame with rest. Note that PART1 and "
                                 "PART3 are valid UTF-8 in themselves, PART2 is a 0x110000 "
                                 "encoded as in the UTF-8 integer encoding scheme, but the "
                                 "codepoint is invalid (out of range).");
        description += QStringLiteral(" PART1 = %1, PART2 = %2, PART3 = %3")
                           .arg(hex(part1), hex(part2), hex(part3));
        ProbeCase c = makeCase(
            QStringLiteral("6.4.%1").arg(variant), description,
            chops ? QStringLiteral("The first chop is accepted, we expect to timeout on the first "
                                   "wait. The 2nd chop should be rejected immediately (fail fast "
                                   "on UTF-8). If we timeout, we expect the connection is failed "
                                   "at least then, since the complete message payload is not "
                                   "valid UTF-8.")
                  : QStringLiteral("The first frame is accepted, we expect to timeout on the first "
                                   "wait. The 2nd frame should be rejected immediately (fail fast "
                                   "on UTF-8). If we timeout, we expect the connection is failed "
                                   "at least then, since the complete message payload is not "
                                   "valid UTF-8."),
            QStringLiteral("RFC 6455 §8.1 (fail fast: §5.6, §7.1.7)"));
        if (chops) {
            RawFrame whole = frame(Text, part1 + part2 + part3);
            whole.maskingKey = QRandomGenerator::system()->generate();
            const qint64 a = part1.size(), b = a + part2.size();
            c.steps = {SendFramePart{whole, 0, a},  Wait{1000, "A"},
                       SendFramePart{whole, a, b},  Wait{1000, "B"},
                       SendFramePart{whole, b, -1}, KillAfter{1000}};
        } else {
            c.steps = {SendFrames{{frame(Text, part1, false)}, Chop::whole()}, Wait{1000, "A"},
                       SendFrames{{frame(Cont, part2, false)}, Chop::whole()}, Wait{1000, "B"},
                       SendFrames{{frame(Cont, part3)}, Chop::whole()},        KillAfter{1000}};
        }
        c.expected = {{Verdict::Ok, {Observation::timeout("A")}},
                      {Verdict::NonStrict, {Observation::timeout("A"), Observation::timeout("B")}}};
        c.expectedClose = failedByPeer({1007}, true);
        cases.append(c);
    }

    int group = 5;
    for (const Utf8Group &g : utf8Groups()) {
        int index = 1;
        for (const auto &[valid, payload] : g.sequences) {
            cases.append(utf8Case(
                QStringLiteral("6.%1.%2").arg(group).arg(index++),
                QStringLiteral("Send a text message with payload which is %1 in one fragment (%2). "
                               "Payload: 0x%3")
                    .arg(valid ? u"valid UTF-8" : u"not valid UTF-8", g.name, hex(payload)),
                valid, payload,
                {SendFrames{{frame(Text, payload)}, Chop::whole()}, KillAfter{500}}));
        }
        ++group;
    }
}

// 7.*: close handling.
void closeCases(QList<ProbeCase> &cases) {
    const QByteArray hello = "Hello World!";
    {
        ProbeCase c = makeCase(QStringLiteral("7.1.1"),
                               QStringLiteral("Send a message followed by a close frame"),
                               QStringLiteral("Echoed message followed by clean close with normal "
                                              "code."),
                               RfcClose);
        c.steps = {SendFrames{{frame(Text, hello)}, Chop::whole()}, SendClose{}, KillAfter{1000}};
        c.expected = {{Verdict::Ok, {Observation::message(hello)}}};
        cases.append(c);
    }
    const QList<std::tuple<QString, QString, QList<Step>>> afterClose = {
        {QStringLiteral("7.1.2"),
         QStringLiteral("Send two close frames"),
         {SendClose{}, SendClose{}, KillAfter{1000}}},
        {QStringLiteral("7.1.3"),
         QStringLiteral("Send a ping after close message"),
         {SendClose{}, SendFrames{{frame(Ping, {})}, Chop::whole()}, KillAfter{1000}}},
        {QStringLiteral("7.1.4"),
         QStringLiteral("Send text message after sending a close frame"),
         {SendClose{}, SendFrames{{frame(Text, hello)}, Chop::whole()}, KillAfter{1000}}},
        {QStringLiteral("7.1.5"),
         QStringLiteral("Send message fragment1 followed by close then fragment"),
         {SendFrames{{frame(Text, "fragment1", false)}, Chop::whole()}, SendClose{},
          SendFrames{{frame(Cont, "fragment2")}, Chop::whole()}, KillAfter{1000}}},
    };
    for (const auto &[id, description, steps] : afterClose) {
        ProbeCase c =
            makeCase(id, description, QStringLiteral("Clean close with normal code."), RfcClose);
        c.steps = steps;
        c.expected = {{Verdict::Ok, {}}};
        cases.append(c);
    }
    {
        ProbeCase c = makeCase(
            QStringLiteral("7.1.6"),
            QStringLiteral("Send 256K message followed by close then a ping"),
            QStringLiteral("Case outcome depends on implementation defined close behavior. Message "
                           "and close frame are sent back to back. If the close frame is processed "
                           "before the text message write is complete (as can happen in "
                           "asynchronous processing models) the close frame is processed first "
                           "and the text message may not be received or may only be partially "
                           "received."),
            RfcClose);
        c.suppressClose = true;
        c.steps = {SendFrames{{frame(Text, repeat("BAsd7&jh23", 256 * 1024)), frame(Text, hello)},
                              Chop::whole()},
                   SendClose{}, SendFrames{{frame(Ping, {})}, Chop::whole()}, KillAfter{1000}};
        const QByteArray big = repeat("BAsd7&jh23", 256 * 1024);
        c.expected = {{Verdict::Ok, {Observation::message(big), Observation::message(hello)}},
                      {Verdict::NonStrict, {}}};
        c.judge = [](CaseResult &result) {
            if (result.behavior == Verdict::Ok)
                result.result = QStringLiteral("Text message was processed before close.");
            else if (result.behavior == Verdict::NonStrict)
                result.result = QStringLiteral("Close was processed before text message could be "
                                               "returned.");
            result.behavior = Verdict::Informational;
            result.behaviorClose = Verdict::Informational;
        };
        cases.append(c);
    }
    struct ClosePayloadCase {
        QString id;
        QString description;
        QString expectation;
        QByteArray payload; // the close frame's whole payload
        ExpectedClose close;
    };
    ExpectedClose protocolErrorByMe;
    protocolErrorByMe.codes = {1002};
    protocolErrorByMe.requireClean = false;
    const QList<ClosePayloadCase> payloads = {
        {QStringLiteral("7.3.1"),
         QStringLiteral(
             "Send a close frame with payload length 0 (no close code, no close reason)"),
         QStringLiteral("Clean close with normal code."),
         {},
         normalClose()},
        {QStringLiteral("7.3.2"), QStringLiteral("Send a close frame with payload length 1"),
         QStringLiteral("Clean close with protocol error or drop TCP."), "a", protocolErrorByMe},
        {QStringLiteral("7.3.3"),
         QStringLiteral("Send a close frame with payload length 2 (regular close with a code)"),
         QStringLiteral("Clean close with normal code."), FrameEncoder::closePayload(1000, {}),
         normalClose()},
        {QStringLiteral("7.3.4"),
         QStringLiteral("Send a close frame with close code and close reason"),
         QStringLiteral("Clean close with normal code."),
         FrameEncoder::closePayload(1000, "Hello World!"), normalClose()},
        {QStringLiteral("7.3.5"),
         QStringLiteral("Send a close frame with close code and close reason of maximum length "
                        "(123)"),
         QStringLiteral("Clean close with normal code."),
         FrameEncoder::closePayload(1000, repeat("*", 123)), normalClose()},
        {QStringLiteral("7.3.6"),
         QStringLiteral("Send a close frame with close code and close reason which is too long "
                        "(124) - total frame payload 126 octets"),
         QStringLiteral("Clean close with protocol error code or dropped TCP connection."),
         FrameEncoder::closePayload(1000, repeat("*", 124)), protocolErrorByMe},
    };
    for (const ClosePayloadCase &p : payloads) {
        ProbeCase c = makeCase(p.id, p.description, p.expectation, RfcClose);
        c.suppressClose = true;
        c.steps = {SendClose{{}, {}, p.payload}, KillAfter{1000}};
        c.expected = {{Verdict::Ok, {}}};
        c.expectedClose = p.close;
        c.judge = wrongCodeFails;
        cases.append(c);
    }
    {
        ProbeCase c = makeCase(QStringLiteral("7.5.1"),
                               QStringLiteral("Send a close frame with invalid UTF8 payload"),
                               QStringLiteral("Clean close with protocol error or invalid utf8 "
                                              "code or dropped TCP."),
                               RfcClose);
        c.suppressClose = true;
        c.steps = {SendClose{1000, invalidUtf8Reason(), {}}, KillAfter{1000}};
        c.expected = {{Verdict::Ok, {}}};
        c.expectedClose.codes = {1002, 1007};
        c.expectedClose.requireClean = false;
        c.judge = wrongCodeFails;
        cases.append(c);
    }
    const QList<quint16> valid = {1000, 1001, 1002, 1003, 1007, 1008, 1009,
                                  1010, 1011, 3000, 3999, 4000, 4999};
    for (int i = 0; i < valid.size(); ++i) {
        ProbeCase c =
            makeCase(QStringLiteral("7.7.%1").arg(i + 1),
                     QStringLiteral("Send close with valid close code %1").arg(valid.at(i)),
                     QStringLiteral("Clean close with normal or echoed code"), RfcCloseCodes);
        c.steps = {SendClose{valid.at(i), {}, {}}, KillAfter{1000}};
        c.expected = {{Verdict::Ok, {}}};
        c.expectedClose.codes = {1000, valid.at(i)};
        c.judge = wrongCodeFails;
        cases.append(c);
    }
    const QList<quint16> invalidCodes = {0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999};
    for (int i = 0; i < invalidCodes.size(); ++i) {
        ProbeCase c = makeCase(
            QStringLiteral("7.9.%1").arg(i + 1),
            QStringLiteral("Send close with invalid close code %1").arg(invalidCodes.at(i)),
            QStringLiteral("Clean close with protocol error code or drop TCP"), RfcCloseCodes);
        c.steps = {SendClose{invalidCodes.at(i), {}, {}}, KillAfter{1000}};
        c.expected = {{Verdict::Ok, {}}};
        c.expectedClose = protocolErrorByMe;
        c.judge = wrongCodeFails;
        cases.append(c);
    }
    const QList<quint16> informational = {5000, 65535};
    for (int i = 0; i < informational.size(); ++i) {
        ProbeCase c =
            makeCase(QStringLiteral("7.13.%1").arg(i + 1),
                     QStringLiteral("Send close with close code %1").arg(informational.at(i)),
                     QStringLiteral("Actual events are undefined by the spec."), RfcCloseCodes);
        c.suppressClose = true;
        c.steps = {SendClose{informational.at(i), {}, {}}, KillAfter{1000}};
        c.expected = {{Verdict::Ok, {}}};
        c.expectedClose.codes = {1000, informational.at(i), 1002};
        c.expectedClose.requireClean = false;
        c.judge = [](CaseResult &result) {
            result.behavior = Verdict::Informational;
            result.behaviorClose = Verdict::Informational;
            result.result = QStringLiteral("Actual events are undefined by the spec.");
        };
        cases.append(c);
    }
}

// 9.*: limits and performance.
void limitCases(QList<ProbeCase> &cases) {
    const qint64 K = 1024, M = 1024 * 1024;
    const QList<qint64> sizes = {64 * K, 256 * K, M, 4 * M, 8 * M, 16 * M};
    for (int binary = 0; binary < 2; ++binary) {
        const QString kind = binary ? QStringLiteral("binary") : QStringLiteral("text");
        for (int i = 0; i < sizes.size(); ++i) {
            const qint64 size = sizes.at(i);
            ProbeCase c = makeCase(QStringLiteral("9.%1.%2").arg(binary + 1).arg(i + 1),
                                   QStringLiteral("Send %1 message message with payload of length "
                                                  "%2.")
                                       .arg(kind, sizeName(size)),
                                   QStringLiteral("Receive echo'ed %1 message (with payload as "
                                                  "sent).")
                                       .arg(kind),
                                   RfcFraming);
            c.prepare = [binary, size](ProbeCase &self) {
                const QByteArray payload = binary ? repeat("\xfe", size) : repeat("*", size);
                self.steps = {SendFrames{{frame(binary ? Binary : Text, payload)}, Chop::whole()},
                              KillAfter{60'000}};
                self.expected = {{Verdict::Ok, {Observation::message(payload, binary)}}};
            };
            c.timeoutMs = 60'000;
            cases.append(c);
        }
    }
    const QList<qint64> fragments = {64, 256, K, 4 * K, 16 * K, 64 * K, 256 * K, M, 4 * M};
    for (int binary = 0; binary < 2; ++binary) {
        const QString kind = binary ? QStringLiteral("binary") : QStringLiteral("text");
        for (int i = 0; i < fragments.size(); ++i) {
            ProbeCase c = makeCase(QStringLiteral("9.%1.%2").arg(binary + 3).arg(i + 1),
                                   QStringLiteral("Send fragmented %1 message message with message "
                                                  "payload of length 4 * 2**20 (4M). Sent out in "
                                                  "fragments of %2.")
                                       .arg(kind, sizeName(fragments.at(i))),
                                   QStringLiteral("Receive echo'ed %1 message (with payload as "
                                                  "sent).")
                                       .arg(kind),
                                   RfcFragment);
            c.prepare = [binary, fragment = fragments.at(i), M](ProbeCase &self) {
                const QByteArray payload = binary ? repeat("\xfe", 4 * M) : repeat("*", 4 * M);
                self.steps = {
                    SendMessage{binary ? Opcode::Binary : Opcode::Text, payload, fragment},
                    KillAfter{60'000}};
                self.expected = {{Verdict::Ok, {Observation::message(payload, binary)}}};
            };
            c.timeoutMs = 60'000;
            cases.append(c);
        }
    }
    const QList<int> chops = {64, 128, 256, 512, 1024, 2048};
    for (int binary = 0; binary < 2; ++binary) {
        const QString kind = binary ? QStringLiteral("binary") : QStringLiteral("text");
        for (int i = 0; i < chops.size(); ++i) {
            ProbeCase c = makeCase(QStringLiteral("9.%1.%2").arg(binary + 5).arg(i + 1),
                                   QStringLiteral("Send %1 message message with payload of length "
                                                  "1 * 2**20 (1M). Sent out data in chops of %2 "
                                                  "octets.")
                                       .arg(kind)
                                       .arg(chops.at(i)),
                                   QStringLiteral("Receive echo'ed %1 message (with payload as "
                                                  "sent).")
                                       .arg(kind),
                                   RfcFraming);
            c.prepare = [binary, chop = chops.at(i), M](ProbeCase &self) {
                const QByteArray payload = binary ? repeat("\xfe", M) : repeat("*", M);
                self.steps = {
                    SendFrames{{frame(binary ? Binary : Text, payload)}, Chop::octets(chop)},
                    KillAfter{60'000}};
                self.expected = {{Verdict::Ok, {Observation::message(payload, binary)}}};
            };
            c.timeoutMs = 60'000;
            cases.append(c);
        }
    }
    const QList<std::pair<int, int>> roundTrips = {{0, 60},    {16, 60},    {64, 60},
                                                   {256, 120}, {1024, 240}, {4096, 480}};
    for (int binary = 0; binary < 2; ++binary) {
        const QString kind = binary ? QStringLiteral("binary") : QStringLiteral("text");
        for (int i = 0; i < roundTrips.size(); ++i) {
            const auto [size, seconds] = roundTrips.at(i);
            ProbeCase c = makeCase(QStringLiteral("9.%1.%2").arg(binary + 7).arg(i + 1),
                                   QStringLiteral("Send 1000 %1 messages of payload size %2 to "
                                                  "measure implementation/network RTT (round trip "
                                                  "time) / latency.")
                                       .arg(kind)
                                       .arg(size),
                                   QStringLiteral("Receive echo'ed %1 messages (with payload as "
                                                  "sent). Timeout case after %2 secs.")
                                       .arg(kind)
                                       .arg(seconds),
                                   RfcFraming);
            const QByteArray payload = binary ? repeat("\xfe", size) : repeat("*", size);
            c.steps = {RoundTrips{1000, binary ? Opcode::Binary : Opcode::Text,
                                  [payload](int) { return payload; }, 0},
                       CloseAfter{seconds * 1000}};
            c.timeoutMs = seconds * 1000 + 2000;
            cases.append(c);
        }
    }
}

// 10.*: our own sending: auto-fragmentation.
void miscCases(QList<ProbeCase> &cases) {
    ProbeCase c = makeCase(QStringLiteral("10.1.1"),
                           QStringLiteral("Send text message with payload of length 65536 "
                                          "auto-fragmented with autoFragmentSize = 1300."),
                           QStringLiteral("Receive echo'ed text message (with payload as sent and "
                                          "transmitted frame counts as expected). Clean close with "
                                          "normal code."),
                           RfcFragment);
    const QByteArray payload = repeat("*", 65536);
    c.steps = {SendMessage{Opcode::Text, payload, 1300}, KillAfter{10'000}};
    c.expected = {{Verdict::Ok, {Observation::message(payload)}}};
    c.judge = [](CaseResult &result) {
        const qint64 sent = result.txFrameStats.value(Text) + result.txFrameStats.value(Cont);
        if (sent != 65536 / 1300 + 1) {
            result.behavior = Verdict::Failed;
            result.result = QStringLiteral("Frames transmitted %1 does not match what we expected "
                                           "%2.")
                                .arg(sent)
                                .arg(65536 / 1300 + 1);
        }
    };
    cases.append(c);
}

} // namespace

QByteArray invalidUtf8Reason() {
    return QByteArray::fromHex("cebae1bdb9cf83cebcceb5eda080656469746564");
}

QList<ProbeCase> serverCatalogue() {
    QList<ProbeCase> cases;
    framingCases(cases);
    pingCases(cases);
    reservedBitCases(cases);
    opcodeCases(cases);
    fragmentationCases(cases);
    utf8Cases(cases);
    closeCases(cases);
    limitCases(cases);
    miscCases(cases);
    appendHandshakeCases(cases);
    appendTimingCases(cases);
    appendDeflateCases(cases);
    return cases;
}

bool matchesCasePattern(const QString &id, const QString &pattern) {
    QString expression = QRegularExpression::escape(pattern.trimmed());
    expression.replace(QStringLiteral("\\*"), QStringLiteral(".*"));
    const QRegularExpression re(QRegularExpression::anchoredPattern(expression),
                                QRegularExpression::CaseInsensitiveOption);
    return re.match(id).hasMatch();
}

QList<ProbeCase> selectCases(const QList<ProbeCase> &cases, const QStringList &include,
                             const QStringList &exclude) {
    QList<ProbeCase> selected;
    for (const ProbeCase &c : cases) {
        auto matchesAny = [&c](const QStringList &patterns) {
            return std::any_of(patterns.begin(), patterns.end(), [&c](const QString &pattern) {
                return matchesCasePattern(c.id, pattern);
            });
        };
        if ((include.isEmpty() || matchesAny(include)) && !matchesAny(exclude))
            selected.append(c);
    }
    return selected;
}

bool caseIdLess(const QString &a, const QString &b) {
    const QStringList pa = a.split(u'.'), pb = b.split(u'.');
    for (qsizetype i = 0; i < std::min(pa.size(), pb.size()); ++i) {
        bool na = false, nb = false;
        const int ia = pa.at(i).toInt(&na), ib = pb.at(i).toInt(&nb);
        if (na && nb) {
            if (ia != ib)
                return ia < ib;
        } else if (na != nb) {
            return na; // numbers before letters
        } else if (pa.at(i) != pb.at(i)) {
            return pa.at(i) < pb.at(i);
        }
    }
    return pa.size() < pb.size();
}

} // namespace ws::probe

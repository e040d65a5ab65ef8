// The cases Autobahn does not have: the opening handshake (H.*) and timing (T.*).
// The permessage-deflate cases are in cataloguedeflate.cpp.
#include "probe/cataloguehelpers.h"
#include "probe/handshakerun.h"

namespace ws::probe {

namespace {

constexpr quint8 Cont = 0x0, Text = 0x1, Ping = 0x9;

using Fields = QList<std::pair<QByteArray, QByteArray>>;

// A request the server must refuse with an HTTP error (4xx): a 101 fails the case.
ProbeCase refusedRequest(const QString &id, const QString &description, const QString &rfc,
                         std::function<QByteArray(HandshakeRun &)> makeRequest,
                         bool plainHttpIsOk = false) {
    ProbeCase c = makeCase(id, description,
                           QStringLiteral("The server refuses the upgrade with an HTTP error "
                                          "status (4xx) and does not switch protocols."),
                           rfc);
    c.handshake = [makeRequest, plainHttpIsOk](HandshakeRun &run) {
        run.toSend = makeRequest(run);
        run.judge = [plainHttpIsOk](HandshakeRun &answer, CaseResult &result) {
            if (plainHttpIsOk && answer.status >= 200 && answer.status < 400) {
                result.behavior = Verdict::Ok;
                result.result = QStringLiteral("Answered as a plain HTTP request (%1): without "
                                               "Upgrade it is not an upgrade request.")
                                    .arg(QString::fromLatin1(answer.statusLine));
            } else if (answer.status >= 400 && answer.status < 500) {
                result.behavior = Verdict::Ok;
                result.result =
                    QStringLiteral("Refused with %1.").arg(QString::fromLatin1(answer.statusLine));
            } else if (answer.status == 101) {
                result.behavior = Verdict::Failed;
                result.result = QStringLiteral("The server switched protocols: %1.")
                                    .arg(QString::fromLatin1(answer.statusLine));
            } else if (answer.status == 0) {
                result.behavior = answer.closedByServer ? Verdict::NonStrict : Verdict::Failed;
                result.result = answer.closedByServer
                                    ? QStringLiteral("The server closed the connection without an "
                                                     "HTTP answer.")
                                    : QStringLiteral("No answer: %1").arg(result.failure);
            } else {
                result.behavior = Verdict::NonStrict;
                result.result = QStringLiteral("Refused, but with %1 rather than a 4xx status.")
                                    .arg(QString::fromLatin1(answer.statusLine));
            }
        };
    };
    return c;
}

// A request the server must accept: a valid 101 (and what `more` checks) is OK.
ProbeCase acceptedRequest(const QString &id, const QString &description, const QString &expectation,
                          const QString &rfc, std::function<void(HandshakeRun &)> setUp,
                          std::function<void(HandshakeRun &, CaseResult &)> more = {}) {
    ProbeCase c = makeCase(id, description, expectation, rfc);
    c.handshake = [setUp, more](HandshakeRun &run) {
        setUp(run);
        run.judge = [more](HandshakeRun &answer, CaseResult &result) {
            QString why;
            if (!answer.isValidSwitch(&why)) {
                result.behavior = Verdict::Failed;
                result.result = QStringLiteral("No valid 101: %1.").arg(why);
                return;
            }
            result.behavior = Verdict::Ok;
            result.result = QStringLiteral("Switched protocols with a valid 101.");
            if (more)
                more(answer, result);
        };
    };
    return c;
}

QByteArray maskedTextFrame(const QByteArray &payload) {
    QByteArray out;
    RawFrame raw = frame(Text, payload);
    raw.maskingKey = QRandomGenerator::system()->generate();
    FrameEncoder::encodeRaw(out, raw);
    return out;
}

QByteArray base64Key(int bytes) {
    QByteArray key(bytes, '\0');
    for (char &c : key)
        c = char(QRandomGenerator::system()->bounded(256));
    return key.toBase64();
}

} // namespace

void appendHandshakeCases(QList<ProbeCase> &cases) {
    const QString rfcRequest = QStringLiteral("RFC 6455 §4.1, §4.2.1");
    cases.append(acceptedRequest(
        QStringLiteral("H.1.1"), QStringLiteral("Send a valid opening handshake request."),
        QStringLiteral("101 Switching Protocols with Upgrade: websocket, Connection: Upgrade and "
                       "the key's Sec-WebSocket-Accept."),
        QStringLiteral("RFC 6455 §4.2.2"), [](HandshakeRun &run) { run.toSend = run.request(); }));
    const QList<std::tuple<QString, QString, QByteArray>> missing = {
        {QStringLiteral("H.1.2"), QStringLiteral("Upgrade"), "Upgrade"},
        {QStringLiteral("H.1.3"), QStringLiteral("Connection"), "Connection"},
        {QStringLiteral("H.1.4"), QStringLiteral("Sec-WebSocket-Key"), "Sec-WebSocket-Key"},
        {QStringLiteral("H.1.5"), QStringLiteral("Sec-WebSocket-Version"), "Sec-WebSocket-Version"},
        {QStringLiteral("H.1.6"), QStringLiteral("Host"), "Host"},
    };
    for (const auto &[id, name, field] : missing) {
        cases.append(refusedRequest(
            id,
            QStringLiteral("Send an opening handshake request without the %1 header field.")
                .arg(name),
            rfcRequest,
            [field](HandshakeRun &run) {
                return run.request({{field, QByteArray()}});
            },
            field == "Upgrade"));
    }
    cases.append(refusedRequest(
        QStringLiteral("H.1.7"),
        QStringLiteral("Send an opening handshake request with two Sec-WebSocket-Key header "
                       "fields."),
        QStringLiteral("RFC 6455 §11.3.1"), [](HandshakeRun &run) {
            return run.request({{"Sec-WebSocket-Key", base64Key(16)}});
        }));
    cases.last().handshake = [inner = cases.last().handshake](HandshakeRun &run) {
        inner(run);
        // A second key field after ours.
        run.toSend.insert(run.toSend.size() - 2, "Sec-WebSocket-Key: " + base64Key(16) + "\r\n");
    };
    cases.append(refusedRequest(
        QStringLiteral("H.1.8"),
        QStringLiteral("Send an opening handshake request with two Sec-WebSocket-Version header "
                       "fields (13 and 13)."),
        QStringLiteral("RFC 6455 §11.3.5"), [](HandshakeRun &run) {
            QByteArray request = run.request();
            request.insert(request.size() - 2, "Sec-WebSocket-Version: 13\r\n");
            return request;
        }));
    cases.append(refusedRequest(
        QStringLiteral("H.1.9"), QStringLiteral("Send the opening handshake as a POST request."),
        rfcRequest, [](HandshakeRun &run) { return run.request({}, "POST"); }));
    cases.append(refusedRequest(
        QStringLiteral("H.1.10"),
        QStringLiteral("Send the opening handshake as an HTTP/1.0 request."), rfcRequest,
        [](HandshakeRun &run) { return run.request({}, "GET", "HTTP/1.0"); }));
    for (const QByteArray &version : {QByteArray("8"), QByteArray("14")}) {
        ProbeCase c = makeCase(
            QStringLiteral("H.2.%1").arg(version == "8" ? 1 : 2),
            QStringLiteral("Send an opening handshake request with Sec-WebSocket-Version: %1.")
                .arg(QString::fromLatin1(version)),
            QStringLiteral("The server refuses with 426 Upgrade Required and a "
                           "Sec-WebSocket-Version header field naming 13."),
            QStringLiteral("RFC 6455 §4.2.2, §4.4"));
        c.handshake = [version](HandshakeRun &run) {
            run.toSend = run.request({{"Sec-WebSocket-Version", version}});
            run.judge = [version](HandshakeRun &answer, CaseResult &result) {
                const bool names13 = answer.headerTokens("Sec-WebSocket-Version").contains("13");
                if (answer.status == 101 && version == "8") {
                    // Version 8 is draft-ietf-hybi-thewebsocketprotocol-10's: a server may
                    // still speak it (RFC 6455 §4.4).
                    result.behavior = Verdict::Informational;
                    result.result = QStringLiteral("The server switched protocols: it speaks "
                                                   "version 8 (an earlier draft) too.");
                } else if (answer.status == 101) {
                    result.behavior = Verdict::Failed;
                    result.result = QStringLiteral("The server switched protocols for a version "
                                                   "that does not exist.");
                } else if (answer.status < 400 || answer.status >= 500) {
                    result.behavior = Verdict::Failed;
                    result.result = answer.status == 0
                                        ? QStringLiteral("No HTTP answer.")
                                        : QStringLiteral("Answered %1.")
                                              .arg(QString::fromLatin1(answer.statusLine));
                } else if (!names13) {
                    result.behavior = Verdict::Failed;
                    result.result = QStringLiteral("Refused with %1 but without a "
                                                   "Sec-WebSocket-Version header field naming 13 "
                                                   "(a MUST of §4.2.2).")
                                        .arg(QString::fromLatin1(answer.statusLine));
                } else if (answer.status != 426) {
                    result.behavior = Verdict::NonStrict;
                    result.result = QStringLiteral("Refused with %1 and Sec-WebSocket-Version: 13; "
                                                   "426 Upgrade Required is the status the RFC "
                                                   "names.")
                                        .arg(QString::fromLatin1(answer.statusLine));
                } else {
                    result.behavior = Verdict::Ok;
                    result.result = QStringLiteral("426 with Sec-WebSocket-Version: 13.");
                }
            };
        };
        cases.append(c);
    }
    cases.append(refusedRequest(
        QStringLiteral("H.3.1"),
        QStringLiteral("Send an opening handshake request whose Sec-WebSocket-Key decodes to 15 "
                       "bytes."),
        QStringLiteral("RFC 6455 §4.2.1 (item 5)"), [](HandshakeRun &run) {
            return run.request({{"Sec-WebSocket-Key", base64Key(15)}});
        }));
    cases.append(refusedRequest(
        QStringLiteral("H.3.2"),
        QStringLiteral("Send an opening handshake request whose Sec-WebSocket-Key decodes to 17 "
                       "bytes."),
        QStringLiteral("RFC 6455 §4.2.1 (item 5)"), [](HandshakeRun &run) {
            return run.request({{"Sec-WebSocket-Key", base64Key(17)}});
        }));
    cases.append(refusedRequest(
        QStringLiteral("H.3.3"),
        QStringLiteral("Send an opening handshake request whose Sec-WebSocket-Key is not "
                       "base64."),
        QStringLiteral("RFC 6455 §4.2.1 (item 5)"), [](HandshakeRun &run) {
            return run.request({{"Sec-WebSocket-Key", "not*base64*at*all*!!!=="}});
        }));
    cases.append(acceptedRequest(
        QStringLiteral("H.4.1"),
        QStringLiteral("Send Upgrade: WebSocket and Connection: keep-alive, UPGRADE (tokens in "
                       "other cases, Upgrade inside a list)."),
        QStringLiteral("Tokens compare case-insensitively and Connection is a list: 101."),
        QStringLiteral("RFC 6455 §4.2.1, RFC 9110 §7.6.1"), [](HandshakeRun &run) {
            run.toSend =
                run.request({{"Upgrade", "WebSocket"}, {"Connection", "keep-alive, UPGRADE"}});
        }));
    cases.append(acceptedRequest(
        QStringLiteral("H.4.2"),
        QStringLiteral("Send the header field names in lower case (upgrade:, connection:, "
                       "sec-websocket-key:, sec-websocket-version:)."),
        QStringLiteral("Field names are case-insensitive: 101."), QStringLiteral("RFC 9110 §5.1"),
        [](HandshakeRun &run) {
            run.toSend = run.request()
                             .toLower()
                             .replace("get ", "GET ")
                             .replace(" http/1.1", " HTTP/1.1")
                             .replace(run.key().toLower(), run.key());
        }));
    cases.append(acceptedRequest(
        QStringLiteral("H.5.1"), QStringLiteral("Offer the subprotocols chat and superchat."),
        QStringLiteral("The server selects at most one of the offered subprotocols (or none)."),
        QStringLiteral("RFC 6455 §4.2.2 (item 5.4), §11.3.4"),
        [](HandshakeRun &run) {
            run.toSend = run.request({{"Sec-WebSocket-Protocol", "chat, superchat"}});
        },
        [](HandshakeRun &run, CaseResult &result) {
            const QList<QByteArray> chosen = run.headerTokens("Sec-WebSocket-Protocol");
            if (chosen.size() > 1 ||
                (chosen.size() == 1 && chosen.first() != "chat" && chosen.first() != "superchat")) {
                result.behavior = Verdict::Failed;
                result.result = QStringLiteral("Selected %1, which is not one offered "
                                               "subprotocol.")
                                    .arg(QString::fromLatin1(chosen.join(", ")));
            } else {
                result.result = chosen.isEmpty() ? QStringLiteral("101 without a subprotocol.")
                                                 : QStringLiteral("101 selecting %1.")
                                                       .arg(QString::fromLatin1(chosen.first()));
            }
        }));
    cases.append(acceptedRequest(
        QStringLiteral("H.5.2"), QStringLiteral("Offer no subprotocol."),
        QStringLiteral("The 101 has no Sec-WebSocket-Protocol header field."),
        QStringLiteral("RFC 6455 §4.1 (client requirement 6)"),
        [](HandshakeRun &run) { run.toSend = run.request(); },
        [](HandshakeRun &run, CaseResult &result) {
            if (run.hasHeader("Sec-WebSocket-Protocol")) {
                result.behavior = Verdict::Failed;
                result.result = QStringLiteral("The 101 names a subprotocol nobody offered.");
            }
        }));
    auto declinesExtension = [](const QByteArray &offer) {
        return [offer](HandshakeRun &run, CaseResult &result) {
            for (const QByteArray &accepted : run.headerTokens("Sec-WebSocket-Extensions")) {
                if (accepted.startsWith(
                        offer.left(offer.indexOf(';') < 0 ? offer.size() : offer.indexOf(';')))) {
                    result.behavior = Verdict::Failed;
                    result.result = QStringLiteral("The server accepted the offer it had to "
                                                   "decline: %1.")
                                        .arg(QString::fromLatin1(accepted));
                    return;
                }
            }
            result.result = QStringLiteral("101 without the extension: the offer was declined.");
        };
    };
    const QList<std::tuple<QString, QString, QByteArray>> badOffers = {
        {QStringLiteral("H.6.1"), QStringLiteral("an unknown extension (x-probe-unknown)"),
         "x-probe-unknown"},
        {QStringLiteral("H.6.2"),
         QStringLiteral("permessage-deflate with server_max_window_bits=7 (outside 8..15)"),
         "permessage-deflate; server_max_window_bits=7"},
        {QStringLiteral("H.6.3"),
         QStringLiteral("permessage-deflate with a parameter twice (client_no_context_takeover)"),
         "permessage-deflate; client_no_context_takeover; client_no_context_takeover"},
        {QStringLiteral("H.6.4"), QStringLiteral("permessage-deflate with an unknown parameter"),
         "permessage-deflate; x-unknown-parameter"},
    };
    for (const auto &[id, what, offer] : badOffers) {
        ProbeCase c = makeCase(
            id, QStringLiteral("Offer %1 as the only extension.").arg(what),
            QStringLiteral("The server declines the offer (a 101 without it) or refuses the "
                           "request (400); it never accepts it."),
            QStringLiteral("RFC 6455 §9.1, RFC 7692 §5, §7.1"));
        c.handshake = [offer, judgeAccepted = declinesExtension(offer)](HandshakeRun &run) {
            run.toSend = run.request({{"Sec-WebSocket-Extensions", offer}});
            run.judge = [judgeAccepted](HandshakeRun &answer, CaseResult &result) {
                if (answer.status >= 400 && answer.status < 500) {
                    result.behavior = Verdict::Ok;
                    result.result = QStringLiteral("Refused with %1.")
                                        .arg(QString::fromLatin1(answer.statusLine));
                    return;
                }
                QString why;
                if (!answer.isValidSwitch(&why)) {
                    result.behavior = Verdict::Failed;
                    result.result =
                        QStringLiteral("Neither a refusal nor a valid 101: %1.").arg(why);
                    return;
                }
                result.behavior = Verdict::Ok;
                judgeAccepted(answer, result);
            };
        };
        cases.append(c);
    }
    {
        ProbeCase c = makeCase(
            QStringLiteral("H.7.1"),
            QStringLiteral("Send an opening handshake request with a 64 KiB header field."),
            QStringLiteral("The server refuses the oversized header block (431 or 400); a server "
                           "that accepts it is within the RFC, which sets no limit."),
            QStringLiteral("RFC 6455 §4.2.1, RFC 6585 §5"));
        c.handshake = [](HandshakeRun &run) {
            run.toSend = run.request({{"X-Probe-Padding", QByteArray(64 * 1024, 'a')}});
            run.judge = [](HandshakeRun &answer, CaseResult &result) {
                if (answer.status >= 400 && answer.status < 500) {
                    result.behavior = Verdict::Ok;
                    result.result = QStringLiteral("Refused with %1.")
                                        .arg(QString::fromLatin1(answer.statusLine));
                } else if (answer.status == 101) {
                    result.behavior = Verdict::Informational;
                    result.result = QStringLiteral("Accepted a 64 KiB header block.");
                } else if (answer.closedByServer) {
                    result.behavior = Verdict::NonStrict;
                    result.result = QStringLiteral("Closed the connection without an HTTP "
                                                   "answer.");
                } else {
                    result.behavior = Verdict::Failed;
                    result.result = QStringLiteral("No answer: %1").arg(result.failure);
                }
            };
        };
        cases.append(c);
    }
    cases.append(acceptedRequest(
        QStringLiteral("H.8.1"),
        QStringLiteral("Send a valid opening handshake request in one-byte writes."),
        QStringLiteral("101 Switching Protocols: the request's chunking does not matter."),
        QStringLiteral("RFC 6455 §4.2.1"), [](HandshakeRun &run) {
            run.toSend = run.request();
            run.chop = Chop::octets(1);
        }));
    cases.append(acceptedRequest(
        QStringLiteral("H.8.2"),
        QStringLiteral("Send a valid opening handshake request and a text message frame in the "
                       "same write."),
        QStringLiteral("101, then the message is echo'ed: bytes that follow the request in the "
                       "same read are kept. (A client should wait for the 101 first, so a server "
                       "that drops them is INFORMATIONAL, not FAILED.)"),
        QStringLiteral("RFC 6455 §4.1, §4.2.2"),
        [](HandshakeRun &run) {
            run.toSend = run.request() + maskedTextFrame("early message");
            run.readFramesMs = 2000;
            run.messagesWanted = 1;
        },
        [](HandshakeRun &run, CaseResult &result) {
            if (run.messages.value(0) != "early message") {
                result.behavior =
                    run.frameError.isEmpty() ? Verdict::Informational : Verdict::Failed;
                result.result = run.frameError.isEmpty()
                                    ? QStringLiteral("The message sent with the request was not "
                                                     "echo'ed.")
                                    : QStringLiteral("The frames after the 101 broke a rule: %1")
                                          .arg(run.frameError);
            } else {
                result.result = QStringLiteral("101, then the early message came back.");
            }
        }));
}

void appendTimingCases(QList<ProbeCase> &cases) {
    const qint64 M = 1024 * 1024;
    {
        ProbeCase c = makeCase(
            QStringLiteral("T.1.1"),
            QStringLiteral("Send a 16 MiB text message in 16 fragments of 1 MiB; after the 8th, "
                           "send a Ping and wait (at most 5 s) for its Pong before sending the "
                           "rest."),
            QStringLiteral("The Pong comes while the message is still incomplete (answer pings "
                           "\"as soon as is practical\"), then the whole message is echo'ed."),
            QStringLiteral("RFC 6455 §5.4, §5.5.2"));
        c.prepare = [M](ProbeCase &self) {
            QList<RawFrame> first, rest;
            QByteArray whole;
            for (int i = 0; i < 16; ++i) {
                const QByteArray part(M, char('a' + i));
                whole += part;
                (i < 8 ? first : rest).append(frame(i == 0 ? Text : Cont, part, i == 15));
            }
            self.steps = {SendFrames{first, Chop::whole()},
                          SendFrames{{frame(Ping, "T.1.1")}, Chop::whole()},
                          WaitForEvents{1, 5000, "no pong"}, SendFrames{rest, Chop::whole()},
                          KillAfter{30'000}};
            self.expected = {
                {Verdict::Ok, {Observation::pong("T.1.1"), Observation::message(whole)}},
                {Verdict::NonStrict,
                 {Observation::timeout("no pong"), Observation::pong("T.1.1"),
                  Observation::message(whole)}}};
        };
        c.timeoutMs = 40'000;
        cases.append(c);
    }
    auto tcpCloseJudge = [](CaseResult &result) {
        if (!result.wasClean) {
            return; // judged by the close verdict already
        }
        if (result.tcpCloseAfterHandshakeMs < 0) {
            result.behavior = Verdict::Failed;
            result.result =
                QStringLiteral("The server did not close TCP after the close handshake: "
                               "we had to (RFC 6455 §7.1.1: the server closes first).");
        } else {
            result.result = QStringLiteral("The server closed TCP %1 ms after the close handshake.")
                                .arg(result.tcpCloseAfterHandshakeMs);
        }
    };
    {
        ProbeCase c = makeCase(QStringLiteral("T.2.1"),
                               QStringLiteral("Send a close frame (1000) and measure how long the "
                                              "server takes to close TCP after answering it."),
                               QStringLiteral("The server closes the TCP connection right after "
                                              "the close handshake."),
                               QStringLiteral("RFC 6455 §7.1.1"));
        c.steps = {SendClose{}, KillAfter{5000}};
        c.expected = {{Verdict::Ok, {}}};
        c.judge = tcpCloseJudge;
        cases.append(c);
    }
    {
        ProbeCase c = makeCase(QStringLiteral("T.2.2"),
                               QStringLiteral("Send a frame with RSV = 1 and measure how long the "
                                              "server takes to close TCP after it failed the "
                                              "connection."),
                               QStringLiteral("The server fails the connection (1002) and closes "
                                              "TCP right after the close handshake."),
                               QStringLiteral("RFC 6455 §7.1.1, §7.1.7"));
        c.steps = {SendFrames{{frame(Text, "Hello, world!", true, 4)}, Chop::whole()},
                   KillAfter{5000}};
        c.expected = {{Verdict::Ok, {}}};
        c.expectedClose = failedByPeer({1002});
        c.judge = [tcpCloseJudge](CaseResult &result) {
            if (result.behavior == Verdict::Ok && result.remoteCloseCode)
                tcpCloseJudge(result);
        };
        cases.append(c);
    }
}
} // namespace ws::probe

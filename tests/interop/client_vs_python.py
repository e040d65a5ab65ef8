"""Our client (`wsw connect --echo --json`) with servers written in python3-websockets.

Each case starts a websockets server whose handler drives the test (sends, checks the
echoes, closes), runs wsw connect against it, then checks wsw's JSON events and exit
status against the contract in the wsw command-line notes.
"""

import asyncio
import base64
import os
import ssl
import subprocess
import tempfile

from interop_support import (SIZES, Suite, WswClient, binary_payload, check, check_same,
                             describe, import_websockets, message_payload, text_payload)

websockets = import_websockets()
suite = Suite("client_vs_python", case_timeout=45)


class PeerServer:
    """A websockets server on 127.0.0.1:0 whose handler's outcome is `await .result()`."""

    def __init__(self, handler, **options):
        self.handler = handler
        self.options = options

    async def _run(self, ws):
        try:
            value = await self.handler(ws)
            if not self.outcome.done():
                self.outcome.set_result(value)
        except BaseException as error:
            if not self.outcome.done():
                self.outcome.set_exception(error)

    async def __aenter__(self):
        self.outcome = asyncio.get_running_loop().create_future()
        self.server = await websockets.serve(self._run, "127.0.0.1", 0, max_size=None,
                                             ping_interval=None, close_timeout=5,
                                             **self.options)
        self.port = self.server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}/interop"
        return self

    async def result(self, timeout=30):
        return await asyncio.wait_for(asyncio.shield(self.outcome), timeout)

    async def __aexit__(self, *exc):
        if self.outcome.done() and not self.outcome.cancelled():
            self.outcome.exception()  # retrieved: the test has reported it already
        self.server.close()
        await asyncio.wait_for(self.server.wait_closed(), 10)


async def recv(ws, timeout=20):
    return await asyncio.wait_for(ws.recv(), timeout)


def payload_is(value, expected):
    """A control frame payload as wsw prints it: the text, or base64 when not UTF-8."""
    if value == expected.decode(errors="replace"):
        return True
    try:
        return base64.b64decode(value, validate=True) == expected
    except (ValueError, TypeError):
        return False


def check_messages(client, sent):
    messages = client.find("message")
    check(len(messages) == len(sent),
          f"{len(messages)} message events for {len(sent)} messages; {client.summary()}")
    for event, expected in zip(messages, sent):
        kind = "text" if isinstance(expected, str) else "binary"
        size = len(expected.encode() if kind == "text" else expected)
        check(event.get("type") == kind and event.get("length") == size,
              f"message event type={event.get('type')} length={event.get('length')}, "
              f"expected {describe(expected)}")
        check_same(message_payload(event), expected, "message event data")


def check_closed(client, code, clean):
    closed = client.find("closed")
    check(len(closed) == 1, f"expected one closed event; {client.summary()}")
    check(closed[0].get("code") == code and closed[0].get("clean") is clean,
          f"closed event {closed[0]}, expected code {code} clean {clean}")


async def run_echo_case(payloads):
    async def handler(ws):
        for sent in payloads:
            await ws.send(sent)
            check_same(await recv(ws), sent, f"echo from wsw connect of {describe(sent)}")
        await ws.close(1000, "done")

    async with PeerServer(handler) as peer, WswClient(peer.url) as client:
        await peer.result(60)
        await client.expect_exit(0)
        await client.wait_event("open")
        check_messages(client, payloads)
        check_closed(client, 1000, True)


@suite.case
async def echo_text_sizes():
    await run_echo_case([text_payload(size) for size in SIZES])


@suite.case
async def echo_binary_sizes():
    await run_echo_case([binary_payload(size) for size in SIZES])


@suite.case
async def echo_fragmented_messages():
    text_fragments = ["héllo ", "wörld € ", "😀", "", " 終わり"]
    binary_fragments = [b"\x00\x01", b"", bytes(range(256)) * 4, b"\xff"]

    async def handler(ws):
        await ws.send(iter(text_fragments))
        check_same(await recv(ws), "".join(text_fragments), "echo of a fragmented text message")
        await ws.send(iter(binary_fragments))
        check_same(await recv(ws), b"".join(binary_fragments),
                   "echo of a fragmented binary message")
        await ws.close(1000)

    async with PeerServer(handler) as peer, WswClient(peer.url) as client:
        await peer.result()
        await client.expect_exit(0)
        check_messages(client, ["".join(text_fragments), b"".join(binary_fragments)])


@suite.case
async def client_answers_server_ping():
    async def handler(ws):
        for payload in [b"from-server", b""]:
            pong = await ws.ping(payload)
            # Resolved only by a pong with the same payload (RFC 6455 §5.5.3).
            await asyncio.wait_for(pong, 5)
        await ws.close(1000)

    async with PeerServer(handler) as peer, WswClient(peer.url) as client:
        await peer.result()
        await client.expect_exit(0)
        pings = client.find("ping")
        check(len(pings) == 2 and payload_is(pings[0].get("payload"), b"from-server"),
              f"expected two ping events, the first with payload from-server; {client.summary()}")


@suite.case
async def client_ping_gets_pong_then_eof_closes_1000():
    async def handler(ws):
        await asyncio.wait_for(ws.wait_closed(), 30)
        return ws.close_code, ws.close_reason

    # Without --echo: with it the peer drives the session and EOF does not close it.
    async with PeerServer(handler) as peer, WswClient(peer.url, echo=False) as client:
        await client.wait_event("open")
        await client.send_line("/ping hello")
        pong = await client.wait_event("pong")
        check(payload_is(pong.get("payload"), b"hello"), f"pong event {pong}, expected payload hello")
        check(isinstance(pong.get("rttUs"), int) and pong["rttUs"] >= 0,
              f"pong event without a round-trip time: {pong}")
        # EOF on stdin: wsw sends close 1000 and waits for the close handshake.
        client.close_stdin()
        code, reason = await peer.result()
        check(code == 1000, f"server saw close code {code} after EOF, expected 1000")
        await client.expect_exit(0)
        check_closed(client, 1000, True)


@suite.case
async def server_closes_with_4000():
    async def handler(ws):
        await ws.send("last words")
        check_same(await recv(ws), "last words", "echo")
        await ws.close(4000, "bye")

    async with PeerServer(handler) as peer, WswClient(peer.url) as client:
        await peer.result()
        await client.expect_exit(5)
        close = await client.wait_event("close")
        check(close.get("code") == 4000 and close.get("reason") == "bye",
              f"close event {close}, expected code 4000 reason bye")
        check_closed(client, 4000, True)


@suite.case
async def client_closes_with_4001():
    async def handler(ws):
        await asyncio.wait_for(ws.wait_closed(), 30)
        return ws.close_code, ws.close_reason

    async with PeerServer(handler) as peer, WswClient(peer.url) as client:
        await client.wait_event("open")
        await client.send_line("/close 4001 done")
        code, reason = await peer.result()
        check((code, reason) == (4001, "done"),
              f"server saw close {code} {reason!r}, expected 4001 'done'")
        await client.expect_exit(5)


@suite.case
async def stdin_lines_and_commands_are_sent():
    async def handler(ws):
        received = [await recv(ws) for _ in range(4)]
        await ws.close(1000)
        return received

    async with PeerServer(handler) as peer, WswClient(peer.url, echo=False) as client:
        await client.wait_event("open")
        await client.send_line("typed line ✓")
        await client.send_line("/text /not a command")
        await client.send_line("/binary 00ff10e282")
        await client.send_line("/fragment 3 fragmented € text 😀")
        received = await peer.result()
        check(received == ["typed line ✓", "/not a command", b"\x00\xff\x10\xe2\x82",
                           "fragmented € text 😀"], f"server received {received!r}")
        await client.expect_exit(0)


@suite.case
async def message_over_max_size_gets_1009():
    async def handler(ws):
        await ws.send("x" * 1000)
        check_same(await recv(ws), "x" * 1000, "echo of a message at the limit")
        await ws.send(b"y" * 1001)
        await asyncio.wait_for(ws.wait_closed(), 10)
        return ws.close_code

    async with PeerServer(handler) as peer, \
            WswClient(peer.url, "--max-message-size", "1000") as client:
        code = await peer.result()
        check(code == 1009, f"wsw connect closed with {code} over the limit, expected 1009")
        # Our own limit, not the peer's violation: a status of its own.
        await client.expect_exit(7)
        violation = await client.wait_event("violation")
        check(violation.get("error") == "MessageTooBig" and violation.get("code") == 1009,
              f"violation event {violation}")


@suite.case
async def subprotocol_negotiation():
    async def handler(ws):
        await ws.close(1000)
        return ws.subprotocol

    async with PeerServer(handler, subprotocols=["chat.v1"]) as peer, \
            WswClient(peer.url, "--subprotocol", "chat.v2", "--subprotocol", "chat.v1") as client:
        check(await peer.result() == "chat.v1", "server side did not agree on chat.v1")
        opened = await client.wait_event("open")
        check(opened.get("subprotocol") == "chat.v1", f"open event {opened}, expected chat.v1")
        await client.expect_exit(0)


@suite.case
async def deflate_echo_parameter_combinations():
    # RFC 7692: our `wsw connect --deflate` against python3-websockets' server (which
    # accepts permessage-deflate by default), with our window bits and no context
    # takeover variants; the server's compressed frames must inflate and our echoes
    # (compressed too) must inflate on its side.
    text = '{"sensor":"t1","values":[20.5,20.6,20.7],"ok":true}' * 40
    data = bytes(1000) + bytes(range(256)) * 4
    for options in [(), ("--deflate-window-bits", "10"), ("--deflate-no-context-takeover",),
                    # 9, not 8: Python's zlib refuses a raw 256-byte window.
                    ("--deflate-window-bits", "9", "--deflate-no-context-takeover")]:
        async def handler(ws, options=options):
            names = [e.name for e in ws.extensions]
            check(names == ["permessage-deflate"], f"{options}: server sees {names}")
            for sent in (text, text + "!", data):
                await ws.send(sent)
                check_same(await recv(ws), sent, f"{options}: deflated echo of {describe(sent)}")
            await ws.close(1000, "done")

        async with PeerServer(handler) as peer, \
                WswClient(peer.url, "--deflate", *options) as client:
            await peer.result(30)
            await client.expect_exit(0)
            opened = await client.wait_event("open")
            check("permessage-deflate" in opened["extensions"],
                  f"{options}: open event {opened}")
            compressed = [e for e in client.events
                          if e["event"] == "message" and e.get("compressed")]
            check(len(compressed) == 3, f"{options}: {len(compressed)} compressed messages")
            check_closed(client, 1000, True)


@suite.case
async def wss_against_python_tls_server():
    # A python3-websockets server behind Python's ssl module with a certificate made
    # by the openssl command; our client trusts it through --ca and then echoes.
    with tempfile.TemporaryDirectory() as d:
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                        "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True,
                       timeout=20)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        payloads = [text_payload(100), binary_payload(70000)]

        async def handler(ws):
            for sent in payloads:
                await ws.send(sent)
                check_same(await recv(ws), sent, f"wss echo of {describe(sent)}")
            await ws.close(1000, "done")

        async with PeerServer(handler, ssl=context) as peer:
            url = peer.url.replace("ws://", "wss://")
            async with WswClient(url, "--ca", cert, "--show-tls") as client:
                await peer.result(30)
                await client.expect_exit(0)
                tls = await client.wait_event("tls")
                check(tls["verifiedBy"] == "ca-file", f"tls event {tls}")
                check(tls["protocol"].startswith("TLSv1."), f"tls event {tls}")
                check_messages(client, payloads)
                check_closed(client, 1000, True)
            # Without --ca the same server is refused, with its fingerprint named.
            async with WswClient(url) as refused:
                await refused.expect_exit(2)
                check(any("self-signed" in line for line in refused.stderr) or
                      any("self-signed" in e.get("message", "") for e in refused.events),
                      f"error: {refused.stderr} {refused.events}")


if __name__ == "__main__":
    suite.run()

#!/usr/bin/python3
"""`wsw relay` between peers we did not write, on 127.0.0.1.

python3-websockets client -> wsw relay -> Node ws server, Node ws client -> wsw relay
-> python3-websockets server, and raw-socket peers on either side where frames must
be counted or broken on purpose. Each case starts its own relay and peers.
"""
import asyncio
import hashlib
import json
import os
import ssl
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from interop_support import (  # noqa: E402
    OP_CLOSE, Suite, binary_payload, check, check_same, close_payload, close_writer,
    encode_frame, import_websockets, RawServer, raw_client_handshake, raw_server_handshake,
    read_frame, read_http_head, read_until_close, start_process, stop_process, text_payload,
    wsw_binary)

websockets = import_websockets()
WSW = wsw_binary()
NODE = os.environ.get("WSW_NODE", "node")
HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.join(HERE, "node_peer.cjs")
MASK = b"\x11\x22\x33\x44"
SIZES = [0, 125, 126, 65536, 16 * 1024 * 1024]

suite = Suite("relay", case_timeout=60)


def same(got, expected, what):
    check(got == expected, f"{what}: expected {expected!r}, got {got!r}")


def observed_and_unobserved(name, run):
    """Two cases of `run(*relay_options)`: `name`, the relay as it runs by default, and
    `name`_unobserved, with --quiet and without --save: nobody watches the data
    frames, which then go from leg to leg without becoming events (the fast path);
    the same must arrive."""
    async def observed():
        await run()

    async def unobserved():
        await run("--quiet")

    observed.__name__ = name
    unobserved.__name__ = name + "_unobserved"
    suite.case(observed)
    suite.case(unobserved)


class Relay:
    """`wsw relay --listen 0 --to URL ...`; .port once listening."""

    def __init__(self, target, *options):
        self.args = [WSW, "relay", "--listen", "0", "--to", target, *options]
        self.stderr = []

    async def __aenter__(self):
        self.proc = await start_process(self.args)
        line = (await asyncio.wait_for(self.proc.stdout.readline(), 10)).decode()
        check(line.startswith("listening on ws://127.0.0.1:"), f"relay printed {line!r}")
        self.port = int(line.split("ws://127.0.0.1:")[1].split("/")[0])
        self.url = f"ws://127.0.0.1:{self.port}"
        return self

    async def __aexit__(self, *exc):
        await stop_process(self.proc)


class NodeServer:
    """node_peer.cjs server; .port, and .events() reads the JSON lines it printed."""

    def __init__(self, deflate=False):
        self.args = [NODE, PEER, "server"] + (["deflate"] if deflate else [])
        self.lines = []

    async def __aenter__(self):
        self.proc = await start_process(self.args)
        listening = await self.next_event()
        check(listening["event"] == "listening", f"node server said {listening}")
        self.port = listening["port"]
        self.url = f"ws://127.0.0.1:{self.port}"
        return self

    async def next_event(self, timeout=10):
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        check(line, "the node server ended")
        event = json.loads(line)
        self.lines.append(event)
        return event

    async def wait_for(self, kind, timeout=10):
        for event in self.lines:
            if event["event"] == kind and not event.get("_seen"):
                event["_seen"] = True
                return event
        while True:
            event = await self.next_event(timeout)
            if event["event"] == kind:
                event["_seen"] = True
                return event

    async def __aexit__(self, *exc):
        await stop_process(self.proc)


async def raw_request(port, request):
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
    writer.write(request)
    await writer.drain()
    status, headers = await read_http_head(reader, timeout=8)
    body = await asyncio.wait_for(reader.read(), 8)
    close_writer(writer)
    return status, headers, body


UPGRADE = ("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n")


# ------------------------------------------------ python client -> relay -> node server

async def python_client_to_node(relay_options, client_deflate, server_deflate,
                                expect_client_leg, expect_server_leg):
    async with NodeServer(deflate=server_deflate) as node, \
            Relay(node.url + "/", *relay_options) as relay:
        async with websockets.connect(
                relay.url + "/room?id=7", max_size=None, subprotocols=["chat.v2"],
                compression="deflate" if client_deflate else None,
                extra_headers={"Cookie": "session=abc", "Authorization": "Bearer t0k"},
                origin="http://app.test", user_agent_header="python-relay-test") as ws:
            connection = await node.wait_for("connection")
            headers = connection["headers"]
            check_same(connection["url"], "/room?id=7", "path and query upstream")
            check_same(headers.get("cookie"), "session=abc", "Cookie upstream")
            check_same(headers.get("authorization"), "Bearer t0k", "Authorization upstream")
            check_same(headers.get("origin"), "http://app.test", "Origin upstream")
            check_same(headers.get("user-agent"), "python-relay-test", "User-Agent upstream")
            check_same(headers.get("host"), f"127.0.0.1:{node.port}", "Host upstream")
            check_same(ws.subprotocol, "chat.v2", "subprotocol chosen upstream")
            check_same(ws.response_headers.get("Set-Cookie"), "relayed=yes", "Set-Cookie back")
            client_leg = "permessage-deflate" in ws.response_headers.get(
                "Sec-WebSocket-Extensions", "")
            check(client_leg == expect_client_leg, f"client leg deflate {client_leg}")
            check((connection["extensions"] == "permessage-deflate") == expect_server_leg,
                  f"server leg extensions {connection['extensions']!r}")
            # 16 MiB messages go through in python_client_node_server_plain and
            # node_client_python_server; here the sizes around the length encodings.
            for size in SIZES[:-1] + [1024 * 1024]:
                for message in (text_payload(size), binary_payload(size)):
                    await ws.send(message)
                    check_same(await asyncio.wait_for(ws.recv(), 20), message, "echo")


async def plain_through(*relay_options):
    async with NodeServer() as node, Relay(node.url + "/", "--no-deflate-client",
                                           "--no-deflate-server", *relay_options) as relay:
        async with websockets.connect(relay.url + "/", max_size=None, compression=None) as ws:
            for size in SIZES:
                for message in (text_payload(size), binary_payload(size)):
                    await ws.send(message)
                    check_same(await asyncio.wait_for(ws.recv(), 20), message, "echo")
            # Fragmented text (websockets sends a list as fragments).
            await ws.send(["caf", "é ", "wörld"])
            check_same(await asyncio.wait_for(ws.recv(), 5), "café wörld", "fragmented text")
            # A ping reaches the server, which answers it; the relay answers none.
            pong = await ws.ping(b"p1")
            await asyncio.wait_for(pong, 5)
            check_same((await node.wait_for("ping"))["data"], "p1", "ping at the server")
            silent = await ws.ping(b"silent")
            check_same((await node.wait_for("ping"))["data"], "silent", "ping at the server")
            done, _ = await asyncio.wait([silent], timeout=0.5)
            check(not done, "a pong came for a ping the server did not answer")
            # The server's ping: our client answers, the server hears the pong.
            await ws.send("ping-me s1")
            check_same(await asyncio.wait_for(ws.recv(), 5), "pong s1", "server's pong report")
            await ws.close(4001, "bye")
            closed = await node.wait_for("close")
            check((closed["code"], closed["reason"]) == (4001, "bye"), f"close upstream {closed}")
        async with websockets.connect(relay.url + "/", compression=None) as ws:
            await ws.send("close-me 4002 why not")
            try:
                await asyncio.wait_for(ws.recv(), 5)
            except websockets.exceptions.ConnectionClosed:
                pass
            check((ws.close_code, ws.close_reason) == (4002, "why not"),
                  f"close downstream {ws.close_code} {ws.close_reason!r}")


observed_and_unobserved("python_client_node_server_plain", plain_through)


@suite.case
async def python_client_node_server_headers_and_deflate_both_legs():
    await python_client_to_node([], True, True, True, True)


@suite.case
async def python_client_node_server_deflate_client_leg_only():
    await python_client_to_node(["--no-deflate-server"], True, True, True, False)


@suite.case
async def python_client_node_server_deflate_server_leg_only():
    await python_client_to_node(["--no-deflate-client"], True, True, False, True)


@suite.case
async def upstream_refusal_is_relayed():
    async with NodeServer() as node, Relay(node.url + "/") as relay:
        status, headers, body = await raw_request(
            relay.port, UPGRADE.format(path="/forbidden/x").encode())
        check(status.startswith("HTTP/1.1 403"), f"status {status!r}")
        check_same(body, b"no entry for /forbidden/x", "body of the refusal")


@suite.case
async def upstream_down_is_502():
    # A port that was free a moment ago: nobody listens there.
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    async with Relay(f"ws://127.0.0.1:{port}/") as relay:
        started = time.monotonic()
        status, _, body = await raw_request(relay.port, UPGRADE.format(path="/").encode())
        check(status.startswith("HTTP/1.1 502"), f"status {status!r}")
        check(b"127.0.0.1:" + str(port).encode() in body and b"refused" in body.lower(),
              f"502 body says what happened: {body!r}")
        check(time.monotonic() - started < 5, "502 took too long")


@suite.case
async def upstream_silent_is_504():
    async def never_answer(reader, writer):
        await reader.read()

    async with RawServer(never_answer) as silent, \
            Relay(silent.url, "--handshake-timeout", "500") as relay:
        started = time.monotonic()
        status, _, body = await raw_request(relay.port, UPGRADE.format(path="/").encode())
        elapsed = time.monotonic() - started
        check(status.startswith("HTTP/1.1 504"), f"status {status!r}")
        check(b"500 ms" in body, f"504 body says what happened: {body!r}")
        check(0.4 < elapsed < 3, f"504 after {elapsed:.2f} s")


@suite.case
async def wss_upstream_trusted_by_fingerprint():
    serve = await start_process([WSW, "serve", "--port", "0", "--tls"])
    try:
        listening = (await asyncio.wait_for(serve.stdout.readline(), 10)).decode().split()
        fingerprint = (await asyncio.wait_for(serve.stdout.readline(), 10)).decode().split()
        check(listening[:2] == ["listening", "on"] and fingerprint[:2] == ["certificate", "sha256"],
              f"wsw serve --tls printed {listening} {fingerprint}")
        target = listening[2]
        # Not trusted: the relay refuses to go on, and says why.
        async with Relay(target) as relay:
            status, _, body = await raw_request(relay.port, UPGRADE.format(path="/").encode())
            check(status.startswith("HTTP/1.1 502") and b"certificate" in body.lower(),
                  f"untrusted upstream: {status!r} {body!r}")
        async with Relay(target, "--accept-fingerprint", fingerprint[2]) as relay:
            async with websockets.connect(relay.url + "/", compression=None) as ws:
                await ws.send("over tls")
                check_same(await asyncio.wait_for(ws.recv(), 5), "over tls", "echo over wss")
    finally:
        await stop_process(serve)


@suite.case
async def python_client_over_wss_with_the_generated_certificate():
    # `wsw relay --tls` listens with the localhost certificate `wsw serve --tls` makes
    # and keeps: a client that trusts that file, and nothing else, connects.
    saved = os.environ.get("XDG_DATA_HOME")
    with tempfile.TemporaryDirectory() as data:
        os.environ["XDG_DATA_HOME"] = data
        try:
            async with NodeServer() as node:
                relay = await start_process([WSW, "relay", "--listen", "0", "--tls",
                                             "--to", node.url + "/"])
                try:
                    lines = [(await asyncio.wait_for(relay.stdout.readline(), 10)).decode().split()
                             for _ in range(3)]
                    check(lines[0][:2] == ["listening", "on"] and
                          lines[0][2].startswith("wss://127.0.0.1:") and
                          lines[1][:2] == ["certificate", "sha256"] and
                          lines[2][:2] == ["certificate", "file"], f"wsw relay --tls printed {lines}")
                    url, fingerprint, path = lines[0][2], lines[1][2], lines[2][2]
                    check(path.startswith(data + os.sep) and path.endswith("localhost.crt"),
                          f"certificate file {path}")
                    with open(path, encoding="ascii") as file:
                        der = ssl.PEM_cert_to_DER_cert(file.read())
                    digest = hashlib.sha256(der).hexdigest().upper()
                    same(fingerprint.replace(":", ""), digest, "fingerprint of the file")
                    # The system's store does not know it.
                    try:
                        async with websockets.connect(url, ssl=ssl.create_default_context(),
                                                      open_timeout=5):
                            pass
                        check(False, "a client that does not trust the certificate connected")
                    except ssl.SSLCertVerificationError:
                        pass
                    trusting = ssl.create_default_context(cafile=path)
                    async with websockets.connect(url + "tls?x=1", ssl=trusting, max_size=None,
                                                  compression=None) as ws:
                        connection = await node.wait_for("connection")
                        check_same(connection["url"], "/tls?x=1", "path and query upstream")
                        for message in (text_payload(16 * 1024 * 1024), "after the big one"):
                            await ws.send(message)
                            check_same(await asyncio.wait_for(ws.recv(), 30), message,
                                       "echo over wss through the relay")
                finally:
                    await stop_process(relay)
            # The same certificate, not a copy: `wsw serve --tls` presents it too.
            serve = await start_process([WSW, "serve", "--port", "0", "--tls"])
            try:
                await asyncio.wait_for(serve.stdout.readline(), 10)
                served = (await asyncio.wait_for(serve.stdout.readline(), 10)).decode().split()
                same(served[:3], ["certificate", "sha256", fingerprint], "wsw serve --tls")
            finally:
                await stop_process(serve)
        finally:
            if saved is None:
                del os.environ["XDG_DATA_HOME"]
            else:
                os.environ["XDG_DATA_HOME"] = saved


# ------------------------------------------------ node client -> relay -> python server

@suite.case
async def node_client_python_server():
    seen = {}

    async def handler(ws, path):
        seen["path"] = path
        seen["headers"] = ws.request_headers
        try:
            async for message in ws:
                if isinstance(message, str) and message.startswith("ping-me "):
                    payload = message[8:].encode()
                    await asyncio.wait_for(await ws.ping(payload), 5)
                    await ws.send("pong " + payload.decode())
                elif isinstance(message, str) and message.startswith("close-me "):
                    _, code, reason = message.split(" ", 2)
                    await ws.close(int(code), reason)
                else:
                    await ws.send(message)
        finally:
            seen.setdefault("closes", []).append((ws.close_code, ws.close_reason))

    for relay_options, deflate in ((["--no-deflate-client", "--no-deflate-server"], False),
                                   ([], True)):
        seen.clear()
        async with websockets.serve(handler, "127.0.0.1", 0, max_size=None,
                                    subprotocols=["chat.v2"],
                                    compression="deflate" if deflate else None) as server:
            port = server.sockets[0].getsockname()[1]
            async with Relay(f"ws://127.0.0.1:{port}/", *relay_options) as relay:
                proc = await start_process(
                    [NODE, PEER, "client", relay.url + "/node?x=1"] +
                    (["deflate"] if deflate else []))
                stdout, stderr = await asyncio.wait_for(proc.communicate(), 45)
                events = [json.loads(line) for line in stdout.decode().splitlines()]
                check(events and events[-1]["event"] == "done",
                      f"node client: {events[-3:]} {stderr.decode()[-500:]}")
                opened = events[0]
                check_same(opened["protocol"], "chat.v2", "subprotocol")
                check((opened["extensions"] == "permessage-deflate") == deflate,
                      f"client leg extensions {opened['extensions']!r}")
                echoes = [e for e in events if e["event"] == "echo"]
                check(len(echoes) == 2 * len(SIZES) and all(e["ok"] for e in echoes),
                      f"echoes {echoes}")
                by_kind = {e["event"]: e for e in events}
                check_same(by_kind["fragmented"]["data"], "héllo wörld €", "fragmented text")
                check_same(by_kind["pong"]["data"], "n1", "pong to the client's ping")
                check_same(by_kind["report"]["data"], "pong s1", "server's ping answered")
                # The client's close is answered with the server's answer (websockets
                # echoes code and reason), not by the relay.
                closed = (by_kind["closed"]["code"], by_kind["closed"]["reason"])
                check(closed == (4001, "bye"), f"close answered {closed}")
                closed_by_server = (by_kind["closed-by-server"]["code"],
                                    by_kind["closed-by-server"]["reason"])
                check(closed_by_server == (4002, "why not"), f"close downstream {closed_by_server}")
                check_same(seen["path"], "/node?x=1", "path and query upstream")
                check_same(seen["headers"].get("Cookie"), "session=abc", "Cookie upstream")
                check_same(seen["headers"].get("User-Agent"), "node-relay-test", "User-Agent")
                check((4001, "bye") in seen["closes"], f"close upstream {seen['closes']}")
                deflated = "permessage-deflate" in seen["headers"].get(
                    "Sec-WebSocket-Extensions", "")
                check(deflated == deflate, f"server leg offer {deflated}")


# ------------------------------------------------ raw peers: frames counted, rules broken

async def frames_kept_through(*relay_options):
    script = [(0x1, False, b"caf\xc3"), (0x0, False, b"\xa9 \xe2\x82"), (0x0, True, b"\xac")]
    back = [(0x2, False, b"\x00\x01"), (0x9, True, b"mid"), (0x0, False, b""),
            (0x0, True, b"\xff" * 200)]

    async def upstream(reader, writer):
        await raw_server_handshake(reader, writer)
        got = [await asyncio.wait_for(read_frame(reader), 5) for _ in script]
        for opcode, fin, payload in back:
            writer.write(encode_frame(opcode, payload, fin=fin))
        await writer.drain()
        pong = await asyncio.wait_for(read_frame(reader), 5)
        writer.write(encode_frame(OP_CLOSE, close_payload(1000, b"done")))
        await writer.drain()
        close = await asyncio.wait_for(read_frame(reader), 5)
        return got, pong, close

    async with RawServer(upstream) as server, Relay(server.url, *relay_options) as relay:
        reader, writer, _ = await raw_client_handshake(relay.port)
        keys = set()
        for index, (opcode, fin, payload) in enumerate(script):
            key = bytes([index + 1]) * 4
            keys.add(key)
            writer.write(encode_frame(opcode, payload, fin=fin, mask=key))
        await writer.drain()
        frames = [await asyncio.wait_for(read_frame(reader), 5) for _ in back]
        same([(f.opcode, f.fin, f.payload, f.masked) for f in frames],
                   [(o, fin, p, False) for o, fin, p in back], "frames downstream")
        writer.write(encode_frame(0xA, b"mid", mask=MASK))
        await writer.drain()
        close = await asyncio.wait_for(read_frame(reader), 5)
        same((close.opcode, close.close_code, close.close_reason),
                   (OP_CLOSE, 1000, b"done"), "close downstream")
        writer.write(encode_frame(OP_CLOSE, close_payload(1000, b"done"), mask=MASK))
        await writer.drain()
        got, pong, upstream_close = await asyncio.wait_for(server.done, 5)
        close_writer(writer)
    same([(f.opcode, f.fin, f.payload, f.masked) for f in got],
               [(o, fin, p, True) for o, fin, p in script], "frames upstream")
    same((pong.opcode, pong.payload), (0xA, b"mid"), "the client's pong upstream")
    same((upstream_close.opcode, upstream_close.close_code), (OP_CLOSE, 1000),
               "close answered upstream")


observed_and_unobserved("fragments_and_controls_keep_their_frames", frames_kept_through)


@suite.case
async def a_leg_that_vanishes_closes_the_other_with_1011():
    async def upstream_drops(reader, writer):
        await raw_server_handshake(reader, writer)
        await asyncio.wait_for(read_frame(reader), 5)
        writer.transport.abort()

    async with RawServer(upstream_drops) as server, Relay(server.url) as relay:
        reader, writer, _ = await raw_client_handshake(relay.port)
        writer.write(encode_frame(0x1, b"bye soon", mask=MASK))
        await writer.drain()
        _, close = await read_until_close(reader, timeout=5)
        check(close is not None and close.close_code == 1011 and b"server leg" in close.close_reason,
              f"client leg closed with {close!r}")
        writer.write(encode_frame(OP_CLOSE, close_payload(1011), mask=MASK))
        await writer.drain()
        check_same(await asyncio.wait_for(reader.read(), 5), b"", "the relay closes TCP")
        close_writer(writer)

    async def upstream_waits_for_close(reader, writer):
        await raw_server_handshake(reader, writer)
        frames, close = await read_until_close(reader, timeout=5)
        writer.write(encode_frame(OP_CLOSE, close.payload))
        await writer.drain()
        return close

    async with RawServer(upstream_waits_for_close) as server, Relay(server.url) as relay:
        reader, writer, _ = await raw_client_handshake(relay.port)
        writer.transport.abort()
        close = await asyncio.wait_for(server.done, 5)
        check(close is not None and close.close_code == 1011 and b"client leg" in close.close_reason,
              f"server leg closed with {close!r}")


async def violation_upstream(*relay_options):
    async def upstream_masks(reader, writer):
        await raw_server_handshake(reader, writer)
        # RFC 6455 §5.1: a server must not mask its frames.
        writer.write(encode_frame(0x1, b"masked", mask=MASK))
        await writer.drain()
        return await read_until_close(reader, timeout=5)

    async with RawServer(upstream_masks) as server, Relay(server.url, *relay_options) as relay:
        reader, writer, _ = await raw_client_handshake(relay.port)
        frames, close = await read_until_close(reader, timeout=5)
        check(close is not None and close.close_code == 1011 and
              b"server leg failed with 1002" in close.close_reason,
              f"client leg closed with {close!r}")
        check(len(frames) == 1, f"nothing of the bad frame reached the client: {frames}")
        _, upstream_close = await asyncio.wait_for(server.done, 5)
        check(upstream_close is not None and upstream_close.close_code == 1002,
              f"server leg failed with {upstream_close!r}")
        close_writer(writer)


observed_and_unobserved("a_violation_upstream_closes_the_client_with_1011", violation_upstream)


@suite.case
async def plain_http_gets_426():
    async with Relay("ws://127.0.0.1:9/") as relay:
        status, headers, body = await raw_request(relay.port,
                                                  b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        check(status.startswith("HTTP/1.1 426"), f"status {status!r}")
        check_same(headers.get("upgrade"), "websocket", "Upgrade field")
        check(b"WebSocket relay" in body, f"body {body!r}")


def resident_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


@suite.case
async def back_pressure_holds_a_flood_until_the_client_reads():
    frame = encode_frame(0x2, b"u" * (1 << 20))
    count = 64

    async def flood(reader, writer):
        await raw_server_handshake(reader, writer)
        for _ in range(count):
            writer.write(frame)
            await writer.drain()
        await reader.read()

    async with RawServer(flood) as server, Relay(server.url, "--quiet") as relay:
        # start_process runs wsw under `timeout`: the relay is its child.
        with open(f"/proc/{relay.proc.pid}/task/{relay.proc.pid}/children") as children:
            relay_pid = int(children.read().split()[0])
        before = resident_kib(relay_pid)
        reader, writer, _ = await raw_client_handshake(relay.port)
        await asyncio.sleep(1.5)  # a client that reads nothing yet
        held = resident_kib(relay_pid) - before
        check(held < 24 * 1024, f"the relay grew by {held} KiB while the client did not read")
        got = 0
        while got < count * len(frame):
            data = await asyncio.wait_for(reader.read(1 << 20), 5)
            check(data, f"the stream ended after {got} bytes")
            got += len(data)
        same(got, count * len(frame), "bytes through once the client reads")
        close_writer(writer)


async def hostile(frame_bytes, expected_code, logged=True, split_at=None):
    log_path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"relay-hostile-{os.getpid()}.jsonl")
    # Unlogged and quiet: the fast path must fail the leg the same way.
    watch = ["--save", log_path] if logged else ["--quiet"]
    async with NodeServer() as node, Relay(node.url + "/", "--no-deflate-client",
                                           *watch) as relay:
        reader, writer, _ = await raw_client_handshake(relay.port)
        await node.wait_for("connection")
        if split_at is not None:
            # The start of the frame first, so that the relay has read it (and
            # could have passed it on) before the rest comes.
            writer.write(frame_bytes[:split_at])
            await writer.drain()
            await asyncio.sleep(0.3)
            frame_bytes = frame_bytes[split_at:]
        writer.write(frame_bytes)
        await writer.drain()
        frames, close = await read_until_close(reader, timeout=5)
        check(close is not None and close.close_code == expected_code,
              f"client leg closed with {close!r}")
        upstream = await node.wait_for("close")
        check_same(upstream["code"], 1011, "upstream sees a clean close with 1011")
        close_writer(writer)
    if not logged:
        return
    # --save: both legs in one log, told apart by their names; the violation on the
    # client leg, the 1011 close on the server leg.
    with open(log_path, encoding="utf-8") as file:
        lines = [json.loads(line) for line in file]
    os.unlink(log_path)
    names = {line["id"]: line["name"] for line in lines if line.get("type") == "connection"}
    # Named and marked as the window names and marks a relay's legs.
    same(names, {1: "relay 1 #1 client", 2: "relay 1 #1 server"}, "connections in the log")
    legs = {line["id"]: line.get("leg") for line in lines if line.get("type") == "connection"}
    same(legs, {1: "client", 2: "server"}, "legs in the log")
    records = [line for line in lines if line.get("type") == "record"]
    check(any(r["conn"] == 1 and r["kind"] == "error" for r in records),
          "the client leg's violation is logged")
    ends = [r for r in records if r["conn"] == 2 and r.get("state") == "closed"]
    check(len(ends) == 1 and ends[0].get("close_code") == 1011 and ends[0].get("clean"),
          f"the server leg's clean 1011 close is logged: {ends}")


@suite.case
async def hostile_invalid_utf8():
    await hostile(encode_frame(0x1, b"ok \xff", mask=MASK), 1007)


@suite.case
async def hostile_invalid_utf8_unobserved():
    # The first fragment is valid and goes through; the second breaks UTF-8.
    await hostile(encode_frame(0x1, b"ok \xc3", fin=False, mask=MASK) +
                  encode_frame(0x0, b"(", mask=MASK), 1007, logged=False)


@suite.case
async def hostile_invalid_utf8_deep_in_a_large_frame():
    # 1 MiB of text whose 600,000th byte breaks UTF-8, its first half read before the
    # rest arrives: nothing of it goes upstream, which hears a clean 1011.
    payload = bytearray(b"a" * (1 << 20))
    payload[600_000] = 0xFF
    frame = encode_frame(0x1, bytes(payload), mask=MASK)
    await hostile(frame, 1007, logged=False, split_at=len(frame) // 2)


@suite.case
async def hostile_huge_length():
    # 2^62 bytes announced: refused before anything is spent (1009).
    await hostile(bytes([0x82, 0xFF]) + (1 << 62).to_bytes(8, "big") + MASK, 1009)


@suite.case
async def hostile_slowloris():
    async with NodeServer() as node, \
            Relay(node.url + "/", "--handshake-timeout", "600") as relay:
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        started = time.monotonic()
        request = UPGRADE.format(path="/").encode()
        ended = False
        for byte in request[:-4]:
            writer.write(bytes([byte]))
            try:
                await writer.drain()
            except ConnectionError:
                ended = True
                break
            await asyncio.sleep(0.05)
            if reader.at_eof() or time.monotonic() - started > 3:
                break
        data = await asyncio.wait_for(reader.read(), 3)
        elapsed = time.monotonic() - started
        check(data == b"" or ended, f"the relay answered a stalled request: {data!r}")
        check(elapsed < 2.5, f"dropped after {elapsed:.2f} s")
        check(not any(e["event"] == "connection" for e in node.lines),
              "the upstream saw a connection")
        close_writer(writer)


suite.run()

"""Our server (`wsw serve`) with clients from python3-websockets (Debian's 10.4)."""

import asyncio
import os
import ssl
import tempfile

from interop_support import (SIZES, Suite, WswServer, binary_payload, check, check_same,
                             import_websockets, recv, text_payload, wait_for_log)

websockets = import_websockets()
suite = Suite("server_vs_python", case_timeout=45)


def connect(url, **options):
    # max_size=None: the 16 MiB rows exceed the library's 1 MiB default.
    return websockets.connect(url, max_size=None, open_timeout=10, close_timeout=5,
                              ping_interval=None, **options)


@suite.case
async def echo_text_sizes():
    async with WswServer("--mode", "echo") as server, connect(server.url) as ws:
        for size in SIZES:
            sent = text_payload(size)
            await ws.send(sent)
            check_same(await recv(ws), sent, f"echo of a {size}-byte text message")
        await ws.close()
        check(ws.close_code == 1000, f"close code {ws.close_code}, expected 1000")


@suite.case
async def echo_binary_sizes():
    async with WswServer("--mode", "echo") as server, connect(server.url) as ws:
        for size in SIZES:
            sent = binary_payload(size)
            await ws.send(sent)
            check_same(await recv(ws), sent, f"echo of a {size}-byte binary message")


@suite.case
async def echo_fragmented_messages():
    # websockets sends an iterable as one fragmented message (RFC 6455 §5.4), each
    # element a frame; the multi-byte characters sit on both sides of each boundary.
    text_fragments = ["héllo ", "wörld € ", "😀", "", " 終わり"]
    binary_fragments = [b"\x00\x01", b"", bytes(range(256)) * 4, b"\xff"]
    async with WswServer("--mode", "echo") as server, connect(server.url) as ws:
        await ws.send(iter(text_fragments))
        check_same(await recv(ws), "".join(text_fragments), "echo of a fragmented text message")
        await ws.send(iter(binary_fragments))
        check_same(await recv(ws), b"".join(binary_fragments),
                   "echo of a fragmented binary message")


@suite.case
async def server_answers_client_ping():
    async with WswServer("--mode", "echo") as server, connect(server.url) as ws:
        for payload in [b"", b"probe", bytes(range(125))]:
            pong = await ws.ping(payload)
            # websockets resolves the waiter only for a pong carrying the same payload.
            await asyncio.wait_for(pong, 5)
        await ws.send("still open")
        check_same(await recv(ws), "still open", "echo after the pings")


@suite.case
async def client_closes_with_4000():
    async with WswServer("--mode", "echo") as server:
        async with connect(server.url) as ws:
            await ws.send("before close")
            check_same(await recv(ws), "before close", "echo")
            await ws.close(4000, "bye")
            # RFC 6455 §5.5.1: the server answers with a close frame; echoing the code is usual.
            check(ws.close_code == 4000, f"server answered close code {ws.close_code}, expected 4000")
        await wait_for_log(server, "4000")


@suite.case
async def server_stop_closes_with_1001():
    async with WswServer("--mode", "echo") as server:
        async with connect(server.url) as ws:
            await ws.send("hello")
            check_same(await recv(ws), "hello", "echo")
            status = await server.stop()
            await asyncio.wait_for(ws.wait_closed(), 10)
            check(ws.close_code == 1001,
                  f"after SIGTERM the client saw close code {ws.close_code}, expected 1001")
            check(status == 0, f"wsw serve exited {status} after SIGTERM, expected 0")


@suite.case
async def greeting_mode_greets_first():
    greeting = "Welcome to the interop test ✓"
    async with WswServer("--mode", "greeting", "--greeting", greeting) as server:
        async with connect(server.url) as ws:
            check_same(await recv(ws, 5), greeting, "first message in greeting mode")
            await ws.send("then echo")
            check_same(await recv(ws), "then echo", "echo after the greeting")


@suite.case
async def broadcast_mode_reaches_other_clients():
    probe = f"broadcast probe {os.getpid()} ✓"
    async with WswServer("--mode", "broadcast") as server:
        async with connect(server.url) as sender, connect(server.url) as listener:
            await sender.send(probe)
            # Join/leave notices may come first: wait for the probe itself.
            seen = []
            while probe not in seen:
                seen.append(await recv(listener, 5))
            await sender.send(b"\x00binary\xff")
            while b"\x00binary\xff" not in seen:
                seen.append(await recv(listener, 5))


@suite.case
async def subprotocol_negotiation():
    async with WswServer("--subprotocol", "chat.v2", "--subprotocol", "chat.v1") as server:
        async with connect(server.url, subprotocols=["chat.v1"]) as ws:
            check(ws.subprotocol == "chat.v1", f"subprotocol {ws.subprotocol!r}, expected chat.v1")
        async with connect(server.url) as ws:
            check(ws.subprotocol is None, f"subprotocol {ws.subprotocol!r} though none was offered")


@suite.case
async def message_over_max_size_gets_1009():
    async with WswServer("--max-message-size", "1000") as server, connect(server.url) as ws:
        await ws.send("x" * 1000)
        check_same(await recv(ws), "x" * 1000, "echo of a message at the limit")
        await ws.send(b"y" * 1001)
        await asyncio.wait_for(ws.wait_closed(), 10)
        check(ws.close_code == 1009, f"close code {ws.close_code} over the limit, expected 1009")


@suite.case
async def origin_policy():
    allowed = "http://allowed.example"
    async with WswServer("--origin", allowed) as server:
        async with connect(server.url, origin=allowed) as ws:
            await ws.send("from an allowed origin")
            check_same(await recv(ws), "from an allowed origin", "echo")
        try:
            async with connect(server.url, origin="http://other.example"):
                raise AssertionError("a client from another origin was accepted")
        except websockets.exceptions.InvalidStatusCode as refusal:
            check(refusal.status_code == 403, f"other origin refused with {refusal.status_code}, "
                  "expected 403")


@suite.case
async def concurrent_clients():
    async def one_client(url, index):
        async with connect(url) as ws:
            for round_ in range(20):
                sent = text_payload(index * 97 + round_ * 13) if round_ % 2 else \
                    binary_payload(index * 1031 + round_)
                await ws.send(sent)
                check_same(await recv(ws), sent, f"client {index} round {round_}")

    async with WswServer("--mode", "echo") as server:
        await asyncio.gather(*(one_client(server.url, i) for i in range(16)))


def deflate_factory(**params):
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    return ClientPerMessageDeflateFactory(**params)


@suite.case
async def deflate_echo_parameter_combinations():
    # RFC 7692 with python3-websockets' client: its default offer, then the window
    # bits and no-context-takeover variants it supports, against our --deflate.
    variants = [
        {},
        {"server_max_window_bits": 10},
        {"client_max_window_bits": 9},
        {"server_no_context_takeover": True},
        {"client_no_context_takeover": True, "server_max_window_bits": 8},
    ]
    text = '{"sensor":"t1","values":[20.5,20.6,20.7],"ok":true}' * 40
    data = bytes(1000) + bytes(range(256)) * 4
    async with WswServer("--mode", "echo", "--deflate") as server:
        for params in variants:
            factories = [deflate_factory(**params)] if params else None
            extra = {"extensions": factories} if factories else {}
            async with connect(server.url, **extra) as ws:
                names = [e.name for e in ws.protocol.extensions] if hasattr(ws, "protocol") \
                    else [e.name for e in ws.extensions]
                check("permessage-deflate" in names, f"{params}: extensions {names}")
                for i in range(3):
                    await ws.send(text + str(i))
                    check_same(await recv(ws), text + str(i), f"{params}: deflated text {i}")
                await ws.send(data)
                check_same(await recv(ws), data, f"{params}: deflated binary")
                await ws.close()
                check(ws.close_code == 1000, f"{params}: close code {ws.close_code}")


@suite.case
async def deflate_declined_without_flag():
    async with WswServer("--mode", "echo") as server, connect(server.url) as ws:
        check(not ws.extensions, f"extensions {ws.extensions} without --deflate")
        await ws.send("plain")
        check_same(await recv(ws), "plain", "echo without deflate")


@suite.case
async def wss_with_generated_certificate():
    # `wsw serve --tls` makes a self-signed localhost certificate in its data folder;
    # python's ssl module trusts exactly that file and checks the host name.
    with tempfile.TemporaryDirectory() as data:
        os.environ["XDG_DATA_HOME"] = data
        try:
            async with WswServer("--mode", "echo", "--tls", "--deflate") as server:
                certificate = next(os.path.join(d, f) for d, _, files in os.walk(data)
                                   for f in files if f == "localhost.crt")
                context = ssl.create_default_context(cafile=certificate)
                check(server.url.startswith("wss://"), f"url {server.url}")
                url = server.url.replace("127.0.0.1", "localhost")
                async with connect(url, ssl=context) as ws:
                    check(ws.transport.get_extra_info("ssl_object").version().startswith("TLS"),
                          "not a TLS connection")
                    check([e.name for e in ws.extensions] == ["permessage-deflate"],
                          f"extensions {ws.extensions}")
                    for size in (0, 100, 70000, 1 << 20):
                        sent = text_payload(size)
                        await ws.send(sent)
                        check_same(await recv(ws), sent, f"wss echo of {size} bytes")
                    await ws.close()
                    check(ws.close_code == 1000, f"close code {ws.close_code}")
                # An untrusting client fails the TLS handshake; the server goes on.
                try:
                    async with connect(url, ssl=ssl.create_default_context()):
                        raise AssertionError("connected without trusting the certificate")
                except ssl.SSLCertVerificationError:
                    pass
                async with connect(url, ssl=context) as ws:
                    await ws.send("still there")
                    check_same(await recv(ws), "still there", "echo after a failed handshake")
        finally:
            del os.environ["XDG_DATA_HOME"]


if __name__ == "__main__":
    suite.run()

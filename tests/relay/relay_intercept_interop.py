#!/usr/bin/python3
"""`wsw relay` intercepting and staging faults between peers we did not write.

python3-websockets client -> wsw relay --hold/--drop (commands on stdin) -> python3-
websockets server, on 127.0.0.1, each case with its own relay and peers, bounded in
time. The relay's stdout says what it holds; its stdin decides.
"""
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from interop_support import (  # noqa: E402
    Suite, check, check_same, import_websockets, recv, start_process, stop_process,
    wsw_binary)

websockets = import_websockets()
WSW = wsw_binary()

suite = Suite("relay-intercept", case_timeout=60)


class InterceptingRelay:
    """`wsw relay --listen 0 --to URL ...` with stdin open for commands."""

    def __init__(self, target, *options):
        self.args = [WSW, "relay", "--listen", "0", "--to", target, *options]
        self.lines = []

    async def __aenter__(self):
        self.proc = await start_process(self.args, with_stdin=True)
        line = await self.line()
        check(line.startswith("listening on ws://127.0.0.1:"), f"relay printed {line!r}")
        self.url = "ws://127.0.0.1:" + line.split("ws://127.0.0.1:")[1].split("/")[0]
        return self

    async def line(self, timeout=10):
        raw = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        check(raw, "the relay ended")
        self.lines.append(raw.decode().rstrip("\n"))
        return self.lines[-1]

    async def line_starting(self, prefix, timeout=10):
        while True:
            line = await self.line(timeout)
            if line.startswith(prefix):
                return line

    async def command(self, text):
        self.proc.stdin.write(text.encode() + b"\n")
        await self.proc.stdin.drain()

    async def __aexit__(self, *exc):
        await stop_process(self.proc)


async def echo_server(received):
    async def handler(ws, _path):
        async for message in ws:
            received.append(message)
            await ws.send(message)
    return await websockets.serve(handler, "127.0.0.1", 0, max_size=None)


@suite.case
async def hold_edit_drop_inject_close():
    received = []
    server = await echo_server(received)
    port = server.sockets[0].getsockname()[1]
    try:
        async with InterceptingRelay(
                f"ws://127.0.0.1:{port}/", "--no-deflate-client", "--no-deflate-server",
                "--drop", 'up:text contains "spam"',
                "--hold", 'up:json.type == "order"') as relay:
            async with websockets.connect(relay.url + "/", max_size=None) as ws:
                await ws.send("hello")
                check_same(await recv(ws), "hello", "a message no rule takes")
                await ws.send("spam, spam")
                await ws.send('{"type":"order","qty":1}')
                held = await relay.line_starting("held #")
                check(held.endswith('pair 1 up text (24 bytes): {"type":"order","qty":1}'),
                      f"held line {held!r}")
                order_id = held.split()[1][1:]
                # Not held itself, but it waits behind the held order: order is kept.
                await ws.send("after the order")
                queued = await relay.line_starting("queued #")
                check("after the order" in queued, f"queued line {queued!r}")
                await relay.command("list")
                check_same(await relay.line_starting("2 waiting"), "2 waiting", "list")
                await relay.command(f'release {order_id} {{"type":"order","qty":100}}')
                check_same(await relay.line_starting("released"), f"released #{order_id}",
                           "release answer")
                check_same(await recv(ws), '{"type":"order","qty":100}', "edited order")
                check_same(await recv(ws), "after the order", "queued message")
                await relay.command("inject down straight to the client")
                check_same(await recv(ws), "straight to the client", "injected downward")
                await relay.command("inject up to the server")
                check_same(await recv(ws), "to the server", "injected upward, echoed")
                await relay.command("close down 4003 staged by the relay")
                try:
                    await asyncio.wait_for(ws.recv(), 10)
                    check(False, "a message after the staged close")
                except websockets.exceptions.ConnectionClosed:
                    pass
                check_same((ws.close_code, ws.close_reason), (4003, "staged by the relay"),
                           "staged close")
            check_same(received, ["hello", '{"type":"order","qty":100}', "after the order",
                                  "to the server"], "what the server received")
    finally:
        server.close()
        await server.wait_closed()


@suite.case
async def latency_and_cut_by_reset():
    received = []
    server = await echo_server(received)
    port = server.sockets[0].getsockname()[1]
    try:
        async with InterceptingRelay(
                f"ws://127.0.0.1:{port}/", "--latency", "up=200", "--latency", "down=100+-50",
                "--cut-after", "client=3:rst") as relay:
            async with websockets.connect(relay.url + "/", max_size=None) as ws:
                started = time.monotonic()
                await ws.send("slow")
                check_same(await recv(ws), "slow", "echo through latency")
                elapsed = time.monotonic() - started
                # A lower bound only: 200 ms up, at least 50 ms down.
                check(elapsed >= 0.25, f"round trip {elapsed:.3f} s under the latency")
                # The third relayed message (this one, going up) cuts the client leg.
                await ws.send("cut")
                try:
                    await asyncio.wait_for(ws.recv(), 10)
                    check(False, "a message after the cut")
                except websockets.exceptions.ConnectionClosed:
                    pass
                check_same(ws.close_code, 1006, "the client's end after a reset")
    finally:
        server.close()
        await server.wait_closed()


@suite.case
async def faults_for_one_pair():
    received = []
    server = await echo_server(received)
    port = server.sockets[0].getsockname()[1]
    try:
        async with InterceptingRelay(f"ws://127.0.0.1:{port}/", "--commands") as relay:
            async with websockets.connect(relay.url + "/") as first, \
                    websockets.connect(relay.url + "/") as second:
                # Both pairs open, in this order: pair 1 is `first`'s.
                await first.send("one")
                check_same(await recv(first), "one", "pair 1 before its faults")
                await second.send("two")
                check_same(await recv(second), "two", "pair 2 before pair 1's faults")
                await relay.command("pair 1")
                await relay.command("faults latency up=300 drop-rate down=100")
                check_same(await relay.line_starting("pair 1 faults:"),
                           "pair 1 faults: client\u2192server: latency 300 ms; "
                           "server\u2192client: 100 % of messages dropped; seed 0 (its own)",
                           "pair 1's own faults")
                started = time.monotonic()
                await first.send("slow")
                await second.send("unharmed")
                check_same(await recv(second), "unharmed", "pair 2 keeps the relay's faults")
                check(time.monotonic() - started < 0.3, "pair 2 got pair 1's latency")
                check("slow" not in received, "pair 1's message overtook its latency")
                deadline = time.monotonic() + 10
                while "slow" not in received and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                check("slow" in received, "pair 1's delayed message never arrived")
                check(time.monotonic() - started >= 0.3, "pair 1's message came early")
                await relay.command("faults relay")
                check_same(await relay.line_starting("pair 1 faults:"),
                           "pair 1 faults: none (the relay's)", "pair 1 back to the relay's")
                await first.send("found")
                # The echo of "slow" was dropped on its way down: the next is "found".
                check_same(await recv(first), "found", "pair 1 after its faults ended")
                await relay.command("faults cut-after nobody=1")
                await relay.command("faults")
                check_same(await relay.line_starting("pair 1 faults:"),
                           "pair 1 faults: none (the relay's)", "a bad faults command changes nothing")
            check_same(received, ["one", "two", "unharmed", "slow", "found"],
                       "what the server received")
    finally:
        server.close()
        await server.wait_closed()


suite.run()

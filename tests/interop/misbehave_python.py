"""`wsw serve` misbehaving on purpose, seen by clients we did not write.

python3-websockets (Debian's 10.4) and raw sockets observe each staged fault: the
delays (measured), the fragment sizes (frames counted on the wire), withheld,
delayed and wrong pongs, slow and stopped reading, the staged closes (1006 after
a FIN or an RST, a reset seen as ECONNRESET), every bad frame (the close code the
client fails with), refused and broken handshakes (the library's handshake error)
and the traffic the server starts itself. One `wsw serve` per behaviour.
"""

import asyncio
import json
import signal
import socket
import struct
import time

from interop_support import (OP_CLOSE, OP_PING, Suite, WswServer, check, encode_frame,
                             import_websockets, raw_client_handshake, read_frame, recv,
                             stop_process, wait_for_log)

websockets = import_websockets()
suite = Suite("misbehave_python", case_timeout=30)


def connect(url, **options):
    options.setdefault("ping_interval", None)
    return websockets.connect(url, max_size=None, open_timeout=10, close_timeout=3, **options)


async def closed_error(ws, timeout=10):
    """Waits for the connection to end; the ConnectionClosed the library raised."""
    try:
        while True:
            await recv(ws, timeout)
    except websockets.ConnectionClosed as error:
        return error


@suite.case
async def reply_and_handshake_delays():
    async with WswServer("--delay", "150", "--handshake-delay", "300") as server:
        begin = time.monotonic()
        async with connect(server.url) as ws:
            opened_ms = (time.monotonic() - begin) * 1000
            check(opened_ms >= 290, f"handshake answered after {opened_ms:.0f} ms, not 300")
            round_trips = []
            for i in range(3):
                sent = time.monotonic()
                await ws.send(f"message {i}")
                check(await recv(ws) == f"message {i}", "echo")
                round_trips.append((time.monotonic() - sent) * 1000)
            print(f"  handshake {opened_ms:.0f} ms; replies {[round(r) for r in round_trips]} ms")
            check(all(140 <= r < 1000 for r in round_trips),
                  f"round trips {round_trips} ms, expected about 150")
        await wait_for_log(server, "staged: delayed reply 150 ms")
        await wait_for_log(server, "staged: delaying the handshake answer 300 ms")


@suite.case
async def reply_jitter_keeps_order():
    async with WswServer("--delay", "20-120") as server, connect(server.url) as ws:
        sent = {}
        for i in range(20):
            sent[i] = time.monotonic()
            await ws.send(str(i))
        delays = []
        for i in range(20):
            check(await recv(ws) == str(i), "replies keep their order")
            delays.append((time.monotonic() - sent[i]) * 1000)
        print(f"  jittered replies: {min(delays):.0f}..{max(delays):.0f} ms")
        check(min(delays) >= 19 and max(delays) < 1000, f"delays {delays}")
        # Drawn, not fixed: the server logs more than one delay.
        drawn = {line.rsplit(" ", 2)[-2] for line in server.log if "delayed reply" in line}
        check(len(drawn) > 1, f"one delay for every reply: {drawn}")


@suite.case
async def fragments_with_pings_counted_on_the_wire():
    async with WswServer("--fragment", "100,ping") as server:
        reader, writer, _ = await raw_client_handshake(server.port)
        payload = b"x" * 350
        writer.write(encode_frame(0x2, payload, mask=b"\x01\x02\x03\x04"))
        await writer.drain()
        frames = []
        while not frames or frames[-1].opcode == OP_PING or not frames[-1].fin:
            frames.append(await asyncio.wait_for(read_frame(reader), 5))
        shape = [(f.opcode, len(f.payload), f.fin) for f in frames]
        check(shape == [(0x2, 100, False), (OP_PING, 10, True), (0x0, 100, False),
                        (OP_PING, 10, True), (0x0, 100, False), (OP_PING, 10, True),
                        (0x0, 50, True)], f"frames on the wire: {shape}")
        check(b"".join(f.payload for f in frames if f.opcode != OP_PING) == payload, "payload")
        writer.close()
        # The library reassembles it (and answers the pings in between).
        async with connect(server.url) as ws:
            await ws.send("é" * 300)
            check(await recv(ws) == "é" * 300, "fragmented text reassembled")


@suite.case
async def fragments_without_pings():
    async with WswServer("--fragment", "64") as server:
        reader, writer, _ = await raw_client_handshake(server.port)
        writer.write(encode_frame(0x1, b"a" * 200, mask=b"\x09\x08\x07\x06"))
        await writer.drain()
        frames = []
        while not frames or not frames[-1].fin:
            frames.append(await asyncio.wait_for(read_frame(reader), 5))
        sizes = [len(f.payload) for f in frames]
        check(sizes == [64, 64, 64, 8], f"fragment sizes {sizes}")
        check([f.opcode for f in frames] == [0x1, 0x0, 0x0, 0x0], "opcodes")
        writer.close()
        await wait_for_log(server, "fragmented a 200-byte message into 4 frames")


@suite.case
async def withheld_pong_fires_the_ping_timeout():
    async with WswServer("--pong", "withhold") as server:
        begin = time.monotonic()
        async with connect(server.url, ping_interval=0.2, ping_timeout=0.5) as ws:
            error = await closed_error(ws, timeout=5)
        elapsed = time.monotonic() - begin
        # websockets 10.4 fails a connection whose ping goes unanswered with 1011.
        check(error.sent is not None and error.sent.code == 1011,
              f"expected the keepalive timeout (1011), got {error!r}")
        check(elapsed < 4, f"the ping timeout took {elapsed:.1f} s")
        await wait_for_log(server, "staged: withheld pong")


@suite.case
async def delayed_and_wrong_pongs():
    async with WswServer("--pong", "delay:300") as server, connect(server.url) as ws:
        begin = time.monotonic()
        await asyncio.wait_for(await ws.ping(b"late"), 5)
        waited = (time.monotonic() - begin) * 1000
        print(f"  delayed pong after {waited:.0f} ms")
        check(300 <= waited < 1500, f"pong after {waited:.0f} ms, expected about 300")
    async with WswServer("--pong", "wrong") as server:
        reader, writer, _ = await raw_client_handshake(server.port)
        writer.write(encode_frame(OP_PING, b"abc", mask=b"\x01\x01\x01\x01"))
        await writer.drain()
        pong = await asyncio.wait_for(read_frame(reader), 5)
        check(pong.opcode == 0xA and pong.payload != b"abc",
              f"expected a pong with another payload, got {pong!r}")
        writer.close()
        # websockets never sees its ping answered.
        async with connect(server.url) as ws:
            waiter = await ws.ping(b"mine")
            try:
                await asyncio.wait_for(asyncio.shield(waiter), 0.5)
                raise AssertionError("a wrong pong answered the ping")
            except asyncio.TimeoutError:
                waiter.cancel()


@suite.case
async def slow_reader():
    async with WswServer("--read-rate", "20000") as server, connect(server.url) as ws:
        chunk = "r" * 1000
        begin = time.monotonic()
        for _ in range(40):
            await ws.send(chunk)
        for _ in range(40):
            check(await recv(ws, 15) == chunk, "echo")
        elapsed = time.monotonic() - begin
        print(f"  40000 bytes through a 20000 bytes/s reader in {elapsed:.2f} s")
        check(1.7 <= elapsed < 3.5, f"40 KB at 20 KB/s took {elapsed:.2f} s")


@suite.case
async def stopped_reader_fills_the_client_send_buffer():
    async with WswServer("--stop-reading-after", "1") as server:
        reader, writer, _ = await raw_client_handshake(server.port)
        writer.write(encode_frame(0x1, b"one", mask=b"\x00\x00\x00\x01"))
        await writer.drain()
        check((await asyncio.wait_for(read_frame(reader), 5)).payload == b"one", "first echo")
        await wait_for_log(server, "staged: stopped reading after 1 messages")
        frame = encode_frame(0x2, b"z" * 65536, mask=b"\x00\x00\x00\x02")
        for _ in range(128):  # 8 MiB
            writer.write(frame)
        await asyncio.sleep(1.0)
        unsent = writer.transport.get_write_buffer_size()
        print(f"  {unsent} of {128 * len(frame)} bytes still in the client after 1 s")
        check(unsent > 2 * 1024 * 1024, f"only {unsent} bytes left unsent: the server read on")
        writer.transport.abort()
        # It reads nothing, so it would notice the reset only at its close timeout.
        await stop_process(server.proc, signal.SIGKILL)


@suite.case
async def close_after_messages_with_rst():
    async with WswServer("--close-after", "2:rst") as server:
        async with connect(server.url) as ws:
            await ws.send("1")
            await recv(ws)
            await ws.send("2")
            error = await closed_error(ws)
            check(error.code == 1006 and error.rcvd is None, f"expected 1006, got {error!r}")
        await wait_for_log(server, "staged: closed abruptly (RST) (after 2 messages)")
        # On the wire: a reset, not an orderly end.
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade"
                        b"\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        b"Sec-WebSocket-Version: 13\r\n\r\n")
            received = b""
            while b"\r\n\r\n" not in received:
                received += raw.recv(4096)
            check(received.startswith(b"HTTP/1.1 101"), f"handshake answered {received!r}")
            raw.sendall(encode_frame(0x1, b"m", mask=b"\x01\x02\x03\x04"))
            check(raw.recv(4096) == b"\x81\x01m", "the echo of the first message")
            raw.sendall(encode_frame(0x1, b"m", mask=b"\x01\x02\x03\x04"))
            # The second echo may come first; then a reset, never an orderly end.
            try:
                while True:
                    data = raw.recv(65536)
                    check(data == b"\x81\x01m", f"read {data!r} where a reset was due")
            except ConnectionResetError:
                pass


@suite.case
async def close_after_messages_with_fin():
    async with WswServer("--close-after", "1:fin") as server:
        async with connect(server.url) as ws:
            await ws.send("only")
            error = await closed_error(ws)
            check(error.code == 1006 and error.rcvd is None, f"expected 1006, got {error!r}")
        await wait_for_log(server, "staged: closed abruptly (FIN, no close frame)")


@suite.case
async def close_after_time_clean():
    async with WswServer("--close-after", "300ms:clean:4001:staged bye") as server:
        begin = time.monotonic()
        async with connect(server.url) as ws:
            error = await closed_error(ws)
        elapsed = (time.monotonic() - begin) * 1000
        check(error.rcvd is not None and error.rcvd.code == 4001 and
              error.rcvd.reason == "staged bye", f"expected 4001 'staged bye', got {error!r}")
        check(280 <= elapsed < 2000, f"closed after {elapsed:.0f} ms, expected about 300")


@suite.case
async def close_frame_without_waiting():
    async with WswServer("--close-after", "1:no-wait:1001:gone") as server:
        reader, writer, _ = await raw_client_handshake(server.port)
        writer.write(encode_frame(0x1, b"x", mask=b"\x05\x06\x07\x08"))
        await writer.drain()
        frames = []
        # We never answer the close: the server must end TCP all the same.
        while True:
            try:
                frames.append(await asyncio.wait_for(read_frame(reader), 3))
            except asyncio.IncompleteReadError:
                break
        check([f.opcode for f in frames] == [0x1, OP_CLOSE] and frames[1].close_code == 1001,
              f"frames {frames}")
        writer.close()


BAD_FRAMES = {
    "rsv1": 1002, "rsv2": 1002, "rsv3": 1002, "reserved-opcode": 1002, "invalid-utf8": 1007,
    "long-ping": 1002, "masked": 1002, "bad-close-code": 1002, "orphan-continuation": 1002,
    "lying-length": 1002,
}


@suite.case
async def bad_frames():
    for kind, expected in BAD_FRAMES.items():
        async with WswServer("--bad-frame", f"{kind}@1") as server:
            async with connect(server.url) as ws:
                await ws.send("before")
                check(await recv(ws) == "before", "the echo comes before the bad frame")
                error = await closed_error(ws)
            check(error.sent is not None and error.sent.code == expected,
                  f"{kind}: the client should fail with {expected}, got {error!r}")
            await wait_for_log(server, f"staged: sent bad frame: {kind}")


@suite.case
async def refused_and_broken_handshakes():
    async with WswServer("--refuse", "503:come back later", "--refuse-header",
                         "Retry-After: 7") as server:
        try:
            async with connect(server.url):
                raise AssertionError("connected through a refusal")
        except websockets.InvalidStatusCode as error:
            check(error.status_code == 503, f"status {error.status_code}")
            check(error.headers.get("Retry-After") == "7", f"headers {error.headers}")
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     b"Sec-WebSocket-Version: 13\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 5)
        check(answer.endswith(b"\r\n\r\ncome back later"), f"body {answer!r}")
        writer.close()
    expected = {
        "--bad-accept": websockets.InvalidHeaderValue,
        "--bad-extension": websockets.NegotiationError,
        "--bad-subprotocol": websockets.InvalidHandshake,
        "--no-upgrade-header": websockets.InvalidUpgrade,
    }
    for option, error_type in expected.items():
        async with WswServer(option) as server:
            try:
                async with connect(server.url):
                    raise AssertionError(f"{option}: the client accepted the 101")
            except error_type as error:
                print(f"  {option}: {type(error).__name__}: {error}")
            await wait_for_log(server, "staged: answered the upgrade with a broken 101")


@suite.case
async def ticker_and_burst():
    async with WswServer("--ticker", "100") as server, connect(server.url) as ws:
        ticks = [json.loads(await recv(ws, 3)) for _ in range(5)]
        check([t["tick"] for t in ticks] == [1, 2, 3, 4, 5], f"ticks {ticks}")
        spacing = [b["epoch_ms"] - a["epoch_ms"] for a, b in zip(ticks, ticks[1:])]
        check(all(60 <= s <= 300 for s in spacing), f"ticks {spacing} ms apart")
        check(all("T" in t["time"] for t in ticks), "ISO 8601 time")
    async with WswServer("--burst", "300:65536") as server, connect(server.url) as ws:
        begin = time.monotonic()
        sizes = [len(await recv(ws)) for _ in range(300)]
        elapsed = time.monotonic() - begin
        print(f"  burst of 300 x 64 KiB received in {elapsed:.2f} s")
        check(sizes == [65536] * 300, "burst sizes")
        await wait_for_log(server, "staged: burst done: 300 messages")


suite.run()

"""Shared helpers of the Python interop tests.

Starts our `wsw` binary (server or client) as a bounded child process, speaks raw
RFC 6455 frames where a real library would refuse to send what a test needs, and runs
a list of async test cases with a per-case time limit, printing one PASS/FAIL line
per case and a closing "N passed, N failed" line.

Run with Debian's interpreter (/usr/bin/python3): its python3-websockets is the peer.
"""

import asyncio
import base64
import hashlib
import json
import os
import re
import signal
import struct
import sys
import time
import traceback

# Upper bound on the life of every process we start: `timeout` kills it even when
# this script itself is killed by CTest's TIMEOUT.
PROCESS_TIMEOUT_S = 90
# A 16 MiB message becomes one JSON line of wsw connect --json (base64 for binary).
STREAM_LIMIT = 64 * 1024 * 1024
SKIP_RETURN_CODE = 77

SIZES = [0, 125, 126, 65535, 65536, 16 * 1024 * 1024]


def peers_required():
    return os.environ.get("WSW_REQUIRE_PEERS") == "1"


def missing_peer(what):
    """A peer we need is not installed: a failure in CI, a skip elsewhere."""
    if peers_required():
        print(f"FAIL: interop peer missing: {what}. WSW_REQUIRE_PEERS=1 makes a missing "
              "peer a failure; scripts/install-deps.sh installs it.", flush=True)
        sys.exit(1)
    print(f"SKIP: interop peer missing: {what} (scripts/install-deps.sh installs it; "
          "with WSW_REQUIRE_PEERS=1 this is a failure).", flush=True)
    sys.exit(SKIP_RETURN_CODE)


def import_websockets():
    try:
        import websockets  # noqa: F401
        import websockets.client
        import websockets.server
    except ImportError as error:
        missing_peer(f"Python module 'websockets' for {sys.executable} ({error}); "
                     "Debian package python3-websockets, run with /usr/bin/python3")
    return websockets


def wsw_binary():
    path = os.environ.get("WSW_BINARY", "")
    if not path or not os.access(path, os.X_OK):
        print(f"FAIL: WSW_BINARY does not name an executable wsw ({path!r}); CTest sets it "
              "to $<TARGET_FILE:wsw>.", flush=True)
        sys.exit(1)
    return path


def text_payload(size):
    """Exactly `size` bytes of UTF-8 mixing 1-, 2-, 3- and 4-byte characters."""
    pattern = "aé€😀"  # 1 + 2 + 3 + 4 bytes
    text = pattern * (size // 10)
    return text + "z" * (size - len(text.encode()))


def binary_payload(size):
    # Every byte value, in an order that is not a plain counter.
    block = bytes((i * 167 + 13) & 0xFF for i in range(256))
    return (block * (size // 256 + 1))[:size]


def digest(data):
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()[:16]


def describe(data):
    kind = "text" if isinstance(data, str) else "binary"
    raw = data.encode() if isinstance(data, str) else data
    return f"{kind} {len(raw)} bytes sha256:{digest(raw)}"


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def check_same(got, expected, what):
    if type(got) is not type(expected) or got != expected:
        raise AssertionError(f"{what}: expected {describe(expected)}, got "
                             f"{describe(got) if isinstance(got, (str, bytes)) else repr(got)}")


# ---------------------------------------------------------------- processes

# Every child still running when a case ends is killed then, whatever the case did.
_children = set()


async def start_process(args, with_stdin=False):
    proc = await asyncio.create_subprocess_exec(
        "timeout", "--kill-after=5", str(PROCESS_TIMEOUT_S), *args,
        stdin=asyncio.subprocess.PIPE if with_stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, limit=STREAM_LIMIT,
        start_new_session=True)
    _children.add(proc)
    return proc


async def stop_process(proc, sig=signal.SIGTERM, grace_s=10):
    """Signals proc and waits; kills its whole process group when stuck.

    SIGTERM goes to `timeout`, which forwards it to wsw; SIGKILL goes to the process
    group (its own session), since `timeout` cannot forward that one.
    """
    if proc.returncode is None and sig != signal.SIGKILL:
        try:
            proc.send_signal(sig)
            await asyncio.wait_for(proc.wait(), grace_s)
        except (ProcessLookupError, asyncio.TimeoutError):
            pass
    if proc.returncode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        await proc.wait()
    return proc.returncode


async def collect_lines(stream, sink):
    while True:
        line = await stream.readline()
        if not line:
            return
        sink.append(line.decode(errors="replace").rstrip("\n"))


async def recv(ws, timeout=20):
    """The next message of a python3-websockets connection, within `timeout` s."""
    return await asyncio.wait_for(ws.recv(), timeout)


async def wait_for_log(server, needle, timeout=5):
    """Waits until a line of a WswServer's log contains `needle`."""
    for _ in range(int(timeout / 0.05)):
        if any(needle in line for line in server.log):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"server log has no line with {needle!r}: {server.log[-5:]}")


class WswServer:
    """`wsw serve --port 0 ...` as an async context manager; .port, .url, .log."""

    def __init__(self, *options):
        self.args = [wsw_binary(), "serve", "--port", "0", *options]
        self.log = []
        self.errors = []
        self.proc = None
        self.exit_code = None

    async def __aenter__(self):
        self.proc = await start_process(self.args)
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), 15)
        except asyncio.TimeoutError:
            line = b""
        match = re.fullmatch(rb"listening on (wss?)://127\.0\.0\.1:(\d+)/\r?\n", line)
        if not match:
            await stop_process(self.proc, signal.SIGKILL)
            stderr = (await self.proc.stderr.read()).decode(errors="replace")
            raise AssertionError(f"{' '.join(self.args)}: expected 'listening on "
                                 f"ws://127.0.0.1:PORT/', got {line!r}; stderr: {stderr!r}")
        self.port = int(match[2])
        self.url = f"{match[1].decode()}://127.0.0.1:{self.port}/"
        self._drains = [asyncio.create_task(collect_lines(self.proc.stdout, self.log)),
                        asyncio.create_task(collect_lines(self.proc.stderr, self.errors))]
        return self

    async def stop(self):
        """SIGTERM (clients get 1001), then the exit status."""
        self.exit_code = await stop_process(self.proc)
        await asyncio.gather(*self._drains, return_exceptions=True)
        return self.exit_code

    async def __aexit__(self, *exc):
        if self.proc and self.proc.returncode is None:
            await stop_process(self.proc)
        for task in getattr(self, "_drains", []):
            task.cancel()


class WswClient:
    """`wsw connect URL --echo --json ...`: the JSON events it prints, its exit status."""

    def __init__(self, url, *options, echo=True):
        self.args = [wsw_binary(), "connect", url, "--json", *options]
        if echo:
            self.args.append("--echo")
        self.events = []
        self.other_lines = []
        self.stderr = []
        self._changed = asyncio.Event()

    async def start(self):
        self.proc = await start_process(self.args, with_stdin=True)
        self._readers = [asyncio.create_task(self._read_events()),
                         asyncio.create_task(collect_lines(self.proc.stderr, self.stderr))]
        return self

    async def _read_events(self):
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            try:
                self.events.append(json.loads(line))
            except ValueError:
                self.other_lines.append(line.decode(errors="replace").rstrip("\n"))
            self._changed.set()
        self._changed.set()

    async def send_line(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    def close_stdin(self):
        if not self.proc.stdin.is_closing():
            self.proc.stdin.close()

    def find(self, event, **fields):
        return [e for e in self.events if e.get("event") == event
                and all(e.get(k) == v for k, v in fields.items())]

    async def wait_event(self, event, timeout=10, **fields):
        deadline = time.monotonic() + timeout
        while True:
            found = self.find(event, **fields)
            if found:
                return found[0]
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self.proc.stdout.at_eof() and self._readers[0].done()):
                raise AssertionError(f"wsw connect printed no {event} event with {fields}; "
                                     f"{self.summary()}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def wait_exit(self, timeout=15):
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except asyncio.TimeoutError:
            await stop_process(self.proc, signal.SIGKILL)
            raise AssertionError(f"wsw connect did not exit within {timeout} s; {self.summary()}")
        await asyncio.gather(*self._readers, return_exceptions=True)
        self.close_stdin()
        return self.proc.returncode

    async def expect_exit(self, status, timeout=15):
        code = await self.wait_exit(timeout)
        check(code == status, f"wsw connect exited {code}, expected {status}; {self.summary()}")

    def summary(self):
        def short(event):
            text = json.dumps(event)
            return text if len(text) < 200 else text[:200] + "…"
        return (f"command: {' '.join(self.args)}; events: [{', '.join(short(e) for e in self.events[-12:])}]"
                f"; other stdout: {self.other_lines[-5:]}; stderr: {self.stderr[-5:]}")

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc):
        if self.proc.returncode is None:
            await stop_process(self.proc, signal.SIGKILL)
        for task in self._readers:
            task.cancel()


def message_payload(event):
    """The payload of a wsw --json message event, as str (text) or bytes (binary)."""
    if event.get("type") == "binary":
        return base64.b64decode(event.get("data", ""))
    return event.get("data", "")


# ---------------------------------------------------------------- raw frames

OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def apply_mask(data, key):
    # XOR as one big integer: fast enough in pure Python for 16 MiB.
    repeated = key * (len(data) // 4) + key[: len(data) % 4]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(data), "big")


def encode_frame(opcode, payload=b"", fin=True, rsv=0, mask=None):
    """RFC 6455 §5.2 frame; mask is a 4-byte key (client frames) or None."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    mask_bit = 0x80 if mask is not None else 0
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", first, mask_bit | size)
    elif size < 65536:
        header = struct.pack("!BBH", first, mask_bit | 126, size)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, size)
    if mask is not None:
        return header + mask + apply_mask(payload, mask)
    return header + payload


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


class Frame:
    def __init__(self, fin, rsv, opcode, masked, payload):
        self.fin, self.rsv, self.opcode, self.masked, self.payload = fin, rsv, opcode, masked, payload

    @property
    def close_code(self):
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None

    @property
    def close_reason(self):
        return self.payload[2:]

    def __repr__(self):
        payload = self.payload if len(self.payload) <= 40 else self.payload[:40] + b"..."
        return (f"Frame(fin={int(self.fin)} rsv={self.rsv} opcode=0x{self.opcode:x} "
                f"masked={int(self.masked)} len={len(self.payload)} payload={payload!r})")


async def read_frame(reader):
    """One frame, unmasked; asyncio.IncompleteReadError at EOF."""
    first, second = await reader.readexactly(2)
    size = second & 0x7F
    if size == 126:
        size = struct.unpack("!H", await reader.readexactly(2))[0]
    elif size == 127:
        size = struct.unpack("!Q", await reader.readexactly(8))[0]
    masked = bool(second & 0x80)
    key = await reader.readexactly(4) if masked else None
    payload = await reader.readexactly(size)
    if masked:
        payload = apply_mask(payload, key)
    return Frame(bool(first & 0x80), (first >> 4) & 0x7, first & 0x0F, masked, payload)


async def read_until_close(reader, timeout=10):
    """Frames up to and including the first close frame (or EOF): (frames, close or None)."""
    frames = []

    async def run():
        while True:
            try:
                frame = await read_frame(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return None
            frames.append(frame)
            if frame.opcode == OP_CLOSE:
                return frame

    close = await asyncio.wait_for(run(), timeout)
    return frames, close


async def read_message(reader, timeout=10, on_control=None):
    """Reassembles one data message (skipping control frames, handed to on_control)."""
    async def run():
        opcode, parts = None, []
        while True:
            frame = await read_frame(reader)
            if frame.opcode >= 0x8:
                if on_control:
                    await on_control(frame)
                if frame.opcode == OP_CLOSE:
                    raise AssertionError(f"close frame instead of a message: {frame!r}")
                continue
            if opcode is None:
                opcode = frame.opcode
            parts.append(frame)
            if frame.fin:
                return opcode, parts

    return await asyncio.wait_for(run(), timeout)


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


async def read_http_head(reader, timeout=10):
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers


async def raw_client_handshake(port, path="/", extra_headers=""):
    """Opens a TCP connection to 127.0.0.1:port and completes the opening handshake by hand."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
    key = base64.b64encode(os.urandom(16))
    writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key.decode()}\r\n"
                  f"Sec-WebSocket-Version: 13\r\n{extra_headers}\r\n").encode())
    await writer.drain()
    status, headers = await read_http_head(reader)
    check(status.startswith("HTTP/1.1 101"), f"handshake answered {status!r}")
    check(headers.get("sec-websocket-accept", "").encode() == accept_for(key),
          f"wrong Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r}")
    return reader, writer, headers


async def raw_server_handshake(reader, writer):
    """Answers a client's opening handshake with 101 (RFC 6455 §4.2.2)."""
    request, headers = await read_http_head(reader)
    key = headers.get("sec-websocket-key", "").encode()
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept_for(key) + b"\r\n\r\n")
    await writer.drain()
    return request, headers


class RawServer:
    """A one-shot TCP server on 127.0.0.1 running `behaviour(reader, writer)` per connection."""

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.done = asyncio.get_running_loop().create_future()

    async def _serve(self, reader, writer):
        try:
            result = await self.behaviour(reader, writer)
            if not self.done.done():
                self.done.set_result(result)
        except BaseException as error:  # reported by the test waiting on .done
            if not self.done.done():
                self.done.set_exception(error)
        finally:
            writer.close()

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}/"
        return self

    async def __aexit__(self, *exc):
        self.server.close()
        await self.server.wait_closed()


def close_writer(writer):
    try:
        writer.close()
    except Exception:
        pass


# ---------------------------------------------------------------- runner

class Suite:
    """Collects `@suite.case` coroutines and runs them in order with a time limit each."""

    def __init__(self, name, case_timeout=30):
        self.name = name
        self.case_timeout = case_timeout
        self.cases = []

    def case(self, function):
        self.cases.append(function)
        return function

    def run(self):
        selected = sys.argv[1:]
        cases = [c for c in self.cases if not selected or c.__name__ in selected]
        sys.exit(asyncio.run(self._run(cases)))

    async def _run(self, cases):
        passed = failed = 0
        started = time.monotonic()
        for case in cases:
            begin = time.monotonic()
            try:
                await asyncio.wait_for(case(), self.case_timeout)
                passed += 1
                print(f"PASS {self.name}.{case.__name__} ({time.monotonic() - begin:.2f} s)",
                      flush=True)
            except asyncio.TimeoutError:
                failed += 1
                print(f"FAIL {self.name}.{case.__name__}: no result within "
                      f"{self.case_timeout} s", flush=True)
            except Exception as error:
                failed += 1
                print(f"FAIL {self.name}.{case.__name__}: {error}", flush=True)
                if os.environ.get("WSW_INTEROP_TRACE"):
                    traceback.print_exc()
            for proc in list(_children):
                await stop_process(proc, signal.SIGKILL)
            _children.clear()
        print(f"{self.name}: {passed} passed, {failed} failed "
              f"({time.monotonic() - started:.1f} s)", flush=True)
        return 0 if failed == 0 and passed > 0 else 1

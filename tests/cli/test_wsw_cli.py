#!/usr/bin/python3
"""End-to-end tests of the wsw command-line tool: wsw serve, wsw connect, wsw bench.

Usage: test_wsw_cli.py PATH/TO/wsw

Every process is bounded (timeouts on every wait, servers stopped in tearDown),
and every server listens on 127.0.0.1 only.
"""

import base64
import hashlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

WSW = None  # set from argv
TIMEOUT = 15  # seconds for any single step


class LineReader:
    """Collects a pipe's lines on a thread, so that tests can wait for one with a timeout."""

    def __init__(self, stream):
        self.lines = queue.Queue()
        self.seen = []
        thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        thread.start()

    def _run(self, stream):
        for raw in iter(stream.readline, b""):
            self.lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, predicate, timeout=TIMEOUT):
        """Returns the first new line matching predicate; fails on EOF or timeout."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("timed out; lines so far: %r" % self.seen)
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                raise AssertionError("timed out; lines so far: %r" % self.seen)
            if line is None:
                raise AssertionError("stream ended; lines so far: %r" % self.seen)
            self.seen.append(line)
            if predicate(line):
                return line

    def rest(self, timeout=TIMEOUT):
        """Every remaining line until EOF."""
        out = []
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if line is None:
                return out
            self.seen.append(line)
            out.append(line)


class Process:
    """A wsw process with piped stdin/stdout/stderr."""

    def __init__(self, *args, stdin=subprocess.PIPE):
        self.proc = subprocess.Popen([WSW, *args], stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.stdout = LineReader(self.proc.stdout)
        self.stderr = LineReader(self.proc.stderr)

    def send(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def close_stdin(self):
        self.proc.stdin.close()

    def wait(self, timeout=TIMEOUT):
        return self.proc.wait(timeout=timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


def json_events(lines):
    return [json.loads(line) for line in lines if line.startswith("{")]


def read_log(path):
    """A log saved with --save: (header, connections by id, records), each line parsed
    as JSON on its own, as the window reads it."""
    with open(path, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    header, rest = lines[0], lines[1:]
    connections = {c["id"]: c for c in rest if c["type"] == "connection"}
    records = [r for r in rest if r["type"] == "record"]
    return header, connections, records


def logged_messages(records):
    """The data messages of a saved log as the message view lists them:
    (direction, kind, payload bytes)."""
    return [(r["dir"], r["kind"], base64.b64decode(r.get("payload", "")))
            for r in records
            if r["kind"] in ("text", "binary") and r["rows"] in ("both", "message")]


def make_certificate(directory):
    """A self-signed P-256 certificate for 127.0.0.1 and its key, made with openssl in
    `directory`; returns (certificate path, key path)."""
    cert, key = os.path.join(directory, "c.pem"), os.path.join(directory, "k.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=TIMEOUT)
    return cert, key


def free_port():
    """A port that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RawServer:
    """A one-connection WebSocket server written with plain sockets: it completes the
    opening handshake (RFC 6455 §4.2.2) and then does what the test asks, including
    things a correct server never does."""

    def __init__(self, after_handshake):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.listener.settimeout(TIMEOUT)
        self.port = self.listener.getsockname()[1]
        self.after_handshake = after_handshake
        self.request = None  # the opening handshake request, once read
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        conn, _ = self.listener.accept()
        conn.settimeout(TIMEOUT)
        request = b""
        while b"\r\n\r\n" not in request:
            request += conn.recv(4096)
        self.request = request
        key = re.search(rb"(?i)sec-websocket-key:\s*(\S+)", request).group(1)
        accept = base64.b64encode(
            hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        try:
            self.after_handshake(conn)
        finally:
            conn.close()
            self.listener.close()


class WswTestCase(unittest.TestCase):
    """wsw processes started by a test and killed after it (no tests of its own)."""

    def setUp(self):
        self.processes = []

    def tearDown(self):
        for p in self.processes:
            p.kill()

    def start(self, *args, stdin=subprocess.PIPE):
        p = Process(*args, stdin=stdin)
        self.processes.append(p)
        return p

    def serve(self, *args):
        """Starts wsw serve on a free port; returns (process, url)."""
        server = self.start("serve", "--port", "0", *args)
        first = server.stdout.wait_for(lambda line: True)
        match = re.fullmatch(r"listening on ws://127\.0\.0\.1:(\d+)/", first)
        self.assertIsNotNone(match, "first line of wsw serve: %r" % first)
        return server, "ws://127.0.0.1:%s/" % match.group(1)


class WswCliTest(WswTestCase):
    def connect_json(self, url, *args, stdin=subprocess.PIPE):
        return self.start("connect", url, "--json", *args, stdin=stdin)

    # --- wsw serve + wsw connect --json --------------------------------------------

    def test_text_ping_and_close_4000(self):
        _, url = self.serve()
        client = self.connect_json(url)
        client.stdout.wait_for(lambda l: json.loads(l)["event"] == "open")
        client.send("hello")
        message = json.loads(client.stdout.wait_for(lambda l: '"message"' in l))
        self.assertEqual(message, {"event": "message", "type": "text", "length": 5,
                                   "data": "hello"})
        client.send("/ping abc")
        pong = json.loads(client.stdout.wait_for(lambda l: '"pong"' in l))
        self.assertEqual(pong["payload"], "abc")
        self.assertIsInstance(pong["rttUs"], (int, float))
        client.send("/close 4000 bye")
        close = json.loads(client.stdout.wait_for(lambda l: '"event":"close"' in l))
        self.assertEqual(close["code"], 4000)
        closed = json.loads(client.stdout.wait_for(lambda l: '"closed"' in l))
        self.assertEqual(closed["code"], 4000)
        self.assertTrue(closed["clean"])
        self.assertEqual(client.wait(), 5)

    def test_end_of_input_closes_with_1000(self):
        _, url = self.serve()
        client = self.connect_json(url)
        client.stdout.wait_for(lambda l: json.loads(l)["event"] == "open")
        client.send("/binary 0102ff")
        message = json.loads(client.stdout.wait_for(lambda l: '"message"' in l))
        self.assertEqual(message["type"], "binary")
        self.assertEqual(base64.b64decode(message["data"]), b"\x01\x02\xff")
        client.send("/text /not-a-command")
        message = json.loads(client.stdout.wait_for(lambda l: '"message"' in l))
        self.assertEqual(message["data"], "/not-a-command")
        client.close_stdin()
        closed = json.loads(client.stdout.wait_for(lambda l: '"closed"' in l))
        self.assertEqual((closed["code"], closed["clean"]), (1000, True))
        self.assertEqual(client.wait(), 0)

    def test_fragment_with_show_frames(self):
        _, url = self.serve()
        client = self.connect_json(url, "--show-frames")
        client.stdout.wait_for(lambda l: json.loads(l)["event"] == "open")
        client.send("/fragment 2 Hello")
        message = json.loads(client.stdout.wait_for(lambda l: '"message"' in l))
        self.assertEqual(message["data"], "Hello")
        frames = [e for e in json_events(client.stdout.seen) if e["event"] == "frame"]
        out = [(f["opcode"], f["fin"], f["length"], f["masked"]) for f in frames
               if f["direction"] == "out"]
        # RFC 6455 §5.4: a text frame then continuations, FIN on the last; §5.3: masked.
        self.assertEqual(out, [(1, False, 2, True), (0, False, 2, True), (0, True, 1, True)])
        incoming = [f for f in frames if f["direction"] == "in"]
        self.assertTrue(incoming and all(not f["masked"] for f in incoming))
        client.close_stdin()
        self.assertEqual(client.wait(), 0)

    def test_human_format(self):
        _, url = self.serve("--mode", "greeting", "--greeting", "hi there")
        client = self.start("connect", url)
        self.assertEqual(client.stdout.wait_for(lambda l: True), "< hi there")
        client.send("/binary 00ff")
        self.assertEqual(client.stdout.wait_for(lambda l: True), "< [binary 2 bytes] 00ff")
        client.close_stdin()
        self.assertEqual(client.wait(), 0)

    def test_bad_command_is_reported_not_sent(self):
        _, url = self.serve()
        client = self.connect_json(url)
        client.stdout.wait_for(lambda l: json.loads(l)["event"] == "open")
        client.send("/binary xyz")
        error = json.loads(client.stdout.wait_for(lambda l: '"error"' in l))
        self.assertIn("hexadecimal", error["message"])
        client.close_stdin()
        # A line that was not sent makes the exit status say so.
        self.assertEqual(client.wait(), 8)

    # --- exit statuses --------------------------------------------------------------

    def test_connection_refused_exits_2(self):
        client = self.connect_json("ws://127.0.0.1:%d/" % free_port(), stdin=subprocess.DEVNULL)
        self.assertEqual(client.wait(), 2)
        events = json_events(client.stdout.rest())
        self.assertTrue(any(e["event"] == "error" for e in events), events)

    def test_usage_errors_exit_1(self):
        for args in (["connect"], ["connect", "http://127.0.0.1/"], ["connect", "ws://x/", "--bogus"],
                     ["serve", "--port", "70000"], ["serve", "--mode", "loud"],
                     ["bench", "ws://127.0.0.1:1/", "--conns", "0"], ["frobnicate"]):
            with self.subTest(args=args):
                p = self.start(*args, stdin=subprocess.DEVNULL)
                self.assertEqual(p.wait(), 1)

    def test_server_dropping_tcp_exits_3(self):
        def drop(conn):
            conn.sendall(b"\x81\x02hi")  # one text frame, then TCP goes away: no close frame

        raw = RawServer(drop)
        client = self.connect_json("ws://127.0.0.1:%d/" % raw.port)
        self.assertEqual(client.wait(), 3)
        events = json_events(client.stdout.rest())
        self.assertIn({"event": "message", "type": "text", "length": 2, "data": "hi"}, events)
        closed = [e for e in events if e["event"] == "closed"]
        self.assertEqual((closed[0]["code"], closed[0]["clean"]), (1006, False))

    def test_masked_server_frame_exits_4(self):
        def masked_frame(conn):
            # RFC 6455 §5.1: "A server MUST NOT mask any frames" (the masked "Hello" of §5.7).
            conn.sendall(bytes.fromhex("818537fa213d7f9f4d5158"))
            try:
                while conn.recv(4096):
                    pass
            except OSError:
                pass

        raw = RawServer(masked_frame)
        client = self.connect_json("ws://127.0.0.1:%d/" % raw.port)
        self.assertEqual(client.wait(), 4)
        events = json_events(client.stdout.rest())
        violation = [e for e in events if e["event"] == "violation"]
        self.assertEqual(len(violation), 1, events)
        self.assertEqual((violation[0]["error"], violation[0]["code"]), ("MaskedServerFrame", 1002))

    # --- manual mode, --echo and signals --------------------------------------------

    def test_manual_serve_with_echo_client(self):
        server, url = self.serve("--mode", "manual")
        # --echo: the end of stdin must not end the session; the server does.
        client = self.connect_json(url, "--echo", stdin=subprocess.DEVNULL)
        server.stdout.wait_for(lambda l: "connected" in l)
        server.send("hello manual")
        client.stdout.wait_for(lambda l: '"data":"hello manual"' in l)
        server.stdout.wait_for(lambda l: l == "[#1] < hello manual")
        server.send("/binary cafe")
        server.stdout.wait_for(lambda l: l == "[#1] < [binary 2 bytes] cafe")
        # SIGTERM: every client gets 1001 going away, then the server exits 0.
        server.proc.send_signal(signal.SIGTERM)
        self.assertEqual(server.wait(), 0)
        self.assertEqual(client.wait(), 0)
        close = [e for e in json_events(client.stdout.rest()) if e["event"] == "close"]
        self.assertEqual(close[0]["code"], 1001)

    def test_sigint_stops_echo_server(self):
        server, url = self.serve()
        client = self.connect_json(url)
        client.stdout.wait_for(lambda l: json.loads(l)["event"] == "open")
        server.proc.send_signal(signal.SIGINT)
        closed = json.loads(client.stdout.wait_for(lambda l: '"closed"' in l))
        self.assertEqual((closed["code"], closed["clean"]), (1001, True))
        self.assertEqual(client.wait(), 0)
        self.assertEqual(server.wait(), 0)

    def test_client_sigint_closes_with_1000(self):
        _, url = self.serve()
        client = self.connect_json(url)
        client.stdout.wait_for(lambda l: json.loads(l)["event"] == "open")
        client.proc.send_signal(signal.SIGINT)
        closed = json.loads(client.stdout.wait_for(lambda l: '"closed"' in l))
        self.assertEqual((closed["code"], closed["clean"]), (1000, True))
        self.assertEqual(client.wait(), 0)

    # --- --save ---------------------------------------------------------------------

    def test_save_writes_both_ends_as_json_lines(self):
        with tempfile.TemporaryDirectory() as directory:
            server_file = os.path.join(directory, "server")  # no extension: .jsonl added
            client_file = os.path.join(directory, "client.jsonl")
            server, url = self.serve("--save", server_file)
            client = self.connect_json(url, "--save", client_file)
            client.stdout.wait_for(lambda l: json.loads(l)["event"] == "open")
            client.send("hello")
            client.stdout.wait_for(lambda l: '"data":"hello"' in l)
            # Written as it happens: the server's file has the echo while it still runs.
            deadline = time.monotonic() + TIMEOUT
            while True:
                _, _, records = read_log(server_file + ".jsonl")
                if ("sent", "text", b"hello") in logged_messages(records):
                    break
                self.assertLess(time.monotonic(), deadline, records)
                time.sleep(0.05)
            client.send("/binary 0102ff")
            client.stdout.wait_for(lambda l: '"type":"binary"' in l)
            client.close_stdin()
            self.assertEqual(client.wait(), 0)
            server.proc.send_signal(signal.SIGTERM)
            self.assertEqual(server.wait(), 0)

            expected = [("sent", "text", b"hello"), ("received", "text", b"hello"),
                        ("sent", "binary", b"\x01\x02\xff"),
                        ("received", "binary", b"\x01\x02\xff")]
            header, connections, records = read_log(client_file)
            self.assertEqual(header["format"], "wsworkbench-log")
            self.assertEqual(header["version"], 1)
            self.assertEqual(connections[1]["url"], url)
            self.assertEqual(logged_messages(records), expected)
            # The window's rows: the handshake first, the closed summary last.
            self.assertEqual(records[0]["kind"], "handshake")
            self.assertEqual((records[-1]["kind"], records[-1]["summary"], records[-1]["clean"],
                              records[-1]["close_code"]), ("state", True, True, 1000))
            # Frames were logged too: a client's frames are masked (RFC 6455 §5.3).
            sent_frames = [r["frame"] for r in records if "frame" in r and r["dir"] == "sent"]
            self.assertTrue(sent_frames and all(f["mask"] for f in sent_frames), records)

            _, connections, records = read_log(server_file + ".jsonl")
            self.assertEqual(list(connections), [1])
            self.assertEqual(logged_messages(records),
                             [({"sent": "received", "received": "sent"}[d], k, p)
                              for d, k, p in expected])
            self.assertEqual(records[0]["kind"], "handshake")
            self.assertEqual(records[-1]["kind"], "state")

    def test_save_to_an_unwritable_file_is_a_usage_error(self):
        with tempfile.TemporaryDirectory() as directory:
            missing = os.path.join(directory, "no", "such", "dir", "x.jsonl")
            server = self.start("serve", "--port", "0", "--save", missing,
                                stdin=subprocess.DEVNULL)
            self.assertEqual(server.wait(), 1)
            self.assertIn("x.jsonl", " ".join(server.stderr.rest()))

    # --- wsw bench --------------------------------------------------------------------

    def test_bench_echo_prints_figures(self):
        _, url = self.serve("--quiet")
        bench = self.start("bench", url, "--seconds", "1", "--conns", "2",
                           stdin=subprocess.DEVNULL)
        self.assertEqual(bench.wait(), 0)
        out = "\n".join(bench.stdout.rest())
        rate = re.search(r"^messages/s\s+(\d+)", out, re.M)
        self.assertIsNotNone(rate, out)
        self.assertGreater(int(rate.group(1)), 0)
        self.assertRegex(out, r"(?m)^MB/s\s+\d+\.\d\d$")
        self.assertRegex(out, r"(?m)^latency us\s+mean \d+\s+p50 \d+\s+p90 \d+\s+p99 \d+\s+max \d+$")

    def test_bench_json_modes(self):
        _, url = self.serve("--quiet")
        cases = [(["--binary", "--size", "100000", "--window", "2"], "messagesPerSecond"),
                 (["--binary", "--size", "64", "--window", "16", "--burst"], "messagesPerSecond"),
                 (["--mode", "connect"], "connectionsPerSecond")]
        for args, figure in cases:
            with self.subTest(args=args):
                bench = self.start("bench", url, "--seconds", "1", "--conns", "2", "--json", *args,
                                   stdin=subprocess.DEVNULL)
                self.assertEqual(bench.wait(), 0)
                result = json.loads(bench.stdout.rest()[-1])
                self.assertGreater(result[figure], 0)
                self.assertEqual(result.get("mismatches", 0), 0)
                self.assertNotIn("error", result)

    def test_bench_connect_cycles_close_cleanly(self):
        # Connect mode resets its side of TCP after the closing handshake: the server
        # must still see every cycle as a clean 1000 close, none as a lost connection.
        server, url = self.serve()
        bench = self.start("bench", url, "--mode", "connect", "--seconds", "1", "--conns", "2",
                           "--json", stdin=subprocess.DEVNULL)
        self.assertEqual(bench.wait(), 0)
        result = json.loads(bench.stdout.rest()[-1])
        self.assertGreater(result["completed"], 0)
        self.assertEqual(result["failures"], 0)
        server.kill()
        ended = [l for l in server.stdout.rest() if " disconnected: " in l]
        self.assertGreaterEqual(len(ended), result["completed"])
        for line in ended:
            self.assertRegex(line, r"disconnected: 1000 \(normal closure\), clean, closed by the client$")

    def test_bench_idle(self):
        _, url = self.serve("--quiet")
        bench = self.start("bench", url, "--mode", "idle", "--conns", "20", "--seconds", "0.5",
                           stdin=subprocess.DEVNULL)
        bench.stdout.wait_for(lambda l: l == "idle 20 connections open")
        self.assertEqual(bench.wait(), 0)

    def test_bench_detects_wrong_echoes(self):
        # A greeting server first sends its greeting: not the echo of what was sent.
        _, url = self.serve("--quiet", "--mode", "greeting")
        bench = self.start("bench", url, "--seconds", "1", "--conns", "1", "--binary", "--json",
                           stdin=subprocess.DEVNULL)
        self.assertEqual(bench.wait(), 2)
        result = json.loads(bench.stdout.rest()[-1])
        self.assertGreater(result["mismatches"], 0)
        self.assertIn("differed", result["error"])

    def test_bench_against_nothing_fails(self):
        bench = self.start("bench", "ws://127.0.0.1:%d/" % free_port(), "--seconds", "1",
                           stdin=subprocess.DEVNULL)
        self.assertEqual(bench.wait(), 2)

    def test_bench_refused_names_the_reason(self):
        url = "ws://127.0.0.1:%d/" % free_port()
        for mode in ("echo", "connect"):
            with self.subTest(mode=mode):
                bench = self.start("bench", url, "--mode", mode, "--seconds", "1", "--conns", "2",
                                   stdin=subprocess.DEVNULL)
                self.assertEqual(bench.wait(), 2)
                self.assertIn("Connection refused", "\n".join(bench.stderr.rest()))

    def test_bench_large_binary_echoes_match(self):
        # Large binary echoes are compared at both ends and their middle dropped unread:
        # once for 5000 bytes (a few KiB are the least worth dropping), in several
        # drops as it arrives for 300000 bytes. 16 of those in flight are more than the
        # socket buffers hold, so batches also wait for the kernel to take them.
        _, url = self.serve("--quiet")
        for size, window in ((5000, 2), (300000, 16)):
            with self.subTest(size=size):
                bench = self.start("bench", url, "--seconds", "1", "--conns", "2", "--binary",
                                   "--size", str(size), "--window", str(window), "--json",
                                   stdin=subprocess.DEVNULL)
                self.assertEqual(bench.wait(), 0)
                result = json.loads(bench.stdout.rest()[-1])
                self.assertGreater(result["messages"], 0)
                self.assertEqual(result["mismatches"], 0)
                self.assertNotIn("error", result)

    def test_bench_detects_a_wrong_byte_at_either_end_of_a_large_echo(self):
        # The first and the last byte of a large binary echo are among those compared,
        # the last one read after the middle was dropped.
        size = 300000

        def recv_exact(conn, count):
            data = bytearray()
            while len(data) < count:
                chunk = conn.recv(count - len(data))
                if not chunk:
                    raise EOFError("the client closed TCP")
                data += chunk
            return bytes(data)

        def echo_flipping(position):
            def run(conn):
                while True:
                    head = recv_exact(conn, 2)
                    opcode, length = head[0] & 0x0F, head[1] & 0x7F
                    if length >= 126:
                        length = int.from_bytes(recv_exact(conn, 2 if length == 126 else 8), "big")
                    key = recv_exact(conn, 4)  # RFC 6455 §5.3: every client frame is masked
                    masked = recv_exact(conn, length)
                    mask = (key * (length // 4 + 1))[:length]
                    payload = bytearray((int.from_bytes(masked, "big") ^
                                         int.from_bytes(mask, "big")).to_bytes(length, "big"))
                    if opcode == 0x8:
                        # RFC 6455 §5.5.1: answer the close frame; then the server closes TCP.
                        conn.sendall(bytes([0x88, length]) + payload)
                        return
                    payload[position] ^= 0x01
                    if length < 126:
                        header = bytes([0x80 | opcode, length])
                    elif length < 65536:
                        header = bytes([0x80 | opcode, 126]) + length.to_bytes(2, "big")
                    else:
                        header = bytes([0x80 | opcode, 127]) + length.to_bytes(8, "big")
                    conn.sendall(header + payload)
            return run

        for position in (0, size - 1):
            with self.subTest(position=position):
                raw = RawServer(echo_flipping(position))
                bench = self.start("bench", "ws://127.0.0.1:%d/" % raw.port, "--seconds", "1",
                                   "--conns", "1", "--binary", "--size", str(size), "--window",
                                   "2", "--json", stdin=subprocess.DEVNULL)
                self.assertEqual(bench.wait(), 2)
                result = json.loads(bench.stdout.rest()[-1])
                self.assertGreater(result["mismatches"], 0)
                self.assertIn("differed", result["error"])

    def test_bench_deflate_echo(self):
        _, url = self.serve("--quiet", "--deflate")
        bench = self.start("bench", url, "--deflate", "--text-json", "--size", "2000", "--seconds",
                           "1", "--conns", "2", "--json", stdin=subprocess.DEVNULL)
        self.assertEqual(bench.wait(), 0)
        result = json.loads(bench.stdout.rest()[-1])
        self.assertTrue(result["deflate"])
        self.assertGreater(result["messages"], 0)
        self.assertEqual(result["mismatches"], 0)

    def test_bench_wss_echo_and_connect(self):
        with tempfile.TemporaryDirectory() as d:
            cert, key = make_certificate(d)
            _, url, _ = self.serve_tls("--quiet", "--cert", cert, "--key", key)
            cases = [(["--binary", "--size", "100000", "--window", "2"], "messagesPerSecond"),
                     (["--mode", "connect"], "connectionsPerSecond")]
            for args, figure in cases:
                with self.subTest(args=args):
                    bench = self.start("bench", url, "--ca", cert, "--seconds", "1", "--conns",
                                       "2", "--json", *args, stdin=subprocess.DEVNULL)
                    self.assertEqual(bench.wait(), 0)
                    result = json.loads(bench.stdout.rest()[-1])
                    self.assertTrue(result["tls"])
                    self.assertGreater(result[figure], 0)
                    self.assertEqual(result.get("mismatches", 0), 0)
                    self.assertEqual(result.get("failures", 0), 0)

    # --- wss and permessage-deflate ------------------------------------------------

    def serve_tls(self, *args):
        """wsw serve --tls on a free port; returns (process, url, fingerprint)."""
        server = self.start("serve", "--port", "0", "--tls", *args)
        first = server.stdout.wait_for(lambda line: True)
        match = re.fullmatch(r"listening on wss://127\.0\.0\.1:(\d+)/", first)
        self.assertIsNotNone(match, "first line of wsw serve --tls: %r" % first)
        second = server.stdout.wait_for(lambda line: True)
        fingerprint = re.fullmatch(r"certificate sha256 ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})", second)
        self.assertIsNotNone(fingerprint, "second line: %r" % second)
        return server, "wss://127.0.0.1:%s/" % match.group(1), fingerprint.group(1)

    def test_tls_self_signed_needs_fingerprint(self):
        with tempfile.TemporaryDirectory() as data:
            os.environ["XDG_DATA_HOME"] = data
            try:
                server, url, fingerprint = self.serve_tls()
                refused = self.start("connect", url, stdin=subprocess.DEVNULL)
                self.assertEqual(refused.wait(), 2)
                error = "\n".join(refused.stderr.rest())
                self.assertIn("self-signed", error)
                self.assertIn("--accept-fingerprint " + fingerprint, error)

                client = self.connect_json(url, "--accept-fingerprint", fingerprint,
                                           "--show-tls")
                tls = json.loads(client.stdout.wait_for(lambda l: '"tls"' in l))
                self.assertEqual(tls["verifiedBy"], "fingerprint")
                self.assertEqual(tls["chain"][0]["sha256"], fingerprint)
                self.assertTrue(tls["protocol"].startswith("TLSv1."))
                client.stdout.wait_for(lambda l: json.loads(l)["event"] == "open")
                client.send("secret")
                message = json.loads(client.stdout.wait_for(lambda l: '"message"' in l))
                self.assertEqual(message["data"], "secret")
                client.close_stdin()
                self.assertEqual(client.wait(), 0)
                server.kill()

                # The certificate is kept: a second server presents the same one.
                _, _, again = self.serve_tls()
                self.assertEqual(again, fingerprint)
                key = os.path.join(data, "wsw", "tls", "localhost.key")
                if not os.path.exists(key):
                    key = next(os.path.join(d, f) for d, _, files in os.walk(data)
                               for f in files if f == "localhost.key")
                self.assertEqual(os.stat(key).st_mode & 0o077, 0)
            finally:
                del os.environ["XDG_DATA_HOME"]

    def test_tls_with_given_certificate_and_ca(self):
        with tempfile.TemporaryDirectory() as d:
            cert, key = make_certificate(d)
            _, url, _ = self.serve_tls("--cert", cert, "--key", key)
            client = self.connect_json(url, "--ca", cert, "--show-tls")
            tls = json.loads(client.stdout.wait_for(lambda l: '"tls"' in l))
            self.assertEqual(tls["verifiedBy"], "ca-file")
            client.close_stdin()
            self.assertEqual(client.wait(), 0)

    def test_plain_client_to_tls_port_and_reverse(self):
        with tempfile.TemporaryDirectory() as data:
            os.environ["XDG_DATA_HOME"] = data
            try:
                _, url, _ = self.serve_tls()
            finally:
                del os.environ["XDG_DATA_HOME"]
        plain = self.start("connect", url.replace("wss://", "ws://"), stdin=subprocess.DEVNULL)
        self.assertEqual(plain.wait(), 2)
        self.assertIn("expects TLS (wss://)", "\n".join(plain.stderr.rest()))
        _, plain_url = self.serve()
        tls = self.start("connect", plain_url.replace("ws://", "wss://"),
                         stdin=subprocess.DEVNULL)
        self.assertEqual(tls.wait(), 2)
        self.assertIn("did not answer TLS", "\n".join(tls.stderr.rest()))

    def test_deflate_round_trip(self):
        _, url = self.serve("--deflate")
        client = self.connect_json(url, "--deflate", "--show-frames")
        opened = json.loads(client.stdout.wait_for(lambda l: '"open"' in l))
        self.assertEqual(opened["extensions"], "permessage-deflate")
        text = '{"a":1,"b":[1,2,3]}' * 50
        client.send(text)
        out = json.loads(client.stdout.wait_for(
            lambda l: '"frame"' in l and '"direction":"out"' in l))
        self.assertTrue(out["rsv1"])
        message = json.loads(client.stdout.wait_for(lambda l: '"message"' in l))
        self.assertEqual(message["data"], text)
        self.assertTrue(message["compressed"])
        self.assertLess(message["wireLength"], len(text) // 5)
        client.close_stdin()
        self.assertEqual(client.wait(), 0)

    def test_deflate_refused_without_flag(self):
        _, url = self.serve()
        client = self.connect_json(url, "--deflate")
        opened = json.loads(client.stdout.wait_for(lambda l: '"open"' in l))
        self.assertEqual(opened["extensions"], "")
        client.send("x" * 100)
        message = json.loads(client.stdout.wait_for(lambda l: '"message"' in l))
        self.assertNotIn("compressed", message)
        client.close_stdin()
        self.assertEqual(client.wait(), 0)


if __name__ == "__main__":
    if len(sys.argv) < 2 or not os.access(sys.argv[1], os.X_OK):
        sys.exit("usage: test_wsw_cli.py PATH/TO/wsw")
    WSW = sys.argv.pop(1)
    unittest.main(verbosity=2)

#!/usr/bin/python3
"""wsw connect in scripts and pipes, and the rough edges found using it that way:
the end of input and when the close goes out, exit statuses, data-only input,
--raw output, messages streamed from a file, the request's headers, signals.

Usage: test_wsw_scripting.py PATH/TO/wsw

Every process is bounded and every server listens on 127.0.0.1 only.
"""

import base64
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import test_wsw_cli as base
from test_wsw_cli import TIMEOUT, RawServer, json_events


def recv_exact(conn, count):
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise EOFError("the client closed the connection")
        data += chunk
    return data


def recv_frame(conn):
    """One frame from the client: (fin, opcode, unmasked payload)."""
    first, second = recv_exact(conn, 2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", recv_exact(conn, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", recv_exact(conn, 8))[0]
    key = recv_exact(conn, 4) if second & 0x80 else b"\0\0\0\0"
    payload = bytearray(recv_exact(conn, length))
    for i in range(len(payload)):
        payload[i] ^= key[i % 4]
    return bool(first & 0x80), first & 0x0F, bytes(payload)


def server_frame(opcode, payload=b""):
    assert len(payload) < 126
    return bytes([0x80 | opcode, len(payload)]) + payload


def drain(conn):
    """Reads until the client closes or the socket times out."""
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass


class ScriptingTest(base.WswTestCase):
    def run_wsw(self, *args, input=b"", timeout=TIMEOUT):
        """Runs wsw to its end; returns (status, stdout bytes, stderr text)."""
        done = subprocess.run([base.WSW, *args], input=input, capture_output=True,
                              timeout=timeout)
        return done.returncode, done.stdout, done.stderr.decode("utf-8", "replace")

    # --- the end of input, the close and signals --------------------------------------

    def test_silent_server_close_timeout_ends_the_client(self):
        # The server answers 101 and never says a word; stdin is empty from the start,
        # so our close goes out as the connection opens, and its deadline must hold.
        for stdin in (b"", b"hi\n"):
            with self.subTest(stdin=stdin):
                raw = RawServer(drain)
                url = "ws://127.0.0.1:%d/" % raw.port
                started = time.monotonic()
                status, _, err = self.run_wsw("connect", url, "--close-timeout", "1000",
                                              input=stdin, timeout=10)
                self.assertEqual(status, 3, err)
                self.assertLess(time.monotonic() - started, 8)
                self.assertIn("not answered within 1000 ms", err)

    def test_first_sigint_drops_a_close_left_unanswered(self):
        raw = RawServer(drain)
        client = self.start("connect", "ws://127.0.0.1:%d/" % raw.port, "--close-timeout", "60000")
        client.stderr.wait_for(lambda l: l == "connected")
        client.close_stdin()  # our close goes out; the server never answers
        time.sleep(0.3)
        client.proc.send_signal(signal.SIGINT)
        self.assertEqual(client.wait(timeout=5), 3)

    def test_closed_stdin_is_the_end_of_input(self):
        _, url = self.serve()
        # `<&-`: fd 0 is closed when wsw starts, not just empty.
        done = subprocess.run(["bash", "-c", 'exec "$0" connect "$1" <&-', base.WSW, url],
                              capture_output=True, timeout=10)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn(b"closed: 1000 (normal closure), clean, closed by us", done.stderr)

    def test_execute_sends_lines_and_waits_for_their_replies(self):
        _, url = self.serve()
        status, out, err = self.run_wsw("connect", url, "-x", "one", "-x", "/ping p",
                                        "--execute", "two")
        self.assertEqual(status, 0, err)
        lines = out.decode().splitlines()
        self.assertEqual(len(lines), 4, lines)
        self.assertEqual((lines[0], lines[2], lines[3]), ("< one", "< two", "< [close] 1000"))
        self.assertTrue(lines[1].startswith("< [pong] p (round trip "), lines)

    def test_one_message_waits_for_the_replies(self):
        # The greeting counts as nothing special: -1 waits for one message per line.
        _, url = self.serve()
        status, out, err = self.run_wsw("connect", "-1", url, input=b"a\nb\nc\n")
        self.assertEqual(status, 0, err)
        self.assertEqual(out.decode().splitlines(), ["< a", "< b", "< c", "< [close] 1000"])

    def test_wait_replies_and_linger(self):
        _, url = self.serve("--mode", "greeting", "--greeting", "hello")
        status, out, _ = self.run_wsw("connect", url, "--wait-replies", "2", input=b"x\n")
        self.assertEqual(status, 0)
        self.assertEqual(out.decode().splitlines(), ["< hello", "< x", "< [close] 1000"])
        # --linger: the close waits that long after the end of input.
        started = time.monotonic()
        status, out, _ = self.run_wsw("connect", url, "--linger", "700", input=b"")
        self.assertEqual(status, 0)
        self.assertGreaterEqual(time.monotonic() - started, 0.7)
        self.assertEqual(out.decode().splitlines(), ["< hello", "< [close] 1000"])

    def test_no_close_leaves_the_end_to_the_peer(self):
        server, url = self.serve("--mode", "manual")
        client = self.start("connect", "-n", url, stdin=subprocess.DEVNULL)
        server.stdout.wait_for(lambda l: "connected" in l)
        time.sleep(1.5)  # longer than the default wait for replies
        self.assertIsNone(client.proc.poll())
        server.send("/close 1001 bye")
        self.assertEqual(client.wait(), 0)

    # --- exit statuses ------------------------------------------------------------------

    def test_peer_refusing_a_message_is_not_a_clean_exit(self):
        _, url = self.serve("--max-message-size", "10")
        status, out, err = self.run_wsw("connect", url, input=b"longer than ten bytes\n")
        self.assertEqual(status, 6, err)
        self.assertIn("< [close] 1009", out.decode())

    def test_our_own_size_limit_has_its_own_status(self):
        def too_long(conn):
            conn.sendall(server_frame(0x1, b"x" * 20))
            drain(conn)

        raw = RawServer(too_long)
        status, out, err = self.run_wsw("connect", "ws://127.0.0.1:%d/" % raw.port,
                                        "--max-message-size", "10", "-n")
        self.assertEqual(status, 7, err)
        self.assertIn("message refused by our limit (--max-message-size)", err)
        self.assertNotIn("violation by the peer", err)

        raw = RawServer(too_long)
        status, out, _ = self.run_wsw("connect", "ws://127.0.0.1:%d/" % raw.port, "--json",
                                      "--max-message-size", "10", "-n")
        self.assertEqual(status, 7)
        violation = [e for e in json_events(out.decode().splitlines())
                     if e["event"] == "violation"]
        self.assertEqual(len(violation), 1)
        self.assertEqual((violation[0]["error"], violation[0]["code"], violation[0]["ourLimit"]),
                         ("MessageTooBig", 1009, True))

    def test_exit_status_table_in_help(self):
        status, out, _ = self.run_wsw("connect", "--help")
        self.assertEqual(status, 0)
        for line in ("  6  the peer closed with an error code",
                     "  7  a message was over our own limit", "  8  something given to send"):
            self.assertIn(line, out.decode())
        status, out, _ = self.run_wsw("serve", "--help")
        self.assertIn("Exit status:", out.decode())

    # --- data-only input ----------------------------------------------------------------

    def test_unknown_command_is_not_silently_dropped(self):
        _, url = self.serve()
        status, out, err = self.run_wsw("connect", url, input=b"/usr/bin/ls\n")
        self.assertEqual(status, 8)
        self.assertIn("unknown command /usr/bin/ls", err)

    def test_no_commands_sends_slash_lines_as_messages(self):
        _, url = self.serve()
        status, out, err = self.run_wsw("connect", url, "--no-commands",
                                        input=b"/usr/bin/ls\n/close 4001\n")
        self.assertEqual(status, 0, err)
        self.assertEqual(out.decode().splitlines(),
                         ["< /usr/bin/ls", "< /close 4001", "< [close] 1000"])

    def test_binary_lines_are_data_with_their_carriage_return(self):
        _, url = self.serve()
        status, out, err = self.run_wsw("connect", url, "-b", "--json",
                                        input=b"/close 4001\r\n/usr/bin/ls\n")
        self.assertEqual(status, 0, err)
        messages = [e for e in json_events(out.decode().splitlines()) if e["event"] == "message"]
        self.assertEqual([(m["type"], m["data"]) for m in messages],
                         [("binary", base64.b64encode(b"/close 4001\r").decode()),
                          ("binary", base64.b64encode(b"/usr/bin/ls").decode())])

    def test_send_error_text_is_utf8(self):
        _, url = self.serve()
        status, _, err = self.run_wsw("connect", url, input=b"/text \xff\xfe\n")
        self.assertIn("text must be valid UTF-8 (RFC 6455 \u00a78.1)", err)
        self.assertNotIn("\u00c2", err)
        self.assertEqual(status, 8)
        status, out, _ = self.run_wsw("connect", url, "--json", input=b"/text \xff\xfe\n")
        errors = [e for e in json_events(out.decode().splitlines()) if e["event"] == "error"]
        self.assertEqual(len(errors), 1)
        self.assertIn("(RFC 6455 \u00a78.1)", errors[0]["message"])
        self.assertNotIn("\u00c2", errors[0]["message"])

    # --- raw output, NUL separators, files ----------------------------------------------

    def test_raw_prints_payloads_only(self):
        _, url = self.serve()
        status, out, err = self.run_wsw("connect", "--raw", url, input=b"ab\n/ping\n")
        self.assertEqual(status, 0, err)
        self.assertEqual(out, b"ab\n/ping\n")
        status, out, _ = self.run_wsw("connect", "--raw", "--separator", "<>", url,
                                      input=b"ab\ncd\n")
        self.assertEqual(out, b"ab<>cd<>")
        status, out, _ = self.run_wsw("connect", "--raw", "-0", "-b", url,
                                      input=b"line\nwith newline\0second\0")
        self.assertEqual(status, 0)
        self.assertEqual(out, b"line\nwith newline\0second\0")

    def test_raw_round_trips_a_binary_file(self):
        _, url = self.serve()
        data = bytes(range(256)) * 1000 + b"\r\n\0\xff"
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "in.bin")
            with open(path, "wb") as f:
                f.write(data)
            for args, stdin in ((["--file", path], b""), (["--stdin-message"], data)):
                with self.subTest(args=args):
                    status, out, err = self.run_wsw("connect", url, "--raw", "-b", "-1",
                                                    "--separator", "", *args, input=stdin)
                    self.assertEqual(status, 0, err)
                    self.assertEqual(out, data)

    def test_file_larger_than_a_piece_goes_as_fragments(self):
        size = 3 * 1024 * 1024 + 5
        received = {}

        def collect(conn):
            frames, total = [], 0
            while True:
                fin, opcode, payload = recv_frame(conn)
                frames.append((fin, opcode, len(payload)))
                total += len(payload)
                if fin:
                    break
            received["frames"], received["total"] = frames, total
            conn.sendall(server_frame(0x8, struct.pack("!H", 1000)))
            drain(conn)

        raw = RawServer(collect)
        with tempfile.NamedTemporaryFile() as f:
            f.write(b"a" * size)
            f.flush()
            status, _, err = self.run_wsw("connect", "ws://127.0.0.1:%d/" % raw.port, "--file",
                                          f.name, "-n")
        self.assertEqual(status, 0, err)
        self.assertEqual(received["total"], size)
        frames = received["frames"]
        self.assertEqual(frames[0][1], 0x1)
        self.assertTrue(all(opcode == 0 for _, opcode, _ in frames[1:]))
        self.assertGreater(len(frames), 1)

    def test_file_that_is_not_utf8_is_not_sent_as_text(self):
        _, url = self.serve()
        with tempfile.NamedTemporaryFile() as f:
            f.write(b"\xff" * 10)
            f.flush()
            status, _, err = self.run_wsw("connect", url, "--file", f.name)
        self.assertEqual(status, 8, err)
        self.assertIn("is not valid UTF-8", err)
        status, _, err = self.run_wsw("connect", url, "--file", "/nonexistent/file")
        self.assertEqual(status, 1)

    # --- the opening request ------------------------------------------------------------

    def test_host_and_origin_headers_replace_ours(self):
        raw = RawServer(lambda conn: conn.sendall(server_frame(0x8, struct.pack("!H", 1000))))
        status, _, err = self.run_wsw("connect", "ws://127.0.0.1:%d/" % raw.port,
                                      "-H", "Host: example.test", "--header",
                                      "Origin: http://origin.test", "-n")
        self.assertEqual(status, 0, err)
        request = raw.request.decode()
        self.assertEqual(re.findall(r"(?im)^host:.*$", request), ["Host: example.test\r"])
        self.assertEqual(re.findall(r"(?im)^origin:.*$", request),
                         ["Origin: http://origin.test\r"])
        status, _, err = self.run_wsw("connect", "ws://127.0.0.1:1/", "-o", "http://a",
                                      "-H", "Origin: http://b")
        self.assertEqual(status, 1)
        self.assertIn("--origin and --header", err)

    def test_short_options(self):
        raw = RawServer(lambda conn: (conn.sendall(server_frame(0x8, struct.pack("!H", 1000))),
                                      drain(conn)))
        status, _, err = self.run_wsw("connect", "ws://127.0.0.1:%d/" % raw.port, "-s", "chat",
                                      "-o", "http://o.test", "-H", "X-A: 1", "-q", "-n")
        self.assertEqual(status, 0, err)
        self.assertEqual(err, "")  # -q: no status lines
        request = raw.request.decode()
        self.assertIn("Sec-WebSocket-Protocol: chat\r\n", request)
        self.assertIn("Origin: http://o.test\r\n", request)
        self.assertIn("X-A: 1\r\n", request)

    # --- --echo answers as it decodes ---------------------------------------------------

    def test_echo_goes_out_before_a_bad_frame_of_the_same_read(self):
        got = {}

        def good_then_bad(conn):
            # A good text message and a frame with a reserved opcode, in one write.
            conn.sendall(server_frame(0x1, b"good") + server_frame(0x3, b""))
            got["first"] = recv_frame(conn)
            got["second"] = recv_frame(conn)
            conn.sendall(server_frame(0x8, struct.pack("!H", 1002)))
            drain(conn)

        raw = RawServer(good_then_bad)
        status, _, err = self.run_wsw("connect", "ws://127.0.0.1:%d/" % raw.port, "--echo")
        self.assertEqual(status, 4, err)
        # wsw may be gone before the server's thread has noted what it read.
        raw.thread.join(30)
        self.assertEqual(got["first"], (True, 0x1, b"good"))
        self.assertEqual(got["second"][1], 0x8)
        self.assertEqual(struct.unpack("!H", got["second"][2][:2])[0], 1002)
        self.assertNotIn("already sent", err)

    def test_echo_of_a_message_followed_by_a_close(self):
        got = {}

        def message_then_close(conn):
            conn.sendall(server_frame(0x1, b"last") + server_frame(0x8, struct.pack("!H", 1000)))
            got["first"] = recv_frame(conn)
            got["second"] = recv_frame(conn)
            drain(conn)

        raw = RawServer(message_then_close)
        status, _, err = self.run_wsw("connect", "ws://127.0.0.1:%d/" % raw.port, "--echo")
        self.assertEqual(status, 0, err)
        # wsw may be gone before the server's thread has noted what it read.
        raw.thread.join(30)
        self.assertEqual(got["first"], (True, 0x1, b"last"))
        self.assertEqual(got["second"][1], 0x8)
        self.assertNotIn("error", err)

    # --- wsw serve --json, --show-frames, --no-echo-to-sender -------------------------

    def test_serve_json_and_show_frames(self):
        server = self.start("serve", "--port", "0", "--json", "--show-frames")
        listening = json.loads(server.stdout.wait_for(lambda l: True))
        self.assertEqual(listening["event"], "listening")
        self.assertRegex(listening["url"], r"^ws://127\.0\.0\.1:\d+/$")
        status, _, err = self.run_wsw("connect", "-1", listening["url"], input=b"hello\n")
        self.assertEqual(status, 0, err)
        events = []
        while not any(e.get("event") == "closed" for e in events):
            events.append(json.loads(server.stdout.wait_for(lambda l: True)))
        by_kind = {}
        for e in events:
            by_kind.setdefault(e["event"], []).append(e)
        self.assertEqual(by_kind["open"][0]["client"], 1)
        self.assertEqual([(m["client"], m["data"]) for m in by_kind["message"]], [(1, "hello")])
        frames = [(f["direction"], f["opcodeName"], f["masked"]) for f in by_kind["frame"]]
        self.assertIn(("in", "text", True), frames)
        self.assertIn(("out", "text", False), frames)
        self.assertEqual(by_kind["closed"][0]["code"], 1000)
        self.assertTrue(all("client" in e for e in events if e["event"] != "log"))

    def test_serve_show_frames_human(self):
        server, url = self.serve("--show-frames", "--quiet")
        status, _, _ = self.run_wsw("connect", "-1", url, input=b"hey\n")
        self.assertEqual(status, 0)
        line = server.stdout.wait_for(lambda l: "opcode=0x1" in l)
        self.assertTrue(line.startswith("[#1] < frame FIN=1 RSV=000 opcode=0x1 (text) MASK=1"), line)

    def test_broadcast_without_echo_to_sender(self):
        _, url = self.serve("--mode", "broadcast", "--no-echo-to-sender")
        listener = self.start("connect", "--json", "-n", url, stdin=subprocess.DEVNULL)
        listener.stdout.wait_for(lambda l: '"event":"open"' in l)
        status, out, err = self.run_wsw("connect", "--json", "--linger", "500", "-x", "to all",
                                        url)
        self.assertEqual(status, 0, err)
        sender_messages = [e["data"] for e in json_events(out.decode().splitlines())
                           if e["event"] == "message"]
        self.assertNotIn("to all", sender_messages)
        listener.stdout.wait_for(lambda l: '"data":"to all"' in l)

    # --- smaller ones -------------------------------------------------------------------

    def test_failed_connection_prints_no_closed_line(self):
        status, _, err = self.run_wsw("connect", "ws://127.0.0.1:%d/" % base.free_port())
        self.assertEqual(status, 2)
        self.assertIn("Connection refused", err)
        self.assertNotIn("closed:", err)

    def test_missing_ca_file_is_a_usage_error(self):
        status, _, err = self.run_wsw("connect", "wss://127.0.0.1:%d/" % base.free_port(),
                                      "--ca", "/nonexistent/ca.pem")
        self.assertEqual(status, 1)
        self.assertIn("--ca: cannot read /nonexistent/ca.pem", err)

    def test_bench_failure_says_why_without_a_table(self):
        def close_at_once(conn):
            conn.sendall(server_frame(0x8, struct.pack("!H", 1000)))
            try:
                recv_frame(conn)
            except (EOFError, OSError):
                pass

        raw = RawServer(close_at_once)
        status, out, err = self.run_wsw("bench", "ws://127.0.0.1:%d/" % raw.port, "--conns", "1",
                                        "--seconds", "2")
        self.assertEqual(status, 2)
        self.assertEqual(out, b"")  # no table of zeros
        self.assertRegex(err, r"ended early: \S")

    def test_serve_usage_errors(self):
        for args, words in ((["--greeting", "hi"], "--greeting needs --mode greeting"),
                            (["--max-message-size", "0"], "--max-message-size expects"),
                            (["--no-echo-to-sender"], "--no-echo-to-sender needs --mode broadcast")):
            with self.subTest(args=args):
                status, _, err = self.run_wsw("serve", "--port", "0", *args)
                self.assertEqual(status, 1)
                self.assertIn(words, err)


if __name__ == "__main__":
    if len(sys.argv) < 2 or not os.access(sys.argv[1], os.X_OK):
        sys.exit("usage: test_wsw_scripting.py PATH/TO/wsw")
    base.WSW = sys.argv.pop(1)
    unittest.main(verbosity=2)

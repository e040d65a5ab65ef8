#!/usr/bin/python3
"""wsw diff: sessions recorded with `wsw connect --save` against a python3-websockets
server and `wsw serve`, compared: exit statuses, known differences found, --ignore,
--json, colour, connections of a server's log, timing, and a recording of the same
exchange twice that comes out the same.

Usage: test_wsw_diff.py PATH/TO/wsw

Every process is bounded and every server listens on 127.0.0.1 only. python3-websockets
is required: a missing peer is a failure.
"""

import json
import os
import pty
import re
import subprocess
import sys
import tempfile
import time
import unittest

import test_wsw_cli as base
from test_wsw_cli import TIMEOUT

# Answers each message with a JSON object that carries volatile fields (a time stamp
# and a fresh request id at depth), as real APIs do; binary messages come back as
# hex in "data"; "quiet" gets no answer.
PYTHON_SERVER = r"""
import asyncio, json, time, uuid
import websockets

async def handler(ws, path):
    async for message in ws:
        if message == "quiet":
            continue
        data = message if isinstance(message, str) else message.hex()
        await ws.send(json.dumps({"type": "echo", "data": data, "ts": time.time(),
                                  "meta": {"requestId": str(uuid.uuid4()), "server": "py"}}))

async def main():
    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()

asyncio.run(main())
"""


class PythonPeer:
    def __init__(self):
        self.proc = subprocess.Popen(["/usr/bin/python3", "-c", PYTHON_SERVER],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline().decode().strip()
        if not line.isdigit():
            self.stop()
            raise AssertionError("python3-websockets server did not start: %r" % line)
        self.url = "ws://127.0.0.1:%s/" % line

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=TIMEOUT)
        self.proc.stdout.close()
        self.proc.stderr.close()


class WswDiffTest(base.WswTestCase):
    @classmethod
    def setUpClass(cls):
        cls.peer = PythonPeer()

    @classmethod
    def tearDownClass(cls):
        cls.peer.stop()

    def setUp(self):
        super().setUp()
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        super().tearDown()
        self.dir.cleanup()

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def record(self, name, lines, url=None, pause=0.0):
        """Sends `lines` with wsw connect --save against the Python server (or `url`), one
        at a time, each after the answer to the one before, so that every recording of
        the same lines has its messages in the same order; then `pause` seconds. Returns
        the log's path."""
        path = self.path(name)
        client = self.start("connect", url or self.peer.url, "--save", path, "--json")
        client.stdout.wait_for(lambda l: json.loads(l)["event"] == "open")
        for line in lines:
            client.send(line)
            if line != "quiet":
                client.stdout.wait_for(lambda l: json.loads(l)["event"] == "message")
            if pause:
                time.sleep(pause)
        client.close_stdin()
        self.assertEqual(client.wait(), 0)
        return path

    def diff(self, *args):
        done = subprocess.run([base.WSW, "diff", *args], capture_output=True, timeout=TIMEOUT)
        return done.returncode, done.stdout.decode(), done.stderr.decode()

    def diff_json(self, *args):
        status, out, err = self.diff("--json", *args)
        self.assertEqual(err, "")
        return status, json.loads(out)

    def kinds(self, report):
        return [(p["kind"], p["direction"]) for p in report["pairs"]]

    # --- the same exchange twice ------------------------------------------------------

    def test_same_exchange_twice_is_the_same(self):
        lines = ['{"op":"subscribe","id":1}', "hello", "/binary 00ff10", '{"op":"get","id":2}']
        a = self.record("a.jsonl", lines)
        b = self.record("b.jsonl", lines)
        # The server's time stamps and request ids differ from run to run...
        status, report = self.diff_json(a, b)
        self.assertEqual(status, 1)
        changed = [p for p in report["pairs"] if p["kind"] == "changed"]
        self.assertEqual(len(changed), 4)
        self.assertEqual({tuple(p["paths"]) for p in changed}, {("$.meta.requestId", "$.ts")})
        self.assertTrue(all(p["direction"] == "in" for p in changed))
        # ...and once they are ignored the two sessions are the same.
        status, out, err = self.diff("--ignore", "$.ts", "--ignore", "$..requestId", a, b)
        self.assertEqual((status, err), (0, ""), out)
        self.assertRegex(out.splitlines()[-1], r"^same: 8 equal, 0 changed, 0 missing, 0 extra$")

    def test_wsw_serve_echo_recorded_twice_is_the_same(self):
        _, url = self.serve()
        lines = ["one", '{"b":1,"a":[1,2]}', "/binary 0102"]
        a = self.record("a.jsonl", lines, url=url)
        b = self.record("b.jsonl", lines, url=url)
        status, out, _ = self.diff("--control", a, b)
        self.assertEqual(status, 0, out)

    # --- known differences ---------------------------------------------------------------

    def test_known_differences(self):
        a = self.record("a.jsonl", ["first", '{"type":"order","qty":1}', "third", "fourth"])
        b = self.record("b.jsonl", ["first", '{"qty":2,"type":"order"}', "fourth", "new one"])
        status, report = self.diff_json("--ignore", "$.ts", "--ignore", "$..requestId", a, b)
        self.assertEqual(status, 1)
        self.assertFalse(report["same"])
        pairs = report["pairs"]
        self.assertEqual(self.kinds(report), [
            ("equal", "out"), ("equal", "in"),
            ("changed", "out"), ("changed", "in"),
            ("missing", "out"), ("missing", "in"),
            ("equal", "out"), ("equal", "in"),
            ("extra", "out"), ("extra", "in")])
        self.assertEqual(pairs[2]["paths"], ["$.qty"])
        self.assertEqual((pairs[2]["a"], pairs[2]["b"]), (2, 2))
        # The reply carries the message as a string: it differs at $.data.
        self.assertEqual(pairs[3]["paths"], ["$.data"])
        self.assertEqual((pairs[4]["a"], pairs[4]["b"]), (4, None))
        self.assertEqual((pairs[8]["a"], pairs[8]["b"]), (None, 6))
        self.assertEqual(report["summary"], {"equal": 4, "changed": 2, "missing": 2, "extra": 2,
                                             "moved": 0, "timing": 0, "approximate": False})
        self.assertEqual(report["ignore"], ["$.ts", "$..requestId"])
        # Without context, one hunk per run of differences, numbered as diff -u does
        # (a side with nothing in the hunk names the message before it).
        status, out, _ = self.diff("-U", "0", "--ignore", "$.ts", "--ignore", "$..requestId",
                                   a, b)
        self.assertEqual(status, 1)
        self.assertEqual([l for l in out.splitlines() if l.startswith("@@")],
                         ["@@ -3,4 +3,2 @@", "@@ -8,0 +7,2 @@"])
        self.assertEqual(report["a"]["connection"], 1)
        self.assertEqual(report["a"]["messages"], 8)
        self.assertTrue(report["a"]["clientSide"])

    def test_reordered_messages_are_moves(self):
        a = self.record("a.jsonl", ["quiet", "m1", "m2", "m3", "m4", "m5"])
        b = self.record("b.jsonl", ["quiet", "m1", "m4", "m2", "m3", "m5"])
        status, report = self.diff_json("--ignore", "$.ts", "--ignore", "$..requestId", a, b)
        self.assertEqual(status, 1)
        summary = report["summary"]
        self.assertEqual((summary["changed"], summary["missing"], summary["extra"]), (0, 2, 2))
        self.assertEqual(summary["moved"], 2)
        self.assertEqual(summary["equal"], 9)
        moved = [p for p in report["pairs"] if "movedTo" in p]
        self.assertEqual(len(moved), 4)
        # The text output says where each went.
        status, out, _ = self.diff("--ignore", "$.ts", "--ignore", "$..requestId", a, b)
        self.assertEqual(status, 1)
        self.assertIn("(moved: ", out)

    def test_text_output(self):
        a = self.record("a.jsonl", ["same", "old text here"])
        b = self.record("b.jsonl", ["same", "new text here"])
        status, out, _ = self.diff("--ignore", "$.ts", "--ignore", "$..requestId", "-U", "1",
                                   a, b)
        self.assertEqual(status, 1)
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith("--- " + a + "  connection 1 (client, ws://"), lines)
        self.assertTrue(lines[1].startswith("+++ " + b), lines)
        self.assertRegex(lines[2], r"^@@ -2,3 \+2,3 @@$")
        self.assertTrue(lines[3].startswith("  < {"), lines)  # context: the echo of "same"
        self.assertEqual(lines[4:7], ["- > old text here", "+ > new text here",
                                      "    changed at $ (first difference at byte 0)"])
        self.assertEqual(lines[-1], "different: 2 equal, 2 changed, 0 missing, 0 extra")
        self.assertNotIn("\x1b", out)

    def test_timing_threshold(self):
        a = self.record("a.jsonl", ["t1", "t2", "t3"])
        b = self.record("b.jsonl", ["t1", "t2", "t3"], pause=0.4)
        ignore = ["--ignore", "$.ts", "--ignore", "$..requestId"]
        # Timing is off unless a threshold is given.
        self.assertEqual(self.diff(*ignore, a, b)[0], 0)
        status, report = self.diff_json(*ignore, "--timing-threshold", "200", a, b)
        self.assertEqual(status, 1)
        slow = [p for p in report["pairs"] if "timing" in p]
        self.assertEqual(len(slow), 2)  # t2 and t3 went 400 ms after the previous echo
        for pair in slow:
            self.assertEqual((pair["kind"], pair["direction"]), ("equal", "out"))
            self.assertGreater(pair["timing"]["gapBMs"] - pair["timing"]["gapAMs"], 200)
        self.assertEqual(self.diff(*ignore, "--timing-threshold", "5000", a, b)[0], 0)
        status, out, _ = self.diff(*ignore, "--timing-threshold", "200", a, b)
        self.assertIn("! > t2   (timing: ", out)

    # --- connections of a server's log ------------------------------------------------------

    def test_connections_of_a_server_log(self):
        server_log = self.path("server.jsonl")
        _, url = self.serve("--save", server_log)
        self.record("c1.jsonl", ["from one"], url=url)
        self.record("c2.jsonl", ["from two"], url=url)
        # The server's log holds both clients; the client's log one.
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            with open(server_log, encoding="utf-8") as f:
                if f.read().count('"type":"connection"') >= 2:
                    break
            time.sleep(0.05)
        status, report = self.diff_json("--connection", "1", server_log, server_log)
        self.assertEqual(status, 0)
        self.assertEqual(report["a"]["connection"], 1)
        self.assertFalse(report["a"]["clientSide"])
        # The server received what the client sent.
        self.assertEqual(self.kinds(report), [("equal", "in"), ("equal", "out")])
        status, report = self.diff_json("--connection-a", "1", "--connection-b", "2",
                                        server_log, server_log)
        self.assertEqual(status, 1)
        self.assertEqual(report["b"]["connection"], 2)
        self.assertEqual([p["kind"] for p in report["pairs"]], ["changed", "changed"])
        status, _, err = self.diff("--connection", "7", server_log, server_log)
        self.assertEqual(status, 2)
        self.assertIn("no connection 7 in the log (it has: 1, 2)", err)

    # --- exit statuses, colour -----------------------------------------------------------------

    def test_usage_and_file_errors_exit_2(self):
        a = self.record("a.jsonl", ["x"])
        bad = self.path("bad.jsonl")
        with open(bad, "w") as f:
            f.write("this is not a log\n")
        for args, words in (([a], "expects two logs"),
                            ([a, self.path("absent.jsonl")], "absent.jsonl"),
                            ([a, bad], "bad.jsonl"),
                            (["--ignore", "ts", a, a], "bad JSON path"),
                            (["--color", "sometimes", a, a], "--color expects"),
                            (["--timing-threshold", "-1", a, a], "--timing-threshold expects"),
                            (["--connection", "x", a, a], "--connection"),
                            (["--bogus", a, a], "bogus")):
            with self.subTest(args=args):
                status, out, err = self.diff(*args)
                self.assertEqual(status, 2, (out, err))
                self.assertIn(words, err)
                self.assertTrue(err.startswith("wsw diff: "), err)

    def test_help_lists_the_exit_statuses(self):
        status, out, _ = self.diff("--help")
        self.assertEqual(status, 0)
        self.assertIn("--ignore <path>", out)
        self.assertIn("2  usage error, or a file that could not be read", out)

    def test_colour(self):
        a = self.record("a.jsonl", ["red or green"])
        b = self.record("b.jsonl", ["red and green"])
        args = ["--ignore", "$.ts", "--ignore", "$..requestId"]
        # Not a terminal: no colour unless asked for.
        _, out, _ = self.diff(*args, a, b)
        self.assertNotIn("\x1b[", out)
        _, out, _ = self.diff(*args, "--color", "always", a, b)
        self.assertIn("\x1b[31m- > red or green\x1b[0m", out)
        # A terminal: colour by default, none with --color never.
        self.assertIn("\x1b[32m+ > red and green", self.diff_on_tty(*args, a, b))
        self.assertNotIn("\x1b[", self.diff_on_tty(*args, "--color", "never", a, b))

    def diff_on_tty(self, *args):
        main, secondary = pty.openpty()
        env = dict(os.environ, TERM="xterm")
        env.pop("NO_COLOR", None)
        proc = subprocess.Popen([base.WSW, "diff", *args], stdout=secondary,
                                stderr=subprocess.DEVNULL, env=env)
        os.close(secondary)
        out = b""
        try:
            while True:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # EIO once the child has closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
        finally:
            os.close(main)
            proc.wait(timeout=TIMEOUT)
        return out.decode(errors="replace")


if __name__ == "__main__":
    if len(sys.argv) < 2 or not os.access(sys.argv[1], os.X_OK):
        sys.exit("usage: test_wsw_diff.py PATH/TO/wsw")
    base.WSW = sys.argv.pop(1)
    unittest.main(verbosity=2)

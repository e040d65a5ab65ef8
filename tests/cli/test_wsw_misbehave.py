#!/usr/bin/python3
"""wsw serve's misbehaviour options: their syntax and usage errors, the summary line,
the staged log lines and --json notes, and the behaviour seen by wsw connect.

Usage: test_wsw_misbehave.py PATH/TO/wsw
"""

import json
import os
import re
import subprocess
import sys
import time
import unittest

import test_wsw_cli as base


class WswMisbehaveTest(base.WswTestCase):
    def serve_json(self, *args):
        server = self.start("serve", "--port", "0", "--json", *args)
        first = json.loads(server.stdout.wait_for(lambda line: True))
        self.assertEqual(first["event"], "listening")
        return server, first["url"]

    def test_usage_errors_exit_1(self):
        cases = {
            ("--delay", "x"): "--delay expects MS or MIN-MAX",
            ("--delay", "200-100"): "--delay expects",
            ("--delay", "0"): "--delay expects",
            ("--handshake-delay", "-5"): "--handshake-delay expects",
            ("--fragment", "0"): "--fragment expects N or N,ping",
            ("--fragment", "10,pong"): "--fragment expects",
            ("--pong", "never"): "--pong expects withhold, delay:MS or wrong",
            ("--pong", "delay:"): "--pong expects",
            ("--read-rate", "0"): "--read-rate expects",
            ("--stop-reading-after", "none"): "--stop-reading-after expects",
            ("--close-after", "soon"): "--close-after expects N or a time",
            ("--close-after", "3:sideways"): "--close-after expects",
            ("--close-after", "3:fin:1000"): "--close-after expects",
            ("--close-after", "3:clean:70000"): "--close-after expects",
            ("--bad-frame", "rsv4"): "--bad-frame expects KIND or KIND@N, KIND one of rsv1",
            ("--bad-frame", "rsv1@x"): "--bad-frame expects",
            ("--refuse", "101"): "--refuse expects an HTTP status",
            ("--refuse", "99"): "--refuse expects",
            ("--refuse-header", "A: b"): "--refuse-header needs --refuse",
            ("--refuse", "503", "--refuse-header", "nocolon"): "--refuse-header expects",
            ("--bad-accept", "--bad-subprotocol"): "exclude each other",
            ("--refuse", "503", "--bad-accept"): "--refuse excludes",
            ("--ticker", "0"): "--ticker expects",
            ("--burst", "10"): "--burst expects N:SIZE",
            ("--burst", "10:99999999999"): "--burst expects",
        }
        for args, message in cases.items():
            with self.subTest(args=args):
                p = self.start("serve", "--port", "0", *args, stdin=subprocess.DEVNULL)
                self.assertEqual(p.wait(), 1)
                self.assertIn(message, "\n".join(p.stderr.rest()))

    def test_help_lists_every_option(self):
        p = self.start("serve", "--help", stdin=subprocess.DEVNULL)
        self.assertEqual(p.wait(), 0)
        out = "\n".join(p.stdout.rest())
        for option in ("--delay", "--handshake-delay", "--fragment", "--pong", "--read-rate",
                       "--stop-reading-after", "--close-after", "--bad-frame", "--refuse",
                       "--refuse-header", "--bad-accept", "--bad-extension",
                       "--bad-subprotocol", "--no-upgrade-header", "--ticker", "--burst"):
            self.assertIn(option, out)

    def test_summary_line_and_staged_log(self):
        server, url = self.serve("--delay", "50-80", "--fragment", "3,ping",
                                 "--close-after", "2:no-wait:4001:enough")
        summary = server.stdout.wait_for(lambda l: "misbehaving" in l)
        self.assertEqual(summary, "misbehaving on purpose with every client: reply delay "
                                  "50-80 ms, fragments of 3 bytes with pings between, closes "
                                  "after 2 messages (no-wait 4001)")
        client = self.start("connect", url, "--json")
        client.stdout.wait_for(lambda l: json.loads(l)["event"] == "open")
        begin = time.monotonic()
        client.send("hello")
        message = json.loads(client.stdout.wait_for(lambda l: '"message"' in l))
        self.assertEqual(message["data"], "hello")
        self.assertGreaterEqual(time.monotonic() - begin, 0.045)
        client.send("again")
        close = json.loads(client.stdout.wait_for(lambda l: '"event":"close"' in l))
        self.assertEqual(close["code"], 4001)
        line = server.stdout.wait_for(lambda l: "staged: delayed reply" in l)
        self.assertRegex(line, r"^peer 1 \(127\.0\.0\.1:\d+\): staged: delayed reply \d+ ms$")
        server.stdout.wait_for(lambda l: "staged: fragmented a 5-byte message into 2 frames "
                                         "of at most 3 bytes, with a ping between fragments" in l)
        server.stdout.wait_for(lambda l: "staged: sent close 4001 and closed TCP without "
                                         "waiting for the answer (after 2 messages)" in l)

    def test_json_marks_staged_notes(self):
        server, url = self.serve_json("--pong", "withhold", "--ticker", "50")
        summary = json.loads(server.stdout.wait_for(lambda l: "misbehaving" in l))
        self.assertEqual(summary["staged"], True)
        client = self.start("connect", url, "--json")
        client.stdout.wait_for(lambda l: json.loads(l)["event"] == "open")
        tick = json.loads(json.loads(client.stdout.wait_for(lambda l: "tick" in l))["data"])
        self.assertEqual(tick["tick"], 1)
        client.send("/ping hi")
        note = json.loads(server.stdout.wait_for(
            lambda l: '"note"' in l and "withheld pong" in l))
        self.assertEqual(note["staged"], True)
        self.assertEqual(note["client"], 1)
        self.assertEqual(note["text"], "withheld pong (ping of 2 bytes)")
        log = json.loads(server.stdout.wait_for(
            lambda l: '"log"' in l and "staged: withheld pong" in l))
        self.assertIn("peer 1", log["text"])

    def test_refusal_seen_by_wsw_connect(self):
        _, url = self.serve("--refuse", "503:try later", "--refuse-header", "Retry-After: 9")
        client = self.start("connect", url, "--json", stdin=subprocess.DEVNULL)
        client.wait()
        out = "\n".join(client.stdout.rest() + client.stderr.rest())
        self.assertIn("503", out)


if __name__ == "__main__":
    if len(sys.argv) < 2 or not os.access(sys.argv[1], os.X_OK):
        sys.exit("usage: test_wsw_misbehave.py PATH/TO/wsw")
    base.WSW = sys.argv.pop(1)
    unittest.main(verbosity=2)

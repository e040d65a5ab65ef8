#!/usr/bin/python3
"""wsw connect in shell pipes against servers we did not write: python3-websockets
and Node's ws, each run as an echo server on 127.0.0.1 in a child process.

Usage: test_wsw_pipes.py PATH/TO/wsw

A missing peer skips its tests, or fails them when WSW_REQUIRE_PEERS=1 (CI).
"""

import os
import re
import subprocess
import sys
import tempfile
import threading
import unittest

WSW = None  # set from argv
TIMEOUT = 30
HERE = os.path.dirname(os.path.abspath(__file__))
NODE_MODULES = os.path.join(HERE, "..", "interop", "node_modules")

# Echoes every message; on the path /count, answers each message with its length
# instead (a sink for large messages).
PYTHON_SERVER = r"""
import asyncio, sys
import websockets

async def handler(ws, path):
    async for message in ws:
        await ws.send(str(len(message)) if path == "/count" else message)

async def main():
    async with websockets.serve(handler, "127.0.0.1", 0, max_size=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()

asyncio.run(main())
"""

NODE_SERVER = r"""
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 256 * 1024 * 1024 });
wss.on('connection', (ws, request) => {
    ws.on('message', (data, isBinary) => {
        if (request.url === '/count')
            ws.send(String(data.length));
        else
            ws.send(data, { binary: isBinary });
    });
});
wss.on('listening', () => console.log(wss.address().port));
"""


def peers_required():
    return os.environ.get("WSW_REQUIRE_PEERS") == "1"


class Peer:
    """An echo server in a child process; `port` once it listens."""

    def __init__(self, args, env=None):
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env)
        line = self.proc.stdout.readline().decode().strip()
        if not line.isdigit():
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() else ""
            self.stop()
            raise RuntimeError("the peer did not start: %r %s" % (line, err))
        self.port = int(line)

    def url(self, path="/"):
        return "ws://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=TIMEOUT)
        self.proc.stdout.close()
        self.proc.stderr.close()


def start_python_peer():
    check = subprocess.run(["/usr/bin/python3", "-c", "import websockets"], capture_output=True)
    if check.returncode != 0:
        return None, "python3-websockets for /usr/bin/python3"
    return Peer(["/usr/bin/python3", "-c", PYTHON_SERVER]), None


def start_node_peer():
    node = next((p for p in ("/usr/bin/node", "/usr/bin/nodejs") if os.access(p, os.X_OK)), None)
    if not node:
        return None, "node (Debian package nodejs)"
    if not os.path.isdir(os.path.join(NODE_MODULES, "ws")):
        return None, "npm package ws in tests/interop/node_modules (npm ci there)"
    env = dict(os.environ, NODE_PATH=os.path.abspath(NODE_MODULES))
    return Peer([node, "-e", NODE_SERVER], env=env), None


class PipeTests:
    """The same pipe tests for each peer; a subclass says which peer."""

    start_peer = None

    @classmethod
    def setUpClass(cls):
        cls.peer, missing = cls.start_peer()
        if missing:
            if peers_required():
                raise AssertionError("interop peer missing: %s (WSW_REQUIRE_PEERS=1)" % missing)
            raise unittest.SkipTest("interop peer missing: " + missing)

    @classmethod
    def tearDownClass(cls):
        cls.peer.stop()

    def shell(self, command, timeout=TIMEOUT):
        """Runs a shell pipeline with $WSW and $URL set; returns the CompletedProcess."""
        env = dict(os.environ, WSW=WSW, URL=self.peer.url(), COUNT_URL=self.peer.url("/count"))
        return subprocess.run(["bash", "-c", "set -o pipefail; " + command], env=env,
                              capture_output=True, timeout=timeout)

    def test_one_message_prints_the_reply_every_time(self):
        for run in range(20):
            done = self.shell('echo "msg $RANDOM" | "$WSW" connect -1 "$URL"')
            self.assertEqual(done.returncode, 0, "run %d: %r" % (run, done.stderr))
            self.assertRegex(done.stdout.decode(), r"^< msg \d+\n", "run %d" % run)

    def test_plain_pipe_waits_for_the_reply(self):
        # Without -1: the close waits (at most a second) for one reply per message.
        for run in range(5):
            done = self.shell('printf "a\\nb\\n" | "$WSW" connect "$URL"')
            self.assertEqual(done.returncode, 0, "run %d: %r" % (run, done.stderr))
            self.assertTrue(done.stdout.decode().startswith("< a\n< b\n"),
                            "run %d: %r" % (run, done.stdout))

    def test_raw_round_trips_a_binary_file(self):
        data = os.urandom(3 * 1024 * 1024 + 17)  # several pieces: sent as fragments
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "in.bin")
            with open(path, "wb") as f:
                f.write(data)
            done = self.shell('"$WSW" connect --raw -b -1 --separator "" --file "%s" "$URL"'
                              % path)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(done.stdout, data)
            done = self.shell('cat "%s" | "$WSW" connect --raw -b -1 --separator "" '
                              '--stdin-message "$URL"' % path)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(done.stdout, data)

    def test_raw_nul_separated_lines(self):
        done = self.shell('printf "one\\0two\\nlines\\0" | "$WSW" connect --raw -0 -1 "$URL"')
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, b"one\0two\nlines\0")

    def test_100_mib_file_with_bounded_memory(self):
        size = 100 * 1024 * 1024
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "big.bin")
            with open(path, "wb") as f:
                f.truncate(size)
            with tempfile.TemporaryFile() as err:
                proc = subprocess.Popen([WSW, "connect", "-1", "-b", "--raw", "--file", path,
                                         self.peer.url("/count")],
                                        stdout=subprocess.PIPE, stderr=err)
                timer = threading.Timer(120, proc.kill)
                timer.start()
                out = proc.stdout.read()
                # The child's own peak resident set size, from the kernel (wait4).
                _, status, rusage = os.wait4(proc.pid, 0)
                timer.cancel()
                proc.returncode = os.waitstatus_to_exitcode(status)
                proc.stdout.close()
                err.seek(0)
                errors = err.read()
        self.assertEqual(proc.returncode, 0, errors)
        self.assertEqual(out, b"%d\n" % size)
        peak_mib = rusage.ru_maxrss / 1024
        print("\n%s: peak RSS of wsw connect sending a 100 MiB file: %.1f MiB"
              % (type(self).__name__, peak_mib), file=sys.stderr)
        self.assertLess(peak_mib, 64)


class PythonWebsocketsPipes(PipeTests, unittest.TestCase):
    start_peer = staticmethod(start_python_peer)


class NodeWsPipes(PipeTests, unittest.TestCase):
    start_peer = staticmethod(start_node_peer)


if __name__ == "__main__":
    if len(sys.argv) < 2 or not os.access(sys.argv[1], os.X_OK):
        sys.exit("usage: test_wsw_pipes.py PATH/TO/wsw")
    WSW = sys.argv.pop(1)
    unittest.main(verbosity=2)

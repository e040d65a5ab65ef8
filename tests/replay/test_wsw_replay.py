#!/usr/bin/python3
"""wsw replay against servers and clients we did not write: python3-websockets and
Node's ws. A session is recorded with `wsw connect --save` (messages 100-500 ms apart,
about 2 s), then replayed: the same messages reach a fresh server, at the recorded
times (within 5 ms) at --speed 1, faster at --speed max, with placeholders, captures
and substitutions filled in, paced by the replies with --wait-replies; and the server
side of the recording answers a real client in order.

Usage: test_wsw_replay.py PATH/TO/wsw

A missing peer is a failure.
"""

import base64
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

WSW = None  # set from argv
TIMEOUT = 30
HERE = os.path.dirname(os.path.abspath(__file__))
NODE_MODULES = os.path.abspath(os.path.join(HERE, "..", "interop", "node_modules"))
NODE = next((p for p in ("/usr/bin/node", "/usr/bin/nodejs") if os.access(p, os.X_OK)), None)
# How far a replayed send may be from the recorded one at --speed 1.
TOLERANCE_MS = 5.0
# Replays tried for a timing check (see ReplayCase.timed_replay).
TIMING_ATTEMPTS = 3

# The server both peers run: a greeting with a fresh session id, a fresh token for
# "login", every other message echoed. On /slow every answer waits 200 ms; on /mute
# nothing is answered. Each message received is logged on stdout as a JSON line with
# its arrival time; the first line is the port.
PYTHON_SERVER = r"""
import asyncio, json, sys, time, uuid
import websockets

def log(**fields):
    print(json.dumps(fields), flush=True)

async def handler(ws, path):
    session = uuid.uuid4().hex
    log(event="open", session=session)
    if path != "/mute":
        await ws.send(json.dumps({"hello": session}))
    try:
        async for message in ws:
            text = message if isinstance(message, str) else "binary:" + message.hex()
            log(event="message", t=time.monotonic() * 1000, msg=text)
            if path == "/mute":
                continue
            if path == "/slow":
                await asyncio.sleep(0.2)
            if message == "login":
                token = uuid.uuid4().hex
                log(event="token", token=token)
                await ws.send(json.dumps({"auth": {"token": token}}))
            else:
                await ws.send(message)
    except websockets.ConnectionClosed:
        pass  # a close code other than 1000 or 1001 ends the loop this way
    finally:
        log(event="close", code=ws.close_code, reason=ws.close_reason)

async def main():
    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()

asyncio.run(main())
"""

NODE_SERVER = r"""
const { WebSocketServer } = require('ws');
const crypto = require('crypto');
const { performance } = require('perf_hooks');
const log = (fields) => console.log(JSON.stringify(fields));
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('connection', (ws, request) => {
    const session = crypto.randomBytes(16).toString('hex');
    log({ event: 'open', session });
    if (request.url !== '/mute')
        ws.send(JSON.stringify({ hello: session }));
    ws.on('message', (data, isBinary) => {
        const message = isBinary ? 'binary:' + data.toString('hex') : data.toString();
        log({ event: 'message', t: performance.timeOrigin + performance.now(), msg: message });
        if (request.url === '/mute')
            return;
        const answer = () => {
            if (message === 'login') {
                const token = crypto.randomBytes(16).toString('hex');
                log({ event: 'token', token });
                ws.send(JSON.stringify({ auth: { token } }));
            } else {
                ws.send(data, { binary: isBinary });
            }
        };
        if (request.url === '/slow')
            setTimeout(answer, 200);
        else
            answer();
    });
    ws.on('close', (code, reason) => log({ event: 'close', code, reason: reason.toString() }));
});
wss.on('listening', () => console.log(wss.address().port));
"""

# A client for the server-side replay: sends the given messages one by one, each once
# the server has sent as many messages as the recording had before it, prints every
# message received as a JSON line, and closes with 1000 once all expected have come.
PYTHON_CLIENT = r"""
import asyncio, json, sys
import websockets

async def main():
    url, plan = sys.argv[1], json.loads(sys.argv[2])
    async with websockets.connect(url) as ws:
        received = 0
        async def receive():
            message = await asyncio.wait_for(ws.recv(), 10)
            if not isinstance(message, str):
                message = "binary:" + message.hex()
            print(json.dumps({"msg": message}), flush=True)

        for item in plan["sends"]:
            while received < item["after"]:
                await receive()
                received += 1
            text = item["msg"]
            await ws.send(bytes.fromhex(text[7:]) if text.startswith("binary:") else text)
        while received < plan["expect"]:
            await receive()
            received += 1
        await ws.close(1000)

asyncio.run(main())
"""

NODE_CLIENT = r"""
const WebSocket = require('ws');
const [url, planText] = process.argv.slice(1);
const plan = JSON.parse(planText);
const ws = new WebSocket(url);
let received = 0;
let next = 0;
const timer = setTimeout(() => { console.error('timed out'); process.exit(3); }, 10000);
const sendDue = () => {
    while (next < plan.sends.length && plan.sends[next].after <= received) {
        const text = plan.sends[next++].msg;
        ws.send(text.startsWith('binary:') ? Buffer.from(text.slice(7), 'hex') : text);
    }
    if (next === plan.sends.length && received >= plan.expect)
        ws.close(1000);
};
ws.on('open', sendDue);
ws.on('message', (data, isBinary) => {
    const text = isBinary ? 'binary:' + data.toString('hex') : data.toString();
    console.log(JSON.stringify({ msg: text }));
    ++received;
    sendDue();
});
ws.on('close', () => { clearTimeout(timer); process.exit(0); });
ws.on('error', (e) => { console.error(String(e)); process.exit(2); });
"""

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


class Peer:
    """A server in a child process: `port` once it listens, `events()` what it logged."""

    def __init__(self, args, env=None):
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.stop()
            raise RuntimeError("the peer did not start: %r %s" % (line, err))
        self.port = int(line)

    def url(self, path="/"):
        return "ws://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=TIMEOUT)

    def events(self, until=None):
        """What the server logged, once it logged an event named `until` (bounded)."""
        # Read from the descriptor: a buffered reader would hold lines select() cannot see.
        fd = self.proc.stdout.fileno()
        data = b""
        deadline = time.monotonic() + TIMEOUT
        while until and time.monotonic() < deadline:
            if any(json.loads(line).get("event") == until
                   for line in data.decode().splitlines() if line.strip()):
                break
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                data += chunk
        self.stop()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
        self.proc.stdout.close()
        self.proc.stderr.close()
        return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


def python_server():
    return Peer(["/usr/bin/python3", "-c", PYTHON_SERVER])


def node_server():
    if not NODE:
        raise RuntimeError("node is missing (Debian package nodejs)")
    if not os.path.isdir(os.path.join(NODE_MODULES, "ws")):
        raise RuntimeError("npm package ws missing in tests/interop/node_modules (npm ci there)")
    return Peer([NODE, "-e", NODE_SERVER], env=dict(os.environ, NODE_PATH=NODE_MODULES))


def read_log(path):
    with open(path) as f:
        rows = [json.loads(line) for line in f]
    return [r for r in rows if r.get("type") == "record"]


def sent_steps(path):
    """The client's sends of a client-side log: (kind, text, offset ms from the 101)."""
    rows = read_log(path)
    opened = next(r for r in rows if r["kind"] == "handshake")["time_us"]
    steps = []
    for r in rows:
        if r["dir"] != "sent" or r["kind"] not in ("text", "binary", "ping", "close"):
            continue
        if r.get("rows") == "frame":  # a fragment: its message has a row of its own
            continue
        payload = r.get("payload")
        text = base64.b64decode(payload).decode("utf-8", "replace") if payload else ""
        asked = r["time_us"] - r.get("send_delay_us", 0)
        steps.append((r["kind"], text, (asked - opened) / 1000.0))
    return steps


def fragments(path, text):
    """How many frames carried the sent message `text` in a log."""
    for r in read_log(path):
        if (r["dir"] == "sent" and r["kind"] == "text" and r.get("rows") != "frame" and
                base64.b64decode(r.get("payload", "")) == text.encode()):
            return r.get("frames", 1)
    return 0


def run_wsw(args, timeout=TIMEOUT):
    return subprocess.run([WSW] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout)


class Recording:
    """Records a session with `wsw connect --save` against `server` (path /)."""

    # (gap before it in ms, line for wsw connect); {session} is the greeting's id.
    SCRIPT = [
        (100, "login"),
        (300, '{"id":"{{uuid}}","n":{{counter}}}'),
        (200, "token {{token}}"),
        (400, '{"id":"{{uuid}}","n":{{counter}}}'),
        (150, "session {session}"),
        (500, "plain text"),
        (100, "/fragment 4 split message"),
        (100, "/binary 00ff10"),
        (150, "/ping abc"),
        (200, "/close 4001 bye"),
    ]

    def __init__(self, server, directory):
        self.path = os.path.join(directory, "recording.jsonl")
        proc = subprocess.Popen([WSW, "connect", server.url(), "--save", self.path, "-H",
                                 "X-Replay-Test: yes", "-o", "http://origin.test"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        greeting = json.loads(proc.stdout.readline()[2:])
        self.session = greeting["hello"]
        for gap, line in self.SCRIPT:
            time.sleep(gap / 1000.0)
            proc.stdin.write(line.replace("{session}", self.session) + "\n")
            proc.stdin.flush()
        proc.stdin.close()
        proc.wait(timeout=TIMEOUT)
        # 5: a clean close with a code other than 1000 or 1001.
        assert proc.returncode == 5, proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        self.server_events = server.events()
        self.token = next(e["token"] for e in self.server_events if e["event"] == "token")
        self.steps = sent_steps(self.path)


class ReplayCase:
    """The cases, run against the server `make_server` starts."""

    make_server = None

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.recording = Recording(cls.make_server(), cls.dir.name)

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def replay(self, *args, path="/"):
        server = self.make_server()
        save = os.path.join(self.dir.name, "replay-%s.jsonl" % uuid.uuid4().hex)
        started = time.monotonic()
        result = run_wsw(["replay", self.recording.path, "--to", server.url(path), "--save",
                          save] + list(args))
        elapsed = time.monotonic() - started
        # The server logs the close after the connection is over: wait for it.
        events = server.events(until="close" if result.returncode != 1 else None)
        messages = [e["msg"] for e in events if e["event"] == "message"]
        return result, save, events, messages, elapsed

    def test_recording(self):
        kinds = [s[0] for s in self.recording.steps]
        self.assertEqual(kinds, ["text"] * 7 + ["binary", "ping", "close"])
        self.assertGreater(self.recording.steps[-1][2], 1800)

    def timed_replay(self, scale, *args):
        """Replays with `args` until every send is within TOLERANCE_MS of the recorded
        time divided by `scale`, at most TIMING_ATTEMPTS times; the last attempt's
        (result, save, events, messages). On a shared 2-core machine another process
        can hold the CPU for milliseconds when a send is due; a timing bug of the replay
        fails every attempt."""
        for attempt in range(1, TIMING_ATTEMPTS + 1):
            result, save, events, messages, _ = self.replay(*args)
            self.assertEqual(result.returncode, 0, result.stderr)
            replayed = sent_steps(save)
            self.assertEqual([s[0] for s in replayed], [s[0] for s in self.recording.steps])
            deviations = [again[2] - recorded[2] / scale
                          for recorded, again in zip(self.recording.steps, replayed)]
            print("\n%s x%g attempt %d: %d sends over %.0f ms, offsets from the recording's: "
                  "%.3f to %.3f ms (%s)" %
                  (type(self).__name__, scale, attempt, len(replayed),
                   self.recording.steps[-1][2] / scale, min(deviations), max(deviations),
                   " ".join("%.3f" % d for d in deviations)), file=sys.stderr)
            if all(abs(d) <= TOLERANCE_MS for d in deviations):
                return result, save, events, messages
        self.fail("no replay at --speed %g had every send within %.0f ms of the recording: "
                  "%s" % (scale, TOLERANCE_MS, deviations))

    def test_speed_1_same_messages_same_times(self):
        result, save, events, messages = self.timed_replay(
            1, "--capture", "token=$.auth.token", "--substitute", "$.hello")
        self.assertIn("completed", result.stderr)
        # Placeholders: fresh uuids, the counter, the token this server gave, its session.
        token = next(e["token"] for e in events if e["event"] == "token")
        session = next(e["session"] for e in events if e["event"] == "open")
        self.assertNotEqual(token, self.recording.token)
        self.assertNotEqual(session, self.recording.session)
        self.assertEqual(len(messages), 8, messages)
        self.assertEqual(messages[0], "login")
        first, second = json.loads(messages[1]), json.loads(messages[3])
        self.assertRegex(first["id"], UUID_RE)
        self.assertRegex(second["id"], UUID_RE)
        self.assertNotEqual(first["id"], second["id"])
        self.assertEqual((first["n"], second["n"]), (1, 2))
        self.assertEqual(messages[2], "token " + token)
        self.assertEqual(messages[4], "session " + session)
        self.assertEqual(messages[5], "plain text")
        self.assertEqual(messages[6], "split message")
        self.assertEqual(messages[7], "binary:00ff10")
        # A fragmented message goes in as many frames as recorded.
        self.assertEqual(fragments(save, "split message"), 4)
        self.assertEqual(fragments(self.recording.path, "split message"), 4)
        # The close with its recorded code and reason.
        close = next(e for e in events if e["event"] == "close")
        self.assertEqual((close["code"], close["reason"]), (4001, "bye"))
        # The recorded request's fields went again.
        request = next(r for r in read_log(save) if r["kind"] == "handshake")
        self.assertIn("X-Replay-Test: yes", request["handshake"]["request"])
        self.assertIn("Origin: http://origin.test", request["handshake"]["request"])

    def test_speed_max_is_faster(self):
        result, save, _, messages, elapsed = self.replay("--speed", "max", "--no-placeholders")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(messages[:7], [s[1] for s in self.recording.steps if s[0] == "text"])
        self.assertEqual(messages[7], "binary:00ff10")
        replayed = sent_steps(save)
        self.assertLess(replayed[-1][2], self.recording.steps[-1][2] / 10)
        self.assertLess(elapsed, self.recording.steps[-1][2] / 1000.0)

    def test_speed_2_halves_the_gaps(self):
        self.timed_replay(2, "--speed", "2", "--no-placeholders")

    def test_wait_replies_waits_for_each_reply(self):
        # /slow answers 200 ms late: each message waits for the answer before it.
        result, _, events, messages, _ = self.replay(
            "--wait-replies", "--capture", "token=$.auth.token", "--substitute", "$.hello",
            path="/slow")
        self.assertEqual(result.returncode, 0, result.stderr)
        times = [e["t"] for e in events if e["event"] == "message"]
        self.assertEqual(len(times), 8, messages)
        for earlier, later in zip(times, times[1:]):
            self.assertGreaterEqual(later - earlier, 195.0, times)
        token = next(e["token"] for e in events if e["event"] == "token")
        self.assertEqual(messages[2], "token " + token)

    def test_wait_replies_times_out(self):
        result, _, _, messages, _ = self.replay("--wait-replies", "--reply-timeout", "300",
                                                "--no-placeholders", path="/mute")
        self.assertEqual(result.returncode, 9, result.stderr)
        self.assertIn("no reply: waited 300 ms", result.stderr)
        self.assertEqual(len(messages), 8)

    def test_unknown_placeholder_sends_nothing(self):
        result, _, events, _, _ = self.replay()
        self.assertEqual(result.returncode, 1)
        self.assertIn("{{token}}", result.stderr)
        self.assertEqual([e for e in events if e["event"] == "open"], [])

    def test_headers_overridden_or_dropped(self):
        result, save, _, _, _ = self.replay("--speed", "max", "--no-placeholders", "-H",
                                            "X-Replay-Test: changed")
        self.assertEqual(result.returncode, 0, result.stderr)
        request = next(r for r in read_log(save) if r["kind"] == "handshake")
        self.assertIn("X-Replay-Test: changed", request["handshake"]["request"])
        self.assertNotIn("X-Replay-Test: yes", request["handshake"]["request"])
        result, save, _, _, _ = self.replay("--speed", "max", "--no-placeholders",
                                            "--no-recorded-headers")
        self.assertEqual(result.returncode, 0, result.stderr)
        request = next(r for r in read_log(save) if r["kind"] == "handshake")
        self.assertNotIn("X-Replay-Test", request["handshake"]["request"])
        self.assertNotIn("Origin", request["handshake"]["request"])

    def serve_to(self, client_args, env=None):
        proc = subprocess.Popen([WSW, "replay", self.recording.path, "--serve", "--port", "0",
                                 "--once", "--no-placeholders"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            port = int(re.search(r":(\d+)/", line).group(1))
            rows = read_log(self.recording.path)
            # What the recorded client sent, each after as many server messages as then.
            sends, received = [], 0
            expected = []
            for r in rows:
                if r["kind"] not in ("text", "binary") or r.get("rows") == "frame":
                    continue
                payload = base64.b64decode(r.get("payload", ""))
                text = payload.decode() if r["kind"] == "text" else "binary:" + payload.hex()
                if r["dir"] == "sent":
                    sends.append({"msg": text, "after": received})
                else:
                    expected.append(text)
                    received += 1
            plan = json.dumps({"sends": sends, "expect": len(expected)})
            client = subprocess.run(client_args + ["ws://127.0.0.1:%d/" % port, plan],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    timeout=TIMEOUT, env=env)
            self.assertEqual(client.returncode, 0, client.stderr)
            got = [json.loads(l)["msg"] for l in client.stdout.splitlines() if l.strip()]
            self.assertEqual(got, expected)
            self.assertEqual(proc.wait(timeout=TIMEOUT), 0, proc.stderr.read())
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()

    def test_serve_answers_python_client(self):
        self.serve_to(["/usr/bin/python3", "-c", PYTHON_CLIENT])

    def test_serve_answers_node_client(self):
        if not NODE:
            self.fail("node is missing (Debian package nodejs)")
        self.serve_to([NODE, "-e", NODE_CLIENT], env=dict(os.environ, NODE_PATH=NODE_MODULES))


class AgainstPython(ReplayCase, unittest.TestCase):
    make_server = staticmethod(python_server)


class AgainstNode(ReplayCase, unittest.TestCase):
    make_server = staticmethod(node_server)


if __name__ == "__main__":
    WSW = sys.argv.pop(1)
    unittest.main(verbosity=2)

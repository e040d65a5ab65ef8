#!/usr/bin/python3
"""End-to-end tests of how wsw reaches its peers: HTTP proxies (--proxy, the proxy
variables, Basic authentication, a 407 in words), Unix domain sockets both ways,
connect and handshake timeouts, dead-peer detection, --reconnect, client
certificates, credentials in the URL, the connection limit and `--bind ::`.

Usage: test_wsw_net.py PATH/TO/wsw

Everything listens on 127.0.0.1 (or a socket file in a temporary folder), and
every wait is bounded.
"""

import asyncio
import base64
import json
import os
import re
import resource
import select
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_wsw_cli as cli  # noqa: E402  (LineReader, RawServer, make_certificate)

TIMEOUT = cli.TIMEOUT
PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                   "ALL_PROXY", "no_proxy", "NO_PROXY")


# What /proc/PID/fd shows for an epoll(7) instance.
EVENT_POLL = "anon_inode:[eventpoll]"


def descriptor_kinds(pid):
    """What each open descriptor of a process is (/proc/PID/fd)."""
    kinds = []
    folder = "/proc/%d/fd" % pid
    for name in os.listdir(folder):
        try:
            kinds.append(os.readlink(os.path.join(folder, name)))
        except OSError:  # closed meanwhile
            pass
    return kinds


def clean_environment(**extra):
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
    env.update(extra)
    return env


class Process(cli.Process):
    """A wsw process with its own environment and resource limits."""

    def __init__(self, *args, stdin=subprocess.PIPE, env=None, preexec_fn=None):
        self.proc = subprocess.Popen([cli.WSW, *args], stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env or clean_environment(),
                                     preexec_fn=preexec_fn)
        self.stdout = cli.LineReader(self.proc.stdout)
        self.stderr = cli.LineReader(self.proc.stderr)


class ConnectProxy:
    """An HTTP proxy that opens CONNECT tunnels to 127.0.0.1 whatever the host asked
    for (so that names need no DNS), optionally behind Basic authentication."""

    def __init__(self, user=None, password=None):
        self.required = None
        if user is not None:
            token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
            self.required = "Basic " + token
        self.requests = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.running = False
        self.listener.close()

    def _accept(self):
        while self.running:
            try:
                conn, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(TIMEOUT)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                conn.close()
                return
            head += chunk
        text = head.decode("latin-1")
        self.requests.append(text)
        if self.required is not None:
            fields = dict(line.split(": ", 1) for line in text.split("\r\n")[1:] if ": " in line)
            if fields.get("Proxy-Authorization") != self.required:
                conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                             b"Proxy-Authenticate: Basic realm=\"wsw test\"\r\n"
                             b"Content-Length: 0\r\n\r\n")
                conn.close()
                return
        authority = text.split(" ")[1]
        port = int(authority.rsplit(":", 1)[1])
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        except OSError:
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
            conn.close()
            return
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        pair = [conn, upstream]
        try:
            while True:
                readable, _, _ = select.select(pair, [], [], TIMEOUT)
                if not readable:
                    break
                done = False
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        done = True
                        break
                    (upstream if s is conn else conn).sendall(data)
                if done:
                    break
        except OSError:
            pass
        finally:
            conn.close()
            upstream.close()


class AsyncioServer:
    """A python3-websockets server run on its own thread and event loop."""

    def __init__(self, start):
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(start,), daemon=True)
        self.thread.start()
        if not self.ready.wait(TIMEOUT):
            raise AssertionError("python3-websockets server did not start")

    def _run(self, start):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(start())
        self.ready.set()
        self.loop.run_forever()

    def close(self):
        def stop():
            self.server.close()
            self.loop.stop()
        self.loop.call_soon_threadsafe(stop)
        self.thread.join(TIMEOUT)


def openssl_certificate(directory, name, common_name, san=None):
    cert = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + ".key")
    command = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
               "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=" + common_name,
               "-keyout", key, "-out", cert]
    if san:
        command[-4:-4] = ["-addext", "subjectAltName=" + san]
    subprocess.run(command, check=True, capture_output=True, timeout=TIMEOUT)
    return cert, key


class WswNetTest(unittest.TestCase):
    def setUp(self):
        self.processes = []
        self.cleanups = []

    def tearDown(self):
        for p in self.processes:
            p.kill()
        for cleanup in reversed(self.cleanups):
            cleanup()

    def start(self, *args, **kwargs):
        p = Process(*args, **kwargs)
        self.processes.append(p)
        return p

    def serve(self, *args, **kwargs):
        server = self.start("serve", "--port", "0", *args, **kwargs)
        first = server.stdout.wait_for(lambda line: True)
        match = re.fullmatch(r"listening on ws://(127\.0\.0\.1|\[::\]):(\d+)/", first)
        self.assertIsNotNone(match, "first line of wsw serve: %r" % first)
        return server, int(match.group(2))

    def proxy(self, *args):
        proxy = ConnectProxy(*args)
        self.cleanups.append(proxy.close)
        return proxy

    def temporary_folder(self):
        folder = tempfile.TemporaryDirectory()
        self.cleanups.append(folder.cleanup)
        return folder.name

    def echo_once(self, *args, env=None, line="hello"):
        """wsw connect ARGS --json, one line sent once open and stdin closed once its
        echo is in (or the connection is over): (status, messages, what it printed)."""
        client = self.start("connect", *args, "--json", env=env)
        client.send(line)
        lines = []
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                next_line = client.stdout.lines.get(timeout=deadline - time.monotonic())
            except Exception:
                break
            if next_line is None:
                client.stdout.lines.put(None)
                break
            lines.append(next_line)
            if '"event":"message"' in next_line:
                break
        try:
            client.close_stdin()
        except BrokenPipeError:
            pass
        status = client.wait()
        lines += client.stdout.rest()
        events = cli.json_events(lines)
        messages = [e["data"] for e in events if e["event"] == "message"]
        errors = [e["message"] for e in events if e["event"] == "error"]
        return status, messages, "\n".join(errors + client.stderr.rest())

    # --- proxies --------------------------------------------------------------------

    def test_proxy_option_tunnels_to_a_name_only_the_proxy_knows(self):
        _, port = self.serve()
        proxy = self.proxy()
        status, messages, errors = self.echo_once("ws://ws.invalid:%d/" % port, "--proxy",
                                                  proxy.url)
        self.assertEqual((status, messages), (0, ["hello"]), errors)
        self.assertEqual(proxy.requests,
                         ["CONNECT ws.invalid:%d HTTP/1.1\r\nHost: ws.invalid:%d\r\n\r\n"
                          % (port, port)])

    def test_proxy_authentication(self):
        _, port = self.serve()
        proxy = self.proxy("al", "s3cret")
        url = "ws://ws.invalid:%d/" % port
        status, messages, errors = self.echo_once(
            url, "--proxy", "http://al:s3cret@127.0.0.1:%d" % proxy.port)
        self.assertEqual((status, messages), (0, ["hello"]), errors)
        self.assertIn("Proxy-Authorization: Basic " + base64.b64encode(b"al:s3cret").decode(),
                      proxy.requests[-1])

        status, messages, errors = self.echo_once(url, "--proxy", proxy.url)
        self.assertEqual((status, messages), (2, []))
        self.assertIn("requires authentication (407 Proxy Authentication Required", errors)
        self.assertIn('Basic realm="wsw test"', errors)
        self.assertIn("http://USER:PASSWORD@127.0.0.1:%d" % proxy.port, errors)

        status, _, errors = self.echo_once(
            url, "--proxy", "http://al:wrong@127.0.0.1:%d" % proxy.port)
        self.assertEqual(status, 2)
        self.assertIn("refused the user name and password", errors)

    def test_proxy_variables(self):
        _, port = self.serve()
        proxy = self.proxy()
        url = "ws://ws.invalid:%d/" % port
        for name in ("http_proxy", "HTTP_PROXY"):
            status, messages, errors = self.echo_once(url,
                                                      env=clean_environment(**{name: proxy.url}))
            self.assertEqual((status, messages), (0, ["hello"]), name + ": " + errors)
        self.assertEqual(len(proxy.requests), 2)

        # wss:// takes https_proxy: http_proxy alone leaves it direct (and unresolvable).
        status, _, errors = self.echo_once("wss://ws.invalid:%d/" % port,
                                           env=clean_environment(http_proxy=proxy.url))
        self.assertEqual(status, 2)
        self.assertIn("Host not found", errors)
        self.assertEqual(len(proxy.requests), 2)

        for no_proxy in ("ws.invalid", ".invalid", "*", "other.test,ws.invalid:%d" % port):
            status, _, errors = self.echo_once(
                url, env=clean_environment(http_proxy=proxy.url, NO_PROXY=no_proxy))
            self.assertEqual(status, 2, no_proxy)
            self.assertIn("Host not found: ws.invalid", errors)
        self.assertEqual(len(proxy.requests), 2)

        status, _, errors = self.echo_once(url, "--no-proxy",
                                           env=clean_environment(http_proxy=proxy.url))
        self.assertEqual(status, 2)
        self.assertEqual(len(proxy.requests), 2)

        # Loopback is reached directly.
        status, messages, errors = self.echo_once("ws://127.0.0.1:%d/" % port,
                                                  env=clean_environment(http_proxy=proxy.url))
        self.assertEqual((status, messages), (0, ["hello"]), errors)
        self.assertEqual(len(proxy.requests), 2)

    def test_bad_proxy_is_a_usage_error(self):
        client = self.start("connect", "ws://127.0.0.1:1/", "--proxy", "socks5://127.0.0.1:1080",
                            stdin=subprocess.DEVNULL)
        self.assertEqual(client.wait(), 1)
        self.assertIn("only HTTP proxies", "\n".join(client.stderr.rest()))

    # --- Unix domain sockets --------------------------------------------------------

    def test_unix_socket_wsw_to_wsw(self):
        path = os.path.join(self.temporary_folder(), "ws.sock")
        server = self.start("serve", "--unix", path)
        self.assertEqual(server.stdout.wait_for(lambda line: True),
                         "listening on ws+unix://" + path)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        status, messages, errors = self.echo_once("ws+unix://" + path)
        self.assertEqual((status, messages), (0, ["hello"]), errors)
        status, messages, errors = self.echo_once("ws://app.example/x", "--unix", path)
        self.assertEqual((status, messages), (0, ["hello"]), errors)
        server.proc.terminate()
        self.assertEqual(server.wait(), 0)
        self.assertFalse(os.path.exists(path), "the socket file is removed at exit")

    def test_unix_serve_replaces_a_stale_socket_and_sets_the_mode(self):
        path = os.path.join(self.temporary_folder(), "ws.sock")
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(path)
        stale.close()  # the file stays, nobody listens
        server = self.start("serve", "--unix", path, "--unix-mode", "660")
        server.stdout.wait_for(lambda line: line.startswith("listening on"))
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o660)
        second = self.start("serve", "--unix", path)
        self.assertEqual(second.wait(), 2)
        self.assertIn("Another server is listening", "\n".join(second.stderr.rest()))
        status, messages, errors = self.echo_once("ws+unix://" + path)
        self.assertEqual((status, messages), (0, ["hello"]), errors)

    def test_unix_socket_with_python_websockets(self):
        import websockets
        path = os.path.join(self.temporary_folder(), "py.sock")
        paths = []

        async def echo(websocket, request_path):
            paths.append(request_path)
            async for message in websocket:
                await websocket.send(message)

        server = AsyncioServer(lambda: websockets.unix_serve(echo, path))
        self.cleanups.append(server.close)
        status, messages, errors = self.echo_once("ws+unix://%s:/chat?room=1" % path)
        self.assertEqual((status, messages), (0, ["hello"]), errors)
        self.assertEqual(paths, ["/chat?room=1"])

        # And python3-websockets as the client of wsw serve --unix.
        ours = os.path.join(self.temporary_folder(), "wsw.sock")
        wsw = self.start("serve", "--unix", ours)
        wsw.stdout.wait_for(lambda line: line.startswith("listening on"))

        async def client():
            async with websockets.unix_connect(ours, "ws://localhost/") as ws:
                await ws.send("from python")
                return await asyncio.wait_for(ws.recv(), TIMEOUT)

        self.assertEqual(asyncio.run(client()), "from python")

    # --- timeouts, dead peers, reconnecting -----------------------------------------

    def test_connect_timeout(self):
        # A listener whose accept queue is full: further SYNs are dropped.
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        self.cleanups.append(listener.close)
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(3):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            fillers.append(s)
        self.cleanups.append(lambda: [s.close() for s in fillers])
        time.sleep(0.1)
        started = time.monotonic()
        client = self.start("connect", "ws://127.0.0.1:%d/" % port, "--connect-timeout", "400",
                            stdin=subprocess.DEVNULL)
        self.assertEqual(client.wait(), 2)
        elapsed = time.monotonic() - started
        self.assertTrue(0.35 <= elapsed < 5, elapsed)
        self.assertIn("within 400 ms", "\n".join(client.stderr.rest()))

    def test_handshake_timeout_against_a_silent_listener(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        self.cleanups.append(listener.close)
        started = time.monotonic()
        client = self.start("connect", "ws://127.0.0.1:%d/" % listener.getsockname()[1],
                            "--handshake-timeout", "400", stdin=subprocess.DEVNULL)
        self.assertEqual(client.wait(), 2)
        elapsed = time.monotonic() - started
        self.assertTrue(0.35 <= elapsed < 5, elapsed)
        self.assertIn("No answer to the opening handshake", "\n".join(client.stderr.rest()))

    def test_dead_peer_is_detected(self):
        received = []

        def silent(conn):
            # Reads what comes (pings) and never answers.
            conn.settimeout(5)
            try:
                while True:
                    data = conn.recv(4096)
                    if not data:
                        return
                    received.append(data)
            except OSError:
                pass

        raw = cli.RawServer(silent)
        client = self.start("connect", "ws://127.0.0.1:%d/" % raw.port, "--ping-interval", "200")
        client.stderr.wait_for(lambda l: l == "connected")
        started = time.monotonic()
        self.assertEqual(client.wait(), 3)
        elapsed = time.monotonic() - started
        self.assertTrue(0.35 <= elapsed < 2, elapsed)
        self.assertIn("taken for dead", "\n".join(client.stderr.rest()))
        self.assertTrue(received and received[0][0] == 0x89, "a ping was sent: %r" % received)

    def test_ping_interval_keeps_a_live_server(self):
        _, port = self.serve("--keepalive", "0")
        client = self.start("connect", "ws://127.0.0.1:%d/" % port, "--json", "--ping-interval",
                            "100")
        client.stdout.wait_for(lambda l: json.loads(l)["event"] == "open")
        for _ in range(3):
            client.stdout.wait_for(lambda l: '"pong"' in l)
        client.close_stdin()
        self.assertEqual(client.wait(), 0)

    def test_reconnect(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        listener.settimeout(TIMEOUT)
        self.cleanups.append(listener.close)
        port = listener.getsockname()[1]

        def handshake(conn):
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            key = re.search(rb"(?i)sec-websocket-key:\s*(\S+)", request).group(1)
            accept = base64.b64encode(__import__("hashlib").sha1(
                key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")

        def serve():
            first, _ = listener.accept()
            handshake(first)
            first.close()  # dropped without a close frame
            second, _ = listener.accept()
            second.settimeout(TIMEOUT)
            handshake(second)
            second.sendall(b"\x81\x06second")
            # Answer the client's close, then close TCP.
            data = b""
            while len(data) < 2 or data[0] != 0x88:
                chunk = second.recv(4096)
                if not chunk:
                    break
                data += chunk
            second.sendall(b"\x88\x02\x03\xe8")
            second.close()

        threading.Thread(target=serve, daemon=True).start()
        client = self.start("connect", "ws://127.0.0.1:%d/" % port, "--json", "--reconnect",
                            "--reconnect-delay", "100")
        client.stderr.wait_for(lambda l: l == "reconnecting in 100 ms")
        message = json.loads(client.stdout.wait_for(lambda l: '"message"' in l))
        self.assertEqual(message["data"], "second")
        client.close_stdin()
        self.assertEqual(client.wait(), 0)

    def test_reconnect_after_a_refused_connection_until_end_of_input(self):
        port = cli.free_port()
        client = self.start("connect", "ws://127.0.0.1:%d/" % port, "--reconnect",
                            "--reconnect-delay", "50")
        for _ in range(3):
            client.stderr.wait_for(lambda l: l == "reconnecting in 50 ms")
        client.close_stdin()
        self.assertEqual(client.wait(), 2)

    # --- credentials ----------------------------------------------------------------

    def test_client_certificate(self):
        import websockets
        folder = self.temporary_folder()
        server_cert, server_key = openssl_certificate(folder, "server", "127.0.0.1",
                                                      "IP:127.0.0.1")
        client_cert, client_key = openssl_certificate(folder, "client", "wsw test client")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(server_cert, server_key)
        context.load_verify_locations(client_cert)
        context.verify_mode = ssl.CERT_REQUIRED
        peers = []

        async def echo(websocket, path):
            peers.append(websocket.transport.get_extra_info("peercert"))
            async for message in websocket:
                await websocket.send(message)

        holder = {}

        async def start():
            server = await websockets.serve(echo, "127.0.0.1", 0, ssl=context)
            holder["port"] = server.sockets[0].getsockname()[1]
            return server

        server = AsyncioServer(start)
        self.cleanups.append(server.close)
        url = "wss://127.0.0.1:%d/" % holder["port"]
        status, messages, errors = self.echo_once(url, "--ca", server_cert, "--cert",
                                                  client_cert, "--key", client_key)
        self.assertEqual((status, messages), (0, ["hello"]), errors)
        subject = dict(field[0] for field in peers[0]["subject"])
        self.assertEqual(subject["commonName"], "wsw test client")

        status, _, errors = self.echo_once(url, "--ca", server_cert)
        self.assertEqual(status, 2, errors)

    def test_url_credentials_are_sent_as_basic(self):
        import websockets
        seen = []

        async def echo(websocket, path):
            seen.append(websocket.request_headers.get("Authorization"))
            async for message in websocket:
                await websocket.send(message)

        holder = {}

        async def start():
            server = await websockets.serve(echo, "127.0.0.1", 0)
            holder["port"] = server.sockets[0].getsockname()[1]
            return server

        server = AsyncioServer(start)
        self.cleanups.append(server.close)
        status, messages, errors = self.echo_once(
            "ws://al%%40corp:p%%3Ass@127.0.0.1:%d/" % holder["port"])
        self.assertEqual((status, messages), (0, ["hello"]), errors)
        self.assertEqual(seen, ["Basic " + base64.b64encode(b"al@corp:p:ss").decode()])

    def test_missing_ca_file_is_reported_before_connecting(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        listener.settimeout(0.5)
        self.cleanups.append(listener.close)
        client = self.start("connect", "wss://127.0.0.1:%d/" % listener.getsockname()[1],
                            "--ca", "/nonexistent/missing.pem", stdin=subprocess.DEVNULL)
        self.assertEqual(client.wait(), 1)
        self.assertIn("--ca: cannot read /nonexistent/missing.pem",
                      "\n".join(client.stderr.rest()))
        with self.assertRaises(socket.timeout):
            listener.accept()

    # --- the server's reach -----------------------------------------------------------

    def test_bind_any_ipv6_accepts_ipv4(self):
        server, port = self.serve("--bind", "::")
        status, messages, errors = self.echo_once("ws://127.0.0.1:%d/" % port)
        self.assertEqual((status, messages), (0, ["hello"]), errors)
        status, messages, errors = self.echo_once("ws://[::1]:%d/" % port)
        self.assertEqual((status, messages), (0, ["hello"]), errors)

    def test_thousand_and_first_client_is_served(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < 2200:
            self.skipTest("the hard descriptor limit (%d) is too low" % hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2200), hard))

        def low_soft_limit():
            # As many shells start it: a soft limit of 1024 under a higher hard one.
            resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))

        server, port = self.serve("--quiet", preexec_fn=low_soft_limit)
        request = ("GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n" % port).encode()
        idle = []
        self.cleanups.append(lambda: [s.close() for s in idle])
        for _ in range(1000):
            s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            s.sendall(request)
            idle.append(s)
        for s in idle:
            answer = b""
            while b"\r\n\r\n" not in answer:
                answer += s.recv(4096)
            self.assertTrue(answer.startswith(b"HTTP/1.1 101 "), answer[:80])
        status, messages, errors = self.echo_once("ws://127.0.0.1:%d/" % port)
        self.assertEqual((status, messages), (0, ["hello"]), errors)

        # The server waited on epoll(7), not on poll(2) over the 1,000 sockets.
        self.assertIn(EVENT_POLL, descriptor_kinds(server.proc.pid))

    def test_event_loop_on_epoll_unless_told_otherwise(self):
        server, port = self.serve("--quiet")
        self.assertIn(EVENT_POLL, descriptor_kinds(server.proc.pid))
        # WSW_EVENT_DISPATCHER=qt: Qt's own poll(2) dispatcher, which works as well.
        qt, qt_port = self.serve("--quiet", env=clean_environment(WSW_EVENT_DISPATCHER="qt"))
        self.assertNotIn(EVENT_POLL, descriptor_kinds(qt.proc.pid))
        for url in ("ws://127.0.0.1:%d/" % port, "ws://127.0.0.1:%d/" % qt_port):
            status, messages, errors = self.echo_once(url)
            self.assertEqual((status, messages), (0, ["hello"]), errors)


if __name__ == "__main__":
    if len(sys.argv) < 2 or not os.access(sys.argv[1], os.X_OK):
        sys.exit("usage: test_wsw_net.py PATH/TO/wsw")
    cli.WSW = sys.argv.pop(1)
    unittest.main(verbosity=2)

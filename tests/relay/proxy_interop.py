#!/usr/bin/python3
"""`wsw relay --proxy` with peers we did not write, on 127.0.0.1.

A python3-websockets client asks the proxy for a CONNECT tunnel (as browsers do for
ws:// and wss://) and talks through it: to a Node ws server over ws://, and to our
`wsw serve --tls` over wss:// trusting only the certificate authority that
`wsw relay --export-ca` exported (Python's OpenSSL checks the on-the-fly certificate
and its subjectAltName). Plus the CA commands and the proxy's usage errors.
"""
import asyncio
import json
import os
import socket
import ssl
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from interop_support import (  # noqa: E402
    Suite, binary_payload, check, check_same, import_websockets, start_process, stop_process,
    text_payload, wsw_binary)

websockets = import_websockets()
WSW = wsw_binary()
NODE = os.environ.get("WSW_NODE", "node")
HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.join(HERE, "node_peer.cjs")

suite = Suite("relay_proxy", case_timeout=60)
WORK = tempfile.TemporaryDirectory(prefix="wsw-proxy-interop-")
CA_DIR = os.path.join(WORK.name, "ca")


class Proxy:
    """`wsw relay --proxy 0 --ca-dir CA_DIR ...`; .port once listening."""

    def __init__(self, *options):
        self.args = [WSW, "relay", "--proxy", "0", "--ca-dir", CA_DIR, *options]

    async def __aenter__(self):
        self.proc = await start_process(self.args)
        line = (await asyncio.wait_for(self.proc.stdout.readline(), 10)).decode()
        check(line.startswith("proxy listening on http://127.0.0.1:"), f"proxy printed {line!r}")
        self.port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        return self

    async def __aexit__(self, *exc):
        await stop_process(self.proc)


class Server:
    """A peer that prints its listening port first: Node's ws (node_peer.cjs) or wsw serve."""

    def __init__(self, args, parse_port):
        self.args = args
        self.parse_port = parse_port

    async def __aenter__(self):
        self.proc = await start_process(self.args)
        line = (await asyncio.wait_for(self.proc.stdout.readline(), 10)).decode()
        self.port = self.parse_port(line)
        check(self.port, f"{self.args[0]} printed {line!r}")
        return self

    async def __aexit__(self, *exc):
        await stop_process(self.proc)


def node_server(deflate):
    return Server([NODE, PEER, "server"] + (["deflate"] if deflate else []),
                  lambda line: json.loads(line).get("port") if line.startswith("{") else None)


def wsw_tls_server():
    def port(line):
        prefix = "listening on wss://127.0.0.1:"
        return int(line[len(prefix):].split("/")[0]) if line.startswith(prefix) else None
    return Server([WSW, "serve", "--port", "0", "--mode", "echo", "--tls", "--cert", CERT,
                   "--key", KEY], port)


def tunnel(proxy_port, target_port):
    """A socket to the proxy with a CONNECT tunnel to 127.0.0.1:target_port open in it."""
    sock = socket.create_connection(("127.0.0.1", proxy_port), timeout=5)
    authority = f"127.0.0.1:{target_port}"
    sock.sendall(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        check(chunk, f"the proxy closed during CONNECT: {head!r}")
        head += chunk
    check(head.startswith(b"HTTP/1.1 200 "), f"CONNECT answered {head!r}")
    sock.setblocking(False)
    return sock


async def echo_sizes(ws, sizes):
    for size in sizes:
        for message in (text_payload(size), binary_payload(size)):
            await ws.send(message)
            check_same(await asyncio.wait_for(ws.recv(), 20), message, f"echo of {size} bytes")


# The upstream certificate that the relay trusts with --ca (the client never sees it).
CERT = os.path.join(WORK.name, "upstream.pem")
KEY = os.path.join(WORK.name, "upstream.key")
made = subprocess.run(
    ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
     "-keyout", KEY, "-out", CERT, "-days", "2", "-subj", "/CN=upstream", "-addext",
     "subjectAltName=IP:127.0.0.1"], capture_output=True, timeout=30)
if made.returncode != 0:
    print(f"FAIL: openssl req exited {made.returncode}: {made.stderr!r}")
    sys.exit(1)


@suite.case
async def export_ca_and_ca_info():
    exported = os.path.join(WORK.name, "exported.pem")
    first = subprocess.run(["timeout", "30", WSW, "relay", "--export-ca", exported,
                            "--ca-dir", CA_DIR], capture_output=True, text=True)
    check(first.returncode == 0, f"--export-ca exited {first.returncode}: {first.stderr}")
    with open(exported, "rb") as f, open(os.path.join(CA_DIR, "ca.crt"), "rb") as g:
        pem = f.read()
        check(pem == g.read(), "the exported certificate is not the authority's")
    check(b"PRIVATE KEY" not in pem, "the exported file holds a key")
    mode = stat.S_IMODE(os.stat(os.path.join(CA_DIR, "ca.key")).st_mode)
    check(mode == 0o600, f"ca.key has mode {oct(mode)}")
    for needle in ("sha256 ", "spki sha256 base64 ", "Manage certificates", "Firefox"):
        check(needle in first.stdout, f"--export-ca did not print {needle!r}: {first.stdout}")
    again = subprocess.run(["timeout", "30", WSW, "relay", "--ca-info", "--ca-dir", CA_DIR],
                           capture_output=True, text=True)
    fingerprint = [line for line in first.stdout.splitlines() if line.startswith("sha256 ")]
    check(again.returncode == 0 and fingerprint and fingerprint[0] in again.stdout.splitlines(),
          f"--ca-info shows another authority: {again.stdout} (first {fingerprint})")


@suite.case
async def usage_errors():
    for args in (["--proxy", "0", "--to", "ws://127.0.0.1:1/"], ["--listen", "0", "--to",
                 "ws://127.0.0.1:1/", "--blind", "h"], ["--export-ca", "x.pem", "--proxy", "0"],
                 ["--proxy", "nowhere"]):
        done = subprocess.run(["timeout", "30", WSW, "relay", *args], capture_output=True,
                              text=True)
        check(done.returncode == 1, f"wsw relay {args} exited {done.returncode}: {done.stderr}")


@suite.case
async def python_client_tunnel_to_node_with_deflate():
    async with node_server(deflate=True) as node, Proxy() as proxy:
        sock = tunnel(proxy.port, node.port)
        async with websockets.connect(
                f"ws://127.0.0.1:{node.port}/room?id=7", sock=sock, max_size=None,
                compression="deflate", extra_headers={"Cookie": "session=abc"}) as ws:
            check("permessage-deflate" in ws.response_headers.get("Sec-WebSocket-Extensions", ""),
                  "the client leg did not take permessage-deflate")
            check_same(ws.response_headers.get("Set-Cookie"), "relayed=yes", "Set-Cookie back")
            await echo_sizes(ws, [0, 125, 126, 65536, 1024 * 1024])


@suite.case
async def python_wss_client_trusting_the_exported_ca():
    exported = os.path.join(WORK.name, "trusted.pem")
    done = subprocess.run(["timeout", "30", WSW, "relay", "--export-ca", exported,
                           "--ca-dir", CA_DIR], capture_output=True, text=True)
    check(done.returncode == 0, f"--export-ca exited {done.returncode}: {done.stderr}")
    context = ssl.create_default_context(cafile=exported)
    async with wsw_tls_server() as server, Proxy("--ca", CERT) as proxy:
        sock = tunnel(proxy.port, server.port)
        async with websockets.connect(f"wss://127.0.0.1:{server.port}/", sock=sock, ssl=context,
                                      server_hostname="127.0.0.1", max_size=None) as ws:
            peer = ws.transport.get_extra_info("ssl_object").getpeercert()
            issuer = dict(item[0] for item in peer["issuer"])
            check_same(issuer.get("commonName"), "WebSocket Workbench local CA", "issuer")
            check_same(peer.get("subjectAltName"), (("IP Address", "127.0.0.1"),), "SAN")
            await echo_sizes(ws, [0, 126, 65536, 16 * 1024 * 1024])


@suite.case
async def python_wss_client_refuses_without_the_ca():
    # The same tunnel without trusting the authority: the certificate is refused, so
    # the case above passes because of the authority.
    async with wsw_tls_server() as server, Proxy("--ca", CERT) as proxy:
        sock = tunnel(proxy.port, server.port)
        try:
            async with websockets.connect(f"wss://127.0.0.1:{server.port}/", sock=sock,
                                          ssl=ssl.create_default_context(),
                                          server_hostname="127.0.0.1"):
                check(False, "connected without trusting the proxy's authority")
        except ssl.SSLCertVerificationError:
            pass


try:
    suite.run()
finally:
    WORK.cleanup()

"""A small WebSocket echo server that breaks chosen rules on purpose, for the probe's
tests: the probe must flag it FAILED exactly on the cases that test those rules.

    broken_server.py PORT_FILE [--accept-rsv] [--no-utf8-check] [--never-close]

Without flags it follows RFC 6455 as far as the probe's cases 1-7 look: masks,
opcodes, control frames, fragmentation, close codes, fail-fast UTF-8 and the close
handshake (it closes TCP first). It writes the port it listens on to PORT_FILE.
  --accept-rsv     RSV bits are ignored instead of failing the connection (§5.2)
  --no-utf8-check  text messages and close reasons are not checked for UTF-8 (§8.1)
  --never-close    after the close handshake the TCP connection is left open (§7.1.1)
"""

import asyncio
import base64
import codecs
import hashlib
import struct
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
ACCEPT_RSV = "--accept-rsv" in sys.argv
NO_UTF8 = "--no-utf8-check" in sys.argv
NEVER_CLOSE = "--never-close" in sys.argv


def frame(opcode, payload=b""):
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


def valid_close_code(code):
    return (1000 <= code <= 1011 and code not in (1004, 1005, 1006)) or 3000 <= code <= 4999


class Failure(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


async def handle(reader, writer):
    try:
        request = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        writer.close()
        return
    key = b""
    for line in request.split(b"\r\n"):
        if line.lower().startswith(b"sec-websocket-key:"):
            key = line.split(b":", 1)[1].strip()
    if not key:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()
        return
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    message_type = None
    message = bytearray()
    decoder = None
    close_code = None
    try:
        while True:
            b0, b1 = await reader.readexactly(2)
            fin, rsv, opcode = b0 & 0x80, b0 & 0x70, b0 & 0x0F
            masked, n = b1 & 0x80, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", await reader.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await reader.readexactly(8))[0]
            if rsv and not ACCEPT_RSV:
                raise Failure(1002)
            if not masked:
                raise Failure(1002)
            if opcode in (3, 4, 5, 6, 7) or opcode > 10:
                raise Failure(1002)
            if opcode >= 8 and (not fin or n > 125):
                raise Failure(1002)
            mask = await reader.readexactly(4)
            # The payload arrives as it comes, so that fail-fast UTF-8 can act early.
            payload = bytearray()
            while len(payload) < n:
                chunk = await reader.read(min(65536, n - len(payload)))
                if not chunk:
                    raise asyncio.IncompleteReadError(bytes(payload), n)
                start = len(payload)
                payload += bytes(c ^ mask[(start + i) % 4] for i, c in enumerate(chunk))
                if opcode in (0, 1) and decoder is not None and not NO_UTF8 and \
                        (opcode == 1 or message_type == 1):
                    try:
                        decoder.decode(payload[start:], False)
                    except UnicodeDecodeError:
                        raise Failure(1007)
            if opcode == 8:
                if len(payload) == 1:
                    raise Failure(1002)
                code = struct.unpack("!H", payload[:2])[0] if payload else None
                if code is not None and not valid_close_code(code):
                    raise Failure(1002)
                if not NO_UTF8:
                    try:
                        payload[2:].decode("utf-8")
                    except UnicodeDecodeError:
                        raise Failure(1007)
                close_code = code
                writer.write(frame(8, struct.pack("!H", code) if code is not None else b""))
                await writer.drain()
                break
            if opcode == 9:
                writer.write(frame(10, bytes(payload)))
                continue
            if opcode == 10:
                continue
            if opcode == 0:
                if message_type is None:
                    raise Failure(1002)
            else:
                if message_type is not None:
                    raise Failure(1002)
                message_type = opcode
                message = bytearray()
                decoder = codecs.getincrementaldecoder("utf-8")()
                if opcode == 1 and not NO_UTF8:
                    try:
                        decoder.decode(payload, False)
                    except UnicodeDecodeError:
                        raise Failure(1007)
            message += payload
            if fin:
                if message_type == 1 and not NO_UTF8:
                    try:
                        decoder.decode(b"", True)
                    except UnicodeDecodeError:
                        raise Failure(1007)
                writer.write(frame(message_type, bytes(message)))
                message_type = None
                decoder = None
    except Failure as failure:
        writer.write(frame(8, struct.pack("!H", failure.code)))
        close_code = failure.code
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
        return
    try:
        await writer.drain()
    except ConnectionError:
        return
    if NEVER_CLOSE:
        # Read (and ignore) until the client gives up and closes.
        try:
            while await reader.read(65536):
                pass
        except ConnectionError:
            pass
    writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, limit=1 << 20)
    port = server.sockets[0].getsockname()[1]
    with open(sys.argv[1], "w") as f:
        f.write(str(port))
    async with server:
        await server.serve_forever()


asyncio.run(main())

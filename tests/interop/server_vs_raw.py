"""Our server (`wsw serve`) with a raw-socket client that writes exact frame bytes.

A real library will not split a character across fragments or break the protocol on
purpose, so after an ordinary opening handshake these cases write the frames by hand
and check the bytes that come back (RFC 6455 §5, §7.4.1, §8.1).
"""

import asyncio
import os
import zlib

from interop_support import (OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT,
                             Suite, WswServer, check, close_payload, close_writer, encode_frame,
                             read_frame, read_http_head, read_message, read_until_close,
                             raw_client_handshake)

suite = Suite("server_vs_raw", case_timeout=30)


def mask():
    return os.urandom(4)


async def expect_failure(server, frames, code, what):
    """Sends frames after the handshake; the server must fail the connection with `code`."""
    reader, writer, _ = await raw_client_handshake(server.port)
    try:
        writer.write(b"".join(frames))
        await writer.drain()
        received, close = await read_until_close(reader)
        check(close is not None,
              f"{what}: no close frame before EOF (received {received}), expected {code}")
        check(not close.masked, f"{what}: the server's close frame is masked: {close!r}")
        check(close.close_code == code,
              f"{what}: close code {close.close_code} ({close!r}), expected {code}")
        # Answer the close; the server then closes the TCP connection (RFC 6455 §7.1.1).
        await expect_tcp_close(reader, writer, what)
    finally:
        close_writer(writer)


async def expect_tcp_close(reader, writer, what, answer=True):
    try:
        if answer:
            writer.write(encode_frame(OP_CLOSE, close_payload(1000), mask=mask()))
            await writer.drain()
        rest = await asyncio.wait_for(reader.read(), 10)
    except ConnectionError:
        return  # the server closed first; the reset is the end we wanted
    check(rest == b"", f"{what}: bytes after the close frame: {rest[:40]!r}")


async def assembled(reader, **options):
    opcode, parts = await read_message(reader, **options)
    check(all(not p.masked for p in parts), "a server frame is masked (RFC 6455 §5.1)")
    check(all(p.opcode == OP_CONTINUATION for p in parts[1:]),
          f"bad opcodes in a fragmented echo: {parts}")
    return opcode, b"".join(p.payload for p in parts)


@suite.case
async def utf8_characters_split_across_fragments():
    message = "a€😀b".encode()  # 61 e2 82 ac f0 9f 98 80 62
    pieces = [message[:2], message[2:3], message[3:5], message[5:6], b"", message[6:]]
    frames = [encode_frame(OP_TEXT if i == 0 else OP_CONTINUATION, piece,
                           fin=i == len(pieces) - 1, mask=mask()) for i, piece in enumerate(pieces)]
    async with WswServer("--mode", "echo") as server:
        reader, writer, _ = await raw_client_handshake(server.port)
        try:
            # Also one byte per write: the server must not depend on how TCP splits them.
            for byte in b"".join(frames):
                writer.write(bytes([byte]))
                await writer.drain()
            opcode, payload = await assembled(reader)
            check(opcode == OP_TEXT and payload == message,
                  f"echo opcode {opcode} payload {payload!r}, expected text {message!r}")
        finally:
            close_writer(writer)


@suite.case
async def ping_between_fragments_is_answered_first():
    async with WswServer("--mode", "echo") as server:
        reader, writer, _ = await raw_client_handshake(server.port)
        try:
            writer.write(encode_frame(OP_BINARY, b"\x01\x02", fin=False, mask=mask())
                         + encode_frame(OP_PING, b"mid", mask=mask())
                         + encode_frame(OP_CONTINUATION, b"\x03", mask=mask()))
            await writer.drain()
            pong = await asyncio.wait_for(read_frame(reader), 10)
            check(pong.opcode == OP_PONG and pong.payload == b"mid",
                  f"expected pong 'mid' first (RFC 6455 §5.5.3), got {pong!r}")
            opcode, payload = await assembled(reader)
            check(opcode == OP_BINARY and payload == b"\x01\x02\x03",
                  f"echo opcode {opcode} payload {payload!r}")
        finally:
            close_writer(writer)


@suite.case
async def clean_close_handshake():
    async with WswServer("--mode", "echo") as server:
        reader, writer, _ = await raw_client_handshake(server.port)
        try:
            writer.write(encode_frame(OP_CLOSE, close_payload(1000, b"done"), mask=mask()))
            await writer.drain()
            received, close = await read_until_close(reader)
            check(close is not None and close.close_code == 1000,
                  f"close answered with {close!r} (frames {received}), expected 1000")
            await expect_tcp_close(reader, writer, "clean close", answer=False)
        finally:
            close_writer(writer)


@suite.case
async def unmasked_client_frame_gets_1002():
    async with WswServer() as server:
        await expect_failure(server, [encode_frame(OP_TEXT, b"unmasked")], 1002,
                             "unmasked text frame from a client (RFC 6455 §5.1)")


@suite.case
async def reserved_opcodes_get_1002():
    async with WswServer() as server:
        for opcode in (0x3, 0x7, 0xB, 0xF):
            await expect_failure(server, [encode_frame(opcode, b"x", mask=mask())], 1002,
                                 f"reserved opcode 0x{opcode:x} (RFC 6455 §5.2)")


@suite.case
async def reserved_bit_without_extension_gets_1002():
    async with WswServer() as server:
        await expect_failure(server, [encode_frame(OP_TEXT, b"x", rsv=0x4, mask=mask())], 1002,
                             "RSV1 set without a negotiated extension (RFC 6455 §5.2)")


@suite.case
async def invalid_utf8_gets_1007():
    async with WswServer() as server:
        await expect_failure(server, [encode_frame(OP_TEXT, b"ok\xff\xfe", mask=mask())], 1007,
                             "invalid UTF-8 in a text frame (RFC 6455 §8.1)")
        await expect_failure(server, [encode_frame(OP_TEXT, b"\xe2\x82", fin=False, mask=mask()),
                                      encode_frame(OP_CONTINUATION, b"A", mask=mask())], 1007,
                             "a character broken across fragments")
        await expect_failure(server, [encode_frame(OP_TEXT, b"abc\xe2\x82", mask=mask())], 1007,
                             "a text message ending inside a character")


@suite.case
async def bad_control_frames_get_1002():
    async with WswServer() as server:
        await expect_failure(server, [encode_frame(OP_CLOSE, b"\x03", mask=mask())], 1002,
                             "a 1-byte close payload (RFC 6455 §5.5.1)")
        await expect_failure(server, [encode_frame(OP_PING, b"p" * 126, mask=mask())], 1002,
                             "a 126-byte ping (RFC 6455 §5.5)")
        await expect_failure(server, [encode_frame(OP_PING, b"p", fin=False, mask=mask())], 1002,
                             "a fragmented ping (RFC 6455 §5.5)")
        await expect_failure(server, [encode_frame(OP_CLOSE, close_payload(1005), mask=mask())],
                             1002, "close code 1005 on the wire (RFC 6455 §7.4.1)")


@suite.case
async def bad_fragmentation_gets_1002():
    async with WswServer() as server:
        await expect_failure(server, [encode_frame(OP_CONTINUATION, b"x", mask=mask())], 1002,
                             "a continuation with no message in progress (RFC 6455 §5.4)")
        await expect_failure(server, [encode_frame(OP_TEXT, b"a", fin=False, mask=mask()),
                                      encode_frame(OP_TEXT, b"b", mask=mask())], 1002,
                             "a new text frame inside a fragmented message (RFC 6455 §5.4)")


@suite.case
async def keepalive_ping_from_server():
    async with WswServer("--mode", "echo", "--keepalive", "300") as server:
        reader, writer, _ = await raw_client_handshake(server.port)
        try:
            ping = await asyncio.wait_for(read_frame(reader), 5)
            check(ping.opcode == OP_PING and not ping.masked,
                  f"expected the server's keepalive ping, got {ping!r}")
            writer.write(encode_frame(OP_PONG, ping.payload, mask=mask())
                         + encode_frame(OP_TEXT, b"after pong", mask=mask()))
            await writer.drain()
            opcode, payload = await assembled(reader, on_control=answer_pings(writer))
            check(payload == b"after pong", f"echo after the pong: {payload!r}")
        finally:
            close_writer(writer)


def answer_pings(writer):
    async def on_control(frame):
        if frame.opcode == OP_PING:
            writer.write(encode_frame(OP_PONG, frame.payload, mask=mask()))
            await writer.drain()
    return on_control


@suite.case
async def deflate_offer_is_declined_or_honoured():
    # Chromium always offers permessage-deflate (RFC 7692); a server without it must
    # leave the header out of its 101, and everything must still work.
    async with WswServer("--mode", "echo") as server:
        reader, writer, headers = await raw_client_handshake(
            server.port, extra_headers="Sec-WebSocket-Extensions: permessage-deflate; "
            "client_max_window_bits\r\n")
        try:
            accepted = headers.get("sec-websocket-extensions", "")
            check(accepted == "" or accepted.startswith("permessage-deflate"),
                  f"server accepted an extension that was not offered: {accepted!r}")
            writer.write(encode_frame(OP_TEXT, "plain ✓".encode(), mask=mask()))
            await writer.drain()
            opcode, parts = await read_message(reader)
            payload = b"".join(p.payload for p in parts)
            if parts[0].rsv & 0x4:
                check(accepted != "", "RSV1 on a frame though deflate was not agreed")
                payload = zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")
            check(payload == "plain ✓".encode(), f"echo {payload!r}")
        finally:
            close_writer(writer)


@suite.case
async def http_get_serves_test_page():
    async with WswServer() as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            writer.write(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                         "Connection: close\r\n\r\n".encode())
            await writer.drain()
            status, headers = await read_http_head(reader)
            check(status.startswith("HTTP/1.1 200"), f"GET / answered {status!r}")
            check("text/html" in headers.get("content-type", ""),
                  f"GET / content type {headers.get('content-type')!r}")
            length = int(headers.get("content-length", "-1"))
            body = await asyncio.wait_for(reader.readexactly(length) if length >= 0
                                          else reader.read(), 10)
            check(b"WebSocket" in body, f"test page without the word WebSocket: {body[:80]!r}")
        finally:
            close_writer(writer)


@suite.case
async def unsupported_version_is_refused():
    async with WswServer() as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            writer.write(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 8\r\n\r\n".encode())
            await writer.drain()
            status, headers = await read_http_head(reader)
            # RFC 6455 §4.4: refuse, naming the versions understood.
            check(status.split(" ")[1].startswith("4"), f"version 8 answered {status!r}")
            check("13" in headers.get("sec-websocket-version", ""),
                  f"no Sec-WebSocket-Version: 13 in the refusal: {headers}")
        finally:
            close_writer(writer)


if __name__ == "__main__":
    suite.run()

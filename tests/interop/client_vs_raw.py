"""Our client (`wsw connect --echo --json`) with a raw-socket server writing exact bytes.

After an ordinary 101 the server splits characters across fragments, interleaves a
ping, drops TCP, or breaks the protocol on purpose; the cases check the frames our
client sends back on the socket, its JSON events and its exit status.
"""

import asyncio
import os
import socket

from interop_support import (OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT,
                             RawServer, Suite, WswClient, check, close_payload, encode_frame,
                             read_frame, read_http_head, read_message, read_until_close,
                             raw_server_handshake)

suite = Suite("client_vs_raw", case_timeout=30)


async def assembled(reader, **options):
    opcode, parts = await read_message(reader, **options)
    check(all(p.masked for p in parts), f"a client frame is not masked (RFC 6455 §5.1): {parts}")
    return opcode, b"".join(p.payload for p in parts)


async def finish_close(reader, writer, code=1000):
    """Starts the closing handshake and expects our client to answer it."""
    writer.write(encode_frame(OP_CLOSE, close_payload(code)))
    await writer.drain()
    frames, close = await read_until_close(reader)
    check(close is not None and close.masked and close.close_code == code,
          f"client answered our close {code} with {close!r} (frames {frames})")


@suite.case
async def utf8_characters_split_across_fragments():
    message = "a€😀b".encode()  # 61 e2 82 ac f0 9f 98 80 62
    pieces = [message[:2], message[2:3], message[3:5], message[5:6], b"", message[6:]]

    async def behaviour(reader, writer):
        await raw_server_handshake(reader, writer)
        for i, piece in enumerate(pieces):
            writer.write(encode_frame(OP_TEXT if i == 0 else OP_CONTINUATION, piece,
                                      fin=i == len(pieces) - 1))
            await writer.drain()
            await asyncio.sleep(0.02)  # separate TCP segments, usually
        opcode, payload = await assembled(reader)
        check(opcode == OP_TEXT and payload == message,
              f"echo opcode {opcode} payload {payload!r}, expected text {message!r}")
        await finish_close(reader, writer)

    async with RawServer(behaviour) as server, \
            WswClient(server.url, "--show-frames") as client:
        await asyncio.wait_for(server.done, 20)
        await client.expect_exit(0)
        message_event = await client.wait_event("message")
        check(message_event.get("data") == "a€😀b" and message_event.get("length") == 9,
              f"message event {message_event}")
        incoming = [(f.get("fin"), f.get("masked"), f.get("length"))
                    for f in client.find("frame", direction="in")]
        expected = [(i == len(pieces) - 1, False, len(piece)) for i, piece in enumerate(pieces)]
        check(incoming[:len(pieces)] == expected,
              f"--show-frames incoming (fin, masked, length) {incoming}, expected {expected}")
        outgoing = client.find("frame", direction="out")
        check(outgoing and all(f.get("masked") is True for f in outgoing),
              f"--show-frames outgoing frames not all masked: {outgoing}")


@suite.case
async def ping_between_fragments_is_answered_first():
    async def behaviour(reader, writer):
        await raw_server_handshake(reader, writer)
        writer.write(encode_frame(OP_BINARY, b"\x01\x02", fin=False)
                     + encode_frame(OP_PING, b"mid")
                     + encode_frame(OP_CONTINUATION, b"\x03"))
        await writer.drain()
        pong = await asyncio.wait_for(read_frame(reader), 10)
        check(pong.opcode == OP_PONG and pong.payload == b"mid" and pong.masked,
              f"expected a masked pong 'mid' first (RFC 6455 §5.5.3), got {pong!r}")
        opcode, payload = await assembled(reader)
        check(opcode == OP_BINARY and payload == b"\x01\x02\x03",
              f"echo opcode {opcode} payload {payload!r}")
        await finish_close(reader, writer)

    async with RawServer(behaviour) as server, WswClient(server.url) as client:
        await asyncio.wait_for(server.done, 20)
        await client.expect_exit(0)


@suite.case
async def server_drops_tcp_after_handshake():
    async def behaviour(reader, writer):
        await raw_server_handshake(reader, writer)
        await asyncio.sleep(0.2)
        writer.close()

    async with RawServer(behaviour) as server, WswClient(server.url) as client:
        await asyncio.wait_for(server.done, 20)
        await client.expect_exit(3)
        closed = await client.wait_event("closed")
        check(closed.get("code") == 1006 and closed.get("clean") is False,
              f"closed event {closed}, expected code 1006 clean false")


async def run_violation(frames, code, error):
    """The server sends frames; our client must fail the connection with `code`."""
    async def behaviour(reader, writer):
        await raw_server_handshake(reader, writer)
        writer.write(b"".join(frames))
        await writer.drain()
        received, close = await read_until_close(reader)
        check(close is not None, f"no close frame from the client, expected {code}: {received}")
        check(close.masked, f"the client's close frame is not masked: {close!r}")
        check(close.close_code == code, f"client closed with {close!r}, expected code {code}")
        writer.write(encode_frame(OP_CLOSE, close_payload(code)))
        await writer.drain()

    async with RawServer(behaviour) as server, WswClient(server.url) as client:
        await asyncio.wait_for(server.done, 20)
        await client.expect_exit(4)
        violation = await client.wait_event("violation")
        check(violation.get("error") == error and violation.get("code") == code,
              f"violation event {violation}, expected {error} {code}")


@suite.case
async def masked_server_frame():
    await run_violation([encode_frame(OP_TEXT, b"masked", mask=os.urandom(4))], 1002,
                        "MaskedServerFrame")


@suite.case
async def reserved_opcode():
    await run_violation([encode_frame(0x3, b"x")], 1002, "ReservedOpcode")


@suite.case
async def invalid_utf8_text():
    await run_violation([encode_frame(OP_TEXT, b"ok\xff\xfe")], 1007, "InvalidUtf8")


@suite.case
async def invalid_utf8_across_fragments():
    await run_violation([encode_frame(OP_TEXT, b"\xe2\x82", fin=False),
                         encode_frame(OP_CONTINUATION, b"A")], 1007, "InvalidUtf8")


@suite.case
async def one_byte_close_payload():
    await run_violation([encode_frame(OP_CLOSE, b"\x03")], 1002, "CloseFrameOneByte")


@suite.case
async def wrong_accept_key_fails_handshake():
    async def behaviour(reader, writer):
        await read_http_head(reader)
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n")
        await writer.drain()
        rest = await asyncio.wait_for(reader.read(), 10)
        check(rest == b"", f"client sent {rest[:40]!r} after a wrong Sec-WebSocket-Accept")

    async with RawServer(behaviour) as server, WswClient(server.url) as client:
        await asyncio.wait_for(server.done, 20)
        await client.expect_exit(2)


@suite.case
async def http_404_fails_handshake():
    async def behaviour(reader, writer):
        await read_http_head(reader)
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with RawServer(behaviour) as server, WswClient(server.url) as client:
        await asyncio.wait_for(server.done, 20)
        await client.expect_exit(2)


@suite.case
async def connection_refused():
    # A port that was just free: bind, read the number, close.
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    async with WswClient(f"ws://127.0.0.1:{port}/") as client:
        await client.expect_exit(2)


if __name__ == "__main__":
    suite.run()

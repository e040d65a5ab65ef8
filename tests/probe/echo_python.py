"""python3-websockets as a probe target: an echo server on 127.0.0.1.

    echo_python.py PORT_FILE

Run with Debian's /usr/bin/python3 (python3-websockets 10.4). permessage-deflate is on,
as websockets enables it by default. Writes the port to PORT_FILE.
"""

import asyncio
import sys

import websockets


async def echo(websocket, path=None):
    try:
        async for message in websocket:
            await websocket.send(message)
    except websockets.ConnectionClosed:
        pass


async def main():
    async with websockets.serve(echo, "127.0.0.1", 0, max_size=None, max_queue=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        with open(sys.argv[1], "w") as f:
            f.write(str(port))
        await asyncio.Future()


asyncio.run(main())

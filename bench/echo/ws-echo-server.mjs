// Node's `ws` echo server with permessage-deflate, the peer of the deflate row of
// scripts/bench.sh (QtWebSockets has no permessage-deflate). Each message goes back
// as it came (text as text, binary as binary), compressed when the client agreed to
// permessage-deflate (RFC 7692). Listens on 127.0.0.1 only.
//
//   node bench/echo/ws-echo-server.mjs [PORT]     (0 or nothing: any free port)
//
// Prints "listening on ws://127.0.0.1:PORT/" once listening; SIGTERM ends it. `ws`
// comes from tests/interop/node_modules (npm ci in tests/interop).
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../tests/interop/package.json', import.meta.url));
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] ?? 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error('usage: ws-echo-server.mjs [PORT]');
    process.exit(1);
}

const server = new WebSocketServer({
    host: '127.0.0.1',
    port,
    // The same message limit as our server's default (64 MiB).
    maxPayload: 64 * 1024 * 1024,
    // ws' defaults (zlib level and window as zlib's), except that every message is
    // compressed, like our client and browsers do: ws skips messages under 1 KiB.
    perMessageDeflate: { threshold: 0 },
});
server.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
});
server.on('listening', () => {
    console.log(`listening on ws://127.0.0.1:${server.address().port}/`);
});
process.on('SIGTERM', () => process.exit(0));

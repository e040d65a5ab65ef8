// Node's ws as a probe target: an echo server on 127.0.0.1 (tests/interop's npm
// packages). node echo_node.mjs PORT_FILE [--deflate]
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../interop/package.json', import.meta.url));
const { WebSocketServer } = require('ws');

const server = new WebSocketServer({
    host: '127.0.0.1', port: 0, maxPayload: 0,
    perMessageDeflate: process.argv.includes('--deflate'),
});
server.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    socket.on('error', () => {});
});
server.on('listening', () => writeFileSync(process.argv[2], String(server.address().port)));

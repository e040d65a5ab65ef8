// Our server (`wsw serve`) with clients from Node's ws package.

import { SIZES, binaryPayload, check, checkSame, importPeer, receiver, runSuite, startServer,
         textPayload, withTimeout } from './support.mjs';

const { WebSocket } = await importPeer('ws');

async function open(url, options = {}) {
    const ws = new WebSocket(url, { handshakeTimeout: 10000, ...options });
    const messages = receiver(ws);
    ws.closeEvent = new Promise((resolve) => ws.once('close', (code, reason) =>
        resolve({ code, reason: reason.toString() })));
    await withTimeout(new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
    }), 10000, `open ${url}`);
    return { ws, messages };
}

function closed(ws) {
    return withTimeout(ws.closeEvent, 10000, 'close event');
}

async function withServer(options, body) {
    const server = await startServer(...options);
    try {
        return await body(server);
    } finally {
        await server.stop();
    }
}

async function echoSizes(binary) {
    await withServer(['--mode', 'echo'], async (server) => {
        const { ws, messages } = await open(server.url);
        for (const size of SIZES) {
            const sent = binary ? binaryPayload(size) : Buffer.from(textPayload(size));
            ws.send(binary ? sent : sent.toString());
            checkSame(await messages.next(), sent, binary, `echo of a ${size}-byte message`);
        }
        ws.close(1000);
        const { code } = await closed(ws);
        check(code === 1000, `close code ${code}, expected 1000`);
    });
}

async function echo_text_sizes() {
    await echoSizes(false);
}

async function echo_binary_sizes() {
    await echoSizes(true);
}

async function utf8_characters_split_across_fragments() {
    // ws sends a message in pieces with fin: false (RFC 6455 §5.4); a Buffer sent with
    // binary: false is a text frame, so a piece can end inside a character.
    const message = Buffer.from('a€😀b'); // 61 e2 82 ac f0 9f 98 80 62
    const pieces = [message.subarray(0, 2), message.subarray(2, 3), message.subarray(3, 5),
                    message.subarray(5, 6), message.subarray(6)];
    await withServer(['--mode', 'echo'], async (server) => {
        const { ws, messages } = await open(server.url);
        pieces.forEach((piece, i) => ws.send(piece, { binary: false, fin: i === pieces.length - 1 }));
        checkSame(await messages.next(), message, false, 'echo of a text message split mid-character');
        const binaryPieces = [Buffer.from([0, 1]), Buffer.alloc(0), binaryPayload(70000)];
        binaryPieces.forEach((piece, i) =>
            ws.send(piece, { binary: true, fin: i === binaryPieces.length - 1 }));
        checkSame(await messages.next(), Buffer.concat(binaryPieces), true,
                  'echo of a fragmented binary message');
        ws.close();
        await closed(ws);
    });
}

async function server_answers_client_ping() {
    await withServer(['--mode', 'echo'], async (server) => {
        const { ws } = await open(server.url);
        for (const payload of [Buffer.from('probe ✓'), Buffer.alloc(0), Buffer.alloc(125, 0x5a)]) {
            const pong = withTimeout(new Promise((resolve) => ws.once('pong', resolve)), 5000, 'pong');
            ws.ping(payload);
            const got = await pong;
            check(got.equals(payload), `pong payload ${got.toString('hex')}, expected ${payload.toString('hex')}`);
        }
        ws.close();
        await closed(ws);
    });
}

async function client_answers_server_keepalive_ping() {
    await withServer(['--mode', 'echo', '--keepalive', '300'], async (server) => {
        const { ws, messages } = await open(server.url);
        // ws answers pings by itself (RFC 6455 §5.5.2); the server must stay happy with that.
        await withTimeout(new Promise((resolve) => ws.once('ping', resolve)), 5000, 'keepalive ping');
        await withTimeout(new Promise((resolve) => ws.once('ping', resolve)), 5000, 'second keepalive ping');
        ws.send('still open');
        checkSame(await messages.next(), Buffer.from('still open'), false, 'echo after the pings');
        ws.close();
        await closed(ws);
    });
}

async function client_closes_with_4000() {
    await withServer(['--mode', 'echo'], async (server) => {
        const { ws } = await open(server.url);
        const done = closed(ws);
        ws.close(4000, 'bye');
        const { code } = await done;
        // RFC 6455 §5.5.1: the server answers with a close frame, usually echoing the code.
        check(code === 4000, `server answered close code ${code}, expected 4000`);
    });
}

async function server_stop_closes_with_1001() {
    const server = await startServer('--mode', 'echo');
    try {
        const { ws } = await open(server.url);
        const done = closed(ws);
        const status = await server.stop();
        const { code } = await done;
        check(code === 1001, `after SIGTERM the client saw close code ${code}, expected 1001`);
        check(status === 0, `wsw serve exited ${status} after SIGTERM, expected 0`);
    } finally {
        await server.kill();
    }
}

async function greeting_mode_greets_first() {
    const greeting = 'Hello from the Node interop test ✓';
    await withServer(['--mode', 'greeting', '--greeting', greeting], async (server) => {
        const { ws, messages } = await open(server.url);
        checkSame(await messages.next(5000), Buffer.from(greeting), false, 'first message in greeting mode');
        ws.close();
        await closed(ws);
    });
}

// RFC 7692 with ws' client (perMessageDeflate) against `wsw serve --deflate`, over
// the window-bits and no-context-takeover options ws offers (9.., since Node's zlib
// refuses a raw 256-byte window).
async function deflate_echo_variants() {
    const variants = [
        true,
        { serverMaxWindowBits: 10 },
        { clientMaxWindowBits: 9 },
        { serverNoContextTakeover: true, clientNoContextTakeover: true },
        { serverMaxWindowBits: 9, clientNoContextTakeover: true, threshold: 0 },
    ];
    const json = JSON.stringify({ sensor: 't1', values: [20.5, 20.6, 20.7], ok: true }).repeat(100);
    await withServer(['--mode', 'echo', '--deflate'], async (server) => {
        for (const perMessageDeflate of variants) {
            const label = JSON.stringify(perMessageDeflate);
            const { ws, messages } = await open(server.url, { perMessageDeflate });
            check(String(ws.extensions).includes('permessage-deflate'),
                  `${label}: negotiated ${JSON.stringify(ws.extensions)}`);
            for (let i = 0; i < 3; i++) {
                const sent = Buffer.from(json + i);
                ws.send(sent.toString());
                checkSame(await messages.next(), sent, false, `${label}: deflated echo ${i}`);
            }
            const bytes = binaryPayload(70000);
            ws.send(bytes);
            checkSame(await messages.next(), bytes, true, `${label}: deflated binary echo`);
            ws.close(1000);
            const { code } = await closed(ws);
            check(code === 1000, `${label}: close code ${code}`);
        }
    });
}

process.exit(await runSuite('server_vs_node', [
    deflate_echo_variants,
    echo_text_sizes, echo_binary_sizes, utf8_characters_split_across_fragments,
    server_answers_client_ping, client_answers_server_keepalive_ping, client_closes_with_4000,
    server_stop_closes_with_1001, greeting_mode_greets_first,
]));

// Our client (`wsw connect --echo --json`) with servers written with Node's ws.
// Each case starts a ws server whose connection handler drives the test (sends, checks
// the echoes, closes), then checks wsw's JSON events and exit status.

import { SIZES, binaryPayload, check, checkSame, describe, importPeer, messageBytes, receiver,
         runSuite, startClient, textPayload, withTimeout } from './support.mjs';

const { WebSocketServer } = await importPeer('ws');

// A ws server on 127.0.0.1:0; `outcome` settles with what handler(ws, messages) returns.
async function peerServer(handler, serverOptions = {}) {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...serverOptions });
    await withTimeout(new Promise((resolve) => wss.once('listening', resolve)), 5000, 'listen');
    let settle;
    const outcome = new Promise((resolve, reject) => { settle = { resolve, reject }; });
    wss.on('connection', (ws) => {
        const messages = receiver(ws);
        ws.closeEvent = new Promise((resolve) => ws.once('close', (code, reason) =>
            resolve({ code, reason: reason.toString() })));
        handler(ws, messages).then(settle.resolve, settle.reject);
    });
    return {
        url: `ws://127.0.0.1:${wss.address().port}/interop`,
        outcome: (ms = 30000) => withTimeout(outcome, ms, 'peer server handler'),
        close: () => new Promise((resolve) => {
            for (const ws of wss.clients)
                ws.terminate();
            wss.close(resolve);
        }),
    };
}

async function withPeer(handler, clientOptions, body, serverOptions = {}) {
    const peer = await peerServer(handler, serverOptions);
    const client = startClient(peer.url, clientOptions);
    try {
        return await body(peer, client);
    } finally {
        await client.kill();
        await peer.close();
    }
}

function checkMessages(client, sent) {
    const messages = client.find('message');
    check(messages.length === sent.length,
          `${messages.length} message events for ${sent.length} messages; ${client.summary()}`);
    messages.forEach((event, i) => {
        const { data, isBinary } = sent[i];
        check(event.type === (isBinary ? 'binary' : 'text') && event.length === data.length,
              `message event type=${event.type} length=${event.length}, expected ${describe(data, isBinary)}`);
        check(messageBytes(event).equals(data), `message event data differs from ${describe(data, isBinary)}`);
    });
}

function checkClosed(client, code, clean) {
    const closed = client.find('closed');
    check(closed.length === 1 && closed[0].code === code && closed[0].clean === clean,
          `expected one closed event with code ${code} clean ${clean}; ${client.summary()}`);
}

async function echoCase(payloads) {
    const handler = async (ws, messages) => {
        for (const { data, isBinary } of payloads) {
            ws.send(isBinary ? data : data.toString());
            checkSame(await messages.next(), data, isBinary, `echo from wsw connect of ${describe(data, isBinary)}`);
        }
        ws.close(1000, 'done');
    };
    await withPeer(handler, {}, async (peer, client) => {
        await peer.outcome(60000);
        await client.expectExit(0);
        checkMessages(client, payloads);
        checkClosed(client, 1000, true);
    });
}

async function echo_text_sizes() {
    await echoCase(SIZES.map((size) => ({ data: Buffer.from(textPayload(size)), isBinary: false })));
}

async function echo_binary_sizes() {
    await echoCase(SIZES.map((size) => ({ data: binaryPayload(size), isBinary: true })));
}

async function utf8_characters_split_across_fragments() {
    const message = Buffer.from('a€😀b'); // 61 e2 82 ac f0 9f 98 80 62
    const pieces = [message.subarray(0, 2), message.subarray(2, 3), message.subarray(3, 5),
                    message.subarray(5, 6), message.subarray(6)];
    const handler = async (ws, messages) => {
        // A Buffer sent with binary: false and fin: false is a text fragment (RFC 6455 §5.4).
        pieces.forEach((piece, i) => ws.send(piece, { binary: false, fin: i === pieces.length - 1 }));
        checkSame(await messages.next(), message, false, 'echo of a text message split mid-character');
        ws.close(1000);
    };
    await withPeer(handler, {}, async (peer, client) => {
        await peer.outcome();
        await client.expectExit(0);
        checkMessages(client, [{ data: message, isBinary: false }]);
    });
}

async function client_answers_server_ping() {
    const handler = async (ws) => {
        for (const payload of [Buffer.from('from-server'), Buffer.alloc(0)]) {
            const pong = withTimeout(new Promise((resolve) => ws.once('pong', resolve)), 5000, 'pong');
            ws.ping(payload);
            const got = await pong;
            check(got.equals(payload), `pong payload ${got.toString('hex')}, expected ${payload.toString('hex')}`);
        }
        ws.close(1000);
    };
    await withPeer(handler, {}, async (peer, client) => {
        await peer.outcome();
        await client.expectExit(0);
        check(client.find('ping').length === 2, `expected two ping events; ${client.summary()}`);
    });
}

async function client_ping_reaches_server() {
    const handler = async (ws) => {
        const ping = await withTimeout(new Promise((resolve) => ws.once('ping', resolve)), 10000,
                                       'ping from wsw connect');
        const { code } = await withTimeout(ws.closeEvent, 10000, 'close after EOF');
        return { ping: ping.toString(), code };
    };
    // Without --echo: with it the peer drives the session and EOF does not close it.
    await withPeer(handler, { echo: false }, async (peer, client) => {
        await client.waitEvent('open');
        client.sendLine('/ping hello');
        const pong = await client.waitEvent('pong');
        check(pong.payload === 'hello' || Buffer.from(String(pong.payload), 'base64').toString() === 'hello',
              `pong event ${JSON.stringify(pong)}, expected payload hello`);
        client.closeStdin(); // EOF: close 1000
        const { ping, code } = await peer.outcome();
        check(ping === 'hello', `server saw ping payload ${JSON.stringify(ping)}, expected hello`);
        check(code === 1000, `server saw close code ${code} after EOF, expected 1000`);
        await client.expectExit(0);
    });
}

async function server_closes_with_4000() {
    const handler = async (ws, messages) => {
        ws.send('last words');
        checkSame(await messages.next(), Buffer.from('last words'), false, 'echo');
        ws.close(4000, 'bye');
        return withTimeout(ws.closeEvent, 10000, 'close handshake');
    };
    await withPeer(handler, {}, async (peer, client) => {
        const { code } = await peer.outcome();
        check(code === 4000, `wsw connect answered close code ${code}, expected 4000`);
        await client.expectExit(5);
        const close = await client.waitEvent('close');
        check(close.code === 4000 && close.reason === 'bye',
              `close event ${JSON.stringify(close)}, expected code 4000 reason bye`);
        checkClosed(client, 4000, true);
    });
}

async function client_closes_with_4001() {
    const handler = async (ws) => withTimeout(ws.closeEvent, 20000, 'close from wsw connect');
    await withPeer(handler, {}, async (peer, client) => {
        await client.waitEvent('open');
        client.sendLine('/close 4001 done');
        const { code, reason } = await peer.outcome();
        check(code === 4001 && reason === 'done',
              `server saw close ${code} ${JSON.stringify(reason)}, expected 4001 "done"`);
        await client.expectExit(5);
    });
}

// RFC 7692: ws's server accepts our `wsw connect --deflate` offer with each parameter set
// below; ws compresses every message of at least its 1024-byte threshold, so each message
// sent here arrives compressed (the JSON event says so) and must inflate to exactly what
// was sent; ws must read our echoes back as the same bytes.
const DEFLATE_SERVERS = [
    { name: 'defaults', perMessageDeflate: true, expect: /^permessage-deflate/ },
    { name: 'no context takeover',
      perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true },
      expect: /server_no_context_takeover/ },
    { name: 'server_max_window_bits 10', perMessageDeflate: { serverMaxWindowBits: 10 },
      expect: /server_max_window_bits=10/ },
];

async function deflateCase({ name, perMessageDeflate, expect }) {
    const text = Buffer.from('{"sensor":"t1","values":[20.5,20.6,20.7],"ok":true}'.repeat(60));
    const payloads = [
        { data: text, isBinary: false },
        { data: Buffer.concat([Buffer.alloc(4000), binaryPayload(1024)]), isBinary: true },
        { data: Buffer.from(textPayload(70000)), isBinary: false }, // 64-bit length, compressed
        { data: text, isBinary: false }, // again: only the takeover variants reuse the window
    ];
    const handler = async (ws, messages) => {
        for (const { data, isBinary } of payloads) {
            ws.send(isBinary ? data : data.toString(), { compress: true });
            checkSame(await messages.next(), data, isBinary, `${name}: echo of ${describe(data, isBinary)}`);
        }
        ws.close(1000, 'done');
    };
    await withPeer(handler, { options: ['--deflate'] }, async (peer, client) => {
        await peer.outcome();
        await client.expectExit(0);
        const opened = client.find('open');
        check(opened.length === 1 && expect.test(opened[0].extensions ?? ''),
              `${name}: open event extensions do not match ${expect}; ${client.summary()}`);
        checkMessages(client, payloads);
        const compressed = client.find('message', { compressed: true });
        check(compressed.length === payloads.length,
              `${name}: ${compressed.length} of ${payloads.length} message events say compressed; ` +
              client.summary());
        checkClosed(client, 1000, true);
    }, { perMessageDeflate });
}

async function deflate_server_defaults() {
    await deflateCase(DEFLATE_SERVERS[0]);
}

async function deflate_no_context_takeover() {
    await deflateCase(DEFLATE_SERVERS[1]);
}

async function deflate_server_max_window_bits_10() {
    await deflateCase(DEFLATE_SERVERS[2]);
}

process.exit(await runSuite('client_vs_node', [
    echo_text_sizes, echo_binary_sizes, utf8_characters_split_across_fragments,
    client_answers_server_ping, client_ping_reaches_server, server_closes_with_4000,
    client_closes_with_4001, deflate_server_defaults, deflate_no_context_takeover,
    deflate_server_max_window_bits_10,
]));

// `wsw serve` misbehaving on purpose, seen by Node's ws: the delays (measured), the
// fragmented messages reassembled, the pong that never comes, the abrupt closes (1006),
// each bad frame (the close code ws fails with) and the refused or broken handshakes
// (ws's handshake error). One `wsw serve` per behaviour.

import { check, importPeer, receiver, runSuite, startServer, withTimeout } from './support.mjs';

const { WebSocket } = await importPeer('ws');

function connect(url, options = {}) {
    const ws = new WebSocket(url, { handshakeTimeout: 10000, ...options });
    const messages = receiver(ws);
    ws.errors = [];
    ws.on('error', (error) => ws.errors.push(error));
    ws.closeEvent = new Promise((resolve) => ws.once('close', (code, reason) =>
        resolve({ code, reason: reason.toString() })));
    const opened = withTimeout(new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
    }), 10000, `open ${url}`);
    return { ws, messages, opened };
}

async function open(url, options = {}) {
    const connection = connect(url, options);
    await connection.opened;
    return connection;
}

function closed(ws, ms = 10000) {
    return withTimeout(ws.closeEvent, ms, 'close event');
}

async function withServer(options, body) {
    const server = await startServer(...options);
    try {
        return await body(server);
    } finally {
        await server.kill();
    }
}

async function waitForLog(server, needle, ms = 5000) {
    for (let waited = 0; waited < ms; waited += 50) {
        if (server.log.some((line) => line.includes(needle)))
            return;
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    check(false, `server log has no line with ${JSON.stringify(needle)}: ${server.log.slice(-5)}`);
}

async function delays_measured() {
    await withServer(['--delay', '150', '--handshake-delay', '300'], async (server) => {
        const begin = performance.now();
        const { ws, messages } = await open(server.url);
        const openedMs = performance.now() - begin;
        check(openedMs >= 290, `handshake answered after ${openedMs.toFixed(0)} ms, not 300`);
        for (let i = 0; i < 3; i++) {
            const sent = performance.now();
            ws.send(`m${i}`);
            const reply = await messages.next();
            const ms = performance.now() - sent;
            check(reply.data.toString() === `m${i}`, 'echo');
            check(ms >= 140 && ms < 1000, `reply after ${ms.toFixed(0)} ms, expected about 150`);
        }
        console.log(`  handshake after ${openedMs.toFixed(0)} ms`);
        ws.terminate();
    });
}

async function fragmented_with_pings_reassembled() {
    await withServer(['--fragment', '7,ping'], async (server) => {
        const { ws, messages } = await open(server.url);
        let pings = 0;
        ws.on('ping', () => ++pings);
        const text = 'fragmented ¡€😀 message '.repeat(5);
        ws.send(text);
        const reply = await messages.next();
        check(reply.data.toString() === text && !reply.isBinary, 'reassembled text');
        const frames = Math.ceil(Buffer.byteLength(text) / 7);
        check(pings === frames - 1, `${pings} pings between ${frames} fragments`);
        ws.terminate();
    });
}

async function withheld_pong_never_comes() {
    // ws has no ping timeout of its own: the usual heartbeat waits for 'pong'.
    const pongWithin = async (options, ms) => withServer(options, async (server) => {
        const { ws } = await open(server.url);
        const pong = new Promise((resolve) => ws.once('pong', () => resolve(true)));
        ws.ping('heartbeat');
        const answered = await Promise.race([
            pong, new Promise((resolve) => setTimeout(() => resolve(false), ms))]);
        ws.terminate();
        return answered;
    });
    check(await pongWithin([], 2000), 'a normal server answers the ping');
    check(!(await pongWithin(['--pong', 'withhold'], 1000)), 'a withheld pong arrived');
    check(!(await pongWithin(['--pong', 'delay:1500'], 700)), 'a delayed pong came early');
}

async function abrupt_closes_are_1006() {
    for (const how of ['rst', 'fin']) {
        await withServer(['--close-after', `1:${how}`], async (server) => {
            const { ws, messages } = await open(server.url);
            ws.send('bye');
            await messages.next();
            const { code } = await closed(ws);
            check(code === 1006, `${how}: close code ${code}, expected 1006`);
        });
    }
    await withServer(['--close-after', '200ms:clean:4002:later'], async (server) => {
        const { ws } = await open(server.url);
        const { code, reason } = await closed(ws);
        check(code === 4002 && reason === 'later', `clean close ${code} ${reason}`);
    });
}

const BAD_FRAMES = {
    'rsv1': 1002, 'rsv2': 1002, 'rsv3': 1002, 'reserved-opcode': 1002, 'invalid-utf8': 1007,
    'long-ping': 1002, 'masked': 1002, 'bad-close-code': 1002, 'orphan-continuation': 1002,
    'lying-length': 1002,
};

async function bad_frames_fail_the_connection() {
    for (const [kind, expected] of Object.entries(BAD_FRAMES)) {
        await withServer(['--bad-frame', kind], async (server) => {
            const { ws } = connect(server.url);
            await closed(ws);
            const error = ws.errors[0];
            check(error && error.code?.startsWith('WS_ERR_'), `${kind}: ws reported ${error}`);
            // The close code ws fails the connection with travels on the error...
            const symbol = Object.getOwnPropertySymbols(error)
                .find((s) => s.description === 'status-code');
            const code = error[symbol];
            check(code === expected,
                  `${kind}: ws failed with ${code} (${error.code}: ${error.message}), expected ${expected}`);
            // ... and reached the server in ws's close frame.
            await waitForLog(server, `staged: sent bad frame: ${kind}`);
            await waitForLog(server, `disconnected: ${expected} `);
        });
    }
}

async function broken_handshakes_are_refused() {
    const expected = {
        '--bad-accept': /Invalid Sec-WebSocket-Accept header/,
        '--bad-extension': /extension that was not requested|no extension was requested/,
        '--bad-subprotocol': /Server sent a subprotocol but none was requested/,
        // Node's HTTP client does not hand a 101 without Upgrade to ws as an upgrade.
        '--no-upgrade-header': /Invalid Upgrade header|Unexpected server response: 101/,
    };
    for (const [option, pattern] of Object.entries(expected)) {
        await withServer([option], async (server) => {
            const { opened } = connect(server.url);
            const error = await opened.then(() => null, (e) => e);
            check(error && pattern.test(error.message), `${option}: ${error?.message ?? 'opened'}`);
            console.log(`  ${option}: ${error.message}`);
        });
    }
    await withServer(['--refuse', '429:slow down', '--refuse-header', 'Retry-After: 3'],
                     async (server) => {
        const ws = new WebSocket(server.url, { handshakeTimeout: 10000 });
        const response = await withTimeout(new Promise((resolve, reject) => {
            ws.once('unexpected-response', (request, res) => resolve(res));
            ws.once('open', () => reject(new Error('opened through a refusal')));
        }), 10000, 'unexpected-response');
        check(response.statusCode === 429 && response.headers['retry-after'] === '3',
              `refusal ${response.statusCode} ${JSON.stringify(response.headers)}`);
        response.destroy();
    });
}

process.exit(await runSuite('misbehave_node', [
    delays_measured, fragmented_with_pings_reassembled, withheld_pong_never_comes,
    abrupt_closes_are_1006, bad_frames_fail_the_connection, broken_handshakes_are_refused,
], 30000));

// Node's ws on either side of `wsw relay`, for relay_interop.py.
//   node node_peer.cjs server [deflate]  an echo server; prints {"event": ...} lines
//   node node_peer.cjs client URL [deflate]  a scripted client; prints its results
// Text commands to the server: "close-me CODE REASON" closes with that code,
// "ping-me PAYLOAD" sends a ping (the pong is reported back as "pong PAYLOAD").
// The server answers pings itself (autoPong off), except one with payload "silent".
'use strict';
const path = require('path');
const WebSocket = require(path.join(__dirname, '..', 'interop', 'node_modules', 'ws'));

const out = (object) => process.stdout.write(JSON.stringify(object) + '\n');
const mode = process.argv[2];

function runServer(deflate) {
    const wss = new WebSocket.WebSocketServer({
        host: '127.0.0.1',
        port: 0,
        perMessageDeflate: deflate,
        maxPayload: 64 * 1024 * 1024,
        autoPong: false,
        verifyClient: (info, done) => {
            if (info.req.url.startsWith('/forbidden'))
                done(false, 403, 'no entry for ' + info.req.url);
            else
                done(true);
        },
        handleProtocols: (protocols) => (protocols.has('chat.v2') ? 'chat.v2' : false),
    });
    wss.on('listening', () => out({event: 'listening', port: wss.address().port}));
    wss.on('headers', (headers) => headers.push('Set-Cookie: relayed=yes'));
    wss.on('connection', (ws, req) => {
        out({event: 'connection', url: req.url, headers: req.headers, extensions: ws.extensions,
             protocol: ws.protocol});
        ws.on('message', (data, isBinary) => {
            if (!isBinary) {
                const text = data.toString();
                if (text.startsWith('close-me ')) {
                    const [, code, ...reason] = text.split(' ');
                    ws.close(Number(code), reason.join(' '));
                    return;
                }
                if (text.startsWith('ping-me ')) {
                    ws.ping(text.slice(8));
                    return;
                }
            }
            ws.send(data, {binary: isBinary});
        });
        ws.on('ping', (data) => {
            out({event: 'ping', data: data.toString()});
            if (data.toString() !== 'silent')
                ws.pong(data);
        });
        ws.on('pong', (data) => {
            out({event: 'pong', data: data.toString()});
            ws.send('pong ' + data.toString());
        });
        ws.on('close', (code, reason) => out({event: 'close', code, reason: reason.toString()}));
    });
}

function text(size) {
    const pattern = 'aé€😀';
    let s = pattern.repeat(Math.floor(size / 10));
    return s + 'z'.repeat(size - Buffer.byteLength(s));
}

function binary(size) {
    const b = Buffer.alloc(size);
    for (let i = 0; i < size; ++i)
        b[i] = ((i % 256) * 167 + 13) & 0xff;
    return b;
}

function open(url, deflate) {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(url, ['chat.v2'], {
            perMessageDeflate: deflate,
            maxPayload: 64 * 1024 * 1024,
            headers: {Cookie: 'session=abc', 'User-Agent': 'node-relay-test', Origin: 'http://app.test'},
        });
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
        ws.once('unexpected-response', (req, res) => reject(new Error('status ' + res.statusCode)));
    });
}

function next(ws, event) {
    return new Promise((resolve) => ws.once(event, (...args) => resolve(args)));
}

async function runClient(url, deflate) {
    const ws = await open(url, deflate);
    out({event: 'open', protocol: ws.protocol, extensions: ws.extensions});
    for (const size of [0, 125, 126, 65536, 16 * 1024 * 1024]) {
        for (const isBinary of [false, true]) {
            const sent = isBinary ? binary(size) : Buffer.from(text(size));
            const reply = next(ws, 'message');
            ws.send(isBinary ? sent : sent.toString(), {binary: isBinary});
            const [data, gotBinary] = await reply;
            out({event: 'echo', size, binary: isBinary,
                 ok: gotBinary === isBinary && Buffer.compare(data, sent) === 0});
        }
    }
    // A fragmented text message, a character split across two fragments.
    const fragmented = next(ws, 'message');
    const euro = Buffer.from('€');
    ws.send(Buffer.concat([Buffer.from('héllo wörld '), euro.subarray(0, 1)]), {binary: false, fin: false});
    ws.send(euro.subarray(1), {binary: false, fin: true});
    out({event: 'fragmented', data: (await fragmented)[0].toString()});
    // Our ping, answered by the server behind the relay.
    const pong = next(ws, 'pong');
    ws.ping('n1');
    out({event: 'pong', data: (await pong)[0].toString()});
    // The server's ping: ws answers it; the server reports the pong it got.
    const report = next(ws, 'message');
    ws.send('ping-me s1');
    out({event: 'report', data: (await report)[0].toString()});
    const closed = next(ws, 'close');
    ws.close(4001, 'bye');
    const [code, reason] = await closed;
    out({event: 'closed', code, reason: reason.toString()});

    const second = await open(url, deflate);
    const closedByServer = next(second, 'close');
    second.send('close-me 4002 why not');
    const [code2, reason2] = await closedByServer;
    out({event: 'closed-by-server', code: code2, reason: reason2.toString()});
    out({event: 'done'});
}

if (mode === 'server') {
    runServer(process.argv[3] === 'deflate');
} else if (mode === 'client') {
    runClient(process.argv[3], process.argv[4] === 'deflate').catch((error) => {
        out({event: 'error', message: String(error)});
        process.exit(1);
    });
} else {
    process.stderr.write('usage: node_peer.cjs server [deflate] | client URL [deflate]\n');
    process.exit(2);
}

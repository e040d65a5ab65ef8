// Our server (`wsw serve`) with headless Chromium (Debian's /usr/bin/chromium) driven by
// playwright-core. The page is the server's own test page at http://127.0.0.1:PORT/:
// Chromium refuses a WebSocket to 127.0.0.1 from a page whose origin is not local.
// The wss:// cases serve it at https://127.0.0.1:PORT/ with a certificate made here,
// which Chromium trusts only through a pin of its public key, not by ignoring errors.

import { ChromiumWork, closeBrowser, inNewPage, spkiPin } from './chromium.mjs';
import { CheckError, check, runSuite, startServer, withTimeout } from './support.mjs';

const work = await ChromiumWork.start('wsw-chromium-');

// A self-signed certificate for 127.0.0.1 that `wsw serve --tls --cert --key` serves.
// Chromium accepts it only because of --ignore-certificate-errors-spki-list.
const { certPath, keyPath, certificate } = work.selfSignedCertificate(
    'server', ['-newkey', 'rsa:2048'], '/CN=localhost', 'IP:127.0.0.1,DNS:localhost');
const tlsServerOptions = ['--tls', '--cert', certPath, '--key', keyPath];

const browser = await work.launchOrFail(
    'profile', [`--ignore-certificate-errors-spki-list=${spkiPin(certificate)}`]);

// Installed in the page: open a WebSocket and queue what it receives.
function installPageHelpers() {
    window.wswOpen = (url) => new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.binaryType = 'arraybuffer';
        const queue = [];
        const waiters = [];
        ws.onmessage = (event) => (waiters.length ? waiters.shift()(event.data) : queue.push(event.data));
        ws.closed = new Promise((done) => {
            ws.onclose = (event) => done({ code: event.code, reason: event.reason, wasClean: event.wasClean });
        });
        ws.next = (ms = 20000) => (queue.length ? Promise.resolve(queue.shift()) : Promise.race([
            new Promise((done) => waiters.push(done)),
            new Promise((_, fail) => setTimeout(() => fail(new Error(`no message within ${ms} ms`)), ms)),
        ]));
        ws.onopen = () => resolve(ws);
        ws.onerror = () => reject(new Error(`WebSocket error before open (${url})`));
    });
    window.wswTextPayload = (size) => {
        const text = 'aé€😀'.repeat(Math.floor(size / 10));
        return text + 'z'.repeat(size - new TextEncoder().encode(text).length);
    };
    window.wswBinaryPayload = (size) => {
        const bytes = new Uint8Array(size);
        for (let i = 0; i < size; ++i)
            bytes[i] = ((i % 256) * 167 + 13) & 0xff;
        return bytes;
    };
    window.wswSameBytes = (a, b) => {
        const x = new Uint8Array(a);
        const y = new Uint8Array(b);
        return x.length === y.length && x.every((v, i) => v === y[i]);
    };
}

// Opens the server's test page in a fresh tab and runs body(page, server).
async function withPage(serverOptions, body) {
    const server = await startServer(...serverOptions);
    try {
        return await inNewPage(browser, async (page) => {
            const response = await page.goto(server.httpUrl, { timeout: 15000 });
            check(response && response.status() === 200,
                  `GET ${server.httpUrl} answered ${response?.status()}`);
            check((response.headers()['content-type'] ?? '').includes('text/html'),
                  `test page content type ${response.headers()['content-type']}`);
            await page.evaluate(installPageHelpers);
            return await body(page, server);
        });
    } finally {
        await server.stop();
    }
}

async function text_and_binary_echo() {
    await withPage(['--mode', 'echo'], async (page, server) => {
        const result = await page.evaluate(async (url) => {
            const ws = await window.wswOpen(url);
            ws.send('héllo wörld € 😀');
            const text = await ws.next();
            const bytes = window.wswBinaryPayload(300);
            ws.send(bytes);
            const binary = await ws.next();
            ws.send('');
            const empty = await ws.next();
            ws.close(1000);
            return { text, binaryOk: binary instanceof ArrayBuffer && window.wswSameBytes(binary, bytes),
                     empty, extensions: ws.extensions, closed: await ws.closed };
        }, server.url);
        check(result.text === 'héllo wörld € 😀', `text echo ${JSON.stringify(result.text)}`);
        check(result.binaryOk, 'binary echo differs from what the browser sent');
        check(result.empty === '', `empty text echo ${JSON.stringify(result.empty)}`);
        // Chromium offers permessage-deflate; a server without it must not accept it.
        check(result.extensions === '' || result.extensions.startsWith('permessage-deflate'),
              `negotiated extensions ${JSON.stringify(result.extensions)}`);
        check(result.closed.code === 1000 && result.closed.wasClean,
              `close ${JSON.stringify(result.closed)}, expected a clean 1000`);
    });
}

async function one_mib_messages() {
    await withPage(['--mode', 'echo'], async (page, server) => {
        const result = await page.evaluate(async (url) => {
            const size = 1024 * 1024;
            const ws = await window.wswOpen(url);
            const text = window.wswTextPayload(size);
            ws.send(text);
            const textEcho = await ws.next();
            const bytes = window.wswBinaryPayload(size);
            ws.send(bytes);
            const binaryEcho = await ws.next();
            ws.close();
            return { textOk: textEcho === text, textLength: textEcho.length,
                     binaryOk: window.wswSameBytes(binaryEcho, bytes), binaryLength: binaryEcho.byteLength };
        }, server.url);
        check(result.textOk, `1 MiB text echo differs (length ${result.textLength} UTF-16 units)`);
        check(result.binaryOk, `1 MiB binary echo differs (length ${result.binaryLength})`);
    });
}

// RFC 7692 with Chromium's own offer (permessage-deflate; client_max_window_bits):
// with --deflate it must be accepted, and messages both ways still echo, the
// compressible ones inflating back to exactly what was sent.
async function deflate_echo() {
    await withPage(['--mode', 'echo', '--deflate'], async (page, server) => {
        const result = await page.evaluate(async (url) => {
            const ws = await window.wswOpen(url);
            const json = JSON.stringify({ sensor: 't1', values: [20.5, 20.6, 20.7] }).repeat(200);
            const echoes = [];
            for (let i = 0; i < 3; i++) {
                ws.send(json + i);
                echoes.push((await ws.next()) === json + i);
            }
            const bytes = window.wswBinaryPayload(100000);
            ws.send(bytes);
            const binaryOk = window.wswSameBytes(await ws.next(), bytes);
            ws.close(1000);
            return { extensions: ws.extensions, echoes, binaryOk, closed: await ws.closed };
        }, server.url);
        check(result.extensions.startsWith('permessage-deflate'),
              `extensions ${JSON.stringify(result.extensions)} with --deflate`);
        check(result.echoes.every((ok) => ok), `deflated text echoes ${JSON.stringify(result.echoes)}`);
        check(result.binaryOk, 'deflated binary echo differs');
        check(result.closed.code === 1000 && result.closed.wasClean,
              `close ${JSON.stringify(result.closed)}, expected a clean 1000`);
    });
}

async function browser_closes_with_4000() {
    await withPage(['--mode', 'echo'], async (page, server) => {
        const closed = await page.evaluate(async (url) => {
            const ws = await window.wswOpen(url);
            ws.send('before close');
            await ws.next();
            ws.close(4000, 'bye from chromium');
            return ws.closed;
        }, server.url);
        check(closed.code === 4000 && closed.wasClean,
              `browser onclose ${JSON.stringify(closed)}, expected a clean close with code 4000`);
    });
}

async function greeting_mode_greets_first() {
    const greeting = 'Welcome, Chromium ✓';
    await withPage(['--mode', 'greeting', '--greeting', greeting], async (page, server) => {
        const first = await page.evaluate(async (url) => {
            const ws = await window.wswOpen(url);
            const message = await ws.next(5000);
            ws.send('and then echo');
            const echo = await ws.next();
            ws.close();
            return [message, echo];
        }, server.url);
        check(first[0] === greeting, `first message ${JSON.stringify(first[0])}, expected the greeting`);
        check(first[1] === 'and then echo', `echo after the greeting ${JSON.stringify(first[1])}`);
    });
}

// Resolves once predicate() holds, checked every 20 ms; rejects after `ms` with what().
function until(predicate, ms, what) {
    return new Promise((resolve, reject) => {
        const deadline = Date.now() + ms;
        const tick = () => {
            if (predicate())
                resolve();
            else if (Date.now() > deadline)
                reject(new CheckError(`${what()}: not within ${ms} ms`));
            else
                setTimeout(tick, 20);
        };
        tick();
    });
}

async function keepalive_pings_and_server_stop() {
    // Manual mode: the server prints what each client sends, the browser's pongs included.
    await withPage(['--mode', 'manual', '--keepalive', '200'], async (page, server) => {
        await page.evaluate(async (url) => {
            window.wswKept = await window.wswOpen(url);
        }, server.url);
        // Three keepalive pings answered by the browser's automatic pongs, counted in the
        // server's log (not assumed after a pause), and the connection still carries a message.
        const pongs = () => server.log.filter((line) => /^\[#\d+\] < \[pong\] keepalive/.test(line));
        await until(() => pongs().length >= 3, 10000,
                    () => `three keepalive pongs from the browser; the log: ${JSON.stringify(server.log)}`);
        await page.evaluate(() => window.wswKept.send('still open'));
        await until(() => server.log.some((line) => /^\[#\d+\] < still open$/.test(line)), 5000,
                    () => `'still open' at the server after keepalive pongs; the log: ` +
                          JSON.stringify(server.log));
        const closedPromise = page.evaluate(() => window.wswKept.closed);
        const status = await server.stop();
        const closed = await withTimeout(closedPromise, 10000, 'onclose after SIGTERM');
        check(closed.code === 1001 && closed.wasClean,
              `after SIGTERM the browser saw ${JSON.stringify(closed)}, expected a clean 1001`);
        check(status === 0, `wsw serve exited ${status} after SIGTERM, expected 0`);
    });
}

// wss:// with the pinned certificate: the https test page loads, text and binary echo
// over TLS, and a close with 4000 completes cleanly. wsw's printed fingerprint is the
// certificate we gave it.
async function wss_echo_and_close_4000_with_pinned_certificate() {
    await withPage(['--mode', 'echo', ...tlsServerOptions], async (page, server) => {
        check(server.url.startsWith('wss://') && server.httpUrl.startsWith('https://'),
              `wsw serve --tls listens on ${server.url}`);
        const certificateLine = `certificate sha256 ${certificate.fingerprint256}`;
        await withTimeout(new Promise((resolve) => {
            const poll = setInterval(() => {
                if (server.log.includes(certificateLine)) {
                    clearInterval(poll);
                    resolve();
                }
            }, 20);
        }), 5000, `'${certificateLine}' from wsw serve; its log: ${JSON.stringify(server.log)}`);
        const result = await page.evaluate(async (url) => {
            const ws = await window.wswOpen(url);
            ws.send('über TLS € 😀');
            const text = await ws.next();
            const bytes = window.wswBinaryPayload(70000);
            ws.send(bytes);
            const binary = await ws.next();
            ws.close(4000, 'bye over tls');
            return { text, binaryOk: binary instanceof ArrayBuffer && window.wswSameBytes(binary, bytes),
                     protocol: location.protocol, closed: await ws.closed };
        }, server.url);
        check(result.protocol === 'https:', `test page protocol ${result.protocol}`);
        check(result.text === 'über TLS € 😀', `text echo over wss ${JSON.stringify(result.text)}`);
        check(result.binaryOk, 'binary echo over wss differs from what the browser sent');
        check(result.closed.code === 4000 && result.closed.wasClean,
              `close over wss ${JSON.stringify(result.closed)}, expected a clean 4000`);
    });
}

// The same server without the pin: Chromium must refuse the certificate, so the case
// above passes because of the pin and not because TLS errors are ignored.
async function wss_refused_without_pin() {
    const server = await startServer('--mode', 'echo', ...tlsServerOptions);
    let plain;
    try {
        plain = await work.launch('profile-no-pin');
        const page = await plain.newPage();
        const outcome = await page.goto(server.httpUrl, { timeout: 15000 })
            .then((response) => `loaded with status ${response?.status()}`,
                  (error) => error.message);
        check(/net::ERR_CERT_/.test(outcome),
              `without the pin the https page gave "${outcome}", expected a certificate error`);
    } finally {
        if (plain)
            await closeBrowser(plain, 'closing the second Chromium');
        await server.stop();
    }
}

await work.finish(() => runSuite('server_vs_chromium', [
    text_and_binary_echo, one_mib_messages, deflate_echo, browser_closes_with_4000,
    greeting_mode_greets_first, keepalive_pings_and_server_stop,
    wss_echo_and_close_4000_with_pinned_certificate, wss_refused_without_pin,
], 40000), [browser]);

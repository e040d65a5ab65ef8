// Shared helpers of the Node interop tests (Node's ws, headless Chromium via
// playwright-core): start our wsw binary as a bounded child process, queue what a
// WebSocket receives, and run a list of async cases with a time limit each, printing
// one PASS/FAIL line per case and a closing "N passed, N failed" line.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

// Upper bound on the life of every process we start: `timeout` kills it even when
// this script itself is killed by CTest's TIMEOUT.
export const PROCESS_TIMEOUT_S = 90;
export const SKIP_RETURN_CODE = 77;
export const SIZES = [0, 125, 126, 65535, 65536, 16 * 1024 * 1024];

export function missingPeer(what) {
    if (process.env.WSW_REQUIRE_PEERS === '1') {
        console.log(`FAIL: interop peer missing: ${what}. WSW_REQUIRE_PEERS=1 makes a missing ` +
                    'peer a failure; scripts/install-deps.sh installs it.');
        process.exit(1);
    }
    console.log(`SKIP: interop peer missing: ${what} (scripts/install-deps.sh installs it; ` +
                'with WSW_REQUIRE_PEERS=1 this is a failure).');
    process.exit(SKIP_RETURN_CODE);
}

// Imports an npm package from tests/interop/node_modules, or reports it missing.
export async function importPeer(name) {
    try {
        return await import(name);
    } catch (error) {
        missingPeer(`npm package '${name}' (${error.code ?? error.message}); run npm ci in ` +
                    'tests/interop');
    }
}

export function wswBinary() {
    const path = process.env.WSW_BINARY ?? '';
    try {
        accessSync(path, constants.X_OK);
    } catch {
        console.log(`FAIL: WSW_BINARY does not name an executable wsw (${JSON.stringify(path)}); ` +
                    'CTest sets it to $<TARGET_FILE:wsw>.');
        process.exit(1);
    }
    return path;
}

// Headless Chromium (Debian's, or $WSW_CHROMIUM) through playwright-core, or a missing
// peer: { chromium, executablePath, browserArgs }. The flags suit these machines;
// without the background-networking ones Chromium tries to reach the outside world at
// every start.
export async function chromiumPeer() {
    const { chromium } = await importPeer('playwright-core');
    const executablePath = process.env.WSW_CHROMIUM ?? '/usr/bin/chromium';
    if (!existsSync(executablePath))
        missingPeer(`Chromium at ${executablePath} (Debian package chromium)`);
    const browserArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                         '--disable-background-networking', '--disable-component-update',
                         '--disable-sync', '--disable-dev-shm-usage'];
    return { chromium, executablePath, browserArgs };
}

export class CheckError extends Error {}

export function check(condition, message) {
    if (!condition)
        throw new CheckError(message);
}

export function digest(buffer) {
    return createHash('sha256').update(buffer).digest('hex').slice(0, 16);
}

export function describe(buffer, isBinary) {
    return `${isBinary ? 'binary' : 'text'} ${buffer.length} bytes sha256:${digest(buffer)}`;
}

// Exactly `size` bytes of UTF-8 mixing 1-, 2-, 3- and 4-byte characters (as in Python).
export function textPayload(size) {
    const pattern = 'aé€😀'; // 1 + 2 + 3 + 4 bytes
    const text = pattern.repeat(Math.floor(size / 10));
    return text + 'z'.repeat(size - Buffer.byteLength(text));
}

export function binaryPayload(size) {
    const block = Buffer.alloc(256);
    for (let i = 0; i < 256; ++i)
        block[i] = (i * 167 + 13) & 0xff;
    const out = Buffer.alloc(size);
    for (let offset = 0; offset < size; offset += 256)
        block.copy(out, offset, 0, Math.min(256, size - offset));
    return out;
}

export function withTimeout(promise, ms, what) {
    let timer;
    const limit = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new CheckError(`${what}: nothing within ${ms} ms`)), ms);
    });
    return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

// Every child still running when a case ends is killed then, whatever the case did.
const children = new Set();

export function startProcess(args) {
    const child = spawn('timeout', ['--kill-after=5', String(PROCESS_TIMEOUT_S), ...args],
                        { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    child.exited = new Promise((resolve) => child.on('exit', (code, signal) =>
        resolve(code ?? (signal ? 128 : -1))));
    child.stdin.on('error', () => {}); // EPIPE after the process ended
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
}

// SIGTERM goes to `timeout`, which forwards it to wsw; SIGKILL goes to the whole
// process group (its own, from detached), since `timeout` cannot forward that one.
export async function stopProcess(child, signal = 'SIGTERM', graceMs = 10000) {
    if (child.exitCode === null && child.signalCode === null) {
        if (signal !== 'SIGKILL') {
            child.kill(signal);
            const code = await withTimeout(child.exited, graceMs, 'exit').catch(() => null);
            if (code !== null)
                return code;
        }
        try {
            process.kill(-child.pid, 'SIGKILL');
        } catch {
            // already gone
        }
    }
    return child.exited;
}

// `wsw serve --port 0 ...`: resolves once the listening line is read.
export async function startServer(...options) {
    const args = [wswBinary(), 'serve', '--port', '0', ...options];
    const child = startProcess(args);
    const log = [];
    const errors = [];
    createInterface({ input: child.stderr }).on('line', (line) => errors.push(line));
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
    const first = await withTimeout(new Promise((resolve) => {
        // The log listener goes on at once: wsw prints its next line (the certificate
        // fingerprint with --tls) in the same chunk, before an await would resume.
        lines.once('line', (line) => {
            lines.on('line', (next) => log.push(next));
            resolve(line);
        });
        child.on('exit', () => resolve(''));
    }), 15000, 'listening line of wsw serve').catch(() => '');
    // With --tls the line says wss:// and the pages are served over https.
    const match = /^listening on (wss?):\/\/127\.0\.0\.1:(\d+)\/$/.exec(first);
    if (!match) {
        await stopProcess(child, 'SIGKILL');
        throw new CheckError(`${args.join(' ')}: expected 'listening on ws://127.0.0.1:PORT/', ` +
                             `got ${JSON.stringify(first)}; stderr: ${JSON.stringify(errors)}`);
    }
    const port = Number(match[2]);
    const secure = match[1] === 'wss';
    return {
        port, log, errors,
        url: `${match[1]}://127.0.0.1:${port}/`,
        httpUrl: `${secure ? 'https' : 'http'}://127.0.0.1:${port}/`,
        stop: () => stopProcess(child),
        kill: () => stopProcess(child, 'SIGKILL'),
    };
}

// `wsw connect URL --json [--echo]`: its JSON events, stdin and exit status.
export function startClient(url, { echo = true, options = [] } = {}) {
    const args = [wswBinary(), 'connect', url, '--json', ...options];
    if (echo)
        args.push('--echo');
    const child = startProcess(args);
    const client = {
        events: [], otherLines: [], stderr: [], waiters: [], args,
        find(event, fields = {}) {
            return this.events.filter((e) => e.event === event &&
                Object.entries(fields).every(([k, v]) => e[k] === v));
        },
        waitEvent(event, fields = {}, ms = 10000) {
            const found = this.find(event, fields);
            if (found.length)
                return Promise.resolve(found[0]);
            return withTimeout(new Promise((resolve) => this.waiters.push({ event, fields, resolve })),
                               ms, `wsw connect event ${event} ${JSON.stringify(fields)}; ` +
                                   this.summary());
        },
        sendLine(line) {
            child.stdin.write(line + '\n');
        },
        closeStdin() {
            child.stdin.end();
        },
        async expectExit(status, ms = 15000) {
            const code = await withTimeout(child.exited, ms, `exit of wsw connect; ${this.summary()}`);
            await this.drained;
            check(code === status, `wsw connect exited ${code}, expected ${status}; ${this.summary()}`);
        },
        summary() {
            const short = (e) => { const t = JSON.stringify(e); return t.length < 200 ? t : t.slice(0, 200) + '…'; };
            return `command: ${args.join(' ')}; events: [${this.events.slice(-12).map(short).join(', ')}]` +
                   `; other stdout: ${JSON.stringify(this.otherLines.slice(-5))}` +
                   `; stderr: ${JSON.stringify(this.stderr.slice(-5))}`;
        },
        kill: () => stopProcess(child, 'SIGKILL'),
    };
    createInterface({ input: child.stderr }).on('line', (line) => client.stderr.push(line));
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
    client.drained = new Promise((resolve) => lines.on('close', resolve));
    lines.on('line', (line) => {
        let event;
        try {
            event = JSON.parse(line);
        } catch {
            client.otherLines.push(line);
            return;
        }
        client.events.push(event);
        client.waiters = client.waiters.filter((w) => {
            const hit = w.event === event.event &&
                Object.entries(w.fields).every(([k, v]) => event[k] === v);
            if (hit)
                w.resolve(event);
            return !hit;
        });
    });
    return client;
}

// The payload of a wsw --json message event as a Buffer.
export function messageBytes(event) {
    return event.type === 'binary' ? Buffer.from(event.data ?? '', 'base64')
                                   : Buffer.from(event.data ?? '', 'utf8');
}

// Queues what a ws WebSocket receives so a test can await the next one in order.
export function receiver(ws) {
    const queue = [];
    const waiters = [];
    const push = (item) => (waiters.length ? waiters.shift()(item) : queue.push(item));
    ws.on('message', (data, isBinary) => push({ data: Buffer.from(data), isBinary }));
    ws.on('close', (code, reason) => push({ closed: true, code, reason: reason.toString() }));
    return {
        next(ms = 20000) {
            if (queue.length)
                return Promise.resolve(queue.shift());
            return withTimeout(new Promise((resolve) => waiters.push(resolve)), ms, 'next message');
        },
    };
}

export function checkSame(got, expected, expectBinary, what) {
    check(!got.closed, `${what}: connection closed (${got.code} ${got.reason}) instead of a message`);
    check(got.isBinary === expectBinary && got.data.equals(expected),
          `${what}: expected ${describe(expected, expectBinary)}, got ${describe(got.data, got.isBinary)}`);
}

// Runs cases (async functions; their names are the case names) one after the other.
export async function runSuite(name, cases, caseTimeoutMs = 45000) {
    const selected = process.argv.slice(2);
    let passed = 0;
    let failed = 0;
    const started = Date.now();
    for (const testCase of cases) {
        if (selected.length && !selected.includes(testCase.name))
            continue;
        const begin = Date.now();
        try {
            await withTimeout(testCase(), caseTimeoutMs, 'case');
            ++passed;
            console.log(`PASS ${name}.${testCase.name} (${((Date.now() - begin) / 1000).toFixed(2)} s)`);
        } catch (error) {
            ++failed;
            const text = error instanceof CheckError ? error.message : (error?.stack ?? String(error));
            console.log(`FAIL ${name}.${testCase.name}: ${text}`);
        }
        await Promise.all([...children].map((child) => stopProcess(child, 'SIGKILL')));
    }
    console.log(`${name}: ${passed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return failed === 0 && passed > 0 ? 0 : 1;
}

// `wsw relay --proxy` with headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) pointed at it: --proxy-server, loopback not bypassed, and the
// relay's certificate authority trusted through a pin of its public key (the value
// `wsw relay --ca-info` prints). The pages come from our own servers (`wsw serve`,
// with --tls for https): the https page is passed through the proxy to the real
// server, the plain one forwarded; the WebSockets they open become relayed pairs,
// and both legs of each are in the relay's --save log.

import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

import { ChromiumWork, closeBrowser, inNewPage, spkiPin as spkiPinOf } from '../interop/chromium.mjs';
import {
    CheckError, check, runSuite, startProcess, startServer, stopProcess, withTimeout, wswBinary,
} from '../interop/support.mjs';

const work = await ChromiumWork.start('wsw-proxy-chromium-');
const caDir = work.path('ca');

// The upstream's own certificate for 127.0.0.1, which the relay (not Chromium) trusts
// with --ca when it passes the https page through.
const { certPath, keyPath } = work.selfSignedCertificate(
    'upstream', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], '/CN=upstream',
    'IP:127.0.0.1');

// `wsw relay --ca-info` makes the authority and prints its pin; the pin must be the
// base64 SHA-256 of the SubjectPublicKeyInfo of the certificate it wrote.
const info = spawnSync('timeout', ['30', wswBinary(), 'relay', '--ca-info', '--ca-dir', caDir],
                       { encoding: 'utf8' });
const spkiLine = /^spki sha256 base64 (\S+)$/m.exec(info.stdout ?? '');
const caFile = `${caDir}/ca.crt`;
const caCertificate = existsSync(caFile) ? new X509Certificate(readFileSync(caFile)) : null;
if (info.status !== 0 || !spkiLine || !caCertificate)
    work.fail(`wsw relay --ca-info exited ${info.status}: ${info.stdout} ${info.stderr}`);
const spkiPin = spkiPinOf(caCertificate);

// `wsw relay --proxy 0 ...`: resolves once it says where it listens.
async function startProxy(savePath) {
    const args = [wswBinary(), 'relay', '--proxy', '0', '--ca-dir', caDir, '--ca', certPath,
                  '--save', savePath];
    const child = startProcess(args);
    const log = [];
    createInterface({ input: child.stderr }).on('line', (line) => log.push(line));
    const lines = createInterface({ input: child.stdout });
    const first = await withTimeout(new Promise((resolve) => {
        lines.once('line', resolve);
        child.on('exit', () => resolve(''));
    }), 15000, 'listening line of wsw relay --proxy').catch(() => '');
    const match = /^proxy listening on http:\/\/127\.0\.0\.1:(\d+)\/$/.exec(first);
    if (!match) {
        await stopProcess(child, 'SIGKILL');
        throw new CheckError(`${args.join(' ')}: got ${JSON.stringify(first)}; ${JSON.stringify(log)}`);
    }
    return { port: Number(match[1]), log, stop: () => stopProcess(child) };
}

// The records of a --save log, and the connections it names.
function readLog(path) {
    const rows = readFileSync(path, 'utf8').split('\n').filter((line) => line).map((line) => JSON.parse(line));
    return {
        connections: rows.filter((row) => row.type === 'connection'),
        records: rows.filter((row) => row.type === 'record'),
    };
}

// The texts one log connection received, decoded.
function receivedTexts(log, conn) {
    return log.records.filter((r) => r.conn === conn && r.dir === 'received' && r.kind === 'text' &&
                                     r.payload !== undefined)
        .map((r) => Buffer.from(r.payload, 'base64').toString('utf8'));
}

// Loads `pageUrl` through the proxy, opens `wsUrl` from it, echoes one text and
// closes with 1000; what the page saw.
async function echoThroughProxy(browser, pageUrl, wsUrl, text) {
    return inNewPage(browser, async (page) => {
        const response = await page.goto(pageUrl, { timeout: 15000 });
        check(response && response.status() === 200, `GET ${pageUrl} answered ${response?.status()}`);
        check((await response.text()).includes('<!DOCTYPE html>'), `${pageUrl} is not the test page`);
        return await page.evaluate(async ({ url, message }) => {
            const ws = new WebSocket(url);
            await new Promise((resolve, reject) => {
                ws.onopen = resolve;
                ws.onerror = () => reject(new Error(`WebSocket error before open (${url})`));
            });
            const echo = new Promise((resolve) => { ws.onmessage = (event) => resolve(event.data); });
            ws.send(message);
            const received = await echo;
            const closed = new Promise((resolve) => {
                ws.onclose = (event) => resolve({ code: event.code, wasClean: event.wasClean });
            });
            ws.close(1000);
            return { received, closed: await closed, protocol: location.protocol };
        }, { url: wsUrl, message: text });
    });
}

// Both legs of a pair to `target` in the log (the test page opens a WebSocket of its
// own too): the client leg received `text` from Chromium, the server leg its echo
// from the upstream.
function checkPairLogged(log, target, text) {
    const servers = log.connections.filter((c) => / server$/.test(c.name) && c.url === target);
    check(servers.length, `no server leg to ${target} in the log: ${JSON.stringify(log.connections)}`);
    const pairs = servers.map((server) => ({
        server, client: log.connections.find((c) => c.id === server.id - 1 && / client$/.test(c.name)),
    }));
    check(pairs.some(({ server, client }) => client && receivedTexts(log, client.id).includes(text) &&
                                             receivedTexts(log, server.id).includes(text)),
          `no pair to ${target} logged ${JSON.stringify(text)} on both legs: ` +
          JSON.stringify(pairs.map(({ server, client }) => [client && receivedTexts(log, client.id),
                                                            receivedTexts(log, server.id)])));
}

async function ca_info_pin_is_the_spki_hash() {
    check(spkiLine[1] === spkiPin,
          `wsw relay --ca-info printed ${spkiLine[1]}, the certificate's SPKI hash is ${spkiPin}`);
    const again = spawnSync('timeout', ['30', wswBinary(), 'relay', '--ca-info', '--ca-dir', caDir],
                            { encoding: 'utf8' });
    check(again.stdout.includes(`sha256 ${caCertificate.fingerprint256}`),
          `a second --ca-info shows another authority: ${again.stdout}`);
}

// Our server with `serverArgs`, the relay's proxy saving to `saveName`, and a Chromium
// that goes through it; body(browser, server, proxy). The proxy's --save log once all
// have stopped.
async function withProxyAndBrowser(serverArgs, saveName, body) {
    const server = await startServer(...serverArgs);
    const savePath = work.path(saveName);
    let proxy;
    let browser;
    try {
        proxy = await startProxy(savePath);
        browser = await work.launch(`profile-${saveName}`, [
            `--proxy-server=http://127.0.0.1:${proxy.port}`, '--proxy-bypass-list=<-loopback>',
            `--ignore-certificate-errors-spki-list=${spkiPin}`,
        ]);
        await body(browser, server, proxy);
    } finally {
        if (browser)
            await closeBrowser(browser);
        if (proxy)
            await proxy.stop();
        await server.stop();
    }
    return { server, proxy, log: readLog(savePath) };
}

async function https_page_and_wss_through_the_proxy() {
    const text = 'über wss ✓';
    const { server, proxy, log } = await withProxyAndBrowser(
        ['--mode', 'echo', '--tls', '--cert', certPath, '--key', keyPath], 'wss.jsonl',
        async (browser, server) => {
            const result = await echoThroughProxy(browser, `https://127.0.0.1:${server.port}/`,
                                                  `wss://127.0.0.1:${server.port}/`, text);
            check(result.protocol === 'https:', `page protocol ${result.protocol}`);
            check(result.received === text, `echo through the proxy ${JSON.stringify(result.received)}`);
            check(result.closed.code === 1000 && result.closed.wasClean,
                  `close ${JSON.stringify(result.closed)}`);
        });
    check(proxy.log.some((line) => line.includes(`CONNECT 127.0.0.1:${server.port}: intercepted`)),
          `no intercepted CONNECT in the relay's log: ${JSON.stringify(proxy.log)}`);
    check(proxy.log.some((line) => line.includes(`GET https://127.0.0.1:${server.port}/: passed through`)),
          `the page was not passed through: ${JSON.stringify(proxy.log)}`);
    checkPairLogged(log, `wss://127.0.0.1:${server.port}/`, text);
}

async function http_page_and_ws_through_the_proxy() {
    const text = 'plain ws ✓';
    const { server, proxy, log } = await withProxyAndBrowser(
        ['--mode', 'echo'], 'ws.jsonl', async (browser, server) => {
            const result = await echoThroughProxy(browser, `http://127.0.0.1:${server.port}/`,
                                                  `ws://127.0.0.1:${server.port}/`, text);
            check(result.received === text, `echo through the proxy ${JSON.stringify(result.received)}`);
            check(result.closed.code === 1000 && result.closed.wasClean,
                  `close ${JSON.stringify(result.closed)}`);
        });
    check(proxy.log.some((line) => line.includes(`GET http://127.0.0.1:${server.port}/: forwarded`)),
          `the page was not forwarded: ${JSON.stringify(proxy.log)}`);
    checkPairLogged(log, `ws://127.0.0.1:${server.port}/`, text);
}

await work.finish(() => runSuite('proxy_chromium', [
    ca_info_pin_is_the_spki_hash, https_page_and_wss_through_the_proxy,
    http_page_and_ws_through_the_proxy,
], 60000));

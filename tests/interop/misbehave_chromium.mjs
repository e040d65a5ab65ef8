// `wsw serve` misbehaving on purpose, seen by headless Chromium (Debian's
// /usr/bin/chromium through playwright-core): a connection the server ends abruptly
// (TCP FIN or RST without a close frame) closes with 1006 in the page, a staged
// clean close with its code, and delayed replies are measured in the page.
// The page is the server's own test page (Chromium refuses a WebSocket to 127.0.0.1
// from a page whose origin is not local).

import { ChromiumWork } from './chromium.mjs';
import { check, runSuite, startServer, withTimeout } from './support.mjs';

const work = await ChromiumWork.start('wsw-chromium-');
const browser = await work.launchOrFail('profile');

// In the page: opens a WebSocket, sends `messages` one after the other (each waiting
// for its reply) and resolves with the reply times and the close event.
function runInPage({ url, messages }) {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        const replies = [];
        let sentAt = 0;
        const sendNext = () => {
            if (replies.length < messages.length) {
                sentAt = performance.now();
                ws.send(messages[replies.length]);
            }
        };
        ws.onopen = sendNext;
        ws.onmessage = (event) => {
            replies.push({ data: event.data, ms: performance.now() - sentAt });
            sendNext();
        };
        ws.onclose = (event) => resolve({ replies, code: event.code, reason: event.reason,
                                          wasClean: event.wasClean });
        setTimeout(() => reject(new Error('no close event within 10 s')), 10000);
    });
}

async function withPage(serverOptions, messages) {
    const server = await startServer(...serverOptions);
    const page = await browser.newPage();
    try {
        const response = await page.goto(server.httpUrl, { timeout: 15000 });
        check(response && response.status() === 200, `test page answered ${response?.status()}`);
        return await withTimeout(page.evaluate(runInPage, { url: server.url, messages }), 15000,
                                 'page');
    } finally {
        await page.close().catch(() => {});
        await server.kill();
    }
}

async function abrupt_close_is_1006() {
    for (const how of ['rst', 'fin']) {
        const result = await withPage(['--close-after', `2:${how}`], ['one', 'two']);
        check(result.replies.length >= 1 && result.replies[0].data === 'one', `${how}: first echo`);
        check(result.code === 1006 && !result.wasClean,
              `${how}: close ${JSON.stringify(result)}, expected 1006 and not clean`);
    }
}

async function staged_clean_close_and_delays() {
    const result = await withPage(['--delay', '120', '--close-after', '3:clean:4003:enough'],
                                  ['a', 'b', 'c']);
    check(result.replies.map((r) => r.data).join('') === 'abc', `replies ${JSON.stringify(result)}`);
    check(result.replies.every((r) => r.ms >= 110 && r.ms < 1000),
          `reply times ${result.replies.map((r) => r.ms.toFixed(0))} ms, expected about 120`);
    check(result.code === 4003 && result.reason === 'enough' && result.wasClean,
          `close ${JSON.stringify(result)}, expected a clean 4003`);
}

await work.finish(() => runSuite('misbehave_chromium',
                                 [abrupt_close_is_1006, staged_clean_close_and_delays], 40000),
                  [browser]);

// The HTML report of `wsw probe` opened in headless Chromium (Debian's /usr/bin/chromium
// through playwright-core, tests/interop's npm packages): it loads from file:// with no
// console error and no request leaving the file, shows one row per case with its
// verdict colours, and the verdict filter hides and shows rows.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { importPeer, missingPeer, startServer, wswBinary } from '../interop/support.mjs';

const { chromium } = await importPeer('playwright-core');
const executablePath = process.env.WSW_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(executablePath))
    missingPeer(`Chromium at ${executablePath} (Debian package chromium)`);

const failures = [];
const check = (condition, message) => {
    if (!condition) {
        failures.push(message);
        console.log(`FAIL: ${message}`);
    }
};

const work = mkdtempSync(join(tmpdir(), 'wsw-probe-html-'));
const server = await startServer('-q');
let browser;
try {
    const reportDir = join(work, 'report');
    const probe = spawnSync('timeout', ['120', wswBinary(), 'probe', server.url, '--cases',
                                        '1.1.*,2.*,3.1,6.4.*,7.1.*,7.13.*,H.1.*', '--report', reportDir, '-q'],
                            { encoding: 'utf8', timeout: 130000 });
    check(probe.status === 0, `wsw probe exited ${probe.status}: ${probe.stderr}`);
    const index = JSON.parse(readFileSync(join(reportDir, 'index.json'), 'utf8')).server;
    const caseCount = Object.keys(index).length;

    browser = await chromium.launch({
        executablePath, headless: true, timeout: 30000,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync',
               '--disable-dev-shm-usage'],
    });
    const page = await browser.newPage();
    const messages = [];
    const requests = [];
    page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning')
            messages.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => messages.push(`pageerror: ${error.message}`));
    page.on('request', (request) => requests.push(request.url()));
    const url = pathToFileURL(join(reportDir, 'index.html')).href;
    await page.goto(url, { timeout: 15000, waitUntil: 'load' });
    check(messages.length === 0, `console errors: ${JSON.stringify(messages)}`);
    check(requests.every((r) => r === url), `requests besides the page: ${JSON.stringify(requests)}`);
    const rows = await page.locator('tr[data-verdict]').count();
    check(rows === caseCount, `${rows} rows for ${caseCount} cases`);
    const informational = Object.values(index).filter((c) => c.behavior === 'INFORMATIONAL').length;
    check(informational === 3, `7.1.6, 7.13.1 and 7.13.2 are INFORMATIONAL: ${informational}`);
    // The verdict colours come from the stylesheet.
    const okColour = await page.locator('td.v-ok').first()
        .evaluate((cell) => getComputedStyle(cell).backgroundColor);
    check(okColour === 'rgb(0, 170, 0)', `OK cell colour ${okColour}`);
    await page.selectOption('#verdict', 'INFORMATIONAL');
    const visible = await page.locator('tr[data-verdict]:visible').count();
    check(visible === informational, `filter INFORMATIONAL shows ${visible} rows`);
    await page.selectOption('#verdict', '');
    check(await page.locator('tr[data-verdict]:visible').count() === caseCount, 'filter reset');
    // A case's details open with its frames.
    await page.locator('tr[data-verdict] details summary').first().click();
    const details = await page.locator('tr[data-verdict] details pre').first().innerText();
    check(details.includes('tx') && details.includes('rx'), `frames in the details: ${details.slice(0, 200)}`);
    check(messages.length === 0, `console errors after use: ${JSON.stringify(messages)}`);
} catch (error) {
    failures.push(error.message);
    console.log(`FAIL: ${error.message}`);
} finally {
    await browser?.close().catch(() => {});
    await server.stop();
    rmSync(work, { recursive: true, force: true });
}
if (failures.length) {
    console.log(`${failures.length} check(s) failed`);
    process.exit(1);
}
console.log('PASS: the HTML report in headless Chromium');

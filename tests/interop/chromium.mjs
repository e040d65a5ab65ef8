// Headless Chromium as the Chromium suites start it (Debian's /usr/bin/chromium driven
// by playwright-core, found by chromiumPeer()): a work folder of the suite's own,
// removed when the suite ends or its set-up fails; self-signed certificates made there
// with openssl; the pin Chromium trusts a certificate's public key by; browsers with
// a fresh profile in the folder each.

import { spawnSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromiumPeer, missingPeer, withTimeout } from './support.mjs';

// The base64 SHA-256 of a certificate's SubjectPublicKeyInfo (DER): what
// --ignore-certificate-errors-spki-list takes. Chromium honours it only with a user
// data directory, which ChromiumWork.launch() gives.
export function spkiPin(certificate) {
    return createHash('sha256')
        .update(certificate.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}

// Closes a browser, bounded; a browser that hangs on closing does not fail the suite.
export async function closeBrowser(browser, what = 'closing Chromium') {
    await withTimeout(browser.close(), 15000, what).catch(() => {});
}

// Runs body(page) in a new page of `browser`, closed after; an error thrown carries
// the last things the page's console said (messages and uncaught errors).
export async function inNewPage(browser, body) {
    const page = await browser.newPage();
    const console_ = [];
    page.on('console', (message) => console_.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => console_.push(`pageerror: ${error.message}`));
    try {
        return await body(page);
    } catch (error) {
        if (console_.length)
            error.message += `; browser console: ${JSON.stringify(console_.slice(-8))}`;
        throw error;
    } finally {
        await page.close().catch(() => {});
    }
}

export class ChromiumWork {
    // Chromium (or the end of the process, as a missing peer) and a fresh work folder
    // named after `prefix` ('wsw-chromium-').
    static async start(prefix) {
        const peer = await chromiumPeer();
        return new ChromiumWork(peer, mkdtempSync(join(tmpdir(), prefix)));
    }

    constructor({ chromium, executablePath, browserArgs }, dir) {
        this.chromium = chromium;
        this.executablePath = executablePath;
        this.browserArgs = browserArgs;
        this.dir = dir;
    }

    path(name) {
        return join(this.dir, name);
    }

    remove() {
        rmSync(this.dir, { recursive: true, force: true });
    }

    // Ends the process: the suite could not be set up.
    fail(message) {
        this.remove();
        console.log(`FAIL: ${message}`);
        process.exit(1);
    }

    // A self-signed certificate from `openssl req`, valid two days, in `name`.pem with
    // its key in `name`.key: `keyArgs` choose the key (['-newkey', 'rsa:2048']), then
    // the subject ('/CN=localhost') and subjectAltName ('IP:127.0.0.1'). Returns the
    // files and the certificate read back.
    selfSignedCertificate(name, keyArgs, subject, altNames) {
        const certPath = this.path(`${name}.pem`);
        const keyPath = this.path(`${name}.key`);
        const openssl = spawnSync('openssl', [
            'req', '-x509', ...keyArgs, '-nodes', '-keyout', keyPath, '-out', certPath,
            '-days', '2', '-subj', subject, '-addext', `subjectAltName=${altNames}`,
        ], { encoding: 'utf8', timeout: 30000 });
        if (openssl.error?.code === 'ENOENT') {
            this.remove();
            missingPeer('openssl (Debian package openssl)');
        }
        if (openssl.status !== 0)
            this.fail(`openssl req exited ${openssl.status}: ${openssl.stderr}`);
        return { certPath, keyPath, certificate: new X509Certificate(readFileSync(certPath)) };
    }

    // A headless browser with a fresh profile `profile` in the folder, and `args` after
    // the usual ones.
    launch(profile, args = []) {
        return this.chromium.launchPersistentContext(this.path(profile), {
            executablePath: this.executablePath, headless: true, timeout: 30000,
            args: [...this.browserArgs, ...args],
        });
    }

    // launch(), or the end of the process when Chromium does not start.
    async launchOrFail(profile, args = []) {
        try {
            return await this.launch(profile, args);
        } catch (error) {
            this.fail(`could not start ${this.executablePath} through playwright-core: ${error.message}`);
        }
        return null;
    }

    // Runs the suite (`run` resolves to its exit status), then closes `browsers` and
    // removes the folder whatever happened, and exits with that status.
    async finish(run, browsers = []) {
        let status = 1;
        try {
            status = await run();
        } finally {
            for (const browser of browsers)
                await closeBrowser(browser);
            this.remove();
        }
        process.exit(status);
    }
}

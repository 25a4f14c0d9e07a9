// The dashboard plays a recording stored in S3 (serve --object-store s3 against moto): the
// player loads it and seeks in it through the API's ranged reads, in real headless Chromium.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { tempDir, startServer, callerLine, callOnce, createDeployedAgent, sleep } from '../integration/lib/server.mjs';
import { startMoto } from '../integration/lib/moto.mjs';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const PASSWORD = 's3-browser-password-1';
let context;
after(async () => { await context?.close(); });

// page.waitForFunction evaluates strings, which the dashboard's CSP refuses; poll instead.
async function waitInPage(page, predicate, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate(predicate))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${predicate}`);
    await sleep(50);
  }
}

test('the call page plays and seeks a recording stored in S3', async () => {
  const moto = await startMoto();
  const data = tempDir('tempo-s3-browser-');
  const server = await startServer(data, ['--object-store', 's3', '--s3-endpoint', moto.url],
    { env: { ...moto.env, TEMPO_ADMIN_PASSWORD: PASSWORD } });
  try {
    const agent = await createDeployedAgent(server, PASSWORD, {
      agentId: 's3-player', agentName: 'S3 Player', engine: 'echo', twilioAuthToken: 'test-auth-token-0123456789abcdef' });
    const wav = await callerLine(data);
    const sid = (await callOnce(server, agent, wav, 4)).call_sid;

    mkdirSync(join(data, 'profile'));
    context = await chromium.launchPersistentContext(join(data, 'profile'), {
      executablePath: CHROMIUM, headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
    });
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(15000);
    const ranges = [];
    page.on('request', (r) => { if (r.url().endsWith('/recording.wav')) ranges.push(r.headers().range ?? 'none'); });
    await page.goto(`${server.base}/dashboard/login`);
    await page.getByLabel('Email').fill('admin@localhost');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: /log in/i }).click();
    await page.waitForURL((url) => !url.pathname.endsWith('/login'));
    // The call reaches the list once its artefacts are in S3 and it is indexed.
    for (let i = 0; i < 50; i++) {
      await page.goto(`${server.base}/dashboard/calls/${sid}`);
      await page.locator('#recording, main p.muted, main p.error').first().waitFor();
      if (await page.locator('#recording').count()) break;
      await sleep(200);
    }
    await page.locator('#recording').waitFor();
    await waitInPage(page, () => document.querySelector('#recording').readyState >= 1);
    const duration = await page.evaluate(() => document.querySelector('#recording').duration);
    assert.ok(duration > 3 && duration < 10, `the recording lasts ${duration} s`);
    await page.evaluate(() => { document.querySelector('#recording').currentTime = 2.5; });
    await waitInPage(page, () => {
      const a = document.querySelector('#recording');
      return !a.seeking && Math.abs(a.currentTime - 2.5) < 0.1 && a.readyState >= 2;
    });
    assert.ok(ranges.some((r) => r.startsWith('bytes=')), `the player asked for ranges: ${ranges}`);
    assert.doesNotMatch(server.logs(), /AddressSanitizer|runtime error:|LeakSanitizer/);
  } finally {
    await context?.close();
    context = undefined;
    await server.stop();
    moto.stop();
  }
});

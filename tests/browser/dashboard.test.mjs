// The dashboard in real headless Chromium against the real `tempovoice serve`: log in, create
// (with per-field errors first), deploy, assign a number, find a `tempovoice call` in the list,
// play its recording, talk to the agent with Chromium's fake microphone, and talk to the demo
// agent the first run deployed (the offline speech engine).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

// page.waitForFunction polls by evaluating a string in the page, which the dashboard's CSP
// (no 'unsafe-eval') refuses once the condition is not true at the first try; page.evaluate
// goes through the DevTools protocol instead.
async function waitInPage(page, predicate, arg, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate(predicate, arg))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${predicate}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
import { chromium } from 'playwright-core';

const BIN = process.env.TEMPOVOICE_BIN;
if (!BIN) throw new Error('TEMPOVOICE_BIN must point at the tempovoice binary');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const SCREENSHOT = process.env.DASHBOARD_SCREENSHOT ||
  join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'dashboard.png');
const PASSWORD = 'browser-test-password-1';
const TOKEN = 'browser-test-auth-token-0123456789';
const AGENT = 'front-desk';
const NUMBER = '+14155550123';

let dir, server, context, page, base, serverLog = '';
const pageErrors = [];

function startServer(dataDir) {
  const child = spawn(BIN, ['serve', '--port', '0', '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TEMPO_ADMIN_PASSWORD: PASSWORD },
  });
  child.stderr.on('data', (d) => { serverLog += d; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${serverLog}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[^\s]+)/);
      if (m) { clearTimeout(timer); resolve({ child, exited, base: m[1].replace(/\/$/, '') }); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`serve exited ${code}: ${serverLog}`)); });
  });
}

/** Mono PCM16 WAV at `rate`: `before` s of silence, `tone` s of 300 Hz, `after` s of silence. */
function writeToneWav(path, { rate = 8000, before = 0.5, tone = 1, after = 1.5 } = {}) {
  const total = Math.round((before + tone + after) * rate);
  const pcm = Buffer.alloc(total * 2);
  for (let i = 0; i < total; i++) {
    const t = i / rate;
    const speech = t >= before && t < before + tone;
    pcm.writeInt16LE(speech ? Math.round(8000 * Math.sin(2 * Math.PI * 300 * t)) : 0, i * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0); header.writeUInt32LE(36 + pcm.length, 4); header.write('WAVE', 8);
  header.write('fmt ', 12); header.writeUInt32LE(16, 16); header.writeUInt16LE(1, 20); header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rate, 24); header.writeUInt32LE(rate * 2, 28); header.writeUInt16LE(2, 32); header.writeUInt16LE(16, 34);
  header.write('data', 36); header.writeUInt32LE(pcm.length, 40);
  writeFileSync(path, Buffer.concat([header, pcm]));
}

function run(args) {
  return new Promise((resolve) => {
    const child = spawn(BIN, args);
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tempo-browser-'));
  server = await startServer(join(dir, 'data'));
  base = server.base;
  mkdirSync(join(dir, 'profile'));
  // The fake microphone plays this file in a loop (its default beeps are too short to be
  // speech): a second of tone, then silence long enough for the echo to play out.
  writeToneWav(join(dir, 'mic.wav'), { rate: 16000, before: 0, tone: 1, after: 2 });
  context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${join(dir, 'mic.wav')}`,
      '--autoplay-policy=no-user-gesture-required'],
  });
  await context.grantPermissions(['microphone'], { origin: base });
  page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // Refused requests (401 before login, 4xx the tests provoke) are logged as "Failed to load
  // resource"; anything else (script errors, CSP violations) is a failure.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
  });
  page.setDefaultTimeout(15000);
});

after(async () => {
  await context?.close();
  if (server) { server.child.kill('SIGTERM'); await server.exited; }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the dashboard pages are served with a CSP and no-cache, assets with their types', async () => {
  const res = await fetch(`${base}/dashboard/calls`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/html/);
  assert.match(res.headers.get('content-security-policy'), /script-src 'self'/);
  assert.equal(res.headers.get('cache-control'), 'no-cache');
  const js = await fetch(`${base}/dashboard/assets/app.js`);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  const again = await fetch(`${base}/dashboard/assets/app.js`, { headers: { 'If-None-Match': js.headers.get('etag') } });
  assert.equal(again.status, 304);
  assert.equal((await fetch(`${base}/dashboard/assets/nope.js`)).status, 404);
});

test('log in', async () => {
  await page.goto(`${base}/dashboard`);
  await page.waitForURL(/\/dashboard\/login/);
  await page.getByLabel('Email').fill('admin@localhost');
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#login-error').filter({ hasText: /./ }).waitFor();
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  assert.match(await page.locator('#who').textContent(), /admin@localhost/);
});

test('create an agent: per-field errors next to the fields, then a valid agent', async () => {
  await page.getByRole('link', { name: 'Agents', exact: true }).click();
  await page.getByRole('button', { name: 'New agent' }).click();
  await page.getByLabel('Agent ID').fill('Bad ID!');
  await page.getByLabel('Name', { exact: true }).fill('Front desk');
  await page.getByLabel('Phone number').fill('12345');
  await page.getByLabel('Max session duration (s)').fill('-5');
  await page.getByRole('button', { name: 'Create agent' }).click();
  const idError = page.locator('#f-agentId-error');
  await idError.filter({ hasText: /./ }).waitFor();
  assert.equal(await page.getByLabel('Agent ID').getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('#f-callPhoneNumber-error').textContent(), /E\.164/);
  assert.notEqual(await page.locator('#f-maxSessionDuration-error').textContent(), '');
  assert.equal(await page.locator('#f-agentName-error').textContent(), '');

  await page.getByLabel('Agent ID').fill(AGENT);
  await page.getByLabel('Phone number').fill(NUMBER);
  await page.getByLabel('Max session duration (s)').fill('300');
  await page.getByLabel('Speech engine').selectOption('echo');
  await page.getByLabel('Prompt').fill('You are the front desk of a small clinic.');
  await page.getByLabel('Twilio auth token').fill(TOKEN);
  await page.getByRole('button', { name: 'Create agent' }).click();
  await page.waitForURL(`${base}/dashboard/agents/${AGENT}`);
  await page.getByRole('heading', { name: 'Front desk' }).waitFor();
  assert.equal(await page.getByLabel('Twilio auth token').getAttribute('placeholder'), 'set — leave empty to keep');
});

test('edit with If-Match, then deploy and watch it become ready', async () => {
  await page.getByLabel('Description').fill('Answers the clinic line');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Agent saved').waitFor();
  // Someone else changes the agent meanwhile: saving the stale form is refused, not merged.
  await page.evaluate(async (agent) => {
    const me = await (await fetch('/api/v1/auth/me')).json();
    const cur = await fetch(`/api/v1/agents/${agent}`);
    await fetch(`/api/v1/agents/${agent}`, { method: 'PATCH', body: JSON.stringify({ voiceId: 'other' }),
      headers: { 'X-CSRF-Token': me.csrfToken, 'Content-Type': 'application/merge-patch+json', 'If-Match': cur.headers.get('ETag') } });
  }, AGENT);
  await page.getByLabel('Description').fill('A stale edit');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.locator('#form-error').filter({ hasText: 'Someone else changed this agent' }).waitFor();
  await page.reload();
  assert.equal(await page.getByLabel('Description').inputValue(), 'Answers the clinic line');
  assert.equal(await page.getByLabel('Voice').inputValue(), 'other');
  await page.locator('#deploy').click();
  await page.locator('#deploy-state').filter({ hasText: 'ready' }).waitFor();
  assert.equal(await page.locator('.steps li.done').count(), await page.locator('.steps li').count());
});

test('assign a number and see the exact Voice URL', async () => {
  await page.getByRole('link', { name: 'Numbers' }).click();
  await page.getByLabel('Phone number (E.164)').fill('555');
  await page.getByRole('button', { name: 'Assign' }).click();
  await page.locator('#n-e164-error').filter({ hasText: /./ }).waitFor();
  await page.getByLabel('Phone number (E.164)').fill(NUMBER);
  await page.getByLabel('Agent', { exact: true }).selectOption(AGENT);
  await page.getByRole('button', { name: 'Assign' }).click();
  const url = page.locator('.voice-url');
  await url.waitFor();
  assert.equal(await url.textContent(), `${base}/agent/${AGENT}/incoming-call`);
  assert.equal(await page.locator('tbody tr td:nth-child(4)').first().textContent(), 'POST');
});

let phoneCallSid;
test('a `tempovoice call` appears in the call list; its detail plays and seeks', async () => {
  writeToneWav(join(dir, 'tone.wav'));
  const r = await run(['call', '--url', `${base}/agent/${AGENT}/incoming-call`, '--auth-token', TOKEN,
    '--wav', join(dir, 'tone.wav'), '--json']);
  assert.equal(r.code, 0, r.err + r.out);
  phoneCallSid = JSON.parse(r.out).call_sid;
  assert.match(phoneCallSid, /^CA[0-9a-f]{32}$/);

  // The call is indexed once its artefacts are stored: reload the list until it shows.
  const row = page.locator(`a[href="/dashboard/calls/${phoneCallSid}"]`);
  for (let i = 0; i < 50 && !(await row.count()); i++) {
    await page.goto(`${base}/dashboard/calls?agentId=${AGENT}`);
    await page.locator('#calls-table, main p.muted').first().waitFor();
    if (!(await row.count())) await page.waitForTimeout(200);
  }
  await row.click();
  await page.getByRole('heading', { name: 'Call', exact: true }).waitFor();
  const turns = page.locator('#transcript .turn');
  await turns.first().waitFor();
  assert.ok(await turns.count() >= 1);

  const audio = page.locator('#recording');
  await waitInPage(page, () => document.querySelector('#recording').readyState >= 1);
  const duration = await audio.evaluate((a) => a.duration);
  assert.ok(duration > 0, `duration ${duration}`);
  const target = Math.min(1.5, duration / 2);
  const seeked = await audio.evaluate((a, t) => new Promise((resolve) => {
    a.addEventListener('seeked', () => resolve(a.currentTime), { once: true });
    a.currentTime = t;
  }), target);
  assert.ok(Math.abs(seeked - target) < 0.1, `seeked to ${seeked}`);
  // Clicking a turn seeks to its start.
  const last = turns.last();
  const startMs = Number(await last.getAttribute('data-start'));
  await last.click();
  await waitInPage(page, (t) => Math.abs(document.querySelector('#recording').currentTime - t) < 0.5, startMs / 1000);
  await page.evaluate(() => document.querySelector('#recording').pause());
  await page.screenshot({ path: SCREENSHOT });
});

test('talk to the agent from the browser with the fake microphone', async () => {
  await page.goto(`${base}/dashboard/agents/${AGENT}`);
  await page.locator('#talk').click();
  await page.locator('#talk-status').filter({ hasText: 'Connected' }).waitFor();
  await page.waitForTimeout(4000);
  await page.getByRole('button', { name: 'Hang up' }).click();
  await page.locator('#talk-status').filter({ hasText: 'Call ended' }).waitFor();
  const href = await page.getByRole('link', { name: 'Open this call' }).getAttribute('href');
  const sid = href.split('/').pop();
  assert.match(sid, /^CA[0-9a-f]{32}$/);
  assert.notEqual(sid, phoneCallSid);
  const row = page.locator(`a[href="/dashboard/calls/${sid}"]`);
  for (let i = 0; i < 50 && !(await row.count()); i++) {
    await page.goto(`${base}/dashboard/calls`);
    await page.locator('#calls-table, main p.muted').first().waitFor();
    if (!(await row.count())) await page.waitForTimeout(200);
  }
  assert.equal(await row.count(), 1, serverLog.slice(-2000));
  await row.click();
  // Once in a CI run the page did not show the player within 15 s (not seen since). A second
  // look at the same page tells a page that lost a render from a call without a recording;
  // what the first look saw is printed either way.
  const player = page.locator('#recording');
  if (!(await player.waitFor().then(() => true, () => false))) {
    const shown = await page.locator('main').innerText().catch(() => '');
    const api = await page.evaluate(async (s) => (await fetch(`/api/v1/calls/${s}`)).text(), sid);
    console.error(`no player after 15 s at ${page.url()}\npage: ${shown}\napi: ${api}\nserver: ${serverLog.slice(-3000)}`);
    await page.goto(`${base}/dashboard/calls/${sid}`);
    await player.waitFor();
  }
  const call = await page.evaluate(async (s) => (await fetch(`/api/v1/calls/${s}`)).json(), sid);
  assert.equal(call.agentId, AGENT);
  assert.equal(call.from, 'browser');
  assert.ok(call.durationMs >= 3000, `duration ${call.durationMs}`);
  // Chromium's fake microphone beeps: the caller was heard, the echo agent answered, and the
  // page echoed the agent's marks once their audio had played.
  const transcript = await page.evaluate(async (s) => (await fetch(`/api/v1/calls/${s}/transcript`)).json(), sid);
  assert.ok(transcript.turns.some((t) => t.role === 'caller'), JSON.stringify(transcript.turns));
  assert.ok(transcript.turns.some((t) => t.role === 'agent' && t.text.startsWith('[echo')), JSON.stringify(transcript.turns));
  assert.ok(call.metadata.marks.played >= 1, JSON.stringify(call.metadata.marks));
  const energy = await page.evaluate(async (s) => {
    const wav = new DataView(await (await fetch(`/api/v1/calls/${s}/recording.wav`)).arrayBuffer());
    let left = 0, right = 0;
    for (let i = 44; i + 3 < wav.byteLength; i += 4) { left += Math.abs(wav.getInt16(i, true)); right += Math.abs(wav.getInt16(i + 2, true)); }
    return { left, right };
  }, sid);
  assert.ok(energy.left > 0 && energy.right > 0, JSON.stringify(energy));
});

test('calls: filter by outcome and agent, page through, and the analytics charts', async () => {
  const sids = async () => page.locator('#calls-table tbody a').evaluateAll((as) => as.map((a) => a.getAttribute('href').split('/').pop()));
  await page.goto(`${base}/dashboard/calls`);
  await page.locator('#calls-table').waitFor();
  const all = await sids();
  assert.equal(all.length, 2);
  await page.getByLabel('Outcome').selectOption('error');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.getByText('No calls.').waitFor();
  await page.getByLabel('Outcome').selectOption('');
  await page.getByLabel('Agent').selectOption(AGENT);
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/agentId=front-desk/);
  await page.locator('#calls-table').waitFor();
  assert.deepEqual(await sids(), all);

  await page.goto(`${base}/dashboard/calls?limit=1`);
  await page.locator('#calls-table').waitFor();
  assert.deepEqual(await sids(), [all[0]]);
  await page.getByRole('link', { name: 'Older →' }).click();
  await page.waitForURL(/cursor=/);
  await page.locator(`#calls-table a[href$="${all[1]}"]`).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Older →' }).count(), 0);
  await page.getByRole('link', { name: '← Newer' }).click();
  await page.locator(`#calls-table a[href$="${all[0]}"]`).waitFor();

  await page.getByRole('link', { name: 'Analytics' }).click();
  await page.getByRole('heading', { name: 'Analytics' }).waitFor();
  await page.locator('figure.chart svg[aria-label="Turn latency (ms, average per call)"]').waitFor();
  assert.equal(await page.locator('svg[aria-label="Calls per day"] rect').evaluateAll((r) => r.filter((x) => Number(x.getAttribute('height')) > 0).length), 1);
  assert.match(await page.locator('main').textContent(), /Last 30 days: 2 calls/);
});

/** Attempts a WebSocket upgrade; resolves to the HTTP status (101 when accepted). */
function upgradeStatus(path, cookie) {
  return new Promise((resolve, reject) => {
    const headers = { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' };
    if (cookie) headers.Cookie = cookie;
    const req = request(`${base}${path}`, { headers });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve(101); });
    req.on('response', (res) => { res.resume(); resolve(res.statusCode); });
    req.on('error', reject);
    req.end();
  });
}

test('the talk socket needs a fresh ticket of the same session, for the same agent', async () => {
  const ticket = () => page.evaluate(async (agent) => {
    const me = await (await fetch('/api/v1/auth/me')).json();
    const r = await fetch(`/api/v1/agents/${agent}/talk`, { method: 'POST', headers: { 'X-CSRF-Token': me.csrfToken, 'Content-Type': 'application/json' }, body: '{}' });
    return { status: r.status, body: await r.json() };
  }, AGENT);
  const session = (await context.cookies(base)).find((c) => c.name === 'tempo_session');
  const cookie = `tempo_session=${session.value}`;
  assert.equal(await upgradeStatus(`/api/v1/agents/${AGENT}/talk?ticket=nope`, cookie), 401);
  const a = await ticket();
  assert.equal(a.status, 201);
  assert.equal(await upgradeStatus(a.body.url, undefined), 401, 'no session cookie');
  const b = await ticket();
  assert.equal(await upgradeStatus(b.body.url.replace(`/agents/${AGENT}/`, '/agents/other-agent/'), cookie), 404);
  assert.equal(await upgradeStatus(b.body.url, cookie), 401, 'a ticket is single-use');
  // Another organisation's (here: no) agent is a 404 before any ticket exists.
  const cross = await page.evaluate(async () => {
    const me = await (await fetch('/api/v1/auth/me')).json();
    const r = await fetch('/api/v1/agents/not-mine/talk', { method: 'POST', headers: { 'X-CSRF-Token': me.csrfToken, 'Content-Type': 'application/json' }, body: '{}' });
    return r.status;
  });
  assert.equal(cross, 404);
  // Without the CSRF token the ticket is refused.
  const noCsrf = await page.evaluate(async (agent) => (await fetch(`/api/v1/agents/${agent}/talk`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status, AGENT);
  assert.equal(noCsrf, 403);
});

test('the first run\'s demo agent is in the list, deployed, and answers whoever talks to it', async () => {
  await page.goto(`${base}/dashboard/agents`);
  const link = page.locator('a[href="/dashboard/agents/demo"]');
  await link.waitFor();
  await link.click();
  await page.getByRole('heading', { name: 'Bright Smile Dental' }).waitFor();
  await page.locator('#talk').click();
  await page.locator('#talk-status').filter({ hasText: 'Connected' }).waitFor();
  await page.waitForTimeout(6000);  // the offline engine's greeting is about 4.5 s long
  await page.getByRole('button', { name: 'Hang up' }).click();
  await page.locator('#talk-status').filter({ hasText: 'Call ended' }).waitFor();
  const sid = (await page.getByRole('link', { name: 'Open this call' }).getAttribute('href')).split('/').pop();
  let transcript;
  for (let i = 0; i < 50 && !transcript?.turns; i++) {
    const r = await page.evaluate(async (s) => { const x = await fetch(`/api/v1/calls/${s}/transcript`); return x.ok ? x.json() : null; }, sid);
    if (r) transcript = r; else await page.waitForTimeout(200);
  }
  // Chromium's fake microphone beeps from the first moment, and a beep is loud enough to count
  // as speech: it cuts the greeting short (even before its first word is heard) and the local
  // engine answers what it made of it. So: the beeps reached the engine as caller turns, and
  // the demo agent spoke.
  const turns = JSON.stringify(transcript.turns);
  assert.ok(transcript.turns.some((t) => t.role === 'caller' && t.text.length > 0), turns);
  assert.ok(transcript.turns.some((t) => t.role === 'agent' && t.text.length > 0), turns);
  const call = await page.evaluate(async (s) => (await fetch(`/api/v1/calls/${s}`)).json(), sid);
  assert.equal(call.agentId, 'demo');
});

test('no script errors or Content-Security-Policy violations on any page', () => {
  assert.deepEqual(pageErrors, []);
});

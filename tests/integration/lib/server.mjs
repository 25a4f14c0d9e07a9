// Starts the real tempovoice binary for a test and plays Twilio's side of a call against it.
import { after } from 'node:test';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import twilio from 'twilio';
import WebSocket from 'ws';

export const BIN = process.env.TEMPOVOICE_BIN;
if (!BIN) throw new Error('TEMPOVOICE_BIN must point at the tempovoice binary');

export function tempDir(prefix = 'tempo-it-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes an agent file into <data>/agents and returns the agent. */
export function writeAgent(dataDir, agent) {
  const dir = join(dataDir, 'agents');
  mkdirSync(dir, { recursive: true });
  const full = {
    agentName: 'Integration Test Line',
    engine: 'echo',
    twilioAuthToken: 'test-auth-token-0123456789abcdef',
    maxSessionDuration: 300,
    ...agent,
  };
  writeFileSync(join(dir, `${full.agentId}.json`), JSON.stringify(full));
  return full;
}

// Servers still running when a file's tests are done (a test failed before stopping its
// own): killed, so that the failure is reported at once instead of the file hanging until the
// test timeout.
const running = new Set();
after(() => { for (const child of running) child.kill('SIGKILL'); });

/**
 * Spawns `tempovoice serve --port 0` (or `command`: `agent`, with the agent in `env`; under
 * `limits`, shell `ulimit` settings) and resolves once it prints its address.
 */
export async function startServer(dataDir, extraArgs = [], { command = 'serve', env = {}, limits = '' } = {}) {
  const args = [command, '--port', '0', '--data-dir', dataDir, '--log-format', 'json', ...extraArgs];
  // `limits`: shell `ulimit` settings applied before the shell becomes serve (same pid).
  const child = limits
    ? spawn('sh', ['-c', `${limits} && exec "$0" "$@"`, BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    : spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  running.add(child);
  child.on('exit', () => running.delete(child));
  let stderr = '';
  let out = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 30000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on http:\/\/[^:]+:(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`serve exited ${code}: ${stderr}`)); });
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    port, child, exited,
    base: `http://127.0.0.1:${port}`,
    logs: () => stderr,
    stdout: () => out,
    async stop(signal = 'SIGTERM') { child.kill(signal); return exited; },
  };
}

/** Logs in to the control-plane API; returns the session cookie and CSRF token. */
export async function login(server, password, email = 'admin@localhost') {
  const r = await fetch(`${server.base}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = await r.text();
  if (r.status !== 200) throw new Error(`login failed with ${r.status}: ${body}`);
  return { cookie: r.headers.get('set-cookie').split(';')[0], csrf: JSON.parse(body).csrfToken };
}

/**
 * Creates an agent of the admin's organisation through the API and deploys it (calls of file
 * agents belong to no organisation, so they are not in its call list). Throws unless the
 * deployment succeeds.
 */
export async function createDeployedAgent(server, password, agent) {
  const { cookie, csrf } = await login(server, password);
  const headers = { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' };
  let r = await fetch(`${server.base}/api/v1/agents`, { method: 'POST', headers, body: JSON.stringify(agent) });
  if (r.status !== 201) throw new Error(`POST /agents: ${r.status} ${await r.text()}`);
  r = await fetch(`${server.base}/api/v1/agents/${agent.agentId}/deploy`, { method: 'POST', headers, body: '{}' });
  if (r.status >= 300) throw new Error(`POST /deploy: ${r.status} ${await r.text()}`);
  let state;
  for (let i = 0; i < 200 && state !== 'succeeded'; i++) {
    state = (await (await fetch(`${server.base}/api/v1/agents/${agent.agentId}/deployment`, { headers })).json()).state;
    if (state !== 'succeeded') await new Promise((done) => setTimeout(done, 50));
  }
  if (state !== 'succeeded') throw new Error(`deployment of ${agent.agentId} ended ${state}`);
  return agent;
}

/**
 * The caller's line (looped by each call of `tempovoice call`): half a second of silence, a
 * second of tone (the echo engine's "speech"), a second and a half of silence.
 */
export async function callerLine(dir) {
  const wav = join(dir, 'line.wav');
  const sox = await run('sox', ['-q', '-n', '-r', '8000', '-c', '1', '-b', '16', wav,
    'synth', '1.0', 'sine', '300', 'pad', '0.5', '1.5']);
  if (sox.code !== 0) throw new Error(`sox: ${sox.err}`);
  return wav;
}

/**
 * One `tempovoice call` to `agent` that speaks `wav` and hangs up after `hangupAfterS`;
 * resolves with its JSON report (throws when the caller failed).
 */
export async function callOnce(server, agent, wav, hangupAfterS) {
  const call = await run(BIN, ['call', '--url', `${server.base}/agent/${agent.agentId}/incoming-call`,
    '--auth-token', agent.twilioAuthToken, '--wav', wav, '--hangup-after', String(hangupAfterS), '--json']);
  if (call.code !== 0) throw new Error(`tempovoice call exited ${call.code}: ${call.err}${call.out}`);
  return JSON.parse(call.out);
}

/** Every call of an agent in the call list, page after page. */
export async function listCalls(server, cookie, agentId) {
  const calls = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ agentId, limit: '200', ...(cursor ? { cursor } : {}) });
    const r = await fetch(`${server.base}/api/v1/calls?${query}`, { headers: { Cookie: cookie } });
    if (r.status !== 200) throw new Error(`GET /calls: ${r.status} ${await r.text()}`);
    const page = await r.json();
    calls.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return calls;
}

/** The server's `tempo_calls_active` gauge. */
export async function activeCalls(server) {
  const text = await (await fetch(`${server.base}/metrics`)).text();
  return Number((text.match(/^tempo_calls_active (\d+)/m) ?? [])[1] ?? 0);
}

/** Polls until `predicate(active calls)` holds (10 s at most); returns the last count. */
export async function waitForActiveCalls(server, predicate) {
  let active = await activeCalls(server);
  for (let i = 0; i < 200 && !predicate(active); i++) {
    await new Promise((done) => setTimeout(done, 50));
    active = await activeCalls(server);
  }
  return active;
}

export async function metrics(server) {
  const text = await (await fetch(`${server.base}/metrics`)).text();
  const values = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    values[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return values;
}

const hex = (n) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
export const newCallSid = () => `CA${hex(32)}`;

/** Twilio's voice webhook: signed with the official library, like Twilio signs it. */
export async function incomingCall(server, agent, { callSid = newCallSid(), token = agent.twilioAuthToken, sign = true } = {}) {
  const url = `${server.base}/agent/${agent.agentId}/incoming-call`;
  const params = {
    AccountSid: `AC${'0'.repeat(31)}1`, ApiVersion: '2010-04-01', CallSid: callSid,
    CallStatus: 'ringing', Called: '+14155550199', Caller: '+14155550100', Direction: 'inbound',
    From: '+14155550100', To: '+14155550199', FromCountry: 'US', ToCountry: 'US',
  };
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (sign) headers['X-Twilio-Signature'] = twilio.getExpectedTwilioSignature(token, url, params);
  const res = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
  const body = await res.text();
  const stream = body.match(/<Stream url="([^"]+)"/);
  const parameters = {};
  for (const m of body.matchAll(/<Parameter name="([^"]+)" value="([^"]*)"\/>/g)) parameters[m[1]] = m[2];
  const action = body.match(/<Connect action="([^"]+)"/);
  return { status: res.status, body, callSid, params, streamUrl: stream?.[1], parameters, action: action?.[1] };
}

/** Opens the media stream, signing the upgrade as Twilio does (wss URL, no params). */
export function openStream(url, token, { sign = true } = {}) {
  const headers = sign ? { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(token, url, {}) } : {};
  const ws = new WebSocket(url, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused ${res.statusCode}`), { statusCode: res.statusCode })));
    ws.once('error', reject);
  });
}

// G.711 μ-law encoding of one 16-bit sample (the standard segment algorithm).
export function linearToMulaw(sample) {
  const BIAS = 0x84, CLIP = 32635;
  const sign = sample < 0 ? 0x80 : 0;
  let mag = Math.min(Math.abs(sample), CLIP) + BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (mag & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (mag >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** One 20 ms μ-law frame of a 300 Hz tone (speech) or silence. */
export function frame(speech, offset) {
  const buf = Buffer.alloc(160);
  for (let i = 0; i < 160; i++) {
    const v = speech ? Math.round(8000 * Math.sin((2 * Math.PI * 300 * (offset + i)) / 8000)) : 0;
    buf[i] = linearToMulaw(v);
  }
  return buf;
}

/**
 * Twilio's side of a bidirectional stream: sends connected/start/media, plays what the
 * server sends (marks echoed once the audio before them would have played), honours clear.
 */
export class TwilioStream {
  constructor(ws, { callSid, streamSid = `MZ${hex(32)}`, accountSid = `AC${'0'.repeat(31)}1`, parameters = {} }) {
    Object.assign(this, { ws, callSid, streamSid, accountSid, parameters });
    this.seq = 0; this.chunk = 0; this.sample = 0;
    this.received = []; this.media = 0; this.mediaBytes = 0; this.marks = []; this.clears = 0; this.violations = [];
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data, isBinary) => {
      if (isBinary) { this.violations.push('binary frame'); return; }
      let msg;
      try { msg = JSON.parse(data.toString()); } catch { this.violations.push('not JSON'); return; }
      this.received.push(msg);
      if (msg.streamSid !== this.streamSid) this.violations.push(`wrong streamSid ${msg.streamSid}`);
      if (msg.event === 'media') {
        this.media++;
        const bytes = Buffer.from(msg.media.payload, 'base64').length;
        if (bytes === 0 || bytes % 160 !== 0) this.violations.push(`media of ${bytes} bytes`);
        this.mediaBytes += bytes;
      } else if (msg.event === 'mark') {
        this.marks.push(msg.mark.name);
        // Played at once here (the test clock does not simulate the buffer); echoed like Twilio.
        this.send({ event: 'mark', sequenceNumber: String(++this.seq), streamSid: this.streamSid, mark: { name: msg.mark.name } });
      } else if (msg.event === 'clear') {
        this.clears++;
      } else {
        this.violations.push(`unknown event ${msg.event}`);
      }
    });
  }
  send(obj) { if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj)); }
  start() {
    this.send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    this.send({
      event: 'start', sequenceNumber: String(++this.seq), streamSid: this.streamSid,
      start: {
        accountSid: this.accountSid, streamSid: this.streamSid, callSid: this.callSid, tracks: ['inbound'],
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 }, customParameters: this.parameters,
      },
    });
  }
  mediaMessage(payload) {
    this.chunk++;
    return {
      event: 'media', sequenceNumber: String(++this.seq), streamSid: this.streamSid,
      media: { track: 'inbound', chunk: String(this.chunk), timestamp: String((this.chunk - 1) * 20), payload: payload.toString('base64') },
    };
  }
  /** Sends `ms` of audio in 20 ms frames, paced at `pace` ms per frame (0 = no pacing). */
  async speak(ms, speech, pace = 20) {
    for (let t = 0; t < ms; t += 20) {
      this.send(this.mediaMessage(frame(speech, this.sample)));
      this.sample += 160;
      if (pace) await new Promise((r) => setTimeout(r, pace));
    }
  }
  dtmf(digit) { this.send({ event: 'dtmf', streamSid: this.streamSid, sequenceNumber: String(++this.seq), dtmf: { track: 'inbound_track', digit } }); }
  stop() {
    this.send({ event: 'stop', sequenceNumber: String(++this.seq), streamSid: this.streamSid, stop: { accountSid: this.accountSid, callSid: this.callSid } });
  }
}

export const callDir = (dataDir, agentId, callSid) => join(dataDir, 'objects', `tempo-agent-transcripts-${agentId}`, 'calls', callSid);

/** Waits until the call's three artefacts exist and returns them parsed. */
export async function artefacts(dataDir, agentId, callSid, timeoutMs = 10000) {
  const dir = callDir(dataDir, agentId, callSid);
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(join(dir, 'metadata.json'))) {
    if (Date.now() > deadline) throw new Error(`no artefacts in ${dir}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const out = {
    transcript: JSON.parse(readFileSync(join(dir, 'transcript.json'), 'utf8')),
    metadata: JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')),
  };
  if (existsSync(join(dir, 'recording.wav'))) out.recording = parseWav(readFileSync(join(dir, 'recording.wav')));
  return out;
}

/** Minimal PCM16 WAV reader: {sampleRate, channels, samples: Int16Array}. */
export function parseWav(buf) {
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV');
  let pos = 12, fmt, data;
  while (pos + 8 <= buf.length) {
    const id = buf.toString('ascii', pos, pos + 4);
    const size = buf.readUInt32LE(pos + 4);
    if (id === 'fmt ') fmt = { channels: buf.readUInt16LE(pos + 10), sampleRate: buf.readUInt32LE(pos + 12), bits: buf.readUInt16LE(pos + 22) };
    if (id === 'data') data = buf.subarray(pos + 8, pos + 8 + size);
    pos += 8 + size + (size & 1);
  }
  const samples = new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length - (data.length % 2)));
  return { ...fmt, samples };
}

/** Sum of absolute sample values per channel of a stereo recording. */
export function channelEnergy(wav) {
  let left = 0, right = 0;
  for (let i = 0; i + 1 < wav.samples.length; i += 2) { left += Math.abs(wav.samples[i]); right += Math.abs(wav.samples[i + 1]); }
  return { left, right };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs a program to its end: {code, out, err}. */
export function run(cmd, args, { env = {} } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env } });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

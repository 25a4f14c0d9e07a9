// `tempovoice call` (our Twilio-compatible caller) against `tempovoice serve`: the path the
// README offers to try an agent without a phone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { WebSocketServer } from 'ws';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, tempDir, writeAgent, startServer, artefacts, parseWav, frame, waitForActiveCalls } from './lib/server.mjs';

let data, server, agent;
before(async () => {
  data = tempDir();
  agent = writeAgent(data, { agentId: 'echo-line' });
  server = await startServer(data);
});
after(async () => { await server.stop(); });

function runCall(args, started = () => {}) {
  return new Promise((resolve) => {
    const child = spawn(BIN, ['call', '--url', `${server.base}/agent/${agent.agentId}/incoming-call`, ...args]);
    started(child);
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code, signal) => resolve({ code, signal, out, err }));
  });
}

/** 8 kHz mono WAV: silence, a second of tone, silence. */
function writeLineWav(path) {
  const frames = [...Array(25).fill(false), ...Array(50).fill(true), ...Array(75).fill(false)];
  const pcm = Buffer.alloc(frames.length * 320);
  frames.forEach((speech, f) => {
    for (let i = 0; i < 160; i++) {
      const v = speech ? Math.round(8000 * Math.sin((2 * Math.PI * 300 * (f * 160 + i)) / 8000)) : 0;
      pcm.writeInt16LE(v, (f * 160 + i) * 2);
    }
  });
  const header = Buffer.alloc(44);
  header.write('RIFF', 0); header.writeUInt32LE(36 + pcm.length, 4); header.write('WAVE', 8);
  header.write('fmt ', 12); header.writeUInt32LE(16, 16); header.writeUInt16LE(1, 20); header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24); header.writeUInt32LE(16000, 28); header.writeUInt16LE(2, 32); header.writeUInt16LE(16, 34);
  header.write('data', 36); header.writeUInt32LE(pcm.length, 40);
  writeFileSync(path, Buffer.concat([header, pcm]));
}

test('a call with a WAV: the echo comes back, is recorded, and the server keeps the artefacts', async () => {
  const dir = tempDir();
  writeLineWav(join(dir, 'line.wav'));
  const r = await runCall(['--auth-token', agent.twilioAuthToken, '--wav', join(dir, 'line.wav'),
    '--record', join(dir, 'agent.wav'), '--json']);
  assert.equal(r.code, 0, r.err + r.out);
  const report = JSON.parse(r.out);
  assert.equal(report.violations.length, 0, JSON.stringify(report.violations));
  assert.ok(report.agent_audio_s >= 1.25, `agent audio ${report.agent_audio_s} s: greeting + echo`);
  assert.ok(report.marks_echoed >= 2);
  assert.match(report.call_sid, /^CA[0-9a-f]{32}$/);
  assert.ok(existsSync(join(dir, 'agent.wav')));
  const heard = parseWav(Buffer.from(await import('node:fs').then((fs) => fs.readFileSync(join(dir, 'agent.wav')))));
  assert.ok(heard.samples.some((s) => Math.abs(s) > 1000), 'the agent audio was recorded');
  const { metadata } = await artefacts(data, agent.agentId, report.call_sid);
  assert.equal(metadata.outcome, 'completed');
});

test('the wrong auth token is refused with 403 and the caller says so', async () => {
  const r = await runCall(['--auth-token', 'wrong-token', '--hangup-after', '2', '--json']);
  assert.notEqual(r.code, 0);
  assert.match(r.out + r.err, /403/);
});

test('--load runs concurrent calls and reports latency percentiles', async () => {
  const dir = tempDir();
  writeLineWav(join(dir, 'line.wav'));
  const r = await runCall(['--auth-token', agent.twilioAuthToken, '--wav', join(dir, 'line.wav'),
    '--load', '10', '--duration', '4', '--ramp', '1', '--json']);
  assert.equal(r.code, 0, r.err + r.out);
  const report = JSON.parse(r.out);
  assert.equal(report.calls_completed, 10);
  assert.equal(report.calls_failed, 0);
  assert.ok(report.latency.frames > 0);
  assert.ok(report.latency.p99_ms >= report.latency.p50_ms);
});

// Issue #23: the load generator stops in order too. SIGTERM (or Ctrl-C) in the middle of a
// load: every call hangs up like a caller (the server sees each one end), and the report is
// printed, marked as stopped early.
test('SIGTERM during --load: every call hangs up, the report follows, exit 0', async () => {
  const dir = tempDir();
  writeLineWav(join(dir, 'line.wav'));
  let load;
  const ran = runCall(['--auth-token', agent.twilioAuthToken, '--wav', join(dir, 'line.wav'),
    '--load', '8', '--duration', '120', '--ramp', '1', '--json'], (child) => { load = child; });
  assert.equal(await waitForActiveCalls(server, (n) => n >= 8), 8, 'the load is running');
  const stopAt = Date.now();
  load.kill('SIGTERM');
  const r = await ran;
  assert.deepEqual([r.code, r.signal], [0, null], r.err + r.out);
  assert.ok(Date.now() - stopAt < 10000, 'the calls hang up at once, not at the end of the load');
  const report = JSON.parse(r.out);
  assert.equal(report.stopped_early, true);
  assert.equal(report.calls_completed, 8);
  assert.equal(report.calls_failed, 0);
  assert.deepEqual(report.outcomes, { caller_hung_up: 8 });
  assert.equal(await waitForActiveCalls(server, (n) => n === 0), 0, 'the server saw every call end');
});

// A server whose TwiML asks for a media stream it then refuses (403) or never answers: the
// caller heard nothing, so the call failed, whatever ended it.
async function streamlessServer(mode) {
  // The stream's address: refuses the upgrade with 403, or takes the connection and never
  // answers (a server out of descriptors looks like this from outside).
  const held = new Set();
  const streams = mode === 'silent'
    // Opens the stream and never says a word: the caller hears nothing either.
    ? new WebSocketServer({ port: 0, host: '127.0.0.1' })
    : net.createServer((socket) => {
      if (mode === 'refuse') {
        socket.once('data', () => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'));
      } else {
        held.add(socket);
      }
    });
  if (mode === 'silent') await new Promise((resolve) => streams.on('listening', resolve));
  else await new Promise((resolve) => streams.listen(0, '127.0.0.1', resolve));
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/xml' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="ws://127.0.0.1:${streams.address().port}/stream"/></Connect></Response>`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/incoming`,
    close: () => {
      for (const s of held) s.destroy();
      if (mode === 'silent') for (const c of streams.clients) c.terminate();
      streams.close();
      server.close();
    },
  };
}

function callUrl(url, args) {
  return new Promise((resolve) => {
    const child = spawn(BIN, ['call', '--url', url, '--auth-token', 'any-token', ...args]);
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

test('a call whose media stream never opened is failed, with its reason', async () => {
  const refusing = await streamlessServer('refuse');
  const hanging = await streamlessServer('hang');
  try {
    const refused = await callUrl(refusing.url, ['--hangup-after', '1', '--json']);
    assert.notEqual(refused.code, 0);
    const r1 = JSON.parse(refused.out);
    assert.equal(r1.outcome, 'failed');
    assert.match(r1.error, /media stream/);

    const hung = await callUrl(hanging.url, ['--hangup-after', '1', '--json']);
    assert.notEqual(hung.code, 0);
    const r2 = JSON.parse(hung.out);
    assert.equal(r2.outcome, 'failed', 'the caller never heard the agent');
    assert.match(r2.error, /^media stream: (WebSocket handshake failed .*timeout|never opened before the call ended)/);

    // Under load: none streamed, none completed, each failure with its reason.
    const load = await callUrl(hanging.url, ['--load', '3', '--duration', '2', '--ramp', '0', '--json']);
    const report = JSON.parse(load.out);
    assert.equal(report.calls_streamed, 0);
    assert.equal(report.calls_completed, 0);
    assert.equal(report.calls_failed, 3);
    assert.equal(Object.values(report.errors).reduce((a, b) => a + b, 0), 3);
    for (const reason of Object.keys(report.errors)) assert.match(reason, /^media stream: /);
  } finally {
    refusing.close();
    hanging.close();
  }
});

test('a call whose stream opened but never carried the agent is failed, with its reason', async () => {
  const silent = await streamlessServer('silent');
  try {
    const call = await callUrl(silent.url, ['--hangup-after', '1', '--json']);
    assert.notEqual(call.code, 0);
    const r = JSON.parse(call.out);
    assert.equal(r.outcome, 'failed');
    assert.equal(r.error, 'media stream: no agent audio before the call ended');

    const load = await callUrl(silent.url, ['--load', '3', '--duration', '2', '--ramp', '0', '--json']);
    const report = JSON.parse(load.out);
    assert.equal(report.calls_streamed, 3);
    assert.equal(report.calls_completed, 0);
    assert.deepEqual(report.errors, { 'media stream: no agent audio before the call ended': 3 });
  } finally {
    silent.close();
  }
});

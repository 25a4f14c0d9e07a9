// Descriptor limits: serve raises its soft RLIMIT_NOFILE to the hard limit at start-up, logs
// both, and says how many calls fit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, tempDir, writeAgent, startServer, callerLine, run, callDir, sleep, incomingCall, metrics } from './lib/server.mjs';

// serve under `ulimit` settings (a shell applies them, then becomes serve); resolves with its
// log lines once it listens, and stops it.
function serveUnder(limits) {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', `${limits} && exec "$0" "$@"`, BIN, 'serve', '--port', '0',
      '--data-dir', tempDir('tempo-limits-'), '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no start: ${err}`)); }, 30000);
    child.stderr.on('data', (d) => { err += d; });
    child.stdout.on('data', (d) => {
      out += d;
      if (/listening on/.test(out)) {
        // The capacity line follows the listening line.
        setTimeout(() => { child.kill('SIGTERM'); }, 300);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, lines: err.split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return { msg: l }; } }) });
    });
  });
}

const message = (lines, pattern) => lines.map((l) => l.msg).find((m) => pattern.test(m));

test('a soft limit under the hard one is raised, and logged', async () => {
  const hard = Number((await new Promise((resolve) => {
    const sh = spawn('sh', ['-c', 'ulimit -Hn']);
    let out = '';
    sh.stdout.on('data', (d) => { out += d; });
    sh.on('exit', () => resolve(out.trim()));
  })));
  const { code, lines } = await serveUnder('ulimit -Sn 256');
  assert.equal(code, 0);
  assert.equal(message(lines, /file descriptors/), `file descriptors: soft limit raised from 256 to ${hard} (the hard limit)`);
  const fit = Math.floor((hard - 128) / 2);
  assert.match(message(lines, /room for/), new RegExp(`^room for ${fit} concurrent calls: ${hard} file descriptors, 2 each`));
});

test('at the hard limit it stays, and says how many calls fit', async () => {
  const { code, lines } = await serveUnder('ulimit -Sn 256 && ulimit -Hn 256');
  assert.equal(code, 0);
  assert.equal(message(lines, /file descriptors/), 'file descriptors: limit 256 (hard 256)');
  assert.match(message(lines, /room for/), /^room for 64 concurrent calls: 256 file descriptors/);
});

test('past its capacity the server answers busy at once, and the load report counts the refusals', async () => {
  const data = tempDir('tempo-capacity-');
  const agent = writeAgent(data, { agentId: 'capacity-line' });
  const server = await startServer(data, ['--max-calls', '3']);
  try {
    const wav = await callerLine(data);
    const health = async () => {
      const r = await fetch(`${server.base}/health`);
      return { code: r.status, ...(await r.json()) };
    };
    const idle = await health();
    assert.deepEqual(idle.capacity, { max_calls: 3, calls: 0, headroom: 3 });
    const running = run(BIN, ['call', '--url', `${server.base}/agent/${agent.agentId}/incoming-call`,
      '--auth-token', agent.twilioAuthToken, '--wav', wav, '--load', '6', '--duration', '4', '--ramp', '0', '--json']);
    // Full, the server still says it is ready (new calls hear busy; a failing health check
    // would have the load balancer drain it with its calls), and reports no headroom.
    let full;
    for (let i = 0; i < 100 && !full; ++i) {
      const h = await health();
      if (h.capacity.headroom === 0) full = h;
      else await sleep(30);
    }
    assert.ok(full, 'the server filled up');
    assert.equal(full.code, 200);
    assert.equal(full.status, 'ok');
    assert.equal(full.capacity.calls, 3);
    const load = await running;
    const report = JSON.parse(load.out);
    assert.equal(report.calls_refused, 3, load.out);
    assert.deepEqual(report.refusals, { busy: 3 });
    assert.equal(report.calls_streamed, 3);
    assert.equal(report.calls_completed, 3);
    assert.equal(report.calls_failed, 0, JSON.stringify(report.errors));
    assert.match(server.logs(), /calls past 3 hear busy/);
    assert.doesNotMatch(server.logs(), /Too many open files|AddressSanitizer|runtime error:/);
  } finally {
    await server.stop();
  }
});

// The case: a hard limit of 256 and 300 calls at once. The calls that fit run whole
// (write-ahead file, recording, artefacts); the rest hear busy at the webhook; the process
// never runs out of descriptors.
test('300 calls under a hard limit of 256: those that fit run whole, the rest hear busy', async () => {
  const data = tempDir('tempo-capacity-');
  const agent = writeAgent(data, { agentId: 'crowded-line' });
  const server = await startServer(data, [], { limits: 'ulimit -Sn 256 && ulimit -Hn 256' });
  let peak = 0;
  const sampler = setInterval(() => {
    try { peak = Math.max(peak, readdirSync(`/proc/${server.child.pid}/fd`).length); } catch { /* gone */ }
  }, 10);
  try {
    // The capacity line follows the listening line.
    for (let i = 0; i < 100 && !/room for/.test(server.logs()); ++i) await sleep(50);
    const room = server.logs().match(/room for (\d+) concurrent calls: 256 file descriptors/);
    assert.ok(room, server.logs());
    const fit = Number(room[1]);
    const wav = await callerLine(data);
    const load = await run(BIN, ['call', '--url', `${server.base}/agent/${agent.agentId}/incoming-call`,
      '--auth-token', agent.twilioAuthToken, '--wav', wav, '--load', '300', '--duration', '5', '--ramp', '0', '--json']);
    clearInterval(sampler);
    const report = JSON.parse(load.out);
    assert.equal(report.calls_failed, 0, JSON.stringify(report.errors));
    assert.equal(report.calls_streamed, fit, load.out);
    assert.equal(report.calls_completed, fit);
    assert.equal(report.calls_refused, 300 - fit);
    assert.deepEqual(report.refusals, { busy: 300 - fit });
    // Every call that ran finished whole (the server logs it a moment after the caller hung
    // up), and left its three artefacts.
    const finished = () => (server.logs().match(/finished: completed/g) ?? []).length;
    for (let i = 0; i < 200 && finished() < fit; ++i) await sleep(50);
    assert.equal(finished(), fit);
    const logs = server.logs();
    assert.doesNotMatch(logs, /Too many open files|write-ahead file|recording disabled|recording stopped|AddressSanitizer|runtime error:/);
    assert.ok(peak < 256, `peak ${peak} descriptors`);
    const stored = () => readdirSync(join(callDir(data, agent.agentId, 'x'), '..')).filter((sid) =>
      ['recording.wav', 'transcript.json', 'metadata.json'].every((name) => existsSync(join(callDir(data, agent.agentId, sid), name))));
    for (let i = 0; i < 200 && stored().length < fit; ++i) await sleep(50);
    assert.equal(stored().length, fit);
  } finally {
    clearInterval(sampler);
    await server.stop();
  }
});

// Memory: under the floor (here more than any machine has), a new call hears busy at once, and
// the refusal is counted with its reason.
test('with too little memory left a new call hears busy', async () => {
  const data = tempDir('tempo-memory-');
  const agent = writeAgent(data, { agentId: 'memory-line' });
  const server = await startServer(data, ['--min-free-memory-mb', '4000000000']);
  try {
    const call = await incomingCall(server, agent);
    assert.equal(call.status, 200);
    assert.match(call.body, /<Reject reason="busy"\/>/);
    assert.equal(call.streamUrl, undefined);
    const m = await metrics(server);
    assert.equal(m['tempo_calls_refused_total{reason="memory_low"}'], 1);
    assert.match(server.logs(), /memory: \d+ MiB left, under the floor of 4000000000 MiB: new calls hear busy/);
  } finally {
    await server.stop();
  }
  // With the default floor the same machine takes the call.
  const roomy = await startServer(data);
  try {
    const call = await incomingCall(roomy, agent);
    assert.ok(call.streamUrl, call.body);
  } finally {
    await roomy.stop();
  }
});

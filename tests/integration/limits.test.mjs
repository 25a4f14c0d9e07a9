// Descriptor limits: serve raises its soft RLIMIT_NOFILE to the hard limit at start-up, logs
// both, and says how many calls fit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { BIN, tempDir, writeAgent, startServer, callerLine, run } from './lib/server.mjs';

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
  const fit = Math.floor((hard - 64) / 2);
  assert.match(message(lines, /room for/), new RegExp(`^room for ${fit} concurrent calls: ${hard} file descriptors, 2 each`));
});

test('at the hard limit it stays, and says how many calls fit', async () => {
  const { code, lines } = await serveUnder('ulimit -Sn 256 && ulimit -Hn 256');
  assert.equal(code, 0);
  assert.equal(message(lines, /file descriptors/), 'file descriptors: limit 256 (hard 256)');
  assert.match(message(lines, /room for/), /^room for 96 concurrent calls: 256 file descriptors/);
});

test('past its capacity the server answers busy at once, and the load report counts the refusals', async () => {
  const data = tempDir('tempo-capacity-');
  const agent = writeAgent(data, { agentId: 'capacity-line' });
  const server = await startServer(data, ['--max-calls', '3']);
  try {
    const wav = await callerLine(data);
    const load = await run(BIN, ['call', '--url', `${server.base}/agent/${agent.agentId}/incoming-call`,
      '--auth-token', agent.twilioAuthToken, '--wav', wav, '--load', '6', '--duration', '4', '--ramp', '0', '--json']);
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

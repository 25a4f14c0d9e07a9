// Issue #26: a flood of slow clients (a slowloris: 3,000 connections that each send half a
// request head and stop, opened again as soon as the server closes them) does not take the
// server. At Debian's default limit of 1,024 descriptors, /health/live keeps answering (it
// timed out at 5 s before), a real call placed during the attack completes, and the process
// never runs out of descriptors. This runs the sanitizer build, several times slower than
// what ships: `bench/slowloris.sh` measures the health checks' latency on the release build
// (within 100 ms; figures in bench/README.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tempDir, writeAgent, startServer, callerLine, callOnce, sleep, metrics } from './lib/server.mjs';

const ATTACKERS = 3000;
const SLOWLORIS = fileURLToPath(new URL('./lib/slowloris.mjs', import.meta.url));

// Starts the attack in its own process; resolves once all its connections are open.
function slowloris(port, count) {
  const child = spawn(process.execPath, [SLOWLORIS, String(port), String(count), '--reconnect'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let last = {};
  let out = '';
  const connected = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the attack did not connect: ${JSON.stringify(last)}`)), 30000);
    child.stdout.on('data', (d) => {
      out += d;
      const lines = out.split('\n');
      out = lines.pop();
      for (const line of lines) {
        last = JSON.parse(line);
        if (last.all_connected) { clearTimeout(timer); resolve(); }
      }
    });
  });
  return { connected, get status() { return last; }, stop: () => child.kill('SIGTERM') };
}

// One health check as a load balancer makes it: a new connection, the whole request, the
// status line back. Resolves with the milliseconds it took.
function probe(port) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('no answer in 5 s')); }, 5000);
    socket.on('connect', () => socket.write('GET /health/live HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n'));
    socket.on('data', (d) => {
      got += d;
      if (got.includes('\r\n\r\n')) {
        clearTimeout(timer);
        socket.destroy();
        if (!got.startsWith('HTTP/1.1 200')) reject(new Error(got.split('\r\n')[0]));
        else resolve(performance.now() - started);
      }
    });
    socket.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

test('3,000 slow connections: /health/live keeps answering and a call completes', async () => {
  const data = tempDir('tempo-slowloris-');
  const agent = writeAgent(data, { agentId: 'steady-line' });
  const server = await startServer(data, [], { limits: 'ulimit -Sn 1024 && ulimit -Hn 1024' });
  const wav = await callerLine(data);
  const attack = slowloris(server.port, ATTACKERS);
  try {
    await attack.connected;
    const times = [await probe(server.port)];
    const call = callOnce(server, agent, wav, 3);
    for (let i = 0; i < 40; ++i) {
      times.push(await probe(server.port));
      await sleep(50);
    }
    const report = await call;
    assert.equal(report.outcome, 'caller_hung_up', JSON.stringify(report));
    assert.ok(report.frames_received > 0, 'the caller heard the agent');
    const slowest = Math.max(...times);
    assert.ok(slowest < 1000, `health checks took up to ${slowest.toFixed(1)} ms: ${times.map((t) => t.toFixed(1)).join(' ')}`);
    console.log(`health checks during the attack (ms): ${times.map((t) => t.toFixed(1)).join(' ')}`);
    assert.ok(attack.status.closed > ATTACKERS, `the server shed the attack as it came: ${JSON.stringify(attack.status)}`);
    const m = await metrics(server);
    assert.ok(m.tempo_http_connections_shed_total > 0, 'the cap was reached and slow connections were shed');
    assert.doesNotMatch(server.logs(), /Too many open files|AddressSanitizer|runtime error:/);
  } finally {
    attack.stop();
    await server.stop();
  }
});

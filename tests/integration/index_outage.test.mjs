// A database outage delays the call list; it never loses a call. Calls are made while the
// database cannot be written (PostgreSQL stopped for 30 s; SQLite locked by another process):
// they are answered and stored, their rows wait in spool/finished, and once the database is
// back every call is in the call list within seconds, with its real outcome, and with no
// restart of serve.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, tempDir, startServer, login, run, createDeployedAgent, callerLine, listCalls, sleep } from './lib/server.mjs';

const PASSWORD = 'index-outage-password-123';
const CALLS = 20;
const PG_CLUSTER = fileURLToPath(new URL('../../tools/pg-test-cluster.sh', import.meta.url));

// Makes CALLS calls whose starts are spread over `rampS` seconds, each lasting at least 4 s;
// resolves with the load generator's report.
async function makeCalls(server, agent, wav, rampS) {
  const load = await run(BIN, ['call', '--url', `${server.base}/agent/${agent.agentId}/incoming-call`,
    '--auth-token', agent.twilioAuthToken, '--wav', wav, '--load', String(CALLS), '--duration', String(rampS + 4),
    '--ramp', String(rampS), '--threads', '1', '--json']);
  assert.equal(load.code, 0, `tempovoice call: ${load.err}`);
  const report = JSON.parse(load.out);
  assert.equal(report.calls_completed, CALLS, `calls: ${load.out}`);
  return report;
}

// Polls the call list until it holds `want` calls of the agent; returns them.
async function waitForCallList(server, cookie, agentId, want, timeoutMs) {
  const until = Date.now() + timeoutMs;
  let listed = [];
  while (Date.now() < until) {
    try {
      listed = await listCalls(server, cookie, agentId);
      if (listed.length >= want) return listed;
    } catch {
      // The API answers 503 until its own database connection is back.
    }
    await sleep(250);
  }
  return listed;
}

function storedCalls(data, agentId) {
  const dir = join(data, 'objects', `tempo-agent-transcripts-${agentId}`, 'calls');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

function checkIndexed(listed, stored, logs) {
  assert.equal(stored.length, CALLS, 'every call stored its artefacts during the outage');
  assert.deepEqual(listed.map((c) => c.callSid).sort(), stored, `the call list has every call\n${logs.slice(-3000)}`);
  for (const c of listed) {
    assert.equal(c.outcome, 'completed', `${c.callSid}: ${c.outcome}`);
    assert.ok(c.hasTranscript && c.hasRecording, `${c.callSid}: artefact links`);
  }
  // The outage was real: indexing failed and was retried.
  assert.match(logs, /not indexed yet, retrying until it is/);
  assert.doesNotMatch(logs, /AddressSanitizer|runtime error:|LeakSanitizer/, 'no sanitizer report');
}

describe('indexing survives a database outage', { concurrency: 2 }, () => {
  test(`PostgreSQL stopped for 30 s while ${CALLS} calls are made`, async () => {
    const data = tempDir('tempo-pg-outage-');
    // Not inside `data`: as root, the cluster runs as the postgres user, who cannot enter it.
    const cluster = `${data}-pg`;
    const started = await run('bash', [PG_CLUSTER, 'start', cluster]);
    assert.equal(started.code, 0, `pg-test-cluster: ${started.err}`);
    const url = started.out.trim().split('=').slice(1).join('=');
    let server;
    try {
      const wav = await callerLine(data);
      process.env.TEMPO_ADMIN_PASSWORD = PASSWORD;
      server = await startServer(data, ['--database-url', url]);
      delete process.env.TEMPO_ADMIN_PASSWORD;
      const agent = await createDeployedAgent(server, PASSWORD, {
        agentId: 'pg-outage-line', agentName: 'Outage Line', engine: 'echo', twilioAuthToken: 'test-auth-token-0123456789abcdef' });
      const { cookie } = await login(server, PASSWORD);

      const halted = await run('bash', [PG_CLUSTER, 'halt', cluster]);
      assert.equal(halted.code, 0, `halt: ${halted.err}`);
      const downAt = Date.now();
      await makeCalls(server, agent, wav, 15);
      await sleep(Math.max(0, 30000 - (Date.now() - downAt)));
      const restarted = await run('bash', [PG_CLUSTER, 'start', cluster]);
      assert.equal(restarted.code, 0, `restart: ${restarted.err}`);
      assert.equal(restarted.out.trim().split('=').slice(1).join('='), url, 'the cluster came back on its port');

      const listed = await waitForCallList(server, cookie, agent.agentId, CALLS, 15000);
      checkIndexed(listed, storedCalls(data, agent.agentId), server.logs());
      assert.match(server.logs(), /postgres/);
      const exit = await server.stop('SIGTERM');
      assert.deepEqual(exit, { code: 0, signal: null });
      assert.match(server.logs(), /left in the spool and 0 waiting to be indexed/);
    } finally {
      if (server && server.child.exitCode === null) await server.stop('SIGKILL');
      await run('bash', [PG_CLUSTER, 'stop', cluster]);
    }
  });

  test(`SQLite locked by another process while ${CALLS} calls are made`, async () => {
    const data = tempDir('tempo-sqlite-outage-');
    const wav = await callerLine(data);
    process.env.TEMPO_ADMIN_PASSWORD = PASSWORD;
    const server = await startServer(data);
    delete process.env.TEMPO_ADMIN_PASSWORD;
    try {
      const agent = await createDeployedAgent(server, PASSWORD, {
        agentId: 'sqlite-outage-line', agentName: 'Outage Line', engine: 'echo', twilioAuthToken: 'test-auth-token-0123456789abcdef' });
      const { cookie } = await login(server, PASSWORD);

      // Another process takes the database's write lock and holds it: every write of serve
      // fails with "database is locked" once its busy timeout runs out.
      const holder = spawn('python3', ['-c', [
        'import sqlite3, sys, time',
        'c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)',
        "c.execute('BEGIN EXCLUSIVE')",
        "print('locked', flush=True)",
        'time.sleep(float(sys.argv[2]))',
        "c.execute('COMMIT')",
      ].join('\n'), join(data, 'tempo.db'), '20'], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise((resolve, reject) => {
        holder.stdout.on('data', (d) => { if (String(d).includes('locked')) resolve(); });
        holder.on('exit', (code) => reject(new Error(`the lock holder exited ${code}`)));
      });
      const released = new Promise((resolve) => holder.on('exit', resolve));
      await makeCalls(server, agent, wav, 6);
      assert.equal(holder.exitCode, null, 'the calls ended while the database was still locked');
      await released;

      const listed = await waitForCallList(server, cookie, agent.agentId, CALLS, 15000);
      checkIndexed(listed, storedCalls(data, agent.agentId), server.logs());
      assert.match(server.logs(), /database is locked/);
    } finally {
      const exit = await server.stop('SIGTERM');
      assert.deepEqual(exit, { code: 0, signal: null });
    }
  });
});

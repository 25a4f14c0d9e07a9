// A stop right after load (the ECS case: a deploy or a scale-in sends SIGTERM to a task that has
// just taken calls). 200 calls end together, SIGTERM follows at once. The per-call work still
// queued when the server stops (artefacts, indexing) must run before what it uses (runtime,
// control plane, database, object store) is destroyed: the process exits 0 with no sanitizer
// report, and every call is in the call list with its real outcome and its three artefacts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, tempDir, startServer, login, run, callDir, createDeployedAgent, callerLine, listCalls, waitForActiveCalls } from './lib/server.mjs';

const PASSWORD = 'clean-stop-password-123';

// The calls stored under an agent, each checked for its three artefacts: CallSid -> folder.
function storedCalls(data, agentId) {
  const objects = join(data, 'objects', `tempo-agent-transcripts-${agentId}`, 'calls');
  const calls = new Map();
  for (const callSid of existsSync(objects) ? readdirSync(objects) : []) {
    const dir = callDir(data, agentId, callSid);
    for (const file of ['transcript.json', 'metadata.json', 'recording.wav']) {
      assert.ok(existsSync(join(dir, file)), `${callSid}/${file}`);
    }
    calls.set(callSid, dir);
  }
  return calls;
}
const CALLS = 200;

test(`SIGTERM as ${CALLS} calls end together: exit 0, every call indexed with its outcome and artefacts`, async () => {
  const data = tempDir('tempo-stop-');
  const wav = await callerLine(data);

  process.env.TEMPO_ADMIN_PASSWORD = PASSWORD;
  const server = await startServer(data, ['--max-calls-per-org', String(2 * CALLS)]);
  // An agent of the admin's organisation, created and deployed through the API (calls of file
  // agents belong to no organisation and are not in its call list).
  const agent = { agentId: 'stop-line', agentName: 'Stop Line', engine: 'echo', twilioAuthToken: 'test-auth-token-0123456789abcdef' };
  await createDeployedAgent(server, PASSWORD, agent);
  const load = await run(BIN, ['call', '--url', `${server.base}/agent/${agent.agentId}/incoming-call`,
    '--auth-token', agent.twilioAuthToken, '--wav', wav, '--load', String(CALLS), '--duration', '5',
    '--ramp', '1', '--threads', '1', '--json']);
  const exit = await server.stop('SIGTERM');  // at once: the calls' per-call work is still queued
  const logs = server.logs();

  const report = JSON.parse(load.out);
  assert.ok(report.calls_completed > 0, `no call completed: ${load.out} ${load.err}`);
  assert.deepEqual(exit, { code: 0, signal: null }, `serve did not exit 0 after SIGTERM:\n${logs.slice(-4000)}`);
  assert.doesNotMatch(logs, /AddressSanitizer|runtime error:|LeakSanitizer/, 'no sanitizer report');
  assert.doesNotMatch(logs, /not indexed/, 'every call indexed before the exit');
  const said = logs.match(/shut down cleanly: (\d+) per-call task\(s\) drained during the stop, (\d+) call\(s\) left in the spool/);
  assert.ok(said, 'the exit line says what was drained and what is left');
  assert.equal(said[2], '0', 'nothing left in the spool');

  // Every call the server took left its three artefacts.
  const callSids = [...storedCalls(data, agent.agentId).keys()];
  assert.equal(report.calls_failed, 0, `calls failed: ${JSON.stringify(report.errors)}`);
  assert.equal(callSids.length, report.calls_completed,
    `${callSids.length} calls stored, ${report.calls_completed} completed by the caller`);

  // After a restart: every call in the call list, none relabelled as interrupted by a crash.
  const restarted = await startServer(data, ['--max-calls-per-org', String(2 * CALLS)]);
  delete process.env.TEMPO_ADMIN_PASSWORD;
  try {
    assert.doesNotMatch(restarted.logs(), /recovered \d+ call\(s\) interrupted/, 'nothing left to recover');
    const { cookie } = await login(restarted, PASSWORD);
    const listed = await listCalls(restarted, cookie, agent.agentId);
    assert.deepEqual(listed.map((c) => c.callSid).sort(), [...callSids].sort(), 'the call list has every stored call');
    const interrupted = listed.filter((c) => c.outcome === 'interrupted');
    assert.equal(interrupted.length, 0, `calls labelled interrupted: ${interrupted.map((c) => c.callSid).join(' ')}`);
  } finally {
    await restarted.stop();
  }
});

test('SIGTERM during 50 active calls with a short grace: each ends gracefully, artefacts saved, exit 0', async () => {
  const data = tempDir('tempo-stop-live-');
  const wav = await callerLine(data);
  const GRACE_MS = 3000;
  process.env.TEMPO_ADMIN_PASSWORD = PASSWORD;
  const server = await startServer(data, ['--shutdown-grace-ms', String(GRACE_MS)]);
  delete process.env.TEMPO_ADMIN_PASSWORD;
  const agent = await createDeployedAgent(server, PASSWORD, {
    agentId: 'live-line', agentName: 'Live Line', engine: 'echo', twilioAuthToken: 'test-auth-token-0123456789abcdef' });

  // Calls meant to last a minute; the stop comes once all 50 are up.
  const load = run(BIN, ['call', '--url', `${server.base}/agent/${agent.agentId}/incoming-call`,
    '--auth-token', agent.twilioAuthToken, '--wav', wav, '--load', '50', '--duration', '60',
    '--ramp', '1', '--threads', '1', '--json']);
  await waitForActiveCalls(server, (n) => n >= 50);
  await new Promise((done) => setTimeout(done, 1000));
  const stopAt = Date.now();
  const exit = await server.stop('SIGTERM');
  const stoppedIn = Date.now() - stopAt;
  await load;
  const logs = server.logs();
  assert.deepEqual(exit, { code: 0, signal: null }, `serve did not exit 0:\n${logs.slice(-4000)}`);
  assert.doesNotMatch(logs, /AddressSanitizer|runtime error:|LeakSanitizer/, 'no sanitizer report');
  assert.ok(stoppedIn < GRACE_MS + 10000, `stopped in ${stoppedIn} ms with a ${GRACE_MS} ms grace`);

  const stored = storedCalls(data, agent.agentId);
  assert.equal(stored.size, 50, 'every call stored its artefacts before the exit');
  for (const [callSid, dir] of stored) {
    const transcript = JSON.parse(readFileSync(join(dir, 'transcript.json'), 'utf8'));
    const metadata = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'));
    assert.equal(transcript.status, 'complete', `${callSid}: transcript ${transcript.status}`);
    assert.notEqual(metadata.outcome, 'interrupted', `${callSid}: ended by the stop, not by a crash`);
  }
});

// `tempovoice agent` (one ECS task per agent) stops in the same order: SIGTERM during its calls,
// a short grace, each call ends with its artefacts, exit 0, nothing left in the spool.
test('tempovoice agent: SIGTERM during 20 active calls, each ends with its artefacts, exit 0', async () => {
  const data = tempDir('tempo-stop-agent-');
  const wav = await callerLine(data);
  const agent = { agentId: 'task-line', twilioAuthToken: 'test-auth-token-0123456789abcdef' };
  const server = await startServer(data, ['--host', '127.0.0.1', '--shutdown-grace-ms', '2000'], {
    command: 'agent',
    env: { AGENT_ID: agent.agentId, AGENT_NAME: 'Task Line', AGENT_ENGINE: 'echo', TWILIO_AUTH_TOKEN: agent.twilioAuthToken },
  });
  const load = run(BIN, ['call', '--url', `${server.base}/agent/${agent.agentId}/incoming-call`,
    '--auth-token', agent.twilioAuthToken, '--wav', wav, '--load', '20', '--duration', '60',
    '--ramp', '1', '--threads', '1', '--json']);
  assert.equal(await waitForActiveCalls(server, (n) => n >= 20), 20, 'the calls are up');
  const exit = await server.stop('SIGTERM');
  await load;
  const logs = server.logs();
  assert.deepEqual(exit, { code: 0, signal: null }, `agent did not exit 0:\n${logs.slice(-4000)}`);
  assert.doesNotMatch(logs, /AddressSanitizer|runtime error:|LeakSanitizer/, 'no sanitizer report');
  assert.match(logs, /0 call\(s\) left in the spool and 0 waiting to be indexed/);
  const stored = storedCalls(data, agent.agentId);
  assert.equal(stored.size, 20, 'every call stored its artefacts before the exit');
  for (const [callSid, dir] of stored) {
    assert.notEqual(JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')).outcome, 'interrupted', callSid);
  }
});

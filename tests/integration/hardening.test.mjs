// A hostile tenant and a broken component, against the real binary: identifiers from outside
// never name a file, a bad spool file never blocks recovery, /health says when the server can
// take traffic, and an exception in one call's work ends that call only (with an apology and
// its artefacts) while the calls beside it go on.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BIN, tempDir, writeAgent, startServer, incomingCall, openStream, TwilioStream, artefacts,
  metrics, newCallSid, sleep, callDir, run,
} from './lib/server.mjs';

const probeName = () => `tempo-probe-${process.pid}-${Math.random().toString(16).slice(2)}`;

describe('identifiers from outside', () => {
  let data, server, agent;
  before(async () => {
    data = tempDir();
    agent = writeAgent(data, { agentId: 'probe-line' });
    server = await startServer(data);
  });
  after(async () => { await server.stop(); rmSync(data, { recursive: true, force: true }); });

  test('a signed incoming call whose CallSid climbs out of the data directory gets 400', async () => {
    const name = probeName();
    const call = await incomingCall(server, agent, { callSid: `../../../../../../tmp/${name}` });
    assert.equal(call.status, 400, call.body);
    assert.match(call.body, /CallSid/);
    assert.equal(call.streamUrl, undefined);
    for (const ext of ['.wal', '.wav']) assert.equal(existsSync(`/tmp/${name}${ext}`), false);
  });

  test('a media stream whose start names a traversal CallSid is closed with the reason', async () => {
    const name = probeName();
    const before = (await metrics(server))['tempo_media_bad_messages_total{reason="bad_sid"}'] ?? 0;
    // The stream URL of a real answered call, so that only the start's ids are wrong.
    const answered = await incomingCall(server, agent);
    const ws = await openStream(answered.streamUrl, agent.twilioAuthToken);
    const stream = new TwilioStream(ws, { callSid: `../../../../../../tmp/${name}` });
    stream.start();
    const closed = await stream.closed;
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /invalid Twilio sid/);
    await sleep(100);
    for (const ext of ['.wal', '.wav']) assert.equal(existsSync(`/tmp/${name}${ext}`), false);
    // Nothing was written anywhere under the data directory for it either.
    assert.deepEqual(readdirSync(join(data, 'spool')).filter((f) => f.includes('tmp')), []);
    const after = (await metrics(server))['tempo_media_bad_messages_total{reason="bad_sid"}'];
    assert.equal(after, before + 1);
  });

  test('a malformed AccountSid on the stream start is refused the same way', async () => {
    const answered = await incomingCall(server, agent);
    const ws = await openStream(answered.streamUrl, agent.twilioAuthToken);
    const stream = new TwilioStream(ws, { callSid: answered.callSid, accountSid: 'AC../../x' });
    stream.start();
    assert.equal((await stream.closed).code, 1008);
  });
});

describe('spool recovery', () => {
  test('a spool file that names no valid call is quarantined and the others are recovered', async () => {
    const data = tempDir();
    const agent = writeAgent(data, { agentId: 'spool-line' });
    const spool = join(data, 'spool');
    mkdirSync(spool, { recursive: true });
    const header = (callSid, agentId) => JSON.stringify({
      type: 'call', callSid, streamSid: `MZ${'0'.repeat(32)}`, agentId, accountSid: `AC${'0'.repeat(32)}`,
      from: '+14155550100', to: '+14155550199', engine: 'echo', startedAtMs: Date.now() - 5000,
    });
    const turn = JSON.stringify({ type: 'turn', role: 'agent', text: 'Hello there.', startMs: 0, endMs: 900 });
    const escape = probeName();
    // Sorted before the good one, so a recovery that stopped at the first bad file would miss it.
    const bad = {
      'CA0000000000000000000000000000000a.wal': `${header(`../../../../../../tmp/${escape}`, agent.agentId)}\n${turn}\n`,
      'CA0000000000000000000000000000000b.wal': `${header('CA0000000000000000000000000000000b', '../../x')}\n`,
      'CA0000000000000000000000000000000c.wal': `${header('CA000000000000000000000000000000ff', agent.agentId)}\n`,
      'CA0000000000000000000000000000000d.wal': 'not a call log\n',
    };
    for (const [file, text] of Object.entries(bad)) writeFileSync(join(spool, file), text);
    const good = 'CA0000000000000000000000000000001f';
    writeFileSync(join(spool, `${good}.wal`), `${header(good, agent.agentId)}\n${turn}\n`);

    const server = await startServer(data);
    try {
      const { transcript, metadata } = await artefacts(data, agent.agentId, good);
      assert.equal(transcript.status, 'recovered');
      assert.equal(metadata.outcome, 'interrupted');
      assert.deepEqual(readdirSync(join(spool, 'quarantine')).sort(), Object.keys(bad).sort());
      assert.deepEqual(readdirSync(spool).filter((f) => f.endsWith('.wal')), []);
      assert.equal(existsSync(`/tmp/${escape}`), false);
      assert.equal(existsSync(join(data, 'objects', 'x')), false);
      const m = await metrics(server);
      assert.equal(m.tempo_spool_quarantined_total, 4);
    } finally {
      await server.stop();
    }
    // Quarantined files are not looked at again: the next start recovers nothing and logs nothing.
    const again = await startServer(data);
    try {
      await sleep(200);
      assert.doesNotMatch(again.logs(), /quarantine/);
      assert.equal((await metrics(again)).tempo_spool_quarantined_total ?? 0, 0);
    } finally {
      await again.stop();
      rmSync(data, { recursive: true, force: true });
    }
  });
});

describe('health', () => {
  test('/health is readiness (database, object store, engines) and /health/live is liveness', async () => {
    const data = tempDir();
    const server = await startServer(data);
    try {
      let res = await fetch(`${server.base}/health`);
      let body = await res.json();
      for (let i = 0; i < 100 && res.status !== 200; i++) {
        // The demo agent's speech model is still being built.
        assert.match(body.checks.engines, /preparing/);
        await sleep(100);
        res = await fetch(`${server.base}/health`);
        body = await res.json();
      }
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.deepEqual(body.checks, { database: 'ok', object_store: 'ok', engines: 'ok' });
      assert.equal(body.status, 'ok');
      const live = await fetch(`${server.base}/health/live`);
      assert.equal(live.status, 200);
      assert.equal((await live.json()).status, 'ok');

      // The object store stops taking writes: not ready (once the cached answer is stale),
      // still live.
      const probe = join(data, 'objects', 'tempo-health');
      rmSync(probe, { recursive: true, force: true });
      writeFileSync(probe, 'not a bucket');
      await sleep(2100);
      res = await fetch(`${server.base}/health`);
      body = await res.json();
      assert.equal(res.status, 503, JSON.stringify(body));
      assert.equal(body.status, 'unavailable');
      assert.notEqual(body.checks.object_store, 'ok');
      assert.equal(body.checks.database, 'ok');
      assert.equal((await fetch(`${server.base}/health/live`)).status, 200);
    } finally {
      await server.stop();
      rmSync(data, { recursive: true, force: true });
    }
  });
});

describe('an exception in one call', () => {
  // Each failpoint is armed for one call; the healthy calls run beside them.
  const sids = {
    asr: newCallSid(), tts: newCallSid(), dialogue: newCallSid(), pace_timer: newCallSid(),
    healthy1: newCallSid(), healthy2: newCallSid(),
  };
  const failpoints = {
    asr: 'local.asr', tts: 'local.tts', dialogue: 'local.dialogue', pace_timer: 'runtime.pace_timer',
  };
  let data, server, token, results, noFailpoints;
  before(async () => {
    data = tempDir('tempo-faults-');
    process.env.TEMPO_ADMIN_PASSWORD = 'faults-test-password';
    process.env.TEMPO_FAILPOINTS = Object.entries(failpoints).map(([k, name]) => `${name}=${sids[k]}`).join(',');
    server = await startServer(data);
    delete process.env.TEMPO_ADMIN_PASSWORD;
    delete process.env.TEMPO_FAILPOINTS;
    noFailpoints = !/failpoints armed/.test(server.logs() + server.stdout());
    if (noFailpoints) return;
    token = server.stdout().match(/its Twilio auth token is ([0-9a-f]{32})/)[1];
    results = await Promise.all(Object.entries(sids).map(async ([kind, sid]) => {
      const call = await run(BIN, ['call', '--url', `${server.base}/agent/demo/incoming-call`,
        '--auth-token', token, '--call-sid', sid, '--say', 'What are your opening hours?',
        '--say', 'Goodbye', '--max-duration', '40', '--json']);
      assert.equal(call.code, 0, call.err + call.out);
      const report = JSON.parse(call.out);
      return [kind, { report, ...(await artefacts(data, 'demo', sid, 20000)) }];
    })).then(Object.fromEntries);
  });
  after(async () => { await server.stop(); rmSync(data, { recursive: true, force: true }); });

  for (const kind of Object.keys(failpoints)) {
    test(`a throw in ${kind} ends that call with an apology, outcome error and its artefacts`, async (t) => {
      if (noFailpoints) return t.skip('binary built without TEMPO_FAILPOINTS');
      const { report, metadata, transcript, recording } = results[kind];
      assert.equal(metadata.outcome, 'error', JSON.stringify(metadata));
      assert.match(metadata.endReason, /failpoint/, metadata.endReason);
      assert.ok(transcript.turns.length >= 0);
      assert.ok(recording, 'the partial recording was stored');
      assert.equal(existsSync(join(callDir(data, 'demo', sids[kind]), 'transcript.json')), true);
      assert.ok(report.verbs.some((v) => /technical difficulties/.test(v)), JSON.stringify(report.verbs));
    });
  }

  test('the calls beside them are untouched, and the server goes on', async (t) => {
    if (noFailpoints) return t.skip('binary built without TEMPO_FAILPOINTS');
    for (const kind of ['healthy1', 'healthy2']) {
      const { metadata, transcript } = results[kind];
      assert.equal(metadata.outcome, 'ended_by_agent', JSON.stringify(metadata));
      const agentText = transcript.turns.filter((x) => x.role === 'agent').map((x) => x.text).join(' ');
      assert.match(agentText, /Monday/i, agentText);
    }
    const m = await metrics(server);
    assert.ok((m['tempo_call_exceptions_total{where="pace_timer"}'] ?? 0) >= 1, JSON.stringify(m));
    for (const stage of ['speech recognition', 'speech synthesis', 'dialogue']) {
      assert.ok((m[`tempo_engine_exceptions_total{engine="local",stage="${stage}"}`] ?? 0) >= 1, stage);
    }
    assert.equal((await fetch(`${server.base}/health/live`)).status, 200);
    // A new call after all that still works.
    const call = await run(BIN, ['call', '--url', `${server.base}/agent/demo/incoming-call`,
      '--auth-token', token, '--say', 'Goodbye', '--json']);
    assert.equal(call.code, 0, call.err);
    assert.equal(JSON.parse(call.out).outcome, 'agent_hung_up');
  });
});

// `tempovoice agent` on ECS: scale-in protection while it has calls (ECS_AGENT_URI, played by a
// fake ECS agent endpoint here), and the active-calls metric in CloudWatch's embedded metric
// format on stdout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { tempDir, startServer, callerLine, callOnce, sleep } from './lib/server.mjs';

// The ECS agent's task protection endpoint: records each PUT; answers 500 when failing.
async function fakeEcsAgent({ failing = false } = {}) {
  const puts = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.method !== 'PUT' || req.url !== '/v3/task-1/task-protection/v1/state') {
        res.writeHead(404); res.end(); return;
      }
      puts.push({ at: Date.now(), body: JSON.parse(body) });
      if (failing) { res.writeHead(500, { 'Content-Type': 'application/json' }); res.end('{"error":"injected"}'); return; }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ protection: { ProtectionEnabled: JSON.parse(body).ProtectionEnabled, TaskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/c/1' } }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { uri: `http://127.0.0.1:${server.address().port}/v3/task-1`, puts, close: () => server.close() };
}

const agent = { agentId: 'protected-line', twilioAuthToken: 'test-auth-token-0123456789abcdef' };

function startAgent(data, ecs) {
  return startServer(data, ['--host', '127.0.0.1'], {
    command: 'agent',
    env: { AGENT_ID: agent.agentId, AGENT_NAME: 'Protected Line', AGENT_ENGINE: 'echo',
      TWILIO_AUTH_TOKEN: agent.twilioAuthToken, MAX_SESSION_DURATION: '600', ECS_AGENT_URI: ecs.uri },
  });
}

test('a call makes the task protected; protection goes off within 5 s of the last call', async () => {
  const ecs = await fakeEcsAgent();
  const data = tempDir('tempo-protect-');
  const server = await startAgent(data, ecs);
  try {
    await sleep(1200);
    assert.equal(ecs.puts.length, 0, 'no call, no protection');
    const wav = await callerLine(data);
    const call = callOnce(server, agent, wav, 3);
    for (let i = 0; i < 60 && ecs.puts.length === 0; i++) await sleep(100);
    assert.deepEqual(ecs.puts[0]?.body, { ProtectionEnabled: true, ExpiresInMinutes: 15 },
      'on during the call, expiring five minutes past the longest call (600 s)');
    const report = await call;
    const ended = Date.now();
    assert.equal(report.outcome, 'caller_hung_up');
    for (let i = 0; i < 80 && ecs.puts.length < 2; i++) await sleep(100);
    assert.equal(ecs.puts.length, 2, JSON.stringify(ecs.puts));
    assert.deepEqual(ecs.puts[1].body, { ProtectionEnabled: false });
    assert.ok(ecs.puts[1].at - ended < 5000, `off ${ecs.puts[1].at - ended} ms after the call ended`);

    // The metric the scaling policy tracks: CloudWatch embedded metric format lines.
    const metrics = server.stdout().split('\n').filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));
    assert.ok(metrics.length >= 1, server.stdout());
    const [first] = metrics;
    assert.equal(first.AgentId, agent.agentId);
    assert.equal(first.ActiveCalls, 0);
    assert.deepEqual(first._aws.CloudWatchMetrics, [{ Namespace: 'TempoVoice', Dimensions: [['AgentId']],
      Metrics: [{ Name: 'ActiveCalls', Unit: 'Count' }] }]);
    const exit = await server.stop();
    assert.equal(exit.code, 0);
    assert.doesNotMatch(server.logs(), /AddressSanitizer|runtime error:|LeakSanitizer/);
  } finally {
    await server.stop();
    ecs.close();
  }
});

test('a failing protection endpoint never breaks a call', async () => {
  const ecs = await fakeEcsAgent({ failing: true });
  const data = tempDir('tempo-protect-fail-');
  const server = await startAgent(data, ecs);
  try {
    const wav = await callerLine(data);
    const report = await callOnce(server, agent, wav, 3);
    assert.equal(report.outcome, 'caller_hung_up');
    assert.ok(report.agent_audio_ms > 0 || report.frames_received > 0, JSON.stringify(report));
    assert.ok(ecs.puts.length >= 1, 'it tried');
    assert.match(server.logs(), /task protection: turning on failed: HTTP 500/);
    const exit = await server.stop();
    assert.equal(exit.code, 0);
  } finally {
    await server.stop();
    ecs.close();
  }
});

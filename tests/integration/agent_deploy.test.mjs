// Deploying agents of the offline (`local`) engine through the API of a real `tempovoice serve`:
// the deployment builds the agent's speech model, so a knowledge base over the engine's limits
// fails to deploy with the limit in its error, while a normal agent deploys and answers calls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir, startServer, incomingCall, login } from './lib/server.mjs';

const PASSWORD = 'integration-password-1';
let server, cookie, csrf;

before(async () => {
  process.env.TEMPO_ADMIN_PASSWORD = PASSWORD;
  server = await startServer(tempDir('tempo-deploy-'));
  delete process.env.TEMPO_ADMIN_PASSWORD;
  ({ cookie, csrf } = await login(server, PASSWORD));
});
after(async () => { if (server) await server.stop(); });

async function api(method, path, body) {
  const r = await fetch(`${server.base}/api/v1${path}`, {
    method,
    headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/** Deploys and waits for the deployment to leave `in_progress`. */
async function deploy(id) {
  const started = await api('POST', `/agents/${id}/deploy`, {});
  assert.equal(started.status, 202, JSON.stringify(started.body));
  for (let i = 0; i < 100; ++i) {
    const d = await api('GET', `/agents/${id}/deployment`);
    if (d.body.state !== 'in_progress') return d.body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`deployment of ${id} did not finish`);
}

const agent = (id, phone, knowledgeBase) => ({
  agentId: id, agentName: `Clinic ${id}`, prompt: 'You are a receptionist.', engine: 'local',
  callPhoneNumber: phone, twilioAuthToken: 'a'.repeat(32), knowledgeBase,
});

test('a knowledge base over the local engine\'s limits fails to deploy, naming the limit', async () => {
  // 2,100 entries pass the agent's own validation (5,000) but not the local engine's (2,000).
  const kb = Array.from({ length: 2100 }, (_, i) => ({
    question: `What about item ${i}?`, answer: `Item ${i} costs ${i} dollars.`,
  }));
  const created = await api('POST', '/agents', agent('huge-kb', '+14155550111', kb));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const d = await deploy('huge-kb');
  assert.equal(d.state, 'failed', JSON.stringify(d));
  assert.match(d.error, /knowledge base has 2100 entries .*limit is 2000 entries/);
  const step = d.steps.find((s) => s.name === 'prepare speech engine');
  assert.equal(step.state, 'failed', JSON.stringify(d.steps));
  assert.equal((await api('GET', '/agents/huge-kb')).body.status, 'undeployed');
  // Not in service: Twilio's webhook for it gets a spoken "not in service" and a hang-up.
  const call = await incomingCall(server, { agentId: 'huge-kb', twilioAuthToken: 'a'.repeat(32) });
  assert.equal(call.streamUrl, undefined, call.body);
  assert.match(call.body, /not in service.*<Hangup\/>/, call.body);
});

test('a normal local-engine agent deploys and answers calls', async () => {
  const kb = [{ question: 'When are you open?', answer: 'From nine to five.' }];
  assert.equal((await api('POST', '/agents', agent('small-kb', '+14155550112', kb))).status, 201);
  const d = await deploy('small-kb');
  assert.equal(d.state, 'succeeded', JSON.stringify(d));
  assert.equal(d.steps.find((s) => s.name === 'prepare speech engine').message, 'local engine ready');
  const call = await incomingCall(server, { agentId: 'small-kb', twilioAuthToken: 'a'.repeat(32) });
  assert.equal(call.status, 200, call.body);
  assert.ok(call.streamUrl, call.body);
});

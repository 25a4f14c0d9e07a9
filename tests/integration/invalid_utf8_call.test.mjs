// A call whose Twilio form carries bytes that are not UTF-8 (`From=%FF%9B...`, as a spoofed or
// mangled caller ID may) against the real binary: it must still leave all three artefacts and
// its row in the calls index (issue #9: the JSON serialisers threw and lost them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import twilio from 'twilio';
import {
  tempDir, startServer, openStream, TwilioStream, artefacts, login, newCallSid, createDeployedAgent,
} from './lib/server.mjs';

const PASSWORD = 'utf8-test-password-1';
let data, server, agent;

before(async () => {
  data = tempDir('tempo-utf8-');
  process.env.TEMPO_ADMIN_PASSWORD = PASSWORD;
  server = await startServer(data);
  delete process.env.TEMPO_ADMIN_PASSWORD;
  // An agent of the admin's organisation (calls of file agents belong to no organisation).
  agent = { agentId: 'utf8-line', agentName: 'UTF-8 Line', engine: 'echo', twilioAuthToken: 'test-auth-token-0123456789abcdef' };
  await createDeployedAgent(server, PASSWORD, agent);
});
after(async () => { if (server) await server.stop(); });

// Twilio's signature over parameters given as bytes: url, then name + value of each parameter
// sorted by name (what twilio.getExpectedTwilioSignature does for strings, which cannot hold
// these bytes: a JS string is always sent as UTF-8).
function signBytes(token, url, params) {
  const hmac = createHmac('sha1', token);
  hmac.update(Buffer.from(url));
  for (const name of Object.keys(params).sort()) {
    hmac.update(Buffer.from(name));
    hmac.update(params[name]);
  }
  return hmac.digest('base64');
}

// Percent-encodes every byte: the form body Twilio would send for these values.
const encodeBytes = (buf) => [...buf].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

test('the signer agrees with the twilio package on UTF-8 parameters', () => {
  const params = { CallSid: 'CA1', From: '+14155550100', Caller: 'Zoë' };
  const bytes = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Buffer.from(v)]));
  assert.equal(signBytes('tok', 'http://x/y', bytes), twilio.getExpectedTwilioSignature('tok', 'http://x/y', params));
});

test('From with invalid UTF-8 still yields transcript.json, metadata.json, recording.wav and the call row', async () => {
  const callSid = newCallSid();
  const url = `${server.base}/agent/${agent.agentId}/incoming-call`;
  const from = Buffer.concat([Buffer.from([0xff, 0x9b]), Buffer.from('+14155550100')]);
  const params = {
    AccountSid: Buffer.from(`AC${'0'.repeat(31)}1`), ApiVersion: Buffer.from('2010-04-01'),
    CallSid: Buffer.from(callSid), CallStatus: Buffer.from('ringing'), Direction: Buffer.from('inbound'),
    From: from, Caller: from, To: Buffer.from('+14155550199'),
  };
  const body = Object.entries(params).map(([k, v]) => `${k}=${encodeBytes(v)}`).join('&');
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      'X-Twilio-Signature': signBytes(agent.twilioAuthToken, url, params),
    },
    body,
  });
  const twiml = await res.text();
  assert.equal(res.status, 200, twiml);
  const streamUrl = twiml.match(/<Stream url="([^"]+)"/)?.[1];
  assert.ok(streamUrl, twiml);
  const parameters = {};
  for (const m of twiml.matchAll(/<Parameter name="([^"]+)" value="([^"]*)"\/>/g)) parameters[m[1]] = m[2];
  // TwiML is XML: the bytes arrive as U+FFFD, the rest as sent.
  assert.equal(parameters.from, '\uFFFD\uFFFD+14155550100');

  const ws = await openStream(streamUrl, agent.twilioAuthToken);
  const stream = new TwilioStream(ws, { callSid, parameters });
  stream.start();
  await stream.speak(600, false);
  await stream.speak(800, true);
  await stream.speak(1000, false);
  stream.stop();
  assert.equal((await stream.closed).code, 1000);
  assert.deepEqual(stream.violations, []);

  const { transcript, metadata, recording } = await artefacts(data, agent.agentId, callSid);
  assert.equal(transcript.status, 'complete');
  assert.ok(transcript.turns.length >= 2, JSON.stringify(transcript.turns));
  assert.equal(metadata.outcome, 'completed');
  assert.equal(metadata.from, '\uFFFD\uFFFD+14155550100');
  assert.equal(metadata.to, '+14155550199');
  assert.ok(recording, 'recording.wav exists');
  assert.equal(recording.channels, 2);
  assert.ok(recording.samples.length > 0);

  const { cookie } = await login(server, PASSWORD);
  let row;
  for (let i = 0; i < 100 && !row; ++i) {  // indexed right after the artefacts are stored
    const r = await fetch(`${server.base}/api/v1/calls/${callSid}`, { headers: { Cookie: cookie } });
    if (r.status === 200) row = await r.json();
    else if (r.status !== 404) assert.fail(`GET /calls/${callSid}: ${r.status} ${await r.text()}`);
    else await new Promise((done) => setTimeout(done, 50));
  }
  assert.ok(row, 'the call is in the index');
  assert.equal(row.from, '\uFFFD\uFFFD+14155550100');
  assert.equal(row.outcome, 'completed');
  assert.equal(row.metadata.from, '\uFFFD\uFFFD+14155550100');
});

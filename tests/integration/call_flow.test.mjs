// A phone call end to end against the real binary, with Twilio played by its own npm package
// (every webhook and the WebSocket upgrade are signed by twilio.getExpectedTwilioSignature).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import twilio from 'twilio';
import {
  tempDir, writeAgent, startServer, incomingCall, openStream, TwilioStream, artefacts,
  channelEnergy, metrics, sleep,
} from './lib/server.mjs';

let data, server, agent;

before(async () => {
  data = tempDir();
  agent = writeAgent(data, { agentId: 'echo-line', transferPhoneNumber: '+14155550101' });
  server = await startServer(data);
});
after(async () => { await server.stop(); });

async function connect({ callSid } = {}) {
  const call = await incomingCall(server, agent, { callSid });
  assert.equal(call.status, 200, call.body);
  const ws = await openStream(call.streamUrl, agent.twilioAuthToken);
  const stream = new TwilioStream(ws, { callSid: call.callSid, parameters: call.parameters });
  return { call, ws, stream };
}

test('a full call leaves a transcript, a stereo recording with the echo on the right, and metadata', async () => {
  const { call, stream } = await connect();
  assert.match(call.body, /^<\?xml version="1.0" encoding="UTF-8"\?><Response><Connect action="http:\/\/127\.0\.0\.1:\d+\/agent\/echo-line\/call-ended">/);
  assert.equal(call.parameters.callSid, call.callSid);
  stream.start();
  await stream.speak(600, false);
  await stream.speak(1000, true);
  await stream.speak(2200, false);
  stream.stop();
  const closed = await stream.closed;
  assert.equal(closed.code, 1000);
  assert.deepEqual(stream.violations, []);
  assert.equal(stream.marks.length, 2, 'a mark after the greeting and after the echo');
  assert.equal(stream.mediaBytes / 160, 15 + 50, 'greeting 300 ms + echo 1 s, in 20 ms frames');

  const { transcript, metadata, recording } = await artefacts(data, agent.agentId, call.callSid);
  assert.equal(transcript.status, 'complete');
  assert.deepEqual(transcript.turns.map((t) => t.role), ['agent', 'caller', 'agent']);
  assert.equal(metadata.outcome, 'completed');
  assert.equal(metadata.from, '+14155550100');
  assert.equal(metadata.marks.played, 2);
  assert.equal(recording.channels, 2);
  assert.equal(recording.sampleRate, 8000);
  const { left, right } = channelEnergy(recording);
  assert.ok(left > 0 && right > 0.8 * left, `left ${left} right ${right}`);
});

test('a forged or missing signature gets 403 on the webhook and on the upgrade', async () => {
  assert.equal((await incomingCall(server, agent, { sign: false })).status, 403);
  assert.equal((await incomingCall(server, agent, { token: 'not-the-token' })).status, 403);
  const good = await incomingCall(server, agent);
  await assert.rejects(openStream(good.streamUrl, agent.twilioAuthToken, { sign: false }), (e) => e.statusCode === 403);
  await assert.rejects(openStream(good.streamUrl, 'not-the-token'), (e) => e.statusCode === 403);
  // Twilio signs the upgrade over the ws URL; a signature made for the https URL is not it.
  const wrongUrl = twilio.getExpectedTwilioSignature(agent.twilioAuthToken, good.streamUrl.replace('ws:', 'http:'), {});
  const WebSocket = (await import('ws')).default;
  const ws = new WebSocket(good.streamUrl, { headers: { 'X-Twilio-Signature': wrongUrl } });
  const status = await new Promise((r) => ws.once('unexpected-response', (_q, res) => r(res.statusCode)));
  assert.equal(status, 403);
});

test('bad input is counted, logged once and the call still ends cleanly with its artefacts', async () => {
  const beforeMetrics = await metrics(server);
  const { call, ws, stream } = await connect();
  const sid = stream.streamSid;
  stream.send(stream.mediaMessage(Buffer.alloc(160, 0xff)));  // media before start
  stream.start();
  ws.send('this is not json');
  ws.send(Buffer.from([1, 2, 3]), { binary: true });
  stream.send({ event: 'dance', streamSid: sid });
  stream.send({ ...stream.mediaMessage(Buffer.alloc(160, 0xff)), streamSid: 'MZ0000' });
  const badBase64 = stream.mediaMessage(Buffer.alloc(160, 0xff));
  badBase64.media.payload = '@@@@not-base64';
  stream.send(badBase64);
  stream.send(stream.mediaMessage(Buffer.alloc(20000, 0xff)));  // oversized
  stream.send(stream.mediaMessage(Buffer.alloc(77, 0xff)));     // odd-sized: valid audio
  stream.start();                                              // duplicate start
  await stream.speak(400, false);
  stream.stop();
  assert.equal((await stream.closed).code, 1000);

  const { metadata, transcript } = await artefacts(data, agent.agentId, call.callSid);
  assert.equal(metadata.outcome, 'completed');
  for (const reason of ['media_before_start', 'not_json', 'binary_frame', 'unknown_event', 'wrong_stream_sid', 'bad_base64', 'payload_too_large', 'duplicate_start']) {
    assert.equal(metadata.badInput[reason], 1, `${reason}: ${JSON.stringify(metadata.badInput)}`);
    const key = `tempo_media_bad_messages_total{reason="${reason}"}`;
    assert.equal((await metrics(server))[key] - (beforeMetrics[key] ?? 0), 1, key);
  }
  assert.equal(metadata.frames.in, 21, 'the odd-sized frame and 20 of silence were accepted');
  assert.ok(transcript.turns.length >= 1);
  const logs = server.logs().split('\n').filter((l) => l.includes('(binary_frame)'));
  assert.equal(logs.length, 1, 'logged once');
});

test('a socket dropped mid-call still saves the partial transcript and recording', async () => {
  const { call, ws, stream } = await connect();
  stream.start();
  await stream.speak(600, false);
  await stream.speak(800, true);
  await stream.speak(900, false);
  ws.terminate();
  const { metadata, transcript, recording } = await artefacts(data, agent.agentId, call.callSid);
  assert.equal(metadata.outcome, 'dropped');
  assert.ok(transcript.turns.some((t) => t.role === 'caller'));
  assert.ok(recording.samples.length > 0);
});

test('DTMF tools: # ends the call with a hang-up, 0 transfers to the configured number', async () => {
  const first = await connect();
  first.stream.start();
  await first.stream.speak(400, false);
  first.stream.dtmf('#');
  assert.equal((await first.stream.closed).code, 1000);
  const ended = await postAction(first.call);
  assert.match(ended, /<Hangup\/>/);
  assert.equal((await artefacts(data, agent.agentId, first.call.callSid)).metadata.outcome, 'ended_by_agent');

  const second = await connect();
  second.stream.start();
  await second.stream.speak(400, false);
  second.stream.dtmf('0');
  await second.stream.closed;
  const transfer = await postAction(second.call);
  assert.match(transfer, /<Dial [^>]*action="[^"]*call-ended\?step=dial-done"[^>]*><Number>\+14155550101<\/Number><\/Dial>/);
  assert.equal((await artefacts(data, agent.agentId, second.call.callSid)).metadata.outcome, 'transferred');
});

async function postAction(call) {
  const params = { ...call.params, CallStatus: 'in-progress' };
  const res = await fetch(call.action, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      'X-Twilio-Signature': twilio.getExpectedTwilioSignature(agent.twilioAuthToken, call.action, params),
    },
    body: new URLSearchParams(params).toString(),
  });
  assert.equal(res.status, 200);
  return res.text();
}

test('kill -9 mid-call: on restart the finished turns are recovered into transcript.json', async () => {
  const crashData = tempDir();
  const crashAgent = writeAgent(crashData, { agentId: 'crash-line' });
  const crashing = await startServer(crashData);
  const call = await incomingCall(crashing, crashAgent);
  const ws = await openStream(call.streamUrl, crashAgent.twilioAuthToken);
  const stream = new TwilioStream(ws, { callSid: call.callSid });
  ws.on('error', () => {});
  stream.start();
  await stream.speak(600, false);
  await stream.speak(800, true);
  await stream.speak(1000, false);
  await sleep(200);
  await crashing.stop('SIGKILL');

  const restarted = await startServer(crashData);
  try {
    const { transcript, metadata, recording } = await artefacts(crashData, crashAgent.agentId, call.callSid);
    assert.equal(transcript.status, 'recovered');
    assert.equal(metadata.outcome, 'interrupted');
    assert.deepEqual(transcript.turns.slice(0, 2).map((t) => t.role), ['agent', 'caller']);
    assert.ok(recording.samples.length > 8000, 'the partial recording was kept');
  } finally {
    await restarted.stop();
  }
});

test('/metrics passes promtool check metrics after calls (every family present)', async () => {
  const { spawnSync } = await import('node:child_process');
  const text = await (await fetch(`${server.base}/metrics`)).text();
  for (const family of ['tempo_calls_started_total', 'tempo_calls_finished_total', 'tempo_media_frames_total',
    'tempo_media_bad_messages_total', 'tempo_turn_latency_seconds', 'tempo_http_requests_total',
    'tempo_twilio_webhooks_total', 'process_resident_memory_bytes']) {
    assert.ok(text.includes(`# TYPE ${family} `), family);
  }
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.error, undefined, 'promtool (Debian package prometheus) must be installed');
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});

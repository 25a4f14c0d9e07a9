// Spoken calls to the demo agent of the offline (`local`) engine, end to end: `tempovoice serve`
// (its first run creates and deploys the demo agent), our Twilio-compatible caller speaking flite lines over
// the 8 kHz μ-law stream and recording the agent, and the agent's replies recognised back from
// that recording by tests/e2e/reply_recognizer (grammar of everything the agent can say).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BIN, tempDir, startServer, artefacts, login, run } from './lib/server.mjs';

// Built next to the binary: <build>/tempovoice and <build>/tests/e2e/reply_recognizer.
const RECOGNIZER = process.env.TEMPO_REPLY_RECOGNIZER ?? join(dirname(BIN), 'tests', 'e2e', 'reply_recognizer');
const missing = existsSync(RECOGNIZER) ? false : `reply_recognizer not built (${RECOGNIZER})`;

const GREETING = 'hello thank you for calling bright smile dental how can i help you today';
const CLOSING = 'thank you for calling bright smile dental have a great day';

let data, server, agentFile, token;
before(async () => {
  if (missing) return;
  data = tempDir('tempo-speech-');
  // A short silence timeout so that the silent caller's call ends within seconds.
  process.env.TEMPO_ADMIN_PASSWORD = 'speech-test-password';
  server = await startServer(data, ['--silence-timeout-ms', '3000']);
  delete process.env.TEMPO_ADMIN_PASSWORD;
  // The first run created the demo agent in the dashboard, deployed, and showed its token once.
  const shown = server.stdout().match(/first run: agent 'demo' \(Bright Smile Dental\) is deployed; its Twilio auth token is ([0-9a-f]{32})/);
  assert.ok(shown, server.stdout());
  token = shown[1];
  // The recogniser of the agent's replies reads the agent's configuration, as the API gives it.
  const { cookie } = await login(server, 'speech-test-password');
  const demo = await (await fetch(`${server.base}/api/v1/agents/demo`, { headers: { Cookie: cookie } })).json();
  assert.equal(demo.status, 'deployed', JSON.stringify(demo));
  agentFile = join(data, 'demo-agent.json');
  writeFileSync(agentFile, JSON.stringify(demo));
});
after(async () => { if (server) await server.stop(); });

const words = (s) => s.toLowerCase().replace(/[^a-z0-9' ]+/g, ' ').split(/\s+/).filter(Boolean).join(' ');

/**
 * One call: says `lines` (the caller's default flite voice), records the agent, recognises the
 * recording. Returns the caller's report, the recognised utterances and the server's artefacts.
 */
async function speak(lines, extra = []) {
  const dir = tempDir('tempo-speech-call-');
  const wav = join(dir, 'agent.wav');
  const says = lines.flatMap((l) => ['--say', l]);
  const call = await run(BIN, ['call', '--url', `${server.base}/agent/demo/incoming-call`,
    '--auth-token', token, ...says, ...extra, '--record', wav, '--json']);
  assert.equal(call.code, 0, call.err + call.out);
  const report = JSON.parse(call.out);
  assert.equal(report.violations.length, 0, JSON.stringify(report.violations));
  const rec = await run(RECOGNIZER, [agentFile, wav]);
  assert.equal(rec.code, 0, rec.err);
  const heard = rec.out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const { metadata, transcript } = await artefacts(data, 'demo', report.call_sid);
  const text = heard.map((u) => words(u.text)).join(' | ');
  return { report, heard, text, metadata, transcript };
}

/** A WAV file of `seconds` of 8 kHz 16-bit mono silence. */
function silentWav(seconds) {
  const samples = 8000 * seconds;
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0); wav.writeUInt32LE(36 + samples * 2, 4); wav.write('WAVE', 8);
  wav.write('fmt ', 12); wav.writeUInt32LE(16, 16); wav.writeUInt16LE(1, 20); wav.writeUInt16LE(1, 22);
  wav.writeUInt32LE(8000, 24); wav.writeUInt32LE(16000, 28); wav.writeUInt16LE(2, 32); wav.writeUInt16LE(16, 34);
  wav.write('data', 36); wav.writeUInt32LE(samples * 2, 40);
  const path = join(tempDir('tempo-silence-'), 'silence.wav');
  writeFileSync(path, wav);
  return path;
}

// The calls run at once (the server takes them concurrently) to keep the file short.
let calls;
const scenario = (i) => {
  calls ??= Promise.all([
    [['What are your opening hours?']],
    [['Goodbye']],
    [['Can I talk to a person?']],
    [['Please call me back tomorrow at three pm']],
    [['[barge-in 1500ms] What are your opening hours?', 'Goodbye']],
    // A withheld number: the agent asks for one, then for the time.
    [['Please call me back.', 'Five five five, oh one two three.', 'Tomorrow morning.'],
      ['--from', 'anonymous']],
    // A caller who says nothing (a minute of digital silence).
    [[], ['--wav', silentWav(60)]],
  ].map(([lines, extra]) => speak(lines, extra).then((r) => ({ ok: r }), (e) => ({ error: e }))));
  return calls.then((all) => {
    if (all[i].error) throw all[i].error;
    return all[i].ok;
  });
};

/** The greeting is heard first; returns the recognised text after it. */
function afterGreeting({ heard, text }) {
  assert.ok(heard.length >= 2, `the greeting and a reply were heard: ${text}`);
  assert.equal(words(heard[0].text), GREETING, `greeting heard as: ${heard[0].text}`);
  return heard.slice(1).map((u) => words(u.text)).join(' ');
}

test('opening hours: the spoken answer names the days and hours', { skip: missing }, async () => {
  const call = await scenario(0);
  const reply = afterGreeting(call);
  for (const w of ['nine', 'five', 'monday', 'friday']) {
    assert.ok(reply.split(' ').includes(w), `"${w}" in the reply: ${reply}`);
  }
  assert.equal(call.metadata.outcome, 'completed', JSON.stringify(call.metadata));
});

test('goodbye: the closing line is spoken and the agent ends the call', { skip: missing }, async () => {
  const call = await scenario(1);
  const reply = afterGreeting(call);
  assert.ok(reply.includes(CLOSING), `closing line in the reply: ${reply}`);
  assert.equal(call.report.stream_closed_by_server, true);
  assert.equal(call.report.outcome, 'agent_hung_up');
  assert.equal(call.metadata.outcome, 'ended_by_agent');
  assert.ok(call.metadata.toolCalls.some((t) => t.name === 'end_call'), JSON.stringify(call.metadata.toolCalls));
});

test('asking for a person: the transfer line is spoken and the call is transferred', { skip: missing }, async () => {
  const call = await scenario(2);
  const reply = afterGreeting(call);
  assert.ok(reply.includes('transfer you to a member of our team'), `transfer line in the reply: ${reply}`);
  assert.equal(call.report.transfer_target, '+14155550100');
  assert.equal(call.report.outcome, 'transferred');
  assert.equal(call.metadata.outcome, 'transferred');
});

test('a callback request: the time is confirmed aloud and stored with the call', { skip: missing }, async () => {
  const call = await scenario(3);
  const reply = afterGreeting(call);
  assert.ok(reply.includes('call you back tomorrow'), `callback confirmation in the reply: ${reply}`);
  const time = call.metadata.callback?.time ?? '';
  assert.match(time, /tomorrow/i, JSON.stringify(call.metadata));
  assert.match(time, /\b(3|three)\s*(pm|p\.?\s?m)\b/i, JSON.stringify(call.metadata));
  assert.ok(call.metadata.toolCalls.some((t) => t.name === 'schedule_callback'), JSON.stringify(call.metadata.toolCalls));
});

test('barge-in: the caller talks over the greeting, the agent stops within 300 ms and answers', { skip: missing }, async (t) => {
  const call = await scenario(4);
  const { report, heard, text } = call;
  assert.equal(report.barge_ins.length, 1, JSON.stringify(report.barge_ins));
  const [barge] = report.barge_ins;
  assert.equal(barge.turn, 1);
  assert.equal(barge.interrupt_after_ms, 1500);
  assert.equal(barge.agent_was_speaking, true, 'the greeting was still playing');
  // From the caller's first voiced frame to the `clear` reaching it.
  assert.equal(typeof barge.clear_ms, 'number', JSON.stringify(barge));
  t.diagnostic(`clear ${barge.clear_ms.toFixed(1)} ms after the caller began`);
  assert.ok(barge.clear_ms <= 300, `clear ${barge.clear_ms} ms after the caller began`);
  // Counted up to the end of the caller's words, before the agent may answer them.
  assert.equal(barge.agent_audio_after_clear_ms, 0, JSON.stringify(barge));

  assert.equal(call.metadata.interruptions, 1, JSON.stringify(call.metadata));
  const firstAgentTurn = call.transcript.turns.find((t) => t.role === 'agent');
  assert.equal(firstAgentTurn.interrupted, true, JSON.stringify(call.transcript.turns));

  // The greeting was cut: heard first, but not whole.
  assert.ok(heard.length >= 3, `the cut greeting, the answer and the closing line were heard: ${text}`);
  const greeting = words(heard[0].text);
  assert.ok(greeting.startsWith('hello thank you'), `cut greeting heard as: ${heard[0].text}`);
  assert.notEqual(greeting, GREETING, `the greeting was not cut: ${heard[0].text}`);
  const rest = heard.slice(1).map((u) => words(u.text)).join(' ');
  const closing = rest.indexOf(CLOSING);
  assert.ok(closing > 0, `closing line after the answer: ${rest}`);
  const answer = rest.slice(0, closing).split(' ');
  for (const w of ['nine', 'five', 'monday', 'friday']) {
    assert.ok(answer.includes(w), `"${w}" in the answer before the closing line: ${rest}`);
  }
  assert.equal(report.outcome, 'agent_hung_up');
  assert.equal(call.metadata.outcome, 'ended_by_agent');
});

test('a callback from a withheld number: the agent asks for the number and the time', { skip: missing }, async () => {
  const call = await scenario(5);
  const reply = afterGreeting(call);
  assert.ok(reply.includes('what number should we call you back on'), `number question: ${reply}`);
  assert.ok(reply.includes('when would be a good time to call you back'), `time question: ${reply}`);
  assert.ok(reply.indexOf('what number') < reply.indexOf('when would'), `number asked first: ${reply}`);
  assert.equal(call.metadata.callback?.phone, '5550123', JSON.stringify(call.metadata));
  assert.equal(call.metadata.callback?.time, 'tomorrow morning', JSON.stringify(call.metadata));
  assert.ok(call.metadata.toolCalls.some((t) => t.name === 'schedule_callback'), JSON.stringify(call.metadata.toolCalls));
});

test('a silent caller: "are you still there?", then a polite ending by the agent', { skip: missing }, async () => {
  const call = await scenario(6);
  const reply = afterGreeting(call);
  assert.ok(reply.includes('are you still there'), `re-prompt: ${reply}`);
  assert.ok(reply.includes("i haven't heard anything for a while") && reply.includes(CLOSING), `polite ending: ${reply}`);
  assert.equal(call.report.outcome, 'agent_hung_up');
  const end = call.metadata.toolCalls.find((t) => t.name === 'end_call');
  assert.ok(end, JSON.stringify(call.metadata.toolCalls));
  // The agent, not the end of the caller's minute of silence, ended the call.
  assert.ok(call.report.duration_s < 45, `ended after ${call.report.duration_s} s`);
});

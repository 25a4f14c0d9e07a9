// A nova_sonic agent through `serve`, with Bedrock played by the emulator (tests/fakes/bedrock,
// which checks every signature with AWS's own packages): `tempovoice call` is greeted, asks for
// a person, and the agent's transfer_call becomes a <Dial>; the call leaves a transcript of both
// roles and a stereo recording; a caller who talks over the agent stops it at once; the
// runtime acts on end_call, voicemail and schedule_callback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBedrockEmulator, DEFAULT_CREDENTIALS, INTERRUPT_MS } from '../fakes/bedrock/emulator.mjs';
import { BIN, tempDir, writeAgent, startServer, run, artefacts } from './lib/server.mjs';

async function novaServer(t, script, agentFields = {}) {
  const bedrock = await startBedrockEmulator({ script });
  t.after(() => bedrock.close());
  const data = tempDir('tempo-nova-');
  const agent = writeAgent(data, {
    agentId: 'nova-line', engine: 'nova_sonic', voiceId: 'tiffany',
    firstMessage: 'Thanks for calling Bright Smile, how can I help?', transferPhoneNumber: '+14155550123',
    ...agentFields,
  });
  // Round prices, so that the cost in the call's metadata can be checked against its tokens.
  const server = await startServer(data, ['--bedrock-endpoint', bedrock.url, '--nova-price', '1, 2, 3, 4'], {
    env: {
      AWS_ACCESS_KEY_ID: DEFAULT_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: DEFAULT_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true',
    },
  });
  t.after(() => server.stop());
  const call = (...says) => run(BIN, ['call', '--url', `${server.base}/agent/${agent.agentId}/incoming-call`,
    '--auth-token', agent.twilioAuthToken, ...says.flatMap((line) => ['--say', line]), '--max-duration', '30', '--json']);
  return { bedrock, data, agent, server, call };
}

test('a nova_sonic call through serve: greeting, a spoken turn, a transfer, artefacts', async (t) => {
  const { bedrock, data, agent, server, call: place } = await novaServer(t, [
    { user: '(connected)', reply: 'Thanks for calling Bright Smile, how can I help?' },
    { user: 'Can I talk to a person please?', tool: { name: 'transfer_call', input: { reason: 'asked for a person' } }, reply: 'Connecting you now.' },
  ]);
  {
    const call = await place('Can I talk to a person please?');
    const report = JSON.parse(call.out);
    assert.equal(report.outcome, 'transferred', `${call.out}\n${server.logs()}`);
    assert.equal(report.transfer_target, '+14155550123');
    assert.ok(report.frames_received > 25, 'the caller heard the agent');
    // Nova speaks first: the greeting within a second of the stream's start.
    assert.ok(report.first_agent_audio_ms <= 1000, `the greeting came after ${report.first_agent_audio_ms} ms`);
    console.log(`greeting: the first agent audio ${report.first_agent_audio_ms} ms after the stream started`);
    assert.deepEqual(bedrock.stats.rejected, []);
    assert.deepEqual(bedrock.stats.toolResults.map((r) => r.name), ['transfer_call']);
    const { transcript, metadata, recording } = await artefacts(data, agent.agentId, report.call_sid);
    assert.equal(metadata.outcome, 'transferred');
    // Nova's usage events, in the call's metadata.
    assert.ok(metadata.usage.inputTokens > 0 && metadata.usage.outputTokens > 0, JSON.stringify(metadata.usage));
    assert.equal(metadata.usage.outputTokens, metadata.usage.outputSpeechTokens + metadata.usage.outputTextTokens);
    const u = metadata.usage;
    const cost = (u.inputSpeechTokens * 1 + u.outputSpeechTokens * 2 + u.inputTextTokens * 3 + u.outputTextTokens * 4) / 1000;
    assert.ok(cost > 0 && Math.abs(u.costUsd - cost) < 1e-9, `costUsd ${u.costUsd}, tokens at --nova-price: ${cost}`);
    const lines = transcript.turns.map((turn) => `${turn.role}: ${turn.text}`);
    assert.ok(lines.includes('agent: Thanks for calling Bright Smile, how can I help?'), lines.join('\n'));
    assert.ok(lines.includes('caller: Can I talk to a person please?'), lines.join('\n'));
    assert.equal(recording.channels, 2);
  }
});

// Barge-in: the caller talks over a long greeting; the emulator (as Nova) says the caller
// interrupted, and the agent's queued audio is cleared at the caller at once.
test('a caller who talks over the agent stops it: the clear reaches the caller within 300 ms', async (t) => {
  const long = 'Thanks for calling Bright Smile Dental, the friendliest dental clinic in town, where every smile matters to us and our team is always happy to help you.';
  const { bedrock, call: place, server } = await novaServer(t, [
    { user: '(connected)', reply: long },
    { user: 'Sorry, are you open on Saturday?', reply: 'Yes, from nine to one.' },
  ]);
  const call = await place('[barge-in 1500ms] Sorry, are you open on Saturday?');
  const report = JSON.parse(call.out);
  assert.equal(report.barge_ins.length, 1, call.out);
  const barge = report.barge_ins[0];
  assert.equal(barge.agent_was_speaking, true);
  assert.equal(bedrock.stats.interruptions.length, 1, server.logs());
  assert.notEqual(barge.clear_ms, null, 'a clear reached the caller');
  // clear_ms counts from the caller's first words; the emulator needs INTERRUPT_MS of them.
  assert.ok(barge.clear_ms - INTERRUPT_MS <= 300, `the clear came ${barge.clear_ms} ms after the words began`);
  console.log(`barge-in: the clear reached the caller ${barge.clear_ms} ms after its words began (${INTERRUPT_MS} ms of them make the interruption)`);
  assert.equal(barge.agent_audio_after_clear_ms, 0);
});

// The runtime acts on the agent's other tools as it does for the local engine: end_call hangs
// up, voicemail records, schedule_callback is kept with the call.
for (const [tool, input, check] of [
  ['end_call', { reason: 'the caller said goodbye' }, (report, metadata) => {
    assert.equal(report.outcome, 'agent_hung_up');
    assert.equal(metadata.outcome, 'ended_by_agent');
  }],
  ['voicemail', { reason: 'nobody can answer' }, (report, metadata) => {
    assert.ok(report.verbs.some((v) => v.startsWith('Record')), JSON.stringify(report.verbs));
    assert.equal(metadata.outcome, 'voicemail');
  }],
  ['schedule_callback', { time: 'tomorrow at 10am' }, (report, metadata) => {
    assert.equal(metadata.callback.time, 'tomorrow at 10am');
    assert.ok(metadata.callback.phone, 'the caller\'s number by default');
  }],
]) {
  test(`the agent's ${tool} is acted on`, async (t) => {
    const { bedrock, data, agent, call: place } = await novaServer(t, [
      { user: '(connected)', reply: 'Hello, Bright Smile.' },
      { user: 'Please do it.', tool: { name: tool, input }, reply: 'Done.' },
    ]);
    const call = await place('Please do it.', 'Thank you.');
    const report = JSON.parse(call.out);
    assert.deepEqual(bedrock.stats.toolResults.map((r) => r.name), [tool], call.out);
    assert.equal(JSON.parse(bedrock.stats.toolResults[0].content).status, 'ok');
    const { metadata } = await artefacts(data, agent.agentId, report.call_sid);
    assert.deepEqual(metadata.toolCalls.map((c) => c.name), [tool]);
    check(report, metadata);
  });
}

// The model's search_knowledge_base is answered from the agent's own knowledge base (the same
// BM25 retrieval as the local engine), and what it found is what the agent says.
test('search_knowledge_base answers from the agent\'s knowledge base', async (t) => {
  const saturday = 'On Saturday we open at nine and close at one.';
  const { bedrock, data, agent, call: place } = await novaServer(t, [
    { user: '(connected)', reply: 'Hello, Bright Smile.' },
    { user: 'When do you open on Saturday?', tool: { name: 'search_knowledge_base', input: { query: 'opening hours on Saturday' } }, reply: '{result}' },
  ], {
    knowledgeBase: [
      { question: 'Where are you located?', answer: 'We are at 12 Harbour Street.' },
      { question: 'What are your opening hours on Saturday?', answer: saturday },
    ],
  });
  const call = await place('When do you open on Saturday?', 'Thank you.');
  const report = JSON.parse(call.out);
  assert.deepEqual(bedrock.stats.toolResults.map((r) => r.name), ['search_knowledge_base'], call.out);
  const found = JSON.parse(bedrock.stats.toolResults[0].content);
  assert.equal(found.status, 'ok');
  assert.equal(found.results[0].answer, saturday, JSON.stringify(found));
  const { transcript } = await artefacts(data, agent.agentId, report.call_sid);
  assert.ok(transcript.turns.some((turn) => turn.role === 'agent' && turn.text.includes(saturday)),
    JSON.stringify(transcript.turns));
});

test('a malformed --nova-price stops serve at start with what is wrong', async () => {
  const data = tempDir('tempo-nova-price-');
  for (const price of ['1,2,3', '1,2,3,4,5', '1,2,x,4', '-1,2,3,4', '1,,3,4']) {
    const result = await run(BIN, ['serve', '--port', '0', '--data-dir', data, '--nova-price', price]);
    assert.equal(result.code, 2, `${price}: ${result.err}`);
    assert.match(result.err, /--nova-price .*four prices in US dollars per 1,000 tokens/);
  }
});

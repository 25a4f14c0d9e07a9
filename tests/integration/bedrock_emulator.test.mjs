// The Bedrock emulator (tests/fakes/bedrock) is faithful to what AWS's own SDK sends: the
// official @aws-sdk/client-bedrock-runtime InvokeModelWithBidirectionalStreamCommand, pointed
// at it, holds a Nova Sonic conversation with a tool call, and a request signed with a wrong
// key is refused as Bedrock refuses it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { BedrockRuntimeClient, InvokeModelWithBidirectionalStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { startBedrockEmulator, DEFAULT_CREDENTIALS } from '../fakes/bedrock/emulator.mjs';

const MODEL = 'amazon.nova-2-sonic-v1:0';
const clients = [];
after(() => { for (const c of clients) c.destroy(); });

function client(url, credentials = DEFAULT_CREDENTIALS) {
  const c = new BedrockRuntimeClient({ endpoint: url, region: 'us-east-1', credentials });
  clients.push(c);
  return c;
}

const chunk = (event) => ({ chunk: { bytes: new TextEncoder().encode(JSON.stringify({ event })) } });

// 16 kHz 16-bit mono LPCM: a voiced tone or silence, base64.
function audio(ms, voiced) {
  const pcm = Buffer.alloc((16000 * ms / 1000) * 2);
  if (voiced) for (let i = 0; i < pcm.length / 2; ++i) pcm.writeInt16LE(Math.round(8000 * Math.sin(2 * Math.PI * 300 * i / 16000)), i * 2);
  return pcm.toString('base64');
}

test('the official SDK holds a conversation with a tool call against the emulator', async (t) => {
  const bedrock = await startBedrockEmulator({
    script: [
      { user: 'What is the weather in Seattle?', tool: { name: 'getWeather', input: { city: 'Seattle' } }, reply: 'In Seattle it is {result}.' },
      { user: 'Thank you, goodbye.', reply: 'Goodbye!' },
    ],
  });
  t.after(() => bedrock.close());
  const P = 'prompt-1';
  const outputs = [];
  let notify = () => {};
  const waitFor = (predicate) => new Promise((resolve) => {
    const check = () => { const hit = outputs.find(predicate); if (hit) resolve(hit); else notify = check; };
    check();
  });

  async function* input() {
    yield chunk({ sessionStart: { inferenceConfiguration: { maxTokens: 1024, topP: 0.9, temperature: 0.7 } } });
    yield chunk({ promptStart: { promptName: P, textOutputConfiguration: { mediaType: 'text/plain' },
      audioOutputConfiguration: { mediaType: 'audio/lpcm', sampleRateHertz: 24000, sampleSizeBits: 16, channelCount: 1, voiceId: 'matthew', encoding: 'base64', audioType: 'SPEECH' },
      toolUseOutputConfiguration: { mediaType: 'application/json' },
      toolConfiguration: { tools: [{ toolSpec: { name: 'getWeather', description: 'The weather in a city',
        inputSchema: { json: JSON.stringify({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }) } } }] } } });
    yield chunk({ contentStart: { promptName: P, contentName: 'sys', type: 'TEXT', interactive: false, role: 'SYSTEM', textInputConfiguration: { mediaType: 'text/plain' } } });
    yield chunk({ textInput: { promptName: P, contentName: 'sys', content: 'You are a helpful weather assistant.' } });
    yield chunk({ contentEnd: { promptName: P, contentName: 'sys' } });
    yield chunk({ contentStart: { promptName: P, contentName: 'mic', type: 'AUDIO', interactive: true, role: 'USER',
      audioInputConfiguration: { mediaType: 'audio/lpcm', sampleRateHertz: 16000, sampleSizeBits: 16, channelCount: 1, audioType: 'SPEECH', encoding: 'base64' } } });
    // The caller's first turn, typed (Nova 2's cross-modal input) while the microphone is open.
    yield chunk({ contentStart: { promptName: P, contentName: 'typed', type: 'TEXT', interactive: true, role: 'USER', textInputConfiguration: { mediaType: 'text/plain' } } });
    yield chunk({ textInput: { promptName: P, contentName: 'typed', content: 'What is the weather in Seattle?' } });
    yield chunk({ contentEnd: { promptName: P, contentName: 'typed' } });
    const use = await waitFor((e) => e.toolUse);
    yield chunk({ contentStart: { promptName: P, contentName: 'tool-1', interactive: false, type: 'TOOL', role: 'TOOL',
      toolResultInputConfiguration: { toolUseId: use.toolUse.toolUseId, type: 'TEXT', textInputConfiguration: { mediaType: 'text/plain' } } } });
    yield chunk({ toolResult: { promptName: P, contentName: 'tool-1', content: JSON.stringify({ temperatureC: 21 }) } });
    yield chunk({ contentEnd: { promptName: P, contentName: 'tool-1' } });
    await waitFor((e) => e.contentEnd?.type === 'AUDIO');  // the answer's speech is all here
    // A caller speaks once the answer has been heard (talking over it would be a barge-in):
    // as long as its 24 kHz speech lasts.
    const spoken = outputs.filter((e) => e.audioOutput).reduce((n, e) => n + Buffer.from(e.audioOutput.content, 'base64').length, 0);
    await new Promise((resolve) => setTimeout(resolve, (spoken / 2 / 24000) * 1000 + 100));
    // The second turn is spoken: voice, then silence until the model takes the turn.
    for (let i = 0; i < 10; ++i) yield chunk({ audioInput: { promptName: P, contentName: 'mic', content: audio(64, true) } });
    for (let i = 0; i < 12; ++i) yield chunk({ audioInput: { promptName: P, contentName: 'mic', content: audio(64, false) } });
    await waitFor((e) => e.textOutput?.content === 'Goodbye!');
    yield chunk({ contentEnd: { promptName: P, contentName: 'mic' } });
    yield chunk({ promptEnd: { promptName: P } });
    yield chunk({ sessionEnd: {} });
  }

  const response = await client(bedrock.url).send(new InvokeModelWithBidirectionalStreamCommand({ modelId: MODEL, body: input() }));
  for await (const part of response.body) {
    assert.ok(part.chunk, `an exception from the emulator: ${JSON.stringify(part)}`);
    outputs.push(JSON.parse(new TextDecoder().decode(part.chunk.bytes)).event);
    notify();
  }

  assert.deepEqual(bedrock.stats.rejected, []);
  assert.deepEqual(bedrock.stats.exceptions, []);
  const names = outputs.map((e) => Object.keys(e)[0]);
  assert.equal(names[0], 'completionStart');
  assert.equal(names.at(-1), 'completionEnd');
  const texts = outputs.filter((e) => e.textOutput).map((e) => `${e.textOutput.role}:${e.textOutput.content}`);
  assert.deepEqual(texts, [
    'USER:What is the weather in Seattle?',
    'ASSISTANT:In Seattle it is {"temperatureC":21}.', 'ASSISTANT:In Seattle it is {"temperatureC":21}.',
    'USER:Thank you, goodbye.',
    'ASSISTANT:Goodbye!', 'ASSISTANT:Goodbye!',
  ]);
  // SPECULATIVE then FINAL for each assistant answer.
  const stages = outputs.filter((e) => e.contentStart?.role === 'ASSISTANT' && e.contentStart.type === 'TEXT')
    .map((e) => JSON.parse(e.contentStart.additionalModelFields).generationStage);
  assert.deepEqual(stages, ['SPECULATIVE', 'FINAL', 'SPECULATIVE', 'FINAL']);
  const use = outputs.find((e) => e.toolUse).toolUse;
  assert.equal(use.toolName, 'getWeather');
  assert.deepEqual(JSON.parse(use.content), { city: 'Seattle' });
  assert.deepEqual(bedrock.stats.toolResults, [{ name: 'getWeather', content: '{"temperatureC":21}' }]);
  const speech = outputs.filter((e) => e.audioOutput).reduce((n, e) => n + Buffer.from(e.audioOutput.content, 'base64').length, 0);
  assert.ok(speech > 24000 * 2 * 0.5, `${speech} bytes of 24 kHz speech`);
  assert.ok(outputs.some((e) => e.usageEvent?.totalTokens > 0));
  // Every frame the SDK sent was checked: the events in order, then the signed empty frame.
  assert.deepEqual(bedrock.stats.events.slice(0, 3), ['sessionStart', 'promptStart', 'contentStart']);
  assert.equal(bedrock.stats.events.at(-1), 'sessionEnd');
});

test('a request signed with a wrong key is refused, as Bedrock refuses it', async (t) => {
  const bedrock = await startBedrockEmulator();
  t.after(() => bedrock.close());
  async function* input() {
    yield chunk({ sessionStart: { inferenceConfiguration: { maxTokens: 1024, topP: 0.9, temperature: 0.7 } } });
  }
  const wrong = client(bedrock.url, { ...DEFAULT_CREDENTIALS, secretAccessKey: 'not-the-key' });
  await assert.rejects(
    wrong.send(new InvokeModelWithBidirectionalStreamCommand({ modelId: MODEL, body: input() })),
    (e) => e.name === 'InvalidSignatureException' || /signature/i.test(e.message));
  assert.equal(bedrock.stats.rejected[0]?.type, 'InvalidSignatureException');
  assert.equal(bedrock.stats.sessions, 0);
});

test('events out of order end the stream with a ValidationException', async (t) => {
  const bedrock = await startBedrockEmulator();
  t.after(() => bedrock.close());
  async function* input() {
    yield chunk({ promptStart: { promptName: 'p' } });  // before sessionStart
  }
  // The SDK reads the first event before send() resolves: the exception comes from either.
  await assert.rejects(async () => {
    const response = await client(bedrock.url).send(new InvokeModelWithBidirectionalStreamCommand({ modelId: MODEL, body: input() }));
    for await (const part of response.body) void part;
  }, (e) => e.name === 'ValidationException' && /promptStart must follow sessionStart/.test(e.message));
});

// A Bedrock Runtime emulator for Amazon Nova Sonic's InvokeModelWithBidirectionalStream: an
// HTTP/2 server (h2c with prior knowledge, or TLS with ALPN h2) that checks what a client sends
// with AWS's own packages, not ours — @smithy/signature-v4 recomputes the request's signature
// and every frame's chunk signature, @smithy/eventstream-codec decodes the frames — and answers
// like Nova Sonic: completion and content brackets, USER and ASSISTANT transcripts (SPECULATIVE
// then FINAL), 24 kHz speech, tool use, usage events. Its replies follow a script, so tests
// check real turns.
//
//   import { startBedrockEmulator } from './emulator.mjs';
//   const bedrock = await startBedrockEmulator({ script: [{ user: 'hi', reply: 'Hello!' }] });
//   // bedrock.url: http://127.0.0.1:<port>; bedrock.close()
//
// By hand: node tests/fakes/bedrock/emulator.mjs --port 8443 [--tls key.pem cert.pem]
//   [--script turns.json] [--session-limit-ms N] [--max-streams N] [--goaway-after N]
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

const PATH = /^\/model\/([^/]+)\/invoke-with-bidirectional-stream$/;
const STREAMING = 'STREAMING-AWS4-HMAC-SHA256-EVENTS';
// How much of the caller's voice over the answer makes a barge-in.
export const INTERRUPT_MS = 60;
const codec = new EventStreamCodec(toUtf8, fromUtf8);

export const DEFAULT_CREDENTIALS = { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator-secret-key' };

const hex = (bytes) => Buffer.from(bytes).toString('hex');

// 24 kHz, 16-bit little-endian mono "speech": a tone as long as the text takes to say.
export function speech(text, rate = 24000) {
  const samples = Math.round(rate * Math.max(0.3, text.length * 0.06));
  const pcm = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; ++i) pcm.writeInt16LE(Math.round(6000 * Math.sin((2 * Math.PI * 220 * i) / rate)), i * 2);
  return pcm;
}

// Whether a 16-bit LPCM buffer holds voice (mean absolute amplitude over a threshold).
function voiced(pcm) {
  let sum = 0;
  const n = Math.floor(pcm.length / 2);
  for (let i = 0; i < n; ++i) sum += Math.abs(pcm.readInt16LE(i * 2));
  return n > 0 && sum / n > 500;
}

class Session {
  constructor(emulator, stream, modelId) {
    this.emulator = emulator;
    this.stream = stream;
    this.modelId = modelId;
    this.sessionId = randomUUID();
    this.completionId = null;
    this.state = 'new';  // new -> session -> prompt -> (system) -> ... -> ended
    this.systemSeen = false;
    this.turn = 0;
    this.openContents = new Map();  // contentName -> {type, role, interactive}
    this.audio = { voicedMs: 0, silentMs: 0, heard: false };
    this.speakingUntil = 0;  // the answer's speech, as long as it takes to say, from when sent
    this.pendingTool = null;
    this.usage = { input: 0, output: 0 };
    this.events = [];
    this.ended = false;
  }

  send(event) {
    if (this.ended || this.stream.destroyed) return;
    const body = JSON.stringify({ bytes: Buffer.from(JSON.stringify({ event })).toString('base64') });
    this.stream.write(codec.encode({
      headers: {
        ':message-type': { type: 'string', value: 'event' },
        ':event-type': { type: 'string', value: 'chunk' },
        ':content-type': { type: 'string', value: 'application/json' },
      },
      body: fromUtf8(body),
    }));
  }

  // An in-stream exception ends the stream, as Bedrock's do.
  fail(type, message) {
    if (this.ended || this.stream.destroyed) return;
    this.emulator.stats.exceptions.push({ type, message });
    this.stream.end(codec.encode({
      headers: {
        ':message-type': { type: 'string', value: 'exception' },
        ':exception-type': { type: 'string', value: type },
        ':content-type': { type: 'string', value: 'application/json' },
      },
      body: fromUtf8(JSON.stringify({ message })),
    }));
    // The answer is complete while the client may still be sending: RST_STREAM(NO_ERROR)
    // asks it to stop (RFC 9113 §8.1).
    this.stream.close(http2.constants.NGHTTP2_NO_ERROR);
    this.ended = true;
  }

  ids(extra = {}) {
    return { sessionId: this.sessionId, promptName: this.promptName, completionId: this.completionId, ...extra };
  }

  textBlock(role, stage, content, stopReason = 'END_TURN') {
    const contentId = randomUUID();
    this.send({ contentStart: this.ids({ contentId, type: 'TEXT', role,
      additionalModelFields: JSON.stringify({ generationStage: stage }),
      textOutputConfiguration: { mediaType: 'text/plain' } }) });
    this.send({ textOutput: this.ids({ contentId, role, content }) });
    this.send({ contentEnd: this.ids({ contentId, type: 'TEXT', stopReason }) });
  }

  usageEvent(inputTokens, outputTokens) {
    this.usage.input += inputTokens;
    this.usage.output += outputTokens;
    const speechTokens = (n) => ({ speechTokens: n, textTokens: 0 });
    this.send({ usageEvent: this.ids({
      details: { delta: { input: speechTokens(inputTokens), output: speechTokens(outputTokens) },
        total: { input: speechTokens(this.usage.input), output: speechTokens(this.usage.output) } },
      totalInputTokens: this.usage.input, totalOutputTokens: this.usage.output,
      totalTokens: this.usage.input + this.usage.output }) });
  }

  // The caller finished a turn: what it "said" comes from the script.
  userTurn(spoken) {
    const step = this.emulator.script[this.turn] ?? { user: spoken ?? '(silence)', reply: 'Sorry, I did not catch that.' };
    this.turn += 1;
    if (!this.completionId) {
      this.completionId = randomUUID();
      this.send({ completionStart: this.ids() });
    }
    this.textBlock('USER', 'FINAL', spoken ?? step.user);
    this.usageEvent(50, 0);
    if (step.tool) {
      const contentId = randomUUID();
      const toolUseId = randomUUID();
      this.send({ contentStart: this.ids({ contentId, type: 'TOOL', role: 'TOOL',
        toolUseOutputConfiguration: { mediaType: 'application/json' } }) });
      this.send({ toolUse: this.ids({ contentId, toolName: step.tool.name, toolUseId,
        content: JSON.stringify(step.tool.input ?? {}) }) });
      this.send({ contentEnd: this.ids({ contentId, type: 'TOOL', stopReason: 'TOOL_USE' }) });
      this.pendingTool = { toolUseId, step };
      return;
    }
    this.reply(step.reply);
  }

  reply(text) {
    this.textBlock('ASSISTANT', 'SPECULATIVE', text, 'PARTIAL_TURN');
    const contentId = randomUUID();
    this.send({ contentStart: this.ids({ contentId, type: 'AUDIO', role: 'ASSISTANT',
      audioOutputConfiguration: { mediaType: 'audio/lpcm', sampleRateHertz: 24000, sampleSizeBits: 16,
        encoding: 'base64', channelCount: 1 } }) });
    const pcm = speech(text);
    for (let at = 0; at < pcm.length; at += 1920) {  // 40 ms pieces
      this.send({ audioOutput: this.ids({ contentId, content: pcm.subarray(at, at + 1920).toString('base64') }) });
    }
    this.send({ contentEnd: this.ids({ contentId, type: 'AUDIO', stopReason: 'END_TURN' }) });
    this.speakingUntil = Date.now() + (pcm.length / 2 / 24000) * 1000;
    this.textBlock('ASSISTANT', 'FINAL', text);
    this.usageEvent(0, Math.ceil(pcm.length / 480));
  }

  // One client event, in order; a wrong order is a ValidationException, as on Bedrock.
  onEvent(event) {
    const [name] = Object.keys(event);
    const body = event[name];
    this.events.push(name);
    this.emulator.stats.events.push(name);
    const invalid = (message) => this.fail('validationException', message);
    switch (name) {
      case 'sessionStart':
        if (this.state !== 'new') return invalid('sessionStart must come first, once');
        this.state = 'session';
        this.inference = body.inferenceConfiguration;
        return;
      case 'promptStart':
        if (this.state !== 'session') return invalid('promptStart must follow sessionStart');
        this.state = 'prompt';
        this.promptName = body.promptName;
        this.prompt = body;
        return;
      case 'contentStart': {
        if (this.state !== 'prompt') return invalid('contentStart outside a prompt');
        if (body.promptName !== this.promptName) return invalid(`unknown promptName ${body.promptName}`);
        if (body.role === 'SYSTEM') {
          if (this.systemSeen) return invalid('Duplicate SYSTEM content. SYSTEM content can only be provided once per prompt.');
          this.systemSeen = true;
        }
        this.openContents.set(body.contentName, { type: body.type, role: body.role, interactive: body.interactive, text: '', toolUseId: body.toolResultInputConfiguration?.toolUseId });
        return;
      }
      case 'textInput':
      case 'audioInput':
      case 'toolResult': {
        const content = this.openContents.get(body.contentName);
        if (!content) return invalid(`${name} for content ${body.contentName}, which is not open`);
        if (name === 'textInput') content.text += body.content;
        if (name === 'toolResult') content.result = body.content;
        if (name === 'audioInput') this.onAudio(Buffer.from(body.content, 'base64'));
        return;
      }
      case 'contentEnd': {
        const content = this.openContents.get(body.contentName);
        if (!content) return invalid(`contentEnd for content ${body.contentName}, which is not open`);
        this.openContents.delete(body.contentName);
        if (content.role === 'SYSTEM') this.system = content.text;
        // Typed user input in a live session (Nova 2's cross-modal input) is a turn.
        if (content.type === 'TEXT' && content.role === 'USER' && content.interactive) this.userTurn(content.text);
        if (content.type === 'TOOL') {
          if (!this.pendingTool || content.toolUseId !== this.pendingTool.toolUseId) {
            return invalid(`a tool result for ${content.toolUseId}, which was not asked for`);
          }
          const { step } = this.pendingTool;
          this.pendingTool = null;
          this.emulator.stats.toolResults.push({ name: step.tool.name, content: content.result });
          this.reply((step.reply ?? '').replace('{result}', content.result ?? ''));
        }
        return;
      }
      case 'promptEnd':
        if (this.state !== 'prompt') return invalid('promptEnd outside a prompt');
        if (this.completionId) this.send({ completionEnd: this.ids({ stopReason: 'END_TURN' }) });
        this.state = 'session';
        return;
      case 'sessionEnd':
        this.state = 'ended';
        return;
      default:
        return invalid(`unknown event ${name}`);
    }
  }

  // Turn detection on the caller's audio: voice, then 500 ms of silence, ends a turn. Voice
  // while the answer is still being spoken (INTERRUPT_MS of it) is a barge-in: Nova's marker.
  onAudio(pcm) {
    const ms = (pcm.length / 2 / 16000) * 1000;
    if (voiced(pcm)) {
      this.audio.voicedMs += ms;
      this.audio.silentMs = 0;
      if (this.audio.voicedMs >= INTERRUPT_MS && Date.now() < this.speakingUntil) {
        this.speakingUntil = 0;
        this.emulator.stats.interruptions.push(Date.now());
        this.send({ textOutput: this.ids({ contentId: randomUUID(), role: 'ASSISTANT', content: '{ "interrupted" : true }' }) });
      }
      if (this.audio.voicedMs >= 100) this.audio.heard = true;
    } else {
      this.audio.silentMs += ms;
      if (this.audio.heard && this.audio.silentMs >= 500) {
        this.audio = { voicedMs: 0, silentMs: 0, heard: false };
        this.userTurn();
      }
    }
  }
}

export async function startBedrockEmulator({
  port = 0, host = '127.0.0.1', tls, credentials = DEFAULT_CREDENTIALS, region = 'us-east-1',
  script = [], sessionLimitMs = 8 * 60 * 1000, maxConcurrentStreams = 100, goawayAfter = 0,
} = {}) {
  const signer = new SignatureV4({ credentials, region, service: 'bedrock', sha256: Sha256, uriEscapePath: true });
  const stats = { requests: 0, rejected: [], events: [], exceptions: [], toolResults: [], sessions: 0, goaways: 0, interruptions: [] };
  const emulator = { script, stats };

  // Recomputes the request's signature from what was signed (the headers named in
  // SignedHeaders, the payload hash STREAMING-AWS4-HMAC-SHA256-EVENTS).
  async function verifyRequest(headers) {
    const auth = headers.authorization ?? '';
    const m = auth.match(/^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/bedrock\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/);
    if (!m) return 'missing or malformed Authorization';
    if (m[1] !== credentials.accessKeyId) return 'The security token included in the request is invalid.';
    if (headers['x-amz-content-sha256'] !== STREAMING) return `x-amz-content-sha256 must be ${STREAMING}`;
    const amzDate = headers['x-amz-date'];
    const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
    const signed = {};
    for (const name of m[4].split(';')) signed[name] = name === 'host' ? (headers.host ?? headers[':authority']) : headers[name];
    const [path, query] = headers[':path'].split('?');
    const request = { method: headers[':method'], protocol: 'https:', hostname: signed.host, path, query: Object.fromEntries(new URLSearchParams(query ?? '')), headers: signed };
    const out = await signer.sign(request, { signingDate, signingRegion: m[3] });
    const expected = out.headers.authorization.match(/Signature=([0-9a-f]{64})/)[1];
    return expected === m[5] ? { seed: m[5] } : 'The request signature we calculated does not match the signature you provided.';
  }

  function handle(stream, headers) {
    stats.requests += 1;
    const path = headers[':path'] ?? '';
    const match = PATH.exec(path.split('?')[0]);
    const reject = (status, type, message) => {
      stats.rejected.push({ status, type, message });
      stream.respond({ ':status': status, 'content-type': 'application/json', 'x-amzn-errortype': type, 'x-amzn-requestid': randomUUID() });
      stream.end(JSON.stringify({ message }));
    };
    if (headers[':method'] !== 'POST' || !match) return reject(404, 'UnknownOperationException', `no operation at ${path}`);
    verifyRequest(headers).then((verdict) => {
      if (typeof verdict === 'string') return reject(403, 'InvalidSignatureException', verdict);
      stats.sessions += 1;
      // A server going away (a deploy, a scale-in): after `goawayAfter` streams on a
      // connection it says GOAWAY; the streams it took finish, new ones must go elsewhere.
      const connection = stream.session;
      connection.tempoStreams = (connection.tempoStreams ?? 0) + 1;
      if (goawayAfter > 0 && connection.tempoStreams === goawayAfter) {
        stats.goaways += 1;
        connection.goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id);
      }
      stream.respond({ ':status': 200, 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': randomUUID() });
      const session = new Session(emulator, stream, decodeURIComponent(match[1]));
      const limit = setTimeout(() => session.fail('modelTimeoutException', 'Model has timed out in processing the request. Try your request again.'), sessionLimitMs);
      stream.on('close', () => clearTimeout(limit));
      let prior = verdict.seed;
      let pending = Buffer.alloc(0);
      let chain = Promise.resolve();
      stream.on('data', (chunk) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 4 && pending.length >= pending.readUInt32BE(0)) {
          const frame = pending.subarray(0, pending.readUInt32BE(0));
          pending = pending.subarray(frame.length);
          // Frames are checked in order: each signature chains from the one before.
          chain = chain.then(async () => {
            if (session.ended) return;
            let outer;
            try {
              outer = codec.decode(frame);
            } catch (e) {
              return session.fail('validationException', `malformed event stream frame: ${e.message}`);
            }
            const date = outer.headers[':date']?.value;
            const signature = outer.headers[':chunk-signature']?.value;
            if (!(date instanceof Date) || !signature) return session.fail('validationException', 'an unsigned frame');
            const { signature: expected } = await signer.signMessage(
              { message: { headers: { ':date': { type: 'timestamp', value: date } }, body: outer.body }, priorSignature: prior },
              { signingDate: date });
            if (expected !== hex(signature)) {
              stats.rejected.push({ status: 'frame', type: 'InvalidSignatureException' });
              return session.fail('validationException', 'The request signature we calculated does not match the signature you provided.');
            }
            prior = expected;
            if (outer.body.length === 0) {  // the signed empty frame: the client is done
              if (!session.ended) { session.ended = true; stream.end(); }
              return;
            }
            const inner = codec.decode(outer.body);
            const { bytes } = JSON.parse(toUtf8(inner.body));
            const { event } = JSON.parse(Buffer.from(bytes, 'base64').toString('utf8'));
            session.onEvent(event);
          }).catch((e) => session.fail('internalServerException', e.message));
        }
      });
      stream.on('end', () => { chain.then(() => { if (!session.ended) { session.ended = true; stream.end(); } }); });
    }).catch((e) => reject(500, 'InternalServerException', e.message));
  }

  const settings = { maxConcurrentStreams };
  const server = tls
    ? http2.createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: false, settings })
    : http2.createServer({ settings });
  server.on('stream', handle);
  // Closing waits for open sessions: the emulator ends them itself (clients keep theirs alive).
  const sessions = new Set();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  await new Promise((resolve) => server.listen(port, host, resolve));
  const bound = server.address().port;
  return {
    port: bound,
    url: `${tls ? 'https' : 'http'}://${host}:${bound}`,
    stats,
    credentials,
    region,
    close: () => new Promise((resolve) => {
      server.close(resolve);
      for (const session of sessions) session.destroy();
    }),
    server,
  };
}

// By hand.
if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const at = (flag) => args.indexOf(flag);
  const port = at('--port') >= 0 ? Number(args[at('--port') + 1]) : 8443;
  const tls = at('--tls') >= 0 ? { key: readFileSync(args[at('--tls') + 1]), cert: readFileSync(args[at('--tls') + 2]) } : undefined;
  const script = at('--script') >= 0 ? JSON.parse(readFileSync(args[at('--script') + 1], 'utf8')) : [];
  const sessionLimitMs = at('--session-limit-ms') >= 0 ? Number(args[at('--session-limit-ms') + 1]) : undefined;
  const maxConcurrentStreams = at('--max-streams') >= 0 ? Number(args[at('--max-streams') + 1]) : undefined;
  const goawayAfter = at('--goaway-after') >= 0 ? Number(args[at('--goaway-after') + 1]) : undefined;
  const bedrock = await startBedrockEmulator({ port, tls, script, sessionLimitMs, maxConcurrentStreams, goawayAfter });
  console.log(`bedrock emulator on ${bedrock.url} (access key ${DEFAULT_CREDENTIALS.accessKeyId})`);
}

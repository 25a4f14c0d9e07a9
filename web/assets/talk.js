// "Talk to this agent": the browser plays Twilio's side of a Media Stream (twilio.md §3).
import { api } from './api.js';

function mulawToFloat(byte) {
  const u = ~byte & 0xff;
  const sign = u & 0x80, exponent = (u >> 4) & 0x07, mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return (sign ? -magnitude : magnitude) / 32768;
}

function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
}

function fromBase64(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * Starts a browser call to `agentId`. Returns {callSid, stop()}. `on.status(text)`,
 * `on.level(0..1)` and `on.ended(reason)` report progress.
 */
export async function startTalk(agentId, on) {
  const res = await api('POST', `/api/v1/agents/${encodeURIComponent(agentId)}/talk`, {});
  if (!res.ok) throw new Error(res.data?.error?.message || `HTTP ${res.status}`);
  const { callSid, streamSid, accountSid, url } = res.data;

  const media = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  const ctx = new AudioContext();
  await ctx.audioWorklet.addModule('/dashboard/assets/mic-worklet.js');
  const source = ctx.createMediaStreamSource(media);
  const encoder = new AudioWorkletNode(ctx, 'mulaw-encoder');
  const mute = ctx.createGain();
  mute.gain.value = 0;  // keeps the encoder pulled by the graph without hearing yourself
  source.connect(encoder).connect(mute).connect(ctx.destination);

  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${url}`);
  let seq = 0, chunk = 0, started = false, ended = false;
  let playAt = 0;
  const playing = new Set();
  const pendingMarks = new Map();  // name -> timer
  const send = (msg) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg)); };
  const echoMark = (name) => {
    pendingMarks.delete(name);
    send({ event: 'mark', sequenceNumber: String(++seq), streamSid, mark: { name } });
  };

  ws.onopen = () => {
    send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    send({
      event: 'start', sequenceNumber: String(++seq), streamSid,
      start: {
        accountSid, streamSid, callSid, tracks: ['inbound'],
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 }, customParameters: {},
      },
    });
    started = true;
    on.status?.('Connected — speak now');
  };
  encoder.port.onmessage = ({ data }) => {
    on.level?.(Math.min(1, data.level * 4));
    if (!started) return;
    chunk++;
    send({
      event: 'media', sequenceNumber: String(++seq), streamSid,
      media: { track: 'inbound', chunk: String(chunk), timestamp: String((chunk - 1) * 20), payload: toBase64(data.frame) },
    });
  };
  ws.onmessage = ({ data }) => {
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (msg.event === 'media') {
      const bytes = fromBase64(msg.media.payload);
      const buffer = ctx.createBuffer(1, bytes.length, 8000);
      const samples = buffer.getChannelData(0);
      for (let i = 0; i < bytes.length; i++) samples[i] = mulawToFloat(bytes[i]);
      const node = ctx.createBufferSource();
      node.buffer = buffer;
      node.connect(ctx.destination);
      playAt = Math.max(playAt, ctx.currentTime + 0.05);
      node.start(playAt);
      playAt += buffer.duration;
      playing.add(node);
      node.onended = () => playing.delete(node);
    } else if (msg.event === 'mark') {
      // Echoed once everything queued before it has played, as Twilio does.
      const name = msg.mark.name;
      const delay = Math.max(0, (playAt - ctx.currentTime) * 1000);
      pendingMarks.set(name, setTimeout(() => echoMark(name), delay));
    } else if (msg.event === 'clear') {
      for (const node of playing) { try { node.stop(); } catch { /* already stopped */ } }
      playing.clear();
      playAt = ctx.currentTime;
      for (const [name, timer] of pendingMarks) { clearTimeout(timer); echoMark(name); }
    }
  };

  const cleanup = (reason) => {
    if (ended) return;
    ended = true;
    for (const timer of pendingMarks.values()) clearTimeout(timer);
    media.getTracks().forEach((t) => t.stop());
    ctx.close();
    on.level?.(0);
    on.ended?.(reason);
  };
  ws.onclose = (e) => cleanup(e.code === 1000 || e.code === 1005 ? 'Call ended' : `Call ended (${e.code} ${e.reason})`);
  ws.onerror = () => on.status?.('Connection error');

  return {
    callSid,
    stop() {
      if (ended) return;
      send({ event: 'stop', sequenceNumber: String(++seq), streamSid, stop: { accountSid, callSid } });
      setTimeout(() => { if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'caller hung up'); }, 300);
      started = false;
    },
  };
}

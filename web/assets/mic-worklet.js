// AudioWorklet: microphone -> 8 kHz μ-law, posted in 20 ms frames (160 bytes), the format a
// Twilio Media Stream carries. Downsampling averages the input over each output period (a box
// low-pass filter: enough for speech) and works for any input rate.

const FRAME = 160;

function linearToMulaw(sample) {
  const BIAS = 0x84, CLIP = 32635;
  const sign = sample < 0 ? 0x80 : 0;
  let mag = Math.min(Math.abs(sample), CLIP) + BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (mag & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (mag >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

class MulawEncoder extends AudioWorkletProcessor {
  constructor() {
    super();
    this.ratio = sampleRate / 8000;
    this.pos = 0; this.acc = 0; this.n = 0;
    this.frame = new Uint8Array(FRAME); this.fill = 0; this.energy = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      this.acc += channel[i]; this.n++; this.pos += 1;
      if (this.pos >= this.ratio) {
        this.pos -= this.ratio;
        const v = Math.max(-1, Math.min(1, this.acc / this.n));
        this.acc = 0; this.n = 0;
        this.energy += v * v;
        this.frame[this.fill++] = linearToMulaw(Math.round(v * 32767));
        if (this.fill === FRAME) {
          this.port.postMessage({ frame: this.frame, level: Math.sqrt(this.energy / FRAME) }, [this.frame.buffer]);
          this.frame = new Uint8Array(FRAME); this.fill = 0; this.energy = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor('mulaw-encoder', MulawEncoder);

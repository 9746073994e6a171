#!/usr/bin/env node
// Reference for the native Silero VAD v5 detector: runs silero_vad_v5.onnx with ONNX Runtime (one thread) over a
// mono 16-bit PCM WAV at 8 or 16 kHz, chunk by chunk exactly as the native detector streams it (512 samples at
// 16 kHz / 256 at 8 kHz, preceded by the previous chunk's last 64 / 32 samples, zero at the start; LSTM state
// [2,1,128] carried), and writes one probability per chunk. A trailing partial chunk is not run.
//
//   node reference.js MODEL.onnx IN.wav [OUT.txt]     per-chunk probabilities (stdout without OUT)
//   node reference.js MODEL.onnx IN.wav --bench N     time N chunks (the WAV looped), print JSON
//
// Install once with: ONNXRUNTIME_NODE_INSTALL=skip npm ci   (the CPU runtime ships inside the package; "skip"
// only avoids fetching optional GPU binaries).
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function readWav(path) {
  const b = fs.readFileSync(path);
  if (b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${path}: not a WAV file`);
  let off = 12, fmt = null, data = null;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4), len = b.readUInt32LE(off + 4);
    if (id === 'fmt ') fmt = { format: b.readUInt16LE(off + 8), channels: b.readUInt16LE(off + 10), rate: b.readUInt32LE(off + 12), bits: b.readUInt16LE(off + 22) };
    if (id === 'data') data = b.subarray(off + 8, off + 8 + len);
    off += 8 + len + (len & 1);
  }
  if (!fmt || !data) throw new Error(`${path}: missing fmt or data chunk`);
  if (fmt.format !== 1 || fmt.bits !== 16 || fmt.channels !== 1) throw new Error(`${path}: need mono 16-bit PCM, got format ${fmt.format}, ${fmt.bits} bits, ${fmt.channels} channels`);
  const n = data.length / 2, x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = data.readInt16LE(2 * i) / 32768;
  return { rate: fmt.rate, samples: x };
}

async function main() {
  const [modelPath, wavPath, third, fourth] = process.argv.slice(2);
  if (!modelPath || !wavPath) { console.error('usage: reference.js MODEL.onnx IN.wav [OUT.txt | --bench N]'); process.exit(2); }
  const { rate, samples } = readWav(wavPath);
  if (rate !== 16000 && rate !== 8000) throw new Error(`${wavPath}: sample rate ${rate}; valid: 8000 or 16000`);
  const chunk = rate === 16000 ? 512 : 256, context = rate === 16000 ? 64 : 32;
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(rate)]), []);
  let state = new ort.Tensor('float32', new Float32Array(2 * 128), [2, 1, 128]);
  const input = new Float32Array(context + chunk);  // context part starts at zero
  const numChunks = Math.floor(samples.length / chunk);
  if (numChunks === 0) throw new Error(`${wavPath}: shorter than one chunk (${chunk} samples)`);

  async function step(c) {
    input.copyWithin(0, chunk, chunk + context);  // previous chunk's tail becomes the context
    input.set(samples.subarray(c * chunk, (c + 1) * chunk), context);
    const out = await session.run({ input: new ort.Tensor('float32', input.slice(), [1, context + chunk]), state, sr });
    state = out.stateN;
    return out.output.data[0];
  }

  if (third === '--bench') {
    const n = parseInt(fourth || '2000', 10);
    for (let i = 0; i < 50; i++) await step(i % numChunks);  // warm-up
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await step(i % numChunks);
    const us = Number(process.hrtime.bigint() - t0) / 1000 / n;
    console.log(JSON.stringify({ ort_version: require('onnxruntime-node/package.json').version, threads: 1, chunks: n, us_per_chunk: us }));
    return;
  }
  // The context of the first chunk is zero: start from a zeroed buffer (copyWithin above moves zeros).
  input.fill(0);
  const lines = [`# silero_vad_v5 onnxruntime-node ${require('onnxruntime-node/package.json').version}: ${wavPath.split('/').pop()} rate ${rate} chunk ${chunk} context ${context}`];
  for (let c = 0; c < numChunks; c++) lines.push((await step(c)).toPrecision(9));
  const text = lines.join('\n') + '\n';
  if (third) fs.writeFileSync(third, text); else process.stdout.write(text);
}

main().catch((e) => { console.error(`reference.js: ${e.message}`); process.exit(1); });

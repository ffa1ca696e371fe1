import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { familyDefaults, ManifestSchema } from '../src/diffusion/models/manifest.js';
import { fillGaussian, mulberry32, type Uniform } from '../src/util/prng.js';
import { CAST_TO, GraphBuilder, intAttr, intsAttr, stringAttr } from '../test/support/onnx/graph-builder.js';
import { byteLevelVocab } from '../test/support/clip-vocab.js';

/**
 * A mid-size random-weight UNet with the SD-1.5 I/O names, for the diffusion
 * benchmark: enough real work (3×3 convs at 64×64, a downsampled middle with
 * cross-attention to the text tokens, a sinusoidal timestep embedding) that a
 * call costs what a small UNet costs, with weights from a seeded PRNG scaled so
 * the output stays finite.
 *
 *   sample [B,4,h,w], timestep int64 [B], encoder_hidden_states [B,77,D] → out_sample [B,4,h,w]
 *
 *   conv_in 4→C · ResBlock(C) ─────────────────────────────┐ skip
 *   down conv C→2C (stride 2) · ResBlock(2C) · CrossAttn(2C ← ehs) · up ×2 · conv 2C→C · + skip · ResBlock(C) · conv_out C→4
 * Every ResBlock: InstanceNorm · SiLU · conv3×3 · + temb · InstanceNorm · SiLU · conv3×3 · + x.
 */
export interface RandomUnetOptions {
  /** Base channels C (the middle runs at 2C). */
  channels: number;
  /** encoder_hidden_states width D. */
  hidden: number;
  tokens?: number;
  seed?: number;
}

export interface RandomUnet {
  bytes: Uint8Array;
  params: number;
}

export function randomUnet(options: RandomUnetOptions): RandomUnet {
  const { channels: C, hidden: D, tokens = 77, seed = 1234 } = options;
  const g = new GraphBuilder();
  const random: Uniform = mulberry32(seed);
  let params = 0;
  /** N(0, scale²) weights. */
  const weight = (dims: number[], scale: number): string => {
    const count = dims.reduce((a, b) => a * b, 1);
    params += count;
    const values = fillGaussian(new Float32Array(count), random);
    return g.constant(values.map((v) => v * scale), dims);
  };
  const zeros = (n: number): string => {
    params += n;
    return g.constant(Array<number>(n).fill(0), [n]);
  };
  const ones = (n: number): string => {
    params += n;
    return g.constant(Array<number>(n).fill(1), [n]);
  };
  const silu = (x: string) => g.node('Mul', [x, g.node('Sigmoid', [x])]);
  const conv = (x: string, cin: number, cout: number, o: { kernel?: number; stride?: number; gain?: number } = {}) => {
    const k = o.kernel ?? 3;
    const pad = (k - 1) / 2;
    const w = weight([cout, cin, k, k], (o.gain ?? 1) / Math.sqrt(cin * k * k));
    return g.node('Conv', [x, w, zeros(cout)], [intsAttr('kernel_shape', [k, k]), intsAttr('pads', [pad, pad, pad, pad]), intsAttr('strides', [o.stride ?? 1, o.stride ?? 1])]);
  };
  const norm = (x: string, c: number) => g.node('InstanceNormalization', [x, ones(c), zeros(c)], [{ name: 'epsilon', type: 1, f: 1e-5 }]);
  const ints = (v: number[]) => g.constant(v, [v.length], 'int64');

  const sample = g.input('sample', 'float32', ['batch', 4, 'height', 'width']);
  const timestep = g.input('timestep', 'int64', ['batch']);
  const ehs = g.input('encoder_hidden_states', 'float32', ['batch', tokens, D]);

  // Sinusoidal timestep embedding [B, 64] → MLP → [B, T].
  const T = 4 * C;
  const half = 32;
  const freqs = g.constant(Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half)), [1, half]);
  const tf = g.node('Unsqueeze', [g.node('Cast', [timestep], [intAttr('to', CAST_TO.float32)]), ints([1])]); // [B,1]
  const angles = g.node('Mul', [tf, freqs]);
  const sinusoid = g.node('Concat', [g.node('Sin', [angles]), g.node('Cos', [angles])], [intAttr('axis', 1)]);
  const temb = silu(g.node('MatMul', [silu(g.node('MatMul', [sinusoid, weight([2 * half, T], 1 / Math.sqrt(2 * half))])), weight([T, T], 1 / Math.sqrt(T))]));

  const resBlock = (x: string, c: number) => {
    let h = conv(silu(norm(x, c)), c, c);
    const t = g.node('Reshape', [g.node('MatMul', [temb, weight([T, c], 1 / Math.sqrt(T))]), ints([-1, c, 1, 1])]);
    h = g.node('Add', [h, t]);
    h = conv(silu(norm(h, c)), c, c, { gain: 0.5 });
    return g.node('Add', [x, h]);
  };

  const crossAttention = (x: string, c: number) => {
    const shape = g.node('Shape', [x]);
    const flat = g.node('Transpose', [g.node('Reshape', [norm(x, c), ints([0, c, -1])])], [intsAttr('perm', [0, 2, 1])]); // [B, L, c]
    const q = g.node('MatMul', [flat, weight([c, c], 1 / Math.sqrt(c))]);
    const k = g.node('MatMul', [ehs, weight([D, c], 1 / Math.sqrt(D))]); // [B, 77, c]
    const v = g.node('MatMul', [ehs, weight([D, c], 1 / Math.sqrt(D))]);
    const scores = g.node('Mul', [g.node('MatMul', [q, g.node('Transpose', [k], [intsAttr('perm', [0, 2, 1])])]), g.constant([1 / Math.sqrt(c)], [1])]);
    const attended = g.node('MatMul', [g.node('Softmax', [scores], [intAttr('axis', -1)]), v]); // [B, L, c]
    const projected = g.node('MatMul', [attended, weight([c, c], 0.5 / Math.sqrt(c))]);
    const back = g.node('Reshape', [g.node('Transpose', [projected], [intsAttr('perm', [0, 2, 1])]), shape]);
    return g.node('Add', [x, back]);
  };

  let h = conv(sample, 4, C);
  const skip = resBlock(h, C);
  h = conv(skip, C, 2 * C, { stride: 2 });
  h = resBlock(h, 2 * C);
  h = crossAttention(h, 2 * C);
  h = g.node('Resize', [h, '', g.constant([1, 1, 2, 2], [4])], [stringAttr('mode', 'nearest'), stringAttr('coordinate_transformation_mode', 'asymmetric'), stringAttr('nearest_mode', 'floor')]);
  h = g.node('Add', [conv(h, 2 * C, C, { gain: 0.5 }), skip]);
  h = resBlock(h, C);
  g.node('Conv', [silu(norm(h, C)), weight([4, C, 3, 3], 1 / Math.sqrt(C * 9)), zeros(4)], [intsAttr('kernel_shape', [3, 3]), intsAttr('pads', [1, 1, 1, 1])], 'out_sample');
  g.output('out_sample', 'float32', ['batch', 4, 'height', 'width']);
  return { bytes: g.toBytes(), params };
}

const VOCAB = 49408;

/** input_ids [B,77] → last_hidden_state [B,77,dim]: a random 8-wide embedding projected to `dim`; pooler_output is its token mean. */
function randomTextEncoder(dim: number, seed: number): Uint8Array {
  const g = new GraphBuilder();
  const random = mulberry32(seed);
  const ids = g.input('input_ids', 'int64', ['batch', 77]);
  const table = fillGaussian(new Float32Array(VOCAB * 8), random);
  const projection = fillGaussian(new Float32Array(8 * dim), random).map((v) => v / Math.sqrt(8));
  const states = g.node('MatMul', [g.node('Gather', [g.constant(table, [VOCAB, 8]), ids], [intAttr('axis', 0)]), g.constant(projection, [8, dim])], [], 'last_hidden_state');
  g.node('ReduceMean', [states], [intsAttr('axes', [1]), intAttr('keepdims', 0)], 'pooler_output');
  g.output('last_hidden_state', 'float32', ['batch', 77, dim]);
  g.output('pooler_output', 'float32', ['batch', dim]);
  return g.toBytes();
}

/** latent_sample [B,4,h,w] → sample [B,3,8h,8w]: one stride-8 ConvTranspose (cheap next to any real VAE). */
function linearVaeDecoder(seed: number): Uint8Array {
  const g = new GraphBuilder();
  const latent = g.input('latent_sample', 'float32', ['batch', 4, 'h', 'w']);
  const weight = fillGaussian(new Float32Array(4 * 3 * 64), mulberry32(seed)).map((v) => v * 0.25);
  g.node('ConvTranspose', [latent, g.constant(weight, [4, 3, 8, 8]), g.constant([0, 0, 0], [3])], [intsAttr('kernel_shape', [8, 8]), intsAttr('strides', [8, 8])], 'sample');
  g.output('sample', 'float32', ['batch', 3, 'H', 'W']);
  return g.toBytes();
}

/**
 * Writes `<modelsDir>/<id>/` — tokenizer, text encoder of width `hidden`, the random UNet,
 * a linear VAE decoder and an sd15 manifest — and returns the manifest path and the UNet's parameter count.
 */
export function writeBenchModel(modelsDir: string, options: RandomUnetOptions & { id: string }): { manifestPath: string; params: number } {
  const dir = path.join(modelsDir, options.id);
  const put = (relative: string, bytes: Uint8Array | string) => {
    mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
    writeFileSync(path.join(dir, relative), bytes);
  };
  put('tokenizer/vocab.json', JSON.stringify(byteLevelVocab()));
  put('tokenizer/merges.txt', '#version: 0.2\n');
  put('text_encoder/model.onnx', randomTextEncoder(options.hidden, (options.seed ?? 1234) + 1));
  const unet = randomUnet(options);
  put('unet/model.onnx', unet.bytes);
  put('vae_decoder/model.onnx', linearVaeDecoder((options.seed ?? 1234) + 2));
  const manifest = ManifestSchema.parse({ id: options.id, family: 'sd15', components: {}, ...familyDefaults('sd15') });
  put('manifest.json', JSON.stringify(manifest, null, 2));
  return { manifestPath: path.join(dir, 'manifest.json'), params: unet.params };
}

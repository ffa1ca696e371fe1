import { CAST_TO, type Dim, GraphBuilder, intAttr, intsAttr, stringAttr } from './graph-builder.js';

/**
 * Stand-ins for the real pipeline components, with the I/O names optimum
 * exports use (onnx-diffusion.md §4, diffsensei.md §2.7) and math simple
 * enough that a test knows every output value exactly.
 */

const TOKENS = 77;

/** Slices `data` along `axes` (starts inclusive, ends exclusive). */
function slice(g: GraphBuilder, data: string, starts: number[], ends: number[], axes: number[]): string {
  const ints = (v: number[]) => g.constant(v, [v.length], 'int64');
  return g.node('Slice', [data, ints(starts), ints(ends), ints(axes)]);
}

/** Reshapes a per-batch scalar ([B], [B,1], [B,1,1]…) to [B,1,1,1] so it broadcasts over images. */
function perImage(g: GraphBuilder, value: string): string {
  return g.node('Reshape', [value, g.constant([-1, 1, 1, 1], [4], 'int64')]);
}

/** ᾱ[t] per batch row as [B,1,1,1], from an int64 timestep [B]. */
function alphaAt(g: GraphBuilder, alphasCumprod: ArrayLike<number>, timestep: string): string {
  const table = g.constant(Array.from(alphasCumprod), [alphasCumprod.length]);
  return perImage(g, g.node('Gather', [table, timestep], [intAttr('axis', 0)]));
}

export interface TinyTextEncoderOptions {
  dim: number;
  /** Transformer layers: adds `hidden_states.0..layers` outputs (optimum's output_hidden_states). */
  layers?: number;
  /** Makes it a CLIPTextModelWithProjection: `text_embeds` [B, pooledDim] instead of `pooler_output`. */
  pooledDim?: number;
  /** The embedding row of a token id (length `dim`). */
  embed: (id: number) => number[];
  vocabSize?: number;
}

/**
 * A CLIP text encoder whose layers each add 1:
 *   E[b,t,:] = embed(input_ids[b,t])                 (Gather from a [vocabSize, dim] table)
 *   hidden_states.k = E + k                           (k = 0..layers, only when `layers` is given)
 *   last_hidden_state = hidden_states.<layers>, or E without `layers`
 *   pooled[b,:] = last_hidden_state[b, argmax_t input_ids[b,t], :]
 *     (CLIP pools at the highest id, EOS 49407; ArgMax takes the first, as torch does)
 *   pooler_output = pooled                           [B, dim], or with `pooledDim`:
 *   text_embeds[b,j] = pooled[b, j mod dim]          [B, pooledDim] (features repeated cyclically)
 * Every row of the table is filled from `embed`, so any id is exact; the model
 * is 4·vocabSize·dim bytes (1.6 MB for dim 8), which is why tests keep dim small.
 * Output order follows optimum: text_embeds | last_hidden_state, pooler_output, hidden_states.*.
 */
export function tinyTextEncoder(options: TinyTextEncoderOptions): Uint8Array {
  const { dim, layers, pooledDim, embed, vocabSize = 49408 } = options;
  if (layers !== undefined && (!Number.isInteger(layers) || layers < 1)) throw new Error(`layers must be a positive integer, not ${layers}`);
  const table = new Array<number>(vocabSize * dim);
  for (let id = 0; id < vocabSize; id++) {
    const row = embed(id);
    if (row.length !== dim) throw new Error(`embed(${id}) has ${row.length} values, expected ${dim}`);
    for (let d = 0; d < dim; d++) table[id * dim + d] = row[d]!;
  }

  const g = new GraphBuilder();
  const ids = g.input('input_ids', 'int64', ['batch', TOKENS]);
  const embeddings = g.node('Gather', [g.constant(table, [vocabSize, dim]), ids], [intAttr('axis', 0)]);
  const states: Dim[] = ['batch', TOKENS, dim];

  let last = embeddings;
  const hiddenNames: string[] = [];
  if (layers !== undefined) {
    for (let k = 0; k <= layers; k++) {
      const name = `hidden_states.${k}`;
      g.node('Add', [embeddings, g.constant([k], [1])], [], name);
      hiddenNames.push(name);
    }
    last = `hidden_states.${layers}`;
  }
  g.node('Identity', [last], [], 'last_hidden_state');

  // First position of the largest id, as [B, 1]; ids are cast to float for ArgMax (exact below 2^24).
  const eos = g.node('ArgMax', [g.node('Cast', [ids], [intAttr('to', CAST_TO.float32)])], [intAttr('axis', 1), intAttr('keepdims', 1)]);
  const pooled = g.node('GatherND', ['last_hidden_state', eos], [intAttr('batch_dims', 1)]);
  if (pooledDim !== undefined) {
    const cyclic = g.constant(Array.from({ length: pooledDim }, (_, j) => j % dim), [pooledDim], 'int64');
    g.node('Gather', [pooled, cyclic], [intAttr('axis', 1)], 'text_embeds');
    g.output('text_embeds', 'float32', ['batch', pooledDim]);
    g.output('last_hidden_state', 'float32', states);
  } else {
    g.node('Identity', [pooled], [], 'pooler_output');
    g.output('last_hidden_state', 'float32', states);
    g.output('pooler_output', 'float32', ['batch', dim]);
  }
  for (const name of hiddenNames) g.output(name, 'float32', states);
  return g.toBytes();
}

/**
 * A VAE decoder that is one linear map per latent cell, upsampled ×8 (nearest):
 *   sample[b,c,8i+p,8j+q] = Σ_k latent_sample[b,k,i,j]·factors[k][c] + bias[c]   (p, q in 0..7)
 * Built as a stride-8 ConvTranspose whose 8×8 kernels are constant, which is
 * exactly "mix channels, then repeat each cell 8×8".
 */
export function tinyVaeDecoder(options: { factors: number[][]; bias: number[] }): Uint8Array {
  const { factors, bias } = options;
  checkMatrix(factors, 4, 3, 'factors');
  const g = new GraphBuilder();
  const latent = g.input('latent_sample', 'float32', ['batch', 4, 'h', 'w']);
  // ConvTranspose weight is [C_in = 4, C_out = 3, 8, 8].
  const weight = factors.flatMap((row) => row.flatMap((f) => Array<number>(64).fill(f)));
  g.node('ConvTranspose', [latent, g.constant(weight, [4, 3, 8, 8]), g.constant(bias, [3])], [intsAttr('kernel_shape', [8, 8]), intsAttr('strides', [8, 8])], 'sample');
  g.output('sample', 'float32', ['batch', 3, 'H', 'W']);
  return g.toBytes();
}

/**
 * A VAE encoder that inverts `tinyVaeDecoder` on images that are flat over each 8×8 block:
 *   mean_k   = Σ_c (avgpool8(sample)_c − bias[c])·inverse[c][k]    channels 0–3
 *   logvar_k = −30                                                 channels 4–7
 *   latent_parameters = mean ‖ logvar                               [B, 8, H/8, W/8]
 * One stride-8 Conv: kernel inverse[c][k]/64 over each 8×8 block, bias −Σ_c bias[c]·inverse[c][k]
 * (−30 and zero kernels for the logvar half). With inverse·factors = I₃,
 * decode(encode(x)) = x for such images; logvar −30 makes sampling the posterior deterministic.
 */
export function tinyVaeEncoder(options: { inverse: number[][]; bias: number[] }): Uint8Array {
  const { inverse, bias } = options;
  checkMatrix(inverse, 3, 4, 'inverse');
  const g = new GraphBuilder();
  const image = g.input('sample', 'float32', ['batch', 3, 'H', 'W']);
  // Conv weight is [C_out = 8, C_in = 3, 8, 8].
  const weight: number[] = [];
  const offsets: number[] = [];
  for (let k = 0; k < 8; k++) {
    for (let c = 0; c < 3; c++) weight.push(...Array<number>(64).fill(k < 4 ? inverse[c]![k]! / 64 : 0));
    offsets.push(k < 4 ? -bias.reduce((s, b, c) => s + b * inverse[c]![k]!, 0) : -30);
  }
  g.node('Conv', [image, g.constant(weight, [8, 3, 8, 8]), g.constant(offsets, [8])], [intsAttr('kernel_shape', [8, 8]), intsAttr('strides', [8, 8])], 'latent_parameters');
  g.output('latent_parameters', 'float32', ['batch', 8, 'h', 'w']);
  return g.toBytes();
}

/**
 * Test VAE constants with exact binary fractions: TEST_LATENT_INVERSE · TEST_LATENT_FACTORS = I₃
 * (row c: 2·factors[c] + factors[3] = e_c), and every latent channel, including
 * the fourth, carries signal.
 */
export const TEST_LATENT_FACTORS: number[][] = [
  [0.25, -0.25, -0.25],
  [-0.25, 0.25, -0.25],
  [-0.25, -0.25, 0.25],
  [0.5, 0.5, 0.5],
];
export const TEST_LATENT_BIAS: number[] = [0.5, 0.25, -0.125];
export const TEST_LATENT_INVERSE: number[][] = [
  [2, 0, 0, 1],
  [0, 2, 0, 1],
  [0, 0, 2, 1],
];

function checkMatrix(m: number[][], rows: number, cols: number, name: string): void {
  if (m.length !== rows || m.some((r) => r.length !== cols)) throw new Error(`${name} must be ${rows}×${cols}`);
}

export interface GaussianTerm {
  /** A graph input fed to the UNet (e.g. text_embeds, time_ids, timestep_cond). */
  input: string;
  shape: Dim[];
  /** Index into the input's features (flattened after the batch axis). */
  index: number;
  weight: number;
}

export interface GaussianUnetOptions {
  /** s²: variance of every latent value around μ (default 0: the data is the constant μ). */
  variance?: number;
  /** Which encoder_hidden_states token carries μ in its feature 0 (default 1, the first word). */
  muToken?: number;
  hidden?: number;
  tokens?: number | string;
  timestepType?: 'int64' | 'float32';
  /** Extra inputs that shift μ, so a test can see them reach the UNet. */
  terms?: GaussianTerm[];
}

/**
 * The optimal noise predictor for data whose every latent value is N(μ, s²):
 *   μ[b] = encoder_hidden_states[b, muToken, 0] + Σ_terms weight·input[b, index]
 *   ᾱ    = alphasCumprod[round(timestep[b])]   (float32 timesteps: ONNX Round, half to even)
 *   out_sample = √(1−ᾱ)·(sample − √ᾱ·μ) / (ᾱ·s² + 1 − ᾱ)          [B, 4, h, w]
 * This is E[ε | x_t] for x_t = √ᾱ·x₀ + √(1−ᾱ)·ε. With s² = 0 it is `analyticUnet`.
 * A deterministic sampler driving it follows the probability-flow ODE, whose
 * exact endpoint is `exactFlowSolution`.
 */
export function gaussianUnet(alphasCumprod: ArrayLike<number>, options: GaussianUnetOptions = {}): Uint8Array {
  const { variance = 0, muToken = 1, hidden = 8, tokens = 'tokens', timestepType = 'int64', terms = [] } = options;
  const g = new GraphBuilder();
  const sample = g.input('sample', 'float32', ['batch', 4, 'height', 'width']);
  const timestep = g.input('timestep', timestepType, ['batch']);
  const ehs = g.input('encoder_hidden_states', 'float32', ['batch', tokens, hidden]);
  const declared = new Set<string>();
  for (const term of terms) {
    if (!declared.has(term.input)) g.input(term.input, 'float32', term.shape);
    declared.add(term.input);
  }

  const t = timestepType === 'int64' ? timestep : g.node('Cast', [g.node('Round', [timestep])], [intAttr('to', CAST_TO.int64)]);
  const alpha = alphaAt(g, alphasCumprod, t);
  let mu = perImage(g, slice(g, ehs, [muToken, 0], [muToken + 1, 1], [1, 2]));
  for (const term of terms) {
    const flat = g.node('Flatten', [term.input], [intAttr('axis', 1)]);
    const value = slice(g, flat, [term.index], [term.index + 1], [1]);
    mu = g.node('Add', [mu, perImage(g, g.node('Mul', [value, g.constant([term.weight], [1])]))]);
  }

  const oneMinus = g.node('Sub', [g.constant([1], [1]), alpha]);
  const residual = g.node('Sub', [sample, g.node('Mul', [g.node('Sqrt', [alpha]), mu])]);
  const denominator = g.node('Add', [g.node('Mul', [alpha, g.constant([variance], [1])]), oneMinus]);
  g.node('Div', [g.node('Mul', [g.node('Sqrt', [oneMinus]), residual]), denominator], [], 'out_sample');
  g.output('out_sample', 'float32', ['batch', 4, 'height', 'width']);
  return g.toBytes();
}

/**
 * Where the probability-flow ODE of N(μ, s²) data takes the noisy value `sample`
 * at ᾱ = `alphaProd` when integrated down to σ = 0. In σ-space x̃ = x/√ᾱ ~ N(μ, s² + σ²)
 * with σ² = (1−ᾱ)/ᾱ, and the flow keeps the standardised value, so
 *   x₀ = μ + (x̃ − μ)·s/√(s² + σ²).
 */
export function exactFlowSolution(o: { mu: number; variance: number; sample: number; alphaProd: number }): number {
  const scaled = o.sample / Math.sqrt(o.alphaProd);
  const sigma2 = (1 - o.alphaProd) / o.alphaProd;
  return o.mu + (scaled - o.mu) * Math.sqrt(o.variance / (o.variance + sigma2));
}

export interface DiffSenseiUnetOptions {
  textTokens?: number;
  /** 16 dummy + 4×16 character tokens in DiffSensei. */
  characterTokens?: number;
  hidden?: number;
  pooledDim?: number;
  /** What a dialog cell adds to μ. */
  dialogValue: number;
}

/**
 * A DiffSensei-shaped UNet (diffsensei.md §2.4–2.5, §2.7) whose output shows
 * exactly what the layout inputs did. With C = characterTokens and the sample's h, w:
 *   v[b,k]     = encoder_hidden_states[b, textTokens + k, 0]           (feature 0 of character token k)
 *   attnS[b,l] = Σ_k softmax_k(ip_bias_sS[b,0,l,:])·v[b,k]             (S = 16, 32: real additive-bias
 *                attention with equal logits, so the mean of v over the tokens whose bias is 0)
 *   A16 = attn16 as [h/2, w/2] row-major, upsampled nearest ×2;  A32 = attn32 as [h/4, w/4], ×4
 *   μ[b,i,j]   = ehs[b,1,0] + ip_scale·½(A16 + A32)[b,i,j] + dialogValue·dialog_mask[b,0,i,j]
 *   out_sample = (sample − √ᾱ·μ)/√(1−ᾱ), ᾱ = alphasCumprod[timestep[b]], the same for all 4 channels
 *                + 0·(Σ text_embeds + Σ time_ids), which keeps those as real inputs.
 * So μ = −out_sample·√(1−ᾱ)/√ᾱ for a zero sample: a test reads the map back.
 */
export function diffSenseiUnet(alphasCumprod: ArrayLike<number>, options: DiffSenseiUnetOptions): Uint8Array {
  const { textTokens = 77, characterTokens = 80, hidden = 8, pooledDim = 16, dialogValue } = options;
  const g = new GraphBuilder();
  const sample = g.input('sample', 'float32', ['batch', 4, 'height', 'width']);
  const timestep = g.input('timestep', 'int64', ['batch']);
  const ehs = g.input('encoder_hidden_states', 'float32', ['batch', textTokens + characterTokens, hidden]);
  const textEmbeds = g.input('text_embeds', 'float32', ['batch', pooledDim]);
  const timeIds = g.input('time_ids', 'float32', ['batch', 6]);
  const bias16 = g.input('ip_bias_s16', 'float32', ['batch', 1, 'l16', characterTokens]);
  const bias32 = g.input('ip_bias_s32', 'float32', ['batch', 1, 'l32', characterTokens]);
  const dialog = g.input('dialog_mask', 'float32', ['batch', 1, 'height', 'width']);
  const ipScale = g.input('ip_scale', 'float32', [1]);

  // Character values as attention "values": [B, C, 1] → [B, 1, C, 1].
  const values = g.node('Unsqueeze', [slice(g, ehs, [textTokens, 0], [textTokens + characterTokens, 1], [1, 2]), g.constant([1], [1], 'int64')]);
  const shape = g.node('Shape', [sample]);
  const height = slice(g, shape, [2], [3], [0]);
  const width = slice(g, shape, [3], [4], [0]);
  const attention = (bias: string, factor: number) => {
    const out = g.node('MatMul', [g.node('Softmax', [bias], [intAttr('axis', -1)]), values]); // [B, 1, L, 1]
    const down = (size: string) => g.node('Div', [size, g.constant([factor], [1], 'int64')]);
    const grid = g.node('Reshape', [out, g.node('Concat', [g.constant([-1, 1], [2], 'int64'), down(height), down(width)], [intAttr('axis', 0)])]);
    const scales = g.constant([1, 1, factor, factor], [4]);
    return g.node('Resize', [grid, '', scales], [stringAttr('mode', 'nearest'), stringAttr('coordinate_transformation_mode', 'asymmetric'), stringAttr('nearest_mode', 'floor')]);
  };
  const characters = g.node('Mul', [g.node('Add', [attention(bias16, 2), attention(bias32, 4)]), g.constant([0.5], [1])]);
  const textMu = perImage(g, slice(g, ehs, [1, 0], [2, 1], [1, 2]));
  const mu = g.node('Add', [
    g.node('Add', [textMu, g.node('Mul', [ipScale, characters])]),
    g.node('Mul', [dialog, g.constant([dialogValue], [1])]),
  ]);

  const alpha = alphaAt(g, alphasCumprod, timestep);
  const residual = g.node('Sub', [sample, g.node('Mul', [g.node('Sqrt', [alpha]), mu])]);
  const eps = g.node('Div', [residual, g.node('Sqrt', [g.node('Sub', [g.constant([1], [1]), alpha])])]);
  const sum = (x: string) => g.node('ReduceSum', [x], [intAttr('keepdims', 0)]);
  const unused = g.node('Mul', [g.node('Add', [sum(textEmbeds), sum(timeIds)]), g.constant([0], [1])]);
  g.node('Add', [eps, unused], [], 'out_sample');
  g.output('out_sample', 'float32', ['batch', 4, 'height', 'width']);
  return g.toBytes();
}

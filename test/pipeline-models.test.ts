import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { noiseSchedule, SchedulerConfigSchema } from '../src/diffusion/schedulers/schedule.js';
import {
  diffSenseiUnet,
  exactFlowSolution,
  gaussianUnet,
  TEST_LATENT_BIAS,
  TEST_LATENT_FACTORS,
  TEST_LATENT_INVERSE,
  tinyTextEncoder,
  tinyVaeDecoder,
  tinyVaeEncoder,
} from './support/onnx/pipeline-models.js';
import { analyticUnet } from './support/onnx/tiny-models.js';
import { TestGraphs } from './support/onnx/load-graphs.js';

/**
 * Each stand-in graph is run through the real OnnxComponent and compared with
 * numbers worked out by hand, or with the formula written out again here.
 */
const graphs = new TestGraphs('koma-pipeline-models-');
const load = (name: string, bytes: Uint8Array) => graphs.load(name, bytes);

afterAll(() => graphs.releaseAll());

const f32 = (data: ArrayLike<number>, dims: number[]) => new ort.Tensor('float32', Float32Array.from(data), dims);
const i64 = (data: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(data, (v) => BigInt(v)), dims);
const values = (t: ort.Tensor | undefined) => Array.from(t!.data as Float32Array);

/** |actual − expected| within a relative float32 tolerance. */
function expectNear(actual: number, expected: number, tolerance = 2e-6): void {
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(expected)));
}

const BOS = 49406;
const EOS = 49407;
const row77 = (head: number[], pad: number) => [...head, ...Array<number>(77 - head.length).fill(pad)];

describe('tinyTextEncoder', () => {
  const embed = (id: number) => [id, id / 2, -id, 1];
  // Row 0 pads with EOS (SD 1.x), row 1 with "!" (id 0, SDXL's second tokenizer),
  // row 2 has no EOS at all: its largest id (600) sits at position 2.
  const ids = [row77([BOS, 5, 7, EOS], EOS), row77([BOS, 9, EOS], 0), row77([3, 4, 600, 1], 2)];

  it('outputs hidden_states.k = E + k per layer and last_hidden_state = the last of them', async () => {
    const encoder = await load('text-layers.onnx', tinyTextEncoder({ dim: 4, layers: 3, embed }));
    expect(encoder.inputNames).toEqual(['input_ids']);
    expect(encoder.outputNames).toEqual(['last_hidden_state', 'pooler_output', 'hidden_states.0', 'hidden_states.1', 'hidden_states.2', 'hidden_states.3']);
    const out = await encoder.run({ input_ids: i64(ids.flat(), [3, 77]) });
    for (let k = 0; k <= 3; k++) {
      const states = out[`hidden_states.${k}`]!;
      expect(states.dims).toEqual([3, 77, 4]);
      const expected = ids.flat().flatMap((id) => [id + k, id / 2 + k, -id + k, 1 + k]);
      expect(values(states)).toEqual(expected);
    }
    expect(values(out.last_hidden_state)).toEqual(values(out['hidden_states.3']));
    // Spot checks by hand: row 0, token 1 (id 5) at layer 2; row 1, token 3 (pad id 0) at layer 0.
    expect(values(out['hidden_states.2']).slice(4, 8)).toEqual([7, 4.5, -3, 3]);
    expect(values(out['hidden_states.0']).slice((77 + 3) * 4, (77 + 4) * 4)).toEqual([0, 0, 0, 1]);
  });

  it('pools last_hidden_state at the first position of the largest id (EOS)', async () => {
    const encoder = await load('text-pooler.onnx', tinyTextEncoder({ dim: 4, layers: 3, embed }));
    const out = await encoder.run({ input_ids: i64(ids.flat(), [3, 77]) });
    expect(out.pooler_output!.dims).toEqual([3, 4]);
    expect(values(out.pooler_output)).toEqual([
      ...[EOS + 3, EOS / 2 + 3, -EOS + 3, 4],
      ...[EOS + 3, EOS / 2 + 3, -EOS + 3, 4],
      ...[603, 303, -597, 4],
    ]);
  });

  it('without layers outputs only last_hidden_state = E; with pooledDim text_embeds repeats the features cyclically', async () => {
    const encoder = await load('text-projection.onnx', tinyTextEncoder({ dim: 3, pooledDim: 7, embed: (id) => [id, 2, -0.5] }));
    expect(encoder.outputNames).toEqual(['text_embeds', 'last_hidden_state']);
    const out = await encoder.run({ input_ids: i64(ids.flat(), [3, 77]) });
    expect(values(out.last_hidden_state)).toEqual(ids.flat().flatMap((id) => [id, 2, -0.5]));
    expect(out.text_embeds!.dims).toEqual([3, 7]);
    expect(values(out.text_embeds)).toEqual([
      ...[EOS, 2, -0.5, EOS, 2, -0.5, EOS],
      ...[EOS, 2, -0.5, EOS, 2, -0.5, EOS],
      ...[600, 2, -0.5, 600, 2, -0.5, 600],
    ]);
  });

  it('rejects an embedding of the wrong length', () => {
    expect(() => tinyTextEncoder({ dim: 2, embed: () => [1, 2, 3], vocabSize: 4 })).toThrowError(/embed\(0\) has 3 values, expected 2/);
  });
});

describe('tiny VAE', () => {
  it('decodes each latent cell to an 8×8 block of rgb = Σ_k latent_k·factors[k] + bias', async () => {
    const decoder = await load('vae-decoder.onnx', tinyVaeDecoder({ factors: TEST_LATENT_FACTORS, bias: TEST_LATENT_BIAS }));
    expect(decoder.inputNames).toEqual(['latent_sample']);
    expect(decoder.outputNames).toEqual(['sample']);
    const [h, w] = [2, 3];
    const latent = Array.from({ length: 4 * h * w }, (_, i) => (i % 7) - 3 + i / 16);
    const out = await decoder.run({ latent_sample: f32(latent, [1, 4, h, w]) });
    expect(out.sample!.dims).toEqual([1, 3, 16, 24]);
    const rgb = values(out.sample);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 16; y++) {
        for (let x = 0; x < 24; x++) {
          const cell = Math.floor(y / 8) * w + Math.floor(x / 8);
          let expected = TEST_LATENT_BIAS[c]!;
          for (let k = 0; k < 4; k++) expected += latent[k * h * w + cell]! * TEST_LATENT_FACTORS[k]![c]!;
          expectNear(rgb[(c * 16 + y) * 24 + x]!, expected);
        }
      }
    }
  });

  it('encodes a flat image to a known mean with logvar −30, and decodes it back', async () => {
    const encoder = await load('vae-encoder.onnx', tinyVaeEncoder({ inverse: TEST_LATENT_INVERSE, bias: TEST_LATENT_BIAS }));
    const decoder = await load('vae-decoder-2.onnx', tinyVaeDecoder({ factors: TEST_LATENT_FACTORS, bias: TEST_LATENT_BIAS }));
    expect(encoder.inputNames).toEqual(['sample']);
    expect(encoder.outputNames).toEqual(['latent_parameters']);
    const colour = [0.75, -0.5, 0.25];
    const image = colour.flatMap((v) => Array<number>(16 * 24).fill(v));
    const encoded = await encoder.run({ sample: f32(image, [1, 3, 16, 24]) });
    expect(encoded.latent_parameters!.dims).toEqual([1, 8, 2, 3]);
    // By hand: rgb − bias = (0.25, −0.75, 0.375); mean = (2·0.25, 2·(−0.75), 2·0.375, 0.25 − 0.75 + 0.375).
    const params = values(encoded.latent_parameters);
    [0.5, -1.5, 0.75, -0.125, -30, -30, -30, -30].forEach((v, k) => params.slice(k * 6, (k + 1) * 6).forEach((p) => expectNear(p, v)));
    const decoded = await decoder.run({ latent_sample: f32(params.slice(0, 4 * 6), [1, 4, 2, 3]) });
    values(decoded.sample).forEach((v, i) => expectNear(v, image[i]!));
  });

  it('encodes each 8×8 block by its average', async () => {
    const encoder = await load('vae-encoder-blocks.onnx', tinyVaeEncoder({ inverse: TEST_LATENT_INVERSE, bias: TEST_LATENT_BIAS }));
    // One block of 8×16: the left 8×8 block is red-ish, the right one has a gradient per column.
    const image = Array.from({ length: 3 * 8 * 16 }, (_, i) => {
      const [c, x] = [Math.floor(i / 128), i % 16];
      return x < 8 ? [1, 0, 0][c]! : (x - 8) / 8 + c;
    });
    const out = values((await encoder.run({ sample: f32(image, [1, 3, 8, 16]) })).latent_parameters);
    // Left block averages (1, 0, 0); right block averages (0.4375, 1.4375, 2.4375).
    for (const [cell, avg] of [[0, [1, 0, 0]], [1, [0.4375, 1.4375, 2.4375]]] as const) {
      for (let k = 0; k < 4; k++) {
        const expected = [0, 1, 2].reduce((s, c) => s + (avg[c]! - TEST_LATENT_BIAS[c]!) * TEST_LATENT_INVERSE[c]![k]!, 0);
        expectNear(out[k * 2 + cell]!, expected, 1e-5);
      }
    }
  });
});

describe('gaussianUnet', () => {
  const { alphasCumprod } = noiseSchedule(SchedulerConfigSchema.parse({}));
  /** ε = √(1−ᾱ)·(x − √ᾱ·μ)/(ᾱ·s² + 1 − ᾱ), written out again. */
  const epsilon = (x: number, a: number, mu: number, s2: number) => (Math.sqrt(1 - a) * (x - Math.sqrt(a) * mu)) / (a * s2 + 1 - a);

  function ehsWithMu(mus: number[], token: number, tokens = 77, hidden = 8): ort.Tensor {
    const data = new Float32Array(mus.length * tokens * hidden).fill(0.125);
    mus.forEach((mu, b) => (data[(b * tokens + token) * hidden] = mu));
    return new ort.Tensor('float32', data, [mus.length, tokens, hidden]);
  }

  it('matches hand-computed ε on a hand-made schedule', async () => {
    // ᾱ = 0.36: √ᾱ = 0.6, √(1−ᾱ) = 0.8; ᾱ = 0.64: √ᾱ = 0.8, √(1−ᾱ) = 0.6.
    const unet = await load('gaussian-hand.onnx', gaussianUnet([0.64, 0.36], { variance: 1 }));
    const out = await unet.run({
      sample: f32([...Array<number>(4).fill(2), ...Array<number>(4).fill(1)], [2, 4, 1, 1]),
      timestep: i64([1, 0], [2]),
      encoder_hidden_states: ehsWithMu([1, 0.5], 1),
    });
    // Row 0: 0.8·(2 − 0.6·1)/(0.36 + 0.64) = 1.12. Row 1: 0.6·(1 − 0.8·0.5)/(0.64 + 0.36) = 0.36.
    values(out.out_sample).forEach((v, i) => expectNear(v, i < 4 ? 1.12 : 0.36));

    const sharp = await load('gaussian-hand-0.25.onnx', gaussianUnet([0.64], { variance: 0.25 }));
    const one = await sharp.run({ sample: f32([1, 1, 1, 1], [1, 4, 1, 1]), timestep: i64([0], [1]), encoder_hidden_states: ehsWithMu([0.5], 1) });
    // 0.6·(1 − 0.4)/(0.64·0.25 + 0.36) = 0.36/0.52.
    values(one.out_sample).forEach((v) => expectNear(v, 0.36 / 0.52));
  });

  it('gathers ᾱ per batch row from the real schedule and takes μ from the extra terms', async () => {
    const terms = [
      { input: 'text_embeds', shape: ['batch', 16], index: 3, weight: 0.5 },
      { input: 'time_ids', shape: ['batch', 6], index: 0, weight: -0.01 },
      { input: 'timestep_cond', shape: ['batch', 256], index: 255, weight: 2 },
    ];
    const unet = await load('gaussian-terms.onnx', gaussianUnet(alphasCumprod, { variance: 0.3, muToken: 2, hidden: 4, tokens: 77, terms }));
    expect(unet.inputNames).toEqual(['sample', 'timestep', 'encoder_hidden_states', 'text_embeds', 'time_ids', 'timestep_cond']);
    expect(unet.inputInfo('encoder_hidden_states').shape).toEqual(['batch', 77, 4]);
    expect(unet.inputInfo('timestep').type).toBe('int64');
    const timesteps = [999, 500, 10];
    const base = [0.5, -1, 2];
    const textEmbeds = Array.from({ length: 3 * 16 }, (_, i) => i / 8);
    const timeIds = Array.from({ length: 3 * 6 }, (_, i) => 100 * (i + 1));
    const cond = Array.from({ length: 3 * 256 }, (_, i) => ((i % 256) === 255 ? Math.floor(i / 256) - 1 : 9));
    const sample = Array.from({ length: 3 * 4 * 2 * 2 }, (_, i) => Math.sin(i) * 2);
    const out = await unet.run({
      sample: f32(sample, [3, 4, 2, 2]),
      timestep: i64(timesteps, [3]),
      encoder_hidden_states: ehsWithMu(base, 2, 77, 4),
      text_embeds: f32(textEmbeds, [3, 16]),
      time_ids: f32(timeIds, [3, 6]),
      timestep_cond: f32(cond, [3, 256]),
    });
    const eps = values(out.out_sample);
    for (let b = 0; b < 3; b++) {
      const mu = base[b]! + 0.5 * textEmbeds[b * 16 + 3]! - 0.01 * timeIds[b * 6]! + 2 * (b - 1);
      for (let i = 0; i < 16; i++) expectNear(eps[b * 16 + i]!, epsilon(sample[b * 16 + i]!, alphasCumprod[timesteps[b]!]!, mu, 0.3), 1e-5);
    }
  });

  it('rounds float32 timesteps half to even before the lookup', async () => {
    const unet = await load('gaussian-float.onnx', gaussianUnet(alphasCumprod, { variance: 0.5, timestepType: 'float32' }));
    expect(unet.inputInfo('timestep').type).toBe('float32');
    expect(unet.inputInfo('encoder_hidden_states').shape).toEqual(['batch', 'tokens', 8]);
    const out = await unet.run({
      sample: f32([...Array<number>(4).fill(1), ...Array<number>(4).fill(-1), ...Array<number>(4).fill(0.5), ...Array<number>(4).fill(2)], [4, 4, 1, 1]),
      timestep: f32([499.6, 500.5, 501.5, 0.4], [4]),
      encoder_hidden_states: ehsWithMu([0.2, 0.2, 0.2, 0.2], 1, 154),
    });
    const eps = values(out.out_sample);
    [[1, 500], [-1, 500], [0.5, 502], [2, 0]].forEach(([x, t], b) => eps.slice(b * 4, b * 4 + 4).forEach((v) => expectNear(v, epsilon(x!, alphasCumprod[t!]!, 0.2, 0.5), 1e-5)));
  });

  it('with s² = 0 equals analyticUnet', async () => {
    const gaussian = await load('gaussian-zero.onnx', gaussianUnet(alphasCumprod, { muToken: 0, tokens: 77 }));
    const analytic = await load('analytic.onnx', analyticUnet(alphasCumprod));
    const feeds = {
      sample: f32(Array.from({ length: 2 * 4 * 3 * 3 }, (_, i) => Math.cos(i)), [2, 4, 3, 3]),
      timestep: i64([700, 42], [2]),
      encoder_hidden_states: ehsWithMu([0.7, -0.3], 0),
    };
    const expected = values((await analytic.run(feeds)).out_sample);
    values((await gaussian.run(feeds)).out_sample).forEach((v, i) => expectNear(v, expected[i]!, 1e-6));
  });

  it('exactFlowSolution is where the probability-flow ODE ends', () => {
    // dx̃/dσ = ε̂ = (x̃ − μ)·σ/(s² + σ²) for x̃ = x₀ + σ·ε, x₀ ~ N(μ, s²); RK4 from σ_max to 0.
    const [mu, s2, sigmaMax, start] = [0.7, 0.25, 14.6, 9];
    const slope = (x: number, sigma: number) => ((x - mu) * sigma) / (s2 + sigma * sigma);
    let x = start;
    const steps = 4000;
    const h = -sigmaMax / steps;
    for (let n = 0; n < steps; n++) {
      const sigma = sigmaMax + n * h;
      const k1 = slope(x, sigma);
      const k2 = slope(x + (h / 2) * k1, sigma + h / 2);
      const k3 = slope(x + (h / 2) * k2, sigma + h / 2);
      const k4 = slope(x + h * k3, sigma + h);
      x += (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4);
    }
    const alphaProd = 1 / (1 + sigmaMax * sigmaMax);
    expectNear(exactFlowSolution({ mu, variance: s2, sample: start * Math.sqrt(alphaProd), alphaProd }), x, 1e-9);
    // Limits: no variance collapses to μ; no noise keeps the sample.
    expect(exactFlowSolution({ mu, variance: 0, sample: 3, alphaProd: 0.5 })).toBe(mu);
    expect(exactFlowSolution({ mu, variance: s2, sample: 3, alphaProd: 1 })).toBe(3);
  });
});

describe('diffSenseiUnet', () => {
  const { alphasCumprod } = noiseSchedule(SchedulerConfigSchema.parse({}));
  const [h, w, C, T] = [4, 8, 80, 77];
  const BLOCKED = -10000;
  /** A bias row allowing only tokens [from, to). */
  const allow = (from: number, to: number) => Array.from({ length: C }, (_, k) => (k >= from && k < to ? 0 : BLOCKED));
  const dummies = allow(0, 16);

  function inputs(ipScale: number) {
    // Token 1 feature 0 is the text μ; character token k has v = k for the dummies,
    // 40 then 8s for slot 0 (mean 10), 20 for slot 1.
    const ehs = new Float32Array(2 * (T + C) * 8).fill(0.125);
    const text = [0.25, -0.5];
    for (let b = 0; b < 2; b++) {
      ehs[(b * (T + C) + 1) * 8] = text[b]!;
      for (let k = 0; k < C; k++) ehs[(b * (T + C) + T + k) * 8] = k < 16 ? k : k === 16 ? 40 : k < 32 ? 8 : k < 48 ? 20 : 0;
    }
    // Row 0 is hand-built, row 1 sees only dummies (the unconditional half).
    const s16 = [allow(16, 17), allow(16, 32), allow(16, 48), dummies, dummies, dummies, dummies, dummies, ...Array.from({ length: 8 }, () => dummies)];
    const s32 = [allow(32, 48), dummies, dummies, dummies];
    const dialog = new Float32Array(2 * h * w);
    dialog[3 * w + 6] = 1;
    dialog[3 * w + 7] = 1;
    return {
      timestep: i64([999, 400], [2]),
      encoder_hidden_states: new ort.Tensor('float32', ehs, [2, T + C, 8]),
      text_embeds: f32(Array.from({ length: 32 }, (_, i) => i), [2, 16]),
      time_ids: f32([512, 512, 0, 0, 512, 512, 512, 512, 0, 0, 512, 512], [2, 6]),
      ip_bias_s16: f32(s16.flat(), [2, 1, 8, C]),
      ip_bias_s32: f32(s32.flat(), [2, 1, 2, C]),
      dialog_mask: new ort.Tensor('float32', dialog, [2, 1, h, w]),
      ip_scale: f32([ipScale], [1]),
    };
  }

  // μ by hand. attn16 (2×4) = [[40, 10, 15, 7.5], [7.5 ×4]], attn32 (1×2) = [[20, 7.5]];
  // μ = 0.25 + 0.5·½(A16 + A32) + 3·dialog.
  const muConditional = [
    [15.25, 15.25, 7.75, 7.75, 5.875, 5.875, 4, 4],
    [15.25, 15.25, 7.75, 7.75, 5.875, 5.875, 4, 4],
    [7.125, 7.125, 7.125, 7.125, 4, 4, 4, 4],
    [7.125, 7.125, 7.125, 7.125, 4, 4, 7, 7],
  ];
  // Unconditional: −0.5 + 0.5·7.5, no dialog.
  const muUnconditional = Array.from({ length: h }, () => Array<number>(w).fill(3.25));

  it('has the DiffSensei inputs', async () => {
    const unet = await load('diffsensei.onnx', diffSenseiUnet(alphasCumprod, { dialogValue: 3 }));
    expect(unet.inputNames).toEqual(['sample', 'timestep', 'encoder_hidden_states', 'text_embeds', 'time_ids', 'ip_bias_s16', 'ip_bias_s32', 'dialog_mask', 'ip_scale']);
    expect(unet.outputNames).toEqual(['out_sample']);
    expect(unet.inputInfo('ip_bias_s16').shape).toEqual(['batch', 1, 'l16', 80]);
    expect(unet.inputInfo('encoder_hidden_states').shape).toEqual(['batch', 157, 8]);
  });

  it('puts the layout into μ exactly: masked character attention, dialog cells, ip_scale', async () => {
    const unet = await load('diffsensei-2.onnx', diffSenseiUnet(alphasCumprod, { dialogValue: 3 }));
    const sample = Array.from({ length: 2 * 4 * h * w }, (_, i) => Math.sin(i / 3));
    const out = values((await unet.run({ sample: f32(sample, [2, 4, h, w]), ...inputs(0.5) })).out_sample);
    [999, 400].forEach((t, b) => {
      const a = alphasCumprod[t]!;
      const mu = b === 0 ? muConditional : muUnconditional;
      for (let c = 0; c < 4; c++) {
        for (let i = 0; i < h; i++) {
          for (let j = 0; j < w; j++) {
            const index = ((b * 4 + c) * h + i) * w + j;
            expectNear(out[index]!, (sample[index]! - Math.sqrt(a) * mu[i]![j]!) / Math.sqrt(1 - a), 1e-5);
          }
        }
      }
    });
  });

  it('reads back μ from a zero sample; ip_scale 0 leaves text and dialog only; text_embeds and time_ids do not matter', async () => {
    const unet = await load('diffsensei-3.onnx', diffSenseiUnet(alphasCumprod, { dialogValue: 3 }));
    const zero = f32(new Float32Array(2 * 4 * h * w), [2, 4, h, w]);
    const readMu = (out: Record<string, ort.Tensor>) =>
      values(out.out_sample).map((v, i) => {
        const a = alphasCumprod[i < 4 * h * w ? 999 : 400]!;
        return (-v * Math.sqrt(1 - a)) / Math.sqrt(a);
      });
    const mu = readMu(await unet.run({ sample: zero, ...inputs(0.5) }));
    const expected = [...[0, 1, 2, 3].flatMap(() => muConditional.flat()), ...[0, 1, 2, 3].flatMap(() => muUnconditional.flat())];
    mu.forEach((v, i) => expectNear(v, expected[i]!, 1e-4));

    const noCharacters = readMu(await unet.run({ sample: zero, ...inputs(0) }));
    noCharacters.slice(0, h * w).forEach((v, i) => expectNear(v, i === 3 * w + 6 || i === 3 * w + 7 ? 3.25 : 0.25, 1e-4));
    noCharacters.slice(4 * h * w, 5 * h * w).forEach((v) => expectNear(v, -0.5, 1e-4));

    const changed = { ...inputs(0.5), text_embeds: f32(Array<number>(32).fill(1e3), [2, 16]), time_ids: f32(Array<number>(12).fill(-7), [2, 6]) };
    expect(readMu(await unet.run({ sample: zero, ...changed }))).toEqual(mu);
  });
});

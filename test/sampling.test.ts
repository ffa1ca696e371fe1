import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Progress } from '../src/domain/progress.js';
import { OnnxComponent } from '../src/diffusion/onnx/session.js';
import { predictionToX0, x0ToPrediction } from '../src/diffusion/pipeline/prediction.js';
import { blendRegions, guide, initialNoise, sampleLatents } from '../src/diffusion/pipeline/sample-latents.js';
import { createScheduler, noiseSchedule, SchedulerConfigSchema, type SchedulerName, timestepsForStrength } from '../src/diffusion/schedulers/index.js';
import { exactFlowSolution, gaussianUnet } from './support/onnx/pipeline-models.js';
import { analyticUnet, tinyUnet } from './support/onnx/tiny-models.js';

const conditioning = (mu: number) => {
  const hidden = new Float32Array(77 * 8);
  hidden[0] = mu;
  return { text: { hidden, tokens: 77, dim: 8 } };
};

describe('sampling loop on the analytic denoiser', () => {
  let unet: OnnxComponent;
  beforeAll(async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'koma-sample-')), 'unet.onnx');
    writeFileSync(file, analyticUnet(noiseSchedule(SchedulerConfigSchema.parse({})).alphasCumprod));
    unet = await OnnxComponent.load(file);
  });
  afterAll(() => unet.release());

  const run = async (name: SchedulerName, config: object, extra: Partial<Parameters<typeof sampleLatents>[0]> = {}) => {
    const [latents] = await sampleLatents({
      unet,
      scheduler: createScheduler(name, config),
      steps: 12,
      width: 32,
      height: 24,
      panels: [{ seed: 5, rows: [conditioning(0.6)], uncond: conditioning(0.1) }],
      guidance: 1,
      ...extra,
    });
    return latents!;
  };

  it.each([
    ['ddim', { stepsOffset: 1, setAlphaToOne: true }],
    ['euler', { stepsOffset: 1 }],
    ['euler-a', { stepsOffset: 1 }],
    ['dpmpp-2m', { stepsOffset: 1 }],
    ['lcm', {}],
  ] as [SchedulerName, object][])('%s converges to the conditioned image', async (name, config) => {
    const latents = await run(name, config);
    expect(latents).toHaveLength(4 * 3 * 4);
    for (const v of latents) expect(v).toBeCloseTo(0.6, 2);
  });

  it('classifier-free guidance lands on μ_u + g·(μ_c − μ_u)', async () => {
    const latents = await run('ddim', { stepsOffset: 1, setAlphaToOne: true }, { guidance: 3 });
    for (const v of latents) expect(v).toBeCloseTo(0.1 + 3 * (0.6 - 0.1), 3);
  });

  it('is reproducible from the seed', async () => {
    const a = await run('euler-a', { stepsOffset: 1 }, { steps: 3 });
    const b = await run('euler-a', { stepsOffset: 1 }, { steps: 3 });
    expect([...a]).toEqual([...b]);
  });

  it('reports progress every step and stops when cancelled', async () => {
    const seen: Progress[] = [];
    await run('ddim', { stepsOffset: 1 }, { onProgress: (p) => seen.push(p) });
    expect(seen.map((p) => p.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const controller = new AbortController();
    const cancelled = run('ddim', { stepsOffset: 1 }, { signal: controller.signal, onProgress: (p) => p.step === 3 && controller.abort() });
    await expect(cancelled).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('rescales guidance toward the conditional prediction’s spread', () => {
    const u = Float32Array.of(0, 0, 0, 0);
    const c = Float32Array.of(1, -1, 1, -1);
    const plain = guide(u, c, 5, 0);
    expect([...plain]).toEqual([5, -5, 5, -5]);
    expect([...guide(u, c, 5, 1)]).toEqual([1, -1, 1, -1]);
    expect([...guide(u, c, 5, 0.5)]).toEqual([3, -3, 3, -3]);
  });
  it('renders a batch of panels exactly as it renders each alone', async () => {
    // The same prompt with three seeds: only the per-panel noise tells them apart.
    const panels = [11, 12, 13].map((seed) => ({ seed, rows: [conditioning(0.3)], uncond: conditioning(0) }));
    // A UNet whose output depends on its input (2·x + t + mean(c)), so each panel's noise shows in its result.
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'koma-batch-')), 'unet.onnx');
    writeFileSync(file, tinyUnet('float32'));
    const linear = await OnnxComponent.load(file);
    const request = { unet: linear, steps: 4, width: 32, height: 24, guidance: 2 };
    const together = await sampleLatents({ ...request, scheduler: createScheduler('euler-a', { stepsOffset: 1 }), panels });
    let calls = 0;
    for (const [k, panel] of panels.entries()) {
      const [alone] = await sampleLatents({ ...request, scheduler: createScheduler('euler-a', { stepsOffset: 1 }), panels: [panel], onUnetRun: () => calls++ });
      for (let i = 0; i < alone!.length; i++) expect(together[k]![i]).toBeCloseTo(alone![i]!, 5);
    }
    expect(calls).toBe(3 * 4);
    expect(Math.abs(together[0]![0]! - together[1]![0]!)).toBeGreaterThan(1e-3);
    await linear.release();
  });

  it('blends regions cell by cell: the result is Σ w_k·μ_k', async () => {
    const cells = 4 * 3;
    const character = Float32Array.from({ length: cells }, (_, i) => (i % 4 < 2 ? 1 : i % 4 === 2 ? 0.25 : 0));
    const background = character.map((w) => 1 - w);
    const [latents] = await sampleLatents({
      unet,
      scheduler: createScheduler('ddim', { stepsOffset: 1, setAlphaToOne: true }),
      steps: 10,
      width: 32,
      height: 24,
      guidance: 1,
      panels: [{ seed: 3, rows: [conditioning(0.2), conditioning(0.8)], weights: [background, character] }],
    });
    for (let c = 0; c < 4; c++) {
      for (let i = 0; i < cells; i++) expect(latents![c * cells + i]).toBeCloseTo(0.2 * background[i]! + 0.8 * character[i]!, 4);
    }
  });

  it.each([
    ['ddim', { stepsOffset: 1, setAlphaToOne: true }],
    ['euler', { stepsOffset: 1 }],
  ] as [SchedulerName, object][])('calms dialog areas toward paper with a pull that fades over the early steps (%s)', async (name, config) => {
    const cells = 4 * 3;
    const mask = Float32Array.from({ length: cells }, (_, i) => (i === 5 ? 1 : i === 6 ? 0.5 : 0));
    const paper = Float32Array.of(1, -1, 0.5, 2);
    const seen: Float32Array[] = [];
    const steps = 10;
    const calmSteps = 4;
    await sampleLatents({
      unet,
      scheduler: createScheduler(name, config),
      steps,
      width: 32,
      height: 24,
      guidance: 1,
      panels: [{ seed: 9, rows: [conditioning(0.3)], calmMask: mask }],
      calming: { paper, strength: 0.8, fraction: calmSteps / steps },
      onProgress: () => {},
      preview: { every: 1, toImage: (x0) => (seen.push(x0.slice()), { width: 1, height: 1, rgb: new Uint8Array(3) }) },
    });
    expect(seen).toHaveLength(steps);
    seen.forEach((x0, step) => {
      const pull = step < calmSteps ? 0.8 * (1 - step / calmSteps) : 0;
      for (let c = 0; c < 4; c++) {
        for (let i = 0; i < cells; i++) expect(x0[c * cells + i]).toBeCloseTo(0.3 + pull * mask[i]! * (paper[c]! - 0.3), 3);
      }
    });
  });

  it('img2img runs only the tail of the schedule, starting from the init latents', async () => {
    const progress: Progress[] = [];
    const init = new Float32Array(4 * 4 * 3).fill(0.5);
    const [latents] = await sampleLatents({
      unet,
      scheduler: createScheduler('ddim', { stepsOffset: 1, setAlphaToOne: true }),
      steps: 12,
      width: 32,
      height: 24,
      guidance: 1,
      strength: 0.5,
      panels: [{ seed: 2, rows: [conditioning(0.6)], initLatents: init }],
      onProgress: (p) => progress.push(p),
    });
    expect(progress.map((p) => p.total)).toEqual(Array(6).fill(6));
    for (const v of latents!) expect(v).toBeCloseTo(0.6, 3);
  });

  it('sends a latent preview every N steps and at the last step', async () => {
    const progress: Progress[] = [];
    await run('ddim', { stepsOffset: 1 }, { steps: 10, onProgress: (p) => progress.push(p), preview: { every: 4, toImage: (_x0, w, h) => ({ width: w, height: h, rgb: new Uint8Array(w * h * 3) }) } });
    expect(progress.filter((p) => p.preview).map((p) => p.step)).toEqual([4, 8, 10]);
    expect(progress.find((p) => p.preview)!.preview).toMatchObject({ width: 4, height: 3 });
  });
});

describe('prediction ↔ x̂₀ and region blending', () => {
  it.each(['epsilon', 'v_prediction'] as const)('%s: the two maps are inverse and agree with the noising formula', (type) => {
    const alpha = 0.3;
    const x0 = Float32Array.of(0.5, -1, 2);
    const eps = Float32Array.of(1, 0.2, -0.7);
    const input = x0.map((x, i) => Math.sqrt(alpha) * x + Math.sqrt(1 - alpha) * eps[i]!);
    const v = eps.map((e, i) => Math.sqrt(alpha) * e - Math.sqrt(1 - alpha) * x0[i]!);
    const output = type === 'epsilon' ? eps : v;
    const back = predictionToX0(type, output, input, alpha);
    back.forEach((x, i) => expect(x).toBeCloseTo(x0[i]!, 5));
    x0ToPrediction(type, back, input, alpha).forEach((o, i) => expect(o).toBeCloseTo(output[i]!, 5));
  });

  it('weights every channel of a cell by that cell’s weight', () => {
    const a = Float32Array.of(1, 1, 10, 10); // 2 channels × 2 cells
    const b = Float32Array.of(3, 3, 30, 30);
    const out = blendRegions([a, b], [Float32Array.of(1, 0.25), Float32Array.of(0, 0.75)], 2);
    expect([...out]).toEqual([1, 2.5, 10, 25]);
  });
});

describe('img2img on Gaussian data: the exact probability-flow endpoint', () => {
  // Data N(μ, s²) per latent value: a deterministic sampler started from x_t must end at
  // μ + (x_t/√ᾱ_t − μ)·s/√(s² + σ_t²), so the strength (start step) moves the result exactly so.
  const mu = 0.4;
  const variance = 0.25;
  let unet: OnnxComponent;
  const alphas = noiseSchedule(SchedulerConfigSchema.parse({})).alphasCumprod;
  beforeAll(async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'koma-gauss-')), 'unet.onnx');
    writeFileSync(file, gaussianUnet(alphas, { variance, muToken: 0 }));
    unet = await OnnxComponent.load(file);
  });
  afterAll(() => unet.release());

  it.each([0.3, 0.6, 1])('strength %s', async (strength) => {
    const size = 4 * 3 * 4;
    const init = Float32Array.from({ length: size }, (_, i) => -1 + (2 * i) / size);
    // DDIM's error shrinks with the step size (measured: 0.03 at 100 steps, 1e-3 at 999),
    // so the full 999-step grid is used to compare with the exact endpoint.
    const scheduler = createScheduler('ddim', { stepsOffset: 1, setAlphaToOne: true });
    const [latents] = await sampleLatents({
      unet,
      scheduler,
      steps: 999,
      width: 32,
      height: 24,
      guidance: 1,
      ...(strength < 1 ? { strength } : {}),
      panels: [{ seed: 21, rows: [conditioning(mu)], ...(strength < 1 ? { initLatents: init } : {}) }],
    });
    const start = strength < 1 ? timestepsForStrength(scheduler, strength)[0]! : scheduler.timesteps[0]!;
    const a = alphas[start]!;
    const noise = initialNoise(21, size);
    // txt2img starts from the noise itself; img2img from the init noised to the start step.
    const xt = (i: number) => (strength < 1 ? Math.sqrt(a) * init[i]! + Math.sqrt(1 - a) * noise[i]! : noise[i]!);
    latents!.forEach((v, i) => expect(v).toBeCloseTo(exactFlowSolution({ mu, variance, sample: xt(i), alphaProd: a }), 2));
    if (strength === 0.3) {
      // Little noise added: the result keeps most of the init's variation.
      const spread = Math.max(...latents!) - Math.min(...latents!);
      expect(spread).toBeGreaterThan(0.5);
    }
  });
});

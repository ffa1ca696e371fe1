import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Progress } from '../src/domain/progress.js';
import { OnnxComponent } from '../src/diffusion/onnx/session.js';
import { guide, sampleLatents } from '../src/diffusion/pipeline/sample-latents.js';
import { createScheduler, noiseSchedule, SchedulerConfigSchema, type SchedulerName } from '../src/diffusion/schedulers/index.js';
import { analyticUnet } from './support/onnx/tiny-models.js';

const conditioning = (mu: number) => {
  const hidden = new Float32Array(77 * 8);
  hidden[0] = mu;
  return { hidden, tokens: 77, dim: 8 };
};

describe('sampling loop on the analytic denoiser', () => {
  let unet: OnnxComponent;
  beforeAll(async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'koma-sample-')), 'unet.onnx');
    writeFileSync(file, analyticUnet(noiseSchedule(SchedulerConfigSchema.parse({})).alphasCumprod));
    unet = await OnnxComponent.load(file);
  });
  afterAll(() => unet.release());

  const run = (name: SchedulerName, config: object, extra: Partial<Parameters<typeof sampleLatents>[0]> = {}) =>
    sampleLatents({ unet, scheduler: createScheduler(name, config), steps: 12, width: 32, height: 24, seed: 5, cond: conditioning(0.6), uncond: conditioning(0.1), guidance: 1, ...extra });

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
});

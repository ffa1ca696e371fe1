import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { regionWeights, unionMask } from '../src/diffusion/layout/region-masks.js';
import { readManifest } from '../src/diffusion/models/registry.js';
import { DiffusionModel } from '../src/diffusion/pipeline/diffusion-model.js';
import { generatePanels, PAPER_RGB, type PanelSpec } from '../src/diffusion/pipeline/generate-panels.js';
import { TEST_LATENT_BIAS, TEST_LATENT_FACTORS, TEST_LATENT_INVERSE } from './support/onnx/pipeline-models.js';
import { type TinyModelOptions, WORD_MU, writeTinyModel } from './support/tiny-model-folder.js';

/**
 * The pipeline end to end — tokenizer, text encoders, UNet feeds, sampler,
 * VAE — on whole model folders built from graphs with known math: every
 * prompt has a known target image μ, so each branch must land on an exact value.
 */
const modelsDir = mkdtempSync(path.join(os.tmpdir(), 'koma-models-'));
const models: Record<string, DiffusionModel> = {};

async function load(id: string, options: Omit<TinyModelOptions, 'id'>): Promise<DiffusionModel> {
  const manifestPath = writeTinyModel(modelsDir, { ...options, id });
  models[id] = await DiffusionModel.load(manifestPath, await readManifest(manifestPath));
  return models[id]!;
}

beforeAll(async () => {
  await load('tiny-sd15', { family: 'sd15', vaeEncoder: true });
  await load('tiny-sdxl', { family: 'sdxl', pooledWeight: 0.1, timeIdsWeight: 0.001 });
  await load('tiny-lcm', { family: 'lcm' });
  await load('tiny-turbo', { family: 'sd-turbo' });
  await load('tiny-sd15-gauss', { family: 'sd15', vaeEncoder: true, variance: 0.25, vaeScalingFactor: 1 });
  await load('tiny-sd15-window2', { family: 'sd15', muToken: 78 });
  await load('tiny-diffsensei', { family: 'diffsensei', characterEncoder: true, dialogValue: 0.25 });
});
afterAll(async () => {
  for (const model of Object.values(models)) await model.release();
});

const panel = (overrides: Partial<PanelSpec> = {}): PanelSpec => ({ prompt: 'a', negativePrompt: 'c', width: 64, height: 64, seed: 1, characters: [], dialogBoxes: [], ...overrides });

/** Scaled latents of value z[c] per channel reach the test VAE divided by `scaling`, which decodes them to this RGB byte. */
function decodedByte(z: number[], channel: number, scaling = 1): number {
  const v = TEST_LATENT_BIAS[channel]! + z.reduce((s, zk, k) => s + (zk / scaling) * TEST_LATENT_FACTORS[k]![channel]!, 0);
  return Math.round(Math.min(1, Math.max(-1, v)) * 127.5 + 127.5);
}

/** Every channel of latent cell `cell` (of `cells`). */
const channelsAt = (latents: Float32Array, cell: number, cells: number) => [0, 1, 2, 3].map((c) => latents[c * cells + cell]!);

describe('SD 1.5 branch', () => {
  it('txt2img with CFG lands on μ_neg + g·(μ_prompt − μ_neg) and decodes through the VAE', async () => {
    const [out] = await generatePanels(models['tiny-sd15']!, [panel({ prompt: 'e', negativePrompt: 'f' })], { guidance: 3, steps: 8, scheduler: 'euler' });
    // "e" and "f" carry small μ, so the decoded colour (latents ÷ 0.18215) does not clip.
    const mu = WORD_MU.f! + 3 * (WORD_MU.e! - WORD_MU.f!);
    for (const v of out!.latents) expect(v).toBeCloseTo(mu, 4);
    expect(out!.rgb).toHaveLength(64 * 64 * 3);
    const scaling = models['tiny-sd15']!.manifest.vaeScalingFactor;
    for (let c = 0; c < 3; c++) expect(out!.rgb[c]).toBe(decodedByte([mu, mu, mu, mu], c, scaling));
  });

  it('regional control: each character box gets its own prompt, blended by feathered weights', async () => {
    const box = [0.5, 0, 1, 1] as const;
    const [out] = await generatePanels(models['tiny-sd15']!, [panel({ prompt: '', characters: [{ box, description: 'b' }] })], { guidance: 1, steps: 6, scheduler: 'euler' });
    // The background prompt is empty (μ 0); the character's region prompt is "b".
    const [background, character] = regionWeights([box], { width: 8, height: 8 });
    for (let cell = 0; cell < 64; cell++) {
      const expected = background![cell]! * 0 + character![cell]! * WORD_MU.b!;
      for (const v of channelsAt(out!.latents, cell, 64)) expect(v).toBeCloseTo(expected, 4);
    }
    // Far left is pure background, deep inside the box mostly the character.
    expect(out!.latents[8 * 4]).toBeCloseTo(0, 4);
    expect(out!.latents[8 * 4 + 7]).toBeGreaterThan(0.6);
  });

  it('keeps dialog areas calm: x̂₀ pulled toward the VAE-encoded paper tone', async () => {
    const steps = 8;
    const [out] = await generatePanels(models['tiny-sd15']!, [panel({ prompt: 'b', dialogBoxes: [[0, 0, 0.5, 0.5]] })], {
      guidance: 1,
      steps,
      scheduler: 'euler',
      calming: { strength: 1, fraction: 1 },
    });
    // Euler's last step lands on x̂₀, whose pull has faded to 1/steps.
    const paperRgb = PAPER_RGB.map((v, c) => v / 127.5 - 1 - TEST_LATENT_BIAS[c]!);
    const scaling = models['tiny-sd15']!.manifest.vaeScalingFactor;
    const paper = [0, 1, 2, 3].map((k) => scaling * paperRgb.reduce((s, v, c) => s + v * TEST_LATENT_INVERSE[c]![k]!, 0));
    const mask = unionMask([[0, 0, 0.5, 0.5]], { width: 8, height: 8 });
    for (let cell = 0; cell < 64; cell++) {
      channelsAt(out!.latents, cell, 64).forEach((v, k) => expect(v).toBeCloseTo(WORD_MU.b! + (1 / steps) * mask[cell]! * (paper[k]! - WORD_MU.b!), 3));
    }
    expect(mask[9]).toBe(1);
  });

  it('batches panels of one size in one UNet call per step; each lands on its own prompt’s image', async () => {
    let calls = 0;
    const batch = await generatePanels(models['tiny-sd15']!, [panel({ prompt: 'a' }), panel({ prompt: 'b', seed: 2 }), panel({ prompt: 'd', seed: 3 })], {
      guidance: 2,
      steps: 5,
      scheduler: 'euler',
      onUnetRun: () => calls++,
    });
    expect(calls).toBe(5);
    expect(batch.map((p) => p.latents[0])).toEqual(['a', 'b', 'd'].map((w) => expect.closeTo(WORD_MU.c! + 2 * (WORD_MU[w]! - WORD_MU.c!), 4)));
  });

  it('img2img encodes the init image and runs only part of the schedule', async () => {
    // Gaussian data (s² = 0.25): where sampling ends depends on where it starts, so the init image shows.
    const model = models['tiny-sd15-gauss']!;
    const run = async (grey: number, strength: number) => {
      const steps: number[] = [];
      const [out] = await generatePanels(model, [panel({ initImage: new Uint8Array(64 * 64 * 3).fill(grey) })], { guidance: 1, steps: 10, strength, scheduler: 'euler', onProgress: (p) => steps.push(p.total) });
      return { latents: out!.latents, steps };
    };
    const dark = await run(20, 0.3);
    const light = await run(235, 0.3);
    expect(new Set(dark.steps)).toEqual(new Set([3]));
    // The two greys encode (inverse·(rgb − bias)) to latents ≈ 3.4 apart (5.1 in the fourth channel);
    // at strength 0.3 most of that difference survives, at 0.9 little of it does.
    const gap = (a: Float32Array, b: Float32Array) => Math.abs(a.reduce((s, v) => s + v, 0) - b.reduce((s, v) => s + v, 0)) / a.length;
    const nearStart = gap(dark.latents, light.latents);
    const farStart = gap((await run(20, 0.9)).latents, (await run(235, 0.9)).latents);
    expect(nearStart).toBeGreaterThan(1);
    expect(farStart).toBeLessThan(nearStart / 2);
  });

  it('long prompts run as several 77-token windows on UNets with a free token axis', async () => {
    // 75 "c" fill the first window; "b" is the first word of the second, token 78 of the 154.
    const long = [...Array.from({ length: 75 }, () => 'c'), 'b'].join(' ');
    const [out] = await generatePanels(models['tiny-sd15-window2']!, [panel({ prompt: long })], { guidance: 1, steps: 3, scheduler: 'euler' });
    expect(out!.latents[0]).toBeCloseTo(WORD_MU.b!, 4);
  });

  it('sends latent previews through the latent-to-RGB projection', async () => {
    const previews: { width: number; height: number; rgb: Uint8Array }[] = [];
    await generatePanels(models['tiny-sd15']!, [panel()], { guidance: 1, steps: 4, scheduler: 'euler', previewEvery: 2, onProgress: (p) => p.preview && previews.push(p.preview) });
    expect(previews).toHaveLength(2);
    expect(previews[1]).toMatchObject({ width: 8, height: 8 });
    const mu = WORD_MU.a!;
    expect([...previews[1]!.rgb.slice(0, 3)]).toEqual([0, 1, 2].map((c) => decodedByte([mu, mu, mu, mu], c)));
  });

  it('refuses sizes the model cannot render and says why', async () => {
    await expect(generatePanels(models['tiny-sd15']!, [panel({ width: 60 })])).rejects.toMatchObject({ code: 'invalid-input', message: expect.stringMatching(/multiples of 8/) });
    await expect(generatePanels(models['tiny-sdxl']!, [panel({ width: 80, height: 64 })])).rejects.toMatchObject({ code: 'invalid-input', message: expect.stringMatching(/multiples of 32/) });
    await expect(generatePanels(models['tiny-sd15']!, [panel({ width: 4096 })])).rejects.toMatchObject({ code: 'invalid-input' });
  });

  it('stops between steps when cancelled', async () => {
    const controller = new AbortController();
    const run = generatePanels(models['tiny-sd15']!, [panel()], { steps: 10, signal: controller.signal, onProgress: (p) => p.step === 2 && controller.abort() });
    await expect(run).rejects.toMatchObject({ code: 'cancelled' });
  });
});

describe('SDXL branch', () => {
  it('penultimate states of both encoders, pooled text_embeds, time_ids, zeros for an empty negative prompt', async () => {
    const [out] = await generatePanels(models['tiny-sdxl']!, [panel({ negativePrompt: '', width: 64, height: 96 })], { guidance: 1.5, steps: 6, scheduler: 'euler' });
    // μ = encoder 1 penultimate (E + 1) at the first word + 0.1·text_embeds[0] + 0.001·time_ids[0]:
    // text_embeds is encoder 2's last layer (E + 3) pooled at EOS (μ 0), time_ids[0] the height.
    const cond = WORD_MU.a! + 1 + 0.1 * 3 + 0.001 * 96;
    const uncond = 0 + 0.1 * 0 + 0.001 * 96;
    for (const v of out!.latents) expect(v).toBeCloseTo(uncond + 1.5 * (cond - uncond), 4);
  });
});

describe('LCM branch', () => {
  it('feeds the guidance embedding as timestep_cond and runs without a CFG batch', async () => {
    let calls = 0;
    const [out] = await generatePanels(models['tiny-lcm']!, [panel()], { guidance: 8, onUnetRun: () => calls++ });
    expect(calls).toBe(4); // the family's 4 steps
    // The negative prompt ("c") must not pull the result: no CFG for LCM.
    for (const v of out!.latents) expect(v).toBeCloseTo(WORD_MU.a!, 4);
  });
});

describe('SD-Turbo branch', () => {
  it('one trailing Euler step from σ_max without guidance lands on the prompt’s image', async () => {
    let calls = 0;
    const [out] = await generatePanels(models['tiny-turbo']!, [panel()], { onUnetRun: () => calls++ });
    expect(calls).toBe(1); // the family's single step
    // Guidance 0 means no CFG (with it, g = 0 would land on the negative prompt "c" instead).
    for (const v of out!.latents) expect(v).toBeCloseTo(WORD_MU.a!, 4);
  });
});

describe('DiffSensei branch: native layout inputs', () => {
  const gray = () => sharp({ create: { width: 40, height: 60, channels: 3, background: { r: 200, g: 200, b: 200 } } }).png().toBuffer();
  // The test character encoder gives slot tokens the mean of the normalised pixels (CLIP mean/std, grey 200).
  const clipMean = [0.48145466, 0.4578275, 0.40821073];
  const clipStd = [0.26862954, 0.26130258, 0.27577711];
  const slotValue = [0, 1, 2].reduce((s, c) => s + (200 / 255 - clipMean[c]!) / clipStd[c]!, 0) / 3;

  it('character tokens attend inside their box, dummy tokens outside, the dialog mask adds its embedding', async () => {
    const spec = panel({ width: 128, height: 128, characters: [{ box: [0, 0, 0.5, 1], description: 'ignored', referenceImage: await gray() }], dialogBoxes: [[0.5, 0.5, 1, 1]] });
    const [out] = await generatePanels(models['tiny-diffsensei']!, [spec], { guidance: 1, steps: 6, calming: false });
    const text = WORD_MU.a! + 1; // encoder 1's penultimate layer adds 1
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j < 16; j++) {
        const inBox = j < 8;
        const inDialog = i >= 8 && j >= 8;
        const expected = text + 0.6 * (inBox ? slotValue : -1) + (inDialog ? 0.25 : 0);
        expect(out!.latents[i * 16 + j]).toBeCloseTo(expected, 3);
      }
    }
  });

  it('the unconditional half has no boxes and empty character slots', async () => {
    const spec = panel({ width: 128, height: 128, characters: [{ box: [0, 0, 0.5, 1], description: '', referenceImage: await gray() }] });
    const [out] = await generatePanels(models['tiny-diffsensei']!, [spec], { guidance: 2, steps: 6, calming: false });
    const uncond = WORD_MU.c! + 1 + 0.6 * -1; // dummies everywhere
    const cond = (inBox: boolean) => WORD_MU.a! + 1 + 0.6 * (inBox ? slotValue : -1);
    expect(out!.latents[0]).toBeCloseTo(uncond + 2 * (cond(true) - uncond), 3);
    expect(out!.latents[15]).toBeCloseTo(uncond + 2 * (cond(false) - uncond), 3);
  });

  it('refuses more characters than the model has slots, and unreadable reference images', async () => {
    const many = Array.from({ length: 5 }, (_, k) => ({ box: [k * 0.2, 0, k * 0.2 + 0.2, 1] as const, description: '' }));
    await expect(generatePanels(models['tiny-diffsensei']!, [panel({ width: 128, height: 128, characters: many })])).rejects.toMatchObject({ code: 'invalid-input' });
    // Without a character encoder the attention biases refuse them the same way.
    const noEncoder = await load('tiny-diffsensei-plain', { family: 'diffsensei' });
    await expect(generatePanels(noEncoder, [panel({ width: 128, height: 128, characters: many })])).rejects.toMatchObject({ code: 'invalid-input', message: expect.stringMatching(/5 characters but the model has 4 character slots/) });
    const broken = [{ box: [0, 0, 1, 1] as const, description: '', referenceImage: Buffer.from('not an image') }];
    await expect(generatePanels(models['tiny-diffsensei']!, [panel({ width: 128, height: 128, characters: broken })])).rejects.toMatchObject({ code: 'bad-image' });
  });
});

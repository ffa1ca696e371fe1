import type { Box } from '../../domain/box.js';
import { KomaError } from '../../domain/errors.js';
import type { ProgressListener } from '../../domain/progress.js';
import { regionWeights, unionMask } from '../layout/region-masks.js';
import { createScheduler, type SchedulerName } from '../schedulers/index.js';
import type { DiffusionModel } from './diffusion-model.js';
import { latentForColour, latentsToPreview } from './latent-rgb.js';
import type { PromptEmbedding } from './prompt-encoder.js';
import { type Calming, type PanelSampling, sampleLatents } from './sample-latents.js';
import type { UnetRow } from './unet-feeds.js';

/**
 * Panels from prompts, boxes and images: the diffusion pipeline end to end.
 * It only orchestrates — encode the prompts, build each panel's rows (regional
 * conditioning on stock models, native layout inputs on DiffSensei exports),
 * sample all panels of the batch together, decode with the VAE.
 * It knows nothing of stories: characters arrive as a box, a description and
 * an optional reference image.
 */
export interface PanelCharacterSpec {
  box: Box;
  /** Appearance, e.g. "short black hair, red scarf": each character's region prompt adds it. */
  description: string;
  /** Encoded reference image (DiffSensei's character tokens). */
  referenceImage?: Buffer;
}

export interface PanelSpec {
  prompt: string;
  negativePrompt?: string;
  width: number;
  height: number;
  seed: number;
  characters: PanelCharacterSpec[];
  dialogBoxes: Box[];
  /** SDEdit / img2img start: packed RGB of width×height (e.g. the storyboard panel). */
  initImage?: Uint8Array;
}

export interface GenerateOptions {
  steps?: number;
  guidance?: number;
  scheduler?: SchedulerName;
  /** img2img strength in (0, 1] when panels have an init image (default 0.65). */
  strength?: number;
  characterScale?: number;
  guidanceRescale?: number;
  /** Dialog calming (default: pull 0.8 during the first 40 % of the steps); false to turn off. */
  calming?: { strength: number; fraction: number } | false;
  /** The background's minimum weight inside character boxes, so the scene stays one picture. */
  backgroundFloor?: number;
  /** A latent preview in the progress events every N steps (0: none). */
  previewEvery?: number;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  onUnetRun?: (milliseconds: number) => void;
}

export interface GeneratedPanel {
  /** Packed RGB, width × height × 3. */
  rgb: Buffer;
  width: number;
  height: number;
  seed: number;
  /** The final latents [C, h, w] (scaled), before decoding. */
  latents: Float32Array;
}

/** Manga paper (the storyboard renderer's paper colour). */
export const PAPER_RGB: [number, number, number] = [251, 250, 246];
const DEFAULT_CALMING = { strength: 0.8, fraction: 0.4 };

export async function generatePanels(model: DiffusionModel, panels: readonly PanelSpec[], options: GenerateOptions = {}): Promise<GeneratedPanel[]> {
  if (panels.length === 0) return [];
  const { width, height } = panels[0]!;
  checkSize(model, panels);
  const manifest = model.manifest;
  const grid = { width: width / 8, height: height / 8 };
  const steps = options.steps ?? manifest.defaultSteps;
  const guidance = options.guidance ?? manifest.defaultGuidance;
  const native = model.nativeLayout;

  // Every prompt of the batch in one encoder pass, so all rows share a token count.
  const negatives = panels.map((p) => p.negativePrompt || manifest.defaultNegativePrompt);
  const regionPrompts = panels.map((p) => (native ? [p.prompt] : [p.prompt, ...p.characters.map((c) => joinPrompt(p.prompt, c.description))]));
  const texts = [...negatives, ...regionPrompts.flat()];
  const embeddings = await model.promptEncoder.encode(texts, { allowLong: model.acceptsLongPrompts });
  const negativeOf = (p: number): PromptEmbedding => {
    const encoded = embeddings[p]!;
    // SDXL-class models condition an empty negative prompt on zeros, not on the encoding of "".
    return model.sdxlClass && negatives[p]!.trim() === '' ? model.promptEncoder.zeros(encoded) : encoded;
  };
  // The region embeddings follow the negatives, panel after panel.
  const regionStarts = regionPrompts.map((_, p) => panels.length + regionPrompts.slice(0, p).reduce((n, r) => n + r.length, 0));

  const sampling: PanelSampling[] = [];
  for (const [p, panel] of panels.entries()) {
    const conditioned = embeddings.slice(regionStarts[p]!, regionStarts[p]! + regionPrompts[p]!.length);
    const entry: PanelSampling = { seed: panel.seed, rows: [], ...(panel.dialogBoxes.length ? { calmMask: unionMask(panel.dialogBoxes, grid) } : {}) };
    if (native) {
      const tokens = await characterTokens(model, panel, native.characterTokens, conditioned[0]!.dim);
      entry.rows = [{ text: conditioned[0]!, characterTokens: tokens.cond, characterBoxes: panel.characters.map((c) => c.box), dialogBoxes: panel.dialogBoxes }];
      entry.uncond = { text: negativeOf(p), characterTokens: tokens.uncond };
    } else {
      entry.rows = conditioned.map((text): UnetRow => ({ text }));
      if (panel.characters.length) entry.weights = regionWeights(panel.characters.map((c) => c.box), grid, options.backgroundFloor);
      entry.uncond = { text: negativeOf(p) };
    }
    if (panel.initImage) entry.initLatents = await model.vae.encode(panel.initImage, width, height);
    sampling.push(entry);
  }
  const withInit = sampling.filter((s) => s.initLatents).length;
  if (withInit !== 0 && withInit !== sampling.length) throw new Error('a batch is either all img2img or all txt2img');

  // The paper tone is only needed when some panel has a dialog area to calm.
  const calm = options.calming !== false && sampling.some((s) => s.calmMask);
  const calming: Calming | undefined = calm ? { paper: await paperLatent(model), ...(options.calming || DEFAULT_CALMING) } : undefined;
  const scheduler = createScheduler(options.scheduler ?? manifest.scheduler.name, { ...manifest.scheduler.config, predictionType: manifest.predictionType });
  const latents = await sampleLatents({
    unet: model.unet,
    scheduler,
    steps,
    width,
    height,
    panels: sampling,
    guidance,
    ...(options.guidanceRescale !== undefined ? { guidanceRescale: options.guidanceRescale } : {}),
    ...(withInit ? { strength: options.strength ?? 0.65 } : {}),
    ...(calming ? { calming } : {}),
    characterScale: options.characterScale ?? manifest.characterScale,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.onUnetRun ? { onUnetRun: options.onUnetRun } : {}),
    ...(options.previewEvery ? { preview: { every: options.previewEvery, toImage: (x0, w, h) => latentsToPreview(x0, w, h, model.latentRgb) } } : {}),
  });
  const out: GeneratedPanel[] = [];
  for (const [p, panelLatents] of latents.entries()) {
    if (options.signal?.aborted) throw new KomaError('cancelled', 'rendering was cancelled');
    out.push({ rgb: await model.vae.decode(panelLatents, width, height), width, height, seed: panels[p]!.seed, latents: panelLatents });
  }
  return out;
}

/** "a rainy street" + "red scarf" → "a rainy street, red scarf" (either may be empty). */
export function joinPrompt(prompt: string, addition: string): string {
  return [prompt.trim(), addition.trim()].filter(Boolean).join(', ');
}

function checkSize(model: DiffusionModel, panels: readonly PanelSpec[]): void {
  const { width, height } = panels[0]!;
  const multiple = model.manifest.sizeMultiple;
  if (panels.some((p) => p.width !== width || p.height !== height)) throw new Error('every panel of a batch has the same size');
  for (const edge of [width, height]) {
    if (!Number.isInteger(edge) || edge < 64 || edge > 2048 || edge % multiple !== 0) {
      throw new KomaError('invalid-input', `panel size ${width}×${height}: ${model.id} renders edges from 64 to 2048 px in multiples of ${multiple}`);
    }
  }
}

/**
 * The latent of flat paper, which dialog areas are calmed toward: encoded by
 * the VAE when the model has an encoder (exact), else solved from the
 * latent-to-RGB factors.
 */
const paperCache = new WeakMap<DiffusionModel, Float32Array>();
async function paperLatent(model: DiffusionModel): Promise<Float32Array> {
  const cached = paperCache.get(model);
  if (cached) return cached;
  let paper: Float32Array;
  if (model.vae.canEncode) {
    const size = 64;
    const flat = Uint8Array.from({ length: size * size * 3 }, (_, i) => PAPER_RGB[i % 3]!);
    const latents = await model.vae.encode(flat, size, size);
    const cells = (size / 8) ** 2;
    paper = Float32Array.from({ length: latents.length / cells }, (_, c) => latents.subarray(c * cells, (c + 1) * cells).reduce((s, v) => s + v, 0) / cells);
  } else {
    paper = latentForColour(PAPER_RGB, model.latentRgb);
  }
  paperCache.set(model, paper);
  return paper;
}

async function characterTokens(model: DiffusionModel, panel: PanelSpec, count: number, dim: number): Promise<{ cond: Float32Array; uncond: Float32Array }> {
  if (!model.characterEncoder) {
    // No encoder: zero tokens with real boxes ("someone here, identity unspecified"),
    // which is how DiffSensei was trained for characters without a reference.
    return { cond: new Float32Array(count * dim), uncond: new Float32Array(count * dim) };
  }
  return model.characterEncoder.encode(panel.characters.map((c) => c.referenceImage));
}

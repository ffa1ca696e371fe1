import * as ort from 'onnxruntime-node';
import { KomaError } from '../../domain/errors.js';
import type { PreviewImage, ProgressListener } from '../../domain/progress.js';
import { fillGaussian, mulberry32 } from '../../util/prng.js';
import type { InferenceComponent } from '../onnx/session.js';
import { timestepTensor } from '../onnx/session.js';
import { type Scheduler, timestepsForStrength } from '../schedulers/index.js';
import { type PredictionType, predictionToX0, x0ToPrediction } from './prediction.js';
import { buildConstantFeeds, type NativeLayout, nativeLayoutOf, type UnetRow } from './unet-feeds.js';

/**
 * The denoising loop for a batch of same-sized panels. Per step it makes ONE
 * UNet call on every row of every panel — [uncond, region 0, region 1, …] —
 * then per panel: blends the regions' predictions by their cell weights,
 * applies classifier-free guidance (and optional rescale), keeps dialog areas
 * calm, and takes one scheduler step. It only orchestrates: the math lives in
 * the scheduler, the UNet and the small pure helpers below.
 */
export interface PanelSampling {
  /** Each panel's noise comes from its own seed, so batching never changes a panel. */
  seed: number;
  /** Conditioned rows: one, or one per region (background first) blended by `weights`. */
  rows: UnetRow[];
  /** Per row, a weight for every latent cell; the weights sum to 1 in each cell. */
  weights?: Float32Array[];
  /** The unconditional row for classifier-free guidance. */
  uncond?: UnetRow;
  /** img2img / SDEdit: clean latents (already × the VAE scaling factor) to start from. */
  initLatents?: Float32Array;
  /** Dialog areas to keep calm: a 0..1 weight per latent cell. */
  calmMask?: Float32Array;
}

export interface Calming {
  /** The latent of flat paper (one value per channel) that dialog areas are pulled toward. */
  paper: Float32Array;
  /** How far x̂₀ is pulled toward paper in the first step (0..1); it fades linearly to 0. */
  strength: number;
  /** The share of the steps during which calming acts (the early steps shape the composition). */
  fraction: number;
}

export interface PreviewOptions {
  /** A preview every this many steps (and at the last step). */
  every: number;
  toImage: (x0: Float32Array, width: number, height: number) => PreviewImage;
}

export interface SampleRequest {
  unet: InferenceComponent;
  scheduler: Scheduler;
  steps: number;
  width: number;
  height: number;
  panels: PanelSampling[];
  /** ≤ 1 runs without CFG; LCM models take guidance through timestep_cond instead. */
  guidance: number;
  /** φ in [0, 1] (Lin et al.): pulls the guided prediction's std back toward the conditional one. */
  guidanceRescale?: number;
  /** img2img strength in (0, 1]: how much of the schedule runs. Needs initLatents on every panel. */
  strength?: number;
  calming?: Calming;
  /** DiffSensei's character branch weight. */
  characterScale?: number;
  /** Latent channels (4 for SD-family VAEs). */
  channels?: number;
  /** VAE downsampling factor. */
  scaleFactor?: number;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  preview?: PreviewOptions;
  /** Called after every UNet call with its duration (the benchmark sums them). */
  onUnetRun?: (milliseconds: number) => void;
}

export function initialNoise(seed: number, length: number): Float32Array {
  return fillGaussian(new Float32Array(length), mulberry32(seed));
}

export async function sampleLatents(request: SampleRequest): Promise<Float32Array[]> {
  const { unet, scheduler, panels } = request;
  if (panels.length === 0) return [];
  const channels = request.channels ?? 4;
  const factor = request.scaleFactor ?? 8;
  const h = request.height / factor;
  const w = request.width / factor;
  if (!Number.isInteger(h) || !Number.isInteger(w)) throw new KomaError('invalid-input', `size ${request.width}×${request.height} is not a multiple of ${factor}`);
  const size = channels * h * w;
  const cells = h * w;
  const predictionType: PredictionType = scheduler.config.predictionType;

  scheduler.setTimesteps(request.steps);
  const img2img = request.strength !== undefined && request.strength < 1;
  if (request.strength !== undefined && panels.some((p) => !p.initLatents)) throw new Error('img2img needs initLatents on every panel of the batch');
  const timesteps = img2img ? timestepsForStrength(scheduler, request.strength!) : scheduler.timesteps;

  // Guidance rides in timestep_cond for LCM-distilled UNets: no CFG batch there.
  const guidanceEmbedded = unet.inputNames.includes('timestep_cond');
  const cfg = !guidanceEmbedded && request.guidance > 1 && panels.every((p) => p.uncond);
  const layouts = panels.map((panel) => {
    if (panel.weights && panel.weights.length !== panel.rows.length) throw new Error('one weight mask per conditioned row');
    const rows = cfg ? [panel.uncond!, ...panel.rows] : panel.rows;
    return { rows, random: mulberry32(panel.seed) };
  });
  const allRows = layouts.flatMap((l) => l.rows);
  const native: NativeLayout | undefined = nativeLayoutOf(unet);
  const constant = buildConstantFeeds(unet, allRows, { width: request.width, height: request.height, scaleFactor: factor, guidance: request.guidance, characterScale: request.characterScale ?? 1 }, native);
  const timestepInfo = unet.inputInfo('timestep');

  // Start latents: pure noise, or (img2img) the init latents noised to the first timestep.
  let latents = panels.map((panel, p) => {
    const noise = fillGaussian(new Float32Array(size), layouts[p]!.random);
    if (panel.initLatents) {
      if (panel.initLatents.length !== size) throw new Error(`init latents have ${panel.initLatents.length} values, expected ${size}`);
      if (img2img) return scheduler.addNoise(panel.initLatents, noise, timesteps[0]!);
    }
    return noise.map((n) => n * scheduler.initNoiseSigma);
  });

  const sample = new Float32Array(allRows.length * size);
  const calmSteps = request.calming ? Math.round(timesteps.length * request.calming.fraction) : 0;
  for (const [i, t] of timesteps.entries()) {
    if (request.signal?.aborted) throw new KomaError('cancelled', 'rendering was cancelled');
    const inputs = latents.map((l) => scheduler.scaleModelInput(l, t));
    let row = 0;
    inputs.forEach((input, p) => {
      for (let r = 0; r < layouts[p]!.rows.length; r++) sample.set(input, (row++) * size);
    });
    const started = performance.now();
    const outputs = await unet.run({
      ...constant,
      sample: new ort.Tensor('float32', sample, [allRows.length, channels, h, w]),
      timestep: timestepTensor(t, timestepInfo, allRows.length),
    });
    request.onUnetRun?.(performance.now() - started);
    const prediction = outputs[unet.outputNames[0]!]!.data as Float32Array;

    let offset = 0;
    const previews: Float32Array[] = [];
    latents = panels.map((panel, p) => {
      const rowCount = layouts[p]!.rows.length;
      const rowsOut = Array.from({ length: rowCount }, (_, r) => prediction.subarray((offset + r) * size, (offset + r + 1) * size));
      offset += rowCount;
      const conditioned = cfg ? rowsOut.slice(1) : rowsOut;
      const cond = panel.weights ? blendRegions(conditioned, panel.weights, cells) : conditioned[0]!;
      let guided = cfg ? guide(rowsOut[0]!, cond, request.guidance, request.guidanceRescale ?? 0) : cond;
      if (request.calming && panel.calmMask && i < calmSteps) {
        const pull = request.calming.strength * (1 - i / Math.max(1, calmSteps));
        guided = calmPrediction(predictionType, guided, inputs[p]!, scheduler.modelInputAlphaProd(t), panel.calmMask, request.calming.paper, pull, cells);
      }
      const stepNoise = scheduler.stochastic ? fillGaussian(new Float32Array(size), layouts[p]!.random) : undefined;
      const result = scheduler.step(guided, t, latents[p]!, stepNoise);
      previews.push(result.predOriginal);
      return result.prevSample;
    });
    const last = i === timesteps.length - 1;
    const wantPreview = request.preview && ((i + 1) % request.preview.every === 0 || last);
    request.onProgress?.({
      step: i + 1,
      total: timesteps.length,
      label: 'denoising',
      ...(wantPreview ? { preview: request.preview!.toImage(previews[0]!, w, h) } : {}),
    });
  }
  return latents;
}

/** Σ_k w_k(cell)·prediction_k, the same weights for every channel of a cell. */
export function blendRegions(predictions: readonly Float32Array[], weights: readonly Float32Array[], cells: number): Float32Array {
  const out = new Float32Array(predictions[0]!.length);
  predictions.forEach((prediction, k) => {
    const weight = weights[k]!;
    for (let start = 0; start < out.length; start += cells) {
      for (let j = 0; j < cells; j++) out[start + j]! += weight[j]! * prediction[start + j]!;
    }
  });
  return out;
}

/**
 * Dialog calming: x̂₀ ← x̂₀ + pull·mask·(paper − x̂₀), done on x̂₀ because that
 * is where "flat paper" has a meaning; the maps to and from the prediction are
 * affine, so outside the mask the prediction is unchanged.
 */
export function calmPrediction(
  type: PredictionType,
  prediction: Float32Array,
  input: Float32Array,
  alphaProd: number,
  mask: Float32Array,
  paper: Float32Array,
  pull: number,
  cells: number,
): Float32Array {
  const x0 = predictionToX0(type, prediction, input, alphaProd);
  for (let c = 0; c * cells < x0.length; c++) {
    for (let j = 0; j < cells; j++) {
      const m = pull * mask[j]!;
      if (m > 0) x0[c * cells + j] = x0[c * cells + j]! + m * (paper[c]! - x0[c * cells + j]!);
    }
  }
  return x0ToPrediction(type, x0, input, alphaProd);
}

/** noise = u + g·(c − u), then optionally rescaled toward std(c) (guidance rescale φ). */
export function guide(uncond: Float32Array, cond: Float32Array, guidance: number, rescale: number): Float32Array {
  const out = new Float32Array(cond.length);
  for (let i = 0; i < cond.length; i++) out[i] = uncond[i]! + guidance * (cond[i]! - uncond[i]!);
  if (rescale > 0) {
    const std = (a: Float32Array) => {
      const mean = a.reduce((s, v) => s + v, 0) / a.length;
      return Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, a.length - 1));
    };
    const factor = std(cond) / (std(out) || 1);
    for (let i = 0; i < out.length; i++) out[i] = rescale * out[i]! * factor + (1 - rescale) * out[i]!;
  }
  return out;
}

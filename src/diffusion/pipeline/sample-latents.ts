import * as ort from 'onnxruntime-node';
import { KomaError } from '../../domain/errors.js';
import type { ProgressListener } from '../../domain/progress.js';
import { fillGaussian, mulberry32 } from '../../util/prng.js';
import type { OnnxComponent } from '../onnx/session.js';
import { timestepTensor } from '../onnx/session.js';
import type { Scheduler } from '../schedulers/index.js';

/**
 * The denoising loop: seeded noise, then for every timestep one UNet call on
 * the batch [uncond; cond] (classifier-free guidance), the guided prediction,
 * optional guidance rescale, and one scheduler step. It only orchestrates:
 * the math lives in the scheduler and the UNet.
 */
export interface Conditioning {
  /** encoder_hidden_states for one sample: [tokens, dim] flattened. */
  hidden: Float32Array;
  tokens: number;
  dim: number;
}

export interface SampleRequest {
  unet: OnnxComponent;
  scheduler: Scheduler;
  steps: number;
  width: number;
  height: number;
  seed: number;
  cond: Conditioning;
  /** Omit (or guidance ≤ 1) to run without CFG. */
  uncond?: Conditioning;
  guidance: number;
  /** φ in [0, 1] (Lin et al.): pulls the guided prediction's std back toward the conditional one. */
  guidanceRescale?: number;
  /** Latent channels (4 for SD-family VAEs). */
  channels?: number;
  /** VAE downsampling factor. */
  scaleFactor?: number;
  /** img2img: start from these latents, noised to the first of `timesteps`. */
  initLatents?: Float32Array;
  /** Only these timesteps (img2img starts late in the schedule). */
  timesteps?: number[];
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

export function initialNoise(seed: number, length: number): Float32Array {
  return fillGaussian(new Float32Array(length), mulberry32(seed));
}

export async function sampleLatents(request: SampleRequest): Promise<Float32Array> {
  const { unet, scheduler } = request;
  const channels = request.channels ?? 4;
  const factor = request.scaleFactor ?? 8;
  const h = request.height / factor;
  const w = request.width / factor;
  if (!Number.isInteger(h) || !Number.isInteger(w)) throw new KomaError('invalid-input', `size ${request.width}×${request.height} is not a multiple of ${factor}`);
  const size = channels * h * w;
  scheduler.setTimesteps(request.steps);
  const timesteps = request.timesteps ?? scheduler.timesteps;
  const random = mulberry32(request.seed);
  const noise = fillGaussian(new Float32Array(size), random);
  let latents = request.initLatents
    ? scheduler.addNoise(request.initLatents, noise, timesteps[0]!)
    : noise.map((n) => n * scheduler.initNoiseSigma);

  const cfg = request.uncond !== undefined && request.guidance > 1;
  const batch = cfg ? 2 : 1;
  const { tokens, dim } = request.cond;
  const hidden = new Float32Array(batch * tokens * dim);
  if (cfg) hidden.set(request.uncond!.hidden, 0);
  hidden.set(request.cond.hidden, cfg ? tokens * dim : 0);
  const hiddenTensor = new ort.Tensor('float32', hidden, [batch, tokens, dim]);
  const timestepInfo = unet.inputInfo('timestep');

  for (const [i, t] of timesteps.entries()) {
    if (request.signal?.aborted) throw new KomaError('cancelled', 'rendering was cancelled');
    const input = scheduler.scaleModelInput(latents, t);
    const sample = new Float32Array(batch * size);
    for (let b = 0; b < batch; b++) sample.set(input, b * size);
    const outputs = await unet.run({
      sample: new ort.Tensor('float32', sample, [batch, channels, h, w]),
      timestep: timestepTensor(t, timestepInfo, batch),
      encoder_hidden_states: hiddenTensor,
    });
    const prediction = outputs[unet.outputNames[0]!]!.data as Float32Array;
    const guided = cfg ? guide(prediction.subarray(0, size), prediction.subarray(size, 2 * size), request.guidance, request.guidanceRescale ?? 0) : prediction.slice(0, size);
    const stepNoise = scheduler.stochastic ? fillGaussian(new Float32Array(size), random) : undefined;
    latents = scheduler.step(guided, t, latents, stepNoise).prevSample;
    request.onProgress?.({ step: i + 1, total: timesteps.length, label: 'denoising' });
  }
  return latents;
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

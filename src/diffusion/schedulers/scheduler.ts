import { type NoiseSchedule, noiseSchedule, type SchedulerConfig } from './schedule.js';

/**
 * What every scheduler offers the sampling loop. `t` is the timestep value the
 * UNet sees; the scheduler keeps its own step counter (as diffusers does) and
 * checks that the loop passes the timesteps in order. Noise is always passed in:
 * JavaScript cannot reproduce torch's generator, so Koma seeds its own.
 */
export interface StepResult {
  prevSample: Float32Array;
  /** The scheduler's estimate of the clean latents at this step. */
  predOriginal: Float32Array;
}

export abstract class Scheduler {
  abstract readonly name: string;
  readonly schedule: NoiseSchedule;
  timesteps: number[] = [];
  initNoiseSigma = 1;
  /** Whether `step` needs fresh noise (ancestral and LCM do). */
  readonly stochastic: boolean = false;
  protected stepIndex = 0;

  constructor(readonly config: SchedulerConfig) {
    this.schedule = noiseSchedule(config);
  }

  abstract setTimesteps(steps: number): void;
  abstract step(modelOutput: Float32Array, t: number, sample: Float32Array, noise?: Float32Array): StepResult;
  /** Noisy latents at `t` from clean ones: for img2img / SDEdit. */
  abstract addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array;

  /** What the UNet is fed at `t` (σ-space schedulers scale by 1/√(σ²+1)). */
  scaleModelInput(sample: Float32Array, _t: number): Float32Array {
    return sample;
  }

  /**
   * ᾱ of the UNet's input at `t`: the model sees √ᾱ·x₀ + √(1−ᾱ)·ε. The
   * pipeline needs it to move between the model's output and x̂₀ (regional
   * and dialog blending work on x̂₀). σ-based schedulers override it.
   */
  modelInputAlphaProd(t: number): number {
    return this.alphaProd(t);
  }

  /** The index of `t` in this run: the running counter when it matches, else a lookup. */
  protected indexOf(t: number): number {
    if (this.timesteps[this.stepIndex] === t) return this.stepIndex;
    const found = this.timesteps.indexOf(t);
    if (found < 0) throw new Error(`timestep ${t} is not in this schedule`);
    return found;
  }

  protected resetCounter(): void {
    this.stepIndex = 0;
  }

  protected requireNoise(noise: Float32Array | undefined, length: number): Float32Array {
    if (!noise) throw new Error(`${this.name} needs noise for each step`);
    if (noise.length !== length) throw new Error(`noise has ${noise.length} values, the sample ${length}`);
    return noise;
  }

  protected alphaProd(t: number): number {
    return this.schedule.alphasCumprod[Math.round(t)]!;
  }
}

/** ε from the model's output in VP terms (epsilon or v-prediction). */
export function epsilonAndX0(config: SchedulerConfig, output: number, sample: number, alphaProd: number) {
  const a = Math.sqrt(alphaProd);
  const s = Math.sqrt(1 - alphaProd);
  if (config.predictionType === 'v_prediction') {
    return { eps: a * output + s * sample, x0: a * sample - s * output };
  }
  return { eps: output, x0: (sample - s * output) / a };
}

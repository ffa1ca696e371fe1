import { epsilonAndX0, Scheduler, type StepResult } from './scheduler.js';
import { linspace } from './schedule.js';

/**
 * Latent Consistency Models: a few steps on a 50-step grid; each step jumps to a
 * consistency estimate (boundary-scaled x̂₀) and re-noises it to the next
 * timestep, except the last, which returns the estimate.
 */
export class LcmScheduler extends Scheduler {
  readonly name = 'lcm';
  override readonly stochastic = true;

  setTimesteps(steps: number): void {
    const T = this.config.numTrainTimesteps;
    const original = this.config.originalInferenceSteps;
    const ratio = Math.floor(T / original);
    const grid = Array.from({ length: original }, (_, i) => (i + 1) * ratio - 1).reverse();
    const picks = linspace(0, original, steps + 1)
      .slice(0, steps)
      .map((v) => Math.floor(v));
    this.timesteps = picks.map((i) => grid[i]!);
    this.resetCounter();
  }

  /** c_skip and c_out of the consistency parameterisation, σ_data = 0.5. */
  boundaryScalings(t: number): { cSkip: number; cOut: number } {
    const scaled = t * this.config.timestepScaling;
    const sigmaData2 = 0.25;
    return { cSkip: sigmaData2 / (scaled * scaled + sigmaData2), cOut: scaled / Math.sqrt(scaled * scaled + sigmaData2) };
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, noise?: Float32Array): StepResult {
    const index = this.indexOf(t);
    const last = index === this.timesteps.length - 1;
    const alphaProd = this.alphaProd(t);
    const prevT = this.timesteps[index + 1];
    const alphaPrev = prevT === undefined ? 1 : this.alphaProd(prevT);
    const { cSkip, cOut } = this.boundaryScalings(t);
    const z = last ? undefined : this.requireNoise(noise, sample.length);
    const prevSample = new Float32Array(sample.length);
    const predOriginal = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const { x0 } = epsilonAndX0(this.config, modelOutput[i]!, sample[i]!, alphaProd);
      const denoised = cOut * x0 + cSkip * sample[i]!;
      predOriginal[i] = denoised;
      prevSample[i] = z ? Math.sqrt(alphaPrev) * denoised + Math.sqrt(1 - alphaPrev) * z[i]! : denoised;
    }
    this.stepIndex = index + 1;
    return { prevSample, predOriginal };
  }

  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array {
    const a = this.alphaProd(t);
    return original.map((x, i) => Math.sqrt(a) * x + Math.sqrt(1 - a) * noise[i]!);
  }
}

/** LCM's guidance input: a sinusoidal embedding of 1000·(g − 1), sin half then cos half. */
export function guidanceScaleEmbedding(guidance: number, dim = 256): Float32Array {
  const w = (guidance - 1) * 1000;
  const half = dim / 2;
  const out = new Float32Array(dim);
  const base = Math.log(10000) / (half - 1);
  for (let i = 0; i < half; i++) {
    const freq = Math.exp(-base * i);
    out[i] = Math.sin(w * freq);
    out[half + i] = Math.cos(w * freq);
  }
  return out;
}

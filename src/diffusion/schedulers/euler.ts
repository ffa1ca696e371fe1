import { Scheduler, type StepResult } from './scheduler.js';
import { interpolate, karrasSigmas, sigmaToTimestep, spacedTimesteps } from './schedule.js';

/**
 * Euler (Karras et al.'s sampler on the σ schedule) and its ancestral variant.
 * Latents live in σ space: the start is noise × initNoiseSigma and the UNet is
 * fed x / √(σ² + 1). σ at a fractional timestep is linearly interpolated.
 */
export class EulerScheduler extends Scheduler {
  readonly name: string = 'euler';
  sigmas: number[] = [];

  setTimesteps(steps: number): void {
    let timesteps = spacedTimesteps(this.config, steps, false);
    let sigmas = timesteps.map((t) => interpolate(this.schedule.sigmas, t));
    if (this.config.useKarrasSigmas) {
      sigmas = karrasSigmas(sigmas[0]!, sigmas.at(-1)!, steps);
      timesteps = sigmas.map((s) => sigmaToTimestep(s, this.schedule.sigmas));
    }
    this.timesteps = timesteps;
    this.sigmas = [...sigmas, 0];
    const max = Math.max(...sigmas);
    // "leading" starts below σ_max, so its first latents are scaled by √(σ²+1), not σ.
    this.initNoiseSigma = this.config.timestepSpacing === 'leading' && !this.config.useKarrasSigmas ? Math.sqrt(max * max + 1) : max;
    this.resetCounter();
  }

  /** ᾱ = 1/(σ²+1) at this run's σ for `t` (fractional and Karras timesteps included). */
  override modelInputAlphaProd(t: number): number {
    const sigma = this.sigmas[this.indexOf(t)]!;
    return 1 / (sigma * sigma + 1);
  }

  override scaleModelInput(sample: Float32Array, t: number): Float32Array {
    const sigma = this.sigmas[this.indexOf(t)]!;
    const scale = 1 / Math.sqrt(sigma * sigma + 1);
    return sample.map((v) => v * scale);
  }

  protected predictOriginal(output: number, sample: number, sigma: number): number {
    if (this.config.predictionType === 'v_prediction') {
      return output * (-sigma / Math.sqrt(sigma * sigma + 1)) + sample / (sigma * sigma + 1);
    }
    return sample - sigma * output;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, noise?: Float32Array): StepResult {
    const index = this.indexOf(t);
    const sigma = this.sigmas[index]!;
    const next = this.sigmas[index + 1]!;
    const { down, up } = this.noiseLevels(sigma, next);
    const z = up > 0 ? this.requireNoise(noise, sample.length) : undefined;
    const prevSample = new Float32Array(sample.length);
    const predOriginal = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x0 = this.predictOriginal(modelOutput[i]!, sample[i]!, sigma);
      predOriginal[i] = x0;
      const derivative = (sample[i]! - x0) / sigma;
      prevSample[i] = sample[i]! + derivative * (down - sigma) + (z ? z[i]! * up : 0);
    }
    this.stepIndex = index + 1;
    return { prevSample, predOriginal };
  }

  /** Plain Euler steps straight to the next σ and adds no noise. */
  protected noiseLevels(_sigma: number, next: number): { down: number; up: number } {
    return { down: next, up: 0 };
  }

  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array {
    const sigma = this.sigmas[this.indexOf(t)] ?? interpolate(this.schedule.sigmas, t);
    return original.map((x, i) => x + sigma * noise[i]!);
  }
}

/** Euler ancestral: step down to σ_down, then add fresh noise of σ_up. */
export class EulerAncestralScheduler extends EulerScheduler {
  override readonly name = 'euler-a';
  override readonly stochastic = true;

  protected override noiseLevels(sigma: number, next: number): { down: number; up: number } {
    const up = Math.sqrt((next * next * (sigma * sigma - next * next)) / (sigma * sigma));
    return { down: Math.sqrt(next * next - up * up), up };
  }
}

import { epsilonAndX0, Scheduler, type StepResult } from './scheduler.js';
import { spacedTimesteps } from './schedule.js';

/** DDIM (Song et al.): deterministic at η = 0, in ᾱ (VP) space, no input scaling. */
export class DdimScheduler extends Scheduler {
  readonly name = 'ddim';
  override readonly stochastic = this.config.eta > 0;

  setTimesteps(steps: number): void {
    this.timesteps = spacedTimesteps(this.config, steps, true);
    this.resetCounter();
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, noise?: Float32Array): StepResult {
    const index = this.indexOf(t);
    const prevT = t - Math.floor(this.config.numTrainTimesteps / this.timesteps.length);
    const alphaProd = this.alphaProd(t);
    const final = this.config.setAlphaToOne ? 1 : this.schedule.alphasCumprod[0]!;
    const alphaPrev = prevT >= 0 ? this.alphaProd(prevT) : final;
    const variance = ((1 - alphaPrev) / (1 - alphaProd)) * (1 - alphaProd / alphaPrev);
    const std = this.config.eta * Math.sqrt(variance);
    const z = std > 0 ? this.requireNoise(noise, sample.length) : undefined;
    const prevSample = new Float32Array(sample.length);
    const predOriginal = new Float32Array(sample.length);
    const direction = Math.sqrt(Math.max(0, 1 - alphaPrev - std * std));
    for (let i = 0; i < sample.length; i++) {
      const { eps, x0 } = epsilonAndX0(this.config, modelOutput[i]!, sample[i]!, alphaProd);
      predOriginal[i] = x0;
      prevSample[i] = Math.sqrt(alphaPrev) * x0 + direction * eps + (z ? std * z[i]! : 0);
    }
    this.stepIndex = index + 1;
    return { prevSample, predOriginal };
  }

  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array {
    const a = this.alphaProd(t);
    return original.map((x, i) => Math.sqrt(a) * x + Math.sqrt(1 - a) * noise[i]!);
  }
}

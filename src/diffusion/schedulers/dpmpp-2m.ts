import { Scheduler, type StepResult } from './scheduler.js';
import { interpolate, karrasSigmas, linspace, roundHalfEven, sigmaToTimestep } from './schedule.js';

/**
 * DPM-Solver++ 2M (Lu et al.), midpoint form, in VP space: with α = 1/√(σ²+1),
 * s = σ·α and λ = ln α − ln s, each step uses the last two data predictions.
 * The first step has no history and the last goes to σ = 0, so both are first order.
 */
export class DpmSolverMultistepScheduler extends Scheduler {
  readonly name = 'dpmpp-2m';
  sigmas: number[] = [];
  private history: Float32Array[] = [];

  setTimesteps(steps: number): void {
    const T = this.config.numTrainTimesteps;
    let timesteps: number[];
    if (this.config.timestepSpacing === 'linspace') {
      timesteps = linspace(0, T - 1, steps + 1).map(roundHalfEven).reverse().slice(0, -1);
    } else if (this.config.timestepSpacing === 'leading') {
      const ratio = Math.floor(T / (steps + 1));
      timesteps = Array.from({ length: steps + 1 }, (_, i) => i * ratio + this.config.stepsOffset).reverse().slice(0, -1);
    } else {
      const ratio = T / steps;
      timesteps = Array.from({ length: steps }, (_, i) => roundHalfEven(T - i * ratio) - 1);
    }
    let sigmas = timesteps.map((t) => interpolate(this.schedule.sigmas, t));
    if (this.config.useKarrasSigmas) {
      // Karras spacing spans the whole trained range, σ(999) down to σ(0).
      const table = this.schedule.sigmas;
      sigmas = karrasSigmas(table[table.length - 1]!, table[0]!, steps);
      timesteps = sigmas.map((s) => Math.round(sigmaToTimestep(s, table)));
    }
    this.timesteps = timesteps;
    this.sigmas = [...sigmas, 0];
    this.history = [];
    this.initNoiseSigma = 1;
    this.resetCounter();
  }

  /** ᾱ = 1/(σ²+1) at this run's σ for `t` (fractional and Karras timesteps included). */
  override modelInputAlphaProd(t: number): number {
    const sigma = this.sigmas[this.indexOf(t)]!;
    return 1 / (sigma * sigma + 1);
  }

  private alphaSigma(sigma: number) {
    const alpha = 1 / Math.sqrt(sigma * sigma + 1);
    return { alpha, s: sigma * alpha, lambda: sigma === 0 ? Infinity : Math.log(alpha) - Math.log(sigma * alpha) };
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array): StepResult {
    const index = this.indexOf(t);
    const current = this.alphaSigma(this.sigmas[index]!);
    const next = this.alphaSigma(this.sigmas[index + 1]!);
    const x0 = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      x0[i] =
        this.config.predictionType === 'v_prediction'
          ? current.alpha * sample[i]! - current.s * modelOutput[i]!
          : (sample[i]! - current.s * modelOutput[i]!) / current.alpha;
    }
    const previous = this.history.at(-1);
    this.history = [x0];
    if (previous) this.history.unshift(previous);

    const prevSample = new Float32Array(sample.length);
    const lastStep = index === this.timesteps.length - 1;
    if (this.sigmas[index + 1] === 0) {
      // Final step to σ = 0: the solution is the data prediction itself.
      prevSample.set(x0);
    } else {
      const h = next.lambda - current.lambda;
      const decay = Math.expm1(-h); // e^{-h} − 1
      const ratio = next.s / current.s;
      if (!previous || index === 0 || lastStep) {
        for (let i = 0; i < sample.length; i++) prevSample[i] = ratio * sample[i]! - next.alpha * decay * x0[i]!;
      } else {
        const before = this.alphaSigma(this.sigmas[index - 1]!);
        const r = (current.lambda - before.lambda) / h;
        for (let i = 0; i < sample.length; i++) {
          const d1 = (x0[i]! - previous[i]!) / r;
          prevSample[i] = ratio * sample[i]! - next.alpha * decay * x0[i]! - 0.5 * next.alpha * decay * d1;
        }
      }
    }
    this.stepIndex = index + 1;
    return { prevSample, predOriginal: x0 };
  }

  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array {
    const index = this.timesteps.indexOf(t);
    const { alpha, s } = this.alphaSigma(index >= 0 ? this.sigmas[index]! : interpolate(this.schedule.sigmas, t));
    return original.map((x, i) => alpha * x + s * noise[i]!);
  }
}

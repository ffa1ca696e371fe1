import { z } from 'zod';

/**
 * The noise schedule every scheduler shares (as in diffusers): betas, the
 * cumulative products ᾱ_t, the σ table σ_t = √((1−ᾱ_t)/ᾱ_t), and the three ways
 * to space inference timesteps. Betas and ᾱ are computed in float32, as torch
 * does, so anchors such as σ_max = 14.6146 come out the same.
 */
export const SchedulerConfigSchema = z.object({
  numTrainTimesteps: z.number().int().min(2).default(1000),
  betaStart: z.number().positive().default(0.00085),
  betaEnd: z.number().positive().default(0.012),
  betaSchedule: z.enum(['scaled_linear', 'linear']).default('scaled_linear'),
  predictionType: z.enum(['epsilon', 'v_prediction']).default('epsilon'),
  timestepSpacing: z.enum(['leading', 'trailing', 'linspace']).default('leading'),
  stepsOffset: z.number().int().min(0).default(0),
  setAlphaToOne: z.boolean().default(false),
  useKarrasSigmas: z.boolean().default(false),
  /** DDIM only: 0 is deterministic. */
  eta: z.number().min(0).max(1).default(0),
  /** LCM only. */
  originalInferenceSteps: z.number().int().min(1).default(50),
  timestepScaling: z.number().positive().default(10),
});
export type SchedulerConfig = z.infer<typeof SchedulerConfigSchema>;
export type SchedulerConfigInput = z.input<typeof SchedulerConfigSchema>;

const f32 = Math.fround;

export interface NoiseSchedule {
  betas: Float64Array;
  alphasCumprod: Float64Array;
  /** σ_t for every training timestep t (ascending in t). */
  sigmas: Float64Array;
}

export function noiseSchedule(config: SchedulerConfig): NoiseSchedule {
  const n = config.numTrainTimesteps;
  const betas = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (config.betaSchedule === 'scaled_linear') {
      const lo = f32(Math.sqrt(config.betaStart));
      const hi = f32(Math.sqrt(config.betaEnd));
      const v = f32(lo + f32((hi - lo) * (i / (n - 1))));
      betas[i] = f32(v * v);
    } else {
      betas[i] = f32(config.betaStart + (config.betaEnd - config.betaStart) * (i / (n - 1)));
    }
  }
  const alphasCumprod = new Float64Array(n);
  let product = 1;
  for (let i = 0; i < n; i++) {
    product = f32(product * f32(1 - betas[i]!));
    alphasCumprod[i] = product;
  }
  const sigmas = alphasCumprod.map((a) => Math.sqrt((1 - a) / a));
  return { betas, alphasCumprod, sigmas };
}

/** numpy's round: halves go to the even neighbour (2.5 → 2, 3.5 → 4). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** numpy.linspace(start, stop, count) including both ends. */
export function linspace(start: number, stop: number, count: number): number[] {
  if (count === 1) return [start];
  return Array.from({ length: count }, (_, i) => start + ((stop - start) * i) / (count - 1));
}

/**
 * Inference timesteps, highest first. `points` is usually the step count; DPM-Solver
 * asks for one more and drops the last.
 */
export function spacedTimesteps(config: SchedulerConfig, points: number, round: boolean): number[] {
  const T = config.numTrainTimesteps;
  let steps: number[];
  switch (config.timestepSpacing) {
    case 'linspace':
      steps = linspace(0, T - 1, points).reverse();
      return round ? steps.map(roundHalfEven) : steps;
    case 'leading': {
      const ratio = Math.floor(T / points);
      return Array.from({ length: points }, (_, i) => i * ratio + config.stepsOffset).reverse();
    }
    case 'trailing': {
      const ratio = T / points;
      steps = [];
      for (let t = T; t > 0 && steps.length < points; t -= ratio) steps.push(roundHalfEven(t) - 1);
      return steps;
    }
  }
}

/** numpy.interp over the integer table: σ at a possibly fractional timestep. */
export function interpolate(table: ArrayLike<number>, t: number): number {
  if (t <= 0) return table[0]!;
  if (t >= table.length - 1) return table[table.length - 1]!;
  const lo = Math.floor(t);
  const w = t - lo;
  return table[lo]! * (1 - w) + table[lo + 1]! * w;
}

/** Karras et al. (2022) σ spacing with ρ = 7 between σ_max and σ_min. */
export function karrasSigmas(sigmaMax: number, sigmaMin: number, steps: number, rho = 7): number[] {
  const maxInv = sigmaMax ** (1 / rho);
  const minInv = sigmaMin ** (1 / rho);
  return linspace(0, 1, steps).map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
}

/** The (fractional) timestep whose σ is `sigma`, by interpolation in log σ (diffusers' _sigma_to_t). */
export function sigmaToTimestep(sigma: number, sigmas: ArrayLike<number>): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  const n = sigmas.length;
  let low = 0;
  for (let i = 0; i < n; i++) if (logSigma - Math.log(sigmas[i]!) >= 0) low = i;
  low = Math.min(low, n - 2);
  const lo = Math.log(sigmas[low]!);
  const hi = Math.log(sigmas[low + 1]!);
  const w = Math.min(1, Math.max(0, (lo - logSigma) / (lo - hi)));
  return (1 - w) * low + w * (low + 1);
}

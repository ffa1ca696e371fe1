import { describe, expect, it } from 'vitest';
import {
  createScheduler,
  DpmSolverMultistepScheduler,
  EulerScheduler,
  guidanceScaleEmbedding,
  noiseSchedule,
  type Scheduler,
  SchedulerConfigSchema,
  type SchedulerName,
} from '../src/diffusion/schedulers/index.js';
import { timestepsForStrength } from '../src/diffusion/schedulers/index.js';
import { fillGaussian, mulberry32 } from '../src/util/prng.js';

/** Anchors from the reference note (numpy over the diffusers formulas): ~1e-4 relative. */
const close = (actual: number, expected: number, rel = 2e-4) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.abs(expected) * rel + 1e-6);

describe('noise schedule', () => {
  it('matches the scaled-linear anchors', () => {
    const s = noiseSchedule(SchedulerConfigSchema.parse({}));
    close(s.alphasCumprod[0]!, 0.99915);
    close(s.alphasCumprod[999]!, 0.0046601);
    close(s.sigmas[999]!, 14.6146);
    close(s.sigmas[0]!, 0.02917);
  });
});

describe('timesteps and sigmas', () => {
  it('DDIM, leading, 50 steps: 981, 961, …, 21, 1', () => {
    const ddim = createScheduler('ddim', { stepsOffset: 1 });
    ddim.setTimesteps(50);
    expect(ddim.timesteps.slice(0, 2)).toEqual([981, 961]);
    expect(ddim.timesteps.slice(-2)).toEqual([21, 1]);
    expect(ddim.timesteps).toHaveLength(50);
  });

  it('Euler, leading, 30 steps (SDXL): 958, 925, 892, …, 34, 1 with σ and init noise σ 11.5203', () => {
    const euler = createScheduler('euler', { stepsOffset: 1 }) as EulerScheduler;
    euler.setTimesteps(30);
    expect(euler.timesteps.slice(0, 3)).toEqual([958, 925, 892]);
    expect(euler.timesteps.slice(-2)).toEqual([34, 1]);
    close(euler.sigmas[0]!, 11.4769);
    close(euler.sigmas[1]!, 9.5436);
    close(euler.sigmas[2]!, 8.0043);
    close(euler.sigmas[29]!, 0.0413, 2e-3);
    expect(euler.sigmas[30]).toBe(0);
    close(euler.initNoiseSigma, 11.5203);
  });

  it('Euler, linspace, 20 steps: fractional timesteps, init noise σ = σ_max', () => {
    const euler = createScheduler('euler', { timestepSpacing: 'linspace' }) as EulerScheduler;
    euler.setTimesteps(20);
    close(euler.timesteps[0]!, 999);
    close(euler.timesteps[1]!, 946.421);
    close(euler.timesteps[2]!, 893.842);
    close(euler.sigmas[0]!, 14.6146);
    close(euler.sigmas[1]!, 10.7469);
    close(euler.sigmas[2]!, 8.0815);
    close(euler.sigmas[19]!, 0.0292, 3e-3);
    close(euler.initNoiseSigma, 14.6146);
  });

  it('trailing, 4 steps (SD-Turbo): 999, 749, 499, 249', () => {
    const euler = createScheduler('euler', { timestepSpacing: 'trailing' }) as EulerScheduler;
    euler.setTimesteps(4);
    expect(euler.timesteps).toEqual([999, 749, 499, 249]);
    [14.6146, 4.0817, 1.6129, 0.6932].forEach((s, i) => close(euler.sigmas[i]!, s));
  });

  it('Karras (ρ = 7), 25 steps', () => {
    const dpm = createScheduler('dpmpp-2m-karras') as DpmSolverMultistepScheduler;
    dpm.setTimesteps(25);
    expect(dpm.timesteps.slice(0, 4)).toEqual([999, 970, 938, 905]);
    expect(dpm.timesteps.slice(-2)).toEqual([1, 0]);
    close(dpm.sigmas[0]!, 14.6146);
    close(dpm.sigmas[1]!, 12.283);
    close(dpm.sigmas[2]!, 10.2778);
    close(dpm.sigmas[23]!, 0.0437, 2e-3);
    close(dpm.sigmas[24]!, 0.0292, 3e-3);
    expect(dpm.sigmas[25]).toBe(0);
  });

  it('LCM, 4 steps: 999, 759, 499, 259', () => {
    const lcm = createScheduler('lcm');
    lcm.setTimesteps(4);
    expect(lcm.timesteps).toEqual([999, 759, 499, 259]);
  });

  it('img2img strength keeps the last share of the schedule', () => {
    const ddim = createScheduler('ddim', { stepsOffset: 1 });
    ddim.setTimesteps(50);
    expect(timestepsForStrength(ddim, 0.3)).toEqual(ddim.timesteps.slice(35));
    expect(timestepsForStrength(ddim, 1)).toEqual(ddim.timesteps);
  });
});

/**
 * Convergence: an oracle model that knows the clean image x0 answers with the
 * exact ε (or v) for the current noisy sample. Every scheduler must then land on
 * x0 from pure noise.
 */
function oracleOutput(scheduler: Scheduler, t: number, sample: Float32Array, x0: Float32Array, v: boolean): Float32Array {
  // VP view of the current sample: x = √ᾱ·x0 + √(1−ᾱ)·ε, with ᾱ from the σ the scheduler uses.
  let sigma: number;
  let scaledSample = sample;
  if (scheduler instanceof EulerScheduler) {
    sigma = scheduler.sigmas[scheduler.timesteps.indexOf(t)]!;
    scaledSample = scheduler.scaleModelInput(sample, t); // x / √(σ²+1) is VP scale
  } else if (scheduler instanceof DpmSolverMultistepScheduler) {
    sigma = scheduler.sigmas[scheduler.timesteps.indexOf(t)]!;
  } else {
    const a = scheduler.schedule.alphasCumprod[t]!;
    sigma = Math.sqrt((1 - a) / a);
  }
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  const s = sigma * alpha;
  return scaledSample.map((x, i) => {
    const eps = (x - alpha * x0[i]!) / s;
    return v ? alpha * eps - s * x0[i]! : eps;
  });
}

function sampleWith(name: SchedulerName, steps: number, v: boolean, config = {}): { result: Float32Array; x0: Float32Array } {
  const scheduler = createScheduler(name, { predictionType: v ? 'v_prediction' : 'epsilon', ...config });
  scheduler.setTimesteps(steps);
  const random = mulberry32(99);
  const x0 = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i / 5) * 0.8);
  let sample: Float32Array = fillGaussian(new Float32Array(64), random).map((n) => n * scheduler.initNoiseSigma);
  for (const t of scheduler.timesteps) {
    const output = oracleOutput(scheduler, t, sample, x0, v);
    const noise = fillGaussian(new Float32Array(64), random);
    sample = scheduler.step(output, t, sample, noise).prevSample;
  }
  return { result: sample, x0 };
}

describe('convergence with an exact model', () => {
  const cases: [SchedulerName, number, object][] = [
    ['ddim', 20, { stepsOffset: 1, setAlphaToOne: true }],
    ['euler', 25, { timestepSpacing: 'linspace' }],
    ['euler-a', 25, { timestepSpacing: 'linspace' }],
    ['dpmpp-2m', 20, { timestepSpacing: 'linspace' }],
    ['dpmpp-2m-karras', 20, {}],
    ['lcm', 4, {}],
  ];
  for (const v of [false, true]) {
    it.each(cases)(`%s (${v ? 'v' : 'ε'}-prediction) lands on the clean image`, (name, steps, config) => {
      const { result, x0 } = sampleWith(name, steps, v, config);
      const maxError = Math.max(...result.map((r, i) => Math.abs(r - x0[i]!)));
      expect(maxError).toBeLessThan(name === 'ddim' ? 0.05 : 0.02);
    });
  }

  it('DDIM with η = 0 is deterministic and ignores noise', () => {
    const a = sampleWith('ddim', 10, false, { stepsOffset: 1 }).result;
    const b = sampleWith('ddim', 10, false, { stepsOffset: 1 }).result;
    expect([...a]).toEqual([...b]);
  });

  it('stochastic schedulers refuse to step without noise', () => {
    const ancestral = createScheduler('euler-a');
    ancestral.setTimesteps(5);
    expect(() => ancestral.step(new Float32Array(4), ancestral.timesteps[0]!, new Float32Array(4))).toThrowError(/needs noise/);
  });
});

describe('LCM guidance embedding', () => {
  it('is sin then cos of 1000·(g − 1) times decaying frequencies', () => {
    const e = guidanceScaleEmbedding(8.5, 256);
    expect(e).toHaveLength(256);
    close(e[0]!, Math.sin(7500));
    close(e[128]!, Math.cos(7500));
    close(e[127]!, Math.sin(7500 * Math.exp(-Math.log(10000))));
    expect(guidanceScaleEmbedding(1).slice(0, 128).every((x) => x === 0)).toBe(true);
  });
});

/**
 * Gaussian data N(μ, c²) has an exact denoiser, x̂₀(x, σ) = μ + c²/(c²+σ²)·(x − μ),
 * and its probability-flow ODE an exact solution: x(σ) − μ shrinks by
 * √((c²+σ²)/(c²+σ_T²)). Deterministic samplers must land on that endpoint, and
 * the second-order DPM-Solver++ must get much closer than Euler in few steps.
 */
describe('probability-flow ODE on Gaussian data', () => {
  const mu = 0.7;
  const c = 0.5;

  function solve(name: SchedulerName, steps: number, config: object): number {
    const scheduler = createScheduler(name, config);
    scheduler.setTimesteps(steps);
    const sigmaOf = (t: number) => {
      if (scheduler instanceof EulerScheduler || scheduler instanceof DpmSolverMultistepScheduler) return scheduler.sigmas[scheduler.timesteps.indexOf(t)]!;
      const a = scheduler.schedule.alphasCumprod[t]!;
      return Math.sqrt((1 - a) / a);
    };
    const xT = 1.9; // the starting point in σ space
    const sigmaT = sigmaOf(scheduler.timesteps[0]!);
    // Each scheduler's own representation of the start: σ space for Euler, VP space otherwise.
    let sample: Float32Array = Float32Array.of(scheduler instanceof EulerScheduler ? xT : xT / Math.sqrt(sigmaT * sigmaT + 1));
    for (const t of scheduler.timesteps) {
      const sigma = sigmaOf(t);
      const u = scheduler instanceof EulerScheduler ? scheduler.scaleModelInput(sample, t)[0]! : sample[0]!;
      const x = u * Math.sqrt(sigma * sigma + 1);
      const x0 = mu + ((c * c) / (c * c + sigma * sigma)) * (x - mu);
      sample = scheduler.step(Float32Array.of((x - x0) / sigma), t, sample).prevSample;
    }
    const exact = mu + (xT - mu) * (c / Math.sqrt(c * c + sigmaT * sigmaT));
    return Math.abs(sample[0]! - exact);
  }

  it('every deterministic scheduler reaches the exact endpoint', () => {
    expect(solve('euler', 50, { timestepSpacing: 'linspace' })).toBeLessThan(0.02);
    expect(solve('ddim', 50, { stepsOffset: 1, setAlphaToOne: true })).toBeLessThan(0.02);
    // Plain spacing ends with one first-order jump from σ(40) to 0, which dominates the error.
    expect(solve('dpmpp-2m', 25, { timestepSpacing: 'linspace' })).toBeLessThan(0.01);
    expect(solve('dpmpp-2m-karras', 25, {})).toBeLessThan(0.001);
  });

  it('DPM-Solver++ 2M is far more accurate than Euler at 10 steps on the same Karras σs', () => {
    const euler = solve('euler', 10, { timestepSpacing: 'linspace', useKarrasSigmas: true });
    const dpm = solve('dpmpp-2m-karras', 10, {});
    if (process.env.DEBUG_SCHED) console.log({ euler, dpm });
    expect(dpm).toBeLessThan(euler / 3);
  });
});

describe('LCM boundary condition', () => {
  it('crosses over at σ_data: c_skip = ½ and c_out = 1/√2 when 10·t = 0.5', () => {
    const lcm = createScheduler('lcm') as import('../src/diffusion/schedulers/lcm.js').LcmScheduler;
    const half = lcm.boundaryScalings(0.05);
    close(half.cSkip, 0.5);
    close(half.cOut, Math.SQRT1_2);
    expect(lcm.boundaryScalings(0)).toEqual({ cSkip: 1, cOut: 0 });
  });

  it('re-noises the estimate to the next timestep like addNoise does', () => {
    const lcm = createScheduler('lcm');
    lcm.setTimesteps(4);
    const x0 = Float32Array.from({ length: 8 }, (_, i) => i / 8);
    const noise = Float32Array.from({ length: 8 }, (_, i) => (i % 3) - 1);
    const t = lcm.timesteps[0]!;
    const a = lcm.schedule.alphasCumprod[t]!;
    const sample = x0.map((x, i) => Math.sqrt(a) * x + Math.sqrt(1 - a) * noise[i]!);
    const eps = noise;
    const z = Float32Array.from({ length: 8 }, (_, i) => Math.cos(i));
    const { prevSample } = lcm.step(eps, t, sample, z);
    const expected = lcm.addNoise(x0, z, lcm.timesteps[1]!);
    prevSample.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
  });
});

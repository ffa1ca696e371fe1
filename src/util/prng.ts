/**
 * Seeded randomness. JavaScript cannot reproduce torch's generator, so Koma
 * defines its own: mulberry32 for uniforms (small, fast, 32-bit state) and the
 * Box–Muller transform for Gaussians. The same seed gives the same numbers on
 * every machine, which is what "same seed, same panel" needs.
 */
export type Uniform = () => number;

export function mulberry32(seed: number): Uniform {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills `out` with standard normal samples (mean 0, variance 1). */
export function fillGaussian(out: Float32Array, random: Uniform): Float32Array {
  for (let i = 0; i < out.length; i += 2) {
    // 1 - u keeps the logarithm's argument in (0, 1].
    const u1 = 1 - random();
    const u2 = random();
    const radius = Math.sqrt(-2 * Math.log(u1));
    out[i] = radius * Math.cos(2 * Math.PI * u2);
    if (i + 1 < out.length) out[i + 1] = radius * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

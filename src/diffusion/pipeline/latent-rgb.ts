import { KomaError } from '../../domain/errors.js';
import type { PreviewImage } from '../../domain/progress.js';

/**
 * A cheap linear map between the VAE's latent space and RGB: rgb = Σ_k z_k·F[k] + b
 * (values in −1..1). Good enough for live previews without running the VAE,
 * and — inverted — for the latent of flat paper when a model has no VAE encoder.
 * The per-family factors are the widely used least-squares fits of each VAE.
 */
export interface LatentRgbProjection {
  /** One row per latent channel, three columns (R, G, B). */
  factors: number[][];
  bias: number[];
}

export const SD_LATENT_RGB: LatentRgbProjection = {
  factors: [
    [0.3512, 0.2297, 0.3227],
    [0.325, 0.4974, 0.235],
    [-0.2829, 0.1762, 0.2721],
    [-0.212, -0.2616, -0.7177],
  ],
  bias: [0, 0, 0],
};

export const SDXL_LATENT_RGB: LatentRgbProjection = {
  factors: [
    [0.3651, 0.4232, 0.4341],
    [-0.2533, -0.0042, 0.1068],
    [0.1076, 0.1111, -0.0362],
    [-0.3165, -0.2492, -0.2188],
  ],
  bias: [0.1084, -0.0175, -0.0011],
};

/** Latents [C, h, w] (the model's scaled latent space) → an RGB preview at latent resolution. */
export function latentsToPreview(latents: Float32Array, width: number, height: number, projection: LatentRgbProjection): PreviewImage {
  const cells = width * height;
  const rgb = new Uint8Array(cells * 3);
  for (let i = 0; i < cells; i++) {
    for (let c = 0; c < 3; c++) {
      let v = projection.bias[c]!;
      projection.factors.forEach((row, k) => (v += latents[k * cells + i]! * row[c]!));
      rgb[i * 3 + c] = Math.round(Math.min(1, Math.max(-1, v)) * 127.5 + 127.5);
    }
  }
  return { width, height, rgb };
}

/**
 * The smallest latent z with projection(z) = rgb (an RGB colour in 0..255):
 * z = F·(FᵀF)⁻¹·(rgb − b). The system has more channels than colours, so the
 * minimum-norm solution is the one nearest the latents' usual range.
 */
export function latentForColour(rgb: readonly [number, number, number], projection: LatentRgbProjection): Float32Array {
  const target = rgb.map((v, c) => v / 127.5 - 1 - projection.bias[c]!);
  const F = projection.factors;
  const gram = [0, 1, 2].map((a) => [0, 1, 2].map((b) => F.reduce((s, row) => s + row[a]! * row[b]!, 0)));
  const solved = multiply(invert3(gram), target);
  return Float32Array.from(F, (row) => row[0]! * solved[0]! + row[1]! * solved[1]! + row[2]! * solved[2]!);
}

function multiply(m: number[][], v: number[]): number[] {
  return m.map((row) => row.reduce((s, x, i) => s + x * v[i]!, 0));
}

function invert3(m: number[][]): number[][] {
  const [[a, b, c], [d, e, f], [g, h, i]] = m as [[number, number, number], [number, number, number], [number, number, number]];
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  if (Math.abs(det) < 1e-12) throw new KomaError('model', 'the manifest\'s latentRgb factors are degenerate (their three colour columns are not independent)');
  return [
    [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
    [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
  ];
}

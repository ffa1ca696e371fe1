import { z } from 'zod';

/**
 * A box is `[x1, y1, x2, y2]` in 0..1 relative to its panel, origin top-left
 * (DiffSensei's convention). Every box that enters Koma goes through `BoxSchema`.
 */
export type Box = readonly [number, number, number, number];

/** Smallest edge a box may have: below this it covers no latent cell at any size we render. */
export const MIN_BOX_EDGE = 0.01;

const fmt = (v: number) => (Number.isFinite(v) ? String(Number(v.toFixed(4))) : String(v));

export function formatBoxNumbers(box: readonly number[]): string {
  return `[${box.map(fmt).join(', ')}]`;
}

/** Returns why a box is invalid, naming the box, or null when it is fine. */
export function boxProblem(box: readonly number[]): string | null {
  const shown = formatBoxNumbers(box);
  if (box.length !== 4) return `box ${shown} must have exactly 4 numbers [x1, y1, x2, y2]`;
  const [x1, y1, x2, y2] = box as [number, number, number, number];
  const names = ['x1', 'y1', 'x2', 'y2'] as const;
  for (let i = 0; i < 4; i++) {
    const v = box[i]!;
    if (!Number.isFinite(v)) return `box ${shown}: ${names[i]} is not a finite number`;
    if (v < 0 || v > 1) return `box ${shown}: ${names[i]} = ${fmt(v)} is outside 0..1`;
  }
  if (x2 < x1) return `box ${shown} is inverted: x2 (${fmt(x2)}) is left of x1 (${fmt(x1)})`;
  if (y2 < y1) return `box ${shown} is inverted: y2 (${fmt(y2)}) is above y1 (${fmt(y1)})`;
  if (x2 - x1 < MIN_BOX_EDGE || y2 - y1 < MIN_BOX_EDGE) {
    return `box ${shown} has (almost) zero area: each side must be at least ${MIN_BOX_EDGE}`;
  }
  return null;
}

export const BoxSchema = z
  .array(z.number({ error: 'box values must be numbers' }))
  .superRefine((box, ctx) => {
    const problem = boxProblem(box);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((box) => [box[0]!, box[1]!, box[2]!, box[3]!] as Box);

export const boxWidth = (b: Box) => b[2] - b[0];
export const boxHeight = (b: Box) => b[3] - b[1];
export const boxArea = (b: Box) => boxWidth(b) * boxHeight(b);

/** Area of the intersection of two boxes (0 when they do not overlap). */
export function boxIntersectionArea(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  return w > 0 && h > 0 ? w * h : 0;
}

/** A box in pixels for a panel of `width`×`height`, rounded outward to whole pixels. */
export function boxToPixels(b: Box, width: number, height: number) {
  // The epsilon keeps 0.55 × 100 = 55.000000000000007 from growing a pixel.
  const eps = 1e-9;
  const left = Math.floor(b[0] * width + eps);
  const top = Math.floor(b[1] * height + eps);
  const right = Math.ceil(b[2] * width - eps);
  const bottom = Math.ceil(b[3] * height - eps);
  return { left, top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) };
}

import type { Rect } from '../types.js';
import type { SlicingTree } from './slicing-tree.js';

/**
 * How good a solved layout is (lower is better). Terms, each explained:
 * - distortion: panels should keep the aspect they asked for (|log ratio|);
 * - small panels: a panel under ~6 % of the frame's area, or thinner than ~14 %
 *   of its width or height, is hard to read;
 * - tiers: manga pages read best in 3–4 tiers (2–3 for few panels);
 * - emphasis: a "big" panel should get its multiple of the average area.
 */
export interface ScoreInput {
  tree: SlicingTree;
  rects: Rect[];
  aspects: number[];
  emphasis: number[];
  frame: Rect;
}

export function preferredTiers(n: number): [number, number] {
  if (n <= 2) return [1, 2];
  if (n <= 4) return [2, 3];
  return [3, 4];
}

export function tierCount(tree: SlicingTree): number {
  return tree.kind === 'stack' ? tree.children.length : 1;
}

export function scoreLayout({ tree, rects, aspects, emphasis, frame }: ScoreInput): number {
  const n = rects.length;
  const frameArea = frame.width * frame.height;
  let distortion = 0;
  let small = 0;
  rects.forEach((r, i) => {
    distortion += Math.abs(Math.log(r.width / r.height / aspects[i]!));
    const share = (r.width * r.height) / frameArea;
    small += Math.max(0, 0.06 - share) * 20;
    small += Math.max(0, 0.14 - r.width / frame.width) * 10 + Math.max(0, 0.14 - r.height / frame.height) * 10;
  });
  const [lo, hi] = preferredTiers(n);
  const tiers = tierCount(tree);
  const tierPenalty = tiers < lo ? (lo - tiers) * 0.6 : tiers > hi ? (tiers - hi) * 0.6 : 0;
  const totalEmphasis = emphasis.reduce((s, e) => s + e, 0);
  let emphasisPenalty = 0;
  rects.forEach((r, i) => {
    const wanted = emphasis[i]! / totalEmphasis;
    const got = (r.width * r.height) / frameArea;
    if (emphasis[i]! > 1) emphasisPenalty += Math.max(0, Math.log(wanted / got)) * 2;
  });
  return distortion / n + small + tierPenalty + emphasisPenalty;
}

import type { ReadingDirection } from '../../domain/model.js';
import type { Rect } from '../types.js';

/**
 * Reading order recovered from geometry alone, the way a reader's eye goes
 * (after Kovanen & Aizawa): cut the page where no panel crosses, top part
 * first; within a tier, cut vertically and read the right part first for
 * manga (rtl) or the left part first for western pages (ltr).
 */
export function readingOrderFromRects(rects: readonly Rect[], direction: ReadingDirection): number[] {
  const order = (indices: number[]): number[] => {
    if (indices.length <= 1) return indices;
    const horizontal = cut(indices, rects, 'y');
    if (horizontal) return [...order(horizontal[0]), ...order(horizontal[1])];
    const vertical = cut(indices, rects, 'x');
    if (vertical) {
      const [left, right] = vertical;
      return direction === 'rtl' ? [...order(right), ...order(left)] : [...order(left), ...order(right)];
    }
    // No clean cut (should not happen for slicing layouts): top to bottom, then by side.
    return [...indices].sort((a, b) => rects[a]!.y - rects[b]!.y || (direction === 'rtl' ? rects[b]!.x - rects[a]!.x : rects[a]!.x - rects[b]!.x));
  };
  return order(rects.map((_, i) => i));
}

/** The first clean cut along an axis: panels entirely before it and entirely after it. */
function cut(indices: number[], rects: readonly Rect[], axis: 'x' | 'y'): [number[], number[]] | null {
  const size = axis === 'x' ? 'width' : 'height';
  const edges = [...new Set(indices.map((i) => rects[i]![axis] + rects[i]![size]))].sort((a, b) => a - b);
  for (const edge of edges) {
    const before = indices.filter((i) => rects[i]![axis] + rects[i]![size] <= edge);
    const after = indices.filter((i) => rects[i]![axis] >= edge);
    if (before.length > 0 && after.length > 0 && before.length + after.length === indices.length) return [before, after];
  }
  return null;
}

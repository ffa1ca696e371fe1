import type { ReadingDirection } from '../../domain/model.js';
import type { PageGeometry, Rect } from '../types.js';
import type { SlicingTree } from './slicing-tree.js';

/**
 * Solving a slicing tree against the frame. Every subtree's width is linear in
 * its height, W = a·H + b (gutters add to b): a row sums its children's a and b,
 * a stack combines them through the inverse. Rectangles are then handed out top
 * down: each row splits its width, each stack its height, in proportion to what
 * the children want at that size, in whole pixels, so gutters stay exact.
 */

interface Linear {
  a: number;
  b: number;
}

function gutterFor(tree: SlicingTree, isRoot: boolean, g: PageGeometry): number {
  // Stacks at the top are tiers: their wider gap tells the eye where a tier ends.
  return tree.kind === 'stack' && isRoot ? g.tierGutterPx : g.gutterPx;
}

function natural(tree: SlicingTree, aspects: number[], g: PageGeometry, isRoot: boolean): Linear {
  if (tree.kind === 'panel') return { a: aspects[tree.index]!, b: 0 };
  const parts = tree.children.map((c) => natural(c, aspects, g, false));
  const gaps = gutterFor(tree, isRoot, g) * (parts.length - 1);
  if (tree.kind === 'row') {
    return { a: parts.reduce((s, p) => s + p.a, 0), b: parts.reduce((s, p) => s + p.b, 0) + gaps };
  }
  const inverseSum = parts.reduce((s, p) => s + 1 / p.a, 0);
  const offset = parts.reduce((s, p) => s + p.b / p.a, 0);
  return { a: 1 / inverseSum, b: (offset - gaps) / inverseSum };
}

/** Splits `total` whole pixels in proportion to `weights` (largest remainder), each at least 1. */
export function distribute(total: number, weights: number[]): number[] {
  const n = weights.length;
  // A subtree squeezed below one pixel per panel still gets 1 px each; the
  // scorer rejects such layouts, the solver just must not loop forever on them.
  const budget = Math.max(total, n);
  const safe = weights.map((w) => (Number.isFinite(w) && w > 0 ? w : 1e-6));
  const sum = safe.reduce((s, w) => s + w, 0);
  const exact = safe.map((w) => (w / sum) * budget);
  const sizes = exact.map((e) => Math.max(1, Math.floor(e)));
  let surplus = sizes.reduce((s, v) => s + v, 0) - budget;
  // Flooring can only fall short, except where the 1 px minimum lifted a size.
  for (let i = n - 1; surplus > 0 && i >= 0; i--) {
    const take = Math.min(surplus, sizes[i]! - 1);
    sizes[i]! -= take;
    surplus -= take;
  }
  const order = exact.map((e, i) => ({ i, frac: e - Math.floor(e) })).sort((x, y) => y.frac - x.frac || x.i - y.i);
  for (let k = 0; surplus < 0; k = (k + 1) % n, surplus++) sizes[order[k]!.i]! += 1;
  return sizes;
}

function assign(tree: SlicingTree, rect: Rect, aspects: number[], g: PageGeometry, isRoot: boolean, out: Rect[]): void {
  if (tree.kind === 'panel') {
    out[tree.index] = rect;
    return;
  }
  const gap = gutterFor(tree, isRoot, g);
  const n = tree.children.length;
  const wants = tree.children.map((c) => natural(c, aspects, g, false));
  if (tree.kind === 'row') {
    const widths = distribute(rect.width - gap * (n - 1), wants.map((w) => w.a * rect.height + w.b));
    let x = rect.x;
    tree.children.forEach((child, i) => {
      assign(child, { x, y: rect.y, width: widths[i]!, height: rect.height }, aspects, g, false, out);
      x += widths[i]! + gap;
    });
  } else {
    const heights = distribute(rect.height - gap * (n - 1), wants.map((w) => (rect.width - w.b) / w.a));
    let y = rect.y;
    tree.children.forEach((child, i) => {
      assign(child, { x: rect.x, y, width: rect.width, height: heights[i]! }, aspects, g, false, out);
      y += heights[i]! + gap;
    });
  }
}

/**
 * Panel rectangles for a tree, in page pixels, indexed like the panels. For
 * right-to-left reading the page is mirrored, so panel 0 sits top right.
 */
export function solveTree(tree: SlicingTree, aspects: number[], geometry: PageGeometry, direction: ReadingDirection): Rect[] {
  const rects: Rect[] = [];
  assign(tree, geometry.frame, aspects, geometry, true, rects);
  if (direction === 'rtl') {
    const { x, width } = geometry.frame;
    return rects.map((r) => ({ ...r, x: x + width - (r.x - x) - r.width }));
  }
  return rects;
}

/** The tree's natural aspect (W/H) at the frame's height: how well it fits before any stretching. */
export function naturalAspect(tree: SlicingTree, aspects: number[], geometry: PageGeometry): number {
  const { a, b } = natural(tree, aspects, geometry, true);
  return (a * geometry.frame.height + b) / geometry.frame.height;
}

import sharp from 'sharp';
import { KomaError } from '../../domain/errors.js';
import type { ReadingDirection } from '../../domain/model.js';
import type { PageGeometry, PageLayout, Rect } from '../types.js';
import { readingOrderFromRects } from './reading-order.js';
import { scoreLayout } from './score.js';
import { type SlicingTree, enumerateTrees, treeNotation } from './slicing-tree.js';
import { solveTree } from './solve.js';
import { templateTree } from './templates.js';

export { digitalGeometry, pageGeometry, printB5Geometry } from './geometry.js';
export { readingOrderFromRects } from './reading-order.js';
export { enumerateTrees, treeNotation, type SlicingTree } from './slicing-tree.js';
export { TEMPLATES, templateTree } from './templates.js';

export interface LayoutRequest {
  panelCount: number;
  /** Wanted width/height per panel (default 1.5: a landscape panel). */
  aspects?: number[];
  /** Wanted relative area per panel (default 1). */
  emphasis?: number[];
  /** A template name; omitted or `auto` solves every slicing tree and keeps the best. */
  template?: string;
  direction: ReadingDirection;
  geometry: PageGeometry;
}

const MAX_AUTO_PANELS = 8;

export function layoutPage(request: LayoutRequest): PageLayout {
  const n = request.panelCount;
  if (!Number.isInteger(n) || n < 1 || n > MAX_AUTO_PANELS) {
    throw new KomaError('invalid-input', `a page holds 1 to ${MAX_AUTO_PANELS} panels, not ${n}`);
  }
  const aspects = Array.from({ length: n }, (_, i) => clampAspect(request.aspects?.[i] ?? 1.5));
  const emphasis = Array.from({ length: n }, (_, i) => request.emphasis?.[i] ?? 1);
  const frame = request.geometry.frame;

  let best: { tree: SlicingTree; rects: Rect[]; score: number } | undefined;
  const fixedTemplate = request.template && request.template !== 'auto' ? request.template : undefined;
  const candidates = fixedTemplate ? [templateTree(fixedTemplate, n)] : enumerateTrees(n);
  const inputOrder = Array.from({ length: n }, (_, i) => i).join(',');
  for (const tree of candidates) {
    const rects = solveTree(tree, aspects, request.geometry, request.direction);
    // A layout whose panels a reader would take in another order is misleading:
    // e.g. two columns whose edges line up read tier by tier. Rule such trees out.
    const ambiguous = readingOrderFromRects(rects, request.direction).join(',') !== inputOrder;
    if (ambiguous && !fixedTemplate) continue;
    const score = scoreLayout({ tree, rects, aspects, emphasis, frame });
    // Strictly better only: ties keep the earlier tree, so results are deterministic.
    if (!best || score < best.score - 1e-9) best = { tree, rects, score };
  }
  const chosen = best!;
  return {
    geometry: request.geometry,
    panels: chosen.rects.map((rect, index) => ({ index, rect })),
    readingOrder: readingOrderFromRects(chosen.rects, request.direction),
    direction: request.direction,
    name: fixedTemplate ?? `auto:${treeNotation(chosen.tree)}`,
  };
}

function clampAspect(aspect: number): number {
  return Number.isFinite(aspect) && aspect > 0 ? Math.min(8, Math.max(1 / 8, aspect)) : 1.5;
}

/**
 * The size to render a panel at for its slot: the slot's aspect, the long edge
 * at most `maxEdge`, both edges multiples of `multiple` (diffusion UNets need 8,
 * SDXL-class 32), at least 64.
 */
export function panelTargetSize(rect: Rect, options: { multiple?: number; maxEdge?: number } = {}) {
  const multiple = options.multiple ?? 32;
  const maxEdge = options.maxEdge ?? 1024;
  const scale = Math.min(1, maxEdge / Math.max(rect.width, rect.height));
  const round = (v: number) => Math.max(64, Math.round((v * scale) / multiple) * multiple);
  return { width: Math.min(round(rect.width), Math.floor(maxEdge / multiple) * multiple), height: Math.min(round(rect.height), Math.floor(maxEdge / multiple) * multiple) };
}

/** How far an image may be cropped to fill its slot before it is letterboxed instead. */
export const MAX_CROP = 0.15;

/**
 * Fits a finished panel image into its slot: when the aspects differ by at most
 * 15 % the image is cropped (attention-based, keeping the busiest part), else it
 * is letterboxed on white so nothing important is cut away.
 */
export async function fitPanelImage(png: Buffer, rect: Rect): Promise<Buffer> {
  const meta = await sharp(png).metadata();
  if (!meta.width || !meta.height) throw new KomaError('bad-image', 'a panel image has no size');
  const mismatch = Math.abs(Math.log((meta.width / meta.height) / (rect.width / rect.height)));
  const crop = mismatch <= Math.log(1 / (1 - MAX_CROP));
  return sharp(png)
    .resize({
      width: rect.width,
      height: rect.height,
      fit: crop ? 'cover' : 'contain',
      position: crop ? sharp.strategy.attention : 'centre',
      background: '#ffffff',
    })
    .flatten({ background: '#ffffff' })
    .png({ compressionLevel: 1 })
    .toBuffer();
}

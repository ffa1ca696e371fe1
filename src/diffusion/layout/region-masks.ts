import type { Box } from '../../domain/box.js';

/**
 * Layout control for stock models: masks on the latent grid (one cell per
 * 8×8 pixels). Character boxes get feathered weights so regions blend
 * without seams; the weights of all regions sum to 1 in every cell, so the
 * sampler can mix the regions' predictions as a plain weighted sum.
 */
export interface LatentGrid {
  width: number;
  height: number;
}

/** Feather width in cells: 15 % of the box's shorter side, at least one cell. */
export function featherCells(box: Box, grid: LatentGrid): number {
  return Math.max(1, Math.round(0.15 * Math.min((box[2] - box[0]) * grid.width, (box[3] - box[1]) * grid.height)));
}

/**
 * Weight of a box per cell: the cell centre's distance inside the nearest box
 * edge (in cells, plus half a cell so a cell fully inside a thin box still
 * counts) over the feather width, clamped to 0..1.
 */
export function featheredBoxMask(box: Box, grid: LatentGrid, feather = featherCells(box, grid)): Float32Array {
  const mask = new Float32Array(grid.width * grid.height);
  const [x1, y1, x2, y2] = [box[0] * grid.width, box[1] * grid.height, box[2] * grid.width, box[3] * grid.height];
  for (let i = 0; i < grid.height; i++) {
    const cy = i + 0.5;
    for (let j = 0; j < grid.width; j++) {
      const cx = j + 0.5;
      const inside = Math.min(cx - x1, x2 - cx, cy - y1, y2 - cy) + 0.5;
      mask[i * grid.width + j] = Math.min(1, Math.max(0, inside / feather));
    }
  }
  return mask;
}

/** The union (cell-wise maximum) of several feathered boxes; all zeros for none. */
export function unionMask(boxes: readonly Box[], grid: LatentGrid): Float32Array {
  const mask = new Float32Array(grid.width * grid.height);
  for (const box of boxes) {
    const one = featheredBoxMask(box, grid);
    for (let k = 0; k < mask.length; k++) mask[k] = Math.max(mask[k]!, one[k]!);
  }
  return mask;
}

/**
 * Weights for [background, character 1, …]: the background keeps what the
 * characters leave, and at least `backgroundFloor` everywhere so the scene
 * stays one picture; the characters share the rest in proportion to their
 * feathered masks (so overlapping characters share). Every cell sums to 1.
 */
export function regionWeights(characterBoxes: readonly Box[], grid: LatentGrid, backgroundFloor = 0.2): Float32Array[] {
  const characters = characterBoxes.map((box) => featheredBoxMask(box, grid));
  const background = new Float32Array(grid.width * grid.height);
  for (let k = 0; k < background.length; k++) {
    const masks = characters.map((mask) => mask[k]!);
    const covered = Math.max(0, ...masks);
    const total = masks.reduce((s, m) => s + m, 0);
    const own = Math.max(backgroundFloor, 1 - covered);
    background[k] = own;
    // Scaling the characters (not dividing everything by the total) keeps the floor intact.
    const share = total > 0 ? (1 - own) / total : 0;
    characters.forEach((mask, c) => (mask[k] = masks[c]! * share));
  }
  return [background, ...characters];
}

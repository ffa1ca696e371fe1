import type { Box } from '../../domain/box.js';
import { KomaError } from '../../domain/errors.js';
import type { LatentGrid } from './region-masks.js';

/**
 * DiffSensei's native layout inputs, computed here rather than in the graph
 * (diffsensei.md §2.4–2.5). Character tokens are [16 dummy | 16 per slot …];
 * each query position of a cross-attention resolution may attend to:
 *   - inside box k (edges inclusive): slot k's tokens (several when boxes overlap);
 *   - outside every box: only the dummy tokens ("no character here").
 * Blocked tokens get −10000 (safe in fp16), allowed ones 0.
 */
export const BLOCKED = -10000;

export interface CharacterTokenLayout {
  dummyTokens: number;
  tokensPerCharacter: number;
}

export const DIFFSENSEI_TOKENS: CharacterTokenLayout = { dummyTokens: 16, tokensPerCharacter: 16 };

/** How many characters a bias input with `totalTokens` on its last axis can hold. */
export function characterSlots(totalTokens: number, layout = DIFFSENSEI_TOKENS): number {
  return Math.floor((totalTokens - layout.dummyTokens) / layout.tokensPerCharacter);
}

/**
 * The additive bias [L, totalTokens] for one sample at one attention grid,
 * positions row-major. Query coordinates span the panel edge to edge
 * (x = j/(w−1), y = i/(h−1)), as the reference implementation lays them out.
 */
export function characterAttentionBias(boxes: readonly Box[], grid: LatentGrid, totalTokens: number, layout = DIFFSENSEI_TOKENS): Float32Array {
  const slots = characterSlots(totalTokens, layout);
  if (boxes.length > slots) throw new KomaError('invalid-input', `this panel has ${boxes.length} characters but the model has ${slots} character slots: split the panel or leave some out`);
  const bias = new Float32Array(grid.width * grid.height * totalTokens).fill(BLOCKED);
  const coordinate = (index: number, size: number) => (size > 1 ? index / (size - 1) : 0);
  for (let i = 0; i < grid.height; i++) {
    const y = coordinate(i, grid.height);
    for (let j = 0; j < grid.width; j++) {
      const x = coordinate(j, grid.width);
      const row = (i * grid.width + j) * totalTokens;
      let inAny = false;
      boxes.forEach((box, k) => {
        if (x < box[0] || x > box[2] || y < box[1] || y > box[3]) return;
        inAny = true;
        const start = row + layout.dummyTokens + k * layout.tokensPerCharacter;
        bias.fill(0, start, start + layout.tokensPerCharacter);
      });
      if (!inAny) bias.fill(0, row, row + layout.dummyTokens);
    }
  }
  return bias;
}

/** The unconditional half: no boxes, so every position sees only the dummy tokens. */
export function unconditionalAttentionBias(grid: LatentGrid, totalTokens: number, layout = DIFFSENSEI_TOKENS): Float32Array {
  return characterAttentionBias([], grid, totalTokens, layout);
}

/**
 * The dialog mask at latent resolution: 1 in every cell a dialog box covers.
 * Edges map by floor(coord × size), end-exclusive, clamped — the reference's
 * rule, so a box thinner than a cell may cover none.
 */
export function dialogMaskGrid(boxes: readonly Box[], grid: LatentGrid): Float32Array {
  const mask = new Float32Array(grid.width * grid.height);
  const clamp = (v: number, size: number) => Math.min(size, Math.max(0, Math.floor(v * size)));
  for (const box of boxes) {
    const [j1, i1, j2, i2] = [clamp(box[0], grid.width), clamp(box[1], grid.height), clamp(box[2], grid.width), clamp(box[3], grid.height)];
    for (let i = i1; i < i2; i++) mask.fill(1, i * grid.width + j1, i * grid.width + j2);
  }
  return mask;
}

import { describe, expect, it } from 'vitest';
import type { Box } from '../src/domain/box.js';
import {
  BLOCKED,
  characterAttentionBias,
  type CharacterTokenLayout,
  characterSlots,
  DIFFSENSEI_TOKENS,
  dialogMaskGrid,
  unconditionalAttentionBias,
} from '../src/diffusion/layout/diffsensei-inputs.js';
import { featherCells, featheredBoxMask, type LatentGrid, regionWeights, unionMask } from '../src/diffusion/layout/region-masks.js';

/**
 * Layout inputs checked cell by cell against grids worked out by hand.
 */

/**
 * Reads a bias back as one label per cell: "D" when the dummy tokens are
 * open, plus the index of every open character slot ("01" = slots 0 and 1).
 * Fails when a token group is partly open, a value is neither 0 nor BLOCKED,
 * or a token past the last slot is open.
 */
function openGroups(bias: Float32Array, grid: LatentGrid, totalTokens: number, layout: CharacterTokenLayout = DIFFSENSEI_TOKENS): string[][] {
  expect(bias).toHaveLength(grid.width * grid.height * totalTokens);
  expect(bias.every((v) => v === 0 || v === BLOCKED)).toBe(true);
  const slots = characterSlots(totalTokens, layout);
  const groupOpen = (row: number, from: number, to: number) => {
    const part = bias.subarray(row + from, row + to);
    expect(part.every((v) => v === part[0]), `tokens ${from}..${to - 1} are mixed`).toBe(true);
    return part[0] === 0;
  };
  return Array.from({ length: grid.height }, (_, i) =>
    Array.from({ length: grid.width }, (_, j) => {
      const row = (i * grid.width + j) * totalTokens;
      let label = groupOpen(row, 0, layout.dummyTokens) ? 'D' : '';
      for (let s = 0; s < slots; s++) {
        const start = layout.dummyTokens + s * layout.tokensPerCharacter;
        if (groupOpen(row, start, start + layout.tokensPerCharacter)) label += String(s);
      }
      const tail = layout.dummyTokens + slots * layout.tokensPerCharacter;
      if (tail < totalTokens) expect(groupOpen(row, tail, totalTokens)).toBe(false);
      return label;
    }),
  );
}

describe('characterSlots', () => {
  it('counts whole 16-token slots after the 16 dummies', () => {
    expect(characterSlots(80)).toBe(4);
    expect(characterSlots(48)).toBe(2);
    expect(characterSlots(40)).toBe(1);
    expect(characterSlots(16)).toBe(0);
    expect(characterSlots(8, { dummyTokens: 2, tokensPerCharacter: 3 })).toBe(2);
  });
});

describe('characterAttentionBias', () => {
  const grid4 = { width: 4, height: 4 }; // query coordinates 0, 1/3, 2/3, 1 on both axes

  it('opens a box to its slot (edges inclusive), dummies elsewhere, both slots where boxes overlap', () => {
    // A = [0,0,0.5,1]: x ≤ 0.5 → columns 0, 1; every row.
    // B = [0.3,0.6,1,1]: x ≥ 0.3 → columns 1–3; y ≥ 0.6 → rows 2, 3.
    const boxes: Box[] = [
      [0, 0, 0.5, 1],
      [0.3, 0.6, 1, 1],
    ];
    expect(openGroups(characterAttentionBias(boxes, grid4, 80), grid4, 80)).toEqual([
      ['0', '0', 'D', 'D'],
      ['0', '0', 'D', 'D'],
      ['0', '01', '1', '1'],
      ['0', '01', '1', '1'],
    ]);
  });

  it('includes query points exactly on the edges', () => {
    expect(openGroups(characterAttentionBias([[1 / 3, 1 / 3, 2 / 3, 2 / 3]], grid4, 80), grid4, 80)).toEqual([
      ['D', 'D', 'D', 'D'],
      ['D', '0', '0', 'D'],
      ['D', '0', '0', 'D'],
      ['D', 'D', 'D', 'D'],
    ]);
  });

  it('spans each axis edge to edge on non-square grids, and puts a single column at 0', () => {
    // 3×2: x = 0, 0.5, 1; y = 0, 1.
    const grid = { width: 3, height: 2 };
    expect(openGroups(characterAttentionBias([[0.5, 0.9, 1, 1]], grid, 48), grid, 48)).toEqual([
      ['D', 'D', 'D'],
      ['D', '0', '0'],
    ]);
    const column = { width: 1, height: 2 };
    expect(openGroups(characterAttentionBias([[0, 0, 0.2, 0.5]], column, 48), column, 48)).toEqual([['0'], ['D']]);
    expect(openGroups(characterAttentionBias([[0.1, 0, 0.2, 1]], column, 48), column, 48)).toEqual([['D'], ['D']]);
  });

  it('lays out a custom token layout row by row', () => {
    const layout = { dummyTokens: 2, tokensPerCharacter: 3 };
    const grid = { width: 2, height: 1 };
    const bias = characterAttentionBias([[0.5, 0, 1, 1]], grid, 9, layout);
    const B = BLOCKED;
    // Cell 0 (x = 0) is outside: dummies. Cell 1 (x = 1) is inside slot 0. Token 8 is past both slots.
    expect(Array.from(bias)).toEqual([0, 0, B, B, B, B, B, B, B, B, B, 0, 0, 0, B, B, B, B]);
  });

  it('unconditional bias opens only the dummies everywhere', () => {
    const grid = { width: 3, height: 2 };
    expect(openGroups(unconditionalAttentionBias(grid, 80), grid, 80)).toEqual([
      ['D', 'D', 'D'],
      ['D', 'D', 'D'],
    ]);
    expect(unconditionalAttentionBias(grid, 80)).toEqual(characterAttentionBias([], grid, 80));
  });

  it('refuses more characters than slots', () => {
    const box: Box = [0, 0, 1, 1];
    expect(() => characterAttentionBias([box, box, box, box, box], grid4, 80)).toThrowError(/5 characters but the model has 4 character slots/);
    expect(() => characterAttentionBias([box, box, box], grid4, 48)).toThrowError(/3 characters but the model has 2/);
    expect(() => characterAttentionBias([box, box], grid4, 48)).not.toThrow();
  });
});

describe('dialogMaskGrid', () => {
  const grid = { width: 8, height: 4 };
  const show = (mask: Float32Array) =>
    Array.from({ length: grid.height }, (_, i) => Array.from(mask.subarray(i * grid.width, (i + 1) * grid.width), (v) => (v === 1 ? '#' : v === 0 ? '.' : '?')).join(''));

  it('covers cells floor(coord·size) up to, not including, floor(end·size), once where boxes overlap', () => {
    const boxes: Box[] = [
      [0.25, 0.5, 0.6, 1], // columns 2..4.8 → 2, 3; rows 2..4 → 2, 3
      [0.375, 0, 0.75, 0.75], // columns 3..6 → 3, 4, 5; rows 0..3 → 0, 1, 2
    ];
    expect(show(dialogMaskGrid(boxes, grid))).toEqual(['...###..', '...###..', '..####..', '..##....']);
  });

  it('lets a box thinner than a cell vanish and clamps edges to the grid', () => {
    expect(show(dialogMaskGrid([[0.3, 0.3, 0.32, 0.9]], grid))).toEqual(['........', '........', '........', '........']);
    const clamped: Box[] = [
      [0.9, 0.9, 1.5, 1.5], // columns 7..8, rows 3..4
      [-0.5, -0.5, 0.2, 0.3], // columns 0..1, rows 0..1
    ];
    expect(show(dialogMaskGrid(clamped, grid))).toEqual(['#.......', '........', '........', '.......#']);
    expect(show(dialogMaskGrid([[0.875, 0.75, 1, 1]], grid))).toEqual(['........', '........', '........', '.......#']);
    expect(show(dialogMaskGrid([], grid))).toEqual(['........', '........', '........', '........']);
  });
});

describe('featheredBoxMask', () => {
  const grid16 = { width: 16, height: 16 };
  const row = (mask: Float32Array, i: number, width = 16) => Array.from(mask.subarray(i * width, (i + 1) * width));

  it('feathers over 15 % of the shorter side, at least one cell', () => {
    expect(featherCells([0, 0, 1, 1], grid16)).toBe(2); // round(2.4)
    expect(featherCells([0.25, 0.25, 0.75, 0.75], grid16)).toBe(1); // round(1.2)
    expect(featherCells([0, 0, 0.1, 1], grid16)).toBe(1); // round(0.24) → at least 1
    expect(featherCells([0, 0, 1, 0.1], { width: 100, height: 100 })).toBe(2); // round(1.5)
  });

  it('is 1 deep inside, 0 outside, and ramps by (distance of the centre inside + ½)/feather', () => {
    const box: Box = [0.25, 0.25, 0.75, 0.75]; // cells 4..11 on a 16 grid
    const two = featheredBoxMask(box, grid16, 2);
    expect(row(two, 8)).toEqual([0, 0, 0, 0, 0.5, 1, 1, 1, 1, 1, 1, 0.5, 0, 0, 0, 0]);
    expect(row(two, 4)).toEqual([0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0]);
    expect(row(two, 3)).toEqual(Array<number>(16).fill(0));
    const four = featheredBoxMask(box, grid16, 4);
    expect(row(four, 8)).toEqual([0, 0, 0, 0, 0.25, 0.5, 0.75, 1, 1, 0.75, 0.5, 0.25, 0, 0, 0, 0]);
    // The default feather here is one cell: every cell inside is 1.
    expect(row(featheredBoxMask(box, grid16), 8)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
  });

  it('gives a cell half covered by the box edge half weight', () => {
    // x2 = 4.5 cells: cell 4's centre is on the edge.
    const mask = featheredBoxMask([0, 0, 0.5625, 0.5], { width: 8, height: 8 });
    expect(row(mask, 0, 8)).toEqual([1, 1, 1, 1, 0.5, 0, 0, 0]);
    expect(row(mask, 4, 8)).toEqual(Array<number>(8).fill(0));
  });
});

describe('unionMask', () => {
  it('takes the cell-wise maximum, and zeros for no boxes', () => {
    const grid = { width: 8, height: 8 };
    const mask = unionMask(
      [
        [0, 0, 0.5625, 0.5],
        [0.25, 0.25, 0.75, 0.75],
      ],
      grid,
    );
    const rows = Array.from({ length: 8 }, (_, i) => Array.from(mask.subarray(i * 8, i * 8 + 8)));
    expect(rows).toEqual([
      [1, 1, 1, 1, 0.5, 0, 0, 0],
      [1, 1, 1, 1, 0.5, 0, 0, 0],
      [1, 1, 1, 1, 1, 1, 0, 0],
      [1, 1, 1, 1, 1, 1, 0, 0],
      [0, 0, 1, 1, 1, 1, 0, 0],
      [0, 0, 1, 1, 1, 1, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 0],
    ]);
    expect(Array.from(unionMask([], grid))).toEqual(Array<number>(64).fill(0));
  });
});

describe('regionWeights', () => {
  const grid = { width: 8, height: 8 };
  const at = (regions: Float32Array[], i: number, j: number) => regions.map((r) => r[i * grid.width + j]!);
  const expectCell = (actual: number[], expected: number[]) => actual.forEach((v, k) => expect(v).toBeCloseTo(expected[k]!, 6));

  it('gives the background everything with no characters', () => {
    const regions = regionWeights([], grid);
    expect(regions).toHaveLength(1);
    expect(Array.from(regions[0]!)).toEqual(Array<number>(64).fill(1));
  });

  it('keeps the background floor under a character and lets overlapping characters share', () => {
    // A covers columns 0–3, B columns 2–5, both with one-cell feather (all inside cells are 1).
    const regions = regionWeights(
      [
        [0, 0, 0.5, 1],
        [0.25, 0, 0.75, 1],
      ],
      grid,
    );
    expect(regions).toHaveLength(3);
    for (const i of [0, 7]) {
      expectCell(at(regions, i, 0), [0.2, 0.8, 0]);
      expectCell(at(regions, i, 1), [0.2, 0.8, 0]);
      expectCell(at(regions, i, 2), [0.2, 0.4, 0.4]);
      expectCell(at(regions, i, 3), [0.2, 0.4, 0.4]);
      expectCell(at(regions, i, 4), [0.2, 0, 0.8]);
      expectCell(at(regions, i, 6), [1, 0, 0]);
    }
  });

  it('leaves a feathered edge to the background and honours the floor option', () => {
    // Whole panel on a 16 grid: feather 2, so the border ring has mask 0.5.
    const big = { width: 16, height: 16 };
    const [background, character] = regionWeights([[0, 0, 1, 1]], big);
    expect([background![0], character![0]]).toEqual([0.5, 0.5]);
    expect(background![8 * 16 + 8]).toBeCloseTo(0.2, 6);
    expect(character![8 * 16 + 8]).toBeCloseTo(0.8, 6);
    const [noFloor, all] = regionWeights([[0, 0, 1, 1]], big, 0);
    expect([noFloor![8 * 16 + 8], all![8 * 16 + 8]]).toEqual([0, 1]);
    const [half, rest] = regionWeights([[0, 0, 1, 1]], big, 0.5);
    expect([half![8 * 16 + 8], rest![8 * 16 + 8], half![0], rest![0]]).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it('sums to 1 in every cell and never drops the background below the floor', () => {
    const boxes: Box[] = [
      [0.1, 0.1, 0.6, 0.7],
      [0.4, 0.2, 0.9, 0.95],
      [0.3, 0.5, 0.55, 0.9],
    ];
    const odd = { width: 13, height: 11 };
    const regions = regionWeights(boxes, odd, 0.25);
    for (let k = 0; k < odd.width * odd.height; k++) {
      expect(regions.reduce((s, r) => s + r[k]!, 0)).toBeCloseTo(1, 6);
      expect(regions[0]![k]!).toBeGreaterThanOrEqual(0.25 - 1e-7);
      for (const r of regions) expect(r[k]!).toBeGreaterThanOrEqual(0);
    }
  });
});

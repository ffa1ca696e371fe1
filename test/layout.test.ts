import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  digitalGeometry,
  enumerateTrees,
  fitPanelImage,
  layoutPage,
  panelTargetSize,
  printB5Geometry,
  readingOrderFromRects,
  type SlicingTree,
  templateTree,
} from '../src/compose/layout/index.js';
import { solveTree } from '../src/compose/layout/solve.js';
import type { PageGeometry, Rect } from '../src/compose/types.js';

const geometry = digitalGeometry();

/**
 * Checks that rects tile the frame exactly, from the geometry: walking the tree,
 * the children of every row (stack) have the same top and height (left and
 * width), sit exactly one gutter apart, and together fill the parent's box; the
 * root's box is the frame. Gaps between tiers are the wider tier gutter.
 */
function expectExactTiling(tree: SlicingTree, rects: Rect[], g: PageGeometry): void {
  const box = (node: SlicingTree, isRoot: boolean): Rect => {
    if (node.kind === 'panel') {
      const r = rects[node.index]!;
      expect(Number.isInteger(r.x) && Number.isInteger(r.y) && Number.isInteger(r.width) && Number.isInteger(r.height)).toBe(true);
      expect(r.width).toBeGreaterThan(0);
      expect(r.height).toBeGreaterThan(0);
      return r;
    }
    const gap = node.kind === 'stack' && isRoot ? g.tierGutterPx : g.gutterPx;
    const boxes = node.children.map((c) => box(c, false));
    const along = node.kind === 'row' ? 'x' : 'y';
    const across = node.kind === 'row' ? 'y' : 'x';
    const length = node.kind === 'row' ? 'width' : 'height';
    const breadth = node.kind === 'row' ? 'height' : 'width';
    const sorted = [...boxes].sort((a, b) => a[along] - b[along]);
    for (let i = 0; i < sorted.length; i++) {
      expect(sorted[i]![across]).toBe(sorted[0]![across]);
      expect(sorted[i]![breadth]).toBe(sorted[0]![breadth]);
      if (i > 0) expect(sorted[i]![along] - (sorted[i - 1]![along] + sorted[i - 1]![length])).toBe(gap);
    }
    const first = sorted[0]!;
    const last = sorted.at(-1)!;
    const extent = last[along] + last[length] - first[along];
    return node.kind === 'row'
      ? { x: first.x, y: first.y, width: extent, height: first.height }
      : { x: first.x, y: first.y, width: first.width, height: extent };
  };
  expect(box(tree, true)).toEqual(g.frame);
}

describe('slicing trees', () => {
  it('enumerates the large Schröder numbers of trees', () => {
    const counts = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => enumerateTrees(n).length);
    expect(counts).toEqual([1, 2, 6, 22, 90, 394, 1806, 8558]);
  });

  it('every tree for 1 to 6 panels tiles the frame exactly, in both directions', () => {
    for (let n = 1; n <= 6; n++) {
      const aspects = Array.from({ length: n }, (_, i) => [1.5, 0.7, 1, 16 / 9][i % 4]!);
      for (const tree of enumerateTrees(n)) {
        for (const direction of ['ltr', 'rtl'] as const) {
          expectExactTiling(tree, solveTree(tree, aspects, geometry, direction), geometry);
        }
      }
    }
  });

  it('a sample of 7- and 8-panel trees tiles the frame exactly', () => {
    for (const n of [7, 8]) {
      const trees = enumerateTrees(n);
      for (let k = 0; k < trees.length; k += 97) {
        expectExactTiling(trees[k]!, solveTree(trees[k]!, Array<number>(n).fill(1.5), geometry, 'rtl'), geometry);
      }
    }
  });

  it('reads a chosen layout in input order, judged from the geometry alone', () => {
    const shapes = [1.5, 0.7, 1, 16 / 9, 2.4, 0.5];
    for (let n = 1; n <= 8; n++) {
      for (let variant = 0; variant < 3; variant++) {
        const aspects = Array.from({ length: n }, (_, i) => shapes[(i * (variant + 2)) % shapes.length]!);
        for (const direction of ['ltr', 'rtl'] as const) {
          const page = layoutPage({ panelCount: n, aspects, direction, geometry });
          expect(readingOrderFromRects(page.panels.map((p) => p.rect), direction)).toEqual(Array.from({ length: n }, (_, i) => i));
        }
      }
    }
  });

  it('knows that a grid of columns would read in the wrong order', () => {
    // Two columns of two, with aligned edges, read tier by tier: 0, 2, 1, 3.
    const columns = enumerateTrees(4).find((t) => t.kind === 'row' && t.children.every((c) => c.kind === 'stack' && c.children.length === 2))!;
    const rects = solveTree(columns, [1.2, 1.2, 1.2, 1.2], geometry, 'ltr');
    expect(readingOrderFromRects(rects, 'ltr')).toEqual([0, 2, 1, 3]);
  });
});

describe('layoutPage', () => {
  it('reads a 2x2 page right to left for manga and left to right for western', () => {
    const rtl = layoutPage({ panelCount: 4, template: '2x2', direction: 'rtl', geometry });
    const [p0, p1, p2, p3] = rtl.panels.map((p) => p.rect);
    expect(p0!.x).toBeGreaterThan(p1!.x); // first panel top right
    expect(p0!.y).toBe(p1!.y);
    expect(p2!.x).toBeGreaterThan(p3!.x);
    expect(p2!.y).toBeGreaterThan(p0!.y);
    expect(rtl.readingOrder).toEqual([0, 1, 2, 3]);
    const ltr = layoutPage({ panelCount: 4, template: '2x2', direction: 'ltr', geometry });
    expect(ltr.panels[0]!.rect.x).toBeLessThan(ltr.panels[1]!.rect.x);
  });

  it('uses wider gutters between tiers than inside them', () => {
    const page = layoutPage({ panelCount: 4, template: '2x2', direction: 'ltr', geometry });
    const [a, b, c] = page.panels.map((p) => p.rect);
    expect(b!.x - (a!.x + a!.width)).toBe(geometry.gutterPx);
    expect(c!.y - (a!.y + a!.height)).toBe(geometry.tierGutterPx);
    expect(geometry.tierGutterPx).toBeGreaterThan(geometry.gutterPx);
  });

  it('gives an emphasised panel more room', () => {
    const plain = layoutPage({ panelCount: 5, direction: 'rtl', geometry });
    const big = layoutPage({ panelCount: 5, emphasis: [1, 1, 3, 1, 1], direction: 'rtl', geometry });
    const area = (r: Rect) => r.width * r.height;
    expect(area(big.panels[2]!.rect)).toBeGreaterThan(area(plain.panels[2]!.rect) * 1.3);
  });

  it('gives a wide panel a wide slot and a tall panel a tall one', () => {
    const page = layoutPage({ panelCount: 4, aspects: [16 / 9, 0.6, 1.5, 1.5], direction: 'rtl', geometry });
    const ar = (i: number) => page.panels[i]!.rect.width / page.panels[i]!.rect.height;
    expect(ar(0)).toBeGreaterThan(1.4);
    expect(ar(1)).toBeLessThan(1);
  });

  it('keeps tiers in the preferred range for a 6-panel page', () => {
    const page = layoutPage({ panelCount: 6, direction: 'rtl', geometry });
    const tiers = new Set(page.panels.map((p) => p.rect.y)).size;
    expect(tiers).toBeGreaterThanOrEqual(3);
    expect(tiers).toBeLessThanOrEqual(4);
    expect(page.name).toMatch(/^auto:S\(/);
  });

  it('explains unknown templates and count mismatches', () => {
    expect(() => layoutPage({ panelCount: 4, template: 'grid9', direction: 'rtl', geometry })).toThrowError(/unknown layout "grid9"; use auto, splash, 2-tier/);
    expect(() => layoutPage({ panelCount: 5, template: '2x2', direction: 'rtl', geometry })).toThrowError(/does not fit a page of 5 panels/);
    expect(() => templateTree('rows:1-2', 4)).toThrowError(/holds 3 panels, the page has 4/);
    expect(() => layoutPage({ panelCount: 9, direction: 'rtl', geometry })).toThrowError(/1 to 8 panels/);
  });
});

describe('geometry and sizes', () => {
  it('uses B5 proportions at 1600 px and the print preset at 600 dpi with bleed', () => {
    expect(geometry.widthPx).toBe(1600);
    expect(geometry.heightPx).toBe(Math.round((1600 * 257) / 182));
    const print = printB5Geometry();
    expect(print.widthPx).toBe(Math.round((182 / 25.4) * 600) + 2 * Math.round((3 / 25.4) * 600));
    expect(print.bleedPx).toBe(71);
  });

  it('renders panels at the slot aspect in multiples of 32', () => {
    for (const rect of [{ x: 0, y: 0, width: 1310, height: 560 }, { x: 0, y: 0, width: 400, height: 900 }, { x: 0, y: 0, width: 90, height: 70 }]) {
      const size = panelTargetSize(rect);
      expect(size.width % 32).toBe(0);
      expect(size.height % 32).toBe(0);
      expect(Math.max(size.width, size.height)).toBeLessThanOrEqual(1024);
      if (rect.width > 200) expect(Math.abs(Math.log(size.width / size.height / (rect.width / rect.height)))).toBeLessThan(0.08);
    }
  });

  it('crops a near-fit image and letterboxes a far one on white', async () => {
    const red = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#f00' } }).png().toBuffer();
    const near = await fitPanelImage(red, { x: 0, y: 0, width: 280, height: 200 });
    const nearPixels = await sharp(near).raw().toBuffer({ resolveWithObject: true });
    expect([nearPixels.info.width, nearPixels.info.height]).toEqual([280, 200]);
    expect(nearPixels.data[0]).toBe(255);
    expect(nearPixels.data[1]).toBe(0); // still red at the corner: cropped, not padded
    const far = await fitPanelImage(red, { x: 0, y: 0, width: 200, height: 300 });
    const farPixels = await sharp(far).raw().toBuffer({ resolveWithObject: true });
    expect([farPixels.info.width, farPixels.info.height]).toEqual([200, 300]);
    expect([...farPixels.data.subarray(0, 3)]).toEqual([255, 255, 255]); // white bar at the top
    const mid = (150 * 200 + 100) * 3;
    expect([...farPixels.data.subarray(mid, mid + 3)]).toEqual([255, 0, 0]);
  });
});

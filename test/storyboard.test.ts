import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { Box } from '../src/domain/box.js';
import { KomaError } from '../src/domain/errors.js';
import type { Progress } from '../src/domain/progress.js';
import type { PanelRenderRequest } from '../src/render/panel-renderer.js';
import { StoryboardRenderer } from '../src/render/storyboard/storyboard-renderer.js';

const aki = readFileSync(new URL('../examples/characters/aki.png', import.meta.url));
const ren = readFileSync(new URL('../examples/characters/ren.png', import.meta.url));

const akiBox: Box = [0.55, 0.1, 0.95, 1];
const renBox: Box = [0.05, 0.05, 0.45, 1];
const dialogBox: Box = [0.05, 0.02, 0.4, 0.25];

function request(overrides: Partial<PanelRenderRequest> = {}): PanelRenderRequest {
  return {
    prompt: 'two friends on a platform',
    negativePrompt: '',
    width: 384,
    height: 256,
    seed: 11,
    stylePreset: 'manga',
    characters: [
      { id: 'aki', name: 'Aki', description: '', box: akiBox, referenceImages: [aki] },
      { id: 'ren', name: 'Ren', description: '', box: renBox, referenceImages: [ren] },
    ],
    dialogBoxes: [dialogBox],
    ...overrides,
  };
}

async function greyPixels(png: Buffer) {
  const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Share of pixels darker than `below` inside a box. */
function inkShare(img: { data: Buffer; width: number; height: number }, box: Box, below = 80): number {
  const x0 = Math.ceil(box[0] * img.width);
  const x1 = Math.floor(box[2] * img.width);
  const y0 = Math.ceil(box[1] * img.height);
  const y1 = Math.floor(box[3] * img.height);
  let ink = 0;
  let all = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      all++;
      if (img.data[y * img.width + x]! < below) ink++;
    }
  }
  return ink / all;
}

describe('storyboard renderer', () => {
  const renderer = new StoryboardRenderer();

  it('is deterministic: the same request gives the same bytes', async () => {
    const a = await renderer.render(request());
    const b = await renderer.render(request());
    expect(a.png.equals(b.png)).toBe(true);
    expect(a.renderer).toBe('storyboard');
  });

  it('changes with the seed and with the prompt', async () => {
    const base = await renderer.render(request());
    expect((await renderer.render(request({ seed: 12 }))).png.equals(base.png)).toBe(false);
    expect((await renderer.render(request({ prompt: 'a different scene' }))).png.equals(base.png)).toBe(false);
  });

  it('renders exactly the requested size', async () => {
    const out = await renderer.render(request({ width: 320, height: 480 }));
    const meta = await sharp(out.png).metadata();
    expect([meta.width, meta.height, out.width, out.height]).toEqual([320, 480, 320, 480]);
  });

  it('puts ink inside the character boxes and keeps dialog boxes paper-white', async () => {
    const img = await greyPixels((await renderer.render(request())).png);
    // Characters are drawn with solid ink (hair, skirt, outlines); the balloon area has none.
    expect(inkShare(img, akiBox)).toBeGreaterThan(0.05);
    expect(inkShare(img, renBox)).toBeGreaterThan(0.05);
    // The cleared area is the ellipse in the box; test the rectangle inscribed in it (60 % of each half-axis).
    const [cx, cy] = [(dialogBox[0] + dialogBox[2]) / 2, (dialogBox[1] + dialogBox[3]) / 2];
    const [hx, hy] = [((dialogBox[2] - dialogBox[0]) / 2) * 0.6, ((dialogBox[3] - dialogBox[1]) / 2) * 0.6];
    const inner: Box = [cx - hx, cy - hy, cx + hx, cy + hy];
    expect(inkShare(img, inner, 200)).toBe(0);
  });

  it('draws characters where their boxes say: moving a box moves the ink', async () => {
    const left = await greyPixels((await renderer.render(request({ characters: [{ id: 'aki', name: 'Aki', description: '', box: [0, 0.1, 0.4, 1], referenceImages: [aki] }], dialogBoxes: [] }))).png);
    const right = await greyPixels((await renderer.render(request({ characters: [{ id: 'aki', name: 'Aki', description: '', box: [0.6, 0.1, 1, 1], referenceImages: [aki] }], dialogBoxes: [] }))).png);
    const leftHalf: Box = [0, 0.3, 0.45, 1];
    const rightHalf: Box = [0.55, 0.3, 1, 1];
    expect(inkShare(left, leftHalf)).toBeGreaterThan(inkShare(left, rightHalf) * 3);
    expect(inkShare(right, rightHalf)).toBeGreaterThan(inkShare(right, leftHalf) * 3);
  });

  it('reports progress up to the total', async () => {
    const seen: Progress[] = [];
    await renderer.render(request(), { onProgress: (p) => seen.push(p) });
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.at(-1)).toMatchObject({ step: 4, total: 4 });
    expect(seen.map((p) => p.step)).toEqual([...seen.map((p) => p.step)].sort((a, b) => a - b));
  });

  it('stops with a cancelled error when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(renderer.render(request(), { signal: controller.signal })).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('gives a clear error for a corrupt reference image', async () => {
    const broken = request({
      characters: [{ id: 'aki', name: 'Aki', description: '', box: akiBox, referenceImages: [Buffer.from('not a png at all')] }],
    });
    const error = await renderer.render(broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KomaError);
    expect((error as KomaError).message).toMatch(/^reference image of Aki cannot be read/);
  });

  it('draws a stand-in figure for a character without reference images', async () => {
    const out = await renderer.render(request({ characters: [{ id: 'x', name: 'X', description: '', box: [0.3, 0.1, 0.7, 1], referenceImages: [] }], dialogBoxes: [] }));
    expect(inkShare(await greyPixels(out.png), [0.4, 0.2, 0.6, 0.95])).toBeGreaterThan(0.01);
  });
});

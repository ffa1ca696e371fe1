import sharp from 'sharp';
import type { Rect } from '../types.js';

/**
 * A webtoon strip: pages stacked at 800 px wide and sliced into images no
 * taller than 1280 px, cutting only through rows that cross no panel and no
 * balloon (gutters, margins, the space between pages). A panel taller than a
 * slice is cut inside as a last resort, and that is reported.
 */
export interface WebtoonPage {
  png: Buffer;
  layout: { page: { widthPx: number; heightPx: number }; panels: { rect: Rect }[]; balloons: { rect: Rect }[] };
}

export interface WebtoonResult {
  slices: Buffer[];
  /** Rows (in strip pixels) where a slice ends. */
  cuts: number[];
  width: number;
  height: number;
  warnings: string[];
}

export async function exportWebtoon(pages: WebtoonPage[], options: { width?: number; maxSliceHeight?: number } = {}): Promise<WebtoonResult> {
  const width = options.width ?? 800;
  const maxSlice = options.maxSliceHeight ?? 1280;
  const blocked: [number, number][] = [];
  const placed: { input: Buffer; top: number; left: number }[] = [];
  let offset = 0;
  for (const page of pages) {
    const scale = width / page.layout.page.widthPx;
    const height = Math.round(page.layout.page.heightPx * scale);
    placed.push({ input: await sharp(page.png).resize({ width, height, fit: 'fill' }).png().toBuffer(), top: offset, left: 0 });
    for (const { rect } of [...page.layout.panels, ...page.layout.balloons]) {
      blocked.push([offset + Math.floor(rect.y * scale) - 1, offset + Math.ceil((rect.y + rect.height) * scale) + 1]);
    }
    offset += height;
  }
  const total = offset;
  const isFree = (row: number) => blocked.every(([a, b]) => row <= a || row >= b);

  const cuts: number[] = [];
  const warnings: string[] = [];
  let start = 0;
  while (total - start > maxSlice) {
    let cut = -1;
    for (let row = start + maxSlice; row > start; row--) {
      if (isFree(row)) {
        cut = row;
        break;
      }
    }
    if (cut < 0) {
      cut = start + maxSlice;
      warnings.push(`a panel is taller than ${maxSlice} px; cut inside it at row ${cut}`);
    }
    cuts.push(cut);
    start = cut;
  }
  cuts.push(total);

  const strip = await sharp({ create: { width, height: total, channels: 3, background: '#ffffff' } }).composite(placed).png().toBuffer();
  const slices: Buffer[] = [];
  let top = 0;
  for (const cut of cuts) {
    slices.push(await sharp(strip).extract({ left: 0, top, width, height: cut - top }).png().toBuffer());
    top = cut;
  }
  return { slices, cuts, width, height: total, warnings };
}

import { zipSync } from 'fflate';
import sharp from 'sharp';
import { comicInfoXml } from './comicinfo.js';
import type { ChapterMeta } from './pdf.js';

/**
 * A CBZ: a zip with zero-padded page names at the root, so natural sort is
 * reading order, plus ComicInfo.xml. Images are stored, not deflated again.
 */
export async function exportCbz(pages: { png: Buffer }[], meta: ChapterMeta): Promise<Buffer> {
  const files: Record<string, [Uint8Array, { level: 0 }]> = {};
  const info = [];
  for (const [i, page] of pages.entries()) {
    const m = await sharp(page.png).metadata();
    files[`${String(i + 1).padStart(4, '0')}.png`] = [page.png, { level: 0 }];
    info.push({ width: m.width ?? 0, height: m.height ?? 0, bytes: page.png.length });
  }
  files['ComicInfo.xml'] = [new TextEncoder().encode(comicInfoXml(meta, info)), { level: 0 }];
  // A fixed timestamp keeps the archive identical between runs.
  return Buffer.from(zipSync(files, { mtime: new Date('2000-01-01T00:00:00Z') }));
}

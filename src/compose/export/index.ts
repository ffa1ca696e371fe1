import { exportCbz } from './cbz.js';
import { encodeForDiscord } from './discord-image.js';
import { type ChapterMeta, exportPdf } from './pdf.js';
import { exportWebtoon, type WebtoonPage } from './webtoon.js';

export { comicInfoXml, escapeXml } from './comicinfo.js';
export { exportCbz } from './cbz.js';
export { DISCORD_MAX_BYTES, encodeForDiscord } from './discord-image.js';
export { type ChapterMeta, exportPdf } from './pdf.js';
export { exportWebtoon } from './webtoon.js';

export const EXPORT_FORMATS = ['png', 'webp', 'pdf', 'cbz', 'webtoon'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportedFile {
  name: string;
  bytes: Buffer;
  mime: string;
}

export interface ChapterPage extends WebtoonPage {
  dpi: number;
}

/** Every requested format for a chapter, with file names like `<slug>-page-001.png`, `<slug>.pdf`. */
export async function exportChapter(pages: ChapterPage[], meta: ChapterMeta & { slug: string }, formats: readonly ExportFormat[]): Promise<ExportedFile[]> {
  const files: ExportedFile[] = [];
  const pageName = (i: number, ext: string) => `${meta.slug}-page-${String(i + 1).padStart(3, '0')}.${ext}`;
  for (const format of formats) {
    if (format === 'png' || format === 'webp') {
      for (const [i, page] of pages.entries()) {
        const encoded = await encodeForDiscord(page.png, { format });
        files.push({ name: pageName(i, format), bytes: encoded.bytes, mime: `image/${format}` });
      }
    } else if (format === 'pdf') {
      const pdf = await exportPdf(pages.map((p) => ({ png: p.png, widthPx: p.layout.page.widthPx, heightPx: p.layout.page.heightPx, dpi: p.dpi })), meta);
      files.push({ name: `${meta.slug}.pdf`, bytes: pdf, mime: 'application/pdf' });
    } else if (format === 'cbz') {
      files.push({ name: `${meta.slug}.cbz`, bytes: await exportCbz(pages, meta), mime: 'application/vnd.comicbook+zip' });
    } else {
      const strip = await exportWebtoon(pages);
      strip.slices.forEach((bytes, i) => files.push({ name: `${meta.slug}-webtoon-${String(i + 1).padStart(2, '0')}.png`, bytes, mime: 'image/png' }));
    }
  }
  return files;
}

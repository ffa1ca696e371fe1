import { unzipSync } from 'fflate';
import { PDFDocument, ReadingDirection } from 'pdf-lib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { comicInfoXml, encodeForDiscord, exportCbz, exportChapter, exportPdf, exportWebtoon } from '../src/compose/export/index.js';
import type { Rect } from '../src/compose/types.js';
import { mulberry32 } from '../src/util/prng.js';

/** A page with two tiers of panels drawn as grey blocks, so we know where panels are. */
async function fakePage(width = 1600, height = 2259) {
  const k = width / 1600;
  const r = (x: number, y: number, w: number, h: number): { rect: Rect } => ({ rect: { x: Math.round(x * k), y: Math.round(y * k), width: Math.round(w * k), height: Math.round(h * k) } });
  const panels = [r(144, 160, 1312, 900), r(144, 1108, 646, 991), r(810, 1108, 646, 991)];
  const png = await sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(panels.map((p, i) => ({ input: { create: { width: p.rect.width, height: p.rect.height, channels: 3 as const, background: { r: 60 + i * 40, g: 60, b: 60 } } }, left: p.rect.x, top: p.rect.y })))
    .png()
    .toBuffer();
  return { png, layout: { page: { widthPx: width, heightPx: height }, panels, balloons: [r(300, 1000, 200, 150)] }, dpi: 223 };
}

/** A tiny strict XML check: every tag opens and closes in order, attributes quoted, no stray `&`. */
function expectWellFormedXml(xml: string) {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  expect(/&(?!(lt|gt|amp|quot|apos);)/.test(body)).toBe(false);
  const stack: string[] = [];
  for (const tag of body.match(/<[^>]+>/g) ?? []) {
    if (tag.startsWith('</')) expect(stack.pop()).toBe(tag.slice(2, -1));
    else if (!tag.endsWith('/>')) stack.push(tag.slice(1).split(/[\s>]/)[0]!.replace('>', ''));
    for (const attr of tag.matchAll(/\s([\w:]+)=("[^"]*"|'[^']*'|[^\s/>]+)/g)) expect(attr[2]!.startsWith('"')).toBe(true);
  }
  expect(stack).toEqual([]);
}

describe('exports', () => {
  it('brings a page over the upload limit under it', async () => {
    const random = mulberry32(5);
    const noise = Buffer.alloc(800 * 1100 * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(random() * 256);
    const png = await sharp(noise, { raw: { width: 800, height: 1100, channels: 3 } }).png().toBuffer();
    const limit = 1024 * 1024;
    expect(png.length).toBeGreaterThan(limit);
    for (const format of ['png', 'webp'] as const) {
      const out = await encodeForDiscord(png, { format, maxBytes: limit });
      expect(out.bytes.length).toBeLessThanOrEqual(limit);
      const meta = await sharp(out.bytes).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual([format, out.width, out.height]);
    }
    const small = await encodeForDiscord((await fakePage()).png);
    expect(small.scaled).toBe(false);
  });

  it('writes a PDF that parses, with sizes, title and right-to-left reading for manga', async () => {
    const page = await fakePage();
    const pages = [page, page].map((p) => ({ png: p.png, widthPx: 1600, heightPx: 2259, dpi: 223 }));
    const rtl = await PDFDocument.load(await exportPdf(pages, { title: 'The Late Train', author: 'Koma', direction: 'rtl' }));
    expect(rtl.getPageCount()).toBe(2);
    const size = rtl.getPage(0).getSize();
    expect(size.width).toBeCloseTo((1600 / 223) * 72, 3);
    expect(size.height).toBeCloseTo((2259 / 223) * 72, 3);
    expect(rtl.getTitle()).toBe('The Late Train');
    expect(rtl.catalog.getOrCreateViewerPreferences().getReadingDirection()).toBe(ReadingDirection.R2L);
    const ltr = await PDFDocument.load(await exportPdf(pages, { title: 'West', direction: 'ltr' }));
    expect(ltr.catalog.getOrCreateViewerPreferences().getReadingDirection()).toBe(ReadingDirection.L2R);
  });

  it('writes a CBZ with pages in natural order and a valid ComicInfo.xml', async () => {
    const page = await fakePage(800, 1130);
    const cbz = await exportCbz([page, page, page], { title: 'Tom & "Jerry" <3> \u{1F431}', author: "O'Neil", direction: 'rtl', language: 'en' });
    const files = unzipSync(new Uint8Array(cbz));
    expect(Object.keys(files).sort()).toEqual(['0001.png', '0002.png', '0003.png', 'ComicInfo.xml']);
    expect(Buffer.from(files['0002.png']!).equals(page.png)).toBe(true);
    const xml = new TextDecoder().decode(files['ComicInfo.xml']);
    expectWellFormedXml(xml);
    expect(xml).toContain('<Title>Tom &amp; &quot;Jerry&quot; &lt;3&gt; \u{1F431}</Title>');
    expect(xml).toContain('<Writer>O&apos;Neil</Writer>');
    expect(xml).toContain('<PageCount>3</PageCount>');
    expect(xml).toContain('<Manga>YesAndRightToLeft</Manga>');
    expect(xml).toContain(`<Page Image="0" Type="FrontCover" ImageWidth="800" ImageHeight="1130" ImageSize="${page.png.length}"/>`);
    expect(comicInfoXml({ title: 't', direction: 'ltr' }, [])).toContain('<Manga>No</Manga>');
  });

  it('slices a webtoon strip only between panels and balloons', async () => {
    const pages = [await fakePage(), await fakePage()];
    const strip = await exportWebtoon(pages, { width: 800, maxSliceHeight: 1280 });
    expect(strip.warnings).toEqual([]);
    expect(strip.slices.length).toBeGreaterThan(1);
    const scale = 800 / 1600;
    const pageHeight = Math.round(2259 * scale);
    const blocked = pages.flatMap((p, k) => [...p.layout.panels, ...p.layout.balloons].map(({ rect }) => [k * pageHeight + rect.y * scale, k * pageHeight + (rect.y + rect.height) * scale]));
    let top = 0;
    for (const [i, slice] of strip.slices.entries()) {
      const meta = await sharp(slice).metadata();
      expect(meta.width).toBe(800);
      expect(meta.height).toBeLessThanOrEqual(1280);
      const cut = strip.cuts[i]!;
      expect(meta.height).toBe(cut - top);
      for (const [a, b] of blocked) expect(cut <= a! || cut >= b!).toBe(true);
      top = cut;
    }
    expect(top).toBe(strip.height);
    // Stacked back together, the slices are the pages scaled to 800 px.
    const restacked = await sharp({ create: { width: 800, height: strip.height, channels: 3, background: '#fff' } })
      .composite(strip.slices.map((input, i) => ({ input, left: 0, top: i === 0 ? 0 : strip.cuts[i - 1]! })))
      .raw()
      .toBuffer();
    const expected = await sharp({ create: { width: 800, height: strip.height, channels: 3, background: '#fff' } })
      .composite(await Promise.all(pages.map(async (p, k) => ({ input: await sharp(p.png).resize({ width: 800, height: pageHeight, fit: 'fill' }).png().toBuffer(), left: 0, top: k * pageHeight }))))
      .raw()
      .toBuffer();
    expect(restacked.equals(expected)).toBe(true);
  });

  it('cuts inside a panel taller than a slice, and says so', async () => {
    const page = await fakePage();
    page.layout.panels = [{ rect: { x: 0, y: 0, width: 1600, height: 2259 } }];
    const strip = await exportWebtoon([page], { maxSliceHeight: 600 });
    expect(strip.warnings.length).toBeGreaterThan(0);
    expect(strip.slices.length).toBe(2);
  });

  it('exports a chapter in every format with stable names', async () => {
    const page = await fakePage(800, 1130);
    const files = await exportChapter([page, page], { title: 'T', slug: 'late-train', direction: 'rtl' }, ['png', 'pdf', 'cbz', 'webtoon']);
    expect(files.map((f) => f.name)).toEqual(['late-train-page-001.png', 'late-train-page-002.png', 'late-train.pdf', 'late-train.cbz', 'late-train-webtoon-01.png', 'late-train-webtoon-02.png']);
  });
});

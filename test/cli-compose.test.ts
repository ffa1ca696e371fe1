import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const koma = (args: string[]) => spawnSync(tsx, [path.join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8' });
const work = mkdtempSync(path.join(os.tmpdir(), 'koma-compose-'));

describe('koma compose', () => {
  beforeAll(async () => {
    for (const [name, w, h] of [['a', 600, 400], ['b', 400, 600], ['c', 600, 400]] as const) {
      await sharp({ create: { width: w, height: h, channels: 3, background: '#ccd' } }).png().toFile(path.join(work, `${name}.png`));
    }
  });

  it('writes a page and machine-checkable layout metadata', async () => {
    const page = {
      direction: 'rtl',
      layout: 'auto',
      panels: [
        { image: 'a.png', characters: [{ id: 'aki', box: [0.55, 0.2, 0.95, 1] }], dialogs: [{ speaker: 'aki', text: 'Morning!' }] },
        { image: 'b.png', dialogs: [{ speaker: 'narrator', text: 'Meanwhile.', kind: 'narration' }] },
        { image: 'c.png', characters: [{ id: 'ren', box: [0.1, 0.2, 0.5, 1] }], dialogs: [{ speaker: 'ren', text: 'WAIT!', kind: 'shout' }] },
      ],
    };
    writeFileSync(path.join(work, 'page.json'), JSON.stringify(page));
    const result = koma(['compose', path.join(work, 'page.json'), '--out', path.join(work, 'page.png'), '--layout', path.join(work, 'layout.json')]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const meta = await sharp(path.join(work, 'page.png')).metadata();
    expect([meta.width, meta.height]).toEqual([1600, 2259]);
    const layout = JSON.parse(readFileSync(path.join(work, 'layout.json'), 'utf8'));
    expect(layout.readingOrder).toEqual([0, 1, 2]);
    expect(layout.balloons.map((b: { kind: string }) => b.kind)).toEqual(['speech', 'narration', 'shout']);
    const [speech, narration] = layout.balloons;
    expect(speech.tail).not.toBeNull();
    expect(narration.tail).toBeNull();
    // Each balloon lies in its panel.
    for (const b of layout.balloons) {
      const panel = layout.panels.find((p: { index: number }) => p.index === b.panelIndex).rect;
      const cx = b.rect.x + b.rect.width / 2;
      const cy = b.rect.y + b.rect.height / 2;
      expect(cx > panel.x && cx < panel.x + panel.width && cy > panel.y && cy < panel.y + panel.height).toBe(true);
    }
  });

  it('explains a bad page file', () => {
    writeFileSync(path.join(work, 'bad.json'), JSON.stringify({ panels: [{ image: 'a.png', characters: [{ id: 'x', box: [0, 0, 2, 1] }] }] }));
    const result = koma(['compose', path.join(work, 'bad.json'), '--out', path.join(work, 'x.png')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/panels\[0\]\.characters\[0\]\.box: box \[0, 0, 2, 1\]: x2 = 2 is outside 0\.\.1/);
  });
});

describe('koma render --formats', () => {
  it('writes a PDF, a CBZ and a webtoon strip beside the pages', async () => {
    const out = path.join(work, 'exports');
    const result = koma(['render', 'examples/late-train', '--out', out, '--quiet', '--formats', 'pdf,cbz,webtoon']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const pdf = await PDFDocument.load(readFileSync(path.join(out, 'the-late-train.pdf')));
    expect(pdf.getPageCount()).toBe(2);
    const cbz = unzipSync(new Uint8Array(readFileSync(path.join(out, 'the-late-train.cbz'))));
    expect(Object.keys(cbz).sort()).toEqual(['0001.png', '0002.png', 'ComicInfo.xml']);
    expect(Buffer.from(cbz['0001.png']!).equals(readFileSync(path.join(out, 'page-001.png')))).toBe(true);
    const summary = JSON.parse(readFileSync(path.join(out, 'story.json'), 'utf8'));
    expect(summary.exports).toContain('the-late-train-webtoon-01.png');
    expect(koma(['render', 'examples/late-train', '--formats', 'gif']).status).toBe(2);
  });
});

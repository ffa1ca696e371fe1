import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import pixelmatch from 'pixelmatch';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { digitalGeometry, layoutPage } from '../src/compose/layout/index.js';
import { drawBalloons, planLettering } from '../src/compose/lettering/index.js';
import { composePage } from '../src/compose/page.js';
import type { LetteringOptions, LetteringPanelInput } from '../src/compose/types.js';
import type { DialogKind } from '../src/domain/model.js';

/**
 * Golden images: each balloon kind and two whole pages, compared with a
 * perceptual tolerance (pixelmatch's YIQ threshold, ≤ 0.5 % of pixels differing)
 * so antialiasing noise passes and a moved tail or a changed outline does not.
 * `UPDATE_GOLDENS=1 npm test` rewrites them; a missing golden fails.
 */
const goldenDir = path.join(import.meta.dirname, 'golden');
const update = process.env.UPDATE_GOLDENS === '1';

async function expectMatchesGolden(name: string, png: Buffer): Promise<void> {
  const file = path.join(goldenDir, name);
  if (update) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, png);
    return;
  }
  expect(existsSync(file), `missing golden ${name}: run UPDATE_GOLDENS=1 npm test and look at it`).toBe(true);
  const actual = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const golden = await sharp(readFileSync(file)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  expect([actual.info.width, actual.info.height]).toEqual([golden.info.width, golden.info.height]);
  const { width, height } = actual.info;
  const differing = pixelmatch(actual.data, golden.data, undefined, width, height, { threshold: 0.1 });
  expect(differing / (width * height)).toBeLessThanOrEqual(0.005);
}

const kinds: { name: string; kind: DialogKind; text: string; options: LetteringOptions }[] = [
  { name: 'speech', kind: 'speech', text: "We're late again! The train won't wait.", options: { direction: 'rtl', language: 'en', pageWidthPx: 1200 } },
  { name: 'thought', kind: 'thought', text: 'Is that... a cat?', options: { direction: 'rtl', language: 'en', pageWidthPx: 1200 } },
  { name: 'shout', kind: 'shout', text: "WAIT! DON'T LET IT LEAVE!", options: { direction: 'rtl', language: 'en', pageWidthPx: 1200 } },
  { name: 'whisper', kind: 'whisper', text: 'psst... over here', options: { direction: 'rtl', language: 'en', pageWidthPx: 1200 } },
  { name: 'narration', kind: 'narration', text: 'Platform 3. 7:42 pm.', options: { direction: 'rtl', language: 'en', pageWidthPx: 1200 } },
  { name: 'vertical-ja', kind: 'speech', text: '電車はもう行っちゃったよ！', options: { direction: 'rtl', language: 'ja', pageWidthPx: 1200 } },
];

describe('golden images', () => {
  it.each(kinds)('$name balloon', async ({ name, kind, text, options }) => {
    const canvas = createCanvas(420, 320);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#d8d8d8';
    ctx.fillRect(0, 0, 420, 320);
    const panel: LetteringPanelInput = {
      rect: { x: 10, y: 10, width: 400, height: 300 },
      characters: [{ id: 'aki', box: [0.6, 0.45, 0.95, 1] }],
      dialogs: [{ speaker: kind === 'narration' ? 'narrator' : 'aki', text, kind }],
    };
    drawBalloons(ctx, planLettering([panel], options), options);
    await expectMatchesGolden(`lettering/${name}.png`, canvas.toBuffer('image/png'));
  });

  it.each([
    { name: 'four-panels-rtl', count: 4, direction: 'rtl' as const },
    { name: 'six-panels-ltr', count: 6, direction: 'ltr' as const },
  ])('$name page', async ({ name, count, direction }) => {
    const geometry = digitalGeometry({ widthPx: 800 });
    const layout = layoutPage({ panelCount: count, aspects: [16 / 9, 1, 0.7, 1.5, 1.5, 1.2].slice(0, count), direction, geometry });
    const panels = await Promise.all(
      layout.panels.map(async (_, i) => ({
        png: await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 235 - i * 12, g: 235 - i * 6, b: 225 } } }).png().toBuffer(),
        lettering: {
          characters: [{ id: 'aki', box: [0.55, 0.35, 0.95, 1] as const }],
          dialogs: [
            { speaker: 'aki', text: ['Here we go!', 'Wait for me!', 'Hmm...', 'Is that a cat?', 'Run!', 'Fine.'][i]!, kind: (['speech', 'shout', 'thought', 'speech', 'whisper', 'speech'] as const)[i]! },
            ...(i === 0 ? [{ speaker: 'narrator', text: 'Tokyo, 7:42 pm.', kind: 'narration' as const }] : []),
          ],
        },
      })),
    );
    const page = await composePage({ layout, panels, language: 'en' });
    await expectMatchesGolden(`pages/${name}.png`, page.png);
  });
});

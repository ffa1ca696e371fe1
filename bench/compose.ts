import sharp from 'sharp';
import { composePage } from '../src/compose/page.js';
import { digitalGeometry, fitPanelImage, layoutPage } from '../src/compose/layout/index.js';
import type { LetteringPanelInput } from '../src/compose/types.js';

/**
 * Composing a 6-panel page with 10 balloons at 1600 px, as a ratio to what sharp
 * alone needs to composite and encode the same six (already fitted) panels with
 * no lettering. Both run in this process, alternated, so machine load hits both.
 * Target: ratio ≤ 2.0.
 */

async function panelImages(sizes: { width: number; height: number }[]): Promise<Buffer[]> {
  return Promise.all(
    sizes.map((s, i) =>
      sharp({ create: { width: s.width, height: s.height, channels: 3, background: { r: 200 - i * 20, g: 180, b: 160 + i * 10 } } })
        .composite([{ input: Buffer.from(`<svg width="${s.width}" height="${s.height}"><circle cx="${s.width / 2}" cy="${s.height / 2}" r="${Math.min(s.width, s.height) / 3}" fill="#222"/></svg>`) }])
        .png()
        .toBuffer(),
    ),
  );
}

const TEXTS = [
  "We're late again!",
  'The train leaves at seven sharp and you know it.',
  'Is that... a cat?!',
  'WAIT!',
  'psst, over here',
  'Platform 3. 7:42 pm.',
  'His name is Mochi. He missed the train too.',
  'Fine.',
  'But the cat sits with me.',
  'Mrrp.',
] as const;
const KINDS = ['speech', 'speech', 'thought', 'shout', 'whisper', 'narration', 'speech', 'speech', 'speech', 'speech'] as const;

export async function benchCompose(rounds = 5) {
  const geometry = digitalGeometry();
  const layout = layoutPage({ panelCount: 6, direction: 'rtl', geometry });
  const slots = [...layout.panels].sort((a, b) => a.index - b.index);
  const images = await panelImages(slots.map((s) => ({ width: Math.round(s.rect.width * 0.6), height: Math.round(s.rect.height * 0.6) })));
  const lettering: Omit<LetteringPanelInput, 'rect'>[] = slots.map((_, i) => ({
    characters: [{ id: 'a', box: [0.55, 0.3, 0.95, 1] }],
    dialogs: TEXTS.map((text, k) => ({ text, kind: KINDS[k]!, speaker: KINDS[k] === 'narration' ? 'narrator' : 'a' })).filter((_, k) => k % 6 === i || (i < 4 && k === 6 + i)),
  }));
  const balloons = lettering.reduce((n, l) => n + l.dialogs.length, 0);

  const composeOnce = () => composePage({ layout, language: 'en', panels: images.map((png, i) => ({ png, lettering: lettering[i]! })) });
  const sharpOnce = async () => {
    const fitted = await Promise.all(slots.map((s) => fitPanelImage(images[s.index]!, s.rect)));
    return sharp({ create: { width: geometry.widthPx, height: geometry.heightPx, channels: 3, background: '#ffffff' } })
      .composite(slots.map((s, i) => ({ input: fitted[i]!, left: s.rect.x, top: s.rect.y })))
      .png()
      .toBuffer();
  };

  await composeOnce(); // warm-up: fonts, caches
  await sharpOnce();
  let composeMs = 0;
  let sharpMs = 0;
  let peakRss = process.memoryUsage().rss;
  for (let r = 0; r < rounds; r++) {
    let t = performance.now();
    await composeOnce();
    composeMs += performance.now() - t;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    t = performance.now();
    await sharpOnce();
    sharpMs += performance.now() - t;
  }
  return { balloons, composeMs: composeMs / rounds, sharpMs: sharpMs / rounds, ratio: composeMs / sharpMs, peakRssMb: peakRss / 1024 / 1024 };
}

import { createCanvas } from '@napi-rs/canvas';
import { describe, expect, it } from 'vitest';
import type { Box } from '../src/domain/box.js';
import { boxIntersectionArea } from '../src/domain/box.js';
import type { DialogKind } from '../src/domain/model.js';
import {
  balanceLines,
  breakPieces,
  drawBalloons,
  enclosingEllipse,
  FONT_JAPANESE,
  fontFor,
  placeDialogBoxes,
  planLettering,
  registerLetteringFonts,
} from '../src/compose/lettering/index.js';
import { verticalGlyphs } from '../src/compose/lettering/vertical.js';
import type { BalloonPlan, LetteringOptions, LetteringPanelInput } from '../src/compose/types.js';

const en: LetteringOptions = { direction: 'rtl', language: 'en', pageWidthPx: 1600 };
const ja: LetteringOptions = { direction: 'rtl', language: 'ja', pageWidthPx: 1600 };
const rect = { x: 100, y: 100, width: 700, height: 500 };

const corpus: { text: string; kind: DialogKind }[] = [
  { text: 'Hi!', kind: 'speech' },
  { text: "We're late again. The train leaves at seven sharp and you know it!", kind: 'speech' },
  { text: 'Is that... a cat?!', kind: 'thought' },
  { text: 'WAIT! DON\'T LET IT LEAVE!', kind: 'shout' },
  { text: 'psst, over here, quietly', kind: 'whisper' },
  { text: 'Platform 3. 7:42 pm. The last train home.', kind: 'narration' },
  { text: 'Supercalifragilisticexpialidocious', kind: 'speech' },
  { text: '電車はもう行っちゃったよ！どうする？', kind: 'speech' },
  { text: 'これは猫ですか？', kind: 'thought' },
];

/** How far inside its outline (1 = on it) each glyph corner of a plan lies, measured on a real canvas. */
function worstGlyphExtent(plan: BalloonPlan): number {
  registerLetteringFonts();
  const ctx = createCanvas(10, 10).getContext('2d');
  const japanese = /[\u3040-\u9fff]/u.test(plan.lines.join(''));
  ctx.font = fontFor(plan.kind, plan.fontSizePx, japanese);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  const cx = plan.rect.x + plan.rect.width / 2;
  const cy = plan.rect.y + plan.rect.height / 2;
  const corners: [number, number][] = [];
  const size = plan.fontSizePx;
  if (plan.vertical) {
    const pitch = size * 1.35;
    const left = cx + ((plan.lines.length - 1) * pitch) / 2;
    plan.lines.forEach((column, i) => {
      const glyphs = verticalGlyphs(column);
      glyphs.forEach((g, k) => {
        const m = ctx.measureText(g.text);
        const x = left - i * pitch;
        const y = cy - (glyphs.length * size) / 2 + size / 2 + k * size;
        const half = Math.max(m.actualBoundingBoxLeft, m.actualBoundingBoxRight, m.actualBoundingBoxAscent, m.actualBoundingBoxDescent);
        corners.push([x - half, y - half], [x + half, y + half], [x - half, y + half], [x + half, y - half]);
      });
    });
  } else {
    const lh = size * 1.18;
    const top = cy - ((plan.lines.length - 1) * lh) / 2;
    plan.lines.forEach((line, i) => {
      const m = ctx.measureText(line);
      const y = top + i * lh;
      corners.push(
        [cx - m.actualBoundingBoxLeft, y - m.actualBoundingBoxAscent],
        [cx + m.actualBoundingBoxRight, y - m.actualBoundingBoxAscent],
        [cx - m.actualBoundingBoxLeft, y + m.actualBoundingBoxDescent],
        [cx + m.actualBoundingBoxRight, y + m.actualBoundingBoxDescent],
      );
    });
  }
  const rx = plan.rect.width / 2;
  const ry = plan.rect.height / 2;
  return Math.max(
    ...corners.map(([x, y]) =>
      plan.kind === 'narration' ? Math.max(Math.abs(x - cx) / rx, Math.abs(y - cy) / ry) : Math.hypot((x - cx) / rx, (y - cy) / ry),
    ),
  );
}

function plansFor(text: string, kind: DialogKind, box: Box, options = en): BalloonPlan[] {
  return planLettering([{ rect, dialogs: [{ speaker: kind === 'narration' ? 'narrator' : 'aki', text, kind, box }], characters: [{ id: 'aki', box: [0.6, 0.3, 0.95, 1] }] }], options);
}

describe('text fitting', () => {
  it('balances lines into a diamond: the middle line is the longest', () => {
    const widths = Array<number>(30).fill(10);
    const trailing = Array<number>(30).fill(0);
    const lines = balanceLines(widths, trailing, 3).map((l) => l.length);
    expect(lines.reduce((a, b) => a + b)).toBe(30);
    expect(lines[1]).toBeGreaterThan(lines[0]!);
    expect(lines[1]).toBeGreaterThan(lines[2]!);
  });

  it('computes an ellipse that encloses every line corner', () => {
    const widths = [80, 140, 120, 60];
    const lh = 20;
    const { radiusX, radiusY } = enclosingEllipse(widths, lh);
    widths.forEach((w, i) => {
      for (const y of [-40 + i * lh, -40 + (i + 1) * lh]) expect((w / 2 / radiusX) ** 2 + (y / radiusY) ** 2).toBeLessThanOrEqual(1);
    });
  });

  it('breaks Latin at UAX #14 opportunities and Japanese under kinsoku rules', () => {
    expect(breakPieces('Wait, what?').join('|')).toBe('Wait, |what?');
    // Japanese breaks at phrases, not after every character.
    const phrases = breakPieces('電車はもう行っちゃったよ！どうする？');
    expect(phrases.join('')).toBe('電車はもう行っちゃったよ！どうする？');
    expect(phrases.length).toBeGreaterThan(1);
    expect(phrases.length).toBeLessThan(8);
    const pieces = breakPieces('「もう、行こう。」');
    expect(pieces.join('')).toBe('「もう、行こう。」');
    for (const p of pieces.slice(1)) expect('、。」）ー').not.toContain(p[0]);
    for (const p of pieces) expect(p.at(-1) === '「' && p.length > 0 && p !== pieces.at(-1)).toBe(false);
  });

  it.each(corpus.map((c) => [c.kind, c.text] as const))('never lets %s text overflow its balloon: %s', (kind, text) => {
    for (const box of [[0.05, 0.05, 0.6, 0.5], [0.1, 0.1, 0.35, 0.3]] as Box[]) {
      for (const options of [en, ja]) {
        for (const plan of plansFor(text, kind, box, options)) {
          if (!plan.fitted) continue;
          const limit = plan.kind === 'thought' ? 0.92 : 1;
          expect(worstGlyphExtent(plan)).toBeLessThanOrEqual(limit);
        }
      }
    }
  });

  it('letters Japanese vertically in rtl stories and horizontally otherwise', () => {
    expect(plansFor('電車はもう行っちゃったよ！', 'speech', [0.05, 0.05, 0.5, 0.6], ja)[0]!.vertical).toBe(true);
    expect(plansFor('電車はもう行っちゃったよ！', 'speech', [0.05, 0.05, 0.5, 0.6], { ...ja, direction: 'ltr' })[0]!.vertical).toBe(false);
    expect(plansFor('The train left.', 'speech', [0.05, 0.05, 0.5, 0.6], ja)[0]!.vertical).toBe(false);
    expect(verticalGlyphs('「あ、ー」').map((g) => g.text)).toEqual(['\ufe41', 'あ', '\ufe11', 'ー', '\ufe42']);
    expect(verticalGlyphs('ー')[0]!.rotate).toBe(true);
  });

  it('splits text too long for its box into linked balloons, each fitted', () => {
    const long = 'We waited for an hour. Then another. The rain never stopped and the cat kept sneezing. Finally the lights came on.';
    const plans = plansFor(long, 'speech', [0.05, 0.05, 0.3, 0.45]);
    expect(plans.length).toBeGreaterThan(1);
    expect(plans.every((p) => p.fitted)).toBe(true);
    expect(plans.map((p) => p.part)).toEqual(plans.map((_, i) => i));
    expect(plans.map((p) => p.lines.join(' ')).join(' ')).toBe(long);
  });

  it('flags text that cannot fit even split, instead of clipping it', () => {
    const plans = plansFor('Pneumonoultramicroscopicsilicovolcanoconiosis', 'speech', [0.05, 0.05, 0.12, 0.1]);
    expect(plans[0]!.fitted).toBe(false);
    expect(plans[0]!.lines.join('')).toBe('Pneumonoultramicroscopicsilicovolcanoconiosis');
  });
});

describe('tails and placement', () => {
  it('starts the tail on the outline and points it at the speaker head, about halfway', () => {
    const [plan] = plansFor('Over here!', 'speech', [0.05, 0.05, 0.4, 0.3]);
    const { from, to } = plan!.tail!;
    const cx = plan!.rect.x + plan!.rect.width / 2;
    const cy = plan!.rect.y + plan!.rect.height / 2;
    expect(Math.hypot((from.x - cx) / (plan!.rect.width / 2), (from.y - cy) / (plan!.rect.height / 2))).toBeCloseTo(1, 5);
    const head = { x: rect.x + 0.775 * rect.width, y: rect.y + (0.3 + 0.7 * 0.22) * rect.height };
    const toHead = Math.atan2(head.y - from.y, head.x - from.x);
    expect(Math.abs(Math.atan2(to.y - from.y, to.x - from.x) - toHead)).toBeLessThan(1e-6);
    const share = Math.hypot(to.x - from.x, to.y - from.y) / Math.hypot(head.x - from.x, head.y - from.y);
    expect(share).toBeGreaterThan(0.4);
    expect(share).toBeLessThan(0.7);
  });

  it('routes a tail around a balloon that stands between it and the head', () => {
    // Balloon A is high on the left, its speaker low on the right; balloon B sits on the direct line.
    const panel: LetteringPanelInput = {
      rect,
      characters: [{ id: 'aki', box: [0.75, 0.7, 0.95, 1] }],
      dialogs: [
        { speaker: 'aki', text: 'Are you coming or not?', kind: 'speech', box: [0.05, 0.05, 0.35, 0.3] },
        { speaker: 'narrator', text: 'Meanwhile, at the station, nobody moved at all.', kind: 'speech', box: [0.38, 0.32, 0.68, 0.62] },
      ],
    };
    const [a, b] = planLettering([panel], en);
    const { from, to } = a!.tail!;
    const bx = b!.rect.x + b!.rect.width / 2;
    const by = b!.rect.y + b!.rect.height / 2;
    for (let t = 0; t <= 1; t += 0.02) {
      const x = from.x + (to.x - from.x) * t;
      const y = from.y + (to.y - from.y) * t;
      expect(((x - bx) / (b!.rect.width / 2)) ** 2 + ((y - by) / (b!.rect.height / 2)) ** 2).toBeGreaterThan(1);
    }
    // It still aims at the head.
    const head = { x: rect.x + 0.85 * rect.width, y: rect.y + (0.7 + 0.3 * 0.22) * rect.height };
    const cross = (to.x - from.x) * (head.y - from.y) - (to.y - from.y) * (head.x - from.x);
    expect(Math.abs(cross) / Math.hypot(head.x - from.x, head.y - from.y)).toBeLessThan(1e-6 * rect.width);
    // Alone, the same balloon gets the full-length tail from the nearest point.
    const alone = planLettering([{ ...panel, dialogs: [panel.dialogs[0]!] }], en)[0]!.tail!;
    const share = (t: { from: { x: number; y: number }; to: { x: number; y: number } }) =>
      Math.hypot(t.to.x - t.from.x, t.to.y - t.from.y) / Math.hypot(head.x - t.from.x, head.y - t.from.y);
    expect(share(alone)).toBeCloseTo(0.55, 2);
  });

  it('gives narration no tail and puts it in the reading-start corner', () => {
    const rtlBox = placeDialogBoxes({ rect, dialogs: [{ speaker: 'narrator', text: 'Later.', kind: 'narration' }], characters: [] }, en)[0]!;
    expect(rtlBox[2]).toBeGreaterThan(0.9);
    expect(rtlBox[1]).toBeLessThan(0.05);
    const ltrBox = placeDialogBoxes({ rect, dialogs: [{ speaker: 'narrator', text: 'Later.', kind: 'narration' }], characters: [] }, { ...en, direction: 'ltr' })[0]!;
    expect(ltrBox[0]).toBeLessThan(0.1);
    expect(plansFor('Later.', 'narration', rtlBox)[0]!.tail).toBeNull();
  });

  it('places balloons off heads and off each other, in reading order', () => {
    const panel: LetteringPanelInput = {
      rect,
      characters: [
        { id: 'aki', box: [0.6, 0.25, 0.95, 1] },
        { id: 'ren', box: [0.05, 0.2, 0.4, 1] },
      ],
      dialogs: [
        { speaker: 'aki', text: 'You said seven sharp.', kind: 'speech' },
        { speaker: 'ren', text: 'I said seven-ish!', kind: 'speech' },
        { speaker: 'aki', text: 'Unbelievable.', kind: 'speech' },
      ],
    };
    const boxes = placeDialogBoxes(panel, en);
    const heads: Box[] = panel.characters.map((c) => [c.box[0], c.box[1], c.box[2], c.box[1] + (c.box[3] - c.box[1]) * 0.3]);
    for (const [i, b] of boxes.entries()) {
      for (const h of heads) expect(boxIntersectionArea(b, h)).toBeLessThan(0.002);
      for (const other of boxes.slice(i + 1)) expect(boxIntersectionArea(b, other)).toBe(0);
      for (const v of b) expect(v >= 0 && v <= 1).toBe(true);
    }
    // The first balloon (Aki, on the right) is read before Ren's: to its right or above it.
    expect(boxes[0]![0] > boxes[1]![0] || boxes[0]![1] < boxes[1]![1]).toBe(true);
  });
});

describe('drawing', () => {
  it('renders CJK with real glyphs, not tofu', () => {
    registerLetteringFonts();
    const render = (text: string, family: string) => {
      const canvas = createCanvas(64, 64);
      const ctx = canvas.getContext('2d');
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, 64, 64);
      ctx.fillStyle = '#000';
      ctx.font = `48px "${family}"`;
      ctx.fillText(text, 8, 52);
      return canvas.data();
    };
    const cat = render('猫', FONT_JAPANESE);
    const train = render('電', FONT_JAPANESE);
    const inkOf = (d: Buffer) => d.reduce((n, v, i) => (i % 4 === 0 && v < 128 ? n + 1 : n), 0);
    expect(inkOf(cat)).toBeGreaterThan(100);
    // Tofu boxes look alike for every character; real glyphs differ.
    expect(cat.equals(train)).toBe(false);
    expect(cat.equals(render('猫', 'No Such Font Family'))).toBe(false);
  });

  it('draws borderless narration without a box but with a white halo', () => {
    const draw = (narrationStyle: 'boxed' | 'borderless') => {
      const canvas = createCanvas(500, 300);
      const ctx = canvas.getContext('2d');
      ctx.fillStyle = '#777';
      ctx.fillRect(0, 0, 500, 300);
      const options = { ...en, pageWidthPx: 1000, narrationStyle };
      const plans = planLettering([{ rect: { x: 0, y: 0, width: 500, height: 300 }, dialogs: [{ speaker: 'narrator', text: 'That night.', kind: 'narration' }], characters: [] }], options);
      drawBalloons(ctx, plans, options);
      const corner = ctx.getImageData(Math.round(plans[0]!.rect.x + 3), Math.round(plans[0]!.rect.y + 3), 1, 1).data[0]!;
      const white = [...ctx.getImageData(0, 0, 500, 300).data].filter((v, i) => i % 4 === 0 && v > 240).length;
      return { corner, white };
    };
    const boxed = draw('boxed');
    const borderless = draw('borderless');
    expect(boxed.corner).toBeGreaterThan(240); // paper inside the box
    expect(borderless.corner).toBe(0x77); // the art shows through
    expect(borderless.white).toBeGreaterThan(0); // the halo
    expect(borderless.white).toBeLessThan(boxed.white);
  });

  it('draws every balloon kind with its outline and text', () => {
    const canvas = createCanvas(1000, 700);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#888';
    ctx.fillRect(0, 0, 1000, 700);
    const panels: LetteringPanelInput[] = corpus.slice(0, 6).map((c, i) => ({
      rect: { x: (i % 3) * 330, y: Math.floor(i / 3) * 350, width: 320, height: 340 },
      dialogs: [{ speaker: c.kind === 'narration' ? 'narrator' : 'aki', text: c.text, kind: c.kind }],
      characters: [{ id: 'aki', box: [0.3, 0.5, 0.7, 1] }],
    }));
    const plans = planLettering(panels, { ...en, pageWidthPx: 1000 });
    drawBalloons(ctx, plans, { ...en, pageWidthPx: 1000 });
    const data = ctx.getImageData(0, 0, 1000, 700).data;
    const pixel = (x: number, y: number) => data[(Math.round(y) * 1000 + Math.round(x)) * 4]!;
    for (const plan of plans) {
      const cx = plan.rect.x + plan.rect.width / 2;
      const cy = plan.rect.y + plan.rect.height / 2;
      const ry = plan.rect.height / 2;
      if (plan.kind === 'narration') {
        expect(pixel(plan.rect.x + 4, plan.rect.y + 4)).toBeGreaterThan(200); // paper inside the box
        expect(pixel(plan.rect.x, cy)).toBeLessThan(120); // its border
        continue;
      }
      // Paper between the text and the outline above the text (the tails point down here).
      const inner = plan.kind === 'thought' ? 0.9 : 0.93;
      expect(pixel(cx, cy - Math.min(inner * ry, ry - (plan.kind === 'shout' ? 5 : 4)))).toBeGreaterThan(200);
      // The outline itself, just outside (whispers are dashed, so not every point is inked).
      if (plan.kind === 'speech') expect(pixel(cx, cy - ry)).toBeLessThan(120);
      // Ink somewhere on the text rows.
      let ink = 0;
      for (let y = cy - ry * 0.6; y < cy + ry * 0.6; y += 2) {
        for (let x = cx - plan.rect.width * 0.3; x < cx + plan.rect.width * 0.3; x++) if (pixel(x, y) < 90) ink++;
      }
      expect(ink).toBeGreaterThan(0);
    }
  });
});

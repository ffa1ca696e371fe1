import type { Box } from '../../domain/box.js';
import { NARRATOR } from '../../domain/model.js';
import type { BalloonPlan, LetteringOptions, LetteringPanelInput, Point, Rect } from '../types.js';
import { breakPieces, isJapaneseText, japaneseCharacterPieces, splitSentences } from './line-breaking.js';
import { measurerFor } from './measure.js';
import { placeDialogBoxes } from './placement.js';
import { fitText, layoutAtSize, type TextBlock } from './text-fit.js';
import { usesVerticalText } from './vertical.js';

/**
 * Balloon geometry for every dialog of every panel: font size, lines, the
 * balloon's ellipse (or caption rectangle) inside its box, and the tail toward
 * the speaker's head. Pure and deterministic; drawing is separate.
 */

export const MIN_FONT_SHARE = 0.013;
export const MAX_FONT_SHARE = 0.02;
const MAX_PARTS = 3;

function toPagePx(box: Box, rect: Rect): Rect {
  return {
    x: rect.x + box[0] * rect.width,
    y: rect.y + box[1] * rect.height,
    width: (box[2] - box[0]) * rect.width,
    height: (box[3] - box[1]) * rect.height,
  };
}

function insideEllipse(p: Point, r: Rect, grow = 1): boolean {
  const rx = (r.width / 2) * grow;
  const ry = (r.height / 2) * grow;
  return ((p.x - r.x - r.width / 2) / rx) ** 2 + ((p.y - r.y - r.height / 2) / ry) ** 2 <= 1;
}

/**
 * The tail: it starts at the point of the outline nearest the speaker's head and
 * runs about 55 % of the way there. It never crosses another balloon: a start a
 * little further round the outline is taken when that keeps the full length
 * clear, else the tail is shortened to stop before the other balloon.
 */
export function tailToward(center: Point, rx: number, ry: number, head: Point, obstacles: Rect[] = []): { from: Point; to: Point } {
  const own = { x: center.x - rx, y: center.y - ry, width: 2 * rx, height: 2 * ry };
  if (insideEllipse(head, own)) {
    // The head is under the balloon: a short tail straight down.
    return { from: { x: center.x, y: center.y + ry }, to: { x: center.x, y: center.y + ry * 1.5 } };
  }
  const REACH = 0.55;
  let best: { from: Point; to: Point; cost: number } | undefined;
  const steps = 144;
  for (let k = 0; k < steps; k++) {
    const angle = (k / steps) * Math.PI * 2;
    const from = { x: center.x + rx * Math.cos(angle), y: center.y + ry * Math.sin(angle) };
    const gap = Math.hypot(head.x - from.x, head.y - from.y);
    // How far toward the head the tail can go before it meets anything.
    let reach = REACH;
    for (let t = 0.01; t <= REACH; t += 0.01) {
      const p = { x: from.x + (head.x - from.x) * t, y: from.y + (head.y - from.y) * t };
      if (insideEllipse(p, own, 0.98) || obstacles.some((o) => insideEllipse(p, o, 1.06))) {
        reach = t - 0.02;
        break;
      }
    }
    if (reach < 0.12) continue;
    const cost = gap + (REACH - reach) * gap * 3;
    if (!best || cost < best.cost - 1e-9) {
      best = { from, to: { x: from.x + (head.x - from.x) * reach, y: from.y + (head.y - from.y) * reach }, cost };
    }
  }
  if (!best) {
    // Boxed in on every side: a stub toward the head.
    const dx = head.x - center.x;
    const dy = head.y - center.y;
    const t = 1 / Math.sqrt((dx / rx) ** 2 + (dy / ry) ** 2);
    const from = { x: center.x + dx * t, y: center.y + dy * t };
    return { from, to: { x: from.x + (head.x - from.x) * 0.12, y: from.y + (head.y - from.y) * 0.12 } };
  }
  return { from: best.from, to: best.to };
}

interface Sized {
  block: TextBlock;
  fitted: boolean;
}

function fitInto(text: string, kind: BalloonPlan['kind'], area: Rect, options: LetteringOptions, vertical: boolean): TextBlock | null {
  const japanese = isJapaneseText(text);
  const page = options.pageWidthPx;
  const maxShare = kind === 'shout' ? MAX_FONT_SHARE * 1.3 : kind === 'whisper' ? MAX_FONT_SHARE * 0.85 : MAX_FONT_SHARE;
  const measure = measurerFor(kind, japanese, vertical);
  const fitOptions = {
    minSizePx: Math.max(8, Math.round(page * MIN_FONT_SHARE)),
    maxSizePx: Math.max(9, Math.round(page * maxShare)),
    // Captions are rectangles: their corners may use the box's full extent.
    maxRadiusX: (area.width / 2) * (kind === 'narration' ? 1.2 : 1),
    maxRadiusY: (area.height / 2) * (kind === 'narration' ? 1.2 : 1),
    vertical,
  };
  const byPhrase = fitText(breakPieces(text), measure, fitOptions);
  // Japanese phrases too long for the balloon may still break between characters.
  return byPhrase ?? (japanese ? fitText(japaneseCharacterPieces(text), measure, fitOptions) : null);
}

/**
 * Where the parts of a split dialog go: the first in its own box, the next ones
 * in boxes of the same size just after it in reading order (below, else beside
 * toward the reading direction), kept inside the panel.
 */
function linkedAreas(area: Rect, count: number, panel: Rect, direction: LetteringOptions['direction']): Rect[] {
  const gap = Math.min(area.width, area.height) * 0.08;
  const clampX = (x: number) => Math.min(Math.max(panel.x, x), panel.x + panel.width - area.width);
  const clampY = (y: number) => Math.min(Math.max(panel.y, y), panel.y + panel.height - area.height);
  return Array.from({ length: count }, (_, i) => {
    if (i === 0) return area;
    const below = area.y + i * (area.height * 0.75 + gap);
    if (below + area.height <= panel.y + panel.height) return { ...area, y: below, x: clampX(area.x + (direction === 'rtl' ? -1 : 1) * i * area.width * 0.35) };
    const sideways = area.x + (direction === 'rtl' ? -1 : 1) * i * (area.width + gap);
    return { ...area, x: clampX(sideways), y: clampY(area.y + i * area.height * 0.3) };
  });
}

/** Fits the text whole, or split at sentences into up to three linked balloons next to each other. */
function sizeDialog(
  text: string,
  kind: BalloonPlan['kind'],
  area: Rect,
  panel: Rect,
  options: LetteringOptions,
  vertical: boolean,
): { parts: { text: string; area: Rect; sized: Sized }[] } {
  const whole = fitInto(text, kind, area, options, vertical);
  if (whole) return { parts: [{ text, area, sized: { block: whole, fitted: true } }] };
  const sentences = splitSentences(text);
  for (let count = 2; count <= Math.min(MAX_PARTS, sentences.length); count++) {
    const groups = groupSentences(sentences, count);
    const slices = linkedAreas(area, count, panel, options.direction);
    const blocks = groups.map((g, i) => fitInto(g, kind, slices[i]!, options, vertical));
    if (blocks.every((b) => b)) {
      return { parts: groups.map((g, i) => ({ text: g, area: slices[i]!, sized: { block: blocks[i]!, fitted: true } })) };
    }
  }
  // Not even linked balloons fit: letter at the minimum size, centred, and flag it.
  const japanese = isJapaneseText(text);
  const size = Math.max(8, Math.round(options.pageWidthPx * MIN_FONT_SHARE));
  const block = layoutAtSize(breakPieces(text), measurerFor(kind, japanese, vertical), size, {
    minSizePx: size,
    maxSizePx: size,
    maxRadiusX: Infinity,
    maxRadiusY: Infinity,
    vertical,
  })!;
  return { parts: [{ text, area, sized: { block, fitted: false } }] };
}

function groupSentences(sentences: string[], count: number): string[] {
  const total = sentences.join(' ').length;
  const groups: string[] = [];
  let current: string[] = [];
  for (const s of sentences) {
    current.push(s);
    const remainingGroups = count - groups.length - 1;
    const remainingSentences = sentences.length - sentences.indexOf(s) - 1;
    if ((current.join(' ').length >= total / count && remainingGroups > 0) || remainingSentences === remainingGroups) {
      if (remainingGroups > 0) {
        groups.push(current.join(' '));
        current = [];
      }
    }
  }
  if (current.length) groups.push(current.join(' '));
  return groups;
}

export function planLettering(panels: LetteringPanelInput[], options: LetteringOptions): BalloonPlan[] {
  const plans: BalloonPlan[] = [];
  // Tails are routed once every balloon of the panel is known, around the others.
  const tailTargets = new Map<number, Point>();
  panels.forEach((panel, panelIndex) => {
    const firstOfPanel = plans.length;
    const boxes = placeDialogBoxes(panel, options);
    panel.dialogs.forEach((dialog, dialogIndex) => {
      const area = toPagePx(dialog.box ?? boxes[dialogIndex]!, panel.rect);
      const vertical = usesVerticalText(options.language, options.direction, dialog.text, isJapaneseText);
      const { parts } = sizeDialog(dialog.text, dialog.kind, area, panel.rect, options, vertical);
      const speaker = dialog.speaker === NARRATOR ? undefined : panel.characters.find((c) => c.id === dialog.speaker);
      parts.forEach((part, partIndex) => {
        const { block } = part.sized;
        let rect: Rect;
        if (dialog.kind === 'narration') {
          // A caption box hugging its text, in the corner where reading starts.
          const pad = block.fontSizePx * 0.5;
          const w = (vertical ? block.lines.length * block.lineHeightPx : Math.max(...block.lineWidths)) + 2 * pad;
          const h = (vertical ? Math.max(...block.lineWidths) : block.lines.length * block.lineHeightPx) + 2 * pad;
          const x = options.direction === 'rtl' ? part.area.x + part.area.width - w : part.area.x;
          rect = { x, y: part.area.y, width: w, height: h };
        } else {
          const cx = part.area.x + part.area.width / 2;
          const cy = part.area.y + part.area.height / 2;
          rect = { x: cx - block.radiusX, y: cy - block.radiusY, width: block.radiusX * 2, height: block.radiusY * 2 };
        }
        let target: Point | undefined;
        if (dialog.kind !== 'narration' && dialog.speaker !== NARRATOR && partIndex === 0) {
          const center = { x: rect.x + rect.width / 2, y: rect.y + rect.height / 2 };
          target = speaker
            ? {
                x: panel.rect.x + ((speaker.box[0] + speaker.box[2]) / 2) * panel.rect.width,
                y: panel.rect.y + (speaker.box[1] + (speaker.box[3] - speaker.box[1]) * 0.22) * panel.rect.height,
              }
            : // Off-panel speaker: point at the panel's bottom edge below the balloon.
              { x: center.x, y: panel.rect.y + panel.rect.height };
        }
        if (target) tailTargets.set(plans.length, target);
        plans.push({
          panelIndex,
          dialogIndex,
          kind: dialog.kind,
          rect,
          tail: null,
          fontSizePx: block.fontSizePx,
          lines: block.lines,
          vertical,
          fitted: part.sized.fitted,
          ...(parts.length > 1 ? { part: partIndex } : {}),
        });
      });
    });
    const panelPlans = plans.slice(firstOfPanel);
    panelPlans.forEach((plan, k) => {
      const target = tailTargets.get(firstOfPanel + k);
      if (!target) return;
      const others = panelPlans.filter((o) => o !== plan).map((o) => o.rect);
      const center = { x: plan.rect.x + plan.rect.width / 2, y: plan.rect.y + plan.rect.height / 2 };
      plan.tail = tailToward(center, plan.rect.width / 2, plan.rect.height / 2, target, others);
    });
  });
  return plans;
}

import type { Box } from '../../domain/box.js';
import { NARRATOR } from '../../domain/model.js';
import type { BalloonPlan, LetteringOptions, LetteringPanelInput, Point, Rect } from '../types.js';
import { breakPieces, isJapaneseText, splitSentences } from './line-breaking.js';
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

/** The tail: from the outline toward the head (upper part of the box), stopping about halfway. */
export function tailToward(center: Point, rx: number, ry: number, head: Point): { from: Point; to: Point } {
  const dx = head.x - center.x;
  const dy = head.y - center.y;
  const t = 1 / Math.sqrt((dx / rx) ** 2 + (dy / ry) ** 2 || 1);
  if (t >= 1) {
    // The head is under the balloon: a short tail straight down.
    const from = { x: center.x, y: center.y + ry };
    return { from, to: { x: center.x, y: center.y + ry * 1.5 } };
  }
  const from = { x: center.x + dx * t, y: center.y + dy * t };
  const len = Math.hypot(head.x - from.x, head.y - from.y);
  const reach = 0.55 * len;
  return { from, to: { x: from.x + ((head.x - from.x) / len) * reach, y: from.y + ((head.y - from.y) / len) * reach } };
}

interface Sized {
  block: TextBlock;
  fitted: boolean;
}

function fitInto(text: string, kind: BalloonPlan['kind'], area: Rect, options: LetteringOptions, vertical: boolean): TextBlock | null {
  const japanese = isJapaneseText(text);
  const page = options.pageWidthPx;
  const maxShare = kind === 'shout' ? MAX_FONT_SHARE * 1.3 : kind === 'whisper' ? MAX_FONT_SHARE * 0.85 : MAX_FONT_SHARE;
  return fitText(breakPieces(text), measurerFor(kind, japanese, vertical), {
    minSizePx: Math.max(8, Math.round(page * MIN_FONT_SHARE)),
    maxSizePx: Math.max(9, Math.round(page * maxShare)),
    // Captions are rectangles: their corners may use the box's full extent.
    maxRadiusX: (area.width / 2) * (kind === 'narration' ? 1.2 : 1),
    maxRadiusY: (area.height / 2) * (kind === 'narration' ? 1.2 : 1),
    vertical,
  });
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
  panels.forEach((panel, panelIndex) => {
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
        let tail: BalloonPlan['tail'] = null;
        if (dialog.kind !== 'narration' && dialog.speaker !== NARRATOR && partIndex === 0) {
          const center = { x: rect.x + rect.width / 2, y: rect.y + rect.height / 2 };
          const target = speaker
            ? {
                x: panel.rect.x + ((speaker.box[0] + speaker.box[2]) / 2) * panel.rect.width,
                y: panel.rect.y + (speaker.box[1] + (speaker.box[3] - speaker.box[1]) * 0.22) * panel.rect.height,
              }
            : // Off-panel speaker: point at the panel's bottom edge below the balloon.
              { x: center.x, y: panel.rect.y + panel.rect.height };
          tail = tailToward(center, rect.width / 2, rect.height / 2, target);
        }
        plans.push({
          panelIndex,
          dialogIndex,
          kind: dialog.kind,
          rect,
          tail,
          fontSizePx: block.fontSizePx,
          lines: block.lines,
          vertical,
          fitted: part.sized.fitted,
          ...(parts.length > 1 ? { part: partIndex } : {}),
        });
      });
    });
  });
  return plans;
}

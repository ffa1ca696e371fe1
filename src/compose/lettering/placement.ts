import type { Box } from '../../domain/box.js';
import { boxIntersectionArea } from '../../domain/box.js';
import { NARRATOR } from '../../domain/model.js';
import type { LetteringOptions, LetteringPanelInput } from '../types.js';
import { breakPieces, isJapaneseText } from './line-breaking.js';
import { measurerFor } from './measure.js';
import { layoutAtSize } from './text-fit.js';
import { usesVerticalText } from './vertical.js';

/**
 * Chooses boxes for dialogs that have none, before rendering, so the renderer
 * can keep those areas calm. In reading order each balloon is placed where it
 * covers no head and as little of any character as possible, near its speaker,
 * high in the panel, clear of the balloons already placed, and after the
 * previous balloon in reading order (right then down for manga).
 */

/** Boxes are sized for the largest font, so the fit never has to squeeze the shape. */
export const NOMINAL_FONT_SHARE = 0.02;
const MARGIN = 0.02;
const STEP = 0.02;

/** Estimated balloon size (as a share of the panel) for a text at the nominal font size. */
export function estimateBalloonSize(
  text: string,
  kind: LetteringPanelInput['dialogs'][number]['kind'],
  panel: { width: number; height: number },
  options: LetteringOptions,
): { w: number; h: number } {
  const japanese = isJapaneseText(text);
  const vertical = usesVerticalText(options.language, options.direction, text, isJapaneseText);
  const size = Math.max(8, Math.round(options.pageWidthPx * NOMINAL_FONT_SHARE));
  const block = layoutAtSize(breakPieces(text), measurerFor(kind, japanese, vertical), size, {
    minSizePx: size,
    maxSizePx: size,
    maxRadiusX: panel.width * 0.45,
    maxRadiusY: panel.height * 0.45,
    vertical,
  });
  const rx = block ? block.radiusX : panel.width * 0.45;
  const ry = block ? block.radiusY : panel.height * 0.45;
  const scale = kind === 'narration' ? 0.85 : 1;
  return { w: Math.min(0.96, (2 * rx * scale) / panel.width + 0.02), h: Math.min(0.96, (2 * ry * scale) / panel.height + 0.02) };
}

function headOf(box: Box): Box {
  const h = box[3] - box[1];
  return [box[0], box[1], box[2], box[1] + h * 0.3];
}

export function placeDialogBoxes(panel: LetteringPanelInput, options: LetteringOptions): Box[] {
  const { rect } = panel;
  const placed: Box[] = [];
  const rtl = options.direction === 'rtl';
  panel.dialogs.forEach((dialog) => {
    if (dialog.box) {
      placed.push(dialog.box);
      return;
    }
    const { w, h } = estimateBalloonSize(dialog.text, dialog.kind, rect, options);
    if (dialog.kind === 'narration' || dialog.speaker === NARRATOR) {
      // Narration sits in the corner where reading starts, below any earlier caption.
      const stacked = placed.filter((b) => (rtl ? b[2] > 1 - MARGIN - w : b[0] < MARGIN + w) && b[1] < 0.5);
      const top = Math.min(1 - MARGIN - h, Math.max(MARGIN, ...stacked.map((b) => b[3] + 0.01)));
      placed.push(rtl ? [1 - MARGIN - w, top, 1 - MARGIN, top + h] : [MARGIN, top, MARGIN + w, top + h]);
      return;
    }
    const speaker = panel.characters.find((c) => c.id === dialog.speaker);
    const speakerHead = speaker ? headOf(speaker.box) : undefined;
    const previous = placed.at(-1);
    let best: { box: Box; cost: number } | undefined;
    for (let y = MARGIN; y + h <= 1 - MARGIN + 1e-9; y += STEP) {
      for (let x = MARGIN; x + w <= 1 - MARGIN + 1e-9; x += STEP) {
        const box: Box = [x, y, x + w, y + h];
        const area = w * h;
        let cost = 0;
        for (const c of panel.characters) {
          cost += (boxIntersectionArea(box, headOf(c.box)) / area) * 12;
          cost += (boxIntersectionArea(box, c.box) / area) * 1.5;
        }
        for (const other of placed) cost += (boxIntersectionArea(box, other) / area) * 40;
        const cx = x + w / 2;
        const cy = y + h / 2;
        if (speakerHead) {
          const hx = (speakerHead[0] + speakerHead[2]) / 2;
          const hy = speakerHead[1];
          cost += Math.hypot(cx - hx, (cy - hy) * 0.8) * 1.2;
        }
        cost += cy * 0.6; // balloons read best high in the panel
        if (previous) {
          const pcx = (previous[0] + previous[2]) / 2;
          const earlierSide = rtl ? cx > pcx + 0.02 : cx < pcx - 0.02;
          const higher = y < previous[1] - 0.02;
          if (higher && earlierSide) cost += 6; // would be read before the previous balloon
          else if (higher) cost += 1;
        }
        if (!best || cost < best.cost - 1e-9) best = { box, cost };
      }
    }
    placed.push(best ? best.box : [MARGIN, MARGIN, Math.min(1, MARGIN + w), Math.min(1, MARGIN + h)]);
  });
  return placed.map((b) => b.map((v) => Math.round(v * 1e4) / 1e4) as unknown as Box);
}

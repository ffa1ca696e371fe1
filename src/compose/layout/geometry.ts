import { z } from 'zod';
import type { PageGeometry } from '../types.js';

/**
 * Page geometry is decided in millimetres and rendered at a dpi, so the same
 * layout serves a 1600 px screen page and a 600 dpi print page. Spacing is given
 * as shares of the trim width (margins ≈9–10 %, in-tier gutter ≈1.2 %, tier
 * gutter ≈3 %, border ≈0.5 %): the asymmetry between gutters carries reading order.
 */
export const PageSpecSchema = z.object({
  trimWidthMm: z.number().positive().default(182),
  trimHeightMm: z.number().positive().default(257),
  /** Either a dpi, or a target pixel width from which the dpi follows. */
  dpi: z.number().positive().optional(),
  widthPx: z.number().int().min(200).max(20000).optional(),
  bleedMm: z.number().min(0).max(20).default(0),
  sideMargin: z.number().min(0).max(0.3).default(0.09),
  topMargin: z.number().min(0).max(0.3).default(0.1),
  gutter: z.number().min(0).max(0.1).default(0.012),
  tierGutter: z.number().min(0).max(0.15).default(0.03),
  border: z.number().min(0).max(0.05).default(0.005),
  minBorderPx: z.number().min(0).default(3),
});
export type PageSpec = z.input<typeof PageSpecSchema>;

export function pageGeometry(spec: PageSpec = {}): PageGeometry {
  const s = PageSpecSchema.parse(spec);
  const dpi = s.dpi ?? ((s.widthPx ?? 1600) / s.trimWidthMm) * 25.4;
  const px = (mm: number) => (mm / 25.4) * dpi;
  const trimW = Math.round(px(s.trimWidthMm));
  const trimH = Math.round(px(s.trimHeightMm));
  const bleedPx = Math.round(px(s.bleedMm));
  const widthPx = trimW + 2 * bleedPx;
  const heightPx = trimH + 2 * bleedPx;
  const marginX = Math.round(trimW * s.sideMargin);
  const marginY = Math.round(trimW * s.topMargin);
  return {
    widthPx,
    heightPx,
    dpi,
    bleedPx,
    frame: { x: bleedPx + marginX, y: bleedPx + marginY, width: trimW - 2 * marginX, height: trimH - 2 * marginY },
    gutterPx: Math.max(1, Math.round(trimW * s.gutter)),
    tierGutterPx: Math.max(1, Math.round(trimW * s.tierGutter)),
    borderPx: Math.max(s.minBorderPx, Math.round(trimW * s.border)),
  };
}

/** Screen pages: B5 proportion, 1600 px wide, no bleed. */
export function digitalGeometry(overrides: PageSpec = {}): PageGeometry {
  return pageGeometry({ widthPx: 1600, ...overrides });
}

/** Print: B5 trim (182×257 mm) at 600 dpi with 3 mm bleed on every side. */
export function printB5Geometry(overrides: PageSpec = {}): PageGeometry {
  return pageGeometry({ dpi: 600, bleedMm: 3, ...overrides });
}

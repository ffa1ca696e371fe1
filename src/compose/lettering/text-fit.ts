/**
 * Fitting text into a balloon: balanced lines in a diamond shape, the smallest
 * ellipse around them in closed form, and the largest font size that fits the
 * balloon's box. Widths scale linearly with font size, so every piece is
 * measured once at a reference size.
 */

export interface TextBlock {
  lines: string[];
  /** Width of each line in px at `fontSizePx` (trailing spaces excluded). */
  lineWidths: number[];
  fontSizePx: number;
  lineHeightPx: number;
  /** Half-axes of the padded enclosing ellipse (for vertical text: of the column block). */
  radiusX: number;
  radiusY: number;
}

/** Measures text at 100 px; a fit at size s multiplies by s/100. */
export type Measure100 = (text: string) => number;

export const LINE_HEIGHT = 1.18;
const PADDING = 1.14;

/**
 * Splits pieces into k lines whose widths follow an ellipse profile as closely
 * as possible (least squares against targets proportional to the profile), so
 * middle lines run longest: the diamond letterers aim for.
 */
export function balanceLines(widths: number[], trailing: number[], k: number): number[][] {
  const m = widths.length;
  const prefix = [0];
  for (const w of widths) prefix.push(prefix.at(-1)! + w);
  const lineWidth = (a: number, b: number) => prefix[b]! - prefix[a]! - trailing[b - 1]!;
  // Line centres sit at ±(k-1)/2; a radius just past the block's edge gives a clear diamond.
  const radius = k / 2 + 0.2;
  const profile = Array.from({ length: k }, (_, i) => Math.sqrt(1 - ((i - (k - 1) / 2) / radius) ** 2));
  const scale = prefix[m]! / profile.reduce((s, p) => s + p, 0);
  // best[i][j]: lowest cost putting the first j pieces on i lines.
  const best = Array.from({ length: k + 1 }, () => new Array<number>(m + 1).fill(Infinity));
  const from = Array.from({ length: k + 1 }, () => new Array<number>(m + 1).fill(0));
  best[0]![0] = 0;
  for (let i = 1; i <= k; i++) {
    for (let j = i; j <= m; j++) {
      for (let s = i - 1; s < j; s++) {
        const cost = best[i - 1]![s]! + (lineWidth(s, j) - profile[i - 1]! * scale) ** 2;
        if (cost < best[i]![j]! - 1e-9) {
          best[i]![j] = cost;
          from[i]![j] = s;
        }
      }
    }
  }
  const breaks: number[][] = [];
  let j = m;
  for (let i = k; i >= 1; i--) {
    const s = from[i]![j]!;
    breaks.unshift(Array.from({ length: j - s }, (_, t) => s + t));
    j = s;
  }
  return breaks;
}

/**
 * The smallest-area ellipse around a centred block of lines: with q = A/B, a
 * line of half-width h whose far edge is y from the centre needs
 * A ≥ √(h² + q²y²). Scan q, keep the smallest A·B, then pad.
 */
export function enclosingEllipse(lineWidths: number[], lineHeight: number): { radiusX: number; radiusY: number } {
  const k = lineWidths.length;
  const top = (-k * lineHeight) / 2;
  const rows = lineWidths.map((w, i) => ({
    h: w / 2,
    y: Math.max(Math.abs(top + i * lineHeight), Math.abs(top + (i + 1) * lineHeight)),
  }));
  let best = { radiusX: Infinity, radiusY: Infinity, area: Infinity };
  for (let q = 0.5; q <= 3.0001; q += 0.05) {
    const a = Math.max(...rows.map((r) => Math.sqrt(r.h * r.h + q * q * r.y * r.y)));
    const area = (a * a) / q;
    if (area < best.area) best = { radiusX: a, radiusY: a / q, area };
  }
  return { radiusX: best.radiusX * PADDING, radiusY: best.radiusY * PADDING };
}

export interface FitOptions {
  minSizePx: number;
  maxSizePx: number;
  /** Largest ellipse allowed: half-axes of the balloon's box. */
  maxRadiusX: number;
  maxRadiusY: number;
  vertical: boolean;
}

/** Lays out pieces at one size, trying every line count; the smallest fitting ellipse wins. */
export function layoutAtSize(pieces: string[], measure: Measure100, size: number, options: FitOptions): TextBlock | null {
  const scale = size / 100;
  const widths = pieces.map((p) => measure(p) * scale);
  const trailing = pieces.map((p) => (p.endsWith(' ') ? measure(' ') * scale : 0));
  const lineHeight = size * (options.vertical ? 1.35 : LINE_HEIGHT);
  let chosen: TextBlock | null = null;
  const maxLines = Math.min(pieces.length, 12);
  for (let k = 1; k <= maxLines; k++) {
    const groups = balanceLines(widths, trailing, k);
    const lineWidths = groups.map((g) => g.reduce((s, i) => s + widths[i]!, 0) - trailing[g.at(-1)!]!);
    const ellipse = enclosingEllipse(lineWidths, lineHeight);
    // Vertical text: "lines" are columns, so the ellipse's axes swap.
    const rx = options.vertical ? ellipse.radiusY : ellipse.radiusX;
    const ry = options.vertical ? ellipse.radiusX : ellipse.radiusY;
    if (rx > options.maxRadiusX || ry > options.maxRadiusY) continue;
    // Smallest balloon, but wider than tall reads best for horizontal text.
    const shapeCost = (x: number, y: number) => x * y * (1 + 0.6 * Math.abs(Math.log(x / y / (options.vertical ? 0.7 : 1.4))));
    if (!chosen || shapeCost(rx, ry) < shapeCost(chosen.radiusX, chosen.radiusY)) {
      chosen = {
        lines: groups.map((g) => g.map((i) => pieces[i]).join('').trim()),
        lineWidths,
        fontSizePx: size,
        lineHeightPx: lineHeight,
        radiusX: rx,
        radiusY: ry,
      };
    }
  }
  return chosen;
}

/** The largest font size between min and max at which the text fits (binary search), or null. */
export function fitText(pieces: string[], measure: Measure100, options: FitOptions): TextBlock | null {
  let lo = Math.ceil(options.minSizePx);
  let hi = Math.floor(options.maxSizePx);
  let best = layoutAtSize(pieces, measure, lo, options);
  if (!best) return null;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const block = layoutAtSize(pieces, measure, mid, options);
    if (block) {
      best = block;
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return best;
}

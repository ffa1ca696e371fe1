import type { Box } from '../domain/box.js';
import type { DialogKind, ReadingDirection } from '../domain/model.js';

/**
 * Shared shapes of the compositor: page geometry, panel slots, balloon plans and
 * the layout metadata written beside every page. Pixels are page pixels, origin
 * top-left. Layout (src/compose/layout) and lettering (src/compose/lettering)
 * both speak these types; src/compose/page.ts joins them.
 */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

/** Page size and spacing in pixels, derived from millimetres and dpi. */
export interface PageGeometry {
  widthPx: number;
  heightPx: number;
  dpi: number;
  /** Bleed on each side, in pixels (0 for digital pages). */
  bleedPx: number;
  /** The inner frame panels are laid into. */
  frame: Rect;
  /** Gap between panels in one tier. */
  gutterPx: number;
  /** Gap between tiers (wider than gutterPx: the asymmetry carries the reading order). */
  tierGutterPx: number;
  borderPx: number;
}

export interface PanelSlot {
  /** Index of the panel in the page's input order. */
  index: number;
  rect: Rect;
}

export interface PageLayout {
  geometry: PageGeometry;
  panels: PanelSlot[];
  /** Panel indices in reading order. */
  readingOrder: number[];
  direction: ReadingDirection;
  /** Template name, or `auto:<tree>` for a solved slicing tree. */
  name: string;
}

/** What lettering needs to know about one panel. */
export interface LetteringPanelInput {
  /** The panel's rectangle on the page. */
  rect: Rect;
  dialogs: { speaker: string; text: string; kind: DialogKind; box?: Box }[];
  /** Character boxes relative to the panel (0..1), used for tails and to avoid covering faces. */
  characters: { id: string; box: Box }[];
}

export interface LetteringOptions {
  direction: ReadingDirection;
  /** BCP-47; `ja` with `rtl` letters vertically. */
  language: string;
  /** Page width in px, from which font sizes and strokes are scaled. */
  pageWidthPx: number;
  /** Narration in a bordered box (default) or borderless, as manga monologue often is. */
  narrationStyle?: 'boxed' | 'borderless';
}

/** One balloon as planned (geometry only) and later drawn. */
export interface BalloonPlan {
  panelIndex: number;
  dialogIndex: number;
  kind: DialogKind;
  /** Bounding rectangle of the balloon body in page pixels. */
  rect: Rect;
  /** Tail from the outline toward the speaker, or null (narration, off-panel none). */
  tail: { from: Point; to: Point } | null;
  fontSizePx: number;
  lines: string[];
  vertical: boolean;
  /** False when the text could not be fitted even at the minimum size. */
  fitted: boolean;
  /** For a dialog split across linked balloons: the part number (0-based). */
  part?: number;
}

/** Written beside each page as `page-NNN.layout.json`. */
export interface PageLayoutMetadata {
  page: { widthPx: number; heightPx: number; dpi: number; bleedPx: number };
  layoutName: string;
  direction: ReadingDirection;
  readingOrder: number[];
  panels: { index: number; rect: Rect }[];
  balloons: Pick<BalloonPlan, 'panelIndex' | 'dialogIndex' | 'kind' | 'rect' | 'tail' | 'fontSizePx' | 'fitted'>[];
  /** True when any text could not be fitted. */
  overflow: boolean;
}

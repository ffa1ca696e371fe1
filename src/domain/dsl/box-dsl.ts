import { type Box, boxProblem } from '../box.js';
import { KomaError } from '../errors.js';
import { closestName } from './suggest.js';

/**
 * The box language people type in Discord:
 *   - a preset name:        `left`, `right-third`, `closeup`, …
 *   - a grid cell or span:  `grid 3x2 r1c2`, `grid 3x2 r1-2c3` (rows × columns… see below)
 *   - raw numbers:          `0.1,0.2,0.5,0.9`, `[0.1 0.2 0.5 0.9]`, `10%,20%,50%,90%`
 * `formatBox` writes the shortest of these that parses back to the same box.
 *
 * Grid syntax: `grid <cols>x<rows> r<row>c<col>`, rows and columns counted from 1
 * at the top-left; `r1-2` or `c2-3` span several cells.
 */

/** Presets are sized for characters standing in a panel: most reach the bottom edge. */
export const BOX_PRESETS: Readonly<Record<string, Box>> = {
  full: [0, 0, 1, 1],
  center: [0.3, 0.1, 0.7, 1],
  left: [0.05, 0.1, 0.5, 1],
  right: [0.5, 0.1, 0.95, 1],
  'left-half': [0, 0, 0.5, 1],
  'right-half': [0.5, 0, 1, 1],
  'top-half': [0, 0, 1, 0.5],
  'bottom-half': [0, 0.5, 1, 1],
  'left-third': [0, 0.1, 0.34, 1],
  'center-third': [0.33, 0.1, 0.67, 1],
  'right-third': [0.66, 0.1, 1, 1],
  'left-two-thirds': [0, 0.1, 0.67, 1],
  'right-two-thirds': [0.33, 0.1, 1, 1],
  top: [0.2, 0, 0.8, 0.45],
  bottom: [0.2, 0.55, 0.8, 1],
  'top-left': [0, 0, 0.5, 0.5],
  'top-right': [0.5, 0, 1, 0.5],
  'bottom-left': [0, 0.5, 0.5, 1],
  'bottom-right': [0.5, 0.5, 1, 1],
  closeup: [0.15, 0.05, 0.85, 1],
  wide: [0.05, 0.3, 0.95, 1],
  background: [0, 0, 1, 0.6],
};

const GRID_RE = /^grid\s+(\d+)\s*x\s*(\d+)\s+r(\d+)(?:-(\d+))?\s*c(\d+)(?:-(\d+))?$/;

function invalid(message: string): never {
  throw new KomaError('invalid-input', message);
}

function checked(box: number[], text: string): Box {
  const problem = boxProblem(box);
  if (problem) invalid(`"${text}": ${problem}`);
  return [box[0]!, box[1]!, box[2]!, box[3]!];
}

function parseGrid(text: string, match: RegExpMatchArray): Box {
  const [cols, rows, r1, r2, c1, c2] = match.slice(1).map((v) => (v === undefined ? undefined : Number(v)));
  if (!cols || !rows || cols > 12 || rows > 12) invalid(`"${text}": a grid has 1 to 12 columns and rows, like "grid 3x2 r1c2"`);
  const rowFrom = r1!;
  const rowTo = r2 ?? rowFrom;
  const colFrom = c1!;
  const colTo = c2 ?? colFrom;
  if (rowFrom < 1 || rowTo > rows || rowFrom > rowTo) invalid(`"${text}": rows run from 1 to ${rows} (top to bottom), got r${rowFrom}${r2 ? `-${rowTo}` : ''}`);
  if (colFrom < 1 || colTo > cols || colFrom > colTo) invalid(`"${text}": columns run from 1 to ${cols} (left to right), got c${colFrom}${c2 ? `-${colTo}` : ''}`);
  const round = (v: number) => Math.round(v * 1e6) / 1e6;
  return checked([round((colFrom - 1) / cols), round((rowFrom - 1) / rows), round(colTo / cols), round(rowTo / rows)], text);
}

function parseNumbers(text: string, inner: string): Box {
  const tokens = inner.split(/[\s,;]+/).filter((t) => t !== '');
  if (tokens.length !== 4) {
    invalid(`"${text}": expected 4 numbers x1,y1,x2,y2 between 0 and 1, got ${tokens.length}`);
  }
  const values = tokens.map((token, i) => {
    const percent = token.endsWith('%');
    const body = percent ? token.slice(0, -1) : token;
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(body)) {
      invalid(`"${text}": number ${i + 1} ("${token}") is not a number; write boxes like 0.1,0.2,0.5,0.9`);
    }
    return percent ? Number(body) / 100 : Number(body);
  });
  return checked(values, text);
}

/** Parses one box; throws KomaError('invalid-input') naming the bad token. */
export function parseBox(input: string): Box {
  const text = input.trim();
  if (text === '') invalid('the box is empty: write a preset like "left" or numbers like 0.1,0.2,0.5,0.9');
  const lower = text.toLowerCase().replace(/_/g, '-');
  const preset = BOX_PRESETS[lower];
  if (preset) return preset;
  const grid = lower.match(GRID_RE);
  if (grid) return parseGrid(text, grid);
  if (lower.startsWith('grid')) invalid(`"${text}": write a grid cell like "grid 3x2 r1c2" (columns x rows, then row and column from 1)`);
  const inner = text.replace(/^\[\s*/, '').replace(/\s*\]$/, '');
  // Anything that starts like a number is read as numbers, so "0.1,x" gets a precise error.
  if (text.startsWith('[') || /^[\d.+-]/.test(inner)) return parseNumbers(text, inner);
  const suggestion = closestName(lower, Object.keys(BOX_PRESETS));
  invalid(
    `unknown box "${text}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; use a preset (${Object.keys(BOX_PRESETS).slice(0, 8).join(', ')}, …), "grid 3x2 r1c2" or numbers 0.1,0.2,0.5,0.9`,
  );
}

/** Writes a box back: its preset name when it is one, else numbers with up to 3 decimals. */
export function formatBox(box: Box): string {
  for (const [name, preset] of Object.entries(BOX_PRESETS)) {
    if (preset.every((v, i) => v === box[i])) return name;
  }
  return box.map((v) => String(Math.round(v * 1000) / 1000)).join(',');
}

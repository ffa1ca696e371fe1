import { createCanvas } from '@napi-rs/canvas';
import type { DialogKind } from '../../domain/model.js';
import { fontFor, registerLetteringFonts } from './fonts.js';
import type { Measure100 } from './text-fit.js';

const measuringContext = createCanvas(8, 8).getContext('2d');

/** A width function at 100 px for one kind of balloon; vertical text advances one em per glyph. */
export function measurerFor(kind: DialogKind, japanese: boolean, vertical: boolean): Measure100 {
  registerLetteringFonts();
  if (vertical) return (text) => [...text.trim()].length * 100;
  const font = fontFor(kind, 100, japanese);
  const cache = new Map<string, number>();
  return (text) => {
    let width = cache.get(text);
    if (width === undefined) {
      measuringContext.font = font;
      width = measuringContext.measureText(text).width;
      cache.set(text, width);
    }
    return width;
  };
}

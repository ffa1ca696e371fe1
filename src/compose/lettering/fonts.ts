import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { GlobalFonts } from '@napi-rs/canvas';

/**
 * Lettering fonts, all open-licence npm packages so no system fonts are needed:
 * Comic Neue for dialogue, Bangers for shouts, Noto Sans JP for Japanese (every
 * unicode-range subset registered under one family, so CJK renders real glyphs).
 */
export const FONT_DIALOGUE = 'Koma Dialogue';
export const FONT_SHOUT = 'Koma Shout';
export const FONT_JAPANESE = 'Koma Japanese';

let done = false;

function fontFiles(pkg: string, pattern: RegExp): string[] {
  const require = createRequire(import.meta.url);
  const dir = path.join(path.dirname(require.resolve(`${pkg}/package.json`)), 'files');
  return readdirSync(dir)
    .filter((f) => pattern.test(f))
    .map((f) => path.join(dir, f));
}

function register(files: string[], family: string): void {
  if (files.length === 0) throw new Error(`no font files found for ${family}`);
  for (const file of files) {
    if (!GlobalFonts.registerFromPath(file, family)) throw new Error(`could not register font ${file}`);
  }
}

export function registerLetteringFonts(): void {
  if (done) return;
  register(fontFiles('@fontsource/comic-neue', /^comic-neue-latin(-ext)?-(400|700)-normal\.woff2$/), FONT_DIALOGUE);
  register(fontFiles('@fontsource/bangers', /^bangers-latin(-ext)?-400-normal\.woff2$/), FONT_SHOUT);
  register(fontFiles('@fontsource/noto-sans-jp', /-400-normal\.woff2$/), FONT_JAPANESE);
  done = true;
}

/** A CSS font string; Japanese is listed as a fallback so mixed text keeps real glyphs. */
export function fontFor(kind: 'speech' | 'thought' | 'shout' | 'whisper' | 'narration', sizePx: number, japanese: boolean): string {
  if (japanese) return `${kind === 'shout' ? 'bold ' : ''}${sizePx}px "${FONT_JAPANESE}"`;
  if (kind === 'shout') return `${sizePx}px "${FONT_SHOUT}", "${FONT_JAPANESE}"`;
  const weight = kind === 'narration' ? 400 : 700;
  const style = kind === 'thought' ? 'italic ' : '';
  return `${style}${weight} ${sizePx}px "${FONT_DIALOGUE}", "${FONT_JAPANESE}"`;
}

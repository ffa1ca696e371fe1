import { createRequire } from 'node:module';
import path from 'node:path';
import { GlobalFonts } from '@napi-rs/canvas';

/** The storyboard's label font, shipped as an npm package (OFL): no system fonts needed. */
export const STORYBOARD_FONT = 'Koma Storyboard';

let registered = false;

export function registerStoryboardFont(): string {
  if (registered) return STORYBOARD_FONT;
  const require = createRequire(import.meta.url);
  const dir = path.join(path.dirname(require.resolve('@fontsource/comic-neue/package.json')), 'files');
  const ok = GlobalFonts.registerFromPath(path.join(dir, 'comic-neue-latin-700-normal.woff2'), STORYBOARD_FONT);
  if (!ok) throw new Error(`could not register the storyboard font from ${dir}`);
  registered = true;
  return STORYBOARD_FONT;
}

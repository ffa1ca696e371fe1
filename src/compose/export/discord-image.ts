import sharp from 'sharp';
import { KomaError } from '../../domain/errors.js';

/**
 * Pages for Discord: each file must stay under the upload limit (10 MiB by
 * default). Try the asked format at good quality, then stronger compression,
 * then scale down step by step; WebP also caps each side at 16383 px.
 */
export const DISCORD_MAX_BYTES = 10 * 1024 * 1024;
const WEBP_MAX_EDGE = 16383;

export interface EncodedPage {
  bytes: Buffer;
  format: 'png' | 'webp';
  width: number;
  height: number;
  /** True when the page had to be made smaller than it was composed. */
  scaled: boolean;
}

export async function encodeForDiscord(png: Buffer, options: { format?: 'png' | 'webp'; maxBytes?: number } = {}): Promise<EncodedPage> {
  const format = options.format ?? 'png';
  const maxBytes = options.maxBytes ?? DISCORD_MAX_BYTES;
  const meta = await sharp(png).metadata();
  if (!meta.width || !meta.height) throw new KomaError('bad-image', 'the page image has no size');
  let scale = format === 'webp' ? Math.min(1, WEBP_MAX_EDGE / Math.max(meta.width, meta.height)) : 1;
  for (let attempt = 0; attempt < 12; attempt++) {
    const width = Math.max(1, Math.round(meta.width * scale));
    const height = Math.max(1, Math.round(meta.height * scale));
    const base = sharp(png).resize(scale < 1 ? { width, height } : undefined);
    const tries =
      format === 'webp'
        ? [() => base.clone().webp({ quality: 85 }), () => base.clone().webp({ quality: 70 })]
        : [() => base.clone().png({ compressionLevel: 9 }), () => base.clone().png({ compressionLevel: 9, palette: true, colours: 256 })];
    for (const encode of tries) {
      const bytes = await encode().toBuffer();
      if (bytes.length <= maxBytes) return { bytes, format, width, height, scaled: scale < 1 };
    }
    scale *= 0.8;
  }
  throw new KomaError('too-large', `the page cannot be brought under ${(maxBytes / 1048576).toFixed(1)} MiB`);
}

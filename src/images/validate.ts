import sharp, { type Metadata } from 'sharp';
import { firstLine, KomaError } from '../domain/errors.js';

/**
 * Image intake: every image a user hands Koma (reference images, uploads) goes
 * through here before anything decodes it fully. sharp reads the header first,
 * so a 20000×20000 "image bomb" is refused without allocating its pixels.
 */

export interface ImageLimits {
  maxBytes: number;
  maxPixels: number;
}

export interface ImageInfo {
  format: 'png' | 'jpeg' | 'webp' | 'gif';
  width: number;
  height: number;
}

const ACCEPTED = new Set(['png', 'jpeg', 'webp', 'gif']);
/** Reference images are scaled down to this longest edge: more detail is never used. */
export const REFERENCE_MAX_EDGE = 1024;

const mb = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
const mp = (pixels: number) => `${Math.round(pixels / 1e6)} MP`;

export async function inspectImage(bytes: Uint8Array, limits: ImageLimits): Promise<ImageInfo> {
  if (bytes.byteLength === 0) throw new KomaError('bad-image', 'the image is empty (0 bytes)');
  if (bytes.byteLength > limits.maxBytes) {
    throw new KomaError('too-large', `the image is ${mb(bytes.byteLength)}; the limit is ${mb(limits.maxBytes)}`);
  }
  let metadata: Metadata;
  try {
    // Header only: no pixel limit here, our own check below gives the better message.
    metadata = await sharp(bytes, { pages: 1, limitInputPixels: false }).metadata();
  } catch {
    throw new KomaError('bad-image', 'the file is not an image Koma can read (use PNG, JPEG, WebP or GIF)');
  }
  const format = metadata.format;
  if (!format || !ACCEPTED.has(format)) {
    throw new KomaError('bad-image', `${format ?? 'this'} images are not accepted; use PNG, JPEG, WebP or GIF`);
  }
  const width = metadata.autoOrient?.width ?? metadata.width;
  const height = metadata.autoOrient?.height ?? metadata.height;
  if (!width || !height) throw new KomaError('bad-image', 'the image has no size (a damaged header?)');
  if (width * height > limits.maxPixels) {
    throw new KomaError(
      'too-large',
      `the image is ${width}×${height} = ${mp(width * height)}; the limit is ${mp(limits.maxPixels)}`,
    );
  }
  return { format: format as ImageInfo['format'], width, height };
}

/**
 * Validates and normalises a reference image: upright (EXIF), RGBA, longest
 * edge at most 1024 px, PNG. Truncated or corrupt pixel data fails here with
 * one line instead of later inside a renderer.
 */
export async function loadReferenceImage(bytes: Uint8Array, limits: ImageLimits): Promise<Buffer> {
  await inspectImage(bytes, limits);
  try {
    return await sharp(bytes, { pages: 1, limitInputPixels: limits.maxPixels, failOn: 'error' })
      .autoOrient()
      .resize({ width: REFERENCE_MAX_EDGE, height: REFERENCE_MAX_EDGE, fit: 'inside', withoutEnlargement: true })
      .ensureAlpha()
      .png()
      .toBuffer();
  } catch (error) {
    throw new KomaError('bad-image', `the image is damaged and cannot be decoded (${firstLine(error).slice(0, 120)})`);
  }
}

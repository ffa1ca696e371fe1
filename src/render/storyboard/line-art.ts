import sharp from 'sharp';

/**
 * Turns a reference image into manga ink: edges (a Laplacian) plus solid black
 * where the drawing is darkest (hair, pupils), returned as black RGBA with the
 * ink in the alpha channel so it can be laid over screentone.
 */
export interface InkImage {
  rgba: Buffer;
  width: number;
  height: number;
}

const EDGE_THRESHOLD = 48;
const SOLID_BLACK_BELOW = 70;

export async function toLineArt(reference: Buffer, maxWidth: number, maxHeight: number): Promise<InkImage> {
  const grey = await sharp(reference)
    .flatten({ background: '#ffffff' })
    .resize({ width: Math.max(1, maxWidth), height: Math.max(1, maxHeight), fit: 'inside' })
    .greyscale()
    .toColourspace('b-w')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height } = grey.info;
  const edges = await sharp(grey.data, { raw: { width, height, channels: 1 } })
    .convolve({ width: 3, height: 3, kernel: [-1, -1, -1, -1, 8, -1, -1, -1, -1] })
    // Keep one channel: sharp would otherwise hand back sRGB and the indices below would drift.
    .toColourspace('b-w')
    .raw()
    .toBuffer();
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const edge = edges[i]! >= EDGE_THRESHOLD;
    const dark = grey.data[i]! < SOLID_BLACK_BELOW;
    // RGB stays 0 (black ink); the alpha channel carries the ink.
    rgba[i * 4 + 3] = edge || dark ? 255 : 0;
  }
  return { rgba, width, height };
}

/** The silhouette (every non-white pixel) as a white RGBA mask, so tone does not show through bodies. */
export async function toSilhouette(reference: Buffer, width: number, height: number): Promise<Buffer> {
  const grey = await sharp(reference)
    .flatten({ background: '#ffffff' })
    .resize({ width, height, fit: 'fill' })
    .greyscale()
    .toColourspace('b-w')
    .raw()
    .toBuffer();
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba[i * 4] = 255;
    rgba[i * 4 + 1] = 255;
    rgba[i * 4 + 2] = 255;
    rgba[i * 4 + 3] = grey[i]! < 245 ? 255 : 0;
  }
  return rgba;
}

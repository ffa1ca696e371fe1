import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { KomaError } from '../src/domain/errors.js';
import { inspectImage, loadReferenceImage } from '../src/images/validate.js';

const limits = { maxBytes: 20 * 1024 * 1024, maxPixels: 40_000_000 };

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A tiny PNG whose header claims width×height (greyscale): an "image bomb". */
function claimedPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const idat = deflateSync(Buffer.alloc(1 + width)); // one row only: the rest is missing
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

async function failure(promise: Promise<unknown>): Promise<KomaError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KomaError);
    return error as KomaError;
  }
  throw new Error('expected a KomaError');
}

describe('image intake', () => {
  it('accepts a PNG and normalises it to RGBA PNG within 1024 px', async () => {
    const big = await sharp({ create: { width: 2000, height: 1000, channels: 3, background: '#c33' } }).jpeg().toBuffer();
    expect(await inspectImage(big, limits)).toEqual({ format: 'jpeg', width: 2000, height: 1000 });
    const normalised = await loadReferenceImage(big, limits);
    const meta = await sharp(normalised).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', 1024, 512, 4]);
  });

  it('refuses a 20000×20000 image from its header, before decoding', async () => {
    const bomb = claimedPng(20000, 20000);
    expect(bomb.length).toBeLessThan(1000);
    const error = await failure(loadReferenceImage(bomb, limits));
    expect(error.code).toBe('too-large');
    expect(error.message).toBe('the image is 20000×20000 = 400 MP; the limit is 40 MP');
  });

  it('refuses a truncated JPEG with one line', async () => {
    const jpeg = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#08f' } })
      .composite([{ input: Buffer.from('<svg width="300" height="300"><circle cx="150" cy="150" r="100"/></svg>') }])
      .jpeg()
      .toBuffer();
    const error = await failure(loadReferenceImage(jpeg.subarray(0, Math.floor(jpeg.length / 2)), limits));
    expect(error.code).toBe('bad-image');
    expect(error.message).not.toContain('\n');
  });

  it('refuses non-images, empty input, unsupported formats and oversized files', async () => {
    expect((await failure(inspectImage(Buffer.from('hello, not an image'), limits))).message).toMatch(/not an image Koma can read/);
    expect((await failure(inspectImage(Buffer.alloc(0), limits))).message).toMatch(/empty/);
    const tiff = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).tiff().toBuffer();
    expect((await failure(inspectImage(tiff, limits))).message).toMatch(/tiff images are not accepted/);
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).png().toBuffer();
    const tooBig = await failure(inspectImage(png, { ...limits, maxBytes: 10 }));
    expect(tooBig.code).toBe('too-large');
  });
});

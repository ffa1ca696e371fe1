import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KomaError } from '../src/domain/errors.js';
import { BlobStore } from '../src/store/blob-store.js';

const dir = path.resolve('test/.tmp/store', `blobs-${process.pid}-${randomBytes(3).toString('hex')}`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function komaError(work: Promise<unknown>): Promise<KomaError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KomaError);
  return error as KomaError;
}

describe('BlobStore', () => {
  const blobs = new BlobStore({ dir, maxBytes: 1024 });

  it('stores bytes under their sha256, sharded by the first two hex digits', async () => {
    const bytes = randomBytes(300);
    const id = await blobs.put(bytes);
    expect(id).toBe(sha256(bytes));
    const file = path.join(dir, id.slice(0, 2), id.slice(2));
    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(Buffer.from(await blobs.get(id)).equals(bytes)).toBe(true);
    expect(await blobs.has(id)).toBe(true);
  });

  it('is idempotent: the same bytes give the same id and one file, no temp files left', async () => {
    const bytes = new TextEncoder().encode('same bytes twice');
    const [a, b] = await Promise.all([blobs.put(bytes), blobs.put(bytes)]);
    const c = await blobs.put(bytes);
    expect(a).toBe(b);
    expect(b).toBe(c);
    const shard = readdirSync(path.join(dir, a.slice(0, 2)));
    expect(shard.filter((f) => f.startsWith(a.slice(2)))).toEqual([a.slice(2)]);
    expect(shard.some((f) => f.endsWith('.tmp'))).toBe(false);
  });

  it('detects a blob damaged on disk, and put repairs it', async () => {
    const bytes = randomBytes(200);
    const id = await blobs.put(bytes);
    const file = blobs.pathOf(id);
    const damaged = Buffer.from(bytes);
    damaged[100] = damaged[100]! ^ 0x01;
    writeFileSync(file, damaged);
    const error = await komaError(blobs.get(id));
    expect(error.code).toBe('corrupt-data');
    expect(error.message).toContain(id);

    await blobs.put(bytes);
    expect(Buffer.from(await blobs.get(id)).equals(bytes)).toBe(true);
  });

  it('refuses blobs over the size limit without writing anything', async () => {
    const big = randomBytes(1025);
    const error = await komaError(blobs.put(big));
    expect(error.code).toBe('too-large');
    expect(await blobs.has(sha256(big))).toBe(false);
  });

  it('reports missing blobs and rejects ids that are not sha256 hex', async () => {
    const missing = sha256(new TextEncoder().encode('never stored'));
    expect((await komaError(blobs.get(missing))).code).toBe('not-found');
    expect(await blobs.has(missing)).toBe(false);
    expect((await komaError(blobs.get('../../etc/passwd'))).code).toBe('invalid-input');
    expect(() => blobs.pathOf('ABC')).toThrow(KomaError);
  });

  it('deletes blobs', async () => {
    const id = await blobs.put(new TextEncoder().encode('short-lived'));
    expect(statSync(blobs.pathOf(id)).isFile()).toBe(true);
    expect(await blobs.delete(id)).toBe(true);
    expect(await blobs.has(id)).toBe(false);
    expect(await blobs.delete(id)).toBe(false);
  });
});

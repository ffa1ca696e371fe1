import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { KomaError } from '../domain/errors.js';
import { BlobIdSchema } from '../domain/model.js';

/**
 * Image and document bytes, stored content-addressed on the filesystem: the id
 * is the sha256 hex of the bytes and the file lives at `<dir>/ab/cdef…` (the
 * first two hex digits as a folder, so no folder grows huge). Records in keyv
 * hold only ids; bytes never go into keyv values.
 *
 * Writes go to a temporary file in the same folder, are flushed, then renamed
 * into place, so a crash leaves either no blob or a whole one. Reads re-hash
 * the bytes, so a blob damaged on disk is reported instead of rendered.
 */

export const DEFAULT_MAX_BLOB_BYTES = 64 * 1024 * 1024;

export interface BlobStoreOptions {
  /** Folder for the blobs; created on first write. */
  dir: string;
  /** Largest blob `put` accepts. */
  maxBytes?: number;
}

export function blobIdOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MiB`;

export class BlobStore {
  readonly dir: string;
  readonly maxBytes: number;

  constructor(options: BlobStoreOptions) {
    this.dir = path.resolve(options.dir);
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BLOB_BYTES;
  }

  /** Stores the bytes and returns their id; storing the same bytes again is a no-op. */
  async put(bytes: Uint8Array): Promise<string> {
    if (bytes.byteLength > this.maxBytes) {
      throw new KomaError('too-large', `the file is ${mib(bytes.byteLength)}; the limit is ${mib(this.maxBytes)}; send a smaller file`);
    }
    const id = blobIdOf(bytes);
    const file = this.pathOf(id);
    // Already there and intact: nothing to do. A damaged copy is replaced below.
    if (await this.isIntact(file, id)) return id;

    await mkdir(path.dirname(file), { recursive: true });
    const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const handle = await open(temp, 'wx');
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    return id;
  }

  /** The bytes of a blob, checked against its id. */
  async get(id: string): Promise<Buffer> {
    const file = this.pathOf(id);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new KomaError('not-found', `stored file ${shortId(id)} was not found; upload the image again`);
      }
      throw error;
    }
    if (blobIdOf(bytes) !== id) {
      throw new KomaError('corrupt-data', `stored file ${id} is damaged (its contents no longer match its hash); upload it again or restore ${file} from a backup`);
    }
    return bytes;
  }

  async has(id: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(id))).isFile();
    } catch {
      return false;
    }
  }

  /** Returns whether there was something to delete. */
  async delete(id: string): Promise<boolean> {
    const existed = await this.has(id);
    await rm(this.pathOf(id), { force: true });
    return existed;
  }

  /** Where a blob lives on disk; rejects anything that is not a sha256 hex id. */
  pathOf(id: string): string {
    if (!BlobIdSchema.safeParse(id).success) {
      throw new KomaError('invalid-input', `"${shortId(id)}" is not a stored file id (expected 64 hex digits)`);
    }
    return path.join(this.dir, id.slice(0, 2), id.slice(2));
  }

  private async isIntact(file: string, id: string): Promise<boolean> {
    try {
      return blobIdOf(await readFile(file)) === id;
    } catch {
      return false;
    }
  }
}

function shortId(id: string): string {
  return id.length > 16 ? `${id.slice(0, 12)}…` : id;
}

import path from 'node:path';
import type { Config } from '../config/config.js';
import { BlobStore } from './blob-store.js';
import { openKeyvBackend, type BackendKind } from './keyv-backend.js';
import { createRepositories, type Repositories } from './repositories.js';

/** Everything Koma persists: the four record repositories and the blob files. */
export interface Store extends Repositories {
  blobs: BlobStore;
  /** Which database holds the records. */
  readonly backend: BackendKind;
  /** Closes database connections; the store must not be used afterwards. */
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** Resolves relative paths (SQLite file, blob dir); defaults to process.cwd(). */
  cwd?: string;
  /** Prefix for every keyv namespace, to keep test runs or deployments apart in one database. */
  namespacePrefix?: string;
  clock?: () => Date;
  /** Largest blob accepted; defaults to DEFAULT_MAX_BLOB_BYTES. */
  maxBlobBytes?: number;
}

/**
 * Opens the store the config names (`store.url`, `blobs.dir`). Throws a
 * 'config' KomaError when the URL is unsupported or the database cannot be reached.
 */
export async function openStore(config: Pick<Config, 'store' | 'blobs'>, options: OpenStoreOptions = {}): Promise<Store> {
  const cwd = options.cwd ?? process.cwd();
  const backend = await openKeyvBackend(config.store.url, { cwd, prefix: options.namespacePrefix });
  const repositories = createRepositories(backend, { clock: options.clock });
  const blobs = new BlobStore({ dir: path.resolve(cwd, config.blobs.dir), maxBytes: options.maxBlobBytes });
  let closed = false;
  return {
    ...repositories,
    blobs,
    backend: backend.kind,
    async close() {
      if (closed) return;
      closed = true;
      await backend.close();
    },
  };
}

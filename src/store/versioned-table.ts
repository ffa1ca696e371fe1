import type Keyv from 'keyv';
import type { z } from 'zod';
import { KomaError } from '../domain/errors.js';
import { formatZodError } from '../domain/zod-errors.js';
import { type KeyvBackend, serializeEntry, UnreadableValue } from './keyv-backend.js';

/**
 * One record type in one keyv namespace, with optimistic versioning: every write
 * names the version it expects to replace, and the backend's compare-and-set
 * refuses it atomically when someone else got there first. Records are checked
 * against their zod schema on the way in and on the way out.
 *
 * This layer takes no locks; `VersionedRepository` adds the per-key lock and the
 * index upkeep. Keys are chosen by the caller (`aki`, `my-story/p003`).
 */

export interface VersionStamp {
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** What callers hand to `create`: a record without version or timestamps. */
export type Unstamped<T> = Omit<T, keyof VersionStamp>;

export interface VersionedTableOptions<T extends VersionStamp> {
  backend: KeyvBackend;
  namespace: string;
  schema: z.ZodType<T>;
  /** Names a record for people: `panel "p003" of story "trip"`. */
  describe: (key: string) => string;
  /** Injected so tests can pin timestamps. */
  clock?: () => Date;
}

export class VersionedTable<T extends VersionStamp> {
  private readonly keyv: Keyv;
  private readonly clock: () => Date;

  constructor(private readonly options: VersionedTableOptions<T>) {
    this.keyv = options.backend.namespace(options.namespace);
    this.clock = options.clock ?? (() => new Date());
  }

  describe(key: string): string {
    return this.options.describe(key);
  }

  async get(key: string): Promise<T | undefined> {
    const raw: unknown = await this.keyv.get(key);
    return raw === undefined ? undefined : this.parseStored(key, raw);
  }

  /** Records for `keys` in the same order; missing ones are undefined. */
  async getMany(keys: readonly string[]): Promise<(T | undefined)[]> {
    if (keys.length === 0) return [];
    const raws: unknown[] = await this.keyv.getMany([...keys]);
    return keys.map((key, i) => (raws[i] === undefined || raws[i] === null ? undefined : this.parseStored(key, raws[i])));
  }

  async require(key: string): Promise<T> {
    const record = await this.get(key);
    if (!record) throw new KomaError('not-found', `${this.describe(key)} was not found; check the name or list what exists`);
    return record;
  }

  /**
   * Stores a new record with version 1; refuses when the key is taken.
   * `beforeWrite` runs once the record is known to be valid (index upkeep goes there,
   * so invalid input never leaves index entries behind).
   */
  async insert(key: string, input: Unstamped<T> | Record<string, unknown>, beforeWrite?: () => Promise<void>): Promise<T> {
    const now = this.clock().toISOString();
    const record = this.validate(key, { ...input, version: 1, createdAt: now, updatedAt: now });
    await beforeWrite?.();
    const written = await this.options.backend.compareAndSet(this.options.namespace, key, null, serializeEntry(record));
    if (!written) throw new KomaError('conflict', `${this.describe(key)} already exists; pick another name or edit the existing one`);
    return record;
  }

  /**
   * Replaces the record whose version the caller read (`record.version`) with
   * version + 1. The stored createdAt is kept; updatedAt becomes now.
   */
  async replace(key: string, record: T): Promise<T> {
    const current = await this.require(key);
    if (current.version !== record.version) throw this.staleEdit(key, record.version, current.version);
    const next = this.validate(key, {
      ...record,
      version: current.version + 1,
      createdAt: current.createdAt,
      updatedAt: this.laterThan(current.updatedAt),
    });
    const written = await this.options.backend.compareAndSet(this.options.namespace, key, current.version, serializeEntry(next));
    if (!written) throw await this.lostRace(key, record.version);
    return next;
  }

  /** Deletes the record if it is still at `expectedVersion`; returns what was deleted. */
  async remove(key: string, expectedVersion: number): Promise<T> {
    const current = await this.require(key);
    if (current.version !== expectedVersion) throw this.staleEdit(key, expectedVersion, current.version);
    const removed = await this.options.backend.compareAndSet(this.options.namespace, key, current.version, null);
    if (!removed) throw await this.lostRace(key, expectedVersion);
    return current;
  }

  /** Deletes without a version check; only for cascades under the owner's lock. */
  async forceRemove(key: string): Promise<void> {
    await this.keyv.delete(key);
  }

  private staleEdit(key: string, edited: number, now: number): KomaError {
    return new KomaError(
      'conflict',
      `${this.describe(key)} was changed by someone else (you edited version ${edited}, it is now version ${now}); reload and try again`,
    );
  }

  /** The compare-and-set failed: another process wrote between our read and our write. */
  private async lostRace(key: string, edited: number): Promise<KomaError> {
    const now = await this.get(key).catch(() => undefined);
    if (!now) return new KomaError('conflict', `${this.describe(key)} was deleted by someone else while you edited it; reload and try again`);
    return this.staleEdit(key, edited, now.version);
  }

  /** Timestamps never go backwards, even when two writes land in the same millisecond or clocks jump. */
  private laterThan(previous: string): string {
    const now = this.clock();
    const before = Date.parse(previous);
    return (Number.isFinite(before) && now.getTime() <= before ? new Date(before + 1) : now).toISOString();
  }

  private validate(key: string, candidate: unknown): T {
    const parsed = this.options.schema.safeParse(candidate);
    if (!parsed.success) throw new KomaError('invalid-input', `${this.describe(key)}: ${formatZodError(parsed.error)}`);
    return parsed.data;
  }

  private parseStored(key: string, raw: unknown): T {
    const where = `stored ${this.describe(key)} (key "${this.options.namespace}:${key}")`;
    if (raw instanceof UnreadableValue) {
      throw new KomaError('corrupt-data', `${where} is not valid JSON (${raw.reason}); restore it from a backup or delete it`);
    }
    const parsed = this.options.schema.safeParse(raw);
    if (!parsed.success) {
      throw new KomaError('corrupt-data', `${where} does not match the schema (${formatZodError(parsed.error, 2)}); restore it from a backup or delete it`);
    }
    return parsed.data;
  }
}

import type Keyv from 'keyv';
import { z } from 'zod';
import { KomaError } from '../domain/errors.js';
import type { KeyedLock } from './keyed-lock.js';
import { type KeyvBackend, serializeEntry, UnreadableValue } from './keyv-backend.js';

/**
 * Lists of ids kept as explicit records (`story/trip/panels` → ["p001", "p002"]).
 *
 * Why not keyv's iterator: all three adapters have one, but it walks a whole
 * namespace (every panel of every story) and its order and paging differ per
 * adapter. An index record answers "the panels of story X" with one read.
 *
 * Every change holds the in-process lock for the index key and is written with
 * compare-and-set, retried on a lost race, so two writers never drop each
 * other's ids. Repositories add an id before writing its record and remove it
 * after deleting the record: a crash in between leaves an id without a record,
 * which readers skip, and never a record nobody can list.
 */

const IndexRecordSchema = z.object({
  version: z.number().int().nonnegative(),
  ids: z.array(z.string()),
});
type IndexRecord = z.infer<typeof IndexRecordSchema>;

const MAX_ATTEMPTS = 20;

export class IdIndex {
  private readonly keyv: Keyv;

  constructor(
    private readonly backend: KeyvBackend,
    private readonly namespace: string,
    private readonly lock: KeyedLock,
  ) {
    this.keyv = backend.namespace(namespace);
  }

  async list(key: string): Promise<string[]> {
    return (await this.read(key))?.ids ?? [];
  }

  async add(key: string, id: string): Promise<void> {
    await this.mutate(key, (ids) => (ids.includes(id) ? ids : [...ids, id]));
  }

  async remove(key: string, id: string): Promise<void> {
    await this.mutate(key, (ids) => ids.filter((x) => x !== id));
  }

  /**
   * Applies `change` to the current ids (it may be async and may throw to refuse)
   * and stores the result; an empty list deletes the index record.
   */
  async mutate(key: string, change: (ids: readonly string[]) => readonly string[] | Promise<readonly string[]>): Promise<void> {
    await this.lock.run(`index:${key}`, async () => {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const current = await this.read(key);
        const before = current?.ids ?? [];
        const after = await change(before);
        if (sameIds(before, after)) return;
        const expected = current ? current.version : null;
        let next: string | null = null;
        if (after.length > 0) next = serializeEntry({ version: (current?.version ?? 0) + 1, ids: [...after] } satisfies IndexRecord);
        if (await this.backend.compareAndSet(this.namespace, key, expected, next)) return;
      }
      throw new KomaError('conflict', `the list "${key}" is being changed by too many writers at once; try again in a moment`);
    });
  }

  private async read(key: string): Promise<IndexRecord | undefined> {
    const raw: unknown = await this.keyv.get(key);
    if (raw === undefined || raw === null) return undefined;
    const parsed = raw instanceof UnreadableValue ? undefined : IndexRecordSchema.safeParse(raw);
    if (!parsed?.success) {
      throw new KomaError('corrupt-data', `stored list (key "${this.namespace}:${key}") is corrupt; restore it from a backup or delete it (the items it listed will then no longer be listed)`);
    }
    return parsed.data;
  }
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

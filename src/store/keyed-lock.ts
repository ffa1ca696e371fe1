/**
 * Serialises async work per key inside one process: `run(key, fn)` starts `fn`
 * only after every earlier `run` on the same key has settled. Keys are
 * independent, so edits to different stories never wait for each other.
 *
 * Not re-entrant: calling `run` on a key from inside `run` on the same key
 * deadlocks, so repositories take a lock once at the public entry point.
 */
export class KeyedLock {
  /** Tail of the queue per key; removed when the last holder finishes so the map stays small. */
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Holds several keys at once, always in sorted order so two callers cannot deadlock. */
  async runAll<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const step = (i: number): Promise<T> => (i === sorted.length ? fn() : this.run(sorted[i]!, () => step(i + 1)));
    return step(0);
  }

  /** Number of keys with work queued or running (for tests and leak checks). */
  get activeKeys(): number {
    return this.tails.size;
  }
}

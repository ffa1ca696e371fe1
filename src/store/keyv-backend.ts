import { mkdirSync } from 'node:fs';
import path from 'node:path';
import KeyvPostgres from '@keyv/postgres';
import KeyvRedis, { createClient } from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import Keyv, { type DeserializedData } from 'keyv';
import { KomaError } from '../domain/errors.js';

/**
 * Opens the key-value database behind Koma's records from a URL:
 * `sqlite://data/koma.sqlite` (relative to cwd), `sqlite:///abs/path.sqlite`,
 * `sqlite://:memory:`, `redis://…`/`rediss://…`, `postgres://…`/`postgresql://…`.
 *
 * Each record type gets its own keyv namespace (`story`, `panel`, …), optionally
 * behind a prefix so several deployments or test runs can share one database.
 *
 * Keyv itself has no compare-and-set, so each backend also provides
 * `compareAndSet`, one atomic statement against the adapter's own connection
 * (a conditional SQL UPDATE/INSERT/DELETE, or a Lua script on Redis). That makes
 * version checks hold even if a second process writes, on top of the in-process
 * lock the repositories take.
 */

export type BackendKind = 'sqlite' | 'redis' | 'postgres';

/** The version a compare-and-set expects to find; `null` means "the key must not exist". */
export type ExpectedVersion = number | null;

export interface KeyvBackend {
  readonly kind: BackendKind;
  /** The URL with any password hidden, for messages. */
  readonly description: string;
  /** The keyv instance for one record type; created on first use. */
  namespace(name: string): Keyv;
  /**
   * Atomically writes `serialized` (or deletes, when null) under `key` in `namespace`
   * if the stored record's `version` equals `expected`. Returns false when it did not.
   */
  compareAndSet(namespace: string, key: string, expected: ExpectedVersion, serialized: string | null): Promise<boolean>;
  close(): Promise<void>;
}

export interface OpenBackendOptions {
  /** Resolves relative SQLite paths; defaults to process.cwd(). */
  cwd?: string;
  /** Prepended to every namespace (`<prefix>story`), to keep deployments or test runs apart. */
  prefix?: string;
}

/** A stored value that is not valid JSON; the repository reports it with its key. */
export class UnreadableValue {
  constructor(
    readonly raw: string,
    readonly reason: string,
  ) {}
}

/**
 * Plain JSON, so rows are readable with sqlite3/psql/redis-cli and the CAS
 * statements can find `value.version`. A row that does not parse becomes an
 * UnreadableValue instead of an exception deep inside keyv.
 */
export function serializeEntry(value: unknown): string {
  return JSON.stringify({ value });
}

function deserializeEntry<Value>(raw: string): DeserializedData<Value> | undefined {
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed === 'object' && parsed !== null && 'value' in parsed) return parsed as DeserializedData<Value>;
    return { value: new UnreadableValue(raw, 'the row has no "value" field') as Value };
  } catch (error) {
    return { value: new UnreadableValue(raw, (error as Error).message) as Value };
  }
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

function schemeOf(url: string): string {
  const match = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  return match ? match[1]!.toLowerCase() : '';
}

export async function openKeyvBackend(url: string, options: OpenBackendOptions = {}): Promise<KeyvBackend> {
  const scheme = schemeOf(url);
  switch (scheme) {
    case 'sqlite':
      return openSqlite(url, options);
    case 'redis':
    case 'rediss':
      return openRedis(url, options);
    case 'postgres':
    case 'postgresql':
      return openPostgres(url, options);
    default:
      throw new KomaError(
        'config',
        `store: unsupported store URL "${redactUrl(url)}"; use sqlite://path, redis://host:port or postgres://user@host/db`,
      );
  }
}

function keyvOptions(namespace: string, useKeyPrefix = true) {
  return {
    namespace,
    useKeyPrefix,
    serialize: serializeEntry,
    deserialize: deserializeEntry,
    throwOnErrors: true,
  };
}

function unreachable(description: string, error: unknown): KomaError {
  const reason = error instanceof Error ? error.message : String(error);
  return new KomaError(
    'config',
    `store: cannot open ${description}: ${reason || 'no answer'}; check store.url (KOMA_STORE_URL) and that the database is running`,
    { cause: error },
  );
}

/** A Keyv per namespace; `make` builds the adapter + Keyv pair for one namespace. */
function namespaceCache(prefix: string, make: (fullName: string) => Keyv) {
  const byName = new Map<string, Keyv>();
  return {
    get(name: string): Keyv {
      let keyv = byName.get(name);
      if (!keyv) {
        keyv = make(prefix + name);
        byName.set(name, keyv);
      }
      return keyv;
    },
    all: () => [...byName.values()],
  };
}

// ---------------------------------------------------------------- SQLite

/** `sqlite://rel/path`, `sqlite:///abs/path` or `sqlite://:memory:` → a file path for sqlite3. */
export function sqlitePathFromUrl(url: string, cwd: string): string {
  const rest = url.replace(/^sqlite:\/\//i, '');
  if (rest === ':memory:') return rest;
  if (rest === '') throw new KomaError('config', 'store: the sqlite:// URL has no file path; write it like sqlite://data/koma.sqlite');
  return path.resolve(cwd, decodeURIComponent(rest));
}

async function openSqlite(url: string, options: OpenBackendOptions): Promise<KeyvBackend> {
  const file = sqlitePathFromUrl(url, options.cwd ?? process.cwd());
  const description = `the SQLite store ${file}`;
  if (file !== ':memory:') {
    try {
      mkdirSync(path.dirname(file), { recursive: true });
    } catch (error) {
      throw unreachable(description, error);
    }
  }
  // Every namespace shares one adapter would be nicer, but keyv writes its namespace
  // into the adapter; so one adapter (and connection) per namespace, with a busy
  // timeout so they wait for each other instead of failing with SQLITE_BUSY.
  // `:memory:` would give each connection its own empty database, so it shares one adapter.
  const adapters = new Map<string, KeyvSqlite>();
  const shared = file === ':memory:' ? new KeyvSqlite({ uri: 'sqlite://:memory:', busyTimeout: 5000 }) : undefined;
  const adapterFor = (fullName: string): KeyvSqlite => {
    let adapter = shared ?? adapters.get(fullName);
    if (!adapter) {
      adapter = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: 5000 });
      adapters.set(fullName, adapter);
    }
    return adapter;
  };
  const cache = namespaceCache(options.prefix ?? '', (fullName) => {
    const keyv = new Keyv(adapterFor(fullName), keyvOptions(fullName));
    keyv.on('error', () => {}); // errors are thrown to the caller (throwOnErrors); the event is redundant
    return keyv;
  });
  const anyAdapter = (): KeyvSqlite => shared ?? adapterFor('__koma_cas__');

  try {
    const probe = anyAdapter();
    // WAL lets readers and the one writer proceed together; it sticks to the file.
    if (file !== ':memory:') await probe.query('PRAGMA journal_mode=WAL');
    await probe.query('SELECT 1');
  } catch (error) {
    throw unreachable(description, error);
  }

  return {
    kind: 'sqlite',
    description,
    namespace: (name) => cache.get(name),
    async compareAndSet(namespace, key, expected, serialized) {
      const fullKey = `${(options.prefix ?? '') + namespace}:${key}`;
      const table = 'keyv';
      const db = anyAdapter();
      let rows: unknown[];
      if (expected === null) {
        if (serialized === null) return !(await db.has(fullKey));
        rows = await db.query(`INSERT INTO ${table} (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING RETURNING key`, fullKey, serialized);
      } else if (serialized === null) {
        rows = await db.query(`DELETE FROM ${table} WHERE key = ? AND json_extract(value, '$.value.version') = ? RETURNING key`, fullKey, expected);
      } else {
        rows = await db.query(
          `UPDATE ${table} SET value = ? WHERE key = ? AND json_extract(value, '$.value.version') = ? RETURNING key`,
          serialized,
          fullKey,
          expected,
        );
      }
      return rows.length === 1;
    },
    async close() {
      const all = shared ? [shared] : [...adapters.values()];
      await Promise.all(all.map((a) => a.disconnect()));
    },
  };
}

// ---------------------------------------------------------------- Redis

/** Compare-and-set in one server-side step; ARGV[1] '' = key must be absent, ARGV[2] '' = delete. */
const REDIS_CAS_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if current then return 0 end
else
  if not current then return 0 end
  local ok, doc = pcall(cjson.decode, current)
  if not ok or type(doc) ~= 'table' or type(doc.value) ~= 'table' then return 0 end
  if tostring(doc.value.version) ~= ARGV[1] then return 0 end
end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
return 1
`;

async function openRedis(url: string, options: OpenBackendOptions): Promise<KeyvBackend> {
  const description = `the Redis store ${redactUrl(url)}`;
  // One connection for every namespace. Opening gives up after a few tries so a
  // wrong URL is reported at start; once connected it reconnects forever.
  let everConnected = false;
  const reconnectStrategy = (retries: number, cause: Error) => (!everConnected && retries >= 2 ? cause : Math.min(100 * 2 ** retries, 5000));
  const client = createClient({ url, socket: { connectTimeout: 5000, reconnectStrategy } });
  let lastError: unknown;
  client.on('error', (error: unknown) => {
    lastError = error;
  });
  try {
    await withTimeout(client.connect(), 8000, () => lastError ?? new Error('timed out'));
    everConnected = true;
  } catch (error) {
    try {
      await client.destroy(); // stops reconnect attempts; throws when the socket never opened
    } catch {
      // nothing to close
    }
    throw unreachable(description, lastError ?? error);
  }

  const separator = '::';
  const cache = namespaceCache(options.prefix ?? '', (fullName) => {
    const adapter = new KeyvRedis(client, { namespace: fullName, keyPrefixSeparator: separator, throwOnErrors: true, throwOnConnectError: true });
    const keyv = new Keyv(adapter, keyvOptions(fullName, false));
    keyv.on('error', () => {});
    return keyv;
  });

  return {
    kind: 'redis',
    description,
    namespace: (name) => cache.get(name),
    async compareAndSet(namespace, key, expected, serialized) {
      const fullKey = `${(options.prefix ?? '') + namespace}${separator}${key}`;
      const result = await client.eval(REDIS_CAS_SCRIPT, {
        keys: [fullKey],
        arguments: [expected === null ? '' : String(expected), serialized ?? ''],
      });
      return Number(result) === 1;
    },
    async close() {
      if (client.isOpen) await client.close();
    },
  };
}

// ---------------------------------------------------------------- PostgreSQL

/** Open backends per URL: the shared pool is ended only when the last one closes. */
const openPostgresCount = new Map<string, number>();

async function openPostgres(url: string, options: OpenBackendOptions): Promise<KeyvBackend> {
  const description = `the PostgreSQL store ${redactUrl(url)}`;
  // @keyv/postgres keeps one pg.Pool per process and URL, shared by all adapters
  // of that URL; `disconnect` ends it for all of them, so close() calls it once.
  let lastError: unknown;
  const adapters: KeyvPostgres[] = [];
  const makeAdapter = (): KeyvPostgres => {
    const adapter = new KeyvPostgres({ uri: url, connectionTimeoutMillis: 5000 });
    // Attached before the adapter's first query settles, so a failed connect is recorded, not thrown as an unhandled event.
    adapter.on('error', (error: unknown) => {
      lastError = error;
    });
    adapters.push(adapter);
    return adapter;
  };
  const casAdapter = makeAdapter();
  try {
    const rows = await casAdapter.query('SELECT 1 AS ok');
    if (!Array.isArray(rows)) throw lastError ?? new Error('no connection');
  } catch (error) {
    if (!openPostgresCount.get(url)) await casAdapter.disconnect().catch(() => {});
    throw unreachable(description, lastError ?? error);
  }

  const cache = namespaceCache(options.prefix ?? '', (fullName) => {
    const keyv = new Keyv(makeAdapter(), keyvOptions(fullName));
    keyv.on('error', () => {});
    return keyv;
  });
  openPostgresCount.set(url, (openPostgresCount.get(url) ?? 0) + 1);
  const table = `${casAdapter.opts.schema ?? 'public'}.${casAdapter.opts.table ?? 'keyv'}`;

  return {
    kind: 'postgres',
    description,
    namespace: (name) => cache.get(name),
    async compareAndSet(namespace, key, expected, serialized) {
      const fullKey = `${(options.prefix ?? '') + namespace}:${key}`;
      let rows: unknown[];
      if (expected === null) {
        if (serialized === null) return !(await casAdapter.has(fullKey));
        rows = await casAdapter.query(`INSERT INTO ${table} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING key`, [fullKey, serialized]);
      } else if (serialized === null) {
        rows = await casAdapter.query(`DELETE FROM ${table} WHERE key = $1 AND (value::jsonb #>> '{value,version}') = $2 RETURNING key`, [
          fullKey,
          String(expected),
        ]);
      } else {
        rows = await casAdapter.query(
          `UPDATE ${table} SET value = $2 WHERE key = $1 AND (value::jsonb #>> '{value,version}') = $3 RETURNING key`,
          [fullKey, serialized, String(expected)],
        );
      }
      return rows.length === 1;
    },
    async close() {
      const left = (openPostgresCount.get(url) ?? 1) - 1;
      if (left > 0) {
        openPostgresCount.set(url, left);
        return;
      }
      openPostgresCount.delete(url);
      await casAdapter.disconnect();
    },
  };
}

async function withTimeout<T>(work: Promise<T>, ms: number, reason: () => unknown): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(reason()), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

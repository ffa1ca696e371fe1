import { existsSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KomaError } from '../src/domain/errors.js';
import { KeyedLock } from '../src/store/keyed-lock.js';
import { openKeyvBackend, redactUrl, sqlitePathFromUrl } from '../src/store/keyv-backend.js';
import { openStore } from '../src/store/open-store.js';

const TMP = path.resolve('test/.tmp/store');

async function komaError(work: Promise<unknown>): Promise<KomaError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KomaError);
  return error as KomaError;
}

describe('store URLs', () => {
  it('resolves SQLite paths against the working directory', () => {
    expect(sqlitePathFromUrl('sqlite://data/koma.sqlite', '/srv/koma')).toBe('/srv/koma/data/koma.sqlite');
    expect(sqlitePathFromUrl('sqlite:///var/lib/koma.sqlite', '/srv/koma')).toBe('/var/lib/koma.sqlite');
    expect(sqlitePathFromUrl('sqlite://:memory:', '/srv/koma')).toBe(':memory:');
  });

  it('refuses unknown schemes and empty paths with a config error', async () => {
    const unknown = await komaError(openKeyvBackend('mongodb://user:secret@db/koma'));
    expect(unknown.code).toBe('config');
    expect(unknown.message).toMatch(/unsupported store URL "mongodb:\/\/user:\*\*\*@db\/koma"/);
    expect(unknown.message).not.toContain('secret');
    expect((await komaError(openKeyvBackend('sqlite://'))).code).toBe('config');
  });

  it('hides passwords in URLs', () => {
    expect(redactUrl('postgres://koma:hunter2@db:5432/koma')).toBe('postgres://koma:***@db:5432/koma');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });

  it('reports an unreachable Redis or PostgreSQL as a config error', async () => {
    const redis = await komaError(openKeyvBackend('redis://127.0.0.1:1'));
    expect(redis.code).toBe('config');
    expect(redis.message).toMatch(/cannot open the Redis store redis:\/\/127\.0\.0\.1:1: .*KOMA_STORE_URL/);
    const pg = await komaError(openKeyvBackend('postgres://postgres@127.0.0.1:1/test'));
    expect(pg.code).toBe('config');
    expect(pg.message).toMatch(/cannot open the PostgreSQL store/);
  });
});

describe('openStore', () => {
  const cwd = path.join(TMP, `open-${process.pid}-${randomBytes(3).toString('hex')}`);
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('creates the SQLite parent folder, relative to cwd, and keeps data across reopen', async () => {
    const config = { store: { url: 'sqlite://nested/dir/koma.sqlite' }, blobs: { dir: 'blobs' } };
    const store = await openStore(config, { cwd });
    expect(store.backend).toBe('sqlite');
    expect(existsSync(path.join(cwd, 'nested/dir/koma.sqlite'))).toBe(true);
    await store.stories.create({ id: 'trip', title: 'Trip', ownerId: 'u1' });
    const blobId = await store.blobs.put(new TextEncoder().encode('hello'));
    expect(store.blobs.dir).toBe(path.join(cwd, 'blobs'));
    await store.close();
    await store.close(); // idempotent

    const again = await openStore(config, { cwd });
    expect((await again.stories.require('trip')).title).toBe('Trip');
    expect(new TextDecoder().decode(await again.blobs.get(blobId))).toBe('hello');
    await again.close();
  });
});

describe('KeyedLock', () => {
  it('runs work on one key one at a time, in arrival order, and other keys freely', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const tick = () => new Promise<void>((r) => setImmediate(r));
    const job = (key: string, name: string) =>
      lock.run(key, async () => {
        log.push(`${name}+`);
        await tick();
        await tick();
        log.push(`${name}-`);
      });
    await Promise.all([job('a', 'a1'), job('a', 'a2'), job('b', 'b1')]);
    // a1 and a2 never overlap; b1 starts while a1 is still running.
    expect(log.indexOf('a1-')).toBeLessThan(log.indexOf('a2+'));
    expect(log.indexOf('b1+')).toBeLessThan(log.indexOf('a1-'));
    expect(lock.activeKeys).toBe(0);
  });

  it('releases the key when the work throws', async () => {
    const lock = new KeyedLock();
    await expect(lock.run('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lock.run('k', async () => 'next')).resolves.toBe('next');
    expect(lock.activeKeys).toBe(0);
  });
});

import { mkdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KomaError } from '../src/domain/errors.js';
import { createRepositories, type Repositories } from '../src/store/repositories.js';
import { openKeyvBackend, type KeyvBackend } from '../src/store/keyv-backend.js';
import { serializeEntry } from '../src/store/keyv-backend.js';

/**
 * The same repository contract, run against every backend that is reachable:
 * SQLite always, Redis when REDIS_URL is set, PostgreSQL when DATABASE_URL is set.
 * Each test gets its own namespace prefix and removes its keys afterwards.
 */

const TMP = path.resolve('test/.tmp/store');
const NAMESPACES = ['story', 'character', 'panel', 'page', 'index'];

async function expectKomaError(work: Promise<unknown>, code: string, pattern?: RegExp): Promise<KomaError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected a KomaError').toBeInstanceOf(KomaError);
  const koma = error as KomaError;
  expect(koma.code).toBe(code);
  if (pattern) expect(koma.message).toMatch(pattern);
  return koma;
}

/** A clock that advances one second per reading, so every write gets a distinct, known time. */
function steppingClock(start = Date.parse('2025-01-01T00:00:00Z')) {
  let t = start;
  return () => new Date((t += 1000));
}

const storyInput = (id: string, extra: Record<string, unknown> = {}) => ({ id, title: `Story ${id}`, ownerId: 'u1', ...extra });
const panelInput = (storyId: string, id: string, index: number, extra: Record<string, unknown> = {}) => ({
  id,
  storyId,
  index,
  prompt: `panel ${id}`,
  seed: 7,
  ...extra,
});

function repositorySuite(name: string, url: () => string) {
  describe(`repositories on ${name}`, () => {
    let backend: KeyvBackend;
    let repos: Repositories;
    let prefix: string;
    const extraBackends: KeyvBackend[] = [];

    beforeEach(async () => {
      prefix = `t${randomBytes(5).toString('hex')}-`;
      backend = await openKeyvBackend(url(), { prefix });
      repos = createRepositories(backend, { clock: steppingClock() });
    });

    afterEach(async () => {
      if (backend.kind !== 'sqlite') {
        for (const ns of NAMESPACES) await backend.namespace(ns).clear();
      }
      for (const b of extraBackends.splice(0)) await b.close();
      await backend.close();
    });

    it('creates, reads and refuses duplicate stories', async () => {
      const created = await repos.stories.create(storyInput('trip', { guildId: 'g1' }));
      expect(created.version).toBe(1);
      expect(created.createdAt).toBe(created.updatedAt);
      // Schema defaults are applied on the way in.
      expect(created.readingDirection).toBe('rtl');
      expect(created.renderDefaults.steps).toBe(25);
      expect(await repos.stories.get('trip')).toEqual(created);
      expect(await repos.stories.get('nope')).toBeUndefined();
      await expectKomaError(repos.stories.require('nope'), 'not-found', /story "nope" was not found/);
      await expectKomaError(repos.stories.create(storyInput('trip')), 'conflict', /story "trip" already exists/);
    });

    it('validates records on write', async () => {
      await expectKomaError(repos.stories.create(storyInput('bad', { title: '   ', guildId: 'g9' })), 'invalid-input', /title is empty/);
      await expect(repos.stories.get('bad')).resolves.toBeUndefined();
      await repos.stories.create(storyInput('trip'));
      await expectKomaError(
        repos.panels.create(panelInput('trip', 'p001', 0, { characters: [{ characterId: 'aki', box: [0.5, 0, 0.2, 1] }] })),
        'invalid-input',
        /panel "p001" of story "trip": characters\[0\]\.box: box \[0\.5, 0, 0\.2, 1\] is inverted/,
      );
      // Nothing was half-written: no record and no index entry.
      await expect(repos.panels.get('trip', 'p001')).resolves.toBeUndefined();
      await expect(backend.namespace('index').get('story/trip/panels')).resolves.toBeUndefined();
      await expect(backend.namespace('index').get('guild/g9')).resolves.toBeUndefined();
    });

    it('bumps the version on update and refuses a stale one', async () => {
      const v1 = await repos.stories.create(storyInput('trip'));
      const v2 = await repos.stories.update({ ...v1, title: 'Road Trip' });
      expect(v2.version).toBe(2);
      expect(v2.title).toBe('Road Trip');
      expect(v2.createdAt).toBe(v1.createdAt);
      expect(Date.parse(v2.updatedAt)).toBeGreaterThan(Date.parse(v1.updatedAt));
      await expectKomaError(
        repos.stories.update({ ...v1, title: 'Old edit' }),
        'conflict',
        /^story "trip" was changed by someone else \(you edited version 1, it is now version 2\); reload and try again$/,
      );
      expect((await repos.stories.require('trip')).title).toBe('Road Trip');
    });

    it('lets exactly one of two concurrent edits from the same read win', async () => {
      await repos.stories.create(storyInput('trip'));
      await repos.panels.create(panelInput('trip', 'p001', 0));
      const read = await repos.panels.require('trip', 'p001');
      const results = await Promise.allSettled([
        repos.panels.update({ ...read, prompt: 'edit by Aki' }),
        repos.panels.update({ ...read, prompt: 'edit by Ren' }),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'conflict' });
      const winner = (won[0] as PromiseFulfilledResult<{ prompt: string }>).value;
      const stored = await repos.panels.require('trip', 'p001');
      expect(stored.version).toBe(2);
      expect(stored.prompt).toBe(winner.prompt);
    });

    it('refuses a stale edit made through a second connection (database-level compare-and-set)', async () => {
      // A second backend with its own in-process lock stands in for a second process.
      const other = await openKeyvBackend(url(), { prefix });
      extraBackends.push(other);
      const otherRepos = createRepositories(other);
      const v1 = await repos.stories.create(storyInput('trip'));
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? repos : otherRepos).stories.update({ ...v1, title: `Edit ${i}` })),
      );
      const won = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ title: string }>[];
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'conflict' });
      const stored = await repos.stories.require('trip');
      expect(stored.version).toBe(2);
      expect(stored.title).toBe(won[0]!.value.title);
    });

    it('round-trips characters, panels and pages and lists them per story', async () => {
      await repos.stories.create(storyInput('trip'));
      await repos.stories.create(storyInput('other'));
      const aki = await repos.characters.create({ id: 'aki', storyId: 'trip', name: 'Aki', ownerId: 'u1', referenceImages: ['a'.repeat(64)] });
      await repos.characters.create({ id: 'ren', storyId: 'trip', name: 'Ren', ownerId: 'u2' });
      expect(await repos.characters.require('trip', 'aki')).toEqual(aki);
      expect(aki.description).toBe('');

      // Created out of order: listing follows `index`, not creation order.
      await repos.panels.create(
        panelInput('trip', 'p003', 2, {
          characters: [{ characterId: 'aki', box: [0.1, 0.2, 0.5, 0.9] }],
          dialogs: [{ speaker: 'aki', text: 'Hi!' }],
        }),
      );
      await repos.panels.create(panelInput('trip', 'p001', 0));
      await repos.panels.create(panelInput('trip', 'p002', 1));
      // Same panel id in another story is a different record.
      await repos.panels.create(panelInput('other', 'p001', 0, { prompt: 'elsewhere' }));

      expect((await repos.panels.listByStory('trip')).map((p) => p.id)).toEqual(['p001', 'p002', 'p003']);
      expect((await repos.panels.require('other', 'p001')).prompt).toBe('elsewhere');
      const p3 = await repos.panels.require('trip', 'p003');
      expect(p3.characters[0]!.box).toEqual([0.1, 0.2, 0.5, 0.9]);
      expect(p3.dialogs[0]).toEqual({ speaker: 'aki', text: 'Hi!', kind: 'speech' });

      await repos.pages.create({ id: 'page2', storyId: 'trip', index: 1, panelIds: ['p003'] });
      const page1 = await repos.pages.create({ id: 'page1', storyId: 'trip', index: 0, panelIds: ['p001', 'p002'], layout: '2x1' });
      expect((await repos.pages.listByStory('trip')).map((p) => p.id)).toEqual(['page1', 'page2']);
      expect(page1.layout).toBe('2x1');

      expect((await repos.characters.listByStory('trip')).map((c) => c.id)).toEqual(['aki', 'ren']);
      expect(await repos.characters.listByStory('other')).toEqual([]);

      await repos.characters.delete('trip', 'ren', 1);
      expect((await repos.characters.listByStory('trip')).map((c) => c.id)).toEqual(['aki']);
      await expectKomaError(repos.characters.require('trip', 'ren'), 'not-found', /character "ren" of story "trip"/);
    });

    it('refuses parts of a missing story and duplicate part ids', async () => {
      await expectKomaError(repos.panels.create(panelInput('ghost', 'p001', 0)), 'not-found', /story "ghost"/);
      await repos.stories.create(storyInput('trip'));
      await repos.panels.create(panelInput('trip', 'p001', 0));
      await expectKomaError(repos.panels.create(panelInput('trip', 'p001', 5)), 'conflict', /panel "p001" of story "trip" already exists/);
      expect((await repos.panels.require('trip', 'p001')).index).toBe(0);
    });

    it('deletes only at the expected version, cascading to the story contents', async () => {
      const story = await repos.stories.create(storyInput('trip', { guildId: 'g1', threadId: 't1' }));
      await repos.characters.create({ id: 'aki', storyId: 'trip', name: 'Aki', ownerId: 'u1' });
      await repos.panels.create(panelInput('trip', 'p001', 0));
      await repos.pages.create({ id: 'page1', storyId: 'trip', index: 0, panelIds: ['p001'] });
      await expectKomaError(repos.panels.delete('trip', 'p001', 3), 'conflict', /you edited version 3, it is now version 1/);
      await expectKomaError(repos.stories.delete('trip', 2), 'conflict');
      expect(await repos.panels.get('trip', 'p001')).toBeDefined();

      await repos.stories.delete('trip', story.version);
      expect(await repos.stories.get('trip')).toBeUndefined();
      expect(await repos.characters.get('trip', 'aki')).toBeUndefined();
      expect(await repos.panels.get('trip', 'p001')).toBeUndefined();
      expect(await repos.pages.listByStory('trip')).toEqual([]);
      expect(await repos.stories.listByGuild('g1')).toEqual([]);
      expect(await repos.stories.findByThread('t1')).toBeUndefined();
      // The id is free again, with an empty story.
      await repos.stories.create(storyInput('trip'));
      expect(await repos.panels.listByStory('trip')).toEqual([]);
    });

    it('finds stories by guild and thread, one story per thread', async () => {
      await repos.stories.create(storyInput('a', { guildId: 'g1', threadId: 't1' }));
      const b = await repos.stories.create(storyInput('b', { guildId: 'g1', threadId: 't2' }));
      await repos.stories.create(storyInput('c', { guildId: 'g2' }));
      expect((await repos.stories.listByGuild('g1')).map((s) => s.id).sort()).toEqual(['a', 'b']);
      expect((await repos.stories.findByThread('t2'))?.id).toBe('b');
      await expectKomaError(repos.stories.create(storyInput('d', { threadId: 't1' })), 'conflict', /already holds the story "Story a"/);
      expect(await repos.stories.get('d')).toBeUndefined();

      // Moving b to another guild and thread moves its index entries.
      await repos.stories.update({ ...b, guildId: 'g2', threadId: 't3' });
      expect((await repos.stories.listByGuild('g1')).map((s) => s.id)).toEqual(['a']);
      expect((await repos.stories.listByGuild('g2')).map((s) => s.id).sort()).toEqual(['b', 'c']);
      expect(await repos.stories.findByThread('t2')).toBeUndefined();
      expect((await repos.stories.findByThread('t3'))?.id).toBe('b');
    });

    it('reports stored data that is not JSON or does not match the schema, naming the key', async () => {
      await backend.compareAndSet('story', 'broken', null, '{"value": {"id": "broken", ');
      await expectKomaError(repos.stories.get('broken'), 'corrupt-data', /story "broken" \(key "story:broken"\) is not valid JSON/);
      await backend.compareAndSet('panel', 'trip/p009', null, serializeEntry({ id: 'p009', storyId: 'trip', index: -1 }));
      await expectKomaError(repos.panels.get('trip', 'p009'), 'corrupt-data', /panel "p009" of story "trip" \(key "panel:trip\/p009"\) does not match/);
    });
  });
}

mkdirSync(TMP, { recursive: true });
const sqliteFile = path.join(TMP, `repos-${process.pid}-${randomBytes(3).toString('hex')}.sqlite`);
afterAll(() => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(sqliteFile + suffix, { force: true });
});

repositorySuite('SQLite', () => `sqlite://${path.relative(process.cwd(), sqliteFile)}`);

describe.skipIf(!process.env.REDIS_URL)('Redis', () => {
  repositorySuite('Redis', () => process.env.REDIS_URL!);
});

describe.skipIf(!process.env.DATABASE_URL)('PostgreSQL', () => {
  repositorySuite('PostgreSQL', () => process.env.DATABASE_URL!);
});

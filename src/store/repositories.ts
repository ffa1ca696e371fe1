import type { z } from 'zod';
import { KomaError } from '../domain/errors.js';
import { type Character, CharacterSchema, type Page, PageSchema, type Panel, PanelSchema, type Story, StorySchema } from '../domain/model.js';
import { IdIndex } from './id-index.js';
import { KeyedLock } from './keyed-lock.js';
import type { KeyvBackend } from './keyv-backend.js';
import { type Unstamped, type VersionStamp, VersionedTable } from './versioned-table.js';

/**
 * The typed repositories: Story, and the records that live inside a story
 * (Character, Panel, Page). Ids of characters, panels and pages are only unique
 * within their story (`p001`, `aki`), so those are addressed by (storyId, id).
 *
 * Concurrency model: the bot process is the only writer of these records. GPU
 * workers never touch the store; they report results through the job queue and
 * the bot persists them. Inside the bot every write to a story or anything in it
 * holds one in-process lock per story, so index upkeep and cascading deletes
 * cannot interleave. On top of that each record write is a compare-and-set on
 * its version in the database itself (see keyv-backend.ts), so a stale edit is
 * refused with 'conflict' even if a second process ever writes.
 */

export type NewStory = Unstamped<z.input<typeof StorySchema>>;
export type NewCharacter = Unstamped<z.input<typeof CharacterSchema>>;
export type NewPanel = Unstamped<z.input<typeof PanelSchema>>;
export type NewPage = Unstamped<z.input<typeof PageSchema>>;

export interface StoryRepository {
  get(id: string): Promise<Story | undefined>;
  /** Like get, but a missing story is a 'not-found' KomaError naming it. */
  require(id: string): Promise<Story>;
  /** Stores version 1; 'conflict' if the id is taken or the thread already holds another story. */
  create(input: NewStory): Promise<Story>;
  /** `story.version` is the version the caller read; stores version + 1 or throws 'conflict'. */
  update(story: Story): Promise<Story>;
  /** Deletes the story and everything in it (characters, panels, pages). */
  delete(id: string, expectedVersion: number): Promise<void>;
  listByGuild(guildId: string): Promise<Story[]>;
  /** The story a Discord thread holds (one thread per story). */
  findByThread(threadId: string): Promise<Story | undefined>;
}

/** Records inside a story; same contract as StoryRepository, addressed by (storyId, id). */
export interface StoryPartRepository<T extends { id: string; storyId: string } & VersionStamp, New> {
  get(storyId: string, id: string): Promise<T | undefined>;
  require(storyId: string, id: string): Promise<T>;
  /** 'not-found' if the story does not exist, 'conflict' if the id is taken. */
  create(input: New): Promise<T>;
  update(record: T): Promise<T>;
  delete(storyId: string, id: string, expectedVersion: number): Promise<void>;
  /** Panels and pages come ordered by index; characters in the order they were created. */
  listByStory(storyId: string): Promise<T[]>;
}

export type CharacterRepository = StoryPartRepository<Character, NewCharacter>;
export type PanelRepository = StoryPartRepository<Panel, NewPanel>;
export type PageRepository = StoryPartRepository<Page, NewPage>;

export interface Repositories {
  stories: StoryRepository;
  characters: CharacterRepository;
  panels: PanelRepository;
  pages: PageRepository;
}

export interface RepositoryOptions {
  clock?: () => Date;
  /** Shared with anything else that must serialise with these writes; one per process by default. */
  lock?: KeyedLock;
}

const storyLock = (storyId: string) => `story:${storyId}`;
const partKey = (storyId: string, id: string) => `${storyId}/${id}`;
const byIndex = (a: { index: number; id: string }, b: { index: number; id: string }) => a.index - b.index || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

type PartKind = 'character' | 'panel' | 'page';

class StoryParts<T extends { id: string; storyId: string } & VersionStamp, New extends { id: string; storyId: string }>
  implements StoryPartRepository<T, New>
{
  constructor(
    readonly kind: PartKind,
    readonly table: VersionedTable<T>,
    private readonly index: IdIndex,
    private readonly stories: VersionedTable<Story>,
    private readonly lock: KeyedLock,
    private readonly order?: (a: T, b: T) => number,
  ) {}

  /** The index key listing this kind of record for a story. */
  listKey(storyId: string): string {
    return `story/${storyId}/${this.kind}s`;
  }

  get(storyId: string, id: string) {
    return this.table.get(partKey(storyId, id));
  }

  require(storyId: string, id: string) {
    return this.table.require(partKey(storyId, id));
  }

  create(input: New): Promise<T> {
    const { storyId, id } = input;
    return this.lock.run(storyLock(storyId), async () => {
      await this.stories.require(storyId);
      const key = partKey(storyId, id);
      if (await this.table.get(key)) {
        throw new KomaError('conflict', `${this.table.describe(key)} already exists; pick another name or edit the existing one`);
      }
      return this.table.insert(key, input, () => this.index.add(this.listKey(storyId), id));
    });
  }

  update(record: T): Promise<T> {
    return this.lock.run(storyLock(record.storyId), () => this.table.replace(partKey(record.storyId, record.id), record));
  }

  delete(storyId: string, id: string, expectedVersion: number): Promise<void> {
    return this.lock.run(storyLock(storyId), async () => {
      await this.table.remove(partKey(storyId, id), expectedVersion);
      await this.index.remove(this.listKey(storyId), id);
    });
  }

  async listByStory(storyId: string): Promise<T[]> {
    const ids = await this.index.list(this.listKey(storyId));
    const records = await this.table.getMany(ids.map((id) => partKey(storyId, id)));
    const found = records.filter((r): r is T => r !== undefined && r.storyId === storyId);
    return this.order ? found.sort(this.order) : found;
  }

  /** Removes every record of this kind in a story; the caller holds the story lock. */
  async removeAllUnlocked(storyId: string): Promise<void> {
    const ids = await this.index.list(this.listKey(storyId));
    for (const id of ids) await this.table.forceRemove(partKey(storyId, id));
    await this.index.mutate(this.listKey(storyId), () => []);
  }
}

class Stories implements StoryRepository {
  constructor(
    private readonly table: VersionedTable<Story>,
    private readonly index: IdIndex,
    private readonly parts: readonly { removeAllUnlocked(storyId: string): Promise<void> }[],
    private readonly lock: KeyedLock,
  ) {}

  get(id: string) {
    return this.table.get(id);
  }

  require(id: string) {
    return this.table.require(id);
  }

  create(input: NewStory): Promise<Story> {
    return this.lock.run(storyLock(input.id), async () => {
      if (await this.table.get(input.id)) {
        throw new KomaError('conflict', `${this.table.describe(input.id)} already exists; pick another title or open the existing story`);
      }
      return this.table.insert(input.id, input, async () => {
        if (input.threadId) await this.claimThread(input.threadId, input.id);
        if (input.guildId) await this.index.add(guildKey(input.guildId), input.id);
      });
    });
  }

  update(story: Story): Promise<Story> {
    return this.lock.run(storyLock(story.id), async () => {
      const before = await this.table.require(story.id);
      // New index entries go in before the write and old ones come out after it,
      // so the story is always listed somewhere it belongs.
      if (before.version === story.version) {
        if (story.threadId && story.threadId !== before.threadId) await this.claimThread(story.threadId, story.id);
        if (story.guildId && story.guildId !== before.guildId) await this.index.add(guildKey(story.guildId), story.id);
      }
      const after = await this.table.replace(story.id, story);
      if (before.threadId && before.threadId !== after.threadId) await this.index.remove(threadKey(before.threadId), story.id);
      if (before.guildId && before.guildId !== after.guildId) await this.index.remove(guildKey(before.guildId), story.id);
      return after;
    });
  }

  delete(id: string, expectedVersion: number): Promise<void> {
    return this.lock.run(storyLock(id), async () => {
      const removed = await this.table.remove(id, expectedVersion);
      for (const part of this.parts) await part.removeAllUnlocked(id);
      if (removed.threadId) await this.index.remove(threadKey(removed.threadId), id);
      if (removed.guildId) await this.index.remove(guildKey(removed.guildId), id);
    });
  }

  async listByGuild(guildId: string): Promise<Story[]> {
    const ids = await this.index.list(guildKey(guildId));
    const stories = await this.table.getMany(ids);
    // An index entry may outlive a failed write; the record is the truth.
    return stories.filter((s): s is Story => s !== undefined && s.guildId === guildId);
  }

  async findByThread(threadId: string): Promise<Story | undefined> {
    const ids = await this.index.list(threadKey(threadId));
    const stories = await this.table.getMany(ids);
    return stories.find((s) => s !== undefined && s.threadId === threadId);
  }

  /** One story per thread: refuse when another live story already holds it. */
  private async claimThread(threadId: string, storyId: string): Promise<void> {
    await this.index.mutate(threadKey(threadId), async (ids) => {
      for (const other of ids) {
        if (other === storyId) continue;
        const holder = await this.table.get(other);
        if (holder && holder.threadId === threadId) {
          throw new KomaError('conflict', `this thread already holds the story "${holder.title}"; start the new story in another thread`);
        }
      }
      return [storyId];
    });
  }
}

const guildKey = (guildId: string) => `guild/${guildId}`;
const threadKey = (threadId: string) => `thread/${threadId}`;

/** Builds the four repositories over one backend. */
export function createRepositories(backend: KeyvBackend, options: RepositoryOptions = {}): Repositories {
  const lock = options.lock ?? new KeyedLock();
  const clock = options.clock;
  const index = new IdIndex(backend, 'index', lock);

  const describePart = (kind: PartKind) => (key: string) => {
    const slash = key.indexOf('/');
    return `${kind} "${key.slice(slash + 1)}" of story "${key.slice(0, slash)}"`;
  };
  const storyTable = new VersionedTable<Story>({
    backend,
    namespace: 'story',
    schema: StorySchema,
    describe: (key) => `story "${key}"`,
    clock,
  });
  const characters = new StoryParts<Character, NewCharacter & { id: string; storyId: string }>(
    'character',
    new VersionedTable<Character>({ backend, namespace: 'character', schema: CharacterSchema, describe: describePart('character'), clock }),
    index,
    storyTable,
    lock,
  );
  const panels = new StoryParts<Panel, NewPanel & { id: string; storyId: string }>(
    'panel',
    new VersionedTable<Panel>({ backend, namespace: 'panel', schema: PanelSchema, describe: describePart('panel'), clock }),
    index,
    storyTable,
    lock,
    byIndex,
  );
  const pages = new StoryParts<Page, NewPage & { id: string; storyId: string }>(
    'page',
    new VersionedTable<Page>({ backend, namespace: 'page', schema: PageSchema, describe: describePart('page'), clock }),
    index,
    storyTable,
    lock,
    byIndex,
  );
  const stories = new Stories(storyTable, index, [characters, panels, pages], lock);
  return { stories, characters, panels, pages };
}

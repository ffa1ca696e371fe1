export { BlobStore, blobIdOf, DEFAULT_MAX_BLOB_BYTES, type BlobStoreOptions } from './blob-store.js';
export { KeyedLock } from './keyed-lock.js';
export { openKeyvBackend, type BackendKind, type KeyvBackend, type OpenBackendOptions } from './keyv-backend.js';
export { openStore, type OpenStoreOptions, type Store } from './open-store.js';
export {
  createRepositories,
  type CharacterRepository,
  type NewCharacter,
  type NewPage,
  type NewPanel,
  type NewStory,
  type PageRepository,
  type PanelRepository,
  type Repositories,
  type StoryPartRepository,
  type StoryRepository,
} from './repositories.js';
export { VersionedTable, type Unstamped, type VersionStamp } from './versioned-table.js';

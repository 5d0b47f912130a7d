/**
 * The IndexedDB event store for browsers (and workers): a durable `EventStore` in one IndexedDB
 * database per replica — events, sync checkpoints, small state values and the replica id — on the
 * browser's own IndexedDB API, with no dependencies. In Node, pass an implementation such as
 * `fake-indexeddb`. For apps open in several tabs: `runInOneTab` (one tab syncs, on Web Locks)
 * and the `sharedReplica()` feature (every tab's `SyncManager` records safely).
 *
 * @example
 * ```ts
 * import { openIndexedDbStore } from 'sync-kit/indexeddb'
 *
 * const store = await openIndexedDbStore({ name: 'todo-app' })
 * await store.storeBatch([{ id: 'e1', type: 'TodoAdded', aggregateId: 'todo-1', data: {} }])
 * const page = await store.load(null, { limit: 100 })
 * console.log(store.replicaId) // kept across reloads
 * await store.close()
 * ```
 *
 * @packageDocumentation
 * @module sync-kit/indexeddb
 */
export { openIndexedDbStore } from './indexeddb-store.js'
export { DEFAULT_INDEXEDDB_BLOCKED_TIMEOUT_MS } from './indexeddb-options.js'
export { INDEXEDDB_SCHEMA_VERSION } from './indexeddb-schema.js'
export { indexedDbChannelName } from './indexeddb-broadcast.js'
export { runInOneTab, sharedReplica } from './tabs.js'
export type { OneTabCleanup, RunInOneTabOptions, SharedReplicaOptions, WebLocks } from './tabs.js'
export type {
  IndexedDbDurability,
  IndexedDbFactory,
  IndexedDbKeyRangeClass,
  IndexedDbStore,
  IndexedDbStoredMessage,
  OpenIndexedDbStoreOptions,
} from './indexeddb-types.js'

/**
 * The in-memory event store.
 *
 * @example
 * ```ts
 * import { createMemoryStore } from 'sync-kit'
 *
 * const store = createMemoryStore()
 * ```
 *
 * @module
 */
export { createMemoryStore } from './memory-store.js'
export type { MemoryStore, MemoryStoreOptions } from './memory-store.js'

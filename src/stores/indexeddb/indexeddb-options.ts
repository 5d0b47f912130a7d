import { integerOption } from '../../core/options.js'
import { resolveTimers } from '../../core/timers.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import type { IdGenerator, Timers } from '../../types/index.js'
import { indexedDbComponent } from './indexeddb-errors.js'
import type {
  IndexedDbDurability,
  IndexedDbKeyRangeClass,
  OpenIndexedDbStoreOptions,
} from './indexeddb-types.js'
import { randomReplicaId } from './replica-id.js'

/**
 * Default `blockedTimeoutMs`: 5000 ms.
 * @example
 * ```ts
 * import { DEFAULT_INDEXEDDB_BLOCKED_TIMEOUT_MS, openIndexedDbStore } from 'sync-kit/indexeddb'
 *
 * const store = await openIndexedDbStore({ name: 'app', blockedTimeoutMs: 2 * DEFAULT_INDEXEDDB_BLOCKED_TIMEOUT_MS })
 * ```
 */
export const DEFAULT_INDEXEDDB_BLOCKED_TIMEOUT_MS = 5000

/** The checked options of `openIndexedDbStore`, with their defaults. */
export interface IndexedDbSettings {
  /** The database name. */
  readonly name: string
  /** `[sync-kit] [indexeddb:<name>]`, the start of every message. */
  readonly prefix: string
  /** `indexeddb:<name>`, for the core's checks. */
  readonly component: string
  /** The IndexedDB implementation. */
  readonly factory: IDBFactory
  /** Its `IDBKeyRange`. */
  readonly ranges: IndexedDbKeyRangeClass
  /** Durability of write transactions. */
  readonly durability: IndexedDbDurability
  /** Makes the replica id of a new database. */
  readonly generateReplicaId: IdGenerator
  /** How long opening waits while blocked, in ms. */
  readonly blockedTimeoutMs: number
  /** Timers for `blockedTimeoutMs`. */
  readonly timers: Timers
  /** Told when the store closes by itself. */
  readonly onClosed: OpenIndexedDbStoreOptions['onClosed']
  /** Whether to post write notifications. */
  readonly broadcast: boolean
}

/**
 * Checks the options of `openIndexedDbStore` and fills in the defaults.
 * @param options - the options as given.
 * @returns the settings.
 * @throws SyncKitError `invalid-argument` naming the first bad option.
 */
export function checkIndexedDbOptions(options: OpenIndexedDbStoreOptions): IndexedDbSettings {
  const bad = (
    argument: string,
    problem: string,
    prefix = '[sync-kit] [indexeddb]',
  ): SyncKitError<'invalid-argument'> =>
    new SyncKitError('invalid-argument', `${prefix} ${problem}`, { argument })
  if (typeof options !== 'object' || options === null) {
    throw bad('options', 'openIndexedDbStore needs an options object with a name')
  }
  const { name } = options
  if (typeof name !== 'string' || name === '') {
    throw bad('name', `openIndexedDbStore needs a non-empty database name, got ${describe(name)}`)
  }
  const component = indexedDbComponent(name)
  const prefix = `[sync-kit] [${component}]`
  const global = globalThis as { indexedDB?: unknown; IDBKeyRange?: unknown }
  const factory = (options.indexedDB ?? global.indexedDB) as IDBFactory | undefined
  if (typeof factory?.open !== 'function') {
    throw bad(
      'indexedDB',
      'this runtime has no IndexedDB; pass the indexedDB option (in Node: new IDBFactory() from fake-indexeddb)',
      prefix,
    )
  }
  const ranges = (options.IDBKeyRange ?? global.IDBKeyRange) as IndexedDbKeyRangeClass | undefined
  if (typeof ranges?.bound !== 'function' || typeof ranges.lowerBound !== 'function') {
    throw bad(
      'IDBKeyRange',
      'this runtime has no IDBKeyRange; pass the IDBKeyRange option of the same implementation as indexedDB',
      prefix,
    )
  }
  const durability = options.durability ?? 'strict'
  if (durability !== 'strict' && durability !== 'relaxed') {
    throw bad(
      'durability',
      `durability must be 'strict' or 'relaxed', got ${describe(durability)}`,
      prefix,
    )
  }
  for (const key of ['generateReplicaId', 'onClosed'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') {
      throw bad(key, `${key} must be a function, got ${describe(options[key])}`, prefix)
    }
  }
  if (options.broadcast !== undefined && typeof options.broadcast !== 'boolean') {
    throw bad(
      'broadcast',
      `broadcast must be a boolean, got ${describe(options.broadcast)}`,
      prefix,
    )
  }
  return {
    name,
    prefix,
    component,
    factory: factory as IDBFactory,
    ranges: ranges as IndexedDbKeyRangeClass,
    durability,
    generateReplicaId: options.generateReplicaId ?? randomReplicaId,
    blockedTimeoutMs: integerOption(
      options.blockedTimeoutMs,
      DEFAULT_INDEXEDDB_BLOCKED_TIMEOUT_MS,
      'blockedTimeoutMs',
      component,
      0,
    ),
    timers: resolveTimers(options.timers, undefined, component),
    onClosed: options.onClosed,
    broadcast: options.broadcast ?? true,
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'string') return `"${value.slice(0, 64)}"`
  return typeof value
}

import { SyncKitError } from '../../errors/sync-kit-error.js'

/** The object stores of the schema. */
export const STORES = {
  /** The log: one record per event, key `seq` (the version). */
  events: 'events',
  /** Sync checkpoints, key `[remote, direction]`. */
  checkpoints: 'checkpoints',
  /** `getState`/`setState` values as canonical JSON text, key the state key. */
  state: 'state',
  /** `schemaVersion`, `replicaId` and `epoch`, key the name. */
  meta: 'meta',
} as const

/** The indexes of the `events` store. */
export const EVENT_INDEXES = {
  /** Event id → record: the idempotency key. */
  id: 'id',
  /** `[aggregateId, seq]`: per-aggregate loads and `aggregate_id` filters. */
  aggregate: 'aggregateId_seq',
  /** `[type, seq]`: `type` filters. */
  type: 'type_seq',
  /** `[metadata.tenant, seq]`: `tenant` filters; events without a tenant are not in it. */
  tenant: 'tenant_seq',
} as const

/** Keys of the `meta` store. */
export const META_KEYS = {
  schemaVersion: 'schemaVersion',
  replicaId: 'replicaId',
  epoch: 'epoch',
} as const

/** The key path and uniqueness of each index of `events` (what version 1 creates). */
const EXPECTED_INDEXES: Readonly<Record<string, { keyPath: string | string[]; unique: boolean }>> =
  {
    [EVENT_INDEXES.id]: { keyPath: 'id', unique: true },
    [EVENT_INDEXES.aggregate]: { keyPath: ['aggregateId', 'seq'], unique: false },
    [EVENT_INDEXES.type]: { keyPath: ['type', 'seq'], unique: false },
    [EVENT_INDEXES.tenant]: { keyPath: ['metadata.tenant', 'seq'], unique: false },
  }

/** One step of the schema, from `version - 1` to `version`. */
export interface IndexedDbUpgrade {
  /** The database version after the step: 1, 2, 3, … with no gaps. */
  readonly version: number
  /** What the step changes, for humans. */
  readonly description: string
  /**
   * Applies the step inside the `versionchange` transaction of `onupgradeneeded` (so every step of
   * one open is applied wholly or not at all). It may issue requests on `transaction` to move
   * data (e.g. walk a cursor over `events`), but must not await anything.
   * @param db - the connection being upgraded.
   * @param transaction - the upgrade transaction.
   */
  upgrade(db: IDBDatabase, transaction: IDBTransaction): void
}

/**
 * The schema steps, in order. To change the schema, append a step (version 2: e.g. a new index
 * with `transaction.objectStore('events').createIndex(…)`); never edit a released one.
 */
export const INDEXEDDB_UPGRADES: readonly IndexedDbUpgrade[] = [
  {
    version: 1,
    description: 'events (key seq; indexes id, aggregate, type, tenant), checkpoints, state, meta',
    upgrade(db) {
      const events = db.createObjectStore(STORES.events, { keyPath: 'seq' })
      for (const [name, { keyPath, unique }] of Object.entries(EXPECTED_INDEXES)) {
        events.createIndex(name, keyPath, { unique })
      }
      db.createObjectStore(STORES.checkpoints)
      db.createObjectStore(STORES.state)
      db.createObjectStore(STORES.meta)
    },
  },
]

/**
 * The schema version this code writes and reads: the IndexedDB database version.
 * @example
 * ```ts
 * import { INDEXEDDB_SCHEMA_VERSION } from 'sync-kit/indexeddb'
 *
 * INDEXEDDB_SCHEMA_VERSION // 1
 * ```
 */
export const INDEXEDDB_SCHEMA_VERSION: number = INDEXEDDB_UPGRADES.length

/**
 * Runs the steps above `oldVersion` in the upgrade transaction and records the new schema version
 * in `meta`.
 * @param db - the connection being upgraded.
 * @param transaction - the `versionchange` transaction.
 * @param oldVersion - the version before (0 for a new database).
 * @param upgrades - the steps, version 1 first.
 * @param prefix - the store's message prefix.
 * @throws SyncKitError `incompatible-database` when a database of an older version lacks the
 * `meta` store (it was not created by sync-kit); the caller aborts the upgrade then.
 */
export function applyUpgrades(
  db: IDBDatabase,
  transaction: IDBTransaction,
  oldVersion: number,
  upgrades: readonly IndexedDbUpgrade[],
  prefix: string,
): void {
  upgrades.forEach((step, i) => {
    if (step.version !== i + 1) {
      throw new Error(`upgrade ${i} has version ${step.version}, expected ${i + 1}`)
    }
  })
  if (oldVersion > 0 && !db.objectStoreNames.contains(STORES.meta)) {
    throw notOurs(prefix, db.name, oldVersion, upgrades.length, STORES.meta)
  }
  for (const step of upgrades) {
    if (step.version > oldVersion) step.upgrade(db, transaction)
  }
  transaction.objectStore(STORES.meta).put(upgrades.length, META_KEYS.schemaVersion)
}

/**
 * Checks that an open database has the object stores and indexes of the schema, so that a
 * database of the same name made by other code is refused rather than written into.
 * @param db - the open connection.
 * @param supported - the schema version this code knows.
 * @param prefix - the store's message prefix.
 * @throws SyncKitError `incompatible-database` naming the missing or different store or index.
 */
export function checkSchema(db: IDBDatabase, supported: number, prefix: string): void {
  for (const store of Object.values(STORES)) {
    if (!db.objectStoreNames.contains(store)) {
      throw notOurs(prefix, db.name, db.version, supported, store)
    }
  }
  const events = db.transaction(STORES.events, 'readonly').objectStore(STORES.events)
  if (events.keyPath !== 'seq') throw notOurs(prefix, db.name, db.version, supported, STORES.events)
  for (const [name, expected] of Object.entries(EXPECTED_INDEXES)) {
    const index = events.indexNames.contains(name) ? events.index(name) : undefined
    if (
      index === undefined ||
      index.unique !== expected.unique ||
      JSON.stringify(index.keyPath) !== JSON.stringify(expected.keyPath)
    ) {
      throw notOurs(prefix, db.name, db.version, supported, `${STORES.events}.${name}`)
    }
  }
}

/**
 * The error for a database whose version is newer than this code knows.
 * @param prefix - the store's message prefix.
 * @param name - the database name.
 * @param found - the database's version and whether it has the sync-kit `meta` store, when known.
 * @param supported - the schema version this code knows.
 * @param cause - the `VersionError`.
 * @returns the `incompatible-database` error.
 */
export function newerDatabase(
  prefix: string,
  name: string,
  found: { readonly version: number; readonly ours: boolean } | undefined,
  supported: number,
  cause: unknown,
): SyncKitError<'incompatible-database'> {
  const version = found?.version ?? supported + 1
  const advice =
    found?.ours === false
      ? 'it has no sync-kit "meta" object store, so it is not a sync-kit database (other code uses the name): give the store a name of its own'
      : 'it was written by a newer sync-kit, so upgrade sync-kit (reload the app) to open it'
  return new SyncKitError(
    'incompatible-database',
    `${prefix} the database "${name}" has version ${found === undefined ? `${version} or higher` : version} but this sync-kit knows schema versions up to ${supported}; ${advice}`,
    { userVersion: version, supportedVersion: supported },
    { cause },
  )
}

function notOurs(
  prefix: string,
  name: string,
  version: number,
  supported: number,
  missing: string,
): SyncKitError<'incompatible-database'> {
  return new SyncKitError(
    'incompatible-database',
    `${prefix} the database "${name}" (version ${version}) has no sync-kit "${missing}" object store or index as expected; it is not a sync-kit database (other code uses the name), so give the store a name of its own`,
    { userVersion: version, supportedVersion: supported, table: missing },
  )
}

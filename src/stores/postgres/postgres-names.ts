import { SyncKitError } from '../../errors/sync-kit-error.js'
import { POSTGRES_PREFIX } from './postgres-errors.js'

/**
 * Default `schema`: `'public'`.
 * @example
 * ```ts
 * import { DEFAULT_POSTGRES_SCHEMA } from 'sync-kit/postgres'
 *
 * DEFAULT_POSTGRES_SCHEMA // 'public'
 * ```
 */
export const DEFAULT_POSTGRES_SCHEMA = 'public'

/**
 * Default `tablePrefix`: `'sync_kit_'`, so the tables sit safely next to an app's own.
 * @example
 * ```ts
 * import { DEFAULT_POSTGRES_TABLE_PREFIX } from 'sync-kit/postgres'
 *
 * `${DEFAULT_POSTGRES_TABLE_PREFIX}events` // 'sync_kit_events', the events table
 * ```
 */
export const DEFAULT_POSTGRES_TABLE_PREFIX = 'sync_kit_'

const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/
const PREFIX_PATTERN = /^(?:[a-z_][a-z0-9_]{0,31})?$/

/**
 * First key of the two-key advisory locks the store takes (`'SK'` and a purpose), so they do not
 * collide with an application's single-key locks. The second key is {@link PostgresNames.lockKey}.
 */
export const LOCK_CLASS = {
  /** Held by the transaction that migrates the schema. */
  migrate: 0x534b_0001,
  /** Held by every appending transaction until it commits (see docs/stores.md). */
  append: 0x534b_0002,
} as const

/** The quoted, schema-qualified names of one store's objects, and its lock key. */
export interface PostgresNames {
  /** The schema, unquoted (for catalog lookups). */
  readonly schema: string
  /** The table prefix, unquoted. */
  readonly prefix: string
  /** Unquoted table names by role (for catalog lookups and messages). */
  readonly tables: {
    readonly events: string
    readonly checkpoints: string
    readonly meta: string
    readonly state: string
    readonly schemaVersion: string
    readonly sequence: string
  }
  /** `"schema"."prefix_events"`. */
  readonly events: string
  /** `"schema"."prefix_checkpoints"`. */
  readonly checkpoints: string
  /** `"schema"."prefix_meta"`: the epoch and other single values. */
  readonly meta: string
  /** `"schema"."prefix_state"`: the `getState`/`setState` values, JSON text by key. */
  readonly state: string
  /** `"schema"."prefix_schema_version"`: one row per applied migration. */
  readonly schemaVersion: string
  /** `"schema"."prefix_event_sequence"`: where `seq` values come from. */
  readonly sequence: string
  /** Quotes an index or other object name given without the prefix, e.g. `events_type_seq`. */
  readonly object: (name: string) => string
  /** The second advisory-lock key: a 32-bit hash of `schema.prefix`, one per log. */
  readonly lockKey: number
  /** The LISTEN/NOTIFY channel appends notify on: `sync_kit_` and the lock key in hex. */
  readonly channel: string
}

/**
 * Checks the `schema` and `tablePrefix` options and derives every name the store uses from them.
 * @param schema - the schema option as given.
 * @param prefix - the tablePrefix option as given.
 * @returns the names.
 * @throws SyncKitError `invalid-argument` naming `schema` or `tablePrefix`.
 */
export function resolveNames(schema: unknown, prefix: unknown): PostgresNames {
  const s = schema ?? DEFAULT_POSTGRES_SCHEMA
  if (typeof s !== 'string' || !SCHEMA_PATTERN.test(s)) {
    throw new SyncKitError(
      'invalid-argument',
      `${POSTGRES_PREFIX} option schema must be a lower-case SQL identifier (letters, digits, _; not starting with a digit; at most 63 characters), got ${describe(s)}`,
      { argument: 'schema' },
    )
  }
  const p = prefix ?? DEFAULT_POSTGRES_TABLE_PREFIX
  if (typeof p !== 'string' || !PREFIX_PATTERN.test(p)) {
    throw new SyncKitError(
      'invalid-argument',
      `${POSTGRES_PREFIX} option tablePrefix must be '' or lower-case letters, digits and _ (not starting with a digit; at most 32 characters), got ${describe(p)}`,
      { argument: 'tablePrefix' },
    )
  }
  const tables = {
    events: `${p}events`,
    checkpoints: `${p}checkpoints`,
    meta: `${p}meta`,
    state: `${p}state`,
    schemaVersion: `${p}schema_version`,
    sequence: `${p}event_sequence`,
  }
  const qualify = (name: string): string => `"${s}"."${name}"`
  const lockKey = fnv1a32(`${s}.${p}`)
  return {
    schema: s,
    prefix: p,
    tables,
    events: qualify(tables.events),
    checkpoints: qualify(tables.checkpoints),
    meta: qualify(tables.meta),
    state: qualify(tables.state),
    schemaVersion: qualify(tables.schemaVersion),
    sequence: qualify(tables.sequence),
    object: (name) => `"${p}${name}"`,
    lockKey,
    channel: `sync_kit_${(lockKey >>> 0).toString(16).padStart(8, '0')}`,
  }
}

/** FNV-1a over the UTF-16 code units, as a signed 32-bit integer (PostgreSQL's `int4`). */
function fnv1a32(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash | 0
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 64))
  if (value === null) return 'null'
  return typeof value
}

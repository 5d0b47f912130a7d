/**
 * The peers, loaded on demand: a peer that does not install or run on this machine becomes a
 * "not measured: why" row instead of a failed run. Each adapter feeds the peer the same events
 * through its own public API.
 *
 * The peers are the dependencies of `bench/package.json`, a package of its own that `npm run bench`
 * installs on demand (`bench/start.mjs`), so the root's `npm ci` does not build or fetch them.
 * Versions (see docs/benchmarks.md): `@logux/core` 0.12.1 (declares Node 22+, runs on Node 20:
 * it uses nothing newer than `Array.prototype.toReversed`), `@event-driven-io/emmett` and
 * `@event-driven-io/emmett-sqlite` 0.38.5 (the newest emmett-sqlite whose emmett peer the
 * registry serves; it needs `sqlite3`, built from source here).
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

import type { Event } from '../src/index.js'

const require = createRequire(import.meta.url)

/** A peer library that loaded, with its version. */
export interface LoadedPeer<TModule> {
  /** Display name with version, e.g. `logux 0.12.1`. */
  readonly name: string
  /** The module namespace. */
  readonly module: TModule
}

/** A peer that could not be loaded, and why. */
export interface MissingPeer {
  /** Display name (without version). */
  readonly name: string
  /** Why it is not available. */
  readonly reason: string
}

async function packageVersion(pkg: string): Promise<string> {
  // The package's main file lives somewhere under its folder; walk up to its package.json.
  let dir = dirname(require.resolve(pkg))
  for (;;) {
    try {
      const json = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
        name?: string
        version?: string
      }
      if (json.name === pkg && typeof json.version === 'string') return json.version
    } catch {
      // No package.json here: keep walking up.
    }
    const parent = dirname(dir)
    if (parent === dir) return 'unknown'
    dir = parent
  }
}

async function loadPeer<TModule>(
  pkg: string,
  label: string,
): Promise<LoadedPeer<TModule> | MissingPeer> {
  try {
    const module = (await import(pkg)) as TModule
    return { name: `${label} ${await packageVersion(pkg)}`, module }
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === 'ERR_MODULE_NOT_FOUND') {
      return {
        name: label,
        reason: `${pkg} is not installed in bench/node_modules (npm run bench installs the peers; a --quick run leaves out the optional ones)`,
      }
    }
    return {
      name: label,
      reason: `${pkg} does not load on Node ${process.version} here (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
    }
  }
}

/**
 * Tells a loaded peer from a missing one.
 * @param peer - the outcome of a `load…` function.
 * @returns true when the peer loaded.
 * @example
 * ```ts
 * import { isLoaded, loadLogux } from './peers.js'
 *
 * const logux = await loadLogux()
 * if (isLoaded(logux)) console.log(logux.name)
 * ```
 */
export function isLoaded<TModule>(
  peer: LoadedPeer<TModule> | MissingPeer,
): peer is LoadedPeer<TModule> {
  return 'module' in peer
}

// ---- logux ------------------------------------------------------------------------------------

/** A logux action and its meta, as `MemoryStore.add` takes them. */
export type LoguxEntry = [action: LoguxAction, meta: LoguxMeta]

/** The subset of a logux action the adapter builds. */
export interface LoguxAction {
  readonly type: string
  readonly [key: string]: unknown
}

/** The subset of logux meta the adapter builds. */
export interface LoguxMeta {
  id: string
  time: number
  reasons: string[]
  indexes?: string[]
  added?: number
}

/** The subset of `@logux/core` the benchmarks use. */
export interface LoguxModule {
  readonly MemoryStore: new () => {
    add(entries: LoguxEntry[]): Promise<unknown[]>
    get(options?: {
      index?: string
      order?: 'added' | 'created'
    }): Promise<{ entries: LoguxEntry[] }>
  }
  readonly Log: new (options: { nodeId: string; store: unknown }) => {
    add(action: LoguxAction, meta?: Partial<LoguxMeta>): Promise<unknown>
    add(entries: LoguxEntry[]): Promise<unknown>
    on(event: 'add', listener: () => void): () => void
    store: { get(options?: object): Promise<{ entries: LoguxEntry[] }> }
  }
  readonly LocalPair: new (delay?: number) => { left: unknown; right: unknown }
  readonly ClientNode: new (
    nodeId: string,
    log: unknown,
    connection: unknown,
    options?: object,
  ) => LoguxNode
  readonly ServerNode: new (
    nodeId: string,
    log: unknown,
    connection: unknown,
    options?: object,
  ) => LoguxNode
}

/** The subset of a logux node the benchmarks use. */
export interface LoguxNode {
  readonly connection: { connect(): Promise<void> }
  waitFor(state: string): Promise<void>
  destroy(): void
}

/**
 * Loads `@logux/core`.
 * @returns the module and its version, or why it is missing.
 * @example
 * ```ts
 * import { loadLogux } from './peers.js'
 *
 * const logux = await loadLogux()
 * ```
 */
export function loadLogux(): Promise<LoadedPeer<LoguxModule> | MissingPeer> {
  return loadPeer<LoguxModule>('@logux/core', 'logux')
}

/**
 * The same event as a logux entry: the action carries type, aggregate and payload, the meta an id
 * in logux's `time node seq` form (time = position, so the log's created order is the event order)
 * and the `sync` reason that keeps it stored.
 * @param event - the event.
 * @param position - its position in the log (0-based).
 * @param indexed - also index it by aggregate (`meta.indexes`), for aggregate lookups.
 * @returns a fresh entry (logux writes `meta.added` into it).
 * @example
 * ```ts
 * import { loguxEntry } from './peers.js'
 *
 * loguxEntry({ id: 'e1', type: 't', aggregateId: 'a', data: {} }, 0, false)
 * ```
 */
export function loguxEntry(event: Event, position: number, indexed: boolean): LoguxEntry {
  const meta: LoguxMeta = { id: `${position + 1} bench 0`, time: position + 1, reasons: ['sync'] }
  if (indexed) meta.indexes = [event.aggregateId]
  return [
    { type: event.type, eventId: event.id, aggregateId: event.aggregateId, data: event.data },
    meta,
  ]
}

// ---- emmett -----------------------------------------------------------------------------------

/** An emmett event: type, data and optional metadata (emmett assigns ids and positions). */
export interface EmmettEvent {
  readonly type: string
  readonly data: unknown
  readonly metadata?: Record<string, unknown>
}

/** The subset of an emmett event store the benchmarks use. */
export interface EmmettEventStore {
  appendToStream(
    streamName: string,
    events: EmmettEvent[],
  ): Promise<{ nextExpectedStreamVersion: bigint }>
  readStream(
    streamName: string,
    options?: { from?: bigint; to?: bigint; maxCount?: bigint },
  ): Promise<{ events: unknown[] }>
}

/** The subset of `@event-driven-io/emmett` the benchmarks use. */
export interface EmmettModule {
  readonly getInMemoryEventStore: () => EmmettEventStore
}

/** The subset of `@event-driven-io/emmett-sqlite` the benchmarks use. */
export interface EmmettSqliteModule {
  readonly getSQLiteEventStore: (options: {
    fileName: string
    schema?: { autoMigration?: 'None' | 'CreateOrUpdate' }
  }) => EmmettEventStore
}

/**
 * Loads `@event-driven-io/emmett`.
 * @returns the module and its version, or why it is missing.
 * @example
 * ```ts
 * import { loadEmmett } from './peers.js'
 *
 * const emmett = await loadEmmett()
 * ```
 */
export function loadEmmett(): Promise<LoadedPeer<EmmettModule> | MissingPeer> {
  return loadPeer<EmmettModule>('@event-driven-io/emmett', 'emmett')
}

/**
 * Loads `@event-driven-io/emmett-sqlite` (and through it the native `sqlite3` module).
 * @returns the module and its version, or why it is missing.
 * @example
 * ```ts
 * import { loadEmmettSqlite } from './peers.js'
 *
 * const emmettSqlite = await loadEmmettSqlite()
 * ```
 */
export async function loadEmmettSqlite(): Promise<LoadedPeer<EmmettSqliteModule> | MissingPeer> {
  const peer = await loadPeer<EmmettSqliteModule>('@event-driven-io/emmett-sqlite', 'emmett-sqlite')
  if (!isLoaded(peer)) return peer
  try {
    // The native driver loads lazily on the first connection: load it now, so a missing build
    // is reported as "not measured" rather than failing a benchmark.
    // By a variable: the peers are bench/package.json's, not installed by the root's `npm ci`.
    const driver = 'sqlite3'
    await import(driver)
  } catch (error) {
    return {
      name: 'emmett-sqlite',
      reason: `its sqlite3 driver does not load here (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); sqlite3 builds from source with node-gyp`,
    }
  }
  return peer
}

/**
 * The same event for emmett: type and payload; the event id travels in metadata, as emmett
 * assigns its own message ids.
 * @param event - the event.
 * @returns a fresh emmett event.
 * @example
 * ```ts
 * import { emmettEvent } from './peers.js'
 *
 * emmettEvent({ id: 'e1', type: 't', aggregateId: 'a', data: {} })
 * ```
 */
export function emmettEvent(event: Event): EmmettEvent {
  return { type: event.type, data: event.data, metadata: { eventId: event.id } }
}

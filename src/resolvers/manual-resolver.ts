import { isEventStore } from '../core/store-shape.js'
import { throwIfAborted } from '../errors/abort.js'
import { SyncKitError } from '../errors/sync-kit-error.js'
import { compareCodePoints } from '../projections/json-order.js'
import { TOMBSTONE_EVENT_TYPE, isTombstone } from '../projections/tombstone.js'
import type {
  CheckpointKey,
  Conflict,
  ConflictResolver,
  Event,
  EventStore,
  EventWithVersion,
  JsonValue,
  ResolvedConflict,
  SignalOptions,
  Version,
} from '../types/index.js'
import type { ConflictPair } from './conflict-pair.js'
import {
  describe,
  keepEvent,
  keepSuperseding,
  orderConflict,
  prevailingPatch,
} from './conflict-pair.js'
import { createMergeEvent } from './merge-event.js'
import { sha256Hex } from './sha256.js'

/**
 * A small persistence interface for parked conflicts, for when they should not live in the
 * event store: one string value, read and written whole.
 */
export interface ManualConflictStorage {
  /**
   * Reads the value last written.
   * @returns it, or `undefined` when nothing was written yet.
   */
  read(options?: SignalOptions): Promise<string | undefined>
  /**
   * Replaces the value durably.
   * @param value - the new value (JSON text).
   */
  write(value: string, options?: SignalOptions): Promise<void>
  /**
   * Turns a stored version string of the local store back into a version (pass the local
   * store's `parseVersion`).
   * @param value - a `Version.toString()` of the local store.
   */
  parseVersion(value: string): Version
}

/** Options for {@link manualResolver}. */
export interface ManualResolverOptions {
  /**
   * Where parked conflicts are kept:
   * - an `EventStore` (the local store): in its checkpoint table under the key
   *   `{ remote: 'sync-kit:manual-resolver:<name>', direction: 'pull' }`, as JSON. Resolutions
   *   are stored in it as events (and so synced), and conflicts another replica already resolved
   *   drop out of `pendingConflicts()`.
   * - a {@link ManualConflictStorage}: the caller stores the events a resolution returns
   *   (`resolvedEvents`) itself.
   */
  readonly store: EventStore | ManualConflictStorage
  /**
   * Tells apart several manual resolvers sharing one store.
   * @defaultValue `'default'`
   */
  readonly name?: string
}

/** A parked conflict. */
export interface PendingConflict {
  /**
   * Its id: `conflict:` + a hash of the aggregate and the two event ids, the same on every
   * replica.
   */
  readonly id: string
  /** The conflict as it was detected on this replica. */
  readonly conflict: Conflict
}

/**
 * How the app settles a parked conflict: keep one side's values (`keep-local` / `keep-remote`,
 * sides as in `PendingConflict.conflict`), or write merged `data` (a patch applied after both
 * events).
 */
export type ManualChoice =
  | 'keep-local'
  | 'keep-remote'
  | {
      /** The merged data: a patch applied after both events. */
      readonly data: JsonValue
    }

/** A resolver that parks conflicts for the app; see {@link manualResolver}. */
export interface ManualResolver extends ConflictResolver {
  /**
   * Parks a conflict (the `SyncManager` calls this): it is persisted and the decision is
   * `defer`. Parking the same conflict twice keeps one entry.
   * @param conflict - the conflict.
   * @param options - cancellation.
   * @returns `{ decision: 'defer', resolvedEvents: [] }`, or the existing resolution when the
   * store already holds one from another replica.
   * @throws SyncKitError `invalid-argument` for a malformed conflict, the store's errors,
   * `aborted`.
   */
  resolve(conflict: Conflict, options?: SignalOptions): Promise<ResolvedConflict>
  /**
   * Settles a parked conflict. With an `EventStore`, the resolution event is stored (and so
   * synced) before the conflict leaves the pending list, so a crash in between only repeats an
   * idempotent step.
   * @param conflictId - a `PendingConflict.id`.
   * @param choice - keep a side, or merged data.
   * @param options - cancellation.
   * @returns the resolution; its new event has a deterministic id and content.
   * @throws SyncKitError `invalid-argument` for an unknown id or a bad choice, the store's
   * errors, `aborted`.
   */
  resolve(
    conflictId: string,
    choice: ManualChoice,
    options?: SignalOptions,
  ): Promise<ResolvedConflict>
  /**
   * The conflicts parked and not settled yet, oldest first.
   * @param options - cancellation.
   * @returns the pending conflicts.
   * @throws SyncKitError `internal` when the stored list is unreadable, the store's errors,
   * `aborted`.
   */
  pendingConflicts(options?: SignalOptions): Promise<PendingConflict[]>
}

/** The persisted form. */
interface StoredState {
  readonly format: 1
  readonly conflicts: readonly StoredConflict[]
}

interface StoredSide {
  readonly event: Event
  readonly version: string
}

interface StoredConflict {
  readonly id: string
  readonly eventType: string
  readonly aggregateId: string
  readonly changedFields: readonly string[]
  readonly metadata: Readonly<Record<string, JsonValue>>
  readonly local: StoredSide
  readonly remote: StoredSide
}

/**
 * A resolver that leaves conflicts to the app: each conflict is parked (persisted, decision
 * `defer`) and listed by `pendingConflicts()`; the app settles it later with
 * `resolve(conflictId, choice)`, also after a restart. Until then both events stay and
 * projections show the HLC-ordered outcome. Only concurrent events are parked: an event written
 * after seeing the other supersedes it (rule 1 of docs/causality.md) and is kept at once.
 *
 * A settlement writes one resolution event built by `createMergeEvent` (deterministic id and
 * content, sorted after both inputs, `metadata.merged` = the two ids): for `keep-…` the kept
 * side's values of the contested fields (a kept delete writes a new tombstone; a kept edit
 * against a delete re-creates the aggregate with that edit's data); for `{ data }` the data.
 *
 * One instance per store and name: instances do not coordinate with each other.
 *
 * @param options - where to keep parked conflicts.
 * @returns the resolver.
 * @throws SyncKitError `invalid-argument` when `store` is neither an `EventStore` nor a
 * {@link ManualConflictStorage}, or `name` is empty.
 * @example
 * ```ts
 * import { SyncManager, createMemoryStore, manualResolver } from 'sync-kit'
 *
 * const store = createMemoryStore()
 * const manual = manualResolver({ store })
 * const manager = new SyncManager({ store, transport, nodeId: 'laptop', resolver: manual })
 * await manager.sync()
 * for (const { id, conflict } of await manual.pendingConflicts()) {
 *   await manual.resolve(id, 'keep-local') // or { data: { title: 'merged by hand' } }
 * }
 * ```
 */
export function manualResolver(options: ManualResolverOptions): ManualResolver {
  const name = options?.name ?? 'default'
  if (typeof name !== 'string' || name === '') {
    throw new SyncKitError(
      'invalid-argument',
      '[sync-kit] [manual-resolver] name must be a non-empty string',
      {
        argument: 'name',
      },
    )
  }
  const backend = toBackend(options?.store, name)
  let cache: StoredConflict[] | undefined
  let queue: Promise<unknown> = Promise.resolve()

  /** Runs one operation at a time, so read-modify-write steps never interleave. */
  function exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = queue.then(task, task)
    queue = run.catch(() => undefined)
    return run
  }

  async function load(opts: SignalOptions): Promise<StoredConflict[]> {
    cache ??= parseState(await backend.read(opts), backend.describe)
    return cache
  }

  async function save(next: StoredConflict[], opts: SignalOptions): Promise<void> {
    const state: StoredState = { format: 1, conflicts: next }
    await backend.write(JSON.stringify(state), opts)
    cache = next
  }

  function restore(stored: StoredConflict): PendingConflict {
    return {
      id: stored.id,
      conflict: {
        eventType: stored.eventType,
        aggregateId: stored.aggregateId,
        changedFields: stored.changedFields,
        metadata: stored.metadata,
        local: restoreSide(stored.local),
        remote: restoreSide(stored.remote),
      },
    }
  }

  function restoreSide(side: StoredSide): EventWithVersion {
    return { event: side.event, version: backend.parseVersion(side.version) }
  }

  async function park(conflict: Conflict, opts: SignalOptions): Promise<ResolvedConflict> {
    throwIfAborted(opts.signal, '[sync-kit] [manual-resolver] resolve')
    const pair = orderConflict(conflict, 'manual-resolver')
    // Rule 1: an event written after seeing the other is no conflict to ask the app about.
    if (pair.causal) return keepSuperseding(conflict, pair, 'manual-resolver')
    const id = conflictIdOf(pair)
    return exclusive(async () => {
      const existing = await backend.findResolution(pair, opts)
      if (existing !== undefined) {
        return {
          resolvedEvents: [existing],
          decision: 'merge',
          reasons: [`manual-resolver: conflict "${id}" was already settled by "${existing.id}"`],
        }
      }
      const list = await load(opts)
      if (!list.some((c) => c.id === id)) {
        await save([...list, toStored(id, conflict)], opts)
      }
      return {
        resolvedEvents: [],
        decision: 'defer',
        reasons: [
          `manual-resolver: conflict "${id}" between ${describe(pair.earlier)} and ${describe(pair.later)} is parked; settle it with resolve("${id}", choice)`,
        ],
      }
    })
  }

  async function settle(
    conflictId: string,
    choice: ManualChoice,
    opts: SignalOptions,
  ): Promise<ResolvedConflict> {
    throwIfAborted(opts.signal, '[sync-kit] [manual-resolver] resolve')
    return exclusive(async () => {
      const list = await load(opts)
      const stored = list.find((c) => c.id === conflictId)
      if (stored === undefined) {
        throw new SyncKitError(
          'invalid-argument',
          `[sync-kit] [manual-resolver] no pending conflict "${String(conflictId).slice(0, 120)}"; list them with pendingConflicts()`,
          { argument: 'conflictId' },
        )
      }
      const { conflict } = restore(stored)
      const pair = orderConflict(conflict, 'manual-resolver')
      const resolution = settlement(conflict, pair, choice)
      for (const event of resolution.resolvedEvents) {
        if (event.id !== pair.earlier.id && event.id !== pair.later.id)
          await backend.append(event, opts)
      }
      await save(
        list.filter((c) => c.id !== conflictId),
        opts,
      )
      return resolution
    })
  }

  async function resolveImpl(
    first: Conflict | string,
    second?: ManualChoice | SignalOptions,
    third?: SignalOptions,
  ): Promise<ResolvedConflict> {
    if (typeof first === 'string') {
      return settle(first, second as ManualChoice, third ?? {})
    }
    return park(first, (second as SignalOptions | undefined) ?? {})
  }

  const resolver: ManualResolver = {
    resolve: resolveImpl as ManualResolver['resolve'],
    async pendingConflicts(opts = {}) {
      throwIfAborted(opts.signal, '[sync-kit] [manual-resolver] pendingConflicts')
      return exclusive(async () => {
        const list = await load(opts)
        const open: StoredConflict[] = []
        for (const stored of list) {
          const pair = orderConflict(restore(stored).conflict, 'manual-resolver')
          if ((await backend.findResolution(pair, opts)) === undefined) open.push(stored)
        }
        if (open.length !== list.length) await save(open, opts)
        return open.map(restore)
      })
    },
  }
  return resolver
}

/** The event (and decision) that settles a parked conflict. */
function settlement(
  conflict: Conflict,
  pair: ConflictPair,
  choice: ManualChoice,
): ResolvedConflict {
  const inputs = [pair.earlier, pair.later]
  if (choice === 'keep-local' || choice === 'keep-remote') {
    const winner = choice === 'keep-local' ? conflict.local.event : conflict.remote.event
    const loser = winner.id === pair.earlier.id ? pair.later : pair.earlier
    let event: Event
    let what: string
    if (isTombstone(winner)) {
      event = createMergeEvent(inputs, toJson(winner.data), {
        resolver: 'manual',
        type: TOMBSTONE_EVENT_TYPE,
      })
      what = 'deletes the aggregate again, after both events'
    } else if (isTombstone(loser)) {
      event = createMergeEvent(inputs, toJson(winner.data), { resolver: 'manual' })
      what = `re-creates the aggregate with the data of ${describe(winner)}`
    } else {
      const patch = prevailingPatch(pair, winner)
      event = createMergeEvent(inputs, patch.data, { resolver: 'manual' })
      what = `sets ${patch.what} to the values of ${describe(winner)}`
    }
    return keepEvent(
      conflict,
      winner,
      [`manual-resolver: the app kept ${describe(winner)}; "${event.id}" ${what}`],
      [event],
    )
  }
  if (typeof choice !== 'object' || choice === null || !('data' in choice)) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [manual-resolver] choice must be 'keep-local', 'keep-remote' or { data }, got ${String(JSON.stringify(choice)).slice(0, 80)}`,
      { argument: 'choice' },
    )
  }
  const event = createMergeEvent(inputs, choice.data, { resolver: 'manual' })
  return {
    resolvedEvents: [pair.earlier, pair.later, event],
    decision: 'merge',
    reasons: [
      `manual-resolver: the app merged ${describe(pair.earlier)} and ${describe(pair.later)} into "${event.id}"`,
    ],
  }
}

/**
 * The id of a conflict: the same on every replica, whichever side was local.
 * @param pair - the ordered conflict.
 * @returns `conflict:` + 32 hex digits.
 */
function conflictIdOf(pair: ConflictPair): string {
  const ids = [pair.earlier.id, pair.later.id].sort(compareCodePoints)
  return `conflict:${sha256Hex(JSON.stringify([pair.aggregateId, ...ids])).slice(0, 32)}`
}

function toStored(id: string, conflict: Conflict): StoredConflict {
  return {
    id,
    eventType: conflict.eventType,
    aggregateId: conflict.aggregateId,
    changedFields: [...conflict.changedFields],
    metadata: conflict.metadata,
    local: { event: conflict.local.event, version: conflict.local.version.toString() },
    remote: { event: conflict.remote.event, version: conflict.remote.version.toString() },
  }
}

function toJson(value: unknown): JsonValue {
  return value === undefined ? null : (value as JsonValue)
}

function parseState(text: string | undefined, where: string): StoredConflict[] {
  if (text === undefined) return []
  let state: unknown
  try {
    state = JSON.parse(text)
  } catch (cause) {
    throw corrupt(where, 'is not JSON', cause)
  }
  const s = state as Partial<StoredState> | null
  if (typeof s !== 'object' || s === null || !Array.isArray(s.conflicts)) {
    throw corrupt(where, 'has no conflicts list')
  }
  if (s.format !== 1) {
    throw corrupt(
      where,
      `has format ${JSON.stringify(s.format)}, this version of sync-kit reads format 1`,
    )
  }
  for (const c of s.conflicts as unknown[]) {
    const x = c as Partial<StoredConflict> | null
    if (
      typeof x !== 'object' ||
      x === null ||
      typeof x.id !== 'string' ||
      typeof x.local?.version !== 'string' ||
      typeof x.remote?.version !== 'string' ||
      typeof x.local.event?.id !== 'string' ||
      typeof x.remote.event?.id !== 'string'
    ) {
      throw corrupt(where, 'holds an entry that is not a parked conflict')
    }
  }
  return [...(s.conflicts as StoredConflict[])]
}

function corrupt(where: string, problem: string, cause?: unknown): SyncKitError {
  return new SyncKitError(
    'internal',
    `[sync-kit] [manual-resolver] the parked conflicts in ${where} ${problem}; nothing was changed — restore or clear that entry`,
    {},
    cause === undefined ? undefined : { cause },
  )
}

interface Backend {
  readonly describe: string
  read(options: SignalOptions): Promise<string | undefined>
  write(value: string, options: SignalOptions): Promise<void>
  parseVersion(value: string): Version
  append(event: Event, options: SignalOptions): Promise<void>
  findResolution(pair: ConflictPair, options: SignalOptions): Promise<Event | undefined>
}

function toBackend(store: unknown, name: string): Backend {
  if (typeof store === 'object' && store !== null && isEventStore(store)) {
    const key: CheckpointKey = { remote: `sync-kit:manual-resolver:${name}`, direction: 'pull' }
    return {
      describe: `the store's checkpoint "${key.remote}"`,
      async read(options) {
        return (await store.getCheckpoint(key, options))?.version
      },
      async write(value, options) {
        await store.setCheckpoint(key, { version: value }, options)
      },
      parseVersion: (value) => store.parseVersion(value),
      async append(event, options) {
        await store.store(event, options)
      },
      async findResolution(pair, options) {
        // A resolution (automatic or by hand, here or on another replica) names both inputs.
        const events = await store.loadByAggregate(pair.aggregateId, null, options)
        return events.find(({ event }) => {
          const merged = event.metadata?.['merged']
          return (
            Array.isArray(merged) &&
            merged.includes(pair.earlier.id) &&
            merged.includes(pair.later.id)
          )
        })?.event
      },
    }
  }
  const s = store as Partial<ManualConflictStorage> | null
  if (
    typeof s === 'object' &&
    s !== null &&
    typeof s.read === 'function' &&
    typeof s.write === 'function' &&
    typeof s.parseVersion === 'function'
  ) {
    const storage = s as ManualConflictStorage
    return {
      describe: 'the given storage',
      read: (options) => storage.read(options),
      write: (value, options) => storage.write(value, options),
      parseVersion: (value) => storage.parseVersion(value),
      async append() {
        // The caller stores `resolvedEvents` itself.
      },
      async findResolution() {
        return undefined
      },
    }
  }
  throw new SyncKitError(
    'invalid-argument',
    '[sync-kit] [manual-resolver] options.store must be an EventStore or { read, write, parseVersion }',
    { argument: 'store' },
  )
}

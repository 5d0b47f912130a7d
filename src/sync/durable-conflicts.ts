/**
 * The conflict queue kept across restarts, the `durableConflicts()` feature: saved with
 * `setState` under `sync-kit:conflicts:<remote>`, as `[localEvent, localVersion, remoteEvent,
 * remoteVersion]` rows. (Between storing a pulled page and saving the conflicts it raised lies one
 * state write: a crash exactly there loses those undecided conflicts, not their events.) In memory
 * only when the store has no state.
 *
 * @module
 */
import type { Event, JsonValue } from '../types/index.js'
import type { ConflictStorage } from './conflict-queue.js'
import { type SyncFeature, defineFeature } from './feature.js'
import { loadState, saveState } from './manager-state.js'

type Saved = [Event, string, Event, string]

const STORAGE: ConflictStorage = {
  async load(ctx, signal) {
    const saved = ((await loadState(ctx, 'conflicts', signal)) ?? []) as Saved[]
    const ewv = (event: Event, version: string) => ({
      event,
      version: ctx.store.parseVersion(version),
    })
    return saved.map(([le, lv, re, rv]) => [ewv(le, lv), ewv(re, rv)] as const)
  },
  save(ctx, pending, signal) {
    const rows = pending.map(([l, r]) => [l.event, `${l.version}`, r.event, `${r.version}`])
    return saveState(ctx, 'conflicts', rows as unknown as JsonValue, signal)
  },
}

/**
 * Keeps the queue of undecided conflicts across restarts (in the store's state, when it has
 * `getState`/`setState`): conflicts detected by a sync that was aborted, or whose store failed
 * while they were decided, are decided by the next manager on the same store, before anything
 * else. Without it they are decided by the next sync of the same manager only.
 * @returns the feature, for the manager's `features` option.
 * @example
 * ```ts
 * import { SyncManager, durableConflicts, fieldMerge } from 'sync-kit'
 *
 * const manager = new SyncManager({
 *   store,
 *   transport,
 *   nodeId: 'phone',
 *   resolver: fieldMerge(),
 *   features: [durableConflicts()],
 * })
 * ```
 */
export function durableConflicts(): SyncFeature {
  return defineFeature('durable-conflicts', (slots) => {
    slots.conflictStorage = STORAGE
  })
}

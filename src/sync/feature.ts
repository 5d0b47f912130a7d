/**
 * Feature modules of the `SyncManager`: the code that costs bytes and that not every app needs —
 * live mode (`liveMode()`), the refusal list (`refusalList()`), the conflict queue kept across
 * restarts (`durableConflicts()`) — reached through imports, not options. An app passes the
 * features it imports, `new SyncManager({ …, features: [liveMode(), refusalList()] })`; an app
 * that imports none does not ship their code.
 *
 * Without them a manager is still correct and safe: it never loses data (an event refused by the
 * remote or the local store is reported as `error` and stays where it was), never echoes what it
 * pulled, detects regressions and epoch changes, and converges. What each feature adds is said
 * where it is defined.
 *
 * A feature sets a slot of the manager's context ({@link FeatureSlots}) when the options are
 * resolved; the parts read their slot when they are made.
 *
 * @module
 */
import { SyncKitError } from '../errors/sync-kit-error.js'
import type { ConflictStorage } from './conflict-queue.js'
import type { LiveMode } from './live-mode.js'
import type { Refusals } from './refusal-list.js'
import type { Scheduler } from './scheduler.js'
import type { SyncManager } from './sync-manager.js'
import type { SyncContext, SyncParts } from './sync-options.js'

/**
 * A feature of the `SyncManager` that an app opts into by importing it: `liveMode()`,
 * `refusalList()`, `durableConflicts()`. Pass it in the `features` option.
 *
 * @example
 * ```ts
 * import { SyncManager, createLoopbackHub, createMemoryStore, liveMode } from 'sync-kit'
 *
 * const hub = createLoopbackHub()
 * const manager = new SyncManager({
 *   store: createMemoryStore(),
 *   transport: hub.connect('phone'),
 *   nodeId: 'phone',
 *   features: [liveMode()],
 * })
 * ```
 */
export interface SyncFeature {
  /** The feature's name: `live`, `refusals` or `durable-conflicts`. */
  readonly name: string
  /** Sets the feature up in a new manager (called by the constructor, not by apps). */
  readonly install: (slots: never) => void
}

/** The slots of a manager's context that features fill; the parts read them when made. */
export interface FeatureSlots {
  /** `liveMode()`: makes the scheduler's live subscription. */
  makeLive?: (scheduler: Scheduler) => LiveMode
  /** `refusalList()`: makes the refusal list. */
  makeRefusals?: (ctx: SyncContext) => Refusals
  /** `durableConflicts()`: where the conflict queue is kept. */
  conflictStorage?: ConflictStorage
  /**
   * `sharedReplica()` of `sync-kit/indexeddb`: takes over `record` and `sync` of the new manager
   * (records under a lock, after catching up with the other managers of the replica).
   */
  attach?: (manager: SyncManager, parts: SyncParts) => void
}

/**
 * Makes a feature.
 * @param name - its name.
 * @param install - fills its slots.
 * @returns the feature.
 */
export function defineFeature(name: string, install: (slots: FeatureSlots) => void): SyncFeature {
  return { name, install: install as (slots: never) => void }
}

/**
 * Applies the `features` option to a new context; refuses the `live` option, which became the
 * `liveMode()` feature.
 * @param options - the manager's options.
 * @param slots - the context being made.
 * @throws SyncKitError `invalid-argument` for `live`, and for a `features` that is not an array
 * of features.
 */
export function applyFeatures(
  options: { readonly features?: unknown; readonly live?: unknown },
  slots: FeatureSlots,
): void {
  const { features } = options
  if (options.live !== undefined) {
    throw invalidFeatures('live', 'option live became a feature: pass features: [liveMode()]')
  }
  if (features === undefined) return
  if (
    !Array.isArray(features) ||
    features.some((f: Partial<SyncFeature> | null) => typeof f?.install !== 'function')
  ) {
    throw invalidFeatures('features', 'option features must be an array such as [liveMode()]')
  }
  for (const feature of features as SyncFeature[]) {
    ;(feature.install as (slots: FeatureSlots) => void)(slots)
  }
}

/**
 * The error of a call that needs a feature the manager was made without.
 * @param call - the call, e.g. `refusals()`.
 * @param factory - the feature's factory, e.g. `refusalList`.
 * @returns the error, to throw.
 */
export function missingFeature(call: string, factory: string): SyncKitError<'invalid-argument'> {
  return invalidFeatures(
    'features',
    `${call} needs a feature: import ${factory} and pass features: [${factory}()]`,
  )
}

function invalidFeatures(argument: string, message: string): SyncKitError<'invalid-argument'> {
  return new SyncKitError('invalid-argument', `[sync-manager] ${message}`, { argument })
}

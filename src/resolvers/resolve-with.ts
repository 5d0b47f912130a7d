import { throwIfAborted } from '../errors/abort.js'
import { SyncKitError } from '../errors/sync-kit-error.js'
import type {
  Conflict,
  ConflictResolver,
  Event,
  JsonValue,
  ResolvedConflict,
  SignalOptions,
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

/**
 * What a {@link resolveWith} function is given: the conflict's two events in `compareEvents`
 * order (the same on every replica), the raw conflict, and helpers that build deterministic
 * resolutions.
 */
export interface ResolveContext extends ConflictPair {
  /** The conflict as the `SyncManager` built it (its `local`/`remote` differ per replica). */
  readonly conflict: Conflict
  /**
   * Keeps one event: its values prevail for every field both events set. When it is the earlier
   * event, a correction merge event is written (projections alone would let the later one's
   * values prevail).
   * @param event - `earlier` or `later`.
   * @param reasons - why, for logs.
   * @returns the resolution (`keep-local` or `keep-remote`).
   * @throws SyncKitError `invalid-argument` for an event that is not one of the two.
   */
  keep(event: Event, reasons?: readonly string[]): ResolvedConflict
  /**
   * Writes a merge event (`createMergeEvent`) whose `data` is applied as a patch after both
   * events.
   * @param data - the merged payload; derive it only from the two events.
   * @param reasons - why, for logs.
   * @returns the resolution (`merge`).
   * @throws SyncKitError `invalid-argument` when `data` is not JSON.
   */
  merge(data: JsonValue, reasons?: readonly string[]): ResolvedConflict
  /**
   * Leaves the conflict unresolved (decision `defer`); both events stay and projections let the
   * later one (by HLC) prevail for the fields both set.
   * @param reasons - why, for logs.
   * @returns the resolution.
   */
  defer(reasons?: readonly string[]): ResolvedConflict
}

/**
 * A resolution strategy written as a function. It must decide from the two events alone — no
 * clock, randomness or replica id — so that every replica decides the same way.
 * @param context - the ordered events, the conflict and helpers.
 * @param options - cancellation.
 * @returns the resolution (usually from `context.keep`, `context.merge` or `context.defer`).
 */
export type ResolveFunction = (
  context: ResolveContext,
  options: SignalOptions,
) => ResolvedConflict | Promise<ResolvedConflict>

/** Options for {@link resolveWith}. */
export interface ResolveWithOptions {
  /** Names the resolver in merge events (`metadata.resolver`) and errors. @defaultValue `'resolve-with'` */
  readonly name?: string
}

/**
 * Turns a function into a resolver. The function sees the conflict's events ordered the same way
 * on every replica (`earlier`, `later`) and builds its answer with helpers that keep the result
 * deterministic: `keep(event)`, `merge(data)` (a content-addressed merge event) and `defer()`.
 * Its result is checked before it reaches the `SyncManager`. The function decides concurrent
 * events only: an event written after seeing the other supersedes it (rule 1 of
 * docs/causality.md) and is kept without calling `fn`.
 *
 * @param fn - the strategy.
 * @param options - a name for merge events and errors.
 * @returns the resolver.
 * @throws SyncKitError `invalid-argument` when `fn` is not a function; its `resolve` throws
 * `resolver-failed` when `fn` returns something that is not a resolution, `invalid-argument` for a
 * malformed conflict, `aborted` when the signal fired, and whatever `fn` throws.
 * @example
 * ```ts
 * import { resolveWith } from 'sync-kit'
 *
 * // Keep the longer note; merge the two tag lists.
 * const resolver = resolveWith(({ earlier, later, keep, merge }) => {
 *   const a = earlier.data as { text: string; tags: string[] }
 *   const b = later.data as { text: string; tags: string[] }
 *   if (a.tags.join() !== b.tags.join()) {
 *     return merge({ tags: [...new Set([...a.tags, ...b.tags])].sort() })
 *   }
 *   return keep(a.text.length > b.text.length ? earlier : later)
 * })
 * ```
 */
export function resolveWith(
  fn: ResolveFunction,
  options: ResolveWithOptions = {},
): ConflictResolver {
  const name = options.name ?? 'resolve-with'
  if (typeof fn !== 'function') {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [${name}] resolveWith needs a function`,
      {
        argument: 'fn',
      },
    )
  }
  const resolver = {
    async resolve(conflict, resolveOptions) {
      const signal = resolveOptions?.signal
      throwIfAborted(signal, `[sync-kit] [${name}] resolve`)
      const pair = orderConflict(conflict, name)
      // Rule 1: the strategy decides concurrent events only; a causally later one supersedes.
      if (pair.causal) return keepSuperseding(conflict, pair, name)
      const context: ResolveContext = {
        ...pair,
        conflict,
        keep(event, reasons = []) {
          if (event?.id !== pair.earlier.id && event?.id !== pair.later.id) {
            throw new SyncKitError(
              'invalid-argument',
              `[sync-kit] [${name}] keep() takes one of the conflict's two events ("${pair.earlier.id}" or "${pair.later.id}")`,
              { argument: 'event' },
            )
          }
          const winner = event.id === pair.earlier.id ? pair.earlier : pair.later
          const patch = prevailingPatch(pair, winner)
          const extra = patch.needed
            ? [createMergeEvent([pair.earlier, pair.later], patch.data, { resolver: name })]
            : []
          return keepEvent(
            conflict,
            winner,
            [
              ...reasons,
              `${name}: keeps ${describe(winner)}${extra[0] ? `; merge event "${extra[0].id}" restores ${patch.what}` : ''}`,
            ],
            extra,
          )
        },
        merge(data, reasons = []) {
          const event = createMergeEvent([pair.earlier, pair.later], data, { resolver: name })
          return {
            resolvedEvents: [pair.earlier, pair.later, event],
            decision: 'merge',
            reasons: [
              ...reasons,
              `${name}: merge event "${event.id}" applies after ${describe(pair.earlier)} and ${describe(pair.later)}`,
            ],
          }
        },
        defer(reasons = []) {
          return { resolvedEvents: [], decision: 'defer', reasons: [...reasons] }
        },
      }
      const result = await fn(context, signal ? { signal } : {})
      return checkResolution(result, conflict, name)
    },
  } satisfies ConflictResolver
  return resolver
}

/**
 * Checks that a value is a {@link ResolvedConflict}.
 * @param result - what a strategy returned.
 * @param conflict - the conflict (for the error details).
 * @param name - the resolver name.
 * @returns the resolution.
 * @throws SyncKitError `resolver-failed` when it is not one.
 */
export function checkResolution(
  result: unknown,
  conflict: Conflict,
  name: string,
): ResolvedConflict {
  const r = result as Partial<ResolvedConflict> | null | undefined
  const problem =
    typeof r !== 'object' || r === null
      ? `returned ${r === null ? 'null' : typeof r}`
      : !Array.isArray(r.resolvedEvents)
        ? 'returned no resolvedEvents array'
        : r.resolvedEvents.some(
              (e: unknown) =>
                typeof e !== 'object' ||
                e === null ||
                typeof (e as Event).id !== 'string' ||
                (e as Event).aggregateId !== conflict.aggregateId,
            )
          ? `returned an event without an id or of another aggregate than "${conflict.aggregateId}"`
          : typeof r.decision !== 'string' || r.decision === ''
            ? 'returned no decision'
            : !Array.isArray(r.reasons) || r.reasons.some((x: unknown) => typeof x !== 'string')
              ? 'returned reasons that are not an array of strings'
              : undefined
  if (problem !== undefined) {
    throw new SyncKitError(
      'resolver-failed',
      `[sync-kit] [${name}] the strategy ${problem}; return a ResolvedConflict, e.g. from keep(), merge() or defer()`,
      { aggregateId: conflict.aggregateId },
    )
  }
  return r as ResolvedConflict
}

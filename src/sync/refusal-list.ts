/**
 * The refusal list, the `refusalList()` feature: events refused for good are kept until they go
 * through or the app drops them, listed by `SyncManager.refusals()`.
 *
 * - `by: 'remote'` — sent again only by `retryRefusals()` (or when everything is re-sent after a
 *   reset).
 * - `by: 'local'` — the pull checkpoint moved past the event, so the list is this replica's only
 *   copy: it is retried at the start of every pull pass, and reported each time it fails, until
 *   stored or dropped.
 *
 * Kept with `setState` under `sync-kit:refused:<remote>` (saved before the checkpoint that moves
 * past the event); in memory only when the store has no state.
 *
 * @module
 */
import type { SyncKitError } from '../errors/sync-kit-error.js'
import type { Event, JsonValue } from '../types/index.js'
import { type SyncFeature, defineFeature } from './feature.js'
import { loadState, saveState } from './manager-state.js'
import { type Refusal, type RefusalHandler, reportRefusal } from './refusal.js'
import type { SyncContext } from './sync-options.js'

/**
 * The refusal list: events the remote or the local store refused for good are kept (across
 * restarts, when the store has state), listed by `manager.refusals()`, sent again by
 * `manager.retryRefusals()` and dropped by `manager.dropRefusal(id)`; pulled events the local
 * store refused are retried by every sync. Without it they are reported as `error` only.
 * @returns the feature, for the manager's `features` option.
 * @example
 * ```ts
 * import { SyncManager, refusalList } from 'sync-kit'
 *
 * const manager = new SyncManager({ store, transport, nodeId: 'phone', features: [refusalList()] })
 * for (const refusal of await manager.refusals()) console.warn(refusal.event.id, refusal.message)
 * ```
 */
export function refusalList(): SyncFeature {
  return defineFeature('refusals', (slots) => {
    slots.makeRefusals = (ctx) => new Refusals(ctx)
  })
}

/** The refusal list of one manager: loaded once, replaced (never changed in place) and saved. */
export class Refusals implements RefusalHandler {
  /** Set by `retryRefusals()`: the next push pass sends the remote's refusals again. */
  retry = false
  /** The list keeps what it is handed: the pull checkpoint may move past a refused event. */
  readonly keeps = true
  readonly #ctx: SyncContext
  #list: readonly Refusal[] | undefined

  /** @param ctx - the store and the remote's name; refusals are emitted there as `error`. */
  constructor(ctx: SyncContext) {
    this.#ctx = ctx
  }

  /**
   * The refusals, oldest first.
   * @param signal - cancels the first read.
   * @returns the list.
   */
  async list(signal?: AbortSignal): Promise<readonly Refusal[]> {
    this.#list ??= ((await loadState(this.#ctx, 'refused', signal)) ?? []) as unknown as Refusal[]
    return this.#list
  }

  /**
   * Takes the outcome of sending or storing events: those that went through leave the list, the
   * refused ones enter it (replacing an earlier refusal of the same event) and are reported.
   * Saves the list when it changed.
   * @param by - who was asked: the remote (a push) or the local store (pulled events).
   * @param tried - the events tried.
   * @param refused - the refused ones among them, each with its error.
   * @param signal - cancels.
   */
  async settle(
    by: Refusal['by'],
    tried: readonly Event[],
    refused: readonly (readonly [Event, SyncKitError])[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const list = await this.list(signal)
    if (list.length + refused.length === 0) return
    const ids = new Set(tried.map((event) => event.id))
    const next = list.filter((r) => r.by !== by || !ids.has(r.event.id))
    for (const [event, error] of refused) {
      next.push(reportRefusal(this.#ctx, by, event, error, '; see refusals()'))
    }
    if (next.length !== list.length || refused.length > 0) await this.#save(next, signal)
  }

  /**
   * Sends the remote's refusals once more, when `retryRefusals()` asked for it (their causes were
   * pushed long before); asked again after a failed attempt.
   * @param signal - cancels the first read.
   * @param push - pushes events, returning how many went through.
   * @returns how many went through.
   */
  async resend(
    signal: AbortSignal | undefined,
    push: (events: readonly Event[]) => Promise<number>,
  ): Promise<number> {
    if (!this.retry) return 0
    const list = await this.list(signal)
    const sent = await push(list.filter((r) => r.by === 'remote').map((r) => r.event))
    this.retry = false
    return sent
  }

  /**
   * Drops an event from the list for good.
   * @param id - the event's id.
   * @returns whether it was listed.
   */
  async drop(id: string): Promise<boolean> {
    const list = await this.list()
    const next = list.filter((r) => r.event.id !== id)
    if (next.length < list.length) await this.#save(next, undefined)
    return next.length < list.length
  }

  /** Replaces the list (at once, so no later change is lost) and saves it. */
  #save(list: readonly Refusal[], signal: AbortSignal | undefined): Promise<void> {
    this.#list = list
    return saveState(this.#ctx, 'refused', list as unknown as JsonValue, signal)
  }
}

/**
 * Events refused for good, and which errors refuse an event rather than the connection. Retrying
 * such an event as it is cannot help, so the push and pull passes go on with the rest — but
 * nothing is skipped silently: each refused event is reported as `error` (with its id, code and
 * size) and kept in the refusal list until it goes through or the app drops it.
 *
 * - `by: 'remote'` — the remote refused a push. The push checkpoint moves on; the event is not
 *   counted as pushed, and is sent again only by `retryRefusals()` (or when everything is re-sent
 *   after a reset). The app fixes it by recording a corrected copy under a new id, then drops it.
 * - `by: 'local'` — the local store refused an event pulled from the remote. The pull checkpoint
 *   moves on (a bad event must not block the stream), so the list is the only copy: it is retried
 *   at the start of every pull pass, and reported each time it fails, until stored or dropped.
 *
 * Kept with `setState` under `sync-kit:refused:<remote>` (saved before the checkpoint that moves
 * past the event); in memory only when the store has no state.
 *
 * @module
 */
import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import type { SyncKitErrorCode } from '../errors/sync-kit-error.js'
import type { Event, JsonValue } from '../types/index.js'
import { loadState, saveState } from './manager-state.js'
import type { SyncContext } from './sync-options.js'

/** The codes that refuse an event: sending or storing it again unchanged cannot help. */
const REFUSALS: ReadonlySet<string> = new Set([
  'invalid-event',
  'event-id-conflict',
  // One event over the remote's size limit.
  'payload-too-large',
  // An event stamped beyond the remote's drift bound.
  'clock-drift',
])

/** An event refused for good, as `SyncManager.refusals()` lists it. */
export interface Refusal {
  /** The event, as it was sent or received. */
  readonly event: Event
  /** `remote`: the remote refused to store it; `local`: the local store refused it when pulled. */
  readonly by: 'remote' | 'local'
  /** Why: `invalid-event`, `event-id-conflict`, `payload-too-large` or `clock-drift`. */
  readonly code: SyncKitErrorCode
  /** The refusal's message. */
  readonly message: string
  /** Size of the event's JSON in UTF-8 bytes (what a size limit counts). */
  readonly bytes: number
}

/**
 * Tells whether an error refuses particular events (not the connection).
 * @param error - what a store or transport threw.
 * @returns true for `invalid-event`, `event-id-conflict`, `payload-too-large` and `clock-drift`.
 */
export function isRefusal(error: unknown): error is SyncKitError {
  return isSyncKitError(error) && REFUSALS.has(error.code)
}

/** The refusal list of one manager: loaded once, replaced (never changed in place) and saved. */
export class Refusals {
  /** Set by `retryRefusals()`: the next push pass sends the remote's refusals again. */
  retry = false
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
      const bytes = new TextEncoder().encode(JSON.stringify(event)).length
      next.push({ event, by, code: error.code, message: error.message, bytes })
      this.#ctx.events.emit(
        'error',
        new SyncKitError(
          error.code,
          `[sync-manager] ${by === 'remote' ? 'the remote' : 'the local store'} refused event "${event.id.slice(0, 64)}" (${bytes} bytes; see refusals()): ${error.message}`,
          { ...error.details, eventId: event.id, bytes } as never,
          { cause: error },
        ),
      )
    }
    if (next.length !== list.length || refused.length > 0) await this.#save(next, signal)
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

/**
 * Which errors refuse an event rather than the connection, and what happens to a refused event.
 * Retrying such an event as it is cannot help, so the push and pull passes go on with the rest —
 * but nothing is skipped silently: each refused event is reported as `error`, a `SyncKitError`
 * of the refusal's code with the event's id and size in `details.eventId` and `details.bytes`.
 *
 * - `by: 'remote'` — the remote refused a push. The push checkpoint moves on; the event is not
 *   counted as pushed and stays in the local store. The app fixes it by recording a corrected copy
 *   under a new id.
 * - `by: 'local'` — the local store refused an event pulled from the remote. With the refusal
 *   list, the pull checkpoint moves on (a bad event must not block the stream) and the list keeps
 *   the event; without it, the pull checkpoint stays before the event, so every sync fetches it
 *   again (and reports it) until the store accepts it, and the events after it wait.
 *
 * The `refusalList()` feature (`refusal-list`) also keeps them: listed by `refusals()`, retried,
 * dropped by the app, and kept across restarts.
 *
 * @module
 */
import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import type { SyncKitErrorCode } from '../errors/sync-kit-error.js'
import type { Event } from '../types/index.js'
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

/** What the passes hand refused events to: the refusal list, or (without it) the reporter. */
export interface RefusalHandler {
  /**
   * True when refused events are kept (the refusal list), so the pull checkpoint may move past
   * them; without it, the pull stops at a refused event and fetches it again at the next sync.
   */
  readonly keeps?: boolean
  /**
   * The kept refusals, oldest first (none without the refusal list).
   * @param signal - cancels the first read.
   */
  list(signal?: AbortSignal): Promise<readonly Refusal[]>
  /**
   * Takes the outcome of sending or storing events: reports the refused ones (the refusal list
   * also keeps them, and forgets the ones that went through).
   * @param by - who was asked: the remote (a push) or the local store (pulled events).
   * @param tried - the events tried.
   * @param refused - the refused ones among them, each with its error.
   * @param signal - cancels.
   */
  settle(
    by: Refusal['by'],
    tried: readonly Event[],
    refused: readonly (readonly [Event, SyncKitError])[],
    signal: AbortSignal | undefined,
  ): Promise<void>
  /**
   * Sends the remote's refusals once more, when `retryRefusals()` asked for it (the refusal list
   * only).
   * @param signal - cancels.
   * @param push - pushes events, returning how many went through.
   * @returns how many went through.
   */
  resend?(
    signal: AbortSignal | undefined,
    push: (events: readonly Event[]) => Promise<number>,
  ): Promise<number>
}

/**
 * Tells whether an error refuses particular events (not the connection).
 * @param error - what a store or transport threw.
 * @returns true for `invalid-event`, `event-id-conflict`, `payload-too-large` and `clock-drift`.
 */
export function isRefusal(error: unknown): error is SyncKitError {
  return isSyncKitError(error) && REFUSALS.has(error.code)
}

/**
 * The refusals of a manager without the refusal list: reported as `error`, not kept.
 * @param ctx - refusals are emitted there.
 * @returns the handler.
 */
export function refusalReporter(ctx: SyncContext): RefusalHandler {
  return {
    list: () => Promise.resolve([]),
    settle: async (by, _tried, refused) => {
      for (const [event, error] of refused) reportRefusal(ctx, by, event, error, '')
    },
  }
}

/**
 * Reports a refused event as `error`.
 * @param ctx - the emitter.
 * @param by - who refused it.
 * @param event - the event.
 * @param error - the refusal.
 * @param listed - what the message adds after the size, e.g. `; see refusals()`.
 * @returns the refusal, as the list keeps it.
 */
export function reportRefusal(
  ctx: SyncContext,
  by: Refusal['by'],
  event: Event,
  error: SyncKitError,
  listed: string,
): Refusal {
  const bytes = new TextEncoder().encode(JSON.stringify(event)).length
  ctx.events.emit(
    'error',
    new SyncKitError(
      error.code,
      `[sync-manager] ${by === 'remote' ? 'the remote' : 'the local store'} refused event "${event.id.slice(0, 64)}" (${bytes} bytes${listed}): ${error.message}`,
      { ...error.details, eventId: event.id, bytes } as never,
      { cause: error },
    ),
  )
  return { event, by, code: error.code, message: error.message, bytes }
}

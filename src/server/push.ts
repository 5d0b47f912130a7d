import { validateEvent } from '../core/event-validation.js'
import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import type { Event, EventStore, SignalOptions, StoreResult } from '../types/index.js'
import { stampTenant } from './tenants.js'

/**
 * A push that passed {@link SyncServer.checkPush}: validated, normalised copies of its events,
 * ready for {@link SyncServer.push}.
 */
export class CheckedPush {
  /** The events to store, in order. */
  readonly events: readonly Event[]

  /**
   * Made by `checkPush` only.
   * @param events - the checked events.
   */
  constructor(events: readonly Event[]) {
    this.events = events
  }
}

/** Options of {@link SyncServer.checkPush}. */
export interface CheckPushOptions {
  /**
   * The principal's tenant: events are confined to it (see `requireTenant`).
   * @defaultValue none: an unscoped principal
   */
  readonly tenant?: string | undefined
  /**
   * The wire's own check of one item, run before `validateEvent` (e.g. a schema naming the
   * offending field); it throws to refuse the item.
   * @defaultValue none
   */
  readonly parse?: (item: unknown, index: number) => unknown
  /**
   * Reported as `limitBytes` when the push holds too many events: the wire's body limit, which a
   * smaller push fits in.
   * @defaultValue 0
   */
  readonly bodyLimitBytes?: number
}

/** What {@link checkPushEvents} applies. */
export interface PushRules {
  readonly maxBatchEvents: number
  readonly maxEventBytes: number
  readonly requireTenant: boolean
  readonly component: string
}

const utf8 = new TextEncoder()

/**
 * Admits a push: the batch limit, then each event in order (the wire's check, `validateEvent`,
 * the tenant rules), then each event's size. Every refusal names the event.
 * @param items - the pushed items.
 * @param options - tenant, wire check.
 * @param rules - the server's limits and tenant rule.
 * @returns the checked push.
 * @throws SyncKitError `invalid-argument` (not an array), `payload-too-large`, `invalid-event`,
 * `forbidden`, or whatever `parse` throws.
 */
export function checkPushEvents(
  items: readonly unknown[],
  options: CheckPushOptions,
  rules: PushRules,
): CheckedPush {
  const { component } = rules
  if (!Array.isArray(items)) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [${component}] push takes an array of events`,
      {
        argument: 'events',
      },
    )
  }
  if (items.length > rules.maxBatchEvents) {
    throw new SyncKitError(
      'payload-too-large',
      `[sync-kit] [${component}] a push may carry at most ${rules.maxBatchEvents} events, got ${items.length}; split the batch`,
      { limitBytes: options.bodyLimitBytes ?? 0 },
    )
  }
  const { parse, tenant } = options
  const events = items.map((item: unknown, index) => {
    const event = validateEvent(parse === undefined ? item : parse(item, index), component)
    return stampTenant(event, index, tenant, rules.requireTenant, component)
  })
  if (rules.maxEventBytes < Infinity) {
    for (const event of events) {
      const size = utf8.encode(JSON.stringify(event)).byteLength
      if (size > rules.maxEventBytes) {
        throw new SyncKitError(
          'payload-too-large',
          `[sync-kit] [${component}] event "${event.id.slice(0, 100)}" is ${size} bytes of JSON, over this server's limit of ${rules.maxEventBytes} bytes per event; nothing from this push was stored — store large blobs elsewhere and reference them`,
          { limitBytes: rules.maxEventBytes },
        )
      }
    }
  }
  return new CheckedPush(events)
}

/**
 * Stores a checked batch idempotently: in one atomic `storeBatch` when the store has it, else one
 * `store` per event (then a later conflict cannot undo earlier events). A conflicting id is
 * reported without saying what (or whose) the stored event is: event ids are global.
 * @param store - the log.
 * @param events - the checked events.
 * @param options - cancellation.
 * @param component - names the component in messages.
 * @returns one result per event.
 * @throws SyncKitError `event-id-conflict`, and whatever the store throws.
 */
export async function storeEvents(
  store: EventStore,
  events: readonly Event[],
  options: SignalOptions,
  component: string,
): Promise<StoreResult[]> {
  try {
    if (store.storeBatch !== undefined) return await store.storeBatch(events, options)
    const results: StoreResult[] = []
    for (const event of events) results.push(await store.store(event, options))
    return results
  } catch (error) {
    if (!isSyncKitError(error, 'event-id-conflict')) throw error
    const eventId = events.find((e) => e.id === error.details.eventId)?.id ?? ''
    throw new SyncKitError(
      'event-id-conflict',
      `[sync-kit] [${component}] event "${eventId.slice(0, 100)}" conflicts with an existing event of the same id; nothing from this push was stored — give the changed event a new id`,
      { eventId },
      { cause: error },
    )
  }
}

import { type ValidateEventOptions, validateEvent } from '../core/event-validation.js'
import { integerOption } from '../core/options.js'
import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import type { Clock, Event, Filter } from '../types/index.js'
import { isHlcStamp, stampWallMs } from '../versions/hlc-stamp.js'

/**
 * Default of the server's `maxBatchEvents` option (`createSyncHandler`): 1000.
 * @example
 * ```ts
 * import { DEFAULT_MAX_BATCH_EVENTS } from 'sync-kit/http'
 *
 * const chunks = (events: unknown[]) => Math.ceil(events.length / DEFAULT_MAX_BATCH_EVENTS)
 * ```
 */
export const DEFAULT_MAX_BATCH_EVENTS = 1000
/**
 * Default of the server's `maxEventBytes` option (`createSyncHandler`): 1 MiB.
 * @example
 * ```ts
 * import { DEFAULT_MAX_EVENT_BYTES, createSyncHandler } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const handler = createSyncHandler({ store: createMemoryStore(), maxEventBytes: DEFAULT_MAX_EVENT_BYTES / 4 })
 * ```
 */
export const DEFAULT_MAX_EVENT_BYTES: number = 1024 * 1024
/**
 * Default of the server's `maxPageBytes` option (`createSyncHandler`): 4 MiB.
 * @example
 * ```ts
 * import { DEFAULT_MAX_PAGE_BYTES, createSyncHandler } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const handler = createSyncHandler({ store: createMemoryStore(), maxPageBytes: DEFAULT_MAX_PAGE_BYTES * 2 })
 * ```
 */
export const DEFAULT_MAX_PAGE_BYTES: number = 4 * 1024 * 1024
/**
 * Default of the server's `pageLimit` option (`createSyncHandler`): 500.
 * @example
 * ```ts
 * import { createSyncHandler, DEFAULT_PAGE_LIMIT } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const handler = createSyncHandler({ store: createMemoryStore(), pageLimit: DEFAULT_PAGE_LIMIT / 5 })
 * ```
 */
export const DEFAULT_PAGE_LIMIT = 500
/**
 * Default of the server's `maxPageLimit` option (`createSyncHandler`): 1000.
 * @example
 * ```ts
 * import { createSyncHandler, DEFAULT_MAX_PAGE_LIMIT } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const handler = createSyncHandler({ store: createMemoryStore(), maxPageLimit: DEFAULT_MAX_PAGE_LIMIT * 5 })
 * ```
 */
export const DEFAULT_MAX_PAGE_LIMIT = 1000

/**
 * Default of the server's `maxDriftMs` option (`createSyncHandler`): 5 minutes. Far above the skew of clocks kept by
 * NTP (milliseconds) and of a phone that was off for a while, far below the damage a clock years
 * ahead does (its events would outrank every later edit of their aggregates until then).
 * @example
 * ```ts
 * import { createSyncHandler, DEFAULT_SERVER_MAX_DRIFT_MS } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const handler = createSyncHandler({ store: createMemoryStore(), maxDriftMs: 2 * DEFAULT_SERVER_MAX_DRIFT_MS })
 * ```
 */
export const DEFAULT_SERVER_MAX_DRIFT_MS: number = 5 * 60_000

/** Options of {@link SyncServer.checkPush}. */
export interface CheckPushOptions {
  /**
   * The principal's tenant: events are confined to it (needs an {@link AccessPolicy}).
   * @defaultValue none: an unscoped principal
   */
  readonly tenant?: string | undefined
  /**
   * The wire's own check of one item, run before `validateEvent` (e.g. a schema naming the
   * offending field); it throws to refuse the item.
   * @defaultValue none
   */
  readonly parse?: ((item: unknown, index: number) => unknown) | undefined
  /**
   * Reported as `limitBytes` when the push holds too many events: the wire's body limit, which a
   * smaller push fits in.
   * @defaultValue 0
   */
  readonly bodyLimitBytes?: number | undefined
  /**
   * UTF-8 bytes of the JSON text the items were parsed from (a decompressed request body). No
   * item's `JSON.stringify` can be more than six times that, so a push whose text is small enough
   * for every event to be within `maxEventBytes` is not measured event by event.
   * @defaultValue none: every event's JSON is measured
   */
  readonly sourceBytes?: number | undefined
}

/**
 * What principals of a server may push and read, and what one call may cost it: limits per push,
 * per event and per page, and tenants. Without one (the loopback hub) a server admits any valid
 * push, reads pages of the size asked for, and knows no tenants.
 */
export interface AccessPolicy {
  /** Most events in one push. */
  readonly maxBatchEvents: number
  /** Largest single event, in bytes of its JSON (UTF-8). */
  readonly maxEventBytes: number
  /** Page size of a pull that names no limit. */
  readonly pageLimit: number
  /** Largest page a pull returns (larger limits are clamped to it), and a feed's batch size. */
  readonly maxPageLimit: number
  /** Byte budget of one page or feed batch, in bytes of the events' wire JSON. */
  readonly maxPageBytes: number
  /**
   * Admits a push: the batch limit, then each event in order (the wire's check,
   * `validateEvent`, the tenant rules), then each event's clock drift, then each event's size.
   * Every refusal names the event.
   * @param items - the pushed items.
   * @param options - tenant, wire check.
   * @param component - names the adapter in messages.
   * @returns validated, normalised copies of the events.
   * @throws SyncKitError `payload-too-large`, `invalid-event` (with `eventId`, `field`),
   * `clock-drift` (with `eventId`), `forbidden`, or whatever `parse` throws.
   */
  admit(items: readonly unknown[], options: CheckPushOptions, component: string): Event[]
  /**
   * Confines a read to the principal's tenant.
   * @param filters - the caller's filters.
   * @param tenant - the principal's tenant.
   * @param component - names the adapter in messages.
   * @returns the filters to read with.
   * @throws SyncKitError `forbidden` when a filter names another tenant.
   */
  scope(
    filters: readonly Filter[],
    tenant: string | undefined,
    component: string,
  ): readonly Filter[]
  /**
   * What a principal learns of a store's refusal: a conflicting id is reported without saying what
   * (or whose) the stored event is, event ids being global.
   * @param error - what the store threw.
   * @param events - the push.
   * @param component - names the adapter in messages.
   * @returns the error to throw.
   */
  storeError(error: unknown, events: readonly Event[], component: string): unknown
}

/** Options of {@link createAccessPolicy}. */
export interface AccessPolicyOptions {
  /**
   * Most events in one push; a larger push is refused with `payload-too-large`.
   * @defaultValue 1000 ({@link DEFAULT_MAX_BATCH_EVENTS})
   */
  readonly maxBatchEvents?: number | undefined
  /**
   * Largest single event, in bytes of its JSON (UTF-8); a push holding a larger one is refused
   * with `payload-too-large`, naming the event, and stores nothing.
   * @defaultValue 1 MiB ({@link DEFAULT_MAX_EVENT_BYTES})
   */
  readonly maxEventBytes?: number | undefined
  /**
   * Page size of a pull that names no `limit`.
   * @defaultValue 500 ({@link DEFAULT_PAGE_LIMIT})
   */
  readonly pageLimit?: number | undefined
  /**
   * Largest page a pull returns; larger limits are clamped to it (the client sees `hasMore`).
   * Also the batch size of a feed.
   * @defaultValue 1000 ({@link DEFAULT_MAX_PAGE_LIMIT})
   */
  readonly maxPageLimit?: number | undefined
  /**
   * Byte budget of one page or feed batch, in bytes of the events' wire JSON: it stops early
   * (with `hasMore`) once it would pass the budget, and always holds at least one event.
   * @defaultValue 4 MiB ({@link DEFAULT_MAX_PAGE_BYTES})
   */
  readonly maxPageBytes?: number | undefined
  /**
   * With a tenant: refuse a pushed event that names none (`invalid-event`, field
   * `metadata.tenant`) instead of stamping the principal's tenant into it.
   * @defaultValue false
   */
  readonly requireTenant?: boolean | undefined
  /**
   * Largest lead, in ms, of a pushed event's `metadata.hlc` stamp over this server's clock: an
   * event stamped further ahead is refused with `clock-drift` (`details.eventId`, `stamp`,
   * `driftMs`, `maxDriftMs`) and nothing from the push is stored. A clock that runs ahead would
   * otherwise make its events win every later edit of their aggregates. `0` or `Infinity`
   * disables the check. Events without a (well-formed) stamp are not checked.
   * @defaultValue 300 000 (5 minutes, {@link DEFAULT_SERVER_MAX_DRIFT_MS})
   */
  readonly maxDriftMs?: number | undefined
  /** The server's clock, for {@link AccessPolicyOptions.maxDriftMs}. @defaultValue `Date` */
  readonly clock?: Clock | undefined
  /** Names the adapter in option errors. @defaultValue `'server'` */
  readonly component?: string | undefined
}

const utf8 = new TextEncoder()

/**
 * Frozen copies: the store takes them without validating them again (`isSealedEvent`), and a sole
 * writer hands these very events to every feed.
 */
const FROZEN: ValidateEventOptions = { freeze: true }

/**
 * How many times larger than its source text a parsed JSON value's `JSON.stringify` can be, in
 * UTF-8 bytes. Strings never grow: the source must escape `"`, `\` and control characters at least
 * as long as `JSON.stringify` does, and non-ASCII is raw in the output (as short as or shorter
 * than a `\uXXXX` escape); whitespace, `\/` and repeated keys only shrink. Only number literals
 * grow, to at most 5.25 times their length: `1e20` (4 characters) prints as 21 digits, no literal
 * of 1 or 2 grows, `1e9` (3) prints as 10, and longer literals print in at most 25. Six leaves
 * room; a property test checks it.
 */
const SOURCE_EXPANSION = 6

/**
 * The UTF-8 size of an event's JSON when it is over `limit` bytes, else `undefined`. A UTF-16 code
 * unit takes 1 to 3 bytes of UTF-8, so only JSON longer than a third of the limit is encoded:
 * nearly every event is far smaller, and is stringified but not encoded.
 */
function jsonBytesOver(event: Event, limit: number): number | undefined {
  const json = JSON.stringify(event)
  if (json.length * 3 <= limit) return undefined
  const size = utf8.encode(json).byteLength
  return size > limit ? size : undefined
}

/**
 * The access policy of a server that many principals reach (the HTTP handler, next WebSocket).
 * @param options - limits and the tenant rule.
 * @returns the policy, for `SyncServerOptions.access`.
 * @throws SyncKitError `invalid-argument` for a limit that is not a positive integer.
 */
export function createAccessPolicy(options: AccessPolicyOptions = {}): AccessPolicy {
  const name = options.component ?? 'server'
  const limit = (
    key: (keyof AccessPolicyOptions & `max${string}`) | 'pageLimit',
    fallback: number,
  ) => integerOption(options[key], fallback, key, name)
  const maxBatchEvents = limit('maxBatchEvents', DEFAULT_MAX_BATCH_EVENTS)
  const maxEventBytes = limit('maxEventBytes', DEFAULT_MAX_EVENT_BYTES)
  const maxPageLimit = limit('maxPageLimit', DEFAULT_MAX_PAGE_LIMIT)
  const requireTenant = options.requireTenant === true
  const maxDriftMs = driftOption(options.maxDriftMs, name)
  const clock = options.clock ?? Date
  return {
    maxBatchEvents,
    maxEventBytes,
    pageLimit: Math.min(limit('pageLimit', DEFAULT_PAGE_LIMIT), maxPageLimit),
    maxPageLimit,
    maxPageBytes: limit('maxPageBytes', DEFAULT_MAX_PAGE_BYTES),
    admit(items, { tenant, parse, bodyLimitBytes, sourceBytes }, component) {
      if (items.length > maxBatchEvents) {
        throw new SyncKitError(
          'payload-too-large',
          `[sync-kit] [${component}] a push may carry at most ${maxBatchEvents} events, got ${items.length}; split the batch`,
          { limitBytes: bodyLimitBytes ?? 0 },
        )
      }
      const events = items.map((item: unknown, index) => {
        const event = validateEvent(
          parse === undefined ? item : parse(item, index),
          component,
          FROZEN,
        )
        return stampTenant(event, index, tenant, requireTenant, component)
      })
      if (maxDriftMs !== Infinity) {
        const now = clock.now()
        for (const event of events) checkDrift(event, now, maxDriftMs, component)
      }
      // The stamp of a tenant adds at most `,"metadata":{"tenant":"…"}` (6 bytes per escaped unit).
      const bound =
        sourceBytes === undefined
          ? Infinity
          : SOURCE_EXPANSION * sourceBytes + 32 + 6 * (tenant?.length ?? 0)
      if (bound <= maxEventBytes) return events
      for (const event of events) {
        const size = jsonBytesOver(event, maxEventBytes)
        if (size !== undefined) {
          throw new SyncKitError(
            'payload-too-large',
            `[sync-kit] [${component}] event "${event.id.slice(0, 100)}" is ${size} bytes of JSON, over this server's limit of ${maxEventBytes} bytes per event; nothing from this push was stored — store large blobs elsewhere and reference them`,
            { limitBytes: maxEventBytes, eventId: event.id },
          )
        }
      }
      return events
    },
    scope: scopeFilters,
    storeError(error, events, component) {
      if (!isSyncKitError(error, 'event-id-conflict')) return error
      const eventId = events.find((e) => e.id === error.details.eventId)?.id ?? ''
      return new SyncKitError(
        'event-id-conflict',
        `[sync-kit] [${component}] event "${eventId.slice(0, 100)}" conflicts with an existing event of the same id; nothing from this push was stored — give the changed event a new id`,
        { eventId },
        { cause: error },
      )
    },
  }
}

/** Checks the `maxDriftMs` option: `0` and `Infinity` turn the check off. */
function driftOption(value: number | undefined, component: string): number {
  if (value === 0 || value === Infinity) return Infinity
  return integerOption(value, DEFAULT_SERVER_MAX_DRIFT_MS, 'maxDriftMs', component)
}

/**
 * Refuses an event whose HLC stamp is more than `maxDriftMs` ahead of `now`. A missing or
 * malformed stamp is not this check's business: such an event sorts before every stamped one.
 */
function checkDrift(event: Event, now: number, maxDriftMs: number, component: string): void {
  const stamp = event.metadata?.hlc
  if (!isHlcStamp(stamp)) return
  const driftMs = stampWallMs(stamp) - now
  if (driftMs <= maxDriftMs) return
  throw new SyncKitError(
    'clock-drift',
    `[sync-kit] [${component}] event "${event.id.slice(0, 100)}" is stamped ${driftMs} ms ahead of this server's clock (metadata.hlc "${stamp.slice(0, 100)}"), over its limit of ${maxDriftMs} ms; nothing from this push was stored — fix the clock of the replica that recorded it`,
    { eventId: event.id, stamp: stamp.slice(0, 100), driftMs, maxDriftMs },
  )
}

/**
 * Confines a read to the principal's tenant. The caller's own `tenant` filters must name that
 * tenant (same-key filters are OR-ed, so keeping another tenant's filter would widen the read).
 */
function scopeFilters(
  filters: readonly Filter[],
  tenant: string | undefined,
  component: string,
): readonly Filter[] {
  if (tenant === undefined) return filters
  const scoped: Filter[] = []
  for (const filter of filters) {
    if (filter.key !== 'tenant') scoped.push(filter)
    else if (filter.value !== tenant) {
      throw new SyncKitError(
        'forbidden',
        `[sync-kit] [${component}] you may only read your own tenant's events`,
        {},
      )
    }
  }
  scoped.push({ key: 'tenant', value: tenant })
  return scoped
}

/**
 * The tenant rules for one pushed event: an event of another tenant is refused; one without a
 * tenant gets the principal's, or is refused with `requireTenant`.
 */
function stampTenant(
  event: Event,
  index: number,
  tenant: string | undefined,
  requireTenant: boolean,
  component: string,
): Event {
  if (tenant === undefined) return event
  const named = event.metadata?.tenant
  if (named === undefined && requireTenant) {
    throw new SyncKitError(
      'invalid-event',
      `[sync-kit] [${component}] events[${index}] has no metadata.tenant; this server requires each event to name its tenant ("${tenant.slice(0, 100)}") — nothing from this push was stored`,
      { eventId: event.id, field: 'metadata.tenant' },
    )
  }
  if (named === undefined) return { ...event, metadata: { ...event.metadata, tenant } }
  if (named !== tenant) {
    throw new SyncKitError(
      'forbidden',
      `[sync-kit] [${component}] events[${index}] names another tenant in metadata.tenant; omit it or use your own tenant — nothing from this push was stored`,
      {},
    )
  }
  return event
}

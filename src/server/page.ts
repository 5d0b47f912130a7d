import { signalOptions } from '../errors/abort.js'
import type { EventStore, EventWithVersion, Filter, Version } from '../types/index.js'

/** Events read from the store at a time while filling a byte-budgeted page. */
const LOAD_CHUNK = 16

/** One page of the log, as the server reads it. */
export interface LogPage {
  /** The events, oldest first. */
  readonly events: readonly EventWithVersion[]
  /**
   * With a byte budget: each event's wire JSON, `{"event":…,"version":"…"}`, at the same index, as
   * measured for the budget, so that a wire can send it without serialising the event again.
   */
  readonly json?: readonly string[]
  /** True when more matching events follow the page. */
  readonly hasMore: boolean
}

/** What {@link readPage} reads. */
export interface PageRequest {
  /** Most events; a positive integer or `Infinity`. */
  readonly limit: number
  /** Byte budget of the page's wire JSON; `Infinity` for none. */
  readonly maxBytes: number
  readonly filters: readonly Filter[]
  readonly signal?: AbortSignal | undefined
}

/**
 * The wire JSON of an event with its version: what a page's byte budget measures.
 * @param item - the event and its version.
 * @returns `{"event":…,"version":"…"}`.
 */
export function wireJson(item: EventWithVersion): string {
  return JSON.stringify({ event: item.event, version: item.version.toString() })
}

const utf8 = new TextEncoder()

/**
 * Reads one page after `since`: at most `limit` events, stopping before the one that would take
 * the page's wire JSON past `maxBytes` (a page always holds at least one event). With a budget it
 * reads a few events at a time, so a page of large events never sits in memory whole; without
 * one, a single read. Each read asks for one event more than it keeps, which tells `hasMore`
 * without another query.
 * @param store - the log.
 * @param since - the cursor; `null` for the beginning.
 * @param request - limit, byte budget, filters, cancellation.
 * @returns the page.
 */
export async function readPage(
  store: EventStore,
  since: Version | null,
  request: PageRequest,
): Promise<LogPage> {
  const { limit, maxBytes, filters, signal } = request
  const budget = maxBytes < Infinity
  const events: EventWithVersion[] = []
  const json: string[] = []
  let bytes = 0
  let cursor = since
  for (;;) {
    const want = Math.min(budget ? LOAD_CHUNK : limit, limit - events.length)
    const chunk = await store.load(cursor, {
      ...(want < Number.MAX_SAFE_INTEGER ? { limit: want + 1 } : {}),
      ...(filters.length === 0 ? {} : { filters }),
      ...signalOptions(signal),
    })
    for (const item of chunk.slice(0, want)) {
      if (budget) {
        const text = wireJson(item)
        const size = utf8.encode(text).byteLength
        if (events.length > 0 && bytes + size > maxBytes) return page(events, json, budget, true)
        json.push(text)
        bytes += size
      }
      events.push(item)
    }
    if (chunk.length <= want) return page(events, json, budget, false)
    if (events.length >= limit) return page(events, json, budget, true)
    cursor = events.at(-1)?.version ?? cursor
  }
}

function page(
  events: EventWithVersion[],
  json: string[],
  budget: boolean,
  hasMore: boolean,
): LogPage {
  return budget ? { events, json, hasMore } : { events, hasMore }
}

/**
 * The wire body of a pull page, `{"events":[…],"hasMore":…,"nextSince"?:…,"epoch":…}`, with the
 * events' JSON spliced in as the page budget measured it rather than serialised again: the one
 * rendering of a page for every wire (the HTTP pull response, the WebSocket pull result).
 * @param page - the page and its epoch.
 * @returns the JSON text.
 */
export function pageBody(page: LogPage & { readonly epoch: string }): string {
  const last = page.events.at(-1)
  const tail = JSON.stringify({
    hasMore: page.hasMore,
    ...(last === undefined ? {} : { nextSince: last.version.toString() }),
    epoch: page.epoch,
  })
  const events = (page.json ?? page.events.map(wireJson)).join(',')
  return `{"events":[${events}],${tail.slice(1)}`
}

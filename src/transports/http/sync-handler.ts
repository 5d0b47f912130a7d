import * as v from 'valibot'
import { EVENT_JSON_MAX_DEPTH, validateEvent } from '../../core/event-validation.js'
import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import type {
  Clock,
  Event,
  EventStore,
  EventWithVersion,
  Filter,
  IdGenerator,
  StoreResult,
  Version,
} from '../../types/index.js'
import { readJsonBody } from './body.js'
import type { SyncLogEntry, SyncLogger } from './logger.js'
import { Notifier } from './notifier.js'
import {
  JSON_CONTENT_TYPE,
  PROTOCOL_PREFIX,
  ROUTES,
  SERVER_EPOCH_CHECKPOINT_REMOTE,
  SSE_CONTENT_TYPE,
  statusForError,
} from './protocol.js'
import type { WireErrorBody } from './protocol.js'
import { exceedsDepth, pushRequestSchema, wireEventSchema } from './schemas.js'

/**
 * Default {@link SyncHandlerOptions.maxBodyBytes}: 4 MiB.
 * @example
 * ```ts
 * import { createSyncHandler, DEFAULT_MAX_BODY_BYTES } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const handler = createSyncHandler({ store: createMemoryStore(), maxBodyBytes: 2 * DEFAULT_MAX_BODY_BYTES })
 * ```
 */
export const DEFAULT_MAX_BODY_BYTES: number = 4 * 1024 * 1024
/**
 * Default {@link SyncHandlerOptions.maxDecompressedBytes}: 16 MiB.
 * @example
 * ```ts
 * import { createSyncHandler, DEFAULT_MAX_DECOMPRESSED_BYTES } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const handler = createSyncHandler({
 *   store: createMemoryStore(),
 *   maxDecompressedBytes: DEFAULT_MAX_DECOMPRESSED_BYTES / 2,
 * })
 * ```
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES: number = 16 * 1024 * 1024
/**
 * Default {@link SyncHandlerOptions.maxBatchEvents}: 1000.
 * @example
 * ```ts
 * import { DEFAULT_MAX_BATCH_EVENTS } from 'sync-kit/http'
 *
 * const chunks = (events: unknown[]) => Math.ceil(events.length / DEFAULT_MAX_BATCH_EVENTS)
 * ```
 */
export const DEFAULT_MAX_BATCH_EVENTS = 1000
/**
 * Default {@link SyncHandlerOptions.maxEventBytes}: 1 MiB.
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
 * Default {@link SyncHandlerOptions.maxPageBytes}: 4 MiB.
 * @example
 * ```ts
 * import { DEFAULT_MAX_PAGE_BYTES, createSyncHandler } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const handler = createSyncHandler({ store: createMemoryStore(), maxPageBytes: DEFAULT_MAX_PAGE_BYTES * 2 })
 * ```
 */
export const DEFAULT_MAX_PAGE_BYTES: number = 4 * 1024 * 1024

/** Events read from the store at a time while filling a byte-budgeted page. */
const LOAD_CHUNK = 16

/**
 * Default {@link SyncHandlerOptions.pageLimit}: 500.
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
 * Default {@link SyncHandlerOptions.maxPageLimit}: 1000.
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
 * Default {@link SyncHandlerOptions.heartbeatMs}: 15 000.
 * @example
 * ```ts
 * import { createHttpTransport, DEFAULT_HEARTBEAT_MS } from 'sync-kit/http'
 *
 * // Keep the client's idle limit above the server's heartbeat.
 * const transport = createHttpTransport({
 *   url: 'https://sync.example.com',
 *   streamIdleTimeoutMs: 3 * DEFAULT_HEARTBEAT_MS,
 * })
 * ```
 */
export const DEFAULT_HEARTBEAT_MS = 15_000

/** Most filter parameters accepted in one pull or stream request. */
const MAX_FILTERS = 64
/** Longest filter value accepted. */
const MAX_FILTER_VALUE_LENGTH = 1024
const COMPONENT = '[sync-kit] [http-server]'

/**
 * Options of {@link createSyncHandler}.
 * @example
 * ```ts
 * import { createSyncHandler, type SyncHandlerOptions } from 'sync-kit/http'
 * import { createMemoryStore, SyncKitError } from 'sync-kit'
 *
 * const options: SyncHandlerOptions<{ tenant: string }> = {
 *   store: createMemoryStore(),
 *   authorize: async (request) => {
 *     const tenant = request.headers.get('x-tenant')
 *     if (tenant === null) throw new SyncKitError('unauthorized', 'no tenant header', {})
 *     return { tenant }
 *   },
 *   tenantOf: (principal) => principal.tenant,
 *   heartbeatMs: 10_000,
 * }
 * const handler = createSyncHandler(options)
 * ```
 */
export interface SyncHandlerOptions<TPrincipal = unknown> {
  /** Where events live. Any `EventStore`; `storeBatch` (when present) makes pushes atomic. */
  readonly store: EventStore
  /**
   * Authenticates a request (health checks excepted). Throw a `SyncKitError` `unauthorized` (→
   * 401) or `forbidden` (→ 403) to refuse it.
   * @defaultValue every request is allowed, with principal `undefined`
   */
  readonly authorize?: (request: Request) => Promise<TPrincipal>
  /**
   * The tenant a principal belongs to. When it returns a string, every push, pull and stream of
   * that principal is confined to that tenant (see `docs/protocol.md`, "Tenants"); `undefined`
   * means unscoped (e.g. an admin).
   * @defaultValue no tenants
   */
  readonly tenantOf?: (principal: TPrincipal) => string | undefined
  /**
   * With tenants: refuse (422 `invalid-event`, field `metadata.tenant`) a pushed event that does
   * not name the principal's tenant, instead of writing the tenant into it. Then the server stores
   * exactly the event the client holds, so pulling it back is a plain duplicate — set this when
   * clients (e.g. a `SyncManager`) keep their own copies and set `metadata.tenant` themselves.
   * An event naming another tenant is refused with 403 either way.
   * @defaultValue false (an event without a tenant is stored with the principal's)
   */
  readonly requireTenant?: boolean
  /**
   * Path prefix the routes live under, e.g. `/sync` → `/sync/v1/events`. Starts with `/`, no
   * trailing `/`.
   * @defaultValue `''`
   */
  readonly basePath?: string
  /**
   * Largest request body accepted on the wire, in bytes (the compressed size when gzip).
   * @defaultValue 4 MiB ({@link DEFAULT_MAX_BODY_BYTES})
   */
  readonly maxBodyBytes?: number
  /**
   * Largest request body accepted after gzip decompression, in bytes.
   * @defaultValue 16 MiB ({@link DEFAULT_MAX_DECOMPRESSED_BYTES})
   */
  readonly maxDecompressedBytes?: number
  /**
   * Most events in one push.
   * @defaultValue 1000 ({@link DEFAULT_MAX_BATCH_EVENTS})
   */
  readonly maxBatchEvents?: number
  /**
   * Largest single event accepted, in bytes of its JSON (UTF-8). A push holding a larger event is
   * refused with 413 and stores nothing. Bounds what one page can cost the server to read.
   * @defaultValue 1 MiB ({@link DEFAULT_MAX_EVENT_BYTES})
   */
  readonly maxEventBytes?: number
  /**
   * Byte budget of one pull page or stream batch, in bytes of event JSON. A page stops early
   * (with `hasMore: true`) once it would pass the budget; it always holds at least one event.
   * @defaultValue 4 MiB ({@link DEFAULT_MAX_PAGE_BYTES})
   */
  readonly maxPageBytes?: number
  /**
   * Page size of a pull that names no `limit`.
   * @defaultValue 500 ({@link DEFAULT_PAGE_LIMIT})
   */
  readonly pageLimit?: number
  /**
   * Largest page a pull returns; larger `limit`s are clamped to it (the client sees `hasMore`).
   * Also the page size of a stream's replay.
   * @defaultValue 1000 ({@link DEFAULT_MAX_PAGE_LIMIT})
   */
  readonly maxPageLimit?: number
  /**
   * Idle time after which a stream sends a heartbeat comment (and re-checks the store for events
   * written by other processes).
   * @defaultValue 15 000 ({@link DEFAULT_HEARTBEAT_MS})
   */
  readonly heartbeatMs?: number
  /**
   * A fixed epoch. Without it, the epoch is read from the store's checkpoint
   * `{ remote: 'sync-kit:server', direction: 'pull' }`, and created there on first use.
   * @defaultValue persisted in the store
   */
  readonly epoch?: string
  /**
   * Generates a new epoch for a store that has none.
   * @defaultValue `crypto.randomUUID()`
   */
  readonly generateEpoch?: IdGenerator
  /**
   * Receives one structured record per request (see `createJsonLineLogger`).
   * @defaultValue no logging
   */
  readonly logger?: SyncLogger
  /**
   * Time source for log durations.
   * @defaultValue `Date`
   */
  readonly clock?: Clock
}

/**
 * A Web-standard request handler (`Request` → `Response`) serving the sync-kit wire protocol,
 * plus control over its live streams.
 * @example
 * ```ts
 * import { createSyncHandler, type SyncHandler } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const store = createMemoryStore()
 * const handler: SyncHandler = createSyncHandler({ store })
 * const response = await handler(new Request('http://localhost/v1/version'))
 * await store.store({ id: 'e1', type: 'Imported', aggregateId: 'a1', data: {} })
 * handler.notify() // wake live streams for an event written without the handler
 * await handler.close()
 * ```
 */
export interface SyncHandler {
  /**
   * Serves one request. Never rejects: every failure becomes an error response.
   * @param request - the request.
   * @returns the response.
   */
  (request: Request): Promise<Response>
  /**
   * Wakes live streams to look for new events. Pushes through this handler call it themselves;
   * call it after writing to the store by other means (streams otherwise notice within
   * `heartbeatMs`).
   */
  notify(): void
  /** The server's epoch (created and persisted on first use). */
  epoch(): Promise<string>
  /**
   * Ends every live stream and answers later requests with 503. Does not close the store.
   * Idempotent.
   */
  close(): Promise<void>
}

interface RequestContext {
  readonly tenant: string | undefined
  readonly log: Partial<Mutable<SyncLogEntry>>
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * Creates the sync server as a Web-standard handler, `(request: Request) => Promise<Response>`,
 * that mounts anywhere a `fetch`-style handler does (Node via `sync-kit/http/node`, Bun, Deno,
 * workers, Hono, …). Routes under `<basePath>/v1`: `POST /events` (push), `GET /events` (pull),
 * `GET /version`, `GET /stream` (Server-Sent Events) and `GET /health`; see `docs/protocol.md`.
 *
 * Every body is checked (streamed size limits, gzip limits, valibot schemas, `validateEvent`)
 * before anything is stored, and a rejected push stores nothing when the store has `storeBatch`.
 *
 * @param options - the store, auth, tenants, limits; see {@link SyncHandlerOptions}.
 * @returns the handler.
 * @throws SyncKitError `invalid-argument` for a bad option (e.g. a non-positive limit).
 * @example
 * ```ts
 * import { createSyncHandler } from 'sync-kit/http'
 * import { serve } from 'sync-kit/http/node'
 * import { createMemoryStore, SyncKitError } from 'sync-kit'
 *
 * const handler = createSyncHandler({
 *   store: createMemoryStore(),
 *   basePath: '/sync',
 *   authorize: async (request) => {
 *     const token = request.headers.get('authorization')
 *     if (token !== 'Bearer secret') throw new SyncKitError('unauthorized', 'bad token', {})
 *     return { tenant: 'acme' }
 *   },
 *   tenantOf: (principal) => principal.tenant,
 * })
 * const server = await serve({ handler, port: 8080 })
 * ```
 */
export function createSyncHandler<TPrincipal = unknown>(
  options: SyncHandlerOptions<TPrincipal>,
): SyncHandler {
  const store = options.store
  const basePath = checkBasePath(options.basePath ?? '')
  const prefix = basePath + PROTOCOL_PREFIX
  const maxBodyBytes = positive(options.maxBodyBytes, DEFAULT_MAX_BODY_BYTES, 'maxBodyBytes')
  const maxDecompressedBytes = positive(
    options.maxDecompressedBytes,
    DEFAULT_MAX_DECOMPRESSED_BYTES,
    'maxDecompressedBytes',
  )
  const maxBatchEvents = positive(
    options.maxBatchEvents,
    DEFAULT_MAX_BATCH_EVENTS,
    'maxBatchEvents',
  )
  const maxPageLimit = positive(options.maxPageLimit, DEFAULT_MAX_PAGE_LIMIT, 'maxPageLimit')
  const maxEventBytes = positive(options.maxEventBytes, DEFAULT_MAX_EVENT_BYTES, 'maxEventBytes')
  const maxPageBytes = positive(options.maxPageBytes, DEFAULT_MAX_PAGE_BYTES, 'maxPageBytes')
  const utf8 = new TextEncoder()

  /**
   * Reads up to `limit` events after `since` as wire JSON, a few at a time, stopping once the page
   * would pass `maxPageBytes` (always at least one event), so a page of large events never has to
   * sit in memory whole.
   */
  async function loadPage(
    since: Version | null,
    filters: readonly Filter[] | undefined,
    limit: number,
    signal: AbortSignal,
  ): Promise<{ items: WireItem[]; last: Version | undefined; hasMore: boolean }> {
    const items: WireItem[] = []
    let bytes = 0
    let cursor = since
    let last: Version | undefined
    while (items.length < limit) {
      const want = Math.min(LOAD_CHUNK, limit - items.length)
      const chunk = await store.load(cursor, {
        limit: want,
        ...(filters === undefined ? {} : { filters }),
        signal,
      })
      for (const item of chunk) {
        const text = JSON.stringify(toWire(item))
        const size = utf8.encode(text).byteLength
        if (items.length > 0 && bytes + size > maxPageBytes) return { items, last, hasMore: true }
        items.push({ text, version: item.version })
        bytes += size
        last = item.version
      }
      if (chunk.length < want) return { items, last, hasMore: false }
      cursor = last ?? cursor
    }
    const more = await store.load(cursor, {
      limit: 1,
      ...(filters === undefined ? {} : { filters }),
      signal,
    })
    return { items, last, hasMore: more.length > 0 }
  }
  const pageLimit = Math.min(
    positive(options.pageLimit, DEFAULT_PAGE_LIMIT, 'pageLimit'),
    maxPageLimit,
  )
  const heartbeatMs = positive(options.heartbeatMs, DEFAULT_HEARTBEAT_MS, 'heartbeatMs')
  const requireTenant = options.requireTenant === true
  if (options.epoch !== undefined && (typeof options.epoch !== 'string' || options.epoch === '')) {
    throw new SyncKitError(
      'invalid-argument',
      `${COMPONENT} option epoch must be a non-empty string`,
      { argument: 'epoch' },
    )
  }
  const generateEpoch = options.generateEpoch ?? (() => crypto.randomUUID())
  const clock = options.clock ?? Date
  const logger = options.logger
  const notifier = new Notifier()
  const streams = new Set<() => void>()
  let closing = false
  let epochPromise: Promise<string> | undefined

  function getEpoch(): Promise<string> {
    if (options.epoch !== undefined) return Promise.resolve(options.epoch)
    epochPromise ??= loadOrCreateEpoch(store, generateEpoch).catch((error: unknown) => {
      epochPromise = undefined
      throw error
    })
    return epochPromise
  }

  function writeLog(
    request: Request,
    started: number,
    entry: Partial<Mutable<SyncLogEntry>>,
  ): void {
    if (logger === undefined) return
    const status = entry.status ?? 500
    const record: Mutable<SyncLogEntry> = {
      ...entry,
      level: status >= 500 || entry.level === 'error' ? 'error' : status >= 400 ? 'warn' : 'info',
      time: new Date(clock.now()).toISOString(),
      method: request.method,
      path: safePath(request.url),
      status,
      ms: Math.max(0, clock.now() - started),
    }
    try {
      logger(record)
    } catch {
      // A failing logger must not fail the request.
    }
  }

  async function route(
    request: Request,
    ctx: { log: Partial<Mutable<SyncLogEntry>> },
  ): Promise<Response> {
    let pathname: string
    try {
      pathname = new URL(request.url).pathname
    } catch {
      throw protocolError('the request URL is invalid', 400)
    }
    if (!pathname.startsWith(prefix + '/')) {
      throw protocolError(
        `no route for ${pathname.slice(0, 200)}; the API lives under ${prefix}/`,
        404,
      )
    }
    const path = pathname.slice(prefix.length)
    const method = request.method.toUpperCase()
    const allowed = ALLOWED_METHODS[path]
    if (allowed === undefined) {
      throw protocolError(`no route for ${pathname.slice(0, 200)}; see docs/protocol.md`, 404)
    }
    if (!allowed.includes(method)) {
      throw new MethodNotAllowed(method, allowed)
    }
    if (closing) {
      throw new SyncKitError('unavailable', `${COMPONENT} the server is shutting down; retry`, {})
    }
    if (path === ROUTES.health) return json(200, { status: 'ok' })

    const principal = (
      options.authorize === undefined ? undefined : await options.authorize(request)
    ) as TPrincipal
    const tenant = options.tenantOf?.(principal)
    if (tenant !== undefined && (typeof tenant !== 'string' || tenant === '')) {
      throw new SyncKitError('internal', `${COMPONENT} tenantOf must return a non-empty string`, {})
    }
    const context: RequestContext = { tenant, log: ctx.log }
    if (tenant !== undefined) ctx.log.tenant = tenant

    if (path === ROUTES.events) {
      return method === 'POST' ? push(request, context) : pull(request, context)
    }
    if (path === ROUTES.version) {
      const [epoch, latest] = await Promise.all([
        getEpoch(),
        store.latestVersion({ signal: request.signal }),
      ])
      return json(200, { latestVersion: latest.toString(), epoch })
    }
    return stream(request, context)
  }

  async function push(request: Request, ctx: RequestContext): Promise<Response> {
    const body = await readJsonBody(request, { maxBodyBytes, maxDecompressedBytes })
    // Envelope + events array + event + data/metadata levels.
    if (exceedsDepth(body, EVENT_JSON_MAX_DEPTH + 3)) {
      throw protocolError(`the request body nests deeper than ${EVENT_JSON_MAX_DEPTH} levels`, 400)
    }
    const envelope = v.safeParse(pushRequestSchema, body)
    if (!envelope.success) {
      throw protocolError('the body must be a JSON object {"events": [event, ...]}', 400)
    }
    const raw = envelope.output.events
    ctx.log.events = raw.length
    if (raw.length > maxBatchEvents) {
      throw new SyncKitError(
        'payload-too-large',
        `${COMPONENT} a push may carry at most ${maxBatchEvents} events, got ${raw.length}; split the batch`,
        { limitBytes: maxBodyBytes },
      )
    }
    const events: Event[] = raw.map((item, index) =>
      checkWireEvent(item, index, ctx.tenant, requireTenant),
    )
    for (const event of events) {
      const size = utf8.encode(JSON.stringify(event)).byteLength
      if (size > maxEventBytes) {
        throw new SyncKitError(
          'payload-too-large',
          `${COMPONENT} event "${event.id.slice(0, 100)}" is ${size} bytes of JSON, over this server's limit of ${maxEventBytes} bytes per event; nothing from this push was stored — store large blobs elsewhere and reference them`,
          { limitBytes: maxEventBytes },
        )
      }
    }
    const epoch = await getEpoch()
    const ifEpoch = envelope.output.ifEpoch
    if (ifEpoch !== undefined && ifEpoch !== epoch) {
      throw new SyncKitError(
        'epoch-mismatch',
        `${COMPONENT} the push expected epoch "${ifEpoch.slice(0, 100)}" but this server's log is "${epoch}" (it was wiped or replaced); nothing was stored — re-send from the beginning`,
        { expected: ifEpoch.slice(0, 1024), actual: epoch },
      )
    }
    if (events.length === 0) {
      const latest = await store.latestVersion()
      return json(200, { stored: 0, duplicates: 0, epoch, latestVersion: latest.toString() })
    }
    let results: StoreResult[]
    try {
      results = await storeAll(store, events)
    } catch (error) {
      if (isSyncKitError(error, 'event-id-conflict')) {
        // Event ids are global: say that the id is taken, never what (or whose) the event is.
        const eventId = events.find((e) => e.id === error.details.eventId)?.id ?? ''
        throw new SyncKitError(
          'event-id-conflict',
          `${COMPONENT} event "${eventId.slice(0, 100)}" conflicts with an existing event of the same id; nothing from this push was stored — give the changed event a new id`,
          { eventId },
        )
      }
      throw error
    }
    let stored = 0
    for (const result of results) if (!result.duplicate) stored++
    if (stored > 0) notifier.notify()
    const latest = await store.latestVersion()
    ctx.log.stored = stored
    ctx.log.duplicates = results.length - stored
    return json(200, {
      stored,
      duplicates: results.length - stored,
      epoch,
      latestVersion: latest.toString(),
    })
  }

  async function pull(request: Request, ctx: RequestContext): Promise<Response> {
    const query = parseQuery(request, store, ctx.tenant, true)
    const limit = Math.min(query.limit ?? pageLimit, maxPageLimit)
    const epoch = await getEpoch()
    const page = await loadPage(query.since, query.filters, limit, request.signal)
    ctx.log.events = page.items.length
    const tail = JSON.stringify({
      hasMore: page.hasMore,
      ...(page.last === undefined ? {} : { nextSince: page.last.toString() }),
      epoch,
    })
    // The events are already JSON: splice them in rather than parse and serialise them again.
    const events = page.items.map((item) => item.text).join(',')
    return new Response(`{"events":[${events}],${tail.slice(1)}`, {
      status: 200,
      headers: { 'content-type': JSON_CONTENT_TYPE, 'cache-control': 'no-store' },
    })
  }

  async function stream(request: Request, ctx: RequestContext): Promise<Response> {
    const query = parseQuery(request, store, ctx.tenant, false)
    const epoch = await getEpoch()
    const latest = await store.latestVersion({ signal: request.signal })
    let cursor: Version = query.since ?? latest
    // Load the first page before answering, so a bad filter or cursor is a 4xx, not a broken
    // stream.
    const first = await loadPage(cursor, query.filters, maxPageLimit, request.signal)
    // The hello carries the starting cursor as its id too, so a plain EventSource that loses the
    // connection before the first event still reconnects from here, not from the newer head.
    const hello = `retry: 1000\nid: ${sseId(cursor)}\nevent: hello\ndata: ${JSON.stringify({
      epoch,
      latestVersion: latest.toString(),
      cursor: cursor.toString(),
    })}\n\n`
    if (first.last !== undefined) cursor = first.last
    const encoder = new TextEncoder()
    const abort = new AbortController()
    const started = clock.now()
    let sent = first.items.length
    let finished = false
    let controllerRef: ReadableStreamDefaultController<Uint8Array> | undefined

    const finish = (failure?: unknown): void => {
      if (finished) return
      finished = true
      abort.abort()
      streams.delete(end)
      request.signal.removeEventListener('abort', end)
      const entry: Partial<Mutable<SyncLogEntry>> = {
        ...ctx.log,
        status: 200,
        stream: 'closed',
        events: sent,
      }
      if (failure !== undefined) {
        entry.level = 'error'
        entry.code = isSyncKitError(failure) ? failure.code : 'internal'
        entry.message = failure instanceof Error ? failure.message : String(failure)
      }
      writeLog(request, started, entry)
    }
    const end = (): void => {
      finish()
      try {
        controllerRef?.close()
      } catch {
        // Already closed or errored.
      }
    }
    streams.add(end)
    request.signal.addEventListener('abort', end, { once: true })

    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controllerRef = controller
        controller.enqueue(encoder.encode(hello + encodeEvents(first.items)))
      },
      async pull(controller) {
        try {
          for (;;) {
            if (finished) return
            const seen = notifier.generation
            const page = await loadPage(cursor, query.filters, maxPageLimit, abort.signal)
            if (finished) return
            if (page.last !== undefined) {
              controller.enqueue(encoder.encode(encodeEvents(page.items)))
              cursor = page.last
              sent += page.items.length
              return
            }
            const outcome = await notifier.wait(seen, heartbeatMs, abort.signal)
            if (finished || outcome === 'aborted') return
            if (outcome === 'timeout') {
              controller.enqueue(encoder.encode(': heartbeat\n\n'))
              return
            }
          }
        } catch (error) {
          if (finished) return
          const status = statusForError(error)
          const { body: errorBody } = errorPayload(error, status)
          try {
            controller.enqueue(
              encoder.encode(`event: error\ndata: ${JSON.stringify(errorBody)}\n\n`),
            )
            controller.close()
          } catch {
            // The consumer went away meanwhile.
          }
          finish(error)
        }
      },
      cancel() {
        finish()
      },
    })
    ctx.log.stream = 'open'
    ctx.log.events = first.items.length
    return new Response(body, {
      status: 200,
      headers: {
        'content-type': SSE_CONTENT_TYPE,
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      },
    })
  }

  const handle = async (request: Request): Promise<Response> => {
    const started = clock.now()
    const log: Partial<Mutable<SyncLogEntry>> = {}
    let response: Response
    try {
      response = await route(request, { log })
    } catch (error) {
      response = errorResponse(error)
      const body = errorPayload(error, response.status).body
      log.code = body.error.code
      // The client gets a generic message for an internal error; the log gets the real one.
      log.message =
        body.error.code === 'internal' && error instanceof Error
          ? error.message
          : body.error.message
    }
    writeLog(request, started, { ...log, status: response.status })
    return response
  }

  return Object.assign(handle, {
    notify: (): void => notifier.notify(),
    epoch: getEpoch,
    close: (): Promise<void> => {
      closing = true
      for (const end of [...streams]) end()
      return Promise.resolve()
    },
  })
}

const ALLOWED_METHODS: Readonly<Record<string, readonly string[]>> = {
  [ROUTES.events]: ['GET', 'POST'],
  [ROUTES.version]: ['GET'],
  [ROUTES.stream]: ['GET'],
  [ROUTES.health]: ['GET'],
}

class MethodNotAllowed extends Error {
  constructor(
    readonly method: string,
    readonly allowed: readonly string[],
  ) {
    super(
      `${COMPONENT} method ${method.slice(0, 20)} is not allowed here; use ${allowed.join(' or ')}`,
    )
  }
}

function protocolError(message: string, status: number): SyncKitError<'protocol'> {
  return new SyncKitError('protocol', `${COMPONENT} ${message}`, { status })
}

async function loadOrCreateEpoch(store: EventStore, generate: IdGenerator): Promise<string> {
  const key = { remote: SERVER_EPOCH_CHECKPOINT_REMOTE, direction: 'pull' } as const
  const existing = await store.getCheckpoint(key)
  if (existing?.epoch !== undefined && existing.epoch !== '') return existing.epoch
  await store.setCheckpoint(key, { version: '0', epoch: generate() })
  // Read back, so that a server whose write was overtaken takes the later one. This narrows the
  // race between processes starting on one fresh database but cannot close it (one may read back
  // before the other writes); `sync-kit serve` closes it by doing this under SQLite's write lock.
  const written = await store.getCheckpoint(key)
  if (written?.epoch === undefined || written.epoch === '') {
    throw new SyncKitError(
      'internal',
      `${COMPONENT} the store did not keep the epoch checkpoint`,
      {},
    )
  }
  return written.epoch
}

/** Stores a validated batch atomically when the store can, else one by one (idempotent). */
async function storeAll(store: EventStore, events: readonly Event[]): Promise<StoreResult[]> {
  if (store.storeBatch !== undefined) return store.storeBatch(events)
  const results: StoreResult[] = []
  for (const event of events) results.push(await store.store(event))
  return results
}

function checkWireEvent(
  item: unknown,
  index: number,
  tenant: string | undefined,
  requireTenant: boolean,
): Event {
  const shaped = v.safeParse(wireEventSchema, item)
  if (!shaped.success) {
    const issue = shaped.issues[0]
    const field = v.getDotPath(issue) ?? ''
    const id = typeof item === 'object' && item !== null ? (item as { id?: unknown }).id : undefined
    const details: { eventId?: string; field?: string } = {}
    if (typeof id === 'string' && id.length <= 512) details.eventId = id
    if (field !== '') details.field = field.slice(0, 200)
    throw new SyncKitError(
      'invalid-event',
      `${COMPONENT} events[${index}]${field === '' ? '' : `.${field.slice(0, 200)}`}: ${issue.message.slice(0, 300)}; events are {id, type, aggregateId, data, metadata?}`,
      details,
    )
  }
  const event = validateEvent(shaped.output, 'http-server')
  if (tenant === undefined) return event
  const named = event.metadata?.tenant
  if (named === undefined && requireTenant) {
    throw new SyncKitError(
      'invalid-event',
      `${COMPONENT} events[${index}] has no metadata.tenant; this server requires each event to name its tenant ("${tenant.slice(0, 100)}") — nothing from this push was stored`,
      { eventId: event.id, field: 'metadata.tenant' },
    )
  }
  if (named === undefined) return { ...event, metadata: { ...event.metadata, tenant } }
  if (named !== tenant) {
    throw new SyncKitError(
      'forbidden',
      `${COMPONENT} events[${index}] names another tenant in metadata.tenant; omit it or use your own tenant — nothing from this push was stored`,
      {},
    )
  }
  return event
}

interface ParsedQuery {
  readonly since: Version | null
  readonly limit: number | undefined
  readonly filters: readonly Filter[]
}

function parseQuery(
  request: Request,
  store: EventStore,
  tenant: string | undefined,
  allowLimit: boolean,
): ParsedQuery {
  const params = new URL(request.url).searchParams
  let since: string | undefined
  let limit: string | undefined
  const filters: Filter[] = []
  for (const [key, value] of params) {
    if (key === 'since') {
      if (since !== undefined) throw invalidArgument('since', 'appears more than once')
      since = value
    } else if (key === 'limit') {
      if (!allowLimit) throw invalidArgument('limit', 'is not supported by the stream')
      if (limit !== undefined) throw invalidArgument('limit', 'appears more than once')
      limit = value
    } else {
      if (filters.length >= MAX_FILTERS) {
        throw invalidArgument('filters', `more than ${MAX_FILTERS} are not allowed`)
      }
      if (key === '' || value.length > MAX_FILTER_VALUE_LENGTH) {
        throw invalidArgument('filters', `filter "${key.slice(0, 40)}" is empty or too long`)
      }
      filters.push({ key, value })
    }
  }
  const lastEventId = allowLimit ? null : request.headers.get('last-event-id')
  const cursor = lastEventId !== null && lastEventId !== '' ? lastEventId : since
  let parsedLimit: number | undefined
  if (limit !== undefined) {
    if (!/^[1-9][0-9]{0,8}$/.test(limit)) {
      throw invalidArgument('limit', `must be a positive integer, got "${limit.slice(0, 20)}"`)
    }
    parsedLimit = Number(limit)
  }
  return {
    since: cursor === undefined || cursor === '' ? null : store.parseVersion(cursor),
    limit: parsedLimit,
    filters: scopeFilters(filters, tenant),
  }
}

/**
 * Confines filters to the principal's tenant. The client's own tenant filters must name that
 * tenant (same-key filters are OR-ed, so keeping another tenant's filter would widen the read).
 */
function scopeFilters(filters: readonly Filter[], tenant: string | undefined): readonly Filter[] {
  if (tenant === undefined) return filters
  const scoped: Filter[] = []
  for (const filter of filters) {
    if (filter.key !== 'tenant') scoped.push(filter)
    else if (filter.value !== tenant) {
      throw new SyncKitError(
        'forbidden',
        `${COMPONENT} you may only read your own tenant's events`,
        {},
      )
    }
  }
  scoped.push({ key: 'tenant', value: tenant })
  return scoped
}

function invalidArgument(argument: string, problem: string): SyncKitError<'invalid-argument'> {
  return new SyncKitError(
    'invalid-argument',
    `${COMPONENT} query parameter ${argument} ${problem}`,
    {
      argument,
    },
  )
}

function toWire(item: EventWithVersion): { event: Event; version: string } {
  return { event: item.event, version: item.version.toString() }
}

/** A version as an SSE `id` field: it must not contain line breaks or NUL. */
function sseId(version: Version): string {
  const id = version.toString()
  if (/[\r\n\0]/.test(id)) {
    throw new SyncKitError(
      'internal',
      `${COMPONENT} the store produced a version with a line break`,
      {},
    )
  }
  return id
}

/** An event with its version, already serialised by `toWire` (`{"event":…,"version":"…"}`). */
interface WireItem {
  readonly text: string
  readonly version: Version
}

/** SSE frames for serialised events. */
function encodeEvents(items: readonly WireItem[]): string {
  let out = ''
  for (const item of items) {
    out += `id: ${sseId(item.version)}\nevent: event\ndata: ${item.text}\n\n`
  }
  return out
}

function json(status: number, body: unknown, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': JSON_CONTENT_TYPE, 'cache-control': 'no-store', ...headers },
  })
}

function errorPayload(error: unknown, status: number): { body: WireErrorBody } {
  if (error instanceof MethodNotAllowed) {
    return { body: { error: { code: 'protocol', message: error.message } } }
  }
  if (!isSyncKitError(error) || error.code === 'internal' || (status >= 500 && status !== 503)) {
    return {
      body: {
        error: {
          code: 'internal',
          message: `${COMPONENT} internal error; the server log has the details`,
        },
      },
    }
  }
  const details: Record<string, string | number> = {}
  for (const [key, value] of Object.entries(error.details as Record<string, unknown>)) {
    if (typeof value === 'string' || typeof value === 'number') details[key] = value
  }
  return {
    body: {
      error: {
        code: error.code === 'closed' || error.code === 'aborted' ? 'unavailable' : error.code,
        message: withComponent(error.message),
        ...(Object.keys(details).length > 0 ? { details } : {}),
      },
    },
  }
}

/** Tags a message with the server component unless another component already tagged it. */
function withComponent(message: string): string {
  if (/^\[sync-kit\] \[[^\]]+\] /.test(message)) return message
  return `${COMPONENT} ${message.replace(/^\[sync-kit\] /, '')}`
}

function errorResponse(error: unknown): Response {
  if (error instanceof MethodNotAllowed) {
    return json(405, errorPayload(error, 405).body, { allow: error.allowed.join(', ') })
  }
  const status = statusForError(error)
  const headers: Record<string, string> = status === 503 ? { 'retry-after': '1' } : {}
  return json(status, errorPayload(error, status).body, headers)
}

function checkBasePath(basePath: string): string {
  if (basePath !== '' && !/^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/.test(basePath)) {
    throw new SyncKitError(
      'invalid-argument',
      `${COMPONENT} basePath must be '' or start with '/' and not end with '/', got "${basePath.slice(0, 100)}"`,
      { argument: 'basePath' },
    )
  }
  return basePath
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new SyncKitError(
      'invalid-argument',
      `${COMPONENT} option ${name} must be a positive integer, got ${String(value)}`,
      { argument: name },
    )
  }
  return value
}

function safePath(url: string): string {
  try {
    return new URL(url).pathname.slice(0, 300)
  } catch {
    return ''
  }
}

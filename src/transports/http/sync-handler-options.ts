import type {
  Clock,
  EventStore,
  IdGenerator,
  StoreWatchOptions,
  Timers,
} from '../../types/index.js'
import type { AllowedOrigins } from '../../server/index.js'
import type { SyncLogger } from './logger.js'

export {
  DEFAULT_MAX_BATCH_EVENTS,
  DEFAULT_MAX_EVENT_BYTES,
  DEFAULT_MAX_PAGE_BYTES,
  DEFAULT_MAX_PAGE_LIMIT,
  DEFAULT_PAGE_LIMIT,
  DEFAULT_SERVER_MAX_DRIFT_MS,
} from '../../server/index.js'

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

/**
 * Default {@link SyncHandlerOptions.maxStreams}: 500 live streams. Each holds a connection, a
 * feed and its buffers (measured: 500 streams, and 500 more refused, took about 60 MiB of server
 * memory; docs/server.md); with the default `maxConnections` of `serve`
 * (`sync-kit/http/node`, 1000) it leaves a second connection per streaming client for its pushes
 * and pulls.
 * @example
 * ```ts
 * import { createSyncHandler, DEFAULT_MAX_STREAMS } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const handler = createSyncHandler({ store: createMemoryStore(), maxStreams: 2 * DEFAULT_MAX_STREAMS })
 * ```
 */
export const DEFAULT_MAX_STREAMS = 500
/**
 * Default {@link SyncHandlerOptions.maxBufferedBodyBytes}: 32 MiB — two pushes of the largest
 * decompressed size (16 MiB) at once, or a hundred ordinary ones (a `SyncManager` pushes at most
 * 500 events per request). A push costs the server a few times its body while it is parsed,
 * checked and stored (measured: 50 concurrent pushes of 10 MiB peak at about 180 MiB above the
 * idle server; docs/server.md).
 * @example
 * ```ts
 * import { createSyncHandler, DEFAULT_MAX_BUFFERED_BODY_BYTES } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const handler = createSyncHandler({
 *   store: createMemoryStore(),
 *   maxBufferedBodyBytes: DEFAULT_MAX_BUFFERED_BODY_BYTES / 2,
 * })
 * ```
 */
export const DEFAULT_MAX_BUFFERED_BODY_BYTES: number = 32 * 1024 * 1024
/**
 * Default {@link SyncHandlerOptions.bodyBudgetWaitMs}: 2000 ms.
 * @example
 * ```ts
 * import { createSyncHandler, DEFAULT_BODY_BUDGET_WAIT_MS } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const handler = createSyncHandler({ store: createMemoryStore(), bodyBudgetWaitMs: 2 * DEFAULT_BODY_BUDGET_WAIT_MS })
 * ```
 */
export const DEFAULT_BODY_BUDGET_WAIT_MS = 2000

/**
 * Default {@link CorsOptions.maxAgeSeconds}: 7200 s (2 hours), the longest Chromium keeps a
 * preflight (Firefox keeps up to 24 hours).
 * @example
 * ```ts
 * import { createSyncHandler, DEFAULT_CORS_MAX_AGE_SECONDS } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const handler = createSyncHandler({
 *   store: createMemoryStore(),
 *   cors: { origins: ['https://app.example.com'], maxAgeSeconds: DEFAULT_CORS_MAX_AGE_SECONDS / 2 },
 * })
 * ```
 */
export const DEFAULT_CORS_MAX_AGE_SECONDS = 7200

/**
 * Request headers a browser page may send to the server: what the HTTP client sends (its
 * `authorization` from the `headers` option, `content-type` and `content-encoding` of a push,
 * `last-event-id` of a stream). {@link CorsOptions.allowHeaders} adds more.
 * @example
 * ```ts
 * import { CORS_ALLOWED_HEADERS } from 'sync-kit/http'
 *
 * console.log(CORS_ALLOWED_HEADERS.join(', '))
 * ```
 */
export const CORS_ALLOWED_HEADERS: readonly string[] = [
  'authorization',
  'content-type',
  'content-encoding',
  'last-event-id',
]

/**
 * Response headers a browser page may read beyond the CORS-safelisted ones: `retry-after`, which
 * the HTTP client waits for on 503 and 429. {@link CorsOptions.exposeHeaders} adds more.
 * @example
 * ```ts
 * import { CORS_EXPOSED_HEADERS } from 'sync-kit/http'
 *
 * console.log(CORS_EXPOSED_HEADERS.join(', '))
 * ```
 */
export const CORS_EXPOSED_HEADERS: readonly string[] = ['retry-after']

/**
 * Which browser pages on other origins may call the server (Cross-Origin Resource Sharing), for
 * {@link SyncHandlerOptions.cors}. Without credentials: clients authenticate with a header
 * (`Authorization: Bearer …`), never cookies, so `Access-Control-Allow-Credentials` is not sent.
 * @example
 * ```ts
 * import type { CorsOptions } from 'sync-kit/http'
 *
 * const cors: CorsOptions = {
 *   origins: ['https://app.example.com', 'http://localhost:5173'],
 *   allowHeaders: ['x-client-version'],
 * }
 * ```
 */
export interface CorsOptions {
  /**
   * The origins allowed, exactly as browsers send them in `Origin`: `scheme://host[:port]`, no
   * path, no trailing slash (`https://app.example.com`, `http://localhost:5173`); or `'*'` for
   * every origin (then `Access-Control-Allow-Origin: *`). A request from another origin gets no
   * CORS headers (the browser hides the response from the page) and its preflight a 403; a
   * WebSocket upgrade from another origin is refused with 403 as well.
   */
  readonly origins: AllowedOrigins
  /**
   * Request headers allowed besides {@link CORS_ALLOWED_HEADERS}, e.g. a custom header the
   * client's `headers` option sends. A preflight asking for any other header is refused (403).
   * @defaultValue none
   */
  readonly allowHeaders?: readonly string[]
  /**
   * Response headers a page may read besides {@link CORS_EXPOSED_HEADERS}.
   * @defaultValue none
   */
  readonly exposeHeaders?: readonly string[]
  /**
   * How long a browser may reuse a preflight's answer, in seconds (`Access-Control-Max-Age`).
   * @defaultValue 7200 ({@link DEFAULT_CORS_MAX_AGE_SECONDS})
   */
  readonly maxAgeSeconds?: number
}

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
   * Lets browser pages on other origins call the server: answers CORS preflights (`OPTIONS`) and
   * adds the CORS headers to every response of an allowed origin — live streams and error bodies
   * included, so the page can read them. See {@link CorsOptions}.
   * @defaultValue no CORS: only pages of the server's own origin (and non-browser clients);
   * `OPTIONS` is answered 405
   */
  readonly cors?: CorsOptions
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
   * Most bytes of request bodies held in memory at once, across all concurrent pushes (counted
   * after gzip decompression, from the first byte until the push was answered). A push that would
   * pass it waits, reading nothing more, for up to `bodyBudgetWaitMs`, older pushes first, then
   * is refused with 503 `unavailable` and `Retry-After: 1`; so is the youngest of the waiting
   * pushes when all pushes holding bytes wait for more. Bounds what concurrent pushes cost the
   * server's memory (a push costs a small multiple of its body: the bytes, the text, the parsed
   * events). At least `maxDecompressedBytes` and `maxBodyBytes`.
   * @defaultValue 32 MiB ({@link DEFAULT_MAX_BUFFERED_BODY_BYTES}), or more when
   * `maxDecompressedBytes` is larger
   */
  readonly maxBufferedBodyBytes?: number
  /**
   * How long a push waits for room in `maxBufferedBodyBytes` before it is refused (503).
   * @defaultValue 2000 ({@link DEFAULT_BODY_BUDGET_WAIT_MS})
   */
  readonly bodyBudgetWaitMs?: number
  /**
   * Most live streams (`GET /v1/stream`) open at once; one more is refused with 503
   * `unavailable` and `Retry-After: 5` (a `SyncManager` keeps syncing by pull meanwhile and
   * subscribes again after a later sync).
   * @defaultValue 500 ({@link DEFAULT_MAX_STREAMS})
   */
  readonly maxStreams?: number
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
   * Largest lead, in ms, of a pushed event's `metadata.hlc` stamp over the server's clock (the
   * `clock` option): a push holding an event stamped further ahead is refused with 422
   * `clock-drift` naming the event (`details.eventId`, `stamp`, `driftMs`, `maxDriftMs`) and
   * stores nothing. `0` or `Infinity` disables the check.
   * @defaultValue 300 000 (5 minutes, {@link DEFAULT_SERVER_MAX_DRIFT_MS})
   */
  readonly maxDriftMs?: number
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
   * Live streams of events that other server instances stored: when the store offers `watch`
   * (one shared by several processes, such as the PostgreSQL store), the handler watches it from
   * the first stream on and wakes its streams at every append of any instance (LISTEN/NOTIFY for
   * PostgreSQL, with a fallback poll and reconnects). `false` turns it off (streams then find
   * such events at their next heartbeat); an object is handed to `store.watch` (its
   * `pollIntervalMs`, `backoff`, `timers`).
   * @defaultValue true
   */
  readonly watch?: boolean | StoreWatchOptions
  /**
   * This handler's server writes (nearly) all of the store's events — one server on a SQLite
   * file, as `sync-kit serve` runs: pushes are stored one after the other and a live stream
   * takes a push's events as they are, instead of every stream re-reading the store after each
   * push. Safe when someone else writes too (the server checks after each push that its events
   * follow the head it left, and streams re-read the store when not); leave it off for several
   * busy servers on one database (PostgreSQL), whose pushes then run concurrently. See
   * `SyncServerOptions.soleWriter` of the server core (`src/server/`, internal).
   * @defaultValue false
   */
  readonly soleWriter?: boolean
  /**
   * With `soleWriter`: the pushes of requests read in the same pass of the event loop are stored
   * in one `storeBatch` (one SQLite transaction and `fsync` for all, each request answered after
   * it). See `SyncServerOptions.groupCommit` of the server core (`src/server/`, internal);
   * without `soleWriter` it is ignored; `sync-kit serve` turns it on
   * for SQLite.
   * @defaultValue false
   */
  readonly groupCommit?: boolean
  /**
   * A fixed epoch. Without it, the epoch is the store's: loaded or created once through
   * `store.loadOrCreateEpoch` (atomic: servers starting together on one database agree), or, for
   * a store without it, kept in the checkpoint `{ remote: 'sync-kit:server', direction: 'pull' }`.
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
   * Time source for log durations and the drift bound (`maxDriftMs`); a `TestClock` also times
   * the heartbeats.
   * @defaultValue `Date`
   */
  readonly clock?: Clock
  /**
   * Timers for the streams' heartbeats.
   * @defaultValue the clock's, else the global `setTimeout`/`clearTimeout`
   */
  readonly timers?: Timers
}

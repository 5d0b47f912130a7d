import { isEventStore } from '../../core/store-shape.js'
import { integerOption } from '../../core/options.js'
import { resolveTimers } from '../../core/timers.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import {
  NO_ORIGINS,
  createAccessPolicy,
  createAuthenticator,
  createSyncServer,
  loadOrCreateEpoch,
} from '../../server/index.js'
import type { SyncEndpoint } from '../../server/index.js'
import { groupCommit } from '../../server/push-turns.js'
import { BodyBudget } from './body-budget.js'
import { createCors } from './cors.js'
import { StoreHealth } from './store-health.js'
import { PROTOCOL_PREFIX, ROUTES } from './protocol.js'
import { createLogWriter } from './sync-handler-context.js'
import type { HandlerContext, LogDraft, RequestContext } from './sync-handler-context.js'
import {
  COMPONENT,
  MethodNotAllowed,
  errorPayload,
  errorResponse,
  protocolError,
} from './sync-handler-errors.js'
import { push } from './sync-handler-push.js'
import { health, pull, version } from './sync-handler-reads.js'
import { stream } from './sync-handler-stream.js'
import {
  DEFAULT_BODY_BUDGET_WAIT_MS,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_BUFFERED_BODY_BYTES,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  DEFAULT_MAX_STREAMS,
} from './sync-handler-options.js'
import type { SyncHandlerOptions } from './sync-handler-options.js'

export * from './sync-handler-options.js'

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
  /**
   * The server's epoch (created and persisted on first use). Call it at start to fail early: a
   * store that cannot be written rejects here (`unavailable`).
   */
  epoch(): Promise<string>
  /**
   * Ends every live stream and answers later requests with 503; requests in flight finish. Does
   * not close the store. Idempotent.
   */
  close(): Promise<void>
  /**
   * The remote this handler serves, for a second wire on the same server: the server core, the
   * same `authorize`/`tenantOf`, limits, live-subscription slots, body budget, health and log
   * (`sync-kit/ws/node` maps WebSocket messages onto it).
   */
  readonly endpoint: SyncEndpoint
}

/**
 * Creates the sync server as a Web-standard handler, `(request: Request) => Promise<Response>`,
 * that mounts anywhere a `fetch`-style handler does (Node via `sync-kit/http/node`, Bun, Deno,
 * workers, Hono, …). Routes under `<basePath>/v1`: `POST /events` (push), `GET /events` (pull),
 * `GET /version`, `GET /stream` (Server-Sent Events) and `GET /health`; see `docs/protocol.md`.
 * With the `cors` option, also the CORS preflights (`OPTIONS`) of browser pages on other origins.
 *
 * A thin adapter over the server core (`src/server/`), which does what a remote does (epoch,
 * admitting and storing pushes, pages within a count and a byte budget, tenants, live feeds); the
 * handler adds routing, auth, body limits and gzip, the wire schemas, status codes, SSE framing
 * and logs. Every body is checked (streamed size limits, gzip limits, valibot schemas,
 * `validateEvent`) before anything is stored, and a rejected push stores nothing when the store
 * has `storeBatch`.
 *
 * @param options - the store, auth, tenants, limits; see {@link SyncHandlerOptions}.
 * @returns the handler.
 * @throws SyncKitError `invalid-argument` for a bad option (e.g. a non-positive limit, or a
 * `cors` origin that is not `scheme://host[:port]`).
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
  const name = 'http-server'
  const basePath = checkBasePath(options.basePath ?? '')
  const prefix = basePath + PROTOCOL_PREFIX
  const clock = options.clock ?? Date
  const { store } = options
  if (!isEventStore(store)) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [${name}] createSyncHandler needs a store (an EventStore, e.g. openSqliteStore({ path }) or createMemoryStore()), got ${store === undefined ? 'none' : typeof store}`,
      { argument: 'store' },
    )
  }
  if (options.epoch !== undefined && (typeof options.epoch !== 'string' || options.epoch === '')) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [${name}] option epoch must be a non-empty string (the handler keeps the epoch in the store when it is not given)`,
      { argument: 'epoch' },
    )
  }
  const cors = options.cors === undefined ? undefined : createCors(options.cors)
  const generateEpoch = options.generateEpoch ?? ((): string => crypto.randomUUID())
  const access = createAccessPolicy({
    maxBatchEvents: options.maxBatchEvents,
    maxEventBytes: options.maxEventBytes,
    pageLimit: options.pageLimit,
    maxPageLimit: options.maxPageLimit,
    maxPageBytes: options.maxPageBytes,
    requireTenant: options.requireTenant,
    maxDriftMs: options.maxDriftMs,
    clock,
    component: name,
  })
  const server = createSyncServer({
    store,
    ...(options.soleWriter === undefined ? {} : { soleWriter: options.soleWriter }),
    ...(options.groupCommit === true ? { groupCommit: groupCommit() } : {}),
    access,
    component: name,
    epoch: options.epoch ?? (() => loadOrCreateEpoch(store, generateEpoch, name)),
    ...(options.watch === undefined ? {} : { watch: options.watch }),
    ...(options.timers === undefined ? {} : { timers: options.timers }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  })
  const maxBodyBytes = integerOption(
    options.maxBodyBytes,
    DEFAULT_MAX_BODY_BYTES,
    'maxBodyBytes',
    name,
  )
  const maxDecompressedBytes = integerOption(
    options.maxDecompressedBytes,
    DEFAULT_MAX_DECOMPRESSED_BYTES,
    'maxDecompressedBytes',
    name,
  )
  const context: HandlerContext = {
    server,
    maxBodyBytes,
    maxDecompressedBytes,
    heartbeatMs: integerOption(options.heartbeatMs, DEFAULT_HEARTBEAT_MS, 'heartbeatMs', name),
    clock,
    streams: new Set(),
    streamSlots: {
      max: integerOption(options.maxStreams, DEFAULT_MAX_STREAMS, 'maxStreams', name),
      taken: 0,
    },
    budget: new BodyBudget(
      bodyBudget(options.maxBufferedBodyBytes, Math.max(maxBodyBytes, maxDecompressedBytes)),
      integerOption(
        options.bodyBudgetWaitMs,
        DEFAULT_BODY_BUDGET_WAIT_MS,
        'bodyBudgetWaitMs',
        name,
        0,
      ),
      resolveTimers(options.timers, options.clock, name),
    ),
    health: new StoreHealth(store, clock, resolveTimers(options.timers, options.clock, name)),
    writeLog: createLogWriter(options.logger, clock),
  }
  let closing = false
  const authenticate = createAuthenticator({
    authorize: options.authorize,
    tenantOf: options.tenantOf,
    component: name,
  })
  const endpoint: SyncEndpoint = {
    server,
    access,
    authenticate,
    origins: cors?.policy ?? NO_ORIGINS,
    liveSlots: context.streamSlots,
    bodyBudget: context.budget,
    maxBodyBytes: context.maxBodyBytes,
    heartbeatMs: context.heartbeatMs,
    get closing() {
      return closing
    },
    recordWrite: (error?: unknown) => context.health.recordWrite(error),
    log: (request, started, entry) => context.writeLog(request, started, entry),
    now: () => clock.now(),
  }

  async function route(request: Request, log: LogDraft): Promise<Response> {
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
    if (method === 'OPTIONS' && cors !== undefined) return cors.preflight(request, allowed)
    if (!allowed.includes(method)) {
      throw new MethodNotAllowed(method, allowed)
    }
    if (closing) {
      throw new SyncKitError('unavailable', `${COMPONENT} the server is shutting down; retry`, {})
    }
    if (path === ROUTES.health) return health(context)

    const tenant = await authenticate(request)
    const ctx: RequestContext = { tenant, log }
    if (tenant !== undefined) log.tenant = tenant

    if (path === ROUTES.events) {
      return method === 'POST' ? push(request, context, ctx) : pull(request, context, ctx)
    }
    if (path === ROUTES.version) return version(request, context)
    return stream(request, context, ctx)
  }

  const handle = async (request: Request): Promise<Response> => {
    const started = clock.now()
    const log: LogDraft = {}
    let response: Response
    try {
      response = await route(request, log)
    } catch (error) {
      response = errorResponse(error)
      const body = errorPayload(error, response.status)
      log.code = body.error.code
      // The client gets a generic message for an internal error; the log gets the real one.
      log.message =
        body.error.code === 'internal' && error instanceof Error
          ? error.message
          : body.error.message
    }
    context.writeLog(request, started, { ...log, status: response.status })
    return cors === undefined ? response : cors.decorate(request, response)
  }

  return Object.assign(handle, {
    endpoint,
    notify: (): void => server.notify(),
    epoch: (): Promise<string> => server.epoch(),
    close: (): Promise<void> => {
      closing = true
      for (const end of [...context.streams]) end()
      // Not awaited: pushes in flight finish on their own, within the shutdown's own deadline
      // (see `serve`), rather than holding up the end of the streams.
      void server.close()
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

/**
 * The `maxBufferedBodyBytes` option: a positive integer no smaller than the largest single body,
 * which must always fit.
 */
function bodyBudget(value: number | undefined, largestBody: number): number {
  const budget = integerOption(
    value,
    Math.max(DEFAULT_MAX_BUFFERED_BODY_BYTES, largestBody),
    'maxBufferedBodyBytes',
    'http-server',
  )
  if (budget < largestBody) {
    throw new SyncKitError(
      'invalid-argument',
      `${COMPONENT} option maxBufferedBodyBytes (${budget}) must be at least maxBodyBytes and maxDecompressedBytes (${largestBody}): the largest push must fit`,
      { argument: 'maxBufferedBodyBytes' },
    )
  }
  return budget
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

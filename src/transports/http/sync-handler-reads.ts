import { pageBody } from '../../server/index.js'
import type { Filter, Version } from '../../types/index.js'
import type { HandlerContext, RequestContext } from './sync-handler-context.js'
import { invalidArgument, json } from './sync-handler-errors.js'
import { JSON_CONTENT_TYPE } from './protocol.js'

/** Most filter parameters accepted in one pull or stream request. */
const MAX_FILTERS = 64
/** Longest filter value accepted. */
const MAX_FILTER_VALUE_LENGTH = 1024

/** The query of a pull or a stream. */
export interface ParsedQuery {
  /** `since` (or, for a stream, `Last-Event-ID`), parsed. */
  readonly since: Version | null
  readonly limit: number | undefined
  /** Every other parameter, as a filter (the server core adds the tenant's). */
  readonly filters: readonly Filter[]
}

/**
 * Parses the query of `GET /v1/events` (with `limit`) or `GET /v1/stream` (with `Last-Event-ID`).
 * @param request - the request.
 * @param context - the handler (its server parses versions).
 * @param allowLimit - true for a pull.
 * @returns the cursor, limit and filters.
 * @throws SyncKitError `invalid-argument`, `version-parse`.
 */
export function parseQuery(
  request: Request,
  context: HandlerContext,
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
    since: cursor === undefined || cursor === '' ? null : context.server.parseVersion(cursor),
    limit: parsedLimit,
    filters,
  }
}

/**
 * `GET /v1/events`: one page, the events' JSON spliced in as the core measured it.
 * @param request - the request.
 * @param context - the handler.
 * @param ctx - tenant and log record.
 * @returns the response.
 */
export async function pull(
  request: Request,
  context: HandlerContext,
  ctx: RequestContext,
): Promise<Response> {
  const query = parseQuery(request, context, true)
  const page = await context.server.pull(query.since, {
    limit: query.limit,
    filters: query.filters,
    tenant: ctx.tenant,
    signal: request.signal,
  })
  ctx.log.events = page.events.length
  return new Response(pageBody(page), {
    status: 200,
    headers: { 'content-type': JSON_CONTENT_TYPE, 'cache-control': 'no-store' },
  })
}

/**
 * `GET /v1/version`: the head and the epoch.
 * @param request - the request.
 * @param context - the handler.
 * @returns the response.
 */
export async function version(request: Request, context: HandlerContext): Promise<Response> {
  const head = await context.server.latestVersion({ signal: request.signal })
  return json(200, { latestVersion: head.latestVersion.toString(), epoch: head.epoch })
}

/**
 * `GET /v1/health`: 200 `{"status":"ok"}` while the store can write, else 503
 * `{"status":"unavailable","store":{"writable":false,"since","code","message"}}` (see
 * `StoreHealth`: the last push's write, and a write probe while that failed). For a store
 * reached over a network (with `ping`: PostgreSQL), the body also says whether the database
 * answers, `"database":{"reachable":true,"latencyMs":1}`, and the status is 503 while it does
 * not (`"database":{"reachable":false,"since","code","message"}`).
 * @param context - the handler.
 * @returns the response.
 */
export async function health(context: HandlerContext): Promise<Response> {
  const [store, database] = await Promise.all([context.health.check(), context.health.database()])
  const healthy = store.writable && database?.reachable !== false
  const body = {
    status: healthy ? 'ok' : 'unavailable',
    ...(store.writable ? {} : { store }),
    ...(database === undefined ? {} : { database }),
  }
  return healthy ? json(200, body) : json(503, body, { 'retry-after': '5' })
}

import * as v from 'valibot'
import { EVENT_JSON_MAX_DEPTH } from '../../core/event-validation.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import type { HandlerContext, RequestContext } from './sync-handler-context.js'
import { COMPONENT, json, protocolError } from './sync-handler-errors.js'
import { readJsonBody } from './body.js'
import {
  MAX_IDENTIFIER_LENGTH,
  exceedsDepth,
  isPlainWireEvent,
  pushRequestSchema,
  wireEventSchema,
} from './schemas.js'

/**
 * `POST /v1/events`: reads the body within its limits, checks the envelope, then hands the events
 * to the server core (which admits and stores them).
 * @param request - the request.
 * @param context - the handler.
 * @param ctx - tenant and log record.
 * @returns the response.
 */
export async function push(
  request: Request,
  context: HandlerContext,
  ctx: RequestContext,
): Promise<Response> {
  const { maxBodyBytes, maxDecompressedBytes, budget } = context
  // The body's bytes count against the server's global budget until the push is answered (the
  // parsed events live that long); a client that goes away gives them back at once.
  const lease = budget.open()
  const release = (): void => lease.release()
  request.signal.addEventListener('abort', release, { once: true })
  try {
    const body = await readJsonBody(request, {
      maxBodyBytes,
      maxDecompressedBytes,
      take: lease.take,
    })
    return await store(body.value, body.bytes, context, ctx)
  } finally {
    request.signal.removeEventListener('abort', release)
    lease.release()
  }
}

async function store(
  body: unknown,
  bodyBytes: number,
  context: HandlerContext,
  ctx: RequestContext,
): Promise<Response> {
  const { server, maxBodyBytes } = context
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
  const checked = server.checkPush(raw, {
    tenant: ctx.tenant,
    parse: parseWireEvent,
    bodyLimitBytes: maxBodyBytes,
    sourceBytes: bodyBytes,
  })
  let result: Awaited<ReturnType<typeof server.push>>
  try {
    result = await server.push(checked, { ifEpoch: envelope.output.ifEpoch })
  } catch (error) {
    context.health.recordWrite(error)
    throw error
  }
  // Only a push that wrote tells that the store can write (duplicates write nothing).
  if (result.stored > 0) context.health.recordWrite()
  ctx.log.stored = result.stored
  ctx.log.duplicates = result.duplicates
  return json(200, {
    stored: result.stored,
    duplicates: result.duplicates,
    epoch: result.epoch,
    latestVersion: result.latestVersion.toString(),
  })
}

/**
 * The wire's shape check of one pushed event (exactly the `Event` fields), naming the offending
 * field; `validateEvent` in the server core checks the rest.
 * @param item - one element of `events`.
 * @param index - its position, for the message.
 * @returns the item.
 * @throws SyncKitError `invalid-event` with `eventId` and `field` when known.
 */
export function parseWireEvent(item: unknown, index: number): unknown {
  // What the schema surely accepts, checked by hand (a fifth of admitting a push went to valibot
  // on the happy path); anything else goes through the schema, which names the problem.
  if (isPlainWireEvent(item, isIdentifier)) return item
  const shaped = v.safeParse(wireEventSchema, item)
  if (shaped.success) return shaped.output
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

/** What {@link wireEventSchema} takes as `id`, `type` and `aggregateId`. */
function isIdentifier(value: unknown): boolean {
  return typeof value === 'string' && value.length >= 1 && value.length <= MAX_IDENTIFIER_LENGTH
}

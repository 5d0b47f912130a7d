import { wireJson } from '../../server/index.js'
import type { Feed, FeedBatch, ServerHead } from '../../server/index.js'
import { SyncKitError, isSyncKitError } from '../../errors/sync-kit-error.js'
import type { Version } from '../../types/index.js'
import type { HandlerContext, LogDraft, RequestContext } from './sync-handler-context.js'
import { COMPONENT, errorPayload, limitReached } from './sync-handler-errors.js'
import { parseQuery } from './sync-handler-reads.js'
import { SSE_CONTENT_TYPE, statusForError } from './protocol.js'

/** `Retry-After` of a stream refused because `maxStreams` are open, in seconds. */
const STREAM_RETRY_AFTER_SECONDS = 5

/**
 * `GET /v1/stream`: Server-Sent Events over a feed of the server core. A `hello` carrying the
 * epoch and the starting cursor, the backlog after the cursor, then live events, each with its
 * version as the SSE `id`; a heartbeat comment after `heartbeatMs` of silence (the feed re-reads
 * the store then, for writes by other processes). The stream pulls one batch at a time, so a slow
 * reader holds the feed back instead of filling the server's memory.
 * @param request - the request.
 * @param context - the handler.
 * @param ctx - tenant and log record.
 * @returns the streaming response.
 */
export async function stream(
  request: Request,
  context: HandlerContext,
  ctx: RequestContext,
): Promise<Response> {
  const { heartbeatMs, clock, streams, streamSlots } = context
  const maxStreams = streamSlots.max
  // The slot is taken before the first await, so concurrent requests cannot pass the limit.
  if (streamSlots.taken >= maxStreams) {
    throw limitReached(
      `${maxStreams} live streams are open, the most this server allows; keep syncing by pull and subscribe again later`,
      STREAM_RETRY_AFTER_SECONDS,
    )
  }
  streamSlots.taken++
  let slotTaken = true
  const freeSlot = (): void => {
    if (slotTaken) streamSlots.taken--
    slotTaken = false
  }
  let opened: Awaited<ReturnType<typeof openStream>>
  try {
    opened = await openStream(request, context, ctx)
  } catch (error) {
    freeSlot()
    throw error
  }
  const { feed, head, start, first } = opened
  // The hello carries the starting cursor as its id too, so a plain EventSource that loses the
  // connection before the first event still reconnects from here, not from the newer head.
  const hello = `retry: 1000\nid: ${sseId(start)}\nevent: hello\ndata: ${JSON.stringify({
    epoch: head.epoch,
    latestVersion: head.latestVersion.toString(),
    cursor: start.toString(),
  })}\n\n`
  const encoder = new TextEncoder()
  const abort = new AbortController()
  const started = clock.now()
  let sent = first?.events.length ?? 0
  let finished = false
  let controllerRef: ReadableStreamDefaultController<Uint8Array> | undefined

  const finish = (failure?: unknown): void => {
    if (finished) return
    finished = true
    abort.abort()
    feed.close()
    freeSlot()
    streams.delete(end)
    request.signal.removeEventListener('abort', end)
    const entry: LogDraft = { ...ctx.log, status: 200, stream: 'closed', events: sent }
    if (failure !== undefined) {
      entry.level = 'error'
      entry.code = isSyncKitError(failure) ? failure.code : 'internal'
      entry.message = failure instanceof Error ? failure.message : String(failure)
    }
    context.writeLog(request, started, entry)
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
      controller.enqueue(encoder.encode(hello + (first === undefined ? '' : encodeEvents(first))))
    },
    async pull(controller) {
      try {
        const batch = await nextBatch(feed, heartbeatMs, abort.signal)
        if (finished) return
        if (batch === undefined) {
          end()
          return
        }
        if (batch.events.length === 0) {
          controller.enqueue(encoder.encode(': heartbeat\n\n'))
          return
        }
        controller.enqueue(encoder.encode(encodeEvents(batch)))
        sent += batch.events.length
      } catch (error) {
        if (finished) return
        const { error: wire } = errorPayload(error, statusForError(error))
        try {
          controller.enqueue(
            encoder.encode(`event: error\ndata: ${JSON.stringify({ error: wire })}\n\n`),
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
  ctx.log.events = first?.events.length ?? 0
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': SSE_CONTENT_TYPE,
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    },
  })
}

/** Reads the cursor and opens the feed, with its first page (so a bad cursor is a 4xx). */
async function openStream(
  request: Request,
  context: HandlerContext,
  ctx: RequestContext,
): Promise<{ feed: Feed; head: ServerHead; start: Version; first: FeedBatch | undefined }> {
  const { server } = context
  const query = parseQuery(request, context, false)
  const head = await server.latestVersion({ signal: request.signal })
  const start = query.since ?? head.latestVersion
  const feed = await server.openFeed({ since: start, filters: query.filters, tenant: ctx.tenant })
  try {
    // The first page is read before answering, so a bad filter or cursor is a 4xx, not a broken
    // stream.
    const first = await feed.next({ waitMs: 0, signal: request.signal })
    return { feed, head, start, first }
  } catch (error) {
    feed.close()
    throw error
  }
}

/** The feed's next batch; `undefined` once the stream or the feed ended. */
async function nextBatch(
  feed: Feed,
  heartbeatMs: number,
  signal: AbortSignal,
): Promise<FeedBatch | undefined> {
  try {
    return await feed.next({ waitMs: heartbeatMs, signal })
  } catch (error) {
    if (signal.aborted) return undefined
    throw error
  }
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

/**
 * The wire JSON of events a push handed to every stream as they are (the same objects): written
 * once, not once per stream.
 */
const handedOver = new WeakMap<object, string>()

/** SSE frames for a batch, with the JSON the core measured when it has it. */
function encodeEvents(batch: FeedBatch): string {
  let out = ''
  batch.events.forEach((item, index) => {
    let data = batch.json?.[index] ?? handedOver.get(item)
    if (data === undefined) handedOver.set(item, (data = wireJson(item)))
    out += `id: ${sseId(item.version)}\nevent: event\ndata: ${data}\n\n`
  })
  return out
}

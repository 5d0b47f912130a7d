import type { IncomingMessage, ServerResponse } from 'node:http'
import { integerOption } from '../../core/options.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import type { SyncLogger } from './logger.js'
import { logRefusal } from './node-refusals.js'

/**
 * A Web-standard request handler.
 * @example
 * ```ts
 * import type { FetchHandler } from 'sync-kit/http/node'
 *
 * const hello: FetchHandler = async () => new Response('hello')
 * ```
 */
export type FetchHandler = (request: Request) => Promise<Response>

/**
 * Options of {@link createNodeListener}.
 * @example
 * ```ts
 * import { createNodeListener, type NodeListenerOptions } from 'sync-kit/http/node'
 * import { createSyncHandler } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const options: NodeListenerOptions = { onError: (error) => console.error(error) }
 * const listener = createNodeListener(createSyncHandler({ store: createMemoryStore() }), options)
 * ```
 */
export interface NodeListenerOptions {
  /**
   * Called with failures that have no response to go to (a socket error mid-response, a handler
   * that threw). Must not throw.
   * @defaultValue ignore them
   */
  readonly onError?: (error: unknown) => void
  /**
   * Longest silence while a request body is still arriving, in ms: a body that stops arriving
   * for longer (a slowloris upload) is cut, answered with 408 and its connection closed. The
   * clock runs only while the server wants bytes: a push waiting for the body budget is not cut.
   * `0` disables it (then only `serve`'s `requestTimeoutMs` bounds an upload).
   * @defaultValue 10 000 ({@link DEFAULT_BODY_IDLE_TIMEOUT_MS})
   */
  readonly bodyIdleTimeoutMs?: number
  /**
   * Receives a record (the fields of `SyncLogEntry`) for each request the listener refuses itself,
   * before the handler sees it: 503 during a shutdown, 400 for a request it cannot read. The
   * handler logs the rest with its own `logger`.
   * @defaultValue no logging
   */
  readonly logger?: SyncLogger
}

/**
 * Default {@link NodeListenerOptions.bodyIdleTimeoutMs}: 10 000 ms, far longer than any pause of
 * a client that is sending (TCP retransmits within seconds), short enough that a connection
 * trickling a body holds its slot for seconds, not for the whole request timeout.
 * @example
 * ```ts
 * import { createNodeListener, DEFAULT_BODY_IDLE_TIMEOUT_MS } from 'sync-kit/http/node'
 * import { createSyncHandler } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const listener = createNodeListener(createSyncHandler({ store: createMemoryStore() }), {
 *   bodyIdleTimeoutMs: 3 * DEFAULT_BODY_IDLE_TIMEOUT_MS,
 * })
 * ```
 */
export const DEFAULT_BODY_IDLE_TIMEOUT_MS = 10_000

/**
 * A `node:http` request listener that can shut down gracefully.
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { createNodeListener, type NodeListener } from 'sync-kit/http/node'
 * import { createSyncHandler } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const listener: NodeListener = createNodeListener(createSyncHandler({ store: createMemoryStore() }))
 * const server = createServer(listener).listen(8787)
 * process.on('SIGTERM', async () => {
 *   server.close()
 *   await listener.close(5000)
 * })
 * ```
 */
export interface NodeListener {
  /**
   * Serves one Node request through the handler.
   * @param req - the incoming request.
   * @param res - the response to write.
   */
  (req: IncomingMessage, res: ServerResponse): void
  /**
   * Ends graceful: answers new requests with 503, ends live (event-stream) responses, and
   * resolves once every other in-flight request has finished or `timeoutMs` passed (then their
   * sockets are destroyed).
   * @param timeoutMs - how long in-flight requests may take.
   * @defaultValue timeoutMs 10 000
   */
  close(timeoutMs?: number): Promise<void>
  /** Number of requests being served. */
  readonly inFlight: number
}

interface InFlight {
  readonly res: ServerResponse
  stream: boolean
  reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  readonly done: Promise<void>
}

/** The tag of every message of the Node adapter. */
export const COMPONENT = '[sync-kit] [http-node]'
const BODYLESS = new Set(['GET', 'HEAD'])

/**
 * Adapts a Web-standard handler to `http.createServer`. Request bodies are streamed into the
 * `Request` (the handler's limits apply while bytes arrive), responses are streamed out with
 * backpressure, and a client that disconnects aborts `request.signal`.
 *
 * @param handler - the handler, e.g. from `createSyncHandler`.
 * @param options - error reporting.
 * @returns the listener, with a graceful `close()`.
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { createSyncHandler } from 'sync-kit/http'
 * import { createNodeListener } from 'sync-kit/http/node'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const listener = createNodeListener(createSyncHandler({ store: createMemoryStore() }))
 * createServer(listener).listen(8080)
 * ```
 */
export function createNodeListener(
  handler: FetchHandler,
  options: NodeListenerOptions = {},
): NodeListener {
  const inFlight = new Set<InFlight>()
  let closing = false
  const bodyIdleTimeoutMs = integerOption(
    options.bodyIdleTimeoutMs,
    DEFAULT_BODY_IDLE_TIMEOUT_MS,
    'bodyIdleTimeoutMs',
    'http-node',
    0,
  )
  const refuse = (
    req: IncomingMessage,
    res: ServerResponse,
    started: number,
    refusal: { status: number; code: string; message: string },
  ): void => {
    writeError(res, refusal.status, refusal.code, refusal.message)
    logRefusal(options.logger, { method: req.method, url: req.url, started, ...refusal })
  }
  const report = (error: unknown): void => {
    try {
      options.onError?.(error)
    } catch {
      // The reporter must not take the server down.
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    let resolveDone!: () => void
    const entry: InFlight = {
      res,
      stream: false,
      reader: undefined,
      done: new Promise<void>((resolve) => (resolveDone = resolve)),
    }
    inFlight.add(entry)
    const settle = (): void => {
      inFlight.delete(entry)
      resolveDone()
    }
    res.once('close', settle)
    serveOne(req, res, entry).catch((error: unknown) => {
      report(error)
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' })
        res.end(
          JSON.stringify({
            error: { code: 'internal', message: `${COMPONENT} internal error` },
          }),
        )
      } else {
        res.destroy()
      }
    })
  }

  async function serveOne(
    req: IncomingMessage,
    res: ServerResponse,
    entry: InFlight,
  ): Promise<void> {
    const abort = new AbortController()
    res.once('close', () => {
      if (!res.writableFinished) abort.abort()
    })
    res.on('error', report)
    req.on('error', () => abort.abort())
    const started = Date.now()
    if (closing) {
      res.shouldKeepAlive = false
      res.setHeader('retry-after', '1')
      refuse(req, res, started, {
        status: 503,
        code: 'unavailable',
        message: `${COMPONENT} the server is shutting down; retry`,
      })
      return
    }
    let request: Request
    try {
      request = toRequest(req, abort.signal, bodyIdleTimeoutMs)
    } catch {
      refuse(req, res, started, {
        status: 400,
        code: 'protocol',
        message: `${COMPONENT} the request could not be read`,
      })
      return
    }
    const response = await handler(request)
    if (closing) res.shouldKeepAlive = false
    // If the handler answered before reading the whole body (413, 415, …), the connection is
    // closed after the response instead of draining the rest of a possibly huge upload.
    if (!req.complete && !BODYLESS.has(req.method ?? 'GET')) res.shouldKeepAlive = false
    await writeResponse(res, response, entry)
  }

  async function writeResponse(
    res: ServerResponse,
    response: Response,
    entry: InFlight,
  ): Promise<void> {
    const headers: Record<string, string | string[]> = {}
    response.headers.forEach((value, key) => {
      if (key !== 'set-cookie') headers[key] = value
    })
    const cookies = response.headers.getSetCookie()
    if (cookies.length > 0) headers['set-cookie'] = cookies
    res.writeHead(response.status, response.statusText || undefined, headers)
    const body = response.body
    if (body === null || res.req.method === 'HEAD') {
      await body?.cancel()
      res.end()
      return
    }
    entry.stream = (response.headers.get('content-type') ?? '').startsWith('text/event-stream')
    if (entry.stream) res.flushHeaders()
    const reader = body.getReader()
    entry.reader = reader
    const onClose = (): void => {
      reader.cancel().catch(() => undefined)
    }
    res.once('close', onClose)
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        if (res.destroyed) return
        if (!res.write(value)) {
          await new Promise<void>((resolve) => {
            const go = (): void => {
              res.off('drain', go)
              res.off('close', go)
              resolve()
            }
            res.on('drain', go)
            res.on('close', go)
          })
        }
      }
      res.end()
    } catch (error) {
      if (!res.destroyed) {
        report(error)
        res.destroy()
      }
    } finally {
      res.off('close', onClose)
    }
  }

  return Object.assign(listener, {
    get inFlight(): number {
      return inFlight.size
    },
    close: async (timeoutMs = 10_000): Promise<void> => {
      closing = true
      for (const entry of inFlight) {
        entry.res.shouldKeepAlive = false
        // Live streams never end by themselves: end them cleanly (the client reconnects
        // elsewhere, resuming from its Last-Event-ID).
        if (entry.stream) entry.reader?.cancel().catch(() => undefined)
      }
      const all = Promise.all([...inFlight].map((entry) => entry.done))
      let timer: ReturnType<typeof setTimeout> | undefined
      const timedOut = await Promise.race([
        all.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), timeoutMs)
        }),
      ])
      clearTimeout(timer)
      if (timedOut) for (const entry of inFlight) entry.res.destroy()
      // Streams whose reader was created after close() began.
      for (const entry of inFlight) if (entry.stream) entry.res.destroy()
    },
  })
}

function toRequest(req: IncomingMessage, signal: AbortSignal, idleTimeoutMs: number): Request {
  const headers = new Headers()
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string)
  let url: URL
  try {
    url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`)
  } catch {
    url = new URL(req.url ?? '/', 'http://localhost')
  }
  const method = req.method ?? 'GET'
  if (BODYLESS.has(method)) return new Request(url, { method, headers, signal })
  let open = true
  // The idle clock runs only while the body is wanted and open: not while the handler holds the
  // stream back (a full queue, a push waiting for the body budget).
  let idle: ReturnType<typeof setTimeout> | undefined
  const stopIdle = (): void => {
    clearTimeout(idle)
    idle = undefined
  }
  let fail: (error: Error) => void = () => undefined
  const startIdle = (): void => {
    stopIdle()
    if (!open || idleTimeoutMs === 0) return
    idle = setTimeout(() => {
      req.pause()
      fail(
        new SyncKitError(
          'protocol',
          `${COMPONENT} the request body stopped arriving for ${idleTimeoutMs} ms; send it at once or not at all`,
          { status: 408 },
        ),
      )
    }, idleTimeoutMs)
  }
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        req.on('data', (chunk: Buffer) => {
          if (!open) return
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
          if ((controller.desiredSize ?? 0) <= 0) {
            req.pause()
            stopIdle()
          } else startIdle()
        })
        req.once('end', () => {
          stopIdle()
          if (open) controller.close()
          open = false
        })
        fail = (error: Error): void => {
          stopIdle()
          if (open) controller.error(error)
          open = false
        }
        req.once('error', fail)
        req.once('close', () => {
          if (!req.complete) fail(new Error('the client closed the connection mid-body'))
        })
      },
      pull() {
        req.resume()
        startIdle()
      },
      cancel() {
        // The handler stopped reading (e.g. 413): stop pulling bytes from the socket; the
        // connection is closed once the response is sent.
        stopIdle()
        open = false
        req.pause()
      },
    },
    { highWaterMark: 65_536, size: (chunk) => chunk.byteLength },
  )
  return new Request(url, { method, headers, body, signal, duplex: 'half' } as RequestInit)
}

/**
 * Writes a JSON error body.
 * @param res - the response.
 * @param status - its status.
 * @param code - the error code.
 * @param message - the message.
 */
export function writeError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
  res.end(JSON.stringify({ error: { code, message } }))
}

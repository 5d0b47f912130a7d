/**
 * The Node.js adapter of the sync-kit HTTP server: runs a Web-standard handler (such as
 * `createSyncHandler` from `sync-kit/http`) on `node:http`, with streamed bodies in both
 * directions, backpressure, and graceful shutdown that ends live streams.
 *
 * @example
 * ```ts
 * import { createSyncHandler } from 'sync-kit/http'
 * import { serve } from 'sync-kit/http/node'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const server = await serve({ handler: createSyncHandler({ store: createMemoryStore() }), port: 8080 })
 * console.log(`sync server on ${server.url}`)
 * process.on('SIGTERM', () => void server.close())
 * ```
 *
 * @packageDocumentation
 */
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SyncKitError } from '../../errors/sync-kit-error.js'

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
}

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

const COMPONENT = '[sync-kit] [http-node]'
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
    if (closing) {
      res.shouldKeepAlive = false
      writeError(res, 503, 'unavailable', `${COMPONENT} the server is shutting down; retry`)
      return
    }
    let request: Request
    try {
      request = toRequest(req, abort.signal)
    } catch {
      writeError(res, 400, 'protocol', `${COMPONENT} the request could not be read`)
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

/**
 * Options of {@link serve}.
 * @example
 * ```ts
 * import { serve, type ServeOptions } from 'sync-kit/http/node'
 * import { createSyncHandler } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const options: ServeOptions = {
 *   handler: createSyncHandler({ store: createMemoryStore() }),
 *   host: '0.0.0.0',
 *   port: 8787,
 *   closeTimeoutMs: 5000,
 * }
 * const server = await serve(options)
 * ```
 */
export interface ServeOptions extends NodeListenerOptions {
  /** The Web-standard handler to serve, e.g. from `createSyncHandler`. */
  readonly handler: FetchHandler & { close?: () => Promise<void> }
  /**
   * TCP port; `0` picks a free one (read it from the result's `url`).
   * @defaultValue 0
   */
  readonly port?: number
  /**
   * Interface to listen on. Use `'0.0.0.0'` (or `'::'`) to accept connections from other hosts.
   * @defaultValue `'127.0.0.1'`
   */
  readonly host?: string
  /**
   * How long `close()` lets in-flight requests finish before destroying their sockets.
   * @defaultValue 10 000
   */
  readonly closeTimeoutMs?: number
}

/**
 * A running server started by {@link serve}.
 * @example
 * ```ts
 * import { serve, type RunningServer } from 'sync-kit/http/node'
 * import { createSyncHandler } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const server: RunningServer = await serve({ handler: createSyncHandler({ store: createMemoryStore() }) })
 * console.log(server.url, server.port)
 * await server.close()
 * ```
 */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:51234` (append the handler's `basePath`). */
  readonly url: string
  /** The TCP port. */
  readonly port: number
  /** The underlying `node:http` server. */
  readonly server: Server
  /**
   * Graceful shutdown: stops accepting connections, ends live streams (and the handler's, if it
   * has `close()`), lets in-flight requests finish (up to `closeTimeoutMs`), then closes. Safe to
   * call twice.
   */
  close(): Promise<void>
}

/**
 * Starts a `node:http` server for a Web-standard handler.
 *
 * @param options - the handler, port, host and shutdown timeout.
 * @returns the running server, once it listens.
 * @throws SyncKitError `unavailable` when the port cannot be bound (in use, no permission).
 * @example
 * ```ts
 * import { createSyncHandler } from 'sync-kit/http'
 * import { serve } from 'sync-kit/http/node'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const server = await serve({
 *   handler: createSyncHandler({ store: createMemoryStore() }),
 *   host: '127.0.0.1',
 *   port: 0,
 * })
 * // … clients use createHttpTransport({ url: server.url })
 * await server.close()
 * ```
 */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const listener = createNodeListener(options.handler, options)
  const server = createServer(listener)
  const host = options.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(
        new SyncKitError(
          'unavailable',
          `${COMPONENT} could not listen on ${host}:${options.port ?? 0}: ${error.message}; pick another port or host`,
          {},
          { cause: error },
        ),
      )
    }
    server.once('error', onError)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  server.on('error', (error) => options.onError?.(error))
  const { port } = server.address() as AddressInfo
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host
  let closed: Promise<void> | undefined
  return {
    url: `http://${urlHost}:${port}`,
    port,
    server,
    close: () => {
      closed ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeIdleConnections()
        await options.handler.close?.()
        await listener.close(options.closeTimeoutMs ?? 10_000)
        server.closeIdleConnections()
        server.closeAllConnections()
        await stopped
      })()
      return closed
    },
  }
}

function toRequest(req: IncomingMessage, signal: AbortSignal): Request {
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
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        req.on('data', (chunk: Buffer) => {
          if (!open) return
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
          if ((controller.desiredSize ?? 0) <= 0) req.pause()
        })
        req.once('end', () => {
          if (open) controller.close()
          open = false
        })
        const fail = (error: Error): void => {
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
      },
      cancel() {
        // The handler stopped reading (e.g. 413): stop pulling bytes from the socket; the
        // connection is closed once the response is sent.
        open = false
        req.pause()
      },
    },
    { highWaterMark: 65_536, size: (chunk) => chunk.byteLength },
  )
  return new Request(url, { method, headers, body, signal, duplex: 'half' } as RequestInit)
}

function writeError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
  res.end(JSON.stringify({ error: { code, message } }))
}

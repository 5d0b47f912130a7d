/**
 * The Node.js adapter of the sync-kit HTTP server: runs a Web-standard handler (such as
 * `createSyncHandler` from `sync-kit/http`) on `node:http`, with streamed bodies in both
 * directions, backpressure, graceful shutdown that ends live streams, and the limits of the
 * connection itself (connections, header, request and body timeouts), every refusal logged.
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
 * @module sync-kit/http/node
 */
import { createServer } from 'node:http'
import type { IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { integerOption } from '../../core/options.js'
import { SyncKitError } from '../../errors/sync-kit-error.js'
import { COMPONENT, createNodeListener } from './node-listener.js'
import type { FetchHandler, NodeListenerOptions } from './node-listener.js'
import { answerRefusals } from './node-refusals.js'

export { DEFAULT_BODY_IDLE_TIMEOUT_MS, createNodeListener } from './node-listener.js'
export type { FetchHandler, NodeListener, NodeListenerOptions } from './node-listener.js'

/**
 * Default {@link ServeOptions.maxConnections}: 1000 open connections (each costs a file
 * descriptor and some memory even while idle): a live client holds about two (its stream, and
 * its pushes and pulls), so this serves the default 500 live streams of `createSyncHandler`.
 * @example
 * ```ts
 * import { serve, DEFAULT_MAX_CONNECTIONS } from 'sync-kit/http/node'
 * import { createSyncHandler } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * await serve({ handler: createSyncHandler({ store: createMemoryStore() }), maxConnections: 4 * DEFAULT_MAX_CONNECTIONS })
 * ```
 */
export const DEFAULT_MAX_CONNECTIONS = 1000
/**
 * Default {@link ServeOptions.headersTimeoutMs}: 10 000 ms (Node's own is 60 000): a client
 * sends its headers in one go, and a slowloris connection trickling them holds a connection
 * slot for at most this long.
 * @example
 * ```ts
 * import { serve, DEFAULT_HEADERS_TIMEOUT_MS } from 'sync-kit/http/node'
 * import { createSyncHandler } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * await serve({ handler: createSyncHandler({ store: createMemoryStore() }), headersTimeoutMs: 2 * DEFAULT_HEADERS_TIMEOUT_MS })
 * ```
 */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000
/**
 * Default {@link ServeOptions.requestTimeoutMs}: 60 000 ms (Node's own is 300 000), the longest
 * a request may take to arrive whole: a push of the largest body (4 MiB) over a 1 Mbit/s link
 * takes about 35 s.
 * @example
 * ```ts
 * import { serve, DEFAULT_REQUEST_TIMEOUT_MS } from 'sync-kit/http/node'
 * import { createSyncHandler } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * await serve({ handler: createSyncHandler({ store: createMemoryStore() }), requestTimeoutMs: 2 * DEFAULT_REQUEST_TIMEOUT_MS })
 * ```
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000
/**
 * What takes the server's `upgrade` requests, e.g. the WebSocket server of `sync-kit/ws/node`
 * (`createWebSocketServer`).
 * @example
 * ```ts
 * import type { UpgradeHandler } from 'sync-kit/http/node'
 *
 * const refuseAll: UpgradeHandler = { handleUpgrade: (_request, socket) => socket.destroy() }
 * ```
 */
export interface UpgradeHandler {
  /**
   * Takes one upgrade request (it owns the socket from then on).
   * @param request - the request.
   * @param socket - its socket.
   * @param head - the first bytes after the headers.
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void
  /** Ends its connections; awaited by the server's `close()`. */
  close?(): Promise<void>
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
  readonly handler: FetchHandler & {
    /** Called first by the server's `close()`: ends the handler's live streams (`SyncHandler.close`). */
    close?: () => Promise<void>
  }
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
  /**
   * Most connections open at once (`server.maxConnections`): Node closes a connection past it at
   * once, and the adapter logs it (503 `unavailable`). Bounds file descriptors and the memory of
   * idle connections.
   * @defaultValue 1000 ({@link DEFAULT_MAX_CONNECTIONS})
   */
  readonly maxConnections?: number
  /**
   * Longest time a client may take to send a request's headers, from its connection or its
   * previous request (`server.headersTimeout`); then 408 and the connection is closed.
   * @defaultValue 10 000 ({@link DEFAULT_HEADERS_TIMEOUT_MS})
   */
  readonly headersTimeoutMs?: number
  /**
   * Longest time a whole request (headers and body) may take to arrive
   * (`server.requestTimeout`); then 408 and the connection is closed. Does not limit responses:
   * a live stream stays open. At least `headersTimeoutMs`.
   * @defaultValue 60 000 ({@link DEFAULT_REQUEST_TIMEOUT_MS})
   */
  readonly requestTimeoutMs?: number
  /**
   * Takes the `upgrade` requests on the same port, e.g. `createWebSocketServer({ handler })` from
   * `sync-kit/ws/node`; its `close()` is awaited by the server's. Without one, Node closes upgrade
   * requests.
   * @defaultValue none
   */
  readonly upgrade?: UpgradeHandler
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
 * @param options - the handler, port, host, shutdown timeout, connection limits and logger.
 * @returns the running server, once it listens.
 * @throws SyncKitError `unavailable` when the port cannot be bound (in use, no permission);
 * `invalid-argument` for a bad limit.
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
  const name = 'http-node'
  const maxConnections = integerOption(
    options.maxConnections,
    DEFAULT_MAX_CONNECTIONS,
    'maxConnections',
    name,
  )
  const headersTimeout = integerOption(
    options.headersTimeoutMs,
    DEFAULT_HEADERS_TIMEOUT_MS,
    'headersTimeoutMs',
    name,
  )
  const requestTimeout = integerOption(
    options.requestTimeoutMs,
    Math.max(DEFAULT_REQUEST_TIMEOUT_MS, headersTimeout),
    'requestTimeoutMs',
    name,
  )
  if (requestTimeout < headersTimeout) {
    throw new SyncKitError(
      'invalid-argument',
      `${COMPONENT} option requestTimeoutMs (${requestTimeout}) must be at least headersTimeoutMs (${headersTimeout})`,
      { argument: 'requestTimeoutMs' },
    )
  }
  const listener = createNodeListener(options.handler, options)
  const server = createServer(
    {
      headersTimeout,
      requestTimeout,
      // Node checks both timeouts on this interval (30 s by default, which would let a slow
      // client keep its connection three times the header timeout).
      connectionsCheckingInterval: Math.min(1000, Math.ceil(headersTimeout / 4)),
    },
    listener,
  )
  server.maxConnections = maxConnections
  const { upgrade } = options
  if (upgrade !== undefined) {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) =>
      upgrade.handleUpgrade(request, socket, head),
    )
  }
  answerRefusals(server, options.logger, COMPONENT)
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
        await upgrade?.close?.()
        await listener.close(options.closeTimeoutMs ?? 10_000)
        server.closeIdleConnections()
        server.closeAllConnections()
        await stopped
      })()
      return closed
    },
  }
}

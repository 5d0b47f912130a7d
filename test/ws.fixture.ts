// Test helpers of the WebSocket transport (here, not in src/transports/ws/, because they start the
// HTTP adapter's serve() too, and adapters never import each other): a real `serve()` on 127.0.0.1 with the HTTP handler and
// the WebSocket server on the same port, and clients on the `ws` package's WebSocket (Node 20 has
// no global one).
import type { Socket } from 'node:net'
import { WebSocket } from 'ws'
import type { EventStore } from '../src/types/index.js'
import { createMemoryStore } from '../src/stores/memory/index.js'
import { serve } from '../src/transports/http/node.js'
import type { RunningServer } from '../src/transports/http/node.js'
import { createSyncHandler } from '../src/transports/http/sync-handler.js'
import type { SyncHandler, SyncHandlerOptions } from '../src/transports/http/sync-handler.js'
import { createWebSocketServer } from '../src/transports/ws/ws-server.js'
import type { WebSocketServerOptions, WebSocketSyncServer } from '../src/transports/ws/ws-server.js'
import { createWebSocketTransport } from '../src/transports/ws/ws-transport.js'
import type {
  WebSocketTransport,
  WebSocketTransportOptions,
} from '../src/transports/ws/ws-transport.js'

/** A server under test. */
export interface WsTestServer {
  readonly running: RunningServer
  readonly handler: SyncHandler
  readonly ws: WebSocketSyncServer
  readonly store: EventStore
  /** `ws://127.0.0.1:<port>`. */
  readonly url: string
  /** `http://127.0.0.1:<port>`. */
  readonly httpUrl: string
  /** Destroys every open TCP connection, as a network failure would. */
  killConnections(): void
  close(): Promise<void>
}

/**
 * Starts the HTTP handler and the WebSocket server on one `serve()` on 127.0.0.1.
 * @param options - handler and WebSocket server options, the store, the port.
 * @returns the server.
 */
export async function startWsServer(
  options: {
    handler?: Partial<SyncHandlerOptions>
    ws?: Partial<WebSocketServerOptions>
    store?: EventStore
    /** The port to listen on (a restarted server's). @defaultValue 0: any free port */
    port?: number
  } = {},
): Promise<WsTestServer> {
  const store = options.store ?? createMemoryStore()
  const handler = createSyncHandler({ store, ...options.handler })
  const ws = createWebSocketServer({ handler, ...options.ws })
  const running = await serve({
    handler,
    upgrade: ws,
    host: '127.0.0.1',
    port: options.port ?? 0,
    closeTimeoutMs: 2000,
  })
  const sockets = new Set<Socket>()
  running.server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  return {
    running,
    handler,
    ws,
    store,
    url: running.url.replace(/^http:/, 'ws:'),
    httpUrl: running.url,
    killConnections: () => {
      for (const socket of sockets) socket.destroy()
    },
    close: () => running.close(),
  }
}

/**
 * A client on the `ws` package's WebSocket, quick to retry.
 * @param url - the server's URL.
 * @param options - more client options.
 * @returns the transport.
 */
export function wsClient(
  url: string,
  options: Partial<WebSocketTransportOptions> = {},
): WebSocketTransport {
  return createWebSocketTransport({
    url,
    WebSocket,
    retry: { retries: 5, initialMs: 10, maxMs: 50 },
    timeoutMs: 5000,
    ...options,
  })
}

/**
 * The sync-kit WebSocket transport, server side, on Node with the `ws` package (an optional peer
 * dependency): `createWebSocketServer`, attached to the same `node:http` server as the HTTP
 * handler (`serve({ handler, upgrade })` of `sync-kit/http/node`), mapping every message onto the
 * handler's server core.
 *
 * @example
 * ```ts
 * import { createSyncHandler } from 'sync-kit/http'
 * import { serve } from 'sync-kit/http/node'
 * import { createWebSocketServer } from 'sync-kit/ws/node'
 * import { createMemoryStore } from 'sync-kit'
 *
 * const handler = createSyncHandler({ store: createMemoryStore() })
 * const server = await serve({ handler, upgrade: createWebSocketServer({ handler }), port: 8787 })
 * process.on('SIGTERM', () => void server.close())
 * ```
 *
 * @packageDocumentation
 * @module sync-kit/ws/node
 */
export {
  DEFAULT_HELLO_TIMEOUT_MS,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_SUBSCRIPTIONS,
  createWebSocketServer,
} from './ws-server.js'
export type { WebSocketServerOptions, WebSocketSyncServer } from './ws-server.js'

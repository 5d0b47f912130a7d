/**
 * The sync-kit WebSocket transport, client side: `createWebSocketTransport`, a `Transport` on the
 * standard `WebSocket` (browsers, Node ≥ 22, Deno, Bun; on Node 20 pass the `ws` package's
 * `WebSocket`), speaking the message protocol of `docs/protocol.md` ("WebSocket") to the server
 * of `sync-kit/ws/node`. No Node built-ins and no `ws` import: it bundles for browsers.
 *
 * @example
 * ```ts
 * import { createWebSocketTransport } from 'sync-kit/ws'
 * import { SyncManager, createMemoryStore, liveMode } from 'sync-kit'
 *
 * const transport = createWebSocketTransport({ url: 'wss://sync.example.com' })
 * const manager = new SyncManager({
 *   store: createMemoryStore(),
 *   transport,
 *   nodeId: 'laptop',
 *   features: [liveMode()],
 * })
 * manager.start()
 * ```
 *
 * @packageDocumentation
 * @module sync-kit/ws
 */
export { DEFAULT_WS_TIMEOUT_MS, createWebSocketTransport } from './ws-transport.js'
export type {
  WebSocketConstructor,
  WebSocketTransport,
  WebSocketTransportOptions,
  WsHeaders,
} from './ws-transport.js'
export { WS_CLOSE, WS_PATH, WS_PROTOCOL_VERSION, WS_SUBPROTOCOL } from './protocol.js'
export type { RequestId, WsLimits } from './protocol.js'
export type { RetryOptions } from '../../core/retry.js'
export type { RemoteClientOptions } from '../../core/client-calls.js'

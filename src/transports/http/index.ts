/**
 * The sync-kit HTTP transport: the server as a Web-standard handler (`createSyncHandler`) and the
 * client (`createHttpTransport`), speaking the wire protocol of `docs/protocol.md`. No Node
 * built-ins: runs in browsers, workers, Deno, Bun and Node 20+. For `node:http`, see
 * `sync-kit/http/node`.
 *
 * @example
 * ```ts
 * import { createSyncHandler, createHttpTransport } from 'sync-kit/http'
 * import { createMemoryStore } from 'sync-kit'
 *
 * // server (e.g. Bun, Deno, a worker): export default { fetch: handler }
 * const handler = createSyncHandler({ store: createMemoryStore() })
 *
 * // client
 * const transport = createHttpTransport({ url: 'https://sync.example.com' })
 * ```
 *
 * @packageDocumentation
 * @module sync-kit/http
 */
export {
  CORS_ALLOWED_HEADERS,
  CORS_EXPOSED_HEADERS,
  DEFAULT_BODY_BUDGET_WAIT_MS,
  DEFAULT_CORS_MAX_AGE_SECONDS,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MAX_BATCH_EVENTS,
  DEFAULT_MAX_BUFFERED_BODY_BYTES,
  DEFAULT_MAX_STREAMS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  DEFAULT_MAX_PAGE_LIMIT,
  DEFAULT_MAX_EVENT_BYTES,
  DEFAULT_MAX_PAGE_BYTES,
  DEFAULT_PAGE_LIMIT,
  DEFAULT_SERVER_MAX_DRIFT_MS,
  createSyncHandler,
} from './sync-handler.js'
export type { CorsOptions, SyncHandler, SyncHandlerOptions } from './sync-handler.js'
export type { AllowedOrigins } from '../../server/origins.js'
export {
  DEFAULT_GZIP_THRESHOLD_BYTES,
  DEFAULT_STREAM_IDLE_TIMEOUT_MS,
  DEFAULT_TIMEOUT_MS,
  createHttpTransport,
} from './http-transport.js'
export type { HttpHeaders, HttpTransport, HttpTransportOptions } from './http-transport.js'
export { DEFAULT_RETRY } from './retry.js'
export type { RetryOptions } from './retry.js'
export type { RemoteClientOptions } from '../../core/client-calls.js'
export { createJsonLineLogger } from './logger.js'
export type { SyncLogEntry, SyncLogger } from './logger.js'
export { PROTOCOL_PREFIX, SERVER_EPOCH_CHECKPOINT_REMOTE } from './protocol.js'
export type { WireErrorBody } from './protocol.js'

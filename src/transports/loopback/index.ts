/**
 * The loopback transport: an in-process sync hub that clients connect to. Its fault-injecting
 * twin for tests, `createTestHub`, ships in `sync-kit/testing` (see `./testing.ts`).
 *
 * @example
 * ```ts
 * import { createLoopbackHub } from 'sync-kit'
 *
 * const hub = createLoopbackHub()
 * const a = hub.connect('a')
 * ```
 *
 * @module
 */
export { createLoopbackHub } from './loopback-hub.js'
export { DEFAULT_LOOPBACK_PAGE_LIMIT } from './loopback-hub-api.js'
export type { LoopbackHub, LoopbackHubOptions } from './loopback-hub-api.js'
export type { LoopbackTransport } from './loopback-transport.js'

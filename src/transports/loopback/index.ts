/**
 * The loopback transport: an in-process sync hub that clients connect to, with latency and fault
 * injection for deterministic tests.
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
export type { LoopbackCall, LoopbackHub, LoopbackHubOptions } from './loopback-hub-api.js'
export type { FailNextOptions, LoopbackFaults, LoopbackOp } from './faults.js'
export type {
  LoopbackCallInfo,
  LoopbackConnectOptions,
  LoopbackLatency,
  LoopbackTransport,
} from './loopback-transport.js'

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
export { DEFAULT_LOOPBACK_PAGE_LIMIT, createLoopbackHub } from './loopback-hub.js'
export type { LoopbackCall, LoopbackHub, LoopbackHubOptions } from './loopback-hub.js'
export type { FailNextOptions, LoopbackFaults, LoopbackOp } from './faults.js'
export type {
  LoopbackCallInfo,
  LoopbackConnectOptions,
  LoopbackLatency,
  LoopbackTransport,
} from './loopback-transport.js'

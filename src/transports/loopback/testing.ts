/**
 * The loopback transport's test half, re-exported by `sync-kit/testing`: `createTestHub`, a
 * loopback hub with latency, a call record and fault injection, and its types.
 *
 * @example
 * ```ts
 * import { createTestHub } from 'sync-kit/testing'
 *
 * const hub = createTestHub()
 * hub.client('a').failNext(1, { afterStore: true })
 * ```
 *
 * @module
 */
export { createTestHub } from './test-hub.js'
export type {
  LoopbackCall,
  LoopbackCallInfo,
  LoopbackConnectOptions,
  LoopbackLatency,
  TestHub,
  TestHubOptions,
} from './test-hub-api.js'
export type { FailNextOptions, LoopbackFaults } from './faults.js'
export type { LoopbackOp } from './loopback-transport.js'

/**
 * Test helpers for sync-kit users and adapter authors: runner-agnostic conformance suites for
 * event stores and transports, a manual {@link TestClock}, and `createTestHub`, the loopback hub
 * with latency, a call record and fault injection (failed calls, lost acknowledgements, offline
 * clients, partitions, dropped / duplicated / reordered deliveries).
 *
 * @example
 * ```ts
 * import { TestClock, createTestHub } from 'sync-kit/testing'
 * ```
 *
 * @packageDocumentation
 * @module sync-kit/testing
 */
export { TestClock } from './test-clock.js'
export * from './transport-conformance.js'
export * from './event-store-conformance.js'
export * from '../transports/loopback/testing.js'

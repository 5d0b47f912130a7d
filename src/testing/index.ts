/**
 * Test helpers for sync-kit users and adapter authors: runner-agnostic conformance suites for
 * event stores and transports, and a manual {@link TestClock}.
 *
 * @example
 * ```ts
 * import { TestClock } from 'sync-kit/testing'
 * ```
 *
 * @packageDocumentation
 */
export { TestClock } from './test-clock.js'
export * from './transport-conformance.js'
export * from './event-store-conformance.js'

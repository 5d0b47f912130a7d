/**
 * What every benchmark section gets: the mode, the trace, sizes and sampling for the mode, and a
 * progress logger.
 *
 * @module
 */
import type { SequentialTrace } from '../examples/traces/trace-file.js'
import type { SamplingOptions, SkippedContender, ContenderKind } from './harness.js'

/** Sizes and sampling of one run mode. */
export interface BenchPlan {
  /** `full` (`npm run bench`) or `quick` (`npm run bench -- --quick`, the smoke run). */
  readonly mode: 'full' | 'quick'
  /** Events of the whole-trace operations (the trace has 259,778). */
  readonly traceEvents: number
  /** Events of the end-to-end syncs over loopback and HTTP. */
  readonly e2eEvents: number
  /** Events a peer whose writes are O(log size) per event (logux) is measured on. */
  readonly quadraticCap: number
  /** Log sizes of the scaling section. */
  readonly scalingSizes: readonly number[]
  /** Sampling of whole-log operations. */
  readonly macro: SamplingOptions
  /** Sampling of single-call operations (one page, one aggregate). */
  readonly micro: SamplingOptions
}

/** The full run: the whole trace, five samples per whole-log operation. */
export const FULL_PLAN: BenchPlan = {
  mode: 'full',
  traceEvents: 259_778,
  e2eEvents: 259_778,
  quadraticCap: 10_000,
  scalingSizes: [10_000, 100_000, 1_000_000],
  macro: { mode: 'macro', rounds: 5, warmups: 1 },
  micro: { mode: 'micro', rounds: 5, warmups: 50, microTimeMs: 200 },
}

/** The smoke run: small logs, two samples; checks that everything runs, not how fast. */
export const QUICK_PLAN: BenchPlan = {
  mode: 'quick',
  traceEvents: 3_000,
  e2eEvents: 1_500,
  quadraticCap: 1_000,
  scalingSizes: [2_000, 4_000],
  macro: { mode: 'macro', rounds: 2, warmups: 1, gc: false },
  micro: { mode: 'micro', rounds: 2, warmups: 5, microTimeMs: 10, gc: false },
}

/** Handed to every section. */
export interface BenchContext {
  /** Sizes and sampling. */
  readonly plan: BenchPlan
  /** The automerge-paper trace. */
  readonly trace: SequentialTrace
  /** A scratch directory for database files, removed at the end. */
  readonly tmpDir: string
  /** Progress lines (stderr). */
  readonly log: (line: string) => void
}

/**
 * A contender listed but not measured, with the reason.
 * @param name - display name.
 * @param kind - sync-kit, baseline or peer.
 * @param reason - why it is not measured.
 * @returns the skipped contender.
 * @example
 * ```ts
 * import { skipped } from './context.js'
 *
 * skipped('logux 0.12.1', 'peer', 'no offset query')
 * ```
 */
export function skipped(name: string, kind: ContenderKind, reason: string): SkippedContender {
  return { name, kind, notMeasured: reason }
}

/**
 * Formats an event count for operation names: `259,778`.
 * @param n - the count.
 * @returns the count with thousands separators.
 * @example
 * ```ts
 * import { count } from './context.js'
 *
 * count(10_000) // '10,000'
 * ```
 */
export function count(n: number): string {
  return n.toLocaleString('en-US')
}

/**
 * Summary statistics of benchmark samples: the median and its spread, and the ratio of two
 * medians. Medians, not means: on a shared machine a few samples are hit by another process and
 * the mean follows them, the median does not.
 *
 * @module
 */

/** Median and spread of one contender's samples, in the samples' unit (ms unless stated). */
export interface SampleStats {
  /** Number of samples. */
  readonly samples: number
  /** The median sample. */
  readonly median: number
  /**
   * Median absolute deviation from the median (unscaled): half the samples lie within
   * `median ± mad`.
   */
  readonly mad: number
  /** The smallest sample. */
  readonly min: number
  /** The largest sample. */
  readonly max: number
}

/**
 * Median of a list of numbers (the mean of the two middle values for an even count).
 * @param values - the numbers, in any order; not changed.
 * @returns the median.
 * @throws Error when `values` is empty.
 * @example
 * ```ts
 * import { median } from './stats.js'
 *
 * median([3, 1, 2]) // 2
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('[sync-kit] [bench] median of no samples')
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/**
 * Summarises samples: median, median absolute deviation, min and max.
 * @param values - the samples; at least one.
 * @returns the summary.
 * @throws Error when `values` is empty.
 * @example
 * ```ts
 * import { summarize } from './stats.js'
 *
 * summarize([10, 12, 11, 30]).median // 11.5
 * ```
 */
export function summarize(values: readonly number[]): SampleStats {
  const mid = median(values)
  // A loop, not Math.min(...values): micro benchmarks collect more samples than the call stack
  // takes arguments.
  let min = Infinity
  let max = -Infinity
  for (const value of values) {
    if (value < min) min = value
    if (value > max) max = value
  }
  return {
    samples: values.length,
    median: mid,
    mad: median(values.map((value) => Math.abs(value - mid))),
    min,
    max,
  }
}

/**
 * How much faster sync-kit is than another contender: the other's median time divided by
 * sync-kit's. Above 1, sync-kit is faster; 0.5 means it takes twice as long.
 * @param syncKit - sync-kit's summary.
 * @param other - the baseline's or peer's summary, of the same operation on the same events.
 * @returns the ratio, or `undefined` when sync-kit's median is 0 (too fast for the timer).
 * @example
 * ```ts
 * import { ratio, summarize } from './stats.js'
 *
 * ratio(summarize([2]), summarize([1])) // 0.5: sync-kit takes twice the baseline's time
 * ```
 */
export function ratio(syncKit: SampleStats, other: SampleStats): number | undefined {
  return syncKit.median > 0 ? other.median / syncKit.median : undefined
}

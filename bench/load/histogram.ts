/**
 * A latency histogram with logarithmic buckets (1 % wide), mergeable across worker processes:
 * a 100-client run takes millions of delivery samples, which are counted into buckets instead of
 * being kept. Percentiles are read as the upper bound of the bucket that holds the rank, so a
 * reported figure is at most 1 % above the true sample and never below it (capped at the largest
 * sample, which is kept exactly, as are the count, the sum and the smallest sample).
 *
 * @module
 */

/** Width of a bucket: each bucket's upper bound is 1 % above the one below. */
const GROWTH = 1.01
const LOG_GROWTH = Math.log(GROWTH)
/** Upper bound of bucket 0, in ms: everything at or below 1 µs lands there. */
const FLOOR_MS = 0.001

/** A histogram as plain data (what workers send to the parent). */
export interface HistogramData {
  /** Sample count per bucket index (only non-empty buckets). */
  readonly buckets: Readonly<Record<number, number>>
  /** Number of samples. */
  readonly n: number
  /** Sum of the samples, ms. */
  readonly sum: number
  /** Smallest sample, ms (`Infinity` when empty). */
  readonly min: number
  /** Largest sample, ms (`-Infinity` when empty). */
  readonly max: number
}

/** Percentiles of a histogram, in ms, rounded to 0.01 ms; `null` fields when it is empty. */
export interface LatencySummary {
  /** Number of samples. */
  readonly n: number
  /** Median (nearest rank, bucket upper bound). */
  readonly p50: number | null
  /** 99th percentile (nearest rank, bucket upper bound). */
  readonly p99: number | null
  /** Largest sample, exact. */
  readonly max: number | null
  /** Arithmetic mean, exact. */
  readonly mean: number | null
}

/** Counts latency samples into 1 % buckets. */
export class Histogram {
  readonly #buckets = new Map<number, number>()
  #n = 0
  #sum = 0
  #min = Infinity
  #max = -Infinity

  /**
   * Builds a histogram from data (e.g. merged worker reports).
   * @param parts - histograms as data; all are added up.
   * @returns the merged histogram.
   */
  static merge(parts: Iterable<HistogramData>): Histogram {
    const merged = new Histogram()
    for (const part of parts) merged.addData(part)
    return merged
  }

  /** Number of samples. */
  get n(): number {
    return this.#n
  }

  /**
   * Adds one sample.
   * @param ms - the sample, ms; a negative one (clocks of two processes a hair apart) counts as 0.
   */
  record(ms: number): void {
    if (!Number.isFinite(ms)) return
    const value = Math.max(0, ms)
    const index = value <= FLOOR_MS ? 0 : Math.ceil(Math.log(value / FLOOR_MS) / LOG_GROWTH)
    this.#buckets.set(index, (this.#buckets.get(index) ?? 0) + 1)
    this.#n++
    this.#sum += value
    if (value < this.#min) this.#min = value
    if (value > this.#max) this.#max = value
  }

  /**
   * Adds another histogram's samples.
   * @param data - the other histogram, as data.
   */
  addData(data: HistogramData): void {
    for (const [key, count] of Object.entries(data.buckets)) {
      const index = Number(key)
      this.#buckets.set(index, (this.#buckets.get(index) ?? 0) + count)
    }
    this.#n += data.n
    this.#sum += data.sum
    this.#min = Math.min(this.#min, data.min)
    this.#max = Math.max(this.#max, data.max)
  }

  /**
   * The sample at a rank, as its bucket's upper bound (capped at the largest sample).
   * @param p - the quantile, in (0, 1].
   * @returns the value in ms, or `null` when there are no samples.
   */
  quantile(p: number): number | null {
    if (this.#n === 0) return null
    const rank = Math.max(1, Math.ceil(p * this.#n))
    let seen = 0
    for (const index of [...this.#buckets.keys()].sort((a, b) => a - b)) {
      seen += this.#buckets.get(index) ?? 0
      if (seen >= rank) return Math.min(this.#max, FLOOR_MS * GROWTH ** index)
    }
    return this.#max
  }

  /** @returns the histogram as plain data. */
  toData(): HistogramData {
    return {
      buckets: Object.fromEntries(this.#buckets),
      n: this.#n,
      sum: this.#sum,
      min: this.#min,
      max: this.#max,
    }
  }

  /** @returns count, p50, p99, max and mean, rounded to 0.01 ms. */
  summary(): LatencySummary {
    const round = (ms: number | null): number | null =>
      ms === null ? null : Math.round(ms * 100) / 100
    return {
      n: this.#n,
      p50: round(this.quantile(0.5)),
      p99: round(this.quantile(0.99)),
      max: round(this.#n === 0 ? null : this.#max),
      mean: round(this.#n === 0 ? null : this.#sum / this.#n),
    }
  }
}

/**
 * What the remote is known to hold: the causal dots (`metadata.origin` and its counter
 * `causal[origin]`) of the events pulled from it, as sorted counter intervals per origin, for one
 * epoch of the remote. The push pass skips an event whose dot the remote holds — it came from
 * there, and sending it back would be an echo — so a replica pushes what it recorded, and what it
 * got elsewhere (another remote, a resolver), never what it pulled from this remote.
 *
 * Why skipping is safe (never an event the remote may lack):
 * - a dot is added only for an event this remote sent, in the epoch it sent it in;
 * - the record is for that epoch only: under another epoch (the remote was wiped or replaced) it
 *   says nothing, and it is cleared when the remote regressed within its epoch (a restored
 *   backup); a checkpoint taken past skipped events is tagged with the same epoch, so it goes stale
 *   with it and everything is sent again;
 * - dots name one event each as long as every replica has a node id of its own (the `nodeId`
 *   rule). An own event pulled back is recorded only when the store already held that very event,
 *   so a replica whose id was reused (a restored store) still pushes what it records;
 * - events without a dot (merge events, events written by other tools) are always pushed: the
 *   remote dedups them by id.
 *
 * Kept with `setState` under `sync-kit:holds:<remote>` as `[epoch, [[origin, [lo, hi, …]], …]]`,
 * written once per pulled page (after the page and its checkpoint, so a crash in between only
 * costs duplicates); in memory only when the store has no state.
 *
 * @module
 */
import { causalContextOf } from '../causality/causal-context.js'
import type { Event, JsonValue } from '../types/index.js'
import { loadState, saveState } from './manager-state.js'
import type { SyncContext } from './sync-options.js'

type Saved = [string | null, [string, number[]][]]

/** The dots a remote is known to hold, by origin, for one of its epochs. */
export class RemoteHolds {
  readonly #ctx: SyncContext
  #epoch: string | null = null
  /** Origin → `[lo, hi, lo, hi, …]`: disjoint, sorted, never adjacent. */
  #dots: Map<string, number[]> | undefined
  /**
   * The ids of the events added since this manager started (same epoch): the push pass meets
   * every pulled event once, and an id is cheaper to look up than the event's dot is to read
   * (its whole causal context). Ids are unique in the store, so the same id is the same event.
   */
  #ids = new Set<string>()

  /** @param ctx - the store and the remote's name. */
  constructor(ctx: SyncContext) {
    this.#ctx = ctx
  }

  /** The epoch the record is for, `undefined` when none (or the remote has no epochs). */
  get epoch(): string | undefined {
    return this.#epoch ?? undefined
  }

  /**
   * Reads the record once per manager.
   * @param signal - cancels.
   */
  async load(signal: AbortSignal | undefined): Promise<void> {
    if (this.#dots !== undefined) return
    const [epoch, dots] = ((await loadState(this.#ctx, 'holds', signal)) ?? [null, []]) as Saved
    this.#epoch = epoch
    this.#dots ??= new Map(dots.map(([origin, ranges]) => [origin, [...ranges]]))
  }

  /**
   * Tells whether the remote holds an event (after {@link RemoteHolds.load}).
   * @param event - a local event.
   * @param epoch - the remote's epoch the caller acts in (`undefined` when it has none).
   * @returns true when the event's dot was pulled from the remote in that epoch.
   */
  has(event: Event, epoch: string | undefined): boolean {
    if ((epoch ?? null) !== this.#epoch) return false
    if (this.#ids.has(event.id)) return true
    const dot = causalContextOf(event)
    if (dot === undefined) return false
    const ranges = this.#dots?.get(dot.origin) ?? []
    for (let i = 0; i < ranges.length && (ranges[i] as number) <= dot.seq; i += 2) {
      if (dot.seq <= (ranges[i + 1] as number)) return true
    }
    return false
  }

  /**
   * Records events pulled from the remote and saves the record.
   * @param events - the pulled events the store holds now.
   * @param epoch - the epoch of the page; another than the record's starts a new record.
   * @param signal - cancels.
   * @param save - false to keep the record in memory until the next add that saves (live
   * batches: a save per batch would cost more than the batch; a crash meanwhile costs only
   * duplicates, sent again and deduplicated by the remote).
   */
  add(
    events: readonly Event[],
    epoch: string | undefined,
    signal: AbortSignal | undefined,
    save = true,
  ): Promise<void> {
    if ((epoch ?? null) !== this.#epoch) {
      this.#dots = undefined
      this.#ids = new Set()
    }
    this.#epoch = epoch ?? null
    const dots = (this.#dots ??= new Map())
    for (const event of events) {
      const dot = causalContextOf(event)
      if (dot === undefined) continue
      this.#ids.add(event.id)
      let ranges = dots.get(dot.origin)
      if (ranges === undefined) dots.set(dot.origin, (ranges = []))
      addDot(ranges, dot.seq)
    }
    return save ? this.#save(signal) : Promise.resolve()
  }

  /**
   * Forgets everything: the remote regressed and may lack any of it.
   * @param signal - cancels.
   */
  reset(signal: AbortSignal | undefined): Promise<void> {
    this.#dots = new Map()
    this.#ids = new Set()
    return this.#save(signal)
  }

  #save(signal: AbortSignal | undefined): Promise<void> {
    const saved: Saved = [this.#epoch, [...(this.#dots ?? [])]]
    return saveState(this.#ctx, 'holds', saved as JsonValue, signal)
  }
}

/**
 * Adds `n` to sorted, disjoint, non-adjacent intervals `[lo, hi, …]`, merging neighbours.
 * @param ranges - the intervals, changed in place.
 * @param n - a positive counter.
 */
export function addDot(ranges: number[], n: number): void {
  let i = 0
  while (i < ranges.length && (ranges[i + 1] as number) < n - 1) i += 2
  if (i === ranges.length || (ranges[i] as number) > n + 1) {
    ranges.splice(i, 0, n, n)
    return
  }
  ranges[i] = Math.min(ranges[i] as number, n)
  const hi = (ranges[i + 1] = Math.max(ranges[i + 1] as number, n))
  // Now adjacent to the next interval: one interval.
  if ((ranges[i + 2] ?? Infinity) <= hi + 1) ranges.splice(i + 1, 2)
}

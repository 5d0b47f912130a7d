/**
 * The manager's causal state: its hybrid logical clock, the vector clock of everything it has seen,
 * and the heads (latest concurrent events) of each aggregate — rebuilt from the local store once
 * per manager, kept up to date with every event stored since, and used to stamp local events and
 * to find the heads a newly stored event is concurrent with (its conflicts).
 *
 * Seams: the HLC's start (today: after the last stamps in the store, see `#scan`) is where clocks
 * monotonic across restarts go; {@link CausalTracker.stamp} is where causal contexts get a bound.
 *
 * @module
 */
import { type CausalContext, causalContextOf } from '../causality/causal-context.js'
import { relate } from '../causality/event-relation.js'
import { signalOptions } from '../errors/abort.js'
import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import type { Event, EventWithVersion, Version } from '../types/index.js'
import { Hlc, HybridLogicalClock } from '../versions/hlc.js'
import { VectorClock } from '../versions/vector-clock.js'
import type { SyncContext } from './sync-options.js'

/** Events per page of the start-up scan of the local store. */
const INIT_PAGE = 1_000

/** One of an aggregate's latest events, with its parsed causal context. */
export interface Head {
  readonly ctx: CausalContext
  readonly ewv: EventWithVersion
}

/** The stamps of a new local event, as `metadata.hlc` and `metadata.causal` strings. */
export interface LocalStamps {
  readonly hlc: string
  readonly causal: string
}

/** The HLC, the seen vector clock and the aggregate heads of one manager. */
export class CausalTracker {
  readonly #ctx: SyncContext
  #hlc: HybridLogicalClock | undefined
  #seen: VectorClock = VectorClock.EMPTY
  readonly #heads = new Map<string, Head[]>()
  #initializing: Promise<void> | undefined
  #nodeIdReuseReported = false

  /** @param ctx - the node id, store, clock and drift bound; `clock-drift` is emitted there. */
  constructor(ctx: SyncContext) {
    this.#ctx = ctx
  }

  /**
   * Rebuilds the clocks and heads from the local store, once per manager (again after a failure).
   * @param signal - cancels the scan.
   * @returns when the state covers the whole store.
   */
  init(signal: AbortSignal | undefined): Promise<void> {
    this.#initializing ??= this.#scan(signal).catch((error: unknown) => {
      this.#initializing = undefined
      throw error
    })
    return this.#initializing
  }

  /**
   * Stamps a new local event: the next HLC stamp and the seen clock with this replica's next dot.
   * The dot counts as used only when `build` returns (a refused input does not use one).
   * @param build - makes (and checks) the event from the stamps; may throw.
   * @returns what `build` returned.
   * @throws SyncKitError `internal` before `init`, `clock-overflow`, and whatever `build` throws.
   */
  stamp<TEvent>(build: (stamps: LocalStamps) => TEvent): TEvent {
    const hlc = this.#requireHlc().now()
    const seen = this.#seen.increment(this.#ctx.nodeId)
    const event = build({ hlc: hlc.toString(), causal: seen.toString() })
    this.#seen = seen
    return event
  }

  /**
   * Takes a newly stored event into account: merges its context into the seen clock and updates
   * its aggregate's heads.
   * @param stored - the event and its local version.
   * @returns the heads the event is concurrent with (its conflicts).
   */
  observe(stored: EventWithVersion): Head[] {
    const ctx = causalContextOf(stored.event)
    if (ctx === undefined) return []
    this.#seen = this.#seen.merge(ctx.clock)
    const aggregateId = stored.event.aggregateId
    const heads = this.#heads.get(aggregateId)
    if (heads === undefined) {
      this.#heads.set(aggregateId, [{ ctx, ewv: stored }])
      return []
    }
    const next: Head[] = []
    const concurrent: Head[] = []
    let superseded = false
    for (const head of heads) {
      const relation = relate(head.ctx, ctx)
      if (relation === 'before') continue
      next.push(head)
      if (relation === 'concurrent') concurrent.push(head)
      else superseded = true
    }
    if (!superseded) next.push({ ctx, ewv: stored })
    this.#heads.set(aggregateId, next)
    return concurrent
  }

  /**
   * Moves the HLC past a received event's stamp, unless the stamp is beyond the drift bound: then
   * the event is kept (logs converge) but quarantined from the clock, and `clock-drift` is emitted.
   * @param event - a pulled event.
   */
  receiveStamp(event: Event): void {
    const stamp = parseStamp(event.metadata?.hlc)
    if (stamp === undefined) return
    try {
      this.#requireHlc().receive(stamp)
    } catch (error) {
      if (!isSyncKitError(error, 'clock-drift')) throw error
      this.#ctx.events.emit('clock-drift', { event, error })
    }
  }

  /**
   * Tells whether a stored event carries a dot this replica has not taken into account yet
   * (neither the event nor anything that followed it was observed).
   * @param event - an event the store already held.
   * @returns true when it still needs {@link CausalTracker.observe}.
   */
  isUnobserved(event: Event): boolean {
    if (event.metadata?.origin === this.#ctx.nodeId) return false
    const ctx = causalContextOf(event)
    return ctx !== undefined && this.#seen.get(ctx.origin) < ctx.seq
  }

  /**
   * A new event pulled under this replica's own node id: the store was wiped or restored from a
   * backup, or another replica uses the same id. Events recorded before this pull may share
   * causal dots with older events (which then look equal, hiding conflicts). Observing the pulled
   * events catches the clock up, so later records are safe; report it once.
   * @param event - a pulled event new to the store, with this replica's node id as origin.
   */
  reportNodeIdReuse(event: Event): void {
    if (this.#nodeIdReuseReported) return
    this.#nodeIdReuseReported = true
    const { nodeId, events } = this.#ctx
    events.emit(
      'error',
      new SyncKitError(
        'invalid-argument',
        `[sync-manager] pulled event "${event.id.slice(0, 64)}" was recorded under this replica's node id "${nodeId}" but is not in its store: the store was wiped or restored, or another replica uses the same node id; give every replica, and every wiped store, a node id of its own`,
        { argument: 'nodeId' },
      ),
    )
  }

  async #scan(signal: AbortSignal | undefined): Promise<void> {
    const { nodeId, clock, maxDriftMs, store } = this.#ctx
    const options = { nodeId, clock, ...(maxDriftMs !== undefined ? { maxDriftMs } : {}) }
    // Received stamps go through the receive rule and its drift bound; our own stamps are restored
    // unconditionally, so stamps never go backwards even if the wall clock stepped back since.
    const receiver = new HybridLogicalClock(options)
    let ownLast: Hlc | undefined
    let since: Version | null = null
    for (;;) {
      const page = await store.load(since, { limit: INIT_PAGE, ...signalOptions(signal) })
      for (const stored of page) {
        this.observe(stored)
        const stamp = parseStamp(stored.event.metadata?.hlc)
        if (stamp === undefined) continue
        if (stamp.nodeId === nodeId) {
          if (ownLast === undefined || stamp.compare(ownLast) > 0) ownLast = stamp
        } else {
          try {
            receiver.receive(stamp)
          } catch {
            // Beyond the drift bound: quarantined, as when it was first received.
          }
        }
      }
      if (page.length < INIT_PAGE) break
      since = (page[page.length - 1] as EventWithVersion).version
    }
    const last =
      ownLast !== undefined && ownLast.compare(receiver.last) > 0 ? ownLast : receiver.last
    this.#hlc = new HybridLogicalClock({ ...options, last })
  }

  #requireHlc(): HybridLogicalClock {
    if (this.#hlc === undefined) throw new SyncKitError('internal', 'HLC used before init', {})
    return this.#hlc
  }
}

function parseStamp(raw: unknown): Hlc | undefined {
  if (typeof raw !== 'string') return undefined
  try {
    return Hlc.parse(raw)
  } catch {
    return undefined
  }
}

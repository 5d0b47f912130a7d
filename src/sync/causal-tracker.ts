/**
 * The manager's causal state: its hybrid logical clock, the vector clock of everything it has seen,
 * and the heads (latest concurrent events) of each aggregate — rebuilt from the local store once
 * per manager, kept up to date with every event stored since, and used to stamp local events and
 * to find the heads a newly stored event is concurrent with (its conflicts).
 *
 * Two rules of docs/causality.md live here. Rule 3, monotonic stamps across restarts: the HLC
 * after received stamps moved it is kept in the store's optional state ({@link persist}), and the
 * start-up scan continues after it and after the replica's own last stamp. Rule 4, bounded causal
 * contexts: the seen clock has no bound, but a context written into an event keeps at most
 * {@link DEFAULT_CONTEXT_ENTRIES} entries — its own, the writers of the aggregate's heads and the
 * writers those heads had seen, then the most recently advanced writers — so many writers cost
 * precision (more conflicts), never availability.
 *
 * @module
 */
import { causalContextOf, causalContextSpans, withFoldCache } from '../causality/causal-context.js'
import { dotRelation } from '../causality/event-relation.js'
import { compareStamps, hlcOf } from '../projections/event-order.js'
import { signalOptions } from '../errors/abort.js'
import { SyncKitError, isSyncKitError } from '../errors/sync-kit-error.js'
import type { Event, EventWithVersion, Version } from '../types/index.js'
import { StampClock, isHlcStamp } from '../versions/hlc-stamp.js'
import { type ClockMap, type ClockSpans, writeClock } from '../versions/clock-map.js'
import { NodeSlots } from './node-slots.js'
import type { SyncContext } from './sync-options.js'

/** Events per page of the start-up scan of the local store. */
const INIT_PAGE = 1_000

/**
 * Key, in the store's optional state (`getState`/`setState`), of the HLC stamp a replica reached
 * by merging received stamps: restored at start-up, so no later stamp sorts below one it merged.
 */
export const MERGED_STAMP_KEY = 'sync-kit:hlc'

/**
 * Most entries of a causal context the manager writes: 512. Half of `MAX_VECTOR_CLOCK_ENTRIES`, so
 * the join of two contexts (a merge event's) still parses everywhere; at ~20 bytes an entry, a
 * full context is ~10 KB.
 */
export const DEFAULT_CONTEXT_ENTRIES = 512

/**
 * Internal `SyncManager` options the tracker reads (the manager's options are spread into its
 * context): not part of the public option type, so that tests can shrink the bound.
 */
export interface CausalTrackerOptions {
  /**
   * Most entries of a causal context this replica writes: an integer from 1 to
   * `MAX_VECTOR_CLOCK_ENTRIES` (not checked: tests only).
   * @defaultValue {@link DEFAULT_CONTEXT_ENTRIES}
   */
  readonly maxContextEntries?: number
}

/** One of an aggregate's latest events, with its causal context and its HLC stamp. */
export interface Head {
  /** The slot of its writer (`metadata.origin`). */
  readonly slot: number
  /** Its dot's counter: `causal[origin]`. */
  readonly seq: number
  /** Its causal context (the parsed clock the event keeps). */
  readonly clock: ClockMap
  readonly ewv: EventWithVersion
  /** `hlcOf(ewv.event)`, read once. */
  readonly hlc: string | undefined
}

/** The stamps of a new local event, as `metadata.hlc` and `metadata.causal` strings. */
export interface LocalStamps {
  readonly hlc: string
  readonly causal: string
}

/** The HLC, the seen vector clock and the aggregate heads of one manager. */
export class CausalTracker {
  readonly #ctx: SyncContext
  readonly #bound: number
  #hlc: StampClock | undefined
  /** The node ids met, as slots. */
  readonly #nodes = new NodeSlots()
  /**
   * What this replica has seen: count by slot (0: none), unbounded (not a `VectorClock`, whose
   * entry bound would stop the replica).
   */
  readonly #seen: number[] = []
  /** When each slot's count last grew (a tick of `#tick`): the recency bounded contexts keep. */
  readonly #grown: number[] = []
  #tick = 0
  /** Slots with a count. */
  #known = 0
  /** Scratch for reading one context (the observed one, or a head's): slot, count, slot, count, … */
  readonly #pairs: number[] = []
  /** Scratch: the entries of the context being read, as `scanClock` gives them. */
  readonly #spans: ClockSpans = []
  /**
   * Scratch: the counts of the context being observed, by slot (0 elsewhere, reset after), so
   * relating it to each head is one array read with no array made per event.
   */
  readonly #counts: number[] = []
  /** Each aggregate's heads, in `compareStamps` order (HLC, then id; oldest first). */
  readonly #heads = new Map<string, Head[]>()
  /**
   * Where a manager whose store others write to too (`sharedReplica()`) catches up from: set by
   * the start-up scan to the start of its last page (re-observing a page changes nothing).
   */
  cursor: Version | null | undefined
  #initializing: Promise<void> | undefined
  #nodeIdReuseReported = false
  /** A received stamp moved the HLC since it was last saved. */
  #unsaved = false

  /** @param ctx - the node id, store, clock and drift bound; `clock-drift` is emitted there. */
  constructor(ctx: SyncContext) {
    this.#ctx = ctx
    this.#bound =
      (ctx as SyncContext & CausalTrackerOptions).maxContextEntries ?? DEFAULT_CONTEXT_ENTRIES
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
   * Stamps a new local event: the next HLC stamp and a causal context with this replica's next
   * dot. The context is the whole seen clock while that, with this replica's own entry, has at
   * most `maxContextEntries` entries; past it, this replica's own entry, then those of the
   * writers of `aggregateId`'s heads (newest first), of the writers those heads had seen, and of
   * the writers whose counts grew most recently, up to the bound (rule 4 of docs/causality.md).
   * Entries are dropped, never lowered or raised, so a context never claims more than the writer
   * had seen. The dot counts as used only when `build` returns.
   * @param build - makes (and checks) the event from the stamps; may throw.
   * @param aggregateId - the aggregate the event changes, whose heads' writers the context keeps.
   * @returns what `build` returned.
   * @throws SyncKitError `internal` before `init`, `clock-overflow`, and whatever `build` throws.
   */
  stamp<TEvent>(build: (stamps: LocalStamps) => TEvent, aggregateId?: string): TEvent {
    const hlc = this.#requireHlc().now()
    const seen = this.#seen
    const me = this.#nodes.slotOf(this.#ctx.nodeId)
    const seq = (seen[me] ?? 0) + 1
    const context = new Map([[me, seq]])
    const keep = (slot: number): void => {
      if (context.size < this.#bound && !context.has(slot) && (seen[slot] ?? 0) > 0) {
        context.set(slot, seen[slot] as number)
      }
    }
    if (this.#known < this.#bound) {
      // The whole seen clock fits (the common case): nothing to choose.
      seen.forEach((_, slot) => keep(slot))
    } else {
      // Most recently grown first.
      const recent = [...seen.keys()].sort((a, b) => (this.#grown[b] ?? 0) - (this.#grown[a] ?? 0))
      const heads = this.#heads.get(aggregateId as string) ?? []
      const pairs = this.#pairs
      // The writers the heads had seen (by slot), read from their clocks' texts: iterating a
      // clock would build a map of its entries for the event's parsed stamps to hold on to (the
      // memory store keeps those events).
      const named: boolean[] = []
      // The heads' writers, newest first.
      for (let i = heads.length; i-- > 0;) {
        const head = heads[i] as Head
        keep(head.slot)
        const n = this.#nodes.read(head.clock.text, pairs, this.#spans)
        for (let j = 0; j < 2 * n; j += 2) named[pairs[j] as number] = true
      }
      // Then the writers the heads had seen, so that the edit still follows what they followed
      // (e.g. a delete a head re-created the aggregate after), then anyone, most recent first.
      recent.filter((slot) => named[slot]).forEach(keep)
      recent.forEach(keep)
    }
    const names = this.#nodes.names
    const event = build({
      hlc,
      causal: writeClock([...context].map(([slot, count]) => [names[slot] as string, count])),
    })
    this.#raise(me, seq)
    return event
  }

  /**
   * Takes a newly stored event into account: merges its context into the seen clock and updates
   * its aggregate's heads.
   *
   * The event meets the aggregate's causal frontier once: every head is related to it (one dot
   * comparison each; one array read while the seen clock does not count the event's dot, which
   * is then unseen by every head — the common case of a pulled event), and of the heads it is
   * concurrent with only the newest by `compareEvents` (HLC, then id: the one the aggregate's
   * state shows where they overlap; the heads are kept in that order) is its conflict. So
   * the conflict work per stored event is bounded — one decision, whatever the number of
   * concurrent writers — where a conflict per concurrent head would grow with writers ×
   * events (docs/causality.md, "The conflict rule").
   * @param stored - the event and its local version.
   * @returns the newest head the event is concurrent with (its conflict), if any.
   */
  observe(stored: EventWithVersion): Head | undefined {
    const pairs = this.#pairs
    const spans = this.#spans
    const nodes = this.#nodes
    // Its entries are read while the context is parsed (one walk), or after, when it was parsed
    // before.
    const ctx = causalContextSpans(stored.event, spans)
    if (ctx === undefined) return undefined
    const { text, size } = ctx.clock
    if (spans[0] === -1) nodes.read(text, pairs, spans)
    else nodes.pairsOf(text, spans, size, pairs)
    const end = 2 * size
    const slot = nodes.peek(ctx.origin) as number
    const { seq } = ctx
    // Every observed context was merged into the seen clock: while it does not count this dot, no
    // head (each observed) had seen the event, nor is it one of them.
    const unseen = (this.#seen[slot] ?? 0) < seq
    for (let i = 0; i < end; i += 2) this.#raise(pairs[i] as number, pairs[i + 1] as number)
    const aggregateId = stored.event.aggregateId
    const heads = this.#heads.get(aggregateId)
    const head: Head = { slot, seq, clock: ctx.clock, ewv: stored, hlc: hlcOf(stored.event) }
    if (heads === undefined) {
      this.#heads.set(aggregateId, [head])
      return undefined
    }
    const counts = this.#counts
    while (counts.length < nodes.size) counts.push(0)
    for (let i = 0; i < end; i += 2) counts[pairs[i] as number] = pairs[i + 1] as number
    // Compacted in place, in their order (by `compareStamps`, oldest first): the heads it
    // supersedes drop out, so the last concurrent one kept is the newest.
    let kept = 0
    let newest: Head | undefined
    let superseded = false
    for (const other of heads) {
      const relation = dotRelation(
        !unseen && other.slot === slot && other.seq === seq,
        (counts[other.slot] as number) >= other.seq,
        !unseen && (other.clock.get(ctx.origin) ?? 0) >= seq,
      )
      if (relation === 'before') continue
      heads[kept++] = other
      if (relation === 'concurrent') newest = other
      else superseded = true
    }
    heads.length = kept
    for (let i = 0; i < end; i += 2) counts[pairs[i] as number] = 0
    if (superseded) return newest
    // Where `compareStamps` puts it: mostly at the end, as events mostly arrive in stamp order.
    let at = kept
    heads.push(head)
    for (let x: Head; at > 0; heads[at--] = x) {
      x = heads[at - 1] as Head
      if (compareStamps(x.hlc, x.ewv.event.id, head.hlc, head.ewv.event.id) <= 0) break
    }
    heads[at] = head
    return newest
  }

  /**
   * Moves the HLC past a received event's stamp, unless the stamp is beyond the drift bound: then
   * the event is kept (logs converge) but quarantined from the clock, and `clock-drift` is emitted.
   * @param event - a pulled event.
   */
  receiveStamp(event: Event): void {
    const stamp = event.metadata?.hlc
    if (!isHlcStamp(stamp)) return
    try {
      this.#requireHlc().receive(stamp)
      this.#unsaved = true
    } catch (error) {
      if (!isSyncKitError(error, 'clock-drift')) throw error
      this.#ctx.events.emit('clock-drift', { event, error })
    }
  }

  /**
   * Saves the HLC in the store's optional state after received stamps moved it — one write per
   * call at most (the pull pass calls it once per page), none when nothing was received or the
   * store has no `setState` (what a restart then restores is said at the start-up scan, `#scan`).
   * @param signal - cancels the write.
   * @throws whatever the store throws.
   */
  async persist(signal: AbortSignal | undefined): Promise<void> {
    if (!this.#unsaved) return
    const stamp = this.#requireHlc().last
    await this.#ctx.store.setState?.(MERGED_STAMP_KEY, stamp, signalOptions(signal))
    this.#unsaved = false
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
    if (ctx === undefined) return false
    const slot = this.#nodes.peek(ctx.origin)
    return (this.#seen[slot as number] ?? 0) < ctx.seq
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
        `[sync-manager] pulled event "${event.id.slice(0, 64)}" has this replica's node id "${nodeId}" but is not in its store: give each replica (and wiped store) its own node id`,
        { argument: 'nodeId' },
      ),
    )
  }

  /**
   * The start-up scan: observes every stored event, then starts the HLC after the greatest of the
   * replica's own last stamp in the log (always: stamps never go backwards, whatever the wall
   * clock did), the stamp saved by {@link CausalTracker.persist}, and the received stamps in the
   * log that pass the drift bound against the current wall clock. The saved stamp is what makes
   * stamps monotonic across a restart with the clock stepped back; a store without
   * `getState`/`setState` has only the last two, so after such a restart a stamp received after
   * the replica's last own event and now beyond the drift bound is not restored (the replica's
   * causally later edits still win, by rule 1).
   */
  async #scan(signal: AbortSignal | undefined): Promise<void> {
    const { nodeId, clock, maxDriftMs, store } = this.#ctx
    const options = { nodeId, clock, maxDriftMs }
    const receiver = new StampClock(options)
    const saved = await store.getState?.(MERGED_STAMP_KEY, signalOptions(signal))
    // Stamp texts compare as the stamps do.
    let last = isHlcStamp(saved) ? saved : receiver.last
    let since: Version | null = null
    for (;;) {
      const page = await store.load(since, { limit: INIT_PAGE, ...signalOptions(signal) })
      // The store's own copies: their parsed contexts are not kept beside them (heads keep theirs).
      withFoldCache(() => {
        for (const stored of page) {
          this.observe(stored)
          const stamp = stored.event.metadata?.hlc
          if (!isHlcStamp(stamp)) continue
          // The node id follows the 12 + 4 hex digits and their two dashes.
          if (stamp.slice(18) === nodeId) {
            if (stamp > last) last = stamp
          } else {
            try {
              receiver.receive(stamp)
            } catch {
              // Beyond the drift bound: quarantined, as when it was first received.
            }
          }
        }
      })
      if (page.length < INIT_PAGE) break
      since = (page[page.length - 1] as EventWithVersion).version
    }
    this.cursor = since
    if (receiver.last > last) last = receiver.last
    this.#hlc = new StampClock({ ...options, last })
  }

  /** Raises a seen count, making the slot the most recently grown. */
  #raise(slot: number, count: number): void {
    const seen = this.#seen
    const was = seen[slot] ?? 0
    if (count <= was) return
    if (was === 0) this.#known++
    // Filled up to the slot, so the arrays stay packed.
    while (seen.length <= slot) {
      seen.push(0)
      this.#grown.push(0)
    }
    seen[slot] = count
    this.#grown[slot] = ++this.#tick
  }

  #requireHlc(): StampClock {
    if (this.#hlc === undefined) throw new SyncKitError('internal', 'HLC used before init', {})
    return this.#hlc
  }
}

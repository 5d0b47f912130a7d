/**
 * `npm run demo -- --trace <concurrent trace>`: replays a concurrent editing trace (a causal DAG of
 * txns written by several agents at once) with one sync-kit replica per agent, exactly as the
 * original session happened, and proves on the events sync-kit recorded that its causal relation
 * equals the trace's.
 *
 * @example
 * ```ts
 * import { runConcurrentReplay } from './traces/concurrent-replay.js'
 * import { bundledTracePath } from './traces/trace-file.js'
 *
 * const result = await runConcurrentReplay({
 *   trace: bundledTracePath('concurrent-friendsforever.json.gz'),
 * })
 * console.log(result.relationMismatches, result.causalOrderViolations, result.converged)
 * ```
 *
 * @module
 */
import { basename } from 'node:path'

import { type CausalContext, causalContextOf, relate } from 'sync-kit/adapter'
import {
  SyncKitError,
  SyncManager,
  createLoopbackHub,
  createMemoryStore,
  type Event,
  type EventStore,
  type EventWithVersion,
  type Version,
} from 'sync-kit'
import { type ConcurrentTrace, type Trace, loadTrace } from './trace-file.js'

/**
 * Default window of the exhaustive check: unbounded, i.e. every pair of events (340 M pairs for
 * the 26 078 txns of concurrent-friendsforever, about 7 s of CPU).
 */
export const DEFAULT_RELATION_WINDOW: number = Number.MAX_SAFE_INTEGER
/**
 * Uniformly sampled event pairs checked on top of a window that does not cover every pair:
 * 1 000 000 (with a window covering every pair, sampling adds nothing and defaults to 0).
 */
export const DEFAULT_SAMPLED_PAIRS = 1_000_000
/** Default seed of the pair sampler (any 32-bit integer; printed in the result). */
export const DEFAULT_SAMPLE_SEED = 20_240_601
/** The aggregate id every replayed txn event belongs to. */
export const CONCURRENT_DOCUMENT_ID = 'doc'
/** The event type of one replayed txn. */
export const CONCURRENT_TXN_EVENT_TYPE = 'txn'
/** Most mismatch / violation descriptions kept in the result (the counts are always complete). */
const MAX_EXAMPLES = 5
/** Page size when a replica's store is loaded back. */
const LOAD_PAGE = 5_000
/** A progress line is reported every this many percent of the txns. */
const PROGRESS_STEP_PERCENT = 10

/**
 * The trace's ground truth: each txn's vector clock over the parents DAG.
 *
 * `clock(i)[a]` is how many txns of agent `a` are ancestors of txn `i` or `i` itself. Because one
 * agent's txns are totally ordered (checked by {@link dagClocks}), txn `x` (of agent `A`, its
 * `seq(x)`-th txn) is an ancestor of `y` exactly when `clock(y)[A] ≥ seq(x)`.
 */
export interface DagClocks {
  /** Number of txns. */
  readonly size: number
  /** Number of agents (the vector clocks' width). */
  readonly numAgents: number
  /** Each txn's agent. */
  readonly agent: Int32Array
  /** Each txn's 1-based position in its agent's history. */
  readonly seq: Int32Array
  /** The vector clocks, `numAgents` entries per txn, txn by txn. */
  readonly clocks: Int32Array
}

/** A causal relation between two txns, from `a`'s point of view. */
export type TxnRelation = 'before' | 'after' | 'equal' | 'concurrent'

/**
 * Computes every txn's vector clock from the trace's parents: `clock(i) = max over parents p of
 * clock(p)`, plus one for `i`'s agent (Fidge/Mattern vector clocks over a DAG).
 *
 * Also checks the property that makes the clock test exact: each txn of agent A follows A's
 * previous txn (its parents' clocks already count all earlier txns of A).
 * @param trace - a concurrent trace (parents always point to earlier txns).
 * @returns the clocks.
 * @throws SyncKitError `invalid-argument` (details `{ argument: 'trace' }`) when an agent's txns
 * are not totally ordered, naming the first txn that breaks it.
 * @example
 * ```ts
 * import { dagClocks, dagRelation } from './traces/concurrent-replay.js'
 *
 * const dag = dagClocks(trace)
 * dagRelation(dag, 3, 7) // 'before' | 'concurrent'
 * ```
 */
export function dagClocks(trace: ConcurrentTrace): DagClocks {
  const k = trace.numAgents
  const n = trace.txns.length
  const clocks = new Int32Array(n * k)
  const agent = new Int32Array(n)
  const seq = new Int32Array(n)
  const written = new Int32Array(k)
  for (let i = 0; i < n; i++) {
    const txn = trace.txns[i] as ConcurrentTrace['txns'][number]
    const base = i * k
    for (const p of txn.parents) {
      const from = p * k
      for (let a = 0; a < k; a++) {
        const count = clocks[from + a] as number
        if (count > (clocks[base + a] as number)) clocks[base + a] = count
      }
    }
    const a = txn.agent
    if (clocks[base + a] !== written[a]) {
      throw new SyncKitError(
        'invalid-argument',
        `[sync-kit] [trace-demo] txns[${i}] of agent ${a} does not follow that agent's previous txn ` +
          `(its parents have seen ${clocks[base + a]} of the agent's ${written[a]} earlier txns); ` +
          'a concurrent trace must order each agent’s txns totally',
        { argument: 'trace' },
      )
    }
    const s = (written[a] as number) + 1
    written[a] = s
    clocks[base + a] = s
    agent[i] = a
    seq[i] = s
  }
  return { size: n, numAgents: k, agent, seq, clocks }
}

/**
 * Whether txn `a` is a (strict) ancestor of txn `b` in the parents DAG.
 * @param dag - the clocks from {@link dagClocks}.
 * @param a - a txn index.
 * @param b - another txn index.
 * @returns true when `b` causally follows `a`.
 * @example
 * ```ts
 * import { dagClocks, isAncestor } from './traces/concurrent-replay.js'
 *
 * isAncestor(dagClocks(trace), 0, 1) // true for a chain 0 ← 1
 * ```
 */
export function isAncestor(dag: DagClocks, a: number, b: number): boolean {
  if (a === b) return false
  return (
    (dag.clocks[b * dag.numAgents + (dag.agent[a] as number)] as number) >= (dag.seq[a] as number)
  )
}

/**
 * The DAG's causal relation of two txns: the ground truth sync-kit must reproduce.
 * @param dag - the clocks from {@link dagClocks}.
 * @param a - a txn index.
 * @param b - another txn index.
 * @returns `before` (a is an ancestor of b), `after`, `equal` (a = b) or `concurrent`.
 * @example
 * ```ts
 * import { dagClocks, dagRelation } from './traces/concurrent-replay.js'
 *
 * dagRelation(dagClocks(trace), 5, 5) // 'equal'
 * ```
 */
export function dagRelation(dag: DagClocks, a: number, b: number): TxnRelation {
  if (a === b) return 'equal'
  if (isAncestor(dag, a, b)) return 'before'
  if (isAncestor(dag, b, a)) return 'after'
  return 'concurrent'
}

/**
 * A seeded pseudo-random generator of floats in [0, 1): Mulberry32 (Tommy Ettinger, 2017, public
 * domain), 32 bits of state — ample for drawing pair indexes, and identical on every platform.
 * @param seed - any integer; only its low 32 bits are used.
 * @returns the generator.
 * @example
 * ```ts
 * import { mulberry32 } from './traces/concurrent-replay.js'
 *
 * const random = mulberry32(42)
 * random() // the same number on every run
 * ```
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** How the event pairs were chosen for the relation check (printed in the JSON line). */
export interface RelationSampling {
  /** True when the window covered every pair of events: no sampling was needed. */
  readonly allPairs: boolean
  /**
   * Every event was checked against each of the `window` events before it (by txn index), the
   * option clipped to `events − 1`.
   */
  readonly window: number
  /** Pairs checked by the window. */
  readonly windowPairs: number
  /** Pairs of distinct events drawn uniformly at random (with replacement) on top of the window. */
  readonly sampledPairs: number
  /** The sampler: {@link mulberry32}. */
  readonly prng: 'mulberry32'
  /** The sampler's seed. */
  readonly seed: number
}

/** Options of the checks ({@link checkRecordedEvents}). */
export interface RelationCheckOptions {
  /**
   * Window of the exhaustive check, ≥ 0: each event is compared with the `window` events before
   * it. Concurrency lives close together (in concurrent-friendsforever no two concurrent txns are
   * more than 110 txns apart), so a window of a few thousand covers every concurrent pair.
   * @defaultValue {@link DEFAULT_RELATION_WINDOW} (every pair)
   */
  readonly window?: number
  /**
   * Uniformly sampled pairs, ≥ 0, checked on top of the window.
   * @defaultValue 0 when the window covers every pair, else {@link DEFAULT_SAMPLED_PAIRS}
   */
  readonly sampledPairs?: number
  /** Seed of the sampler. @defaultValue {@link DEFAULT_SAMPLE_SEED} */
  readonly seed?: number
}

/** What {@link checkRecordedEvents} found. */
export interface RecordedEventsCheck {
  /** Pairs whose causal relation was compared (window pairs + sampled pairs). */
  readonly pairsChecked: number
  /** Pairs where sync-kit's relation differs from the DAG's. */
  readonly relationMismatches: number
  /** Events stored before (or without) one of their parents, summed over replicas. */
  readonly causalOrderViolations: number
  /** Every replica holds exactly one identical copy of one event per txn. */
  readonly converged: boolean
  /** How the pairs were chosen. */
  readonly sampling: RelationSampling
  /** Up to five human-readable examples of what went wrong. */
  readonly problems: readonly string[]
}

/** Options for {@link runConcurrentReplay}. */
export interface ConcurrentReplayOptions extends RelationCheckOptions {
  /** A trace file path (gzipped or plain JSON), or a trace already loaded. Must be concurrent. */
  readonly trace: string | Trace
  /** Names the trace in the result when `trace` is an object. @defaultValue `'inline'` */
  readonly traceName?: string
  /** Receives human-readable progress lines (the CLI writes them to stderr). */
  readonly onProgress?: (line: string) => void
}

/** The outcome of {@link runConcurrentReplay}. */
export interface ConcurrentReplayResult extends RecordedEventsCheck {
  /** The trace's file name (or `traceName`). */
  readonly trace: string
  /** Events written: one per txn. */
  readonly events: number
  /** Replicas: one per agent. */
  readonly replicas: number
  /** `conflict` events the replicas' `SyncManager`s emitted, summed. */
  readonly conflictsDetected: number
  /**
   * Events a replica pulled that were not ancestors of the txn it was about to write (possible
   * only with more than two agents: a pull can bring events pushed for a third agent's needs).
   * Non-zero means the replay could not reproduce the session exactly; the run fails.
   */
  readonly unexpectedPulls: number
  /** True when nothing failed: no mismatch, no violation, no unexpected pull, and converged. */
  readonly passed: boolean
  /** Wall time of the replay and the checks (not the trace loading), in ms. */
  readonly ms: number
}

interface Replica {
  readonly nodeId: string
  readonly store: EventStore
  readonly manager: SyncManager
  /** `held[i]` is 1 once txn i's event is in this replica's store. */
  readonly held: Uint8Array
  /** The store version up to which `held` is up to date. */
  seenUpTo: Version | null
}

/**
 * Replays a concurrent trace with one replica per agent and checks sync-kit's causality against
 * the trace's parents DAG.
 *
 * Replica `g` (a memory store, a loopback-hub connection and a `SyncManager` with node id
 * `agent-g`) writes agent g's txns, in trace order, as events `txn-i` (`type: 'txn'`, aggregate
 * `doc`, `data: { i, patches }`). Before writing txn i it must hold exactly i's ancestors, as the
 * author did: for each parent p written by another agent h that g does not hold yet, h pushes its
 * log up to p (`sync({ only: 'push', pushUntil })`) and g pulls (`sync({ only: 'pull' })`). One
 * agent's txns are totally ordered, so everything h stored before p is an ancestor of p — g sees
 * no more than i's ancestors. (With three or more agents a pull may also bring events pushed for
 * another agent; they are counted in `unexpectedPulls` and fail the run.) After a final full sync
 * of every replica, {@link checkRecordedEvents} checks the stored events.
 *
 * @param options - the trace, the check's window/sample/seed, and a progress callback.
 * @returns the counts; `passed` is false (not an error) when a check fails.
 * @throws SyncKitError `invalid-argument` for a bad option, an unreadable, malformed or sequential
 * trace, or one whose agents' txns are not totally ordered (details `{ argument: 'trace' }` for
 * trace problems); sync errors propagate as thrown by the `SyncManager`.
 * @example
 * ```ts
 * import { runConcurrentReplay } from './traces/concurrent-replay.js'
 *
 * const { passed, pairsChecked } = await runConcurrentReplay({ trace: 'my-trace.json.gz' })
 * ```
 */
export async function runConcurrentReplay(
  options: ConcurrentReplayOptions,
): Promise<ConcurrentReplayResult> {
  checkRelationOptions(options) // fail on a bad option before the long replay
  const report = options.onProgress ?? ((): void => undefined)
  const loaded = typeof options.trace === 'string' ? await loadTrace(options.trace) : options.trace
  const traceName =
    typeof options.trace === 'string' ? basename(options.trace) : (options.traceName ?? 'inline')
  const trace = requireConcurrent(loaded, traceName)
  const dag = dagClocks(trace)
  const total = trace.txns.length

  const started = performance.now()
  const hub = createLoopbackHub()
  const replicas: Replica[] = []
  let conflictsDetected = 0
  let unexpectedPulls = 0
  const problems: string[] = []
  for (let g = 0; g < trace.numAgents; g++) {
    const nodeId = `agent-${g}`
    const store = createMemoryStore()
    const manager = new SyncManager({ store, transport: hub.connect(nodeId), nodeId })
    manager.on('conflict', () => {
      conflictsDetected++
    })
    replicas.push({ nodeId, store, manager, held: new Uint8Array(total), seenUpTo: null })
  }
  report(
    `[trace-demo] replaying concurrent ${traceName}: ${total} txns, ${trace.numAgents} agents, one replica each`,
  )

  /** Marks what `replica` newly stored; counts events that are not ancestors of txn `next`. */
  const absorb = async (replica: Replica, next: number): Promise<void> => {
    for (const item of await loadAll(replica.store, replica.seenUpTo)) {
      replica.seenUpTo = item.version
      const index = txnIndexOf(item.event, total)
      if (index === undefined) {
        unexpectedPulls++
        note(problems, `${replica.nodeId} pulled "${item.event.id}", which is not a txn event`)
        continue
      }
      replica.held[index] = 1
      if (!isAncestor(dag, index, next)) {
        unexpectedPulls++
        note(
          problems,
          `${replica.nodeId} pulled txn ${index} before writing txn ${next}, which does not follow it`,
        )
      }
    }
  }

  const versions: (Version | undefined)[] = new Array<Version | undefined>(total)
  let nextProgress = PROGRESS_STEP_PERCENT
  try {
    for (let i = 0; i < total; i++) {
      const txn = trace.txns[i] as ConcurrentTrace['txns'][number]
      const writer = replicas[txn.agent] as Replica
      for (const p of txn.parents) {
        if (writer.held[p] === 1) continue
        const owner = replicas[dag.agent[p] as number] as Replica
        const version = versions[p]
        if (owner === writer || version === undefined) {
          throw new SyncKitError(
            'internal',
            `[sync-kit] [trace-demo] txn ${i}: parent ${p} is missing at its own writer`,
            {},
          )
        }
        await owner.manager.sync({ only: 'push', pushUntil: version })
        await writer.manager.sync({ only: 'pull' })
        await absorb(writer, i)
        if (writer.held[p] !== 1) {
          throw new SyncKitError(
            'internal',
            `[sync-kit] [trace-demo] txn ${i}: ${writer.nodeId} did not receive parent ${p} after ${owner.nodeId} pushed it`,
            {},
          )
        }
      }
      const recorded = await writer.manager.record({
        id: `txn-${i}`,
        type: CONCURRENT_TXN_EVENT_TYPE,
        aggregateId: CONCURRENT_DOCUMENT_ID,
        data: { i, patches: txn.patches },
      })
      versions[i] = recorded.version
      writer.held[i] = 1
      writer.seenUpTo = recorded.version
      const percent = ((i + 1) / total) * 100
      if (percent >= nextProgress || i + 1 === total) {
        report(
          `[trace-demo] ${percent.toFixed(0).padStart(3)}%  ${i + 1}/${total} events, ${conflictsDetected} conflicts, ${seconds(performance.now() - started)}`,
        )
        nextProgress = (Math.floor(percent / PROGRESS_STEP_PERCENT) + 1) * PROGRESS_STEP_PERCENT
      }
    }

    // Two full rounds: after the first, every event is at the hub; the second hands it to all.
    report('[trace-demo] final full sync of every replica')
    for (let round = 0; round < 2; round++) {
      for (const replica of replicas) await replica.manager.sync()
    }

    report('[trace-demo] checking the recorded events against the parents DAG')
    const logs: EventWithVersion[][] = []
    for (const replica of replicas) logs.push(await loadAll(replica.store, null))
    const check = checkRecordedEvents(trace, dag, logs, options)
    problems.push(...check.problems.slice(0, Math.max(0, MAX_EXAMPLES - problems.length)))
    const ms = Math.round(performance.now() - started)
    for (const problem of problems) report(`[trace-demo] ${problem}`)
    return {
      ...check,
      problems,
      trace: traceName,
      events: total,
      replicas: replicas.length,
      conflictsDetected,
      unexpectedPulls,
      passed:
        check.relationMismatches === 0 &&
        check.causalOrderViolations === 0 &&
        check.converged &&
        unexpectedPulls === 0,
      ms,
    }
  } finally {
    for (const replica of replicas) await replica.manager.close()
    await hub.close()
  }
}

/**
 * Checks the events sync-kit recorded against the trace's parents DAG:
 *
 * - **relation**: for every pair of txns `a < b` with `b − a ≤ window`, and for `sampledPairs`
 *   pairs of distinct txns drawn uniformly (with replacement) by {@link mulberry32}, sync-kit's
 *   `relate` (the relation behind `causalRelation`) on the stored events' causal contexts must
 *   equal {@link dagRelation}. The events are read from the first replica's log (convergence
 *   checks that the others hold identical copies).
 * - **causal order**: in each replica's log (store order), every event comes after all its parents.
 * - **convergence**: every replica holds exactly one event `txn-i` per txn, identical everywhere.
 *
 * @param trace - the concurrent trace.
 * @param dag - its clocks from {@link dagClocks}.
 * @param logs - each replica's whole log, in store order.
 * @param options - window, sample size and seed.
 * @returns the counts, the sampling used, and up to five examples of failures.
 * @throws SyncKitError `invalid-argument` for a negative or non-integer window, sample size or
 * seed.
 * @example
 * ```ts
 * import { checkRecordedEvents, dagClocks } from './traces/concurrent-replay.js'
 *
 * const check = checkRecordedEvents(trace, dagClocks(trace), [logA, logB], { window: 100 })
 * ```
 */
export function checkRecordedEvents(
  trace: ConcurrentTrace,
  dag: DagClocks,
  logs: readonly (readonly EventWithVersion[])[],
  options: RelationCheckOptions = {},
): RecordedEventsCheck {
  const { window: requested, sampledPairs: sampleOption, seed } = checkRelationOptions(options)
  const total = trace.txns.length
  const window = Math.min(requested, Math.max(0, total - 1))
  const allPairs = window >= total - 1
  const sampledPairs = sampleOption ?? (allPairs ? 0 : DEFAULT_SAMPLED_PAIRS)
  const problems: string[] = []

  // Convergence: one identical copy of every txn event in every log, nothing else.
  const copies = logs.map((log) => indexLog(log, total))
  let converged = logs.length > 0
  copies.forEach((copy, r) => {
    if (copy.extra > 0 || copy.held !== total) {
      converged = false
      note(
        problems,
        `replica ${r} holds ${copy.held} of ${total} txn events and ${copy.extra} other or duplicate events`,
      )
    }
  })
  const reference = copies[0]
  if (reference !== undefined) {
    for (let r = 1; r < copies.length; r++) {
      const copy = copies[r] as LogIndex
      for (let i = 0; i < total; i++) {
        const mine = copy.events[i]
        const theirs = reference.events[i]
        if (mine !== undefined && theirs !== undefined && !sameEvent(mine, theirs)) {
          converged = false
          note(problems, `replicas 0 and ${r} hold different copies of txn ${i}`)
        }
      }
    }
  }

  // Causal order of each log: every event after its parents.
  let causalOrderViolations = 0
  copies.forEach((copy, r) => {
    for (let i = 0; i < total; i++) {
      const at = copy.position[i] as number
      if (at < 0) continue
      for (const p of (trace.txns[i] as ConcurrentTrace['txns'][number]).parents) {
        const parentAt = copy.position[p] as number
        if (parentAt < 0 || parentAt > at) {
          causalOrderViolations++
          note(
            problems,
            parentAt < 0
              ? `replica ${r} holds txn ${i} without its parent ${p}`
              : `replica ${r} stores txn ${i} (position ${at}) before its parent ${p} (position ${parentAt})`,
          )
        }
      }
    }
  })

  // Relation of pairs, on the first replica's copies (any replica's when it lacks one).
  const contexts: (CausalContext | undefined)[] = new Array<CausalContext | undefined>(total)
  for (let i = 0; i < total; i++) {
    const event = copies.map((c) => c.events[i]).find((e) => e !== undefined)
    contexts[i] = event === undefined ? undefined : causalContextOf(event)
  }
  let relationMismatches = 0
  const compare = (a: number, b: number): void => {
    const x = contexts[a]
    const y = contexts[b]
    const actual = x === undefined || y === undefined ? 'unknown' : relate(x, y)
    const expected = dagRelation(dag, a, b)
    if (actual !== expected) {
      relationMismatches++
      note(
        problems,
        `txn ${a} vs txn ${b}: sync-kit says ${actual}, the parents DAG says ${expected}`,
      )
    }
  }
  let windowPairs = 0
  for (let b = 1; b < total; b++) {
    for (let a = Math.max(0, b - window); a < b; a++) compare(a, b)
    windowPairs += b - Math.max(0, b - window)
  }
  const random = mulberry32(seed)
  const drawn = total < 2 ? 0 : sampledPairs
  for (let s = 0; s < drawn; s++) {
    const a = Math.floor(random() * total)
    let b = Math.floor(random() * (total - 1))
    if (b >= a) b++
    compare(a, b)
  }

  return {
    pairsChecked: windowPairs + drawn,
    relationMismatches,
    causalOrderViolations,
    converged,
    sampling: { allPairs, window, windowPairs, sampledPairs: drawn, prng: 'mulberry32', seed },
    problems,
  }
}

interface LogIndex {
  /** The event of txn i, when the log holds it. */
  readonly events: (Event | undefined)[]
  /** The position of txn i in the log, or -1. */
  readonly position: Int32Array
  /** How many distinct txn events the log holds. */
  readonly held: number
  /** Events that are not txn events of this trace, or second copies. */
  readonly extra: number
}

function indexLog(log: readonly EventWithVersion[], total: number): LogIndex {
  const events = new Array<Event | undefined>(total)
  const position = new Int32Array(total).fill(-1)
  let held = 0
  let extra = 0
  log.forEach((item, at) => {
    const index = txnIndexOf(item.event, total)
    if (index === undefined || events[index] !== undefined) {
      extra++
      return
    }
    events[index] = item.event
    position[index] = at
    held++
  })
  return { events, position, held, extra }
}

/** The txn index of a replayed event (`txn-i` with `data.i === i`), else undefined. */
function txnIndexOf(event: Event, total: number): number | undefined {
  const match = /^txn-(0|[1-9][0-9]*)$/.exec(event.id)
  if (match === null || event.type !== CONCURRENT_TXN_EVENT_TYPE) return undefined
  const index = Number(match[1])
  const data = event.data as { readonly i?: unknown } | null
  if (index >= total || typeof data !== 'object' || data === null || data.i !== index) {
    return undefined
  }
  return index
}

function sameEvent(a: Event, b: Event): boolean {
  return (
    a.id === b.id &&
    a.type === b.type &&
    a.aggregateId === b.aggregateId &&
    JSON.stringify(a.data) === JSON.stringify(b.data) &&
    JSON.stringify(a.metadata ?? null) === JSON.stringify(b.metadata ?? null)
  )
}

/** Loads every event of a store after `since`, page by page. */
async function loadAll(store: EventStore, since: Version | null): Promise<EventWithVersion[]> {
  const all: EventWithVersion[] = []
  let from = since
  for (;;) {
    const page = await store.load(from, { limit: LOAD_PAGE })
    for (const item of page) all.push(item)
    const last = page.at(-1)
    if (last === undefined || page.length < LOAD_PAGE) return all
    from = last.version
  }
}

function note(problems: string[], problem: string): void {
  if (problems.length < MAX_EXAMPLES) problems.push(problem)
}

function checkRelationOptions(options: RelationCheckOptions): {
  window: number
  sampledPairs: number | undefined
  seed: number
} {
  const window = options.window ?? DEFAULT_RELATION_WINDOW
  const sampledPairs = options.sampledPairs
  const seed = options.seed ?? DEFAULT_SAMPLE_SEED
  for (const [name, value] of [
    ['window', window],
    ['sampledPairs', sampledPairs ?? 0],
    ['seed', seed],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new SyncKitError(
        'invalid-argument',
        `[sync-kit] [trace-demo] ${name} must be a non-negative integer, got ${String(value)}`,
        { argument: name },
      )
    }
  }
  return { window, sampledPairs, seed }
}

function requireConcurrent(trace: Trace, name: string): ConcurrentTrace {
  if (trace.kind !== 'concurrent') {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [trace-demo] trace "${name}" is ${trace.kind}; the concurrent replay needs a concurrent trace (a parents DAG), e.g. examples/data/concurrent-friendsforever.json.gz`,
      { argument: 'trace' },
    )
  }
  return trace
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

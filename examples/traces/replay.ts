/**
 * The core of `npm run demo`: replays a real keystroke trace through sync-kit with several
 * replicas taking turns, then checks that every replica projects the same, correct document.
 *
 * @example
 * ```ts
 * import { runTraceDemo } from './traces/replay.js'
 * import { bundledTracePath } from './traces/trace-file.js'
 *
 * const result = await runTraceDemo({
 *   trace: bundledTracePath('sequential-friendsforever_flat.json.gz'),
 * })
 * console.log(result.converged, result.eventsPerSec)
 * ```
 *
 * @module
 */
import { basename } from 'node:path'

import {
  SyncKitError,
  SyncManager,
  createLoopbackHub,
  createMemoryStore,
  type EventStore,
  type EventWithVersion,
  type Transport,
  type Version,
} from 'sync-kit'
import { TextDocument } from './text-document.js'
import {
  type SequentialTrace,
  type Trace,
  type TracePatch,
  loadTrace,
  parsePatches,
} from './trace-file.js'

/** Default number of replicas taking turns: 3. */
export const DEFAULT_REPLICAS = 3
/** Default number of txns a replica writes per turn: 1 000. */
export const DEFAULT_SEGMENT = 1_000
/** Most replicas the demo runs: 100 (each one is a memory store holding the whole trace). */
export const MAX_REPLICAS = 100
/** The aggregate id of the replayed document. */
export const DOCUMENT_ID = 'doc'
/** The event type of one replayed txn. */
export const TXN_EVENT_TYPE = 'txn'

/** Page size when a replica loads its whole store to project the document. */
const LOAD_PAGE = 5_000
/** A progress line is reported every this many percent of the txns. */
const PROGRESS_STEP_PERCENT = 5

/** The payload of a `txn` event: the trace txn's patches and its index in the trace. */
export interface TxnEventData {
  /** The txn's patches, `[pos, numDeleted, inserted]`, applied in order. */
  readonly patches: readonly TracePatch[]
  /** The txn's index in the trace. */
  readonly i: number
}

/** Options for {@link runTraceDemo}. */
export interface TraceDemoOptions {
  /** A trace file path (gzipped or plain JSON), or a trace already loaded. Must be sequential. */
  readonly trace: string | Trace
  /** Names the trace in the result when `trace` is an object. @defaultValue `'inline'` */
  readonly traceName?: string
  /** Number of replicas taking turns, 1 … {@link MAX_REPLICAS}. @defaultValue {@link DEFAULT_REPLICAS} */
  readonly replicas?: number
  /** Txns a replica writes per turn, a positive integer. @defaultValue {@link DEFAULT_SEGMENT} */
  readonly segment?: number
  /** Receives human-readable progress lines (the CLI writes them to stderr). */
  readonly onProgress?: (line: string) => void
  /**
   * Where replicas keep events and how they reach each other (e.g. SQLite files and a real HTTP
   * server, see `examples/http-mode.ts`). Whoever created it closes it after the replay.
   * @defaultValue memory stores and one loopback hub
   */
  readonly setup?: ReplicaSetup
}

/** Builds the replicas' stores and transports for {@link runTraceDemo}. */
export interface ReplicaSetup {
  /** Describes the setup in progress lines, e.g. `sqlite replicas, http server`. */
  readonly name: string
  /**
   * Creates one replica's store and its transport to the shared remote.
   * @param nodeId - the replica's node id (`r0`, `r1`, …).
   * @returns the store and transport.
   */
  replica(nodeId: string): Promise<{ readonly store: EventStore; readonly transport: Transport }>
  /** Called once, between two turns, when half of the txns are written (e.g. a server restart). */
  halfway?(): Promise<void>
}

/** How one replica ended up. */
export interface ReplicaReport {
  /** The replica's node id (`r0`, `r1`, …). */
  readonly nodeId: string
  /** Events in the replica's store. */
  readonly events: number
  /** Whether its projected document equals the trace's `endContent`. */
  readonly matches: boolean
  /** Why it does not match, when it does not. */
  readonly problem?: string
}

/** The outcome of {@link runTraceDemo}; the first six fields are the CLI's JSON line. */
export interface TraceDemoResult {
  /** The trace's file name (or `traceName`). */
  readonly trace: string
  /** Events written: one per txn of the trace. */
  readonly events: number
  /** Number of replicas. */
  readonly replicas: number
  /** True when every replica holds every event and projects exactly `endContent`. */
  readonly converged: boolean
  /** Wall time of the replay and the checks (not the trace loading), in ms. */
  readonly ms: number
  /** `events` per second of `ms`. */
  readonly eventsPerSec: number
  /** Txns per turn. */
  readonly segment: number
  /** Number of turns taken. */
  readonly turns: number
  /** Conflicts the replicas' `SyncManager`s reported (0 expected: turns are causally ordered). */
  readonly conflicts: number
  /** Per-replica results. */
  readonly replicaReports: readonly ReplicaReport[]
}

interface Replica {
  readonly nodeId: string
  readonly store: EventStore
  readonly manager: SyncManager
}

/**
 * Replays a sequential trace through sync-kit and checks convergence.
 *
 * R replicas (each a memory store, a loopback hub connection and a `SyncManager`) take turns: the
 * replica whose turn it is syncs (so it holds everything written before), records its next
 * `segment` txns as events (one `txn` event per txn, `data: { patches, i }`, on aggregate
 * {@link DOCUMENT_ID}), and syncs again. At the end every replica syncs once more, loads its whole
 * store, orders the events by HLC (`metadata.hlc`) and applies their patches; it has converged when
 * the document equals the trace's `endContent` and it holds exactly one event per txn.
 *
 * @param options - the trace, replica count, segment size and a progress callback.
 * @returns the result; `converged` is false (not an error) when a replica ends up different.
 * @throws SyncKitError `invalid-argument` for a bad option, an unreadable or malformed trace file
 * or a concurrent trace (details `{ argument: 'trace' }` for trace problems); sync errors
 * propagate as thrown by the `SyncManager`.
 * @example
 * ```ts
 * import { runTraceDemo } from './traces/replay.js'
 *
 * const { converged, ms } = await runTraceDemo({ trace: 'my-trace.json.gz', replicas: 5 })
 * ```
 */
export async function runTraceDemo(options: TraceDemoOptions): Promise<TraceDemoResult> {
  const replicaCount = options.replicas ?? DEFAULT_REPLICAS
  const segment = options.segment ?? DEFAULT_SEGMENT
  checkInteger('replicas', replicaCount, 1, MAX_REPLICAS)
  checkInteger('segment', segment, 1, Number.MAX_SAFE_INTEGER)
  const report = options.onProgress ?? ((): void => undefined)

  const trace = typeof options.trace === 'string' ? await loadTrace(options.trace) : options.trace
  const traceName =
    typeof options.trace === 'string' ? basename(options.trace) : (options.traceName ?? 'inline')
  const sequential = requireSequential(trace, traceName)
  const total = sequential.txns.length

  const started = performance.now()
  const hub = createLoopbackHub()
  const setup = options.setup
  const replicas: Replica[] = []
  let conflicts = 0
  for (let r = 0; r < replicaCount; r++) {
    const nodeId = `r${r}`
    const { store, transport } =
      setup === undefined
        ? { store: createMemoryStore(), transport: hub.connect(nodeId) }
        : await setup.replica(nodeId)
    const manager = new SyncManager({ store, transport, nodeId })
    manager.on('conflict', () => {
      conflicts++
    })
    replicas.push({ nodeId, store, manager })
  }
  report(
    `[trace-demo] replaying ${traceName}: ${total} txns, ${replicaCount} replicas, ${segment} txns per turn${setup === undefined ? '' : `, ${setup.name}`}`,
  )

  let turns = 0
  let next = 0
  let nextProgress = PROGRESS_STEP_PERCENT
  let halfwayDone = setup?.halfway === undefined
  try {
    while (next < total) {
      if (!halfwayDone && next * 2 >= total) {
        halfwayDone = true
        await setup?.halfway?.()
      }
      const replica = replicas[turns % replicaCount] as Replica
      await replica.manager.sync()
      const end = Math.min(total, next + segment)
      for (; next < end; next++) {
        const txn = sequential.txns[next]
        if (txn === undefined) break
        const data: TxnEventData = { patches: txn.patches, i: next }
        await replica.manager.record({ type: TXN_EVENT_TYPE, aggregateId: DOCUMENT_ID, data })
      }
      await replica.manager.sync()
      turns++
      const percent = (next / total) * 100
      if (percent >= nextProgress || next === total) {
        report(
          `[trace-demo] ${percent.toFixed(0).padStart(3)}%  ${next}/${total} events, ${turns} turns, ${seconds(performance.now() - started)}`,
        )
        nextProgress = (Math.floor(percent / PROGRESS_STEP_PERCENT) + 1) * PROGRESS_STEP_PERCENT
      }
    }

    // A single-turn run has no turn boundary past the middle: do it before the final syncs.
    if (!halfwayDone) await setup?.halfway?.()
    report('[trace-demo] final sync and projection on every replica')
    for (const replica of replicas) await replica.manager.sync()
    const replicaReports: ReplicaReport[] = []
    for (const replica of replicas) {
      replicaReports.push(await checkReplica(replica, sequential, total))
    }
    const ms = Math.round(performance.now() - started)
    const converged = replicaReports.every((r) => r.matches && r.events === total)
    for (const r of replicaReports) {
      report(
        `[trace-demo] replica ${r.nodeId}: ${r.events} events, ${r.problem ?? 'document equals endContent'}`,
      )
    }
    report(`[trace-demo] ${conflicts} conflicts, ${converged ? 'converged' : 'NOT converged'}`)
    return {
      trace: traceName,
      events: total,
      replicas: replicaCount,
      converged,
      ms,
      eventsPerSec: ms > 0 ? Math.round((total / ms) * 1000) : total * 1000,
      segment,
      turns,
      conflicts,
      replicaReports,
    }
  } finally {
    for (const replica of replicas) await replica.manager.close()
  }
}

/** Loads a replica's whole store, orders it by HLC and compares the projection with the trace. */
async function checkReplica(
  replica: Replica,
  trace: SequentialTrace,
  total: number,
): Promise<ReplicaReport> {
  const events = await loadAll(replica.store)
  const stamped: { readonly hlc: string; readonly item: EventWithVersion }[] = []
  for (const item of events) {
    const hlc = item.event.metadata?.hlc
    if (typeof hlc !== 'string') {
      return mismatch(replica, events.length, `event "${item.event.id}" has no metadata.hlc`)
    }
    stamped.push({ hlc, item })
  }
  // HLC strings sort lexicographically exactly like HLC order (see `Hlc`).
  stamped.sort((a, b) => (a.hlc < b.hlc ? -1 : a.hlc > b.hlc ? 1 : 0))

  const doc = TextDocument.from(trace.startContent)
  let outOfOrder: string | undefined
  for (let position = 0; position < stamped.length; position++) {
    const { event } = (stamped[position] as { item: EventWithVersion }).item
    let data: TxnEventData
    try {
      data = txnData(event.data, event.id)
      if (outOfOrder === undefined && data.i !== position) {
        outOfOrder = `in HLC order, position ${position} holds txn ${data.i}`
      }
      doc.applyAll(data.patches)
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error)
      return mismatch(
        replica,
        events.length,
        `projection failed at event ${position} (${outOfOrder ?? 'events in trace order'}): ${why}`,
      )
    }
  }
  if (events.length !== total) {
    return mismatch(replica, events.length, `holds ${events.length} events, expected ${total}`)
  }
  const text = doc.toString()
  if (text !== trace.endContent) {
    return mismatch(
      replica,
      events.length,
      `projected document differs from endContent at code point ${firstDifference(text, trace.endContent)}${outOfOrder === undefined ? '' : ` (${outOfOrder})`}`,
    )
  }
  return { nodeId: replica.nodeId, events: events.length, matches: true }
}

/** Loads every event of a store, page by page. */
async function loadAll(store: EventStore): Promise<EventWithVersion[]> {
  const all: EventWithVersion[] = []
  let since: Version | null = null
  for (;;) {
    const page = await store.load(since, { limit: LOAD_PAGE })
    for (const item of page) all.push(item)
    const last = page.at(-1)
    if (last === undefined || page.length < LOAD_PAGE) return all
    since = last.version
  }
}

function txnData(data: unknown, eventId: string): TxnEventData {
  const label = `event "${eventId}"`
  if (typeof data !== 'object' || data === null) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [trace-demo] ${label} data must be an object { patches, i }`,
      { argument: 'data' },
    )
  }
  const { patches, i } = data as { patches?: unknown; i?: unknown }
  if (typeof i !== 'number' || !Number.isSafeInteger(i) || i < 0) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [trace-demo] ${label} data.i must be a non-negative integer (the txn index)`,
      { argument: 'data' },
    )
  }
  return { patches: parsePatches(patches, label, 'data.patches'), i }
}

function mismatch(replica: Replica, events: number, problem: string): ReplicaReport {
  return { nodeId: replica.nodeId, events, matches: false, problem }
}

function firstDifference(a: string, b: string): number {
  const x = Array.from(a)
  const y = Array.from(b)
  let i = 0
  while (i < x.length && i < y.length && x[i] === y[i]) i++
  return i
}

function requireSequential(trace: Trace, name: string): SequentialTrace {
  if (trace.kind !== 'sequential') {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [trace-demo] trace "${name}" is ${trace.kind}; the demo replays sequential traces (one history), e.g. examples/data/sequential-*.json.gz`,
      { argument: 'trace' },
    )
  }
  return trace
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new SyncKitError(
      'invalid-argument',
      `[sync-kit] [trace-demo] ${name} must be an integer in ${min} … ${max}, got ${String(value)}`,
      { argument: name },
    )
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

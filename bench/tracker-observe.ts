/**
 * Micro-benchmark of the one step every delivered event takes in a `SyncManager`: JSON-parsing a
 * stream message and handing the event to the causal tracker (`CausalTracker.observe`: reading its
 * context, raising the seen clock, relating it to its aggregate's heads). The load test's workers
 * spend most of their time here; this measures it alone, without HTTP, stores or timers.
 *
 * The input is synthetic and fixed by its parameters: `W` writers on 10 aggregates, each event's
 * context the writer's view `LAG` events ago plus its own entry (so the heads per aggregate grow
 * with `LAG`: ~5 at `LAG=5`, ~100 at `LAG=1000` with 100 writers), `N` events, `R` rounds on a fresh
 * tracker each. With `KEEP=1` the parsed events are kept alive, as a store keeps what it stores.
 *
 * Run: `W=100 LAG=1000 N=30000 R=5 node --import tsx bench/tracker-observe.ts`. It prints µs per
 * event for each round and for `JSON.parse` alone. To compare two versions of the code, run it on
 * two checkouts alternately, several rounds each: single runs on this machine vary by ±15 %.
 *
 * @module
 */
import { causalContextOf } from '../src/causality/causal-context.js'
import { createMemoryStore } from '../src/index.js'
import { CausalTracker } from '../src/sync/causal-tracker.js'
import type { SyncContext } from '../src/sync/sync-options.js'
import type { Version } from '../src/types/index.js'
import { writeClock } from '../src/versions/clock-map.js'

const env = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`)
  return value
}
const W = env('W', 100)
const LAG = env('LAG', 5)
const N = env('N', 30_000)
const R = env('R', 5)
const AGGREGATES = 10

const name = (writer: number): string => `c${String(writer).padStart(3, '0')}`

/** The stream messages: one JSON text per event, as an SSE `data:` line carries it. */
function messages(): string[] {
  const own = new Array<number>(W).fill(0)
  const counts = new Array<number>(W).fill(0)
  // The writers' counts after each event, kept LAG + 2 deep.
  const history: (number[] | undefined)[] = []
  const out: string[] = []
  for (let i = 0; i < N; i++) {
    const writer = Math.floor(Math.random() * W)
    const base = i >= LAG ? (history[i - LAG] as number[]) : new Array<number>(W).fill(0)
    const context = base.slice()
    const seq = (own[writer] ?? 0) + 1
    own[writer] = seq
    context[writer] = seq
    counts[writer] = seq
    history.push(counts.slice())
    if (i > LAG + 2) history[i - LAG - 2] = undefined
    const entries: [string, number][] = []
    context.forEach((count, k) => {
      if (count > 0) entries.push([name(k), count])
    })
    const event = {
      id: `${name(writer)}.${seq}`,
      type: 'Edited',
      aggregateId: `agg-${Math.floor(Math.random() * AGGREGATES)}`,
      data: { f1: i, recordedAt: 1 },
      metadata: {
        origin: name(writer),
        hlc: `${i.toString(16).padStart(12, '0')}-0000-${name(writer)}`,
        causal: writeClock(entries),
      },
    }
    out.push(JSON.stringify({ event, version: String(i + 1) }))
  }
  return out
}

const log = messages()
console.log(
  `${W} writers, LAG ${LAG}, ${N} events of ${Math.round(log.reduce((s, x) => s + x.length, 0) / N)} bytes on average`,
)
const kept: unknown[] = []
const events = { emit: () => undefined, on: () => () => undefined }
for (let round = 0; round < R; round++) {
  const ctx = {
    nodeId: 'me',
    store: createMemoryStore(),
    clock: { now: () => Date.now() },
    maxDriftMs: 1e12,
    events,
  } as unknown as SyncContext
  const tracker = new CausalTracker(ctx)
  await tracker.init(undefined)
  let conflicts = 0
  const t0 = performance.now()
  for (const text of log) {
    const { event, version } = JSON.parse(text) as { event: never; version: string }
    if (tracker.observe({ event, version: version as unknown as Version }) !== undefined) {
      conflicts++
    }
    causalContextOf(event)
    if (process.env['KEEP'] === '1') kept.push(event)
  }
  const us = (1000 * (performance.now() - t0)) / N
  console.log(`round ${round + 1}: ${us.toFixed(2)} µs per event, ${conflicts} conflicts`)
  kept.length = 0
}
const t0 = performance.now()
let ids = 0
for (const text of log) ids += (JSON.parse(text) as { event: { id: string } }).event.id.length
console.log(
  `JSON.parse alone: ${((1000 * (performance.now() - t0)) / N).toFixed(2)} µs per event (${ids > 0})`,
)

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ev } from '../resolvers/resolvers.fixture.js'
import { compareStamps, hlcOf } from '../projections/event-order.js'
import type { Event, EventStore, EventWithVersion } from '../types/index.js'
import { CausalTracker } from './causal-tracker.js'
import { partsContext } from './sync-parts.fixture.js'

// The tracker reads contexts into node slots, keeps its seen clock as arrays by slot and relates
// heads by slot. Here it is compared with the straightforward model it replaced: maps of node id
// to count, the seen clock in the order its counts last grew.

interface ModelHead {
  readonly origin: string
  readonly seq: number
  readonly clock: ReadonlyMap<string, number>
  readonly event: Event
}

/** The Map-based tracker (the reference). */
class ModelTracker {
  readonly seen = new Map<string, number>()
  readonly heads = new Map<string, ModelHead[]>()
  constructor(
    readonly nodeId: string,
    readonly bound: number,
  ) {}

  #raise(node: string, count: number): void {
    if (count <= (this.seen.get(node) ?? 0)) return
    this.seen.delete(node)
    this.seen.set(node, count)
  }

  observe(event: Event): string | undefined {
    const parsed = parseContext(event)
    if (parsed === undefined) return undefined
    const { origin, seq, clock } = parsed
    for (const [node, count] of clock) this.#raise(node, count)
    const head: ModelHead = { origin, seq, clock, event }
    const heads = this.heads.get(event.aggregateId)
    if (heads === undefined) {
      this.heads.set(event.aggregateId, [head])
      return undefined
    }
    const kept: ModelHead[] = []
    let newest: ModelHead | undefined
    let superseded = false
    for (const other of heads) {
      const same = other.origin === origin && other.seq === seq
      const otherSeen = (clock.get(other.origin) ?? 0) >= other.seq
      const headSeen = (other.clock.get(origin) ?? 0) >= seq
      const relation = same
        ? 'equal'
        : otherSeen === headSeen
          ? 'concurrent'
          : otherSeen
            ? 'before'
            : 'after'
      if (relation === 'before') continue
      kept.push(other)
      if (relation !== 'concurrent') superseded = true
      else if (
        newest === undefined ||
        compareStamps(hlcOf(other.event), other.event.id, hlcOf(newest.event), newest.event.id) > 0
      ) {
        newest = other
      }
    }
    if (!superseded) kept.push(head)
    this.heads.set(event.aggregateId, kept)
    return newest?.event.id
  }

  /** The context a new local event on `aggregateId` carries (rule 4 of docs/causality.md). */
  stamp(aggregateId: string): string {
    const seq = (this.seen.get(this.nodeId) ?? 0) + 1
    const context = new Map([[this.nodeId, seq]])
    const keep = (node: string): void => {
      if (context.size < this.bound && !context.has(node)) {
        context.set(node, this.seen.get(node) as number)
      }
    }
    // Newest by stamp first.
    const heads = [...(this.heads.get(aggregateId) ?? [])].sort((a, b) =>
      compareStamps(hlcOf(b.event), b.event.id, hlcOf(a.event), a.event.id),
    )
    const recent = [...this.seen.keys()].reverse()
    heads.forEach((head) => keep(head.origin))
    recent.filter((node) => heads.some((head) => head.clock.has(node))).forEach(keep)
    recent.forEach(keep)
    this.#raise(this.nodeId, seq)
    return [...context]
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([n, c]) => `${n}:${c}`)
      .join(',')
  }

  isUnobserved(event: Event): boolean {
    if (event.metadata?.origin === this.nodeId) return false
    const parsed = parseContext(event)
    return parsed !== undefined && (this.seen.get(parsed.origin) ?? 0) < parsed.seq
  }
}

/** The pattern-and-split reading of an event's context (the reader before ClockMap). */
function parseContext(
  event: Event,
): { origin: string; seq: number; clock: Map<string, number> } | undefined {
  const text = event.metadata?.causal
  const origin = event.metadata?.origin
  if (typeof text !== 'string' || typeof origin !== 'string') return undefined
  if (!/^[\w.~-]{1,64}:[1-9]\d{0,15}(,[\w.~-]{1,64}:[1-9]\d{0,15})*$/.test(text)) return undefined
  const clock = new Map<string, number>()
  let previous = ''
  for (const entry of text.split(',')) {
    const [node, digits] = entry.split(':') as [string, string]
    const count = Number(digits)
    if (node <= previous || count > Number.MAX_SAFE_INTEGER || clock.size === 1024) return undefined
    clock.set(node, count)
    previous = node
  }
  const seq = clock.get(origin) ?? 0
  if (seq === 0 || Math.max(...clock.values()) > 2 ** 48) return undefined
  return { origin, seq, clock }
}

/** Node ids that are prefixes, suffixes and substrings of each other. */
const POOL = ['a', 'ab', 'b', 'ba', 'a.b', 'b-a', 'A', '_', 'aa', 'aab']
const AGGREGATES = ['x', 'y']

type Op =
  | {
      kind: 'foreign'
      origin: number
      context: [number, number][]
      aggregate: number
      wall: number
    }
  | { kind: 'redeliver'; pick: number }
  | { kind: 'record'; aggregate: number }
  | { kind: 'probe'; origin: number; seq: number }

function opArb(pool: number): fc.Arbitrary<Op> {
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('foreign' as const),
        origin: fc.nat({ max: pool - 1 }),
        context: fc.array(fc.tuple(fc.nat({ max: pool - 1 }), fc.integer({ min: 1, max: 6 })), {
          maxLength: pool,
        }),
        aggregate: fc.nat({ max: AGGREGATES.length - 1 }),
        wall: fc.integer({ min: 1, max: 5 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('redeliver' as const), pick: fc.nat() }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('record' as const),
        aggregate: fc.nat({ max: AGGREGATES.length - 1 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('probe' as const),
        origin: fc.nat({ max: pool - 1 }),
        seq: fc.integer({ min: 1, max: 8 }),
      }),
    },
  )
}

function nodeName(i: number): string {
  return i < POOL.length ? (POOL[i] as string) : `w${String(i).padStart(4, '0')}`
}

async function runScenario(ops: readonly Op[], bound: number | undefined): Promise<void> {
  const { ctx, store } = partsContext(
    (bound === undefined ? {} : { maxContextEntries: bound }) as never,
  )
  const tracker = new CausalTracker(ctx)
  await tracker.init(undefined)
  const model = new ModelTracker('a', bound ?? 512)
  const delivered: EventWithVersion[] = []
  let n = 0
  for (const op of ops) {
    if (op.kind === 'foreign') {
      const origin = nodeName(op.origin)
      const causal: Record<string, number> = {}
      for (const [node, count] of op.context) causal[nodeName(node)] = count
      causal[origin] ??= 1
      const event = ev(`e${n++}`, null, {
        node: origin,
        causal,
        wall: op.wall,
        aggregateId: AGGREGATES[op.aggregate] as string,
      } as never)
      expect(tracker.isUnobserved(event)).toBe(model.isUnobserved(event))
      const { version } = await store.store(event)
      const ewv = { event, version }
      delivered.push(ewv)
      expect(tracker.observe(ewv)?.ewv.event.id).toBe(model.observe(event))
    } else if (op.kind === 'redeliver') {
      if (delivered.length === 0) continue
      const ewv = delivered[op.pick % delivered.length] as EventWithVersion
      // A copy, as another pull would bring: no parse cached with the object.
      const copy = { event: structuredClone(ewv.event), version: ewv.version }
      expect(tracker.isUnobserved(copy.event)).toBe(model.isUnobserved(copy.event))
      expect(tracker.observe(copy)?.ewv.event.id).toBe(model.observe(copy.event))
    } else if (op.kind === 'record') {
      const aggregateId = AGGREGATES[op.aggregate] as string
      const expected = model.stamp(aggregateId)
      const event = tracker.stamp(
        ({ hlc, causal }) =>
          ({
            id: `r${n++}`,
            type: 'Edited',
            aggregateId,
            data: null,
            metadata: { hlc, origin: 'a', causal },
          }) as Event,
        aggregateId,
      )
      expect(event.metadata?.causal).toBe(expected)
      const { version } = await store.store(event)
      delivered.push({ event, version })
      expect(tracker.observe({ event, version })?.ewv.event.id).toBe(model.observe(event))
    } else {
      const origin = nodeName(op.origin)
      const probe = ev(`p${n++}`, null, { node: origin, causal: { [origin]: op.seq } })
      expect(tracker.isUnobserved(probe)).toBe(model.isUnobserved(probe))
    }
  }
  // A restart: a new tracker re-scans the store and stamps as the model that observed the store.
  const restarted = new CausalTracker(ctx)
  await restarted.init(undefined)
  const again = new ModelTracker('a', bound ?? 512)
  for (const stored of await loadAll(store)) again.observe(stored.event)
  for (const aggregateId of AGGREGATES) {
    expect(restarted.stamp(({ causal }) => causal, aggregateId)).toBe(again.stamp(aggregateId))
  }
}

async function loadAll(store: EventStore): Promise<EventWithVersion[]> {
  return [...(await store.load(null))]
}

describe('CausalTracker against the Map-based model', () => {
  it('Given random foreign, forged, duplicate and out-of-order contexts among writers whose ids overlap as strings, then conflicts, stamps and isUnobserved match the model', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb(POOL.length), { maxLength: 40 }), (ops) =>
        runScenario(ops, undefined),
      ),
      { numRuns: 300 },
    )
  })

  it('Given a small context bound, then the bounded contexts it stamps match the model (heads, their writers, then the most recently grown)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb(POOL.length), { maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        (ops, bound) => runScenario(ops, bound),
      ),
      { numRuns: 300 },
    )
  })

  it('Given more than 512 writers, then the default bound keeps 512 entries, as the model does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb(600), { minLength: 20, maxLength: 60 }).map((ops) => [
          // One event that saw 560 writers, so the seen clock is past the default bound.
          {
            kind: 'foreign' as const,
            origin: 0,
            context: Array.from({ length: 560 }, (_, i) => [i + 20, 1] as [number, number]),
            aggregate: 0,
            wall: 1,
          },
          ...ops,
        ]),
        (ops) => runScenario(ops, undefined),
      ),
      { numRuns: 15 },
    )
  })
})

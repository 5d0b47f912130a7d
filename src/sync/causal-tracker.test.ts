import { describe, expect, it, vi } from 'vitest'
import { isSyncKitError } from '../errors/sync-kit-error.js'
import type { Event, EventStore } from '../types/index.js'
import { ev } from '../resolvers/resolvers.fixture.js'
import { TestClock } from '../testing/test-clock.js'
import { Hlc } from '../versions/hlc.js'
import { SequenceVersion } from '../versions/sequence-version.js'
import { causalRelation } from '../causality/event-relation.js'
import { causalClockOf } from '../causality/causal-context.js'
import { ClockMap } from '../versions/clock-map.js'
import { CausalTracker, MERGED_STAMP_KEY } from './causal-tracker.js'
import { partsContext, stored } from './sync-parts.fixture.js'

describe('CausalTracker', () => {
  it('Given a store with events, when initialised, then the seen clock covers them and the next stamp follows its own last stamp', async () => {
    const clock = new TestClock(5_000)
    const { ctx, store } = partsContext({ clock })
    await stored(store, 'a1', 'a', { a: 1 })
    await store.store(ev('a2', null, { node: 'a', causal: { a: 2, b: 1 }, wall: 9_000 }))
    const tracker = new CausalTracker(ctx)

    await tracker.init(undefined)
    const stamps = tracker.stamp((s) => s)

    expect(stamps.causal).toBe('a:3,b:1')
    expect(Hlc.parse(stamps.hlc).wallMs).toBe(9_000)
  })

  it('Given stamp() whose build throws, then the dot is not used', async () => {
    const { ctx } = partsContext()
    const tracker = new CausalTracker(ctx)
    await tracker.init(undefined)

    expect(() =>
      tracker.stamp(() => {
        throw new Error('refused input')
      }),
    ).toThrow('refused input')
    expect(tracker.stamp((s) => s.causal)).toBe('a:1')
  })

  it('Given an aggregate head, when a concurrent event and then one that saw both are observed, then the first reports the conflict and the second replaces both heads', async () => {
    const { ctx, store } = partsContext()
    const tracker = new CausalTracker(ctx)
    await tracker.init(undefined)
    const a1 = await stored(store, 'a1', 'a', { a: 1 })
    const b1 = await stored(store, 'b1', 'b', { b: 1 })
    const c1 = await stored(store, 'c1', 'c', { a: 1, b: 1, c: 1 })
    const d1 = await stored(store, 'd1', 'd', { d: 1 })

    expect(tracker.observe(a1)).toBeUndefined()
    expect(tracker.observe(b1)?.ewv.event.id).toBe('a1')
    expect(tracker.observe(c1)).toBeUndefined()
    expect(tracker.observe(d1)?.ewv.event.id).toBe('c1')
  })

  it('Given several concurrent heads, when an event concurrent with all of them is observed, then its one conflict is the newest head by HLC and id, and the event joins the frontier', async () => {
    const { ctx, store } = partsContext()
    const tracker = new CausalTracker(ctx)
    await tracker.init(undefined)
    // Same wall time and counter: the stamps order by writer, so c1 is the newest of the three.
    for (const node of ['b', 'c', 'a'])
      tracker.observe(await stored(store, `${node}1`, node, { [node]: 1 }))

    const d1 = await stored(store, 'd1', 'd', { d: 1 })
    expect(tracker.observe(d1)?.ewv.event.id).toBe('c1')
    // e1 saw a1 (superseded, no conflict with it) but none of b1, c1, d1: its conflict is d1.
    const e1 = await stored(store, 'e1', 'e', { a: 1, e: 1 })
    expect(tracker.observe(e1)?.ewv.event.id).toBe('d1')
    // f1 saw everything: it supersedes the whole frontier.
    const f1 = await stored(store, 'f1', 'f', { a: 1, b: 1, c: 1, d: 1, e: 1, f: 1 })
    expect(tracker.observe(f1)).toBeUndefined()
    const g1 = await stored(store, 'g1', 'g', { g: 1 })
    expect(tracker.observe(g1)?.ewv.event.id).toBe('f1')
  })

  it('Given events stored but not observed, then isUnobserved tells them apart, own events aside', async () => {
    const { ctx } = partsContext()
    const tracker = new CausalTracker(ctx)
    await tracker.init(undefined)
    const b2 = ev('b2', null, { node: 'b', causal: { b: 2 } })
    const own = ev('a9', null, { node: 'a', causal: { a: 9 } })

    expect(tracker.isUnobserved(b2)).toBe(true)
    expect(tracker.isUnobserved(own)).toBe(false)
    tracker.observe({ event: b2, version: new SequenceVersion(1) })
    expect(tracker.isUnobserved(ev('b1', null, { node: 'b', causal: { b: 1 } }))).toBe(false)
  })

  it('Given a received stamp beyond the drift bound, then clock-drift is emitted and the clock does not move', async () => {
    const clock = new TestClock(1_000_000)
    const { ctx, emitted } = partsContext({ clock, maxDriftMs: 1_000 })
    const tracker = new CausalTracker(ctx)
    await tracker.init(undefined)

    tracker.receiveStamp(ev('f1', null, { node: 'b', wall: 1_000_000 + 60_000 }))

    expect(emitted.map(([name]) => name)).toEqual(['clock-drift'])
    expect(Hlc.parse(tracker.stamp((s) => s.hlc)).wallMs).toBe(1_000_000)
  })

  it('Given several pulled events under its own node id, then the reuse is reported once', () => {
    const { ctx, emitted } = partsContext()
    const tracker = new CausalTracker(ctx)

    tracker.reportNodeIdReuse(ev('a1', null, { node: 'a', causal: { a: 1 } }))
    tracker.reportNodeIdReuse(ev('a2', null, { node: 'a', causal: { a: 2 } }))

    expect(emitted).toHaveLength(1)
    expect(isSyncKitError(emitted[0]?.[1], 'invalid-argument')).toBe(true)
  })

  it('Given a saved merged stamp, when a new tracker starts with the wall clock stepped back, then its first stamp follows the saved one', async () => {
    const clock = new TestClock(1_000_000)
    const { ctx, store } = partsContext({ clock })
    const tracker = new CausalTracker(ctx)
    await tracker.init(undefined)
    tracker.receiveStamp(ev('b1', null, { node: 'b', wall: 1_030_000 }))
    await tracker.persist(undefined)
    clock.set(1_000_000 - 120_000)

    const restarted = new CausalTracker(partsContext({ clock, store }).ctx)
    await restarted.init(undefined)

    expect(await store.getState?.(MERGED_STAMP_KEY)).toBe('0000000fb770-0001-a')
    expect(Hlc.parse(restarted.stamp((s) => s.hlc)).compare(Hlc.parse('0000000fb770-0001-a'))).toBe(
      1,
    )
  })

  it('Given a store without getState/setState, when restarted with the wall clock stepped back, then own stamps are restored and received ones only within the drift bound of the current clock (the documented fallback)', async () => {
    const clock = new TestClock(1_000_000)
    const memory = partsContext({ clock }).store
    // The scan only loads; this store has no getState/setState.
    const store = { load: memory.load.bind(memory) } as unknown as EventStore
    await memory.store(ev('a1', null, { node: 'a', wall: 900_000, causal: { a: 1 } }))
    await memory.store(ev('b1', null, { node: 'b', wall: 1_030_000, causal: { b: 1 } }))
    clock.set(1_000_000 - 120_000)
    const { ctx } = partsContext({ clock, store })
    const tracker = new CausalTracker(ctx)

    await tracker.init(undefined)
    await tracker.persist(undefined)

    expect(Hlc.parse(tracker.stamp((s) => s.hlc)).wallMs).toBe(900_000)
  })

  it('Given more seen writers than the bound, when stamping for an aggregate, then the context keeps its own entry, the head writers, then the most recent writers', async () => {
    const { ctx, store } = partsContext({ maxContextEntries: 3 } as never)
    const tracker = new CausalTracker(ctx)
    await tracker.init(undefined)
    tracker.observe(await stored(store, 'h1', 'h', { h: 1 }))
    for (const node of ['p', 'q', 'r']) {
      const e = ev(`${node}1`, null, { node, causal: { [node]: 1 }, aggregateId: 'other', wall: 1 })
      tracker.observe({ event: e, version: (await store.store(e)).version })
    }

    expect(tracker.stamp((s) => s.causal, 'doc')).toBe('a:1,h:1,r:1')
    expect(tracker.stamp((s) => s.causal)).toBe('a:2,q:1,r:1')
  })

  it('Given more seen writers than the bound and heads the store keeps as they were observed, when stamping for their aggregate, then their parsed clocks are only read, never expanded into maps the stored events would keep', async () => {
    const { ctx, store } = partsContext({ maxContextEntries: 2 } as never)
    const tracker = new CausalTracker(ctx)
    await tracker.init(undefined)
    const heads: Event[] = []
    for (const node of ['p', 'q', 'r']) {
      const e = ev(`${node}1`, null, { node, causal: { [node]: 1, z: 1 }, wall: 1 })
      tracker.observe({ event: e, version: (await store.store(e)).version })
      heads.push(e)
    }
    // A head's clock is its event's shared parsed stamps, which live as long as the event object
    // (the memory store keeps the events a manager records and pulls): a clock expanded into a map
    // of its entries (~60 B an entry, ~30 KB at the default bound) would stay with the stored
    // event after the head it was is gone.
    const expanded = (['keys', 'entries', 'values', 'forEach'] as const).map((name) =>
      vi.spyOn(ClockMap.prototype, name),
    )
    try {
      expect(tracker.stamp((s) => s.causal, 'doc')).toBe('a:1,r:1')
      for (const spy of expanded) {
        const onHeads = spy.mock.contexts.filter((clock) =>
          heads.some((e) => causalClockOf(e) === clock),
        )
        expect(onHeads).toEqual([])
      }
    } finally {
      for (const spy of expanded) spy.mockRestore()
    }
  })

  it('Given the worked example of rule 4 in docs/causality.md, then the kiosk writes a:5,b:2,kiosk:1: its own entry, the head’s writer and what the head had seen', async () => {
    const { ctx, store } = partsContext({ nodeId: 'kiosk', maxContextEntries: 3 } as never)
    const tracker = new CausalTracker(ctx)
    await tracker.init(undefined)
    const seen = async (
      id: string,
      node: string,
      causal: Record<string, number>,
      aggregateId: string,
    ) => {
      const e = ev(id, null, { node, causal, aggregateId, wall: 1 })
      return tracker.observe({ event: e, version: (await store.store(e)).version })
    }
    await seen('a5', 'a', { a: 5 }, 'todo-1')
    await seen('b2', 'b', { a: 5, b: 2 }, 'todo-1')
    await seen('d1', 'd', { d: 1 }, 'x')
    await seen('c7', 'c', { c: 7 }, 'y')

    const causal = tracker.stamp((s) => s.causal, 'todo-1')
    const k1 = ev('k1', null, { node: 'kiosk', causal: { a: 5, b: 2, kiosk: 1 } })

    expect(causal).toBe('a:5,b:2,kiosk:1')
    expect(causalRelation(ev('b2', null, { node: 'b', causal: { a: 5, b: 2 } }), k1)).toBe('before')
    expect(causalRelation(ev('a5', null, { node: 'a', causal: { a: 5 } }), k1)).toBe('before')
    // c and d fell out: k1 looks concurrent with their events, of other aggregates.
    expect(causalRelation(ev('c7', null, { node: 'c', causal: { c: 7 } }), k1)).toBe('concurrent')
    expect(tracker.stamp((s) => s.causal, 'y')).toBe('c:7,d:1,kiosk:2')
  })
})

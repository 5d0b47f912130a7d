import { describe, expect, it } from 'vitest'
import type { EventStore } from '../src/types/index.js'
import { createTombstone } from '../src/projections/tombstone.js'
import { watchChanges } from '../src/projections/watch-changes.js'
import {
  changeRecorder,
  delegating,
  ev,
  settle,
  settleOnce,
  until,
} from '../src/projections/watch-changes.fixture.js'
import type { ChangeSuiteOptions } from '../src/projections/watch-changes.fixture.js'
import { closedAfterEach, expectInvalidArguments, phoneAndLaptop } from './cases.fixture.js'

/**
 * Registers the `watchChanges` cases on one store.
 * @param options - the store to run on and the hub its managers sync through.
 */
export function describeWatchChanges({ name, openStore, createHub }: ChangeSuiteOptions): void {
  describe(`watchChanges on the ${name} store`, () => {
    const fresh = closedAfterEach(openStore)

    it('Given a watcher from now, When events are stored locally, Then each arrives once, in log order, with its aggregate ids', async () => {
      const store = await fresh()
      await store.store(ev('before'))
      const rec = changeRecorder()
      const stop = watchChanges(store, rec.listener)
      await settle()
      await store.storeBatch?.([ev('a1', 'a'), ev('b1', 'b'), ev('a2', 'a')])
      await until(() => rec.ids().length === 3, 'the batch')
      await store.store(ev('c1', 'c'))
      await until(() => rec.ids().length === 4, 'the single event')
      stop()
      expect(rec.changes.map((c) => c.events.map((e) => e.event.id))).toEqual([
        ['a1', 'b1', 'a2'],
        ['c1'],
      ])
      expect(rec.changes.map((c) => c.aggregateIds)).toEqual([['a', 'b'], ['c']])
      // Each with its local version, as the store returns it.
      const versions = rec.changes.flatMap((c) => c.events.map((e) => e.version.toString()))
      expect(versions).toEqual(['2', '3', '4', '5'])
    })

    it('Given from a version, Then the events after it arrive first, then the new ones', async () => {
      const store = await fresh()
      const [first] = (await store.storeBatch?.([ev('e1'), ev('e2'), ev('e3')])) ?? []
      const rec = changeRecorder()
      const stop = watchChanges(store, rec.listener, { from: first?.version.toString() ?? '' })
      await until(() => rec.ids().length === 2, 'the catch-up')
      await store.store(ev('e4'))
      await until(() => rec.ids().length === 3, 'the new event')
      stop()
      expect(rec.ids()).toEqual(['e2', 'e3', 'e4'])
      expect(rec.changes).toHaveLength(2)
    })

    it('Given a SyncManager that pulls through a loopback hub, Then the pulled events arrive as changes, and so do its own records', async () => {
      const store = await fresh()
      const { phone, laptop } = phoneAndLaptop(createHub(), store)
      const rec = changeRecorder()
      const stop = watchChanges(store, rec.listener)
      await settle()
      await phone.record({ type: 'TodoAdded', aggregateId: 'todo-1', data: { title: 'Milk' } })
      await phone.record({ type: 'TodoAdded', aggregateId: 'todo-2', data: { title: 'Eggs' } })
      await phone.sync()
      await laptop.sync()
      await until(() => rec.ids().length === 2, 'the pulled events')
      expect(rec.changes.flatMap((c) => c.aggregateIds)).toEqual(['todo-1', 'todo-2'])
      expect(rec.changes.flatMap((c) => c.events.map((e) => e.event.metadata?.origin))).toEqual([
        'phone',
        'phone',
      ])
      const { event } = await laptop.record({ type: 'TodoDone', aggregateId: 'todo-1', data: {} })
      await until(() => rec.ids().length === 3, 'the local record')
      expect(rec.ids()[2]).toBe(event.id)
      stop()
      await phone.close()
      await laptop.close()
    })

    it('Given aggregateId and types filters, Then only matching events arrive, deletes of that aggregate included', async () => {
      const store = await fresh()
      const byAggregate = changeRecorder()
      const byType = changeRecorder()
      const stops = [
        watchChanges(store, byAggregate.listener, { aggregateId: 'a' }),
        watchChanges(store, byType.listener, { types: ['Added', 'Renamed'] }),
      ]
      await settle()
      await store.store(ev('x1', 'a', 'Added'))
      await store.store(ev('x2', 'b', 'Added'))
      await store.store(ev('x3', 'a', 'Other'))
      await store.store(ev('x4', 'b', 'Renamed'))
      await store.store(createTombstone({ id: 'x5', aggregateId: 'a' }))
      await until(() => byAggregate.ids().length === 3 && byType.ids().length === 4, 'the filters')
      await settle()
      for (const stop of stops) stop()
      expect(byAggregate.ids()).toEqual(['x1', 'x3', 'x5'])
      // A type filter matches tombstones too: a view of those types learns of the delete.
      expect(byType.ids()).toEqual(['x1', 'x2', 'x4', 'x5'])
    })

    it('Given stop() or an aborted signal, Then nothing more arrives; an already aborted signal delivers nothing', async () => {
      const store = await fresh()
      const stopped = changeRecorder()
      const aborted = changeRecorder()
      const preAborted = changeRecorder()
      const live = changeRecorder()
      const controller = new AbortController()
      const stop = watchChanges(store, stopped.listener)
      watchChanges(store, aborted.listener, { signal: controller.signal })
      watchChanges(store, preAborted.listener, { signal: AbortSignal.abort() })
      const stopLive = watchChanges(store, live.listener)
      await settle()
      await store.store(ev('s1'))
      await until(() => stopped.ids().length === 1 && aborted.ids().length === 1, 'the first')
      stop()
      stop()
      controller.abort()
      await store.store(ev('s2'))
      await until(() => live.ids().length === 2, 'the live watcher')
      await settle()
      stopLive()
      expect(stopped.ids()).toEqual(['s1'])
      expect(aborted.ids()).toEqual(['s1'])
      expect(preAborted.ids()).toEqual([])
    })

    it('Given a listener that throws or rejects, Then onError gets the error and later changes still arrive', async () => {
      const store = await fresh()
      const errors: unknown[] = []
      const got: string[] = []
      let calls = 0
      const stop = watchChanges(
        store,
        async (change) => {
          got.push(...change.events.map((e) => e.event.id))
          calls++
          if (calls === 1) throw new Error('render failed')
          if (calls === 2) return Promise.reject(new Error('async render failed'))
        },
        { onError: (error) => errors.push(error) },
      )
      await settle()
      for (const id of ['l1', 'l2', 'l3']) {
        await store.store(ev(id))
        await until(() => got.includes(id), id)
      }
      stop()
      expect(got).toEqual(['l1', 'l2', 'l3'])
      expect(errors.map((e) => (e as Error).message)).toEqual([
        'render failed',
        'async render failed',
      ])
    })

    it('Given a burst of appends while a slow listener runs, Then they coalesce into few reads, never two at once, each event once, in order', async () => {
      const inner = await fresh()
      let reading = 0
      let maxReading = 0
      let reads = 0
      const store: EventStore = {
        ...delegating(inner),
        load: async (since, options) => {
          reading++
          reads++
          maxReading = Math.max(maxReading, reading)
          try {
            await settleOnce()
            return await inner.load(since, options)
          } finally {
            reading--
          }
        },
      }
      const got: string[] = []
      let changes = 0
      const stop = watchChanges(store, async (change) => {
        changes++
        got.push(...change.events.map((e) => e.event.id))
        await settleOnce()
      })
      await settle()
      const ids = Array.from({ length: 300 }, (_, i) => `b${i}`)
      // Not awaited one by one: appends land in bursts of ten while reads and deliveries run.
      const stored: Promise<unknown>[] = []
      for (const [i, id] of ids.entries()) {
        stored.push(inner.store(ev(id, `agg-${i % 7}`)))
        if (i % 10 === 9) await settleOnce()
      }
      await Promise.all(stored)
      await until(() => got.length === ids.length, 'every event of the burst')
      await settle()
      stop()
      expect(got).toEqual(ids)
      expect(maxReading).toBe(1)
      // 300 wake-ups in 30 bursts: at most one change per burst, one read per change (plus an
      // empty one or two), not one per wake-up.
      expect(changes).toBeLessThanOrEqual(30)
      expect(reads).toBeLessThanOrEqual(changes + 2)
    })

    it('Given a read that fails, Then onError is told and the next wake-up reads again from the same cursor', async () => {
      const inner = await fresh()
      let failNext = false
      const store: EventStore = {
        ...delegating(inner),
        load: async (since, options) => {
          if (failNext) {
            failNext = false
            throw new Error('disk hiccup')
          }
          return inner.load(since, options)
        },
      }
      const errors: unknown[] = []
      const rec = changeRecorder()
      const stop = watchChanges(store, rec.listener, { onError: (e) => errors.push(e) })
      await settle()
      failNext = true
      await inner.store(ev('f1'))
      await until(() => errors.length === 1, 'the failure')
      expect(rec.ids()).toEqual([])
      await inner.store(ev('f2'))
      await until(() => rec.ids().length === 2, 'the retry')
      stop()
      expect(rec.ids()).toEqual(['f1', 'f2'])
    })

    it('Given bad arguments, Then watchChanges throws invalid-argument naming them and watches nothing', async () => {
      const store = await fresh()
      const noop = (): void => undefined
      const cases: [() => unknown, string][] = [
        [() => watchChanges(store, 'f' as never), 'listener'],
        [() => watchChanges(store, noop, { from: 'not a version' }), 'from'],
        [() => watchChanges(store, noop, { from: 7 as never }), 'from'],
        [() => watchChanges(store, noop, { aggregateId: '' }), 'aggregateId'],
        [() => watchChanges(store, noop, { types: [] }), 'types'],
        [() => watchChanges(store, noop, { types: ['A', ''] }), 'types'],
        [() => watchChanges(store, noop, { onError: 'log' as never }), 'onError'],
        [() => watchChanges(store, noop, null as never), 'options'],
        [() => watchChanges({} as never, noop), 'store'],
      ]
      expectInvalidArguments(cases, '[sync-kit] [watch-changes]')
    })
  })
}

import { describe, expect, it } from 'vitest'
import { delegatingStore } from '../src/stores/memory/delegating-store.fixture.js'
import { createMemoryStore } from '../src/stores/memory/index.js'
import { SyncManager } from '../src/sync/sync-manager.js'
import type { EventStore } from '../src/types/index.js'
import { createProjection } from '../src/projections/create-projection.js'
import type { Projection } from '../src/projections/create-projection.js'
import { keepCurrent } from '../src/projections/keep-current.js'
import type { MaterializedAggregate } from '../src/projections/materialize-aggregate.js'
import { createTombstone } from '../src/projections/tombstone.js'
import { delegating, settle, until } from '../src/projections/watch-changes.fixture.js'
import type { ChangeSuiteOptions } from '../src/projections/watch-changes.fixture.js'
import { closedAfterEach, expectInvalidArguments, phoneAndLaptop } from './cases.fixture.js'

/**
 * Registers the `keepCurrent` cases on one store.
 * @param options - the store to run on and the hub its managers sync through.
 */
export function describeKeepCurrent({ name, openStore, createHub }: ChangeSuiteOptions): void {
  describe(`keepCurrent on the ${name} store`, () => {
    const fresh = closedAfterEach(openStore)

    it('Given an aggregate, Then onState gets its state after the load and after each change to it, not for other aggregates', async () => {
      const store = await fresh()
      const manager = new SyncManager({
        store,
        transport: createHub().connect('m'),
        nodeId: 'm',
      })
      await manager.record({ type: 'TodoAdded', aggregateId: 'todo-1', data: { title: 'Milk' } })
      const states: MaterializedAggregate[] = []
      const stop = keepCurrent(store, { aggregateId: 'todo-1' }, (state) => states.push(state))
      await until(() => states.length === 1, 'the initial state')
      expect(states[0]).toMatchObject({ status: 'live', data: { title: 'Milk' } })
      await manager.record({ type: 'TodoAdded', aggregateId: 'todo-2', data: { title: 'Eggs' } })
      await manager.record({ type: 'TodoDone', aggregateId: 'todo-1', data: { done: true } })
      await until(() => states.length === 2, `the change (states: ${JSON.stringify(states)})`)
      expect(states[1]).toMatchObject({ status: 'live', data: { title: 'Milk', done: true } })
      await manager.record(createTombstone({ aggregateId: 'todo-1' }))
      await until(() => states.length === 3, 'the delete')
      expect(states[2]?.status).toBe('deleted')
      await settle()
      stop()
      expect(states).toHaveLength(3)
      await manager.close()
    })

    it('Given an aggregate without events, Then onState first gets it absent, then live once recorded', async () => {
      const store = await fresh()
      const states: MaterializedAggregate[] = []
      const stop = keepCurrent(store, { aggregateId: 'x' }, (state) => states.push(state), {
        fields: { likes: 'counter' },
      })
      await until(() => states.length === 1, 'the initial state')
      expect(states[0]).toMatchObject({ status: 'absent', aggregateId: 'x' })
      await store.store({ id: 'l1', type: 'Liked', aggregateId: 'x', data: { likes: 2 } })
      await store.store({ id: 'l2', type: 'Liked', aggregateId: 'x', data: { likes: 3 } })
      await until(() => states.at(-1)?.data.likes === 5, 'the counter')
      stop()
    })

    it('Given a projection, Then it holds every event after the load, and onState names the aggregates that changed, also for pulled events', async () => {
      const store = await fresh()
      const { phone, laptop } = phoneAndLaptop(createHub(), store)
      await laptop.record({ type: 'TodoAdded', aggregateId: 't1', data: { title: 'Milk' } })
      const todos = createProjection()
      const calls: { view: Projection; changed: readonly string[] }[] = []
      const stop = keepCurrent(store, { projection: todos }, (view, changed) => {
        calls.push({ view, changed })
      })
      await until(() => calls.length === 1, 'the initial state')
      expect(calls[0]?.view).toBe(todos)
      expect(calls[0]?.changed).toEqual(['t1'])
      await phone.record({ type: 'TodoAdded', aggregateId: 't2', data: { title: 'Eggs' } })
      await phone.record({ type: 'TodoAdded', aggregateId: 't3', data: { title: 'Tea' } })
      await phone.sync()
      await laptop.sync()
      await until(() => todos.aggregateIds().length === 3, 'the pulled todos')
      expect(calls.slice(1).flatMap((c) => c.changed)).toEqual(['t2', 't3'])
      expect(todos.get('t3').data).toEqual({ title: 'Tea' })
      stop()
      await phone.close()
      await laptop.close()
    })

    it('Given events stored while the initial load runs, Then each is applied once and none is missed', async () => {
      const inner = await fresh()
      let loads = 0
      const store: EventStore = {
        ...delegating(inner),
        loadByAggregate: async (aggregateId, since, options) => {
          // The first load lets an append in between the head read and the read itself.
          if (loads++ === 0) await inner.store({ id: 'e2', type: 'T', aggregateId, data: { m: 1 } })
          return inner.loadByAggregate(aggregateId, since, options)
        },
      }
      await inner.store({ id: 'e1', type: 'T', aggregateId: 'a', data: { f: 1 } })
      const states: MaterializedAggregate[] = []
      const stop = keepCurrent(store, { aggregateId: 'a' }, (state) => states.push(state))
      await until(() => states.length >= 1, 'the initial state')
      await inner.store({ id: 'e3', type: 'T', aggregateId: 'a', data: { l: 1 } })
      await until(() => states.at(-1)?.appliedEventIds.length === 3, 'the later event')
      await settle()
      stop()
      expect(states.at(-1)?.appliedEventIds).toEqual(['e1', 'e2', 'e3'])
      // The event stored during the load was in it; its wake-up found nothing new to report.
      expect(states.map((s) => s.appliedEventIds.length)).toEqual([2, 3])
    })

    it('Given stop() or an aborted signal, Then onState is not called again', async () => {
      const store = await fresh()
      const stopped: MaterializedAggregate[] = []
      const aborted: MaterializedAggregate[] = []
      const controller = new AbortController()
      const stop = keepCurrent(store, { aggregateId: 'a' }, (s) => stopped.push(s))
      keepCurrent(store, { aggregateId: 'a' }, (s) => aborted.push(s), {
        signal: controller.signal,
      })
      const never: MaterializedAggregate[] = []
      keepCurrent(store, { aggregateId: 'a' }, (s) => never.push(s), {
        signal: AbortSignal.abort(),
      })
      await until(() => stopped.length === 1 && aborted.length === 1, 'the initial states')
      stop()
      controller.abort()
      await store.store({ id: 'e1', type: 'T', aggregateId: 'a', data: {} })
      await settle()
      expect([stopped.length, aborted.length, never.length]).toEqual([1, 1, 0])
    })

    it('Given an onState that throws, Then onError gets it and later changes still arrive', async () => {
      const store = await fresh()
      const errors: unknown[] = []
      const states: MaterializedAggregate[] = []
      const stop = keepCurrent(
        store,
        { aggregateId: 'a' },
        (state) => {
          states.push(state)
          if (states.length <= 2) throw new Error(`render ${states.length} failed`)
        },
        { onError: (error) => errors.push(error) },
      )
      await until(() => states.length === 1, 'the initial state')
      await store.store({ id: 'e1', type: 'T', aggregateId: 'a', data: { n: 1 } })
      await until(() => states.length === 2, 'the first change')
      await store.store({ id: 'e2', type: 'T', aggregateId: 'a', data: { n: 2 } })
      await until(() => states.length === 3, 'the second change')
      stop()
      expect(errors.map((e) => (e as Error).message)).toEqual([
        'render 1 failed',
        'render 2 failed',
      ])
      expect(states[2]?.data).toEqual({ n: 2 })
    })

    it('Given bad targets and options, Then keepCurrent throws invalid-argument naming them', async () => {
      const store = await fresh()
      const noop = (): void => undefined
      const cases: [() => unknown, string][] = [
        [() => keepCurrent(store, null as never, noop), 'target'],
        [() => keepCurrent(store, { aggregateId: '' }, noop), 'aggregateId'],
        [() => keepCurrent(store, { projection: {} as never }, noop), 'projection'],
        [
          () =>
            keepCurrent(store, { aggregateId: 'a', projection: createProjection() } as never, noop),
          'target',
        ],
        [
          () =>
            keepCurrent(store, { projection: createProjection() }, noop, {
              deleteRule: 'edit-wins',
            }),
          'options',
        ],
        [() => keepCurrent(store, { aggregateId: 'a' }, 'f' as never), 'onState'],
        [() => keepCurrent(store, { aggregateId: 'a' }, noop, { types: [] }), 'types'],
        [
          () => keepCurrent(store, { aggregateId: 'a' }, noop, { deleteRule: 'x' as never }),
          'deleteRule',
        ],
        [
          () => keepCurrent(delegatingStore(createMemoryStore()), { aggregateId: 'a' }, noop),
          'store',
        ],
      ]
      expectInvalidArguments(cases)
    })
  })
}

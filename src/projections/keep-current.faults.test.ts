import { describe, expect, it } from 'vitest'
import { createMemoryStore } from '../stores/memory/index.js'
import type { EventStore } from '../types/index.js'
import { keepCurrent } from './keep-current.js'
import { delegating, ev, settle, until } from './watch-changes.fixture.js'

// keepCurrent's start failing once (the head or the initial load cannot be read, as a busy
// IndexedDB or SQLite file may): it used to report the error and then never call onState again.

/** A store whose `loadByAggregate` always fails, counting the calls. */
function alwaysFailingLoad(inner: EventStore): { store: EventStore; loads: () => number } {
  let loads = 0
  const store: EventStore = {
    ...delegating(inner),
    loadByAggregate: async () => {
      loads++
      throw new Error('disk hiccup')
    },
  }
  return { store, loads: () => loads }
}

describe('keepCurrent when its initial load fails', () => {
  it('Given the initial load fails once, When the aggregate changes later, Then onError is told and onState still gets the current state', async () => {
    const inner = createMemoryStore()
    await inner.store(ev('a1', 'todo-1'))
    let failLoad = true
    const store: EventStore = {
      ...delegating(inner),
      loadByAggregate: async (aggregateId, since, options) => {
        if (failLoad) {
          failLoad = false
          throw new Error('disk hiccup')
        }
        return inner.loadByAggregate(aggregateId, since, options)
      },
    }
    const errors: unknown[] = []
    const states: string[][] = []
    const stop = keepCurrent(
      store,
      { aggregateId: 'todo-1' },
      (state) => states.push(Object.keys(state.data ?? {}).sort()),
      { onError: (e) => errors.push(e) },
    )
    await until(() => errors.length === 1, 'the failure')
    await inner.store(ev('a2', 'todo-1'))
    await until(() => states.length > 0, 'a state after the failed load', 2000)
    stop()
    expect(states.at(-1)).toEqual(['a1', 'a2'])
  })

  it('Given a failed start, When stopped before the next change, Then no retry runs and onState is never called', async () => {
    const inner = createMemoryStore()
    const { store, loads } = alwaysFailingLoad(inner)
    const errors: unknown[] = []
    let states = 0
    const stop = keepCurrent(store, { aggregateId: 'todo-1' }, () => states++, {
      onError: (e) => errors.push(e),
    })
    await until(() => errors.length === 1, 'the failure')
    stop()
    await inner.store(ev('a1', 'todo-1'))
    await settle()
    expect({ loads: loads(), states, errors: errors.length }).toEqual({
      loads: 1,
      states: 0,
      errors: 1,
    })
  })

  it('Given a start that keeps failing, When changes come, Then each wake-up retries once and an already aborted signal starts nothing', async () => {
    const inner = createMemoryStore()
    const { store, loads } = alwaysFailingLoad(inner)
    const errors: unknown[] = []
    const stop = keepCurrent(store, { aggregateId: 'todo-1' }, () => undefined, {
      onError: (e) => errors.push(e),
    })
    await until(() => errors.length === 1, 'the failure')
    await inner.store(ev('a1', 'todo-1'))
    await until(() => errors.length === 2, 'the retry')
    await inner.store(ev('a2', 'todo-1'))
    await until(() => errors.length === 3, 'the second retry')
    stop()
    expect(loads()).toBe(3)
    const aborted = AbortSignal.abort()
    const stopAborted = keepCurrent(store, { aggregateId: 'todo-1' }, () => undefined, {
      signal: aborted,
    })
    stopAborted()
    await settle()
    expect(loads()).toBe(3)
  })
})

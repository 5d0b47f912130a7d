// The change API (watchChanges, keepCurrent) on the IndexedDB store in Node (fake-indexeddb): the
// cases the memory store runs in src/projections, here on the store's own wake-ups; then what
// only IndexedDB has: another store object of the same database (another tab) wakes the watcher
// through the BroadcastChannel, and its events arrive as changes.
import { afterEach, describe, expect, it } from 'vitest'
import { describeKeepCurrent } from '../../../test/keep-current.cases.fixture.js'
import { describeWatchChanges } from '../../../test/watch-changes.cases.fixture.js'
import { changeRecorder, settle, until } from '../../projections/watch-changes.fixture.js'
import { watchChanges } from '../../projections/watch-changes.js'
import { createLoopbackHub } from '../../transports/loopback/index.js'
import { fakeIndexedDb } from './indexeddb.fixture.js'
import { openIndexedDbStore } from './index.js'
import type { IndexedDbStore } from './index.js'

let databases = 0
// A name of its own per store: stores of one name hear each other's BroadcastChannel posts.
const options = {
  name: 'indexeddb (fake-indexeddb)',
  openStore: () => openIndexedDbStore({ name: `changes-${++databases}`, ...fakeIndexedDb() }),
  createHub: createLoopbackHub,
}
describeWatchChanges(options)
describeKeepCurrent(options)

describe('watchChanges across tabs (two IndexedDB store objects of one database)', () => {
  const open: IndexedDbStore[] = []
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close()
  })

  it("Given two tabs' stores of one database, When one tab stores events, Then the other tab's watcher gets them as changes", async () => {
    const db = fakeIndexedDb()
    const name = `tabs-${++databases}`
    const tabA = await openIndexedDbStore({ name, ...db })
    const tabB = await openIndexedDbStore({ name, ...db })
    open.push(tabA, tabB)
    expect(tabB.replicaId).toBe(tabA.replicaId)
    const inB = changeRecorder()
    const stop = watchChanges(tabB, inB.listener)
    await settle()
    await tabA.storeBatch([
      { id: 'x1', type: 'TodoAdded', aggregateId: 'todo-1', data: { title: 'Milk' } },
      { id: 'x2', type: 'TodoAdded', aggregateId: 'todo-2', data: { title: 'Eggs' } },
    ])
    await until(() => inB.ids().length === 2, "tab B's change")
    expect(inB.changes[0]?.aggregateIds).toEqual(['todo-1', 'todo-2'])
    // And the other way round: tab B's own append too.
    await tabB.store({ id: 'x3', type: 'TodoDone', aggregateId: 'todo-1', data: {} })
    await until(() => inB.ids().length === 3, "tab B's own append")
    stop()
    expect(inB.ids()).toEqual(['x1', 'x2', 'x3'])
  })

  it('Given broadcast: false on the writing tab, Then the other tab hears it only through its poll', async () => {
    const db = fakeIndexedDb()
    const name = `tabs-${++databases}`
    const quiet = await openIndexedDbStore({ name, ...db, broadcast: false })
    const listening = await openIndexedDbStore({ name, ...db })
    open.push(quiet, listening)
    const wakes: (string | undefined)[] = []
    const stop = listening.watch((latest) => wakes.push(latest), { pollIntervalMs: 20 })
    await quiet.store({ id: 'q1', type: 'T', aggregateId: 'a', data: {} })
    await until(() => wakes.length > 0, 'the poll')
    // A poll says nothing about a version: the reader reads from its cursor.
    expect(wakes[0]).toBeUndefined()
    await stop()
    const count = wakes.length
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(wakes.length).toBe(count)
  })
})

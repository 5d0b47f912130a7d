// The todo app's model (todos.ts) on two real SyncManagers over the loopback hub: the list every
// device computes from its store, and the sentences the page shows for the conflicts the managers
// report. The browser end to end test (test/web-app.browser.int.test.ts) runs the same in Chromium.
import { describe, expect, it } from 'vitest'

import {
  SyncManager,
  createLoopbackHub,
  createMemoryStore,
  createProjection,
  lastWriteWins,
} from 'sync-kit'
import type { ConflictReport } from 'sync-kit'

import {
  MAX_TITLE_LENGTH,
  TODO_FIELDS,
  addTodo,
  cleanTitle,
  deleteTodo,
  describeConflict,
  renameTodo,
  setDone,
  todoList,
} from './todos.js'

function device(hub: ReturnType<typeof createLoopbackHub>, nodeId: string) {
  const store = createMemoryStore()
  const manager = new SyncManager({
    store,
    transport: hub.connect(nodeId),
    nodeId,
    resolver: lastWriteWins({ deleteRule: 'delete-wins' }),
  })
  const reports: ConflictReport[] = []
  manager.on('conflict', (report) => reports.push(report))
  const list = async () => {
    const projection = createProjection(TODO_FIELDS)
    projection.apply(await store.load(null))
    return todoList(projection).map(({ title, done }) => ({ title, done }))
  }
  const notes = () => reports.map((report) => describeConflict(report, nodeId).text).sort()
  return { manager, list, notes }
}

describe('the todo model', () => {
  it('Given two devices, When they edit one todo concurrently and another on one side only, Then both compute one list and each words the conflicts from its side', async () => {
    const hub = createLoopbackHub()
    const a = device(hub, 'device-a')
    const b = device(hub, 'device-b')
    await a.manager.record(addTodo('Buy milk', 1, 'todo-1'))
    await a.manager.record(addTodo('Water plants', 2, 'todo-2'))
    await a.manager.record(addTodo('Call mom', 3, 'todo-3'))
    await a.manager.sync()
    await b.manager.sync()
    // When both edit without syncing: the same title on both (b later), a delete against a rename,
    // a check on one side only
    await a.manager.record(renameTodo('todo-1', 'Buy oat milk'))
    await a.manager.record(deleteTodo('todo-2'))
    await a.manager.record(setDone('todo-3', true))
    await new Promise((resolve) => setTimeout(resolve, 2))
    await b.manager.record(renameTodo('todo-1', 'Buy soy milk'))
    await b.manager.record(renameTodo('todo-2', 'Water the plants'))
    for (const d of [a, b, a]) await d.manager.sync()
    // Then one list, oldest first
    const converged = [
      { title: 'Buy soy milk', done: false },
      { title: 'Call mom', done: true },
    ]
    expect(await a.list()).toEqual(converged)
    expect(await b.list()).toEqual(converged)
    // And the same two conflicts on each side, worded from there
    expect(a.notes()).toEqual([
      'both devices changed it — kept title “Buy soy milk” (another device) over “Buy oat milk”',
      'deleted on this device while renamed on another device — the delete wins',
    ])
    expect(b.notes()).toEqual([
      'both devices changed it — kept title “Buy soy milk” (this device) over “Buy oat milk”',
      'deleted on another device while renamed on this device — the delete wins',
    ])
  })

  it('Given concurrent edits of different fields, When they meet, Then both are kept and the note says so', async () => {
    const hub = createLoopbackHub()
    const a = device(hub, 'device-a')
    const b = device(hub, 'device-b')
    await a.manager.record(addTodo('Buy milk', 1, 'todo-1'))
    await a.manager.sync()
    await b.manager.sync()
    await a.manager.record(setDone('todo-1', true))
    await new Promise((resolve) => setTimeout(resolve, 2))
    await b.manager.record(renameTodo('todo-1', 'Buy milk and eggs'))
    for (const d of [a, b, a]) await d.manager.sync()
    expect(await a.list()).toEqual([{ title: 'Buy milk and eggs', done: true }])
    expect(await b.list()).toEqual([{ title: 'Buy milk and eggs', done: true }])
    expect(a.notes()).toEqual(['renamed on another device and checked on this device — both kept'])
  })

  it('orders todos by creation time, then id, and cleans titles', () => {
    const projection = createProjection(TODO_FIELDS)
    const events = [
      addTodo('b', 5, 'todo-b'),
      addTodo('a', 5, 'todo-a'),
      addTodo('  c  ', 1, 'todo-c'),
    ]
    projection.apply(events.map((e, i) => ({ ...e, id: `e${i}` })))
    expect(todoList(projection).map((t) => t.title)).toEqual(['c', 'a', 'b'])
    expect(cleanTitle(`  ${'x'.repeat(MAX_TITLE_LENGTH + 5)} `)).toHaveLength(MAX_TITLE_LENGTH)
    expect(cleanTitle('   ')).toBe('')
  })
})

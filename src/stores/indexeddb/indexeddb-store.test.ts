// The event store conformance suite, run against the IndexedDB store in Node on fake-indexeddb,
// exactly as a third party would: through the public entry point, with the reopen hook opening
// the same database name again, and with the state cases.
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb'
import { describe, it } from 'vitest'
import { eventStoreConformance } from '../../testing/index.js'
import type { ConformanceTestApi } from '../../testing/index.js'
import { openIndexedDbStore } from './index.js'

const test: ConformanceTestApi = {
  describe,
  it: (name, fn) => it(name, fn),
  skip: (name, reason) => it.skip(`${name} (${reason})`, () => undefined),
}

const indexedDB = new IDBFactory()
let databases = 0
const names = new WeakMap<object, string>()

eventStoreConformance({
  name: 'indexeddb (fake-indexeddb)',
  createStore: async () => {
    const name = `conformance-${++databases}`
    const store = await openIndexedDbStore({ name, indexedDB, IDBKeyRange })
    names.set(store, name)
    return store
  },
  // Opens the same database again: everything must be read back from it.
  reopen: (closed) => openIndexedDbStore({ name: names.get(closed) ?? '', indexedDB, IDBKeyRange }),
  storeBatch: true,
  state: true,
  test,
})

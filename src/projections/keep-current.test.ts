import { createMemoryStore } from '../stores/memory/index.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import { describeKeepCurrent } from '../../test/keep-current.cases.fixture.js'

// The cases run here on the memory store, and on the SQLite and IndexedDB stores beside those
// (sqlite-changes.test.ts, indexeddb-changes.test.ts).
describeKeepCurrent({
  name: 'memory',
  openStore: async () => createMemoryStore(),
  createHub: createLoopbackHub,
})

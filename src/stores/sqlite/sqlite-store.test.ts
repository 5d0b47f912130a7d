// The event store conformance suite, run against the SQLite store exactly as a third party would:
// through the public entry points, once on a private in-memory database and once on a temp file.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, it } from 'vitest'
import { eventStoreConformance } from '../../testing/index.js'
import type { ConformanceTestApi } from '../../testing/index.js'
import { openSqliteStore } from './index.js'

const test: ConformanceTestApi = {
  describe,
  it: (name, fn) => it(name, fn),
  skip: (name, reason) => it.skip(`${name} (${reason})`, () => undefined),
}

eventStoreConformance({
  name: 'sqlite (:memory:)',
  createStore: () => openSqliteStore({ path: ':memory:' }),
  reopen: 'an in-memory SQLite database is gone once closed',
  test,
})

const dir = mkdtempSync(join(tmpdir(), 'sync-kit-sqlite-conformance-'))
let files = 0
const paths = new WeakMap<object, string>()
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

eventStoreConformance({
  name: 'sqlite (temp file)',
  createStore: async () => {
    const path = join(dir, `store-${++files}.db`)
    const store = await openSqliteStore({ path })
    paths.set(store, path)
    return store
  },
  // Opens the same file again: events, versions, checkpoints must all be read back from disk.
  reopen: (closed) => openSqliteStore({ path: paths.get(closed) ?? '' }),
  test,
})

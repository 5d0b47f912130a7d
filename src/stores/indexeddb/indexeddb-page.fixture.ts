// The page side of the Chromium test (indexeddb-chromium.browser.int.test.ts), bundled for the
// browser: registers the event store conformance suite on the browser's own IndexedDB with a
// `test` API that records the cases, and exposes them on `globalThis.syncKitPage`, where the test
// runs them one by one (one vitest test per case), plus a few probes for reload and tab checks.
import { eventStoreConformance } from '../../testing/index.js'
import type { EventStore } from '../../types/index.js'
import { openIndexedDbStore } from './index.js'
import type { IndexedDbStore } from './index.js'
import { createPageSuite } from '../../../test/page-suite.fixture.js'
import type { PageCaseResult } from '../../../test/page-suite.fixture.js'

export type { PageCaseResult } from '../../../test/page-suite.fixture.js'

/** What a probe of one database found. */
export interface PageProbe {
  readonly replicaId: string
  readonly ids: readonly string[]
  readonly latest: string
}

/** The page's API, on `globalThis.syncKitPage`. */
export interface ConformancePage {
  /** The suite's describe name. */
  readonly suite: string
  /** Every registered case, with its skip reason when skipped. */
  readonly cases: readonly { readonly name: string; readonly skip?: string }[]
  /** Runs one case, at most {@link CASE_TIMEOUT_MS}. */
  run(name: string): Promise<PageCaseResult>
  /** Opens the store of database `name`, stores events with these ids, reads everything, closes. */
  probe(name: string, store: readonly string[]): Promise<PageProbe>
  /** Opens database `name` and keeps the store open, recording how it closes. */
  hold(name: string): Promise<string>
  /** The `onClosed` message of the held store, if it closed by itself. */
  heldClosedBy(): string | undefined
  /** Deletes database `name` (open stores of it close themselves first). */
  wipe(name: string): Promise<void>
}

/** Longest a case may run in the page before it fails as timed out. */
const CASE_TIMEOUT_MS = 10_000

const recorded = createPageSuite(CASE_TIMEOUT_MS)
const names = new WeakMap<EventStore, string>()
// Database names of this page load: a reload starts from fresh names for the conformance cases.
const run = Math.random().toString(36).slice(2, 10)
let databases = 0

eventStoreConformance({
  name: 'indexeddb (chromium)',
  createStore: async () => {
    const name = `conformance-${run}-${++databases}`
    const store = await openIndexedDbStore({ name })
    names.set(store, name)
    return store
  },
  reopen: (closed) => openIndexedDbStore({ name: names.get(closed) ?? '' }),
  storeBatch: true,
  state: true,
  test: recorded.test,
})

let held: IndexedDbStore | undefined
let heldClosedBy: string | undefined

const page: ConformancePage = {
  get suite() {
    return recorded.suite
  },
  cases: recorded.cases,
  run: (name) => recorded.run(name),
  async probe(name, store) {
    const opened = await openIndexedDbStore({ name })
    try {
      await opened.storeBatch(
        store.map((id) => ({ id, type: 'Probed', aggregateId: 'p', data: {} })),
      )
      const all = await opened.load(null)
      return {
        replicaId: opened.replicaId,
        ids: all.map((r) => r.event.id),
        latest: (await opened.latestVersion()).toString(),
      }
    } finally {
      await opened.close()
    }
  },
  async hold(name) {
    held = await openIndexedDbStore({
      name,
      onClosed: (error) => {
        heldClosedBy = error.message
      },
    })
    return held.replicaId
  },
  heldClosedBy: () => heldClosedBy,
  wipe: (name) =>
    new Promise((resolve, reject) => {
      const request = indexedDB.deleteDatabase(name)
      request.onsuccess = () => {
        resolve()
      }
      request.onerror = () => {
        reject(request.error ?? new Error('deleteDatabase failed'))
      }
    }),
}

;(globalThis as { syncKitPage?: ConformancePage }).syncKitPage = page

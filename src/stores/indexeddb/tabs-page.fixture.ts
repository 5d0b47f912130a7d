// The page side of tabs.browser.int.test.ts, bundled for the browser: each tab (page) of one
// browser context opens the same IndexedDB database and exposes, on `globalThis.syncKitTabs`,
// what the test drives — leading through runInOneTab (real Web Locks), recording through a
// SyncManager with sharedReplica(), and the changes watchChanges delivers in this tab.
import { SyncManager, createLoopbackHub, watchChanges } from '../../index.js'
import { openIndexedDbStore, runInOneTab, sharedReplica } from './index.js'
import type { IndexedDbStore } from './index.js'

/** The page's API, on `globalThis.syncKitTabs`. */
export interface TabsPage {
  /** Asks to lead job `name` (runInOneTab); `leading()` says when this tab does. */
  lead(name: string): void
  /** Whether this tab runs the job now. */
  leading(): boolean
  /** Opens database `name` (once per tab) and watches its changes. */
  open(name: string): Promise<string>
  /** Records `count` events through this tab's manager; resolves with their dots. */
  record(count: number): Promise<string[]>
  /** Ids of the events watchChanges delivered in this tab, in order. */
  seen(): string[]
  /** Every event's dot (writer:count) in the database, in log order. */
  dots(): Promise<string[]>
}

let leading = false
let store: IndexedDbStore | undefined
let manager: SyncManager | undefined
const seen: string[] = []

function dotOf(event: {
  readonly metadata?: { readonly causal?: unknown; readonly origin?: unknown }
}): string {
  const origin = String(event.metadata?.origin)
  const entry = String(event.metadata?.causal)
    .split(',')
    .find((part) => part.startsWith(`${origin}:`))
  return entry ?? `${origin}:?`
}

const page: TabsPage = {
  lead(name) {
    runInOneTab(name, () => {
      leading = true
      return () => {
        leading = false
      }
    })
  },
  leading: () => leading,
  async open(name) {
    store ??= await openIndexedDbStore({ name })
    // The transport is never used: the tabs record, the test reads the database.
    manager ??= new SyncManager({
      store,
      transport: createLoopbackHub().connect('tab'),
      features: [sharedReplica()],
    })
    watchChanges(store, (change) => {
      seen.push(...change.events.map((item) => item.event.id))
    })
    return store.replicaId
  },
  async record(count) {
    const own = manager
    if (own === undefined) throw new Error('open() first')
    const events = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        own.record({ type: 'Edited', aggregateId: `doc-${i % 2}`, data: { i } }),
      ),
    )
    return events.map((item) => dotOf(item.event))
  },
  seen: () => [...seen],
  async dots() {
    const all = (await store?.load(null)) ?? []
    return all.map((item) => dotOf(item.event))
  },
}

;(globalThis as { syncKitTabs?: TabsPage }).syncKitTabs = page

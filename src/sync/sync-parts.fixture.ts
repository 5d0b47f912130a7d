// Shared fixtures for the unit tests of the SyncManager's parts (not shipped: no entry imports it).
import { ev } from '../resolvers/resolvers.fixture.js'
import { createMemoryStore } from '../stores/memory/index.js'
import type {
  Event,
  EventHandler,
  EventStore,
  EventWithVersion,
  Transport,
} from '../types/index.js'
import type { SyncManager } from './sync-manager.js'
import { type SyncContext, type SyncManagerOptions, resolveSyncOptions } from './sync-options.js'

/** A context for replica `a` over a memory store, with every emitted event collected. */
export function partsContext(extra: Partial<SyncManagerOptions> = {}): {
  readonly ctx: SyncContext
  readonly store: EventStore
  readonly emitted: [string, unknown][]
} {
  const store = extra.store ?? createMemoryStore()
  const ctx = resolveSyncOptions({
    store,
    // The parts under test never reach the remote.
    transport: {} as Transport,
    nodeId: 'a',
    ...extra,
  })
  const emitted: [string, unknown][] = []
  for (const name of ['sync', 'conflict', 'error', 'clock-drift', 'epoch-changed'] as const) {
    ctx.events.on(name, (payload) => emitted.push([name, payload]))
  }
  return { ctx, store, emitted }
}

/**
 * Stores an event stamped by `node` with the causal context `causal`.
 * @returns the stored event and its version.
 */
export async function stored(
  store: EventStore,
  id: string,
  node: string,
  causal: Readonly<Record<string, number>>,
  data: Event['data'] = { v: id },
): Promise<EventWithVersion> {
  const event = ev(id, data as never, { node, causal, wall: 1_000 })
  const { version } = await store.store(event)
  return { event, version }
}

/**
 * Registers managers to close after each test (call at the top level of a test file).
 * @param afterEach - vitest's `afterEach` (passed in: the core's files, fixtures too, import no
 * test runner).
 * @returns the list to push the test's managers to.
 */
export function closedAfterEach(afterEach: (fn: () => Promise<void>) => void): SyncManager[] {
  const managers: SyncManager[] = []
  afterEach(async () => {
    for (const m of managers.splice(0)) await m.close()
  })
  return managers
}

/**
 * Waits until an async check holds, polling every 5 ms.
 * @param check - what to wait for.
 * @param ms - how long to wait before failing.
 */
export async function eventually(check: () => Promise<boolean>, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/**
 * A transport over `inner` that counts the events its pulls return, and may rewrite the handler of
 * each live subscription (to drop or change batches).
 * @param inner - the transport wrapped.
 * @param rewrite - maps the manager's handler to the one the inner transport gets.
 * @returns the transport, with `pulledEvents` and `pullCalls`.
 */
export function counting(
  inner: Transport,
  rewrite: (handler: EventHandler) => EventHandler = (h) => h,
): Transport & { pulledEvents: number; pullCalls: number } {
  const t = {
    pulledEvents: 0,
    pullCalls: 0,
    push: (events, o) => inner.push(events, o),
    pull: async (since, o) => {
      t.pullCalls++
      const page = await inner.pull(since, o)
      t.pulledEvents += page.events.length
      return page
    },
    latestVersion: (o) => inner.latestVersion(o),
    parseVersion: (v) => inner.parseVersion(v),
    subscribe: (handler, o) =>
      (inner.subscribe as NonNullable<Transport['subscribe']>)(rewrite(handler), o),
    close: () => inner.close(),
  } satisfies Transport & { pulledEvents: number; pullCalls: number }
  return t
}

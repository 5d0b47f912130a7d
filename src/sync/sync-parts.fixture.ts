// Shared fixtures for the unit tests of the SyncManager's parts (not shipped: no entry imports it).
import { ev } from '../resolvers/resolvers.fixture.js'
import { createMemoryStore } from '../stores/memory/index.js'
import type { Event, EventStore, EventWithVersion, Transport } from '../types/index.js'
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

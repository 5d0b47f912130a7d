// Small helpers the scenario tests of several units share: stores opened for one case and closed
// after it, the check that calls are refused with invalid-argument naming their argument, and two
// replicas on one hub.
import { afterEach, expect } from 'vitest'
import { isSyncKitError } from '../src/errors/sync-kit-error.js'
import { createMemoryStore } from '../src/stores/memory/index.js'
import { SyncManager } from '../src/sync/sync-manager.js'
import type { EventStore, Transport } from '../src/types/index.js'

/**
 * Registers an `afterEach` (in the current describe) that closes what `open` opened in the case.
 * @param open - opens a fresh store (or anything with `close()`).
 * @returns `open`, recording what it opened.
 */
export function closedAfterEach<T extends { close(): Promise<void> }>(
  open: () => Promise<T>,
): () => Promise<T> {
  const opened: T[] = []
  afterEach(async () => {
    for (const item of opened.splice(0)) await item.close()
  })
  return async () => {
    const item = await open()
    opened.push(item)
    return item
  }
}

/**
 * Expects each call to throw a `SyncKitError` `invalid-argument` whose `details.argument` names
 * the argument.
 * @param cases - the call, and the argument it must name.
 * @param prefix - what each message must start with, e.g. `[sync-kit] [watch-changes]`.
 */
export function expectInvalidArguments(
  cases: readonly (readonly [() => unknown, string])[],
  prefix = '[sync-kit]',
): void {
  for (const [call, argument] of cases) {
    let error: unknown
    try {
      call()
    } catch (caught) {
      error = caught
    }
    expect(isSyncKitError(error, 'invalid-argument'), argument).toBe(true)
    expect((error as { details: { argument: string } }).details.argument, argument).toBe(argument)
    expect((error as Error).message.startsWith(prefix), (error as Error).message).toBe(true)
  }
}

/**
 * Two replicas on one hub: `phone` on a memory store of its own, `laptop` on `store`.
 * @param hub - the hub (e.g. a new `createLoopbackHub()`).
 * @param store - the laptop's store (the one under test).
 * @returns both managers.
 */
export function phoneAndLaptop(
  hub: { connect(clientId: string): Transport },
  store: EventStore,
): { readonly phone: SyncManager; readonly laptop: SyncManager } {
  const phone = new SyncManager({
    store: createMemoryStore(),
    transport: hub.connect('phone'),
    nodeId: 'phone',
  })
  const laptop = new SyncManager({ store, transport: hub.connect('laptop'), nodeId: 'laptop' })
  return { phone, laptop }
}

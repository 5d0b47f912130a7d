/**
 * Adversarial regression tests for the loopback hub: calls racing with `reset()` and `close()`
 * on a hub whose store answers asynchronously (as SQLite behind a worker, or IndexedDB, would).
 * A client must see transport errors (`unavailable`, `transport-closed`), never the hub store's
 * own `closed`.
 */
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import { createMemoryStore } from '../../stores/memory/index.js'
import type { EventStore } from '../../types/index.js'
import { createLoopbackHub } from './loopback-hub.js'
import { createTestHub } from './test-hub.js'

/** A memory store whose calls each wait for a timer turn before running. */
function slowStore(): EventStore {
  const inner = createMemoryStore()
  const turn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5))
  return {
    async store(event, options) {
      await turn()
      return inner.store(event, options)
    },
    async storeBatch(events, options) {
      await turn()
      return inner.storeBatch(events, options)
    },
    async load(since, options) {
      await turn()
      return inner.load(since, options)
    },
    loadByAggregate: (aggregateId, since, options) =>
      inner.loadByAggregate(aggregateId, since, options),
    latestVersion: (options) => inner.latestVersion(options),
    parseVersion: (value) => inner.parseVersion(value),
    getCheckpoint: (key, options) => inner.getCheckpoint(key, options),
    setCheckpoint: (key, value, options) => inner.setCheckpoint(key, value, options),
    close: () => inner.close(),
  }
}

const event = (id: string) => ({ id, type: 'T', aggregateId: 'a', data: null })

describe('loopback hub: calls racing with reset and close', () => {
  it('Given a pull in flight on an asynchronous store, When the hub is reset, Then the pull fails unavailable (retry), not with the old store’s closed', async () => {
    const hub = createTestHub({ store: () => slowStore() })
    const client = hub.connect('a')
    await client.push([event('e1')])

    const pull = client.pull(null).catch((e: unknown) => e)
    await hub.reset()

    const outcome = await pull
    if (outcome instanceof Error) {
      expect(isSyncKitError(outcome, 'unavailable')).toBe(true)
    } else {
      expect(outcome).toMatchObject({ events: [] })
    }
    expect(hub.calls.at(-1)?.error).not.toBe('closed')
  })

  it('Given pushes queued on an asynchronous store, When the hub closes, Then they fail transport-closed, not closed', async () => {
    const hub = createLoopbackHub({ store: () => slowStore() })
    const client = hub.connect('a')

    const pushes = [client.push([event('e1')]), client.push([event('e2')])].map((p) =>
      p.then(
        () => 'stored',
        (e: unknown) => (isSyncKitError(e) ? e.code : String(e)),
      ),
    )
    await hub.close()

    for (const outcome of await Promise.all(pushes)) {
      expect(['stored', 'transport-closed']).toContain(outcome)
    }
  })
})

/**
 * Live replicas that start on an empty server (issue 10: at 100 live clients, each client's first
 * live batches found no pull checkpoint, so each pulled — chasing the writers — what its stream
 * was delivering). A batch that starts the log is stored without a checkpoint, and the stream's
 * later batches follow it.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryStore } from '../stores/memory/index.js'
import { createHttpTransport, createSyncHandler } from '../transports/http/index.js'
import { serve } from '../transports/http/node.js'
import type { EventStore, Transport } from '../types/index.js'
import { liveMode } from './live-mode.js'
import { SyncManager } from './sync-manager.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const ids = async (store: EventStore): Promise<string[]> =>
  (await store.load(null)).map((e) => e.event.id)

/** An HTTP transport that counts the events its pulls return. */
function counted(url: string): Transport & { pulled: number } {
  const inner = createHttpTransport({ url })
  const t: Transport & { pulled: number } = {
    pulled: 0,
    push: (events, o) => inner.push(events, o),
    pull: async (since, o) => {
      const page = await inner.pull(since, o)
      t.pulled += page.events.length
      return page
    },
    latestVersion: (o) => inner.latestVersion(o),
    parseVersion: (v) => inner.parseVersion(v),
    subscribe: (h, o) => (inner.subscribe as NonNullable<Transport['subscribe']>)(h, o),
    close: () => inner.close(),
  }
  return t
}

describe('SyncManager live mode on an empty server', () => {
  it('Given two live replicas started on an empty server, When one records 30 events, Then the other stores them from its stream and pulls none of them', async () => {
    const store = createMemoryStore()
    const running = await serve({
      handler: createSyncHandler({ store }),
      port: 0,
      host: '127.0.0.1',
    })
    cleanups.push(() => running.close())
    const replica = (nodeId: string) => {
      const transport = counted(running.url)
      const local = createMemoryStore()
      const manager = new SyncManager({
        store: local,
        transport,
        nodeId,
        intervalMs: 3_600_000,
        features: [liveMode()],
      })
      cleanups.push(() => manager.close())
      return { transport, local, manager }
    }
    const writer = replica('w')
    const reader = replica('r')
    writer.manager.start()
    reader.manager.start()
    // The first sync of each found the log empty; then the streams open.
    const synced = (m: SyncManager) => new Promise((resolve) => m.on('sync', resolve))
    await Promise.all([synced(writer.manager), synced(reader.manager)])
    await new Promise((r) => setTimeout(r, 200))

    for (let i = 0; i < 30; i++) {
      await writer.manager.record({ id: `w${i}`, type: 'T', aggregateId: 'x', data: { i } })
    }

    await until('the reader holds every event', async () => (await ids(reader.local)).length === 30)
    expect(await ids(reader.local)).toEqual(await ids(store))
    // At most the one event read to see that the first batch starts the log.
    expect(reader.transport.pulled).toBeLessThanOrEqual(1)
  })
})

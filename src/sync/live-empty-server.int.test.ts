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
import type { EventStore } from '../types/index.js'
import { liveMode } from './live-mode.js'
import { SyncManager } from './sync-manager.js'
import { closedAfterEach, counting, eventually } from './sync-parts.fixture.js'

const managers = closedAfterEach(afterEach)
const servers: { close(): Promise<void> }[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})

const ids = async (store: EventStore): Promise<string[]> =>
  (await store.load(null)).map((e) => e.event.id)

describe('SyncManager live mode on an empty server', () => {
  it('Given two live replicas started on an empty server, When one records 30 events, Then the other stores them from its stream and pulls none of them', async () => {
    const store = createMemoryStore()
    const running = await serve({
      handler: createSyncHandler({ store }),
      port: 0,
      host: '127.0.0.1',
    })
    servers.push(running)
    const replica = (nodeId: string) => {
      const transport = counting(createHttpTransport({ url: running.url }))
      const local = createMemoryStore()
      const manager = new SyncManager({
        store: local,
        transport,
        nodeId,
        intervalMs: 3_600_000,
        features: [liveMode()],
      })
      managers.push(manager)
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

    await eventually(async () => (await ids(reader.local)).length === 30, 10_000)
    expect(await ids(reader.local)).toEqual(await ids(store))
    // At most the one event read to see that the first batch starts the log.
    expect(reader.transport.pulledEvents).toBeLessThanOrEqual(1)
  })
})

/**
 * No echo (issue 10 §1): a replica pushes only the events it recorded or got elsewhere, never one
 * it pulled from the same remote — counted on the wire (the test hub's call records), not timed.
 */
import { describe, expect, it } from 'vitest'
import { createMemoryStore } from '../stores/memory/index.js'
import { createTestHub } from '../transports/loopback/testing.js'
import type { TestHub } from '../transports/loopback/testing.js'
import type { EventStore } from '../types/index.js'
import { SyncManager } from './sync-manager.js'

const CLIENTS = 10
const ROUNDS = 20
const EVENTS_PER_ROUND = 3
const RESTART_ROUND = 7
const RESET_ROUND = 14

interface Client {
  readonly nodeId: string
  readonly store: EventStore
  manager: SyncManager
}

function open(hub: TestHub, nodeId: string, store: EventStore, connection = nodeId): SyncManager {
  return new SyncManager({ store, transport: hub.connect(connection), nodeId })
}

/** Events sent over the wire by every push so far (refused or not). */
function pushedOnWire(hub: TestHub): number {
  return hub.calls.filter((c) => c.op === 'push').reduce((n, c) => n + c.events, 0)
}

describe('no echo', () => {
  it('Given 10 clients writing at once through one server, with a restart and an epoch change, When they sync round after round, Then pushed events / stored events ≤ 1.05', async () => {
    // Given ten replicas editing shared aggregates
    const hub = createTestHub()
    const clients: Client[] = Array.from({ length: CLIENTS }, (_, i) => {
      const nodeId = `c${i}`
      const store = createMemoryStore()
      return { nodeId, store, manager: open(hub, nodeId, store) }
    })
    let storedInOldLog = 0
    let recorded = 0
    for (let round = 0; round < ROUNDS; round++) {
      if (round === RESTART_ROUND) {
        // half the clients restart: new managers (and connections) on the same stores
        for (const client of clients.slice(0, CLIENTS / 2)) {
          await client.manager.close()
          client.manager = open(hub, client.nodeId, client.store, `${client.nodeId}-restarted`)
        }
      }
      if (round === RESET_ROUND) {
        // the server is replaced by an empty one: a new epoch, whose log needs every event again
        storedInOldLog = (await hub.store.load(null)).length
        await hub.reset()
      }
      // Each client keeps writing while its sync runs (as a live app does): its new events land
      // between the pages it pulls.
      const writeAndSync = async (client: Client, i: number): Promise<void> => {
        const sync = client.manager.sync()
        for (let k = 0; k < EVENTS_PER_ROUND; k++) {
          const aggregateId = `todo-${(i + k + round) % 4}`
          await client.manager.record({ type: 'Edited', aggregateId, data: { round, k } })
          recorded++
        }
        await sync
      }
      if (round === RESET_ROUND) {
        // Right after the reset the clients come back one after another: each recovery pulls the
        // new log before re-sending, so only the first re-sends the history. (Clients noticing a
        // reset at the very same moment each re-send it: the new log needs every event, and none
        // can know that another one sends it.)
        for (const [i, client] of clients.entries()) await writeAndSync(client, i)
      } else {
        // When every client records and all sync at once
        await Promise.all(clients.map(writeAndSync))
      }
    }
    for (let settle = 0; settle < 2; settle++) {
      for (const client of clients) await client.manager.sync()
    }

    // Then every client holds every event, and the wire carried at most 5 % more events than the
    // server stored (each log counted once: the new one needs everything)
    const inLog = (await hub.store.load(null)).length
    expect(inLog).toBe(recorded)
    for (const client of clients) expect((await client.store.load(null)).length).toBe(recorded)
    const ratio = pushedOnWire(hub) / (storedInOldLog + inLog)
    expect(ratio).toBeLessThanOrEqual(1.05)
  })
})

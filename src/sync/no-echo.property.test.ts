/**
 * The property behind "no echo" (issue 10 §1): skipping the events a remote is known to hold never
 * skips one it lacks. Three replicas and two remotes; replica r0 has a manager for each remote over
 * one store (it relays), r1 syncs with the first remote and r2 with the second. Random records,
 * syncs (both ways, push only, pull only), server resets (new epochs) and restarts (new managers on
 * the same stores), events of foreign writers written straight into a remote's log (only the
 * replicas that pulled them can re-send them), with page sizes of 1, 2 and 500. After everyone
 * syncs until nothing moves, both remotes and every replica must hold every recorded event and
 * every event any replica holds.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createMemoryStore } from '../stores/memory/index.js'
import { createLoopbackHub } from '../transports/loopback/index.js'
import type { LoopbackHub } from '../transports/loopback/index.js'
import type { EventStore } from '../types/index.js'
import { SyncManager } from './sync-manager.js'

/** Which replica and which remote each manager serves. */
const MANAGERS = [
  { replica: 0, remote: 0 },
  { replica: 0, remote: 1 },
  { replica: 1, remote: 0 },
  { replica: 2, remote: 1 },
] as const
/** The manager that records for each replica (one per replica: one causal tracker per node id). */
const RECORDER = [0, 2, 3] as const

type Action =
  | { readonly kind: 'record'; readonly replica: number }
  | { readonly kind: 'sync'; readonly manager: number; readonly only: 'both' | 'push' | 'pull' }
  | { readonly kind: 'reset'; readonly remote: number }
  | { readonly kind: 'restart'; readonly manager: number }
  | { readonly kind: 'foreign'; readonly remote: number }

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('record' as const), replica: fc.nat(2) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('sync' as const),
      manager: fc.nat(MANAGERS.length - 1),
      only: fc.constantFrom('both' as const, 'both' as const, 'push' as const, 'pull' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const), remote: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('foreign' as const), remote: fc.nat(1) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('restart' as const),
      manager: fc.nat(MANAGERS.length - 1),
    }),
  },
)

async function run(batchSize: number, actions: readonly Action[]): Promise<string[]> {
  const hubs: LoopbackHub[] = [createLoopbackHub(), createLoopbackHub()]
  const stores: EventStore[] = [createMemoryStore(), createMemoryStore(), createMemoryStore()]
  let connections = 0
  const open = (m: number): SyncManager => {
    const { replica, remote } = MANAGERS[m] as (typeof MANAGERS)[number]
    return new SyncManager({
      store: stores[replica] as EventStore,
      transport: (hubs[remote] as LoopbackHub).connect(`c${++connections}`),
      nodeId: `r${replica}`,
      remote: `remote-${remote}`,
      batchSize,
    })
  }
  const managers = MANAGERS.map((_, m) => open(m))
  const recorded: string[] = []
  let foreign = 0
  try {
    for (const action of actions) {
      switch (action.kind) {
        case 'record': {
          const manager = managers[RECORDER[action.replica] as number] as SyncManager
          const { event } = await manager.record({ type: 'T', aggregateId: 'x', data: null })
          recorded.push(event.id)
          break
        }
        case 'sync':
          await (managers[action.manager] as SyncManager).sync(
            action.only === 'both' ? {} : { only: action.only },
          )
          break
        case 'reset':
          await (hubs[action.remote] as LoopbackHub).reset()
          break
        case 'restart':
          await (managers[action.manager] as SyncManager).close()
          managers[action.manager] = open(action.manager)
          break
        case 'foreign': {
          // A writer that is no replica here: it never sends its event again.
          const origin = `f${++foreign}`
          const metadata = { origin, causal: `${origin}:1` }
          const event = { id: origin, type: 'T', aggregateId: 'x', data: null, metadata }
          await (hubs[action.remote] as LoopbackHub).store.store(event)
        }
      }
    }
    for (let round = 0; round < 8; round++) {
      let moved = 0
      for (const manager of managers) {
        const result = await manager.sync()
        moved += result.pushed + result.pulled
      }
      if (moved === 0) break
    }
    const problems: string[] = []
    const places = [...hubs.map((hub) => hub.store), ...stores]
    const expected = new Set(recorded)
    for (const store of stores)
      for (const { event } of await store.load(null)) expected.add(event.id)
    for (const [i, store] of places.entries()) {
      const held = new Set((await store.load(null)).map((e) => e.event.id))
      const missing = [...expected].filter((id) => !held.has(id))
      const name = i < hubs.length ? `remote-${i}` : `r${i - hubs.length}`
      if (missing.length > 0) problems.push(`${name} lacks ${missing.join(', ')}`)
    }
    return problems
  } finally {
    for (const manager of managers) await manager.close()
    for (const hub of hubs) await hub.close()
  }
}

describe('no echo, as a property', () => {
  it('Given relays, resets, restarts and any interleaving of syncs, when everyone syncs until nothing moves, then no remote and no replica lacks a recorded event', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(1, 2, 500),
        fc.array(actionArb, { minLength: 1, maxLength: 40 }),
        async (batchSize, actions) => {
          expect(await run(batchSize, actions)).toEqual([])
        },
      ),
      { numRuns: 200, seed: 20_250_610 },
    )
  })
})

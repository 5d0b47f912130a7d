/**
 * Convergence over WebSocket with dropped connections (issue 13): 2–3 live replicas (`SyncManager`
 * with `features: [liveMode()]` over `sync-kit/ws`, real sockets on 127.0.0.1) record random edits of a few
 * aggregates and sync at random, while every TCP connection of the server is killed at random
 * moments, some of them mid-push or mid-delivery. After the drops stop and every replica synced
 * again, every replica must hold exactly the events recorded anywhere, none lost, none twice, and
 * materialise the same state of every aggregate.
 *
 * A focused property with its own small generator (the loopback property of
 * `src/sync/convergence.property.test.ts` drives a simulated network with a test clock; this one
 * drives real sockets with real time, so it runs fewer cases): 30 runs from a fixed seed by default;
 * `SYNC_KIT_WS_RUNS=100 SYNC_KIT_SEED=random npx vitest run --project integration
 * src/transports/ws/ws-convergence.property.int.test.ts` for more.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isSyncKitError } from '../../errors/sync-kit-error.js'
import { materializeAggregate } from '../../projections/materialize-aggregate.js'
import { lastWriteWins } from '../../resolvers/last-write-wins.js'
import { createMemoryStore } from '../../stores/memory/index.js'
import { SyncManager } from '../../sync/sync-manager.js'
import type { EventStore } from '../../types/index.js'
import { startWsServer, wsClient } from '../../../test/ws.fixture.js'
import { liveMode } from '../../sync/live-mode.js'

const RUNS = Number(process.env['SYNC_KIT_WS_RUNS'] ?? 30)
const SEED_ENV = process.env['SYNC_KIT_SEED']
const SEED = SEED_ENV === 'random' ? Date.now() : Number(SEED_ENV ?? 20_261_201)
const AGGREGATES = ['doc-1', 'doc-2', 'doc-3'] as const

type Action =
  | { readonly kind: 'record'; readonly r: number; readonly aggregate: number; readonly n: number }
  | { readonly kind: 'sync'; readonly r: number }
  | { readonly kind: 'drop' }
  | { readonly kind: 'pause'; readonly ms: number }

const action = (replicas: number): fc.Arbitrary<Action> =>
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('record' as const),
        r: fc.nat(replicas - 1),
        aggregate: fc.nat(AGGREGATES.length - 1),
        n: fc.integer({ min: 0, max: 1000 }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('sync' as const), r: fc.nat(replicas - 1) }),
    },
    { weight: 2, arbitrary: fc.constant({ kind: 'drop' as const }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('pause' as const),
        ms: fc.integer({ min: 0, max: 15 }),
      }),
    },
  )

const scenario = fc.integer({ min: 2, max: 3 }).chain((replicas) =>
  fc.record({
    replicas: fc.constant(replicas),
    actions: fc.array(action(replicas), { minLength: 5, maxLength: 40 }),
  }),
)

async function allEvents(store: EventStore): Promise<string[]> {
  return (await store.load(null)).map((item) => item.event.id).sort()
}

async function states(store: EventStore): Promise<unknown[]> {
  const events = await store.load(null)
  return AGGREGATES.map((aggregate) => {
    const own = events.filter((item) => item.event.aggregateId === aggregate)
    return own.length === 0 ? null : materializeAggregate(own).data
  })
}

describe('convergence over WebSocket with dropped connections (property)', () => {
  it(`Given live replicas over sync-kit/ws, When connections drop at random during records and syncs, Then after healing every replica holds every event once and the same state (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ replicas, actions }) => {
        const server = await startWsServer()
        const managers: SyncManager[] = []
        const stores: EventStore[] = []
        const recorded: string[] = []
        try {
          for (let r = 0; r < replicas; r++) {
            const store = createMemoryStore()
            const manager = new SyncManager({
              store,
              transport: wsClient(server.url, { retry: { retries: 2, initialMs: 2, maxMs: 10 } }),
              nodeId: `r${r}`,
              resolver: lastWriteWins(),
              features: [liveMode()],
              intervalMs: 3_600_000,
              backoff: { initialMs: 5, maxMs: 20 },
            })
            // Transient failures during the drops are expected; the final syncs must succeed.
            manager.on('error', () => undefined)
            manager.start()
            managers.push(manager)
            stores.push(store)
          }
          for (const step of actions) {
            if (step.kind === 'record') {
              const event = await managers[step.r]?.record({
                type: 'Set',
                aggregateId: AGGREGATES[step.aggregate] as string,
                data: { n: step.n },
              })
              if (event !== undefined) recorded.push(event.event.id)
            } else if (step.kind === 'sync') {
              await managers[step.r]?.sync().catch((error: unknown) => {
                if (!isSyncKitError(error) || !error.transient) throw error
              })
            } else if (step.kind === 'drop') {
              server.killConnections()
            } else {
              await new Promise((resolve) => setTimeout(resolve, step.ms))
            }
          }
          // Heal: no more drops; every replica syncs until the whole system is quiet.
          for (let round = 0; round < 3; round++) {
            for (const manager of managers) await manager.sync()
          }
          const expected = [...recorded].sort()
          expect(await allEvents(server.store)).toEqual(expected)
          const want = await states(stores[0] as EventStore)
          for (const store of stores) {
            expect(await allEvents(store)).toEqual(expected)
            expect(await states(store)).toEqual(want)
          }
        } finally {
          for (const manager of managers) await manager.close()
          await server.close()
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    )
  })
})

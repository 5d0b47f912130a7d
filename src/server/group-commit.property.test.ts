/**
 * A sole writer's group commit answers as pushes one at a time do (issue 10): for generated runs of
 * pushes made in one pass of the event loop — new ids, repeats of stored events and of events of
 * the same turn, ids stored with other content, old epochs — each push gets the counts or the
 * error it gets without group commit, the logs are equal, and a feed gets the log once, in order.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { delegatingStore } from '../stores/memory/delegating-store.fixture.js'
import { createMemoryStore } from '../stores/memory/index.js'
import { openSqliteStore } from '../stores/sqlite/index.js'
import type { Event, EventStore } from '../types/index.js'
import { event, ids, outcomes, recordFeed } from './group-commit.fixture.js'
import { createSyncServer, groupCommit } from './index.js'

/**
 * One event of a push: `roll` 0–4 a new id, 5–7 a known event again, 8 a known id with other
 * content, 9 the push's first event again.
 */
const step = fc.record({ roll: fc.integer({ min: 0, max: 9 }), pick: fc.nat() })
/** Up to 12 pushes of 1–4 events; `stale` 0 sends an old `ifEpoch`. */
const runs = fc.array(
  fc.record({
    steps: fc.array(step, { minLength: 1, maxLength: 4 }),
    stale: fc.integer({ min: 0, max: 9 }),
  }),
  { minLength: 1, maxLength: 12 },
)

/** The pushes of a generated run, after the stored `pre1` and `pre2`. */
function pushesOf(
  run: readonly { steps: readonly { roll: number; pick: number }[]; stale: number }[],
): { events: Event[]; ifEpoch?: string }[] {
  const known: Event[] = [event('pre1'), event('pre2')]
  return run.map(({ steps, stale }, p) => {
    const events: Event[] = []
    steps.forEach(({ roll, pick }, k) => {
      const old = known[pick % known.length] as Event
      if (roll < 5) {
        const fresh = event(`n${p}.${k}`, { n: p })
        known.push(fresh)
        events.push(fresh)
      } else if (roll < 8) events.push(old)
      else if (roll === 8) events.push(event(old.id, { n: -1 }))
      else events.push(events[0] ?? old)
    })
    return { events, ...(stale === 0 ? { ifEpoch: 'e-0' } : {}) }
  })
}

const storeKinds: Record<string, () => Promise<EventStore>> = {
  memory: () => Promise.resolve(createMemoryStore()),
  sqlite: () => openSqliteStore({ path: ':memory:' }),
  'without storeBatch': () => {
    const plain: EventStore = delegatingStore(createMemoryStore())
    delete (plain as { storeBatch?: unknown }).storeBatch
    return Promise.resolve(plain)
  },
}

/** Makes the pushes on a fresh server over `make()`; what each got, the log, what a feed got. */
async function play(
  make: () => Promise<EventStore>,
  pushes: readonly { events: Event[]; ifEpoch?: string }[],
  groups: boolean,
) {
  const store = await make()
  await store.store(event('pre1'))
  await store.store(event('pre2'))
  const server = createSyncServer({
    store,
    epoch: 'e-1',
    soleWriter: true,
    ...(groups ? { groupCommit: groupCommit() } : {}),
  })
  const batches = await recordFeed(server)
  const settled = await outcomes(
    pushes.map(({ events, ifEpoch }) =>
      server.push(server.checkPush(events), ifEpoch === undefined ? {} : { ifEpoch }),
    ),
  )
  // A last push, so that feeds hear of what a failing push stored one event at a time before its
  // conflict (without storeBatch; such a push offers the feeds nothing: they read at the next).
  await server.push(server.checkPush([event('end')]))
  await server.idle()
  const log = ids(await store.load(null))
  const delivered = ids(batches.flatMap((b) => b.events))
  await server.close()
  await store.close()
  return { settled, log, delivered }
}

describe('server core: group commit answers as pushes one at a time do', () => {
  it.each(Object.keys(storeKinds))(
    'Given a %s store and 40 generated runs of up to 12 pushes in one pass, Then each push gets the counts or error it gets without group commit, the logs are equal and a feed gets the log once, in order',
    async (kind) => {
      const make = storeKinds[kind] as () => Promise<EventStore>
      await fc.assert(
        fc.asyncProperty(runs, async (run) => {
          const pushes = pushesOf(run)
          const alone = await play(make, pushes, false)
          const together = await play(make, pushes, true)
          expect(together.delivered).toEqual(together.log)
          expect(alone.delivered).toEqual(alone.log)
          expect(together).toEqual(alone)
        }),
        { numRuns: 40 },
      )
    },
  )
})

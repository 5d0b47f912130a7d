// A batch is planned before the write lock, planned again under it only when another connection
// committed meanwhile (PRAGMA data_version), and its new events are inserted 100 rows per
// statement with versions worked out from each statement's last row. Here random batches —
// repeats inside, ids JSON escapes, sizes across the 100-row chunks — meet a second connection
// that commits some of the same ids right before the write lock is taken.
import fc from 'fast-check'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Event } from '../../types/index.js'
import { createSqliteStore, openSqliteStore } from './index.js'
import { racingDatabase } from './sqlite-race.fixture.js'

function event(id: string): Event {
  return { id, type: 'Created', aggregateId: 'a1', data: { n: id } }
}

let dir: string
let files = 0
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sync-kit-sqlite-batch-race-'))
})
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** Ids JSON escapes, and plain ones. */
const SPECIAL = ['q"uote', 'back\\slash', 'nul\u0000', 'é', '😀', ' sp ace', '\n', '[]', '"']
const id = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(...SPECIAL) },
  { weight: 6, arbitrary: fc.nat({ max: 300 }).map((n) => `n${n}`) },
)

describe('sqlite store: batches against a racing connection', () => {
  it('Given stored ids, a batch with repeats and escaped ids across the 100-row chunks, and another connection committing some of its ids just before the write lock, Then every result is its own row’s version, duplicates are exactly the ids stored before, and rows follow first occurrences', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(id, { maxLength: 30 }),
        fc.array(id, { minLength: 1, maxLength: 260 }),
        fc.array(id, { maxLength: 40 }),
        async (before, batch, racer) => {
          const path = join(dir, `store-${++files}.db`)
          const other = await openSqliteStore({ path })
          let armed = false
          let racerRan = false
          const database = racingDatabase(path, () => {
            if (!armed) return false
            racerRan = true
            // Synchronous, like every better-sqlite3 call: committed before BEGIN runs.
            void other.storeBatch(racer.map(event))
            return true
          })
          const store = createSqliteStore({ database })
          try {
            await store.storeBatch(before.map(event))
            armed = true
            const results = await store.storeBatch(batch.map(event))

            const rows = await store.load(null)
            const versionOf = new Map(rows.map((r) => [r.event.id, r.version.toString()]))
            expect(results.map((r) => r.version.toString())).toEqual(
              batch.map((i) => versionOf.get(i)),
            )
            const known = new Set([...before, ...(racerRan ? racer : [])])
            const duplicate = batch.map((i, at) => known.has(i) || batch.indexOf(i) !== at)
            expect(results.map((r) => r.duplicate)).toEqual(duplicate)
            const order = [...new Set([...before, ...(racerRan ? racer : []), ...batch])]
            expect(rows.map((r) => r.event.id)).toEqual(order)
            // Every row's version is its own, in order, with no gap the batch drew for nothing.
            expect(rows.map((r) => Number(r.version.toString()))).toEqual(rows.map((_, i) => i + 1))
          } finally {
            await store.close()
            database.close()
            await other.close()
          }
        },
      ),
      { numRuns: 60 },
    )
  })
})

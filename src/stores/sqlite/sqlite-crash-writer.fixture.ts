/**
 * Child process of `sqlite-crash.int.test.ts`: appends batches to a SQLite store in a loop and
 * prints one acknowledgement line per committed batch, until it is killed.
 *
 * Usage: `node --import tsx sqlite-crash-writer.fixture.ts <db path> <seed> <full|normal>`
 *
 * Output: `ready` once the store is open, then per batch `begin <batch>` before `storeBatch` and
 * `ack <batch> <id>,<id>,…` after it resolved (so only after its transaction committed). Each batch also sets the
 * `crash-test`/`push` checkpoint to its batch number in the same transaction.
 */
import { openSqliteStore } from './index.js'
import type { SqliteSynchronous } from './index.js'

const [path, seedText, synchronous] = process.argv.slice(2)
if (path === undefined || seedText === undefined || synchronous === undefined) {
  process.stderr.write('usage: sqlite-crash-writer.fixture.ts <db path> <seed> <full|normal>\n')
  process.exit(2)
}

/** mulberry32: a tiny seeded PRNG, so a failing run can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const random = prng(Number(seedText))
const store = await openSqliteStore({ path, synchronous: synchronous as SqliteSynchronous })
process.stdout.write('ready\n')
for (let batch = 1; ; batch++) {
  // Sizes from 1 to 60 events and payloads up to ~3 KB, so some transactions take long enough
  // for the kill to land in the middle of one.
  const size = 1 + Math.floor(random() * 60)
  const pad = 'x'.repeat(Math.floor(random() * 3000))
  const events = Array.from({ length: size }, (_, index) => ({
    id: `b${batch}-e${index}`,
    type: 'CrashTest',
    aggregateId: `aggregate-${batch % 7}`,
    data: { batch, index, size, pad },
    metadata: { tenant: `t${batch % 3}` },
  }))
  process.stdout.write(`begin ${batch}\n`)
  await store.storeBatch(events, {
    checkpoint: {
      key: { remote: 'crash-test', direction: 'push' },
      value: { version: `${batch}` },
    },
  })
  process.stdout.write(`ack ${batch} ${events.map((e) => e.id).join(',')}\n`)
}
